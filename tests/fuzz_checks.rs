//! What must hold for any input at all: the properties the cargo-fuzz targets in `fuzz/` check,
//! shared with `cargo test`, which replays the inputs the fuzzers kept (`fuzz/corpus/<target>/`).
//!
//! Each function takes raw bytes, must not panic, and asserts the property of its parser.

use std::io::Write;
use std::path::Path;

use fieldnotes_corpus::{SplitOptions, char_to_byte, count_words, parse_document, text_hash};

/// The front-matter parser: a body offset inside the text, on a character boundary, and no more
/// fence lines than the text has lines.
pub fn front_matter(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    match fieldnotes_corpus::frontmatter::parse(text) {
        Ok(p) => {
            assert!(p.body_start <= text.len(), "body starts past the end");
            assert!(text.is_char_boundary(p.body_start), "body starts inside a character");
            assert!(p.lines <= text.split_inclusive('\n').count(), "more front-matter lines than lines");
            if p.lines == 0 {
                assert_eq!(p.body_start, 0);
            }
        }
        Err(e) => {
            // Errors name a line of the file.
            assert!(e.line >= 1 && e.line <= text.split_inclusive('\n').count().max(1), "error line {}", e.line);
        }
    }
}

/// The passage splitter: passages in order, never overlapping, on character boundaries, with
/// code-point offsets, line numbers and word counts that agree with the text.
pub fn passages(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    for speaker_turns in [false, true] {
        let Ok(doc) = parse_document("n.md".into(), text.to_string(), &SplitOptions { speaker_turns }) else {
            return;
        };
        // Offsets count in the note's text as read (wikilinks as their shown text); every
        // line keeps its place.
        assert_eq!(doc.text.matches('\n').count(), text.matches('\n').count(), "lines moved");
        let text = doc.text.as_str();
        let mut prev_end = 0;
        for (i, p) in doc.passages.iter().enumerate() {
            assert_eq!(p.ordinal as usize, i + 1);
            assert!(prev_end <= p.byte_start && p.byte_start < p.byte_end && p.byte_end <= text.len());
            assert!(text.is_char_boundary(p.byte_start) && text.is_char_boundary(p.byte_end));
            assert_eq!(text[..p.byte_start].chars().count(), p.start, "code-point start of #{}", p.ordinal);
            assert_eq!(p.start + text[p.byte_start..p.byte_end].chars().count(), p.end);
            assert_eq!(char_to_byte(text, p.start), Some(p.byte_start));
            assert_eq!(char_to_byte(text, p.end), Some(p.byte_end));
            assert_eq!(p.line, text[..p.byte_start].matches('\n').count() + 1, "line of #{}", p.ordinal);
            let body = doc.passage_text(p);
            assert_eq!(body, body.trim(), "passage #{} is not trimmed", p.ordinal);
            assert_eq!(p.words, count_words(body));
            assert_eq!(p.hash, text_hash(body));
            prev_end = p.byte_end;
        }
    }
}

/// The query parser: an error points at a column inside the query (or just past it).
pub fn query(data: &[u8]) {
    let Ok(q) = std::str::from_utf8(data) else { return };
    if let Err(e) = fieldnotes_index::parse(q) {
        let n = q.chars().count();
        assert!(e.column >= 1 && e.column <= n + 1, "column {} of a {n}-character query", e.column);
        assert!(!e.message.is_empty() && !e.hint.is_empty());
        let _ = e.pointer(q);
    }
}

/// The ledger reader: every line is either folded or reported with its number; only an
/// unterminated last line is called torn.
pub fn ledger(data: &[u8]) {
    let state = fieldnotes_coding::ledger::fold_bytes(Path::new("codings/x.jsonl"), data);
    let lines = data.split(|&b| b == b'\n').count();
    let mut seen = std::collections::HashSet::new();
    for bad in &state.bad_lines {
        assert!(bad.line >= 1 && bad.line <= lines, "bad line {} of {lines}", bad.line);
        assert!(seen.insert(bad.line), "line {} reported twice", bad.line);
        if bad.torn {
            assert_eq!(bad.line, lines, "only the last line can be torn");
            assert!(!data.ends_with(b"\n"));
        }
    }
    // What was read back is whole: no coding twice, none ending before it starts.
    let mut ids = std::collections::HashSet::new();
    for c in state.current() {
        assert!(ids.insert(&c.id), "coding {} listed twice", c.id);
        assert!(c.start <= c.end, "coding {} ends before it starts", c.id);
    }
    // Folding is deterministic: the same bytes give the same codings.
    let again = fieldnotes_coding::ledger::fold_bytes(Path::new("codings/x.jsonl"), data);
    let ids = |s: &fieldnotes_coding::ledger::LedgerState| s.current().map(|c| c.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&state), ids(&again));
}

/// The REFI-QDA importers: a codebook (`.qdc`) from the bytes as XML, and a project (`.qdpx`)
/// from the bytes as an archive and from the bytes as the `project.qde` of an archive. Any
/// input is imported or refused with an error; nothing panics.
pub fn refi(data: &[u8]) {
    let _ = fieldnotes_refi::import_qdpx(data);
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok((book, _)) = fieldnotes_refi::import_qdc(text)
    {
        let mut ids = std::collections::HashSet::new();
        for c in &book.codes {
            assert!(ids.insert(c.id.clone()), "code id {} imported twice", c.id);
        }
    }
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    zip.start_file("project.qde", opts).expect("zip entry");
    zip.write_all(data).expect("zip write");
    let bytes = zip.finish().expect("zip finish").into_inner();
    if let Ok(imported) = fieldnotes_refi::import_qdpx(&bytes) {
        // Every imported coding lies inside the text of its note.
        for codings in imported.codings.values() {
            for c in codings {
                let (_, text) =
                    imported.notes.iter().find(|(path, _)| *path == c.doc).expect("coding of a written note");
                assert!(
                    c.start <= c.end && c.end <= text.chars().count(),
                    "coding {}..{} outside {}",
                    c.start,
                    c.end,
                    c.doc
                );
            }
        }
    }
}
