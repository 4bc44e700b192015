//! `fieldnotes agree`: inter-coder agreement per code and overall, and the disagreements.

use std::collections::BTreeSet;
use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, bail};
use fieldnotes_study::agree::{self, Agreement, Coef, Disagreement, Request};

use crate::Globals;
use crate::output::{self, Align};
use crate::study::{self, Study};

/// Arguments of `fieldnotes agree`.
///
/// For each code, every unit (passage, or document with `--unit document`) gets a 1 or a 0
/// from each coder: did the coder apply the code there? Units are those of the notes every
/// selected coder has coded at least once. The overall row pools every (unit, code) pair.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The coders to compare (default: every human coder).
    #[arg(long, value_delimiter = ',')]
    coders: Vec<String>,
    /// Only this code.
    #[arg(long)]
    code: Option<String>,
    /// Only notes of this site.
    #[arg(long)]
    site: Option<String>,
    /// Unit of analysis.
    #[arg(long, value_enum, default_value_t = Unit::Passage)]
    unit: Unit,
    /// Count suggestions too (needed to compare the rules coder, whose codings are suggestions).
    #[arg(long)]
    include_suggested: bool,
    /// Leave out units that no coder coded with any code.
    #[arg(long)]
    exclude_uncoded: bool,
    /// List the units where coders differ, by code, instead of the coefficients.
    #[arg(long)]
    disagreements: bool,
    /// Bootstrap resamples for the confidence interval of alpha (0: none).
    #[arg(long, default_value_t = 1000)]
    bootstrap: usize,
    /// Seed of the bootstrap.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Shorthand for `--format json`.
    #[arg(long)]
    json: bool,
    /// Shorthand for `--format csv`.
    #[arg(long)]
    csv: bool,
}

/// Unit of analysis.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Unit {
    /// Each passage.
    Passage,
    /// Each note.
    Document,
}

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text.
    Table,
    /// CSV.
    Csv,
    /// JSON.
    Json,
    /// A LaTeX booktabs table.
    Latex,
}

fn f3(c: &Coef) -> String {
    c.value.map_or_else(|| "n/a".into(), |v| format!("{v:.3}"))
}

/// Runs `fieldnotes agree`.
pub fn run(g: &Globals, a: Args) -> Result<ExitCode> {
    // The coders: those named, or the study's human coders (known from their ledgers alone,
    // the rules' left unread). Only the notes they may all have coded are read (the coding
    // states know them); when the states cannot tell, the whole study.
    let coders: Vec<String> = if a.coders.is_empty() { agree::human_coders(&g.project()?)? } else { a.coders.clone() };
    if coders.len() < 2 {
        bail!(
            "agreement needs at least two coders; found {} ({}). Name them with `--coders a,b`; add `--include-suggested` to compare the rules coder",
            coders.len(),
            if coders.is_empty() { "none".to_string() } else { coders.join(", ") }
        );
    }
    let req = Request {
        coders: coders.clone(),
        code: a.code.clone(),
        site: a.site.clone(),
        unit: match a.unit {
            Unit::Passage => agree::Unit::Passage,
            Unit::Document => agree::Unit::Document,
        },
        include_suggested: a.include_suggested,
        exclude_uncoded: a.exclude_uncoded,
        bootstrap: a.bootstrap,
        seed: a.seed,
        texts: a.disagreements,
    };
    // A percentile interval from a handful of resamples is noise, and can even exclude the
    // estimate: said, not left for a reader to take as a result.
    if (1..200).contains(&a.bootstrap) {
        output::warn(&format!(
            "a 95% interval from {} bootstrap resamples is rough (it can even miss the estimate); use 1,000 or more (the default) for a figure to report",
            a.bootstrap
        ));
    }
    // Many shared notes are read a batch at a time; a few, at once.
    let project = g.project()?;
    let agreement = match study::shared_notes(&project, &coders)? {
        Some(shared) if shared.len() > study::NOTES_AT_ONCE => Agreement::in_batches(&project, &shared, &req, g)?,
        Some(shared) => Agreement::of(&Study::load_notes(project, &shared, g)?, &req, g)?,
        None => Agreement::of(&Study::load(project, g)?, &req, g)?,
    };
    let format = if a.json {
        Format::Json
    } else if a.csv {
        Format::Csv
    } else {
        a.format
    };
    let mut out = output::stdout();
    if a.disagreements {
        return disagreements(&mut out, &agreement.disagreements(), agreement.codes.len(), format);
    }
    let (caption, rows) = (&agreement.caption, &agreement.rows);
    match format {
        Format::Json => {
            output::write_json(&mut out, &agreement)?;
        }
        Format::Csv | Format::Table | Format::Latex => {
            let two = coders.len() == 2;
            let mut header: Vec<String> = vec!["code".into(), "units".into(), "coded".into(), "agree %".into()];
            header.push(if two { "Cohen κ" } else { "Fleiss κ" }.into());
            header.extend(["Krippendorff α".into(), "α 95% CI".into(), "Gwet AC1".into(), "B-P".into()]);
            let table_rows: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let kappa = if two { r.cohen_kappa.as_ref().map_or("n/a".into(), f3) } else { f3(&r.fleiss_kappa) };
                    vec![
                        r.code.clone(),
                        r.units.to_string(),
                        r.coded_units.to_string(),
                        r.percent_agreement.value.map_or("n/a".into(), |v| format!("{:.1}", v * 100.0)),
                        kappa,
                        f3(&r.krippendorff_alpha),
                        r.alpha_bootstrap_ci.map_or("n/a".into(), |(l, h)| format!("[{l:.3}, {h:.3}]")),
                        f3(&r.gwet_ac1),
                        f3(&r.brennan_prediger),
                    ]
                })
                .collect();
            match format {
                Format::Csv => output::write_csv(&mut out, &header, &table_rows)?,
                Format::Latex => write!(out, "{}", latex(caption, &header, &table_rows, true))?,
                _ => {
                    let mut align = vec![Align::Left];
                    align.extend([Align::Right; 8]);
                    write!(out, "{}", output::table(&header, &table_rows, &align))?;
                    writeln!(out, "{caption}")?;
                    let notes: BTreeSet<&str> =
                        rows.iter().filter_map(|r| r.krippendorff_alpha.note.as_deref()).collect();
                    for n in notes {
                        writeln!(out, "n/a: {n}")?;
                    }
                }
            }
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// A booktabs table (the report crate's renderer); with `numbers`, the columns after the first
/// are right-aligned.
fn latex(caption: &str, header: &[String], rows: &[Vec<String>], numbers: bool) -> String {
    let mut numeric = vec![false];
    numeric.extend(std::iter::repeat_n(numbers, header.len().saturating_sub(1)));
    fieldnotes_report::render::latex(&fieldnotes_report::render::Table {
        header: header.to_vec(),
        rows: rows.to_vec(),
        numeric,
        caption: caption.to_string(),
    })
}

/// Prints the units where coders differ.
fn disagreements(out: &mut impl Write, found: &[Disagreement], codes: usize, format: Format) -> Result<ExitCode> {
    let header: Vec<String> = ["code", "unit", "site", "coded by", "not by", "text"].map(String::from).into();
    let rows: Vec<Vec<String>> = found
        .iter()
        .map(|d| {
            let (code, unit, site, text) = (d.code.clone(), d.unit.clone(), d.site.clone(), d.text.clone());
            vec![code, unit, site, d.coded_by.join(", "), d.not_by.join(", "), text]
        })
        .collect();
    match format {
        Format::Json => {
            output::write_json(out, found)?;
        }
        Format::Csv => output::write_csv(&mut *out, &header, &rows)?,
        Format::Latex => {
            let clipped: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    r[5] = output::clip(&r[5], 80);
                    r
                })
                .collect();
            write!(out, "{}", latex("Passages where coders disagree", &header, &clipped, false))?;
        }
        Format::Table => {
            let clipped: Vec<Vec<String>> = rows
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    r[5] = output::clip(&r[5], 60);
                    r
                })
                .collect();
            write!(out, "{}", output::table(&header, &clipped, &[]))?;
            let with: std::collections::BTreeSet<&str> = found.iter().map(|d| d.code.as_str()).collect();
            writeln!(out, "{} disagreement(s), on {} of the {codes} code(s) compared", rows.len(), with.len())?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
