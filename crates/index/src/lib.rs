//! The search index over passages: a tantivy index kept in step with the notes, the query
//! language, ranked hits with highlighted snippets, keyword-in-context lines and group counts.
//!
//! The index is derived data in `.fieldnotes/index/`: it can be deleted at any time and is
//! rebuilt from the notes. Updates are incremental: a manifest records the content hash of every
//! indexed note, and only notes whose content changed are re-indexed. Codes are not in the index:
//! the caller hands them over ([`SearchIndex::set_codes`]), so that coding never rewrites it.
#![warn(missing_docs)]

mod codes;
mod exact;
pub mod query;
pub mod quickwit;
pub mod schema;
mod search;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use fieldnotes_corpus::{Corpus, Document, Value};
use serde::{Deserialize, Serialize};
use tantivy::query::TermSetQuery;
use tantivy::schema::Field;
use tantivy::tokenizer::PreTokenizedString;
use tantivy::{DateTime, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

pub use codes::{Codes, PassageCodes, at_key};
pub use query::{Ast, SyntaxError, lowercase_operators, parse};
pub use schema::{Fields, SCHEMA_VERSION};
pub use search::{Hit, SearchOptions, SearchResults, Unknown, UnknownKind, closest};

/// The joined words of hyphenated compounds, as the Quickwit export writes them.
pub use quickwit::compounds;

/// Index errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file of the index could not be read or written.
    #[error("cannot access `{}`: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Another process holds the index writer.
    #[error("another `fieldnotes index` (or coding command) is updating the index in `{}`; wait for it to finish and try again", path.display())]
    Busy {
        /// The index folder.
        path: PathBuf,
    },
    /// The query is malformed.
    #[error("{0}")]
    Syntax(#[from] SyntaxError),
    /// An error from tantivy.
    #[error("search index: {0}")]
    Tantivy(#[from] tantivy::TantivyError),
    /// Counts were asked by a group that no passage has.
    #[error("no passage has `{name}` to group by{}", did_you_mean(suggestions))]
    UnknownGroup {
        /// The group asked for.
        name: String,
        /// The closest groups there are.
        suggestions: Vec<String>,
    },
}

/// `; did you mean `a` or `b`?`, or nothing.
pub(crate) fn did_you_mean(names: &[String]) -> String {
    match names {
        [] => String::new(),
        [one] => format!("; did you mean `{one}`?"),
        [init @ .., last] => format!(
            "; did you mean {} or `{last}`?",
            init.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        ),
    }
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The name of the manifest inside the index folder.
pub const MANIFEST: &str = "fieldnotes-manifest.json";

/// The index's word list: every word (lower-cased, unstemmed) of the passages indexed since it
/// was created, one per line, sorted. Prefix and fuzzy terms expand over it. Words of removed
/// passages stay until the next rebuild; a match is always checked against the passage's text.
pub const WORDS: &str = "fieldnotes-words.txt";

/// When the index was last brought up to date, and the notes it skipped then (see
/// [`SearchIndex::staleness`]). Written by every update, even one that changed nothing.
pub const STATE: &str = "fieldnotes-state.json";

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct State {
    /// When the last update started reading the notes, in nanoseconds since the epoch: a note
    /// modified after this may differ from the index.
    updated_ns: u128,
    /// Notes the last update could not read (they are not in the manifest).
    skipped: BTreeSet<String>,
}

/// What changed in the notes since the index was last brought up to date.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Staleness {
    /// Indexed notes modified since.
    pub changed: Vec<String>,
    /// Notes the index does not have.
    pub added: Vec<String>,
    /// Indexed notes that are gone.
    pub removed: Vec<String>,
}

impl Staleness {
    /// Whether anything changed.
    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.added.is_empty() && self.removed.is_empty()
    }

    /// Every note concerned, sorted.
    pub fn paths(&self) -> Vec<&str> {
        let mut all: Vec<&str> =
            self.changed.iter().chain(&self.added).chain(&self.removed).map(String::as_str).collect();
        all.sort_unstable();
        all
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Manifest {
    schema_version: u32,
    /// Document path -> signature.
    #[serde(deserialize_with = "sorted_map")]
    docs: BTreeMap<String, String>,
}

/// A map read as its pairs and built in one go: written sorted, it is built without the string
/// comparisons of inserting 324,641 paths one at a time.
fn sorted_map<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<BTreeMap<String, String>, D::Error> {
    struct Pairs;
    impl<'de> serde::de::Visitor<'de> for Pairs {
        type Value = Vec<(String, String)>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a map of paths to signatures")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> std::result::Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(map.size_hint().unwrap_or(0));
            while let Some(pair) = map.next_entry()? {
                out.push(pair);
            }
            Ok(out)
        }
    }
    Ok(d.deserialize_map(Pairs)?.into_iter().collect())
}

/// An open search index.
pub struct SearchIndex {
    dir: PathBuf,
    index: Index,
    /// Opened on first search. An update drops it: a reader maps every segment it holds, and
    /// one kept over an update keeps the replaced segments' pages that the merges read
    /// resident in the process (2.2 GB when every note of a 2 GB project was re-indexed).
    reader: OnceLock<IndexReader>,
    fields: Fields,
    manifest: Manifest,
    /// The word list, read on first use.
    words: OnceLock<Vec<String>>,
    /// Each stem of the word list, with the words that have it; made on first use.
    stems: OnceLock<BTreeMap<String, Vec<String>>>,
    /// The codes of the passages, what `code:` finds ([`SearchIndex::set_codes`]).
    pub(crate) codes: Codes,
}

/// What an update did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct UpdateStats {
    /// Notes indexed (new or changed).
    pub indexed: usize,
    /// Notes removed from the index (deleted, or changed and re-indexed).
    pub removed: usize,
    /// Notes left as they were.
    pub unchanged: usize,
    /// Passages written.
    pub passages: usize,
    /// Why the index was rebuilt from scratch, if it was.
    pub rebuilt: Option<String>,
}

/// Settings of the index writer.
#[derive(Clone, Debug)]
pub struct WriterOptions {
    /// Total memory budget in bytes.
    pub memory_bytes: usize,
    /// Indexing threads.
    pub threads: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions { memory_bytes: 128 << 20, threads: 2 }
    }
}

impl WriterOptions {
    /// From the project's settings.
    pub fn from_config(cfg: &fieldnotes_corpus::IndexConfig) -> WriterOptions {
        let threads = if cfg.threads == 0 {
            std::thread::available_parallelism().map_or(1, |n| n.get()).min(8)
        } else {
            cfg.threads
        };
        // tantivy needs at least 15 MB per thread.
        let memory_bytes = (cfg.writer_memory_mb << 20).max(threads * (16 << 20));
        WriterOptions { memory_bytes, threads }
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.to_path_buf(), source }
}

fn open_existing(dir: &Path) -> std::result::Result<(Index, Manifest), String> {
    let mpath = dir.join(MANIFEST);
    let text = fs::read_to_string(&mpath).map_err(|_| "it has no manifest".to_string())?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| format!("its manifest is unreadable ({e})"))?;
    if manifest.schema_version != SCHEMA_VERSION {
        return Err(format!("it was made with schema version {} (now {SCHEMA_VERSION})", manifest.schema_version));
    }
    if !dir.join(WORDS).is_file() {
        return Err("it has no word list".into());
    }
    let index = Index::open_in_dir(dir).map_err(|e| format!("it cannot be opened ({e})"))?;
    let (expected, _) = schema::build();
    if index.schema() != expected {
        return Err("its schema differs from this version's".into());
    }
    Ok((index, manifest))
}

impl SearchIndex {
    /// Opens the index in `dir`, or creates it. A missing, stale or corrupt index is rebuilt:
    /// the returned reason says why (the caller tells the user).
    pub fn open_or_create(dir: &Path) -> Result<(SearchIndex, Option<String>)> {
        let (index, manifest, reason) = match open_existing(dir) {
            Ok((i, m)) => (i, m, None),
            Err(why) => {
                let existed = dir.exists();
                if existed {
                    fs::remove_dir_all(dir).map_err(io(dir))?;
                }
                fs::create_dir_all(dir).map_err(io(dir))?;
                restrict_permissions(dir);
                let (schema, _) = schema::build();
                let index = Index::create_in_dir(dir, schema)?;
                fs::write(dir.join(WORDS), "").map_err(io(dir))?;
                let reason = existed.then(|| format!("the search index was rebuilt because {why}"));
                (index, Manifest { schema_version: SCHEMA_VERSION, docs: BTreeMap::new() }, reason)
            }
        };
        Ok((SearchIndex::with(dir, index, manifest)?, reason))
    }

    /// Opens an existing index for searching; `None` if there is none usable.
    pub fn open(dir: &Path) -> Result<Option<SearchIndex>> {
        let Ok((index, manifest)) = open_existing(dir) else { return Ok(None) };
        Ok(Some(SearchIndex::with(dir, index, manifest)?))
    }

    fn with(dir: &Path, index: Index, manifest: Manifest) -> Result<SearchIndex> {
        schema::register_tokenizers(index.tokenizers(), None);
        let (_, fields) = schema::build();
        let (reader, words, stems) = (OnceLock::new(), OnceLock::new(), OnceLock::new());
        let codes = Codes::new();
        Ok(SearchIndex { dir: dir.to_path_buf(), index, reader, fields, manifest, words, stems, codes })
    }

    /// Number of indexed notes.
    pub fn n_documents(&self) -> usize {
        self.manifest.docs.len()
    }

    /// Number of indexed passages.
    pub fn n_passages(&self) -> Result<u64> {
        Ok(self.index.searchable_segment_metas()?.iter().map(|m| u64::from(m.num_docs())).sum())
    }

    /// The reader, opened on first use.
    pub(crate) fn reader(&self) -> Result<&IndexReader> {
        if let Some(r) = self.reader.get() {
            return Ok(r);
        }
        let r = self.index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        Ok(self.reader.get_or_init(|| r))
    }

    /// The field handles.
    pub fn fields(&self) -> &Fields {
        &self.fields
    }

    /// Hands the index the codes of the passages of the notes as indexed: what `code:` finds,
    /// grouping by `code` counts and hits show. Without them no passage has a code.
    pub fn set_codes(&mut self, codes: Codes) {
        self.codes = codes;
    }

    /// Brings the index in step with the corpus. Only notes whose content changed are touched;
    /// with nothing changed no writer is opened. `progress` is called with the number of
    /// passages written as they go.
    pub fn update(
        &mut self,
        corpus: &Corpus,
        opts: &WriterOptions,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<UpdateStats> {
        let mut update = self.begin_update(opts);
        update.add(corpus, progress)?;
        update.finish()
    }

    /// Brings the notes of `corpus`, some of the project's notes, in step with their content,
    /// leaving every other note in the index as it is. The time of the last whole update, which
    /// tells which notes changed since, is kept.
    pub fn update_notes(&mut self, corpus: &Corpus, opts: &WriterOptions) -> Result<UpdateStats> {
        // One thread: a tiny update split between threads makes a segment per thread.
        let opts = WriterOptions { threads: 1, memory_bytes: opts.memory_bytes.min(64 << 20) };
        let mut update = self.begin_update(&opts);
        update.partial = true;
        update.add(corpus, &|_| {})?;
        update.finish()
    }

    /// Starts an update that takes the notes a batch at a time ([`Update::add`]), so that a
    /// large project need not be held in memory at once; [`Update::finish`] removes the notes
    /// no batch had and commits.
    pub fn begin_update(&mut self, opts: &WriterOptions) -> Update<'_> {
        Update {
            idx: self,
            opts: opts.clone(),
            writer: None,
            words: None,
            seen: BTreeSet::new(),
            skipped: BTreeSet::new(),
            started_ns: now_ns(),
            signatures: Vec::new(),
            stats: UpdateStats::default(),
            partial: false,
        }
    }

    /// The word list, sorted.
    pub(crate) fn words(&self) -> &[String] {
        self.words.get_or_init(|| {
            // `open` checked that the list is there; if it has gone since, prefixes match nothing.
            let text = fs::read_to_string(self.dir.join(WORDS)).unwrap_or_default();
            text.lines().map(str::to_string).collect()
        })
    }

    /// The words of the word list that have `stem` as their stem.
    pub(crate) fn words_with_stem(&self, stem: &str) -> &[String] {
        let stems = self.stems.get_or_init(|| {
            let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for w in self.words() {
                m.entry(schema::stem(w)).or_default().push(w.clone());
            }
            m
        });
        stems.get(stem).map_or(&[], Vec::as_slice)
    }

    /// Adds words to the word list (written to a temporary file, then renamed over it).
    fn add_words(&mut self, seen: Vec<Box<str>>) -> Result<()> {
        let mut all: BTreeSet<String> = self.words().iter().cloned().collect();
        let before = all.len();
        all.extend(seen.into_iter().map(String::from));
        let words: Vec<String> = all.into_iter().collect();
        if words.len() != before {
            let mut text = String::with_capacity(words.iter().map(|w| w.len() + 1).sum());
            for w in &words {
                text.push_str(w);
                text.push('\n');
            }
            write_atomically(&self.dir.join(WORDS), text.as_bytes())?;
        }
        self.words = OnceLock::from(words);
        self.stems = OnceLock::new();
        Ok(())
    }

    /// What changed among the notes since the index was last brought up to date: `notes` are
    /// the project's note files now (path relative to the root, as in passage ids, and
    /// modification time). A note counts as changed when it was modified after the last update
    /// started; `None` when the index does not know when that was.
    pub fn staleness(&self, notes: &[(String, std::time::SystemTime)]) -> Option<Staleness> {
        let text = fs::read_to_string(self.dir.join(STATE)).ok()?;
        let state: State = serde_json::from_str(&text).ok()?;
        let mut out = Staleness::default();
        // Hashed, not searched in the sorted manifest: at 324,641 notes the string comparisons
        // of two tree searches a note took a quarter of a second.
        let indexed: rustc_hash::FxHashSet<&str> = self.manifest.docs.keys().map(String::as_str).collect();
        let present: rustc_hash::FxHashSet<&str> = notes.iter().map(|(p, _)| p.as_str()).collect();
        for (path, modified) in notes {
            let ns = modified.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            if indexed.contains(path.as_str()) {
                if ns >= state.updated_ns {
                    out.changed.push(path.clone());
                }
            } else if !state.skipped.contains(path) || ns >= state.updated_ns {
                out.added.push(path.clone());
            }
        }
        out.removed = self.manifest.docs.keys().filter(|p| !present.contains(p.as_str())).cloned().collect();
        Some(out)
    }

    fn write_manifest(&self) -> Result<()> {
        let path = self.dir.join(MANIFEST);
        let text =
            serde_json::to_vec(&self.manifest).map_err(|e| Error::Io { path: path.clone(), source: e.into() })?;
        write_atomically(&path, &text)
    }

    /// The `values` terms of a note's attributes (one pre-tokenized value each): the same for
    /// every passage of the note, so made once per note.
    fn attribute_values(d: &Document) -> Vec<PreTokenizedString> {
        let mut out = Vec::new();
        for (key, value) in &d.attributes {
            for t in value.texts() {
                out.extend(value_words(key, &t));
            }
        }
        out
    }

    fn passage_doc(&self, d: &Document, pi: usize, attribute_values: &[PreTokenizedString]) -> TantivyDocument {
        let f = &self.fields;
        let p = &d.passages[pi];
        let text = d.passage_text(p);
        let mut doc = TantivyDocument::new();
        doc.add_text(f.id, d.passage_id(p));
        doc.add_text(f.doc, &d.path);
        doc.add_u64(f.at, codes::at_key(&d.path, u64::from(p.ordinal)));
        doc.add_u64(f.ordinal, u64::from(p.ordinal));
        doc.add_u64(f.start, p.start as u64);
        doc.add_u64(f.end, p.end as u64);
        doc.add_text(f.text, text);
        doc.add_u64(f.words, u64::from(p.words));
        let mut display = serde_json::Map::new();
        for (key, value) in &d.attributes {
            let field: Option<Field> = match key.as_str() {
                "site" => Some(f.site),
                "kind" => Some(f.kind),
                "author" => Some(f.author),
                _ => None,
            };
            if let ("date", Value::Date(date)) = (key.as_str(), value) {
                doc.add_date(f.date, DateTime::from_timestamp_secs(date.days_since_epoch() * 86_400));
                doc.add_u64(f.year, u64::try_from(date.year).unwrap_or(0));
            }
            for t in value.texts() {
                match field {
                    Some(field) => doc.add_text(field, &t),
                    None => doc.add_text(f.attr, format!("{key}={t}")),
                }
            }
            display.insert(key.clone(), serde_json::Value::String(value.to_string()));
        }
        for v in attribute_values {
            doc.add_pre_tokenized_text(f.values, v.clone());
        }
        if let Some(s) = &p.speaker {
            doc.add_text(f.speaker, s);
            add_value_words(&mut doc, f.values, "speaker", s);
            display.insert("speaker".into(), s.clone().into());
        }
        if let Some(t) = &p.time {
            display.insert("time".into(), t.clone().into());
        }
        if let Some(s) = &p.section {
            doc.add_text(f.section, s);
            add_value_words(&mut doc, f.values, "section", s);
            display.insert("section".into(), s.clone().into());
        }
        doc.add_text(f.display, serde_json::Value::Object(display).to_string());
        doc
    }
}

/// Adds the words of one attribute value to the `values` field, as `key=word` terms.
fn add_value_words(doc: &mut TantivyDocument, field: Field, key: &str, value: &str) {
    if let Some(v) = value_words(key, value) {
        doc.add_pre_tokenized_text(field, v);
    }
}

/// The words of one attribute value as `key=word` terms, pre-tokenized; `None` if it has none.
fn value_words(key: &str, value: &str) -> Option<PreTokenizedString> {
    let terms = schema::value_terms(key, value);
    if terms.is_empty() {
        return None;
    }
    let tokens = terms
        .into_iter()
        .map(|(position, text)| tantivy::tokenizer::Token {
            offset_from: 0,
            offset_to: 0,
            position,
            text,
            position_length: 1,
        })
        .collect();
    Some(PreTokenizedString { text: String::new(), tokens })
}

fn now_ns() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

/// Writes `path` by way of a synced temporary file renamed over it.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    fieldnotes_corpus::atomic::write(path, bytes).map_err(io(path))
}

/// Passages in a segment a merge may produce. tantivy's own policy merges segments into ever
/// larger ones; a merge maps every segment it reads, and at 2 GB of notes the last merges took
/// the indexing process past 1 GB of resident memory. With segments of up to this many
/// passages it peaked at 713 MB there (21 segments for 4.5 million passages; a project of
/// 100 MB has two to four, as before).
pub const MAX_MERGED_PASSAGES: u32 = 400_000;

/// Fewest segments merged at once (fewer would rewrite the same passages over and over).
const MIN_MERGE_SEGMENTS: usize = 3;

/// Size ratio within one merge: its largest segment has at most this many times the passages
/// of its smallest, so a one-note change does not rewrite the segments beside it.
const MERGE_SIZE_RATIO: u32 = 4;

/// Merges that run at once. Each maps the segments it reads, and the pages it reads stay
/// resident until it ends; tantivy's default of four let the merges after re-indexing every
/// note of a 2 GB project hold over a gigabyte.
const MERGE_THREADS: usize = 1;

/// The merge policy: a segment of which half or more of the passages were deleted (its notes
/// re-indexed) is rewritten on its own, so that no merge reads many segments of mostly deleted
/// passages at once; other segments merge with segments of similar size, at least
/// [`MIN_MERGE_SEGMENTS`] at a time, into segments of at most [`MAX_MERGED_PASSAGES`] live
/// passages. Passages deleted from a segment no longer count, so a segment thinned by
/// re-indexed notes comes back into play.
#[derive(Debug)]
struct BoundedMerges;

impl tantivy::merge_policy::MergePolicy for BoundedMerges {
    fn compute_merge_candidates(
        &self,
        segments: &[tantivy::SegmentMeta],
    ) -> Vec<tantivy::merge_policy::MergeCandidate> {
        let mut out = Vec::new();
        let mut small: Vec<&tantivy::SegmentMeta> = Vec::new();
        for s in segments {
            if s.num_deleted_docs() > 0 && s.num_deleted_docs() >= s.num_docs() {
                out.push(tantivy::merge_policy::MergeCandidate(vec![s.id()]));
            } else if s.num_docs() < MAX_MERGED_PASSAGES / 2 {
                small.push(s);
            }
        }
        small.sort_by_key(|s| s.num_docs());
        let (mut group, mut first, mut total) = (Vec::new(), 0u32, 0u32);
        for s in small {
            let n = s.num_docs();
            if group.is_empty() || total + n > MAX_MERGED_PASSAGES || n > first.max(1) * MERGE_SIZE_RATIO {
                if group.len() >= MIN_MERGE_SEGMENTS {
                    out.push(tantivy::merge_policy::MergeCandidate(std::mem::take(&mut group)));
                }
                group.clear();
                (first, total) = (n, 0);
            }
            group.push(s.id());
            total += n;
        }
        if group.len() >= MIN_MERGE_SEGMENTS {
            out.push(tantivy::merge_policy::MergeCandidate(group));
        }
        out
    }
}

/// An update of the index in progress (see [`SearchIndex::begin_update`]).
pub struct Update<'a> {
    idx: &'a mut SearchIndex,
    opts: WriterOptions,
    /// Opened at the first change.
    writer: Option<IndexWriter<TantivyDocument>>,
    /// Where the stemmer puts the words it meets while the writer is open.
    words: Option<schema::WordSink>,
    /// Paths of the notes the batches had.
    seen: BTreeSet<String>,
    /// Paths of the notes the batches could not read.
    skipped: BTreeSet<String>,
    /// When the update began (before any note was read).
    started_ns: u128,
    /// New signatures of the notes indexed.
    signatures: Vec<(String, String)>,
    stats: UpdateStats,
    /// Only some of the notes: none is removed for want of being seen, and the time of the
    /// last whole update is kept.
    partial: bool,
}

impl Update<'_> {
    fn writer(&mut self) -> Result<&mut IndexWriter<TantivyDocument>> {
        if self.writer.is_none() {
            // The stemmer hands every word it meets to `words`, for the word list.
            let words = schema::WordSink::default();
            schema::register_tokenizers(self.idx.index.tokenizers(), Some(words.clone()));
            self.words = Some(words);
            let threads = self.opts.threads.max(1);
            let options = tantivy::indexer::IndexWriterOptions::builder()
                .num_worker_threads(threads)
                .memory_budget_per_thread(self.opts.memory_bytes / threads)
                .num_merge_threads(MERGE_THREADS)
                .build();
            let writer: IndexWriter<TantivyDocument> =
                self.idx.index.writer_with_options(options).map_err(|e| match e {
                    tantivy::TantivyError::LockFailure(..) => Error::Busy { path: self.idx.dir.clone() },
                    other => Error::Tantivy(other),
                })?;
            writer.set_merge_policy(Box::new(BoundedMerges));
            self.writer = Some(writer);
        }
        Ok(self.writer.as_mut().expect("opened above"))
    }

    /// Deletes the passages of the notes with these `doc` terms, as one operation.
    fn delete_notes(&mut self, paths: Vec<Term>) -> Result<()> {
        if !paths.is_empty() {
            self.writer()?.delete_query(Box::new(TermSetQuery::new(paths)))?;
        }
        Ok(())
    }

    /// Indexes the new and changed notes of one batch (`corpus` holds only that batch).
    /// `progress` is called with passages written.
    pub fn add(&mut self, corpus: &Corpus, progress: &(dyn Fn(u64) + Sync)) -> Result<()> {
        self.skipped.extend(corpus.skipped.iter().map(|s| s.path.clone()));
        // First the notes of the batch that changed, then one delete of the old passages of all
        // of them, then their new passages: a delete per note would keep a scoring weight (over
        // a kilobyte) per note in tantivy's delete queue until the commit, 350 MB when all 324,641
        // notes of a 2 GB project are re-indexed.
        let mut changed: Vec<usize> = Vec::new();
        let mut replaced: Vec<Term> = Vec::new();
        for (di, d) in corpus.documents.iter().enumerate() {
            let signature = d.hash.clone();
            self.seen.insert(d.path.clone());
            let before = self.idx.manifest.docs.get(&d.path);
            if before == Some(&signature) {
                self.stats.unchanged += 1;
                continue;
            }
            if before.is_some() {
                replaced.push(Term::from_field_text(self.idx.fields.doc, &d.path));
            }
            self.signatures.push((d.path.clone(), signature));
            changed.push(di);
        }
        if changed.is_empty() {
            return Ok(());
        }
        self.stats.removed += replaced.len();
        self.delete_notes(replaced)?;
        let mut written = 0u64;
        for di in changed {
            let d = &corpus.documents[di];
            let values = SearchIndex::attribute_values(d);
            let docs: Vec<TantivyDocument> =
                (0..d.passages.len()).map(|pi| self.idx.passage_doc(d, pi, &values)).collect();
            let writer = self.writer()?;
            for doc in docs {
                writer.add_document(doc)?;
                written += 1;
                if written.is_multiple_of(1024) {
                    progress(1024);
                }
            }
            self.stats.indexed += 1;
        }
        progress(written % 1024);
        self.stats.passages += usize::try_from(written).unwrap_or(usize::MAX);
        Ok(())
    }

    /// Removes the notes that no batch had, commits, and records the new state.
    pub fn finish(mut self) -> Result<UpdateStats> {
        let gone: Vec<String> = if self.partial {
            Vec::new()
        } else {
            self.idx.manifest.docs.keys().filter(|p| !self.seen.contains(*p)).cloned().collect()
        };
        let doc_field = self.idx.fields.doc;
        self.delete_notes(gone.iter().map(|path| Term::from_field_text(doc_field, path)).collect())?;
        self.stats.removed += gone.len();
        let state = State { updated_ns: self.started_ns, skipped: std::mem::take(&mut self.skipped) };
        let state_path = self.idx.dir.join(STATE);
        let state_json =
            serde_json::to_vec(&state).map_err(|e| Error::Io { path: state_path.clone(), source: e.into() })?;
        let write_state = |partial: bool| if partial { Ok(()) } else { write_atomically(&state_path, &state_json) };
        let Some(mut writer) = self.writer.take() else {
            write_state(self.partial)?;
            return Ok(std::mem::take(&mut self.stats));
        };
        writer.commit()?;
        writer.wait_merging_threads()?;
        schema::register_tokenizers(self.idx.index.tokenizers(), None);
        let words = self.words.take().unwrap_or_default();
        let words = std::mem::take(&mut *words.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
        self.idx.add_words(words)?;
        for path in &gone {
            self.idx.manifest.docs.remove(path);
        }
        for (path, signature) in std::mem::take(&mut self.signatures) {
            self.idx.manifest.docs.insert(path, signature);
        }
        self.idx.write_manifest()?;
        write_state(self.partial)?;
        self.idx.reader = OnceLock::new();
        Ok(std::mem::take(&mut self.stats))
    }
}

impl Drop for Update<'_> {
    fn drop(&mut self) {
        // An update given up half-way: the writer is dropped uncommitted, and the stemmer no
        // longer gathers words.
        if self.writer.is_some() {
            schema::register_tokenizers(self.idx.index.tokenizers(), None);
        }
    }
}

#[cfg(unix)]
fn restrict_permissions(dir: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = fs::set_permissions(dir, fs::Permissions::from_mode(0o700));
}

#[cfg(not(unix))]
fn restrict_permissions(_dir: &Path) {}

#[cfg(test)]
mod tests;
