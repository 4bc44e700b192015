//! End-to-end tests of the `fieldnotes` binary on real files: one integration-test binary,
//! one module per area.

mod util;

mod cli;
mod coding;
mod import;
mod qmsum;
mod reports;
mod safety;
mod sample;
