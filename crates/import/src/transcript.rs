//! Transcripts: WebVTT and SRT captions, Word (DOCX) documents and plain text, as turns.

use std::io::Read;

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::{Error, Problem, Result};

/// One turn (or paragraph) of a transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Turn {
    /// The speaker, where known.
    pub speaker: Option<String>,
    /// Start and end time (`hh:mm:ss.mmm`), for captions.
    pub time: Option<(String, String)>,
    /// The words.
    pub text: String,
    /// A heading to write before this turn (DOCX headings).
    pub heading: Option<String>,
}

/// A transcript read from a file, with the problems met on the way.
#[derive(Clone, Debug, Default)]
pub struct Transcript {
    /// The turns, in order.
    pub turns: Vec<Turn>,
    /// Cues or paragraphs that could not be read, with their line numbers.
    pub problems: Vec<Problem>,
}

/// Parses `hh:mm:ss.mmm` (WebVTT, also `mm:ss.mmm`) or `hh:mm:ss,mmm` (SRT) into milliseconds.
pub fn parse_timestamp(s: &str) -> Option<u64> {
    let s = s.trim();
    let (main, frac) = s.rsplit_once(['.', ',']).unwrap_or((s, "0"));
    if frac.is_empty() || frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let parts: Vec<&str> = main.split(':').collect();
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    let nums: Vec<u64> = parts.iter().map(|p| p.parse().unwrap_or(0)).collect();
    let (h, m, sec) = if nums.len() == 3 { (nums[0], nums[1], nums[2]) } else { (0, nums[0], nums[1]) };
    if m >= 60 || sec >= 60 {
        return None;
    }
    let ms: u64 = format!("{frac:0<3}").parse().ok()?;
    Some(((h * 60 + m) * 60 + sec) * 1000 + ms)
}

/// Formats milliseconds as `hh:mm:ss.mmm`.
pub fn format_timestamp(ms: u64) -> String {
    format!("{:02}:{:02}:{:02}.{:03}", ms / 3_600_000, (ms / 60_000) % 60, (ms / 1000) % 60, ms % 1000)
}

/// Removes WebVTT tags, taking the speaker from a `<v Name>` voice tag if there is one.
fn strip_tags(payload: &str) -> (Option<String>, String) {
    let mut speaker = None;
    let mut out = String::with_capacity(payload.len());
    let mut rest = payload;
    while let Some(open) = rest.find('<') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('>') else {
            out.push_str(&rest[open..]);
            rest = "";
            break;
        };
        let tag = &rest[open + 1..open + close];
        if let Some(v) = tag.strip_prefix('v').filter(|t| t.starts_with([' ', '.', '\t'])) {
            // <v Name> or <v.class Name>
            let name = v.trim_start_matches(|c: char| c != ' ' && c != '\t').trim();
            if !name.is_empty() && speaker.is_none() {
                speaker = Some(name.to_string());
            }
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    let text = out.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&nbsp;", " ");
    (speaker, text.split_whitespace().collect::<Vec<_>>().join(" "))
}

/// A `NAME: words` prefix, using the same rule as notes.
fn prefixed(text: &str) -> (Option<String>, String) {
    match fieldnotes_corpus::speaker_label(text) {
        Some((name, len)) if len < text.len() => (Some(name.to_string()), text[len..].trim().to_string()),
        _ => (None, text.to_string()),
    }
}

struct Cue {
    /// Start and end in milliseconds; `None` when the timing line could not be read.
    times: Option<(u64, u64)>,
    speaker: Option<String>,
    text: String,
}

/// Merges consecutive timed cues of one speaker into turns (cues without a speaker join the
/// turn before them only when it has no speaker either). A cue without a time stays a turn of
/// its own.
fn merge(cues: Vec<Cue>) -> Vec<Turn> {
    let mut out: Vec<Cue> = Vec::new();
    for c in cues {
        if c.text.is_empty() {
            continue;
        }
        match (out.last_mut(), c.times) {
            (Some(Cue { speaker, times: Some((_, end)), text }), Some((_, e))) if *speaker == c.speaker => {
                *end = e;
                text.push(' ');
                text.push_str(&c.text);
            }
            _ => out.push(c),
        }
    }
    out.into_iter()
        .map(|c| Turn {
            speaker: c.speaker,
            time: c.times.map(|(s, e)| (format_timestamp(s), format_timestamp(e))),
            text: c.text,
            heading: None,
        })
        .collect()
}

/// Whether a line is meant as a cue timing (`00:00:05.000 --> 00:0x:07.000`, `1:02 -> 1:05`).
fn looks_like_timing(line: &str) -> bool {
    let l = line.trim();
    l.contains("->")
        || (l.starts_with(|c: char| c.is_ascii_digit()) && l.contains(':') && !l.contains(char::is_alphabetic))
}

/// A cue whose timing could not be read: its words (the lines after its timing line, or after
/// its cue number, or the whole block) and the problem, naming the timing line.
fn untimed(line: usize, block: &[&str], what: &str) -> (Problem, String) {
    let timing = block.iter().take(2).position(|l| looks_like_timing(l));
    let numbered = block.len() > 1 && block[0].trim().bytes().all(|b| b.is_ascii_digit());
    let (problem, words) = match timing {
        Some(i) => (format!("cannot read the {what} timing `{}`", block[i].trim()), &block[i + 1..]),
        None if numbered => (format!("no {what} timing after `{}`", block[0].trim()), &block[1..]),
        None => (format!("no {what} timing before `{}`", block[0].trim()), block),
    };
    let message = if words.is_empty() {
        format!("{problem}, and no words to keep")
    } else {
        format!("{problem}; its words were kept, without a time")
    };
    (Problem { line: line + timing.unwrap_or(0), message }, words.join(" "))
}

fn blocks(text: &str) -> Vec<(usize, Vec<&str>)> {
    let mut out = Vec::new();
    let mut cur: Vec<&str> = Vec::new();
    let mut start = 0;
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push((start, std::mem::take(&mut cur)));
            }
        } else {
            if cur.is_empty() {
                start = i + 1;
            }
            cur.push(line);
        }
    }
    if !cur.is_empty() {
        out.push((start, cur));
    }
    out
}

fn timing(line: &str) -> Option<(u64, u64)> {
    let (a, b) = line.split_once("-->")?;
    let b = b.split_whitespace().next()?;
    Some((parse_timestamp(a)?, parse_timestamp(b)?))
}

/// The timing line of a cue: the first line, or the second after a cue identifier.
fn cue_timing(block: &[&str]) -> Option<(usize, (u64, u64))> {
    let tline = if block[0].contains("-->") { 0 } else { 1 };
    Some((tline, timing(block.get(tline)?)?))
}

/// Reads WebVTT captions.
pub fn parse_vtt(text: &str) -> Result<Transcript> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if !text.trim_start().starts_with("WEBVTT") {
        return Err(Error::Format { line: 1, message: "a WebVTT file starts with `WEBVTT`".into() });
    }
    let mut t = Transcript::default();
    let mut cues = Vec::new();
    for (i, (line, block)) in blocks(text).into_iter().enumerate() {
        let first = block[0].trim_start();
        if i == 0 && first.starts_with("WEBVTT") {
            continue;
        }
        if first.starts_with("NOTE") || first.starts_with("STYLE") || first.starts_with("REGION") {
            continue;
        }
        let (times, payload) = match cue_timing(&block) {
            Some((tline, times)) => (Some(times), block[(tline + 1).min(block.len())..].join(" ")),
            None => {
                let (problem, words) = untimed(line, &block, "cue");
                t.problems.push(problem);
                (None, words)
            }
        };
        // A cue may hold several voices (`<v Jane>Short.</v>\n<v Moira>Reply.</v>`): each is a
        // turn of its own, at the cue's time.
        for part in voice_parts(&payload) {
            let (voice, words) = strip_tags(part);
            let (speaker, words) = match voice {
                Some(v) => (Some(v), words),
                None => prefixed(&words),
            };
            cues.push(Cue { times, speaker, text: words });
        }
    }
    t.turns = merge(cues);
    Ok(t)
}

/// A cue's payload cut before each voice tag (`<v Name>`, `<v.class Name>`) after the first.
fn voice_parts(payload: &str) -> Vec<&str> {
    let starts: Vec<usize> = payload
        .match_indices("<v")
        .map(|(i, _)| i)
        .filter(|&i| payload[i + 2..].starts_with([' ', '.', '\t']))
        .collect();
    let mut cuts: Vec<usize> = starts.into_iter().filter(|&i| payload[..i].trim() != "").collect();
    cuts.insert(0, 0);
    cuts.push(payload.len());
    cuts.windows(2).map(|w| &payload[w[0]..w[1]]).filter(|p| !p.trim().is_empty()).collect()
}

/// Reads SRT subtitles.
pub fn parse_srt(text: &str) -> Result<Transcript> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut t = Transcript::default();
    let mut cues = Vec::new();
    for (line, block) in blocks(text) {
        let (times, payload) = match cue_timing(&block) {
            Some((tline, times)) => (Some(times), block[(tline + 1).min(block.len())..].join(" ")),
            None => {
                let (problem, words) = untimed(line, &block, "subtitle");
                t.problems.push(problem);
                (None, words)
            }
        };
        let (_, words) = strip_tags(&payload);
        let (speaker, words) = prefixed(&words);
        cues.push(Cue { times, speaker, text: words });
    }
    if cues.iter().all(|c| c.times.is_none()) && !t.problems.is_empty() {
        return Err(Error::Format { line: t.problems[0].line, message: "no readable subtitles".into() });
    }
    t.turns = merge(cues);
    Ok(t)
}

/// Reads plain text: paragraphs, with `NAME:` prefixes as speakers, and `[hh:mm:ss]` stamps
/// before them as times. A line inside a paragraph opens a turn of its own as it does in a note
/// ([`fieldnotes_corpus::opens_turn_inside_paragraph`]: transcripts with a turn a line and no
/// blank lines between are common); any other line carries on the turn above it.
pub fn parse_plain(text: &str) -> Transcript {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut turns: Vec<Turn> = Vec::new();
    let mut speakers: std::collections::HashSet<String> = std::collections::HashSet::new();
    for (_, block) in blocks(text) {
        let mut open = false;
        for line in block.iter().map(|l| l.trim()).filter(|l| !l.is_empty()) {
            let opens = fieldnotes_corpus::turn_prefix(line).filter(|&(_, name, len)| {
                !open || fieldnotes_corpus::opens_turn_inside_paragraph(line, name, len, &speakers)
            });
            match (opens, turns.last_mut()) {
                (None, Some(turn)) if open => {
                    turn.text.push(' ');
                    turn.text.push_str(line);
                }
                (None, _) => {
                    turns.push(Turn { speaker: None, time: None, text: line.to_string(), heading: None });
                }
                (Some((time, name, len)), _) => {
                    if let Some(n) = name {
                        speakers.insert(n.to_string());
                    }
                    turns.push(Turn {
                        speaker: name.map(str::to_string),
                        // A single stamp: a start without an end.
                        time: time.map(|t| match t.split_once("-->") {
                            Some((a, b)) => (a.trim().to_string(), b.trim().to_string()),
                            None => (t.to_string(), String::new()),
                        }),
                        text: line[len..].trim().to_string(),
                        heading: None,
                    });
                }
            }
            open = true;
        }
    }
    turns.retain(|t| !t.text.is_empty() || t.speaker.is_some());
    Transcript { turns, problems: Vec::new() }
}

/// Most bytes read from one entry of a zip file (DOCX, XLSX): a guard against zip bombs.
pub const MAX_ENTRY_BYTES: u64 = 256 << 20;

/// Reads a Word document: paragraphs, headings (paragraph styles `Heading…`/`Title`) and
/// `NAME:` speaker prefixes.
pub fn parse_docx(bytes: &[u8]) -> Result<Transcript> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| Error::Format { line: 0, message: format!("not a DOCX (zip) file: {e}") })?;
    let mut xml = String::new();
    {
        let entry = zip.by_name("word/document.xml").map_err(|_| Error::Format {
            line: 0,
            message: "no `word/document.xml` inside: not a Word document".into(),
        })?;
        entry
            .take(MAX_ENTRY_BYTES)
            .read_to_string(&mut xml)
            .map_err(|e| Error::Format { line: 0, message: format!("cannot read the document: {e}") })?;
    }
    let mut reader = Reader::from_str(&xml);
    let mut turns = Vec::new();
    let mut para = String::new();
    let mut style = String::new();
    let mut in_text = false;
    let mut pending_heading: Option<String> = None;
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) => match e.name().as_ref() {
                "w:p" => {
                    para.clear();
                    style.clear();
                }
                "w:t" => in_text = true,
                _ => {}
            },
            Ok(Event::Empty(e)) => match e.name().as_ref() {
                "w:pStyle" => {
                    if let Some(v) = e.try_get_attribute("w:val").ok().flatten() {
                        style = v.value.to_string();
                    }
                }
                "w:tab" => para.push('\t'),
                "w:br" | "w:cr" => para.push(' '),
                _ => {}
            },
            Ok(Event::Text(t)) if in_text => {
                let raw: String = t.as_ref().to_string();
                para.push_str(&quick_xml::escape::unescape(&raw).map(|c| c.to_string()).unwrap_or(raw));
            }
            Ok(Event::GeneralRef(r)) if in_text => {
                let name: String = r.as_ref().to_string();
                para.push_str(match name.as_str() {
                    "amp" => "&",
                    "lt" => "<",
                    "gt" => ">",
                    "quot" => "\"",
                    "apos" => "'",
                    _ => "",
                });
            }
            Ok(Event::End(e)) => match e.name().as_ref() {
                "w:t" => in_text = false,
                "w:p" => {
                    let text = para.split_whitespace().collect::<Vec<_>>().join(" ");
                    if text.is_empty() {
                        continue;
                    }
                    let s = style.to_lowercase();
                    if s.starts_with("heading") || s == "title" || s.starts_with("berschrift") {
                        pending_heading = Some(text);
                    } else {
                        let (speaker, words) = prefixed(&text);
                        turns.push(Turn { speaker, time: None, text: words, heading: pending_heading.take() });
                    }
                }
                _ => {}
            },
            Ok(Event::Eof) => break,
            Err(e) => {
                return Err(Error::Format {
                    line: 0,
                    message: format!("malformed document XML at byte {}: {e}", reader.error_position()),
                });
            }
            _ => {}
        }
    }
    Ok(Transcript { turns, problems: Vec::new() })
}

/// The body of a note for a transcript: headings, then one paragraph per turn, each
/// `[start --> end] Speaker: words` (parts present as known). In captions, a turn whose time
/// could not be read opens with [`fieldnotes_corpus::UNKNOWN_TIME`], so that it is a turn of its
/// own, without a time, rather than more words of the turn before.
pub fn note_body(t: &Transcript) -> String {
    let timed = t.turns.iter().any(|turn| turn.time.is_some());
    let mut out = String::new();
    for turn in &t.turns {
        if let Some(h) = &turn.heading {
            out.push_str(&format!("# {h}\n\n"));
        }
        match &turn.time {
            Some((s, e)) if e.is_empty() => out.push_str(&format!("[{s}] ")),
            Some((s, e)) => out.push_str(&format!("[{s} --> {e}] ")),
            None if timed => {
                out.push_str(fieldnotes_corpus::UNKNOWN_TIME);
                out.push(' ');
            }
            None => {}
        }
        if let Some(sp) = &turn.speaker {
            out.push_str(&format!("{sp}: "));
        }
        out.push_str(&turn.text);
        out.push_str("\n\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps() {
        assert_eq!(parse_timestamp("00:01:02.500"), Some(62_500));
        assert_eq!(parse_timestamp("01:02.5"), Some(62_500));
        assert_eq!(parse_timestamp("00:00:01,020"), Some(1_020));
        assert_eq!(parse_timestamp("00:61:00.000"), None);
        assert_eq!(format_timestamp(3_723_004), "01:02:03.004");
    }

    #[test]
    fn vtt_voices_merges_and_bad_cues() {
        let vtt = "WEBVTT\n\nNOTE a comment\n\n1\n00:00:01.000 --> 00:00:02.000\n<v Moira>Hello there.</v>\n\n00:00:02.000 --> 00:00:03.500 align:start\n<v Moira>Still me.\n\nbroken --> timing\nLost words.\n\n00:00:04.000 --> 00:00:05.000\nInterviewer: And <i>then</i>?\n";
        let t = parse_vtt(vtt).unwrap();
        assert_eq!(t.turns.len(), 3);
        assert_eq!(t.turns[0].speaker.as_deref(), Some("Moira"));
        assert_eq!(t.turns[0].text, "Hello there. Still me.");
        assert_eq!(t.turns[0].time, Some(("00:00:01.000".into(), "00:00:03.500".into())));
        // The cue with a broken timing keeps its words, without a time.
        assert_eq!(t.turns[1], Turn { speaker: None, time: None, text: "Lost words.".into(), heading: None });
        assert_eq!(t.turns[2].speaker.as_deref(), Some("Interviewer"));
        assert_eq!(t.turns[2].text, "And then?");
        assert_eq!(t.problems.len(), 1);
        assert_eq!(t.problems[0].line, 12);
        assert!(t.problems[0].message.contains("`broken --> timing`; its words were kept"), "{:?}", t.problems);
        assert!(parse_vtt("not vtt").is_err());
    }

    #[test]
    fn cues_with_unreadable_timings_keep_their_words() {
        let vtt = "WEBVTT\n\n1\n00:00:01.000 --> 00:00:02.000\n<v Moira>Before.\n\n2\n00:00:05.000 --> 00:0x:07.000\n<v Moira>The lost words.\n\n3\n00:00:08.000 --> 00:00:09.000\n<v Moira>After.\n";
        let t = parse_vtt(vtt).unwrap();
        let got: Vec<(Option<&str>, bool, &str)> =
            t.turns.iter().map(|t| (t.speaker.as_deref(), t.time.is_some(), t.text.as_str())).collect();
        assert_eq!(
            got,
            [
                (Some("Moira"), true, "Before."),
                (Some("Moira"), false, "The lost words."),
                (Some("Moira"), true, "After.")
            ]
        );
        assert_eq!(t.problems[0].line, 8);
        assert!(t.problems[0].message.contains("`00:00:05.000 --> 00:0x:07.000`"), "{:?}", t.problems);
        // Written as a note, the untimed cue is a turn of its own without a time.
        let body = note_body(&t);
        assert!(body.contains("\n\n[??:??:??] Moira: The lost words.\n\n"), "{body}");
        let doc = fieldnotes_corpus::parse_document(
            "n.md".into(),
            body,
            &fieldnotes_corpus::SplitOptions { speaker_turns: true },
        )
        .unwrap();
        let times: Vec<Option<&str>> = doc.passages.iter().map(|p| p.time.as_deref()).collect();
        assert_eq!(times, [Some("00:00:01.000 --> 00:00:02.000"), None, Some("00:00:08.000 --> 00:00:09.000")]);
        // SRT: the same, and a block with no timing line at all keeps its words too.
        let srt = "1\n00:00:01,000 --> 00:00:02,000\nChair: Order.\n\n2\n00:00:02,000 -> 00:00:03,000\nChair: Order, please.\n\n3\nMember: Thank you.\n";
        let t = parse_srt(srt).unwrap();
        let texts: Vec<&str> = t.turns.iter().map(|t| t.text.as_str()).collect();
        assert_eq!(texts, ["Order.", "Order, please.", "Thank you."]);
        assert_eq!(t.problems.iter().map(|p| p.line).collect::<Vec<_>>(), [6, 9]);
        assert!(
            t.problems[1].message.starts_with("no subtitle timing after `3`; its words were kept"),
            "{:?}",
            t.problems
        );
        assert!(parse_srt("not subtitles\n").is_err());
    }

    #[test]
    fn srt_with_prefixes() {
        let srt = "1\n00:00:01,000 --> 00:00:02,000\nCHAIR: Order.\n\n2\n00:00:02,000 --> 00:00:03,000\nCHAIR: Order, please.\n\n3\n00:00:03,000 --> 00:00:04,000\nMember: Thank you.\n";
        let t = parse_srt(srt).unwrap();
        assert_eq!(t.turns.len(), 2);
        assert_eq!(t.turns[0].text, "Order. Order, please.");
        let body = note_body(&t);
        assert!(body.starts_with("[00:00:01.000 --> 00:00:03.000] CHAIR: Order. Order, please.\n\n"), "{body}");
    }

    #[test]
    fn plain_paragraphs() {
        let t = parse_plain("Q: How long?\nA while.\n\nA: Months.\n");
        assert_eq!(t.turns.len(), 2);
        assert_eq!(t.turns[0].text, "How long? A while.");
        assert_eq!(t.turns[1].speaker.as_deref(), Some("A"));
    }

    #[test]
    fn a_cue_of_two_voices_is_two_turns() {
        let t =
            parse_vtt("WEBVTT\n\n00:00:09.500 --> 00:00:12.000\n<v Jane>Short.</v>\n<v Moira>Reply in same cue.</v>\n")
                .unwrap();
        let got: Vec<(Option<&str>, &str)> = t.turns.iter().map(|t| (t.speaker.as_deref(), t.text.as_str())).collect();
        assert_eq!(got, [(Some("Jane"), "Short."), (Some("Moira"), "Reply in same cue.")]);
        assert!(t.turns.iter().all(|t| t.time == Some(("00:00:09.500".into(), "00:00:12.000".into()))));
    }

    #[test]
    fn plain_turns_a_line_each() {
        let t = parse_plain(
            "JANE SMITH: How did it start?\nMORAG FINDLAY: Slowly, it took\na year before they trusted us.\nJANE SMITH: And now?\nMORAG FINDLAY: better.\n",
        );
        let got: Vec<(Option<&str>, &str)> = t.turns.iter().map(|t| (t.speaker.as_deref(), t.text.as_str())).collect();
        assert_eq!(
            got,
            [
                (Some("JANE SMITH"), "How did it start?"),
                (Some("MORAG FINDLAY"), "Slowly, it took a year before they trusted us."),
                (Some("JANE SMITH"), "And now?"),
                (Some("MORAG FINDLAY"), "better."),
            ]
        );
        let t = parse_plain("[00:01:02] Jane: Hello.\n[00:01:09] Moira: Hi.\nInterviewer (RC): Why?\n");
        assert_eq!(t.turns.len(), 3);
        assert_eq!(t.turns[1].time, Some(("00:01:09".to_string(), String::new())));
        assert_eq!(t.turns[2].speaker.as_deref(), Some("Interviewer (RC)"));
        let body = note_body(&t);
        assert!(body.starts_with("[00:01:02] Jane: Hello.\n\n[00:01:09] Moira: Hi.\n\n"), "{body}");
        let doc = fieldnotes_corpus::parse_document(
            "n.md".into(),
            format!("---\nkind: interview\n---\n{body}"),
            &fieldnotes_corpus::SplitOptions { speaker_turns: true },
        )
        .unwrap();
        let speakers: Vec<Option<&str>> = doc.passages.iter().map(|p| p.speaker.as_deref()).collect();
        assert_eq!(speakers, [Some("Jane"), Some("Moira"), Some("Interviewer (RC)")]);
    }
}
