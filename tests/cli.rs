//! Project set-up, errors, and the command line's manners.

use crate::util::{TestProject, stderr};

#[test]
fn init_makes_a_working_project() {
    let dir = tempfile::tempdir().unwrap();
    let p = TestProject { dir };
    p.run(&["init", ".", "--codebook", "wws"]);
    assert!(p.path().join("fieldnotes.toml").is_file());
    assert!(p.read("codebook.toml").contains("id = \"time\""));
    let o = p.run_expect(&["init", "."], 2);
    assert!(stderr(&o).contains("already holds"), "{}", stderr(&o));
    p.write("notes/a.md", "---\nsite: Fife\n---\nOne paragraph.\n");
    let v = p.json(&["notes", "--json"]);
    assert_eq!(v["passages"], 1);
    // A new folder names the project, as `.` names it after the folder it is.
    p.run(&["init", "committee-study"]);
    assert!(p.read("committee-study/fieldnotes.toml").contains("name = \"committee-study\""));
    let here = p.path().canonicalize().unwrap();
    let name = here.file_name().unwrap().to_str().unwrap();
    assert!(p.read("fieldnotes.toml").contains(&format!("name = \"{name}\"")));
}

#[test]
fn outside_a_project_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_fieldnotes"))
        .current_dir(dir.path())
        .arg("notes")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("fieldnotes init") && e.contains("--project"), "{e}");
}

#[test]
fn bad_notes_are_reported_and_the_rest_loads() {
    let p = TestProject::new();
    p.write("notes/good.md", "---\nsite: Fife\n---\nFine.\n\nAlso fine.\n");
    p.write("notes/latin1.md", b"---\nsite: Fife\n---\ncaf\xe9\n".as_slice());
    p.write("notes/utf16.md", b"\xff\xfeh\0i\0".as_slice());
    p.write("notes/fm.md", "---\nsite: Fife\nsite: Glasgow\n---\nx\n");
    p.write("notes/empty.md", "");
    p.write("notes/one-line.md", "x".repeat(3 << 20));
    p.write("notes/nul.txt", b"text\0with a NUL".as_slice());
    let o = p.run_expect(&["notes", "--json"], 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["documents"], 1);
    assert_eq!(v["passages"], 2);
    let e = stderr(&o);
    assert!(e.contains("notes/latin1.md") && e.contains("line 4") && e.contains("UTF-8"), "{e}");
    assert!(e.contains("notes/fm.md") && e.contains("line 3") && e.contains("duplicate key"), "{e}");
    assert!(e.contains("notes/utf16.md") && e.contains("UTF-16"), "{e}");
    assert!(e.contains("notes/empty.md") && e.contains("empty"), "{e}");
    assert!(e.contains("notes/one-line.md") && e.contains("line 1: 3145728 bytes on one line"), "{e}");
    assert!(e.contains("notes/nul.txt") && e.contains("binary"), "{e}");
    assert_eq!(v["skipped"].as_array().unwrap().len(), 6);
}

#[test]
fn query_errors_point_at_the_column() {
    let p = TestProject::new();
    p.write("notes/a.md", "---\nsite: Fife\n---\nTrust takes time.\n");
    let o = p.run_expect(&["search", "trust AND (time"], 2);
    let e = stderr(&o);
    assert!(e.contains("never closed") && e.contains('^') && e.contains("hint"), "{e}");
}

#[test]
fn broken_pipe_exits_quietly() {
    let p = TestProject::sample();
    let bin = env!("CARGO_BIN_EXE_fieldnotes");
    let o = std::process::Command::new("bash")
        .current_dir(p.path())
        .args(["-o", "pipefail", "-c", &format!("'{bin}' notes --list | head -n 1 >/dev/null")])
        .output()
        .expect("running bash");
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("error"), "{}", stderr(&o));
}

#[test]
fn search_show_and_kwic() {
    let p = TestProject::new();
    p.write(
        "notes/fife/a.md",
        "---\nsite: Fife\ndate: 2016-03-02\nkind: interview\n---\nInterviewer: Did staff turnover hurt?\n\nManager: Staff turnover meant starting again with trust.\n",
    );
    p.write(
        "notes/glasgow/b.md",
        "---\nsite: Glasgow\ndate: 2017-03-02\nkind: meeting\n---\nTrust was built slowly.\n",
    );
    let v = p.json(&["search", "trust", "--json"]);
    assert_eq!(v["total"], 2);
    let v = p.json(&["search", "trust speaker:manager date:[2016-01-01 TO 2016-12-31]", "--json"]);
    assert_eq!(v["total"], 1);
    assert_eq!(v["hits"][0]["id"], p.key_id("notes/fife/a.md#2"));
    let kwic = p.run(&["search", "\"staff turnover\"", "--kwic", "--width", "10"]);
    let lines: Vec<&str> = kwic.lines().collect();
    assert!(lines.len() >= 2, "{kwic}");
    let col = lines[0].find('[').unwrap();
    assert!(lines.iter().all(|l| l.find('[') == Some(col)), "not aligned:\n{kwic}");
    let counts = p.run(&["search", "trust", "--count", "--by", "site", "--csv"]);
    assert_eq!(counts, "site,hits\nFife,1\nGlasgow,1\n");
    let show = p.run(&["show", "notes/fife/a.md#2", "--context", "1"]);
    let key = |id: &str| p.key_id(id).rsplit_once('#').unwrap().1.to_string();
    let (first, second) = (key("notes/fife/a.md#1"), key("notes/fife/a.md#2"));
    assert!(show.contains(&format!("> #{second} (line 8, passage 2)")), "{show}");
    assert!(show.contains(&format!("  #{first}")) && show.contains("Manager"), "{show}");
    let o = p.run_expect(&["show", "notes/fife/a.md#9"], 2);
    assert!(stderr(&o).contains("has 2 passages"), "{}", stderr(&o));
    let o = p.run_expect(&["search", "nothingmatchesthis"], 1);
    assert!(o.stdout.is_empty());
    // Words as written: stemmed, "turnovers" finds "turnover"; exactly, nothing does.
    assert_eq!(p.json(&["search", "turnovers", "--json"])["total"], 2);
    p.run_expect(&["search", "turnovers", "--exact"], 1);
    assert_eq!(p.json(&["search", "\"staff turnover\"", "--exact", "--json"])["total"], 2);
    assert_eq!(p.json(&["search", "tru*", "--json"])["total"], 2);
    assert_eq!(p.json(&["search", "trsut~1", "--exact", "--json"])["total"], 2);
}

#[test]
fn index_reads_the_notes_in_batches() {
    let p = TestProject::in_batches(|i| format!("A word: zebra{i}."));
    // A coding on the note of the second batch, placed with that batch.
    p.run(&["code", "add", "notes/glasgow/n2.md#2", "time"]);
    let out = String::from_utf8(p.run_expect(&["index"], 0).stderr).unwrap();
    assert!(out.contains("indexed 3 note(s) (6 passages)"), "{out}");
    let v = p.json(&["search", "code:time", "--json"]);
    assert_eq!(v["total"], 1);
    assert_eq!(v["hits"][0]["id"], p.key_id("notes/glasgow/n2.md#2"));
    assert_eq!(p.json(&["search", "zebra0 OR zebra1 OR zebra2", "--json"])["total"], 3);
    // A note gone from the second batch's place is removed; the others are left alone.
    std::fs::remove_file(p.path().join("notes/fife/n1.md")).unwrap();
    let out = String::from_utf8(p.run_expect(&["index"], 0).stderr).unwrap();
    assert!(out.contains("indexed 0 note(s) (0 passages), removed 1, 2 unchanged"), "{out}");
    assert_eq!(p.json(&["search", "zebra0 OR zebra1 OR zebra2", "--json"])["total"], 2);
}

#[test]
fn symlink_loops_are_reported_and_the_rest_loads() {
    let p = TestProject::new();
    p.write("notes/fife/a.md", "---\nsite: Fife\n---\nOne.\n");
    std::os::unix::fs::symlink(p.path().join("notes"), p.path().join("notes/fife/loop")).unwrap();
    let o = p.run_expect(&["notes", "--json"], 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["documents"], 1, "{v}");
    let e = stderr(&o);
    assert!(e.contains("notes/fife/loop") && e.to_lowercase().contains("loop"), "{e}");
}
