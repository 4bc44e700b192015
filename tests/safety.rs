//! Nothing lost: writers killed with SIGKILL mid-command, and no network at run time.

use std::collections::BTreeSet;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

use crate::util::{TestProject, stderr};

fn kill_group(pgid: u32) {
    let _ = Command::new("kill").args(["-9", "--", &format!("-{pgid}")]).status();
}

/// Lines of a log file written by the shell loop (one per command that reported success).
fn successes(p: &TestProject) -> Vec<String> {
    std::fs::read_to_string(p.path().join("ok.log")).unwrap_or_default().lines().map(str::to_string).collect()
}

/// Starts a loop of `code add` commands in its own process group, waits until `after` of them
/// have reported success, then kills the whole group with SIGKILL, mid-command or between.
fn killed_run(p: &TestProject, coder: &str, after: usize) {
    let bin = env!("CARGO_BIN_EXE_fieldnotes");
    let codes = ["time", "context", "expertise", "authenticity", "benefits-impact"];
    let mut script = String::new();
    for i in 0..60 {
        let passage = format!("notes/n.md#{}", 1 + i % 12);
        let code = codes[(i / 12) % codes.len()];
        script.push_str(&format!(
            "'{bin}' code add '{passage}' {code} --coder {coder} -q && echo '{passage} {code}' >> ok.log\n"
        ));
    }
    let mut child = Command::new("bash")
        .current_dir(p.path())
        .args(["-c", &script])
        .env("NO_COLOR", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .expect("running bash");
    let pgid = child.id();
    loop {
        if successes(p).len() >= after || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::yield_now();
    }
    kill_group(pgid);
    let _ = child.wait();
}

fn note(p: &TestProject) {
    let paras: Vec<String> = (1..=12).map(|i| format!("Paragraph {i} about partnership work.")).collect();
    p.write("notes/n.md", format!("---\nsite: Fife\n---\n{}\n", paras.join("\n\n")));
}

#[test]
fn killed_coders_lose_no_reported_coding() {
    let trials: usize = std::env::var("FIELDNOTES_CRASH_TRIALS").ok().and_then(|s| s.parse().ok()).unwrap_or(6);
    let p = TestProject::new();
    note(&p);
    // Lists print passages by key; the script names them by position.
    let by_key: std::collections::HashMap<String, String> =
        (1..=12).map(|i| format!("notes/n.md#{i}")).map(|id| (p.key_id(&id), id)).collect();
    for t in 0..trials {
        let coder = format!("k{t}");
        let _ = std::fs::remove_file(p.path().join("ok.log"));
        killed_run(&p, &coder, 1 + (t * 7) % 20);
        let reported: BTreeSet<String> = successes(&p).into_iter().collect();
        // Every line of the ledger is whole, except perhaps a torn last one, which is reported.
        let o = p.run_expect(&["code", "list", "--json", "--coder", &coder], 0);
        let err = stderr(&o);
        assert!(err.is_empty() || err.contains("torn last line"), "trial {t}: {err}");
        let listed: BTreeSet<String> = String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                format!("{} {}", by_key[v["passages"][0].as_str().unwrap()], v["coding"]["code"].as_str().unwrap())
            })
            .collect();
        let lost: Vec<&String> = reported.difference(&listed).collect();
        assert!(lost.is_empty(), "trial {t}: reported but lost: {lost:?}");
        // The next write sets any torn tail aside and the ledger reads clean again.
        p.run(&["code", "add", "notes/n.md#1", "expertise", "--coder", &coder, "-q"]);
        let o = p.run_expect(&["code", "list", "--coder", &coder, "--csv"], 0);
        assert!(stderr(&o).is_empty(), "trial {t}: {}", stderr(&o));
    }
}

#[test]
fn killed_index_and_auto_coder_recover() {
    let p = TestProject::sample();
    let bin = env!("CARGO_BIN_EXE_fieldnotes");
    for (args, at) in [(vec!["index"], 0usize), (vec!["code", "auto"], 1), (vec!["index", "--rebuild"], 2)] {
        let mut child = Command::new(bin)
            .current_dir(p.path())
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        // Let it get under way: wait until it has created something on disk.
        let marker = if at == 1 { p.path().join("codings") } else { p.path().join(".fieldnotes") };
        while !marker.exists() && child.try_wait().unwrap().is_none() {
            std::thread::yield_now();
        }
        kill_group(child.id());
        let _ = child.wait();
        // Whatever state it left, the next commands work and agree with a clean run.
        p.run(&["index"]);
        let v = p.json(&["search", "partnership", "--count", "--json"]);
        assert!(v["total"].as_u64().unwrap() > 10, "{v}");
        let o = p.run_expect(&["code", "list", "--csv"], 0);
        let e = stderr(&o);
        assert!(e.is_empty() || e.contains("torn last line"), "{e}");
    }
    p.run(&["code", "auto"]);
    let n = p.run(&["code", "list", "--csv"]).lines().count();
    assert!(n > 600, "{n}");
    let v = p.json(&["search", "code:time", "--include-suggested", "--count", "--json"]);
    assert!(v["total"].as_u64().unwrap() > 50, "{v}");
}

#[test]
fn killed_imports_leave_whole_notes_and_resume() {
    // A survey of 400 answers with codes: the import writes 400 notes, a ledger and the codebook.
    let mut csv = String::from("id,site,q1,codes\n");
    for i in 0..400 {
        let site = ["Fife", "Glasgow", "Highland"][i % 3];
        csv.push_str(&format!("r{i},{site},Answer {i}: it took years to build trust.,time;context\n"));
    }
    let args = [
        "import",
        "survey",
        "answers.csv",
        "--id",
        "id",
        "--text",
        "q1",
        "--attr",
        "site",
        "--codes",
        "codes",
        "--coder",
        "ann",
        "-q",
    ];
    let clean = TestProject::new();
    clean.write("answers.csv", &csv);
    clean.run(&args);
    let want_codings = clean.run(&["code", "list", "--csv"]).lines().count();
    let bin = env!("CARGO_BIN_EXE_fieldnotes");
    for trial in 0..6u64 {
        let p = TestProject::new();
        p.write("answers.csv", &csv);
        let mut child = Command::new(bin)
            .current_dir(p.path())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        // Kill it at a different moment each trial: once some notes exist, then a little later.
        while !p.path().join("notes").exists() && child.try_wait().unwrap().is_none() {
            std::thread::yield_now();
        }
        std::thread::sleep(std::time::Duration::from_millis(trial * 15));
        kill_group(child.id());
        let _ = child.wait();
        // Every note on disk is whole: none is skipped as unreadable or half written.
        let o = p.run_expect(&["notes", "--json"], 0);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(v["skipped"].as_array().map_or(0, Vec::len), 0, "trial {trial}: {v}");
        // Running the import again finishes the job, and ends where an uninterrupted run does.
        p.run(&args);
        assert_eq!(p.json(&["notes", "--json"])["documents"], 400, "trial {trial}");
        let o = p.run_expect(&["code", "list", "--csv"], 0);
        assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), want_codings, "trial {trial}");
        p.run_expect(&["codebook", "check"], 0);
    }
}

#[test]
fn the_demo_runs_with_no_network() {
    // A network namespace with no interfaces up: any attempt to connect fails.
    if Command::new("unshare").args(["-n", "true"]).status().map(|s| !s.success()).unwrap_or(true) {
        fieldnotes_testkit::skip(
            "the_demo_runs_with_no_network",
            "a network namespace (`unshare -n`, util-linux, as root)",
            "run the tests as root, as CI does",
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let o = Command::new("unshare")
        .args(["-n", env!("CARGO_BIN_EXE_fieldnotes"), "demo", "--out"])
        .arg(dir.path().join("demo"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("running fieldnotes under `unshare -n`");
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.path().join("demo/report.html").is_file());
}

/// A names file (`name,pseudonym` and `rows`) outside the project: the folder that holds it,
/// and its path.
fn names_file(rows: &str) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("names.csv");
    std::fs::write(&path, format!("name,pseudonym\n{rows}")).unwrap();
    let path = path.to_str().unwrap().to_string();
    (dir, path)
}

#[test]
fn redaction_replaces_names_and_keeps_codings_on_their_words() {
    let p = TestProject::new();
    p.write(
        "notes/a.md",
        "---\nsite: Fife\nkind: interview\n---\nInterviewer: Moira, how did Jim take it?\n\nMoira: Jim said to email jim.b@example.org or ring 07700 900123.\n",
    );
    p.run(&["code", "add", "notes/a.md#2", "time", "--quote", "said to email"]);
    p.run(&["code", "add", "notes/a.md#1", "context"]);
    let (_names, n) = names_file("Moira,Participant 1\nJim,Colleague A\n");
    let n = n.as_str();
    // The original fails the check: names, an email and a phone number.
    let o = p.run_expect(&["redact", "--check", "--names", n], 1);
    let found = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        found.contains("name `Moira`") && found.contains("email address") && found.contains("phone number"),
        "{found}"
    );
    let out = tempfile::tempdir().unwrap();
    let copy = out.path().join("copy");
    p.run(&["redact", "--names", n, "--out", copy.to_str().unwrap()]);
    let text = std::fs::read_to_string(copy.join("notes/a.md")).unwrap();
    assert!(
        text.contains("Participant 1: Colleague A said") && !text.contains("Moira") && !text.contains("Jim said"),
        "{text}"
    );
    // Codings sit on the same words in the new text, and the speaker is pseudonymised.
    let c = TestProject { dir: out };
    let list = c.run(&["--project", copy.to_str().unwrap(), "code", "list", "--csv"]);
    assert!(list.contains("said to email"), "{list}");
    let show = c.json(&["--project", copy.to_str().unwrap(), "show", "notes/a.md#2", "--json"]);
    assert_eq!(show["passages"][1]["speaker"], "Participant 1");
    c.run_expect(&["--project", copy.to_str().unwrap(), "code", "check"], 0);
    // Nothing the check finds is left in the copy: the email and phone number are placeholders.
    assert!(text.contains("email [email] or ring [phone]."), "{text}");
    c.run_expect(&["--project", copy.to_str().unwrap(), "redact", "--check", "--names", n], 0);
}

/// A planted interview: names in a speaker label, a possessive, capitals and a memo, an email
/// address built from a name, phone numbers in several forms, a web address with a name in it.
#[test]
fn redaction_leaves_nothing_its_own_check_finds_in_notes_ledgers_or_exports() {
    let p = TestProject::new();
    p.write(
        "notes/fife/interview.md",
        "---\nsite: Fife\nkind: interview\ninterviewee: Morag Findlay\n---\n\
         Interviewer: How did the partnership start, Morag?\n\n\
         Morag Findlay: MORAG'S team took a year to trust us. Write to morag.findlay@fife.gov.uk, \
         or ring 01592 583 222 or +44 7700 900123; (01592) 583223 is the desk. \
         My page is https://example.org/staff/morag-findlay/ if you need it.\n\n\
         Interviewer: Thank you, Ms Findlay.\n",
    );
    let planted =
        ["Morag", "MORAG", "Findlay", "morag.findlay", "01592 583 222", "+44 7700 900123", "583223", "morag-findlay"];
    p.run(&["code", "add", "notes/fife/interview.md#2", "time", "--quote", "took a year to trust us"]);
    let id = p.json(&["code", "list", "--json"])["coding"]["id"].as_str().unwrap().to_string();
    p.run(&["code", "memo", &id, "Morag said it twice; she gave 07700 900124 too"]);
    let (_names, n) = names_file("Morag Findlay,Participant 7\nMorag,P7\nFindlay,P7\n");
    let n = n.as_str();
    let before = String::from_utf8(p.run_expect(&["redact", "--check", "--names", n], 1).stdout).unwrap();
    for what in [
        "name `Morag`",
        "email address `morag.findlay@fife.gov.uk`",
        "phone number `01592 583 222`",
        "phone number `+44 7700 900123`",
        "phone number `(01592) 583223`",
    ] {
        assert!(before.contains(what), "{what} not found in:\n{before}");
    }
    let out = tempfile::tempdir().unwrap();
    let copy = out.path().join("copy");
    let report = out.path().join("replaced.csv");
    let o = p.run_expect(
        &["redact", "--names", n, "--out", copy.to_str().unwrap(), "--report", report.to_str().unwrap()],
        0,
    );
    let said = stderr(&o);
    assert!(said.contains("replaced") && said.contains("4 phone") && said.contains("1 email"), "{said}");
    let counts = std::fs::read_to_string(&report).unwrap();
    assert!(counts.starts_with("file,class,count\n") && counts.contains("notes/fife/interview.md,phone,3"), "{counts}");
    assert!(!planted.iter().any(|w| counts.contains(w)), "the report names no value: {counts}");
    let c = TestProject { dir: out };
    let on = |args: &[&str]| -> Vec<String> {
        let mut v = vec!["--project".to_string(), copy.to_str().unwrap().to_string()];
        v.extend(args.iter().map(|s| s.to_string()));
        v
    };
    let run = |args: &[&str], code: i32| {
        let v = on(args);
        let v: Vec<&str> = v.iter().map(String::as_str).collect();
        c.run_expect(&v, code)
    };
    let qdpx = c.path().join("study.qdpx");
    run(&["export", "qdpx", qdpx.to_str().unwrap()], 0);
    run(&["report", "html", "-o", c.path().join("report.html").to_str().unwrap()], 0);
    run(&["export", "quickwit", c.path().join("qw").to_str().unwrap()], 0);
    run(&["export", "qdc", c.path().join("book.qdc").to_str().unwrap()], 0);
    // The check, with the same names, finds nothing: in the notes, the ledgers and the exports
    // (the .qdpx read entry by entry).
    let exports: Vec<String> = ["study.qdpx", "report.html", "qw", "book.qdc"]
        .iter()
        .map(|f| c.path().join(f).display().to_string())
        .collect();
    let mut args = vec!["redact", "--check", "--names", n];
    args.extend(exports.iter().map(String::as_str));
    let o = run(&args, 0);
    assert!(o.stdout.is_empty(), "{}", String::from_utf8_lossy(&o.stdout));
    assert!(!stderr(&o).contains("not scanned"), "{}", stderr(&o));
    // The original's export is read inside: the check finds the names in its entries.
    let theirs = p.path().join("theirs.qdpx");
    p.run(&["export", "qdpx", theirs.to_str().unwrap()]);
    let o = p.run_expect(&["redact", "--check", "--names", n, theirs.to_str().unwrap()], 1);
    let found = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(found.contains("theirs.qdpx!") && found.contains("name `Morag`"), "{found}");
    let text = std::fs::read_to_string(copy.join("notes/fife/interview.md")).unwrap();
    let ledger = std::fs::read_to_string(copy.join("codings/hb.jsonl")).unwrap();
    let mut export = String::new();
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&qdpx).unwrap()).unwrap();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        std::io::Read::read_to_string(&mut f, &mut export).unwrap_or_default();
    }
    for w in planted {
        for (what, t) in [("note", &text), ("ledger", &ledger), ("qdpx", &export)] {
            assert!(!t.contains(w) && !t.to_lowercase().contains(&w.to_lowercase()), "`{w}` left in the {what}:\n{t}");
        }
    }
    assert!(
        text.contains("Participant 7: P7'S team")
            && text.contains("Write to [email], or ring [phone] or [phone]; [phone] is the desk. My page is [url] if"),
        "{text}"
    );
    assert!(text.contains("interviewee: Participant 7"), "{text}");
    // The coding on the planted passage survives on its words, memo pseudonymised.
    let listed: serde_json::Value = serde_json::from_slice(&run(&["code", "list", "--json"], 0).stdout).unwrap();
    assert_eq!(listed["text"], "took a year to trust us");
    assert_eq!(listed["coding"]["memo"], "P7 said it twice; she gave [phone] too");
    run(&["code", "check"], 0);
}

/// Transcripts are named after whom they record: the name goes from the file's name too, the
/// codings follow the note to its new name, and the check reads file names.
#[test]
fn redaction_replaces_names_in_file_names_and_its_check_reads_them() {
    let p = TestProject::new();
    p.write("notes/fife/interview-morag.md", "---\nsite: Fife\nkind: interview\n---\nMorag: It took a year.\n");
    p.run(&["code", "add", "notes/fife/interview-morag.md#1", "time", "-q"]);
    let (_names, n) = names_file("Morag,P2\n");
    let n = n.as_str();
    let o = p.run_expect(&["redact", "--check", "--names", n], 1);
    let found = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(found.contains("interview-morag.md: name `Morag` in the file's name"), "{found}");
    let out = tempfile::tempdir().unwrap();
    let copy = out.path().join("copy");
    p.run(&["redact", "--names", n, "--out", copy.to_str().unwrap(), "-q"]);
    assert!(copy.join("notes/fife/interview-P2.md").is_file());
    assert!(!copy.join("notes/fife/interview-morag.md").exists());
    let c = TestProject { dir: out };
    let project = copy.to_str().unwrap();
    let list = c.run(&["--project", project, "code", "list", "--csv"]);
    assert!(list.contains("notes/fife/interview-P2.md#") && !list.to_lowercase().contains("morag"), "{list}");
    c.run_expect(&["--project", project, "code", "check"], 0);
    c.run_expect(&["--project", project, "redact", "--check", "--names", n], 0);
}

/// The demo clears only a folder it made: given one with a researcher's files, it stops.
#[test]
fn the_demo_does_not_clear_a_folder_it_did_not_make() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mine");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("thesis.txt"), "keep").unwrap();
    let demo = |out: &std::path::Path| {
        Command::new(env!("CARGO_BIN_EXE_fieldnotes"))
            .args(["-q", "demo", "--out"])
            .arg(out)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    let o = demo(&out);
    assert!(!o.status.success() && stderr(&o).contains("was not made by the demo"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(out.join("thesis.txt")).unwrap(), "keep");
    // Its own folder it makes again.
    let own = dir.path().join("demo");
    assert!(demo(&own).status.success());
    let o = demo(&own);
    assert!(o.status.success(), "{}", stderr(&o));
}

/// Runs of `code auto` started together take turns: each suggestion is written once, and the
/// second run finds the first's suggestions there.
#[test]
fn code_auto_runs_at_once_write_each_suggestion_once() {
    let p = crate::util::TestProject::sample();
    p.run(&["index", "-q"]);
    let runs: Vec<std::process::Child> =
        (0..4).map(|_| p.cmd(&["code", "auto", "-q"]).stdout(std::process::Stdio::null()).spawn().unwrap()).collect();
    for mut r in runs {
        assert!(r.wait().unwrap().success());
    }
    let ledger = p.read("codings/rules.jsonl");
    let ids: Vec<&str> = ledger
        .lines()
        .filter(|l| l.starts_with("{\"op\":\"add\""))
        .map(|l| l.split("\"id\":\"").nth(1).unwrap().split('"').next().unwrap())
        .collect();
    let distinct: std::collections::HashSet<&&str> = ids.iter().collect();
    assert!(!ids.is_empty());
    assert_eq!(ids.len(), distinct.len(), "every suggestion written once");
}

/// The leaks a privacy walkthrough found: a full name broken over a line or joined by a hyphen,
/// plurals, accented capitals, curly apostrophes, decomposed accents in an export, the
/// codebook and the project's name, a coding of a deleted note, a learned coder's rule named
/// after a person, ids made from the original path, ledgers readable by all.
#[test]
fn redaction_leaves_no_name_in_the_places_a_walkthrough_found_them() {
    let p = TestProject::new();
    p.write("fieldnotes.toml", "name = \"Morag Findlay case study\"\ncoder = \"hb\"\n");
    let book = p.read("codebook.toml");
    p.write("codebook.toml", book.replacen("description = \"", "description = \"As Morag Findlay put it: ", 1));
    p.write(
        "notes/fife/morag-findlay/interview.md",
        "---\nsite: Fife\n---\nI spoke to Morag\nFindlay and to Jim-Mackie. The Findlays came, SIOBHÁN O’Neill too.\n\n\
         The trust took time.\n",
    );
    p.write("notes/fife/gone.md", "---\nsite: Fife\n---\nMorag said the trust took time.\n");
    p.run(&["code", "add", "notes/fife/morag-findlay/interview.md#1", "time", "--memo", "Morag, again"]);
    p.run(&["code", "add", "notes/fife/gone.md#1", "time", "--quote", "Morag said the trust"]);
    std::fs::remove_file(p.path().join("notes/fife/gone.md")).unwrap();
    let (_names, n) =
        names_file("Morag Findlay,P7\nMorag,P7\nFindlay,P7\nJim Mackie,P8\nSiobhán O'Neill,P9\nO'Neill,P9\n");
    // Decomposed accents in a file of someone else's: the check composes them as notes are.
    let theirs = p.path().join("theirs.txt");
    std::fs::write(&theirs, "Siobha\u{301}n O'Neill spoke.\n").unwrap();
    let o = p.run_expect(&["redact", "--check", "--names", &n, theirs.to_str().unwrap()], 1);
    let found = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(found.contains("theirs.txt:1: name `Siobhán O'Neill`"), "{found}");
    assert!(found.contains("fieldnotes.toml") && found.contains("codebook.toml"), "{found}");
    let out = tempfile::tempdir().unwrap();
    let copy = out.path().join("copy");
    // A pseudonym that is a listed name, and a copy inside the notes, are refused.
    let (_bad, bad) = names_file("Morag,Jim\nJim Mackie,P8\nJim,P8\n");
    let o = p.run_expect(&["redact", "--names", &bad, "--out", copy.to_str().unwrap()], 2);
    assert!(stderr(&o).contains("the pseudonym `Jim` is itself a listed name"), "{}", stderr(&o));
    let o = p.run_expect(&["redact", "--names", &n, "--out", "notes/copy"], 2);
    assert!(stderr(&o).contains("is inside the study's notes"), "{}", stderr(&o));
    // A dry run says what would be replaced and writes nothing.
    let o = p.run_expect(&["redact", "--names", &n, "--out", copy.to_str().unwrap(), "--dry-run"], 0);
    assert!(
        stderr(&o).contains("would write a pseudonymised copy") && stderr(&o).contains("would replace"),
        "{}",
        stderr(&o)
    );
    assert!(!copy.exists());
    let o = p.run_expect(&["redact", "--names", &n, "--out", copy.to_str().unwrap()], 0);
    assert!(stderr(&o).contains("left 1 coding(s) out of the copy"), "{}", stderr(&o));
    let note = std::fs::read_to_string(copy.join("notes/fife/P7/interview.md")).unwrap();
    assert!(note.contains("I spoke to P7 and to P8. The P7s came, P9 too."), "{note}");
    let mut all = String::new();
    for f in ["fieldnotes.toml", "codebook.toml", "codings/hb.jsonl"] {
        all += &std::fs::read_to_string(copy.join(f)).unwrap();
    }
    for w in ["Morag", "Findlay", "Mackie", "Siobh", "Neill"] {
        assert!(!all.contains(w), "`{w}` left in:\n{all}");
    }
    assert!(all.contains("P7 case study") && all.contains("As P7 put it"), "{all}");
    // One coding, on the copy's note, its id made from the copy's path.
    let ledger = std::fs::read_to_string(copy.join("codings/hb.jsonl")).unwrap();
    assert_eq!(ledger.lines().count(), 1, "{ledger}");
    let original: serde_json::Value = serde_json::from_str(p.read("codings/hb.jsonl").lines().next().unwrap()).unwrap();
    let copied: serde_json::Value = serde_json::from_str(ledger.lines().next().unwrap()).unwrap();
    assert_eq!(copied["doc"], "notes/fife/P7/interview.md");
    assert_ne!(copied["id"], original["id"]);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for l in [p.path().join("codings/hb.jsonl"), copy.join("codings/hb.jsonl")] {
            assert_eq!(std::fs::metadata(&l).unwrap().permissions().mode() & 0o077, 0, "{}", l.display());
        }
    }
    let c = TestProject { dir: out };
    let o = c.run_expect(&["--project", copy.to_str().unwrap(), "redact", "--check", "--names", &n], 0);
    assert!(o.stdout.is_empty(), "{}", String::from_utf8_lossy(&o.stdout));
    c.run_expect(&["--project", copy.to_str().unwrap(), "code", "check"], 0);
}

/// A report or export is never written over the project's own files: a ledger, the codebook,
/// the settings, a note, the derived state (a slip of `-o` or tab completion replaced them
/// whole, and every command then failed or counted nothing), however the path is written.
#[test]
fn outputs_are_not_written_over_the_project_s_own_files() {
    let p = TestProject::new();
    p.write("notes/fife/a.md", "---\nsite: Fife\n---\nThe staff turnover continued.\n");
    p.run(&["code", "add", "notes/fife/a.md#1", "time", "--coder", "hb", "-q"]);
    let kept: Vec<(&str, String)> = ["codings/hb.jsonl", "codebook.toml", "fieldnotes.toml", "notes/fife/a.md"]
        .into_iter()
        .map(|f| (f, p.read(f)))
        .collect();
    for args in [
        &["export", "qdpx", "codings/hb.jsonl"][..],
        &["export", "qdc", "codebook.toml"],
        &["report", "themes", "-o", "fieldnotes.toml"],
        &["report", "themes", "--format", "csv", "-o", "notes/fife/a.md"],
        &["report", "themes", "-o", "new/../codings/hb.jsonl"],
        &["report", "themes", "-o", ".fieldnotes/index/meta.json"],
        &["export", "parquet", "codings/tables"],
    ] {
        let o = p.run_expect(args, 2);
        assert!(stderr(&o).contains("a report or export is not written over it"), "{args:?}: {}", stderr(&o));
    }
    for (f, before) in &kept {
        assert_eq!(&p.read(f), before, "{f}");
    }
    // Anywhere else, as before.
    p.run(&["export", "qdpx", "out/study.qdpx", "-q"]);
    p.run(&["report", "themes", "-o", "themes.txt", "-q"]);
    assert!(p.path().join("out/study.qdpx").is_file() && p.read("themes.txt").contains("time"));
    // Reading it back as a dry run says what would come in and writes nothing.
    let o = p.run_expect(&["import", "qdpx", "out/study.qdpx", "out/back", "--dry-run"], 0);
    assert!(stderr(&o).contains("dry run: would make a project in `out/back`: 1 notes"), "{}", stderr(&o));
    assert!(!p.path().join("out/back").exists());
}
