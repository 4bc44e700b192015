//! From codings (spans) to units (passages): which passages carry which codes, by whom.
//!
//! A coding applies to every passage its span overlaps. Codings are first re-anchored on the
//! current text of their document ([`crate::ledger::anchor`]); orphaned codings are listed, not
//! counted, and never dropped from the ledger.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use fieldnotes_corpus::{Corpus, Document};
use serde::Serialize;

use crate::ledger::{Anchor, Coding, Codings, Origin, RULES_CODER, Status};
use crate::versions::Anchorer;

/// Which codings count.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Only these coders (all when empty).
    pub coders: Vec<String>,
    /// Count suggestions too (accepted only otherwise).
    pub include_suggested: bool,
    /// Count every suggestion a machine coder (the rules, a model) made as its own, whatever a
    /// person decided of it: what `code eval` and `agree` measure of the rules is what they
    /// suggested, so a suggestion rejected in review is the rules' false positive, not nothing.
    /// The person's decision still counts for the person (accepted: as theirs too).
    pub machine_output: bool,
}

impl Selection {
    /// The coders a coding counts for under this selection: its own coder (the ledger it is
    /// in) and, for an accepted coding, whoever accepted it. A suggestion of the rules that jm
    /// accepted is jm's coding as much as the rules'. Rejected codings count for nobody, and
    /// suggestions only with `include_suggested`. Filtered by `coders` when that is not empty.
    pub fn credits<'c>(&self, c: &'c Coding) -> impl Iterator<Item = &'c str> + use<'c, '_> {
        let machine = self.machine_output && matches!(c.origin, Origin::Rule | Origin::Model);
        let status_ok = match c.status {
            Status::Accepted => true,
            Status::Suggested => self.include_suggested || machine,
            Status::Rejected => machine,
        };
        std::iter::once(c.coder.as_str())
            .chain(c.accepted_by_other())
            .filter(move |who| status_ok && (self.coders.is_empty() || self.coders.iter().any(|x| x == who)))
    }

    /// Whether a coding counts under this selection (for someone; see [`Selection::credits`]).
    pub fn admits(&self, c: &Coding) -> bool {
        self.credits(c).next().is_some()
    }

    /// A sentence saying what counts, for captions.
    pub fn describe(&self) -> String {
        let which = if self.include_suggested {
            "accepted and suggested codings (suggestions included with --include-suggested)"
        } else {
            "accepted codings only (suggestions not reviewed are left out; --include-suggested counts them)"
        };
        let who = if self.coders.is_empty() {
            "by any coder".to_string()
        } else {
            format!("by {} (theirs, and suggestions they accepted)", self.coders.join(", "))
        };
        let machine = if self.machine_output {
            "; every suggestion of the rules or a model counts as theirs, reviewed or not (one rejected in review is their false positive)"
        } else {
            ""
        };
        format!("{which}, {who}{machine}")
    }
}

/// A coding placed on the current text.
#[derive(Clone, Debug, Serialize)]
pub struct Placed<'a> {
    /// The coding as in the ledger.
    pub coding: &'a Coding,
    /// Document index in the corpus.
    pub doc: usize,
    /// Current start and end (after re-anchoring).
    pub start: usize,
    /// Current end.
    pub end: usize,
    /// Indices of the passages it overlaps.
    pub passages: std::ops::Range<usize>,
    /// True when the text moved since it was coded.
    pub moved: bool,
}

impl Placed<'_> {
    /// The coding as it stands in its note now (`d`, the note it is placed in): its offsets
    /// those of its words after the note's edits, counting in the note's current version; its
    /// evidence moved with it where its span kept its length (otherwise as it was found). What
    /// a front end or a script given a coding with its note's text needs: the ledger's offsets
    /// count in the version the coding was made or last moved on.
    pub fn current(&self, d: &Document) -> Coding {
        let mut c = self.coding.clone();
        if (c.start, c.end) != (self.start, self.end) {
            if c.end - c.start == self.end - self.start {
                for h in &mut c.evidence {
                    h.start = (h.start + self.start).saturating_sub(c.start);
                    h.end = (h.end + self.start).saturating_sub(c.start);
                }
            }
            (c.start, c.end) = (self.start, self.end);
        }
        c.base = Some(d.hash.clone());
        c
    }

    /// The coded text as it stands now in the note.
    pub fn text<'c>(&self, corpus: &'c Corpus) -> &'c str {
        let d = &corpus.documents[self.doc];
        match (d.byte_offset(self.start), d.byte_offset(self.end)) {
            (Some(s), Some(e)) if s <= e => &d.text[s..e],
            _ => "",
        }
    }
}

/// A coding that cannot be placed.
#[derive(Clone, Debug, Serialize)]
pub struct Orphan<'a> {
    /// The coding.
    pub coding: &'a Coding,
    /// Why.
    pub reason: String,
    /// Where its words stood in the current text (code points), when known.
    pub near: Option<usize>,
}

/// Codings placed on the corpus.
#[derive(Debug, Default)]
pub struct Placement<'a> {
    /// Placed codings.
    pub placed: Vec<Placed<'a>>,
    /// Codings that could not be placed.
    pub orphans: Vec<Orphan<'a>>,
}

/// The passages (indices) of `doc` that overlap `[start, end)`; a zero-width span counts
/// for the passage it touches.
pub fn overlapping(doc: &Document, start: usize, end: usize) -> std::ops::Range<usize> {
    let ps = &doc.passages;
    let end = end.max(start + 1);
    let first = ps.partition_point(|p| p.end <= start);
    let last = ps.partition_point(|p| p.start < end);
    first..last.max(first)
}

/// Places every coding of `codings` on the corpus (all codings, whatever their status),
/// following each note's edits since the version its codings count in (see [`Anchorer`]).
pub fn place<'a>(corpus: &Corpus, codings: &'a Codings, anchorer: &mut Anchorer) -> Placement<'a> {
    place_codings(corpus, codings.iter(), anchorer)
}

/// [`place`] for some of the codings (those of the notes in `corpus`, say, when the notes are
/// taken a batch at a time).
pub fn place_codings<'a>(
    corpus: &Corpus,
    codings: impl IntoIterator<Item = &'a Coding>,
    anchorer: &mut Anchorer,
) -> Placement<'a> {
    let index: HashMap<&str, usize> = corpus.documents.iter().enumerate().map(|(i, d)| (d.path.as_str(), i)).collect();
    // A note that is there but could not be read is not gone: its codings wait for it, and
    // saying so keeps anyone from removing or moving them.
    let unread: HashMap<&str, &fieldnotes_corpus::Skipped> =
        corpus.skipped.iter().map(|s| (s.path.as_str(), s)).collect();
    let mut out = Placement::default();
    for c in codings {
        let di = index.get(c.doc.as_str()).copied();
        if di.is_none()
            && let Some(s) = unread.get(c.doc.as_str())
        {
            out.orphans.push(Orphan {
                coding: c,
                reason: format!(
                    "note `{}` could not be read ({}); its codings come back when the note is mended",
                    s.path, s.reason
                ),
                near: None,
            });
            continue;
        }
        place_one(&mut out, c, di.map(|i| (i, &corpus.documents[i])), anchorer);
    }
    out
}

/// [`place_codings`] for the codings of one note, `doc`, the `di`-th of its corpus: what a
/// caller holding millions of codings uses to place them a note at a time. A coding of another
/// note is an orphan, as if its note were gone.
pub fn place_in_doc<'a>(
    di: usize,
    doc: &Document,
    codings: impl IntoIterator<Item = &'a Coding>,
    anchorer: &mut Anchorer,
) -> Placement<'a> {
    let mut out = Placement::default();
    for c in codings {
        place_one(&mut out, c, (c.doc == doc.path).then_some((di, doc)), anchorer);
    }
    out
}

fn place_one<'a>(out: &mut Placement<'a>, c: &'a Coding, doc: Option<(usize, &Document)>, anchorer: &mut Anchorer) {
    let (start, end, moved) = match anchorer.anchor(c, doc.map(|(_, d)| d)) {
        Anchor::Exact => (c.start, c.end, false),
        Anchor::Moved { start, end } => (start, end, true),
        Anchor::Orphaned { reason, near } => {
            out.orphans.push(Orphan { coding: c, reason, near });
            return;
        }
    };
    let Some((di, doc)) = doc else { return };
    let passages = overlapping(doc, start, end);
    if passages.is_empty() {
        out.orphans.push(Orphan {
            coding: c,
            reason: "its span holds no passage (a heading or blank lines)".into(),
            near: Some(start),
        });
        return;
    }
    out.placed.push(Placed { coding: c, doc: di, start, end, passages, moved });
}

/// Per passage (document index, passage index): the set of codes, under a selection.
pub type PassageCodes = BTreeMap<(usize, usize), BTreeSet<String>>;

/// Which codes each passage carries under `sel` (a code counts once per passage, however many
/// codings or coders put it there).
pub fn passage_codes(placement: &Placement<'_>, sel: &Selection) -> PassageCodes {
    let mut m: PassageCodes = BTreeMap::new();
    for p in placement.placed.iter().filter(|p| sel.admits(p.coding)) {
        for pi in p.passages.clone() {
            m.entry((p.doc, pi)).or_default().insert(p.coding.code.clone());
        }
    }
    m
}

/// Per passage and coder: the codes that coder gave the passage (for agreement).
pub fn passage_codes_by_coder(
    placement: &Placement<'_>,
    sel: &Selection,
) -> BTreeMap<(usize, usize), BTreeMap<String, BTreeSet<String>>> {
    let mut m: BTreeMap<(usize, usize), BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for p in &placement.placed {
        for who in sel.credits(p.coding) {
            for pi in p.passages.clone() {
                m.entry((p.doc, pi)).or_default().entry(who.to_string()).or_default().insert(p.coding.code.clone());
            }
        }
    }
    m
}

/// Human coders: every ledger whose codings are not all made by rules or models.
pub fn human_coders(codings: &Codings) -> Vec<String> {
    codings
        .ledgers
        .iter()
        .filter(|(name, s)| {
            name.as_str() != RULES_CODER && s.current().any(|c| matches!(c.origin, Origin::Manual | Origin::Import))
        })
        .map(|(n, _)| n.clone())
        .collect()
}

/// Precision, recall and F1 from true positives, false positives and false negatives;
/// `None` where a ratio has nothing to divide by (F1 is 0 when both are 0).
pub fn precision_recall_f1(tp: usize, fp: usize, fn_: usize) -> (Option<f64>, Option<f64>, Option<f64>) {
    let ratio = |n: usize, d: usize| (d > 0).then(|| n as f64 / d as f64);
    let p = ratio(tp, tp + fp);
    let r = ratio(tp, tp + fn_);
    let f = match (p, r) {
        (Some(p), Some(r)) if p + r > 0.0 => Some(2.0 * p * r / (p + r)),
        (Some(_), Some(_)) => Some(0.0),
        _ => None,
    };
    (p, r, f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldnotes_corpus::{SplitOptions, parse_document};

    #[test]
    fn overlap_ranges() {
        let doc = parse_document(
            "a.md".into(),
            "One.\n\nTwo two.\n\nThree.\n".into(),
            &SplitOptions { speaker_turns: false },
        )
        .unwrap();
        // passages: [0,4) [6,14) [16,22)
        assert_eq!(overlapping(&doc, 0, 4), 0..1);
        assert_eq!(overlapping(&doc, 3, 7), 0..2);
        assert_eq!(overlapping(&doc, 4, 6), 1..1);
        assert_eq!(overlapping(&doc, 0, 100), 0..3);
        assert_eq!(overlapping(&doc, 6, 6), 1..2);
        assert_eq!(overlapping(&doc, 200, 300), 3..3);
    }
}
