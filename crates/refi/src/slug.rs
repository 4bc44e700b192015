//! Names made safe as ids, file names, coder names and front-matter keys.

use std::collections::HashSet;

/// Lower-case letters and digits (any script) and `_` kept; runs of anything else become one
/// `-`; no `-` at either end. May be empty.
pub(crate) fn slug(s: &str) -> String {
    fieldnotes_corpus::slug_id(s)
}

/// Makes names unique: the first `x` stays `x`, the next become `x-2`, `x-3`, ...
#[derive(Debug, Default)]
pub(crate) struct Unique {
    used: HashSet<String>,
}

impl Unique {
    /// A name not handed out before, built from `base` (compared case-insensitively).
    pub fn make(&mut self, base: &str) -> String {
        if self.used.insert(base.to_lowercase()) {
            return base.to_string();
        }
        (2..)
            .map(|n| format!("{base}-{n}"))
            .find(|cand| self.used.insert(cand.to_lowercase()))
            .unwrap_or_else(|| base.to_string())
    }

    /// Like [`Unique::make`] for a path `stem` + `ext`: the suffix goes before the extension.
    pub fn make_path(&mut self, stem: &str, ext: &str) -> String {
        let first = format!("{stem}{ext}");
        if self.used.insert(first.to_lowercase()) {
            return first;
        }
        (2..).map(|n| format!("{stem}-{n}{ext}")).find(|cand| self.used.insert(cand.to_lowercase())).unwrap_or(first)
    }
}

/// Drops a short file extension (`.txt`, `.docx`, `.m4a`; 1 to 5 letters or digits).
fn strip_ext(name: &str) -> &str {
    match name.rsplit_once('.') {
        Some((stem, ext))
            if !stem.is_empty()
                && !stem.ends_with(['/', '\\'])
                && (1..=5).contains(&ext.len())
                && ext.bytes().all(|b| b.is_ascii_alphanumeric()) =>
        {
            stem
        }
        _ => name,
    }
}

/// The path stem of a note for a source name: `Interview 1.txt` becomes `notes/interview-1`,
/// `notes/fife/board.md` stays `notes/fife/board`. Every part is a slug, so the path cannot
/// leave `notes/`.
pub(crate) fn note_stem(name: &str, folder: &str) -> String {
    let parts: Vec<String> = strip_ext(name.trim()).split(['/', '\\']).map(slug).filter(|p| !p.is_empty()).collect();
    let parts: &[String] = match parts.first() {
        Some(first) if first == "notes" && parts.len() > 1 => &parts[1..],
        _ => &parts,
    };
    let mut out = folder.trim_end_matches('/').to_string();
    if parts.is_empty() {
        out.push_str("/source");
    }
    for p in parts {
        out.push('/');
        out.push_str(p);
    }
    out
}

/// A coder name that is also a valid ledger file name: letters, digits, `-`, `_`, `.`,
/// at most 64 bytes, not starting with `.`; `imported` when nothing is left.
pub(crate) fn coder_name(name: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in name.trim().chars() {
        if c.is_alphanumeric() || c == '_' || c == '.' || c == '-' {
            if dash && !out.is_empty() {
                out.push('-');
            }
            dash = false;
            if out.len() + c.len_utf8() > 64 {
                break;
            }
            out.push(c);
        } else {
            dash = true;
        }
    }
    let out = out.trim_start_matches('.').trim_end_matches('-').to_string();
    if out.is_empty() { "imported".to_string() } else { out }
}

/// A front-matter key for a variable name: lower case, starting with a letter, holding letters,
/// digits, `_` and `-` (other characters become `_`).
pub(crate) fn attr_key(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() || c == '-' || c == '_' {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let out = out.trim_matches('_').to_string();
    if out.is_empty() {
        "variable".to_string()
    } else if out.starts_with(char::is_alphabetic) {
        out
    } else {
        format!("v_{out}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert_eq!(slug("Negativ/Aufgeregt"), "negativ-aufgeregt");
        assert_eq!(slug("  café culture! "), "café-culture");
        assert_eq!(slug("barriers.cost"), "barriers-cost");
        assert_eq!(slug("computer_graphics"), "computer_graphics");
        assert_eq!(slug("2022-05-10T02:05:59Z 19e4dce"), "2022-05-10t02-05-59z-19e4dce");
        assert_eq!(slug("🎉"), "");
        let mut u = Unique::default();
        assert_eq!(u.make("a"), "a");
        assert_eq!(u.make("a"), "a-2");
        assert_eq!(u.make("A"), "A-3");
        assert_eq!(u.make_path("notes/x", ".md"), "notes/x.md");
        assert_eq!(u.make_path("notes/x", ".md"), "notes/x-2.md");
    }

    #[test]
    fn note_paths() {
        assert_eq!(note_stem("Interview 1.txt", "notes"), "notes/interview-1");
        assert_eq!(note_stem("notes/fife/board.md", "notes"), "notes/fife/board");
        assert_eq!(note_stem("../../etc/passwd", "notes"), "notes/etc/passwd");
        assert_eq!(note_stem("C:\\data\\x.docx", "notes"), "notes/c/data/x");
        assert_eq!(note_stem("", "notes/memos"), "notes/memos/source");
        assert_eq!(note_stem("notes", "notes"), "notes/notes");
    }

    #[test]
    fn coders_and_keys() {
        assert_eq!(coder_name("Enric Llagostera"), "Enric-Llagostera");
        assert_eq!(coder_name(".hidden"), "hidden");
        assert_eq!(coder_name("  "), "imported");
        assert_eq!(coder_name(&"x".repeat(100)).len(), 64);
        for n in ["Enric Llagostera", ".x", "a/b", "ü ß"] {
            assert!(fieldnotes_coding::ledger::validate_coder(&coder_name(n)).is_ok(), "{n}");
        }
        assert_eq!(attr_key("Age group (years)"), "age_group_years");
        assert_eq!(attr_key("2nd"), "v_2nd");
        assert_eq!(attr_key("???"), "variable");
    }
}
