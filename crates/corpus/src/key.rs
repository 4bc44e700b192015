//! Passage keys: a passage's name within its note, made from its own words, so that an edit
//! elsewhere in the note leaves it alone.
//!
//! A key is `k` and seven base-32 characters (35 bits of an xxh3 hash of the passage's speaker
//! and text): `notes/fife/a.md#kq3x7fa2`. The same words by the same speaker give the same key
//! in every copy of the study, on every machine; nothing is stored to keep keys in step. Where a
//! note holds the same words more than once (`Yes.` in a transcript), each copy's key is made
//! from those words, the nearest passage before it whose words are its own, and how many copies
//! stand between the two, so a copy's key changes only when something near it changes.
//!
//! An edit inside a passage gives it a new key; the old one is then traced through the kept
//! versions of the note (see the coding crate's `versions`), never taken as another passage.

use rustc_hash::{FxHashMap, FxHashSet};
use std::fmt;

use crate::document::Passage;

/// Bits kept of the hash: seven base-32 characters.
const BITS: u32 = 35;
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A passage's key within its note (see the module docs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PassageKey(u64);

impl PassageKey {
    fn from_hash(h: u64) -> PassageKey {
        PassageKey(h & ((1 << BITS) - 1))
    }

    /// Parses `kq3x7fa2` (any case).
    pub fn parse(s: &str) -> Option<PassageKey> {
        let rest = s.strip_prefix(['k', 'K'])?;
        if rest.len() != 7 {
            return None;
        }
        let mut v = 0u64;
        for b in rest.bytes() {
            let d = ALPHABET.iter().position(|&a| a == b.to_ascii_lowercase())?;
            v = (v << 5) | d as u64;
        }
        Some(PassageKey(v))
    }
}

impl fmt::Display for PassageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut out = [b'k'; 8];
        for (i, slot) in out[1..].iter_mut().enumerate() {
            let shift = 5 * (6 - i);
            *slot = ALPHABET[((self.0 >> shift) & 31) as usize];
        }
        f.write_str(std::str::from_utf8(&out).unwrap_or("k???????"))
    }
}

impl serde::Serialize for PassageKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// The hash a passage's key starts from: its words, and its speaker when it is a turn.
fn own_hash(text: &str, speaker: Option<&str>) -> u64 {
    match speaker {
        Some(s) => xxhash_rust::xxh3::xxh3_64_with_seed(text.as_bytes(), xxhash_rust::xxh3::xxh3_64(s.as_bytes())),
        None => xxhash_rust::xxh3::xxh3_64(text.as_bytes()),
    }
}

fn mix(parts: &[u64]) -> u64 {
    let mut bytes = Vec::with_capacity(parts.len() * 8);
    for p in parts {
        bytes.extend_from_slice(&p.to_le_bytes());
    }
    xxhash_rust::xxh3::xxh3_64(&bytes)
}

/// Gives each passage of a note its key; `text` is the note's text, which the passages' byte
/// ranges slice.
pub(crate) fn assign_keys(text: &str, passages: &mut [Passage]) {
    let own: Vec<u64> =
        passages.iter().map(|p| own_hash(&text[p.byte_start..p.byte_end], p.speaker.as_deref())).collect();
    // Keys that are hashes already, hashed again by a multiplication (`FxHash`), not SipHash.
    let mut count: FxHashMap<u64, u32> = FxHashMap::with_capacity_and_hasher(own.len(), Default::default());
    for &h in &own {
        *count.entry(h).or_default() += 1;
    }
    // Copies since the last passage of words of its own, per hash.
    let mut since: FxHashMap<u64, u64> = FxHashMap::default();
    let mut anchor = 0u64;
    let mut keys: Vec<PassageKey> = Vec::with_capacity(own.len());
    for &h in &own {
        if count[&h] == 1 {
            anchor = h;
            since.clear();
            keys.push(PassageKey::from_hash(h));
        } else {
            let n = since.entry(h).or_default();
            *n += 1;
            keys.push(PassageKey::from_hash(mix(&[h, anchor, *n])));
        }
    }
    // Two different passages on one key (one note in tens of millions): the later ones take
    // the next key that is free, in order, so every key names one passage.
    let mut seen: FxHashSet<PassageKey> = FxHashSet::with_capacity_and_hasher(keys.len(), Default::default());
    for k in &mut keys {
        let mut salt = 0u64;
        while !seen.insert(*k) {
            salt += 1;
            *k = PassageKey::from_hash(mix(&[k.0, salt]));
        }
    }
    for (p, k) in passages.iter_mut().zip(keys) {
        p.key = k;
    }
}

/// How a passage id names its passage: by key (what ids print) or by position (`#3`, accepted
/// as input, as ids were once printed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PassageRef {
    /// `#kq3x7fa2`.
    Key(PassageKey),
    /// `#3`: the third passage of the note as it is now.
    Ordinal(u32),
}

/// Splits a passage id (`path#key` or `path#ordinal`) into path and reference.
pub fn split_passage_id(id: &str) -> Option<(&str, PassageRef)> {
    let (path, tail) = id.rsplit_once('#')?;
    if path.is_empty() {
        return None;
    }
    if let Some(k) = PassageKey::parse(tail) {
        return Some((path, PassageRef::Key(k)));
    }
    let ord: u32 = tail.parse().ok()?;
    (ord > 0).then_some((path, PassageRef::Ordinal(ord)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SplitOptions, parse_document};

    fn keys(text: &str, turns: bool) -> Vec<String> {
        let doc = parse_document("n.md".into(), text.into(), &SplitOptions { speaker_turns: turns }).unwrap();
        doc.passages.iter().map(|p| p.key.to_string()).collect()
    }

    #[test]
    fn keys_print_and_parse_back() {
        for h in [0u64, 1, 31, 32, (1 << 35) - 1, 0xdead_beef] {
            let k = PassageKey::from_hash(h);
            let s = k.to_string();
            assert_eq!(s.len(), 8);
            assert!(s.starts_with('k'));
            assert_eq!(PassageKey::parse(&s), Some(k));
            assert_eq!(PassageKey::parse(&s.to_uppercase()), Some(k));
        }
        assert_eq!(PassageKey::parse("k123"), None);
        assert_eq!(PassageKey::parse("kabcdef1"), None, "1 is not base-32");
        assert_eq!(split_passage_id("a#b.md#12"), Some(("a#b.md", PassageRef::Ordinal(12))));
        assert_eq!(split_passage_id("a.md#0"), None);
        assert_eq!(split_passage_id("#3"), None);
        let k = PassageKey::from_hash(77);
        assert_eq!(split_passage_id(&format!("a.md#{k}")), Some(("a.md", PassageRef::Key(k))));
    }

    #[test]
    fn an_edit_elsewhere_leaves_a_key_alone() {
        let before = keys("One two three.\n\nFour five six.\n\nSeven eight.\n", false);
        let after = keys("New words above.\n\nOne two three.\n\nFour FIVE six.\n\nSeven eight.\n", false);
        assert_eq!(after.len(), 4);
        assert_eq!(before[0], after[1]);
        assert_ne!(before[1], after[2], "an edited passage has a new key");
        assert_eq!(before[2], after[3]);
        // Each key names one passage.
        let mut sorted = after.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), after.len());
    }

    #[test]
    fn copies_of_the_same_words_differ_and_hold_near_their_neighbours() {
        let t = "A: Opening words here.\n\nB: Yes.\n\nA: Then a question?\n\nB: Yes.\n\nB: Yes.\n";
        let before = keys(t, true);
        let mut sorted = before.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 5, "{before:?}");
        // A turn inserted at the top changes no key; the same words by another speaker are
        // another passage.
        let after = keys(&format!("C: Welcome.\n\n{t}"), true);
        assert_eq!(&after[1..], &before[..]);
        let other = keys("A: Yes.\n\nB: Yes.\n", true);
        assert_ne!(other[0], other[1]);
    }

    mod prop {
        use super::keys;
        use proptest::prelude::*;

        fn paragraph() -> impl Strategy<Value = String> {
            // A small vocabulary, so that some paragraphs repeat.
            proptest::collection::vec(prop_oneof![Just("yes"), Just("no"), Just("the board"), Just("met")], 1..4)
                .prop_map(|w| format!("{}.", w.join(" ")))
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(500))]
            /// Keys are unique in a note, and a passage whose words appear once in the note before
            /// and after an edit elsewhere (an insert, a deletion or a rewrite of another passage)
            /// keeps its key.
            #[test]
            fn keys_hold_through_edits_elsewhere(
                paras in proptest::collection::vec(paragraph(), 1..12),
                at in 0usize..12,
                edit in 0u8..3,
                new in paragraph(),
            ) {
                let join = |ps: &[String]| ps.join("\n\n") + "\n";
                let before = keys(&join(&paras), false);
                let at = at % paras.len();
                let mut edited = paras.clone();
                // Where each old paragraph stands now (None: the one edited).
                let now: Vec<Option<usize>> = match edit {
                    0 => { edited.insert(at, new); (0..paras.len()).map(|i| Some(if i < at { i } else { i + 1 })).collect() }
                    1 => { edited.remove(at); (0..paras.len()).map(|i| (i != at).then(|| if i < at { i } else { i - 1 })).collect() }
                    _ => { edited[at] = format!("{new} again"); (0..paras.len()).map(|i| (i != at).then_some(i)).collect() }
                };
                let after = keys(&join(&edited), false);
                let mut distinct = after.clone();
                distinct.sort();
                distinct.dedup();
                prop_assert_eq!(distinct.len(), after.len());
                let once = |ps: &[String], t: &String| ps.iter().filter(|p| *p == t).count() == 1;
                for (i, j) in now.iter().enumerate() {
                    if let Some(j) = j && once(&paras, &paras[i]) && once(&edited, &paras[i]) {
                        prop_assert_eq!(&before[i], &after[*j], "{:?} -> {:?}", paras, edited);
                    }
                }
            }
        }
    }
}
