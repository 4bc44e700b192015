//! Co-occurrence, chi-square by group, and exemplar quotes.

use std::collections::{BTreeMap, BTreeSet};

use fieldnotes_coding::Codebook;
use fieldnotes_coding::units::{PassageCodes, Placement, Selection, passage_codes};
use fieldnotes_corpus::{Corpus, Document};
use serde::Serialize;

use crate::chisq::{ChiSquare, chi_square};
use crate::frames::GroupBy;
use crate::render::Table;

/// Code-by-code co-occurrence.
#[derive(Clone, Debug, Serialize)]
pub struct Cooccurrence {
    /// Code ids in codebook order.
    pub codes: Vec<String>,
    /// `counts[i][j]`: units where codes i and j co-occur; the diagonal holds each code's units.
    pub counts: Vec<Vec<u64>>,
    /// Jaccard index over single passages: passages with both codes over passages with either.
    pub jaccard: Vec<Vec<Option<f64>>>,
    /// Passages apart that still count as together (0: the same passage).
    pub window: usize,
}

/// Counts, for each pair of codes, the passages where both occur; with `window` N > 0, code j
/// within N passages (same note) of a passage with code i counts as together.
pub fn cooccurrence(corpus: &Corpus, codes: &PassageCodes, book: &Codebook, window: usize) -> Cooccurrence {
    let mut counts = CooccurrenceCounts::new(book, window);
    counts.add(corpus, codes);
    counts.finish()
}

/// [`cooccurrence`] counted a batch of notes at a time: [`CooccurrenceCounts::add`] each batch
/// (notes are never split across batches, so a window stays within its note), then
/// [`CooccurrenceCounts::finish`].
pub struct CooccurrenceCounts {
    ids: Vec<String>,
    window: usize,
    counts: Vec<Vec<u64>>,
    same: Vec<Vec<u64>>,
    either: Vec<Vec<u64>>,
}

impl CooccurrenceCounts {
    /// Nothing counted yet, for the codes of `book`.
    pub fn new(book: &Codebook, window: usize) -> CooccurrenceCounts {
        let ids: Vec<String> = book.codes.iter().map(|c| c.id.clone()).collect();
        let k = ids.len();
        CooccurrenceCounts {
            ids,
            window,
            counts: vec![vec![0; k]; k],
            same: vec![vec![0; k]; k],
            either: vec![vec![0; k]; k],
        }
    }

    /// Counts the passages of `corpus`, whose codes are `codes`.
    pub fn add(&mut self, corpus: &Corpus, codes: &PassageCodes) {
        let pos: BTreeMap<String, usize> = self.ids.iter().enumerate().map(|(i, c)| (c.clone(), i)).collect();
        for (di, d) in corpus.documents.iter().enumerate() {
            let at = |pi: usize| -> BTreeSet<usize> {
                codes
                    .get(&(di, pi))
                    .map(|s| s.iter().filter_map(|c| pos.get(c.as_str()).copied()).collect())
                    .unwrap_or_default()
            };
            let sets: Vec<BTreeSet<usize>> = (0..d.passages.len()).map(at).collect();
            self.add_note(&sets);
        }
    }

    /// Counts the passages of one note, in order, given the codes of each (their places in the
    /// codebook).
    pub fn add_note(&mut self, sets: &[BTreeSet<usize>]) {
        let (k, window, n) = (self.ids.len(), self.window, sets.len());
        for pi in 0..n {
            let here = &sets[pi];
            let lo = pi.saturating_sub(window);
            let hi = (pi + window + 1).min(n);
            let near: BTreeSet<usize> = (lo..hi).flat_map(|q| sets[q].iter().copied()).collect();
            for i in 0..k {
                let a = here.contains(&i);
                for j in 0..k {
                    let b = here.contains(&j);
                    if a && (i == j || near.contains(&j)) {
                        self.counts[i][j] += 1;
                    }
                    if a && b {
                        self.same[i][j] += 1;
                    }
                    if a || b {
                        self.either[i][j] += 1;
                    }
                }
            }
        }
    }

    /// The co-occurrence of all the passages counted.
    pub fn finish(self) -> Cooccurrence {
        let k = self.ids.len();
        let jaccard = (0..k)
            .map(|i| {
                (0..k)
                    .map(|j| (self.either[i][j] > 0).then(|| self.same[i][j] as f64 / self.either[i][j] as f64))
                    .collect()
            })
            .collect();
        Cooccurrence { codes: self.ids, counts: self.counts, jaccard, window: self.window }
    }
}

impl Cooccurrence {
    /// As a table of counts with Jaccard in brackets.
    pub fn to_table(&self, caption: &str) -> Table {
        let mut header = vec!["code".to_string()];
        header.extend(self.codes.iter().cloned());
        let rows = self
            .codes
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut r = vec![c.clone()];
                // Jaccard is undefined where neither code occurs: a dash, as the theme table
                // shows an undefined share.
                r.extend((0..self.codes.len()).map(|j| match self.jaccard[i][j] {
                    _ if i == j => self.counts[i][j].to_string(),
                    Some(x) => format!("{} ({x:.2})", self.counts[i][j]),
                    None => format!("{} (–)", self.counts[i][j]),
                }));
                r
            })
            .collect();
        let mut numeric = vec![false];
        numeric.extend(std::iter::repeat_n(true, self.codes.len()));
        Table { header, rows, numeric, caption: caption.to_string() }
    }
}

/// Chi-square of one code (present/absent) by group.
#[derive(Clone, Debug, Serialize)]
pub struct CodeTest {
    /// Code id.
    pub code: String,
    /// Passages with the code, per group.
    pub present: Vec<u64>,
    /// The test, where the table allows one.
    pub test: Option<ChiSquare>,
    /// Adjusted standardised residual of "present" per group (0 for dropped groups).
    pub residuals: Vec<f64>,
}

/// Tests each code against the groups: a 2 x G table of passages with and without the code.
pub fn code_by_group(
    corpus: &Corpus,
    codes: &PassageCodes,
    book: &Codebook,
    by: &GroupBy,
) -> (Vec<String>, Vec<CodeTest>) {
    let mut counts = GroupCounts::new(book);
    counts.add(corpus, codes, by);
    counts.finish()
}

/// [`code_by_group`] counted a batch of notes at a time: [`GroupCounts::add`] each batch, then
/// [`GroupCounts::finish`].
pub struct GroupCounts {
    codes: Vec<String>,
    /// Per group: its passages, and per code those coded with it.
    groups: BTreeMap<String, (u64, Vec<u64>)>,
}

impl GroupCounts {
    /// Nothing counted yet, for the codes of `book`.
    pub fn new(book: &Codebook) -> GroupCounts {
        GroupCounts { codes: book.codes.iter().map(|c| c.id.clone()).collect(), groups: BTreeMap::new() }
    }

    /// Counts the passages of `corpus`, whose codes are `codes`, in their groups `by`.
    pub fn add(&mut self, corpus: &Corpus, codes: &PassageCodes, by: &GroupBy) {
        let k = self.codes.len();
        for (di, d) in corpus.documents.iter().enumerate() {
            for (pi, p) in d.passages.iter().enumerate() {
                let (size, present) = self.groups.entry(by.value(d, p)).or_insert_with(|| (0, vec![0; k]));
                *size += 1;
                if let Some(set) = codes.get(&(di, pi)) {
                    for (ci, c) in self.codes.iter().enumerate() {
                        if set.contains(c) {
                            present[ci] += 1;
                        }
                    }
                }
            }
        }
    }

    /// The counts of a theme table of passages ([`crate::ThemeTable`] with
    /// [`crate::UnitKind::Passages`]): each group's passages and, per code, those carrying it,
    /// as [`GroupCounts::add`] would have counted them from the notes.
    pub fn from_theme_table(t: &crate::ThemeTable) -> GroupCounts {
        let groups = t.groups.len().saturating_sub(1);
        GroupCounts {
            codes: t.rows.iter().map(|r| r.id.clone()).collect(),
            groups: (0..groups)
                .map(|g| {
                    (t.groups[g].clone(), (t.sizes[g].passages, t.rows.iter().map(|r| r.cells[g].passages).collect()))
                })
                .collect(),
        }
    }

    /// The groups (sorted) and each code's test over all the passages counted.
    pub fn finish(self) -> (Vec<String>, Vec<CodeTest>) {
        let groups: Vec<String> = self.groups.keys().cloned().collect();
        let sizes: Vec<u64> = self.groups.values().map(|(s, _)| *s).collect();
        let tests = self
            .codes
            .iter()
            .enumerate()
            .map(|(ci, code)| {
                let present: Vec<u64> = self.groups.values().map(|(_, p)| p[ci]).collect();
                let table = vec![
                    present.iter().map(|&x| x as f64).collect::<Vec<_>>(),
                    present.iter().zip(&sizes).map(|(&p, &s)| (s - p) as f64).collect(),
                ];
                let test = chi_square(&table);
                // Residuals per original group: groups with no passages were dropped by the test.
                let mut residuals = vec![0.0; groups.len()];
                if let Some(t) = &test {
                    let kept: Vec<usize> = (0..groups.len()).filter(|&j| sizes[j] > 0).collect();
                    for (k, &j) in kept.iter().enumerate() {
                        residuals[j] = t.residuals[0].get(k).copied().unwrap_or(0.0);
                    }
                }
                CodeTest { code: code.clone(), present, test, residuals }
            })
            .collect();
        (groups, tests)
    }
}

/// One exemplar quote: the words a coding covers (the whole passage for a coding of a whole
/// passage), with where they come from.
#[derive(Clone, Debug, Serialize)]
pub struct Quote {
    /// Code id.
    pub code: String,
    /// Group.
    pub group: String,
    /// Passage id (`first-#last` where the coded words run over several passages).
    pub passage: String,
    /// The coded words, as they stand in the note now.
    pub text: String,
    /// True when the coding covers its whole passage (or passages).
    pub whole_passage: bool,
    /// The speaker of the passage, in a transcript.
    pub speaker: Option<String>,
    /// The note's `site`.
    pub site: Option<String>,
    /// The note's `kind`.
    pub kind: Option<String>,
    /// The note's `date`.
    pub date: Option<String>,
    /// Coders who coded these words with the code (under the counting rule).
    pub coders: Vec<String>,
    /// Other codes on the passage.
    pub other_codes: Vec<String>,
}

/// Picks up to `per_group` exemplar quotes per code and group from the codings `sel` admits:
/// codings on passages carrying as few other codes as possible, quotes closest to 60 words, then
/// by passage id and place (deterministic). Each quote is the coded words themselves.
pub fn quotes(
    corpus: &Corpus,
    placement: &Placement<'_>,
    sel: &Selection,
    code_ids: &[String],
    by: &GroupBy,
    per_group: usize,
) -> Vec<Quote> {
    let mut picks = QuotePicks::new(code_ids, per_group);
    picks.add(corpus, placement, sel, by);
    picks.finish()
}

/// What orders the candidate quotes of a code and group, best first: other codes on the
/// passage, distance from 60 words, passage id, start and end of the coded words.
type QuoteKey = (usize, u32, String, usize, usize);

/// [`quotes`] picked a batch of notes at a time: [`QuotePicks::add`] each batch (the best of a
/// batch are kept with the best of those before), then [`QuotePicks::finish`]. The order of the
/// candidates is total and owes nothing to the batch, so the picks are those of the whole study.
pub struct QuotePicks {
    code_ids: Vec<String>,
    per_group: usize,
    /// Per code (its place in `code_ids`) and group, the best quotes so far, best first.
    picks: BTreeMap<(usize, String), Vec<(QuoteKey, Quote)>>,
}

impl QuotePicks {
    /// No quote picked yet, of the codes `code_ids`.
    pub fn new(code_ids: &[String], per_group: usize) -> QuotePicks {
        QuotePicks { code_ids: code_ids.to_vec(), per_group, picks: BTreeMap::new() }
    }

    /// Picks among the codings of the notes of `corpus`, placed by `placement`.
    pub fn add(&mut self, corpus: &Corpus, placement: &Placement<'_>, sel: &Selection, by: &GroupBy) {
        let codes = passage_codes(placement, sel);
        let wanted: BTreeSet<&str> = self.code_ids.iter().map(String::as_str).collect();
        // (code, doc, start, end) -> the coders of the placed codings with those words, and the
        // passages they cover.
        type Spans<'p> = BTreeMap<(&'p str, usize, usize, usize), (Vec<&'p str>, std::ops::Range<usize>)>;
        let mut spans: Spans = BTreeMap::new();
        for x in &placement.placed {
            let code = x.coding.code.as_str();
            if !wanted.contains(code) || x.passages.is_empty() {
                continue;
            }
            let who: Vec<&str> = sel.credits(x.coding).collect();
            if who.is_empty() {
                continue;
            }
            let e = spans.entry((code, x.doc, x.start, x.end)).or_insert_with(|| (Vec::new(), x.passages.clone()));
            e.0.extend(who);
        }
        for (ci, code) in self.code_ids.iter().enumerate() {
            // Per group: the key of each candidate, and where it is.
            type Candidate<'s> = (QuoteKey, (usize, usize, usize), &'s [&'s str]);
            let mut by_group: BTreeMap<String, Vec<Candidate>> = BTreeMap::new();
            for (&(c, di, start, end), (coders, passages)) in &spans {
                if c != code {
                    continue;
                }
                let d = &corpus.documents[di];
                let p = &d.passages[passages.start];
                let text = span_text(d, start, end);
                let others = codes.get(&(di, passages.start)).map_or(0, |s| s.len().saturating_sub(1));
                let key = (others, fieldnotes_corpus::count_words(text).abs_diff(60), d.passage_id(p), start, end);
                by_group.entry(by.value(d, p)).or_default().push((key, (di, start, end), coders.as_slice()));
            }
            for (g, mut cands) in by_group {
                cands.sort_by(|a, b| a.0.cmp(&b.0));
                cands.truncate(self.per_group);
                let picked = self.picks.entry((ci, g.clone())).or_default();
                for (key, (di, start, end), coders) in cands {
                    let d = &corpus.documents[di];
                    let r = spans[&(code.as_str(), di, start, end)].1.clone();
                    let (first, last) = (&d.passages[r.start], &d.passages[r.end - 1]);
                    let others: Vec<String> = codes
                        .get(&(di, r.start))
                        .map(|s| s.iter().filter(|c| *c != code).cloned().collect())
                        .unwrap_or_default();
                    let mut coders: Vec<String> = coders.iter().map(|c| c.to_string()).collect();
                    coders.sort();
                    coders.dedup();
                    let attr = |k: &str| d.attributes.get(k).map(fieldnotes_corpus::Value::to_plain);
                    // A quote over several passages names the first and the last.
                    let passage = if r.len() > 1 { format!("{}-#{}", key.2, last.key) } else { key.2.clone() };
                    let quote = Quote {
                        code: code.clone(),
                        group: g.clone(),
                        passage,
                        text: span_text(d, start, end).to_string(),
                        whole_passage: start <= first.start && end >= last.end,
                        speaker: first.speaker.clone(),
                        site: attr("site"),
                        kind: attr("kind"),
                        date: attr("date"),
                        coders,
                        other_codes: others,
                    };
                    picked.push((key, quote));
                }
                picked.sort_by(|a, b| a.0.cmp(&b.0));
                picked.truncate(self.per_group);
            }
        }
    }

    /// The quotes picked, code by code (in the order given), group by group (sorted), best first.
    pub fn finish(self) -> Vec<Quote> {
        // The map's order is that: code's place, then group.
        self.picks.into_values().flat_map(|picks| picks.into_iter().map(|(_, q)| q)).collect()
    }
}

/// The text of a span of code points of a note ("" where the offsets do not fit it).
fn span_text(d: &Document, start: usize, end: usize) -> &str {
    match (d.byte_offset(start), d.byte_offset(end)) {
        (Some(a), Some(b)) if a <= b => d.text[a..b].trim(),
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldnotes_corpus::{SplitOptions, parse_document};

    fn corpus() -> Corpus {
        let opts = SplitOptions { speaker_turns: false };
        let a = parse_document("a.md".into(), "---\nsite: A\n---\none\n\ntwo\n\nthree\n".into(), &opts).unwrap();
        let b = parse_document("b.md".into(), "---\nsite: B\n---\nfour\n\nfive\n".into(), &opts).unwrap();
        Corpus { documents: vec![a, b], skipped: vec![] }
    }

    fn book() -> Codebook {
        Codebook::parse("[[code]]\nid='x'\n[[code]]\nid='y'\n[[code]]\nid='z'\n").unwrap()
    }

    fn pc(items: &[((usize, usize), &[&str])]) -> PassageCodes {
        items.iter().map(|(k, v)| (*k, v.iter().map(|s| s.to_string()).collect())).collect()
    }

    #[test]
    fn cooccurrence_same_passage_and_window() {
        let c = corpus();
        let codes = pc(&[((0, 0), &["x", "y"]), ((0, 1), &["y"]), ((0, 2), &["x"]), ((1, 0), &["x"])]);
        let co = cooccurrence(&c, &codes, &book(), 0);
        assert_eq!(co.counts[0][0], 3);
        assert_eq!(co.counts[0][1], 1);
        assert_eq!(co.counts[1][0], 1);
        // x or y in 4 passages, both in 1.
        assert_eq!(co.jaccard[0][1], Some(0.25));
        assert_eq!(co.counts[2][2], 0);
        assert_eq!(co.jaccard[2][2], None);
        let w = cooccurrence(&c, &codes, &book(), 1);
        // Passage a#3 (x) is next to a#2 (y): now x-with-y counts there too.
        assert_eq!(w.counts[0][1], 2);
    }

    #[test]
    fn code_by_group_counts_and_tests() {
        let c = corpus();
        let codes = pc(&[((0, 0), &["x"]), ((0, 1), &["x"]), ((0, 2), &["x"]), ((1, 0), &["y"])]);
        let (groups, tests) = code_by_group(&c, &codes, &book(), &GroupBy::Attribute("site".into()));
        assert_eq!(groups, ["A", "B"]);
        assert_eq!(tests[0].present, [3, 0]);
        let t = tests[0].test.as_ref().unwrap();
        assert_eq!(t.df, 1);
        assert!(tests[0].residuals[0] > 0.0 && tests[0].residuals[1] < 0.0);
        assert!(tests[2].test.is_none());
    }

    #[test]
    fn quotes_are_the_coded_words() {
        use fieldnotes_coding::{Coding, Origin, Status};
        let c = corpus();
        let coding = |doc: usize, start: usize, end: usize, code: &str, status: Status| Coding {
            id: format!("{doc}-{start}-{end}-{code}"),
            doc: c.documents[doc].path.clone(),
            start,
            end,
            hash: String::new(),
            text: String::new(),
            code: code.into(),
            coder: "hb".into(),
            origin: Origin::Manual,
            status,
            memo: None,
            evidence: vec![],
            time: String::new(),
            base: Some(c.documents[doc].hash.clone()),
            reviewer: None,
        };
        // a.md passages: "one" [22,25), "two" [27,30), "three" [32,37); b.md: "four", "five".
        let (a, b) = (&c.documents[0], &c.documents[1]);
        let p = |d: &Document, i: usize| (d.passages[i].start, d.passages[i].end);
        let list = vec![
            coding(0, p(a, 0).0, p(a, 0).1, "x", Status::Accepted),
            coding(0, p(a, 0).0, p(a, 0).1, "y", Status::Accepted),
            coding(0, p(a, 2).0 + 1, p(a, 2).0 + 4, "x", Status::Accepted), // "hre" of "three"
            coding(1, p(b, 1).0, p(b, 1).1, "x", Status::Suggested),
        ];
        let codings = fieldnotes_coding::Codings {
            ledgers: [("hb".to_string(), {
                let mut s = fieldnotes_coding::ledger::LedgerState::default();
                for x in list {
                    s.apply(fieldnotes_coding::Event::Add(x));
                }
                s
            })]
            .into(),
        };
        let placement = fieldnotes_coding::units::place(&c, &codings, &mut fieldnotes_coding::Anchorer::new(None));
        let sel = Selection::default();
        let q = quotes(&c, &placement, &sel, &["x".to_string()], &GroupBy::Attribute("site".into()), 1);
        // Site A: the span coding on a passage with no other code comes first, as its words.
        assert_eq!(q.len(), 1, "{q:?}");
        let third = c.documents[0].passage_id(&c.documents[0].passages[2]);
        assert_eq!((q[0].passage.as_str(), q[0].text.as_str(), q[0].whole_passage), (third.as_str(), "hre", false));
        assert_eq!(q[0].site.as_deref(), Some("A"));
        assert_eq!(q[0].coders, ["hb"]);
        // Suggestions count only when asked for; a whole-passage coding quotes its passage.
        let sel = Selection { include_suggested: true, ..Selection::default() };
        let q = quotes(&c, &placement, &sel, &["x".to_string()], &GroupBy::Attribute("site".into()), 2);
        let b_quote = q.iter().find(|q| q.group == "B").unwrap();
        assert_eq!((b_quote.text.as_str(), b_quote.whole_passage), ("five", true));
        // Picked a note at a time, the quotes are those of the whole study, also where the
        // notes share a group (the best of one note beats the best of the other).
        for by in [GroupBy::Attribute("site".into()), GroupBy::Attribute("kind".into())] {
            for per_group in [1, 2, 3] {
                let whole = quotes(&c, &placement, &sel, &["x".into(), "y".into()], &by, per_group);
                let mut picks = QuotePicks::new(&["x".into(), "y".into()], per_group);
                for d in &c.documents {
                    let batch = Corpus { documents: vec![d.clone()], skipped: vec![] };
                    let placed =
                        fieldnotes_coding::units::place(&batch, &codings, &mut fieldnotes_coding::Anchorer::new(None));
                    picks.add(&batch, &placed, &sel, &by);
                }
                let batched = picks.finish();
                let show =
                    |q: &[Quote]| q.iter().map(|q| format!("{} {} {}", q.code, q.group, q.passage)).collect::<Vec<_>>();
                assert_eq!(show(&batched), show(&whole), "{by:?} {per_group}");
            }
        }
    }
}
