//! `fieldnotes codebook check|show`.

use std::collections::HashMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use fieldnotes_coding::{Codebook, Severity};

use crate::Globals;
use crate::output;

/// `fieldnotes codebook` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Check the codebook: ids, parents, cycles, regexes, descriptions, unused codes. Exits 1 on errors.
    Check(CheckArgs),
    /// Show the code tree, with the number of coded passages per code.
    Show(ShowArgs),
}

/// Arguments of `fieldnotes codebook check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Check this file instead of the project's codebook.
    file: Option<std::path::PathBuf>,
    /// Exit 1 on warnings too.
    #[arg(long)]
    strict: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Arguments of `fieldnotes codebook show`.
#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    /// Count suggestions too (accepted codings only otherwise).
    #[arg(long)]
    include_suggested: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs a `fieldnotes codebook` subcommand.
pub fn run(g: &Globals, c: Command) -> Result<ExitCode> {
    match c {
        Command::Check(a) => check(g, a),
        Command::Show(a) => show(g, a),
    }
}

fn check(g: &Globals, a: CheckArgs) -> Result<ExitCode> {
    let (path, usage) = match &a.file {
        Some(f) => (f.clone(), None),
        None => {
            let project = g.project()?;
            // How often each code is used: from the compact table, not the whole ledgers.
            let codings = crate::study::coding_table(&project, g)?;
            (project.codebook_path(), Some(codings.usage()))
        }
    };
    if a.file.is_none() && !path.exists() {
        // The project's codebook is missing: the message every command gives, with what to do.
        crate::study::codebook(&g.project()?)?;
    }
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let book = match Codebook::parse(&text) {
        Ok(b) => b,
        Err((line, message)) => {
            anyhow::bail!("`{}`{}: {message}", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())
        }
    };
    let findings = book.check(Some(&text), usage.as_ref());
    let mut out = output::stdout();
    if a.json {
        serde_json::to_writer_pretty(&mut out, &findings)?;
        writeln!(out)?;
    } else {
        for f in &findings {
            let sev = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let loc = f.line.map(|l| format!("{}:{l}", path.display())).unwrap_or_else(|| path.display().to_string());
            writeln!(out, "{loc}: {sev}: {}", f.message)?;
        }
        let errors = findings.iter().filter(|f| f.severity == Severity::Error).count();
        writeln!(
            out,
            "{} codes, version {}: {errors} error(s), {} warning(s)",
            book.codes.len(),
            if book.codebook.version.is_empty() { "(none)" } else { &book.codebook.version },
            findings.len() - errors
        )?;
    }
    out.flush()?;
    let failing = findings.iter().any(|f| f.severity == Severity::Error || a.strict);
    Ok(if failing { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn show(g: &Globals, a: ShowArgs) -> Result<ExitCode> {
    let project = g.project()?;
    let book = crate::study::codebook(&project)?;
    // The passages carrying each code: the theme table's totals, from the report store.
    let view = fieldnotes_study::report::codebook_view(&project, &book, a.include_suggested, g)?;
    let counts: HashMap<&str, u64> = view.codes.iter().map(|c| (c.id.as_str(), c.passages)).collect();
    let mut out = output::stdout();
    if a.json {
        output::write_json(&mut out, &view)?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let name = if book.codebook.name.is_empty() { "unnamed codebook" } else { &book.codebook.name };
    let version = if book.codebook.version.is_empty() {
        "unversioned".to_string()
    } else {
        format!("version {}", book.codebook.version)
    };
    writeln!(out, "{} ({version})", output::bold(name, g.color))?;
    let children = book.children();
    fn walk(
        out: &mut impl Write,
        children: &std::collections::BTreeMap<&str, Vec<&fieldnotes_coding::Code>>,
        parent: &str,
        depth: usize,
        counts: &HashMap<&str, u64>,
        color: bool,
    ) -> std::io::Result<()> {
        for c in children.get(parent).into_iter().flatten() {
            let n = counts.get(c.id.as_str()).copied().unwrap_or(0);
            writeln!(
                out,
                "{}{} {}  {}",
                "  ".repeat(depth + 1),
                output::bold(&c.id, color),
                output::dim(&format!("({})", output::count(n, "passage")), color),
                c.name
            )?;
            if depth < 32 {
                walk(out, children, &c.id, depth + 1, counts, color)?;
            }
        }
        Ok(())
    }
    walk(&mut out, &children, "", 0, &counts, g.color)?;
    let which = if a.include_suggested { "accepted and suggested" } else { "accepted" };
    writeln!(out, "counts: passages with {which} codings by any coder")?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
