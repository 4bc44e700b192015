//! `fieldnotes demo`: the whole pipeline on the sample study.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use fieldnotes_coding::units::Selection;
use fieldnotes_index::SearchOptions;
use fieldnotes_report::{Measure, UnitKind};

use crate::output;
use crate::study::Study;
use crate::{Globals, code, notes, report};

/// Arguments of `fieldnotes demo`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The sample study to copy (default: `data/sample` here, or in the source tree).
    #[arg(long)]
    sample: Option<PathBuf>,
    /// Where to run the demo (a copy of the sample; default: `target/demo`, else a temporary folder).
    #[arg(long)]
    out: Option<PathBuf>,
}

fn default_sample() -> Option<PathBuf> {
    let here = PathBuf::from("data/sample");
    if here.join("notes").is_dir() {
        return Some(here);
    }
    let built = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/sample");
    built.join("notes").is_dir().then_some(built)
}

fn copy_tree(from: &Path, to: &Path) -> Result<usize> {
    let mut n = 0;
    fs::create_dir_all(to).with_context(|| format!("cannot create `{}`", to.display()))?;
    for entry in fs::read_dir(from).with_context(|| format!("cannot read `{}`", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if name == ".fieldnotes" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type()?.is_dir() {
            n += copy_tree(&src, &dst)?;
        } else {
            fs::copy(&src, &dst).with_context(|| format!("cannot copy `{}`", src.display()))?;
            n += 1;
        }
    }
    Ok(n)
}

/// Runs `fieldnotes demo`.
/// The file that marks a folder as the demo's own, which the next demo may clear.
const DEMO_MARKER: &str = ".fieldnotes-demo";

pub fn run(g: &Globals, a: Args) -> Result<ExitCode> {
    let sample = match a.sample.or_else(default_sample) {
        Some(s) => s,
        None => bail!(
            "cannot find the sample study (`data/sample`); run the demo from the fieldnotes source folder or pass `--sample DIR`"
        ),
    };
    let out_dir = a.out.unwrap_or_else(|| {
        if Path::new("target").is_dir() {
            PathBuf::from("target/demo")
        } else {
            std::env::temp_dir().join("fieldnotes-demo")
        }
    });
    // Only a folder the demo made before is cleared: anything else given as `--out` may hold a
    // researcher's files.
    let marker = out_dir.join(DEMO_MARKER);
    if out_dir.exists() {
        let empty = fs::read_dir(&out_dir).map(|mut d| d.next().is_none()).unwrap_or(false);
        if !empty && !marker.is_file() {
            bail!(
                "`{}` is not empty and was not made by the demo; give `--out` a new or empty folder (nothing was touched)",
                out_dir.display()
            );
        }
        fs::remove_dir_all(&out_dir).with_context(|| format!("cannot clear `{}`", out_dir.display()))?;
    }
    copy_tree(&sample.join("notes"), &out_dir.join("notes"))?;
    fs::write(&marker, "made by `fieldnotes demo`, which clears this folder when it runs again\n")?;
    if sample.join("codings").is_dir() {
        copy_tree(&sample.join("codings"), &out_dir.join("codings"))?;
    }
    // The sample's settings point at the shared codebook; the copy carries its own: the
    // sample's, else the one beside it in the source tree, else the one built in (a copy of the
    // sample elsewhere has neither beside it).
    let book_dst = out_dir.join("codebook.toml");
    let book_src = [sample.join("codebook.toml"), sample.join("../codebooks/wws-considerations.toml")]
        .into_iter()
        .find(|p| p.is_file());
    match book_src {
        Some(src) => {
            fs::copy(&src, &book_dst).with_context(|| format!("cannot copy `{}`", src.display()))?;
        }
        None => fs::write(&book_dst, crate::init::WWS_CODEBOOK)
            .with_context(|| format!("cannot write `{}`", book_dst.display()))?,
    }
    fs::write(
        out_dir.join("fieldnotes.toml"),
        "name = \"Sample study: building relationships with Community Planning Partnerships\"\ncoder = \"demo\"\n",
    )?;

    let g = Globals { project: Some(out_dir.clone()), quiet: g.quiet, color: g.color };
    let mut out = output::stdout();
    let started = std::time::Instant::now();

    writeln!(out, "{}", output::bold("1. The notes", g.color))?;
    let mut study = Study::load(g.project()?, &g)?;
    notes::print_corpus_summary(&mut out, &study.project, &study.corpus, g.color)?;

    writeln!(out, "\n{}", output::bold("2. The search index", g.color))?;
    out.flush()?;
    let (idx, stats) = study.update_index(&g, true)?.context("the search index could not be built")?;
    writeln!(out, "indexed {} notes ({} passages)", stats.indexed, stats.passages)?;
    let q = "\"staff turnover\" OR churn";
    let res = idx.search(q, &SearchOptions { limit: 3, ..Default::default() })?;
    writeln!(out, "search `{q}`: {} passages; the best {}:", res.total, res.hits.len())?;
    for h in &res.hits {
        let (s, e) = h.snippet;
        let inside: Vec<(usize, usize)> =
            h.matches.iter().filter(|m| m.0 >= s && m.1 <= e).map(|m| (m.0 - s, m.1 - s)).collect();
        writeln!(
            out,
            "  {} ({})\n    {}",
            output::bold(&h.id, g.color),
            h.attr("site"),
            output::highlight(&h.text[s..e], &inside, g.color).replace('\n', " ")
        )?;
    }

    writeln!(out, "\n{}", output::bold("3. Auto-coding with the codebook's rules", g.color))?;
    out.flush()?;
    let book = study.codebook()?;
    let before = crate::store::before(&study.project)?;
    let codings = crate::study::coding_parts(&study.project, &g)?;
    let summary = code::auto_code(&study.project, &codings, before, &book, false, &g, &mut |_| Ok(()))?;
    writeln!(out, "{} suggestions, each with its evidence, in `codings/rules.jsonl`", summary.written)?;
    study.codings = fieldnotes_coding::Codings::load(study.project.root())?;
    let (mut idx, _) = study.update_index(&g, false)?.context("the search index is missing")?;
    idx.set_codes(crate::store::search_codes(&study.project, &study.project.note_stats()?, false, &g)?.0);
    let q = "code:time AND site:glasgow";
    let n = idx.search(q, &SearchOptions { limit: 1, include_suggested: true, ..Default::default() })?.total;
    writeln!(out, "search `{q}` --include-suggested: {n} passages (none reviewed yet, so none counts without it)")?;

    writeln!(out, "\n{}", output::bold("4. Themes by site", g.color))?;
    let sel = Selection { coders: vec![], include_suggested: true, ..Selection::default() };
    let t = study.theme_table(&book, "site", UnitKind::Passages, Measure::Share, &sel, false)?;
    write!(out, "{}", report::render_themes(&t, report::Format::Table, report::Chart::Heatmap)?)?;

    writeln!(out, "\n{}", output::bold("5. The report", g.color))?;
    let page = fieldnotes_study::report::html_report(&study.project, &book, "site", &sel, &g)?;
    let html = out_dir.join("report.html");
    crate::init::write_atomic(&html, page.as_bytes())?;
    let svg = out_dir.join("themes-by-site.svg");
    crate::init::write_atomic(
        &svg,
        fieldnotes_report::render::captioned(&fieldnotes_report::render::heatmap_svg(&t), &t.caption()).as_bytes(),
    )?;
    writeln!(out, "wrote `{}` and `{}`", html.display(), svg.display())?;
    writeln!(
        out,
        "\nThe demo project is in `{}`; try `fieldnotes --project {} search 'trust site:fife'`. Done in {:.1} s.",
        out_dir.display(),
        out_dir.display(),
        started.elapsed().as_secs_f64()
    )?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
