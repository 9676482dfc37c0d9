//! The mailpreflight engine: given a sending domain and the IPs and HELO name
//! of the host that sends its mail, answer before a receiver does whether that
//! mail will be accepted, with the DNS evidence and the fix for every finding.
//!
//! Data flows one way: the caller builds a [`Target`] and a [`dns::Dns`]
//! client, [`run`] drives every selected check concurrently over that one
//! client, and each check returns its findings. Nothing here prints.

pub mod bounce;
pub mod bulk;
pub mod codes;
pub mod dkim;
pub mod dmarc;
pub mod dns;
pub mod dnsbl;
pub mod expect;
pub mod helo;
pub mod lint;
pub mod mx;
pub mod names;
pub mod orgdomain;
pub mod path;
pub mod rdns;
pub mod smtp;
pub mod spf;
#[cfg(feature = "test-support")]
pub mod testing;
#[cfg(feature = "test-support")]
pub mod testing_smtp;

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Serialize, Serializer};

pub use codes::Code;

/// The verdict of a finding, and of a check (its worst finding's).
///
/// `pass < info < warn < fail` is the severity order of DESIGN.md; `error`
/// (could not be determined) and `skip` (not applicable) stand beside it.
/// `error` is never shown as pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Skip,
    Pass,
    Info,
    Warn,
    Error,
    Fail,
}

impl Status {
    /// Worst first, as summaries list them.
    pub const WORST_FIRST: [Status; 6] = [
        Status::Fail,
        Status::Error,
        Status::Warn,
        Status::Info,
        Status::Pass,
        Status::Skip,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Skip => "skip",
            Status::Pass => "pass",
            Status::Info => "info",
            Status::Warn => "warn",
            Status::Error => "error",
            Status::Fail => "fail",
        }
    }

    /// Where a status stands on the pass < info < warn < fail scale that
    /// `--fail-on` compares against; `error` and `skip` are not on it.
    pub fn severity(self) -> Option<u8> {
        match self {
            Status::Pass => Some(0),
            Status::Info => Some(1),
            Status::Warn => Some(2),
            Status::Fail => Some(3),
            Status::Error | Status::Skip => None,
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Some(match s {
            "skip" => Status::Skip,
            "pass" => Status::Pass,
            "info" => Status::Info,
            "warn" => Status::Warn,
            "error" => Status::Error,
            "fail" => Status::Fail,
            _ => return None,
        })
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One thing a check found: a stable code, its status, one line saying what,
/// the DNS answers it rests on in zone-file syntax, and what to do about it.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    #[serde(serialize_with = "ser_code")]
    pub code: Code,
    pub status: Status,
    pub message: String,
    pub evidence: Vec<String>,
    pub fix: String,
    /// Set only when the report is compared with a baseline (`--baseline`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Change>,
}

/// How a finding compares with an earlier report of the same domain: a
/// finding is the same when its domain, code and message are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    New,
    Unchanged,
}

/// A finding of the baseline report that this run no longer has. Its code is
/// kept as text: it may be one a newer version retired.
#[derive(Debug, Clone, Serialize)]
pub struct Resolved {
    pub code: String,
    pub status: Status,
    pub message: String,
}

fn ser_code<S: Serializer>(c: &Code, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.id())
}

impl Finding {
    /// A finding with its code's default status and fix.
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Finding {
            code,
            status: code.status(),
            message: message.into(),
            evidence: Vec::new(),
            fix: code.fix().to_string(),
            change: None,
        }
    }

    pub fn evidence<I, S>(mut self, lines: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.evidence.extend(lines.into_iter().map(Into::into));
        self
    }

    /// A fix that names this case's records, instead of the registry's text.
    pub fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = fix.into();
        self
    }

    /// Used where one code's severity depends on the case (e.g. "warn, fail if
    /// every target is unusable"); the registry gives the usual one.
    pub fn status(mut self, status: Status) -> Self {
        self.status = status;
        self
    }
}

/// What is being checked: the sending domain and the host that sends for it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Target {
    /// A-label form, lower case, without the trailing dot.
    #[serde(skip)]
    pub domain: String,
    pub ips: Vec<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mail_from: Option<String>,
    pub selectors: Vec<String>,
}

/// Knobs the checks read; the CLI fills them from flags and the config file.
#[derive(Debug, Clone)]
pub struct Options {
    /// No network at all: names outside loaded zones are "not available offline"
    /// and probes (SMTP) are skipped.
    pub offline: bool,
    /// Upper bound for one check; a check still running then is `error`.
    pub check_timeout: Duration,
    /// Port the SMTP probe connects to (25; tests use an ephemeral one).
    pub smtp_port: u16,
    /// DNSBL zones replacing the default list, when not empty. Known domain
    /// lists (dbl.spamhaus.org, …) and zones written `domain:ZONE` are asked
    /// about the domain; the rest about the sending IPs.
    pub dnsbl_zones: Vec<String>,
    /// How long one step of the SMTP probe may take (connect, each reply,
    /// the TLS handshake); one host's whole probe gets three times that,
    /// and never more than `check_timeout` allows.
    pub smtp_timeout: Duration,
    /// Trust anchors (DER certificates) the SMTP probe accepts beside the
    /// built-in public roots: a private CA, or a test CA.
    pub smtp_trust_roots: Vec<Vec<u8>>,
    /// Where to connect instead of `MX-address:smtp_port`, per MX address:
    /// probing through a tunnel or port forward when port 25 is blocked here,
    /// and tests (MX addresses stay documentation addresses with PTRs in the
    /// test zones while the servers listen on loopback).
    pub smtp_routes: Vec<(IpAddr, SocketAddr)>,
    /// What the config file expects of this domain (the `expect` check).
    pub expect: expect::Expectations,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            offline: false,
            check_timeout: Duration::from_secs(30),
            smtp_port: 25,
            dnsbl_zones: Vec::new(),
            smtp_timeout: Duration::from_secs(10),
            smtp_trust_roots: Vec::new(),
            smtp_routes: Vec::new(),
            expect: expect::Expectations::default(),
        }
    }
}

/// Everything a check may use: the target, the shared DNS client, the options.
pub struct Ctx {
    pub target: Target,
    pub dns: dns::Dns,
    pub options: Options,
}

/// A check: gathers its lookups (all at once), classifies, emits findings.
/// It never prints and never fails as a whole: a lookup it could not make is
/// an `error` finding.
#[async_trait::async_trait]
pub trait Check: Send + Sync {
    /// The stable id users pass to `--only` / `--skip`.
    fn id(&self) -> &'static str;
    /// One line for `--help` and the README.
    fn title(&self) -> &'static str;
    async fn run(&self, ctx: &Ctx) -> Vec<Finding>;
}

/// Every check, in the order reports list them.
pub fn registry() -> Vec<Arc<dyn Check>> {
    vec![
        Arc::new(mx::MxCheck),
        Arc::new(rdns::RdnsCheck),
        Arc::new(helo::HeloCheck),
        Arc::new(spf::SpfCheck),
        Arc::new(dkim::DkimCheck),
        Arc::new(dmarc::DmarcCheck),
        Arc::new(dnsbl::DnsblCheck),
        Arc::new(smtp::SmtpCheck),
        Arc::new(lint::LintCheck),
        Arc::new(expect::ExpectCheck),
    ]
}

/// The ids of [`registry`], in order.
pub fn check_ids() -> Vec<&'static str> {
    registry().iter().map(|c| c.id()).collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub id: &'static str,
    pub status: Status,
    pub elapsed_ms: u64,
    pub findings: Vec<Finding>,
    /// With `--baseline`: the baseline's findings of this check that are gone.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub resolved: Vec<Resolved>,
}

impl CheckReport {
    /// A report from findings, sorted worst first, with its status.
    pub fn new(id: &'static str, mut findings: Vec<Finding>, elapsed: Duration) -> Self {
        // Deterministic output: worst first, then by code, then by message.
        findings.sort_by(|a, b| {
            b.status
                .cmp(&a.status)
                .then_with(|| a.code.id().cmp(b.code.id()))
                .then_with(|| a.message.cmp(&b.message))
        });
        CheckReport {
            id,
            status: worst(findings.iter().map(|f| f.status)),
            elapsed_ms: elapsed.as_millis() as u64,
            findings,
            resolved: Vec::new(),
        }
    }
}

/// The worst of some statuses; `skip` when there are none.
pub fn worst(statuses: impl IntoIterator<Item = Status>) -> Status {
    statuses.into_iter().max().unwrap_or(Status::Skip)
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub domain: String,
    pub status: Status,
    pub target: Target,
    pub checks: Vec<CheckReport>,
}

impl Report {
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.checks.iter().flat_map(|c| c.findings.iter())
    }
}

/// Which checks to run: everything, less `skip`, or only `only`.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub only: Vec<String>,
    pub skip: Vec<String>,
}

impl Selection {
    pub fn wants(&self, id: &str) -> bool {
        (self.only.is_empty() || self.only.iter().any(|o| o == id))
            && !self.skip.iter().any(|s| s == id)
    }
}

/// Runs every selected check concurrently over the one shared DNS client and
/// returns the report, checks in registry order. A check that panics or runs
/// past its time is reported as `error`; the run always completes.
pub async fn run(ctx: Arc<Ctx>, selection: &Selection) -> Report {
    run_checks(ctx, registry(), selection).await
}

/// [`run`] over a given list of checks (tests use it to prove that a
/// crashing check does not take the run down).
pub async fn run_checks(
    ctx: Arc<Ctx>,
    checks: Vec<Arc<dyn Check>>,
    selection: &Selection,
) -> Report {
    let mut handles = Vec::new();
    for check in checks {
        let id = check.id();
        if !selection.wants(id) {
            continue;
        }
        let ctx = ctx.clone();
        let limit = ctx.options.check_timeout;
        handles.push((
            id,
            tokio::spawn(async move {
                let start = Instant::now();
                let findings = match tokio::time::timeout(limit, check.run(&ctx)).await {
                    Ok(f) => f,
                    Err(_) => vec![Finding::new(
                        Code::EngineCheckTimeout,
                        format!("the {id} check did not finish within {}s", limit.as_secs()),
                    )],
                };
                (findings, start.elapsed())
            }),
        ));
    }
    let mut checks = Vec::new();
    for (id, handle) in handles {
        let (findings, elapsed) = match handle.await {
            Ok(done) => done,
            Err(e) => {
                let why = if e.is_panic() {
                    "panicked"
                } else {
                    "was cancelled"
                };
                (
                    vec![Finding::new(
                        Code::EngineCheckPanicked,
                        format!("the {id} check {why}; its result is unknown"),
                    )],
                    Duration::ZERO,
                )
            }
        };
        checks.push(CheckReport::new(id, findings, elapsed));
    }
    Report {
        domain: ctx.target.domain.clone(),
        status: worst(checks.iter().map(|c| c.status)),
        target: ctx.target.clone(),
        checks,
    }
}

/// Counts of findings by status, for summaries.
pub fn tally<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> BTreeMap<Status, usize> {
    let mut m = BTreeMap::new();
    for f in findings {
        *m.entry(f.status).or_insert(0) += 1;
    }
    m
}
