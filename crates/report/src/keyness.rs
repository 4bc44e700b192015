//! Word frequencies by group, and keyness: which words a group uses more (or less) than all the
//! other groups together.
//!
//! Words are runs of letters and digits (an apostrophe between letters kept: `don't`, `partner’s`),
//! in lower case, with at least one letter. Keyness compares a group's frequency `a` of a word
//! out of its `c` words with the rest's `b` out of `d`:
//!
//! - log-likelihood G2, the four-cell form (Dunning 1993; AntConc's "Likelihood (4-term)"):
//!   `2 Σ O ln(O/E)` over the 2x2 table (the word, every other word) x (the group, the rest),
//!   each `E` its row total times its column total over `c + d`; signed `+` where the group uses
//!   the word more (`a/c > b/d`), `-` where less;
//! - Log Ratio (Hardie 2014): `log2((a/c) / (b/d))`, a frequency of 0 taken as 0.5 so that a
//!   word of one side only has a finite value;
//! - `p`: the chance of a G2 this large or larger with one degree of freedom (3.84, 6.63, 10.83
//!   and 15.13 are the values for p = .05, .01, .001 and .0001).

use std::collections::BTreeMap;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::Serialize;

use crate::render::Table;

/// A short list of English function words, left out of counts unless asked for.
pub const ENGLISH_STOPWORDS: &[&str] = &[
    "a",
    "about",
    "above",
    "after",
    "again",
    "against",
    "all",
    "am",
    "an",
    "and",
    "any",
    "are",
    "aren't",
    "as",
    "at",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "can't",
    "cannot",
    "could",
    "couldn't",
    "did",
    "didn't",
    "do",
    "does",
    "doesn't",
    "doing",
    "don't",
    "down",
    "during",
    "each",
    "few",
    "for",
    "from",
    "further",
    "had",
    "hadn't",
    "has",
    "hasn't",
    "have",
    "haven't",
    "having",
    "he",
    "he'd",
    "he'll",
    "he's",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "i'd",
    "i'll",
    "i'm",
    "i've",
    "if",
    "in",
    "into",
    "is",
    "isn't",
    "it",
    "it's",
    "its",
    "itself",
    "just",
    "let's",
    "me",
    "more",
    "most",
    "mustn't",
    "my",
    "myself",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "only",
    "or",
    "other",
    "ought",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "same",
    "shan't",
    "she",
    "she'd",
    "she'll",
    "she's",
    "should",
    "shouldn't",
    "so",
    "some",
    "such",
    "than",
    "that",
    "that's",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "there's",
    "these",
    "they",
    "they'd",
    "they'll",
    "they're",
    "they've",
    "this",
    "those",
    "through",
    "to",
    "too",
    "under",
    "until",
    "up",
    "very",
    "was",
    "wasn't",
    "we",
    "we'd",
    "we'll",
    "we're",
    "we've",
    "were",
    "weren't",
    "what",
    "what's",
    "when",
    "when's",
    "where",
    "where's",
    "which",
    "while",
    "who",
    "who's",
    "whom",
    "why",
    "why's",
    "will",
    "with",
    "won't",
    "would",
    "wouldn't",
    "you",
    "you'd",
    "you'll",
    "you're",
    "you've",
    "your",
    "yours",
    "yourself",
    "yourselves",
];

/// The words of `text`, in lower case, as the module's documentation defines them.
pub use fieldnotes_corpus::words;

/// Word counts per group.
#[derive(Clone, Debug, Default)]
pub struct WordCounts {
    groups: BTreeMap<String, Group>,
    stopwords: FxHashSet<String>,
}

#[derive(Clone, Debug, Default)]
struct Group {
    words: FxHashMap<String, u64>,
    /// Every word counted (stopwords left out).
    total: u64,
}

impl WordCounts {
    /// Counts that leave `stopwords` out (lower case).
    pub fn new(stopwords: impl IntoIterator<Item = String>) -> WordCounts {
        WordCounts { groups: BTreeMap::new(), stopwords: stopwords.into_iter().collect() }
    }

    /// Counts the words of `text` for `group`.
    pub fn add(&mut self, group: &str, text: &str) {
        if !self.groups.contains_key(group) {
            self.groups.insert(group.to_string(), Group::default());
        }
        let Some(g) = self.groups.get_mut(group) else { return };
        let is_apostrophe = |c: char| c == '\'' || c == '\u{2019}';
        let mut lower = String::new();
        for w in text.split(|c: char| !(c.is_alphanumeric() || is_apostrophe(c))) {
            let w = w.trim_matches(is_apostrophe);
            if w.is_empty() {
                continue;
            }
            // The word as `words` gives it, made only where it differs from the text's.
            let w: &str = if w.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'\'') {
                if w.bytes().all(|b| b.is_ascii_digit() || b == b'\'') {
                    continue;
                }
                w
            } else {
                if !w.chars().any(char::is_alphabetic) {
                    continue;
                }
                lower.clear();
                lower.push_str(&w.to_lowercase().replace('\u{2019}', "'"));
                &lower
            };
            if self.stopwords.contains(w) {
                continue;
            }
            g.total += 1;
            match g.words.get_mut(w) {
                Some(n) => *n += 1,
                None => {
                    g.words.insert(w.to_string(), 1);
                }
            }
        }
    }

    /// The groups, in order.
    pub fn groups(&self) -> Vec<&str> {
        self.groups.keys().map(String::as_str).collect()
    }

    /// Words counted in `group`.
    pub fn total(&self, group: &str) -> u64 {
        self.groups.get(group).map_or(0, |g| g.total)
    }

    /// Each group's words with at least `min_freq` occurrences there, most frequent first (ties
    /// alphabetical), at most `top` a group (0: all), each with its count and its rate per
    /// 10,000 of the group's words.
    pub fn frequencies(&self, min_freq: u64, top: usize) -> Vec<Frequency> {
        let mut out = Vec::new();
        for (name, g) in &self.groups {
            let mut ws: Vec<(&String, &u64)> = g.words.iter().filter(|(_, n)| **n >= min_freq.max(1)).collect();
            ws.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            if top > 0 {
                ws.truncate(top);
            }
            for (w, &n) in ws {
                out.push(Frequency {
                    group: name.clone(),
                    word: w.clone(),
                    freq: n,
                    per_10k: n as f64 * 10_000.0 / g.total as f64,
                });
            }
        }
        out
    }

    /// Each group against all the others together: every word used at least `min_freq` times
    /// in the group (or, for `under`, in the rest) with its G2, Log Ratio and p.
    pub fn keyness(&self, min_freq: u64, only: Option<&str>) -> Vec<Keyness> {
        let all_total: u64 = self.groups.values().map(|g| g.total).sum();
        let mut all: FxHashMap<&str, u64> = FxHashMap::default();
        for g in self.groups.values() {
            for (w, n) in &g.words {
                *all.entry(w.as_str()).or_default() += n;
            }
        }
        let mut out = Vec::new();
        for (name, g) in &self.groups {
            if only.is_some_and(|o| o != name) {
                continue;
            }
            let (c, d) = (g.total, all_total - g.total);
            for (w, &n_all) in &all {
                let a = g.words.get(*w).copied().unwrap_or(0);
                let b = n_all - a;
                if a < min_freq.max(1) && b < min_freq.max(1) {
                    continue;
                }
                let g2 = signed_g2(a, b, c, d);
                out.push(Keyness {
                    group: name.clone(),
                    word: w.to_string(),
                    freq: a,
                    ref_freq: b,
                    g2,
                    log_ratio: log_ratio(a, b, c, d),
                    p: crate::chisq::chi2_sf(g2.abs(), 1.0),
                });
            }
        }
        out
    }
}

/// A word's frequency in a group.
#[derive(Clone, Debug, Serialize)]
pub struct Frequency {
    /// The group.
    pub group: String,
    /// The word.
    pub word: String,
    /// Its occurrences there.
    pub freq: u64,
    /// Per 10,000 of the group's words.
    pub per_10k: f64,
}

/// A word's keyness in a group against the rest.
#[derive(Clone, Debug, Serialize)]
pub struct Keyness {
    /// The group.
    pub group: String,
    /// The word.
    pub word: String,
    /// Its occurrences in the group.
    pub freq: u64,
    /// Its occurrences in the rest.
    pub ref_freq: u64,
    /// Signed log-likelihood (four-cell form): + more in the group, - less.
    pub g2: f64,
    /// Binary log of the ratio of the relative frequencies (0 taken as 0.5).
    pub log_ratio: f64,
    /// The chance of so large a G2 with one degree of freedom.
    pub p: f64,
}

/// `x ln(x / e)`, 0 where `x` is 0.
fn term(x: f64, e: f64) -> f64 {
    if x > 0.0 { x * (x / e).ln() } else { 0.0 }
}

/// Signed four-cell log-likelihood of a word seen `a` times in `c` words and `b` times in `d`.
pub fn signed_g2(a: u64, b: u64, c: u64, d: u64) -> f64 {
    let (a, b, c, d) = (a as f64, b as f64, c as f64, d as f64);
    let n = c + d;
    if c == 0.0 || d == 0.0 || n == 0.0 {
        return 0.0;
    }
    let (word, other) = (a + b, n - a - b);
    let cells = [(a, word * c / n), (b, word * d / n), (c - a, other * c / n), (d - b, other * d / n)];
    let g2: f64 = 2.0 * cells.iter().map(|&(o, e)| term(o, e)).sum::<f64>();
    if a / c >= b / d { g2 } else { -g2 }
}

/// Log Ratio of a word seen `a` times in `c` words and `b` times in `d` (a zero as 0.5).
pub fn log_ratio(a: u64, b: u64, c: u64, d: u64) -> f64 {
    let fix = |x: u64| if x == 0 { 0.5 } else { x as f64 };
    if c == 0 || d == 0 {
        return 0.0;
    }
    ((fix(a) / c as f64) / (fix(b) / d as f64)).log2()
}

/// The critical value of G2 (one degree of freedom) for `p`, as the tables give them.
pub fn critical(p: f64) -> Option<f64> {
    [(0.05, 3.84), (0.01, 6.63), (0.001, 10.83), (0.0001, 15.13)]
        .iter()
        .find(|(q, _)| (q - p).abs() < 1e-12)
        .map(|x| x.1)
}

/// A keyness table: group, word, freq, ref_freq, g2, log_ratio, p.
pub fn keyness_table(rows: &[Keyness], by: &str, caption: &str) -> Table {
    Table {
        header: [by, "word", "freq", "ref_freq", "g2", "log_ratio", "p"].map(String::from).to_vec(),
        rows: rows
            .iter()
            .map(|k| {
                vec![
                    k.group.clone(),
                    k.word.clone(),
                    k.freq.to_string(),
                    k.ref_freq.to_string(),
                    format!("{:.2}", k.g2),
                    format!("{:.2}", k.log_ratio),
                    format_p(k.p),
                ]
            })
            .collect(),
        numeric: vec![false, false, true, true, true, true, true],
        caption: caption.to_string(),
    }
}

/// A p-value as tables show it: 4 significant places, small ones in scientific notation.
pub fn format_p(p: f64) -> String {
    if p >= 0.0001 { format!("{p:.4}") } else { format!("{p:.2e}") }
}

/// A frequency table: group, word, freq, per_10k.
pub fn frequency_table(rows: &[Frequency], by: &str, caption: &str) -> Table {
    Table {
        header: [by, "word", "freq", "per_10k"].map(String::from).to_vec(),
        rows: rows
            .iter()
            .map(|f| vec![f.group.clone(), f.word.clone(), f.freq.to_string(), format!("{:.1}", f.per_10k)])
            .collect(),
        numeric: vec![false, false, true, true],
        caption: caption.to_string(),
    }
}

/// Log Ratio bars, a panel per group in the order of `rows` (as sorted for the table): each
/// word's bar from zero, right for words the group uses more, left for less, with its G2 beside
/// it. An SVG with a viewBox, to scale to a page.
pub fn log_ratio_svg(rows: &[Keyness], caption: &str) -> String {
    use crate::render::html_escape;
    use std::fmt::Write;
    let (width, label_w, row_h, head_h) = (760.0, 190.0, 18.0, 28.0);
    let (plot_l, plot_r) = (label_w, width - 70.0);
    let zero = (plot_l + plot_r) / 2.0;
    let max = rows.iter().map(|k| k.log_ratio.abs()).fold(1.0_f64, f64::max);
    let scale = (plot_r - plot_l) / 2.0 / max;
    let mut groups: Vec<&str> = Vec::new();
    for k in rows {
        if groups.last() != Some(&k.group.as_str()) {
            groups.push(&k.group);
        }
    }
    let height = 40.0 + groups.len() as f64 * head_h + rows.len() as f64 * row_h + 30.0;
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0}" height="{height:.0}" viewBox="0 0 {width:.0} {height:.0}" font-family="Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, "<title>{}</title>", html_escape(caption));
    let _ = writeln!(s, r##"<rect width="100%" height="100%" fill="#ffffff"/>"##);
    let _ = writeln!(
        s,
        r##"<text x="{zero:.1}" y="18" text-anchor="middle" fill="#444">Log Ratio (binary log of the ratio of relative frequencies; each doubling is 1)</text>"##
    );
    let mut y = 36.0;
    for g in &groups {
        y += head_h;
        let _ = writeln!(s, r#"<text x="8" y="{:.1}" font-weight="bold">{}</text>"#, y - 8.0, html_escape(g));
        let mine: Vec<&Keyness> = rows.iter().filter(|k| k.group == *g).collect();
        let top = y;
        for k in &mine {
            let w = k.log_ratio * scale;
            let (x, fill) = if w >= 0.0 { (zero, "#08306b") } else { (zero + w, "#9ecae1") };
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"#,
                label_w - 8.0,
                y + row_h * 0.7,
                html_escape(&k.word)
            );
            let _ = writeln!(
                s,
                r#"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{fill}"><title>{}: freq {} / {}, G2 {:.2}, Log Ratio {:.2}</title></rect>"#,
                y + 3.0,
                w.abs().max(0.5),
                row_h - 6.0,
                html_escape(&k.word),
                k.freq,
                k.ref_freq,
                k.g2,
                k.log_ratio
            );
            let _ = writeln!(
                s,
                r##"<text x="{:.1}" y="{:.1}" fill="#555" font-size="10">G2 {:.1}</text>"##,
                plot_r + 6.0,
                y + row_h * 0.7,
                k.g2
            );
            y += row_h;
        }
        let _ = writeln!(s, r##"<line x1="{zero:.1}" y1="{top:.1}" x2="{zero:.1}" y2="{y:.1}" stroke="#222"/>"##);
    }
    for v in [-max, -max / 2.0, max / 2.0, max] {
        let x = zero + v * scale;
        let _ = writeln!(
            s,
            r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#444" font-size="10">{v:+.1}</text>"##,
            y + 16.0
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lower_case_letter_runs_with_inner_apostrophes() {
        let w: Vec<String> = words("We didn't — the partner’s 2016 co-op's TRUST, 'quoted' x2").collect();
        assert_eq!(w, ["we", "didn't", "the", "partner's", "co", "op's", "trust", "quoted", "x2"]);
    }

    /// A 2x2 table worked by hand: the word 20 times in 1,000 words of the group, 10 times in
    /// 4,000 of the rest.
    #[test]
    fn g2_and_log_ratio_match_a_hand_computation() {
        let (a, b, c, d) = (20.0f64, 10.0f64, 1000.0f64, 4000.0f64);
        let n = c + d;
        let e1 = (a + b) * c / n; // 6
        let e2 = (a + b) * d / n; // 24
        let e3 = (n - a - b) * c / n; // 994
        let e4 = (n - a - b) * d / n; // 3976
        assert_eq!((e1, e2, e3, e4), (6.0, 24.0, 994.0, 3976.0));
        let want = 2.0
            * (a * (a / e1).ln() + b * (b / e2).ln() + (c - a) * ((c - a) / e3).ln() + (d - b) * ((d - b) / e4).ln());
        // By hand: 20 ln(20/6) + 10 ln(10/24) + 980 ln(980/994) + 3990 ln(3990/3976)
        // = 24.0795 - 8.7547 - 13.9006 + 14.0241 = 15.4483, doubled 30.8966.
        assert!((want - 30.8969).abs() < 1e-3, "{want}");
        assert!((signed_g2(20, 10, 1000, 4000) - want).abs() < 1e-9);
        // Less used in the group: the same size, negative.
        assert!((signed_g2(10, 80, 1000, 4000) + signed_g2(10, 80, 1000, 4000).abs()).abs() < 1e-12);
        assert!(signed_g2(10, 80, 1000, 4000) < 0.0);
        // Log Ratio: (20/1000) / (10/4000) = 8, so 3; a zero counts as 0.5.
        assert!((log_ratio(20, 10, 1000, 4000) - 3.0).abs() < 1e-12);
        assert!((log_ratio(4, 0, 1000, 4000) - ((4.0 / 1000.0) / (0.5 / 4000.0f64)).log2()).abs() < 1e-12);
        assert_eq!(critical(0.01), Some(6.63));
    }

    #[test]
    fn counting_takes_the_words_that_words_gives() {
        let text = "We didn't — the partner’s 2016 co-op's TRUST, 'quoted' x2 Zoë ÉCOLE 42 '' 'a' trust";
        let mut wc = WordCounts::new(Vec::new());
        wc.add("g", text);
        let mut want: FxHashMap<String, u64> = FxHashMap::default();
        for w in words(text) {
            *want.entry(w).or_default() += 1;
        }
        assert_eq!(wc.groups["g"].words, want);
        assert_eq!(wc.total("g"), want.values().sum::<u64>());
    }

    #[test]
    fn counts_leave_stopwords_out_and_compare_each_group_with_the_rest() {
        let mut wc = WordCounts::new(ENGLISH_STOPWORDS.iter().map(|s| s.to_string()));
        wc.add("Fife", "The trust grew. Trust takes time.");
        wc.add("Glasgow", "The budget, the budget and time.");
        assert_eq!((wc.total("Fife"), wc.total("Glasgow")), (5, 3));
        let f = wc.frequencies(1, 1);
        assert_eq!((f[0].group.as_str(), f[0].word.as_str(), f[0].freq), ("Fife", "trust", 2));
        assert!((f[0].per_10k - 4000.0).abs() < 1e-9);
        let k = wc.keyness(1, Some("Fife"));
        let trust = k.iter().find(|k| k.word == "trust").unwrap();
        assert_eq!((trust.freq, trust.ref_freq), (2, 0));
        assert!((trust.g2 - signed_g2(2, 0, 5, 3)).abs() < 1e-12 && trust.g2 > 0.0);
        let budget = k.iter().find(|k| k.word == "budget").unwrap();
        assert!(budget.g2 < 0.0 && budget.log_ratio < 0.0);
    }
}
