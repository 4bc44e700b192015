//! Theme tables against direct counts, every output format, and the Parquet export.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use crate::util::TestProject;

/// A fixture with codes that have no codings, a site with no codings, and overlapping
/// codings in one passage.
fn fixture() -> TestProject {
    let p = TestProject::new();
    p.write("notes/fife/a.md", "---\nsite: Fife\nkind: meeting\n---\nOne two three four.\n\nFive six.\n\nSeven.\n");
    p.write("notes/glasgow/b.md", "---\nsite: Glasgow\nkind: memo\n---\nEight nine ten.\n\nEleven.\n");
    p.write("notes/highland/c.md", "---\nsite: Highland\nkind: memo\n---\nTwelve.\n");
    let add = |id: &str, c: &str, extra: &[&str]| {
        let mut args = vec!["code", "add", id, c, "-q"];
        args.extend_from_slice(extra);
        p.run(&args);
    };
    add("notes/fife/a.md#1", "time", &[]);
    // Overlapping codings of one code in one passage, by two coders: counted once.
    add("notes/fife/a.md#1", "time", &["--quote", "two three", "--coder", "jm"]);
    add("notes/fife/a.md#2", "time", &[]);
    add("notes/fife/a.md#2", "context", &[]);
    add("notes/glasgow/b.md#1", "context", &[]);
    p
}

fn csv_rows(s: &str) -> Vec<Vec<String>> {
    s.lines().map(|l| l.split(',').map(str::to_string).collect()).collect()
}

#[test]
fn theme_table_counts_match_direct_counts() {
    let p = fixture();
    let t = csv_rows(&p.run(&["report", "themes", "--by", "site", "--format", "csv"]));
    assert_eq!(t[0], ["code", "Fife", "Glasgow", "Highland", "total"]);
    assert_eq!(t[1][1..], ["3", "2", "1", "6"]);
    let row = |id: &str| t.iter().find(|r| r[0] == id).unwrap()[1..].to_vec();
    assert_eq!(row("time"), ["2", "0", "0", "2"]);
    assert_eq!(row("context"), ["1", "1", "0", "2"]);
    assert_eq!(row("expertise"), ["0", "0", "0", "0"]);
    // Documents as units.
    let t = csv_rows(&p.run(&["report", "themes", "--unit", "documents", "--format", "csv"]));
    assert_eq!(t[1][1..], ["1", "1", "1", "3"]);
    assert_eq!(t.iter().find(|r| r[0] == "context").unwrap()[1..], ["1", "1", "0", "2"]);
    // Shares of the group's passages.
    let t = csv_rows(&p.run(&["report", "themes", "--measure", "share", "--format", "csv"]));
    assert_eq!(t.iter().find(|r| r[0] == "time").unwrap()[1..], ["66.7", "0.0", "0.0", "33.3"]);
    // Words: Fife has 7 words, the time passages 4 + 2.
    let t = csv_rows(&p.run(&["report", "themes", "--unit", "words", "--format", "csv"]));
    assert_eq!(t[1][1..], ["7", "4", "1", "12"]);
    assert_eq!(t.iter().find(|r| r[0] == "time").unwrap()[1..], ["6", "0", "0", "6"]);
    // By another attribute, and only one coder.
    let t = csv_rows(&p.run(&["report", "themes", "--by", "kind", "--coder", "jm", "--format", "csv"]));
    assert_eq!(t[0], ["code", "meeting", "memo", "total"]);
    assert_eq!(t.iter().find(|r| r[0] == "time").unwrap()[1..], ["1", "0", "1"]);
}

#[test]
fn rolled_up_a_child_code_counts_once_for_each_ancestor() {
    let p = fixture();
    let mut book = p.read("codebook.toml");
    book.push_str("\n[[code]]\nid = \"deadlines\"\nname = \"Deadlines\"\nparent = \"time\"\n");
    book.push_str("\n[[code]]\nid = \"late-meetings\"\nname = \"Late meetings\"\nparent = \"deadlines\"\n");
    p.write("codebook.toml", &book);
    // Under a passage that has `time` already, and two levels down in a passage of its own.
    p.run(&["code", "add", "notes/fife/a.md#1", "deadlines", "-q"]);
    p.run(&["code", "add", "notes/fife/a.md#3", "deadlines", "-q"]);
    p.run(&["code", "add", "notes/glasgow/b.md#2", "late-meetings", "-q"]);
    let table = |extra: &[&str]| {
        let mut args = vec!["report", "themes", "--by", "site", "--format", "csv"];
        args.extend_from_slice(extra);
        csv_rows(&p.run(&args))
    };
    let row = |t: &[Vec<String>], id: &str| t.iter().find(|r| r[0] == id).unwrap()[1..].to_vec();
    let t = table(&[]);
    assert_eq!(row(&t, "time"), ["2", "0", "0", "2"]);
    assert_eq!(row(&t, "deadlines"), ["2", "0", "0", "2"]);
    assert_eq!(row(&t, "late-meetings"), ["0", "1", "0", "1"]);
    let t = table(&["--rollup"]);
    assert_eq!(row(&t, "time"), ["3", "1", "0", "4"]);
    assert_eq!(row(&t, "deadlines"), ["2", "1", "0", "3"]);
    assert_eq!(row(&t, "late-meetings"), ["0", "1", "0", "1"]);
    assert_eq!(row(&t, "context"), ["1", "1", "0", "2"]);
}

#[test]
fn theme_table_agrees_with_a_direct_count_on_the_sample() {
    let p = TestProject::sample();
    p.run(&["code", "auto", "-q"]);
    let t = csv_rows(&p.run(&["report", "themes", "--include-suggested", "--format", "csv"]));
    // Direct count: distinct (passage, code) pairs per site from `code list`.
    let mut direct: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for line in p.run(&["code", "list", "--json"]).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for pass in v["passages"].as_array().unwrap() {
            direct
                .entry((v["coding"]["code"].as_str().unwrap().into(), v["site"].as_str().unwrap().into()))
                .or_default()
                .insert(pass.as_str().unwrap().into());
        }
    }
    let header = &t[0];
    let mut checked = 0;
    for row in &t[2..] {
        for (j, site) in header.iter().enumerate().skip(1).take(header.len() - 2) {
            let want = direct.get(&(row[0].clone(), site.clone())).map_or(0, |s| s.len());
            assert_eq!(row[j], want.to_string(), "{} / {site}", row[0]);
            checked += 1;
        }
    }
    assert_eq!(checked, 8 * 7);
}

#[test]
fn every_format_renders() {
    let p = fixture();
    let md = p.run(&["report", "themes", "--format", "md"]);
    assert!(md.starts_with("| code | Fife | Glasgow | Highland | total |\n| --- | ---: |"), "{md}");
    let tex = p.run(&["report", "themes", "--format", "latex"]);
    assert!(
        tex.contains("\\begin{tabular}{lrrrr}") && tex.contains("\\toprule") && tex.contains("accepted codings"),
        "{tex}"
    );
    let json = p.json(&["report", "themes", "--format", "json"]);
    assert_eq!(json["table"]["groups"][0], "Fife");
    let svg = p.run(&["report", "themes", "--format", "svg"]);
    assert!(svg.starts_with("<svg") && svg.contains(">Highland</text>") && svg.trim_end().ends_with("</svg>"), "{svg}");
    p.run(&["report", "themes", "--measure", "share", "--format", "png", "-o", "fig.png"]);
    let png = std::fs::read(p.path().join("fig.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 2000, "{} bytes", png.len());
    let bars = p.run(&["report", "themes", "--format", "svg", "--chart", "bars"]);
    assert!(bars.contains("<rect") && bars.contains("Time"), "{bars}");
    // A figure on its own shows its counting rule, below it, as a table's caption does.
    for figure in [&svg, &bars] {
        let shown: Vec<&str> = figure
            .lines()
            .filter(|l| l.contains(r##"font-size="11" fill="#333""##))
            .filter_map(|l| l.split('>').nth(1)?.split('<').next())
            .collect();
        let shown = shown.join(" ");
        assert!(shown.contains("counted: accepted codings only") && shown.contains("codebook:"), "{figure}");
    }
    // Counts get whole-number ticks.
    let ticks: Vec<&str> = bars
        .lines()
        .filter(|l| l.contains(r##"text-anchor="end" fill="#444""##))
        .filter_map(|l| l.split('>').nth(1)?.split('<').next())
        .collect();
    assert_eq!(ticks.len(), 5, "{bars}");
    assert!(ticks.iter().all(|t| t.parse::<u64>().is_ok()), "{ticks:?}");
    p.run(&["report", "html", "-o", "r.html"]);
    let html = p.read("r.html");
    assert!(html.contains("<svg") && html.contains("Co-occurrence") && html.contains("Exemplar quotes"), "{html}");
    // Self-contained: nothing is fetched (the SVG namespace is an identifier, not a fetch).
    assert!(
        !html.contains("<script") && !html.contains("<link") && !html.contains("src=\"http") && !html.contains("url("),
        "{html}"
    );
    // CSV holds one number a cell (a row a pair, a row a code and group), to load as it is.
    let co = csv_rows(&p.run(&["report", "cooccur", "--format", "csv"]));
    assert_eq!(co[0], ["code", "with", "passages", "jaccard"]);
    // time and context share one passage (a#2); either code: 3 passages.
    assert!(co.contains(&["time", "context", "1", "0.3333"].map(String::from).to_vec()), "{co:?}");
    let stats = csv_rows(&p.run(&["report", "stats", "--format", "csv"]));
    assert_eq!(stats[0], ["code", "site", "passages", "residual", "chi2", "df", "p", "small_expected"]);
    assert!(stats[1..].iter().all(|r| r[2].parse::<u64>().is_ok() && (r[6].is_empty() || r[6].parse::<f64>().is_ok())));
    let quotes = p.run(&["report", "quotes", "--code", "context", "--format", "csv"]);
    assert!(quotes.contains(&p.key_id("notes/glasgow/b.md#1")) && quotes.contains("Eight nine ten."), "{quotes}");
}

#[test]
fn parquet_export_writes_every_table() {
    let p = fixture();
    p.run(&["export", "parquet", "out"]);
    for f in ["documents", "passages", "codings", "codes"] {
        let bytes = std::fs::read(p.path().join(format!("out/{f}.parquet"))).unwrap();
        assert!(bytes.starts_with(b"PAR1") && bytes.ends_with(b"PAR1"), "{f}");
    }
    for site in ["Fife", "Glasgow", "Highland"] {
        assert!(p.path().join(format!("out/passages_by_site/site={site}/part-0.parquet")).is_file(), "{site}");
    }
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(p.path().join("out/codings.parquet")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "exports are the owner's only");
    let mode = std::fs::metadata(p.path().join(".fieldnotes/index")).map(|m| m.permissions().mode() & 0o777);
    assert!(mode.is_err() || mode.unwrap() == 0o700);
    p.run(&["report", "themes", "--format", "parquet", "-o", "themes.parquet"]);
    assert!(std::fs::read(p.path().join("themes.parquet")).unwrap().starts_with(b"PAR1"));
}

#[test]
fn refi_qda_round_trip_through_the_cli() {
    let p = fixture();
    p.run(&["export", "qdc", "book.qdc"]);
    p.run(&["export", "qdpx", "study.qdpx"]);
    let xsd = crate::util::repo().join("crates/refi/testdata/Codebook.xsd");
    if fieldnotes_testkit::xsd::usable("refi_qda_round_trip_through_the_cli") {
        let checked = fieldnotes_testkit::xsd::validate(&xsd, &p.path().join("book.qdc"));
        assert!(checked.is_ok(), "{}", checked.unwrap_err());
    }
    // A new project from the export: same notes, codes and codings.
    p.run(&["import", "qdpx", "study.qdpx", "copy"]);
    let copy = p.path().join("copy");
    let q = crate::util::TestProject { dir: tempfile::tempdir().unwrap() };
    // Codes are compared by name: a REFI-QDA codebook carries names and GUIDs, not our ids.
    let list = |proj: &std::path::Path| -> std::collections::BTreeSet<String> {
        let dir = proj.to_str().unwrap();
        let book = q.json(&["--project", dir, "codebook", "show", "--json"]);
        let name_of: std::collections::BTreeMap<String, String> = book["codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| (c["id"].as_str().unwrap().to_string(), c["name"].as_str().unwrap().to_string()))
            .collect();
        q.run(&["--project", dir, "code", "list", "--csv"])
            .lines()
            .skip(1)
            .map(|l| {
                // id, passage, code, coder, status, origin, site, text: note paths may differ.
                let f: Vec<&str> = l.split(',').collect();
                format!("{} | {} | {}", name_of[f[2]], f[3], f[7..].join(","))
            })
            .collect()
    };
    assert_eq!(list(p.path()), list(&copy));
    let a = p.json(&["notes", "--json"]);
    let b = q.json(&["--project", copy.to_str().unwrap(), "notes", "--json"]);
    assert_eq!(a["passages"], b["passages"]);
    // Importing the codebook again adds nothing.
    let out = p.run(&["import", "qdc", "book.qdc", "--dry-run"]);
    assert!(!out.contains('+'), "{out}");
}

#[test]
fn quickwit_export_matches_its_configuration() {
    let p = TestProject::sample();
    p.run(&["code", "auto", "-q"]);
    p.run(&["export", "quickwit", "qw", "--include-suggested", "-q"]);
    let config = p.read("qw/index-config.yaml");
    // Field names and types, as the YAML lists them.
    let mut fields = std::collections::BTreeMap::new();
    let mut lines = config.lines();
    while let Some(line) = lines.next() {
        if let Some(name) = line.trim().strip_prefix("- name: ") {
            let ty = lines.next().unwrap().trim().strip_prefix("type: ").unwrap().to_string();
            fields.insert(name.to_string(), ty);
        }
    }
    assert!(fields.len() >= 15 && fields["text"] == "text", "{config}");
    assert!(
        config.contains("index_id: test\n") && config.contains("default_search_fields: [text, compounds]"),
        "{config}"
    );
    let ndjson = p.read("qw/passages.ndjson");
    let mut n = 0;
    let mut coded = 0;
    for line in ndjson.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for (key, value) in v.as_object().unwrap() {
            let ty = fields.get(key).unwrap_or_else(|| panic!("`{key}` is not in the configuration"));
            let ok = match ty.as_str() {
                "text" => value.is_string(),
                "array<text>" => value.as_array().is_some_and(|a| a.iter().all(|x| x.is_string())),
                "u64" => value.is_u64(),
                "datetime" => value.as_str().is_some_and(|s| s.len() == 20 && s.ends_with("T00:00:00Z")),
                "json" => value.is_object(),
                other => panic!("unexpected type {other}"),
            };
            assert!(ok, "`{key}` = {value} is not a {ty}");
        }
        for key in ["id", "doc", "text", "text_exact", "words", "site", "date"] {
            assert!(v.get(key).is_some(), "{key} missing in {line}");
        }
        coded += usize::from(v.get("code").is_some());
        n += 1;
    }
    assert_eq!(n, 904);
    assert!(coded > 300, "{coded} passages with codes");
}

#[test]
fn a_store_brought_up_to_date_in_memory_is_saved_once_many_lines_are_new() {
    let p = fixture();
    let args = ["report", "themes", "--by", "site", "--include-suggested", "--format", "csv"];
    p.run(&args);
    let store = p.path().join(".fieldnotes/report.store");
    let written = std::fs::read(&store).unwrap();
    // One coding: the next tables count it, from the store brought up to date in memory; the
    // file stays as it was.
    p.run(&["code", "add", "notes/glasgow/b.md#2", "expertise", "--coder", "jm", "-q"]);
    let one = p.run(&args);
    assert_eq!(p.run(&args), one);
    assert_eq!(std::fs::read(&store).unwrap(), written);
    // Many lines (here 150 more codings of other codes on the same passage, written as a
    // ledger would have them): the store is saved, and the table is the one a rebuild gives.
    let ledger = p.path().join("codings/jm.jsonl");
    let line = std::fs::read_to_string(&ledger).unwrap().lines().last().unwrap().to_string();
    let mut more = String::new();
    for i in 0..150 {
        let code = ["time", "context", "authenticity"][i % 3];
        more.push_str(&line.replacen("\"expertise\"", &format!("\"{code}\""), 1).replacen(
            "\"id\":\"",
            &format!("\"id\":\"x{i}"),
            1,
        ));
        more.push('\n');
    }
    std::fs::OpenOptions::new().append(true).open(&ledger).unwrap().write_all(more.as_bytes()).unwrap();
    let many = p.run(&args);
    assert_ne!(many, one);
    assert_ne!(std::fs::read(&store).unwrap(), written);
    let saved = std::fs::read(&store).unwrap();
    assert_eq!(p.run(&args), many);
    assert_eq!(std::fs::read(&store).unwrap(), saved, "a saved store up to date is read, not written");
    std::fs::remove_file(&store).unwrap();
    assert_eq!(p.run(&args), many);
}

#[test]
fn the_report_store_is_reused_until_a_note_or_ledger_changes() {
    let p = fixture();
    let args = ["report", "themes", "--by", "site", "--format", "csv"];
    let first = p.run(&args);
    let store = p.path().join(".fieldnotes/report.store");
    let written = std::fs::metadata(&store).unwrap().modified().unwrap();
    // Unchanged project: the same table, from the same store (not rewritten).
    assert_eq!(p.run(&args), first);
    assert_eq!(std::fs::metadata(&store).unwrap().modified().unwrap(), written);
    // Every grouping and selection is answered from it.
    let by_speaker = p.run(&["report", "themes", "--by", "speaker", "--include-suggested", "--format", "csv"]);
    assert!(by_speaker.starts_with("code,(none),total\n"), "{by_speaker}");
    // A new coding changes a ledger: the store is rebuilt and the count moves.
    p.run(&["code", "add", "notes/glasgow/b.md#2", "expertise", "--coder", "jm", "-q"]);
    let t = csv_rows(&p.run(&args));
    assert_eq!(t.iter().find(|r| r[0] == "expertise").unwrap()[1..], ["0", "1", "0", "1"]);
    // An edited note too.
    p.write("notes/glasgow/b.md", "---\nsite: Glasgow\nkind: memo\n---\nEight nine ten.\n\nEleven.\n\nTwelve.\n");
    let t = csv_rows(&p.run(&args));
    assert_eq!(t[1][1..], ["3", "3", "1", "7"]);
    // A damaged store is rebuilt, not trusted: garbage, cut short by a byte, a byte too long, or
    // bytes of its columns zeroed as a crash before they reached the disk would leave them (the
    // store is not fsynced; its checksum tells).
    let good = std::fs::read(&store).unwrap();
    let mut zeroed = good.clone();
    let n = zeroed.len();
    zeroed[n - 40..n - 24].fill(0);
    assert_ne!(zeroed, good);
    for bad in
        [b"FNSTORE\x01garbage".to_vec(), good[..good.len() - 1].to_vec(), [good.as_slice(), b"x"].concat(), zeroed]
    {
        std::fs::write(&store, bad).unwrap();
        assert_eq!(csv_rows(&p.run(&args)), t);
        assert_eq!(std::fs::read(&store).unwrap(), good);
    }
}

#[test]
fn stats_and_cooccurrence_count_what_the_theme_table_counts() {
    // Three notes over two batches of 1 MB, coded by the rules and by hand; one more note coded
    // and then made unreadable.
    let p = TestProject::in_batches(|i| {
        ["Trust takes time and the partnership grew slowly.", "Over a coffee we talked about her family.", ""][i]
            .to_string()
    });
    p.write("notes/broken.md", "---\nsite: Fife\n---\nTrust takes time here too.\n");
    p.run(&["code", "auto", "-q"]);
    p.run(&["code", "add", "notes/broken.md#1", "context", "-q"]);
    p.write("notes/broken.md", b"\xff\xfe not text");
    let themes =
        csv_rows(&p.run(&["report", "themes", "--by", "site", "--include-suggested", "--format", "csv", "-q"]));
    let totals: BTreeMap<String, Vec<u64>> =
        themes[2..].iter().map(|r| (r[0].clone(), r[1..].iter().map(|x| x.parse().unwrap()).collect())).collect();
    assert!(totals["time"].last().unwrap() > &0, "{themes:?}");

    let stats = p.json(&["report", "stats", "--by", "site", "--include-suggested", "--format", "json", "-q"]);
    let groups: Vec<&str> = stats["groups"].as_array().unwrap().iter().map(|g| g.as_str().unwrap()).collect();
    assert_eq!(groups, ["aberdeenshire", "fife", "glasgow"]);
    for t in stats["tests"].as_array().unwrap() {
        let present: Vec<u64> = t["present"].as_array().unwrap().iter().map(|x| x.as_u64().unwrap()).collect();
        assert_eq!(present, totals[t["code"].as_str().unwrap()][..3], "{t}");
    }
    let co = p.json(&["report", "cooccur", "--include-suggested", "--format", "json", "-q"]);
    let co = &co["cooccurrence"];
    for (i, code) in co["codes"].as_array().unwrap().iter().enumerate() {
        assert_eq!(co["counts"][i][i].as_u64().unwrap(), totals[code.as_str().unwrap()][3], "{code}");
    }
    // Pairs in the same passage, counted from the codings `code list` places (the notes read
    // a batch at a time), are those `report cooccur` counts from the report store.
    let mut by_passage: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in p.run(&["code", "list", "--json", "-q"]).lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        for id in v["passages"].as_array().unwrap() {
            by_passage
                .entry(id.as_str().unwrap().into())
                .or_default()
                .insert(v["coding"]["code"].as_str().unwrap().into());
        }
    }
    let codes: Vec<&str> = co["codes"].as_array().unwrap().iter().map(|c| c.as_str().unwrap()).collect();
    for (i, a) in codes.iter().enumerate() {
        for (j, b) in codes.iter().enumerate() {
            let both = by_passage.values().filter(|s| s.contains(*a) && s.contains(*b)).count() as u64;
            assert_eq!(co["counts"][i][j].as_u64().unwrap(), both, "{a} with {b}");
        }
    }
    // The Parquet export, written a batch of notes at a time: whole files, every note read,
    // every coding placed.
    let o = p.cmd(&["export", "parquet", "pq", "--include-suggested"]).output().unwrap();
    assert!(o.status.success(), "{}", crate::util::stderr(&o));
    let placed = p.run(&["code", "list", "--json", "-q"]).lines().filter(|l| !l.contains("\"orphaned\":true")).count();
    assert!(crate::util::stderr(&o).contains(&format!("3 notes, {placed} codings")), "{}", crate::util::stderr(&o));
    for f in ["documents", "passages", "codings", "codes", "passages_by_site/site=fife/part-0"] {
        let b = std::fs::read(p.path().join(format!("pq/{f}.parquet"))).unwrap();
        assert!(b.starts_with(b"PAR1") && b.ends_with(b"PAR1"), "{f}");
    }
    // Each says what it left out, as the theme table does: the unreadable note and the codings
    // in it that its counting rule would have counted (the hand coding, and with suggestions
    // the rules' suggestion too).
    let accepted = p.json(&["report", "cooccur", "--format", "json", "-q"]);
    let quotes = p.json(&["report", "quotes", "--format", "json", "-q"]);
    for (caption, held) in [(&stats["caption"], 2), (&accepted["caption"], 1), (&quotes["caption"], 1)] {
        let caption = caption.as_str().unwrap();
        assert!(caption.contains("1 note(s) that could not be read (`notes/broken.md`"), "{caption}");
        assert!(caption.contains(&format!("holding {held} coding(s)")), "{caption}");
    }
}

/// Keyness on a study whose counts are known: each row's G2 and Log Ratio recomputed here from
/// its own frequencies and the groups' word totals, the frequencies those of the notes' words.
#[test]
fn keyness_rows_recompute_from_their_own_frequencies() {
    let p = TestProject::new();
    p.write(
        "notes/fife/a.md",
        "---\nsite: Fife\ntitle: Trust in Fife\n---\n# Trust\n\nTrust grew, and trust took time.\n\nThe budget came; Zoë's trust held.\n",
    );
    p.write(
        "notes/glasgow/b.md",
        "---\nsite: Glasgow\n---\nThe budget, the budget, and the budget again.\n\nTime passed.\n",
    );
    p.run(&["code", "add", "notes/fife/a.md#2", "context", "--coder", "hb"]);
    let v = p.json(&[
        "report",
        "keyness",
        "--by",
        "site",
        "--under",
        "--p",
        "1",
        "--top",
        "0",
        "--all-words",
        "--format",
        "json",
    ]);
    // Words of the passages alone (no front matter, no heading), in lower case.
    assert_eq!(v["totals"], serde_json::json!({"Fife": 12, "Glasgow": 10}));
    let c_of = |g: &str| v["totals"][g].as_u64().unwrap() as f64;
    let words = v["words"].as_array().unwrap();
    let find = |g: &str, w: &str| {
        words.iter().find(|r| r["group"] == g && r["word"] == w).unwrap_or_else(|| panic!("{g} {w}"))
    };
    let trust = find("Fife", "trust");
    assert_eq!((trust["freq"].as_u64(), trust["ref_freq"].as_u64()), (Some(3), Some(0)));
    assert_eq!(find("Glasgow", "budget")["freq"], 3);
    assert_eq!(find("Fife", "zoë's")["freq"], 1);
    for r in words {
        let g = r["group"].as_str().unwrap();
        let (a, b) = (r["freq"].as_f64().unwrap(), r["ref_freq"].as_f64().unwrap());
        let c = c_of(g);
        let d = 22.0 - c;
        let n = c + d;
        let cell = |o: f64, e: f64| if o > 0.0 { o * (o / e).ln() } else { 0.0 };
        let g2 = 2.0
            * (cell(a, (a + b) * c / n)
                + cell(b, (a + b) * d / n)
                + cell(c - a, (n - a - b) * c / n)
                + cell(d - b, (n - a - b) * d / n));
        let signed = if a / c >= b / d { g2 } else { -g2 };
        let half = |x: f64| if x == 0.0 { 0.5 } else { x };
        let lr = ((half(a) / c) / (half(b) / d)).log2();
        assert!((r["g2"].as_f64().unwrap() - signed).abs() < 1e-9, "{r}");
        assert!((r["log_ratio"].as_f64().unwrap() - lr).abs() < 1e-9, "{r}");
    }
    // The passages coded `context` against the rest, in CSV with the documented columns.
    let csv = p.run(&["report", "keyness", "--code", "context", "--under", "--p", "1", "--format", "csv"]);
    assert!(csv.starts_with("code,word,freq,ref_freq,g2,log_ratio,p\n"), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("context,came,1,0,")), "{csv}");
    assert!(csv.lines().any(|l| l.starts_with("context,budget,1,3,")), "{csv}");
    // The figure: Log Ratio bars, a panel per site, the counts in each bar's title.
    let svg = p.run(&["report", "keyness", "--by", "site", "--p", "1", "--format", "svg"]);
    assert!(svg.starts_with("<svg") && svg.contains("viewBox"), "{svg}");
    assert!(svg.contains("<title>trust: freq 3 / 0,") && svg.contains(">Glasgow</text>"), "{svg}");
    // Word frequencies per 10,000 words, the built-in stopwords left out.
    let f = p.run(&["report", "words", "--by", "site", "--format", "csv"]);
    assert!(f.lines().any(|l| l == "Glasgow,budget,3,6000.0"), "{f}");
    assert!(!f.lines().any(|l| l.contains(",the,")), "{f}");
}

/// A `date` no year is read from (a day written the British way, a month in words) is named with
/// its file and line when notes are read, and in a table by year, whose `(none)` column holds
/// those notes' passages; a date or a year alone is not named.
#[test]
fn dates_that_are_not_days_are_named_not_passed_over() {
    let p = crate::util::TestProject::new();
    p.write("notes/fife/a.md", "---\nsite: Fife\ndate: 08/07/2016\n---\nThe staff turnover continued.\n");
    p.write("notes/fife/b.md", "---\nsite: Fife\ndate: 2016-07-09\n---\nStaff turnover again.\n");
    p.write("notes/fife/c.md", "---\nsite: Fife\ntitle: Board\nDate: July 2016\n---\nTurnover.\n");
    p.write("notes/fife/d.md", "---\nsite: Fife\ndate: 2017\n---\nTurnover, late.\n");
    let o = p.run_expect(&["index"], 0);
    let err = crate::util::stderr(&o);
    assert!(err.contains("2 note(s) give a `date` that is not a day"), "{err}");
    assert!(
        err.contains("`notes/fife/a.md:3` `08/07/2016`") && err.contains("`notes/fife/c.md:4` `July 2016`"),
        "{err}"
    );
    assert!(!err.contains("b.md") && !err.contains("d.md"), "{err}");
    for id in ["a", "b", "c", "d"] {
        p.run(&["code", "add", &format!("notes/fife/{id}.md#1"), "time", "-q"]);
    }
    let o = p.run_expect(&["report", "themes", "--by", "year", "--format", "json"], 0);
    let t: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let caption = t["caption"].as_str().unwrap();
    assert!(
        caption.contains("2 note(s) give a `date` that is not a day") && caption.contains("under (none)"),
        "{caption}"
    );
    let err = crate::util::stderr(&o);
    assert!(err.contains("`notes/fife/a.md` `08/07/2016`") && err.contains("hint: write dates as YYYY-MM-DD"), "{err}");
    // Grouped by site, nothing is said of dates.
    let o = p.run_expect(&["report", "themes", "--by", "site"], 0);
    assert!(!crate::util::stderr(&o).contains("not a day"), "{}", crate::util::stderr(&o));
}

/// Options that would give an empty or one-column table are refused with a reason.
#[test]
fn a_grouping_or_count_that_would_say_nothing_is_refused() {
    let p = crate::util::TestProject::new();
    p.write("notes/fife/a.md", "---\nsite: Fife\n---\nThe staff turnover continued.\n");
    p.run(&["code", "add", "notes/fife/a.md#1", "time", "-q"]);
    let o = p.run_expect(&["report", "themes", "--by", "year"], 2);
    assert!(
        crate::util::stderr(&o).contains("no note has a `date` to take its year from"),
        "{}",
        crate::util::stderr(&o)
    );
    p.run_expect(&["report", "quotes", "--per-group", "0"], 2);
    // A codebook name with angle brackets stays visible in Markdown and LaTeX captions.
    let book = p.read("codebook.toml");
    p.write("codebook.toml", book.replacen("name = \"", "name = \"<draft> ", 1));
    let md = p.run(&["report", "themes", "--format", "md"]);
    assert!(md.contains("&lt;draft&gt;"), "{md}");
    let tex = p.run(&["report", "themes", "--format", "latex"]);
    assert!(tex.contains("\\textless{}draft\\textgreater{}"), "{tex}");
}
