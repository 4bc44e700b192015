//! Exact words, prefixes and fuzzy terms over the one stemmed text field.
//!
//! The index keeps only stemmed terms (an unstemmed second field doubled the indexing work).
//! A query that must see words as written (`--exact`, `prefix*`, `word~1`) runs as a stemmed
//! query that finds every passage that could match (the stem of a word occurs wherever the word
//! does) and a [`Check`] of each candidate's stored text that keeps those that do.

use std::collections::BTreeSet;
use std::sync::Arc;

use tantivy::query::{EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::schema::{Field, Value as _};
use tantivy::store::StoreReader;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DocId, DocSet, Score, SegmentReader, TERMINATED, TantivyDocument, TantivyError, Term};

use crate::schema;

/// What the words of a passage must hold to match.
#[derive(Clone, Debug)]
pub(crate) enum Check {
    /// These words, each at its query position (`(position, word)`); with `slop`, each may come
    /// up to `slop` words later than that after the word before it.
    Sequence { words: Vec<(u32, String)>, slop: u32 },
    /// A word that starts with this.
    Prefix(String),
    /// One of these words.
    AnyOf(BTreeSet<String>),
}

/// Puts the tokens of `text` into `out` as `(position, token)`.
pub(crate) fn tokens_into(analyzer: &mut TextAnalyzer, text: &str, out: &mut Vec<(u32, String)>) {
    out.clear();
    let mut stream = analyzer.token_stream(text);
    while let Some(t) = stream.next() {
        out.push((u32::try_from(t.position).unwrap_or(u32::MAX), t.text.clone()));
    }
}

impl Check {
    /// Whether one word satisfies a check on single words (`Prefix`, `AnyOf`); a `Sequence`
    /// asks the word to be the whole phrase.
    pub(crate) fn accepts_word(&self, word: &str) -> bool {
        match self {
            Check::Prefix(p) => word.starts_with(p.as_str()),
            Check::AnyOf(set) => set.contains(word),
            Check::Sequence { words, .. } => matches!(words.as_slice(), [(_, w)] if w == word),
        }
    }

    /// Whether `words` (`(position, word)` in order, as [`schema::exact_analyzer`] gives them)
    /// hold.
    pub(crate) fn accepts(&self, words: &[(u32, String)]) -> bool {
        match self {
            Check::Prefix(_) | Check::AnyOf(_) => words.iter().any(|(_, w)| self.accepts_word(w)),
            Check::Sequence { words: want, slop } => {
                let Some(((mut prev_q, first), rest)) = want.split_first().map(|(f, r)| ((f.0, &f.1), r)) else {
                    return false;
                };
                // Positions at which the phrase so far can end.
                let mut ends: Vec<u32> = words.iter().filter(|(_, w)| w == first).map(|&(p, _)| p).collect();
                for (q, next) in rest {
                    let gap = q - prev_q;
                    ends = words
                        .iter()
                        .filter(|(p, w)| w == next && ends.iter().any(|&e| *p >= e + gap && *p - (e + gap) <= *slop))
                        .map(|&(p, _)| p)
                        .collect();
                    if ends.is_empty() {
                        return false;
                    }
                    prev_q = *q;
                }
                !ends.is_empty()
            }
        }
    }
}

/// A query whose matches are those of `inner` that pass `check`; scores are `inner`'s.
pub(crate) struct Verified {
    inner: Box<dyn Query>,
    check: Arc<Check>,
    text: Field,
}

impl Verified {
    pub(crate) fn new(inner: Box<dyn Query>, check: Check, text: Field) -> Verified {
        Verified { inner, check: Arc::new(check), text }
    }
}

impl Clone for Verified {
    fn clone(&self) -> Self {
        Verified { inner: self.inner.box_clone(), check: self.check.clone(), text: self.text }
    }
}

impl std::fmt::Debug for Verified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verified").field("inner", &self.inner).field("check", &self.check).finish()
    }
}

impl Query for Verified {
    fn weight(&self, enable_scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(VerifiedWeight {
            inner: self.inner.weight(enable_scoring)?,
            check: self.check.clone(),
            text: self.text,
        }))
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.inner.query_terms(visitor);
    }
}

struct VerifiedWeight {
    inner: Box<dyn Weight>,
    check: Arc<Check>,
    text: Field,
}

impl Weight for VerifiedWeight {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let mut scorer = VerifiedScorer {
            inner: self.inner.scorer(reader, boost)?,
            store: reader.get_store_reader(4)?,
            check: self.check.clone(),
            text: self.text,
            analyzer: schema::exact_analyzer(),
            words: Vec::new(),
        };
        scorer.settle();
        Ok(Box::new(scorer))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let mut scorer = self.scorer(reader, 1.0)?;
        if scorer.seek(doc) != doc {
            return Err(TantivyError::InvalidArgument(format!("document {doc} does not match")));
        }
        self.inner.explain(reader, doc)
    }
}

struct VerifiedScorer {
    inner: Box<dyn Scorer>,
    store: StoreReader,
    check: Arc<Check>,
    text: Field,
    analyzer: TextAnalyzer,
    words: Vec<(u32, String)>,
}

impl VerifiedScorer {
    /// Moves on from the current document to the first that passes the check.
    fn settle(&mut self) -> DocId {
        let mut doc = self.inner.doc();
        while doc != TERMINATED && !self.accepts(doc) {
            doc = self.inner.advance();
        }
        doc
    }

    fn accepts(&mut self, doc: DocId) -> bool {
        // A passage whose stored text cannot be read is not shown as a match.
        let Ok(stored) = self.store.get::<TantivyDocument>(doc) else { return false };
        let text = stored.get_first(self.text).and_then(|v| v.as_str()).unwrap_or("");
        tokens_into(&mut self.analyzer, text, &mut self.words);
        self.check.accepts(&self.words)
    }
}

impl DocSet for VerifiedScorer {
    fn advance(&mut self) -> DocId {
        self.inner.advance();
        self.settle()
    }

    fn seek(&mut self, target: DocId) -> DocId {
        self.inner.seek(target);
        self.settle()
    }

    fn doc(&self) -> DocId {
        self.inner.doc()
    }

    fn size_hint(&self) -> u32 {
        self.inner.size_hint()
    }
}

impl Scorer for VerifiedScorer {
    fn score(&mut self) -> Score {
        self.inner.score()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<(u32, String)> {
        let mut out = Vec::new();
        tokens_into(&mut schema::exact_analyzer(), text, &mut out);
        out
    }

    fn seq(ws: &[&str], slop: u32) -> Check {
        Check::Sequence { words: ws.iter().enumerate().map(|(i, w)| (i as u32, w.to_string())).collect(), slop }
    }

    #[test]
    fn sequences_prefixes_and_sets() {
        let w = words("The board met; trust takes time, and the board trusts staff.");
        assert!(seq(&["trust", "takes"], 0).accepts(&w));
        assert!(!seq(&["trust", "time"], 0).accepts(&w));
        assert!(seq(&["trust", "time"], 1).accepts(&w));
        assert!(!seq(&["time", "trust"], 5).accepts(&w));
        assert!(seq(&["the", "board", "trusts"], 0).accepts(&w));
        assert!(!seq(&["trusts"], 0).accepts(&words("trust")));
        assert!(Check::Prefix("tru".into()).accepts(&w));
        assert!(!Check::Prefix("trusted".into()).accepts(&w));
        assert!(Check::AnyOf(["staff".to_string()].into()).accepts(&w));
        assert!(!Check::AnyOf(BTreeSet::new()).accepts(&w));
        // A word of 40 bytes or more is dropped but keeps its place.
        let long = format!("trust {} time", "x".repeat(45));
        assert!(!seq(&["trust", "time"], 0).accepts(&words(&long)));
        assert!(seq(&["trust", "time"], 1).accepts(&words(&long)));
    }
}
