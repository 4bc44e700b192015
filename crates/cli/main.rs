//! `fieldnotes`: search, code and tabulate qualitative fieldnotes from the command line.

mod agree;
mod code;
mod codebook;
mod demo;
mod import;
mod index;
mod init;
mod notes;
mod output;
mod redact;
mod refi;
mod report;
mod search;
mod serve;
mod show;
mod watch;

// The study (notes, codings, index and report store kept in step) is the library's: the
// command line's modules reach it as `crate::study` and `crate::store`.
use fieldnotes_study::{store, study};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay`, the sixteenth of mimalloc's options (`mi_option_e` in its
/// `mimalloc.h`, version 2), which the `extended` API does not name.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Memory freed is given back to the system a second after, not mimalloc's 10 ms. A command
/// that works a batch of notes at a time frees each batch and takes as much again for the next:
/// with 10 ms between, the pages went back between batches and each batch faulted them in anew,
/// the system zeroing each (`code auto` at 100 MB of notes: 32,000-43,000 page faults, 1,070 with
/// a second, and 1.92-2.04 s -> 1.57-1.75 s in 5 rounds in turns; BENCHMARKS.md, run 28). A
/// long-running `serve` or `watch` still gives back what it freed, a second later. The
/// environment's `MIMALLOC_PURGE_DELAY`, when set, is left to mimalloc.
#[allow(unsafe_code)]
fn tune_allocator() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: `mi_option_set` takes two integers and may be called at any time; 15 is
        // `mi_option_purge_delay` in the mimalloc version the `v2` feature builds.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 1000) }
    }
}

/// Search, code and tabulate qualitative fieldnotes.
///
/// A project is a folder of notes (Markdown or text with front matter), a `codebook.toml`
/// and one codings ledger per coder in `codings/`. Everything else is derived.
#[derive(Parser, Debug)]
#[command(name = "fieldnotes", version, propagate_version = true, max_term_width = 100)]
struct Cli {
    /// The project folder (default: the nearest folder upwards with a `fieldnotes.toml`).
    #[arg(long, global = true, value_name = "DIR", env = "FIELDNOTES_PROJECT")]
    project: Option<PathBuf>,
    /// Print only results and errors: no progress bars or summaries.
    #[arg(long, short, global = true)]
    quiet: bool,
    /// When to colour output.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    color: ColorChoice,
    #[command(subcommand)]
    command: Command,
}

/// When to use colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum ColorChoice {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Make a new project skeleton.
    Init(init::Args),
    /// Summarise the notes: documents and passages per site and kind.
    Notes(notes::Args),
    /// Build or update the search index (incremental).
    Index(index::Args),
    /// Search the passages.
    Search(search::Args),
    /// Show a passage with its neighbours, attributes and codes.
    Show(show::Args),
    /// Check or show the codebook.
    #[command(subcommand)]
    Codebook(codebook::Command),
    /// Code passages: by rules, by hand, in review.
    #[command(subcommand)]
    Code(code::Command),
    /// Inter-coder agreement per code, and the passages where coders differ.
    Agree(agree::Args),
    /// Tables and figures for papers.
    #[command(subcommand)]
    Report(report::Command),
    /// Bring in transcripts, survey spreadsheets and folders of notes.
    #[command(subcommand)]
    Import(import::Command),
    /// Export the study for other tools.
    #[command(subcommand)]
    Export(report::ExportCommand),
    /// Read and code in the browser: a workbench on 127.0.0.1, until interrupted.
    Serve(serve::Args),
    /// Watch the project's folders, so that commands on a large study know without walking every
    /// note that none changed (Linux), until interrupted.
    Watch(watch::Args),
    /// Write a pseudonymised copy of the study, or check that no name, email or phone is left.
    Redact(redact::Args),
    /// Run the whole pipeline on the sample study in `data/sample`.
    Demo(demo::Args),
}

/// What every command gets: the global options.
pub struct Globals {
    project: Option<PathBuf>,
    quiet: bool,
    color: bool,
}

impl Globals {
    /// The project: `--project`, or the nearest one upwards from the current folder.
    pub fn project(&self) -> anyhow::Result<fieldnotes_corpus::Project> {
        use anyhow::Context;
        match &self.project {
            Some(dir) => fieldnotes_corpus::Project::open(dir)
                .with_context(|| format!("cannot open project `{}`", dir.display())),
            None => {
                let cwd = std::env::current_dir().context("cannot read the current folder")?;
                Ok(fieldnotes_corpus::Project::discover(&cwd)?)
            }
        }
    }
}

/// The command line tells what a study has to say on stderr: warnings always, notices and
/// progress bars unless `--quiet`.
impl fieldnotes_study::Tell for Globals {
    fn warn(&self, message: &str) {
        output::warn(message);
    }

    fn info(&self, message: &str) {
        output::info(self.quiet, message);
    }

    fn progress(&self, total: u64, what: &str) -> indicatif::ProgressBar {
        output::progress(total, what, self.quiet)
    }
}

fn main() -> ExitCode {
    tune_allocator();
    let cli = Cli::parse();
    let color = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            use std::io::IsTerminal;
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stdout().is_terminal()
        }
    };
    let g = Globals { project: cli.project, quiet: cli.quiet, color };
    let result = match cli.command {
        Command::Init(a) => init::run(&g, a),
        Command::Notes(a) => notes::run(&g, a),
        Command::Index(a) => index::run(&g, a),
        Command::Search(a) => search::run(&g, a),
        Command::Show(a) => show::run(&g, a),
        Command::Codebook(c) => codebook::run(&g, c),
        Command::Code(c) => code::run(&g, c),
        Command::Agree(a) => agree::run(&g, a),
        Command::Report(c) => report::run(&g, c),
        Command::Import(c) => import::run(&g, c),
        Command::Export(c) => report::run_export(&g, c),
        Command::Redact(a) => redact::run(&g, a),
        Command::Serve(a) => serve::run(&g, a),
        Command::Watch(a) => watch::run(&g, a),
        Command::Demo(a) => demo::run(&g, a),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            output::error(&err, g.color);
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    // Written through JSON or CSV, the system's error is inside theirs (which do not all give
    // it as their source).
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == BrokenPipe)
            || e.downcast_ref::<serde_json::Error>().is_some_and(|j| j.io_error_kind() == Some(BrokenPipe))
            || e.downcast_ref::<csv::Error>()
                .is_some_and(|c| matches!(c.kind(), csv::ErrorKind::Io(io) if io.kind() == BrokenPipe))
    })
}
