//! The codings ledger: `codings/<coder>.jsonl`, one JSON event a line, append-only.
//!
//! The current codings are the fold of the events. Each command's events are appended in one
//! `write` under an exclusive advisory lock and made durable with `fsync` before the command
//! reports success, so concurrent coders never interleave or lose lines. A last line torn by a
//! crash (no trailing newline, not valid JSON) is reported when read, and set aside into
//! `<coder>.jsonl.torn` before the next append, never silently dropped.

use std::collections::{BTreeMap, HashMap};
use std::fs::{self, File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use fieldnotes_corpus::{Date, Document};
use serde::{Deserialize, Serialize};

use crate::autocode::Hit;
use crate::error::{Error, Result};

/// The folder of ledgers inside a project.
pub const CODINGS_DIR: &str = "codings";
/// The coder name under which the auto-coder's suggestions are kept.
pub const RULES_CODER: &str = "rules";

/// Who or what made a coding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// A person.
    Manual = 0,
    /// The rule-based auto-coder.
    Rule = 1,
    /// A model.
    Model = 2,
    /// Brought in from another program or file.
    Import = 3,
}

impl Origin {
    /// Every origin, at the index of its byte (`origin as u8`), as compact tables keep it.
    pub const ALL: [Origin; 4] = [Origin::Manual, Origin::Rule, Origin::Model, Origin::Import];
}

/// Where a coding stands in review.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Proposed, not yet reviewed.
    Suggested = 0,
    /// Accepted by a person (manual codings are accepted).
    Accepted = 1,
    /// Rejected in review.
    Rejected = 2,
}

impl Status {
    /// Every status, at the index of its byte (`status as u8`), as compact tables and the report
    /// store keep it.
    pub const ALL: [Status; 3] = [Status::Suggested, Status::Accepted, Status::Rejected];
}

impl std::str::FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "suggested" => Ok(Status::Suggested),
            "accepted" => Ok(Status::Accepted),
            "rejected" => Ok(Status::Rejected),
            _ => Err(format!("unknown status `{s}`; use suggested, accepted or rejected")),
        }
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Status::Suggested => "suggested",
            Status::Accepted => "accepted",
            Status::Rejected => "rejected",
        })
    }
}

/// A coding: a code applied to a span of a document.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Coding {
    /// Stable id.
    pub id: String,
    /// Document path relative to the project.
    pub doc: String,
    /// Code-point offset of the span's start.
    pub start: usize,
    /// Code-point offset just past the span.
    pub end: usize,
    /// Hash of the coded text (see `fieldnotes_corpus::text_hash`).
    pub hash: String,
    /// The coded text, for re-anchoring and for people reading the ledger. Left empty for
    /// codings of whole passages made in bulk (the auto-coder): those re-anchor by `hash` on
    /// the passages of the edited note, which keeps a large ledger small.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// The code id.
    pub code: String,
    /// The coder (ledger name).
    pub coder: String,
    /// Who or what made it.
    pub origin: Origin,
    /// Review status.
    pub status: Status,
    /// A memo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memo: Option<String>,
    /// The auto-coder's evidence.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Hit>,
    /// When it was made (RFC 3339, UTC).
    pub time: String,
    /// The version of the note that `start` and `end` count in: the hash of the note's whole text
    /// (`Document::hash`) when the coding was made or last moved. A coding whose note has
    /// changed since is carried onto the new text through a diff of the two versions (see
    /// [`crate::versions`]). Absent in ledgers written before versions were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    /// Who last accepted or rejected it (the `by` of its latest `status` event); `None` until
    /// reviewed. Folded from `status` events (an `add` carries it only where a reviewed coding is
    /// copied, as `redact` does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reviewer: Option<String>,
}

impl Coding {
    /// Who accepted this coding when another coder did: it counts as theirs too (in `--coder`
    /// tables, agreement and exports); `None` for a coding not accepted, or accepted by its coder.
    pub fn accepted_by_other(&self) -> Option<&str> {
        match (self.status, self.reviewer.as_deref()) {
            (Status::Accepted, Some(r)) if r != self.coder && !r.is_empty() => Some(r),
            _ => None,
        }
    }

    /// A coding of a whole passage, as bulk coders (the auto-coder, imports) make them: the
    /// text is left out of the ledger, and the passage's hash re-anchors the coding. No
    /// evidence, the time now; set those fields after if need be.
    pub fn whole_passage(
        doc: &Document,
        p: &fieldnotes_corpus::Passage,
        code: &str,
        coder: &str,
        origin: Origin,
        status: Status,
    ) -> Coding {
        Coding {
            id: coding_id(coder, &doc.path, p.start, p.end, code),
            doc: doc.path.clone(),
            start: p.start,
            end: p.end,
            hash: p.hash.clone(),
            text: String::new(),
            code: code.to_string(),
            coder: coder.to_string(),
            origin,
            status,
            memo: None,
            evidence: Vec::new(),
            time: now(),
            base: Some(doc.hash.clone()),
            reviewer: None,
        }
    }
}

/// A review decision on a coding, for [`Ledger::append_statuses`]: its id, its note and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The coding's id.
    pub id: String,
    /// Its note.
    pub doc: String,
    /// When it was decided.
    pub time: String,
}

/// One line of a ledger.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum Event {
    /// A new coding.
    Add(Coding),
    /// A coding is withdrawn.
    Remove {
        /// The coding's id.
        id: String,
        /// The coding's note, so that a reader of the ledger's last lines knows which note they
        /// change without the rest (absent in ledgers written before it was recorded).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        doc: Option<String>,
        /// Who removed it.
        #[serde(default)]
        by: String,
        /// When.
        time: String,
    },
    /// A review decision.
    Status {
        /// The coding's id.
        id: String,
        /// The coding's note, so that a reader of the ledger's last lines knows which note they
        /// change without the rest (absent in ledgers written before it was recorded).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        doc: Option<String>,
        /// The new status.
        status: Status,
        /// Who decided.
        #[serde(default)]
        by: String,
        /// When.
        time: String,
    },
    /// The coding's text moved within its document (the note was edited), or a person moved
    /// the coding (`code move`).
    Move {
        /// The coding's id.
        id: String,
        /// The coding's note, so that a reader of the ledger's last lines knows which note they
        /// change without the rest (absent in ledgers written before it was recorded).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        doc: Option<String>,
        /// New start.
        start: usize,
        /// New end.
        end: usize,
        /// The version of the note the new offsets count in (see [`Coding::base`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        base: Option<String>,
        /// The words now covered, where the move changed them (an edit inside the span, or a
        /// coding moved by hand): what re-anchoring and readers of the ledger see from then on.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
        /// Who moved it (empty: the tool, following an edit).
        #[serde(default, skip_serializing_if = "String::is_empty")]
        by: String,
        /// When.
        time: String,
    },
    /// A memo written on a coding, in place of the one it had (empty: none).
    Memo {
        /// The coding's id.
        id: String,
        /// The coding's note, so that a reader of the ledger's last lines knows which note they
        /// change without the rest.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        doc: Option<String>,
        /// The memo.
        memo: String,
        /// Who wrote it.
        #[serde(default)]
        by: String,
        /// When.
        time: String,
    },
}

/// A line of a ledger that could not be read.
#[derive(Clone, Debug, Serialize)]
pub struct BadLine {
    /// The ledger file.
    pub path: PathBuf,
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
    /// True for a last line without a newline: a write torn by a crash.
    pub torn: bool,
}

impl std::fmt::Display for BadLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.torn {
            write!(
                f,
                "`{}` line {}: torn last line (a write cut short); it is set aside into `{}.torn` at the next write: {}",
                self.path.display(),
                self.line,
                self.path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
                self.message
            )
        } else {
            write!(
                f,
                "`{}` line {}: unreadable event, left in place and skipped: {}",
                self.path.display(),
                self.line,
                self.message
            )
        }
    }
}

/// The folded state of one ledger.
#[derive(Clone, Debug, Default)]
pub struct LedgerState {
    /// Codings by id, in the order they were added.
    pub codings: BTreeMap<String, Coding>,
    /// Order of first addition.
    pub order: Vec<String>,
    /// Lines that could not be read.
    pub bad_lines: Vec<BadLine>,
    /// Number of events read.
    pub events: usize,
    /// Every id ever added, including removed ones (so re-running the auto-coder does not
    /// bring back what a person removed).
    pub seen: rustc_hash::FxHashSet<String>,
}

impl Event {
    /// Checks what the JSON schema cannot: a span must not end before it starts.
    pub fn check(&self) -> std::result::Result<(), String> {
        let (start, end) = match self {
            Event::Add(c) => (c.start, c.end),
            Event::Move { start, end, .. } => (*start, *end),
            _ => return Ok(()),
        };
        if end < start {
            return Err(format!("the span ends at {end}, before it starts at {start}"));
        }
        Ok(())
    }
}

impl LedgerState {
    /// Applies one event.
    pub fn apply(&mut self, ev: Event) {
        self.events += 1;
        match ev {
            Event::Add(c) => {
                // A second `add` of a coding that stands changes nothing: two clones that each
                // made the same suggestion (the same id) and reviewed it hold both lines once
                // git merges their ledgers, and the later `add` must not undo the decisions
                // after the first. Removed, a coding is added again.
                if self.codings.contains_key(&c.id) {
                    return;
                }
                // An id keeps the place of its first addition, even when removed and added again.
                if self.seen.insert(c.id.clone()) {
                    self.order.push(c.id.clone());
                }
                self.codings.insert(c.id.clone(), c);
            }
            Event::Remove { id, .. } => {
                self.codings.remove(&id);
            }
            Event::Status { id, status, by, .. } => {
                if let Some(c) = self.codings.get_mut(&id) {
                    c.status = status;
                    // A decision undone: the suggestion waits again, reviewed by no one.
                    c.reviewer = (!by.is_empty() && status != Status::Suggested).then_some(by);
                }
            }
            Event::Memo { id, memo, .. } => {
                if let Some(c) = self.codings.get_mut(&id) {
                    c.memo = (!memo.is_empty()).then_some(memo);
                }
            }
            Event::Move { id, start, end, base, text, .. } => {
                if let Some(c) = self.codings.get_mut(&id) {
                    c.start = start;
                    c.end = end;
                    c.base = base;
                    if let Some(t) = text {
                        c.hash = fieldnotes_corpus::text_hash(&t);
                        // A whole-passage coding kept by hash stays without its text.
                        if !c.text.is_empty() {
                            c.text = t;
                        }
                    }
                }
            }
        }
    }

    /// The current codings in the order they were first added.
    pub fn current(&self) -> impl Iterator<Item = &Coding> {
        self.order.iter().filter_map(|id| self.codings.get(id))
    }
}

/// One coder's ledger file.
#[derive(Clone, Debug)]
pub struct Ledger {
    path: PathBuf,
    coder: String,
}

/// Checks a coder name: it becomes a file name.
pub fn validate_coder(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_' || c == '.')
        && !name.starts_with('.');
    if ok { Ok(()) } else { Err(Error::BadCoder { name: name.to_string() }) }
}

impl Ledger {
    /// The ledger of `coder` in the project at `root`.
    pub fn new(root: &Path, coder: &str) -> Result<Ledger> {
        validate_coder(coder)?;
        Ok(Ledger { path: root.join(CODINGS_DIR).join(format!("{coder}.jsonl")), coder: coder.to_string() })
    }

    /// The ledger's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The coder.
    pub fn coder(&self) -> &str {
        &self.coder
    }

    /// Every ledger in the project, by coder name.
    pub fn all(root: &Path) -> Result<Vec<Ledger>> {
        let dir = root.join(CODINGS_DIR);
        let mut out = Vec::new();
        let entries = match fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(source) => return Err(Error::Io { path: dir, source }),
        };
        for entry in entries {
            let entry = entry.map_err(|source| Error::Io { path: dir.clone(), source })?;
            let name = entry.file_name().to_string_lossy().to_string();
            if let Some(coder) = name.strip_suffix(".jsonl")
                && validate_coder(coder).is_ok()
            {
                out.push(Ledger { path: entry.path(), coder: coder.to_string() });
            }
        }
        out.sort_by(|a, b| a.coder.cmp(&b.coder));
        Ok(out)
    }

    /// Reads and folds the ledger, a line at a time. A missing file is an empty ledger.
    pub fn read(&self) -> Result<LedgerState> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(LedgerState::default()),
            Err(source) => return Err(Error::Io { path: self.path.clone(), source }),
        };
        let mut state = LedgerState::default();
        let reader = std::io::BufReader::with_capacity(1 << 20, file);
        state.bad_lines = fold_lines(&self.path, reader, |_, ev| state.apply(ev))
            .map_err(|source| Error::Io { path: self.path.clone(), source })?;
        Ok(state)
    }

    /// Appends events in one write under an exclusive lock, then fsyncs. Returns once durable.
    pub fn append(&self, events: &[Event]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        self.append_at(events).map(|_| ())
    }

    /// [`Ledger::append`], returning the ledger's length before and after the write (taken
    /// under the lock): a caller that sees its writes follow each other knows no other line
    /// came between them.
    pub fn append_at(&self, events: &[Event]) -> Result<(u64, u64)> {
        self.write_lines(events)
    }

    /// [`Ledger::append_at`] of an `add` event for each of `codings`, without making the events:
    /// the lines are the same.
    pub fn append_adds<'c>(&self, codings: impl IntoIterator<Item = &'c Coding>) -> Result<(u64, u64)> {
        let adds: Vec<&Coding> = codings.into_iter().collect();
        self.write_lines_by(&adds, |buf, c| {
            add_line(buf, c);
            Ok(())
        })
    }

    /// [`Ledger::append`] of a `status` event for each of `decisions` (a coding's id and note,
    /// and when), every one `status` by `by`, without making the events: the lines are the
    /// same. An [`Event`] is as large as its largest kind, a whole coding: 580,000 decisions at
    /// 2 GB of notes held as events were most of `code review --accept`'s 1.2 GB.
    ///
    /// Returns the ledger's length before and after the write, as [`Ledger::append_at`] does.
    pub fn append_statuses(&self, decisions: &[Decision], status: Status, by: &str) -> Result<(u64, u64)> {
        /// A `status` event of borrowed parts: written as [`Event::Status`] is.
        #[derive(Serialize)]
        #[serde(tag = "op", rename_all = "lowercase")]
        enum StatusRef<'a> {
            Status { id: &'a str, doc: &'a str, status: Status, by: &'a str, time: &'a str },
        }
        if decisions.is_empty() {
            let len = std::fs::metadata(&self.path).map_or(0, |m| m.len());
            return Ok((len, len));
        }
        let lines: Vec<StatusRef<'_>> =
            decisions.iter().map(|d| StatusRef::Status { id: &d.id, doc: &d.doc, status, by, time: &d.time }).collect();
        self.write_lines(&lines)
    }

    /// Writes each of `items` as a JSON line under the lock, then one fsync: the lines are made
    /// in parallel a chunk at a time (190,000 suggestions are 80 MB of JSON), and written in
    /// order. A write cut short leaves whole lines and a torn one, set aside by the next writer.
    /// Returns the ledger's length before and after.
    fn write_lines<T: Serialize + Sync>(&self, items: &[T]) -> Result<(u64, u64)> {
        self.write_lines_by(items, |buf, item| {
            serde_json::to_writer(&mut *buf, item).map_err(|e| Error::Rules { message: e.to_string() })?;
            buf.push(b'\n');
            Ok(())
        })
    }

    /// [`Ledger::write_lines`] with each item's line (its newline included) written by `line`.
    fn write_lines_by<T: Sync>(
        &self,
        items: &[T],
        line: impl Fn(&mut Vec<u8>, &T) -> Result<()> + Sync,
    ) -> Result<(u64, u64)> {
        use rayon::prelude::*;
        let chunks: Vec<Vec<u8>> = items
            .par_chunks(2048)
            .map(|chunk| {
                let mut buf = Vec::with_capacity(chunk.len() * 256);
                for item in chunk {
                    line(&mut buf, item)?;
                }
                Ok(buf)
            })
            .collect::<Result<_>>()?;
        let len: u64 = chunks.iter().map(|c| c.len() as u64).sum();
        self.with_lock(|f| {
            let start = f.metadata()?.len();
            if len > 0 {
                for c in &chunks {
                    f.write_all(c)?;
                }
                f.sync_data()?;
            }
            Ok((start, start + len))
        })
    }

    /// Runs `f` on the ledger opened for appending, under an exclusive lock, after setting aside
    /// a torn last line. The lock is held until `f` returns.
    pub fn with_lock<T>(&self, f: impl FnOnce(&mut File) -> std::io::Result<T>) -> Result<T> {
        let io = |source| Error::Io { path: self.path.clone(), source };
        if let Some(dir) = self.path.parent() {
            fs::create_dir_all(dir).map_err(|source| Error::Io { path: dir.to_path_buf(), source })?;
        }
        let mut file = fieldnotes_corpus::atomic::owner_only(OpenOptions::new().read(true).append(true).create(true))
            .open(&self.path)
            .map_err(io)?;
        file.lock().map_err(io)?;
        let result = (|| {
            self.set_aside_torn_tail(&mut file)?;
            f(&mut file)
        })()
        .map_err(io);
        let _ = file.unlock();
        result
    }

    fn set_aside_torn_tail(&self, file: &mut File) -> std::io::Result<()> {
        let len = file.metadata()?.len();
        if len == 0 {
            return Ok(());
        }
        let mut last = [0u8; 1];
        file.seek(SeekFrom::Start(len - 1))?;
        file.read_exact(&mut last)?;
        if last[0] == b'\n' {
            return Ok(());
        }
        // Find the start of the torn line.
        let mut bytes = Vec::new();
        file.seek(SeekFrom::Start(0))?;
        file.read_to_end(&mut bytes)?;
        let cut = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let tail = &bytes[cut..];
        if serde_json::from_slice::<Event>(tail).is_ok() {
            // A complete event missing only its newline: keep it, add the newline.
            file.write_all(b"\n")?;
            return file.sync_data();
        }
        let mut aside_name = self.path.as_os_str().to_owned();
        aside_name.push(".torn");
        let mut aside = fieldnotes_corpus::atomic::owner_only(OpenOptions::new().append(true).create(true))
            .open(PathBuf::from(aside_name))?;
        aside.write_all(tail)?;
        aside.write_all(b"\n")?;
        aside.sync_data()?;
        file.set_len(cut as u64)?;
        file.sync_data()
    }
}

/// Folds ledger bytes into state, recording unreadable lines (and a torn last line).
pub fn fold_bytes(path: &Path, bytes: &[u8]) -> LedgerState {
    let mut state = LedgerState::default();
    // Reading from memory cannot fail.
    state.bad_lines = fold_lines(path, bytes, |_, ev| state.apply(ev)).unwrap_or_default();
    state
}

/// Reads ledger events a line at a time from `reader` (the ledger at `path`), handing each
/// readable event to `apply` with its 1-based line number; returns the lines that could not be
/// read, a last line without its newline marked torn. Blank lines are skipped.
pub fn fold_lines(
    path: &Path,
    reader: impl std::io::BufRead,
    apply: impl FnMut(usize, Event),
) -> std::io::Result<Vec<BadLine>> {
    fold_lines_from(path, reader, 1, apply)
}

/// [`fold_lines`] of a ledger's bytes from line `first` on (the lines before it read already).
pub fn fold_lines_from(
    path: &Path,
    mut reader: impl std::io::BufRead,
    first: usize,
    mut apply: impl FnMut(usize, Event),
) -> std::io::Result<Vec<BadLine>> {
    let mut bad = Vec::new();
    let mut line = Vec::new();
    let mut n = first - 1;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            return Ok(bad);
        }
        n += 1;
        let complete = line.last() == Some(&b'\n');
        let text = if complete { &line[..line.len() - 1] } else { &line[..] };
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match read_event(text) {
            Ok(ev) => apply(n, ev),
            Err(message) => bad.push(BadLine { path: path.to_path_buf(), line: n, message, torn: !complete }),
        }
    }
}

/// One ledger line read as an event, or what is wrong with it.
pub fn read_event(text: &[u8]) -> std::result::Result<Event, String> {
    // A byte order mark, as some Windows editors write at the start of a file, is not part of it.
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    serde_json::from_slice::<Event>(text).map_err(|e| line_problem(text, e.to_string())).and_then(|ev| {
        ev.check()?;
        Ok(ev)
    })
}

/// What is wrong with a ledger line that is not an event: a line git marks a merge conflict
/// with is named as one, with what to do.
fn line_problem(text: &[u8], message: String) -> String {
    let markers: [&[u8]; 4] = [b"<<<<<<<", b"=======", b">>>>>>>", b"|||||||"];
    if markers.iter().any(|m| text.starts_with(m)) {
        return concat!(
            "a merge conflict marker left by git: keep the lines of both sides, delete the marker lines ",
            "(`<<<<<<<`, `|||||||`, `=======`, `>>>>>>>`) and commit; a coding both sides added is read once"
        )
        .to_string();
    }
    message
}

/// All current codings of a project, across ledgers.
#[derive(Clone, Debug, Default)]
pub struct Codings {
    /// Per coder, the folded ledger.
    pub ledgers: BTreeMap<String, LedgerState>,
}

impl Codings {
    /// Reads every ledger of the project.
    pub fn load(root: &Path) -> Result<Codings> {
        let mut ledgers = BTreeMap::new();
        for l in Ledger::all(root)? {
            ledgers.insert(l.coder.clone(), l.read()?);
        }
        Ok(Codings { ledgers })
    }

    /// The codings of note `doc` only, as [`Codings::load`] has them, read through each ledger's
    /// coding state ([`crate::state`]) instead of the whole ledgers.
    pub fn load_doc(root: &Path, derived_dir: &Path, doc: &str) -> Result<Codings> {
        Codings::load_docs(root, derived_dir, &[doc])
    }

    /// [`Codings::load_doc`] for several notes at once.
    pub fn load_docs(root: &Path, derived_dir: &Path, docs: &[&str]) -> Result<Codings> {
        let states = crate::state::States::new(derived_dir);
        let mut ledgers = BTreeMap::new();
        for l in Ledger::all(root)? {
            ledgers.insert(l.coder.clone(), states.docs_view(&l, docs)?);
        }
        Ok(Codings { ledgers })
    }

    /// The ledgers of `coders` only (a coder without a ledger has none).
    pub fn load_coders(root: &Path, coders: &[String]) -> Result<Codings> {
        let mut ledgers = BTreeMap::new();
        for l in Ledger::all(root)?.into_iter().filter(|l| coders.iter().any(|c| c == &l.coder)) {
            ledgers.insert(l.coder.clone(), l.read()?);
        }
        Ok(Codings { ledgers })
    }

    /// Brings every ledger's coding state up to date (after a command that wrote many events).
    pub fn refresh_states(root: &Path, derived_dir: &Path) -> Result<()> {
        let states = crate::state::States::new(derived_dir);
        for l in Ledger::all(root)? {
            states.refresh(&l)?;
        }
        Ok(())
    }

    /// Every current coding, coder by coder.
    pub fn iter(&self) -> impl Iterator<Item = &Coding> {
        self.ledgers.values().flat_map(|s| s.current())
    }

    /// Unreadable lines over all ledgers.
    pub fn bad_lines(&self) -> impl Iterator<Item = &BadLine> {
        self.ledgers.values().flat_map(|s| s.bad_lines.iter())
    }

    /// Number of current codings per code id.
    pub fn usage(&self) -> HashMap<String, usize> {
        let mut m = HashMap::new();
        for c in self.iter() {
            *m.entry(c.code.clone()).or_insert(0) += 1;
        }
        m
    }
}

/// A stable id for a coding from what identifies it.
///
/// FNV-1a 64 of `coder␟doc␟start␟end␟code` (the numbers in decimal), as `c` and 16 hex digits:
/// stable across versions and platforms, enough for ids within one ledger. Hashed piece by
/// piece rather than from a formatted key (`code auto` makes one for each of its suggestions).
pub fn coding_id(coder: &str, doc: &str, start: usize, end: usize, code: &str) -> String {
    let mut h = Fnv1a::default();
    h.write(coder.as_bytes());
    h.write(b"\x1f");
    h.write(doc.as_bytes());
    h.write(b"\x1f");
    h.write_decimal(start);
    h.write(b"\x1f");
    h.write_decimal(end);
    h.write(b"\x1f");
    h.write(code.as_bytes());
    let mut id = String::with_capacity(17);
    id.push('c');
    id.push_str(&fieldnotes_corpus::hex16(h.0));
    id
}

/// FNV-1a 64, fed a piece at a time.
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Fnv1a {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// `n`'s decimal digits, as `format!("{n}")` writes them.
    fn write_decimal(&mut self, n: usize) {
        self.write(itoa::Buffer::new().format(n).as_bytes());
    }
}

/// The current time as RFC 3339 UTC, to the second.
pub fn now() -> String {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let secs = i64::try_from(secs).unwrap_or(0);
    let d = Date::from_days_since_epoch(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!("{d}T{:02}:{:02}:{:02}Z", s / 3600, (s / 60) % 60, s % 60)
}

/// Where a coding's span stands now that its document may have changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum Anchor {
    /// The text is where it was.
    Exact,
    /// The text was found elsewhere in the document.
    Moved {
        /// New start.
        start: usize,
        /// New end.
        end: usize,
    },
    /// The text is no longer in the document, or the document is gone.
    Orphaned {
        /// Why.
        reason: String,
        /// Where its words stood in the current text (code points), when known: the candidate
        /// place to re-attach it (`code move`).
        #[serde(skip_serializing_if = "Option::is_none")]
        near: Option<usize>,
    },
}

/// Re-anchors a coding on (a possibly edited) document by its text alone: exact, moved (the
/// nearest occurrence of the same text), or orphaned. [`crate::versions::Anchorer`] first
/// follows the edits since the coding's version of the note, and falls back on this.
pub fn anchor(coding: &Coding, doc: Option<&Document>) -> Anchor {
    anchor_where(coding, doc, |_, _| true)
}

/// [`anchor`], taking only a span `[start, end)` (code points) that `accept` allows.
pub fn anchor_where(coding: &Coding, doc: Option<&Document>, accept: impl Fn(usize, usize) -> bool) -> Anchor {
    let Some(doc) = doc else {
        return Anchor::Orphaned { reason: format!("document `{}` is gone", coding.doc), near: None };
    };
    // Offsets found through the passages, not by counting every character before them, which
    // made placing a long note's codings quadratic.
    let span = doc.byte_offset(coding.start).zip(doc.byte_offset(coding.end)).filter(|(bs, be)| bs <= be);
    if coding.text.is_empty() {
        // A whole-passage coding kept by hash: the same span, or the passage with that hash.
        if let Some((bs, be)) = span
            && fieldnotes_corpus::text_hash(&doc.text[bs..be]) == coding.hash
            && accept(coding.start, coding.end)
        {
            return Anchor::Exact;
        }
        let best = doc
            .passages
            .iter()
            .filter(|p| p.hash == coding.hash && accept(p.start, p.end))
            .min_by_key(|p| p.start.abs_diff(coding.start));
        return match best {
            Some(p) => Anchor::Moved { start: p.start, end: p.end },
            None => Anchor::Orphaned { reason: "no passage of the document has its text any more".into(), near: None },
        };
    }
    if let Some((bs, be)) = span
        && doc.text[bs..be] == coding.text
        && accept(coding.start, coding.end)
    {
        return Anchor::Exact;
    }
    let old_byte = span.map_or(0, |s| s.0);
    let chars = coding.text.chars().count();
    // Each match's code-point start, counted on from the match before (the matches come in
    // order): counting from the note's start for every match was quadratic in a long note.
    let mut at = (0, 0);
    let best = doc
        .text
        .match_indices(coding.text.as_str())
        .map(|(b, _)| {
            at = (b, at.1 + doc.text[at.0..b].chars().count());
            at
        })
        .filter(|&(_, start)| accept(start, start + chars))
        .min_by_key(|&(b, _)| b.abs_diff(old_byte));
    match best {
        Some((_, start)) => Anchor::Moved { start, end: start + chars },
        None => Anchor::Orphaned { reason: "its text is no longer in the document".into(), near: None },
    }
}

/// The line `serde_json` writes for `Event::Add(c)`, its newline after it, appended to `out`,
/// written here: the fields in the same order, those it skips when empty skipped, each string
/// escaped as it escapes them. Through serde, the lines of `code auto`'s 190,000 suggestions
/// at 100 MB were 6% of the command's instructions, most of them looking at each byte of each
/// string for a character to escape; [`json_str`] looks at eight at a time. A property test
/// holds the two to the same bytes.
fn add_line(out: &mut Vec<u8>, c: &Coding) {
    let mut n = itoa::Buffer::new();
    // `,"key":` (the key given with its comma and colon) and the value.
    let text = |out: &mut Vec<u8>, key: &[u8], s: &str| {
        out.extend_from_slice(key);
        json_str(out, s);
    };
    let mut number = |out: &mut Vec<u8>, key: &[u8], v: usize| {
        out.extend_from_slice(key);
        out.extend_from_slice(n.format(v).as_bytes());
    };
    text(out, b"{\"op\":\"add\",\"id\":", &c.id);
    text(out, b",\"doc\":", &c.doc);
    number(out, b",\"start\":", c.start);
    number(out, b",\"end\":", c.end);
    text(out, b",\"hash\":", &c.hash);
    if !c.text.is_empty() {
        text(out, b",\"text\":", &c.text);
    }
    text(out, b",\"code\":", &c.code);
    text(out, b",\"coder\":", &c.coder);
    out.extend_from_slice(match c.origin {
        Origin::Manual => b",\"origin\":\"manual\"".as_slice(),
        Origin::Rule => b",\"origin\":\"rule\"",
        Origin::Model => b",\"origin\":\"model\"",
        Origin::Import => b",\"origin\":\"import\"",
    });
    out.extend_from_slice(match c.status {
        Status::Suggested => b",\"status\":\"suggested\"".as_slice(),
        Status::Accepted => b",\"status\":\"accepted\"",
        Status::Rejected => b",\"status\":\"rejected\"",
    });
    if let Some(memo) = &c.memo {
        text(out, b",\"memo\":", memo);
    }
    if !c.evidence.is_empty() {
        out.extend_from_slice(b",\"evidence\":[");
        for (i, h) in c.evidence.iter().enumerate() {
            text(out, if i == 0 { b"{\"rule\":".as_slice() } else { b",{\"rule\":" }, &h.rule);
            text(out, b",\"text\":", &h.text);
            number(out, b",\"start\":", h.start);
            number(out, b",\"end\":", h.end);
            out.push(b'}');
        }
        out.push(b']');
    }
    text(out, b",\"time\":", &c.time);
    if let Some(base) = &c.base {
        text(out, b",\"base\":", base);
    }
    if let Some(reviewer) = &c.reviewer {
        text(out, b",\"reviewer\":", reviewer);
    }
    out.extend_from_slice(b"}\n");
}

/// `s` as a JSON string, escaped as `serde_json` escapes: `"` and the backslash, and the control
/// characters below U+0020 (newline, carriage return, tab, backspace and form feed by their
/// letters, the rest as `u00xx`); nothing else.
fn json_str(out: &mut Vec<u8>, s: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let b = s.as_bytes();
    out.push(b'"');
    let mut from = 0;
    while let Some(i) = next_to_escape(b, from) {
        out.extend_from_slice(&b[from..i]);
        match b[i] {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            x => out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(x >> 4)], HEX[usize::from(x & 0xf)]]),
        }
        from = i + 1;
    }
    out.extend_from_slice(&b[from..]);
    out.push(b'"');
}

/// The first byte of `b` from `from` on that JSON escapes: a control character, `"` or a
/// backslash.
/// Eight bytes at a time in a `u64`: each test marks the high bit of a byte that passes it, and
/// can mark a byte wrongly only above one rightly marked, so the lowest mark is right.
fn next_to_escape(b: &[u8], from: usize) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let zero = |x: u64| x.wrapping_sub(ONES) & !x & HIGH;
    let mut i = from;
    while let Some(chunk) = b.get(i..i + 8) {
        let x = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let marks = (x.wrapping_sub(ONES * 0x20) & !x & HIGH)
            | zero(x ^ (ONES * u64::from(b'"')))
            | zero(x ^ (ONES * u64::from(b'\\')));
        if marks != 0 {
            return Some(i + (marks.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    b[i..].iter().position(|&c| c < 0x20 || c == b'"' || c == b'\\').map(|k| i + k)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]
        /// `add_line` writes what serde_json writes for the event, byte for byte: strings with
        /// every kind of character JSON escapes (at every place in a run of eight), text and
        /// evidence present or not, each optional field present or not.
        #[test]
        fn add_lines_are_what_serde_writes(
            strings in proptest::collection::vec("(\\PC|[\u{0}-\u{1f}\"\\\\/\u{7f}]|é|’){0,20}", 11),
            numbers in proptest::collection::vec(0usize..1 << 40, 6),
            (origin, status) in (0usize..4, 0usize..3),
            (memo, base, reviewer, hits) in (proptest::bool::ANY, proptest::bool::ANY, proptest::bool::ANY, 0usize..3),
        ) {
            let s = |i: usize| strings[i].clone();
            let c = Coding {
                id: s(0),
                doc: s(1),
                start: numbers[0],
                end: numbers[1],
                hash: s(2),
                text: s(3),
                code: s(4),
                coder: s(5),
                origin: Origin::ALL[origin],
                status: Status::ALL[status],
                memo: memo.then(|| s(6)),
                evidence: (0..hits)
                    .map(|k| crate::autocode::Hit { rule: s(7 + k % 2), text: s(8 - k % 2), start: numbers[2 + k], end: numbers[5] })
                    .collect(),
                time: s(9),
                base: base.then(|| s(10)),
                reviewer: reviewer.then(|| s(0)),
            };
            let mut ours = Vec::new();
            add_line(&mut ours, &c);
            let mut theirs = serde_json::to_vec(&Event::Add(c)).unwrap();
            theirs.push(b'\n');
            proptest::prop_assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(theirs).unwrap());
        }
    }

    #[test]
    fn coding_ids_are_the_fnv_of_the_formatted_key() {
        // Ids are kept in ledgers: they must never change. As first made, from a formatted key.
        fn as_first_made(coder: &str, doc: &str, start: usize, end: usize, code: &str) -> String {
            let key = format!("{coder}\u{1f}{doc}\u{1f}{start}\u{1f}{end}\u{1f}{code}");
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for b in key.bytes() {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0100_0000_01b3);
            }
            format!("c{h:016x}")
        }
        for (start, end) in [(0, 0), (0, 9), (10, 99), (7, 1_000_000), (usize::MAX - 1, usize::MAX)] {
            for (coder, doc, code) in
                [("rules", "notes/a.md", "time"), ("hb", "notes/é ü/b.md", "trust-2"), ("", "", "")]
            {
                assert_eq!(coding_id(coder, doc, start, end, code), as_first_made(coder, doc, start, end, code));
            }
        }
        assert_eq!(coding_id("rules", "notes/a.md", 0, 4, "time"), "cbae1727d18541e83");
    }

    fn coding(id: &str, code: &str) -> Coding {
        Coding {
            id: id.into(),
            doc: "notes/a.md".into(),
            start: 0,
            end: 4,
            hash: fieldnotes_corpus::text_hash("Some"),
            text: "Some".into(),
            code: code.into(),
            coder: "hb".into(),
            origin: Origin::Manual,
            status: Status::Accepted,
            memo: None,
            evidence: vec![],
            time: now(),
            base: None,
            reviewer: None,
        }
    }

    #[test]
    fn adds_written_from_borrowed_codings_are_the_lines_of_their_events() {
        let dir = tempfile::tempdir().unwrap();
        // More than one chunk of lines, made in parallel, written in order.
        let codings: Vec<Coding> = (0..5000)
            .map(|i| Coding {
                memo: (i % 7 == 0).then(|| format!("memo \"{i}\"\n")),
                ..coding(&format!("c{i}"), if i % 2 == 0 { "time" } else { "context" })
            })
            .collect();
        let (a, b) = (Ledger::new(dir.path(), "a").unwrap(), Ledger::new(dir.path(), "b").unwrap());
        let (start, end) = a.append_adds(&codings).unwrap();
        let events: Vec<Event> = codings.iter().cloned().map(Event::Add).collect();
        b.append_at(&events).unwrap();
        let (left, right) = (fs::read(a.path()).unwrap(), fs::read(b.path()).unwrap());
        assert_eq!(left, right);
        assert_eq!((start, end), (0, left.len() as u64));
        assert_eq!(a.read().unwrap().current().count(), 5000);
    }

    #[test]
    fn decisions_written_from_their_parts_are_the_lines_of_their_events() {
        let dir = tempfile::tempdir().unwrap();
        let decisions: Vec<Decision> = (0..5000)
            .map(|i| Decision { id: format!("c{i}"), doc: format!("notes/a \"{i}\".md"), time: now() })
            .collect();
        let (a, b) = (Ledger::new(dir.path(), "a").unwrap(), Ledger::new(dir.path(), "b").unwrap());
        a.append_statuses(&decisions, Status::Rejected, "hb").unwrap();
        let events: Vec<Event> = decisions
            .iter()
            .map(|d| Event::Status {
                id: d.id.clone(),
                doc: Some(d.doc.clone()),
                status: Status::Rejected,
                by: "hb".into(),
                time: d.time.clone(),
            })
            .collect();
        b.append(&events).unwrap();
        assert_eq!(fs::read(a.path()).unwrap(), fs::read(b.path()).unwrap());
        a.append_statuses(&[], Status::Accepted, "hb").unwrap();
        assert_eq!(fs::read(a.path()).unwrap(), fs::read(b.path()).unwrap());
    }

    #[test]
    fn a_decision_undone_leaves_no_reviewer() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::new(dir.path(), "rules").unwrap();
        let mut c = coding("1", "time");
        c.status = Status::Suggested;
        let status = |s: Status| Event::Status { id: "1".into(), doc: None, status: s, by: "hb".into(), time: now() };
        l.append(&[Event::Add(c), status(Status::Accepted), status(Status::Suggested)]).unwrap();
        let now = l.read().unwrap().current().next().cloned().unwrap();
        assert_eq!((now.status, now.reviewer), (Status::Suggested, None));
        let table = crate::CodingTable::load(dir.path()).unwrap();
        let row = table.with_id("1").next().unwrap();
        assert_eq!((row.status, row.reviewer), (Status::Suggested, None));
    }

    #[test]
    fn append_fold_remove_status() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::new(dir.path(), "hb").unwrap();
        l.append(&[Event::Add(coding("1", "time")), Event::Add(coding("2", "context"))]).unwrap();
        l.append(&[
            Event::Remove { id: "1".into(), doc: None, by: "hb".into(), time: now() },
            Event::Status { id: "2".into(), doc: None, status: Status::Rejected, by: "hb".into(), time: now() },
        ])
        .unwrap();
        let s = l.read().unwrap();
        assert_eq!(s.events, 4);
        let cur: Vec<_> = s.current().collect();
        assert_eq!(cur.len(), 1);
        assert_eq!(cur[0].status, Status::Rejected);
        assert!(s.bad_lines.is_empty());
    }

    #[test]
    fn a_merge_conflict_is_named_and_an_add_both_sides_made_is_read_once() {
        let mut add = serde_json::to_string(&Event::Add(coding("1", "time"))).unwrap();
        let status = r#"{"op":"status","id":"1","status":"accepted","by":"ann","time":"t"}"#;
        add.push('\n');
        let text = format!("<<<<<<< HEAD\n\u{feff}{add}{status}\n=======\n{add}>>>>>>> theirs\n");
        let state = fold_bytes(Path::new("codings/hb.jsonl"), text.as_bytes());
        let lines: Vec<usize> = state.bad_lines.iter().map(|b| b.line).collect();
        assert_eq!(lines, [1, 4, 6]);
        assert!(state.bad_lines.iter().all(|b| b.message.contains("delete the marker lines (`<<<<<<<`")));
        assert_eq!(state.codings["1"].status, Status::Accepted, "the second add undoes no review; a BOM is no fault");
        assert_eq!(state.codings["1"].reviewer.as_deref(), Some("ann"));
    }

    #[test]
    fn torn_tail_is_reported_then_set_aside() {
        let dir = tempfile::tempdir().unwrap();
        let l = Ledger::new(dir.path(), "hb").unwrap();
        l.append(&[Event::Add(coding("1", "time"))]).unwrap();
        let mut f = OpenOptions::new().append(true).open(l.path()).unwrap();
        f.write_all(b"{\"op\":\"add\",\"id\":\"2\",\"doc").unwrap();
        drop(f);
        let s = l.read().unwrap();
        assert_eq!(s.codings.len(), 1);
        assert_eq!(s.bad_lines.len(), 1);
        assert!(s.bad_lines[0].torn);
        assert_eq!(s.bad_lines[0].line, 2);
        l.append(&[Event::Add(coding("3", "time"))]).unwrap();
        let s = l.read().unwrap();
        assert!(s.bad_lines.is_empty());
        assert_eq!(s.codings.len(), 2);
        let aside = fs::read_to_string(dir.path().join("codings/hb.jsonl.torn")).unwrap();
        assert!(aside.starts_with("{\"op\":\"add\",\"id\":\"2\""));
    }

    #[test]
    fn garbage_lines_are_reported_not_fatal() {
        let s = fold_bytes(Path::new("x.jsonl"), b"not json\n{\"op\":\"remove\",\"id\":\"9\",\"time\":\"t\"}\n\n[1]\n");
        assert_eq!(s.events, 1);
        let lines: Vec<usize> = s.bad_lines.iter().map(|b| b.line).collect();
        assert_eq!(lines, [1, 4]);
        assert!(s.bad_lines.iter().all(|b| !b.torn));
    }

    #[test]
    fn coder_names_are_checked() {
        assert!(validate_coder("hb").is_ok());
        assert!(validate_coder("../x").is_err());
        assert!(validate_coder("").is_err());
        assert!(validate_coder(".hidden").is_err());
    }

    #[test]
    fn anchors() {
        let opts = fieldnotes_corpus::SplitOptions { speaker_turns: false };
        let doc =
            fieldnotes_corpus::parse_document("notes/a.md".into(), "Some text.\n\nMore.\n".into(), &opts).unwrap();
        let c = coding("1", "x");
        assert_eq!(anchor(&c, Some(&doc)), Anchor::Exact);
        let edited =
            fieldnotes_corpus::parse_document("notes/a.md".into(), "New start. Some text.\n".into(), &opts).unwrap();
        assert_eq!(anchor(&c, Some(&edited)), Anchor::Moved { start: 11, end: 15 });
        let gone = fieldnotes_corpus::parse_document("notes/a.md".into(), "Other.\n".into(), &opts).unwrap();
        assert!(matches!(anchor(&c, Some(&gone)), Anchor::Orphaned { .. }));
        assert!(matches!(anchor(&c, None), Anchor::Orphaned { .. }));
    }

    #[test]
    fn whole_passage_codings_anchor_by_hash() {
        let opts = fieldnotes_corpus::SplitOptions { speaker_turns: false };
        let doc = fieldnotes_corpus::parse_document("notes/a.md".into(), "One.\n\nTwo.\n".into(), &opts).unwrap();
        let p = &doc.passages[1];
        let mut c = coding("1", "x");
        c.text.clear();
        c.start = p.start;
        c.end = p.end;
        c.hash = p.hash.clone();
        assert_eq!(anchor(&c, Some(&doc)), Anchor::Exact);
        let edited =
            fieldnotes_corpus::parse_document("notes/a.md".into(), "Zero.\n\nOne.\n\nTwo.\n".into(), &opts).unwrap();
        let q = &edited.passages[2];
        assert_eq!(anchor(&c, Some(&edited)), Anchor::Moved { start: q.start, end: q.end });
        let gone = fieldnotes_corpus::parse_document("notes/a.md".into(), "One.\n".into(), &opts).unwrap();
        assert!(matches!(anchor(&c, Some(&gone)), Anchor::Orphaned { .. }));
    }

    #[test]
    fn time_format() {
        let t = now();
        assert_eq!(t.len(), 20);
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T');
    }
}
