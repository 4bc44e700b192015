//! Every ledger of a project folded into compact rows: what indexing, counting and re-running the
//! auto-coder need, for millions of codings in little memory.
//!
//! [`Codings`](crate::Codings) keeps each coding whole (memo, evidence, time), and with its
//! strings a coding takes about a kilobyte there: 4.3 million suggestions of the auto-coder took
//! 5.6 GB. The table keeps 64 bytes a coding: the id and text hash as numbers when they have the
//! usual form (`c` and 16 hex digits, 16 hex digits), paths, codes, coders and quoted texts as
//! indices into one list of distinct strings, offsets as `u32`. It folds the events the way
//! [`LedgerState::apply`](crate::ledger::LedgerState::apply) does (sorting them by coder, id and
//! line instead of looking each up in a map), and gives the codings back as [`Coding`]s, a note
//! at a time, for placing them on the text ([`crate::units::place_codings`]), without memo,
//! evidence or time.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use crate::error::{Error, Result};
use crate::ledger::{BadLine, Coding, Event, Ledger, Origin, Status, fold_lines};
use crate::state::{Folded, LeanState, States};

const ADD: u8 = 0;
const REMOVE: u8 = 1;
const STATUS: u8 = 2;
const MOVE: u8 = 3;
/// A memo written: nothing the compact table keeps changes.
const MEMO: u8 = 5;
/// An id added at this place and removed since, as a coding state holds it.
const GONE: u8 = 4;

/// `flags`: the id is an index into the strings, not the number of a `c` + hex id.
const ID_STRING: u8 = 1;
/// `flags`: the hash is an index into the strings.
const HASH_STRING: u8 = 2;
/// `flags`: the coding is current (set by the fold).
const LIVE: u8 = 4;
/// `flags`: `base` holds the note version the offsets count in.
const HAS_BASE: u8 = 8;

const NONE: u32 = u32::MAX;

/// One event, and after the fold one coding.
#[derive(Clone, Copy, Debug)]
struct Row {
    id: u64,
    hash: u64,
    /// The note version (`Coding::base`), valid with [`HAS_BASE`].
    base: u64,
    /// Who last reviewed it, [`NONE`] if nobody.
    reviewer: u32,
    coder: u32,
    /// Position of the event among all events read, to apply them in order.
    seq: u32,
    doc: u32,
    start: u32,
    end: u32,
    code: u32,
    /// The quoted text, [`NONE`] if empty.
    text: u32,
    kind: u8,
    flags: u8,
    origin: u8,
    status: u8,
}

impl Row {
    /// An event of `kind` by `coder` at place `seq`, every other field empty.
    fn empty(coder: u32, seq: u32, kind: u8) -> Row {
        Row {
            id: 0,
            hash: 0,
            base: 0,
            reviewer: NONE,
            coder,
            seq,
            doc: NONE,
            start: 0,
            end: 0,
            code: NONE,
            text: NONE,
            kind,
            flags: 0,
            origin: 0,
            status: 0,
        }
    }

    fn key(&self) -> (u32, bool, u64) {
        (self.coder, self.flags & ID_STRING != 0, self.id)
    }
}

/// Distinct strings, each kept once.
#[derive(Default)]
struct Strings {
    list: Vec<Box<str>>,
    index: HashMap<Box<str>, u32>,
}

impl Strings {
    fn get(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = u32::try_from(self.list.len()).expect("fewer than 4 billion distinct strings");
        self.list.push(s.into());
        self.index.insert(s.into(), i);
        i
    }

    fn find(&self, s: &str) -> Option<u32> {
        self.index.get(s).copied()
    }

    fn at(&self, i: u32) -> &str {
        &self.list[i as usize]
    }
}

/// The number in an id of the usual form, `c` and 16 lowercase hex digits.
fn id_number(id: &str) -> Option<u64> {
    let hex = id.strip_prefix('c')?;
    hex_number(hex)
}

/// The number written as exactly 16 lowercase hex digits (as text hashes are).
fn hex_number(s: &str) -> Option<u64> {
    if s.len() != 16 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return None;
    }
    u64::from_str_radix(s, 16).ok()
}

/// The current codings of every ledger of a project, compactly (see the module's text).
#[derive(Default)]
pub struct CodingTable {
    /// Current codings, sorted by (coder, id).
    rows: Vec<Row>,
    /// (coder, id) of codings added and later removed, sorted.
    removed: Vec<(u32, bool, u64)>,
    /// Indices of `rows` sorted by note.
    by_doc: Vec<u32>,
    strings: Strings,
    bad_lines: Vec<BadLine>,
}

impl CodingTable {
    /// Reads every ledger of the project, a line at a time.
    pub fn load(root: &Path) -> Result<CodingTable> {
        let mut t = CodingTable::default();
        let mut events: Vec<Row> = Vec::new();
        for ledger in Ledger::all(root)? {
            let first = events.len() as u64;
            t.read_lines(&ledger, first, &mut events)?;
        }
        t.fold(events);
        Ok(t)
    }

    /// Reads `ledger`'s lines into `events`, the first at place `first`.
    fn read_lines(&mut self, ledger: &Ledger, first: u64, events: &mut Vec<Row>) -> Result<()> {
        let path = ledger.path();
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(Error::Io { path: path.to_path_buf(), source }),
        };
        let coder = self.strings.get(ledger.coder());
        let reader = BufReader::with_capacity(1 << 20, file);
        let mut too_far = Vec::new();
        let mut seq = first;
        let mut bad = fold_lines(path, reader, |line, ev| {
            match self.row(coder, u32::try_from(seq).expect("fewer than 4 billion events"), ev) {
                Some(row) => events.push(row),
                None => too_far.push(line),
            }
            seq += 1;
        })
        .map_err(|source| Error::Io { path: path.to_path_buf(), source })?;
        bad.extend(too_far.into_iter().map(|line| BadLine {
            path: path.to_path_buf(),
            line,
            message: "its offsets are past 4 billion characters".into(),
            torn: false,
        }));
        self.bad_lines.extend(bad);
        Ok(())
    }

    /// The same table as [`CodingTable::load`] gives, read from each ledger's coding state
    /// ([`crate::state`]) and the ledger lines appended since (a ledger whose state is missing
    /// or stale is read as `load` reads it, the state left to be made by what needs it):
    /// binary blocks instead of JSON, memos, evidence and times skipped unread. The codings of a
    /// note come back in the order of their first addition, as from `load` (a coding removed and
    /// added again keeps its first place).
    pub fn from_states(root: &Path, derived_dir: &Path) -> Result<CodingTable> {
        let states = States::new(derived_dir);
        let mut t = CodingTable::default();
        let mut events = Vec::new();
        // Each ledger's places follow the last ledger's, as its lines follow in `load`.
        let mut first: u64 = 0;
        for ledger in Ledger::all(root)? {
            match states.open_lean(&ledger)? {
                Some(lean) => {
                    t.bad_lines.extend_from_slice(lean.bad_lines());
                    first = t.add_lean(&ledger, first, &lean, None, &mut events)?;
                }
                // A ledger whose state is missing or stale: its lines, as `load` reads them.
                None => {
                    let before = events.len();
                    t.read_lines(&ledger, first, &mut events)?;
                    first += (events.len() - before) as u64;
                }
            }
        }
        t.finish(events, Vec::new());
        Ok(t)
    }

    /// Adds the rows of what `lean`, the state of `ledger`, holds of the notes at `docs` (of
    /// every note with `None`) to `events`, its places after `first`, with the
    /// events of the lines after the state that concern those notes. Returns the place after
    /// the ledger's last event.
    fn add_lean(
        &mut self,
        ledger: &Ledger,
        first: u64,
        lean: &LeanState,
        docs: Option<&[&str]>,
        events: &mut Vec<Row>,
    ) -> Result<u64> {
        let coder = self.strings.get(ledger.coder());
        let mut too_far = 0usize;
        lean.read(docs, |item| match item {
            Folded::Coding(c) => match self.lean_row(coder, first + c.place, &c) {
                Some(row) => events.push(row),
                None => too_far += 1,
            },
            Folded::Removed(place, id) => match u32::try_from(first + place) {
                Ok(seq) => events.push(self.gone_row(coder, seq, id)),
                Err(_) => too_far += 1,
            },
        })?;
        let wanted: Option<HashSet<&str>> = docs.map(|d| d.iter().copied().collect());
        let mut seq = first + lean.places();
        for ev in lean.tail() {
            // An event names its note (but for lines written before events did): one about
            // another note is left out.
            let doc = match ev {
                Event::Add(c) => Some(&c.doc),
                Event::Remove { doc, .. }
                | Event::Status { doc, .. }
                | Event::Move { doc, .. }
                | Event::Memo { doc, .. } => doc.as_ref(),
            };
            let mine = match (&wanted, doc) {
                (Some(wanted), Some(doc)) => wanted.contains(doc.as_str()),
                _ => true,
            };
            if mine {
                match self.row(coder, u32::try_from(seq).expect("fewer than 4 billion events"), ev.clone()) {
                    Some(row) => events.push(row),
                    None => too_far += 1,
                }
            }
            seq += 1;
        }
        if too_far > 0 {
            self.bad_lines.push(BadLine {
                path: ledger.path().to_path_buf(),
                line: 0,
                message: format!("{too_far} coding(s) with offsets past 4 billion characters"),
                torn: false,
            });
        }
        Ok(seq)
    }

    /// The row of an id of `coder` added at place `seq` and removed since.
    fn gone_row(&mut self, coder: u32, seq: u32, id: &str) -> Row {
        let (_, id_string, id) = self.key_of(coder, id);
        Row { id, flags: if id_string { ID_STRING } else { 0 }, ..Row::empty(coder, seq, GONE) }
    }

    /// Folds `events` into the table's rows and adds `removed` to its removed ids.
    fn finish(&mut self, events: Vec<Row>, removed: Vec<(u32, bool, u64)>) {
        self.fold(events);
        self.removed.extend(removed);
        self.removed.sort_unstable();
        self.removed.dedup();
    }

    /// Copies the current codings of the notes at `docs` into `into`'s `events`, and every id
    /// this table has seen removed (a removed id does not say its note) into `removed`.
    fn copy_into(
        &self,
        docs: &[&str],
        into: &mut CodingTable,
        events: &mut Vec<Row>,
        removed: &mut Vec<(u32, bool, u64)>,
    ) {
        let mut s = |i: u32| if i == NONE { NONE } else { into.strings.get(self.strings.at(i)) };
        for doc in docs {
            for &k in self.doc_rows(doc) {
                let mut r = self.rows[k as usize];
                (r.doc, r.code, r.coder, r.text, r.reviewer) =
                    (s(r.doc), s(r.code), s(r.coder), s(r.text), s(r.reviewer));
                if r.flags & ID_STRING != 0 {
                    r.id = u64::from(s(r.id as u32));
                }
                if r.flags & HASH_STRING != 0 {
                    r.hash = u64::from(s(r.hash as u32));
                }
                events.push(r);
            }
        }
        for &(coder, id_string, id) in &self.removed {
            removed.push((s(coder), id_string, if id_string { u64::from(s(id as u32)) } else { id }));
        }
    }

    /// The key of `coder`'s coding `id` ([`Row::key`]).
    fn key_of(&mut self, coder: u32, id: &str) -> (u32, bool, u64) {
        match id_number(id) {
            Some(n) => (coder, false, n),
            None => (coder, true, u64::from(self.strings.get(id))),
        }
    }

    /// The row of a coding a state holds, at `place`; `None` if its offsets do not fit.
    fn lean_row(&mut self, coder: u32, place: u64, c: &crate::state::LeanCoding<'_>) -> Option<Row> {
        let (_, id_string, id) = self.key_of(coder, c.id);
        let mut r = Row {
            id,
            hash: 0,
            base: 0,
            reviewer: NONE,
            coder,
            seq: u32::try_from(place).ok()?,
            doc: self.strings.get(c.doc),
            start: u32::try_from(c.start).ok()?,
            end: u32::try_from(c.end).ok()?,
            code: self.strings.get(c.code),
            text: if c.text.is_empty() { NONE } else { self.strings.get(c.text) },
            kind: ADD,
            flags: if id_string { ID_STRING } else { 0 },
            origin: c.origin as u8,
            status: c.status as u8,
        };
        match hex_number(c.hash) {
            Some(h) => r.hash = h,
            None => {
                r.hash = u64::from(self.strings.get(c.hash));
                r.flags |= HASH_STRING;
            }
        }
        self.set_base(&mut r, c.base);
        if let Some(who) = c.reviewer {
            r.reviewer = self.strings.get(who);
        }
        Some(r)
    }

    /// The compact form of one event of `coder`'s ledger; `None` if its offsets do not fit.
    fn row(&mut self, coder: u32, seq: u32, ev: Event) -> Option<Row> {
        let mut r = Row::empty(coder, seq, ADD);
        let id = match ev {
            Event::Add(c) => {
                r.doc = self.strings.get(&c.doc);
                r.start = u32::try_from(c.start).ok()?;
                r.end = u32::try_from(c.end).ok()?;
                r.code = self.strings.get(&c.code);
                if !c.text.is_empty() {
                    r.text = self.strings.get(&c.text);
                }
                match hex_number(&c.hash) {
                    Some(h) => r.hash = h,
                    None => {
                        r.hash = u64::from(self.strings.get(&c.hash));
                        r.flags |= HASH_STRING;
                    }
                }
                r.origin = c.origin as u8;
                r.status = c.status as u8;
                self.set_base(&mut r, c.base.as_deref());
                if let Some(who) = &c.reviewer {
                    r.reviewer = self.strings.get(who);
                }
                c.id
            }
            Event::Remove { id, .. } => {
                r.kind = REMOVE;
                id
            }
            Event::Status { id, status, by, .. } => {
                r.kind = STATUS;
                r.status = status as u8;
                // A decision undone (back to a suggestion) leaves no reviewer.
                if !by.is_empty() && status != Status::Suggested {
                    r.reviewer = self.strings.get(&by);
                }
                id
            }
            Event::Memo { id, .. } => {
                r.kind = MEMO;
                id
            }
            Event::Move { id, start, end, base, text, .. } => {
                r.kind = MOVE;
                r.start = u32::try_from(start).ok()?;
                r.end = u32::try_from(end).ok()?;
                self.set_base(&mut r, base.as_deref());
                if let Some(t) = text {
                    r.text = self.strings.get(&t);
                    r.hash = hex_number(&fieldnotes_corpus::text_hash(&t)).unwrap_or_default();
                }
                id
            }
        };
        match id_number(&id) {
            Some(n) => r.id = n,
            None => {
                r.id = u64::from(self.strings.get(&id));
                r.flags |= ID_STRING;
            }
        }
        Some(r)
    }

    /// Records a note version in `r` where it has the usual form (16 hex digits, as
    /// `Document::hash` writes it); any other is treated as unknown.
    fn set_base(&mut self, r: &mut Row, base: Option<&str>) {
        if let Some(b) = base.and_then(hex_number) {
            r.base = b;
            r.flags |= HAS_BASE;
        }
    }

    /// Applies the events of each (coder, id) in the order they were read, keeping one row per
    /// current coding.
    fn fold(&mut self, mut events: Vec<Row>) {
        events.sort_unstable_by_key(|r| (r.key(), r.seq));
        let mut kept = 0;
        let mut i = 0;
        while i < events.len() {
            let key = events[i].key();
            let mut cur: Option<Row> = None;
            // The place of its first addition, which a coding added again keeps (as
            // [`LedgerState::apply`](crate::ledger::LedgerState::apply) and the states keep it).
            let mut first_seq: Option<u32> = None;
            while i < events.len() && events[i].key() == key {
                let ev = events[i];
                match ev.kind {
                    // A second `add` of a standing coding changes nothing
                    // ([`LedgerState::apply`](crate::ledger::LedgerState::apply)).
                    ADD if cur.is_some() => {}
                    ADD => {
                        // A re-added coding keeps its place: only its content counts here.
                        cur = Some(Row { seq: *first_seq.get_or_insert(ev.seq), ..ev });
                    }
                    REMOVE => cur = None,
                    GONE => {
                        first_seq.get_or_insert(ev.seq);
                        cur = None;
                    }
                    STATUS => {
                        if let Some(c) = cur.as_mut() {
                            c.status = ev.status;
                            c.reviewer = ev.reviewer;
                        }
                    }
                    MEMO => {}
                    _ => {
                        if let Some(c) = cur.as_mut() {
                            c.start = ev.start;
                            c.end = ev.end;
                            c.base = ev.base;
                            c.flags = (c.flags & !HAS_BASE) | (ev.flags & HAS_BASE);
                            if ev.text != NONE {
                                c.hash = ev.hash;
                                c.flags &= !HASH_STRING;
                                if c.text != NONE {
                                    c.text = ev.text;
                                }
                            }
                        }
                    }
                }
                i += 1;
            }
            match cur {
                Some(mut row) => {
                    row.flags |= LIVE;
                    events[kept] = row;
                    kept += 1;
                }
                None if first_seq.is_some() => self.removed.push(key),
                None => {}
            }
        }
        events.truncate(kept);
        events.shrink_to_fit();
        self.rows = events;
        let mut by_doc: Vec<u32> = (0..self.rows.len() as u32).collect();
        by_doc.sort_by_key(|&k| (self.rows[k as usize].doc, self.rows[k as usize].seq));
        self.by_doc = by_doc;
    }

    /// Lines of the ledgers that could not be read.
    pub fn bad_lines(&self) -> &[BadLine] {
        &self.bad_lines
    }

    /// Number of current codings.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there are no current codings.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Whether `coder`'s ledger ever added a coding with this id, removed since or not (the
    /// auto-coder does not bring back what a person removed).
    pub fn was_added(&self, coder: &str, id: &str) -> bool {
        let Some(coder) = self.strings.find(coder) else { return false };
        let key = match id_number(id) {
            Some(n) => (coder, false, n),
            None => match self.strings.find(id) {
                Some(s) => (coder, true, u64::from(s)),
                None => return false,
            },
        };
        self.rows.binary_search_by_key(&key, Row::key).is_ok() || self.removed.binary_search(&key).is_ok()
    }

    /// The notes (paths) that current codings are in, each once.
    pub fn docs(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for &k in &self.by_doc {
            let d = self.strings.at(self.rows[k as usize].doc);
            if out.last() != Some(&d) {
                out.push(d);
            }
        }
        out
    }

    /// The indices of the rows of the note at `doc`, in the order they were added.
    fn doc_rows(&self, doc: &str) -> &[u32] {
        let Some(d) = self.strings.find(doc) else { return &[] };
        let first = self.by_doc.partition_point(|&k| self.rows[k as usize].doc < d);
        let last = self.by_doc.partition_point(|&k| self.rows[k as usize].doc <= d);
        &self.by_doc[first..last]
    }

    /// The current codings of the note at `doc` (its path in the project), in the order they
    /// were added, without memo, evidence or time.
    pub fn of_doc(&self, doc: &str) -> impl Iterator<Item = Coding> + '_ {
        self.doc_rows(doc).iter().map(|&k| self.coding(&self.rows[k as usize]))
    }

    /// The current codings of the note at `doc` that do not count in its version `version` (the
    /// note's `Document::hash`): those to carry across an edit, and hand or imported codings
    /// from before versions were recorded. Only those are made into [`Coding`]s.
    pub fn of_doc_not_at<'t>(&'t self, doc: &str, version: &str) -> impl Iterator<Item = Coding> + 't {
        let version = hex_number(version);
        self.doc_rows(doc)
            .iter()
            .map(|&k| &self.rows[k as usize])
            .filter(move |r| {
                if r.flags & HAS_BASE != 0 {
                    Some(r.base) != version
                } else {
                    matches!(Origin::ALL[r.origin as usize], Origin::Manual | Origin::Import)
                }
            })
            .map(|r| self.coding(r))
    }

    /// The current codings with id `id`, in any ledger, without memo, evidence or time.
    pub fn with_id<'t>(&'t self, id: &str) -> impl Iterator<Item = Coding> + 't {
        let key = match id_number(id) {
            Some(n) => Some((false, n)),
            None => self.strings.find(id).map(|s| (true, u64::from(s))),
        };
        self.rows.iter().filter(move |r| key == Some((r.flags & ID_STRING != 0, r.id))).map(|r| self.coding(r))
    }

    /// Number of current codings per code id (as [`Codings::usage`] counts them).
    pub fn usage(&self) -> HashMap<String, usize> {
        let mut by_code: HashMap<u32, usize> = HashMap::new();
        for r in &self.rows {
            *by_code.entry(r.code).or_insert(0) += 1;
        }
        by_code.into_iter().map(|(c, n)| (self.strings.at(c).to_string(), n)).collect()
    }

    /// Every current coding, note by note.
    pub fn iter(&self) -> impl Iterator<Item = Coding> + '_ {
        self.by_doc.iter().map(|&k| self.coding(&self.rows[k as usize]))
    }

    fn coding(&self, r: &Row) -> Coding {
        let s = |i: u32| self.strings.at(i).to_string();
        Coding {
            id: if r.flags & ID_STRING != 0 { s(r.id as u32) } else { format!("c{:016x}", r.id) },
            doc: s(r.doc),
            start: r.start as usize,
            end: r.end as usize,
            hash: if r.flags & HASH_STRING != 0 { s(r.hash as u32) } else { format!("{:016x}", r.hash) },
            text: if r.text == NONE { String::new() } else { s(r.text) },
            code: s(r.code),
            coder: s(r.coder),
            origin: Origin::ALL[r.origin as usize],
            status: Status::ALL[r.status as usize],
            memo: None,
            evidence: Vec::new(),
            time: String::new(),
            base: (r.flags & HAS_BASE != 0).then(|| format!("{:016x}", r.base)),
            reviewer: (r.reviewer != NONE).then(|| s(r.reviewer)),
        }
    }
}

/// Every ledger's codings, read a few notes at a time as [`CodingTable`]s of those notes alone
/// ([`TableParts::table_of`]): what a command that reads the notes in batches holds instead of
/// the whole table (at 2 GB of notes, 4.3 million suggestions took 400 MB as one table). Each
/// ledger's coding state is opened once (made again first if missing or stale), its table of
/// notes and the lines appended since held; a ledger whose state cannot be made is folded
/// whole from its lines, as [`CodingTable::load`] reads it.
pub struct TableParts {
    parts: Vec<Part>,
    bad_lines: Vec<BadLine>,
}

/// One ledger of [`TableParts`].
struct Part {
    ledger: Ledger,
    /// The place of the ledger's first event after every earlier ledger's.
    first: u64,
    source: Source,
}

enum Source {
    State(LeanState),
    /// The ledger folded whole from its lines.
    Lines(CodingTable),
}

impl TableParts {
    /// Opens every ledger of the project at `root` through its coding state under
    /// `derived_dir`, making the states that are missing or stale.
    pub fn open(root: &Path, derived_dir: &Path) -> Result<TableParts> {
        let states = States::new(derived_dir);
        let (mut parts, mut bad_lines) = (Vec::new(), Vec::new());
        let mut first: u64 = 0;
        for ledger in Ledger::all(root)? {
            let at = first;
            // A state missing or stale is made again, as reading one note's codings does
            // ([`States::doc_view`]): folding the ledger's lines into a table of its own would
            // hold every coding of it. Where the state cannot be written, it is that.
            let lean = match states.open_lean(&ledger)? {
                Some(lean) => Some(lean),
                None => match states.refresh(&ledger) {
                    Ok(true) => states.open_lean(&ledger)?,
                    _ => None,
                },
            };
            let source = match lean {
                Some(lean) => {
                    bad_lines.extend_from_slice(lean.bad_lines());
                    first += lean.places() + lean.tail().len() as u64;
                    Source::State(lean)
                }
                None => {
                    let (mut whole, mut events) = (CodingTable::default(), Vec::new());
                    whole.read_lines(&ledger, first, &mut events)?;
                    first += events.len() as u64;
                    whole.fold(events);
                    bad_lines.append(&mut whole.bad_lines);
                    Source::Lines(whole)
                }
            };
            parts.push(Part { ledger, first: at, source });
        }
        Ok(TableParts { parts, bad_lines })
    }

    /// The ledgers' unreadable lines, as [`CodingTable::bad_lines`] of the whole table.
    pub fn bad_lines(&self) -> &[BadLine] {
        &self.bad_lines
    }

    /// The notes the ledgers have codings in, sorted; notes whose codings were all removed may
    /// be among them.
    pub fn docs(&self) -> BTreeSet<&str> {
        let mut out = BTreeSet::new();
        for p in &self.parts {
            match &p.source {
                Source::State(lean) => {
                    out.extend(lean.notes());
                    out.extend(lean.tail().iter().filter_map(|ev| match ev {
                        Event::Add(c) => Some(c.doc.as_str()),
                        _ => None,
                    }));
                }
                Source::Lines(whole) => out.extend(whole.docs()),
            }
        }
        out
    }

    /// The table of the notes at `docs` alone: the codings the whole table has in them (the
    /// same, in the same order), with their removed ids; of a ledger folded from its lines,
    /// every removed id. Offsets past 4 billion characters are among its
    /// [`CodingTable::bad_lines`].
    pub fn table_of(&self, docs: &[&str]) -> Result<CodingTable> {
        let mut t = CodingTable::default();
        let (mut events, mut removed) = (Vec::new(), Vec::new());
        for p in &self.parts {
            match &p.source {
                Source::State(lean) => {
                    t.add_lean(&p.ledger, p.first, lean, Some(docs), &mut events)?;
                }
                Source::Lines(whole) => whole.copy_into(docs, &mut t, &mut events, &mut removed),
            }
        }
        t.finish(events, removed);
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Codings;
    use crate::ledger::now;

    fn coding(coder: &str, doc: &str, start: usize, code: &str, text: &str) -> Coding {
        Coding {
            id: crate::ledger::coding_id(coder, doc, start, start + 4, code),
            doc: doc.into(),
            start,
            end: start + 4,
            hash: fieldnotes_corpus::text_hash(text),
            text: text.into(),
            code: code.into(),
            coder: coder.into(),
            origin: Origin::Manual,
            status: Status::Accepted,
            memo: Some("a memo".into()),
            evidence: vec![],
            time: now(),
            base: None,
            reviewer: None,
        }
    }

    /// What the table keeps of a coding.
    fn lean(mut c: Coding) -> Coding {
        c.memo = None;
        c.evidence.clear();
        c.time.clear();
        c
    }

    #[test]
    fn the_table_folds_as_the_ledger_does() {
        let dir = tempfile::tempdir().unwrap();
        let hb = Ledger::new(dir.path(), "hb").unwrap();
        let ak = Ledger::new(dir.path(), "ak").unwrap();
        let mut a = coding("hb", "notes/a.md", 0, "time", "Some");
        a.base = Some("0123456789abcdef".into());
        let b = coding("hb", "notes/b.md", 10, "power", "");
        let mut odd = coding("hb", "notes/a.md", 20, "time", "odd ids");
        odd.id = "imported-7".into();
        odd.hash = "not hex".into();
        let gone = coding("hb", "notes/b.md", 30, "time", "gone");
        let other = coding("ak", "notes/a.md", 0, "time", "Some");
        let t = "2026-01-01T00:00:00Z".to_string();
        hb.append(&[
            Event::Add(a.clone()),
            Event::Add(b.clone()),
            Event::Add(odd.clone()),
            Event::Add(gone.clone()),
            Event::Status {
                id: b.id.clone(),
                doc: Some(b.doc.clone()),
                status: Status::Rejected,
                by: "hb".into(),
                time: t.clone(),
            },
            Event::Move {
                id: odd.id.clone(),
                doc: None,
                start: 21,
                end: 25,
                base: Some("00000000000000ab".into()),
                text: Some("odd id".into()),
                by: String::new(),
                time: t.clone(),
            },
            Event::Move {
                id: b.id.clone(),
                doc: Some(b.doc.clone()),
                start: 11,
                end: 15,
                base: None,
                text: Some("moved".into()),
                by: "hb".into(),
                time: t.clone(),
            },
            Event::Remove { id: gone.id.clone(), doc: Some(gone.doc.clone()), by: "hb".into(), time: t.clone() },
        ])
        .unwrap();
        ak.append(&[Event::Add(other.clone())]).unwrap();
        // A line that cannot be read, and a torn last line.
        std::fs::OpenOptions::new()
            .append(true)
            .open(hb.path())
            .and_then(|mut f| std::io::Write::write_all(&mut f, b"{\"op\":\"add\"}\n{\"op\":\"rem"))
            .unwrap();

        let table = CodingTable::load(dir.path()).unwrap();
        let full = Codings::load(dir.path()).unwrap();
        let mut want: Vec<Coding> = full.iter().cloned().map(lean).collect();
        let mut got: Vec<Coding> = table.iter().collect();
        want.sort_by(|x, y| (&x.coder, &x.id).cmp(&(&y.coder, &y.id)));
        got.sort_by(|x, y| (&x.coder, &x.id).cmp(&(&y.coder, &y.id)));
        assert_eq!(got, want);
        assert_eq!(table.len(), 4);
        // A move that changed the words takes their hash; a whole-passage coding stays textless.
        let odd_now = got.iter().find(|c| c.id == "imported-7").unwrap();
        assert_eq!((odd_now.start, odd_now.text.as_str()), (21, "odd id"));
        assert_eq!(odd_now.hash, fieldnotes_corpus::text_hash("odd id"));
        assert_eq!(odd_now.base.as_deref(), Some("00000000000000ab"));
        let b_now = got.iter().find(|c| c.id == b.id).unwrap();
        assert_eq!((b_now.status, b_now.reviewer.as_deref(), b_now.text.as_str()), (Status::Rejected, Some("hb"), ""));
        assert_eq!(got.iter().find(|c| c.id == a.id).unwrap().base.as_deref(), Some("0123456789abcdef"));

        let bad: Vec<(usize, bool)> = table.bad_lines().iter().map(|b| (b.line, b.torn)).collect();
        let full_bad: Vec<(usize, bool)> = full.bad_lines().map(|b| (b.line, b.torn)).collect();
        assert_eq!(bad, vec![(9, false), (10, true)]);
        assert_eq!(bad, full_bad);

        assert!(table.was_added("hb", &gone.id), "a removed coding was still added once");
        assert!(table.was_added("hb", "imported-7"));
        assert!(!table.was_added("ak", &b.id));
        assert!(!table.was_added("nobody", &a.id));

        // Those not in a version: another version, or hand codings from before versions.
        let mut stale: Vec<String> = table.of_doc_not_at("notes/a.md", "0123456789abcdef").map(|c| c.id).collect();
        stale.sort();
        let mut want_stale = vec!["imported-7".to_string(), other.id.clone()];
        want_stale.sort();
        assert_eq!(stale, want_stale);
        assert_eq!(table.docs(), ["notes/a.md", "notes/b.md"]);
        let of_a: Vec<String> = table.of_doc("notes/a.md").map(|c| c.id).collect();
        assert_eq!(of_a.len(), 3);
        assert!(of_a.contains(&a.id) && of_a.contains(&other.id) && of_a.contains(&odd.id));
        assert_eq!(table.of_doc("notes/none.md").count(), 0);
    }
}
