//! The report store: a derived, columnar copy of what every theme table is counted from, in
//! `.fieldnotes/report.store`, so that a table over millions of codings does not wait for the
//! notes to be read and the ledgers to be parsed and folded again.
//!
//! It holds one row per passage (document, words, speaker, section), the documents' attributes,
//! and one row per distinct (passage, code, coder, status) of the placed codings. It is valid
//! while every note file, ledger and the settings file has the size and modification time it
//! had when the store was written (the *signature*); otherwise it is rebuilt from the notes and
//! ledgers ([`StoreBuilder`], a batch of notes at a time).
//! Like the index, it can be deleted at any time.
//!
//! Layout: `FNSTORE` and a format byte; a little-endian `u64` length and a JSON header
//! (signature, string tables, warnings); the documents (a `u64` count and a `u64` length in
//! bytes, then each one's path, attributes and year as [`fieldnotes_corpus::bytes::Out`] writes
//! them); then each column as a `u64` count, zero bytes up to the next multiple of 8 in the file,
//! and its values, little-endian (`u32`, or `u8` for statuses); last, the xxh3 of everything
//! after the header's length, which a load checks. Aligned so, the columns are read in place
//! from the file mapped into memory ([`crate::column`]).

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use fieldnotes_coding::units::{Placement, Selection};
use fieldnotes_coding::{Codebook, Ledger, Status};
use fieldnotes_corpus::bytes::{In, Out};
use fieldnotes_corpus::{Corpus, Project, Value};
use serde::{Deserialize, Serialize};

use crate::column::{Column, FromLe};
use crate::frames::Interner;
use crate::{Error, Frames, GroupBy, Result, Rows};
use fieldnotes_corpus::mapped::Mapped;

/// File name of the store in the project's derived folder.
pub const STORE_FILE: &str = "report.store";
// Version 2: accepted codings also count for their reviewer (a row each). Version 3: each orphan
// knows its note, and the ledgers' marks are kept, so that a coding changes the store in place.
// Version 4: the notes' attributes as indices into one list of strings.
// Version 5: the notes in the signature as one fingerprint. Version 6: the documents in binary
// after the header, and a checksum at the end instead of an fsync. Version 7: the documents as
// one block of known length. Version 8: each column's values start at a multiple of 8 bytes, to
// be read in place. Version 10: the codings of unread notes kept as orphans are, for captions
// to count those a selection would have. Stores of other versions are rebuilt.
const MAGIC: &[u8; 8] = b"FNSTORE\x0A";
const NONE: u32 = u32::MAX;

/// What every table depends on: the note files, as [`fieldnotes_corpus::NoteStats::fingerprint`] sums them up
/// (how many, and a hash of each one's path, size and modification time, added up), and the size
/// and modification time of each ledger and of the settings file, relative paths sorted. As a
/// list of every note's entry it was 20 MB of the store's header at 324,641 notes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    notes: (u64, u64),
    files: Vec<FileEntry>,
}

/// A file's path relative to the project, size and modification time.
type FileEntry = (String, u64, i128);

impl Signature {
    /// Reads the signature of a project: its note files, ledgers and settings file.
    pub fn of(project: &Project) -> Result<Signature> {
        let stats = project.note_stats().map_err(|e| Error::Invalid(e.to_string()))?;
        Signature::with_notes(project, &stats)
    }

    /// [`Signature::of`] with the notes as `stats` found them (a walk the caller made anyway).
    pub fn with_notes(project: &Project, stats: &fieldnotes_corpus::NoteStats) -> Result<Signature> {
        let notes = stats.fingerprint();
        let ledgers = Ledger::all(project.root()).map_err(|e| Error::Invalid(e.to_string()))?;
        let mut paths: Vec<PathBuf> = ledgers.iter().map(|l| l.path().to_path_buf()).collect();
        paths.push(project.root().join(fieldnotes_corpus::CONFIG_FILE));
        let mut files: Vec<FileEntry> = paths.iter().map(|p| Signature::entry(project, p)).collect();
        files.sort();
        Ok(Signature { notes, files })
    }

    /// A file's entry: its path relative to the project, size and modification time.
    fn entry(project: &Project, p: &Path) -> FileEntry {
        let rel = p.strip_prefix(project.root()).unwrap_or(p).to_string_lossy().replace('\\', "/");
        let (len, mtime) = fieldnotes_corpus::file_stamp(p);
        (rel, len, mtime)
    }

    /// The entry of file `p` (a ledger) taken again now (added if the signature had none).
    fn retake(&mut self, project: &Project, p: &Path) {
        let e = Signature::entry(project, p);
        match self.files.binary_search_by(|x| x.0.cmp(&e.0)) {
            Ok(i) => self.files[i] = e,
            Err(i) => self.files.insert(i, e),
        }
    }
}

impl Signature {
    /// What it says of the files other than the ledgers (`codings/*.jsonl`): the notes and the
    /// settings. Two signatures equal here differ in their ledgers at most.
    pub fn without_ledgers(&self) -> ((u64, u64), Vec<&FileEntry>) {
        let dir = format!("{}/", fieldnotes_coding::ledger::CODINGS_DIR);
        let ledger = |p: &str| p.starts_with(&dir) && p.ends_with(".jsonl");
        (self.notes, self.files.iter().filter(|e| !ledger(&e.0)).collect())
    }
}

/// The store's notes as its file has them, one after another: each one's path (a `u32` length
/// and its bytes), its attributes as table cells (a `u32` count, then each key and value as a
/// `u32` index into the header's `attr_strings`, sorted by key), and the year of its date (a
/// flag byte, then the year as 4 bytes if there is one). Kept as those bytes, read in place from
/// the file, with where each note starts: made into a string and a vector each, the 324,641
/// notes of 2 GB took 40 MB of new pages, a fifth of `report themes` after a coding there (as a
/// map of strings per note, a quarter of a gigabyte).
#[derive(Debug, Default)]
struct Docs {
    bytes: Column<u8>,
    starts: Vec<usize>,
}

/// A note of [`Docs`].
#[derive(Clone, Copy, Debug, Default)]
struct Doc<'a> {
    path: &'a [u8],
    /// Its attributes' 8 bytes each.
    attrs: &'a [u8],
    year: Option<i32>,
}

impl<'a> Doc<'a> {
    /// The note at the front of `b`, or `None` where the bytes run short or its year's flag is
    /// neither 0 nor 1.
    fn read(b: &mut In<'a>) -> Option<Doc<'a>> {
        let n = b.u32()? as usize;
        let path = b.take(n)?;
        let n = b.u32()? as usize;
        let attrs = b.take(n.checked_mul(8)?)?;
        let year = match b.u8()? {
            0 => None,
            1 => Some(b.u32()? as i32),
            _ => return None,
        };
        Some(Doc { path, attrs, year })
    }

    /// Its path (checked to be UTF-8 when the store was read).
    fn path(&self) -> &'a str {
        std::str::from_utf8(self.path).unwrap_or_default()
    }

    /// Its attributes: (key, value), indices into the header's `attr_strings`.
    fn attrs(&self) -> impl Iterator<Item = (u32, u32)> + 'a {
        let word = <u32 as FromLe>::from_le;
        self.attrs.chunks_exact(8).map(move |c| (word(&c[..4]), word(&c[4..])))
    }

    /// The value of its attribute `key`.
    fn attr(&self, key: u32) -> Option<u32> {
        self.attrs().find(|&(k, _)| k == key).map(|(_, v)| v)
    }
}

impl Docs {
    fn len(&self) -> usize {
        self.starts.len()
    }

    /// Note `i`.
    fn get(&self, i: usize) -> Doc<'_> {
        // Each was read through when the store was made or read: this cannot stop short.
        Doc::read(&mut In(&self.bytes[self.starts[i]..])).unwrap_or_default()
    }

    /// The index of the note at `path`.
    fn position(&self, path: &str) -> Option<usize> {
        (0..self.len()).find(|&i| self.get(i).path == path.as_bytes())
    }

    /// Adds a note (to notes of their own, as a builder's are).
    fn push(&mut self, path: &str, attrs: &[(u32, u32)], year: Option<i32>) {
        let Column::Owned(bytes) = &mut self.bytes else { return };
        self.starts.push(bytes.len());
        let mut out = Out(std::mem::take(bytes));
        out.str(path);
        out.u32(attrs.len() as u32);
        for &(k, v) in attrs {
            out.u32(k);
            out.u32(v);
        }
        match year {
            Some(y) => {
                out.u8(1);
                out.u32(y as u32);
            }
            None => out.u8(0),
        }
        *bytes = out.0;
    }

    /// The `n` notes in `range` of `bytes`, each read through once: `None` if they do not fill
    /// it exactly, a path is not UTF-8 or an attribute is not one of `strings` strings.
    fn read(bytes: &Arc<Mapped>, range: std::ops::Range<usize>, n: usize, strings: usize) -> Option<Docs> {
        let column = Column::at(bytes, range.start, range.len())?;
        let block: &[u8] = &column;
        let mut b = In(block);
        let mut starts = Vec::with_capacity(n.min(block.len() / 9));
        for _ in 0..n {
            starts.push(block.len() - b.0.len());
            let d = Doc::read(&mut b)?;
            std::str::from_utf8(d.path).ok()?;
            if !d.attrs().all(|(k, v)| (k as usize) < strings && (v as usize) < strings) {
                return None;
            }
        }
        b.is_empty().then_some(Docs { bytes: column, starts })
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Header {
    signature: Signature,
    /// Written apart, in binary, after the header ([`Store::save`]): as JSON they were 29 MB at
    /// 324,641 notes.
    #[serde(skip)]
    docs: Docs,
    /// The attributes' keys and values, each once.
    attr_strings: Vec<String>,
    speakers: Vec<String>,
    sections: Vec<String>,
    codes: Vec<String>,
    coders: Vec<String>,
    /// The warnings loading the study gave (skipped files, unreadable ledger lines, orphaned
    /// codings), repeated when the store is used instead.
    warnings: Vec<String>,
    /// Notes that could not be read (`path: reason`).
    #[serde(default)]
    unread: Vec<String>,
    /// The codings in them, as [`Header::orphans`] has orphans: to count those a selection
    /// would have.
    #[serde(default)]
    unread_codings: Vec<(u32, u8, u32)>,
    /// Orphaned codings: (coder, status as a byte, who accepted it if another coder: `NONE`
    /// otherwise), to count those a selection would have, crediting reviewers as rows do.
    #[serde(default)]
    orphans: Vec<(u32, u8, u32)>,
    /// The note of each orphan (an index into `docs`; `NONE` for a note gone).
    #[serde(default)]
    orphan_docs: Vec<u32>,
    /// Where each ledger stood when the store was made (or last changed in place).
    #[serde(default)]
    marks: Vec<fieldnotes_coding::state::Mark>,
}

/// What a table built from the study does not count, for its caption: notes that could not be
/// read (with why) and codings whose words are gone from their notes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeftOut {
    /// `path: reason` of each note left out.
    pub notes: Vec<String>,
    /// Codings in those notes.
    pub in_unread: usize,
    /// Orphaned codings (in notes that were read) that the counting rule would have counted.
    pub orphans: usize,
    /// Those of them whose note is no longer in the project (renamed, moved or deleted), not
    /// whose words are gone.
    #[serde(default)]
    pub of_gone_notes: usize,
}

impl LeftOut {
    /// A sentence for a caption, empty when nothing was left out.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.notes.is_empty() {
            let shown: Vec<&str> = self.notes.iter().take(5).map(String::as_str).collect();
            let more =
                if self.notes.len() > 5 { format!("; and {} more", self.notes.len() - 5) } else { String::new() };
            let codings =
                if self.in_unread > 0 { format!(", holding {} coding(s)", self.in_unread) } else { String::new() };
            parts.push(format!(
                "{} note(s) that could not be read ({}{more}){codings}",
                self.notes.len(),
                shown.join("; ")
            ));
        }
        let words_gone = self.orphans.saturating_sub(self.of_gone_notes);
        if words_gone > 0 {
            parts.push(format!(
                "{words_gone} orphaned coding(s), whose words are gone from their notes (`fieldnotes code check`)"
            ));
        }
        if self.of_gone_notes > 0 {
            parts.push(format!(
                "{} coding(s) of notes no longer in the project (renamed, moved or deleted: `fieldnotes code check` names the note that holds a renamed note's text, and `--fix` carries its codings there)",
                self.of_gone_notes
            ));
        }
        if parts.is_empty() {
            String::new()
        } else {
            // The reasons end in a full stop of their own at times: one is enough.
            format!("Left out of every count: {}.", parts.join("; ").trim_end_matches('.'))
        }
    }

    /// The same as a clause to go inside a sentence ("left out of every count: ..."), empty when
    /// nothing was left out.
    pub fn clause(&self) -> String {
        let d = self.describe();
        match d.strip_prefix("Left") {
            Some(rest) => format!("left{}", rest.trim_end_matches('.')),
            None => d,
        }
    }
}

/// Every passage's codes, as [`Store::coded_passages`] gives them.
#[derive(Clone, Debug, Default)]
pub struct CodedPassages {
    /// The notes' paths.
    pub paths: Vec<String>,
    /// The codes' names.
    pub codes: Vec<String>,
    /// (note, passage ordinal, code, accepted): note and code as indices into the lists above.
    pub rows: Vec<(u32, u32, u32, bool)>,
}

/// The store, in memory.
#[derive(Debug, Default)]
pub struct Store {
    header: Header,
    passage_doc: Column<u32>,
    passage_words: Column<u32>,
    passage_speaker: Column<u32>,
    passage_section: Column<u32>,
    coding_unit: Column<u32>,
    coding_code: Column<u32>,
    coding_coder: Column<u32>,
    coding_status: Column<u8>,
    /// A bit per passage whose rows in the columns above no longer count (empty when none):
    /// its note's rows were made again since the store was read, into `changed`. The columns
    /// are not rewritten, so that a store read in place from its file stays there.
    replaced: Vec<u64>,
    /// The rows of the notes made again ([`Store::replace_note`]).
    changed: CodingRows,
}

/// Coding rows being made: (passage, code, coder, status) in four columns.
#[derive(Debug, Default)]
struct CodingRows {
    unit: Vec<u32>,
    code: Vec<u32>,
    coder: Vec<u32>,
    status: Vec<u8>,
}

impl CodingRows {
    fn push(&mut self, unit: u32, code: u32, coder: u32, status: u8) {
        self.unit.push(unit);
        self.code.push(code);
        self.coder.push(coder);
        self.status.push(status);
    }

    fn len(&self) -> usize {
        self.unit.len()
    }
}

/// One note of [`Store::notes_overview`].
#[derive(Clone, Debug, Default, Serialize)]
pub struct NoteOverview {
    /// Its path.
    pub path: String,
    /// The attributes asked for, as text, in the order asked.
    pub attributes: Vec<String>,
    /// Its passages.
    pub passages: usize,
    /// Passages with an accepted coding.
    pub coded: usize,
    /// Per coder, the passages they have accepted codings on.
    pub by: std::collections::BTreeMap<String, usize>,
    /// Passages with a suggestion waiting for review.
    pub suggested: usize,
}

/// Builds a [`Store`] a batch of notes at a time, so that a project need not be loaded whole.
pub struct StoreBuilder {
    store: Store,
    /// Per passage: its note, words, speaker and section.
    passages: [Vec<u32>; 4],
    rows: CodingRows,
    docs: Docs,
    attr_strings: Interner,
    speakers: Interner,
    sections: Interner,
    codes: Interner,
    coders: Interner,
    /// The first passage of each note of the last batch.
    first_unit: Vec<u32>,
    /// The store's index of each note of the last batch, by path.
    batch_paths: HashMap<String, u32>,
}

impl StoreBuilder {
    /// Adds a batch of notes (`corpus`, after the batches before it); their codings follow with
    /// [`StoreBuilder::add_codings`].
    pub fn add_notes(&mut self, corpus: &Corpus) {
        let [doc, words, speaker, section] = &mut self.passages;
        self.first_unit.clear();
        self.batch_paths.clear();
        for d in &corpus.documents {
            self.first_unit.push(doc.len() as u32);
            let di = self.docs.len() as u32;
            self.batch_paths.insert(d.path.clone(), di);
            let strings = &mut self.attr_strings;
            let mut attrs: Vec<(u32, u32)> =
                d.attributes.iter().map(|(k, v)| (strings.get(k), strings.get(&v.group_label()))).collect();
            attrs.sort_unstable();
            let year = d.attributes.get("date").and_then(Value::year);
            self.docs.push(&d.path, &attrs, year);
            for p in &d.passages {
                doc.push(di);
                words.push(p.words);
                speaker.push(p.speaker.as_deref().map_or(NONE, |x| self.speakers.get(x)));
                section.push(p.section.as_deref().map_or(NONE, |x| self.sections.get(x)));
            }
        }
    }

    /// Adds codings placed on the notes of the last batch (all of them at once, or a few notes'
    /// at a time: a passage belongs to one note, so rows repeat only within a note).
    pub fn add_codings(&mut self, placement: &Placement<'_>) {
        let (first_unit, paths) = (&self.first_unit, &self.batch_paths);
        push_rows(
            &mut self.store.header,
            &mut self.rows,
            &mut self.codes,
            &mut self.coders,
            placement,
            |doc, pi| first_unit[doc] + pi as u32,
            |path| paths.get(path).copied().unwrap_or(NONE),
        );
    }

    /// Counts codings whose note is gone (neither read nor unreadable) as orphans: no table
    /// counts them, and the caption says so.
    pub fn add_orphans<'c>(&mut self, codings: impl IntoIterator<Item = &'c fieldnotes_coding::Coding>) {
        for c in codings {
            let coder = self.coders.get(&c.coder);
            let reviewer = accepted_by(c, &mut self.coders);
            self.store.header.orphans.push((coder, c.status as u8, reviewer));
            self.store.header.orphan_docs.push(NONE);
        }
    }

    /// Counts codings in a note that could not be read: no table counts them, and the caption
    /// says how many of them its counting rule would have counted.
    pub fn add_unread(&mut self, codings: impl IntoIterator<Item = fieldnotes_coding::Coding>) {
        for c in codings {
            let coder = self.coders.get(&c.coder);
            let reviewer = accepted_by(&c, &mut self.coders);
            self.store.header.unread_codings.push((coder, c.status as u8, reviewer));
        }
    }

    /// Records where the ledgers stood before the store was built from them ([`Store::marks`]).
    pub fn set_marks(&mut self, marks: Vec<fieldnotes_coding::state::Mark>) {
        self.store.header.marks = marks;
    }

    /// Moves `ledger`'s entry in the signature and its mark to where it stands now (`mark`): for
    /// a command that appended lines to it whose codings it gave the store itself, and knows no
    /// other line came between.
    pub fn advance_ledger(&mut self, project: &Project, ledger: &Ledger, mark: fieldnotes_coding::state::Mark) {
        self.store.header.signature.retake(project, ledger.path());
        let marks = &mut self.store.header.marks;
        match marks.iter_mut().find(|m| m.coder == mark.coder) {
            Some(m) => *m = mark,
            None => marks.push(mark),
        }
    }

    /// The store, with the warnings loading the study gave and the notes (`path: reason`) it
    /// could not read (their codings given by [`StoreBuilder::add_unread`]).
    pub fn finish(mut self, warnings: Vec<String>, notes_left_out: Vec<String>) -> Store {
        let signature = std::mem::take(&mut self.store.header.signature);
        let unread_codings = std::mem::take(&mut self.store.header.unread_codings);
        let orphans = std::mem::take(&mut self.store.header.orphans);
        let orphan_docs = std::mem::take(&mut self.store.header.orphan_docs);
        let marks = std::mem::take(&mut self.store.header.marks);
        self.store.header = Header {
            signature,
            docs: self.docs,
            attr_strings: self.attr_strings.list,
            speakers: self.speakers.list,
            sections: self.sections.list,
            codes: self.codes.list,
            coders: self.coders.list,
            warnings,
            unread: notes_left_out,
            unread_codings,
            orphans,
            orphan_docs,
            marks,
        };
        let [doc, words, speaker, section] = self.passages;
        let s = &mut self.store;
        (s.passage_doc, s.passage_words) = (Column::Owned(doc), Column::Owned(words));
        (s.passage_speaker, s.passage_section) = (Column::Owned(speaker), Column::Owned(section));
        let rows = self.rows;
        (s.coding_unit, s.coding_code) = (Column::Owned(rows.unit), Column::Owned(rows.code));
        (s.coding_coder, s.coding_status) = (Column::Owned(rows.coder), Column::Owned(rows.status));
        self.store
    }
}

/// Keeps the rows of a column whose `keep` is true (one flag per row).
fn retain_rows<T>(col: &mut Vec<T>, keep: &[bool]) {
    let mut k = keep.iter();
    col.retain(|_| *k.next().unwrap_or(&true));
}

/// [`Coding::accepted_by_other`](fieldnotes_coding::Coding::accepted_by_other) as an index into
/// `coders`; `NONE` for none.
fn accepted_by(c: &fieldnotes_coding::Coding, coders: &mut Interner) -> u32 {
    c.accepted_by_other().map_or(NONE, |r| coders.get(r))
}

/// Adds the rows of placed codings to `s`: a row per passage each coding overlaps, for its
/// coder and, once accepted, for whoever accepted it (`Selection::credits`), each distinct row
/// once; and each orphan with its note (into `header`). `unit(doc, pi)` is the store's passage for
/// passage `pi` of the placement's note `doc`, `note(path)` the store's note of that path.
fn push_rows(
    header: &mut Header,
    out: &mut CodingRows,
    codes: &mut Interner,
    coders: &mut Interner,
    placement: &Placement<'_>,
    unit: impl Fn(usize, usize) -> u32,
    note: impl Fn(&str) -> u32,
) {
    for o in &placement.orphans {
        let coder = coders.get(&o.coding.coder);
        let reviewer = accepted_by(o.coding, coders);
        header.orphans.push((coder, o.coding.status as u8, reviewer));
        header.orphan_docs.push(note(&o.coding.doc));
    }
    let mut seen = rustc_hash::FxHashSet::with_capacity_and_hasher(placement.placed.len(), Default::default());
    for placed in &placement.placed {
        let c = placed.coding;
        let code = codes.get(&c.code);
        // The coder's row, and the reviewer's when another coder accepted it.
        let own = (coders.get(&c.coder), c.status as u8);
        let reviewer = c.accepted_by_other().map(|r| (coders.get(r), Status::Accepted as u8));
        let rows = [Some(own), reviewer];
        for pi in placed.passages.clone() {
            let unit = unit(placed.doc, pi);
            for &(coder, status) in rows.iter().flatten() {
                if seen.insert((unit, code, coder, status)) {
                    out.push(unit, code, coder, status);
                }
            }
        }
    }
}

impl Store {
    /// Starts a store for a project with this signature ([`StoreBuilder::add_notes`] and
    /// [`StoreBuilder::add_codings`] for each batch of notes, then [`StoreBuilder::finish`]).
    pub fn builder(signature: Signature) -> StoreBuilder {
        let mut store = Store::default();
        store.header.signature = signature;
        StoreBuilder {
            store,
            passages: Default::default(),
            rows: CodingRows::default(),
            docs: Docs::default(),
            attr_strings: Interner::default(),
            speakers: Interner::default(),
            sections: Interner::default(),
            codes: Interner::default(),
            coders: Interner::default(),
            first_unit: Vec::new(),
            batch_paths: HashMap::new(),
        }
    }

    /// What the store's counts leave out, for a selection.
    pub fn left_out(&self, sel: &Selection) -> LeftOut {
        let admits = self.admits(sel);
        let counts = |&(coder, status, reviewer): &(u32, u8, u32)| {
            admits(coder, status) || (reviewer != NONE && admits(reviewer, Status::Accepted as u8))
        };
        let h = &self.header;
        LeftOut {
            notes: h.unread.clone(),
            in_unread: h.unread_codings.iter().filter(|o| counts(o)).count(),
            orphans: h.orphans.iter().filter(|o| counts(o)).count(),
            of_gone_notes: h.orphans.iter().zip(&h.orphan_docs).filter(|&(o, &d)| d == NONE && counts(o)).count(),
        }
    }

    /// Whether a row of coder `coder` (an index into the coders) and status `status` (its byte)
    /// counts under `sel`: the rule `Selection::credits` applies, reviewers having rows of their
    /// own here.
    fn admits(&self, sel: &Selection) -> impl Fn(u32, u8) -> bool {
        let coder_ok: Vec<bool> =
            self.header.coders.iter().map(|c| sel.coders.is_empty() || sel.coders.contains(c)).collect();
        let status_ok = [sel.include_suggested, true, false];
        move |coder, status| {
            status_ok.get(status as usize).copied().unwrap_or(false)
                && coder_ok.get(coder as usize).copied().unwrap_or(false)
        }
    }

    /// The signature of the project the store was made for.
    pub fn signature(&self) -> &Signature {
        &self.header.signature
    }

    /// Where the ledgers stood when the store was made or last changed in place.
    pub fn marks(&self) -> &[fieldnotes_coding::state::Mark] {
        &self.header.marks
    }

    /// Says the store is now that of a project with `signature`, its ledgers at `marks`.
    pub fn restamp(&mut self, signature: Signature, marks: Vec<fieldnotes_coding::state::Mark>) {
        self.header.signature = signature;
        self.header.marks = marks;
    }

    /// An error when grouping by front-matter key `by` would put every passage under `(none)`:
    /// no note has the key (with a value), and a table of one `(none)` column would say
    /// nothing. What every report that groups checks first.
    pub fn check_grouped(&self, by: &GroupBy) -> Result<()> {
        if *by == GroupBy::Year {
            let dated = (0..self.header.docs.len()).any(|i| self.header.docs.get(i).year.is_some());
            if self.passages() > 0 && !dated {
                return Err(crate::Error::Invalid(
                    "no note has a `date` to take its year from; group by `site`, `kind`, `author`, `speaker`, `section` or another front-matter key".to_string(),
                ));
            }
            return Ok(());
        }
        let GroupBy::Attribute(name) = by else { return Ok(()) };
        let strings = &self.header.attr_strings;
        let ids: Vec<u32> = strings.iter().enumerate().filter(|(_, s)| *s == name).map(|(i, _)| i as u32).collect();
        let has = |i: usize| {
            self.header.docs.get(i).attrs().any(|(k, v)| ids.contains(&k) && !strings[v as usize].is_empty())
        };
        if self.passages() > 0 && !(0..self.header.docs.len()).any(has) {
            return Err(crate::Error::Invalid(format!(
                "no note has `{name}` to group by; group by `site`, `kind`, `author`, `year`, `speaker`, `section` or another front-matter key"
            )));
        }
        Ok(())
    }

    /// For a table grouped by year: the notes that give a `date` no year is read from
    /// (`08/07/2016`), whose passages the table counts under `(none)`, said in a sentence (the
    /// first few named with the date as written) for the caption; `None` for other groupings or
    /// when every note's date is read.
    pub fn unread_dates(&self, by: &GroupBy) -> Option<String> {
        if *by != GroupBy::Year {
            return None;
        }
        let strings = &self.header.attr_strings;
        let key = strings.iter().position(|s| s == "date")?;
        let mut shown = Vec::new();
        let mut count = 0;
        for i in 0..self.header.docs.len() {
            let doc = self.header.docs.get(i);
            let Some(v) = doc.attr(key as u32) else { continue };
            let text = &strings[v as usize];
            if doc.year.is_some() || text.trim().is_empty() {
                continue;
            }
            count += 1;
            if shown.len() < 5 {
                shown.push(format!("`{}` `{text}`", doc.path()));
            }
        }
        (count > 0).then(|| {
            let more = if count > shown.len() { format!("; and {} more", count - shown.len()) } else { String::new() };
            format!(
                "{count} note(s) give a `date` that is not a day ({}{more}): their passages are under (none).",
                shown.join(", ")
            )
        })
    }

    /// Whether note `path` is one the store counts (read, not left out).
    pub fn has_note(&self, path: &str) -> bool {
        self.header.docs.position(path).is_some()
    }

    /// Replaces the coding rows and orphans of one note with those of `placement` (the note's
    /// codings placed on it, as [`units::place_in_doc`] gives them with the note at index 0).
    /// `None`, and the store unchanged, if the store does not have the note with `passages`
    /// passages: the caller then builds the store again.
    ///
    /// [`units::place_in_doc`]: fieldnotes_coding::units::place_in_doc
    pub fn replace_note(&mut self, path: &str, passages: usize, placement: &Placement<'_>) -> Option<()> {
        let di = self.header.docs.position(path)? as u32;
        let doc: &[u32] = &self.passage_doc;
        let first = doc.iter().position(|&d| d == di)?;
        let n = doc[first..].iter().take_while(|&&d| d == di).count();
        if n != passages {
            return None;
        }
        let units = first as u32..(first + n) as u32;
        // The note's rows in the columns stop counting; those made for it before go.
        if self.replaced.is_empty() {
            self.replaced = vec![0; doc.len().div_ceil(64)];
        }
        for u in units.clone() {
            self.replaced[u as usize / 64] |= 1 << (u % 64);
        }
        let keep: Vec<bool> = self.changed.unit.iter().map(|u| !units.contains(u)).collect();
        let c = &mut self.changed;
        retain_rows(&mut c.unit, &keep);
        retain_rows(&mut c.code, &keep);
        retain_rows(&mut c.coder, &keep);
        retain_rows(&mut c.status, &keep);
        let keep: Vec<bool> = self.header.orphan_docs.iter().map(|&d| d != di).collect();
        retain_rows(&mut self.header.orphans, &keep);
        retain_rows(&mut self.header.orphan_docs, &keep);
        let mut codes = Interner::from_list(std::mem::take(&mut self.header.codes));
        let mut coders = Interner::from_list(std::mem::take(&mut self.header.coders));
        let at = |_, pi| first as u32 + pi as u32;
        push_rows(&mut self.header, &mut self.changed, &mut codes, &mut coders, placement, at, |_| di);
        self.header.codes = codes.list;
        self.header.coders = coders.list;
        Some(())
    }

    /// Each passage's codes, by anyone: the notes' paths, the codes' names, and for every
    /// accepted or suggested coding row (rejected ones are left out) `(note, passage ordinal,
    /// code, accepted)`, note and code as indices into those lists, in no particular order. What
    /// search's `code:` finds passages by.
    pub fn coded_passages(&self) -> CodedPassages {
        let passage_doc: &[u32] = &self.passage_doc;
        let mut first = vec![u32::MAX; self.header.docs.len()];
        for (unit, &d) in passage_doc.iter().enumerate() {
            if let Some(f) = first.get_mut(d as usize)
                && *f == u32::MAX
            {
                *f = unit as u32;
            }
        }
        let mut rows = Vec::with_capacity(self.coding_unit.len());
        self.each_row(|unit, code, _, status| {
            let accepted = match Status::ALL.get(usize::from(status)) {
                Some(Status::Accepted) => true,
                Some(Status::Suggested) => false,
                _ => return,
            };
            if let Some(&d) = passage_doc.get(unit as usize) {
                rows.push((d, unit - first[d as usize] + 1, code, accepted));
            }
        });
        let docs = &self.header.docs;
        let paths = (0..docs.len()).map(|i| docs.get(i).path().to_string()).collect();
        CodedPassages { paths, codes: self.header.codes.clone(), rows }
    }

    /// The warnings of the study the store was built from.
    pub fn warnings(&self) -> &[String] {
        &self.header.warnings
    }

    /// Number of passages.
    pub fn passages(&self) -> usize {
        self.passage_doc.len()
    }

    /// Number of distinct (passage, code, coder, status) rows.
    pub fn coded_rows(&self) -> usize {
        let mut n = 0;
        self.each_row(|_, _, _, _| n += 1);
        n
    }

    /// Calls `f` with each coding row that counts: (passage, code, coder, status), those of the
    /// columns not replaced, then those made again.
    fn each_row(&self, mut f: impl FnMut(u32, u32, u32, u8)) {
        let rows = self.coding_unit.iter().zip(self.coding_code.iter()).zip(self.coding_coder.iter());
        let rows = rows.zip(self.coding_status.iter());
        if self.replaced.is_empty() {
            for (((&u, &c), &k), &s) in rows {
                f(u, c, k, s);
            }
        } else {
            let gone = |u: u32| self.replaced.get(u as usize / 64).is_some_and(|w| w >> (u % 64) & 1 == 1);
            for (((&u, &c), &k), &s) in rows {
                if !gone(u) {
                    f(u, c, k, s);
                }
            }
        }
        let c = &self.changed;
        for i in 0..c.len() {
            f(c.unit[i], c.code[i], c.coder[i], c.status[i]);
        }
    }

    /// Writes the store (a temporary file renamed over the old one; owner only). Not fsynced: the
    /// xxh3 of everything after the header's length ends the file, and a store whose bytes do
    /// not give it back (cut short, or pages lost to a crash) is built again, never read (an
    /// fsync of the 176 MB of a 2 GB study took longer than writing it).
    pub fn save(&self, path: &Path) -> Result<()> {
        let io = |e: std::io::Error| Error::Invalid(format!("cannot write `{}`: {e}", path.display()));
        let mut file = fieldnotes_corpus::atomic::AtomicFile::create(path).map_err(io)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 20, file.file());
        // The header goes straight to the file; its length is written over the placeholder before
        // it once known.
        w.write_all(MAGIC).map_err(io)?;
        w.write_all(&0u64.to_le_bytes()).map_err(io)?;
        let mut body = Hashed { inner: &mut w, n: 0, hash: xxhash_rust::xxh3::Xxh3::new() };
        serde_json::to_writer(&mut body, &self.header).map_err(|e| io(e.into()))?;
        let header_len = body.n;
        // The notes as one block after their count and its length, read back in one piece.
        let docs = &self.header.docs;
        body.write_all(&(docs.len() as u64).to_le_bytes()).map_err(io)?;
        body.write_all(&(docs.bytes.len() as u64).to_le_bytes()).map_err(io)?;
        body.write_all(&docs.bytes).map_err(io)?;
        // The coding rows that count, made into columns if notes were made again.
        let merged = (!self.replaced.is_empty() || self.changed.len() > 0).then(|| {
            let mut rows = CodingRows::default();
            self.each_row(|u, c, k, s| rows.push(u, c, k, s));
            rows
        });
        let (unit, code, coder, status): (&[u32], &[u32], &[u32], &[u8]) = match &merged {
            Some(r) => (&r.unit, &r.code, &r.coder, &r.status),
            None => (&self.coding_unit, &self.coding_code, &self.coding_coder, &self.coding_status),
        };
        let (words, speaker, section) = (&self.passage_words, &self.passage_speaker, &self.passage_section);
        for col in [&*self.passage_doc, words, speaker, section, unit, code, coder] {
            write_count(&mut body, col.len()).map_err(io)?;
            for chunk in col.chunks(1 << 16) {
                let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
                body.write_all(&bytes).map_err(io)?;
            }
        }
        write_count(&mut body, status.len()).map_err(io)?;
        body.write_all(status).map_err(io)?;
        let sum = body.hash.digest();
        w.write_all(&sum.to_le_bytes()).map_err(io)?;
        let f = w.into_inner().map_err(|e| io(e.into_error()))?;
        use std::io::{Seek, SeekFrom};
        f.seek(SeekFrom::Start(MAGIC.len() as u64)).map_err(io)?;
        f.write_all(&header_len.to_le_bytes()).map_err(io)?;
        file.commit_unsynced().map_err(io)
    }

    /// Reads the store at `path` if it exists, is readable and has this signature; `None`
    /// otherwise (a missing, stale or damaged store is simply rebuilt).
    pub fn load_if_fresh(path: &Path, signature: &Signature) -> Option<Store> {
        Store::load(path).filter(|s| &s.header.signature == signature)
    }

    /// Reads the store at `path` whatever project it was made for; `None` if it is missing or
    /// damaged. Its columns are read in place from the file mapped into memory
    /// ([`crate::column`]).
    pub fn load(path: &Path) -> Option<Store> {
        let bytes = Arc::new(Mapped::whole(&fs::File::open(path).ok()?).ok()?);
        // Everything after the header's length, then its xxh3, checked on another core while the
        // store is read (at 2 GB of notes, 150 MB hashed in 27 ms).
        let (body, sum) = bytes.get(HEAD..)?.split_last_chunk::<8>()?;
        if bytes.get(..MAGIC.len())? != MAGIC {
            return None;
        }
        let intact = || xxhash_rust::xxh3::xxh3_64(body) == u64::from_le_bytes(*sum);
        let (intact, store) =
            std::thread::scope(|scope| match std::thread::Builder::new().spawn_scoped(scope, intact) {
                Ok(check) => {
                    let store = Store::read(&bytes, body);
                    (check.join().unwrap_or(false), store)
                }
                // No thread to be had: one after the other.
                Err(_) => (intact(), Store::read(&bytes, body)),
            });
        store.filter(|_| intact)
    }

    /// The store in `body`, the bytes of `bytes` after the header's length and before the
    /// checksum.
    fn read(bytes: &Arc<Mapped>, body: &[u8]) -> Option<Store> {
        let mut r = In(body);
        let at = |r: &In| bytes.len() - 8 - r.0.len();
        let n = usize::try_from(u64::from_le_bytes(bytes[MAGIC.len()..HEAD].try_into().ok()?)).ok()?;
        let header: Header = serde_json::from_slice(r.take(n)?).ok()?;
        let mut s = Store { header, ..Store::default() };
        let docs = usize::try_from(r.u64()?).ok()?;
        let block_len = usize::try_from(r.u64()?).ok()?;
        let block = at(&r)..at(&r).checked_add(block_len)?;
        r.take(block_len)?;
        s.header.docs = Docs::read(bytes, block, docs, s.header.attr_strings.len())?;
        // A column: its count, zeros up to a multiple of 8 bytes in the file, its values.
        fn column<T: bytemuck::Pod + FromLe>(
            r: &mut In,
            bytes: &Arc<Mapped>,
            at: impl Fn(&In) -> usize,
        ) -> Option<Column<T>> {
            let n = usize::try_from(r.u64()?).ok()?;
            r.take(at(r).next_multiple_of(8) - at(r))?;
            let col = Column::at(bytes, at(r), n)?;
            r.take(n * size_of::<T>())?;
            Some(col)
        }
        s.passage_doc = column(&mut r, bytes, at)?;
        s.passage_words = column(&mut r, bytes, at)?;
        s.passage_speaker = column(&mut r, bytes, at)?;
        s.passage_section = column(&mut r, bytes, at)?;
        s.coding_unit = column(&mut r, bytes, at)?;
        s.coding_code = column(&mut r, bytes, at)?;
        s.coding_coder = column(&mut r, bytes, at)?;
        s.coding_status = column(&mut r, bytes, at)?;
        let np = s.passage_doc.len();
        let nc = s.coding_unit.len();
        let (ndocs, ncodes, ncoders) = (s.header.docs.len(), s.header.codes.len(), s.header.coders.len());
        let whole = r.is_empty()
            && [s.passage_words.len(), s.passage_speaker.len(), s.passage_section.len()].iter().all(|&l| l == np)
            && [s.coding_code.len(), s.coding_coder.len(), s.coding_status.len()].iter().all(|&l| l == nc)
            && s.passage_doc.iter().all(|&d| (d as usize) < ndocs)
            && s.coding_unit.iter().all(|&u| (u as usize) < np)
            && s.coding_code.iter().all(|&c| (c as usize) < ncodes)
            && s.coding_coder.iter().all(|&c| (c as usize) < ncoders)
            && s.header.orphans.len() == s.header.orphan_docs.len()
            && s.header
                .orphans
                .iter()
                .all(|&(c, _, r)| (c as usize) < ncoders && (r == NONE || (r as usize) < ncoders));
        whole.then_some(s)
    }

    /// The group of passage `k`, as [`GroupBy::value`] gives it for the loaded study.
    fn group(&self, by: &GroupBy, k: usize) -> String {
        let d = self.header.docs.get(self.passage_doc[k] as usize);
        let pick = |list: &[String], i: u32| (i != NONE).then(|| list[i as usize].clone());
        let v = match by {
            GroupBy::Attribute(a) => {
                let strings = &self.header.attr_strings;
                d.attrs().find(|&(k, _)| strings[k as usize] == *a).map(|(_, v)| strings[v as usize].clone())
            }
            GroupBy::Year => d.year.map(|y| y.to_string()),
            GroupBy::Speaker => pick(&self.header.speakers, self.passage_speaker[k]),
            GroupBy::Section => pick(&self.header.sections, self.passage_section[k]),
        };
        v.filter(|s| !s.is_empty()).unwrap_or_else(|| "(none)".to_string())
    }

    /// Each note in path order, with its attribute `keys` (as text; empty where absent), its
    /// passages, those with an accepted coding (by anyone, or accepted by a reviewer), the
    /// passages each coder has accepted codings on, and the passages with a suggestion waiting.
    pub fn notes_overview(&self, keys: &[&str]) -> Vec<NoteOverview> {
        let strings = &self.header.attr_strings;
        let docs = &self.header.docs;
        let mut out: Vec<NoteOverview> = (0..docs.len())
            .map(|i| docs.get(i))
            .map(|d| NoteOverview {
                path: d.path().to_string(),
                attributes: keys
                    .iter()
                    .map(|k| {
                        d.attrs()
                            .find(|&(a, _)| strings[a as usize] == *k)
                            .map(|(_, v)| strings[v as usize].clone())
                            .unwrap_or_default()
                    })
                    .collect(),
                ..NoteOverview::default()
            })
            .collect();
        let passage_doc: &[u32] = &self.passage_doc;
        for &d in passage_doc {
            out[d as usize].passages += 1;
        }
        // Per note: coded passages, each coder's passages, passages with a suggestion.
        let mut coded: std::collections::HashSet<u32> = std::collections::HashSet::new();
        let mut by: std::collections::HashSet<(u32, u32)> = std::collections::HashSet::new();
        let mut waiting: std::collections::HashSet<u32> = std::collections::HashSet::new();
        self.each_row(|unit, _, coder, status| match status {
            s if s == Status::Accepted as u8 => {
                coded.insert(unit);
                by.insert((unit, coder));
            }
            s if s == Status::Suggested as u8 => {
                waiting.insert(unit);
            }
            _ => {}
        });
        for u in coded {
            out[passage_doc[u as usize] as usize].coded += 1;
        }
        for u in waiting {
            out[passage_doc[u as usize] as usize].suggested += 1;
        }
        for (u, coder) in by {
            let note = &mut out[passage_doc[u as usize] as usize];
            *note.by.entry(self.header.coders[coder as usize].clone()).or_default() += 1;
        }
        out
    }

    /// The theme table of passages counted, grouped `by`, under `sel` (no roll-up): each
    /// group's passages and, per code, those carrying it, what `report stats`, the HTML report
    /// and `codebook show` count from.
    pub fn passage_table(&self, book: &Codebook, by: &str, sel: &Selection) -> Result<crate::ThemeTable> {
        let frames = self.frames(book, &GroupBy::parse(by), sel, false)?;
        crate::theme_table(&frames, book, by, crate::UnitKind::Passages, crate::Measure::Count, &sel.describe(), false)
    }

    /// Each note's passages in order, with the codes each carries under `sel` (their places in
    /// `book`; codes not in it left out), handed to `each` a note at a time: what co-occurrence
    /// counts ([`crate::analysis::CooccurrenceCounts::add_note`]).
    pub fn for_each_note_codes(
        &self,
        book: &Codebook,
        sel: &Selection,
        mut each: impl FnMut(&[std::collections::BTreeSet<usize>]),
    ) {
        let place: Vec<Option<usize>> =
            self.header.codes.iter().map(|c| book.codes.iter().position(|b| &b.id == c)).collect();
        let admits = self.admits(sel);
        // A bit per (passage, code of the book), as `frames` has them.
        let k = book.codes.len();
        let mut bits = vec![0u64; (self.passages() * k).div_ceil(64)];
        self.each_row(|unit, code, coder, status| {
            if admits(coder, status)
                && let Some(p) = place[code as usize]
            {
                let b = unit as usize * k + p;
                bits[b / 64] |= 1 << (b % 64);
            }
        });
        // A note's passages follow each other.
        let passage_doc: &[u32] = &self.passage_doc;
        let mut start = 0;
        let mut sets = Vec::new();
        while start < passage_doc.len() {
            let doc = passage_doc[start];
            let end = start + passage_doc[start..].iter().take_while(|&&d| d == doc).count();
            sets.clear();
            sets.extend(
                (start..end)
                    .map(|u| (0..k).filter(|&c| bits[(u * k + c) / 64] >> ((u * k + c) % 64) & 1 == 1).collect()),
            );
            each(&sets);
            start = end;
        }
    }

    /// The frames for a table grouped `by`, counting the codings `sel` admits, each code once
    /// per passage: what [`Frames::build`] gives from the loaded study.
    pub fn frames(&self, book: &Codebook, by: &GroupBy, sel: &Selection, rollup: bool) -> Result<Frames> {
        // A passage's group depends on its note (attributes, year), speaker or section only:
        // each distinct one is named once, and the names sorted as the frames want them.
        // The key of a note's group is the index of its value (each distinct string is kept
        // once), not the note: keyed by note, each of 324,641 notes made its group's name
        // anew.
        let attr = match by {
            GroupBy::Attribute(a) => self.header.attr_strings.iter().position(|s| s == a).map(|i| i as u32),
            _ => None,
        };
        let (passage_doc, passage_words): (&[u32], &[u32]) = (&self.passage_doc, &self.passage_words);
        let (speaker, section): (&[u32], &[u32]) = (&self.passage_speaker, &self.passage_section);
        // The key of a note's attribute or year is found once per note.
        let mut doc_key: Option<(u32, Option<u32>)> = None;
        let mut key = |k: usize| -> Option<u32> {
            let index = |i: u32| (i != NONE).then_some(i);
            let d = passage_doc[k];
            match by {
                GroupBy::Speaker => index(speaker[k]),
                GroupBy::Section => index(section[k]),
                _ if doc_key.is_some_and(|(kd, _)| kd == d) => doc_key.and_then(|(_, key)| key),
                _ => {
                    let doc = self.header.docs.get(d as usize);
                    let key = match by {
                        GroupBy::Year => doc.year.map(|y| y as u32),
                        _ => attr.and_then(|a| doc.attr(a)),
                    };
                    doc_key = Some((d, key));
                    key
                }
            }
        };
        // A passage's key is mostly its neighbour's, so each run of equal keys is looked up
        // once.
        let (mut slot, mut names) = (HashMap::new(), Interner::default());
        let mut last: Option<(Option<u32>, u32)> = None;
        let mut group_of = |k: usize| {
            let key = key(k);
            match last {
                Some((lk, g)) if lk == key => g,
                _ => {
                    let g = *slot.entry(key).or_insert_with(|| names.get(&self.group(by, k)));
                    last = Some((key, g));
                    g
                }
            }
        };
        let admits = self.admits(sel);
        // Which codes each passage carries: a bit per (passage, code).
        let n_codes = self.header.codes.len();
        let mut bits = vec![0u64; (self.passages() * n_codes).div_ceil(64)];
        self.each_row(|unit, code, coder, status| {
            if admits(coder, status) {
                let b = unit as usize * n_codes + code as usize;
                bits[b / 64] |= 1 << (b % 64);
            }
        });
        // The names a code counts under: itself, and with `rollup` its ancestors. Each name is
        // a number here, in name order, so that a passage's rows are made, sorted and told
        // apart without comparing or hashing a string; the frames' codes are the codebook's,
        // then the others in the order a passage first has them.
        let mut name_list: Vec<&str> = Vec::new();
        let mut under: Vec<Vec<&str>> = Vec::with_capacity(n_codes);
        for c in &self.header.codes {
            let mut names = vec![c.as_str()];
            if rollup {
                names.extend(book.ancestors(c));
            }
            name_list.extend(&names);
            under.push(names);
        }
        name_list.sort_unstable();
        name_list.dedup();
        let number = |n: &str| name_list.binary_search(&n).unwrap_or_default() as u32;
        let under: Vec<Vec<u32>> = under.iter().map(|ns| ns.iter().map(|n| number(n)).collect()).collect();
        let mut code_ids: Vec<String> = book.codes.iter().map(|c| c.id.clone()).collect();
        let mut frame_code: Vec<u32> =
            name_list.iter().map(|n| book.codes.iter().position(|c| c.id == *n).map_or(NONE, |i| i as u32)).collect();
        // Each note's passages are next to each other: their rows are added up per group (and
        // code) from where the note's rows begin.
        let (mut passages, mut coded) = (Rows::default(), Rows::default());
        let (mut passages_from, mut coded_from) = (0, 0);
        let mut set: Vec<u32> = Vec::new();
        for k in 0..self.passages() {
            let (doc, g, w) = (passage_doc[k], group_of(k), passage_words[k]);
            if k > 0 && passage_doc[k - 1] != doc {
                (passages_from, coded_from) = (passages.doc.len(), coded.doc.len());
            }
            passages.add(passages_from, doc, g, None, w);
            // The passage's codes: the set bits of its run, a word at a time.
            set.clear();
            let (lo, hi) = (k * n_codes, (k + 1) * n_codes);
            let mut b = lo;
            while b < hi {
                let word = bits[b / 64] >> (b % 64);
                if word == 0 {
                    b = (b / 64 + 1) * 64;
                    continue;
                }
                b += word.trailing_zeros() as usize;
                if b < hi {
                    set.extend(&under[b - lo]);
                }
                b += 1;
            }
            set.sort_unstable();
            set.dedup();
            for &n in &set {
                if frame_code[n as usize] == NONE {
                    code_ids.push(name_list[n as usize].to_string());
                    frame_code[n as usize] = (code_ids.len() - 1) as u32;
                }
                coded.add(coded_from, doc, g, Some(frame_code[n as usize]), w);
            }
        }
        Frames::from_sums(names.list, passages, coded, code_ids)
    }
}

/// Bytes before the header: the magic and the header's length.
const HEAD: usize = MAGIC.len() + 8;

/// Writes a column's count, then zeros up to the next multiple of 8 bytes in the file (`w` having
/// counted the bytes after [`HEAD`]).
fn write_count<W: Write>(w: &mut Hashed<W>, n: usize) -> std::io::Result<()> {
    w.write_all(&(n as u64).to_le_bytes())?;
    let at = HEAD as u64 + w.n;
    w.write_all(&[0; 8][..(at.next_multiple_of(8) - at) as usize])
}

/// A writer that counts and hashes the bytes that pass through it.
struct Hashed<W> {
    inner: W,
    n: u64,
    hash: xxhash_rust::xxh3::Xxh3,
}

impl<W: Write> Write for Hashed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        self.hash.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fieldnotes_coding::{Anchorer, Coding, units};
    use fieldnotes_corpus::{Document, SplitOptions, parse_document};

    fn note(path: &str, text: &str) -> Document {
        parse_document(path.into(), text.into(), &SplitOptions { speaker_turns: false }).unwrap()
    }

    fn coding(doc: &Document, passage: usize, code: &str, coder: &str, status: &str) -> Coding {
        let p = &doc.passages[passage];
        let text = doc.passage_text(p).to_string();
        let start = p.start;
        serde_json::from_value(serde_json::json!({
            "id": format!("{}-{passage}-{code}-{coder}", doc.path), "doc": doc.path,
            "start": start, "end": start + text.chars().count(),
            "hash": fieldnotes_corpus::text_hash(&text), "text": text, "code": code, "coder": coder,
            "origin": "manual", "status": status, "time": "2026-01-01T00:00:00Z",
        }))
        .unwrap()
    }

    /// Every row that counts, sorted.
    fn rows(s: &Store) -> Vec<(u32, u32, u32, u8)> {
        let mut out = Vec::new();
        s.each_row(|u, c, k, st| out.push((u, c, k, st)));
        out.sort_unstable();
        out
    }

    #[test]
    fn a_saved_store_is_read_in_place_and_a_note_made_again_counts_as_a_rebuild_would() {
        let a = note("a.md", "---\nsite: A\n---\nOne trust.\n\nTwo.\n\nThree trust.\n");
        let b = note("b/é.md", "---\nsite: B é\n---\nFour.\n\nFive trust.\n");
        let corpus = Corpus { documents: vec![a.clone(), b.clone()], skipped: vec![] };
        let build = |codings: &[Coding]| {
            let mut builder = Store::builder(Signature::default());
            builder.add_notes(&corpus);
            for (di, d) in corpus.documents.iter().enumerate() {
                let mine = codings.iter().filter(|c| c.doc == d.path);
                builder.add_codings(&units::place_in_doc(di, d, mine, &mut Anchorer::new(None)));
            }
            builder.finish(vec!["a warning".into()], vec![])
        };
        let before = [
            coding(&a, 0, "trust", "hb", "accepted"),
            coding(&a, 2, "trust", "rules", "suggested"),
            coding(&b, 1, "x", "hb", "accepted"),
        ];
        let store = build(&before);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(STORE_FILE);
        store.save(&path).unwrap();
        let mut loaded = Store::load(&path).unwrap();
        // Every column is read in place, where the file has it at a multiple of 8 bytes.
        let shared = |c: &Column<u32>| matches!(c, Column::Shared { at, .. } if at % 8 == 0);
        if cfg!(all(unix, target_endian = "little")) {
            for c in [&loaded.passage_doc, &loaded.passage_words, &loaded.passage_section, &loaded.coding_code] {
                assert!(shared(c), "{c:?}");
            }
        }
        assert_eq!(rows(&loaded), rows(&store));
        assert_eq!(*loaded.passage_words, *store.passage_words);
        assert_eq!(loaded.warnings(), ["a warning"]);
        // The notes, read in place too: found by path, with their attributes.
        assert!(matches!(loaded.header.docs.bytes, Column::Shared { .. }));
        assert!(loaded.has_note("b/é.md") && !loaded.has_note("b.md"));
        let overview = loaded.notes_overview(&["site", "kind"]);
        let seen: Vec<(&str, &[String])> = overview.iter().map(|n| (n.path.as_str(), &n.attributes[..])).collect();
        assert_eq!(seen, [("a.md", &["A".to_string(), String::new()][..]), ("b/é.md", &["B é".into(), "".into()])]);
        // Note a.md made again with other codings: the store counts what one built from them
        // counts, in memory and once saved and read back.
        let after = [coding(&a, 1, "x", "jm", "accepted"), coding(&b, 1, "x", "hb", "accepted")];
        let placed = units::place_in_doc(0, &a, after.iter().filter(|c| c.doc == "a.md"), &mut Anchorer::new(None));
        loaded.replace_note("a.md", 3, &placed).unwrap();
        assert!(loaded.replace_note("a.md", 2, &placed).is_none());
        let rebuilt = build(&after);
        let named = |s: &Store| {
            let h = &s.header;
            let mut r: Vec<(u32, String, String, u8)> = rows(s)
                .into_iter()
                .map(|(u, c, k, st)| (u, h.codes[c as usize].clone(), h.coders[k as usize].clone(), st))
                .collect();
            r.sort();
            r
        };
        assert_eq!(named(&loaded), named(&rebuilt));
        assert_eq!(loaded.coded_rows(), 2);
        loaded.save(&path).unwrap();
        assert_eq!(named(&Store::load(&path).unwrap()), named(&rebuilt));
    }
}
