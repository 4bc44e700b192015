//! A small element tree read with quick-xml (DOCTYPEs refused), and escaping for writing.

use quick_xml::Reader;
use quick_xml::XmlVersion;
use quick_xml::events::{BytesStart, Event};

use crate::{Error, Result};

/// One element: local name (prefix dropped), attributes as written (unescaped), child
/// elements, and its own text (character data directly inside it, entities resolved).
#[derive(Debug, Default)]
pub(crate) struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<Element>,
    pub text: String,
}

impl Element {
    /// The value of an attribute (exact name, e.g. `guid`, `xmlns`).
    pub fn attr(&self, key: &str) -> Option<&str> {
        self.attrs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The first child element with this local name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// The child elements with this local name.
    pub fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The number of elements with this local name at any depth below this one.
    pub fn count(&self, name: &str) -> usize {
        self.children.iter().map(|c| usize::from(c.name == name) + c.count(name)).sum()
    }

    /// The text of a child element, if the child exists.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }
}

/// Decodes an XML file's bytes: UTF-8 (a BOM is dropped) or UTF-16 with a BOM.
pub(crate) fn decode(file: &str, bytes: &[u8]) -> Result<String> {
    let utf16 = |be: bool| -> Result<String> {
        let units: Vec<u16> = bytes[2..]
            .chunks(2)
            .map(|c| {
                if be {
                    u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)])
                } else {
                    u16::from_le_bytes([c[0], *c.get(1).unwrap_or(&0)])
                }
            })
            .collect();
        String::from_utf16(&units).map_err(|_| Error::Encoding { file: file.to_string(), position: 0 })
    };
    if bytes.starts_with(&[0xFF, 0xFE]) {
        return utf16(false);
    }
    if bytes.starts_with(&[0xFE, 0xFF]) {
        return utf16(true);
    }
    let body = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(bytes);
    match std::str::from_utf8(body) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => Err(Error::Encoding {
            file: file.to_string(),
            position: (e.valid_up_to() + bytes.len() - body.len()) as u64,
        }),
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, pos: usize) -> (usize, usize) {
    let mut pos = pos.min(text.len());
    while !text.is_char_boundary(pos) {
        pos -= 1;
    }
    let before = &text[..pos];
    let line = 1 + before.bytes().filter(|&b| b == b'\n').count();
    let col = 1 + before.rsplit('\n').next().map_or(0, |l| l.chars().count());
    (line, col)
}

/// The deepest nesting accepted: REFI-QDA files are shallow, and deeper trees could exhaust
/// the stack of code that walks them.
const MAX_DEPTH: usize = 1000;

fn local(name: &str) -> &str {
    name.rsplit(':').next().unwrap_or(name)
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

/// Parses XML text (a leading BOM is skipped) into its root element. `file` names the file in
/// errors. Refuses a DOCTYPE, undefined entities and anything not well-formed, saying where.
pub(crate) fn parse(file: &str, xml: &str) -> Result<Element> {
    let bom = if xml.starts_with('\u{FEFF}') { 3 } else { 0 };
    let text = &xml[bom..];
    let err = |pos: u64, message: String| {
        let (line, column) = line_col(text, pos as usize);
        Error::Xml { file: file.to_string(), line, column, position: pos + bom as u64, message }
    };
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<(Element, u64)> = Vec::new();
    let mut root: Option<Element> = None;
    let attach = |el: Element, stack: &mut Vec<(Element, u64)>, root: &mut Option<Element>, pos: u64| {
        if let Some((parent, _)) = stack.last_mut() {
            parent.children.push(el);
            Ok(())
        } else if root.is_none() {
            *root = Some(el);
            Ok(())
        } else {
            Err(err(pos, format!("a second root element `{}`", el.name)))
        }
    };
    loop {
        let pos = reader.buffer_position();
        let event = reader.read_event().map_err(|e| err(reader.error_position(), e.to_string()))?;
        match event {
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(err(pos, format!("elements nested deeper than {MAX_DEPTH}")));
                }
                let el = element(&e).map_err(|m| err(pos, m))?;
                stack.push((el, pos));
            }
            Event::Empty(e) => {
                let el = element(&e).map_err(|m| err(pos, m))?;
                attach(el, &mut stack, &mut root, pos)?;
            }
            Event::End(_) => {
                let Some((el, _)) = stack.pop() else {
                    return Err(err(pos, "a closing tag without an opening one".into()));
                };
                attach(el, &mut stack, &mut root, pos)?;
            }
            Event::Text(t) => {
                let content = t.xml10_content();
                push_text(&mut stack, &content).map_err(|m| err(pos, m))?;
            }
            Event::CData(c) => {
                let content = c.xml10_content();
                push_text(&mut stack, &content).map_err(|m| err(pos, m))?;
            }
            Event::GeneralRef(r) => {
                let resolved: String = match r.resolve_char_ref() {
                    Ok(Some(c)) if is_xml_char(c) => c.to_string(),
                    Ok(Some(c)) => {
                        return Err(err(pos, format!("character reference to U+{:04X}, not allowed in XML", c as u32)));
                    }
                    Ok(None) => match quick_xml::escape::resolve_predefined_entity(&r) {
                        Some(s) => s.to_string(),
                        None => return Err(err(pos, format!("undefined entity `&{};`", &*r))),
                    },
                    Err(e) => return Err(err(pos, e.to_string())),
                };
                push_text(&mut stack, &resolved).map_err(|m| err(pos, m))?;
            }
            Event::DocType(_) => {
                let (line, _) = line_col(text, pos as usize);
                return Err(Error::Doctype { file: file.to_string(), line, position: pos + bom as u64 });
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if let Some((el, pos)) = stack.last() {
        let (line, _) = line_col(text, *pos as usize);
        return Err(err(text.len() as u64, format!("element `{}` opened at line {line} is never closed", el.name)));
    }
    root.ok_or_else(|| err(0, "no root element".into()))
}

fn push_text(stack: &mut [(Element, u64)], content: &str) -> std::result::Result<(), String> {
    match stack.last_mut() {
        Some((el, _)) => {
            // Indentation between child elements is not text anyone wants.
            if !(el.text.is_empty() && !el.children.is_empty() && content.trim().is_empty()) {
                el.text.push_str(content);
            }
            Ok(())
        }
        None if content.trim().is_empty() => Ok(()),
        None => Err("text outside the root element".into()),
    }
}

fn element(e: &BytesStart<'_>) -> std::result::Result<Element, String> {
    let name = local(e.name().as_ref()).to_string();
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|x| format!("in element `{name}`: {x}"))?;
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|x| format!("in attribute `{}`: {x}", a.key.as_ref()))?;
        attrs.push((a.key.as_ref().to_string(), value.into_owned()));
    }
    Ok(Element { name, attrs, children: Vec::new(), text: String::new() })
}

/// Replaces characters XML 1.0 cannot carry (most C0 controls, U+FFFE/U+FFFF) with U+FFFD.
pub(crate) fn clean(s: &str) -> String {
    s.chars().map(|c| if is_xml_char(c) { c } else { '\u{FFFD}' }).collect()
}

/// Escapes text content: `&`, `<`, `>`, and `\r` (which readers would turn into `\n`).
pub(crate) fn esc_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#13;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

/// Escapes an attribute value (double-quoted): also `"` and the whitespace characters that
/// attribute normalisation would turn into spaces.
pub(crate) fn esc_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            c if is_xml_char(c) => out.push(c),
            _ => out.push('\u{FFFD}'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_text_entities_and_attributes() {
        let x = "\u{FEFF}<?xml version=\"1.0\"?>\n<r xmlns=\"u\" a=\"x&amp;y&#10;z\"><q:c n='1'>A &lt;b&gt; &#x1F600; <![CDATA[<raw>]]></q:c>\r\n<c n=\"2\"/></r>";
        let r = parse("t", x).unwrap();
        assert_eq!(r.name, "r");
        assert_eq!(r.attr("xmlns"), Some("u"));
        assert_eq!(r.attr("a"), Some("x&y\nz"));
        let cs: Vec<&Element> = r.children("c").collect();
        assert_eq!(cs.len(), 2);
        assert_eq!(cs[0].text, "A <b> 😀 <raw>");
        assert_eq!(cs[1].attr("n"), Some("2"));
        assert_eq!(r.count("c"), 2);
    }

    #[test]
    fn escaping_round_trips() {
        let nasty = "a&b<c>d\"e'f\ng\r\nh\ti\u{1}j 😀";
        let x = format!("<r a=\"{}\">{}</r>", esc_attr(nasty), esc_text(nasty));
        let r = parse("t", &x).unwrap();
        assert_eq!(r.attr("a"), Some("a&b<c>d\"e'f\ng\r\nh\ti\u{FFFD}j 😀"));
        assert_eq!(r.text, "a&b<c>d\"e'f\ng\r\nh\ti\u{FFFD}j 😀");
        assert_eq!(clean("a\u{0}b\u{FFFF}"), "a\u{FFFD}b\u{FFFD}");
    }

    #[test]
    fn errors_say_where() {
        let e = parse("codebook", "<a>\n  <b></c>\n</a>").unwrap_err().to_string();
        assert!(e.contains("codebook: not well-formed XML at line 2"), "{e}");
        let e = parse("f", "<a>\n<b>").unwrap_err().to_string();
        assert!(e.contains("`b` opened at line 2 is never closed"), "{e}");
        let e = parse("f", "<a>&nbsp;</a>").unwrap_err().to_string();
        assert!(e.contains("undefined entity `&nbsp;`"), "{e}");
        let e = parse("f", "<a/><b/>").unwrap_err().to_string();
        assert!(e.contains("second root"), "{e}");
        let e = parse("f", "<a x=\"1\" x=\"2\"/>").unwrap_err().to_string();
        assert!(e.contains("line 1"), "{e}");
        let e = parse("f", "").unwrap_err().to_string();
        assert!(e.contains("no root element"), "{e}");
        let e = decode("f", b"<a>\xff</a>").unwrap_err().to_string();
        assert!(e.contains("offset 3"), "{e}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let x = format!("{}{}", "<a>".repeat(2000), "</a>".repeat(2000));
        let e = parse("f", &x).unwrap_err().to_string();
        assert!(e.contains("nested deeper than 1000"), "{e}");
    }

    #[test]
    fn doctype_is_refused() {
        let x = "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]>\n<r>&b;</r>";
        match parse("project.qde", x) {
            Err(Error::Doctype { line, .. }) => assert_eq!(line, 2),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn utf16_and_bom() {
        let mut b = vec![0xFF, 0xFE];
        for u in "<a>é</a>".encode_utf16() {
            b.extend(u.to_le_bytes());
        }
        assert_eq!(decode("f", &b).unwrap(), "<a>é</a>");
        assert_eq!(decode("f", b"\xEF\xBB\xBF<a/>").unwrap(), "<a/>");
    }
}
