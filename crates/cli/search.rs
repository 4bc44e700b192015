//! `fieldnotes search QUERY`: ranked hits with snippets, KWIC lines, counts by group.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Result;
use fieldnotes_index::{SearchIndex, SearchOptions};

use crate::Globals;
use crate::output::{self, Align};

/// The query language, for `search --help`.
const QUERY_HELP: &str = "\
Query language:
  trust                      a word; stemmed, so `trusted` and `trusts` match too
  \"staff turnover\"           a phrase: the words in this order
  \"critical friend\"~3        proximity: each word at most 3 words later than its place
  partner*                   words starting with `partner`
  turnvoer~1                 words within 1 edit (letters added, dropped, changed or swapped),
                             and their other forms, as a word is stemmed
  trust time                 both (AND is the default; `trust AND time` is the same)
  trust OR time              either
  trust NOT budget           trust without budget (also `trust -budget`)
  (trust OR time) site:fife  parentheses group
Operators are upper case: a lower-case `and`, `or`, `not` is searched as a word (you get a hint).

Compounds: `well-being` and `wellbeing` find each other, as do `co-operation` and `cooperation`;
`well` and `being` alone still find `well-being`.

Filters (case does not matter):
  site:fife  kind:interview  author:hb  section:opening  location:kirkcaldy (any front-matter key)
  speaker:blair              a word of the value: `Hon. Bill Blair (Minister ...)`
  speaker:\"bill blair\"       a phrase of the value
  speaker:=\"Lynne Neagle AM\" the whole value, and only it
  speaker:neag*              a word of the value starting with `neag` (`speaker:=lyn*`: the value)
  code:time                  passages with an accepted coding of `time` (by anyone);
                             with --include-suggested, suggestions not yet reviewed too
  date:2016  date:2016-03  date:[2016-01-01 TO 2016-06-30]  year:2017  words:[100 TO *]
                             (`date:2016` and `year:2016` also find a note dated `date: 2016`;
                             `date:[* TO *]`, every passage with a date)
A field, value or code that exists nowhere in the project gets a warning naming the closest ones.

Examples:
  fieldnotes search '\"mental health\" speaker:neagle' --kwic
  fieldnotes search 'code:time' --count --by site
  fieldnotes search 'code:time' --count --by site --include-suggested
  fieldnotes search '\"community plans\"' --exact
  fieldnotes search 'wellbeing NOT kind:memo' --json

Search reads the index as it stands; when notes changed since it was built it says so (and on a
small project, under 16 MB of notes, brings it up to date first). --refresh always does.";

/// Arguments of `fieldnotes search`.
#[derive(clap::Args, Debug)]
#[command(after_long_help = QUERY_HELP)]
pub struct Args {
    /// The query (see `fieldnotes search --help` for the language).
    query: String,
    /// At most this many hits (default: 20 on the terminal, every hit with --csv or --json).
    #[arg(long, short = 'n')]
    limit: Option<usize>,
    /// Keyword-in-context lines, one per match of the query, aligned on it.
    #[arg(long)]
    kwic: bool,
    /// Characters of context on each side for `--kwic`.
    #[arg(long, default_value_t = 40)]
    width: usize,
    /// Only count the hits (per group with `--by`).
    #[arg(long)]
    count: bool,
    /// With `--count`: group by this attribute (site, kind, speaker, author, year, code, ...).
    #[arg(long, requires = "count")]
    by: Option<String>,
    /// Match words exactly: no stemming.
    #[arg(long)]
    exact: bool,
    /// `code:` finds suggested codings too, and `--by code` counts them (by default only
    /// accepted codings count, as in `report themes`; rejected ones never do).
    #[arg(long)]
    include_suggested: bool,
    /// Print JSON.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print CSV.
    #[arg(long)]
    csv: bool,
    /// Bring the index up to date with the notes first. Without it an existing index is used
    /// as it is (`fieldnotes index` and every coding command keep it current; notes changed
    /// since are reported).
    #[arg(long)]
    refresh: bool,
}

/// Which codings `code:` and `--by code` counted, for captions.
fn counted(include_suggested: bool) -> &'static str {
    if include_suggested {
        "accepted and suggested codings (--include-suggested), by anyone"
    } else {
        "accepted codings, by anyone (suggestions not reviewed are left out; --include-suggested counts them)"
    }
}

/// `search --count --json`: the hits per group.
#[derive(serde::Serialize)]
struct CountsJson<'a> {
    query: &'a str,
    total: usize,
    /// The grouping attribute (empty: none).
    by: &'a str,
    counts: Option<&'a std::collections::BTreeMap<String, u64>>,
    codings: &'static str,
}

/// `search --json`: the hits, and, when the query asks about codes, which codings count.
#[derive(serde::Serialize)]
struct HitsJson<'a> {
    query: &'a str,
    total: usize,
    hits: Vec<fieldnotes_index::HitView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    codings: Option<&'static str>,
}

/// Which codings a code filter counts, as search's JSON says.
fn codings_counted(include_suggested: bool) -> &'static str {
    if include_suggested { "accepted and suggested" } else { "accepted" }
}

/// Runs `fieldnotes search`.
pub fn run(g: &Globals, a: Args) -> Result<ExitCode> {
    let ast = match fieldnotes_index::parse(&a.query) {
        Ok(ast) => ast,
        Err(e) => anyhow::bail!("cannot read the query: {}\n{}\n  hint: {}", e.message, e.pointer(&a.query), e.hint),
    };
    let project = g.project()?;
    let by_code = a.by.as_deref().is_some_and(|b| b.eq_ignore_ascii_case("code") || b.eq_ignore_ascii_case("codes"));
    let opened = fieldnotes_study::search::open(&project, &a.query, &ast, by_code, a.include_suggested, a.refresh, g)?;
    let (idx, uses_codes) = (opened.index, opened.uses_codes);
    // An export holds every hit unless asked for fewer: rows counted in a spreadsheet are a
    // count.
    let limit = a.limit.unwrap_or(if a.csv || a.json { usize::MAX } else { 20 });
    let opts = SearchOptions { exact: a.exact, limit, snippet_chars: 160, include_suggested: a.include_suggested };
    let mut out = output::stdout();
    if a.count {
        let group = a.by.as_deref().unwrap_or("");
        let (total, by) = match idx.count_by(&a.query, &opts, if group.is_empty() { "site" } else { group }) {
            Ok(r) => r,
            Err(e @ fieldnotes_index::Error::UnknownGroup { .. }) => {
                anyhow::bail!("cannot count by `{group}`: {e}")
            }
            Err(e) => return Err(e.into()),
        };
        if a.json {
            let v = CountsJson {
                query: &a.query,
                total,
                by: group,
                counts: (!group.is_empty()).then_some(&by),
                codings: codings_counted(a.include_suggested),
            };
            output::write_json(&mut out, &v)?;
        } else if group.is_empty() {
            writeln!(out, "{total}")?;
        } else {
            // By code: a code the codebook no longer has (renamed there) is marked, as no table
            // counts it.
            let book: Option<Vec<String>> = (by_code && project.codebook_path().exists())
                .then(|| crate::study::codebook(&project).ok())
                .flatten()
                .map(|b| b.codes.iter().map(|c| c.id.to_lowercase()).collect());
            let outside = |k: &str| book.as_ref().is_some_and(|ids| !k.is_empty() && !ids.contains(&k.to_lowercase()));
            let rows: Vec<Vec<String>> = by
                .iter()
                .map(|(k, n)| {
                    let label = if k.is_empty() {
                        "(none)".to_string()
                    } else if outside(k) {
                        format!("{k} (not in the codebook)")
                    } else {
                        k.clone()
                    };
                    vec![label, n.to_string()]
                })
                .collect();
            let strays: Vec<&String> = by.keys().filter(|k| outside(k)).collect();
            if !strays.is_empty() {
                output::warn(&format!(
                    "code(s) {} are not in the codebook: counted here, but in no table or agreement (a code renamed in the codebook keeps its old id in the ledgers; `fieldnotes codebook check` lists them)",
                    strays.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                ));
            }
            let header = vec![group.to_string(), "hits".to_string()];
            // A passage with several values of the key (a note's list of participants, several
            // codes) counts under each: said, since the rows then add up to more than the total.
            let summed: u64 = by.values().sum();
            let several = if summed > total as u64 {
                format!(
                    "; a passage counts under each `{group}` value it has, so the rows add up to {summed}, not {total}"
                )
            } else {
                String::new()
            };
            if a.csv {
                output::write_csv(&mut out, &header, &rows)?;
                if !several.is_empty() {
                    output::info(g.quiet, &format!("{}{several}", fieldnotes_study::matching(total)));
                }
            } else {
                write!(out, "{}", output::table(&header, &rows, &[Align::Left, Align::Right]))?;
                let caption =
                    if uses_codes { format!("; codes count {}", counted(a.include_suggested)) } else { String::new() };
                writeln!(out, "{} `{}`{caption}{several}", fieldnotes_study::matching(total), a.query)?;
            }
        }
        if uses_codes && !a.json && (group.is_empty() || a.csv) {
            output::info(g.quiet, &format!("codes count {}", counted(a.include_suggested)));
        }
        out.flush()?;
        if total == 0 {
            suggest_suggestions(g, &idx, &a, uses_codes);
        }
        return Ok(ExitCode::SUCCESS);
    }
    let mut res = idx.search(&a.query, &opts)?;
    if !uses_codes {
        crate::store::hit_codes(&project, &mut res.hits)?;
    }
    if a.json {
        let v = HitsJson {
            query: &a.query,
            total: res.total,
            hits: res.hits.iter().map(fieldnotes_index::Hit::view).collect(),
            codings: uses_codes.then(|| codings_counted(a.include_suggested)),
        };
        output::write_json(&mut out, &v)?;
    } else if a.csv {
        let header: Vec<String> = ["id", "score", "site", "date", "kind", "speaker", "text"].map(String::from).into();
        let rows: Vec<Vec<String>> = res
            .hits
            .iter()
            .map(|h| {
                vec![
                    h.id.clone(),
                    format!("{:.3}", h.score),
                    h.attr("site").into(),
                    h.attr("date").into(),
                    h.attr("kind").into(),
                    h.attr("speaker").into(),
                    h.text.clone(),
                ]
            })
            .collect();
        output::write_csv(&mut out, &header, &rows)?;
        if rows.len() < res.total {
            output::warn(&format!(
                "wrote {} of the {} passages that match (`-n {}`); without `-n` every one is written",
                rows.len(),
                res.total,
                limit
            ));
        }
    } else if a.kwic {
        let mut lines = 0usize;
        for h in &res.hits {
            for k in fieldnotes_study::search::kwic(&h.text, &h.units, &h.matches, a.width) {
                // Every word of the match marked, the words between (proximity) as they are.
                let keyword = output::highlight(&k.keyword, &k.words, g.color).replace(['\n', '\r'], " ");
                writeln!(
                    out,
                    "{:>w$} {} {:<w$}  {}",
                    k.left,
                    keyword,
                    k.right,
                    output::dim(&h.id, g.color),
                    w = a.width
                )?;
                lines += 1;
            }
        }
        output::info(
            g.quiet,
            &format!("{}; {lines} lines from the best {}", fieldnotes_study::matching(res.total), res.hits.len()),
        );
    } else {
        for h in &res.hits {
            let mut meta = vec![h.attr("site").to_string(), h.attr("date").to_string(), h.attr("kind").to_string()];
            if !h.attr("speaker").is_empty() {
                meta.push(format!("speaker: {}", h.attr("speaker")));
            }
            if !h.attr("codes").is_empty() {
                meta.push(format!("codes: {}", h.attr("codes")));
            }
            if a.include_suggested && !h.attr("suggested").is_empty() {
                meta.push(format!("suggested: {}", h.attr("suggested")));
            }
            meta.retain(|m| !m.is_empty());
            writeln!(out, "{}  {}", output::bold(&h.id, g.color), output::dim(&meta.join(" · "), g.color))?;
            let (s, e) = h.snippet;
            let inside: Vec<(usize, usize)> =
                h.matches.iter().filter(|m| m.0 >= s && m.1 <= e).map(|m| (m.0 - s, m.1 - s)).collect();
            let snippet = output::highlight(&h.text[s..e], &inside, g.color).replace(['\n', '\r'], " ");
            let pre = if s > 0 { "…" } else { "" };
            let post = if e < h.text.len() { "…" } else { "" };
            writeln!(out, "    {pre}{snippet}{post}")?;
        }
        let codes = if uses_codes { format!(" (codes: {})", counted(a.include_suggested)) } else { String::new() };
        output::info(
            g.quiet,
            &format!("{} `{}`{codes}; showing {}", fieldnotes_study::matching(res.total), a.query, res.hits.len()),
        );
    }
    out.flush()?;
    if res.total == 0 {
        suggest_suggestions(g, &idx, &a, uses_codes);
    }
    Ok(if res.total == 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// When a query on codes found nothing among accepted codings but would among suggestions, says so.
fn suggest_suggestions(g: &Globals, idx: &SearchIndex, a: &Args, uses_codes: bool) {
    if !uses_codes || a.include_suggested {
        return;
    }
    // Counted, not listed: at 2 GB of notes a code's suggestions stand on half a million passages.
    let with = SearchOptions { exact: a.exact, include_suggested: true, limit: 1, ..SearchOptions::default() };
    if let Ok(res) = idx.search(&a.query, &with)
        && res.total > 0
    {
        output::info(
            g.quiet,
            &format!(
                "{} passage(s) match with suggested codings not yet reviewed: add --include-suggested, or review them with `fieldnotes code review`",
                res.total
            ),
        );
    }
}
