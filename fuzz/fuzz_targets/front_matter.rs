#![no_main]

// Each target uses one of the shared checks.
#[allow(dead_code)]
#[path = "../../tests/fuzz_checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::front_matter(data));
