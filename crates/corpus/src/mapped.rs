//! Derived files read in place: mapped into memory where the system allows, read otherwise.
//!
//! Read into a buffer, a file's bytes land on pages new to the process, which the system zeroes
//! and then copies the file over: for the report store of a 2 GB study (150 MB) that was two
//! thirds of a `report themes` after a coding. Mapped, the pages are those the system already
//! holds the file in: nothing is zeroed or copied.
//!
//! Its readers: the report store, the coding states' tables of notes, and the kept note stats
//! (`notes.stats`). Only for fieldnotes' own derived files, which are never written in place: each is written to a
//! new file renamed over the old one ([`crate::atomic`]), so a map keeps the bytes it was made
//! with. Mapping is `unsafe` because a file written in place by another program while it is
//! mapped changes under the map; cut short meanwhile, it stops the command that reads it (the
//! index's files, which tantivy maps, carry the same risk). Their readers check what they read
//! (a checksum, or each field as it is read) as they would a buffer.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Deref;

/// Bytes of a file, mapped or read.
#[derive(Debug)]
pub struct Mapped(Inner);

#[derive(Debug)]
enum Inner {
    #[cfg(unix)]
    Map(memmap2::Mmap),
    Read(Vec<u8>),
}

impl Mapped {
    /// The whole of `file`.
    pub fn whole(file: &File) -> std::io::Result<Mapped> {
        let len = usize::try_from(file.metadata()?.len()).map_err(std::io::Error::other)?;
        Mapped::within(file, 0, len)
    }

    /// `len` bytes of `file` from byte `offset`; an error if the file ends first.
    pub fn range(file: &File, offset: u64, len: usize) -> std::io::Result<Mapped> {
        let end = offset.checked_add(len as u64).ok_or_else(|| std::io::Error::other("range past any file"))?;
        if end > file.metadata()?.len() {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "the file ends first"));
        }
        Mapped::within(file, offset, len)
    }

    /// [`Mapped::range`] of a range known to be within the file.
    fn within(file: &File, offset: u64, len: usize) -> std::io::Result<Mapped> {
        #[cfg(unix)]
        if len > 0
            && let Ok(m) = map(file, offset, len)
        {
            return Ok(Mapped(Inner::Map(m)));
        }
        let mut buf = vec![0; len];
        let mut f = file;
        f.seek(SeekFrom::Start(offset))?;
        f.read_exact(&mut buf)?;
        Ok(Mapped(Inner::Read(buf)))
    }
}

/// `len` bytes of `file` from `offset` mapped into memory, their pages loaded at once (one call
/// instead of a fault per page). On other systems than Unix a mapped file cannot be renamed
/// over, which is how these files are saved: they are read there.
#[cfg(unix)]
#[allow(unsafe_code)]
fn map(file: &File, offset: u64, len: usize) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: only fieldnotes' derived files are mapped, and fieldnotes never writes one in place
    // (see the module's documentation).
    unsafe { memmap2::MmapOptions::new().offset(offset).len(len).populate().map(file) }
}

impl Deref for Mapped {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match &self.0 {
            #[cfg(unix)]
            Inner::Map(m) => m,
            Inner::Read(v) => v,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_range_or_the_whole_file_reads_its_bytes_and_a_range_past_the_end_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let bytes: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let f = File::open(&path).unwrap();
        assert_eq!(*Mapped::whole(&f).unwrap(), bytes[..]);
        // Offsets within a page and across one.
        for (at, len) in [(0, 10), (5, 100), (4095, 2), (4096, 5000), (9_990, 10), (10_000, 0)] {
            assert_eq!(*Mapped::range(&f, at as u64, len).unwrap(), bytes[at..at + len]);
        }
        assert!(Mapped::range(&f, 9_995, 10).is_err());
        assert!(Mapped::range(&f, u64::MAX, 2).is_err());
        std::fs::write(&path, b"").unwrap();
        assert!(Mapped::whole(&File::open(&path).unwrap()).unwrap().is_empty());
    }
}
