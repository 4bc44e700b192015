//! Tests over the real samples in `testdata/`, hostile archives, schema validation with
//! libxml2 (in-process, as `xmllint` would), and export/import round trips of generated projects.

use std::collections::HashMap;
use std::io::{Cursor, Read, Write};
use std::path::Path;

use fieldnotes_coding::ledger::{coding_id, now};
use fieldnotes_coding::{Code, Codebook, Coding, Origin, Rules, Status};
use fieldnotes_corpus::{Corpus, Document, SplitOptions, Value, frontmatter, parse_document, text_hash};
use quick_xml::events::Event;
use zip::write::SimpleFileOptions;

use crate::colour::{self, Colour};
use crate::positions::to_lf;
use crate::*;

// ---------------------------------------------------------------- helpers

fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn unzip(bytes: &[u8], name: &str) -> String {
    let mut z = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    let mut s = String::new();
    z.by_name(name).unwrap().read_to_string(&mut s).unwrap();
    s
}

/// Element counts by local name, and the number of top-level codes, from an independent
/// quick-xml pass (no tree).
fn xml_stats(xml: &str) -> (HashMap<String, usize>, usize) {
    let mut r = quick_xml::Reader::from_str(xml.trim_start_matches('\u{FEFF}'));
    let mut counts: HashMap<String, usize> = HashMap::new();
    let mut path: Vec<String> = Vec::new();
    let mut top_codes = 0;
    loop {
        match r.read_event().unwrap() {
            Event::Start(e) => {
                let n = e.local_name().as_ref().to_string();
                if n == "Code" && path.last().is_some_and(|p| p == "Codes") {
                    top_codes += 1;
                }
                *counts.entry(n.clone()).or_default() += 1;
                path.push(n);
            }
            Event::Empty(e) => {
                let n = e.local_name().as_ref().to_string();
                if n == "Code" && path.last().is_some_and(|p| p == "Codes") {
                    top_codes += 1;
                }
                *counts.entry(n).or_default() += 1;
            }
            Event::End(_) => {
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (counts, top_codes)
}

fn n(stats: &HashMap<String, usize>, name: &str) -> usize {
    stats.get(name).copied().unwrap_or(0)
}

/// Every `Coding` element is accounted for exactly once.
fn assert_accounted(c: &Counts) {
    assert_eq!(
        c.codings,
        c.imported + c.outside + c.no_text + c.unknown_code + c.duplicates + c.not_text,
        "every coding accounted for: {c:?}"
    );
}

/// Each imported coding's text is at its offsets in its note, read as the corpus reads it.
fn assert_offsets(imp: &Imported) {
    let notes: HashMap<&str, &str> = imp.notes.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let mut docs: HashMap<&str, Document> = HashMap::new();
    for list in imp.codings.values() {
        for c in list {
            let doc = docs.entry(c.doc.as_str()).or_insert_with(|| {
                let text = notes[c.doc.as_str()].to_string();
                parse_document(c.doc.clone(), text, &SplitOptions { speaker_turns: false }).expect("front matter reads")
            });
            let chars: Vec<char> = doc.text.chars().collect();
            let got: String = chars[c.start..c.end].iter().collect();
            assert_eq!(got, c.text, "{}", c.id);
            assert_eq!(c.hash, text_hash(&c.text));
            assert_eq!(c.id, coding_id(&c.coder, &c.doc, c.start, c.end, &c.code));
            assert!(fieldnotes_coding::ledger::validate_coder(&c.coder).is_ok(), "{}", c.coder);
            assert!(imp.book.code(&c.code).is_some());
            assert_eq!(c.origin, Origin::Import);
        }
    }
}

fn all_warnings(w: &[Warning]) -> String {
    w.iter().map(|w| format!("{w}\n")).collect()
}

fn body_of(note: &str) -> &str {
    let p = frontmatter::parse(note).unwrap();
    &note[p.body_start..]
}

const SCHEMAS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");

/// Checks `file` against one of the REFI-QDA schemas, in-process through libxml2; Ok when
/// valid, Err(libxml2's messages) when not. Callers first ask `fieldnotes_testkit::xsd::usable`.
fn xsd_check(xsd: &str, file: &Path) -> std::result::Result<(), String> {
    fieldnotes_testkit::xsd::validate(&Path::new(SCHEMAS).join(xsd), file).map_err(|e| e.to_string())
}

// ---------------------------------------------------------------- samples

const ATLAS_BLANK: &[u8] = include_bytes!("../testdata/atlasti-blank.qdpx");
const ATLAS_TARGET: &[u8] = include_bytes!("../testdata/atlasti-target.qdpx");
const QC_DEMO: &[u8] = include_bytes!("../testdata/qc-demo.qdpx");
const NVIVO_MAC: &[u8] = include_bytes!("../testdata/nvivo-mac.qdpx");
const F4_QDE: &str = include_str!("../testdata/f4-valid-document.qde");
const HAND_QDE: &str = include_str!("../testdata/handauthored/project.qde");
const HAND_TEXT: &str = include_str!("../testdata/handauthored/sources/11111111-1111-1111-1111-111111111111.txt");
const MASTODON_QDC: &str = include_str!("../testdata/mastodon-codebook.qdc");
const TAGUETTE_QDC: &str = include_str!("../testdata/taguette-codebook.qdc");

/// Checks the counts of an import against an independent count of the project XML.
fn assert_counts_match(imp: &Imported, xml: &str) {
    let (s, _) = xml_stats(xml);
    let c = &imp.counts;
    assert_eq!(c.codes, n(&s, "Code"), "codes");
    assert_eq!(imp.book.codes.len(), n(&s, "Code"));
    let sources: usize =
        ["TextSource", "PDFSource", "PictureSource", "AudioSource", "VideoSource"].iter().map(|k| n(&s, k)).sum();
    assert_eq!(c.sources, sources, "sources");
    assert_eq!(c.selections, n(&s, "PlainTextSelection") + n(&s, "TranscriptSelection"), "selections");
    assert_eq!(c.codings, n(&s, "Coding"), "codings");
    // And by plain string counts too.
    assert_eq!(c.codings, xml.matches("<Coding ").count());
    assert_eq!(c.codes, xml.matches("<Code ").count());
    assert_accounted(c);
    assert_offsets(imp);
}

#[test]
fn atlas_blank_project() {
    let imp = import_qdpx(ATLAS_BLANK).unwrap();
    assert_eq!(imp.name, "blank-atlas-project");
    assert!(imp.notes.is_empty() && imp.codings.is_empty() && imp.book.codes.is_empty());
    assert_counts_match(&imp, &unzip(ATLAS_BLANK, "project.qde"));
    assert!(imp.warnings.is_empty(), "{}", all_warnings(&imp.warnings));
}

#[test]
fn atlas_nested_codebook() {
    let imp = import_qdpx(ATLAS_TARGET).unwrap();
    let xml = unzip(ATLAS_TARGET, "project.qde");
    assert_counts_match(&imp, &xml);
    let (_, top) = xml_stats(&xml);
    let roots = imp.book.codes.iter().filter(|c| c.parent.is_none()).count();
    assert_eq!((roots, top), (1, 1));
    let b = &imp.book.codes;
    assert_eq!(b[0].name, "Commits");
    assert_eq!(b[1].name, "2022-05-10T02:05:59Z 19e4dce");
    assert_eq!(b[1].id, "commits/2022-05-10t02-05-59z-19e4dce");
    assert_eq!(b[1].parent.as_deref(), Some("commits"));
    assert_eq!(b[2].parent.as_deref(), Some("commits"));
    assert!(imp.warnings.is_empty(), "{}", all_warnings(&imp.warnings));
}

#[test]
fn qc_demo_line_selections() {
    let imp = import_qdpx(QC_DEMO).unwrap();
    let xml = unzip(QC_DEMO, "project.qde");
    assert_counts_match(&imp, &xml);
    let c = &imp.counts;
    assert_eq!((c.codes, c.sources, c.selections, c.codings), (262, 2, 158, 205));
    assert_eq!(c.imported, 205, "{}", all_warnings(&imp.warnings));
    assert_eq!(c.notes, 2);
    // Names like `line:6` are labels, not text: no mismatch is reported.
    assert_eq!(c.name_mismatches, 0);
    assert!(imp.warnings.is_empty(), "{}", all_warnings(&imp.warnings));
    // Every tree code id is unique even though names repeat (`programming` twice).
    let ids: std::collections::HashSet<&str> = imp.book.codes.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids.len(), 262);
    let (_, top) = xml_stats(&xml);
    assert_eq!(imp.book.codes.iter().filter(|c| c.parent.is_none()).count(), top);
    // Selections named `line:N` start at the start of 0-based line N of the text and end at
    // a line end: positions map exactly onto the bare-path source files.
    let notes: HashMap<&str, &str> = imp.notes.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let board = notes["notes/board_2017.md"];
    let raw = unzip(QC_DEMO, "sources/board_2017.txt");
    assert_eq!(body_of(board), raw);
    let sel_lines: Vec<(usize, usize)> = xml
        .split("<PlainTextSelection ")
        .skip(1)
        .filter_map(|s| {
            let line: usize = s.split("name=\"line:").nth(1)?.split('"').next()?.parse().ok()?;
            let start: usize = s.split("startPosition=\"").nth(1)?.split('"').next()?.parse().ok()?;
            Some((line, start))
        })
        .collect();
    assert_eq!(sel_lines.len(), 158);
    let line_starts: Vec<usize> = std::iter::once(0)
        .chain(raw.char_indices().filter(|&(_, ch)| ch == '\n').map(|(i, _)| raw[..=i].chars().count()))
        .collect();
    let mut checked = 0;
    for list in imp.codings.values() {
        for c in list.iter().filter(|c| c.doc == "notes/board_2017.md") {
            let offset = board.chars().count() - raw.chars().count();
            let start = c.start - offset;
            let line = line_starts.iter().position(|&s| s == start).expect("starts a line");
            assert!(sel_lines.contains(&(line, start)), "line {line} at {start}");
            assert!(c.text.ends_with('\n') || c.end - offset == raw.chars().count(), "{:?}", c.text);
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked}");
    assert_eq!(imp.codings.keys().collect::<Vec<_>>(), ["cp"]);
}

#[test]
fn nvivo_mac_tree_and_lowercase_sources() {
    let imp = import_qdpx(NVIVO_MAC).unwrap();
    let xml = unzip(NVIVO_MAC, "project.qde");
    assert_counts_match(&imp, &xml);
    let c = &imp.counts;
    assert_eq!((c.sources, c.selections, c.codings, c.notes), (2, 0, 0, 2));
    assert_eq!(c.codes, xml.matches("<Code ").count());
    // The sources' texts (`sources/<guid>.txt`, a lone line break) were found.
    for (path, text) in &imp.notes {
        assert!(path.starts_with("notes/"), "{path}");
        assert_eq!(body_of(text), "\n");
    }
    let (_, top) = xml_stats(&xml);
    assert_eq!(imp.book.codes.iter().filter(|c| c.parent.is_none()).count(), top);
    assert!(imp.book.check(None, None).iter().all(|f| f.severity == fieldnotes_coding::Severity::Warning));
    assert!(imp.warnings.is_empty(), "{}", all_warnings(&imp.warnings));
}

#[test]
fn f4_memo_only_selections_and_missing_texts() {
    // The sample comes without its texts: give one source a made-up text, and two notes.
    let text: String = (0..1400).map(|i| if i % 50 == 49 { '\n' } else { (b'a' + (i % 26) as u8) as char }).collect();
    let qdpx = zip_of(&[
        ("project.qde", F4_QDE.as_bytes()),
        ("sources/834517f4-6e9f-4425-9bdd-a4be2d36e7a0.txt", text.as_bytes()),
        ("sources/b4352c05-1171-41d9-9d27-401fd25cd8e7.txt", "Memo on the uncoded snippet".as_bytes()),
        ("sources/768169b3-d336-4ef3-8060-83bcb776a23d.txt", "\u{FEFF}Memo on the code".as_bytes()),
    ]);
    let imp = import_qdpx(&qdpx).unwrap();
    assert_counts_match(&imp, F4_QDE);
    let c = &imp.counts;
    assert_eq!((c.codes, c.sources, c.selections, c.codings), (1, 4, 4, 2));
    assert_eq!((c.imported, c.uncoded_selections, c.notes), (2, 2, 1));
    let w = all_warnings(&imp.warnings);
    assert!(w.contains("source `Interview 15mins`: its text `internal://333e1cde"), "{w}");
    assert!(w.contains("2 selection(s) carry no coding"), "{w}");
    let notes: HashMap<&str, &str> = imp.notes.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let memo = notes["notes/memos/interview-60mins.md"];
    assert!(memo.contains("Dies ist ein Memo, angeheftet an ein Text-Snippet (das nicht codiert ist!)"), "{memo}");
    assert!(memo.contains("Memo on the uncoded snippet"), "{memo}");
    assert!(memo.contains("source: notes/interview-60mins.md\n"), "{memo}");
    let code_memo = notes["notes/memos/note-768169b3.md"];
    assert!(code_memo.contains("about: code `Dies ist ein Test-Code`\n"), "{code_memo}");
    assert!(code_memo.ends_with("Memo on the code\n"), "{code_memo:?}");
    // The coded selections at 320..416 and 995..1260, by code point.
    let list = &imp.codings["imported"];
    let spans: Vec<String> = list.iter().map(|c| c.text.clone()).collect();
    let chars: Vec<char> = text.chars().collect();
    assert_eq!(spans[0], chars[320..416].iter().collect::<String>());
    assert_eq!(spans[1], chars[995..1260].iter().collect::<String>());
    // The other memo-only selection shares 995..1260 with a coded one: its description is a
    // memo of the uncoded selection, not of the coding.
    assert!(list.iter().all(|c| c.memo.is_none()));
}

fn hand_qdpx() -> Vec<u8> {
    zip_of(&[
        ("project.qde", HAND_QDE.as_bytes()),
        ("sources/11111111-1111-1111-1111-111111111111.txt", HAND_TEXT.as_bytes()),
    ])
}

#[test]
fn handauthored_every_element() {
    let imp = import_qdpx(&hand_qdpx()).unwrap();
    assert_counts_match(&imp, HAND_QDE);
    let c = &imp.counts;
    assert_eq!((c.codes, c.sources, c.selections, c.codings), (4, 5, 3, 7));
    // Two text selections and the transcript selection; the picture, PDF region, audio and
    // video codings are not text.
    assert_eq!((c.imported, c.not_text, c.notes), (3, 4, 3));
    // "health are closely" is not the text at 9..23 ("health are clo").
    assert_eq!(c.name_mismatches, 1);
    let w = all_warnings(&imp.warnings);
    assert!(w.contains("is named `health are closely` but its text at 9..23 is `health are clo`"), "{w}");
    assert!(w.contains("1 set(s) and 1 graph(s)"), "{w}");
    assert!(w.contains("assigned to whole cases"), "{w}");
    let notes: HashMap<&str, &str> = imp.notes.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
    let interview = notes["notes/interview-1.md"];
    let doc = parse_document("n.md".into(), interview.into(), &SplitOptions { speaker_turns: false }).unwrap();
    assert_eq!(doc.attributes["title"], Value::String("Interview 1.txt".into()));
    assert_eq!(doc.attributes["age"], Value::Integer(34));
    assert_eq!(doc.attributes["consented"], Value::Bool(true));
    assert_eq!(doc.attributes["case"], Value::String("Participant 1".into()));
    assert_eq!(body_of(interview), HAND_TEXT);
    assert_eq!(body_of(notes["notes/doc.md"]), "Notes about diet and health from the document.");
    assert_eq!(body_of(notes["notes/interview.md"]), HAND_TEXT);
    // The transcript's coding names no user: the project's creator is its coder.
    assert_eq!(imp.codings.len(), 1);
    let list = &imp.codings["Researcher-A"];
    let got: Vec<(&str, &str, &str)> =
        list.iter().map(|c| (c.doc.as_str(), c.code.as_str(), c.text.as_str())).collect();
    assert_eq!(
        got,
        [
            ("notes/interview-1.md", "topics/health", "Diet and health"),
            ("notes/interview-1.md", "topics/health/diet", "health are clo"),
            ("notes/interview.md", "topics/health/diet", "Diet and health are "),
        ]
    );
    // The memo linked to the first selection became its coding's memo.
    assert_eq!(list[0].memo.as_deref(), Some("Remember to follow up on diet-related comments."));
    assert_eq!(c.memos, 0);
    // The codebook: Topics > Health > Diet, Topics > Wellbeing; colours and descriptions.
    let b = &imp.book;
    let tree: Vec<(&str, Option<&str>)> = b.codes.iter().map(|c| (c.id.as_str(), c.parent.as_deref())).collect();
    assert_eq!(
        tree,
        [
            ("topics", None),
            ("topics/health", Some("topics")),
            ("topics/health/diet", Some("topics/health")),
            ("topics/wellbeing", Some("topics"))
        ]
    );
    assert_eq!(b.codes[2].colour.as_deref(), Some("#dc0000"));
    assert_eq!(b.codes[1].description, "Anything about physical or mental health");
}

#[test]
fn mastodon_codebook_with_invalid_guids() {
    let (book, w) = import_qdc(MASTODON_QDC).unwrap();
    let (s, top) = xml_stats(MASTODON_QDC);
    assert_eq!(book.codes.len(), n(&s, "Code"));
    assert_eq!(book.codes.len(), 44);
    assert_eq!(book.codes.iter().filter(|c| c.parent.is_none()).count(), top);
    // A few named, then how many in all: not 44 lines.
    let invalid = w.iter().filter(|w| w.message.contains("has an invalid GUID")).count();
    assert!(invalid <= 10, "{invalid}");
    assert!(w.iter().any(|w| w.message.contains("more code(s) with an invalid GUID (44 in all)")), "{w:?}");
    assert!(
        w.iter().any(|w| w.message.contains("code `Negativ/Aufgeregt` has an invalid GUID `c001`; a new one was made"))
    );
    assert_eq!(book.codes[0].id, "negativ-aufgeregt");
    assert_eq!(book.codes[0].description, "All emotions with negative valence and positive arousal.");
    assert_eq!(book.codes[0].colour.as_deref(), Some("#e57373"));
    assert_eq!(book.codes[1].parent.as_deref(), Some("negativ-aufgeregt"));
    // Exported again, it is schema-valid.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("m.qdc");
    std::fs::write(&f, export_qdc(&book, "m")).unwrap();
    if fieldnotes_testkit::xsd::usable("mastodon_codebook_with_invalid_guids") {
        xsd_check("Codebook.xsd", &f).unwrap();
    }
}

#[test]
fn taguette_codebook_with_empty_sets() {
    let (book, w) = import_qdc(TAGUETTE_QDC).unwrap();
    assert!(w.is_empty(), "{w:?}");
    let (s, top) = xml_stats(TAGUETTE_QDC);
    assert_eq!((book.codes.len(), top), (n(&s, "Code"), 8));
    let ids: Vec<&str> = book.codes.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "barriers",
            "barriers-cost",
            "barriers-time",
            "motivation",
            "motivation-community",
            "trust",
            "café-culture",
            "quote-worthy"
        ]
    );
    assert!(book.codes.iter().all(|c| c.parent.is_none() && c.colour.is_none() && c.description.is_empty()));
}

// ---------------------------------------------------------------- quirks of exporters

fn qde(origin: &str, source: &str, codebook_guid: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Quirks" origin="{origin}">
  <Users><User guid="AAAAAAAA-0000-0000-0000-000000000001" name="Ana Lyst"/></Users>
  <CodeBook><Codes><Code guid="{codebook_guid}" name="Joy" isCodable="true"/></Codes></CodeBook>
  <Sources>{source}</Sources>
</Project>"#
    )
}

fn sel(guid_n: u32, name: &str, start: i64, end: i64) -> String {
    format!(
        r#"<PlainTextSelection guid="bbbbbbbb-0000-0000-0000-{guid_n:012}" name="{name}" startPosition="{start}" endPosition="{end}"><Coding guid="cccccccc-0000-0000-0000-{guid_n:012}" creatingUser="{{aaaaaaaa-0000-0000-0000-000000000001}}"><CodeRef targetGUID="{{DDDDDDDD-0000-0000-0000-000000000001}}"/></Coding></PlainTextSelection>"#
    )
}

#[test]
fn nvivo_utf16_bom_crlf() {
    // NVivo for Windows: UTF-8 with BOM, CRLF, positions in UTF-16 units counting CRLF as 2.
    let text = "\u{FEFF}Hi 😀 there\r\nSecond 🎉 line\r\n";
    // "there" is at code points 5..10, UTF-16 units 6..11; "Second" at units 13..19; "line" at 23..27.
    let source = format!(
        r#"<TextSource guid="EEEEEEEE-0000-0000-0000-000000000001" name="Interview" plainTextPath="internal://EEEEEEEE-0000-0000-0000-000000000001.txt">{}{}{}</TextSource>"#,
        sel(1, "", 6, 11),
        sel(2, "", 13, 19),
        sel(3, "", 23, 27)
    );
    let xml = qde("NVivo 12 (Windows)", &source, "dddddddd-0000-0000-0000-000000000001");
    let qdpx = zip_of(&[
        ("project.qde", xml.as_bytes()),
        ("Sources/eeeeeeee-0000-0000-0000-000000000001.txt", text.as_bytes()),
    ]);
    let imp = import_qdpx(&qdpx).unwrap();
    assert_accounted(&imp.counts);
    assert_offsets(&imp);
    let texts: Vec<&str> = imp.codings["Ana-Lyst"].iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, ["there", "Second", "line"]);
    assert_eq!(body_of(&imp.notes[0].1), "Hi 😀 there\nSecond 🎉 line\n");
}

#[test]
fn atlas_crlf_as_one_and_named_qde() {
    // ATLAS.ti: the text file has CRLF, positions count it as one; the XML is `<name>.qde`.
    let text = "One\r\nTwo\r\nThree";
    let source = format!(
        r#"<TextSource guid="EEEEEEEE-0000-0000-0000-000000000001" name="t.txt" plainTextPath="internal://EEEEEEEE-0000-0000-0000-000000000001.txt">{}{}</TextSource>"#,
        sel(1, "Two", 4, 7),
        sel(2, "Three", 8, 13)
    );
    let xml = qde("ATLAS.ti for Windows 23.2.3.27778", &source, "DDDDDDDD-0000-0000-0000-000000000001");
    let qdpx =
        zip_of(&[("sources/EEEEEEEE-0000-0000-0000-000000000001.txt", text.as_bytes()), ("Trial.qde", xml.as_bytes())]);
    let imp = import_qdpx(&qdpx).unwrap();
    let texts: Vec<&str> = imp.codings["Ana-Lyst"].iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, ["Two", "Three"]);
    assert_eq!(imp.counts.name_mismatches, 0);
    assert!(imp.warnings.is_empty(), "{}", all_warnings(&imp.warnings));
    assert_offsets(&imp);
}

#[test]
fn unit_detected_from_selections_that_fit_when_there_are_no_names() {
    // An origin that counts CRLF as one, a file whose positions count it as two, and no names
    // to tell: the unit under which every selection lies inside the text is taken, and said;
    // before, "Two" was imported shifted and "Three" dropped.
    let text = "One\r\nTwo\r\nThree";
    let source = format!(
        r#"<TextSource guid="EEEEEEEE-0000-0000-0000-000000000001" name="t.txt" plainTextPath="internal://EEEEEEEE-0000-0000-0000-000000000001.txt">{}{}</TextSource>"#,
        sel(1, "", 5, 8),
        sel(2, "", 10, 15)
    );
    let xml = qde("MAXQDA 2022", &source, "DDDDDDDD-0000-0000-0000-000000000001");
    let qdpx = zip_of(&[
        ("sources/EEEEEEEE-0000-0000-0000-000000000001.txt", text.as_bytes()),
        ("project.qde", xml.as_bytes()),
    ]);
    let imp = import_qdpx(&qdpx).unwrap();
    let texts: Vec<&str> = imp.codings["Ana-Lyst"].iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, ["Two", "Three"]);
    assert!(all_warnings(&imp.warnings).contains("2 of 2 selections then lie inside the text, against 1"));
    assert_offsets(&imp);
}

#[test]
fn unit_detected_from_names_and_outside_reported() {
    // An unknown exporter whose positions are UTF-16 units: the names give it away.
    let text = "😀😀 alpha beta";
    let source = format!(
        r#"<TextSource guid="EEEEEEEE-0000-0000-0000-000000000001" name="t" plainTextPath="odd/dir/t.txt">{}{}{}{}</TextSource>"#,
        sel(1, "alpha", 5, 10),
        sel(2, "beta", 11, 15),
        sel(3, "far away", 40, 50),
        sel(4, "backwards", 9, 3),
    );
    let xml = qde("SomeTool 1.0", &source, "dddddddd-0000-0000-0000-000000000001");
    let qdpx = zip_of(&[("project.qde", xml.as_bytes()), ("sources/T.TXT", text.as_bytes())]);
    let imp = import_qdpx(&qdpx).unwrap();
    let w = all_warnings(&imp.warnings);
    assert!(w.contains("positions read as UTF-16 units rather than code points"), "{w}");
    let texts: Vec<&str> = imp.codings["Ana-Lyst"].iter().map(|c| c.text.as_str()).collect();
    assert_eq!(texts, ["alpha", "beta"]);
    assert_eq!(imp.counts.outside, 2);
    assert!(
        w.contains(
            "selection `bbbbbbbb-0000-0000-0000-000000000003` at 40..50 lies outside the text (15 UTF-16 units)"
        ),
        "{w}"
    );
    assert!(w.contains("at 9..3 lies outside"), "{w}");
    assert_accounted(&imp.counts);
}

#[test]
fn unknown_codes_duplicates_and_namespace() {
    let source = format!(
        r#"<TextSource guid="EEEEEEEE-0000-0000-0000-000000000001" name="t"><PlainTextContent>abc def</PlainTextContent>{}{}{}</TextSource>"#,
        sel(1, "abc", 0, 3),
        sel(2, "abc", 0, 3),
        sel(3, "def", 4, 7).replace("DDDDDDDD", "99999999").replace(
            "<Coding guid=\"cccccccc-0000-0000-0000-000000000003\"",
            "<Description>Why def</Description><Coding guid=\"cccccccc-0000-0000-0000-000000000003\""
        ),
    );
    let xml = qde("x", &source, "dddddddd-0000-0000-0000-000000000001").replace("project:1.0", "project:1:0");
    let imp = import_qdpx(&zip_of(&[("project.qde", xml.as_bytes())])).unwrap();
    let c = &imp.counts;
    assert_eq!((c.imported, c.duplicates, c.unknown_code), (1, 1, 1));
    // A selection of no length is a point, not words: said.
    let point = qde(
        "x",
        &format!(
            r#"<TextSource guid="EEEEEEEE-0000-0000-0000-000000000001" name="t"><PlainTextContent>abc def</PlainTextContent>{}</TextSource>"#,
            sel(1, "", 4, 4)
        ),
        "dddddddd-0000-0000-0000-000000000001",
    );
    let p = import_qdpx(&zip_of(&[("project.qde", point.as_bytes())])).unwrap();
    assert_eq!((p.counts.imported, p.counts.points), (1, 1));
    assert!(all_warnings(&p.warnings).contains("1 coding(s) are of selections of no length"));
    assert_accounted(&p.counts);
    assert_accounted(c);
    let w = all_warnings(&imp.warnings);
    assert!(w.contains("namespace `urn:QDA-XML:project:1:0`"), "{w}");
    assert!(w.contains("{99999999-0000-0000-0000-000000000001}"), "{w}");
    // The memo of the selection whose coding could not be imported is kept.
    let memo = imp.notes.iter().find(|(p, _)| p.starts_with("notes/memos/")).expect("a memo note");
    assert!(memo.1.ends_with("> def\n\nWhy def\n"), "{:?}", memo.1);
}

#[test]
fn every_user_is_a_coder_of_their_own() {
    // Two users named Ann; a user with no name but an id; two without either whose GUIDs share
    // their first digits; a coding by a user not listed; a coding by nobody. Each coding of
    // the same words with the same code is a coding of its own coder's.
    let coding = |n: u32, user: Option<&str>| {
        let by = user.map(|u| format!(r#" creatingUser="{u}""#)).unwrap_or_default();
        format!(
            r#"<PlainTextSelection guid="bbbbbbbb-0000-0000-0000-{n:012}" startPosition="0" endPosition="3"><Coding guid="cccccccc-0000-0000-0000-{n:012}"{by}><CodeRef targetGUID="dddddddd-0000-0000-0000-000000000001"/></Coding></PlainTextSelection>"#
        )
    };
    let users = [
        "aaaaaaaa-0000-0000-0000-000000000001",
        "aaaaaaaa-0000-0000-0000-000000000002",
        "aaaaaaaa-0000-0000-0000-000000000003",
        "aaaaaaaa-0000-0000-0000-000000000004",
        "aaaaaaaa-0000-0000-0000-000000000005",
    ];
    let selections: String = users
        .iter()
        .enumerate()
        .map(|(i, u)| coding(i as u32 + 1, Some(u)))
        .chain([coding(6, Some("ffffffff-0000-0000-0000-000000000009")), coding(7, None)])
        .collect();
    let xml = format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Users" creatingUserGUID="{}">
  <Users><User guid="{}" name="Ann"/><User guid="{}" name="Ann"/><User guid="{}" name="" id="HB"/><User guid="{}"/><User guid="{}"/></Users>
  <CodeBook><Codes><Code guid="dddddddd-0000-0000-0000-000000000001" name="Joy" isCodable="true"/></Codes></CodeBook>
  <Sources><TextSource guid="EEEEEEEE-0000-0000-0000-000000000001" name="t"><PlainTextContent>abc def</PlainTextContent>{selections}</TextSource></Sources>
</Project>"#,
        users[0], users[0], users[1], users[2], users[3], users[4]
    );
    let imp = import_qdpx(&zip_of(&[("project.qde", xml.as_bytes())])).unwrap();
    let coders: Vec<&str> = imp.codings.keys().map(String::as_str).collect();
    assert_eq!(
        coders,
        [
            "Ann",
            "Ann-2",
            "HB",
            "imported",
            "user-aaaaaaaa",
            "user-aaaaaaaa-2",
            "user-ffffffff-0000-0000-0000-000000000009"
        ]
    );
    assert!(imp.codings.values().all(|list| list.len() == 1));
    assert_eq!((imp.counts.imported, imp.counts.duplicates), (7, 0));
    let w = all_warnings(&imp.warnings);
    assert!(w.contains("users `Ann` and `Ann` would both be coder `Ann`: the second"), "{w}");
    assert!(w.contains("1 coding(s) name no user"), "{w}");
    assert!(w.contains("users the project does not list"), "{w}");
    assert_accounted(&imp.counts);
}

#[test]
fn a_source_of_several_cases_keeps_every_case_s_values() {
    let xml = r#"<?xml version="1.0" encoding="utf-8"?>
<Project xmlns="urn:QDA-XML:project:1.0" name="Cases">
  <CodeBook><Codes><Code guid="dddddddd-0000-0000-0000-000000000001" name="Joy" isCodable="true"/></Codes></CodeBook>
  <Variables>
    <Variable guid="aaaaaaaa-0000-0000-0000-000000000001" name="Gender" typeOfVariable="Text"/>
    <Variable guid="aaaaaaaa-0000-0000-0000-000000000002" name="Site" typeOfVariable="Text"/>
  </Variables>
  <Cases>
    <Case guid="cccccccc-0000-0000-0000-000000000001" name="Alice"><Description>First.</Description>
      <VariableValue><VariableRef targetGUID="aaaaaaaa-0000-0000-0000-000000000001"/><TextValue>F</TextValue></VariableValue>
      <VariableValue><VariableRef targetGUID="aaaaaaaa-0000-0000-0000-000000000002"/><TextValue>Fife</TextValue></VariableValue>
      <SourceRef targetGUID="eeeeeeee-0000-0000-0000-000000000001"/>
      <SelectionRef targetGUID="bbbbbbbb-0000-0000-0000-000000000001"/>
    </Case>
    <Case guid="cccccccc-0000-0000-0000-000000000002" name="Bob">
      <VariableValue><VariableRef targetGUID="aaaaaaaa-0000-0000-0000-000000000001"/><TextValue>M</TextValue></VariableValue>
      <VariableValue><VariableRef targetGUID="aaaaaaaa-0000-0000-0000-000000000002"/><TextValue>Fife</TextValue></VariableValue>
      <SourceRef targetGUID="eeeeeeee-0000-0000-0000-000000000001"/>
    </Case>
  </Cases>
  <Sources><TextSource guid="EEEEEEEE-0000-0000-0000-000000000001" name="Group"><PlainTextContent>Alice spoke. Bob spoke.</PlainTextContent></TextSource></Sources>
</Project>"#;
    let imp = import_qdpx(&zip_of(&[("project.qde", xml.as_bytes())])).unwrap();
    let note = &imp.notes.iter().find(|(p, _)| p.contains("group")).unwrap().1;
    assert!(note.contains("gender: [\"F\", \"M\"]"), "{note}");
    assert!(note.contains("site: Fife\n"), "the value both share, once: {note}");
    let w = all_warnings(&imp.warnings);
    assert!(w.contains("belongs to 2 cases (Alice, Bob) that differ in `gender`"), "{w}");
    assert!(w.contains("1 part(s) of sources assigned to a case"), "{w}");
    assert!(w.contains("the description(s) of 1 case(s) are not imported (Alice)"), "{w}");
}

// ---------------------------------------------------------------- hostile files

#[test]
fn escaping_entries_are_refused() {
    let evil = zip_of(&[("project.qde", HAND_QDE.as_bytes()), ("../evil.txt", b"x")]);
    match import_qdpx(&evil) {
        Err(Error::UnsafeEntry { name, .. }) => assert_eq!(name, "../evil.txt"),
        other => panic!("{other:?}"),
    }
    let abs = zip_of(&[("project.qde", HAND_QDE.as_bytes()), ("/etc/evil.txt", b"x")]);
    let e = import_qdpx(&abs).unwrap_err();
    assert!(matches!(e, Error::UnsafeEntry { .. }), "{e:?}");
    assert!(e.to_string().contains("`/etc/evil.txt` has an absolute path"), "{e}");
}

#[test]
fn doctype_entities_are_refused() {
    let bomb = "<?xml version=\"1.0\"?>\n<!DOCTYPE Project [\n<!ENTITY a \"aaaaaaaaaa\">\n<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n<!ENTITY ext SYSTEM \"file:///etc/passwd\">\n]>\n<Project xmlns=\"urn:QDA-XML:project:1.0\" name=\"&b;&ext;\"/>";
    let e = import_qdpx(&zip_of(&[("project.qde", bomb.as_bytes())])).unwrap_err();
    assert!(matches!(e, Error::Doctype { line: 2, .. }), "{e:?}");
    assert!(e.to_string().contains("DOCTYPE"), "{e}");
    let e = import_qdc(bomb).unwrap_err();
    assert!(matches!(e, Error::Doctype { .. }), "{e:?}");
}

#[test]
fn zip_bomb_is_refused() {
    let zeros = vec![0u8; 2 << 20];
    let bomb = zip_of(&[("project.qde", HAND_QDE.as_bytes()), ("sources/zeros.txt", &zeros)]);
    assert!(bomb.len() < 100_000);
    match import_qdpx(&bomb) {
        Err(Error::CompressionRatio { name, size, .. }) => {
            assert_eq!((name.as_str(), size), ("sources/zeros.txt", 2 << 20))
        }
        other => panic!("{other:?}"),
    }
    // A compressible entry under 1 MiB is fine.
    let small = zip_of(&[("project.qde", HAND_QDE.as_bytes()), ("sources/zeros.txt", &zeros[..1 << 19])]);
    assert!(import_qdpx(&small).is_ok());
}

#[test]
fn not_a_project() {
    assert!(matches!(import_qdpx(b"not a zip"), Err(Error::Archive { .. })));
    assert!(matches!(import_qdpx(&zip_of(&[("readme.txt", b"hi")])), Err(Error::NoProject)));
    let e = import_qdpx(&zip_of(&[("project.qde", b"<Project name=\"x\"><Users></Project>")])).unwrap_err();
    assert!(e.to_string().starts_with("project.qde: not well-formed XML at line 1"), "{e}");
    let e = import_qdpx(&zip_of(&[("project.qde", b"<CodeBook/>")])).unwrap_err();
    assert!(e.to_string().contains("not a REFI-QDA project"), "{e}");
    // A project in a folder of its own.
    let nested = zip_of(&[
        ("My Study/project.qde", HAND_QDE.as_bytes()),
        ("My Study/sources/11111111-1111-1111-1111-111111111111.txt", HAND_TEXT.as_bytes()),
    ]);
    assert_eq!(import_qdpx(&nested).unwrap().counts.imported, 3);
}

// ---------------------------------------------------------------- generated projects

/// xorshift64*: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

const PIECES: &[&str] = &[
    "word",
    "Fife",
    "trust",
    " ",
    " ",
    " ",
    "\n",
    "\r\n",
    "\n\n",
    "\r\n\r\n",
    "Café",
    "naïve",
    "e\u{301}",
    "👩🏽‍💼",
    "🎉",
    "中文",
    "ß",
    "&<>\"'",
    "\t",
    "Moira: ",
    "# Heading\n",
    "[00:01] ",
    "\u{1}",
    "\u{FFFF}",
    "\u{2028}",
    "---\n",
    "€",
    "x",
];

fn gen_text(rng: &mut Rng, pieces: usize) -> String {
    (0..pieces).map(|_| *rng.pick(PIECES)).collect()
}

const NAMES: &[&str] = &["Trust", "Time & <place>", "Ünïcode 🎉", "Trust", "a/b", "  spaced  name ", "\"quoted\"", "x"];
const COLOURS: &[Option<&str>] = &[Some("#1b9e77"), Some("#ABC"), Some("rgb(1, 2, 3)"), Some("bogus"), None];
const CODERS: &[&str] = &["alice", "bob", "carol.s"];

struct Generated {
    corpus: Corpus,
    book: Codebook,
    codings: Vec<Coding>,
    /// Codings expected back (not rejected, not orphaned).
    kept: Vec<Coding>,
}

fn generate(seed: u64) -> Generated {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut book = Codebook::default();
    for i in 0..(3 + rng.below(6)) {
        let parent = if i > 0 && rng.chance(50) { Some(book.codes[rng.below(i)].id.clone()) } else { None };
        let pieces = rng.below(6);
        let mut description = gen_text(&mut rng, pieces).replace(['\u{1}', '\u{FFFF}', '\r'], "");
        if rng.chance(30) {
            description = "Line one & <two>\n\nLine three.".into();
        }
        book.codes.push(Code {
            id: format!("c{i}"),
            name: rng.pick(NAMES).to_string(),
            description,
            parent,
            colour: rng.pick(COLOURS).map(str::to_string),
            examples: vec![],
            rules: Rules::default(),
        });
    }
    let mut documents = Vec::new();
    for d in 0..(1 + rng.below(4)) {
        let fm = match rng.below(4) {
            0 => String::new(),
            1 => {
                "---\nsite: Fife\ncount: 3\nscore: 2.5\nwhen: 2016-03-02\ndone: true\ntags: [a, \"b, c\"]\n---\n".into()
            }
            2 => "---\r\nsite: \"Glasgow & <Clyde>\"\r\ncount: 4.5\r\n---\r\n".into(),
            _ => "---\ntitle: 'A \"quoted\" title # not a comment'\n---\n".into(),
        };
        let pieces = 5 + rng.below(60);
        let body = gen_text(&mut rng, pieces);
        let path = if d % 2 == 0 { format!("notes/d{d}.md") } else { format!("notes/sub/d{d}.md") };
        documents.push(parse_document(path, fm + &body, &SplitOptions { speaker_turns: rng.chance(50) }).unwrap());
    }
    let mut codings = Vec::new();
    let mut kept = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for doc in &documents {
        let body_start = frontmatter::parse(&doc.text).unwrap().body_start;
        let offset = doc.text[..body_start].chars().count();
        let chars: Vec<char> = doc.text.chars().collect();
        let len = chars.len();
        for _ in 0..rng.below(10) {
            let code = book.codes[rng.below(book.codes.len())].id.clone();
            let coder = rng.pick(CODERS).to_string();
            let passage = !doc.passages.is_empty() && rng.chance(20);
            let (mut start, mut end) = if passage {
                let p = &doc.passages[rng.below(doc.passages.len())];
                (p.start, p.end)
            } else {
                let a = offset + rng.below(len - offset + 1);
                let b = offset + rng.below(len - offset + 1);
                (a.min(b), a.max(b))
            };
            // Spans do not split a CRLF pair.
            let splits = |i: usize| i > 0 && i < len && chars[i - 1] == '\r' && chars[i] == '\n';
            if splits(start) {
                start -= 1;
            }
            if splits(end) {
                end += 1;
            }
            let text: String = chars[start..end].iter().collect();
            let id = coding_id(&coder, &doc.path, start, end, &code);
            if !seen.insert((coder.clone(), id.clone())) {
                continue;
            }
            let memo = match rng.below(4) {
                0 => Some("Memo & <note>\r\nsecond line 🎉".to_string()),
                1 => Some("short".to_string()),
                _ => None,
            };
            let c = Coding {
                id,
                doc: doc.path.clone(),
                start,
                end,
                hash: text_hash(&text),
                text: if passage { String::new() } else { text },
                code,
                coder,
                origin: Origin::Manual,
                status: if rng.chance(10) { Status::Rejected } else { Status::Accepted },
                memo,
                evidence: vec![],
                time: if rng.chance(50) { now() } else { "not a time".into() },
                base: None,
                reviewer: None,
            };
            if c.status == Status::Accepted {
                kept.push(c.clone());
            }
            codings.push(c);
        }
    }
    // A coding whose note was edited after it was made: found again where its text is now.
    if let Some(c) = kept.iter().find(|c| !c.text.is_empty() && c.start > 0).cloned() {
        let mut moved = c.clone();
        moved.coder = "dave".into();
        moved.id = "moved".into();
        moved.status = Status::Accepted;
        kept.push(moved.clone());
        moved.start -= 1;
        moved.end -= 1;
        codings.push(moved);
    }
    // An orphaned coding (its text is gone) and one on a missing note: reported, not exported.
    if let Some(doc) = documents.first() {
        let mut orphan = Coding {
            id: "orphan".into(),
            doc: doc.path.clone(),
            start: 0,
            end: 3,
            hash: text_hash("zzzz-not-there"),
            text: "zzzz-not-there".into(),
            code: book.codes[0].id.clone(),
            coder: "alice".into(),
            origin: Origin::Manual,
            status: Status::Accepted,
            memo: None,
            evidence: vec![],
            time: now(),
            base: None,
            reviewer: None,
        };
        codings.push(orphan.clone());
        orphan.id = "gone".into();
        orphan.doc = "notes/gone.md".into();
        codings.push(orphan);
    }
    Generated { corpus: Corpus { documents, skipped: vec![] }, book, codings, kept }
}

/// Each code's chain of names from the root, with its description and colour, sorted.
fn code_view(book: &Codebook) -> Vec<(Vec<String>, String, Option<String>)> {
    let mut v: Vec<_> = book
        .codes
        .iter()
        .map(|c| {
            let mut path = vec![c.name.trim().to_string()];
            let mut cur = c.parent.as_deref();
            while let Some(p) = cur {
                let pc = book.code(p).unwrap();
                path.insert(0, pc.name.trim().to_string());
                cur = pc.parent.as_deref();
            }
            let colour = c.colour.as_deref().and_then(|x| match colour::read(x) {
                Colour::Valid(h) | Colour::Converted(h) => Some(h),
                Colour::Invalid => None,
            });
            (path, c.description.trim().to_string(), colour)
        })
        .collect();
    v.sort();
    v
}

/// A coding as compared: note, code name path, coder, text, memo.
type CodingView = (String, Vec<String>, String, String, Option<String>);

fn code_path(book: &Codebook, id: &str) -> Vec<String> {
    let mut path = Vec::new();
    let mut cur = Some(id);
    while let Some(p) = cur {
        let c = book.code(p).unwrap();
        path.insert(0, c.name.trim().to_string());
        cur = c.parent.as_deref();
    }
    path
}

fn export_bytes(g: &Generated, key: &str) -> (Vec<u8>, Vec<Warning>) {
    let input = ExportInput {
        name: "Round & trip",
        project_key: key,
        corpus: &g.corpus,
        book: &g.book,
        codings: &g.codings,
        include_suggested: false,
    };
    let mut out = Cursor::new(Vec::new());
    let w = export_qdpx(&input, &mut out).unwrap();
    (out.into_inner(), w.warnings)
}

#[test]
fn suggestions_go_out_only_when_asked_and_marked() {
    let mut g = generate(5);
    // Half the accepted codings become suggestions not yet reviewed.
    let mut turned = 0;
    for (i, c) in g.codings.iter_mut().enumerate() {
        if c.status == Status::Accepted && i % 2 == 0 {
            c.status = Status::Suggested;
            turned += 1;
        }
    }
    assert!(turned > 0);
    let export = |include_suggested: bool| {
        let input = ExportInput {
            name: "s",
            project_key: "s",
            corpus: &g.corpus,
            book: &g.book,
            codings: &g.codings,
            include_suggested,
        };
        let mut out = Cursor::new(Vec::new());
        let summary = export_qdpx(&input, &mut out).unwrap();
        let zipped = out.into_inner();
        (unzip(&zipped, "project.qde"), summary, zipped)
    };
    let (xml, plain, _) = export(false);
    assert_eq!(plain.suggested, 0);
    assert_eq!(plain.suggestions_left_out, turned);
    assert!(!xml.contains("(suggested, not reviewed)"), "no suggestion goes out by default");
    assert_eq!(xml.matches("<Coding ").count(), plain.codings, "the summary counts what was written");
    let (xml, with, zipped) = export(true);
    // Read back, the suggestions are suggestions again, of their coder: none counts as accepted.
    let back = import_qdpx(&zipped).unwrap();
    let suggested: Vec<&Coding> = back.codings.values().flatten().filter(|c| c.status == Status::Suggested).collect();
    assert_eq!(suggested.len(), with.suggested);
    assert_eq!(back.counts.suggested, with.suggested);
    assert!(suggested.iter().all(|c| !c.coder.contains("suggested")), "the coder's own name");
    assert!(back.codings.keys().all(|k| !k.contains("suggested")), "no ledger named after the marker");
    assert_eq!(with.suggestions_left_out, 0);
    assert!(with.suggested > 0 && with.suggested <= turned);
    assert_eq!(xml.matches("<Coding ").count(), with.codings);
    assert_eq!(with.codings, plain.codings + with.suggested);
    // Suggestions go out under a user of their own, which says what they are.
    let coder = &g.codings.iter().find(|c| c.status == Status::Suggested).unwrap().coder;
    let name = format!("{coder} (suggested, not reviewed)");
    assert!(xml.contains(&format!("name=\"{name}\"")), "a user for the suggestions");
    assert!(xml.contains(&format!("creatingUser=\"{}\"", guid::user_guid(&name))));
}

#[test]
fn round_trip_generated_projects() {
    let (mut codings, mut memos, mut crlf, mut passages, mut moved) = (0, 0, 0, 0, 0);
    for seed in 1..=40 {
        let g = generate(seed);
        let (bytes, export_warnings) = export_bytes(&g, "rt");
        let ew = all_warnings(&export_warnings);
        assert!(ew.contains("`orphan`") && ew.contains("`gone`"), "seed {seed}: {ew}");
        moved += usize::from(ew.contains("had moved in edited notes"));
        let imp = import_qdpx(&bytes).unwrap();
        let iw = all_warnings(&imp.warnings);
        assert!(!iw.contains("named") && !iw.contains("outside"), "seed {seed}: {iw}");
        assert_accounted(&imp.counts);
        assert_offsets(&imp);
        assert_eq!(imp.counts.imported, g.kept.len(), "seed {seed}: {iw}");
        // Notes: same paths, same bodies (LF), same attributes (lists become text).
        let notes: HashMap<&str, &str> = imp.notes.iter().map(|(p, t)| (p.as_str(), t.as_str())).collect();
        assert_eq!(notes.len(), g.corpus.documents.len());
        for doc in &g.corpus.documents {
            let note = notes[doc.path.as_str()];
            let fm = frontmatter::parse(&doc.text).unwrap();
            assert_eq!(body_of(note), to_lf(&doc.text[fm.body_start..]), "seed {seed} {}", doc.path);
            let back = frontmatter::parse(note).unwrap().attributes;
            for (k, v) in &doc.attributes {
                // A variable has one type: integers of a variable that also holds floats
                // come back as floats; lists come back as text.
                let float_var = g.corpus.documents.iter().any(|d| matches!(d.attributes.get(k), Some(Value::Float(_))));
                let want = match v {
                    Value::List(_) => Value::String(v.to_plain()),
                    Value::Integer(i) if float_var => Value::Float(*i as f64),
                    other => other.clone(),
                };
                assert_eq!(back.get(k), Some(&want), "seed {seed} {k}");
            }
            if !doc.attributes.contains_key("title") {
                assert_eq!(back["title"], Value::String(doc.path.clone()));
            }
        }
        // Codebook: names, tree, descriptions, colours.
        assert_eq!(code_view(&imp.book), code_view(&g.book), "seed {seed}");
        // Codings: code, coder, span text (LF), memo.
        let mut want: Vec<CodingView> = g
            .kept
            .iter()
            .map(|c| {
                let doc = g.corpus.documents.iter().find(|d| d.path == c.doc).unwrap();
                let chars: Vec<char> = doc.text.chars().collect();
                let text: String = chars[c.start..c.end].iter().collect();
                (
                    c.doc.clone(),
                    code_path(&g.book, &c.code),
                    c.coder.clone(),
                    to_lf(&text),
                    c.memo.as_deref().map(|m| to_lf(m.trim())),
                )
            })
            .collect();
        let mut got: Vec<CodingView> = imp
            .codings
            .values()
            .flatten()
            .map(|c| (c.doc.clone(), code_path(&imp.book, &c.code), c.coder.clone(), c.text.clone(), c.memo.clone()))
            .collect();
        want.sort();
        got.sort();
        assert_eq!(got, want, "seed {seed}");
        codings += got.len();
        memos += got.iter().filter(|c| c.4.is_some()).count();
        crlf += g.corpus.documents.iter().filter(|d| d.text.contains("\r\n")).count();
        passages += g.kept.iter().filter(|c| c.text.is_empty()).count();
        // Exporting again gives the same bytes: GUIDs are stable.
        assert_eq!(export_bytes(&g, "rt").0, bytes);
    }
    // The generator did exercise what matters.
    assert!(
        codings > 150 && memos > 50 && crlf > 20 && passages > 10 && moved > 10,
        "{codings} {memos} {crlf} {passages} {moved}"
    );
}

#[test]
fn exports_validate_against_the_schemas() {
    if !fieldnotes_testkit::xsd::usable("exports_validate_against_the_schemas") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut checked = 0;
    for seed in [3, 7, 11] {
        let g = generate(seed);
        let (bytes, _) = export_bytes(&g, "schema");
        let qde = dir.path().join(format!("p{seed}.qde"));
        std::fs::write(&qde, unzip(&bytes, "project.qde")).unwrap();
        xsd_check("Project.xsd", &qde).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let qdc = dir.path().join(format!("c{seed}.qdc"));
        std::fs::write(&qdc, export_qdc(&g.book, "schema")).unwrap();
        xsd_check("Codebook.xsd", &qdc).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        checked += 2;
    }
    // Samples imported and exported again are valid too (the qc demo: 262 codes, 205 codings).
    for (name, bytes) in [("qc", QC_DEMO.to_vec()), ("hand", hand_qdpx())] {
        let imp = import_qdpx(&bytes).unwrap();
        let documents: Vec<Document> = imp
            .notes
            .iter()
            .map(|(p, t)| parse_document(p.clone(), t.clone(), &SplitOptions { speaker_turns: false }).unwrap())
            .collect();
        let corpus = Corpus { documents, skipped: vec![] };
        let codings: Vec<Coding> = imp.codings.values().flatten().cloned().collect();
        let input = ExportInput {
            name: &imp.name,
            project_key: name,
            corpus: &corpus,
            book: &imp.book,
            codings: &codings,
            include_suggested: false,
        };
        let mut out = Cursor::new(Vec::new());
        let w = export_qdpx(&input, &mut out).unwrap().warnings;
        assert!(w.is_empty(), "{w:?}");
        let bytes = out.into_inner();
        let qde = dir.path().join(format!("{name}.qde"));
        std::fs::write(&qde, unzip(&bytes, "project.qde")).unwrap();
        xsd_check("Project.xsd", &qde).unwrap_or_else(|e| panic!("{name}: {e}"));
        let again = import_qdpx(&bytes).unwrap();
        assert_eq!(again.counts.imported, imp.counts.imported);
        checked += 1;
    }
    // The check really applies the schemas: the sample with `c001` GUIDs fails.
    let bad = dir.path().join("bad.qdc");
    std::fs::write(&bad, MASTODON_QDC).unwrap();
    let e = xsd_check("Codebook.xsd", &bad).unwrap_err();
    assert!(e.contains("c001"), "{e}");
    assert_eq!(checked, 8);
}

/// Rewrites the sizes an entry declares (in its local header and the central directory), as a
/// hostile archive would.
fn declare_sizes(zip: &mut [u8], entry: &str, compressed: u32, size: u32) {
    let name = entry.as_bytes();
    let mut i = 0;
    while i + 46 <= zip.len() {
        let sig = u32::from_le_bytes([zip[i], zip[i + 1], zip[i + 2], zip[i + 3]]);
        // (where the name length is, where the name starts, where the two sizes are)
        let (len_at, name_at, sizes_at) = match sig {
            0x0403_4b50 => (i + 26, i + 30, i + 18),
            0x0201_4b50 => (i + 28, i + 46, i + 20),
            _ => {
                i += 1;
                continue;
            }
        };
        let len = u16::from_le_bytes([zip[len_at], zip[len_at + 1]]) as usize;
        if zip.get(name_at..name_at + len) == Some(name) {
            zip[sizes_at..sizes_at + 4].copy_from_slice(&compressed.to_le_bytes());
            zip[sizes_at + 4..sizes_at + 8].copy_from_slice(&size.to_le_bytes());
        }
        i += 4;
    }
}

#[test]
fn oversized_entries_are_refused() {
    let stored = |entries: &[(&str, &[u8])]| {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
        for (name, data) in entries {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    };
    let mut one = stored(&[("project.qde", HAND_QDE.as_bytes()), ("sources/big.txt", b"small")]);
    declare_sizes(&mut one, "sources/big.txt", 300 << 20, 300 << 20);
    let e = import_qdpx(&one).unwrap_err();
    assert!(matches!(e, Error::EntryTooLarge { size, .. } if size == 300 << 20), "{e:?}");
    assert!(e.to_string().contains("`sources/big.txt` unpacks to 314572800 bytes"), "{e}");

    let names = ["a.txt", "b.txt", "c.txt", "d.txt", "e.txt"];
    let entries: Vec<(&str, &[u8])> = std::iter::once(("project.qde", HAND_QDE.as_bytes()))
        .chain(names.iter().map(|n| (*n, b"x".as_slice())))
        .collect();
    let mut many = stored(&entries);
    for n in names {
        declare_sizes(&mut many, n, 250 << 20, 250 << 20);
    }
    let e = import_qdpx(&many).unwrap_err();
    assert!(matches!(e, Error::ArchiveTooLarge { .. }), "{e:?}");
}

#[test]
fn a_source_path_with_a_multi_byte_character_at_the_scheme_length_is_read_not_split() {
    // Found by the REFI fuzzer: `intern` + U+FEFF, whose bytes straddle the length of
    // `internal://`, once sliced the path inside the character.
    let qde = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Project name=\"p\" xmlns=\"urn:QDA-XML:project:1.0\"><Sources>\
        <TextSource guid=\"7b5e2e19-bae9-4450-97d0-f548e3e4ec76\" name=\"t\" plainTextPath=\"intern\u{feff}//x.txt\"/>\
        </Sources></Project>";
    let imp = import_qdpx(&zip_of(&[("project.qde", qde.as_bytes())])).unwrap();
    assert!(all_warnings(&imp.warnings).contains("x.txt"), "{}", all_warnings(&imp.warnings));
}
