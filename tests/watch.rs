//! `fieldnotes watch`: while it runs, commands take the notes' stats kept from their last walk
//! when it says nothing changed, and what they find is still what the notes say, through every
//! kind of change a researcher makes to the files.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};

use crate::util::{TestProject, stderr};

/// A running watcher, killed when dropped.
struct Watcher(Child);

impl Drop for Watcher {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `fieldnotes watch` in `p` and waits until it says it is watching.
fn watch(p: &TestProject) -> Watcher {
    let mut child = p.cmd(&["watch"]).stderr(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    let mut line = String::new();
    BufReader::new(child.stderr.take().unwrap()).read_line(&mut line).unwrap();
    assert!(line.starts_with("watching "), "the watcher said: {line}");
    Watcher(child)
}

/// Changes the watcher has seen (from `watch --status`).
fn changes_seen(p: &TestProject) -> u64 {
    let out = p.run(&["watch", "--status"]);
    let words: Vec<&str> = out.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "change(s)").unwrap();
    words[at - 1].parse().unwrap()
}

/// The notes where `search` finds `word`.
fn found(p: &TestProject, word: &str) -> BTreeSet<String> {
    // No hit exits 1, as grep does.
    let out = p.cmd(&["search", word, "--json", "-n", "1000"]).output().unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["id"].as_str().unwrap().split('#').next().unwrap().to_string())
        .collect()
}

fn set(paths: &[&str]) -> BTreeSet<String> {
    paths.iter().map(|s| s.to_string()).collect()
}

#[cfg(target_os = "linux")]
#[test]
fn with_a_watcher_search_and_reports_follow_every_change_to_the_notes() {
    let p = TestProject::sample();
    let themes_before = p.run(&["report", "themes", "--format", "csv"]);
    // (A folder made later, as the first coding makes `codings/`, is a change: it could hold notes.)
    std::fs::create_dir_all(p.path().join("codings")).unwrap();
    let w = watch(&p);
    assert_eq!(changes_seen(&p), 0);
    assert_eq!(found(&p, "zebra"), set(&[]));
    // Asked twice with nothing changed: the second answer comes from the kept stats.
    assert_eq!(found(&p, "zebra"), set(&[]));
    assert!(p.path().join(".fieldnotes/notes.stats").is_file());
    assert_eq!(p.run(&["report", "themes", "--format", "csv"]), themes_before);

    // Written in place.
    let note = "notes/fife/2016-03-02-locality-planning-group-levenmouth.md";
    let mut text = p.read(note);
    text.push_str("\nA zebra came to the meeting.\n");
    p.write(note, &text);
    assert_eq!(found(&p, "zebra"), set(&[note]));

    // A note in a folder made after the watcher started, then a second one in it.
    p.write("notes/leith/a.md", "---\nsite: Leith\n---\nThe zebra again.\n");
    assert_eq!(found(&p, "zebra"), set(&[note, "notes/leith/a.md"]));
    p.write("notes/leith/b.md", "---\nsite: Leith\n---\nA zebra crossing.\n");
    assert_eq!(found(&p, "zebra"), set(&[note, "notes/leith/a.md", "notes/leith/b.md"]));

    // An ignore file leaves the folder out, and taking it away brings it back.
    p.write("notes/.gitignore", "leith/\n");
    assert_eq!(found(&p, "zebra"), set(&[note]));
    std::fs::remove_file(p.path().join("notes/.gitignore")).unwrap();
    assert_eq!(found(&p, "zebra"), set(&[note, "notes/leith/a.md", "notes/leith/b.md"]));

    // A folder renamed, a note renamed, a note deleted.
    std::fs::rename(p.path().join("notes/leith"), p.path().join("notes/portobello")).unwrap();
    assert_eq!(found(&p, "zebra"), set(&[note, "notes/portobello/a.md", "notes/portobello/b.md"]));
    std::fs::rename(p.path().join("notes/portobello/a.md"), p.path().join("notes/portobello/c.md")).unwrap();
    std::fs::remove_file(p.path().join("notes/portobello/b.md")).unwrap();
    assert_eq!(found(&p, "zebra"), set(&[note, "notes/portobello/c.md"]));

    // Settings that find the notes anew.
    p.write("fieldnotes.toml", "name = \"test\"\ncoder = \"hb\"\nnotes = [\"notes/portobello/*.md\"]\n");
    assert_eq!(found(&p, "zebra"), set(&["notes/portobello/c.md"]));
    p.write("fieldnotes.toml", "name = \"test\"\ncoder = \"hb\"\n");
    assert_eq!(found(&p, "zebra"), set(&[note, "notes/portobello/c.md"]));

    // A coding is no change to the notes: the watcher does not count it.
    let seen = changes_seen(&p);
    let id = p.json(&["search", "zebra", "--json", "-n", "1"])["hits"][0]["id"].as_str().unwrap().to_string();
    p.run(&["code", "add", &id, "time"]);
    assert_eq!(changes_seen(&p), seen);
    assert!(p.run(&["report", "themes", "--format", "csv"]) != themes_before);

    // A second watcher is refused while the first answers.
    let out = p.run_expect(&["watch"], 2);
    assert!(stderr(&out).contains("another `fieldnotes watch` already watches this project"), "{}", stderr(&out));

    // Killed: commands walk again, and see what changed meanwhile.
    drop(w);
    p.run_expect(&["watch", "--status"], 1);
    std::fs::remove_file(p.path().join(note)).unwrap();
    assert_eq!(found(&p, "zebra"), set(&["notes/portobello/c.md"]));

    // A new watcher whose token the kept stats do not have: they are walked again, not trusted.
    let _w = watch(&p);
    p.write("notes/portobello/d.md", "---\nsite: Leith\n---\nZebra.\n");
    assert_eq!(found(&p, "zebra"), set(&["notes/portobello/c.md", "notes/portobello/d.md"]));
}
