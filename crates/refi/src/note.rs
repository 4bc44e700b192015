//! Writing an imported source as a note: front matter the corpus reader reads back exactly.

use fieldnotes_corpus::{Value, frontmatter};

use crate::Warning;

/// A rendered note.
pub(crate) struct Note {
    /// Front matter and body.
    pub text: String,
    /// Length of the front matter in code points: the body's position 0 in the note.
    pub body_offset: usize,
}

/// How hard to try with one attribute.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Typed,
    PlainText,
    Dropped,
}

/// Double quotes where possible; single quotes when the text holds `"` but no `'`. With both,
/// whichever form the front-matter reader reads back (it knows no escapes when it looks for a
/// ` #` comment); the caller checks the result anyway.
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
        frontmatter::parse(&format!("---\nk: {q}\n---\n"))
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

fn render_value(v: &Value) -> String {
    match v {
        Value::Bool(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Float(x) if x.is_finite() => format!("{x:?}"),
        Value::Float(x) => quote(&x.to_string()),
        Value::Date(d) => d.to_string(),
        Value::String(s) => quote(s),
        Value::List(items) => format!("[{}]", items.iter().map(render_value).collect::<Vec<_>>().join(", ")),
    }
}

fn plain_text(v: &Value) -> Value {
    Value::String(v.to_plain().replace(['\r', '\n'], " ").replace('"', "\u{201D}"))
}

/// Renders `---`, one `key: value` line per attribute (keys must be valid front-matter keys,
/// unique), `---`, then the body. Each value is checked by reading the front matter back; one
/// that does not read back as written is written as plain text, and dropped (with a warning
/// naming `what`) if even that fails.
pub(crate) fn render(attrs: &[(String, Value)], body: &str, what: &str, warnings: &mut Vec<Warning>) -> Note {
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
        match frontmatter::parse(&fm) {
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
                    warnings.push(Warning::new(format!(
                        "{what}: attribute `{}` could not be written as front matter; left out",
                        wanted[i].0
                    )));
                    Stage::Dropped
                }
            };
        }
    };
    let body_offset = front.chars().count();
    Note { text: front + body, body_offset }
}

#[cfg(test)]
mod tests {
    use fieldnotes_corpus::Date;

    use super::*;

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
        let mut w = Vec::new();
        let note = render(&attrs, "Body 😀\n", "t", &mut w);
        let p = frontmatter::parse(&note.text).unwrap();
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
