//! REFI-QDA exchange: codebooks (`.qdc`) and projects (`.qdpx`) to and from other QDA programs
//! (ATLAS.ti, MAXQDA, NVivo, QualCoder, f4, Taguette, ...).
//!
//! - [`export_qdc`] / [`import_qdc`]: the codebook alone, as `Codebook.xsd` XML.
//! - [`export_qdpx`] / [`import_qdpx`]: a whole project: notes as text sources, the codebook,
//!   coders as users, document attributes as variables and codings as text selections.
//!
//! Importers are best effort: what other programs write wrongly (bad GUIDs, `rgb()` colours,
//! old namespaces, odd paths, UTF-16 or CRLF-as-one positions) is read anyway and reported as a
//! [`Warning`]; nothing is dropped without being counted and reported. Files that could harm
//! the machine (zip entries escaping the archive, zip bombs, XML with a DOCTYPE) are refused
//! with an [`Error`] and nothing is returned.
//!
//! ```
//! use fieldnotes_coding::Codebook;
//!
//! let book = Codebook::parse(r##"
//! [[code]]
//! id = "trust"
//! name = "Trust & time"
//! colour = "#1b9e77"
//! [[code]]
//! id = "turnover"
//! name = "Staff turnover"
//! parent = "trust"
//! "##).unwrap();
//! let xml = fieldnotes_refi::export_qdc(&book, "demo");
//! assert!(xml.contains(r#"name="Trust &amp; time""#));
//! let (back, warnings) = fieldnotes_refi::import_qdc(&xml).unwrap();
//! assert!(warnings.is_empty());
//! assert_eq!(back.codes[1].parent.as_deref(), Some("trust-time"));
//! assert_eq!(back.codes[0].colour.as_deref(), Some("#1b9e77"));
//! ```
#![warn(missing_docs)]

mod archive;
mod colour;
mod export;
mod guid;
mod import;
mod note;
mod positions;
mod qdc;
mod slug;
mod xml;

#[cfg(test)]
mod tests;

use std::fmt;

pub use export::{ExportInput, Exported, export_qdpx, export_user};
pub use guid::code_guid;
pub use import::{Counts, Imported, import_qdpx};
pub use qdc::{export_qdc, import_qdc, import_qdc_into, new_codes};

/// The largest total size an archive may unpack to: 1 GiB.
pub const MAX_TOTAL_BYTES: u64 = 1 << 30;
/// The largest size one archive entry may unpack to: 256 MiB.
pub const MAX_ENTRY_BYTES: u64 = 256 << 20;
/// The largest `project.qde`: 256 MiB.
pub const MAX_PROJECT_XML_BYTES: u64 = 256 << 20;
/// The highest compression ratio accepted for entries over [`RATIO_CHECKED_ABOVE`] bytes.
pub const MAX_COMPRESSION_RATIO: u64 = 100;
/// Entries larger than this (1 MiB) must not be compressed more than [`MAX_COMPRESSION_RATIO`]:1.
pub const RATIO_CHECKED_ABOVE: u64 = 1 << 20;

/// A best-effort note about something read or written differently from what the file said,
/// e.g. "code `c001` has an invalid GUID; a new one was made".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// What happened, naming the code, source or selection concerned.
    pub message: String,
}

impl Warning {
    pub(crate) fn new(message: impl Into<String>) -> Warning {
        Warning { message: message.into() }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why a file could not be read or written at all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The XML is not well-formed.
    #[error("{file}: not well-formed XML at line {line}, column {column} (byte {position}): {message}")]
    Xml {
        /// The file (`project.qde`, `codebook`).
        file: String,
        /// 1-based line.
        line: usize,
        /// 1-based column, in characters.
        column: usize,
        /// Byte offset in the file.
        position: u64,
        /// What is wrong.
        message: String,
    },
    /// The XML carries a document type declaration, which could define entities that expand
    /// without bound or read other files; REFI-QDA files never need one.
    #[error(
        "{file}: refused: a DOCTYPE declaration at line {line} (byte {position}); REFI-QDA files have none, and its entities could expand without bound or read other files"
    )]
    Doctype {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// Byte offset in the file.
        position: u64,
    },
    /// The file is not UTF-8 (or UTF-16 with a byte-order mark) text.
    #[error("{file}: not UTF-8 text: invalid byte at offset {position}")]
    Encoding {
        /// The file.
        file: String,
        /// Byte offset of the first invalid byte.
        position: u64,
    },
    /// Well-formed XML, but not a REFI-QDA codebook or project.
    #[error("{file}: {message}")]
    Format {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// The bytes are not a readable zip archive, or an entry in it is damaged.
    #[error("not a readable .qdpx archive (a zip file): {message}")]
    Archive {
        /// What is wrong.
        message: String,
    },
    /// An archive entry's name would escape the folder it is unpacked into.
    #[error("refused: archive entry `{name}` {reason}")]
    UnsafeEntry {
        /// The entry's name as stored.
        name: String,
        /// Why it is unsafe.
        reason: &'static str,
    },
    /// An archive entry unpacks to more than the limit.
    #[error("refused: archive entry `{name}` unpacks to {size} bytes, over the limit of {limit} bytes")]
    EntryTooLarge {
        /// The entry.
        name: String,
        /// Its size (declared, or read so far).
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The archive unpacks to more than the limit in all.
    #[error("refused: the archive unpacks to more than {limit} bytes in all ({total} bytes counted so far)")]
    ArchiveTooLarge {
        /// Total declared size of the entries counted so far.
        total: u64,
        /// The limit.
        limit: u64,
    },
    /// A large entry is compressed so much that it looks like a zip bomb.
    #[error(
        "refused: archive entry `{name}` unpacks from {compressed} to {size} bytes (over {limit}:1), which looks like a zip bomb"
    )]
    CompressionRatio {
        /// The entry.
        name: String,
        /// Compressed size.
        compressed: u64,
        /// Unpacked size.
        size: u64,
        /// The highest ratio accepted.
        limit: u64,
    },
    /// The archive holds no project file.
    #[error("no project file in the archive: expected `project.qde` (or one `*.qde` file) at its root")]
    NoProject,
    /// Writing the archive failed.
    #[error("writing the archive: {0}")]
    Io(#[from] std::io::Error),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
