//! Words: a passage cut into words (64 bytes at a time where it is ASCII), words lowered
//! and stemmed as keywords are, and the per-thread cache of what each distinct word is to the
//! keyword tables and the regex prefilter.

use super::*;

/// A word of a passage: its byte range in the passage.
pub(super) struct Word {
    pub(super) byte_start: usize,
    pub(super) byte_end: usize,
    /// Whether the word is all ASCII (letters, digits and straight apostrophes).
    pub(super) ascii: bool,
}

/// Whether the character at byte `i` is a letter or digit, and its length; `None` at the end.
pub(super) fn is_word_char(text: &str, i: usize) -> Option<(bool, usize)> {
    let b = *text.as_bytes().get(i)?;
    if b < 0x80 {
        return Some((b.is_ascii_alphanumeric(), 1));
    }
    let c = text[i..].chars().next()?;
    Some((c.is_alphanumeric(), c.len_utf8()))
}

/// Each byte of a `u64` the same.
pub(super) const fn bytes8(b: u8) -> u64 {
    u64::from_ne_bytes([b; 8])
}

/// The `N` bytes of `text` from `start`, zero-padded past its end.
#[inline]
pub(super) fn load<const N: usize>(text: &[u8], start: usize) -> [u8; N] {
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
pub(super) fn alnum_bits(x: u64) -> u64 {
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
pub(super) fn alnum_run_end(bytes: &[u8], mut i: usize) -> usize {
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
pub(super) fn zero_bytes(x: u64) -> u64 {
    const LOW: u64 = bytes8(0x7f);
    !(((x & LOW).wrapping_add(LOW)) | x) & bytes8(0x80)
}

/// Bit 7 of each byte of `m` (the only bits set) gathered into the low eight bits, byte 0
/// lowest: each lands on bit 56 + its byte's index, and no two products overlap.
#[inline]
pub(super) fn gather_high_bits(m: u64) -> u64 {
    (m >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// The words of `text` (as [`words_of`] cuts them) when it is all ASCII: bitmaps of its
/// letters and digits and of its apostrophes, eight bytes at a time, then the runs of word
/// bytes. `false`, with nothing added, if a byte is not ASCII. `bits` is scratch space.
pub(super) fn ascii_words_of(text: &[u8], out: &mut Vec<Word>, bits: &mut Vec<u64>) -> bool {
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
pub(super) fn words_of(text: &str, out: &mut Vec<Word>) {
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
pub(super) const SHORT_WORD: usize = 15;

/// How a word is found in the [`WordTables`]: an ASCII word of letters, digits and apostrophes
/// of up to [`SHORT_WORD`] bytes (nearly every word), lower-cased and zero-padded into one
/// integer (a hash key compared without a call to `memcmp`); any other word by its lower-cased
/// text. One integer for every length: keys of 8 bytes and of 16 apart were a branch on the
/// word's length at every word, mispredicted on the long ones.
#[derive(Clone, Copy)]
pub(super) enum Key {
    Short(u128),
    Text,
}

impl Key {
    /// The key of the word of `len` bytes at `start` of `text`, `ascii` if it is all ASCII.
    /// Setting bit 5 of each byte lower-cases the letters and leaves digits and `'` alone.
    #[inline]
    pub(super) fn of(text: &[u8], start: usize, len: usize, ascii: bool) -> Key {
        if !ascii || len > SHORT_WORD {
            return Key::Text;
        }
        let raw = u128::from_le_bytes(load(text, start));
        Key::Short((raw | u128::from_le_bytes([0x20; 16])) & ((1u128 << (8 * len)) - 1))
    }
}

/// Lower-cases a word into `buf` (ASCII fast path), with curly apostrophes made straight.
pub(super) fn lower_into(w: &str, buf: &mut String) {
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
pub(super) fn normalise(text: &str, stemmer: Option<&Stemmer>) -> String {
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
/// lazy DFA) cannot run Unicode word boundaries on non-ASCII text and fall
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
pub(super) struct WordEntry {
    pub(super) ids: (u32, u32),
    pub(super) starts_phrase: bool,
    pub(super) extra: u32,
}

/// The regex clauses a word satisfies (its pieces), as bits from an offset in
/// [`WordTables::gates`] ([`NO_GATES`], a row of zeros, if none), and the word literals that
/// may stand in it, a range of [`WordTables::starts`].
#[derive(Clone, Copy)]
pub(super) struct WordExtra {
    pub(super) gates: u32,
    pub(super) starts: (u32, u32),
    /// Where the bits of the regexes of all those literals start in [`WordTables::masks`].
    pub(super) mask: u32,
}

impl WordExtra {
    pub(super) fn has_starts(&self) -> bool {
        self.starts.0 != self.starts.1
    }

    pub(super) fn is_empty(&self) -> bool {
        self.gates == NO_GATES && !self.has_starts()
    }
}

impl Default for WordExtra {
    fn default() -> WordExtra {
        WordExtra { gates: NO_GATES, starts: (0, 0), mask: 0 }
    }
}

/// The row of [`WordTables::gates`] of a word that satisfies no regex clause: all zeros, the
/// first, so that every word's row can be added in without a test.
pub(super) const NO_GATES: u32 = 0;

/// Per-thread cache of what the coder needs of each distinct word: fieldnotes reuse a small
/// vocabulary, and stemming a word costs more than a hash lookup.
#[derive(Default)]
pub(super) struct WordTables {
    /// ASCII words of up to [`SHORT_WORD`] bytes, by [`Key`].
    pub(super) short: FxHashMap<u128, WordEntry>,
    /// The words of `short` met last, one per slot by a hash of the key (0: none): most words
    /// are found there without a probe into the map.
    pub(super) recent: Vec<(u128, WordEntry)>,
    /// Other words, lower-cased.
    pub(super) long: FxHashMap<Box<str>, WordEntry>,
    pub(super) extras: Vec<WordExtra>,
    /// A row of zeros ([`NO_GATES`]), then for each extra with clauses, the bits of the clauses
    /// it satisfies; places where word literals may stand, of the extras; for each extra with
    /// places, the bits of their regexes.
    pub(super) gates: Vec<u64>,
    pub(super) starts: Vec<Start>,
    pub(super) masks: Vec<u64>,
    pub(super) lower: String,
}

impl WordTables {
    /// The entry of a word met lately.
    #[inline(always)]
    pub(super) fn recent_entry(&self, key: Key) -> Option<WordEntry> {
        match key {
            Key::Short(k) => {
                let (recent, entry) = self.recent[recent_slot(k)];
                (recent == k).then_some(entry)
            }
            Key::Text => None,
        }
    }

    /// Keeps a word's entry among the recent ones.
    pub(super) fn remember(&mut self, key: Key, entry: WordEntry) {
        match key {
            Key::Short(k) => self.recent[recent_slot(k)] = (k, entry),
            Key::Text => {}
        }
    }

    /// Empties the tables; `gate_words` is the length of a row of clause bits.
    pub(super) fn clear(&mut self, gate_words: usize) {
        self.short.clear();
        self.recent.clear();
        let none = WordEntry { ids: (NO_WORD, NO_WORD), starts_phrase: false, extra: 0 };
        self.recent.resize(1 << RECENT_BITS, (0, none));
        self.long.clear();
        self.extras.clear();
        self.extras.push(WordExtra::default());
        self.gates.clear();
        self.gates.resize(gate_words, 0);
        self.starts.clear();
        self.masks.clear();
    }
}

/// Per-thread working state of the coder.
#[derive(Default)]
pub(super) struct WordCache {
    /// The coder the entries belong to.
    pub(super) owner: Option<u64>,
    pub(super) tables: WordTables,
    pub(super) words: Vec<Word>,
    /// Scratch space for [`ascii_words_of`].
    pub(super) bits: Vec<u64>,
    /// Each word's ids, in the plain and the stemmed table.
    pub(super) word_ids: Vec<(u32, u32)>,
    /// The words a phrase of either table starts with.
    pub(super) keyed: Vec<u32>,
    /// Bits of the clauses the passage's words satisfy, and of the regexes they do not rule out.
    pub(super) satisfied: Vec<u64>,
    pub(super) open: Vec<u64>,
    /// Where each regex may match: (regex, byte offset).
    pub(super) candidates: Vec<(u32, usize)>,
    /// Words with word literals in them: (byte offset, extra).
    pub(super) placed: Vec<(usize, u32)>,
    /// Scratch space for a passage's hits and their code-point offsets.
    pub(super) raw: Vec<RawHit>,
    pub(super) char_at: Vec<(usize, usize)>,
    /// One search cache per regex of the owner (the regex's own pool is slower across threads).
    pub(super) regex_caches: Vec<meta::Cache>,
}

/// Slots of [`WordTables::recent`], as a power of two (32,768: 1 MB a thread). With 8,192 the
/// misses, each a probe into the map, were 3.7% of `code auto`'s samples at 100 MB; now 1.7%.
pub(super) const RECENT_BITS: u32 = 15;

/// The slot of a key in [`WordTables::recent`]: its two halves mixed into one, then
/// multiplied.
#[inline(always)]
pub(super) fn recent_slot(key: u128) -> usize {
    let mixed = (key as u64) ^ ((key >> 64) as u64).rotate_left(29);
    (mixed.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - RECENT_BITS)) as usize
}

/// Entries kept before the cache starts over (bounded memory on odd corpora).
pub(super) const MAX_CACHED_WORDS: usize = 200_000;
