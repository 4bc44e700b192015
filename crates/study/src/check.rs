//! Checking codings against the notes: codings whose words moved (or whose note changed under
//! them), orphans whose words are gone (with the passage they most likely belong to now),
//! codings of codes the codebook does not have, and unreadable ledger lines; with `fix`, where
//! codings stand now recorded and the orphans with a likely home re-attached.

use std::collections::{BTreeMap, HashSet};

use anyhow::Result;
use fieldnotes_coding::ledger::{Coding, Event, Ledger, Status};
use fieldnotes_coding::{Versions, units};
use fieldnotes_corpus::{Document, Passage, Project};
use serde::Serialize;

use crate::{Tell, study};

/// A coding whose offsets changed.
#[derive(Clone, Debug, Serialize)]
pub struct Moved {
    /// Its id.
    pub id: String,
    /// Its coder.
    pub coder: String,
    /// Its note.
    pub doc: String,
    /// Its code.
    #[serde(skip)]
    pub code: String,
    /// Where it stood (code points).
    pub from: (usize, usize),
    /// Where its words stand now.
    pub to: (usize, usize),
}

/// Where an orphan most likely belongs now.
#[derive(Clone, Debug, Serialize)]
pub struct Candidate {
    /// The passage's id.
    pub passage: String,
    /// The share of the orphan's old words the passage holds.
    pub words_kept: f64,
    /// The passage's words, clipped to 60 characters, to show.
    #[serde(skip)]
    pub text: String,
    /// Whether the orphan may stand on the whole passage: false for a quote of a few words
    /// from a much longer passage, which is moved by hand with the words it codes now.
    #[serde(skip)]
    pub whole: bool,
}

/// A coding whose words are gone from its note.
#[derive(Clone, Debug, Serialize)]
pub struct Orphan {
    /// Its id.
    pub id: String,
    /// Its coder.
    pub coder: String,
    /// Its note.
    pub doc: String,
    /// Its code.
    pub code: String,
    /// Its status.
    pub status: Status,
    /// Its memo.
    pub memo: Option<String>,
    /// The words it covered when made or last moved, where known.
    pub text: Option<String>,
    /// Why it is an orphan.
    pub reason: String,
    /// Where it most likely belongs now.
    pub candidate: Option<Candidate>,
    /// For a coding of a note that is gone: the note that now holds that very text (the note
    /// renamed or moved), where `fix` puts it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renamed: Option<String>,
}

/// A note that is there but could not be read, and how many codings wait for it.
#[derive(Clone, Debug, Serialize)]
pub struct UnreadNote {
    /// Its path.
    pub path: String,
    /// Why it could not be read (file, line, hint).
    pub reason: String,
    /// The codings on it, which count again once it is mended.
    pub codings: usize,
}

/// A coding of a code the codebook does not have.
#[derive(Clone, Debug, Serialize)]
pub struct UnknownCode {
    /// Its id.
    pub id: String,
    /// Its coder.
    pub coder: String,
    /// The code.
    pub code: String,
}

/// A coding id added twice in one ledger with other content (a code, a place, a status): a hand
/// edit or a merge that reused an id. The first `add` stands; the later one changes nothing.
#[derive(Clone, Debug, Serialize)]
pub struct ConflictingAdd {
    /// The id.
    pub id: String,
    /// The ledger's coder.
    pub coder: String,
    /// The ledger's file, relative to the project.
    pub ledger: String,
    /// The line of the `add` that stands, and of the one that does not.
    pub first_line: usize,
    pub line: usize,
}

/// What [`check`] found.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// Codings checked.
    #[serde(skip)]
    pub checked: usize,
    /// Codings whose words moved or whose note changed under them (a new version to record).
    #[serde(skip)]
    pub to_record: usize,
    /// Those whose offsets changed.
    pub moved: Vec<Moved>,
    /// Orphans.
    pub orphaned: Vec<Orphan>,
    /// Codings of codes not in the codebook.
    pub unknown_codes: Vec<UnknownCode>,
    /// Ledger lines that could not be read.
    pub bad_lines: Vec<String>,
    /// Notes that are there but could not be read, with codings that wait for them.
    pub unread_notes: Vec<UnreadNote>,
    /// Ids added twice with other content.
    pub conflicting_adds: Vec<ConflictingAdd>,
    /// Codings that cover more passages now than in the version they were made on (a paragraph
    /// split): each passage counts, so a count rose with no coding added. Said, not failing.
    pub spread: Vec<Spread>,
    /// With `fix`: orphans re-attached.
    #[serde(skip)]
    pub reattached: usize,
}

impl Check {
    /// Whether anything is left to look at: an orphan not re-attached, an unknown code, an
    /// unreadable line, or (without `fix`) a coding that moved.
    pub fn failing(&self, fixed: bool) -> bool {
        self.orphaned.len() > self.reattached
            || !self.unknown_codes.is_empty()
            || !self.unread_notes.is_empty()
            || !self.bad_lines.is_empty()
            || !self.conflicting_adds.is_empty()
            || (!fixed && !self.moved.is_empty())
    }
}

/// A coding that covers more passages now than when it was made.
#[derive(Clone, Debug, Serialize)]
pub struct Spread {
    /// The coding's id.
    pub id: String,
    /// Its coder.
    pub coder: String,
    /// Its note.
    pub doc: String,
    /// Its code.
    pub code: String,
    /// Passages it covered in the version of the note it was made on.
    pub before: usize,
    /// The ids of the passages it covers now.
    pub now: Vec<String>,
}

/// The ids each ledger adds twice with other content, with no removal between. Two `add` lines
/// of an id that differ only in their time are the same coding (two clones' `code auto`
/// merged): not a conflict.
fn conflicting_adds(project: &Project) -> Result<Vec<ConflictingAdd>> {
    let mut found = Vec::new();
    for ledger in Ledger::all(project.root())? {
        let Ok(file) = std::fs::File::open(ledger.path()) else { continue };
        let rel = ledger.path().strip_prefix(project.root()).unwrap_or(ledger.path()).display().to_string();
        // Per id, the line of its first `add` and a hash of that add without its time.
        let mut first: std::collections::HashMap<String, (usize, u64)> = std::collections::HashMap::new();
        let content = |c: &Coding| -> u64 {
            let mut c = c.clone();
            c.time.clear();
            xxhash_rust::xxh3::xxh3_64(&serde_json::to_vec(&c).unwrap_or_default())
        };
        fieldnotes_coding::ledger::fold_lines_from(ledger.path(), std::io::BufReader::new(file), 1, |line, ev| {
            let c = match ev {
                Event::Add(c) => c,
                // Added again after its removal, an id is a coding anew.
                Event::Remove { id, .. } => {
                    first.remove(&id);
                    return;
                }
                _ => return,
            };
            let hash = content(&c);
            match first.get(&c.id) {
                None => {
                    first.insert(c.id, (line, hash));
                }
                Some(&(first_line, h)) if h != hash => found.push(ConflictingAdd {
                    id: c.id,
                    coder: ledger.coder().to_string(),
                    ledger: rel.clone(),
                    first_line,
                    line,
                }),
                Some(_) => {}
            }
        })
        .map_err(|source| anyhow::anyhow!("cannot read `{}`: {source}", ledger.path().display()))?;
    }
    Ok(found)
}

/// Words (lower-cased runs of letters and digits) of a text.
fn word_set(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect()
}

/// The words of a text that say what it is about: its words without English function words
/// ("there", "was", "a"), which any passage holds; all its words if it has no other.
fn content_words(text: &str) -> HashSet<String> {
    let all = word_set(text);
    let content: HashSet<String> =
        all.iter().filter(|w| !fieldnotes_report::keyness::ENGLISH_STOPWORDS.contains(&w.as_str())).cloned().collect();
    if content.is_empty() { all } else { content }
}

/// The share of `old`'s content words ([`content_words`]) that `candidate` holds.
fn words_kept(old: &str, candidate: &str) -> f64 {
    let (a, b) = (content_words(old), word_set(candidate));
    if a.is_empty() { 0.0 } else { a.intersection(&b).count() as f64 / a.len() as f64 }
}

/// Whether an orphan with words `old` may stand on the whole of passage text `candidate`: it
/// was not a quote of a few words from a much longer passage (put on the whole passage, it
/// would say the passage was coded where only a phrase was). `--fix` re-attaches it there
/// when, besides, at least half of its content words are there.
fn fits_whole(old: &str, candidate: &str) -> bool {
    4 * content_words(old).len() >= content_words(candidate).len()
}

/// The passage an orphaned coding most likely belongs to now, given its old words: the one
/// where its words stood (`near`), else the one holding most of its old words (none holding any
/// is no candidate); with the share of its old words it holds.
fn candidate<'d>(doc: &'d Document, old: &str, near: Option<usize>) -> Option<(&'d Passage, f64)> {
    if old.trim().is_empty() {
        return None;
    }
    let near_passage = near.and_then(|n| {
        let r = units::overlapping(doc, n, n + 1);
        doc.passages.get(r.start).or_else(|| doc.passages.get(r.start.saturating_sub(1)))
    });
    match near_passage {
        // Where its words stood, however few of them are left there.
        Some(p) => Some((p, words_kept(old, doc.passage_text(p)))),
        None => doc
            .passages
            .iter()
            .map(|p| (p, words_kept(old, doc.passage_text(p))))
            .max_by(|x, y| x.1.total_cmp(&y.1))
            .filter(|(_, k)| *k > 0.0),
    }
}

/// Every note's passages by the hash of their text, to find the note that now holds a gone
/// note's passages (renamed after an edit).
#[derive(Default)]
struct PassagePrints {
    /// Passage hash -> the note (an index into `paths`) that holds it first.
    notes: std::collections::HashMap<u64, u32>,
    paths: Vec<String>,
    /// What each gone note's version was found in, once asked.
    found: std::collections::HashMap<String, Option<String>>,
}

impl PassagePrints {
    fn add(&mut self, corpus: &fieldnotes_corpus::Corpus) {
        for d in &corpus.documents {
            let at = self.paths.len() as u32;
            self.paths.push(d.path.clone());
            for p in &d.passages {
                if let Ok(h) = u64::from_str_radix(&p.hash, 16) {
                    self.notes.entry(h).or_insert(at);
                }
            }
        }
    }

    /// The note that holds most of the passages of version `base` of gone note `path`, where
    /// it holds at least half of them (and two or more).
    fn holding(&mut self, kept: &mut study::KeptNotes<'_>, path: &str, base: &str) -> Option<String> {
        if let Some(found) = self.found.get(base) {
            return found.clone();
        }
        let found = (|| {
            let old = kept.get(path, base)?;
            let mut votes: BTreeMap<u32, usize> = BTreeMap::new();
            for p in &old.passages {
                if let Some(&n) = u64::from_str_radix(&p.hash, 16).ok().and_then(|h| self.notes.get(&h)) {
                    *votes.entry(n).or_default() += 1;
                }
            }
            let (&note, &n) = votes.iter().max_by_key(|&(_, n)| *n)?;
            (n >= 2 && 2 * n >= old.passages.len()).then(|| self.paths[note as usize].clone())
        })();
        self.found.insert(base.to_string(), found.clone());
        found
    }
}

/// The words a coding covered when it was made or last moved: its text, or, for a coding of a
/// whole passage kept by hash, those offsets of the kept version of its note.
fn old_words(c: &Coding, versions: &Versions) -> Option<String> {
    if !c.text.is_empty() {
        return Some(c.text.clone());
    }
    let old = versions.get(c.base.as_deref()?)?;
    Some(old.chars().skip(c.start).take(c.end.saturating_sub(c.start)).collect())
}

/// Checks every coding of `project` against its note, a batch of notes at a time (the whole
/// study at once took 8.6 GB at 2 GB of notes). With `fix`, a `move` event records where each
/// coding that moved stands now, and each orphan whose candidate holds at least half of its
/// words is re-attached there.
pub fn check(project: &Project, fix: bool, tell: &dyn Tell) -> Result<Check> {
    let book = study::codebook(project).ok();
    let versions = Versions::new(&project.derived_dir());
    let mut found = Check {
        checked: 0,
        to_record: 0,
        moved: Vec::new(),
        orphaned: Vec::new(),
        unknown_codes: Vec::new(),
        bad_lines: Vec::new(),
        unread_notes: Vec::new(),
        conflicting_adds: conflicting_adds(project)?,
        spread: Vec::new(),
        reattached: 0,
    };
    // Kept versions of notes, parsed once each: how many passages a coding covered there, and
    // which note holds a gone note's passages.
    let mut kept = study::KeptNotes::new(project, &versions);
    // With `fix`, the `move` events that record where codings stand now, per ledger.
    let mut by_ledger: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    // Each note read, by the hash of its text: a note renamed or moved keeps its text, so the
    // codings of the note gone are found a home (the gone notes come in the last batch).
    let mut by_hash: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    // With `fix`, the codings of those notes made again in the notes holding their text.
    let mut rehomed: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    // A note renamed after an edit holds not the very text its codings were made on but most of
    // its passages: where the ledgers name a note that is gone, each note's passages are kept
    // by their hashes, to find the note that holds most of the gone note's last version.
    let gone = {
        let stats = project.note_stats()?;
        let present: std::collections::HashSet<&str> = stats.notes().iter().map(|n| n.rel.as_str()).collect();
        study::coding_parts(project, &crate::Silent)?.docs().into_iter().any(|d| !present.contains(d))
    };
    let mut passages_of = PassagePrints::default();
    let bad = study::place_in_batches(project, tell, |corpus, codings, placement| {
        by_hash.extend(corpus.documents.iter().map(|d| (d.hash.clone(), d.path.clone())));
        if gone {
            passages_of.add(corpus);
        }
        let mut move_to = |c: &Coding, d: &Document, s: usize, e: usize| -> Result<()> {
            versions.keep(d)?;
            let now_text = match (d.byte_offset(s), d.byte_offset(e)) {
                (Some(bs), Some(be)) if bs <= be => &d.text[bs..be],
                _ => "",
            };
            by_ledger.entry(c.coder.clone()).or_default().push(study::follow(c, d, s, e, now_text));
            Ok(())
        };
        found.checked += codings.iter().count();
        if let Some(b) = &book {
            found.unknown_codes.extend(codings.iter().filter(|c| b.code(&c.code).is_none()).map(|c| UnknownCode {
                id: c.id.clone(),
                coder: c.coder.clone(),
                code: c.code.clone(),
            }));
        }
        for x in &placement.placed {
            let d = &corpus.documents[x.doc];
            if let Some(before) = kept.spread(x, d) {
                found.spread.push(Spread {
                    id: x.coding.id.clone(),
                    coder: x.coding.coder.clone(),
                    doc: x.coding.doc.clone(),
                    code: x.coding.code.clone(),
                    before,
                    now: x.passages.clone().map(|pi| d.passage_id(&d.passages[pi])).collect(),
                });
            }
            if x.moved || x.coding.base.as_deref() != Some(d.hash.as_str()) {
                found.to_record += 1;
                let c = x.coding;
                if (c.start, c.end) != (x.start, x.end) {
                    found.moved.push(Moved {
                        id: c.id.clone(),
                        coder: c.coder.clone(),
                        doc: c.doc.clone(),
                        code: c.code.clone(),
                        from: (c.start, c.end),
                        to: (x.start, x.end),
                    });
                }
                if fix {
                    move_to(c, d, x.start, x.end)?;
                }
            }
        }
        // Codings of notes that are there but could not be read are not orphans: they wait
        // for the note to be mended, each note said once.
        let unread: BTreeMap<&str, String> =
            corpus.skipped.iter().map(|s| (s.path.as_str(), s.reason.to_string())).collect();
        // Each orphan, why, and its candidate place in its note (read in this batch, if not gone).
        for o in &placement.orphans {
            if let Some(reason) = unread.get(o.coding.doc.as_str()) {
                match found.unread_notes.iter_mut().find(|u| u.path == o.coding.doc) {
                    Some(u) => u.codings += 1,
                    None => found.unread_notes.push(UnreadNote {
                        path: o.coding.doc.clone(),
                        reason: reason.clone(),
                        codings: 1,
                    }),
                }
                continue;
            }
            let doc = corpus.document(&o.coding.doc);
            // Its note gone, and the very text it was made on under another name.
            let renamed = match doc {
                None => o.coding.base.as_ref().and_then(|h| by_hash.get(h)).cloned().or_else(|| {
                    let base = o.coding.base.as_deref()?;
                    passages_of.holding(&mut kept, &o.coding.doc, base)
                }),
                Some(_) => None,
            };
            if fix && let Some(to) = &renamed {
                let c = o.coding;
                let mut moved = c.clone();
                moved.doc = to.clone();
                moved.id = fieldnotes_coding::ledger::coding_id(&c.coder, to, c.start, c.end, &c.code);
                let events = rehomed.entry(c.coder.clone()).or_default();
                events.push(Event::Remove {
                    id: c.id.clone(),
                    doc: Some(c.doc.clone()),
                    by: String::new(),
                    time: fieldnotes_coding::ledger::now(),
                });
                events.push(Event::Add(moved));
                found.reattached += 1;
            }
            let old = old_words(o.coding, &versions);
            let cand = doc.and_then(|d| {
                let old = old.as_deref()?;
                candidate(d, old, o.near).map(|(p, k)| (d, p, k, fits_whole(old, d.passage_text(p))))
            });
            if fix
                && let Some((d, p, k, true)) = cand
                && k >= 0.5
            {
                move_to(o.coding, d, p.start, p.end)?;
                found.reattached += 1;
            }
            let candidate = cand.map(|(d, p, k, whole)| Candidate {
                passage: d.passage_id(p),
                words_kept: k,
                text: crate::clip(d.passage_text(p), 60),
                whole,
            });
            let c = o.coding;
            found.orphaned.push(Orphan {
                id: c.id.clone(),
                coder: c.coder.clone(),
                doc: c.doc.clone(),
                code: c.code.clone(),
                status: c.status,
                memo: c.memo.clone(),
                text: old,
                reason: o.reason.clone(),
                candidate,
                renamed,
            });
        }
        Ok(())
    })?;
    found.bad_lines = bad.iter().map(ToString::to_string).collect();
    for (coder, events) in rehomed {
        by_ledger.entry(coder).or_default().extend(events);
    }
    for (coder, events) in &by_ledger {
        Ledger::new(project.root(), coder)?.append(events)?;
    }
    Ok(found)
}
