//! `fieldnotes notes`: what the project holds, per site and kind.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use serde::Serialize;

use crate::Globals;
use crate::output::{self, Align};
use crate::study;

/// Arguments of `fieldnotes notes`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Group by this attribute (and `kind` within it).
    #[arg(long, default_value = "site")]
    by: String,
    /// List every note instead of the summary.
    #[arg(long)]
    list: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize, Default, Clone)]
struct Group {
    documents: usize,
    passages: usize,
    words: u64,
    kinds: BTreeMap<String, usize>,
}

#[derive(Serialize)]
struct Summary {
    project: String,
    documents: usize,
    passages: usize,
    words: u64,
    by: String,
    groups: BTreeMap<String, Group>,
    skipped: Vec<fieldnotes_corpus::Skipped>,
    /// Notes read as paragraphs of which most open with a speaker label.
    unmarked_transcripts: Vec<Unmarked>,
}

/// A note that looks like a transcript but is not marked as one.
#[derive(Serialize)]
struct Unmarked {
    path: String,
    labelled: usize,
    paragraphs: usize,
}

/// Runs `fieldnotes notes`.
pub fn run(g: &Globals, a: Args) -> Result<ExitCode> {
    let project = g.project()?;
    let mut out = output::stdout();
    // The notes are read a batch at a time: a row, a count or their JSON each is all they leave.
    let (files, skipped) = study::note_files(&project, g)?;
    let pb = output::progress(files.len() as u64, "reading", g.quiet);
    if a.list && a.json {
        // Every note whole, text and all: one JSON array, written a note at a time as
        // `to_writer_pretty` would write it whole (each note indented one level).
        let mut first = true;
        study::read_in_batches(&project, &files, g, &|_| pb.inc(1), true, |corpus| {
            for d in &corpus.documents {
                let item = serde_json::to_string_pretty(d)?;
                writeln!(out, "{}", if first { "[" } else { "," })?;
                first = false;
                for (i, line) in item.lines().enumerate() {
                    write!(out, "{}  {line}", if i == 0 { "" } else { "\n" })?;
                }
            }
            Ok(())
        })?;
        pb.finish_and_clear();
        writeln!(out, "{}", if first { "[]" } else { "\n]" })?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut summary = Summary::new(&project, &a.by);
    summary.skipped = skipped;
    let mut rows: Vec<Vec<String>> = Vec::new();
    study::read_in_batches(&project, &files, g, &|_| pb.inc(1), true, |corpus| {
        if a.list {
            rows.extend(corpus.documents.iter().map(|d| {
                vec![
                    d.path.clone(),
                    d.attributes.get("site").map(|v| v.to_string()).unwrap_or_default(),
                    d.attributes.get("date").map(|v| v.to_string()).unwrap_or_default(),
                    d.attributes.get("kind").map(|v| v.to_string()).unwrap_or_default(),
                    d.passages.len().to_string(),
                    d.words().to_string(),
                ]
            }));
        } else {
            summary.add(&corpus);
        }
        Ok(())
    })?;
    pb.finish_and_clear();
    if a.list {
        let header: Vec<String> = ["note", "site", "date", "kind", "passages", "words"].map(String::from).into();
        let align = [Align::Left, Align::Left, Align::Left, Align::Left, Align::Right, Align::Right];
        write!(out, "{}", output::table(&header, &rows, &align))?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    summary.skipped.sort_by(|a, b| a.path.cmp(&b.path));
    if summary.documents > 0 && summary.groups.keys().all(|k| k == "(none)") {
        let hint = if matches!(a.by.as_str(), "speaker" | "section") {
            format!("`{}` belongs to passages, not notes: `fieldnotes report themes --by {}` counts them", a.by, a.by)
        } else {
            "group by `site`, `kind`, `author`, `year` or another front-matter key".to_string()
        };
        output::warn(&format!("no note has `{}`; {hint}", a.by));
    }
    // Files beside the notes that are not notes: said, with how to read them, so that none is
    // passed over unawares (a warning when they are all there is).
    let others = project.other_files()?;
    if summary.documents == 0 && summary.skipped.is_empty() && others.is_empty() {
        output::warn(&no_notes(&project));
    }
    if !others.is_empty() {
        let listed: Vec<String> = others
            .iter()
            .map(|(ext, n)| if ext.is_empty() { format!("{n} without an extension") } else { format!("{n} .{ext}") })
            .collect();
        let message = format!(
            "{} file(s) beside the notes are not notes ({}): notes are the files `{}` finds (`notes` in fieldnotes.toml); `fieldnotes import transcript` and `fieldnotes import qmsum` turn other formats into notes",
            others.values().sum::<usize>(),
            listed.join(", "),
            project.config.notes.join("`, `"),
        );
        if summary.documents == 0 { output::warn(&message) } else { output::info(g.quiet, &message) }
    }
    if a.json {
        serde_json::to_writer_pretty(&mut out, &summary)?;
        writeln!(out)?;
    } else {
        print_summary(&mut out, &summary, g.color)?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn summarise(project: &fieldnotes_corpus::Project, corpus: &fieldnotes_corpus::Corpus, by: &str) -> Summary {
    let mut s = Summary::new(project, by);
    s.add(corpus);
    s
}

impl Summary {
    /// Nothing counted yet.
    fn new(project: &fieldnotes_corpus::Project, by: &str) -> Summary {
        Summary {
            project: if project.config.name.is_empty() {
                project.root().display().to_string()
            } else {
                project.config.name.clone()
            },
            documents: 0,
            passages: 0,
            words: 0,
            by: by.to_string(),
            groups: BTreeMap::new(),
            skipped: Vec::new(),
            unmarked_transcripts: Vec::new(),
        }
    }

    /// Counts the notes of `corpus` (a batch of them, or all), and those it could not read.
    fn add(&mut self, corpus: &fieldnotes_corpus::Corpus) {
        for d in &corpus.documents {
            // As the reports group notes: a year from the date, a list as the set of its items.
            let key = match self.by.as_str() {
                "year" => d.attributes.get("date").and_then(fieldnotes_corpus::Value::year).map(|y| y.to_string()),
                by => d.attributes.get(by).map(fieldnotes_corpus::Value::group_label),
            }
            .unwrap_or_else(|| "(none)".into());
            let kind = d.attributes.get("kind").map(|v| v.to_string()).unwrap_or_else(|| "(none)".into());
            let gr = self.groups.entry(key).or_default();
            gr.documents += 1;
            gr.passages += d.passages.len();
            gr.words += d.words();
            *gr.kinds.entry(kind).or_insert(0) += 1;
        }
        self.documents += corpus.documents.len();
        self.passages += corpus.passage_count();
        self.words += corpus.documents.iter().map(|d| d.words()).sum::<u64>();
        self.skipped.extend(corpus.skipped.iter().cloned());
        self.unmarked_transcripts.extend(
            corpus
                .documents
                .iter()
                .filter(|d| {
                    d.looks_like_transcript()
                        && !matches!(d.attributes.get("transcript"), Some(fieldnotes_corpus::Value::Bool(false)))
                })
                .map(|d| {
                    let (labelled, paragraphs) = d.labelled_paragraphs();
                    Unmarked { path: d.path.clone(), labelled, paragraphs }
                }),
        );
    }
}

/// Prints the corpus summary table (also used by the demo).
pub fn print_corpus_summary(
    out: &mut impl Write,
    project: &fieldnotes_corpus::Project,
    corpus: &fieldnotes_corpus::Corpus,
    color: bool,
) -> Result<()> {
    print_summary(out, &summarise(project, corpus, "site"), color)
}

fn print_summary(out: &mut impl Write, s: &Summary, color: bool) -> Result<()> {
    writeln!(
        out,
        "{}: {}, {}, {}, {}",
        output::bold(&s.project, color),
        output::count(s.documents as u64, "note"),
        output::count(s.passages as u64, "passage"),
        output::count(s.words, "word"),
        // Notes without the key are a row of the table, not one more site.
        output::count(s.groups.keys().filter(|k| *k != "(none)").count() as u64, &s.by)
    )?;
    let mut kinds: Vec<String> = s.groups.values().flat_map(|g| g.kinds.keys().cloned()).collect();
    kinds.sort();
    kinds.dedup();
    let mut header = vec![s.by.clone(), "notes".into(), "passages".into(), "words".into()];
    header.extend(kinds.iter().cloned());
    let mut rows: Vec<Vec<String>> = s
        .groups
        .iter()
        .map(|(k, g)| {
            let mut r = vec![k.clone(), g.documents.to_string(), g.passages.to_string(), g.words.to_string()];
            r.extend(kinds.iter().map(|kind| g.kinds.get(kind).copied().unwrap_or(0).to_string()));
            r
        })
        .collect();
    let mut total = vec!["total".to_string(), s.documents.to_string(), s.passages.to_string(), s.words.to_string()];
    total.extend(
        kinds
            .iter()
            .map(|kind| s.groups.values().map(|g| g.kinds.get(kind).copied().unwrap_or(0)).sum::<usize>().to_string()),
    );
    rows.push(total);
    let mut align = vec![Align::Left];
    align.extend(std::iter::repeat_n(Align::Right, header.len() - 1));
    write!(out, "{}", output::table(&header, &rows, &align))?;
    if !kinds.is_empty() {
        writeln!(out, "{}: notes of each `kind`", kinds.join(", "))?;
    }
    if !s.skipped.is_empty() {
        writeln!(out, "skipped {} file(s) that could not be read (see the warnings above)", s.skipped.len())?;
    }
    if !s.unmarked_transcripts.is_empty() {
        writeln!(
            out,
            "{} note(s) read as paragraphs look like transcripts (most paragraphs open with `Speaker:`); add `transcript: true` to their front matter to cut them into speaker turns, or `transcript: false` to say they are not:",
            s.unmarked_transcripts.len()
        )?;
        for u in s.unmarked_transcripts.iter().take(10) {
            writeln!(out, "  {} ({} of {} paragraphs)", u.path, u.labelled, u.paragraphs)?;
        }
        if s.unmarked_transcripts.len() > 10 {
            writeln!(
                out,
                "  and {} more (`fieldnotes notes --json` lists them all)",
                s.unmarked_transcripts.len() - 10
            )?;
        }
    }
    Ok(())
}

/// The warning that the notes globs found nothing, naming them and where they are set: a glob
/// with a typo makes every coding an orphan, and that should not be the first sign of it.
pub fn no_notes(project: &fieldnotes_corpus::Project) -> String {
    format!(
        "no note found: no file matches `{}` (`notes` in fieldnotes.toml; by default `notes/**/*.md` and `notes/**/*.txt`)",
        project.config.notes.join("`, `")
    )
}
