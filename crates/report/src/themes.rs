//! The theme table: codes (rows) by groups (columns), with totals.

use std::collections::HashMap;

use fieldnotes_coding::Codebook;
use polars::prelude::*;
use serde::Serialize;

use crate::frames::Frames;
use crate::{Error, Result};

/// What a unit of counting is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitKind {
    /// Passages carrying the code.
    Passages,
    /// Notes with at least one passage carrying the code.
    Documents,
    /// Words of the passages carrying the code.
    Words,
}

impl UnitKind {
    /// Plural name for captions.
    pub fn name(&self) -> &'static str {
        match self {
            UnitKind::Passages => "passages",
            UnitKind::Documents => "notes",
            UnitKind::Words => "words",
        }
    }
}

/// What a cell shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Measure {
    /// The number of units carrying the code.
    Count,
    /// That number as a percentage of the group's units.
    Share,
    /// Coded passages per 1,000 words of the group's text.
    Rate,
    /// The number of notes with the code.
    Docs,
}

/// Counts for one code in one group.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize)]
pub struct Cell {
    /// Passages carrying the code.
    pub passages: u64,
    /// Notes with the code.
    pub docs: u64,
    /// Words of the passages carrying the code.
    pub words: u64,
}

impl Cell {
    /// The count of `unit`s.
    pub fn of(&self, unit: UnitKind) -> u64 {
        match unit {
            UnitKind::Passages => self.passages,
            UnitKind::Documents => self.docs,
            UnitKind::Words => self.words,
        }
    }
}

/// A row of the table.
#[derive(Clone, Debug, Serialize)]
pub struct CodeRow {
    /// Code id.
    pub id: String,
    /// Code name.
    pub name: String,
    /// Depth in the code tree (0 for roots).
    pub depth: usize,
    /// One cell per group, then the total.
    pub cells: Vec<Cell>,
}

/// The theme table, with its counting rule.
#[derive(Clone, Debug, Serialize)]
pub struct ThemeTable {
    /// What the columns group by.
    pub by: String,
    /// The groups, sorted, then `total`.
    pub groups: Vec<String>,
    /// Size of each group (and the total): passages, notes, words.
    pub sizes: Vec<Cell>,
    /// Rows in tree order (each code followed by its sub-codes; otherwise codebook order).
    pub rows: Vec<CodeRow>,
    /// The counting unit.
    pub unit: UnitKind,
    /// The measure shown.
    pub measure: Measure,
    /// Which codings count (e.g. "accepted codings by all coders").
    pub codings: String,
    /// Codebook name and version.
    pub codebook: String,
    /// Whether children are rolled up into parents.
    pub rollup: bool,
    /// What the counts leave out (notes that could not be read, orphaned codings), as a
    /// sentence for the caption; empty when nothing was.
    pub left_out: String,
    /// Codes that codings use but the codebook does not have (renamed or removed), with the
    /// units carrying each: no row counts them, and the caption says so.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_in_codebook: Vec<(String, Cell)>,
}

impl ThemeTable {
    /// The unit of the group sizes a cell is read against: the table's unit for counts and
    /// shares, notes for `docs`, words for `rate`.
    pub fn size_unit(&self) -> UnitKind {
        match self.measure {
            Measure::Count | Measure::Share => self.unit,
            Measure::Docs => UnitKind::Documents,
            Measure::Rate => UnitKind::Words,
        }
    }

    /// The number a cell shows under the table's unit and measure; `None` where undefined
    /// (a share of an empty group).
    pub fn value(&self, row: usize, col: usize) -> Option<f64> {
        let c = &self.rows[row].cells[col];
        let s = &self.sizes[col];
        let (count, size) = (c.of(self.unit) as f64, s.of(self.unit) as f64);
        match self.measure {
            Measure::Count => Some(count),
            Measure::Docs => Some(c.docs as f64),
            Measure::Share => (size > 0.0).then(|| 100.0 * count / size),
            Measure::Rate => (s.words > 0).then(|| 1000.0 * c.passages as f64 / s.words as f64),
        }
    }

    /// A cell as text: integers for counts, one decimal for shares, two for rates.
    pub fn formatted(&self, row: usize, col: usize) -> String {
        match (self.value(row, col), self.measure) {
            (None, _) => "–".into(),
            (Some(v), Measure::Count | Measure::Docs) => format!("{v:.0}"),
            (Some(v), Measure::Share) => format!("{v:.1}"),
            (Some(v), Measure::Rate) => format!("{v:.2}"),
        }
    }

    /// The caption: what is counted, over which codings, with which codebook.
    pub fn caption(&self) -> String {
        let what = match (self.measure, self.unit) {
            // A passage carries a code, however few of its words a coding quotes: words are
            // counted by passage.
            (Measure::Count, UnitKind::Words) => {
                "Number of words in the passages carrying each code (a coding of a few words counts its whole passage)"
                    .to_string()
            }
            (Measure::Share, UnitKind::Words) => {
                "Percentage of each group's words that stand in passages carrying each code (a coding of a few words counts its whole passage)"
                    .to_string()
            }
            (Measure::Count, _) => format!("Number of {} carrying each code", self.unit.name()),
            (Measure::Share, _) => format!("Percentage of each group's {} carrying each code", self.unit.name()),
            (Measure::Rate, _) => "Coded passages per 1,000 words of each group's text".to_string(),
            (Measure::Docs, _) => "Number of notes with at least one passage carrying each code".to_string(),
        };
        let caption = format!(
            "{what}, by {}. A code counts once per unit however many codings or coders put it there; counted: {}; codebook: {}{}.",
            self.by,
            self.codings,
            self.codebook,
            if self.rollup { "; child codes also count for their parents" } else { "" }
        );
        let caption = if self.left_out.is_empty() { caption } else { format!("{caption} {}", self.left_out) };
        match self.not_in_codebook_clause() {
            Some(clause) => format!("{caption} {clause}"),
            None => caption,
        }
    }

    /// The codes codings use that the codebook does not have, as a sentence: no row counts
    /// them. `None` when there are none.
    pub fn not_in_codebook_clause(&self) -> Option<String> {
        if self.not_in_codebook.is_empty() {
            return None;
        }
        let unit = self.unit.name();
        let listed: Vec<String> =
            self.not_in_codebook.iter().map(|(code, c)| format!("`{code}`: {} {unit}", c.of(self.unit))).collect();
        Some(format!(
            "Not counted in any row: codings of {} code(s) the codebook does not have ({}); a code renamed in the codebook keeps its old id in the ledgers.",
            listed.len(),
            listed.join(", ")
        ))
    }
}

fn u64_at(df: &DataFrame, name: &str, i: usize) -> Result<u64> {
    let c = df.column(name)?.cast(&DataType::UInt64)?;
    Ok(c.u64()?.get(i).unwrap_or(0))
}

/// A dictionary-encoded column's value at row `i`, as its name.
fn name_at(dict: &[String], df: &DataFrame, name: &str, i: usize) -> Result<String> {
    let k = u64_at(df, name, i)? as usize;
    Ok(dict.get(k).cloned().unwrap_or_default())
}

/// Computes the theme table from the frames (polars, lazy). `frames.coded` must hold each
/// passage once per code, as [`crate::Frames::build`] and the report store make it.
pub fn theme_table(
    frames: &Frames,
    book: &Codebook,
    by: &str,
    unit: UnitKind,
    measure: Measure,
    codings: &str,
    rollup: bool,
) -> Result<ThemeTable> {
    // A row stands for `n` passages of one note (and group, and code: see `Frames`), each
    // passage in one row per code, so passages are summed; notes need `n_unique`.
    let aggs = || {
        [
            col("n").cast(DataType::UInt64).sum().alias("passages"),
            col("doc").n_unique().alias("docs"),
            col("words").cast(DataType::UInt64).sum().alias("words"),
        ]
    };
    let sizes = frames
        .passages
        .clone()
        .lazy()
        .group_by([col("group")])
        .agg(aggs())
        .sort(["group"], Default::default())
        .collect()?;
    let total_size = frames.passages.clone().lazy().select(aggs()).collect()?;
    let counts = frames.coded.clone().lazy().group_by([col("code"), col("group")]).agg(aggs()).collect()?;
    let totals = frames.coded.clone().lazy().group_by([col("code")]).agg(aggs()).collect()?;

    let mut groups = Vec::with_capacity(sizes.height() + 1);
    let mut size_cells = Vec::with_capacity(sizes.height() + 1);
    for i in 0..sizes.height() {
        groups.push(name_at(&frames.groups, &sizes, "group", i)?);
        size_cells.push(Cell {
            passages: u64_at(&sizes, "passages", i)?,
            docs: u64_at(&sizes, "docs", i)?,
            words: u64_at(&sizes, "words", i)?,
        });
    }
    groups.push("total".to_string());
    size_cells.push(if total_size.height() > 0 {
        Cell {
            passages: u64_at(&total_size, "passages", 0)?,
            docs: u64_at(&total_size, "docs", 0)?,
            words: u64_at(&total_size, "words", 0)?,
        }
    } else {
        Cell::default()
    });
    let gi: HashMap<&str, usize> = groups.iter().enumerate().map(|(i, g)| (g.as_str(), i)).collect();
    // Rows in tree order: a sub-code under its parent, wherever the codebook lists it.
    let order = book.tree_order();
    let ci: HashMap<&str, usize> = order.iter().enumerate().map(|(row, &i)| (book.codes[i].id.as_str(), row)).collect();
    let mut rows: Vec<CodeRow> = order
        .iter()
        .map(|&i| &book.codes[i])
        .map(|c| CodeRow {
            id: c.id.clone(),
            name: c.name.clone(),
            depth: book.depth(&c.id),
            cells: vec![Cell::default(); groups.len()],
        })
        .collect();
    for i in 0..counts.height() {
        let code = name_at(&frames.codes, &counts, "code", i)?;
        let group = name_at(&frames.groups, &counts, "group", i)?;
        let Some(&r) = ci.get(code.as_str()) else { continue };
        let Some(&g) = gi.get(group.as_str()) else { continue };
        rows[r].cells[g] = Cell {
            passages: u64_at(&counts, "passages", i)?,
            docs: u64_at(&counts, "docs", i)?,
            words: u64_at(&counts, "words", i)?,
        };
    }
    let last = groups.len() - 1;
    let mut not_in_codebook = Vec::new();
    for i in 0..totals.height() {
        let code = name_at(&frames.codes, &totals, "code", i)?;
        let cell = Cell {
            passages: u64_at(&totals, "passages", i)?,
            docs: u64_at(&totals, "docs", i)?,
            words: u64_at(&totals, "words", i)?,
        };
        match ci.get(code.as_str()) {
            Some(&r) => rows[r].cells[last] = cell,
            None if cell.passages > 0 => not_in_codebook.push((code, cell)),
            None => {}
        }
    }
    not_in_codebook.sort_by(|a, b| a.0.cmp(&b.0));
    if book.codes.is_empty() {
        return Err(Error::Invalid("the codebook has no codes".into()));
    }
    let codebook = format!(
        "{} (version {})",
        if book.codebook.name.is_empty() { "unnamed codebook" } else { &book.codebook.name },
        if book.codebook.version.is_empty() { "unversioned" } else { &book.codebook.version }
    );
    Ok(ThemeTable {
        by: by.to_string(),
        groups,
        sizes: size_cells,
        rows,
        unit,
        measure,
        codings: codings.to_string(),
        codebook,
        rollup,
        left_out: String::new(),
        not_in_codebook,
    })
}
