//! Errors of the corpus crate.

use std::path::PathBuf;

use serde::Serialize;

/// Errors that stop a whole operation (as opposed to one skipped file).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or folder could not be read or written.
    #[error("cannot access `{}`: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The project root is not a folder.
    #[error("`{}` is not a folder", path.display())]
    NotADirectory {
        /// The path given.
        path: PathBuf,
    },
    /// No `fieldnotes.toml` above the starting folder.
    #[error(
        "no `fieldnotes.toml` found in `{}` or any parent folder; run `fieldnotes init` to make a project, or pass `--project DIR`",
        start.display()
    )]
    NoProject {
        /// Where the search started.
        start: PathBuf,
    },
    /// `fieldnotes.toml` is malformed.
    #[error("`{}`{}: {message}", path.display(), line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Config {
        /// The settings file.
        path: PathBuf,
        /// 1-based line, where known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A note glob in the settings is invalid.
    #[error("invalid note glob `{glob}` in `fieldnotes.toml`: {message}")]
    Glob {
        /// The glob.
        glob: String,
        /// What is wrong.
        message: String,
    },
}

/// Why a note file was skipped. The message names the line where there is one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum SkipReason {
    /// The file could not be read.
    #[error("cannot be read: {message}")]
    Unreadable {
        /// The system's message.
        message: String,
    },
    /// Not valid UTF-8.
    #[error("line {line}: not UTF-8 ({message}); re-save the file as UTF-8")]
    NotUtf8 {
        /// 1-based line of the first invalid byte.
        line: usize,
        /// Details.
        message: String,
    },
    /// Holds NUL bytes: not a text file.
    #[error("line {line}: binary content (NUL byte at byte {offset}); notes must be plain text")]
    Binary {
        /// 1-based line of the first NUL byte.
        line: usize,
        /// Byte offset of the first NUL byte.
        offset: usize,
    },
    /// Empty, or only white space.
    #[error("empty file")]
    Empty,
    /// A line longer than the limit.
    #[error(
        "line {line}: {bytes} bytes on one line, over the {limit}-byte limit; break it into paragraphs (or raise `max_line_bytes` in `fieldnotes.toml`)"
    )]
    LineTooLong {
        /// 1-based line.
        line: usize,
        /// Its length.
        bytes: usize,
        /// The limit.
        limit: usize,
    },
    /// Malformed front matter.
    #[error("line {line}, column {column}: {message} (hint: {hint})")]
    FrontMatter {
        /// 1-based line in the file.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
        /// What to do.
        hint: String,
    },
}

impl SkipReason {
    /// A short name for summaries: `unreadable`, `not-utf8`, `binary`, `empty`, `line-too-long`, `front-matter`.
    pub fn kind(&self) -> &'static str {
        match self {
            SkipReason::Unreadable { .. } => "unreadable",
            SkipReason::NotUtf8 { .. } => "not-utf8",
            SkipReason::Binary { .. } => "binary",
            SkipReason::Empty => "empty",
            SkipReason::LineTooLong { .. } => "line-too-long",
            SkipReason::FrontMatter { .. } => "front-matter",
        }
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
