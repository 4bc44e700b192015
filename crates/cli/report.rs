//! `fieldnotes report ...` and `fieldnotes export ...`: tables and figures for papers.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use fieldnotes_coding::units::{self, Selection};
use fieldnotes_report::analysis;
use fieldnotes_report::render::{self, Table};
use fieldnotes_report::store::LeftOut;
use fieldnotes_report::{GroupBy, Measure, ThemeTable, UnitKind};

use crate::Globals;
use crate::init::write_atomic;
use crate::output::{self, Align};
use crate::study;
use fieldnotes_study::report;

/// Which codings count: shared by every report.
#[derive(clap::Args, Debug, Clone)]
pub struct Counting {
    /// Count suggestions too (by default only accepted codings count).
    #[arg(long)]
    include_suggested: bool,
    /// Only these coders' codings (repeat, or comma-separate; default: all).
    #[arg(long, value_delimiter = ',')]
    coder: Vec<String>,
}

impl Counting {
    /// What counts; an error for a coder of `project` with no codings and no reviews, whose
    /// table would be all zeros.
    fn selection(&self, project: &fieldnotes_corpus::Project) -> Result<Selection> {
        fieldnotes_study::code::check_coders(project, &self.coder)?;
        Ok(Selection { coders: self.coder.clone(), include_suggested: self.include_suggested, ..Selection::default() })
    }
}

/// Where and how a table is written: shared by every report.
#[derive(clap::Args, Debug, Clone)]
pub struct Output {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// The same as `--format json`, as other commands that print data take it.
    #[arg(long, conflicts_with = "format")]
    json: bool,
    /// Write to this file instead of standard output.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

impl Output {
    /// The format asked for.
    fn format(&self) -> Format {
        if self.json { Format::Json } else { self.format }
    }
}

/// Output formats of tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Aligned text for the terminal.
    Table,
    /// CSV.
    Csv,
    /// GitHub Markdown.
    Md,
    /// LaTeX with booktabs.
    Latex,
    /// JSON.
    Json,
    /// A self-contained HTML page.
    Html,
    /// An SVG figure (themes; keyness: Log Ratio bars).
    Svg,
    /// A PNG figure (themes, keyness; needs -o), drawn with the system's fonts.
    Png,
    /// Parquet (themes only; needs -o).
    Parquet,
}

/// Figure types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Chart {
    /// Codes by groups, shaded by value.
    Heatmap,
    /// Grouped bars.
    Bars,
}

/// `fieldnotes report` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Codes by group (site, kind, year, speaker, any attribute): counts, shares, rates.
    Themes(ThemesArgs),
    /// Code-by-code co-occurrence: counts and Jaccard.
    Cooccur(CooccurArgs),
    /// Chi-square test of each code by group, with adjusted standardised residuals.
    Stats(StatsArgs),
    /// Exemplar quotes per code and group.
    Quotes(QuotesArgs),
    /// One self-contained HTML page: themes, heatmap, co-occurrence, statistics, quotes.
    Html(HtmlArgs),
    /// Word frequencies per group (per 10,000 words), stopwords left out.
    Words(WordsArgs),
    /// Keyness: the words each group uses more (or less) than the rest: G2 and Log Ratio.
    Keyness(KeynessArgs),
}

/// `fieldnotes export` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum ExportCommand {
    /// Documents, passages, codings and codes as Parquet, plus passages partitioned by site.
    Parquet(ParquetArgs),
    /// The codebook as a REFI-QDA codebook (.qdc).
    Qdc {
        /// The file to write.
        file: PathBuf,
    },
    /// The whole study as a REFI-QDA project (.qdpx) for NVivo, ATLAS.ti, MAXQDA, QualCoder...
    ///
    /// Accepted codings only, unless --include-suggested: then suggestions not yet reviewed go out
    /// too, each under a user of its own named `<coder> (suggested, not reviewed)`.
    Qdpx {
        /// The file to write.
        file: PathBuf,
        /// Export suggestions not yet reviewed too, marked as suggestions.
        #[arg(long)]
        include_suggested: bool,
    },
    /// Passages as NDJSON with a Quickwit index configuration, to search them on a cluster.
    Quickwit {
        /// The folder to write `index-config.yaml` and `passages.ndjson` into.
        dir: PathBuf,
        /// Give passages the codes of suggestions not yet reviewed too.
        #[arg(long)]
        include_suggested: bool,
    },
}

/// Arguments of `fieldnotes report themes`.
#[derive(clap::Args, Debug)]
pub struct ThemesArgs {
    /// Group columns by this attribute (site, kind, author, year, speaker, section, ...).
    #[arg(long, default_value = "site")]
    by: String,
    /// What a unit is.
    #[arg(long, value_enum, default_value_t = UnitArg::Passages)]
    unit: UnitArg,
    /// What a cell shows.
    #[arg(long, value_enum, default_value_t = MeasureArg::Count)]
    measure: MeasureArg,
    /// Count child codes for their parents too.
    #[arg(long)]
    rollup: bool,
    #[command(flatten)]
    counting: Counting,
    #[command(flatten)]
    out: Output,
    /// Figure type for --format svg.
    #[arg(long, value_enum, default_value_t = Chart::Heatmap)]
    chart: Chart,
}

/// Counting units.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum UnitArg {
    /// Passages.
    Passages,
    /// Notes.
    Documents,
    /// Words.
    Words,
}

/// Cell measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MeasureArg {
    /// Units with the code.
    Count,
    /// Percentage of the group's units.
    Share,
    /// Coded passages per 1,000 words.
    Rate,
    /// Notes with the code.
    Docs,
}

/// Arguments of `fieldnotes report cooccur`.
#[derive(clap::Args, Debug)]
pub struct CooccurArgs {
    /// Codes count as together within this many passages of each other (0: same passage).
    #[arg(long, default_value_t = 0)]
    window: usize,
    #[command(flatten)]
    counting: Counting,
    #[command(flatten)]
    out: Output,
}

/// Arguments of `fieldnotes report stats`.
#[derive(clap::Args, Debug)]
pub struct StatsArgs {
    /// Group by this attribute.
    #[arg(long, default_value = "site")]
    by: String,
    #[command(flatten)]
    counting: Counting,
    #[command(flatten)]
    out: Output,
}

/// Arguments of `fieldnotes report quotes`.
#[derive(clap::Args, Debug)]
pub struct QuotesArgs {
    /// The code (default: every code).
    #[arg(long)]
    code: Option<String>,
    /// Group by this attribute.
    #[arg(long, default_value = "site")]
    by: String,
    /// Quotes per code and group (at least 1).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..))]
    per_group: u64,
    #[command(flatten)]
    counting: Counting,
    #[command(flatten)]
    out: Output,
}

/// Arguments of `fieldnotes report html`.
#[derive(clap::Args, Debug)]
pub struct HtmlArgs {
    /// Group by this attribute.
    #[arg(long, default_value = "site")]
    by: String,
    #[command(flatten)]
    counting: Counting,
    /// Where to write the page.
    #[arg(long, short, default_value = "report.html")]
    output: PathBuf,
}

/// Which words count: shared by `report words` and `report keyness`.
#[derive(clap::Args, Debug, Clone)]
pub struct WordsCounting {
    /// Words to leave out, one a line (default: a built-in list of English function words).
    #[arg(long, value_name = "FILE", conflicts_with = "all_words")]
    stopwords: Option<PathBuf>,
    /// Count every word: no stopwords.
    #[arg(long)]
    all_words: bool,
    /// Only words used at least this often (in the group; for keyness, in the group or the rest).
    #[arg(long, default_value_t = 1)]
    min_freq: u64,
    /// At most this many words a group (0: all).
    #[arg(long, default_value_t = 20)]
    top: usize,
}

impl WordsCounting {
    /// The stopwords, and how a caption names them.
    fn stopwords(&self) -> Result<(Vec<String>, String)> {
        if self.all_words {
            return Ok((Vec::new(), "every word counted".to_string()));
        }
        match &self.stopwords {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).with_context(|| format!("cannot read `{}`", path.display()))?;
                let words: Vec<String> = text
                    .lines()
                    .map(|l| l.trim().to_lowercase())
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .collect();
                let n = words.len();
                Ok((words, format!("{n} stopwords of `{}` left out", path.display())))
            }
            None => {
                let words: Vec<String> =
                    fieldnotes_report::keyness::ENGLISH_STOPWORDS.iter().map(|s| s.to_string()).collect();
                let n = words.len();
                Ok((words, format!("{n} English function words left out (--all-words counts them)")))
            }
        }
    }
}

/// Arguments of `fieldnotes report words`.
#[derive(clap::Args, Debug)]
pub struct WordsArgs {
    /// Group by this attribute (site, kind, speaker, year, ...).
    #[arg(long, default_value = "site")]
    by: String,
    #[command(flatten)]
    words: WordsCounting,
    #[command(flatten)]
    out: Output,
}

/// How keyness rows are sorted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum KeySort {
    /// By log-likelihood.
    G2,
    /// By Log Ratio (effect size).
    LogRatio,
}

/// Arguments of `fieldnotes report keyness`.
#[derive(clap::Args, Debug)]
pub struct KeynessArgs {
    /// Compare each value of this attribute with all the others.
    #[arg(long, conflicts_with_all = ["target", "code"])]
    by: Option<String>,
    /// Compare one value with the rest: `site=Fife`.
    #[arg(long, value_name = "ATTR=VALUE", conflicts_with = "code")]
    target: Option<String>,
    /// Compare the passages carrying this code with all other passages.
    #[arg(long)]
    code: Option<String>,
    /// Also list the words a group uses less than the rest (negative G2).
    #[arg(long)]
    under: bool,
    /// Sort each group's words by this.
    #[arg(long, value_enum, default_value_t = KeySort::G2)]
    sort: KeySort,
    /// Keep words with p below this (0.05, 0.01, 0.001, 0.0001: G2 above 3.84, 6.63, 10.83, 15.13).
    #[arg(long, default_value_t = 0.05)]
    p: f64,
    /// Multiply each p by the number of words tested in the group (Bonferroni).
    #[arg(long)]
    bonferroni: bool,
    #[command(flatten)]
    words: WordsCounting,
    #[command(flatten)]
    counting: Counting,
    #[command(flatten)]
    out: Output,
}

/// Arguments of `fieldnotes export parquet`.
#[derive(clap::Args, Debug)]
pub struct ParquetArgs {
    /// The folder to write into.
    dir: PathBuf,
    /// Which codings go into `codings.parquet` (accepted only, unless --include-suggested).
    #[command(flatten)]
    counting: Counting,
}

/// Runs a `fieldnotes report` subcommand.
pub fn run(g: &Globals, c: Command) -> Result<ExitCode> {
    // None loads the whole study: the theme table comes from the report store, the rest is
    // counted a batch of notes at a time.
    match c {
        Command::Themes(a) => themes(g, a),
        Command::Cooccur(a) => cooccur(g, a),
        Command::Stats(a) => stats(g, a),
        Command::Quotes(a) => quotes(g, a),
        Command::Words(a) => words(g, a),
        Command::Keyness(a) => keyness(g, a),
        Command::Html(a) => {
            let project = g.project()?;
            let book = study::codebook(&project)?;
            let page = report::html_report(&project, &book, &a.by, &a.counting.selection(&project)?, g)?;
            output::write_output(g, &a.output, page.as_bytes())?;
            output::info(g.quiet, &format!("wrote `{}`", a.output.display()));
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Runs a `fieldnotes export` subcommand.
pub fn run_export(g: &Globals, c: ExportCommand) -> Result<ExitCode> {
    let a = match c {
        ExportCommand::Parquet(a) => a,
        ExportCommand::Qdc { file } => return crate::refi::export_qdc(g, &file),
        ExportCommand::Qdpx { file, include_suggested } => {
            return crate::refi::export_qdpx(g, &file, include_suggested);
        }
        ExportCommand::Quickwit { dir, include_suggested } => return export_quickwit(g, &dir, include_suggested),
    };
    let project = g.project()?;
    let book = study::codebook(&project)?;
    let sel = a.counting.selection(&project)?;
    // Written a batch of notes at a time, into a folder that is not the project's own.
    output::check_output(g, &a.dir.join("passages.parquet"))?;
    let mut export = fieldnotes_report::export::ParquetExport::new(&a.dir, &book, &sel)?;
    let (mut notes, mut written) = (0, 0);
    let left_out = report::placed_in_batches(&project, &sel, g, |corpus, placement| {
        export.add(corpus, placement)?;
        notes += corpus.documents.len();
        written += placement.placed.iter().filter(|x| sel.admits(x.coding)).count();
        Ok(())
    })?;
    let files = export.finish()?;
    output::info(
        g.quiet,
        format!(
            "wrote {} Parquet file(s) to `{}`: {notes} notes, {written} codings ({}). {}",
            files.len(),
            a.dir.display(),
            sel.describe(),
            left_out.describe()
        )
        .trim_end(),
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes `index-config.yaml` and `passages.ndjson` (every passage with its codes) into `dir`.
fn export_quickwit(g: &Globals, dir: &std::path::Path, include_suggested: bool) -> Result<ExitCode> {
    use fieldnotes_index::quickwit;
    let project = g.project()?;
    let sel = Selection { coders: vec![], include_suggested, ..Selection::default() };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    output::check_output(g, &dir.join("passages.ndjson"))?;
    output::check_output(g, &dir.join("index-config.yaml"))?;
    let id = quickwit::index_id(&project.config.name);
    let mut n = 0usize;
    let mut left_out = LeftOut::default();
    // A line a passage, written as each batch of notes is read.
    crate::init::write_atomic_with(&dir.join("passages.ndjson"), |out| {
        left_out = report::placed_in_batches(&project, &sel, g, |corpus, placement| {
            let codes = units::passage_codes(placement, &sel);
            for (di, d) in corpus.documents.iter().enumerate() {
                for pi in 0..d.passages.len() {
                    let c: Vec<String> = codes.get(&(di, pi)).map(|s| s.iter().cloned().collect()).unwrap_or_default();
                    serde_json::to_writer(&mut *out, &quickwit::passage_json(d, pi, &c))?;
                    out.write_all(b"\n")?;
                    n += 1;
                }
            }
            Ok(())
        })?;
        Ok(())
    })?;
    write_atomic(&dir.join("index-config.yaml"), quickwit::index_config(&id).as_bytes())?;
    output::info(
        g.quiet,
        &format!(
            "wrote {n} passages and the configuration of index `{id}` to `{}` (codes from {}{}); on a Quickwit cluster:\n  quickwit index create --index-config {0}/index-config.yaml\n  quickwit index ingest --index {id} --input-path {0}/passages.ndjson",
            // `qw/` given: the commands below join their file names with one slash.
            dir.display().to_string().trim_end_matches('/'),
            sel.describe(),
            {
                let left = left_out.describe();
                if left.is_empty() { String::new() } else { format!(". {left}") }
            }
        ),
    );
    Ok(ExitCode::SUCCESS)
}

fn emit(g: &Globals, out_path: Option<&Path>, content: &str) -> Result<()> {
    match out_path {
        Some(p) => output::write_output(g, p, content.as_bytes()),
        None => {
            let mut out = output::stdout();
            out.write_all(content.as_bytes())?;
            out.flush()?;
            Ok(())
        }
    }
}

fn render_table(t: &Table, format: Format, title: &str) -> Result<String> {
    Ok(match format {
        Format::Table => {
            let align: Vec<Align> = t.numeric.iter().map(|&n| if n { Align::Right } else { Align::Left }).collect();
            format!("{}{}\n", output::table(&t.header, &t.rows, &align), t.caption)
        }
        Format::Csv => render::csv(t),
        Format::Md => render::markdown(t),
        Format::Latex => render::latex(t),
        Format::Json => serde_json::to_string_pretty(t)? + "\n",
        Format::Html => {
            render::html_page(title, &format!("<h1>{}</h1>\n{}", render::html_escape(title), render::html_table(t)))
        }
        Format::Svg | Format::Png | Format::Parquet => {
            bail!("this report has no {format:?} output; use table, csv, md, latex, json or html")
        }
    })
}

/// Renders a theme table in any format.
pub fn render_themes(t: &ThemeTable, format: Format, chart: Chart) -> Result<String> {
    Ok(match format {
        Format::Json => output::json_string(&report::ThemesJson::of(t))?,
        Format::Svg => match chart {
            Chart::Heatmap => render::captioned(&render::heatmap_svg(t), &t.caption()),
            Chart::Bars => render::captioned(&render::bars_svg(t), &t.caption()),
        },
        Format::Html => {
            let body = format!(
                "<h1>Themes by {}</h1>\n{}\n<figure>{}<figcaption>{}</figcaption></figure>\n",
                render::html_escape(&t.by),
                render::html_table(&t.to_table()),
                render::heatmap_svg(t),
                render::html_escape(&t.caption())
            );
            render::html_page(&format!("Themes by {}", t.by), &body)
        }
        other => render_table(&t.to_table(), other, "Themes")?,
    })
}

fn themes(g: &Globals, a: ThemesArgs) -> Result<ExitCode> {
    let project = g.project()?;
    let book = crate::study::codebook(&project)?;
    let store = crate::store::report_store(&project, g)?;
    let unit = match a.unit {
        UnitArg::Passages => UnitKind::Passages,
        UnitArg::Documents => UnitKind::Documents,
        UnitArg::Words => UnitKind::Words,
    };
    let measure = match a.measure {
        MeasureArg::Count => Measure::Count,
        MeasureArg::Share => Measure::Share,
        MeasureArg::Rate => Measure::Rate,
        MeasureArg::Docs => Measure::Docs,
    };
    // `rate` and `docs` have a unit of their own: another unit asked for would be ignored.
    match (measure, unit) {
        (Measure::Rate, UnitKind::Documents | UnitKind::Words) => anyhow::bail!(
            "`--measure rate` counts coded passages per 1,000 words whatever the unit: drop `--unit {}`",
            unit.name().replace("notes", "documents")
        ),
        (Measure::Docs, UnitKind::Words) => anyhow::bail!(
            "`--measure docs` counts notes with the code whatever the unit: drop `--unit words` (or use `--unit documents`)"
        ),
        _ => {}
    }
    let sel = a.counting.selection(&project)?;
    let frames = store.frames(&book, &GroupBy::parse(&a.by), &sel, a.rollup)?;
    // A key no note has would give one `(none)` column: an error instead (issue #20).
    store.check_grouped(&GroupBy::parse(&a.by))?;
    let mut t = fieldnotes_report::theme_table(&frames, &book, &a.by, unit, measure, &sel.describe(), a.rollup)?;
    t.left_out = store.left_out(&sel).describe();
    if let Some(dates) = store.unread_dates(&GroupBy::parse(&a.by)) {
        warn_dates(&dates);
        t.left_out = if t.left_out.is_empty() { dates } else { format!("{} {dates}", t.left_out) };
    }
    if let Some(clause) = t.not_in_codebook_clause() {
        output::warn(&clause);
    }
    if a.out.format() == Format::Png {
        let path = a.out.output.context("PNG output needs a file: `-o themes.png`")?;
        let svg = match a.chart {
            Chart::Heatmap => fieldnotes_report::render::heatmap_svg(&t),
            Chart::Bars => fieldnotes_report::render::bars_svg(&t),
        };
        let svg = fieldnotes_report::render::captioned(&svg, &t.caption());
        output::write_output(g, &path, &fieldnotes_report::render::svg_to_png(&svg, 2.0)?)?;
        output::info(g.quiet, &format!("wrote `{}`", path.display()));
        return Ok(ExitCode::SUCCESS);
    }
    if a.out.format() == Format::Parquet {
        let path = a.out.output.context("Parquet output needs a file: `-o themes.parquet`")?;
        output::check_output(g, &path)?;
        fieldnotes_report::export::theme_parquet(&t, &path)?;
        output::info(g.quiet, &format!("wrote `{}`", path.display()));
        return Ok(ExitCode::SUCCESS);
    }
    let text = render_themes(&t, a.out.format(), a.chart)?;
    emit(g, a.out.output.as_deref(), &text)?;
    caption_for_csv(g.quiet, a.out.format(), &t.caption());
    if let Some(p) = &a.out.output {
        output::info(g.quiet, &format!("wrote `{}`", p.display()));
    }
    Ok(ExitCode::SUCCESS)
}

/// CSV holds no caption: the counting rule and what was left out go to the terminal instead, so
/// that they are not lost on the way to a paper.
fn caption_for_csv(quiet: bool, format: Format, caption: &str) {
    if format == Format::Csv {
        output::info(quiet, &format!("caption: {caption}"));
    }
}

fn cooccur(g: &Globals, a: CooccurArgs) -> Result<ExitCode> {
    let project = g.project()?;
    let book = &study::codebook(&project)?;
    let sel = a.counting.selection(&project)?;
    // Each note's passages and their codes, from the report store.
    let store = crate::store::report_store(&project, g)?;
    let mut counts = analysis::CooccurrenceCounts::new(book, a.window);
    store.for_each_note_codes(book, &sel, |sets| counts.add_note(sets));
    let co = counts.finish();
    let mut caption = report::cooccur_caption(&report::counted(&sel, &store.left_out(&sel)), a.window, book);
    // Codes the codebook no longer has are in no row or column: said, as `report themes` says it.
    if let Some(clause) = store.passage_table(book, "site", &sel)?.not_in_codebook_clause() {
        output::warn(&clause);
        caption = format!("{caption} {clause}");
    }
    let text = match a.out.format() {
        Format::Json => output::json_string(&report::CooccurrenceJson { caption: &caption, cooccurrence: &co })?,
        // One number a cell, a row a pair, to load as it is.
        Format::Csv => {
            let rows = co
                .codes
                .iter()
                .enumerate()
                .flat_map(|(i, a)| {
                    let co = &co;
                    co.codes.iter().enumerate().map(move |(j, b)| {
                        let jaccard = co.jaccard[i][j].map(|x| format!("{x:.4}")).unwrap_or_default();
                        vec![a.clone(), b.clone(), co.counts[i][j].to_string(), jaccard]
                    })
                })
                .collect();
            let header = ["code", "with", "passages", "jaccard"].map(String::from).to_vec();
            render_table(&Table { header, rows, numeric: vec![], caption: caption.clone() }, Format::Csv, "")?
        }
        other => render_table(&co.to_table(&caption), other, "Code co-occurrence")?,
    };
    emit(g, a.out.output.as_deref(), &text)?;
    caption_for_csv(g.quiet, a.out.format(), &caption);
    Ok(ExitCode::SUCCESS)
}

fn stats(g: &Globals, a: StatsArgs) -> Result<ExitCode> {
    let project = g.project()?;
    let book = &study::codebook(&project)?;
    let sel = a.counting.selection(&project)?;
    // Passages per group, and per code those carrying it: the theme table's counts, from the
    // report store.
    let store = crate::store::report_store(&project, g)?;
    // A key no note has is refused, as `report themes` refuses it.
    store.check_grouped(&GroupBy::parse(&a.by))?;
    if let Some(dates) = store.unread_dates(&GroupBy::parse(&a.by)) {
        warn_dates(&dates);
    }
    let passages = store.passage_table(book, &a.by, &sel)?;
    let (groups, tests) = analysis::GroupCounts::from_theme_table(&passages).finish();
    let mut t = report::stats_table(&groups, &tests, &a.by, &report::counted(&sel, &store.left_out(&sel)));
    // Codes the codebook no longer has are in no row: said, as `report themes` says it.
    if let Some(clause) = passages.not_in_codebook_clause() {
        output::warn(&clause);
        t.caption = format!("{} {clause}", t.caption);
    }
    let text = match a.out.format() {
        Format::Json => {
            output::json_string(&report::StatsJson { caption: &t.caption, groups: &groups, tests: &tests })?
        }
        // One number a cell, a row a code and group, to load as it is; the test's figures on
        // each of its code's rows.
        Format::Csv => {
            let mut rows = Vec::new();
            for test in &tests {
                let x = test.test.as_ref();
                let of = |f: &dyn Fn(&fieldnotes_report::chisq::ChiSquare) -> String| x.map(f).unwrap_or_default();
                for (j, group) in groups.iter().enumerate() {
                    rows.push(vec![
                        test.code.clone(),
                        group.clone(),
                        test.present[j].to_string(),
                        of(&|_| format!("{:.4}", test.residuals[j])),
                        of(&|x| format!("{:.4}", x.statistic)),
                        of(&|x| x.df.to_string()),
                        // A p below a millionth in significant figures: `0.000000` read as
                        // "p = 0".
                        of(&|x| {
                            if x.p_value > 0.0 && x.p_value < 1e-6 {
                                format!("{:.3e}", x.p_value)
                            } else {
                                format!("{:.6}", x.p_value)
                            }
                        }),
                        of(&|x| x.small_expected_warning().to_string()),
                    ]);
                }
            }
            let header =
                ["code", &a.by, "passages", "residual", "chi2", "df", "p", "small_expected"].map(String::from).to_vec();
            render_table(&Table { header, rows, numeric: vec![], caption: t.caption.clone() }, Format::Csv, "")?
        }
        other => render_table(&t, other, "Codes by group: chi-square")?,
    };
    emit(g, a.out.output.as_deref(), &text)?;
    caption_for_csv(g.quiet, a.out.format(), &t.caption);
    Ok(ExitCode::SUCCESS)
}

/// Warns of notes whose `date` no year is read from ([`Store::unread_dates`]), with the remedy.
///
/// [`Store::unread_dates`]: fieldnotes_report::store::Store::unread_dates
fn warn_dates(sentence: &str) {
    output::warn(&format!(
        "{} (hint: write dates as YYYY-MM-DD, `date: 2016-07-08`, or a year alone, `date: 2016`)",
        sentence.trim_end_matches('.')
    ));
}

/// An error for a grouping by a front-matter key no note has, as `report themes` gives it: a
/// table of one `(none)` group says nothing.
fn require_grouping(project: &fieldnotes_corpus::Project, by: &str) -> Result<()> {
    let by = GroupBy::parse(by);
    if matches!(by, GroupBy::Attribute(_)) {
        crate::store::report_store(project, &fieldnotes_study::Silent)?.check_grouped(&by)?;
    }
    Ok(())
}

fn quotes(g: &Globals, a: QuotesArgs) -> Result<ExitCode> {
    let project = g.project()?;
    require_grouping(&project, &a.by)?;
    let book = &study::codebook(&project)?;
    let sel = a.counting.selection(&project)?;
    let ids: Vec<String> = match &a.code {
        Some(c) => {
            if book.code(c).is_none() {
                bail!("unknown code `{c}`; `fieldnotes codebook show` lists the codes");
            }
            vec![c.clone()]
        }
        None => book.codes.iter().map(|c| c.id.clone()).collect(),
    };
    // Picked a batch of notes at a time: the best of each batch kept with the best before.
    let by = GroupBy::parse(&a.by);
    let mut picks = analysis::QuotePicks::new(&ids, a.per_group as usize);
    let left_out = report::placed_in_batches(&project, &sel, g, |corpus, placement| {
        picks.add(corpus, placement, &sel, &by);
        Ok(())
    })?;
    let qs = picks.finish();
    let caption = format!(
        "Exemplar quotes per code and {}: the coded words (the whole passage where a coding covers it), from passages with the fewest other codes, then closest to 60 words. Counted: {}.",
        a.by,
        report::counted(&sel, &left_out)
    );
    let text = if a.out.format() == Format::Json {
        output::json_string(&report::QuotesJson { caption: &caption, quotes: &qs })?
    } else {
        let clip = matches!(a.out.format(), Format::Table);
        // Where the quote comes from; the grouping attribute is its own column already.
        let places: Vec<&str> = ["speaker", "site", "kind", "date"].into_iter().filter(|k| *k != a.by).collect();
        let mut header: Vec<String> = vec!["code".into(), a.by.clone(), "passage".into()];
        header.extend(places.iter().map(|k| k.to_string()));
        header.push("quote".into());
        let t = Table {
            numeric: vec![false; header.len()],
            header,
            rows: qs
                .iter()
                .map(|q| {
                    let quote = if q.whole_passage { q.text.clone() } else { format!("\u{201c}{}\u{201d}", q.text) };
                    let mut row = vec![q.code.clone(), q.group.clone(), q.passage.clone()];
                    row.extend(places.iter().map(|k| {
                        match *k {
                            "speaker" => q.speaker.clone(),
                            "site" => q.site.clone(),
                            "kind" => q.kind.clone(),
                            _ => q.date.clone(),
                        }
                        .unwrap_or_default()
                    }));
                    row.push(if clip { output::clip(&quote, 90) } else { quote });
                    row
                })
                .collect(),
            caption: caption.clone(),
        };
        render_table(&t, a.out.format(), "Exemplar quotes")?
    };
    emit(g, a.out.output.as_deref(), &text)?;
    caption_for_csv(g.quiet, a.out.format(), &caption);
    Ok(ExitCode::SUCCESS)
}

/// Group word totals for a caption: `Fife 12,345; Glasgow 9,876`.
fn totals(counts: &fieldnotes_report::keyness::WordCounts) -> String {
    counts.groups().iter().map(|g| format!("{g} {}", counts.total(g))).collect::<Vec<_>>().join("; ")
}

fn words(g: &Globals, a: WordsArgs) -> Result<ExitCode> {
    let project = g.project()?;
    let (stop, stop_said) = a.words.stopwords()?;
    require_grouping(&project, &a.by)?;
    let compare = report::Compare::By(a.by.clone());
    let (counts, _) = report::word_counts(&project, &compare, stop, &Selection::default(), g)?;
    let rows = counts.frequencies(a.words.min_freq, a.words.top);
    let caption = format!(
        "The most frequent words of each {by} ({top}{min}), with their rate per 10,000 of the {by}'s words counted (the totals below, stopwords left out). Words: runs of letters and digits with at least one letter (a number alone is not a word, so these totals are below those of `fieldnotes notes`), in lower case, an apostrophe between letters kept, in the passages' text; {stop_said}. Words counted: {}.",
        totals(&counts),
        by = a.by,
        top = if a.words.top == 0 { "all of them".to_string() } else { format!("at most {} a {}", a.words.top, a.by) },
        min = if a.words.min_freq > 1 { format!(", used at least {} times", a.words.min_freq) } else { String::new() },
    );
    let text = if a.out.format() == Format::Json {
        #[derive(serde::Serialize)]
        struct WordsJson<'a> {
            caption: &'a str,
            words: &'a [fieldnotes_report::keyness::Frequency],
        }
        output::json_string(&WordsJson { caption: &caption, words: &rows })?
    } else {
        render_table(
            &fieldnotes_report::keyness::frequency_table(&rows, &a.by, &caption),
            a.out.format(),
            "Word frequencies",
        )?
    };
    emit(g, a.out.output.as_deref(), &text)?;
    caption_for_csv(g.quiet, a.out.format(), &caption);
    Ok(ExitCode::SUCCESS)
}

fn keyness(g: &Globals, a: KeynessArgs) -> Result<ExitCode> {
    use fieldnotes_report::keyness::{self, Keyness};
    let project = g.project()?;
    let compare = match (&a.by, &a.target, &a.code) {
        (_, Some(t), _) => {
            let (attr, value) = t
                .split_once('=')
                .with_context(|| format!("`--target {t}`: write ATTR=VALUE, e.g. `--target site=Fife`"))?;
            report::Compare::Target(attr.trim().to_string(), value.trim().to_string())
        }
        (_, _, Some(c)) => {
            fieldnotes_study::code::require_code(&study::codebook(&project)?, c)?;
            report::Compare::Code(c.clone())
        }
        (Some(by), _, _) => {
            require_grouping(&project, by)?;
            report::Compare::By(by.clone())
        }
        _ => report::Compare::By("site".to_string()),
    };
    if !(a.p > 0.0 && a.p <= 1.0) {
        bail!("--p {} is not a probability; give one between 0 and 1, such as 0.05", a.p);
    }
    let sel = a.counting.selection(&project)?;
    let (stop, stop_said) = a.words.stopwords()?;
    let (counts, left_out) = report::word_counts(&project, &compare, stop, &sel, g)?;
    if let Some(only) = compare.only()
        && counts.total(only) == 0
    {
        bail!("no words in {}: nothing to compare (is the value or code spelt as in the notes?)", compare.describe());
    }
    let all = counts.keyness(a.words.min_freq, compare.only());
    let mut rows: Vec<Keyness> = Vec::new();
    for group in counts.groups() {
        let mine: Vec<&Keyness> = all.iter().filter(|k| k.group == group).collect();
        let tested = mine.len().max(1) as f64;
        let p_of = |k: &Keyness| if a.bonferroni { (k.p * tested).min(1.0) } else { k.p };
        let key = |k: &Keyness| match a.sort {
            KeySort::G2 => k.g2.abs(),
            KeySort::LogRatio => k.log_ratio.abs(),
        };
        for over in [true, false] {
            if !over && !a.under {
                continue;
            }
            let mut side: Vec<Keyness> = mine
                .iter()
                .filter(|k| (k.g2 > 0.0) == over && k.g2 != 0.0 && p_of(k) < a.p)
                .map(|k| Keyness { p: p_of(k), ..(*k).clone() })
                .collect();
            side.sort_by(|x, y| key(y).total_cmp(&key(x)).then(x.word.cmp(&y.word)));
            if a.words.top > 0 {
                side.truncate(a.words.top);
            }
            rows.extend(side);
        }
    }
    let threshold = match keyness::critical(a.p) {
        Some(c) if !a.bonferroni => format!("p < {} (G2 above {c})", a.p),
        _ => format!("p < {}", a.p),
    };
    let caption = format!(
        "Keyness of {}: signed log-likelihood G2 (the four-cell form of Dunning 1993, + where the group uses the word more, - less) and Log Ratio (Hardie 2014: the binary log of the ratio of relative frequencies, a frequency of 0 taken as 0.5); {}words with {threshold}{}, sorted by {}, {}{}{}. Words: runs of letters and digits with at least one letter (a number alone is not a word), in lower case, an apostrophe between letters kept, in the passages' text; {stop_said}. Words counted: {}.{}",
        compare.describe(),
        if a.under { "over- and under-used " } else { "over-used " },
        if a.bonferroni { ", Bonferroni-corrected for the words tested in each group" } else { "" },
        if a.sort == KeySort::G2 { "G2" } else { "Log Ratio" },
        if a.words.top == 0 { "all of them".to_string() } else { format!("at most {} a group", a.words.top) },
        if a.under { " and direction" } else { "" },
        if a.words.min_freq > 1 {
            format!("; used at least {} times in the group or the rest", a.words.min_freq)
        } else {
            String::new()
        },
        totals(&counts),
        match &compare {
            report::Compare::Code(_) => format!(" Codings counted: {}.", report::counted(&sel, &left_out)),
            _ => String::new(),
        }
    );
    if matches!(a.out.format(), Format::Svg | Format::Png) {
        let svg = fieldnotes_report::render::captioned(&keyness::log_ratio_svg(&rows, &caption), &caption);
        if a.out.format() == Format::Png {
            let path = a.out.output.as_deref().context("PNG output needs a file: `-o keyness.png`")?;
            output::write_output(g, path, &fieldnotes_report::render::svg_to_png(&svg, 2.0)?)?;
            output::info(g.quiet, &format!("wrote `{}`", path.display()));
        } else {
            emit(g, a.out.output.as_deref(), &svg)?;
            if let Some(p) = &a.out.output {
                output::info(g.quiet, &format!("wrote `{}`", p.display()));
            }
        }
        output::info(g.quiet, &format!("caption: {caption}"));
        return Ok(ExitCode::SUCCESS);
    }
    let text = if a.out.format() == Format::Json {
        #[derive(serde::Serialize)]
        struct KeynessJson<'a> {
            caption: &'a str,
            /// What the groups are values of (`code` for a code).
            by: &'a str,
            totals: std::collections::BTreeMap<&'a str, u64>,
            words: &'a [Keyness],
        }
        let totals = counts.groups().into_iter().map(|g| (g, counts.total(g))).collect();
        output::json_string(&KeynessJson { caption: &caption, by: compare.column(), totals, words: &rows })?
    } else {
        render_table(&keyness::keyness_table(&rows, compare.column(), &caption), a.out.format(), "Keyness")?
    };
    emit(g, a.out.output.as_deref(), &text)?;
    caption_for_csv(g.quiet, a.out.format(), &caption);
    Ok(ExitCode::SUCCESS)
}
