//! The report store, kept fresh: the placed codings every table counts and search's `code:`
//! finds. Read when nothing changed since it was written, changed in place when only a few
//! ledger lines were appended (saved once they pass a hundred), built again otherwise, and built
//! alongside `index` and `code auto`, which read every note anyway.

use anyhow::Result;
use fieldnotes_coding::state::{self, Mark};
use fieldnotes_coding::units;
use fieldnotes_coding::{Anchorer, Coding, CodingTable, Ledger, TableParts};
use fieldnotes_corpus::{Corpus, NoteStats, Project, Skipped};
use fieldnotes_index::Codes;
use fieldnotes_report::store::{STORE_FILE, Signature, Store, StoreBuilder};

use crate::Tell;
use crate::study;

/// The report store of the project, fresh: read from `.fieldnotes/report.store` when no note,
/// ledger or setting changed since it was written (repeating the warnings of that load), changed
/// in place when only ledgers grew a little (and saved once more than [`SAVE_AFTER_EVENTS`]
/// ledger lines are new), else built from the notes and ledgers and saved.
pub fn report_store(project: &Project, tell: &dyn Tell) -> Result<Store> {
    report_store_with(project, &project.note_stats()?, tell)
}

/// [`report_store`] with the notes as `stats` found them (a walk the caller made anyway).
pub fn report_store_with(project: &Project, stats: &NoteStats, tell: &dyn Tell) -> Result<Store> {
    let signature = Signature::with_notes(project, stats)?;
    let path = project.derived_dir().join(STORE_FILE);
    let old = Store::load(&path);
    if let Some(store) = old.as_ref().filter(|s| s.signature() == &signature) {
        for w in store.warnings() {
            tell.warn(w);
        }
        return Ok(old.unwrap_or_default());
    }
    let ledgers = Ledger::all(project.root())?;
    if let Some(store) = old
        && let Some((store, notes, events)) = update_in_place(project, store, &signature, &ledgers)?
    {
        for w in store.warnings() {
            tell.warn(w);
        }
        tell.info(&format!("report store: the codings of {} brought up to date", crate::count(notes as u64, "note")));
        // A few codings are brought up to date again by the next command more cheaply than the
        // whole store is written now (176 MB at 2 GB of notes, whose pages the next fsync of a
        // ledger then waited for); once they are many, it is saved.
        if events > SAVE_AFTER_EVENTS {
            save(project, &store, tell);
        }
        return Ok(store);
    }
    let before = Before { signature, marks: marks_now(project)?, notes: None };
    // Built a batch of notes at a time from the compact coding table, so that neither the notes
    // nor millions of codings need be held whole.
    let parts = study::coding_parts(project, tell)?;
    let (files, walk_skipped) = study::NoteFiles::of(project, Some(stats), tell)?;
    let mut build = StoreBuild::start(before, &parts, &walk_skipped)?;
    let pb = tell.progress(files.files.len() as u64, "reading");
    study::read_sized_batches(project, &files.files, files.sizes.as_deref(), tell, &|n| pb.inc(n), true, |corpus| {
        build.add(&corpus, &study::batch_table(&parts, &corpus, tell)?, &[], &mut study::anchorer(project));
        Ok(())
    })?;
    pb.finish_and_clear();
    build.finish(project, &parts, tell)
}

/// Where the project stands before a command reads its codings: what a store it builds from
/// them counts. Taken before the ledgers are read, so that lines appended meanwhile count as
/// new next time (which changes nothing: a note's rows are made anew from all its codings).
pub struct Before {
    signature: Signature,
    marks: Vec<Mark>,
    /// The notes as the signature's walk found them.
    notes: Option<NoteStats>,
}

impl Before {
    /// Where `coder`'s ledger stood then (an empty mark if it had none).
    pub fn mark(&self, coder: &str) -> Mark {
        self.marks
            .iter()
            .find(|m| m.coder == coder)
            .cloned()
            .unwrap_or_else(|| Mark { coder: coder.to_string(), ..Mark::default() })
    }

    /// The notes as the walk that made the signature found them, taken (the signature keeps
    /// their fingerprint): 30 MB at 324,641 notes, not to be held through a command that uses
    /// them only to list the files.
    pub fn take_notes(&mut self) -> Option<NoteStats> {
        self.notes.take()
    }

    /// The fingerprint of the notes as the walk found them (paths, sizes and times), while
    /// they are held.
    pub fn notes_fingerprint(&self) -> Option<(u64, u64)> {
        self.notes.as_ref().map(NoteStats::fingerprint)
    }
}

/// Where the project stands now ([`Before`]).
pub fn before(project: &Project) -> Result<Before> {
    let notes = project.note_stats()?;
    Ok(Before { signature: Signature::with_notes(project, &notes)?, marks: marks_now(project)?, notes: Some(notes) })
}

/// Where every ledger stands now.
fn marks_now(project: &Project) -> Result<Vec<Mark>> {
    Ok(Ledger::all(project.root())?.iter().map(state::mark).collect::<fieldnotes_coding::Result<Vec<_>>>()?)
}

/// Saves the store; it only saves time, so a project on a read-only disk still gets its
/// tables, with a warning.
fn save(project: &Project, store: &Store, tell: &dyn Tell) {
    let saved = std::fs::create_dir_all(project.derived_dir())
        .map_err(anyhow::Error::from)
        .and_then(|()| Ok(store.save(&project.derived_dir().join(STORE_FILE))?));
    if let Err(e) = saved {
        tell.warn(&format!("could not save the report store: {e:#}"));
    }
}

/// A store being built a batch of notes at a time, by whatever command reads them.
pub struct StoreBuild {
    builder: StoreBuilder,
    warnings: Vec<String>,
    left_out: Vec<String>,
    /// Every note read or found unreadable.
    seen: std::collections::HashSet<String>,
}

impl StoreBuild {
    /// Starts a store for the project as it stood `before` `codings` were opened, the walk
    /// having skipped `walk_skipped` (already warned of).
    pub fn start(before: Before, codings: &TableParts, walk_skipped: &[Skipped]) -> Result<StoreBuild> {
        let mut builder = Store::builder(before.signature);
        builder.set_marks(before.marks);
        let mut build = StoreBuild {
            builder,
            warnings: codings.bad_lines().iter().map(ToString::to_string).collect(),
            left_out: Vec::new(),
            seen: std::collections::HashSet::new(),
        };
        let paths: Vec<&str> = walk_skipped.iter().map(|s| s.path.as_str()).collect();
        build.skipped(&codings.table_of(&paths)?, walk_skipped);
        Ok(build)
    }

    /// Records notes that could not be read: warned of again when the store is used, named in
    /// captions, their codings counted as left out.
    fn skipped(&mut self, table: &CodingTable, skipped: &[Skipped]) {
        self.warnings.extend(skipped.iter().map(study::skip_warning));
        self.left_out.extend(skipped.iter().map(|s| format!("`{}`: {}", s.path, s.reason)));
        self.seen.extend(skipped.iter().map(|s| s.path.clone()));
        for s in skipped {
            self.builder.add_unread(table.of_doc(&s.path));
        }
    }

    /// Adds a batch of notes with their codings in `table` (the batch's, [`study::batch_table`])
    /// and in `more` (new ones, not yet in the table), placed by `anchorer` (the batch's: each
    /// edited note is compared with its old version once).
    pub fn add(&mut self, corpus: &Corpus, table: &CodingTable, more: &[Coding], anchorer: &mut Anchorer) {
        self.warnings.extend(table.bad_lines().iter().map(ToString::to_string));
        self.skipped(table, &corpus.skipped);
        self.seen.extend(corpus.documents.iter().map(|d| d.path.clone()));
        self.builder.add_notes(corpus);
        let mut more_of: std::collections::HashMap<&str, Vec<&Coding>> = std::collections::HashMap::new();
        for c in more {
            more_of.entry(c.doc.as_str()).or_default().push(c);
        }
        for (di, d) in corpus.documents.iter().enumerate() {
            let known: Vec<Coding> = table.of_doc(&d.path).collect();
            let extra = more_of.get(d.path.as_str()).into_iter().flatten().copied();
            self.builder.add_codings(&units::place_in_doc(di, d, known.iter().chain(extra), anchorer));
        }
    }

    /// Says the store counts every line of `ledger` up to where it stands now, `mark` (the caller
    /// appended them, gave the store their codings, and knows no other line came between).
    pub fn advance_ledger(&mut self, project: &Project, ledger: &Ledger, mark: Mark) {
        self.builder.advance_ledger(project, ledger, mark);
    }

    /// Counts the codings of notes gone as orphans, saves the store and returns it.
    pub fn finish(mut self, project: &Project, codings: &TableParts, tell: &dyn Tell) -> Result<Store> {
        let listed = codings.docs();
        let gone: Vec<&str> = listed.into_iter().filter(|d| !self.seen.contains(*d)).collect();
        let table = codings.table_of(&gone)?;
        for doc in gone {
            let gone: Vec<Coding> = table.of_doc(doc).collect();
            self.builder.add_orphans(&gone);
        }
        let store = self.builder.finish(self.warnings, self.left_out);
        save(project, &store, tell);
        Ok(store)
    }
}

/// Ledger events since the saved store that a command brings it up to date with in memory,
/// without saving it.
const SAVE_AFTER_EVENTS: usize = 100;

/// The store brought up to date in place when only ledgers grew since it was made (a coding
/// added, removed, reviewed or moved): the rows of each note those new lines name are made
/// again from that note and its codings (read through the coding state); returned with the
/// numbers of notes and of lines that took. `None` when anything else changed (a note, the
/// settings, a ledger rewritten or gone, an unreadable line, a line that does not name its note,
/// many lines at once): the store is then built from scratch.
fn update_in_place(
    project: &Project,
    mut store: Store,
    signature: &Signature,
    ledgers: &[Ledger],
) -> Result<Option<(Store, usize, usize)>> {
    use fieldnotes_coding::{Codings, Event};
    const MOST_EVENTS: usize = 1_000;
    if store.signature().without_ledgers() != signature.without_ledgers()
        || store.marks().iter().any(|m| !ledgers.iter().any(|l| l.coder() == m.coder))
    {
        return Ok(None);
    }
    let mut notes = std::collections::BTreeSet::new();
    let mut marks = Vec::new();
    let mut events_seen = 0;
    for l in ledgers {
        let since = store
            .marks()
            .iter()
            .find(|m| m.coder == l.coder())
            .cloned()
            .unwrap_or_else(|| Mark { coder: l.coder().to_string(), ..Mark::default() });
        let Some((events, now)) = state::events_since(l, &since)? else { return Ok(None) };
        events_seen += events.len();
        if events_seen > MOST_EVENTS {
            return Ok(None);
        }
        for ev in events {
            let doc = match ev {
                Event::Add(c) => Some(c.doc),
                Event::Remove { doc, .. }
                | Event::Status { doc, .. }
                | Event::Move { doc, .. }
                | Event::Memo { doc, .. } => doc,
            };
            let Some(doc) = doc else { return Ok(None) };
            notes.insert(doc);
        }
        marks.push(now);
    }
    let mut anchorer = study::anchorer(project);
    for path in &notes {
        // The notes are those the store was made from (their fingerprint is the same), so the
        // note's file is read from its path without listing its folder (46,000 files at 2 GB).
        let Some(doc) = store.has_note(path).then(|| project.load_file(&project.root().join(path)).ok()).flatten()
        else {
            return Ok(None);
        };
        let codings = Codings::load_doc(project.root(), &project.derived_dir(), path)?;
        if codings.bad_lines().next().is_some() {
            return Ok(None);
        }
        let placement = units::place_in_doc(0, &doc, codings.iter(), &mut anchorer);
        if store.replace_note(path, doc.passages.len(), &placement).is_none() {
            return Ok(None);
        }
    }
    store.restamp(signature.clone(), marks);
    Ok(Some((store, notes.len(), events_seen)))
}

/// The codes of each passage in the store, for search.
pub fn codes_of(store: &Store) -> Codes {
    let c = store.coded_passages();
    Codes::from_parts(c.paths, c.codes, c.rows)
}

/// The codes search needs: none when the project has no ledger (no store is built for it),
/// else those of the fresh report store; with what its counts leave out, counting suggestions
/// not yet reviewed or not ([`LeftOut::describe`]: empty when nothing).
///
/// [`LeftOut::describe`]: fieldnotes_report::store::LeftOut::describe
pub fn search_codes(
    project: &Project,
    stats: &NoteStats,
    include_suggested: bool,
    tell: &dyn Tell,
) -> Result<(Codes, String)> {
    if Ledger::all(project.root())?.is_empty() {
        return Ok((Codes::new(), String::new()));
    }
    let store = report_store_with(project, stats, tell)?;
    let sel = fieldnotes_coding::units::Selection { include_suggested, ..Default::default() };
    let left_out = store.left_out(&sel).describe();
    Ok((codes_of(&store), left_out))
}

/// Gives each hit the codes of its passage, as the report store would (accepted codings by
/// anyone under `codes`, codes only suggested under `suggested`), from its note and the note's
/// codings read through the coding states: a search that does not ask for codes reads only the
/// hits' notes. A note that cannot be read leaves its hits without codes.
pub fn hit_codes(project: &Project, hits: &mut [fieldnotes_index::Hit]) -> Result<()> {
    use fieldnotes_coding::{Codings, Status};
    let mut rows: Vec<(String, u32, String, bool)> = Vec::new();
    // Each note's hits, and below its codings, found once: looked for note by note, a search of
    // a few thousand hits compared every hit's and every coding's note with every note (2,000
    // hits: 10 s).
    let mut hits_of: std::collections::BTreeMap<&str, Vec<usize>> = std::collections::BTreeMap::new();
    for (i, h) in hits.iter().enumerate() {
        hits_of.entry(h.doc.as_str()).or_default().push(i);
    }
    if hits_of.is_empty() || Ledger::all(project.root())?.is_empty() {
        return Ok(());
    }
    // Every hit's note was a note when it was indexed: read where it is, without listing its
    // folder (at 2 GB a site's folder holds 40,000 notes), and all their codings at once (one
    // read of each state's table).
    let list: Vec<&str> = hits_of.keys().copied().collect();
    let codings = Codings::load_docs(project.root(), &project.derived_dir(), &list)?;
    let mut codings_of: std::collections::HashMap<&str, Vec<&fieldnotes_coding::Coding>> =
        std::collections::HashMap::new();
    for c in codings.iter() {
        codings_of.entry(c.doc.as_str()).or_default().push(c);
    }
    let mut anchorer = study::anchorer(project);
    // A hit whose passage reads otherwise now (its note edited since it was indexed, which search
    // warns of) shows no codes rather than another passage's.
    let mut current = vec![false; hits.len()];
    for (&path, at) in &hits_of {
        let Ok(doc) = project.load_file(&project.root().join(path)) else { continue };
        for &i in at {
            let h = &hits[i];
            let now = u32::try_from(h.ordinal).ok().and_then(|o| doc.passage(o)).map(|p| doc.passage_text(p));
            current[i] = now == Some(h.text.as_str());
        }
        let of_note = codings_of.get(path).into_iter().flatten().copied();
        let placement = units::place_in_doc(0, &doc, of_note, &mut anchorer);
        for p in &placement.placed {
            let accepted = match p.coding.status {
                Status::Accepted => true,
                Status::Suggested => false,
                Status::Rejected => continue,
            };
            for pi in p.passages.clone() {
                rows.push((doc.path.clone(), doc.passages[pi].ordinal, p.coding.code.clone(), accepted));
            }
        }
    }
    let codes = Codes::from_rows(rows.iter().map(|(p, o, c, a)| (p.as_str(), *o, c.as_str(), *a)));
    let at: Vec<(&str, u64)> = hits.iter().map(|h| (h.doc.as_str(), h.ordinal)).collect();
    let found = codes.of_many(&at);
    for ((h, c), current) in hits.iter_mut().zip(found).zip(current) {
        if let Some(c) = c.filter(|_| current) {
            h.set_codes(&c);
        }
    }
    Ok(())
}
