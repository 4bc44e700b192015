//! `fieldnotes-bench`: generate benchmark corpora and time queries on a built index.
//!
//! ```text
//! fieldnotes-bench gen --mb 100 --seed 1 target/bench/corpus
//! fieldnotes-bench query target/bench/corpus target/bench/corpus/queries.txt
//! ```

mod corpus_gen;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use fieldnotes_index::{SearchIndex, SearchOptions};

fn usage() -> ! {
    let _ = writeln!(
        std::io::stderr(),
        "usage:\n  fieldnotes-bench gen --mb N [--seed S] [--transcripts DIR] OUT\n  fieldnotes-bench query PROJECT QUERIES [--repeat N]\n  fieldnotes-bench code PROJECT [--truth truth.csv]\n  fieldnotes-bench crosstab [--codings N] [--csv OUT]\n  fieldnotes-bench ledger PROJECT [--codings N] [--coders K]\n  fieldnotes-bench fold PROJECT\n  fieldnotes-bench learn PROJECT --truth truth.csv [--every K]"
    );
    std::process::exit(2)
}

/// The truth file: each passage id (`path#ordinal`) with its codes.
fn read_truth(truth: &Path) -> Result<std::collections::HashMap<String, Vec<String>>> {
    let mut out = std::collections::HashMap::new();
    for line in std::fs::read_to_string(truth)?.lines().skip(1) {
        let mut parts = line.rsplitn(3, ',');
        let themes = parts.next().unwrap_or("");
        let _site = parts.next();
        let id = parts.next().unwrap_or("").to_string();
        out.insert(id, themes.split(';').filter(|t| !t.is_empty()).map(str::to_string).collect());
    }
    Ok(out)
}

/// The learned coder against the truth: trained on every `every`-th note (in path order) with
/// the truth's codes as a coder's, tested on the rest, as `code learn` trains (its threshold by
/// cross-validation, folds by note); beside it the rules alone, and the model with the rules'
/// suggestions as features. Macro and micro F1 of each, and the time of each model's training
/// (cross-validation included) and prediction.
fn learn_bench(project: &fieldnotes_corpus::Project, truth: &Path, every: usize) -> Result<serde_json::Value> {
    use fieldnotes_coding::learn::{self, Features, Model, Scores, Training, Vocabulary};
    let corpus = project.load()?;
    let book = fieldnotes_coding::Codebook::load(&project.codebook_path())?;
    let truth = read_truth(truth)?;
    let found = fieldnotes_coding::AutoCoder::new(&book)?.code_corpus(&corpus, &|_| {});
    let mut rules: std::collections::HashMap<(usize, usize), Vec<usize>> = std::collections::HashMap::new();
    for pm in &found {
        rules.insert((pm.doc, pm.passage), pm.matches.iter().filter(|m| m.suggested).map(|m| m.code).collect());
    }
    let codes: Vec<String> = book.codes.iter().map(|c| c.id.clone()).collect();
    // Passages: (train?, fold, terms, labels, rules).
    let (mut train, mut fold, mut terms, mut labels, mut by_rules) = (vec![], vec![], vec![], vec![], vec![]);
    for (di, d) in corpus.documents.iter().enumerate() {
        let is_train = di % every.max(1) == 0;
        for (pi, p) in d.passages.iter().enumerate() {
            let id = fieldnotes_corpus::ordinal_id(&d.path, p.ordinal);
            train.push(is_train);
            fold.push((fold_hash(&d.path) % 5) as usize);
            terms.push(learn::terms(d.passage_text(p)));
            labels.push(truth.get(&id).cloned().unwrap_or_default());
            by_rules.push(rules.get(&(di, pi)).cloned().unwrap_or_default());
        }
    }
    let tr: Vec<usize> = (0..train.len()).filter(|&i| train[i]).collect();
    let te: Vec<usize> = (0..train.len()).filter(|&i| !train[i]).collect();
    let f1s = |per: &[Scores]| -> serde_json::Value {
        let macro_f1 = per.iter().map(Scores::f1).sum::<f64>() / per.len().max(1) as f64;
        let all =
            per.iter().fold(Scores::default(), |a, s| Scores { tp: a.tp + s.tp, fp: a.fp + s.fp, fn_: a.fn_ + s.fn_ });
        let per_code: serde_json::Map<String, serde_json::Value> =
            codes.iter().zip(per).map(|(c, s)| (c.clone(), serde_json::json!(s.f1()))).collect();
        serde_json::json!({"macro_f1": macro_f1, "micro_f1": all.f1(), "per_code": per_code})
    };
    // The rules alone, on the test passages.
    let rules_scores: Vec<Scores> = (0..codes.len())
        .map(|k| {
            Scores::of(te.iter().map(|&i| by_rules[i].contains(&k)), te.iter().map(|&i| labels[i].contains(&codes[k])))
        })
        .collect();
    let t = Instant::now();
    let train_terms: Vec<Vec<String>> = tr.iter().map(|&i| terms[i].clone()).collect();
    let vocab = Vocabulary::fit(&train_terms, 2);
    let xs: Vec<Features> = terms.iter().map(|t| vocab.features(t)).collect();
    let featurize_s = t.elapsed().as_secs_f64();
    let mut variants = serde_json::Map::new();
    for with_rules in [false, true] {
        let dim = vocab.len() + if with_rules { codes.len() } else { 0 };
        let x = |i: usize| -> Features {
            let mut f = xs[i].clone();
            if with_rules {
                f.extend(by_rules[i].iter().map(|&k| ((vocab.len() + k) as u32, RULE_WEIGHT)));
            }
            f
        };
        let train_x: Vec<Features> = tr.iter().map(|&i| x(i)).collect();
        let train_fold: Vec<usize> = tr.iter().map(|&i| fold[i]).collect();
        let test_x: Vec<Features> = te.iter().map(|&i| x(i)).collect();
        let (mut train_s, mut predict_s) = (featurize_s, 0.0);
        let mut per = Vec::new();
        for code in &codes {
            let ys: Vec<bool> = tr.iter().map(|&i| labels[i].contains(code)).collect();
            let t = Instant::now();
            let held = learn::cross_validate(&train_x, &ys, &train_fold, 5, dim, Training::default());
            let (threshold, _) = learn::best_threshold(&held, &ys);
            let refs: Vec<&Features> = train_x.iter().collect();
            let m = Model::train(&refs, &ys, dim, Training::default());
            train_s += t.elapsed().as_secs_f64();
            let t = Instant::now();
            let predicted: Vec<bool> = test_x.iter().map(|f| m.score(f) >= threshold).collect();
            predict_s += t.elapsed().as_secs_f64();
            per.push(Scores::of(predicted, te.iter().map(|&i| labels[i].contains(code))));
        }
        let mut v = f1s(&per);
        v["train_s"] = serde_json::json!(train_s);
        v["predict_s"] = serde_json::json!(predict_s);
        variants.insert(if with_rules { "model+rules".into() } else { "model".into() }, v);
    }
    variants.insert("rules".into(), f1s(&rules_scores));
    Ok(serde_json::json!({"tool": "fieldnotes", "op": "learn", "every": every, "train_passages": tr.len(),
        "test_passages": te.len(), "features": vocab.len(), "variants": variants}))
}

/// The value of a rule's feature beside a passage's TF-IDF features (of unit length).
const RULE_WEIGHT: f32 = 0.2;

fn fold_hash(s: &str) -> u64 {
    // A note's fold: FNV-1a of its path, so that its passages stay together.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// Precision, recall and F1 per code of the auto-coder's suggestions against the truth file.
fn scores(
    corpus: &fieldnotes_corpus::Corpus,
    book: &fieldnotes_coding::Codebook,
    found: &[fieldnotes_coding::PassageMatches],
    truth: &Path,
) -> Result<serde_json::Value> {
    use std::collections::HashSet;
    let want: HashSet<(String, String)> = read_truth(truth)?
        .into_iter()
        .flat_map(|(id, codes)| codes.into_iter().map(move |c| (id.clone(), c)))
        .collect();
    let mut got: HashSet<(String, String)> = HashSet::new();
    for pm in found {
        let d = &corpus.documents[pm.doc];
        let id = fieldnotes_corpus::ordinal_id(&d.path, d.passages[pm.passage].ordinal);
        for m in pm.matches.iter().filter(|m| m.suggested) {
            got.insert((id.clone(), book.codes[m.code].id.clone()));
        }
    }
    let mut per = serde_json::Map::new();
    let (mut tp_all, mut fp_all, mut fn_all) = (0usize, 0usize, 0usize);
    for c in &book.codes {
        let tp = got.iter().filter(|(i, k)| k == &c.id && want.contains(&(i.clone(), k.clone()))).count();
        let fp = got.iter().filter(|(_, k)| k == &c.id).count() - tp;
        let fn_ = want.iter().filter(|(_, k)| k == &c.id).count() - tp;
        tp_all += tp;
        fp_all += fp;
        fn_all += fn_;
        per.insert(c.id.clone(), prf(tp, fp, fn_));
    }
    Ok(serde_json::json!({"per_code": per, "micro": prf(tp_all, fp_all, fn_all)}))
}

fn prf(tp: usize, fp: usize, fn_: usize) -> serde_json::Value {
    // Undefined ratios count as 0 here, so the summary table always has a number.
    let (p, r, f) = fieldnotes_coding::units::precision_recall_f1(tp, fp, fn_);
    let (p, r, f) = (p.unwrap_or(0.0), r.unwrap_or(0.0), f.unwrap_or(0.0));
    serde_json::json!({"tp": tp, "fp": fp, "fn": fn_, "precision": p, "recall": r, "f1": f})
}

/// Times the theme table (codes x sites) over `n` synthetic codings: one passage frame of n/2
/// passages over 7 sites, and n coded (passage, code) rows, two different codes per passage. Optionally writes the same rows as `passage,site,code` CSV for the
/// Python peers.
fn crosstab(n: usize, csv: Option<&Path>) -> Result<serde_json::Value> {
    use polars::prelude::*;
    let sites = ["Aberdeenshire", "Dundee", "Fife", "Glasgow", "Highland", "Renfrewshire", "West Dunbartonshire"];
    let book = fieldnotes_coding::Codebook::parse(include_str!("../../../data/codebooks/wws-considerations.toml"))
        .map_err(|(_, m)| anyhow::anyhow!(m))?;
    let codes: Vec<&str> = book.codes.iter().map(|c| c.id.as_str()).collect();
    let passages = (n / 2).max(1);
    let mut rng = corpus_gen::Rng::new(7);
    let site_of: Vec<u32> = (0..passages).map(|_| rng.below(sites.len()) as u32).collect();
    let (mut unit, mut doc, mut group, mut words, mut code) = (vec![], vec![], vec![], vec![], vec![]);
    // Two different codes per passage: each (passage, code) once, as `Frames::build` makes them.
    for (p, &site) in site_of.iter().enumerate() {
        let first = rng.below(codes.len());
        let second = (first + 1 + rng.below(codes.len() - 1)) % codes.len();
        for c in [first, second] {
            unit.push(p as u32);
            doc.push((p / 12) as u32);
            group.push(site);
            words.push(60u32);
            code.push(c as u32);
        }
    }
    if let Some(path) = csv {
        let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
        writeln!(w, "passage,site,code")?;
        for i in 0..unit.len() {
            writeln!(w, "p{},{},{}", unit[i], sites[group[i] as usize], codes[code[i] as usize])?;
        }
        w.flush()?;
    }
    let frames = fieldnotes_report::Frames {
        passages: df!(
            "doc" => (0..passages).map(|p| (p / 12) as u32).collect::<Vec<_>>(),
            "group" => site_of.clone(),
            "words" => vec![60u32; passages],
            "n" => vec![1u32; passages],
        )?,
        coded: df!("doc" => doc, "group" => group, "words" => words, "code" => code, "n" => vec![1u32; unit.len()])?,
        groups: sites.iter().map(|s| s.to_string()).collect(),
        codes: codes.iter().map(|c| c.to_string()).collect(),
    };
    let t = Instant::now();
    let table = fieldnotes_report::theme_table(
        &frames,
        &book,
        "site",
        fieldnotes_report::UnitKind::Passages,
        fieldnotes_report::Measure::Count,
        "synthetic",
        false,
    )?;
    let secs = t.elapsed().as_secs_f64();
    let mut cells = serde_json::Map::new();
    for r in &table.rows {
        for (j, g) in table.groups.iter().enumerate().take(table.groups.len() - 1) {
            cells.insert(format!("{}|{g}", r.id), r.cells[j].passages.into());
        }
    }
    Ok(serde_json::json!({"tool": "fieldnotes", "op": "crosstab", "codings": n, "crosstab_s": secs, "cells": cells}))
}

/// Writes `n` accepted whole-passage codings of the codebook's codes into the ledgers of
/// `coders` coders (`coder1.jsonl`, ...): each coder codes passages in turn, each passage with
/// a different code, as a team of coders working through a large study would. The ledgers are
/// written directly (one `add` event a line, as `fieldnotes code add` writes them).
fn write_ledgers(root: &Path, n: usize, coders: usize) -> Result<usize> {
    use fieldnotes_coding::{Coding, Event, Origin, Status};
    let project = fieldnotes_corpus::Project::open(root)?;
    let corpus = project.load()?;
    let book = fieldnotes_coding::Codebook::load(&project.codebook_path())?;
    let units: Vec<(usize, usize)> =
        corpus.documents.iter().enumerate().flat_map(|(di, d)| (0..d.passages.len()).map(move |pi| (di, pi))).collect();
    let per_coder = n.div_ceil(coders.max(1));
    anyhow::ensure!(
        per_coder <= units.len() * book.codes.len(),
        "{per_coder} codings per coder is more than one per passage and code"
    );
    std::fs::create_dir_all(root.join("codings"))?;
    let mut written = 0;
    for k in 1..=coders.max(1) {
        let coder = format!("coder{k}");
        let mut w = std::io::BufWriter::with_capacity(
            1 << 20,
            std::fs::File::create(root.join(format!("codings/{coder}.jsonl")))?,
        );
        for i in 0..per_coder.min(n - written) {
            let (di, pi) = units[i % units.len()];
            let round = i / units.len();
            let d = &corpus.documents[di];
            let p = &d.passages[pi];
            // A different code in each round over the passages, so no coding repeats.
            let code = &book.codes[((i % units.len()) * 7 + k * 3 + round) % book.codes.len()].id;
            let c = Coding {
                time: "2026-01-01T00:00:00Z".into(),
                ..Coding::whole_passage(d, p, code, &coder, Origin::Manual, Status::Accepted)
            };
            serde_json::to_writer(&mut w, &Event::Add(c))?;
            w.write_all(b"\n")?;
            written += 1;
        }
        w.flush()?;
    }
    Ok(written)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let positional: Vec<&String> = {
        let mut v = Vec::new();
        let mut i = 1;
        while i < args.len() {
            if args[i].starts_with("--") {
                i += 2;
            } else {
                v.push(&args[i]);
                i += 1;
            }
        }
        v
    };
    let mut out = std::io::stdout().lock();
    match args.first().map(String::as_str) {
        Some("gen") => {
            let mb: f64 = flag("--mb").context("--mb is required")?.parse().context("--mb takes a number")?;
            let seed: u64 = flag("--seed").map_or(Ok(1), |s| s.parse()).context("--seed takes a whole number")?;
            let transcripts = flag("--transcripts")
                .map(PathBuf::from)
                .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/qmsum-committee"));
            let Some(dest) = positional.first() else { usage() };
            let started = Instant::now();
            let g = corpus_gen::generate(Path::new(dest.as_str()), mb, seed, &transcripts)?;
            writeln!(
                out,
                "{}",
                serde_json::json!({"notes": g.notes, "passages": g.passages, "bytes": g.bytes, "seconds": started.elapsed().as_secs_f64()})
            )?;
        }
        Some("query") => {
            let (Some(project), Some(queries)) = (positional.first(), positional.get(1)) else { usage() };
            let repeat: usize =
                flag("--repeat").map_or(Ok(5), |s| s.parse()).context("--repeat takes a whole number")?;
            let dir = Path::new(project.as_str()).join(".fieldnotes/index");
            let idx = SearchIndex::open(&dir)?
                .with_context(|| format!("no index in `{}`; run `fieldnotes index` first", dir.display()))?;
            let qs: Vec<String> = std::fs::read_to_string(queries.as_str())?
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect();
            let opts = SearchOptions { limit: 20, ..Default::default() };
            let mut hits_total = 0usize;
            for q in &qs {
                hits_total += idx.search(q, &opts)?.total;
            }
            // Median of `repeat` runs per query, then percentiles over queries.
            let time = |f: &dyn Fn(&str) -> anyhow::Result<()>| -> anyhow::Result<(f64, f64)> {
                let mut per_query: Vec<f64> = Vec::with_capacity(qs.len());
                for q in &qs {
                    let mut times = Vec::with_capacity(repeat.max(1));
                    for _ in 0..repeat.max(1) {
                        let t = Instant::now();
                        f(q)?;
                        times.push(t.elapsed().as_secs_f64() * 1000.0);
                    }
                    times.sort_by(f64::total_cmp);
                    per_query.push(times[times.len() / 2]);
                }
                per_query.sort_by(f64::total_cmp);
                let pct = |p: f64| per_query[((per_query.len() as f64 - 1.0) * p).round() as usize];
                Ok((pct(0.50), pct(0.99)))
            };
            let (p50, p99) = time(&|q| idx.top_ids(q, false, 20).map(|_| ()).map_err(Into::into))?;
            let (sp50, sp99) = time(&|q| idx.search(q, &opts).map(|_| ()).map_err(Into::into))?;
            writeln!(
                out,
                "{}",
                serde_json::json!({"tool": "fieldnotes", "op": "query", "queries": qs.len(), "p50_ms": p50, "p99_ms": p99,
                    "with_snippets_p50_ms": sp50, "with_snippets_p99_ms": sp99, "hits_total": hits_total, "passages": idx.n_passages()?})
            )?;
        }
        Some("crosstab") => {
            let n: usize =
                flag("--codings").map_or(Ok(10_000_000), |s| s.parse()).context("--codings takes a whole number")?;
            let csv = flag("--csv");
            writeln!(out, "{}", crosstab(n, csv.as_deref().map(Path::new))?)?;
        }
        Some("code") => {
            let Some(project) = positional.first() else { usage() };
            let project = fieldnotes_corpus::Project::open(project.as_str())?;
            let corpus = project.load()?;
            let book = fieldnotes_coding::Codebook::load(&project.codebook_path())?;
            let coder = fieldnotes_coding::AutoCoder::new(&book)?;
            let bytes: usize =
                corpus.documents.iter().flat_map(|d| d.passages.iter().map(|p| p.byte_end - p.byte_start)).sum();
            // Warm-up, then the timed pass: the automaton, the regex set and the evidence.
            let _ = coder.code_corpus(&corpus, &|_| {});
            let t = Instant::now();
            let found = coder.code_corpus(&corpus, &|_| {});
            let secs = t.elapsed().as_secs_f64();
            let passages = corpus.passage_count();
            let coded = found.iter().filter(|m| m.matches.iter().any(|c| c.suggested)).count();
            let mut result = serde_json::json!({
                "tool": "fieldnotes", "op": "code", "code_s": secs, "passages": passages, "passages_coded": coded,
                "paragraphs_per_s": passages as f64 / secs, "mb_per_s": bytes as f64 / 1e6 / secs,
                "threads": std::thread::available_parallelism().map_or(1, |n| n.get()),
            });
            if let Some(truth) = flag("--truth") {
                result["scores"] = scores(&corpus, &book, &found, Path::new(&truth))?;
            }
            writeln!(out, "{result}")?;
        }
        Some("learn") => {
            let Some(project) = positional.first() else { usage() };
            let project = fieldnotes_corpus::Project::open(project.as_str())?;
            let truth = flag("--truth").context("--truth truth.csv is required")?;
            let every: usize = flag("--every").map_or(Ok(5), |s| s.parse()).context("--every takes a whole number")?;
            writeln!(out, "{}", learn_bench(&project, Path::new(&truth), every)?)?;
        }
        Some("ledger") => {
            let Some(project) = positional.first() else { usage() };
            let n: usize =
                flag("--codings").map_or(Ok(10_000_000), |s| s.parse()).context("--codings takes a whole number")?;
            let coders: usize =
                flag("--coders").map_or(Ok(8), |s| s.parse()).context("--coders takes a whole number")?;
            let started = Instant::now();
            let written = write_ledgers(Path::new(project.as_str()), n, coders)?;
            writeln!(
                out,
                "{}",
                serde_json::json!({"codings": written, "coders": coders, "seconds": started.elapsed().as_secs_f64()})
            )?;
        }
        Some("fold") => {
            // Folds the project's ledgers into the compact table `index` and `code auto` use.
            let Some(project) = positional.first() else { usage() };
            let started = Instant::now();
            let table = fieldnotes_coding::CodingTable::load(Path::new(project.as_str()))?;
            writeln!(
                out,
                "{}",
                serde_json::json!({"op": "fold", "codings": table.len(), "bad_lines": table.bad_lines().len(),
                    "seconds": started.elapsed().as_secs_f64()})
            )?;
        }
        Some(other) => bail!("unknown command `{other}`"),
        None => usage(),
    }
    Ok(())
}
