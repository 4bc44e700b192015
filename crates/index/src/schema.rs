//! The tantivy schema: one tantivy document per passage.

use std::sync::{Arc, Mutex};

use rustc_hash::FxHashMap;
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::tokenizer::{
    LowerCaser, RawTokenizer, RemoveLongFilter, TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer,
    TokenizerManager,
};

/// Bumped whenever the schema or the tokenisation changes; an index of another version is rebuilt.
pub const SCHEMA_VERSION: u32 = 5;

/// Tokeniser for keyword fields: the whole value as one lower-cased term.
pub const KEYWORD_TOKENIZER: &str = "keyword_lc";
/// Tokeniser for the stemmed text field (tantivy's built-in English stemmer).
pub const STEM_TOKENIZER: &str = "en_stem";

/// Handles to every field.
#[derive(Clone, Debug)]
pub struct Fields {
    /// `path#key` (see `fieldnotes_corpus::PassageKey`), raw.
    pub id: Field,
    /// Document path, raw (to delete a document's passages).
    pub doc: Field,
    /// The passage by note and position ([`crate::codes::at_key`]), a fast field: what `code:`
    /// finds passages by (codes are not in the index: see [`crate::Codes`]).
    pub at: Field,
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
    /// Every word of every attribute value (speaker and section included) as `key=word`, with
    /// positions: `speaker:blair` and `speaker:"bill blair"` search these.
    pub values: Field,
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
        at: b.add_u64_field("at", FAST),
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
        values: b.add_text_field("values", text(KEYWORD_TOKENIZER, false)),
        words: b.add_u64_field("words", STORED | FAST),
        display: b.add_text_field("display", STORED),
    };
    (b.build(), fields)
}

/// Registers the project's tokenisers on an index: the keyword tokeniser, and `en_stem` made
/// again from the same parts as tantivy's (words cut as tantivy's simple tokeniser cuts them,
/// tokens of 40 bytes or more dropped, lower-cased, English Snowball stemmer) with each distinct
/// word stemmed once per indexing thread; stemming was a fifth of the indexing time. One
/// departure from tantivy's terms: a hyphenated compound (`well-being`) also gives its joined
/// word (`wellbeing`), at the same position as its parts (see [`WordTokenizer`]). With `words`, every
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
    TextAnalyzer::builder(WordTokenizer::default()).filter(RemoveLongFilter::limit(40)).filter(LowerCaser)
}

/// Longest token kept, in bytes (as tantivy's `en_stem`: tokens of 40 bytes or more are dropped).
pub const MAX_TOKEN_BYTES: usize = 40;

/// Whether `c` joins the words of a compound when it stands between two of them.
fn is_hyphen(c: char) -> bool {
    matches!(c, '-' | '\u{2010}' | '\u{2011}')
}

/// Cuts text into words as tantivy's `SimpleTokenizer` does (runs of alphanumeric characters,
/// one position each), except that the words of a hyphenated compound (`well-being`,
/// `co-operation`, `face-to-face`: words joined by single hyphens, with nothing else between)
/// share one position and are followed there by their joined word (`wellbeing`), whose offsets
/// span the compound. So `wellbeing` and `well-being` find each other, each part is still found
/// alone, and phrases over the closed and the hyphenated spelling have the same positions.
#[derive(Clone, Debug, Default)]
pub struct WordTokenizer {
    token: Token,
    parts: Vec<(usize, usize)>,
}

/// The token stream of [`WordTokenizer`].
pub struct WordTokenStream<'a> {
    text: &'a str,
    at: usize,
    token: &'a mut Token,
    /// The byte ranges of the words of the compound being given out.
    parts: &'a mut Vec<(usize, usize)>,
    /// The next of `parts` to give out; `parts.len()` is the joined word.
    next: usize,
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = WordTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordTokenStream<'a> {
        self.token.reset();
        self.parts.clear();
        WordTokenStream { text, at: 0, token: &mut self.token, parts: &mut self.parts, next: 0 }
    }
}

impl WordTokenStream<'_> {
    /// The end of the word starting at `from`.
    fn word_end(&self, from: usize) -> usize {
        self.text[from..].char_indices().find(|(_, c)| !c.is_alphanumeric()).map_or(self.text.len(), |(i, _)| from + i)
    }

    fn emit(&mut self, from: usize, to: usize) {
        self.token.offset_from = from;
        self.token.offset_to = to;
        self.token.text.push_str(&self.text[from..to]);
    }
}

impl TokenStream for WordTokenStream<'_> {
    fn advance(&mut self) -> bool {
        self.token.text.clear();
        if !self.parts.is_empty() {
            // The rest of a compound, at the position of its first word.
            if self.next < self.parts.len() {
                let (from, to) = self.parts[self.next];
                self.next += 1;
                self.emit(from, to);
                return true;
            }
            let (from, to) = (self.parts[0].0, self.parts[self.parts.len() - 1].1);
            let joined: usize = self.parts.iter().map(|(f, t)| t - f).sum();
            if self.next == self.parts.len() && joined < MAX_TOKEN_BYTES {
                self.next += 1;
                for i in 0..self.parts.len() {
                    let (f, t) = self.parts[i];
                    self.token.text.push_str(&self.text[f..t]);
                }
                self.token.offset_from = from;
                self.token.offset_to = to;
                return true;
            }
            self.parts.clear();
        }
        self.token.position = self.token.position.wrapping_add(1);
        let Some((start, _)) = self.text[self.at..].char_indices().find(|(_, c)| c.is_alphanumeric()) else {
            self.at = self.text.len();
            return false;
        };
        let from = self.at + start;
        let to = self.word_end(from);
        self.at = to;
        // A hyphen with a word straight after it makes a compound.
        let mut end = to;
        loop {
            let mut rest = self.text[end..].chars();
            match (rest.next(), rest.next()) {
                (Some(h), Some(c)) if is_hyphen(h) && c.is_alphanumeric() => {
                    let next_from = end + h.len_utf8();
                    if self.parts.is_empty() {
                        self.parts.push((from, to));
                    }
                    end = self.word_end(next_from);
                    self.parts.push((next_from, end));
                }
                _ => break,
            }
        }
        self.at = end;
        self.next = 1;
        self.emit(from, to);
        true
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// The words of an attribute value as the `values` field holds them: `key=word`, lower-cased,
/// compounds as in the text (see [`WordTokenizer`]), with their positions.
pub fn value_terms(key: &str, value: &str) -> Vec<(usize, String)> {
    // One analyzer per thread: making one for each value of each passage was a tenth of the
    // time to index.
    thread_local! {
        static ANALYZER: std::cell::RefCell<TextAnalyzer> = std::cell::RefCell::new(exact_analyzer());
    }
    ANALYZER.with_borrow_mut(|analyzer| {
        let mut stream = analyzer.token_stream(value);
        let mut out = Vec::new();
        while let Some(t) = stream.next() {
            out.push((t.position, format!("{key}={}", t.text)));
        }
        out
    })
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
