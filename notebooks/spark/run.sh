#!/usr/bin/env bash
# Checks that Apache Spark, reading a Parquet export of the sample study, computes exactly the
# theme table `fieldnotes report themes --by site` prints: once with the command line's default
# rule (accepted codings only) and once with --include-suggested. Fails on any differing cell.
# Usage, from the repo root: bash notebooks/spark/run.sh [path/to/fieldnotes]
# (default: target/debug/fieldnotes if built, else target/release/fieldnotes).
# Needs Java 17 (`java` on PATH, or JAVA_HOME). Python packages go into notebooks/spark/.venv
# (made on first use from notebooks/spark/requirements.txt; after that it runs offline).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

# shellcheck source=notebooks/lib.sh
source "$root/notebooks/lib.sh"

# The binary: resolve a given path before moving to the repo root.
bin="$(fieldnotes_bin "$root" target/debug/fieldnotes target/release/fieldnotes "$@")"
if [[ -z "${JAVA_HOME:-}" ]] && ! command -v java >/dev/null; then
  echo "run.sh: Spark needs Java (17): put \`java\` on PATH or set JAVA_HOME (on Debian: apt-get install -y openjdk-17-jre-headless)" >&2
  exit 2
fi

cd "$root"

# The virtual environment, (re)installed only when requirements.txt has changed.
venv="notebooks/spark/.venv"
python_venv "$venv" notebooks/spark/requirements.txt

# The study: the demo copies data/sample (notes, codebook, fieldnotes.toml) and auto-codes it,
# which leaves only suggestions. Review some, and code a few passages by hand, so that the
# accepted-only table is not all zeros and the once-per-passage rule has something to do.
work="target/spark"
demo="$work/demo"
rm -rf "$work"
mkdir -p "$work"
"$bin" -q demo --sample data/sample --out "$demo" >/dev/null
study() { "$bin" -q --project "$demo" "$@"; }
study code review --accept --code time --coder reviewer
study code review --accept --site Fife --coder reviewer
study code review --reject --code context --site Glasgow --coder reviewer
# By hand (passages of data/sample): a code the rules' accepted coding already gives the passage;
# two spans of one code in one passage; a code on a passage that has only suggestions.
p="notes/aberdeenshire/2015-04-21-first-meeting-woodhill-house.md"
study code add "$p#3" time --coder analyst
study code add "$p#4" context --coder analyst --start 0 --end 20
study code add "$p#4" context --coder analyst --start 30 --end 60
study code add "notes/dundee/2016-12-07-interview-regeneration-officer.md#2" expertise --coder analyst

# Suggestions too: the job filters by status itself, as each run below asks.
study export parquet --include-suggested "$work/export"
study report themes --by site --format csv -o "$work/themes-accepted.csv"
study report themes --by site --include-suggested --format csv -o "$work/themes-suggested.csv"

# A table of zeros would prove little: the accepted-only table must count something.
if ! awk -F, 'NR > 2 && $NF > 0 { found = 1 } END { exit !found }' "$work/themes-accepted.csv"; then
  echo "run.sh: $work/themes-accepted.csv counts no coded passages; nothing to compare" >&2
  exit 1
fi

# Spark: local mode, loopback only, the venv's own Spark and Python.
unset SPARK_HOME PYSPARK_GATEWAY_PORT PYSPARK_GATEWAY_SECRET PYSPARK_SUBMIT_ARGS
export SPARK_LOCAL_IP=127.0.0.1
export PYSPARK_PYTHON="$root/$venv/bin/python"
started=$(date +%s.%N)
"$venv/bin/python" notebooks/spark/themes_spark.py "$work/export" "$work/themes-accepted.csv" --by site
"$venv/bin/python" notebooks/spark/themes_spark.py "$work/export" "$work/themes-suggested.csv" --by site \
  --include-suggested
ended=$(date +%s.%N)
awk -v s="$started" -v e="$ended" 'BEGIN { printf "spark check OK: both rules, %.1f s wall time for Spark\n", e - s }'
