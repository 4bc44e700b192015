//! What the command line shows, pinned as snapshots (`insta`): moving code between the crates
//! must leave every output as it was, and a change a researcher would see shows up as a diff
//! to review (`cargo insta review`, or `INSTA_UPDATE=always cargo test` and `git diff`), not
//! in silence. Three notes of the sample study, coded by the rules and by hand; the project's
//! temporary folder and the times of day are the only parts made stable.

use crate::util::{TestProject, repo};

/// Notes of the sample study: a meeting and an interview in Fife, a steering group in Glasgow.
const NOTES: [&str; 3] = [
    "fife/2015-03-18-first-meeting-fife-partnership-team.md",
    "fife/2015-05-13-interview-partnership-team-leader.md",
    "glasgow/2015-07-15-neighbourhood-steering-group-parkhead.md",
];

fn project() -> TestProject {
    let p = TestProject::new();
    for rel in NOTES {
        p.write(&format!("notes/{rel}"), std::fs::read(repo().join("data/sample/notes").join(rel)).unwrap());
    }
    p
}

/// `out` with what changes from run to run made stable: the project's folder, and times.
fn stable(p: &TestProject, out: &str) -> String {
    let times = regex::Regex::new(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ").unwrap();
    times.replace_all(&out.replace(p.path().to_str().unwrap(), "[project]"), "[time]").into_owned()
}

/// Runs `args` in `p` and pins stdout (and stderr, when there is any) under `name`.
fn pin(p: &TestProject, name: &str, args: &[&str]) {
    let out = p.cmd(args).output().unwrap();
    let mut shown = format!("$ fieldnotes {}\nexit: {}\n", args.join(" "), out.status.code().unwrap_or(-1));
    shown.push_str(&String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8_lossy(&out.stderr);
    if !err.is_empty() {
        shown.push_str("--- stderr\n");
        shown.push_str(&err);
    }
    insta::assert_snapshot!(name, stable(p, &shown));
}

#[test]
fn reading_and_searching_the_notes() {
    let p = project();
    pin(&p, "notes", &["notes"]);
    pin(&p, "notes_json", &["notes", "--json"]);
    pin(&p, "index", &["-q", "index"]);
    pin(&p, "search_word", &["search", "trust"]);
    pin(&p, "search_phrase_by_site", &["search", "\"critical friend\" site:Fife"]);
    pin(&p, "search_json", &["search", "evidence", "--json", "--limit", "3"]);
    pin(&p, "show_passage", &["show", "notes/fife/2015-05-13-interview-partnership-team-leader.md#4"]);
    pin(&p, "search_bad_query", &["search", "site:"]);
    pin(&p, "show_unknown_note", &["show", "notes/nowhere.md#1"]);
}

#[test]
fn coding_reviewing_and_reporting() {
    let p = project();
    let answer = "notes/fife/2015-05-13-interview-partnership-team-leader.md#4";
    pin(&p, "code_auto", &["code", "auto"]);
    pin(
        &p,
        "code_add",
        &["code", "add", answer, "critical-relationships", "--quote", "tell us what we don't want to hear"],
    );
    pin(&p, "code_add_whole", &["code", "add", answer, "authenticity", "--memo", "on our side"]);
    pin(&p, "code_review_accept", &["code", "review", "--accept", "--code", "expertise"]);
    pin(&p, "code_list_hand", &["code", "list", "--coder", "hb"]);
    pin(&p, "code_list_json", &["code", "list", "--coder", "hb", "--json"]);
    pin(&p, "code_check", &["code", "check"]);
    pin(&p, "codebook_show", &["codebook", "show"]);
    pin(&p, "report_themes", &["report", "themes", "--by", "site"]);
    pin(
        &p,
        "report_themes_suggested_csv",
        &["report", "themes", "--by", "kind", "--format", "csv", "--include-suggested"],
    );
    pin(&p, "report_quotes", &["report", "quotes", "--code", "critical-relationships", "--include-suggested"]);
    pin(&p, "agree", &["agree", "--coders", "rules,hb", "--include-suggested"]);
    pin(&p, "agree_json", &["agree", "--coders", "rules,hb", "--include-suggested", "--json"]);
    pin(
        &p,
        "agree_disagreements_json",
        &["agree", "--coders", "rules,hb", "--include-suggested", "--disagreements", "--json"],
    );
    pin(&p, "search_code", &["search", "code:critical-relationships"]);
    pin(&p, "code_eval", &["code", "eval", "--against", "hb"]);
    pin(&p, "code_eval_json", &["code", "eval", "--against", "hb", "--json"]);
    pin(&p, "code_add_unknown_code", &["code", "add", answer, "no-such-code"]);
    pin(&p, "code_rm", &["code", "rm", answer, "authenticity"]);
}
