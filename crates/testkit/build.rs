//! Finds the system's libxml2 with pkg-config. Without it the crate still builds, and
//! `validate` answers `Missing`, which the tests turn into a visible skip (a failure in CI).
fn main() {
    println!("cargo::rustc-check-cfg=cfg(has_libxml2)");
    println!("cargo::rerun-if-env-changed=PKG_CONFIG_PATH");
    if pkg_config::Config::new().probe("libxml-2.0").is_ok() {
        println!("cargo::rustc-cfg=has_libxml2");
    } else {
        println!(
            "cargo::warning=libxml2 not found by pkg-config: the XSD checks of REFI-QDA files will be skipped (apt-get install libxml2-dev)"
        );
    }
}
