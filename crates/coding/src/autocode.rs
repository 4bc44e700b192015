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
//! Regexes run only where one of the literal prefixes every match of the regex starts with
//! stands (looked up through the words, or by an automaton for prefixes that may start inside
//! a word), and only in passages whose words hold a piece of each of the regex's clauses (see
//! [`required_clauses`]); the rest of the time they would find nothing.

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

/// Whether bits `from..to` are all set.
fn has_bits(bits: &[u64], from: usize, to: usize) -> bool {
    let mut i = from;
    while i < to {
        let (word, lo) = (i / 64, i % 64);
        let hi = (to - word * 64).min(64);
        let mask = (u64::MAX >> (64 - (hi - lo))) << lo;
        if bits[word] & mask != mask {
            return false;
        }
        i = (word + 1) * 64;
    }
    true
}

/// Sets the bit of regex `r` in a bit set of regexes.
fn set_bit(bits: &mut [u64], r: usize) {
    bits[r / 64] |= 1 << (r % 64);
}

/// Whether the bit of regex `r` is set in a bit set of regexes.
fn has_bit(bits: &[u64], r: usize) -> bool {
    bits[r / 64] & (1 << (r % 64)) != 0
}

/// Regexes that need not run on a passage, and where they need run. Every match of a regex
/// starts with one of its literal prefixes (ASCII case-insensitively); a regex runs only where
/// one of them stands, and, where every match of the regex starts at a word boundary (`\bthe|
/// \bthat`, as codebook regexes do), only where the prefix starts a word. Prefixes that start a
/// word are looked up through the passage's words (their facts cached per distinct word); the
/// others are found by an Aho-Corasick automaton. A regex also runs only if the passage's words
/// satisfy each of its clauses (see [`required_clauses`]). Regexes without prefixes always run.
struct RegexPrefilter {
    /// Prefixes that start a word: the word characters they start with, what must follow those
    /// (empty if nothing), and the regexes they stand for.
    word_literals: Vec<WordLiteral>,
    /// The automaton over the other prefixes, and for each, the regexes it stands for and
    /// whether it counts only at word starts.
    literals: Option<AhoCorasick>,
    regexes_of: Vec<(Vec<u32>, bool)>,
    always: Vec<u32>,
    /// Pieces of words, each with the clauses (bits) it satisfies; each regex's clauses, a
    /// range of bits (see [`required_clauses`]): a regex runs only in a passage whose words
    /// satisfy all its clauses.
    pieces: Vec<(Piece, Vec<u32>)>,
    /// One automaton over the pieces' bytes, and for each of its patterns the pieces with those
    /// bytes: a new word is checked against every piece in one pass (one check of each piece
    /// took 6-8 us a new word with a codebook's few hundred pieces).
    piece_finder: Option<(AhoCorasick, Vec<Vec<u32>>)>,
    /// The word literals by the first byte of their head.
    literals_by_first: Vec<Vec<u32>>,
    clauses_of: Vec<(u32, u32)>,
    n_clauses: usize,
    /// Bits of the regexes without clauses: they are never ruled out by the words.
    ungated: Vec<u64>,
}

/// A word literal of a regex, at a byte offset in a word.
#[derive(Clone, Copy)]
struct Start {
    offset: u32,
    regex: u32,
    literal: u32,
}

/// A prefix that starts a word: `head`, its leading letters and digits, lower-cased; `tail`,
/// the rest (starting with some other character), matched ASCII case-insensitively.
struct WordLiteral {
    head: Box<[u8]>,
    tail: Box<[u8]>,
    regexes: Vec<u32>,
}

impl WordLiteral {
    /// Whether the literal can stand at the start of `run`, a maximal run of letters and
    /// digits (lower-cased): a literal of letters and digits only must begin the run; one with
    /// a tail must have the run as its head (the tail is then checked against the text).
    fn fits(&self, run: &[u8]) -> bool {
        if self.tail.is_empty() { run.starts_with(&self.head) } else { *run == *self.head }
    }
}

/// The literals of `lits` that begin with no other of them (each of the others begins with
/// one of these), sorted and without repeats.
fn minimal(mut lits: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    lits.sort_unstable();
    lits.dedup();
    let mut kept: Vec<Vec<u8>> = Vec::with_capacity(lits.len());
    for l in lits {
        if !kept.iter().any(|k| l.starts_with(k)) {
            kept.push(l);
        }
    }
    kept
}

/// A run of ASCII letters and digits (lower-cased) looked for inside the words of a passage:
/// with `starts_word`, at the word's start or after a byte that is no ASCII letter or digit;
/// with `ends_word`, before such a byte or at the word's end.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Piece {
    bytes: Box<[u8]>,
    starts_word: bool,
    ends_word: bool,
}

impl Piece {
    /// Whether `word` (lower-cased) holds the piece. Word bounds are checked in ASCII words
    /// only: lower-casing some other letters (`İ`) yields an ASCII letter.
    fn in_word(&self, word: &[u8]) -> bool {
        let n = self.bytes.len();
        word.len() >= n
            && word
                .windows(n)
                .enumerate()
                .any(|(at, w)| w == &self.bytes[..] && self.bounded_at(word, at, word.is_ascii()))
    }

    /// Whether the piece, found in `word` (lower-cased; all ASCII if `ascii`) at byte `at`,
    /// starts and ends a word there as it must.
    #[inline]
    fn bounded_at(&self, word: &[u8], at: usize, ascii: bool) -> bool {
        let n = self.bytes.len();
        !ascii
            || ((!self.starts_word || at == 0 || !word[at - 1].is_ascii_alphanumeric())
                && (!self.ends_word || word.get(at + n).is_none_or(|b| !b.is_ascii_alphanumeric())))
    }
}

/// A set of pieces of which every match of a regex holds one.
type Clause = Vec<Piece>;

/// Most pieces in a clause: a larger one rules out too little to be worth its lookups.
const MAX_CLAUSE_PIECES: usize = 256;

/// Whether a byte of a pattern's literal matches only bytes that are no ASCII letter or digit.
/// Not so for non-ASCII bytes: the Kelvin sign and the long s match `k` and `s` when case is
/// ignored.
fn bounds_words(b: u8) -> bool {
    b.is_ascii() && !b.is_ascii_alphanumeric()
}

/// The maximal runs of ASCII letters and digits in `literal`, as [`Piece`]s: a run starts a
/// word if an ASCII byte stands before it in the literal, or if `left` (no ASCII letter or
/// digit precedes any match of the literal); it ends a word if one follows it, or if `right`.
fn literal_pieces(literal: &[u8], left: bool, right: bool) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < literal.len() {
        let end = alnum_run_end(literal, at);
        if end > at {
            out.push(Piece {
                bytes: literal[at..end].to_ascii_lowercase().into(),
                starts_word: if at == 0 { left } else { bounds_words(literal[at - 1]) },
                ends_word: literal.get(end).map_or(right, |&b| bounds_words(b)),
            });
        }
        at = end + 1;
    }
    out
}

/// How much a piece narrows where a regex may match: longer, and bounded by word edges, is
/// rarer in text.
fn selectivity(p: &Piece) -> usize {
    2 * p.bytes.len() + usize::from(p.starts_word) + usize::from(p.ends_word)
}

/// Whether a range of characters (as `u32`) is ASCII and holds no letter or digit.
fn no_ascii_alnum(lo: u32, hi: u32) -> bool {
    hi < 0x80 && [(b'0', b'9'), (b'A', b'Z'), (b'a', b'z')].iter().all(|&(a, z)| hi < u32::from(a) || lo > u32::from(z))
}

/// Whether every match of `hir` starts (or, with `end`, ends) with a byte that is no ASCII
/// letter or digit, or at a word boundary: then no ASCII letter or digit stands next to what
/// comes before (after) it.
fn bounded_edge(hir: &regex_syntax::hir::Hir, end: bool) -> bool {
    use regex_syntax::hir::{Class, HirKind, Look};
    match hir.kind() {
        HirKind::Look(Look::WordAscii | Look::WordUnicode) => true,
        HirKind::Literal(l) => {
            let b = if end { l.0.last() } else { l.0.first() };
            b.is_some_and(|&b| bounds_words(b))
        }
        HirKind::Class(Class::Unicode(c)) => {
            c.ranges().iter().all(|r| no_ascii_alnum(u32::from(r.start()), u32::from(r.end())))
        }
        HirKind::Class(Class::Bytes(c)) => {
            c.ranges().iter().all(|r| no_ascii_alnum(u32::from(r.start()), u32::from(r.end())))
        }
        HirKind::Concat(items) => if end { items.last() } else { items.first() }.is_some_and(|h| bounded_edge(h, end)),
        HirKind::Alternation(items) => items.iter().all(|h| bounded_edge(h, end)),
        HirKind::Capture(c) => bounded_edge(&c.sub, end),
        HirKind::Repetition(r) => r.min > 0 && bounded_edge(&r.sub, end),
        _ => false,
    }
}

/// Whether no ASCII letter or digit stands next to `hir`'s start (or, with `end`, its end),
/// given whether none stands on its other side (`beyond`), for a part that may match nothing.
fn next_bound(hir: &regex_syntax::hir::Hir, end: bool, beyond: bool) -> bool {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Repetition(r) if r.min == 0 => beyond && bounded_edge(&r.sub, end),
        HirKind::Empty => beyond,
        _ => bounded_edge(hir, end),
    }
}

/// Adds to `out` clauses that every match of `hir` satisfies: for each clause, the match holds
/// one of its pieces inside one word. `left` (`right`): whether no ASCII letter or digit stands
/// right before (after) any match. Parts that may match nothing, classes and look-arounds add
/// none; an alternation adds one clause, the union of a clause from each branch.
fn clauses(hir: &regex_syntax::hir::Hir, left: bool, right: bool, out: &mut Vec<Clause>) {
    use regex_syntax::hir::HirKind;
    match hir.kind() {
        HirKind::Literal(l) => out.extend(literal_pieces(&l.0, left, right).into_iter().map(|p| vec![p])),
        HirKind::Capture(c) => clauses(&c.sub, left, right, out),
        // The first repeat follows what precedes the repetition; only a single one is followed
        // by what follows it.
        HirKind::Repetition(r) if r.min > 0 => clauses(&r.sub, left, right && r.max == Some(1), out),
        HirKind::Concat(items) => {
            // What stands before (after) an item is the edge of its neighbour, or, where that
            // may match nothing, what stands before (after) the neighbour as well.
            let n = items.len();
            let mut rights = vec![right; n];
            for i in (0..n.saturating_sub(1)).rev() {
                rights[i] = next_bound(&items[i + 1], false, rights[i + 1]);
            }
            let mut l = left;
            for (item, r) in items.iter().zip(rights) {
                clauses(item, l, r, out);
                l = next_bound(item, true, l);
            }
        }
        HirKind::Alternation(branches) => {
            let mut union: Clause = Vec::new();
            for branch in branches {
                let mut of_branch = Vec::new();
                clauses(branch, left, right, &mut of_branch);
                // The branch's clause whose least selective piece is the most selective.
                let best = of_branch.into_iter().max_by_key(|c| c.iter().map(selectivity).min().unwrap_or(0));
                match best {
                    Some(best) => union.extend(best),
                    None => return,
                }
            }
            union.sort_unstable();
            union.dedup();
            if !union.is_empty() {
                out.push(union);
            }
        }
        _ => {}
    }
}

/// Whether a piece is too common in words to narrow anything: a whole word of one or two
/// letters ("a", "in"), a word's end or start of up to three ("s", "ing"), a part of up to
/// four. Every word that holds it costs a little.
fn is_weak(p: &Piece) -> bool {
    let bounds = usize::from(p.starts_word) + usize::from(p.ends_word);
    p.bytes.len() < 5 - bounds
}

/// Clauses every match of `hir` satisfies (see [`clauses`]), each of at most
/// [`MAX_CLAUSE_PIECES`] pieces, none weak (see [`is_weak`]), each once.
fn required_clauses(hir: &regex_syntax::hir::Hir) -> Vec<Clause> {
    let mut out = Vec::new();
    clauses(hir, false, false, &mut out);
    out.retain(|c| c.len() <= MAX_CLAUSE_PIECES && !c.iter().any(is_weak));
    out.sort_unstable();
    out.dedup();
    out
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
        let mut pieces: Vec<(Piece, Vec<u32>)> = Vec::new();
        let (mut clauses_of, mut n_clauses) = (Vec::with_capacity(patterns.len()), 0u32);
        let mut ungated = vec![0u64; patterns.len().div_ceil(64)];
        for (ri, pattern) in patterns.iter().enumerate() {
            let hir = regex_syntax::ParserBuilder::new().build().parse(pattern).ok();
            // Each clause of the regex gets a bit, which its pieces set.
            let from = n_clauses;
            let cl = hir.as_ref().map(required_clauses).unwrap_or_default();
            for clause in cl {
                for piece in clause {
                    match pieces.iter_mut().find(|(p, _)| *p == piece) {
                        Some((_, bits)) => bits.push(n_clauses),
                        None => pieces.push((piece, vec![n_clauses])),
                    }
                }
                n_clauses += 1;
            }
            clauses_of.push((from, n_clauses));
            if from == n_clauses {
                set_bit(&mut ungated, ri);
            }
            let parsed = hir.and_then(|hir| {
                let seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
                let lits = seq.literals()?;
                // The first bytes of each are enough to rule a place out: shorter literals make
                // a smaller automaton (a codebook's alternations multiply into thousands of long
                // ones), and one that begins with another adds nothing. They stop before the
                // first non-ASCII byte, which would need Unicode case folding.
                let ascii_start = |l: &[u8]| -> usize {
                    l.iter().take(PREFIX_BYTES).position(|b| !b.is_ascii()).unwrap_or(l.len().min(PREFIX_BYTES))
                };
                // An empty prefix means a match can start anywhere.
                if lits.is_empty() || lits.iter().any(|l| ascii_start(l.as_bytes()) == 0) {
                    return None;
                }
                let lits: Vec<Vec<u8>> =
                    lits.iter().map(|l| l.as_bytes()[..ascii_start(l.as_bytes())].to_ascii_lowercase()).collect();
                let mut kept = minimal(lits);
                // Literals that share their leading letters and digits keep only what their
                // tails share ("for a ", "for the" -> "for "): fewer to check at each word.
                let head = |l: &[u8]| alnum_run_end(l, 0);
                let mut merged: Vec<Vec<u8>> = Vec::with_capacity(kept.len());
                for l in kept {
                    match merged.last_mut() {
                        Some(m) if head(m) == head(&l) && head(m) > 0 && m[..head(m)] == l[..head(&l)] => {
                            let common = m.iter().zip(&l).take_while(|(a, b)| a == b).count();
                            m.truncate(common);
                        }
                        _ => merged.push(l),
                    }
                }
                kept = minimal(merged);
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
        // Prefixes that start a word with a letter or digit go to the word lookups; the rest
        // (those that may start inside a word, or with `_`) to the automaton.
        let mut word_literals = Vec::new();
        let mut ac_literals = Vec::new();
        let mut ac_regexes_of = Vec::new();
        for (l, (regexes, at_word_starts)) in lits.into_iter().zip(regexes_of) {
            if at_word_starts && l[0].is_ascii_alphanumeric() {
                let (head, tail) = l.split_at(alnum_run_end(&l, 0));
                word_literals.push(WordLiteral { head: head.into(), tail: tail.into(), regexes });
            } else {
                ac_literals.push(l);
                ac_regexes_of.push((regexes, at_word_starts));
            }
        }
        let literals = (!ac_literals.is_empty())
            .then(|| {
                let built = AhoCorasickBuilder::new()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::DFA))
                    .build(&ac_literals);
                if built.is_err() {
                    // Without the automaton, its regexes always run.
                    always.extend(ac_regexes_of.iter().flat_map(|r| r.0.iter().copied()));
                    always.sort_unstable();
                    always.dedup();
                }
                built.ok()
            })
            .flatten();
        let mut groups: Vec<(&[u8], Vec<u32>)> = Vec::new();
        for (i, (p, _)) in pieces.iter().enumerate() {
            match groups.iter_mut().find(|(b, _)| *b == &p.bytes[..]) {
                Some((_, g)) => g.push(i as u32),
                None => groups.push((&p.bytes[..], vec![i as u32])),
            }
        }
        let piece_finder = (!groups.is_empty())
            .then(|| {
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::Standard)
                    .build(groups.iter().map(|(b, _)| b))
                    .ok()
                    .map(|ac| (ac, groups.iter().map(|(_, g)| g.clone()).collect()))
            })
            .flatten();
        let mut literals_by_first = vec![Vec::new(); 256];
        for (i, l) in word_literals.iter().enumerate() {
            literals_by_first[usize::from(l.head[0])].push(i as u32);
        }
        RegexPrefilter {
            word_literals,
            literals,
            regexes_of: ac_regexes_of,
            always,
            pieces,
            piece_finder,
            literals_by_first,
            clauses_of,
            n_clauses: n_clauses as usize,
            ungated,
        }
    }

    /// Where the word literals may stand in a word (lower-cased, ASCII): at its start and after
    /// each apostrophe, the places where a run of letters and digits starts. Adds (byte offset in
    /// the word, regex, literal) to `out`.
    fn starts_in(&self, word: &[u8], out: &mut Vec<Start>) {
        let mut at = 0;
        while at < word.len() {
            let len = alnum_run_end(word, at) - at;
            let run = &word[at..at + len];
            if let Some(&first) = run.first() {
                for &li in &self.literals_by_first[usize::from(first)] {
                    let l = &self.word_literals[li as usize];
                    if l.fits(run) {
                        out.extend(l.regexes.iter().map(|&r| Start { offset: at as u32, regex: r, literal: li }));
                    }
                }
            }
            at += len + 1;
        }
    }

    /// Adds (regex, `at`) for the regex of `start`, a word literal that fits the run of letters
    /// and digits at byte `at` of `text`, if the regex is `open` and the literal's tail follows
    /// the run.
    #[inline]
    fn place(&self, start: Start, open: &[u64], text: &[u8], at: usize, out: &mut Vec<(u32, usize)>) {
        let r = start.regex;
        if !has_bit(open, r as usize) {
            return;
        }
        let l = &self.word_literals[start.literal as usize];
        let after = at + l.head.len();
        if l.tail.is_empty() || text.get(after..after + l.tail.len()).is_some_and(|t| t.eq_ignore_ascii_case(&l.tail)) {
            out.push((r, at));
        }
    }

    /// Sets in `out` the bits of the clauses that the pieces `word` (lower-cased) holds
    /// satisfy; whether there are any.
    fn gates_of(&self, word: &str, out: &mut [u64]) -> bool {
        let mut any = false;
        let (bytes, ascii) = (word.as_bytes(), word.is_ascii());
        let Some((finder, groups)) = &self.piece_finder else {
            // Without the automaton (it could not be built), each piece is looked for in turn.
            for (piece, bits) in &self.pieces {
                if piece.in_word(bytes) {
                    for &c in bits {
                        set_bit(out, c as usize);
                    }
                    any = true;
                }
            }
            return any;
        };
        for m in finder.find_overlapping_iter(bytes) {
            for &pi in &groups[m.pattern().as_usize()] {
                let (piece, bits) = &self.pieces[pi as usize];
                if piece.bounded_at(bytes, m.start(), ascii) {
                    for &c in bits {
                        set_bit(out, c as usize);
                    }
                    any = true;
                }
            }
        }
        any
    }

    /// Sets in `open` (which holds the regexes without clauses) the bits of the regexes whose
    /// clauses are all `satisfied`.
    fn open_regexes(&self, satisfied: &[u64], open: &mut [u64]) {
        for (r, &(from, to)) in self.clauses_of.iter().enumerate() {
            if from < to && has_bits(satisfied, from as usize, to as usize) {
                set_bit(open, r);
            }
        }
    }

    /// Adds to the places the words gave (`out`) where else the regexes may match in `text`:
    /// (regex, byte offset of one of its prefixes), then sorts them; the regexes without
    /// prefixes as (regex, `usize::MAX`).
    fn candidates(&self, text: &str, out: &mut Vec<(u32, usize)>) {
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
    /// Whether the word is all ASCII (letters, digits and straight apostrophes).
    ascii: bool,
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

/// Each byte of a `u64` the same.
const fn bytes8(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

/// The `N` bytes of `text` from `start`, zero-padded past its end.
#[inline]
fn load<const N: usize>(text: &[u8], start: usize) -> [u8; N] {
    match text.get(start..start + N) {
        Some(b) => b.try_into().expect("N bytes"),
        None => {
            let mut buf = [0u8; N];
            let rest = &text[start.min(text.len())..];
            buf[..rest.len()].copy_from_slice(rest);
            buf
        }
    }
}

/// Bit 7 of each byte of `x` (eight bytes of text, little-endian) set where the byte is an
/// ASCII letter or digit. Each test `lo <= b <= hi` on the low seven bits is two additions
/// that cannot carry into the next byte.
#[inline]
fn alnum_bits(x: u64) -> u64 {
    const HIGH: u64 = bytes8(0x80);
    let ascii = !x & HIGH;
    let low = x & !HIGH;
    let folded = low | bytes8(0x20);
    let letter = folded.wrapping_add(bytes8(0x80 - b'a')) & !folded.wrapping_add(bytes8(0x7f - b'z'));
    let digit = low.wrapping_add(bytes8(0x80 - b'0')) & !low.wrapping_add(bytes8(0x7f - b'9'));
    (letter | digit) & ascii
}

/// The end of the run of ASCII letters and digits at byte `i`, eight bytes at a time.
#[inline]
fn alnum_run_end(bytes: &[u8], mut i: usize) -> usize {
    while let Some(chunk) = bytes.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().expect("8 bytes"));
        let stop = !alnum_bits(x) & bytes8(0x80);
        if stop != 0 {
            return i + (stop.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
        i += 1;
    }
    i
}

/// Bit 7 of each byte of `x` set where the byte is zero.
#[inline]
fn zero_bytes(x: u64) -> u64 {
    const LOW: u64 = bytes8(0x7f);
    !(((x & LOW).wrapping_add(LOW)) | x) & bytes8(0x80)
}

/// Bit 7 of each byte of `m` (the only bits set) gathered into the low eight bits, byte 0
/// lowest: each lands on bit 56 + its byte's index, and no two products overlap.
#[inline]
fn gather_high_bits(m: u64) -> u64 {
    (m >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// The words of `text` (as [`words_of`] cuts them) when it is all ASCII: bitmaps of its
/// letters and digits and of its apostrophes, eight bytes at a time, then the runs of word
/// bytes. `false`, with nothing added, if a byte is not ASCII. `bits` is scratch space.
fn ascii_words_of(text: &[u8], out: &mut Vec<Word>, bits: &mut Vec<u64>) -> bool {
    out.clear();
    bits.clear();
    let n = text.len();
    // Letters and digits, and apostrophes, one bit per byte, interleaved in `bits`.
    let (mut alnum, mut apos) = (0u64, 0u64);
    for k in 0..n.div_ceil(8) {
        // The last few bytes are padded with zeros (neither letters nor apostrophes).
        let x = u64::from_le_bytes(load(text, 8 * k));
        if x & bytes8(0x80) != 0 {
            return false;
        }
        let shift = (k % 8) * 8;
        alnum |= gather_high_bits(alnum_bits(x)) << shift;
        apos |= gather_high_bits(zero_bytes(x ^ bytes8(b'\''))) << shift;
        if k % 8 == 7 {
            bits.extend([alnum, apos]);
            (alnum, apos) = (0, 0);
        }
    }
    if !n.is_multiple_of(64) {
        bits.extend([alnum, apos]);
    }
    // Word bytes: letters and digits, and apostrophes between two of them; then every change
    // between word and not is a start or an end.
    let blocks = bits.len() / 2;
    let mut prev_alnum_top = 0u64;
    let mut prev_word_top = 0u64;
    let mut start = 0usize;
    for j in 0..blocks {
        let (alnum, apos) = (bits[2 * j], bits[2 * j + 1]);
        let next_alnum_low = if j + 1 < blocks { bits[2 * j + 2] & 1 } else { 0 };
        let before = (alnum << 1) | prev_alnum_top;
        let after = (alnum >> 1) | (next_alnum_low << 63);
        let word = alnum | (apos & before & after);
        let mut changes = word ^ ((word << 1) | prev_word_top);
        while changes != 0 {
            let at = j * 64 + changes.trailing_zeros() as usize;
            if word >> (at % 64) & 1 == 1 {
                start = at;
            } else {
                out.push(Word { byte_start: start, byte_end: at, ascii: true });
            }
            changes &= changes - 1;
        }
        prev_alnum_top = alnum >> 63;
        prev_word_top = word >> 63;
    }
    if prev_word_top == 1 {
        out.push(Word { byte_start: start, byte_end: n, ascii: true });
    }
    true
}

/// The words of `text`: runs of letters and digits, with apostrophes (straight or curly)
/// inside words kept ("CPP's", "don't").
fn words_of(text: &str, out: &mut Vec<Word>) {
    out.clear();
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut i = 0;
    while i < n {
        // Up to the next letter or digit.
        let b = bytes[i];
        if b < 0x80 {
            if !b.is_ascii_alphanumeric() {
                i += 1;
                continue;
            }
        } else {
            match is_word_char(text, i) {
                Some((true, _)) => {}
                Some((false, len)) => {
                    i += len;
                    continue;
                }
                None => break,
            }
        }
        let start = i;
        let mut ascii = true;
        loop {
            i = alnum_run_end(bytes, i);
            if i >= n {
                break;
            }
            let len = if bytes[i] < 0x80 {
                // Most words end at ASCII punctuation or space; a straight apostrophe stays
                // inside one before a letter or digit.
                if bytes[i] != b'\'' {
                    break;
                }
                1
            } else {
                let (word, len) = is_word_char(text, i).unwrap_or((false, 1));
                if word {
                    ascii = false;
                    i += len;
                    continue;
                }
                if !text[i..].starts_with('’') {
                    break;
                }
                len
            };
            if !is_word_char(text, i + len).is_some_and(|(w, _)| w) {
                break;
            }
            ascii &= len == 1;
            i += len;
        }
        out.push(Word { byte_start: start, byte_end: i, ascii });
    }
}

/// Longest word kept in an integer key.
const SHORT_WORD: usize = 15;

/// How a word is found in the [`WordTables`]: an ASCII word of letters, digits and apostrophes
/// of up to 8 bytes, or up to [`SHORT_WORD`], lower-cased and zero-padded into one integer (a
/// hash key compared without a call to `memcmp`); any other word by its lower-cased text.
#[derive(Clone, Copy)]
enum Key {
    Short(u64),
    Mid(u128),
    Text,
}

impl Key {
    /// The key of the word of `len` bytes at `start` of `text`, `ascii` if it is all ASCII.
    /// Setting bit 5 of each byte lower-cases the letters and leaves digits and `'` alone.
    #[inline]
    fn of(text: &[u8], start: usize, len: usize, ascii: bool) -> Key {
        if !ascii || len > SHORT_WORD {
            return Key::Text;
        }
        if len <= 8 {
            let raw = u64::from_le_bytes(load(text, start));
            let mask = if len == 8 { u64::MAX } else { (1u64 << (8 * len)) - 1 };
            return Key::Short((raw | bytes8(0x20)) & mask);
        }
        let raw = u128::from_le_bytes(load(text, start));
        Key::Mid((raw | u128::from_le_bytes([0x20; 16])) & ((1u128 << (8 * len)) - 1))
    }
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

/// What the coder needs of one distinct word: its ids in the plain and the stemmed keyword
/// tables, whether a phrase of either starts with it, and its [`WordExtra`] (0: none, as for
/// most words).
#[derive(Clone, Copy)]
struct WordEntry {
    ids: (u32, u32),
    starts_phrase: bool,
    extra: u32,
}

/// The regex clauses a word satisfies (its pieces), as bits from an offset in
/// [`WordTables::gates`] ([`NO_GATES`] if none), and the word literals that may stand in it, a
/// range of [`WordTables::starts`].
#[derive(Clone, Copy)]
struct WordExtra {
    gates: u32,
    starts: (u32, u32),
    /// Where the bits of the regexes of all those literals start in [`WordTables::masks`].
    mask: u32,
}

impl WordExtra {
    fn has_starts(&self) -> bool {
        self.starts.0 != self.starts.1
    }

    fn is_empty(&self) -> bool {
        self.gates == NO_GATES && !self.has_starts()
    }
}

impl Default for WordExtra {
    fn default() -> WordExtra {
        WordExtra { gates: NO_GATES, starts: (0, 0), mask: 0 }
    }
}

/// Marks a word that satisfies no regex clause.
const NO_GATES: u32 = u32::MAX;

/// Per-thread cache of what the coder needs of each distinct word: fieldnotes reuse a small
/// vocabulary, and stemming a word costs more than a hash lookup.
#[derive(Default)]
struct WordTables {
    /// ASCII words of up to 8 bytes (most words), and of up to [`SHORT_WORD`], by [`Key`].
    short: FxHashMap<u64, WordEntry>,
    /// The words of `short` and `mid` met last, one per slot by a hash of the key (0: none):
    /// most words are found there without a probe into the maps.
    recent: Vec<(u64, WordEntry)>,
    recent_mid: Vec<(u128, WordEntry)>,
    mid: FxHashMap<u128, WordEntry>,
    /// Other words, lower-cased.
    long: FxHashMap<Box<str>, WordEntry>,
    extras: Vec<WordExtra>,
    /// For each extra with clauses, the bits of the clauses it satisfies; places where word
    /// literals may stand, of the extras; for each extra with places, the bits of their regexes.
    gates: Vec<u64>,
    starts: Vec<Start>,
    masks: Vec<u64>,
    lower: String,
}

impl WordTables {
    /// The entry of a word met lately.
    #[inline(always)]
    fn recent_entry(&self, key: Key) -> Option<WordEntry> {
        match key {
            Key::Short(k) => {
                let (recent, entry) = self.recent[recent_slot(k)];
                (recent == k).then_some(entry)
            }
            Key::Mid(k) => {
                let (recent, entry) = self.recent_mid[recent_slot(fold128(k))];
                (recent == k).then_some(entry)
            }
            Key::Text => None,
        }
    }

    /// Keeps a word's entry among the recent ones.
    fn remember(&mut self, key: Key, entry: WordEntry) {
        match key {
            Key::Short(k) => self.recent[recent_slot(k)] = (k, entry),
            Key::Mid(k) => self.recent_mid[recent_slot(fold128(k))] = (k, entry),
            Key::Text => {}
        }
    }

    fn clear(&mut self) {
        self.short.clear();
        self.recent.clear();
        let none = WordEntry { ids: (NO_WORD, NO_WORD), starts_phrase: false, extra: 0 };
        self.recent.resize(1 << RECENT_BITS, (0, none));
        self.recent_mid.clear();
        self.recent_mid.resize(1 << RECENT_BITS, (0, none));
        self.mid.clear();
        self.long.clear();
        self.extras.clear();
        self.extras.push(WordExtra::default());
        self.gates.clear();
        self.starts.clear();
        self.masks.clear();
    }
}

/// Per-thread working state of the coder.
#[derive(Default)]
struct WordCache {
    /// The coder the entries belong to.
    owner: Option<u64>,
    tables: WordTables,
    words: Vec<Word>,
    /// Scratch space for [`ascii_words_of`].
    bits: Vec<u64>,
    /// Each word's ids, in the plain and the stemmed table.
    word_ids: Vec<(u32, u32)>,
    /// The words a phrase of either table starts with.
    keyed: Vec<u32>,
    /// Bits of the clauses the passage's words satisfy, and of the regexes they do not rule out.
    satisfied: Vec<u64>,
    open: Vec<u64>,
    /// Where each regex may match: (regex, byte offset).
    candidates: Vec<(u32, usize)>,
    /// Words with word literals in them: (byte offset, extra).
    placed: Vec<(usize, u32)>,
    /// Scratch space for a passage's hits and their code-point offsets.
    raw: Vec<RawHit>,
    char_at: Vec<(usize, usize)>,
    /// One search cache per regex of the owner (the regex's own pool is slower across threads).
    regex_caches: Vec<meta::Cache>,
}

/// Slots of [`WordTables::recent`] and `recent_mid`, as a power of two (8,192: 192 KB and
/// 256 KB, within a core's second-level cache).
const RECENT_BITS: u32 = 13;

/// The slot of a key in [`WordTables::recent`].
#[inline(always)]
fn recent_slot(key: u64) -> usize {
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - RECENT_BITS)) as usize
}

/// The two halves of a key of up to 16 bytes, mixed into one.
#[inline(always)]
fn fold128(key: u128) -> u64 {
    (key as u64) ^ ((key >> 64) as u64).rotate_left(29)
}

/// Entries kept before the cache starts over (bounded memory on odd corpora).
const MAX_CACHED_WORDS: usize = 200_000;

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
        let set = RegexSetBuilder::new(&patterns)
            .case_insensitive(true)
            .size_limit(REGEX_SIZE_LIMIT * 4)
            .dfa_size_limit(REGEX_DFA_CACHE)
            .build()
            .map_err(|e| Error::Rules { message: format!("cannot combine the regexes: {e}") })?;
        Ok(AutoCoder {
            n_codes: codebook.codes.len(),
            min_evidence: codebook.codes.iter().map(|c| c.rules.min_evidence.max(1)).collect(),
            exact: PhraseTable::new(&exact),
            stemmed: PhraseTable::new(&stemmed),
            rules,
            set,
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
            Key::Mid(k) => tables.mid.get(&k),
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
        let n_words = self.prefilter.n_clauses.div_ceil(64);
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
            Key::Mid(k) => tables.mid.insert(k, entry),
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
        satisfied.resize(self.prefilter.n_clauses.div_ceil(64), 0);
        candidates.clear();
        let p = &self.prefilter;
        if self.exact.is_empty() && self.stemmed.is_empty() && p.pieces.is_empty() && p.word_literals.is_empty() {
            return;
        }
        // Cleared only between passages, so the extras of this one stay valid to the end.
        if tables.short.len() + tables.mid.len() + tables.long.len() >= MAX_CACHED_WORDS {
            tables.clear();
        }
        let bytes = text.as_bytes();
        if !ascii_words_of(bytes, words, bits) {
            words_of(text, words);
        }
        ids.clear();
        keyed.clear();
        placed.clear();
        for w in words.iter() {
            let len = w.byte_end - w.byte_start;
            let word = &text[w.byte_start..w.byte_end];
            let key = Key::of(bytes, w.byte_start, len, w.ascii);
            let entry = match tables.recent_entry(key) {
                Some(entry) => entry,
                None => self.entry(tables, key, word),
            };
            if entry.starts_phrase {
                keyed.push(ids.len() as u32);
            }
            ids.push(entry.ids);
            if entry.extra != 0 {
                let x = tables.extras[entry.extra as usize];
                if x.gates != NO_GATES {
                    let gates = &tables.gates[x.gates as usize..x.gates as usize + satisfied.len()];
                    for (s, g) in satisfied.iter_mut().zip(gates) {
                        *s |= g;
                    }
                }
                if x.has_starts() {
                    placed.push((w.byte_start, entry.extra));
                }
            }
            if !w.ascii && !p.word_literals.is_empty() {
                // Word literals start where a run of ASCII letters and digits starts inside the
                // word (after an accented letter or a curly apostrophe, as `\b` sees it).
                let mut at = w.byte_start;
                while at < w.byte_end {
                    if !bytes[at].is_ascii_alphanumeric() {
                        at += 1;
                        continue;
                    }
                    let run = alnum_run_end(&bytes[..w.byte_end], at) - at;
                    let e = self.entry(tables, Key::of(bytes, at, run, true), &text[at..at + run]);
                    if e.extra != 0 && tables.extras[e.extra as usize].has_starts() {
                        placed.push((at, e.extra));
                    }
                    at += run;
                }
            }
        }
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
                cache.tables.clear();
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
        // the word lookups or the automaton: then every regex the set finds runs.
        if text.is_ascii() || !(text.contains('\u{212A}') || text.contains('\u{017F}')) {
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
            for i in self.set.matches(text).iter() {
                self.regex_hits(i, &mut caches[i], text, 0, raw);
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
        // Byte offset -> code-point offset, walking once through the passage.
        char_at.extend(raw.iter().flat_map(|r| [(r.3, 0), (r.4, 0)]));
        char_at.sort_unstable();
        char_at.dedup();
        let (mut cp, mut last) = (0usize, 0usize);
        for (b, c) in char_at.iter_mut() {
            cp += text[last..*b].chars().count();
            last = *b;
            *c = cp;
        }
        let char_at = |b: usize| char_at[char_at.partition_point(|&(x, _)| x < b)].1;
        let mut out: Vec<CodeMatch> = Vec::new();
        for group in raw.chunk_by(|a, b| a.0 == b.0) {
            let code = group[0].0;
            let mut hits = Vec::new();
            let mut excluded = Vec::new();
            let mut fired: Vec<u32> = Vec::new();
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
