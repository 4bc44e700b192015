//! The real committee transcripts (QMSum, MIT) written out as notes, loaded, indexed and searched.

use std::collections::BTreeMap;

use crate::util::{TestProject, repo};

struct Meeting {
    file: String,
    committee: &'static str,
    turns: Vec<(String, String)>,
    topics: usize,
}

fn meetings() -> Vec<Meeting> {
    let dir = repo().join("data/qmsum-committee");
    let mut out = Vec::new();
    let mut names: Vec<_> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().to_string()).collect();
    names.sort();
    for name in names.into_iter().filter(|n| n.ends_with(".json")) {
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(dir.join(&name)).unwrap()).unwrap();
        let turns = v["meeting_transcripts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| {
                (
                    t["speaker"].as_str().unwrap().split_whitespace().collect::<Vec<_>>().join(" "),
                    t["content"].as_str().unwrap().trim().to_string(),
                )
            })
            .collect();
        let committee = if name.starts_with("covid") { "COVID-19 Committee" } else { "Education Committee" };
        let topics = v["topic_list"].as_array().map_or(0, |t| t.len());
        out.push(Meeting { file: name.replace(".json", ".md"), committee, turns, topics });
    }
    out
}

/// Imports the meetings with `fieldnotes import qmsum`, one committee (site) at a time.
fn project(ms: &[Meeting]) -> TestProject {
    let p = TestProject::new();
    let dir = repo().join("data/qmsum-committee");
    for (prefix, site) in [("covid", "COVID-19 Committee"), ("education", "Education Committee")] {
        let files: Vec<String> = ms
            .iter()
            .filter(|m| m.file.starts_with(prefix))
            .map(|m| dir.join(m.file.replace(".md", ".json")).display().to_string())
            .collect();
        let mut args = vec!["import", "qmsum", "--site", site, "-q"];
        args.extend(files.iter().map(String::as_str));
        let o = p.run_expect(&args, 0);
        // A turn with no words is said to be left out, with where it was.
        if prefix == "covid" {
            let err = crate::util::stderr(&o);
            assert!(
                err.contains("covid_6.json`: 1 turn(s) with no words left out (turn 153 (Hon. Bill Morneau))"),
                "{err}"
            );
        }
    }
    p
}

#[test]
fn committee_transcripts_load_index_and_search() {
    let ms = meetings();
    assert_eq!(ms.len(), 36);
    let p = project(&ms);
    let list = p.json(&["notes", "--list", "--json"]);
    let docs = list.as_array().unwrap();
    assert_eq!(docs.len(), 36);
    let total_turns: usize = ms.iter().map(|m| m.turns.iter().filter(|t| !t.1.is_empty()).count()).sum();
    let mut passages = 0;
    for d in docs {
        let path = d["path"].as_str().unwrap();
        // A note is named after its file, as the one slug of the workspace makes names (`_` kept).
        let m = ms.iter().find(|m| path.ends_with(&format!("/{}", m.file))).unwrap();
        let ps = d["passages"].as_array().unwrap();
        let turns: Vec<&(String, String)> = m.turns.iter().filter(|t| !t.1.is_empty()).collect();
        assert_eq!(ps.len(), turns.len(), "{}", m.file);
        for (p, t) in ps.iter().zip(&turns) {
            assert_eq!(p["speaker"].as_str().unwrap(), t.0, "{}", m.file);
        }
        passages += ps.len();
    }
    assert_eq!(passages, total_turns);

    // Speaker filter and phrase counts by committee, against a brute-force scan.
    let speaker = "The Chair";
    let want_chair =
        ms.iter().flat_map(|m| &m.turns).filter(|t| t.0.eq_ignore_ascii_case(speaker) && !t.1.is_empty()).count();
    let v = p.json(&["search", &format!("speaker:=\"{speaker}\""), "--count", "--json"]);
    assert_eq!(v["total"].as_u64().unwrap() as usize, want_chair);
    assert!(want_chair > 0);
    let words = |s: &str| {
        s.split(|c: char| !c.is_alphanumeric()).filter(|w| !w.is_empty()).map(str::to_lowercase).collect::<Vec<_>>()
    };
    // The words of a label find its turns, long name-and-office labels included: `speaker:"the
    // chair"` also finds `The Chair (Hon. Anthony Rota (Nipissing—Timiskaming, Lib.))`, and
    // `speaker:minister` every minister's turns, whose labels never stay in the text.
    for (q, w) in [("\"the chair\"", &["the", "chair"][..]), ("minister", &["minister"][..])] {
        let want = ms
            .iter()
            .flat_map(|m| &m.turns)
            .filter(|t| !t.1.is_empty() && words(&t.0).windows(w.len()).any(|x| x == w))
            .count();
        let v = p.json(&["search", &format!("speaker:{q}"), "--count", "--json"]);
        assert_eq!(v["total"].as_u64().unwrap() as usize, want, "speaker:{q}");
        assert!(want > want_chair / 10, "{q}: {want}");
    }
    let mut want: BTreeMap<&str, u64> = BTreeMap::new();
    for m in &ms {
        for t in &m.turns {
            if words(&t.1).windows(2).any(|w| w[0] == "mental" && w[1] == "health") {
                *want.entry(m.committee).or_default() += 1;
            }
        }
    }
    let v = p.json(&["search", "\"mental health\"", "--exact", "--count", "--by", "site", "--json"]);
    let got: BTreeMap<&str, u64> =
        v["counts"].as_object().unwrap().iter().map(|(k, n)| (k.as_str(), n.as_u64().unwrap())).collect();
    assert_eq!(got, want);

    // The topic annotations arrived as codings: every annotated turn carries its topic.
    let topics: usize = ms.iter().map(|m| m.topics).sum();
    let book = p.read("codebook.toml");
    assert_eq!(book.matches("[[code]]").count() - 8, topics);
    let v = p.json(&["search", "code:covid_0-t1", "--count", "--json"]);
    assert!(v["total"].as_u64().unwrap() > 10, "{v}");
    p.run_expect(&["code", "check"], 0);
}
