//! Little-endian binary with length-prefixed strings, the one way the derived files that are not
//! JSON write their fields: the coding states (`coding::state`), the report store's notes and the
//! kept note stats ([`crate::watch`]). [`Out`] writes; [`In`] reads back, and gives `None` where
//! the bytes run short, a string is not UTF-8 or a variable-length number runs past 64 bits.

/// Bytes being written.
#[derive(Debug, Default)]
pub struct Out(pub Vec<u8>);

impl Out {
    /// A byte.
    pub fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    /// Four bytes.
    pub fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    /// Eight bytes.
    pub fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    /// Sixteen bytes.
    pub fn i128(&mut self, v: i128) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }

    /// A string: its length in bytes (u32), then its bytes.
    pub fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.0.extend_from_slice(s.as_bytes());
    }

    /// A number in as few bytes as it needs: seven bits a byte, low bits first, the high bit set
    /// on every byte but the last (LEB128). Offsets and counts, mostly small, take one to three
    /// bytes rather than eight.
    pub fn var(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push((v as u8) | 0x80);
            v >>= 7;
        }
        self.0.push(v as u8);
    }

    /// A string: its length in bytes ([`Out::var`]), then its bytes.
    pub fn vstr(&mut self, s: &str) {
        self.var(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }

    /// An optional string: a flag byte (0 or 1), then the string if there is one.
    pub fn opt(&mut self, s: Option<&str>) {
        match s {
            Some(s) => {
                self.u8(1);
                self.str(s);
            }
            None => self.u8(0),
        }
    }
}

/// Bytes being read from the front: the field methods read what [`Out`]'s wrote.
#[derive(Clone, Copy, Debug)]
pub struct In<'a>(pub &'a [u8]);

impl<'a> In<'a> {
    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }

    /// A byte.
    pub fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    /// Four bytes.
    pub fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    /// Eight bytes.
    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }

    /// Sixteen bytes.
    pub fn i128(&mut self) -> Option<i128> {
        Some(i128::from_le_bytes(self.take(16)?.try_into().ok()?))
    }

    /// A string, borrowed from the bytes.
    pub fn str(&mut self) -> Option<&'a str> {
        let n = self.u32()? as usize;
        std::str::from_utf8(self.take(n)?).ok()
    }

    /// A number written by [`Out::var`].
    pub fn var(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = self.u8()?;
            let bits = u64::from(b & 0x7f);
            // The tenth byte holds the top bit alone.
            if shift == 63 && bits > 1 {
                return None;
            }
            v |= bits << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }

    /// A string written by [`Out::vstr`], borrowed from the bytes.
    pub fn vstr(&mut self) -> Option<&'a str> {
        let n = usize::try_from(self.var()?).ok()?;
        std::str::from_utf8(self.take(n)?).ok()
    }

    /// A string, owned.
    pub fn string(&mut self) -> Option<String> {
        self.str().map(str::to_string)
    }

    /// An optional string, borrowed.
    pub fn opt_str(&mut self) -> Option<Option<&'a str>> {
        match self.u8()? {
            0 => Some(None),
            1 => Some(Some(self.str()?)),
            _ => None,
        }
    }

    /// An optional string, owned.
    pub fn opt(&mut self) -> Option<Option<String>> {
        Some(self.opt_str()?.map(str::to_string))
    }

    /// Whether every byte has been read.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_out_writes_in_reads_back_and_short_or_bad_bytes_are_refused() {
        let mut out = Out::default();
        out.u8(7);
        out.u32(70_000);
        out.u64(u64::MAX - 1);
        out.i128(-2);
        out.str("Glasgow é");
        out.opt(Some("memo"));
        out.opt(None);
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            out.var(v);
        }
        out.vstr("Inverness ü");
        let mut r = In(&out.0);
        assert_eq!(r.u8(), Some(7));
        assert_eq!(r.u32(), Some(70_000));
        assert_eq!(r.u64(), Some(u64::MAX - 1));
        assert_eq!(r.i128(), Some(-2));
        assert_eq!(r.str(), Some("Glasgow é"));
        assert_eq!(r.opt(), Some(Some("memo".to_string())));
        assert_eq!(r.opt_str(), Some(None));
        for v in [0, 1, 127, 128, 300, u64::from(u32::MAX), u64::MAX] {
            assert_eq!(r.var(), Some(v));
        }
        assert_eq!(r.vstr(), Some("Inverness ü"));
        assert!(r.is_empty());
        // A number cut short, one past 64 bits, a string longer than the bytes left.
        assert_eq!(In(&[0x80]).var(), None);
        assert_eq!(In(&[0xff; 10]).var(), None);
        assert_eq!(In(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]).var(), None);
        assert_eq!(In(&[3, b'a']).vstr(), None);
        assert_eq!(In(&out.0[..3]).u32(), None);
        assert_eq!(In(&[2, 0, 0, 0, 0xff, 0xfe]).str(), None);
        assert_eq!(In(&[2]).opt(), None);
    }
}
