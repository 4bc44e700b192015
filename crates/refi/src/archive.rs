//! Reading a `.qdpx` zip safely: every entry is checked before anything is read.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use zip::ZipArchive;

use crate::{Error, MAX_COMPRESSION_RATIO, MAX_ENTRY_BYTES, MAX_TOTAL_BYTES, RATIO_CHECKED_ABOVE, Result};

/// An opened archive whose entries have all passed the checks.
pub(crate) struct Archive<'a> {
    zip: ZipArchive<Cursor<&'a [u8]>>,
    /// Lower-cased entry name (with `/` separators) to (index, name as stored).
    by_lower: HashMap<String, (usize, String)>,
}

/// Why an entry name is unsafe, if it is.
fn unsafe_name(name: &str) -> Option<&'static str> {
    let n = name.replace('\\', "/");
    if n.starts_with('/') {
        return Some("has an absolute path");
    }
    let b = n.as_bytes();
    if b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic() {
        return Some("has an absolute path (a drive letter)");
    }
    if n.split('/').any(|p| p == "..") {
        return Some("climbs out of the archive with `..`");
    }
    if n.contains('\0') {
        return Some("holds a NUL character");
    }
    None
}

impl<'a> Archive<'a> {
    /// Opens the archive and checks every entry: names that escape (`../`, absolute paths),
    /// entries over [`MAX_ENTRY_BYTES`], a total over [`MAX_TOTAL_BYTES`], and entries over
    /// [`RATIO_CHECKED_ABOVE`] compressed more than [`MAX_COMPRESSION_RATIO`]:1.
    pub fn open(bytes: &'a [u8]) -> Result<Archive<'a>> {
        let mut zip = ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
            // A bare project file (`project.qde`) is XML: say how to make it a `.qdpx`.
            let xml = bytes.iter().find(|b| !(b.is_ascii_whitespace() || [0xef, 0xbb, 0xbf].contains(*b))) == Some(&b'<');
            let hint = if xml {
                "; this looks like a bare project file (`project.qde`, XML): a .qdpx is a zip archive of it with its `sources/` folder (`zip -r project.qdpx project.qde sources`)"
            } else {
                ""
            };
            Error::Archive { message: format!("{e}{hint}") }
        })?;
        let mut by_lower = HashMap::new();
        let mut total: u64 = 0;
        for i in 0..zip.len() {
            let f = zip.by_index_raw(i).map_err(|e| Error::Archive { message: format!("entry #{}: {e}", i + 1) })?;
            let name = match f.name() {
                Ok(n) => n.to_string(),
                Err(_) => String::from_utf8_lossy(f.name_raw()).to_string(),
            };
            if let Some(reason) = unsafe_name(&name) {
                return Err(Error::UnsafeEntry { name, reason });
            }
            let (size, compressed) = (f.size(), f.compressed_size());
            if size > MAX_ENTRY_BYTES {
                return Err(Error::EntryTooLarge { name, size, limit: MAX_ENTRY_BYTES });
            }
            total = total.saturating_add(size);
            if total > MAX_TOTAL_BYTES {
                return Err(Error::ArchiveTooLarge { total, limit: MAX_TOTAL_BYTES });
            }
            if size > RATIO_CHECKED_ABOVE && size > compressed.saturating_mul(MAX_COMPRESSION_RATIO) {
                return Err(Error::CompressionRatio { name, compressed, size, limit: MAX_COMPRESSION_RATIO });
            }
            if !f.is_dir() {
                by_lower.insert(name.replace('\\', "/").to_lowercase(), (i, name));
            }
        }
        Ok(Archive { zip, by_lower })
    }

    /// Entry names (as stored), sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut v: Vec<&str> = self.by_lower.values().map(|(_, n)| n.as_str()).collect();
        v.sort_unstable();
        v
    }

    /// The stored name of the entry at this path, matched case-insensitively.
    pub fn find(&self, path: &str) -> Option<&str> {
        self.by_lower.get(&path.replace('\\', "/").to_lowercase()).map(|(_, n)| n.as_str())
    }

    /// Reads an entry (by stored name) in full, refusing more than `limit` bytes or more than
    /// its header declared.
    pub fn read(&mut self, name: &str, limit: u64) -> Result<Vec<u8>> {
        let Some(&(index, _)) = self.by_lower.get(&name.replace('\\', "/").to_lowercase()) else {
            return Err(Error::Archive { message: format!("no entry `{name}`") });
        };
        let f = self
            .zip
            .by_index(index)
            .map_err(|e| Error::Archive { message: format!("cannot read entry `{name}`: {e}") })?;
        let declared = f.size();
        let cap = declared.min(limit);
        let mut buf = Vec::with_capacity(usize::try_from(cap).unwrap_or(0));
        f.take(cap + 1)
            .read_to_end(&mut buf)
            .map_err(|e| Error::Archive { message: format!("entry `{name}` is damaged: {e}") })?;
        let got = buf.len() as u64;
        if got > limit {
            return Err(Error::EntryTooLarge { name: name.to_string(), size: got, limit });
        }
        if got > declared {
            return Err(Error::Archive {
                message: format!("entry `{name}` holds more data than its header declares ({declared} bytes); refused"),
            });
        }
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(unsafe_name("../evil.txt").is_some());
        assert!(unsafe_name("sources/../../evil.txt").is_some());
        assert!(unsafe_name("/etc/passwd").is_some());
        assert!(unsafe_name("\\evil").is_some());
        assert!(unsafe_name("C:/evil").is_some());
        assert!(unsafe_name("..\\evil").is_some());
        assert!(unsafe_name("sources/a..b.txt").is_none());
        assert!(unsafe_name("project.qde").is_none());
    }
}
