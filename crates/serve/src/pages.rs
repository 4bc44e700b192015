//! The workbench's pages, rendered on the server from what the library returns.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use fieldnotes_coding::ledger::{Coding, Status};
use fieldnotes_coding::units::Selection;
use fieldnotes_coding::{Code, Codebook};
use fieldnotes_corpus::Project;
use fieldnotes_study::Study;
use fieldnotes_study::code::Filter;
use fieldnotes_study::show::{Mark, PassageView};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::Log;

/// The pages' script: selection offsets, keys, the calls that code.
pub const APP_JS: &str = include_str!("../assets/app.js");
/// The pages' style.
pub const APP_CSS: &str = include_str!("../assets/app.css");

/// Colours for codes the codebook gives none (colour-blind safe, after Okabe and Ito).
const PALETTE: [&str; 8] = ["#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7", "#999999"];

/// Every page: the navigation, what the library warned about, the body.
pub fn layout(title: &str, coder: &str, warnings: &[String], body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · fieldnotes" }
                link rel="stylesheet" href="/assets/app.css";
            }
            body {
                nav {
                    a href="/" { "Notes" }
                    a href="/review" { "Review" }
                    a href="/search" { "Search" }
                    a href="/codebook" { "Codebook" }
                    a href="/themes" { "Themes" }
                    span.coder { "coding as " b { (coder) } }
                }
                @if !warnings.is_empty() {
                    div.warnings {
                        @for w in warnings { p { "warning: " (w) } }
                    }
                }
                div #status role="status" {}
                main { (body) }
                script src="/assets/app.js" {}
            }
        }
    }
}

/// An error, with the library's message (which names the file and says what to do).
pub fn error(e: &anyhow::Error) -> Markup {
    html! { div.error { h1 { "Cannot show this" } pre { (format!("{e:#}")) } } }
}

/// A code's colour: the codebook's, or one of the palette by its place in the codebook.
fn colour_of(book: &Codebook, code: &str) -> String {
    let i = book.codes.iter().position(|c| c.id == code);
    let given = i.and_then(|i| book.codes[i].colour.clone()).filter(|c| is_hex_colour(c));
    given.unwrap_or_else(|| PALETTE[i.unwrap_or(PALETTE.len() - 1) % PALETTE.len()].to_string())
}

fn is_hex_colour(c: &str) -> bool {
    c.len() == 7 && c.starts_with('#') && c[1..].chars().all(|x| x.is_ascii_hexdigit())
}

/// The notes by site and kind, each with how much of it is coded, and by whom: from the report
/// store (brought up to date first, as every report is), so the page needs no note read.
pub fn index(project: &Project, log: &Log) -> Result<Markup> {
    let store = fieldnotes_study::store::report_store(project, log)?;
    let mut groups: BTreeMap<(String, String), Vec<fieldnotes_report::store::NoteOverview>> = BTreeMap::new();
    for n in store.notes_overview(&["site", "kind", "date"]) {
        let or_none = |s: &str, none: &str| if s.is_empty() { none.to_string() } else { s.to_string() };
        let key = (or_none(&n.attributes[0], "(no site)"), or_none(&n.attributes[1], "(no kind)"));
        groups.entry(key).or_default().push(n);
    }
    let all = || groups.values().flatten();
    let notes = all().count();
    let total: usize = all().map(|r| r.passages).sum();
    let coded: usize = all().map(|r| r.coded).sum();
    Ok(html! {
        h1 { (if project.config.name.is_empty() { "Notes" } else { &project.config.name }) }
        p.meta {
            (fieldnotes_study::count(notes as u64, "note")) ", "
            (fieldnotes_study::count(total as u64, "passage")) ", "
            (coded) " coded (an accepted coding by anyone). Per note: passages coded, by whom, and with suggestions waiting."
        }
        @for ((site, kind), rows) in &groups {
            h2 { (site) " · " span.meta { (kind) } }
            table.notes {
                thead { tr { th { "note" } th { "date" } th.num { "passages" } th.num { "passages coded" } th { "by" } th.num { "passages with suggestions" } } }
                tbody {
                    @for r in rows {
                        tr {
                            td { a href=(note_href(&r.path)) { (r.path) } }
                            td { (r.attributes[2]) }
                            td.num { (r.passages) }
                            td.num { (r.coded) }
                            td { (r.by.iter().map(|(c, n)| format!("{c} ({n})")).collect::<Vec<_>>().join(", ")) }
                            td.num { (r.suggested) }
                        }
                    }
                }
            }
        }
        @if notes == 0 {
            p { "No notes yet: put Markdown or text files under " code { "notes/" } ", or use " code { "fieldnotes import" } "." }
        }
    })
}

/// A note page's address.
fn note_href(path: &str) -> String {
    format!("/notes/{}", path.strip_prefix("notes/").unwrap_or(path))
}

/// A highlight to draw over a note's words.
struct Layer<'a> {
    /// Code points in the note.
    start: usize,
    end: usize,
    colour: String,
    /// The coding's id (for the details shown on a click).
    id: &'a str,
    class: &'static str,
}

/// A passage's words, the layers over them drawn as `mark`s (overlaps with the second colour
/// underneath), every other character as it is: the element's text is exactly the passage's,
/// so that a selection's offsets within it are the ledger's. Carriage returns are written as
/// references, which the browser keeps (a raw one it would fold into the line feed).
fn passage_text(p: &PassageView, layers: &[Layer<'_>]) -> Markup {
    let chars: Vec<(usize, char)> = p.text.char_indices().collect();
    let n = chars.len();
    let byte = |k: usize| if k >= n { p.text.len() } else { chars[k].0 };
    let mut cuts: BTreeSet<usize> = BTreeSet::from([0, n]);
    let mine: Vec<(usize, usize, &Layer<'_>)> = layers
        .iter()
        .filter(|l| l.start < p.end && l.end > p.start && l.end > l.start)
        .map(|l| (l.start.max(p.start) - p.start, l.end.min(p.end) - p.start, l))
        .collect();
    for &(s, e, _) in &mine {
        cuts.insert(s);
        cuts.insert(e);
    }
    let cuts: Vec<usize> = cuts.into_iter().collect();
    let mut out = String::new();
    for w in cuts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let text = escape_text(&p.text[byte(a)..byte(b)]);
        let over: Vec<&Layer<'_>> = mine.iter().filter(|(s, e, _)| *s <= a && *e >= b).map(|x| x.2).collect();
        if over.is_empty() {
            out.push_str(&text);
            continue;
        }
        // Accepted codings first: they colour the words; suggestions alone only underline them.
        let mut over = over;
        over.sort_by_key(|l| match l.class {
            "coded" => 0,
            "suggested" => 1,
            _ => 2,
        });
        let ids: Vec<&str> = over.iter().map(|l| l.id).collect();
        let mut classes: Vec<&str> = vec![over[0].class];
        if over.iter().any(|l| l.class == "evidence") && over[0].class != "evidence" {
            classes.push("evidence");
        }
        let first = &over[0].colour;
        let mut style = format!("background:{first}55;border-bottom:3px solid {first}");
        if let Some(second) = over.iter().map(|l| &l.colour).find(|c| *c != first) {
            style = format!("background:{first}55;border-bottom:3px solid {second}");
        }
        if over.len() > 1 {
            classes.push("overlap");
        }
        out.push_str(&format!(
            "<mark class=\"{}\" data-ids=\"{}\" style=\"{}\" title=\"{}\">{text}</mark>",
            classes.join(" "),
            fieldnotes_report::render::html_escape(&ids.join(" ")),
            style,
            over.len()
        ));
    }
    PreEscaped(out)
}

/// Text for an element's content, escaped as the report's HTML is, with carriage returns as
/// references (the parser keeps those; a raw one it folds into the line feed).
fn escape_text(s: &str) -> String {
    fieldnotes_report::render::html_escape(s).replace('\r', "&#13;")
}

/// A passage with its heading (key, line, speaker, section) and its words.
fn passage(p: &PassageView, layers: &[Layer<'_>], focus: bool) -> Markup {
    let key = &p.key;
    html! {
        section.passage.focus[focus] id=(format!("p-{key}")) {
            div.phead {
                a href=(format!("#p-{key}")) { "#" (key) }
                " · line " (p.line)
                @if let Some(s) = &p.speaker { " · " b { (s) } }
                @if let Some(s) = &p.section { " · " (s) }
            }
            div.ptext data-passage=(p.id) { (passage_text(p, layers)) }
        }
    }
}

/// What a click on a highlight shows of each coding on it, as JSON in the page.
#[derive(serde::Serialize)]
struct MarkInfo<'a> {
    code: &'a str,
    name: &'a str,
    colour: String,
    coder: &'a str,
    status: Status,
    memo: Option<&'a str>,
    text: &'a str,
    reviewer: Option<&'a str>,
    time: &'a str,
    moved: bool,
    evidence: Vec<String>,
}

/// JSON for a `<script type="application/json">`: `</` cannot end the element.
fn script_json(v: &impl serde::Serialize) -> Result<PreEscaped<String>> {
    Ok(PreEscaped(serde_json::to_string(v)?.replace("</", "<\\/")))
}

fn mark_info<'a>(book: &'a Codebook, m: &'a Mark) -> MarkInfo<'a> {
    let c = &m.coding;
    MarkInfo {
        code: &c.code,
        name: book.code(&c.code).map_or(c.code.as_str(), |k| k.name.as_str()),
        colour: colour_of(book, &c.code),
        coder: &c.coder,
        status: c.status,
        memo: c.memo.as_deref(),
        text: &c.text,
        reviewer: c.reviewer.as_deref(),
        time: &c.time,
        moved: m.moved,
        evidence: c.evidence.iter().map(|h| format!("{}: \u{201c}{}\u{201d}", h.rule, h.text)).collect(),
    }
}

/// The codes to pick from, numbered 1-9 for the keys, with a filter and a form for a new code.
fn code_picker(book: &Codebook) -> Markup {
    html! {
        h2 { "Codes" }
        input #code-filter type="search" placeholder="filter codes ( / )" autocomplete="off";
        ol #codes {
            @for c in &book.codes {
                li data-code=(c.id) title=(c.description) {
                    span.key {}
                    span.swatch style=(format!("background:{}", colour_of(book, &c.id))) {}
                    (if c.name.is_empty() { &c.id } else { &c.name })
                    " " span.meta { (c.id) }
                }
            }
        }
        (new_code_form())
    }
}

/// The keys of a page, shown on it.
fn keys(list: &[(&str, &str)]) -> Markup {
    html! {
        div.keys {
            h2 { "Keys" }
            dl { @for (k, what) in list { dt { kbd { (k) } } dd { (what) } } }
        }
    }
}

/// A whole note: its passages with the codings as highlights, the codes to pick from.
pub fn note(project: &Project, path: &str, log: &Log) -> Result<Markup> {
    // Checked first: a path that names no note would load the whole study to say so.
    if project.note_file(path).is_none() {
        anyhow::bail!("no note `{path}` in this project (the notes are listed at /)");
    }
    let study = Study::load_note(project.clone(), &format!("{path}#1"), log)?;
    let book = study.codebook()?;
    let whole = study.note(path, log)?;
    let layers: Vec<Layer<'_>> = whole
        .marks
        .iter()
        .filter(|m| m.coding.status != Status::Rejected)
        .map(|m| Layer {
            start: m.start,
            end: m.end,
            colour: colour_of(&book, &m.coding.code),
            id: &m.coding.id,
            class: if m.coding.status == Status::Suggested { "suggested" } else { "coded" },
        })
        .collect();
    let info: BTreeMap<&str, MarkInfo<'_>> =
        whole.marks.iter().map(|m| (m.coding.id.as_str(), mark_info(&book, m))).collect();
    Ok(html! {
        div.columns {
            article.note {
                h1 { (whole.document) }
                dl.attrs { @for (k, v) in &whole.attributes { dt { (k) } dd { (v.to_string()) } } }
                p.meta {
                    (fieldnotes_study::count(whole.passages.len() as u64, "passage")) ", "
                    (fieldnotes_study::count(whole.marks.iter().filter(|m| m.coding.status == Status::Accepted).count() as u64, "coding"))
                    " accepted, " (whole.marks.iter().filter(|m| m.coding.status == Status::Suggested).count()) " suggestion(s) waiting (dotted)."
                }
                @for p in &whole.passages { (passage(p, &layers, false)) }
            }
            aside {
                (code_picker(&book))
                label.memo { "Memo for the next coding" textarea #memo rows="2" {} }
                div #details {}
                (keys(&[
                    ("select, then 1-9", "code the words with that code"),
                    ("click a code", "code the selected words with it"),
                    ("/", "filter the codes"),
                    ("click a highlight", "who coded it, memo, evidence; remove"),
                    ("u", "undo the last coding action"),
                ]))
            }
        }
        script #marks-data type="application/json" { (script_json(&info)?) }
    })
}

/// The suggestions waiting, one at a time, with their evidence in their passages.
pub fn review(project: &Project, filter: &Filter, skip: usize, log: &Log) -> Result<Markup> {
    let book = fieldnotes_study::study::codebook(project)?;
    let (total, at) = fieldnotes_study::code::pending_at(project, filter, skip, log)?;
    let query = |skip: usize| {
        let mut q = vec![format!("skip={skip}")];
        for (k, v) in [("code", &filter.code), ("site", &filter.site), ("from", &filter.from)] {
            if let Some(v) = v {
                q.push(format!("{k}={}", url_escape(v)));
            }
        }
        format!("/review?{}", q.join("&"))
    };
    let form = html! {
        form.filters method="get" action="/review" {
            label { "code " select name="code" {
                option value="" { "any" }
                @for c in &book.codes { option value=(c.id) selected[filter.code.as_deref() == Some(&c.id)] { (c.id) } }
            } }
            label { "site " input name="site" value=(filter.site.clone().unwrap_or_default()); }
            label { "from " input name="from" placeholder="rules" value=(filter.from.clone().unwrap_or_default()); }
            button type="submit" { "Filter" }
        }
    };
    let Some(s) = at else {
        return Ok(html! {
            h1 { "Review" }
            (form)
            p { @if total == 0 { "No suggestion waits for review here." } @else { "No more: " (total) " skipped. " a href=(query(0)) { "Start again" } } }
        });
    };
    let c: &Coding = &s.coding;
    let study = Study::load_note(project.clone(), &format!("{}#1", c.doc), log)?;
    let whole = study.note(&c.doc, log)?;
    let mark = whole.marks.iter().find(|m| m.coding.id == c.id);
    let (start, end, moved) = mark.map_or((c.start, c.end, false), |m| (m.start, m.end, m.moved));
    let colour = colour_of(&book, &c.code);
    // The suggestion under review is drawn as a coding would be, its evidence underlined.
    let mut layers = vec![Layer { start, end, colour: colour.clone(), id: &c.id, class: "coded" }];
    if !moved {
        layers.extend(c.evidence.iter().map(|h| Layer {
            start: h.start,
            end: h.end,
            colour: "#000000".into(),
            id: &c.id,
            class: "evidence",
        }));
    }
    let near: Vec<&PassageView> = whole
        .passages
        .iter()
        .enumerate()
        .filter(|(i, _)| {
            let lo = i.saturating_sub(1);
            let hi = (i + 1).min(whole.passages.len() - 1);
            whole.passages[lo].start < end && whole.passages[hi].end > start
        })
        .map(|(_, p)| p)
        .collect();
    let code = book.code(&c.code);
    Ok(html! {
        h1 { "Review" }
        (form)
        div.columns {
            article #suggestion data-id=(c.id) data-next=(query(skip + 1)) data-here=(query(skip)) {
                p.meta { "Suggestion " (skip + 1) " of " (total) " · " (s.site) " · " a href=(format!("{}#p-{}", note_href(&c.doc), near.first().map_or("", |p| p.key.as_str()))) { (c.doc) } }
                h2 {
                    span.swatch style=(format!("background:{colour}")) {}
                    (code.map_or(c.code.as_str(), |k| k.name.as_str())) " " span.meta { (c.code) " · suggested by " (c.coder) }
                }
                @if let Some(k) = code { p.description { (k.description) } }
                @for p in &near { (passage(p, &layers, p.start < end && p.end > start)) }
                h3 { "Evidence" }
                ul.evidence { @for h in &c.evidence { li { code { (h.rule) } " matched \u{201c}" (h.text) "\u{201d}" } } }
                @if moved { p.meta { "The words moved since the suggestion was made; the evidence is not marked." } }
            }
            aside {
                div.actions {
                    button #accept type="button" { kbd { "a" } " accept" }
                    button #reject type="button" { kbd { "r" } " reject" }
                    a #skip href=(query(skip + 1)) { kbd { "s" } " skip" }
                    button #undo type="button" { kbd { "u" } " undo" }
                }
                (keys(&[("a", "accept"), ("r", "reject"), ("s", "skip (it stays waiting)"), ("u", "undo the last decision")]))
            }
        }
    })
}

/// `%`-escapes what a query string cannot carry as it is.
fn url_escape(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What the search page was asked: the query, whether `code:` counts suggestions not yet
/// reviewed, and how many hits earlier pages showed.
pub struct SearchAsked {
    pub query: String,
    pub include_suggested: bool,
    pub from: usize,
}

/// Hits a search page shows.
const HITS_PER_PAGE: usize = 100;

/// Search: the query language of `fieldnotes search`, hits as keyword-in-context lines, a
/// hundred a page; a query on codes says what it counts, as the command line does.
pub fn search(project: &Project, asked: &SearchAsked, log: &Log) -> Result<Markup> {
    let query = asked.query.as_str();
    let form = html! {
        form.search method="get" action="/search" {
            input name="q" type="search" value=(query) placeholder="trust \"staff turnover\" site:fife" autofocus;
            label.meta { input type="checkbox" name="suggested" value="1" checked[asked.include_suggested]; " code: counts suggestions not yet reviewed too" }
            button type="submit" { "Search" }
        }
        p.meta { "Words are stemmed; \"phrases\", partner*, turnvoer~1, AND OR NOT, site: kind: speaker: date: code: (see " code { "fieldnotes search --help" } ")." }
    };
    if query.trim().is_empty() {
        return Ok(html! { h1 { "Search" } (form) });
    }
    let ast = match fieldnotes_index::parse(query) {
        Ok(a) => a,
        Err(e) => {
            return Ok(html! {
                h1 { "Search" } (form)
                div.error { pre { "cannot read the query: " (e.message) "\n" (e.pointer(query)) "\n  hint: " (e.hint) } }
            });
        }
    };
    let opened = fieldnotes_study::search::open(project, query, &ast, false, asked.include_suggested, false, log)?;
    let opts = fieldnotes_index::SearchOptions {
        limit: asked.from + HITS_PER_PAGE,
        snippet_chars: 160,
        include_suggested: asked.include_suggested,
        ..Default::default()
    };
    let mut res = opened.index.search(query, &opts)?;
    let hits: Vec<fieldnotes_index::Hit> = res.hits.drain(..).skip(asked.from).collect();
    let mut hits = hits;
    if !opened.uses_codes {
        fieldnotes_study::store::hit_codes(project, &mut hits)?;
    }
    let rule = if asked.include_suggested {
        "codes count accepted codings and suggestions not yet reviewed, by anyone (rejected ones never)"
    } else {
        "codes count accepted codings, by anyone (suggestions not reviewed are left out; tick the box to count them)"
    };
    let page_of = |from: usize| {
        let mut href = format!("/search?q={}&from={from}", urlencode(query));
        if asked.include_suggested {
            href.push_str("&suggested=1");
        }
        href
    };
    let shown_to = asked.from + hits.len();
    Ok(html! {
        h1 { "Search" }
        (form)
        p.meta {
            (fieldnotes_study::matching(res.total)) "; showing " (if hits.is_empty() { 0 } else { asked.from + 1 }) "–" (shown_to) "."
            @if opened.uses_codes { " " (rule) "." }
        }
        @for h in &hits {
            @let (path, key) = h.id.split_once('#').unwrap_or((h.id.as_str(), ""));
            div.hit {
                a href=(format!("{}#p-{key}", note_href(path))) { (h.id) }
                " " span.meta { ([h.attr("site"), h.attr("date"), h.attr("kind"), h.attr("speaker"), h.attr("codes")].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join(" · ")) }
                // A query of fields or codes only has no words to centre on: the passage's
                // opening instead.
                @if h.units.is_empty() {
                    div.text { (fieldnotes_study::clip(&h.text, 240)) }
                }
                @for k in fieldnotes_study::search::kwic(&h.text, &h.units, &h.matches, 60) {
                    div.kwic {
                        span.left { bdi { (k.left) } }
                        span.kw { (highlighted(&k.keyword, &k.words)) }
                        span.right { (k.right) }
                    }
                }
            }
        }
        p.pages {
            @if asked.from > 0 { a href=(page_of(asked.from.saturating_sub(HITS_PER_PAGE))) { "← the " (HITS_PER_PAGE) " before" } " " }
            @if shown_to < res.total { a href=(page_of(shown_to)) { "the next " (HITS_PER_PAGE.min(res.total - shown_to)) " →" } }
        }
    })
}

/// `s` as a URL's query value.
fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `text` with the byte ranges `words` in `<b>`, line breaks made spaces.
fn highlighted(text: &str, words: &[(usize, usize)]) -> Markup {
    let mut pieces: Vec<(&str, bool)> = Vec::new();
    let mut at = 0;
    for &(s, e) in words {
        if s >= at && s <= e && e <= text.len() && text.is_char_boundary(s) && text.is_char_boundary(e) {
            pieces.push((&text[at..s], false));
            pieces.push((&text[s..e], true));
            at = e;
        }
    }
    pieces.push((&text[at..], false));
    html! {
        @for (t, word) in pieces {
            @let t = t.replace(['\n', '\r'], " ");
            @if word { b { (t) } } @else { (t) }
        }
    }
}

/// The codebook with how many passages carry each code.
pub fn codebook(project: &Project, log: &Log) -> Result<Markup> {
    let book = fieldnotes_study::study::codebook(project)?;
    let view = fieldnotes_study::report::codebook_view(project, &book, false, log)?;
    Ok(html! {
        h1 { (view.name) " " span.meta { "version " (view.version) } }
        table.codebook {
            thead { tr { th {} th { "code" } th { "name" } th { "parent" } th { "what counts" } th.num { "passages" } } }
            tbody {
                @for c in &view.codes {
                    tr {
                        td { span.swatch style=(format!("background:{}", colour_of(&book, &c.id))) {} }
                        td { code { (c.id) } }
                        td { (c.name) }
                        td { (c.parent.clone().unwrap_or_default()) }
                        td { (c.description) }
                        td.num { a href=(format!("/search?q=code:{}", url_escape(&c.id))) { (c.passages) } }
                    }
                }
            }
            caption { "Passages: with an accepted coding of the code, by anyone." }
        }
        (new_code_form())
    })
}

/// A form that adds a code to the codebook.
fn new_code_form() -> Markup {
    html! {
        details.newcode {
            summary { "New code" }
            form #new-code {
                input name="id" placeholder="id (e.g. trust)" required;
                input name="name" placeholder="name";
                input name="description" placeholder="what counts";
                button type="submit" { "Add to the codebook" }
            }
        }
    }
}

/// The theme table and its heatmap, counted as `fieldnotes report themes` counts.
pub fn themes(project: &Project, by: &str, log: &Log) -> Result<Markup> {
    use fieldnotes_report::render;
    let book = fieldnotes_study::study::codebook(project)?;
    let sel = Selection::default();
    let store = fieldnotes_study::store::report_store(project, log)?;
    // A key no note has is refused, as `report themes` refuses it.
    store.check_grouped(&fieldnotes_report::GroupBy::parse(by))?;
    let table = store.passage_table(&book, by, &sel)?;
    let shares = fieldnotes_report::ThemeTable { measure: fieldnotes_report::Measure::Share, ..table.clone() };
    Ok(html! {
        h1 { "Themes by " (by) }
        form.filters method="get" action="/themes" {
            label { "by " input name="by" value=(by); }
            button type="submit" { "Count" }
        }
        (PreEscaped(render::html_table(&table.to_table())))
        figure {
            (PreEscaped(render::heatmap_svg(&shares)))
            figcaption { (shares.caption()) }
        }
    })
}

/// Longest name of a code made on the page, in characters.
const MAX_CODE_NAME: usize = 200;
/// Longest description of a code made on the page, in characters.
const MAX_CODE_DESCRIPTION: usize = 20_000;

/// Adds a code to the codebook (checked first: nothing is written when it would break it).
pub fn new_code(project: &Project, id: &str, name: &str, description: &str) -> Result<serde_json::Value> {
    if id.is_empty() {
        anyhow::bail!("a new code needs an id");
    }
    if let Ok(book) = fieldnotes_study::study::codebook(project)
        && book.code(id).is_some()
    {
        anyhow::bail!("the codebook has a code `{id}` already; give the new one another id (nothing was written)");
    }
    // A name is a table's row label, a description a paragraph: longer is a paste gone wrong.
    if name.chars().count() > MAX_CODE_NAME || description.chars().count() > MAX_CODE_DESCRIPTION {
        anyhow::bail!(
            "a code's name is at most {MAX_CODE_NAME} characters and its description {MAX_CODE_DESCRIPTION} (nothing was written)"
        );
    }
    let code = Code {
        id: id.to_string(),
        name: if name.is_empty() { id.to_string() } else { name.to_string() },
        description: description.to_string(),
        parent: None,
        colour: None,
        examples: vec![],
        rules: Default::default(),
    };
    // What `codebook check` would refuse of it (an id `TIME` beside `time`, `../x`) is refused
    // before anything is written.
    if let Ok(book) = fieldnotes_study::study::codebook(project) {
        let mut with = book.clone();
        with.codes.push(code.clone());
        let wrong: Vec<String> = with
            .check(None, None)
            .into_iter()
            .filter(|f| f.severity == fieldnotes_coding::codebook::Severity::Error && f.code.as_deref() == Some(id))
            .map(|f| f.message)
            .collect();
        if !wrong.is_empty() {
            anyhow::bail!("{} (nothing was written)", wrong.join("; "));
        }
    }
    Codebook::append_codes(&project.codebook_path(), &[code])
        .with_context(|| format!("cannot add code `{id}` to `{}`", project.codebook_path().display()))?;
    Ok(serde_json::json!({ "added": id }))
}
