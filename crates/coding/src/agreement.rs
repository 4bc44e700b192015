//! Inter-coder agreement statistics.
//!
//! The input is a [`Ratings`] table: one row per unit (a segment, a document,
//! an utterance ...), one column per coder, and `None` where a coder did not
//! rate a unit. Ratings are numbers; for nominal codes use any numbering of
//! the categories (only equality matters for the nominal coefficients).
//!
//! | function | coders | chance model |
//! |----------|--------|--------------|
//! | [`percent_agreement`] | any | none |
//! | [`cohen_kappa`] | exactly 2 | each coder's own marginals |
//! | [`scott_pi`] | exactly 2 | pooled marginals |
//! | [`fleiss_kappa`] | any, missing allowed | pooled marginals |
//! | [`conger_kappa`] | any, missing allowed | mean of pairwise Cohen-type chance agreements |
//! | [`krippendorff_alpha`] | any, missing allowed | pooled pairable values, any [`Metric`] |
//! | [`brennan_prediger`] | any, missing allowed | uniform over the categories |
//! | [`gwet_ac1`] | any, missing allowed | Gwet's "hard to score" model |
//!
//! Conventions shared by all coefficients:
//!
//! * A unit contributes to observed agreement only if at least two coders rated
//!   it. Units with a single rating never form a pair; they are ignored by
//!   percent agreement and alpha, but (following Gwet 2014) they do enter the
//!   category proportions of Fleiss' kappa, Conger's kappa and AC1.
//! * Every [`Estimate`] carries the observed agreement `observed` (p_a) and the
//!   chance agreement `expected` (p_e), with `value = (observed - expected) /
//!   (1 - expected)`.
//! * When chance agreement is perfect (every rating has the same value), the
//!   chance-corrected coefficients are 0/0; they return
//!   [`AgreementError::NoVariation`] instead of NaN. No function returns NaN or
//!   infinity inside `Ok`.
//! * Confidence intervals are Wald intervals, `value ± 1.96 · se`, with the upper
//!   bound capped at 1.
//!
//! References: Krippendorff (2011) "Computing Krippendorff's alpha-reliability";
//! Fleiss (1971); Fleiss, Cohen & Everitt (1969); Gwet (2014) "Handbook of
//! Inter-Rater Reliability", 4th ed.; Brennan & Prediger (1981); Conger (1980).

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;

/// The 97.5 % quantile of the standard normal distribution.
const Z_975: f64 = 1.959_963_984_540_054;

/// Chance agreement closer to 1 than this is treated as perfect.
const EPS: f64 = 1e-12;

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

/// Everything that can make an agreement statistic impossible to compute.
#[derive(Debug, Clone, PartialEq)]
pub enum AgreementError {
    /// The coder list is empty.
    NoCoders,
    /// Two coders share a name.
    DuplicateCoder {
        /// The repeated name.
        name: String,
    },
    /// A row does not have one entry per column.
    RowWidth {
        /// Index of the offending row (0-based).
        unit: usize,
        /// Number of entries each row must have.
        expected: usize,
        /// Number of entries the row has.
        found: usize,
    },
    /// A rating is NaN or infinite.
    NonFiniteValue {
        /// Index of the unit (0-based).
        unit: usize,
        /// Name of the coder.
        coder: String,
    },
    /// No unit was rated by at least two coders, so no pair of ratings exists.
    NoPairableUnits,
    /// Every (pairable) rating has the same value: agreement is perfect, but
    /// chance agreement is perfect too, so chance-corrected coefficients are
    /// undefined.
    NoVariation,
    /// A two-coder statistic was given a different number of coders.
    WrongCoderCount {
        /// The statistic that was asked for.
        statistic: &'static str,
        /// The number of coders in the table.
        found: usize,
    },
    /// The number of categories given to [`brennan_prediger`] is too small.
    TooFewCategories {
        /// The number of categories that was passed.
        given: usize,
        /// The number of distinct values the ratings use.
        observed: usize,
    },
    /// The ratio metric was used with a negative value.
    NegativeRatioValue {
        /// The offending value.
        value: f64,
    },
    /// A caller-supplied difference function returned a negative or non-finite
    /// value.
    InvalidDistance {
        /// First value of the pair.
        a: f64,
        /// Second value of the pair.
        b: f64,
        /// What the function returned.
        distance: f64,
    },
    /// A parameter is out of range.
    InvalidArgument {
        /// Name of the parameter.
        name: &'static str,
        /// What the parameter must satisfy.
        reason: &'static str,
    },
    /// No bootstrap resample produced a defined coefficient.
    NoValidResamples {
        /// Number of resamples that were drawn.
        resamples: usize,
    },
    /// A computation produced NaN or infinity (should not happen with valid
    /// input; reported rather than returned).
    NotFinite {
        /// The statistic being computed.
        statistic: &'static str,
    },
}

impl fmt::Display for AgreementError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoCoders => {
                write!(f, "No coders were given; pass at least one coder name, with one rating column per coder")
            }
            Self::DuplicateCoder { name } => {
                write!(f, "Coder name \"{name}\" appears more than once; give every coder a unique name")
            }
            Self::RowWidth { unit, expected, found } => write!(
                f,
                "Row {unit} (0-based) has {found} entries but {expected} were expected; \
                 give every unit one entry per column, using None where a coder did not rate it"
            ),
            Self::NonFiniteValue { unit, coder } => write!(
                f,
                "The rating of unit {unit} (0-based) by coder \"{coder}\" is NaN or infinite; \
                 use None for a missing rating and finite numbers otherwise"
            ),
            Self::NoPairableUnits => write!(
                f,
                "No unit was rated by at least two coders, so there is no pair of ratings to compare; \
                 have at least two coders rate the same units"
            ),
            Self::NoVariation => write!(
                f,
                "Every rating has the same value: agreement is perfect, but chance agreement is perfect \
                 too, so chance-corrected coefficients are undefined; report percent agreement instead, \
                 or include material on which the codes vary"
            ),
            Self::WrongCoderCount { statistic, found } => write!(
                f,
                "{statistic} needs exactly two coders but the table has {found}; select two coders, \
                 or use fleiss_kappa or krippendorff_alpha for any number of coders"
            ),
            Self::TooFewCategories { given, observed } => write!(
                f,
                "The number of categories is {given} but the ratings use {observed} distinct values; \
                 pass at least 2 and at least the number of categories actually used, or None to count them"
            ),
            Self::NegativeRatioValue { value } => write!(
                f,
                "The ratio metric needs non-negative values but the ratings contain {value}; \
                 use the interval metric for data that can be negative"
            ),
            Self::InvalidDistance { a, b, distance } => write!(
                f,
                "The difference function returned {distance} for the values {a} and {b}; \
                 it must return a finite, non-negative number"
            ),
            Self::InvalidArgument { name, reason } => {
                write!(f, "Invalid value for `{name}`: it {reason}")
            }
            Self::NoValidResamples { resamples } => write!(
                f,
                "None of the {resamples} bootstrap resamples produced a defined alpha \
                 (each lacked variation); use more units or more resamples"
            ),
            Self::NotFinite { statistic } => {
                write!(f, "Computing {statistic} produced NaN or infinity; check the ratings for extreme values")
            }
        }
    }
}

impl std::error::Error for AgreementError {}

// ---------------------------------------------------------------------------
// Input table
// ---------------------------------------------------------------------------

/// A units × coders table of ratings; `None` = the coder did not rate that unit.
///
/// Units rated alike are kept once, as a *kind*, and each unit as the number of its kind, in
/// the order the units came: a table of 1.6 million units of few kinds (presence and absence
/// of codes) is a few megabytes, and every coefficient goes through the units in that order,
/// as it would through the rows themselves.
#[derive(Debug, Clone)]
pub struct Ratings {
    coders: Vec<String>,
    /// The distinct rows, one entry per coder.
    kinds: Vec<Vec<Option<f64>>>,
    /// Each unit's row, as its number in `kinds`.
    unit_kind: Vec<u32>,
}

impl PartialEq for Ratings {
    fn eq(&self, other: &Self) -> bool {
        self.coders == other.coders
            && self.unit_kind.len() == other.unit_kind.len()
            && self.rows().zip(other.rows()).all(|(a, b)| a == b)
    }
}

impl Ratings {
    /// Builds a table from coder names and one row per unit.
    ///
    /// Each row must have one entry per coder. Values must be finite; `-0.0`
    /// is stored as `0.0`.
    ///
    /// # Errors
    /// [`AgreementError::NoCoders`], [`AgreementError::DuplicateCoder`],
    /// [`AgreementError::RowWidth`] or [`AgreementError::NonFiniteValue`].
    pub fn new(coders: Vec<String>, units: Vec<Vec<Option<f64>>>) -> Result<Self, AgreementError> {
        Self::check_coders(&coders)?;
        let mut kinds: Vec<Vec<Option<f64>>> = Vec::new();
        let mut known: HashMap<Vec<Option<u64>>, u32> = HashMap::new();
        let mut unit_kind = Vec::with_capacity(units.len());
        for (u, mut row) in units.into_iter().enumerate() {
            Self::check_row(&coders, u, &mut row)?;
            let key: Vec<Option<u64>> = row.iter().map(|v| v.map(f64::to_bits)).collect();
            let kind = *known.entry(key).or_insert_with(|| {
                kinds.push(row);
                (kinds.len() - 1) as u32
            });
            unit_kind.push(kind);
        }
        Ok(Self { coders, kinds, unit_kind })
    }

    /// Builds a table from coder names, the distinct rows (`kinds`, one entry per coder) and
    /// each unit's row as its number in `kinds`, in order: [`Ratings::new`] of the rows
    /// `unit_kind` names, without a row per unit.
    ///
    /// # Errors
    /// As [`Ratings::new`] (a unit named is the first of its kind), and
    /// [`AgreementError::InvalidArgument`] if `unit_kind` names a row `kinds` does not have.
    pub fn from_kinds(
        coders: Vec<String>,
        mut kinds: Vec<Vec<Option<f64>>>,
        unit_kind: Vec<u32>,
    ) -> Result<Self, AgreementError> {
        Self::check_coders(&coders)?;
        if unit_kind.iter().any(|&k| k as usize >= kinds.len()) {
            return Err(AgreementError::InvalidArgument {
                name: "unit_kind",
                reason: "names a row that is not among the kinds",
            });
        }
        // A row at fault is named by the first unit of its kind.
        let mut first: Vec<Option<usize>> = vec![None; kinds.len()];
        for (u, &k) in unit_kind.iter().enumerate() {
            first[k as usize].get_or_insert(u);
        }
        for (row, first) in kinds.iter_mut().zip(first) {
            Self::check_row(&coders, first.unwrap_or(0), row)?;
        }
        Ok(Self { coders, kinds, unit_kind })
    }

    fn check_coders(coders: &[String]) -> Result<(), AgreementError> {
        if coders.is_empty() {
            return Err(AgreementError::NoCoders);
        }
        let mut seen = std::collections::HashSet::new();
        for name in coders {
            if !seen.insert(name.as_str()) {
                return Err(AgreementError::DuplicateCoder { name: name.clone() });
            }
        }
        Ok(())
    }

    /// Checks unit `u`'s row and turns its -0.0 into 0.0.
    fn check_row(coders: &[String], u: usize, row: &mut [Option<f64>]) -> Result<(), AgreementError> {
        if row.len() != coders.len() {
            return Err(AgreementError::RowWidth { unit: u, expected: coders.len(), found: row.len() });
        }
        for (cell, coder) in row.iter_mut().zip(coders) {
            if let Some(v) = cell {
                if !v.is_finite() {
                    return Err(AgreementError::NonFiniteValue { unit: u, coder: coder.clone() });
                }
                // Adding 0.0 turns -0.0 into 0.0 and leaves every other value unchanged.
                *v += 0.0;
            }
        }
        Ok(())
    }

    /// Builds a table from per-unit category counts, the input format of
    /// Fleiss (1971): `counts[u][k]` coders put unit `u` in category `k`.
    ///
    /// Category `k` is stored as the value `k as f64`. The coders are
    /// anonymous (`"rater 1"`, `"rater 2"`, ...) and as many as the largest
    /// row total; a unit with a smaller total gets `None` for the rest. Since
    /// coder identity is invented, use the result only with coefficients that
    /// treat coders as interchangeable (percent agreement, Fleiss, alpha,
    /// Brennan-Prediger, AC1), not with Cohen's or Conger's kappa.
    ///
    /// # Errors
    /// [`AgreementError::RowWidth`] if the rows have different lengths.
    pub fn from_category_counts(counts: &[Vec<usize>]) -> Result<Self, AgreementError> {
        let width = counts.first().map_or(0, Vec::len);
        if let Some((unit, row)) = counts.iter().enumerate().find(|(_, row)| row.len() != width) {
            return Err(AgreementError::RowWidth { unit, expected: width, found: row.len() });
        }
        let n_coders = counts.iter().map(|row| row.iter().sum::<usize>()).max().unwrap_or(0).max(1);
        let coders = (1..=n_coders).map(|i| format!("rater {i}")).collect();
        let units = counts
            .iter()
            .map(|row| {
                let mut out: Vec<Option<f64>> =
                    row.iter().enumerate().flat_map(|(k, &c)| std::iter::repeat_n(Some(k as f64), c)).collect();
                out.resize(n_coders, None);
                out
            })
            .collect();
        Self::new(coders, units)
    }

    /// Builds a two-coder table from a square contingency table:
    /// `table[i][j]` units were put in category `i` by coder `"A"` and in
    /// category `j` by coder `"B"`. Category `k` is stored as `k as f64`.
    ///
    /// # Errors
    /// [`AgreementError::RowWidth`] if the table is not square.
    pub fn from_contingency(table: &[Vec<usize>]) -> Result<Self, AgreementError> {
        let q = table.len();
        if let Some((unit, row)) = table.iter().enumerate().find(|(_, row)| row.len() != q) {
            return Err(AgreementError::RowWidth { unit, expected: q, found: row.len() });
        }
        let mut units = Vec::new();
        for (i, row) in table.iter().enumerate() {
            for (j, &count) in row.iter().enumerate() {
                for _ in 0..count {
                    units.push(vec![Some(i as f64), Some(j as f64)]);
                }
            }
        }
        Self::new(vec!["A".to_owned(), "B".to_owned()], units)
    }

    /// Number of units (rows), including units nobody rated.
    pub fn n_units(&self) -> usize {
        self.unit_kind.len()
    }

    /// Number of coders (columns).
    pub fn n_coders(&self) -> usize {
        self.coders.len()
    }

    /// The coder names, in column order.
    pub fn coders(&self) -> &[String] {
        &self.coders
    }

    /// The ratings, one row per unit, one entry per coder.
    pub fn values(&self) -> Vec<Vec<Option<f64>>> {
        self.rows().map(<[Option<f64>]>::to_vec).collect()
    }

    /// Each unit's row, in order.
    pub fn rows(&self) -> impl Iterator<Item = &[Option<f64>]> + Clone + '_ {
        self.unit_kind.iter().map(|&k| self.kinds[k as usize].as_slice())
    }

    /// The (first coder, second coder) pairs of units both coders rated: each kind's pair
    /// (`None` for a kind not rated by both), and the units that have one, as their kinds.
    #[allow(clippy::type_complexity)]
    fn two_coder_pairs(
        &self,
        statistic: &'static str,
    ) -> Result<(Vec<Option<(f64, f64)>>, Cow<'_, [u32]>), AgreementError> {
        if self.coders.len() != 2 {
            return Err(AgreementError::WrongCoderCount { statistic, found: self.coders.len() });
        }
        let pairs: Vec<Option<(f64, f64)>> = self
            .kinds
            .iter()
            .map(|row| match row.as_slice() {
                [Some(a), Some(b)] => Some((*a, *b)),
                _ => None,
            })
            .collect();
        let units = kept_units(&self.unit_kind, |k| pairs[k].is_some());
        if units.is_empty() {
            return Err(AgreementError::NoPairableUnits);
        }
        Ok((pairs, units))
    }
}

// ---------------------------------------------------------------------------
// Output types
// ---------------------------------------------------------------------------

/// Level of measurement, which sets the difference function of
/// [`krippendorff_alpha`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Metric {
    /// Categories: any two different values disagree by 1.
    Nominal,
    /// Ranks: Krippendorff's rank-based difference
    /// `(Σ_{g=c..k} n_g − (n_c + n_k)/2)²`, where `n_g` counts the pairable values
    /// equal to the g-th smallest value.
    Ordinal,
    /// Interval scale: `(c − k)²`.
    Interval,
    /// Ratio scale (values must be ≥ 0): `((c − k)/(c + k))²`.
    Ratio,
}

/// A coefficient with its uncertainty.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The coefficient.
    pub value: f64,
    /// Standard error, when one can be computed (at least two units).
    pub se: Option<f64>,
    /// 95 % Wald confidence interval `value ± 1.96·se`, upper bound capped at 1
    /// (percent agreement: clamped to [0, 1]).
    pub ci: Option<(f64, f64)>,
    /// Number of units that entered the observed agreement: units rated by at
    /// least two coders (for the two-coder statistics, units rated by both).
    pub n_units: usize,
    /// Observed agreement p_a.
    pub observed: f64,
    /// Chance agreement p_e; `value = (observed − expected) / (1 − expected)`.
    pub expected: f64,
}

/// Krippendorff's coincidence matrix of the pairable values.
#[derive(Debug, Clone, PartialEq)]
pub struct CoincidenceMatrix {
    /// The distinct pairable values, ascending.
    pub values: Vec<f64>,
    /// `counts[c][k]` = Σ over units of (number of ordered value pairs `(c, k)`
    /// from different coders) / (number of values in the unit − 1).
    /// Row sums are the numbers of pairable values equal to each value.
    pub counts: Vec<Vec<f64>>,
}

/// Result of [`bootstrap_alpha_detailed`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BootstrapInterval {
    /// Alpha on the original data.
    pub estimate: f64,
    /// Lower percentile bound.
    pub lower: f64,
    /// Upper percentile bound.
    pub upper: f64,
    /// Resamples that produced a defined alpha (used for the interval).
    pub valid: usize,
    /// Resamples skipped because alpha was undefined in them (no variation).
    pub skipped: usize,
}

// ---------------------------------------------------------------------------
// Internal count table
// ---------------------------------------------------------------------------

/// Units as sparse category counts: each distinct unit (`kinds`) as `(category index, count)`
/// sorted by index, and each unit with at least one rating as the number of its kind, in
/// order (`unit_kind`). Two kinds may hold the same counts.
struct CountTable<'a> {
    cats: Vec<f64>,
    kinds: Vec<Vec<(usize, f64)>>,
    /// The table's own list when every unit counts (28 million units are 112 MB).
    unit_kind: Cow<'a, [u32]>,
}

impl<'a> CountTable<'a> {
    /// The units of `r` with at least `min` (1 or more) ratings.
    fn present(r: &'a Ratings, min: usize) -> Self {
        let values = |row: &[Option<f64>]| row.iter().flatten().copied().collect::<Vec<f64>>();
        Self::of_kinds(r.kinds.iter().map(|row| values(row)).collect(), &r.unit_kind, min)
    }

    /// The units `unit_kind` names among the rows `kinds`, those with at least `min` (1 or
    /// more) values.
    fn of_kinds(kinds: Vec<Vec<f64>>, unit_kind: &'a [u32], min: usize) -> Self {
        let kept: Vec<bool> = kinds.iter().map(|row| row.len() >= min.max(1)).collect();
        let mut used = vec![false; kinds.len()];
        for &k in unit_kind {
            used[k as usize] = true;
        }
        let mut cats: Vec<f64> = kinds
            .iter()
            .enumerate()
            .filter(|&(k, _)| kept[k] && used[k])
            .flat_map(|(_, row)| row.iter().copied())
            .collect();
        cats.sort_by(f64::total_cmp);
        cats.dedup();
        // Kinds no unit counted keep no counts (their values may not be among `cats`).
        let counts = kinds
            .iter()
            .enumerate()
            .map(|(k, row)| if kept[k] && used[k] { row.as_slice() } else { &[] })
            .map(|row| {
                let mut idx: Vec<usize> = row.iter().map(|&v| category_index(&cats, v)).collect();
                idx.sort_unstable();
                let mut counts: Vec<(usize, f64)> = Vec::new();
                for k in idx {
                    match counts.last_mut() {
                        Some((last, c)) if *last == k => *c += 1.0,
                        _ => counts.push((k, 1.0)),
                    }
                }
                counts
            })
            .collect();
        let unit_kind = kept_units(unit_kind, |k| kept[k]);
        Self { cats, kinds: counts, unit_kind }
    }

    /// The number of units.
    fn len(&self) -> usize {
        self.unit_kind.len()
    }

    /// Each unit's counts, in order.
    fn units(&self) -> impl Iterator<Item = &[(usize, f64)]> + '_ {
        self.unit_kind.iter().map(|&k| self.kinds[k as usize].as_slice())
    }
}

/// The units of `unit_kind` whose kind `keep` keeps: the list itself when it keeps every one,
/// else a copy of the exact size.
fn kept_units(unit_kind: &[u32], keep: impl Fn(usize) -> bool) -> Cow<'_, [u32]> {
    let n = unit_kind.iter().filter(|&&k| keep(k as usize)).count();
    if n == unit_kind.len() {
        return Cow::Borrowed(unit_kind);
    }
    let mut kept = Vec::with_capacity(n);
    kept.extend(unit_kind.iter().copied().filter(|&k| keep(k as usize)));
    Cow::Owned(kept)
}

/// Position of `v` in the sorted, deduplicated `cats` (which contains `v`).
fn category_index(cats: &[f64], v: f64) -> usize {
    cats.partition_point(|c| c.total_cmp(&v).is_lt())
}

fn total(unit: &[(usize, f64)]) -> f64 {
    unit.iter().map(|&(_, c)| c).sum()
}

/// Internal result shared by all coefficients.
struct Parts {
    value: f64,
    observed: f64,
    expected: f64,
    se: Option<f64>,
    n_units: usize,
}

impl Parts {
    fn into_estimate(self, statistic: &'static str) -> Result<Estimate, AgreementError> {
        let se = self.se.filter(|s| s.is_finite());
        let ci = se.map(|s| (self.value - Z_975 * s, (self.value + Z_975 * s).min(1.0)));
        finite(
            Estimate {
                value: self.value,
                se,
                ci,
                n_units: self.n_units,
                observed: self.observed,
                expected: self.expected,
            },
            statistic,
        )
    }
}

fn finite(e: Estimate, statistic: &'static str) -> Result<Estimate, AgreementError> {
    let ok = e.value.is_finite()
        && e.observed.is_finite()
        && e.expected.is_finite()
        && e.ci.is_none_or(|(lo, hi)| lo.is_finite() && hi.is_finite());
    if ok { Ok(e) } else { Err(AgreementError::NotFinite { statistic }) }
}

// ---------------------------------------------------------------------------
// Pooled-table coefficients (Gwet 2014, chapter 2 and 3, missing-data forms)
// ---------------------------------------------------------------------------

/// The chance-agreement model of a pooled-table coefficient.
#[derive(Clone, Copy)]
enum Chance {
    /// p_e = 0 (percent agreement).
    None,
    /// p_e = Σ π_k² (Fleiss, Scott).
    Fleiss,
    /// p_e = Σ π_k (1 − π_k) / (q − 1) (Gwet's AC1).
    Gwet,
    /// p_e = 1 / q (Brennan-Prediger).
    Uniform(f64),
}

/// Observed agreement, chance agreement and Gwet's (2014) linearised variance
/// for the pooled-table coefficients, with missing ratings handled as in Gwet's
/// `irrCAC`:
///
/// * p_a = mean over units with r_i ≥ 2 of Σ_k r_ik (r_ik − 1) / (r_i (r_i − 1));
/// * π_k = mean over units with r_i ≥ 1 of r_ik / r_i;
/// * var = Σ_i (κ*_i − κ)² / (n (n − 1)) with
///   κ*_i = (n/n₂)(p_a,i − p_e·[r_i ≥ 2])/(1 − p_e) − 2(1 − κ)(p_e,i − p_e)/(1 − p_e).
fn pooled(t: &CountTable, chance: Chance) -> Result<Parts, AgreementError> {
    let n = t.len();
    // Each kind's total and agreement once; the units summed one by one, in order.
    let totals: Vec<f64> = t.kinds.iter().map(|u| total(u)).collect();
    let n2 = t.unit_kind.iter().filter(|&&k| totals[k as usize] >= 2.0).count();
    if n2 == 0 {
        return Err(AgreementError::NoPairableUnits);
    }
    let q = t.cats.len();
    let nf = n as f64;
    let n2f = n2 as f64;

    let pa_kinds: Vec<f64> = t
        .kinds
        .iter()
        .zip(&totals)
        .map(
            |(u, &r)| {
                if r >= 2.0 { u.iter().map(|&(_, c)| c * (c - 1.0)).sum::<f64>() / (r * (r - 1.0)) } else { 0.0 }
            },
        )
        .collect();
    let pa = t.unit_kind.iter().map(|&k| pa_kinds[k as usize]).sum::<f64>() / n2f;

    let mut pi = vec![0.0; q];
    for &k in t.unit_kind.iter() {
        let r = totals[k as usize];
        for &(c_k, c) in &t.kinds[k as usize] {
            pi[c_k] += c / r / nf;
        }
    }

    let pe = match chance {
        Chance::None => 0.0,
        Chance::Fleiss | Chance::Gwet if q < 2 => return Err(AgreementError::NoVariation),
        Chance::Fleiss => pi.iter().map(|p| p * p).sum(),
        Chance::Gwet => pi.iter().map(|p| p * (1.0 - p)).sum::<f64>() / (q as f64 - 1.0),
        Chance::Uniform(q) => 1.0 / q,
    };
    if 1.0 - pe <= EPS {
        return Err(AgreementError::NoVariation);
    }
    let value = (pa - pe) / (1.0 - pe);

    let se = (n >= 2).then(|| {
        let terms: Vec<f64> = t
            .kinds
            .iter()
            .zip(&totals)
            .zip(&pa_kinds)
            .map(|((u, &r), &pa_i)| {
                let pe_r2 = if r >= 2.0 { pe } else { 0.0 };
                let k_i = (nf / n2f) * (pa_i - pe_r2) / (1.0 - pe);
                let pe_i = match chance {
                    Chance::None | Chance::Uniform(_) => pe,
                    Chance::Fleiss => u.iter().map(|&(k, c)| c * pi[k]).sum::<f64>() / r,
                    Chance::Gwet => u.iter().map(|&(k, c)| c * (1.0 - pi[k])).sum::<f64>() / (r * (q as f64 - 1.0)),
                };
                let x_i = k_i - 2.0 * (1.0 - value) * (pe_i - pe) / (1.0 - pe);
                (x_i - value).powi(2)
            })
            .collect();
        let acc: f64 = t.unit_kind.iter().map(|&k| terms[k as usize]).fold(0.0, |a, x| a + x);
        (acc / (nf * (nf - 1.0))).max(0.0).sqrt()
    });

    Ok(Parts { value, observed: pa, expected: pe, se, n_units: n2 })
}

/// Percent agreement: the mean over units rated by at least two coders of the
/// share of agreeing coder pairs within the unit (Fleiss' P̄; for two coders,
/// the share of units on which they agree).
///
/// The standard error is Gwet's (2014) linearised one; the interval is clamped
/// to [0, 1]. `expected` is 0.
///
/// # Errors
/// [`AgreementError::NoPairableUnits`] if no unit has two ratings.
pub fn percent_agreement(r: &Ratings) -> Result<Estimate, AgreementError> {
    let t = CountTable::present(r, 1);
    let mut e = pooled(&t, Chance::None)?.into_estimate("percent agreement")?;
    e.ci = e.ci.map(|(lo, hi)| (lo.max(0.0), hi.min(1.0)));
    Ok(e)
}

/// Fleiss' (1971) kappa for any number of coders.
///
/// Units with fewer ratings are handled with Gwet's (2014) missing-data form:
/// observed agreement is averaged over the units rated by at least two coders,
/// each weighted equally whatever its number of ratings; the category
/// proportions π_k average each unit's within-unit proportions r_ik / r_i over
/// all units with at least one rating (a unit with a single rating counts
/// there). With the same number of coders on every unit this is exactly Fleiss'
/// kappa. Standard error: Gwet's (2014) linearisation (not Fleiss' variance
/// under the null hypothesis).
///
/// # Errors
/// [`AgreementError::NoPairableUnits`]; [`AgreementError::NoVariation`] if
/// only one value occurs.
pub fn fleiss_kappa(r: &Ratings) -> Result<Estimate, AgreementError> {
    let t = CountTable::present(r, 1);
    pooled(&t, Chance::Fleiss)?.into_estimate("Fleiss' kappa")
}

/// Scott's (1955) pi for exactly two coders, over the units both rated:
/// chance agreement from the pooled marginals of the two coders. (It equals
/// Fleiss' kappa on those units.) Standard error: Gwet's (2014) linearisation.
///
/// # Errors
/// [`AgreementError::WrongCoderCount`], [`AgreementError::NoPairableUnits`],
/// [`AgreementError::NoVariation`].
pub fn scott_pi(r: &Ratings) -> Result<Estimate, AgreementError> {
    let (pairs, units) = r.two_coder_pairs("Scott's pi")?;
    let rows: Vec<Vec<f64>> = pairs.iter().map(|p| p.map_or_else(Vec::new, |(a, b)| vec![a, b])).collect();
    pooled(&CountTable::of_kinds(rows, &units, 2), Chance::Fleiss)?.into_estimate("Scott's pi")
}

/// Brennan and Prediger's (1981) coefficient (for two coders also called
/// Bennett's S; with a fixed number of categories, Randolph's free-marginal
/// kappa): chance agreement `1/q`.
///
/// `n_categories` is q, the number of categories coders could choose from;
/// `None` uses the number of distinct values in the ratings. Observed
/// agreement and standard error as in [`fleiss_kappa`] (Gwet 2014).
///
/// # Errors
/// [`AgreementError::NoPairableUnits`]; [`AgreementError::TooFewCategories`]
/// if `n_categories` is below 2 or below the number of distinct values;
/// [`AgreementError::NoVariation`] if `n_categories` is `None` and only one
/// value occurs.
pub fn brennan_prediger(r: &Ratings, n_categories: Option<usize>) -> Result<Estimate, AgreementError> {
    let t = CountTable::present(r, 1);
    let observed = t.cats.len();
    let q = match n_categories {
        None if observed < 2 => {
            // Still report a missing pair before a lack of variation.
            pooled(&t, Chance::None)?;
            return Err(AgreementError::NoVariation);
        }
        None => observed,
        Some(q) if q < 2 || q < observed => {
            return Err(AgreementError::TooFewCategories { given: q, observed });
        }
        Some(q) => q,
    };
    pooled(&t, Chance::Uniform(q as f64))?.into_estimate("Brennan-Prediger coefficient")
}

/// Gwet's (2008) AC1 for any number of coders: chance agreement
/// `Σ_k π_k (1 − π_k) / (q − 1)`, with q the number of distinct values in the
/// ratings and π_k as in [`fleiss_kappa`]. Missing ratings and standard error
/// as in Gwet (2014).
///
/// # Errors
/// [`AgreementError::NoPairableUnits`]; [`AgreementError::NoVariation`] if
/// only one value occurs.
pub fn gwet_ac1(r: &Ratings) -> Result<Estimate, AgreementError> {
    let t = CountTable::present(r, 1);
    pooled(&t, Chance::Gwet)?.into_estimate("Gwet's AC1")
}

/// Conger's (1980) kappa for any number of coders: Fleiss' observed agreement,
/// with chance agreement the mean over coder pairs (g, h) of
/// `Σ_k p_gk p_hk`, where `p_gk` is the share of coder g's ratings in category
/// k (over all units g rated). Coders who rated nothing are left out. For two
/// coders on complete data this is Cohen's kappa. No standard error is given.
///
/// # Errors
/// [`AgreementError::NoPairableUnits`]; [`AgreementError::NoVariation`] if
/// only one value occurs.
pub fn conger_kappa(r: &Ratings) -> Result<Estimate, AgreementError> {
    let t = CountTable::present(r, 1);
    let mut parts = pooled(&t, Chance::None)?;
    let q = t.cats.len();
    if q < 2 {
        return Err(AgreementError::NoVariation);
    }
    // p_gk for each coder with at least one rating.
    let mut props: Vec<Vec<f64>> = Vec::new();
    for g in 0..r.n_coders() {
        let mut counts = vec![0.0; q];
        let mut n_g = 0.0;
        for v in r.rows().filter_map(|row| row[g]) {
            counts[category_index(&t.cats, v)] += 1.0;
            n_g += 1.0;
        }
        if n_g > 0.0 {
            props.push(counts.into_iter().map(|c| c / n_g).collect());
        }
    }
    let m = props.len() as f64;
    let pe = (0..q)
        .map(|k| {
            let s: f64 = props.iter().map(|p| p[k]).sum();
            let s2: f64 = props.iter().map(|p| p[k] * p[k]).sum();
            s * s - s2
        })
        .sum::<f64>()
        / (m * (m - 1.0));
    if 1.0 - pe <= EPS {
        return Err(AgreementError::NoVariation);
    }
    parts.value = (parts.observed - pe) / (1.0 - pe);
    parts.expected = pe;
    parts.se = None;
    parts.into_estimate("Conger's kappa")
}

// ---------------------------------------------------------------------------
// Cohen's kappa
// ---------------------------------------------------------------------------

/// Cohen's (1960) kappa for exactly two coders, over the units both rated.
///
/// Standard error: the large-sample (non-null) variance of Fleiss, Cohen and
/// Everitt (1969) (the unit tests check it against the delta method):
/// `var = [Σ_i p_ii (1 − (p_i· + p_·i)(1 − κ))² + (1 − κ)² Σ_{i≠j} p_ij (p_·i + p_j·)²
/// − (κ − p_e (1 − κ))²] / (n (1 − p_e)²)`, with a 95 % Wald interval.
///
/// # Errors
/// [`AgreementError::WrongCoderCount`], [`AgreementError::NoPairableUnits`],
/// [`AgreementError::NoVariation`] if both coders used one and the same value.
pub fn cohen_kappa(r: &Ratings) -> Result<Estimate, AgreementError> {
    let (pairs, units) = r.two_coder_pairs("Cohen's kappa")?;
    let mut used = vec![false; pairs.len()];
    for &k in units.iter() {
        used[k as usize] = true;
    }
    let mut cats: Vec<f64> =
        pairs.iter().zip(&used).filter(|(_, u)| **u).flat_map(|(p, _)| p.map(|(a, b)| [a, b])).flatten().collect();
    cats.sort_by(f64::total_cmp);
    cats.dedup();
    let q = cats.len();
    let nf = units.len() as f64;

    // Sparse contingency table: (row, column) index pairs, each counted (whole numbers, so
    // the same in any order), sorted.
    let mut per_kind = vec![0.0; pairs.len()];
    for &k in units.iter() {
        per_kind[k as usize] += 1.0;
    }
    let mut idx: Vec<((usize, usize), f64)> = pairs
        .iter()
        .zip(&per_kind)
        .filter(|(_, n)| **n > 0.0)
        .filter_map(|(p, &n)| p.map(|(a, b)| ((category_index(&cats, a), category_index(&cats, b)), n)))
        .collect();
    idx.sort_unstable_by_key(|&(cell, _)| cell);
    let mut cells: Vec<((usize, usize), f64)> = Vec::new();
    for (cell, n) in idx {
        match cells.last_mut() {
            Some((last, c)) if *last == cell => *c += n,
            _ => cells.push((cell, n)),
        }
    }
    let mut row = vec![0.0; q];
    let mut col = vec![0.0; q];
    let mut po = 0.0;
    for &((i, j), c) in &cells {
        let p = c / nf;
        row[i] += p;
        col[j] += p;
        if i == j {
            po += p;
        }
    }
    let pe: f64 = row.iter().zip(&col).map(|(a, b)| a * b).sum();
    if 1.0 - pe <= EPS {
        return Err(AgreementError::NoVariation);
    }
    let kappa = (po - pe) / (1.0 - pe);

    let mut term_a = 0.0;
    let mut term_b = 0.0;
    for &((i, j), c) in &cells {
        let p = c / nf;
        if i == j {
            term_a += p * (1.0 - (row[i] + col[i]) * (1.0 - kappa)).powi(2);
        } else {
            term_b += p * (col[i] + row[j]).powi(2);
        }
    }
    term_b *= (1.0 - kappa).powi(2);
    let term_c = (kappa - pe * (1.0 - kappa)).powi(2);
    let var = (term_a + term_b - term_c) / (nf * (1.0 - pe).powi(2));
    Parts { value: kappa, observed: po, expected: pe, se: Some(var.max(0.0).sqrt()), n_units: units.len() }
        .into_estimate("Cohen's kappa")
}

// ---------------------------------------------------------------------------
// Krippendorff's alpha
// ---------------------------------------------------------------------------

/// The difference function of alpha.
#[derive(Clone, Copy)]
enum Delta<'a> {
    Metric(Metric),
    Custom(&'a dyn Fn(f64, f64) -> f64),
}

/// Pairable units (at least two values) of a table, as sparse counts.
fn pairable(r: &Ratings) -> CountTable<'_> {
    CountTable::present(r, 2)
}

/// Krippendorff's alpha on pairable units (given as sparse counts over `cats`).
///
/// `observed`/`expected` are Gwet's (2014) agreement-scale equivalents:
/// with `δ_max` the largest difference between two pairable values,
/// `p_a = (1 − 1/n)(1 − D_o/δ_max) + 1/n` and `p_e = 1 − (n − 1) D_e /(n δ_max)`,
/// so that alpha = (p_a − p_e)/(1 − p_e); the standard error is Gwet's
/// linearisation.
fn alpha_core(
    cats: &[f64],
    kinds: &[&[(usize, f64)]],
    unit_kind: &[u32],
    delta: Delta<'_>,
    with_se: bool,
) -> Result<Parts, AgreementError> {
    alpha_weighted(cats, kinds, Order::Units(unit_kind), delta, with_se)
}

/// Which units [`alpha_weighted`] counts, of the distinct units it is given (kinds).
#[derive(Clone, Copy)]
enum Order<'a> {
    /// Each unit as the number of its kind, in order.
    Units(&'a [u32]),
    /// Each kind counted so many times: what a bootstrap resample is, as the number of times
    /// it drew each kind.
    Weights(&'a [f64]),
}

/// [`alpha_core`] of the units `order` lists among `kinds`. The standard error is for units
/// listed one by one only.
fn alpha_weighted(
    cats: &[f64],
    kinds: &[&[(usize, f64)]],
    order: Order<'_>,
    delta: Delta<'_>,
    with_se: bool,
) -> Result<Parts, AgreementError> {
    debug_assert!(matches!(order, Order::Units(_)) || !with_se, "the standard error is of units listed one by one");
    // Each unit's kind and weight, in order: every unit once, or every kind as often as drawn.
    let each = |f: &mut dyn FnMut(usize, f64)| match order {
        Order::Units(units) => units.iter().for_each(|&k| f(k as usize, 1.0)),
        Order::Weights(w) => w.iter().enumerate().for_each(|(k, &w)| f(k, w)),
    };
    let (listed, counted) = match order {
        Order::Units(units) => (units.len(), units.len() as f64),
        Order::Weights(w) => (w.len(), w.iter().sum::<f64>()),
    };
    let mut used = vec![false; kinds.len()];
    each(&mut |k, w| used[k] |= w != 0.0);
    if listed == 0 || !used.iter().any(|&u| u) {
        return Err(AgreementError::NoPairableUnits);
    }
    let q = cats.len();
    let mut marg = vec![0.0; q];
    each(&mut |k, w| {
        for &(c, n) in kinds[k] {
            marg[c] += w * n;
        }
    });
    let n: f64 = marg.iter().sum();
    if let Delta::Metric(Metric::Ratio) = delta
        && let Some(k) = (0..q).find(|&k| marg[k] > 0.0 && cats[k] < 0.0)
    {
        return Err(AgreementError::NegativeRatioValue { value: cats[k] });
    }
    // cum[k] = Σ_{g<k} n_g, for the ordinal metric.
    let cum: Vec<f64> = std::iter::once(0.0)
        .chain(marg.iter().scan(0.0, |s, &m| {
            *s += m;
            Some(*s)
        }))
        .collect();
    // Difference between categories i < j.
    let diff = |i: usize, j: usize| -> Result<f64, AgreementError> {
        let (a, b) = (cats[i], cats[j]);
        let d = match delta {
            Delta::Metric(Metric::Nominal) => 1.0,
            Delta::Metric(Metric::Ordinal) => (cum[j + 1] - cum[i] - (marg[i] + marg[j]) / 2.0).powi(2),
            Delta::Metric(Metric::Interval) => (a - b).powi(2),
            Delta::Metric(Metric::Ratio) => {
                if a + b == 0.0 {
                    0.0
                } else {
                    ((a - b) / (a + b)).powi(2)
                }
            }
            Delta::Custom(f) => f(a, b),
        };
        if d.is_finite() && d >= 0.0 { Ok(d) } else { Err(AgreementError::InvalidDistance { a, b, distance: d }) }
    };

    // Expected disagreement: Σ_{c,k} n_c n_k δ_ck, row sums s_k = Σ_l δ_kl n_l, and δ_max.
    let present: Vec<usize> = (0..q).filter(|&k| marg[k] > 0.0).collect();
    let mut s = vec![0.0; q];
    let mut delta_max = 0.0_f64;
    for (x, &i) in present.iter().enumerate() {
        for &j in &present[x + 1..] {
            let d = diff(i, j)?;
            s[i] += d * marg[j];
            s[j] += d * marg[i];
            delta_max = delta_max.max(d);
        }
    }
    let de_sum: f64 = present.iter().map(|&k| marg[k] * s[k]).sum();
    if de_sum <= 0.0 || delta_max <= 0.0 {
        return Err(AgreementError::NoVariation);
    }

    // Observed disagreement per unit: D_u = Σ_{c≠k} n_uc n_uk δ_ck, once a kind (a kind not
    // drawn is not looked at, as if it were not there); the units summed one by one, in order.
    let mut d_kinds = Vec::with_capacity(kinds.len());
    for (u, &used) in kinds.iter().zip(&used) {
        let m_u = total(u);
        let mut d_u = 0.0;
        if used {
            for (x, &(i, ci)) in u.iter().enumerate() {
                for &(j, cj) in &u[x + 1..] {
                    d_u += 2.0 * ci * cj * diff(i, j)?;
                }
            }
        }
        d_kinds.push((m_u, d_u));
    }
    let mut do_sum = 0.0;
    each(&mut |k, w| {
        if w != 0.0 {
            let (m_u, d_u) = d_kinds[k];
            do_sum += w * d_u / (m_u - 1.0);
        }
    });
    let alpha = 1.0 - (n - 1.0) * do_sum / de_sum;

    let pa_prime = 1.0 - do_sum / n / delta_max;
    let pa = (1.0 - 1.0 / n) * pa_prime + 1.0 / n;
    let pe = 1.0 - de_sum / (n * n * delta_max);

    let n_u = listed as f64;
    let se = (with_se && listed >= 2 && 1.0 - pe > EPS).then(|| {
        let alpha_prime = (pa_prime - pe) / (1.0 - pe);
        let r_bar = n / n_u;
        let terms: Vec<f64> = kinds
            .iter()
            .zip(&d_kinds)
            .map(|(u, &(m_u, d_u))| {
                let pa_i = (m_u - d_u / (delta_max * (m_u - 1.0))) / r_bar - pa * (m_u - r_bar) / r_bar;
                let k_i = (pa_i - pe) / (1.0 - pe);
                let weighted: f64 = u.iter().map(|&(k, c)| c * (1.0 - s[k] / (n * delta_max))).sum();
                let pe_i = weighted / r_bar - pe * (m_u - r_bar) / r_bar;
                let x_i = k_i - 2.0 * (1.0 - alpha_prime) * (pe_i - pe) / (1.0 - pe);
                (x_i - alpha_prime).powi(2)
            })
            .collect();
        let mut acc = 0.0;
        each(&mut |k, _| acc += terms[k]);
        (acc / (n_u * (n_u - 1.0))).max(0.0).sqrt()
    });

    Ok(Parts { value: alpha, observed: pa, expected: pe, se, n_units: counted as usize })
}

fn alpha_with_delta(r: &Ratings, delta: Delta<'_>) -> Result<Estimate, AgreementError> {
    let t = pairable(r);
    let kinds: Vec<&[(usize, f64)]> = t.kinds.iter().map(Vec::as_slice).collect();
    alpha_core(&t.cats, &kinds, &t.unit_kind, delta, true)?.into_estimate("Krippendorff's alpha")
}

/// Krippendorff's alpha for any number of coders and missing data:
/// `α = 1 − (n − 1) Σ_ck o_ck δ_ck / Σ_ck n_c n_k δ_ck` (Krippendorff 2011),
/// where `o` is the [`coincidence_matrix`] of the units rated by at least two
/// coders, `n_c` its row sums and `n` the number of pairable values. Units with
/// a single rating are ignored. [`Metric::Ordinal`] uses Krippendorff's
/// rank-based difference.
///
/// `observed` and `expected` are Gwet's (2014) agreement-scale equivalents
/// (differences rescaled by the largest difference between two pairable
/// values, with Gwet's small-sample correction), and the standard error is
/// Gwet's linearisation, as in the `irrCAC` package.
///
/// # Errors
/// [`AgreementError::NoPairableUnits`]; [`AgreementError::NoVariation`] if
/// all pairable values are equal; [`AgreementError::NegativeRatioValue`] for
/// the ratio metric with negative values.
pub fn krippendorff_alpha(r: &Ratings, metric: Metric) -> Result<Estimate, AgreementError> {
    alpha_with_delta(r, Delta::Metric(metric))
}

/// Krippendorff's alpha with a caller-supplied difference function `delta(a, b)`
/// (for example `|a − b|`, or a circular difference). It must be symmetric,
/// finite and non-negative; it is only called with `a < b` (values that are
/// equal never disagree). Otherwise as [`krippendorff_alpha`].
///
/// # Errors
/// As [`krippendorff_alpha`], and [`AgreementError::InvalidDistance`] if
/// `delta` returns a negative or non-finite number.
pub fn krippendorff_alpha_with<F>(r: &Ratings, delta: F) -> Result<Estimate, AgreementError>
where
    F: Fn(f64, f64) -> f64,
{
    alpha_with_delta(r, Delta::Custom(&delta))
}

/// Krippendorff's coincidence matrix of the units rated by at least two coders.
///
/// The matrix is dense (one row and column per distinct value), so it is meant
/// for categorical data.
///
/// # Errors
/// [`AgreementError::NoPairableUnits`] if no unit has two ratings.
pub fn coincidence_matrix(r: &Ratings) -> Result<CoincidenceMatrix, AgreementError> {
    let t = pairable(r);
    if t.len() == 0 {
        return Err(AgreementError::NoPairableUnits);
    }
    let q = t.cats.len();
    let mut counts = vec![vec![0.0; q]; q];
    for u in t.units() {
        let m_u = total(u);
        for &(i, ci) in u {
            for &(j, cj) in u {
                let pairs = if i == j { ci * (ci - 1.0) } else { ci * cj };
                counts[i][j] += pairs / (m_u - 1.0);
            }
        }
    }
    Ok(CoincidenceMatrix { values: t.cats, counts })
}

// ---------------------------------------------------------------------------
// Bootstrap
// ---------------------------------------------------------------------------

/// SplitMix64 (Steele, Lea & Flood 2014): a small, fast, seedable generator.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform integer in `0..bound` (`bound > 0`), without modulo bias (Lemire 2019).
    fn below(&mut self, bound: u64) -> u64 {
        let mut m = u128::from(self.next_u64()) * u128::from(bound);
        if (m as u64) < bound {
            let threshold = bound.wrapping_neg() % bound;
            while (m as u64) < threshold {
                m = u128::from(self.next_u64()) * u128::from(bound);
            }
        }
        (m >> 64) as u64
    }
}

/// Quantile of sorted data by linear interpolation (Hyndman & Fan type 7).
fn quantile(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Percentile bootstrap interval for Krippendorff's alpha; returns
/// `(lower, upper)`. See [`bootstrap_alpha_detailed`].
///
/// # Errors
/// As [`bootstrap_alpha_detailed`].
pub fn bootstrap_alpha(
    r: &Ratings,
    metric: Metric,
    resamples: usize,
    seed: u64,
    level: f64,
) -> Result<(f64, f64), AgreementError> {
    bootstrap_alpha_detailed(r, metric, resamples, seed, level).map(|b| (b.lower, b.upper))
}

/// Percentile bootstrap interval for Krippendorff's alpha.
///
/// Draws `resamples` samples of the units rated by at least two coders, with
/// replacement and of the same size, computes alpha on each, and returns the
/// `(1 − level)/2` and `(1 + level)/2` quantiles (linear interpolation) of the
/// defined values. Resamples in which alpha is undefined (all values equal)
/// are skipped and counted in `skipped`. The generator is SplitMix64 seeded
/// with `seed`, so the same inputs give the same interval on every platform.
/// For [`Metric::Ordinal`] the rank-based differences are recomputed in each
/// resample.
///
/// # Errors
/// [`AgreementError::InvalidArgument`] if `resamples` is 0 or `level` is not
/// strictly between 0 and 1; any error of [`krippendorff_alpha`] on the
/// original data; [`AgreementError::NoValidResamples`] if no resample gives a
/// defined alpha.
pub fn bootstrap_alpha_detailed(
    r: &Ratings,
    metric: Metric,
    resamples: usize,
    seed: u64,
    level: f64,
) -> Result<BootstrapInterval, AgreementError> {
    if resamples == 0 {
        return Err(AgreementError::InvalidArgument {
            name: "resamples",
            reason: "must be at least 1 (1000 or more is usual)",
        });
    }
    if !(level > 0.0 && level < 1.0) {
        return Err(AgreementError::InvalidArgument {
            name: "level",
            reason: "must lie strictly between 0 and 1 (for example 0.95)",
        });
    }
    let t = pairable(r);
    let table_kinds: Vec<&[(usize, f64)]> = t.kinds.iter().map(Vec::as_slice).collect();
    let delta = Delta::Metric(metric);
    let estimate = alpha_core(&t.cats, &table_kinds, &t.unit_kind, delta, false)?.value;

    // Units rated alike are one kind: a resample's alpha depends only on how many of each kind
    // it drew, so each resample counts its draws by kind and weighs the kinds (presence and
    // absence of a code by two coders is three kinds, however many passages). The draws are
    // those a resample of the units themselves makes. Resampled unit by unit, the 1.6 million
    // passage-codes of 100 MB of notes took 2 minutes for 1,000 resamples. The kinds are
    // numbered as the units first show them (the table's kinds may repeat counts).
    let mut kind_of: Vec<u32> = Vec::with_capacity(t.len());
    let mut kinds: Vec<&[(usize, f64)]> = Vec::new();
    let mut known: HashMap<Vec<(usize, u64)>, usize> = HashMap::new();
    let mut of_table_kind: Vec<Option<usize>> = vec![None; t.kinds.len()];
    for &k in t.unit_kind.iter() {
        let kind = match of_table_kind[k as usize] {
            Some(kind) => kind,
            None => {
                let u = table_kinds[k as usize];
                let key: Vec<(usize, u64)> = u.iter().map(|&(c, n)| (c, n.to_bits())).collect();
                let kind = *known.entry(key).or_insert_with(|| {
                    kinds.push(u);
                    kinds.len() - 1
                });
                of_table_kind[k as usize] = Some(kind);
                kind
            }
        };
        kind_of.push(kind as u32);
    }
    let mut rng = SplitMix64(seed);
    let n = t.len() as u64;
    let mut drawn = vec![0.0; kinds.len()];
    let mut values = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        drawn.fill(0.0);
        for _ in 0..n {
            // `below(n) < n`, and `n` came from a `usize`, so the index fits.
            drawn[kind_of[rng.below(n) as usize] as usize] += 1.0;
        }
        match alpha_weighted(&t.cats, &kinds, Order::Weights(&drawn), delta, false) {
            Ok(p) if p.value.is_finite() => values.push(p.value),
            Ok(_) | Err(AgreementError::NoVariation) => {}
            Err(e) => return Err(e),
        }
    }
    if values.is_empty() {
        return Err(AgreementError::NoValidResamples { resamples });
    }
    values.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    Ok(BootstrapInterval {
        estimate,
        lower: quantile(&values, tail),
        upper: quantile(&values, 1.0 - tail),
        valid: values.len(),
        skipped: resamples - values.len(),
    })
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;

    /// Asserts `|got − expected| < 0.5·10^−digits`.
    fn close(got: f64, expected: f64, digits: i32) {
        let tol = 0.5 * 10f64.powi(-digits);
        assert!((got - expected).abs() < tol, "got {got}, expected {expected} to {digits} digits");
    }

    /// Parses coder rows as printed in REFERENCE.md: one line per coder,
    /// `.` = missing, letters a-z = 1-26.
    fn table(rows: &[&str]) -> Ratings {
        let parsed: Vec<Vec<Option<f64>>> = rows
            .iter()
            .map(|line| {
                line.split_whitespace()
                    .map(|tok| match tok {
                        "." => None,
                        t => Some(t.parse::<f64>().unwrap_or_else(|_| {
                            let b = t.as_bytes()[0];
                            f64::from(b - b'a' + 1)
                        })),
                    })
                    .collect()
            })
            .collect();
        let n_units = parsed[0].len();
        let units = (0..n_units).map(|u| parsed.iter().map(|row| row[u]).collect()).collect();
        let coders = (0..rows.len()).map(|c| format!("c{c}")).collect();
        Ratings::new(coders, units).expect("valid test table")
    }

    // K1: Krippendorff (2011) section C.
    const K1: [&str; 4] =
        ["1 2 3 3 2 1 4 1 2 . . .", "1 2 3 3 2 2 4 1 2 5 . 3", ". 3 3 3 2 3 4 2 2 5 1 .", "1 2 3 3 2 4 4 1 2 5 1 ."];
    // Gwet's raw_4raters: the lone unit-12 value sits with rater 3.
    const K1_GWET: [&str; 4] =
        ["1 2 3 3 2 1 4 1 2 . . .", "1 2 3 3 2 2 4 1 2 5 . .", ". 3 3 3 2 3 4 2 2 5 1 3", "1 2 3 3 2 4 4 1 2 5 1 ."];

    fn alpha(r: &Ratings, m: Metric) -> f64 {
        krippendorff_alpha(r, m).expect("alpha defined").value
    }

    #[test]
    fn k1_krippendorff_2011_section_c() {
        let r = table(&K1);
        close(alpha(&r, Metric::Nominal), 0.743, 3);
        close(alpha(&r, Metric::Nominal), 0.7434, 4);
        close(alpha(&r, Metric::Ordinal), 0.815, 3);
        close(alpha(&r, Metric::Ordinal), 0.8154, 4);
        close(alpha(&r, Metric::Interval), 0.849, 3);
        close(alpha(&r, Metric::Interval), 0.8491, 4);
        close(alpha(&r, Metric::Ratio), 0.797, 3);
        close(alpha(&r, Metric::Ratio), 0.7974, 4);
        // Unit 12 has one value: 11 pairable units, 40 pairable values.
        assert_eq!(krippendorff_alpha(&r, Metric::Nominal).map(|e| e.n_units), Ok(11));
    }

    #[test]
    fn k1_coincidence_matrix_margins() {
        let m = coincidence_matrix(&table(&K1)).expect("pairable");
        assert_eq!(m.values, vec![1.0, 2.0, 3.0, 4.0, 5.0]);
        let margins: Vec<f64> = m.counts.iter().map(|row| row.iter().sum()).collect();
        for (got, want) in margins.iter().zip([9.0, 13.0, 10.0, 5.0, 3.0]) {
            close(*got, want, 9);
        }
        for i in 0..5 {
            for j in 0..5 {
                close(m.counts[i][j], m.counts[j][i], 12);
            }
        }
    }

    #[test]
    fn k1_gwet_version_irrcac_values() {
        let r = table(&K1_GWET);
        let a = krippendorff_alpha(&r, Metric::Nominal).expect("alpha");
        close(a.value, 0.743, 3);
        close(a.observed, 0.805, 3);
        close(a.expected, 0.240, 3);
        close(a.se.expect("se"), 0.146, 3);
        let f = fleiss_kappa(&r).expect("fleiss");
        close(f.value, 0.761, 3);
        close(f.observed, 0.818, 3);
        close(f.expected, 0.239, 3);
        let g = gwet_ac1(&r).expect("ac1");
        close(g.value, 0.775, 3);
        close(g.observed, 0.818, 3);
        close(g.expected, 0.190, 3);
        // Standard errors printed by irrCAC (tests and docstring, not in REFERENCE.md).
        close(f.se.expect("se"), 0.15302, 5);
        close(g.se.expect("se"), 0.14295, 5);
        close(brennan_prediger(&r, None).expect("bp").se.expect("se"), 0.145, 3);
        close(conger_kappa(&r).expect("conger").value, 0.763, 3);
        close(brennan_prediger(&r, None).expect("bp").value, 0.773, 3);
        // Coder-exchangeable coefficients agree between the two versions of the data.
        let k = table(&K1);
        close(fleiss_kappa(&k).expect("fleiss").value, f.value, 12);
        close(gwet_ac1(&k).expect("ac1").value, g.value, 12);
    }

    #[test]
    fn k1_weighted_alphas_from_irrcac() {
        let r = table(&K1_GWET);
        let with = |f: &dyn Fn(f64, f64) -> f64| krippendorff_alpha_with(&r, f).expect("alpha").value;
        // Categories 1..=5: min 1, max 5; Gwet's ordinal weights use category ranks.
        close(with(&|a, b| (a - b).abs()), 0.800, 3);
        let linear = krippendorff_alpha_with(&r, |a, b| (a - b).abs()).expect("alpha");
        close(linear.observed, 0.935, 3);
        close(linear.expected, 0.674, 3);
        close(linear.se.expect("se"), 0.135, 3);
        close(
            with(&|a, b| {
                let d = (a - b).abs();
                d * (d + 1.0) / 2.0
            }),
            0.834,
            3,
        );
        close(with(&|a, b| (a - b).powi(2)), 0.849, 3);
        close(with(&|a, b| ((a - b) / (a + b)).powi(2)), 0.797, 3);
        close(with(&|a, b| (std::f64::consts::PI * (a - b) / 5.0).sin().powi(2)), 0.790, 3);
        close(with(&|a, b| (a - b).powi(2) / ((a + b - 2.0) * (10.0 - a - b))), 0.835, 3);
        close(with(&|a, b| (a - b).abs().sqrt()), 0.772, 3);
        // The built-in metrics match the corresponding custom differences.
        close(alpha(&r, Metric::Interval), with(&|a, b| (a - b).powi(2)), 12);
    }

    #[test]
    fn k2_krippendorff_2011_section_a_binary() {
        let r = table(&["0 1 0 0 0 0 0 0 1 0", "1 1 1 0 0 1 0 0 0 0"]);
        close(alpha(&r, Metric::Nominal), 0.095, 3);
        close(alpha(&r, Metric::Nominal), 0.0952, 4);
    }

    const K3: [&str; 2] = ["a a b b d c c c e d d a", "b a b b b c c c e d d d"];

    #[test]
    fn k3_krippendorff_2011_section_b_nominal() {
        let r = table(&K3);
        close(alpha(&r, Metric::Nominal), 0.692, 3);
        close(alpha(&r, Metric::Nominal), 0.6920, 4);
        close(cohen_kappa(&r).expect("kappa").value, 0.6842, 4);
    }

    #[test]
    fn k3_ben_gerry_with_missing_unit_10() {
        let r = table(&["a a b b d c c c e d d a", "b a b b b c c c e . d d"]);
        close(alpha(&r, Metric::Nominal), 0.665, 3);
        // irrCAC's pa, pe and se for this data (its tests; not in REFERENCE.md).
        let a = krippendorff_alpha(&r, Metric::Nominal).expect("alpha");
        close(a.observed, 0.740, 3);
        close(a.expected, 0.223, 3);
        close(a.se.expect("se"), 0.180, 3);
        close(fleiss_kappa(&r).expect("fleiss").value, 0.649, 3);
    }

    #[test]
    fn k4_wikipedia_alpha_example() {
        let r =
            table(&[". . . . . 3 4 1 2 1 1 3 3 . 3", "1 . 2 1 3 3 4 3 . . . . . . .", ". . 2 1 3 4 4 . 2 1 1 3 3 . 4"]);
        close(alpha(&r, Metric::Nominal), 0.691, 3);
        close(alpha(&r, Metric::Nominal), 0.691_358, 6);
        close(alpha(&r, Metric::Interval), 0.811, 3);
        close(alpha(&r, Metric::Interval), 0.810_845, 6);
    }

    fn f2() -> Ratings {
        let counts = [
            [0, 0, 0, 0, 14],
            [0, 2, 6, 4, 2],
            [0, 0, 3, 5, 6],
            [0, 3, 9, 2, 0],
            [2, 2, 8, 1, 1],
            [7, 7, 0, 0, 0],
            [3, 2, 6, 3, 0],
            [2, 5, 3, 2, 2],
            [6, 5, 2, 1, 0],
            [0, 2, 2, 3, 7],
        ];
        let counts: Vec<Vec<usize>> = counts.iter().map(|r| r.to_vec()).collect();
        Ratings::from_category_counts(&counts).expect("valid counts")
    }

    #[test]
    fn f2_wikipedia_fleiss_example() {
        let r = f2();
        assert_eq!(r.n_coders(), 14);
        let f = fleiss_kappa(&r).expect("fleiss");
        close(f.value, 0.210, 3);
        close(f.value, 0.2099, 4);
        close(f.observed, 0.378, 3); // P̄ on Wikipedia
        close(f.expected, 0.2128, 4); // P̄e on Wikipedia
        close(brennan_prediger(&r, Some(5)).expect("bp").value, 0.2225, 4);
        close(brennan_prediger(&r, None).expect("bp").value, 0.2225, 4);
        close(percent_agreement(&r).expect("pa").value, 0.378, 3);
    }

    #[test]
    fn c1_wikipedia_cohen_example() {
        let r = Ratings::from_contingency(&[vec![20, 5], vec![10, 15]]).expect("square");
        let k = cohen_kappa(&r).expect("kappa");
        close(k.observed, 0.70, 2);
        close(k.expected, 0.50, 2);
        close(k.value, 0.40, 2);
        assert_eq!(k.n_units, 50);
        close(percent_agreement(&r).expect("pa").value, 0.70, 2);
    }

    #[test]
    fn c2_artstein_poesio_table_1() {
        let r = Ratings::from_contingency(&[vec![20, 20], vec![10, 50]]).expect("square");
        let k = cohen_kappa(&r).expect("kappa");
        close(k.observed, 0.70, 2);
        close(k.value, 0.348, 3);
        close(k.value, 0.3478, 4);
        close(scott_pi(&r).expect("pi").value, 0.3407, 4);
        close(brennan_prediger(&r, None).expect("S").value, 0.40, 2);
        close(brennan_prediger(&r, Some(2)).expect("S").value, 0.40, 2);
        // For two coders on complete data, Conger's kappa is Cohen's kappa and
        // Fleiss' kappa is Scott's pi.
        close(conger_kappa(&r).expect("conger").value, k.value, 12);
        close(fleiss_kappa(&r).expect("fleiss").value, 0.3407, 4);
    }

    /// Cohen's kappa as a function of the cell probabilities (for the delta method).
    fn kappa_of(p: &[[f64; 2]; 2]) -> f64 {
        let s: f64 = p.iter().flatten().sum();
        let q = |i: usize, j: usize| p[i][j] / s;
        let po = q(0, 0) + q(1, 1);
        let row = [q(0, 0) + q(0, 1), q(1, 0) + q(1, 1)];
        let col = [q(0, 0) + q(1, 0), q(0, 1) + q(1, 1)];
        let pe = row[0] * col[0] + row[1] * col[1];
        (po - pe) / (1.0 - pe)
    }

    #[test]
    fn cohen_se_matches_delta_method() {
        for table in [[[20.0, 5.0], [10.0, 15.0]], [[20.0, 20.0], [10.0, 50.0]]] {
            let n: f64 = table.iter().flatten().sum();
            let p = table.map(|row| row.map(|c| c / n));
            let h = 1e-6;
            let mut grad = [[0.0; 2]; 2];
            for i in 0..2 {
                for j in 0..2 {
                    let mut up = p;
                    let mut down = p;
                    up[i][j] += h;
                    down[i][j] -= h;
                    grad[i][j] = (kappa_of(&up) - kappa_of(&down)) / (2.0 * h);
                }
            }
            let mean: f64 = (0..4).map(|c| p[c / 2][c % 2] * grad[c / 2][c % 2]).sum();
            let second: f64 = (0..4).map(|c| p[c / 2][c % 2] * grad[c / 2][c % 2].powi(2)).sum();
            let se_delta = ((second - mean * mean) / n).sqrt();
            let counts: Vec<Vec<usize>> = table.iter().map(|row| row.iter().map(|&c| c as usize).collect()).collect();
            let r = Ratings::from_contingency(&counts).expect("square");
            let e = cohen_kappa(&r).expect("kappa");
            close(e.se.expect("se"), se_delta, 6);
            let (lo, hi) = e.ci.expect("ci");
            close(lo, e.value - Z_975 * se_delta, 5);
            close(hi, e.value + Z_975 * se_delta, 5);
        }
    }

    fn all_statistics(r: &Ratings) -> Vec<(&'static str, Result<Estimate, AgreementError>)> {
        let mut out = vec![
            ("fleiss", fleiss_kappa(r)),
            ("ac1", gwet_ac1(r)),
            ("bp", brennan_prediger(r, None)),
            ("conger", conger_kappa(r)),
        ];
        for m in [Metric::Nominal, Metric::Ordinal, Metric::Interval, Metric::Ratio] {
            out.push(("alpha", krippendorff_alpha(r, m)));
        }
        if r.n_coders() == 2 {
            out.push(("cohen", cohen_kappa(r)));
            out.push(("scott", scott_pi(r)));
        }
        out
    }

    #[test]
    fn one_category_only_is_no_variation() {
        for r in [table(&["3 3 3 3", "3 3 3 3"]), table(&["3 3 . 3", "3 3 3 .", ". 3 3 3"])] {
            for (name, res) in all_statistics(&r) {
                assert_eq!(res, Err(AgreementError::NoVariation), "{name}");
            }
            let pa = percent_agreement(&r).expect("percent agreement is defined");
            close(pa.value, 1.0, 12);
            // With a known number of categories, Brennan-Prediger is defined.
            close(brennan_prediger(&r, Some(4)).expect("bp").value, 1.0, 12);
            assert_eq!(bootstrap_alpha(&r, Metric::Nominal, 10, 1, 0.95), Err(AgreementError::NoVariation));
        }
        let msg = AgreementError::NoVariation.to_string();
        assert!(msg.contains("perfect") && msg.contains("undefined"), "{msg}");
    }

    #[test]
    fn all_agree_with_variation_is_one() {
        for r in [table(&["1 2 3 1 2", "1 2 3 1 2"]), table(&["1 2 3 . 2", "1 2 3 4 .", "1 . 3 4 2"])] {
            for (name, res) in all_statistics(&r) {
                let e = res.unwrap_or_else(|err| panic!("{name}: {err}"));
                close(e.value, 1.0, 12);
                if let Some((lo, hi)) = e.ci {
                    assert!(lo <= 1.0 + 1e-12 && hi <= 1.0, "{name}");
                }
            }
            close(percent_agreement(&r).expect("pa").value, 1.0, 12);
        }
    }

    #[test]
    fn no_overlap_is_no_pairable_units() {
        let r = table(&["1 2 . .", ". . 3 1"]);
        for (name, res) in all_statistics(&r) {
            assert_eq!(res, Err(AgreementError::NoPairableUnits), "{name}");
        }
        assert_eq!(percent_agreement(&r), Err(AgreementError::NoPairableUnits));
        assert_eq!(coincidence_matrix(&r), Err(AgreementError::NoPairableUnits));
        assert_eq!(bootstrap_alpha(&r, Metric::Nominal, 10, 1, 0.95), Err(AgreementError::NoPairableUnits));
        let empty = Ratings::new(vec!["a".into(), "b".into()], vec![]).expect("empty table");
        assert_eq!(percent_agreement(&empty), Err(AgreementError::NoPairableUnits));
        assert_eq!(krippendorff_alpha(&empty, Metric::Nominal), Err(AgreementError::NoPairableUnits));
    }

    #[test]
    fn unit_with_one_coder_is_ignored_for_pairing() {
        let base = table(&["1 2 2 1 3", "1 2 1 1 3"]);
        let extra = table(&["1 2 2 1 3 5", "1 2 1 1 3 ."]);
        for m in [Metric::Nominal, Metric::Ordinal, Metric::Interval, Metric::Ratio] {
            close(alpha(&extra, m), alpha(&base, m), 12);
        }
        let (a, b) = (percent_agreement(&base).expect("pa"), percent_agreement(&extra).expect("pa"));
        close(b.value, a.value, 12);
        assert_eq!(b.n_units, 5);
        close(cohen_kappa(&extra).expect("k").value, cohen_kappa(&base).expect("k").value, 12);
        close(scott_pi(&extra).expect("pi").value, scott_pi(&base).expect("pi").value, 12);
    }

    #[test]
    fn zero_variance() {
        // Interval data with no variance among the pairable values.
        let r = table(&["2.5 2.5 2.5", "2.5 2.5 2.5", ". 2.5 ."]);
        assert_eq!(krippendorff_alpha(&r, Metric::Interval), Err(AgreementError::NoVariation));
        // Each coder is constant but they differ: chance agreement is 0, kappa is 0, finite SE.
        let r = table(&["1 1 1 1", "2 2 2 2"]);
        let k = cohen_kappa(&r).expect("kappa");
        close(k.value, 0.0, 12);
        assert!(k.se.is_some_and(f64::is_finite));
        // Only the pairable values count: an unpaired different value does not create variation.
        let r = table(&["4 4 4 .", "4 4 4 9"]);
        assert_eq!(krippendorff_alpha(&r, Metric::Interval), Err(AgreementError::NoVariation));
    }

    #[test]
    fn input_validation() {
        let two = || vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(Ratings::new(vec![], vec![]), Err(AgreementError::NoCoders));
        assert_eq!(
            Ratings::new(vec!["a".into(), "a".into()], vec![]),
            Err(AgreementError::DuplicateCoder { name: "a".into() })
        );
        assert_eq!(
            Ratings::new(two(), vec![vec![Some(1.0), None], vec![Some(1.0)]]),
            Err(AgreementError::RowWidth { unit: 1, expected: 2, found: 1 })
        );
        assert_eq!(
            Ratings::new(two(), vec![vec![Some(1.0), Some(f64::NAN)]]),
            Err(AgreementError::NonFiniteValue { unit: 0, coder: "b".into() })
        );
        assert!(Ratings::new(two(), vec![vec![Some(f64::INFINITY), None]]).is_err());
        assert!(Ratings::from_contingency(&[vec![1, 2], vec![3]]).is_err());
        assert!(Ratings::from_category_counts(&[vec![1, 2], vec![3]]).is_err());
        // -0.0 and 0.0 are the same category.
        let r = Ratings::new(two(), vec![vec![Some(-0.0), Some(0.0)], vec![Some(1.0), Some(1.0)]]).expect("valid");
        close(percent_agreement(&r).expect("pa").value, 1.0, 12);
        assert_eq!(r.n_units(), 2);
        assert_eq!(r.coders(), ["a", "b"]);
    }

    #[test]
    fn two_coder_statistics_reject_other_counts() {
        let r = table(&K1);
        assert!(matches!(cohen_kappa(&r), Err(AgreementError::WrongCoderCount { found: 4, .. })));
        assert!(matches!(scott_pi(&r), Err(AgreementError::WrongCoderCount { found: 4, .. })));
    }

    #[test]
    fn brennan_prediger_category_checks() {
        let r = table(&K1);
        assert_eq!(brennan_prediger(&r, Some(3)), Err(AgreementError::TooFewCategories { given: 3, observed: 5 }));
        assert!(brennan_prediger(&r, Some(1)).is_err());
        // More possible categories than used lowers chance agreement.
        let e = brennan_prediger(&r, Some(10)).expect("bp");
        close(e.expected, 0.1, 12);
    }

    #[test]
    fn ratio_and_custom_distance_checks() {
        let r = table(&["-1 2 3", "-1 2 2"]);
        assert_eq!(krippendorff_alpha(&r, Metric::Ratio), Err(AgreementError::NegativeRatioValue { value: -1.0 }));
        assert!(krippendorff_alpha(&r, Metric::Interval).is_ok());
        assert!(matches!(krippendorff_alpha_with(&r, |_, _| -1.0), Err(AgreementError::InvalidDistance { .. })));
        assert!(matches!(krippendorff_alpha_with(&r, |_, _| f64::NAN), Err(AgreementError::InvalidDistance { .. })));
        // Ratio metric with zeros.
        let z = table(&["0 1 2 0", "0 1 2 1"]);
        assert!(krippendorff_alpha(&z, Metric::Ratio).is_ok_and(|e| e.value.is_finite()));
    }

    #[test]
    fn bootstrap_is_reproducible_and_sane() {
        let r = table(&K1);
        let a = bootstrap_alpha_detailed(&r, Metric::Interval, 500, 42, 0.95).expect("bootstrap");
        let b = bootstrap_alpha_detailed(&r, Metric::Interval, 500, 42, 0.95).expect("bootstrap");
        assert_eq!(a, b);
        close(a.estimate, 0.8491, 4);
        assert!(a.lower <= a.estimate && a.estimate <= a.upper, "{a:?}");
        assert!(a.lower > -1.0 && a.upper <= 1.0, "{a:?}");
        assert_eq!(a.valid + a.skipped, 500);
        let c = bootstrap_alpha(&r, Metric::Interval, 500, 43, 0.95).expect("bootstrap");
        assert_ne!((a.lower, a.upper), c);
        // A narrower level gives a narrower interval.
        let d = bootstrap_alpha_detailed(&r, Metric::Interval, 500, 42, 0.5).expect("bootstrap");
        assert!(d.lower >= a.lower && d.upper <= a.upper);
        for m in [Metric::Nominal, Metric::Ordinal, Metric::Ratio] {
            let (lo, hi) = bootstrap_alpha(&r, m, 200, 7, 0.9).expect("bootstrap");
            assert!(lo.is_finite() && hi.is_finite() && lo <= hi);
        }
    }

    #[test]
    fn a_table_of_kinds_gives_what_its_rows_give() {
        // Rows listed one by one, and the same rows as kinds named per unit (the kinds in
        // another order, one of them unused, with repeats of the same counts).
        let rows = |spec: &[&str]| table(spec).values();
        for spec in [&K1[..], &["1 1 2 2 1 1 2 2 1 . 1 2", "1 1 2 1 1 1 2 2 2 2 1 2"][..]] {
            let by_rows = table(spec);
            let units = rows(spec);
            let mut kinds: Vec<Vec<Option<f64>>> = vec![vec![Some(9.0); units[0].len()]];
            let mut unit_kind = Vec::new();
            for u in units.iter().rev() {
                let k = kinds.iter().position(|k| k == u).unwrap_or_else(|| {
                    kinds.push(u.clone());
                    kinds.len() - 1
                });
                unit_kind.push(k as u32);
            }
            unit_kind.reverse();
            let by_kinds = Ratings::from_kinds(by_rows.coders().to_vec(), kinds, unit_kind).unwrap();
            assert_eq!(by_rows, by_kinds);
            assert_eq!(by_kinds.values(), units);
            let two = by_rows.n_coders() == 2;
            for (a, b) in [
                (percent_agreement(&by_rows), percent_agreement(&by_kinds)),
                (fleiss_kappa(&by_rows), fleiss_kappa(&by_kinds)),
                (gwet_ac1(&by_rows), gwet_ac1(&by_kinds)),
                (brennan_prediger(&by_rows, None), brennan_prediger(&by_kinds, None)),
                (conger_kappa(&by_rows), conger_kappa(&by_kinds)),
                (krippendorff_alpha(&by_rows, Metric::Ordinal), krippendorff_alpha(&by_kinds, Metric::Ordinal)),
                (krippendorff_alpha(&by_rows, Metric::Nominal), krippendorff_alpha(&by_kinds, Metric::Nominal)),
            ] {
                assert_eq!(a, b);
            }
            if two {
                assert_eq!(cohen_kappa(&by_rows), cohen_kappa(&by_kinds));
                assert_eq!(scott_pi(&by_rows), scott_pi(&by_kinds));
            }
            assert_eq!(coincidence_matrix(&by_rows), coincidence_matrix(&by_kinds));
            assert_eq!(
                bootstrap_alpha_detailed(&by_rows, Metric::Nominal, 200, 3, 0.95),
                bootstrap_alpha_detailed(&by_kinds, Metric::Nominal, 200, 3, 0.95)
            );
        }
        // A unit naming a kind that is not there, and a kind of the wrong width, are refused.
        let coders = vec!["a".to_string(), "b".to_string()];
        assert!(matches!(
            Ratings::from_kinds(coders.clone(), vec![vec![Some(1.0), None]], vec![0, 1]),
            Err(AgreementError::InvalidArgument { .. })
        ));
        assert_eq!(
            Ratings::from_kinds(coders, vec![vec![Some(1.0), None], vec![Some(1.0)]], vec![0, 0, 1]),
            Err(AgreementError::RowWidth { unit: 2, expected: 2, found: 1 })
        );
    }

    #[test]
    fn bootstrap_by_kinds_of_unit_equals_resampling_the_units_themselves() {
        // The same draws, each resample's units listed one by one, as the bootstrap once did.
        let r = table(&["1 1 2 2 1 1 2 2 1 . 1 2", "1 1 2 1 1 1 2 2 2 2 1 2", "1 2 2 2 1 1 2 . 1 2 1 2"]);
        for metric in [Metric::Nominal, Metric::Interval] {
            let b = bootstrap_alpha_detailed(&r, metric, 300, 11, 0.9).expect("bootstrap");
            let t = pairable(&r);
            let units: Vec<&[(usize, f64)]> = t.units().collect();
            let mut rng = SplitMix64(11);
            let n = units.len() as u64;
            let one_each: Vec<u32> = (0..n as u32).collect();
            let mut values: Vec<f64> = (0..300)
                .filter_map(|_| {
                    let sample: Vec<&[(usize, f64)]> = (0..n).map(|_| units[rng.below(n) as usize]).collect();
                    alpha_core(&t.cats, &sample, &one_each, Delta::Metric(metric), false).ok().map(|p| p.value)
                })
                .filter(|v| v.is_finite())
                .collect();
            values.sort_by(f64::total_cmp);
            assert_eq!(b.valid, values.len());
            close(b.lower, quantile(&values, 0.05), 12);
            close(b.upper, quantile(&values, 0.95), 12);
        }
    }

    #[test]
    fn bootstrap_skips_and_counts_undefined_resamples() {
        // Two of three units have no variation on their own, so some resamples
        // consist only of them and are skipped.
        let r = table(&["1 1 1", "1 1 2"]);
        let b = bootstrap_alpha_detailed(&r, Metric::Nominal, 200, 3, 0.95).expect("bootstrap");
        assert!(b.skipped > 0 && b.valid > 0, "{b:?}");
        assert_eq!(b.valid + b.skipped, 200);
        assert!(b.lower.is_finite() && b.upper.is_finite());
    }

    #[test]
    fn bootstrap_argument_checks() {
        let r = table(&K1);
        for (resamples, level) in [(0, 0.95), (10, 0.0), (10, 1.0), (10, f64::NAN), (10, -0.5)] {
            assert!(matches!(
                bootstrap_alpha(&r, Metric::Nominal, resamples, 1, level),
                Err(AgreementError::InvalidArgument { .. })
            ));
        }
    }

    #[test]
    fn splitmix_reference_values_and_bounds() {
        // First outputs of SplitMix64 seeded with 0 (from the reference implementation).
        let mut g = SplitMix64(0);
        assert_eq!(g.next_u64(), 0xE220_A839_7B1D_CDAF);
        assert_eq!(g.next_u64(), 0x6E78_9E6A_A1B9_65F4);
        let mut g = SplitMix64(9);
        for bound in [1_u64, 2, 3, 7, 1000] {
            for _ in 0..1000 {
                assert!(g.below(bound) < bound);
            }
        }
    }

    #[test]
    fn random_tables_never_give_non_finite_results() {
        let mut g = SplitMix64(2024);
        for _ in 0..400 {
            let n_coders = 2 + g.below(3) as usize;
            let n_units = g.below(8) as usize;
            let n_vals = 1 + g.below(4);
            let units: Vec<Vec<Option<f64>>> = (0..n_units)
                .map(|_| (0..n_coders).map(|_| (g.below(4) != 0).then(|| g.below(n_vals) as f64)).collect())
                .collect();
            let coders = (0..n_coders).map(|c| format!("c{c}")).collect();
            let r = Ratings::new(coders, units).expect("valid");
            let mut results = all_statistics(&r);
            results.push(("percent", percent_agreement(&r)));
            results.push(("bp5", brennan_prediger(&r, Some(5))));
            for (name, res) in results {
                if let Ok(e) = res {
                    assert!(e.value.is_finite() && e.observed.is_finite() && e.expected.is_finite(), "{name}");
                    assert!(e.se.is_none_or(f64::is_finite), "{name}");
                    assert!(
                        e.ci.is_none_or(|(lo, hi)| lo.is_finite() && hi.is_finite() && lo <= hi + 1e-12),
                        "{name}: {e:?}"
                    );
                }
            }
            if let Ok((lo, hi)) = bootstrap_alpha(&r, Metric::Ordinal, 20, 5, 0.95) {
                assert!(lo.is_finite() && hi.is_finite() && lo <= hi);
            }
        }
    }

    #[test]
    fn error_messages_are_sentences() {
        let errors = [
            AgreementError::NoCoders,
            AgreementError::DuplicateCoder { name: "x".into() },
            AgreementError::RowWidth { unit: 0, expected: 2, found: 1 },
            AgreementError::NonFiniteValue { unit: 0, coder: "x".into() },
            AgreementError::NoPairableUnits,
            AgreementError::NoVariation,
            AgreementError::WrongCoderCount { statistic: "Cohen's kappa", found: 3 },
            AgreementError::TooFewCategories { given: 1, observed: 2 },
            AgreementError::NegativeRatioValue { value: -1.0 },
            AgreementError::InvalidDistance { a: 1.0, b: 2.0, distance: -1.0 },
            AgreementError::InvalidArgument { name: "level", reason: "must lie strictly between 0 and 1" },
            AgreementError::NoValidResamples { resamples: 10 },
            AgreementError::NotFinite { statistic: "alpha" },
        ];
        for e in errors {
            let msg = e.to_string();
            assert!(msg.chars().next().is_some_and(char::is_uppercase), "{msg}");
            assert!(msg.len() > 30, "{msg}");
            let _: &dyn std::error::Error = &e;
        }
    }
}
