//! `fieldnotes-bench`: generate benchmark corpora and time queries on a built index.
//!
//! ```text
//! fieldnotes-bench gen --mb 100 --seed 1 target/bench/corpus
//! fieldnotes-bench query target/bench/corpus target/bench/corpus/queries.txt
//! ```

mod corpus_gen;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use fieldnotes_index::{SearchIndex, SearchOptions};

fn usage() -> ! {
    let _ = writeln!(
        std::io::stderr(),
        "usage:\n  fieldnotes-bench gen --mb N [--seed S] [--transcripts DIR] OUT\n  fieldnotes-bench query PROJECT QUERIES [--repeat N]"
    );
    std::process::exit(2)
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned();
    let positional: Vec<&String> = {
        let mut v = Vec::new();
        let mut i = 1;
        while i < args.len() {
            if args[i].starts_with("--") {
                i += 2;
            } else {
                v.push(&args[i]);
                i += 1;
            }
        }
        v
    };
    let mut out = std::io::stdout().lock();
    match args.first().map(String::as_str) {
        Some("gen") => {
            let mb: f64 = flag("--mb").context("--mb is required")?.parse().context("--mb takes a number")?;
            let seed: u64 = flag("--seed").map_or(Ok(1), |s| s.parse()).context("--seed takes a whole number")?;
            let transcripts = flag("--transcripts")
                .map(PathBuf::from)
                .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/qmsum-committee"));
            let Some(dest) = positional.first() else { usage() };
            let started = Instant::now();
            let g = corpus_gen::generate(Path::new(dest.as_str()), mb, seed, &transcripts)?;
            writeln!(
                out,
                "{}",
                serde_json::json!({"notes": g.notes, "passages": g.passages, "bytes": g.bytes, "seconds": started.elapsed().as_secs_f64()})
            )?;
        }
        Some("query") => {
            let (Some(project), Some(queries)) = (positional.first(), positional.get(1)) else { usage() };
            let repeat: usize =
                flag("--repeat").map_or(Ok(5), |s| s.parse()).context("--repeat takes a whole number")?;
            let dir = Path::new(project.as_str()).join(".fieldnotes/index");
            let idx = SearchIndex::open(&dir)?
                .with_context(|| format!("no index in `{}`; run `fieldnotes index` first", dir.display()))?;
            let qs: Vec<String> = std::fs::read_to_string(queries.as_str())?
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(str::to_string)
                .collect();
            let opts = SearchOptions { limit: 20, ..Default::default() };
            let mut hits_total = 0usize;
            for q in &qs {
                hits_total += idx.search(q, &opts)?.total;
            }
            let mut per_query: Vec<f64> = Vec::with_capacity(qs.len());
            for q in &qs {
                let mut times: Vec<f64> = (0..repeat.max(1))
                    .map(|_| {
                        let t = Instant::now();
                        let r = idx.search(q, &opts);
                        let e = t.elapsed().as_secs_f64() * 1000.0;
                        r.map(|_| e)
                    })
                    .collect::<Result<_, _>>()?;
                times.sort_by(f64::total_cmp);
                per_query.push(times[times.len() / 2]);
            }
            per_query.sort_by(f64::total_cmp);
            let pct = |p: f64| per_query[((per_query.len() as f64 - 1.0) * p).round() as usize];
            writeln!(
                out,
                "{}",
                serde_json::json!({"tool": "fieldnotes", "queries": qs.len(), "p50_ms": pct(0.50), "p99_ms": pct(0.99), "hits_total": hits_total, "passages": idx.n_passages()})
            )?;
        }
        Some(other) => bail!("unknown command `{other}`"),
        None => usage(),
    }
    Ok(())
}
