//! Imports: transcripts (VTT, SRT, DOCX, text), surveys (CSV, XLSX) with codes, folders of notes.

use std::io::Write;

use crate::util::{TestProject, stderr};

fn zip_file(entries: &[(&str, &str)]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default();
        for (name, content) in entries {
            z.start_file(*name, opts).unwrap();
            z.write_all(content.as_bytes()).unwrap();
        }
        z.finish().unwrap();
    }
    buf.into_inner()
}

/// A minimal Word document: a heading, then paragraphs.
fn docx(heading: &str, paragraphs: &[&str]) -> Vec<u8> {
    let mut body = format!(r#"<w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>{heading}</w:t></w:r></w:p>"#);
    for p in paragraphs {
        body.push_str(&format!(r#"<w:p><w:r><w:t xml:space="preserve">{p}</w:t></w:r></w:p>"#));
    }
    let doc = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
    );
    zip_file(&[
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#,
        ),
        ("word/document.xml", &doc),
    ])
}

/// A minimal XLSX workbook with one sheet of inline strings.
fn xlsx(rows: &[&[&str]]) -> Vec<u8> {
    let mut data = String::new();
    for (r, row) in rows.iter().enumerate() {
        data.push_str(&format!(r#"<row r="{}">"#, r + 1));
        for (c, cell) in row.iter().enumerate() {
            let col = (b'A' + c as u8) as char;
            if !cell.is_empty() {
                data.push_str(&format!(r#"<c r="{col}{}" t="inlineStr"><is><t>{cell}</t></is></c>"#, r + 1));
            }
        }
        data.push_str("</row>");
    }
    let sheet = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{data}</sheetData></worksheet>"#
    );
    zip_file(&[
        (
            "[Content_Types].xml",
            r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#,
        ),
        (
            "_rels/.rels",
            r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#,
        ),
        (
            "xl/workbook.xml",
            r#"<?xml version="1.0"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/></sheets></workbook>"#,
        ),
        (
            "xl/_rels/workbook.xml.rels",
            r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#,
        ),
        ("xl/worksheets/sheet1.xml", &sheet),
    ])
}

#[test]
fn transcripts_of_every_format_become_turns() {
    let p = TestProject::new();
    p.write("in/zoom.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v Moira>It took a year.</v>\n\n00:00:03.000 --> 00:00:05.000\n<v Moira>Maybe more.</v>\n\nbad timing\n\n00:00:05.000 --> 00:00:06.000\nInterviewer: Why?\n");
    p.write("in/plain.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\nNo voices here.\n");
    p.write("in/teams.srt", "1\n00:00:01,000 --> 00:00:02,000\nChair: Welcome.\n\n2\n00:00:02,500 --> 00:00:04,000\nMember: Thank you, Chair.\n");
    p.write("in/word.docx", docx("Opening", &["Interviewer: How did it start?", "Manager: Slowly &amp; carefully."]));
    p.write("in/typed.txt", "Q: First question?\n\nA: First answer.\n");
    let o = p.run_expect(
        &[
            "import",
            "transcript",
            "in/zoom.vtt",
            "in/plain.vtt",
            "in/teams.srt",
            "in/word.docx",
            "in/typed.txt",
            "--site",
            "Fife",
            "--date",
            "2016-05-01",
        ],
        0,
    );
    assert!(
        stderr(&o).contains("in/zoom.vtt` line 9: no cue timing before `bad timing`, and no words to keep")
            || stderr(&o).contains("in/zoom.vtt` line 9: no cue timing before `bad timing`; its words were kept"),
        "{}",
        stderr(&o)
    );
    let list = p.json(&["notes", "--list", "--json"]);
    let docs = list.as_array().unwrap();
    assert_eq!(docs.len(), 5);
    let doc = |name: &str| docs.iter().find(|d| d["path"] == format!("notes/fife/{name}.md")).unwrap().clone();
    let zoom = doc("zoom");
    let ps = zoom["passages"].as_array().unwrap();
    // The block without a timing keeps its words, as a turn without a time or a speaker.
    assert_eq!(ps.len(), 3);
    assert_eq!(ps[0]["speaker"], "Moira");
    assert_eq!(ps[0]["time"], "00:00:01.000 --> 00:00:05.000");
    assert!(ps[1]["speaker"].is_null() && ps[1]["time"].is_null(), "{}", ps[1]);
    assert_eq!(ps[2]["speaker"], "Interviewer");
    assert_eq!(zoom["attributes"]["date"], "2016-05-01");
    assert_eq!(doc("plain")["passages"].as_array().unwrap().len(), 1);
    let srt = doc("teams");
    assert_eq!(srt["passages"][1]["speaker"], "Member");
    let word = doc("word");
    assert_eq!(word["passages"][0]["section"], "Opening");
    assert_eq!(word["passages"][1]["speaker"], "Manager");
    assert_eq!(doc("typed")["passages"][1]["speaker"], "A");
    let v = p.json(&["search", "speaker:moira", "--json"]);
    assert_eq!(v["total"], 1);
    // Idempotent, by content: the same recording again adds nothing.
    let zoom_note = p.read("notes/fife/zoom.md");
    let o = p.run_expect(&["import", "transcript", "in/zoom.vtt", "--site", "Fife", "--date", "2016-05-01"], 0);
    assert!(stderr(&o).contains("in the project already, as `notes/fife/zoom.md`"), "{}", stderr(&o));
    assert_eq!(p.read("notes/fife/zoom.md"), zoom_note);
}

#[test]
fn recordings_are_known_by_their_content() {
    let p = TestProject::new();
    let first = "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v Moira>It took a year.</v>\n\n00:00:05.000 --> 00:0x:07.000\n<v Moira>These words have no time.</v>\n";
    p.write("day1/interview.vtt", first);
    p.write("day2/interview.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v Jim>Another day, another person.</v>\n");
    let import = |files: &[&str], extra: &[&str]| {
        let mut args = vec!["import", "transcript"];
        args.extend(files);
        args.extend(["--site", "Fife"]);
        args.extend(extra);
        p.run_expect(&args, 0)
    };
    // Two recordings with the same file name both arrive.
    let o = import(&["day1/interview.vtt", "day2/interview.vtt"], &[]);
    let e = stderr(&o);
    assert!(e.contains("day1/interview.vtt` line 6: cannot read the cue timing `00:00:05.000 --> 00:0x:07.000`; its words were kept, without a time"), "{e}");
    assert!(e.contains("goes to `notes/fife/interview-2.md`"), "{e}");
    assert!(p.read("notes/fife/interview.md").contains("[??:??:??] Moira: These words have no time."));
    assert!(p.read("notes/fife/interview-2.md").contains("Jim: Another day"));
    let list = p.json(&["notes", "--list", "--json"]);
    let docs = list.as_array().unwrap();
    assert_eq!(docs.len(), 2);
    let first = docs.iter().find(|d| d["path"] == "notes/fife/interview.md").unwrap();
    let ps = first["passages"].as_array().unwrap();
    assert_eq!(ps.len(), 2);
    assert_eq!((ps[1]["speaker"].as_str(), ps[1]["time"].as_str()), (Some("Moira"), None));
    // Re-run, in either order: nothing new, nothing rewritten.
    let before = (p.read("notes/fife/interview.md"), p.read("notes/fife/interview-2.md"));
    let o = import(&["day2/interview.vtt", "day1/interview.vtt"], &[]);
    assert!(stderr(&o).contains("0 note(s), 2 unchanged"), "{}", stderr(&o));
    assert!(!p.path().join("notes/fife/interview-3.md").exists());
    // A note edited by hand still holds its recording: the edit stays.
    p.write("notes/fife/interview.md", before.0.replace("It took a year.", "It took a year [laughs]."));
    import(&["day1/interview.vtt"], &[]);
    assert!(p.read("notes/fife/interview.md").contains("[laughs]"));
    assert!(!p.path().join("notes/fife/interview-3.md").exists());
    // --force rewrites the recording's note; a changed source with --force replaces the note of its name.
    import(&["day1/interview.vtt"], &["--force"]);
    assert_eq!(p.read("notes/fife/interview.md"), before.0);
    p.write("day1/interview.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v Moira>Corrected.</v>\n");
    import(&["day1/interview.vtt"], &["--force"]);
    assert!(p.read("notes/fife/interview.md").contains("Corrected."));
    assert_eq!(p.read("notes/fife/interview-2.md"), before.1);
}

#[test]
fn surveys_with_codes_from_two_coders() {
    let p = TestProject::new();
    p.write(
        "a.csv",
        "id,site,age,q1,codes\nr1,Fife,34,\"It took years, honestly.\",time;Local knowledge->Housing\nr2,Glasgow,51,We owned the plan.,accountability-ownership\nr3,Glasgow,,,\n,Fife,20,orphan row,time\n",
    );
    p.write(
        "b.xlsx",
        xlsx(&[
            &["id", "site", "age", "q1", "codes"],
            &["r1", "Fife", "34", "It took years, honestly.", "time"],
            &["r2", "Glasgow", "51", "We owned the plan.", "expertise"],
        ]),
    );
    let args = |file: &str, coder: &str| -> Vec<String> {
        [
            "import", "survey", file, "--name", "survey", "--id", "id", "--text", "q1", "--attr", "site", "age",
            "--codes", "codes", "--coder", coder,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let a: Vec<String> = args("a.csv", "ann");
    let o = p.run_expect(&a.iter().map(String::as_str).collect::<Vec<_>>(), 0);
    assert!(stderr(&o).contains("row 5") && stderr(&o).contains("no respondent id"), "{}", stderr(&o));
    let b: Vec<String> = args("b.xlsx", "bob");
    p.run(&b.iter().map(String::as_str).collect::<Vec<_>>());
    // Same answers, same notes: the XLSX import left them unchanged.
    let v = p.json(&["notes", "--json"]);
    assert_eq!(v["documents"], 2);
    assert!(p.read("notes/survey/r1.md").contains("age: 34"));
    // New codes (a path) went into the codebook.
    let book = p.read("codebook.toml");
    assert!(book.contains("id = \"local-knowledge\"") && book.contains("parent = \"local-knowledge\""), "{book}");
    assert!(book.contains("id = \"local-knowledge/housing\"\nname = \"Housing\""), "{book}");
    p.run_expect(&["codebook", "check"], 0);
    // Idempotent: nothing new the second time.
    let before = p.read("codings/ann.jsonl").lines().count();
    assert_eq!(before, 3);
    p.run(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(p.read("codings/ann.jsonl").lines().count(), before);
    // Ready for agreement: time agrees, the r2 code does not.
    let v = p.json(&["agree", "--coders", "ann,bob", "--json", "--code", "time"]);
    assert_eq!(v["rows"][0]["percent_agreement"]["value"], 1.0);
    let d = p.run(&["agree", "--coders", "ann,bob", "--disagreements", "--csv"]);
    assert!(d.contains("accountability-ownership") && d.contains("expertise"), "{d}");
    let t = p.run(&["report", "themes", "--coder", "ann", "--format", "csv"]);
    assert!(t.contains("time,1,0,1"), "{t}");
    // A corrected sheet: r1's code is now context. Its old code goes, said, not counted twice.
    p.write(
        "a.csv",
        "id,site,age,q1,codes\nr1,Fife,34,\"It took years, honestly.\",context;Local knowledge->Housing\nr2,Glasgow,51,We owned the plan.,accountability-ownership\n",
    );
    let o = p.run_expect(&a.iter().map(String::as_str).collect::<Vec<_>>(), 0);
    assert!(stderr(&o).contains("removed 1 coding(s) the sheet no longer gives (`r1` time)"), "{}", stderr(&o));
    let t = p.run(&["report", "themes", "--coder", "ann", "--format", "csv"]);
    assert!(t.contains("time,0,0,0") && t.contains("context,1,0,1"), "{t}");
}

#[test]
fn folders_of_notes_with_attributes() {
    let p = TestProject::new();
    p.write("incoming/a.md", "Plain note without front matter.\n");
    p.write("incoming/sub/b.txt", "---\nsite: Fife\n---\nHas its own site.\n");
    // What is not a note is named, with how it comes in, not passed over in silence.
    p.write("incoming/meeting_2.json", "{}");
    p.write("incoming/sub/meeting_1.json", "{}");
    p.write("incoming/LICENSE", "MIT");
    p.write("incoming/.obsidian/app.json", "{}");
    p.write(
        "attrs.csv",
        "file,site,kind,consent given,date\na.md,Glasgow,memo,true,not-a-date\nsub/b.txt,Dundee,meeting,false,2016-05-01\nmissing.md,X,Y,,\n",
    );
    let o = p.run_expect(&["import", "notes", "incoming", "--attrs", "attrs.csv", "--dry-run"], 0);
    assert!(!p.path().join("notes/incoming/a.md").exists());
    assert!(stderr(&o).contains("would write"), "{}", stderr(&o));
    let o = p.run_expect(&["import", "notes", "incoming", "--attrs", "attrs.csv"], 0);
    let e = stderr(&o);
    assert!(
        e.contains("row 4: attributes for `missing.md` match no file") && e.contains("already in its front matter"),
        "{e}"
    );
    assert!(e.contains("column `consent given` is written as the key `consent_given`"), "{e}");
    assert!(e.contains("row 2: `not-a-date` is not a date"), "{e}");
    assert!(
        e.contains("left out what is not a note: 1 file(s) without an extension (`LICENSE`), 2 `.json` file(s) (`meeting_1.json`), 1 hidden file(s) or folder(s)")
            && e.contains("`fieldnotes import qmsum`"),
        "{e}"
    );
    let list = p.json(&["notes", "--list", "--json"]);
    let docs = list.as_array().unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["attributes"]["site"], "Glasgow");
    assert_eq!(docs[0]["attributes"]["kind"], "memo");
    assert_eq!(docs[0]["attributes"]["consent_given"], true, "yes and no, not words");
    assert_eq!(docs[1]["attributes"]["site"], "Fife");
    assert_eq!(docs[1]["attributes"]["kind"], "meeting");
}

/// A Hugo note's TOML front matter comes in as TOML: as it is, or with the sheet's keys added.
#[test]
fn notes_with_toml_front_matter_are_imported_readable() {
    let p = TestProject::new();
    p.write("hugo/as-is.md", "+++\ntitle = \"Board\"\ndate = 2018-05-06T09:00:00Z\n+++\nThe board met.\n");
    p.write("hugo/more.md", "+++\ntitle = \"Forum\"\n+++\nThe forum met.\n");
    p.write("attrs.csv", "file,site,date\nmore.md,Fife \"East\",2016-07-08\n");
    let o = p.run_expect(&["import", "notes", "hugo", "--attrs", "attrs.csv"], 0);
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    assert_eq!(p.read("notes/hugo/as-is.md"), p.read("hugo/as-is.md"), "written as it was");
    let more = p.read("notes/hugo/more.md");
    assert!(more.starts_with("+++\ntitle = \"Forum\"\n") && more.contains("site = \"Fife \\\"East\\\"\"\n"), "{more}");
    let list = p.json(&["notes", "--list", "--json"]);
    let docs = list.as_array().unwrap();
    assert_eq!(docs.len(), 2, "{list}");
    assert_eq!(docs[0]["attributes"]["date"], "2018-05-06");
    assert_eq!(docs[1]["attributes"]["site"], "Fife \"East\"");
    assert_eq!(docs[1]["attributes"]["date"], "2016-07-08");
}

#[test]
fn survey_codes_keep_their_place_and_spelling() {
    let p = TestProject::new();
    // Codes in several columns per answer; sub-codes as `parent->child`; several codes a cell.
    p.write(
        "exam.csv",
        "id,answer,c1,c2\n\
         s1,I used my notes.,open_book,\n\
         s2,The notes were on Blackboard.,blackboard->open_book,\n\
         s3,They watch us.,student_privacy->monitoring,\"time, Blackboard->OPEN_BOOK\"\n\
         s4,Cameras make me nervous.,student_discomfort->monitoring | possible_exam_method,\n\
         s5,A take-home paper would be fairer.,\"possible_exam_method\nTIME\",->orphan\n",
    );
    let args = |extra: &[&'static str]| -> Vec<&'static str> {
        let mut v = vec!["import", "survey", "exam.csv", "--id", "id", "--text", "answer", "--codes", "c1", "c2"];
        v.extend(extra);
        v
    };
    let o = p.run_expect(&args(&["--coder", "ann", "--dry-run"]), 0);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    let added: Vec<&str> = out.lines().filter(|l| l.starts_with('+')).collect();
    assert_eq!(
        added,
        [
            "+ open_book (open_book)",
            "+ blackboard (blackboard)",
            "+ blackboard/open_book (open_book, under blackboard)",
            "+ student_privacy (student_privacy)",
            "+ student_privacy/monitoring (monitoring, under student_privacy)",
            "+ student_discomfort (student_discomfort)",
            "+ student_discomfort/monitoring (monitoring, under student_discomfort)",
            "+ possible_exam_method (possible_exam_method)",
        ],
        "{out}"
    );
    let e = stderr(&o);
    assert!(e.contains("exam.csv` row 6: column `c2` (D): `->orphan` has an empty part"), "{e}");
    assert!(!p.path().join("codings/ann.jsonl").exists());
    p.run(&args(&["--coder", "ann"]));
    p.run_expect(&["codebook", "check"], 0);
    // Each code counts its own answers: `open_book` is not `blackboard->open_book`, and the two
    // `monitoring`s stay two.
    let count = |q: &str| p.json(&["search", q, "--count", "--json"])["total"].as_u64().unwrap();
    assert_eq!(count("code:open_book"), 1);
    assert_eq!(count("code:blackboard/open_book"), 2);
    assert_eq!(count("code:student_privacy/monitoring"), 1);
    assert_eq!(count("code:student_discomfort/monitoring"), 1);
    // The researcher's spelling addresses the code, in searches and in `--code`.
    assert_eq!(count("code:possible_exam_method"), 2);
    assert_eq!(count("code:time"), 2);
    let listed = p.run(&["code", "list", "--code", "possible_exam_method", "--csv"]);
    assert_eq!(listed.lines().count(), 3, "{listed}");
    // With `--code-sep ';'` a comma belongs to the code: `time, Blackboard->OPEN_BOOK` is one path.
    let o = p.run_expect(&args(&["--coder", "bob", "--code-sep", ";", "--dry-run"]), 0);
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        out.contains(
            "+ time-blackboard (time, Blackboard)\n+ time-blackboard/open_book (OPEN_BOOK, under time-blackboard)"
        ),
        "{out}"
    );
    // Re-run: nothing new.
    let before = p.read("codings/ann.jsonl").lines().count();
    p.run(&args(&["--coder", "ann"]));
    assert_eq!(p.read("codings/ann.jsonl").lines().count(), before);
}

#[test]
fn qdc_codes_merge_by_place_and_name() {
    let p = TestProject::new();
    p.write("a.csv", "id,answer,codes\nr1,Notes.,open_book;student_privacy->monitoring\n");
    p.run(&["import", "survey", "a.csv", "--id", "id", "--text", "answer", "--codes", "codes", "--coder", "ann"]);
    p.write(
        "theirs.qdc",
        r#"<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="test"><Codes>
  <Code guid="10000000-0000-4000-8000-000000000001" name="Open_Book" isCodable="true"/>
  <Code guid="10000000-0000-4000-8000-000000000002" name="blackboard" isCodable="true">
    <Code guid="10000000-0000-4000-8000-000000000003" name="open_book" isCodable="true"/>
  </Code>
  <Code guid="10000000-0000-4000-8000-000000000004" name="student_privacy" isCodable="true">
    <Code guid="10000000-0000-4000-8000-000000000005" name="monitoring" isCodable="true"/>
  </Code>
  <Code guid="10000000-0000-4000-8000-000000000006" name="student_discomfort" isCodable="true">
    <Code guid="10000000-0000-4000-8000-000000000007" name="monitoring" isCodable="true"/>
  </Code>
</Codes></CodeBook>"#,
    );
    let out = p.run(&["import", "qdc", "theirs.qdc"]);
    let added: Vec<&str> = out.lines().filter(|l| l.starts_with('+')).collect();
    assert_eq!(
        added,
        [
            "+ blackboard (blackboard)",
            "+ blackboard/open_book (open_book)",
            "+ student_discomfort (student_discomfort)",
            "+ student_discomfort/monitoring (monitoring)",
        ],
        "{out}"
    );
    p.run_expect(&["codebook", "check"], 0);
}

#[test]
fn notes_that_look_like_transcripts_are_pointed_out() {
    let p = TestProject::new();
    let turns =
        "Chair: Welcome, everyone.\n\nHB: Thanks for having us.\n\nNote: we started late.\n\nJM: Shall we begin?\n";
    p.write("notes/fife/board.md", format!("---\nsite: Fife\nkind: meeting\n---\n{turns}"));
    p.write("notes/fife/marked.md", format!("---\nsite: Fife\nkind: meeting\ntranscript: true\n---\n{turns}"));
    p.write("notes/fife/not.md", format!("---\nsite: Fife\nkind: interview\ntranscript: false\n---\n{turns}"));
    let out = p.run(&["notes"]);
    assert!(out.contains("1 note(s) read as paragraphs look like transcripts"), "{out}");
    assert!(out.contains("notes/fife/board.md (3 of 4 paragraphs)"), "{out}");
    assert!(!out.contains("marked.md") && !out.contains("not.md"), "{out}");
    let v = p.json(&["notes", "--json"]);
    assert_eq!(v["unmarked_transcripts"].as_array().unwrap().len(), 1);
    // Marked, the note is cut into turns; `transcript: false` overrides an interview's kind.
    let list = p.json(&["notes", "--list", "--json"]);
    let doc = |name: &str| {
        list.as_array().unwrap().iter().find(|d| d["path"] == format!("notes/fife/{name}.md")).unwrap().clone()
    };
    assert_eq!(doc("marked")["passages"][1]["speaker"], "HB");
    assert!(doc("not")["passages"][1]["speaker"].is_null());
    assert!(doc("board")["passages"][1]["speaker"].is_null());
}

/// A small vault as Obsidian, Hugo and Zettlr users keep one: nested YAML, TOML front matter,
/// tags in both places, wikilinks and a callout. Nothing is skipped, the filters and phrases
/// find the notes, and passages read as the notes do.
#[test]
fn a_markdown_editors_vault_reads_whole() {
    let p = TestProject::new();
    p.write(
        "notes/fife/board.md",
        "---\nsite: Fife\ndate: 2016-03-02\nparticipants:\n  - name: Moira\n    role: chair\n  - name: Callum\n    role: officer\nproject:\n  funder: ESRC\ntags: [trust, board]\nsummary: >\n  A long meeting\n  about the plan.\n---\n# Board\n\nThe board met at [[Methil Community Centre|the centre]] and talked about [[Locality plan]]. #slow-progress\n\n> [!note] Reflection\n> Trust grows slowly here.\n",
    );
    p.write(
        "notes/fife/workshop.md",
        "+++\ntitle = \"Workshop\"\nsite = \"Fife\"\ndate = 2016-05-01\ntags = [\"workshop\"]\n+++\nThe staff turnover came up again, with #trust at stake.\n",
    );
    p.write("notes/glasgow/memo.md", "---\nsite: Glasgow\ntag: memo\n---\nA memo on [[Staff turnover]] in Glasgow.\n");
    p.write("notes/.obsidian/workspace.md", "not a note\n");
    let o = p.run_expect(&["index"], 0);
    assert!(!stderr(&o).contains("skipped"), "{}", stderr(&o));
    let n = p.json(&["notes", "--json"]);
    assert_eq!(n["documents"], 3, "{n:#}");
    assert!(n["skipped"].as_array().is_none_or(Vec::is_empty), "{n:#}");
    let ids = |q: &str| -> Vec<String> {
        let v = p.json(&["search", q, "--json"]);
        let mut ids: Vec<String> = v["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h["id"].as_str().unwrap().split('#').next().unwrap().to_string())
            .collect();
        ids.sort();
        ids.dedup();
        ids
    };
    assert_eq!(ids("tag:trust"), ["notes/fife/board.md", "notes/fife/workshop.md"]);
    assert_eq!(ids("tag:slow-progress"), ["notes/fife/board.md"]);
    assert_eq!(ids("tag:memo site:glasgow"), ["notes/glasgow/memo.md"]);
    assert_eq!(ids("\"staff turnover\""), ["notes/fife/workshop.md", "notes/glasgow/memo.md"]);
    assert_eq!(ids("\"the centre\" participants.name:moira project.funder:esrc"), ["notes/fife/board.md"]);
    assert_eq!(ids("links:\"locality plan\""), ["notes/fife/board.md"]);
    let show = p.json(&["show", "notes/fife/board.md#1", "--json", "-C", "5"]);
    let texts: Vec<&str> = show["passages"].as_array().unwrap().iter().map(|x| x["text"].as_str().unwrap()).collect();
    assert_eq!(
        texts,
        ["The board met at the centre and talked about Locality plan. #slow-progress", "Trust grows slowly here."]
    );
    let a = &show["attributes"];
    assert_eq!(a["participants.role"], serde_json::json!(["chair", "officer"]));
    assert_eq!(a["summary"], "A long meeting about the plan.");
    assert_eq!(a["tag"], serde_json::json!(["trust", "board", "slow-progress"]));
    // A coding on the shown words lands on them.
    p.run(&["code", "add", "notes/fife/board.md#1", "context", "--quote", "the centre", "--coder", "hb"]);
    let listed = p.run(&["code", "list", "--csv"]);
    assert!(listed.contains("the centre"), "{listed}");
}

/// A second coder's sheet of the same answers, imported without the first's `--attr` columns,
/// puts its codings on the notes the first made (as the README's example runs it).
#[test]
fn a_second_coders_sheet_codes_the_same_answers() {
    let p = TestProject::new();
    p.write(
        "answers.csv",
        "id,q1,site,age,q1_codes\nr1,We trusted the staff.,Fife,40,time\nr2,The budget was cut.,Fife,51,context\n",
    );
    p.write("answers-bob.csv", "id,q1,q1_codes\nr1,We trusted the staff.,time\nr2,The budget was cut.,time\n");
    p.run(&[
        "import",
        "survey",
        "answers.csv",
        "--id",
        "id",
        "--text",
        "q1",
        "--attr",
        "site",
        "age",
        "--codes",
        "q1_codes",
        "--coder",
        "ann",
    ]);
    let o = p.run_expect(
        &[
            "import",
            "survey",
            "answers-bob.csv",
            "--name",
            "answers",
            "--id",
            "id",
            "--text",
            "q1",
            "--codes",
            "q1_codes",
            "--coder",
            "bob",
        ],
        0,
    );
    assert!(stderr(&o).contains("added 2 coding(s) to `codings/bob.jsonl`"), "{}", stderr(&o));
    let a = p.json(&["agree", "--coders", "ann,bob", "--json"]);
    assert!(a["caption"].as_str().unwrap().contains("over 2 passages of 2 note(s)"), "{a}");
    assert_eq!(a["rows"][0]["code"], "time");
    assert_eq!(a["rows"][0]["coded_units"], 2);
}

/// A linked folder is followed (as the notes' walk follows it); a file every command would skip
/// is named with why and not written.
#[test]
fn import_notes_follows_linked_folders_and_writes_nothing_unreadable() {
    let p = TestProject::new();
    p.write("elsewhere/linked.md", "A note kept in another folder.\n");
    p.write("vault/a.md", "A note.\n");
    p.write("vault/empty.md", "  \n");
    std::fs::write(p.path().join("vault/latin1.md"), b"Caf\xe9 society.\n").unwrap();
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(p.path().join("elsewhere"), p.path().join("vault/Linked")).unwrap();
        std::os::unix::fs::symlink(p.path().join("nowhere.md"), p.path().join("vault/broken.md")).unwrap();
        // A link back up does not loop.
        std::os::unix::fs::symlink(p.path().join("vault"), p.path().join("elsewhere/up")).unwrap();
    }
    let o = p.run_expect(&["import", "notes", "vault"], 0);
    let e = stderr(&o);
    assert!(e.contains("empty.md`: empty file; skipped"), "{e}");
    assert!(e.contains("latin1.md`: line 1: not UTF-8"), "{e}");
    assert!(!p.path().join("notes/vault/empty.md").exists() && !p.path().join("notes/vault/latin1.md").exists());
    #[cfg(unix)]
    {
        assert!(e.contains("broken.md`: cannot be read (a link to a file that is not there)"), "{e}");
        assert!(p.path().join("notes/vault/Linked/linked.md").exists(), "{e}");
    }
}
