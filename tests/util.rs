//! A temporary project and a way to run the binary in it.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary project folder.
pub struct TestProject {
    pub dir: tempfile::TempDir,
}

impl TestProject {
    /// An empty project with a settings file and the default codebook.
    pub fn new() -> TestProject {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("fieldnotes.toml"), "name = \"test\"\ncoder = \"hb\"\n").unwrap();
        fs::copy(repo().join("data/codebooks/wws-considerations.toml"), dir.path().join("codebook.toml")).unwrap();
        TestProject { dir }
    }

    /// A project read in batches of 1 MB, with three notes of about 0.6 MB (one per site,
    /// `notes/<site>/n<i>.md`), so that the first batch takes two notes and the second the
    /// third; each note ends in the paragraph `last(i)`.
    pub fn in_batches(last: impl Fn(usize) -> String) -> TestProject {
        let p = TestProject::new();
        p.write("fieldnotes.toml", "name = \"test\"\ncoder = \"hb\"\n[index]\nbatch_mb = 1\n");
        let filler = "The board met and talked about the budget at length. ".repeat(11_000);
        for (i, site) in ["aberdeenshire", "fife", "glasgow"].iter().enumerate() {
            p.write(&format!("notes/{site}/n{i}.md"), format!("---\nsite: {site}\n---\n{filler}\n\n{}\n", last(i)));
        }
        p
    }

    /// A copy of the sample study.
    pub fn sample() -> TestProject {
        let p = TestProject::new();
        copy_dir(&repo().join("data/sample/notes"), &p.path().join("notes"));
        p
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let p = self.path().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path().join(rel)).unwrap()
    }

    /// The binary, run in the project.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_fieldnotes"));
        c.current_dir(self.path()).args(args).env_remove("FIELDNOTES_CODER").env("NO_COLOR", "1");
        c
    }

    /// Runs and returns the output, panicking with stderr if the exit status is not `code`.
    pub fn run_expect(&self, args: &[&str], code: i32) -> Output {
        let out = self.cmd(args).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(code),
            "fieldnotes {args:?}\nstdout:\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Runs, expects success, returns stdout.
    pub fn run(&self, args: &[&str]) -> String {
        String::from_utf8(self.run_expect(args, 0).stdout).unwrap()
    }

    /// Runs, expects success, parses stdout as JSON.
    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let s = self.run(args);
        serde_json::from_str(&s).unwrap_or_else(|e| panic!("not JSON ({e}):\n{s}"))
    }

    /// The id printed for a passage given by position (`notes/a.md#2` gives `notes/a.md#k…`).
    pub fn key_id(&self, id: &str) -> String {
        let v = self.json(&["show", id, "--json", "-C", "0"]);
        v["passages"][0]["id"].as_str().unwrap().to_string()
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for e in fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            fs::copy(e.path(), dst).unwrap();
        }
    }
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}
