//! Test helpers shared by the crates' unit tests and the integration tests.
//!
//! - [`xsd::validate`] checks an XML file against an XML Schema in-process, through the
//!   system's libxml2 (the same library `xmllint` uses), so the REFI-QDA checks need no program
//!   on the PATH.
//! - [`skip`] is how a test that needs something the machine lacks steps aside: one visible line
//!   saying what is missing and how to get it, or a failure where `FIELDNOTES_REQUIRE_ALL` is set
//!   (CI sets it, so CI runs everything).
#![warn(missing_docs)]

pub mod xsd;

use std::io::Write;

/// The variable that turns every [`skip`] into a failure.
pub const REQUIRE_ALL: &str = "FIELDNOTES_REQUIRE_ALL";

/// Steps a test aside because `what` is missing: writes one line to the terminal (straight to
/// stderr, past the test harness's capture, so it shows even when the test passes) naming what
/// is missing and `how` to get it. Panics instead where `FIELDNOTES_REQUIRE_ALL` is set.
pub fn skip(test: &str, what: &str, how: &str) {
    let line = format!("SKIPPED {test}: {what} is missing; {how}");
    if std::env::var_os(REQUIRE_ALL).is_some_and(|v| !v.is_empty() && v != "0") {
        panic!("{line} ({REQUIRE_ALL} is set, so a skip is a failure)");
    }
    let _ = writeln!(std::io::stderr(), "{line}");
}
