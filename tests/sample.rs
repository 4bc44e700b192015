//! The sample study in `data/sample`.

use std::collections::{BTreeMap, BTreeSet};

use crate::util::TestProject;

#[test]
fn sample_study_has_the_promised_shape() {
    let p = TestProject::sample();
    let v = p.json(&["notes", "--json"]);
    assert!(v["documents"].as_u64().unwrap() >= 60, "{v}");
    assert!(v["passages"].as_u64().unwrap() >= 600, "{v}");
    let groups = v["groups"].as_object().unwrap();
    assert!(groups.len() >= 7, "{groups:?}");
    for site in ["Aberdeenshire", "Fife", "Glasgow", "West Dunbartonshire"] {
        let kinds = groups[site]["kinds"].as_object().unwrap();
        for kind in ["meeting", "interview", "observation", "workshop", "memo"] {
            assert!(kinds.contains_key(kind), "{site} has no {kind}");
        }
    }
    assert!(v["skipped"].as_array().unwrap().is_empty(), "{}", v["skipped"]);
    // Interview turns carry speakers.
    let list = p.json(&["notes", "--list", "--json"]);
    let with_speaker = list
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["passages"].as_array().unwrap().iter())
        .filter(|p| p["speaker"].is_string())
        .count();
    assert!(with_speaker > 100, "{with_speaker} speaker turns");
}

#[test]
fn auto_coder_finds_every_consideration_at_every_cpp_site() {
    let p = TestProject::sample();
    p.run(&["code", "auto"]);
    let lines = p.run(&["code", "list", "--json"]);
    let mut seen: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in lines.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let code = v["coding"]["code"].as_str().unwrap().to_string();
        let site = v["site"].as_str().unwrap().to_string();
        assert_eq!(v["coding"]["status"], "suggested");
        assert!(!v["coding"]["evidence"].as_array().unwrap().is_empty());
        seen.entry(site).or_default().insert(code);
    }
    for site in ["Aberdeenshire", "Fife", "Glasgow", "West Dunbartonshire"] {
        let codes = seen.get(site).cloned().unwrap_or_default();
        assert_eq!(codes.len(), 8, "{site}: {codes:?}");
    }
    // Re-running adds nothing.
    let before = p.read("codings/rules.jsonl").lines().count();
    p.run(&["code", "auto"]);
    assert_eq!(p.read("codings/rules.jsonl").lines().count(), before);
}
