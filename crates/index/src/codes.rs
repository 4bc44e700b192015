//! The codes of passages, from outside the index. Codes do not live in the text index: coding
//! a passage would rewrite its note's documents, and a coding would not be searchable until the
//! index was brought up to date. The caller hands the index the codes placed on the current notes
//! (the CLI takes them from the report store), and `code:` finds passages through them: every
//! passage document has a fast field `at`, a 64-bit hash of its note's path and its ordinal, and
//! [`PassageSetQuery`] keeps the documents whose `at` is among the hashes of the passages a code
//! stands on (a scan of the column per segment, not a term per passage).

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};
use tantivy::query::{BitSetDocSet, ConstScorer, EnableScoring, Explanation, Query, Scorer, Weight};
use tantivy::{BitSet, DocId, Score, SegmentReader};

/// Which codes a passage carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PassageCodes {
    /// Codes of accepted codings (by anyone), sorted.
    pub accepted: Vec<String>,
    /// Codes suggested there and not accepted, sorted.
    pub suggested: Vec<String>,
}

/// The `at` value of a passage: the xxh3 of its note's path, seeded with its ordinal. Two of the
/// 4.5 million passages of 2 GB of notes share one with a chance of about one in two million.
pub fn at_key(path: &str, ordinal: u64) -> u64 {
    xxhash_rust::xxh3::xxh3_64_with_seed(path.as_bytes(), ordinal)
}

/// The codes of every coded passage: rows of (note, ordinal, code, accepted), in any order, with
/// the notes' paths and the codes' names listed once.
#[derive(Clone, Debug, Default)]
pub struct Codes {
    paths: Vec<String>,
    names: Vec<String>,
    rows: Vec<Row>,
}

#[derive(Clone, Copy, Debug)]
struct Row {
    path: u32,
    ordinal: u32,
    code: u32,
    /// Of an accepted coding (else only suggested there).
    accepted: bool,
}

impl Codes {
    /// No codes.
    pub fn new() -> Codes {
        Codes::default()
    }

    /// The codes of `rows`: (index into `paths`, passage ordinal, index into `names`, of an
    /// accepted coding), in any order, repeats allowed. A code both accepted and suggested on one
    /// passage counts as accepted. Rows naming a path or name that is not there are left out.
    pub fn from_parts(
        paths: Vec<String>,
        names: Vec<String>,
        rows: impl IntoIterator<Item = (u32, u32, u32, bool)>,
    ) -> Codes {
        let (np, nn) = (paths.len(), names.len());
        let rows = rows
            .into_iter()
            .filter(|&(p, _, c, _)| (p as usize) < np && (c as usize) < nn)
            .map(|(path, ordinal, code, accepted)| Row { path, ordinal, code, accepted })
            .collect();
        Codes { paths, names, rows }
    }

    /// [`Codes::from_parts`] from rows that name their note and code.
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = (&'a str, u32, &'a str, bool)>) -> Codes {
        let mut path_ids: HashMap<&str, u32> = HashMap::new();
        let mut code_ids: HashMap<&str, u32> = HashMap::new();
        let (mut paths, mut names): (Vec<String>, Vec<String>) = (Vec::new(), Vec::new());
        let mut out = Vec::new();
        for (path, ordinal, code, accepted) in rows {
            let p = *path_ids.entry(path).or_insert_with(|| {
                paths.push(path.to_string());
                (paths.len() - 1) as u32
            });
            let c = *code_ids.entry(code).or_insert_with(|| {
                names.push(code.to_string());
                (names.len() - 1) as u32
            });
            out.push((p, ordinal, c, accepted));
        }
        Codes::from_parts(paths, names, out)
    }

    /// The codes of each of `passages` (note path, ordinal), in their order: one pass over the
    /// rows however many are asked.
    pub fn of_many(&self, passages: &[(&str, u64)]) -> Vec<Option<PassageCodes>> {
        // The asked notes are found among all the paths, and each row's note is checked in a
        // table of flags before its passage is looked up: hashing every path and every row's
        // (note, ordinal) took 0.1 s for the ten hits of a search at 2 GB of notes.
        let asked: FxHashSet<&str> = passages.iter().map(|(p, _)| *p).collect();
        let mut path_ids: FxHashMap<&str, u32> = Default::default();
        let mut is_asked = vec![false; self.paths.len()];
        for (i, p) in self.paths.iter().enumerate() {
            if asked.contains(p.as_str()) {
                path_ids.insert(p.as_str(), i as u32);
                is_asked[i] = true;
            }
        }
        let mut wanted: FxHashMap<(u32, u32), usize> = Default::default();
        for (i, (path, ordinal)) in passages.iter().enumerate() {
            if let (Some(&p), Ok(o)) = (path_ids.get(path), u32::try_from(*ordinal)) {
                wanted.insert((p, o), i);
            }
        }
        let mut found: Vec<(BTreeSet<&str>, BTreeSet<&str>)> = vec![Default::default(); passages.len()];
        let mut any = vec![false; passages.len()];
        for r in &self.rows {
            if !is_asked[r.path as usize] {
                continue;
            }
            if let Some(&i) = wanted.get(&(r.path, r.ordinal)) {
                let name = self.names[r.code as usize].as_str();
                if r.accepted { &mut found[i].0 } else { &mut found[i].1 }.insert(name);
                any[i] = true;
            }
        }
        found
            .into_iter()
            .zip(any)
            .map(|((acc, sug), any)| {
                any.then(|| PassageCodes {
                    suggested: sug.difference(&acc).map(|c| c.to_string()).collect(),
                    accepted: acc.into_iter().map(str::to_string).collect(),
                })
            })
            .collect()
    }

    /// The codes of one passage, if it has any.
    pub fn of(&self, path: &str, ordinal: u64) -> Option<PassageCodes> {
        self.of_many(&[(path, ordinal)]).pop().flatten()
    }

    /// Whether no passage is coded.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Every code some passage carries (accepted, and with `include_suggested` suggested),
    /// lower-cased.
    pub fn names(&self, include_suggested: bool) -> BTreeSet<String> {
        let mut used = vec![false; self.names.len()];
        for r in self.rows.iter().filter(|r| r.accepted || include_suggested) {
            used[r.code as usize] = true;
        }
        self.names.iter().zip(used).filter(|(_, u)| *u).map(|(n, _)| n.to_lowercase()).collect()
    }

    /// The `at` keys of the passages carrying a code that `wanted` takes (given the code
    /// lower-cased). Hashed with FxHash: the keys are hashes already, and the scan of a segment
    /// looks up every passage (4.5 million at 2 GB of notes took 0.15 s with std's SipHash).
    pub(crate) fn keys(&self, include_suggested: bool, wanted: &dyn Fn(&str) -> bool) -> FxHashSet<u64> {
        let takes: Vec<bool> = self.names.iter().map(|n| wanted(&n.to_lowercase())).collect();
        self.rows
            .iter()
            .filter(|r| (r.accepted || include_suggested) && takes[r.code as usize])
            .map(|r| at_key(&self.paths[r.path as usize], u64::from(r.ordinal)))
            .collect()
    }
}

/// The passages whose `at` key is in a set: what `code:` compiles to.
#[derive(Clone, Debug)]
pub(crate) struct PassageSetQuery {
    field: String,
    keys: Arc<FxHashSet<u64>>,
}

impl PassageSetQuery {
    pub(crate) fn new(field: &str, keys: FxHashSet<u64>) -> PassageSetQuery {
        PassageSetQuery { field: field.to_string(), keys: Arc::new(keys) }
    }
}

impl Query for PassageSetQuery {
    fn weight(&self, _scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        Ok(Box::new(self.clone()))
    }
}

impl Weight for PassageSetQuery {
    fn scorer(&self, reader: &SegmentReader, boost: Score) -> tantivy::Result<Box<dyn Scorer>> {
        let column = reader.fast_fields().u64(&self.field)?;
        let max = reader.max_doc();
        let mut bits = BitSet::with_max_value(max);
        if matches!(column.index, tantivy::columnar::ColumnIndex::Full) && column.values.num_vals() == max {
            // Every passage has its key: the column is read in runs, not a document at a time
            // through its index (4.5 million at 2 GB of notes).
            let mut run = vec![0u64; 4096];
            let mut start = 0u32;
            while start < max {
                let n = (max - start).min(run.len() as u32);
                let run = &mut run[..n as usize];
                column.values.get_range(u64::from(start), run);
                for (i, k) in run.iter().enumerate() {
                    if self.keys.contains(k) {
                        bits.insert(start + i as u32);
                    }
                }
                start += n;
            }
        } else {
            for doc in 0..max {
                if column.first(doc).is_some_and(|k| self.keys.contains(&k)) {
                    bits.insert(doc);
                }
            }
        }
        Ok(Box::new(ConstScorer::new(BitSetDocSet::from(bits), boost)))
    }

    fn explain(&self, reader: &SegmentReader, doc: DocId) -> tantivy::Result<Explanation> {
        let column = reader.fast_fields().u64(&self.field)?;
        let found = column.first(doc).is_some_and(|k| self.keys.contains(&k));
        Ok(Explanation::new(if found { "the passage carries the code" } else { "no such code here" }, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepted_wins_over_suggested_and_codes_stay_sorted() {
        let c = Codes::from_rows([
            ("b.md", 3, "trust", false),
            ("a.md", 1, "trust", false),
            ("a.md", 1, "time", true),
            ("a.md", 1, "trust", true),
            ("a.md", 1, "trust", false),
            ("a.md", 1, "context", false),
        ]);
        assert_eq!(c.of("b.md", 3).unwrap().suggested, ["trust"]);
        let p = c.of("a.md", 1).unwrap();
        assert_eq!(p.accepted, ["time", "trust"]);
        assert_eq!(p.suggested, ["context"]);
        assert!(c.of("a.md", 2).is_none());
        assert!(c.of("c.md", 1).is_none());
        assert_eq!(c.names(false).into_iter().collect::<Vec<_>>(), ["time", "trust"]);
        assert_eq!(c.names(true).len(), 3);
        let trust = c.keys(false, &|n| n == "trust");
        assert_eq!(trust, FxHashSet::from_iter([at_key("a.md", 1)]));
        assert_eq!(c.keys(true, &|n| n == "trust").len(), 2);
        assert_ne!(at_key("a.md", 1), at_key("a.md", 2));
    }
}
