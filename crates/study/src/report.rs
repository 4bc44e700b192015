//! What the reports count and say, for every front end: the theme table of a loaded study,
//! the captions that state the counting rule and what was left out, the chi-square table, and
//! the whole HTML report.

use anyhow::Result;
use fieldnotes_coding::Codebook;
use fieldnotes_coding::units::{self, Selection};
use fieldnotes_corpus::{Corpus, Project};
use fieldnotes_report::analysis::{self, CodeTest};
use fieldnotes_report::render::{self, Table};
use fieldnotes_report::store::LeftOut;
use fieldnotes_report::{Frames, GroupBy, Measure, ThemeTable, UnitKind};

use serde::Serialize;

use crate::{Study, Tell, study};

/// [`study::place_in_batches`] handing `each` every batch of notes with the placement of their
/// codings; returns what the batches leave out under `sel`, added up.
pub fn placed_in_batches(
    project: &Project,
    sel: &Selection,
    tell: &dyn Tell,
    mut each: impl FnMut(&Corpus, &units::Placement<'_>) -> Result<()>,
) -> Result<LeftOut> {
    let mut all = LeftOut::default();
    study::place_in_batches(project, tell, |corpus, _, placement| {
        each(corpus, placement)?;
        let batch = study::left_out_in(corpus, placement, sel);
        all.notes.extend(batch.notes);
        all.in_unread += batch.in_unread;
        all.orphans += batch.orphans;
        all.of_gone_notes += batch.of_gone_notes;
        Ok(())
    })?;
    Ok(all)
}

/// The counting rule and what was left out, for a caption.
pub fn counted(sel: &Selection, left_out: &LeftOut) -> String {
    let left = left_out.clause();
    if left.is_empty() { sel.describe() } else { format!("{}; {left}", sel.describe()) }
}

impl Study {
    /// The theme table of the loaded study (every passage's codes placed now, as `sel`
    /// counts them), with what it leaves out.
    pub fn theme_table(
        &self,
        book: &Codebook,
        by: &str,
        unit: UnitKind,
        measure: Measure,
        sel: &Selection,
        rollup: bool,
    ) -> Result<ThemeTable> {
        let placement = self.placement();
        let codes = units::passage_codes(&placement, sel);
        let group = GroupBy::parse(by);
        let frames = Frames::build(&self.corpus, &codes, book, &group, rollup)?;
        let mut t = fieldnotes_report::theme_table(&frames, book, by, unit, measure, &sel.describe(), rollup)?;
        t.left_out = self.left_out(&placement, sel).describe();
        Ok(t)
    }
}

/// The caption of a co-occurrence table: what counts as together, the counting rule.
pub fn cooccur_caption(counted: &str, window: usize, book: &Codebook) -> String {
    if window == 0 {
        return format!(
            "Passages where both codes occur in the same passage (diagonal: passages with the code); Jaccard over single passages in brackets (– where neither code occurs). Counted: {}; codebook version {}.",
            counted, book.codebook.version
        );
    }
    // Counted from the row code's passages: a cell and its mirror differ where one code's
    // passages cluster near the other's.
    format!(
        "Each cell: passages carrying the row's code that have the column's code in the same passage or within {window} passage(s) of it in the same note, so the table is not symmetric: a cell counts the row code's passages, its mirror the column code's (diagonal: passages with the code); Jaccard over single passages in brackets (– where neither code occurs). Counted: {}; codebook version {}.",
        counted, book.codebook.version
    )
}

/// The chi-square table of each code by group, its caption saying what a cell holds and what
/// was counted.
pub fn stats_table(groups: &[String], tests: &[CodeTest], by: &str, counted: &str) -> Table {
    let mut header: Vec<String> = vec!["code".into(), "χ²".into(), "df".into(), "p".into()];
    header.extend(groups.iter().map(|g| format!("{g} (r)")));
    let mut warn = false;
    let rows = tests
        .iter()
        .map(|t| {
            let mut r = vec![t.code.clone()];
            match &t.test {
                Some(x) => {
                    warn |= x.small_expected_warning();
                    let flag = if x.small_expected_warning() { "†" } else { "" };
                    r.push(format!("{:.2}{flag}", x.statistic));
                    r.push(x.df.to_string());
                    r.push(if x.p_value < 0.001 { "<0.001".into() } else { format!("{:.3}", x.p_value) });
                    r.extend(
                        t.residuals
                            .iter()
                            .zip(&t.present)
                            .map(|(res, n)| format!("{n} ({res:+.2}){}", if res.abs() > 1.96 { "*" } else { "" })),
                    );
                }
                None => {
                    r.extend(["n/a".to_string(), "–".into(), "–".into()]);
                    r.extend(t.present.iter().map(|n| n.to_string()));
                }
            }
            r
        })
        .collect();
    let mut numeric = vec![false];
    numeric.extend(std::iter::repeat_n(true, header.len() - 1));
    let caption = format!(
        "Pearson chi-square test of each code (passage coded or not) by {by}; cells give coded passages and the adjusted standardised residual, * where |r| > 1.96.{} Counted: {}.",
        if warn {
            " † over 20% of expected counts are under 5 (or one under 1): read that test with caution."
        } else {
            ""
        },
        counted
    );
    Table { header, rows, numeric, caption }
}

/// The whole HTML report as one self-contained page.
pub fn html_report(project: &Project, book: &Codebook, by: &str, sel: &Selection, tell: &dyn Tell) -> Result<String> {
    use render::{html_escape, html_table};
    let group = GroupBy::parse(by);
    // The theme table from the report store, as `report themes` counts it; the rest counted a
    // batch of notes at a time.
    let store = crate::store::report_store(project, tell)?;
    let mut counts = store.passage_table(book, by, sel)?;
    let ids: Vec<String> = book.codes.iter().map(|c| c.id.clone()).collect();
    let mut co = analysis::CooccurrenceCounts::new(book, 0);
    store.for_each_note_codes(book, sel, |sets| co.add_note(sets));
    let mut picks = analysis::QuotePicks::new(&ids, 1);
    let (mut notes, mut passages) = (0, 0);
    // The quotes need the notes' words: those a batch of notes at a time.
    let left_out = placed_in_batches(project, sel, tell, |corpus, placement| {
        picks.add(corpus, placement, sel, &group);
        notes += corpus.documents.len();
        passages += corpus.passage_count();
        Ok(())
    })?;
    // The chi-square tests from the theme table's counts, as `report stats` has them.
    let (groups, tests) = analysis::GroupCounts::from_theme_table(&counts).finish();
    let (co, qs) = (co.finish(), picks.finish());
    counts.left_out = left_out.describe();
    let counted = counted(sel, &left_out);
    // The same counts, shown as shares of each group's passages: only the measure differs.
    let shares = ThemeTable { measure: Measure::Share, ..counts.clone() };
    let name =
        if project.config.name.is_empty() { "Fieldnotes report".to_string() } else { project.config.name.clone() };
    let mut body = format!(
        "<h1>{}</h1>\n<p>{} notes, {} passages. Codebook: {} (version {}). Counted: {}.</p>\n",
        html_escape(&name),
        notes,
        passages,
        html_escape(&book.codebook.name),
        html_escape(&book.codebook.version),
        html_escape(&counted)
    );
    body.push_str(&format!("<h2>Themes by {}</h2>\n", html_escape(by)));
    body.push_str(&html_table(&named(counts.to_table(), book, true)));
    body.push_str(&format!(
        "<figure>{}<figcaption>{}</figcaption></figure>\n",
        render::heatmap_svg(&shares),
        html_escape(&shares.caption())
    ));
    body.push_str("<h2>Co-occurrence</h2>\n");
    body.push_str(&format!(
        "<div class=\"wide\">{}</div>",
        html_table(&named(co.to_table(&cooccur_caption(&counted, 0, book)), book, false))
    ));
    body.push_str(&format!("<h2>Codes by {}: chi-square</h2>\n", html_escape(by)));
    body.push_str(&format!(
        "<div class=\"wide\">{}</div>",
        html_table(&named(stats_table(&groups, &tests, by, &counted), book, true))
    ));
    // The words each group uses more than the others.
    let stop = fieldnotes_report::keyness::ENGLISH_STOPWORDS.iter().map(|w| w.to_string()).collect();
    let (words, _) = word_counts(project, &Compare::By(by.to_string()), stop, sel, tell)?;
    let mut key: Vec<fieldnotes_report::keyness::Keyness> = Vec::new();
    for g in words.groups() {
        let mut mine: Vec<_> = words.keyness(3, Some(g)).into_iter().filter(|k| k.g2 > 0.0 && k.p < 0.05).collect();
        mine.sort_by(|a, b| b.g2.total_cmp(&a.g2).then(a.word.cmp(&b.word)));
        mine.truncate(10);
        key.extend(mine);
    }
    let key_caption = format!(
        "The ten words each {by} uses most over the other {by}s (used at least 3 times, p < 0.05: G2 above 3.84): signed log-likelihood G2 (the four-cell form of Dunning 1993) and Log Ratio (Hardie 2014, a frequency of 0 taken as 0.5). Words: runs of letters and digits with at least one letter (a number alone is not a word), in lower case, in the passages' text, English function words left out."
    );
    body.push_str(&format!("<h2>Words by {}: keyness</h2>\n", html_escape(by)));
    body.push_str(&html_table(&fieldnotes_report::keyness::keyness_table(&key, by, &key_caption)));
    body.push_str("<h2>Exemplar quotes</h2>\n");
    for c in &book.codes {
        let mine: Vec<&analysis::Quote> = qs.iter().filter(|q| q.code == c.id).collect();
        if mine.is_empty() {
            continue;
        }
        body.push_str(&format!(
            "<h3>{} <span class=\"meta\">({})</span></h3>\n",
            html_escape(&c.name),
            html_escape(&c.id)
        ));
        for q in mine {
            let mut meta = vec![q.group.clone(), q.passage.clone()];
            meta.extend(q.speaker.clone());
            meta.extend(q.kind.clone());
            meta.extend(q.date.clone());
            body.push_str(&format!(
                "<blockquote>{}<br><span class=\"meta\">{}</span></blockquote>\n",
                html_escape(&q.text),
                html_escape(&meta.join(" · "))
            ));
        }
    }
    body.push_str("<p class=\"meta\">Made by fieldnotes; no network resources are used by this page.</p>\n");
    Ok(render::html_page(&name, &body))
}

/// `t` with its codes named as a paper names them: a row whose first cell is a code's id gets
/// the code's name there (indented as it was) and, with `id_column`, the id in a last column,
/// `id`; column headers that are ids (co-occurrence) get names too.
pub fn named(mut t: Table, book: &Codebook, id_column: bool) -> Table {
    let name = |id: &str| book.code(id).map(|c| if c.name.trim().is_empty() { c.id.clone() } else { c.name.clone() });
    let mut any = false;
    for row in &mut t.rows {
        let Some(first) = row.first_mut() else { continue };
        let id = first.trim_start().to_string();
        match name(&id) {
            Some(n) => {
                let indent = &first[..first.len() - id.len()];
                *first = format!("{indent}{n}");
                row.push(id);
                any = true;
            }
            None => row.push(String::new()),
        }
    }
    if any && id_column {
        t.header.push("id".to_string());
        t.numeric.push(false);
    } else {
        for row in &mut t.rows {
            row.pop();
        }
    }
    for h in t.header.iter_mut().skip(1) {
        if let Some(n) = name(h) {
            *h = n;
        }
    }
    t
}

/// One code of a [`CodebookView`].
#[derive(Clone, Debug, Serialize)]
pub struct CodeView {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
    /// Its parent's id.
    pub parent: Option<String>,
    /// What counts and what does not.
    pub description: String,
    /// Its colour.
    pub colour: Option<String>,
    /// Passages carrying it (the theme table's total).
    pub passages: u64,
}

/// The codebook with how many passages carry each code.
#[derive(Clone, Debug, Serialize)]
pub struct CodebookView {
    /// The codebook's name.
    pub name: String,
    /// Its version.
    pub version: String,
    /// Its codes, in its order.
    pub codes: Vec<CodeView>,
}

/// `book` with the passages carrying each code, counted as the theme table counts them (from
/// the report store; accepted codings by anyone, and suggestions with `include_suggested`).
pub fn codebook_view(
    project: &Project,
    book: &Codebook,
    include_suggested: bool,
    tell: &dyn Tell,
) -> Result<CodebookView> {
    let sel = Selection { coders: vec![], include_suggested, ..Selection::default() };
    let table = crate::store::report_store(project, tell)?.passage_table(book, "site", &sel)?;
    let counts: std::collections::HashMap<&str, u64> =
        table.rows.iter().map(|r| (r.id.as_str(), r.cells.last().map_or(0, |c| c.passages))).collect();
    Ok(CodebookView {
        name: book.codebook.name.clone(),
        version: book.codebook.version.clone(),
        codes: book
            .codes
            .iter()
            .map(|c| CodeView {
                id: c.id.clone(),
                name: c.name.clone(),
                parent: c.parent.clone(),
                description: c.description.clone(),
                colour: c.colour.clone(),
                passages: counts.get(c.id.as_str()).copied().unwrap_or(0),
            })
            .collect(),
    })
}

/// A theme table as JSON gives it: the caption, the table, and each cell's value under the
/// table's measure (row by row).
#[derive(Clone, Debug, Serialize)]
pub struct ThemesJson<'a> {
    /// The caption.
    pub caption: String,
    /// The table.
    pub table: &'a ThemeTable,
    /// Each cell's value, row by row (`None` where undefined).
    pub values: Vec<Vec<Option<f64>>>,
}

impl<'a> ThemesJson<'a> {
    /// `t` with its caption and values.
    pub fn of(t: &'a ThemeTable) -> ThemesJson<'a> {
        let values = (0..t.rows.len()).map(|i| (0..t.groups.len()).map(|j| t.value(i, j)).collect()).collect();
        ThemesJson { caption: t.caption(), table: t, values }
    }
}

/// A co-occurrence table with its caption.
#[derive(Clone, Debug, Serialize)]
pub struct CooccurrenceJson<'a> {
    /// The caption.
    pub caption: &'a str,
    /// The counts.
    pub cooccurrence: &'a analysis::Cooccurrence,
}

/// The chi-square tests of each code by group, with the caption.
#[derive(Clone, Debug, Serialize)]
pub struct StatsJson<'a> {
    /// The caption.
    pub caption: &'a str,
    /// The groups, in the tests' order.
    pub groups: &'a [String],
    /// One test per code.
    pub tests: &'a [CodeTest],
}

/// Exemplar quotes with their caption.
#[derive(Clone, Debug, Serialize)]
pub struct QuotesJson<'a> {
    /// The caption.
    pub caption: &'a str,
    /// The quotes.
    pub quotes: &'a [analysis::Quote],
}

/// What a keyness table compares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Compare {
    /// Each value of an attribute (site, kind, speaker, year, ...) against all the others.
    By(String),
    /// One value of an attribute (`site=Fife`, any case) against the rest.
    Target(String, String),
    /// The passages carrying a code (as `sel` counts codings) against the rest.
    Code(String),
}

impl Compare {
    /// The column the groups are named in.
    pub fn column(&self) -> &str {
        match self {
            Compare::By(a) | Compare::Target(a, _) => a,
            Compare::Code(_) => "code",
        }
    }

    /// The one group compared, if only one is.
    pub fn only(&self) -> Option<&str> {
        match self {
            Compare::By(_) => None,
            Compare::Target(_, v) => Some(v),
            Compare::Code(c) => Some(c),
        }
    }

    /// What is compared with what, for a caption.
    pub fn describe(&self) -> String {
        match self {
            Compare::By(a) => format!("each {a} against all the other {a}s together"),
            Compare::Target(a, v) => format!("{a} {v} against every other {a}"),
            Compare::Code(c) => format!("the passages coded `{c}` against all other passages"),
        }
    }
}

/// The name of the groups' complement in [`Compare::Target`] and [`Compare::Code`].
pub const REST: &str = "(rest)";

/// The words of every passage (its text: front matter and headings are no passages), counted
/// by group as `compare` groups them, a batch of notes at a time; returns the counts and what
/// was left out of the codings `sel` counts (for `Compare::Code`).
pub fn word_counts(
    project: &Project,
    compare: &Compare,
    stopwords: Vec<String>,
    sel: &Selection,
    tell: &dyn Tell,
) -> Result<(fieldnotes_report::keyness::WordCounts, LeftOut)> {
    let mut counts = fieldnotes_report::keyness::WordCounts::new(stopwords);
    if !matches!(compare, Compare::Code(_)) {
        // Groups of attributes need no codings: the notes alone, a batch at a time.
        let (files, skipped) = study::note_files(project, tell)?;
        for s in &skipped {
            tell.warn(&study::skip_warning(s));
        }
        let pb = tell.progress(files.len() as u64, "reading");
        study::read_in_batches(project, &files, tell, &|_| pb.inc(1), true, |corpus| {
            add_words(&mut counts, compare, &corpus, &Default::default());
            Ok(())
        })?;
        pb.finish_and_clear();
        return Ok((counts, LeftOut::default()));
    }
    let left = placed_in_batches(project, sel, tell, |corpus, placement| {
        add_words(&mut counts, compare, corpus, &units::passage_codes(placement, sel));
        Ok(())
    })?;
    Ok((counts, left))
}

/// Counts the words of every passage of `corpus` in its group (`codes`: each passage's codes,
/// for [`Compare::Code`]).
fn add_words(
    counts: &mut fieldnotes_report::keyness::WordCounts,
    compare: &Compare,
    corpus: &Corpus,
    codes: &units::PassageCodes,
) {
    {
        for (di, d) in corpus.documents.iter().enumerate() {
            for (pi, p) in d.passages.iter().enumerate() {
                let group = match compare {
                    Compare::By(a) => GroupBy::parse(a).value(d, p),
                    Compare::Target(a, v) => {
                        if GroupBy::parse(a).value(d, p).eq_ignore_ascii_case(v) {
                            v.clone()
                        } else {
                            REST.to_string()
                        }
                    }
                    Compare::Code(c) => {
                        if codes.get(&(di, pi)).is_some_and(|s| s.contains(c)) {
                            c.clone()
                        } else {
                            REST.to_string()
                        }
                    }
                };
                let group = if group.is_empty() { "(none)".to_string() } else { group };
                counts.add(&group, d.passage_text(p));
            }
        }
    }
}
