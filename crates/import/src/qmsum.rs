//! QMSum meeting transcripts (JSON): `meeting_transcripts` turns and `topic_list` topics with
//! `relevant_text_span` ranges of turn indices (inclusive), as published with the QMSum
//! benchmark (Zhong et al., 2021).

use crate::{Error, Result};

/// A meeting: its turns and its annotated topics.
#[derive(Clone, Debug, Default)]
pub struct Meeting {
    /// (speaker, words) per turn, in order; turns with no words or no speaker are kept empty
    /// so topic spans keep their indices.
    pub turns: Vec<(String, String)>,
    /// (topic, spans of turn indices, inclusive).
    pub topics: Vec<(String, Vec<(usize, usize)>)>,
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Parses one QMSum JSON file.
pub fn parse(json: &str) -> Result<Meeting> {
    let v: serde_json::Value =
        serde_json::from_str(json).map_err(|e| Error::Format { line: e.line(), message: e.to_string() })?;
    let turns = v["meeting_transcripts"]
        .as_array()
        .ok_or_else(|| Error::Format { line: 0, message: "no `meeting_transcripts` list".into() })?
        .iter()
        .map(|t| (one_line(t["speaker"].as_str().unwrap_or("")), one_line(t["content"].as_str().unwrap_or(""))))
        .collect();
    let index = |x: &serde_json::Value| {
        x.as_str().and_then(|s| s.trim().parse().ok()).or_else(|| x.as_u64().map(|u| u as usize))
    };
    let topics = v["topic_list"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let spans = t["relevant_text_span"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| Some((index(s.get(0)?)?, index(s.get(1)?)?)))
                .collect();
            (one_line(t["topic"].as_str().unwrap_or("")), spans)
        })
        .collect();
    Ok(Meeting { turns, topics })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turns_and_topics() {
        let m = parse(r#"{"topic_list":[{"topic":"Opening","relevant_text_span":[["0","1"]]}],"meeting_transcripts":[{"speaker":"Chair","content":"Order,  order."},{"speaker":"A","content":""}]}"#).unwrap();
        assert_eq!(m.turns[0], ("Chair".to_string(), "Order, order.".to_string()));
        assert_eq!(m.topics, [("Opening".to_string(), vec![(0, 1)])]);
        assert!(parse("{}").is_err());
        assert!(parse("not json").is_err());
    }
}

/// The committee transcripts of `data/qmsum-committee` written as notes, one `Speaker: words`
/// paragraph per turn: every turn must come back as its own passage with its own speaker.
#[cfg(test)]
mod committee {
    use fieldnotes_corpus::{SplitOptions, parse_document};

    /// A label as Hansard prints it without brackets: `Hon. Bill Blair Minister of Public Safety ...`.
    fn unbracketed(s: &str) -> String {
        s.replace(['(', ')'], " ").split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// Words wrapped at 72 columns, so that lines inside a turn open with ordinary words.
    fn wrapped(words: &str) -> String {
        let mut out = String::new();
        let mut col = 0;
        for w in words.split(' ') {
            if col > 0 && col + w.len() > 72 {
                out.push('\n');
                col = 0;
            } else if col > 0 {
                out.push(' ');
                col += 1;
            }
            out.push_str(w);
            col += w.len();
        }
        out
    }

    /// (turns, turns read back as one passage with their speaker and words) over every meeting.
    fn matches(label: fn(&str) -> String, wrap: bool) -> (usize, usize) {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/qmsum-committee");
        let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        files.sort();
        let (mut total, mut good) = (0, 0);
        for f in files.iter().filter(|f| f.extension().is_some_and(|e| e == "json")) {
            let m = super::parse(&std::fs::read_to_string(f).unwrap()).unwrap();
            let mut note = String::from("---\nkind: meeting\ntranscript: true\n---\n");
            // Each turn's paragraph as a byte range of the note, with its speaker and words.
            let mut turns = Vec::new();
            for (speaker, words) in m.turns.iter().filter(|t| !t.1.is_empty()) {
                let start = note.len();
                let speaker = label(speaker);
                note.push_str(&format!("{speaker}: {}", if wrap { wrapped(words) } else { words.clone() }));
                turns.push((start..note.len(), speaker, words.as_str()));
                note.push_str("\n\n");
            }
            let doc = parse_document("n.md".into(), note, &SplitOptions { speaker_turns: true }).unwrap();
            total += turns.len();
            for (range, speaker, words) in &turns {
                let inside: Vec<_> = doc.passages.iter().filter(|p| range.contains(&p.byte_start)).collect();
                if let [p] = inside[..]
                    && p.speaker.as_deref() == Some(speaker.as_str())
                    && doc.passage_text(p).replace('\n', " ") == *words
                {
                    good += 1;
                }
            }
        }
        (total, good)
    }

    #[test]
    fn every_turn_keeps_its_speaker() {
        let (total, good) = matches(|s| s.to_string(), false);
        assert_eq!(good, total, "labels as in the JSON");
        assert!(total > 7000, "{total}");
        let (total, good) = matches(unbracketed, false);
        assert_eq!(good, total, "labels without brackets");
        // Turns wrapped at 72 columns: a line inside a turn is rarely taken for a label. The
        // turns that are quote a title or a speaker inside their words (`... Ms. Marilyn\nGladu:
        // Which day?`, `... Dalton's May 2020 report, Financial Compensation for Canadian
        // Veterans: A\ncomparative analysis ...`).
        let (total, good) = matches(|s| s.to_string(), true);
        assert!(total - good <= 4, "wrapped turns: {good} of {total}");
    }
}
