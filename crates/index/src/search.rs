//! Running queries: ranked hits, snippets, keyword-in-context and counts by group.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use fieldnotes_corpus::Date;
use serde::Serialize;
use tantivy::collector::{Count, DocSetCollector, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery, TermSetQuery,
};
use tantivy::schema::{Field, IndexRecordOption, Value as _};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DateTime, Searcher, TantivyDocument, Term};

use crate::exact::{Check, Verified, tokens_into};
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
}

impl Default for SearchOptions {
    fn default() -> Self {
        SearchOptions { exact: false, limit: 20, snippet_chars: 160 }
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
    /// Byte ranges of the matched words in `text`.
    pub matches: Vec<(usize, usize)>,
    /// Byte range of the best snippet in `text`.
    pub snippet: (usize, usize),
}

impl Hit {
    /// An attribute, or `""`.
    pub fn attr(&self, key: &str) -> &str {
        self.attributes.get(key).map_or("", String::as_str)
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

struct Compiler<'a> {
    idx: &'a SearchIndex,
    searcher: Searcher,
    exact: bool,
    /// Words to highlight under `--exact`, as written (lower-cased).
    exact_words: RefCell<BTreeSet<String>>,
}

fn syntax(message: String, hint: &str) -> SyntaxError {
    SyntaxError { column: 1, message, hint: hint.to_string() }
}

impl Compiler<'_> {
    /// Tokenises with an analyser: `(position, token)`.
    fn tokens(mut analyzer: TextAnalyzer, text: &str) -> Vec<(u32, String)> {
        let mut out = Vec::new();
        tokens_into(&mut analyzer, text, &mut out);
        out
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
        let stems = Self::tokens(schema::stem_analyzer(None), text);
        if !self.exact {
            return self.terms_query(&stems, slop);
        }
        let words = Self::tokens(schema::exact_analyzer(), text);
        if words.is_empty() {
            return Box::new(EmptyQuery);
        }
        self.exact_words.borrow_mut().extend(words.iter().map(|(_, w)| w.clone()));
        // Where no other word of the index shares a word's stem, the stem stands for the word:
        // an adjacent phrase of such stems is the exact phrase, and needs no check.
        let unique = stems.len() == words.len()
            && stems.iter().zip(&words).all(|((_, s), (_, w))| self.idx.words_with_stem(s) == std::slice::from_ref(w));
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
        self.exact_words.borrow_mut().extend(words);
        let sure = stems.iter().all(|s| self.idx.words_with_stem(s).iter().all(|w| check.accepts_word(w)));
        let terms = stems.into_iter().map(|t| Term::from_field_text(field, &t));
        let candidates = Box::new(TermSetQuery::new(terms));
        if sure { candidates } else { Box::new(Verified::new(candidates, check, field)) }
    }

    /// Every indexed term of `field` at or after `from` for which `keep` holds (stopping at the
    /// first term past `from` that does not start with it).
    fn expand(&self, field: Field, from: &str, keep: &dyn Fn(&str) -> bool) -> Result<Vec<Term>> {
        let mut out = BTreeSet::new();
        for seg in self.searcher.segment_readers() {
            let inv = seg.inverted_index(field)?;
            let mut stream =
                inv.terms().range().ge(from.as_bytes()).into_stream().map_err(tantivy::TantivyError::from)?;
            while stream.advance() {
                let Ok(key) = std::str::from_utf8(stream.key()) else { continue };
                if !key.starts_with(from) {
                    break;
                }
                if keep(key) {
                    out.insert(key.to_string());
                }
            }
        }
        Ok(out.into_iter().map(|t| Term::from_field_text(field, &t)).collect())
    }

    fn keyword_field(&self, name: &str) -> Option<Field> {
        let f = &self.idx.fields;
        Some(match name {
            "site" => f.site,
            "kind" => f.kind,
            "author" => f.author,
            "speaker" => f.speaker,
            "section" => f.section,
            "code" | "codes" => f.code,
            "doc" | "path" => f.doc,
            "id" => f.id,
            _ => return None,
        })
    }

    fn compile(&self, ast: &Ast) -> Result<Box<dyn Query>> {
        Ok(match ast {
            Ast::And(items) => {
                let mut clauses = Vec::new();
                let mut positive = false;
                for it in items {
                    match it {
                        Ast::Not(inner) => clauses.push((Occur::MustNot, self.compile(inner)?)),
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
                (Occur::MustNot, self.compile(inner)?),
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
                let words: BTreeSet<String> = self
                    .idx
                    .words()
                    .iter()
                    .filter(|t| t.chars().count().abs_diff(len) <= d && damerau(&word, t) <= d)
                    .cloned()
                    .collect();
                self.words_query(words.iter().cloned().collect(), Check::AnyOf(words))
            }
            Ast::Field { field, value, prefix } => self.field_query(field, value, *prefix)?,
            Ast::Range { field, lower, upper } => self.range_query(field, lower.as_ref(), upper.as_ref())?,
        })
    }

    fn field_query(&self, name: &str, value: &str, prefix: bool) -> Result<Box<dyn Query>> {
        if name == "date" || name == "year" {
            if prefix {
                return Err(syntax(
                    format!("`{name}:` does not take `*`"),
                    "use a range: `date:[2016-01-01 TO 2016-06-30]`",
                )
                .into());
            }
            return self.range_query(name, Some(&(value.to_string(), true)), Some(&(value.to_string(), true)));
        }
        if name == "text" {
            return self.compile(&if prefix { Ast::Prefix(value.into()) } else { Ast::Phrase(value.into(), 0) });
        }
        let (field, term_text) = match self.keyword_field(name) {
            Some(f) => (f, value.to_lowercase()),
            None => (self.idx.fields.attr, format!("{name}={}", value.to_lowercase())),
        };
        if prefix {
            let terms = self.expand(field, &term_text, &|t: &str| t.starts_with(&term_text))?;
            return Ok(Box::new(TermSetQuery::new(terms)));
        }
        Ok(Box::new(TermQuery::new(Term::from_field_text(field, &term_text), IndexRecordOption::Basic)))
    }

    fn range_query(
        &self,
        name: &str,
        lower: Option<&(String, bool)>,
        upper: Option<&(String, bool)>,
    ) -> Result<Box<dyn Query>> {
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
                Ok(Box::new(RangeQuery::new(bound(lower, false)?, bound(upper, true)?)))
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
                Ok(Box::new(RangeQuery::new(bound(lower)?, bound(upper)?)))
            }
            _ => Err(syntax(
                format!("ranges work on `date`, `year` and `words`, not `{name}`"),
                "e.g. `date:[2016-01-01 TO 2016-06-30]`",
            )
            .into()),
        }
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
    /// The query, the searcher it is for, and the words to highlight under `--exact`.
    fn compiled(&self, query: &str, exact: bool) -> Result<(Box<dyn Query>, Searcher, BTreeSet<String>)> {
        let ast = parse(query)?;
        let c = Compiler { idx: self, searcher: self.reader()?.searcher(), exact, exact_words: RefCell::default() };
        let q = c.compile(&ast)?;
        Ok((q, c.searcher, c.exact_words.into_inner()))
    }

    /// Runs a query: the total number of matching passages and the best `limit` hits.
    pub fn search(&self, query: &str, opts: &SearchOptions) -> Result<SearchResults> {
        let (q, searcher, exact_words) = self.compiled(query, opts.exact)?;
        let (top, total) = searcher.search(&q, &(TopDocs::with_limit(opts.limit.max(1)).order_by_score(), Count))?;
        // Highlights: the query's stems; under `--exact`, its words as written.
        let generator = |max_chars: usize| -> Result<SnippetGenerator> {
            let field = self.fields.text;
            Ok(if opts.exact {
                let terms = exact_words.iter().map(|w| (w.clone(), 1.0)).collect();
                SnippetGenerator::new(terms, schema::exact_analyzer(), field, max_chars)
            } else {
                let mut g = SnippetGenerator::create(&searcher, &*q, field)?;
                g.set_max_num_chars(max_chars);
                g
            })
        };
        let whole = generator(usize::MAX / 2)?;
        let short = generator(opts.snippet_chars)?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top.into_iter().take(opts.limit) {
            let doc: TantivyDocument = searcher.doc(addr)?;
            let get_str = |f: Field| doc.get_first(f).and_then(|v| v.as_str()).unwrap_or("").to_string();
            let text = get_str(self.fields.text);
            let all = whole.snippet(&text);
            let off = all.fragment_range().start;
            let matches: Vec<(usize, usize)> = all.highlighted().iter().map(|r| (r.start + off, r.end + off)).collect();
            let best = short.snippet(&text);
            let snippet = if best.fragment().is_empty() {
                let end = text.char_indices().nth(opts.snippet_chars).map_or(text.len(), |c| c.0);
                (0, end)
            } else {
                (best.fragment_range().start, best.fragment_range().end)
            };
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
                snippet,
            });
        }
        Ok(SearchResults { total, hits })
    }

    /// Ids of the best `limit` passages, ranked, without counting, snippets or attributes: the
    /// cheapest ranked search (what `--json` consumers needing only ids pay for).
    pub fn top_ids(&self, query: &str, exact: bool, limit: usize) -> Result<Vec<String>> {
        let (q, searcher, _) = self.compiled(query, exact)?;
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

    /// Ids of every passage matching the query (unranked, sorted).
    pub fn matching_ids(&self, query: &str, exact: bool) -> Result<Vec<String>> {
        let (q, searcher, _) = self.compiled(query, exact)?;
        let docs = searcher.search(&q, &DocSetCollector)?;
        let mut ids = Vec::with_capacity(docs.len());
        for addr in docs {
            let doc: TantivyDocument = searcher.doc(addr)?;
            if let Some(id) = doc.get_first(self.fields.id).and_then(|v| v.as_str()) {
                ids.push(id.to_string());
            }
        }
        ids.sort();
        Ok(ids)
    }

    /// Hit counts per value of a group attribute (`site`, `kind`, `speaker`, `year`, `codes`, ...).
    /// Passages without the attribute count under `""`; list values count once per item.
    pub fn count_by(&self, query: &str, exact: bool, group: &str) -> Result<(usize, BTreeMap<String, u64>)> {
        let (q, searcher, _) = self.compiled(query, exact)?;
        let docs = searcher.search(&q, &DocSetCollector)?;
        let mut counts = BTreeMap::new();
        let key = if group == "code" { "codes" } else { group };
        for addr in &docs {
            let doc: TantivyDocument = searcher.doc(*addr)?;
            let display = doc.get_first(self.fields.display).and_then(|v| v.as_str()).unwrap_or("{}");
            let attrs: BTreeMap<String, String> = serde_json::from_str(display).unwrap_or_default();
            let value = match key {
                "year" => attrs.get("date").map(|d| d.chars().take(4).collect()).unwrap_or_default(),
                _ => attrs.get(key).cloned().unwrap_or_default(),
            };
            let items: Vec<String> = if (key == "codes" || value.starts_with('[')) && !value.is_empty() {
                value.trim_matches(['[', ']']).split(", ").map(str::to_string).collect()
            } else {
                vec![value]
            };
            for it in items {
                *counts.entry(it).or_insert(0) += 1;
            }
        }
        Ok((docs.len(), counts))
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
