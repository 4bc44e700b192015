//! Writing the index: the writer's settings, an update a batch of notes at a time, and the
//! words of attribute values as terms.

use super::*;

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

/// Adds the words of one attribute value to the `values` field, as `key=word` terms.
pub(crate) fn add_value_words(doc: &mut TantivyDocument, field: Field, key: &str, value: &str) {
    if let Some(v) = value_words(key, value) {
        doc.add_pre_tokenized_text(field, v);
    }
}

/// The words of one attribute value as `key=word` terms, pre-tokenized; `None` if it has none.
pub(crate) fn value_words(key: &str, value: &str) -> Option<PreTokenizedString> {
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

/// An update of the index in progress (see [`SearchIndex::begin_update`]).
pub struct Update<'a> {
    pub(crate) idx: &'a mut SearchIndex,
    pub(crate) opts: WriterOptions,
    /// Opened at the first change.
    pub(crate) writer: Option<IndexWriter<TantivyDocument>>,
    /// Where the stemmer puts the words it meets while the writer is open.
    pub(crate) words: Option<schema::WordSink>,
    /// Paths of the notes the batches had.
    pub(crate) seen: BTreeSet<String>,
    /// Paths of the notes the batches could not read.
    pub(crate) skipped: BTreeSet<String>,
    /// Why the notes skipped for other reasons than being empty could not be read.
    pub(crate) unread: BTreeMap<String, String>,
    /// When the update began (before any note was read).
    pub(crate) started_ns: u128,
    /// New signatures of the notes indexed.
    pub(crate) signatures: Vec<(String, String)>,
    pub(crate) stats: UpdateStats,
    /// Only some of the notes: none is removed for want of being seen, and the time of the
    /// last whole update is kept.
    pub(crate) partial: bool,
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
        self.unread.extend(
            corpus
                .skipped
                .iter()
                .filter(|s| !matches!(s.reason, fieldnotes_corpus::SkipReason::Empty))
                .map(|s| (s.path.clone(), s.reason.to_string())),
        );
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
        let state = State {
            updated_ns: self.started_ns,
            skipped: std::mem::take(&mut self.skipped),
            unread: std::mem::take(&mut self.unread),
        };
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
