//! The YAML subset that notes use for front matter.
//!
//! ```text
//! ---
//! site: Fife
//! date: 2016-03-02
//! kind: meeting            # a comment
//! participants: [CPP manager, "Chair, board"]
//! topics:
//!   - housing
//!   - transport
//! ---
//! ```
//!
//! Keys are lower-cased. Values are typed: `true`/`false`, integers, floats, `YYYY-MM-DD`
//! dates, lists (inline `[a, b]` or a block of `- item` lines), and text (bare or quoted).
//! Anything else (nesting, anchors, multi-line strings) is an error naming the line and column.

use std::collections::BTreeMap;

use crate::value::{Date, Value};

/// The typed attributes of a document, by lower-cased key.
pub type Attributes = BTreeMap<String, Value>;

/// A front-matter error, with a 1-based line and column within the whole file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrontMatterError {
    /// 1-based line in the file.
    pub line: usize,
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// What to do about it.
    pub hint: &'static str,
}

/// Where the front matter ends: the attributes and the byte offset of the body.
#[derive(Debug, Default)]
pub struct Parsed {
    /// The attributes.
    pub attributes: Attributes,
    /// Byte offset at which the body (after the closing `---` line) starts.
    pub body_start: usize,
    /// Number of lines the front matter takes, including both `---` lines.
    pub lines: usize,
}

/// The longest front matter accepted, in lines; longer is almost surely a missing closing `---`.
pub const MAX_LINES: usize = 10_000;

fn is_fence(line: &str) -> bool {
    line.trim_end_matches(['\r', '\n']).trim_end() == "---"
}

/// Splits off and parses the front matter at the start of `text` (which has no BOM).
///
/// A file whose first line is not `---` has no front matter: the body starts at 0.
pub fn parse(text: &str) -> Result<Parsed, FrontMatterError> {
    let mut lines = text.split_inclusive('\n');
    match lines.next() {
        Some(first) if is_fence(first) => {}
        _ => return Ok(Parsed::default()),
    }
    let mut offset = text.split_inclusive('\n').next().map_or(0, str::len);
    let mut body_lines: Vec<(usize, &str)> = Vec::new();
    let mut closed = None;
    for (i, raw) in lines.enumerate() {
        let line_no = i + 2;
        offset += raw.len();
        if is_fence(raw) {
            closed = Some(line_no);
            break;
        }
        if line_no > MAX_LINES {
            break;
        }
        body_lines.push((line_no, raw.trim_end_matches(['\r', '\n'])));
    }
    let Some(closing_line) = closed else {
        return Err(FrontMatterError {
            line: 1,
            column: 1,
            message: if body_lines.len() >= MAX_LINES - 1 {
                format!("front matter runs past {MAX_LINES} lines without a closing `---`")
            } else {
                "front matter opened with `---` is never closed".to_string()
            },
            hint: "end the front matter with a line holding only `---`",
        });
    };
    let attributes = parse_lines(&body_lines)?;
    Ok(Parsed { attributes, body_start: offset, lines: closing_line })
}

fn err(line: usize, column: usize, message: String, hint: &'static str) -> FrontMatterError {
    FrontMatterError { line, column, message, hint }
}

fn parse_lines(lines: &[(usize, &str)]) -> Result<Attributes, FrontMatterError> {
    let mut attrs = Attributes::new();
    let mut first_seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut i = 0;
    while i < lines.len() {
        let (line_no, line) = lines[i];
        i += 1;
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if line.starts_with([' ', '\t']) || trimmed.starts_with("- ") || trimmed == "-" {
            return Err(err(
                line_no,
                1 + line.len() - trimmed.len(),
                "unexpected indented line or list item".to_string(),
                "list items belong under a `key:` line with no value; nested maps are not supported",
            ));
        }
        let Some(colon) = line.find(':') else {
            return Err(err(
                line_no,
                1,
                format!("expected `key: value`, found `{}`", clip(line)),
                "write each attribute as `key: value`",
            ));
        };
        let key = line[..colon].trim();
        // Where the key starts in the line (after leading white space such as a stray `\r`).
        let key_at = colon - line[..colon].trim_start().len();
        if let Some(bad) = key
            .char_indices()
            .find(|&(j, c)| !(c.is_alphanumeric() || c == '_' || c == '-' || (c == ' ' && j > 0)))
            .or_else(|| key.chars().next().filter(|c| !c.is_alphabetic()).map(|c| (0, c)))
        {
            return Err(err(
                line_no,
                1 + line[..key_at + bad.0].chars().count(),
                format!("`{}` is not a valid key", clip(key)),
                "keys start with a letter and hold letters, digits, `_` and `-`",
            ));
        }
        if key.is_empty() {
            return Err(err(line_no, 1, "missing key before `:`".into(), "write `key: value`"));
        }
        let key_lc = key.to_lowercase();
        if let Some(prev) = first_seen.get(&key_lc) {
            return Err(err(
                line_no,
                1,
                format!("duplicate key `{key}` (first set on line {prev})"),
                "keep one of the two lines; for several values use a list: `key: [a, b]`",
            ));
        }
        first_seen.insert(key_lc.clone(), line_no);
        let rest = &line[colon + 1..];
        let value_col = 1 + line[..colon + 1].chars().count() + (rest.len() - rest.trim_start().len());
        let raw = strip_comment(rest).trim();
        let value = if raw.is_empty() {
            // A block list may follow.
            let mut items = Vec::new();
            while i < lines.len() {
                let (item_no, item_line) = lines[i];
                let t = item_line.trim_start();
                if t.is_empty() || t.starts_with('#') {
                    i += 1;
                    continue;
                }
                let Some(item) = t.strip_prefix('-') else { break };
                if !(item.is_empty() || item.starts_with([' ', '\t'])) {
                    break;
                }
                let col = 2 + item_line.len() - t.len();
                items.push(parse_scalar(strip_comment(item).trim(), item_no, col)?);
                i += 1;
            }
            if items.is_empty() { Value::String(String::new()) } else { Value::List(items) }
        } else {
            parse_value(raw, line_no, value_col)?
        };
        attrs.insert(key_lc, value);
    }
    Ok(attrs)
}

/// Drops a ` # comment` that is outside quotes.
fn strip_comment(s: &str) -> &str {
    let mut quote = None;
    let mut prev_space = true;
    let mut prev: char = ' ';
    for (i, c) in s.char_indices() {
        let opens = prev.is_whitespace() || prev == '[' || prev == ',';
        prev = c;
        match (quote, c) {
            (None, '"' | '\'') if opens => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '#') if prev_space => return &s[..i],
            _ => {}
        }
        prev_space = c.is_whitespace();
    }
    s
}

fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if s.chars().count() > 60 {
        out.push('…');
    }
    out
}

fn parse_value(raw: &str, line: usize, col: usize) -> Result<Value, FrontMatterError> {
    if let Some(inner) = raw.strip_prefix('[') {
        let Some(inner) = inner.strip_suffix(']') else {
            return Err(err(
                line,
                col + raw.chars().count(),
                "list opened with `[` is not closed".into(),
                "close the list with `]` on the same line",
            ));
        };
        let mut items = Vec::new();
        let mut start = 0;
        let mut quote = None;
        let bytes: Vec<(usize, char)> = inner.char_indices().collect();
        let mut push = |from: usize, to: usize| -> Result<(), FrontMatterError> {
            let item = inner[from..to].trim();
            if item.is_empty() {
                return if to == inner.len() && from == 0 {
                    Ok(())
                } else {
                    Err(err(
                        line,
                        col + 1 + inner[..from].chars().count(),
                        "empty list item".into(),
                        "remove the extra comma",
                    ))
                };
            }
            let item_col = col + 1 + inner[..from].chars().count();
            items.push(parse_scalar(item, line, item_col)?);
            Ok(())
        };
        let mut prev: char = ',';
        for &(i, c) in &bytes {
            let opens = prev.is_whitespace() || prev == ',';
            prev = c;
            match (quote, c) {
                (None, '"' | '\'') if opens => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '[' | ']' | '{' | '}') => {
                    return Err(err(
                        line,
                        col + 1 + inner[..i].chars().count(),
                        format!("unexpected `{c}` inside a list"),
                        "nested lists and maps are not supported; quote the item if it is text",
                    ));
                }
                (None, ',') => {
                    push(start, i)?;
                    start = i + 1;
                }
                _ => {}
            }
        }
        if quote.is_some() {
            return Err(err(line, col, "unclosed quote in list".into(), "close the quote"));
        }
        push(start, inner.len())?;
        return Ok(Value::List(items));
    }
    if raw.starts_with('{') {
        return Err(err(
            line,
            col,
            "maps are not supported in front matter".into(),
            "use separate keys, e.g. `site: Fife` and `area: Levenmouth`",
        ));
    }
    if raw.starts_with(['|', '>']) {
        return Err(err(
            line,
            col,
            "multi-line strings are not supported in front matter".into(),
            "put long text in the note body, or keep the value on one line",
        ));
    }
    parse_scalar(raw, line, col)
}

fn parse_scalar(raw: &str, line: usize, col: usize) -> Result<Value, FrontMatterError> {
    for q in ['"', '\''] {
        if let Some(inner) = raw.strip_prefix(q) {
            let Some(inner) = inner.strip_suffix(q) else {
                return Err(err(
                    line,
                    col,
                    format!("unclosed quote in `{}`", clip(raw)),
                    "close the quote at the end of the value",
                ));
            };
            let text =
                if q == '"' { inner.replace("\\\"", "\"").replace("\\\\", "\\") } else { inner.replace("''", "'") };
            return Ok(Value::String(text));
        }
    }
    if raw.starts_with(['&', '*', '!']) {
        return Err(err(
            line,
            col,
            format!("YAML tags, anchors and aliases are not supported: `{}`", clip(raw)),
            "quote the value if it is text",
        ));
    }
    Ok(match raw {
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        _ => {
            if let Some(d) = Date::parse(raw) {
                Value::Date(d)
            } else if raw.len() == 10
                && raw.as_bytes()[4] == b'-'
                && raw.as_bytes()[7] == b'-'
                && raw[..4].bytes().all(|b| b.is_ascii_digit())
            {
                return Err(err(
                    line,
                    col,
                    format!("`{raw}` looks like a date but is not a valid one"),
                    "write dates as YYYY-MM-DD with a real month and day, or quote the value",
                ));
            } else if looks_numeric(raw) {
                if let Ok(i) = raw.parse::<i64>() {
                    Value::Integer(i)
                } else if let Ok(x) = raw.parse::<f64>() {
                    Value::Float(x)
                } else {
                    Value::String(raw.to_string())
                }
            } else {
                Value::String(raw.to_string())
            }
        }
    })
}

fn looks_numeric(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    !s.is_empty()
        && s.starts_with(|c: char| c.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_digit() || b == b'.' || b == b'e' || b == b'E' || b == b'-' || b == b'+')
}

// Writing front matter.

/// How hard to try with one attribute.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Typed,
    PlainText,
    Dropped,
}

/// Whether text can stand unquoted and read back as itself: not empty, no space at either end,
/// not starting with a character that makes it something else, no ` #` (a comment) or `: `,
/// not a date, number or boolean.
fn plain_ok(s: &str) -> bool {
    !s.is_empty()
        && s.trim() == s
        && !s.starts_with(['[', '{', '"', '\'', '&', '*', '!', '|', '>', '-', '#', '%', '@', '`'])
        && !s.contains(" #")
        && !s.contains(": ")
        && !s.ends_with(':')
        && !s.contains(['\n', '\r'])
        && crate::Date::parse(s).is_none()
        && s.parse::<f64>().is_err()
        && !matches!(s, "true" | "false" | "True" | "False" | "TRUE" | "FALSE" | "null" | "~")
}

/// Double quotes where possible; single quotes when the text holds `"` but no `'`. With both,
/// whichever form the front-matter reader reads back (it knows no escapes when it looks for a
/// ` #` comment); the writer checks the result anyway.
fn quote(s: &str) -> String {
    let double = || format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
    let single = || format!("'{}'", s.replace('\'', "''"));
    if !s.contains('"') {
        return double();
    }
    if !s.contains('\'') {
        return single();
    }
    let reads_back = |q: &str| {
        parse(&format!("---\nk: {q}\n---\n"))
            .is_ok_and(|p| p.attributes.get("k") == Some(&Value::String(s.to_string())))
    };
    [single(), double()].into_iter().find(|q| reads_back(q)).unwrap_or_else(double)
}

/// What a value reads back as: front matter is one line per key, so line breaks become spaces.
fn expected(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace(['\r', '\n'], " ")),
        Value::Float(x) if !x.is_finite() => Value::String(x.to_string()),
        Value::List(items) => Value::List(
            items
                .iter()
                .map(|i| match i {
                    Value::List(_) => Value::String(i.to_plain().replace(['\r', '\n'], " ")),
                    other => expected(other),
                })
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A value as front matter writes it: text unquoted where it reads back as itself, quoted
/// otherwise (always inside a list).
pub fn render_value(v: &Value) -> String {
    match v {
        Value::String(s) if plain_ok(s) => s.clone(),
        other => render_in_list(other),
    }
}

fn render_in_list(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Float(x) if x.is_finite() => format!("{x:?}"),
        Value::Float(x) => quote(&x.to_string()),
        Value::Date(d) => d.to_string(),
        Value::String(s) => quote(s),
        Value::List(items) => format!("[{}]", items.iter().map(render_in_list).collect::<Vec<_>>().join(", ")),
    }
}

fn plain_text(v: &Value) -> Value {
    Value::String(v.to_plain().replace(['\r', '\n'], " ").replace('"', "\u{201D}"))
}

/// A note as [`write`] renders it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Written {
    /// Front matter and body.
    pub text: String,
    /// Length of the front matter in code points: the body's position 0 in the note.
    pub body_offset: usize,
    /// Attributes that could not be written even as plain text, left out.
    pub left_out: Vec<String>,
}

/// Renders `---`, one `key: value` line per attribute (keys must be valid front-matter keys,
/// unique), `---`, then the body: the one way every import writes a note. Each value is
/// checked by reading the front matter back; one that does not read back as written is written
/// as plain text, and left out (named in [`Written::left_out`]) if even that fails.
pub fn write(attrs: &[(String, Value)], body: &str) -> Written {
    let mut left_out = Vec::new();
    let wanted: Vec<(String, Value)> = attrs.iter().map(|(k, v)| (k.clone(), expected(v))).collect();
    let mut stages = vec![Stage::Typed; wanted.len()];
    let front = loop {
        let mut fm = String::from("---\n");
        let mut line_of: Vec<usize> = Vec::new();
        for (i, (k, v)) in wanted.iter().enumerate() {
            let value = match stages[i] {
                Stage::Typed => render_value(v),
                Stage::PlainText => render_value(&plain_text(v)),
                Stage::Dropped => continue,
            };
            line_of.push(i);
            fm.push_str(&format!("{k}: {value}\n"));
        }
        fm.push_str("---\n");
        let mut bad: Vec<usize> = Vec::new();
        match parse(&fm) {
            Ok(parsed) => {
                for (i, (k, v)) in wanted.iter().enumerate() {
                    let want = match stages[i] {
                        Stage::Typed => v.clone(),
                        Stage::PlainText => plain_text(v),
                        Stage::Dropped => continue,
                    };
                    if parsed.attributes.get(k) != Some(&want) {
                        bad.push(i);
                    }
                }
            }
            // Line 1 is the opening `---`.
            Err(e) => match e.line.checked_sub(2).and_then(|l| line_of.get(l)) {
                Some(&i) => bad.push(i),
                None => bad.extend(line_of.iter().copied()),
            },
        }
        if bad.is_empty() {
            break fm;
        }
        for i in bad {
            stages[i] = match stages[i] {
                Stage::Typed => Stage::PlainText,
                _ => {
                    left_out.push(wanted[i].0.clone());
                    Stage::Dropped
                }
            };
        }
    };
    let body_offset = front.chars().count();
    Written { text: front + body, body_offset, left_out }
}

#[cfg(test)]
mod write_tests {
    use super::*;
    use crate::Date;

    #[test]
    fn values_read_back() {
        let attrs: Vec<(String, Value)> = vec![
            ("title".into(), Value::String("Interview: \"Moira\" # 1 \\ o'clock".into())),
            ("quote".into(), Value::String("say \"hi\" # not a comment".into())),
            ("apos".into(), Value::String("it's # here".into())),
            ("multi".into(), Value::String("line one\r\nline two".into())),
            ("empty".into(), Value::String(String::new())),
            ("looks_typed".into(), Value::String("2016-03-02".into())),
            ("n".into(), Value::Integer(-3)),
            ("x".into(), Value::Float(1.0)),
            ("big".into(), Value::Float(1e300)),
            ("nan".into(), Value::Float(f64::NAN)),
            ("d".into(), Value::Date(Date::new(2016, 3, 2).unwrap())),
            ("b".into(), Value::Bool(false)),
            (
                "l".into(),
                Value::List(vec![Value::String("a, b".into()), Value::Integer(2), Value::String("c\"d".into())]),
            ),
            ("none".into(), Value::List(vec![])),
        ];
        let note = write(&attrs, "Body 😀\n");
        let w = &note.left_out;
        let p = parse(&note.text).unwrap();
        for (k, v) in &attrs {
            let want = match (k.as_str(), v) {
                ("multi", _) => Value::String("line one  line two".into()),
                ("nan", _) => Value::String("NaN".into()),
                _ => v.clone(),
            };
            assert_eq!(p.attributes.get(k), Some(&want), "{k}: {}", note.text);
        }
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(&note.text[p.body_start..], "Body 😀\n");
        assert_eq!(note.text[..p.body_start].chars().count(), note.body_offset);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values() {
        let text = "---\nsite: Fife\ndate: 2016-03-02\nminutes: 90\nscore: 2.5\ndraft: false\nparticipants: [CPP manager, \"Chair, board\", tenants' group]\ntopics:\n  - housing\n  - 2017-01-01\nnote: a # comment\n---\nbody\n";
        let p = parse(text).unwrap();
        let a = &p.attributes;
        assert_eq!(a["site"], Value::String("Fife".into()));
        assert_eq!(a["date"], Value::Date(Date::new(2016, 3, 2).unwrap()));
        assert_eq!(a["minutes"], Value::Integer(90));
        assert_eq!(a["score"], Value::Float(2.5));
        assert_eq!(a["draft"], Value::Bool(false));
        assert_eq!(
            a["participants"],
            Value::List(vec![
                Value::String("CPP manager".into()),
                Value::String("Chair, board".into()),
                Value::String("tenants' group".into())
            ])
        );
        assert_eq!(
            a["topics"],
            Value::List(vec![Value::String("housing".into()), Value::Date(Date::new(2017, 1, 1).unwrap())])
        );
        assert_eq!(a["note"], Value::String("a".into()));
        assert_eq!(&text[p.body_start..], "body\n");
        assert_eq!(p.lines, 12);
    }

    #[test]
    fn bad_key_after_leading_space_points_at_it() {
        // Found by the front-matter fuzzer: a stray `\r` before a key with a multi-byte
        // character once sliced the line inside that character.
        let e = parse("---\nt:\n\r\u{20d}}:\n---\no").unwrap_err();
        assert_eq!((e.line, e.column), (3, 3));
        assert!(e.message.contains("not a valid key"), "{}", e.message);
    }

    #[test]
    fn no_front_matter() {
        let p = parse("Just a note.\n").unwrap();
        assert!(p.attributes.is_empty());
        assert_eq!(p.body_start, 0);
    }

    #[test]
    fn crlf_front_matter() {
        let text = "---\r\nsite: Glasgow\r\n---\r\nBody\r\n";
        let p = parse(text).unwrap();
        assert_eq!(p.attributes["site"], Value::String("Glasgow".into()));
        assert_eq!(&text[p.body_start..], "Body\r\n");
    }

    #[test]
    fn errors_name_line_and_column() {
        let e = parse("---\nsite: Fife\nsite: Glasgow\n---\n").unwrap_err();
        assert_eq!((e.line, e.column), (3, 1));
        assert!(e.message.contains("duplicate key `site`"), "{}", e.message);

        let e = parse("---\nsite: Fife\n").unwrap_err();
        assert_eq!(e.line, 1);
        assert!(e.message.contains("never closed"));

        let e = parse("---\nsite Fife\n---\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 1));

        let e = parse("---\ndate: 2016-02-30\n---\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 7));

        let e = parse("---\ntags: [a, b\n---\n").unwrap_err();
        assert_eq!(e.line, 2);

        let e = parse("---\nmap: {a: 1}\n---\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 6));
    }
}
