//! Bringing data into a project: transcripts, survey spreadsheets, folders of notes and QMSum
//! meetings as notes, with the codings and codes their inputs carry. Every import can be run
//! again without duplicating anything, writes nothing in a dry run, says what it cannot read
//! (file and line) and goes on, and never overwrites a note that changed unless forced. The
//! readers are `fieldnotes-import`'s; this is where their results become notes and codings.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use fieldnotes_coding::Versions;
use fieldnotes_coding::ledger::{self, Coding, Event, Ledger, Origin, Status, now};
use fieldnotes_corpus::{Project, SplitOptions, Value, parse_document, text_hash};
use fieldnotes_import::{fm_text, fm_value, note_text, slug, survey, transcript};

use crate::Tell;

/// Options every import shares.
#[derive(Clone, Copy, Debug, Default)]
pub struct Common {
    /// Say what would be written; write nothing.
    pub dry_run: bool,
    /// Overwrite notes that exist with different content.
    pub force: bool,
}

/// Transcripts to import ([`transcripts`]).
#[derive(Clone, Debug)]
pub struct Transcripts {
    /// The files (WebVTT, SRT, DOCX, text).
    pub files: Vec<PathBuf>,
    /// Their site.
    pub site: String,
    /// Their date (YYYY-MM-DD).
    pub date: Option<String>,
    /// Their kind.
    pub kind: String,
    /// Dry run, force.
    pub common: Common,
}

/// A survey to import ([`survey`]).
#[derive(Clone, Debug)]
pub struct Survey {
    /// The CSV or XLSX file.
    pub file: PathBuf,
    /// The respondent id column.
    pub id: String,
    /// Open-answer columns.
    pub text: Vec<String>,
    /// Attribute columns.
    pub attr: Vec<String>,
    /// Code columns.
    pub codes: Vec<String>,
    /// The characters that separate codes in a code cell (line breaks always do).
    pub code_sep: Option<String>,
    /// The coder whose codes the code columns hold.
    pub coder: Option<String>,
    /// One note per answer instead of per respondent.
    pub per_answer: bool,
    /// The site of every respondent (otherwise a `site` attribute column, if any).
    pub site: Option<String>,
    /// The kind of the notes.
    pub kind: String,
    /// The survey's name: notes go to `notes/<name>/` (default: the file's name).
    pub name: Option<String>,
    /// Dry run, force.
    pub common: Common,
}

/// A folder of notes to import ([`notes`]).
#[derive(Clone, Debug)]
pub struct Notes {
    /// The folder.
    pub dir: PathBuf,
    /// A CSV of attributes with a `file` column.
    pub attrs: Option<PathBuf>,
    /// Dry run, force.
    pub common: Common,
}

/// QMSum meetings to import ([`qmsum`]).
#[derive(Clone, Debug)]
pub struct Qmsum {
    /// The JSON files.
    pub files: Vec<PathBuf>,
    /// The site (the committee).
    pub site: String,
    /// The coder under which the topic annotations are kept.
    pub coder: String,
    /// Dry run, force.
    pub common: Common,
}

/// What an import did: notes written (or, in a dry run, that would be), unchanged, left alone
/// (changed since, without `force`), and input files that could not be read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Imported {
    /// Notes written.
    pub written: usize,
    /// Notes already there as they would be written.
    pub unchanged: usize,
    /// Notes changed since, left as they are.
    pub refused: usize,
    /// Input files skipped as unreadable.
    pub failed: usize,
}

impl Imported {
    fn of(outcomes: &[Outcome], failed: usize) -> Imported {
        let count = |o: Outcome| outcomes.iter().filter(|x| **x == o).count();
        Imported {
            written: count(Outcome::Written),
            unchanged: count(Outcome::Unchanged),
            refused: count(Outcome::Refused),
            failed,
        }
    }
}

/// What happened to one note.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Written,
    Unchanged,
    Refused,
}

/// Writes a note unless it exists: unchanged content is a no-op, other content needs --force.
fn put_note(tell: &dyn Tell, project: &Project, rel: &str, text: &str, common: &Common) -> Result<Outcome> {
    let path = project.root().join(rel);
    if let Ok(old) = fs::read_to_string(&path) {
        if old == text {
            return Ok(Outcome::Unchanged);
        }
        if !common.force {
            tell.warn(&format!("`{rel}` exists with other content; left as it is (use --force to overwrite)"));
            return Ok(Outcome::Refused);
        }
    }
    if common.dry_run {
        tell.info(&format!("would write `{rel}`"));
    } else {
        fieldnotes_corpus::atomic::write(&path, text.as_bytes())
            .with_context(|| format!("cannot write `{}`", path.display()))?;
    }
    Ok(Outcome::Written)
}

fn report(tell: &dyn Tell, what: &str, outcomes: &[Outcome], dry: bool) {
    let written = outcomes.iter().filter(|o| matches!(o, Outcome::Written)).count();
    let same = outcomes.iter().filter(|o| matches!(o, Outcome::Unchanged)).count();
    let refused = outcomes.iter().filter(|o| matches!(o, Outcome::Refused)).count();
    let verb = if dry { "would write" } else { "wrote" };
    tell.info(&format!("{what}: {verb} {written} note(s), {same} unchanged, {refused} left alone"));
}

/// Imports transcripts as notes, one passage per speaker turn.
pub fn transcripts(project: &Project, a: &Transcripts, tell: &dyn Tell) -> Result<Imported> {
    if let Some(d) = &a.date
        && fieldnotes_corpus::Date::parse(d).is_none()
    {
        bail!("`--date {d}` is not a date; write YYYY-MM-DD");
    }
    let mut outcomes = Vec::new();
    let mut failed = 0;
    let folder = format!("notes/{}", slug(&a.site));
    let mut known = recordings(project, &folder);
    for file in &a.files {
        let ext = file.extension().map(|e| e.to_string_lossy().to_lowercase()).unwrap_or_default();
        let bytes = fs::read(file).with_context(|| format!("cannot read `{}`", file.display()))?;
        let parsed = match ext.as_str() {
            "docx" => transcript::parse_docx(&bytes),
            _ => match String::from_utf8(bytes) {
                Ok(text) => match ext.as_str() {
                    "vtt" => transcript::parse_vtt(&text),
                    "srt" => transcript::parse_srt(&text),
                    _ => Ok(transcript::parse_plain(&text)),
                },
                Err(e) => {
                    tell.warn(&format!(
                        "`{}`: not UTF-8 (byte {}); re-save it as UTF-8. Skipped",
                        file.display(),
                        e.utf8_error().valid_up_to()
                    ));
                    failed += 1;
                    continue;
                }
            },
        };
        let t = match parsed {
            Ok(t) => t,
            Err(e) => {
                tell.warn(&format!("`{}` {e}; skipped", file.display()));
                failed += 1;
                continue;
            }
        };
        for p in &t.problems {
            tell.warn(&format!("`{}` line {}: {}", file.display(), p.line, p.message));
        }
        let stem = file.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
        let mut front = vec![("title".to_string(), fm_text(&stem)), ("site".into(), fm_text(&a.site))];
        if let Some(d) = &a.date {
            front.push(("date".into(), fm_value(d)));
        }
        front.push(("kind".into(), fm_text(&a.kind)));
        front.push((
            "source".into(),
            fm_text(&file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default()),
        ));
        front.push(("transcript".into(), Value::Bool(true)));
        let body = transcript::note_body(&t);
        let hash = text_hash(&body);
        front.push(("source_hash".into(), fm_text(&hash)));
        let text = note_text(&front, &body);
        // A recording is known by its content: the same one again is a no-op (or, with
        // --force, rewrites its note); another one whose name is taken arrives beside it.
        if let Some((rel, _)) = known.iter().find(|(_, h)| *h == hash) {
            let rel = rel.clone();
            if a.common.force {
                outcomes.push(put_note(tell, project, &rel, &text, &a.common)?);
            } else {
                tell.info(&format!("`{}` is in the project already, as `{rel}`", file.display()));
                outcomes.push(Outcome::Unchanged);
            }
            continue;
        }
        let first = format!("{folder}/{}.md", slug(&stem));
        let mut rel = first.clone();
        if !a.common.force {
            let taken = |r: &str| project.root().join(r).exists() || known.iter().any(|(k, _)| k == r);
            let mut k = 2;
            while taken(&rel) {
                rel = format!("{folder}/{}-{k}.md", slug(&stem));
                k += 1;
            }
            if rel != first {
                tell.info(&format!(
                        "`{}`: `{first}` holds another recording of that name; this one goes to `{rel}` (--force replaces it instead)",
                        file.display()
                    ),
                );
            }
        }
        known.push((rel.clone(), hash));
        outcomes.push(put_note(tell, project, &rel, &text, &a.common)?);
    }
    report(tell, "transcripts", &outcomes, a.common.dry_run);
    Ok(Imported::of(&outcomes, failed))
}

/// The notes of a folder with the hash that identifies their recording: the `source_hash` of
/// their front matter, or the hash of their body (notes imported before there was one).
fn recordings(project: &Project, folder: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let Ok(entries) = fs::read_dir(project.root().join(folder)) else { return out };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.ends_with(".md"))
        .collect();
    names.sort();
    for name in names {
        let rel = format!("{folder}/{name}");
        let Ok(text) = fs::read_to_string(project.root().join(&rel)) else { continue };
        let Ok(fm) = fieldnotes_corpus::frontmatter::parse(&text) else { continue };
        let hash = match fm.attributes.get("source_hash") {
            Some(v) => v.to_string(),
            None => text_hash(&text[fm.body_start..]),
        };
        out.push((rel, hash));
    }
    out
}

fn attr_key(col: &str) -> String {
    slug(col).replace('-', "_")
}

/// Imports a survey spreadsheet: a note per respondent (or answer), the code columns as codings
/// of `a.coder`, new codes added to the codebook (listed to `listed` in a dry run).
pub fn survey(project: &Project, a: &Survey, tell: &dyn Tell, listed: &mut dyn FnMut(&str)) -> Result<Imported> {
    let bytes = fs::read(&a.file).with_context(|| format!("cannot read `{}`", a.file.display()))?;
    let sheet = survey::read_sheet(&a.file, &bytes).with_context(|| format!("`{}`", a.file.display()))?;
    let spec = survey::SurveySpec {
        id: a.id.clone(),
        text: a.text.clone(),
        attrs: a.attr.clone(),
        codes: a.codes.clone(),
        code_separators: a.code_sep.clone().unwrap_or_default(),
    };
    let (people, problems) = survey::respondents(&sheet, &spec).with_context(|| format!("`{}`", a.file.display()))?;
    for p in &problems {
        tell.warn(&format!("`{}` row {}: {}", a.file.display(), p.line, p.message));
    }
    let book_path = project.codebook_path();
    let book = if book_path.exists() {
        fieldnotes_coding::Codebook::load(&book_path)?
    } else {
        fieldnotes_coding::Codebook::default()
    };
    let coder = match &a.coder {
        Some(c) => {
            ledger::validate_coder(c)?;
            Some(c.clone())
        }
        None => None,
    };
    let existing = match &coder {
        Some(c) => Ledger::new(project.root(), c)?.read()?,
        None => Default::default(),
    };
    // The codings an earlier import of the sheet gave, by note, found once rather than among
    // all of the ledger's for every row.
    let mut imported_on: HashMap<&str, Vec<&Coding>> = HashMap::new();
    for c in existing.current().filter(|c| c.origin == Origin::Import) {
        imported_on.entry(c.doc.as_str()).or_default().push(c);
    }
    let survey_slug = slug(
        &a.name
            .clone()
            .unwrap_or_else(|| a.file.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default()),
    );
    let mut tree = survey::CodeTree::new(
        book.codes
            .iter()
            .map(|c| survey::TreeCode { id: c.id.clone(), name: c.name.clone(), parent: c.parent.clone() })
            .collect(),
    );
    let mut events = Vec::new();
    let mut outcomes = Vec::new();
    let mut withdrawn: Vec<String> = Vec::new();
    let time = now();
    for r in &people {
        let units: Vec<(String, Vec<&survey::Answer>)> = if a.per_answer {
            r.answers.iter().map(|ans| (format!("{}-{}", slug(&r.id), slug(&ans.question)), vec![ans])).collect()
        } else {
            vec![(slug(&r.id), r.answers.iter().collect())]
        };
        for (name, answers) in units {
            if answers.is_empty() {
                continue;
            }
            let mut front = vec![("respondent".to_string(), fm_text(&r.id))];
            let site = a
                .site
                .clone()
                .or_else(|| r.attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case("site")).map(|(_, v)| v.clone()));
            if let Some(s) = &site {
                front.push(("site".into(), fm_text(s)));
            }
            front.push(("kind".into(), fm_text(&a.kind)));
            for (k, v) in &r.attrs {
                if !k.eq_ignore_ascii_case("site") {
                    front.push((attr_key(k), fm_value(v)));
                }
            }
            if a.per_answer {
                front.push(("question".into(), fm_text(&answers[0].question)));
            }
            let body: String = answers
                .iter()
                .map(|ans| {
                    format!(
                        "# {}\n\n{}\n\n",
                        ans.question.replace('\n', " "),
                        ans.text.split_whitespace().collect::<Vec<_>>().join(" ")
                    )
                })
                .collect();
            let text = note_text(&front, &body);
            let rel = format!("notes/{survey_slug}/{name}.md");
            let outcome = put_note(tell, project, &rel, &text, &a.common)?;
            let refused = matches!(outcome, Outcome::Refused);
            outcomes.push(outcome);
            let Some(coder) = &coder else { continue };
            // Code each answer's passage: parse the note as fieldnotes will.
            let opts = SplitOptions { speaker_turns: false };
            let mut doc = parse_document(rel.clone(), text.clone(), &opts).map_err(|e| {
                anyhow::anyhow!("internal: the note written for `{}` does not parse: {}", r.id, e.message)
            })?;
            if refused {
                // The same answers under other front matter (a second coder's sheet imported
                // without the first's `--attr` columns): coded on the note as it stands.
                let there = fs::read_to_string(project.root().join(&rel))
                    .ok()
                    .and_then(|t| parse_document(rel.clone(), t, &opts).ok())
                    .filter(|d| {
                        d.passages.len() == doc.passages.len()
                            && d.passages
                                .iter()
                                .zip(&doc.passages)
                                .all(|(x, y)| d.passage_text(x) == doc.passage_text(y))
                    });
                match there {
                    Some(d) => {
                        tell.info(&format!("`{rel}`: the same answers; the codings go on the note as it is"));
                        doc = d;
                    }
                    None => continue,
                }
            }
            // The codings count in this version of the note, kept so that they follow its edits.
            if !a.common.dry_run {
                Versions::new(&project.derived_dir()).keep(&doc)?;
            }
            let mut now_coded: HashSet<String> = HashSet::new();
            for (ans, p) in answers.iter().zip(&doc.passages) {
                for path in &ans.codes {
                    let code = tree.resolve(path);
                    // A whole answer, its words in the ledger as a person's coding has them.
                    let words = doc.passage_text(p);
                    let c = Coding {
                        hash: text_hash(words),
                        text: words.to_string(),
                        time: time.clone(),
                        ..Coding::whole_passage(&doc, p, &code, coder, Origin::Import, Status::Accepted)
                    };
                    now_coded.insert(c.id.clone());
                    if !existing.seen.contains(&c.id) {
                        events.push(Event::Add(c));
                    }
                }
            }
            // The sheet is the source of the codings it gave: one taken out of it (a corrected
            // cell) is removed, and said, rather than counted beside its correction.
            for old in imported_on.get(rel.as_str()).into_iter().flatten() {
                if !now_coded.contains(&old.id) {
                    withdrawn.push(format!("`{}` {}", r.id, old.code));
                    events.push(Event::Remove {
                        id: old.id.clone(),
                        doc: Some(rel.clone()),
                        by: coder.clone(),
                        time: time.clone(),
                    });
                }
            }
        }
    }
    let source = a.file.display().to_string();
    let codes: Vec<(String, String, Option<String>, String)> = tree
        .added()
        .iter()
        .map(|c| {
            let description = format!("Added by `fieldnotes import survey` from `{source}`; describe it.");
            (c.id.clone(), c.name.clone(), c.parent.clone(), description)
        })
        .collect();
    add_codes(tell, listed, project, &codes, a.common.dry_run)?;
    if let Some(coder) = &coder {
        let added = events.len() - withdrawn.len();
        if !withdrawn.is_empty() {
            tell.warn(&format!(
                "{} {} coding(s) the sheet no longer gives ({})",
                if a.common.dry_run { "would remove" } else { "removed" },
                withdrawn.len(),
                crate::first_few(&withdrawn, 10, withdrawn.len(), ", ")
            ));
        }
        if a.common.dry_run {
            tell.info(&format!("would add {added} coding(s) by {coder}"));
        } else {
            Ledger::new(project.root(), coder)?.append(&events)?;
            tell.info(&format!("added {added} coding(s) to `codings/{coder}.jsonl`"));
        }
    }
    report(tell, "survey", &outcomes, a.common.dry_run);
    Ok(Imported::of(&outcomes, 0))
}

/// Appends new codes (id, name, parent, description) to the codebook file, atomically.
fn add_codes(
    tell: &dyn Tell,
    listed: &mut dyn FnMut(&str),
    project: &Project,
    codes: &[(String, String, Option<String>, String)],
    dry_run: bool,
) -> Result<()> {
    if codes.is_empty() {
        return Ok(());
    }
    let book_path = project.codebook_path();
    if dry_run {
        // The codes themselves, one a line as `import qdc` lists them (the command's output).
        for (id, name, parent, _) in codes {
            match parent {
                Some(p) => listed(&format!("+ {id} ({name}, under {p})")),
                None => listed(&format!("+ {id} ({name})")),
            }
        }
        tell.info(&format!("would add {} code(s) to the codebook", codes.len()));
        return Ok(());
    }
    let codes: Vec<fieldnotes_coding::Code> = codes
        .iter()
        .map(|(id, name, parent, description)| fieldnotes_coding::Code {
            id: id.clone(),
            name: name.clone(),
            description: description.clone(),
            parent: parent.clone(),
            colour: None,
            examples: Vec::new(),
            rules: fieldnotes_coding::Rules::default(),
        })
        .collect();
    fieldnotes_coding::Codebook::append_codes(&book_path, &codes)?;
    tell.info(&format!("added {} code(s) to `{}`", codes.len(), project.relative(&book_path)));
    Ok(())
}

/// Imports QMSum meeting transcripts: turns as passages, annotated topics as codings of
/// `a.coder` and codes of the codebook (listed to `listed` in a dry run).
pub fn qmsum(project: &Project, a: &Qmsum, tell: &dyn Tell, listed: &mut dyn FnMut(&str)) -> Result<Imported> {
    ledger::validate_coder(&a.coder)?;
    let book_path = project.codebook_path();
    let book = if book_path.exists() {
        fieldnotes_coding::Codebook::load(&book_path)?
    } else {
        fieldnotes_coding::Codebook::default()
    };
    let existing = Ledger::new(project.root(), &a.coder)?.read()?;
    let mut new_codes = Vec::new();
    let mut events = Vec::new();
    let mut outcomes = Vec::new();
    let mut failed = 0;
    let time = now();
    for file in &a.files {
        let stem = file.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_default();
        let meeting = match fs::read_to_string(file)
            .map_err(anyhow::Error::from)
            .and_then(|t| Ok(fieldnotes_import::qmsum::parse(&t)?))
        {
            Ok(m) => m,
            Err(e) => {
                tell.warn(&format!("`{}`: {e}; skipped", file.display()));
                failed += 1;
                continue;
            }
        };
        let front = vec![
            ("title".to_string(), fm_text(&stem)),
            ("site".into(), fm_text(&a.site)),
            ("kind".into(), fm_text("transcript")),
            ("source".into(), fm_text(&file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default())),
        ];
        // Turns with words and a speaker become passages; keep each turn's passage index.
        let mut body = String::new();
        let mut passage_of = Vec::with_capacity(meeting.turns.len());
        let mut n = 0usize;
        // Turns with no words, left out (no passage holds nothing), said with where they were.
        let mut empty: Vec<String> = Vec::new();
        for (ti, (speaker, words)) in meeting.turns.iter().enumerate() {
            if speaker.is_empty()
                || words.is_empty()
                || fieldnotes_corpus::speaker_label(&format!("{speaker}: x")).is_none()
            {
                if words.is_empty() {
                    empty.push(if speaker.is_empty() { format!("{ti}") } else { format!("{ti} ({speaker})") });
                } else {
                    tell.warn(&format!(
                        "`{}`: a turn by `{speaker}` has no usable speaker name; it was left out",
                        file.display()
                    ));
                }
                passage_of.push(None);
                continue;
            }
            body.push_str(&format!("{speaker}: {words}\n\n"));
            passage_of.push(Some(n));
            n += 1;
        }
        if !empty.is_empty() {
            tell.warn(&format!(
                "`{}`: {} turn(s) with no words left out (turn {}): no passage holds them, and the topics spanning them are coded on their other turns",
                file.display(),
                empty.len(),
                empty.join(", ")
            ));
        }
        let text = note_text(&front, &body);
        let rel = format!("notes/{}/{}.md", slug(&a.site), slug(&stem));
        let outcome = put_note(tell, project, &rel, &text, &a.common)?;
        let refused = matches!(outcome, Outcome::Refused);
        outcomes.push(outcome);
        if refused {
            continue;
        }
        let doc = parse_document(rel.clone(), text, &SplitOptions { speaker_turns: true }).map_err(|e| {
            anyhow::anyhow!("internal: the note for `{}` does not parse: {}", file.display(), e.message)
        })?;
        // The codings count in this version of the note, kept so that they follow its edits.
        if !a.common.dry_run {
            Versions::new(&project.derived_dir()).keep(&doc)?;
        }
        if doc.passages.len() != n {
            bail!("internal: `{}` has {n} turns but its note {} passages", file.display(), doc.passages.len());
        }
        for (ti, (label, spans)) in meeting.topics.iter().enumerate() {
            let id = format!("{}-t{}", slug(&stem), ti + 1);
            if book.code(&id).is_none()
                && !new_codes.iter().any(|c: &(String, String, Option<String>, String)| c.0 == id)
            {
                new_codes.push((
                    id.clone(),
                    label.clone(),
                    None,
                    format!("Topic {} of `{stem}`, as annotated in the source.", ti + 1),
                ));
            }
            for &(from, to) in spans {
                if from > to || to >= passage_of.len() {
                    tell.warn(&format!(
                        "`{}`: topic {} spans turns {from}..{to}, outside the {} turns; skipped",
                        file.display(),
                        ti + 1,
                        passage_of.len()
                    ));
                    continue;
                }
                for pi in passage_of[from..=to].iter().flatten() {
                    let p = &doc.passages[*pi];
                    let c = Coding {
                        time: time.clone(),
                        ..Coding::whole_passage(&doc, p, &id, &a.coder, Origin::Import, Status::Accepted)
                    };
                    if !existing.seen.contains(&c.id) {
                        events.push(Event::Add(c));
                    }
                }
            }
        }
    }
    add_codes(tell, listed, project, &new_codes, a.common.dry_run)?;
    if a.common.dry_run {
        tell.info(&format!("would add {} coding(s) by {}", events.len(), a.coder));
    } else {
        Ledger::new(project.root(), &a.coder)?.append(&events)?;
        tell.info(&format!("added {} coding(s) to `codings/{}.jsonl`", events.len(), a.coder));
    }
    report(tell, "meetings", &outcomes, a.common.dry_run);
    Ok(Imported::of(&outcomes, failed))
}

/// A front-matter value as TOML writes it: a date bare (TOML has dates), a string quoted.
fn toml_value(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Float(x) if x.is_finite() => format!("{x:?}"),
        Value::Date(d) => d.to_string(),
        Value::List(items) => format!("[{}]", items.iter().map(toml_value).collect::<Vec<_>>().join(", ")),
        other => fieldnotes_corpus::frontmatter::toml_string(&other.to_plain()),
    }
}

/// Imports a folder of Markdown or text notes, with attributes from a CSV keyed by file name.
pub fn notes(project: &Project, a: &Notes, tell: &dyn Tell) -> Result<Imported> {
    // Per file named: the row it is on, and its attributes.
    let mut attrs: BTreeMap<String, (usize, Vec<(String, String)>)> = BTreeMap::new();
    if let Some(csv_path) = &a.attrs {
        let bytes = fs::read(csv_path).with_context(|| format!("cannot read `{}`", csv_path.display()))?;
        let sheet = survey::read_sheet(csv_path, &bytes).with_context(|| format!("`{}`", csv_path.display()))?;
        let Some(fcol) = sheet.header.iter().position(|h| h.eq_ignore_ascii_case("file")) else {
            bail!("`{}` has no `file` column; its columns are: {}", csv_path.display(), sheet.header.join(", "));
        };
        for p in &sheet.problems {
            tell.warn(&format!("`{}` row {}: {}", csv_path.display(), p.line, p.message));
        }
        // A column whose name is no front-matter key as it stands is renamed, and said.
        for (i, h) in sheet.header.iter().enumerate() {
            if i != fcol && attr_key(h) != *h {
                tell.warn(&format!("`{}`: column `{h}` is written as the key `{}`", csv_path.display(), attr_key(h)));
            }
        }
        for (line, cells) in &sheet.rows {
            let kv: Vec<(String, String)> = sheet
                .header
                .iter()
                .zip(cells)
                .enumerate()
                .filter(|(i, (_, v))| *i != fcol && !v.trim().is_empty())
                .map(|(_, (k, v))| (attr_key(k), v.trim().to_string()))
                .collect();
            // A date that is none is kept as text, and said: it would fall out of every
            // grouping by year.
            for (k, v) in &kv {
                if k == "date" && fieldnotes_corpus::Date::parse(v).is_none() {
                    tell.warn(&format!(
                        "`{}` row {line}: `{v}` is not a date (YYYY-MM-DD); kept as text, so the note has no year",
                        csv_path.display()
                    ));
                }
            }
            attrs.insert(cells[fcol].trim().to_string(), (*line, kv));
        }
    }
    let mut files = Vec::new();
    let mut left_out = LeftOut::default();
    collect(&a.dir, &mut files, &mut left_out)?;
    files.sort();
    if let Some(said) = left_out.said(&a.dir) {
        tell.warn(&said);
    }
    let base = slug(
        &a.dir
            .canonicalize()
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().to_string()))
            .unwrap_or_else(|| "imported".into()),
    );
    let mut outcomes = Vec::new();
    let mut used_attrs = BTreeSet::new();
    for f in &files {
        let rel_in = f.strip_prefix(&a.dir).unwrap_or(f);
        let rel_str = rel_in.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
        let name = f.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
        // Checked as every command will read it (UTF-8, not binary, not empty, no line too
        // long), so that nothing is written that each of them would then skip.
        let text = match fs::read(f) {
            Ok(bytes) => match fieldnotes_corpus::decode(bytes, project.config.max_line_bytes) {
                Ok(t) => t,
                Err(why) => {
                    tell.warn(&format!("`{}`: {why}; skipped", f.display()));
                    continue;
                }
            },
            Err(e) => {
                let broken = fs::symlink_metadata(f).is_ok_and(|m| m.file_type().is_symlink());
                let what = if broken { "a link to a file that is not there".to_string() } else { e.to_string() };
                tell.warn(&format!("`{}`: cannot be read ({what}); skipped", f.display()));
                continue;
            }
        };
        let extra = attrs.get(&rel_str).or_else(|| attrs.get(&name)).map(|(_, kv)| kv);
        if extra.is_some() {
            used_attrs.insert(if attrs.contains_key(&rel_str) { rel_str.clone() } else { name.clone() });
        }
        let out_text = match fieldnotes_corpus::frontmatter::parse(&text) {
            Ok(fm) => {
                let body = &text[fm.body_start..];
                let mut front: Vec<(String, Value)> = Vec::new();
                let had: BTreeSet<String> = fm.attributes.keys().cloned().collect();
                // Keep the note's own front matter lines as written, then add the CSV's new keys.
                if fm.body_start > 0 {
                    let own = text[..fm.body_start]
                        .lines()
                        .filter(|l| l.trim() != "---")
                        .map(str::to_string)
                        .collect::<Vec<_>>();
                    for (k, v) in extra.into_iter().flatten() {
                        if had.contains(k) {
                            tell.warn(&format!(
                                "`{}`: `{k}` is already in its front matter; the note's value is kept",
                                f.display()
                            ));
                        } else {
                            front.push((k.clone(), fm_value(v)));
                        }
                    }
                    // TOML front matter (Hugo's `+++`) stays TOML, its new keys as TOML strings.
                    let toml = text.trim_start().starts_with("+++");
                    if front.is_empty() {
                        text.clone()
                    } else {
                        let fence = if toml { "+++" } else { "---" };
                        let mut s = format!("{fence}\n");
                        for l in own.iter().filter(|l| l.trim() != "+++") {
                            s.push_str(l);
                            s.push('\n');
                        }
                        for (k, v) in &front {
                            if toml {
                                s.push_str(&format!("{k} = {}\n", toml_value(v)));
                            } else {
                                s.push_str(&format!("{k}: {}\n", fieldnotes_corpus::frontmatter::render_value(v)));
                            }
                        }
                        s.push_str(fence);
                        s.push('\n');
                        s.push_str(body);
                        s
                    }
                } else {
                    for (k, v) in extra.into_iter().flatten() {
                        front.push((k.clone(), fm_value(v)));
                    }
                    if front.is_empty() { text.clone() } else { note_text(&front, body) }
                }
            }
            Err(e) => {
                tell.warn(&format!(
                    "`{}` line {}, column {}: {} (hint: {}); skipped",
                    f.display(),
                    e.line,
                    e.column,
                    e.message,
                    e.hint
                ));
                continue;
            }
        };
        let rel = format!("notes/{base}/{rel_str}");
        if let Ok(fm) = fieldnotes_corpus::frontmatter::parse(&out_text) {
            let opts = project.split_options(&fm.attributes);
            let doc = fieldnotes_corpus::build_document(rel.clone(), out_text.clone(), fm, &opts);
            if doc.looks_like_transcript()
                && !matches!(doc.attributes.get("transcript"), Some(fieldnotes_corpus::Value::Bool(false)))
            {
                let (labelled, all) = doc.labelled_paragraphs();
                tell.warn(&format!(
                    "`{}`: {labelled} of its {all} paragraphs open with a speaker label, but it is not read as a transcript; add `transcript: true` to its front matter to cut it into turns (or `transcript: false` to say it is not one)",
                    f.display()
                ));
            }
        }
        outcomes.push(put_note(tell, project, &rel, &out_text, &a.common)?);
    }
    for (k, (line, _)) in attrs.iter().filter(|(k, _)| !used_attrs.contains(*k)) {
        let csv = a.attrs.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
        tell.warn(&format!("`{csv}` row {line}: attributes for `{k}` match no file in `{}`", a.dir.display()));
    }
    report(tell, "notes", &outcomes, a.common.dry_run);
    Ok(Imported::of(&outcomes, 0))
}

/// The files of a folder `import notes` does not take, by extension (`""`: none), and the
/// hidden ones (names starting with `.`, as an editor's settings folder), counted apart.
#[derive(Default)]
struct LeftOut {
    by_ext: BTreeMap<String, (usize, String)>,
    hidden: usize,
}

impl LeftOut {
    /// The warning that says what was left out of `dir`, and how those files come in.
    fn said(&self, dir: &Path) -> Option<String> {
        let n: usize = self.by_ext.values().map(|(n, _)| n).sum();
        if n == 0 && self.hidden == 0 {
            return None;
        }
        let mut kinds: Vec<String> = self
            .by_ext
            .iter()
            .map(|(ext, (k, first))| match ext.as_str() {
                "" => format!("{k} file(s) without an extension (`{first}`)"),
                _ => format!("{k} `.{ext}` file(s) (`{first}`)"),
            })
            .collect();
        if self.hidden > 0 {
            kinds.push(format!("{} hidden file(s) or folder(s) (names starting with `.`)", self.hidden));
        }
        let mut hints = Vec::new();
        let has = |exts: &[&str]| exts.iter().any(|e| self.by_ext.contains_key(*e));
        if has(&["vtt", "srt", "docx"]) {
            hints.push("transcripts come in with `fieldnotes import transcript`");
        }
        if has(&["json"]) {
            hints.push("QMSum meetings with `fieldnotes import qmsum`");
        }
        if has(&["csv", "xlsx", "tsv"]) {
            hints.push("survey answers with `fieldnotes import survey`");
        }
        if has(&["qdpx"]) {
            hints.push("REFI-QDA projects with `fieldnotes import qdpx`");
        }
        if has(&["markdown", "text", "mdown"]) {
            hints.push("notes are read from `.md` and `.txt` files: rename the others");
        }
        let hint = if hints.is_empty() {
            "only `.md` and `.txt` files are notes".to_string()
        } else {
            format!("only `.md` and `.txt` files are notes; {}", hints.join(", "))
        };
        Some(format!("`{}`: left out what is not a note: {} (hint: {hint})", dir.display(), kinds.join(", ")))
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>, left_out: &mut LeftOut) -> Result<()> {
    let mut seen = HashSet::new();
    if let Ok(d) = dir.canonicalize() {
        seen.insert(d);
    }
    collect_in(dir, out, left_out, &mut seen)
}

/// [`collect`] of one folder; `seen` holds the folders walked (a link to a folder is followed,
/// as the notes' walk follows it, once).
fn collect_in(dir: &Path, out: &mut Vec<PathBuf>, left_out: &mut LeftOut, seen: &mut HashSet<PathBuf>) -> Result<()> {
    for e in fs::read_dir(dir).with_context(|| format!("cannot read `{}`", dir.display()))? {
        let e = e?;
        let p = e.path();
        let name = e.file_name().to_string_lossy().to_string();
        let file_type = e.file_type()?;
        let linked_dir = file_type.is_symlink() && p.is_dir();
        if name.starts_with('.') {
            left_out.hidden += 1;
        } else if file_type.is_dir() || linked_dir {
            if p.canonicalize().is_ok_and(|c| seen.insert(c)) {
                collect_in(&p, out, left_out, seen)?;
            }
        } else if p.extension().is_some_and(|x| x == "md" || x == "txt") {
            out.push(p);
        } else {
            let ext = p.extension().map(|x| x.to_string_lossy().to_lowercase()).unwrap_or_default();
            let e = left_out.by_ext.entry(ext).or_insert((0, name.clone()));
            e.0 += 1;
            // The first by name, to show the same one on every system.
            if name < e.1 {
                e.1 = name;
            }
        }
    }
    Ok(())
}
