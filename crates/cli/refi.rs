//! REFI-QDA exchange: `export qdc|qdpx` and `import qdc|qdpx`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use fieldnotes_coding::Codebook;
use fieldnotes_coding::ledger::{Coding, Event, Ledger};

use crate::Globals;
use crate::init::{toml_string, write_atomic};
use crate::output;
use crate::study::Study;

/// A stable key for GUIDs: the project's name, or its folder's name.
fn project_key(project: &fieldnotes_corpus::Project) -> String {
    if !project.config.name.is_empty() {
        return project.config.name.clone();
    }
    project
        .root()
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().to_string()))
        .unwrap_or_else(|| "fieldnotes".into())
}

/// `fieldnotes export qdc FILE`.
pub fn export_qdc(g: &Globals, file: &Path) -> Result<ExitCode> {
    // The codebook alone: no note or ledger is read.
    let project = g.project()?;
    let book = crate::study::codebook(&project)?;
    let xml = fieldnotes_refi::export_qdc(&book, &project_key(&project));
    crate::output::write_output(g, file, xml.as_bytes())?;
    output::info(g.quiet, &format!("wrote {} codes to `{}`", book.codes.len(), file.display()));
    Ok(ExitCode::SUCCESS)
}

/// `fieldnotes export qdpx FILE`.
pub fn export_qdpx(g: &Globals, file: &Path, include_suggested: bool) -> Result<ExitCode> {
    crate::output::check_output(g, file)?;
    let study = Study::load(g.project()?, g)?;
    let book = study.codebook()?;
    let placement = study.placement();
    // Codings on the current text: moved ones at their new place and words, counting in the
    // note's current version; orphans cannot be exported.
    let codings: Vec<Coding> = placement
        .placed
        .iter()
        .map(|x| {
            let mut c = x.coding.clone();
            let d = &study.corpus.documents[x.doc];
            c.start = x.start;
            c.end = x.end;
            let now = x.text(&study.corpus);
            c.hash = fieldnotes_corpus::text_hash(now);
            if !c.text.is_empty() {
                c.text = now.to_string();
            }
            c.base = Some(d.hash.clone());
            c
        })
        .collect();
    let unread: std::collections::HashSet<&str> = study.corpus.skipped.iter().map(|s| s.path.as_str()).collect();
    let (in_unread, orphans): (Vec<_>, Vec<_>) =
        placement.orphans.iter().partition(|o| unread.contains(o.coding.doc.as_str()));
    for o in &orphans {
        output::warn(&format!(
            "coding {} ({}, {}) is orphaned ({}); not exported",
            o.coding.id, o.coding.code, o.coding.coder, o.reason
        ));
    }
    let key = project_key(&study.project);
    let input = fieldnotes_refi::ExportInput {
        name: &key,
        project_key: &key,
        corpus: &study.corpus,
        book: &book,
        codings: &codings,
        include_suggested,
    };
    let mut buf = std::io::Cursor::new(Vec::new());
    let summary = fieldnotes_refi::export_qdpx(&input, &mut buf)?;
    for w in &summary.warnings {
        output::warn(&format!("`{}`: {}", file.display(), w.message));
    }
    crate::output::write_output(g, file, buf.get_ref())?;
    let what = if summary.suggested > 0 {
        format!(
            "{} accepted, {} suggested and marked as such (user `<coder> (suggested, not reviewed)`)",
            summary.codings - summary.suggested,
            summary.suggested
        )
    } else {
        format!("accepted only; {} suggestion(s) not yet reviewed left out", summary.suggestions_left_out)
    };
    let mut left: Vec<String> = Vec::new();
    if !study.corpus.skipped.is_empty() {
        left.push(format!(
            "{} note(s) that could not be read, holding {} coding(s)",
            study.corpus.skipped.len(),
            in_unread.len()
        ));
    }
    if !orphans.is_empty() {
        left.push(format!("{} orphaned coding(s)", orphans.len()));
    }
    if summary.rejected > 0 {
        left.push(format!("{} rejected coding(s)", summary.rejected));
    }
    output::info(
        g.quiet,
        &format!(
            "wrote {} notes, {} codes and {} codings ({what}) to `{}`{}",
            study.corpus.documents.len(),
            book.codes.len(),
            summary.codings,
            file.display(),
            if left.is_empty() { String::new() } else { format!("; left out: {}", left.join(", ")) }
        ),
    );
    Ok(ExitCode::SUCCESS)
}

/// `fieldnotes import qdc FILE`: merge new codes into the codebook, or replace it.
pub fn import_qdc(g: &Globals, file: &Path, replace: bool, dry_run: bool) -> Result<ExitCode> {
    let project = g.project()?;
    let xml = fs::read_to_string(file).with_context(|| format!("cannot read `{}`", file.display()))?;
    let path = project.codebook_path();
    let current = if path.exists() { Codebook::load(&path)? } else { Codebook::default() };
    // Codes this project exported keep their ids and rules (matched by the GUIDs it gave them).
    let (incoming, warnings) = fieldnotes_refi::import_qdc_into(&xml, &current, &project_key(&project))
        .with_context(|| format!("`{}`", file.display()))?;
    for w in &warnings {
        output::warn(&format!("`{}`: {}", file.display(), w.message));
    }
    let mut out = output::stdout();
    use std::io::Write;
    if replace {
        for c in &current.codes {
            if incoming.code(&c.id).is_none() {
                writeln!(out, "- {} ({})", c.id, c.name)?;
            }
        }
        for c in &incoming.codes {
            let sign = if current.code(&c.id).is_some() { "~" } else { "+" };
            writeln!(out, "{sign} {} ({})", c.id, c.name)?;
        }
        out.flush()?;
        // Codings under codes the new codebook does not have would count in no table: said now,
        // before or as the codebook is replaced, not found later.
        let usage = crate::study::coding_table(&project, g)?.usage();
        let mut lost: Vec<(&String, &usize)> =
            usage.iter().filter(|(id, n)| **n > 0 && incoming.code(id).is_none()).collect();
        lost.sort();
        if !lost.is_empty() {
            output::warn(&format!(
                "{} coding(s) use code(s) the new codebook does not have ({}); no table or agreement will count them until the codes are back (`fieldnotes codebook check` lists them)",
                lost.iter().map(|(_, n)| **n).sum::<usize>(),
                lost.iter().map(|(id, n)| format!("`{id}`: {n}")).collect::<Vec<_>>().join(", ")
            ));
        }
        if !dry_run {
            write_atomic(&path, incoming.to_toml().as_bytes())?;
        }
    } else {
        // A code is already there when one stands at the same place with the same name.
        let new = fieldnotes_refi::new_codes(&current, &incoming);
        for c in &new {
            writeln!(out, "+ {} ({})", c.id, c.name)?;
        }
        out.flush()?;
        if !dry_run {
            // Appended, so the existing file keeps its comments and order.
            Codebook::append_codes(&path, &new)?;
        }
    }
    output::info(
        g.quiet,
        &format!(
            "{}{} codes read from `{}`",
            if dry_run { "dry run: " } else { "" },
            incoming.codes.len(),
            file.display()
        ),
    );
    Ok(ExitCode::SUCCESS)
}

/// `fieldnotes import qdpx FILE [DIR]`: a new project from a REFI-QDA project file.
pub fn import_qdpx(g: &Globals, file: &Path, dir: Option<PathBuf>, dry_run: bool) -> Result<ExitCode> {
    let bytes = fs::read(file).with_context(|| format!("cannot read `{}`", file.display()))?;
    let imported = fieldnotes_refi::import_qdpx(&bytes).with_context(|| format!("`{}`", file.display()))?;
    let dir = dir.unwrap_or_else(|| {
        PathBuf::from(file.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| "imported".into()))
    });
    if dir.exists() && fs::read_dir(&dir)?.next().is_some() {
        bail!(
            "`{}` exists and is not empty; give a new folder: `fieldnotes import qdpx {} NEW_DIR`",
            dir.display(),
            file.display()
        );
    }
    for w in &imported.warnings {
        output::warn(&format!("`{}`: {}", file.display(), w.message));
    }
    // What the project holds, said alike by a dry run and by the import.
    let holds = |codings: usize| {
        format!(
            "a project in `{}`: {} notes, {} codes, {codings} codings by {} coder(s)",
            dir.display(),
            imported.notes.len(),
            imported.book.codes.len(),
            imported.codings.len()
        )
    };
    if dry_run {
        let n: usize = imported.codings.values().map(Vec::len).sum();
        let per_coder: Vec<String> = imported.codings.iter().map(|(c, l)| format!("{c}: {}", l.len())).collect();
        output::info(
            g.quiet,
            &format!("dry run: would make {} ({}); nothing was written", holds(n), per_coder.join(", ")),
        );
        return Ok(ExitCode::SUCCESS);
    }
    let name = if imported.name.is_empty() { dir.display().to_string() } else { imported.name.clone() };
    write_atomic(&dir.join(fieldnotes_corpus::CONFIG_FILE), format!("name = {}\n", toml_string(&name)).as_bytes())?;
    write_atomic(&dir.join("codebook.toml"), imported.book.to_toml().as_bytes())?;
    // Each note's version is kept, and its codings count in it, so that they follow its edits.
    let project = fieldnotes_corpus::Project::open(&dir)?;
    let versions = fieldnotes_coding::Versions::new(&project.derived_dir());
    let mut version_of = std::collections::HashMap::new();
    for (rel, text) in &imported.notes {
        write_atomic(&dir.join(rel), text.as_bytes())?;
        let body = text.strip_prefix('\u{feff}').unwrap_or(text);
        let hash = fieldnotes_corpus::text_hash(body);
        versions.keep_text(rel, &hash, body)?;
        version_of.insert(rel.as_str(), hash);
    }
    let mut n = 0;
    for (coder, codings) in &imported.codings {
        let events: Vec<Event> = codings
            .iter()
            .cloned()
            .map(|mut c| {
                c.base = version_of.get(c.doc.as_str()).cloned();
                Event::Add(c)
            })
            .collect();
        n += events.len();
        Ledger::new(&dir, coder)?.append(&events)?;
    }
    output::info(
        g.quiet,
        &format!(
            "made {}{}",
            holds(n),
            match imported.counts.suggested {
                0 => String::new(),
                k => format!(
                    " ({k} of them suggestions not yet reviewed, as the export marked them: `fieldnotes code review` decides them)"
                ),
            }
        ),
    );
    Ok(ExitCode::SUCCESS)
}
