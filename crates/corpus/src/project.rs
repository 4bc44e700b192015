//! A research project on disk: its settings, and loading its notes in parallel.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::document::{Document, SplitOptions, build_document};
use crate::error::{Error, Result, SkipReason};

/// The settings file's name.
pub const CONFIG_FILE: &str = "fieldnotes.toml";
/// The folder of derived data (index, caches), safe to delete.
pub const DERIVED_DIR: &str = ".fieldnotes";

/// Settings from `fieldnotes.toml`; every field has a default, so the file is optional.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The project's name.
    pub name: String,
    /// Globs (relative to the project root) that find the notes.
    pub notes: Vec<String>,
    /// The codebook file, relative to the project root.
    pub codebook: String,
    /// The coder used when a command is not given `--coder`.
    pub coder: Option<String>,
    /// Document kinds whose paragraphs open with `NAME:` speaker turns.
    pub transcript_kinds: Vec<String>,
    /// Longest line accepted in a note, in bytes; longer lines make the file skipped.
    pub max_line_bytes: usize,
    /// Search index settings.
    pub index: IndexConfig,
}

/// Settings of the search index.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IndexConfig {
    /// Memory budget of the index writer, in MB (split over its threads).
    pub writer_memory_mb: usize,
    /// Indexing threads (0: one per core, at most 8).
    pub threads: usize,
    /// Commands that read every note (`index`, `code check`, `code list`, the reports; `code
    /// auto` at most 4) read them in batches of about this many MB, so that their memory does
    /// not grow with the project.
    pub batch_mb: usize,
}

impl Default for IndexConfig {
    fn default() -> Self {
        IndexConfig { writer_memory_mb: 128, threads: 0, batch_mb: 16 }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            name: String::new(),
            notes: vec!["notes/**/*.md".into(), "notes/**/*.txt".into()],
            codebook: "codebook.toml".into(),
            coder: None,
            transcript_kinds: vec!["interview".into(), "transcript".into(), "focus-group".into()],
            max_line_bytes: 1 << 20,
            index: IndexConfig::default(),
        }
    }
}

/// A research project: a root folder and its settings.
#[derive(Clone, Debug)]
pub struct Project {
    root: PathBuf,
    /// The settings (defaults where there is no `fieldnotes.toml`).
    pub config: Config,
}

/// A note file's size and time of last change ([`Project::note_stats`], [`file_stamp`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NoteStat {
    /// Path relative to the project root, as in passage ids.
    pub rel: String,
    /// Size in bytes (0 when it could not be read).
    pub len: u64,
    /// Time of the last change in nanoseconds since 1970 ([`file_stamp`]: the modification
    /// time, or on Unix the later status change); -1 when the system does not say, -2 when the
    /// file could not be read.
    pub modified_ns: i128,
}

impl NoteStat {
    /// [`NoteStat::modified_ns`] of a file that could not be read.
    pub const UNREADABLE: i128 = -2;
}

/// The note files found by a walk, with their sizes and times, and the paths the walk could not
/// read.
#[derive(Clone, Debug, Default)]
pub struct NoteStats {
    /// The notes and the paths that could not be read, once made.
    lists: std::sync::OnceLock<(Vec<NoteStat>, Vec<String>)>,
    /// Or the kept stats' bytes they are made from when first asked for
    /// ([`crate::watch::Kept`]): most commands ask only for the fingerprint, and making 324,641
    /// paths took 15 ms.
    kept: Option<std::sync::Arc<crate::watch::Kept>>,
    /// [`NoteStats::fingerprint`], once made (10 ms at 324,641 notes, asked for by the index's
    /// check and the report store's alike).
    fingerprint: std::sync::OnceLock<(u64, u64)>,
}

impl NoteStats {
    /// The stats of these notes and unreadable paths.
    pub fn new(notes: Vec<NoteStat>, unreadable: Vec<String>) -> NoteStats {
        NoteStats { lists: std::sync::OnceLock::from((notes, unreadable)), ..NoteStats::default() }
    }

    /// Stats kept from a walk, with their fingerprint.
    pub(crate) fn kept(kept: crate::watch::Kept, fingerprint: (u64, u64)) -> NoteStats {
        NoteStats {
            kept: Some(std::sync::Arc::new(kept)),
            fingerprint: std::sync::OnceLock::from(fingerprint),
            ..NoteStats::default()
        }
    }

    fn lists(&self) -> &(Vec<NoteStat>, Vec<String>) {
        self.lists.get_or_init(|| self.kept.as_ref().map(|k| k.lists()).unwrap_or_default())
    }

    /// Every note file, in no particular order.
    pub fn notes(&self) -> &[NoteStat] {
        &self.lists().0
    }

    /// Paths (relative) the walk could not read.
    pub fn unreadable(&self) -> &[String] {
        &self.lists().1
    }

    /// The notes in two numbers: how many files (with those the walk could not read), and the
    /// sum of a hash of each one's path, size and modification time, the same whatever the order
    /// they were found in. Any note added, removed, renamed or written changes it.
    pub fn fingerprint(&self) -> (u64, u64) {
        *self.fingerprint.get_or_init(|| {
            let entry = |rel: &str, len: u64, t: i128| {
                let mut h = xxhash_rust::xxh3::Xxh3::new();
                h.update(rel.as_bytes());
                h.update(&len.to_le_bytes());
                h.update(&t.to_le_bytes());
                h.digest()
            };
            let sum = self
                .notes()
                .iter()
                .map(|n| entry(&n.rel, n.len, n.modified_ns))
                .chain(self.unreadable().iter().map(|r| entry(r, 0, NoteStat::UNREADABLE)))
                .fold(0u64, u64::wrapping_add);
            ((self.notes().len() + self.unreadable().len()) as u64, sum)
        })
    }
}

/// A note that could not be loaded, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Skipped {
    /// Path relative to the project root.
    pub path: String,
    /// Why it was skipped.
    pub reason: SkipReason,
}

/// All the notes of a project that loaded, and those that did not.
#[derive(Debug, Default)]
pub struct Corpus {
    /// Documents, sorted by path.
    pub documents: Vec<Document>,
    /// Files that could not be loaded, sorted by path.
    pub skipped: Vec<Skipped>,
}

impl Corpus {
    /// Total number of passages.
    pub fn passage_count(&self) -> usize {
        self.documents.iter().map(|d| d.passages.len()).sum()
    }

    /// The document at a relative path.
    pub fn document(&self, path: &str) -> Option<&Document> {
        self.documents.binary_search_by(|d| d.path.as_str().cmp(path)).ok().map(|i| &self.documents[i])
    }
}

impl Project {
    /// Opens the project at `root`, reading `fieldnotes.toml` if there is one.
    pub fn open(root: impl Into<PathBuf>) -> Result<Project> {
        let root = root.into();
        if !root.is_dir() {
            return Err(Error::NotADirectory { path: root });
        }
        let config_path = root.join(CONFIG_FILE);
        let config = if config_path.is_file() {
            let text =
                fs::read_to_string(&config_path).map_err(|source| Error::Io { path: config_path.clone(), source })?;
            toml::from_str(&text).map_err(|e| Error::Config {
                path: config_path.clone(),
                line: e
                    .span()
                    .map(|s| 1 + text.as_bytes()[..s.start.min(text.len())].iter().filter(|&&b| b == b'\n').count()),
                message: e.message().to_string(),
            })?
        } else {
            Config::default()
        };
        Ok(Project { root, config })
    }

    /// Finds the project containing `start`: the nearest folder upwards holding `fieldnotes.toml`.
    pub fn discover(start: &Path) -> Result<Project> {
        let mut dir = Some(start);
        while let Some(d) = dir {
            if d.join(CONFIG_FILE).is_file() {
                return Project::open(d);
            }
            dir = d.parent();
        }
        Err(Error::NoProject { start: start.to_path_buf() })
    }

    /// The project's root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder for derived data (created on demand by its users).
    pub fn derived_dir(&self) -> PathBuf {
        self.root.join(DERIVED_DIR)
    }

    /// The codebook's path.
    pub fn codebook_path(&self) -> PathBuf {
        self.root.join(&self.config.codebook)
    }

    /// The relative path of a file under the root, with `/` separators.
    pub fn relative(&self, path: &Path) -> String {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        // Most paths are UTF-8 with `/` between parts already.
        if let Some(s) = rel.to_str()
            && std::path::MAIN_SEPARATOR == '/'
            && !s.starts_with('/')
            && !s.starts_with("./")
            && !s.contains("/./")
            && !s.contains("//")
            && !s.ends_with('/')
        {
            return s.to_string();
        }
        rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
    }

    pub(crate) fn globs(&self) -> Result<GlobSet> {
        let mut b = GlobSetBuilder::new();
        for g in &self.config.notes {
            let glob = Glob::new(g).map_err(|e| Error::Glob { glob: g.clone(), message: e.kind().to_string() })?;
            b.add(glob);
        }
        b.build().map_err(|e| Error::Glob { glob: self.config.notes.join(", "), message: e.to_string() })
    }

    /// Lists the note files (absolute paths), honouring `.gitignore`, sorted.
    ///
    /// Folders that cannot be read are returned as skipped entries rather than failing the walk.
    pub fn note_files(&self) -> Result<(Vec<PathBuf>, Vec<Skipped>)> {
        let globs = self.globs()?;
        let mut files = Vec::new();
        let mut skipped = Vec::new();
        for entry in self.walker(&self.root).build() {
            match entry {
                Ok(e) => {
                    if !e.file_type().is_some_and(|t| t.is_file()) {
                        continue;
                    }
                    let rel = self.relative(e.path());
                    if globs.is_match(&rel) {
                        files.push(e.into_path());
                    }
                }
                Err(err) => {
                    let path = walk_error_path(&err).map(|p| self.relative(p)).unwrap_or_default();
                    skipped.push(Skipped { path, reason: SkipReason::Unreadable { message: err.to_string() } });
                }
            }
        }
        sort_paths(&mut files);
        Ok((files, skipped))
    }

    /// Files the note globs do not take, in the folders the globs look in (the part of each glob
    /// before its first wildcard, `notes/` by default): their count by extension (`""` for
    /// none), to tell a researcher whose files were passed over what they were.
    pub fn other_files(&self) -> Result<std::collections::BTreeMap<String, usize>> {
        let globs = self.globs()?;
        let mut out = std::collections::BTreeMap::new();
        let mut dirs: Vec<PathBuf> = self
            .config
            .notes
            .iter()
            .map(|g| {
                let fixed: Vec<&str> = g.split('/').take_while(|part| !part.contains(['*', '?', '[', '{'])).collect();
                self.root.join(fixed.join("/"))
            })
            .filter(|d| d.is_dir())
            .collect();
        dirs.sort();
        dirs.dedup();
        // A folder inside another is walked with it.
        let outer: Vec<PathBuf> =
            dirs.iter().filter(|d| !dirs.iter().any(|o| o != *d && d.starts_with(o))).cloned().collect();
        for dir in outer {
            for e in self.walker(&dir).build().flatten() {
                if !e.file_type().is_some_and(|t| t.is_file()) || globs.is_match(self.relative(e.path())) {
                    continue;
                }
                let ext = e.path().extension().map(|x| x.to_string_lossy().to_lowercase()).unwrap_or_default();
                *out.entry(ext).or_insert(0) += 1;
            }
        }
        Ok(out)
    }

    /// The note files of `stats` (a walk made anyway, for the project's signature) as
    /// [`Project::note_files`] lists them, in its order, each with its size: a second walk and
    /// a second `stat` of each note saved. `None` when that walk could not read some path: then
    /// [`Project::note_files`] walks again, to say why.
    pub fn note_files_in(&self, stats: &NoteStats) -> Option<(Vec<PathBuf>, Vec<u64>)> {
        if !stats.unreadable().is_empty() {
            return None;
        }
        let mut files: Vec<(PathBuf, u64)> = stats.notes().iter().map(|n| (self.root.join(&n.rel), n.len)).collect();
        files.sort_by_cached_key(|(p, _)| path_key(p));
        Some(files.into_iter().unzip())
    }

    /// The size and modification time of every note file now, in no particular order: what
    /// tells whether a note changed since the index or the report store was made. While
    /// `fieldnotes watch` runs, the stats kept from the last walk when it says that nothing
    /// changed since ([`crate::watch`]); else a walk ([`Project::walk_note_stats`]).
    pub fn note_stats(&self) -> Result<NoteStats> {
        if let Some(stats) = crate::watch::note_stats(self, || self.walk_note_stats()) {
            return Ok(stats);
        }
        self.walk_note_stats()
    }

    /// [`Project::note_stats`] from the walk of [`Project::note_files`] run on every core (a
    /// `stat` of each of 324,641 notes, one after another, took a second; on two cores it takes
    /// half a second).
    pub fn walk_note_stats(&self) -> Result<NoteStats> {
        let globs = self.globs()?;
        let out = std::sync::Mutex::new((Vec::new(), Vec::new()));
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
        self.walker(&self.root).threads(threads).build_parallel().run(|| {
            Box::new(|e| {
                match e {
                    Ok(e) if e.file_type().is_some_and(|t| t.is_file()) => {
                        let rel = self.relative(e.path());
                        if globs.is_match(&rel) {
                            let (len, modified_ns) = file_stamp(e.path());
                            let note = NoteStat { rel, len, modified_ns };
                            out.lock().unwrap_or_else(|e| e.into_inner()).0.push(note);
                        }
                    }
                    Ok(_) => {}
                    Err(err) => {
                        let rel = walk_error_path(&err).map(|p| self.relative(p)).unwrap_or_default();
                        out.lock().unwrap_or_else(|e| e.into_inner()).1.push(rel);
                    }
                }
                ignore::WalkState::Continue
            })
        });
        let (notes, unreadable) = out.into_inner().unwrap_or_else(|e| e.into_inner());
        Ok(NoteStats::new(notes, unreadable))
    }

    /// The walk over the notes from `dir` (the root, or a folder in it), as every listing of
    /// notes makes it: hidden files and `.fieldnotes/` left out, `.gitignore` honoured.
    pub(crate) fn walker(&self, dir: &Path) -> ignore::WalkBuilder {
        let mut b = ignore::WalkBuilder::new(dir);
        b.hidden(true)
            .git_ignore(true)
            .git_exclude(true)
            .require_git(false)
            .follow_links(true)
            .filter_entry(|e| e.file_name() != DERIVED_DIR);
        b
    }

    /// The file of note `rel` (a path relative to the root, as in passage ids), if it is one of
    /// the project's notes, as [`Project::note_files`] would list it; found without walking the
    /// whole project (its folder is listed, with the ignore files above it).
    pub fn note_file(&self, rel: &str) -> Option<PathBuf> {
        self.note_files_of([rel]).pop()
    }

    /// [`Project::note_file`] of several notes, sorted: each folder holding some of them is
    /// listed once, and the note globs are made once.
    pub fn note_files_of<'a>(&self, rels: impl IntoIterator<Item = &'a str>) -> Vec<PathBuf> {
        let Ok(globs) = self.globs() else { return Vec::new() };
        let plain = |p: &str| !p.is_empty() && p != "." && p != ".." && !p.starts_with('.') && !p.contains('\\');
        let mut by_dir: std::collections::BTreeMap<PathBuf, std::collections::BTreeSet<PathBuf>> =
            std::collections::BTreeMap::new();
        for rel in rels {
            let parts: Vec<&str> = rel.split('/').collect();
            if !parts.iter().all(|p| plain(p)) || parts.first() == Some(&DERIVED_DIR) || !globs.is_match(rel) {
                continue;
            }
            let file = self.root.join(rel);
            if let Some(dir) = file.parent() {
                by_dir.entry(dir.to_path_buf()).or_default().insert(file);
            }
        }
        let mut out = Vec::new();
        for (dir, wanted) in &by_dir {
            for entry in self.walker(dir).max_depth(Some(1)).build().flatten() {
                if entry.depth() == 1 && entry.file_type().is_some_and(|t| t.is_file()) && wanted.contains(entry.path())
                {
                    out.push(entry.into_path());
                }
            }
        }
        sort_paths(&mut out);
        out
    }

    /// The passage-splitting options for a document with these attributes.
    pub fn split_options(&self, attrs: &crate::Attributes) -> SplitOptions {
        let kind = attrs.get("kind").and_then(|v| v.as_str()).map(str::to_lowercase);
        // `transcript: true` or `false` says it outright; otherwise the kind decides.
        let speaker_turns = match attrs.get("transcript") {
            Some(crate::Value::Bool(flag)) => *flag,
            _ => kind.is_some_and(|k| self.config.transcript_kinds.iter().any(|t| t.eq_ignore_ascii_case(&k))),
        };
        SplitOptions { speaker_turns }
    }

    /// Loads one note file. Errors are per file: the caller goes on with the others.
    pub fn load_file(&self, path: &Path) -> std::result::Result<Document, Skipped> {
        let rel = self.relative(path);
        let skip = |reason| Skipped { path: rel.clone(), reason };
        let bytes = read_capped(path).map_err(|e| skip(SkipReason::Unreadable { message: e.to_string() }))?;
        let text = decode(bytes, self.config.max_line_bytes).map_err(skip)?;
        self.parse_note(rel.clone(), text).map_err(|e| {
            skip(SkipReason::FrontMatter {
                line: e.line,
                column: e.column,
                message: e.message,
                hint: e.hint.to_string(),
            })
        })
    }

    /// Parses a note's text (without a BOM) as this project reads its notes: the front matter
    /// first, to know the kind, then the body split with the right options. Used for the files
    /// and for kept versions of them.
    pub fn parse_note(
        &self,
        rel: String,
        text: String,
    ) -> std::result::Result<Document, crate::frontmatter::FrontMatterError> {
        let fm = crate::frontmatter::parse(&text)?;
        let opts = self.split_options(&fm.attributes);
        Ok(build_document(rel, text, fm, &opts))
    }

    /// Loads every note in parallel. Bad files are listed in [`Corpus::skipped`]; the rest load.
    pub fn load(&self) -> Result<Corpus> {
        self.load_with_progress(&|_| {})
    }

    /// Like [`Project::load`], calling `progress` with 1 as each file is done.
    pub fn load_with_progress(&self, progress: &(dyn Fn(u64) + Sync)) -> Result<Corpus> {
        let (files, skipped) = self.note_files()?;
        Ok(self.load_files(&files, skipped, progress))
    }

    /// Loads the given note files in parallel (see [`Project::note_files`]); `skipped` holds
    /// entries already set aside by the walk.
    pub fn load_files(&self, files: &[PathBuf], mut skipped: Vec<Skipped>, progress: &(dyn Fn(u64) + Sync)) -> Corpus {
        let results: Vec<std::result::Result<Document, Skipped>> = files
            .par_iter()
            .map(|f| {
                let r = self.load_file(f);
                progress(1);
                r
            })
            .collect();
        let mut documents = Vec::with_capacity(results.len());
        for r in results {
            match r {
                Ok(d) => documents.push(d),
                Err(s) => skipped.push(s),
            }
        }
        documents.sort_by(|a, b| a.path.cmp(&b.path));
        skipped.sort_by(|a, b| a.path.cmp(&b.path));
        Corpus { documents, skipped }
    }
}

fn walk_error_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => walk_error_path(err),
        ignore::Error::Loop { child, .. } => Some(child),
        _ => None,
    }
}

/// Largest note file read, in bytes; bigger files are skipped without being read whole.
pub const MAX_FILE_BYTES: u64 = 256 << 20;

fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    let f = fs::File::open(path)?;
    let len = f.metadata()?.len();
    if len > MAX_FILE_BYTES {
        return Err(std::io::Error::other(format!(
            "file is {} MB, over the {} MB limit for one note; split it into several notes",
            len >> 20,
            MAX_FILE_BYTES >> 20
        )));
    }
    let mut buf = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    f.take(MAX_FILE_BYTES + 1).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Checks and decodes a note's bytes: UTF-8, not binary, not empty, no over-long line; drops a BOM.
/// The bytes become the text without a copy.
pub fn decode(mut bytes: Vec<u8>, max_line_bytes: usize) -> std::result::Result<String, SkipReason> {
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        bytes.drain(..3);
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return Err(SkipReason::NotUtf8 {
            line: 1,
            message: "the file is UTF-16 (it starts with a UTF-16 byte-order mark)".into(),
        });
    }
    let line_of = |bytes: &[u8], pos: usize| 1 + bytes[..pos].iter().filter(|&&b| b == b'\n').count();
    // The `memchr` crate's search, on the vector unit: the standard library's `contains` of a
    // byte went a word at a time.
    if let Some(pos) = memchr::memchr(0, &bytes) {
        return Err(SkipReason::Binary { line: line_of(&bytes, pos), offset: pos });
    }
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let pos = e.utf8_error().valid_up_to();
            let bytes = e.as_bytes();
            return Err(SkipReason::NotUtf8 {
                line: line_of(bytes, pos),
                message: format!("invalid UTF-8 byte 0x{:02X} at byte {pos}", bytes[pos]),
            });
        }
    };
    if text.trim().is_empty() {
        return Err(SkipReason::Empty);
    }
    // Only a note longer than the limit can have a line longer than it.
    if text.len() > max_line_bytes {
        for (i, line) in text.split('\n').enumerate() {
            if line.len() > max_line_bytes {
                return Err(SkipReason::LineTooLong { line: i + 1, bytes: line.len(), limit: max_line_bytes });
            }
        }
    }
    Ok(text)
}

/// A file's size and time in nanoseconds since 1970, as [`NoteStat`] keeps them: -1 for a time
/// the system does not give, `(0, NoteStat::UNREADABLE)` for a file that cannot be read. The time
/// is the later of the modification time and, on Unix, the time of the last change to the file
/// or its permissions (`ctime`, which no program can set back): a note made readable again by
/// `chmod`, or an older copy put back with its old time (`cp -p`, `rsync -t`), is a change.
pub fn file_stamp(path: &Path) -> (u64, i128) {
    fs::metadata(path).map(|m| (m.len(), changed_ns(&m))).unwrap_or((0, NoteStat::UNREADABLE))
}

/// The time of [`file_stamp`] of a file with metadata `m`.
pub fn changed_ns(m: &fs::Metadata) -> i128 {
    let modified = m.modified().ok().and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
    let modified = modified.map_or(-1, |d| d.as_nanos() as i128);
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let changed = i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec());
        modified.max(changed)
    }
    #[cfg(not(unix))]
    {
        modified
    }
}

/// Sorts paths as `Path`'s order does (component by component), from a key made once per path:
/// its bytes with each separator as the lowest byte. Comparing `Path`s parses their components
/// on every comparison, which took a quarter of a second for the 324,641 notes of 2 GB.
fn sort_paths(paths: &mut [PathBuf]) {
    paths.sort_by_cached_key(|p| path_key(p));
}

/// What paths sort by: component by component, as Rust compares paths.
fn path_key(p: &Path) -> Vec<u8> {
    let s = p.to_string_lossy();
    s.bytes().map(|b| if std::path::is_separator(char::from(b)) { 0 } else { b }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_sort_as_path_sorts_them() {
        let names = [
            "notes/a-b/x.md",
            "notes/a/x.md",
            "notes/a/b/c.md",
            "notes/a.b/x.md",
            "notes/ab.md",
            "notes/a",
            "n/é.md",
            "n/e.md",
        ];
        let mut want: Vec<PathBuf> = names.iter().map(PathBuf::from).collect();
        let mut got = want.clone();
        want.sort();
        got.reverse();
        sort_paths(&mut got);
        assert_eq!(got, want);
    }

    fn write(root: &Path, rel: &str, content: &[u8]) {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }

    #[test]
    fn the_notes_fingerprint_moves_with_any_note_added_removed_renamed_or_written() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..40 {
            write(dir.path(), &format!("notes/s{}/n{i}.md", i % 3), b"Some text.\n");
        }
        write(dir.path(), "notes/ignored.csv", b"not a note");
        let project = Project::open(dir.path()).unwrap();
        let print = || project.note_stats().unwrap().fingerprint();
        let first = print();
        assert_eq!(first.0, 40);
        assert_eq!(print(), first, "the same notes, walked again in whatever order");
        let stats = project.note_stats().unwrap();
        let mut listed: Vec<&str> = stats.notes().iter().map(|n| n.rel.as_str()).collect();
        listed.sort();
        let (files, _) = project.note_files().unwrap();
        let mut walked: Vec<String> = files.iter().map(|f| project.relative(f)).collect();
        walked.sort();
        assert_eq!(listed, walked, "the notes note_files lists");
        let mut seen = vec![first];
        let mut step = |what: &str| {
            let now = print();
            assert!(!seen.contains(&now), "{what} left the fingerprint as it was");
            seen.push(now);
        };
        write(dir.path(), "notes/s0/n0.md", b"Some other text.\n");
        step("a note written");
        write(dir.path(), "notes/s1/new.md", b"New.\n");
        step("a note added");
        fs::rename(dir.path().join("notes/s1/new.md"), dir.path().join("notes/s2/new.md")).unwrap();
        step("a note moved");
        fs::remove_file(dir.path().join("notes/s2/new.md")).unwrap();
        fs::remove_file(dir.path().join("notes/s2/n2.md")).unwrap();
        step("notes removed");
    }

    #[test]
    fn loads_good_and_reports_bad() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, "notes/fife/a.md", b"---\nsite: Fife\nkind: meeting\n---\nOne.\n\nTwo.\n");
        write(root, "notes/fife/b.txt", b"\xEF\xBB\xBFPlain note.\n");
        write(root, "notes/glasgow/i.md", b"---\nsite: Glasgow\nkind: interview\n---\nQ: Hello?\nA: Hi.\n");
        write(root, "notes/bad/latin1.md", b"caf\xE9\n");
        write(root, "notes/bad/bin.md", b"abc\0def");
        write(root, "notes/bad/empty.md", b"  \n\n");
        write(root, "notes/bad/fm.md", b"---\nsite: [Fife\n---\nx\n");
        write(root, "notes/ignored.md", b"ignored\n");
        write(root, ".gitignore", b"notes/ignored.md\n");
        write(root, "other/x.md", b"not a note by the globs\n");
        let project = Project::open(root).unwrap();
        let corpus = project.load().unwrap();
        let paths: Vec<&str> = corpus.documents.iter().map(|d| d.path.as_str()).collect();
        assert_eq!(paths, ["notes/fife/a.md", "notes/fife/b.txt", "notes/glasgow/i.md"]);
        assert_eq!(corpus.passage_count(), 5);
        // One note found as the listing finds it, without the walk.
        for p in paths.iter().chain(["notes/bad/fm.md"].iter()) {
            assert_eq!(project.note_file(p), Some(root.join(p)), "{p}");
        }
        for p in [
            "notes/ignored.md",
            "other/x.md",
            "notes/../other/x.md",
            "notes/fife/none.md",
            "/notes/fife/a.md",
            "notes//fife/a.md",
        ] {
            assert_eq!(project.note_file(p), None, "{p}");
        }
        // Many at once: the notes among them, sorted, each once.
        let many = ["notes/glasgow/i.md", "notes/ignored.md", "notes/fife/a.md", "notes/fife/b.txt", "other/x.md"];
        let found: Vec<PathBuf> =
            ["notes/fife/a.md", "notes/fife/b.txt", "notes/glasgow/i.md"].iter().map(|p| root.join(p)).collect();
        assert_eq!(project.note_files_of(many), found);
        let interview = corpus.document("notes/glasgow/i.md").unwrap();
        assert_eq!(interview.passages[1].speaker.as_deref(), Some("A"));
        let skipped: Vec<(&str, &str)> = corpus.skipped.iter().map(|s| (s.path.as_str(), s.reason.kind())).collect();
        assert_eq!(
            skipped,
            [
                ("notes/bad/bin.md", "binary"),
                ("notes/bad/empty.md", "empty"),
                ("notes/bad/fm.md", "front-matter"),
                ("notes/bad/latin1.md", "not-utf8"),
            ]
        );
    }

    #[test]
    fn over_long_line_is_skipped() {
        let mut big = vec![b'a'; 2000];
        big.push(b'\n');
        let err = decode(big, 1000).unwrap_err();
        assert_eq!(err.kind(), "line-too-long");
        assert!(err.to_string().contains("line 1"), "{err}");
    }

    #[test]
    fn decode_drops_a_bom_and_names_the_line_of_a_bad_byte() {
        assert_eq!(decode(b"\xEF\xBB\xBFSome words.\n".to_vec(), 1000).unwrap(), "Some words.\n");
        assert_eq!(decode(b"short\nlines\n".to_vec(), 8).unwrap(), "short\nlines\n");
        match decode(b"one\ntwo\nth\xFFree\n".to_vec(), 1000).unwrap_err() {
            SkipReason::NotUtf8 { line, message } => {
                assert_eq!(line, 3);
                assert!(message.contains("0xFF at byte 10"), "{message}");
            }
            other => panic!("{other}"),
        }
        match decode(b"\xEF\xBB\xBFone\ntw\0o\n".to_vec(), 1000).unwrap_err() {
            SkipReason::Binary { line, offset } => assert_eq!((line, offset), (2, 6)),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn config_errors_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), CONFIG_FILE, b"name = \"x\"\nnotez = []\n");
        let e = Project::open(dir.path()).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("fieldnotes.toml") && msg.contains("line 2"), "{msg}");
    }

    #[test]
    fn discover_walks_up() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), CONFIG_FILE, b"name = \"study\"\n");
        fs::create_dir_all(dir.path().join("notes/deep")).unwrap();
        let p = Project::discover(&dir.path().join("notes/deep")).unwrap();
        assert_eq!(p.config.name, "study");
        assert!(Project::discover(Path::new("/")).is_err());
    }
}
