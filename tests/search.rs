//! Search says exactly what it found (issue #20): matches from the query, compounds, attribute
//! words, unknown names, the stale index, and which codings `code:` counts.

use crate::util::{TestProject, stderr};

fn project() -> TestProject {
    let p = TestProject::new();
    p.write(
        "notes/glasgow/a.md",
        "---\nsite: Glasgow\nkind: interview\ntitle: Mental Health in Schools\n---\n\
         Hon. Bill Blair (Minister of Public Safety): In the first months the board met. The months \
         passed and first of all the staff left.\n\n\
         Lynne Neagle AM: Their well-being may well be the point; co-operation matters.\n",
    );
    p.write(
        "notes/fife/b.md",
        "---\nsite: Fife\nkind: meeting\n---\nTheir wellbeing grew with cooperation and staff turnover.\n",
    );
    p
}

fn total(p: &TestProject, args: &[&str]) -> u64 {
    let mut all = vec!["search"];
    all.extend(args);
    all.extend(["--count", "--json"]);
    p.json(&all)["total"].as_u64().unwrap()
}

#[test]
fn kwic_and_snippets_show_the_query_s_matches() {
    let p = project();
    let kwic = p.run(&["search", "\"the first months\"", "--kwic", "--width", "12"]);
    // One line for the one match, every word of it marked, and no other `the`, `first`, `months`.
    assert_eq!(kwic.lines().count(), 1, "{kwic}");
    assert!(kwic.contains("[the] [first] [months]"), "{kwic}");
    let snippet = p.run(&["search", "\"the first months\""]);
    assert_eq!(snippet.matches('[').count(), 3, "{snippet}");
    let kwic = p.run(&["search", "well-being", "--kwic", "--width", "10"]);
    assert!(kwic.contains("[well-being]") && !kwic.contains("[be]") && !kwic.contains("[well]"), "{kwic}");
    // A proximity match is one line.
    let kwic = p.run(&["search", "\"board staff\"~12", "--kwic"]);
    assert_eq!(kwic.lines().count(), 1, "{kwic}");
    let v = p.json(&["search", "\"the first months\"", "--json"]);
    assert_eq!(v["hits"][0]["matches"], serde_json::json!(["the first months"]));
}

#[test]
fn compounds_and_attribute_words() {
    let p = project();
    for exact in [&[][..], &["--exact"][..]] {
        let n = |q: &str| total(&p, &[&[q][..], exact].concat());
        assert_eq!(n("wellbeing"), 2);
        assert_eq!(n("well-being"), 2);
        assert_eq!(n("cooperation"), 2);
        assert_eq!(n("co-operation"), 2);
    }
    assert_eq!(total(&p, &["speaker:blair"]), 1);
    assert_eq!(total(&p, &["speaker:\"bill blair\""]), 1);
    assert_eq!(total(&p, &["speaker:neagle"]), 1);
    assert_eq!(total(&p, &["speaker:=\"Lynne Neagle AM\""]), 1);
    assert_eq!(total(&p, &["title:health"]), 2);
    let o = p.run_expect(&["search", "speaker:=neagle"], 1);
    assert!(stderr(&o).contains("speaker:=\"lynne neagle am\""), "{}", stderr(&o));
    let help = p.run(&["search", "--help"]);
    assert!(help.contains("speaker:=") && help.contains("wellbeing") && help.contains("Examples"), "{help}");
}

#[test]
fn unknown_names_warn_and_unknown_groups_fail() {
    let p = project();
    let o = p.run_expect(&["search", "staff AND sitee:glasgow"], 1);
    assert!(stderr(&o).contains("`sitee`") && stderr(&o).contains("`site:glasgow`"), "{}", stderr(&o));
    let o = p.run_expect(&["search", "site:glasgw"], 1);
    assert!(stderr(&o).contains("did you mean `site:glasgow`?"), "{}", stderr(&o));
    let o = p.run_expect(&["search", "code:tiem"], 1);
    assert!(stderr(&o).contains("no code `tiem`") && stderr(&o).contains("`code:time`"), "{}", stderr(&o));
    // Fine names that match nothing stay quiet.
    let o = p.run_expect(&["search", "site:fife speaker:blair"], 1);
    assert!(o.stdout.is_empty());
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    let o = p.run_expect(&["search", "staff", "--count", "--by", "month"], 2);
    assert!(stderr(&o).contains("`month`"), "{}", stderr(&o));
    let o = p.run_expect(&["report", "themes", "--by", "sitee"], 2);
    assert!(stderr(&o).contains("`sitee`"), "{}", stderr(&o));
    let o = p.run_expect(&["search", "staff or turnover"], 1);
    assert!(stderr(&o).contains("`or`") && stderr(&o).contains("`OR`"), "{}", stderr(&o));
}

#[test]
fn edited_notes_are_noticed() {
    let p = project();
    p.run(&["index", "-q"]);
    assert_eq!(total(&p, &["zebra"]), 0);
    std::thread::sleep(std::time::Duration::from_millis(20));
    p.write("notes/fife/c.md", "---\nsite: Fife\n---\nA zebra crossing.\n");
    // A small project is brought up to date first, and says so.
    let o = p.run_expect(&["search", "zebra"], 0);
    assert!(stderr(&o).contains("notes/fife/c.md") && stderr(&o).contains("changed"), "{}", stderr(&o));
    let o = p.run_expect(&["search", "zebra"], 0);
    assert!(!stderr(&o).contains("changed"), "{}", stderr(&o));
}

#[test]
fn code_counts_accepted_codings_unless_told() {
    let p = project();
    p.run(&["code", "auto", "-q"]);
    let suggested = p.json(&["search", "code:time", "--count", "--json", "--include-suggested"]);
    assert_eq!(suggested["codings"], "accepted and suggested");
    assert!(suggested["total"].as_u64().unwrap() >= 1, "{suggested}");
    // Not accepted yet: nothing, with a hint; as `report themes` counts.
    let o = p.run_expect(&["search", "code:time", "--count", "--json"], 0);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((v["total"].as_u64(), v["codings"].as_str()), (Some(0), Some("accepted")));
    assert!(stderr(&o).contains("--include-suggested"), "{}", stderr(&o));
    p.run(&["code", "add", "notes/fife/b.md#1", "time", "-q"]);
    assert_eq!(total(&p, &["code:time"]), 1);
    let by = p.run(&["search", "code:time", "--count", "--by", "site"]);
    assert!(by.contains("accepted codings"), "{by}");
}

/// A note replaced by a copy that kept its old date (`cp -p`, `rsync -a`, unzip): its time of
/// last change says it changed after the index, and search sees it.
#[test]
fn a_note_changed_under_an_old_date_is_noticed() {
    let p = project();
    p.run(&["index", "-q"]);
    let path = p.path().join("notes/fife/b.md");
    let old = std::fs::metadata(&path).unwrap().modified().unwrap() - std::time::Duration::from_secs(86_400 * 365);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}\nAn elephantine budget was agreed.\n")).unwrap();
    std::fs::File::options().write(true).open(&path).unwrap().set_modified(old).unwrap();
    let o = p.run_expect(&["search", "elephantine", "--count"], 0);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "1", "{}", stderr(&o));
    assert!(stderr(&o).contains("1 note(s) changed since the index was built (`notes/fife/b.md`)"), "{}", stderr(&o));
}

/// Counted by a key a note has several values of, a passage counts under each: the caption
/// says so, with the sum the rows add up to.
#[test]
fn counts_by_a_list_say_that_rows_add_up_to_more() {
    let p = TestProject::sample();
    p.run(&["index", "-q"]);
    p.run(&["code", "auto", "-q"]);
    let out = p.run(&["search", "code:time", "--count", "--by", "participants", "--include-suggested"]);
    let summed: u64 =
        out.lines().filter(|l| !l.contains("match")).filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok()).sum();
    let total = p.json(&["search", "code:time", "--count", "--json", "--include-suggested"])["total"].as_u64().unwrap();
    assert!(summed > total, "{out}");
    assert!(out.contains(&format!("the rows add up to {summed}, not {total}")), "{out}");
    let by_site = p.run(&["search", "code:time", "--count", "--by", "site", "--include-suggested"]);
    assert!(!by_site.contains("add up to"), "{by_site}");
}

/// An export holds every hit: `--csv` and `--json` are not cut at the terminal's 20, and a
/// limit asked for is said where it leaves hits out.
#[test]
fn exports_hold_every_hit_unless_told() {
    let p = TestProject::new();
    for i in 0..25 {
        p.write(&format!("notes/fife/{i:02}.md"), "---\nsite: Fife\n---\nThe staff turnover went on.\n");
    }
    let o = p.run_expect(&["search", "turnover", "--csv"], 0);
    let csv = String::from_utf8(o.stdout.clone()).unwrap();
    assert_eq!(csv.lines().count(), 26, "a header and 25 rows: {csv}");
    assert!(!stderr(&o).contains("wrote"), "{}", stderr(&o));
    assert_eq!(p.json(&["search", "turnover", "--json"])["hits"].as_array().unwrap().len(), 25);
    let o = p.run_expect(&["search", "turnover", "--csv", "-n", "5"], 0);
    assert_eq!(String::from_utf8(o.stdout.clone()).unwrap().lines().count(), 6);
    assert!(stderr(&o).contains("wrote 5 of the 25 passages that match"), "{}", stderr(&o));
    // On the terminal, 20, with the total.
    let o = p.run_expect(&["search", "turnover"], 0);
    assert!(stderr(&o).contains("25 passages match `turnover`; showing 20"), "{}", stderr(&o));
}

/// A note that cannot be read is named by every search, not only by the one that re-indexed
/// and found it: its passages are in no hit and no count (an empty note, holding none, is not).
#[test]
fn every_search_names_the_notes_it_could_not_read() {
    let p = project();
    p.write("notes/fife/broken.md", "---\nsite: [Fife\n---\nThe staff turnover in Kirkcaldy.\n");
    p.write("notes/fife/empty.md", "");
    for _ in 0..2 {
        let o = p.run_expect(&["search", "site:fife", "--count"], 0);
        let err = stderr(&o);
        assert!(
            err.contains("1 note(s) could not be read and are in no hit or count (`notes/fife/broken.md`: line"),
            "{err}"
        );
        let said = err.lines().find(|l| l.contains("could not be read")).unwrap();
        assert!(!said.contains("empty.md"), "{said}");
    }
    p.write("notes/fife/broken.md", "---\nsite: Fife\n---\nThe staff turnover in Kirkcaldy.\n");
    let o = p.run_expect(&["search", "kirkcaldy", "--count"], 0);
    assert!(!stderr(&o).contains("could not be read"), "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "1");
}

/// A count of codes says what it leaves out, as a table's caption does: codings orphaned by an
/// edit, and codes the codebook no longer has (counted under `--by code`, but by no table).
#[test]
fn code_counts_say_what_they_leave_out() {
    let p = project();
    p.run(&["code", "add", "notes/fife/b.md#1", "time", "--coder", "hb", "-q"]);
    p.run(&["code", "add", "notes/glasgow/a.md#1", "time", "--coder", "hb", "-q"]);
    let o = p.run_expect(&["search", "code:time", "--count"], 0);
    assert!(!stderr(&o).contains("orphaned"), "{}", stderr(&o));
    // The coded words of b.md rewritten away: its coding is orphaned.
    p.write("notes/fife/b.md", "---\nsite: Fife\nkind: meeting\n---\nSomething else entirely, about the budget.\n");
    let o = p.run_expect(&["search", "code:time", "--count"], 0);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "1");
    assert!(stderr(&o).contains("1 orphaned coding(s)"), "{}", stderr(&o));
    // A code renamed in the codebook: `--by code` marks the old id.
    let book = p.read("codebook.toml");
    p.write("codebook.toml", book.replace("id = \"time\"", "id = \"pace\""));
    let o = p.run_expect(&["search", "staff", "--count", "--by", "Code"], 0);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("time (not in the codebook)"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(stderr(&o).contains("code(s) `time` are not in the codebook"), "{}", stderr(&o));
}

/// A `*` inside quotes is a character, not a wildcard: the phrase finds nothing, and search
/// says why.
#[test]
fn a_wildcard_in_quotes_is_said() {
    let p = project();
    let o = p.run_expect(&["search", "\"turn*\"", "--count"], 0);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "0");
    assert!(stderr(&o).contains("inside quotes `*` is not a wildcard"), "{}", stderr(&o));
    let o = p.run_expect(&["search", "turn*", "--count"], 0);
    assert!(!stderr(&o).contains("wildcard"), "{}", stderr(&o));
}

/// `code:time` does not find the codings of `time`'s sub-codes: said, with the terms to add.
#[test]
fn a_code_with_sub_codes_says_they_are_not_found() {
    let p = project();
    let book = p.read("codebook.toml");
    p.write(
        "codebook.toml",
        format!("{book}\n[[code]]\nid = \"time/slow-trust\"\nname = \"Slow trust\"\nparent = \"time\"\ndescription = \"d\"\n"),
    );
    p.run(&["code", "add", "notes/fife/b.md#1", "time/slow-trust", "--coder", "hb", "-q"]);
    let o = p.run_expect(&["search", "code:time", "--count"], 0);
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "0");
    assert!(stderr(&o).contains("not of its sub-codes (`code:time/slow-trust`)"), "{}", stderr(&o));
    let o = p.run_expect(&["search", "code:context", "--count"], 0);
    assert!(!stderr(&o).contains("sub-codes"), "{}", stderr(&o));
}
