//! `fieldnotes code ...`: auto-coding with evidence, manual coding, review, checks and evaluation.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use rayon::prelude::*;

use anyhow::{Context, Result, bail};
use fieldnotes_coding::ledger::{Coding, Codings, Event, Ledger, Origin, RULES_CODER, Status, coding_id, now};
use fieldnotes_coding::state::States;
use fieldnotes_coding::units;
use fieldnotes_coding::{Anchorer, AutoCoder, Codebook, CodingTable, TableParts, Versions};
use fieldnotes_corpus::{Document, Project};

use crate::Globals;
use crate::output::{self, Align};
use crate::study::{self, Study};
use fieldnotes_study::code::{self, Span, coder_name, require_code};

/// `fieldnotes code` subcommands.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Suggest codes with the codebook's rules; each suggestion records its evidence.
    Auto(AutoArgs),
    /// Show why a passage got (or did not get) each code from the rules.
    Explain(ExplainArgs),
    /// Code a passage (or a span within it) by hand.
    Add(AddArgs),
    /// Remove codings.
    Rm(RmArgs),
    /// Write a memo on a coding (in place of the one it had; "" takes it off).
    Memo(MemoArgs),
    /// List codings.
    List(ListArgs),
    /// Accept or reject suggestions: interactively on a terminal, or with --accept/--reject.
    Review(ReviewArgs),
    /// Check codings against the notes (moved or orphaned text) and the codebook.
    Check(CheckArgs),
    /// Put a coding on another place of its note (an orphan re-attached, a span corrected).
    Move(MoveArgs),
    /// Precision, recall and F1 of one coder (default: the rules) against another.
    Eval(EvalArgs),
    /// Learn each code from some coders' codings and suggest it for the notes they have not
    /// coded, as coder `model` (cross-validated quality shown first).
    Learn(LearnArgs),
}

/// Runs a `fieldnotes code` subcommand.
pub fn run(g: &Globals, c: Command) -> Result<ExitCode> {
    match c {
        Command::Auto(a) => auto(g, a),
        Command::Explain(a) => explain(g, a),
        Command::Add(a) => add(g, a),
        Command::Rm(a) => rm(g, a),
        Command::Memo(a) => memo(g, a),
        Command::List(a) => list(g, a),
        Command::Review(a) => review(g, a),
        Command::Check(a) => check(g, a),
        Command::Move(a) => move_coding(g, a),
        Command::Eval(a) => eval(g, a),
        Command::Learn(a) => learn(g, a),
    }
}

/// Arguments of `fieldnotes code learn`.
#[derive(clap::Args, Debug)]
pub struct LearnArgs {
    /// The coders whose codings are the examples (comma-separated).
    #[arg(long, value_delimiter = ',', required = true)]
    from: Vec<String>,
    /// Only these codes (comma-separated; default: every code).
    #[arg(long, value_delimiter = ',')]
    codes: Vec<String>,
    /// A code with fewer passages coded is not learned.
    #[arg(long, default_value_t = 5)]
    min_examples: usize,
    /// Suggest for every passage, the coders' own notes too.
    #[arg(long)]
    all: bool,
    /// Show the cross-validated quality only; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Cross-validation folds (whole notes to a fold).
    #[arg(long, default_value_t = 5)]
    folds: usize,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn learn(g: &Globals, a: LearnArgs) -> Result<ExitCode> {
    use fieldnotes_study::learn;
    let project = g.project()?;
    let opts = learn::Options {
        from: a.from.clone(),
        codes: a.codes.clone(),
        min_examples: a.min_examples,
        all: a.all,
        dry_run: a.dry_run,
        folds: a.folds.max(2),
    };
    let learned = learn::learn(&project, &opts, g)?;
    let mut out = output::stdout();
    if a.json {
        output::write_json(&mut out, &learned)?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let pct = |x: Option<f64>| x.map_or("-".to_string(), |v| format!("{v:.2}"));
    let header: Vec<String> =
        ["code", "examples", "others", "precision", "recall", "F1", "threshold", "suggested"].map(String::from).into();
    let rows: Vec<Vec<String>> = learned
        .codes
        .iter()
        .map(|r| {
            if r.learned {
                vec![
                    r.code.clone(),
                    r.positives.to_string(),
                    r.negatives.to_string(),
                    pct(r.scores.precision()),
                    pct(r.scores.recall()),
                    format!("{:.2}", r.scores.f1()),
                    format!("{:.2}", r.threshold),
                    r.suggested.to_string(),
                ]
            } else {
                vec![
                    r.code.clone(),
                    r.positives.to_string(),
                    r.negatives.to_string(),
                    format!("not learned: {}", r.why_not.as_deref().unwrap_or("too few examples")),
                    String::new(),
                    String::new(),
                    String::new(),
                    "0".into(),
                ]
            }
        })
        .collect();
    let align =
        [Align::Left, Align::Right, Align::Right, Align::Right, Align::Right, Align::Right, Align::Right, Align::Right];
    write!(out, "{}", output::table(&header, &rows, &align))?;
    writeln!(
        out,
        "Learned from {} ({} notes, {} passages, {} words and word pairs); precision, recall and F1 by {}-fold cross-validation, whole notes to a fold, at the threshold that fold's held-out scores did best at; a code is learned only where that beats suggesting it everywhere.",
        a.from.join(", "),
        learned.notes,
        learned.passages,
        learned.features,
        learned.folds
    )?;
    out.flush()?;
    if learned.withdrawn > 0 {
        output::info(
            g.quiet,
            &format!(
                "withdrew {} suggestion(s) of the earlier model, not yet reviewed, that this one no longer makes",
                learned.withdrawn
            ),
        );
    }
    if learned.written {
        let n: usize = learned.codes.iter().map(|r| r.suggested).sum();
        output::info(
            g.quiet,
            &format!(
                "wrote {n} suggestion(s) on {} note(s) as coder `model`; review them with `fieldnotes code review --from model --order uncertain` or in `fieldnotes serve`",
                learned.notes_suggested
            ),
        );
    } else if a.dry_run {
        output::info(g.quiet, "dry run: nothing written");
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `fieldnotes code auto`.
#[derive(clap::Args, Debug)]
pub struct AutoArgs {
    /// Show what would be suggested without writing anything.
    #[arg(long)]
    dry_run: bool,
    /// Print the new suggestions as JSON lines.
    #[arg(long)]
    json: bool,
}

/// The result of one auto-coding run, for the demo too.
pub struct AutoSummary {
    /// Per code id: passages suggested in this run (new) and in all (new + already there).
    pub per_code: BTreeMap<String, (usize, usize)>,
    /// New suggestions found.
    pub fresh: usize,
    /// Suggestions written (none in a dry run).
    pub written: usize,
}

/// Runs the auto-coder over the whole project and appends new suggestions to the rules ledger.
/// The notes are read a batch at a time ([`AUTO_BATCH_MB`]), so memory stays flat however
/// large the project: each batch is coded, its new suggestions shown to `each`, then handed to
/// a writer thread ([`write_batches`]) while the next batch is coded. The writer appends them to
/// the ledger (one fsync under the ledger's lock), the coding state takes them, and the batch's
/// notes, with all their codings, go to the report store made again in the same pass. The
/// search index is not touched: codes are not in it. A rerun adds nothing twice. `before` is
/// where the project stood before `codings` was read.
pub fn auto_code(
    project: &Project,
    codings: &TableParts,
    mut before: crate::store::Before,
    book: &Codebook,
    dry_run: bool,
    g: &Globals,
    each: &mut dyn FnMut(&Coding) -> Result<()>,
) -> Result<AutoSummary> {
    // The rules are compiled (a tenth of a second for the eight considerations' 84 regexes) on
    // a thread of their own while the notes are walked and the first batch is read.
    let building = {
        let book = book.clone();
        std::thread::spawn(move || AutoCoder::new(&book))
    };
    let mut building = Some(building);
    let mut rules: Option<AutoCoder> = None;
    let ledger = Ledger::new(project.root(), RULES_CODER)?;
    let versions = Versions::new(&project.derived_dir());
    let time = now();
    let mut summary =
        AutoSummary { per_code: book.codes.iter().map(|c| (c.id.clone(), (0, 0))).collect(), fresh: 0, written: 0 };
    let (files, walk_skipped) = study::NoteFiles::of(project, before.take_notes().as_ref(), g)?;
    let from = before.mark(RULES_CODER);
    let writes = if dry_run {
        None
    } else {
        // The coding state of the rules ledger, brought forward by the suggestions as they are
        // written rather than read back after.
        let state = States::new(&project.derived_dir()).extend(&ledger, &from)?;
        let store = crate::store::StoreBuild::start(before, codings, &walk_skipped)?;
        Some(Writes { store, state, written: None, contiguous: true, count: 0 })
    };
    let pb = output::progress(files.files.len() as u64, "coding", g.quiet);
    let code_index: HashMap<&str, usize> = book.codes.iter().enumerate().map(|(i, c)| (c.id.as_str(), i)).collect();
    // A batch coded waits for the writer while it writes the one before: two batches at most
    // between them, besides the one being read.
    let (to_writer, batches) = std::sync::mpsc::sync_channel::<Batch>(1);
    // The writer hands back each batch's list of suggestions, emptied, for a later batch to
    // fill: a new list each batch was megabytes of fresh pages for the system to zero.
    let (recycle, recycled) = std::sync::mpsc::channel::<Vec<Coding>>();
    let writes = std::thread::scope(|scope| -> Result<Option<Writes>> {
        let writer = writes.map(|w| scope.spawn(|| write_batches(project, batches, w, &ledger, &versions, recycle)));
        let mut to_writer = writer.is_some().then_some(to_writer);
        let batch_mb = project.config.index.batch_mb.min(AUTO_BATCH_MB);
        let coded = study::read_batches_of(
            project,
            &files.files,
            files.sizes.as_deref(),
            batch_mb,
            g,
            &|n| pb.inc(n),
            true,
            |corpus| {
                if let Some(built) = rules_built(&mut building)? {
                    rules = Some(built);
                }
                let ac = rules.as_ref().expect("the rules are compiled before the first batch is coded");
                let suggester = Suggester { ac, book, code_index: &code_index, time: &time };
                let table = study::batch_table(codings, &corpus, g)?;
                // Each note coded and its new suggestions made on its own, on every core.
                let per_note: Vec<NoteSuggestions> = corpus
                    .documents
                    .par_iter()
                    .enumerate()
                    .map_init(
                        || study::anchorer(project),
                        |anchorer, (di, d)| suggester.in_note(&table, di, d, anchorer),
                    )
                    .collect();
                let mut fresh = recycled.try_recv().unwrap_or_default();
                fresh.reserve(per_note.iter().map(|(f, _)| f.len()).sum());
                for (note_fresh, counts) in per_note {
                    fresh.extend(note_fresh);
                    for (code, (new, all)) in book.codes.iter().zip(counts) {
                        let e = summary.per_code.get_mut(&code.id).expect("every code of the book is counted");
                        e.0 += new;
                        e.1 += all;
                    }
                }
                for c in &fresh {
                    each(c)?;
                }
                summary.fresh += fresh.len();
                match &to_writer {
                    // The writer stops only on an error, which its join gives.
                    Some(w) if w.send(Batch { corpus, table, fresh }).is_err() => {
                        Err(anyhow::anyhow!("the writer stopped"))
                    }
                    _ => Ok(()),
                }
            },
        );
        // No more batches: the writer finishes what it has and returns.
        to_writer.take();
        let written = match writer {
            Some(w) => Some(w.join().map_err(|_| anyhow::anyhow!("internal: writing the suggestions failed"))??),
            None => None,
        };
        coded?;
        Ok(written)
    })?;
    // A project without notes still has its rules checked.
    rules_built(&mut building)?;
    pb.finish_and_clear();
    if let Some(Writes { mut store, state, written, contiguous, count }) = writes {
        summary.written = count;
        if let Some((first, last)) = written {
            let now = fieldnotes_coding::state::mark(&ledger)?;
            if contiguous && first == from.len && now.len == last {
                if let Some(state) = state {
                    state.finish(&now)?;
                }
                store.advance_ledger(project, &ledger, now);
            }
        }
        store.finish(project, codings, g)?;
    }
    Ok(summary)
}

/// Most MB of notes in a batch of `code auto` (less if `[index] batch_mb` says so). Up to four
/// batches are held at once (one read ahead, one coded, one waiting for the writer, one being
/// written), and a small batch is memory the allocator hands on to the next rather than fresh
/// pages the system must zero: at 100 MB of notes, in turns, 16 MB batches took 1.10 s and 208
/// MB, 4 MB 1.05 s and 189 MB, 2 MB 1.03 s and 153 MB (BENCHMARKS.md, run 31); with the
/// lighter writer of run 36, 4 MB 1.05 s and 176-180 MB, 2 MB 1.02 s and 136 MB, 1 MB 1.06 s
/// (in turns, median of 10).
const AUTO_BATCH_MB: usize = 2;

/// A batch of notes coded: the notes, their codings before the run and the new suggestions.
struct Batch {
    corpus: fieldnotes_corpus::Corpus,
    table: CodingTable,
    fresh: Vec<Coding>,
}

/// What `code auto`'s writer writes to and has written.
struct Writes {
    /// The report store made again.
    store: crate::store::StoreBuild,
    /// The rules ledger's coding state, brought forward.
    state: Option<fieldnotes_coding::state::Extender>,
    /// Where the ledger's lines written here begin and end, and whether each write followed
    /// the last (then no other line came between, and the store counts the ledger up to the end).
    written: Option<(u64, u64)>,
    contiguous: bool,
    /// Suggestions written.
    count: usize,
}

/// `code auto`'s writer: takes the batches coded, in order, and for each the report store takes
/// the notes; the versions the new suggestions count in are kept and then the ledger names them
/// (in that order, so that a ledger line never names a version not kept); the coding state takes
/// the suggestions. Batches that came while it wrote are written together: one pack of versions
/// and one fsync of the ledger for them all. Each batch's list of suggestions goes back,
/// emptied, through `recycle`. Stops at the first error, which it returns.
fn write_batches(
    project: &Project,
    batches: std::sync::mpsc::Receiver<Batch>,
    mut w: Writes,
    ledger: &Ledger,
    versions: &Versions,
    recycle: std::sync::mpsc::Sender<Vec<Coding>>,
) -> Result<Writes> {
    while let Ok(first) = batches.recv() {
        let group: Vec<Batch> = std::iter::once(first).chain(batches.try_iter()).collect();
        // One anchorer for the store's batches: each edited note is compared with its old
        // version once.
        let mut anchorer = study::anchorer(project);
        for b in &group {
            w.store.add(&b.corpus, &b.table, &b.fresh, &mut anchorer);
        }
        write_group(&group, &mut w, ledger, versions)?;
        for b in group {
            let mut fresh = b.fresh;
            fresh.clear();
            // Kept (empty) until the run ends if no batch is left to take it.
            let _ = recycle.send(fresh);
        }
    }
    Ok(w)
}

/// Writes the new suggestions of a group of batches: the versions they count in kept, then the
/// ledger's lines, then the coding state.
fn write_group(group: &[Batch], w: &mut Writes, ledger: &Ledger, versions: &Versions) -> Result<()> {
    let fresh = || group.iter().flat_map(|b| &b.fresh);
    let count = fresh().count();
    if count == 0 {
        return Ok(());
    }
    let mut kept = HashSet::new();
    let mut docs: Vec<&Document> = Vec::new();
    for b in group {
        docs.extend(b.fresh.iter().filter(|c| kept.insert(c.doc.as_str())).filter_map(|c| b.corpus.document(&c.doc)));
    }
    versions.keep_all(&docs)?;
    let (start, end) = ledger.append_adds(fresh())?;
    if let Some(state) = w.state.as_mut() {
        for b in group {
            state.add(&b.fresh);
        }
    }
    w.contiguous &= w.written.is_none_or(|(_, last)| last == start);
    w.written = Some((w.written.map_or(start, |(first, _)| first), end));
    w.count += count;
    Ok(())
}

/// The rules compiled on a thread of their own, waited for the first time (then `None`).
fn rules_built(
    building: &mut Option<std::thread::JoinHandle<fieldnotes_coding::Result<AutoCoder>>>,
) -> Result<Option<AutoCoder>> {
    match building.take() {
        Some(b) => Ok(Some(b.join().map_err(|_| anyhow::anyhow!("internal: compiling the codebook's rules failed"))??)),
        None => Ok(None),
    }
}

/// A note's new suggestions, and per code of the codebook the passages newly suggested and
/// suggested in all.
type NoteSuggestions = (Vec<Coding>, Vec<(usize, usize)>);

/// What `code auto` makes each note's suggestions with.
struct Suggester<'a> {
    ac: &'a AutoCoder,
    book: &'a Codebook,
    /// Each code's place in the codebook, by id.
    code_index: &'a HashMap<&'a str, usize>,
    /// The run's time, which its suggestions carry.
    time: &'a str,
}

impl Suggester<'_> {
    /// Codes note `d` (number `di` of its batch; `codings` are those there were in the batch's
    /// notes before the run) and makes its new suggestions. A suggestion the
    /// ledger has (by id) is not made again, nor one on a passage where an earlier suggestion of
    /// the same code stands now after edits: a passage edited since keeps its suggestion (and
    /// its review: one rejected stays rejected) instead of getting a second one under a new id.
    fn in_note(&self, codings: &CodingTable, di: usize, d: &Document, anchorer: &mut Anchorer) -> NoteSuggestions {
        let Suggester { ac, book, code_index, time } = self;
        let mut counts = vec![(0, 0); book.codes.len()];
        let mut fresh = Vec::with_capacity(d.passages.len());
        // (passage, code) pairs the rules' earlier suggestions stand on now, once needed.
        let mut standing: Option<HashSet<(usize, usize)>> = None;
        for (pi, p) in d.passages.iter().enumerate() {
            for m in ac.code_passage(d.passage_text(p), p.start) {
                if !m.suggested {
                    continue;
                }
                let code = &book.codes[m.code].id;
                let id = coding_id(RULES_CODER, &d.path, p.start, p.end, code);
                counts[m.code].1 += 1;
                if codings.was_added(RULES_CODER, &id) {
                    continue;
                }
                let here = standing.get_or_insert_with(|| {
                    let earlier: Vec<Coding> = codings.of_doc(&d.path).filter(|c| c.coder == RULES_CODER).collect();
                    units::place_in_doc(di, d, &earlier, anchorer)
                        .placed
                        .iter()
                        .filter_map(|x| code_index.get(x.coding.code.as_str()).map(|&ci| (x.passages.clone(), ci)))
                        .flat_map(|(passages, ci)| passages.map(move |pi| (pi, ci)))
                        .collect()
                });
                if here.contains(&(pi, m.code)) {
                    continue;
                }
                counts[m.code].0 += 1;
                // A whole-passage coding (`Coding::whole_passage`), made here from what is in hand:
                // its id, the run's time, the hits moved rather than copied.
                fresh.push(Coding {
                    id,
                    doc: d.path.clone(),
                    start: p.start,
                    end: p.end,
                    hash: p.hash.clone(),
                    text: String::new(),
                    code: code.clone(),
                    coder: RULES_CODER.to_string(),
                    origin: Origin::Rule,
                    status: Status::Suggested,
                    memo: None,
                    evidence: m.hits,
                    time: time.to_string(),
                    base: Some(d.hash.clone()),
                    reviewer: None,
                });
            }
        }
        (fresh, counts)
    }
}

fn auto(g: &Globals, a: AutoArgs) -> Result<ExitCode> {
    let project = g.project()?;
    // One run at a time, each reading the codings after the last one wrote them.
    let _run = if a.dry_run { None } else { Some(study::lock_auto(&project, g)?) };
    let before = crate::store::before(&project)?;
    let codings = study::coding_parts(&project, g)?;
    let book = study::codebook(&project)?;
    let mut out = output::stdout();
    let mut print = |c: &Coding| -> Result<()> {
        if a.json {
            serde_json::to_writer(&mut out, c)?;
            writeln!(out)?;
        }
        Ok(())
    };
    let summary = auto_code(&project, &codings, before, &book, a.dry_run, g, &mut print)?;
    if !a.dry_run {
        Codings::refresh_states(project.root(), &project.derived_dir())?;
    }
    if !a.json {
        let header: Vec<String> =
            ["code", if a.dry_run { "would add" } else { "new" }, "suggested in all"].map(String::from).into();
        let rows: Vec<Vec<String>> = book
            .codes
            .iter()
            .map(|c| {
                let (n, t) = summary.per_code.get(&c.id).copied().unwrap_or_default();
                vec![c.id.clone(), n.to_string(), t.to_string()]
            })
            .collect();
        write!(out, "{}", output::table(&header, &rows, &[Align::Left, Align::Right, Align::Right]))?;
    }
    out.flush()?;
    if a.dry_run {
        output::info(g.quiet, &format!("dry run: {} suggestion(s) would be added; nothing was written", summary.fresh));
    } else {
        output::info(
            g.quiet,
            &format!(
                "added {} suggestion(s) to `codings/{RULES_CODER}.jsonl`; review them with `fieldnotes code review`",
                summary.written
            ),
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `fieldnotes code explain`.
#[derive(clap::Args, Debug)]
pub struct ExplainArgs {
    /// The passage id.
    id: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn explain(g: &Globals, a: ExplainArgs) -> Result<ExitCode> {
    let study = Study::load_note(g.project()?, &a.id, g)?;
    let e = study.explain(&a.id, g)?;
    let mut out = output::stdout();
    if a.json {
        output::write_json(&mut out, &e)?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    writeln!(out, "{}", output::bold(&a.id, g.color))?;
    writeln!(
        out,
        "    {}\n",
        output::highlight(&e.text, &merge(e.hit_bytes.clone()), g.color).replace('\n', "\n    ")
    )?;
    for v in &e.codes {
        match (&v.hits, &v.excluded) {
            (Some(hits), Some(excluded)) => {
                let verdict = if v.suggested { "suggested" } else { "not suggested" };
                writeln!(
                    out,
                    "{}: {}: {} rule(s) fired, {} needed",
                    output::bold(&v.code, g.color),
                    verdict,
                    v.rules_fired,
                    v.min_evidence
                )?;
                for h in hits {
                    writeln!(out, "    {} matched \"{}\"", h.rule, h.text)?;
                }
                for h in excluded {
                    writeln!(out, "    {} matched \"{}\" but an exclusion cancelled it", h.rule, h.text)?;
                }
            }
            _ if !v.has_rules => writeln!(out, "{}: no rules", v.code)?,
            _ => writeln!(out, "{}: not suggested: none of its rules fired", v.code)?,
        }
    }
    if !e.model.is_empty() {
        writeln!(out, "\n{}", output::bold("the learned coder (the last `code learn`):", g.color))?;
        for m in &e.model {
            let verdict = if m.score >= m.threshold { "suggested" } else { "not suggested" };
            let why: Vec<String> = m.features.iter().map(|(f, c)| format!("\"{f}\" +{c:.2}")).collect();
            writeln!(
                out,
                "{}: {verdict}: score {:.2}, suggested at {:.2} and above{}",
                output::bold(&m.code, g.color),
                m.score,
                m.threshold,
                if why.is_empty() { String::new() } else { format!("; most: {}", why.join(", ")) }
            )?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn merge(mut r: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    r.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::new();
    for (s, e) in r {
        match out.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => out.push((s, e)),
        }
    }
    out
}

/// Arguments of `fieldnotes code add`.
#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// The passage id, e.g. `notes/fife/2016-03-02-board.md#kq3x7fa2` (or `…#3`, the third passage).
    id: String,
    /// The code id.
    code: String,
    /// Who is coding (default: `coder` in fieldnotes.toml, or FIELDNOTES_CODER).
    #[arg(long)]
    coder: Option<String>,
    /// A memo on the coding.
    #[arg(long)]
    memo: Option<String>,
    #[command(flatten)]
    span: SpanArgs,
}

/// Where in a passage a coding goes (default: the whole passage).
#[derive(clap::Args, Debug)]
pub struct SpanArgs {
    /// Start of a span within the passage (characters from the passage's start).
    #[arg(long, requires = "end", conflicts_with = "quote")]
    start: Option<usize>,
    /// End of the span (exclusive).
    #[arg(long, requires = "start")]
    end: Option<usize>,
    /// The span holding exactly these words.
    #[arg(long)]
    quote: Option<String>,
}

impl SpanArgs {
    /// The span these arguments give.
    fn span(&self) -> Span {
        match (self.start, self.end, &self.quote) {
            (Some(s), Some(e), _) => Span::Chars(s, e),
            (_, _, Some(q)) => Span::Quote(q.clone()),
            _ => Span::Whole,
        }
    }
}

fn add(g: &Globals, a: AddArgs) -> Result<ExitCode> {
    let study = Study::load_note(g.project()?, &a.id, g)?;
    require_code(&study.codebook()?, &a.code)?;
    let coder = coder_name(&study.project, a.coder)?;
    let added = study.add_coding(&a.id, &a.code, &coder, &a.span.span(), a.memo, g)?;
    if added.new {
        output::info(g.quiet, &format!("coded `{}` as `{}` ({coder}, {})", a.id, a.code, added.id));
    } else {
        output::info(g.quiet, &format!("`{}` already has `{}` from {coder}; nothing changed", a.id, a.code));
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `fieldnotes code rm`.
#[derive(clap::Args, Debug)]
pub struct RmArgs {
    /// The passage id (with CODE), or a coding id with --id.
    target: String,
    /// The code to remove from the passage.
    code: Option<String>,
    /// Whose codings (default: `coder` in fieldnotes.toml, or FIELDNOTES_CODER).
    #[arg(long)]
    coder: Option<String>,
    /// TARGET is a coding id (as `code list` shows).
    #[arg(long)]
    id: bool,
}

fn rm(g: &Globals, a: RmArgs) -> Result<ExitCode> {
    // The removal is recorded as by the coder named, if one was.
    let by = a.coder.clone().unwrap_or_default();
    let n = if a.id {
        code::remove_by_id(&g.project()?, &a.target, &by, g)?
    } else {
        let study = Study::load_note(g.project()?, &a.target, g)?;
        let code = a.code.clone().context("give the code to remove: `fieldnotes code rm PASSAGE_ID CODE`")?;
        let coder = coder_name(&study.project, a.coder.clone())?;
        study.remove_coding(&a.target, &code, &coder, &by, g)?
    };
    output::info(g.quiet, &format!("removed {n} coding(s)"));
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `fieldnotes code memo`.
#[derive(clap::Args, Debug)]
pub struct MemoArgs {
    /// The coding's id (as `code list` shows).
    id: String,
    /// The memo ("" for none).
    memo: String,
    /// Who writes it (default: `coder` in fieldnotes.toml, or FIELDNOTES_CODER).
    #[arg(long)]
    coder: Option<String>,
}

fn memo(g: &Globals, a: MemoArgs) -> Result<ExitCode> {
    let project = g.project()?;
    let by = coder_name(&project, a.coder)?;
    let n = code::set_memo(&project, &a.id, &a.memo, &by, g)?.len();
    let what = if a.memo.is_empty() { "took the memo off" } else { "wrote the memo on" };
    output::info(g.quiet, &format!("{what} {n} coding(s)"));
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `fieldnotes code list`.
#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Only this code.
    #[arg(long)]
    code: Option<String>,
    /// Only this site (case-insensitive).
    #[arg(long)]
    site: Option<String>,
    /// Only this coder's codings (those in their ledger; suggestions they accepted are listed
    /// by `--reviewer`).
    #[arg(long)]
    coder: Option<String>,
    /// Only codings this person reviewed (accepted or rejected), in any ledger.
    #[arg(long)]
    reviewer: Option<String>,
    /// Only this status: suggested, accepted, rejected.
    #[arg(long)]
    status: Option<Status>,
    /// Print JSON lines.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print CSV (the coded words and memos in full).
    #[arg(long)]
    csv: bool,
}

fn list(g: &Globals, a: ListArgs) -> Result<ExitCode> {
    let filter =
        code::ListFilter { code: a.code, site: a.site, coder: a.coder, reviewer: a.reviewer, status: a.status };
    let header: Vec<String> =
        ["id", "passage", "code", "coder", "status", "reviewer", "origin", "site", "text", "memo"]
            .map(String::from)
            .into();
    // Every form goes out as the codings are placed, a batch of notes at a time (a list of every
    // suggestion is as long as the study); the table holds its first rows to size its columns.
    enum Sink<'a> {
        Json(std::io::BufWriter<std::io::StdoutLock<'static>>),
        Csv(Box<csv::Writer<std::io::BufWriter<std::io::StdoutLock<'static>>>>),
        Table(output::TableWriter<'a, std::io::BufWriter<std::io::StdoutLock<'static>>>),
    }
    let mut sink = if a.json {
        Sink::Json(output::stdout())
    } else if a.csv {
        let mut w = Box::new(csv::Writer::from_writer(output::stdout()));
        w.write_record(&header)?;
        Sink::Csv(w)
    } else {
        Sink::Table(output::TableWriter::new(output::stdout(), header, &[]))
    };
    let (mut waiting, mut orphans, mut of_gone_notes) = (0usize, 0usize, 0usize);
    code::list_each(&g.project()?, &filter, g, &mut |l| {
        if l.waiting == Some(true) {
            waiting += 1;
        } else if l.orphaned == Some(true) {
            orphans += 1;
            // Those of notes no longer in the project (renamed, moved, deleted) are not words gone.
            if l.reason.as_deref().is_some_and(|r| r.starts_with("note `") && r.ends_with("is gone")) {
                of_gone_notes += 1;
            }
        }
        if let Sink::Json(out) = &mut sink {
            return output::write_json_line(out, &l);
        }
        // On a terminal the words and memos are clipped to fit; CSV, for a spreadsheet or a
        // paper, has them whole.
        let clip = |s: &str, n: usize| if a.csv { s.to_string() } else { output::clip(s, n) };
        let c = &l.coding;
        let (passage, text) = match &l.text {
            Some(t) => (l.passages.join(" "), clip(t, 60)),
            None => (format!("(orphaned: {})", c.doc), clip(&c.text, 60)),
        };
        let row = vec![
            c.id.clone(),
            passage,
            c.code.clone(),
            c.coder.clone(),
            c.status.to_string(),
            c.reviewer.clone().unwrap_or_default(),
            format!("{:?}", c.origin).to_lowercase(),
            l.site_shown.clone(),
            text,
            c.memo.as_deref().map(|m| clip(m, 40)).unwrap_or_default(),
        ];
        match &mut sink {
            Sink::Csv(w) => Ok(w.write_record(&row)?),
            Sink::Table(t) => Ok(t.row(row)?),
            Sink::Json(_) => unreachable!("written above"),
        }
    })?;
    match sink {
        Sink::Json(mut out) => out.flush()?,
        Sink::Csv(mut w) => w.flush()?,
        Sink::Table(t) => {
            let rows = t.finish()?;
            output::info(g.quiet, &format!("{rows} coding(s)"));
        }
    }
    let words_gone = orphans.saturating_sub(of_gone_notes);
    if words_gone > 0 {
        output::warn(&format!(
            "{words_gone} coding(s) are orphaned (their words are gone from their note); `fieldnotes code check` shows the candidate places, `fieldnotes code move ID PASSAGE` re-attaches one"
        ));
    }
    if of_gone_notes > 0 {
        output::warn(&format!(
            "{of_gone_notes} coding(s) are of notes no longer in the project (renamed, moved or deleted): `fieldnotes code check` names the note that holds a renamed note's text, and `--fix` carries them there"
        ));
    }
    if waiting > 0 {
        output::warn(&format!(
            "{waiting} coding(s) wait for notes that could not be read (`fieldnotes code check` names them); they count again once the notes are mended"
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `fieldnotes code review`.
#[derive(clap::Args, Debug)]
pub struct ReviewArgs {
    /// Accept every suggestion that matches the filters (no prompts).
    #[arg(long, conflicts_with = "reject")]
    accept: bool,
    /// Reject every suggestion that matches the filters (no prompts).
    #[arg(long)]
    reject: bool,
    /// Only suggestions of this code.
    #[arg(long)]
    code: Option<String>,
    /// Only suggestions in this site.
    #[arg(long)]
    site: Option<String>,
    /// Only suggestions from this ledger (default: all).
    #[arg(long = "from")]
    from: Option<String>,
    /// Only suggestions with at least this many pieces of evidence.
    #[arg(long)]
    min_hits: Option<usize>,
    /// Who is reviewing (recorded with each decision).
    #[arg(long)]
    coder: Option<String>,
    /// Ask for decisions on standard input even when it is not a terminal.
    #[arg(long)]
    prompt: bool,
    /// In what order: the notes' (default), or the learned coder's least certain suggestions
    /// first (each decision teaches the next `code learn` most).
    #[arg(long, value_enum, default_value_t = ReviewOrder::Notes)]
    order: ReviewOrder,
}

/// The order of `code review`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ReviewOrder {
    /// Note by note, as the notes are ordered.
    Notes,
    /// The learned coder's suggestions closest to their threshold first.
    Uncertain,
}

fn review(g: &Globals, a: ReviewArgs) -> Result<ExitCode> {
    let project = g.project()?;
    // Who decides is recorded with each decision, and accepted codings count as theirs too.
    let reviewer = coder_name(&project, a.coder.clone())?;
    let bulk = (a.accept || a.reject).then_some(if a.accept { Status::Accepted } else { Status::Rejected });
    if bulk.is_none() && !std::io::stdin().is_terminal() && !a.prompt {
        bail!(
            "`code review` asks on a terminal; off a terminal use `--accept` or `--reject` with filters (--code, --site, --from)"
        );
    }
    let filter =
        code::Filter { code: a.code.clone(), from: a.from.clone(), site: a.site.clone(), min_hits: a.min_hits };
    if let Some(status) = bulk {
        let n = code::decide_all(&project, &filter, status, &reviewer, g)?;
        output::info(g.quiet, &format!("{status} {n} suggestion(s)"));
        return Ok(ExitCode::SUCCESS);
    }
    let mut pending = code::pending(&project, &filter, g)?;
    if a.order == ReviewOrder::Uncertain {
        fieldnotes_study::learn::uncertain_first(&project, &mut pending);
    }
    let total = pending.len();
    let mut decided = 0;
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    for (i, code::Pending { coding: c, text, site }) in pending.iter().enumerate() {
        let mut out = output::stdout();
        writeln!(out, "\n[{}/{}] {} · {} · {}", i + 1, total, output::bold(&c.code, g.color), c.doc, site)?;
        let at = |offset: usize| -> Option<usize> {
            // Evidence offsets are relative to the coding's span, wherever the span moved.
            let rel = offset.checked_sub(c.start)?;
            Some(text.char_indices().nth(rel).map_or(text.len(), |x| x.0))
        };
        let ranges: Vec<(usize, usize)> = c.evidence.iter().filter_map(|h| Some((at(h.start)?, at(h.end)?))).collect();
        writeln!(out, "    {}", output::highlight(text, &merge(ranges), g.color).replace('\n', "\n    "))?;
        for h in &c.evidence {
            writeln!(out, "    {} {} \"{}\"", output::dim("evidence:", g.color), h.rule, h.text)?;
        }
        // Asked again on any other answer: a mistyped key neither decides nor skips.
        let answer = loop {
            write!(out, "[a]ccept  [r]eject  [s]kip  [q]uit > ")?;
            out.flush()?;
            let Some(line) = lines.next() else { break None };
            match line?.trim() {
                "a" | "accept" => break Some(Some(Status::Accepted)),
                "r" | "reject" => break Some(Some(Status::Rejected)),
                "s" | "skip" => break Some(None),
                "q" | "quit" => break None,
                other => writeln!(out, "`{other}` is not an answer: type a, r, s or q")?,
            }
        };
        let Some(answer) = answer else { break };
        let Some(status) = answer else { continue };
        code::decide(&project, c, status, &reviewer)?;
        decided += 1;
    }
    output::info(g.quiet, &format!("\n{decided} decision(s) saved; {} suggestion(s) left to review", total - decided));
    code::reviewed(&project)?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `fieldnotes code check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Record where codings stand now: moved ones at their new place (a `move` event each, in
    /// the note's current version), and orphans re-attached to a candidate passage that holds at
    /// least half of their words.
    #[arg(long)]
    fix: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn check(g: &Globals, a: CheckArgs) -> Result<ExitCode> {
    let found = fieldnotes_study::check::check(&g.project()?, a.fix, g)?;
    let mut out = output::stdout();
    if a.json {
        output::write_json(&mut out, &found)?;
    } else {
        writeln!(out, "{} coding(s) checked", found.checked)?;
        for m in &found.moved {
            let ((s0, e0), (s, e)) = (m.from, m.to);
            writeln!(out, "moved     {} ({}, {}) in `{}`: {s0}..{e0} -> {s}..{e}", m.id, m.code, m.coder, m.doc)?;
        }
        for x in &found.spread {
            writeln!(
                out,
                "spread    {} ({}, {}): covers {} passages now ({}), {} in the version it was made on (a paragraph split?): it counts in each; `fieldnotes code move {} PASSAGE` puts it on one",
                x.id,
                x.code,
                x.coder,
                x.now.len(),
                x.now.join(", "),
                x.before,
                x.id
            )?;
        }
        for o in &found.orphaned {
            if a.fix
                && let Some(to) = &o.renamed
            {
                writeln!(
                    out,
                    "carried   {} ({}, {}, {}): its note `{}` is now `{to}` (its text is there); the coding is there now, with its memo, status and reviewer",
                    o.id, o.code, o.coder, o.status, o.doc
                )?;
                continue;
            }
            let old = match &o.text {
                Some(t) => format!("\"{}\"", output::clip(t, 60)),
                None => "not known (a whole passage kept by its hash, whose note version is not kept)".to_string(),
            };
            writeln!(
                out,
                "orphaned  {} ({}, {}, {}) in `{}`: {}; its text was {old}",
                o.id, o.code, o.coder, o.status, o.doc, o.reason
            )?;
            if let Some(m) = o.memo.as_deref() {
                writeln!(out, "          memo: {}", output::clip(m, 60))?;
            }
            if let Some(to) = &o.renamed {
                writeln!(
                    out,
                    "          its note is now `{to}` (its text is there): `fieldnotes code check --fix` moves it there, with its memo, status and reviewer"
                )?;
                continue;
            }
            match &o.candidate {
                // A candidate holding few of its words is only where the words stood: no command
                // to paste, lest a coding be moved onto words it never had.
                Some(c) if c.words_kept < 0.5 => writeln!(
                    out,
                    "          where its words stood: `{}` ({:.0}% of its words): \"{}\"\n          re-attach by hand if it belongs there, or remove it: fieldnotes code move {} PASSAGE, fieldnotes code rm --id {}",
                    c.passage,
                    c.words_kept * 100.0,
                    c.text,
                    o.id,
                    o.id
                )?,
                Some(c) => writeln!(
                    out,
                    "          candidate: `{}` ({:.0}% of its words): \"{}\"\n          re-attach: fieldnotes code move {} {}{}",
                    c.passage,
                    c.words_kept * 100.0,
                    c.text,
                    o.id,
                    c.passage,
                    if c.whole { "" } else { " --quote \"...\" (it was a quote: name the words it codes now)" }
                )?,
                None if o.reason.contains("is gone") => writeln!(
                    out,
                    "          no note holds its text now; if the note was renamed or moved and then edited, give it back its old name, or remove the coding: fieldnotes code rm --id {}",
                    o.id
                )?,
                None => {
                    writeln!(out, "          no candidate; re-attach by hand: fieldnotes code move {} PASSAGE", o.id)?
                }
            }
        }
        for c in &found.unknown_codes {
            writeln!(out, "unknown   {} uses code `{}`, which is not in the codebook ({})", c.id, c.code, c.coder)?;
        }
        for b in &found.bad_lines {
            writeln!(out, "unreadable {b}")?;
        }
        for c in &found.conflicting_adds {
            writeln!(
                out,
                "conflict  {} is added twice with other content in `{}` (lines {} and {}): line {} counts, line {} changes nothing; remove the line that is wrong, or if both codings are meant, add the second again with `fieldnotes code add`",
                c.id, c.ledger, c.first_line, c.line, c.first_line, c.line
            )?;
        }
        for u in &found.unread_notes {
            writeln!(
                out,
                "waiting   {} coding(s) in `{}`, which could not be read: {}; they count again once the note is mended",
                u.codings, u.path, u.reason
            )?;
        }
        if found.moved.is_empty()
            && found.orphaned.is_empty()
            && found.unread_notes.is_empty()
            && found.unknown_codes.is_empty()
            && found.bad_lines.is_empty()
            && found.conflicting_adds.is_empty()
        {
            writeln!(out, "all codings sit on their text and use codes of the codebook")?;
        }
    }
    out.flush()?;
    if a.fix {
        output::info(
            g.quiet,
            &format!(
                "recorded the current place of {} coding(s) ({} moved), re-attached {} orphan(s)",
                found.to_record,
                found.moved.len(),
                found.reattached
            ),
        );
    }
    Ok(if found.failing(a.fix) { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Arguments of `fieldnotes code move`.
#[derive(clap::Args, Debug)]
pub struct MoveArgs {
    /// The coding id (as `code list` and `code check` show it).
    coding: String,
    /// The passage to put it on, e.g. `notes/fife/2016-03-02-board.md#kq3x7fa2`.
    passage: String,
    #[command(flatten)]
    span: SpanArgs,
    /// Who moves it (recorded; default: `coder` in fieldnotes.toml, or FIELDNOTES_CODER).
    #[arg(long)]
    coder: Option<String>,
}

fn move_coding(g: &Globals, a: MoveArgs) -> Result<ExitCode> {
    let study = Study::load_note(g.project()?, &a.passage, g)?;
    // Who moved it is recorded, as who added or reviewed a coding is.
    let by = coder_name(&study.project, a.coder.clone())?;
    let (_, doc, p) = study.passage(&a.passage, g)?;
    // The note's codings are loaded; a coding of another note is looked for in the compact
    // table of them all, to say where it is.
    let found = study.codings.iter().find(|c| c.id == a.coding).cloned();
    let c = match found {
        Some(c) => c,
        None => study::coding_table(&study.project, g)?
            .with_id(&a.coding)
            .next()
            .with_context(|| format!("no coding with id `{}`; `fieldnotes code list` shows the ids", a.coding))?,
    };
    if doc.path != c.doc {
        bail!(
            "coding `{}` is in `{}`, not in `{}`; a coding stays in its note (remove it and code the other note)",
            c.id,
            c.doc,
            doc.path
        );
    }
    let (rs, re) = code::span_in_passage(doc, p, &a.passage, &a.span.span())?;
    let (start, end) = (p.start + rs, p.start + re);
    let text = &doc.text[doc.byte_offset(start).unwrap_or(p.byte_start)..doc.byte_offset(end).unwrap_or(p.byte_end)];
    Versions::new(&study.project.derived_dir()).keep(doc)?;
    Ledger::new(study.project.root(), &c.coder)?.append(&[Event::Move {
        id: c.id.clone(),
        doc: Some(c.doc.clone()),
        start,
        end,
        base: Some(doc.hash.clone()),
        text: Some(text.to_string()),
        by,
        time: now(),
    }])?;
    output::info(
        g.quiet,
        &format!("moved `{}` ({}, {}) to `{}`: \"{}\"", c.id, c.code, c.coder, a.passage, output::clip(text, 60)),
    );
    study.after_coding()?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `fieldnotes code eval`.
#[derive(clap::Args, Debug)]
pub struct EvalArgs {
    /// The reference coder (their accepted codings are the truth).
    #[arg(long)]
    against: String,
    /// The coder to evaluate (default: the rules, suggestions included).
    #[arg(long, default_value = RULES_CODER)]
    coder: String,
    /// Print JSON.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print CSV.
    #[arg(long)]
    csv: bool,
}

fn eval(g: &Globals, a: EvalArgs) -> Result<ExitCode> {
    // Only the notes the reference coder coded or reviewed in count: only those are read, with
    // every coding on them (the whole study when the coding states cannot tell which they are).
    // Many such notes are read a batch at a time.
    let project = g.project()?;
    let e = match study::shared_notes(&project, std::slice::from_ref(&a.against))? {
        Some(judged) if judged.len() > study::NOTES_AT_ONCE => {
            code::Eval::in_batches(&project, &judged, &a.coder, &a.against, g)?
        }
        Some(judged) => code::Eval::of(&Study::load_notes(project, &judged, g)?, &a.coder, &a.against)?,
        None => code::Eval::of(&Study::load(project, g)?, &a.coder, &a.against)?,
    };
    if !e.not_in_codebook.is_empty() {
        let shown: Vec<String> = e.not_in_codebook.iter().take(5).map(|(c, n)| format!("`{c}` ({n})")).collect();
        output::warn(&format!(
            "codes the codebook does not have are in no row ({}): a code renamed in `codebook.toml` keeps its old id in the ledgers",
            shown.join(", ")
        ));
    }
    let row = |r: &code::EvalRow| {
        let n = |x: usize| x.to_string();
        vec![r.code.clone(), n(r.tp), n(r.fp), n(r.fn_), fmt3(r.precision), fmt3(r.recall), fmt3(r.f1)]
    };
    let mut rows: Vec<Vec<String>> = e.codes.iter().map(row).collect();
    rows.push(row(&e.micro));
    let mut out = output::stdout();
    let header: Vec<String> = ["code", "tp", "fp", "fn", "precision", "recall", "f1"].map(String::from).into();
    let elsewhere = if e.reviewed_elsewhere > 0 {
        format!(", and the suggestions {} rejected in {} other note(s)", e.against, e.reviewed_elsewhere)
    } else {
        String::new()
    };
    let scope = if e.both {
        let left = if e.not_coded > 0 {
            format!("; {} note(s) {} coded and {} did not are left out", e.not_coded, e.against, e.coder)
        } else {
            String::new()
        };
        format!("passages of the {} note(s) both coded{elsewhere}{left}", e.notes)
    } else {
        format!(
            "passages of the {} note(s) {} coded{elsewhere}; every suggestion of {} counts, reviewed or not (one {} rejected is a false positive)",
            e.notes, e.against, e.coder, e.against
        )
    };
    let caption = format!(
        "{} against {} ({scope}): a true positive is a passage both gave the code, a false positive one only {} gave it, a miss one only {} gave it",
        e.coder, e.against, e.coder, e.against
    );
    if a.json {
        output::write_json(&mut out, &e)?;
    } else if a.csv {
        output::write_csv(&mut out, &header, &rows)?;
        output::info(g.quiet, &format!("caption: {caption}"));
    } else {
        writeln!(out, "{caption}")?;
        let mut align = vec![Align::Left];
        align.extend([Align::Right; 6]);
        write!(out, "{}", output::table(&header, &rows, &align))?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Three decimals, or `n/a` where undefined.
pub fn fmt3(x: Option<f64>) -> String {
    x.map_or_else(|| "n/a".into(), |v| format!("{v:.3}"))
}
