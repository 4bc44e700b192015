//! Searching a study: the index opened (built, or brought up to date when notes changed and
//! the project is small), every passage's codes set from the report store when the query asks
//! about codes, and warnings for names that exist nowhere in the project. `fieldnotes search` and
//! the workbench's search page both go through [`open`].

use anyhow::{Context, Result};
use fieldnotes_corpus::{NoteStat, NoteStats, Project};
use fieldnotes_index::{Ast, SearchIndex, Unknown, UnknownKind};

use crate::{Study, Tell};

/// Notes of at most this many bytes in all are re-indexed before a search when some changed.
pub const AUTO_REFRESH_BYTES: u64 = 16 << 20;

/// In the derived folder: the notes and the index of the last check that found the index fresh.
const FRESH_FILE: &str = "index.fresh";

/// An index ready for a query.
pub struct Opened {
    /// The index, with every passage's codes set when the query asks about codes.
    pub index: SearchIndex,
    /// Whether the query (or its grouping) asks about codes.
    pub uses_codes: bool,
}

/// Opens the index for `query` (parsed as `ast`): built if there is none or `refresh` is asked,
/// checked against the notes otherwise. `by_code`: the hits are counted by code;
/// `include_suggested`: codes count suggestions not yet reviewed too. Names of fields, values or
/// codes that exist nowhere are warned about, with the closest ones, as are a lower-case
/// operator, a `*` inside quotes, and the codings a count of codes leaves out.
pub fn open(
    project: &Project,
    query: &str,
    ast: &Ast,
    by_code: bool,
    include_suggested: bool,
    refresh: bool,
    tell: &dyn Tell,
) -> Result<Opened> {
    for q in fieldnotes_index::quoted_wildcards(query) {
        tell.warn(&format!(
            "`\"{q}\"`: inside quotes `*` is not a wildcard; write the word without quotes (`{}`) to find the words starting with it",
            q.replace('"', "")
        ));
    }
    for w in fieldnotes_index::lowercase_operators(query) {
        tell.warn(&format!(
            "`{w}` between terms is searched as a word; write `{}` to combine the terms",
            w.to_uppercase()
        ));
    }
    // One walk of the notes tells both whether the index is behind and whether the report store
    // is.
    let stats = project.note_stats()?;
    let existing = if refresh { None } else { SearchIndex::open(&project.derived_dir().join("index"))? };
    let mut index = match existing {
        Some(idx) => checked_index(project, &stats, idx, tell)?,
        None => build_index(project, tell)?,
    };
    // Notes the index could not read are in no hit and no count: said at every search, as every
    // table says it, not only by the search that found them.
    let unread = index.unread_notes();
    let present: std::collections::HashSet<&str> = stats.notes().iter().map(|n| n.rel.as_str()).collect();
    let unread: Vec<String> =
        unread.iter().filter(|(p, _)| present.contains(p.as_str())).map(|(p, why)| format!("`{p}`: {why}")).collect();
    if !unread.is_empty() {
        tell.warn(&format!(
            "{} note(s) could not be read and are in no hit or count ({}); mend them and search again",
            unread.len(),
            crate::first_few(&unread, 3, unread.len(), "; ")
        ));
    }
    let uses_codes = query_uses_codes(ast) || by_code;
    // Codes are not in the index. A query or count on codes takes every passage's codes from the
    // report store, as every table counts them; otherwise the hits' notes are enough.
    if uses_codes {
        let (codes, left_out) = crate::store::search_codes(project, &stats, include_suggested, tell)?;
        index.set_codes(codes);
        // Codings no count takes (orphaned, of notes renamed or unread): said, as every table's
        // caption says them, so that a count from search is not taken for all of them.
        if !left_out.is_empty() {
            tell.warn(&format!("Codes count here as in a table. {left_out}"));
        }
    }
    // No codebook is fine for searching. A broken one is refused when the query is about codes,
    // as by every command that counts them; a search of the text only is told and goes on.
    let book: Option<fieldnotes_coding::Codebook> = if project.codebook_path().exists() {
        match crate::study::codebook(project) {
            Ok(book) => Some(book),
            Err(e) if !uses_codes => {
                tell.warn(&format!("{e:#}; searching the text without it"));
                None
            }
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    let codebook: Vec<String> = book.iter().flat_map(|b| b.codes.iter().map(|c| c.id.clone())).collect();
    // `code:time` finds `time`'s codings, not its sub-codes' (a table counts those under `time`
    // only with `--rollup`): said where the code has any.
    if let Some(book) = &book {
        let mut asked = Vec::new();
        codes_named(ast, &mut asked);
        asked.sort();
        asked.dedup();
        for code in asked {
            let children: Vec<&str> = book
                .codes
                .iter()
                .filter(|c| c.parent.as_deref().is_some_and(|p| p.eq_ignore_ascii_case(code)))
                .map(|c| c.id.as_str())
                .collect();
            if !children.is_empty() {
                tell.warn(&format!(
                    "`code:{code}` finds the codings of `{code}` alone, not of its sub-codes ({}); add them with OR to count them too, as `report themes --rollup` does",
                    children.iter().map(|c| format!("`code:{c}`")).collect::<Vec<_>>().join(", ")
                ));
            }
        }
    }
    for u in index.unknown_names(query, &codebook)? {
        tell.warn(&unknown_warning(&u));
    }
    // A code the codings use but the codebook does not have is found here, yet counted in no
    // table: said, so that a count from search and one from a table are not taken for the same.
    let mut named = Vec::new();
    codes_named(ast, &mut named);
    named.retain(|c| !codebook.iter().any(|k| k.eq_ignore_ascii_case(c)));
    if !codebook.is_empty() && !named.is_empty() {
        // Only for codes outside the codebook: the names of every passage's codes are gathered.
        let coded = index.code_names(true);
        named.sort();
        named.dedup();
        for code in named {
            if coded.contains(&code.to_lowercase()) {
                tell.warn(&format!(
                    "code `{code}` is not in the codebook: its codings are found here but counted in no table or agreement (a code renamed in the codebook keeps its old id in the ledgers)"
                ));
            }
        }
    }
    Ok(Opened { index, uses_codes })
}

/// The values of the query's `code:` terms.
fn codes_named<'a>(ast: &'a Ast, out: &mut Vec<&'a str>) {
    match ast {
        Ast::And(items) | Ast::Or(items) => items.iter().for_each(|a| codes_named(a, out)),
        Ast::Not(inner) => codes_named(inner, out),
        Ast::Field { field, value, prefix: false, .. } if field == "code" || field == "codes" => out.push(value),
        _ => {}
    }
}

/// Builds the index, or brings it up to date, reading the notes a batch at a time as `fieldnotes
/// index` does (the report store made in the same pass), and opens it. Where codings of edited
/// notes now stand is left for `fieldnotes index` to record: a search writes no ledger.
fn build_index(project: &Project, tell: &dyn Tell) -> Result<SearchIndex> {
    let before = crate::store::before(project)?;
    let codings = crate::study::coding_parts(project, tell)?;
    crate::study::index_in_batches(project, &codings, before, tell, false)?;
    SearchIndex::open(&project.derived_dir().join("index"))?.context("the search index could not be built")
}

/// The existing index, checked against the notes: when notes changed since it was last brought
/// up to date, it is updated if the project is small and otherwise the change is reported.
fn checked_index(project: &Project, stats: &NoteStats, idx: SearchIndex, tell: &dyn Tell) -> Result<SearchIndex> {
    // The last check that found the index fresh, and for which notes: the same notes (paths,
    // sizes, times) and the same index give the same answer, without comparing 324,641 notes
    // with the index's list of them again (0.1 s at 2 GB of notes).
    let memo = project.derived_dir().join(FRESH_FILE);
    let key = fresh_key(stats.fingerprint(), &idx);
    let recorded = std::fs::read_to_string(&memo).unwrap_or_default();
    if recorded == key {
        return Ok(idx);
    }
    // The same index, other notes: something changed since (or during) the update that made
    // it, whatever the files' times say.
    let moved_unseen = recorded.split_once("; ").is_some_and(|(_, stamp)| stamp == idx.stamp());
    let mut bytes = 0u64;
    let mut notes = Vec::with_capacity(stats.notes().len());
    for n in stats.notes().iter().filter(|n| n.modified_ns != NoteStat::UNREADABLE) {
        bytes += n.len;
        let modified =
            std::time::UNIX_EPOCH + std::time::Duration::from_nanos(u64::try_from(n.modified_ns).unwrap_or(0));
        notes.push((n.rel.clone(), modified));
    }
    let Some(stale) = idx.staleness(&notes) else { return Ok(idx) };
    if stale.is_empty() && !moved_unseen {
        // Not kept is only a check made again next time.
        let _ = fieldnotes_corpus::atomic::write(&memo, key.as_bytes());
        return Ok(idx);
    }
    let paths = stale.paths();
    let n = paths.len();
    let list: Vec<String> = paths.iter().take(3).map(|p| format!("`{p}`")).collect();
    let what = if stale.is_empty() {
        "notes changed since the index was built, though none is newer than it (copied with their old dates?)"
            .to_string()
    } else {
        format!("{n} note(s) changed since the index was built ({})", crate::first_few(&list, 3, n, ", "))
    };
    if bytes <= AUTO_REFRESH_BYTES {
        drop(idx);
        tell.info(&format!("{what}; updating the index"));
        let study = Study::load(project.clone(), tell)?;
        let (idx, _) = study.update_index(tell, true)?.context("the search index could not be built")?;
        return Ok(idx);
    }
    tell.warn(&format!("{what}; results may be out of date: run `fieldnotes index` or search with `--refresh`"));
    Ok(idx)
}

/// What the fresh-index memo holds: the notes' fingerprint and the index's files.
fn fresh_key((count, sum): (u64, u64), idx: &SearchIndex) -> String {
    format!("notes {count} {sum}; {}", idx.stamp())
}

/// Records that `idx` was made from the notes with fingerprint `fp` (an update that read
/// them): the next search knows the index fresh without a check, and knows it behind when the
/// notes differ though no file is newer. Not kept is only a check made again.
pub fn record_fresh(project: &Project, fp: (u64, u64), idx: &SearchIndex) {
    let _ = fieldnotes_corpus::atomic::write(&project.derived_dir().join(FRESH_FILE), fresh_key(fp, idx).as_bytes());
}

/// The warning for a name that exists nowhere in the project.
pub fn unknown_warning(u: &Unknown) -> String {
    let what = match u.kind {
        UnknownKind::Field => format!("no note has a field `{}`", u.field),
        UnknownKind::Value => format!("no passage has `{}` matching `{}`", u.field, u.value),
        UnknownKind::Code => format!("no code `{}` in the codebook or the codings", u.value),
    };
    let hint = match u.suggestions.as_slice() {
        [] => String::new(),
        [one] => format!("; did you mean `{one}`?"),
        more => format!("; did you mean {}?", more.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(" or ")),
    };
    format!("{what}{hint}")
}

/// Whether a query has a `code:` term.
pub fn query_uses_codes(ast: &Ast) -> bool {
    match ast {
        Ast::And(items) | Ast::Or(items) => items.iter().any(query_uses_codes),
        Ast::Not(inner) => query_uses_codes(inner),
        Ast::Field { field, .. } => field == "code" || field == "codes",
        _ => false,
    }
}

/// Keyword-in-context: for each match unit `(start, end)` (bytes) of `text`, up to `width`
/// characters on each side (line breaks made spaces), the matched words, and the places of the
/// query's words within them.
pub fn kwic(text: &str, units: &[(usize, usize)], matches: &[(usize, usize)], width: usize) -> Vec<Kwic> {
    units
        .iter()
        .map(|&(s, e)| {
            let left: String = text[..s].chars().rev().take(width).collect::<Vec<_>>().into_iter().rev().collect();
            let right: String = text[e..].chars().take(width).collect();
            Kwic {
                left: left.replace(['\n', '\r'], " "),
                keyword: text[s..e].to_string(),
                words: matches.iter().filter(|m| m.0 >= s && m.1 <= e).map(|m| (m.0 - s, m.1 - s)).collect(),
                right: right.replace(['\n', '\r'], " "),
            }
        })
        .collect()
}

/// One keyword-in-context line of [`kwic`].
#[derive(Clone, Debug, serde::Serialize)]
pub struct Kwic {
    /// The words before the match.
    pub left: String,
    /// The matched words as the passage has them.
    pub keyword: String,
    /// Where the query's words are within `keyword` (bytes).
    pub words: Vec<(usize, usize)>,
    /// The words after it.
    pub right: String,
}
