//! A note as a document of passages: paragraphs, speaker turns and sections, with exact offsets.

use std::collections::HashSet;

use serde::Serialize;

use crate::frontmatter::{self, Attributes};
use crate::key::{PassageKey, PassageRef};
use crate::value::Value;

/// One passage: a paragraph, or a speaker turn in a transcript.
///
/// `start` and `end` are Unicode code-point offsets into the document text (BOM not counted),
/// end exclusive, as in REFI-QDA. The byte range slices the same text from
/// [`Document::text`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Passage {
    /// 1-based position of the passage in its document.
    pub ordinal: u32,
    /// Code-point offset of the first character.
    pub start: usize,
    /// Code-point offset just past the last character.
    pub end: usize,
    /// Byte offset of the first character.
    #[serde(skip)]
    pub byte_start: usize,
    /// Byte offset just past the last character.
    #[serde(skip)]
    pub byte_end: usize,
    /// The speaker of a transcript turn.
    pub speaker: Option<String>,
    /// The heading the passage stands under.
    pub section: Option<String>,
    /// A transcript timestamp written before the turn: `[00:01:02.500 --> 00:01:05.000]`.
    pub time: Option<String>,
    /// 1-based line of the first character in the file.
    pub line: usize,
    /// Number of words.
    pub words: u32,
    /// Hash of the passage text (hex), for re-anchoring codings when notes change.
    pub hash: String,
    /// The passage's name within its note, made from its words (see [`PassageKey`]).
    pub key: PassageKey,
}

/// A parsed note.
#[derive(Clone, Debug, Serialize)]
pub struct Document {
    /// Path relative to the project root, with `/` separators.
    pub path: String,
    /// Typed attributes from the front matter.
    pub attributes: Attributes,
    /// The file text without a leading BOM.
    #[serde(skip)]
    pub text: String,
    /// Hash of the whole file content (hex).
    pub hash: String,
    /// The passages, in order.
    pub passages: Vec<Passage>,
}

impl Document {
    /// The text of a passage.
    pub fn passage_text(&self, p: &Passage) -> &str {
        &self.text[p.byte_start..p.byte_end]
    }

    /// The id of a passage: `<path>#<key>`, which names it through edits elsewhere in the note.
    pub fn passage_id(&self, p: &Passage) -> String {
        format!("{}#{}", self.path, p.key)
    }

    /// The passage with this key.
    pub fn passage_by_key(&self, key: PassageKey) -> Option<&Passage> {
        self.passages.iter().find(|p| p.key == key)
    }

    /// The passage a reference names in the note as it is now.
    pub fn find_passage(&self, r: PassageRef) -> Option<&Passage> {
        match r {
            PassageRef::Key(k) => self.passage_by_key(k),
            PassageRef::Ordinal(n) => self.passage(n),
        }
    }

    /// The `date` the note gives when no search or table can read a day or a year from it
    /// (`08/07/2016`, `July 2016`), with the line of the file it stands on: such a note has no
    /// date and no year (`--by year` counts it under `(none)`, `date:2016` does not find it).
    pub fn unread_date(&self) -> Option<(usize, String)> {
        let value = self.attributes.get("date")?;
        let text = value.to_plain();
        if value.year().is_some() || text.trim().is_empty() {
            return None;
        }
        // The key's line in the front matter (before the first passage); the first line where
        // the date came from elsewhere.
        let end = self.passages.first().map_or(usize::MAX, |p| p.line);
        let line = self
            .text
            .lines()
            .take(end.saturating_sub(1))
            .position(|l| {
                let l = l.trim_start();
                l.get(..4).is_some_and(|k| k.eq_ignore_ascii_case("date"))
                    && l[4..].trim_start().starts_with([':', '='])
            })
            .map_or(1, |i| i + 1);
        Some((line, text))
    }

    /// A string attribute (e.g. `site`), if set.
    pub fn attr_str(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).and_then(Value::as_str)
    }

    /// The passage with this ordinal.
    pub fn passage(&self, ordinal: u32) -> Option<&Passage> {
        let i = usize::try_from(ordinal).ok()?.checked_sub(1)?;
        self.passages.get(i).filter(|p| p.ordinal == ordinal)
    }

    /// Converts a code-point offset into a byte offset of [`Document::text`]: counted from the
    /// start of the passage that holds it (passages know their byte and code-point starts), from
    /// the start of the text where no passage holds it.
    pub fn byte_offset(&self, char_offset: usize) -> Option<usize> {
        let i = self.passages.partition_point(|p| p.start <= char_offset);
        if i > 0 {
            let p = &self.passages[i - 1];
            if char_offset <= p.end {
                return Some(p.byte_start + char_to_byte(&self.text[p.byte_start..p.byte_end], char_offset - p.start)?);
            }
        }
        char_to_byte(&self.text, char_offset)
    }

    /// Number of words over all passages.
    pub fn words(&self) -> u64 {
        self.passages.iter().map(|p| u64::from(p.words)).sum()
    }

    /// (passages that open with a speaker label or a timestamp, passages): how much a note read
    /// as paragraphs looks like a transcript.
    pub fn labelled_paragraphs(&self) -> (usize, usize) {
        let labelled = self
            .passages
            .iter()
            .filter(|p| p.speaker.is_none() && turn_prefix(self.passage_text(p).lines().next().unwrap_or("")).is_some())
            .count();
        (labelled, self.passages.len())
    }

    /// Whether a note read as paragraphs is a transcript by the look of it: at least three of
    /// its paragraphs, and more than half, open with a speaker label or a timestamp. Such a
    /// note is not cut into turns unless marked (`transcript: true`); `fieldnotes notes` says so.
    pub fn looks_like_transcript(&self) -> bool {
        let (labelled, all) = self.labelled_paragraphs();
        self.passages.iter().all(|p| p.speaker.is_none() && p.time.is_none()) && labelled >= 3 && labelled * 2 > all
    }
}

/// `<path>#<ordinal>`: a passage by its position, as ids were once printed (still accepted as
/// input, and used where a list of passages is numbered in order, as in benchmark truth files).
pub fn ordinal_id(path: &str, ordinal: u32) -> String {
    format!("{path}#{ordinal}")
}

/// Converts a code-point offset to a byte offset (`text.len()` for the end).
pub fn char_to_byte(text: &str, char_offset: usize) -> Option<usize> {
    if char_offset == 0 {
        return Some(0);
    }
    if text.is_ascii() {
        return (char_offset <= text.len()).then_some(char_offset);
    }
    text.char_indices().map(|(b, _)| b).chain(std::iter::once(text.len())).nth(char_offset)
}

/// A stable 64-bit hash of text, as 16 hex digits.
pub fn text_hash(text: &str) -> String {
    hex16(xxhash_rust::xxh3::xxh3_64(text.as_bytes()))
}

/// `x` as 16 lower-case hex digits, as `format!("{x:016x}")` writes them, without the
/// formatting machinery (which was 2% of reading the notes: a hash for every passage).
pub fn hex16(x: u64) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(16);
    for shift in (0..16).rev() {
        out.push(char::from(DIGITS[(x >> (4 * shift)) as usize & 15]));
    }
    out
}

/// Bit masks of 64 bytes of ASCII: bit `j` of the first is set when byte `j` is a letter or a
/// digit, of the second when it is an apostrophe. Eight bytes at a time in a `u64` (each test is
/// an addition whose carry lands in the byte's high bit), gathered by a multiplication.
fn ascii_masks(block: &[u8]) -> (u64, u64) {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    const LOW: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // High bit of each byte of `x` (each below 0x80) set when the byte is in `lo..=hi`.
    let within = |x: u64, lo: u8, hi: u8| {
        let at_least = x + ONES * u64::from(0x80 - lo);
        let at_most = ONES * (0x80 + u64::from(hi)) - x;
        at_least & at_most & HIGH
    };
    // The high bits, one a byte, packed into the eight low bits.
    let gather = |h: u64| ((h >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56) & 0xff;
    let (mut w, mut a) = (0u64, 0u64);
    for (k, chunk) in block.chunks_exact(8).enumerate() {
        let x = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let alnum = within(x | (ONES * 0x20), b'a', b'z') | within(x, b'0', b'9');
        let z = x ^ (ONES * u64::from(b'\''));
        let apostrophe = !(((z & LOW) + LOW) | z | LOW);
        w |= gather(alnum) << (8 * k);
        a |= gather(apostrophe) << (8 * k);
    }
    (w, a)
}

/// The words of `text` in lower case, as word counts and keyness read them: runs of letters
/// and digits (an apostrophe between letters kept: `didn't`, `partner's`), each with a letter.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    let is_apostrophe = |c: char| c == '\'' || c == '\u{2019}';
    text.split(move |c: char| !(c.is_alphanumeric() || is_apostrophe(c)))
        .map(move |w| w.trim_matches(is_apostrophe))
        .filter(|w| w.chars().any(char::is_alphabetic))
        .map(|w| w.to_lowercase().replace('\u{2019}', "'"))
}

/// Counts words: maximal runs of letters, digits and apostrophes inside words.
pub fn count_words(text: &str) -> u32 {
    let (bytes, mut i) = (text.as_bytes(), 0);
    let mut n = 0u32;
    let mut in_word = false;
    while i < bytes.len() {
        // 64 bytes of ASCII at a time, as bit masks of letters and digits and of apostrophes: a
        // byte at a time, with a branch on each character's width, this was a third of reading
        // a note.
        if let Some(block) = bytes.get(i..i + 64)
            && block.iter().fold(0u8, |acc, &b| acc | b) < 0x80
        {
            let (w, a) = ascii_masks(block);
            let carry = u64::from(in_word);
            // In a word: a letter or digit, or an apostrophe right after one in a word.
            let mut iw = w;
            loop {
                let next = w | (a & ((iw << 1) | carry));
                if next == iw {
                    break;
                }
                iw = next;
            }
            n += (w & !((iw << 1) | carry)).count_ones();
            in_word = iw >> 63 == 1;
            i += 64;
            continue;
        }
        // Otherwise a character at a time: ASCII on bytes, anything else as its character.
        let b = bytes[i];
        let (w, apostrophe, len) = if b < 0x80 {
            (b.is_ascii_alphanumeric(), b == b'\'', 1)
        } else {
            let c = text[i..].chars().next().unwrap_or(' ');
            (c.is_alphanumeric(), c == '’', c.len_utf8())
        };
        n += u32::from(w & !in_word);
        in_word = w | (in_word & apostrophe);
        i += len;
    }
    n
}

/// How passages are cut.
#[derive(Clone, Debug)]
pub struct SplitOptions {
    /// Detect `NAME: ...` speaker turns.
    pub speaker_turns: bool,
}

/// Longest speaker label, in characters.
const MAX_LABEL_CHARS: usize = 200;
/// Most words a label may have outside brackets.
const MAX_LABEL_WORDS: usize = 20;

/// Words that open a line with a colon without naming a speaker (`Note:`, `Action:`).
#[rustfmt::skip]
const NOT_LABELS: &[&str] = &[
    "action", "action point", "action points", "actions", "agenda", "apologies", "attendees",
    "author", "background", "caution", "comment", "comments", "context", "correction", "date",
    "decision", "decisions", "duration", "e.g", "edit", "eg", "email", "e-mail", "example",
    "examples", "follow-up", "fyi", "hint", "i.e", "ie", "keywords", "link", "links", "location",
    "memo", "minutes", "n.b", "nb", "next steps", "note", "notes", "observation", "outcome",
    "outcomes", "p.s", "phone", "place", "present", "ps", "re", "recording", "reference",
    "references", "reflection", "see", "see also", "source", "sources", "subject", "summary",
    "tags", "tel", "time", "tip", "title", "to do", "todo", "update", "url", "venue", "warning",
    "web", "website",
];

/// Lower-case words that make a phrase a sentence rather than a name: pronouns, auxiliaries,
/// demonstratives (`My question is this:`, `Mr. Chair, I want to be clear:`).
#[rustfmt::skip]
const SENTENCE_WORDS: &[&str] = &[
    "added", "am", "answered", "are", "argued", "asked", "be", "because", "been", "being", "but",
    "can", "concluded", "could", "did", "does", "don't", "explained", "following", "follows",
    "had", "has", "have", "he", "her", "here", "his", "how", "if", "including", "is", "it", "it's",
    "its", "just", "let", "let's", "may", "me", "might", "must", "my", "namely", "no", "not",
    "noted", "our", "please", "replied", "said", "says", "shall", "she", "should", "so", "stated",
    "thank", "thanks", "that", "their", "them", "there", "these", "they", "this", "those", "told",
    "us", "very", "was", "we", "were", "what", "when", "where", "which", "who", "why", "will",
    "would", "wrote", "yes", "you", "your",
];

/// Lower-case words that join the parts of a name or an office (`Minister of Finance`).
#[rustfmt::skip]
const JOINING_WORDS: &[&str] = &[
    "a", "an", "and", "at", "da", "de", "del", "della", "den", "der", "des", "di", "do", "dos",
    "du", "e", "el", "et", "for", "from", "in", "la", "le", "les", "of", "on", "the", "to", "van",
    "von", "with", "y", "&",
];

/// A word ending in `.` that abbreviates (`Hon.`, `Mr.`, `Dr.`, `A.`, `U.S.`) rather than ends a
/// sentence (`Chair.`).
fn is_abbreviation(word: &str) -> bool {
    let core = word.trim_end_matches('.');
    // Words run together where a dash was lost (`Shore—St.` as `ShoreSt.`): the last one counts.
    let mut last_start = 0;
    let mut prev_lower = false;
    for (i, c) in core.char_indices() {
        if c.is_uppercase() && prev_lower {
            last_start = i;
        }
        prev_lower = c.is_lowercase();
    }
    let core = &core[last_start..];
    let letters = core.chars().filter(|c| c.is_alphabetic()).count();
    let capital = core.starts_with(char::is_uppercase);
    (capital && letters <= 4) || (letters > 0 && core.split('.').all(|p| p.chars().count() == 1))
}

/// Recognises a speaker label at the start of a line: returns the speaker and the byte length
/// of the label including the colon and following spaces.
///
/// A label is the text before the first colon outside brackets, followed by white space or the
/// end of the line. It starts with a letter, is at most 200 characters, keeps its brackets
/// balanced (`The Chair (Hon. A. Member (Riding, Party))`) and reads as a name or an office, not
/// as a sentence. Outside brackets it has at most 20 words, no `?`, `!` or `;`, no full stop
/// other than after an abbreviation (`Hon.`, `Mr.`, `A.`), and, when it has two words or more, no
/// pronoun or auxiliary (`I`, `is`, `this`, `we`, written in lower case except `I`). A label of five
/// words or more is mostly capitalised: at most half its words (a third past eight) are lower-case
/// words other than joining words such as `of`, `and`, `the` (so `Hon. Mona Fortier Minister of
/// Middle Class Prosperity and Associate Minister of Finance` is one, and `The answer I would
/// have liked is simple` is not). Common headings of notes (`Note`, `Action`, `Date`, `Re`, ...)
/// are not labels.
pub fn speaker_label(line: &str) -> Option<(&str, usize)> {
    // A label ends at a colon within its first `MAX_LABEL_CHARS * 4` bytes: most lines have
    // none, and are turned away by one search rather than read a character at a time.
    memchr::memchr(b':', &line.as_bytes()[..line.len().min(MAX_LABEL_CHARS * 4 + 1)])?;
    let mut depth = 0usize;
    let mut colon = None;
    let mut outside = String::new();
    for (i, c) in line.char_indices() {
        if i > MAX_LABEL_CHARS * 4 || c == '\n' {
            return None;
        }
        match c {
            '(' | '[' => depth += 1,
            ')' | ']' => depth = depth.checked_sub(1)?,
            ':' if depth == 0 => {
                colon = Some(i);
                break;
            }
            _ if depth == 0 => outside.push(c),
            _ => {}
        }
        if matches!(c, '(' | '[' | ')' | ']') {
            outside.push(' ');
        }
    }
    let colon = colon?;
    let label = &line[..colon];
    let after = &line[colon + 1..];
    if !(after.is_empty() || after.starts_with([' ', '\t', '\r', '\n'])) {
        return None;
    }
    let trimmed = label.trim_end();
    if trimmed.is_empty() || !trimmed.starts_with(char::is_alphabetic) || trimmed.chars().count() > MAX_LABEL_CHARS {
        return None;
    }
    let words: Vec<&str> = outside.split_whitespace().collect();
    if words.is_empty() || words.len() > MAX_LABEL_WORDS {
        return None;
    }
    let head = words.join(" ").to_lowercase();
    let head = head.trim_end_matches('.');
    let first = words[0].to_lowercase();
    if NOT_LABELS.contains(&head)
        || (words.len() > 1 && matches!(first.trim_end_matches('.'), "note" | "notes" | "nb" | "n.b" | "ps" | "p.s"))
    {
        return None;
    }
    let mut plain = 0;
    for (k, w) in words.iter().enumerate() {
        if w.contains(['?', '!', ';']) {
            return None;
        }
        if k + 1 < words.len() && w.ends_with('.') && !is_abbreviation(w) {
            return None;
        }
        let bare = w.trim_matches(|c: char| matches!(c, ',' | '.' | '"' | '\'' | '“' | '”' | '‘' | '’'));
        let lower = bare.starts_with(char::is_lowercase);
        if words.len() > 1
            && (bare == "I"
                || bare.starts_with("I'")
                || bare.starts_with("I’")
                || (lower && SENTENCE_WORDS.contains(&bare)))
        {
            return None;
        }
        if lower && !JOINING_WORDS.contains(&bare) {
            plain += 1;
        }
    }
    let n = words.len();
    if (n > 4 && plain * 2 > n) || (n > 8 && plain * 3 > n) {
        return None;
    }
    let spaces = after.len() - after.trim_start_matches([' ', '\t']).len();
    Some((trimmed, colon + 1 + spaces))
}

fn is_clock(s: &str) -> bool {
    // hh:mm:ss or mm:ss, each part digits, with an optional .mmm or ,mmm fraction.
    let (main, frac) = match s.split_once(['.', ',']) {
        Some((m, f)) => (m, Some(f)),
        None => (s, None),
    };
    let parts: Vec<&str> = main.split(':').collect();
    (2..=3).contains(&parts.len())
        && parts.iter().all(|p| !p.is_empty() && p.len() <= 2 && p.bytes().all(|b| b.is_ascii_digit()))
        && frac.is_none_or(|f| !f.is_empty() && f.len() <= 3 && f.bytes().all(|b| b.is_ascii_digit()))
}

/// The mark of a turn whose time is not known (a caption cue whose timing could not be read).
pub const UNKNOWN_TIME: &str = "[??:??:??]";

/// Recognises the start of a transcript turn: an optional timestamp in brackets
/// (`[00:01:02]` or `[00:01:02.500 --> 00:01:05.000]`, or [`UNKNOWN_TIME`] for a turn with no
/// time) and an optional speaker label.
/// Returns (time, speaker, byte length of the prefix) when the line has at least one of them.
pub fn turn_prefix(line: &str) -> Option<(Option<&str>, Option<&str>, usize)> {
    let mut time = None;
    let mut stamped = false;
    let mut offset = 0;
    if let Some(rest) = line.strip_prefix('[')
        && let Some(close) = rest.find(']')
    {
        let inner = rest[..close].trim();
        let ok = match inner.split_once("-->") {
            Some((a, b)) => is_clock(a.trim()) && is_clock(b.trim()),
            None => is_clock(inner),
        };
        if ok || inner == &UNKNOWN_TIME[1..UNKNOWN_TIME.len() - 1] {
            time = ok.then_some(inner);
            stamped = true;
            offset = 1 + close + 1;
            offset += line[offset..].len() - line[offset..].trim_start_matches([' ', '\t']).len();
        }
    }
    match speaker_label(&line[offset..]) {
        Some((name, len)) => Some((time, Some(name), offset + len)),
        None => stamped.then_some((time, None, offset)),
    }
}

fn heading(line: &str) -> Option<&str> {
    let t = line.trim_end();
    let hashes = t.len() - t.trim_start_matches('#').len();
    if (1..=6).contains(&hashes) {
        let rest = &t[hashes..];
        if rest.is_empty() || rest.starts_with([' ', '\t']) {
            return Some(rest.trim().trim_end_matches('#').trim());
        }
    }
    None
}

fn is_rule(line: &str) -> bool {
    let t = line.trim();
    t.len() >= 3 && (t.chars().all(|c| c == '-') || t.chars().all(|c| c == '*') || t.chars().all(|c| c == '_'))
}

/// The speaker and timestamp of the turn under way.
#[derive(Default)]
struct Turn {
    speaker: Option<String>,
    time: Option<String>,
}

struct Builder<'a> {
    text: &'a str,
    passages: Vec<Passage>,
    /// Running code-point count up to `cp_byte`.
    cp: usize,
    cp_byte: usize,
}

impl Builder<'_> {
    fn char_offset(&mut self, byte: usize) -> usize {
        debug_assert!(byte >= self.cp_byte);
        self.cp += self.text[self.cp_byte..byte].chars().count();
        self.cp_byte = byte;
        self.cp
    }

    fn push(&mut self, turn: &Turn, mut start: usize, mut end: usize, mut line: usize, section: Option<&str>) {
        let slice = &self.text[start..end];
        let trimmed_start = slice.trim_start();
        // White space after a speaker label can run onto the next lines: the passage starts
        // (and its line is counted) where its text does.
        line += slice[..slice.len() - trimmed_start.len()].matches('\n').count();
        start += slice.len() - trimmed_start.len();
        end = start + trimmed_start.trim_end().len();
        if start >= end {
            return;
        }
        let s = &self.text[start..end];
        let cstart = self.char_offset(start);
        let cend = self.char_offset(end);
        let ordinal = u32::try_from(self.passages.len() + 1).unwrap_or(u32::MAX);
        self.passages.push(Passage {
            ordinal,
            start: cstart,
            end: cend,
            byte_start: start,
            byte_end: end,
            speaker: turn.speaker.clone(),
            section: section.map(str::to_string),
            time: turn.time.clone(),
            line,
            words: count_words(s),
            hash: text_hash(s),
            key: PassageKey::default(),
        });
    }
}

/// Whether a line inside a paragraph that opens with a timestamp or a label starts a new turn.
/// Hard-wrapped speech puts any words at the start of a line (`question: who pays?`), so there
/// a label must be a speaker met before in the note, or be capitalised and followed by words
/// that do not begin in lower case (`CPP manager: Months.`); a timestamp always starts a turn.
pub fn opens_turn_inside_paragraph(
    line: &str,
    name: Option<&str>,
    prefix_len: usize,
    speakers: &HashSet<String>,
) -> bool {
    let Some(name) = name else { return true };
    if line.starts_with('[') || speakers.contains(name) {
        return true;
    }
    name.starts_with(char::is_uppercase) && !line[prefix_len..].starts_with(char::is_lowercase)
}

/// The lines of `s`, each with its `\n` (the last without one if `s` does not end in one), as
/// `str::split_inclusive('\n')` gives them, found with the `memchr` crate's search on the vector
/// unit: the standard library's went a word at a time, 3% of `code auto`'s instructions.
pub(crate) fn lines_inclusive(s: &str) -> impl Iterator<Item = &str> {
    let mut rest = s;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = memchr::memchr(b'\n', rest.as_bytes()).map_or(rest.len(), |i| i + 1);
        let (line, after) = rest.split_at(end);
        rest = after;
        Some(line)
    })
}

/// The lines of `s` without their endings, as `str::lines` gives them (a `\r` before the `\n`
/// dropped too), found as [`lines_inclusive`] finds them.
pub(crate) fn lines(s: &str) -> impl Iterator<Item = &str> {
    lines_inclusive(s).map(|l| match l.strip_suffix('\n') {
        Some(l) => l.strip_suffix('\r').unwrap_or(l),
        None => l,
    })
}

/// Cuts the body of `text` (from byte `body_start`, which is at line `first_line`) into passages.
pub fn split_passages(text: &str, body_start: usize, first_line: usize, opts: &SplitOptions) -> Vec<Passage> {
    let mut b = Builder { text, passages: Vec::new(), cp: 0, cp_byte: 0 };
    let mut section: Option<String> = None;
    let mut turn = Turn::default();
    // The speakers met so far, to know a label that opens a line inside a paragraph.
    let mut speakers: HashSet<String> = HashSet::new();
    // The passage under way: byte start, line, end of its last line.
    let mut open: Option<(usize, usize, usize)> = None;
    let mut pos = body_start;
    for (this_line, raw) in (first_line..).zip(lines_inclusive(&text[body_start..])) {
        let line_start = pos;
        pos += raw.len();
        let content = raw.trim_end_matches(['\n', '\r']);
        let content_end = line_start + content.len();
        if content.trim().is_empty() || is_rule(content) {
            if let Some((s, l, e)) = open.take() {
                b.push(&turn, s, e, l, section.as_deref());
            }
            continue;
        }
        if let Some(h) = heading(content) {
            if let Some((s, l, e)) = open.take() {
                b.push(&turn, s, e, l, section.as_deref());
            }
            section = (!h.is_empty()).then(|| h.to_string());
            continue;
        }
        if opts.speaker_turns
            && let Some((time, name, prefix_len)) = turn_prefix(content)
            && (open.is_none() || opens_turn_inside_paragraph(content, name, prefix_len, &speakers))
        {
            if let Some(n) = name {
                speakers.insert(n.to_string());
            }
            if let Some((s, l, e)) = open.take() {
                b.push(&turn, s, e, l, section.as_deref());
            }
            turn = Turn { speaker: name.map(str::to_string), time: time.map(str::to_string) };
            let body = line_start + prefix_len;
            if body < content_end {
                open = Some((body, this_line, content_end));
            }
            continue;
        }
        match &mut open {
            Some((_, _, e)) => *e = content_end,
            None => open = Some((line_start, this_line, content_end)),
        }
    }
    if let Some((s, l, e)) = open.take() {
        b.push(&turn, s, e, l, section.as_deref());
    }
    let mut passages = b.passages;
    crate::key::assign_keys(text, &mut passages);
    passages
}

/// Parses a note's text (BOM already removed) into a document.
pub fn parse_document(
    path: String,
    text: String,
    opts: &SplitOptions,
) -> Result<Document, frontmatter::FrontMatterError> {
    let fm = frontmatter::parse(&text)?;
    Ok(build_document(path, text, fm, opts))
}

/// Builds a document from its text and already parsed front matter.
pub fn build_document(path: String, text: String, fm: frontmatter::Parsed, opts: &SplitOptions) -> Document {
    let mut attributes = fm.attributes;
    // Letters as one character each (NFC): a note written decomposed (`e` and a combining
    // accent, as macOS and some copy-paste write it) counts, searches and quotes as it reads.
    let text = match nfc_changed(&text[fm.body_start..]) {
        Some(body) => format!("{}{body}", &text[..fm.body_start]),
        None => text,
    };
    // Wikilinks read as their shown text, callout markers as blank lines: the note's text from
    // here on (offsets, passages, search, exports) is the text a reader of the note sees.
    let text = match editor_markup(&text[fm.body_start..]) {
        Some((body, links)) => {
            if !links.is_empty() {
                attributes
                    .insert("links".into(), crate::Value::List(links.into_iter().map(crate::Value::String).collect()));
            }
            format!("{}{body}", &text[..fm.body_start])
        }
        None => text,
    };
    let passages = split_passages(&text, fm.body_start, fm.lines + 1, opts);
    let hash = text_hash(&text);
    add_inline_tags(&mut attributes, &text[fm.body_start..]);
    Document { path, attributes, text, hash, passages }
}

/// `s` in Unicode's composed form (NFC), or `None` when it is in it already (ASCII always is).
pub fn nfc_changed(s: &str) -> Option<String> {
    use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};
    if !maybe_decomposed(s.as_bytes()) || is_nfc_quick(s.chars()) == IsNormalized::Yes {
        return None;
    }
    let out: String = s.nfc().collect();
    (out != s).then_some(out)
}

/// Whether UTF-8 `b` may hold a character that is not in composed form: one at U+0300 or
/// above, other than the punctuation U+2002-U+203F (curly quotes, dashes, which most notes
/// hold). Below U+0300 every character is composed. A byte scan, so that the common note (ASCII
/// and punctuation) is not decoded character by character: that cost `code auto` 4% at 100 MB.
fn maybe_decomposed(b: &[u8]) -> bool {
    // Lead bytes from 0xCC start U+0300 and above; 0xE2 starts U+2000-U+2FFF.
    if b.iter().fold(false, |seen, &x| seen | (x >= 0xCC && x != 0xE2)) {
        return true;
    }
    memchr::memchr_iter(0xE2, b)
        .any(|i| !(b.get(i + 1) == Some(&0x80) && b.get(i + 2).is_some_and(|c| (0x82..=0xBF).contains(c))))
}

/// `s` in Unicode's composed form (NFC), as notes are read: what a typed quote or query is
/// compared in.
pub fn nfc(s: &str) -> std::borrow::Cow<'_, str> {
    nfc_changed(s).map_or(std::borrow::Cow::Borrowed(s), std::borrow::Cow::Owned)
}

/// The body with Markdown editors' markup read as a reader sees it, and the notes it links to;
/// `None` when there is none (the body is then used as it is).
///
/// - `[[Target|shown text]]` reads `shown text`; `[[Target]]` reads `Target`; `[[Target#Part]]`
///   reads `Target > Part`; an embed `![[picture.png]]` reads as nothing. Each target (without
///   its `#part`) is listed once, in order, for the attribute `links`.
/// - A callout's first line (`> [!note] Title`, as Obsidian writes it) becomes a blank line, so
///   the callout's body is a passage of its own. Every other line keeps its place.
pub fn editor_markup(body: &str) -> Option<(String, Vec<String>)> {
    let has = |pair: &str| memchr::memmem::find(body.as_bytes(), pair.as_bytes()).is_some();
    if !has("[[") && !has("[!") {
        return None;
    }
    let mut out = String::with_capacity(body.len());
    let mut links: Vec<String> = Vec::new();
    let mut fence: Option<&str> = None;
    let mut changed = false;
    // Inside a callout: its lines' `>` markers are markup, not words of the note.
    let mut in_callout = false;
    for line in body.split_inclusive('\n') {
        let content = line.trim_end_matches(['\r', '\n']);
        let ending = &line[content.len()..];
        let t = content.trim_start();
        if let Some(f) = fence {
            if t.starts_with(f) {
                fence = None;
            }
            out.push_str(line);
            continue;
        }
        if t.starts_with("```") || t.starts_with("~~~") {
            fence = Some(&t[..3]);
            out.push_str(line);
            continue;
        }
        if is_callout_marker(t) {
            out.push_str(ending);
            changed = true;
            in_callout = true;
            continue;
        }
        let mut rest = content;
        match t.strip_prefix('>') {
            Some(quoted) if in_callout => {
                rest = quoted.strip_prefix(' ').unwrap_or(quoted);
                changed = true;
            }
            _ => in_callout = false,
        }
        while let Some(open) = rest.find("[[") {
            let Some(close) = rest[open + 2..].find("]]").map(|c| open + 2 + c) else { break };
            let inner = &rest[open + 2..close];
            if inner.is_empty() || inner.contains('[') || inner.contains('\n') {
                out.push_str(&rest[..open + 2]);
                rest = &rest[open + 2..];
                continue;
            }
            let embed = rest[..open].ends_with('!');
            out.push_str(&rest[..if embed { open - 1 } else { open }]);
            // In a Markdown table the pipe is escaped: `[[Note\\|shown]]`.
            let (target, shown) = match inner.split_once('|') {
                Some((t, s)) => (t.trim_end_matches('\\').trim(), Some(s.trim())),
                None => (inner.trim(), None),
            };
            let (page, part) = match target.split_once('#') {
                Some((p, h)) => (p.trim(), Some(h.trim_start_matches('^').trim())),
                None => (target, None),
            };
            if !page.is_empty() && !links.iter().any(|l| l == page) {
                links.push(page.to_string());
            }
            if !embed {
                match (shown, part) {
                    (Some(s), _) if !s.is_empty() => out.push_str(s),
                    (_, Some(h)) if !page.is_empty() => out.push_str(&format!("{page} > {h}")),
                    (_, Some(h)) => out.push_str(h),
                    _ => out.push_str(page),
                }
            }
            changed = true;
            rest = &rest[close + 2..];
        }
        out.push_str(rest);
        out.push_str(ending);
    }
    changed.then_some((out, links))
}

/// Whether a line (without leading white space) opens a callout: `> [!type]`, a title after.
fn is_callout_marker(t: &str) -> bool {
    let Some(q) = t.strip_prefix('>') else { return false };
    let Some(kind) = q.trim_start().strip_prefix("[!") else { return false };
    kind.find(']')
        .is_some_and(|end| end > 0 && kind[..end].chars().all(|c| c.is_alphanumeric() || c == '-' || c == '_'))
}

/// The tag that `rest` (what follows a `#` that may open one) starts with: letters, digits,
/// `_`, `-` and `/`, without a trailing `-` or `/`, and with a letter among them.
fn tag_after_hash(rest: &str) -> Option<&str> {
    let end = rest
        .char_indices()
        .find(|&(_, ch)| !(ch.is_alphanumeric() || ch == '_' || ch == '-' || ch == '/'))
        .map_or(rest.len(), |(j, _)| j);
    let tag = rest[..end].trim_end_matches(['-', '/']);
    tag.chars().any(char::is_alphabetic).then_some(tag)
}

/// Adds the body's inline `#tags` to the attribute `tag` (after the front matter's, each tag
/// once whatever its case). A tag is `#` at the start of a line or after a space or `(`,
/// followed by letters, digits, `_`, `-` and `/` with a letter among them: not a heading's
/// `# `, not a `#` inside a web address, and not in code (fenced blocks or `inline code`).
pub fn add_inline_tags(attributes: &mut crate::Attributes, body: &str) {
    use crate::Value;
    if memchr::memchr(b'#', body.as_bytes()).is_none() {
        return;
    }
    let mut found: Vec<String> = Vec::new();
    let mut fence: Option<&str> = None;
    for line in lines(body) {
        let t = line.trim_start();
        if let Some(f) = fence {
            if t.starts_with(f) {
                fence = None;
            }
            continue;
        }
        if t.starts_with("```") || t.starts_with("~~~") {
            fence = Some(&t[..3]);
            continue;
        }
        // Each `#` of the line looked at where it stands (a character at a time, every line of
        // every note with a `#` anywhere in it was 5% of reading the notes): inside `inline
        // code` when an odd number of backticks come before it, counted on from the last `#`
        // (counted from the line's start for each, a note of one 900 KB line of `#a #a ...` took
        // 49 s to index).
        let (mut from, mut ticks) = (0, 0);
        while let Some(at) = memchr::memchr(b'#', &line.as_bytes()[from..]) {
            let i = from + at;
            ticks += line.as_bytes()[from..i].iter().filter(|&&b| b == b'`').count();
            from = i + 1;
            let prev = line[..i].chars().next_back().unwrap_or(' ');
            if !(prev.is_whitespace() || prev == '(') || ticks % 2 == 1 {
                continue;
            }
            found.extend(tag_after_hash(&line[i + 1..]).map(str::to_string));
        }
    }
    if found.is_empty() {
        return;
    }
    let mut tags = match attributes.remove("tag") {
        Some(Value::List(items)) => items,
        Some(other) => vec![other],
        None => Vec::new(),
    };
    let mut seen: std::collections::BTreeSet<String> = tags.iter().map(|t| t.to_string().to_lowercase()).collect();
    for t in found {
        let t = t.to_lowercase();
        if seen.insert(t.clone()) {
            tags.push(Value::String(t));
        }
    }
    attributes.insert("tag".into(), Value::List(tags));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str, turns: bool) -> Vec<(String, Option<String>, Option<String>)> {
        let doc = parse_document("n.md".into(), text.into(), &SplitOptions { speaker_turns: turns }).unwrap();
        doc.passages.iter().map(|p| (doc.passage_text(p).to_string(), p.speaker.clone(), p.section.clone())).collect()
    }

    #[test]
    fn a_turn_whose_text_starts_on_the_next_line_has_that_line() {
        // Found by the passage fuzzer: a label followed by a vertical tab, then text below.
        let text = "---\nkind: interview\n---\nr: \t\u{b}\nThe answer.\n";
        let doc = parse_document("n.md".into(), text.into(), &SplitOptions { speaker_turns: true }).unwrap();
        let p = &doc.passages[0];
        assert_eq!(doc.passage_text(p), "The answer.");
        assert_eq!(p.line, 5);
    }

    #[test]
    fn wikilinks_read_as_their_shown_text_and_callout_markers_are_no_text() {
        let t = "---\nsite: Fife\n---\nWe met at [[Methil Community Centre|the centre]] about [[Locality plan]], see [[Minutes#Actions]] ![[photo.png]].\n\n> [!note] Reflection\n> Trust grows slowly here.\n>and then all at once.\n\n```\n[[kept in code]]\n```\n\n| [[Budget 2016\\|the budget]] | > kept |\n";
        let doc = parse_document("n.md".into(), t.into(), &SplitOptions { speaker_turns: false }).unwrap();
        let texts: Vec<&str> = doc.passages.iter().map(|p| doc.passage_text(p)).collect();
        assert_eq!(
            texts,
            [
                "We met at the centre about Locality plan, see Minutes > Actions .",
                "Trust grows slowly here.\nand then all at once.",
                "```\n[[kept in code]]\n```",
                "| the budget | > kept |"
            ]
        );
        assert_eq!(
            doc.attributes["links"].texts(),
            ["Methil Community Centre", "Locality plan", "Minutes", "photo.png", "Budget 2016"]
        );
        // Lines keep their numbers; the text is stable when read again (as kept versions are).
        assert_eq!(doc.passages[1].line, 7);
        let again = parse_document("n.md".into(), doc.text.clone(), &SplitOptions { speaker_turns: false }).unwrap();
        assert_eq!(again.text, doc.text);
    }

    #[test]
    fn decomposed_text_is_composed_and_the_rest_left_as_it_is() {
        assert_eq!(nfc_changed("Zoe\u{308} and the cafe\u{301}").as_deref(), Some("Zoë and the café"));
        for composed in ["plain", "Zoë’s “café” – 2016", "Ω ohm", "한국어"] {
            assert_eq!(nfc_changed(composed), None, "{composed}");
        }
        // The ohm sign, the Kelvin sign and an en quad are not composed forms.
        assert_eq!(nfc_changed("\u{2126}").as_deref(), Some("\u{3a9}"));
        assert_eq!(nfc_changed("\u{2000}").as_deref(), Some("\u{2002}"));
        assert!(!maybe_decomposed("It’s “fine” — really…".as_bytes()));
        assert!(maybe_decomposed("e\u{301}".as_bytes()));
    }

    #[test]
    fn hex16_writes_what_the_formatter_writes() {
        for x in [0, 1, 0xf, 0x10, 0xdead_beef, u64::MAX, 1 << 63, 0x0123_4567_89ab_cdef] {
            assert_eq!(hex16(x), format!("{x:016x}"));
        }
    }

    #[test]
    fn inline_tags_join_the_front_matters() {
        let t = "---\ntags: [trust]\n---\n# Heading\n\nSlow going #trust #Time-keeping, and (#co-op).\nSee https://example.org/#anchor and `#notatag` or C#.\n\n```\n#include <x>\n```\n#2016 #q3/plan\n";
        let doc = parse_document("n.md".into(), t.into(), &SplitOptions { speaker_turns: false }).unwrap();
        let tags: Vec<String> = doc.attributes["tag"].texts();
        assert_eq!(tags, ["trust", "time-keeping", "co-op", "q3/plan"]);
    }

    /// A line's tags found a character at a time: a backtick opens or closes code, a `#` after
    /// white space, `(` or the line's start may begin a tag.
    fn tags_slowly(line: &str) -> Vec<String> {
        let (mut found, mut in_code, mut prev) = (Vec::new(), false, ' ');
        for (i, c) in line.char_indices() {
            if c == '`' {
                in_code = !in_code;
            } else if c == '#' && !in_code && (prev.is_whitespace() || prev == '(') {
                found.extend(tag_after_hash(&line[i + 1..]).map(str::to_string));
            }
            prev = c;
        }
        found
    }

    #[test]
    fn inline_tags_found_at_each_hash_are_those_found_a_character_at_a_time() {
        let pieces = ["#", "`", "(", " ", "\u{a0}", "a", "É", "2", "-", "/", "_", "x#", "é#t", "##", "C#", ")"];
        let mut seed = 7u64;
        for _ in 0..3000 {
            let mut line = String::new();
            for _ in 0..12 {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                line.push_str(pieces[(seed >> 33) as usize % pieces.len()]);
            }
            let mut attributes = crate::Attributes::new();
            add_inline_tags(&mut attributes, &line);
            let mut want: Vec<String> = Vec::new();
            for t in tags_slowly(&line) {
                let t = t.to_lowercase();
                if !want.contains(&t) {
                    want.push(t);
                }
            }
            let got = attributes.get("tag").map(|v| v.texts()).unwrap_or_default();
            assert_eq!(got, want, "{line:?}");
        }
    }

    #[test]
    fn paragraphs_and_sections() {
        let t = "---\nsite: Fife\n---\n# Board\n\nFirst para\nstill first.\n\n\nSecond.\n## Actions\nThird.\n";
        let got = split(t, false);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].0, "First para\nstill first.");
        assert_eq!(got[0].2.as_deref(), Some("Board"));
        assert_eq!(got[1].0, "Second.");
        assert_eq!(got[2].0, "Third.");
        assert_eq!(got[2].2.as_deref(), Some("Actions"));
    }

    #[test]
    fn speaker_turns() {
        let t = "Interviewer: How long did it take?\nCPP manager: Months.\nIt was slow.\n\nAnd then some.\n\nThe Chair (Hon. A. Member (Riding, Lib.)): Order.\n";
        let got = split(t, true);
        assert_eq!(got.len(), 4);
        assert_eq!(got[0], ("How long did it take?".into(), Some("Interviewer".into()), None));
        assert_eq!(got[1].0, "Months.\nIt was slow.");
        assert_eq!(got[1].1.as_deref(), Some("CPP manager"));
        assert_eq!(got[2].1.as_deref(), Some("CPP manager"));
        assert_eq!(got[3].1.as_deref(), Some("The Chair (Hon. A. Member (Riding, Lib.))"));
        // Without turn detection the labels stay in the text.
        assert_eq!(split(t, false).len(), 3);
    }

    #[test]
    fn timestamped_turns() {
        let t =
            "[00:00:01.000 --> 00:00:04.500] Moira: We started late.\n\n[01:02] Nobody spoke.\n\n[not a time] Text.\n";
        let doc = parse_document("n.md".into(), t.into(), &SplitOptions { speaker_turns: true }).unwrap();
        let got: Vec<(&str, Option<&str>, Option<&str>)> =
            doc.passages.iter().map(|p| (doc.passage_text(p), p.speaker.as_deref(), p.time.as_deref())).collect();
        assert_eq!(
            got,
            [
                ("We started late.", Some("Moira"), Some("00:00:01.000 --> 00:00:04.500")),
                ("Nobody spoke.", None, Some("01:02")),
                ("[not a time] Text.", None, Some("01:02")),
            ]
        );
    }

    #[test]
    fn labels_that_are_not_speakers() {
        assert!(speaker_label("10:30 we started").is_none());
        assert!(speaker_label("http://example.org").is_none());
        assert!(speaker_label("One two three four five six seven eight nine: x").is_none());
        assert_eq!(speaker_label("Moira: yes"), Some(("Moira", 7)));
        assert_eq!(speaker_label("Moira:"), Some(("Moira", 6)));
        let refused = [
            "Note: the room was cold.",
            "NB: ask about funding.",
            "Note to self: ask again.",
            "Action: HB to draft the letter.",
            "Re: the budget",
            "Time: 10:30",
            "See https://example.org/x: there",
            "Mr. Chair, I want to be very clear: we did.",
            "The answer I would have liked is simple: yes.",
            "Thank you, Madam Chair. My first question is this: why?",
            "A number of people do. Some hon. members: Oh, oh!",
            "Let me ask this question: when?",
            "Yes or no: did it happen?",
            "Why did it take so long?: nobody knew",
            "  Indented: text",
            "Moira (laughing: yes",
            "[inaudible]: words",
            "We met at the community centre on Tuesday morning with everyone: fine",
        ];
        for l in refused {
            assert!(speaker_label(l).is_none(), "{l}");
        }
        let accepted = [
            ("Interviewer: How long?", "Interviewer"),
            ("CPP manager: Months.", "CPP manager"),
            ("community learning worker: yes", "community learning worker"),
            ("r: x", "r"),
            ("Q: First?", "Q"),
            (
                "Hon. Bill Blair (Minister of Public Safety and Emergency Preparedness): Mr. Chair, I want: this.",
                "Hon. Bill Blair (Minister of Public Safety and Emergency Preparedness)",
            ),
            (
                "Hon. Mona Fortier Minister of Middle Class Prosperity and Associate Minister of Finance: Thank you.",
                "Hon. Mona Fortier Minister of Middle Class Prosperity and Associate Minister of Finance",
            ),
            (
                "The Acting Chair (Mrs. Carol Hughes (Algoma—Manitoulin—Kapuskasing, NDP)): Order.",
                "The Acting Chair (Mrs. Carol Hughes (Algoma—Manitoulin—Kapuskasing, NDP))",
            ),
            (
                "The Chair Hon. Anthony Rota Nipissing—Timiskaming, Lib.: Order.",
                "The Chair Hon. Anthony Rota Nipissing—Timiskaming, Lib.",
            ),
            (
                "Ms. Jane Doe, senior policy adviser, Department of Health: We did.",
                "Ms. Jane Doe, senior policy adviser, Department of Health",
            ),
            ("Dr. A. N. Other (10:30): Hello.", "Dr. A. N. Other (10:30)"),
            ("Theresa May: Strong and stable.", "Theresa May"),
            ("Young person from Ferguslie Park: aye", "Young person from Ferguslie Park"),
            ("Participant 3 [teacher, U.S.]: Sure.", "Participant 3 [teacher, U.S.]"),
            ("Noted Speaker: Hi.", "Noted Speaker"),
            (
                "Hon. Bernadette Jordan South ShoreSt. Margarets, Lib.: Yes.",
                "Hon. Bernadette Jordan South ShoreSt. Margarets, Lib.",
            ),
        ];
        for (l, want) in accepted {
            assert_eq!(speaker_label(l).map(|x| x.0), Some(want), "{l}");
        }
    }

    #[test]
    fn turns_with_an_unknown_time() {
        let t =
            "[00:00:01.000 --> 00:00:02.000] Moira: Hello.\n\n[??:??:??] Lost timing.\n\n[??:??:??] Jim: Mine too.\n";
        let doc = parse_document("n.md".into(), t.into(), &SplitOptions { speaker_turns: true }).unwrap();
        let got: Vec<(&str, Option<&str>, Option<&str>)> =
            doc.passages.iter().map(|p| (doc.passage_text(p), p.speaker.as_deref(), p.time.as_deref())).collect();
        assert_eq!(
            got,
            [
                ("Hello.", Some("Moira"), Some("00:00:01.000 --> 00:00:02.000")),
                ("Lost timing.", None, None),
                ("Mine too.", Some("Jim"), None),
            ]
        );
    }

    #[test]
    fn notes_that_look_like_transcripts() {
        let meeting = "---\nkind: meeting\n---\nChair: Welcome.\n\nHB: Thanks.\n\nNote: late start.\n\nJM: Agreed.\n";
        let doc = parse_document("n.md".into(), meeting.into(), &SplitOptions { speaker_turns: false }).unwrap();
        assert_eq!(doc.labelled_paragraphs(), (3, 4));
        assert!(doc.looks_like_transcript());
        let prose = "---\nkind: meeting\n---\nChair: Welcome.\n\nWe talked.\n\nNote: late.\n\nThen left.\n";
        let doc = parse_document("n.md".into(), prose.into(), &SplitOptions { speaker_turns: false }).unwrap();
        assert!(!doc.looks_like_transcript());
        // Read as a transcript, it is one already.
        let doc = parse_document("n.md".into(), meeting.into(), &SplitOptions { speaker_turns: true }).unwrap();
        assert!(!doc.looks_like_transcript());
    }

    #[test]
    fn offsets_and_lines() {
        let t = "---\r\nsite: Fife\r\n---\r\nCafé ☕ talk.\r\n\r\n👩🏽‍💼 said: no.\r\n";
        let doc = parse_document("n.md".into(), t.into(), &SplitOptions { speaker_turns: false }).unwrap();
        let chars: Vec<char> = doc.text.chars().collect();
        for p in &doc.passages {
            let s: String = chars[p.start..p.end].iter().collect();
            assert_eq!(s, doc.passage_text(p));
        }
        assert_eq!(doc.passages[0].line, 4);
        assert_eq!(doc.passages[1].line, 6);
        assert_eq!(doc.passage_text(&doc.passages[1]), "👩🏽‍💼 said: no.");
    }

    #[test]
    fn words() {
        assert_eq!(count_words("It's the CPP's 2nd away-day, isn't it?"), 8);
        // A dash that is not a word changes nothing.
        for t in ["It's the CPP's 2nd away-day, isn't it?", "'quoted' words'' and 3 4-5", "", "  x'y'z  "] {
            assert_eq!(count_words(t), count_words(&format!("{t} —")), "{t}");
        }
        assert_eq!(count_words("Été à l’école’s"), 3);
    }

    /// The words of `text` counted a character at a time, as [`count_words`] does outside its
    /// blocks of ASCII.
    fn count_words_slowly(text: &str) -> u32 {
        let (mut n, mut in_word) = (0, false);
        for c in text.chars() {
            let w = c.is_alphanumeric();
            n += u32::from(w && !in_word);
            in_word = w || (in_word && (c == '\'' || c == '’'));
        }
        n
    }

    #[test]
    fn ascii_masks_test_every_ascii_byte_at_every_place() {
        for shift in 0..64u32 {
            let block: Vec<u8> = (0..64u32).map(|j| ((j * 2 + shift * 3) % 128) as u8).collect();
            let (w, a) = ascii_masks(&block);
            for (j, &b) in block.iter().enumerate() {
                assert_eq!(w >> j & 1 == 1, b.is_ascii_alphanumeric(), "byte {b:#x} at {j}");
                assert_eq!(a >> j & 1 == 1, b == b'\'', "byte {b:#x} at {j}");
            }
        }
    }

    #[test]
    fn words_counted_in_blocks_are_those_counted_one_by_one() {
        // Words, apostrophes (alone, in runs, at block edges) and accented letters across the
        // 64-byte blocks, at every offset.
        let base = "It's  the CPP's ''2nd'' away-day, isn't it? x'''y ' 'z' Été à l’école’s 42 a";
        let mut text = String::new();
        for k in 0..40 {
            text.push_str(&base[..base.char_indices().nth(k % 30).map_or(base.len(), |(b, _)| b)]);
            text.push_str(&"'".repeat(k % 5));
            text.push_str(&"a".repeat(k % 70));
            text.push(if k % 3 == 0 { '\n' } else { ' ' });
        }
        for start in 0..80 {
            let t = &text[text.char_indices().nth(start).unwrap().0..];
            assert_eq!(count_words(t), count_words_slowly(t), "from {start}");
        }
    }

    mod prop {
        use super::super::*;
        use proptest::prelude::*;

        fn piece() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("\n".to_string()),
                Just("\r\n".to_string()),
                Just("\n\n".to_string()),
                Just("\r\n\r\n".to_string()),
                Just("# Heading\n".to_string()),
                Just("Moira: ".to_string()),
                Just("[00:00:01.000 --> 00:00:02.500] ".to_string()),
                Just("[12:30] Chair: ".to_string()),
                Just("The Chair (Hon. X (Y, Z)): ".to_string()),
                Just("---\n".to_string()),
                Just("e\u{301}".to_string()),
                Just("👩🏽‍💼".to_string()),
                Just("🎉 ".to_string()),
                Just("\u{FEFF}".to_string()),
                Just("  \t".to_string()),
                "[a-zA-Z ,.:'éß中]{1,12}",
                any::<char>().prop_map(|c| c.to_string()),
            ]
        }

        proptest! {
            #[test]
            fn lines_are_those_split_inclusive_gives(text in "(\n|\r|a|é|:| ){0,30}") {
                prop_assert_eq!(lines_inclusive(&text).collect::<Vec<_>>(), text.split_inclusive('\n').collect::<Vec<_>>());
                prop_assert_eq!(lines(&text).collect::<Vec<_>>(), text.lines().collect::<Vec<_>>());
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]
            #[test]
            fn offsets_are_exact(parts in proptest::collection::vec(piece(), 0..40), turns: bool, bom: bool) {
                let body: String = parts.concat();
                let raw = if bom { format!("\u{FEFF}{body}") } else { body };
                let text = raw.strip_prefix('\u{FEFF}').unwrap_or(&raw).to_string();
                let Ok(doc) = parse_document("n.md".into(), text.clone(), &SplitOptions { speaker_turns: turns }) else {
                    return Ok(());
                };
                // Offsets count in the text as read: composed (NFC) where the input was not.
                let text = doc.text.clone();
                let chars: Vec<char> = text.chars().collect();
                let mut last_end = 0;
                for (i, p) in doc.passages.iter().enumerate() {
                    prop_assert_eq!(p.ordinal as usize, i + 1);
                    prop_assert!(p.start < p.end);
                    prop_assert!(p.start >= last_end);
                    last_end = p.end;
                    let by_chars: String = chars[p.start..p.end].iter().collect();
                    prop_assert_eq!(&by_chars, doc.passage_text(p));
                    prop_assert_eq!(char_to_byte(&text, p.start), Some(p.byte_start));
                    prop_assert_eq!(char_to_byte(&text, p.end), Some(p.byte_end));
                    prop_assert!(!doc.passage_text(p).trim().is_empty());
                    prop_assert_eq!(&p.hash, &text_hash(doc.passage_text(p)));
                }
            }
        }
    }
}
