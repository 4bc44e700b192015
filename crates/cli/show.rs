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
    let (di, doc, p) = study.passage(&a.id, g)?;
    let placement = study.placement();
    let pi = (p.ordinal - 1) as usize;
    let lo = pi.saturating_sub(a.context);
    let hi = (pi + a.context + 1).min(doc.passages.len());
    let mut out = output::stdout();
    let codings_of = |i: usize| -> Vec<&fieldnotes_coding::Coding> {
        placement.placed.iter().filter(|x| x.doc == di && x.passages.contains(&i)).map(|x| x.coding).collect()
    };
    if a.json {
        let items: Vec<serde_json::Value> = (lo..hi)
            .map(|i| {
                let q = &doc.passages[i];
                serde_json::json!({
                    "id": doc.passage_id(q), "focus": i == pi, "start": q.start, "end": q.end,
                    "speaker": q.speaker, "section": q.section, "line": q.line, "text": doc.passage_text(q),
                    "codings": codings_of(i),
                })
            })
            .collect();
        serde_json::to_writer_pretty(
            &mut out,
            &serde_json::json!({"document": doc.path, "attributes": doc.attributes, "passages": items}),
        )?;
        writeln!(out)?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "{}", output::bold(&doc.path, g.color))?;
    for (k, v) in &doc.attributes {
        writeln!(out, "  {}: {v}", output::dim(k, g.color))?;
    }
    writeln!(out)?;
    for i in lo..hi {
        let q = &doc.passages[i];
        let focus = i == pi;
        let mut head = format!("#{} (line {}, passage {})", q.key, q.line, q.ordinal);
        if let Some(s) = &q.section {
            head.push_str(&format!(" · {s}"));
        }
        if let Some(s) = &q.speaker {
            head.push_str(&format!(" · {s}"));
        }
        let marker = if focus { ">" } else { " " };
        writeln!(out, "{marker} {}", if focus { output::bold(&head, g.color) } else { output::dim(&head, g.color) })?;
        for line in doc.passage_text(q).lines() {
            writeln!(out, "{marker}   {line}")?;
        }
        let cs = codings_of(i);
        if !cs.is_empty() {
            let mut labels: Vec<String> =
                cs.iter().map(|c| format!("{} ({}, {})", c.code, c.coder, c.status)).collect();
            labels.sort();
            labels.dedup();
            writeln!(out, "{marker}   {} {}", output::dim("codes:", g.color), labels.join(", "))?;
        }
        writeln!(out)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
