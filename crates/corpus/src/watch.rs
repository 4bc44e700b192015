//! Knowing that no note changed without looking at every one: `fieldnotes watch`.
//!
//! Every command that counts or searches first finds out whether notes changed since the index
//! and the report store were made, from the size and modification time of every note file
//! ([`Project::note_stats`]). At 324,641 notes that walk is half a second whatever else the
//! command does. While `fieldnotes watch` runs, the kernel tells it of every change in the
//! project's folders (inotify), and a command asks it instead:
//!
//! - The command sends the token of its last answer (kept with the notes' stats it walked then,
//!   in `.fieldnotes/notes.stats`).
//! - The watcher first makes sure it has read every event up to now: it creates a file in its own
//!   folder (`.fieldnotes/watch-cookies/`) and waits until the kernel's event for it comes by;
//!   events arrive in order, so every change made before the question has been seen.
//! - It answers with a new token and the paths that changed since the old one (only those that
//!   can change the walk: notes, folders, ignore files and the settings), or `full` when it cannot
//!   say (a token of another run of the watcher, or events lost when the kernel's queue overflowed).
//! - No change: the command takes the kept stats as they are. Anything else: it walks, as without
//!   a watcher, and keeps the stats with the new token.
//!
//! Without a watcher, or when it does not answer, or answers anything unexpected, commands walk
//! the notes as always: the watcher only ever saves a walk, it never decides what the notes are.
//! The watcher is for Linux; elsewhere commands walk.

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use crate::bytes::{In, Out};
use crate::project::{NoteStat, NoteStats, Project};

/// The watcher's socket, in the derived folder.
pub const SOCKET: &str = "watch.sock";
/// The notes' stats of the last walk and the watcher's token then, in the derived folder.
const CACHE: &str = "notes.stats";
/// The folder of the watcher's cookies, in the derived folder.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const COOKIES: &str = "watch-cookies";
const CACHE_MAGIC: &[u8; 8] = b"FNSTAT02";

/// The watcher's answer to "what changed since this token?".
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    /// These paths (relative) changed; none if nothing did.
    Changes { token: String, paths: Vec<String> },
    /// The watcher cannot say: walk.
    Full { token: String },
}

/// What [`status`] says of a watcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// Its process id.
    pub pid: u32,
    /// Folders it watches.
    pub folders: usize,
    /// Changes to notes, folders, ignore files or settings it has seen since it started.
    pub changes: u64,
}

/// The notes' stats from the watcher and the stats kept from the last walk, when a watcher
/// answers: the kept ones when nothing changed since, else a walk's (kept for next time). `None`
/// when no watcher answers: the caller walks.
#[cfg(unix)]
pub(crate) fn note_stats(project: &Project, walk: impl FnOnce() -> crate::Result<NoteStats>) -> Option<NoteStats> {
    let socket = project.derived_dir().join(SOCKET);
    if !socket.exists() {
        return None;
    }
    let cache_path = project.derived_dir().join(CACHE);
    let cache = read_cache(&cache_path);
    let token = cache.as_ref().map_or("-", |(t, _)| t.as_str());
    let answer = ask(&socket, &format!("since {token}")).ok().and_then(|lines| parse_answer(&lines))?;
    match (answer, cache) {
        (Answer::Changes { paths, token: new }, Some((old, stats))) if paths.is_empty() => {
            if new != old {
                let _ = write_cache(&cache_path, &new, &stats);
            }
            Some(stats)
        }
        (Answer::Changes { token, .. } | Answer::Full { token }, _) => {
            let stats = walk().ok()?;
            // Kept with the token the watcher gave before the walk: a change made during the
            // walk is reported next time, and walked again then.
            let _ = write_cache(&cache_path, &token, &stats);
            Some(stats)
        }
    }
}

#[cfg(not(unix))]
pub(crate) fn note_stats(_: &Project, _: impl FnOnce() -> crate::Result<NoteStats>) -> Option<NoteStats> {
    None
}

/// The watcher of `project`, if one runs and answers.
pub fn status(project: &Project) -> Option<Status> {
    #[cfg(unix)]
    {
        let lines = ask(&project.derived_dir().join(SOCKET), "status").ok()?;
        let mut words = lines.first()?.split(' ');
        if words.next()? != "status" {
            return None;
        }
        let mut num = || words.next().and_then(|w| w.parse::<u64>().ok());
        let (pid, folders, changes) = (num()?, num()?, num()?);
        Some(Status { pid: pid as u32, folders: folders as usize, changes })
    }
    #[cfg(not(unix))]
    {
        let _ = project;
        None
    }
}

/// Sends one request and reads the answer's lines (to the end of the stream).
#[cfg(unix)]
fn ask(socket: &Path, request: &str) -> io::Result<Vec<String>> {
    let mut stream = std::os::unix::net::UnixStream::connect(socket)?;
    // A watcher that hangs must not hang every command: after this, the command walks.
    stream.set_read_timeout(Some(std::time::Duration::from_secs(5)))?;
    stream.set_write_timeout(Some(std::time::Duration::from_secs(5)))?;
    stream.write_all(format!("{request}\n").as_bytes())?;
    stream.shutdown(std::net::Shutdown::Write)?;
    let mut text = String::new();
    stream.read_to_string(&mut text)?;
    Ok(text.lines().map(str::to_string).collect())
}

/// `changes TOKEN N` and N paths, or `full TOKEN`; anything else (a short answer among them) is
/// no answer.
fn parse_answer(lines: &[String]) -> Option<Answer> {
    let mut head = lines.first()?.split(' ');
    let (kind, token) = (head.next()?, head.next()?.to_string());
    if token.is_empty() {
        return None;
    }
    match kind {
        "full" => Some(Answer::Full { token }),
        "changes" => {
            let n: usize = head.next()?.parse().ok()?;
            (lines.len() == n + 1).then(|| Answer::Changes { token, paths: lines[1..].to_vec() })
        }
        _ => None,
    }
}

/// The kept stats: the magic, the token, the fingerprint, the notes, the unreadable paths, and
/// a checksum of all before it. The lists are checked here and made only when asked for
/// ([`Kept`]).
fn read_cache(path: &Path) -> Option<(String, NoteStats)> {
    // Read in place (17 MB at 324,641 notes, which a read put on new pages each command).
    let bytes = crate::mapped::Mapped::whole(&fs::File::open(path).ok()?).ok()?;
    let body_len = bytes.len().checked_sub(8)?;
    let (body, sum) = bytes.split_at(body_len);
    if xxhash_rust::xxh3::xxh3_64(body).to_le_bytes() != sum {
        return None;
    }
    let mut r = In(body);
    if r.take(8)? != CACHE_MAGIC {
        return None;
    }
    let token = r.string()?;
    let fingerprint = (r.u64()?, r.u64()?);
    let lists = body.len() - r.0.len()..body_len;
    walk_lists(r.0, |_, _, _| {}, |_| {})?;
    Some((token, NoteStats::kept(Kept { bytes, lists }, fingerprint)))
}

/// The lists of kept stats: the bytes of the file, and where in them the lists are, which
/// [`walk_lists`] has read through once.
#[derive(Debug)]
pub(crate) struct Kept {
    bytes: crate::mapped::Mapped,
    lists: std::ops::Range<usize>,
}

impl Kept {
    /// The notes and the unreadable paths.
    pub(crate) fn lists(&self) -> (Vec<NoteStat>, Vec<String>) {
        let (mut notes, mut unreadable) = (Vec::new(), Vec::new());
        // Read through once already when kept: this cannot stop short.
        let _ = walk_lists(
            &self.bytes[self.lists.clone()],
            |rel, len, modified_ns| notes.push(NoteStat { rel: rel.to_string(), len, modified_ns }),
            |rel| unreadable.push(rel.to_string()),
        );
        (notes, unreadable)
    }
}

/// Reads the lists' bytes through, calling `note` with each note's path, size and time and
/// `unreadable` with each unreadable path; `None` where they do not read to the end.
fn walk_lists(bytes: &[u8], mut note: impl FnMut(&str, u64, i128), mut unreadable: impl FnMut(&str)) -> Option<()> {
    let mut r = In(bytes);
    for _ in 0..r.u64()? {
        let (len, modified_ns) = (r.u64()?, r.i128()?);
        note(r.str()?, len, modified_ns);
    }
    for _ in 0..r.u64()? {
        unreadable(r.str()?);
    }
    r.is_empty().then_some(())
}

fn write_cache(path: &Path, token: &str, stats: &NoteStats) -> io::Result<()> {
    let size: usize = stats.notes().iter().map(|n| n.rel.len() + 28).sum();
    let mut out = Out(Vec::with_capacity(size + 64));
    out.0.extend_from_slice(CACHE_MAGIC);
    out.str(token);
    let (count, sum) = stats.fingerprint();
    out.u64(count);
    out.u64(sum);
    out.u64(stats.notes().len() as u64);
    for n in stats.notes() {
        out.u64(n.len);
        out.i128(n.modified_ns);
        out.str(&n.rel);
    }
    out.u64(stats.unreadable().len() as u64);
    for u in stats.unreadable() {
        out.str(u);
    }
    let sum = xxhash_rust::xxh3::xxh3_64(&out.0);
    out.u64(sum);
    crate::atomic::write(path, &out.0)
}

/// Whether a change to `rel` (relative, `/` separators) can change what a walk of the notes
/// finds: a note (by the project's globs), an ignore file, the settings file, or a folder.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn matters(rel: &str, is_dir: bool, notes: &globset::GlobSet) -> bool {
    is_dir || notes.is_match(rel) || shapes_walk(rel)
}

/// Whether `rel` is a file that says where the walk goes: an ignore file or the settings.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
fn shapes_walk(rel: &str) -> bool {
    matches!(rel.rsplit('/').next(), Some(".gitignore" | ".ignore"))
        || rel == ".git/info/exclude"
        || rel == crate::CONFIG_FILE
}

#[cfg(target_os = "linux")]
pub use daemon::run;

/// Runs the watcher of `project`: not on this system.
#[cfg(not(target_os = "linux"))]
pub fn run(_project: &Project, _ready: impl FnOnce(usize)) -> io::Result<()> {
    Err(io::Error::other("`fieldnotes watch` needs Linux (inotify); elsewhere every command walks the notes"))
}

#[cfg(target_os = "linux")]
mod daemon {
    use std::collections::HashMap;
    use std::os::unix::net::{UnixListener, UnixStream};
    use std::sync::{Arc, Condvar, Mutex};
    use std::time::Duration;

    use inotify::{EventMask, Inotify, WatchDescriptor, WatchMask};

    use super::*;

    /// What the event thread knows, shared with the threads answering commands.
    struct State {
        /// Changes that matter seen so far; the token's number.
        seq: u64,
        /// Tokens before this number get `full` (events were lost there).
        floor: u64,
        /// Each change that matters: its number and path, in order.
        log: Vec<(u64, String)>,
        /// Cookies whose event has come by.
        cookies_seen: std::collections::HashSet<u64>,
        folders: usize,
        /// Set when the watcher can no longer vouch for anything: it then answers `full` only.
        broken: Option<String>,
    }

    /// Changes kept for answering; past this many the oldest are dropped (older tokens: `full`).
    const MOST_KEPT: usize = 1_000_000;

    struct Shared {
        state: Mutex<State>,
        seen: Condvar,
        instance: String,
        cookies: PathBuf,
    }

    const MASK: WatchMask = WatchMask::CREATE
        .union(WatchMask::DELETE)
        .union(WatchMask::MODIFY)
        .union(WatchMask::CLOSE_WRITE)
        .union(WatchMask::ATTRIB)
        .union(WatchMask::MOVED_FROM)
        .union(WatchMask::MOVED_TO)
        .union(WatchMask::DELETE_SELF)
        .union(WatchMask::MOVE_SELF)
        .union(WatchMask::ONLYDIR);

    /// The folders watched: each one's watch and path relative to the root ("" for the root).
    struct Folders {
        inotify: Inotify,
        by_wd: HashMap<WatchDescriptor, String>,
        cookie_wd: Option<WatchDescriptor>,
    }

    impl Folders {
        /// Watches `dir` (relative) and every folder a walk of the notes enters below it.
        fn add_tree(&mut self, project: &Project, rel: &str) -> io::Result<()> {
            let start = if rel.is_empty() { project.root().to_path_buf() } else { project.root().join(rel) };
            for entry in project.walker(&start).build() {
                let Ok(entry) = entry else { continue };
                if !entry.file_type().is_some_and(|t| t.is_dir()) {
                    continue;
                }
                let wd = self.inotify.watches().add(entry.path(), MASK).map_err(|e| {
                    let hint = if e.raw_os_error() == Some(28) {
                        "; the system's limit on watches was reached: raise it with `sudo sysctl fs.inotify.max_user_watches=1048576`"
                    } else {
                        ""
                    };
                    io::Error::new(e.kind(), format!("cannot watch `{}`: {e}{hint}", entry.path().display()))
                })?;
                self.by_wd.insert(wd, project.relative(entry.path()));
            }
            // `.git/info/exclude` is read by the walk but sits in a hidden folder it does not enter.
            let info = project.root().join(".git/info");
            if rel.is_empty() && info.is_dir() {
                let wd = self.inotify.watches().add(&info, MASK)?;
                self.by_wd.insert(wd, ".git/info".into());
            }
            Ok(())
        }
    }

    /// Runs the watcher of `project` until the process is stopped. `ready` is called with the
    /// number of folders watched once the watcher answers. Fails if another watcher answers for
    /// the project or a folder cannot be watched (the system's limit on watches, say).
    pub fn run(project: &Project, ready: impl FnOnce(usize)) -> io::Result<()> {
        let derived = project.derived_dir();
        let cookies = derived.join(COOKIES);
        fs::create_dir_all(&cookies)?;
        for e in fs::read_dir(&cookies)?.flatten() {
            let _ = fs::remove_file(e.path());
        }
        let socket = derived.join(SOCKET);
        if UnixStream::connect(&socket).is_ok() {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!(
                    "another `fieldnotes watch` already watches this project (`{}` answers; `fieldnotes watch --status` gives its process)",
                    socket.display()
                ),
            ));
        }
        let _ = fs::remove_file(&socket);
        let mut folders = Folders { inotify: Inotify::init()?, by_wd: HashMap::new(), cookie_wd: None };
        folders.cookie_wd = Some(folders.inotify.watches().add(&cookies, WatchMask::CREATE | WatchMask::ONLYDIR)?);
        folders.add_tree(project, "")?;
        let listener = UnixListener::bind(&socket).map_err(|e| {
            let long = socket.as_os_str().len() > 107;
            let hint =
                if long { " (the path is too long for a socket: move the project to a shorter path)" } else { "" };
            io::Error::new(e.kind(), format!("cannot listen on `{}`: {e}{hint}", socket.display()))
        })?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                seq: 0,
                floor: 0,
                log: Vec::new(),
                cookies_seen: Default::default(),
                folders: folders.by_wd.len(),
                broken: None,
            }),
            seen: Condvar::new(),
            instance: format!("{:x}{:x}", std::process::id(), now.as_nanos()),
            cookies,
        });
        let events = {
            let shared = Arc::clone(&shared);
            let project = project.clone();
            std::thread::spawn(move || read_events(&project, folders, &shared))
        };
        ready(shared.state.lock().unwrap_or_else(|e| e.into_inner()).folders);
        let next_cookie = std::sync::atomic::AtomicU64::new(0);
        std::thread::scope(|s| {
            for stream in listener.incoming() {
                if events.is_finished() || shared.state.lock().unwrap_or_else(|e| e.into_inner()).broken.is_some() {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let cookie = next_cookie.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let shared = &shared;
                s.spawn(move || {
                    let _ = answer(stream, shared, cookie);
                });
            }
        });
        let _ = fs::remove_file(&socket);
        let why = shared.state.lock().unwrap_or_else(|e| e.into_inner()).broken.clone();
        Err(io::Error::other(why.unwrap_or_else(|| "the watcher stopped".into())))
    }

    /// Answers one request: `status`, or `since TOKEN`.
    fn answer(stream: UnixStream, shared: &Shared, cookie: u64) -> io::Result<()> {
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        let mut line = String::new();
        BufReader::new(&stream).read_line(&mut line)?;
        let mut out = &stream;
        let line = line.trim_end();
        if line == "status" {
            let st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            return writeln!(out, "status {} {} {}", std::process::id(), st.folders, st.seq);
        }
        let Some(token) = line.strip_prefix("since ") else {
            return writeln!(out, "error unknown request");
        };
        // Every event before now is read once the cookie's is.
        let path = shared.cookies.join(cookie.to_string());
        fs::File::create(&path)?;
        let st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        let (mut st, timeout) = shared
            .seen
            .wait_timeout_while(st, Duration::from_secs(2), |st| {
                !st.cookies_seen.contains(&cookie) && st.broken.is_none()
            })
            .unwrap_or_else(|e| e.into_inner());
        st.cookies_seen.remove(&cookie);
        let _ = fs::remove_file(&path);
        let now = format!("{}:{}", shared.instance, st.seq);
        let since = token
            .split_once(':')
            .filter(|(instance, _)| *instance == shared.instance)
            .and_then(|(_, n)| n.parse::<u64>().ok())
            .filter(|&n| n >= st.floor && n <= st.seq);
        let (Some(since), false, None) = (since, timeout.timed_out(), &st.broken) else {
            return writeln!(out, "full {now}");
        };
        let first = st.log.partition_point(|(n, _)| *n <= since);
        let mut paths: Vec<&str> = st.log[first..].iter().map(|(_, p)| p.as_str()).collect();
        paths.sort_unstable();
        paths.dedup();
        let mut text = format!("changes {now} {}\n", paths.len());
        for p in paths {
            text.push_str(p);
            text.push('\n');
        }
        drop(st);
        out.write_all(text.as_bytes())
    }

    /// The event thread: reads the kernel's events in order, notes the changes that matter,
    /// watches new folders as they come, and marks cookies seen.
    fn read_events(project: &Project, mut folders: Folders, shared: &Shared) {
        let mut globs = project.globs().ok();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let events = match folders.inotify.read_events_blocking(&mut buf) {
                Ok(events) => events,
                Err(e) => return stop(shared, format!("reading the kernel's events failed: {e}")),
            };
            let mut changed: Vec<(String, bool)> = Vec::new();
            let mut cookies = Vec::new();
            let mut overflow = false;
            for ev in events {
                if ev.mask.contains(EventMask::Q_OVERFLOW) {
                    overflow = true;
                    continue;
                }
                if Some(&ev.wd) == folders.cookie_wd.as_ref() {
                    if let Some(n) = ev.name.and_then(|n| n.to_str()).and_then(|n| n.parse::<u64>().ok()) {
                        cookies.push(n);
                    }
                    continue;
                }
                let Some(dir) = folders.by_wd.get(&ev.wd).cloned() else { continue };
                if ev.mask.intersects(EventMask::IGNORED | EventMask::DELETE_SELF | EventMask::MOVE_SELF) {
                    // The folder itself went: its parent's event says so too.
                    if ev.mask.contains(EventMask::IGNORED) {
                        folders.by_wd.remove(&ev.wd);
                    }
                    changed.push((dir, true));
                    continue;
                }
                let Some(name) = ev.name.map(|n| n.to_string_lossy().into_owned()) else { continue };
                let rel = if dir.is_empty() { name } else { format!("{dir}/{name}") };
                let is_dir = ev.mask.contains(EventMask::ISDIR);
                if is_dir
                    && ev.mask.intersects(EventMask::CREATE | EventMask::MOVED_TO)
                    && let Err(e) = folders.add_tree(project, &rel)
                {
                    return stop(shared, e.to_string());
                }
                changed.push((rel, is_dir));
            }
            let mut st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
            for (rel, is_dir) in changed {
                if rel == crate::CONFIG_FILE {
                    // New settings may mean new globs (and settings that parse again, globs again).
                    globs = Project::open(project.root()).ok().and_then(|p| p.globs().ok());
                }
                let Some(g) = globs.as_ref() else {
                    // Settings that do not parse: nothing can be vouched for until they do.
                    st.seq += 1;
                    st.floor = st.seq;
                    continue;
                };
                if !matters(&rel, is_dir, g) {
                    continue;
                }
                st.seq += 1;
                let n = st.seq;
                // Folders ignored before may be walked now.
                if shapes_walk(&rel)
                    && let Err(e) = folders.add_tree(project, "")
                {
                    drop(st);
                    return stop(shared, e.to_string());
                }
                st.log.push((n, rel));
            }
            if overflow {
                // Events were lost: no earlier token can be answered.
                st.seq += 1;
                st.floor = st.seq;
            }
            if st.log.len() > MOST_KEPT {
                let drop_to = st.log.len() - MOST_KEPT / 2;
                st.floor = st.log[drop_to - 1].0;
                st.log.drain(..drop_to);
            }
            st.folders = folders.by_wd.len();
            st.cookies_seen.extend(cookies);
            drop(st);
            shared.seen.notify_all();
        }
    }

    fn stop(shared: &Shared, why: String) {
        let mut st = shared.state.lock().unwrap_or_else(|e| e.into_inner());
        st.broken = Some(why);
        drop(st);
        shared.seen.notify_all();
        // Wake the listener so that it sees the event thread has finished.
        let _ = UnixStream::connect(shared.cookies.parent().unwrap_or(Path::new(".")).join(SOCKET));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_parse_or_are_refused() {
        let lines = |s: &str| s.lines().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(
            parse_answer(&lines("changes a:3 2\nnotes/x.md\nnotes/y.md")),
            Some(Answer::Changes { token: "a:3".into(), paths: vec!["notes/x.md".into(), "notes/y.md".into()] })
        );
        assert_eq!(parse_answer(&lines("changes a:3 0")), Some(Answer::Changes { token: "a:3".into(), paths: vec![] }));
        assert_eq!(parse_answer(&lines("full a:4")), Some(Answer::Full { token: "a:4".into() }));
        // Cut short, unknown, or empty: no answer, so the command walks.
        assert_eq!(parse_answer(&lines("changes a:3 2\nnotes/x.md")), None);
        assert_eq!(parse_answer(&lines("error unknown request")), None);
        assert_eq!(parse_answer(&[]), None);
    }

    #[test]
    fn the_kept_stats_read_back_as_written_and_damage_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(CACHE);
        let stats = NoteStats::new(
            vec![
                NoteStat { rel: "notes/a.md".into(), len: 10, modified_ns: 1_700_000_000_000_000_001 },
                NoteStat { rel: "notes/é.md".into(), len: 0, modified_ns: -1 },
            ],
            vec!["notes/locked".into()],
        );
        write_cache(&path, "ab:7", &stats).unwrap();
        let (token, back) = read_cache(&path).unwrap();
        assert_eq!(token, "ab:7");
        assert_eq!(back.notes(), stats.notes());
        assert_eq!(back.unreadable(), stats.unreadable());
        assert_eq!(back.fingerprint(), stats.fingerprint());
        // Cut short, or a byte changed: not read.
        let bytes = fs::read(&path).unwrap();
        fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(read_cache(&path).is_none());
        let mut changed = bytes.clone();
        changed[40] ^= 1;
        fs::write(&path, &changed).unwrap();
        assert!(read_cache(&path).is_none());
    }

    /// A project at `root` (its settings and `codings/` made here, its notes already there) with
    /// a watcher running on it, once the watcher answers.
    #[cfg(target_os = "linux")]
    fn watched_project(root: &Path) -> Project {
        fs::write(root.join("fieldnotes.toml"), "name = \"t\"\n").unwrap();
        fs::create_dir_all(root.join("codings")).unwrap();
        let project = Project::open(root).unwrap();
        let watched = project.clone();
        std::thread::spawn(move || run(&watched, |_| {}));
        while status(&project).is_none() {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        project
    }

    /// Random changes to a project's files, and after each the notes' stats as a command gets
    /// them with a watcher running must be those a walk finds.
    #[cfg(target_os = "linux")]
    #[test]
    fn with_a_watcher_the_stats_are_always_those_of_a_walk() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        fs::create_dir_all(root.join("notes/d0")).unwrap();
        let project = watched_project(&root);
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let notes = |root: &Path| -> Vec<PathBuf> {
            let mut out = Vec::new();
            for d in fs::read_dir(root.join("notes")).into_iter().flatten().flatten() {
                for f in fs::read_dir(d.path()).into_iter().flatten().flatten() {
                    out.push(f.path());
                }
            }
            out.sort();
            out
        };
        let mut kept_used = 0;
        for step in 0..400 {
            let all = notes(&root);
            let pick = |i: u64| all.get(i as usize % all.len().max(1)).cloned();
            let folder = root.join(format!("notes/d{}", next(4)));
            let what = match next(10) {
                0 | 1 => {
                    fs::create_dir_all(&folder).unwrap();
                    fs::write(folder.join(format!("n{}.md", next(20))), "A note.\n").unwrap();
                    "a note written"
                }
                2 => {
                    let Some(f) = pick(next(1000)) else { continue };
                    let mut text = fs::read(&f).unwrap_or_default();
                    text.extend_from_slice(b"More.\n");
                    let _ = fs::write(&f, text);
                    "a note added to"
                }
                3 => {
                    let Some(f) = pick(next(1000)) else { continue };
                    let _ = fs::remove_file(&f);
                    "a note deleted"
                }
                4 => {
                    let Some(f) = pick(next(1000)) else { continue };
                    fs::create_dir_all(&folder).unwrap();
                    let _ = fs::rename(&f, folder.join(format!("m{}.md", next(20))));
                    "a note renamed"
                }
                5 => {
                    let to = root.join(format!("notes/d{}", next(4)));
                    if to.exists() {
                        let _ = fs::remove_dir_all(&to);
                    }
                    let _ = fs::rename(&folder, &to);
                    "a folder renamed over another"
                }
                6 => {
                    let ignore = root.join("notes/.gitignore");
                    if ignore.exists() {
                        fs::remove_file(&ignore).unwrap();
                    } else {
                        fs::write(&ignore, format!("d{}/\n", next(4))).unwrap();
                    }
                    "the ignore file changed"
                }
                7 => {
                    let Some(f) = pick(next(1000)) else { continue };
                    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_600_000_000 + next(1000));
                    let _ = fs::File::options().write(true).open(&f).and_then(|h| h.set_modified(t));
                    "a note's time set"
                }
                8 => {
                    fs::write(root.join("codings/hb.jsonl"), format!("{step}\n")).unwrap();
                    "a ledger written"
                }
                _ => "nothing",
            };
            let kept = root.join(".fieldnotes").join(CACHE);
            let before = fs::metadata(&kept).and_then(|m| m.modified()).ok();
            let asked = project.note_stats().unwrap().fingerprint();
            let walked = project.walk_note_stats().unwrap().fingerprint();
            assert_eq!(asked, walked, "step {step}: {what}");
            if before.is_some() && (what == "nothing" || what == "a ledger written") {
                // Taken as kept: not walked, and so not written again.
                kept_used += 1;
                assert_eq!(fs::metadata(&kept).and_then(|m| m.modified()).ok(), before, "step {step}: {what}");
            }
        }
        assert!(kept_used > 50, "{kept_used}");
    }

    /// Settings that do not parse leave the watcher unable to vouch for anything; once they
    /// parse again, a change that does not matter is again no reason to walk.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_watcher_vouches_again_once_the_settings_parse_again() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        fs::create_dir_all(root.join("notes")).unwrap();
        fs::write(root.join("notes/a.md"), "A note.\n").unwrap();
        let project = watched_project(&root);
        let kept = root.join(".fieldnotes").join(CACHE);
        let written = || fs::metadata(&kept).and_then(|m| m.modified()).unwrap();
        project.note_stats().unwrap();
        fs::write(root.join("fieldnotes.toml"), "name = [\n").unwrap();
        project.note_stats().unwrap();
        fs::write(root.join("fieldnotes.toml"), "name = \"t\"\n").unwrap();
        project.note_stats().unwrap();
        let before = written();
        fs::write(root.join("codings/hb.jsonl"), "{}\n").unwrap();
        assert_eq!(project.note_stats().unwrap().fingerprint(), project.walk_note_stats().unwrap().fingerprint());
        assert_eq!(written(), before, "a ledger line after the settings were mended made the command walk");
    }

    #[test]
    fn only_changes_that_can_change_the_walk_matter() {
        let mut b = globset::GlobSetBuilder::new();
        b.add(globset::Glob::new("notes/**/*.md").unwrap());
        let g = b.build().unwrap();
        assert!(matters("notes/site/a.md", false, &g));
        assert!(matters("notes/site", true, &g));
        assert!(matters("notes/.gitignore", false, &g));
        assert!(matters(".git/info/exclude", false, &g));
        assert!(matters("fieldnotes.toml", false, &g));
        // A ledger's line, an editor's swap file: the notes are as they were.
        assert!(!matters("codings/hb.jsonl", false, &g));
        assert!(!matters("notes/site/.a.md.swp", false, &g));
    }
}
