//! `code learn`: a model per code trained on the passages some coders have coded, checked by
//! cross-validation (folds by note) before anything is written, then suggesting the code for
//! the passages of the notes those coders have not coded, as coder `model`, each suggestion with
//! its score and the words that weighed most.
//!
//! Training examples: every passage of a note the coders have coded (a note with at least one
//! accepted coding of theirs, or a coding they accepted in review). A passage is a positive
//! example of each code they gave it, and a negative example of every other code; a suggestion
//! they rejected is a negative example of its code wherever it is.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Result, bail};
use fieldnotes_coding::Hit;
use fieldnotes_coding::learn::{self, CodeModel, Features, Model, Scores, Training, Vocabulary};
use fieldnotes_coding::ledger::{Coding, Event, Ledger, Origin, Status};
use fieldnotes_corpus::Project;
use serde::Serialize;

use crate::Tell;

/// The coder the model's suggestions are written as.
pub const MODEL: &str = "model";

/// What to learn from, and what to suggest.
#[derive(Clone, Debug)]
pub struct Options {
    /// The coders whose codings are the examples.
    pub from: Vec<String>,
    /// Only these codes (default: every code of the codebook).
    pub codes: Vec<String>,
    /// A code with fewer positive examples is not learned (nor suggested).
    pub min_examples: usize,
    /// Suggest for every passage, the coders' own notes too.
    pub all: bool,
    /// Check and report only: write nothing.
    pub dry_run: bool,
    /// Cross-validation folds (by note).
    pub folds: usize,
}

/// One code's examples and cross-validated quality.
#[derive(Clone, Debug, Serialize)]
pub struct CodeReport {
    /// The code.
    pub code: String,
    /// Passages carrying it (positive examples).
    pub positives: usize,
    /// Passages of the coded notes without it.
    pub negatives: usize,
    /// Whether a model was learned (enough examples, and better in cross-validation than
    /// suggesting the code everywhere).
    pub learned: bool,
    /// Why not, when it was not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why_not: Option<String>,
    /// Cross-validated counts at the threshold.
    pub scores: Scores,
    /// The score at or above which the code is suggested, chosen by cross-validation.
    pub threshold: f32,
    /// Suggestions written.
    pub suggested: usize,
}

/// What [`learn`] did.
#[derive(Clone, Debug, Serialize)]
pub struct Learned {
    /// Notes the coders have coded (the training notes).
    pub notes: usize,
    /// Their passages.
    pub passages: usize,
    /// Features (words and word pairs) in the vocabulary.
    pub features: usize,
    /// Cross-validation folds used: those asked for, at most one a coded note.
    pub folds: usize,
    /// Per code.
    pub codes: Vec<CodeReport>,
    /// Notes that got suggestions.
    pub notes_suggested: usize,
    /// Suggestions of an earlier model, not reviewed, that this one no longer makes: withdrawn.
    pub withdrawn: usize,
    /// Whether anything was written.
    pub written: bool,
}

/// Where the last `code learn`'s models are kept.
pub fn model_path(project: &Project) -> std::path::PathBuf {
    project.derived_dir().join("model.json")
}

/// The last `code learn`'s vocabulary and models, if there are any.
pub fn saved(project: &Project) -> Option<(learn::Vocabulary, Vec<CodeModel>)> {
    let bytes = std::fs::read(model_path(project)).ok()?;
    let saved: learn::Saved = serde_json::from_slice(&bytes).ok()?;
    Some(saved.models())
}

/// `pending` with the learned coder's suggestions first, least certain first (closest to their
/// code's threshold: each decision on one of them teaches the next `code learn` most), then the
/// rest in their order. Without a kept model, as they were.
pub fn uncertain_first(project: &Project, pending: &mut [crate::code::Pending]) {
    let Some((vocab, models)) = saved(project) else { return };
    let distance = |p: &crate::code::Pending| -> f32 {
        if p.coding.coder != MODEL {
            return f32::INFINITY;
        }
        models.iter().find(|(c, _, _)| *c == p.coding.code).map_or(f32::INFINITY, |(_, m, threshold)| {
            (m.score(&vocab.features(&learn::terms(&p.text))) - threshold).abs()
        })
    };
    let mut keyed: Vec<(f32, usize)> = pending.iter().enumerate().map(|(i, p)| (distance(p), i)).collect();
    keyed.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    let order: Vec<crate::code::Pending> = keyed.iter().map(|&(_, i)| pending[i].clone()).collect();
    pending.clone_from_slice(&order);
}

/// The folds of the notes, given each passage's note as a hash of its path: the notes in the
/// order of their hashes, dealt out in turn to `folds` folds, so a note's passages stay
/// together, every fold holds a note, and the same notes fall in the same folds on every run.
fn folds_of(note_hashes: &[u64], folds: usize) -> Vec<usize> {
    let mut notes: Vec<u64> = note_hashes.to_vec();
    notes.sort_unstable();
    notes.dedup();
    note_hashes.iter().map(|h| notes.binary_search(h).unwrap_or(0) % folds.max(1)).collect()
}

/// Learns, checks and (unless a dry run) suggests; see the module's documentation.
pub fn learn(project: &Project, opts: &Options, tell: &dyn Tell) -> Result<Learned> {
    for c in &opts.from {
        fieldnotes_coding::ledger::validate_coder(c)?;
    }
    if opts.from.iter().any(|c| c == MODEL) {
        bail!("the model cannot learn from its own suggestions: name the coders whose codings are the examples");
    }
    let book = crate::study::codebook(project)?;
    let codes: Vec<String> = if opts.codes.is_empty() {
        book.codes.iter().map(|c| c.id.clone()).collect()
    } else {
        for c in &opts.codes {
            crate::code::require_code(&book, c)?;
        }
        opts.codes.clone()
    };
    let from: BTreeSet<&str> = opts.from.iter().map(String::as_str).collect();
    // Pass 1: the training passages (terms, labels, fold).
    let mut terms: Vec<Vec<String>> = Vec::new();
    let mut labels: Vec<BTreeSet<String>> = Vec::new();
    let mut rejected: Vec<BTreeSet<String>> = Vec::new();
    // Each passage's note, as a hash of its path (its fold is known once every note is).
    let mut note_hashes: Vec<u64> = Vec::new();
    let mut coded_notes: BTreeSet<String> = BTreeSet::new();
    // What the coders turned down, wherever it is: (note, passage start, code). The model never
    // suggests it again.
    let mut turned_down: std::collections::HashSet<(String, usize, String)> = std::collections::HashSet::new();
    // Codes the coders used that the codebook does not have (renamed there): with how many.
    let mut unknown: BTreeMap<String, usize> = BTreeMap::new();
    crate::study::place_in_batches(project, tell, |corpus, _, placement| {
        let mut by_note: BTreeMap<usize, Vec<&fieldnotes_coding::units::Placed<'_>>> = BTreeMap::new();
        for x in &placement.placed {
            let theirs = from.contains(x.coding.coder.as_str())
                || x.coding.reviewer.as_deref().is_some_and(|r| from.contains(r));
            if theirs && x.coding.status == Status::Accepted && book.code(&x.coding.code).is_none() {
                *unknown.entry(x.coding.code.clone()).or_default() += 1;
            }
            if theirs && x.coding.status != Status::Suggested {
                by_note.entry(x.doc).or_default().push(x);
            }
            if theirs && x.coding.status == Status::Rejected {
                let d = &corpus.documents[x.doc];
                for pi in x.passages.clone() {
                    turned_down.insert((d.path.clone(), d.passages[pi].start, x.coding.code.clone()));
                }
            }
        }
        for (di, placed) in by_note {
            if !placed.iter().any(|x| x.coding.status == Status::Accepted) {
                continue;
            }
            let d = &corpus.documents[di];
            coded_notes.insert(d.path.clone());
            let note_hash = xxhash_rust::xxh3::xxh3_64(d.path.as_bytes());
            for (pi, p) in d.passages.iter().enumerate() {
                let on = |status: Status| -> BTreeSet<String> {
                    placed
                        .iter()
                        .filter(|x| x.coding.status == status && x.passages.contains(&pi))
                        .map(|x| x.coding.code.clone())
                        .collect()
                };
                terms.push(learn::terms(d.passage_text(p)));
                labels.push(on(Status::Accepted));
                rejected.push(on(Status::Rejected));
                note_hashes.push(note_hash);
            }
        }
        Ok(())
    })?;
    if !unknown.is_empty() {
        let n: usize = unknown.values().sum();
        let shown: Vec<String> = unknown.iter().take(5).map(|(c, k)| format!("`{c}` ({k})")).collect();
        tell.warn(&format!(
            "{n} coding(s) of {} use codes the codebook does not have ({}): they teach nothing; a code renamed in `codebook.toml` keeps its old id in the ledgers, so give it back its old id (`fieldnotes codebook check` lists them)",
            opts.from.join(", "),
            shown.join(", ")
        ));
    }
    if terms.is_empty() {
        bail!(
            "{} coded no note yet: code a few notes by hand first (`fieldnotes code add` or `fieldnotes serve`), then learn",
            opts.from.join(", ")
        );
    }
    let vocab = Vocabulary::fit(&terms, 2);
    let xs: Vec<Features> = terms.iter().map(|t| vocab.features(t)).collect();
    drop(terms);
    let training = Training::default();
    // Whole notes to a fold: no more folds than notes (two notes are two folds, whatever was
    // asked), and with one note none.
    let fold_count = opts.folds.max(2).min(coded_notes.len());
    let folds = folds_of(&note_hashes, fold_count);
    let mut reports = Vec::new();
    let mut models: Vec<CodeModel> = Vec::new();
    for code in &codes {
        // A rejected suggestion is a negative example even where another coder gave the code.
        let ys: Vec<bool> = labels.iter().zip(&rejected).map(|(l, r)| l.contains(code) && !r.contains(code)).collect();
        let positives = ys.iter().filter(|&&y| y).count();
        let mut report = CodeReport {
            code: code.clone(),
            positives,
            negatives: ys.len() - positives,
            learned: false,
            why_not: None,
            scores: Scores::default(),
            threshold: 0.5,
            suggested: 0,
        };
        if positives < opts.min_examples.max(1) {
            report.why_not = Some(format!("too few examples (--min-examples {})", opts.min_examples.max(1)));
        } else if positives == ys.len() {
            report.why_not = Some("no passage of the coded notes lacks it: nothing to tell it from".into());
        } else if fold_count < 2 {
            report.why_not = Some("one note coded: cross-validation needs two".into());
        } else {
            let held_out = learn::cross_validate(&xs, &ys, &folds, fold_count, vocab.len(), training);
            let (threshold, scores) = learn::best_threshold(&held_out, &ys);
            // What suggesting the code on every passage would score: a model no better than
            // that has learned nothing it could show.
            let base = positives as f64 / ys.len() as f64;
            let everywhere = 2.0 * base / (1.0 + base);
            report.scores = scores;
            report.threshold = threshold;
            if scores.f1() <= everywhere + 0.01 {
                report.why_not = Some(format!(
                    "no better in cross-validation than suggesting it everywhere (F1 {:.2} against {everywhere:.2})",
                    scores.f1()
                ));
            } else {
                let refs: Vec<&Features> = xs.iter().collect();
                models.push((code.clone(), Model::train(&refs, &ys, vocab.len(), training), threshold));
                report.learned = true;
            }
        }
        reports.push(report);
    }
    let mut learned = Learned {
        notes: coded_notes.len(),
        passages: xs.len(),
        features: vocab.len(),
        folds: fold_count,
        codes: reports,
        notes_suggested: 0,
        withdrawn: 0,
        written: false,
    };
    if opts.dry_run || models.is_empty() {
        return Ok(learned);
    }
    fieldnotes_corpus::atomic::write(
        &model_path(project),
        &serde_json::to_vec(&learn::Saved::of(&opts.from, &vocab, &models))?,
    )?;
    // Pass 2: the notes to suggest for, a batch at a time, each batch's suggestions written at
    // once; a suggestion the model made before (kept, removed or decided) is not made again.
    let table = crate::study::coding_table(project, tell)?;
    let ledger = Ledger::new(project.root(), MODEL)?;
    let versions = fieldnotes_coding::Versions::new(&project.derived_dir());
    let mut written: BTreeMap<String, usize> = BTreeMap::new();
    let mut withdrawn = 0usize;
    // The notes that cannot be read were named in the first pass.
    let quiet = crate::Silent;
    let files = crate::study::note_files(project, &quiet)?.0;
    crate::study::read_in_batches(project, &files, &quiet, &|_| {}, true, |corpus| {
        let mut events = Vec::new();
        let mut touched = Vec::new();
        let mut anchorer = crate::study::anchorer(project);
        for (di, d) in corpus.documents.iter().enumerate() {
            if !opts.all && coded_notes.contains(&d.path) {
                continue;
            }
            let before = events.len();
            // The model's earlier codings of the note, placed on it once, when first needed: a
            // passage edited since keeps its suggestion (and its review) rather than getting a
            // second under a new id, as with `code auto`; and those still waiting that this model
            // no longer makes are withdrawn.
            let earlier: Vec<Coding> = table.of_doc(&d.path).filter(|c| c.coder == MODEL).collect();
            let mut placed: Option<Placed<'_>> = None;
            // What this model suggests on the note, made before or not.
            let mut now: std::collections::HashSet<(usize, String)> = std::collections::HashSet::new();
            for (pi, p) in d.passages.iter().enumerate() {
                let text = d.passage_text(p);
                let x = vocab.features(&learn::terms(text));
                if x.is_empty() {
                    continue;
                }
                for (code, model, threshold) in &models {
                    let score = model.score(&x);
                    if score < *threshold || turned_down.contains(&(d.path.clone(), p.start, code.clone())) {
                        continue;
                    }
                    now.insert((pi, code.clone()));
                    let mut c = Coding::whole_passage(d, p, code, MODEL, Origin::Model, Status::Suggested);
                    if table.was_added(MODEL, &c.id) {
                        continue;
                    }
                    let (_, standing) = placed.get_or_insert_with(|| place_earlier(di, d, &earlier, &mut anchorer));
                    if standing.contains(&(pi, code.as_str())) {
                        continue;
                    }
                    c.memo = Some(format!("model score {score:.2} (suggested at {threshold:.2} and above)"));
                    c.evidence =
                        model.reasons(&x, 5).into_iter().map(|(f, _)| evidence(vocab.name(f), text, p.start)).collect();
                    *written.entry(code.clone()).or_default() += 1;
                    events.push(Event::Add(c));
                }
            }
            // An earlier model's suggestion still waiting for review that this one, learning the
            // same code, no longer makes is withdrawn: the model's suggestions are the model's
            // now, not two runs' mixed (reviewed ones stay, as decisions).
            let waits = |c: &Coding| c.status == Status::Suggested && models.iter().any(|(code, _, _)| *code == c.code);
            if earlier.iter().any(waits) {
                let (codings, _) = placed.get_or_insert_with(|| place_earlier(di, d, &earlier, &mut anchorer));
                for (passages, c) in codings.iter().filter(|(_, c)| waits(c)) {
                    if !passages.clone().any(|pi| now.contains(&(pi, c.code.clone()))) {
                        withdrawn += 1;
                        events.push(Event::Remove {
                            id: c.id.clone(),
                            doc: Some(d.path.clone()),
                            by: MODEL.to_string(),
                            time: fieldnotes_coding::ledger::now(),
                        });
                    }
                }
            }
            if events.len() > before {
                touched.push(d);
            }
        }
        if !events.is_empty() {
            versions.keep_all(&touched)?;
            ledger.append(&events)?;
        }
        learned.notes_suggested += touched.len();
        Ok(())
    })?;
    for r in &mut learned.codes {
        r.suggested = written.get(&r.code).copied().unwrap_or(0);
    }
    learned.withdrawn = withdrawn;
    learned.written = true;
    fieldnotes_coding::Codings::refresh_states(project.root(), &project.derived_dir())?;
    Ok(learned)
}

/// Each of a note's earlier model codings placed on it: the passages it stands on, and the
/// (passage, code) pairs of them all.
type Placed<'c> = (Vec<(std::ops::Range<usize>, &'c Coding)>, std::collections::HashSet<(usize, &'c str)>);

/// [`Placed`] of `earlier`, the model's codings of note `d` (index `di` of its batch).
fn place_earlier<'c>(
    di: usize,
    d: &fieldnotes_corpus::Document,
    earlier: &'c [Coding],
    anchorer: &mut fieldnotes_coding::Anchorer,
) -> Placed<'c> {
    let codings: Vec<(std::ops::Range<usize>, &Coding)> =
        fieldnotes_coding::units::place_in_doc(di, d, earlier, anchorer)
            .placed
            .iter()
            .map(|x| (x.passages.clone(), x.coding))
            .collect();
    let standing = codings.iter().flat_map(|(r, c)| r.clone().map(|pi| (pi, c.code.as_str()))).collect();
    (codings, standing)
}

/// A feature as evidence: the words where the passage has them (first place, any case), or the
/// feature alone where their case changes the text's length.
fn evidence(feature: &str, text: &str, passage_start: usize) -> Hit {
    let lower = text.to_lowercase();
    let found = (lower.len() == text.len()).then(|| lower.find(feature)).flatten();
    match found {
        Some(b) if text.is_char_boundary(b) && text.is_char_boundary(b + feature.len()) => {
            let start = passage_start + text[..b].chars().count();
            let words = &text[b..b + feature.len()];
            Hit {
                rule: format!("model: {feature}"),
                text: words.to_string(),
                start,
                end: start + words.chars().count(),
            }
        }
        _ => Hit {
            rule: format!("model: {feature}"),
            text: feature.to_string(),
            start: passage_start,
            end: passage_start,
        },
    }
}
