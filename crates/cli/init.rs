//! `fieldnotes init [DIR]`: a new project skeleton.

use std::fs;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::Globals;
use crate::output;

/// The default codebook shipped with fieldnotes: What Works Scotland's eight considerations.
pub const WWS_CODEBOOK: &str = include_str!("../../data/codebooks/wws-considerations.toml");

const STARTER_CODEBOOK: &str = r##"# The codebook: one [[code]] table per code. See the fieldnotes README for every key.
[codebook]
name = "My codebook"
version = "0.1.0"

[[code]]
id = "example"
name = "An example code"
description = "What counts as this code, and what does not."
colour = "#1b9e77"

[code.rules]
keywords = ["example phrase"]
"##;

/// Arguments of `fieldnotes init`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where to make the project (default: the current folder).
    dir: Option<PathBuf>,
    /// Start from a ready codebook: `wws` (the eight What Works Scotland considerations) or `starter`.
    #[arg(long, default_value = "starter", value_parser = ["wws", "starter"])]
    codebook: String,
    /// The project's name (default: the folder's name).
    #[arg(long)]
    name: Option<String>,
}

/// Runs `fieldnotes init`.
pub fn run(g: &Globals, a: Args) -> Result<ExitCode> {
    let dir = match a.dir {
        Some(d) => d,
        None => std::env::current_dir()?,
    };
    if dir.join(fieldnotes_corpus::CONFIG_FILE).exists() {
        bail!("`{}` already holds a `fieldnotes.toml`; nothing was changed", dir.display());
    }
    // Named after the folder, which need not exist yet (`init committee-study`).
    let name = a.name.unwrap_or_else(|| {
        dir.canonicalize()
            .or_else(|_| std::path::absolute(&dir))
            .ok()
            .and_then(|p| p.file_name().map(|n| n.to_string_lossy().to_string()))
            .unwrap_or_else(|| "study".into())
    });
    for sub in ["notes", "codings"] {
        fs::create_dir_all(dir.join(sub)).with_context(|| format!("cannot create `{}`", dir.join(sub).display()))?;
    }
    let config = format!(
        "# fieldnotes project settings; every key is optional.\nname = {}\nnotes = [\"notes/**/*.md\", \"notes/**/*.txt\"]\ncodebook = \"codebook.toml\"\n# coder = \"your-initials\"\n",
        toml_string(&name)
    );
    write_new(&dir.join(fieldnotes_corpus::CONFIG_FILE), &config)?;
    let book = if a.codebook == "wws" { WWS_CODEBOOK } else { STARTER_CODEBOOK };
    write_new(&dir.join("codebook.toml"), book)?;
    // What fieldnotes makes from the notes and ledgers stays out of git, in a `.gitignore` there
    // already too.
    ensure_line(&dir.join(".gitignore"), ".fieldnotes/", |l| {
        matches!(l, ".fieldnotes" | ".fieldnotes/" | "/.fieldnotes/")
    })?;
    // Ledgers are appended to, never edited: when two clones both appended, git keeps both sides'
    // lines (no conflict to resolve by hand), and the folds read a coding added twice once.
    let union = "codings/*.jsonl merge=union";
    ensure_line(&dir.join(".gitattributes"), union, |l| l == union)?;
    output::info(
        g.quiet,
        &format!(
            "Made a fieldnotes project in `{}`: put notes in `notes/`, codes in `codebook.toml`, then run `fieldnotes index`.",
            dir.display()
        ),
    );
    Ok(ExitCode::SUCCESS)
}

/// Makes sure the file at `path` has `line`: a new file of that line, or the line added at the
/// end of one that has none for which `has` (given each line trimmed) is true.
fn ensure_line(path: &std::path::Path, line: &str, has: impl Fn(&str) -> bool) -> Result<()> {
    match fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => write_new(path, &format!("{line}\n")),
        Ok(had) if !had.lines().any(|l| has(l.trim())) => {
            let sep = if had.is_empty() || had.ends_with('\n') { "" } else { "\n" };
            write_atomic(path, format!("{had}{sep}{line}\n").as_bytes())
        }
        _ => Ok(()),
    }
}

/// A TOML basic string ([`fieldnotes_corpus::frontmatter::toml_string`]).
pub use fieldnotes_corpus::frontmatter::toml_string;

/// Writes a file that must not exist yet, via a temporary file, fsynced and renamed.
pub fn write_new(path: &std::path::Path, content: &str) -> Result<()> {
    if path.exists() {
        bail!("`{}` already exists; nothing was overwritten", path.display());
    }
    write_atomic(path, content.as_bytes())
}

/// Writes a file atomically ([`fieldnotes_corpus::atomic`]: a temporary file beside it, fsynced,
/// then renamed over it; a new file the owner's only).
pub fn write_atomic(path: &std::path::Path, content: &[u8]) -> Result<()> {
    fieldnotes_corpus::atomic::write(path, content).with_context(|| format!("cannot write `{}`", path.display()))
}

/// [`write_atomic`] of what `write` writes, as it writes it (buffered): a large export need not
/// be held whole. The temporary file is removed if anything fails.
pub fn write_atomic_with(
    path: &std::path::Path,
    write: impl FnOnce(&mut dyn std::io::Write) -> Result<()>,
) -> Result<()> {
    let mut f = fieldnotes_corpus::atomic::AtomicFile::create(path)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, f.file());
    write(&mut w)?;
    std::io::Write::flush(&mut w).with_context(|| format!("cannot write `{}`", path.display()))?;
    drop(w);
    f.commit().with_context(|| format!("cannot write `{}`", path.display()))
}
