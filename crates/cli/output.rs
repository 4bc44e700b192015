//! The one place that writes to the terminal: results to stdout, messages to stderr,
//! progress bars, colour and plain-text tables.

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Buffered standard output. Write errors (a closed pipe) surface as `io::Error`s.
pub fn stdout() -> BufWriter<io::StdoutLock<'static>> {
    BufWriter::with_capacity(64 * 1024, io::stdout().lock())
}

fn paint(s: &str, code: &str, color: bool) -> String {
    if color { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
}

/// Bold text.
pub fn bold(s: &str, color: bool) -> String {
    paint(s, "1", color)
}

/// Dim text.
pub fn dim(s: &str, color: bool) -> String {
    paint(s, "2", color)
}

/// Highlighted (matched) text.
pub fn hl(s: &str, color: bool) -> String {
    if color { paint(s, "1;31", true) } else { format!("[{s}]") }
}

/// Text with byte ranges highlighted.
pub fn highlight(text: &str, ranges: &[(usize, usize)], color: bool) -> String {
    let mut out = String::with_capacity(text.len() + ranges.len() * 12);
    let mut last = 0;
    for &(s, e) in ranges {
        if s < last || e > text.len() || !text.is_char_boundary(s) || !text.is_char_boundary(e) {
            continue;
        }
        out.push_str(&text[last..s]);
        out.push_str(&hl(&text[s..e], color));
        last = e;
    }
    out.push_str(&text[last..]);
    out
}

/// Prints an error with its causes and a hint line where the message holds one.
pub fn error(err: &anyhow::Error, color: bool) {
    let color = color && io::stderr().is_terminal();
    let mut e = io::stderr().lock();
    let _ = writeln!(e, "{} {err}", paint("error:", "1;31", color));
    for cause in causes(err) {
        let _ = writeln!(e, "  {} {cause}", paint("caused by:", "1", color));
    }
}

/// The causes of `err` worth a line: not one the line before already says in full (an error
/// that names its file and quotes its cause, `cannot access `x`: File exists`, has that cause
/// as its source too).
fn causes(err: &anyhow::Error) -> Vec<String> {
    let mut said = err.to_string();
    let mut out = Vec::new();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !said.contains(&text) {
            out.push(text.clone());
        }
        said = text;
    }
    out
}

/// A warning on stderr (shown even with `--quiet`: warnings are about data).
pub fn warn(msg: &str) {
    let color = io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let _ = writeln!(io::stderr().lock(), "{} {msg}", paint("warning:", "1;33", color));
}

/// A progress or summary message on stderr, unless quiet.
pub fn info(quiet: bool, msg: &str) {
    if !quiet {
        let _ = writeln!(io::stderr().lock(), "{msg}");
    }
}

/// A progress bar on stderr, hidden when stderr is not a terminal or with `--quiet`.
pub fn progress(len: u64, what: &str, quiet: bool) -> ProgressBar {
    if quiet || !io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{msg:>12} [{bar:30}] {human_pos}/{human_len} {per_sec} eta {eta}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    pb.set_style(style);
    pb.set_message(what.to_string());
    pb
}

/// Column alignment.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Left.
    Left,
    /// Right (numbers).
    Right,
}

fn width(s: &str) -> usize {
    // ANSI escapes do not take room.
    let mut w = 0;
    let mut in_esc = false;
    for c in s.chars() {
        match (in_esc, c) {
            (false, '\x1b') => in_esc = true,
            (true, 'm') => in_esc = false,
            (true, _) => {}
            _ => w += 1,
        }
    }
    w
}

/// Formats rows as an aligned plain-text table with a rule under the header.
pub fn table(header: &[String], rows: &[Vec<String>], align: &[Align]) -> String {
    let n = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(n) {
            widths[i] = widths[i].max(width(c));
        }
    }
    let fmt_row = |cells: &[String]| -> String {
        let mut line = String::new();
        for (i, c) in cells.iter().enumerate().take(n) {
            let pad = widths[i].saturating_sub(width(c));
            let a = align.get(i).copied().unwrap_or(Align::Left);
            if i > 0 {
                line.push_str("  ");
            }
            if a == Align::Right {
                line.push_str(&" ".repeat(pad));
                line.push_str(c);
            } else {
                line.push_str(c);
                if i + 1 < n {
                    line.push_str(&" ".repeat(pad));
                }
            }
        }
        line.trim_end().to_string()
    };
    let mut out = fmt_row(header);
    out.push('\n');
    let total: usize = widths.iter().sum::<usize>() + 2 * n.saturating_sub(1);
    out.push_str(&"-".repeat(total));
    out.push('\n');
    for r in rows {
        out.push_str(&fmt_row(r));
        out.push('\n');
    }
    out
}

/// Writes CSV rows with proper quoting.
pub fn write_csv<W: Write>(w: W, header: &[String], rows: &[Vec<String>]) -> anyhow::Result<()> {
    let mut wr = csv::Writer::from_writer(w);
    wr.write_record(header)?;
    for r in rows {
        wr.write_record(r)?;
    }
    wr.flush()?;
    Ok(())
}

pub use fieldnotes_study::{clip, count};

/// `v` as pretty JSON and a newline, every key in alphabetical order: as the outputs of the
/// results that moved into the library had them when they were built with `json!` (typed
/// results go through `serde_json::Value`, whose maps sort their keys).
pub fn json_string(v: &(impl serde::Serialize + ?Sized)) -> anyhow::Result<String> {
    Ok(serde_json::to_string_pretty(&serde_json::to_value(v)?)? + "\n")
}

/// Writes [`json_string`] of `v`.
pub fn write_json(out: &mut impl Write, v: &(impl serde::Serialize + ?Sized)) -> anyhow::Result<()> {
    out.write_all(json_string(v)?.as_bytes())?;
    Ok(())
}

/// Writes `v` as one line of JSON, keys in alphabetical order ([`json_string`]).
pub fn write_json_line(out: &mut impl Write, v: &(impl serde::Serialize + ?Sized)) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, &serde_json::to_value(v)?)?;
    writeln!(out)?;
    Ok(())
}

/// An error when `path`, where a report or an export is to be written, is one of the project's
/// own files: a note, a coder's ledger, the codebook, the settings or the derived state. A slip
/// of `-o` or of tab completion (`export qdpx codings/hb.jsonl`) replaced them whole.
pub fn check_output(g: &crate::Globals, path: &std::path::Path) -> anyhow::Result<()> {
    let Ok(project) = g.project() else { return Ok(()) };
    match project_file(&project, path) {
        Some(what) => anyhow::bail!(
            "`{}` is {what}: a report or export is not written over it (hint: name a file outside `codings/` and `.fieldnotes/`, and not a note, the codebook or `fieldnotes.toml`)",
            path.display()
        ),
        None => Ok(()),
    }
}

/// What `path` is to the project, if it is one of its own files.
fn project_file(project: &fieldnotes_corpus::Project, path: &std::path::Path) -> Option<&'static str> {
    let abs = if path.is_absolute() { path.to_path_buf() } else { std::env::current_dir().ok()?.join(path) };
    let target = resolved(&abs)?;
    let root = project.root().canonicalize().ok()?;
    let rel = target.strip_prefix(&root).ok()?.to_string_lossy().replace('\\', "/");
    let codebook = project.codebook_path().canonicalize().ok();
    if rel == fieldnotes_corpus::CONFIG_FILE {
        Some("the project's settings")
    } else if codebook.as_ref() == Some(&target) {
        Some("the project's codebook")
    } else if rel.starts_with(&format!("{}/", fieldnotes_coding::ledger::CODINGS_DIR)) {
        Some("in the project's ledgers of codings")
    } else if rel.starts_with(&format!("{}/", fieldnotes_corpus::DERIVED_DIR)) {
        Some("in the project's derived state")
    } else if project.note_file(&rel).is_some() {
        Some("one of the project's notes")
    } else {
        None
    }
}

/// `abs` as the file it names once written: its folder resolved (links followed) where it
/// exists; where it does not yet, the path taken as written (`x/..` is where `x` would be made).
fn resolved(abs: &Path) -> Option<std::path::PathBuf> {
    if let Some(dir) = abs.parent().and_then(|d| d.canonicalize().ok()) {
        return Some(dir.join(abs.file_name()?));
    }
    let mut lexical = std::path::PathBuf::new();
    for part in abs.components() {
        match part {
            std::path::Component::ParentDir => {
                lexical.pop();
            }
            std::path::Component::CurDir => {}
            other => lexical.push(other),
        }
    }
    // The nearest folder that exists, resolved, and the rest under it.
    let mut base = lexical.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(dir) = base.canonicalize() {
            return Some(rest.iter().rev().fold(dir, |p, part| p.join(part)));
        }
        rest.push(base.file_name()?);
        base = base.parent()?;
    }
}

/// [`crate::init::write_atomic`] of a report or export, refused over the project's own files
/// ([`check_output`]).
pub fn write_output(g: &crate::Globals, path: &std::path::Path, content: &[u8]) -> anyhow::Result<()> {
    check_output(g, path)?;
    crate::init::write_atomic(path, content)
}
