//! Shared test helpers: the loopback DNS server over `tests/zones/`.

use std::path::{Path, PathBuf};

pub use mailpreflight_checks::testing::{Misbehave, TestDns};

pub fn zones_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/zones").join(name)
}

/// A server for one folder of zone files.
pub fn server(dir: &str) -> TestDns {
    TestDns::from_dir(&zones_dir(dir)).expect("test zones load")
}
