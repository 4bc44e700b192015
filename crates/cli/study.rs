//! Loading a whole study (notes, codebook, codings) and keeping the index in step with it.

use std::collections::BTreeSet;

use anyhow::{Context, Result, bail};
use fieldnotes_coding::units::{self, Placement, Selection};
use fieldnotes_coding::{Codebook, Codings};
use fieldnotes_corpus::{Corpus, Document, Passage, Project};
use fieldnotes_index::{SearchIndex, UpdateStats, WriterOptions};

use crate::Globals;
use crate::output;

/// A loaded study.
pub struct Study {
    /// The project.
    pub project: Project,
    /// Its notes.
    pub corpus: Corpus,
    /// Its codings.
    pub codings: Codings,
}

impl Study {
    /// Loads the notes (in parallel, with a progress bar) and the codings; warns about every
    /// skipped file and unreadable ledger line, and goes on.
    pub fn load(g: &Globals) -> Result<Study> {
        let project = g.project()?;
        let corpus = load_corpus(&project, g.quiet)?;
        let codings = Codings::load(project.root())?;
        for bad in codings.bad_lines() {
            output::warn(&bad.to_string());
        }
        Ok(Study { project, corpus, codings })
    }

    /// The codebook, or an error that says how to make one.
    pub fn codebook(&self) -> Result<Codebook> {
        codebook(&self.project)
    }

    /// Finds a passage by id (`path#ordinal`), with a hint when it is not there.
    pub fn passage(&self, id: &str) -> Result<(usize, &Document, &Passage)> {
        let (path, ord) = fieldnotes_corpus::split_passage_id(id)
            .with_context(|| format!("`{id}` is not a passage id; ids look like `notes/fife/2016-03-02-board.md#3`"))?;
        let di = self
            .corpus
            .documents
            .binary_search_by(|d| d.path.as_str().cmp(path))
            .ok()
            .with_context(|| format!("no note `{path}` in the project; `fieldnotes notes --list` lists them"))?;
        let doc = &self.corpus.documents[di];
        let p = doc
            .passage(ord)
            .with_context(|| format!("`{path}` has {} passages; there is no #{ord}", doc.passages.len()))?;
        Ok((di, doc, p))
    }

    /// Places the codings on the current text.
    pub fn placement(&self) -> Placement<'_> {
        units::place(&self.corpus, &self.codings)
    }

    /// Brings the search index up to date (content and codes) and returns it, open. With
    /// `create` false, does nothing when there is no index yet.
    pub fn update_index(&self, g: &Globals, create: bool) -> Result<Option<(SearchIndex, UpdateStats)>> {
        let dir = self.project.derived_dir().join("index");
        if !create && !dir.exists() {
            return Ok(None);
        }
        let _lock = self.lock_index(g)?;
        let (mut idx, reason) = if create {
            SearchIndex::open_or_create(&dir)?
        } else {
            match SearchIndex::open(&dir)? {
                Some(idx) => (idx, None),
                None => return Ok(None),
            }
        };
        if let Some(r) = &reason {
            output::info(g.quiet, r);
        }
        let placement = self.placement();
        // The index's `code` field holds accepted and suggested codings by anyone.
        let sel = Selection { coders: vec![], include_suggested: true };
        let codes = units::passage_codes(&placement, &sel);
        let lookup = |d: usize, p: usize| -> Vec<String> {
            codes.get(&(d, p)).map(|s: &BTreeSet<String>| s.iter().cloned().collect()).unwrap_or_default()
        };
        let pb = output::progress(self.corpus.passage_count() as u64, "indexing", g.quiet || !create);
        let opts = WriterOptions::from_config(&self.project.config.index);
        let mut stats = idx.update(&self.corpus, &lookup, &opts, &|n| pb.inc(n))?;
        pb.finish_and_clear();
        stats.rebuilt = reason;
        Ok(Some((idx, stats)))
    }
}

impl Study {
    /// Takes the project's index lock (`.fieldnotes/index.lock`), waiting, with a message, while
    /// another process holds it: two `fieldnotes index` runs, or coding during one, take turns
    /// instead of failing. The lock is released when the returned file is dropped.
    fn lock_index(&self, g: &Globals) -> Result<std::fs::File> {
        let derived = self.project.derived_dir();
        std::fs::create_dir_all(&derived).with_context(|| format!("cannot create `{}`", derived.display()))?;
        let path = derived.join("index.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open `{}`", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                output::info(g.quiet, "another fieldnotes process is updating the index; waiting for it to finish");
                file.lock().with_context(|| format!("cannot lock `{}`", path.display()))?;
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock `{}`", path.display()));
            }
        }
        Ok(file)
    }
}

/// The project's codebook, or an error that says how to make one.
pub fn codebook(project: &Project) -> Result<Codebook> {
    let path = project.codebook_path();
    if !path.exists() {
        bail!(
            "no codebook at `{}`; copy one in (e.g. `data/codebooks/wws-considerations.toml`) or run `fieldnotes init`",
            project.relative(&path)
        );
    }
    Ok(Codebook::load(&path)?)
}

/// The warning for a note that was not loaded.
pub fn skip_warning(s: &fieldnotes_corpus::Skipped) -> String {
    format!("skipped `{}`: {}", s.path, s.reason)
}

/// Loads the notes with a progress bar, warning about each skipped file.
pub fn load_corpus(project: &Project, quiet: bool) -> Result<Corpus> {
    let (files, walk_skipped) = project.note_files()?;
    let pb = output::progress(files.len() as u64, "reading", quiet);
    let corpus = project.load_files(&files, walk_skipped, &|_| pb.inc(1));
    pb.finish_and_clear();
    for s in &corpus.skipped {
        output::warn(&skip_warning(s));
    }
    Ok(corpus)
}
