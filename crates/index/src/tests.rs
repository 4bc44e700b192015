//! Tests of indexing and search against brute-force scans of the passage texts.

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use fieldnotes_corpus::{Corpus, Project};
use proptest::prelude::*;

use super::*;

fn write(root: &Path, rel: &str, content: &str) {
    let p = root.join(rel);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, content).unwrap();
}

fn build(root: &Path) -> (Corpus, SearchIndex) {
    let corpus = Project::open(root).unwrap().load().unwrap();
    let (mut idx, _) = SearchIndex::open_or_create(&root.join(".fieldnotes/index")).unwrap();
    idx.update(&corpus, &WriterOptions { memory_bytes: 32 << 20, threads: 1 }, &|_| {}).unwrap();
    (corpus, idx)
}

fn sample(root: &Path) {
    write(
        root,
        "notes/fife/a.md",
        "---\nsite: Fife\ndate: 2016-03-02\nkind: meeting\nauthor: HB\n---\n# Board\n\nTrust takes time to build.\n\nThe partnership trusted us after months.\n",
    );
    write(
        root,
        "notes/glasgow/b.md",
        "---\nsite: Glasgow\ndate: 2016-07-10\nkind: interview\n---\nInterviewer: How was the staff turnover?\n\nCPP manager: Staff turnover was terrible; trust collapsed.\n",
    );
    write(
        root,
        "notes/west-dunbartonshire/c.md",
        "---\nsite: West Dunbartonshire\ndate: 2017-01-05\nkind: memo\nlocation: Clydebank\n---\nA critical friend needs time, not a budget.\n",
    );
}

/// The passages matching `q`, as `path#ordinal` (printed ids are keys; these read better in a test).
fn ids(idx: &SearchIndex, q: &str) -> Vec<String> {
    ordinal_ids(idx.matching_passages(q, &SearchOptions::default()).unwrap())
}

fn ids_exact(idx: &SearchIndex, q: &str, exact: bool) -> Vec<String> {
    ids_with(idx, q, &SearchOptions { exact, ..SearchOptions::default() })
}

fn ids_with(idx: &SearchIndex, q: &str, opts: &SearchOptions) -> Vec<String> {
    ordinal_ids(idx.matching_passages(q, opts).unwrap())
}

fn ordinal_ids(found: Vec<(String, u64)>) -> Vec<String> {
    found.into_iter().map(|(id, n)| format!("{}#{n}", id.rsplit_once('#').unwrap().0)).collect()
}

#[test]
fn filters_in_combination() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let (_, idx) = build(dir.path());
    assert_eq!(idx.n_passages().unwrap(), 5);
    assert_eq!(ids(&idx, "trust"), ["notes/fife/a.md#1", "notes/fife/a.md#2", "notes/glasgow/b.md#2"]);
    assert_eq!(ids(&idx, "trust site:fife"), ["notes/fife/a.md#1", "notes/fife/a.md#2"]);
    assert_eq!(ids(&idx, "trust AND site:FIFE AND kind:meeting AND date:[2016-01-01 TO 2016-06-30]").len(), 2);
    assert_eq!(ids(&idx, "trust date:[2016-03-03 TO 2016-12-31]"), ["notes/glasgow/b.md#2"]);
    assert_eq!(ids(&idx, "trust date:2016-07"), ["notes/glasgow/b.md#2"]);
    assert_eq!(ids(&idx, "speaker:\"cpp manager\""), ["notes/glasgow/b.md#2"]);
    assert_eq!(ids(&idx, "speaker:cpp*"), ["notes/glasgow/b.md#2"]);
    assert_eq!(ids(&idx, "site:\"west dunbartonshire\" time"), ["notes/west-dunbartonshire/c.md#1"]);
    assert_eq!(ids(&idx, "location:clydebank"), ["notes/west-dunbartonshire/c.md#1"]);
    assert_eq!(ids(&idx, "year:2017"), ["notes/west-dunbartonshire/c.md#1"]);
    assert_eq!(ids(&idx, "\"staff turnover\" NOT kind:interview").len(), 0);
    assert_eq!(ids(&idx, "(trust OR budget) -site:glasgow").len(), 3);
    assert_eq!(ids(&idx, "NOT trust").len(), 2);
    assert_eq!(ids(&idx, "turnvoer~1"), ["notes/glasgow/b.md#1", "notes/glasgow/b.md#2"]);
    // A fuzzy word is stemmed as a word is: it finds the word's other forms ("trusted~1" what
    // "trusted" finds), and under --exact only the spellings within reach.
    assert_eq!(ids(&idx, "trusted~1"), ids(&idx, "trusted"));
    assert_eq!(ids_exact(&idx, "trusted~1", true), ["notes/fife/a.md#2"]);
    // `[* TO *]`: every passage with a value; `date:YEAR` also finds a note dated by its year.
    assert_eq!(ids(&idx, "words:[* TO *]").len(), 5);
    assert_eq!(ids(&idx, "date:[* TO *]").len(), 5);
    assert_eq!(ids(&idx, "partner*"), ["notes/fife/a.md#2"]);
    assert_eq!(ids(&idx, "\"critical time\"~3"), ["notes/west-dunbartonshire/c.md#1"]);
    assert!(ids(&idx, "\"critical time\"").is_empty());
    assert_eq!(ids(&idx, "section:board").len(), 2);
    // Stemming: "trusted" found by "trust"; --exact does not stem.
    assert_eq!(ids_exact(&idx, "trusted", true), ["notes/fife/a.md#2"]);
    let (total, by) = idx.count_by("trust", &SearchOptions::default(), "site").unwrap();
    assert_eq!(total, 3);
    assert_eq!(by["Fife"], 2);
    assert_eq!(by["Glasgow"], 1);
}

#[test]
fn hits_have_snippets_and_matches() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let (_, idx) = build(dir.path());
    let r = idx.search("\"staff turnover\"", &SearchOptions::default()).unwrap();
    assert_eq!(r.total, 2);
    let h = &r.hits[0];
    assert_eq!(h.attr("site"), "Glasgow");
    let words: Vec<&str> = h.matches.iter().map(|&(s, e)| &h.text[s..e]).collect();
    assert!(words.iter().all(|w| w.eq_ignore_ascii_case("staff") || w.eq_ignore_ascii_case("turnover")), "{words:?}");
    assert!(!words.is_empty());
}

#[test]
fn incremental_updates_touch_only_changes() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let root = dir.path();
    let (corpus, mut idx) = build(root);
    let opts = WriterOptions { memory_bytes: 32 << 20, threads: 1 };
    let again = idx.update(&corpus, &opts, &|_| {}).unwrap();
    assert_eq!((again.indexed, again.removed, again.unchanged), (0, 0, 3));
    write(root, "notes/fife/a.md", "---\nsite: Fife\n---\nRewritten entirely.\n");
    fs::remove_file(root.join("notes/glasgow/b.md")).unwrap();
    let corpus = Project::open(root).unwrap().load().unwrap();
    let s = idx.update(&corpus, &opts, &|_| {}).unwrap();
    assert_eq!((s.indexed, s.removed, s.unchanged), (1, 2, 1));
    assert_eq!(idx.n_passages().unwrap(), 2);
    assert!(ids(&idx, "trust").is_empty());
    // The word list gained the new words; the removed ones no longer match.
    assert_eq!(ids(&idx, "rewr*"), ["notes/fife/a.md#1"]);
    assert_eq!(ids(&idx, "rewriten~1"), ["notes/fife/a.md#1"]);
    assert!(ids(&idx, "trus*").is_empty());
    assert!(fs::read_to_string(root.join(".fieldnotes/index").join(WORDS)).unwrap().lines().any(|w| w == "rewritten"));
    // Codes come from outside: handing them over re-indexes nothing, and they are searchable.
    let mut rows = vec![("notes/fife/a.md", 1, "time", true)];
    idx.set_codes(Codes::from_rows(rows.clone()));
    let s = idx.update(&corpus, &opts, &|_| {}).unwrap();
    assert_eq!((s.indexed, s.unchanged), (0, 2));
    assert_eq!(ids(&idx, "code:time site:fife"), ["notes/fife/a.md#1"]);
    assert_eq!(ids(&idx, "code:time NOT site:fife"), Vec::<String>::new());
    // One note re-indexed on its own (its text changed): the others stay, and so does the time
    // of the last whole update.
    let state_before = fs::read(root.join(".fieldnotes/index").join(STATE)).unwrap();
    write(root, "notes/west-dunbartonshire/c.md", "---\nsite: West Dunbartonshire\n---\nA critical friend.\n");
    let corpus = Project::open(root).unwrap().load().unwrap();
    let one = Corpus { documents: vec![corpus.documents[1].clone()], skipped: vec![] };
    let s = idx.update_notes(&one, &opts).unwrap();
    assert_eq!((s.indexed, s.removed), (1, 1));
    rows.push(("notes/west-dunbartonshire/c.md", 1, "context", true));
    idx.set_codes(Codes::from_rows(rows));
    assert_eq!(ids(&idx, "code:context"), ["notes/west-dunbartonshire/c.md#1"]);
    assert_eq!(ids(&idx, "code:time"), ["notes/fife/a.md#1"]);
    assert_eq!(ids(&idx, "code:context OR code:time").len(), 2);
    assert_eq!(idx.n_documents(), 2);
    assert_eq!(fs::read(root.join(".fieldnotes/index").join(STATE)).unwrap(), state_before);
}

#[test]
fn a_year_finds_the_notes_dated_by_their_year_alone() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "notes/a.md", "---\ndate: 2017\n---\nTrust.\n");
    write(dir.path(), "notes/b.md", "---\ndate: 2017-03-01\n---\nTrust.\n");
    write(dir.path(), "notes/c.md", "---\ndate: 2016-12-31\n---\nTrust.\n");
    let (_, idx) = build(dir.path());
    assert_eq!(ids(&idx, "date:2017"), ["notes/a.md#1", "notes/b.md#1"]);
    assert_eq!(ids(&idx, "date:2017"), ids(&idx, "year:2017"));
    // A day or a month of 2017 is not the year alone.
    assert_eq!(ids(&idx, "date:2017-03"), ["notes/b.md#1"]);
    // A range that starts after it ends is an error, not nothing.
    let e = idx.search("date:[2017-06-30 TO 2017-01-01]", &SearchOptions::default()).unwrap_err();
    assert!(e.to_string().contains("starts after it ends"), "{e}");
    assert!(idx.search("words:[10 TO 2]", &SearchOptions::default()).is_err());
    assert!(idx.unknown_names("date:2016", &[]).unwrap().is_empty());
    // Notes without dates: a date or year in a query is said to match nothing.
    let undated = tempfile::tempdir().unwrap();
    write(undated.path(), "notes/a.md", "Trust.\n");
    let (_, idx) = build(undated.path());
    for q in ["date:2016", "year:2016", "trust date:[2016-01-01 TO 2016-12-31]"] {
        let u = idx.unknown_names(q, &[]).unwrap();
        assert_eq!(u.len(), 1, "{q}: {u:?}");
        assert_eq!(u[0].kind, UnknownKind::Field);
    }
}

#[test]
fn corrupt_or_stale_index_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let root = dir.path();
    let idx_dir = root.join(".fieldnotes/index");
    drop(build(root));
    fs::write(idx_dir.join(MANIFEST), "{ not json").unwrap();
    let (_, reason) = SearchIndex::open_or_create(&idx_dir).unwrap();
    assert!(reason.unwrap().contains("manifest"));
    fs::write(idx_dir.join("meta.json"), "garbage").unwrap();
    fs::write(idx_dir.join(MANIFEST), format!("{{\"schema_version\":{SCHEMA_VERSION},\"docs\":{{}}}}")).unwrap();
    let (idx, reason) = SearchIndex::open_or_create(&idx_dir).unwrap();
    assert!(reason.unwrap().contains("cannot be opened"));
    assert_eq!(idx.n_passages().unwrap(), 0);
    assert!(SearchIndex::open(&root.join("nowhere")).unwrap().is_none());
    drop(build(root));
    fs::remove_file(idx_dir.join(WORDS)).unwrap();
    let (_, reason) = SearchIndex::open_or_create(&idx_dir).unwrap();
    assert!(reason.unwrap().contains("word list"));
    // A segment's file cut short (a crash, a full disk): the update finds it and starts again,
    // where it had said every note was unchanged and left each search to fail.
    drop(build(root));
    let idx_file = fs::read_dir(&idx_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "idx"))
        .expect("a segment's postings");
    fs::OpenOptions::new().write(true).open(&idx_file).unwrap().set_len(10).unwrap();
    let (idx, reason) = SearchIndex::open_or_create(&idx_dir).unwrap();
    assert!(reason.unwrap().contains("its files are damaged"));
    assert_eq!(idx.n_documents(), 0);
}

#[test]
fn syntax_errors_surface() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let (_, idx) = build(dir.path());
    assert!(matches!(idx.search("trust AND", &SearchOptions::default()), Err(Error::Syntax(_))));
    let e = idx.search("kind:[a TO b]", &SearchOptions::default()).err().unwrap();
    assert!(e.to_string().contains("ranges work on"), "{e}");
}

fn texts(h: &Hit, ranges: &[(usize, usize)]) -> Vec<String> {
    ranges.iter().map(|&(s, e)| h.text[s..e].to_string()).collect()
}

fn one_note(body: &str) -> (tempfile::TempDir, SearchIndex) {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "notes/n.md", &format!("---\nsite: Fife\n---\n{body}\n"));
    let (_, idx) = build(dir.path());
    (dir, idx)
}

#[test]
fn matches_are_those_of_the_query() {
    let (_dir, idx) = one_note(
        "In the first months the board met. The months passed; first of all, the staff left.\n\n\
         Well-being may well be the point.",
    );
    let opts = SearchOptions::default();
    let r = idx.search("\"the first months\"", &opts).unwrap();
    assert_eq!(r.total, 1);
    let h = &r.hits[0];
    // One match, as one unit, every word of it marked; no other `the`, `first` or `months`.
    assert_eq!(texts(h, &h.units), ["the first months"]);
    assert_eq!(texts(h, &h.matches), ["the", "first", "months"]);
    let r = idx.search("\"well-being\"", &opts).unwrap();
    let h = &r.hits[0];
    assert_eq!(texts(h, &h.units), ["Well-being"]);
    assert_eq!(texts(h, &h.matches), ["Well-being"]);
    // A proximity match is one unit from its first word to its last.
    let r = idx.search("\"board staff\"~10", &opts).unwrap();
    assert_eq!(texts(&r.hits[0], &r.hits[0].units), ["board met. The months passed; first of all, the staff"]);
    assert_eq!(texts(&r.hits[0], &r.hits[0].matches), ["board", "staff"]);
    // Words under NOT are not marked; words ANDed are marked wherever they are.
    let r = idx.search("months NOT budget", &opts).unwrap();
    assert_eq!(texts(&r.hits[0], &r.hits[0].matches), ["months", "months"]);
    // Exact, prefix and fuzzy terms mark only the words that satisfy them.
    let exact = SearchOptions { exact: true, ..SearchOptions::default() };
    let r = idx.search("month", &opts).unwrap();
    assert_eq!(texts(&r.hits[0], &r.hits[0].matches), ["months", "months"]);
    assert_eq!(idx.search("month", &exact).unwrap().total, 0);
    let r = idx.search("\"first months\"", &exact).unwrap();
    assert_eq!(texts(&r.hits[0], &r.hits[0].units), ["first months"]);
    let r = idx.search("mon*", &opts).unwrap();
    assert_eq!(texts(&r.hits[0], &r.hits[0].matches), ["months", "months"]);
    let r = idx.search("bord~1", &opts).unwrap();
    assert_eq!(texts(&r.hits[0], &r.hits[0].matches), ["board"]);
    // The snippet holds the match.
    let r = idx.search("point", &SearchOptions { snippet_chars: 30, ..SearchOptions::default() }).unwrap();
    let h = &r.hits[0];
    let (s, e) = h.snippet;
    assert!(h.text[s..e].contains("point") && e - s <= 31, "{:?}", &h.text[s..e]);
}

#[test]
fn compounds_find_each_other() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "notes/a.md",
        "---\nsite: Fife\n---\nTheir well-being matters.\n\nCo-operation grew.\n\nMental well-being services opened.",
    );
    write(
        root,
        "notes/b.md",
        "---\nsite: Fife\n---\nTheir wellbeing matters.\n\nCooperation grew.\n\nIt may well be, being honest.",
    );
    write(root, "notes/c.md", "---\nsite: Fife\n---\nCo-production and coproduction.\n\nMental wellbeing services.");
    let (_, idx) = build(root);
    for exact in [false, true] {
        let ids = |q: &str| ids_exact(&idx, q, exact);
        assert_eq!(ids("well-being"), ["notes/a.md#1", "notes/a.md#3", "notes/b.md#1", "notes/c.md#2"], "{exact}");
        assert_eq!(ids("wellbeing"), ids("well-being"), "{exact}");
        assert_eq!(ids("\"well-being\""), ids("well-being"), "{exact}");
        assert_eq!(ids("co-operation"), ["notes/a.md#2", "notes/b.md#2"], "{exact}");
        assert_eq!(ids("cooperation"), ids("co-operation"), "{exact}");
        assert_eq!(ids("coproduction"), ["notes/c.md#1"], "{exact}");
        assert_eq!(ids("co-production"), ["notes/c.md#1"], "{exact}");
        // Phrases over either spelling.
        let services = ["notes/a.md#3", "notes/c.md#2"];
        assert_eq!(ids("\"mental wellbeing services\""), services, "{exact}");
        assert_eq!(ids("\"mental well-being services\""), services, "{exact}");
        // The parts of a compound are still words of their own.
        assert!(ids("operation").contains(&"notes/a.md#2".to_string()), "{exact}");
    }
    assert_eq!(ids_exact(&idx, "being", true), ["notes/a.md#1", "notes/a.md#3", "notes/b.md#3"]);
    // "may well be" is not `well-being`.
    assert!(!ids(&idx, "well-being").contains(&"notes/b.md#3".to_string()));
    let r = idx.search("wellbeing", &SearchOptions::default()).unwrap();
    let marked: BTreeSet<String> = r.hits.iter().flat_map(|h| texts(h, &h.matches)).collect();
    assert_eq!(marked, ["well-being", "wellbeing"].map(String::from).into());
}

#[test]
fn words_tokeniser_joins_compounds_at_one_position() {
    let mut a = schema::exact_analyzer();
    let toks = tokens(&mut a, "A well-being co\u{2010}op - x--y, end-");
    let got: Vec<(&str, usize)> = toks.iter().map(|t| (t.0.as_str(), t.1)).collect();
    assert_eq!(
        got,
        [
            ("a", 0),
            ("well", 1),
            ("being", 1),
            ("wellbeing", 1),
            ("co", 2),
            ("op", 2),
            ("coop", 2),
            ("x", 3),
            ("y", 4),
            ("end", 5)
        ]
    );
    // The joined word spans the compound.
    assert_eq!((toks[3].2, toks[3].3), (2, 12));
    // A compound of 40 bytes or more keeps its parts only.
    let long = format!("{}-{}", "a".repeat(20), "b".repeat(20));
    assert_eq!(tokens(&mut a, &long).len(), 2);
}

#[test]
fn attribute_words_and_whole_values() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "notes/a.md",
        "---\nsite: Glasgow\nkind: interview\ntitle: Mental Health in Schools\n---\n\
         Hon. Bill Blair (Minister of Public Safety): We act.\n\nLynne Neagle AM: Thank you.\n\nThe Chair: Next.\n",
    );
    let (_, idx) = build(root);
    assert_eq!(ids(&idx, "speaker:blair"), ["notes/a.md#1"]);
    assert_eq!(ids(&idx, "speaker:BLAIR"), ["notes/a.md#1"]);
    assert_eq!(ids(&idx, "speaker:\"bill blair\""), ["notes/a.md#1"]);
    assert!(ids(&idx, "speaker:\"blair bill\"").is_empty());
    assert_eq!(ids(&idx, "speaker:neagle"), ["notes/a.md#2"]);
    assert_eq!(ids(&idx, "speaker:chair"), ["notes/a.md#3"]);
    assert_eq!(ids(&idx, "speaker:neag*"), ["notes/a.md#2"]);
    assert_eq!(ids(&idx, "speaker:safety"), ["notes/a.md#1"]);
    // The whole value, and only it.
    assert_eq!(ids(&idx, "speaker:=\"lynne neagle am\""), ["notes/a.md#2"]);
    assert!(ids(&idx, "speaker:=neagle").is_empty());
    assert_eq!(ids(&idx, "speaker:=lynne*"), ["notes/a.md#2"]);
    // Free-text attributes of the note.
    assert_eq!(ids(&idx, "title:health").len(), 3);
    assert_eq!(ids(&idx, "title:\"mental health\"").len(), 3);
    assert!(ids(&idx, "title:=health").is_empty());
    assert_eq!(ids(&idx, "title:=\"mental health in schools\"").len(), 3);
}

#[test]
fn unknown_names_are_named_with_the_closest() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let root = dir.path();
    let corpus = Project::open(root).unwrap().load().unwrap();
    let (mut idx, _) = SearchIndex::open_or_create(&root.join(".fieldnotes/index")).unwrap();
    idx.set_codes(Codes::from_rows([("notes/fife/a.md", 1, "time", true), ("notes/fife/a.md", 2, "trust", false)]));
    idx.update(&corpus, &WriterOptions { memory_bytes: 32 << 20, threads: 1 }, &|_| {}).unwrap();
    let unknown = |q: &str| idx.unknown_names(q, &["expertise".to_string()]).unwrap();
    let u = unknown("trust AND sitee:fife");
    assert_eq!(u.len(), 1);
    assert_eq!((u[0].kind, u[0].field.as_str()), (UnknownKind::Field, "sitee"));
    assert_eq!(u[0].suggestions[0], "site:fife");
    let u = unknown("site:glasgw");
    assert_eq!((u[0].kind, u[0].suggestions[0].as_str()), (UnknownKind::Value, "site:glasgow"));
    let u = unknown("code:tiem");
    assert_eq!((u[0].kind, u[0].suggestions[0].as_str()), (UnknownKind::Code, "code:time"));
    let u = unknown("location:clydebnk");
    assert_eq!(u[0].suggestions[0], "location:clydebank");
    let u = unknown("site:=fif");
    assert_eq!(u[0].suggestions[0], "site:=fife");
    // Names that exist somewhere are fine, even when the query matches nothing.
    for q in [
        "site:fife kind:interview",
        "code:time",
        "code:trust",
        "code:expertise",
        "location:clydebank",
        "site:\"west dunbartonshire\"",
        "site:west",
        "speaker:\"manager cpp\"",
        "date:2016",
        "speaker:cpp*",
        "nothing here",
    ] {
        assert!(unknown(q).is_empty(), "{q}: {:?}", unknown(q));
    }
    // Accepted codings count; suggestions only when asked.
    assert_eq!(ids(&idx, "code:time"), ["notes/fife/a.md#1"]);
    assert!(ids(&idx, "code:trust").is_empty());
    let with = SearchOptions { include_suggested: true, ..SearchOptions::default() };
    assert_eq!(ids_with(&idx, "code:trust", &with), ["notes/fife/a.md#2"]);
    assert_eq!(idx.matching_ids_with("code:t*", &with).unwrap().len(), 2);
    let (_, by) = idx.count_by("site:fife", &SearchOptions::default(), "code").unwrap();
    assert_eq!((by["time"], by[""], by.get("trust")), (1, 1, None));
    let (_, by) = idx.count_by("site:fife", &with, "code").unwrap();
    assert_eq!((by["time"], by["trust"], by.get("")), (1, 1, None));
    // An unknown group is an error naming the closest.
    let e = idx.count_by("trust", &SearchOptions::default(), "sitee").unwrap_err();
    assert!(matches!(&e, Error::UnknownGroup { suggestions, .. } if suggestions[0] == "site"), "{e}");
    assert!(e.to_string().contains("did you mean `site`"), "{e}");
    assert!(idx.count_by("trust", &SearchOptions::default(), "location").is_ok());
    assert!(idx.count_by("trust", &SearchOptions::default(), "year").is_ok());
}

#[test]
fn staleness_sees_changed_added_and_removed_notes() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let root = dir.path();
    write(root, "notes/empty.md", "");
    let (_, idx) = build(root);
    let listing = || -> Vec<(String, std::time::SystemTime)> {
        let project = Project::open(root).unwrap();
        let (files, _) = project.note_files().unwrap();
        files.iter().map(|f| (project.relative(f), fs::metadata(f).unwrap().modified().unwrap())).collect()
    };
    // The skipped empty note is not news.
    assert!(idx.staleness(&listing()).unwrap().is_empty());
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(5);
    let mut notes = listing();
    for (path, modified) in &mut notes {
        if path == "notes/fife/a.md" {
            *modified = later;
        }
    }
    notes.retain(|(p, _)| p != "notes/glasgow/b.md");
    notes.push(("notes/new.md".into(), std::time::UNIX_EPOCH));
    let s = idx.staleness(&notes).unwrap();
    assert_eq!(s.changed, ["notes/fife/a.md"]);
    assert_eq!(s.added, ["notes/new.md"]);
    assert_eq!(s.removed, ["notes/glasgow/b.md"]);
    assert_eq!(s.paths(), ["notes/fife/a.md", "notes/glasgow/b.md", "notes/new.md"]);
}

const VOCAB: &[&str] = &[
    "trust", "trusts", "trusted", "time", "timing", "staff", "turnover", "board", "boards", "fife", "critical",
    "friend", "friends", "slow", "data", "tim",
];

fn words_of(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn exact_queries_equal_brute_force(
        paras in proptest::collection::vec(proptest::collection::vec(0..VOCAB.len(), 1..12), 1..30),
        q1 in 0..VOCAB.len(),
        q2 in 0..VOCAB.len(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let body: Vec<String> = paras.iter().map(|p| {
            let ws: Vec<&str> = p.iter().map(|&i| VOCAB[i]).collect();
            let mut s = ws.join(" ");
            s.push('.');
            // Capitalise the first word to check case folding.
            let mut c = s.chars();
            c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
        }).collect();
        write(dir.path(), "notes/n.md", &format!("---\nsite: Fife\n---\n{}\n", body.join("\n\n")));
        let (corpus, idx) = build(dir.path());
        let doc = &corpus.documents[0];
        let expect = |pred: &dyn Fn(&[String]) -> bool| -> Vec<String> {
            let v: Vec<String> = doc.passages.iter()
                .filter(|p| pred(&words_of(doc.passage_text(p))))
                .map(|p| doc.passage_id(p)).collect();
            v
        };
        let (a, b) = (VOCAB[q1], VOCAB[q2]);
        let single = expect(&|ws| ws.iter().any(|w| w == a));
        prop_assert_eq!(idx.matching_ids(a, true).unwrap(), single);
        let phrase = expect(&|ws| ws.windows(2).any(|w| w[0] == a && w[1] == b));
        prop_assert_eq!(idx.matching_ids(&format!("\"{a} {b}\""), true).unwrap(), phrase);
        let both = expect(&|ws| ws.iter().any(|w| w == a) && ws.iter().any(|w| w == b));
        prop_assert_eq!(idx.matching_ids(&format!("{a} {b}"), true).unwrap(), both);
        let either_not = expect(&|ws| ws.iter().any(|w| w == a) && !ws.iter().any(|w| w == b));
        if a != b {
            prop_assert_eq!(idx.matching_ids(&format!("{a} NOT {b}"), true).unwrap(), either_not);
        }
        // Proximity: `b` within two words after `a`.
        let near = expect(&|ws| ws.iter().enumerate().any(|(i, w)| {
            w == a && ws[i + 1..].iter().take(3).any(|x| x == b)
        }));
        prop_assert_eq!(idx.matching_ids(&format!("\"{a} {b}\"~2"), true).unwrap(), near);
        // Prefixes and fuzzy terms see words as written, with or without `--exact`.
        let pre = &a[..2];
        let prefixed = expect(&|ws| ws.iter().any(|w| w.starts_with(pre)));
        prop_assert_eq!(idx.matching_ids(&format!("{pre}*"), false).unwrap(), prefixed.clone());
        prop_assert_eq!(idx.matching_ids(&format!("{pre}*"), true).unwrap(), prefixed);
        let typo: String = a.chars().rev().collect();
        let fuzzy = expect(&|ws| ws.iter().any(|w| search::damerau(&typo, w) <= 1));
        prop_assert_eq!(idx.matching_ids(&format!("{typo}~1"), false).unwrap(), fuzzy);
        let set: BTreeSet<String> = idx.matching_ids("site:fife", true).unwrap().into_iter().collect();
        prop_assert_eq!(set.len(), doc.passages.len());
    }
}

fn tokens(analyzer: &mut tantivy::tokenizer::TextAnalyzer, text: &str) -> Vec<(String, usize, usize, usize)> {
    let mut out = Vec::new();
    let mut stream = analyzer.token_stream(text);
    stream.process(&mut |t| out.push((t.text.clone(), t.position, t.offset_from, t.offset_to)));
    out
}

#[test]
fn cached_stemmer_gives_tantivy_s_terms() {
    let builtin = tantivy::tokenizer::TokenizerManager::default();
    let mut theirs = builtin.get("en_stem").unwrap();
    let sink = schema::WordSink::default();
    let mut ours = schema::stem_analyzer(Some(sink.clone()));
    let text = "Partnerships partnered; the PARTNERSHIP's running runs ran. Ünïcode naïve café cafés \
                organisations organising Organised happily happiness generously \
                aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 40s 1990s don't";
    // Twice over, so that the second pass is answered from the cache.
    for _ in 0..2 {
        assert_eq!(tokens(&mut ours, text), tokens(&mut theirs, text));
    }
    // Past the cache's size: it starts again and still agrees.
    let many: String = (0..120_000).map(|i| format!("w{i}ing ")).collect();
    assert_eq!(tokens(&mut ours, &many), tokens(&mut theirs, &many));
    let mut clone = ours.clone();
    assert_eq!(tokens(&mut clone, text), tokens(&mut theirs, text));
    // The sink has every word as the exact analyser gives it.
    let seen: BTreeSet<String> = sink.lock().unwrap().iter().map(|w| w.to_string()).collect();
    let mut exact = schema::exact_analyzer();
    let want: BTreeSet<String> = tokens(&mut exact, &format!("{text} {many}")).into_iter().map(|t| t.0).collect();
    assert_eq!(seen, want);
}

#[test]
fn batches_give_the_index_one_update_gives() {
    let dir = tempfile::tempdir().unwrap();
    sample(dir.path());
    let root = dir.path();
    let corpus = Project::open(root).unwrap().load().unwrap();
    let opts = WriterOptions { memory_bytes: 32 << 20, threads: 1 };
    let (mut idx, _) = SearchIndex::open_or_create(&root.join(".fieldnotes/index")).unwrap();
    let mut update = idx.begin_update(&opts);
    for d in &corpus.documents {
        let one = Corpus { documents: vec![d.clone()], skipped: vec![] };
        update.add(&one, &|_| {}).unwrap();
    }
    let s = update.finish().unwrap();
    assert_eq!((s.indexed, s.removed, s.unchanged), (3, 0, 0));
    let other = tempfile::tempdir().unwrap();
    sample(other.path());
    let (_, whole) = build(other.path());
    for q in ["trust", "\"staff turnover\"", "site:fife", "tru*"] {
        assert_eq!(ids(&idx, q), ids(&whole, q), "{q}");
    }
    // Batches without one of the notes remove it.
    let mut update = idx.begin_update(&opts);
    let two = Corpus { documents: corpus.documents[1..].to_vec(), skipped: vec![] };
    update.add(&two, &|_| {}).unwrap();
    let s = update.finish().unwrap();
    assert_eq!((s.removed, s.unchanged), (1, 2));
    assert_eq!(idx.n_documents(), 2);
}

#[test]
fn merges_stay_below_the_bound() {
    use tantivy::merge_policy::MergePolicy;
    let (schema, _) = schema::build();
    let index = tantivy::Index::create_in_ram(schema);
    let metas = |sizes: &[u32]| -> Vec<tantivy::SegmentMeta> {
        sizes.iter().map(|&n| index.new_segment_meta(tantivy::index::SegmentId::generate_random(), n)).collect()
    };
    let merged = |m: &[tantivy::SegmentMeta]| -> Vec<u32> {
        BoundedMerges
            .compute_merge_candidates(m)
            .iter()
            .map(|c| c.0.iter().map(|id| m.iter().find(|s| s.id() == *id).unwrap().num_docs()).sum())
            .collect()
    };
    // The small ones together; a large one left alone.
    assert_eq!(merged(&metas(&[50_000, 60_000, 70_000, 300_000, 20_000])), [200_000]);
    // Six fresh segments: two merges of three, each under the bound.
    assert_eq!(merged(&metas(&[130_000; 6])), [390_000, 390_000]);
    // Two segments are not worth a merge.
    assert!(merged(&metas(&[1_000, 2_000])).is_empty());
    // A one-note segment beside the large ones of a built index is left alone; a few small
    // ones go together.
    assert!(merged(&metas(&[1, 60_000, 170_000])).is_empty());
    assert_eq!(merged(&metas(&[1, 3, 2, 60_000, 170_000])), [6]);
    // Segments left mostly deleted by re-indexed notes are each rewritten alone, not read
    // together in one merge; one with fewer deletions waits.
    let thinned: Vec<tantivy::SegmentMeta> = [(216_000, 215_990), (214_000, 213_000), (220_000, 100_000)]
        .iter()
        .map(|&(n, deleted)| {
            index.new_segment_meta(tantivy::index::SegmentId::generate_random(), n).with_delete_meta(deleted, 1)
        })
        .collect();
    let candidates = BoundedMerges.compute_merge_candidates(&thinned);
    let alone: Vec<usize> = candidates.iter().map(|c| c.0.len()).collect();
    assert_eq!(alone, [1, 1], "{candidates:?}");
    assert_eq!(merged(&thinned), [10, 1_000]);
}
