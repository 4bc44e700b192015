//! Bringing data into a fieldnotes project.
//!
//! Each reader turns a file into plain structures (turns of a transcript, respondents of a
//! survey) and collects the problems it met with their line or row numbers, going on past
//! them. Writing notes and codings is the caller's business; [`note_text`] renders a note.
#![warn(missing_docs)]

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

/// Quotes a front-matter value when it would otherwise read as something else (a number, a
/// date, a list, a comment) or holds characters the front-matter reader treats specially.
pub fn fm_text(s: &str) -> String {
    let s = s.replace(['\n', '\r'], " ");
    let plain = !s.is_empty()
        && s.trim() == s
        && !s.starts_with(['[', '{', '"', '\'', '&', '*', '!', '|', '>', '-', '#'])
        && !s.contains(" #")
        && !s.contains(": ")
        && fieldnotes_corpus::Date::parse(&s).is_none()
        && s.parse::<f64>().is_err()
        && !matches!(s.as_str(), "true" | "false" | "True" | "False" | "TRUE" | "FALSE");
    if plain { s } else { format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\"")) }
}

/// A front-matter value from a spreadsheet cell: numbers and `YYYY-MM-DD` dates stay typed,
/// anything else is text (quoted where needed, see [`fm_text`]).
pub fn fm_value(s: &str) -> String {
    let t = s.trim();
    let numeric = t.parse::<i64>().is_ok() || (t.parse::<f64>().is_ok_and(f64::is_finite) && t.contains('.'));
    if numeric || fieldnotes_corpus::Date::parse(t).is_some() { t.to_string() } else { fm_text(s) }
}

/// A note's text: front matter (values already rendered: use [`fm_text`] for text) and a body.
pub fn note_text(front: &[(String, String)], body: &str) -> String {
    let mut out = String::from("---\n");
    for (k, v) in front {
        out.push_str(&format!("{k}: {v}\n"));
    }
    out.push_str("---\n");
    out.push_str(body);
    out
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
        let front: Vec<(String, String)> =
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
