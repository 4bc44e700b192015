//! A deterministic generator of realistic fieldnotes, with a truth file of the themes spliced in.
//!
//! Sentences come from the real committee transcripts in `data/qmsum-committee`, recombined into
//! paragraphs; sentences about the eight considerations (written for the benchmark, in
//! `crates/bench/data/theme-sentences.tsv`) are spliced in at different rates per site. Notes
//! are written one at a time, so memory stays flat whatever the size.

use std::fs::{self, File};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// The theme sentences: `code<TAB>sentence` lines.
const THEMES: &str = include_str!("../data/theme-sentences.tsv");
/// The default codebook, copied into each generated project.
const CODEBOOK: &str = include_str!("../../../data/codebooks/wws-considerations.toml");

/// The codes, in codebook order.
pub const CODES: [&str; 8] = [
    "time",
    "personalised-connections",
    "critical-relationships",
    "authenticity",
    "context",
    "accountability-ownership",
    "expertise",
    "benefits-impact",
];

/// Sites and, per code, the chance that a paragraph there carries a sentence of that code.
const SITES: [(&str, [f64; 8]); 7] = [
    ("Aberdeenshire", [0.12, 0.14, 0.04, 0.09, 0.06, 0.03, 0.05, 0.03]),
    ("Fife", [0.09, 0.04, 0.14, 0.05, 0.05, 0.06, 0.12, 0.05]),
    ("Glasgow", [0.16, 0.03, 0.05, 0.04, 0.07, 0.13, 0.04, 0.09]),
    ("West Dunbartonshire", [0.10, 0.05, 0.05, 0.05, 0.15, 0.05, 0.04, 0.14]),
    ("Dundee", [0.07, 0.05, 0.07, 0.04, 0.09, 0.07, 0.06, 0.05]),
    ("Highland", [0.14, 0.11, 0.02, 0.06, 0.07, 0.04, 0.04, 0.02]),
    ("Renfrewshire", [0.07, 0.04, 0.05, 0.02, 0.05, 0.12, 0.05, 0.09]),
];

const KINDS: [&str; 5] = ["meeting", "interview", "observation", "workshop", "memo"];
const AUTHORS: [&str; 4] = ["HB", "JM", "RC", "AD"];

/// SplitMix64: small, fast, reproducible.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [0, n).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n.max(1) as u64) as usize
    }

    /// Uniform in [lo, hi].
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
}

/// Cuts transcript text into sentences of 6 to 40 words.
fn sentences_of(text: &str, out: &mut Vec<String>) {
    let mut start = 0;
    let bytes = text.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        let end_of_sentence = matches!(b, b'.' | b'?' | b'!') && bytes.get(i + 1).is_none_or(|n| *n == b' ');
        if end_of_sentence {
            let s = text[start..=i].trim();
            let words = s.split_whitespace().count();
            if (6..=40).contains(&words) && s.starts_with(|c: char| c.is_uppercase()) && !s.contains(':') {
                out.push(s.split_whitespace().collect::<Vec<_>>().join(" "));
            }
            start = i + 1;
        }
    }
}

/// Loads the transcript sentences from the committee corpus.
pub fn load_sentences(dir: &Path) -> Result<Vec<String>> {
    let mut names: Vec<PathBuf> = fs::read_dir(dir)
        .with_context(|| format!("cannot read `{}`", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    names.sort();
    let mut out = Vec::new();
    for p in names {
        let v: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(&p)?).with_context(|| format!("`{}`", p.display()))?;
        for turn in v["meeting_transcripts"].as_array().into_iter().flatten() {
            if let Some(c) = turn["content"].as_str() {
                sentences_of(c, &mut out);
            }
        }
    }
    anyhow::ensure!(!out.is_empty(), "no sentences found in `{}`", dir.display());
    Ok(out)
}

/// Theme sentences per code (index into [`CODES`]).
pub fn theme_sentences() -> Vec<Vec<&'static str>> {
    let mut by = vec![Vec::new(); CODES.len()];
    for line in THEMES.lines() {
        if let Some((code, s)) = line.split_once('\t')
            && let Some(i) = CODES.iter().position(|c| *c == code)
        {
            by[i].push(s);
        }
    }
    by
}

/// What was generated.
pub struct Generated {
    /// Notes written.
    pub notes: usize,
    /// Passages written.
    pub passages: usize,
    /// Bytes of notes written.
    pub bytes: u64,
}

/// Writes a project of about `mb` megabytes of notes into `out`, with `truth.csv` (passage id,
/// site, themes) and `queries.txt` (200 queries: words and two-word phrases from the text).
pub fn generate(out: &Path, mb: f64, seed: u64, transcripts: &Path) -> Result<Generated> {
    let sentences = load_sentences(transcripts)?;
    let themes = theme_sentences();
    anyhow::ensure!(themes.iter().all(|t| !t.is_empty()), "every code needs theme sentences");
    fs::create_dir_all(out.join("notes")).with_context(|| format!("cannot create `{}`", out.display()))?;
    fs::write(out.join("fieldnotes.toml"), "name = \"Generated benchmark corpus\"\ncoder = \"bench\"\n")?;
    fs::write(out.join("codebook.toml"), CODEBOOK)?;
    let mut truth = BufWriter::new(File::create(out.join("truth.csv"))?);
    writeln!(truth, "passage,site,themes")?;
    let target = (mb * 1_000_000.0) as u64;
    let mut rng = Rng::new(seed);
    let mut g = Generated { notes: 0, passages: 0, bytes: 0 };
    let mut body = String::with_capacity(64 * 1024);
    while g.bytes < target {
        let (site, rates) = SITES[rng.below(SITES.len())];
        let kind = KINDS[rng.below(KINDS.len())];
        let (year, month, day) = (2015 + rng.below(4), 1 + rng.below(12), 1 + rng.below(28));
        let rel = format!("notes/{}/{:06}.md", fieldnotes_corpus::slug_id(site), g.notes);
        body.clear();
        body.push_str(&format!(
            "---\nsite: {site}\ndate: {year}-{month:02}-{day:02}\nkind: {kind}\nauthor: {}\n---\n# Notes\n\n",
            AUTHORS[rng.below(AUTHORS.len())]
        ));
        let paragraphs = rng.range(8, 20);
        for ordinal in 1..=paragraphs {
            let n = rng.range(2, 5);
            let mut parts: Vec<&str> = (0..n).map(|_| sentences[rng.below(sentences.len())].as_str()).collect();
            let mut got = Vec::new();
            for (ci, &rate) in rates.iter().enumerate() {
                if rng.unit() < rate {
                    let s = themes[ci][rng.below(themes[ci].len())];
                    let at = rng.below(parts.len() + 1);
                    parts.insert(at, s);
                    got.push(CODES[ci]);
                }
            }
            if kind == "interview" {
                body.push_str(if ordinal % 2 == 1 { "Interviewer: " } else { "Respondent: " });
            }
            body.push_str(&parts.join(" "));
            body.push_str("\n\n");
            writeln!(truth, "{rel}#{ordinal},{site},{}", got.join(";"))?;
        }
        fs::create_dir_all(out.join(&rel).parent().unwrap_or(out))?;
        fs::write(out.join(&rel), &body)?;
        g.bytes += body.len() as u64;
        g.passages += paragraphs;
        g.notes += 1;
    }
    truth.flush()?;
    write_queries(out, &sentences, seed)?;
    Ok(g)
}

fn write_queries(out: &Path, sentences: &[String], seed: u64) -> Result<()> {
    let mut rng = Rng::new(seed ^ 0x5EED);
    let words = |s: &str| -> Vec<String> {
        s.split(|c: char| !c.is_alphanumeric())
            .filter(|w| w.len() >= 4 && w.chars().all(|c| c.is_ascii_alphabetic()))
            .map(str::to_lowercase)
            .collect()
    };
    let mut q = Vec::new();
    while q.len() < 160 {
        let ws = words(&sentences[rng.below(sentences.len())]);
        if !ws.is_empty() {
            let w = ws[rng.below(ws.len())].clone();
            if !q.contains(&w) {
                q.push(w);
            }
        }
    }
    while q.len() < 200 {
        let s = &sentences[rng.below(sentences.len())];
        let ws: Vec<&str> = s.split_whitespace().collect();
        if ws.len() >= 2 {
            let i = rng.below(ws.len() - 1);
            let (a, b) = (clean(ws[i]), clean(ws[i + 1]));
            if a.len() >= 3 && b.len() >= 3 {
                q.push(format!("\"{a} {b}\""));
            }
        }
    }
    fs::write(out.join("queries.txt"), q.join("\n") + "\n")?;
    Ok(())
}

fn clean(w: &str) -> String {
    w.chars().filter(|c| c.is_ascii_alphabetic()).collect::<String>().to_lowercase()
}
