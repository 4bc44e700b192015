//! A pseudonymised copy of a study: each name of a list replaced by its pseudonym in the notes,
//! the codings carried onto the rewritten text (their words, hashes, evidence and memos too),
//! and a check that no listed name, email address or phone number is left in the notes, the
//! ledgers or the exports.

use std::fs;
use std::path::{Path, PathBuf};

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use anyhow::{Context, Result, bail};
use fieldnotes_coding::ledger::{Event, Ledger};
use fieldnotes_corpus::Project;
use regex::Regex;

use crate::Tell;

/// The names to replace, each with its pseudonym: whole words, any case, longest first.
pub struct Names {
    ac: AhoCorasick,
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
    let mut names = Vec::new();
    let mut pseudonyms = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let rec = rec.with_context(|| format!("`{}` row {}", path.display(), i + 2))?;
        let (Some(name), Some(pseudo)) = (rec.get(0), rec.get(1)) else {
            bail!("`{}` row {}: expected `name,pseudonym`", path.display(), i + 2);
        };
        if name.trim().is_empty() {
            continue;
        }
        names.push(name.trim().to_string());
        pseudonyms.push(pseudo.trim().to_string());
    }
    if names.is_empty() {
        bail!("`{}` lists no names; write a header `name,pseudonym` and one row per person", path.display());
    }
    let ac =
        AhoCorasickBuilder::new().ascii_case_insensitive(true).match_kind(MatchKind::LeftmostLongest).build(&names)?;
    Ok(Names { ac, pseudonyms, names })
}

fn is_word(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric())
}

/// Whole-word matches of the names in `text`: (byte start, byte end, name index).
fn find(names: &Names, text: &str) -> Vec<(usize, usize, usize)> {
    names
        .ac
        .find_iter(text)
        .filter(|m| !is_word(text[..m.start()].chars().next_back()) && !is_word(text[m.end()..].chars().next()))
        .map(|m| (m.start(), m.end(), m.pattern().as_usize()))
        .collect()
}

/// Replaces the names; returns the new text and, for mapping offsets, the replaced spans in
/// code points: (old start, old end, new length).
pub fn replace(names: &Names, text: &str) -> (String, Vec<(usize, usize, usize)>) {
    let mut out = String::with_capacity(text.len());
    let mut spans = Vec::new();
    let mut last = 0;
    let mut cp = 0;
    for (s, e, i) in find(names, text) {
        out.push_str(&text[last..s]);
        cp += text[last..s].chars().count();
        let old_len = text[s..e].chars().count();
        let new = &names.pseudonyms[i];
        spans.push((cp, cp + old_len, new.chars().count()));
        out.push_str(new);
        cp += old_len;
        last = e;
    }
    out.push_str(&text[last..]);
    (out, spans)
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

/// Writes the pseudonymised copy of `project` to `out` (which must be new or empty, and must
/// not hold the names file at `names_path`): the settings and codebook, each note with the names
/// replaced, and every current coding at its words' new place in the copy's ledgers. Returns
/// the notes and codings written.
pub fn write_copy(
    project: &Project,
    names: &Names,
    names_path: &Path,
    out: &Path,
    tell: &dyn Tell,
) -> Result<(usize, usize)> {
    let root = project.root();
    if out.exists() && fs::read_dir(out)?.next().is_some() {
        bail!("`{}` exists and is not empty; choose another `--out` (nothing was written)", out.display());
    }
    let names_abs = names_path.canonicalize().unwrap_or_else(|_| names_path.to_path_buf());
    let out_abs = out.canonicalize().unwrap_or_else(|_| out.to_path_buf());
    if names_abs.starts_with(&out_abs) {
        bail!("the names file is inside `{}`; keep the mapping outside the copy you share", out.display());
    }
    let write = |path: &Path, bytes: &[u8]| -> Result<()> {
        fieldnotes_corpus::atomic::write(path, bytes).with_context(|| format!("cannot write `{}`", path.display()))
    };
    for f in ["fieldnotes.toml", &project.config.codebook] {
        let src = root.join(f);
        if src.is_file() {
            write(&out.join(f), &fs::read(&src)?)?;
        }
    }
    // A batch of notes at a time: each note written with the names replaced, and its codings,
    // their offsets carried onto the rewritten text, appended to the copy's ledgers (codings of
    // notes that could not be read or are gone last, as they are).
    let (mut notes, mut n_codings) = (0, 0);
    crate::study::place_in_batches(project, tell, |corpus, codings, _| {
        let mut spans_of: std::collections::HashMap<String, Rewritten> = std::collections::HashMap::new();
        for d in &corpus.documents {
            let (text, spans) = replace(names, &d.text);
            write(&out.join(&d.path), text.as_bytes())?;
            spans_of.insert(d.path.clone(), (text, spans));
        }
        notes += corpus.documents.len();
        for (coder, state) in &codings.ledgers {
            let events: Vec<Event> = state.current().map(|c| Event::Add(redacted(names, &spans_of, c))).collect();
            if !events.is_empty() {
                n_codings += events.len();
                Ledger::new(out, coder)?.append(&events)?;
            }
        }
        Ok(())
    })?;
    Ok((notes, n_codings))
}

/// A note rewritten: its new text, and the spans replaced (as [`replace`] gives them).
type Rewritten = (String, Vec<(usize, usize, usize)>);

/// Coding `c` in the pseudonymised copy: where its note was rewritten (`spans_of`, the note's
/// new text and the spans replaced), at its words' new place, with the new words and their
/// hash; its evidence and memo with the names replaced.
fn redacted(
    names: &Names,
    spans_of: &std::collections::HashMap<String, Rewritten>,
    c: &fieldnotes_coding::Coding,
) -> fieldnotes_coding::Coding {
    let mut c = c.clone();
    if let Some((text, spans)) = spans_of.get(&c.doc) {
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
            h.text = replace(names, &h.text).0;
        }
    }
    c.memo = c.memo.map(|m| replace(names, &m).0);
    c
}

fn scan_file(path: &Path, names: Option<&Names>, email: &Regex, phone: &Regex, found: &mut Vec<String>) {
    let Ok(bytes) = fs::read(path) else { return };
    let text = String::from_utf8_lossy(&bytes);
    for (i, line) in text.lines().enumerate() {
        let mut hits: Vec<String> = Vec::new();
        if let Some(n) = names {
            hits.extend(find(n, line).into_iter().map(|(_, _, k)| format!("name `{}`", n.names[k])));
        }
        hits.extend(email.find_iter(line).map(|m| format!("email address `{}`", m.as_str())));
        hits.extend(phone.find_iter(line).map(|m| format!("phone number `{}`", m.as_str().trim())));
        for h in hits {
            found.push(format!("{}:{}: {h}", path.display(), i + 1));
        }
    }
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
    /// `path:line: name `X`` (or email address, phone number), in the order of the files.
    pub found: Vec<String>,
}

/// Scans the notes, the ledgers and `paths` (files or folders: exports) for the names listed
/// in `names_path` (if given), email addresses and phone numbers.
pub fn check(project: &Project, names_path: Option<&Path>, paths: &[PathBuf]) -> Result<Findings> {
    let names = names_path.map(read_names).transpose()?;
    let email = Regex::new(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")?;
    // International or UK-style numbers: 10 to 13 digits, spaces or dashes allowed between.
    let phone = Regex::new(r"(?:^|[^\w])(\+?\d(?:[ -]?\d){9,12})(?:$|[^\w])")?;
    let mut files = Vec::new();
    walk(&project.root().join("notes"), &mut files);
    walk(&project.root().join(fieldnotes_coding::ledger::CODINGS_DIR), &mut files);
    for p in paths {
        walk(p, &mut files);
    }
    files.sort();
    let mut found = Vec::new();
    for f in &files {
        if names_path.is_some_and(|n| n.canonicalize().ok() == f.canonicalize().ok()) {
            continue;
        }
        scan_file(f, names.as_ref(), &email, &phone, &mut found);
    }
    Ok(Findings { files: files.len(), found })
}

#[cfg(test)]
mod tests {
    use super::*;

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
