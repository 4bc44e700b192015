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
    let widths = widths_of(header, rows);
    let mut out = table_head(header, &widths, align);
    for r in rows {
        out.push_str(&table_row(r, &widths, align));
        out.push('\n');
    }
    out
}

/// Each column's width: its widest cell, the header's included.
fn widths_of(header: &[String], rows: &[Vec<String>]) -> Vec<usize> {
    let n = header.len();
    let mut widths: Vec<usize> = header.iter().map(|h| width(h)).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate().take(n) {
            widths[i] = widths[i].max(width(c));
        }
    }
    widths
}

/// A row of a table in columns of `widths`, without its newline.
fn table_row(cells: &[String], widths: &[usize], align: &[Align]) -> String {
    let n = widths.len();
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
}

/// A table's header and the rule under it, each with its newline.
fn table_head(header: &[String], widths: &[usize], align: &[Align]) -> String {
    let mut out = table_row(header, widths, align);
    out.push('\n');
    let total: usize = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
    out.push_str(&"-".repeat(total));
    out.push('\n');
    out
}

/// Rows a [`TableWriter`] holds to size its columns.
pub const TABLE_HOLD: usize = 10_000;

/// A table written as its rows come: the first [`TABLE_HOLD`] rows are held to size the columns
/// (a table of no more rows is [`table`]'s, byte for byte); past them each row is written at once
/// in those widths, a wider cell pushing the rest of its row right. A list as long as the study
/// (`code list` of every suggestion: 4.3 million rows at 2 GB of notes) is written in the memory
/// of those rows.
pub struct TableWriter<'a, W: Write> {
    out: W,
    header: Vec<String>,
    align: &'a [Align],
    held: Vec<Vec<String>>,
    /// Set once the held rows are written.
    widths: Option<Vec<usize>>,
    rows: usize,
}

impl<'a, W: Write> TableWriter<'a, W> {
    /// A table of columns `header`, aligned as `align` says (left where it says nothing).
    pub fn new(out: W, header: Vec<String>, align: &'a [Align]) -> Self {
        TableWriter { out, header, align, held: Vec::new(), widths: None, rows: 0 }
    }

    /// Adds a row: held, or written.
    pub fn row(&mut self, cells: Vec<String>) -> io::Result<()> {
        self.rows += 1;
        match &self.widths {
            Some(w) => writeln!(self.out, "{}", table_row(&cells, w, self.align)),
            None => {
                self.held.push(cells);
                if self.held.len() > TABLE_HOLD { self.write_held() } else { Ok(()) }
            }
        }
    }

    fn write_held(&mut self) -> io::Result<()> {
        let widths = widths_of(&self.header, &self.held);
        self.out.write_all(table_head(&self.header, &widths, self.align).as_bytes())?;
        for r in std::mem::take(&mut self.held) {
            writeln!(self.out, "{}", table_row(&r, &widths, self.align))?;
        }
        self.widths = Some(widths);
        Ok(())
    }

    /// Writes what is held and flushes; returns the number of rows.
    pub fn finish(mut self) -> io::Result<usize> {
        if self.widths.is_none() {
            self.write_held()?;
        }
        self.out.flush()?;
        Ok(self.rows)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(n: usize) -> Vec<Vec<String>> {
        (0..n).map(|i| vec![format!("c{i}"), "x".repeat(i % 7), i.to_string()]).collect()
    }

    fn written(header: &[String], rows: &[Vec<String>], align: &[Align]) -> (String, usize) {
        let mut out = Vec::new();
        let mut t = TableWriter::new(&mut out, header.to_vec(), align);
        for r in rows {
            t.row(r.clone()).unwrap();
        }
        let n = t.finish().unwrap();
        (String::from_utf8(out).unwrap(), n)
    }

    #[test]
    fn a_table_written_as_its_rows_come_is_the_whole_tables_up_to_the_rows_it_holds() {
        let header: Vec<String> = ["id", "words", "n"].map(String::from).into();
        let align = [Align::Left, Align::Left, Align::Right];
        for n in [0, 1, 50, TABLE_HOLD] {
            let r = rows(n);
            assert_eq!(written(&header, &r, &align), (table(&header, &r, &align), n));
        }
        // Past them, the columns are those of the rows held, and every row is there, in order.
        let mut r = rows(TABLE_HOLD + 3);
        r[TABLE_HOLD + 1][1] = "a cell wider than any held".into();
        let (out, n) = written(&header, &r, &align);
        assert_eq!(n, TABLE_HOLD + 3);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), TABLE_HOLD + 5);
        let held = table(&header, &r[..TABLE_HOLD + 1], &align);
        assert!(out.starts_with(&held), "the held rows and the header as the whole table has them");
        assert_eq!(
            lines[TABLE_HOLD + 3],
            format!("c{}  a cell wider than any held  {}", TABLE_HOLD + 1, TABLE_HOLD + 1)
        );
        assert_eq!(
            lines[TABLE_HOLD + 4],
            format!("c{}  {:6}  {}", TABLE_HOLD + 2, "x".repeat((TABLE_HOLD + 2) % 7), TABLE_HOLD + 2)
        );
    }
}
