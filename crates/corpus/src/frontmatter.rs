//! Front matter: YAML between `---` lines (as Obsidian, Zettlr, Quarto and Jekyll write it), or
//! TOML between `+++` lines (as Hugo does).
//!
//! ```text
//! ---
//! site: Fife
//! date: 2016-03-02
//! kind: meeting            # a comment
//! participants:
//!   - name: Moira
//!     role: chair
//!   - name: Callum
//! project: {funder: ESRC, code: ES/1}
//! summary: >
//!   folded onto
//!   one line
//! ---
//! ```
//!
//! Keys are lower-cased. Values are typed: `true`/`false`, integers, floats, `YYYY-MM-DD` dates
//! (plain, not quoted), lists, and text. Nested maps become attributes with dotted names
//! (`project.funder: ESRC`), and a list of maps one list per key (`participants.name: [Moira,
//! Callum]`). A `tags:` or `tag:` list is the attribute `tag` (each tag without its `#`), with the
//! note's inline `#tags` added where the note is read. Front matter that is not valid YAML (or
//! TOML) is an error naming the line and column in the file.

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

fn is_fence(line: &str, fence: &str) -> bool {
    line.trim_end_matches(['\r', '\n']).trim_end() == fence
}

/// Splits off and parses the front matter at the start of `text` (which has no BOM).
///
/// A file whose first line is not `---` has no front matter: the body starts at 0.
pub fn parse(text: &str) -> Result<Parsed, FrontMatterError> {
    let mut lines = text.split_inclusive('\n');
    let fence = match lines.next() {
        Some(first) if is_fence(first, "---") => "---",
        Some(first) if is_fence(first, "+++") => "+++",
        _ => return Ok(Parsed::default()),
    };
    let mut offset = text.split_inclusive('\n').next().map_or(0, str::len);
    let mut body_lines: Vec<(usize, &str)> = Vec::new();
    let mut closed = None;
    for (i, raw) in lines.enumerate() {
        let line_no = i + 2;
        offset += raw.len();
        if is_fence(raw, fence) {
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
                format!("front matter runs past {MAX_LINES} lines without a closing `{fence}`")
            } else {
                format!("front matter opened with `{fence}` is never closed")
            },
            hint: if fence == "---" {
                "end the front matter with a line holding only `---`"
            } else {
                "end the front matter with a line holding only `+++`"
            },
        });
    };
    let mut attributes = if fence == "---" { parse_yaml(&body_lines)? } else { parse_toml(&body_lines)? };
    gather_tags(&mut attributes);
    date_as_date(&mut attributes);
    Ok(Parsed { attributes, body_start: offset, lines: closing_line })
}

/// A `date` written as text that reads as one (`date: "2016-07-08"`, quoted as some tools
/// write it, or `2016-7-8`) is a date: otherwise it had a year in one count (search read the
/// text) and none in another (the tables read dates).
fn date_as_date(attributes: &mut Attributes) {
    let Some(Value::String(text)) = attributes.get("date") else { return };
    let t = text.trim();
    let padded = || {
        let mut parts = t.split('-');
        let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
        let ok = parts.next().is_none()
            && y.len() == 4
            && (1..=2).contains(&m.len())
            && (1..=2).contains(&d.len())
            && [y, m, d].iter().all(|p| p.bytes().all(|b| b.is_ascii_digit()));
        ok.then(|| format!("{y}-{m:0>2}-{d:0>2}"))
    };
    let date = Date::parse(t).or_else(|| Date::parse_datetime(t)).or_else(|| padded().and_then(|p| Date::parse(&p)));
    if let Some(d) = date {
        attributes.insert("date".to_string(), Value::Date(d));
    }
}

/// `tags:` and `tag:` as one attribute, `tag`, each tag without a leading `#`: a list, or the one
/// text given (`tag: memo`) as it is.
fn gather_tags(attrs: &mut Attributes) {
    let (tag, tags) = (attrs.remove("tag"), attrs.remove("tags"));
    let was_list = matches!(tag, Some(Value::List(_))) || matches!(tags, Some(Value::List(_)));
    let mut items: Vec<Value> = Vec::new();
    for v in [tag, tags].into_iter().flatten() {
        match v {
            Value::List(list) => items.extend(list),
            Value::String(s) if s.trim().is_empty() => {}
            other => items.push(other),
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    let mut tags: Vec<Value> = items
        .into_iter()
        .map(|t| match t {
            // Tags are one whatever their case, as Markdown editors take them (`#Trust` is
            // `#trust`): lower case, so that a table by tag has one column for each.
            Value::String(s) => Value::String(s.trim().trim_start_matches('#').to_lowercase()),
            other => other,
        })
        .filter(|t| !matches!(t, Value::String(s) if s.is_empty()))
        .filter(|t| seen.insert(t.to_string().to_lowercase()))
        .collect();
    match tags.len() {
        0 => {}
        1 if !was_list => {
            attrs.insert("tag".into(), tags.remove(0));
        }
        _ => {
            attrs.insert("tag".into(), Value::List(tags));
        }
    }
}

/// A node of the YAML front matter, with where it starts (line and column in the file).
#[derive(Debug)]
enum Node {
    Scalar(String, yaml_rust2::scanner::TScalarStyle, (usize, usize)),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>, (usize, usize)),
    Alias((usize, usize)),
}

/// Collects the parser's events, with where each is.
#[derive(Default)]
struct Events(Vec<(yaml_rust2::parser::Event, (usize, usize))>);

/// The front matter's first line (YAML or TOML) is the file's second.
const FIRST_LINE: usize = 2;

impl yaml_rust2::parser::MarkedEventReceiver for Events {
    fn on_event(&mut self, ev: yaml_rust2::parser::Event, mark: yaml_rust2::scanner::Marker) {
        self.0.push((ev, (mark.line() + FIRST_LINE - 1, mark.col() + 1)));
    }
}

/// `key:<TAB>value` as `key: value`: a tab separates a key from its value in YAML 1.2, but the
/// parser takes only spaces there.
fn tab_after_key(line: &str) -> String {
    let Some(colon) = line.find(':') else { return line.to_string() };
    let key = line[..colon].trim_start();
    let plain_key =
        !key.is_empty() && !key.starts_with(['-', '#', '"', '\'', '[', '{', '|', '>']) && !key.contains(' ');
    if plain_key && line[colon + 1..].starts_with('\t') {
        format!("{}: {}", &line[..colon], line[colon + 1..].trim_start_matches('\t'))
    } else {
        line.to_string()
    }
}

const YAML_HINT: &str = "front matter is YAML: `key: value` lines, lists, nested keys indented under theirs; quote text that holds `: ` or ` #`";

fn parse_yaml(lines: &[(usize, &str)]) -> Result<Attributes, FrontMatterError> {
    // A lone carriage return is no line break here, as it is none in the note.
    let source: String = lines.iter().map(|(_, l)| tab_after_key(&l.replace('\r', " "))).collect::<Vec<_>>().join("\n");
    if source.trim().is_empty() {
        return Ok(Attributes::new());
    }
    let mut events = Events::default();
    let mut parser = yaml_rust2::parser::Parser::new_from_str(&source);
    if let Err(e) = parser.load(&mut events, false) {
        let m = e.marker();
        let line = (m.line() + FIRST_LINE - 1).min(lines.last().map_or(FIRST_LINE, |l| l.0));
        return Err(err(line, m.col() + 1, format!("front matter is not valid YAML: {}", e.info()), YAML_HINT));
    }
    let mut it = events.0.into_iter().peekable();
    let mut root = None;
    while let Some((ev, at)) = it.next() {
        use yaml_rust2::parser::Event;
        match ev {
            Event::StreamStart | Event::DocumentStart | Event::DocumentEnd | Event::StreamEnd | Event::Nothing => {}
            other => {
                root = Some(node(other, at, &mut it)?);
                break;
            }
        }
    }
    match root {
        None => Ok(Attributes::new()),
        Some(Node::Map(entries, _)) => {
            let mut attrs = Attributes::new();
            put_map("", entries, &mut attrs)?;
            Ok(attrs)
        }
        Some(Node::Scalar(s, _, (line, _))) if s.is_empty() => {
            let _ = line;
            Ok(Attributes::new())
        }
        Some(Node::Scalar(s, _, (line, column))) => Err(err(
            line,
            column,
            format!("expected `key: value`, found `{}`", clip(&s)),
            "write each attribute as `key: value`",
        )),
        Some(Node::Seq(_)) | Some(Node::Alias(_)) => Err(err(
            lines.first().map_or(FIRST_LINE, |l| l.0),
            1,
            "front matter is a list, not `key: value` lines".into(),
            "write each attribute as `key: value`",
        )),
    }
}

/// The node that `ev` (at `at`) begins, reading the events of its children from `rest`.
fn node(
    ev: yaml_rust2::parser::Event,
    at: (usize, usize),
    rest: &mut impl Iterator<Item = (yaml_rust2::parser::Event, (usize, usize))>,
) -> Result<Node, FrontMatterError> {
    use yaml_rust2::parser::Event;
    Ok(match ev {
        Event::Scalar(s, style, _, _) => Node::Scalar(s, style, at),
        Event::Alias(_) => Node::Alias(at),
        Event::SequenceStart(..) => {
            let mut items = Vec::new();
            loop {
                match rest.next() {
                    Some((Event::SequenceEnd, _)) | None => break,
                    Some((e, a)) => items.push(node(e, a, rest)?),
                }
            }
            Node::Seq(items)
        }
        Event::MappingStart(..) => {
            let mut entries = Vec::new();
            loop {
                let key = match rest.next() {
                    Some((Event::MappingEnd, _)) | None => break,
                    Some((e, a)) => node(e, a, rest)?,
                };
                let value = match rest.next() {
                    Some((e, a)) if e != Event::MappingEnd => node(e, a, rest)?,
                    _ => Node::Scalar(String::new(), yaml_rust2::scanner::TScalarStyle::Plain, at),
                };
                entries.push((key, value));
            }
            Node::Map(entries, at)
        }
        _ => Node::Scalar(String::new(), yaml_rust2::scanner::TScalarStyle::Plain, at),
    })
}

/// Puts a mapping's entries into `attrs` under `prefix` (`""` at the top): scalars as they are,
/// nested maps under dotted keys, lists as lists (a list of maps one list per key).
fn put_map(prefix: &str, entries: Vec<(Node, Node)>, attrs: &mut Attributes) -> Result<(), FrontMatterError> {
    let mut first_seen: BTreeMap<String, usize> = BTreeMap::new();
    for (k, v) in entries {
        let (name, (line, column)) = match k {
            Node::Scalar(s, _, at) => (s, at),
            Node::Map(_, at) | Node::Alias(at) => {
                return Err(err(at.0, at.1, "a key must be text".into(), "write each attribute as `key: value`"));
            }
            Node::Seq(_) => {
                return Err(err(FIRST_LINE, 1, "a key must be text".into(), "write each attribute as `key: value`"));
            }
        };
        let key = name.trim();
        if key.is_empty() {
            return Err(err(line, column, "missing key before `:`".into(), "write `key: value`"));
        }
        if let Some((j, _)) = key
            .char_indices()
            .find(|&(j, c)| !(c.is_alphanumeric() || c == '_' || c == '-' || (c == ' ' && j > 0)))
            .or_else(|| key.chars().next().filter(|c| !c.is_alphabetic()).map(|c| (0, c)))
        {
            return Err(err(
                line,
                column + key[..j].chars().count(),
                format!("`{}` is not a valid key", clip(key)),
                "keys start with a letter and hold letters, digits, `_` and `-`",
            ));
        }
        let key_lc = key.to_lowercase();
        if let Some(prev) = first_seen.get(&key_lc) {
            return Err(err(
                line,
                column,
                format!("duplicate key `{key}` (first set on line {prev})"),
                "keep one of the two lines; for several values use a list: `key: [a, b]`",
            ));
        }
        first_seen.insert(key_lc.clone(), line);
        let full = if prefix.is_empty() { key_lc } else { format!("{prefix}.{key_lc}") };
        match v {
            Node::Map(entries, _) => put_map(&full, entries, attrs)?,
            Node::Seq(items) => {
                let mut lists = Lists::new(&full);
                put_items(&full, items, &mut lists)?;
                lists.put(&full, attrs);
            }
            Node::Scalar(s, style, at) => {
                attrs.insert(full, scalar(&s, style, at)?);
            }
            Node::Alias(at) => return Err(alias(at)),
        }
    }
    Ok(())
}

/// The error for a YAML alias at `at`.
fn alias(at: (usize, usize)) -> FrontMatterError {
    err(at.0, at.1, "YAML anchors and aliases are not supported".into(), "write the value out where it is used")
}

/// The lists a YAML or TOML list becomes: its scalars under its own key, its maps' values under
/// dotted keys, one list each.
struct Lists(BTreeMap<String, Vec<Value>>);

impl Lists {
    /// Lists for the list at key `full`.
    fn new(full: &str) -> Lists {
        Lists(BTreeMap::from([(full.to_string(), Vec::new())]))
    }

    fn push(&mut self, key: &str, v: Value) {
        self.0.entry(key.to_string()).or_default().push(v);
    }

    /// A map item's attributes (read under the list's key), each onto its key's list.
    fn extend(&mut self, one: Attributes) {
        for (k, v) in one {
            let list = self.0.entry(k).or_default();
            match v {
                Value::List(vs) => list.extend(vs),
                v => list.push(v),
            }
        }
    }

    /// Into `attrs`: every list with values, and the list at `full` itself where it holds
    /// scalars or is empty (`tags: []`).
    fn put(self, full: &str, attrs: &mut Attributes) {
        let only_itself = self.0.len() == 1;
        for (k, values) in self.0 {
            if !values.is_empty() || (k == full && only_itself) {
                attrs.insert(k, Value::List(values));
            }
        }
    }
}

/// The items of a list: scalars onto `full`'s list, a map's entries onto one list per dotted
/// key, nested lists flattened.
fn put_items(full: &str, items: Vec<Node>, lists: &mut Lists) -> Result<(), FrontMatterError> {
    for item in items {
        match item {
            Node::Scalar(s, style, at) => {
                let v = scalar(&s, style, at)?;
                if !matches!(&v, Value::String(t) if t.is_empty()) {
                    lists.push(full, v);
                }
            }
            Node::Seq(inner) => put_items(full, inner, lists)?,
            Node::Map(entries, _) => {
                let mut one = Attributes::new();
                put_map(full, entries, &mut one)?;
                lists.extend(one);
            }
            Node::Alias(at) => return Err(alias(at)),
        }
    }
    Ok(())
}

/// A scalar's value: a plain one typed (`true`, numbers, dates), a quoted or block one text.
fn scalar(
    s: &str,
    style: yaml_rust2::scanner::TScalarStyle,
    (line, column): (usize, usize),
) -> Result<Value, FrontMatterError> {
    use yaml_rust2::scanner::TScalarStyle;
    match style {
        TScalarStyle::Plain if s == "~" => Ok(Value::String(String::new())),
        TScalarStyle::Plain => parse_scalar(s, line, column),
        TScalarStyle::Literal | TScalarStyle::Folded => Ok(Value::String(s.trim_end_matches('\n').to_string())),
        _ => Ok(Value::String(s.to_string())),
    }
}

fn parse_toml(lines: &[(usize, &str)]) -> Result<Attributes, FrontMatterError> {
    let source: String = lines.iter().map(|(_, l)| *l).collect::<Vec<_>>().join("\n");
    let table: toml::Table = match source.parse() {
        Ok(t) => t,
        Err(e) => {
            let (line, column) = e.span().map_or((FIRST_LINE, 1), |sp| {
                let before = &source[..sp.start.min(source.len())];
                let line = before.matches('\n').count() + FIRST_LINE;
                let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                (line, column)
            });
            return Err(err(
                line,
                column,
                format!("front matter is not valid TOML: {}", e.message()),
                "front matter between `+++` lines is TOML: `key = \"value\"`",
            ));
        }
    };
    let mut attrs = Attributes::new();
    put_toml("", table, &mut attrs);
    Ok(attrs)
}

fn put_toml(prefix: &str, table: toml::Table, attrs: &mut Attributes) {
    for (k, v) in table {
        let full = if prefix.is_empty() { k.to_lowercase() } else { format!("{prefix}.{}", k.to_lowercase()) };
        match v {
            toml::Value::Table(t) => put_toml(&full, t, attrs),
            toml::Value::Array(items) => {
                let mut lists = Lists::new(&full);
                toml_items(&full, items, &mut lists);
                lists.put(&full, attrs);
            }
            other => {
                attrs.insert(full, toml_scalar(other));
            }
        }
    }
}

fn toml_items(full: &str, items: Vec<toml::Value>, lists: &mut Lists) {
    for item in items {
        match item {
            toml::Value::Array(inner) => toml_items(full, inner, lists),
            toml::Value::Table(t) => {
                let mut one = Attributes::new();
                put_toml(full, t, &mut one);
                lists.extend(one);
            }
            other => lists.push(full, toml_scalar(other)),
        }
    }
}

fn toml_scalar(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::Integer(i),
        toml::Value::Float(x) => Value::Float(x),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => {
            let text = d.to_string();
            match (d.date, d.time) {
                (Some(_), None) => Date::parse(&text).map_or(Value::String(text), Value::Date),
                // A date and time (Hugo's `date = 2018-05-06T09:00:00Z`): its day.
                (Some(_), Some(_)) => Date::parse_datetime(&text).map_or(Value::String(text), Value::Date),
                _ => Value::String(text),
            }
        }
        other => Value::String(other.to_string()),
    }
}

fn err(line: usize, column: usize, message: String, hint: &'static str) -> FrontMatterError {
    FrontMatterError { line, column, message, hint }
}

fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(60).collect();
    if s.chars().count() > 60 {
        out.push('…');
    }
    out
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
            if let Some(d) = Date::parse(raw).or_else(|| Date::parse_datetime(raw)) {
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

/// `s` as a TOML basic string: quoted, with quotes, backslashes and control characters escaped.
pub fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
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

        // Not YAML at all: the line and column of the parser's complaint.
        let e = parse("---\nsite: Fife\nbad: [a\n  b: c\n---\n").unwrap_err();
        assert!(e.line >= 3 && e.message.contains("not valid YAML"), "{e:?}");
    }

    #[test]
    fn nested_yaml_becomes_dotted_attributes() {
        let text = "---\ntitle: Board\nparticipants:\n  - name: Moira\n    role: chair\n  - name: Callum\n    role: officer\nproject: {funder: ESRC, year: 2016}\nsummary: >\n  folded onto\n  one line\nquote: |\n  kept\n  as is\ntags:\n  - trust\n  - '#time'\ntag: [trust, Slow]\nwhen: \"2016-03-02\"\n---\nBody\n";
        let a = parse(text).unwrap().attributes;
        let s = |v: &str| Value::String(v.into());
        assert_eq!(a["participants.name"], Value::List(vec![s("Moira"), s("Callum")]));
        assert_eq!(a["participants.role"], Value::List(vec![s("chair"), s("officer")]));
        assert!(!a.contains_key("participants"), "{a:?}");
        assert_eq!(a["project.funder"], s("ESRC"));
        assert_eq!(a["project.year"], Value::Integer(2016));
        assert_eq!(a["summary"], s("folded onto one line"));
        assert_eq!(a["quote"], s("kept\nas is"));
        // One `tag` list: both keys, without `#`, each tag once, in lower case.
        assert_eq!(a["tag"], Value::List(vec![s("trust"), s("slow"), s("time")]));
        assert!(!a.contains_key("tags"));
        // A quoted date is text, as before.
        assert_eq!(a["when"], s("2016-03-02"));
    }

    #[test]
    fn toml_front_matter_between_plus_lines() {
        let text = "+++\ntitle = \"Board\"\ndate = 2016-03-02\nminutes = 90\ntags = [\"trust\", \"time\"]\n[project]\nfunder = \"ESRC\"\n+++\nBody\n";
        let p = parse(text).unwrap();
        let a = &p.attributes;
        assert_eq!(a["title"], Value::String("Board".into()));
        assert_eq!(a["date"], Value::Date(Date::new(2016, 3, 2).unwrap()));
        assert_eq!(a["minutes"], Value::Integer(90));
        assert_eq!(a["project.funder"], Value::String("ESRC".into()));
        assert_eq!(a["tag"], Value::List(vec![Value::String("trust".into()), Value::String("time".into())]));
        assert_eq!(&text[p.body_start..], "Body\n");
        assert_eq!(p.lines, 8);
        let e = parse("+++\ntitle = Board\n+++\n").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.message.contains("not valid TOML"), "{e:?}");
    }

    #[test]
    fn a_tab_after_a_key_separates_it_from_its_value() {
        let a = parse("---\nsite:\tFife\nkind:\t\tmeeting\n---\n").unwrap().attributes;
        assert_eq!((a["site"].to_plain(), a["kind"].to_plain()), ("Fife".to_string(), "meeting".to_string()));
    }

    #[test]
    fn a_date_written_as_text_that_reads_as_one_is_a_date() {
        let day = Value::Date(Date::new(2016, 7, 8).unwrap());
        for fm in [
            "---\ndate: \"2016-07-08\"\n---\n",
            "---\ndate: '2016-07-08T10:30:00Z'\n---\n",
            "---\ndate: 2016-7-8\n---\n",
            "+++\ndate = \"2016-07-08\"\n+++\n",
        ] {
            assert_eq!(parse(fm).unwrap().attributes["date"], day, "{fm}");
        }
        // Day and month in either order: not guessed.
        assert_eq!(
            parse("---\ndate: \"08/07/2016\"\n---\n").unwrap().attributes["date"],
            Value::String("08/07/2016".into())
        );
        // Another key keeps its text.
        assert_eq!(
            parse("---\ntitle: \"2016-07-08\"\n---\n").unwrap().attributes["title"],
            Value::String("2016-07-08".into())
        );
    }
}
