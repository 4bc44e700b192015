//! `fieldnotes index`: build or update the search index.

use std::process::ExitCode;

use anyhow::Result;

use crate::Globals;
use crate::output;
use crate::study::Study;

/// Arguments of `fieldnotes index`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Delete the index and build it again from the notes.
    #[arg(long)]
    rebuild: bool,
}

/// Runs `fieldnotes index`.
pub fn run(g: &Globals, a: Args) -> Result<ExitCode> {
    let study = Study::load(g)?;
    if a.rebuild {
        let dir = study.project.derived_dir().join("index");
        if dir.exists() {
            std::fs::remove_dir_all(&dir)?;
        }
    }
    let started = std::time::Instant::now();
    let stats = study.update_index(g, true)?.map(|(_, s)| s).unwrap_or_default();
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
