//! The tantivy schema: one tantivy document per passage.

use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{LowerCaser, RawTokenizer, TextAnalyzer, TokenizerManager};

/// Bumped whenever the schema or the tokenisation changes; an index of another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 1;

/// Tokeniser for keyword fields: the whole value as one lower-cased term.
pub const KEYWORD_TOKENIZER: &str = "keyword_lc";
/// Tokeniser for the stemmed text field (tantivy's built-in English stemmer).
pub const STEM_TOKENIZER: &str = "en_stem";
/// Tokeniser for the exact text field: words lower-cased, not stemmed.
pub const EXACT_TOKENIZER: &str = "default";

/// Handles to every field.
#[derive(Clone, Debug)]
pub struct Fields {
    /// `path#ordinal`, raw.
    pub id: Field,
    /// Document path, raw (to delete a document's passages).
    pub doc: Field,
    /// Passage ordinal.
    pub ordinal: Field,
    /// Code-point start and end in the document.
    pub start: Field,
    /// End offset.
    pub end: Field,
    /// Stemmed text with positions, stored for snippets.
    pub text: Field,
    /// Unstemmed text with positions, for `--exact`, prefixes and fuzzy terms.
    pub text_exact: Field,
    /// Site (keyword, case-insensitive).
    pub site: Field,
    /// Kind.
    pub kind: Field,
    /// Author.
    pub author: Field,
    /// Speaker of a turn.
    pub speaker: Field,
    /// Section heading.
    pub section: Field,
    /// Document date.
    pub date: Field,
    /// Year of the document date.
    pub year: Field,
    /// Other attributes as `key=value` keywords.
    pub attr: Field,
    /// Codes the passage carries (accepted or suggested).
    pub code: Field,
    /// Word count.
    pub words: Field,
    /// Original-case site, kind, speaker, date for display (stored only).
    pub display: Field,
}

fn keyword(stored: bool) -> TextOptions {
    let idx = TextFieldIndexing::default().set_tokenizer(KEYWORD_TOKENIZER).set_index_option(IndexRecordOption::Basic);
    let o = TextOptions::default().set_indexing_options(idx);
    if stored { o.set_stored() } else { o }
}

fn text(tokenizer: &str, stored: bool) -> TextOptions {
    let idx = TextFieldIndexing::default()
        .set_tokenizer(tokenizer)
        .set_index_option(IndexRecordOption::WithFreqsAndPositions);
    let o = TextOptions::default().set_indexing_options(idx);
    if stored { o.set_stored() } else { o }
}

/// Builds the schema and its field handles.
pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    let fields = Fields {
        id: b.add_text_field("id", STRING | STORED),
        doc: b.add_text_field("doc", STRING | STORED),
        ordinal: b.add_u64_field("ordinal", STORED),
        start: b.add_u64_field("start", STORED),
        end: b.add_u64_field("end", STORED),
        text: b.add_text_field("text", text(STEM_TOKENIZER, true)),
        text_exact: b.add_text_field("text_exact", text(EXACT_TOKENIZER, false)),
        site: b.add_text_field("site", keyword(false)),
        kind: b.add_text_field("kind", keyword(false)),
        author: b.add_text_field("author", keyword(false)),
        speaker: b.add_text_field("speaker", keyword(false)),
        section: b.add_text_field("section", keyword(false)),
        date: b.add_date_field("date", INDEXED | FAST),
        year: b.add_u64_field("year", INDEXED | FAST),
        attr: b.add_text_field("attr", keyword(false)),
        code: b.add_text_field("code", keyword(false)),
        words: b.add_u64_field("words", STORED | FAST),
        display: b.add_text_field("display", STORED),
    };
    (b.build(), fields)
}

/// Registers the project's tokenisers on an index.
pub fn register_tokenizers(tm: &TokenizerManager) {
    tm.register(KEYWORD_TOKENIZER, TextAnalyzer::builder(RawTokenizer::default()).filter(LowerCaser).build());
}
