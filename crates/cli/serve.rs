//! `fieldnotes serve`: the web workbench on 127.0.0.1, for reading and coding in the browser.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;

use crate::Globals;
use crate::output;

/// Arguments of `fieldnotes serve`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8765)]
    port: u16,
    /// Who codes from the page (default: `FIELDNOTES_CODER`, or the project's `coder`).
    #[arg(long)]
    coder: Option<String>,
}

/// Runs `fieldnotes serve`: prints the address with its token as the first line of stdout, then
/// serves until interrupted.
pub fn run(g: &Globals, a: Args) -> Result<ExitCode> {
    let project = g.project()?;
    let coder = fieldnotes_study::code::coder_name(&project, a.coder)?;
    let root = project.root().display().to_string();
    let opts = fieldnotes_serve::Options { port: a.port, coder: coder.clone() };
    fieldnotes_serve::run(project, opts, |url| {
        let mut out = output::stdout();
        writeln!(out, "{url}")?;
        out.flush()?;
        output::info(
            g.quiet,
            &format!("serving `{root}` to the browser, coding as {coder}; open the address above. Ctrl-C stops."),
        );
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
