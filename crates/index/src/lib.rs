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
mod manifest;
mod merge;
pub mod query;
pub mod quickwit;
pub mod schema;
mod search;
mod writer;

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
use manifest::*;
pub use manifest::{MANIFEST, STATE, Staleness, WORDS};
pub use merge::MAX_MERGED_PASSAGES;
use merge::*;
pub use query::{Ast, SyntaxError, lowercase_operators, parse, quoted_wildcards};
pub use schema::{Fields, SCHEMA_VERSION};
pub use search::{Hit, HitView, SearchOptions, SearchResults, Unknown, UnknownKind, closest};
use writer::*;
pub use writer::{Update, WriterOptions};

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
    #[error(transparent)]
    Syntax(#[from] SyntaxError),
    /// An error from tantivy.
    #[error("search index: {0}{hint}", hint = tantivy_hint(.0))]
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

/// What to do about an error of the search index: it is derived from the notes, so a damaged
/// one is made again; one that cannot be locked sits in a folder the command cannot write.
fn tantivy_hint(e: &tantivy::TantivyError) -> &'static str {
    match e {
        tantivy::TantivyError::LockFailure(..) => {
            "\nhint: the index's lock file could not be taken: `.fieldnotes/` must be writable (it holds only what the notes and ledgers make again)"
        }
        tantivy::TantivyError::InvalidArgument(_) | tantivy::TantivyError::SchemaError(_) => "",
        _ => {
            "\nhint: the search index (`.fieldnotes/index/`) is made from the notes alone; if it is damaged, `fieldnotes index --rebuild` makes it again"
        }
    }
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
        // Each segment's files opened as a search opens them: one cut short (a crash, a full
        // disk) is found by the update, which makes the index again, rather than by the next
        // search. (A search that meets one says to run `fieldnotes index --rebuild`.)
        let readable = |(index, manifest): (Index, Manifest)| {
            let opened: tantivy::Result<IndexReader> =
                index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into();
            match opened {
                Ok(_) => Ok((index, manifest)),
                Err(e) => Err(format!("its files are damaged ({e})")),
            }
        };
        let (index, manifest, reason) = match open_existing(dir).and_then(readable) {
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

    /// The codes (lower-cased) some passage carries, suggestions counted with
    /// `include_suggested`, as [`SearchIndex::set_codes`] gave them.
    pub fn code_names(&self, include_suggested: bool) -> std::collections::BTreeSet<String> {
        self.codes.names(include_suggested)
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
            unread: BTreeMap::new(),
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

    /// What [`SearchIndex::staleness`] reads of the index, in one string: the size and
    /// modification time of its state, its manifest and tantivy's `meta.json`. Equal strings
    /// mean the same index, as far as staleness goes.
    pub fn stamp(&self) -> String {
        [STATE, MANIFEST, "meta.json"]
            .iter()
            .map(|f| {
                let (len, t) = fieldnotes_corpus::file_stamp(&self.dir.join(f));
                format!("{f} {len} {t}")
            })
            .collect::<Vec<_>>()
            .join("; ")
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

    /// The notes the last update could not read (other than empty ones), with why: they are in
    /// no search or count until they are mended.
    pub fn unread_notes(&self) -> BTreeMap<String, String> {
        fs::read_to_string(self.dir.join(STATE))
            .ok()
            .and_then(|t| serde_json::from_str::<State>(&t).ok())
            .map(|s| s.unread)
            .unwrap_or_default()
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
            }
            // The year every table groups by: a date's, or a year written alone.
            if key == "date"
                && let Some(y) = value.year()
            {
                doc.add_u64(f.year, u64::try_from(y).unwrap_or(0));
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

fn now_ns() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
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
