//! The rule-based auto-coder: every keyword of every code in one Aho-Corasick automaton, every
//! regex in one `RegexSet`, one pass per passage, and the evidence for each suggestion.
//!
//! Keywords match whole words, case-insensitively: the passage is cut into words (runs of
//! letters and digits), each lower-cased (and, for codes with `stem = true`, reduced to its
//! English stem). Keywords are normalised the same way into sequences of words, so
//! `"staff turnover"` matches "Staff  turnover" and, stemmed, "trusting" matches `"trust"`: a
//! match is a run of whole, consecutive words. Each distinct word of the corpus is lowered and
//! stemmed once per thread (a cache maps it to its ids in the keyword tables).
//!
//! Regexes run only on passages holding one of the literal prefixes every match of the regex
//! starts with (one more automaton over all those prefixes); the rest of the time they would
//! find nothing.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use regex::{RegexBuilder, RegexSet, RegexSetBuilder};
use regex_automata::util::iter::Searcher;
use regex_automata::{Anchored, Input, meta};
use rust_stemmers::{Algorithm, Stemmer};
use rustc_hash::FxHashMap;
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

/// A keyword or exclusion of one code, with the index of its rule name.
#[derive(Clone, Copy, Debug)]
struct Target {
    code: usize,
    role: Role,
    rule: u32,
}

/// Bytes of each literal prefix the regex prefilter looks for.
const PREFIX_BYTES: usize = 8;

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
    /// For each word id, the phrases starting with it: the ids of their other words, and the
    /// targets they serve.
    by_first: Vec<Vec<(Vec<u32>, Vec<Target>)>>,
}

impl PhraseTable {
    fn add(&mut self, phrase: &str, target: Target) {
        let mut ids = Vec::new();
        for w in phrase.split(' ') {
            let next = self.vocab.len() as u32;
            let id = *self.vocab.entry(w.to_string()).or_insert(next);
            if id as usize == self.by_first.len() {
                self.by_first.push(Vec::new());
            }
            ids.push(id);
        }
        let (first, rest) = (ids[0], ids[1..].to_vec());
        let list = &mut self.by_first[first as usize];
        match list.iter_mut().find(|(r, _)| *r == rest) {
            Some((_, targets)) => targets.push(target),
            None => list.push((rest, vec![target])),
        }
    }

    fn id(&self, word: &str) -> u32 {
        self.vocab.get(word).copied().unwrap_or(NO_WORD)
    }

    fn is_empty(&self) -> bool {
        self.vocab.is_empty()
    }
}

/// Regexes that need not run on a passage: an Aho-Corasick automaton over the literal
/// prefixes every match of a regex must start with (ASCII case-insensitively); a regex runs only
/// where one of its prefixes occurs, and where every match of the regex also starts at a word
/// boundary (`\bthe|\bthat`, as codebook regexes do), only where the prefix starts a word.
/// Regexes without such prefixes always run.
struct RegexPrefilter {
    literals: Option<AhoCorasick>,
    /// For each literal, the regexes it stands for, and whether it counts only at word starts.
    regexes_of: Vec<(Vec<u32>, bool)>,
    always: Vec<u32>,
}

/// Bytes of ASCII word characters (`[0-9A-Za-z_]`, what `(?-u:\b)` sees as a word).
const ASCII_WORD: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b as u8).is_ascii_alphanumeric() || b == b'_' as usize;
        b += 1;
    }
    t
};

/// Whether every match of `hir` starts at a word boundary.
fn starts_at_word_boundary(hir: &regex_syntax::hir::Hir) -> bool {
    use regex_syntax::hir::{HirKind, Look};
    match hir.kind() {
        HirKind::Look(Look::WordAscii | Look::WordUnicode) => true,
        HirKind::Concat(items) => items.first().is_some_and(starts_at_word_boundary),
        HirKind::Alternation(items) => items.iter().all(starts_at_word_boundary),
        HirKind::Capture(c) => starts_at_word_boundary(&c.sub),
        _ => false,
    }
}

impl RegexPrefilter {
    fn new(patterns: &[String]) -> RegexPrefilter {
        use regex_syntax::hir::literal::{ExtractKind, Extractor};
        let mut lits: Vec<Vec<u8>> = Vec::new();
        let mut regexes_of: Vec<(Vec<u32>, bool)> = Vec::new();
        // (literal, at word starts only) -> literal index.
        let mut index: FxHashMap<(Vec<u8>, bool), usize> = FxHashMap::default();
        let mut always = Vec::new();
        for (ri, pattern) in patterns.iter().enumerate() {
            let parsed = regex_syntax::ParserBuilder::new().build().parse(pattern).ok().and_then(|hir| {
                let seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
                let lits = seq.literals()?;
                // An empty prefix means a match can start anywhere; a non-ASCII one would need
                // Unicode case folding, which the automaton does not do.
                if lits.is_empty() || !lits.iter().all(|l| !l.as_bytes().is_empty() && l.as_bytes().is_ascii()) {
                    return None;
                }
                // The first bytes of each are enough to rule a place out: shorter literals make
                // a smaller automaton (a codebook's alternations multiply into thousands of long
                // ones), and one that begins with another adds nothing.
                let mut lits: Vec<Vec<u8>> = lits
                    .iter()
                    .map(|l| l.as_bytes()[..l.as_bytes().len().min(PREFIX_BYTES)].to_ascii_lowercase())
                    .collect();
                lits.sort_unstable();
                lits.dedup();
                let mut kept: Vec<Vec<u8>> = Vec::with_capacity(lits.len());
                for l in lits {
                    if !kept.iter().any(|k| l.starts_with(k)) {
                        kept.push(l);
                    }
                }
                // At a boundary before a word character, a match starts a word.
                let at_word_starts =
                    starts_at_word_boundary(&hir) && kept.iter().all(|l| ASCII_WORD[usize::from(l[0])]);
                Some((kept, at_word_starts))
            });
            let Some((prefixes, at_word_starts)) = parsed else {
                always.push(ri as u32);
                continue;
            };
            for l in prefixes {
                let i = *index.entry((l.clone(), at_word_starts)).or_insert_with(|| {
                    lits.push(l);
                    regexes_of.push((Vec::new(), at_word_starts));
                    lits.len() - 1
                });
                if !regexes_of[i].0.contains(&(ri as u32)) {
                    regexes_of[i].0.push(ri as u32);
                }
            }
        }
        let literals = (!lits.is_empty())
            .then(|| {
                AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(&lits)
                    .ok()
            })
            .flatten();
        if literals.is_none() {
            // Without the automaton every regex runs.
            always = (0..patterns.len() as u32).collect();
        }
        RegexPrefilter { literals, regexes_of, always }
    }

    /// Where the regexes may match in `text`: (regex, byte offset of one of its prefixes),
    /// sorted, and the regexes without prefixes as (regex, `usize::MAX`). `false` when the text
    /// holds a character whose case folds to ASCII (the Kelvin sign, the long s), which the
    /// automaton would not see: then every regex must run.
    fn candidates(&self, text: &str, out: &mut Vec<(u32, usize)>) -> bool {
        out.clear();
        if text.contains(['\u{212A}', '\u{017F}']) {
            return false;
        }
        out.extend(self.always.iter().map(|&r| (r, usize::MAX)));
        if let Some(ac) = &self.literals {
            let bytes = text.as_bytes();
            for m in ac.find_overlapping_iter(text) {
                let (regexes, at_word_starts) = &self.regexes_of[m.pattern().as_usize()];
                if *at_word_starts && m.start() > 0 && ASCII_WORD[usize::from(bytes[m.start() - 1])] {
                    continue;
                }
                out.extend(regexes.iter().map(|&r| (r, m.start())));
            }
        }
        out.sort_unstable();
        out.dedup();
        true
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
    set: RegexSet,
    /// Each regex: its code, rule name index, compiled form.
    regexes: Vec<(usize, u32, meta::Regex)>,
    prefilter: RegexPrefilter,
    /// Identifies this coder's entries in the per-thread word cache.
    id: u64,
}

/// A word of a passage: its byte range in the passage.
struct Word {
    byte_start: usize,
    byte_end: usize,
}

/// Whether the character at byte `i` is a letter or digit, and its length; `None` at the end.
fn is_word_char(text: &str, i: usize) -> Option<(bool, usize)> {
    let b = *text.as_bytes().get(i)?;
    if b < 0x80 {
        return Some((b.is_ascii_alphanumeric(), 1));
    }
    let c = text[i..].chars().next()?;
    Some((c.is_alphanumeric(), c.len_utf8()))
}

/// The words of `text`: runs of letters and digits, with apostrophes (straight or curly)
/// inside words kept ("CPP's", "don't").
fn words_of(text: &str, out: &mut Vec<Word>) {
    out.clear();
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut i = 0;
    'words: while i < n {
        // Up to the next letter or digit.
        loop {
            if i >= n {
                break 'words;
            }
            if bytes[i] < 0x80 {
                if bytes[i].is_ascii_alphanumeric() {
                    break;
                }
                i += 1;
            } else {
                match is_word_char(text, i) {
                    Some((true, _)) => break,
                    Some((false, len)) => i += len,
                    None => break 'words,
                }
            }
        }
        let start = i;
        loop {
            while i < n && bytes[i].is_ascii_alphanumeric() {
                i += 1;
            }
            if i >= n {
                break;
            }
            let (word, len) = is_word_char(text, i).unwrap_or((false, 1));
            if word {
                i += len;
                continue;
            }
            let apostrophe = bytes[i] == b'\'' || text[i..].starts_with('’');
            if apostrophe && is_word_char(text, i + len).is_some_and(|(w, _)| w) {
                i += len;
                continue;
            }
            break;
        }
        out.push(Word { byte_start: start, byte_end: i });
    }
}

/// An ASCII word of up to 15 bytes, lower-cased, packed with its length into one integer: a
/// hash key compared without a call to `memcmp`. `None` for other words.
fn pack_ascii_lower(word: &[u8]) -> Option<u128> {
    if word.len() > 15 || !word.is_ascii() {
        return None;
    }
    let mut buf = [0u8; 16];
    buf[..word.len()].copy_from_slice(word);
    buf.make_ascii_lowercase();
    buf[15] = word.len() as u8;
    Some(u128::from_le_bytes(buf))
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

/// Words joined by single spaces: each lower-cased, and stemmed with `stemmer`.
fn normalise(text: &str, stemmer: Option<&Stemmer>) -> String {
    let mut words = Vec::new();
    words_of(text, &mut words);
    let mut out = String::new();
    let mut lw = String::new();
    for w in &words {
        lower_into(&text[w.byte_start..w.byte_end], &mut lw);
        if !out.is_empty() {
            out.push(' ');
        }
        match stemmer {
            Some(st) => out.push_str(&st.stem(&lw)),
            None => out.push_str(&lw),
        }
    }
    out
}

/// Normalises a keyword as passages are: lower-cased words joined by single spaces, stemmed or not.
pub fn normalise_phrase(phrase: &str, stem: bool) -> String {
    let stemmer = Stemmer::create(Algorithm::English);
    normalise(phrase, stem.then_some(&stemmer))
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

/// Per-thread cache of each word's ids in the keyword tables: fieldnotes reuse a small
/// vocabulary, and stemming a word costs more than a hash lookup.
struct WordCache {
    /// The coder the entries belong to.
    owner: u64,
    /// ASCII words of up to 15 bytes, lower-cased and packed into an integer (most words).
    short: FxHashMap<u128, (u32, u32)>,
    /// Other words, lower-cased.
    ids: FxHashMap<Box<str>, (u32, u32)>,
    words: Vec<Word>,
    /// Each word's ids, in the plain and the stemmed table.
    word_ids: Vec<(u32, u32)>,
    lower: String,
    candidates: Vec<(u32, usize)>,
    /// One search cache per regex of the owner (the regex's own pool is slower across threads).
    regex_caches: Vec<meta::Cache>,
}

/// Entries kept before the cache starts over (bounded memory on odd corpora).
const MAX_CACHED_WORDS: usize = 200_000;

thread_local! {
    static CACHE: std::cell::RefCell<WordCache> = std::cell::RefCell::new(WordCache {
        owner: u64::MAX,
        short: FxHashMap::default(),
        ids: FxHashMap::default(),
        words: Vec::new(),
        word_ids: Vec::new(),
        lower: String::new(),
        candidates: Vec::new(),
        regex_caches: Vec::new(),
    });
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
        let (mut exact, mut stemmed) = (PhraseTable::default(), PhraseTable::default());
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
                    if r.stem { stemmed.add(&phrase, t) } else { exact.add(&phrase, t) }
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
        let set = RegexSetBuilder::new(&patterns)
            .case_insensitive(true)
            .size_limit(REGEX_SIZE_LIMIT * 4)
            .dfa_size_limit(REGEX_DFA_CACHE)
            .build()
            .map_err(|e| Error::Rules { message: format!("cannot combine the regexes: {e}") })?;
        Ok(AutoCoder {
            n_codes: codebook.codes.len(),
            min_evidence: codebook.codes.iter().map(|c| c.rules.min_evidence.max(1)).collect(),
            exact,
            stemmed,
            rules,
            set,
            prefilter: RegexPrefilter::new(&patterns),
            regexes,
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        })
    }

    /// The keyword hits of a passage: each word looked up (through the cache) in both phrase
    /// tables, then every phrase starting at that word checked against the words that follow.
    fn keyword_hits(&self, text: &str, cache: &mut WordCache, raw: &mut Vec<RawHit>) {
        if self.exact.is_empty() && self.stemmed.is_empty() {
            return;
        }
        let WordCache { short, ids: cached, words, word_ids: ids, lower, .. } = cache;
        words_of(text, words);
        let lookup = |lower: &str| -> (u32, u32) {
            let stem_id =
                if self.stemmed.is_empty() { NO_WORD } else { STEMMER.with(|st| self.stemmed.id(&st.stem(lower))) };
            (self.exact.id(lower), stem_id)
        };
        ids.clear();
        for w in words.iter() {
            let word = &text[w.byte_start..w.byte_end];
            let id = if let Some(key) = pack_ascii_lower(word.as_bytes()) {
                match short.get(&key) {
                    Some(&id) => id,
                    None => {
                        lower_into(word, lower);
                        let id = lookup(lower);
                        if short.len() >= MAX_CACHED_WORDS {
                            short.clear();
                        }
                        short.insert(key, id);
                        id
                    }
                }
            } else {
                lower_into(word, lower);
                match cached.get(lower.as_str()) {
                    Some(&id) => id,
                    None => {
                        let id = lookup(lower);
                        if cached.len() >= MAX_CACHED_WORDS {
                            cached.clear();
                        }
                        cached.insert(lower.as_str().into(), id);
                        id
                    }
                }
            };
            ids.push(id);
        }
        for i in 0..ids.len() {
            for (table, pick) in [(&self.exact, 0usize), (&self.stemmed, 1usize)] {
                let get = |k: usize| if pick == 0 { ids[k].0 } else { ids[k].1 };
                let first = get(i);
                if first == NO_WORD {
                    continue;
                }
                for (rest, targets) in &table.by_first[first as usize] {
                    let last = i + rest.len();
                    if last < ids.len() && rest.iter().enumerate().all(|(j, &r)| get(i + 1 + j) == r) {
                        let (bs, be) = (words[i].byte_start, words[last].byte_end);
                        raw.extend(targets.iter().map(|t| (t.code, t.role, t.rule, bs, be)));
                    }
                }
            }
        }
    }

    /// Matches one passage. `text` is the passage text and `char_start` its code-point offset in
    /// the document, so evidence offsets are document offsets. Returns one entry per code that
    /// had any hit (suggested or not), in codebook order.
    pub fn code_passage(&self, text: &str, char_start: usize) -> Vec<CodeMatch> {
        let mut raw: Vec<RawHit> = Vec::new();
        CACHE.with(|c| {
            let mut cache = c.borrow_mut();
            if cache.owner != self.id {
                cache.short.clear();
                cache.ids.clear();
                cache.regex_caches = self.regexes.iter().map(|r| r.2.create_cache()).collect();
                cache.owner = self.id;
            }
            self.keyword_hits(text, &mut cache, &mut raw);
            if self.regexes.is_empty() {
                return;
            }
            let WordCache { candidates, regex_caches: caches, .. } = &mut *cache;
            if self.prefilter.candidates(text, candidates) {
                // Each regex tried only where one of its prefixes stands, anchored there.
                let mut i = 0;
                while i < candidates.len() {
                    let r = candidates[i].0;
                    let mut j = i;
                    while j < candidates.len() && candidates[j].0 == r {
                        j += 1;
                    }
                    // An anchored search can run to the end of the passage: past a few starts,
                    // one unanchored pass from the first keeps the work linear.
                    let (r, c) = (r as usize, &mut caches[r as usize]);
                    match candidates[i].1 {
                        usize::MAX => self.regex_hits(r, c, text, 0, &mut raw),
                        first if j - i > MAX_ANCHORED_STARTS => self.regex_hits(r, c, text, first, &mut raw),
                        _ => self.anchored_regex_hits(r, c, text, candidates[i..j].iter().map(|c| c.1), &mut raw),
                    }
                    i = j;
                }
            } else {
                for i in self.set.matches(text).iter() {
                    self.regex_hits(i, &mut caches[i], text, 0, &mut raw);
                }
            }
        });
        if raw.is_empty() {
            return Vec::new();
        }
        raw.sort_by_key(|a| (a.0, a.3, a.4));
        // Byte offset -> code-point offset, walking once through the passage.
        let mut cuts: Vec<usize> = raw.iter().flat_map(|r| [r.3, r.4]).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut char_at = FxHashMap::default();
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
            let mut fired: Vec<u32> = Vec::new();
            for r in group.iter().filter(|r| r.1 == Role::Keyword) {
                let hit = Hit {
                    rule: self.rules[r.2 as usize].clone(),
                    text: text[r.3..r.4].to_string(),
                    start: char_start + char_at[&r.3],
                    end: char_start + char_at[&r.4],
                };
                if excl.iter().any(|&(s, e)| s < r.4 && r.3 < e) {
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
            i = j;
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
        WWS.get_or_init(|| checked(include_str!("../../../data/codebooks/wws-considerations.toml")))
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
regex = ['\b(?:took|time)\b|\btim', '\b[0-9]+ months', 'ti(?:me)?\b', '\b(?:own|tak)(?:e|s)?']
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
        fn word_start_prefixes_find_what_full_scans_find(
            pieces in proptest::collection::vec(proptest::sample::select(vec![
                "took", "TOOK", "retook", "_took", "took_", "9took", "tooken", "time", "Tim", "tim", "a", "A",
                "one", "month", "years", "own", "OWN", "_own", "crown", "owner", "take", "takes", "12",
                "\u{212A}", "caf\u{e9}", "\u{e9}", "—", "’", "'", ",", ".", " ", " ", "  ", "\n", "_",
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
