//! Errors of the coding crate.

use std::path::PathBuf;

/// Errors from codebooks, rules and ledgers.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file could not be read or written.
    #[error("cannot access `{}`: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The codebook file is malformed.
    #[error("`{}`{}: {message}", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Codebook {
        /// The codebook file.
        path: PathBuf,
        /// 1-based line, where known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// The auto-coding rules cannot be compiled.
    #[error("{message}")]
    Rules {
        /// What is wrong.
        message: String,
    },
    /// A coder name that cannot be a ledger file name.
    #[error(
        "coder name `{name}` is not usable: use letters, digits, `-`, `_` or `.` (at most 64, not starting with `.`)"
    )]
    BadCoder {
        /// The name.
        name: String,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
