//! End-to-end tests of the `fieldnotes` binary on real files: one integration-test binary,
//! one module per area.

mod util;

mod cli;
mod coding;
mod fuzz_checks;
mod fuzz_regression;
mod hostile;
mod import;
mod qmsum;
mod reports;
mod safety;
mod sample;
mod search;
mod serve;
mod snapshots;
mod state;
mod trust;
mod watch;
