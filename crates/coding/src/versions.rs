//! Carrying codings across edits: the versions of notes that codings count in, and the map from
//! an old version of a note to its current text.
//!
//! Every coding records the version of its note that its offsets count in ([`Coding::base`],
//! the hash of the note's whole text). The text of each such version is kept under
//! `.fieldnotes/texts/` ([`Versions`]), written before the ledger line that names it. When
//! the note has changed since, the two versions are compared ([`EditMap`]) word by word (runs of
//! letters and digits; Myers' diff), and what stands between two shared words survives where it
//! is the same. A diff of lines first was tried and dropped: a paragraph split or merged pairs
//! blank lines wrongly and loses the words around them. A coding's span is carried onto the
//! words of it that survive: its start onto the first surviving character (or, where the first
//! words were replaced, onto what replaced them, up to a blank line), its end likewise. A span is gone only when fewer than a third of its words survive
//! (and always when none do); then the text is looked for elsewhere in the note (a paragraph
//! moved away is a deletion and an insertion to the diff), and failing that the coding is
//! orphaned, with the place its words were as the candidate for `code move`.
//!
//! Without the old version's text (a ledger written before versions were kept, or a deleted
//! `.fieldnotes/`) a coding is found by its text (or, for a whole-passage coding, by its
//! passage's hash), as before.

use std::collections::HashMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fieldnotes_corpus::Document;
use similar::{Algorithm, DiffOp};

use crate::error::{Error, Result};
use crate::ledger::{Anchor, Coding};

/// The folder of kept versions, under the project's `.fieldnotes/`.
pub const VERSIONS_DIR: &str = "texts";

/// The history of the store: a line `<hash>\t<path>` for each version, in the order kept.
pub const HISTORY: &str = "history.tsv";

/// Code points between two marks of [`EditMap::old_marks`].
const MARK: usize = 256;

/// How long one diff may take before it settles for a coarser answer.
const DIFF_DEADLINE: Duration = Duration::from_secs(2);

/// The kept texts of note versions, content-addressed by [`Document::hash`]. One version kept
/// alone is a file `<hash>`; many kept at once (`code auto`, an import) go into one pack file
/// `<name>.pack`, their texts one after another, and the history names the pack, the offset and
/// the length of each: 16,000 files, one a note, took `code auto` 1.4 s of its 5 s at 100 MB of
/// notes, one pack a batch takes a write.
#[derive(Clone, Debug)]
pub struct Versions {
    dir: PathBuf,
    /// Where each version kept in a pack is, read from the history when first asked.
    packed: std::sync::Arc<std::sync::Mutex<Option<HashMap<String, Packed>>>>,
}

/// Where a version kept in a pack is.
#[derive(Clone, Debug)]
struct Packed {
    pack: String,
    offset: u64,
    len: u64,
}

/// A line of the history: the version's hash, its note's path and, for a packed version, where
/// it is.
fn history_line(line: &str) -> Option<(&str, &str, Option<Packed>)> {
    let mut fields = line.split('\t');
    let (hash, path) = (fields.next()?, fields.next()?);
    let packed = match (fields.next(), fields.next(), fields.next()) {
        (Some(pack), Some(offset), Some(len)) => {
            Some(Packed { pack: pack.to_string(), offset: offset.parse().ok()?, len: len.parse().ok()? })
        }
        _ => None,
    };
    Some((hash, path, packed))
}

fn is_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Versions {
    /// The store under a project's derived folder (`.fieldnotes/`).
    pub fn new(derived_dir: &Path) -> Versions {
        Versions { dir: derived_dir.join(VERSIONS_DIR), packed: Default::default() }
    }

    fn path(&self, hash: &str) -> Option<PathBuf> {
        // Hashes are hex; anything else cannot name a file here.
        is_name(hash).then(|| self.dir.join(hash))
    }

    fn pack_path(&self, pack: &str) -> PathBuf {
        self.dir.join(format!("{pack}.pack"))
    }

    /// Runs `f` on the map of packed versions, read from the history the first time.
    fn packed<T>(&self, f: impl FnOnce(&mut HashMap<String, Packed>) -> T) -> T {
        let mut guard = self.packed.lock().unwrap_or_else(|e| e.into_inner());
        let map = guard.get_or_insert_with(|| {
            let Ok(log) = fs::read_to_string(self.dir.join(HISTORY)) else { return HashMap::new() };
            // A pack deleted by hand keeps nothing: its versions are kept again when asked for.
            let mut there: HashMap<String, bool> = HashMap::new();
            log.lines()
                .filter_map(history_line)
                .filter_map(|(h, _, p)| Some((h.to_string(), p?)))
                .filter(|(h, p)| is_name(h) && is_name(&p.pack))
                .filter(|(_, p)| *there.entry(p.pack.clone()).or_insert_with(|| self.pack_path(&p.pack).exists()))
                .collect()
        });
        f(map)
    }

    /// Where version `hash` is in a pack, if it is in one. Before the map of packed versions is
    /// made, the history's text is searched for the one line (a `code add` asks about one version,
    /// and making the map of 16,000 took longer than the rest of it).
    fn packed_one(&self, hash: &str) -> Option<Packed> {
        {
            let guard = self.packed.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(map) = guard.as_ref() {
                return map.get(hash).cloned();
            }
        }
        let log = fs::read_to_string(self.dir.join(HISTORY)).ok()?;
        let key = format!("{hash}\t");
        let mut from = 0;
        while let Some(at) = log[from..].find(&key) {
            let start = from + at;
            let end = log[start..].find('\n').map_or(log.len(), |n| start + n);
            if (start == 0 || log.as_bytes()[start - 1] == b'\n')
                && let Some((_, _, Some(p))) = history_line(&log[start..end])
                && is_name(&p.pack)
                && self.pack_path(&p.pack).exists()
            {
                return Some(p);
            }
            from = end;
        }
        None
    }

    /// Whether version `hash` is kept (its text is not read: [`Versions::get`] checks it).
    fn has(&self, hash: &str) -> bool {
        self.path(hash).is_some_and(|f| f.exists()) || self.packed_one(hash).is_some()
    }

    fn io(p: &Path, source: std::io::Error) -> Error {
        Error::Io { path: p.to_path_buf(), source }
    }

    /// Appends `lines` to the history in one write (O_APPEND), so writers at once do not mix
    /// lines; a line whose version was then lost names nothing [`Versions::get`] finds.
    fn log(&self, lines: &str) -> Result<()> {
        let log = self.dir.join(HISTORY);
        fieldnotes_corpus::atomic::owner_only(fs::OpenOptions::new().create(true).append(true))
            .open(&log)
            .and_then(|mut f| f.write_all(lines.as_bytes()))
            .map_err(|e| Self::io(&log, e))
    }

    /// Writes `bytes` to `file` through a temporary file renamed into place, readable by the owner
    /// only, as the notes are private. Not fsynced: a version lost or cut short by a crash fails
    /// its hash check in [`Versions::get`], and its codings are then found by their words, as
    /// without versions.
    fn write(&self, file: &Path, parts: &[&[u8]]) -> Result<()> {
        let write = || -> std::io::Result<()> {
            let mut out = fieldnotes_corpus::atomic::AtomicFile::create(file)?;
            let mut f = std::io::BufWriter::with_capacity(1 << 20, out.file());
            for p in parts {
                f.write_all(p)?;
            }
            f.into_inner().map_err(|e| e.into_error())?;
            out.commit_unsynced()
        };
        write().map_err(|e| Self::io(file, e))
    }

    /// Keeps the text of `doc`'s current version, if not kept already. A version new to the
    /// store is first written down in its history ([`HISTORY`]).
    pub fn keep(&self, doc: &Document) -> Result<()> {
        self.keep_text(&doc.path, &doc.hash, &doc.text)
    }

    /// [`Versions::keep`] for note `path`'s text (as it will be read, without a BOM) and its
    /// hash.
    pub fn keep_text(&self, path: &str, hash: &str, text: &str) -> Result<()> {
        let Some(file) = self.path(hash) else { return Ok(()) };
        if self.has(hash) {
            return Ok(());
        }
        fs::create_dir_all(&self.dir).map_err(|e| Self::io(&self.dir, e))?;
        self.log(&format!("{hash}\t{}\n", path.replace(['\t', '\n'], " ")))?;
        self.write(&file, &[text.as_bytes()])
    }

    /// Keeps the current versions of `docs` not kept already, in one pack: one file written
    /// (then renamed), then one write to the history naming where each version is in it.
    pub fn keep_all(&self, docs: &[&Document]) -> Result<()> {
        // Many versions are asked about: the map of the packed ones is made once, and the
        // versions kept one to a file are listed once (a `stat` of each version asked about,
        // nearly all new after `index`, was 16,000 system calls at 100 MB of notes).
        let loose: Option<std::collections::HashSet<std::ffi::OsString>> = (docs.len() > 1).then(|| {
            self.packed(|_| ());
            fs::read_dir(&self.dir).map(|d| d.filter_map(|e| Some(e.ok()?.file_name())).collect()).unwrap_or_default()
        });
        let kept = |hash: &str| match &loose {
            Some(loose) => loose.contains(std::ffi::OsStr::new(hash)) || self.packed_one(hash).is_some(),
            None => self.has(hash),
        };
        let mut seen = std::collections::HashSet::new();
        let new: Vec<&Document> = docs
            .iter()
            .copied()
            .filter(|d| is_name(&d.hash) && seen.insert(d.hash.as_str()) && !kept(&d.hash))
            .collect();
        match new.as_slice() {
            [] => return Ok(()),
            [one] => return self.keep(one),
            _ => {}
        }
        fs::create_dir_all(&self.dir).map_err(|e| Self::io(&self.dir, e))?;
        let mut key = xxhash_rust::xxh3::Xxh3::new();
        for d in &new {
            key.update(d.hash.as_bytes());
        }
        let pack = format!("{:016x}", key.digest());
        let (mut lines, mut offset, mut at) = (String::new(), 0u64, Vec::with_capacity(new.len()));
        for d in &new {
            let len = d.text.len() as u64;
            lines.push_str(&format!("{}\t{}\t{pack}\t{offset}\t{len}\n", d.hash, d.path.replace(['\t', '\n'], " ")));
            at.push((d.hash.clone(), Packed { pack: pack.clone(), offset, len }));
            offset += len;
        }
        let parts: Vec<&[u8]> = new.iter().map(|d| d.text.as_bytes()).collect();
        self.write(&self.pack_path(&pack), &parts)?;
        self.log(&lines)?;
        self.packed(|m| m.extend(at));
        Ok(())
    }

    /// The kept versions of note `path`, newest first, as its history lists them.
    pub fn history(&self, path: &str) -> Vec<String> {
        let Ok(log) = fs::read_to_string(self.dir.join(HISTORY)) else { return Vec::new() };
        let mut out: Vec<String> = log
            .lines()
            .filter_map(history_line)
            .filter(|(_, p, _)| *p == path)
            .map(|(h, _, _)| h.to_string())
            .collect();
        out.reverse();
        out
    }

    /// The text of a kept version, if it is here and still has its hash.
    pub fn get(&self, hash: &str) -> Option<String> {
        let text = match fs::read_to_string(self.path(hash)?) {
            Ok(text) => text,
            Err(_) => {
                use std::io::{Read, Seek};
                let p = self.packed_one(hash)?;
                let mut f = fs::File::open(self.pack_path(&p.pack)).ok()?;
                f.seek(std::io::SeekFrom::Start(p.offset)).ok()?;
                let mut buf = Vec::with_capacity(usize::try_from(p.len).ok()?);
                f.take(p.len).read_to_end(&mut buf).ok()?;
                String::from_utf8(buf).ok()?
            }
        };
        (fieldnotes_corpus::text_hash(&text) == hash).then_some(text)
    }
}

/// A run of characters the two versions share: `len` code points from `old` in the old text,
/// at `new` in the new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Same {
    old: usize,
    new: usize,
    len: usize,
}

/// Where an old version's characters stand in the new text.
#[derive(Clone, Debug)]
pub struct EditMap {
    /// The old text.
    old: String,
    /// Byte offset of every [`MARK`]-th code point of the old text, to find offsets in it
    /// without counting from its start each time.
    old_marks: Vec<usize>,
    /// The new text.
    new: String,
    /// Shared runs, in order of `old` (and of `new`).
    same: Vec<Same>,
    /// Length of the new text in code points.
    new_len: usize,
}

/// Where a span of the old version lands in the new text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mapped {
    /// On these code points of the new text; `same` when its characters are untouched.
    Span {
        /// Start in the new text.
        start: usize,
        /// End in the new text.
        end: usize,
        /// True when the span's text is the same as before.
        same: bool,
    },
    /// Its words are gone; `near` is where they were, in the new text.
    Gone {
        /// The place in the new text where the span's words stood.
        near: usize,
    },
}

/// The number of code points two texts share at their start.
fn common_prefix_chars(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

/// The number of code points two texts share at their end.
fn common_suffix_chars(a: &str, b: &str) -> usize {
    a.chars().rev().zip(b.chars().rev()).take_while(|(x, y)| x == y).count()
}

/// A token: a run of letters and digits, or one other character. `start` and `chars` in code
/// points, `byte` the byte offset.
#[derive(Clone, Copy, Debug)]
struct Token<'a> {
    text: &'a str,
    start: usize,
    chars: usize,
    byte: usize,
}

impl Token<'_> {
    fn is_word(&self) -> bool {
        self.text.chars().next().is_some_and(char::is_alphanumeric)
    }
}

fn tokens(text: &str, char_base: usize) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut chars = text.char_indices().peekable();
    let mut pos = char_base;
    while let Some((b, c)) = chars.next() {
        let mut n = 1;
        let mut end = b + c.len_utf8();
        if c.is_alphanumeric() {
            while let Some(&(b2, c2)) = chars.peek() {
                if !c2.is_alphanumeric() {
                    break;
                }
                chars.next();
                n += 1;
                end = b2 + c2.len_utf8();
            }
        }
        out.push(Token { text: &text[b..end], start: pos, chars: n, byte: b });
        pos += n;
    }
    out
}

impl EditMap {
    /// Compares two versions of a note. The words (runs of letters and digits) are interned and
    /// diffed with Myers' algorithm; each word the two share survives, and so does what stands
    /// between two shared words that follow each other in both versions, where it is the same
    /// (spaces, punctuation, a paragraph break). Diffing every character or space as a token of
    /// its own was tried first: spaces then pair up across words (in "a b c" -> "x a c" the
    /// space after `a` may take the place of `a`), and a coding could lose its first word.
    pub fn new(old: &str, new: &str) -> EditMap {
        let deadline = Some(Instant::now() + DIFF_DEADLINE);
        let a: Vec<Token> = tokens(old, 0).into_iter().filter(Token::is_word).collect();
        let b: Vec<Token> = tokens(new, 0).into_iter().filter(Token::is_word).collect();
        let mut ids: HashMap<&str, u32> = HashMap::new();
        let mut a_ids = Vec::with_capacity(a.len());
        let mut b_ids = Vec::with_capacity(b.len());
        for (toks, out) in [(&a, &mut a_ids), (&b, &mut b_ids)] {
            for t in toks {
                let n = ids.len() as u32;
                out.push(*ids.entry(t.text).or_insert(n));
            }
        }
        let mut same: Vec<Same> = Vec::new();
        let mut push = |run: Same| match same.last_mut() {
            Some(l) if l.old + l.len == run.old && l.new + l.len == run.new => l.len += run.len,
            _ => same.push(run),
        };
        // The text between word `i` (or the start) and the next word (or the end), as a byte range.
        let gap = |toks: &[Token], text: &str, i: Option<usize>| -> (usize, usize, usize) {
            let (from, from_char) = match i {
                Some(i) => (toks[i].byte + toks[i].text.len(), toks[i].start + toks[i].chars),
                None => (0, 0),
            };
            let to = toks.get(i.map_or(0, |i| i + 1)).map_or(text.len(), |t| t.byte);
            (from, to, from_char)
        };
        for op in similar::capture_diff_slices_deadline(Algorithm::Myers, &a_ids, &b_ids, deadline) {
            let DiffOp::Equal { old_index, new_index, len } = op else { continue };
            if len == 0 {
                continue;
            }
            // Before the run: what ends the text in front of its first word, where the same
            // (the punctuation and blank line before a paragraph whose predecessor changed).
            let (go, gn) = (gap(&a, old, old_index.checked_sub(1)), gap(&b, new, new_index.checked_sub(1)));
            let m = common_suffix_chars(&old[go.0..go.1], &new[gn.0..gn.1]);
            if m > 0 {
                let (x, y) = (a[old_index], b[new_index]);
                push(Same { old: x.start - m, new: y.start - m, len: m });
            }
            for k in 0..len {
                let (x, y) = (a[old_index + k], b[new_index + k]);
                push(Same { old: x.start, new: y.start, len: x.chars });
                if k + 1 < len {
                    // What stands between this word and the next, if the same in both.
                    let (go, gn) = (gap(&a, old, Some(old_index + k)), gap(&b, new, Some(new_index + k)));
                    if old[go.0..go.1] == new[gn.0..gn.1] {
                        push(Same { old: go.2, new: gn.2, len: a[old_index + k + 1].start - go.2 });
                    }
                }
            }
            // After the run: what follows its last word, where the same (the full stop ending a
            // paragraph whose successor changed).
            let (lo, ln) = (old_index + len - 1, new_index + len - 1);
            let (go, gn) = (gap(&a, old, Some(lo)), gap(&b, new, Some(ln)));
            let follows_same = old_index + len < a.len()
                && new_index + len < b.len()
                && a_ids[old_index + len] == b_ids[new_index + len];
            let m = common_prefix_chars(&old[go.0..go.1], &new[gn.0..gn.1]);
            if m > 0 && !follows_same {
                push(Same { old: go.2, new: gn.2, len: m });
            }
        }
        let old_marks = old.char_indices().step_by(MARK).map(|(b, _)| b).collect();
        EditMap { old: old.to_string(), old_marks, new: new.to_string(), same, new_len: new.chars().count() }
    }

    /// The byte offset of code point `c` of the old text (its length for the end).
    fn old_byte(&self, c: usize) -> Option<usize> {
        let from = *self.old_marks.get(c / MARK).unwrap_or(&self.old.len());
        let rest = &self.old[from..];
        match rest.char_indices().nth(c % MARK) {
            Some((b, _)) => Some(from + b),
            None => (rest.chars().count() == c % MARK).then_some(self.old.len()),
        }
    }

    /// The new place of the old code point `pos`, if it survives.
    fn survives(&self, pos: usize) -> Option<usize> {
        let i = self.same.partition_point(|s| s.old + s.len <= pos);
        let s = self.same.get(i)?;
        (s.old <= pos).then(|| s.new + (pos - s.old))
    }

    /// Whether most of the span `[start, end)` of the new text (code points) is new to it: not
    /// carried over from the old text.
    pub fn is_new(&self, start: usize, end: usize) -> bool {
        let from = self.same.partition_point(|s| s.new + s.len <= start);
        let carried: usize = self.same[from..]
            .iter()
            .take_while(|s| s.new < end)
            .map(|s| (s.new + s.len).min(end).saturating_sub(s.new.max(start)))
            .sum();
        2 * carried <= end.saturating_sub(start)
    }

    /// Where the span `[start, end)` of the old text (code points) lands in the new text.
    pub fn map_span(&self, start: usize, end: usize) -> Mapped {
        // The place just after the last shared character before `pos`, in the new text.
        let after_before = |pos: usize| {
            let i = self.same.partition_point(|s| s.old + s.len <= pos);
            if i == 0 { 0 } else { self.same[i - 1].new + self.same[i - 1].len }
        };
        // The place of the first shared character at or after `pos`, in the new text.
        let first_from = |pos: usize| {
            let i = self.same.partition_point(|s| s.old + s.len <= pos);
            match self.same.get(i) {
                Some(s) if s.old <= pos => s.new + (pos - s.old),
                Some(s) => s.new,
                None => self.new_len,
            }
        };
        if start >= end {
            return match self.survives(start) {
                Some(p) => Mapped::Span { start: p, end: p, same: true },
                None => Mapped::Gone { near: after_before(start) },
            };
        }
        // Words of the span, and how many of them survive whole.
        let (mut words, mut kept, mut any) = (0usize, 0usize, false);
        let bs = self.old_byte(start);
        let be = self.old_byte(end);
        let (Some(bs), Some(be)) = (bs, be) else {
            return Mapped::Gone { near: after_before(start.min(end)) };
        };
        for t in tokens(&self.old[bs..be], start) {
            let survived = self.survives(t.start).is_some() && self.survives(t.start + t.chars - 1).is_some();
            any |= survived;
            if t.is_word() {
                words += 1;
                kept += usize::from(survived);
            }
        }
        let gone = if words > 0 { kept == 0 || kept * 3 < words } else { !any };
        if gone {
            return Mapped::Gone { near: after_before(start) };
        }
        // Where the span's first or last words were replaced, it takes what replaced them, without
        // the spaces around.
        // It takes nothing past a blank line, though: what replaced its first words may follow a
        // paragraph that changed too, and what replaced its last words may run into the next.
        let new_start = self.survives(start).unwrap_or_else(|| {
            let p = after_before(start);
            let first_kept = (start..end).find_map(|c| self.survives(c));
            let stop = first_kept.unwrap_or(p).max(p);
            let between: Vec<char> = self.new.chars().skip(p).take(stop - p).collect();
            let from = last_paragraph_break(&between).map_or(0, |i| i);
            p + from + between[from..].iter().take_while(|c| c.is_whitespace()).count()
        });
        let new_end = self.survives(end - 1).map(|p| p + 1).unwrap_or_else(|| {
            let p = first_from(end);
            let last_kept = (start..end).rev().find_map(|c| self.survives(c)).map(|p| p + 1);
            let from = last_kept.unwrap_or(p).min(p);
            let between: Vec<char> = self.new.chars().skip(from).take(p - from).collect();
            let to = first_paragraph_break(&between).unwrap_or(between.len());
            from + to - between[..to].iter().rev().take_while(|c| c.is_whitespace()).count()
        });
        let same = match (self.survives(start), self.survives(end - 1)) {
            (Some(a), Some(b)) => {
                let i = self.same.partition_point(|s| s.old + s.len <= start);
                self.same.get(i).is_some_and(|s| s.old <= start && end <= s.old + s.len) && b + 1 - a == end - start
            }
            _ => false,
        };
        Mapped::Span { start: new_start, end: new_end.max(new_start), same }
    }
}

/// Where the first blank line (a line break, spaces, a line break) of `chars` starts.
fn first_paragraph_break(chars: &[char]) -> Option<usize> {
    (0..chars.len()).find(|&i| chars[i] == '\n' && blank_line_after(chars, i))
}

/// Just past the last blank line of `chars`.
fn last_paragraph_break(chars: &[char]) -> Option<usize> {
    (0..chars.len()).rev().find(|&i| chars[i] == '\n' && blank_line_after(chars, i)).map(|i| i + 1)
}

/// Whether the line break at `i` is followed by a line holding only spaces and a line break.
fn blank_line_after(chars: &[char], i: usize) -> bool {
    chars[i + 1..].iter().take_while(|c| **c != '\n').all(|c| c.is_whitespace()) && chars[i + 1..].contains(&'\n')
}

/// Re-anchors codings on the current text of their notes, comparing each note with the
/// version its codings count in; keeps each comparison for the codings that share it.
pub struct Anchorer {
    versions: Option<Versions>,
    maps: HashMap<(String, String), Option<EditMap>>,
}

impl Anchorer {
    /// Anchoring with the kept versions of a project (`None`: by text alone, as ledgers without
    /// versions are).
    pub fn new(versions: Option<Versions>) -> Anchorer {
        Anchorer { versions, maps: HashMap::new() }
    }

    /// The map from version `base` of `doc` to its current text, if that version is kept.
    fn map(&mut self, base: &str, doc: &Document) -> Option<&EditMap> {
        let versions = self.versions.as_ref()?;
        self.maps
            .entry((base.to_string(), doc.hash.clone()))
            .or_insert_with(|| versions.get(base).map(|old| EditMap::new(&old, &doc.text)))
            .as_ref()
    }

    /// Where a coding stands on the current text of its note (`None`: the note is gone).
    pub fn anchor(&mut self, coding: &Coding, doc: Option<&Document>) -> Anchor {
        let Some(doc) = doc else {
            return Anchor::Orphaned { reason: format!("note `{}` is gone", coding.doc), near: None };
        };
        let base = coding.base.as_deref();
        if base == Some(doc.hash.as_str()) {
            // Offsets made on this very text.
            return Anchor::Exact;
        }
        let mut near = None;
        if let Some(base) = base
            && let Some(map) = self.map(base, doc)
        {
            match map.map_span(coding.start, coding.end) {
                Mapped::Span { start, end, same } => {
                    return if same && start == coding.start && end == coding.end {
                        Anchor::Exact
                    } else {
                        Anchor::Moved { start, end }
                    };
                }
                Mapped::Gone { near: n } => near = Some(n),
            }
        }
        // Without the old version, or with its words gone from where they were: the text. With
        // the old version, words found elsewhere are the coding's only where they are new to
        // this version (a paragraph moved: deleted here, inserted there); words the old version
        // had already are another passage's, a copy of the same words, which must not take the
        // coding of the one deleted.
        let found = match (near, base) {
            (Some(_), Some(base)) => match self.map(base, doc) {
                Some(map) => crate::ledger::anchor_where(coding, Some(doc), |s, e| map.is_new(s, e)),
                None => crate::ledger::anchor(coding, Some(doc)),
            },
            _ => crate::ledger::anchor(coding, Some(doc)),
        };
        if let Anchor::Orphaned { .. } = found
            && near.is_some()
            && !matches!(crate::ledger::anchor(coding, Some(doc)), Anchor::Orphaned { .. })
        {
            return Anchor::Orphaned {
                reason: "its words were deleted (the same words stand elsewhere in the note, but they were there before: another passage's)".into(),
                near,
            };
        }
        match found {
            Anchor::Orphaned { reason, .. } if near.is_some() => {
                Anchor::Orphaned { reason: format!("its words were edited away ({reason})"), near }
            }
            other => other,
        }
    }
}

/// Where the words of a passage of an earlier version of a note stand now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trace {
    /// The version the key was found in (its hash).
    pub version: String,
    /// The passage's words in that version.
    pub old: String,
    /// Where they are in the current text.
    pub to: Traced,
}

/// Where a traced passage's words are now, as indices into the current note's passages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Traced {
    /// In this passage, which is mostly made of them: the same passage, edited.
    Now(usize),
    /// Over several passages (split), or as a small part of a larger one (merged).
    Spread(Vec<usize>),
    /// Gone; `near` is the passage where they stood.
    Gone {
        /// The passage at or after the place they stood, if any.
        near: Option<usize>,
    },
}

/// Looks for a passage key in the kept versions of `current`'s note (`versions_of`, newest
/// first, as [`Versions::history`] gives them, with the versions its codings name after them)
/// and carries the passage onto the current text. `None` when no kept version has it.
pub fn trace_key(
    key: fieldnotes_corpus::PassageKey,
    current: &Document,
    versions: &Versions,
    versions_of: &[String],
    project: &fieldnotes_corpus::Project,
) -> Option<Trace> {
    let mut tried = std::collections::HashSet::new();
    for hash in versions_of {
        if hash == &current.hash || !tried.insert(hash.as_str()) {
            continue;
        }
        let Some(text) = versions.get(hash) else { continue };
        let Ok(old) = project.parse_note(current.path.clone(), text) else { continue };
        let Some(p) = old.passage_by_key(key) else { continue };
        let map = EditMap::new(&old.text, &current.text);
        let to = match map.map_span(p.start, p.end) {
            Mapped::Span { start, end, .. } => {
                let over: Vec<usize> = current
                    .passages
                    .iter()
                    .enumerate()
                    .filter(|(_, q)| q.start < end && q.end > start)
                    .map(|(i, _)| i)
                    .collect();
                match over.as_slice() {
                    [] => Traced::Gone { near: nearest(current, start) },
                    [i] if 2 * (end.min(current.passages[*i].end) - start.max(current.passages[*i].start))
                        >= current.passages[*i].end - current.passages[*i].start =>
                    {
                        Traced::Now(*i)
                    }
                    _ => Traced::Spread(over),
                }
            }
            Mapped::Gone { near } => Traced::Gone { near: nearest(current, near) },
        };
        return Some(Trace { version: hash.clone(), old: old.passage_text(p).to_string(), to });
    }
    None
}

/// The passage that holds code point `c`, or the first after it.
fn nearest(doc: &Document, c: usize) -> Option<usize> {
    let i = doc.passages.partition_point(|p| p.end <= c);
    (i < doc.passages.len()).then_some(i).or_else(|| doc.passages.len().checked_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_kept_in_a_pack_read_back_and_a_damaged_one_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let parse = |path: &str, t: &str| {
            fieldnotes_corpus::parse_document(
                path.into(),
                t.into(),
                &fieldnotes_corpus::SplitOptions { speaker_turns: false },
            )
            .unwrap()
        };
        let a = parse("notes/a.md", "Première réunion.\n\nOn parle du temps.\n");
        let b = parse("notes/b.md", "Second note.\n");
        let c = parse("notes/c.md", "Third.\n");
        let versions = Versions::new(dir.path());
        versions.keep(&c).unwrap();
        // c kept alone already; a twice in the list: one pack of a and b.
        versions.keep_all(&[&a, &b, &a, &c]).unwrap();
        let packs = || {
            fs::read_dir(dir.path().join(VERSIONS_DIR))
                .unwrap()
                .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "pack"))
                .count()
        };
        assert_eq!(packs(), 1);
        // Read by a store that has not seen them written, as the next command would.
        let fresh = Versions::new(dir.path());
        for d in [&a, &b, &c] {
            assert_eq!(fresh.get(&d.hash).as_deref(), Some(d.text.as_str()), "{}", d.path);
            assert_eq!(fresh.history(&d.path), vec![d.hash.clone()]);
        }
        // Kept again: nothing new is written.
        fresh.keep_all(&[&a, &b]).unwrap();
        assert_eq!(packs(), 1);
        assert_eq!(fs::read_to_string(dir.path().join(VERSIONS_DIR).join(HISTORY)).unwrap().lines().count(), 3);
        // A pack deleted by hand: its versions are kept again.
        let pack = || {
            fs::read_dir(dir.path().join(VERSIONS_DIR))
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|p| p.extension().is_some_and(|x| x == "pack"))
        };
        let first = pack().unwrap();
        fs::remove_file(&first).unwrap();
        let after = Versions::new(dir.path());
        assert_eq!(after.get(&a.hash), None);
        after.keep_all(&[&a, &b]).unwrap();
        assert_eq!(Versions::new(dir.path()).get(&a.hash).as_deref(), Some(a.text.as_str()));
        assert_eq!(packs(), 1);
        // A pack cut short: its versions fail their hash check rather than read wrong.
        let pack = fs::read_dir(dir.path().join(VERSIONS_DIR))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|x| x == "pack"))
            .unwrap();
        let bytes = fs::read(&pack).unwrap();
        fs::write(&pack, &bytes[..bytes.len() - 2]).unwrap();
        let damaged = Versions::new(dir.path());
        assert_eq!(damaged.get(&a.hash).as_deref(), Some(a.text.as_str()));
        assert_eq!(damaged.get(&b.hash), None);
    }

    #[test]
    fn a_deleted_copy_does_not_give_its_coding_to_the_other_copy() {
        let dir = tempfile::tempdir().unwrap();
        let versions = Versions::new(dir.path());
        let parse = |t: &str| {
            fieldnotes_corpus::parse_document(
                "n.md".into(),
                t.into(),
                &fieldnotes_corpus::SplitOptions { speaker_turns: false },
            )
            .unwrap()
        };
        let old = parse("Opening.\n\nWe broke for lunch.\n\nThe board met again.\n\nWe broke for lunch.\n\nEnd.\n");
        versions.keep(&old).unwrap();
        let p = &old.passages[1];
        let coding = Coding {
            id: "c".into(),
            doc: "n.md".into(),
            start: p.start,
            end: p.end,
            hash: fieldnotes_corpus::text_hash(old.passage_text(p)),
            text: old.passage_text(p).into(),
            code: "x".into(),
            coder: "hb".into(),
            origin: crate::ledger::Origin::Manual,
            status: crate::ledger::Status::Accepted,
            memo: None,
            evidence: vec![],
            time: String::new(),
            base: Some(old.hash.clone()),
            reviewer: None,
        };
        // The first copy deleted: the coding is an orphan, not on the second copy.
        let new = parse("Opening.\n\nThe board met again.\n\nWe broke for lunch.\n\nEnd.\n");
        let mut a = Anchorer::new(Some(versions.clone()));
        assert!(
            matches!(a.anchor(&coding, Some(&new)), Anchor::Orphaned { .. }),
            "{:?}",
            a.anchor(&coding, Some(&new))
        );
        // The first copy moved to the end: it follows.
        let moved = parse("Opening.\n\nThe board met again.\n\nWe broke for lunch.\n\nEnd.\n\nWe broke for lunch.\n");
        let mut a = Anchorer::new(Some(versions));
        match a.anchor(&coding, Some(&moved)) {
            Anchor::Moved { start, .. } => assert!(start > moved.text.find("End.").unwrap(), "{start}"),
            other => panic!("{other:?}"),
        }
    }

    fn map(old: &str, new: &str, what: &str) -> Option<String> {
        let m = EditMap::new(old, new);
        let b = old.find(what).unwrap();
        let s = old[..b].chars().count();
        match m.map_span(s, s + what.chars().count()) {
            Mapped::Span { start, end, .. } => Some(new.chars().skip(start).take(end - start).collect()),
            Mapped::Gone { .. } => None,
        }
    }

    #[test]
    fn spans_follow_their_words() {
        let old = "Intro line.\n\nWe said I'll be very happy to help.\n\nEnd.\n";
        // A paragraph inserted above: the same words.
        let new = "New para.\n\nIntro line.\n\nWe said I'll be very happy to help.\n\nEnd.\n";
        assert_eq!(map(old, new, "I'll be very happy").as_deref(), Some("I'll be very happy"));
        // One word edited inside the span: the span takes the new word.
        let new = "Intro line.\n\nWe said I would be very happy to help.\n\nEnd.\n";
        assert_eq!(map(old, new, "I'll be very happy").as_deref(), Some("I would be very happy"));
        // The first word replaced: the replacement is inside.
        let new = "Intro line.\n\nWe said You'll be very happy to help.\n\nEnd.\n";
        assert_eq!(map(old, new, "I'll be very happy").as_deref(), Some("You'll be very happy"));
        // The paragraph rewritten: gone.
        let new = "Intro line.\n\nNothing of the sort was agreed at all.\n\nEnd.\n";
        assert_eq!(map(old, new, "I'll be very happy"), None);
        // Paragraphs merged: the words still there.
        let new = "Intro line. We said I'll be very happy to help.\n\nEnd.\n";
        assert_eq!(
            map(old, new, "We said I'll be very happy to help.").as_deref(),
            Some("We said I'll be very happy to help.")
        );
    }

    #[test]
    fn byte_offsets_through_passages() {
        let text = "---\nsite: é\n---\nÉté one.\n\nTwo ü two.\n\n# H\n\nThree.\n";
        let doc = fieldnotes_corpus::parse_document(
            "a.md".into(),
            text.into(),
            &fieldnotes_corpus::SplitOptions { speaker_turns: false },
        )
        .unwrap();
        for c in 0..=text.chars().count() + 1 {
            assert_eq!(doc.byte_offset(c), fieldnotes_corpus::char_to_byte(text, c), "at {c}");
        }
        let long = "añ€😀b ".repeat(130);
        let m = EditMap::new(&long, "x");
        for c in 0..=long.chars().count() + 2 {
            assert_eq!(m.old_byte(c), fieldnotes_corpus::char_to_byte(&long, c), "at {c}");
        }
    }

    #[test]
    fn a_paragraph_keeps_to_itself_when_its_neighbours_are_rewritten() {
        let old = "Title line.\n\nThe first paragraph talks about partners.\n\nThe second one is about time.\n\nEnd.\n";
        let first = "The first paragraph talks about partners.";
        // The next paragraph rewritten: the coding stays on exactly its paragraph.
        let new = "Title line.\n\nThe first paragraph talks about partners.\n\nMy error deserves noting: April data.\n\nEnd.\n";
        assert_eq!(map(old, new, first).as_deref(), Some(first));
        // The one before rewritten too.
        let new = "Something else entirely.\n\nThe first paragraph talks about partners.\n\nMy error deserves noting.\n\nEnd.\n";
        assert_eq!(map(old, new, first).as_deref(), Some(first));
        // Its last word replaced and the next paragraph rewritten: the replacement, not the next.
        let new = "Title line.\n\nThe first paragraph talks about colleagues.\n\nMy error deserves noting.\n\nEnd.\n";
        assert_eq!(map(old, new, first).as_deref(), Some("The first paragraph talks about colleagues."));
        // Its first word replaced and the paragraph before rewritten.
        let new =
            "Other words here.\n\nA first paragraph talks about partners.\n\nThe second one is about time.\n\nEnd.\n";
        assert_eq!(map(old, new, first).as_deref(), Some("A first paragraph talks about partners."));
    }

    #[test]
    fn unchanged_spans_are_the_same() {
        let old = "a b c\n\nd e f\n";
        let m = EditMap::new(old, old);
        assert_eq!(m.map_span(2, 5), Mapped::Span { start: 2, end: 5, same: true });
        let m = EditMap::new(old, "zz\na b c\n\nd e f\n");
        assert_eq!(m.map_span(7, 12), Mapped::Span { start: 10, end: 15, same: true });
    }

    /// A token of a generated note: a word (unique), a space or a paragraph break; and whether
    /// it lies inside the coded span.
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Tok {
        Word(u32),
        Space,
        Para,
    }

    fn render(toks: &[(Tok, bool)]) -> (String, Option<(usize, usize)>) {
        let mut text = String::new();
        let (mut first, mut last) = (None, None);
        for (t, inside) in toks {
            if *inside {
                first.get_or_insert(text.chars().count());
            }
            match t {
                Tok::Word(n) => text.push_str(&format!("w{n}")),
                Tok::Space => text.push(' '),
                Tok::Para => text.push_str("\n\n"),
            }
            if *inside {
                last = Some(text.chars().count());
            }
        }
        (text, first.zip(last))
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config { cases: 300, ..Default::default() })]

        /// Random edits before, after and inside a coded span (insertions, deletions,
        /// replacements, paragraphs split and merged) leave the span on exactly its words: the
        /// same words where the edits were outside it, with the edits where they were inside.
        #[test]
        fn codings_stay_on_their_words(
            paras in proptest::collection::vec(1usize..12, 2..8),
            span_para in 0usize..8,
            span_at in 0usize..12,
            span_len in 3usize..8,
            edits in proptest::collection::vec((0u8..6, 0usize..1000), 0..12),
        ) {
            // The note: paragraphs of unique words; the span: words of one paragraph.
            let mut toks: Vec<(Tok, bool)> = Vec::new();
            let mut next = 0u32;
            let sp = span_para % paras.len();
            let n_span_para = paras[sp].max(span_len);
            for (k, &n) in paras.iter().enumerate() {
                if k > 0 {
                    toks.push((Tok::Para, false));
                }
                let n = if k == sp { n_span_para } else { n };
                let from = if k == sp { span_at % (n - span_len + 1) } else { 0 };
                for w in 0..n {
                    if w > 0 {
                        let inside = k == sp && w > from && w < from + span_len;
                        toks.push((Tok::Space, inside));
                    }
                    let inside = k == sp && w >= from && w < from + span_len;
                    toks.push((Tok::Word(next), inside));
                    next += 1;
                }
            }
            let (old, old_span) = render(&toks);
            let (s, e) = old_span.unwrap();
            let mut inside_changes = 0;
            for (kind, at) in edits {
                let i = at % toks.len();
                let inside = toks[i].1;
                // Inside the span: the first and last words stay, and at most one word changes,
                // so that most of its words survive.
                let boundary = inside && (i == 0 || !toks[i - 1].1 || i + 1 == toks.len() || !toks[i + 1].1);
                let is_word = matches!(toks[i].0, Tok::Word(_));
                let may_change = !boundary && (!inside || inside_changes == 0);
                match kind {
                    0 if is_word => {
                        // Insert a new word (and a space) before word i.
                        let within = i > 0 && toks[i - 1].1 && inside;
                        toks.insert(i, (Tok::Space, within));
                        toks.insert(i, (Tok::Word(next), within));
                        next += 1;
                    }
                    1 if is_word && may_change && toks.len() > 3 => {
                        // Delete a word and a separator beside it, on its own side of the span.
                        inside_changes += usize::from(inside);
                        toks.remove(i);
                        if i < toks.len() && !matches!(toks[i].0, Tok::Word(_)) && toks[i].1 == inside {
                            toks.remove(i);
                        } else if i > 0 && !matches!(toks[i - 1].0, Tok::Word(_)) && toks[i - 1].1 == inside {
                            toks.remove(i - 1);
                        }
                    }
                    2 if is_word && may_change => {
                        inside_changes += usize::from(inside);
                        toks[i].0 = Tok::Word(next);
                        next += 1;
                    }
                    3 if toks[i].0 == Tok::Space => toks[i].0 = Tok::Para,
                    4 if toks[i].0 == Tok::Para => toks[i].0 = Tok::Space,
                    _ => {}
                }
            }
            let (new, new_span) = render(&toks);
            let (ns, ne) = new_span.unwrap();
            let want: String = new.chars().skip(ns).take(ne - ns).collect();
            let m = EditMap::new(&old, &new);
            match m.map_span(s, e) {
                Mapped::Span { start, end, .. } => {
                    let got: String = new.chars().skip(start).take(end - start).collect();
                    proptest::prop_assert_eq!(got, want, "old {:?} new {:?}", old, new);
                }
                Mapped::Gone { .. } => proptest::prop_assert!(false, "gone: old {:?} new {:?}", old, new),
            }
        }
    }

    #[test]
    fn versions_are_kept_whole_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let v = Versions::new(dir.path());
        let doc = fieldnotes_corpus::parse_document(
            "notes/a.md".into(),
            "Some text é.\n".into(),
            &fieldnotes_corpus::SplitOptions { speaker_turns: false },
        )
        .unwrap();
        v.keep(&doc).unwrap();
        assert_eq!(v.get(&doc.hash).as_deref(), Some("Some text é.\n"));
        // A file that no longer has its hash is not used.
        fs::write(dir.path().join(VERSIONS_DIR).join(&doc.hash), "tampered").unwrap();
        assert_eq!(v.get(&doc.hash), None);
        assert_eq!(v.get("../x"), None);
    }
}
