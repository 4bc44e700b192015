//! Polars frames built from a loaded study.

use std::collections::{BTreeSet, HashMap};

use fieldnotes_coding::Codebook;
use fieldnotes_coding::units::PassageCodes;
use fieldnotes_corpus::{Corpus, Document, Passage, Value};
use polars::prelude::*;

use crate::Result;

/// Interns strings as `u32` indices.
#[derive(Default)]
pub(crate) struct Interner {
    /// The strings, at their indices.
    pub(crate) list: Vec<String>,
    /// Hashed by a multiplication a word at a time (`FxHash`): with SipHash, the store's names
    /// looked up for each coding were 1% of `code auto`'s instructions.
    index: rustc_hash::FxHashMap<String, u32>,
}

impl Interner {
    /// An interner holding `list` already, at its indices.
    pub(crate) fn from_list(list: Vec<String>) -> Interner {
        let index = list.iter().enumerate().map(|(i, s)| (s.clone(), i as u32)).collect();
        Interner { list, index }
    }

    /// The index of `s`, added if new.
    pub(crate) fn get(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        self.list.push(s.to_string());
        self.index.insert(s.to_string(), (self.list.len() - 1) as u32);
        (self.list.len() - 1) as u32
    }
}

/// What groups the columns of a table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupBy {
    /// A document attribute (`site`, `kind`, `author`, ...).
    Attribute(String),
    /// The year of the `date` attribute.
    Year,
    /// The speaker of a turn.
    Speaker,
    /// The section heading.
    Section,
}

impl GroupBy {
    /// From a name on the command line.
    pub fn parse(name: &str) -> GroupBy {
        match name {
            "year" => GroupBy::Year,
            "speaker" => GroupBy::Speaker,
            "section" => GroupBy::Section,
            other => GroupBy::Attribute(other.to_string()),
        }
    }

    /// The name, for captions.
    pub fn name(&self) -> &str {
        match self {
            GroupBy::Attribute(a) => a,
            GroupBy::Year => "year",
            GroupBy::Speaker => "speaker",
            GroupBy::Section => "section",
        }
    }

    /// The group of a passage; `(none)` where the attribute is missing.
    pub fn value(&self, d: &Document, p: &Passage) -> String {
        let v = match self {
            GroupBy::Attribute(a) => d.attributes.get(a).map(Value::group_label),
            GroupBy::Year => d.attributes.get("date").and_then(Value::year).map(|y| y.to_string()),
            GroupBy::Speaker => p.speaker.clone(),
            GroupBy::Section => p.section.clone(),
        };
        v.filter(|s| !s.is_empty()).unwrap_or_else(|| "(none)".to_string())
    }
}

/// The two frames every table starts from. Groups and codes are dictionary-encoded (`u32`
/// indices into [`Frames::groups`] and [`Frames::codes`]): grouping ten million rows by two
/// small integers is several times faster than by two strings.
///
/// A row stands for `n` passages of one note and group (and, in `coded`, one code), with their
/// words summed: one row per passage from a loaded study, one per note and group from the
/// report store, which adds them up as it makes them (4.5 million passages at 2 GB of notes are
/// 324,641 rows by site). A passage is in one row of `passages`, and in one row of `coded` per
/// code that counts there.
pub struct Frames {
    /// `doc` (u32), `group` (u32), `words` (u32), `n` (u32).
    pub passages: DataFrame,
    /// `doc`, `group`, `words`, `code` (u32), `n`.
    pub coded: DataFrame,
    /// Group names, sorted; `group` values index this.
    pub groups: Vec<String>,
    /// Code ids, codebook order first; `code` values index this.
    pub codes: Vec<String>,
}

/// The columns of a frame's rows ([`Frames::from_sums`]).
#[derive(Debug, Default)]
pub struct Rows {
    /// The note.
    pub doc: Vec<u32>,
    /// The group, an index into the groups given with the rows.
    pub group: Vec<u32>,
    /// The words of the row's passages.
    pub words: Vec<u32>,
    /// How many passages the row stands for.
    pub n: Vec<u32>,
    /// The code (coded rows only).
    pub code: Vec<u32>,
}

impl Rows {
    /// Counts a passage of note `doc` with `words` words in `group` (and `code`, for coded
    /// rows): in the row from `from` on that has them, or in a new row.
    pub(crate) fn add(&mut self, from: usize, doc: u32, group: u32, code: Option<u32>, words: u32) {
        let same = |i: &usize| self.group[*i] == group && code.is_none_or(|c| self.code[*i] == c);
        match (from..self.doc.len()).find(same) {
            Some(i) => {
                self.n[i] += 1;
                self.words[i] += words;
            }
            None => {
                self.doc.push(doc);
                self.group.push(group);
                self.n.push(1);
                self.words.push(words);
                self.code.extend(code);
            }
        }
    }
}

impl Frames {
    /// Builds the frames. `codes` maps (document, passage) to the codes that count there;
    /// with `rollup`, a code also counts for each of its ancestors.
    pub fn build(corpus: &Corpus, codes: &PassageCodes, book: &Codebook, by: &GroupBy, rollup: bool) -> Result<Frames> {
        let n = corpus.passage_count();
        let (mut doc, mut names, mut words) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::with_capacity(n));
        let mut first_unit = Vec::with_capacity(corpus.documents.len());
        for (di, d) in corpus.documents.iter().enumerate() {
            first_unit.push(doc.len());
            for p in &d.passages {
                doc.push(di as u32);
                names.push(by.value(d, p));
                words.push(p.words);
            }
        }
        let coded = codes
            .iter()
            .filter(|((di, pi), _)| *di < first_unit.len() && *pi < corpus.documents[*di].passages.len())
            .map(|((di, pi), set)| ((first_unit[*di] + pi) as u32, set.iter().map(String::as_str).collect::<Vec<_>>()));
        Frames::from_parts(doc, &names, words, coded, book, rollup)
    }

    /// Builds the frames from columns: per passage (unit `k` is index `k`) its document, group
    /// name and words; and per coded unit the codes that count there (each once).
    pub fn from_parts<'a>(
        doc: Vec<u32>,
        names: &[String],
        words: Vec<u32>,
        coded: impl Iterator<Item = (u32, Vec<&'a str>)>,
        book: &'a Codebook,
        rollup: bool,
    ) -> Result<Frames> {
        let mut groups = Interner::default();
        let group: Vec<u32> = names.iter().map(|n| groups.get(n)).collect();
        Frames::from_groups(doc, groups.list, group, words, coded, book, rollup)
    }

    /// [`Frames::from_parts`] with each passage's group given as an index into `groups` (the
    /// distinct group names, in any order), so that millions of passages need not each carry
    /// their group's name. The frames list the groups sorted by name.
    pub fn from_groups<'a>(
        doc: Vec<u32>,
        groups: Vec<String>,
        group: Vec<u32>,
        words: Vec<u32>,
        coded: impl Iterator<Item = (u32, Vec<&'a str>)>,
        book: &'a Codebook,
        rollup: bool,
    ) -> Result<Frames> {
        let mut code_ids: Vec<String> = book.codes.iter().map(|c| c.id.clone()).collect();
        let mut code_index: HashMap<String, u32> =
            code_ids.iter().enumerate().map(|(i, c)| (c.clone(), i as u32)).collect();
        let (mut cunit, mut ccode) = (Vec::new(), Vec::new());
        for (k, set) in coded {
            let mut all: BTreeSet<&str> = set.iter().copied().collect();
            if rollup {
                for c in set {
                    all.extend(book.ancestors(c));
                }
            }
            for c in all {
                let ci = match code_index.get(c) {
                    Some(&ci) => ci,
                    None => {
                        code_ids.push(c.to_string());
                        code_index.insert(c.to_string(), (code_ids.len() - 1) as u32);
                        (code_ids.len() - 1) as u32
                    }
                };
                cunit.push(k);
                ccode.push(ci);
            }
        }
        let coded = Rows {
            doc: cunit.iter().map(|&k| doc[k as usize]).collect(),
            group: cunit.iter().map(|&k| group[k as usize]).collect(),
            words: cunit.iter().map(|&k| words[k as usize]).collect(),
            n: vec![1; cunit.len()],
            code: ccode,
        };
        let n = vec![1; doc.len()];
        let passages = Rows { doc, group, words, n, code: Vec::new() };
        Frames::from_sums(groups, passages, coded, code_ids)
    }

    /// The frames from rows that each stand for `n` passages (see [`Frames`]); `passages.code`
    /// is not read. The groups are sorted by name, and the rows' `group` numbered to match.
    pub fn from_sums(groups: Vec<String>, mut passages: Rows, mut coded: Rows, codes: Vec<String>) -> Result<Frames> {
        let mut order: Vec<u32> = (0..groups.len() as u32).collect();
        order.sort_by(|&a, &b| groups[a as usize].cmp(&groups[b as usize]));
        let mut rank = vec![0u32; groups.len()];
        for (r, &i) in order.iter().enumerate() {
            rank[i as usize] = r as u32;
        }
        for g in passages.group.iter_mut().chain(coded.group.iter_mut()) {
            *g = rank[*g as usize];
        }
        let groups: Vec<String> = order.iter().map(|&i| groups[i as usize].clone()).collect();
        let Rows { doc, group, words, n, .. } = passages;
        let passages = df!("doc" => doc, "group" => group, "words" => words, "n" => n)?;
        let Rows { doc, group, words, n, code } = coded;
        let coded = df!("doc" => doc, "group" => group, "words" => words, "code" => code, "n" => n)?;
        Ok(Frames { passages, coded, groups, codes })
    }
}
