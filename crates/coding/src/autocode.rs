//! The rule-based auto-coder: every keyword of every code in one Aho-Corasick automaton, every
//! regex in one `RegexSet`, one pass per passage, and the evidence for each suggestion.
//!
//! Keywords match whole words, case-insensitively: the passage is cut into words (runs of
//! letters and digits), each lower-cased (and, for codes with `stem = true`, reduced to its
//! English stem), and the words are joined by single spaces. Keywords are normalised the same
//! way, so `"staff turnover"` matches "Staff  turnover" and, stemmed, "trusting" matches
//! `"trust"`. A match must start and end on word boundaries of that normalised text.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use rust_stemmers::{Algorithm, Stemmer};
use serde::{Deserialize, Serialize};

use crate::codebook::Codebook;
use crate::error::{Error, Result};

/// Compiled size limit for each regex (bytes); the `regex` crate runs in linear time regardless.
pub const REGEX_SIZE_LIMIT: usize = 10 << 20;
/// Cache of the lazy DFA behind the combined `RegexSet` (per thread). A codebook's regexes
/// together make a large automaton; with the default 2 MB cache it is rebuilt over and over.
pub const REGEX_DFA_CACHE: usize = 256 << 20;

/// One piece of evidence: a rule that fired, on which words, where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hit {
    /// The rule: `keyword:<phrase>` or `regex:<pattern>`.
    pub rule: String,
    /// The words matched, as they stand in the passage.
    pub text: String,
    /// Code-point offset in the document where the match starts.
    pub start: usize,
    /// Code-point offset in the document just past the match.
    pub end: usize,
}

/// What the auto-coder found for one code in one passage.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CodeMatch {
    /// Index of the code in the codebook.
    pub code: usize,
    /// Every hit that survived the exclusions.
    pub hits: Vec<Hit>,
    /// Hits that an exclusion cancelled.
    pub excluded: Vec<Hit>,
    /// Number of different rules that fired.
    pub rules_fired: usize,
    /// Whether that reaches the code's `min_evidence`.
    pub suggested: bool,
}

/// The auto-coder's findings for one passage.
#[derive(Clone, Debug)]
pub struct PassageMatches {
    /// Document index in the corpus.
    pub doc: usize,
    /// Passage index in the document.
    pub passage: usize,
    /// Codes with hits.
    pub matches: Vec<CodeMatch>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    Keyword,
    Exclude,
}

#[derive(Clone, Debug)]
struct Target {
    code: usize,
    role: Role,
    phrase: String,
}

/// A codebook's rules compiled for matching.
pub struct AutoCoder {
    n_codes: usize,
    min_evidence: Vec<usize>,
    /// Automaton over lower-cased words, and over stems.
    exact: Option<(AhoCorasick, Vec<Vec<Target>>)>,
    stemmed: Option<(AhoCorasick, Vec<Vec<Target>>)>,
    set: RegexSet,
    regexes: Vec<(usize, String, Regex)>,
    any_stemmed: bool,
}

/// A word of a passage: its byte range in the passage and its offsets in the normalised texts.
struct Word {
    byte_start: usize,
    byte_end: usize,
}

/// A passage cut into words, with the normalised texts the automata run over.
struct Normalised {
    words: Vec<Word>,
    exact: String,
    stemmed: String,
    /// For each word, its start and end byte in `exact` and `stemmed`.
    exact_pos: Vec<(usize, usize)>,
    stemmed_pos: Vec<(usize, usize)>,
}

fn words_of(text: &str) -> Vec<Word> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        let w = c.is_alphanumeric();
        match (w, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                // Keep apostrophes inside words: "CPP's", "don't".
                if (c == '\'' || c == '’') && text[i + c.len_utf8()..].starts_with(char::is_alphanumeric) {
                    continue;
                }
                out.push(Word { byte_start: s, byte_end: i });
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push(Word { byte_start: s, byte_end: text.len() });
    }
    out
}

/// Stems a lower-cased word, through a per-thread cache: fieldnotes reuse a small vocabulary,
/// and the Snowball stemmer costs more than a hash lookup.
fn stem_cached(stemmer: &Stemmer, word: &str, out: &mut String) {
    use std::cell::RefCell;
    use std::collections::HashMap;
    thread_local! {
        static CACHE: RefCell<HashMap<String, String>> = RefCell::new(HashMap::new());
    }
    /// Entries kept before the cache starts over (bounded memory on odd corpora).
    const MAX_ENTRIES: usize = 200_000;
    CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        if let Some(st) = cache.get(word) {
            out.push_str(st);
            return;
        }
        let st = stemmer.stem(word).into_owned();
        out.push_str(&st);
        if cache.len() >= MAX_ENTRIES {
            cache.clear();
        }
        cache.insert(word.to_string(), st);
    });
}

/// Lower-cases a word into `buf` (ASCII fast path), with curly apostrophes made straight.
fn lower_into(w: &str, buf: &mut String) {
    buf.clear();
    if w.is_ascii() {
        buf.push_str(w);
        buf.make_ascii_lowercase();
    } else {
        for c in w.chars() {
            if c == '’' {
                buf.push('\'');
            } else {
                buf.extend(c.to_lowercase());
            }
        }
    }
}

fn normalise(text: &str, stemmer: Option<&Stemmer>, want_exact: bool) -> Normalised {
    let words = words_of(text);
    let mut exact = String::new();
    let mut stemmed = String::new();
    let mut exact_pos = Vec::new();
    let mut stemmed_pos = Vec::new();
    if want_exact {
        exact.reserve(text.len());
        exact_pos.reserve(words.len());
    }
    if stemmer.is_some() {
        stemmed.reserve(text.len());
        stemmed_pos.reserve(words.len());
    }
    let mut lw = String::new();
    for w in &words {
        lower_into(&text[w.byte_start..w.byte_end], &mut lw);
        if want_exact {
            if !exact.is_empty() {
                exact.push(' ');
            }
            let s = exact.len();
            exact.push_str(&lw);
            exact_pos.push((s, exact.len()));
        }
        if let Some(st) = stemmer {
            if !stemmed.is_empty() {
                stemmed.push(' ');
            }
            let s = stemmed.len();
            stem_cached(st, &lw, &mut stemmed);
            stemmed_pos.push((s, stemmed.len()));
        }
    }
    Normalised { words, exact, stemmed, exact_pos, stemmed_pos }
}

/// Normalises a keyword as passages are: lower-cased words joined by single spaces, stemmed or not.
pub fn normalise_phrase(phrase: &str, stem: bool) -> String {
    let stemmer = Stemmer::create(Algorithm::English);
    let n = normalise(phrase, stem.then_some(&stemmer), !stem);
    if stem { n.stemmed } else { n.exact }
}

/// Rewrites `\b` and `\B` as ASCII word boundaries. The `regex` crate's fast engines (the
/// lazy DFA behind `RegexSet`) cannot run Unicode word boundaries on non-ASCII text and fall
/// back to a much slower engine; for English fieldnotes ASCII boundaries mean the same.
pub fn ascii_word_boundaries(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push_str("(?-u:\\b)"),
            Some('B') => out.push_str("(?-u:\\B)"),
            Some(n) => {
                out.push('\\');
                out.push(n);
            }
            None => out.push('\\'),
        }
    }
    out
}

fn build_automaton(targets: Vec<Target>) -> Result<Option<(AhoCorasick, Vec<Vec<Target>>)>> {
    if targets.is_empty() {
        return Ok(None);
    }
    // One pattern per distinct phrase; each pattern lists the codes it serves.
    let mut phrases: Vec<String> = Vec::new();
    let mut by_pattern: Vec<Vec<Target>> = Vec::new();
    let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for t in targets {
        let i = *index.entry(t.phrase.clone()).or_insert_with(|| {
            phrases.push(t.phrase.clone());
            by_pattern.push(Vec::new());
            phrases.len() - 1
        });
        by_pattern[i].push(t);
    }
    let ac = AhoCorasickBuilder::new()
        .match_kind(MatchKind::Standard)
        .build(&phrases)
        .map_err(|e| Error::Rules { message: format!("cannot build the keyword automaton: {e}") })?;
    Ok(Some((ac, by_pattern)))
}

impl AutoCoder {
    /// Compiles the rules of every code. Invalid regexes are an error naming the code.
    pub fn new(codebook: &Codebook) -> Result<AutoCoder> {
        let mut exact_targets = Vec::new();
        let mut stemmed_targets = Vec::new();
        let mut regexes = Vec::new();
        let mut any_stemmed = false;
        for (ci, code) in codebook.codes.iter().enumerate() {
            let r = &code.rules;
            any_stemmed |= r.stem && !(r.keywords.is_empty() && r.exclude.is_empty());
            for (role, list) in [(Role::Keyword, &r.keywords), (Role::Exclude, &r.exclude)] {
                for k in list {
                    let phrase = normalise_phrase(k, r.stem);
                    if phrase.is_empty() {
                        continue;
                    }
                    let t = Target { code: ci, role, phrase };
                    if r.stem { stemmed_targets.push(t) } else { exact_targets.push(t) }
                }
            }
            for re in &r.regex {
                let compiled = RegexBuilder::new(&ascii_word_boundaries(re))
                    .case_insensitive(true)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| Error::Rules { message: format!("invalid regex in code `{}`:\n{e}", code.id) })?;
                regexes.push((ci, re.clone(), compiled));
            }
        }
        let set = RegexSetBuilder::new(regexes.iter().map(|(_, _, r)| r.as_str()))
            .case_insensitive(true)
            .size_limit(REGEX_SIZE_LIMIT * 4)
            .dfa_size_limit(REGEX_DFA_CACHE)
            .build()
            .map_err(|e| Error::Rules { message: format!("cannot combine the regexes: {e}") })?;
        // Keyword targets are stored with their keyword text for evidence naming.
        Ok(AutoCoder {
            n_codes: codebook.codes.len(),
            min_evidence: codebook.codes.iter().map(|c| c.rules.min_evidence.max(1)).collect(),
            exact: build_automaton(exact_targets)?,
            stemmed: build_automaton(stemmed_targets)?,
            set,
            regexes,
            any_stemmed,
        })
    }

    /// Matches one passage. `text` is the passage text and `char_start` its code-point offset in
    /// the document, so evidence offsets are document offsets. Returns one entry per code that
    /// had any hit (suggested or not), in codebook order.
    pub fn code_passage(&self, text: &str, char_start: usize) -> Vec<CodeMatch> {
        thread_local! {
            static STEMMER: Stemmer = Stemmer::create(Algorithm::English);
        }
        let norm = STEMMER.with(|st| normalise(text, self.any_stemmed.then_some(st), self.exact.is_some()));
        // (code, role, rule name, byte range in passage)
        let mut raw: Vec<(usize, Role, String, usize, usize)> = Vec::new();
        for (auto, normtext, pos) in
            [(&self.exact, &norm.exact, &norm.exact_pos), (&self.stemmed, &norm.stemmed, &norm.stemmed_pos)]
        {
            let Some((ac, targets)) = auto else { continue };
            if normtext.is_empty() {
                continue;
            }
            for m in ac.find_overlapping_iter(normtext.as_str()) {
                // Word boundaries: the match must start at a word start and end at a word end.
                let Ok(first) = pos.binary_search_by_key(&m.start(), |p| p.0) else { continue };
                let Ok(last) = pos.binary_search_by_key(&m.end(), |p| p.1) else { continue };
                let bs = norm.words[first].byte_start;
                let be = norm.words[last].byte_end;
                for t in &targets[m.pattern().as_usize()] {
                    raw.push((t.code, t.role, t.phrase.clone(), bs, be));
                }
            }
        }
        if !self.regexes.is_empty() {
            for i in self.set.matches(text).iter() {
                let (code, pattern, re) = &self.regexes[i];
                for m in re.find_iter(text) {
                    if m.start() < m.end() {
                        raw.push((*code, Role::Keyword, format!("regex:{pattern}"), m.start(), m.end()));
                    }
                }
            }
        }
        if raw.is_empty() {
            return Vec::new();
        }
        raw.sort_by_key(|a| (a.0, a.3, a.4));
        // Byte offset -> code-point offset, walking once through the passage.
        let mut cuts: Vec<usize> = raw.iter().flat_map(|r| [r.3, r.4]).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut char_at = std::collections::HashMap::with_capacity(cuts.len());
        let (mut cp, mut last) = (0usize, 0usize);
        for b in cuts {
            cp += text[last..b].chars().count();
            last = b;
            char_at.insert(b, cp);
        }
        let mut out: Vec<CodeMatch> = Vec::new();
        let mut i = 0;
        while i < raw.len() {
            let code = raw[i].0;
            let mut j = i;
            while j < raw.len() && raw[j].0 == code {
                j += 1;
            }
            let group = &raw[i..j];
            let excl: Vec<(usize, usize)> = group.iter().filter(|r| r.1 == Role::Exclude).map(|r| (r.3, r.4)).collect();
            let mut hits = Vec::new();
            let mut excluded = Vec::new();
            let mut rules: Vec<&str> = Vec::new();
            for r in group.iter().filter(|r| r.1 == Role::Keyword) {
                let rule = if r.2.starts_with("regex:") { r.2.clone() } else { format!("keyword:{}", r.2) };
                let hit = Hit {
                    rule,
                    text: text[r.3..r.4].to_string(),
                    start: char_start + char_at[&r.3],
                    end: char_start + char_at[&r.4],
                };
                if excl.iter().any(|&(s, e)| s < r.4 && r.3 < e) {
                    excluded.push(hit);
                } else {
                    if !rules.contains(&r.2.as_str()) {
                        rules.push(&r.2);
                    }
                    hits.push(hit);
                }
            }
            if !hits.is_empty() || !excluded.is_empty() {
                let rules_fired = rules.len();
                out.push(CodeMatch {
                    code,
                    hits,
                    excluded,
                    rules_fired,
                    suggested: rules_fired >= self.min_evidence[code],
                });
            }
            i = j;
        }
        out
    }

    /// Codes every passage of the corpus in parallel. Returns, per document and passage, the
    /// codes that had hits; `progress` is called with the passages done.
    pub fn code_corpus(
        &self,
        corpus: &fieldnotes_corpus::Corpus,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Vec<PassageMatches> {
        use rayon::prelude::*;
        corpus
            .documents
            .par_iter()
            .enumerate()
            .flat_map_iter(|(di, d)| {
                let out: Vec<PassageMatches> = d
                    .passages
                    .iter()
                    .enumerate()
                    .filter_map(|(pi, p)| {
                        let m = self.code_passage(d.passage_text(p), p.start);
                        (!m.is_empty()).then_some(PassageMatches { doc: di, passage: pi, matches: m })
                    })
                    .collect();
                progress(d.passages.len() as u64);
                out
            })
            .collect()
    }

    /// Number of codes in the compiled codebook.
    pub fn n_codes(&self) -> usize {
        self.n_codes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn book() -> Codebook {
        Codebook::parse(
            r#"
[[code]]
id = "time"
description = "t"
[code.rules]
keywords = ["staff turnover", "trust", "took time"]
exclude = ["at the time"]

[[code]]
id = "place"
description = "p"
[code.rules]
keywords = ["Fife"]
regex = ['\bKirk\w+']
stem = false
min_evidence = 2
"#,
        )
        .unwrap()
    }

    #[test]
    fn keywords_stems_boundaries_and_evidence() {
        let ac = AutoCoder::new(&book()).unwrap();
        let text = "Staff  Turnover hit us; trusting them took time. Untrustworthy? At the time, Fife.";
        let m = ac.code_passage(text, 100);
        assert_eq!(m.len(), 2);
        let time = &m[0];
        assert_eq!(time.code, 0);
        assert!(time.suggested);
        let words: Vec<&str> = time.hits.iter().map(|h| h.text.as_str()).collect();
        // "Untrustworthy" is not a word-boundary match; "At the time" is excluded only where it overlaps.
        assert_eq!(words, ["Staff  Turnover", "trusting", "took time"]);
        assert_eq!(time.rules_fired, 3);
        let h = &time.hits[1];
        let chars: Vec<char> = text.chars().collect();
        assert_eq!(chars[h.start - 100..h.end - 100].iter().collect::<String>(), "trusting");
        // Fife alone is one rule: below min_evidence 2.
        let place = &m[1];
        assert_eq!(place.code, 1);
        assert!(!place.suggested);
        let m = ac.code_passage("In Fife, at Kirkcaldy.", 0);
        assert!(m[0].suggested, "{m:?}");
        assert_eq!(m[0].hits[1].rule, "regex:\\bKirk\\w+");
    }

    #[test]
    fn exclusions_cancel_overlapping_hits() {
        let book = Codebook::parse(
            "[[code]]\nid='t'\n[code.rules]\nkeywords=['time']\nexclude=['at the time', 'full-time']\n",
        )
        .unwrap();
        let ac = AutoCoder::new(&book).unwrap();
        let m = ac.code_passage("At the time she worked full-time.", 0);
        assert_eq!(m.len(), 1);
        assert!(!m[0].suggested);
        assert_eq!(m[0].excluded.len(), 2);
        let m = ac.code_passage("At the time, it took time.", 0);
        assert!(m[0].suggested);
        assert_eq!(m[0].hits.len(), 1);
    }

    #[test]
    fn unicode_offsets() {
        let book = Codebook::parse("[[code]]\nid='c'\n[code.rules]\nkeywords=['café']\n").unwrap();
        let ac = AutoCoder::new(&book).unwrap();
        let text = "👩🏽‍💼 Le CAFÉ, ça va.";
        let m = ac.code_passage(text, 5);
        let h = &m[0].hits[0];
        let chars: Vec<char> = text.chars().collect();
        assert_eq!(chars[h.start - 5..h.end - 5].iter().collect::<String>(), "CAFÉ");
    }

    #[test]
    fn word_boundaries_become_ascii() {
        assert_eq!(ascii_word_boundaries(r"\bmonths?\b"), r"(?-u:\b)months?(?-u:\b)");
        assert_eq!(ascii_word_boundaries(r"a\\b\Bc\d"), r"a\\b(?-u:\B)c\d");
    }

    #[test]
    fn catastrophic_regex_is_linear() {
        // (a+)+$ is exponential in backtracking engines; the regex crate is linear-time.
        let book = Codebook::parse("[[code]]\nid='c'\n[code.rules]\nregex=['(a+)+$', '(x|x)*y']\n").unwrap();
        let ac = AutoCoder::new(&book).unwrap();
        let text = format!("{}b {}", "a".repeat(50_000), "x".repeat(50_000));
        // Completes (no blow-up) and finds nothing, since neither pattern can match.
        assert!(ac.code_passage(&text, 0).is_empty());
    }
}
