//! The tantivy schema: one tantivy document per passage.

use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    LowerCaser, RawTokenizer, RemoveLongFilter, SimpleTokenizer, TextAnalyzer, Token, TokenFilter, TokenStream,
    Tokenizer, TokenizerManager,
};

/// Bumped whenever the schema or the tokenisation changes; an index of another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 2;

/// Tokeniser for keyword fields: the whole value as one lower-cased term.
pub const KEYWORD_TOKENIZER: &str = "keyword_lc";
/// Tokeniser for the stemmed text field (tantivy's built-in English stemmer).
pub const STEM_TOKENIZER: &str = "en_stem";

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

/// Registers the project's tokenisers on an index: the keyword tokeniser, and `en_stem` made
/// again from the same parts as tantivy's (simple tokeniser, tokens of 40 bytes or more dropped,
/// lower-cased, English Snowball stemmer) with each distinct word stemmed once per indexing
/// thread. The terms are the same; stemming was a fifth of the indexing time. With `words`, every
/// word the stemmer sees (lower-cased, unstemmed) is also added there: that is how the index's
/// word list, which prefix and fuzzy terms expand over, is gathered without a second pass.
pub fn register_tokenizers(tm: &TokenizerManager, words: Option<WordSink>) {
    tm.register(KEYWORD_TOKENIZER, TextAnalyzer::builder(RawTokenizer::default()).filter(LowerCaser).build());
    tm.register(STEM_TOKENIZER, stem_analyzer(words));
}

/// Where the stemmer puts the words it has not seen before.
pub type WordSink = Arc<Mutex<Vec<Box<str>>>>;

/// The `en_stem` analyzer with a stem cache.
pub fn stem_analyzer(words: Option<WordSink>) -> TextAnalyzer {
    exact_builder().filter(CachedStemmer { words }).build()
}

fn exact_builder() -> tantivy::tokenizer::TextAnalyzerBuilder<impl Tokenizer> {
    TextAnalyzer::builder(SimpleTokenizer::default()).filter(RemoveLongFilter::limit(40)).filter(LowerCaser)
}

/// The words of a text as `--exact` sees them: the stemmed field's tokens before stemming, so
/// positions agree with the index's.
pub fn exact_analyzer() -> TextAnalyzer {
    exact_builder().build()
}

/// The stem of one lower-cased word, as the index has it.
pub fn stem(word: &str) -> String {
    frostem::Stemmer::new(frostem::Algorithm::English).stem(word).into_owned()
}

/// Words kept in one thread's stem cache before it starts again (about 10 MB at most).
const STEM_CACHE_WORDS: usize = 100_000;

/// The English Snowball stemmer, remembering the stem of each word it has seen while it hands
/// the words to a sink (that is, while indexing).
#[derive(Clone, Debug, Default)]
pub struct CachedStemmer {
    words: Option<WordSink>,
}

impl TokenFilter for CachedStemmer {
    type Tokenizer<T: Tokenizer> = CachedStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> CachedStemmerFilter<T> {
        CachedStemmerFilter { inner: tokenizer, cache: StemCache::new(self.words) }
    }
}

/// [`CachedStemmer`] applied to a tokeniser. Each clone (tantivy clones the analyzer for every
/// segment it writes and every query) starts with an empty cache.
pub struct CachedStemmerFilter<T> {
    inner: T,
    cache: StemCache,
}

impl<T: Clone> Clone for CachedStemmerFilter<T> {
    fn clone(&self) -> Self {
        CachedStemmerFilter { inner: self.inner.clone(), cache: StemCache::new(self.cache.words.clone()) }
    }
}

struct StemCache {
    stemmer: frostem::Stemmer,
    stems: FxHashMap<Box<str>, Box<str>>,
    words: Option<WordSink>,
}

impl StemCache {
    fn new(words: Option<WordSink>) -> StemCache {
        StemCache { stemmer: frostem::Stemmer::new(frostem::Algorithm::English), stems: FxHashMap::default(), words }
    }

    /// Replaces `word` by its stem. Without a sink (queries, snippets: a few words each, from a
    /// fresh clone) the cache would cost more than it saves, and is not used.
    fn stem(&mut self, word: &mut String) {
        if self.words.is_none() {
            if let std::borrow::Cow::Owned(stem) = self.stemmer.stem(word) {
                *word = stem;
            }
            return;
        }
        if let Some(stem) = self.stems.get(word.as_str()) {
            word.clear();
            word.push_str(stem);
            return;
        }
        let stem: Box<str> = self.stemmer.stem(word).into();
        if self.stems.len() >= STEM_CACHE_WORDS {
            self.stems.clear();
        }
        let original = std::mem::replace(word, String::from(&*stem)).into_boxed_str();
        if let Some(sink) = &self.words {
            sink.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(original.clone());
        }
        self.stems.insert(original, stem);
    }
}
impl<T: Tokenizer> Tokenizer for CachedStemmerFilter<T> {
    type TokenStream<'a> = CachedStemStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        CachedStemStream { tail: self.inner.token_stream(text), cache: &mut self.cache }
    }
}

/// The token stream of [`CachedStemmerFilter`].
pub struct CachedStemStream<'a, S> {
    tail: S,
    cache: &'a mut StemCache,
}

impl<S: TokenStream> TokenStream for CachedStemStream<'_, S> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        self.cache.stem(&mut self.tail.token_mut().text);
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}
