//! The codebook (`codebook.toml`): codes in a tree, with descriptions and auto-coding rules.
//!
//! ```toml
//! [codebook]
//! name = "Eight considerations"
//! version = "1.0.0"
//!
//! [[code]]
//! id = "time"
//! name = "Time"
//! description = "Investing time so that trust can grow ..."
//! colour = "#1b9e77"
//! examples = ["It took us the best part of a year before they trusted us."]
//!
//! [code.rules]
//! keywords = ["staff turnover", "trust building", "took time"]
//! regex = ['\b(?:months|years) (?:before|until)\b']
//! exclude = ["full time", "at the time"]
//! stem = true
//! min_evidence = 1
//! ```

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The whole codebook.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Codebook {
    /// Name, version and description.
    #[serde(default)]
    pub codebook: Meta,
    /// The codes, in the order they are listed (the order tables use).
    #[serde(default, rename = "code")]
    pub codes: Vec<Code>,
}

/// What the codebook is.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    /// A name.
    #[serde(default)]
    pub name: String,
    /// A version, recorded in every table made with it.
    #[serde(default)]
    pub version: String,
    /// What the codebook is for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
}

/// One code.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Code {
    /// A short stable id (`time`, `expertise`), used in ledgers and queries.
    pub id: String,
    /// A human name.
    #[serde(default)]
    pub name: String,
    /// What counts and what does not.
    #[serde(default)]
    pub description: String,
    /// The id of the parent code, for a tree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// A colour as `#RRGGBB`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colour: Option<String>,
    /// Example passages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub examples: Vec<String>,
    /// Auto-coding rules.
    #[serde(default, skip_serializing_if = "Rules::is_empty")]
    pub rules: Rules,
}

/// Rules that make the auto-coder suggest a code.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// Words and phrases, matched on word boundaries, case-insensitively.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    /// Regular expressions (Rust `regex` syntax), matched case-insensitively on the passage text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub regex: Vec<String>,
    /// Words and phrases that cancel a keyword or regex hit they overlap (e.g. `at the time`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Match keywords by their English stems ("trusting" matches "trust").
    #[serde(default = "yes")]
    pub stem: bool,
    /// How many different rules must fire before the code is suggested.
    #[serde(default = "one")]
    pub min_evidence: usize,
}

fn yes() -> bool {
    true
}
fn one() -> usize {
    1
}

impl Default for Rules {
    fn default() -> Self {
        Rules { keywords: Vec::new(), regex: Vec::new(), exclude: Vec::new(), stem: true, min_evidence: 1 }
    }
}

impl Rules {
    /// True when there is nothing to match.
    pub fn is_empty(&self) -> bool {
        self.keywords.is_empty() && self.regex.is_empty() && self.exclude.is_empty()
    }
}

/// How serious a codebook problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look.
    Warning,
    /// The codebook cannot be used as it is.
    Error,
}

/// One finding of [`Codebook::check`].
#[derive(Clone, Debug, Serialize)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// The code concerned, if one.
    pub code: Option<String>,
    /// 1-based line in `codebook.toml`, where known.
    pub line: Option<usize>,
    /// What is wrong and what to do.
    pub message: String,
}

impl Codebook {
    /// Reads, parses and checks a codebook file. A codebook with an error that
    /// [`Codebook::check`] finds (a duplicate id, an unknown parent, a cycle, a bad regex, an
    /// unusable id) is refused with the same message `fieldnotes codebook check` prints, naming
    /// the line: every command that reads the codebook applies this one check, so none counts
    /// a duplicated code twice or a code under a parent that does not exist.
    pub fn load(path: &Path) -> Result<Codebook> {
        let text = fs::read_to_string(path).map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        Codebook::checked(path, &text)
    }

    /// Adds `codes` to the codebook file at `path` (made if missing), appended as `[[code]]`
    /// tables after what is there, so that the file keeps its comments and order: what importing
    /// codes from elsewhere (a REFI-QDA codebook, a survey's or a transcript set's codes) writes.
    /// The codebook with them is checked as [`Codebook::load`] checks it, and nothing is written
    /// when that fails (an id already there, a parent that does not exist): the error says what.
    pub fn append_codes(path: &Path, codes: &[Code]) -> Result<()> {
        if codes.is_empty() {
            return Ok(());
        }
        let mut text = match fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(source) => return Err(Error::Io { path: path.to_path_buf(), source }),
        };
        let toml = Codebook { codebook: Meta::default(), codes: codes.to_vec() }.to_toml();
        if !text.is_empty() && !text.ends_with('\n') {
            text.push('\n');
        }
        text.push('\n');
        text.push_str(toml.find("[[code]]").map_or("", |i| &toml[i..]));
        Codebook::checked(path, &text)?;
        fieldnotes_corpus::atomic::write(path, text.as_bytes())
            .map_err(|source| Error::Io { path: path.to_path_buf(), source })
    }

    /// The codebook in `text` (the file at `path`), refused as [`Codebook::load`] says.
    fn checked(path: &Path, text: &str) -> Result<Codebook> {
        let book = Codebook::parse(text).map_err(|(line, message)| Error::Codebook {
            path: path.to_path_buf(),
            line,
            message,
        })?;
        // Regexes are parsed, not compiled: compiling every rule took 46 ms of a 100 ms `code add`.
        // A regex too large to compile is refused by `codebook check` and by the auto-coder.
        let errors: Vec<Finding> =
            book.check_with(Some(text), None, false).into_iter().filter(|f| f.severity == Severity::Error).collect();
        if let Some(first) = errors.first() {
            let mut message = first.message.clone();
            for f in &errors[1..] {
                message.push_str(&format!("\n  {}", f.message));
                if let Some(l) = f.line {
                    message.push_str(&format!(" (line {l})"));
                }
            }
            message.push_str(
                "\n  `fieldnotes codebook check` lists every problem; fix the codebook and run the command again",
            );
            return Err(Error::Codebook { path: path.to_path_buf(), line: first.line, message });
        }
        Ok(book)
    }

    /// Parses codebook TOML; an error carries the 1-based line where known.
    pub fn parse(text: &str) -> std::result::Result<Codebook, (Option<usize>, String)> {
        toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_of(text, s.start));
            (line, e.message().to_string())
        })
    }

    /// Serialises the codebook as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// The code with this id.
    pub fn code(&self, id: &str) -> Option<&Code> {
        self.codes.iter().find(|c| c.id == id)
    }

    /// The position of each code id in listing order.
    pub fn order(&self) -> HashMap<&str, usize> {
        self.codes.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect()
    }

    /// Children of each code id (`""` for the roots), in listing order.
    pub fn children(&self) -> BTreeMap<&str, Vec<&Code>> {
        let mut m: BTreeMap<&str, Vec<&Code>> = BTreeMap::new();
        for c in &self.codes {
            m.entry(c.parent.as_deref().unwrap_or("")).or_default().push(c);
        }
        m
    }

    /// The codes' indices in tree order: each code followed by its children (depth first), the
    /// codes of each level in the order they are listed. A code whose parent is unknown, or in a
    /// cycle of parents, comes at the top level where it is listed.
    pub fn tree_order(&self) -> Vec<usize> {
        let index: HashMap<&str, usize> = self.codes.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect();
        let mut kids: Vec<Vec<usize>> = vec![Vec::new(); self.codes.len()];
        let mut roots = Vec::new();
        for (i, c) in self.codes.iter().enumerate() {
            match c.parent.as_deref().and_then(|p| index.get(p)) {
                Some(&p) if p != i => kids[p].push(i),
                _ => roots.push(i),
            }
        }
        let mut out = Vec::with_capacity(self.codes.len());
        let mut seen = vec![false; self.codes.len()];
        fn visit(i: usize, kids: &[Vec<usize>], seen: &mut [bool], out: &mut Vec<usize>) {
            if std::mem::replace(&mut seen[i], true) {
                return;
            }
            out.push(i);
            for &k in &kids[i] {
                visit(k, kids, seen, out);
            }
        }
        for r in roots {
            visit(r, &kids, &mut seen, &mut out);
        }
        // Codes in a cycle of parents: where they are listed, after the rest.
        for i in 0..self.codes.len() {
            visit(i, &kids, &mut seen, &mut out);
        }
        out
    }

    /// The ids of a code and all its descendants.
    pub fn descendants(&self, id: &str) -> Vec<String> {
        let children = self.children();
        let mut out = vec![id.to_string()];
        let mut i = 0;
        let mut seen: HashSet<String> = HashSet::from([id.to_string()]);
        while i < out.len() {
            if let Some(kids) = children.get(out[i].as_str()) {
                for k in kids {
                    if seen.insert(k.id.clone()) {
                        out.push(k.id.clone());
                    }
                }
            }
            i += 1;
        }
        out
    }

    /// The ancestors of a code, its parent first, each once (a cycle, which
    /// [`Codebook::check`] reports, stops where it comes round).
    pub fn ancestors(&self, id: &str) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        let mut cur = self.code(id).and_then(|c| c.parent.as_deref());
        while let Some(p) = cur {
            if p == id || out.contains(&p) {
                break;
            }
            out.push(p);
            cur = self.code(p).and_then(|c| c.parent.as_deref());
        }
        out
    }

    /// Depth of each code in the tree (roots are 0).
    pub fn depth(&self, id: &str) -> usize {
        let mut d = 0;
        let mut cur = self.code(id).and_then(|c| c.parent.as_deref());
        while let Some(p) = cur {
            d += 1;
            if d > self.codes.len() {
                break;
            }
            cur = self.code(p).and_then(|c| c.parent.as_deref());
        }
        d
    }

    /// Checks the codebook: duplicate ids, unknown parents, cycles, invalid regexes (with the
    /// position), codes without a description; and, given the number of codings per code,
    /// codes never used. `text` is the file's text, to give line numbers.
    pub fn check(&self, text: Option<&str>, usage: Option<&HashMap<String, usize>>) -> Vec<Finding> {
        self.check_with(text, usage, true)
    }

    /// [`Codebook::check`]; with `compile` false, regexes are only parsed (their syntax
    /// checked), not compiled, which is what a command that does not run the rules needs.
    fn check_with(&self, text: Option<&str>, usage: Option<&HashMap<String, usize>>, compile: bool) -> Vec<Finding> {
        let line_for = |id: &str| text.and_then(|t| find_id_line(t, id));
        let mut out = Vec::new();
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, c) in self.codes.iter().enumerate() {
            // The line of this definition: a repeated id's own line, not its first's.
            let earlier = self.codes[..i].iter().filter(|x| x.id == c.id).count();
            let line = text.and_then(|t| find_id_line_nth(t, &c.id, earlier)).or_else(|| line_for(&c.id));
            let first_line = line_for(&c.id);
            if c.id.trim().is_empty()
                || c.id.chars().any(|ch| ch.is_whitespace() || ch == ':' || ch == '"')
                || c.id.split('/').any(|part| part.is_empty() || part == "." || part == "..")
            {
                out.push(Finding {
                    severity: Severity::Error,
                    code: Some(c.id.clone()),
                    line,
                    message: format!(
                        "code id `{}` is empty, holds spaces, `:` or quotes, or has an empty, `.` or `..` part between slashes; use a short id such as `staff-turnover` (or `barriers/cost` under `barriers`)",
                        c.id
                    ),
                });
            }
            // `TIME` beside `time`: search's `code:` ignores case, the tables do not.
            if let Some(other) = self.codes[..i].iter().find(|x| x.id != c.id && x.id.eq_ignore_ascii_case(&c.id)) {
                out.push(Finding {
                    severity: Severity::Error,
                    code: Some(c.id.clone()),
                    line,
                    message: format!(
                        "code ids `{}` and `{}` differ only in case: `code:` in a search finds both as one, the tables count them apart; give each its own id",
                        other.id, c.id
                    ),
                });
            }
            if let Some(&first) = seen.get(c.id.as_str()) {
                // The line of this, the repeated, definition; the message names the first one's.
                out.push(Finding {
                    severity: Severity::Error,
                    code: Some(c.id.clone()),
                    line,
                    message: format!(
                        "duplicate code id `{}` (code #{} and #{}{}); give each code its own id",
                        c.id,
                        first + 1,
                        i + 1,
                        first_line.map(|l| format!(", first defined on line {l}")).unwrap_or_default()
                    ),
                });
            } else {
                seen.insert(&c.id, i);
            }
            if let Some(p) = &c.parent
                && self.code(p).is_none()
            {
                out.push(Finding {
                    severity: Severity::Error,
                    code: Some(c.id.clone()),
                    line,
                    message: format!("code `{}` names an unknown parent `{p}`", c.id),
                });
            }
            if c.description.trim().is_empty() {
                out.push(Finding {
                    severity: Severity::Warning,
                    code: Some(c.id.clone()),
                    line,
                    message: format!("code `{}` has no description; say what counts and what does not", c.id),
                });
            }
            if let Some(col) = &c.colour
                && parse_colour(col).is_none()
            {
                out.push(Finding {
                    severity: Severity::Warning,
                    code: Some(c.id.clone()),
                    line,
                    message: format!("code `{}` has colour `{col}`, not of the form `#RRGGBB`", c.id),
                });
            }
            for re in &c.rules.regex {
                let checked = if compile {
                    regex::RegexBuilder::new(re)
                        .case_insensitive(true)
                        .size_limit(crate::autocode::REGEX_SIZE_LIMIT)
                        .build()
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                } else {
                    regex_syntax::ParserBuilder::new()
                        .case_insensitive(true)
                        .build()
                        .parse(re)
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                };
                if let Err(e) = checked {
                    out.push(Finding {
                        severity: Severity::Error,
                        code: Some(c.id.clone()),
                        line: text.and_then(|t| find_text_line(t, re)).or(line),
                        message: format!("invalid regex in code `{}`:\n{}", c.id, e),
                    });
                }
            }
            if c.rules.min_evidence == 0 {
                out.push(Finding {
                    severity: Severity::Warning,
                    code: Some(c.id.clone()),
                    line,
                    message: format!("code `{}` has `min_evidence = 0`; it is treated as 1", c.id),
                });
            }
            if let Some(u) = usage
                && u.get(&c.id).copied().unwrap_or(0) == 0
            {
                out.push(Finding {
                    severity: Severity::Warning,
                    code: Some(c.id.clone()),
                    line,
                    message: format!("code `{}` is never used in any ledger", c.id),
                });
            }
        }
        // Codes the ledgers use that the codebook does not have: renamed or removed, their
        // codings are in no table, so each is said.
        if let Some(u) = usage {
            let mut missing: Vec<(&String, &usize)> =
                u.iter().filter(|(id, n)| **n > 0 && !self.codes.iter().any(|c| &c.id == *id)).collect();
            missing.sort();
            for (id, n) in missing {
                out.push(Finding {
                    severity: Severity::Warning,
                    code: Some(id.clone()),
                    line: None,
                    message: format!(
                        "{n} coding(s) in the ledgers use code `{id}`, which the codebook does not have, so no table or agreement counts them; if the code was renamed, give it back its old id (ledgers name codes by id); `fieldnotes code check` lists them"
                    ),
                });
            }
        }
        // Cycles: follow parents from each code.
        let mut reported: HashSet<&str> = HashSet::new();
        for c in &self.codes {
            let mut path = vec![c.id.as_str()];
            let mut cur = c.parent.as_deref();
            while let Some(p) = cur {
                if let Some(pos) = path.iter().position(|&x| x == p) {
                    let cycle = &path[pos..];
                    if cycle.iter().all(|id| reported.insert(id)) {
                        let mut ids: Vec<&str> = cycle.to_vec();
                        ids.push(p);
                        out.push(Finding {
                            severity: Severity::Error,
                            code: Some(p.to_string()),
                            line: line_for(p),
                            message: format!("codes form a cycle of parents: {}", ids.join(" -> ")),
                        });
                    }
                    break;
                }
                path.push(p);
                cur = self.code(p).and_then(|x| x.parent.as_deref());
            }
        }
        out.sort_by_key(|f| (std::cmp::Reverse(f.severity), f.line));
        out
    }
}

/// Parses `#RRGGBB` (or `RRGGBB`) into its three bytes.
pub fn parse_colour(s: &str) -> Option<(u8, u8, u8)> {
    let h = s.trim().strip_prefix('#').unwrap_or(s.trim());
    if h.len() != 6 || !h.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let p = |i: usize| u8::from_str_radix(&h[i..i + 2], 16).ok();
    Some((p(0)?, p(2)?, p(4)?))
}

fn line_of(text: &str, byte: usize) -> usize {
    1 + text.as_bytes()[..byte.min(text.len())].iter().filter(|&&b| b == b'\n').count()
}

fn find_id_line(text: &str, id: &str) -> Option<usize> {
    find_id_line_nth(text, id, 0)
}

/// The 1-based line of the `n`-th (from 0) `id = "..."` line naming `id`.
fn find_id_line_nth(text: &str, id: &str, n: usize) -> Option<usize> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim();
            t.strip_prefix("id").map(str::trim_start).and_then(|r| r.strip_prefix('=')).is_some_and(|r| {
                let v = r.trim();
                v.trim_matches(['"', '\'']) == id
            })
        })
        .nth(n)
        .map(|(i, _)| i + 1)
}

fn find_text_line(text: &str, needle: &str) -> Option<usize> {
    text.lines().position(|l| l.contains(needle)).map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOOK: &str = r##"
[codebook]
name = "t"
version = "2"

[[code]]
id = "a"
name = "A"
description = "a"

[[code]]
id = "b"
parent = "a"
description = "b"
colour = "rgb(1,2,3)"
[code.rules]
regex = ['(unclosed']

[[code]]
id = "a"
description = "again"

[[code]]
id = "c"
parent = "d"
description = "c"

[[code]]
id = "d"
parent = "c"

[[code]]
id = "e"
parent = "nowhere"
description = "e"
"##;

    #[test]
    fn tree_order_puts_sub_codes_under_their_parents() {
        let cb = Codebook::parse(
            "[[code]]\nid='a'\n[[code]]\nid='b'\n[[code]]\nid='a/x'\nparent='a'\n[[code]]\nid='a/x/y'\nparent='a/x'\n[[code]]\nid='c'\nparent='nowhere'\n",
        )
        .unwrap();
        let ids: Vec<&str> = cb.tree_order().into_iter().map(|i| cb.codes[i].id.as_str()).collect();
        assert_eq!(ids, ["a", "a/x", "a/x/y", "b", "c"]);
    }

    #[test]
    fn ids_differing_only_in_case_or_with_dot_parts_are_errors() {
        let cb = Codebook::parse(
            "[[code]]\nid='time'\ndescription='t'\n[[code]]\nid='TIME'\ndescription='t'\n[[code]]\nid='../x'\ndescription='x'\n[[code]]\nid='a//b'\ndescription='x'\n",
        )
        .unwrap();
        let errors: Vec<String> =
            cb.check(None, None).into_iter().filter(|f| f.severity == Severity::Error).map(|f| f.message).collect();
        assert!(errors.iter().any(|m| m.contains("`time` and `TIME` differ only in case")), "{errors:?}");
        assert!(errors.iter().any(|m| m.contains("code id `../x`")), "{errors:?}");
        assert!(errors.iter().any(|m| m.contains("code id `a//b`")), "{errors:?}");
        assert_eq!(errors.len(), 3, "{errors:?}");
    }

    #[test]
    fn check_finds_every_problem() {
        let cb = Codebook::parse(BOOK).unwrap();
        let usage = HashMap::from([("a".to_string(), 3), ("renamed".to_string(), 2)]);
        let f = cb.check(Some(BOOK), Some(&usage));
        let msgs: Vec<String> = f.iter().map(|x| format!("{:?} {:?} {}", x.severity, x.line, x.message)).collect();
        let all = msgs.join("\n");
        assert!(all.contains("duplicate code id `a`"), "{all}");
        assert!(all.contains("unknown parent `nowhere`"), "{all}");
        assert!(all.contains("cycle of parents"), "{all}");
        assert!(all.contains("invalid regex in code `b`"), "{all}");
        assert!(all.contains("code `d` has no description"), "{all}");
        assert!(all.contains("`rgb(1,2,3)`"), "{all}");
        assert!(all.contains("code `e` is never used"), "{all}");
        assert!(
            all.contains("2 coding(s) in the ledgers use code `renamed`, which the codebook does not have"),
            "{all}"
        );
        // The duplicate is reported where it is repeated, naming the first definition's line.
        let dup = f.iter().find(|x| x.message.contains("duplicate code id `a`")).unwrap();
        assert_eq!(dup.line, Some(20), "{}", dup.message);
        assert!(dup.message.contains("first defined on line 7"), "{}", dup.message);
        let regex_finding = f.iter().find(|x| x.message.contains("invalid regex")).unwrap();
        assert_eq!(regex_finding.line, Some(17));
        assert!(f.iter().any(|x| x.severity == Severity::Error));
    }

    #[test]
    fn load_refuses_what_check_calls_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("codebook.toml");
        fs::write(&path, BOOK).unwrap();
        let e = Codebook::load(&path).unwrap_err().to_string();
        // The first error names its line; every error is listed; the hint names the check.
        assert!(e.contains("codebook.toml` line "), "{e}");
        assert!(e.contains("duplicate code id `a`") && e.contains("unknown parent `nowhere`"), "{e}");
        assert!(e.contains("cycle of parents") && e.contains("invalid regex"), "{e}");
        assert!(e.contains("fieldnotes codebook check"), "{e}");
        // Warnings alone (no description, a colour) do not stop a command.
        fs::write(&path, "[[code]]\nid = 'a'\ncolour = 'red'\n").unwrap();
        assert_eq!(Codebook::load(&path).unwrap().codes.len(), 1);
    }

    #[test]
    fn tree_helpers() {
        let cb = Codebook::parse(
            "[[code]]\nid='r'\n[[code]]\nid='k'\nparent='r'\n[[code]]\nid='g'\nparent='k'\n[[code]]\nid='s'\n",
        )
        .unwrap();
        assert_eq!(cb.descendants("r"), ["r", "k", "g"]);
        assert_eq!(cb.depth("g"), 2);
        assert!(cb.check(None, None).iter().all(|f| f.severity == Severity::Warning));
    }

    #[test]
    fn appended_codes_keep_the_file_and_a_bad_addition_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("codebook.toml");
        let code = |id: &str, parent: Option<&str>| Code {
            id: id.into(),
            name: format!("The {id}"),
            description: String::new(),
            parent: parent.map(Into::into),
            colour: None,
            examples: Vec::new(),
            rules: Rules::default(),
        };
        // A missing file is made; a file's comments stay.
        Codebook::append_codes(&path, &[code("a", None)]).unwrap();
        let with_comment = format!("# our own words\n{}", fs::read_to_string(&path).unwrap());
        fs::write(&path, &with_comment).unwrap();
        Codebook::append_codes(&path, &[code("b", Some("a"))]).unwrap();
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(&with_comment), "{text}");
        let book = Codebook::load(&path).unwrap();
        assert_eq!(book.codes.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(book.code("b").unwrap().parent.as_deref(), Some("a"));
        // An id already there, or a parent that is not, is refused and nothing is written.
        for bad in [code("a", None), code("c", Some("nowhere"))] {
            let e = Codebook::append_codes(&path, &[bad]).unwrap_err().to_string();
            assert!(e.contains("codebook.toml"), "{e}");
            assert_eq!(fs::read_to_string(&path).unwrap(), text);
        }
    }

    #[test]
    fn parse_error_has_line() {
        let (line, msg) = Codebook::parse("[[code]]\nid = 'a'\nnmae = 'x'\n").unwrap_err();
        assert_eq!(line, Some(3));
        assert!(msg.contains("nmae"), "{msg}");
    }

    #[test]
    fn colours() {
        assert_eq!(parse_colour("#1b9e77"), Some((0x1b, 0x9e, 0x77)));
        assert_eq!(parse_colour("rgb(0,0,0)"), None);
    }
}
