//! A pseudonymised copy of a study: each name of a list replaced by its pseudonym in the notes,
//! the codings carried onto the rewritten text (their words, hashes, evidence and memos too),
//! and a check that no listed name, email address or phone number is left in the notes, the
//! ledgers or the exports.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use fieldnotes_coding::ledger::{Event, Ledger};
use fieldnotes_corpus::Project;
use regex::Regex;

use crate::Tell;

/// The names to replace, each with its pseudonym: whole words, in any case (accented letters
/// too), longest first. A name of several words matches across any run of spaces, line breaks,
/// hyphens or underscores between them (a hard-wrapped line, `morag-findlay/`), a straight
/// apostrophe in it matches a curly one and the other way round, and a plural `s` after it
/// (`the Findlays`) is kept while the name goes.
pub struct Names {
    re: Regex,
    pseudonyms: Vec<String>,
    names: Vec<String>,
}

impl Names {
    /// Reads `names.csv` (`name,pseudonym`, a header row first).
    pub fn read(path: &Path) -> Result<Names> {
        read_names(path)
    }
}

fn read_names(path: &Path) -> Result<Names> {
    let mut rdr = csv::Reader::from_path(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let mut rows: Vec<(String, String)> = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.with_context(|| format!("`{}` row {}", path.display(), i + 2))?;
        let (Some(name), Some(pseudo)) = (rec.get(0), rec.get(1)) else {
            bail!("`{}` row {}: expected `name,pseudonym`", path.display(), i + 2);
        };
        if name.trim().is_empty() {
            continue;
        }
        if pseudo.trim().is_empty() {
            bail!(
                "`{}` row {}: `{}` has no pseudonym; give one (a code such as `P7`, or `[name]`)",
                path.display(),
                i + 2,
                name.trim()
            );
        }
        rows.push((fieldnotes_corpus::nfc(name.trim()).into_owned(), pseudo.trim().to_string()));
    }
    if rows.is_empty() {
        bail!("`{}` lists no names; write a header `name,pseudonym` and one row per person", path.display());
    }
    // A pseudonym that is a listed name would put one person's name on another's words.
    for (_, pseudo) in &rows {
        if let Some((name, _)) = rows.iter().find(|(n, _)| n.to_lowercase() == pseudo.to_lowercase()) {
            bail!(
                "`{}`: the pseudonym `{pseudo}` is itself a listed name (`{name}`); give pseudonyms no one in the study has",
                path.display()
            );
        }
    }
    // More words first, then longer: `Morag Findlay` before `Morag`, as the alternation tries
    // them in order.
    rows.sort_by_key(|(n, _)| (std::cmp::Reverse(n.split_whitespace().count()), std::cmp::Reverse(n.chars().count())));
    let pattern = rows
        .iter()
        .map(|(name, _)| {
            let words: Vec<String> = name
                .split_whitespace()
                .map(|w| w.split(['\'', '’']).map(regex::escape).collect::<Vec<_>>().join("['’]"))
                .collect();
            format!("({})", words.join(r"[\s_\-]*"))
        })
        .collect::<Vec<_>>()
        .join("|");
    let re = regex::RegexBuilder::new(&format!("(?i){pattern}"))
        .size_limit(64 << 20)
        .build()
        .with_context(|| format!("cannot match the names of `{}`", path.display()))?;
    let (names, pseudonyms) = rows.into_iter().unzip();
    Ok(Names { re, pseudonyms, names })
}

fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric())
}

/// Whether a word may end between `left` and `right` (the characters either side, `None` at
/// the text's ends): where either is not a letter or digit, and inside a run of them where a
/// lower-case letter meets a capital (`InterviewMorag.md`, `MoragFindlay`, as file names and
/// tags join words) or a letter meets a digit (`morag2.md`).
fn word_edge(left: Option<char>, right: Option<char>) -> bool {
    match (left, right) {
        (Some(l), Some(r)) if l.is_alphanumeric() && r.is_alphanumeric() => {
            (l.is_lowercase() && r.is_uppercase()) || l.is_numeric() != r.is_numeric()
        }
        _ => true,
    }
}

/// Whole-word matches of the names in `text` (a word's edges as [`word_edge`] finds them):
/// (byte start, byte end, name index). A plural `s` right after a name is left out of the match
/// and stays in the text.
fn find_names(names: &Names, text: &str) -> Vec<(usize, usize, usize)> {
    names
        .re
        .captures_iter(text)
        .filter_map(|c| {
            let m = c.get(0)?;
            let i = (1..c.len()).find(|&g| c.get(g).is_some())? - 1;
            let after = &text[m.end()..];
            let plural = after.starts_with(['s', 'S']) && !is_word(after[1..].chars().next());
            let (first, last) = (m.as_str().chars().next(), m.as_str().chars().next_back());
            let whole = word_edge(text[..m.start()].chars().next_back(), first)
                && (plural || word_edge(last, after.chars().next()));
            whole.then_some((m.start(), m.end(), i))
        })
        .collect()
}

/// A kind of identifier the detector finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// A name of the names file (replaced by its pseudonym).
    Name,
    /// An email address.
    Email,
    /// A phone number (UK and international forms).
    Phone,
    /// A web address (off by default; always replaced whole when a listed name is in it).
    Url,
    /// A UK postcode (off by default).
    Postcode,
    /// A date next to "born" (off by default).
    Birthdate,
}

impl Class {
    /// Every class, in the order reports list them.
    pub const ALL: [Class; 6] =
        [Class::Name, Class::Email, Class::Phone, Class::Url, Class::Postcode, Class::Birthdate];

    /// Its name on the command line and in reports.
    pub fn label(self) -> &'static str {
        match self {
            Class::Name => "name",
            Class::Email => "email",
            Class::Phone => "phone",
            Class::Url => "url",
            Class::Postcode => "postcode",
            Class::Birthdate => "birthdate",
        }
    }

    /// What a finding of it is called.
    pub fn what(self) -> &'static str {
        match self {
            Class::Name => "name",
            Class::Email => "email address",
            Class::Phone => "phone number",
            Class::Url => "web address",
            Class::Postcode => "postcode",
            Class::Birthdate => "date of birth",
        }
    }

    /// What replaces it unless another placeholder is given.
    pub fn placeholder(self) -> &'static str {
        match self {
            Class::Name => "[name]",
            Class::Email => "[email]",
            Class::Phone => "[phone]",
            Class::Url => "[url]",
            Class::Postcode => "[postcode]",
            Class::Birthdate => "[date of birth]",
        }
    }

    /// The class named `s` (as [`Class::label`] gives it).
    pub fn parse(s: &str) -> Result<Class> {
        Class::ALL.into_iter().find(|c| c.label() == s.trim()).with_context(|| {
            let all: Vec<&str> = Class::ALL.iter().map(|c| c.label()).collect();
            format!("no class of identifier `{s}`; the classes are {}", all.join(", "))
        })
    }
}

/// Which classes the detector looks for besides names, and what replaces them.
#[derive(Clone, Debug)]
pub struct Options {
    /// The classes on: by default email addresses and phone numbers.
    pub classes: Vec<Class>,
    /// Placeholders other than the default ones.
    pub placeholders: Vec<(Class, String)>,
}

impl Default for Options {
    fn default() -> Options {
        Options { classes: vec![Class::Email, Class::Phone], placeholders: Vec::new() }
    }
}

/// One identifier found: bytes `start..end` of the text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Found {
    /// Its first byte.
    pub start: usize,
    /// After its last byte.
    pub end: usize,
    /// Its class.
    pub class: Class,
    /// For a name, which of the names file.
    pub name: usize,
}

/// The one detector of identifiers that `redact` replaces and `redact --check` reports, so the
/// two cannot disagree: the names listed (whole words, any case, longest first), and the
/// classes on. An email address or web address with a listed name in it is found whole, so no
/// part of it is left behind.
pub struct Detector {
    names: Option<Names>,
    classes: Vec<Class>,
    placeholders: Vec<(Class, String)>,
    email: Regex,
    phone: Regex,
    url: Regex,
    postcode: Regex,
    born: Regex,
}

impl Detector {
    /// A detector of `names` (if any) and the classes `opts` turns on.
    pub fn new(names: Option<Names>, opts: &Options) -> Result<Detector> {
        Ok(Detector {
            names,
            classes: opts.classes.clone(),
            placeholders: opts.placeholders.clone(),
            email: Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")?,
            // A candidate: digits (or a bracketed group of them), each after at most one space,
            // dot or dash; checked by `is_phone`.
            phone: Regex::new(r"\+?(?:\(\d{1,5}\)|\d)(?:[ .\-]?(?:\(\d{1,5}\)|\d)){5,16}")?,
            url: Regex::new(r#"(?i)\b(?:https?://|www\.)[^\s<>"'()\[\]]+[^\s<>"'()\[\].,;:!?]"#)?,
            postcode: Regex::new(r"\b(?:[A-Z]{1,2}\d[A-Z\d]?|[A-Z]{1,2}\d{2}) ?\d[A-Z]{2}\b")?,
            born: Regex::new(
                r"(?i)\bborn\b[^.\n]{0,24}?\b(\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}|\d{4}-\d{2}-\d{2}|\d{1,2}(?:st|nd|rd|th)? (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]* \d{4}|(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]* \d{1,2}(?:st|nd|rd|th)?,? \d{4})",
            )?,
        })
    }

    fn on(&self, c: Class) -> bool {
        self.classes.contains(&c)
    }

    /// What replaces an identifier found.
    pub fn replacement(&self, f: &Found) -> &str {
        if f.class == Class::Name
            && let Some(n) = &self.names
        {
            return &n.pseudonyms[f.name];
        }
        self.placeholders.iter().find(|(c, _)| *c == f.class).map_or(f.class.placeholder(), |(_, p)| p.as_str())
    }

    /// What a finding is, for `--check`: `name `Moira``, `email address `...``.
    pub fn describe(&self, text: &str, f: &Found) -> String {
        match (&self.names, f.class) {
            (Some(n), Class::Name) => format!("name `{}`", n.names[f.name]),
            _ => format!("{} `{}`", f.class.what(), &text[f.start..f.end]),
        }
    }

    /// The identifiers in `text`, in order, none overlapping: addresses, numbers and dates
    /// first (a name inside one goes with it), then the names outside them.
    pub fn find(&self, text: &str) -> Vec<Found> {
        let names = self.names.as_ref().map(|n| find_names(n, text)).unwrap_or_default();
        let has_name = |s: usize, e: usize| names.iter().any(|&(ns, ne, _)| ns < e && ne > s);
        let at = |s: usize, e: usize, class: Class| Found { start: s, end: e, class, name: 0 };
        let mut whole: Vec<Found> = Vec::new();
        for m in self.email.find_iter(text) {
            if self.on(Class::Email) || has_name(m.start(), m.end()) {
                whole.push(at(m.start(), m.end(), Class::Email));
            }
        }
        for m in self.url.find_iter(text) {
            if self.on(Class::Url) || has_name(m.start(), m.end()) {
                whole.push(at(m.start(), m.end(), Class::Url));
            }
        }
        if self.on(Class::Phone) {
            whole.extend(
                self.phone
                    .find_iter(text)
                    .filter(|m| is_phone(text, m.start(), m.end()))
                    .map(|m| at(m.start(), m.end(), Class::Phone)),
            );
        }
        if self.on(Class::Postcode) {
            whole.extend(self.postcode.find_iter(text).map(|m| at(m.start(), m.end(), Class::Postcode)));
        }
        if self.on(Class::Birthdate) {
            whole.extend(
                self.born
                    .captures_iter(text)
                    .filter_map(|c| c.get(1))
                    .map(|m| at(m.start(), m.end(), Class::Birthdate)),
            );
        }
        // Longest first where two begin together; the first of overlapping ones kept.
        whole.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
        let mut out: Vec<Found> = Vec::new();
        for f in whole {
            if out.last().is_none_or(|l| l.end <= f.start) {
                out.push(f);
            }
        }
        let taken = out.clone();
        out.extend(
            names
                .into_iter()
                .filter(|&(s, e, _)| !taken.iter().any(|t| t.start < e && t.end > s))
                .map(|(s, e, i)| Found { start: s, end: e, class: Class::Name, name: i }),
        );
        out.sort_by_key(|f| f.start);
        out
    }
}

/// Whether `start..end` of `text` reads as a phone number: 10 to 15 digits, not part of a
/// longer word or number.
fn is_phone(text: &str, start: usize, end: usize) -> bool {
    let digits = text[start..end].bytes().filter(u8::is_ascii_digit).count();
    let joined = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '/');
    let continued = |rest: &str| {
        let mut cs = rest.chars();
        match cs.next() {
            Some('.' | ',') => cs.next().is_some_and(|c| c.is_ascii_digit()),
            // Hyphens join the parts of identifiers (GUIDs, references): `…-9611-bc6a…`.
            Some('-') => cs.next().is_some_and(char::is_alphanumeric),
            _ => false,
        }
    };
    // The same on the left: `738bff4b-1380-…` is inside an identifier.
    let follows_part = |before: &str| {
        let mut cs = before.chars().rev();
        matches!(cs.next(), Some('-')) && cs.next().is_some_and(char::is_alphanumeric)
    };
    (10..=15).contains(&digits)
        && !joined(text[..start].chars().next_back())
        && !follows_part(&text[..start])
        && !joined(text[end..].chars().next())
        && !continued(&text[end..])
}

/// What was replaced, counted per class (never the values): for the ethics file.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Replaced {
    /// Per file (relative to the copy) and class, how many.
    pub counts: std::collections::BTreeMap<(String, Class), usize>,
}

impl Replaced {
    fn add(&mut self, file: &str, found: &[Found]) {
        for f in found {
            *self.counts.entry((file.to_string(), f.class)).or_default() += 1;
        }
    }

    /// Per class, how many in all.
    pub fn by_class(&self) -> Vec<(Class, usize)> {
        Class::ALL
            .into_iter()
            .map(|c| (c, self.counts.iter().filter(|((_, k), _)| *k == c).map(|(_, n)| n).sum()))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

/// Replaces what `detector` finds; returns the new text, the identifiers found, and, for mapping
/// offsets, the replaced spans in code points: (old start, old end, new length).
pub fn replace(detector: &Detector, text: &str) -> (String, Vec<Found>, Vec<(usize, usize, usize)>) {
    let found = detector.find(text);
    let mut out = String::with_capacity(text.len());
    let mut spans = Vec::new();
    let mut last = 0;
    let mut cp = 0;
    for f in &found {
        out.push_str(&text[last..f.start]);
        cp += text[last..f.start].chars().count();
        let old_len = text[f.start..f.end].chars().count();
        let new = detector.replacement(f);
        spans.push((cp, cp + old_len, new.chars().count()));
        out.push_str(new);
        cp += old_len;
        last = f.end;
    }
    out.push_str(&text[last..]);
    (out, found, spans)
}

/// Maps a code-point offset of the old text to the new text. An offset inside a replaced name
/// goes to the start (for starts) or end (for ends) of its pseudonym.
pub fn map_offset(spans: &[(usize, usize, usize)], offset: usize, is_end: bool) -> usize {
    let mut delta: isize = 0;
    for &(s, e, new_len) in spans {
        if offset <= s {
            break;
        }
        if offset < e {
            let base = (s as isize + delta) as usize;
            return if is_end { base + new_len } else { base };
        }
        delta += new_len as isize - (e - s) as isize;
    }
    (offset as isize + delta) as usize
}

/// Where the copy of `project` goes by default: `<project>-redacted` beside it.
pub fn default_out(project: &Project) -> Result<PathBuf> {
    let abs = project.root().canonicalize()?;
    let name = abs.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "study".into());
    Ok(abs.with_file_name(format!("{name}-redacted")))
}

/// What [`write_copy`] wrote.
#[derive(Clone, Debug, Default)]
pub struct Copied {
    /// Notes written.
    pub notes: usize,
    /// Codings written.
    pub codings: usize,
    /// What was replaced, per file and class.
    pub replaced: Replaced,
    /// Codings left out: their notes are not in the copy (gone from the study, or unreadable).
    pub left_out: usize,
}

/// Writes the pseudonymised copy of `project` to `out` (which must be new or empty, and must
/// not hold the names file at `names_path`): the settings and codebook, each note with every
/// identifier `detector` finds replaced, and every current coding at its words' new place in the
/// copy's ledgers, its words, memo and evidence replaced the same way.
pub fn write_copy(
    project: &Project,
    detector: &Detector,
    names_path: &Path,
    out: &Path,
    dry_run: bool,
    tell: &dyn Tell,
) -> Result<Copied> {
    let root = project.root();
    if !dry_run && out.exists() && fs::read_dir(out)?.next().is_some() {
        bail!("`{}` exists and is not empty; choose another `--out` (nothing was written)", out.display());
    }
    let names_abs = names_path.canonicalize().unwrap_or_else(|_| names_path.to_path_buf());
    let out_abs = out.canonicalize().unwrap_or_else(|_| out.to_path_buf());
    let notes_abs = root.join("notes").canonicalize().unwrap_or_else(|_| root.join("notes"));
    let out_parent =
        out.parent().and_then(|p| p.canonicalize().ok()).map(|p| p.join(out.file_name().unwrap_or_default()));
    if out_abs.starts_with(&notes_abs) || out_parent.is_some_and(|p| p.starts_with(&notes_abs)) {
        bail!(
            "`{}` is inside the study's notes: the copy would be read as notes of this study; write it elsewhere",
            out.display()
        );
    }
    if names_abs.starts_with(&out_abs) {
        bail!("the names file is inside `{}`; keep the mapping outside the copy you share", out.display());
    }
    // A dry run does everything but write: what would be replaced, counted the same.
    let write = |path: &Path, bytes: &[u8]| -> Result<()> {
        if dry_run {
            return Ok(());
        }
        fieldnotes_corpus::atomic::write(path, bytes).with_context(|| format!("cannot write `{}`", path.display()))
    };
    // The settings and the codebook with identifiers replaced as in the notes: the project's
    // name goes into every export, and codebooks quote participants in their examples.
    let mut copied = Copied::default();
    for f in ["fieldnotes.toml", &project.config.codebook] {
        let src = root.join(f);
        if src.is_file() {
            let text = fs::read_to_string(&src).with_context(|| format!("cannot read `{}`", src.display()))?;
            let (text, found, _) = replace(detector, &text);
            copied.replaced.add(f, &found);
            write(&out.join(f), text.as_bytes())?;
        }
    }
    // A batch of notes at a time: each note written with the names replaced (in its file name
    // too: transcripts are often named after whom they record), and its codings, their offsets
    // carried onto the rewritten text, appended to the copy's ledgers (codings of notes that
    // could not be read or are gone last, as they are).
    let mut paths = NotePaths::default();
    crate::study::place_in_batches(project, tell, |corpus, codings, _| {
        let mut spans_of: std::collections::HashMap<String, Rewritten> = std::collections::HashMap::new();
        for d in &corpus.documents {
            let (text, found, spans) = replace(detector, &d.text);
            let (path, in_path) = paths.of(detector, &d.path);
            write(&out.join(&path), text.as_bytes())?;
            copied.replaced.add(&path, &found);
            copied.replaced.add(&path, &in_path);
            spans_of.insert(d.path.clone(), (text, spans));
        }
        copied.notes += corpus.documents.len();
        for (coder, state) in &codings.ledgers {
            let mut found = Vec::new();
            let events: Vec<Event> = state
                .current()
                .filter(|c| {
                    // A coding of a note not in the copy (gone from the study, or unreadable
                    // and so not copied) would carry its words, memo and evidence into the copy
                    // with no note to sit on: left out, and counted.
                    let kept = spans_of.contains_key(&c.doc);
                    if !kept {
                        copied.left_out += 1;
                    }
                    kept
                })
                .map(|c| {
                    let mut c = redacted(detector, &spans_of, c, &mut found);
                    c.doc = paths.of(detector, &c.doc).0;
                    // Its id made from the copy's note path, as any coding's is: one made from
                    // the original path would confirm a guess at the name it held.
                    c.id = fieldnotes_coding::ledger::coding_id(&c.coder, &c.doc, c.start, c.end, &c.code);
                    Event::Add(c)
                })
                .collect();
            if !events.is_empty() {
                copied.codings += events.len();
                if !dry_run {
                    Ledger::new(out, coder)?.append(&events)?;
                }
                copied.replaced.add(&format!("{}/{coder}.jsonl", fieldnotes_coding::ledger::CODINGS_DIR), &found);
            }
        }
        Ok(())
    })?;
    Ok(copied)
}

/// The copy's path of each note: identifiers in its folder and file names replaced, as in its
/// text; two notes that would meet at one path kept apart (`-2` before the extension).
#[derive(Default)]
struct NotePaths {
    given: std::collections::HashMap<String, String>,
    taken: std::collections::HashSet<String>,
}

impl NotePaths {
    /// The copy's path of note `path`, and what was found in it (the first time it is asked).
    fn of(&mut self, detector: &Detector, path: &str) -> (String, Vec<Found>) {
        if let Some(p) = self.given.get(path) {
            return (p.clone(), Vec::new());
        }
        let mut found = Vec::new();
        let parts: Vec<String> = path
            .split('/')
            .map(|part| {
                let (new, f, _) = replace(detector, part);
                found.extend(f);
                new.replace(['/', '\\'], "-")
            })
            .collect();
        let mut new = parts.join("/");
        if self.taken.contains(&new) {
            let (stem, ext) = match new.rfind('.').filter(|&i| i > new.rfind('/').map_or(0, |s| s + 1)) {
                Some(i) => (new[..i].to_string(), new[i..].to_string()),
                None => (new.clone(), String::new()),
            };
            new = (2..).map(|n| format!("{stem}-{n}{ext}")).find(|p| !self.taken.contains(p)).expect("a free path");
        }
        self.taken.insert(new.clone());
        self.given.insert(path.to_string(), new.clone());
        (new, found)
    }
}

/// A note rewritten: its new text, and the spans replaced (as [`replace`] gives them).
type Rewritten = (String, Vec<(usize, usize, usize)>);

/// Coding `c` in the pseudonymised copy: where its note was rewritten (`spans_of`, the note's
/// new text and the spans replaced), at its words' new place, with the new words and their
/// hash; its evidence and memo with the identifiers replaced (those of the memo added to
/// `found`: the words and evidence are the note's, counted there).
fn redacted(
    detector: &Detector,
    spans_of: &std::collections::HashMap<String, Rewritten>,
    c: &fieldnotes_coding::Coding,
    found: &mut Vec<Found>,
) -> fieldnotes_coding::Coding {
    let mut c = c.clone();
    if let Some((text, spans)) = spans_of.get(&c.doc) {
        // Its offsets count in the copy's text now.
        c.base = Some(fieldnotes_corpus::text_hash(text));
        c.start = map_offset(spans, c.start, false);
        c.end = map_offset(spans, c.end, true);
        let (bs, be) = (fieldnotes_corpus::char_to_byte(text, c.start), fieldnotes_corpus::char_to_byte(text, c.end));
        if let (Some(bs), Some(be)) = (bs, be) {
            let span = &text[bs..be];
            c.hash = fieldnotes_corpus::text_hash(span);
            if !c.text.is_empty() {
                c.text = span.to_string();
            }
        }
        for h in &mut c.evidence {
            h.start = map_offset(spans, h.start, false);
            h.end = map_offset(spans, h.end, true);
        }
    } else {
        // A coding of a note that is gone: its own words are all there is of it.
        c.text = replace(detector, &c.text).0;
    }
    for h in &mut c.evidence {
        h.text = replace(detector, &h.text).0;
        // A learned coder's rule is named after what it learned from (`model: morag`).
        h.rule = replace(detector, &h.rule).0;
    }
    c.memo = c.memo.map(|m| {
        let (memo, f, _) = replace(detector, &m);
        found.extend(f);
        memo
    });
    c
}

/// Scans `path` line by line; a zip archive (a `.qdpx` export, a `.docx`) entry by entry. A
/// binary file that is no archive is listed in `unread`, not passed over in silence.
fn scan_file(path: &Path, detector: &Detector, found: &mut Vec<String>, unread: &mut Vec<String>) {
    let Ok(bytes) = fs::read(path) else {
        unread.push(format!("{}: cannot be read", path.display()));
        return;
    };
    let mut scan = |name: &str, bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes);
        for (i, line) in text.lines().enumerate() {
            // Composed as notes are read, so `Siobha\u{301}n` is found as `Siobhán` is.
            let line = fieldnotes_corpus::nfc(line);
            for f in detector.find(&line) {
                found.push(format!("{name}:{}: {}", i + 1, detector.describe(&line, &f)));
            }
        }
    };
    if bytes.starts_with(b"PK\x03\x04") {
        match zip::ZipArchive::new(std::io::Cursor::new(&bytes)) {
            Ok(mut archive) => {
                for i in 0..archive.len() {
                    let mut entry_bytes = Vec::new();
                    let name = match archive.by_index(i) {
                        Ok(mut e) => {
                            let name = e.name().map_or_else(|_| format!("entry {i}"), |n| n.to_string());
                            if std::io::Read::read_to_end(&mut e, &mut entry_bytes).is_err() {
                                unread.push(format!("{}!{name}: cannot be unpacked", path.display()));
                                continue;
                            }
                            name
                        }
                        Err(e) => {
                            unread.push(format!("{}: entry {i} cannot be unpacked ({e})", path.display()));
                            continue;
                        }
                    };
                    if entry_bytes.contains(&0) {
                        unread.push(format!("{}!{name}: binary", path.display()));
                        continue;
                    }
                    scan(&format!("{}!{name}", path.display()), &entry_bytes);
                }
            }
            Err(e) => unread.push(format!("{}: a zip archive that cannot be opened ({e})", path.display())),
        }
        return;
    }
    if bytes.contains(&0) {
        unread.push(format!("{}: binary", path.display()));
        return;
    }
    scan(&path.display().to_string(), &bytes);
}

fn walk(path: &Path, out: &mut Vec<PathBuf>) {
    if path.is_dir() {
        if let Ok(rd) = fs::read_dir(path) {
            for e in rd.flatten() {
                if e.file_name() != ".fieldnotes" {
                    walk(&e.path(), out);
                }
            }
        }
    } else if path.is_file() {
        out.push(path.to_path_buf());
    }
}

/// What [`check`] found: the files scanned, and one line (`path:line: what`) per finding.
pub struct Findings {
    /// Files scanned.
    pub files: usize,
    /// Files (or archive entries) that could not be scanned as text (Parquet, images), each with
    /// why.
    pub unread: Vec<String>,
    /// `path:line: name `X`` (or email address, phone number), in the order of the files.
    pub found: Vec<String>,
}

/// Scans the notes, the ledgers and `paths` (files or folders: exports; zip archives such as
/// `.qdpx` entry by entry) for what `detector` finds: the listed names and the classes on, as
/// `redact` replaces them.
pub fn check(project: &Project, detector: &Detector, names_path: Option<&Path>, paths: &[PathBuf]) -> Result<Findings> {
    let mut files = Vec::new();
    walk(&project.root().join("notes"), &mut files);
    walk(&project.root().join(fieldnotes_coding::ledger::CODINGS_DIR), &mut files);
    // The settings (the project's name goes into every export) and the codebook (examples are
    // often participants' words).
    for f in [fieldnotes_corpus::CONFIG_FILE, project.config.codebook.as_str()] {
        walk(&project.root().join(f), &mut files);
    }
    files.dedup();
    for p in paths {
        walk(p, &mut files);
    }
    files.sort();
    let (mut found, mut unread) = (Vec::new(), Vec::new());
    for f in &files {
        if names_path.is_some_and(|n| n.canonicalize().ok() == f.canonicalize().ok()) {
            continue;
        }
        // The file's name (and its folders' within the project) first: a note named after
        // whom it records gives them away as much as its text.
        let shown = f.strip_prefix(project.root()).unwrap_or(f).to_string_lossy().to_string();
        for hit in detector.find(&shown) {
            found.push(format!("{}: {} in the file's name", f.display(), detector.describe(&shown, &hit)));
        }
        scan_file(f, detector, &mut found, &mut unread);
    }
    Ok(Findings { files: files.len(), found, unread })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detector(names: &str, opts: &Options) -> Detector {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("names.csv");
        fs::write(&path, format!("name,pseudonym\n{names}")).unwrap();
        Detector::new(Some(Names::read(&path).unwrap()), opts).unwrap()
    }

    /// What `d` finds in `text`, as (class, words).
    fn found(d: &Detector, text: &str) -> Vec<(Class, String)> {
        d.find(text).iter().map(|f| (f.class, text[f.start..f.end].to_string())).collect()
    }

    #[test]
    fn phone_numbers_in_uk_and_international_forms_and_not_dates_or_ids() {
        let d = detector("Moira,P1\n", &Options::default());
        for phone in [
            "01592 583 222",
            "01592583222",
            "+44 7700 900123",
            "+44 (0)7700 900123",
            "(01592) 583223",
            "0131-496-0000",
            "0131.496.0000",
            "+1 415 555 2671",
            "+353 1 234 5678",
        ] {
            let text = format!("ring {phone}, or not.");
            assert_eq!(found(&d, &text), vec![(Class::Phone, phone.to_string())], "{text}");
        }
        for not in [
            "on 2016-03-02 at 10.30",
            "ids c78cf320228651618 and 12345678",
            "in 1998, 2003 and 2005",
            "v1.2.3.4.5",
            "guid=\"738bff4b-1380-5335-9611-bc6aa972c0f7\"",
            "guid=\"1b3d2e4f-5a6b-4c7d-8e9f-101112131415\"",
        ] {
            assert_eq!(found(&d, not), vec![], "{not}");
        }
        // Two numbers after one another are two, not one too long to be either.
        assert_eq!(found(&d, "07700 900123. 01592 583222").len(), 2);
    }

    #[test]
    fn names_joined_to_other_words_as_file_names_join_them_are_found() {
        let d = detector("Morag Findlay,P7\nMorag,P7\nAnn,P8\n", &Options::default());
        let names = |t: &str| found(&d, t).into_iter().map(|(_, w)| w).collect::<Vec<_>>();
        assert_eq!(names("InterviewMorag.md"), ["Morag"]);
        assert_eq!(names("MoragFindlay-notes"), ["MoragFindlay"]);
        assert_eq!(names("morag2.md and 2Morag"), ["morag", "Morag"]);
        assert_eq!(names("#ThanksAnn, Ann's"), ["Ann", "Ann"]);
        // Inside a word, in one case, a name is not one: "Ann" in "planning", "ANNUAL", "Annex".
        assert_eq!(names("Planning the ANNUAL Annex; moragh"), Vec::<String>::new());
        let (text, _, _) = replace(&d, "notes/InterviewMorag.md");
        assert_eq!(text, "notes/InterviewP7.md");
    }

    #[test]
    fn an_address_with_a_name_in_it_goes_whole() {
        let d = detector("Morag Findlay,P7\nMorag,P7\nFindlay,P7\n", &Options::default());
        let t = "Write to morag.findlay@fife.gov.uk or see www.example.org/morag-findlay today.";
        assert_eq!(
            found(&d, t),
            vec![
                (Class::Email, "morag.findlay@fife.gov.uk".into()),
                (Class::Url, "www.example.org/morag-findlay".into())
            ]
        );
        let (text, _, spans) = replace(&d, t);
        assert_eq!(text, "Write to [email] or see [url] today.");
        assert_eq!(map_offset(&spans, t.find(" today").unwrap(), false), text.find(" today").unwrap());
        // A web address without a name stays unless asked for; asked for, it goes.
        assert_eq!(found(&d, "see https://example.org/about."), vec![]);
        let urls = Options { classes: vec![Class::Email, Class::Phone, Class::Url], ..Options::default() };
        let d = detector("Morag,P7\n", &urls);
        assert_eq!(found(&d, "see https://example.org/about."), vec![(Class::Url, "https://example.org/about".into())]);
    }

    #[test]
    fn optional_classes_are_off_until_asked_and_kept_ones_stay() {
        let text = "Born on 12/03/1961 in KY8 3RS; email a@b.org, ring 01592 583 222.";
        let d = detector("Moira,P1\n", &Options::default());
        assert_eq!(found(&d, text).iter().map(|f| f.0).collect::<Vec<_>>(), [Class::Email, Class::Phone]);
        let all = Options {
            classes: vec![Class::Email, Class::Postcode, Class::Birthdate],
            placeholders: vec![(Class::Email, "[address]".into())],
        };
        let d = detector("Moira,P1\n", &all);
        assert_eq!(
            found(&d, text),
            vec![
                (Class::Birthdate, "12/03/1961".into()),
                (Class::Postcode, "KY8 3RS".into()),
                (Class::Email, "a@b.org".into())
            ]
        );
        assert_eq!(replace(&d, text).0, "Born on [date of birth] in [postcode]; email [address], ring 01592 583 222.");
        let d = detector("Moira,P1\n", &Options { classes: vec![Class::Birthdate], ..Options::default() });
        assert_eq!(found(&d, "she was born 3rd March 1961"), vec![(Class::Birthdate, "3rd March 1961".into())]);
    }

    #[test]
    fn what_redact_writes_its_check_does_not_find() {
        let d = detector("Moira Jones,Participant 1\nMoira,P1\nJim,Colleague A\n", &Options::default());
        let text = "Moira Jones: MOIRA's view; Jim (jim.b@example.org, 07700 900123) agreed.\nMoira: +44 7700 900124";
        let (out, got, _) = replace(&d, text);
        assert_eq!(got.len(), 7, "{got:?}");
        assert_eq!(out, "Participant 1: P1's view; Colleague A ([email], [phone]) agreed.\nP1: [phone]");
        for line in out.lines() {
            assert_eq!(d.find(line), vec![], "{line}");
        }
    }

    #[test]
    fn offsets_follow_replacements() {
        // "Ann met Bo." -> "Person A met P2."
        let spans = vec![(0, 3, 8), (8, 10, 2)];
        assert_eq!(map_offset(&spans, 0, false), 0);
        assert_eq!(map_offset(&spans, 3, true), 8);
        assert_eq!(map_offset(&spans, 4, false), 9);
        assert_eq!(map_offset(&spans, 8, false), 13);
        assert_eq!(map_offset(&spans, 10, true), 15);
        assert_eq!(map_offset(&spans, 11, true), 16);
        assert_eq!(map_offset(&spans, 1, false), 0);
        assert_eq!(map_offset(&spans, 2, true), 8);
    }
}
