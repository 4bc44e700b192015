//! The search index for a Quickwit cluster: the same passages, fields and tokenisers as the
//! local tantivy index (see [`crate::schema`]), as a Quickwit index configuration and NDJSON
//! documents, for teams whose passages outgrow one machine.
//!
//! Quickwit is built on tantivy, so every field maps one to one: the stemmed `text` uses
//! Quickwit's `en_stem` tokenizer with positions, and the keyword fields the `raw` tokenizer over values lower-cased here (as our `keyword_lc`
//! tokenizer does at indexing time), with the original spelling kept in `display`. One field is
//! added: `text_exact`, the words unstemmed (Quickwit's `default` tokenizer), because a Quickwit
//! query cannot check candidates against the stored text as the local index does for `--exact`.
//!
//! Quickwit's tokenizers cannot join the words of a hyphenated compound as ours do (see
//! [`crate::schema::WordTokenizer`]), so each document also carries `compounds`: the joined
//! word of every hyphenated compound of its text (`well-being` -> `wellbeing`), stemmed, and a
//! default search field with `text`. So `wellbeing` finds both spellings there too; a query
//! written hyphenated (`well-being`) finds the hyphenated spelling only, as in Quickwit it is
//! the phrase `well being`: search compounds closed.

use fieldnotes_corpus::{Document, Value};
use serde_json::{Map, Value as Json, json};

/// One field of the configuration.
pub struct FieldSpec {
    /// Field name, as in the local index.
    pub name: &'static str,
    /// Quickwit type.
    pub ty: &'static str,
    /// Tokenizer of a text field.
    pub tokenizer: Option<&'static str>,
    /// Stored (returned with hits).
    pub stored: bool,
    /// What the postings record (`position` for phrase queries).
    pub record: Option<&'static str>,
    /// A fast (columnar) field, for filters and aggregations.
    pub fast: bool,
}

const fn field(
    name: &'static str,
    ty: &'static str,
    tokenizer: Option<&'static str>,
    stored: bool,
    record: Option<&'static str>,
    fast: bool,
) -> FieldSpec {
    FieldSpec { name, ty, tokenizer, stored, record, fast }
}

/// Every field of the configuration. The NDJSON documents carry these keys and no others.
pub const FIELDS: &[FieldSpec] = &[
    field("id", "text", Some("raw"), true, None, false),
    field("doc", "text", Some("raw"), true, None, false),
    field("ordinal", "u64", None, true, None, false),
    field("start", "u64", None, true, None, false),
    field("end", "u64", None, true, None, false),
    field("text", "text", Some("en_stem"), true, Some("position"), false),
    field("text_exact", "text", Some("default"), false, Some("position"), false),
    field("compounds", "array<text>", Some("en_stem"), false, None, false),
    field("site", "array<text>", Some("raw"), false, None, true),
    field("kind", "array<text>", Some("raw"), false, None, true),
    field("author", "array<text>", Some("raw"), false, None, true),
    field("speaker", "text", Some("raw"), false, None, true),
    field("section", "text", Some("raw"), false, None, true),
    field("date", "datetime", None, true, None, true),
    field("year", "u64", None, true, None, true),
    field("attr", "array<text>", Some("raw"), false, None, false),
    field("code", "array<text>", Some("raw"), false, None, true),
    field("words", "u64", None, true, None, true),
    field("display", "json", None, true, None, false),
];

/// The Quickwit index configuration (YAML) for an index named `index_id`.
pub fn index_config(index_id: &str) -> String {
    let mut y = String::new();
    y.push_str("# Quickwit index configuration written by `fieldnotes export quickwit`: one document per\n");
    y.push_str("# passage, the fields and tokenisers of the project's local tantivy index.\n");
    y.push_str("# quickwit index create --index-config index-config.yaml\n");
    y.push_str("# quickwit index ingest --index <id> --input-path passages.ndjson\n");
    y.push_str("version: 0.8\n");
    y.push_str(&format!("index_id: {index_id}\n"));
    y.push_str("doc_mapping:\n  mode: strict\n  field_mappings:\n");
    for &FieldSpec { name, ty, tokenizer, stored, record, fast } in FIELDS {
        y.push_str(&format!("    - name: {name}\n      type: {ty}\n"));
        if let Some(t) = tokenizer {
            y.push_str(&format!("      tokenizer: {t}\n"));
        }
        if let Some(r) = record {
            y.push_str(&format!("      record: {r}\n"));
        }
        if ty == "datetime" {
            y.push_str("      input_formats: [rfc3339]\n      fast_precision: seconds\n");
        }
        y.push_str(&format!("      stored: {stored}\n"));
        if fast {
            y.push_str("      fast: true\n");
        }
    }
    y.push_str("  tag_fields: [site]\n");
    y.push_str("search_settings:\n  default_search_fields: [text, compounds]\n");
    y
}

/// An index id Quickwit accepts (letters, digits, `-`, `_`; starting with a letter).
pub fn index_id(name: &str) -> String {
    let mut id: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    if !id.starts_with(|c: char| c.is_ascii_alphabetic()) {
        id.insert_str(0, "fieldnotes-");
    }
    id.truncate(255);
    id
}

fn lower_all(v: &Value) -> Json {
    Json::Array(v.texts().into_iter().map(|t| Json::String(t.to_lowercase())).collect())
}

/// The NDJSON document of passage `pi` of `d`, carrying `codes`.
pub fn passage_json(d: &Document, pi: usize, codes: &[String]) -> Json {
    let p = &d.passages[pi];
    let text = d.passage_text(p);
    let mut o = Map::new();
    o.insert("id".into(), d.passage_id(p).into());
    o.insert("doc".into(), d.path.clone().into());
    o.insert("ordinal".into(), p.ordinal.into());
    o.insert("start".into(), p.start.into());
    o.insert("end".into(), p.end.into());
    o.insert("text".into(), text.into());
    o.insert("text_exact".into(), text.into());
    let joined = compounds(text);
    if !joined.is_empty() {
        o.insert("compounds".into(), joined.into());
    }
    let mut display = Map::new();
    let mut attrs = Vec::new();
    for (key, value) in &d.attributes {
        match key.as_str() {
            "site" | "kind" | "author" => {
                o.insert(key.clone(), lower_all(value));
            }
            _ => attrs.extend(value.texts().into_iter().map(|t| Json::String(format!("{key}={}", t.to_lowercase())))),
        }
        if let ("date", Value::Date(date)) = (key.as_str(), value) {
            o.insert("date".into(), format!("{date}T00:00:00Z").into());
            o.insert("year".into(), u64::try_from(date.year).unwrap_or(0).into());
        }
        display.insert(key.clone(), value.to_string().into());
    }
    if !attrs.is_empty() {
        o.insert("attr".into(), attrs.into());
    }
    if let Some(s) = &p.speaker {
        o.insert("speaker".into(), s.to_lowercase().into());
        display.insert("speaker".into(), s.clone().into());
    }
    if let Some(t) = &p.time {
        display.insert("time".into(), t.clone().into());
    }
    if let Some(s) = &p.section {
        o.insert("section".into(), s.to_lowercase().into());
        display.insert("section".into(), s.clone().into());
    }
    if !codes.is_empty() {
        o.insert("code".into(), codes.iter().map(|c| Json::String(c.to_lowercase())).collect::<Vec<_>>().into());
        display.insert("codes".into(), codes.join(", ").into());
    }
    o.insert("words".into(), p.words.into());
    o.insert("display".into(), Json::Object(display));
    json!(o)
}

/// The joined word of each hyphenated compound of `text` (`well-being` -> `wellbeing`), as the
/// local index has them, lower-cased, in order.
pub fn compounds(text: &str) -> Vec<String> {
    let mut analyzer = crate::schema::exact_analyzer();
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while let Some(t) = stream.next() {
        if !t.text.contains(['-', '\u{2010}', '\u{2011}'])
            && text[t.offset_from..t.offset_to].contains(['-', '\u{2010}', '\u{2011}'])
        {
            out.push(t.text.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_carry_only_configured_fields() {
        let text =
            "---\nsite: Fife\ndate: 2016-03-02\nkind: interview\nrole: [Manager, Chair]\n---\nA: Trust took time.\n";
        let d = fieldnotes_corpus::parse_document(
            "notes/a.md".into(),
            text.into(),
            &fieldnotes_corpus::SplitOptions { speaker_turns: true },
        )
        .unwrap();
        let j = passage_json(&d, 0, &["time".to_string()]);
        assert!(j.get("compounds").is_none());
        let names: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
        for key in j.as_object().unwrap().keys() {
            assert!(names.contains(&key.as_str()), "{key} is not in the config");
        }
        assert_eq!(j["site"], json!(["fife"]));
        assert_eq!(j["speaker"], "a");
        assert_eq!(j["date"], "2016-03-02T00:00:00Z");
        // As in the local index, attributes without a field of their own are `key=value` terms.
        assert_eq!(j["attr"], json!(["date=2016-03-02", "role=manager", "role=chair"]));
        let config = index_config(&index_id("2016 study"));
        assert!(config.contains("index_id: fieldnotes-2016-study\n"), "{config}");
        assert_eq!(config.matches("    - name: ").count(), FIELDS.len());
        assert!(config.contains("default_search_fields: [text, compounds]"), "{config}");
    }

    #[test]
    fn compounds_are_joined() {
        assert_eq!(
            compounds("Well-being and co-operation, face-to-face; not - this, 2016-03-02"),
            ["wellbeing", "cooperation", "facetoface", "20160302"]
        );
        let d = fieldnotes_corpus::parse_document(
            "notes/a.md".into(),
            "Co-production matters.\n".into(),
            &fieldnotes_corpus::SplitOptions { speaker_turns: false },
        )
        .unwrap();
        assert_eq!(passage_json(&d, 0, &[])["compounds"], json!(["coproduction"]));
    }
}
