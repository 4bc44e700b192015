//! Micro-benchmarks of the hot paths on the sample study (`data/sample`, 72 notes, 904
//! passages): `cargo bench -p fieldnotes-bench`. The end-to-end comparison with other tools is
//! `just bench`; these are for watching one function at a time.

use std::path::{Path, PathBuf};

use divan::Bencher;
use fieldnotes_coding::units::{self, Selection};
use fieldnotes_coding::{AutoCoder, Codebook, Codings};
use fieldnotes_corpus::{Corpus, Project, SplitOptions};
use fieldnotes_index::{SearchIndex, SearchOptions, WriterOptions};
use fieldnotes_report::{Frames, GroupBy, Measure, UnitKind};

fn main() {
    divan::main();
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus() -> Corpus {
    Project::open(repo().join("data/sample")).unwrap().load().unwrap()
}

fn codebook() -> Codebook {
    Codebook::load(&repo().join("data/codebooks/wws-considerations.toml")).unwrap()
}

/// The sample corpus's suggestions as a ledger (one `add` a line), and the corpus.
fn ledger_bytes() -> (Corpus, Vec<u8>) {
    let corpus = corpus();
    let coder = AutoCoder::new(&codebook()).unwrap();
    let book = codebook();
    let mut out = Vec::new();
    for pm in coder.code_corpus(&corpus, &|_| {}) {
        let d = &corpus.documents[pm.doc];
        let p = &d.passages[pm.passage];
        for m in pm.matches.iter().filter(|m| m.suggested) {
            let code = &book.codes[m.code].id;
            let c = fieldnotes_coding::Coding {
                evidence: m.hits.clone(),
                ..fieldnotes_coding::Coding::whole_passage(
                    d,
                    p,
                    code,
                    "rules",
                    fieldnotes_coding::Origin::Rule,
                    fieldnotes_coding::Status::Accepted,
                )
            };
            serde_json::to_writer(&mut out, &fieldnotes_coding::Event::Add(c)).unwrap();
            out.push(b'\n');
        }
    }
    (corpus, out)
}

#[divan::bench]
fn parse_every_note(b: Bencher) {
    let texts: Vec<(String, String)> = corpus().documents.iter().map(|d| (d.path.clone(), d.text.clone())).collect();
    let opts = SplitOptions { speaker_turns: true };
    b.bench(|| {
        texts
            .iter()
            .map(|(p, t)| fieldnotes_corpus::parse_document(p.clone(), t.clone(), &opts).unwrap().passages.len())
            .sum::<usize>()
    });
}

#[divan::bench]
fn auto_code_every_passage(b: Bencher) {
    let corpus = corpus();
    let coder = AutoCoder::new(&codebook()).unwrap();
    b.bench(|| {
        let mut n = 0;
        for d in &corpus.documents {
            for p in &d.passages {
                n += coder.code_passage(d.passage_text(p), p.start).len();
            }
        }
        n
    });
}

#[divan::bench]
fn fold_ledger(b: Bencher) {
    let (_, bytes) = ledger_bytes();
    b.bench(|| fieldnotes_coding::ledger::fold_bytes(Path::new("rules.jsonl"), &bytes).codings.len());
}

#[divan::bench(sample_count = 10)]
fn index_from_scratch(b: Bencher) {
    let corpus = corpus();
    b.bench(|| {
        let dir = tempfile::tempdir().unwrap();
        let (mut idx, _) = SearchIndex::open_or_create(&dir.path().join("index")).unwrap();
        idx.update(&corpus, &WriterOptions::default(), &|_| {}).unwrap().passages
    });
}

#[divan::bench(args = ["trust", "\"staff turnover\"", "trust AND site:fife", "partner*", "trsut~1"])]
fn query(b: Bencher, q: &str) {
    let corpus = corpus();
    let dir = tempfile::tempdir().unwrap();
    let (mut idx, _) = SearchIndex::open_or_create(&dir.path().join("index")).unwrap();
    idx.update(&corpus, &WriterOptions::default(), &|_| {}).unwrap();
    let opts = SearchOptions { limit: 20, ..Default::default() };
    b.bench(|| idx.search(q, &opts).unwrap().total);
}

#[divan::bench]
fn theme_table(b: Bencher) {
    let (corpus, bytes) = ledger_bytes();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("codings")).unwrap();
    std::fs::write(dir.path().join("codings/rules.jsonl"), &bytes).unwrap();
    let codings = Codings::load(dir.path()).unwrap();
    let book = codebook();
    let sel = Selection::default();
    b.bench(|| {
        let placement = units::place(&corpus, &codings, &mut fieldnotes_coding::Anchorer::new(None));
        let codes = units::passage_codes(&placement, &sel);
        let frames = Frames::build(&corpus, &codes, &book, &GroupBy::parse("site"), false).unwrap();
        fieldnotes_report::theme_table(&frames, &book, "site", UnitKind::Passages, Measure::Count, "", false)
            .unwrap()
            .rows
            .len()
    });
}
