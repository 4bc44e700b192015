#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 600), one after the other, then minimises each
# corpus so fuzz/corpus/ keeps only inputs that reach new code. Usage: bash fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${1:-600}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
# cargo-fuzz passes -Zsanitizer and friends: nightly flags, allowed on stable by RUSTC_BOOTSTRAP.
export RUSTC_BOOTSTRAP=1
TARGETS=${TARGETS:-"front_matter passages query ledger refi"}
cargo fuzz build -O
mkdir -p logs
for t in $TARGETS; do
  mkdir -p "corpus/$t" "artifacts/$t"
  echo "fuzzing $t for ${SECONDS_EACH}s" >&2
  cargo fuzz run -O "$t" "corpus/$t" -- -max_total_time="$SECONDS_EACH" -max_len=65536 -timeout=10 \
    -rss_limit_mb=4096 -print_final_stats=1 > "logs/$t.log" 2>&1 || { tail -40 "logs/$t.log"; exit 1; }
  tail -12 "logs/$t.log" | grep -E 'stat::|Done' >&2 || true
  cargo fuzz cmin -O "$t" "corpus/$t" > "logs/$t-cmin.log" 2>&1
done
