# fieldnotes: common tasks. `just --list` shows them.

# Run the whole pipeline on the sample study.
demo:
    cargo run --release -- demo

# The test suite.
test:
    cargo test --workspace

# Formatting and lints, as CI runs them.
lint:
    cargo fmt --all --check
    cargo clippy --workspace --all-targets -- -D warnings

# Everything CI runs.
ci:
    bash .ci/run

# Execute every notebook headlessly against a fresh Parquet export of the sample study.
notebooks:
    cargo build --release
    bash notebooks/run.sh target/release/fieldnotes

# Micro-benchmarks (divan) of parsing, indexing, querying, auto-coding, the ledger fold and the theme table.
micro:
    cargo bench -p fieldnotes-bench --bench micro

# End-to-end benchmark against the peers (MB=100 by default); results go to stdout.
bench:
    bash crates/bench/run.sh

# The long crash-safety run: 200 writers killed with SIGKILL at different moments.
stress:
    FIELDNOTES_CRASH_TRIALS=200 cargo test --test integration safety -- --nocapture

# Fuzz every parser for SECONDS each (default 600), keeping new interesting inputs in
# fuzz/corpus/; cargo-fuzz needs nightly features, which RUSTC_BOOTSTRAP=1 enables on stable.
fuzz SECONDS="600":
    bash fuzz/run.sh {{SECONDS}}

# Check that Spark, reading the Parquet export, computes the same theme table as the command line.
spark:
    bash notebooks/spark/run.sh
