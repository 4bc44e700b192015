//! Replacing a file whole, the one way every crate of the workspace does it: the new content goes
//! to a temporary file beside the old one and is renamed over it, so a reader sees the old file
//! or the new one, never half of either. A file made new is readable by its owner only (notes,
//! codings, versions, stores and exports hold what participants said); a file replaced keeps its
//! permissions. The temporary file is removed when anything fails or the writer is dropped
//! unfinished.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// Temporary files made by this process so far: with the process id, a name no other writer
/// of the same file uses, from another thread or another process.
static MADE: AtomicU64 = AtomicU64::new(0);

/// A file being written to replace `path` whole ([`AtomicFile::commit`]).
#[derive(Debug)]
pub struct AtomicFile {
    path: PathBuf,
    tmp: PathBuf,
    file: Option<File>,
}

/// Options that make a new file readable by its owner only (on Unix): notes, codings, versions,
/// stores and exports hold what participants said. A file already there keeps its permissions.
pub fn owner_only(opts: &mut fs::OpenOptions) -> &mut fs::OpenOptions {
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts
}

/// Removes the temporary files of `path` that processes no longer running left (killed while
/// writing it): `.<name>.<pid>.<n>.tmp` beside it, whose process is gone. Only where the system
/// says which processes run (Linux); a temporary file of a running process is its own.
fn remove_leftovers(path: &Path) {
    if !cfg!(target_os = "linux") {
        return;
    }
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else { return };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let file = e.file_name();
        let file = file.to_string_lossy();
        let Some(rest) = file.strip_prefix(&prefix).and_then(|r| r.strip_suffix(".tmp")) else { continue };
        let Some(pid) = rest.split('.').next().and_then(|p| p.parse::<u32>().ok()) else { continue };
        if pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = fs::remove_file(e.path());
        }
    }
}

impl AtomicFile {
    /// Starts the new content of `path`: a hidden temporary file in its folder (made if
    /// missing), owner-only unless `path` exists, whose permissions it then takes.
    pub fn create(path: &Path) -> io::Result<AtomicFile> {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        fs::create_dir_all(dir)?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let n = MADE.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        let file = owner_only(fs::OpenOptions::new().write(true).create(true).truncate(true)).open(&tmp)?;
        let mut made = AtomicFile { path: path.to_path_buf(), tmp, file: Some(file) };
        if let Ok(meta) = fs::metadata(path) {
            made.file().set_permissions(meta.permissions())?;
        }
        Ok(made)
    }

    /// The temporary file, to write (buffer writes of many small parts) or seek in.
    pub fn file(&mut self) -> &mut File {
        self.file.as_mut().expect("an atomic file is open until committed")
    }

    /// The temporary file's path, for messages.
    pub fn tmp_path(&self) -> &Path {
        &self.tmp
    }

    /// Puts the new content in place: on disk first (fsync), then renamed over the file, so that
    /// a crash leaves the old content or the new. For what a person keeps: notes, ledgers'
    /// rewrites, the codebook, exports, the index's manifest.
    pub fn commit(mut self) -> io::Result<()> {
        self.file().sync_all()?;
        self.rename()
    }

    /// Renamed over the file without waiting for the disk: for derived files that carry a
    /// checksum of their own (a store or state cut short by a crash fails it and is made again),
    /// where an fsync of each would cost more than making it again.
    pub fn commit_unsynced(mut self) -> io::Result<()> {
        self.rename()
    }

    fn rename(&mut self) -> io::Result<()> {
        drop(self.file.take());
        let renamed = fs::rename(&self.tmp, &self.path);
        if renamed.is_err() {
            let _ = fs::remove_file(&self.tmp);
        } else {
            remove_leftovers(&self.path);
        }
        renamed
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file().write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file().flush()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if self.file.take().is_some() {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// Replaces `path` with what `write` writes (buffered), fsynced ([`AtomicFile::commit`]).
pub fn write_with(path: &Path, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let mut f = AtomicFile::create(path)?;
    let mut w = io::BufWriter::with_capacity(1 << 20, f.file());
    write(&mut w)?;
    w.flush()?;
    drop(w);
    f.commit()
}

/// Replaces `path` with `bytes`, fsynced ([`AtomicFile::commit`]).
pub fn write(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes)?;
    f.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".tmp"))
            .collect()
    }

    #[test]
    fn a_file_is_replaced_whole_and_no_temporary_file_stays() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/out.txt");
        write(&path, b"first").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"first");
        write_with(&path, |w| w.write_all(b"second")).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second");
        assert!(leftovers(path.parent().unwrap()).is_empty());
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn a_killed_writers_temporary_file_goes_at_the_next_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        // A process that ran and is gone, one that runs (this one's parent's), and another file's.
        let gone = std::process::Command::new("true").spawn().unwrap();
        let gone_pid = gone.id();
        let mut gone = gone;
        gone.wait().unwrap();
        let parent = std::os::unix::process::parent_id();
        for name in [
            format!(".out.txt.{gone_pid}.0.tmp"),
            format!(".out.txt.{parent}.3.tmp"),
            format!(".other.txt.{gone_pid}.0.tmp"),
        ] {
            fs::write(dir.path().join(name), b"half").unwrap();
        }
        write(&path, b"new").unwrap();
        let mut left = leftovers(dir.path());
        left.sort();
        assert_eq!(left, [format!(".other.txt.{gone_pid}.0.tmp"), format!(".out.txt.{parent}.3.tmp")]);
    }

    #[test]
    fn a_failed_or_abandoned_write_leaves_the_old_file_and_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        write(&path, b"old").unwrap();
        let failed = write_with(&path, |w| {
            w.write_all(b"half")?;
            Err(io::Error::other("disk full"))
        });
        assert!(failed.is_err());
        let mut abandoned = AtomicFile::create(&path).unwrap();
        abandoned.write_all(b"never").unwrap();
        assert!(abandoned.tmp_path().exists());
        drop(abandoned);
        assert_eq!(fs::read(&path).unwrap(), b"old");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_new_file_is_the_owners_only_and_a_replaced_one_keeps_its_permissions() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join("new.txt");
        write(&new, b"x").unwrap();
        assert_eq!(fs::metadata(&new).unwrap().permissions().mode() & 0o777, 0o600);
        let shared = dir.path().join("shared.txt");
        fs::write(&shared, b"x").unwrap();
        fs::set_permissions(&shared, fs::Permissions::from_mode(0o644)).unwrap();
        AtomicFile::create(&shared).unwrap().commit_unsynced().unwrap();
        assert_eq!(fs::metadata(&shared).unwrap().permissions().mode() & 0o777, 0o644);
        assert_eq!(fs::read(&shared).unwrap(), b"");
    }
}
