//! `fieldnotes show PASSAGE_ID`: a passage in context, with its attributes and codes.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use crate::Globals;
use crate::output;
use crate::study::Study;

/// Arguments of `fieldnotes show`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The passage id, e.g. `notes/fife/2016-03-02-board.md#kq3x7fa2` (or `…#3`, the third passage).
    id: String,
    /// Neighbouring passages to show on each side.
    #[arg(long, short = 'C', default_value_t = 1)]
    context: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `fieldnotes show`.
pub fn run(g: &Globals, a: Args) -> Result<ExitCode> {
    let study = Study::load_note(g.project()?, &a.id, g)?;
    let view = study.view(&a.id, a.context, g)?;
    let mut out = output::stdout();
    if a.json {
        output::write_json(&mut out, &view)?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "{}", output::bold(&view.document, g.color))?;
    for (k, v) in &view.attributes {
        writeln!(out, "  {}: {v}", output::dim(k, g.color))?;
    }
    writeln!(out)?;
    for q in &view.passages {
        let mut head = format!("#{} (line {}, passage {})", q.key, q.line, q.ordinal);
        if let Some(s) = &q.section {
            head.push_str(&format!(" · {s}"));
        }
        if let Some(s) = &q.speaker {
            head.push_str(&format!(" · {s}"));
        }
        let marker = if q.focus { ">" } else { " " };
        writeln!(out, "{marker} {}", if q.focus { output::bold(&head, g.color) } else { output::dim(&head, g.color) })?;
        for line in q.text.lines() {
            writeln!(out, "{marker}   {line}")?;
        }
        if !q.codings.is_empty() {
            let mut labels: Vec<String> =
                q.codings.iter().map(|c| format!("{} ({}, {})", c.code, c.coder, c.status)).collect();
            labels.sort();
            labels.dedup();
            writeln!(out, "{marker}   {} {}", output::dim("codes:", g.color), labels.join(", "))?;
        }
        writeln!(out)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
