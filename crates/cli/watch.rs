//! `fieldnotes watch`: a watcher of the project's folders, so that commands need not walk every
//! note to know that none changed.

use std::process::ExitCode;

use anyhow::{Context, Result};

use crate::Globals;
use crate::output;

/// Arguments of `fieldnotes watch`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Say whether a watcher runs for the project, and what it has seen, then exit (0: one
    /// runs; 1: none does).
    #[arg(long)]
    status: bool,
}

/// Runs `fieldnotes watch` until interrupted, or `--status`.
pub fn run(g: &Globals, a: Args) -> Result<ExitCode> {
    let project = g.project()?;
    let root = project.root().display().to_string();
    if a.status {
        let mut out = output::stdout();
        use std::io::Write;
        return Ok(match fieldnotes_corpus::watch::status(&project) {
            Some(s) => {
                writeln!(
                    out,
                    "watching `{root}`: process {}, {} folder(s), {} change(s) to notes, folders, ignore files or settings seen",
                    s.pid, s.folders, s.changes
                )?;
                ExitCode::SUCCESS
            }
            None => {
                writeln!(out, "no watcher answers for `{root}`: commands walk the notes")?;
                ExitCode::from(1)
            }
        });
    }
    let started = std::cell::Cell::new(false);
    let result = fieldnotes_corpus::watch::run(&project, |folders| {
        started.set(true);
        output::info(
            g.quiet,
            &format!(
                "watching {folders} folder(s) of `{root}`: while this runs, commands in the project ask it what changed instead of walking every note. Ctrl-C stops."
            ),
        );
    });
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(e) if started.get() => {
            Err(e).with_context(|| format!("the watcher of `{root}` stopped; commands walk the notes again"))
        }
        Err(e) => Err(e).with_context(|| format!("cannot watch `{root}`")),
    }
}
