//! The codebook: `.qdc` files, and the `<CodeBook>` inside a project.

use std::collections::{HashMap, HashSet};

use fieldnotes_coding::{Code, Codebook, Rules};

use crate::colour::{self, Colour};
use crate::guid;
use crate::slug::{Unique, slug};
use crate::xml::{self, Element, esc_attr, esc_text};
use crate::{Error, Result, Warning};

/// The codebook namespace of REFI-QDA 1.0.
pub(crate) const CODEBOOK_NS: &str = "urn:QDA-XML:codebook:1.0";

/// What `origin` says we are.
pub(crate) fn origin() -> String {
    format!("fieldnotes {}", env!("CARGO_PKG_VERSION"))
}

/// Warns when the root's namespace is not `expected` (older drafts, `1:0` typos, the other
/// kind of file, none at all): the file is read all the same.
pub(crate) fn check_namespace(root: &Element, expected: &str, file: &str, warnings: &mut Vec<Warning>) {
    let ns = root
        .attr("xmlns")
        .or_else(|| root.attrs.iter().find(|(k, _)| k.starts_with("xmlns:")).map(|(_, v)| v.as_str()));
    match ns {
        Some(ns) if ns == expected => {}
        Some(ns) => warnings.push(Warning::new(format!(
            "{file}: namespace `{ns}` is not `{expected}`{}; read all the same",
            if ns.starts_with("urn:QDA-XML:") { " (another version of the standard)" } else { "" }
        ))),
        None => {
            warnings.push(Warning::new(format!("{file}: no XML namespace (expected `{expected}`); read all the same")))
        }
    }
}

/// A codebook as read, with what a project needs to resolve references to it.
pub(crate) struct BookRead {
    pub book: Codebook,
    /// Normalised GUID to code id.
    pub by_guid: HashMap<String, String>,
    /// Notes attached to codes: (note GUID, code name).
    pub code_notes: Vec<(String, String)>,
}

#[derive(Default)]
struct Walk {
    /// Warnings about invalid GUIDs, listed together at the end.
    invalid_guids: Vec<String>,
    codes: Vec<Code>,
    ids: Unique,
    by_guid: HashMap<String, String>,
    code_notes: Vec<(String, String)>,
    not_codable: usize,
    unnamed: usize,
}

/// Reads the `<Code>` tree under `codes` (a `<Codes>` element) into a codebook: a code's id is the
/// slug of its name (lower case, `_` kept: `possible_exam_method`), a sub-code's id its parent's
/// id, `/` and its own (`blackboard/open_book`), made unique (`-2`) only between codes of the same
/// place and name; parents are the enclosing codes, listing order is document order.
pub(crate) fn read_codes(codes: Option<&Element>, file: &str, warnings: &mut Vec<Warning>) -> BookRead {
    let mut w = Walk::default();
    if let Some(codes) = codes {
        walk(codes, None, &mut w, file, warnings);
    }
    // A program that writes its own kind of ids writes them for every code: a few named, then
    // how many in all.
    let n_invalid = w.invalid_guids.len();
    crate::export::push_listed(warnings, std::mem::take(&mut w.invalid_guids), |more| {
        format!("{file}: ... and {more} more code(s) with an invalid GUID ({n_invalid} in all); new ones were made")
    });
    if w.not_codable > 0 {
        warnings.push(Warning::new(format!(
            "{file}: {} code(s) are marked not codable (folders or categories); imported as ordinary codes",
            w.not_codable
        )));
    }
    if w.unnamed > 0 {
        warnings.push(Warning::new(format!("{file}: {} code(s) have no name; named after their id", w.unnamed)));
    }
    BookRead {
        book: Codebook { codebook: Default::default(), codes: w.codes },
        by_guid: w.by_guid,
        code_notes: w.code_notes,
    }
}

fn walk(parent_el: &Element, parent: Option<&str>, w: &mut Walk, file: &str, warnings: &mut Vec<Warning>) {
    for el in parent_el.children("Code") {
        let raw_guid = el.attr("guid").unwrap_or("").trim();
        let given = el.attr("name").map(str::trim).filter(|n| !n.is_empty());
        let base = given.map(slug).filter(|s| !s.is_empty()).unwrap_or_else(|| "code".to_string());
        // A code is its place and its name: a sub-code's id is its parent's, `/`, and its own.
        let base = match parent {
            Some(p) => format!("{p}/{base}"),
            None => base,
        };
        let id = w.ids.make(&base);
        let name = match given {
            Some(n) => n.to_string(),
            None => {
                w.unnamed += 1;
                id.clone()
            }
        };
        if raw_guid.is_empty() {
            warnings.push(Warning::new(format!("{file}: code `{name}` has no GUID; a new one was made")));
        } else if !guid::is_valid(raw_guid) {
            w.invalid_guids.push(format!("{file}: code `{name}` has an invalid GUID `{raw_guid}`; a new one was made"));
        }
        let norm = guid::normalize(raw_guid);
        if !norm.is_empty() {
            match w.by_guid.entry(norm) {
                std::collections::hash_map::Entry::Occupied(_) => warnings.push(Warning::new(format!(
                    "{file}: code `{name}` repeats the GUID `{raw_guid}` of another code; references to it go to the first"
                ))),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(id.clone());
                }
            }
        }
        if matches!(el.attr("isCodable").map(str::trim), Some("false" | "0")) {
            w.not_codable += 1;
        }
        let colour = el.attr("color").and_then(|raw| match colour::read(raw) {
            Colour::Valid(c) => Some(c),
            Colour::Converted(c) => {
                warnings.push(Warning::new(format!(
                    "{file}: code `{name}` has colour `{raw}`, not `#RRGGBB`; read as `{c}`"
                )));
                Some(c)
            }
            Colour::Invalid => {
                warnings
                    .push(Warning::new(format!("{file}: code `{name}` has colour `{raw}`, not a colour; left out")));
                None
            }
        });
        let description = el.child_text("Description").map(str::trim).unwrap_or("").to_string();
        for r in el.children("NoteRef") {
            if let Some(t) = r.attr("targetGUID") {
                w.code_notes.push((guid::normalize(t), name.clone()));
            }
        }
        w.codes.push(Code {
            id: id.clone(),
            name,
            description,
            parent: parent.map(str::to_string),
            colour,
            examples: Vec::new(),
            rules: Rules::default(),
        });
        walk(el, Some(&id), w, file, warnings);
    }
}

/// Writes the `<Code>` elements of a codebook as a tree, each line indented by `indent` levels
/// of two spaces. Codes whose parent is unknown, or that sit in a cycle of parents, are written
/// at the top. Returns each code id's GUID (the first code of a repeated id has the plain one).
pub(crate) fn write_codes(
    out: &mut String,
    book: &Codebook,
    project_key: &str,
    indent: usize,
) -> HashMap<String, String> {
    let n = book.codes.len();
    let mut first_of: HashMap<&str, usize> = HashMap::new();
    for (i, c) in book.codes.iter().enumerate() {
        first_of.entry(c.id.as_str()).or_insert(i);
    }
    let mut kids: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut roots = Vec::new();
    for (i, c) in book.codes.iter().enumerate() {
        match c.parent.as_deref().and_then(|p| first_of.get(p)) {
            Some(&p) if p != i => kids[p].push(i),
            _ => roots.push(i),
        }
    }
    let mut guids: Vec<String> = Vec::with_capacity(n);
    let mut used: HashSet<String> = HashSet::new();
    let mut by_id = HashMap::new();
    for (i, c) in book.codes.iter().enumerate() {
        let mut g = code_guid_of(project_key, &c.id, 0);
        let mut k = 1;
        while !used.insert(g.clone()) {
            g = code_guid_of(project_key, &c.id, k);
            k += 1;
        }
        if first_of.get(c.id.as_str()) == Some(&i) {
            by_id.insert(c.id.clone(), g.clone());
        }
        guids.push(g);
    }
    let mut done = vec![false; n];
    let mut order: Vec<usize> = roots;
    // Codes only reachable through a cycle of parents become roots, in listing order.
    let mut reach = vec![false; n];
    let mut stack: Vec<usize> = order.clone();
    while let Some(i) = stack.pop() {
        if !std::mem::replace(&mut reach[i], true) {
            stack.extend(&kids[i]);
        }
    }
    for i in 0..n {
        if !reach[i] {
            order.push(i);
            let mut stack = vec![i];
            while let Some(j) = stack.pop() {
                if !std::mem::replace(&mut reach[j], true) {
                    stack.extend(&kids[j]);
                }
            }
        }
    }
    order.sort_unstable();
    for i in order {
        write_code(out, book, &kids, &guids, i, indent, &mut done);
    }
    by_id
}

fn code_guid_of(project_key: &str, id: &str, k: usize) -> String {
    if k == 0 { guid::code_guid(project_key, id) } else { guid::v5(&["code", project_key, id, &k.to_string()]) }
}

fn write_code(
    out: &mut String,
    book: &Codebook,
    kids: &[Vec<usize>],
    guids: &[String],
    i: usize,
    indent: usize,
    done: &mut [bool],
) {
    if std::mem::replace(&mut done[i], true) {
        return;
    }
    let c = &book.codes[i];
    let pad = "  ".repeat(indent);
    let name = if c.name.trim().is_empty() { &c.id } else { &c.name };
    out.push_str(&format!("{pad}<Code guid=\"{}\" name=\"{}\" isCodable=\"true\"", guids[i], esc_attr(name)));
    if let Some(col) = c.colour.as_deref().and_then(|c| match colour::read(c) {
        Colour::Valid(x) | Colour::Converted(x) => Some(x),
        Colour::Invalid => None,
    }) {
        out.push_str(&format!(" color=\"{col}\""));
    }
    let children: Vec<usize> = kids[i].iter().copied().filter(|&k| !done[k]).collect();
    let description = c.description.trim();
    if children.is_empty() && description.is_empty() {
        out.push_str("/>\n");
        return;
    }
    out.push_str(">\n");
    if !description.is_empty() {
        out.push_str(&format!("{pad}  <Description>{}</Description>\n", esc_text(description)));
    }
    for k in children {
        write_code(out, book, kids, guids, k, indent + 1, done);
    }
    out.push_str(&format!("{pad}</Code>\n"));
}

/// The codebook as a REFI-QDA codebook file (`.qdc`, valid against `Codebook.xsd`, namespace
/// `urn:QDA-XML:codebook:1.0`).
///
/// The tree is expressed by nesting; each code has `isCodable="true"`, a GUID from
/// [`code_guid`](crate::code_guid) (stable across exports), its description as `<Description>`
/// and its colour as `#rrggbb` (other readable forms such as `rgb(...)` are converted; an
/// unreadable colour is left out). Examples and auto-coding rules have no place in the format.
/// An empty codebook gives an empty `<Codes/>`, which the schema does not allow.
pub fn export_qdc(book: &Codebook, project_key: &str) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n");
    out.push_str(&format!("<CodeBook xmlns=\"{CODEBOOK_NS}\" origin=\"{}\">\n", esc_attr(&origin())));
    if book.codes.is_empty() {
        out.push_str("  <Codes/>\n");
    } else {
        out.push_str("  <Codes>\n");
        write_codes(&mut out, book, project_key, 2);
        out.push_str("  </Codes>\n");
    }
    out.push_str("</CodeBook>\n");
    out
}

/// Reads a REFI-QDA codebook file (`.qdc`), best effort.
///
/// Code ids are slugs of the names, made unique (`-2`, `-3`, ...); a code's parent is the code
/// it is nested in. Read with a [`Warning`] each: invalid or repeated GUIDs, colours that are
/// not `#RRGGBB` (converted when readable, else left out), a namespace other than
/// `urn:QDA-XML:codebook:1.0`, a project file instead of a codebook, code sets (not imported).
/// A BOM and an empty `<Sets/>` are fine. XML that is not well-formed, or has a DOCTYPE, is an
/// [`Error`] saying where.
pub fn import_qdc(xml: &str) -> Result<(Codebook, Vec<Warning>)> {
    read_qdc(xml).map(|(read, warnings)| (read.book, warnings))
}

/// [`import_qdc`]'s reading, with the codes' GUIDs.
fn read_qdc(xml: &str) -> Result<(BookRead, Vec<Warning>)> {
    const FILE: &str = "codebook";
    let root = xml::parse(FILE, xml)?;
    let mut warnings = Vec::new();
    let codes = match root.name.as_str() {
        "CodeBook" => {
            check_namespace(&root, CODEBOOK_NS, FILE, &mut warnings);
            let sets = root.child("Sets").map_or(0, |s| s.children("Set").count());
            if sets > 0 {
                warnings.push(Warning::new(format!(
                    "{FILE}: {sets} code set(s) not imported (fieldnotes has no code sets)"
                )));
            }
            root.child("Codes")
        }
        "Project" => {
            warnings
                .push(Warning::new(format!("{FILE}: a REFI-QDA project file, not a codebook; its codebook was read")));
            root.child("CodeBook").and_then(|c| c.child("Codes"))
        }
        other => {
            return Err(Error::Format {
                file: FILE.into(),
                message: format!("the root element is `<{other}>`, not `<CodeBook>`: not a REFI-QDA codebook"),
            });
        }
    };
    if codes.is_none() {
        warnings.push(Warning::new(format!("{FILE}: no `<Codes>` element; the codebook is empty")));
    }
    let read = read_codes(codes, FILE, &mut warnings);
    Ok((read, warnings))
}

/// [`import_qdc`] for a project whose codebook is `current` (its GUIDs made with
/// `project_key`): a code whose GUID is one [`export_qdc`] gave a code of `current` keeps that
/// code's id (ledgers name codes by id: re-slugged from its name, its codings would lose it) and
/// what the format has no place for (examples, auto-coding rules); so does the codebook's name
/// and version where the file has none. A file from another program reads as [`import_qdc`]
/// reads it.
pub fn import_qdc_into(xml: &str, current: &Codebook, project_key: &str) -> Result<(Codebook, Vec<Warning>)> {
    let (read, warnings) = read_qdc(xml)?;
    let mut book = read.book;
    let ours: HashMap<String, &Code> =
        current.codes.iter().map(|c| (crate::guid::code_guid(project_key, &c.id), c)).collect();
    let mut renames: HashMap<String, &Code> = HashMap::new();
    for (g, id) in &read.by_guid {
        if let Some(c) = ours.get(g) {
            renames.insert(id.clone(), c);
        }
    }
    if renames.is_empty() {
        return Ok((book, warnings));
    }
    let taken: std::collections::HashSet<String> = renames.values().map(|c| c.id.clone()).collect();
    // Codes not matched keep their ids, made unique against the ids kept.
    let mut new_id: HashMap<String, String> = HashMap::new();
    for c in &book.codes {
        let id = match renames.get(&c.id) {
            Some(ours) => ours.id.clone(),
            None => {
                let mut id = c.id.clone();
                let mut k = 2;
                while taken.contains(&id) {
                    id = format!("{}-{k}", c.id);
                    k += 1;
                }
                id
            }
        };
        new_id.insert(c.id.clone(), id);
    }
    for c in &mut book.codes {
        if let Some(ours) = renames.get(&c.id) {
            c.examples = ours.examples.clone();
            c.rules = ours.rules.clone();
        }
        c.id = new_id[&c.id].clone();
        c.parent = c.parent.as_ref().map(|p| new_id.get(p).cloned().unwrap_or_else(|| p.clone()));
    }
    if book.codebook.name.is_empty() {
        book.codebook.name = current.codebook.name.clone();
    }
    if book.codebook.version.is_empty() {
        book.codebook.version = current.codebook.version.clone();
    }
    if book.codebook.description.is_empty() {
        book.codebook.description = current.codebook.description.clone();
    }
    Ok((book, warnings))
}

/// The codes of `incoming` that `current` lacks, to add to it: a code is already there when a
/// code of `current` stands at the same place (under the code matched to its parent, or at the
/// top) with the same name or the same last part of its id, ignoring case. So `open_book` and
/// `blackboard > open_book` are two codes, and two `monitoring`s under different parents stay
/// two. A code of `current` is matched by one incoming code at most, so two of one name in the
/// file are two codes. The new codes' parents are the matched codes' ids; a new code's id is its
/// parent's id, `/` and its own last part (`-2`, `-3` where that is taken). In `incoming`'s
/// order.
pub fn new_codes(current: &Codebook, incoming: &Codebook) -> Vec<Code> {
    fn last(id: &str) -> &str {
        id.rsplit('/').next().unwrap_or(id)
    }
    let mut all: Vec<(String, String, Option<String>)> =
        current.codes.iter().map(|c| (c.id.clone(), c.name.clone(), c.parent.clone())).collect();
    // The codes of `current`, each matched by one incoming code at most: a second `Trust` in the
    // file is a code of its own (`trust-2`), not dropped as the first one's.
    let existing = all.len();
    let mut matched: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut mapped: HashMap<&str, String> = HashMap::new();
    let mut out = Vec::new();
    // Parents before children, whatever the listing order; codes in a cycle of parents (or
    // under an unknown parent) are taken as top-level codes.
    let mut pending: Vec<&Code> = incoming.codes.iter().collect();
    while !pending.is_empty() {
        let ready =
            |c: &&Code| c.parent.as_deref().is_none_or(|p| mapped.contains_key(p) || incoming.code(p).is_none());
        let mut batch: Vec<&Code> = pending.iter().copied().filter(ready).collect();
        if batch.is_empty() {
            batch.push(pending[0]);
        }
        pending.retain(|c| !batch.iter().any(|b| std::ptr::eq(*b, *c)));
        for c in batch {
            let parent = c.parent.as_deref().and_then(|p| mapped.get(p).cloned());
            let found = all[..existing].iter().find(|(id, name, p)| {
                *p == parent
                    && !matched.contains(id)
                    && ((!c.name.is_empty() && name.eq_ignore_ascii_case(&c.name))
                        || last(id).eq_ignore_ascii_case(last(&c.id)))
            });
            let id = match found {
                Some((id, _, _)) => {
                    matched.insert(id.clone());
                    id.clone()
                }
                None => {
                    let base = match &parent {
                        Some(p) => format!("{p}/{}", last(&c.id)),
                        None => last(&c.id).to_string(),
                    };
                    let mut id = base.clone();
                    let mut k = 2;
                    while all.iter().any(|(x, _, _)| x.eq_ignore_ascii_case(&id)) {
                        id = format!("{base}-{k}");
                        k += 1;
                    }
                    all.push((id.clone(), c.name.clone(), parent.clone()));
                    let at = incoming.codes.iter().position(|x| std::ptr::eq(x, c)).unwrap_or(0);
                    out.push((at, Code { id: id.clone(), parent: parent.clone(), ..c.clone() }));
                    id
                }
            };
            mapped.insert(&c.id, id);
        }
    }
    out.sort_by_key(|(at, _)| *at);
    out.into_iter().map(|(_, c)| c).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_codes_keep_their_place_and_name() {
        let book = |codes: &[(&str, &str, Option<&str>)]| Codebook {
            codebook: Default::default(),
            codes: codes.iter().map(|(id, name, parent)| code(id, name, *parent)).collect(),
        };
        let current = book(&[
            ("open_book", "open_book", None),
            ("monitoring", "Monitoring", None),
            ("student_privacy", "student_privacy", None),
            ("student_privacy/monitoring", "monitoring", Some("student_privacy")),
        ]);
        let incoming = book(&[
            ("blackboard/open_book", "open_book", Some("blackboard")),
            ("blackboard", "blackboard", None),
            ("open_book", "Open_Book", None),
            ("student_privacy", "Student_Privacy", None),
            ("student_privacy/monitoring", "monitoring", Some("student_privacy")),
            ("student_discomfort", "student_discomfort", None),
            ("student_discomfort/monitoring", "monitoring", Some("student_discomfort")),
        ]);
        let new: Vec<(String, Option<String>)> =
            new_codes(&current, &incoming).into_iter().map(|c| (c.id, c.parent)).collect();
        let want = [
            ("blackboard/open_book", Some("blackboard")),
            ("blackboard", None),
            ("student_discomfort", None),
            ("student_discomfort/monitoring", Some("student_discomfort")),
        ];
        assert_eq!(new, want.map(|(a, b)| (a.to_string(), b.map(str::to_string))));
        // Two codes of one name in the file (in any case), and a second under one parent: each
        // a code, whether or not the project had one of that name.
        let current = book(&[("trust", "Trust", None)]);
        let incoming = book(&[
            ("trust", "Trust", None),
            ("trust-x", "trust", None),
            ("cost", "Cost", None),
            ("barriers", "Barriers", None),
            ("barriers/cost", "Cost", Some("barriers")),
            ("barriers/cost-b", "Cost", Some("barriers")),
        ]);
        let new: Vec<String> = new_codes(&current, &incoming).into_iter().map(|c| c.id).collect();
        assert_eq!(new, ["trust-x", "cost", "barriers", "barriers/cost", "barriers/cost-b"]);
        let empty = book(&[]);
        let incoming = book(&[("trust", "Trust", None), ("trust2", "Trust", None), ("trust3", "trust", None)]);
        let new: Vec<String> = new_codes(&empty, &incoming).into_iter().map(|c| c.id).collect();
        assert_eq!(new, ["trust", "trust2", "trust3"]);
    }

    fn code(id: &str, name: &str, parent: Option<&str>) -> Code {
        Code {
            id: id.into(),
            name: name.into(),
            description: String::new(),
            parent: parent.map(Into::into),
            colour: None,
            examples: vec![],
            rules: Rules::default(),
        }
    }

    #[test]
    fn tree_and_escaping() {
        let mut book = Codebook::default();
        book.codes.push(code("b", "Kid <b>", Some("a")));
        book.codes.push(code("a", "Top & \"more\"", None));
        book.codes.push(code("x", "Cycle x", Some("y")));
        book.codes.push(code("y", "Cycle y", Some("x")));
        book.codes.push(code("o", "Orphan", Some("nowhere")));
        book.codes.push(code("a", "Same id", None));
        book.codes[1].description = "  Uses <tags> & \"quotes\"\n\nand lines.  ".into();
        book.codes[1].colour = Some("rgb(0, 128, 255)".into());
        book.codes[0].colour = Some("not a colour".into());
        let xml = export_qdc(&book, "k");
        assert!(xml.contains("name=\"Top &amp; &quot;more&quot;\""), "{xml}");
        assert!(xml.contains("color=\"#0080ff\""));
        assert_eq!(xml.matches("color=").count(), 1);
        assert_eq!(xml.matches("<Code ").count(), 6);
        let guids: HashSet<&str> = xml.match_indices("guid=\"").map(|(i, _)| &xml[i + 6..i + 42]).collect();
        assert_eq!(guids.len(), 6, "GUIDs are unique even for a repeated id");
        let (back, w) = import_qdc(&xml).unwrap();
        assert!(w.is_empty(), "{w:?}");
        let names: Vec<(&str, Option<&str>)> =
            back.codes.iter().map(|c| (c.name.as_str(), c.parent.as_deref())).collect();
        assert_eq!(
            names,
            [
                ("Top & \"more\"", None),
                ("Kid <b>", Some("top-more")),
                ("Cycle x", None),
                ("Cycle y", Some("cycle-x")),
                ("Orphan", None),
                ("Same id", None),
            ]
        );
        assert_eq!(back.codes[0].description, "Uses <tags> & \"quotes\"\n\nand lines.");
        assert_eq!(back.codes[0].colour.as_deref(), Some("#0080ff"));
    }

    #[test]
    fn best_effort_reading() {
        let xml = "\u{FEFF}<?xml version=\"1.0\"?><CodeBook xmlns=\"urn:QDA-XML:codebook:1:0\"><Codes>\
            <Code guid=\"c001\" name=\"Joy\" isCodable=\"true\" color=\"rgb(1,2,3)\"><Code guid=\"{AAAAAAAA-0000-0000-0000-000000000001}\" name=\"Joy\" isCodable=\"false\" color=\"teal\"/></Code>\
            <Code guid=\"aaaaaaaa-0000-0000-0000-000000000001\" name=\"\" isCodable=\"true\" color=\"#12\"/>\
            </Codes><Sets/></CodeBook>";
        let (book, w) = import_qdc(xml).unwrap();
        let ids: Vec<&str> = book.codes.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["joy", "joy/joy", "code"]);
        assert_eq!(book.codes[1].parent.as_deref(), Some("joy"));
        assert_eq!(book.codes[0].colour.as_deref(), Some("#010203"));
        assert_eq!(book.codes[1].colour.as_deref(), Some("#008080"));
        assert_eq!(book.codes[2].colour, None);
        let all: String = w.iter().map(|w| format!("{w}\n")).collect();
        for needle in [
            "namespace `urn:QDA-XML:codebook:1:0`",
            "code `Joy` has an invalid GUID `c001`; a new one was made",
            "colour `rgb(1,2,3)`",
            "repeats the GUID",
            "not codable",
            "colour `#12`, not a colour",
            "have no name",
        ] {
            assert!(all.contains(needle), "{needle}: {all}");
        }
        assert!(!all.contains("set"), "{all}");
    }

    #[test]
    fn not_a_codebook() {
        let e = import_qdc("<Other/>").unwrap_err().to_string();
        assert!(e.contains("not a REFI-QDA codebook"), "{e}");
        let e = import_qdc("<CodeBook><Codes><Code name=\"a\"></Codes></CodeBook>").unwrap_err().to_string();
        assert!(e.contains("line 1, column"), "{e}");
        let (b, w) = import_qdc(
            "<Project xmlns=\"urn:QDA-XML:project:1.0\" name=\"p\"><CodeBook><Codes><Code guid=\"aaaaaaaa-0000-0000-0000-000000000001\" name=\"x\" isCodable=\"true\"/></Codes></CodeBook></Project>",
        )
        .unwrap();
        assert_eq!(b.codes.len(), 1);
        assert!(w[0].message.contains("project file"), "{w:?}");
    }
}
