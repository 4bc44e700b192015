//! `fieldnotes redact`: a pseudonymised copy of the study, and a check that nothing identifying
//! is left.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use fieldnotes_study::redact::{self, Class};

use crate::Globals;
use crate::output;

/// Arguments of `fieldnotes redact`.
///
/// `names.csv` has two columns, `name,pseudonym` (a header row first). Names are matched as
/// whole words, ignoring case, longest first. Email addresses and phone numbers become `[email]`
/// and `[phone]`; an email or web address with a listed name in it is replaced whole. Keep the
/// names file outside the copy you share. `--check` finds exactly what `redact` replaces (one
/// detector): give it the same options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The names to replace: a CSV of `name,pseudonym`.
    #[arg(long)]
    names: Option<PathBuf>,
    /// Where to write the pseudonymised copy (default: `<project>-redacted` beside it).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Check instead of writing: fail if a listed name or an identifier of the classes on is
    /// found in the notes, the ledgers, or any file or folder given.
    #[arg(long)]
    check: bool,
    /// Further classes to replace (off by default): url, postcode, birthdate (a date next to
    /// "born"). Repeat, or separate with commas.
    #[arg(long, value_delimiter = ',', value_name = "CLASS")]
    also: Vec<String>,
    /// Classes to leave as they are: email, phone (and any given with --also).
    #[arg(long, value_delimiter = ',', value_name = "CLASS")]
    keep: Vec<String>,
    /// A placeholder of your own for a class: `--as email="[address]"`.
    #[arg(long = "as", value_name = "CLASS=TEXT")]
    placeholders: Vec<String>,
    /// Also write what was replaced, per file and class (counts, never the values), as CSV.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Say what would be replaced (per class; with --report, per file) without writing the copy.
    #[arg(long, conflicts_with = "check")]
    dry_run: bool,
    /// With --check: further files or folders (exports) to scan.
    paths: Vec<PathBuf>,
}

impl Args {
    /// The detector's options from `--also`, `--keep` and `--as`.
    fn options(&self) -> Result<redact::Options> {
        let mut opts = redact::Options::default();
        for c in &self.also {
            let c = Class::parse(c)?;
            if !opts.classes.contains(&c) {
                opts.classes.push(c);
            }
        }
        for c in &self.keep {
            let c = Class::parse(c)?;
            anyhow::ensure!(
                c != Class::Name,
                "names are always replaced: leave a name out of the names file to keep it"
            );
            opts.classes.retain(|k| *k != c);
        }
        for p in &self.placeholders {
            let (c, text) = p
                .split_once('=')
                .with_context(|| format!("`--as {p}`: write CLASS=TEXT, e.g. `--as email=[address]`"))?;
            opts.placeholders.push((Class::parse(c)?, text.to_string()));
        }
        Ok(opts)
    }

    fn detector(&self) -> Result<redact::Detector> {
        let names = self.names.as_deref().map(redact::Names::read).transpose()?;
        redact::Detector::new(names, &self.options()?)
    }
}

/// Runs `fieldnotes redact`.
pub fn run(g: &Globals, a: Args) -> Result<ExitCode> {
    if a.check {
        return check(g, &a);
    }
    let names_path =
        a.names.as_ref().context("give the names to replace: `--names names.csv` (columns name,pseudonym)")?;
    if let Some(report) = &a.report {
        output::check_output(g, report)?;
    }
    let detector = a.detector()?;
    let project = g.project()?;
    let out = match &a.out {
        Some(o) => o.clone(),
        None => redact::default_out(&project)?,
    };
    let copied = redact::write_copy(&project, &detector, names_path, &out, a.dry_run, g)?;
    let counts: Vec<String> =
        copied.replaced.by_class().iter().map(|(c, n)| fieldnotes_study::count(*n as u64, c.label())).collect();
    let counts = if counts.is_empty() { "nothing".to_string() } else { counts.join(", ") };
    output::info(
        g.quiet,
        &format!(
            "{} a pseudonymised copy to `{}`: {} notes, {} codings; {} {counts}; the names file stays where it is",
            if a.dry_run { "would write" } else { "wrote" },
            out.display(),
            copied.notes,
            copied.codings,
            if a.dry_run { "would replace" } else { "replaced" },
        ),
    );
    if copied.left_out > 0 {
        output::warn(&format!(
            "left {} coding(s) out of the copy: their notes are not in it (gone from the study, or unreadable and named above); their words and memos stay only in this project",
            copied.left_out
        ));
    }
    if let Some(path) = &a.report {
        let rows: Vec<Vec<String>> = copied
            .replaced
            .counts
            .iter()
            .map(|((file, class), n)| vec![file.clone(), class.label().to_string(), n.to_string()])
            .collect();
        let mut buf = Vec::new();
        output::write_csv(&mut buf, &["file".to_string(), "class".to_string(), "count".to_string()], &rows)?;
        fieldnotes_corpus::atomic::write(path, &buf).with_context(|| format!("cannot write `{}`", path.display()))?;
        output::info(g.quiet, &format!("wrote what was replaced (counts per file and class) to `{}`", path.display()));
    }
    Ok(ExitCode::SUCCESS)
}

fn check(g: &Globals, a: &Args) -> Result<ExitCode> {
    let findings = redact::check(&g.project()?, &a.detector()?, a.names.as_deref(), &a.paths)?;
    let mut out = output::stdout();
    use std::io::Write;
    for f in &findings.found {
        writeln!(out, "{f}")?;
    }
    out.flush()?;
    for u in &findings.unread {
        output::warn(&format!("not scanned: {u}; check the files it was made from, or export it as text"));
    }
    output::info(g.quiet, &format!("checked {} file(s): {} finding(s)", findings.files, findings.found.len()));
    Ok(if findings.found.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
