//! Inter-coder agreement over a study: the units (passages or notes of the notes every coder
//! touched), each coder's codes on each, and per code (and pooled) the coefficients of
//! `coding::agreement`, with the caption that says what was counted; and the units where the
//! coders differ.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use anyhow::{Result, bail};
use fieldnotes_coding::agreement::{self as ag, Estimate, Metric, Ratings};
use fieldnotes_coding::units::{self, Placement, Selection};
use fieldnotes_coding::{Codebook, Codings};
use fieldnotes_corpus::Corpus;
use fieldnotes_report::store::LeftOut;
use rayon::prelude::*;
use serde::Serialize;

use crate::{Study, Tell};

/// What each coder's 1 or 0 is given to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// Each passage.
    Passage,
    /// Each note.
    Document,
}

/// What to compute agreement over.
#[derive(Clone, Debug)]
pub struct Request {
    /// The coders (two or more).
    pub coders: Vec<String>,
    /// Only this code (every code of the codebook with `None`).
    pub code: Option<String>,
    /// Only notes of this site.
    pub site: Option<String>,
    /// The unit of analysis.
    pub unit: Unit,
    /// Count suggestions too (the rules coder's codings are all suggestions).
    pub include_suggested: bool,
    /// Leave out units no coder coded with any of the codes.
    pub exclude_uncoded: bool,
    /// Bootstrap resamples for the confidence interval of alpha (0: none).
    pub bootstrap: usize,
    /// Seed of the bootstrap.
    pub seed: u64,
    /// Keep each unit's site and text where the coders differ, for [`Agreement::disagreements`].
    pub texts: bool,
}

/// A coefficient, or why there is none.
#[derive(Clone, Debug, Serialize)]
pub struct Coef {
    /// Its value.
    pub value: Option<f64>,
    /// Its standard error, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub se: Option<f64>,
    /// Its 95% confidence interval, where known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci: Option<(f64, f64)>,
    /// Why there is no value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Coef {
    fn of(r: std::result::Result<Estimate, ag::AgreementError>) -> Coef {
        match r {
            Ok(e) => Coef { value: Some(e.value), se: e.se, ci: e.ci, note: None },
            Err(e) => Coef { value: None, se: None, ci: None, note: Some(e.to_string()) },
        }
    }
}

/// The coefficients of one code (or of all codes pooled).
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The code, or `(all codes, pooled)`.
    pub code: String,
    /// Units counted.
    pub units: usize,
    /// Units some coder gave the code.
    pub coded_units: usize,
    /// Share of units where every coder agrees.
    pub percent_agreement: Coef,
    /// Cohen's kappa, for two coders.
    pub cohen_kappa: Option<Coef>,
    /// Fleiss' kappa.
    pub fleiss_kappa: Coef,
    /// Scott's pi.
    pub scott_pi: Coef,
    /// Krippendorff's alpha (nominal).
    pub krippendorff_alpha: Coef,
    /// Its bootstrap 95% interval.
    pub alpha_bootstrap_ci: Option<(f64, f64)>,
    /// Brennan and Prediger's coefficient.
    pub brennan_prediger: Coef,
    /// Gwet's AC1.
    pub gwet_ac1: Coef,
}

impl Row {
    fn of(code: &str, r: &Ratings, coded: usize, req: &Request) -> Row {
        let two = r.n_coders() == 2;
        let alpha = ag::krippendorff_alpha(r, Metric::Nominal);
        let boot = if req.bootstrap > 0 && alpha.is_ok() {
            ag::bootstrap_alpha(r, Metric::Nominal, req.bootstrap, req.seed, 0.95).ok()
        } else {
            None
        };
        Row {
            code: code.to_string(),
            units: r.n_units(),
            coded_units: coded,
            percent_agreement: Coef::of(ag::percent_agreement(r)),
            cohen_kappa: two.then(|| Coef::of(ag::cohen_kappa(r))),
            fleiss_kappa: Coef::of(ag::fleiss_kappa(r)),
            scott_pi: Coef::of(ag::scott_pi(r)),
            krippendorff_alpha: Coef::of(alpha),
            alpha_bootstrap_ci: boot,
            brennan_prediger: Coef::of(ag::brennan_prediger(r, Some(2))),
            gwet_ac1: Coef::of(ag::gwet_ac1(r)),
        }
    }
}

/// Agreement over a study, per code and pooled.
#[derive(Clone, Debug, Serialize)]
pub struct Agreement {
    /// What was counted, for the table's caption.
    pub caption: String,
    /// The coders compared.
    pub coders: Vec<String>,
    /// `passages` or `notes`.
    pub unit: &'static str,
    /// One row per code, then the pooled row when there are several codes.
    pub rows: Vec<Row>,
    /// The codes compared.
    #[serde(skip)]
    pub codes: Vec<String>,
    /// Each unit's codes per coder (and for `--disagreements` its id, site and text).
    #[serde(skip)]
    units: Units,
    /// The number the units give each code.
    #[serde(skip)]
    number: HashMap<String, u32>,
}

/// A unit where some coders gave a code and others did not.
#[derive(Clone, Debug, Serialize)]
pub struct Disagreement {
    /// The code.
    pub code: String,
    /// The passage id (or the note's path, by notes).
    pub unit: String,
    /// Its note's site.
    pub site: String,
    /// Who gave it the code.
    pub coded_by: Vec<String>,
    /// Who did not.
    pub not_by: Vec<String>,
    /// The passage's text (empty by notes).
    pub text: String,
}

/// The project's human coders ([`units::human_coders`], from every ledger but the rules'), and
/// whoever reviewed suggestions in any ledger.
pub fn human_coders(project: &fieldnotes_corpus::Project) -> Result<Vec<String>> {
    let mut codings = fieldnotes_coding::Codings::default();
    let mut reviewers = std::collections::BTreeSet::new();
    let states = fieldnotes_coding::state::States::new(&project.derived_dir());
    // Who reviewed suggestions counts as a coder too (their accepted suggestions are theirs).
    for l in fieldnotes_coding::Ledger::all(project.root())? {
        if l.coder() != fieldnotes_coding::ledger::RULES_CODER {
            let fold = l.read()?;
            reviewers.extend(fold.current().filter_map(|c| c.reviewer.clone()));
            codings.ledgers.insert(l.coder().to_string(), fold);
            continue;
        }
        // The rules' ledger, not read whole: from its coding state's table of notes.
        match states.notes(&l)? {
            Some(notes) => reviewers.extend(notes.into_values().flatten()),
            None => reviewers.extend(l.read()?.current().filter_map(|c| c.reviewer.clone())),
        }
    }
    let mut coders = units::human_coders(&codings);
    for r in reviewers {
        if !r.is_empty() && r != fieldnotes_coding::ledger::RULES_CODER && !coders.contains(&r) {
            coders.push(r);
        }
    }
    coders.sort();
    Ok(coders)
}

/// The units of agreement, as captions name them.
fn unit_name(unit: Unit) -> &'static str {
    if unit == Unit::Passage { "passages" } else { "notes" }
}

impl Agreement {
    /// Agreement of `req.coders` over `study` (the notes they share, [`crate::study::shared_notes`],
    /// or the whole study). An error names what is missing: a coder without codings, an unknown
    /// code, no note every coder touched. A coder whose codings are all suggestions, counted
    /// without them, is warned of.
    pub fn of(study: &Study, req: &Request, tell: &dyn Tell) -> Result<Agreement> {
        let coders = &req.coders;
        let reviewers: HashSet<&str> = study.codings.iter().filter_map(|c| c.reviewer.as_deref()).collect();
        for c in coders {
            // A coder is known by a ledger of their own, or by suggestions they reviewed.
            if !study.codings.ledgers.contains_key(c) && !reviewers.contains(c.as_str()) {
                bail!(
                    "no ledger `codings/{c}.jsonl`; coders with ledgers: {}",
                    study.codings.ledgers.keys().cloned().collect::<Vec<_>>().join(", ")
                );
            }
        }
        let book = study.codebook()?;
        let mut gather = Gather::new(req, &book)?;
        gather.batch(&study.corpus, &study.codings, &study.placement());
        gather.finish(tell)
    }

    /// [`Agreement::of`] over notes `shared` (every coder known in them, [`study::shared_notes`]),
    /// read a batch at a time: memory holds two batches and what each unit needs for the
    /// coefficients, however many notes.
    ///
    /// [`study::shared_notes`]: crate::study::shared_notes
    pub fn in_batches(
        project: &fieldnotes_corpus::Project,
        shared: &[String],
        req: &Request,
        tell: &dyn Tell,
    ) -> Result<Agreement> {
        let book = crate::study::codebook(project)?;
        let mut gather = Gather::new(req, &book)?;
        crate::study::place_notes_in_batches(project, shared, tell, |corpus, codings, placement| {
            gather.batch(corpus, codings, placement);
            Ok(())
        })?;
        gather.finish(tell)
    }

    /// The units where some coders gave a code and others did not, code by code, with the
    /// passage's site and text (kept when `req.texts` asked for them).
    pub fn disagreements(&self) -> Vec<Disagreement> {
        let mut out = Vec::new();
        for c in &self.codes {
            let Some(&k) = self.number.get(c) else { continue };
            for (u, &pattern) in self.units.pattern.iter().enumerate() {
                let sets = &self.units.patterns[pattern as usize];
                let yes: Vec<String> = self
                    .coders
                    .iter()
                    .zip(sets)
                    .filter(|(_, s)| s.binary_search(&k).is_ok())
                    .map(|(n, _)| n.clone())
                    .collect();
                if yes.is_empty() || yes.len() == self.coders.len() {
                    continue;
                }
                let no: Vec<String> = self.coders.iter().filter(|n| !yes.contains(n)).cloned().collect();
                let (site, text) = self.units.shown.get(&u).cloned().unwrap_or_default();
                let unit = self.units.ids.get(u).cloned().unwrap_or_default();
                out.push(Disagreement { code: c.clone(), unit, site, coded_by: yes, not_by: no, text });
            }
        }
        out
    }
}

/// The units of agreement: each one's codes per coder, as the numbers of its codes (sorted),
/// kept once per distinct pattern (a passage's pattern is mostly "nobody coded it"), and for
/// `--disagreements` each one's id, and the site and text of those the coders differ on.
#[derive(Clone, Debug, Default)]
struct Units {
    /// Each unit's pattern, as its number in `patterns`.
    pattern: Vec<u32>,
    patterns: Vec<Vec<Vec<u32>>>,
    known: HashMap<Vec<Vec<u32>>, u32>,
    /// Each unit's id (only for disagreements).
    ids: Vec<String>,
    /// Site and text, by unit (only for disagreements).
    shown: HashMap<usize, (String, String)>,
}

/// What agreement takes from each batch of notes, and computes the coefficients from once
/// every batch is in.
struct Gather<'a> {
    req: &'a Request,
    book: &'a Codebook,
    sel: Selection,
    /// The codes compared.
    codes: Vec<String>,
    /// Every code name met, numbered: the units hold numbers, not names.
    names: Vec<String>,
    number: HashMap<String, u32>,
    units: Units,
    /// Notes every coder touched (in the site asked for).
    shared: usize,
    /// Sites of the notes read, and of those every coder touched, for the message when no
    /// note of the site asked for is shared.
    sites: BTreeSet<String>,
    theirs: BTreeSet<String>,
    /// Per coder: whether they have a coding here, and whether every one is a suggestion.
    any: Vec<bool>,
    all_suggested: Vec<bool>,
    left: LeftOut,
}

impl<'a> Gather<'a> {
    fn new(req: &'a Request, book: &'a Codebook) -> Result<Gather<'a>> {
        let codes: Vec<String> = match &req.code {
            Some(c) => {
                if book.code(c).is_none() {
                    bail!("unknown code `{c}`");
                }
                vec![c.clone()]
            }
            None => book.codes.iter().map(|c| c.id.clone()).collect(),
        };
        let n = req.coders.len();
        Ok(Gather {
            req,
            book,
            sel: Selection {
                coders: req.coders.clone(),
                include_suggested: req.include_suggested,
                machine_output: req.include_suggested,
            },
            codes,
            names: Vec::new(),
            number: HashMap::new(),
            units: Units::default(),
            shared: 0,
            sites: BTreeSet::new(),
            theirs: BTreeSet::new(),
            any: vec![false; n],
            all_suggested: vec![true; n],
            left: LeftOut::default(),
        })
    }

    /// Takes a batch of notes, with their codings and the placement of those.
    fn batch(&mut self, corpus: &Corpus, codings: &Codings, placement: &Placement<'_>) {
        let coders = &self.req.coders;
        for c in codings.iter() {
            if let Some(i) = coders.iter().position(|x| *x == c.coder) {
                self.any[i] = true;
                self.all_suggested[i] &= c.status == fieldnotes_coding::Status::Suggested;
            }
        }
        let by_coder = units::passage_codes_by_coder(placement, &self.sel);
        // Notes each coder has touched (any coding, whatever its status, or a review of one:
        // they read that note).
        let mut touched: BTreeMap<&str, HashSet<usize>> = BTreeMap::new();
        for p in &placement.placed {
            touched.entry(p.coding.coder.as_str()).or_default().insert(p.doc);
            if let Some(r) = p.coding.reviewer.as_deref() {
                touched.entry(r).or_default().insert(p.doc);
            }
        }
        for (d, doc) in corpus.documents.iter().enumerate() {
            let site = doc.attr_str("site");
            self.sites.extend(site.map(str::to_string));
            if !coders.iter().all(|c| touched.get(c.as_str()).is_some_and(|s| s.contains(&d))) {
                continue;
            }
            self.theirs.extend(site.map(str::to_string));
            if self.req.site.as_ref().is_some_and(|s| !site.is_some_and(|x| x.eq_ignore_ascii_case(s))) {
                continue;
            }
            self.shared += 1;
            // Per unit, per coder, the codes.
            let codes_of = |pi: usize, c: &str| by_coder.get(&(d, pi)).and_then(|m| m.get(c));
            match self.req.unit {
                Unit::Passage => {
                    for (pi, p) in doc.passages.iter().enumerate() {
                        let sets: Vec<Vec<&String>> =
                            coders.iter().map(|c| codes_of(pi, c).into_iter().flatten().collect()).collect();
                        let text = || doc.passage_text(p).to_string();
                        self.unit(doc.passage_id(p), sets, site, text);
                    }
                }
                Unit::Document => {
                    let sets: Vec<Vec<&String>> = coders
                        .iter()
                        .map(|c| (0..doc.passages.len()).filter_map(|pi| codes_of(pi, c)).flatten().collect())
                        .collect();
                    self.unit(doc.path.clone(), sets, site, String::new);
                }
            }
        }
        let left = crate::study::left_out_in(corpus, placement, &self.sel);
        self.left.notes.extend(left.notes);
        self.left.in_unread += left.in_unread;
        self.left.orphans += left.orphans;
        self.left.of_gone_notes += left.of_gone_notes;
    }

    /// Keeps a unit with each coder's codes (`sets`), unless `--exclude-uncoded` leaves it out:
    /// no coder gave it any code of the codebook, whether one code is asked about or all (one
    /// code's row is the same either way).
    fn unit(&mut self, id: String, sets: Vec<Vec<&String>>, site: Option<&str>, text: impl FnOnce() -> String) {
        if self.req.exclude_uncoded && !sets.iter().flatten().any(|c| self.book.code(c).is_some()) {
            return;
        }
        let sets: Vec<Vec<u32>> = sets
            .into_iter()
            .map(|s| {
                let mut n: Vec<u32> = s.into_iter().map(|c| self.number(c)).collect();
                n.sort_unstable();
                n.dedup();
                n
            })
            .collect();
        let differ = |c: &String| {
            let Some(k) = self.number.get(c) else { return false };
            let yes = sets.iter().filter(|s| s.binary_search(k).is_ok()).count();
            yes > 0 && yes < sets.len()
        };
        let u = self.units.pattern.len();
        if self.req.texts {
            if self.codes.iter().any(differ) {
                self.units.shown.insert(u, (site.unwrap_or("").to_string(), text()));
            }
            self.units.ids.push(id);
        }
        let units = &mut self.units;
        let pattern = match units.known.get(&sets) {
            Some(&p) => p,
            None => {
                units.patterns.push(sets.clone());
                units.known.insert(sets, (units.patterns.len() - 1) as u32);
                (units.patterns.len() - 1) as u32
            }
        };
        units.pattern.push(pattern);
    }

    /// The number of code `c`.
    fn number(&mut self, c: &str) -> u32 {
        if let Some(&k) = self.number.get(c) {
            return k;
        }
        let k = self.names.len() as u32;
        self.names.push(c.to_string());
        self.number.insert(c.to_string(), k);
        k
    }

    /// The coefficients, once every batch is in.
    fn finish(self, tell: &dyn Tell) -> Result<Agreement> {
        let Gather { req, book, sel, codes, names, number, units, shared, sites, theirs, any, all_suggested, left } =
            self;
        let coders = &req.coders;
        if !req.include_suggested {
            // A coder whose codings are all suggestions (the rules) has nothing counted without
            // them: the coefficients would compare the others with nobody.
            for (i, c) in coders.iter().enumerate() {
                if any[i] && all_suggested[i] {
                    tell.warn(&format!(
                        "`{c}` has only suggestions, which count only with --include-suggested; without it `{c}` coded nothing here"
                    ));
                }
            }
        }
        if shared == 0 {
            if let Some(site) = &req.site
                && !sites.iter().any(|s| s.eq_ignore_ascii_case(site))
                && !theirs.is_empty()
            {
                bail!(
                    "none of the notes {} all coded is in site `{site}`; theirs are in: {}",
                    coders.join(", "),
                    theirs.into_iter().collect::<Vec<_>>().join(", ")
                );
            }
            bail!(
                "no note{} has been coded by all of {}; agreement needs shared material",
                req.site.as_ref().map(|s| format!(" in {s}")).unwrap_or_default(),
                coders.join(", ")
            );
        }
        let code_numbers: Vec<Option<u32>> = codes.iter().map(|c| number.get(c).copied()).collect();
        let has = |s: &[u32], k: Option<u32>| k.is_some_and(|k| s.binary_search(&k).is_ok());
        // Units per pattern.
        let mut of_pattern = vec![0usize; units.patterns.len()];
        for &p in &units.pattern {
            of_pattern[p as usize] += 1;
        }
        // The table of codes `ks` (one code, or every code used in turn, pooled): each
        // pattern's row for a code (the code's presence or absence per coder) is one of the
        // table's kinds, and each unit names its pattern's.
        let table = |ks: &[Option<u32>]| -> Result<Ratings> {
            let mut kinds: Vec<Vec<Option<f64>>> = Vec::new();
            let mut known: HashMap<Vec<bool>, u32> = HashMap::new();
            let of: Vec<Vec<u32>> = ks
                .iter()
                .map(|&k| {
                    units
                        .patterns
                        .iter()
                        .map(|sets| {
                            let row: Vec<bool> = sets.iter().map(|s| has(s, k)).collect();
                            let next = kinds.len() as u32;
                            *known.entry(row).or_insert_with_key(|row| {
                                kinds.push(row.iter().map(|&b| Some(f64::from(u8::from(b)))).collect());
                                next
                            })
                        })
                        .collect()
                })
                .collect();
            let mut unit_kind: Vec<u32> = Vec::with_capacity(units.pattern.len() * ks.len());
            unit_kind.extend(units.pattern.iter().flat_map(|&p| of.iter().map(move |kinds| kinds[p as usize])));
            Ok(Ratings::from_kinds(coders.clone(), kinds, unit_kind)?)
        };
        // Units some coder gave each code.
        let coded: Vec<usize> = code_numbers
            .iter()
            .map(|&k| {
                units
                    .patterns
                    .iter()
                    .zip(&of_pattern)
                    .filter(|(sets, _)| sets.iter().any(|s| has(s, k)))
                    .map(|(_, n)| n)
                    .sum()
            })
            .collect();
        // The codes some coder gave in these units: only they are pooled, as a code nobody
        // used would add units where every coder agrees by saying nothing.
        let used: Vec<Option<u32>> =
            code_numbers.iter().zip(&coded).filter(|(_, n)| **n > 0).map(|(k, _)| *k).collect();
        // Each row's coefficients and bootstrap on its own, the codes' and the pooled row side
        // by side on the cores (each row's resamples have their own seeded draws, so the rows
        // are the same in any order): 1,000 resamples of 1.6 million pooled units are seconds.
        let code_row = |((c, &k), coded): ((&String, &Option<u32>), &usize)| -> Result<Row> {
            Ok(Row::of(c, &table(&[k])?, *coded, req))
        };
        let pooled_row = || -> Option<Row> {
            if codes.len() <= 1 || used.is_empty() {
                return None;
            }
            // A pooled unit is coded where its code is: the codes' counts summed.
            let r = table(&used).ok()?;
            Some(Row::of("(all codes, pooled)", &r, coded.iter().sum(), req))
        };
        let (per_code, pooled) = rayon::join(
            || codes.par_iter().zip(&code_numbers).zip(&coded).map(code_row).collect::<Vec<_>>(),
            pooled_row,
        );
        let mut rows: Vec<Row> = per_code.into_iter().collect::<Result<_>>()?;
        rows.extend(pooled);
        // Codes the codings use that the codebook does not have (renamed or removed): no row
        // counts them, which is said rather than passed over.
        let mut not_in_book: BTreeMap<&str, usize> = BTreeMap::new();
        if req.code.is_none() {
            let outside: Vec<bool> = names.iter().map(|c| book.code(c).is_none()).collect();
            for (sets, &n) in units.patterns.iter().zip(&of_pattern) {
                let mut unit_codes: Vec<u32> =
                    sets.iter().flatten().copied().filter(|&k| outside[k as usize]).collect();
                unit_codes.sort_unstable();
                unit_codes.dedup();
                for k in unit_codes {
                    *not_in_book.entry(names[k as usize].as_str()).or_default() += n;
                }
            }
        }
        let not_in_book = if not_in_book.is_empty() {
            String::new()
        } else {
            let listed: Vec<String> =
                not_in_book.iter().map(|(c, n)| format!("`{c}`: {n} {}", unit_name(req.unit))).collect();
            let clause = format!(
                "not counted in any row: codings of {} code(s) the codebook does not have ({}); a code renamed in the codebook keeps its old id in the ledgers",
                listed.len(),
                listed.join(", ")
            );
            tell.warn(&clause);
            format!("; {clause}")
        };
        let pooled_over = if codes.len() > 1 && used.len() < codes.len() {
            format!("; pooled over the {} code(s) some coder gave", used.len())
        } else {
            String::new()
        };
        let unit = unit_name(req.unit);
        // Codings that count nowhere (orphaned, or in notes that could not be read) are said.
        let left = left.clause();
        let caption = format!(
            "Agreement of {} over {} {unit} of {} note(s){}; {}; nominal presence/absence per code{}{pooled_over}{}{not_in_book}.",
            coders.join(", "),
            units.pattern.len(),
            shared,
            req.site.as_ref().map(|s| format!(" in {s}")).unwrap_or_default(),
            sel.describe(),
            if req.exclude_uncoded { ", units no coder coded left out" } else { "" },
            if left.is_empty() { String::new() } else { format!("; {left}") }
        );
        Ok(Agreement { caption, coders: coders.clone(), unit, rows, codes, units, number })
    }
}
