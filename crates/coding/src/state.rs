//! The coding state: a derived copy of each ledger, folded, with the codings of each note kept
//! apart, so that a command about one note reads that note's codings and the ledger bytes
//! appended since the state was written, not the whole ledger.
//!
//! The ledgers stay the truth. For each, `.fieldnotes/state/<coder>.codings` holds the fold of
//! its first `len` bytes (whole lines): per note, the current codings and the ids removed, each
//! with its place in the order of first addition. It records `len`, the number of lines in it,
//! and the hash of the ledger's first 4 KiB (with which file it is) and of the 4 KiB before `len`: a ledger shorter than
//! `len` or with either hash changed was rewritten (a checkout, an edit by hand), and the state is
//! made again from the whole ledger. Otherwise the lines after `len` are folded onto the note's
//! codings as they are read, up to [`TAIL_LIMIT`] bytes; past that the state is made again.
//!
//! Folding a note's part of a ledger gives exactly the codings of that note in the fold of the
//! whole ledger, because every event about a coding names it by an id that belongs to one note
//! (an id is made from the note's path, and a `move` stays in its note): an `add` names its
//! note, and any other event applies only to ids added before. The property test in this module
//! checks that over random ledgers, rewrites and torn writes.
//!
//! A state file is `FNCODST8`, the blocks (one per note, binary: its codings and removed ids,
//! each with its place; see [`encode_block`]), the table of notes (binary: path, offset, length,
//! checksum of the block, reviewers), the header
//! (JSON), and the lengths of the table and of the header (u64 each, little endian) at the very
//! end, so the blocks go to the file as they are made. A note's codings are one binary search of
//! the table and one read of its block.
//!
//! The state files are written to a temporary file and renamed, not fsynced: one lost or cut
//! short by a crash fails its checks and is made again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use fieldnotes_corpus::bytes::{In, Out};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ledger::{BadLine, Coding, Event, Ledger, LedgerState, fold_lines_from};

/// The folder of coding states, under the project's `.fieldnotes/`.
pub const STATE_DIR: &str = "state";

/// New ledger bytes folded on the fly; past this the state is made again.
pub const TAIL_LIMIT: u64 = 1 << 20;

/// Bytes hashed at the ledger's head and before the folded length.
const CHECK_BYTES: u64 = 4096;

const MAGIC: &[u8; 8] = b"FNCODST8";

/// What a state file says of the ledger it was made from.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct Header {
    /// Bytes of the ledger folded (whole lines).
    len: u64,
    /// Lines in them.
    lines: usize,
    /// Events in them.
    events: usize,
    /// Coding ids added in them: the place the next new id takes.
    ids: u64,
    /// xxh3 of the ledger's first `min(len, CHECK_BYTES)` bytes.
    head: u64,
    /// xxh3 of the `min(len, CHECK_BYTES)` bytes before `len`.
    before: u64,
    /// The ledger's time of last change ([`fieldnotes_corpus::changed_ns`]) when it was `len`
    /// bytes long: while it is that long, another time means it was rewritten in place.
    #[serde(default)]
    changed: i128,
    /// Unreadable lines among them.
    bad: Vec<Bad>,
    /// Notes, sorted by path.
    notes: usize,
    /// Bytes of the note table and of the blocks, to check the file is whole.
    table_bytes: u64,
    blocks_bytes: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Bad {
    line: usize,
    message: String,
    torn: bool,
}

/// One note's part of the fold.
#[derive(Clone, Debug, Default)]
struct Block {
    /// Current codings, each with its place in the order of first addition (written in the
    /// order of their ids).
    codings: Vec<(u64, Coding)>,
    /// Ids added once and removed since, with their place.
    removed: Vec<(u64, String)>,
}

/// Who reviewed `codings`, sorted, once each.
fn reviewers_of<'a>(codings: impl IntoIterator<Item = &'a Coding>) -> Vec<String> {
    let mut out: Vec<String> =
        codings.into_iter().filter_map(|c| c.reviewer.clone()).filter(|r| !r.is_empty()).collect();
    out.sort();
    out.dedup();
    out
}

/// Whether no two of `codings` have the same id.
fn distinct_ids(codings: &[&Coding]) -> bool {
    let mut seen = rustc_hash::FxHashSet::default();
    codings.iter().all(|c| seen.insert(c.id.as_str()))
}

impl Block {
    /// Who reviewed its current codings, sorted, once each.
    fn reviewers(&self) -> Vec<String> {
        reviewers_of(self.codings.iter().map(|(_, c)| c))
    }

    /// Folds `add`s of `adds`, in order, onto the note's part, as the whole fold does: a standing
    /// id is left as it is; a removed one is added again in its old place; a new id
    /// takes place `next`, which is then moved on. The ids are looked up in a map made once (one
    /// search of the codings per add made 17,000 suggestions on one note quadratic).
    fn add_all<'a>(&mut self, adds: impl IntoIterator<Item = &'a Coding>, next: &mut u64) {
        let mut standing: rustc_hash::FxHashSet<String> = self.codings.iter().map(|(_, c)| c.id.clone()).collect();
        let mut removed: rustc_hash::FxHashMap<String, u64> =
            std::mem::take(&mut self.removed).into_iter().map(|(seq, id)| (id, seq)).collect();
        for c in adds {
            // A second `add` of a standing coding changes nothing ([`LedgerState::apply`]).
            if !standing.insert(c.id.clone()) {
                continue;
            }
            let seq = removed.remove(&c.id).unwrap_or_else(|| {
                *next += 1;
                *next - 1
            });
            self.codings.push((seq, c.clone()));
        }
        self.removed = removed.into_iter().map(|(id, seq)| (seq, id)).collect();
        self.removed.sort_unstable();
    }
}

/// A table entry: a note's path, where its block is in the blocks section, the block's checksum,
/// and who reviewed its current codings. The table is binary (per entry, little endian: the path
/// as a u32 length and its bytes, offset, length and checksum as u64, the reviewers as a u32
/// count and each as a string): as JSON it took 4 ms to read for 16,000 notes, a tenth of a
/// `code add`.
#[derive(Clone, Debug)]
struct Entry {
    path: String,
    offset: u64,
    len: u64,
    /// xxh3 of the block's bytes: a block damaged in place (its file's length kept) is not
    /// read as codings.
    sum: u64,
    reviewers: Vec<String>,
}

/// Where a note's block is, and its checksum.
#[derive(Clone, Copy, Debug)]
struct Place {
    offset: u64,
    len: u64,
    sum: u64,
}

impl Entry {
    fn place(&self) -> Place {
        Place { offset: self.offset, len: self.len, sum: self.sum }
    }
}

/// The bytes of the block at `place` of the blocks section (at `blocks_at` in `file`), checked
/// against its checksum; `None` if they cannot be read or are not those written.
fn read_block(file: &File, blocks_at: u64, place: Place, buf: &mut Vec<u8>) -> Option<()> {
    buf.resize(usize::try_from(place.len).ok()?, 0);
    let mut file = file;
    file.seek(SeekFrom::Start(blocks_at + place.offset)).ok()?;
    file.read_exact(buf).ok()?;
    (xxhash_rust::xxh3::xxh3_64(buf) == place.sum).then_some(())
}

fn encode_table(table: &[Entry]) -> Vec<u8> {
    let mut out = Out(Vec::with_capacity(table.iter().map(|e| 24 + e.path.len()).sum()));
    for e in table {
        out.str(&e.path);
        out.u64(e.offset);
        out.u64(e.len);
        out.u64(e.sum);
        out.u32(e.reviewers.len() as u32);
        for r in &e.reviewers {
            out.str(r);
        }
    }
    out.0
}

/// Reads one entry of an encoded table: its path and its block's place (offset, length,
/// checksum), each reviewer going to `reviewer`. The one reader of the table's format, for [`scan_table`] and [`decode_table`].
fn read_entry<'a>(b: &mut In<'a>, mut reviewer: impl FnMut(&'a str)) -> Option<(&'a str, Place)> {
    let path = b.str()?;
    let place = Place { offset: b.u64()?, len: b.u64()?, sum: b.u64()? };
    for _ in 0..b.u32()? {
        reviewer(b.str()?);
    }
    Some((path, place))
}

/// Reads an encoded table through without making its entries: each entry's path and place go
/// to `each`, which says whether to go on. The entries read, or `None` if the table
/// does not read to its end (or `each` stopped it).
fn scan_table<'a>(b: &'a [u8], mut each: impl FnMut(&'a str, Place) -> bool) -> Option<usize> {
    let mut b = In(b);
    let mut n = 0;
    while !b.is_empty() {
        let (path, place) = read_entry(&mut b, |_| {})?;
        n += 1;
        if !each(path, place) {
            return None;
        }
    }
    Some(n)
}

fn decode_table(b: &[u8]) -> Option<Vec<Entry>> {
    let mut out = Vec::new();
    let mut b = In(b);
    while !b.is_empty() {
        let mut reviewers = Vec::new();
        let (path, Place { offset, len, sum }) = read_entry(&mut b, |r| reviewers.push(r.to_string()))?;
        out.push(Entry { path: path.to_string(), offset, len, sum, reviewers });
    }
    Some(out)
}

/// A note's block in binary ([`fieldnotes_corpus::bytes`]: numbers and lengths as LEB128): the
/// number of codings, then each with its place and its fields in the order `Coding` declares
/// them (origin and status as their bytes, an option as a flag byte, the evidence as a count and
/// each hit's rule, words, start and end), then the removed ids with their places. The strings
/// a note's codings share (its path, the codes, coders, times, versions and rules) are written
/// once in a block ([`Shared`]); ids, passage hashes and the words of hits, nearly all different,
/// as they are. As JSON a note of 17,000 suggestions took 70 ms to read; with every string and
/// number written whole the state of 210,000 suggestions was 58 MB, 70% of the ledger's size.
fn encode_block(block: &Block) -> Vec<u8> {
    encode_codings(block.codings.iter().map(|(seq, c)| (*seq, c)).collect(), &block.removed)
}

/// The strings of a block written once each: a string is given as its number among those the
/// block gave before it, or, the first time, as the count of those and then the string.
#[derive(Default)]
struct Shared<'a> {
    given: Vec<&'a str>,
    /// The same, by string, once there are more than a few.
    numbers: FxHashMap<&'a str, u64>,
}

/// Strings a block gives before looking them up by hash rather than one by one.
const FEW_SHARED: usize = 16;

impl<'a> Shared<'a> {
    fn put(&mut self, out: &mut Out, s: &'a str) {
        let found = if self.given.len() <= FEW_SHARED {
            self.given.iter().position(|g| *g == s).map(|i| i as u64)
        } else {
            self.numbers.get(s).copied()
        };
        if let Some(n) = found {
            out.var(n);
            return;
        }
        out.var(self.given.len() as u64);
        out.vstr(s);
        self.given.push(s);
        if self.given.len() > FEW_SHARED {
            if self.numbers.is_empty() {
                self.numbers.extend(self.given.iter().enumerate().map(|(i, g)| (*g, i as u64)));
            } else {
                self.numbers.insert(s, self.given.len() as u64 - 1);
            }
        }
    }

    fn put_opt(&mut self, out: &mut Out, s: Option<&'a str>) {
        match s {
            Some(s) => {
                out.u8(1);
                self.put(out, s);
            }
            None => out.u8(0),
        }
    }
}

/// [`Shared`] read back.
#[derive(Default)]
struct SharedIn<'a> {
    given: Vec<&'a str>,
}

impl<'a> SharedIn<'a> {
    fn get(&mut self, b: &mut In<'a>) -> Option<&'a str> {
        let n = usize::try_from(b.var()?).ok()?;
        match n.cmp(&self.given.len()) {
            std::cmp::Ordering::Less => Some(self.given[n]),
            std::cmp::Ordering::Equal => {
                let s = b.vstr()?;
                self.given.push(s);
                Some(s)
            }
            std::cmp::Ordering::Greater => None,
        }
    }

    fn get_opt(&mut self, b: &mut In<'a>) -> Option<Option<&'a str>> {
        match b.u8()? {
            0 => Some(None),
            1 => Some(Some(self.get(b)?)),
            _ => None,
        }
    }
}

/// [`encode_block`] of a block's codings, each with its place, given by reference, and its
/// removed ids.
fn encode_codings(mut sorted: Vec<(u64, &Coding)>, removed: &[(u64, String)]) -> Vec<u8> {
    let mut out = Out(Vec::with_capacity(sorted.len() * 96 + 64));
    let mut shared = Shared::default();
    out.var(sorted.len() as u64);
    // In the order of their ids, as a reader's map of them wants them.
    sorted.sort_unstable_by(|a, b| a.1.id.cmp(&b.1.id));
    for (seq, c) in sorted {
        out.var(seq);
        out.vstr(&c.id);
        shared.put(&mut out, &c.doc);
        out.var(c.start as u64);
        out.var(c.end as u64);
        out.vstr(&c.hash);
        for s in [&c.text, &c.code, &c.coder] {
            shared.put(&mut out, s);
        }
        out.u8(c.origin as u8);
        out.u8(c.status as u8);
        shared.put_opt(&mut out, c.memo.as_deref());
        out.var(c.evidence.len() as u64);
        for h in &c.evidence {
            shared.put(&mut out, &h.rule);
            out.vstr(&h.text);
            out.var(h.start as u64);
            out.var(h.end as u64);
        }
        shared.put(&mut out, &c.time);
        shared.put_opt(&mut out, c.base.as_deref());
        shared.put_opt(&mut out, c.reviewer.as_deref());
    }
    out.var(removed.len() as u64);
    for (seq, id) in removed {
        out.var(*seq);
        out.vstr(id);
    }
    out.0
}

/// A number of a block as a `usize`.
fn var_usize(b: &mut In) -> Option<usize> {
    usize::try_from(b.var()?).ok()
}

fn decode_block(b: &[u8]) -> Option<Block> {
    let mut b = In(b);
    let mut shared = SharedIn::default();
    let n = var_usize(&mut b)?;
    let mut codings = Vec::with_capacity(n.min(1 << 20));
    for _ in 0..n {
        let seq = b.var()?;
        let id = b.vstr()?.to_string();
        let doc = shared.get(&mut b)?.to_string();
        let (start, end) = (var_usize(&mut b)?, var_usize(&mut b)?);
        let hash = b.vstr()?.to_string();
        let (text, code, coder) = (shared.get(&mut b)?, shared.get(&mut b)?, shared.get(&mut b)?);
        let origin = *crate::ledger::Origin::ALL.get(usize::from(b.u8()?))?;
        let status = *crate::ledger::Status::ALL.get(usize::from(b.u8()?))?;
        let memo = shared.get_opt(&mut b)?.map(str::to_string);
        let hits = var_usize(&mut b)?;
        let mut evidence = Vec::with_capacity(hits.min(1 << 10));
        for _ in 0..hits {
            let rule = shared.get(&mut b)?.to_string();
            let text = b.vstr()?.to_string();
            let (start, end) = (var_usize(&mut b)?, var_usize(&mut b)?);
            evidence.push(crate::autocode::Hit { rule, text, start, end });
        }
        let time = shared.get(&mut b)?.to_string();
        let (base, reviewer) = (shared.get_opt(&mut b)?, shared.get_opt(&mut b)?);
        let c = Coding {
            id,
            doc,
            start,
            end,
            hash,
            text: text.to_string(),
            code: code.to_string(),
            coder: coder.to_string(),
            origin,
            status,
            memo,
            evidence,
            time,
            base: base.map(str::to_string),
            reviewer: reviewer.map(str::to_string),
        };
        codings.push((seq, c));
    }
    let n = var_usize(&mut b)?;
    let mut removed = Vec::with_capacity(n.min(1 << 20));
    for _ in 0..n {
        removed.push((b.var()?, b.vstr()?.to_string()));
    }
    b.is_empty().then_some(Block { codings, removed })
}

/// A coding as a state's block holds it, borrowed from the block's bytes, without its memo,
/// evidence and time: what a compact table of every coding needs ([`crate::CodingTable`]).
pub struct LeanCoding<'a> {
    /// Its place in the order of first addition.
    pub place: u64,
    /// [`Coding::id`].
    pub id: &'a str,
    /// [`Coding::doc`].
    pub doc: &'a str,
    /// [`Coding::start`].
    pub start: u64,
    /// [`Coding::end`].
    pub end: u64,
    /// [`Coding::hash`].
    pub hash: &'a str,
    /// [`Coding::text`].
    pub text: &'a str,
    /// [`Coding::code`].
    pub code: &'a str,
    /// [`Coding::origin`].
    pub origin: crate::ledger::Origin,
    /// [`Coding::status`].
    pub status: crate::ledger::Status,
    /// [`Coding::base`].
    pub base: Option<&'a str>,
    /// [`Coding::reviewer`].
    pub reviewer: Option<&'a str>,
}

/// What [`States::for_each`] hands over, in turn.
pub enum Folded<'a> {
    /// A current coding of the state.
    Coding(LeanCoding<'a>),
    /// An id added and removed since, with its place.
    Removed(u64, &'a str),
}

/// A ledger's coding state, opened once ([`States::open_lean`]), to read the codings of a few
/// notes at a time without the rest, or of all of them, without memos, evidence and times: the
/// state's note table in memory, each note's block read when asked for, and the events of the
/// ledger lines appended since the state was made (at most [`TAIL_LIMIT`] bytes of them).
pub struct LeanState {
    /// The state file, for errors.
    path: PathBuf,
    opened: Opened,
    tail: Vec<Event>,
    bad: Vec<BadLine>,
}

impl LeanState {
    /// The places the state's codings and removed ids take: the first event of the lines
    /// after the state comes at this place.
    pub fn places(&self) -> u64 {
        self.opened.header.ids
    }

    /// The ledger's unreadable lines, in the state and after it.
    pub fn bad_lines(&self) -> &[BadLine] {
        &self.bad
    }

    /// The events of the ledger lines appended since the state was made, in order.
    pub fn tail(&self) -> &[Event] {
        &self.tail
    }

    /// The notes the state holds codings or removed ids of, sorted.
    pub fn notes(&self) -> impl Iterator<Item = &str> {
        self.opened.table().iter().map(|e| e.path.as_str())
    }

    /// Hands the codings and removed ids the state holds of the notes at `docs` (of every note
    /// with `None`), note by note, to `each`; their places say in what order they were first
    /// added. The lines after the state are not among them ([`LeanState::tail`]).
    pub fn read(&self, docs: Option<&[&str]>, mut each: impl FnMut(Folded<'_>)) -> Result<()> {
        let unreadable = || {
            // Derived from the ledger, and no longer what was written: the next command makes it
            // again rather than read it.
            let _ = std::fs::remove_file(&self.path);
            damaged(self.path.clone())
        };
        let table = self.opened.table();
        let mut buf = Vec::new();
        let mut read = |e: &Entry| -> Result<()> {
            read_block(&self.opened.file, self.opened.blocks_at, e.place(), &mut buf).ok_or_else(unreadable)?;
            decode_block_lean(&buf, &mut each).ok_or_else(unreadable)
        };
        match docs {
            None => table.iter().try_for_each(&mut read),
            Some(docs) => docs
                .iter()
                .filter_map(|d| table.binary_search_by(|e| e.path.as_str().cmp(d)).ok())
                .try_for_each(|i| read(&table[i])),
        }
    }
}

/// Hands each coding and removed id of an encoded block to `each`, skipping memos, evidence and
/// times; `None` if the bytes are not a whole block.
fn decode_block_lean<'a>(b: &'a [u8], each: &mut impl FnMut(Folded<'a>)) -> Option<()> {
    let mut b = In(b);
    let mut shared = SharedIn::default();
    for _ in 0..b.var()? {
        let place = b.var()?;
        let id = b.vstr()?;
        let doc = shared.get(&mut b)?;
        let (start, end) = (b.var()?, b.var()?);
        let hash = b.vstr()?;
        let (text, code, _coder) = (shared.get(&mut b)?, shared.get(&mut b)?, shared.get(&mut b)?);
        let origin = *crate::ledger::Origin::ALL.get(usize::from(b.u8()?))?;
        let status = *crate::ledger::Status::ALL.get(usize::from(b.u8()?))?;
        // What is skipped is still read: a later string may name one first given here.
        shared.get_opt(&mut b)?;
        for _ in 0..b.var()? {
            shared.get(&mut b)?;
            b.vstr()?;
            b.var()?;
            b.var()?;
        }
        shared.get(&mut b)?;
        let (base, reviewer) = (shared.get_opt(&mut b)?, shared.get_opt(&mut b)?);
        let c = LeanCoding { place, id, doc, start, end, hash, text, code, origin, status, base, reviewer };
        each(Folded::Coding(c));
    }
    for _ in 0..b.var()? {
        let place = b.var()?;
        each(Folded::Removed(place, b.vstr()?));
    }
    b.is_empty().then_some(())
}

/// Opens a ledger's file for reading; `None` when it does not exist (an empty ledger).
fn open_ledger(ledger: &Ledger) -> Result<Option<File>> {
    match File::open(ledger.path()) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(Error::Io { path: ledger.path().to_path_buf(), source }),
    }
}

/// The coding states of a project.
#[derive(Clone, Debug)]
pub struct States {
    dir: PathBuf,
    tail_limit: u64,
}

/// A ledger checked against its state file: where the state stands and what is new since.
struct Opened {
    header: Header,
    /// The table as written, read through once ([`scan_table`]); made into entries only when a
    /// command wants them all (324,641 notes' entries took 15 ms, and a command about one note
    /// finds its entry in the bytes).
    table_bytes: fieldnotes_corpus::mapped::Mapped,
    table: std::sync::OnceLock<Vec<Entry>>,
    /// Whether a note was looked for in the bytes already: the next look makes the entries, so
    /// that a command about many notes does not scan the table once per note.
    scanned: std::sync::atomic::AtomicBool,
    /// Offset of the blocks section in the state file.
    blocks_at: u64,
    file: File,
}

impl States {
    /// The states under a project's derived folder (`.fieldnotes/`).
    pub fn new(derived_dir: &Path) -> States {
        States { dir: derived_dir.join(STATE_DIR), tail_limit: TAIL_LIMIT }
    }

    /// The same, making a state again once more than `bytes` of new ledger lines stand after it.
    pub fn with_tail_limit(mut self, bytes: u64) -> States {
        self.tail_limit = bytes;
        self
    }

    fn path(&self, ledger: &Ledger) -> PathBuf {
        self.dir.join(format!("{}.codings", ledger.coder()))
    }

    /// Whether `e` is a state failing to be written (its folder read-only, the disk full): the
    /// state only saves time, and the ledger is read instead.
    fn is_unwritable(&self, e: &Error) -> bool {
        matches!(e, Error::Io { path, .. } if path.starts_with(&self.dir))
    }

    /// The codings of note `doc` in `ledger`, as the fold of the whole ledger has them: a
    /// [`LedgerState`] holding only that note's codings (and ids), with every unreadable line of
    /// the ledger. Makes the state again first when it is missing, stale or too far behind.
    pub fn doc_view(&self, ledger: &Ledger, doc: &str) -> Result<LedgerState> {
        self.docs_view(ledger, &[doc])
    }

    /// [`States::doc_view`] of several notes at once: one [`LedgerState`] holding the codings of
    /// all of them (the state's table and the new lines read once). Of no notes, it holds the
    /// ledger's unreadable lines alone.
    pub fn docs_view(&self, ledger: &Ledger, docs: &[&str]) -> Result<LedgerState> {
        let io = |source| Error::Io { path: ledger.path().to_path_buf(), source };
        let Some(mut file) = open_ledger(ledger)? else { return Ok(LedgerState::default()) };
        let mut made = false;
        let (opened, len, views) = loop {
            let (opened, len) = match self.open_fresh(ledger, &mut file, &mut made) {
                Ok(opened) => opened,
                // A state that cannot be written (a read-only or full disk): the ledger's fold,
                // as the state would have given it.
                Err(e) if self.is_unwritable(&e) => return fold_of_notes(ledger, docs),
                Err(e) => return Err(e),
            };
            let views: Option<Vec<LedgerState>> =
                docs.iter().map(|doc| opened.block_view(ledger.path(), doc)).collect();
            match views {
                Some(views) => break (opened, len, views),
                // A block damaged since it was written: the state is made again from the ledger.
                None if !made => {
                    self.rebuild(ledger)?;
                    made = true;
                }
                None => return Err(damaged(self.path(ledger))),
            }
        };
        // Of no note, the fold's unreadable lines still.
        let mut view = opened.empty_view(ledger.path());
        for (i, one) in views.into_iter().enumerate() {
            // The first note's view is taken whole: moved entry by entry into another, a note
            // of 17,000 codings took 20 ms more.
            if i == 0 {
                view = one;
                continue;
            }
            view.codings.extend(one.codings);
            view.order.extend(one.order);
            view.seen.extend(one.seen);
        }
        let wanted: BTreeSet<&str> = docs.iter().copied().collect();
        // The lines appended since, folded onto the note's codings.
        file.seek(SeekFrom::Start(opened.header.len)).map_err(io)?;
        let reader = BufReader::new(file.take(len - opened.header.len));
        let tail_bad = fold_lines_from(ledger.path(), reader, opened.header.lines + 1, |_, ev| {
            let mine = match &ev {
                Event::Add(c) => wanted.contains(c.doc.as_str()),
                Event::Remove { id, .. }
                | Event::Status { id, .. }
                | Event::Move { id, .. }
                | Event::Memo { id, .. } => view.seen.contains(id),
            };
            if mine {
                view.apply(ev);
            } else {
                view.events += 1;
            }
        })
        .map_err(io)?;
        view.bad_lines.extend(tail_bad);
        Ok(view)
    }

    /// The notes `ledger` has codings in (or had: notes whose codings were all removed may be
    /// among them), each with who reviewed codings there: from the state's table and the
    /// ledger lines appended since. A superset of the notes a whole fold places codings in,
    /// which a caller narrows by placing the codings of those notes. `None` when a line after
    /// the state does not name its note (written by an earlier version) even once the state is
    /// made again: the caller then reads the whole ledger.
    pub fn notes(&self, ledger: &Ledger) -> Result<Option<BTreeMap<String, BTreeSet<String>>>> {
        let io = |source| Error::Io { path: ledger.path().to_path_buf(), source };
        let Some(mut file) = open_ledger(ledger)? else { return Ok(Some(BTreeMap::new())) };
        let mut made = false;
        loop {
            let (mut opened, len) = match self.open_fresh(ledger, &mut file, &mut made) {
                Ok(opened) => opened,
                // A state that cannot be written: the caller reads the whole ledger.
                Err(e) if self.is_unwritable(&e) => return Ok(None),
                Err(e) => return Err(e),
            };
            let mut out: BTreeMap<String, BTreeSet<String>> =
                opened.take_table().into_iter().map(|e| (e.path, e.reviewers.into_iter().collect())).collect();
            // The lines since: each names its note; one that does not (written before events
            // carried it) sends the state to be made again.
            file.seek(SeekFrom::Start(opened.header.len)).map_err(io)?;
            let mut unplaced = false;
            fold_lines_from(
                ledger.path(),
                BufReader::new((&file).take(len - opened.header.len)),
                1,
                |_, ev| match ev {
                    Event::Add(c) => {
                        let who = out.entry(c.doc).or_default();
                        who.extend(c.reviewer.filter(|r| !r.is_empty()));
                    }
                    Event::Status { doc: Some(d), by, status, .. } => {
                        let who = out.entry(d).or_default();
                        if !by.is_empty() && status != crate::ledger::Status::Suggested {
                            who.insert(by);
                        }
                    }
                    Event::Remove { doc: Some(_), .. }
                    | Event::Move { doc: Some(_), .. }
                    | Event::Memo { doc: Some(_), .. } => {}
                    _ => unplaced = true,
                },
            )
            .map_err(io)?;
            if !unplaced {
                return Ok(Some(out));
            }
            if made {
                return Ok(None);
            }
            self.rebuild(ledger)?;
            made = true;
        }
    }

    /// `ledger`'s state opened to read its codings without memos, evidence and times, a few
    /// notes at a time or all of them ([`LeanState`]), with the events of the lines appended
    /// since read in; `None`, having read nothing, when there is no ledger, or its state is
    /// missing, stale or too far behind (making it again would cost more than folding the
    /// ledger's lines, which the caller then does). What [`crate::CodingTable`]s are read from:
    /// no line of JSON but those appended since.
    pub fn open_lean(&self, ledger: &Ledger) -> Result<Option<LeanState>> {
        let io = |source| Error::Io { path: ledger.path().to_path_buf(), source };
        let Some(mut file) = open_ledger(ledger)? else { return Ok(None) };
        let len = file.metadata().map_err(io)?.len();
        let Some(opened) = self.open_checked(ledger, &mut file, len).filter(|o| len - o.header.len <= self.tail_limit)
        else {
            return Ok(None);
        };
        let mut bad = opened.empty_view(ledger.path()).bad_lines;
        file.seek(SeekFrom::Start(opened.header.len)).map_err(io)?;
        let reader = BufReader::new(file.take(len - opened.header.len));
        let mut tail = Vec::new();
        bad.extend(fold_lines_from(ledger.path(), reader, opened.header.lines + 1, |_, ev| tail.push(ev)).map_err(io)?);
        Ok(Some(LeanState { path: self.path(ledger), opened, tail, bad }))
    }

    /// Brings the state of `ledger` up to date if it is missing, stale or more than
    /// [`TAIL_LIMIT`] behind; returns whether it was made again.
    pub fn refresh(&self, ledger: &Ledger) -> Result<bool> {
        let io = |source| Error::Io { path: ledger.path().to_path_buf(), source };
        let Some(mut file) = open_ledger(ledger)? else { return Ok(false) };
        let len = file.metadata().map_err(io)?.len();
        match self.open_checked(ledger, &mut file, len) {
            Some(o) if len - o.header.len <= self.tail_limit => Ok(false),
            _ => self.rebuild(ledger).map(|()| true),
        }
    }

    /// The state of `ledger` (open as `file`), checked against it and made again first when it is
    /// missing, stale or more than the tail limit behind, with the ledger's length then. Made
    /// again at most once (`made` says whether it was, before or here): a ledger rewritten again
    /// meanwhile is an error, not a loop. Once made, what stands after it (a line not yet
    /// finished, or lines appended meanwhile) is read as the tail whatever its length.
    fn open_fresh(&self, ledger: &Ledger, file: &mut File, made: &mut bool) -> Result<(Opened, u64)> {
        loop {
            let len = file.metadata().map_err(|source| Error::Io { path: ledger.path().to_path_buf(), source })?.len();
            match self.open_checked(ledger, file, len) {
                Some(o) if *made || len - o.header.len <= self.tail_limit => return Ok((o, len)),
                _ if !*made => {
                    self.rebuild(ledger)?;
                    *made = true;
                }
                _ => {
                    return Err(Error::Io {
                        path: self.path(ledger),
                        source: std::io::Error::other("the coding state just made does not fit the ledger"),
                    });
                }
            }
        }
    }

    /// Opens the state of `ledger` and checks it against the ledger (`file`, `len` bytes long
    /// now); `None` when there is none or it no longer fits the ledger.
    fn open_checked(&self, ledger: &Ledger, ledger_file: &mut File, len: u64) -> Option<Opened> {
        let mut file = File::open(self.path(ledger)).ok()?;
        let mut magic = [0u8; 8];
        file.read_exact(&mut magic).ok()?;
        if &magic != MAGIC {
            return None;
        }
        // The footer: the table's and the header's lengths, at the very end.
        let file_len = file.metadata().ok()?.len();
        file.seek(SeekFrom::Start(file_len.checked_sub(16)?)).ok()?;
        let (table_bytes, header_bytes) = (read_u64(&mut file)?, read_u64(&mut file)?);
        let header_at = file_len.checked_sub(16 + header_bytes)?;
        let table_at = header_at.checked_sub(table_bytes)?;
        let mut buf = vec![0u8; usize::try_from(header_bytes).ok().filter(|&n| n < (64 << 20))?];
        file.seek(SeekFrom::Start(header_at)).ok()?;
        file.read_exact(&mut buf).ok()?;
        let header: Header = serde_json::from_slice(&buf).ok()?;
        if table_at != 8 + header.blocks_bytes || table_bytes != header.table_bytes || len < header.len {
            return None;
        }
        let (head, before) = check_hashes(ledger_file, header.len).ok()?;
        if head != header.head || before != header.before {
            return None;
        }
        // As long as it was, but changed since: edited in place to the same length.
        if len == header.len && file_changed(ledger_file).ok()? != header.changed {
            return None;
        }
        // Read in place (19 MB for the 324,641 notes of 2 GB, on new pages each time when read).
        let table_buf =
            fieldnotes_corpus::mapped::Mapped::range(&file, table_at, usize::try_from(table_bytes).ok()?).ok()?;
        let notes = scan_table(&table_buf, |_, _| true)?;
        (notes == header.notes).then_some(Opened {
            header,
            table_bytes: table_buf,
            table: std::sync::OnceLock::new(),
            scanned: std::sync::atomic::AtomicBool::new(false),
            blocks_at: 8,
            file,
        })
    }

    /// Makes the state of `ledger` from the whole ledger without holding its fold: a first pass
    /// keeps, per coding id, its note, its place in the order of first addition, where its last
    /// `add` line is and whether it stands; and where each later `status` and `move` line is.
    /// Then each note's codings are read back from those lines, note by note, and its block
    /// written. Holding the fold took a kilobyte a coding (5.6 GB for the 4.3 million
    /// suggestions of 2 GB of notes); this holds about 60 bytes a coding.
    fn rebuild(&self, ledger: &Ledger) -> Result<()> {
        let io = |source| Error::Io { path: ledger.path().to_path_buf(), source };
        let Some(mut file) = open_ledger(ledger)? else { return Ok(()) };
        // Whole lines only: a last line without its newline is read again each time, as the
        // tail, until it is finished or set aside.
        let len = whole_lines(&mut file).map_err(io)?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        let changed = file_changed(&file).map_err(io)?;
        let mut index = Index::read(ledger.path(), &file, len).map_err(io)?;
        index.later.sort_unstable();
        let (head, before) = check_hashes(&mut file, len).map_err(io)?;
        let path = self.path(ledger);
        let sio = |source| Error::Io { path: path.clone(), source };
        let write = || -> std::io::Result<()> {
            let mut out = fieldnotes_corpus::atomic::AtomicFile::create(&path)?;
            let mut f = std::io::BufWriter::with_capacity(1 << 20, out.file());
            f.write_all(MAGIC)?;
            let mut table = Vec::with_capacity(index.notes.len());
            let mut at = 0u64;
            let mut lines = LineReader { file: &file, buf: Vec::new() };
            for (doc, ids) in index.by_note() {
                let mut block = Block::default();
                for k in ids {
                    let e = &index.ids[k];
                    let Event::Add(c) = lines.event(e.add)? else {
                        return Err(std::io::Error::other("an indexed `add` line reads otherwise"));
                    };
                    if !e.alive {
                        block.removed.push((u64::from(e.seq), c.id));
                        continue;
                    }
                    // The `status` and `move` lines after its last `add`, in order.
                    let mut state = LedgerState::default();
                    let id = c.id.clone();
                    state.apply(Event::Add(c));
                    for &(_, off) in index.later(k as u32, e.add) {
                        state.apply(lines.event(off)?);
                    }
                    if let Some(c) = state.codings.remove(&id) {
                        block.codings.push((u64::from(e.seq), c));
                    }
                }
                let reviewers = block.reviewers();
                let bytes = encode_block(&block);
                f.write_all(&bytes)?;
                let sum = xxhash_rust::xxh3::xxh3_64(&bytes);
                table.push(Entry {
                    path: index.notes[doc].clone(),
                    offset: at,
                    len: bytes.len() as u64,
                    sum,
                    reviewers,
                });
                at += bytes.len() as u64;
            }
            let table_buf = encode_table(&table);
            let header = Header {
                len,
                lines: index.lines,
                events: index.events,
                ids: index.ids.len() as u64,
                head,
                before,
                changed,
                bad: index.bad.iter().map(|b| Bad { line: b.line, message: b.message.clone(), torn: b.torn }).collect(),
                notes: table.len(),
                table_bytes: table_buf.len() as u64,
                blocks_bytes: at,
            };
            let header_buf = serde_json::to_vec(&header)?;
            f.write_all(&table_buf)?;
            f.write_all(&header_buf)?;
            f.write_all(&(table_buf.len() as u64).to_le_bytes())?;
            f.write_all(&(header_buf.len() as u64).to_le_bytes())?;
            f.into_inner().map_err(|e| e.into_error())?;
            out.commit_unsynced()
        };
        write().map_err(sio)
    }
}

/// A coding state brought forward by `add` events the caller appended to the ledger and holds,
/// instead of being made again by reading them back: what `code auto` uses, whose 190,000
/// suggestions on 100 MB of notes took 1.6 s to read back. Made by [`States::extend`] from the
/// state as it stood at a [`Mark`]; each note's new codings are given once
/// ([`Extender::add`]), its block written at once; [`Extender::finish`] copies the blocks of the
/// notes left as they were and puts the new state in place.
pub struct Extender {
    /// The state file, for errors.
    path: PathBuf,
    /// The new state, put in place by [`Extender::finish`] (the temporary file is removed if it
    /// is not).
    out: Option<std::io::BufWriter<fieldnotes_corpus::atomic::AtomicFile>>,
    /// The state at the mark (none for a ledger that was empty).
    old: Option<Opened>,
    /// Bytes of blocks written.
    at: u64,
    table: Vec<Entry>,
    /// Notes given, to refuse one given twice.
    given: std::collections::HashSet<String>,
    next: u64,
    events: usize,
    /// A note came twice, or a write failed: nothing is put in place.
    broken: bool,
    /// Where the ledger stood, and the states' tail limit: a state less than that behind is
    /// left to fold the new lines as they are read, rather than copied whole.
    from: u64,
    tail_limit: u64,
}

impl States {
    /// An [`Extender`] of `ledger`'s state from `from` (where the ledger stood before the caller
    /// appended to it); `None` when the state does not stand exactly there (missing, behind or
    /// stale), for the caller then to [`States::refresh`] as usual.
    pub fn extend(&self, ledger: &Ledger, from: &Mark) -> Result<Option<Extender>> {
        let old = if from.len == 0 {
            None
        } else {
            let Some(mut file) = open_ledger(ledger)? else { return Ok(None) };
            let len = file.metadata().map_err(|source| Error::Io { path: ledger.path().to_path_buf(), source })?.len();
            match self.open_checked(ledger, &mut file, len) {
                Some(o)
                    if o.header.len == from.len
                        && o.header.head == from.head
                        && o.header.before == from.before
                        && o.header.changed == from.changed =>
                {
                    Some(o)
                }
                _ => return Ok(None),
            }
        };
        let path = self.path(ledger);
        let io = |source| Error::Io { path: path.clone(), source };
        let out = fieldnotes_corpus::atomic::AtomicFile::create(&path).map_err(io)?;
        let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
        out.write_all(MAGIC).map_err(io)?;
        Ok(Some(Extender {
            path,
            out: Some(out),
            next: old.as_ref().map_or(0, |o| o.header.ids),
            old,
            at: 0,
            table: Vec::new(),
            given: Default::default(),
            events: 0,
            broken: false,
            from: from.len,
            tail_limit: self.tail_limit,
        }))
    }
}

impl Extender {
    /// The new codings of some notes, each note's all at once and in the order appended: their
    /// blocks are made from the old ones and written.
    pub fn add(&mut self, adds: &[Coding]) {
        if self.broken {
            return;
        }
        let mut by_note: BTreeMap<&str, Vec<&Coding>> = BTreeMap::new();
        for c in adds {
            by_note.entry(c.doc.as_str()).or_default().push(c);
        }
        for (doc, codings) in by_note {
            if !self.given.insert(doc.to_string()) {
                self.broken = true;
                return;
            }
            self.events += codings.len();
            let Some(mut block) = self.old.as_ref().map_or(Some(Block::default()), |o| o.block(doc)) else {
                self.broken = true;
                return;
            };
            let (bytes, reviewers) = if block.codings.is_empty() && block.removed.is_empty() && distinct_ids(&codings) {
                // A note new to the state whose codings are all new ids (as `code auto`'s are):
                // its block is written from them as they are, each taking the next place, not
                // from copies of them folded onto an empty block.
                let reviewers = reviewers_of(codings.iter().copied());
                let first = self.next;
                self.next += codings.len() as u64;
                (encode_codings((first..).zip(codings).collect(), &[]), reviewers)
            } else {
                block.add_all(codings, &mut self.next);
                (encode_block(&block), block.reviewers())
            };
            self.write_block(doc, &bytes, reviewers);
        }
    }

    /// Writes note `doc`'s new block (`bytes`, whose current codings `reviewers` reviewed) and
    /// lists it in the table.
    fn write_block(&mut self, doc: &str, bytes: &[u8], reviewers: Vec<String>) {
        let Some(out) = self.out.as_mut() else { return };
        if out.write_all(bytes).is_err() {
            self.broken = true;
            return;
        }
        let sum = xxhash_rust::xxh3::xxh3_64(bytes);
        self.table.push(Entry { path: doc.to_string(), offset: self.at, len: bytes.len() as u64, sum, reviewers });
        self.at += bytes.len() as u64;
    }

    /// The `status` lines of `decisions` (each `status` by `by`, appended in this order, as
    /// [`Ledger::append_statuses`] writes them), each note's all at once: their blocks are made
    /// from the old ones as the whole fold would ([`LedgerState::apply`]: a decision on an id not
    /// standing changes nothing but counts as an event). `code review --accept` of a code's
    /// 580,000 suggestions at 2 GB of notes made the state again from the whole ledger after,
    /// at about 1 GB; this reads and writes one note's block at a time.
    pub fn statuses(&mut self, decisions: &[crate::ledger::Decision], status: crate::ledger::Status, by: &str) {
        if self.broken {
            return;
        }
        let mut by_note: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for d in decisions {
            by_note.entry(d.doc.as_str()).or_default().push(d.id.as_str());
        }
        let reviewer = (!by.is_empty() && status != crate::ledger::Status::Suggested).then(|| by.to_string());
        for (doc, ids) in by_note {
            if !self.given.insert(doc.to_string()) {
                self.broken = true;
                return;
            }
            self.events += ids.len();
            let Some(mut block) = self.old.as_ref().map_or(Some(Block::default()), |o| o.block(doc)) else {
                self.broken = true;
                return;
            };
            if block.codings.is_empty() && block.removed.is_empty() {
                // No block before, none after: the decisions named no coding of this note.
                continue;
            }
            let at: FxHashMap<&str, usize> =
                block.codings.iter().enumerate().map(|(i, (_, c))| (c.id.as_str(), i)).collect();
            let decided: Vec<usize> = ids.iter().filter_map(|id| at.get(id).copied()).collect();
            drop(at);
            for i in decided {
                let c = &mut block.codings[i].1;
                c.status = status;
                c.reviewer.clone_from(&reviewer);
            }
            let bytes = encode_block(&block);
            self.write_block(doc, &bytes, block.reviewers());
        }
    }

    /// Puts the new state in place as the state of the ledger at `to` (where it stands after the
    /// caller's writes, which must have followed `from` with no other line between: one line an
    /// event given). Returns whether it did; a state not put in place is made the usual way.
    pub fn finish(mut self, to: &Mark) -> Result<bool> {
        let Some(mut out) = self.out.take() else { return Ok(false) };
        if self.broken || (self.old.is_some() && to.len.saturating_sub(self.from) <= self.tail_limit) {
            return Ok(false);
        }
        let io = |source| Error::Io { path: self.path.clone(), source };
        let mut table = std::mem::take(&mut self.table);
        let (mut lines, mut events, mut bad) = (self.events, self.events, Vec::new());
        if let Some(old) = self.old.as_mut() {
            lines += old.header.lines;
            events += old.header.events;
            bad = std::mem::take(&mut old.header.bad);
            // The blocks of the notes not given, copied as they are.
            let mut buf = Vec::new();
            for e in &old.take_table() {
                if self.given.contains(&e.path) {
                    continue;
                }
                buf.resize(usize::try_from(e.len).map_err(std::io::Error::other).map_err(io)?, 0);
                old.file.seek(SeekFrom::Start(old.blocks_at + e.offset)).map_err(io)?;
                old.file.read_exact(&mut buf).map_err(io)?;
                out.write_all(&buf).map_err(io)?;
                table.push(Entry { offset: self.at, ..e.clone() });
                self.at += e.len;
            }
        }
        table.sort_by(|a, b| a.path.cmp(&b.path));
        let table_buf = encode_table(&table);
        let header = Header {
            len: to.len,
            lines,
            events,
            ids: self.next,
            head: to.head,
            before: to.before,
            changed: to.changed,
            bad,
            notes: table.len(),
            table_bytes: table_buf.len() as u64,
            blocks_bytes: self.at,
        };
        let header_buf = serde_json::to_vec(&header).map_err(std::io::Error::other).map_err(io)?;
        for part in [
            &table_buf[..],
            &header_buf,
            &(table_buf.len() as u64).to_le_bytes(),
            &(header_buf.len() as u64).to_le_bytes(),
        ] {
            out.write_all(part).map_err(io)?;
        }
        out.into_inner().map_err(|e| io(e.into_error()))?.commit_unsynced().map_err(io)?;
        Ok(true)
    }
}

/// What the first pass of [`States::rebuild`] keeps of a ledger.
struct Index {
    /// Notes, by first appearance.
    notes: Vec<String>,
    /// Per coding id (in the order of first addition: the index is the place).
    ids: Vec<IdEntry>,
    /// (id, offset) of every `status` and `move` line; sorted after the pass.
    later: Vec<(u32, u64)>,
    lines: usize,
    events: usize,
    bad: Vec<BadLine>,
}

/// One coding id's part of the [`Index`].
struct IdEntry {
    note: u32,
    seq: u32,
    /// Offset of its last `add` line.
    add: u64,
    /// Whether it stands (added, not removed since).
    alive: bool,
}

impl Index {
    /// Reads the first `len` bytes of the ledger at `path` a line at a time.
    fn read(path: &Path, file: &File, len: u64) -> std::io::Result<Index> {
        let mut index =
            Index { notes: Vec::new(), ids: Vec::new(), later: Vec::new(), lines: 0, events: 0, bad: Vec::new() };
        // Ids are known by a 128-bit hash of their text: 16 bytes each, not the text.
        let mut id_of: HashMap<u128, u32> = HashMap::new();
        let mut note_of: HashMap<String, u32> = HashMap::new();
        let mut reader = BufReader::with_capacity(1 << 20, file.take(len));
        let mut line = Vec::new();
        let mut offset = 0u64;
        loop {
            line.clear();
            let n = std::io::BufRead::read_until(&mut reader, b'\n', &mut line)?;
            if n == 0 {
                return Ok(index);
            }
            let at = offset;
            offset += n as u64;
            index.lines += 1;
            let text = line.strip_suffix(b"\n").unwrap_or(&line);
            if text.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            let ev = match crate::ledger::read_event(text) {
                Ok(ev) => ev,
                Err(message) => {
                    index.bad.push(BadLine { path: path.to_path_buf(), line: index.lines, message, torn: false });
                    continue;
                }
            };
            index.events += 1;
            let key = |id: &str| xxhash_rust::xxh3::xxh3_128(id.as_bytes());
            match ev {
                Event::Add(c) => {
                    let next = index.notes.len() as u32;
                    let note = *note_of.entry(c.doc.clone()).or_insert_with(|| {
                        index.notes.push(c.doc.clone());
                        next
                    });
                    let seq = index.ids.len() as u32;
                    match id_of.get(&key(&c.id)) {
                        // A second `add` of a standing coding changes nothing
                        // ([`LedgerState::apply`]): the events after the first still apply.
                        Some(&k) => {
                            let e = &mut index.ids[k as usize];
                            if !e.alive {
                                e.add = at;
                                e.alive = true;
                            }
                        }
                        None => {
                            id_of.insert(key(&c.id), seq);
                            index.ids.push(IdEntry { note, seq, add: at, alive: true });
                        }
                    }
                }
                Event::Remove { id, .. } => {
                    if let Some(&k) = id_of.get(&key(&id)) {
                        index.ids[k as usize].alive = false;
                    }
                }
                Event::Status { id, .. } | Event::Move { id, .. } | Event::Memo { id, .. } => {
                    if let Some(&k) = id_of.get(&key(&id)) {
                        index.later.push((k, at));
                    }
                }
            }
        }
    }

    /// The ids of each note with codings or removed ids, note by note in path order, each
    /// note's ids in the order of first addition.
    fn by_note(&self) -> Vec<(usize, Vec<usize>)> {
        let mut per: Vec<Vec<usize>> = vec![Vec::new(); self.notes.len()];
        for (k, e) in self.ids.iter().enumerate() {
            per[e.note as usize].push(k);
        }
        let mut order: Vec<usize> = (0..self.notes.len()).collect();
        order.sort_by(|&a, &b| self.notes[a].cmp(&self.notes[b]));
        order.into_iter().map(|d| (d, std::mem::take(&mut per[d]))).collect()
    }

    /// The `status` and `move` lines of id `k` after offset `after`, in order (`later` sorted).
    fn later(&self, k: u32, after: u64) -> &[(u32, u64)] {
        let from = self.later.partition_point(|&(id, off)| id < k || (id == k && off <= after));
        let to = self.later.partition_point(|&(id, _)| id <= k);
        &self.later[from..to.max(from)]
    }
}

/// Reads single ledger lines at known offsets.
struct LineReader<'a> {
    file: &'a File,
    buf: Vec<u8>,
}

impl LineReader<'_> {
    /// The event on the line at `offset` (read before, so known to parse).
    fn event(&mut self, offset: u64) -> std::io::Result<Event> {
        use std::io::BufRead;
        let mut f = self.file;
        f.seek(SeekFrom::Start(offset))?;
        self.buf.clear();
        BufReader::with_capacity(8 << 10, f).read_until(b'\n', &mut self.buf)?;
        let text = self.buf.strip_suffix(b"\n").unwrap_or(&self.buf);
        serde_json::from_slice(text).map_err(std::io::Error::other)
    }
}

/// Where a ledger stood: the length of its whole lines and the hashes of its first 4 KiB and of
/// the 4 KiB before that length, which tell a later reader whether the ledger only grew since.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mark {
    /// The coder.
    pub coder: String,
    /// Bytes of whole lines.
    pub len: u64,
    /// xxh3 of the first `min(len, 4096)` bytes.
    pub head: u64,
    /// xxh3 of the `min(len, 4096)` bytes before `len`.
    pub before: u64,
    /// Its time of last change then ([`fieldnotes_corpus::changed_ns`]): at the same length, a
    /// ledger with another time was edited in place (`cp -p` of a copy edited to the same size).
    #[serde(default)]
    pub changed: i128,
}

/// Where `ledger` stands now (an empty mark for a ledger with no file).
pub fn mark(ledger: &Ledger) -> Result<Mark> {
    let io = |source| Error::Io { path: ledger.path().to_path_buf(), source };
    let Some(mut file) = open_ledger(ledger)? else {
        return Ok(Mark { coder: ledger.coder().to_string(), ..Mark::default() });
    };
    let len = whole_lines(&mut file).map_err(io)?;
    let (head, before) = check_hashes(&mut file, len).map_err(io)?;
    let changed = file_changed(&file).map_err(io)?;
    Ok(Mark { coder: ledger.coder().to_string(), len, head, before, changed })
}

/// The events `ledger` gained since `since` (a [`mark`] of it): `None` when it was rewritten
/// since, or when a line after the mark cannot be read (the caller then reads the whole ledger,
/// which reports it). Whole lines only; the mark it now stands at comes with them.
pub fn events_since(ledger: &Ledger, since: &Mark) -> Result<Option<(Vec<Event>, Mark)>> {
    let now = mark(ledger)?;
    if now.len < since.len || (now.len == since.len && now.changed != since.changed) {
        return Ok(None);
    }
    let io = |source| Error::Io { path: ledger.path().to_path_buf(), source };
    let Some(mut file) = open_ledger(ledger)? else { return Ok(Some((Vec::new(), now))) };
    // A mark at 0 (a ledger not there before) holds nothing to compare.
    if since.len > 0 && check_hashes(&mut file, since.len).map_err(io)? != (since.head, since.before) {
        return Ok(None);
    }
    file.seek(SeekFrom::Start(since.len)).map_err(io)?;
    let mut events = Vec::new();
    let bad = fold_lines_from(ledger.path(), BufReader::new(file.take(now.len - since.len)), 1, |_, ev| {
        events.push(ev);
    })
    .map_err(io)?;
    Ok(bad.is_empty().then_some((events, now)))
}

/// The length of a ledger's whole lines: up to and with its last newline.
fn whole_lines(file: &mut File) -> std::io::Result<u64> {
    let mut end = file.metadata()?.len();
    let mut buf = vec![0u8; 64 << 10];
    while end > 0 {
        let start = end.saturating_sub(buf.len() as u64);
        let chunk = &mut buf[..(end - start) as usize];
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(chunk)?;
        if let Some(i) = chunk.iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

impl Opened {
    /// The table's entries, made on first use.
    fn table(&self) -> &[Entry] {
        // Read through when opened: it cannot fail here.
        self.table.get_or_init(|| decode_table(&self.table_bytes).unwrap_or_default())
    }

    /// The table's entries, taken out.
    fn take_table(&mut self) -> Vec<Entry> {
        self.table();
        std::mem::take(&mut self.table).into_inner().unwrap_or_default()
    }

    /// The note's block (empty for a note without one); `None` if it is unreadable.
    fn block(&self, doc: &str) -> Option<Block> {
        let first_look = !self.scanned.swap(true, std::sync::atomic::Ordering::Relaxed);
        let found = if !first_look || self.table.get().is_some() {
            let table = self.table();
            table.binary_search_by(|e| e.path.as_str().cmp(doc)).ok().map(|i| table[i].place())
        } else {
            // Sorted by path: the scan stops at the note, or past where it would be.
            let mut found = None;
            let _ = scan_table(&self.table_bytes, |path, place| match path.cmp(doc) {
                std::cmp::Ordering::Less => true,
                std::cmp::Ordering::Equal => {
                    found = Some(place);
                    false
                }
                std::cmp::Ordering::Greater => false,
            });
            found
        };
        let Some(place) = found else { return Some(Block::default()) };
        let mut buf = Vec::new();
        read_block(&self.file, self.blocks_at, place, &mut buf)?;
        decode_block(&buf)
    }

    /// The fold without any note's codings: its events and unreadable lines.
    fn empty_view(&self, ledger: &Path) -> LedgerState {
        let bad_lines = self
            .header
            .bad
            .iter()
            .map(|b| BadLine { path: ledger.to_path_buf(), line: b.line, message: b.message.clone(), torn: b.torn })
            .collect();
        LedgerState { events: self.header.events, bad_lines, ..LedgerState::default() }
    }

    /// The note's part of the fold, as a ledger state of its own (empty for a note without
    /// codings); `None` if its block is unreadable.
    fn block_view(&self, ledger: &Path, doc: &str) -> Option<LedgerState> {
        let mut view = self.empty_view(ledger);
        let block = self.block(doc)?;
        let mut order: Vec<(u64, String)> = block.removed;
        order.reserve(block.codings.len());
        view.seen.reserve(order.capacity());
        let mut codings = Vec::with_capacity(block.codings.len());
        for (seq, c) in block.codings {
            order.push((seq, c.id.clone()));
            codings.push((c.id.clone(), c));
        }
        // Built in one go from the pairs, written in the order of their ids, not inserted one at
        // a time.
        view.codings = codings.into_iter().collect();
        order.sort_unstable_by_key(|&(seq, _)| seq);
        for (_, id) in order {
            view.seen.insert(id.clone());
            view.order.push(id);
        }
        Some(view)
    }
}

/// The codings of the notes at `docs` in the fold of the whole of `ledger`, as
/// [`States::docs_view`] gives them, for when no state can be written.
fn fold_of_notes(ledger: &Ledger, docs: &[&str]) -> Result<LedgerState> {
    let mut full = ledger.read()?;
    let wanted: BTreeSet<&str> = docs.iter().copied().collect();
    full.codings.retain(|_, c| wanted.contains(c.doc.as_str()));
    // The order of these notes' standing codings; every id stays known (`seen`): ids name their
    // notes, so another note's is never taken for one of these.
    let mine = |id: &String| full.codings.contains_key(id);
    let order: Vec<String> = full.order.iter().filter(|id| mine(id)).cloned().collect();
    full.order = order;
    Ok(full)
}

/// The error of a coding state whose block is not as written.
fn damaged(path: PathBuf) -> Error {
    Error::Io {
        path,
        source: std::io::Error::other(
            "the coding state is damaged (a note's block is not as it was written); it is made from the \
             ledger alone, so it was removed: run the command again to have it made anew",
        ),
    }
}

fn read_u64(r: &mut impl Read) -> Option<u64> {
    let mut b = [0u8; 8];
    r.read_exact(&mut b).ok()?;
    Some(u64::from_le_bytes(b))
}

/// The hashes of the first `CHECK_BYTES` of a ledger's first `len` bytes and of the
/// `CHECK_BYTES` before `len`, reading only the bytes hashed. The first also holds which file
/// it is (device and inode, on Unix): git, `sed -i` and most editors write a ledger as a new
/// file, so an edit in its middle that keeps its length and both ends (a status changed by
/// hand, a merge) is noticed too. A ledger only appended to stays the same file.
fn check_hashes(file: &mut File, len: u64) -> std::io::Result<(u64, u64)> {
    let n = len.min(CHECK_BYTES);
    let mut head = vec![0u8; n as usize];
    file.seek(SeekFrom::Start(0))?;
    file.read_exact(&mut head)?;
    let mut before = vec![0u8; n as usize];
    file.seek(SeekFrom::Start(len - n))?;
    file.read_exact(&mut before)?;
    Ok((xxhash_rust::xxh3::xxh3_64(&head) ^ file_identity(file)?, xxhash_rust::xxh3::xxh3_64(&before)))
}

/// The file's time of last change, as [`fieldnotes_corpus::file_stamp`] takes it.
fn file_changed(file: &File) -> std::io::Result<i128> {
    Ok(fieldnotes_corpus::changed_ns(&file.metadata()?))
}

/// A hash of the file's device and inode (0 where the system has none).
fn file_identity(file: &File) -> std::io::Result<u64> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let m = file.metadata()?;
        let mut bytes = [0u8; 16];
        bytes[..8].copy_from_slice(&m.dev().to_le_bytes());
        bytes[8..].copy_from_slice(&m.ino().to_le_bytes());
        Ok(xxhash_rust::xxh3::xxh3_64(&bytes))
    }
    #[cfg(not(unix))]
    {
        let _ = file;
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{Origin, Status};
    use proptest::prelude::*;
    use std::fs;

    const DOCS: [&str; 3] = ["notes/a.md", "notes/b.md", "notes/c.md"];

    fn coding(doc: usize, k: usize, start: usize) -> Coding {
        Coding {
            id: format!("c{doc}-{k}"),
            doc: DOCS[doc].to_string(),
            start,
            end: start + 3,
            hash: String::new(),
            text: "abc".into(),
            code: format!("code{k}"),
            coder: "hb".into(),
            origin: Origin::Manual,
            status: Status::Accepted,
            memo: None,
            evidence: vec![],
            time: String::new(),
            base: None,
            reviewer: None,
        }
    }

    #[test]
    fn a_block_reads_back_as_written() {
        let plain = coding(0, 1, 4);
        let full = Coding {
            text: String::new(),
            hash: "6983f7d6a67cf735".into(),
            origin: Origin::Rule,
            status: Status::Rejected,
            memo: Some("métier — ✓".into()),
            evidence: vec![crate::autocode::Hit {
                rule: "keyword:slow".into(),
                text: "slow".into(),
                start: 9,
                end: 13,
            }],
            time: "2026-12-06T09:47:16Z".into(),
            base: Some("df40ef4bdc33de81".into()),
            reviewer: Some("jm".into()),
            ..coding(0, 2, 7)
        };
        let block = Block { codings: vec![(3, plain), (7, full)], removed: vec![(5, "c0-9".into())] };
        let bytes = encode_block(&block);
        let back = decode_block(&bytes).unwrap();
        assert_eq!(back.codings, block.codings);
        assert_eq!(back.removed, block.removed);
        // Cut short or with bytes to spare, it is unreadable, not misread.
        assert!(decode_block(&bytes[..bytes.len() - 1]).is_none());
        assert!(decode_block(&[bytes.as_slice(), &[0]].concat()).is_none());
    }

    #[test]
    fn a_block_of_many_shared_strings_reads_back_whole_and_lean() {
        // More codes, rules and memos than a block looks up one by one, some named again.
        let codings: Vec<(u64, Coding)> = (0..60usize)
            .map(|i| {
                let c = Coding {
                    code: format!("code-{}", i % 25),
                    memo: (i % 3 == 0).then(|| format!("memo {}", i % 20)),
                    evidence: (0..i % 4)
                        .map(|h| crate::autocode::Hit {
                            rule: format!("keyword:w{}", (i + h) % 30),
                            text: format!("w{h}"),
                            start: 1 << (i % 40),
                            end: (1 << (i % 40)) + h,
                        })
                        .collect(),
                    base: (i % 2 == 0).then(|| format!("{:016x}", i % 7)),
                    reviewer: (i % 5 == 0).then(|| "jm".to_string()),
                    time: format!("2026-12-0{}T09:47:16Z", 1 + i % 3),
                    ..coding(0, i, i + 3)
                };
                ((i as u64) << (i % 50), c)
            })
            .collect();
        let mut sorted = codings.clone();
        sorted.sort_by(|a, b| a.1.id.cmp(&b.1.id));
        let block = Block { codings, removed: vec![(u64::MAX, "c0-9".into())] };
        let bytes = encode_block(&block);
        let back = decode_block(&bytes).unwrap();
        assert_eq!(back.codings, sorted);
        assert_eq!(back.removed, block.removed);
        let mut lean = Vec::new();
        decode_block_lean(&bytes, &mut |f| match f {
            Folded::Coding(c) => lean.push((c.place, c.id.to_string(), c.code.to_string(), c.base.map(str::to_string))),
            Folded::Removed(place, id) => lean.push((place, id.to_string(), String::new(), None)),
        })
        .unwrap();
        let want: Vec<_> = sorted
            .iter()
            .map(|(p, c)| (*p, c.id.clone(), c.code.clone(), c.base.clone()))
            .chain([(u64::MAX, "c0-9".to_string(), String::new(), None)])
            .collect();
        assert_eq!(lean, want);
        // A string named before it was given is refused.
        let mut bad = Out::default();
        bad.var(1);
        bad.var(0);
        bad.vstr("c0-1");
        bad.var(3);
        assert!(decode_block(&bad.0).is_none());
    }

    fn event() -> impl Strategy<Value = Event> {
        let id = (0..DOCS.len(), 0..4usize);
        prop_oneof![
            4 => (id.clone(), 0..50usize).prop_map(|((d, k), s)| Event::Add(coding(d, k, s))),
            1 => id.clone().prop_map(|(d, k)| Event::Remove {
                id: format!("c{d}-{k}"),
                doc: Some(DOCS[d].to_string()),
                by: String::new(),
                time: String::new(),
            }),
            2 => (id.clone(), 0..3usize).prop_map(|((d, k), st)| Event::Status {
                id: format!("c{d}-{k}"),
                doc: None,
                status: Status::ALL[st],
                by: "jm".into(),
                time: String::new(),
            }),
            1 => (id.clone(), 0..3usize).prop_map(|((d, k), m)| Event::Memo {
                id: format!("c{d}-{k}"),
                doc: Some(DOCS[d].to_string()),
                memo: ["", "slow start", "métier — ✓"][m].to_string(),
                by: "jm".into(),
                time: String::new(),
            }),
            1 => (id, 0..50usize).prop_map(|((d, k), s)| Event::Move {
                id: format!("c{d}-{k}"),
                doc: Some(DOCS[d].to_string()),
                start: s,
                end: s + 2,
                base: Some("v2".into()),
                text: Some("ab".into()),
                by: String::new(),
                time: String::new(),
            }),
        ]
    }

    #[derive(Clone, Debug)]
    enum Op {
        /// Events appended as `code add` and the others append them.
        Append(Vec<Event>),
        /// A write cut short by a kill: part of a line, no newline.
        Torn(Box<Event>, usize),
        /// A line that is not an event.
        Garbage,
        /// The ledger replaced by other events (a checkout, an edit by hand).
        Rewrite(Vec<Event>),
        /// The state file lost or cut short (a crash before its pages reached the disk).
        CutState(usize),
        /// The state made up to date, as `code auto` and `index` do.
        Refresh,
        /// Adds appended in one write and given to an [`Extender`], as `code auto` does.
        Extend(Vec<(usize, usize, usize)>),
        /// Decisions appended in one write and given to an [`Extender`], as `code review
        /// --accept` does: on codings that stand, were removed or never were.
        Decide(Vec<(usize, usize)>, usize, bool),
        /// Every note's codings read through the state, compared with the whole fold.
        Check,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => proptest::collection::vec(event(), 1..6).prop_map(Op::Append),
            1 => (event(), 1..40usize).prop_map(|(e, n)| Op::Torn(Box::new(e), n)),
            1 => Just(Op::Garbage),
            1 => proptest::collection::vec(event(), 0..8).prop_map(Op::Rewrite),
            1 => (0..400usize).prop_map(Op::CutState),
            1 => Just(Op::Refresh),
            2 => proptest::collection::vec((0..DOCS.len(), 0..4usize, 0..50usize), 1..8).prop_map(Op::Extend),
            2 => (proptest::collection::vec((0..DOCS.len(), 0..5usize), 1..8), 0..3usize, proptest::bool::ANY)
                .prop_map(|(d, st, by)| Op::Decide(d, st, by)),
            3 => Just(Op::Check),
        ]
    }

    fn line(e: &Event) -> Vec<u8> {
        let mut b = serde_json::to_vec(e).unwrap();
        b.push(b'\n');
        b
    }

    fn check(states: &States, ledger: &Ledger) -> std::result::Result<(), TestCaseError> {
        let full = ledger.read().unwrap();
        for doc in DOCS.iter().copied().chain(["notes/none.md"]) {
            let view = states.doc_view(ledger, doc).unwrap();
            let want: Vec<&Coding> = full.current().filter(|c| c.doc == doc).collect();
            let got: Vec<&Coding> = view.current().collect();
            prop_assert_eq!(got, want, "{}", doc);
            let lines = |s: &LedgerState| -> Vec<(usize, bool, String)> {
                s.bad_lines.iter().map(|b| (b.line, b.torn, b.message.clone())).collect()
            };
            prop_assert_eq!(lines(&view), lines(&full));
            prop_assert_eq!(view.events, full.events);
        }
        // Several notes at once hold what each does.
        let all = states.docs_view(ledger, &DOCS).unwrap();
        let mut got: Vec<&Coding> = all.current().collect();
        let mut want: Vec<&Coding> = full.current().collect();
        got.sort_by(|a, b| a.id.cmp(&b.id));
        want.sort_by(|a, b| a.id.cmp(&b.id));
        prop_assert_eq!(got, want);
        // The compact table read from the state is the one read from the whole ledger.
        let root = ledger.path().parent().unwrap().parent().unwrap();
        let loaded = crate::CodingTable::load(root).unwrap();
        let from_state = crate::CodingTable::from_states(root, states.dir.parent().unwrap()).unwrap();
        let sorted = |t: &crate::CodingTable| {
            let mut v: Vec<Coding> = t.iter().collect();
            v.sort_by(|a, b| a.id.cmp(&b.id));
            v
        };
        prop_assert_eq!(sorted(&from_state), sorted(&loaded));
        // A note's codings come in the order of their first addition, both ways.
        for doc in DOCS {
            prop_assert_eq!(from_state.of_doc(doc).collect::<Vec<_>>(), loaded.of_doc(doc).collect::<Vec<_>>());
        }
        for id in full.seen.iter().map(String::as_str).chain(["c0000000000000000", "nothing"]) {
            prop_assert_eq!(from_state.was_added("hb", id), loaded.was_added("hb", id), "{}", id);
        }
        let lines = |t: &crate::CodingTable| -> Vec<(usize, bool, String)> {
            t.bad_lines().iter().map(|b| (b.line, b.torn, b.message.clone())).collect()
        };
        prop_assert_eq!(lines(&from_state), lines(&loaded));
        // Read a note at a time, the table holds each note's codings as the whole table does,
        // in the same order, and knows the same ids as added.
        // So too when the states are missing (made on opening), and where they cannot be
        // written, each ledger folded from its lines.
        let no_states = tempfile::tempdir().unwrap();
        let unwritable = tempfile::NamedTempFile::new().unwrap();
        for (derived, from_state) in [
            (states.dir.parent().unwrap(), &from_state),
            (no_states.path(), &from_state),
            (unwritable.path(), &from_state),
        ] {
            let parts = crate::TableParts::open(root, derived).unwrap();
            prop_assert_eq!(
                lines(from_state),
                parts.bad_lines().iter().map(|b| (b.line, b.torn, b.message.clone())).collect::<Vec<_>>()
            );
            let listed = parts.docs();
            for doc in DOCS.iter().copied().chain(["notes/none.md"]) {
                let part = parts.table_of(&[doc]).unwrap();
                let whole: Vec<Coding> = from_state.of_doc(doc).collect();
                prop_assert_eq!(
                    part.of_doc(doc).collect::<Vec<_>>(),
                    whole.clone(),
                    "{} in {}",
                    doc,
                    derived.display()
                );
                prop_assert!(whole.is_empty() || listed.contains(doc), "{} not listed", doc);
                // An id here is `c`, its note's number, `-`, a number.
                let of_doc = |id: &&String| DOCS.get(usize::from(id.as_bytes()[1] - b'0')) == Some(&doc);
                for id in full.seen.iter().filter(of_doc) {
                    prop_assert_eq!(part.was_added("hb", id), from_state.was_added("hb", id), "{} in {}", id, doc);
                }
            }
        }
        // The notes listed hold every note with a coding, and who reviewed there.
        if let Some(notes) = states.notes(ledger).unwrap() {
            for c in full.current() {
                prop_assert!(notes.contains_key(&c.doc), "{}", c.doc);
                if let Some(r) = c.reviewer.as_ref().filter(|r| !r.is_empty()) {
                    prop_assert!(notes[&c.doc].contains(r), "{} reviewed by {}", c.doc, r);
                }
            }
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        /// Read through the state, a note's codings are always those of the fold of the whole
        /// ledger, whatever was appended, torn, rewritten or lost in between.
        #[test]
        fn a_notes_codings_through_the_state_equal_the_whole_fold(ops in proptest::collection::vec(op(), 1..30), limit in 0u64..600) {
            let dir = tempfile::tempdir().unwrap();
            let ledger = Ledger::new(dir.path(), "hb").unwrap();
            let states = States::new(&dir.path().join(".fieldnotes")).with_tail_limit(limit);
            fs::create_dir_all(ledger.path().parent().unwrap()).unwrap();
            for op in ops {
                match op {
                    Op::Append(evs) => ledger.append(&evs).unwrap(),
                    Op::Torn(e, n) => {
                        let l = line(&e);
                        let mut f = fs::OpenOptions::new().append(true).create(true).open(ledger.path()).unwrap();
                        f.write_all(&l[..n.min(l.len() - 1)]).unwrap();
                    }
                    Op::Garbage => {
                        let mut f = fs::OpenOptions::new().append(true).create(true).open(ledger.path()).unwrap();
                        f.write_all(b"{\"op\":\"what\"}\n").unwrap();
                    }
                    Op::Rewrite(evs) => {
                        fs::write(ledger.path(), evs.iter().flat_map(line).collect::<Vec<u8>>()).unwrap();
                    }
                    Op::CutState(n) => {
                        let p = states.path(&ledger);
                        if let Ok(b) = fs::read(&p) {
                            fs::write(&p, &b[..n.min(b.len())]).unwrap();
                        }
                    }
                    Op::Refresh => {
                        states.refresh(&ledger).unwrap();
                    }
                    Op::Extend(adds) => {
                        let from = mark(&ledger).unwrap();
                        let adds: Vec<Coding> = adds.into_iter().map(|(d, k, s)| coding(d, k, s)).collect();
                        let mut x = states.extend(&ledger, &from).unwrap();
                        if let Some(x) = x.as_mut() {
                            x.add(&adds);
                        }
                        let events: Vec<Event> = adds.into_iter().map(Event::Add).collect();
                        let (start, _) = ledger.append_at(&events).unwrap();
                        if let Some(x) = x.filter(|_| start == from.len) {
                            x.finish(&mark(&ledger).unwrap()).unwrap();
                        }
                    }
                    Op::Decide(decided, st, by) => {
                        let from = mark(&ledger).unwrap();
                        // Ids as `coding` makes them (the fifth never added).
                        let decisions: Vec<crate::ledger::Decision> = decided
                            .into_iter()
                            .map(|(d, k)| crate::ledger::Decision {
                                id: coding(d, k, 0).id,
                                doc: DOCS[d].to_string(),
                                time: "2026-01-01T00:00:00Z".into(),
                            })
                            .collect();
                        let (status, by) = (crate::ledger::Status::ALL[st], if by { "hb" } else { "" });
                        let mut x = states.extend(&ledger, &from).unwrap();
                        if let Some(x) = x.as_mut() {
                            x.statuses(&decisions, status, by);
                        }
                        let (start, _) = ledger.append_statuses(&decisions, status, by).unwrap();
                        if let Some(x) = x.filter(|_| start == from.len) {
                            x.finish(&mark(&ledger).unwrap()).unwrap();
                        }
                    }
                    Op::Check => check(&states, &ledger)?,
                }
            }
            check(&states, &ledger)?;
        }
    }

    #[test]
    fn a_block_damaged_in_place_or_a_state_not_written_is_not_read_as_codings() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::new(dir.path(), "hb").unwrap();
        let derived = dir.path().join(".fieldnotes");
        let states = States::new(&derived);
        let events: Vec<Event> = (0..3).flat_map(|d| (0..4).map(move |k| Event::Add(coding(d, k, 5 * k)))).collect();
        ledger.append(&events).unwrap();
        states.refresh(&ledger).unwrap();
        // One code in the blocks changed to another of the same length: the file's length kept.
        let damage = || {
            let p = states.path(&ledger);
            let mut b = fs::read(&p).unwrap();
            let at = b.windows(5).position(|w| w == b"code2").unwrap();
            b[at + 4] = b'3';
            fs::OpenOptions::new().write(true).open(&p).unwrap().write_all(&b).unwrap();
        };
        let want: Vec<Coding> = ledger.read().unwrap().current().filter(|c| c.doc == DOCS[0]).cloned().collect();
        damage();
        // A note's codings: the state is made again from the ledger and read.
        let view = states.doc_view(&ledger, DOCS[0]).unwrap();
        assert_eq!(view.current().cloned().collect::<Vec<_>>(), want);
        // Every note's, for a table: an error that says so, the state removed, and the next
        // reading right.
        damage();
        let Err(err) = crate::CodingTable::from_states(dir.path(), &derived) else { panic!("read as codings") };
        let err = err.to_string();
        assert!(err.contains("coding state is damaged"), "{err}");
        assert!(!states.path(&ledger).exists());
        let table = crate::TableParts::open(dir.path(), &derived).unwrap().table_of(&[DOCS[0]]).unwrap();
        assert_eq!(table.of_doc(DOCS[0]).collect::<Vec<_>>(), want);
        // Where no state can be written (the derived folder is a file here, as a read-only
        // one would refuse it), a note's codings come from the ledger itself.
        let unwritable = tempfile::NamedTempFile::new().unwrap();
        let states = States::new(unwritable.path());
        let view = states.doc_view(&ledger, DOCS[0]).unwrap();
        assert_eq!(view.current().cloned().collect::<Vec<_>>(), want);
        assert_eq!(states.notes(&ledger).unwrap(), None);
    }
}
