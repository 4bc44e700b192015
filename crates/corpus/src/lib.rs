//! Fieldnotes as documents and passages.
//!
//! A research project is a folder of notes (Markdown or plain text, UTF-8) with optional
//! front matter. This crate finds the notes, parses their front matter into typed attributes,
//! and cuts their bodies into passages (paragraphs, or speaker turns in transcripts) with exact
//! code-point offsets, so that `text[start..end]` is always the passage text.
//!
//! ```
//! use fieldnotes_corpus::{parse_document, SplitOptions, Value};
//!
//! let note = "---\nsite: Fife\nkind: interview\n---\n# Opening\n\nInterviewer: How did it start?\n\nManager: Slowly.\n";
//! let doc = parse_document("notes/fife/i.md".into(), note.into(), &SplitOptions { speaker_turns: true }).unwrap();
//! assert_eq!(doc.attributes["site"], Value::String("Fife".into()));
//! let p = &doc.passages[1];
//! assert_eq!(doc.passage_text(p), "Slowly.");
//! assert_eq!(p.speaker.as_deref(), Some("Manager"));
//! assert_eq!(p.section.as_deref(), Some("Opening"));
//! assert_eq!(doc.passage_id(p), format!("notes/fife/i.md#{}", p.key));
//! assert!(doc.passage_id(p).starts_with("notes/fife/i.md#k"));
//! let chars: Vec<char> = doc.text.chars().collect();
//! assert_eq!(chars[p.start..p.end].iter().collect::<String>(), "Slowly.");
//! ```
#![warn(missing_docs)]

pub mod atomic;
pub mod bytes;
mod document;
mod error;
pub mod frontmatter;
mod key;
pub mod mapped;
mod project;
mod value;
pub mod watch;

pub use document::{
    Document, Passage, SplitOptions, UNKNOWN_TIME, build_document, char_to_byte, count_words, hex16, nfc,
    opens_turn_inside_paragraph, ordinal_id, parse_document, speaker_label, split_passages, text_hash, turn_prefix,
    words,
};
pub use error::{Error, Result, SkipReason};
pub use frontmatter::Attributes;
pub use key::{PassageKey, PassageRef, split_passage_id};
pub use project::{
    CONFIG_FILE, Config, Corpus, DERIVED_DIR, IndexConfig, MAX_FILE_BYTES, NoteStat, NoteStats, Project, Skipped,
    changed_ns, decode, file_stamp,
};
pub use value::{Date, Value};

/// A name made safe as an id (a code id, a file name, a key): lower-case letters and digits of
/// any script and `_` kept as written, every run of anything else one `-`, no `-` at either end
/// (`possible_exam_method` stays, `Local knowledge` is `local-knowledge`). May be empty.
pub fn slug_id(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut dash = false;
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || c == '_' {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            out.push(c);
        } else {
            dash = true;
        }
    }
    out
}
