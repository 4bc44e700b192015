//! The query language researchers type.
//!
//! ```text
//! trust "staff turnover" (time OR pace) NOT budget
//! partner*  turnvoer~1  "critical friend"~3
//! site:fife kind:interview speaker:blair speaker:"bill blair" code:time
//! speaker:="Lynne Neagle AM"  date:[2016-01-01 TO 2016-06-30]  date:2017  year:2016
//! ```
//!
//! Terms next to each other must all match (AND is the default conjunction); `OR` and `NOT`
//! (or a leading `-`) and parentheses combine them. Operators are upper case; lower-case
//! `and`/`or`/`not` are ordinary words ([`lowercase_operators`] finds them, for a hint).
//! `field:value` matches a word or phrase of the value, `field:=value` the whole value.

use std::fmt;

/// A parsed query.
#[derive(Clone, Debug, PartialEq)]
pub enum Ast {
    /// All of these.
    And(Vec<Ast>),
    /// Any of these.
    Or(Vec<Ast>),
    /// Not this (only meaningful inside an `And`, or alone: everything but this).
    Not(Box<Ast>),
    /// A word in the text (stemmed unless exact).
    Word(String),
    /// A prefix of a word in the text: `partner*`.
    Prefix(String),
    /// A word within an edit distance: `turnvoer~1`.
    Fuzzy(String, u8),
    /// Words in order, with a slop: `"a b"~5`.
    Phrase(String, u32),
    /// A field compared with a value: `site:fife`, `speaker:"Jane"`, `speaker:Jan*`,
    /// `speaker:="Jane Smith"`.
    Field {
        /// The field name, lower-cased.
        field: String,
        /// The value.
        value: String,
        /// Matches values with a word starting with `value` (with `whole`, values starting
        /// with it).
        prefix: bool,
        /// Matches the whole value (`field:=value`), not any word or phrase of it.
        whole: bool,
    },
    /// A range on a field: `date:[2016-01-01 TO 2016-06-30]`; `None` is open.
    Range {
        /// The field name.
        field: String,
        /// Lower bound and whether it is inclusive.
        lower: Option<(String, bool)>,
        /// Upper bound and whether it is inclusive.
        upper: Option<(String, bool)>,
    },
}

/// A syntax error, pointing at a 1-based column of the query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// 1-based column (in characters).
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

impl fmt::Display for SyntaxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.column {
            // Found once the query was parsed, in a value: where is said by the caret.
            0 => write!(f, "{} (hint: {})", self.message, self.hint),
            c => write!(f, "column {c}: {} (hint: {})", self.message, self.hint),
        }
    }
}

impl std::error::Error for SyntaxError {}

impl SyntaxError {
    /// The query with a caret under the error column, for terminals.
    pub fn pointer(&self, query: &str) -> String {
        // An error found after parsing (column 0) points at the value it names in backquotes.
        let column = match self.column {
            0 => self
                .message
                .split('`')
                .nth(1)
                .filter(|v| !v.is_empty())
                .and_then(|v| query.find(v))
                .map_or(0, |b| query[..b].chars().count() + 1),
            c => c,
        };
        if column == 0 {
            return format!("  {query}");
        }
        format!("  {query}\n  {}^", " ".repeat(column - 1))
    }
}

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 10_000;
/// Deepest nesting of parentheses accepted.
pub const MAX_DEPTH: usize = 64;

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Minus,
    Plus,
    /// A bare word, possibly `field:` prefixed; raw text.
    Word(String),
    /// A quoted string; the text and optional `~N`.
    Quoted(String, Option<u32>),
    /// `field:` (or `field:=`, true) immediately followed by something.
    FieldPrefix(String, bool),
    /// `[a TO b]` or `{a TO b}`: lower, upper, inclusive flags.
    Range(String, String, bool, bool),
}

struct Lexer<'a> {
    chars: Vec<(usize, char)>,
    src: &'a str,
    i: usize,
}

fn err(column: usize, message: impl Into<String>, hint: impl Into<String>) -> SyntaxError {
    SyntaxError { column, message: message.into(), hint: hint.into() }
}

impl Lexer<'_> {
    fn col(&self, i: usize) -> usize {
        i + 1
    }

    fn tokens(&mut self) -> Result<Vec<(usize, Tok)>, SyntaxError> {
        let mut out = Vec::new();
        while self.i < self.chars.len() {
            let (_, c) = self.chars[self.i];
            let start = self.i;
            if c.is_whitespace() {
                self.i += 1;
                continue;
            }
            match c {
                '(' => {
                    self.i += 1;
                    out.push((start, Tok::LParen));
                }
                ')' => {
                    self.i += 1;
                    out.push((start, Tok::RParen));
                }
                '-' if out.last().is_none_or(|(_, t)| !matches!(t, Tok::FieldPrefix(..))) => {
                    self.i += 1;
                    out.push((start, Tok::Minus));
                }
                '+' => {
                    self.i += 1;
                    out.push((start, Tok::Plus));
                }
                '"' => {
                    let tok = self.quoted()?;
                    out.push((start, tok));
                }
                '[' | '{' => {
                    let tok = self.range()?;
                    out.push((start, tok));
                }
                ']' | '}' => {
                    return Err(err(
                        self.col(start),
                        format!("unexpected `{c}`"),
                        "a range is written `[2016-01-01 TO 2016-06-30]`",
                    ));
                }
                _ => {
                    let mut j = self.i;
                    while j < self.chars.len() {
                        let ch = self.chars[j].1;
                        if ch.is_whitespace() || matches!(ch, '(' | ')' | '"' | '[' | '{' | ']' | '}') {
                            break;
                        }
                        if ch == ':' {
                            break;
                        }
                        j += 1;
                    }
                    let word: String = self.chars[self.i..j].iter().map(|c| c.1).collect();
                    if j < self.chars.len() && self.chars[j].1 == ':' {
                        if word.is_empty() {
                            return Err(err(
                                self.col(j),
                                "`:` without a field name",
                                "write `field:value`, e.g. `site:fife`",
                            ));
                        }
                        self.i = j + 1;
                        let whole = self.chars.get(self.i).is_some_and(|c| c.1 == '=');
                        if whole {
                            self.i += 1;
                        }
                        if self.i >= self.chars.len() || self.chars[self.i].1.is_whitespace() {
                            return Err(err(
                                self.col(j),
                                format!("`{word}:` has no value"),
                                format!("write a value straight after the colon, e.g. `{word}:fife`"),
                            ));
                        }
                        out.push((start, Tok::FieldPrefix(word.to_lowercase(), whole)));
                        continue;
                    }
                    self.i = j;
                    let tok = match word.as_str() {
                        "AND" | "&&" => Tok::And,
                        "OR" | "||" => Tok::Or,
                        "NOT" | "!" => Tok::Not,
                        _ => Tok::Word(word),
                    };
                    out.push((start, tok));
                }
            }
        }
        Ok(out)
    }

    fn quoted(&mut self) -> Result<Tok, SyntaxError> {
        let open = self.i;
        self.i += 1;
        let mut text = String::new();
        loop {
            let Some(&(_, c)) = self.chars.get(self.i) else {
                return Err(err(self.col(open), "unclosed quote", "close the phrase with `\"`"));
            };
            self.i += 1;
            match c {
                '"' => break,
                '\\' => {
                    if let Some(&(_, n)) = self.chars.get(self.i) {
                        text.push(n);
                        self.i += 1;
                    }
                }
                _ => text.push(c),
            }
        }
        let slop = self.tilde_number()?;
        Ok(Tok::Quoted(text, slop))
    }

    fn tilde_number(&mut self) -> Result<Option<u32>, SyntaxError> {
        if self.chars.get(self.i).map(|c| c.1) != Some('~') {
            return Ok(None);
        }
        let at = self.i;
        self.i += 1;
        let mut digits = String::new();
        while let Some(&(_, c)) = self.chars.get(self.i) {
            if c.is_ascii_digit() {
                digits.push(c);
                self.i += 1;
            } else {
                break;
            }
        }
        if digits.is_empty() {
            return Ok(Some(1));
        }
        digits
            .parse()
            .map(Some)
            .map_err(|_| err(self.col(at), "number after `~` is too large", "use a small distance, e.g. `~5`"))
    }

    fn range(&mut self) -> Result<Tok, SyntaxError> {
        let open = self.i;
        let inclusive_lo = self.chars[open].1 == '[';
        let close = self.chars[open + 1..].iter().position(|c| c.1 == ']' || c.1 == '}').map(|p| p + open + 1);
        let Some(close) = close else {
            return Err(err(
                self.col(open),
                "unclosed range",
                "close the range with `]`, e.g. `[2016-01-01 TO 2016-06-30]`",
            ));
        };
        let inclusive_hi = self.chars[close].1 == ']';
        let inner: String = self.chars[open + 1..close].iter().map(|c| c.1).collect();
        self.i = close + 1;
        let parts: Vec<&str> = inner.split_whitespace().collect();
        match parts.as_slice() {
            [lo, to, hi] if to.eq_ignore_ascii_case("TO") => {
                Ok(Tok::Range(lo.to_string(), hi.to_string(), inclusive_lo, inclusive_hi))
            }
            _ => Err(err(
                self.col(open),
                format!("malformed range `{}`", &self.src_slice(open, close + 1)),
                "write `[FROM TO UNTIL]`, e.g. `[2016-01-01 TO 2016-06-30]`, with `*` for an open end",
            )),
        }
    }

    fn src_slice(&self, from: usize, to: usize) -> &str {
        let b = self.chars.get(from).map_or(self.src.len(), |c| c.0);
        let e = self.chars.get(to).map_or(self.src.len(), |c| c.0);
        &self.src[b..e]
    }
}

struct Parser {
    toks: Vec<(usize, Tok)>,
    i: usize,
    len: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.i).map(|t| &t.1)
    }

    fn col(&self) -> usize {
        self.toks.get(self.i).map_or(self.len + 1, |t| t.0 + 1)
    }

    fn or(&mut self) -> Result<Ast, SyntaxError> {
        let mut items = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.i += 1;
            if matches!(self.peek(), None | Some(Tok::RParen | Tok::Or | Tok::And)) {
                return Err(err(self.col(), "`OR` needs something after it", "remove the `OR` or add a term after it"));
            }
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Ast::Or(items) })
    }

    fn and(&mut self) -> Result<Ast, SyntaxError> {
        let mut items = vec![self.unary()?];
        loop {
            match self.peek() {
                None | Some(Tok::RParen | Tok::Or) => break,
                Some(Tok::And) => {
                    self.i += 1;
                    if matches!(self.peek(), None | Some(Tok::RParen | Tok::Or | Tok::And)) {
                        return Err(err(
                            self.col(),
                            "`AND` needs something after it",
                            "remove the `AND` or add a term after it",
                        ));
                    }
                }
                _ => {}
            }
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Ast::And(items) })
    }

    fn unary(&mut self) -> Result<Ast, SyntaxError> {
        match self.peek() {
            Some(Tok::Not | Tok::Minus) => {
                self.i += 1;
                if self.peek().is_none() {
                    return Err(err(
                        self.col(),
                        "`NOT` needs something after it",
                        "write `NOT word`, e.g. `trust NOT budget`",
                    ));
                }
                Ok(Ast::Not(Box::new(self.unary()?)))
            }
            Some(Tok::Plus) => {
                self.i += 1;
                self.unary()
            }
            _ => self.primary(),
        }
    }

    fn primary(&mut self) -> Result<Ast, SyntaxError> {
        let col = self.col();
        let Some((_, tok)) = self.toks.get(self.i).cloned() else {
            return Err(err(col, "the query ends too early", "add a word after the last operator"));
        };
        self.i += 1;
        match tok {
            Tok::LParen => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err(err(col, format!("parentheses nested deeper than {MAX_DEPTH}"), "simplify the query"));
                }
                if self.peek() == Some(&Tok::RParen) {
                    return Err(err(col, "empty parentheses", "put a term inside `( )` or remove them"));
                }
                let inner = self.or()?;
                if self.peek() != Some(&Tok::RParen) {
                    return Err(err(col, "`(` is never closed", "add `)` at the end of the group"));
                }
                self.i += 1;
                self.depth -= 1;
                Ok(inner)
            }
            Tok::RParen => Err(err(col, "unexpected `)`", "remove it, or add the matching `(`")),
            Tok::And | Tok::Or => {
                Err(err(col, "an operator with nothing before it", "operators go between terms: `trust OR time`"))
            }
            Tok::Not | Tok::Minus | Tok::Plus => Err(err(col, "misplaced operator", "write `NOT word`")),
            Tok::Quoted(text, slop) => {
                if text.trim().is_empty() {
                    return Err(err(col, "empty phrase", "put words inside the quotes"));
                }
                Ok(Ast::Phrase(text, slop.unwrap_or(0)))
            }
            Tok::Range(..) => Err(err(col, "a range needs a field", "write `date:[2016-01-01 TO 2016-06-30]`")),
            Tok::Word(w) => word_ast(&w, col),
            Tok::FieldPrefix(field, whole) => {
                let vcol = self.col();
                let Some((_, v)) = self.toks.get(self.i).cloned() else {
                    return Err(err(vcol, format!("`{field}:` has no value"), format!("e.g. `{field}:fife`")));
                };
                self.i += 1;
                match v {
                    Tok::Word(w) => {
                        let (value, prefix) = match w.strip_suffix('*') {
                            Some(p) if !p.is_empty() => (p.to_string(), true),
                            _ => (w, false),
                        };
                        Ok(Ast::Field { field, value, prefix, whole })
                    }
                    Tok::Quoted(s, _) => Ok(Ast::Field { field, value: s, prefix: false, whole }),
                    Tok::Range(lo, hi, il, ih) => {
                        let b = |s: String, inc: bool| (s != "*").then_some((s, inc));
                        Ok(Ast::Range { field, lower: b(lo, il), upper: b(hi, ih) })
                    }
                    Tok::LParen => Err(err(
                        vcol,
                        format!("`{field}:(...)` groups are not supported"),
                        format!("repeat the field: `({field}:a OR {field}:b)`"),
                    )),
                    _ => Err(err(vcol, format!("`{field}:` has no value"), format!("e.g. `{field}:fife`"))),
                }
            }
        }
    }
}

fn word_ast(w: &str, col: usize) -> Result<Ast, SyntaxError> {
    if let Some((word, dist)) = w.rsplit_once('~') {
        if word.is_empty() {
            return Err(err(col, "`~` without a word", "write `word~1`"));
        }
        let d: u8 = if dist.is_empty() {
            1
        } else {
            dist.parse().map_err(|_| err(col, format!("`~{dist}` is not a distance"), "write `word~1` or `word~2`"))?
        };
        if d > 2 {
            return Err(err(col, format!("fuzzy distance {d} is too large"), "use `~1` or `~2`"));
        }
        return Ok(Ast::Fuzzy(word.to_string(), d));
    }
    if let Some(p) = w.strip_suffix('*') {
        if p.is_empty() || p.contains('*') {
            return Err(err(col, "`*` needs a word before it", "write a prefix such as `partner*`"));
        }
        return Ok(Ast::Prefix(p.to_string()));
    }
    if w.contains('*') {
        return Err(err(col, "`*` only works at the end of a word", "write a prefix such as `partner*`"));
    }
    Ok(Ast::Word(w.to_string()))
}

/// The lower-case `and`, `or` and `not` standing between two terms of a query, which are
/// searched as words (the operators are upper case): for a hint.
pub fn lowercase_operators(query: &str) -> Vec<String> {
    let mut lx = Lexer { chars: query.char_indices().collect(), src: query, i: 0 };
    let Ok(toks) = lx.tokens() else { return Vec::new() };
    let ends_term = |t: &Tok| matches!(t, Tok::Word(_) | Tok::Quoted(..) | Tok::RParen | Tok::Range(..));
    let starts_term = |t: &Tok| {
        matches!(t, Tok::Word(_) | Tok::Quoted(..) | Tok::LParen | Tok::FieldPrefix(..) | Tok::Minus | Tok::Not)
    };
    let mut out: Vec<String> = Vec::new();
    for (i, (_, t)) in toks.iter().enumerate() {
        let Tok::Word(w) = t else { continue };
        if !matches!(w.as_str(), "and" | "or" | "not") || i == 0 || i + 1 == toks.len() {
            continue;
        }
        // A field's value (`kind:or`) is not between terms.
        if matches!(toks[i - 1].1, Tok::FieldPrefix(..)) {
            continue;
        }
        if ends_term(&toks[i - 1].1) && starts_term(&toks[i + 1].1) && !out.contains(w) {
            out.push(w.clone());
        }
    }
    out
}

/// The quoted phrases of `query` that hold a `*`: inside quotes it is not a wildcard (the
/// phrase `"trus*"` finds nothing), which a search says.
pub fn quoted_wildcards(query: &str) -> Vec<String> {
    let mut lx = Lexer { chars: query.char_indices().collect(), src: query, i: 0 };
    let Ok(toks) = lx.tokens() else { return Vec::new() };
    toks.into_iter()
        .filter_map(|(_, t)| match t {
            Tok::Quoted(text, _) if text.contains('*') => Some(text),
            _ => None,
        })
        .collect()
}

/// Parses a query.
pub fn parse(query: &str) -> Result<Ast, SyntaxError> {
    // Letters as the notes hold them: composed (NFC).
    let composed = fieldnotes_corpus::nfc(query);
    let query: &str = &composed;
    let n = query.chars().count();
    if n > MAX_QUERY_CHARS {
        return Err(err(
            MAX_QUERY_CHARS,
            format!("the query is {n} characters long"),
            format!("keep it under {MAX_QUERY_CHARS}"),
        ));
    }
    let mut lx = Lexer { chars: query.char_indices().collect(), src: query, i: 0 };
    let toks = lx.tokens()?;
    if toks.is_empty() {
        return Err(err(1, "empty query", "type a word, a \"phrase\" or a filter such as `site:fife`"));
    }
    let mut p = Parser { toks, i: 0, len: n, depth: 0 };
    let ast = p.or()?;
    if p.i < p.toks.len() {
        let col = p.col();
        return Err(match p.peek() {
            Some(Tok::RParen) => err(col, "unexpected `)`", "remove it, or add the matching `(`"),
            _ => err(col, "unexpected input", "check the operators and parentheses"),
        });
    }
    Ok(ast)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(s: &str) -> Ast {
        Ast::Word(s.into())
    }

    #[test]
    fn precedence_and_default_and() {
        assert_eq!(parse("a b OR c").unwrap(), Ast::Or(vec![Ast::And(vec![w("a"), w("b")]), w("c")]));
        assert_eq!(
            parse("a AND (b OR c) NOT d").unwrap(),
            Ast::And(vec![w("a"), Ast::Or(vec![w("b"), w("c")]), Ast::Not(Box::new(w("d")))])
        );
        assert_eq!(parse("-a b").unwrap(), Ast::And(vec![Ast::Not(Box::new(w("a"))), w("b")]));
        assert_eq!(parse("and or").unwrap(), Ast::And(vec![w("and"), w("or")]));
    }

    #[test]
    fn terms() {
        assert_eq!(parse("partner*").unwrap(), Ast::Prefix("partner".into()));
        assert_eq!(parse("turnvoer~").unwrap(), Ast::Fuzzy("turnvoer".into(), 1));
        assert_eq!(quoted_wildcards(r#""trus*" partner* "staff turnover""#), ["trus*"]);
        assert_eq!(parse("\"critical friend\"~3").unwrap(), Ast::Phrase("critical friend".into(), 3));
        assert_eq!(
            parse("speaker:\"CPP manager\"").unwrap(),
            Ast::Field { field: "speaker".into(), value: "CPP manager".into(), prefix: false, whole: false }
        );
        assert_eq!(
            parse("speaker:=\"Lynne Neagle AM\"").unwrap(),
            Ast::Field { field: "speaker".into(), value: "Lynne Neagle AM".into(), prefix: false, whole: true }
        );
        assert_eq!(
            parse("Site:Fife*").unwrap(),
            Ast::Field { field: "site".into(), value: "Fife".into(), prefix: true, whole: false }
        );
        assert_eq!(
            parse("date:[2016-01-01 TO *}").unwrap(),
            Ast::Range { field: "date".into(), lower: Some(("2016-01-01".into(), true)), upper: None }
        );
        assert_eq!(
            parse("site:west-dunbartonshire").unwrap(),
            Ast::Field { field: "site".into(), value: "west-dunbartonshire".into(), prefix: false, whole: false }
        );
        assert_eq!(parse("site:=").unwrap_err().message, "`site:` has no value");
    }

    #[test]
    fn lowercase_operators_between_terms() {
        assert_eq!(lowercase_operators("trust or time"), ["or"]);
        assert_eq!(lowercase_operators("trust and \"staff turnover\" not budget"), ["and", "not"]);
        assert_eq!(lowercase_operators("(a OR b) and site:fife"), ["and"]);
        // Inside a phrase, at either end, or as a value, they are words.
        assert!(lowercase_operators("\"trust or time\"").is_empty());
        assert!(lowercase_operators("or trust").is_empty());
        assert!(lowercase_operators("trust and").is_empty());
        assert!(lowercase_operators("kind:or time").is_empty());
        assert!(lowercase_operators("trust OR time").is_empty());
    }

    #[test]
    fn errors_point_at_columns() {
        let cases = [
            ("trust AND", 10, "needs something"),
            ("(trust OR time", 1, "never closed"),
            ("trust)", 6, "unexpected `)`"),
            ("\"open phrase", 1, "unclosed quote"),
            ("site: fife", 5, "has no value"),
            ("date:[2016 2017]", 6, "malformed range"),
            ("OR time", 1, "nothing before"),
            ("wor*d", 1, "end of a word"),
            ("time~9", 1, "too large"),
            ("", 1, "empty query"),
            ("()", 1, "empty parentheses"),
        ];
        for (q, col, msg) in cases {
            let e = parse(q).unwrap_err();
            assert_eq!(e.column, col, "{q}: {e}");
            assert!(e.message.contains(msg), "{q}: {e}");
            assert!(!e.hint.is_empty());
        }
    }

    #[test]
    fn hostile_queries_fail_cleanly() {
        let deep = format!("{}a{}", "(".repeat(500), ")".repeat(500));
        assert!(parse(&deep).unwrap_err().message.contains("nested"));
        let long = "a ".repeat(MAX_QUERY_CHARS);
        assert!(parse(&long).is_err());
        let many = "a ".repeat(4000);
        assert!(parse(&many).is_ok());
    }
}
