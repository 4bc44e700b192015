//! The codes of passages, from outside the index. Codes do not live in the text index: coding
//! a passage would rewrite its note's documents, and a coding would not be searchable until the
//! index was brought up to date. The caller hands the index the codes placed on the current notes
//! (the CLI takes them from the report store), and `code:` finds passages through them: the
//! passages a code stands on become terms of the `at` field, which names each passage by its
//! note and position.

use std::collections::{BTreeSet, HashMap};

use tantivy::Term;
use tantivy::schema::Field;

/// Which codes a passage carries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PassageCodes {
    /// Codes of accepted codings (by anyone), sorted.
    pub accepted: Vec<String>,
    /// Codes suggested there and not accepted, sorted.
    pub suggested: Vec<String>,
}

/// The codes of every coded passage, by note path and passage ordinal: compact rows sorted by
/// note and passage, made once per search from the caller's table.
#[derive(Clone, Debug, Default)]
pub struct Codes {
    /// Note paths, sorted.
    paths: Vec<String>,
    /// Code ids as written.
    names: Vec<String>,
    /// Sorted by (path, ordinal, code); one row per code on a passage.
    rows: Vec<Row>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Row {
    path: u32,
    ordinal: u32,
    code: u32,
    /// Of an accepted coding (else only suggested there).
    accepted: bool,
}

/// The `at` term of a passage: its ordinal, a colon and its note's path.
pub(crate) fn at_text(path: &str, ordinal: u64) -> String {
    format!("{ordinal}:{path}")
}

impl Codes {
    /// No codes.
    pub fn new() -> Codes {
        Codes::default()
    }

    /// The codes of `rows`: (note path, passage ordinal, code, of an accepted coding), in any
    /// order, repeats allowed. A code both accepted and suggested on one passage counts as
    /// accepted.
    pub fn from_rows<'a>(rows: impl IntoIterator<Item = (&'a str, u32, &'a str, bool)>) -> Codes {
        let mut path_ids: HashMap<&str, u32> = HashMap::new();
        let mut code_ids: HashMap<&str, u32> = HashMap::new();
        let (mut paths, mut names): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
        let mut raw = Vec::new();
        for (path, ordinal, code, accepted) in rows {
            let p = *path_ids.entry(path).or_insert_with(|| {
                paths.push(path);
                (paths.len() - 1) as u32
            });
            let c = *code_ids.entry(code).or_insert_with(|| {
                names.push(code);
                (names.len() - 1) as u32
            });
            raw.push(Row { path: p, ordinal, code: c, accepted });
        }
        // Paths in order, so that a passage is found by binary search.
        let mut order: Vec<u32> = (0..paths.len() as u32).collect();
        order.sort_unstable_by_key(|&i| paths[i as usize]);
        let mut rank = vec![0u32; paths.len()];
        for (r, &i) in order.iter().enumerate() {
            rank[i as usize] = r as u32;
        }
        for row in &mut raw {
            row.path = rank[row.path as usize];
        }
        // Accepted sorts after suggested: of a (passage, code), the last row is the one to keep.
        raw.sort_unstable();
        let mut rows: Vec<Row> = Vec::with_capacity(raw.len());
        for row in raw {
            match rows.last_mut() {
                Some(last) if (last.path, last.ordinal, last.code) == (row.path, row.ordinal, row.code) => *last = row,
                _ => rows.push(row),
            }
        }
        Codes {
            paths: order.iter().map(|&i| paths[i as usize].to_string()).collect(),
            names: names.into_iter().map(str::to_string).collect(),
            rows,
        }
    }

    /// The codes of one passage, if it has any.
    pub fn of(&self, path: &str, ordinal: u64) -> Option<PassageCodes> {
        let p = self.paths.binary_search_by(|x| x.as_str().cmp(path)).ok()? as u32;
        let ordinal = u32::try_from(ordinal).ok()?;
        let from = self.rows.partition_point(|r| (r.path, r.ordinal) < (p, ordinal));
        let to = self.rows.partition_point(|r| (r.path, r.ordinal) <= (p, ordinal));
        if from == to {
            return None;
        }
        let mut out = PassageCodes::default();
        for r in &self.rows[from..to] {
            let name = self.names[r.code as usize].clone();
            if r.accepted { &mut out.accepted } else { &mut out.suggested }.push(name);
        }
        out.accepted.sort();
        out.suggested.sort();
        Some(out)
    }

    /// Number of coded passages.
    pub fn len(&self) -> usize {
        let mut n = 0;
        let mut last = None;
        for r in &self.rows {
            if last != Some((r.path, r.ordinal)) {
                n += 1;
                last = Some((r.path, r.ordinal));
            }
        }
        n
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

    /// The `at` terms of the passages carrying a code that `wanted` takes (given the code
    /// lower-cased).
    pub(crate) fn at_terms(&self, field: Field, include_suggested: bool, wanted: &dyn Fn(&str) -> bool) -> Vec<Term> {
        let takes: Vec<bool> = self.names.iter().map(|n| wanted(&n.to_lowercase())).collect();
        let mut out = Vec::new();
        let mut last = None;
        for r in &self.rows {
            if (r.accepted || include_suggested) && takes[r.code as usize] && last != Some((r.path, r.ordinal)) {
                last = Some((r.path, r.ordinal));
                out.push(Term::from_field_text(field, &at_text(&self.paths[r.path as usize], u64::from(r.ordinal))));
            }
        }
        out
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
        assert_eq!(c.len(), 2);
        assert_eq!(c.names(false).into_iter().collect::<Vec<_>>(), ["time", "trust"]);
        assert_eq!(c.names(true).len(), 3);
    }
}
