//! The report store's columns: vectors of its own when the store is built or changed, or read in
//! place from the store's file, mapped into memory ([`fieldnotes_corpus::mapped`]).

use std::ops::Deref;
use std::sync::Arc;

use fieldnotes_corpus::mapped::Mapped;

/// A column of little-endian numbers.
#[derive(Clone, Debug)]
pub(crate) enum Column<T> {
    /// Values of its own.
    Owned(Vec<T>),
    /// `len` values at byte `at` of a store's file.
    Shared { bytes: Arc<Mapped>, at: usize, len: usize },
}

impl<T> Default for Column<T> {
    fn default() -> Self {
        Column::Owned(Vec::new())
    }
}

impl<T: bytemuck::Pod + FromLe> Column<T> {
    /// The `len` values at byte `at` of `bytes`, read in place where they are aligned and the
    /// machine is little-endian, else copied; `None` if `bytes` end first.
    pub(crate) fn at(bytes: &Arc<Mapped>, at: usize, len: usize) -> Option<Column<T>> {
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
