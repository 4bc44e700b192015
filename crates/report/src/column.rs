//! The report store's columns: vectors of its own when the store is built or changed, or read in
//! place from the store's file, mapped into memory.
//!
//! Read into vectors, the columns of a 2 GB study (150 MB) cost a command more than anything else
//! it did after a coding: every page of the vectors is new to the process, so the system zeroed
//! it, then copied the file's bytes over it (two thirds of `report themes`' 0.33 s on the
//! benchmark machine). Mapped, the pages are the file's own, already in memory: nothing is zeroed
//! or copied.

use std::fs::File;
use std::ops::Deref;
use std::sync::Arc;

/// The bytes of a store's file: mapped, or read (where mapping is not available).
#[derive(Debug)]
pub(crate) enum Bytes {
    #[cfg(unix)]
    Mapped(memmap2::Mmap),
    Read(Vec<u8>),
}

impl Bytes {
    /// The bytes of `file`, mapped into memory on Unix (read on other systems, where a mapped
    /// file cannot be replaced: the store is saved over the file it was read from).
    pub(crate) fn of(mut file: File) -> std::io::Result<Bytes> {
        #[cfg(unix)]
        if let Ok(map) = map(&file) {
            return Ok(Bytes::Mapped(map));
        }
        let mut v = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut v)?;
        Ok(Bytes::Read(v))
    }
}

/// `file` mapped into memory, its pages loaded at once (one call instead of a fault per page).
///
/// Mapping a file is `unsafe` because its bytes may change under the map if another program
/// writes to the file meanwhile. No part of fieldnotes writes the store in place: it is written to
/// a new file that is renamed over the old one ([`fieldnotes_corpus::atomic`]), so a map keeps the
/// bytes it was made with, and its checksum has been checked. Only a store cut short or written
/// over by another program while a command reads it could stop that command (the index's files,
/// which tantivy maps, carry the same risk).
#[cfg(unix)]
#[allow(unsafe_code)]
fn map(file: &File) -> std::io::Result<memmap2::Mmap> {
    // SAFETY: see above; the store's file is only ever replaced whole, never written in place.
    unsafe { memmap2::MmapOptions::new().populate().map(file) }
}

impl Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            #[cfg(unix)]
            Bytes::Mapped(m) => m,
            Bytes::Read(v) => v,
        }
    }
}

/// A column of little-endian numbers.
#[derive(Clone, Debug)]
pub(crate) enum Column<T> {
    /// Values of its own.
    Owned(Vec<T>),
    /// `len` values at byte `at` of a store's file.
    Shared { bytes: Arc<Bytes>, at: usize, len: usize },
}

impl<T> Default for Column<T> {
    fn default() -> Self {
        Column::Owned(Vec::new())
    }
}

impl<T: bytemuck::Pod + FromLe> Column<T> {
    /// The `len` values at byte `at` of `bytes`, read in place where they are aligned and the
    /// machine is little-endian, else copied; `None` if `bytes` end first.
    pub(crate) fn at(bytes: &Arc<Bytes>, at: usize, len: usize) -> Option<Column<T>> {
        let raw = bytes.get(at..at.checked_add(len.checked_mul(size_of::<T>())?)?)?;
        if cfg!(target_endian = "little") && bytemuck::try_cast_slice::<u8, T>(raw).is_ok() {
            return Some(Column::Shared { bytes: Arc::clone(bytes), at, len });
        }
        Some(Column::Owned(raw.chunks_exact(size_of::<T>()).map(T::from_le).collect()))
    }
}

impl<T: bytemuck::Pod> Deref for Column<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match self {
            Column::Owned(v) => v,
            // Checked to fit and be aligned when made (`Column::at`).
            Column::Shared { bytes, at, len } => bytemuck::cast_slice(&bytes[*at..*at + *len * size_of::<T>()]),
        }
    }
}

/// A number read from its little-endian bytes.
pub(crate) trait FromLe {
    /// From exactly `size_of::<Self>()` bytes.
    fn from_le(b: &[u8]) -> Self;
}

impl FromLe for u32 {
    fn from_le(b: &[u8]) -> u32 {
        u32::from_le_bytes([b[0], b[1], b[2], b[3]])
    }
}

impl FromLe for u8 {
    fn from_le(b: &[u8]) -> u8 {
        b[0]
    }
}
