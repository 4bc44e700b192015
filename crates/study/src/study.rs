//! Loading a whole study (notes, codebook, codings) and keeping the index in step with it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use fieldnotes_coding::ledger::{Coding, Event, Ledger, now};
use fieldnotes_coding::units::{self, Placement};
use fieldnotes_coding::versions::{self, Traced};
use fieldnotes_coding::{Anchorer, Codebook, CodingTable, Codings, TableParts, Versions};
use fieldnotes_corpus::{Corpus, Document, Passage, PassageRef, Project, text_hash};
use fieldnotes_index::{SearchIndex, UpdateStats, WriterOptions};
use rayon::prelude::*;

use crate::Tell;

/// A loaded study.
pub struct Study {
    /// The project.
    pub project: Project,
    /// Its notes.
    pub corpus: Corpus,
    /// Its codings.
    pub codings: Codings,
    /// What was loaded: the whole study, or a part of it for a command that needs no more.
    pub scope: Scope,
    /// The codebook, once read ([`Study::codebook`]).
    book: std::sync::OnceLock<Codebook>,
}

/// What part of a study was loaded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every note and every ledger.
    Whole,
    /// The notes some coders may all have coded or reviewed in, and every coding on them
    /// ([`shared_notes`], [`Study::load_notes`]).
    Notes,
    /// One note and the codings on it ([`Study::load_note`]).
    Note,
    /// Some coders' ledgers and the notes their codings are on ([`Study::load_coders`]).
    Coders,
}

impl Study {
    /// Loads the notes (in parallel, with a progress bar) and the codings; warns about every
    /// skipped file and unreadable ledger line, and goes on.
    pub fn load(project: Project, tell: &dyn Tell) -> Result<Study> {
        let corpus = load_corpus(&project, tell)?;
        let codings = warn_bad_lines(Codings::load(project.root())?, tell);
        Ok(Study { project, corpus, codings, scope: Scope::Whole, book: Default::default() })
    }

    /// Loads the note of passage `id` and the codings on it (read through the coding state, not
    /// the whole ledgers), for a command about one passage: it answers in milliseconds however
    /// large the project. An id that names no note of the project loads the whole study, so
    /// that [`Study::passage`] can say what is wrong.
    pub fn load_note(project: Project, id: &str, tell: &dyn Tell) -> Result<Study> {
        let Some(file) = fieldnotes_corpus::split_passage_id(id).and_then(|(path, _)| project.note_file(path)) else {
            return Study::load(project, tell);
        };
        let path = project.relative(&file);
        let corpus = read_notes(&project, vec![file], tell);
        let codings = warn_bad_lines(Codings::load_doc(project.root(), &project.derived_dir(), &path)?, tell);
        Ok(Study { project, corpus, codings, scope: Scope::Note, book: Default::default() })
    }

    /// Loads the ledgers of `coders` only and the notes their codings are on, for a command that
    /// looks at those coders' codings alone (`code list --coder hb`). A note named by a coding but
    /// gone is left out, and its codings are orphans, as in the whole study.
    pub fn load_coders(project: Project, coders: &[String], tell: &dyn Tell) -> Result<Study> {
        let codings = warn_bad_lines(Codings::load_coders(project.root(), coders)?, tell);
        let notes: BTreeSet<&str> = codings.iter().map(|c| c.doc.as_str()).collect();
        let corpus = read_notes(&project, project.note_files_of(notes), tell);
        Ok(Study { project, corpus, codings, scope: Scope::Coders, book: Default::default() })
    }

    /// Loads notes `paths` (as the project names them) with all the codings on them: for
    /// agreement and `code eval`, the notes [`shared_notes`] gives, when they are few.
    pub fn load_notes(project: Project, paths: &[String], tell: &dyn Tell) -> Result<Study> {
        let corpus = read_notes(&project, project.note_files_of(paths.iter().map(String::as_str)), tell);
        let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
        let codings = warn_bad_lines(Codings::load_docs(project.root(), &project.derived_dir(), &paths)?, tell);
        Ok(Study { project, corpus, codings, scope: Scope::Notes, book: Default::default() })
    }

    /// The codebook, or an error that says how to make one; read once for the study (as its
    /// notes and codings are), however many of its methods ask for it: `code add` read and
    /// checked it twice, 15-20 -> 10-11 ms at 100 MB.
    pub fn codebook(&self) -> Result<Codebook> {
        if let Some(book) = self.book.get() {
            return Ok(book.clone());
        }
        let book = codebook(&self.project)?;
        Ok(self.book.get_or_init(|| book).clone())
    }

    /// Finds a passage by id (`path#key`, or `path#ordinal` as typed by hand), with a hint when
    /// it is not there. A key of an earlier version of the note is traced through the kept
    /// versions: to the same passage, edited (said on stderr, with its id now), or to an error
    /// that says where its words went. It never names another passage.
    pub fn passage(&self, id: &str, tell: &dyn Tell) -> Result<(usize, &Document, &Passage)> {
        let (path, r) = fieldnotes_corpus::split_passage_id(id).with_context(|| {
            format!("`{id}` is not a passage id; ids look like `notes/fife/2016-03-02-board.md#kq3x7fa2` (or `…md#3` for the third passage)")
        })?;
        let Ok(di) = self.corpus.documents.binary_search_by(|d| d.path.as_str().cmp(path)) else {
            // A note that is there but could not be read is not missing: say why, and that
            // mending it brings its passages (and codings) back.
            if let Some(s) = self.corpus.skipped.iter().find(|s| s.path == path) {
                bail!("note `{path}` could not be read: {}; mend it and its passages and codings come back", s.reason);
            }
            bail!("no note `{path}` in the project; `fieldnotes notes --list` lists them");
        };
        let doc = &self.corpus.documents[di];
        if let Some(p) = doc.find_passage(r) {
            return Ok((di, doc, p));
        }
        let key = match r {
            PassageRef::Ordinal(n) => bail!("`{path}` has {} passages; there is no #{n}", doc.passages.len()),
            PassageRef::Key(k) => k,
        };
        let versions = Versions::new(&self.project.derived_dir());
        let mut of = versions.history(path);
        of.extend(self.codings.iter().filter(|c| c.doc == path).filter_map(|c| c.base.clone()));
        let Some(trace) = versions::trace_key(key, doc, &versions, &of, &self.project) else {
            // A key mistyped by a character or two (or two swapped) is most likely one of these.
            let typed = id.rsplit_once('#').map_or("", |(_, k)| k).to_lowercase();
            let near: Vec<String> = doc
                .passages
                .iter()
                .map(|p| doc.passage_id(p))
                .filter(|pid| pid.rsplit_once('#').is_some_and(|(_, k)| nearly(&typed, k)))
                .map(|pid| format!("`{pid}`"))
                .collect();
            if !near.is_empty() {
                bail!(
                    "`{id}` names no passage of `{path}`, now or in a kept version of it; did you mean {}?",
                    near.join(" or ")
                );
            }
            let hint = format!("`fieldnotes show {path}#1` shows the note's first passage and its id");
            bail!(
                "`{id}` names no passage of `{path}` as it is now: its words were edited or removed since the id \
                 was printed, and no kept version of the note has them (versions are kept of notes with codings); \
                 {hint}"
            )
        };
        let old = crate::clip(&trace.old, 80);
        match trace.to {
            Traced::Now(i) => {
                let p = &doc.passages[i];
                tell.warn(&format!(
                    "`{id}` named this passage in an earlier version of the note; its id is now `{}` (line {})",
                    doc.passage_id(p),
                    p.line
                ));
                Ok((di, doc, p))
            }
            Traced::Spread(is) => {
                let ids: Vec<String> = is.iter().map(|&i| format!("`{}`", doc.passage_id(&doc.passages[i]))).collect();
                bail!(
                    "`{id}` named a passage that has since been split or joined to another (it read \"{old}\"); \
                     its words are now in {}: use the id you mean",
                    ids.join(", ")
                )
            }
            Traced::Gone { near } => {
                let at = near
                    .map(|i| format!("; they stood where `{}` is now", doc.passage_id(&doc.passages[i])))
                    .unwrap_or_default();
                bail!("`{id}` named a passage whose words are gone from the note (it read \"{old}\"){at}")
            }
        }
    }

    /// What a table over the loaded study leaves out under `sel` ([`left_out_in`]).
    pub fn left_out(&self, placement: &Placement<'_>, sel: &units::Selection) -> fieldnotes_report::store::LeftOut {
        left_out_in(&self.corpus, placement, sel)
    }

    /// Places the codings on the current text, following the notes' edits.
    pub fn placement(&self) -> Placement<'_> {
        units::place(&self.corpus, &self.codings, &mut anchorer(&self.project))
    }

    /// Brings the search index up to date with the notes and returns it, open. With `create`
    /// false, does nothing when there is no index yet. Codes are not in the index: search hands
    /// them over from the report store.
    pub fn update_index(&self, tell: &dyn Tell, create: bool) -> Result<Option<(SearchIndex, UpdateStats)>> {
        let dir = self.project.derived_dir().join("index");
        if !create && !dir.exists() {
            return Ok(None);
        }
        let _lock = lock_index(&self.project, tell)?;
        let (mut idx, reason) = if create {
            SearchIndex::open_or_create(&dir)?
        } else {
            match SearchIndex::open(&dir)? {
                Some(idx) => (idx, None),
                None => return Ok(None),
            }
        };
        if let Some(r) = &reason {
            tell.info(r);
        }
        let opts = WriterOptions::from_config(&self.project.config.index);
        if self.scope != Scope::Whole {
            // Some notes: re-indexed on their own if they changed, the others left as they are.
            let mut stats = idx.update_notes(&self.corpus, &opts)?;
            stats.rebuilt = reason;
            return Ok(Some((idx, stats)));
        }
        let pb = if create {
            tell.progress(self.corpus.passage_count() as u64, "indexing")
        } else {
            indicatif::ProgressBar::hidden()
        };
        let mut stats = idx.update(&self.corpus, &opts, &|n| pb.inc(n))?;
        pb.finish_and_clear();
        stats.rebuilt = reason;
        Ok(Some((idx, stats)))
    }
}

/// What a table over `corpus` (a study's notes, or a batch of them) with its codings'
/// `placement` leaves out under `sel`, as the report store counts it: every coding in a note
/// that could not be read, and the orphans of notes that were read that `sel` would have
/// counted.
pub fn left_out_in(
    corpus: &Corpus,
    placement: &Placement<'_>,
    sel: &units::Selection,
) -> fieldnotes_report::store::LeftOut {
    let unread: std::collections::HashSet<&str> = corpus.skipped.iter().map(|s| s.path.as_str()).collect();
    let (in_unread, orphans): (Vec<_>, Vec<_>) =
        placement.orphans.iter().partition(|o| unread.contains(o.coding.doc.as_str()));
    fieldnotes_report::store::LeftOut {
        notes: corpus.skipped.iter().map(|s| format!("`{}`: {}", s.path, s.reason)).collect(),
        in_unread: in_unread.iter().filter(|o| sel.admits(o.coding)).count(),
        orphans: orphans.iter().filter(|o| sel.admits(o.coding)).count(),
        of_gone_notes: orphans
            .iter()
            .filter(|o| corpus.document(&o.coding.doc).is_none() && sel.admits(o.coding))
            .count(),
    }
}

/// Whether passage key `b` is `a` mistyped: the same length, one or two characters different (two
/// neighbours swapped among them). Two random keys are that close about once in 1.6 million.
fn nearly(a: &str, b: &str) -> bool {
    a.chars().count() == b.chars().count()
        && (1..=2).contains(&a.chars().zip(b.chars()).filter(|(x, y)| x != y).count())
}

/// Warns of each ledger line that could not be read, and hands the codings back.
fn warn_bad_lines(codings: Codings, tell: &dyn Tell) -> Codings {
    for bad in codings.bad_lines() {
        tell.warn(&bad.to_string());
    }
    codings
}

/// Notes past which a command about some coders' notes (`agree`, `code eval`, `code list
/// --coder`) reads them a batch at a time ([`place_notes_in_batches`], [`place_in_batches`])
/// rather than all at once: the rules' 210,000 suggestions on 100 MB of notes took 788 MB for
/// `code list --coder rules` read at once (every note's text, and each listed coding's words,
/// held to the end), and `agree` with a reviewer of 14,700 notes 1.15 GB.
pub const NOTES_AT_ONCE: usize = 2_000;

/// The notes that every one of `coders` may have coded or reviewed codings in, from the coding
/// states' tables of notes, sorted: what agreement between those coders is computed from, and,
/// for one coder, what `code eval` measures against. `None` when the states cannot tell (a
/// ledger line that names no note), when a coder is known nowhere, or when no note is shared:
/// the whole study is then loaded, which gives the exact answer or message.
pub fn shared_notes(project: &Project, coders: &[String]) -> Result<Option<Vec<String>>> {
    let ledgers = fieldnotes_coding::Ledger::all(project.root())?;
    let states = fieldnotes_coding::state::States::new(&project.derived_dir());
    let mut tables = Vec::new();
    for l in &ledgers {
        match states.notes(l)? {
            Some(notes) => tables.push((l.coder().to_string(), notes)),
            None => return Ok(None),
        }
    }
    // The notes a coder may have touched: those of their ledger, and those where they
    // reviewed a coding of another's.
    let touched = |c: &str| -> BTreeSet<&str> {
        tables
            .iter()
            .flat_map(|(coder, notes)| {
                notes.iter().filter(move |(_, who)| coder == c || who.contains(c)).map(|(p, _)| p.as_str())
            })
            .collect()
    };
    let mut shared: Option<BTreeSet<&str>> = None;
    for c in coders {
        let t = touched(c);
        if t.is_empty() {
            return Ok(None);
        }
        shared = Some(match shared {
            None => t,
            Some(s) => s.intersection(&t).copied().collect(),
        });
    }
    let shared: Vec<String> = shared.unwrap_or_default().into_iter().map(str::to_string).collect();
    Ok((!shared.is_empty()).then_some(shared))
}

/// The study's codings placed on its notes a batch of notes at a time ([`read_in_batches`], the
/// next batch read ahead), each batch's codings read through the coding states rather than the
/// whole ledgers: memory holds two batches and their codings however large the project (a whole
/// study loaded at once took 8.6 GB for `code check` at 2 GB of notes). `each` gets every batch
/// of notes with their codings (as [`Codings::load`] has them for those notes, without the
/// ledgers' unreadable lines) and the placement of those, in the order of the notes; last, a
/// batch without notes, holding every note that could not be read (`Corpus::skipped`, which
/// the batches before leave empty), with the codings of notes that are gone or could not be
/// read, every one an orphan, as the whole study places them. Returns the ledgers' unreadable
/// lines, warned of once.
pub fn place_in_batches(
    project: &Project,
    tell: &dyn Tell,
    each: impl FnMut(&Corpus, &Codings, &Placement<'_>) -> Result<()>,
) -> Result<Vec<fieldnotes_coding::ledger::BadLine>> {
    // The notes the ledgers have codings in (a superset: a note whose codings were all removed
    // may be among them), from the states' tables; from the whole ledgers if a state cannot tell.
    let states = fieldnotes_coding::state::States::new(&project.derived_dir());
    let mut coded: BTreeSet<String> = BTreeSet::new();
    for l in fieldnotes_coding::Ledger::all(project.root())? {
        match states.notes(&l)? {
            Some(notes) => coded.extend(notes.into_keys()),
            None => coded.extend(l.read()?.current().map(|c| c.doc.clone())),
        }
    }
    place_files_in_batches(project, || note_files(project, tell), &coded, tell, each)
}

/// [`place_in_batches`] of notes `paths` alone (as the project names them; each has codings, or
/// had): what agreement over many shared notes reads ([`Study::load_notes`] reads them at once).
pub fn place_notes_in_batches(
    project: &Project,
    paths: &[String],
    tell: &dyn Tell,
    each: impl FnMut(&Corpus, &Codings, &Placement<'_>) -> Result<()>,
) -> Result<Vec<fieldnotes_coding::ledger::BadLine>> {
    let coded: BTreeSet<String> = paths.iter().cloned().collect();
    let files = || Ok((project.note_files_of(paths.iter().map(String::as_str)), Vec::new()));
    place_files_in_batches(project, files, &coded, tell, each)
}

/// [`place_in_batches`] of the note files `files` lists (with those the walk could not read,
/// warned of already), once the ledgers' unreadable lines are warned of; the codings read for
/// notes `coded` only.
fn place_files_in_batches(
    project: &Project,
    files: impl FnOnce() -> Result<(Vec<PathBuf>, Vec<fieldnotes_corpus::Skipped>)>,
    coded: &BTreeSet<String>,
    tell: &dyn Tell,
    mut each: impl FnMut(&Corpus, &Codings, &Placement<'_>) -> Result<()>,
) -> Result<Vec<fieldnotes_coding::ledger::BadLine>> {
    let (root, derived) = (project.root(), project.derived_dir());
    let bad: Vec<fieldnotes_coding::ledger::BadLine> =
        Codings::load_docs(root, &derived, &[])?.bad_lines().cloned().collect();
    for b in &bad {
        tell.warn(&b.to_string());
    }
    let load = |docs: &[&str]| -> Result<Codings> {
        let mut codings = Codings::load_docs(root, &derived, docs)?;
        for l in codings.ledgers.values_mut() {
            l.bad_lines.clear();
        }
        Ok(codings)
    };
    let (files, mut skipped) = files()?;
    let pb = tell.progress(files.len() as u64, "reading");
    let mut read: BTreeSet<String> = BTreeSet::new();
    read_in_batches(project, &files, tell, &|_| pb.inc(1), true, |mut corpus| {
        skipped.append(&mut corpus.skipped);
        let paths: Vec<&str> =
            corpus.documents.iter().map(|d| d.path.as_str()).filter(|p| coded.contains(*p)).collect();
        let codings = if paths.is_empty() { Codings::default() } else { load(&paths)? };
        read.extend(corpus.documents.iter().map(|d| d.path.clone()));
        let placement = units::place(&corpus, &codings, &mut anchorer(project));
        each(&corpus, &codings, &placement)
    })?;
    pb.finish_and_clear();
    let gone: Vec<&str> = coded.iter().map(String::as_str).filter(|p| !read.contains(*p)).collect();
    let codings = if gone.is_empty() { Codings::default() } else { load(&gone)? };
    skipped.sort_by(|a, b| a.path.cmp(&b.path));
    let unread = Corpus { documents: Vec::new(), skipped };
    let placement = units::place(&unread, &codings, &mut anchorer(project));
    each(&unread, &codings, &placement)?;
    Ok(bad)
}

/// Reads some of the project's note files into a corpus (sorted by path, as the whole
/// project's is), warning of each that cannot be read.
fn read_notes(project: &Project, files: Vec<PathBuf>, tell: &dyn Tell) -> Corpus {
    let corpus = project.load_files(&files, Vec::new(), &|_| {});
    for s in &corpus.skipped {
        tell.warn(&skip_warning(s));
    }
    corpus
}

/// The project's codings as a compact table (what `index`, `code auto` and building the report
/// store need of them), read through the coding states, with a warning for every unreadable
/// ledger line.
pub fn coding_table(project: &Project, tell: &dyn Tell) -> Result<CodingTable> {
    let table = CodingTable::from_states(project.root(), &project.derived_dir())?;
    for bad in table.bad_lines() {
        tell.warn(&bad.to_string());
    }
    Ok(table)
}

/// The project's codings ready to be read a batch of notes at a time ([`batch_table`]), through
/// the coding states, with a warning for every unreadable ledger line: what a command that
/// reads every note holds instead of the whole [`coding_table`].
pub fn coding_parts(project: &Project, tell: &dyn Tell) -> Result<TableParts> {
    let parts = TableParts::open(project.root(), &project.derived_dir())?;
    for bad in parts.bad_lines() {
        tell.warn(&bad.to_string());
    }
    Ok(parts)
}

/// The codings of a batch of notes (those read and those that could not be), with a warning
/// for any whose offsets do not fit.
pub fn batch_table(parts: &TableParts, corpus: &Corpus, tell: &dyn Tell) -> Result<CodingTable> {
    let docs: Vec<&str> = corpus
        .documents
        .iter()
        .map(|d| d.path.as_str())
        .chain(corpus.skipped.iter().map(|s| s.path.as_str()))
        .collect();
    let table = parts.table_of(&docs)?;
    for bad in table.bad_lines() {
        tell.warn(&bad.to_string());
    }
    Ok(table)
}

/// The project's note files, and those the walk could not read, each warned of.
pub fn note_files(project: &Project, tell: &dyn Tell) -> Result<(Vec<PathBuf>, Vec<fieldnotes_corpus::Skipped>)> {
    let (files, walk_skipped) = project.note_files()?;
    for s in &walk_skipped {
        tell.warn(&skip_warning(s));
    }
    Ok((files, walk_skipped))
}

/// Reads `files` (the project's notes) a batch at a time (about `[index] batch_mb` each), so
/// that memory stays flat however large the project, warning about every skipped file, and
/// hands each batch to `each`, in order. With `ahead`, the next batch is read while `each` works
/// on one (two batches held), so that reading fills the time `each` spends on one core, writing
/// or waiting on the disk: `code auto` 2.15 -> 1.95 s at 100 MB. `index` does not read ahead:
/// its writer holds memory of its own, and at 2 GB of notes the second batch took `index
/// --rebuild` from 1.23 to 1.33 GB for 2% of its time. `progress` is told of each file read,
/// with 1.
pub fn read_in_batches(
    project: &Project,
    files: &[PathBuf],
    tell: &dyn Tell,
    progress: &(dyn Fn(u64) + Sync),
    ahead: bool,
    each: impl FnMut(Corpus) -> Result<()>,
) -> Result<()> {
    read_sized_batches(project, files, None, tell, progress, ahead, each)
}

/// The project's note files, in order, with their sizes when a walk made anyway gave them.
pub struct NoteFiles {
    /// The files, in the order [`note_files`] lists them.
    pub files: Vec<PathBuf>,
    /// Each one's size, in bytes.
    pub sizes: Option<Vec<u64>>,
}

impl NoteFiles {
    /// The note files of the walk that `stats` came from, if there was one and it read every
    /// path ([`Project::note_files_in`]); else a walk of its own ([`note_files`]), whose skipped
    /// paths are told and returned.
    pub fn of(
        project: &Project,
        stats: Option<&fieldnotes_corpus::NoteStats>,
        tell: &dyn Tell,
    ) -> Result<(NoteFiles, Vec<fieldnotes_corpus::Skipped>)> {
        if let Some((files, sizes)) = stats.and_then(|s| project.note_files_in(s)) {
            return Ok((NoteFiles { files, sizes: Some(sizes) }, Vec::new()));
        }
        let (files, skipped) = note_files(project, tell)?;
        Ok((NoteFiles { files, sizes: None }, skipped))
    }
}

/// [`read_in_batches`] of `files`, their `sizes` taken only if not given.
pub fn read_sized_batches(
    project: &Project,
    files: &[PathBuf],
    sizes: Option<&[u64]>,
    tell: &dyn Tell,
    progress: &(dyn Fn(u64) + Sync),
    ahead: bool,
    each: impl FnMut(Corpus) -> Result<()>,
) -> Result<()> {
    read_batches_of(project, files, sizes, project.config.index.batch_mb, tell, progress, ahead, each)
}

/// [`read_sized_batches`] in batches of about `batch_mb` (at least 1) rather than the project's
/// `[index] batch_mb`.
#[allow(clippy::too_many_arguments)]
pub fn read_batches_of(
    project: &Project,
    files: &[PathBuf],
    sizes: Option<&[u64]>,
    batch_mb: usize,
    tell: &dyn Tell,
    progress: &(dyn Fn(u64) + Sync),
    ahead: bool,
    mut each: impl FnMut(Corpus) -> Result<()>,
) -> Result<()> {
    let batch_bytes = (batch_mb.max(1) as u64) << 20;
    // The sizes taken on every core: one `stat` after another was 1.5 us a note before the
    // first was read (half a second at 2 GB of notes).
    let taken: Vec<u64>;
    let mut sizes = match sizes {
        Some(s) => s,
        None => {
            taken = files.par_iter().map(|f| std::fs::metadata(f).map_or(0, |m| m.len())).collect();
            &taken
        }
    };
    let mut batches = Vec::new();
    let mut rest = files;
    while !rest.is_empty() {
        let (mut n, mut bytes) = (0, 0u64);
        while n < rest.len() && (n == 0 || bytes < batch_bytes) {
            bytes += sizes[n];
            n += 1;
        }
        sizes = &sizes[n..];
        let (batch, next) = rest.split_at(n);
        batches.push(batch);
        rest = next;
    }
    let load = |batch: &[PathBuf]| project.load_files(batch, Vec::new(), progress);
    let mut batches = batches.into_iter();
    let mut dates = UnreadDates::default();
    std::thread::scope(|scope| {
        let mut next = batches.next().map(load);
        while let Some(corpus) = next.take() {
            let reading = if ahead { batches.next().map(|b| scope.spawn(move || load(b))) } else { None };
            for s in &corpus.skipped {
                tell.warn(&skip_warning(s));
            }
            dates.note(&corpus);
            each(corpus)?;
            next = match reading {
                Some(handle) => {
                    Some(handle.join().map_err(|_| anyhow::anyhow!("internal: reading a batch of notes failed"))?)
                }
                None => batches.next().map(load),
            };
        }
        dates.tell(tell);
        Ok(())
    })
}

/// The notes read whose `date` no search or table reads ([`Document::unread_date`]), told in one
/// warning once every note is read.
#[derive(Default)]
pub struct UnreadDates {
    /// `path:line` and the date as written, the first few.
    shown: Vec<String>,
    count: usize,
}

impl UnreadDates {
    /// Notes `corpus`'s notes with such a date.
    pub fn note(&mut self, corpus: &Corpus) {
        for d in &corpus.documents {
            if let Some((line, text)) = d.unread_date() {
                self.count += 1;
                if self.shown.len() < 5 {
                    self.shown.push(format!("`{}:{line}` `{text}`", d.path));
                }
            }
        }
    }

    /// The warning, if a note had such a date.
    pub fn warning(&self) -> Option<String> {
        (self.count > 0).then(|| {
            format!(
                "{} note(s) give a `date` that is not a day ({}): they have no date or year in searches and tables (`--by year` counts them under (none), `date:2016` does not find them) (hint: write dates as YYYY-MM-DD, `date: 2016-07-08`, or a year alone, `date: 2016`)",
                self.count,
                crate::first_few(&self.shown, self.shown.len(), self.count, ", ")
            )
        })
    }

    /// Tells the warning, if any.
    pub fn tell(&self, tell: &dyn Tell) {
        if let Some(w) = self.warning() {
            tell.warn(&w);
        }
    }
}

/// Builds or updates the index reading the notes a batch at a time ([`read_in_batches`]): each
/// batch is parsed, its new and changed notes handed to the writer, its codings placed for the
/// report store (made again in the same pass), with `record_moves` the new places of codings in
/// edited notes appended to their ledgers, and dropped. What `fieldnotes index` runs, and a
/// search that finds no index; `before` is where the project stood before `codings` was opened.
pub fn index_in_batches(
    project: &Project,
    codings: &TableParts,
    mut before: crate::store::Before,
    tell: &dyn Tell,
    record_moves: bool,
) -> Result<UpdateStats> {
    let _lock = lock_index(project, tell)?;
    let (mut idx, reason) = SearchIndex::open_or_create(&project.derived_dir().join("index"))?;
    if let Some(r) = &reason {
        tell.info(r);
    }
    let opts = WriterOptions::from_config(&project.config.index);
    // The notes as this update finds them: a later search that finds other notes, though none
    // is newer than the update (a copy that kept old dates), knows the index is behind.
    let walked = before.notes_fingerprint();
    let (files, walk_skipped) = NoteFiles::of(project, before.take_notes().as_ref(), tell)?;
    let mut store = crate::store::StoreBuild::start(before, codings, &walk_skipped)?;
    let pb = tell.progress(files.files.len() as u64, "indexing");
    let mut update = idx.begin_update(&opts);
    let mut moved = 0;
    let mut spread: Vec<String> = Vec::new();
    read_sized_batches(project, &files.files, files.sizes.as_deref(), tell, &|n| pb.inc(n), false, |corpus| {
        update.add(&corpus, &|_| {})?;
        let table = batch_table(codings, &corpus, tell)?;
        // One anchorer for the batch: each edited note is compared with its old version once.
        let mut anchoring = anchorer(project);
        store.add(&corpus, &table, &[], &mut anchoring);
        // Codings of notes edited since they were made are recorded at their new place.
        if record_moves {
            moved += self::record_moves(project, &corpus, &table, &mut anchoring, &mut spread)?;
        }
        Ok(())
    })?;
    let mut stats = update.finish()?;
    if let Some(fp) = walked {
        crate::search::record_fresh(project, fp, &idx);
    }
    store.finish(project, codings, tell)?;
    pb.finish_and_clear();
    stats.rebuilt = reason;
    if moved > 0 {
        tell.info(&format!("recorded the new place of {moved} coding(s) in edited notes"));
    }
    // Recorded, their new version is the one they count in: said now, or never.
    if !spread.is_empty() {
        tell.warn(&format!(
            "{} coding(s) cover more passages than in the version they were made on (a paragraph split?), and count in each: {} (`fieldnotes code move ID PASSAGE` puts one on one passage)",
            spread.len(),
            crate::first_few(&spread, 3, spread.len(), ", ")
        ));
    }
    Ok(stats)
}

/// Records where the codings of `corpus`'s notes stand now, for those whose note changed since
/// the version they count in: a `move` event each (new place, new words where the edit touched
/// them, the note's current version), appended to each coder's ledger in one write, after the
/// note's current version is kept. Hand and imported codings from ledgers written before
/// versions were recorded get one too where they sit on their text, so that they follow later
/// edits. Orphans are left as they are (`code check` shows them). Returns the moves recorded.
/// `anchorer` is the one the caller placed the batch's codings with, so that each edited note is
/// compared with its old version once.
pub fn record_moves(
    project: &Project,
    corpus: &Corpus,
    table: &CodingTable,
    anchorer: &mut Anchorer,
    spread: &mut Vec<String>,
) -> Result<usize> {
    let versions = Versions::new(&project.derived_dir());
    let mut kept = KeptNotes::new(project, &versions);
    let mut by_ledger: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    for (di, d) in corpus.documents.iter().enumerate() {
        let stale: Vec<Coding> = table.of_doc_not_at(&d.path, &d.hash).collect();
        if stale.is_empty() {
            continue;
        }
        let placed = units::place_in_doc(di, d, &stale, anchorer);
        if placed.placed.is_empty() {
            continue;
        }
        versions.keep(d)?;
        for x in &placed.placed {
            if kept.spread(x, d).is_some() {
                spread.push(format!("{} ({}, {})", x.coding.id, x.coding.code, x.coding.coder));
            }
            by_ledger.entry(x.coding.coder.clone()).or_default().push(follow(
                x.coding,
                d,
                x.start,
                x.end,
                x.text(corpus),
            ));
        }
    }
    let mut n = 0;
    for (coder, events) in &by_ledger {
        Ledger::new(project.root(), coder)?.append(events)?;
        n += events.len();
    }
    Ok(n)
}

/// Kept versions of notes ([`Versions`]), each read and parsed once, when first asked.
pub struct KeptNotes<'a> {
    project: &'a Project,
    versions: Versions,
    parsed: std::collections::HashMap<String, Option<Document>>,
}

impl<'a> KeptNotes<'a> {
    /// The kept versions of `project`'s notes, read through `versions` (a clone shares its map
    /// of where each packed version is, read once).
    pub fn new(project: &'a Project, versions: &Versions) -> KeptNotes<'a> {
        KeptNotes { project, versions: versions.clone(), parsed: Default::default() }
    }

    /// Version `hash` of note `path`, parsed as the project reads its notes; `None` where it is
    /// not kept or cannot be read.
    pub fn get(&mut self, path: &str, hash: &str) -> Option<&Document> {
        let (project, versions) = (self.project, &self.versions);
        self.parsed
            .entry(hash.to_string())
            .or_insert_with(|| versions.get(hash).and_then(|t| project.parse_note(path.to_string(), t).ok()))
            .as_ref()
    }

    /// Where placed coding `x` covers more passages of note `d` than it did in the version it
    /// counts in (a paragraph split): how many it covered there.
    pub fn spread(&mut self, x: &units::Placed<'_>, d: &Document) -> Option<usize> {
        let base = x.coding.base.as_deref().filter(|b| x.passages.len() > 1 && *b != d.hash)?;
        let old = self.get(&x.coding.doc, base)?;
        let before = units::overlapping(old, x.coding.start, x.coding.end).len();
        (before < x.passages.len()).then_some(before)
    }
}

/// The `move` event that records where coding `c` stands now in note `d`, which covers
/// `words` at `start..end`: in the note's current version, with the words where they changed.
pub fn follow(c: &Coding, d: &Document, start: usize, end: usize, words: &str) -> Event {
    let changed = if c.text.is_empty() { text_hash(words) != c.hash } else { words != c.text };
    Event::Move {
        id: c.id.clone(),
        doc: Some(c.doc.clone()),
        start,
        end,
        base: Some(d.hash.clone()),
        text: changed.then(|| words.to_string()),
        by: String::new(),
        time: now(),
    }
}

/// Takes the project's index lock (`.fieldnotes/index.lock`), waiting, with a message, while
/// another process holds it: two `fieldnotes index` runs, or coding during one, take turns
/// instead of failing. The lock is released when the returned file is dropped.
fn lock_index(project: &Project, tell: &dyn Tell) -> Result<std::fs::File> {
    take_lock(project, "index.lock", "another fieldnotes process is updating the index; waiting for it to finish", tell)
}

/// Takes the lock of `code auto` (`.fieldnotes/code-auto.lock`), waiting while another run
/// holds it: two runs at once each found the suggestions the other was writing new, and the
/// rules' ledger took every one twice. Taken before the codings are read, so the second run
/// sees the first's suggestions and adds none of them again.
pub fn lock_auto(project: &Project, tell: &dyn Tell) -> Result<std::fs::File> {
    take_lock(
        project,
        "code-auto.lock",
        "another `fieldnotes code auto` is running on this project; waiting for it to finish",
        tell,
    )
}

/// Takes the lock file `name` in the derived folder, saying `waiting` while another process
/// holds it.
fn take_lock(project: &Project, name: &str, waiting: &str, tell: &dyn Tell) -> Result<std::fs::File> {
    let derived = project.derived_dir();
    let writable = "`.fieldnotes/` holds what fieldnotes makes from the notes and ledgers, and must be writable";
    std::fs::create_dir_all(&derived).with_context(|| format!("cannot create `{}` ({writable})", derived.display()))?;
    let path = derived.join(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open `{}` ({writable})", path.display()))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            tell.info(waiting);
            file.lock().with_context(|| format!("cannot lock `{}`", path.display()))?;
        }
        Err(std::fs::TryLockError::Error(e)) => {
            return Err(e).with_context(|| format!("cannot lock `{}`", path.display()));
        }
    }
    Ok(file)
}

/// What re-anchors codings on the project's notes: with the kept versions of the notes
/// (`.fieldnotes/texts/`), so codings follow edits.
pub fn anchorer(project: &Project) -> Anchorer {
    Anchorer::new(Some(Versions::new(&project.derived_dir())))
}

/// The project's codebook, or an error that says how to make one.
pub fn codebook(project: &Project) -> Result<Codebook> {
    let path = project.codebook_path();
    if !path.exists() {
        let set = project.root().join(fieldnotes_corpus::CONFIG_FILE).is_file()
            && project.config.codebook != fieldnotes_corpus::Config::default().codebook;
        bail!(
            "no codebook at `{}`{}; write one there, or set `codebook` in {} to the file you have (`fieldnotes init NEW --codebook wws` makes a project with the eight considerations' codebook, to copy from)",
            project.relative(&path),
            if set { " (`codebook` in fieldnotes.toml)" } else { "" },
            fieldnotes_corpus::CONFIG_FILE
        );
    }
    Ok(Codebook::load(&path)?)
}

/// The warning for a note that was not loaded.
pub fn skip_warning(s: &fieldnotes_corpus::Skipped) -> String {
    format!("skipped `{}`: {}", s.path, s.reason)
}

/// Loads the notes with a progress bar, warning about each skipped file.
pub fn load_corpus(project: &Project, tell: &dyn Tell) -> Result<Corpus> {
    let (files, walk_skipped) = project.note_files()?;
    let pb = tell.progress(files.len() as u64, "reading");
    let corpus = project.load_files(&files, walk_skipped, &|_| pb.inc(1));
    pb.finish_and_clear();
    for s in &corpus.skipped {
        tell.warn(&skip_warning(s));
    }
    let mut dates = UnreadDates::default();
    dates.note(&corpus);
    dates.tell(tell);
    Ok(corpus)
}
