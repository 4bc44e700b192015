//! Hostile input: each bad file, query or ledger line gets a message naming it, and the rest of
//! the work goes on with nothing lost.

use std::process::Command;

use crate::util::{TestProject, stderr};

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

#[test]
fn odd_notes_are_reported_and_the_rest_loads() {
    let p = TestProject::new();
    p.write("notes/good.md", "---\nsite: Fife\n---\nFine.\n");
    p.write("notes/unterminated.md", "---\nsite: Fife\ndate: 2016-01-01\nNo closing fence.\n");
    // Front matter of 2 MB: one key a line, each different (past the 10,000-line limit).
    let huge: String = (0..100_000).map(|i| format!("key{i}: v\n")).collect();
    p.write("notes/huge-fm.md", format!("---\n{huge}---\nBody.\n"));
    // 100 MB on one line, over the longest line a note may have.
    p.write("notes/one-line-100mb.md", "y".repeat(100 << 20));
    // Folders 40 deep, with a note at the bottom.
    let deep: String = (0..40).map(|i| format!("d{i}/")).collect();
    p.write(&format!("notes/{deep}deep.md"), "---\nsite: Glasgow\n---\nDeep down.\n");
    // A symlink to nowhere.
    std::os::unix::fs::symlink(p.path().join("missing.md"), p.path().join("notes/dangling.md")).unwrap();

    let o = p.run_expect(&["notes", "--json"], 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let e = stderr(&o);
    assert_eq!(v["documents"], 2, "the good note and the deep one load:\n{v}\n{e}");
    assert!(e.contains("notes/unterminated.md") && e.contains("line 1") && e.contains("never closed"), "{e}");
    assert!(e.contains("notes/huge-fm.md") && e.contains("runs past 10000 lines"), "{e}");
    assert!(e.contains("notes/one-line-100mb.md") && e.contains("on one line"), "{e}");
    assert!(e.contains("notes/dangling.md"), "{e}");
    let paths: Vec<&str> = v["skipped"].as_array().unwrap().iter().filter_map(|s| s["path"].as_str()).collect();
    assert_eq!(paths.len(), 4, "{paths:?}");
    // Searching the rest works.
    let v = p.json(&["search", "deep", "--json"]);
    assert_eq!(v["total"], 1);
}

#[test]
fn unreadable_notes_are_reported_and_the_rest_loads() {
    use std::os::unix::fs::PermissionsExt;
    let p = TestProject::new();
    p.write("notes/good.md", "---\nsite: Fife\n---\nFine.\n");
    p.write("notes/secret.md", "---\nsite: Fife\n---\nHidden.\n");
    std::fs::set_permissions(p.path().join("notes/secret.md"), std::fs::Permissions::from_mode(0o000)).unwrap();
    let mut cmd = if is_root() {
        // Permissions do not bind root: run as `nobody`, who may read everything but that note.
        for dir in [p.path(), &p.path().join("notes")] {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]).arg(env!("CARGO_BIN_EXE_fieldnotes"));
        c.current_dir(p.path()).env("NO_COLOR", "1");
        c
    } else {
        let mut c = Command::new(env!("CARGO_BIN_EXE_fieldnotes"));
        c.current_dir(p.path()).env("NO_COLOR", "1");
        c
    };
    let o = cmd.args(["notes", "--json"]).output().expect("running fieldnotes (through setpriv, util-linux, as root)");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["documents"], 1, "{v}");
    let e = stderr(&o);
    assert!(e.contains("notes/secret.md") && e.to_lowercase().contains("permission denied"), "{e}");
}

#[test]
fn malformed_and_enormous_queries_are_refused_clearly() {
    let p = TestProject::new();
    p.write("notes/a.md", "---\nsite: Fife\n---\nTrust takes time.\n");
    p.run(&["index", "-q"]);
    let big = "trust ".repeat(10_000);
    let o = p.run_expect(&["search", &big], 2);
    assert!(stderr(&o).contains("characters long") && stderr(&o).contains("hint"), "{}", stderr(&o));
    let nested = format!("{}trust{}", "(".repeat(100), ")".repeat(100));
    let o = p.run_expect(&["search", &nested], 2);
    assert!(stderr(&o).contains("nested deeper"), "{}", stderr(&o));
    for q in ["\"unclosed phrase", "site:", "date:[2016 TO", "trust~9", "AND", "*", "a OR OR b"] {
        let o = p.run_expect(&["search", q], 2);
        assert!(stderr(&o).contains("column") || stderr(&o).contains('^'), "{q}: {}", stderr(&o));
    }
    // The index is untouched by all that.
    assert_eq!(p.json(&["search", "trust", "--json"])["total"], 1);
}

#[test]
fn garbage_ledger_lines_are_reported_and_kept() {
    let p = TestProject::new();
    p.write("notes/a.md", "---\nsite: Fife\n---\nTrust takes time.\n\nA second paragraph.\n");
    p.run(&["code", "add", "notes/a.md#1", "time", "-q"]);
    let ledger = p.path().join("codings/hb.jsonl");
    let mut text = std::fs::read_to_string(&ledger).unwrap();
    text.push_str("this is not JSON\n{\"op\":\"add\",\"id\":\"x\"}\n\0\0\0\n");
    text.push_str(r#"{"op":"move","id":"y","start":9,"end":2,"time":"2026-01-01T00:00:00Z"}"#);
    text.push('\n');
    std::fs::write(&ledger, &text).unwrap();
    p.run(&["code", "add", "notes/a.md#2", "context", "-q"]);
    let o = p.run_expect(&["code", "list", "--json"], 0);
    let e = stderr(&o);
    for line in [2, 3, 4, 5] {
        assert!(e.contains(&format!("hb.jsonl` line {line}:")), "line {line} not reported:\n{e}");
    }
    assert!(e.contains("before it starts"), "{e}");
    let listed = String::from_utf8(o.stdout).unwrap();
    assert_eq!(listed.lines().count(), 2, "{listed}");
    for line in listed.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
    // The garbage is still there, untouched, for a person to look at.
    assert!(std::fs::read_to_string(&ledger).unwrap().starts_with(&text));
}

#[test]
fn a_second_index_waits_for_the_first() {
    let p = TestProject::sample();
    std::fs::create_dir_all(p.path().join(".fieldnotes")).unwrap();
    // Another process holds the index lock for a second, as a running `fieldnotes index` would.
    let mut holder = Command::new("flock")
        .current_dir(p.path())
        .args([".fieldnotes/index.lock", "sleep", "1"])
        .spawn()
        .expect("running flock (util-linux)");
    std::thread::sleep(std::time::Duration::from_millis(200));
    let o = p.run_expect(&["index"], 0);
    assert!(stderr(&o).contains("waiting for it to finish"), "{}", stderr(&o));
    holder.wait().unwrap();
    assert_eq!(p.json(&["search", "trust", "--json", "--limit", "1"])["hits"].as_array().unwrap().len(), 1);
}
