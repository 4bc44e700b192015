//! A fieldnotes project as one library: open it, read its notes (whole, one, a batch at a
//! time), read its codings through the coding states, keep the search index and the report
//! store in step with the notes and the ledgers. The command line is one front end on it; any
//! other (a web workbench) opens the same study and goes through the same code and locks.
//!
//! What an operation has to say along the way (a file skipped, a ledger line unreadable, a wait
//! for another process's lock, progress through many notes) goes to a [`Tell`], which each front
//! end implements: the command line prints to stderr, a server might log.

pub mod agree;
pub mod check;
pub mod code;
pub mod import;
pub mod learn;
pub mod redact;
pub mod report;
pub mod search;
pub mod show;
pub mod store;
pub mod study;

pub use study::{Scope, Study};

/// Where a study's messages go.
pub trait Tell: Sync {
    /// Something was skipped or could not be read, and the work went on.
    fn warn(&self, message: &str);
    /// What was done or is being waited for (left out when the person asked for quiet).
    fn info(&self, message: &str);
    /// A progress bar of `total` steps doing `what` (hidden where none is wanted).
    fn progress(&self, total: u64, what: &str) -> indicatif::ProgressBar;
}

/// A [`Tell`] that keeps nothing: for callers that want the result alone.
pub struct Silent;

impl Tell for Silent {
    fn warn(&self, _: &str) {}
    fn info(&self, _: &str) {}
    fn progress(&self, _: u64, _: &str) -> indicatif::ProgressBar {
        indicatif::ProgressBar::hidden()
    }
}

/// `s` on one line (runs of white space made one space), cut to `n` characters with `…`.
pub fn clip(s: &str, n: usize) -> String {
    let one_line: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= n {
        one_line
    } else {
        let mut t: String = one_line.chars().take(n.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// A count with its noun, singular for one: `1 passage`, `3 passages`.
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 { format!("1 {noun}") } else { format!("{n} {noun}s") }
}

/// A warning's list: the first `most` of `items` joined by `sep`, then how many more of `total`
/// there are (`a; b; c; and 4 more`).
pub fn first_few<S: AsRef<str>>(items: &[S], most: usize, total: usize, sep: &str) -> String {
    let shown = items.len().min(most);
    let mut out = items[..shown].iter().map(AsRef::as_ref).collect::<Vec<_>>().join(sep);
    if total > shown {
        out.push_str(&format!("{sep}and {} more", total - shown));
    }
    out
}

/// `1 passage matches`, `3 passages match`: what a search found, on every front end.
pub fn matching(n: usize) -> String {
    format!("{} {}", count(n as u64, "passage"), if n == 1 { "matches" } else { "match" })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    /// Keeps what a study says, to look at.
    #[derive(Default)]
    struct Kept(Mutex<Vec<String>>);

    impl Tell for Kept {
        fn warn(&self, message: &str) {
            self.0.lock().unwrap().push(format!("warning: {message}"));
        }
        fn info(&self, message: &str) {
            self.0.lock().unwrap().push(message.to_string());
        }
        fn progress(&self, _: u64, _: &str) -> indicatif::ProgressBar {
            indicatif::ProgressBar::hidden()
        }
    }

    /// Writes `text` to file `rel` of `dir`, making its folders.
    fn put(dir: &std::path::Path, rel: &str, text: impl AsRef<[u8]>) {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    /// A codebook of two codes.
    const TRUST_AND_MONEY: &str =
        "[[code]]\nid = \"trust\"\nname = \"Trust\"\n\n[[code]]\nid = \"money\"\nname = \"Money\"\n";

    #[test]
    fn first_few_says_how_many_more() {
        let items = ["a", "b", "c", "d"];
        assert_eq!(first_few(&items, 2, 4, "; "), "a; b; and 2 more");
        assert_eq!(first_few(&items, 9, 4, ", "), "a, b, c, d");
        assert_eq!(first_few(&items[..1], 1, 7, ", "), "a, and 6 more");
    }

    #[test]
    fn a_second_front_end_opens_reads_and_counts_a_study_through_the_library_alone() {
        let dir = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &[u8]| put(dir.path(), rel, text);
        write("fieldnotes.toml", b"name = \"t\"\ncoder = \"hb\"\n");
        write("codebook.toml", b"[[code]]\nid = \"trust\"\nname = \"Trust\"\n");
        write("notes/fife/a.md", b"---\nsite: Fife\n---\nWe built trust slowly.\n\nThen the budget.\n");
        write("notes/fife/broken.md", b"---\nsite: Fife\n---\n\xff\xfe not text\n");
        write("codings/hb.jsonl", b"{not json\n");
        let project = fieldnotes_corpus::Project::open(dir.path()).unwrap();
        let kept = Kept::default();
        let study = Study::load(project, &kept).unwrap();
        assert_eq!(study.corpus.documents.len(), 1);
        let said = kept.0.lock().unwrap().clone();
        assert!(said.iter().any(|m| m.starts_with("warning: skipped `notes/fife/broken.md`")), "{said:?}");
        assert!(said.iter().any(|m| m.contains("hb.jsonl") && m.contains("line 1")), "{said:?}");
        // A passage by ordinal, and an id of no note, with a hint.
        let (_, doc, p) = study.passage("notes/fife/a.md#1", &kept).unwrap();
        assert_eq!(doc.passage_text(p), "We built trust slowly.");
        let e = study.passage("notes/nowhere.md#1", &kept).unwrap_err().to_string();
        assert!(e.contains("no note `notes/nowhere.md`"), "{e}");
        // The report store, built through the library, counts the note that was read.
        let store = store::report_store(&study.project, &Silent).unwrap();
        assert_eq!(store.passages(), 2);
        assert_eq!(store.coded_rows(), 0);
        // Coding words by hand, once however often asked, and taking the code off again.
        let quote = code::Span::Quote("trust".into());
        let added = study.add_coding("notes/fife/a.md#1", "trust", "ann", &quote, None, &kept).unwrap();
        assert!(added.new);
        let again = Study::load_note(study.project.clone(), "notes/fife/a.md#1", &kept).unwrap();
        assert!(!again.add_coding("notes/fife/a.md#1", "trust", "ann", &quote, None, &kept).unwrap().new);
        let ledger = std::fs::read_to_string(dir.path().join("codings/ann.jsonl")).unwrap();
        assert!(ledger.contains("\"text\":\"trust\"") && ledger.contains(&added.id), "{ledger}");
        let e = again.add_coding("notes/fife/a.md#1", "nothing", "ann", &quote, None, &kept).unwrap_err();
        assert!(e.to_string().contains("unknown code `nothing`"), "{e}");
        let e = again.add_coding("notes/fife/a.md#2", "trust", "ann", &quote, None, &kept).unwrap_err();
        assert!(e.to_string().contains("are not in passage"), "{e}");
        let fresh = Study::load_note(study.project.clone(), "notes/fife/a.md#1", &kept).unwrap();
        assert_eq!(fresh.remove_coding("notes/fife/a.md#1", "trust", "ann", "", &kept).unwrap(), 1);
        let after = Study::load_note(study.project.clone(), "notes/fife/a.md#1", &kept).unwrap();
        assert!(after.remove_coding("notes/fife/a.md#1", "trust", "ann", "", &kept).is_err());
    }

    #[test]
    fn a_coders_list_is_the_same_read_at_once_or_a_batch_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &str| put(dir.path(), rel, text);
        write("fieldnotes.toml", "name = \"t\"\ncoder = \"hb\"\n");
        write("codebook.toml", TRUST_AND_MONEY);
        write("notes/fife/a.md", "---\nsite: Fife\n---\nWe built trust slowly.\n\nThen the budget.\n");
        write("notes/fife/b.md", "---\nsite: Fife\n---\nThe budget was cut.\n\nTrust held.\n");
        write("notes/dundee/c.md", "---\nsite: Dundee\n---\nTrust and money.\n");
        let project = fieldnotes_corpus::Project::open(dir.path()).unwrap();
        let study = Study::load(project.clone(), &Silent).unwrap();
        let quote = |q: &str| code::Span::Quote(q.into());
        for (passage, code, coder, q) in [
            ("notes/fife/a.md#1", "trust", "hb", "trust"),
            ("notes/fife/a.md#2", "money", "hb", "budget"),
            ("notes/fife/b.md#1", "money", "ann", "budget"),
            ("notes/fife/b.md#2", "trust", "ann", "Trust"),
            ("notes/dundee/c.md#1", "trust", "ann", "Trust"),
            ("notes/dundee/c.md#1", "money", "hb", "money"),
        ] {
            let s = Study::load_note(project.clone(), passage, &Silent).unwrap();
            s.add_coding(passage, code, coder, &quote(q), None, &Silent).unwrap();
        }
        drop(study);
        // One of ann's codings loses its words, another its note.
        write("notes/fife/b.md", "---\nsite: Fife\n---\nThe grant was cut.\n\nTrust held.\n");
        std::fs::remove_file(dir.path().join("notes/dundee/c.md")).unwrap();
        let filters = [
            code::ListFilter { coder: Some("ann".into()), ..Default::default() },
            code::ListFilter { coder: Some("hb".into()), code: Some("money".into()), ..Default::default() },
            code::ListFilter { coder: Some("ann".into()), site: Some("fife".into()), ..Default::default() },
            code::ListFilter { coder: Some("ann".into()), code: Some("nosuch".into()), ..Default::default() },
        ];
        for filter in &filters {
            let listed = |at_once: usize| {
                let kept = Kept::default();
                let mut out = Vec::new();
                code::list_each_at_once(&project, filter, &kept, at_once, &mut |l| {
                    out.push(format!("{} {}", serde_json::to_string(&l).unwrap(), l.site_shown));
                    Ok(())
                })
                .unwrap();
                let said = kept.0.lock().unwrap().clone();
                (out, said)
            };
            let (whole, batched) = (listed(usize::MAX), listed(0));
            assert_eq!(whole, batched, "{filter:?}");
            assert!(!whole.0.is_empty() || filter.code.as_deref() == Some("nosuch"), "{filter:?}");
        }
        let (ann, _) = {
            let mut out = Vec::new();
            code::list_each_at_once(&project, &filters[0], &Silent, 0, &mut |l| {
                out.push((l.coding.code.clone(), l.orphaned, l.reason.clone()));
                Ok(())
            })
            .unwrap();
            (out, ())
        };
        assert_eq!(ann.len(), 3, "{ann:?}");
        assert!(
            ann.iter().any(|(_, o, r)| *o == Some(true) && r.as_deref().is_some_and(|r| r.contains("is gone"))),
            "{ann:?}"
        );
    }

    #[test]
    fn agreement_and_eval_are_the_same_over_notes_read_at_once_or_a_batch_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let write = |rel: &str, text: &str| put(dir.path(), rel, text);
        // Notes of 300 KB: at least 1 MB a batch, so that they come in several.
        write("fieldnotes.toml", "name = \"t\"\ncoder = \"hb\"\n\n[index]\nbatch_mb = 1\n");
        write("codebook.toml", TRUST_AND_MONEY);
        let filler = "The minutes were read and agreed without comment.\n\n".repeat(6_000);
        let mut coded = Vec::new();
        for i in 0..5 {
            let site = if i % 2 == 0 { "Fife" } else { "Dundee" };
            let path = format!("notes/{}/n{i}.md", site.to_lowercase());
            write(
                &path,
                &format!("---\nsite: {site}\n---\nWe built trust slowly.\n\nThen the budget, and money.\n\n{filler}"),
            );
            coded.push(path);
        }
        write("notes/fife/x.md", "---\nsite: Fife\n---\nTrust and money.\n");
        let project = fieldnotes_corpus::Project::open(dir.path()).unwrap();
        let quote = |q: &str| code::Span::Quote(q.into());
        let mut codings = Vec::new();
        for (i, path) in coded.iter().enumerate() {
            codings.push((format!("{path}#1"), "trust", "hb", "trust"));
            codings.push((format!("{path}#2"), "money", if i % 2 == 0 { "hb" } else { "ann" }, "money"));
            codings.push((format!("{path}#1"), if i == 1 { "money" } else { "trust" }, "ann", "trust"));
            codings.push((format!("{path}#3"), "trust", "ann", "minutes"));
        }
        codings.push(("notes/fife/x.md#1".into(), "money", "hb", "money"));
        codings.push(("notes/fife/x.md#1".into(), "trust", "ann", "Trust"));
        for (passage, code, coder, q) in &codings {
            let s = Study::load_note(project.clone(), passage, &Silent).unwrap();
            s.add_coding(passage, code, coder, &quote(q), None, &Silent).unwrap();
        }
        // One coding loses its words, a shared note is gone.
        write(
            "notes/fife/n0.md",
            &format!("---\nsite: Fife\n---\nWe built it slowly.\n\nThen the budget, and money.\n\n{filler}"),
        );
        std::fs::remove_file(dir.path().join("notes/fife/x.md")).unwrap();
        let coders = vec!["ann".to_string(), "hb".to_string()];
        let shared = study::shared_notes(&project, &coders).unwrap().unwrap();
        assert_eq!(shared.len(), 6, "{shared:?}");
        let request = |unit, site: Option<&str>, exclude_uncoded| agree::Request {
            coders: coders.clone(),
            code: None,
            site: site.map(str::to_string),
            unit,
            include_suggested: false,
            exclude_uncoded,
            bootstrap: 50,
            seed: 7,
            texts: true,
        };
        let shown = |r: anyhow::Result<agree::Agreement>, kept: Kept| match r {
            Ok(a) => format!(
                "{}\n{}\n{:?}",
                serde_json::to_string(&a).unwrap(),
                serde_json::to_string(&a.disagreements()).unwrap(),
                kept.0.lock().unwrap()
            ),
            Err(e) => format!("error: {e}"),
        };
        for req in [
            request(agree::Unit::Passage, None, false),
            request(agree::Unit::Passage, None, true),
            request(agree::Unit::Document, None, false),
            request(agree::Unit::Passage, Some("dundee"), false),
            request(agree::Unit::Passage, Some("Perth"), false),
        ] {
            let kept = Kept::default();
            let study = Study::load_notes(project.clone(), &shared, &kept).unwrap();
            let at_once = shown(agree::Agreement::of(&study, &req, &kept), kept);
            let kept = Kept::default();
            let batched = shown(agree::Agreement::in_batches(&project, &shared, &req, &kept), kept);
            assert_eq!(at_once, batched, "{req:?}");
            if req.site.as_deref() != Some("Perth") {
                assert!(at_once.contains("orphan"), "{at_once}");
            }
            if req.unit == agree::Unit::Passage && req.site.is_none() {
                assert!(at_once.contains(r#""text":"The minutes were read"#), "{at_once}");
            }
        }
        // `code eval` too, a machine coder's (hb's codings made suggestions of the rules) and
        // people's.
        let hb = std::fs::read_to_string(dir.path().join("codings/hb.jsonl")).unwrap();
        let rules: String = hb
            .lines()
            .filter(|l| l.contains(r#""op":"add""#))
            .map(|l| {
                let l = l.replace(r#""coder":"hb""#, r#""coder":"rules""#).replace(r#""id":""#, r#""id":"r"#);
                let l = l.replace(r#""origin":"manual""#, r#""origin":"rule""#);
                format!("{}\n", l.replace(r#""status":"accepted""#, r#""status":"suggested""#))
            })
            .collect();
        assert!(rules.contains(r#""origin":"rule""#) && rules.contains(r#""status":"suggested""#), "{rules}");
        write("codings/rules.jsonl", &rules);
        for (coder, against) in [("hb", "ann"), ("ann", "hb"), ("rules", "ann"), ("rules", "hb"), ("hb", "rules")] {
            let judged = study::shared_notes(&project, &[against.to_string()]).unwrap().unwrap();
            let study = Study::load_notes(project.clone(), &judged, &Silent).unwrap();
            let shown = |r: anyhow::Result<code::Eval>| match r {
                Ok(e) => format!(
                    "{} {} {} {} {:?}",
                    serde_json::to_string(&e).unwrap(),
                    e.notes,
                    e.not_coded,
                    e.both,
                    e.not_in_codebook
                ),
                Err(e) => format!("error: {e}"),
            };
            let at_once = shown(code::Eval::of(&study, coder, against));
            let batched = shown(code::Eval::in_batches(&project, &judged, coder, against, &Silent));
            assert_eq!(at_once, batched, "{coder} against {against}");
            assert!(at_once.contains("tp") || at_once.contains("error"), "{at_once}");
        }
    }
}
