//! Writing an imported source as a note: front matter the corpus reader reads back exactly
//! (`fieldnotes_corpus::frontmatter::write`, the one writer), a warning for each attribute it
//! had to leave out.

use fieldnotes_corpus::{Value, frontmatter};

use crate::Warning;

/// A rendered note.
pub(crate) struct Note {
    /// Front matter and body.
    pub text: String,
    /// Length of the front matter in code points: the body's position 0 in the note.
    pub body_offset: usize,
}

/// The note of `attrs` and `body` ([`frontmatter::write`]), a warning naming `what` for each
/// attribute left out.
pub(crate) fn render(attrs: &[(String, Value)], body: &str, what: &str, warnings: &mut Vec<Warning>) -> Note {
    let written = frontmatter::write(attrs, body);
    for k in &written.left_out {
        warnings.push(Warning::new(format!("{what}: attribute `{k}` could not be written as front matter; left out")));
    }
    Note { text: written.text, body_offset: written.body_offset }
}
