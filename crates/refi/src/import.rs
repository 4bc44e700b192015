//! Reading a REFI-QDA project archive (`.qdpx`) into notes, a codebook and codings.

use std::collections::{BTreeMap, HashMap, HashSet};

use fieldnotes_coding::ledger::{coding_id, now};
use fieldnotes_coding::{Codebook, Coding, Origin, Status};
use fieldnotes_corpus::{Date, Value, text_hash};

use crate::archive::Archive;
use crate::export::{PROJECT_NS, is_datetime, push_listed};
use crate::positions::{self, Scheme, Spot};
use crate::qdc::{check_namespace, read_codes};
use crate::slug::{Unique, attr_key, coder_name, note_stem};
use crate::xml::{self, Element, clean};
use crate::{Error, MAX_ENTRY_BYTES, MAX_PROJECT_XML_BYTES, Result, Warning, guid, note};

/// A project read from a `.qdpx` archive.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The project's name.
    pub name: String,
    /// Notes to write: (path relative to the project, like `notes/<slug>.md`; full text with
    /// front matter). Each source's note in the project's order (followed by a memo note under
    /// `notes/memos/` for its uncoded selections, where it has any), then the other memo notes.
    pub notes: Vec<(String, String)>,
    /// The codebook (ids are slugs of the code names).
    pub book: Codebook,
    /// The codings by coder: offsets are code points into the note texts above (front matter
    /// included), end exclusive; origin `import`, status `accepted`.
    pub codings: BTreeMap<String, Vec<Coding>>,
    /// What was read differently from what the file said, or left out.
    pub warnings: Vec<Warning>,
    /// What was found and what became of it.
    pub counts: Counts,
}

/// Counts of what an import found and did. Every `Coding` element of the project is in
/// exactly one of `imported`, `outside`, `no_text`, `unknown_code`, `duplicates`, `not_text`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Codes in the codebook.
    pub codes: usize,
    /// Sources of every kind (text, PDF, picture, audio, video).
    pub sources: usize,
    /// Notes written from sources (texts, PDF text representations, transcripts).
    pub notes: usize,
    /// Memo notes written (project notes, memos of uncoded selections, descriptions).
    pub memos: usize,
    /// Text selections (`PlainTextSelection`, `TranscriptSelection`) in the project.
    pub selections: usize,
    /// Text selections without any coding (memos or annotations only): no coding is made.
    pub uncoded_selections: usize,
    /// `Coding` elements in the project.
    pub codings: usize,
    /// Codings imported.
    pub imported: usize,
    /// Of those, suggestions not yet reviewed (a fieldnotes export's `<coder> (suggested, not
    /// reviewed)` users): imported as suggestions, which no count takes as accepted.
    pub suggested: usize,
    /// Codings whose selection lies outside its text (or ends before it starts): not imported.
    pub outside: usize,
    /// Codings of sources whose text is not in the archive: not imported.
    pub no_text: usize,
    /// Codings whose `CodeRef` names no code of the codebook: not imported.
    pub unknown_code: usize,
    /// Codings repeating another one (same coder, code and span): imported once.
    pub duplicates: usize,
    /// Codings of pictures, PDF regions, audio or video spans, or inside notes: not imported.
    pub not_text: usize,
    /// Selections whose `name` holds text that differs from the text at their positions
    /// (counted only when the project's selection names hold the selected text).
    pub name_mismatches: usize,
    /// Codings that name no user, given to the one user or to coder `imported`.
    pub no_user: usize,
    /// Of the codings imported, those of selections of no length (a point in the text): each
    /// counts the passage it stands in.
    pub points: usize,
}

/// Reads a REFI-QDA project archive (`.qdpx`), best effort.
///
/// Accepted as real exporters write them: `project.qde` or one `<name>.qde` at the root (or
/// alone in one folder); `sources/` in any case; `internal://`, `relative://`, bare and
/// `Sources/`-prefixed paths; GUIDs in either case or in braces; a BOM or UTF-16 in XML and
/// texts; CRLF texts. Positions are read in the unit of the exporter: UTF-16 code units for
/// NVivo (`origin` holding "NVivo"), CRLF as one character for ATLAS.ti and MAXQDA, code
/// points with CRLF as two otherwise. Where selection `name`s hold the selected text, another
/// unit is chosen if it makes them match better, and selections whose text differs from their
/// name are reported. Selections outside their text are reported and counted, never clipped.
///
/// Each text source becomes a note `notes/<slug of its name>.md` whose front matter has
/// `title` (the source name) and the source's variables (and those of its cases) as
/// attributes, and whose body is the text with LF line endings. Codings' offsets count from the
/// start of the note, front matter included: the body starts at the front matter's length.
/// Memos on selections, codings and links become the codings' memos; selections without codings
/// keep their memos in a memo note; other notes become memo notes under `notes/memos/`.
///
/// Refused with an [`Error`], returning nothing: archive entries escaping the archive (`../`,
/// absolute paths), more than [`MAX_TOTAL_BYTES`](crate::MAX_TOTAL_BYTES) unpacked in all, an
/// entry over [`MAX_ENTRY_BYTES`], an entry over 1 MiB compressed more than 100:1, a
/// `project.qde` over [`MAX_PROJECT_XML_BYTES`], XML with a DOCTYPE, XML that is not
/// well-formed, a root element other than `<Project>`.
pub fn import_qdpx(bytes: &[u8]) -> Result<Imported> {
    let mut archive = Archive::open(bytes)?;
    let mut warnings = Vec::new();
    let (qde, base) = find_project(&archive, &mut warnings)?;
    let raw = archive.read(&qde, MAX_PROJECT_XML_BYTES)?;
    let root = {
        let text = xml::decode(&qde, &raw)?;
        drop(raw);
        xml::parse(&qde, &text)?
    };
    if root.name != "Project" {
        return Err(Error::Format {
            file: qde,
            message: format!("the root element is `<{}>`, not `<Project>`: not a REFI-QDA project", root.name),
        });
    }
    let importer = Importer::new(archive, base, qde, &root, warnings);
    Ok(importer.run())
}

/// The project file: (stored name, folder prefix of the sources, `""` or ending in `/`).
fn find_project(archive: &Archive<'_>, warnings: &mut Vec<Warning>) -> Result<(String, String)> {
    let qdes: Vec<&str> = archive
        .names()
        .into_iter()
        .filter(|n| {
            let base = n.rsplit('/').next().unwrap_or(n);
            n.to_lowercase().ends_with(".qde") && !n.starts_with("__MACOSX/") && !base.starts_with("._")
        })
        .collect();
    let top: Vec<&str> = qdes.iter().copied().filter(|n| !n.contains('/')).collect();
    if let Some(p) = top.iter().find(|n| n.eq_ignore_ascii_case("project.qde")) {
        return Ok((p.to_string(), String::new()));
    }
    if let Some(first) = top.first() {
        if top.len() > 1 {
            warnings.push(Warning::new(format!(
                "the archive holds {} project files ({}); `{first}` was read",
                top.len(),
                top.join(", ")
            )));
        }
        return Ok((first.to_string(), String::new()));
    }
    match qdes.as_slice() {
        [one] => {
            let folder = one.rsplit_once('/').map_or(String::new(), |(f, _)| format!("{f}/"));
            Ok((one.to_string(), folder))
        }
        _ => Err(Error::NoProject),
    }
}

/// Collapses whitespace and replaces characters XML cannot carry, for comparing names and texts.
fn comparable(s: &str) -> String {
    clean(s).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Where `spans` (start and end positions in `scheme`'s unit) stand in `raw`: each as its two
/// spots, `None` where either lies outside the text or the end comes before the start.
fn spans_at(raw: &str, scheme: Scheme, spans: &[(i64, i64)]) -> Vec<Option<(Spot, Spot)>> {
    let q: Vec<(i64, bool)> = spans.iter().flat_map(|&(a, b)| [(a, false), (b, true)]).collect();
    let spots = positions::map(raw, scheme, &q);
    spots
        .chunks(2)
        .map(|p| match (p[0], p[1]) {
            (Some(a), Some(b)) if a.byte <= b.byte => Some((a, b)),
            _ => None,
        })
        .collect()
}

/// The position unit under which `score` counts the most of `total` selections right: `None`
/// when the origin's (`default`) gets all of them or no other does strictly better (ties keep
/// the earlier unit); with the origin's score.
fn best_scheme(default: Scheme, total: usize, score: impl Fn(Scheme) -> usize) -> (usize, Option<(usize, Scheme)>) {
    let base = score(default);
    if base == total {
        return (base, None);
    }
    let mut best: Option<(usize, Scheme)> = None;
    for s in Scheme::ALL.into_iter().filter(|&s| s != default) {
        let n = score(s);
        if n > best.map_or(base, |(b, _)| b) {
            best = Some((n, s));
        }
    }
    (base, best)
}

/// True when a selection's name is its text (or the text's beginning followed by an ellipsis).
fn name_matches(name: &str, text: &str) -> bool {
    let (n, t) = (comparable(name), comparable(text));
    if n == t {
        return true;
    }
    ["…", "..."].iter().any(|e| n.strip_suffix(e).map(str::trim_end).is_some_and(|p| !p.is_empty() && t.starts_with(p)))
}

fn excerpt(s: &str, n: usize) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = one.chars().take(n).collect();
    if one.chars().nth(n).is_some() {
        out.push('…');
    }
    out
}

/// Decodes a text file: UTF-8 (BOM dropped), UTF-16 with a BOM; invalid UTF-8 is replaced.
fn decode_text(bytes: &[u8]) -> (String, bool) {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        let be = bytes[0] == 0xFE;
        let units: Vec<u16> = bytes[2..]
            .chunks(2)
            .map(|c| {
                let pair = [c[0], *c.get(1).unwrap_or(&0)];
                if be { u16::from_be_bytes(pair) } else { u16::from_le_bytes(pair) }
            })
            .collect();
        let s = String::from_utf16_lossy(&units);
        let lossy = s.contains('\u{FFFD}') && String::from_utf16(&units).is_err();
        return (s, lossy);
    }
    let body = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    match std::str::from_utf8(body) {
        Ok(s) => (s.to_string(), false),
        Err(_) => (String::from_utf8_lossy(body).into_owned(), true),
    }
}

/// A case: its name and variable values.
type Case = (Option<String>, Vec<(String, Value)>);

/// A selection to import: its element, raw positions, or the whole text.
struct Sel<'x> {
    el: &'x Element,
    start: Option<i64>,
    end: Option<i64>,
    /// Codings made on the whole source (children of the source element).
    whole: bool,
}

/// The outcome of checking selection names against the text, for one source.
struct NameCheck {
    title: String,
    matched: usize,
    mismatches: Vec<String>,
}

struct Importer<'a, 'x> {
    archive: Archive<'a>,
    base: String,
    file: String,
    root: &'x Element,
    origin: String,
    warnings: Vec<Warning>,
    counts: Counts,
    time: String,
    /// Normalised GUID to coder name.
    users: HashMap<String, String>,
    /// Codings by users the project does not list, per coder they were given.
    unlisted_users: BTreeMap<String, usize>,
    /// Users whose codings are suggestions not yet reviewed (as fieldnotes exports them, under
    /// `<coder> (suggested, not reviewed)`): their normalised GUIDs.
    suggesting: HashSet<String>,
    default_coder: String,
    code_ids: HashMap<String, String>,
    /// Normalised code GUID to code name.
    code_names: HashMap<String, String>,
    /// Normalised variable GUID to front-matter key.
    var_keys: HashMap<String, String>,
    notes: HashMap<String, &'x Element>,
    used_notes: HashSet<String>,
    /// What a note is about (a code, a source), for memo notes.
    about: HashMap<String, String>,
    /// Notes tied by links to a selection (or anything else), by its normalised GUID.
    link_notes: HashMap<String, Vec<String>>,
    /// Cases a source belongs to, by the source's normalised GUID: (name, values).
    cases: HashMap<String, Vec<Case>>,
    paths: Unique,
    out_notes: Vec<(String, String)>,
    codings: BTreeMap<String, Vec<Coding>>,
    seen: HashSet<(String, String)>,
    unknown_codes: BTreeMap<String, usize>,
    name_checks: Vec<NameCheck>,
}

impl<'a, 'x> Importer<'a, 'x> {
    fn new(archive: Archive<'a>, base: String, file: String, root: &'x Element, warnings: Vec<Warning>) -> Self {
        Importer {
            archive,
            base,
            file,
            root,
            origin: root.attr("origin").unwrap_or("").to_string(),
            warnings,
            counts: Counts::default(),
            time: now(),
            users: HashMap::new(),
            unlisted_users: BTreeMap::new(),
            suggesting: HashSet::new(),
            default_coder: "imported".into(),
            code_ids: HashMap::new(),
            code_names: HashMap::new(),
            var_keys: HashMap::new(),
            notes: HashMap::new(),
            used_notes: HashSet::new(),
            about: HashMap::new(),
            link_notes: HashMap::new(),
            cases: HashMap::new(),
            paths: Unique::default(),
            out_notes: Vec::new(),
            codings: BTreeMap::new(),
            seen: HashSet::new(),
            unknown_codes: BTreeMap::new(),
            name_checks: Vec::new(),
        }
    }

    fn warn(&mut self, message: String) {
        self.warnings.push(Warning::new(message));
    }

    fn run(mut self) -> Imported {
        let root = self.root;
        let file = self.file.clone();
        check_namespace(root, PROJECT_NS, &file, &mut self.warnings);
        let name = root.attr("name").map(str::trim).filter(|n| !n.is_empty()).unwrap_or("imported project").to_string();
        self.counts.selections = root.count("PlainTextSelection") + root.count("TranscriptSelection");
        self.counts.codings = root.count("Coding");

        self.read_users();
        let read = read_codes(root.child("CodeBook").and_then(|c| c.child("Codes")), &file, &mut self.warnings);
        let mut book = read.book;
        book.codebook.name = name.clone();
        self.counts.codes = book.codes.len();
        let names: HashMap<&str, &str> = book.codes.iter().map(|c| (c.id.as_str(), c.name.as_str())).collect();
        self.code_names =
            read.by_guid.iter().map(|(g, id)| (g.clone(), names.get(id.as_str()).unwrap_or(&"").to_string())).collect();
        self.code_ids = read.by_guid;
        for (note, code) in read.code_notes {
            self.about.entry(note).or_insert(format!("code `{code}`"));
        }
        self.read_variables();
        if let Some(notes) = root.child("Notes") {
            for n in notes.children("Note") {
                if let Some(g) = n.attr("guid") {
                    self.notes.insert(guid::normalize(g), n);
                }
            }
        }
        self.read_cases();
        self.read_links();
        self.read_sources();
        self.finish_name_checks();
        self.write_other_notes();

        if !self.unknown_codes.is_empty() {
            let list: Vec<String> = self.unknown_codes.iter().map(|(g, n)| format!("`{g}` ({n}×)")).collect();
            let n = self.counts.unknown_code;
            self.warn(format!(
                "{n} coding(s) refer to codes not in the codebook and were not imported: {}",
                list.join(", ")
            ));
        }
        if self.counts.not_text > 0 {
            let n = self.counts.not_text;
            self.warn(format!(
                "{n} coding(s) of pictures, PDF regions, audio or video spans, or inside notes were not imported: fieldnotes codes text"
            ));
        }
        if self.counts.points > 0 {
            let n = self.counts.points;
            self.warn(format!(
                "{n} coding(s) are of selections of no length (a point in the text, no words): each counts the passage it stands in as coded (`fieldnotes code list` shows them with no words)"
            ));
        }
        if self.counts.no_user > 0 && self.default_coder == "imported" {
            let n = self.counts.no_user;
            self.warn(format!(
                "{n} coding(s) name no user (no `creatingUser`): imported as coder `imported`, not as anyone's"
            ));
        }
        if !self.unlisted_users.is_empty() {
            let list: Vec<String> = self.unlisted_users.iter().map(|(c, n)| format!("`{c}` ({n})")).collect();
            self.warn(format!(
                "codings by users the project does not list in its `<Users>`: each imported as a coder named by the user's GUID: {}",
                list.join(", ")
            ));
        }
        if self.counts.duplicates > 0 {
            let n = self.counts.duplicates;
            self.warn(format!("{n} coding(s) repeat another one (same coder, code and span); imported once"));
        }
        let sets = root.child("Sets").map_or(0, |s| s.children("Set").count());
        let graphs = root.child("Graphs").map_or(0, |g| g.children("Graph").count());
        if sets + graphs > 0 {
            self.warn(format!("the project's {sets} set(s) and {graphs} graph(s) are not imported"));
        }
        for (_, list) in self.codings.iter_mut() {
            self.counts.imported += list.len();
            list.sort_by(|a, b| (&a.doc, a.start, a.end, &a.code).cmp(&(&b.doc, b.start, b.end, &b.code)));
        }
        Imported {
            name,
            notes: self.out_notes,
            book,
            codings: self.codings,
            warnings: self.warnings,
            counts: self.counts,
        }
    }

    fn read_users(&mut self) {
        let root = self.root;
        let mut names = Vec::new();
        // Coder names taken, by their lower case (ledgers are files, which some systems do
        // not tell apart by case), and by which user.
        let mut taken: HashMap<String, String> = HashMap::new();
        for u in root.child("Users").into_iter().flat_map(|u| u.children("User")) {
            let Some(g) = u.attr("guid") else { continue };
            let g = guid::normalize(g);
            let given = |a: &str| u.attr(a).map(str::trim).filter(|n| !n.is_empty());
            let mut label = given("name").or_else(|| given("id"));
            // A user fieldnotes made for suggestions not yet reviewed: its codings come back as
            // that coder's suggestions, never as accepted codings.
            let suggesting = label.is_some_and(|n| n.ends_with(crate::export::SUGGESTED_USER));
            if let Some(base) = label.and_then(|n| n.strip_suffix(crate::export::SUGGESTED_USER)) {
                self.suggesting.insert(g.clone());
                label = Some(base.trim()).filter(|b| !b.is_empty());
            }
            let mut coder = match label {
                Some(n) => coder_name(n),
                None => format!("user-{}", g.chars().take(8).collect::<String>()),
            };
            // Two users are two coders, whatever their names: the second of a name is `-2`.
            // (The suggestions of a user are that user's.)
            if !suggesting {
                let base = coder.clone();
                let mut n = 1;
                while taken.contains_key(&coder.to_lowercase()) {
                    n += 1;
                    coder = format!("{base}-{n}");
                }
                if n > 1 {
                    self.warn(format!(
                        "{}: users `{}` and `{}` would both be coder `{base}`: the second (GUID {g}) is coder `{coder}`",
                        self.file,
                        taken[&base.to_lowercase()],
                        label.unwrap_or(&g)
                    ));
                }
                taken.insert(coder.to_lowercase(), label.unwrap_or(&g).to_string());
            }
            names.push(coder.clone());
            self.users.insert(g, coder);
        }
        // A coding that names no user: the one user's, where there is one; else a coder of its
        // own (counted and said), not the project's creator, whose disagreement it is not.
        self.default_coder = match names.as_slice() {
            [only] => only.clone(),
            _ => "imported".into(),
        };
    }

    /// The coder for a `creatingUser` GUID: the user's name, or `user-<GUID>` for a user not
    /// listed (counted, and said once the codings are read).
    fn coder_for(&mut self, g: Option<&str>) -> Option<String> {
        let g = guid::normalize(g?);
        if g.is_empty() {
            return None;
        }
        if let Some(c) = self.users.get(&g) {
            return Some(c.clone());
        }
        let coder = coder_name(&format!("user-{g}"));
        *self.unlisted_users.entry(coder.clone()).or_default() += 1;
        Some(coder)
    }

    fn read_variables(&mut self) {
        let mut keys = Unique::default();
        for v in self.root.child("Variables").into_iter().flat_map(|v| v.children("Variable")) {
            let (Some(g), Some(name)) = (v.attr("guid"), v.attr("name")) else { continue };
            let key = keys.make(&attr_key(name));
            self.var_keys.insert(guid::normalize(g), key);
        }
    }

    fn variable_value(&mut self, vv: &Element) -> Option<(String, Value)> {
        let target = vv.child("VariableRef")?.attr("targetGUID")?;
        let Some(key) = self.var_keys.get(&guid::normalize(target)).cloned() else {
            self.warn(format!("{}: a value refers to variable `{target}`, which is not declared; left out", self.file));
            return None;
        };
        let el = vv.children.iter().find(|c| c.name.ends_with("Value"))?;
        let t = el.text.trim();
        let text = || Value::String(t.to_string());
        let value = match el.name.as_str() {
            "BooleanValue" => match t {
                "true" | "1" => Value::Bool(true),
                "false" | "0" => Value::Bool(false),
                _ => text(),
            },
            "IntegerValue" => t.parse().map_or_else(|_| text(), Value::Integer),
            "FloatValue" => t.parse::<f64>().ok().filter(|x| x.is_finite()).map_or_else(text, Value::Float),
            "DateValue" => t.get(..10).and_then(Date::parse).map_or_else(text, Value::Date),
            _ => text(),
        };
        Some((key, value))
    }

    fn read_cases(&mut self) {
        let root = self.root;
        let (mut case_codes, mut case_selections, mut described) = (0, 0, Vec::new());
        for case in root.child("Cases").into_iter().flat_map(|c| c.children("Case")) {
            let name = case.attr("name").map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
            let values: Vec<(String, Value)> =
                case.children("VariableValue").filter_map(|v| self.variable_value(v)).collect();
            case_codes += case.children("CodeRef").count();
            case_selections += case.children("SelectionRef").count();
            if case.child_text("Description").is_some_and(|d| !d.trim().is_empty()) {
                described.push(name.clone().unwrap_or_else(|| case.attr("guid").unwrap_or("?").to_string()));
            }
            for s in case.children("SourceRef") {
                if let Some(t) = s.attr("targetGUID") {
                    self.cases.entry(guid::normalize(t)).or_default().push((name.clone(), values.clone()));
                }
            }
        }
        if case_codes > 0 {
            self.warn(format!("{case_codes} code(s) assigned to whole cases are not imported"));
        }
        if case_selections > 0 {
            self.warn(format!(
                "{case_selections} part(s) of sources assigned to a case (`SelectionRef`) are not imported: a case's variables go to the notes of its whole sources"
            ));
        }
        if !described.is_empty() {
            self.warn(format!(
                "the description(s) of {} case(s) are not imported ({})",
                described.len(),
                described.join(", ")
            ));
        }
    }

    fn read_links(&mut self) {
        let root = self.root;
        let mut sources: HashMap<String, String> = HashMap::new();
        for s in root.child("Sources").into_iter().flat_map(|s| s.children.iter()) {
            if let Some(g) = s.attr("guid") {
                sources.insert(guid::normalize(g), s.attr("name").unwrap_or("").to_string());
            }
        }
        let mut other = 0;
        for link in root.child("Links").into_iter().flat_map(|l| l.children("Link")) {
            let o = guid::normalize(link.attr("originGUID").unwrap_or(""));
            let t = guid::normalize(link.attr("targetGUID").unwrap_or(""));
            let (note, other_end) = if self.notes.contains_key(&o) {
                (o, t)
            } else if self.notes.contains_key(&t) {
                (t, o)
            } else {
                other += 1;
                continue;
            };
            if let Some(s) = sources.get(&other_end) {
                self.about.entry(note.clone()).or_insert(format!("source `{s}`"));
            } else if let Some(c) = self.code_names.get(&other_end) {
                self.about.entry(note.clone()).or_insert(format!("code `{c}`"));
            }
            self.link_notes.entry(other_end).or_default().push(note);
        }
        if other > 0 {
            self.warn(format!("{other} link(s) between codes, sources or selections are not imported"));
        }
    }

    fn read_sources(&mut self) {
        let root = self.root;
        let Some(sources) = root.child("Sources") else { return };
        for s in &sources.children {
            let name = s.attr("name").map(str::trim).filter(|n| !n.is_empty()).map(str::to_string);
            // Without a name, the text file's name (qc writes only `plainTextPath`), or the GUID.
            let label = name.clone().unwrap_or_else(|| {
                match s.attr("plainTextPath").map(|p| p.trim().trim_end_matches('/')).filter(|p| !p.is_empty()) {
                    Some(p) => p.rsplit(['/', '\\']).next().unwrap_or(p).to_string(),
                    None => format!("source {}", s.attr("guid").unwrap_or("?")),
                }
            });
            for t in s.children("NoteRef").filter_map(|r| r.attr("targetGUID")) {
                self.about.entry(guid::normalize(t)).or_insert(format!("source `{label}`"));
            }
            match s.name.as_str() {
                "TextSource" => {
                    self.counts.sources += 1;
                    let sels = plain_selections(s);
                    self.text_unit(s, s, label, sels);
                }
                "PDFSource" => {
                    self.counts.sources += 1;
                    let rep = s.child("Representation");
                    self.counts.not_text += s.count("Coding") - rep.map_or(0, |r| r.count("Coding"));
                    if let Some(rep) = rep {
                        let sels = plain_selections(rep);
                        self.text_unit(rep, s, label, sels);
                    }
                }
                "AudioSource" | "VideoSource" => {
                    self.counts.sources += 1;
                    let transcripts: Vec<&Element> = s.children("Transcript").collect();
                    self.counts.not_text +=
                        s.count("Coding") - transcripts.iter().map(|t| t.count("Coding")).sum::<usize>();
                    let several = transcripts.len() > 1;
                    for (i, t) in transcripts.into_iter().enumerate() {
                        let title = match (t.attr("name").map(str::trim).filter(|n| !n.is_empty()), &name) {
                            (Some(n), _) => n.to_string(),
                            (None, Some(n)) if several => format!("{n} (transcript {})", i + 1),
                            (None, Some(n)) => n.clone(),
                            (None, None) => format!("transcript {}", i + 1),
                        };
                        let sels = self.transcript_selections(t, &title);
                        self.text_unit(t, s, title, sels);
                    }
                }
                "PictureSource" => {
                    self.counts.sources += 1;
                    self.counts.not_text += s.count("Coding");
                }
                other => {
                    self.counts.not_text += s.count("Coding");
                    self.warn(format!("{}: unknown source element `<{other}>` skipped", self.file));
                }
            }
        }
    }

    fn transcript_selections(&mut self, t: &'x Element, title: &str) -> Vec<Sel<'x>> {
        let points: HashMap<String, Option<i64>> = t
            .children("SyncPoint")
            .filter_map(|p| {
                Some((guid::normalize(p.attr("guid")?), p.attr("position").and_then(|x| x.trim().parse().ok())))
            })
            .collect();
        let mut missing = 0;
        let sels: Vec<Sel<'x>> = t
            .children("TranscriptSelection")
            .map(|s| {
                let at = |k: &str| s.attr(k).and_then(|g| points.get(&guid::normalize(g)).copied().flatten());
                let (start, end) = (at("fromSyncPoint"), at("toSyncPoint"));
                if start.is_none() || end.is_none() {
                    missing += 1;
                }
                Sel { el: s, start, end, whole: false }
            })
            .collect();
        if missing > 0 {
            self.warn(format!(
                "source `{title}`: {missing} transcript selection(s) refer to sync points that are missing or have no position"
            ));
        }
        sels
    }

    /// Reads a text file of the archive by a path as written in the project.
    fn read_path(&mut self, raw: &str) -> Option<Result<Vec<u8>>> {
        let mut p = raw.trim().replace('\\', "/");
        for scheme in ["internal://", "relative://", "absolute://", "file://"] {
            // Compared as bytes: the path may hold a multi-byte character where the scheme ends.
            if p.as_bytes().get(..scheme.len()).is_some_and(|b| b.eq_ignore_ascii_case(scheme.as_bytes())) {
                p = p[scheme.len()..].to_string();
                break;
            }
        }
        let p = p.trim_start_matches('/').to_string();
        let file = p.rsplit('/').next().unwrap_or(&p).to_string();
        let unbraced = match file.split_once('.') {
            Some((stem, ext)) => format!("{}.{ext}", guid::normalize(stem)),
            None => guid::normalize(&file),
        };
        let candidates = [
            p.clone(),
            format!("sources/{p}"),
            file.clone(),
            format!("sources/{file}"),
            unbraced.clone(),
            format!("sources/{unbraced}"),
        ];
        let found =
            candidates.iter().find_map(|c| self.archive.find(&format!("{}{c}", self.base)).map(str::to_string))?;
        Some(self.archive.read(&found, MAX_ENTRY_BYTES))
    }

    /// The text of a text source, transcript or note element: its file, or its
    /// `PlainTextContent`. `None` (with a warning) when neither is there.
    fn load_text(&mut self, el: &Element, what: &str) -> Option<String> {
        let path = el.attr("plainTextPath").map(str::trim).filter(|p| !p.is_empty());
        if let Some(path) = path {
            match self.read_path(path) {
                Some(Ok(bytes)) => {
                    let (text, lossy) = decode_text(&bytes);
                    if lossy {
                        self.warn(format!("{what}: `{path}` is not valid UTF-8; bad bytes were replaced with U+FFFD"));
                    }
                    return Some(text);
                }
                Some(Err(e)) => {
                    self.warn(format!("{what}: `{path}` could not be read: {e}"));
                }
                None => {
                    if el.child("PlainTextContent").is_none() {
                        self.warn(format!("{what}: its text `{path}` is not in the archive"));
                    }
                }
            }
        }
        if let Some(t) = el.child_text("PlainTextContent") {
            return Some(t.to_string());
        }
        if path.is_none() {
            self.warn(format!("{what}: has neither a text file nor text content"));
        }
        None
    }

    /// Picks the position unit for a source: the origin's, unless another one makes more
    /// selection names match their text.
    fn detect(&mut self, raw: &str, lf: &str, sels: &[Sel<'_>], title: &str) -> Scheme {
        let default = Scheme::for_origin(&self.origin);
        let named: Vec<(i64, i64, &str)> = sels
            .iter()
            .filter(|s| !s.whole)
            .filter_map(|s| Some((s.start?, s.end?, s.el.attr("name").filter(|n| !n.trim().is_empty())?)))
            .take(200)
            .collect();
        if named.is_empty() {
            return self.detect_by_fit(raw, sels, title, default);
        }
        let spans: Vec<(i64, i64)> = named.iter().map(|&(a, b, _)| (a, b)).collect();
        let score = |scheme: Scheme| -> usize {
            spans_at(raw, scheme, &spans)
                .iter()
                .zip(&named)
                .filter(|(at, (_, _, name))| at.is_some_and(|(a, b)| name_matches(name, &lf[a.byte..b.byte])))
                .count()
        };
        match best_scheme(default, named.len(), score) {
            (base, Some((n, s))) => {
                self.warn_unit(
                    title,
                    s,
                    default,
                    format!("{n} of {} selection names then match their text, against {base}", named.len()),
                );
                s
            }
            (_, None) => default,
        }
    }

    /// Says that a source's positions are read in unit `chosen` rather than its origin's
    /// (`default`), and `why`.
    fn warn_unit(&mut self, title: &str, chosen: Scheme, default: Scheme, why: String) {
        self.warn(format!(
            "source `{title}`: positions read as {} rather than {} (expected from origin `{}`): {why}",
            chosen.describe(),
            default.describe(),
            self.origin
        ));
    }

    /// Without selection names to go by: the origin's unit, unless some selections lie outside
    /// the text read so and another unit puts more of them inside it (a file that counts line
    /// ends otherwise than its origin is known to); where some lie outside under every unit,
    /// the others may be shifted too, and that is said.
    fn detect_by_fit(&mut self, raw: &str, sels: &[Sel<'_>], title: &str, default: Scheme) -> Scheme {
        let spans: Vec<(i64, i64)> =
            sels.iter().filter(|s| !s.whole).filter_map(|s| Some((s.start?, s.end?))).take(2000).collect();
        let fits = |scheme: Scheme| spans_at(raw, scheme, &spans).iter().filter(|at| at.is_some()).count();
        match best_scheme(default, spans.len(), fits) {
            (base, Some((n, s))) => {
                self.warn_unit(
                    title,
                    s,
                    default,
                    format!("{n} of {} selections then lie inside the text, against {base}", spans.len()),
                );
                s
            }
            (base, None) if base < spans.len() => {
                self.warn(format!(
                    "source `{title}`: {} of {} selections lie outside the text however its positions are read; the codings of the others may be shifted: check a few against the source",
                    spans.len() - base,
                    spans.len()
                ));
                default
            }
            (_, None) => default,
        }
    }

    /// The memo of a selection (its description, notes and linked notes), marking notes used.
    fn memo_parts(&mut self, el: &Element, with_description: bool) -> Vec<String> {
        let mut parts = Vec::new();
        if with_description && let Some(d) = el.child_text("Description").map(str::trim).filter(|d| !d.is_empty()) {
            parts.push(d.to_string());
        }
        let mut refs: Vec<String> =
            el.children("NoteRef").filter_map(|r| r.attr("targetGUID")).map(guid::normalize).collect();
        if let Some(g) = el.attr("guid")
            && let Some(linked) = self.link_notes.get(&guid::normalize(g))
        {
            refs.extend(linked.iter().cloned());
        }
        for r in refs {
            if let Some(&note) = self.notes.get(&r) {
                self.used_notes.insert(r.clone());
                let label = format!("note `{}`", note.attr("name").filter(|n| !n.trim().is_empty()).unwrap_or(&r));
                if let Some(t) = self.load_text(note, &label) {
                    let t = t.trim_start_matches('\u{FEFF}').trim();
                    if !t.is_empty() {
                        parts.push(positions::to_lf(t));
                    }
                }
            }
        }
        parts
    }

    /// Front matter of a source's note: its variables (source values first, then its cases'),
    /// `title`, `description` and `case` unless a variable has the same key.
    fn source_attrs(&mut self, owner: &Element, title: &str) -> Vec<(String, Value)> {
        let mut attrs: Vec<(String, Value)> = Vec::new();
        let mut have: HashSet<String> = HashSet::new();
        for vv in owner.children("VariableValue") {
            if let Some((k, v)) = self.variable_value(vv)
                && have.insert(k.clone())
            {
                attrs.push((k, v));
            }
        }
        let cases = owner.attr("guid").and_then(|g| self.cases.get(&guid::normalize(g))).cloned().unwrap_or_default();
        // Each variable of the source's cases: one value where they agree; where its cases (a
        // focus group's participants) differ, the list of their values, said, rather than the
        // first case's value standing for all of them.
        let mut by_key: Vec<(String, Vec<Value>)> = Vec::new();
        for (_, values) in &cases {
            for (k, v) in values {
                match by_key.iter_mut().find(|(key, _)| key == k) {
                    Some((_, vs)) => {
                        if !vs.contains(v) {
                            vs.push(v.clone());
                        }
                    }
                    None => by_key.push((k.clone(), vec![v.clone()])),
                }
            }
        }
        let mut differ = Vec::new();
        for (k, mut vs) in by_key {
            if !have.insert(k.clone()) {
                continue;
            }
            if vs.len() == 1 {
                attrs.push((k, vs.remove(0)));
            } else {
                differ.push(format!("`{k}`"));
                attrs.push((k, Value::List(vs)));
            }
        }
        if !differ.is_empty() {
            let names: Vec<String> = cases.iter().filter_map(|(n, _)| n.clone()).collect();
            self.warn(format!(
                "source `{title}` belongs to {} cases ({}) that differ in {}: its note has each as the list of their values, so a table by it counts the note under all of them together; which passage is whose is not imported",
                cases.len(),
                names.join(", "),
                differ.join(", ")
            ));
        }
        if have.insert("title".into()) {
            attrs.insert(0, ("title".into(), Value::String(title.to_string())));
        }
        if let Some(d) = owner.child_text("Description").map(str::trim).filter(|d| !d.is_empty())
            && have.insert("description".into())
        {
            attrs.push(("description".into(), Value::String(d.to_string())));
        }
        let names: Vec<Value> = cases.iter().filter_map(|(n, _)| n.clone().map(Value::String)).collect();
        if !names.is_empty() && have.insert("case".into()) {
            let v = if names.len() == 1 { names[0].clone() } else { Value::List(names) };
            attrs.push(("case".into(), v));
        }
        attrs
    }

    /// Imports one text (a text source, a PDF's text, a transcript) as a note with its codings.
    fn text_unit(&mut self, text_el: &'x Element, owner: &'x Element, title: String, mut sels: Vec<Sel<'x>>) {
        if text_el.children("Coding").next().is_some() {
            sels.push(Sel { el: text_el, start: None, end: None, whole: true });
        }
        let codings_of = |s: &Sel<'x>| -> Vec<&'x Element> { s.el.children("Coding").collect() };
        let what = format!("source `{title}`");
        let Some(raw) = self.load_text(text_el, &what) else {
            let n: usize = sels.iter().map(|s| codings_of(s).len()).sum();
            self.counts.no_text += n;
            if n > 0 {
                self.warn(format!("{what}: {n} coding(s) not imported: the text is missing"));
            }
            return;
        };
        let raw = raw.strip_prefix('\u{FEFF}').unwrap_or(&raw);
        let lf = positions::to_lf(raw);
        let scheme = self.detect(raw, &lf, &sels, &title);
        let queries: Vec<(i64, bool)> =
            sels.iter().flat_map(|s| [(s.start.unwrap_or(-1), false), (s.end.unwrap_or(-1), true)]).collect();
        let spots = positions::map(raw, scheme, &queries);
        let lf_end = Spot { cp: lf.chars().count(), byte: lf.len() };

        let attrs = self.source_attrs(owner, &title);
        let note = note::render(&attrs, &lf, &what, &mut self.warnings);
        let path = self.paths.make_path(&note_stem(&title, "notes"), ".md");
        let source_user = owner.attr("creatingUser");

        let mut outside: Vec<String> = Vec::new();
        let mut check = NameCheck { title: title.clone(), matched: 0, mismatches: Vec::new() };
        let mut uncoded: Vec<(Option<String>, String)> = Vec::new();
        let mut n_uncoded = 0;
        let total = positions::length(raw, scheme);
        for (k, s) in sels.iter().enumerate() {
            let codings = codings_of(s);
            let sel_guid = s.el.attr("guid").unwrap_or("?");
            let span = if s.whole {
                Some((Spot { cp: 0, byte: 0 }, lf_end))
            } else {
                match (spots[2 * k], spots[2 * k + 1]) {
                    (Some(a), Some(b)) if a.byte <= b.byte => Some((a, b)),
                    _ => None,
                }
            };
            if codings.is_empty() {
                n_uncoded += 1;
                let memo = self.memo_parts(s.el, true).join("\n\n");
                if !memo.is_empty() {
                    uncoded.push((span.map(|(a, b)| excerpt(&lf[a.byte..b.byte], 200)), memo));
                }
                continue;
            }
            let Some((a, b)) = span else {
                self.counts.outside += codings.len();
                let pos = match (s.start, s.end) {
                    (Some(x), Some(y)) => format!("{x}..{y}"),
                    _ => "unknown positions".into(),
                };
                outside.push(format!(
                    "{what}: selection `{sel_guid}` at {pos} lies outside the text ({total} {}); its {} coding(s) not imported",
                    scheme.describe(),
                    codings.len()
                ));
                continue;
            };
            // A point, not words (ATLAS.ti writes such anchors): coded as fieldnotes codes a
            // point, its passage counts as coded; said.
            if !s.whole && a.cp == b.cp {
                self.counts.points += codings.len();
            }
            let text = &lf[a.byte..b.byte];
            if !s.whole
                && let Some(name) = s.el.attr("name").filter(|n| !n.trim().is_empty())
            {
                if name_matches(name, text) {
                    check.matched += 1;
                } else {
                    check.mismatches.push(format!(
                        "{what}: selection `{sel_guid}` is named `{}` but its text at {}..{} is `{}`",
                        excerpt(name, 80),
                        s.start.unwrap_or(0),
                        s.end.unwrap_or(0),
                        excerpt(text, 80)
                    ));
                }
            }
            let base_memo = if s.whole { Vec::new() } else { self.memo_parts(s.el, true) };
            let sel_time = s.el.attr("creationDateTime").filter(|t| is_datetime(t));
            let mut kept = 0;
            for c in codings {
                let Some(target) = c.child("CodeRef").and_then(|r| r.attr("targetGUID")) else {
                    self.counts.unknown_code += 1;
                    *self.unknown_codes.entry("(no CodeRef)".into()).or_default() += 1;
                    continue;
                };
                let Some(code) = self.code_ids.get(&guid::normalize(target)).cloned() else {
                    self.counts.unknown_code += 1;
                    *self.unknown_codes.entry(target.to_string()).or_default() += 1;
                    continue;
                };
                let user =
                    [c.attr("creatingUser"), if s.whole { None } else { s.el.attr("creatingUser") }, source_user]
                        .into_iter()
                        .flatten()
                        .find(|g| !guid::normalize(g).is_empty());
                let coder = match self.coder_for(user) {
                    Some(c) => c,
                    None => {
                        self.counts.no_user += 1;
                        self.default_coder.clone()
                    }
                };
                let suggested = user.is_some_and(|g| self.suggesting.contains(&guid::normalize(g)));
                let (origin, status) = match (suggested, coder.as_str()) {
                    (false, _) => (Origin::Import, Status::Accepted),
                    (true, fieldnotes_coding::ledger::RULES_CODER) => (Origin::Rule, Status::Suggested),
                    (true, "model") => (Origin::Model, Status::Suggested),
                    (true, _) => (Origin::Import, Status::Suggested),
                };
                if suggested {
                    self.counts.suggested += 1;
                }
                let start = note.body_offset + a.cp;
                let end = note.body_offset + b.cp;
                let id = coding_id(&coder, &path, start, end, &code);
                if !self.seen.insert((coder.clone(), id.clone())) {
                    self.counts.duplicates += 1;
                    continue;
                }
                let mut memo = base_memo.clone();
                memo.extend(self.memo_parts(c, false));
                kept += 1;
                let time = c
                    .attr("creationDateTime")
                    .filter(|t| is_datetime(t))
                    .or(sel_time)
                    .map_or_else(|| self.time.clone(), str::to_string);
                self.codings.entry(coder.clone()).or_default().push(Coding {
                    id,
                    doc: path.clone(),
                    start,
                    end,
                    hash: text_hash(text),
                    text: text.to_string(),
                    code,
                    coder,
                    origin,
                    status,
                    memo: (!memo.is_empty()).then(|| memo.join("\n\n")),
                    evidence: Vec::new(),
                    time,
                    base: None,
                    reviewer: None,
                });
            }
            // A memo whose codings could not be imported is kept with the uncoded selections'.
            if kept == 0 && !base_memo.is_empty() {
                uncoded.push((Some(excerpt(text, 200)), base_memo.join("\n\n")));
            }
        }
        let n_outside = outside.len();
        push_listed(&mut self.warnings, outside, |more| {
            format!("{what}: ... and {more} more selection(s) outside the text ({n_outside} in all)")
        });
        self.out_notes.push((path.clone(), note.text));
        self.counts.notes += 1;
        self.counts.uncoded_selections += n_uncoded;
        if n_uncoded > 0 {
            self.warn(format!("{what}: {n_uncoded} selection(s) carry no coding (memos or annotations only)"));
        }
        if !uncoded.is_empty() {
            let memo_path = self.paths.make_path(&note_stem(&title, "notes/memos"), ".md");
            let mut body = String::new();
            for (ex, memo) in &uncoded {
                if let Some(ex) = ex.as_deref().filter(|e| !e.is_empty()) {
                    body.push_str(&format!("> {ex}\n\n"));
                }
                body.push_str(memo);
                body.push_str("\n\n");
            }
            let attrs = vec![
                ("title".to_string(), Value::String(format!("Memos on {title}"))),
                ("kind".to_string(), Value::String("memo".into())),
                ("source".to_string(), Value::String(path.clone())),
            ];
            let memo_note = note::render(&attrs, body.trim_end_matches('\n'), &what, &mut self.warnings);
            self.out_notes.push((memo_path.clone(), format!("{}\n", memo_note.text)));
            self.counts.memos += 1;
            self.warn(format!(
                "{what}: the memos of {} selection(s) without imported codings were kept in `{memo_path}`",
                uncoded.len()
            ));
        }
        self.name_checks.push(check);
    }

    /// Reports selections whose names differ from their text, when the project's names hold
    /// text at all (some name matched, or the exporter is known to write the text).
    fn finish_name_checks(&mut self) {
        let names_hold_text =
            self.name_checks.iter().any(|c| c.matched > 0) || self.origin.to_ascii_lowercase().contains("atlas.ti");
        if !names_hold_text {
            return;
        }
        for check in std::mem::take(&mut self.name_checks) {
            let n = check.mismatches.len();
            self.counts.name_mismatches += n;
            let title = check.title;
            push_listed(&mut self.warnings, check.mismatches, |more| {
                format!(
                    "source `{title}`: ... and {more} more selection(s) whose name differs from their text ({n} in all)"
                )
            });
        }
    }

    /// Notes not used as memos of codings (project memos, memos on codes and sources,
    /// unattached notes), and the project's description, become memo notes.
    fn write_other_notes(&mut self) {
        let root = self.root;
        let mut list: Vec<(String, String, Option<String>)> = Vec::new();
        if let Some(d) = root.child_text("Description").map(str::trim).filter(|d| !d.is_empty()) {
            list.push(("Project description".into(), positions::to_lf(d), None));
        }
        let notes: Vec<&Element> = root.child("Notes").into_iter().flat_map(|n| n.children("Note")).collect();
        let mut in_notes = 0;
        for n in notes {
            in_notes += n.count("Coding");
            let g = guid::normalize(n.attr("guid").unwrap_or(""));
            if self.used_notes.contains(&g) {
                continue;
            }
            let title = n
                .attr("name")
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map_or_else(|| format!("Note {}", g.chars().take(8).collect::<String>()), str::to_string);
            let Some(text) = self.load_text(n, &format!("note `{title}`")) else { continue };
            let text = positions::to_lf(text.trim_start_matches('\u{FEFF}'));
            list.push((title, text, self.about.get(&g).cloned()));
        }
        self.counts.not_text += in_notes;
        for (title, text, about) in list {
            let mut attrs = vec![
                ("title".to_string(), Value::String(title.clone())),
                ("kind".to_string(), Value::String("memo".into())),
            ];
            if let Some(a) = about {
                attrs.push(("about".into(), Value::String(a)));
            }
            let path = self.paths.make_path(&note_stem(&title, "notes/memos"), ".md");
            let mut w = Vec::new();
            let note = note::render(&attrs, &text, &format!("note `{title}`"), &mut w);
            self.warnings.extend(w);
            let mut full = note.text;
            if !full.ends_with('\n') {
                full.push('\n');
            }
            self.out_notes.push((path, full));
            self.counts.memos += 1;
        }
    }
}

/// The `PlainTextSelection`s of a text source.
fn plain_selections(el: &Element) -> Vec<Sel<'_>> {
    el.children("PlainTextSelection")
        .map(|s| {
            let at = |k: &str| s.attr(k).and_then(|v| v.trim().parse::<i64>().ok());
            Sel { el: s, start: at("startPosition"), end: at("endPosition"), whole: false }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_texts() {
        assert!(name_matches("Diet and health", "Diet and health"));
        assert!(name_matches("Diet  and\nhealth", "Diet and health"));
        assert!(name_matches("Diet and…", "Diet and health"));
        assert!(!name_matches("health are closely", "health are clo"));
        assert!(!name_matches("line:6", "Speaker 1: thank you"));
        assert!(!name_matches("…", "x"));
        assert_eq!(excerpt("a  b\nc", 3), "a b…");
    }

    #[test]
    fn text_decoding() {
        assert_eq!(decode_text(b"\xEF\xBB\xBFhi"), ("hi".into(), false));
        assert!(decode_text(b"h\xFFi").1);
        let mut b = vec![0xFE, 0xFF];
        for u in "é😀".encode_utf16() {
            b.extend(u.to_be_bytes());
        }
        assert_eq!(decode_text(&b), ("é😀".into(), false));
    }
}
