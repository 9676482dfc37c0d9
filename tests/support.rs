//! Shared test helpers: the loopback DNS server over `tests/zones/`.

use std::path::{Path, PathBuf};

pub use mailpreflight_checks::testing::{Misbehave, TestDns};

pub fn zones_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/zones")
        .join(name)
}

/// A server for one folder of zone files.
pub fn server(dir: &str) -> TestDns {
    TestDns::from_dir(&zones_dir(dir)).expect("test zones load")
}

use std::sync::Arc;
use std::time::Duration;

use mailpreflight_checks::dns::{Dns, DnsConfig};
use mailpreflight_checks::{Ctx, Options, Report, Selection, Target};

/// A DNS client that asks only the loopback server.
pub fn client(srv: &TestDns) -> Dns {
    Dns::new(&DnsConfig {
        resolvers: vec![srv.addr],
        timeout: Duration::from_millis(400),
        attempts: 1,
        ..DnsConfig::default()
    })
    .expect("client")
}

/// Runs the engine (only the given checks) for `target` against `srv`.
pub async fn run_engine(srv: &TestDns, target: Target, only: &[&str]) -> Report {
    let ctx = Arc::new(Ctx {
        target,
        dns: client(srv),
        options: Options {
            check_timeout: Duration::from_secs(20),
            ..Options::default()
        },
    });
    let sel = Selection {
        only: only.iter().map(|s| s.to_string()).collect(),
        skip: Vec::new(),
    };
    mailpreflight_checks::run(ctx, &sel).await
}

/// The sorted, de-duplicated finding codes of a report.
pub fn codes(report: &Report) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = report.findings().map(|f| f.code.id()).collect();
    v.sort();
    v.dedup();
    v
}
