//! Theme tables, co-occurrence, statistics, quotes and figures from coded fieldnotes.
//!
//! The counting is done with polars (lazy): a frame of passages (one row per passage, with
//! its group and word count) and a frame of coded units (one row per passage and code,
//! whatever the number of codings or coders behind it) are grouped and joined. Every table
//! carries its counting rule: the unit, which codings count, and the codebook version.
#![warn(missing_docs)]

pub mod analysis;
pub mod chisq;
mod column;
pub mod export;
mod frames;
pub mod keyness;
pub mod render;
pub mod store;
mod themes;

pub use frames::{Frames, GroupBy, Rows};
pub use themes::{Cell, CodeRow, Measure, ThemeTable, UnitKind, theme_table};

/// Report errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An error from polars.
    #[error("table computation: {0}")]
    Polars(#[from] polars::error::PolarsError),
    /// A request that cannot be met.
    #[error("{0}")]
    Invalid(String),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
