//! `fieldnotes redact`: a pseudonymised copy of the study, and a check that nothing identifying
//! is left.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use fieldnotes_study::redact;

use crate::Globals;
use crate::output;

/// Arguments of `fieldnotes redact`.
///
/// `names.csv` has two columns, `name,pseudonym` (a header row first). Names are matched as
/// whole words, ignoring case, longest first. Keep the names file outside the copy you share.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The names to replace: a CSV of `name,pseudonym`.
    #[arg(long)]
    names: Option<PathBuf>,
    /// Where to write the pseudonymised copy (default: `<project>-redacted` beside it).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Check instead of writing: fail if a listed name, an email address or a phone number is
    /// found in the notes, the ledgers, or any file or folder given.
    #[arg(long)]
    check: bool,
    /// With --check: further files or folders (exports) to scan.
    paths: Vec<PathBuf>,
}

/// Runs `fieldnotes redact`.
pub fn run(g: &Globals, a: Args) -> Result<ExitCode> {
    if a.check {
        return check(g, &a);
    }
    let names_path =
        a.names.as_ref().context("give the names to replace: `--names names.csv` (columns name,pseudonym)")?;
    let names = redact::Names::read(names_path)?;
    let project = g.project()?;
    let out = match &a.out {
        Some(o) => o.clone(),
        None => redact::default_out(&project)?,
    };
    let (notes, n_codings) = redact::write_copy(&project, &names, names_path, &out, g)?;
    output::info(
        g.quiet,
        &format!(
            "wrote a pseudonymised copy to `{}`: {notes} notes, {n_codings} codings; the names file stays where it is",
            out.display(),
        ),
    );
    Ok(ExitCode::SUCCESS)
}

fn check(g: &Globals, a: &Args) -> Result<ExitCode> {
    let findings = redact::check(&g.project()?, a.names.as_deref(), &a.paths)?;
    let mut out = output::stdout();
    use std::io::Write;
    for f in &findings.found {
        writeln!(out, "{f}")?;
    }
    out.flush()?;
    output::info(g.quiet, &format!("checked {} file(s): {} finding(s)", findings.files, findings.found.len()));
    Ok(if findings.found.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
