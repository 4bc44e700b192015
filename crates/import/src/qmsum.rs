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
