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
