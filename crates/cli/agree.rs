//! `fieldnotes agree`: inter-coder agreement per code and overall, and the disagreements.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::process::ExitCode;

use anyhow::{Result, bail};
use fieldnotes_coding::agreement::{self as ag, Estimate, Metric, Ratings};
use fieldnotes_coding::units::{self, Selection};
use serde::Serialize;

use crate::Globals;
use crate::output::{self, Align};
use crate::study::Study;

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

#[derive(Serialize)]
struct Coef {
    value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    se: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ci: Option<(f64, f64)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

fn coef(r: Result<Estimate, ag::AgreementError>) -> Coef {
    match r {
        Ok(e) => Coef { value: Some(e.value), se: e.se, ci: e.ci, note: None },
        Err(e) => Coef { value: None, se: None, ci: None, note: Some(e.to_string()) },
    }
}

#[derive(Serialize)]
struct Row {
    code: String,
    units: usize,
    coded_units: usize,
    percent_agreement: Coef,
    cohen_kappa: Option<Coef>,
    fleiss_kappa: Coef,
    scott_pi: Coef,
    krippendorff_alpha: Coef,
    alpha_bootstrap_ci: Option<(f64, f64)>,
    brennan_prediger: Coef,
    gwet_ac1: Coef,
}

fn row(code: &str, r: &Ratings, coded: usize, a: &Args) -> Row {
    let two = r.n_coders() == 2;
    let alpha = ag::krippendorff_alpha(r, Metric::Nominal);
    let boot = if a.bootstrap > 0 && alpha.is_ok() {
        ag::bootstrap_alpha(r, Metric::Nominal, a.bootstrap, a.seed, 0.95).ok()
    } else {
        None
    };
    Row {
        code: code.to_string(),
        units: r.n_units(),
        coded_units: coded,
        percent_agreement: coef(ag::percent_agreement(r)),
        cohen_kappa: two.then(|| coef(ag::cohen_kappa(r))),
        fleiss_kappa: coef(ag::fleiss_kappa(r)),
        scott_pi: coef(ag::scott_pi(r)),
        krippendorff_alpha: coef(alpha),
        alpha_bootstrap_ci: boot,
        brennan_prediger: coef(ag::brennan_prediger(r, Some(2))),
        gwet_ac1: coef(ag::gwet_ac1(r)),
    }
}

fn f3(c: &Coef) -> String {
    c.value.map_or_else(|| "n/a".into(), |v| format!("{v:.3}"))
}

/// The project's human coders ([`units::human_coders`]), from every ledger but the rules'.
fn human_coders(project: &fieldnotes_corpus::Project) -> Result<Vec<String>> {
    let mut codings = fieldnotes_coding::Codings::default();
    for l in fieldnotes_coding::Ledger::all(project.root())? {
        if l.coder() != fieldnotes_coding::ledger::RULES_CODER {
            codings.ledgers.insert(l.coder().to_string(), l.read()?);
        }
    }
    Ok(units::human_coders(&codings))
}

/// Runs `fieldnotes agree`.
pub fn run(g: &Globals, a: Args) -> Result<ExitCode> {
    // The coders: those named, or the study's human coders (known from their ledgers alone,
    // the rules' left unread). Only the notes they may all have coded are read (the coding
    // states know them); when the states cannot tell, the whole study.
    let coders: Vec<String> = if a.coders.is_empty() { human_coders(&g.project()?)? } else { a.coders.clone() };
    if coders.len() < 2 {
        bail!(
            "agreement needs at least two coders; found {} ({}). Name them with `--coders a,b`; add `--include-suggested` to compare the rules coder",
            coders.len(),
            if coders.is_empty() { "none".to_string() } else { coders.join(", ") }
        );
    }
    let study = match Study::load_shared(g.project()?, &coders, g)? {
        Some(s) => s,
        None => Study::load(g.project()?, g)?,
    };
    let book = study.codebook()?;
    let reviewers: HashSet<&str> = study.codings.iter().filter_map(|c| c.reviewer.as_deref()).collect();
    for c in &coders {
        // A coder is known by a ledger of their own, or by suggestions they reviewed.
        if !study.codings.ledgers.contains_key(c) && !reviewers.contains(c.as_str()) {
            bail!(
                "no ledger `codings/{c}.jsonl`; coders with ledgers: {}",
                study.codings.ledgers.keys().cloned().collect::<Vec<_>>().join(", ")
            );
        }
    }
    let codes: Vec<String> = match &a.code {
        Some(c) => {
            if book.code(c).is_none() {
                bail!("unknown code `{c}`");
            }
            vec![c.clone()]
        }
        None => book.codes.iter().map(|c| c.id.clone()).collect(),
    };
    if !a.include_suggested {
        // A coder whose codings are all suggestions (the rules) has nothing counted without
        // them: the coefficients would compare the others with nobody.
        for c in &coders {
            let mine = || study.codings.iter().filter(|x| &x.coder == c);
            if mine().next().is_some() && mine().all(|x| x.status == fieldnotes_coding::Status::Suggested) {
                output::warn(&format!(
                    "`{c}` has only suggestions, which count only with --include-suggested; without it `{c}` coded nothing here"
                ));
            }
        }
    }
    let placement = study.placement();
    let sel = Selection {
        coders: coders.clone(),
        include_suggested: a.include_suggested,
        machine_output: a.include_suggested,
    };
    let by_coder = units::passage_codes_by_coder(&placement, &sel);
    // Notes each coder has touched (any coding, whatever its status, or a review of one: they
    // read that note).
    let mut touched: BTreeMap<&str, HashSet<usize>> = BTreeMap::new();
    for p in &placement.placed {
        touched.entry(p.coding.coder.as_str()).or_default().insert(p.doc);
        if let Some(r) = p.coding.reviewer.as_deref() {
            touched.entry(r).or_default().insert(p.doc);
        }
    }
    let shared: Vec<usize> = (0..study.corpus.documents.len())
        .filter(|d| coders.iter().all(|c| touched.get(c.as_str()).is_some_and(|s| s.contains(d))))
        .filter(|&d| {
            a.site
                .as_ref()
                .is_none_or(|s| study.corpus.documents[d].attr_str("site").is_some_and(|x| x.eq_ignore_ascii_case(s)))
        })
        .collect();
    if shared.is_empty() {
        bail!("no note has been coded by all of {}; agreement needs shared material", coders.join(", "));
    }
    // Units and, per unit, per coder, the codes.
    let mut unit_ids: Vec<String> = Vec::new();
    let mut unit_codes: Vec<Vec<BTreeSet<String>>> = Vec::new();
    for &d in &shared {
        let doc = &study.corpus.documents[d];
        match a.unit {
            Unit::Passage => {
                for (pi, p) in doc.passages.iter().enumerate() {
                    let m = by_coder.get(&(d, pi));
                    unit_ids.push(doc.passage_id(p));
                    unit_codes
                        .push(coders.iter().map(|c| m.and_then(|m| m.get(c)).cloned().unwrap_or_default()).collect());
                }
            }
            Unit::Document => {
                let mut sets = vec![BTreeSet::new(); coders.len()];
                for pi in 0..doc.passages.len() {
                    if let Some(m) = by_coder.get(&(d, pi)) {
                        for (ci, c) in coders.iter().enumerate() {
                            if let Some(s) = m.get(c) {
                                sets[ci].extend(s.iter().cloned());
                            }
                        }
                    }
                }
                unit_ids.push(doc.path.clone());
                unit_codes.push(sets);
            }
        }
    }
    let keep: Vec<usize> = (0..unit_ids.len())
        .filter(|&u| !a.exclude_uncoded || unit_codes[u].iter().any(|s| s.iter().any(|c| codes.contains(c))))
        .collect();
    let format = if a.json {
        Format::Json
    } else if a.csv {
        Format::Csv
    } else {
        a.format
    };
    let mut out = output::stdout();
    if a.disagreements {
        return disagreements(&mut out, &study, &coders, &codes, &keep, &unit_ids, &unit_codes, format, g);
    }
    let matrix = |code: &str| -> Result<(Ratings, usize)> {
        let rows: Vec<Vec<Option<f64>>> = keep
            .iter()
            .map(|&u| unit_codes[u].iter().map(|s| Some(f64::from(u8::from(s.contains(code))))).collect())
            .collect();
        let coded = keep.iter().filter(|&&u| unit_codes[u].iter().any(|s| s.contains(code))).count();
        Ok((Ratings::new(coders.clone(), rows)?, coded))
    };
    let mut rows: Vec<Row> = Vec::new();
    for c in &codes {
        let (r, coded) = matrix(c)?;
        rows.push(row(c, &r, coded, &a));
    }
    if codes.len() > 1 {
        let pooled: Vec<Vec<Option<f64>>> = keep
            .iter()
            .flat_map(|&u| {
                let per_coder = &unit_codes[u];
                codes.iter().map(move |c| per_coder.iter().map(|s| Some(f64::from(u8::from(s.contains(c))))).collect())
            })
            .collect();
        let coded = pooled.iter().filter(|r| r.contains(&Some(1.0))).count();
        if let Ok(r) = Ratings::new(coders.clone(), pooled) {
            rows.push(row("(all codes, pooled)", &r, coded, &a));
        }
    }
    let unit_name = if a.unit == Unit::Passage { "passages" } else { "notes" };
    // Codings that count nowhere (orphaned, or in notes that could not be read) are said.
    let left = crate::report::left_out_of(&study, &placement, &sel).clause();
    let caption = format!(
        "Agreement of {} over {} {unit_name} of {} note(s){}; {}; nominal presence/absence per code{}{}.",
        coders.join(", "),
        keep.len(),
        shared.len(),
        a.site.as_ref().map(|s| format!(" in {s}")).unwrap_or_default(),
        sel.describe(),
        if a.exclude_uncoded { ", units no coder coded left out" } else { "" },
        if left.is_empty() { String::new() } else { format!("; {left}") }
    );
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(
                &mut out,
                &serde_json::json!({"caption": caption, "coders": coders, "unit": unit_name, "rows": rows}),
            )?;
            writeln!(out)?;
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
                Format::Latex => write!(out, "{}", latex(&caption, &header, &table_rows, true))?,
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

#[allow(clippy::too_many_arguments)]
fn disagreements(
    out: &mut impl Write,
    study: &Study,
    coders: &[String],
    codes: &[String],
    keep: &[usize],
    unit_ids: &[String],
    unit_codes: &[Vec<BTreeSet<String>>],
    format: Format,
    g: &Globals,
) -> Result<ExitCode> {
    let header: Vec<String> = ["code", "unit", "site", "coded by", "not by", "text"].map(String::from).into();
    let mut rows = Vec::new();
    for c in codes {
        for &u in keep {
            let yes: Vec<&str> =
                coders.iter().zip(&unit_codes[u]).filter(|(_, s)| s.contains(c)).map(|(n, _)| n.as_str()).collect();
            if yes.is_empty() || yes.len() == coders.len() {
                continue;
            }
            let no: Vec<&str> = coders.iter().map(String::as_str).filter(|n| !yes.contains(n)).collect();
            let id = &unit_ids[u];
            let (site, text) = match study.passage(id, g) {
                Ok((_, d, p)) => (d.attr_str("site").unwrap_or("").to_string(), d.passage_text(p).to_string()),
                Err(_) => {
                    let d = study.corpus.document(id);
                    (d.and_then(|d| d.attr_str("site")).unwrap_or("").to_string(), String::new())
                }
            };
            rows.push(vec![c.clone(), id.clone(), site, yes.join(", "), no.join(", "), text]);
        }
    }
    match format {
        Format::Json => {
            let v: Vec<serde_json::Value> = rows
                .iter()
                .map(|r| serde_json::json!({"code": r[0], "unit": r[1], "site": r[2], "coded_by": r[3].split(", ").collect::<Vec<_>>(), "not_by": r[4].split(", ").collect::<Vec<_>>(), "text": r[5]}))
                .collect();
            serde_json::to_writer_pretty(&mut *out, &v)?;
            writeln!(out)?;
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
            writeln!(out, "{} disagreement(s) over {} code(s)", rows.len(), codes.len())?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
