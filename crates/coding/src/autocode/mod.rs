//! The rule-based auto-coder: every keyword of every code in one Aho-Corasick automaton, every
//! regex compiled once, one pass per passage, and the evidence for each suggestion.
//!
//! Keywords match whole words, case-insensitively: the passage is cut into words (runs of
//! letters and digits), each lower-cased (and, for codes with `stem = true`, reduced to its
//! English stem). Keywords are normalised the same way into sequences of words, so
//! `"staff turnover"` matches "Staff  turnover" and, stemmed, "trusting" matches `"trust"`: a
//! match is a run of whole, consecutive words. Each distinct word of the corpus is lowered and
//! stemmed once per thread (a cache maps it to its ids in the keyword tables).
//!
//! Regexes run only where one of the literal prefixes every match of the regex starts with
//! stands (looked up through the words, or by an automaton for prefixes that may start inside
//! a word), and only in passages whose words hold a piece of each of the regex's clauses (see
//! [`required_clauses`]); the rest of the time they would find nothing.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::RegexBuilder;
use regex_automata::util::iter::Searcher;
use regex_automata::{Anchored, Input, meta};
use rust_stemmers::{Algorithm, Stemmer};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::codebook::Codebook;
use crate::error::{Error, Result};

mod prefilter;
mod words;

use prefilter::*;
use words::*;
pub use words::{ascii_word_boundaries, normalise_phrase};

/// Compiled size limit for each regex (bytes); the `regex` crate runs in linear time regardless.
pub const REGEX_SIZE_LIMIT: usize = 10 << 20;

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

/// A keyword or exclusion of one code, with the index of its rule name.
#[derive(Clone, Copy, Debug)]
struct Target {
    code: usize,
    role: Role,
    rule: u32,
}

/// Bytes of each literal prefix the regex prefilter looks for.
const PREFIX_BYTES: usize = 8;

/// Whether `text` holds the Kelvin sign or the long s, the only characters outside ASCII whose
/// case folds to an ASCII letter: one search for their last bytes (`E2 84 AA`, `C5 BF`) with the
/// `memchr` crate, on the vector unit. The standard library's `contains` of each character was
/// 2% of `code auto`'s instructions on notes with curly quotes.
fn folds_to_ascii(text: &str) -> bool {
    let b = text.as_bytes();
    memchr::memchr2_iter(0xAA, 0xBF, b).any(|i| match b[i] {
        0xAA => i >= 2 && b[i - 2..i] == [0xE2, 0x84],
        _ => i >= 1 && b[i - 1] == 0xC5,
    })
}

/// Most places a regex is tried anchored in one passage; past that, one unanchored pass.
const MAX_ANCHORED_STARTS: usize = 8;

/// Marks a word that is in no keyword.
const NO_WORD: u32 = u32::MAX;

/// Keyword phrases as sequences of word ids, listed under their first word. A passage matches
/// a phrase where its words' ids run in the same sequence: whole, consecutive words.
#[derive(Default)]
struct PhraseTable {
    /// Word (lower-cased, or its stem) to id.
    vocab: FxHashMap<String, u32>,
    /// For each word id, the phrases starting with it (a range of `phrases`).
    by_first: Vec<(u32, u32)>,
    /// Each phrase: the ids of its other words (a range of `rest`) and the targets it serves
    /// (a range of `targets`).
    phrases: Vec<((u32, u32), (u32, u32))>,
    rest: Vec<u32>,
    targets: Vec<Target>,
}

impl PhraseTable {
    /// The table of `phrases` (normalised keywords) and the targets they serve.
    fn new(phrases: &[(String, Target)]) -> PhraseTable {
        let mut table = PhraseTable::default();
        // First word -> [(other words, targets)].
        let mut by_first: Vec<Vec<(Vec<u32>, Vec<Target>)>> = Vec::new();
        for (phrase, target) in phrases {
            let mut ids = Vec::new();
            for w in phrase.split(' ') {
                let next = table.vocab.len() as u32;
                let id = *table.vocab.entry(w.to_string()).or_insert(next);
                if id as usize == by_first.len() {
                    by_first.push(Vec::new());
                }
                ids.push(id);
            }
            let (first, rest) = (ids[0], ids[1..].to_vec());
            let list = &mut by_first[first as usize];
            match list.iter_mut().find(|(r, _)| *r == rest) {
                Some((_, targets)) => targets.push(*target),
                None => list.push((rest, vec![*target])),
            }
        }
        for list in by_first {
            let from = table.phrases.len() as u32;
            for (rest, targets) in list {
                let r = (table.rest.len() as u32, (table.rest.len() + rest.len()) as u32);
                let t = (table.targets.len() as u32, (table.targets.len() + targets.len()) as u32);
                table.rest.extend(rest);
                table.targets.extend(targets);
                table.phrases.push((r, t));
            }
            table.by_first.push((from, table.phrases.len() as u32));
        }
        table
    }

    fn id(&self, word: &str) -> u32 {
        self.vocab.get(word).copied().unwrap_or(NO_WORD)
    }

    fn is_empty(&self) -> bool {
        self.vocab.is_empty()
    }

    /// Whether some phrase starts with the word of id `id`.
    fn starts_phrase(&self, id: u32) -> bool {
        self.by_first.get(id as usize).is_some_and(|&(from, to)| from < to)
    }

    /// Adds the hits of the phrases starting at word `i` (whose id in this table is `first`),
    /// given every word's id in this table (`id_of`).
    fn hits_at(
        &self,
        i: usize,
        first: u32,
        id_of: impl Fn(usize) -> u32,
        n: usize,
        words: &[Word],
        raw: &mut Vec<RawHit>,
    ) {
        let (from, to) = self.by_first[first as usize];
        for &((rs, re), (ts, te)) in &self.phrases[from as usize..to as usize] {
            let rest = &self.rest[rs as usize..re as usize];
            let last = i + rest.len();
            if last < n && rest.iter().enumerate().all(|(j, &r)| id_of(i + 1 + j) == r) {
                let (bs, be) = (words[i].byte_start, words[last].byte_end);
                raw.extend(self.targets[ts as usize..te as usize].iter().map(|t| (t.code, t.role, t.rule, bs, be)));
            }
        }
    }
}

/// A codebook's rules compiled for matching.
pub struct AutoCoder {
    n_codes: usize,
    min_evidence: Vec<usize>,
    /// Keywords of codes without stemming (lower-cased words), and of codes with it (stems).
    exact: PhraseTable,
    stemmed: PhraseTable,
    /// Rule names (`keyword:<phrase>`, `regex:<pattern>`), for evidence.
    rules: Vec<String>,
    /// Each regex: its code, rule name index, compiled form.
    regexes: Vec<(usize, u32, meta::Regex)>,
    prefilter: RegexPrefilter,
    /// Identifies this coder's entries in the per-thread word cache.
    id: u64,
}

thread_local! {
    static CACHE: std::cell::RefCell<WordCache> = std::cell::RefCell::new(WordCache::default());
    static STEMMER: Stemmer = Stemmer::create(Algorithm::English);
}

/// A hit before it becomes evidence: code, role, rule, byte range in the passage.
type RawHit = (usize, Role, u32, usize, usize);

impl AutoCoder {
    /// Compiles the rules of every code. Invalid regexes are an error naming the code.
    pub fn new(codebook: &Codebook) -> Result<AutoCoder> {
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let mut rules: Vec<String> = Vec::new();
        let mut rule_index: FxHashMap<String, u32> = FxHashMap::default();
        let mut rule = |name: String| -> u32 {
            *rule_index.entry(name.clone()).or_insert_with(|| {
                rules.push(name);
                (rules.len() - 1) as u32
            })
        };
        let (mut exact, mut stemmed) = (Vec::new(), Vec::new());
        let mut regexes = Vec::new();
        let mut patterns = Vec::new();
        for (ci, code) in codebook.codes.iter().enumerate() {
            let r = &code.rules;
            for (role, list) in [(Role::Keyword, &r.keywords), (Role::Exclude, &r.exclude)] {
                for k in list {
                    let phrase = normalise_phrase(k, r.stem);
                    if phrase.is_empty() {
                        continue;
                    }
                    let t = Target { code: ci, role, rule: rule(format!("keyword:{phrase}")) };
                    if r.stem { stemmed.push((phrase, t)) } else { exact.push((phrase, t)) }
                }
            }
            for re in &r.regex {
                let pattern = ascii_word_boundaries(re);
                let invalid = |e: &dyn std::fmt::Display| Error::Rules {
                    message: format!("invalid regex in code `{}`:\n{e}", code.id),
                };
                let compiled = meta::Regex::builder()
                    .syntax(regex_automata::util::syntax::Config::new().case_insensitive(true))
                    .configure(meta::Config::new().nfa_size_limit(Some(REGEX_SIZE_LIMIT)))
                    .build(&pattern)
                    .map_err(|e| {
                        // The `regex` crate's error points at the fault: compile it again, only
                        // to say where.
                        match RegexBuilder::new(&pattern).case_insensitive(true).size_limit(REGEX_SIZE_LIMIT).build() {
                            Err(pointed) => invalid(&pointed),
                            Ok(_) => invalid(&e),
                        }
                    })?;
                regexes.push((ci, rule(format!("regex:{re}")), compiled));
                patterns.push(pattern);
            }
        }
        Ok(AutoCoder {
            n_codes: codebook.codes.len(),
            min_evidence: codebook.codes.iter().map(|c| c.rules.min_evidence.max(1)).collect(),
            exact: PhraseTable::new(&exact),
            stemmed: PhraseTable::new(&stemmed),
            rules,
            prefilter: RegexPrefilter::new(&patterns),
            regexes,
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        })
    }

    /// What the coder needs of `word` (found by `key`): looked up in the cache, or worked out
    /// and cached.
    #[inline]
    fn entry(&self, tables: &mut WordTables, key: Key, word: &str) -> WordEntry {
        let found = match key {
            Key::Short(k) => tables.short.get(&k),
            Key::Text => {
                lower_into(word, &mut tables.lower);
                tables.long.get(tables.lower.as_str())
            }
        };
        let entry = match found {
            Some(&entry) => entry,
            None => self.new_entry(tables, key, word),
        };
        tables.remember(key, entry);
        entry
    }

    #[cold]
    fn new_entry(&self, tables: &mut WordTables, key: Key, word: &str) -> WordEntry {
        let mut lower = std::mem::take(&mut tables.lower);
        lower_into(word, &mut lower);
        let stem_id =
            if self.stemmed.is_empty() { NO_WORD } else { STEMMER.with(|st| self.stemmed.id(&st.stem(&lower))) };
        let (gates_from, starts_from) = (tables.gates.len(), tables.starts.len() as u32);
        let n_words = self.prefilter.clause_words;
        tables.gates.resize(gates_from + n_words, 0);
        let gates = if self.prefilter.gates_of(&lower, &mut tables.gates[gates_from..]) {
            gates_from as u32
        } else {
            tables.gates.truncate(gates_from);
            NO_GATES
        };
        // Offsets in a lower-cased non-ASCII word need not be those of the text: such words
        // have their literals placed as they are met.
        if lower.is_ascii() {
            self.prefilter.starts_in(lower.as_bytes(), &mut tables.starts);
        }
        let mask = tables.masks.len();
        if tables.starts.len() > starts_from as usize {
            tables.masks.resize(mask + self.prefilter.ungated.len(), 0);
        }
        for start in &tables.starts[starts_from as usize..] {
            set_bit(&mut tables.masks[mask..], start.regex as usize);
        }
        let extra = WordExtra { gates, starts: (starts_from, tables.starts.len() as u32), mask: mask as u32 };
        let extra = if extra.is_empty() {
            0
        } else {
            tables.extras.push(extra);
            (tables.extras.len() - 1) as u32
        };
        let ids = (self.exact.id(&lower), stem_id);
        let starts_phrase = self.exact.starts_phrase(ids.0) || self.stemmed.starts_phrase(ids.1);
        let entry = WordEntry { ids, starts_phrase, extra };
        match key {
            Key::Short(k) => tables.short.insert(k, entry),
            Key::Text => tables.long.insert(lower.as_str().into(), entry),
        };
        tables.lower = lower;
        entry
    }

    /// The keyword hits of a passage, the regexes its words leave open and where the word
    /// literals of those stand: each word looked up (through the cache) in both phrase tables,
    /// among the regexes' pieces and the literals, then every phrase starting at that word
    /// checked against the words that follow.
    fn scan_words(&self, text: &str, cache: &mut WordCache, raw: &mut Vec<RawHit>) {
        let WordCache { tables, words, bits, word_ids: ids, keyed, satisfied, open, candidates, placed, .. } = cache;
        open.clear();
        open.extend_from_slice(&self.prefilter.ungated);
        satisfied.clear();
        satisfied.resize(self.prefilter.clause_words, 0);
        candidates.clear();
        let p = &self.prefilter;
        if self.exact.is_empty() && self.stemmed.is_empty() && p.pieces.is_empty() && p.word_literals.is_empty() {
            return;
        }
        // Cleared only between passages, so the extras of this one stay valid to the end.
        if tables.short.len() + tables.long.len() >= MAX_CACHED_WORDS {
            tables.clear(self.prefilter.clause_words);
        }
        let bytes = text.as_bytes();
        if !ascii_words_of(bytes, words, bits) {
            words_of(text, words);
        }
        ids.clear();
        ids.reserve(words.len());
        // The words starting a phrase and those with word literals, written at every word and
        // kept by moving on past them only where they count: no branch to mispredict on a third
        // or half of the words.
        keyed.clear();
        keyed.resize(words.len(), 0);
        placed.clear();
        placed.resize(words.len(), (0, 0));
        let (mut n_keyed, mut n_placed) = (0, 0);
        let n_gates = satisfied.len();
        for (wi, w) in words.iter().enumerate() {
            let len = w.byte_end - w.byte_start;
            let key = Key::of(bytes, w.byte_start, len, w.ascii);
            let entry = match tables.recent_entry(key) {
                Some(entry) => entry,
                None => self.entry(tables, key, &text[w.byte_start..w.byte_end]),
            };
            keyed[n_keyed] = wi as u32;
            n_keyed += usize::from(entry.starts_phrase);
            ids.push(entry.ids);
            // Extra 0 (most words) has the row of no clauses and no literals.
            let x = tables.extras[entry.extra as usize];
            let gates = &tables.gates[x.gates as usize..x.gates as usize + n_gates];
            for (s, g) in satisfied.iter_mut().zip(gates) {
                *s |= g;
            }
            placed[n_placed] = (w.byte_start, entry.extra);
            n_placed += usize::from(x.has_starts());
            if !w.ascii && !p.word_literals.is_empty() {
                // Word literals start where a run of ASCII letters and digits starts inside the
                // word (after an accented letter or a curly apostrophe, as `\b` sees it).
                placed.truncate(n_placed);
                let mut at = w.byte_start;
                while at < w.byte_end {
                    if !bytes[at].is_ascii_alphanumeric() {
                        at += 1;
                        continue;
                    }
                    let run = alnum_run_end(&bytes[..w.byte_end], at) - at;
                    let e = self.entry(tables, Key::of(bytes, at, run, true), &text[at..at + run]);
                    if tables.extras[e.extra as usize].has_starts() {
                        placed.push((at, e.extra));
                    }
                    at += run;
                }
                n_placed = placed.len();
                placed.resize(n_placed + words.len() - wi, (0, 0));
            }
        }
        keyed.truncate(n_keyed);
        placed.truncate(n_placed);
        p.open_regexes(satisfied, open);
        // The word literals of the regexes left open, where they stand.
        for &(at, extra) in placed.iter() {
            let x = tables.extras[extra as usize];
            let mask = &tables.masks[x.mask as usize..x.mask as usize + open.len()];
            if mask.iter().zip(open.iter()).all(|(m, o)| m & o == 0) {
                continue;
            }
            for &start in &tables.starts[x.starts.0 as usize..x.starts.1 as usize] {
                p.place(start, open, bytes, at + start.offset as usize, candidates);
            }
        }
        if self.exact.is_empty() && self.stemmed.is_empty() {
            return;
        }
        for &i in keyed.iter() {
            let i = i as usize;
            let (exact, stemmed) = ids[i];
            if exact != NO_WORD {
                self.exact.hits_at(i, exact, |k| ids[k].0, ids.len(), words, raw);
            }
            if stemmed != NO_WORD {
                self.stemmed.hits_at(i, stemmed, |k| ids[k].1, ids.len(), words, raw);
            }
        }
    }

    /// Matches one passage. `text` is the passage text and `char_start` its code-point offset in
    /// the document, so evidence offsets are document offsets. Returns one entry per code that
    /// had any hit (suggested or not), in codebook order.
    pub fn code_passage(&self, text: &str, char_start: usize) -> Vec<CodeMatch> {
        CACHE.with(|c| {
            let mut cache = c.borrow_mut();
            if cache.owner != Some(self.id) {
                cache.tables.clear(self.prefilter.clause_words);
                cache.regex_caches = self.regexes.iter().map(|r| r.2.create_cache()).collect();
                cache.owner = Some(self.id);
            }
            let mut raw = std::mem::take(&mut cache.raw);
            self.scan_words(text, &mut cache, &mut raw);
            if !self.regexes.is_empty() {
                self.scan_regexes(text, &mut cache, &mut raw);
            }
            let out = self.evidence(text, char_start, &mut raw, &mut cache.char_at);
            raw.clear();
            cache.char_at.clear();
            cache.raw = raw;
            out
        })
    }

    /// The regex hits of a passage, added to `raw`.
    fn scan_regexes(&self, text: &str, cache: &mut WordCache, raw: &mut Vec<RawHit>) {
        let WordCache { candidates, regex_caches: caches, open, .. } = cache;
        // A character whose case folds to ASCII (the Kelvin sign, the long s) is not seen by
        // the word lookups or the automaton: then every regex runs over the whole passage.
        if text.is_ascii() || !folds_to_ascii(text) {
            self.prefilter.candidates(text, candidates);
            // Each regex the words leave open tried only where one of its prefixes stands,
            // anchored there.
            for starts in candidates.chunk_by(|a, b| a.0 == b.0) {
                let r = starts[0].0 as usize;
                if !has_bit(open, r) {
                    continue;
                }
                // An anchored search can run to the end of the passage: past a few starts,
                // one unanchored pass from the first keeps the work linear.
                let c = &mut caches[r];
                match starts[0].1 {
                    usize::MAX => self.regex_hits(r, c, text, 0, raw),
                    first if starts.len() > MAX_ANCHORED_STARTS => self.regex_hits(r, c, text, first, raw),
                    _ => self.anchored_regex_hits(r, c, text, starts.iter().map(|c| c.1), raw),
                }
            }
        } else {
            for (i, c) in caches.iter_mut().enumerate() {
                self.regex_hits(i, c, text, 0, raw);
            }
        }
    }

    /// The hits of a passage (`raw`, in any order) as evidence per code; `char_at` is scratch.
    fn evidence(
        &self,
        text: &str,
        char_start: usize,
        raw: &mut [RawHit],
        char_at: &mut Vec<(usize, usize)>,
    ) -> Vec<CodeMatch> {
        if raw.is_empty() {
            return Vec::new();
        }
        raw.sort_by_key(|a| (a.0, a.3, a.4));
        // Byte offset -> code-point offset: the same in ASCII text (most passages), otherwise
        // found walking once through the passage.
        let ascii = text.is_ascii();
        if !ascii {
            char_at.extend(raw.iter().flat_map(|r| [(r.3, 0), (r.4, 0)]));
            char_at.sort_unstable();
            char_at.dedup();
            let (mut cp, mut last) = (0usize, 0usize);
            for (b, c) in char_at.iter_mut() {
                cp += text[last..*b].chars().count();
                last = *b;
                *c = cp;
            }
        }
        let char_at = |b: usize| if ascii { b } else { char_at[char_at.partition_point(|&(x, _)| x < b)].1 };
        let mut out: Vec<CodeMatch> = Vec::with_capacity(raw.chunk_by(|a, b| a.0 == b.0).count());
        let mut fired: Vec<u32> = Vec::new();
        for group in raw.chunk_by(|a, b| a.0 == b.0) {
            let code = group[0].0;
            let mut hits = Vec::with_capacity(group.len());
            let mut excluded = Vec::new();
            fired.clear();
            for r in group.iter().filter(|r| r.1 == Role::Keyword) {
                let hit = Hit {
                    rule: self.rules[r.2 as usize].clone(),
                    text: text[r.3..r.4].to_string(),
                    start: char_start + char_at(r.3),
                    end: char_start + char_at(r.4),
                };
                if group.iter().any(|x| x.1 == Role::Exclude && x.3 < r.4 && r.3 < x.4) {
                    excluded.push(hit);
                } else {
                    if !fired.contains(&r.2) {
                        fired.push(r.2);
                    }
                    hits.push(hit);
                }
            }
            if !hits.is_empty() || !excluded.is_empty() {
                out.push(CodeMatch {
                    code,
                    hits,
                    excluded,
                    rules_fired: fired.len(),
                    suggested: fired.len() >= self.min_evidence[code],
                });
            }
        }
        out
    }

    /// Every match of regex `i` in `text` from byte `from`, leftmost first, not overlapping.
    fn regex_hits(&self, i: usize, cache: &mut meta::Cache, text: &str, from: usize, raw: &mut Vec<RawHit>) {
        let (code, rule, re) = &self.regexes[i];
        let mut searcher = Searcher::new(Input::new(text).range(from..));
        while let Some(m) = searcher.advance(|input| Ok(re.search_with(cache, input))) {
            if m.start() < m.end() {
                raw.push((*code, Role::Keyword, *rule, m.start(), m.end()));
            }
        }
    }

    /// The same matches as [`Self::regex_hits`] when every match starts at one of `starts`
    /// (ascending): an anchored search at each start past the last match.
    fn anchored_regex_hits(
        &self,
        i: usize,
        cache: &mut meta::Cache,
        text: &str,
        starts: impl Iterator<Item = usize>,
        raw: &mut Vec<RawHit>,
    ) {
        let (code, rule, re) = &self.regexes[i];
        let mut free_from = 0;
        for at in starts {
            if at < free_from {
                continue;
            }
            let input = Input::new(text).range(at..).anchored(Anchored::Yes);
            if let Some(m) = re.search_with(cache, &input)
                && m.start() < m.end()
            {
                raw.push((*code, Role::Keyword, *rule, m.start(), m.end()));
                free_from = m.end();
            }
        }
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

    /// The regex hits (kept or excluded) of a passage, as (rule, char start, char end).
    fn regex_evidence(ac: &AutoCoder, text: &str) -> Vec<(String, usize, usize)> {
        let mut got: Vec<(String, usize, usize)> = ac
            .code_passage(text, 0)
            .into_iter()
            .flat_map(|m| m.hits.into_iter().chain(m.excluded))
            .filter(|h| h.rule.starts_with("regex:"))
            .map(|h| (h.rule, h.start, h.end))
            .collect();
        got.sort();
        got.dedup();
        got
    }

    /// A codebook's auto-coder, and each of its regexes compiled by the `regex` crate on its
    /// own: the reference, run over the whole text.
    struct Checked {
        ac: AutoCoder,
        reference: Vec<(String, regex::Regex)>,
    }

    fn checked(toml: &str) -> Checked {
        let book = Codebook::parse(toml).unwrap();
        let reference = book
            .codes
            .iter()
            .flat_map(|c| c.rules.regex.iter())
            .map(|re| {
                let r = RegexBuilder::new(&ascii_word_boundaries(re)).case_insensitive(true).build().unwrap();
                (format!("regex:{re}"), r)
            })
            .collect();
        Checked { ac: AutoCoder::new(&book).unwrap(), reference }
    }

    /// The default codebook.
    fn wws() -> &'static Checked {
        static WWS: std::sync::OnceLock<Checked> = std::sync::OnceLock::new();
        WWS.get_or_init(|| checked(include_str!("../../../../data/codebooks/wws-considerations.toml")))
    }

    /// Regexes that start at word boundaries and regexes that do not, sharing literals.
    fn mixed() -> &'static Checked {
        static MIXED: std::sync::OnceLock<Checked> = std::sync::OnceLock::new();
        MIXED.get_or_init(|| {
            checked(
                r#"[[code]]
id = "a"
[code.rules]
regex = ['\btook\w*', 'took', '(?:^|\s)time', '\b(?:a|one) (?:month|year)s?\b', '\b_?own\b', '\Bown']
[[code]]
id = "b"
[code.rules]
regex = ['\b(?:took|time)\b|\btim', '\b[0-9]+ months', 'ti(?:me)?\b', '\b(?:own|tak)(?:e|s)?', '\b(?:for|with) (?:a )?(?:tea|took)\b', '(?:a|on)e (?:month|time)\b']
[[code]]
id = "c"
[code.rules]
regex = ['\b(?:months?|years?) (?:in|on)[,.;]', 'stea\x{212A}', '\bwith (?:\w+ )?(?:teas?|steam)s?\b', '(?:own|took)_?\w*s\b']
"#,
            )
        })
    }

    fn regex_reference(c: &Checked, text: &str) -> Vec<(String, usize, usize)> {
        let mut want = Vec::new();
        for (rule, r) in &c.reference {
            for m in r.find_iter(text).filter(|m| m.start() < m.end()) {
                let (s, e) = (text[..m.start()].chars().count(), text[..m.end()].chars().count());
                want.push((rule.clone(), s, e));
            }
        }
        want.sort();
        want.dedup();
        want
    }

    fn clause_texts(pattern: &str) -> Vec<String> {
        let hir = regex_syntax::ParserBuilder::new().build().parse(&ascii_word_boundaries(pattern)).unwrap();
        let edge = |b: bool, s: &'static str| if b { s } else { "" };
        required_clauses(&hir)
            .iter()
            .map(|c| {
                let pieces = c.iter().map(|p| {
                    format!(
                        "{}{}{}",
                        edge(p.starts_word, "<"),
                        String::from_utf8_lossy(&p.bytes),
                        edge(p.ends_word, ">")
                    )
                });
                pieces.collect::<Vec<_>>().join("|")
            })
            .collect()
    }

    #[test]
    fn regex_clauses_hold_whole_words_where_the_pattern_says_so() {
        // "tea" must be a whole word: "team" does not open the regex; "for" and "with" are
        // whole words too; the optional "a" adds nothing.
        let clauses = clause_texts(r"\b(?:for|with) (?:a )?(?:coffee|tea)\b");
        assert_eq!(clauses, ["<coffee>|<tea>", "<for>|<with>"]);
        let tea = Piece { bytes: b"tea".as_slice().into(), starts_word: true, ends_word: true };
        assert!(tea.in_word(b"tea") && tea.in_word(b"tea's") && !tea.in_word(b"team") && !tea.in_word(b"steam"));
        // In a non-ASCII word the bounds are not checked (lower-casing may make ASCII letters).
        assert!(tea.in_word("teai\u{307}".as_bytes()));
        // A suffix after a word character, a prefix before `\w*`; short pieces are dropped.
        assert_eq!(clause_texts(r"\b(?:re)?build(?:ing|s)?\w*"), ["build"]);
        assert_eq!(clause_texts(r"\bforward(?:ed|ing)\b"), ["<forward"]);
        // A non-ASCII byte bounds nothing: the Kelvin sign matches `k` when case is ignored.
        assert_eq!(clause_texts("\\bsteam\u{212A}"), ["<steam"]);
        // A class of punctuation bounds the word before it; one with letters does not.
        assert_eq!(clause_texts(r"\bmonths [a-z]\w+ (?:later|after)[,.;]"), ["<after>|<later>", "<months>"]);
    }

    #[test]
    fn prefiltered_regexes_find_what_full_scans_find_on_the_sample() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/sample/notes");
        let mut paragraphs = 0;
        for site in std::fs::read_dir(dir).unwrap() {
            for note in std::fs::read_dir(site.unwrap().path()).unwrap() {
                let text = std::fs::read_to_string(note.unwrap().path()).unwrap();
                for para in text.split("\n\n") {
                    assert_eq!(regex_evidence(&wws().ac, para), regex_reference(wws(), para), "{para}");
                    paragraphs += 1;
                }
            }
        }
        assert!(paragraphs > 500);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]
        #[test]
        fn prefiltered_regexes_find_what_full_scans_find(
            words in proptest::collection::vec(proptest::sample::select(vec![
                "We", "we", "our", "OWN", "role", "took", "TAKES", "months", "time", "saved", "save", "work",
                "his", "own", "family", "father’s", "father's", "informally", "Informal", "accountable",
                "responsibility", "what's", "in", "it", "for", "honestly", "said", "that", "I", "did", "not",
                "know", "more", "than", "\u{212A}now", "caf\u{e9}", "—", ",", ".", "  ", "\n",
            ]), 0..40)
        ) {
            let text = words.join(" ");
            proptest::prop_assert_eq!(regex_evidence(&wws().ac, &text), regex_reference(wws(), &text));
        }

        #[test]
        fn folding_characters_are_found_as_contains_finds_them(text in "(\u{212A}|\u{017F}|\u{2019}|ª|¿|Å|a|K| ){0,12}") {
            proptest::prop_assert_eq!(folds_to_ascii(&text), text.contains('\u{212A}') || text.contains('\u{017F}'));
        }

        #[test]
        fn words_are_runs_of_letters_and_digits(text in "[a-zA-Z0-9 ,.'’é\u{301}—_-]{0,40}") {
            // Reference: character by character.
            let chars: Vec<(usize, char)> = text.char_indices().collect();
            let mut want = Vec::new();
            let mut start = None;
            for (k, &(i, c)) in chars.iter().enumerate() {
                let next_is_word = chars.get(k + 1).is_some_and(|&(_, n)| n.is_alphanumeric());
                match (c.is_alphanumeric(), start) {
                    (true, None) => start = Some(i),
                    (false, Some(s)) if !((c == '\'' || c == '’') && next_is_word) => {
                        want.push((s, i));
                        start = None;
                    }
                    _ => {}
                }
            }
            if let Some(s) = start {
                want.push((s, text.len()));
            }
            let mut got = Vec::new();
            words_of(&text, &mut got);
            let got: Vec<(usize, usize)> = got.iter().map(|w| (w.byte_start, w.byte_end)).collect();
            proptest::prop_assert_eq!(got, want);
        }

        #[test]
        fn ascii_bitmaps_cut_words_as_the_scanner_does(text in "[a-zA-Z0-9 ,.'_\n-]{0,200}", pad in 0usize..70) {
            let text = format!("{}{text}", "x".repeat(pad));
            let (mut want, mut got, mut bits) = (Vec::new(), Vec::new(), Vec::new());
            words_of(&text, &mut want);
            proptest::prop_assert!(ascii_words_of(text.as_bytes(), &mut got, &mut bits));
            let span = |w: &Vec<Word>| w.iter().map(|w| (w.byte_start, w.byte_end, w.ascii)).collect::<Vec<_>>();
            proptest::prop_assert_eq!(span(&got), span(&want));
            let accented = format!("{text}é");
            proptest::prop_assert!(!ascii_words_of(accented.as_bytes(), &mut got, &mut bits));
        }

        #[test]
        fn word_start_prefixes_find_what_full_scans_find(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "took", "TOOK", "retook", "_took", "took_", "9took", "tooken", "time", "Tim", "tim", "a", "A",
                "one", "month", "years", "own", "OWN", "_own", "crown", "owner", "take", "takes", "12",
                "\u{212A}", "caf\u{e9}", "\u{e9}", "\u{130}", "—", "’", "'", ",", ".", " ", " ", "  ", "\n", "_",
                "for", "with", "tea", "instead", "steam", "team", "teas", "TEA", "tea's", "months", "in", "on", "ownings",
                "st", "ea", "k", "K", ";",
            ]), 0..40)
        ) {
            let text = pieces.concat();
            proptest::prop_assert_eq!(regex_evidence(&mixed().ac, &text), regex_reference(mixed(), &text));
        }
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
