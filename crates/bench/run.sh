#!/usr/bin/env bash
# End-to-end benchmark: fieldnotes against the tools a researcher would otherwise use, on one
# generated corpus, in one run. Usage: bash crates/bench/run.sh   (MB=100 SEED=1 by default)
# Prints a Markdown table of results and ratios; writes JSON lines to target/bench/results-<MB>mb.jsonl.
# ONLY=scale runs just what the coding state's goals are about (index, code auto and the
# interactive commands on the coded project), for a large MB: MB=2048 ONLY=scale just bench.
set -euo pipefail
cd "$(dirname "$0")/../.."
MB=${MB:-100}
SEED=${SEED:-1}
CODINGS=${CODINGS:-10000000}
OUT=target/bench
CORPUS=$OUT/corpus-${MB}mb
RESULTS=$OUT/results-${MB}mb.jsonl
mkdir -p "$OUT"

need() { command -v "$1" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need rg ripgrep
need /usr/bin/time time

VENV=crates/bench/.venv
python3 -c 'import venv, ensurepip' 2>/dev/null || {
  echo "run.sh: the peers need Python 3 with venv and pip (on Debian: apt-get install -y python3-venv python3-pip)" >&2
  exit 2
}
if [ ! -x "$VENV/bin/python" ] || ! cmp -s crates/bench/requirements.txt "$VENV/requirements.txt"; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --only-binary :all: -r crates/bench/requirements.txt
  cp crates/bench/requirements.txt "$VENV/requirements.txt"
fi
PY="$VENV/bin/python crates/bench/peers.py"

cargo build --release -q -p fieldnotes -p fieldnotes-bench
FN=${CARGO_TARGET_DIR:-target}/release/fieldnotes
FB=${CARGO_TARGET_DIR:-target}/release/fieldnotes-bench

if [ ! -f "$CORPUS/truth.csv" ]; then
  echo "generating $MB MB of notes in $CORPUS" >&2
  $FB gen --mb "$MB" --seed "$SEED" "$CORPUS" >&2
fi
: > "$RESULTS"
record() { echo "$1" >> "$RESULTS"; }

# Runs a command under /usr/bin/time; records wall seconds (from the clock in nanoseconds:
# /usr/bin/time's own are in hundredths) and peak RSS (MB) as JSON.
timed() {
  local name=$1; shift
  local t0 t1
  t0=$(date +%s%N)
  /usr/bin/time -f '%e %M' -o "$OUT/time.txt" "$@" > "$OUT/last.out"
  t1=$(date +%s%N)
  read -r _ kb < "$OUT/time.txt"
  record "{\"tool\":\"$name\",\"op\":\"process\",\"seconds\":$(( (t1 - t0) / 1000 ))e-6,\"peak_rss_mb\":$((kb / 1024))}"
}

echo "fieldnotes: index from scratch, then unchanged, then after editing one note" >&2
rm -rf "$CORPUS/.fieldnotes" "$CORPUS/codings"
sync
timed fieldnotes-index "$FN" --project "$CORPUS" -q index
SCALE=$([ "${ONLY:-}" = scale ] && echo 1 || echo 0)
if [ "$SCALE" = 0 ]; then
timed fieldnotes-reindex-unchanged "$FN" --project "$CORPUS" -q index
one=$(find "$CORPUS/notes" -name '*.md' | sort | sed -n 1p)
printf '\nAn added paragraph about slow progress.\n' >> "$one"
timed fieldnotes-reindex-one-note "$FN" --project "$CORPUS" -q index

echo "fieldnotes: query latency in process, and whole-process search" >&2
record "$($FB query "$CORPUS" "$CORPUS/queries.txt")"
for i in $(seq 1 20); do
  t0=$(date +%s%N)
  "$FN" --project "$CORPUS" -q search partnership -n 10 > /dev/null
  t1=$(date +%s%N)
  record "{\"tool\":\"fieldnotes-search-process\",\"op\":\"process\",\"seconds\":$(( (t1 - t0) / 1000 ))e-6,\"peak_rss_mb\":0}"
done

echo "fieldnotes: auto-coding (in process, and the whole command)" >&2
record "$($FB code "$CORPUS" --truth "$CORPUS/truth.csv")"
fi
# `code auto` as the first run after `index`, 5 rounds: each starts from what `index` left (no
# ledger, no coding state, no kept versions, the report store as `index` wrote it), after a
# `sync`, so that no round shares the machine with the writing back of the one before.
cp "$CORPUS/.fieldnotes/report.store" "$OUT/report.store.after-index"
for round in 1 2 3 4 5; do
  rm -rf "$CORPUS/codings" "$CORPUS/.fieldnotes/state" "$CORPUS/.fieldnotes/texts"
  cp "$OUT/report.store.after-index" "$CORPUS/.fieldnotes/report.store"
  sync
  timed fieldnotes-code-auto "$FN" --project "$CORPUS" -q code auto
done
rm -f "$OUT/report.store.after-index"
# The rounds' writes (4 GB at 2 GB of notes) out of the way of the interactive commands' fsyncs.
sync

echo "fieldnotes: interactive commands on the coded project, 5 rounds, with \`fieldnotes watch\` running; SQLite's point update beside them" >&2
ID=$("$FN" --project "$CORPUS" -q search partnership -n 1 --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["hits"][0]["id"])')
# The watcher tells the commands that no note changed, so they do not stat every note.
"$FN" --project "$CORPUS" watch 2> "$OUT/watch.err" &
WATCH=$!
trap 'kill $WATCH 2>/dev/null || true' EXIT
until grep -q '^watching' "$OUT/watch.err"; do sleep 0.1; kill -0 $WATCH || { cat "$OUT/watch.err" >&2; exit 1; }; done
"$FN" --project "$CORPUS" -q report themes > /dev/null  # the notes walked once, for the watcher's token
rm -f "$OUT/codings.db"
for i in 1 2 3 4 5; do
  timed fieldnotes-code-add "$FN" --project "$CORPUS" -q code add "$ID" time --coder hb --memo "round $i"
  timed fieldnotes-search-code-after-coding "$FN" --project "$CORPUS" -q search 'code:time' -n 10
  timed fieldnotes-show "$FN" --project "$CORPUS" -q show "$ID"
  timed fieldnotes-code-list-one-coder "$FN" --project "$CORPUS" -q code list --coder hb --csv
  timed fieldnotes-themes-after-coding "$FN" --project "$CORPUS" -q report themes --by site
  timed fieldnotes-agree "$FN" --project "$CORPUS" -q agree --coders rules,hb --include-suggested
  timed fieldnotes-code-rm "$FN" --project "$CORPUS" -q code rm "$ID" time --coder hb
  $PY sqlite-point-update "$OUT/codings.db" --id "hb-$i" > /dev/null  # made (190,000 codings) the first time
  timed sqlite-point-update $PY sqlite-point-update "$OUT/codings.db" --id "hb-$i"
  record "$(cat "$OUT/last.out")"
done
kill $WATCH
wait $WATCH 2>/dev/null || true

echo "fieldnotes: whole-study commands, once each (every note read, a batch at a time)" >&2
timed fieldnotes-code-check "$FN" --project "$CORPUS" -q code check || true  # exit 1 if anything moved
timed fieldnotes-code-list-code "$FN" --project "$CORPUS" -q code list --code time --status accepted --csv
timed fieldnotes-report-stats "$FN" --project "$CORPUS" -q report stats --by site --include-suggested

if [ "$SCALE" = 0 ]; then
# A reviewer across most notes (one code's suggestions accepted, another's rejected): agreement
# with the rules and evaluation against them read every note the reviewer touched, a batch at a
# time. The bootstrap is left out: its draws, not the reading, would be most of the time.
"$FN" --project "$CORPUS" -q code review --accept --code time --coder rv
"$FN" --project "$CORPUS" -q code review --reject --code context --coder rv
timed fieldnotes-agree-reviewer "$FN" --project "$CORPUS" -q agree --coders rules,rv --include-suggested --bootstrap 0
timed fieldnotes-eval-reviewer "$FN" --project "$CORPUS" -q code eval --against rv
fi

if [ "$SCALE" = 0 ]; then
echo "fieldnotes: one long note (the first 8 MB of notes as one), and the same notes apart" >&2
LONG=$OUT/long-note
SPLIT=$OUT/long-split
rm -rf "$LONG" "$SPLIT" && mkdir -p "$LONG/notes" "$SPLIT/notes" "$LONG/codings" "$SPLIT/codings"
for d in "$LONG" "$SPLIT"; do cp "$CORPUS/codebook.toml" "$CORPUS/fieldnotes.toml" "$d/"; done
python3 - "$CORPUS/notes" "$LONG/notes/journal.md" "$SPLIT/notes" <<'PY'
import pathlib, shutil, sys
src, long_note, split = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
parts, size = [], 0
for f in sorted(src.rglob("*.md")):
    text = f.read_text(encoding="utf-8")
    body = text.split("\n---\n", 1)[1] if text.startswith("---\n") else text
    shutil.copy(f, split / f"{len(parts):06d}.md")
    parts.append(body.strip())
    size += len(body.encode())
    if size >= 8 << 20:
        break
long_note.write_text("---\nsite: Fife\nkind: journal\n---\n" + "\n\n".join(parts) + "\n", encoding="utf-8")
PY
"$FN" --project "$LONG" -q index
"$FN" --project "$SPLIT" -q index
timed fieldnotes-long-code-auto "$FN" --project "$LONG" -q code auto
timed fieldnotes-split-code-auto "$FN" --project "$SPLIT" -q code auto
LID=$("$FN" --project "$LONG" -q search partnership -n 1 --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["hits"][0]["id"])')
for i in 1 2 3 4 5; do
  timed fieldnotes-long-code-add "$FN" --project "$LONG" -q code add "$LID" time --coder hb --memo "round $i"
  timed fieldnotes-long-show "$FN" --project "$LONG" -q show "$LID"
  timed fieldnotes-long-code-rm "$FN" --project "$LONG" -q code rm "$LID" time --coder hb
done

echo "keyness by site (every word counted), fieldnotes and the same statistics in Python" >&2
timed fieldnotes-keyness "$FN" --project "$CORPUS" -q report keyness --by site --all-words --p 1 --top 10 --format csv
timed python-keyness $PY keyness "$CORPUS"
record "$(cat "$OUT/last.out")"

echo "learned coder against scikit-learn, trained on 20% and 5% of the notes (the generator's truth)" >&2
for k in 5 20; do
  record "$($FB learn "$CORPUS" --truth "$CORPUS/truth.csv" --every $k)"
  record "$($PY learn-sklearn "$CORPUS" "$CORPUS/truth.csv" "$CORPUS/codebook.toml" --every $k)"
done

echo "ripgrep: one word at a time" >&2
for w in $(sed -n 1,10p "$CORPUS/queries.txt"); do timed rg-word rg -c -w -i "$w" "$CORPUS/notes"; done

echo "SQLite FTS5 and tantivy-py" >&2
record "$($PY fts5-index "$CORPUS" "$OUT/fts5.db")"
record "$($PY fts5-query "$OUT/fts5.db" "$CORPUS/queries.txt")"
rm -rf "$OUT/tantivy-py"
record "$($PY tantivy-index "$CORPUS" "$OUT/tantivy-py")"
record "$($PY tantivy-query "$OUT/tantivy-py" "$CORPUS/queries.txt")"

echo "Python re (first 5 MB) and pyahocorasick" >&2
record "$($PY code-re "$CORPUS" "$CORPUS/codebook.toml" --max-mb 5)"
record "$($PY code-aho "$CORPUS" "$CORPUS/codebook.toml")"

echo "theme table over $CODINGS codings: from the project's store, and pandas / polars from CSV" >&2
# A copy of the corpus with CODINGS accepted codings in 8 coders' ledgers (about 2.2 GB of JSON
# lines at 10 million). The first table builds the report store; the next five read it.
STORE=$OUT/store-${MB}mb-${CODINGS}
if [ ! -f "$STORE/codings/coder8.jsonl" ]; then
  rm -rf "$STORE" && mkdir -p "$STORE"
  cp -r "$CORPUS/notes" "$CORPUS/codebook.toml" "$CORPUS/fieldnotes.toml" "$STORE/"
  $FB ledger "$STORE" --codings "$CODINGS" --coders 8 >&2
fi
rm -f "$STORE/.fieldnotes/report.store"
timed fieldnotes-themes-building-store "$FN" --project "$STORE" -q report themes --by site
for i in 1 2 3 4 5; do timed fieldnotes-themes-from-store "$FN" --project "$STORE" -q report themes --by site; done
record "$($FB crosstab --codings "$CODINGS" --csv "$OUT/codings.csv")"
record "$($PY crosstab-pandas "$OUT/codings.csv")"
record "$($PY crosstab-polars "$OUT/codings.csv")"
rm -f "$OUT/codings.csv"
fi

python3 crates/bench/summarise.py "$RESULTS" "$MB"
