//! Bringing data into a fieldnotes project.
//!
//! Each reader turns a file into plain structures (turns of a transcript, respondents of a
//! survey) and collects the problems it met with their line or row numbers, going on past
//! them. Writing notes and codings is the caller's business; [`note_text`] renders a note.
#![warn(missing_docs)]

use fieldnotes_corpus::Value;

pub mod qmsum;
pub mod survey;
pub mod transcript;

/// A line or row that could not be read; the rest of the file was.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    /// 1-based line (or spreadsheet row) number; 0 where the file has none.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Import errors: the file as a whole cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file is not of the expected format.
    #[error("line {line}: {message}")]
    Format {
        /// 1-based line, 0 where unknown.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A front-matter value of text, whatever it looks like (line breaks become spaces: front
/// matter is a line per key).
pub fn fm_text(s: &str) -> Value {
    Value::String(s.replace(['\n', '\r'], " "))
}

/// A front-matter value from a spreadsheet cell: whole numbers, decimals and `YYYY-MM-DD`
/// dates stay typed, anything else is text ([`fm_text`]).
pub fn fm_value(s: &str) -> Value {
    let t = s.trim();
    if let Ok(i) = t.parse::<i64>() {
        return Value::Integer(i);
    }
    // As front matter reads them: `true` and `false` are yes and no, not words.
    match t {
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Some(x) = t.parse::<f64>().ok().filter(|x| x.is_finite() && t.contains('.')) {
        return Value::Float(x);
    }
    match fieldnotes_corpus::Date::parse(t) {
        Some(d) => Value::Date(d),
        None => fm_text(s),
    }
}

/// A note's text: front matter and a body, written as every import writes a note
/// ([`fieldnotes_corpus::frontmatter::write`]: text unquoted where it reads back as itself).
pub fn note_text(front: &[(String, Value)], body: &str) -> String {
    fieldnotes_corpus::frontmatter::write(front, body).text
}

/// A name made safe as a file or folder name: the workspace's one slug
/// ([`fieldnotes_corpus::slug_id`]), `untitled` where nothing of the name is left.
pub fn slug(s: &str) -> String {
    let out = fieldnotes_corpus::slug_id(s);
    if out.is_empty() { "untitled".into() } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_round_trips_through_the_reader() {
        let values = [
            "Fife",
            "2016",
            "2016-03-02",
            "a: b",
            "# x",
            "[list]",
            "true",
            " padded",
            "it's \"quoted\"",
            "Ferguslie Park",
        ];
        let front: Vec<(String, Value)> =
            values.iter().enumerate().map(|(i, v)| (format!("k{i}"), fm_text(v))).collect();
        let text = note_text(&front, "Body.\n");
        let parsed = fieldnotes_corpus::frontmatter::parse(&text).unwrap();
        for (i, v) in values.iter().enumerate() {
            assert_eq!(parsed.attributes[&format!("k{i}")], fieldnotes_corpus::Value::String(v.to_string()), "{v}");
        }
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Interview: CPP manager (2016)"), "interview-cpp-manager-2016");
        assert_eq!(slug("///"), "untitled");
        assert_eq!(slug("Focus_group 2"), "focus_group-2");
    }
}
