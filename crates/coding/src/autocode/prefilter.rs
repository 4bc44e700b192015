//! The regex prefilter: which of a codebook's regexes need run on a passage, and where. Each
//! regex's literal prefixes are found through the passage's words or by an automaton, and its
//! required clauses (pieces of which one must stand in any passage it matches) are checked
//! against the passage's words first.

use super::*;

/// Sets the bit of regex `r` in a bit set of regexes.
pub(super) fn set_bit(bits: &mut [u64], r: usize) {
    bits[r / 64] |= 1 << (r % 64);
}

/// Whether the bit of regex `r` is set in a bit set of regexes.
pub(super) fn has_bit(bits: &[u64], r: usize) -> bool {
    bits[r / 64] & (1 << (r % 64)) != 0
}

/// Regexes that need not run on a passage, and where they need run. Every match of a regex
/// starts with one of its literal prefixes (ASCII case-insensitively); a regex runs only where
/// one of them stands, and, where every match of the regex starts at a word boundary (`\bthe|
/// \bthat`, as codebook regexes do), only where the prefix starts a word. Prefixes that start a
/// word are looked up through the passage's words (their facts cached per distinct word); the
/// others are found by an Aho-Corasick automaton. A regex also runs only if the passage's words
/// satisfy each of its clauses (see [`required_clauses`]). Regexes without prefixes always run.
pub(super) struct RegexPrefilter {
    /// Prefixes that start a word: the word characters they start with, what must follow those
    /// (empty if nothing), and the regexes they stand for.
    pub(super) word_literals: Vec<WordLiteral>,
    /// The automaton over the other prefixes, and for each, the regexes it stands for and
    /// whether it counts only at word starts.
    pub(super) literals: Option<AhoCorasick>,
    pub(super) regexes_of: Vec<(Vec<u32>, bool)>,
    pub(super) always: Vec<u32>,
    /// Pieces of words, each with the clauses (bits) it satisfies; each regex's clauses, a
    /// range of bits (see [`required_clauses`]): a regex runs only in a passage whose words
    /// satisfy all its clauses.
    pub(super) pieces: Vec<(Piece, Vec<u32>)>,
    /// One automaton over the pieces' bytes, and for each of its patterns the pieces with those
    /// bytes: a new word is checked against every piece in one pass (one check of each piece
    /// took 6-8 us a new word with a codebook's few hundred pieces).
    pub(super) piece_finder: Option<(AhoCorasick, Vec<Vec<u32>>)>,
    /// The word literals by the first byte of their head.
    pub(super) literals_by_first: Vec<Vec<u32>>,
    /// For each regex, the range of `clause_masks` that covers the bits of its clauses: (word
    /// of the bits, mask) for each 64 bits they touch. All set, and the regex is left open.
    pub(super) masks_of: Vec<(u32, u32)>,
    pub(super) clause_masks: Vec<(u32, u64)>,
    /// Words (`u64`) in a row of clause bits: one bit a clause.
    pub(super) clause_words: usize,
    /// Bits of the regexes without clauses: they are never ruled out by the words.
    pub(super) ungated: Vec<u64>,
}

/// A word literal of a regex, at a byte offset in a word.
#[derive(Clone, Copy)]
pub(super) struct Start {
    pub(super) offset: u32,
    pub(super) regex: u32,
    pub(super) literal: u32,
}

/// A prefix that starts a word: `head`, its leading letters and digits, lower-cased; `tail`,
/// the rest (starting with some other character), matched ASCII case-insensitively.
pub(super) struct WordLiteral {
    pub(super) head: Box<[u8]>,
    pub(super) tail: Box<[u8]>,
    pub(super) regexes: Vec<u32>,
}

impl WordLiteral {
    /// Whether the literal can stand at the start of `run`, a maximal run of letters and
    /// digits (lower-cased): a literal of letters and digits only must begin the run; one with
    /// a tail must have the run as its head (the tail is then checked against the text).
    pub(super) fn fits(&self, run: &[u8]) -> bool {
        if self.tail.is_empty() { run.starts_with(&self.head) } else { *run == *self.head }
    }
}

/// The literals of `lits` that begin with no other of them (each of the others begins with
/// one of these), sorted and without repeats.
pub(super) fn minimal(mut lits: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
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
pub(super) struct Piece {
    pub(super) bytes: Box<[u8]>,
    pub(super) starts_word: bool,
    pub(super) ends_word: bool,
}

impl Piece {
    /// Whether `word` (lower-cased) holds the piece. Word bounds are checked in ASCII words
    /// only: lower-casing some other letters (`İ`) yields an ASCII letter.
    pub(super) fn in_word(&self, word: &[u8]) -> bool {
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
    pub(super) fn bounded_at(&self, word: &[u8], at: usize, ascii: bool) -> bool {
        let n = self.bytes.len();
        !ascii
            || ((!self.starts_word || at == 0 || !word[at - 1].is_ascii_alphanumeric())
                && (!self.ends_word || word.get(at + n).is_none_or(|b| !b.is_ascii_alphanumeric())))
    }
}

/// A set of pieces of which every match of a regex holds one.
pub(super) type Clause = Vec<Piece>;

/// Most pieces in a clause: a larger one rules out too little to be worth its lookups.
pub(super) const MAX_CLAUSE_PIECES: usize = 256;

/// Whether a byte of a pattern's literal matches only bytes that are no ASCII letter or digit.
/// Not so for non-ASCII bytes: the Kelvin sign and the long s match `k` and `s` when case is
/// ignored.
pub(super) fn bounds_words(b: u8) -> bool {
    b.is_ascii() && !b.is_ascii_alphanumeric()
}

/// The maximal runs of ASCII letters and digits in `literal`, as [`Piece`]s: a run starts a
/// word if an ASCII byte stands before it in the literal, or if `left` (no ASCII letter or
/// digit precedes any match of the literal); it ends a word if one follows it, or if `right`.
pub(super) fn literal_pieces(literal: &[u8], left: bool, right: bool) -> Vec<Piece> {
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
pub(super) fn selectivity(p: &Piece) -> usize {
    2 * p.bytes.len() + usize::from(p.starts_word) + usize::from(p.ends_word)
}

/// Whether a range of characters (as `u32`) is ASCII and holds no letter or digit.
pub(super) fn no_ascii_alnum(lo: u32, hi: u32) -> bool {
    hi < 0x80 && [(b'0', b'9'), (b'A', b'Z'), (b'a', b'z')].iter().all(|&(a, z)| hi < u32::from(a) || lo > u32::from(z))
}

/// Whether every match of `hir` starts (or, with `end`, ends) with a byte that is no ASCII
/// letter or digit, or at a word boundary: then no ASCII letter or digit stands next to what
/// comes before (after) it.
pub(super) fn bounded_edge(hir: &regex_syntax::hir::Hir, end: bool) -> bool {
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
pub(super) fn next_bound(hir: &regex_syntax::hir::Hir, end: bool, beyond: bool) -> bool {
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
pub(super) fn clauses(hir: &regex_syntax::hir::Hir, left: bool, right: bool, out: &mut Vec<Clause>) {
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
pub(super) fn is_weak(p: &Piece) -> bool {
    let bounds = usize::from(p.starts_word) + usize::from(p.ends_word);
    p.bytes.len() < 5 - bounds
}

/// Clauses every match of `hir` satisfies (see [`clauses`]), each of at most
/// [`MAX_CLAUSE_PIECES`] pieces, none weak (see [`is_weak`]), each once.
pub(super) fn required_clauses(hir: &regex_syntax::hir::Hir) -> Vec<Clause> {
    let mut out = Vec::new();
    clauses(hir, false, false, &mut out);
    out.retain(|c| c.len() <= MAX_CLAUSE_PIECES && !c.iter().any(is_weak));
    out.sort_unstable();
    out.dedup();
    out
}

/// Bytes of ASCII word characters (`[0-9A-Za-z_]`, what `(?-u:\b)` sees as a word).
pub(super) const ASCII_WORD: [bool; 256] = {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = (b as u8).is_ascii_alphanumeric() || b == b'_' as usize;
        b += 1;
    }
    t
};

/// Whether every match of `hir` starts at a word boundary.
pub(super) fn starts_at_word_boundary(hir: &regex_syntax::hir::Hir) -> bool {
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
    pub(super) fn new(patterns: &[String]) -> RegexPrefilter {
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
        let (mut masks_of, mut clause_masks) = (Vec::with_capacity(clauses_of.len()), Vec::new());
        for &(from, to) in &clauses_of {
            let at = clause_masks.len() as u32;
            let (mut i, to) = (from as usize, to as usize);
            while i < to {
                let (word, lo) = (i / 64, i % 64);
                let hi = (to - word * 64).min(64);
                clause_masks.push((word as u32, (u64::MAX >> (64 - (hi - lo))) << lo));
                i = (word + 1) * 64;
            }
            masks_of.push((at, clause_masks.len() as u32));
        }
        RegexPrefilter {
            word_literals,
            literals,
            regexes_of: ac_regexes_of,
            always,
            pieces,
            piece_finder,
            literals_by_first,
            masks_of,
            clause_masks,
            clause_words: (n_clauses as usize).div_ceil(64),
            ungated,
        }
    }

    /// Where the word literals may stand in a word (lower-cased, ASCII): at its start and after
    /// each apostrophe, the places where a run of letters and digits starts. Adds (byte offset in
    /// the word, regex, literal) to `out`.
    pub(super) fn starts_in(&self, word: &[u8], out: &mut Vec<Start>) {
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
    pub(super) fn place(&self, start: Start, open: &[u64], text: &[u8], at: usize, out: &mut Vec<(u32, usize)>) {
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
    pub(super) fn gates_of(&self, word: &str, out: &mut [u64]) -> bool {
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
    pub(super) fn open_regexes(&self, satisfied: &[u64], open: &mut [u64]) {
        // Every mask of a regex is looked at, whatever the first ones found: whether a passage
        // satisfies a regex's clauses goes either way, and a branch on it was often mispredicted.
        for (r, &(from, to)) in self.masks_of.iter().enumerate() {
            let mut all = from < to;
            for &(word, mask) in &self.clause_masks[from as usize..to as usize] {
                all &= satisfied[word as usize] & mask == mask;
            }
            open[r / 64] |= u64::from(all) << (r % 64);
        }
    }

    /// Adds to the places the words gave (`out`) where else the regexes may match in `text`:
    /// (regex, byte offset of one of its prefixes), then sorts them; the regexes without
    /// prefixes as (regex, `usize::MAX`).
    pub(super) fn candidates(&self, text: &str, out: &mut Vec<(u32, usize)>) {
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
