//! `fieldnotes index`: build or update the search index.

use std::process::ExitCode;

use anyhow::Result;

use crate::Globals;
use crate::output;
use crate::study;

/// Arguments of `fieldnotes index`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Delete the index and build it again from the notes.
    #[arg(long)]
    rebuild: bool,
}

/// Runs `fieldnotes index`.
pub fn run(g: &Globals, a: Args) -> Result<ExitCode> {
    let project = g.project()?;
    let started = std::time::Instant::now();
    // Where the project stands before its codings are read (for the report store made alongside).
    let before = crate::store::before(&project)?;
    let codings = study::coding_parts(&project, g)?;
    if a.rebuild {
        let dir = project.derived_dir().join("index");
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
    }
    let stats = study::index_in_batches(&project, &codings, before, g, true)?;
    // Indexing records moves of codings whose notes changed: the coding states follow.
    fieldnotes_coding::Codings::refresh_states(project.root(), &project.derived_dir())?;
    if stats.indexed + stats.unchanged == 0 && project.other_files()?.is_empty() {
        output::warn(&crate::notes::no_notes(&project));
    }
    output::info(
        g.quiet,
        &format!(
            "indexed {} note(s) ({} passages), removed {}, {} unchanged, in {:.2} s",
            stats.indexed,
            stats.passages,
            stats.removed,
            stats.unchanged,
            started.elapsed().as_secs_f64()
        ),
    );
    Ok(ExitCode::SUCCESS)
}
