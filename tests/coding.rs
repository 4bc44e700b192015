//! Manual coding, the ledger under concurrency and crashes, review, checks, agreement.

use std::process::Stdio;

use crate::util::{TestProject, stderr};

fn two_notes() -> TestProject {
    let p = TestProject::new();
    p.write(
        "notes/fife/a.md",
        "---\nsite: Fife\nkind: meeting\n---\nIt took months before the partnership trusted us.\n\nWe met over coffee away from the board.\n\nThe agenda ran late.\n",
    );
    p.write("notes/glasgow/b.md", "---\nsite: Glasgow\nkind: memo\n---\nStaff turnover meant starting again.\n\nPartners wanted to own the change.\n");
    p
}

#[test]
fn add_list_remove_and_search_codes() {
    let p = two_notes();
    p.run(&["index"]);
    p.run(&["code", "add", "notes/fife/a.md#1", "time", "--memo", "slow start"]);
    p.run(&["code", "add", "notes/fife/a.md#2", "personalised-connections", "--quote", "over coffee"]);
    // Idempotent.
    p.run(&["code", "add", "notes/fife/a.md#1", "time"]);
    assert_eq!(p.read("codings/hb.jsonl").lines().count(), 2);
    let o = p.run_expect(&["code", "add", "notes/fife/a.md#1", "tiem"], 2);
    assert!(stderr(&o).contains("unknown code `tiem`"), "{}", stderr(&o));
    let o = p.run_expect(&["code", "add", "notes/fife/a.md#2", "time", "--quote", "not there"], 2);
    assert!(stderr(&o).contains("not in passage"), "{}", stderr(&o));
    // The same words in another case are named, and nothing is coded with them.
    let o = p.run_expect(&["code", "add", "notes/fife/a.md#2", "time", "--quote", "OVER COFFEE"], 2);
    assert!(stderr(&o).contains("but \"over coffee\" is"), "{}", stderr(&o));
    assert_eq!(p.read("codings/hb.jsonl").lines().count(), 2);
    // Search knows the codes at once.
    let v = p.json(&["search", "code:time AND site:fife", "--json"]);
    assert_eq!(v["total"], 1);
    let csv = p.run(&["code", "list", "--csv"]);
    assert_eq!(csv.lines().count(), 3, "{csv}");
    assert!(csv.contains("over coffee"), "{csv}");
    p.run(&["code", "rm", "notes/fife/a.md#1", "time"]);
    // No hits: exit status 1, as grep does, with the JSON still printed.
    let o = p.run_expect(&["search", "code:time", "--json"], 1);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["total"], 0);
    let csv = p.run(&["code", "list", "--csv", "--code", "time"]);
    assert_eq!(csv.lines().count(), 1, "{csv}");
}

#[test]
fn eight_coders_at_once_lose_nothing() {
    let p = two_notes();
    let passages =
        ["notes/fife/a.md#1", "notes/fife/a.md#2", "notes/fife/a.md#3", "notes/glasgow/b.md#1", "notes/glasgow/b.md#2"];
    let codes = ["time", "context", "expertise", "authenticity"];
    let mut children = Vec::new();
    for w in 0..8 {
        let script: Vec<String> = passages
            .iter()
            .flat_map(|pa| codes.iter().map(move |c| (pa, c)))
            .map(|(pa, c)| {
                format!("'{}' code add '{pa}' {c} --coder shared --memo w{w} -q", env!("CARGO_BIN_EXE_fieldnotes"))
            })
            .collect();
        // Every writer adds the same 20 codings to the same ledger, plus 20 of its own.
        let own: Vec<String> = passages
            .iter()
            .flat_map(|pa| codes.iter().map(move |c| (pa, c)))
            .map(|(pa, c)| format!("'{}' code add '{pa}' {c} --coder w{w} -q", env!("CARGO_BIN_EXE_fieldnotes")))
            .collect();
        let child = std::process::Command::new("bash")
            .current_dir(p.path())
            .args(["-e", "-c", &format!("{}\n{}", script.join("\n"), own.join("\n"))])
            .env("NO_COLOR", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running bash");
        children.push(child);
    }
    for c in children {
        let o = c.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let shared = p.read("codings/shared.jsonl");
    // Each line is a whole JSON event; duplicates raced in are allowed only as the same id.
    let mut ids = std::collections::BTreeSet::new();
    for line in shared.lines() {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("interleaved line {line:?}: {e}"));
        ids.insert(v["id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 20);
    for w in 0..8 {
        assert_eq!(p.read(&format!("codings/w{w}.jsonl")).lines().count(), 20);
    }
}

#[test]
fn a_torn_ledger_tail_is_reported_and_kept_aside() {
    let p = two_notes();
    p.run(&["code", "add", "notes/fife/a.md#1", "time"]);
    let mut ledger = p.read("codings/hb.jsonl");
    ledger.push_str("{\"op\":\"add\",\"id\":\"cx\",\"do");
    p.write("codings/hb.jsonl", &ledger);
    let o = p.run_expect(&["code", "list", "--csv"], 0);
    assert!(stderr(&o).contains("codings/hb.jsonl` line 2: torn last line"), "{}", stderr(&o));
    p.run(&["code", "add", "notes/fife/a.md#2", "context"]);
    let o = p.run_expect(&["code", "list", "--csv"], 0);
    assert!(!stderr(&o).contains("torn"), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 3);
    assert!(p.read("codings/hb.jsonl.torn").contains("\"id\":\"cx\""));
}

#[test]
fn edited_notes_move_or_orphan_codings() {
    let p = two_notes();
    p.run(&["code", "add", "notes/fife/a.md#2", "personalised-connections", "--quote", "over coffee"]);
    p.run(&["code", "add", "notes/glasgow/b.md#2", "accountability-ownership"]);
    p.run_expect(&["code", "check"], 0);
    p.write(
        "notes/fife/a.md",
        "---\nsite: Fife\nkind: meeting\n---\nA new first paragraph.\n\nIt took months before the partnership trusted us.\n\nWe met over coffee away from the board.\n",
    );
    p.write("notes/glasgow/b.md", "---\nsite: Glasgow\nkind: memo\n---\nStaff turnover meant starting again.\n");
    let out = String::from_utf8(p.run_expect(&["code", "check"], 1).stdout).unwrap();
    assert!(out.contains("moved") && out.contains("orphaned"), "{out}");
    // Moved codings count on their new passage even before --fix.
    let v = p.json(&["show", "notes/fife/a.md#3", "--json"]);
    assert_eq!(v["passages"][1]["codings"][0]["code"], "personalised-connections");
    p.run_expect(&["code", "check", "--fix"], 1);
    let out = String::from_utf8(p.run_expect(&["code", "check"], 1).stdout).unwrap();
    assert!(!out.contains("moved ") && out.contains("orphaned"), "{out}");
    // The orphan is still in the ledger.
    assert!(p.read("codings/hb.jsonl").contains("accountability-ownership"));
}

#[test]
fn auto_coding_reads_the_notes_in_batches() {
    let p = TestProject::in_batches(|_| "Staff turnover meant starting again from scratch.".into());
    p.run(&["index"]);
    let out = stderr(&p.run_expect(&["code", "auto"], 0));
    assert!(out.contains("added 3 suggestion(s)"), "{out}");
    // Every batch's suggestions are in the ledger, once, and in the index.
    let ledger = p.read("codings/rules.jsonl");
    assert_eq!(ledger.lines().count(), 3, "{ledger}");
    for i in 0..3 {
        assert!(ledger.contains(&format!("n{i}.md")), "{ledger}");
    }
    // The suggestions are not reviewed: `code:` counts them only when asked to.
    let o = p.run_expect(&["search", "code:time", "--json"], 1);
    assert!(stderr(&o).contains("--include-suggested"), "{}", stderr(&o));
    let v = p.json(&["search", "code:time", "--include-suggested", "--json"]);
    assert_eq!(v["total"], 3, "{v}");
    // A rerun adds nothing; a rebuilt index agrees with the one updated batch by batch.
    let out = stderr(&p.run_expect(&["code", "auto"], 0));
    assert!(out.contains("added 0 suggestion(s)"), "{out}");
    assert_eq!(p.read("codings/rules.jsonl"), ledger);
    p.run(&["index", "--rebuild"]);
    assert_eq!(p.json(&["search", "code:time", "--include-suggested", "--json"])["total"], 3);
    // A coding of a quoted span is placed, indexed and counted note by note like the rest.
    p.run(&["code", "add", "notes/fife/n1.md#2", "expertise", "--coder", "jm", "--quote", "starting again", "-q"]);
    p.run(&["index"]);
    assert_eq!(p.json(&["search", "code:expertise AND site:fife", "--json"])["total"], 1);
    let t = p.run(&["report", "themes", "--by", "site", "--include-suggested", "--format", "csv"]);
    let rows = t.lines().map(|l| l.split(',').collect::<Vec<_>>()).collect::<Vec<_>>();
    let row = |code: &str| rows.iter().find(|r| r[0] == code).unwrap_or_else(|| panic!("{t}"))[1..].to_vec();
    assert_eq!(row("time"), ["1", "1", "1", "3"], "{t}");
    assert_eq!(row("expertise"), ["0", "1", "0", "1"], "{t}");
}

#[test]
fn auto_coding_that_cannot_keep_the_notes_versions_says_why_and_names_none_in_the_ledger() {
    // The suggestions are written on a thread of their own while the next batch is coded: when
    // that writing fails (here the versions' folder is a file), the run stops with the writer's
    // error, and the ledger names no suggestion whose note's version was not kept.
    let p = TestProject::in_batches(|_| "Staff turnover meant starting again from scratch.".into());
    p.run(&["index"]);
    p.write(".fieldnotes/texts", "not a folder");
    let err = stderr(&p.run_expect(&["code", "auto"], 2));
    assert!(err.contains(".fieldnotes/texts") && !err.contains("writer stopped"), "{err}");
    // The cause is said once: the error line quotes it, so no `caused by:` line repeats it.
    assert_eq!(err.matches("File exists").count(), 1, "{err}");
    assert!(!p.path().join("codings/rules.jsonl").exists() || p.read("codings/rules.jsonl").is_empty());
    // Once it can, the run writes every batch's suggestions.
    std::fs::remove_file(p.path().join(".fieldnotes/texts")).unwrap();
    let out = stderr(&p.run_expect(&["code", "auto"], 0));
    assert!(out.contains("added 3 suggestion(s)"), "{out}");
    assert_eq!(p.read("codings/rules.jsonl").lines().count(), 3);
}

#[test]
fn auto_coding_with_a_rule_too_big_to_compile_stops_and_writes_nothing() {
    // The rules compile while the notes are read: a regex that parses but exceeds the size
    // limit still stops the run before a suggestion is written, with or without notes.
    let p = TestProject::in_batches(|_| "Staff turnover meant starting again from scratch.".into());
    let book = p.read("codebook.toml").replacen("\nregex = [", "\nregex = ['(\\w{400}){400}', ", 1);
    p.write("codebook.toml", book);
    p.run(&["index"]);
    for notes in [true, false] {
        if !notes {
            std::fs::remove_dir_all(p.path().join("notes")).unwrap();
        }
        let err = stderr(&p.run_expect(&["code", "auto"], 2));
        assert!(err.contains("invalid regex in code") && err.contains("size limit"), "{err}");
        assert!(!p.path().join("codings/rules.jsonl").exists() || p.read("codings/rules.jsonl").is_empty());
    }
}

#[test]
fn review_accepts_and_rejects_with_filters() {
    let p = two_notes();
    p.run(&["code", "auto"]);
    let before = p.run(&["code", "list", "--csv", "--status", "suggested"]).lines().count() - 1;
    assert!(before >= 2, "{before}");
    p.run(&["code", "review", "--accept", "--code", "time"]);
    let accepted = p.run(&["code", "list", "--csv", "--status", "accepted"]).lines().count() - 1;
    assert!(accepted >= 1);
    p.run(&["code", "review", "--reject"]);
    assert_eq!(p.run(&["code", "list", "--csv", "--status", "suggested"]).lines().count(), 1);
    let o = p.cmd(&["code", "review"]).stdin(Stdio::null()).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--accept"), "{}", stderr(&o));
}

#[test]
fn interactive_review_is_resumable() {
    let p = two_notes();
    p.run(&["code", "auto"]);
    let n = p.run(&["code", "list", "--csv", "--status", "suggested"]).lines().count() - 1;
    let mut child =
        p.cmd(&["code", "review", "--prompt"]).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().unwrap();
    use std::io::Write;
    // A mistyped key is asked again, not taken as a skip: the `a` after it decides the first.
    child.stdin.take().unwrap().write_all(b"x\na\nq\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success());
    let shown = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(shown.contains("`x` is not an answer"), "{shown}");
    assert_eq!(p.run(&["code", "list", "--csv", "--status", "suggested"]).lines().count() - 1, n - 1);
    assert_eq!(p.run(&["code", "list", "--csv", "--status", "accepted"]).lines().count() - 1, 1);
}

#[test]
fn agreement_and_eval_between_coders() {
    let p = two_notes();
    let code = |coder: &str, id: &str, c: &str| p.run(&["code", "add", id, c, "--coder", coder, "-q"]);
    code("hb", "notes/fife/a.md#1", "time");
    code("jm", "notes/fife/a.md#1", "time");
    code("hb", "notes/fife/a.md#2", "personalised-connections");
    code("jm", "notes/fife/a.md#3", "personalised-connections");
    code("hb", "notes/glasgow/b.md#1", "time");
    code("jm", "notes/glasgow/b.md#1", "time");
    let v = p.json(&["agree", "--json", "--code", "time"]);
    let row = &v["rows"][0];
    assert_eq!(row["units"], 5);
    assert_eq!(row["percent_agreement"]["value"], 1.0);
    assert_eq!(row["cohen_kappa"]["value"], 1.0);
    let v = p.json(&["agree", "--json", "--code", "personalised-connections"]);
    let row = &v["rows"][0];
    assert!((row["percent_agreement"]["value"].as_f64().unwrap() - 0.6).abs() < 1e-9, "{row}");
    // 2x2 table: both 0 on 3 units, split on 2: kappa = (0.6 - 0.68) / (1 - 0.68) = -0.25.
    assert!((row["cohen_kappa"]["value"].as_f64().unwrap() + 0.25).abs() < 1e-9, "{row}");
    let d = p.run(&["agree", "--disagreements", "--csv"]);
    assert_eq!(d.lines().count(), 3, "{d}");
    assert!(d.contains(&p.key_id("notes/fife/a.md#2")) && d.contains(&p.key_id("notes/fife/a.md#3")), "{d}");
    let latex = p.run(&["agree", "--format", "latex"]);
    assert!(latex.contains("\\toprule") && latex.contains("\\bottomrule"), "{latex}");
    // The rules against a human.
    p.run(&["code", "auto", "-q"]);
    let v = p.json(&["code", "eval", "--against", "hb", "--json"]);
    let time = v["codes"].as_array().unwrap().iter().find(|c| c["code"] == "time").unwrap().clone();
    assert!(time["tp"].as_u64().unwrap() >= 1, "{time}");
    let v = p.json(&["agree", "--coders", "rules,hb", "--include-suggested", "--json"]);
    assert!(v["rows"].as_array().unwrap().len() == 9, "{v}");
    // Codings whose words are gone count in no unit, and the caption says so.
    p.write(
        "notes/glasgow/b.md",
        "---\nsite: Glasgow\nkind: memo\n---\nAn entirely new memo.\n\nPartners wanted to own the change.\n",
    );
    let v = p.json(&["agree", "--json", "--code", "time"]);
    assert!(v["caption"].as_str().unwrap().contains("2 orphaned coding(s)"), "{v}");
    // (the Glasgow note, where they were, holds no coding of either now: a.md's 3 passages remain)
    assert_eq!(v["rows"][0]["units"], 3);
}

#[test]
fn codebook_check_flags_problems() {
    let p = TestProject::new();
    p.run_expect(&["codebook", "check"], 0);
    p.write(
        "bad.toml",
        "[[code]]\nid = \"a\"\n[code.rules]\nregex = ['(unclosed']\n[[code]]\nid = \"a\"\nparent = \"zz\"\n",
    );
    let o = p.run_expect(&["codebook", "check", "bad.toml"], 1);
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("bad.toml:4: error: invalid regex"), "{s}");
    assert!(s.contains("duplicate code id `a`") && s.contains("unknown parent `zz`"), "{s}");
    let show = p.run(&["codebook", "show"]);
    assert!(show.contains("time") && show.contains("benefits-impact"), "{show}");
}

/// `code learn`: trained on one coder's notes, it suggests for the notes nobody coded (not for
/// theirs, unless `--all`), the same suggestions every time, each with its score and evidence.
#[test]
fn a_learned_coder_suggests_for_uncoded_notes_only_and_the_same_each_time() {
    let p = TestProject::new();
    let trust = ["We built trust slowly with the partners.", "Trust grew over the year.", "Partners came to trust us."];
    let other = ["The budget was cut again.", "The room was cold and late.", "Minutes were circulated."];
    for i in 0..6 {
        let body: Vec<String> = trust.iter().chain(other.iter()).map(|s| format!("{s} Note {i}.")).collect();
        p.write(&format!("notes/fife/n{i}.md"), format!("---\nsite: Fife\n---\n{}\n", body.join("\n\n")));
    }
    p.write("notes/glasgow/new.md", "---\nsite: Glasgow\n---\nTrust between partners grew.\n\nThe budget was cut.\n");
    // hb codes the trust passages of four notes.
    for i in 0..4 {
        for k in 1..=3 {
            p.run(&["code", "add", &format!("notes/fife/n{i}.md#{k}"), "time", "--coder", "hb"]);
        }
    }
    let dry =
        p.json(&["code", "learn", "--from", "hb", "--codes", "time", "--min-examples", "3", "--dry-run", "--json"]);
    assert_eq!(
        (dry["notes"].as_u64(), dry["passages"].as_u64(), dry["written"].as_bool()),
        (Some(4), Some(24), Some(false))
    );
    assert_eq!(dry["codes"][0]["positives"], 12);
    assert!(dry["codes"][0]["scores"]["tp"].as_u64().unwrap() >= 10, "{dry:#}");
    assert!(!p.path().join("codings/model.jsonl").exists());
    let learned = p.json(&["code", "learn", "--from", "hb", "--codes", "time", "--min-examples", "3", "--json"]);
    let suggestions = |p: &TestProject| -> Vec<(String, String)> {
        p.run(&["code", "list", "--coder", "model", "--json"])
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .map(|v| (v["passages"][0].as_str().unwrap().to_string(), v["text"].as_str().unwrap().to_string()))
            .collect()
    };
    let got = suggestions(&p);
    let notes: std::collections::BTreeSet<&str> = got.iter().map(|(id, _)| id.split('#').next().unwrap()).collect();
    // Not on hb's notes; on the notes nobody coded, the trust passages and not the others.
    assert_eq!(
        notes.into_iter().collect::<Vec<_>>(),
        ["notes/fife/n4.md", "notes/fife/n5.md", "notes/glasgow/new.md"],
        "{got:?}"
    );
    assert!(got.iter().all(|(_, t)| t.to_lowercase().contains("trust")), "{got:?}");
    assert_eq!(got.len(), 7, "{got:?}");
    assert_eq!(learned["codes"][0]["suggested"], 7);
    let ledger = p.read("codings/model.jsonl");
    assert!(
        ledger.contains("\"origin\":\"model\"")
            && ledger.contains("\"rule\":\"model: trust\"")
            && ledger.contains("model score"),
        "{ledger}"
    );
    // Again: nothing new (the same suggestions, made already).
    let again = p.json(&["code", "learn", "--from", "hb", "--codes", "time", "--min-examples", "3", "--json"]);
    assert_eq!(again["codes"][0]["suggested"], 0);
    // Nor after an edit above a suggested passage: its suggestion stands on it, under its id.
    let n4 = p.read("notes/fife/n4.md");
    p.write(
        "notes/fife/n4.md",
        n4.replacen("---\n\n", "---\n\nA line written later.\n\n", 1).replacen(
            "---\nWe",
            "---\nA line written later.\n\nWe",
            1,
        ),
    );
    assert_ne!(p.read("notes/fife/n4.md"), n4);
    let edited = p.json(&["code", "learn", "--from", "hb", "--codes", "time", "--min-examples", "3", "--json"]);
    assert_eq!(edited["codes"][0]["suggested"], 0, "{edited:#}");
    assert_eq!(suggestions(&p).len(), got.len());
    // A passage edited so that the model no longer suggests it: its waiting suggestion is
    // withdrawn, not left beside what the model now says.
    let new_note = p.read("notes/glasgow/new.md");
    p.write("notes/glasgow/new.md", new_note.replace("Trust between partners grew.", "Between partners it grew."));
    let o = p.run_expect(&["code", "learn", "--from", "hb", "--codes", "time", "--min-examples", "3"], 0);
    assert!(stderr(&o).contains("withdrew 1 suggestion(s) of the earlier model"), "{}", stderr(&o));
    assert_eq!(suggestions(&p).len(), got.len() - 1);
    p.write("notes/glasgow/new.md", &new_note);
    // Scored against its teacher, the model has nothing on the notes it learned from: refused,
    // with why, rather than a recall of 0.
    let o = p.run_expect(&["code", "eval", "--coder", "model", "--against", "hb"], 2);
    assert!(stderr(&o).contains("does not suggest on the notes it learned from"), "{}", stderr(&o));
    // A person scored against another is scored on the notes both coded.
    p.run(&["code", "add", "notes/fife/n0.md#1", "time", "--coder", "jm"]);
    let o = p.run_expect(&["code", "eval", "--coder", "jm", "--against", "hb"], 0);
    let shown = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        shown.contains("passages of the 1 note(s) both coded; 3 note(s) hb coded and jm did not are left out"),
        "{shown}"
    );
    assert!(shown.lines().any(|l| l.starts_with("time ") && l.split_whitespace().nth(3) == Some("2")), "{shown}");
    // With --all, hb's own notes get suggestions too, on the passages hb did not code.
    p.run(&["code", "learn", "--from", "hb", "--codes", "time", "--min-examples", "3", "--all"]);
    let all = suggestions(&p);
    assert!(all.iter().any(|(id, _)| id.starts_with("notes/fife/n0.md")), "{all:?}");
    // The model is a coder as any: agreement and evaluation work on it.
    p.run(&["agree", "--coders", "model,hb", "--include-suggested"]);
    // `code explain` shows the kept model's score and the words behind it.
    let e = p.json(&["code", "explain", "notes/glasgow/new.md#1", "--json"]);
    let m = &e["model"][0];
    assert_eq!(m["code"], "time");
    assert!(m["score"].as_f64().unwrap() >= m["threshold"].as_f64().unwrap(), "{e:#}");
    assert!(m["features"].as_array().unwrap().iter().any(|f| f[0] == "trust"), "{e:#}");
    let e = p.json(&["code", "explain", "notes/glasgow/new.md#2", "--json"]);
    assert!(e["model"][0]["score"].as_f64().unwrap() < e["model"][0]["threshold"].as_f64().unwrap(), "{e:#}");
    // Review, least certain first: the model's suggestions come before the others.
    let mut child = p
        .cmd(&["code", "review", "--order", "uncertain", "--prompt", "--coder", "hb"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), b"q\n").unwrap();
    let o = child.wait_with_output().unwrap();
    let shown = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(shown.contains("model"), "{shown}");
}

#[test]
fn the_learned_coder_does_not_suggest_again_what_its_teacher_rejected() {
    let p = TestProject::sample();
    p.run(&["code", "auto", "-q"]);
    for site in ["fife", "glasgow", "aberdeenshire"] {
        p.run(&["code", "review", "--accept", "--site", site, "--coder", "hb", "-q"]);
    }
    p.run(&["code", "review", "--reject", "--site", "dundee", "--code", "benefits-impact", "--coder", "hb", "-q"]);
    p.run(&["code", "learn", "--from", "hb", "-q"]);
    let passages = |args: &[&str]| -> std::collections::BTreeSet<String> {
        let csv =
            p.run(&[&["code", "list", "--csv", "--code", "benefits-impact", "--site", "dundee"][..], args].concat());
        csv.lines().skip(1).map(|l| l.split(',').nth(1).unwrap().to_string()).collect()
    };
    let rejected = passages(&["--reviewer", "hb", "--status", "rejected"]);
    assert!(!rejected.is_empty());
    let suggested = passages(&["--coder", "model"]);
    assert!(
        rejected.is_disjoint(&suggested),
        "suggested again: {:?}",
        rejected.intersection(&suggested).collect::<Vec<_>>()
    );
}

/// What a learned coder could not learn is said, with why, and nothing is suggested for it.
#[test]
fn the_learned_coder_says_why_it_learned_nothing() {
    let p = TestProject::new();
    for i in 0..3 {
        p.write(&format!("notes/fife/n{i}.md"), "---\nsite: Fife\n---\nTrust grew.\n\nThe budget was cut.\n");
    }
    // One note coded: no cross-validation.
    for k in 1..=2 {
        p.run(&["code", "add", &format!("notes/fife/n0.md#{k}"), "time", "--coder", "hb"]);
    }
    let one = p.json(&["code", "learn", "--from", "hb", "--codes", "time", "--min-examples", "1", "--json"]);
    assert_eq!(one["codes"][0]["learned"], false);
    assert_eq!(
        one["codes"][0]["why_not"], "no passage of the coded notes lacks it: nothing to tell it from",
        "{one:#}"
    );
    p.run(&["code", "add", "notes/fife/n1.md#1", "context", "--coder", "hb"]);
    let o = p.run_expect(&["code", "learn", "--from", "hb", "--codes", "context", "--min-examples", "1"], 0);
    let shown = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(shown.contains("by 2-fold cross-validation"), "{shown}");
    assert!(shown.contains("not learned: no better in cross-validation than suggesting it everywhere"), "{shown}");
    assert!(!p.path().join("codings/model.jsonl").exists());
    // A code renamed in the codebook: its codings teach nothing, and learn and eval say so.
    let book = p.read("codebook.toml");
    p.write("codebook.toml", book.replacen("id = \"context\"", "id = \"setting\"", 1));
    let o = p.run_expect(&["code", "learn", "--from", "hb", "--codes", "time", "--min-examples", "1", "--dry-run"], 0);
    assert!(
        stderr(&o).contains("1 coding(s) of hb use codes the codebook does not have (`context` (1))"),
        "{}",
        stderr(&o)
    );
    p.run(&["code", "add", "notes/fife/n1.md#2", "time", "--coder", "jm"]);
    let o = p.run_expect(&["code", "eval", "--coder", "jm", "--against", "hb"], 0);
    assert!(stderr(&o).contains("codes the codebook does not have are in no row (`context` (1))"), "{}", stderr(&o));
}
