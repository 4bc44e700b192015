//! `fieldnotes import ...`: transcripts, survey spreadsheets and folders of notes.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use fieldnotes_study::import::{self, Imported};

use crate::Globals;
use crate::output;

/// `fieldnotes import` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Transcripts (WebVTT, SRT, DOCX, text) as notes with one passage per speaker turn.
    Transcript(TranscriptArgs),
    /// A survey spreadsheet (CSV or XLSX): one note per respondent, codes into a coder's ledger.
    Survey(SurveyArgs),
    /// A folder of Markdown or text notes, with attributes from a CSV keyed by file name.
    Notes(NotesArgs),
    /// QMSum meeting transcripts (JSON): turns as passages, annotated topics as codings.
    Qmsum(QmsumArgs),
    /// A REFI-QDA codebook (.qdc): merge its new codes into the codebook, or replace it.
    Qdc {
        /// The .qdc file.
        file: PathBuf,
        /// Replace the codebook instead of adding the new codes.
        #[arg(long)]
        replace: bool,
        /// Show the changes; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// A REFI-QDA project (.qdpx from NVivo, ATLAS.ti, MAXQDA, QualCoder...) as a new project.
    Qdpx {
        /// The .qdpx file.
        file: PathBuf,
        /// The new project's folder (default: the file's name).
        dir: Option<PathBuf>,
        /// Read the file and say what the project would hold, and what would be left out,
        /// without writing anything.
        #[arg(long)]
        dry_run: bool,
    },
}

/// Arguments of `fieldnotes import qmsum`.
#[derive(clap::Args, Debug)]
pub struct QmsumArgs {
    /// The JSON files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The site (e.g. the committee) of these meetings.
    #[arg(long)]
    site: String,
    /// The coder under which the topic annotations are kept.
    #[arg(long, default_value = "qmsum")]
    coder: String,
    #[command(flatten)]
    common: Common,
}

/// Options every import shares.
#[derive(clap::Args, Debug)]
pub struct Common {
    /// Show what would be written; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Overwrite notes that exist with different content.
    #[arg(long)]
    force: bool,
}

/// Arguments of `fieldnotes import transcript`.
#[derive(clap::Args, Debug)]
pub struct TranscriptArgs {
    /// The transcript files.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The site of these transcripts.
    #[arg(long)]
    site: String,
    /// Their date (YYYY-MM-DD).
    #[arg(long)]
    date: Option<String>,
    /// Their kind.
    #[arg(long, default_value = "interview")]
    kind: String,
    #[command(flatten)]
    common: Common,
}

/// Arguments of `fieldnotes import survey`.
#[derive(clap::Args, Debug)]
pub struct SurveyArgs {
    /// The CSV or XLSX file.
    file: PathBuf,
    /// The respondent id column.
    #[arg(long)]
    id: String,
    /// Open-answer columns.
    #[arg(long, required = true, num_args = 1..)]
    text: Vec<String>,
    /// Attribute columns.
    #[arg(long, num_args = 1..)]
    attr: Vec<String>,
    /// Code columns: several codes in a cell separated by `;`, `,`, `|` or line breaks, each a
    /// code or a `parent->child` path, matched to the codebook's codes by place and by id or
    /// name (ignoring case). As many as `--text` columns: the i-th codes the i-th answer;
    /// otherwise each codes every answer of its row. A re-import removes the codings a
    /// corrected sheet no longer gives.
    #[arg(long, num_args = 1.., requires = "coder")]
    codes: Vec<String>,
    /// The characters that separate codes in a code cell, instead of `;,|` (line breaks always
    /// do): `--code-sep ';'` keeps `time, context` one code.
    #[arg(long, value_name = "CHARS")]
    code_sep: Option<String>,
    /// The coder whose codes the code columns hold.
    #[arg(long)]
    coder: Option<String>,
    /// One note per answer instead of per respondent.
    #[arg(long)]
    per_answer: bool,
    /// The site of every respondent (otherwise a `site` attribute column, if any).
    #[arg(long)]
    site: Option<String>,
    /// The kind of the notes.
    #[arg(long, default_value = "survey")]
    kind: String,
    /// The survey's name: notes go to `notes/<name>/` (default: the file's name). Give several
    /// coders' sheets of the same answers the same name, so they code the same notes.
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    common: Common,
}

/// Arguments of `fieldnotes import notes`.
#[derive(clap::Args, Debug)]
pub struct NotesArgs {
    /// The folder of notes.
    dir: PathBuf,
    /// A CSV of attributes with a `file` column (file name or path relative to DIR).
    #[arg(long)]
    attrs: Option<PathBuf>,
    #[command(flatten)]
    common: Common,
}

/// Runs a `fieldnotes import` subcommand.
pub fn run(g: &Globals, c: Command) -> Result<ExitCode> {
    // What a dry run would add to the codebook is the command's output, on stdout.
    let mut out = output::stdout();
    let mut listed = |line: &str| {
        // Flushed at once, so that it stands among the notices on stderr where it was made.
        let _ = writeln!(out, "{line}").and_then(|()| out.flush());
    };
    let done: Imported = match c {
        Command::Transcript(a) => {
            let t = import::Transcripts {
                files: a.files,
                site: a.site,
                date: a.date,
                kind: a.kind,
                common: a.common.into(),
            };
            import::transcripts(&g.project()?, &t, g)?
        }
        Command::Survey(a) => {
            let s = import::Survey {
                file: a.file,
                id: a.id,
                text: a.text,
                attr: a.attr,
                codes: a.codes,
                code_sep: a.code_sep,
                coder: a.coder,
                per_answer: a.per_answer,
                site: a.site,
                kind: a.kind,
                name: a.name,
                common: a.common.into(),
            };
            import::survey(&g.project()?, &s, g, &mut listed)?
        }
        Command::Notes(a) => {
            let n = import::Notes { dir: a.dir, attrs: a.attrs, common: a.common.into() };
            import::notes(&g.project()?, &n, g)?
        }
        Command::Qmsum(a) => {
            let q = import::Qmsum { files: a.files, site: a.site, coder: a.coder, common: a.common.into() };
            import::qmsum(&g.project()?, &q, g, &mut listed)?
        }
        Command::Qdc { file, replace, dry_run } => return crate::refi::import_qdc(g, &file, replace, dry_run),
        Command::Qdpx { file, dir, dry_run } => return crate::refi::import_qdpx(g, &file, dir, dry_run),
    };
    out.flush()?;
    Ok(if done.failed > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

impl From<Common> for import::Common {
    fn from(c: Common) -> import::Common {
        import::Common { dry_run: c.dry_run, force: c.force }
    }
}
