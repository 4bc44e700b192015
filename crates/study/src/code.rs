//! Coding by hand: a code put on a passage (or on words within it), and taken off again,
//! with the checks every front end needs (a coder's name, a code of the codebook, a span that
//! fits, quoted words found exactly once).

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use fieldnotes_coding::ledger::{self, Coding, Event, Ledger, Origin, Status, coding_id, now};
use fieldnotes_coding::{Codebook, Codings, Versions, units};
use fieldnotes_corpus::{Document, Passage, Project, text_hash};
use serde::Serialize;

use crate::Tell;
use crate::study::{Scope, Study};

/// Where in a passage a coding goes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Span {
    /// The whole passage.
    #[default]
    Whole,
    /// Characters `start..end` from the passage's start.
    Chars(usize, usize),
    /// The one place of exactly these words.
    Quote(String),
}

/// The coder's name: `given`, or `FIELDNOTES_CODER`, or the project's `coder`; checked as a
/// ledger name.
pub fn coder_name(project: &Project, given: Option<String>) -> Result<String> {
    let (name, from) = match given {
        Some(n) => (n, "`--coder`"),
        None => match std::env::var("FIELDNOTES_CODER").ok().filter(|s| !s.is_empty()) {
            Some(n) => (n, "FIELDNOTES_CODER"),
            None => (
                project.config.coder.clone().context(
                    "no coder given; pass `--coder NAME`, set `coder = \"NAME\"` in `fieldnotes.toml`, or set FIELDNOTES_CODER",
                )?,
                "`coder` in fieldnotes.toml",
            ),
        },
    };
    // Where the name came from is said: the environment and the settings are easy to forget.
    ledger::validate_coder(&name).map_err(|e| anyhow::anyhow!("{e}; the name comes from {from}"))?;
    // `HB` where the ledger is `hb.jsonl` would start a second ledger for one person (and on
    // macOS and Windows be the same file under two names).
    if let Some(l) =
        Ledger::all(project.root())?.iter().find(|l| l.coder() != name && l.coder().eq_ignore_ascii_case(&name))
    {
        bail!(
            "coder `{name}` (from {from}): the project has a coder `{}`, and names that differ only in case would be two coders for one person (hint: did you mean `{}`? coder names are case-sensitive)",
            l.coder(),
            l.coder()
        );
    }
    Ok(name)
}

/// An error naming the codebook's codes unless `code` is one of them.
pub fn require_code(book: &Codebook, code: &str) -> Result<()> {
    if book.code(code).is_some() {
        return Ok(());
    }
    let ids: Vec<&str> = book.codes.iter().map(|c| c.id.as_str()).collect();
    bail!("unknown code `{code}`; the codebook has: {}", ids.join(", "))
}

/// `span` within passage `p` of `doc` (whose id is `id`, for errors), as characters from the
/// passage's start. Quoted words must be there exactly once, as the note has them: the same
/// words in another case or with other spacing are named, not taken.
pub fn span_in_passage(doc: &Document, p: &Passage, id: &str, span: &Span) -> Result<(usize, usize)> {
    let ptext = doc.passage_text(p);
    let plen = ptext.chars().count();
    Ok(match span {
        Span::Chars(s, e) => {
            let (s, e) = (*s, *e);
            if s >= e || e > plen {
                bail!(
                    "span {s}..{e} does not fit passage `{id}`, which is {plen} characters long; give 0 <= start < end <= {plen}"
                );
            }
            // White space alone is no words: such a coding would count its passage as coded.
            if ptext.chars().skip(s).take(e - s).all(char::is_whitespace) {
                bail!("span {s}..{e} of passage `{id}` holds only white space; give the span of the words to code");
            }
            (s, e)
        }
        Span::Quote(q) => {
            // Typed as the note is read: composed (a terminal may send `e` and an accent).
            let q: String = fieldnotes_corpus::nfc(q).into_owned();
            let found: Vec<usize> = ptext.match_indices(q.as_str()).map(|(b, _)| b).collect();
            match found.as_slice() {
                [] => {
                    let (lower, ql) = (ptext.to_lowercase(), q.to_lowercase());
                    let squeeze = |t: &str| t.split_whitespace().collect::<Vec<_>>().join(" ");
                    let near = (lower.len() == ptext.len())
                        .then(|| lower.find(&ql).map(|b| &ptext[b..b + ql.len()]))
                        .flatten()
                        .filter(|_| ql.len() == q.len());
                    match near {
                        Some(n) => bail!(
                            "the words \"{q}\" are not in passage `{id}`, but \"{n}\" is; quote the words as the note has them"
                        ),
                        None if squeeze(ptext).contains(&squeeze(&q)) => bail!(
                            "the words \"{q}\" are in passage `{id}` with other spacing or line breaks; quote them as the note has them, or use --start/--end"
                        ),
                        None => bail!("the words \"{q}\" are not in passage `{id}`; quote them exactly as in the note"),
                    }
                }
                [b] => {
                    let s = ptext[..*b].chars().count();
                    (s, s + q.chars().count())
                }
                _ => bail!(
                    "the words \"{q}\" occur {} times in passage `{id}`; give a longer quote or use --start/--end",
                    found.len()
                ),
            }
        }
        Span::Whole => (0, plen),
    })
}

/// What [`Study::add_coding`] did.
#[derive(Clone, Debug, Serialize)]
pub struct Added {
    /// The coding's id.
    pub id: String,
    /// False when the coder had this coding already (nothing was written).
    pub new: bool,
}

impl Study {
    /// Codes `span` of passage `passage` with `code` as `coder` (accepted, by hand), with an
    /// optional memo: the note's version is kept and the `add` appended to the coder's ledger.
    /// The same coding twice is written once.
    pub fn add_coding(
        &self,
        passage: &str,
        code: &str,
        coder: &str,
        span: &Span,
        memo: Option<String>,
        tell: &dyn Tell,
    ) -> Result<Added> {
        require_code(&self.codebook()?, code)?;
        ledger::validate_coder(coder)?;
        let (_, doc, p) = self.passage(passage, tell)?;
        let (rs, re) = span_in_passage(doc, p, passage, span)?;
        let (start, end) = (p.start + rs, p.start + re);
        let (bs, be) = (doc.byte_offset(start).unwrap_or(p.byte_start), doc.byte_offset(end).unwrap_or(p.byte_end));
        let text = &doc.text[bs..be];
        let id = coding_id(coder, &doc.path, start, end, code);
        if self.codings.ledgers.get(coder).is_some_and(|s| s.codings.contains_key(&id)) {
            return Ok(Added { id, new: false });
        }
        let coding = Coding {
            id: id.clone(),
            doc: doc.path.clone(),
            start,
            end,
            hash: text_hash(text),
            text: text.to_string(),
            code: code.to_string(),
            coder: coder.to_string(),
            origin: Origin::Manual,
            status: Status::Accepted,
            memo,
            evidence: vec![],
            time: now(),
            base: Some(doc.hash.clone()),
            reviewer: None,
        };
        Versions::new(&self.project.derived_dir()).keep(doc)?;
        Ledger::new(self.project.root(), coder)?.append(&[Event::Add(coding)])?;
        self.after_coding()?;
        Ok(Added { id, new: true })
    }

    /// Takes `code` by `coder` off passage `passage` (every such coding that covers it), the
    /// removal recorded as by `by` (empty: the coder); returns how many were removed, an error
    /// when there was none.
    pub fn remove_coding(&self, passage: &str, code: &str, coder: &str, by: &str, tell: &dyn Tell) -> Result<usize> {
        let (di, _, p) = self.passage(passage, tell)?;
        let pi = (p.ordinal - 1) as usize;
        let mut by_ledger: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for x in self.placement().placed.iter().filter(|x| x.doc == di && x.passages.contains(&pi)) {
            if x.coding.code == code && x.coding.coder == coder {
                by_ledger.entry(coder.to_string()).or_default().push((x.coding.id.clone(), x.coding.doc.clone()));
            }
        }
        if by_ledger.is_empty() {
            bail!("`{passage}` has no coding `{code}` by {coder}; `fieldnotes show {passage}` lists its codes");
        }
        let n = remove(&self.project, &by_ledger, by)?;
        self.after_coding()?;
        Ok(n)
    }

    /// After a coding over the whole study (which may have written many events), the coding
    /// states are brought up to date now, not by the next command about one note. The search
    /// index holds no codes and is left alone.
    pub fn after_coding(&self) -> Result<()> {
        if self.scope == Scope::Whole {
            Codings::refresh_states(self.project.root(), &self.project.derived_dir())?;
        }
        Ok(())
    }
}

/// Removes the coding with id `id` from whichever ledgers hold it (found in the compact table
/// through the coding states; no note is read), recorded as by `by`; returns how many.
pub fn remove_by_id(project: &Project, id: &str, by: &str, tell: &dyn Tell) -> Result<usize> {
    let table = crate::study::coding_table(project, tell)?;
    let mut by_ledger: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for c in table.with_id(id) {
        by_ledger.entry(c.coder).or_default().push((c.id, c.doc));
    }
    if by_ledger.is_empty() {
        return Err(no_coding(id));
    }
    remove(project, &by_ledger, by)
}

/// [`remove_by_id`], returning the codings removed whole (memo, evidence, time), as an undo
/// needs them to add them again: the notes they are in are read for it.
pub fn remove_whole_by_id(project: &Project, id: &str, by: &str, tell: &dyn Tell) -> Result<Vec<Coding>> {
    let whole = codings_with_id(project, id, tell)?;
    if whole.is_empty() {
        return Err(no_coding(id));
    }
    let mut by_ledger: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for c in &whole {
        by_ledger.entry(c.coder.clone()).or_default().push((c.id.clone(), c.doc.clone()));
    }
    remove(project, &by_ledger, by)?;
    Ok(whole)
}

/// The error for an id no ledger holds.
fn no_coding(id: &str) -> anyhow::Error {
    anyhow::anyhow!("no coding with id `{id}`; `fieldnotes code list` shows the ids")
}

/// The codings with id `id` (one per ledger that holds it), whole: memo, evidence and time, as
/// their ledgers have them (the compact table leaves those out). Read through the coding
/// states, note by note: no other note's codings are read.
pub fn codings_with_id(project: &Project, id: &str, tell: &dyn Tell) -> Result<Vec<Coding>> {
    let table = crate::study::coding_table(project, tell)?;
    let mut out = Vec::new();
    for c in table.with_id(id) {
        let whole = Codings::load_doc(project.root(), &project.derived_dir(), &c.doc)?;
        out.extend(whole.ledgers.get(&c.coder).and_then(|l| l.codings.get(id)).cloned());
    }
    Ok(out)
}

/// Writes `memo` on the coding with id `id` (in place of its memo; empty: none), in whichever
/// ledgers hold it, as written by `by`; returns the codings as they were before.
pub fn set_memo(project: &Project, id: &str, memo: &str, by: &str, tell: &dyn Tell) -> Result<Vec<Coding>> {
    ledger::validate_coder(by)?;
    let before = codings_with_id(project, id, tell)?;
    if before.is_empty() {
        return Err(no_coding(id));
    }
    for c in &before {
        let ev = Event::Memo {
            id: c.id.clone(),
            doc: Some(c.doc.clone()),
            memo: memo.to_string(),
            by: by.to_string(),
            time: now(),
        };
        Ledger::new(project.root(), &c.coder)?.append(&[ev])?;
    }
    reviewed(project)?;
    Ok(before)
}

/// Removes the codings `by_ledger` names (per ledger, each one's id and note), one write per
/// ledger, recording who removed them.
fn remove(project: &Project, by_ledger: &BTreeMap<String, Vec<(String, String)>>, by: &str) -> Result<usize> {
    let mut n = 0;
    for (coder, ids) in by_ledger {
        let events: Vec<Event> = ids
            .iter()
            .map(|(id, doc)| Event::Remove { id: id.clone(), doc: Some(doc.clone()), by: by.to_string(), time: now() })
            .collect();
        n += events.len();
        Ledger::new(project.root(), coder)?.append(&events)?;
    }
    Ok(n)
}

/// Which suggestions to review: all of them, or those of a code, a coder, a site, or with at
/// least so many pieces of evidence.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only this code.
    pub code: Option<String>,
    /// Only suggestions of this coder (the rules, or a learned coder).
    pub from: Option<String>,
    /// Only notes of this site (any case).
    pub site: Option<String>,
    /// Only suggestions with at least this many pieces of evidence.
    pub min_hits: Option<usize>,
}

/// A suggestion waiting for review, with the words it covers now and its note's site.
#[derive(Clone, Debug, Serialize)]
pub struct Pending {
    /// The suggestion.
    pub coding: Coding,
    /// The words it covers now.
    pub text: String,
    /// Its note's site.
    pub site: String,
}

/// Hands `each` every suggestion `filter` admits, with its passage's words and its note's site,
/// reading the notes a batch at a time.
fn suggestions(
    project: &Project,
    filter: &Filter,
    tell: &dyn Tell,
    mut each: impl FnMut(&Coding, &str, &str),
) -> Result<()> {
    use std::collections::BTreeSet;
    // What the study holds, to say what a filter that matches nothing may have meant.
    let (mut sites, mut codes, mut coders) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    crate::study::place_in_batches(project, tell, |corpus, codings, placement| {
        if filter.site.is_some() {
            sites.extend(corpus.documents.iter().filter_map(|d| d.attr_str("site")).map(str::to_string));
        }
        if filter.code.is_some() || filter.from.is_some() {
            codes.extend(codings.iter().map(|c| c.code.clone()));
            coders.extend(codings.ledgers.keys().cloned());
        }
        let site_of = |doc: &str| corpus.document(doc).and_then(|d| d.attr_str("site")).unwrap_or("");
        let wanted = placement
            .placed
            .iter()
            .filter(|x| x.coding.status == Status::Suggested)
            .filter(|x| filter.code.as_ref().is_none_or(|c| &x.coding.code == c))
            .filter(|x| filter.from.as_ref().is_none_or(|c| &x.coding.coder == c))
            .filter(|x| filter.site.as_ref().is_none_or(|s| site_of(&x.coding.doc).eq_ignore_ascii_case(s)))
            .filter(|x| filter.min_hits.is_none_or(|n| x.coding.evidence.len() >= n));
        for x in wanted {
            each(x.coding, x.text(corpus), site_of(&x.coding.doc));
        }
        Ok(())
    })?;
    if let Some(site) = &filter.site {
        warn_unknown(tell, "site", site, &sites, "in the project");
    }
    if let Some(code) = &filter.code {
        warn_unknown_code(project, tell, code, codes, "in the project");
    }
    if let Some(from) = &filter.from {
        warn_unknown(tell, "ledger", from, &coders, "in the project");
    }
    Ok(())
}

/// The suggestions `filter` admits, in the order of the notes, to decide one at a time.
pub fn pending(project: &Project, filter: &Filter, tell: &dyn Tell) -> Result<Vec<Pending>> {
    let mut out = Vec::new();
    suggestions(project, filter, tell, |c, text, site| {
        out.push(Pending { coding: c.clone(), text: text.to_string(), site: site.to_string() });
    })?;
    Ok(out)
}

/// How many suggestions `filter` admits, and the one at place `at` (from 0) in the order of
/// the notes, with its words and site: one page of a review, without holding the rest.
pub fn pending_at(project: &Project, filter: &Filter, at: usize, tell: &dyn Tell) -> Result<(usize, Option<Pending>)> {
    let (mut n, mut found) = (0, None);
    suggestions(project, filter, tell, |c, text, site| {
        if n == at {
            found = Some(Pending { coding: c.clone(), text: text.to_string(), site: site.to_string() });
        }
        n += 1;
    })?;
    Ok((n, found))
}

/// Records `reviewer`'s decision (`Accepted` or `Rejected`) on suggestion `c` in its coder's
/// ledger. The coding states follow with [`reviewed`].
pub fn decide(project: &Project, c: &Coding, status: Status, reviewer: &str) -> Result<()> {
    ledger::validate_coder(reviewer)?;
    Ledger::new(project.root(), &c.coder)?.append(&[Event::Status {
        id: c.id.clone(),
        doc: Some(c.doc.clone()),
        status,
        by: reviewer.to_string(),
        time: now(),
    }])?;
    Ok(())
}

/// Records `reviewer`'s one decision on every suggestion `filter` admits (one write per
/// ledger) and brings the coding states up to date; returns how many.
pub fn decide_all(
    project: &Project,
    filter: &Filter,
    status: Status,
    reviewer: &str,
    tell: &dyn Tell,
) -> Result<usize> {
    ledger::validate_coder(reviewer)?;
    let mut decisions: BTreeMap<String, Vec<ledger::Decision>> = BTreeMap::new();
    let mut n = 0;
    suggestions(project, filter, tell, |c, _, _| {
        let decision = ledger::Decision { id: c.id.clone(), doc: c.doc.clone(), time: now() };
        match decisions.get_mut(&c.coder) {
            Some(d) => d.push(decision),
            None => {
                decisions.insert(c.coder.clone(), vec![decision]);
            }
        }
        n += 1;
    })?;
    // Each ledger's coding state brought forward by the decisions as they are written, a note's
    // block at a time, rather than made again from the whole ledger after so many new lines.
    let states = fieldnotes_coding::state::States::new(&project.derived_dir());
    for (coder, decisions) in &decisions {
        let ledger = Ledger::new(project.root(), coder)?;
        let from = fieldnotes_coding::state::mark(&ledger)?;
        let mut extender = states.extend(&ledger, &from)?;
        if let Some(x) = extender.as_mut() {
            x.statuses(decisions, status, reviewer);
        }
        let (start, _) = ledger.append_statuses(decisions, status, reviewer)?;
        if let Some(x) = extender.filter(|_| start == from.len) {
            x.finish(&fieldnotes_coding::state::mark(&ledger)?)?;
        }
    }
    reviewed(project)?;
    Ok(n)
}

/// After decisions: the coding states brought up to date with them.
pub fn reviewed(project: &Project) -> Result<()> {
    Ok(Codings::refresh_states(project.root(), &project.derived_dir())?)
}

/// One code's (or all codes', micro-averaged) counts of [`Eval`].
#[derive(Clone, Debug, Serialize)]
pub struct EvalRow {
    /// The code (`(micro)` for the sum over codes).
    pub code: String,
    /// Passages both coders gave it.
    pub tp: usize,
    /// Passages only the coder evaluated gave it.
    pub fp: usize,
    /// Passages only the reference coder gave it.
    #[serde(rename = "fn")]
    pub fn_: usize,
    /// tp / (tp + fp).
    pub precision: Option<f64>,
    /// tp / (tp + fn).
    pub recall: Option<f64>,
    /// Their harmonic mean.
    pub f1: Option<f64>,
}

impl EvalRow {
    fn of(code: &str, tp: usize, fp: usize, fn_: usize) -> EvalRow {
        let (precision, recall, f1) = fieldnotes_coding::units::precision_recall_f1(tp, fp, fn_);
        EvalRow { code: code.to_string(), tp, fp, fn_, precision, recall, f1 }
    }
}

/// Precision, recall and F1 of one coder (suggestions included) against another's accepted
/// codings, per passage and code, over the notes the reference coder coded, and the suggestions
/// they rejected in other notes.
#[derive(Clone, Debug, Serialize)]
pub struct Eval {
    /// The coder evaluated.
    pub coder: String,
    /// The reference coder.
    pub against: String,
    /// What is counted: `passage`.
    pub unit: &'static str,
    /// Notes the reference coder coded (an accepted coding of theirs there): all their
    /// passages count.
    #[serde(skip)]
    pub notes: usize,
    /// Other notes where they rejected suggestions: only those suggestions count.
    #[serde(skip)]
    pub reviewed_elsewhere: usize,
    /// Whether the coder evaluated is a person (codings by hand or imported): then only the
    /// notes both coded count, as in `agree`.
    #[serde(skip)]
    pub both: bool,
    /// Notes the reference coder coded that the person evaluated did not: left out, not misses.
    #[serde(skip)]
    pub not_coded: usize,
    /// Codes either coder used that the codebook does not have (renamed there), with the
    /// passages carrying each: in no row.
    #[serde(skip)]
    pub not_in_codebook: Vec<(String, usize)>,
    /// One row per code of the codebook.
    pub codes: Vec<EvalRow>,
    /// The counts summed over codes; its measures alone in JSON.
    #[serde(serialize_with = "micro_measures")]
    pub micro: EvalRow,
}

/// The micro row as its three measures.
fn micro_measures<S: serde::Serializer>(r: &EvalRow, s: S) -> std::result::Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut m = s.serialize_struct("Micro", 3)?;
    m.serialize_field("precision", &r.precision)?;
    m.serialize_field("recall", &r.recall)?;
    m.serialize_field("f1", &r.f1)?;
    m.end()
}

impl Eval {
    /// `coder` against `against` over `study` (the notes `against` shares, or the whole study).
    pub fn of(study: &Study, coder: &str, against: &str) -> Result<Eval> {
        // A coder is known by a ledger of their own, or by suggestions they reviewed.
        let reviewed = |who: &str| study.codings.iter().any(|c| c.reviewer.as_deref() == Some(who));
        if !study.codings.ledgers.contains_key(against) && !reviewed(against) {
            bail!("no ledger for coder `{against}` in `codings/`, and no suggestion reviewed by them");
        }
        let book = study.codebook()?;
        let mut gather = EvalGather::new(&book, coder, against);
        gather.batch(&study.codings, &study.placement());
        gather.finish()
    }

    /// [`Eval::of`] over notes `judged` (those `against` coded or reviewed in, from the coding
    /// states: [`crate::study::shared_notes`]), read a batch at a time: the rules against a
    /// coder who reviewed suggestions in 14,729 of 100 MB's notes took 479 MB at once.
    pub fn in_batches(
        project: &Project,
        judged: &[String],
        coder: &str,
        against: &str,
        tell: &dyn Tell,
    ) -> Result<Eval> {
        let book = crate::study::codebook(project)?;
        let mut gather = EvalGather::new(&book, coder, against);
        crate::study::place_notes_in_batches(project, judged, tell, |_, codings, placement| {
            gather.batch(codings, placement);
            Ok(())
        })?;
        gather.finish()
    }
}

/// The counts of [`Eval`] over some notes judged: per code of the codebook true and false
/// positives and false negatives, the notes judged whole, those where only rejected
/// suggestions count, and whether the coder evaluated has a suggestion on any of them.
#[derive(Clone, Debug, Default)]
struct EvalCounts {
    per_code: Vec<(usize, usize, usize)>,
    notes: usize,
    reviewed_elsewhere: usize,
    on_judged: bool,
}

/// What [`Eval`] takes from each batch of notes. Whether the coder evaluated is a person is
/// known only once every batch is in, so each batch is counted both ways: over every note the
/// reference coder coded, and over those the person coded too.
struct EvalGather<'a> {
    book: &'a Codebook,
    coder: &'a str,
    against: &'a str,
    human: bool,
    /// Counted over every note `against` coded, and over those `coder` coded too.
    counts: [EvalCounts; 2],
    /// Notes `against` coded, and of those the ones `coder` did not.
    all: usize,
    not_coded: usize,
    unknown: BTreeMap<String, usize>,
}

impl<'a> EvalGather<'a> {
    fn new(book: &'a Codebook, coder: &'a str, against: &'a str) -> EvalGather<'a> {
        let zero = EvalCounts { per_code: vec![(0, 0, 0); book.codes.len()], ..EvalCounts::default() };
        EvalGather {
            book,
            coder,
            against,
            human: false,
            counts: [zero.clone(), zero],
            all: 0,
            not_coded: 0,
            unknown: BTreeMap::new(),
        }
    }

    /// Takes a batch of notes' codings and their placement.
    fn batch(&mut self, codings: &Codings, placement: &fieldnotes_coding::units::Placement<'_>) {
        use fieldnotes_coding::units::{self, Selection};
        use std::collections::{BTreeSet, HashSet};
        let (coder, against) = (self.coder, self.against);
        let truth =
            units::passage_codes(placement, &Selection { coders: vec![against.to_string()], ..Selection::default() });
        let pred = units::passage_codes(
            placement,
            &Selection { coders: vec![coder.to_string()], include_suggested: true, machine_output: true },
        );
        // A person evaluated is judged on the notes they coded too: a note they never opened
        // holds no misses of theirs (as `agree` counts the notes both coded). A machine coder
        // (the rules, a model) ran on every note it could.
        self.human |= codings.ledgers.get(coder).is_some_and(|l| {
            l.current()
                .any(|c| matches!(c.origin, fieldnotes_coding::Origin::Manual | fieldnotes_coding::Origin::Import))
        });
        // What the reference coder has judged counts: every passage of the notes they coded (an
        // accepted coding of theirs there, as `code learn` takes them), and elsewhere only the
        // suggestions they rejected: a note where they turned down one code's suggestions says
        // nothing of the other codes there.
        let every: HashSet<usize> = truth.keys().map(|k| k.0).collect();
        let mine: HashSet<usize> =
            units::passage_codes(placement, &Selection { coders: vec![coder.to_string()], ..Selection::default() })
                .keys()
                .map(|k| k.0)
                .collect();
        let both: HashSet<usize> = every.iter().copied().filter(|d| mine.contains(d)).collect();
        self.all += every.len();
        self.not_coded += every.len() - both.len();
        let rejected: HashSet<(usize, usize, &str)> = placement
            .placed
            .iter()
            .filter(|x| x.coding.reviewer.as_deref() == Some(against) && x.coding.status == Status::Rejected)
            .flat_map(|x| x.passages.clone().map(move |pi| (x.doc, pi, x.coding.code.as_str())))
            .collect();
        for (docs, counts) in [&every, &both].into_iter().zip(self.counts.iter_mut()) {
            let reviewed_elsewhere: HashSet<usize> =
                rejected.iter().map(|&(d, _, _)| d).filter(|d| !docs.contains(d)).collect();
            counts.notes += docs.len();
            counts.reviewed_elsewhere += reviewed_elsewhere.len();
            counts.on_judged |= pred.keys().any(|k| docs.contains(&k.0) || reviewed_elsewhere.contains(&k.0));
            for (c, row) in self.book.codes.iter().zip(counts.per_code.iter_mut()) {
                let judged = |k: &(usize, usize)| docs.contains(&k.0) || rejected.contains(&(k.0, k.1, c.id.as_str()));
                let t: BTreeSet<(usize, usize)> =
                    truth.iter().filter(|(k, s)| judged(k) && s.contains(&c.id)).map(|(k, _)| *k).collect();
                let p: BTreeSet<(usize, usize)> =
                    pred.iter().filter(|(k, s)| judged(k) && s.contains(&c.id)).map(|(k, _)| *k).collect();
                let tp = t.intersection(&p).count();
                *row = (row.0 + tp, row.1 + p.len() - tp, row.2 + t.len() - tp);
            }
        }
        for set in truth.values().chain(pred.values()) {
            for code in set.iter().filter(|c| self.book.code(c).is_none()) {
                *self.unknown.entry(code.to_string()).or_default() += 1;
            }
        }
    }

    /// The measures, once every batch is in.
    fn finish(self) -> Result<Eval> {
        let EvalGather { book, coder, against, human, counts, all, not_coded, unknown } = self;
        let [every, both] = counts;
        let (counts, not_coded) = if human { (both, not_coded) } else { (every, 0) };
        if human && counts.notes == 0 {
            bail!(
                "`{coder}` coded none of the {all} note(s) `{against}` coded: there is nothing to compare; `fieldnotes agree --coders {coder},{against}` says which notes they share"
            );
        }
        // A machine coder with nothing at all on the notes judged: its misses would be all
        // there is, a recall of 0 that says nothing of it.
        if !human && !counts.on_judged {
            bail!(
                "`{coder}` made no suggestion on any of the {} note(s) `{against}` coded or reviewed, so every code would show a recall of 0{}",
                counts.notes + counts.reviewed_elsewhere,
                if coder == crate::learn::MODEL {
                    "; the learned coder does not suggest on the notes it learned from: evaluate it against another coder, or learn with `--all`"
                } else {
                    "; run `fieldnotes code auto` first"
                }
            );
        }
        let (mut ttp, mut tfp, mut tfn) = (0usize, 0usize, 0usize);
        let codes = book
            .codes
            .iter()
            .zip(&counts.per_code)
            .map(|(c, &(tp, fp, fn_))| {
                (ttp, tfp, tfn) = (ttp + tp, tfp + fp, tfn + fn_);
                EvalRow::of(&c.id, tp, fp, fn_)
            })
            .collect();
        Ok(Eval {
            coder: coder.to_string(),
            against: against.to_string(),
            unit: "passage",
            notes: counts.notes,
            reviewed_elsewhere: counts.reviewed_elsewhere,
            both: human,
            not_coded,
            not_in_codebook: unknown.into_iter().collect(),
            codes,
            micro: EvalRow::of("(micro)", ttp, tfp, tfn),
        })
    }
}

/// Which codings to list: all of them, or those of a code, a site, a coder, a status.
#[derive(Clone, Debug, Default)]
pub struct ListFilter {
    /// Only this code.
    pub code: Option<String>,
    /// Only this site (any case).
    pub site: Option<String>,
    /// Only this coder's codings (those in their ledger).
    pub coder: Option<String>,
    /// Only codings this person reviewed (accepted or rejected), in any ledger.
    pub reviewer: Option<String>,
    /// Only this status.
    pub status: Option<Status>,
}

/// A coding as [`list_each`] gives it: where it stands now, or that it is an orphan and why.
#[derive(Clone, Debug, Serialize)]
pub struct Listed {
    /// The coding: where it stands now ([`units::Placed::current`]), or for an orphan as its
    /// ledger has it.
    pub coding: Coding,
    /// The ids of the passages it covers now (none for an orphan).
    pub passages: Vec<String>,
    /// Its note's site (for a coding that stands on its text).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub site: Option<String>,
    /// Whether its words moved since it was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moved: Option<bool>,
    /// The words it covers now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// An orphan: its words are gone from its note.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub orphaned: Option<bool>,
    /// Why it is an orphan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Not an orphan but waiting: its note is there and could not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waiting: Option<bool>,
    /// Its note's site, orphan or not, to show.
    #[serde(skip)]
    pub site_shown: String,
}

/// [`warn_unknown`] for a code: `known`, the codes of the codings, and the codebook's.
fn warn_unknown_code(
    project: &Project,
    tell: &dyn Tell,
    code: &str,
    mut known: std::collections::BTreeSet<String>,
    among: &str,
) {
    if let Ok(book) = crate::study::codebook(project) {
        known.extend(book.codes.iter().map(|c| c.id.clone()));
    }
    warn_unknown(tell, "code", code, &known, among);
}

/// An error for a coder given to a table (`--coder`) who has no ledger and reviewed nothing:
/// their table would be all zeros under a caption naming them. Coder names are file names, so
/// the case counts (`HB` is not `hb`).
pub fn check_coders(project: &Project, coders: &[String]) -> Result<()> {
    if coders.is_empty() {
        return Ok(());
    }
    let ledgers = Ledger::all(project.root())?;
    let mut known: std::collections::BTreeSet<String> = ledgers.iter().map(|l| l.coder().to_string()).collect();
    if coders.iter().all(|c| known.contains(c)) {
        return Ok(());
    }
    // Those who reviewed suggestions count too, crediting what they accepted.
    let states = fieldnotes_coding::state::States::new(&project.derived_dir());
    for l in &ledgers {
        if let Some(notes) = states.notes(l)? {
            known.extend(notes.into_values().flatten());
        }
    }
    if let Some(c) = coders.iter().find(|c| !known.contains(*c)) {
        let near: Vec<String> = match known.iter().find(|k| k.eq_ignore_ascii_case(c)) {
            Some(k) => vec![k.clone()],
            None => fieldnotes_index::closest(c, &known),
        };
        let hint = if near.is_empty() {
            format!("coders with codings or reviews: {}", known.iter().cloned().collect::<Vec<_>>().join(", "))
        } else {
            format!(
                "did you mean {}? (coder names are case-sensitive)",
                near.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" or ")
            )
        };
        bail!("no coder `{c}` has codings or reviewed any in this project: {hint}");
    }
    Ok(())
}

/// Warns about a name given as a filter that nothing `among` (`in the project`) has, with the
/// closest ones.
fn warn_unknown(tell: &dyn Tell, what: &str, name: &str, known: &std::collections::BTreeSet<String>, among: &str) {
    // Coder names are file names: their case counts.
    let coder = what == "coder" || what == "reviewer";
    if known.contains(name) || (!coder && known.iter().any(|k| k.eq_ignore_ascii_case(name))) {
        return;
    }
    let near = match known.iter().find(|k| k.eq_ignore_ascii_case(name)) {
        Some(k) => vec![k.clone()],
        None => fieldnotes_index::closest(name, known),
    };
    let hint = if known.is_empty() {
        format!("there is no {what} yet")
    } else if near.is_empty() {
        let shown: Vec<&String> = known.iter().take(12).collect();
        format!("there are: {}", crate::first_few(&shown, shown.len(), known.len(), ", "))
    } else {
        format!("did you mean {}?", near.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(" or "))
    };
    tell.warn(&format!("no {what} `{name}` {among}; {hint}"));
}

/// The codings `filter` admits, those that stand on their text note by note and then the
/// orphans (marked, with why: nothing is dropped from view), each handed to `each` as soon as
/// its batch of notes is placed (the orphans, usually few, at the end): a list of any length in
/// the memory of a batch. The codings of a
/// coder on few notes need only that coder's ledger and those notes; otherwise the notes are
/// read a batch at a time. A filter that matches no code, site or coder of the study is warned
/// of, with the closest.
pub fn list_each(
    project: &Project,
    filter: &ListFilter,
    tell: &dyn Tell,
    each: &mut dyn FnMut(Listed) -> Result<()>,
) -> Result<()> {
    list_each_at_once(project, filter, tell, crate::study::NOTES_AT_ONCE, each)
}

/// [`list_each`] reading a coder's notes all at once up to `at_once` of them.
pub(crate) fn list_each_at_once(
    project: &Project,
    filter: &ListFilter,
    tell: &dyn Tell,
    at_once: usize,
    each: &mut dyn FnMut(Listed) -> Result<()>,
) -> Result<()> {
    use std::collections::BTreeSet;
    let ledgers = Ledger::all(project.root())?;
    // The coder's own ledger, if they have one: then only its codings are listed and known.
    let own = filter.coder.as_ref().and_then(|c| ledgers.iter().find(|l| l.coder() == c.as_str()));
    let states = fieldnotes_coding::state::States::new(&project.derived_dir());
    let one_coder = match own {
        Some(l) if states.notes(l)?.is_some_and(|notes| notes.len() <= at_once) => filter.coder.as_ref(),
        _ => None,
    };
    let of_own = |c: &Coding| own.is_none_or(|l| c.coder == l.coder());
    let among = match own {
        Some(l) => format!("among {}'s codings and their notes", l.coder()),
        None => "in the project".to_string(),
    };
    // What the study holds, to say what a filter that matches nothing may have meant.
    let mut known_codes: BTreeSet<String> = BTreeSet::new();
    let mut known_sites: BTreeSet<String> = BTreeSet::new();
    let mut known_coders: BTreeSet<String> = ledgers.iter().map(|l| l.coder().to_string()).collect();
    let mut orphans = Vec::new();
    let mut credited = 0usize;
    let mut take =
        |corpus: &fieldnotes_corpus::Corpus, codings: &Codings, placement: &units::Placement<'_>| -> Result<()> {
            let mut coded: BTreeSet<&str> = BTreeSet::new();
            for c in codings.iter().filter(|c| of_own(c)) {
                if !known_codes.contains(&c.code) {
                    known_codes.insert(c.code.clone());
                }
                known_coders.extend(c.reviewer.clone());
                coded.insert(c.doc.as_str());
            }
            known_sites.extend(
                corpus
                    .documents
                    .iter()
                    .filter(|d| own.is_none() || coded.contains(d.path.as_str()))
                    .filter_map(|d| d.attr_str("site"))
                    .map(str::to_string),
            );
            let site_of = |doc: &str| corpus.document(doc).and_then(|d| d.attr_str("site")).unwrap_or("").to_string();
            let keep = |c: &Coding| {
                filter.code.as_ref().is_none_or(|x| &c.code == x)
                    && filter.coder.as_ref().is_none_or(|x| &c.coder == x)
                    && filter.reviewer.as_ref().is_none_or(|x| c.reviewer.as_ref() == Some(x))
                    && filter.status.is_none_or(|s| c.status == s)
                    && filter.site.as_ref().is_none_or(|s| site_of(&c.doc).eq_ignore_ascii_case(s))
            };
            // Suggestions of others this coder accepted count as theirs in tables and agreement:
            // said, with how to list them, when only the coder's own are listed.
            // (A coder's own ledger holds none: read alone, as for a coder on few notes, it never
            // did.)
            if let Some(x) = filter.coder.as_ref().filter(|_| filter.reviewer.is_none() && own.is_none()) {
                credited += codings.iter().filter(|c| c.accepted_by_other() == Some(x.as_str())).count();
            }
            for x in placement.placed.iter().filter(|x| keep(x.coding)) {
                let d = &corpus.documents[x.doc];
                let site = site_of(&x.coding.doc);
                each(Listed {
                    coding: x.current(d),
                    passages: x.passages.clone().map(|i| d.passage_id(&d.passages[i])).collect(),
                    site: Some(site.clone()),
                    moved: Some(x.moved),
                    text: Some(x.text(corpus).to_string()),
                    orphaned: None,
                    reason: None,
                    waiting: None,
                    site_shown: site,
                })?;
            }
            for o in placement.orphans.iter().filter(|o| keep(o.coding)) {
                orphans.push(Listed {
                    coding: o.coding.clone(),
                    passages: Vec::new(),
                    site: None,
                    moved: None,
                    text: None,
                    orphaned: Some(true),
                    reason: Some(o.reason.clone()),
                    waiting: corpus.skipped.iter().any(|s| s.path == o.coding.doc).then_some(true),
                    site_shown: site_of(&o.coding.doc),
                });
            }
            Ok(())
        };
    match one_coder {
        Some(c) => {
            let study = Study::load_coders(project.clone(), std::slice::from_ref(c), tell)?;
            take(&study.corpus, &study.codings, &study.placement())?;
        }
        None => {
            crate::study::place_in_batches(project, tell, take)?;
        }
    }
    if let Some(code) = &filter.code {
        warn_unknown_code(project, tell, code, known_codes, &among);
    }
    if let Some(site) = &filter.site {
        warn_unknown(tell, "site", site, &known_sites, &among);
    }
    if let Some(coder) = &filter.coder {
        warn_unknown(tell, "coder", coder, &known_coders, "in the project");
        if credited > 0 {
            tell.info(&format!(
                "{credited} suggestion(s) in other ledgers that `{coder}` accepted count as {coder}'s in tables and agreement; `fieldnotes code list --reviewer {coder}` lists them"
            ));
        }
    }
    if let Some(reviewer) = &filter.reviewer {
        warn_unknown(tell, "reviewer", reviewer, &known_coders, "in the project");
    }
    orphans.into_iter().try_for_each(each)
}

/// Why the rules suggested (or did not suggest) one code for a passage.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// The code.
    pub code: String,
    /// Whether it is suggested.
    pub suggested: bool,
    /// Different rules that fired.
    pub rules_fired: usize,
    /// Rules that must fire.
    pub min_evidence: usize,
    /// The rules' hits, where any fired.
    pub hits: Option<Vec<fieldnotes_coding::Hit>>,
    /// Hits an exclusion cancelled, where any fired.
    pub excluded: Option<Vec<fieldnotes_coding::Hit>>,
    /// Whether the code has rules at all.
    #[serde(skip)]
    pub has_rules: bool,
}

/// The rules' reading of one passage ([`Study::explain`]).
#[derive(Clone, Debug, Serialize)]
pub struct Explained {
    /// The passage id asked about.
    pub passage: String,
    /// Every code of the codebook, in its order.
    pub codes: Vec<Verdict>,
    /// The passage's words.
    #[serde(skip)]
    pub text: String,
    /// Byte ranges of the words every hit matched, in `text`.
    #[serde(skip)]
    pub hit_bytes: Vec<(usize, usize)>,
    /// The learned coder's score of each code it learned, with the words behind it (none
    /// before a `code learn`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub model: Vec<fieldnotes_coding::learn::Explained>,
}

impl Study {
    /// Runs the codebook's rules on passage `id` and says, code by code, what fired.
    pub fn explain(&self, id: &str, tell: &dyn Tell) -> Result<Explained> {
        let book = self.codebook()?;
        let (_, doc, p) = self.passage(id, tell)?;
        let found = fieldnotes_coding::AutoCoder::new(&book)?.code_passage(doc.passage_text(p), p.start);
        // A document offset as a byte offset into the passage's words.
        let byte = |offset: usize| -> Option<usize> {
            Some(doc.byte_offset(offset)?.checked_sub(p.byte_start)?.min(p.byte_end - p.byte_start))
        };
        let mut hit_bytes: Vec<(usize, usize)> =
            found.iter().flat_map(|m| m.hits.iter()).filter_map(|h| Some((byte(h.start)?, byte(h.end)?))).collect();
        hit_bytes.sort_unstable();
        hit_bytes.dedup();
        let codes = book
            .codes
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let m = found.iter().find(|m| m.code == i);
                Verdict {
                    code: c.id.clone(),
                    suggested: m.is_some_and(|m| m.suggested),
                    rules_fired: m.map_or(0, |m| m.rules_fired),
                    min_evidence: c.rules.min_evidence.max(1),
                    hits: m.map(|m| m.hits.clone()),
                    excluded: m.map(|m| m.excluded.clone()),
                    has_rules: !c.rules.is_empty(),
                }
            })
            .collect();
        let text = doc.passage_text(p).to_string();
        let model = crate::learn::saved(&self.project)
            .map(|(vocab, models)| fieldnotes_coding::learn::explain(&vocab, &models, &text))
            .unwrap_or_default();
        Ok(Explained { passage: id.to_string(), codes, text, hit_bytes, model })
    }
}
