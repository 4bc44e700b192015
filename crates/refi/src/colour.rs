//! Code colours: `#RRGGBB` as the schema wants, from the forms exporters actually write.

/// A colour as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Colour {
    /// A schema-valid `#RRGGBB` or `#RGB`, given as lower-case `#rrggbb`.
    Valid(String),
    /// Another form that could be read (`rgb(...)`, `#RRGGBBAA`, a name, hex without `#`),
    /// given as `#rrggbb`.
    Converted(String),
    /// Not a colour.
    Invalid,
}

const NAMED: &[(&str, (u8, u8, u8))] = &[
    ("black", (0, 0, 0)),
    ("silver", (192, 192, 192)),
    ("gray", (128, 128, 128)),
    ("grey", (128, 128, 128)),
    ("white", (255, 255, 255)),
    ("maroon", (128, 0, 0)),
    ("red", (255, 0, 0)),
    ("purple", (128, 0, 128)),
    ("fuchsia", (255, 0, 255)),
    ("magenta", (255, 0, 255)),
    ("green", (0, 128, 0)),
    ("lime", (0, 255, 0)),
    ("olive", (128, 128, 0)),
    ("yellow", (255, 255, 0)),
    ("navy", (0, 0, 128)),
    ("blue", (0, 0, 255)),
    ("teal", (0, 128, 128)),
    ("aqua", (0, 255, 255)),
    ("cyan", (0, 255, 255)),
    ("orange", (255, 165, 0)),
    ("pink", (255, 192, 203)),
    ("brown", (165, 42, 42)),
    ("gold", (255, 215, 0)),
    ("violet", (238, 130, 238)),
    ("indigo", (75, 0, 130)),
    ("turquoise", (64, 224, 208)),
    ("coral", (255, 127, 80)),
    ("salmon", (250, 128, 114)),
    ("khaki", (240, 230, 140)),
    ("beige", (245, 245, 220)),
    ("lavender", (230, 230, 250)),
    ("darkgreen", (0, 100, 0)),
    ("darkblue", (0, 0, 139)),
    ("darkred", (139, 0, 0)),
    ("lightblue", (173, 216, 230)),
    ("lightgreen", (144, 238, 144)),
    ("lightgray", (211, 211, 211)),
    ("lightgrey", (211, 211, 211)),
    ("darkgray", (169, 169, 169)),
    ("darkgrey", (169, 169, 169)),
];

fn hex((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

fn hex_digits(s: &str) -> Option<Vec<u8>> {
    s.chars().map(|c| c.to_digit(16).and_then(|d| u8::try_from(d).ok())).collect()
}

/// Reads a colour in any of the forms seen in exports.
pub(crate) fn read(raw: &str) -> Colour {
    let s = raw.trim();
    if let Some(h) = s.strip_prefix('#') {
        let Some(d) = hex_digits(h) else { return Colour::Invalid };
        return match d.len() {
            3 => Colour::Valid(hex((d[0] * 17, d[1] * 17, d[2] * 17))),
            6 => Colour::Valid(hex((d[0] * 16 + d[1], d[2] * 16 + d[3], d[4] * 16 + d[5]))),
            8 => Colour::Converted(hex((d[0] * 16 + d[1], d[2] * 16 + d[3], d[4] * 16 + d[5]))),
            _ => Colour::Invalid,
        };
    }
    if s.len() == 6
        && let Some(d) = hex_digits(s)
    {
        return Colour::Converted(hex((d[0] * 16 + d[1], d[2] * 16 + d[3], d[4] * 16 + d[5])));
    }
    let lower = s.to_ascii_lowercase();
    if let Some(args) =
        lower.strip_prefix("rgba(").or_else(|| lower.strip_prefix("rgb(")).and_then(|r| r.strip_suffix(')'))
    {
        let parts: Vec<&str> = args.split([',', ' ', '/']).map(str::trim).filter(|p| !p.is_empty()).collect();
        if parts.len() == 3 || parts.len() == 4 {
            let channel = |p: &str| -> Option<u8> {
                if let Some(pc) = p.strip_suffix('%') {
                    let v: f64 = pc.parse().ok()?;
                    (0.0..=100.0).contains(&v).then(|| (v * 255.0 / 100.0).round() as u8)
                } else {
                    let v: f64 = p.parse().ok()?;
                    (0.0..=255.0).contains(&v).then(|| v.round() as u8)
                }
            };
            if let (Some(r), Some(g), Some(b)) = (channel(parts[0]), channel(parts[1]), channel(parts[2])) {
                return Colour::Converted(hex((r, g, b)));
            }
        }
        return Colour::Invalid;
    }
    let name: String = lower.chars().filter(|c| !c.is_whitespace()).collect();
    match NAMED.iter().find(|(n, _)| *n == name) {
        Some((_, rgb)) => Colour::Converted(hex(*rgb)),
        None => Colour::Invalid,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(read("#E57373"), Colour::Valid("#e57373".into()));
        assert_eq!(read("#abc"), Colour::Valid("#aabbcc".into()));
        assert_eq!(read("#11223344"), Colour::Converted("#112233".into()));
        assert_eq!(read("112233"), Colour::Converted("#112233".into()));
        assert_eq!(read("rgb(255, 0, 10)"), Colour::Converted("#ff000a".into()));
        assert_eq!(read("rgba(0,128,255,0.5)"), Colour::Converted("#0080ff".into()));
        assert_eq!(read("rgb(100%, 0%, 50%)"), Colour::Converted("#ff0080".into()));
        assert_eq!(read("Red"), Colour::Converted("#ff0000".into()));
        assert_eq!(read("light blue"), Colour::Converted("#add8e6".into()));
        assert_eq!(read("rgb(300,0,0)"), Colour::Invalid);
        assert_eq!(read("#12345"), Colour::Invalid);
        assert_eq!(read("blurple"), Colour::Invalid);
        assert_eq!(read(""), Colour::Invalid);
    }
}
