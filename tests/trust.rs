//! Codings a researcher can trust: they follow their words through edits, every table counts
//! the same codings, reviews are credited, exports say what a coding is, quotes are quotes,
//! and nothing is left out without a word.

use crate::util::{TestProject, stderr};

/// The text of passage `id` (as `show --json` gives it).
fn passage_text(p: &TestProject, id: &str) -> String {
    let v = p.json(&["show", id, "--json", "-C", "0"]);
    v["passages"][0]["text"].as_str().unwrap().to_string()
}

/// Byte ranges of the whitespace-separated words of `text`.
fn words(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

#[test]
fn hand_codings_follow_their_words_through_edits() {
    let p = TestProject::sample();
    p.run(&["index", "-q"]);
    p.run(&["code", "auto", "-q"]);
    // Twelve notes, the third passage of each: a span of four words coded by hand, with a memo.
    let mut notes: Vec<String> = walk(&p.path().join("notes"));
    notes.sort();
    let mut cases = Vec::new();
    for note in notes.iter().step_by(notes.len() / 12).take(12) {
        let rel = note.strip_prefix(&format!("{}/", p.path().display())).unwrap().to_string();
        // The first passage from the third on with eight words or more.
        let (id, text) = (3..40)
            .map(|n| format!("{rel}#{n}"))
            .map(|id| {
                let t = passage_text(&p, &id);
                (id, t)
            })
            .find(|(_, t)| words(t).len() >= 8)
            .unwrap();
        let w = words(&text);
        let quote = &text[w[2].0..w[5].1];
        let memo = format!("memo on {rel}");
        p.run(&["code", "add", &id, "expertise", "--quote", quote, "--memo", &memo, "-q"]);
        // One word inside the coded words is edited, and a paragraph is inserted above.
        let edited_quote = format!("{}EDITED{}", &text[w[2].0..w[3].0], &text[w[3].1..w[5].1]);
        let edited = format!("{}{edited_quote}{}", &text[..w[2].0], &text[w[5].1..]);
        cases.push((rel, text, edited, edited_quote, memo));
    }
    for (rel, text, edited, _, _) in &cases {
        let file = p.read(rel);
        assert_eq!(file.matches(text.as_str()).count(), 1, "{rel}");
        p.write(rel, file.replacen(text.as_str(), &format!("A paragraph written later.\n\n{edited}"), 1));
    }
    // Every hand coding is on its words, edit included, with its memo: none orphaned.
    let list = p.run(&["code", "list", "--coder", "hb", "--json"]);
    let rows: Vec<serde_json::Value> = list.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(rows.len(), 12, "{list}");
    for (rel, _, _, edited_quote, memo) in &cases {
        let row = rows.iter().find(|r| r["coding"]["doc"] == rel.as_str()).unwrap();
        assert!(row["orphaned"].is_null(), "{rel}: {row}");
        assert_eq!(row["text"], edited_quote.as_str(), "{rel}");
        assert_eq!(row["coding"]["memo"], memo.as_str());
    }
    // `code check` reports them moved; `--fix` records their new place (a `move` each, in the
    // notes' new versions), after which all is in order and nothing changed place.
    let o = p.run_expect(&["code", "check"], 1);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(!out.contains("orphaned"), "{out}");
    p.run(&["code", "check", "--fix", "-q"]);
    let ledger = p.read("codings/hb.jsonl");
    assert_eq!(ledger.lines().filter(|l| l.contains("\"op\":\"move\"")).count(), 12, "{ledger}");
    p.run(&["code", "check"]);
    let again = p.run(&["code", "list", "--coder", "hb", "--json"]);
    for (rel, _, _, edited_quote, _) in &cases {
        let row: serde_json::Value = again
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
            .find(|r| r["coding"]["doc"] == rel.as_str())
            .unwrap();
        assert_eq!(row["text"], edited_quote.as_str(), "{rel}");
    }
    // The report counts them where they are now.
    let themes = p.json(&["report", "themes", "--coder", "hb", "--format", "json"]);
    let total: f64 = themes["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_array().unwrap().last().unwrap().as_f64().unwrap_or(0.0))
        .sum();
    assert_eq!(total, 12.0, "{themes}");
}

#[test]
fn passage_ids_name_the_same_passage_through_edits() {
    let p = TestProject::sample();
    let mut notes: Vec<String> = walk(&p.path().join("notes"));
    notes.sort();
    // Six notes: the ids of their third and fourth passages, noted before any edit; the third is
    // coded, with its id in the memo.
    let mut cases = Vec::new();
    for note in notes.iter().step_by(notes.len() / 6).take(6) {
        let rel = note.strip_prefix(&format!("{}/", p.path().display())).unwrap().to_string();
        let (third, fourth) = (p.key_id(&format!("{rel}#3")), p.key_id(&format!("{rel}#4")));
        assert!(third.starts_with(&format!("{rel}#k")), "{third}");
        let (t3, t4) = (passage_text(&p, &third), passage_text(&p, &fourth));
        p.run(&["code", "add", &third, "time", "--memo", &format!("see {third}"), "-q"]);
        cases.push((rel, third, fourth, t3, t4));
    }
    // A paragraph inserted at the top of each, and one word of the third passage edited.
    for (rel, _, _, t3, _) in &cases {
        let file = p.read(rel);
        let first = passage_text(&p, &format!("{rel}#1"));
        let w = words(t3);
        let edited_third = format!("{}EDITED{}", &t3[..w[1].0], &t3[w[1].1..]);
        let file = file.replacen(first.as_str(), &format!("Written later, above it all.\n\n{first}"), 1);
        p.write(rel, file.replacen(t3.as_str(), &edited_third, 1));
    }
    for (rel, third, fourth, t3, t4) in &cases {
        // The untouched passage keeps its id; ordinals have moved on.
        assert_eq!(&passage_text(&p, fourth), t4, "{fourth}");
        assert_eq!(&passage_text(&p, &format!("{rel}#5")), t4);
        // The edited one is found under its old id, said aloud with its id now.
        let o = p.run_expect(&["show", third, "--json", "-C", "0"], 0);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let now = v["passages"][0]["id"].as_str().unwrap().to_string();
        assert_ne!(&now, third);
        assert!(v["passages"][0]["text"].as_str().unwrap().contains("EDITED"), "{v}");
        assert!(stderr(&o).contains(&format!("its id is now `{now}`")), "{}", stderr(&o));
        assert_eq!(p.key_id(&format!("{rel}#4")), now);
        let _ = t3;
    }
    // After `index` records the new versions, old ids still trace; a coding by old id lands on
    // the passage it named.
    p.run(&["index", "-q"]);
    let (rel, third, _, _, _) = &cases[0];
    p.run(&["code", "add", third, "expertise", "-q"]);
    let list = p.run(&["code", "list", "--csv", "--code", "expertise"]);
    assert!(list.contains(&p.key_id(&format!("{rel}#4"))), "{list}");
    // A passage split in two: its old id names neither half, and says where its words went.
    let (rel, _, fourth, _, t4) = &cases[1];
    let w = words(t4);
    let cut = w[w.len() / 2].0;
    p.write(rel, p.read(rel).replacen(t4.as_str(), &format!("{}\n\n{}", &t4[..cut], &t4[cut..]), 1));
    // (the fourth passage was not coded: its note's kept version, from the third's coding, has it)
    let o = p.run_expect(&["show", fourth], 2);
    let e = stderr(&o);
    assert!(e.contains("split") && e.contains(&p.key_id(&format!("{rel}#5"))), "{e}");
    assert!(e.contains(&p.key_id(&format!("{rel}#6"))), "{e}");
    // A passage of a note never coded, rewritten: no kept version knows it, and it says so.
    let uncoded = notes
        .iter()
        .map(|n| n.strip_prefix(&format!("{}/", p.path().display())).unwrap().to_string())
        .find(|n| !cases.iter().any(|c| &c.0 == n))
        .unwrap();
    let id = p.key_id(&format!("{uncoded}#2"));
    let text = passage_text(&p, &id);
    p.write(&uncoded, p.read(&uncoded).replacen(text.as_str(), "Something else entirely.", 1));
    let o = p.run_expect(&["code", "add", &id, "time"], 2);
    assert!(stderr(&o).contains("names no passage"), "{}", stderr(&o));
    assert!(!p.run(&["code", "list", "--csv"]).contains(&uncoded), "nothing was coded");
    // An id mistyped by a character: the passage it most likely means is named.
    let right = p.key_id(&format!("{uncoded}#3"));
    let last = right.chars().last().unwrap();
    let typo = format!("{}{}", &right[..right.len() - 1], if last == 'a' { 'b' } else { 'a' });
    let o = p.run_expect(&["show", &typo], 2);
    assert!(stderr(&o).contains(&format!("did you mean `{right}`?")), "{}", stderr(&o));
}

#[test]
fn a_rewritten_passage_orphans_its_coding_which_stays_listed_and_can_be_moved() {
    let p = TestProject::sample();
    let id = "notes/fife/2016-03-02-locality-planning-group-levenmouth.md#3";
    let rel = id.split('#').next().unwrap();
    let text = passage_text(&p, id);
    p.run(&["code", "add", id, "time", "--memo", "keep me", "-q"]);
    let file = p.read(rel);
    p.write(
        rel,
        file.replacen(text.as_str(), "Nothing of the kind was said; the group moved on to other business.", 1),
    );
    // Orphaned: listed, with memo and coder, and `code check` names a candidate and the command.
    let o = p.run_expect(&["code", "list", "--csv"], 0);
    let csv = String::from_utf8_lossy(&o.stdout).to_string();
    let line = csv.lines().find(|l| l.contains("orphaned")).unwrap_or_else(|| panic!("{csv}"));
    assert!(line.contains(",time,hb,accepted,") && line.contains("keep me"), "{line}");
    assert!(stderr(&o).contains("code move"), "{}", stderr(&o));
    let o = p.run_expect(&["code", "check"], 1);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(out.contains("orphaned") && out.contains("fieldnotes code move"), "{out}");
    // Re-attached by hand: no longer orphaned, on the passage given.
    let o = p.run_expect(&["code", "check", "--json"], 1);
    let check: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let orphan = &check["orphaned"][0];
    assert_eq!(orphan["memo"], "keep me");
    let coding_id = orphan["id"].as_str().unwrap().to_string();
    p.run(&["code", "move", &coding_id, id, "-q"]);
    p.run(&["code", "check"]);
    let list = p.run(&["code", "list", "--csv"]);
    assert!(list.contains(&p.key_id(id)) && !list.contains("orphaned"), "{list}");
}

#[test]
fn review_credits_the_reviewer_and_eval_does_not_blame_the_rules() {
    let p = TestProject::sample();
    p.run(&["code", "auto", "-q"]);
    // A review must say who decides.
    let o = p
        .cmd(&["code", "review", "--accept", "--code", "time", "--site", "highland"])
        .env_remove("FIELDNOTES_CODER")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o)); // fieldnotes.toml names coder hb
    p.run(&["code", "review", "--accept", "--code", "time", "--site", "fife", "--coder", "jm", "-q"]);
    let accepted_by_jm = p
        .run(&["code", "list", "--csv", "--coder", "rules", "--code", "time", "--site", "fife", "--status", "accepted"])
        .lines()
        .count()
        - 1;
    assert!(accepted_by_jm > 0);
    let ledger = p.read("codings/rules.jsonl");
    assert!(ledger.contains("\"by\":\"jm\""), "the decision records who made it");
    // jm's table counts what jm accepted; eval against jm finds no false positive of the rules
    // among them.
    let t = p.json(&["report", "themes", "--coder", "jm", "--format", "json", "--by", "site"]);
    let rows = t["table"]["rows"].as_array().unwrap();
    let time_row = rows.iter().position(|r| r["id"] == "time").unwrap();
    let groups: Vec<String> =
        t["table"]["groups"].as_array().unwrap().iter().map(|g| g.as_str().unwrap().to_string()).collect();
    let fife = groups.iter().position(|g| g.eq_ignore_ascii_case("fife")).unwrap();
    assert!(t["values"][time_row][fife].as_f64().unwrap() > 0.0, "{t}");
    let e = p.json(&["code", "eval", "--against", "jm", "--json"]);
    let time = e["codes"].as_array().unwrap().iter().find(|c| c["code"] == "time").unwrap();
    assert!(time["tp"].as_u64().unwrap() > 0, "{e}");
    assert_eq!(time["fn"], 0, "{e}");
    // What jm rejected is the rules' false positive, in eval and in agreement.
    p.run(&["code", "review", "--reject", "--code", "expertise", "--site", "glasgow", "--coder", "jm", "-q"]);
    let e = p.json(&["code", "eval", "--against", "jm", "--json"]);
    let expertise = e["codes"].as_array().unwrap().iter().find(|c| c["code"] == "expertise").unwrap();
    assert!(expertise["fp"].as_u64().unwrap() > 0, "{e}");
    assert_eq!(expertise["tp"], 0, "{e}");
    let a = p.run(&["agree", "--coders", "rules,jm", "--include-suggested", "--csv"]);
    let row = a.lines().find(|l| l.starts_with("expertise,")).unwrap_or_else(|| panic!("{a}"));
    assert!(!row.contains(",100.0,"), "rejections are disagreements: {row}");
    // A REFI-QDA export credits jm with what jm accepted.
    p.run(&["export", "qdpx", "jm.qdpx", "-q"]);
    let f = std::fs::File::open(p.path().join("jm.qdpx")).unwrap();
    let mut zip = zip::ZipArchive::new(f).unwrap();
    let mut qde = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("project.qde").unwrap(), &mut qde).unwrap();
    assert!(qde.contains("name=\"jm\""), "a user jm");
}

#[test]
fn quotes_are_the_coded_words_with_where_they_come_from() {
    let p = TestProject::sample();
    let id = "notes/fife/2016-03-02-locality-planning-group-levenmouth.md#3";
    let text = passage_text(&p, id);
    let w = words(&text);
    let quote = &text[w[1].0..w[4].1];
    p.run(&["code", "add", id, "expertise", "--quote", quote, "-q"]);
    let key = p.key_id(id);
    for format in ["table", "csv", "md", "json"] {
        let out = p.run(&["report", "quotes", "--code", "expertise", "--format", format]);
        assert!(out.contains(quote), "{format}: {out}");
        assert!(!out.contains(&text[w[5].0..w[6].1]), "{format}: the rest of the passage is not quoted: {out}");
        assert!(out.contains("2016-03-02") && out.contains(&key), "{format}: date and passage: {out}");
    }
}

#[test]
fn a_codebook_with_a_duplicate_id_is_refused_by_every_command() {
    let p = TestProject::sample();
    let book = p.read("codebook.toml");
    p.write("codebook.toml", format!("{book}\n[[code]]\nid = \"time\"\nname = \"Again\"\ndescription = \"x\"\n"));
    for args in
        [vec!["report", "themes"], vec!["export", "qdc", "x.qdc"], vec!["codebook", "show"], vec!["code", "auto"]]
    {
        let o = p.cmd(&args).output().unwrap();
        assert!(!o.status.success(), "{args:?} accepted a codebook with a duplicate id");
        let e = stderr(&o);
        assert!(e.contains("duplicate code id `time`") && e.contains("line"), "{args:?}: {e}");
    }
}

#[test]
fn notes_that_cannot_be_read_are_named_in_every_caption() {
    let p = TestProject::sample();
    p.write("notes/fife/broken.md", "---\ndate: 2016-13-45\nsite: Fife\n---\nText.\n");
    p.run(&["code", "auto", "-q"]);
    for args in [
        vec!["report", "themes", "--format", "md"],
        vec!["report", "themes", "--format", "json"],
        vec!["report", "themes", "--format", "latex"],
        vec!["report", "cooccur"],
        vec!["report", "stats"],
        vec!["report", "quotes", "--format", "json"],
    ] {
        let out = p.run(&args);
        assert!(out.contains("notes/fife/broken.md") && out.contains("could not be read"), "{args:?}: {out}");
    }
    // CSV has no caption: it goes to the terminal.
    let o = p.run_expect(&["report", "themes", "--format", "csv"], 0);
    let e = stderr(&o);
    assert!(
        e.contains("caption: ") && e.contains("accepted codings only") && e.contains("notes/fife/broken.md"),
        "{e}"
    );
    // A filter naming nothing in the project says so.
    let o = p.run_expect(&["code", "list", "--site", "fyfe", "--code", "tiem"], 0);
    let e = stderr(&o);
    assert!(e.contains("did you mean `Fife`") && e.contains("did you mean `time`"), "{e}");
    // So does a review (on the terminal, and on the workbench's review page, which shows the
    // same warnings).
    let o = p.run_expect(&["code", "review", "--accept", "--site", "fyfe", "--code", "tiem", "--coder", "hb"], 0);
    let e = stderr(&o);
    assert!(e.contains("no site `fyfe`") && e.contains("did you mean `time`"), "{e}");
    p.run(&["report", "html", "-o", "r.html", "-q"]);
    assert!(p.read("r.html").contains("notes/fife/broken.md"));
    let o = p.run_expect(&["export", "qdpx", "s.qdpx"], 0);
    assert!(stderr(&o).contains("could not be read"), "{}", stderr(&o));
}

#[test]
fn exports_carry_accepted_codings_unless_told() {
    let p = TestProject::sample();
    p.run(&["code", "auto", "-q"]);
    p.run(&["code", "review", "--accept", "--code", "time", "--site", "fife", "-q"]);
    let accepted = p.run(&["code", "list", "--csv", "--status", "accepted"]).lines().count() - 1;
    let o = p.run_expect(&["export", "qdpx", "a.qdpx"], 0);
    let said = stderr(&o);
    assert!(said.contains(&format!("{accepted} codings (accepted only")), "{said}");
    let o = p.run_expect(&["export", "qdpx", "b.qdpx", "--include-suggested"], 0);
    assert!(stderr(&o).contains("suggested and marked as such"), "{}", stderr(&o));
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_dir() {
            out.extend(walk(&e.path()));
        } else {
            out.push(e.path().display().to_string());
        }
    }
    out
}

/// The sample study indexed and auto-coded, with the suggestions of each (code, site) accepted by
/// its coder.
fn reviewed_sample(accepted: &[(&str, &str, &str)]) -> TestProject {
    let p = TestProject::sample();
    p.run(&["index", "-q"]);
    p.run(&["code", "auto", "-q"]);
    for (code, site, coder) in accepted {
        p.run(&["code", "review", "--accept", "--code", code, "--site", site, "--coder", coder, "-q"]);
    }
    p
}

/// The total of `code`'s row in `report themes` (with `extra` arguments).
fn themes_total(p: &TestProject, code: &str, extra: &[&str]) -> u64 {
    let t = p.json(&[&["report", "themes", "--format", "json"], extra].concat());
    let row = t["table"]["rows"].as_array().unwrap().iter().position(|r| r["id"] == code).unwrap();
    t["values"][row].as_array().unwrap().last().unwrap().as_f64().unwrap() as u64
}

/// The passages `search code:CODE --count` finds (with `extra` arguments).
fn search_total(p: &TestProject, code: &str, extra: &[&str]) -> u64 {
    let query = format!("code:{code}");
    p.json(&[&["search", query.as_str(), "--count", "--json"], extra].concat())["total"].as_u64().unwrap()
}

#[test]
fn search_and_reports_count_the_same_codings() {
    let p = reviewed_sample(&[("time", "fife", "jm")]);
    p.run(&["code", "review", "--reject", "--code", "time", "--site", "glasgow", "-q"]);
    let accepted = themes_total(&p, "time", &[]);
    assert!(accepted > 0);
    assert_eq!(search_total(&p, "time", &[]), accepted, "search and report count accepted codings alike");
    let with = themes_total(&p, "time", &["--include-suggested"]);
    assert!(with > accepted);
    assert_eq!(search_total(&p, "time", &["--include-suggested"]), with, "and suggestions alike when asked");
}

/// The path of the sample note the tests below edit.
const LEVENMOUTH: &str = "notes/fife/2016-03-02-locality-planning-group-levenmouth.md";

#[test]
fn a_code_renamed_in_the_codebook_is_said_wherever_its_codings_go_uncounted() {
    let p = TestProject::sample();
    p.run(&["code", "auto", "-q"]);
    p.run(&["code", "review", "--accept", "--code", "context", "--coder", "hb", "-q"]);
    let book = p.read("codebook.toml");
    p.write("codebook.toml", book.replacen("id = \"context\"", "id = \"understanding-context\"", 1));
    let check = p.run(&["codebook", "check"]);
    assert!(check.contains("use code `context`, which the codebook does not have"), "{check}");
    // Every table that leaves them out says so, in its caption and on the terminal.
    let o = p.run_expect(&["report", "themes", "--format", "md"], 0);
    let (md, e) = (String::from_utf8_lossy(&o.stdout).to_string(), stderr(&o));
    assert!(md.contains("Not counted in any row") && md.contains("`context`: "), "{md}");
    assert!(e.contains("warning: Not counted in any row"), "{e}");
    let o = p.run_expect(&["agree", "--coders", "hb,rules", "--include-suggested"], 0);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(out.contains("the codebook does not have (`context`: "), "{out}");
    assert!(stderr(&o).contains("codebook does not have"), "{}", stderr(&o));
    // Search finds them, and says that no table counts them.
    let o = p.run_expect(&["search", "code:context", "--count"], 0);
    let n: u64 = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
    assert!(n > 0);
    assert!(stderr(&o).contains("code `context` is not in the codebook"), "{}", stderr(&o));
    // The statistics and co-occurrence tables leave them out too, and say so.
    for report in ["stats", "cooccur"] {
        let o = p.run_expect(&["report", report], 0);
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        assert!(out.contains("Not counted in any row") && out.contains("`context`: "), "{report}: {out}");
    }
}

#[test]
fn pooled_agreement_counts_only_the_codes_some_coder_gave() {
    let p = TestProject::sample();
    let book = p.read("codebook.toml");
    p.write(
        "codebook.toml",
        format!("{book}\n[[code]]\nid = \"unused\"\nname = \"Unused\"\ndescription = \"Never given.\"\n"),
    );
    p.run(&["code", "auto", "-q"]);
    p.run(&["code", "review", "--accept", "--code", "time", "--coder", "hb", "-q"]);
    let a = p.json(&["agree", "--coders", "rules,hb", "--include-suggested", "--json"]);
    let rows = a["rows"].as_array().unwrap();
    let (pooled, per_code) = rows.split_last().unwrap();
    assert_eq!(pooled["code"], "(all codes, pooled)");
    let units = per_code[0]["units"].as_u64().unwrap();
    let used = per_code.iter().filter(|r| r["coded_units"].as_u64().unwrap() > 0).count() as u64;
    assert!(used < per_code.len() as u64, "the code `unused` is given by nobody: {a}");
    assert_eq!(pooled["units"].as_u64().unwrap(), units * used, "{a}");
    let caption = a["caption"].as_str().unwrap();
    assert!(caption.contains(&format!("pooled over the {used} code(s) some coder gave")), "{caption}");
}

#[test]
fn measures_with_a_unit_of_their_own_refuse_another_and_label_their_sizes() {
    let p = TestProject::sample();
    p.run(&["code", "auto", "-q"]);
    p.run(&["code", "review", "--accept", "--coder", "hb", "-q"]);
    let o = p.cmd(&["report", "themes", "--unit", "documents", "--measure", "rate"]).output().unwrap();
    assert!(!o.status.success() && stderr(&o).contains("drop `--unit documents`"), "{}", stderr(&o));
    let o = p.cmd(&["report", "themes", "--unit", "words", "--measure", "docs"]).output().unwrap();
    assert!(!o.status.success() && stderr(&o).contains("drop `--unit words`"), "{}", stderr(&o));
    let docs = p.run(&["report", "themes", "--measure", "docs", "--format", "csv"]);
    assert!(docs.lines().nth(1).unwrap().starts_with("(notes per group),"), "{docs}");
    let rate = p.run(&["report", "themes", "--measure", "rate", "--format", "csv"]);
    assert!(rate.lines().nth(1).unwrap().starts_with("(words per group),"), "{rate}");
    // Words are counted by passage, and the caption says so.
    let words = p.run(&["report", "themes", "--unit", "words", "--format", "md"]);
    assert!(words.contains("words in the passages carrying each code"), "{words}");
}

#[test]
fn codings_of_a_note_that_cannot_be_read_wait_for_it_and_are_not_called_gone() {
    let p = TestProject::sample();
    let id = format!("{LEVENMOUTH}#2");
    p.run(&["code", "add", &id, "time", "-q"]);
    let note = p.read(LEVENMOUTH);
    p.write(LEVENMOUTH, note.replacen("kind: meeting", "kind: [meeting", 1));
    let o = p.run_expect(&["code", "check"], 1);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(out.contains("waiting   1 coding(s)") && out.contains("could not be read"), "{out}");
    assert!(!out.contains("orphaned") && !out.contains("code rm"), "no advice to remove it: {out}");
    let o = p.run_expect(&["code", "list"], 0);
    assert!(
        stderr(&o).contains("1 coding(s) wait for notes that could not be read") && !stderr(&o).contains("orphaned"),
        "{}",
        stderr(&o)
    );
    let o = p.cmd(&["show", &id]).output().unwrap();
    assert!(!o.status.success() && stderr(&o).contains("could not be read"), "{}", stderr(&o));
    p.write(LEVENMOUTH, note);
    let out = p.run(&["code", "check"]);
    assert!(out.contains("all codings sit on their text"), "{out}");
}

#[test]
fn check_fix_does_not_widen_a_quote_on_the_strength_of_function_words() {
    let p = TestProject::sample();
    let id = format!("{LEVENMOUTH}#4");
    p.run(&["code", "add", &id, "context", "--quote", "There was a short, uncomfortable silence.", "-q"]);
    let note = p.read(LEVENMOUTH);
    let edited = note
        .replacen(
            "rather than as verdicts from outside.\n\nOne of the councillors",
            "rather than as verdicts from outside. One of the councillors",
            1,
        )
        .replacen("There was a short, uncomfortable silence.", "A brief and awkward silence followed.", 1);
    assert_ne!(edited, note);
    p.write(LEVENMOUTH, edited);
    p.run_expect(&["code", "check", "--fix"], 1);
    let listed = p.run(&["code", "list", "--json"]);
    let l: serde_json::Value = serde_json::from_str(listed.lines().next().unwrap()).unwrap();
    assert_eq!(l["orphaned"], true, "left for the researcher, not put on the whole merged passage: {l}");
    assert_eq!(l["coding"]["text"], "There was a short, uncomfortable silence.");
}

#[test]
fn code_list_gives_whole_words_in_csv_and_lists_what_a_reviewer_accepted() {
    let p = TestProject::sample();
    p.run(&["code", "auto", "-q"]);
    p.run(&["code", "review", "--accept", "--code", "time", "--site", "glasgow", "--coder", "jm", "-q"]);
    let csv = p.run(&["code", "list", "--csv", "--reviewer", "jm"]);
    let mut rows = csv.lines();
    assert_eq!(rows.next().unwrap(), "id,passage,code,coder,status,reviewer,origin,site,text,memo");
    let rows: Vec<&str> = rows.collect();
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|r| r.contains(",rules,accepted,jm,")), "{csv}");
    assert!(rows.iter().any(|r| r.len() > 300) && !csv.contains('…'), "whole words: {csv}");
    // jm has no ledger of their own: listing jm's codings says where theirs are.
    let o = p.run_expect(&["code", "list", "--coder", "jm"], 0);
    assert!(stderr(&o).contains("`fieldnotes code list --reviewer jm` lists them"), "{}", stderr(&o));
}

#[test]
fn eval_counts_a_rejection_but_not_the_other_codes_of_its_note() {
    let p = TestProject::sample();
    p.run(&["code", "auto", "-q"]);
    p.run(&["code", "review", "--accept", "--code", "time", "--site", "fife", "--coder", "hb", "-q"]);
    let fp = |e: &serde_json::Value, code: &str| {
        e["codes"].as_array().unwrap().iter().find(|c| c["code"] == code).unwrap()["fp"].as_u64().unwrap()
    };
    let before = p.json(&["code", "eval", "--against", "hb", "--json"]);
    p.run(&["code", "review", "--reject", "--code", "time", "--site", "highland", "--coder", "hb", "-q"]);
    let after = p.json(&["code", "eval", "--against", "hb", "--json"]);
    // hb's rejections are the rules' false positives...
    assert!(fp(&after, "time") > fp(&before, "time"), "{before}\n{after}");
    // ...but hb said nothing of the other codes in those notes.
    assert_eq!(fp(&after, "expertise"), fp(&before, "expertise"), "{before}\n{after}");
    let out = p.run(&["code", "eval", "--against", "hb"]);
    assert!(out.contains("and the suggestions hb rejected in"), "{out}");
}

#[test]
fn a_codebook_exported_and_read_back_keeps_its_ids_rules_and_codings() {
    let p = TestProject::sample();
    p.run(&["code", "auto", "-q"]);
    p.run(&["code", "review", "--accept", "--code", "context", "--coder", "hb", "-q"]);
    let before = p.run(&["report", "themes", "--format", "csv"]);
    let book = p.read("codebook.toml");
    p.run(&["export", "qdc", "own.qdc", "-q"]);
    let o = p.run_expect(&["import", "qdc", "own.qdc", "--replace"], 0);
    assert!(!stderr(&o).contains("does not have"), "{}", stderr(&o));
    let after_book = p.read("codebook.toml");
    assert!(after_book.contains("id = \"context\""), "{after_book}");
    assert_eq!(after_book.matches("keywords = [").count(), book.matches("keywords = [").count(), "rules kept");
    p.run(&["codebook", "check"]);
    assert_eq!(p.run(&["report", "themes", "--format", "csv"]), before);
    // A codebook that drops a code in use says so as it is read.
    let fewer = std::fs::read_to_string(p.path().join("own.qdc")).unwrap();
    let start = fewer.find("name=\"Understanding the context\"").unwrap();
    let open = fewer[..start].rfind("<Code ").unwrap();
    let close = open + fewer[open..].find("</Code>").unwrap() + "</Code>".len();
    p.write("fewer.qdc", format!("{}{}", &fewer[..open], &fewer[close..]));
    let o = p.run_expect(&["import", "qdc", "fewer.qdc", "--replace", "--dry-run"], 0);
    assert!(stderr(&o).contains("the new codebook does not have (`context`: "), "{}", stderr(&o));
}

#[test]
fn one_codes_agreement_is_the_same_asked_alone_or_with_the_others() {
    let p = TestProject::new();
    p.write(
        "codebook.toml",
        "[codebook]\nname = \"t\"\nversion = \"1\"\n\n[[code]]\nid = \"x\"\nname = \"X\"\ndescription = \"x\"\n\n[[code]]\nid = \"y\"\nname = \"Y\"\ndescription = \"y\"\n",
    );
    p.write("notes/s/n.md", "---\nsite: S\nkind: memo\n---\nOne alpha.\n\nTwo beta.\n\nThree gamma.\n\nFour delta.\n");
    for (id, code, coder) in [("#1", "x", "A"), ("#1", "x", "B"), ("#2", "x", "A"), ("#3", "y", "A"), ("#3", "y", "B")]
    {
        p.run(&["code", "add", &format!("notes/s/n.md{id}"), code, "--coder", coder, "-q"]);
    }
    let row = |args: &[&str]| -> serde_json::Value {
        let a = p.json(&[&["agree", "--coders", "A,B", "--json", "--bootstrap", "0"][..], args].concat());
        a["rows"].as_array().unwrap().iter().find(|r| r["code"] == "x").unwrap().clone()
    };
    for extra in [&[][..], &["--exclude-uncoded"][..]] {
        let all = row(extra);
        let alone = row(&[extra, &["--code", "x"][..]].concat());
        assert_eq!(all, alone, "{extra:?}");
    }
    // Excluding the units nobody coded: three of the four passages stay.
    assert_eq!(row(&["--exclude-uncoded"])["units"], 3);
}

#[test]
fn a_renamed_note_takes_its_codings_with_it_through_check_fix() {
    let p = TestProject::sample();
    let id = format!("{LEVENMOUTH}#2");
    p.run(&["code", "add", &id, "time", "--memo", "slow start", "-q"]);
    p.run(&["code", "auto", "-q"]);
    p.run(&["code", "review", "--accept", "--code", "context", "--coder", "jm", "-q"]);
    let before = p.run(&["report", "themes", "--format", "csv"]);
    let renamed = "notes/fife/levenmouth-group.md";
    std::fs::rename(p.path().join(LEVENMOUTH), p.path().join(renamed)).unwrap();
    let o = p.run_expect(&["code", "check"], 1);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(out.contains(&format!("its note is now `{renamed}` (its text is there)")), "{out}");
    // The tables say the note is gone, not that the codings' words are.
    let o = p.run_expect(&["report", "themes"], 0);
    let caption = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(caption.contains("coding(s) of notes no longer in the project (renamed"), "{caption}");
    assert!(!caption.contains("whose words are gone"), "{caption}");
    let o = p.run_expect(&["code", "check", "--fix"], 0);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(out.contains(&format!("is now `{renamed}` (its text is there); the coding is there now")), "{out}");
    assert!(!out.contains("orphaned"), "{out}");
    p.run(&["code", "check"]);
    assert_eq!(p.run(&["report", "themes", "--format", "csv"]), before, "every coding counts again");
    let list = p.run(&["code", "list", "--coder", "hb", "--csv"]);
    assert!(list.contains(renamed) && list.contains("slow start") && !list.contains("orphaned"), "{list}");
    let reviewed = p.run(&["code", "list", "--reviewer", "jm", "--csv"]);
    assert!(reviewed.contains(renamed), "the reviewer stays credited: {reviewed}");
}

/// Edited, then searched (which re-indexes it), then renamed: the note no longer holds the very
/// text its codings were made on, but most of its passages; `code check --fix` finds it by those
/// and carries the codings there, onto their words.
#[test]
fn a_note_renamed_after_an_edit_takes_its_codings_with_it() {
    let p = TestProject::new();
    let text = "---\nsite: Fife\n---\nTrust, and that comes with time.\n\nThe board met in March.\n\nStaff turnover hurt the work.\n\nWe left at noon.\n";
    p.write("notes/fife/interview.md", text);
    p.run(&["code", "add", "notes/fife/interview.md#1", "time", "--quote", "comes with time", "-q"]);
    p.run(&["code", "add", "notes/fife/interview.md#3", "time", "--memo", "turnover", "-q"]);
    p.write("notes/fife/interview.md", text.replace("comes with time", "comes with patience and time"));
    assert_eq!(p.run(&["search", "patience", "--count"]).trim(), "1");
    std::fs::rename(p.path().join("notes/fife/interview.md"), p.path().join("notes/fife/team-leader.md")).unwrap();
    let out = String::from_utf8_lossy(&p.run_expect(&["code", "check"], 1).stdout).to_string();
    assert!(out.contains("its note is now `notes/fife/team-leader.md` (its text is there)"), "{out}");
    // `code list` says their note is gone, not their words.
    let err = stderr(&p.run_expect(&["code", "list"], 0));
    assert!(
        err.contains("2 coding(s) are of notes no longer in the project") && !err.contains("words are gone"),
        "{err}"
    );
    let out = String::from_utf8_lossy(&p.run_expect(&["code", "check", "--fix"], 0).stdout).to_string();
    assert!(!out.contains("orphaned"), "{out}");
    // On their words as the note has them now.
    let texts: Vec<serde_json::Value> = p
        .run(&["code", "list", "--json"])
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["text"].clone())
        .collect();
    assert_eq!(texts, ["comes with patience and time", "Staff turnover hurt the work."]);
    let csv = p.run(&["code", "list", "--csv"]);
    assert!(
        csv.contains("notes/fife/team-leader.md") && csv.contains("turnover") && !csv.contains("orphaned"),
        "{csv}"
    );
    assert_eq!(p.run(&["search", "code:time", "--count"]).trim(), "2");
}

/// A coded paragraph split in two: the coding covers both, and each counts, so the count rose
/// with no coding added; `code check` says so, naming the passages.
#[test]
fn a_coding_spread_over_a_split_paragraph_is_said() {
    let p = TestProject::new();
    p.write("notes/fife/a.md", "---\nsite: Fife\n---\nTrust took time. We said so.\n\nThe end.\n");
    p.run(&["code", "add", "notes/fife/a.md#1", "time", "-q"]);
    assert_eq!(p.run(&["search", "code:time", "--count"]).trim(), "1");
    p.write("notes/fife/a.md", "---\nsite: Fife\n---\nTrust took time.\n\nWe said so.\n\nThe end.\n");
    assert_eq!(p.run(&["search", "code:time", "--count"]).trim(), "2");
    let out = String::from_utf8_lossy(&p.run_expect(&["code", "check"], 1).stdout).to_string();
    assert!(out.contains("covers 2 passages now") && out.contains("1 in the version it was made on"), "{out}");
    // `index` records the coding's new place: it says so then, as no check can after.
    let o = p.run_expect(&["index"], 0);
    assert!(
        crate::util::stderr(&o).contains("1 coding(s) cover more passages than in the version they were made on"),
        "{}",
        crate::util::stderr(&o)
    );
}

#[test]
fn a_note_has_one_year_and_a_list_one_group_whoever_counts() {
    let p = TestProject::new();
    let note = |name: &str, front: &str| {
        p.write(
            &format!("notes/fife/{name}.md"),
            format!("---\nsite: Fife\n{front}\n---\nThe staff turnover continued.\n"),
        );
    };
    note("dt", "date: 2018-03-04T10:30:00\ntags: [board, trust]");
    note("y", "date: 2017\ntags: [trust, board]");
    note("d", "date: 2018-06-01\ntags: [trust]");
    p.write(
        "notes/fife/hugo.md",
        "+++\nsite = \"Fife\"\ndate = 2018-05-06T09:00:00Z\n+++\nThe staff turnover continued in Hugo.\n",
    );
    for n in ["dt", "y", "d", "hugo"] {
        p.run(&["code", "add", &format!("notes/fife/{n}.md#1"), "time", "-q"]);
    }
    let themes = p.run(&["report", "themes", "--by", "year", "--format", "csv"]);
    assert!(themes.starts_with("code,2017,2018,total\n") && themes.contains("\ntime,1,3,4\n"), "{themes}");
    let search = p.json(&["search", "code:time", "--count", "--by", "year", "--json"]);
    assert_eq!(search["counts"]["2017"], 1, "{search}");
    assert_eq!(search["counts"]["2018"], 3, "{search}");
    let notes = p.run(&["notes", "--by", "year"]);
    assert!(notes.contains("2 years"), "{notes}");
    // The same tags in another order: one column.
    let tags = p.run(&["report", "themes", "--by", "tag", "--format", "csv"]);
    assert!(tags.starts_with("code,(none),board; trust,trust,total\n"), "{tags}");
    // A key no note has is refused by every report that groups, as by `report themes`.
    for args in [
        &["report", "themes", "--by", "nosuch"][..],
        &["report", "stats", "--by", "nosuch"],
        &["report", "quotes", "--by", "nosuch"],
        &["report", "words", "--by", "nosuch"],
        &["report", "keyness", "--by", "nosuch"],
    ] {
        let o = p.cmd(args).output().unwrap();
        assert!(
            !o.status.success() && stderr(&o).contains("no note has `nosuch` to group by"),
            "{args:?}: {}",
            stderr(&o)
        );
    }
}

/// Text written decomposed (`e` and a combining accent, as macOS and some copy-paste write it)
/// reads, counts, searches and quotes as it looks.
#[test]
fn decomposed_letters_read_as_the_composed_ones() {
    let p = TestProject::new();
    let nfd = "We met Zoe\u{308} at the cafe\u{301} again; the nai\u{308}ve plan was dropped.";
    p.write("notes/fife/nfd.md", format!("---\nsite: Fife\n---\n{nfd}\n"));
    let show = p.json(&["show", "notes/fife/nfd.md#1", "--json", "-C", "0"]);
    assert_eq!(show["passages"][0]["text"], "We met Zoë at the café again; the naïve plan was dropped.");
    let notes = p.json(&["notes", "--json"]);
    assert_eq!(notes["words"], 12, "{notes}");
    // A quote typed either way is found.
    p.run(&["code", "add", "notes/fife/nfd.md#1", "authenticity", "--quote", "nai\u{308}ve plan", "-q"]);
    p.run(&["code", "add", "notes/fife/nfd.md#1", "time", "--quote", "naïve plan", "-q"]);
    assert_eq!(p.run(&["code", "list", "--csv"]).matches("naïve plan").count(), 2);
    for q in ["café", "cafe\u{301}"] {
        let o = p.run_expect(&["search", q, "--count"], 0);
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "1", "{q}: {}", stderr(&o));
    }
}

#[test]
fn a_merge_that_keeps_both_clones_ledger_lines_keeps_both_coders_reviews() {
    // Two clones make the same suggestions (the same ids) and review different ones; git
    // merges the rules ledger keeping both sides' lines, so every suggestion is added twice.
    let (a, b) = (reviewed_sample(&[("time", "fife", "alice")]), reviewed_sample(&[("expertise", "fife", "bob")]));
    let accepted_by = |p: &TestProject, who: &str| -> usize {
        p.run(&["code", "list", "--reviewer", who, "--status", "accepted", "--json"]).lines().count()
    };
    let (alice, bob) = (accepted_by(&a, "alice"), accepted_by(&b, "bob"));
    assert!(alice > 0 && bob > 0);
    let merged = a.read("codings/rules.jsonl") + &b.read("codings/rules.jsonl");
    a.write("codings/rules.jsonl", merged);
    let check = |when: &str| {
        assert_eq!(accepted_by(&a, "alice"), alice, "{when}: the second add undid alice's reviews");
        assert_eq!(accepted_by(&a, "bob"), bob, "{when}: bob's reviews");
        let (time, expertise) = (themes_total(&a, "time", &[]), themes_total(&a, "expertise", &[]));
        assert!(time > 0 && expertise > 0, "{when}: {time} {expertise}");
        assert_eq!(search_total(&a, "time", &[]), time, "{when}");
        assert_eq!(search_total(&a, "expertise", &[]), expertise, "{when}");
    };
    // The derived state reads the other clone's lines as appended ones; made again from the
    // whole ledger it must say the same.
    check("appended");
    std::fs::remove_dir_all(a.path().join(".fieldnotes/state")).unwrap();
    std::fs::remove_file(a.path().join(".fieldnotes/report.store")).unwrap();
    check("made again");
}

#[test]
fn a_ledger_edited_by_hand_in_its_middle_is_read_again() {
    let p = reviewed_sample(&[("time", "fife", "jm"), ("expertise", "glasgow", "jm")]);
    let counted = || (themes_total(&p, "time", &[]), search_total(&p, "time", &[]));
    let (themes, found) = counted();
    assert_eq!(themes, found);
    // One decision changed by hand, far from both ends, the length kept: `sed -i` writes a
    // new file and renames it over the ledger.
    let ledger = p.read("codings/rules.jsonl");
    let first = ledger.find("\"status\":\"accepted\"").unwrap();
    assert!(first > 4096 && ledger.len() - first > 4096, "the edit is in the middle");
    let edited = format!("{}\"status\":\"rejected\"{}", &ledger[..first], &ledger[first + 19..]);
    assert_eq!(edited.len(), ledger.len());
    p.write("codings/rules.jsonl.new", &edited);
    std::fs::rename(p.path().join("codings/rules.jsonl.new"), p.path().join("codings/rules.jsonl")).unwrap();
    assert_eq!(counted(), (themes - 1, found - 1), "the rejection counts at once");
    // Another, written into the same file with its time put back (`cp -p` of an edited copy):
    // same file, same length, same ends, same modification time.
    let path = p.path().join("codings/rules.jsonl");
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    let second = edited.find("\"status\":\"accepted\"").unwrap();
    assert!(second > 4096 && edited.len() - second > 4096, "the edit is in the middle");
    let again = format!("{}\"status\":\"rejected\"{}", &edited[..second], &edited[second + 19..]);
    std::thread::sleep(std::time::Duration::from_millis(20));
    let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    std::io::Write::write_all(&mut f, again.as_bytes()).unwrap();
    f.set_modified(modified).unwrap();
    drop(f);
    assert_eq!(std::fs::metadata(&path).unwrap().modified().unwrap(), modified);
    assert_eq!(counted(), (themes - 2, found - 2), "an edit in place counts at once too");
    let listed = p.run(&["code", "list", "--coder", "rules", "--status", "rejected", "--json"]);
    assert_eq!(listed.lines().count(), 2, "{listed}");
}

#[test]
fn a_note_put_back_with_its_old_time_is_read_again() {
    let p = TestProject::sample();
    p.run(&["index", "-q"]);
    let found = |q: &str| p.json(&["search", q, "--count", "--json"])["total"].as_u64().unwrap();
    let doc = "notes/fife/2015-05-13-interview-partnership-team-leader.md";
    let path = p.path().join(doc);
    let before = found("partnership");
    assert!(before > 0);
    // The word replaced by one as long, and the file's time set back: as `cp -p` or `rsync -t`
    // put back a copy edited elsewhere. Size and modification time are those indexed.
    let note = p.read(doc);
    let in_note = note.matches("partnership").count();
    assert!(in_note > 0);
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let mut f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    std::io::Write::write_all(&mut f, note.replace("partnership", "zzzzzzzzzzz").as_bytes()).unwrap();
    f.set_modified(modified).unwrap();
    drop(f);
    assert!(found("zzzzzzzzzzz") > 0, "the note is read again");
    assert!(found("partnership") < before);
}

#[test]
fn an_orphaned_suggestion_a_coder_accepted_is_said_in_that_coders_tables() {
    let p = reviewed_sample(&[("expertise", "fife", "jm")]);
    let accepted: Vec<serde_json::Value> = p
        .run(&["code", "list", "--reviewer", "jm", "--status", "accepted", "--json"])
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The paragraph of one of them deleted: its words are gone.
    let doc = accepted[0]["coding"]["doc"].as_str().unwrap();
    let words = accepted[0]["text"].as_str().unwrap();
    let note = p.read(doc);
    p.write(doc, note.replace(words, ""));
    p.run(&["index", "-q"]);
    for args in [&["report", "themes", "--coder", "jm"][..], &["report", "themes"]] {
        let o = p.run_expect(args, 0);
        let out = String::from_utf8_lossy(&o.stdout).to_string() + &stderr(&o);
        assert!(out.contains("1 orphaned coding(s)"), "{args:?}: {out}");
    }
}

#[test]
fn a_coder_with_no_codings_is_refused_by_tables_not_given_zeros() {
    let p = TestProject::sample();
    p.run(&[
        "code",
        "add",
        "notes/fife/2015-05-13-interview-partnership-team-leader.md#4",
        "expertise",
        "--coder",
        "hb",
        "-q",
    ]);
    for report in ["themes", "cooccur", "stats", "quotes"] {
        let o = p.run_expect(&["report", report, "--coder", "HB"], 2);
        assert!(
            stderr(&o).contains("no coder `HB` has codings") && stderr(&o).contains("did you mean `hb`?"),
            "{}",
            stderr(&o)
        );
    }
    p.run_expect(&["report", "themes", "--coder", "hb"], 0);
    let o = p.run_expect(&["code", "list", "--coder", "HB"], 0);
    assert!(stderr(&o).contains("no coder `HB` in the project; did you mean `hb`?"), "{}", stderr(&o));
    // A project with no codings yet says so, not "there are: " and nothing.
    let empty = TestProject::new();
    let o = empty.run_expect(&["code", "list", "--coder", "rules"], 0);
    assert!(stderr(&o).contains("no coder `rules` in the project; there is no coder yet"), "{}", stderr(&o));
}

#[test]
fn an_id_added_again_with_other_content_is_reported_by_check() {
    let p = TestProject::sample();
    p.run(&["index", "-q"]);
    let passage = "notes/fife/2015-05-13-interview-partnership-team-leader.md#4";
    p.run(&["code", "add", passage, "time", "--coder", "jm", "-q"]);
    let listed = p.run(&["code", "list", "--coder", "jm", "--json"]);
    let id = serde_json::from_str::<serde_json::Value>(listed.lines().next().unwrap()).unwrap()["coding"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Removed and added again: a coding anew, not a conflict.
    p.run(&["code", "rm", "--id", &id, "-q"]);
    p.run(&["code", "add", passage, "time", "--coder", "jm", "-q"]);
    // The same add again with another time (two clones' lines kept in a merge): not a conflict.
    let ledger = p.read("codings/jm.jsonl");
    let mut add: serde_json::Value = serde_json::from_str(ledger.lines().last().unwrap()).unwrap();
    add["time"] = "2001-01-01T00:00:00Z".into();
    let append = |p: &TestProject, line: &serde_json::Value| {
        let mut f = std::fs::OpenOptions::new().append(true).open(p.path().join("codings/jm.jsonl")).unwrap();
        std::io::Write::write_all(&mut f, format!("{line}\n").as_bytes()).unwrap();
    };
    append(&p, &add);
    let o = p.run_expect(&["code", "check"], 0);
    assert!(!String::from_utf8_lossy(&o.stdout).contains("conflict"));
    // Another code under the same id (a line copied and edited by hand): the first stands, and
    // check says so, naming both lines.
    add["code"] = "context".into();
    append(&p, &add);
    let o = p.run_expect(&["code", "check"], 1);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains(&format!("conflict  {id} is added twice with other content")), "{out}");
    assert!(out.contains("(lines 3 and 5): line 3 counts"), "{out}");
    let t = p.json(&["report", "themes", "--coder", "jm", "--format", "json"]);
    let rows = t["table"]["rows"].as_array().unwrap();
    let total = |code: &str| {
        let row = rows.iter().position(|r| r["id"] == code).unwrap();
        t["values"][row].as_array().unwrap().last().unwrap().as_f64().unwrap()
    };
    assert_eq!((total("time"), total("context")), (1.0, 0.0));
}

#[test]
fn a_codings_json_gives_where_it_stands_after_an_edit_not_yet_indexed() {
    let p = TestProject::sample();
    p.run(&["index", "-q"]);
    let doc = "notes/fife/2015-05-13-interview-partnership-team-leader.md";
    let note = p.read(doc);
    let body = note.find("\n---\n").unwrap() + 5;
    // A quote of the fourth passage's first words.
    let focus = |v: serde_json::Value| -> serde_json::Value {
        v["passages"].as_array().unwrap().iter().find(|p| p["focus"] == true).unwrap().clone()
    };
    let passage = focus(p.json(&["show", &format!("{doc}#4"), "--json"]))["text"].as_str().unwrap().to_string();
    let quote: String = passage.split_whitespace().take(4).collect::<Vec<_>>().join(" ");
    p.run(&["code", "add", &format!("{doc}#4"), "expertise", "--coder", "hb", "--quote", &quote, "-q"]);
    // A paragraph inserted above it, and no `index` since.
    p.write(doc, format!("{}A paragraph written later, above the rest.\n\n{}", &note[..body], &note[body..]));
    let text: Vec<char> = p.read(doc).chars().collect();
    let words = |c: &serde_json::Value| -> String {
        let (s, e) = (c["start"].as_u64().unwrap() as usize, c["end"].as_u64().unwrap() as usize);
        text[s..e].iter().collect()
    };
    let listed: serde_json::Value =
        serde_json::from_str(p.run(&["code", "list", "--coder", "hb", "--json"]).lines().next().unwrap()).unwrap();
    assert_eq!(words(&listed["coding"]), quote, "code list --json");
    let shown = focus(p.json(&["show", &format!("{doc}#5"), "--json"]));
    let codings = shown["codings"].as_array().unwrap();
    let hb = codings.iter().find(|c| c["coder"] == "hb").unwrap();
    assert_eq!(words(hb), quote, "show --json");
}

#[test]
fn two_clones_ledgers_merge_in_git_without_a_conflict() {
    let git_ok = std::process::Command::new("git").arg("--version").output().is_ok_and(|o| o.status.success());
    if !git_ok {
        fieldnotes_testkit::skip("two_clones_ledgers_merge_in_git_without_a_conflict", "git", "apt install git");
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let git = |dir: &std::path::Path, args: &[&str]| {
        let o = std::process::Command::new("git")
            .current_dir(dir)
            .args(["-c", "user.name=t", "-c", "user.email=t@x", "-c", "init.defaultBranch=main"])
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    // fieldnotes in `dir`, expected to succeed: its standard output.
    let fnr = |dir: &std::path::Path, args: &[&str]| -> String {
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_fieldnotes"))
            .current_dir(dir)
            .args(args)
            .env_remove("FIELDNOTES_CODER")
            .output()
            .unwrap();
        assert!(o.status.success(), "fieldnotes {args:?}: {}", stderr(&o));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let base = root.path().join("base");
    crate::util::copy_dir(&crate::util::repo().join("data/sample"), &base);
    std::fs::write(base.join(".gitignore"), "*.tmp").unwrap();
    fnr(&base, &["init", ".", "--codebook", "wws", "-q"]);
    // A `.gitignore` there already gets the derived folder added.
    assert_eq!(std::fs::read_to_string(base.join(".gitignore")).unwrap(), "*.tmp\n.fieldnotes/\n");
    let attributes = std::fs::read_to_string(base.join(".gitattributes")).unwrap();
    assert!(attributes.contains("codings/*.jsonl merge=union"), "{attributes}");
    git(&base, &["init", "-q"]);
    git(&base, &["add", "-A"]);
    git(&base, &["commit", "-qm", "init"]);
    let (a, b) = (root.path().join("a"), root.path().join("b"));
    for c in [&a, &b] {
        git(root.path(), &["clone", "-q", base.to_str().unwrap(), c.to_str().unwrap()]);
    }
    // Each clone codes by hand, runs the rules and reviews; then b pulls a's work.
    let note = "notes/fife/2015-05-13-interview-partnership-team-leader.md#4";
    for (dir, code, coder) in [(&a, "time", "alice"), (&b, "expertise", "bob")] {
        fnr(dir, &["code", "add", note, code, "--coder", coder, "-q"]);
        fnr(dir, &["code", "auto", "-q"]);
        fnr(dir, &["code", "review", "--accept", "--code", code, "--site", "fife", "--coder", coder, "-q"]);
        git(dir, &["add", "-A"]);
        git(dir, &["commit", "-qm", coder]);
    }
    let reviewed = |dir: &std::path::Path, who: &str| {
        fnr(dir, &["code", "list", "--reviewer", who, "--status", "accepted", "--json"]).lines().count()
    };
    let (by_alice, by_bob) = (reviewed(&a, "alice"), reviewed(&b, "bob"));
    assert!(by_alice > 0 && by_bob > 0);
    git(&b, &["pull", "-q", "--no-rebase", "--no-edit", a.to_str().unwrap(), "main"]);
    let rules = std::fs::read_to_string(b.join("codings/rules.jsonl")).unwrap();
    assert!(!rules.contains("<<<<<<<"), "no conflict markers");
    assert_eq!((reviewed(&b, "alice"), reviewed(&b, "bob")), (by_alice, by_bob), "both clones' reviews stand");
    assert_eq!(fnr(&b, &["code", "list", "--coder", "alice", "--json"]).lines().count(), 1);
    fnr(&b, &["code", "check"]);
}

#[test]
fn agree_without_coders_counts_a_coder_who_only_reviewed() {
    let p = reviewed_sample(&[("time", "fife", "jm")]);
    p.run(&[
        "code",
        "add",
        "notes/fife/2015-05-13-interview-partnership-team-leader.md#4",
        "time",
        "--coder",
        "hb",
        "-q",
    ]);
    let a = p.json(&["agree", "--json"]);
    assert_eq!(a["coders"], serde_json::json!(["hb", "jm"]), "{a}");
}
