//! Replays every input the fuzzers kept (`fuzz/corpus/<target>/`) through the same checks the
//! fuzz targets run, so a crash a fuzzer once found stays fixed without a nightly toolchain.

use crate::fuzz_checks as checks;
use crate::util::repo;

fn replay(target: &str, check: fn(&[u8])) {
    let dir = repo().join("fuzz/corpus").join(target);
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        // The check's own message is printed by the panic hook; this names the input.
        if std::panic::catch_unwind(|| check(&data)).is_err() {
            panic!("{target} failed on {}", path.display());
        }
        n += 1;
    }
    assert!(n >= 10, "only {n} saved inputs for {target} in {}", dir.display());
}

#[test]
fn fuzz_corpus_front_matter() {
    replay("front_matter", checks::front_matter);
}

#[test]
fn fuzz_corpus_passages() {
    replay("passages", checks::passages);
}

#[test]
fn fuzz_corpus_query() {
    replay("query", checks::query);
}

#[test]
fn fuzz_corpus_ledger() {
    replay("ledger", checks::ledger);
}

#[test]
fn fuzz_corpus_refi() {
    replay("refi", checks::refi);
}
