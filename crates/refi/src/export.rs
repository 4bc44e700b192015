//! Writing a project as a REFI-QDA project archive (`.qdpx`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::{Seek, Write};

use fieldnotes_coding::ledger::{Anchor, anchor};
use fieldnotes_coding::{Code, Codebook, Coding, Origin, Rules, Status};
use fieldnotes_corpus::{Corpus, Document, Value, frontmatter};
use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipWriter};

use crate::positions::{self, Scheme};
use crate::qdc::{origin, write_codes};
use crate::xml::{clean, esc_attr, esc_text};
use crate::{Result, Warning, guid};

/// The project namespace of REFI-QDA 1.0.
pub(crate) const PROJECT_NS: &str = "urn:QDA-XML:project:1.0";

/// The longest selection `name` written: the selected text, cut here with `…`.
const NAME_CHARS: usize = 500;

/// How many warnings of one kind are listed one by one before a summary.
pub(crate) const LISTED: usize = 10;

/// What a project export is made of.
pub struct ExportInput<'a> {
    /// The project's name (`Project@name`).
    pub name: &'a str,
    /// A stable key for the project (e.g. its folder name): GUIDs are made from it, so the
    /// same project exported twice has the same GUIDs.
    pub project_key: &'a str,
    /// The notes: each becomes a text source.
    pub corpus: &'a Corpus,
    /// The codebook.
    pub book: &'a Codebook,
    /// The current codings of all coders.
    pub codings: &'a [Coding],
    /// Export suggestions not yet reviewed too, each under a user of its own
    /// (`<coder> (suggested, not reviewed)`), so the receiving program never takes one for a
    /// researcher's coding. Off: accepted codings only.
    pub include_suggested: bool,
}

/// What an export wrote, and what it left out.
#[derive(Clone, Debug, Default)]
pub struct Exported {
    /// Codings written (accepted, plus suggestions where asked for).
    pub codings: usize,
    /// Of those, suggestions (marked as such).
    pub suggested: usize,
    /// Suggestions left out (not reviewed; `include_suggested` off).
    pub suggestions_left_out: usize,
    /// Rejected codings left out.
    pub rejected: usize,
    /// Codings that could not be placed (note or words gone, or in the front matter).
    pub dropped: usize,
    /// What could not be exported as it was.
    pub warnings: Vec<Warning>,
}

/// What the name of the user a suggestion not yet reviewed is exported under ends with (after
/// its coder's name); an import reads such a user's codings back as suggestions.
pub const SUGGESTED_USER: &str = " (suggested, not reviewed)";

/// The user a coding is exported under: its coder; for a suggestion of the rules (or a model)
/// that a person accepted, that person, as every count of fieldnotes credits them; for a
/// suggestion not yet reviewed, a user that says so.
pub fn export_user(c: &Coding) -> String {
    match (c.status, c.reviewer.as_deref()) {
        (Status::Suggested, _) => format!("{}{SUGGESTED_USER}", c.coder),
        (Status::Accepted, Some(r)) if !r.is_empty() && matches!(c.origin, Origin::Rule | Origin::Model) => {
            r.to_string()
        }
        _ => c.coder.clone(),
    }
}

/// The parts of an export before zipping.
pub(crate) struct Built {
    pub xml: String,
    /// (entry name, text) of the source files.
    pub files: Vec<(String, String)>,
    pub summary: Exported,
}

/// Writes the project as a REFI-QDA project archive (`.qdpx`, a zip) to `out`. Returns
/// warnings about codings that could not be exported as they were.
///
/// The archive holds `project.qde` (valid against `Project.xsd`, its children in the
/// schema's order) and `sources/<guid>.txt`:
///
/// - **Users**: one per coder; a coder's GUID is stable from the name alone.
/// - **CodeBook**: the code tree by nesting, as in [`export_qdc`](crate::export_qdc). Codes used by
///   codings but missing from the codebook are added (named by their id), with a warning.
/// - **Variables** and source-level **VariableValue**s: each front-matter attribute is a variable
///   (`Boolean`, `Integer`, `Float`, `Date`, or `Text` when its values are of mixed types or lists;
///   list items are joined with `; `). Values are given on each source rather than through
///   cases, which the schema also allows; fieldnotes has no cases.
/// - **Sources**: each note is a `TextSource` named by its path, with `plainTextPath=
///   "internal://<guid>.txt"`; the file holds the note's body (the text after the front matter,
///   whose attributes are the variables) in UTF-8 without a BOM, with LF line endings.
/// - Each coded span is a `PlainTextSelection` (`startPosition`/`endPosition`: code points
///   into that LF text, end exclusive; CRLF in the note is converted and offsets adjusted) named
///   by its text, holding one `Coding` per code and coder, with `CodeRef` and `creatingUser`.
/// - A coding's memo is a `Note` (with `PlainTextContent`) that the coding refers to by `NoteRef`.
///
/// Codings are first re-anchored in their notes (as `fieldnotes` does after edits): moved
/// ones are exported where their text now is; those whose text or note is gone, rejected ones,
/// and any lying in the front matter are left out, each with a warning. Suggestions not yet
/// reviewed are left out unless [`ExportInput::include_suggested`]; then each goes out under a
/// user of its own that says it is a suggestion ([`export_user`]).
pub fn export_qdpx(input: &ExportInput<'_>, out: impl Write + Seek) -> Result<Exported> {
    let built = build(input);
    let mut zip = ZipWriter::new(out);
    let opts = SimpleFileOptions::default().compression_method(CompressionMethod::Deflated);
    zip.start_file("project.qde", opts).map_err(std::io::Error::from)?;
    zip.write_all(built.xml.as_bytes())?;
    for (name, text) in &built.files {
        zip.start_file(name.as_str(), opts).map_err(std::io::Error::from)?;
        zip.write_all(text.as_bytes())?;
    }
    zip.finish().map_err(std::io::Error::from)?;
    Ok(built.summary)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Boolean,
    Integer,
    Float,
    Date,
    Text,
}

impl Kind {
    fn of(v: &Value) -> Kind {
        match v {
            Value::Bool(_) => Kind::Boolean,
            Value::Integer(_) => Kind::Integer,
            Value::Float(x) if x.is_finite() => Kind::Float,
            // xsd:date has no year 0.
            Value::Date(d) if d.year >= 1 => Kind::Date,
            _ => Kind::Text,
        }
    }

    fn merge(self, other: Kind) -> Kind {
        match (self, other) {
            (a, b) if a == b => a,
            (Kind::Integer, Kind::Float) | (Kind::Float, Kind::Integer) => Kind::Float,
            _ => Kind::Text,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Kind::Boolean => "Boolean",
            Kind::Integer => "Integer",
            Kind::Float => "Float",
            Kind::Date => "Date",
            Kind::Text => "Text",
        }
    }

    /// The value element and its text.
    fn value(self, v: &Value) -> (&'static str, String) {
        match (self, v) {
            (Kind::Boolean, Value::Bool(b)) => ("BooleanValue", b.to_string()),
            (Kind::Integer, Value::Integer(i)) => ("IntegerValue", i.to_string()),
            (Kind::Float, Value::Integer(i)) => ("FloatValue", i.to_string()),
            // Display never uses an exponent, as xsd:decimal wants.
            (Kind::Float, Value::Float(x)) => ("FloatValue", format!("{x}")),
            (Kind::Date, Value::Date(d)) => ("DateValue", d.to_string()),
            _ => ("TextValue", v.to_plain()),
        }
    }
}

/// True for an `xsd:dateTime` such as `2024-01-15T10:00:00Z` or `...T10:00:00.5+02:00`.
pub(crate) fn is_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| b.get(r).is_some_and(|x| x.iter().all(u8::is_ascii_digit));
    if b.len() < 19 || !digits(0..4) || b[4] != b'-' || !digits(5..7) || b[7] != b'-' || !digits(8..10) {
        return false;
    }
    if b[10] != b'T' || !digits(11..13) || b[13] != b':' || !digits(14..16) || b[16] != b':' || !digits(17..19) {
        return false;
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    let rb = rest.as_bytes();
    let tz_ok = rest.is_empty()
        || rest == "Z"
        || (rb.len() == 6
            && (rb[0] == b'+' || rb[0] == b'-')
            && rb[1..3].iter().all(u8::is_ascii_digit)
            && rb[3] == b':'
            && rb[4..6].iter().all(u8::is_ascii_digit)
            && rest[1..3].parse::<u8>().is_ok_and(|h| h <= 14)
            && rest[4..6].parse::<u8>().is_ok_and(|m| m <= 59));
    let field = |r: std::ops::Range<usize>| s[r].parse::<u8>().unwrap_or(99);
    let (hour, minute, second) = (field(11..13), field(14..16), field(17..19));
    let year: i32 = s[..4].parse().unwrap_or(0);
    // xsd:dateTime (XML Schema 1.0): no year 0, a real day, 24:00:00 only, no leap second.
    tz_ok
        && year >= 1
        && fieldnotes_corpus::Date::new(year, field(5..7), field(8..10)).is_some()
        && (hour < 24 || (hour == 24 && minute == 0 && second == 0 && !s[19..].starts_with(".")))
        && minute <= 59
        && second <= 59
}

/// Pushes up to [`LISTED`] messages, then one line saying how many more there were.
pub(crate) fn push_listed(warnings: &mut Vec<Warning>, messages: Vec<String>, more: impl Fn(usize) -> String) {
    let n = messages.len();
    for m in messages.into_iter().take(LISTED) {
        warnings.push(Warning::new(m));
    }
    if n > LISTED {
        warnings.push(Warning::new(more(n - LISTED)));
    }
}

/// Byte offsets of code-point offsets into `text` (`None` past the end), in one pass.
fn char_to_byte_many(text: &str, offsets: &[usize]) -> Vec<Option<usize>> {
    let mut order: Vec<usize> = (0..offsets.len()).collect();
    order.sort_by_key(|&i| offsets[i]);
    let mut out = vec![None; offsets.len()];
    let mut qi = 0;
    for (cp, (byte, _)) in text.char_indices().chain(std::iter::once((text.len(), ' '))).enumerate() {
        while let Some(&i) = order.get(qi).filter(|&&i| offsets[i] == cp) {
            out[i] = Some(byte);
            qi += 1;
        }
        if qi == order.len() {
            break;
        }
    }
    out
}

struct Source<'a> {
    doc: &'a Document,
    guid: String,
    /// Code points of front matter before the body.
    body_offset: usize,
    body: &'a str,
    lf: String,
}

/// One coded span of a source: (LF code-point start, end) to its text and codings.
type Spans<'a> = BTreeMap<(usize, usize), (String, Vec<&'a Coding>)>;

pub(crate) fn build(input: &ExportInput<'_>) -> Built {
    let key = input.project_key;
    let mut warnings = Vec::new();
    let sources: Vec<Source> = input
        .corpus
        .documents
        .iter()
        .map(|doc| {
            let body_start = frontmatter::parse(&doc.text).map_or(0, |p| p.body_start);
            let body = &doc.text[body_start..];
            Source {
                doc,
                guid: guid::v5(&["source", key, &doc.path]),
                body_offset: doc.text[..body_start].chars().count(),
                body,
                lf: positions::to_lf(body),
            }
        })
        .collect();
    let by_path: HashMap<&str, usize> = sources.iter().enumerate().map(|(i, s)| (s.doc.path.as_str(), i)).collect();

    // Codes used but missing from the codebook are added, so that no CodeRef dangles.
    let mut book = input.book.clone();
    let mut known: HashSet<String> = book.codes.iter().map(|c| c.id.clone()).collect();
    let exported = |c: &Coding| match c.status {
        Status::Accepted => true,
        Status::Suggested => input.include_suggested,
        Status::Rejected => false,
    };
    for c in input.codings.iter().filter(|c| exported(c)) {
        if known.insert(c.code.clone()) {
            warnings.push(Warning::new(format!(
                "code `{}` is used by codings but not in the codebook; added to the exported codebook",
                c.code
            )));
            book.codes.push(Code {
                id: c.code.clone(),
                name: c.code.clone(),
                description: String::new(),
                parent: None,
                colour: None,
                examples: Vec::new(),
                rules: Rules::default(),
            });
        }
    }

    // Place each coding in its source's LF text.
    let mut rejected = 0;
    let mut suggestions_left_out = 0;
    let mut moved = 0;
    let mut dropped: Vec<String> = Vec::new();
    let mut wanted: Vec<Vec<(usize, usize, &Coding)>> = vec![Vec::new(); sources.len()];
    let mut by_doc: Vec<Vec<&Coding>> = vec![Vec::new(); sources.len()];
    for c in input.codings {
        if c.status == Status::Rejected {
            rejected += 1;
            continue;
        }
        if !exported(c) {
            suggestions_left_out += 1;
            continue;
        }
        match by_path.get(c.doc.as_str()) {
            Some(&si) => by_doc[si].push(c),
            None => dropped.push(format!(
                "coding `{}` (code `{}`, coder `{}`) in `{}`: the note is not in the corpus; not exported",
                c.id, c.code, c.coder, c.doc
            )),
        }
    }
    for (si, list) in by_doc.iter().enumerate() {
        let s = &sources[si];
        // Most codings are where they were: check that in one pass, re-anchor only the others.
        let offsets: Vec<usize> = list.iter().flat_map(|c| [c.start, c.end]).collect();
        let bytes = char_to_byte_many(&s.doc.text, &offsets);
        for (k, &c) in list.iter().enumerate() {
            let exact = match (bytes[2 * k], bytes[2 * k + 1]) {
                (Some(a), Some(b)) if a <= b => {
                    let t = &s.doc.text[a..b];
                    if c.text.is_empty() { fieldnotes_corpus::text_hash(t) == c.hash } else { t == c.text }
                }
                _ => false,
            };
            let what = format!("coding `{}` (code `{}`, coder `{}`) in `{}`", c.id, c.code, c.coder, c.doc);
            let (start, end) = if exact {
                (c.start, c.end)
            } else {
                match anchor(c, Some(s.doc)) {
                    Anchor::Exact => (c.start, c.end),
                    Anchor::Moved { start, end } => {
                        moved += 1;
                        (start, end)
                    }
                    Anchor::Orphaned { reason, .. } => {
                        dropped.push(format!("{what}: {reason}; not exported"));
                        continue;
                    }
                }
            };
            if start < s.body_offset || end < start {
                dropped.push(format!("{what}: the span lies in the front matter; not exported"));
                continue;
            }
            wanted[si].push((start - s.body_offset, end - s.body_offset, c));
        }
    }
    let mut spans: Vec<Spans> = vec![BTreeMap::new(); sources.len()];
    for (si, list) in wanted.iter().enumerate() {
        let s = &sources[si];
        let queries: Vec<(i64, bool)> =
            list.iter().flat_map(|&(a, b, _)| [(a as i64, false), (b as i64, true)]).collect();
        let spots = positions::map(s.body, Scheme::STANDARD, &queries);
        for (k, &(_, _, c)) in list.iter().enumerate() {
            match (spots[2 * k], spots[2 * k + 1]) {
                (Some(a), Some(b)) if a.byte <= b.byte => {
                    let entry =
                        spans[si].entry((a.cp, b.cp)).or_insert_with(|| (s.lf[a.byte..b.byte].to_string(), Vec::new()));
                    entry.1.push(c);
                }
                _ => dropped.push(format!(
                    "coding `{}` (code `{}`, coder `{}`) in `{}`: the span is outside the note; not exported",
                    c.id, c.code, c.coder, c.doc
                )),
            }
        }
    }
    if rejected > 0 {
        warnings.push(Warning::new(format!("{rejected} rejected coding(s) not exported")));
    }
    if suggestions_left_out > 0 {
        warnings.push(Warning::new(format!(
            "{suggestions_left_out} suggestion(s) not yet reviewed not exported (export them too, marked as suggestions, with --include-suggested)"
        )));
    }
    if moved > 0 {
        warnings.push(Warning::new(format!(
            "{moved} coding(s) had moved in edited notes; exported where their text is now"
        )));
    }
    let n_dropped = dropped.len();
    push_listed(&mut warnings, dropped, |more| {
        format!("... and {more} more coding(s) not exported ({n_dropped} in all)")
    });

    // Variables from the attributes.
    let mut kinds: BTreeMap<&str, Kind> = BTreeMap::new();
    for s in &sources {
        for (k, v) in &s.doc.attributes {
            let kind = Kind::of(v);
            kinds.entry(k.as_str()).and_modify(|x| *x = x.merge(kind)).or_insert(kind);
        }
    }
    // REFI-QDA variables hold one value: a list goes as text, its items joined by `; `, which a
    // reader takes as one value. Said, once per attribute.
    let listed: BTreeSet<&str> = sources
        .iter()
        .flat_map(|s| s.doc.attributes.iter())
        .filter(|(_, v)| matches!(v, Value::List(_)))
        .map(|(k, _)| k.as_str())
        .collect();
    if !listed.is_empty() {
        warnings.push(Warning::new(format!(
            "list attribute(s) {} written as text, the items joined by `; ` (REFI-QDA variables hold one value): read back, each is one value, not a list",
            listed.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
        )));
    }
    let var_guid = |name: &str| guid::v5(&["variable", key, name]);

    let coders: BTreeSet<String> =
        spans.iter().flat_map(|m| m.values().flat_map(|(_, cs)| cs.iter().map(|c| export_user(c)))).collect();
    let (mut written, mut suggested) = (0usize, 0usize);

    let mut x = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    let name = if input.name.trim().is_empty() { "fieldnotes project" } else { input.name };
    x.push_str(&format!(
        "<Project xmlns=\"{PROJECT_NS}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:schemaLocation=\"{PROJECT_NS} http://schema.qdasoftware.org/versions/Project/v1.0/Project.xsd\" name=\"{}\" origin=\"{}\">\n",
        esc_attr(name),
        esc_attr(&origin())
    ));
    if !coders.is_empty() {
        x.push_str("  <Users>\n");
        for c in &coders {
            x.push_str(&format!("    <User guid=\"{}\" name=\"{}\"/>\n", guid::user_guid(c), esc_attr(c)));
        }
        x.push_str("  </Users>\n");
    }
    let mut code_guids = HashMap::new();
    if !book.codes.is_empty() {
        x.push_str("  <CodeBook>\n    <Codes>\n");
        code_guids = write_codes(&mut x, &book, key, 3);
        x.push_str("    </Codes>\n  </CodeBook>\n");
    }
    if !kinds.is_empty() {
        x.push_str("  <Variables>\n");
        for (k, kind) in &kinds {
            x.push_str(&format!(
                "    <Variable guid=\"{}\" name=\"{}\" typeOfVariable=\"{}\"/>\n",
                var_guid(k),
                esc_attr(k),
                kind.name()
            ));
        }
        x.push_str("  </Variables>\n");
    }
    let mut memos: Vec<(String, &Coding)> = Vec::new();
    let mut files = Vec::new();
    if !sources.is_empty() {
        x.push_str("  <Sources>\n");
        for (s, spans) in sources.iter().zip(&spans) {
            x.push_str(&format!(
                "    <TextSource guid=\"{}\" name=\"{}\" plainTextPath=\"internal://{}.txt\">\n",
                s.guid,
                esc_attr(&s.doc.path),
                s.guid
            ));
            for (&(a, b), (text, cs)) in spans {
                let mut label: String = text.chars().take(NAME_CHARS).collect();
                if text.chars().nth(NAME_CHARS).is_some() {
                    label.push('…');
                }
                x.push_str(&format!(
                    "      <PlainTextSelection guid=\"{}\" name=\"{}\" startPosition=\"{a}\" endPosition=\"{b}\" creatingUser=\"{}\">\n",
                    guid::v5(&["selection", key, &s.doc.path, &a.to_string(), &b.to_string()]),
                    esc_attr(&clean(&label)),
                    guid::user_guid(&export_user(cs[0]))
                ));
                for c in cs {
                    written += 1;
                    suggested += usize::from(c.status == Status::Suggested);
                    let coding_guid = guid::v5(&["coding", key, &c.coder, &c.id]);
                    x.push_str(&format!(
                        "        <Coding guid=\"{coding_guid}\" creatingUser=\"{}\"",
                        guid::user_guid(&export_user(c))
                    ));
                    if is_datetime(&c.time) {
                        x.push_str(&format!(" creationDateTime=\"{}\"", c.time));
                    }
                    x.push_str(&format!(">\n          <CodeRef targetGUID=\"{}\"/>\n", code_guids[&c.code]));
                    if c.memo.as_deref().is_some_and(|m| !m.trim().is_empty()) {
                        let note = guid::v5(&["memo", key, &c.coder, &c.id]);
                        x.push_str(&format!("          <NoteRef targetGUID=\"{note}\"/>\n"));
                        memos.push((note, c));
                    }
                    x.push_str("        </Coding>\n");
                }
                x.push_str("      </PlainTextSelection>\n");
            }
            for (k, v) in &s.doc.attributes {
                let (el, text) = kinds[k.as_str()].value(v);
                x.push_str(&format!(
                    "      <VariableValue>\n        <VariableRef targetGUID=\"{}\"/>\n        <{el}>{}</{el}>\n      </VariableValue>\n",
                    var_guid(k),
                    esc_text(&text)
                ));
            }
            x.push_str("    </TextSource>\n");
            files.push((format!("sources/{}.txt", s.guid), s.lf.clone()));
        }
        x.push_str("  </Sources>\n");
    }
    if !memos.is_empty() {
        x.push_str("  <Notes>\n");
        for (note, c) in &memos {
            x.push_str(&format!(
                "    <Note guid=\"{note}\" name=\"{}\" creatingUser=\"{}\"",
                esc_attr(&format!("Memo: {} in {}", c.code, c.doc)),
                guid::user_guid(&export_user(c))
            ));
            if is_datetime(&c.time) {
                x.push_str(&format!(" creationDateTime=\"{}\"", c.time));
            }
            x.push_str(&format!(
                ">\n      <PlainTextContent>{}</PlainTextContent>\n    </Note>\n",
                esc_text(c.memo.as_deref().unwrap_or(""))
            ));
        }
        x.push_str("  </Notes>\n");
    }
    x.push_str("</Project>\n");
    let summary =
        Exported { codings: written, suggested, suggestions_left_out, rejected, dropped: n_dropped, warnings };
    Built { xml: x, files, summary }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes() {
        for ok in ["2024-01-15T10:00:00Z", "2024-01-15T10:00:00", "2024-01-15T10:00:00.123+02:00"] {
            assert!(is_datetime(ok), "{ok}");
        }
        for bad in [
            "2024-01-15",
            "2024-13-15T10:00:00Z",
            "2024-02-30T10:00:00Z",
            "2024-01-15T24:30:00Z",
            "2024-01-15T10:00:60Z",
            "2024-01-15T10:00:00+15:00",
            "0000-01-15T10:00:00Z",
            "2024-01-15 10:00:00Z",
            "2024-01-15T10:00:00.Z",
            "x",
        ] {
            assert!(!is_datetime(bad), "{bad}");
        }
    }

    #[test]
    fn char_offsets() {
        let t = "a😀\r\nb";
        assert_eq!(char_to_byte_many(t, &[5, 0, 2, 1, 9, 4]), [Some(8), Some(0), Some(5), Some(1), None, Some(7)]);
    }

    #[test]
    fn kinds_merge() {
        assert_eq!(Kind::Integer.merge(Kind::Float), Kind::Float);
        assert_eq!(Kind::Integer.merge(Kind::Date), Kind::Text);
        assert_eq!(Kind::of(&Value::Float(f64::NAN)), Kind::Text);
        assert_eq!(Kind::Float.value(&Value::Float(1e21)).1, "1000000000000000000000");
        assert_eq!(Kind::Text.value(&Value::List(vec![Value::Integer(1), Value::String("b".into())])).1, "1; b");
    }
}
