//! The coding state: commands about one passage read one note and its codings through the
//! derived state, and what they see, write and index is what the whole ledgers say.

use std::collections::BTreeSet;

use crate::util::{TestProject, stderr};

/// (passage id, code) of every accepted coding, as `code list` (which reads the whole ledgers)
/// places them.
fn accepted(p: &TestProject) -> BTreeSet<(String, String)> {
    let out = p.run(&["code", "list", "--json", "--status", "accepted"]);
    out.lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .flat_map(|v| {
            let code = v["coding"]["code"].as_str().unwrap().to_string();
            v["passages"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |id| (id.as_str().unwrap().to_string(), code.clone()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// (passage id, code) of every coding `show` gives for the passages of `ids`, with `status`.
fn shown(p: &TestProject, ids: &[String], status: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for id in ids {
        let v = p.json(&["show", id, "--json", "-C", "0"]);
        for c in v["passages"][0]["codings"].as_array().unwrap() {
            if c["status"] == status {
                out.insert((id.clone(), c["code"].as_str().unwrap().to_string()));
            }
        }
    }
    out
}

/// Ids of the first `n` passages `search` finds for `query`.
fn hit_ids(p: &TestProject, query: &str, n: &str) -> Vec<String> {
    hit_list(&p.json(&["search", query, "--json", "-n", n]))
}

/// The ids of a `search --json` answer's hits.
fn hit_list(v: &serde_json::Value) -> Vec<String> {
    v["hits"].as_array().unwrap().iter().map(|h| h["id"].as_str().unwrap().to_string()).collect()
}

/// Ids of the passages `search` finds with `code:CODE`.
fn searched(p: &TestProject, code: &str) -> BTreeSet<String> {
    let o = p.cmd(&["search", &format!("code:{code}"), "--json", "-n", "10000"]).output().unwrap();
    if o.stdout.is_empty() {
        return BTreeSet::new();
    }
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&o)));
    hit_list(&v).into_iter().collect()
}

#[test]
fn one_passage_commands_see_and_index_what_the_ledgers_say() {
    let p = TestProject::sample();
    p.run(&["index", "-q"]);
    let manifest = p.read(".fieldnotes/index/fieldnotes-manifest.json");
    p.run(&["code", "auto", "-q"]);
    // Twenty passages over the study, each coded, some removed, one moved, one reviewed.
    let ids = hit_ids(&p, "partnership", "20");
    assert_eq!(ids.len(), 20);
    for (i, id) in ids.iter().enumerate() {
        p.run(&["code", "add", id, if i % 2 == 0 { "time" } else { "expertise" }, "--memo", &format!("m{i}"), "-q"]);
        if i % 3 == 0 {
            p.run(&["code", "add", id, "context", "--coder", "jm", "-q"]);
        }
    }
    for id in ids.iter().step_by(4) {
        p.run(&["code", "rm", id, "time", "-q"]);
    }
    // Codes are not in the index: coding, by hand or by the rules, never wrote to it.
    assert_eq!(p.read(".fieldnotes/index/fieldnotes-manifest.json"), manifest);
    let want = accepted(&p);
    assert_eq!(shown(&p, &ids, "accepted"), want.iter().filter(|(i, _)| ids.contains(i)).cloned().collect());
    // Search's code filter, kept up to date one note at a time, has the same passages.
    for code in ["time", "expertise", "context"] {
        let from_ledgers: BTreeSet<String> = want.iter().filter(|(_, c)| c == code).map(|(i, _)| i.clone()).collect();
        assert_eq!(searched(&p, code), from_ledgers, "code:{code}");
    }
    // A search not about codes shows each hit's codes, read from its note's codings.
    for h in p.json(&["search", "partnership", "--json", "-n", "20"])["hits"].as_array().unwrap() {
        let id = h["id"].as_str().unwrap();
        let codes: BTreeSet<&str> = want.iter().filter(|(i, _)| i == id).map(|(_, c)| c.as_str()).collect();
        let shown = h["attributes"]["codes"].as_str().unwrap_or("");
        assert_eq!(shown, codes.into_iter().collect::<Vec<_>>().join(", "), "{id}");
    }
    // A ledger rewritten behind the state's back (a checkout of an older version): the state
    // notices and reads the ledger as it is now.
    let ledger = p.read("codings/hb.jsonl");
    let half: String = ledger.lines().take(ledger.lines().count() / 2).map(|l| format!("{l}\n")).collect();
    p.write("codings/hb.jsonl", &half);
    assert_eq!(shown(&p, &ids, "accepted"), accepted(&p).into_iter().filter(|(i, _)| ids.contains(i)).collect());
    // A line of the ledger that cannot be read is reported by a one-passage command too.
    p.write("codings/hb.jsonl", format!("{half}{{\"op\":\"what\"}}\n"));
    let o = p.run_expect(&["show", &ids[0]], 0);
    assert!(stderr(&o).contains("hb.jsonl` line") && stderr(&o).contains("unreadable"), "{}", stderr(&o));
}

/// Every theme table `report themes` gives for a few selections, as JSON.
fn tables(p: &TestProject) -> Vec<serde_json::Value> {
    [
        vec!["report", "themes", "--format", "json", "-q"],
        vec!["report", "themes", "--format", "json", "--include-suggested", "--by", "speaker", "-q"],
        vec!["report", "themes", "--format", "json", "--coder", "jm", "--unit", "documents", "-q"],
        vec!["report", "themes", "--format", "json", "--coder", "rules", "--include-suggested", "-q"],
    ]
    .iter()
    .map(|args| p.json(args))
    .collect()
}

#[test]
fn a_coding_changes_the_report_store_in_place_as_a_rebuild_would() {
    let p = TestProject::sample();
    p.run(&["index", "-q"]);
    p.run(&["code", "auto", "-q"]);
    // jm's table is asked for before jm codes: jm's ledger is there, empty (a coder with no
    // ledger and no reviews is refused).
    p.write("codings/jm.jsonl", "");
    tables(&p);
    let ids = hit_ids(&p, "trust", "6");
    let text =
        |id: &str| p.json(&["show", id, "--json", "-C", "0"])["passages"][0]["text"].as_str().unwrap().to_string();
    let quote: String = text(&ids[1]).split_whitespace().take(3).collect::<Vec<_>>().join(" ");
    let ops: Vec<Vec<String>> = vec![
        vec!["code".into(), "add".into(), ids[0].clone(), "time".into()],
        vec![
            "code".into(),
            "add".into(),
            ids[1].clone(),
            "expertise".into(),
            "--quote".into(),
            quote,
            "--coder".into(),
            "jm".into(),
        ],
        vec!["code".into(), "add".into(), ids[2].clone(), "context".into(), "--coder".into(), "jm".into()],
        vec!["code".into(), "rm".into(), ids[0].clone(), "time".into()],
        vec!["code".into(), "add".into(), ids[3].clone(), "authenticity".into(), "--coder".into(), "ak".into()],
        vec![
            "code".into(),
            "review".into(),
            "--accept".into(),
            "--code".into(),
            "time".into(),
            "--site".into(),
            "fife".into(),
            "--coder".into(),
            "jm".into(),
        ],
        vec![
            "code".into(),
            "review".into(),
            "--reject".into(),
            "--code".into(),
            "expertise".into(),
            "--site".into(),
            "dundee".into(),
        ],
        vec!["code".into(), "rm".into(), ids[2].clone(), "context".into(), "--coder".into(), "jm".into()],
    ];
    for op in &ops {
        let args: Vec<&str> = op.iter().map(String::as_str).collect();
        p.run(&[args.as_slice(), &["-q"]].concat());
        let o = p.run_expect(&["report", "themes", "--format", "csv"], 0);
        let in_place = stderr(&o).contains("report store: the codings of");
        let kept = tables(&p);
        std::fs::remove_file(p.path().join(".fieldnotes/report.store")).unwrap();
        let rebuilt = tables(&p);
        assert_eq!(kept, rebuilt, "after {op:?} (in place: {in_place})");
        // One-note commands change the store in place; a review of many may rebuild it.
        if op[1] != "review" {
            assert!(in_place, "after {op:?}: {}", stderr(&o));
        }
    }
}

#[test]
fn agreement_between_named_coders_reads_their_shared_notes_and_agrees_with_the_whole_study() {
    let p = TestProject::sample();
    p.run(&["code", "auto", "-q"]);
    let ids = hit_ids(&p, "trust OR time", "12");
    for (i, id) in ids.iter().enumerate() {
        p.run(&["code", "add", id, if i % 3 == 0 { "expertise" } else { "time" }, "--coder", "hb", "-q"]);
        if i % 2 == 0 {
            p.run(&["code", "add", id, "time", "--coder", "jm", "-q"]);
        }
    }
    // The rules have only suggestions: compared without them, they are said to have coded nothing.
    let o = p.run_expect(&["agree", "--coders", "rules,hb"], 0);
    assert!(stderr(&o).contains("`rules` has only suggestions"), "{}", stderr(&o));
    // jm reviews some of the rules' suggestions: they count as jm's where jm accepted them.
    p.run(&["code", "review", "--accept", "--code", "context", "--site", "fife", "--coder", "jm", "-q"]);
    // With no coders named, `agree` compares the study's human coders (hb and jm, known from
    // their ledgers; the rules' is not read for it): the same as naming them.
    for extra in [vec![], vec!["--unit", "document"], vec!["--exclude-uncoded"], vec!["--disagreements", "--csv"]] {
        let whole = p.run(&[["agree", "--json"].as_slice(), &extra].concat());
        let named = p.run(&[["agree", "--json", "--coders", "hb,jm"].as_slice(), &extra].concat());
        assert_eq!(named, whole, "{extra:?}");
    }
    // The rules against jm, suggestions included: the same as from a study read whole (the
    // coding states deleted first and made again from the ledgers give the same answer).
    let named = p.run(&["agree", "--json", "--coders", "rules,jm", "--include-suggested"]);
    std::fs::remove_dir_all(p.path().join(".fieldnotes/state")).unwrap();
    assert_eq!(p.run(&["agree", "--json", "--coders", "rules,jm", "--include-suggested"]), named);
    // A coder known nowhere gets the whole study's message.
    let o = p.run_expect(&["agree", "--coders", "hb,nobody"], 2);
    assert!(stderr(&o).contains("no ledger `codings/nobody.jsonl`"), "{}", stderr(&o));
}

/// The (passage ids, code, coder) of each coding `code list --json` gives with `args`, and the
/// ids of those it lists as orphans.
fn listed(p: &TestProject, args: &[&str]) -> (BTreeSet<(String, String, String)>, BTreeSet<String>) {
    let mut all = vec!["code", "list", "--json"];
    all.extend_from_slice(args);
    let (mut placed, mut orphans) = (BTreeSet::new(), BTreeSet::new());
    for v in p.run(&all).lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()) {
        let c = &v["coding"];
        if v["orphaned"] == true {
            orphans.insert(c["id"].as_str().unwrap().to_string());
            continue;
        }
        let ids: Vec<&str> = v["passages"].as_array().unwrap().iter().map(|x| x.as_str().unwrap()).collect();
        placed.insert((
            ids.join(" "),
            c["code"].as_str().unwrap().to_string(),
            c["coder"].as_str().unwrap().to_string(),
        ));
    }
    (placed, orphans)
}

#[test]
fn whole_study_list_and_check_read_the_notes_in_batches_and_miss_no_coding() {
    // Three notes over two batches of 1 MB, and a small note coded and then deleted.
    let p = TestProject::in_batches(|i| format!("Trust takes time, said member {i}."));
    p.write("notes/gone.md", "---\nsite: Fife\n---\nA note about trust.\n");
    let last = |i: usize, site: &str| p.key_id(&format!("notes/{site}/n{i}.md#2"));
    let (a, f, g) = (last(0, "aberdeenshire"), last(1, "fife"), last(2, "glasgow"));
    p.run(&["code", "add", &a, "time", "-q"]);
    p.run(&["code", "add", &f, "context", "-q"]);
    p.run(&["code", "add", &g, "time", "--coder", "ab", "-q"]);
    p.run(&["code", "add", "notes/gone.md#1", "time", "-q"]);
    std::fs::remove_file(p.path().join("notes/gone.md")).unwrap();

    let (placed, orphans) = listed(&p, &[]);
    let want: BTreeSet<(String, String, String)> = [(&a, "time", "hb"), (&f, "context", "hb"), (&g, "time", "ab")]
        .iter()
        .map(|(id, code, coder)| (id.to_string(), code.to_string(), coder.to_string()))
        .collect();
    assert_eq!(placed, want);
    assert_eq!(orphans.len(), 1, "the coding of the deleted note is listed as an orphan");
    // The filters, and one coder's codings as its own ledger has them.
    assert_eq!(listed(&p, &["--code", "time", "--site", "glasgow"]).0.len(), 1);
    let (hb, hb_orphans) = listed(&p, &["--coder", "hb"]);
    assert_eq!(hb, want.iter().filter(|w| w.2 == "hb").cloned().collect());
    assert_eq!(hb_orphans, orphans);

    // `code check` sees every coding, the orphan among them, and where an edited note's coding
    // went.
    let glasgow = p.read("notes/glasgow/n2.md");
    p.write("notes/glasgow/n2.md", glasgow.replace("Trust takes time", "A new paragraph.\n\nTrust takes time"));
    let o = p.run_expect(&["code", "check"], 1);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(out.starts_with("4 coding(s) checked\n"), "{out}");
    assert!(out.contains("orphaned") && out.contains("note `notes/gone.md` is gone"), "{out}");
    assert_eq!(out.matches("\nmoved ").count(), 1, "{out}");
    p.run_expect(&["code", "check", "--fix", "-q"], 1);
    let out = p.run_expect(&["code", "check"], 1);
    assert!(!String::from_utf8(out.stdout).unwrap().contains("\nmoved "));
    let orphan = orphans.iter().next().unwrap();
    p.run(&["code", "rm", "--id", orphan, "-q"]);
    p.run_expect(&["code", "check"], 0);
}
