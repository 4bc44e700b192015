//! Character positions as other programs count them, mapped onto our LF text in code points.

/// How a program counts positions in a text file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Scheme {
    /// Positions count UTF-16 code units (NVivo, .NET and Cocoa programs), not code points.
    pub utf16: bool,
    /// A CRLF pair counts as one character (ATLAS.ti, MAXQDA), not two.
    pub crlf_one: bool,
}

impl Scheme {
    /// Code points with CRLF counted as two: the standard's reading of a file as stored.
    pub const STANDARD: Scheme = Scheme { utf16: false, crlf_one: false };

    /// Every scheme, for detection.
    pub const ALL: [Scheme; 4] = [
        Scheme::STANDARD,
        Scheme { utf16: false, crlf_one: true },
        Scheme { utf16: true, crlf_one: false },
        Scheme { utf16: true, crlf_one: true },
    ];

    /// The scheme a program of this `origin` is known to use.
    pub fn for_origin(origin: &str) -> Scheme {
        let o = origin.to_ascii_lowercase();
        if o.contains("nvivo") {
            Scheme { utf16: true, crlf_one: false }
        } else if o.contains("atlas.ti") || o.contains("atlasti") || o.contains("maxqda") {
            Scheme { utf16: false, crlf_one: true }
        } else {
            Scheme::STANDARD
        }
    }

    /// In words, for warnings.
    pub fn describe(self) -> &'static str {
        match (self.utf16, self.crlf_one) {
            (false, false) => "code points",
            (false, true) => "code points with CRLF as one",
            (true, false) => "UTF-16 units",
            (true, true) => "UTF-16 units with CRLF as one",
        }
    }
}

/// Where a position lands in the LF text: code-point and byte offsets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Spot {
    pub cp: usize,
    pub byte: usize,
}

/// The text with every CRLF turned into LF (lone CRs are kept).
pub(crate) fn to_lf(text: &str) -> String {
    if text.contains("\r\n") { text.replace("\r\n", "\n") } else { text.to_string() }
}

/// The length of `text` in the scheme's units.
pub(crate) fn length(text: &str, scheme: Scheme) -> i64 {
    let mut n = 0i64;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        n += weight(c, chars.peek(), scheme).0;
    }
    n
}

/// (units in the scheme, whether the character stays in the LF text).
fn weight(c: char, next: Option<&char>, scheme: Scheme) -> (i64, bool) {
    if c == '\r' && next == Some(&'\n') {
        (if scheme.crlf_one { 0 } else { 1 }, false)
    } else if scheme.utf16 {
        (c.len_utf16() as i64, true)
    } else {
        (1, true)
    }
}

/// Maps positions counted in `scheme` over `text` (as stored: BOM removed, CRLF kept) onto
/// [`to_lf`]`(text)`. Each query is (position, round up): a position inside a character (half
/// of a surrogate pair, between CR and LF) goes to that character's start, or past it when
/// rounding up. Positions before 0 or past the end give `None`. One pass over the text.
pub(crate) fn map(text: &str, scheme: Scheme, queries: &[(i64, bool)]) -> Vec<Option<Spot>> {
    let mut order: Vec<usize> = (0..queries.len()).collect();
    order.sort_by_key(|&i| queries[i].0);
    let mut out = vec![None; queries.len()];
    let mut qi = order.iter().take_while(|&&i| queries[i].0 < 0).count();
    let (mut u, mut cp, mut byte) = (0i64, 0usize, 0usize);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if qi >= order.len() {
            break;
        }
        let (w, keep) = weight(c, chars.peek(), scheme);
        let (next_cp, next_byte) = if keep { (cp + 1, byte + c.len_utf8()) } else { (cp, byte) };
        while let Some(&i) = order.get(qi) {
            let (p, up) = queries[i];
            if p == u {
                out[i] = Some(Spot { cp, byte });
            } else if p < u + w {
                out[i] = Some(if up { Spot { cp: next_cp, byte: next_byte } } else { Spot { cp, byte } });
            } else {
                break;
            }
            qi += 1;
        }
        u += w;
        cp = next_cp;
        byte = next_byte;
    }
    // Whatever is left is at or past the end (the loop above ran to the end of the text).
    for &i in &order[qi..] {
        if queries[i].0 == u {
            out[i] = Some(Spot { cp, byte });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cps(text: &str, scheme: Scheme, qs: &[i64]) -> Vec<Option<usize>> {
        let q: Vec<(i64, bool)> = qs.iter().map(|&p| (p, false)).collect();
        map(text, scheme, &q).into_iter().map(|s| s.map(|s| s.cp)).collect()
    }

    #[test]
    fn code_points_and_crlf() {
        let t = "a😀\r\nb";
        // As stored: a, 😀, \r, \n, b: the LF text is a, 😀, \n, b.
        assert_eq!(
            cps(t, Scheme::STANDARD, &[0, 1, 2, 3, 4, 5, 6, -1]),
            [Some(0), Some(1), Some(2), Some(2), Some(3), Some(4), None, None]
        );
        let one = Scheme { utf16: false, crlf_one: true };
        assert_eq!(cps(t, one, &[0, 1, 2, 3, 4, 5]), [Some(0), Some(1), Some(2), Some(3), Some(4), None]);
        let u16 = Scheme { utf16: true, crlf_one: false };
        assert_eq!(cps(t, u16, &[0, 1, 3, 5, 6, 7]), [Some(0), Some(1), Some(2), Some(3), Some(4), None]);
        // Half a surrogate pair: start rounds down, end rounds up.
        let m = map(t, u16, &[(2, false), (2, true)]);
        assert_eq!((m[0].unwrap().cp, m[1].unwrap().cp), (1, 2));
        assert_eq!(m[1].unwrap().byte, 5);
        assert_eq!(length(t, u16), 6);
        assert_eq!(length(t, one), 4);
        assert_eq!(to_lf(t), "a😀\nb");
    }

    #[test]
    fn byte_offsets_slice_the_lf_text() {
        let t = "é\r\n👩🏽‍💼 x\r\ny";
        let lf = to_lf(t);
        let n = length(t, Scheme::STANDARD);
        let q: Vec<(i64, bool)> = (0..=n).map(|p| (p, false)).collect();
        for s in map(t, Scheme::STANDARD, &q).into_iter().flatten() {
            assert!(lf.is_char_boundary(s.byte));
            assert_eq!(lf[..s.byte].chars().count(), s.cp);
        }
    }

    #[test]
    fn origins() {
        assert!(Scheme::for_origin("NVivo for Mac 15.0.0").utf16);
        assert!(Scheme::for_origin("ATLAS.ti for Windows 23.2.3.27778").crlf_one);
        assert!(Scheme::for_origin("MAXQDA 2022").crlf_one);
        assert_eq!(Scheme::for_origin("qc 1.3.2"), Scheme::STANDARD);
    }
}
