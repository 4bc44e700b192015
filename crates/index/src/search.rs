//! Running queries: ranked hits, snippets, keyword-in-context and counts by group.

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use fieldnotes_corpus::Date;
use serde::Serialize;
use tantivy::collector::{Count, DocSetCollector, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value as _};
use tantivy::{DateTime, Searcher, TantivyDocument, Term};

use crate::exact::{Check, Verified};
use crate::query::{Ast, SyntaxError, parse};
use crate::{Result, SearchIndex, schema};

/// How to search.
#[derive(Clone, Debug)]
pub struct SearchOptions {
    /// Match words exactly (no stemming).
    pub exact: bool,
    /// At most this many hits.
    pub limit: usize,
    /// Longest snippet, in characters.
    pub snippet_chars: usize,
    /// `code:` also finds codes only suggested (by default only accepted codings count), and
    /// counts by `code` count them too.
    pub include_suggested: bool,
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions { exact: false, limit: 20, snippet_chars: 160, include_suggested: false }
    }
}

/// One ranked hit.
#[derive(Clone, Debug, Serialize)]
pub struct Hit {
    /// Passage id.
    pub id: String,
    /// Document path.
    pub doc: String,
    /// Passage ordinal.
    pub ordinal: u64,
    /// BM25 score.
    pub score: f32,
    /// Document attributes and passage speaker/section/codes, as text.
    pub attributes: BTreeMap<String, String>,
    /// The whole passage text.
    pub text: String,
    /// Byte ranges in `text` of the words that satisfy the query (every word of a phrase
    /// match; no word that only shares a stem with a word of a phrase elsewhere).
    pub matches: Vec<(usize, usize)>,
    /// Byte ranges in `text` of the matches of the query, one per match: a phrase or proximity
    /// match is one range, from its first word to its last. What keyword-in-context lines centre on.
    pub units: Vec<(usize, usize)>,
    /// Byte range of the best snippet in `text`.
    pub snippet: (usize, usize),
}

impl Hit {
    /// Shows a passage's codes with the hit: accepted ones under `codes`, those only suggested
    /// under `suggested` (each list joined with commas).
    pub fn set_codes(&mut self, codes: &crate::PassageCodes) {
        for (key, list) in [("codes", &codes.accepted), ("suggested", &codes.suggested)] {
            if !list.is_empty() {
                self.attributes.insert(key.into(), list.join(", "));
            }
        }
    }

    /// An attribute, or `""`.
    pub fn attr(&self, key: &str) -> &str {
        self.attributes.get(key).map_or("", String::as_str)
    }
}

/// A hit as a front end shows it: the passage, its attributes, its words, the words matched
/// (per match, and each word) and the snippet, as text rather than byte ranges.
#[derive(Clone, Debug, serde::Serialize)]
pub struct HitView<'a> {
    /// Passage id.
    pub id: &'a str,
    /// BM25 score.
    pub score: f32,
    /// Document attributes and passage speaker/section/codes, as text.
    pub attributes: &'a BTreeMap<String, String>,
    /// The whole passage text.
    pub text: &'a str,
    /// The words of each match of the query (a phrase is one).
    pub matches: Vec<&'a str>,
    /// Each word that satisfies the query.
    pub words: Vec<&'a str>,
    /// The best snippet.
    pub snippet: &'a str,
}

impl Hit {
    /// The hit as a front end shows it.
    pub fn view(&self) -> HitView<'_> {
        let t = &self.text;
        HitView {
            id: &self.id,
            score: self.score,
            attributes: &self.attributes,
            text: t,
            matches: self.units.iter().map(|&(s, e)| &t[s..e]).collect(),
            words: self.matches.iter().map(|&(s, e)| &t[s..e]).collect(),
            snippet: &t[self.snippet.0..self.snippet.1],
        }
    }
}

/// The result of a search.
#[derive(Clone, Debug, Serialize)]
pub struct SearchResults {
    /// Number of passages that match.
    pub total: usize,
    /// The best hits, at most `limit`.
    pub hits: Vec<Hit>,
}

/// What kind of name in a query exists nowhere in the project.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum UnknownKind {
    /// A field (`sitee:`): neither one of the index's nor a front-matter key of any note.
    Field,
    /// A value no passage has for that field (`site:atlantis`).
    Value,
    /// A code id no passage carries and the codebook does not have.
    Code,
}

/// A name in a query that exists nowhere in the project, with the closest names that do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unknown {
    /// What it is.
    pub kind: UnknownKind,
    /// The field name.
    pub field: String,
    /// The value as written (empty for an unknown field).
    pub value: String,
    /// The closest existing names, as query terms (`site:glasgow`), best first.
    pub suggestions: Vec<String>,
}

/// A positive text term of a query, for finding its matches in a hit's text.
#[derive(Debug)]
struct Leaf {
    check: Check,
    /// `check` is on stems (a stemmed word or phrase), not on words as written.
    stems: bool,
}

struct Compiler<'a> {
    idx: &'a SearchIndex,
    searcher: Searcher,
    exact: bool,
    include_suggested: bool,
    /// The text terms not under a `NOT`, for highlighting.
    leaves: RefCell<Vec<Leaf>>,
    /// Inside this many `NOT`s.
    negated: Cell<u32>,
}

fn syntax(message: String, hint: &str) -> SyntaxError {
    SyntaxError { column: 0, message, hint: hint.to_string() }
}

/// The words of query text as they are searched: lower-cased, and a hyphenated compound as its
/// joined word only (the tokeniser gives its parts too, at the same position), with positions
/// counted from 0.
pub(crate) fn query_words(text: &str) -> Vec<(u32, String)> {
    let mut analyzer = schema::exact_analyzer();
    let mut stream = analyzer.token_stream(text);
    // (position, width, word)
    let mut out: Vec<(usize, usize, String)> = Vec::new();
    while let Some(t) = stream.next() {
        let width = t.offset_to - t.offset_from;
        match out.last_mut() {
            Some(last) if last.0 == t.position => {
                if width > last.1 {
                    *last = (t.position, width, t.text.clone());
                }
            }
            _ => out.push((t.position, width, t.text.clone())),
        }
    }
    let first = out.first().map_or(0, |t| t.0);
    out.into_iter().map(|(p, _, w)| (u32::try_from(p - first).unwrap_or(u32::MAX), w)).collect()
}

/// The fields of the index that are not front-matter keys.
const FIXED_FIELDS: &[&str] =
    &["site", "kind", "author", "speaker", "section", "code", "date", "year", "words", "text", "doc", "id"];

impl Compiler<'_> {
    fn leaf(&self, check: Check, stems: bool) {
        if self.negated.get() == 0 {
            self.leaves.borrow_mut().push(Leaf { check, stems });
        }
    }

    fn terms_query(&self, tokens: &[(u32, String)], slop: u32) -> Box<dyn Query> {
        let field = self.idx.fields.text;
        match tokens {
            [] => Box::new(EmptyQuery),
            [(_, t)] => {
                Box::new(TermQuery::new(Term::from_field_text(field, t), IndexRecordOption::WithFreqsAndPositions))
            }
            _ => {
                let terms = tokens.iter().map(|(p, t)| (*p as usize, Term::from_field_text(field, t))).collect();
                Box::new(PhraseQuery::new_with_offset_and_slop(terms, slop))
            }
        }
    }

    /// A word or phrase: stemmed, or under `--exact` the stemmed query narrowed to the passages
    /// that have the words as written.
    fn text_query(&self, text: &str, slop: u32) -> Box<dyn Query> {
        let words = query_words(text);
        if words.is_empty() {
            return Box::new(EmptyQuery);
        }
        let stems: Vec<(u32, String)> = words.iter().map(|(p, w)| (*p, schema::stem(w))).collect();
        if !self.exact {
            self.leaf(Check::Sequence { words: stems.clone(), slop }, true);
            return self.terms_query(&stems, slop);
        }
        self.leaf(Check::Sequence { words: words.clone(), slop }, false);
        // Where no other word of the index shares a word's stem, the stem stands for the word:
        // an adjacent phrase of such stems is the exact phrase, and needs no check.
        let unique =
            stems.iter().zip(&words).all(|((_, s), (_, w))| self.idx.words_with_stem(s) == std::slice::from_ref(w));
        if unique && slop == 0 {
            return self.terms_query(&stems, 0);
        }
        // Where the words stand next to each other their stems do too; with slop, the stems'
        // phrase is not a sure superset, so every stem is simply required.
        let candidates: Box<dyn Query> = if slop == 0 {
            self.terms_query(&stems, 0)
        } else {
            let clauses = stems.iter().map(|s| (Occur::Must, self.terms_query(std::slice::from_ref(s), 0))).collect();
            Box::new(BooleanQuery::new(clauses))
        };
        Box::new(Verified::new(candidates, Check::Sequence { words, slop }, self.idx.fields.text))
    }

    /// Passages having one of `words` (from the word list), found through their stems, and
    /// checked against their text unless every word of the index with one of those stems
    /// passes `check`.
    fn words_query(&self, words: Vec<String>, check: Check) -> Box<dyn Query> {
        let field = self.idx.fields.text;
        let stems: BTreeSet<String> = words.iter().map(|w| schema::stem(w)).collect();
        let sure = stems.iter().all(|s| self.idx.words_with_stem(s).iter().all(|w| check.accepts_word(w)));
        let terms = stems.into_iter().map(|t| Term::from_field_text(field, &t));
        let candidates = Box::new(TermSetQuery::new(terms));
        if sure {
            self.leaf(check, false);
            candidates
        } else {
            self.leaf(check.clone(), false);
            Box::new(Verified::new(candidates, check, field))
        }
    }

    /// Every indexed term of `field` at or after `from` for which `keep` holds (stopping at the
    /// first term past `from` that does not start with it).
    fn expand(&self, field: Field, from: &str, keep: &dyn Fn(&str) -> bool) -> Result<Vec<Term>> {
        let out = terms_from(&self.searcher, field, from, usize::MAX)?;
        Ok(out.into_iter().filter(|t| keep(t)).map(|t| Term::from_field_text(field, &t)).collect())
    }

    fn compile(&self, ast: &Ast) -> Result<Box<dyn Query>> {
        Ok(match ast {
            Ast::And(items) => {
                let mut clauses = Vec::new();
                let mut positive = false;
                for it in items {
                    match it {
                        Ast::Not(inner) => clauses.push((Occur::MustNot, self.negative(inner)?)),
                        other => {
                            positive = true;
                            clauses.push((Occur::Must, self.compile(other)?));
                        }
                    }
                }
                if !positive {
                    clauses.push((Occur::Must, Box::new(AllQuery)));
                }
                Box::new(BooleanQuery::new(clauses))
            }
            Ast::Or(items) => {
                let clauses =
                    items.iter().map(|i| Ok((Occur::Should, self.compile(i)?))).collect::<Result<Vec<_>>>()?;
                Box::new(BooleanQuery::new(clauses))
            }
            Ast::Not(inner) => Box::new(BooleanQuery::new(vec![
                (Occur::Must, Box::new(AllQuery)),
                (Occur::MustNot, self.negative(inner)?),
            ])),
            Ast::Word(w) => self.text_query(w, 0),
            Ast::Phrase(p, slop) => self.text_query(p, *slop),
            Ast::Prefix(p) => {
                let prefix = p.to_lowercase();
                let list = self.idx.words();
                let from = list.partition_point(|w| w.as_str() < prefix.as_str());
                let words = list[from..].iter().take_while(|w| w.starts_with(&prefix)).cloned().collect();
                self.words_query(words, Check::Prefix(prefix))
            }
            Ast::Fuzzy(w, d) => {
                let word = w.to_lowercase();
                let d = usize::from(*d);
                let len = word.chars().count();
                let mut words: BTreeSet<String> = self
                    .idx
                    .words()
                    .iter()
                    .filter(|t| t.chars().count().abs_diff(len) <= d && damerau(&word, t) <= d)
                    .cloned()
                    .collect();
                // Stemmed (without `--exact`), as every word is: the other forms of the word
                // and of the words near it, so that `trusted~1` finds what `trusted` finds and
                // more, not fewer.
                if !self.exact {
                    let stems: BTreeSet<String> = words.iter().chain([&word]).map(|w| schema::stem(w)).collect();
                    for s in stems {
                        words.extend(self.idx.words_with_stem(&s).iter().cloned());
                    }
                }
                self.words_query(words.iter().cloned().collect(), Check::AnyOf(words))
            }
            Ast::Field { field, value, prefix, whole } => self.field_query(field, value, *prefix, *whole)?,
            Ast::Range { field, lower, upper } => self.range_query(field, lower.as_ref(), upper.as_ref())?,
        })
    }

    /// A term under `NOT`: its words are not highlighted.
    fn negative(&self, ast: &Ast) -> Result<Box<dyn Query>> {
        self.negated.set(self.negated.get() + 1);
        let q = self.compile(ast);
        self.negated.set(self.negated.get() - 1);
        q
    }

    fn field_query(&self, name: &str, value: &str, prefix: bool, whole: bool) -> Result<Box<dyn Query>> {
        let f = &self.idx.fields;
        if name == "date" || name == "year" {
            if prefix {
                return Err(syntax(
                    format!("`{name}:` does not take `*`"),
                    "use a range: `date:[2016-01-01 TO 2016-06-30]`",
                )
                .into());
            }
            let days = self.range_query(name, Some(&(value.to_string(), true)), Some(&(value.to_string(), true)))?;
            // `date:2017` also finds the notes dated by their year alone (`date: 2017`), as
            // `year:2017` and every table by year count them.
            if name == "date"
                && value.len() == 4
                && let Ok(year) = value.parse::<u64>()
            {
                let alone: Box<dyn Query> =
                    Box::new(TermQuery::new(Term::from_field_u64(f.year, year), IndexRecordOption::Basic));
                return Ok(Box::new(BooleanQuery::new(vec![(Occur::Should, days), (Occur::Should, alone)])));
            }
            return Ok(days);
        }
        if name == "text" {
            return self.compile(&if prefix { Ast::Prefix(value.into()) } else { Ast::Phrase(value.into(), 0) });
        }
        let lower = value.to_lowercase();
        if name == "code" || name == "codes" {
            // The passages the code stands on, by note and position (codes are not in the index).
            let wanted = |c: &str| if prefix { c.starts_with(&lower) } else { c == lower };
            let keys = self.idx.codes.keys(self.include_suggested, &wanted);
            return Ok(if keys.is_empty() {
                Box::new(EmptyQuery)
            } else {
                Box::new(crate::codes::PassageSetQuery::new("at", keys))
            });
        }
        let exact_fields: &[Field] = match name {
            "doc" | "path" => &[f.doc],
            "id" => &[f.id],
            _ => &[],
        };
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        // The whole value.
        let (keyword, whole_text) = match name {
            _ if !exact_fields.is_empty() => (None, lower.clone()),
            "site" => (Some(f.site), lower.clone()),
            "kind" => (Some(f.kind), lower.clone()),
            "author" => (Some(f.author), lower.clone()),
            "speaker" => (Some(f.speaker), lower.clone()),
            "section" => (Some(f.section), lower.clone()),
            _ => (Some(f.attr), format!("{name}={lower}")),
        };
        let fields: Vec<Field> = keyword.into_iter().chain(exact_fields.iter().copied()).collect();
        for &field in &fields {
            if prefix {
                let terms = self.expand(field, &whole_text, &|t: &str| t.starts_with(&whole_text))?;
                clauses.push((Occur::Should, Box::new(TermSetQuery::new(terms))));
            } else {
                let term = Term::from_field_text(field, &whole_text);
                clauses.push((Occur::Should, Box::new(TermQuery::new(term, IndexRecordOption::Basic))));
            }
        }
        // Any word or phrase of the value.
        if !whole && exact_fields.is_empty() {
            let terms = schema::value_terms(name, value);
            let field = f.values;
            if prefix {
                if let [(_, last)] = terms.as_slice() {
                    let expanded = self.expand(field, last, &|t: &str| t.starts_with(last.as_str()))?;
                    clauses.push((Occur::Should, Box::new(TermSetQuery::new(expanded))));
                }
            } else if let [(_, t)] = terms.as_slice() {
                let term = Term::from_field_text(field, t);
                clauses.push((Occur::Should, Box::new(TermQuery::new(term, IndexRecordOption::Basic))));
            } else if terms.len() > 1 {
                let first = terms[0].0;
                let terms = terms.iter().map(|(p, t)| (p - first, Term::from_field_text(field, t))).collect();
                clauses.push((Occur::Should, Box::new(PhraseQuery::new_with_offset(terms))));
            }
        }
        Ok(if clauses.len() == 1 { clauses.pop().expect("one clause").1 } else { Box::new(BooleanQuery::new(clauses)) })
    }

    fn range_query(
        &self,
        name: &str,
        lower: Option<&(String, bool)>,
        upper: Option<&(String, bool)>,
    ) -> Result<Box<dyn Query>> {
        // A range that starts after it ends finds nothing: a slip, said rather than counted 0.
        if let (Some((l, _)), Some((u, _))) = (lower, upper) {
            let reversed = match name {
                "date" => date_span(l).zip(date_span(u)).is_some_and(|((first, _), (_, last))| first > last),
                _ => l.parse::<u64>().ok().zip(u.parse::<u64>().ok()).is_some_and(|(a, b)| a > b),
            };
            if reversed {
                return Err(syntax(
                    format!("the range `{name}:[{l} TO {u}]` starts after it ends"),
                    "write the earlier bound first, e.g. `date:[2016-01-01 TO 2016-06-30]`",
                )
                .into());
            }
        }
        match name {
            "date" => {
                let f = self.idx.fields.date;
                // A bound may be a day, a month (2016-03) or a year (2016).
                let bound = |b: Option<&(String, bool)>, upper: bool| -> Result<Bound<Term>> {
                    let Some((s, inclusive)) = b else { return Ok(Bound::Unbounded) };
                    let (first, last) = date_span(s).ok_or_else(|| {
                        syntax(format!("`{s}` is not a date"), "write dates as YYYY-MM-DD (or YYYY-MM, or YYYY)")
                    })?;
                    let day = |d: Date| {
                        Term::from_field_date(f, DateTime::from_timestamp_secs(d.days_since_epoch() * 86_400))
                    };
                    Ok(match (upper, inclusive) {
                        (false, true) => Bound::Included(day(first)),
                        (false, false) => Bound::Excluded(day(last)),
                        (true, true) => Bound::Included(day(last)),
                        (true, false) => Bound::Excluded(day(first)),
                    })
                };
                let (lower, upper) = (bound(lower, false)?, bound(upper, true)?);
                // `[* TO *]`: every passage with a date (a range needs one bound; this one, in 285
                // BC, is before any note and within the nanoseconds a date is kept in).
                let lower = match (&lower, &upper) {
                    (Bound::Unbounded, Bound::Unbounded) => {
                        Bound::Included(Term::from_field_date(f, DateTime::from_timestamp_secs(-9_000_000_000)))
                    }
                    _ => lower,
                };
                Ok(Box::new(RangeQuery::new(lower, upper)))
            }
            "year" | "words" => {
                let f = if name == "year" { self.idx.fields.year } else { self.idx.fields.words };
                let bound = |b: Option<&(String, bool)>| -> Result<Bound<Term>> {
                    let Some((s, inclusive)) = b else { return Ok(Bound::Unbounded) };
                    let n: u64 = s
                        .parse()
                        .map_err(|_| syntax(format!("`{s}` is not a whole number"), "e.g. `year:[2015 TO 2016]`"))?;
                    let t = Term::from_field_u64(f, n);
                    Ok(if *inclusive { Bound::Included(t) } else { Bound::Excluded(t) })
                };
                let (lower, upper) = (bound(lower)?, bound(upper)?);
                // `[* TO *]`: every passage with a value (a range needs one bound).
                let lower = match (&lower, &upper) {
                    (Bound::Unbounded, Bound::Unbounded) => Bound::Included(Term::from_field_u64(f, 0)),
                    _ => lower,
                };
                Ok(Box::new(RangeQuery::new(lower, upper)))
            }
            _ => Err(syntax(
                format!("ranges work on `date`, `year` and `words`, not `{name}`"),
                "e.g. `date:[2016-01-01 TO 2016-06-30]`",
            )
            .into()),
        }
    }
}

/// The indexed terms of `field` that start with `prefix`, at most `limit` of them.
fn terms_from(searcher: &Searcher, field: Field, prefix: &str, limit: usize) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for seg in searcher.segment_readers() {
        let inv = seg.inverted_index(field)?;
        let mut stream =
            inv.terms().range().ge(prefix.as_bytes()).into_stream().map_err(tantivy::TantivyError::from)?;
        while stream.advance() && out.len() < limit {
            let Ok(key) = std::str::from_utf8(stream.key()) else { continue };
            if !key.starts_with(prefix) {
                break;
            }
            out.insert(key.to_string());
        }
    }
    Ok(out)
}

/// The distinct `key` of the `key=...` terms of `field`, found by skipping from one key to the
/// next (a seek per key, not a read of every value).
fn keys_of(searcher: &Searcher, field: Field, into: &mut BTreeSet<String>) -> Result<()> {
    for seg in searcher.segment_readers() {
        let inv = seg.inverted_index(field)?;
        let mut from: Vec<u8> = Vec::new();
        loop {
            let mut stream = inv.terms().range().ge(&from).into_stream().map_err(tantivy::TantivyError::from)?;
            if !stream.advance() {
                break;
            }
            let key = stream.key();
            let Some(eq) = key.iter().position(|&b| b == b'=') else { break };
            into.insert(String::from_utf8_lossy(&key[..eq]).into_owned());
            // `>` follows `=`: the first term of the next key.
            from = key[..eq].to_vec();
            from.push(b'>');
        }
    }
    Ok(())
}

/// Up to three of `candidates` near `name` (case-insensitive edit distance at most half its
/// length, or 2), nearest first: what "did you mean" offers.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a String>) -> Vec<String> {
    let name = name.to_lowercase();
    // A typo changes a letter or two: one in a short name (two in `foo` would make it `doc`).
    let limit = match name.chars().count() {
        0..=4 => 1,
        5..=8 => 2,
        n => n / 3,
    };
    let mut scored: Vec<(usize, &String)> = candidates
        .into_iter()
        .filter(|c| **c != name)
        .map(|c| {
            let d = damerau(&name, &c.to_lowercase());
            // A candidate that starts with the name, or the name with it, is nearer than its length says.
            let d = if c.starts_with(&name) || name.starts_with(c.as_str()) { d.min(2) } else { d };
            (d, c)
        })
        .filter(|(d, _)| *d <= limit)
        .collect();
    scored.sort();
    scored.into_iter().take(3).map(|(_, c)| c.clone()).collect()
}

/// `field:value` as it is written in a query.
fn term_text(field: &str, value: &str) -> String {
    if value.chars().all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.')) {
        format!("{field}:{value}")
    } else {
        format!("{field}:\"{value}\"")
    }
}

/// A byte range of a text.
type Range = (usize, usize);

/// The token of a passage's text: position, word as written (lower-cased), byte range.
struct TextToken {
    position: u32,
    word: String,
    from: usize,
    to: usize,
}

/// The matches of `leaves` in `text`: the byte ranges of the words that satisfy a leaf, and one
/// range per match (a phrase or proximity match from its first word to its last).
fn find_matches(text: &str, leaves: &[Leaf]) -> (Vec<Range>, Vec<Range>) {
    let mut analyzer = schema::exact_analyzer();
    let mut toks = Vec::new();
    let mut stream = analyzer.token_stream(text);
    while let Some(t) = stream.next() {
        toks.push(TextToken {
            position: u32::try_from(t.position).unwrap_or(u32::MAX),
            word: t.text.clone(),
            from: t.offset_from,
            to: t.offset_to,
        });
    }
    let stems: Vec<String> = if leaves.iter().any(|l| l.stems) {
        let stemmer = frostem::Stemmer::new(frostem::Algorithm::English);
        toks.iter().map(|t| stemmer.stem(&t.word).into_owned()).collect()
    } else {
        Vec::new()
    };
    let mut words: Vec<(usize, usize)> = Vec::new();
    let mut units: Vec<(usize, usize)> = Vec::new();
    for leaf in leaves {
        let keys: Vec<&str> = if leaf.stems {
            stems.iter().map(String::as_str).collect()
        } else {
            toks.iter().map(|t| t.word.as_str()).collect()
        };
        match &leaf.check {
            Check::Sequence { words: want, slop } => {
                for chain in sequence_matches(want, *slop, &toks, &keys) {
                    units.push((toks[chain[0]].from, chain.iter().map(|&i| toks[i].to).max().unwrap_or(0)));
                    words.extend(chain.iter().map(|&i| (toks[i].from, toks[i].to)));
                }
            }
            check => {
                for (i, t) in toks.iter().enumerate() {
                    if check.accepts_word(keys[i]) {
                        units.push((t.from, t.to));
                        words.push((t.from, t.to));
                    }
                }
            }
        }
    }
    (outermost(words), outermost(units))
}

/// The ranges, sorted, without those inside another (the part `well` of a match on
/// `well-being`) or repeated.
fn outermost(mut ranges: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    // Widest first among equal starts, so a range inside the one before is dropped.
    ranges.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(ranges.len());
    for r in ranges {
        if out.last().is_some_and(|last| r.1 <= last.1) {
            continue;
        }
        out.push(r);
    }
    out
}

/// The matches of a phrase (`want`: query positions and keys) with `slop` among `toks`: for each
/// token that can start one, the first chain of tokens that completes it. Each next word stands
/// at most `slop` positions later than its place after the one before (tantivy's rule).
fn sequence_matches(want: &[(u32, String)], slop: u32, toks: &[TextToken], key: &[&str]) -> Vec<Vec<usize>> {
    fn extend(
        want: &[(u32, String)],
        slop: u32,
        toks: &[TextToken],
        key: &[&str],
        prev: usize,
        k: usize,
        dead: &mut BTreeSet<(usize, usize)>,
    ) -> Option<Vec<usize>> {
        if k == want.len() {
            return Some(Vec::new());
        }
        let least = toks[prev].position + (want[k].0 - want[k - 1].0);
        for j in prev + 1..toks.len() {
            let p = toks[j].position;
            if p > least.saturating_add(slop) {
                break;
            }
            if p < least || key[j] != want[k].1 || dead.contains(&(j, k)) {
                continue;
            }
            if let Some(mut rest) = extend(want, slop, toks, key, j, k + 1, dead) {
                rest.push(j);
                return Some(rest);
            }
            dead.insert((j, k));
        }
        None
    }
    let Some(first) = want.first() else { return Vec::new() };
    let mut dead = BTreeSet::new();
    let mut out = Vec::new();
    for i in 0..toks.len() {
        if key[i] != first.1 {
            continue;
        }
        if let Some(mut chain) = extend(want, slop, toks, key, i, 1, &mut dead) {
            chain.push(i);
            chain.reverse();
            out.push(chain);
        }
    }
    out
}

/// The snippet of at most `max_chars` characters holding the most matches (`units`), starting
/// a little before the first of them; the opening of the text when there are none.
fn best_snippet(text: &str, units: &[(usize, usize)], max_chars: usize) -> (usize, usize) {
    let end_after = |start: usize| text[start..].char_indices().nth(max_chars).map_or(text.len(), |(i, _)| start + i);
    let mut best: Option<(usize, (usize, usize))> = None;
    for &(from, _) in units {
        // Up to a quarter of the snippet before the match, from a word start.
        let lead = text[..from].char_indices().rev().nth(max_chars / 4).map_or(0, |(i, _)| i);
        let start = text[lead..from].find(char::is_whitespace).map_or(lead, |i| {
            let ws = lead + i;
            ws + text[ws..].chars().next().map_or(0, char::len_utf8)
        });
        let start = if lead == 0 { 0 } else { start.min(from) };
        let end = end_after(start);
        let n = units.iter().filter(|u| u.0 >= start && u.1 <= end).count();
        if best.is_none_or(|(m, _)| n > m) {
            best = Some((n, (start, end)));
        }
    }
    match best {
        Some((_, range)) => range,
        None => (0, end_after(0)),
    }
}

/// The first and last day a date, month or year stands for.
fn date_span(s: &str) -> Option<(Date, Date)> {
    if let Some(d) = Date::parse(s) {
        return Some((d, d));
    }
    let parts: Vec<&str> = s.split('-').collect();
    let year: i32 = parts.first()?.parse().ok().filter(|_| parts[0].len() == 4)?;
    match parts.len() {
        1 => Some((Date::new(year, 1, 1)?, Date::new(year, 12, 31)?)),
        2 => {
            let m: u8 = parts[1].parse().ok()?;
            let first = Date::new(year, m, 1)?;
            let last = (28..=31).rev().find_map(|d| Date::new(year, m, d))?;
            Some((first, last))
        }
        _ => None,
    }
}

/// Optimal-string-alignment distance (Damerau-Levenshtein with adjacent transpositions).
pub(crate) fn damerau(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (n, m) = (a.len(), b.len());
    let mut d = vec![vec![0usize; m + 1]; n + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=m).collect();
    for i in 1..=n {
        for j in 1..=m {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[n][m]
}

impl SearchIndex {
    /// The query, the searcher it is for, and its positive text terms.
    fn compiled(&self, query: &str, opts: &SearchOptions) -> Result<(Box<dyn Query>, Searcher, Vec<Leaf>)> {
        let ast = parse(query)?;
        let c = Compiler {
            idx: self,
            searcher: self.reader()?.searcher(),
            exact: opts.exact,
            include_suggested: opts.include_suggested,
            leaves: RefCell::default(),
            negated: Cell::new(0),
        };
        let q = c.compile(&ast)?;
        Ok((q, c.searcher, c.leaves.into_inner()))
    }

    /// Runs a query: the total number of matching passages and the best `limit` hits, each with
    /// the matches of the query in its text and a snippet around them.
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<SearchResults> {
        let (q, searcher, leaves) = self.compiled(query, opts)?;
        // No more places kept than there are passages (a limit of `usize::MAX` is every hit).
        let most = opts.limit.min(usize::try_from(searcher.num_docs()).unwrap_or(usize::MAX)).max(1);
        let (top, total) = searcher.search(&q, &(TopDocs::with_limit(most).order_by_score(), Count))?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top.into_iter().take(opts.limit) {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let get_str = |f: Field| doc.get_first(f).and_then(|v| v.as_str()).unwrap_or("").to_string();
            let text = get_str(self.fields.text);
            let (matches, units) = find_matches(&text, &leaves);
            let snippet = best_snippet(&text, &units, opts.snippet_chars);
            let attributes: BTreeMap<String, String> =
                serde_json::from_str(&get_str(self.fields.display)).unwrap_or_default();
            hits.push(Hit {
                id: get_str(self.fields.id),
                doc: get_str(self.fields.doc),
                ordinal: doc.get_first(self.fields.ordinal).and_then(|v| v.as_u64()).unwrap_or(0),
                score,
                attributes,
                text,
                matches,
                units,
                snippet,
            });
        }
        if !self.codes.is_empty() {
            let at: Vec<(&str, u64)> = hits.iter().map(|h| (h.doc.as_str(), h.ordinal)).collect();
            let codes = self.codes.of_many(&at);
            for (h, c) in hits.iter_mut().zip(codes) {
                if let Some(c) = c {
                    h.set_codes(&c);
                }
            }
        }
        Ok(SearchResults { total, hits })
    }

    /// Ids of the best `limit` passages, ranked, without counting, snippets or attributes: the
    /// cheapest ranked search (what `--json` consumers needing only ids pay for).
    pub fn top_ids(&self, query: &str, exact: bool, limit: usize) -> Result<Vec<String>> {
        let (q, searcher, _) = self.compiled(query, &SearchOptions { exact, ..SearchOptions::default() })?;
        let top = searcher.search(&q, &TopDocs::with_limit(limit.max(1)).order_by_score())?;
        let mut ids = Vec::with_capacity(top.len());
        for (_, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            if let Some(id) = doc.get_first(self.fields.id).and_then(|v| v.as_str()) {
                ids.push(id.to_string());
            }
        }
        Ok(ids)
    }

    /// Ids of every passage matching the query (unranked, in order); `code:` counts accepted
    /// codings only.
    pub fn matching_ids(&self, query: &str, exact: bool) -> Result<Vec<String>> {
        self.matching_ids_with(query, &SearchOptions { exact, ..SearchOptions::default() })
    }

    /// Ids of every passage matching the query under `opts` (unranked, in order of note and of
    /// passage in the note).
    pub fn matching_ids_with(&self, query: &str, opts: &SearchOptions) -> Result<Vec<String>> {
        Ok(self.matching_passages(query, opts)?.into_iter().map(|(id, _)| id).collect())
    }

    /// [`SearchIndex::matching_ids_with`], each id with its passage's ordinal.
    pub(crate) fn matching_passages(&self, query: &str, opts: &SearchOptions) -> Result<Vec<(String, u64)>> {
        let (q, searcher, _) = self.compiled(query, opts)?;
        let docs = searcher.search(&q, &DocSetCollector)?;
        let mut ids = Vec::with_capacity(docs.len());
        for addr in docs {
            let doc: TantivyDocument = searcher.doc(addr)?;
            if let Some(id) = doc.get_first(self.fields.id).and_then(|v| v.as_str()) {
                let ordinal = doc.get_first(self.fields.ordinal).and_then(|v| v.as_u64()).unwrap_or(0);
                ids.push((id.to_string(), ordinal));
            }
        }
        let path = |id: &str| id.rsplit_once('#').map_or(id, |(p, _)| p).to_string();
        ids.sort_by_cached_key(|(id, ordinal)| (path(id), *ordinal));
        Ok(ids)
    }

    /// The names a passage can be grouped by: the index's own and every front-matter key.
    fn group_names(&self, searcher: &Searcher) -> Result<BTreeSet<String>> {
        let mut names: BTreeSet<String> = FIXED_FIELDS
            .iter()
            .filter(|f| !matches!(**f, "words" | "text" | "doc" | "id"))
            .map(|f| f.to_string())
            .collect();
        keys_of(searcher, self.fields.attr, &mut names)?;
        Ok(names)
    }

    /// Hit counts per value of a group attribute (`site`, `kind`, `speaker`, `year`, `code`, ...).
    /// Passages without the attribute count under `""`; list values count once per item. By
    /// `code`, a passage counts once under each code of its accepted codings (with
    /// `include_suggested`, its suggested codes too). A group that no note has is an
    /// [`Error::UnknownGroup`](crate::Error::UnknownGroup).
    pub fn count_by(&self, query: &str, opts: &SearchOptions, group: &str) -> Result<(usize, BTreeMap<String, u64>)> {
        let (q, searcher, _) = self.compiled(query, opts)?;
        // Keys are lower-cased where notes are read (`Site:` is `site`), as filters' are.
        let lower = group.to_lowercase();
        let key = if lower == "codes" { "code" } else { lower.as_str() };
        let names = self.group_names(&searcher)?;
        if !names.contains(key) {
            return Err(crate::Error::UnknownGroup { name: group.to_string(), suggestions: closest(group, &names) });
        }
        let docs = searcher.search(&q, &DocSetCollector)?;
        let mut counts = BTreeMap::new();
        if key == "code" {
            // The passages' codes, looked up all at once.
            let mut at: Vec<(String, u64)> = Vec::with_capacity(docs.len());
            for addr in &docs {
                let doc: TantivyDocument = searcher.doc(*addr)?;
                let path = doc.get_first(self.fields.doc).and_then(|v| v.as_str()).unwrap_or("").to_string();
                at.push((path, doc.get_first(self.fields.ordinal).and_then(|v| v.as_u64()).unwrap_or(0)));
            }
            let at: Vec<(&str, u64)> = at.iter().map(|(p, o)| (p.as_str(), *o)).collect();
            for codes in self.codes.of_many(&at) {
                let mut items: Vec<&str> = Vec::new();
                if let Some(p) = &codes {
                    items.extend(p.accepted.iter().map(String::as_str));
                    if opts.include_suggested {
                        items.extend(p.suggested.iter().map(String::as_str));
                    }
                }
                if items.is_empty() {
                    items.push("");
                }
                for it in items {
                    *counts.entry(it.to_string()).or_insert(0) += 1;
                }
            }
            return Ok((docs.len(), counts));
        }
        for addr in &docs {
            let doc: TantivyDocument = searcher.doc(*addr)?;
            let display = doc.get_first(self.fields.display).and_then(|v| v.as_str()).unwrap_or("{}");
            let attrs: BTreeMap<String, String> = serde_json::from_str(display).unwrap_or_default();
            let items: Vec<String> = match key {
                // The year as the tables take it: a date's, or a year written alone.
                "year" => vec![
                    attrs
                        .get("date")
                        .and_then(|d| fieldnotes_corpus::Value::year_of_text(d))
                        .map(|y| y.to_string())
                        .unwrap_or_default(),
                ],
                _ => {
                    let value = attrs.get(key).cloned().unwrap_or_default();
                    if value.starts_with('[') {
                        // A list's items, each once whatever its case (as tag filters match).
                        let mut items: Vec<String> =
                            value.trim_matches(['[', ']']).split(", ").map(str::to_string).collect();
                        items.sort_by_key(|i| i.to_lowercase());
                        items.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
                        items
                    } else {
                        vec![value]
                    }
                }
            };
            for it in items {
                *counts.entry(it).or_insert(0) += 1;
            }
        }
        Ok((docs.len(), counts))
    }

    /// The fields, values and codes of a query that exist nowhere in the project, each with
    /// the closest names that do. `codebook` lists the codebook's code ids, which count as
    /// existing even where no passage carries them. A value is checked word by word (a phrase
    /// whose words all exist is fine, even if it matches nothing); dates, years, word counts,
    /// paths and ids are not checked.
    pub fn unknown_names(&self, query: &str, codebook: &[String]) -> Result<Vec<Unknown>> {
        let ast = parse(query)?;
        let mut terms = Vec::new();
        field_terms(&ast, &mut terms);
        if terms.is_empty() {
            return Ok(Vec::new());
        }
        let searcher = self.reader()?.searcher();
        let f = &self.fields;
        let exists = |field: Field, text: &str| -> Result<bool> {
            Ok(searcher.doc_freq(&Term::from_field_text(field, text))? > 0)
        };
        let any_with =
            |field: Field, prefix: &str| -> Result<bool> { Ok(!terms_from(&searcher, field, prefix, 1)?.is_empty()) };
        let mut keys: Option<BTreeSet<String>> = None;
        let mut out = Vec::new();
        // Whether any passage has a year (every dated note's passages do): asked once.
        let mut dated: Option<bool> = None;
        let mut told_undated = false;
        for (field, value, prefix, whole) in terms {
            let lower = value.to_lowercase();
            match field.as_str() {
                "date" | "year" => {
                    let any = match dated {
                        Some(d) => d,
                        None => {
                            let q = RangeQuery::new(Bound::Included(Term::from_field_u64(f.year, 0)), Bound::Unbounded);
                            *dated.insert(searcher.search(&q, &Count)? > 0)
                        }
                    };
                    if !any && !told_undated {
                        told_undated = true;
                        out.push(Unknown {
                            kind: UnknownKind::Field,
                            field: field.clone(),
                            value: String::new(),
                            suggestions: vec![],
                        });
                    }
                }
                "words" | "text" | "doc" | "path" | "id" => {}
                "code" | "codes" => {
                    let mut known = self.codes.names(true);
                    known.extend(codebook.iter().map(|c| c.to_lowercase()));
                    let found =
                        if prefix { known.iter().any(|c| c.starts_with(&lower)) } else { known.contains(&lower) };
                    if !found {
                        let suggestions = closest(&lower, &known).iter().map(|c| term_text("code", c)).collect();
                        out.push(Unknown { kind: UnknownKind::Code, field: "code".into(), value, suggestions });
                    }
                }
                name => {
                    let keyword = match name {
                        "site" => Some(f.site),
                        "kind" => Some(f.kind),
                        "author" => Some(f.author),
                        "speaker" => Some(f.speaker),
                        "section" => Some(f.section),
                        _ => None,
                    };
                    let keys = match &mut keys {
                        Some(k) => k,
                        None => {
                            let mut k = BTreeSet::new();
                            keys_of(&searcher, f.attr, &mut k)?;
                            keys_of(&searcher, f.values, &mut k)?;
                            keys.insert(k)
                        }
                    };
                    if keyword.is_none() && !keys.contains(name) {
                        let numeric = value.starts_with(|c: char| c.is_ascii_digit() || c == '[');
                        let mut names: BTreeSet<String> = FIXED_FIELDS
                            .iter()
                            .filter(|f| numeric || !matches!(**f, "date" | "year" | "words"))
                            .map(|s| s.to_string())
                            .collect();
                        names.extend(keys.iter().filter(|k| numeric || *k != "date").cloned());
                        let suggestions = closest(name, &names).iter().map(|n| term_text(n, &value)).collect();
                        out.push(Unknown {
                            kind: UnknownKind::Field,
                            field: field.clone(),
                            value: String::new(),
                            suggestions,
                        });
                        continue;
                    }
                    let (whole_field, whole_text) = match keyword {
                        Some(k) => (k, lower.clone()),
                        None => (f.attr, format!("{name}={lower}")),
                    };
                    let words = schema::value_terms(name, &value);
                    let found = if prefix {
                        any_with(whole_field, &whole_text)?
                            || (!whole && words.len() == 1 && any_with(f.values, &words[0].1)?)
                    } else if whole || words.is_empty() {
                        exists(whole_field, &whole_text)?
                    } else {
                        let mut all = true;
                        for (_, w) in &words {
                            all &= exists(f.values, w)?;
                        }
                        all
                    };
                    if !found {
                        let key_eq = format!("{name}=");
                        let mut known: BTreeSet<String> = match keyword {
                            Some(k) => terms_from(&searcher, k, "", 100_000)?,
                            None => terms_from(&searcher, f.attr, &key_eq, 100_000)?
                                .into_iter()
                                .map(|t| t[key_eq.len()..].to_string())
                                .collect(),
                        };
                        let wholes = known.clone();
                        if !whole {
                            known.extend(
                                terms_from(&searcher, f.values, &key_eq, 100_000)?
                                    .into_iter()
                                    .map(|t| t[key_eq.len()..].to_string()),
                            );
                        }
                        // The nearest values; or, when none is near and there are only a few, all of them.
                        let mut near = closest(&lower, &known);
                        if near.is_empty() && wholes.len() <= 8 {
                            near = wholes.iter().cloned().collect();
                        }
                        let suggestions = near
                            .iter()
                            .map(|c| {
                                let t = term_text(name, c);
                                if whole { t.replacen(':', ":=", 1) } else { t }
                            })
                            .collect();
                        out.push(Unknown { kind: UnknownKind::Value, field: field.clone(), value, suggestions });
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Every `field:value` of a query: (field, value, prefix, whole).
fn field_terms(ast: &Ast, out: &mut Vec<(String, String, bool, bool)>) {
    match ast {
        Ast::And(items) | Ast::Or(items) => items.iter().for_each(|i| field_terms(i, out)),
        Ast::Not(inner) => field_terms(inner, out),
        Ast::Field { field, value, prefix, whole } => out.push((field.clone(), value.clone(), *prefix, *whole)),
        // A range stands for its field: `date:[...]` on notes without dates says so.
        Ast::Range { field, .. } if field == "date" || field == "year" => {
            out.push((field.clone(), String::new(), false, false))
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_and_distances() {
        let (a, b) = date_span("2016-02").unwrap();
        assert_eq!((a.to_string(), b.to_string()), ("2016-02-01".into(), "2016-02-29".into()));
        assert_eq!(date_span("2017").unwrap().1.to_string(), "2017-12-31");
        assert!(date_span("2017-13").is_none());
        assert_eq!(damerau("turnover", "turnvoer"), 1);
        assert_eq!(damerau("trust", "trsut"), 1);
        assert_eq!(damerau("kitten", "sitting"), 3);
    }
}
