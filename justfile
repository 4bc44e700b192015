# fieldnotes: common tasks. `just --list` shows them.
#
# `just` is not on a fresh machine (nor in Debian 12): `cargo install just`, or run the command a
# recipe shows, which is all it does. Each script installs or checks what it needs itself and
# says how to get what it cannot install.

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
# Needs Python 3 with venv and pip (the packages go into notebooks/.venv on first use).
notebooks:
    cargo build --release
    bash notebooks/run.sh target/release/fieldnotes

# Micro-benchmarks (divan) of parsing, indexing, querying, auto-coding, the ledger fold and the theme table.
micro:
    cargo bench -p fieldnotes-bench --bench micro

# End-to-end benchmark against the peers (MB=100 by default); results go to stdout.
# Installs ripgrep and GNU time with apt (as root) and the Python peers into crates/bench/.venv.
bench:
    bash crates/bench/run.sh

# The long crash-safety run: 200 writers killed with SIGKILL at different moments.
stress:
    FIELDNOTES_CRASH_TRIALS=200 cargo test --test integration safety -- --nocapture

# Fuzz every parser for SECONDS each (default 600), keeping new interesting inputs in
# fuzz/corpus/; cargo-fuzz needs nightly features, which RUSTC_BOOTSTRAP=1 enables on stable
# (no nightly toolchain needed); the script installs cargo-fuzz if it is missing.
fuzz SECONDS="600":
    bash fuzz/run.sh {{SECONDS}}

# Check that Spark, reading the Parquet export, computes the same theme table as the command line.
# Needs Java 17 (`apt-get install -y openjdk-17-jre-headless`); pyspark goes into a venv.
spark:
    bash notebooks/spark/run.sh
