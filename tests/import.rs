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
    assert!(stderr(&o).contains("in/zoom.vtt` line 9: no valid cue timing"), "{}", stderr(&o));
    let list = p.json(&["notes", "--list", "--json"]);
    let docs = list.as_array().unwrap();
    assert_eq!(docs.len(), 5);
    let doc = |name: &str| docs.iter().find(|d| d["path"] == format!("notes/fife/{name}.md")).unwrap().clone();
    let zoom = doc("zoom");
    let ps = zoom["passages"].as_array().unwrap();
    assert_eq!(ps.len(), 2);
    assert_eq!(ps[0]["speaker"], "Moira");
    assert_eq!(ps[0]["time"], "00:00:01.000 --> 00:00:05.000");
    assert_eq!(ps[1]["speaker"], "Interviewer");
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
    // Idempotent; a changed source is refused without --force.
    p.run(&["import", "transcript", "in/zoom.vtt", "--site", "Fife", "--date", "2016-05-01"]);
    p.write("in/zoom.vtt", "WEBVTT\n\n00:00:01.000 --> 00:00:03.000\n<v Moira>Changed.</v>\n");
    let o = p.run_expect(&["import", "transcript", "in/zoom.vtt", "--site", "Fife", "--date", "2016-05-01"], 0);
    assert!(stderr(&o).contains("--force"), "{}", stderr(&o));
    assert!(!p.read("notes/fife/zoom.md").contains("Changed."));
    p.run(&["import", "transcript", "in/zoom.vtt", "--site", "Fife", "--date", "2016-05-01", "--force"]);
    assert!(p.read("notes/fife/zoom.md").contains("Changed."));
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
}

#[test]
fn folders_of_notes_with_attributes() {
    let p = TestProject::new();
    p.write("incoming/a.md", "Plain note without front matter.\n");
    p.write("incoming/sub/b.txt", "---\nsite: Fife\n---\nHas its own site.\n");
    p.write("attrs.csv", "file,site,kind\na.md,Glasgow,memo\nsub/b.txt,Dundee,meeting\nmissing.md,X,Y\n");
    let o = p.run_expect(&["import", "notes", "incoming", "--attrs", "attrs.csv", "--dry-run"], 0);
    assert!(!p.path().join("notes/incoming/a.md").exists());
    assert!(stderr(&o).contains("would write"), "{}", stderr(&o));
    let o = p.run_expect(&["import", "notes", "incoming", "--attrs", "attrs.csv"], 0);
    let e = stderr(&o);
    assert!(e.contains("missing.md") && e.contains("already in its front matter"), "{e}");
    let list = p.json(&["notes", "--list", "--json"]);
    let docs = list.as_array().unwrap();
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0]["attributes"]["site"], "Glasgow");
    assert_eq!(docs[0]["attributes"]["kind"], "memo");
    assert_eq!(docs[1]["attributes"]["site"], "Fife");
    assert_eq!(docs[1]["attributes"]["kind"], "meeting");
}
