//! `fieldnotes code ...`: auto-coding with evidence, manual coding, review, checks and evaluation.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use fieldnotes_coding::ledger::{
    self, Anchor, Coding, Codings, Event, Ledger, Origin, RULES_CODER, Status, coding_id, now,
};
use fieldnotes_coding::units::{self, Selection};
use fieldnotes_coding::{AutoCoder, Codebook, CodingTable};
use fieldnotes_corpus::{Document, Passage, Project, text_hash};
use fieldnotes_index::WriterOptions;

use crate::Globals;
use crate::output::{self, Align};
use crate::study::{self, Study};

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
    /// List codings.
    List(ListArgs),
    /// Accept or reject suggestions: interactively on a terminal, or with --accept/--reject.
    Review(ReviewArgs),
    /// Check codings against the notes (moved or orphaned text) and the codebook.
    Check(CheckArgs),
    /// Precision, recall and F1 of one coder (default: the rules) against another.
    Eval(EvalArgs),
}

/// Runs a `fieldnotes code` subcommand.
pub fn run(g: &Globals, c: Command) -> Result<ExitCode> {
    match c {
        Command::Auto(a) => auto(g, a),
        Command::Explain(a) => explain(g, a),
        Command::Add(a) => add(g, a),
        Command::Rm(a) => rm(g, a),
        Command::List(a) => list(g, a),
        Command::Review(a) => review(g, a),
        Command::Check(a) => check(g, a),
        Command::Eval(a) => eval(g, a),
    }
}

fn coder_name(study: &Study, given: Option<String>) -> Result<String> {
    let name = given
        .or_else(|| std::env::var("FIELDNOTES_CODER").ok().filter(|s| !s.is_empty()))
        .or_else(|| study.project.config.coder.clone())
        .context(
            "no coder given; pass `--coder NAME`, set `coder = \"NAME\"` in `fieldnotes.toml`, or set FIELDNOTES_CODER",
        )?;
    ledger::validate_coder(&name)?;
    Ok(name)
}

fn require_code(book: &Codebook, code: &str) -> Result<()> {
    if book.code(code).is_some() {
        return Ok(());
    }
    let ids: Vec<&str> = book.codes.iter().map(|c| c.id.as_str()).collect();
    bail!("unknown code `{code}`; the codebook has: {}", ids.join(", "))
}

/// Re-reads the codings and updates the index, if one exists, so `code:` searches stay right.
fn refresh_index(g: &Globals, study: &mut Study) -> Result<()> {
    study.codings = Codings::load(study.project.root())?;
    study.update_index(g, false)?;
    Ok(())
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
/// The notes are read a batch at a time (`[index] batch_mb`), so memory stays flat however
/// large the project: each batch is coded, its new suggestions shown to `each`, appended to the
/// ledger (one write and one fsync under the ledger's lock), and, if the project has a search
/// index, its notes updated in the index with their codes. A rerun adds nothing twice.
pub fn auto_code(
    g: &Globals,
    project: &Project,
    codings: &CodingTable,
    book: &Codebook,
    dry_run: bool,
    each: &mut dyn FnMut(&Coding) -> Result<()>,
) -> Result<AutoSummary> {
    let ac = AutoCoder::new(book)?;
    let ledger = Ledger::new(project.root(), RULES_CODER)?;
    let time = now();
    let mut summary =
        AutoSummary { per_code: book.codes.iter().map(|c| (c.id.clone(), (0, 0))).collect(), fresh: 0, written: 0 };
    // The index, if there is one, takes each batch's notes with their codes, new ones included.
    let mut index = if dry_run { None } else { study::existing_index(project, g)? };
    let opts = WriterOptions::from_config(&project.config.index);
    let mut update = index.as_mut().map(|(_, idx)| idx.begin_update(&opts));
    let files = study::note_files(project)?;
    let pb = output::progress(files.len() as u64, "coding", g.quiet);
    study::read_in_batches(project, &files, &|n| pb.inc(n), |corpus| {
        let found = ac.code_corpus(&corpus, &|_| {});
        let mut fresh = Vec::new();
        for pm in &found {
            let d = &corpus.documents[pm.doc];
            let p = &d.passages[pm.passage];
            for m in pm.matches.iter().filter(|m| m.suggested) {
                let code = &book.codes[m.code].id;
                let id = coding_id(RULES_CODER, &d.path, p.start, p.end, code);
                let e = summary.per_code.entry(code.clone()).or_default();
                e.1 += 1;
                if codings.was_added(RULES_CODER, &id) {
                    continue;
                }
                e.0 += 1;
                fresh.push(Coding {
                    evidence: m.hits.clone(),
                    time: time.clone(),
                    ..Coding::whole_passage(d, p, code, RULES_CODER, Origin::Rule, Status::Suggested)
                });
            }
        }
        drop(found);
        for c in &fresh {
            each(c)?;
        }
        summary.fresh += fresh.len();
        if dry_run {
            return Ok(());
        }
        let codes = update.as_ref().map(|_| study::batch_codes(&corpus, codings, &fresh));
        if !fresh.is_empty() {
            let events: Vec<Event> = fresh.into_iter().map(Event::Add).collect();
            ledger.append(&events)?;
            summary.written += events.len();
        }
        if let (Some(update), Some(codes)) = (update.as_mut(), codes) {
            update.add(&corpus, &|d, p| study::codes_of(&codes, d, p), &|_| {})?;
        }
        Ok(())
    })?;
    if let Some(update) = update {
        update.finish()?;
    }
    pb.finish_and_clear();
    Ok(summary)
}

fn auto(g: &Globals, a: AutoArgs) -> Result<ExitCode> {
    let project = g.project()?;
    let codings = study::coding_table(&project)?;
    let book = study::codebook(&project)?;
    let mut out = output::stdout();
    let mut print = |c: &Coding| -> Result<()> {
        if a.json {
            serde_json::to_writer(&mut out, c)?;
            writeln!(out)?;
        }
        Ok(())
    };
    let summary = auto_code(g, &project, &codings, &book, a.dry_run, &mut print)?;
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
    let study = Study::load(g)?;
    let book = study.codebook()?;
    let (_, doc, p) = study.passage(&a.id)?;
    let ac = AutoCoder::new(&book)?;
    let text = doc.passage_text(p);
    let found = ac.code_passage(text, p.start);
    let mut out = output::stdout();
    if a.json {
        let v: Vec<serde_json::Value> = book
            .codes
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let m = found.iter().find(|m| m.code == i);
                serde_json::json!({
                    "code": c.id, "suggested": m.is_some_and(|m| m.suggested),
                    "rules_fired": m.map_or(0, |m| m.rules_fired), "min_evidence": c.rules.min_evidence.max(1),
                    "hits": m.map(|m| &m.hits), "excluded": m.map(|m| &m.excluded),
                })
            })
            .collect();
        serde_json::to_writer_pretty(&mut out, &serde_json::json!({"passage": a.id, "codes": v}))?;
        writeln!(out)?;
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let ranges: Vec<(usize, usize)> = {
        let mut r: Vec<(usize, usize)> = found
            .iter()
            .flat_map(|m| m.hits.iter())
            .filter_map(|h| Some((char_to_passage_byte(doc, p, h.start)?, char_to_passage_byte(doc, p, h.end)?)))
            .collect();
        r.sort_unstable();
        r.dedup();
        r
    };
    writeln!(out, "{}", output::bold(&a.id, g.color))?;
    writeln!(out, "    {}\n", output::highlight(text, &merge(ranges), g.color).replace('\n', "\n    "))?;
    for (i, c) in book.codes.iter().enumerate() {
        let need = c.rules.min_evidence.max(1);
        match found.iter().find(|m| m.code == i) {
            Some(m) => {
                let verdict = if m.suggested { "suggested" } else { "not suggested" };
                writeln!(
                    out,
                    "{} {}: {} rule(s) fired, {} needed",
                    output::bold(&c.id, g.color),
                    verdict,
                    m.rules_fired,
                    need
                )?;
                for h in &m.hits {
                    writeln!(out, "    {} matched \"{}\"", h.rule, h.text)?;
                }
                for h in &m.excluded {
                    writeln!(out, "    {} matched \"{}\" but an exclusion cancelled it", h.rule, h.text)?;
                }
            }
            None if c.rules.is_empty() => writeln!(out, "{}: no rules", c.id)?,
            None => writeln!(out, "{}: not suggested: none of its rules fired", c.id)?,
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

/// A document code-point offset as a byte offset into the passage text.
fn char_to_passage_byte(doc: &Document, p: &Passage, offset: usize) -> Option<usize> {
    Some(doc.byte_offset(offset)?.checked_sub(p.byte_start)?.min(p.byte_end - p.byte_start))
}

/// Arguments of `fieldnotes code add`.
#[derive(clap::Args, Debug)]
pub struct AddArgs {
    /// The passage id, e.g. `notes/fife/2016-03-02-board.md#3`.
    id: String,
    /// The code id.
    code: String,
    /// Who is coding (default: `coder` in fieldnotes.toml, or FIELDNOTES_CODER).
    #[arg(long)]
    coder: Option<String>,
    /// A memo on the coding.
    #[arg(long)]
    memo: Option<String>,
    /// Start of a span within the passage (characters from the passage's start).
    #[arg(long, requires = "end", conflicts_with = "quote")]
    start: Option<usize>,
    /// End of the span (exclusive).
    #[arg(long, requires = "start")]
    end: Option<usize>,
    /// Code the span holding exactly these words.
    #[arg(long)]
    quote: Option<String>,
}

fn add(g: &Globals, a: AddArgs) -> Result<ExitCode> {
    let mut study = Study::load(g)?;
    let book = study.codebook()?;
    require_code(&book, &a.code)?;
    let coder = coder_name(&study, a.coder)?;
    let (_, doc, p) = study.passage(&a.id)?;
    let ptext = doc.passage_text(p);
    let plen = ptext.chars().count();
    let (rs, re) = match (a.start, a.end, &a.quote) {
        (Some(s), Some(e), _) => {
            if s >= e || e > plen {
                bail!(
                    "span {s}..{e} does not fit passage `{}`, which is {plen} characters long; give 0 <= start < end <= {plen}",
                    a.id
                );
            }
            (s, e)
        }
        (_, _, Some(q)) => {
            let found: Vec<usize> = ptext.match_indices(q.as_str()).map(|(b, _)| b).collect();
            match found.as_slice() {
                [] => bail!("the words \"{q}\" are not in passage `{}`; quote them exactly as in the note", a.id),
                [b] => {
                    let s = ptext[..*b].chars().count();
                    (s, s + q.chars().count())
                }
                _ => bail!(
                    "the words \"{q}\" occur {} times in passage `{}`; give a longer quote or use --start/--end",
                    found.len(),
                    a.id
                ),
            }
        }
        _ => (0, plen),
    };
    let (start, end) = (p.start + rs, p.start + re);
    let (bs, be) = (doc.byte_offset(start).unwrap_or(p.byte_start), doc.byte_offset(end).unwrap_or(p.byte_end));
    let text = &doc.text[bs..be];
    let id = coding_id(&coder, &doc.path, start, end, &a.code);
    let already = study.codings.ledgers.get(&coder).is_some_and(|s| s.codings.contains_key(&id));
    if already {
        output::info(g.quiet, &format!("`{}` already has `{}` from {coder}; nothing changed", a.id, a.code));
        return Ok(ExitCode::SUCCESS);
    }
    let coding = Coding {
        id: id.clone(),
        doc: doc.path.clone(),
        start,
        end,
        hash: text_hash(text),
        text: text.to_string(),
        code: a.code.clone(),
        coder: coder.clone(),
        origin: Origin::Manual,
        status: Status::Accepted,
        memo: a.memo,
        evidence: vec![],
        time: now(),
    };
    Ledger::new(study.project.root(), &coder)?.append(&[Event::Add(coding)])?;
    output::info(g.quiet, &format!("coded `{}` as `{}` ({coder}, {id})", a.id, a.code));
    refresh_index(g, &mut study)?;
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
    let mut study = Study::load(g)?;
    let mut by_ledger: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if a.id {
        for c in study.codings.iter().filter(|c| c.id == a.target) {
            by_ledger.entry(c.coder.clone()).or_default().push(c.id.clone());
        }
        if by_ledger.is_empty() {
            bail!("no coding with id `{}`; `fieldnotes code list` shows the ids", a.target);
        }
    } else {
        let code = a.code.clone().context("give the code to remove: `fieldnotes code rm PASSAGE_ID CODE`")?;
        let coder = coder_name(&study, a.coder.clone())?;
        let (di, _, p) = study.passage(&a.target)?;
        let pi = (p.ordinal - 1) as usize;
        let placement = study.placement();
        for x in placement.placed.iter().filter(|x| x.doc == di && x.passages.contains(&pi)) {
            if x.coding.code == code && x.coding.coder == coder {
                by_ledger.entry(coder.clone()).or_default().push(x.coding.id.clone());
            }
        }
        if by_ledger.is_empty() {
            bail!("`{}` has no coding `{code}` by {coder}; `fieldnotes show {}` lists its codes", a.target, a.target);
        }
    }
    let by = a.coder.clone().unwrap_or_default();
    let mut n = 0;
    for (coder, ids) in &by_ledger {
        let events: Vec<Event> =
            ids.iter().map(|id| Event::Remove { id: id.clone(), by: by.clone(), time: now() }).collect();
        n += events.len();
        Ledger::new(study.project.root(), coder)?.append(&events)?;
    }
    output::info(g.quiet, &format!("removed {n} coding(s)"));
    refresh_index(g, &mut study)?;
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
    /// Only this coder.
    #[arg(long)]
    coder: Option<String>,
    /// Only this status: suggested, accepted, rejected.
    #[arg(long)]
    status: Option<Status>,
    /// Print JSON lines.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print CSV.
    #[arg(long)]
    csv: bool,
}

fn list(g: &Globals, a: ListArgs) -> Result<ExitCode> {
    let study = Study::load(g)?;
    let placement = study.placement();
    let site_of = |doc: &str| study.corpus.document(doc).and_then(|d| d.attr_str("site")).unwrap_or("").to_string();
    let keep = |c: &Coding| {
        a.code.as_ref().is_none_or(|x| &c.code == x)
            && a.coder.as_ref().is_none_or(|x| &c.coder == x)
            && a.status.is_none_or(|s| c.status == s)
            && a.site.as_ref().is_none_or(|s| site_of(&c.doc).eq_ignore_ascii_case(s))
    };
    let mut rows = Vec::new();
    let mut json = Vec::new();
    for x in placement.placed.iter().filter(|x| keep(x.coding)) {
        let d = &study.corpus.documents[x.doc];
        let ids: Vec<String> = x.passages.clone().map(|i| d.passage_id(&d.passages[i])).collect();
        let c = x.coding;
        rows.push(vec![
            c.id.clone(),
            ids.join(" "),
            c.code.clone(),
            c.coder.clone(),
            c.status.to_string(),
            format!("{:?}", c.origin).to_lowercase(),
            site_of(&c.doc),
            output::clip(x.text(&study.corpus), 60),
        ]);
        if a.json {
            json.push(serde_json::json!({"coding": c, "passages": ids, "site": site_of(&c.doc), "moved": x.moved}));
        }
    }
    let orphans: Vec<&Coding> = placement.orphans.iter().map(|o| o.coding).filter(|c| keep(c)).collect();
    let mut out = output::stdout();
    if a.json {
        for v in json {
            serde_json::to_writer(&mut out, &v)?;
            writeln!(out)?;
        }
        for c in &orphans {
            serde_json::to_writer(&mut out, &serde_json::json!({"coding": c, "passages": [], "orphaned": true}))?;
            writeln!(out)?;
        }
    } else {
        let header: Vec<String> =
            ["id", "passage", "code", "coder", "status", "origin", "site", "text"].map(String::from).into();
        if a.csv {
            output::write_csv(&mut out, &header, &rows)?;
        } else {
            write!(out, "{}", output::table(&header, &rows, &[]))?;
            output::info(g.quiet, &format!("{} coding(s)", rows.len()));
        }
    }
    out.flush()?;
    if !orphans.is_empty() {
        output::warn(&format!(
            "{} coding(s) are orphaned (their text is gone); `fieldnotes code check` lists them",
            orphans.len()
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
}

fn review(g: &Globals, a: ReviewArgs) -> Result<ExitCode> {
    let mut study = Study::load(g)?;
    let reviewer = coder_name(&study, a.coder.clone()).unwrap_or_else(|_| "reviewer".into());
    let site_of = |doc: &str| study.corpus.document(doc).and_then(|d| d.attr_str("site")).unwrap_or("").to_string();
    let placement = study.placement();
    let pending: Vec<(Coding, String)> = placement
        .placed
        .iter()
        .filter(|x| x.coding.status == Status::Suggested)
        .filter(|x| a.code.as_ref().is_none_or(|c| &x.coding.code == c))
        .filter(|x| a.from.as_ref().is_none_or(|c| &x.coding.coder == c))
        .filter(|x| a.site.as_ref().is_none_or(|s| site_of(&x.coding.doc).eq_ignore_ascii_case(s)))
        .filter(|x| a.min_hits.is_none_or(|n| x.coding.evidence.len() >= n))
        .map(|x| (x.coding.clone(), x.text(&study.corpus).to_string()))
        .collect();
    if a.accept || a.reject {
        let status = if a.accept { Status::Accepted } else { Status::Rejected };
        let mut by_ledger: BTreeMap<&str, Vec<Event>> = BTreeMap::new();
        for (c, _) in &pending {
            by_ledger.entry(&c.coder).or_default().push(Event::Status {
                id: c.id.clone(),
                status,
                by: reviewer.clone(),
                time: now(),
            });
        }
        for (coder, events) in &by_ledger {
            Ledger::new(study.project.root(), coder)?.append(events)?;
        }
        output::info(g.quiet, &format!("{status} {} suggestion(s)", pending.len()));
        refresh_index(g, &mut study)?;
        return Ok(ExitCode::SUCCESS);
    }
    if !std::io::stdin().is_terminal() && !a.prompt {
        bail!(
            "`code review` asks on a terminal; off a terminal use `--accept` or `--reject` with filters (--code, --site, --from)"
        );
    }
    let total = pending.len();
    let mut decided = 0;
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    for (i, (c, text)) in pending.iter().enumerate() {
        let mut out = output::stdout();
        writeln!(out, "\n[{}/{}] {} · {} · {}", i + 1, total, output::bold(&c.code, g.color), c.doc, site_of(&c.doc))?;
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
        write!(out, "[a]ccept  [r]eject  [s]kip  [q]uit > ")?;
        out.flush()?;
        let Some(line) = lines.next() else { break };
        let status = match line?.trim() {
            "a" | "accept" => Status::Accepted,
            "r" | "reject" => Status::Rejected,
            "q" | "quit" => break,
            _ => continue,
        };
        Ledger::new(study.project.root(), &c.coder)?.append(&[Event::Status {
            id: c.id.clone(),
            status,
            by: reviewer.clone(),
            time: now(),
        }])?;
        decided += 1;
    }
    output::info(g.quiet, &format!("\n{decided} decision(s) saved; {} suggestion(s) left to review", total - decided));
    refresh_index(g, &mut study)?;
    Ok(ExitCode::SUCCESS)
}

/// Arguments of `fieldnotes code check`.
#[derive(clap::Args, Debug)]
pub struct CheckArgs {
    /// Record the new position of codings whose text moved (appends `move` events).
    #[arg(long)]
    fix: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

fn check(g: &Globals, a: CheckArgs) -> Result<ExitCode> {
    let study = Study::load(g)?;
    let book = study.codebook().ok();
    let mut moved: Vec<(&Coding, usize, usize)> = Vec::new();
    let mut orphaned: Vec<(&Coding, String)> = Vec::new();
    for c in study.codings.iter() {
        match ledger::anchor(c, study.corpus.document(&c.doc)) {
            Anchor::Exact => {}
            Anchor::Moved { start, end } => moved.push((c, start, end)),
            Anchor::Orphaned { reason } => orphaned.push((c, reason)),
        }
    }
    let unknown: Vec<&Coding> = match &book {
        Some(b) => study.codings.iter().filter(|c| b.code(&c.code).is_none()).collect(),
        None => vec![],
    };
    let bad: Vec<String> = study.codings.bad_lines().map(|b| b.to_string()).collect();
    let mut out = output::stdout();
    if a.json {
        let v = serde_json::json!({
            "moved": moved.iter().map(|(c, s, e)| serde_json::json!({"id": c.id, "coder": c.coder, "doc": c.doc, "from": [c.start, c.end], "to": [s, e]})).collect::<Vec<_>>(),
            "orphaned": orphaned.iter().map(|(c, r)| serde_json::json!({"id": c.id, "coder": c.coder, "doc": c.doc, "code": c.code, "text": c.text, "reason": r})).collect::<Vec<_>>(),
            "unknown_codes": unknown.iter().map(|c| serde_json::json!({"id": c.id, "coder": c.coder, "code": c.code})).collect::<Vec<_>>(),
            "bad_lines": bad,
        });
        serde_json::to_writer_pretty(&mut out, &v)?;
        writeln!(out)?;
    } else {
        writeln!(out, "{} coding(s) checked", study.codings.iter().count())?;
        for (c, s, e) in &moved {
            writeln!(
                out,
                "moved     {} ({}, {}) in `{}`: {}..{} -> {s}..{e}",
                c.id, c.code, c.coder, c.doc, c.start, c.end
            )?;
        }
        for (c, r) in &orphaned {
            writeln!(
                out,
                "orphaned  {} ({}, {}) in `{}`: {r}; its text was \"{}\"",
                c.id,
                c.code,
                c.coder,
                c.doc,
                output::clip(&c.text, 60)
            )?;
        }
        for c in &unknown {
            writeln!(out, "unknown   {} uses code `{}`, which is not in the codebook ({})", c.id, c.code, c.coder)?;
        }
        for b in &bad {
            writeln!(out, "unreadable {b}")?;
        }
        if moved.is_empty() && orphaned.is_empty() && unknown.is_empty() && bad.is_empty() {
            writeln!(out, "all codings sit on their text and use codes of the codebook")?;
        }
    }
    out.flush()?;
    if a.fix && !moved.is_empty() {
        let mut by_ledger: BTreeMap<&str, Vec<Event>> = BTreeMap::new();
        for (c, s, e) in &moved {
            by_ledger.entry(&c.coder).or_default().push(Event::Move {
                id: c.id.clone(),
                start: *s,
                end: *e,
                time: now(),
            });
        }
        for (coder, events) in &by_ledger {
            Ledger::new(study.project.root(), coder)?.append(events)?;
        }
        output::info(g.quiet, &format!("recorded the new position of {} moved coding(s)", moved.len()));
    }
    let failing = !orphaned.is_empty() || !unknown.is_empty() || !bad.is_empty() || (!a.fix && !moved.is_empty());
    Ok(if failing { ExitCode::from(1) } else { ExitCode::SUCCESS })
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
    let study = Study::load(g)?;
    let book = study.codebook()?;
    if !study.codings.ledgers.contains_key(&a.against) {
        bail!("no ledger for coder `{}` in `codings/`", a.against);
    }
    let placement = study.placement();
    let truth =
        units::passage_codes(&placement, &Selection { coders: vec![a.against.clone()], include_suggested: false });
    let pred = units::passage_codes(&placement, &Selection { coders: vec![a.coder.clone()], include_suggested: true });
    // Only passages the reference coder has seen count: documents they coded at all.
    let docs: HashSet<usize> = truth.keys().map(|k| k.0).collect();
    let mut rows = Vec::new();
    let mut json = Vec::new();
    let (mut ttp, mut tfp, mut tfn) = (0usize, 0usize, 0usize);
    for c in &book.codes {
        let t: BTreeSet<(usize, usize)> = truth.iter().filter(|(_, s)| s.contains(&c.id)).map(|(k, _)| *k).collect();
        let p: BTreeSet<(usize, usize)> =
            pred.iter().filter(|(k, s)| docs.contains(&k.0) && s.contains(&c.id)).map(|(k, _)| *k).collect();
        let tp = t.intersection(&p).count();
        let (fp, fn_) = (p.len() - tp, t.len() - tp);
        ttp += tp;
        tfp += fp;
        tfn += fn_;
        let (pr, rc, f1) = units::precision_recall_f1(tp, fp, fn_);
        rows.push(vec![c.id.clone(), tp.to_string(), fp.to_string(), fn_.to_string(), fmt3(pr), fmt3(rc), fmt3(f1)]);
        json.push(
            serde_json::json!({"code": c.id, "tp": tp, "fp": fp, "fn": fn_, "precision": pr, "recall": rc, "f1": f1}),
        );
    }
    let (pr, rc, f1) = units::precision_recall_f1(ttp, tfp, tfn);
    rows.push(vec!["(micro)".into(), ttp.to_string(), tfp.to_string(), tfn.to_string(), fmt3(pr), fmt3(rc), fmt3(f1)]);
    let mut out = output::stdout();
    let header: Vec<String> = ["code", "tp", "fp", "fn", "precision", "recall", "f1"].map(String::from).into();
    if a.json {
        serde_json::to_writer_pretty(
            &mut out,
            &serde_json::json!({"coder": a.coder, "against": a.against, "unit": "passage", "codes": json, "micro": {"precision": pr, "recall": rc, "f1": f1}}),
        )?;
        writeln!(out)?;
    } else if a.csv {
        output::write_csv(&mut out, &header, &rows)?;
    } else {
        writeln!(
            out,
            "{} against {} (passages of the {} note(s) {} coded)",
            a.coder,
            a.against,
            docs.len(),
            a.against
        )?;
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
