//! `fieldnotes search QUERY`: ranked hits with snippets, KWIC lines, counts by group.

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use fieldnotes_index::{SearchIndex, SearchOptions};

use crate::Globals;
use crate::output::{self, Align};
use crate::study::Study;

/// Arguments of `fieldnotes search`.
///
/// Query language: words (stemmed), "phrases", AND (the default), OR, NOT or -word,
/// parentheses, prefix*, fuzzy~1, "a b"~5 (proximity), and filters: site:fife kind:interview
/// speaker:"CPP manager" code:time author:HB year:2016 date:[2016-01-01 TO 2016-06-30]
/// section:... and any other front-matter key (location:Kirkcaldy). Filters ignore case.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The query.
    query: String,
    /// At most this many hits.
    #[arg(long, short = 'n', default_value_t = 20)]
    limit: usize,
    /// Keyword-in-context lines, aligned on the match.
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
    /// Print JSON.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print CSV.
    #[arg(long)]
    csv: bool,
    /// Bring the index up to date with the notes first. Without it an existing index is used
    /// as it is (`fieldnotes index` and every coding command keep it current), which keeps a
    /// search to milliseconds on any corpus.
    #[arg(long)]
    refresh: bool,
}

/// Opens the index, building or updating it first.
pub fn open_index(g: &Globals, study: &Study) -> Result<SearchIndex> {
    let (idx, _) = study.update_index(g, true)?.context("the search index could not be built")?;
    Ok(idx)
}

/// Runs `fieldnotes search`.
pub fn run(g: &Globals, a: Args) -> Result<ExitCode> {
    if let Err(e) = fieldnotes_index::parse(&a.query) {
        anyhow::bail!("cannot read the query: {}\n{}\n  hint: {}", e.message, e.pointer(&a.query), e.hint);
    }
    let project = g.project()?;
    let existing = if a.refresh { None } else { SearchIndex::open(&project.derived_dir().join("index"))? };
    let idx = match existing {
        Some(idx) => idx,
        None => open_index(g, &Study::load(g)?)?,
    };
    let mut out = output::stdout();
    if a.count {
        let group = a.by.as_deref().unwrap_or("");
        let (total, by) = idx.count_by(&a.query, a.exact, if group.is_empty() { "site" } else { group })?;
        if a.json {
            let v = serde_json::json!({ "query": a.query, "total": total, "by": group, "counts": if group.is_empty() { serde_json::Value::Null } else { serde_json::to_value(&by)? } });
            serde_json::to_writer_pretty(&mut out, &v)?;
            writeln!(out)?;
        } else if group.is_empty() {
            writeln!(out, "{total}")?;
        } else {
            let rows: Vec<Vec<String>> = by
                .iter()
                .map(|(k, n)| vec![if k.is_empty() { "(none)".into() } else { k.clone() }, n.to_string()])
                .collect();
            let header = vec![group.to_string(), "hits".to_string()];
            if a.csv {
                output::write_csv(&mut out, &header, &rows)?;
            } else {
                write!(out, "{}", output::table(&header, &rows, &[Align::Left, Align::Right]))?;
                writeln!(out, "{total} passages match `{}`", a.query)?;
            }
        }
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    let opts = SearchOptions { exact: a.exact, limit: a.limit, snippet_chars: 160 };
    let res = idx.search(&a.query, &opts)?;
    if a.json {
        let hits: Vec<serde_json::Value> = res
            .hits
            .iter()
            .map(|h| {
                serde_json::json!({
                    "id": h.id, "score": h.score, "attributes": h.attributes, "text": h.text,
                    "matches": h.matches.iter().map(|&(s, e)| &h.text[s..e]).collect::<Vec<_>>(),
                    "snippet": &h.text[h.snippet.0..h.snippet.1],
                })
            })
            .collect();
        serde_json::to_writer_pretty(
            &mut out,
            &serde_json::json!({"query": a.query, "total": res.total, "hits": hits}),
        )?;
        writeln!(out)?;
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
    } else if a.kwic {
        for h in &res.hits {
            for &(s, e) in &h.matches {
                let left: String =
                    h.text[..s].chars().rev().take(a.width).collect::<Vec<_>>().into_iter().rev().collect();
                let right: String = h.text[e..].chars().take(a.width).collect();
                let left = left.replace(['\n', '\r'], " ");
                let right = right.replace(['\n', '\r'], " ");
                writeln!(
                    out,
                    "{:>w$} {} {:<w$}  {}",
                    left,
                    output::hl(&h.text[s..e], g.color),
                    right,
                    output::dim(&h.id, g.color),
                    w = a.width
                )?;
            }
        }
        output::info(g.quiet, &format!("{} passages match; lines from the best {}", res.total, res.hits.len()));
    } else {
        for h in &res.hits {
            let mut meta = vec![h.attr("site").to_string(), h.attr("date").to_string(), h.attr("kind").to_string()];
            if !h.attr("speaker").is_empty() {
                meta.push(format!("speaker: {}", h.attr("speaker")));
            }
            if !h.attr("codes").is_empty() {
                meta.push(format!("codes: {}", h.attr("codes")));
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
        output::info(g.quiet, &format!("{} passages match `{}`; showing {}", res.total, a.query, res.hits.len()));
    }
    out.flush()?;
    Ok(if res.total == 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
