//! SPF: the OpenSPF RFC 7208 test suite against the loopback DNS server, the
//! `spf` check's findings, the prefetch's round trips, hostile data, and the
//! parser under arbitrary input.

use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use mailpreflight_checks::dns::{quote_txt, Dns, DnsConfig, Zone};
use mailpreflight_checks::spf::{check_host, check_host_with, EvalOptions, SpfResult};
use mailpreflight_checks::{Code, Finding, Report, Status, Target};
use serde_yaml::Value;

use crate::support::{codes, run_engine, Misbehave, TestDns};

const SUITE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../shared/testdata/spf/rfc7208-tests.yml"
);

fn fast_client(srv: &TestDns) -> Dns {
    Dns::new(&DnsConfig {
        resolvers: vec![srv.addr],
        timeout: Duration::from_millis(250),
        attempts: 1,
        ..DnsConfig::default()
    })
    .expect("client")
}

// --- the RFC 7208 test suite ---------------------------------------------

/// A name in master-file syntax: anything but letters, digits, `-`, `_` and
/// `.` escaped as `\DDD`, so names like `foo:bar/baz.example.com` or ones
/// with spaces survive.
fn zone_name(name: &str) -> String {
    let mut s = String::new();
    for b in name.trim_end_matches('.').bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            s.push(b as char);
        } else {
            s.push_str(&format!("\\{b:03}"));
        }
    }
    s.push('.');
    s
}

/// TXT/SPF data: one string or a list, each cut into 255-octet pieces.
fn txt_rdata(v: &Value) -> String {
    let strings: Vec<String> = match v {
        Value::Sequence(seq) => seq
            .iter()
            .map(|x| x.as_str().unwrap_or_default().to_string())
            .collect(),
        other => vec![scalar(other)],
    };
    if strings.is_empty() {
        // "null text": no strings at all cannot be written; one empty string
        // is the nearest, and is not an SPF record either.
        return "\"\"".into();
    }
    let mut out = Vec::new();
    for s in strings {
        let b = s.as_bytes();
        if b.is_empty() {
            out.push("\"\"".to_string());
        }
        for chunk in b.chunks(255) {
            out.push(quote_txt(chunk));
        }
    }
    out.join(" ")
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// One scenario's zonedata as the text of a root zone (so every name not
/// listed is NXDOMAIN, as the suite means), plus the names that time out.
fn scenario_zone(zonedata: &serde_yaml::Mapping) -> (String, Vec<String>) {
    let mut text = String::from("$ORIGIN .\n$TTL 300\n");
    let mut timeouts = Vec::new();
    for (name, items) in zonedata {
        let name = scalar(name);
        let owner = zone_name(&name);
        let items = items.as_sequence().cloned().unwrap_or_default();
        // The suite's drivers copy SPF records into TXT unless the name lists
        // TXT itself (even `TXT: NONE`).
        let has_txt = items
            .iter()
            .any(|i| i.as_mapping().is_some_and(|m| m.contains_key("TXT")));
        let mut has_asked_type = false;
        let mut timeout = false;
        for item in &items {
            let Some(map) = item.as_mapping() else {
                if item.as_str() == Some("TIMEOUT") {
                    timeout = true;
                }
                continue;
            };
            for (rtype, value) in map {
                let rtype = scalar(rtype);
                if value.as_str() == Some("NONE") {
                    continue;
                }
                let line = match rtype.as_str() {
                    "SPF" => {
                        let data = txt_rdata(value);
                        if !has_txt {
                            has_asked_type = true;
                            text.push_str(&format!("{owner} TXT {data}\n"));
                        }
                        format!("{owner} SPF {data}")
                    }
                    "TXT" => {
                        has_asked_type = true;
                        format!("{owner} TXT {}", txt_rdata(value))
                    }
                    "MX" => {
                        has_asked_type = true;
                        let seq = value.as_sequence().expect("MX is [pref, host]");
                        let host = scalar(&seq[1]);
                        let host = if host.is_empty() {
                            ".".to_string()
                        } else {
                            zone_name(&host)
                        };
                        format!("{owner} MX {} {host}", scalar(&seq[0]))
                    }
                    "A" | "AAAA" => {
                        has_asked_type = true;
                        format!("{owner} {rtype} {}", scalar(value))
                    }
                    "PTR" | "CNAME" => {
                        has_asked_type = true;
                        format!("{owner} {rtype} {}", zone_name(&scalar(value)))
                    }
                    other => panic!("zonedata type {other} not handled"),
                };
                text.push_str(&line);
                text.push('\n');
            }
        }
        // The test server can only make a whole name time out. Where a name
        // also has records of a type check_host() asks for (spftimeout: TXT
        // answers, only the type-99 query times out), it must keep answering.
        if timeout && !has_asked_type {
            timeouts.push(name);
        }
    }
    (text, timeouts)
}

struct Case {
    name: String,
    host: IpAddr,
    mailfrom: String,
    helo: String,
    results: Vec<String>,
    explanation: Option<String>,
}

fn cases(tests: &serde_yaml::Mapping) -> Vec<Case> {
    let mut v: Vec<Case> = tests
        .iter()
        .map(|(name, t)| {
            let get = |k: &str| t.get(k).map(scalar).unwrap_or_default();
            let results = match t.get("result") {
                Some(Value::Sequence(s)) => s.iter().map(scalar).collect(),
                Some(r) => vec![scalar(r)],
                None => panic!("{name:?} has no result"),
            };
            Case {
                name: scalar(name),
                host: get("host")
                    .parse()
                    .unwrap_or_else(|_| panic!("{name:?}: bad host")),
                mailfrom: get("mailfrom"),
                helo: get("helo"),
                results,
                explanation: t.get("explanation").map(scalar),
            }
        })
        .collect();
    v.sort_by(|a, b| a.name.cmp(&b.name));
    v
}

/// Runs one scenario; returns (tests run, failures).
async fn run_scenario(doc: Value) -> (usize, Vec<String>) {
    let description = doc.get("description").map(scalar).unwrap_or_default();
    let zonedata = doc
        .get("zonedata")
        .and_then(Value::as_mapping)
        .cloned()
        .unwrap_or_default();
    let tests = doc
        .get("tests")
        .and_then(Value::as_mapping)
        .cloned()
        .unwrap_or_default();
    let (text, timeouts) = scenario_zone(&zonedata);
    let zone = Zone::parse(&text, Path::new("suite.zone"), Some(""))
        .unwrap_or_else(|e| panic!("{description}: zone does not load: {e}\n{text}"));
    let srv = TestDns::start(vec![zone]);
    for t in &timeouts {
        srv.misbehave(t, Misbehave::Drop);
    }
    let dns = fast_client(&srv);
    let cases = cases(&tests);
    let mut failures = Vec::new();
    for c in &cases {
        let domain = if c.mailfrom.is_empty() {
            c.helo.clone()
        } else {
            c.mailfrom
                .rsplit_once('@')
                .map_or(c.mailfrom.clone(), |(_, d)| d.to_string())
        };
        let ev = check_host(&dns, c.host, &domain, &c.mailfrom, &c.helo).await;
        let mut wrong = Vec::new();
        if !c.results.iter().any(|r| r == ev.result.as_str()) {
            wrong.push(format!(
                "result {} (want {})",
                ev.result,
                c.results.join(" or ")
            ));
        }
        let explanation = ev.explanation.as_deref();
        match c.explanation.as_deref() {
            None => {}
            // The implementation's own default: we add none, so none is right.
            Some("DEFAULT") if explanation.is_some() => {
                wrong.push(format!("explanation {explanation:?} (want the default)"));
            }
            Some("DEFAULT") => {}
            // DNS names are case-insensitive and RFC 7208 §7.4 writes %{ir}
            // of IPv6 in lower case; the suite writes it in upper case.
            Some(want) if !explanation.is_some_and(|e| e.eq_ignore_ascii_case(want)) => {
                wrong.push(format!("explanation {explanation:?} (want {want:?})"));
            }
            Some(_) => {}
        }
        if !wrong.is_empty() {
            let trace: Vec<String> = ev
                .trace
                .iter()
                .map(|l| format!("      {}{}", "  ".repeat(l.depth as usize), l.text))
                .collect();
            failures.push(format!(
                "{description} / {}: {}\n{}",
                c.name,
                wrong.join("; "),
                trace.join("\n")
            ));
        }
    }
    (cases.len(), failures)
}

#[tokio::test]
async fn rfc7208_test_suite() {
    let text = std::fs::read_to_string(SUITE).unwrap_or_else(|e| panic!("{SUITE}: {e}"));
    let docs: Vec<Value> = serde_yaml::Deserializer::from_str(&text)
        .map(|d| serde::Deserialize::deserialize(d).expect("suite YAML"))
        .collect();
    assert!(docs.len() > 10, "the suite has its scenarios");
    let results = futures::future::join_all(docs.into_iter().map(run_scenario)).await;
    let total: usize = results.iter().map(|r| r.0).sum();
    let failures: Vec<&String> = results.iter().flat_map(|r| r.1.iter()).collect();
    eprintln!("RFC 7208 suite: {}/{total} pass", total - failures.len());
    assert_eq!(total, 203, "the suite has 203 tests");
    assert!(
        failures.is_empty(),
        "{} of {total} fail:\n{}",
        failures.len(),
        failures
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
}

// --- the spf check, one scenario per code -----------------------------------

fn target(domain: &str, ips: &[&str]) -> Target {
    Target {
        domain: domain.to_string(),
        ips: ips.iter().map(|i| i.parse().expect("ip")).collect(),
        helo: Some("mail.spf.test".into()),
        ..Target::default()
    }
}

/// (domain, sending IPs, exact set of codes)
const SCENARIOS: &[(&str, &[&str], &[&str])] = &[
    ("ok.spf.test", &["192.0.2.10"], &["spf.ok"]),
    ("ok.spf.test", &[], &["spf.no_ip", "spf.ok"]),
    (
        "viainc.spf.test",
        &["198.51.100.7", "2001:db8::25"],
        &["spf.ok"],
    ),
    ("none.spf.test", &["192.0.2.10"], &["spf.no_record"]),
    ("old.spf.test", &["192.0.2.10"], &["spf.type99_only"]),
    ("multi.spf.test", &["192.0.2.10"], &["spf.multiple_records"]),
    (
        "syntax.spf.test",
        &["192.0.2.10"],
        &["spf.ip_not_permitted", "spf.syntax_error"],
    ),
    ("plusall.spf.test", &["192.0.2.10"], &["spf.plus_all"]),
    (
        "neutralall.spf.test",
        &["192.0.2.10"],
        &["spf.neutral_all", "spf.ok"],
    ),
    ("noall.spf.test", &["192.0.2.10"], &["spf.no_all", "spf.ok"]),
    (
        "redirall.spf.test",
        &["192.0.2.10"],
        &["spf.ok", "spf.redirect_ignored"],
    ),
    ("ptr.spf.test", &["192.0.2.10"], &["spf.ok", "spf.ptr_used"]),
    (
        "ptr.spf.test",
        &["192.0.2.20"],
        &["spf.ip_not_permitted", "spf.ptr_over_limit", "spf.ptr_used"],
    ),
    (
        "incnone.spf.test",
        &["192.0.2.10"],
        &["spf.include_no_spf", "spf.ip_not_permitted"],
    ),
    (
        "loop1.spf.test",
        &["192.0.2.10"],
        &[
            "spf.include_loop",
            "spf.ip_not_permitted",
            "spf.too_many_lookups",
        ],
    ),
    (
        "rloop.spf.test",
        &["192.0.2.10"],
        &[
            "spf.include_loop",
            "spf.ip_not_permitted",
            "spf.too_many_lookups",
        ],
    ),
    (
        "near.spf.test",
        &["192.0.2.10"],
        &["spf.lookups_near_limit", "spf.ok"],
    ),
    ("over.spf.test", &["192.0.2.10"], &["spf.too_many_lookups"]),
    (
        "void.spf.test",
        &["192.0.2.10"],
        &["spf.ip_not_permitted", "spf.too_many_void_lookups"],
    ),
    (
        "manymx.spf.test",
        &["192.0.2.10"],
        &["spf.ip_not_permitted", "spf.mx_too_many"],
    ),
    (
        "big.spf.test",
        &["192.0.2.10"],
        &["spf.needs_tcp", "spf.ok"],
    ),
    ("soft.spf.test", &["192.0.2.10"], &["spf.ip_not_permitted"]),
    ("tempinc.spf.test", &["192.0.2.10"], &["spf.lookup_failed"]),
    ("rootfail.spf.test", &["192.0.2.10"], &["spf.lookup_failed"]),
];

fn spf_server() -> TestDns {
    let srv = crate::support::server("spf");
    srv.misbehave("broken.spf.test", Misbehave::ServFail);
    srv.misbehave("rootfail.spf.test", Misbehave::ServFail);
    srv
}

#[tokio::test]
async fn every_scenario_gives_exactly_its_codes() {
    let srv = spf_server();
    let mut wrong = Vec::new();
    for (domain, ips, want) in SCENARIOS {
        let report = run_engine(&srv, target(domain, ips), &["spf"]).await;
        let got = codes(&report);
        if got != *want {
            let detail: Vec<String> = report
                .findings()
                .map(|f| {
                    format!(
                        "    {} {}: {}\n      {}",
                        f.status,
                        f.code.id(),
                        f.message,
                        f.evidence.join("\n      ")
                    )
                })
                .collect();
            wrong.push(format!(
                "{domain} {ips:?}: got {got:?}, want {want:?}\n{}",
                detail.join("\n")
            ));
        }
        for f in report.findings() {
            assert!(!f.message.is_empty() && f.fix.len() > 10, "{domain}: {f:?}");
            if f.status != Status::Skip {
                assert!(
                    !f.evidence.is_empty(),
                    "{domain}: {} has no evidence",
                    f.code.id()
                );
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_spf_code_has_a_scenario() {
    let covered: std::collections::BTreeSet<&str> =
        SCENARIOS.iter().flat_map(|s| s.2.iter().copied()).collect();
    for c in Code::ALL.iter().filter(|c| c.check() == "spf") {
        assert!(covered.contains(c.id()), "{} has no scenario", c.id());
    }
}

fn finding<'a>(report: &'a Report, code: &str) -> &'a Finding {
    report
        .findings()
        .find(|f| f.code.id() == code)
        .unwrap_or_else(|| panic!("no {code} in {:?}", codes(report)))
}

#[tokio::test]
async fn over_the_limit_the_whole_tree_is_shown_and_the_breaking_term_named() {
    let srv = spf_server();
    let report = run_engine(&srv, target("over.spf.test", &["192.0.2.10"]), &["spf"]).await;
    let f = finding(&report, "spf.too_many_lookups");
    assert!(f.message.contains("12 DNS-querying terms"), "{}", f.message);
    assert!(
        f.message
            .contains("the 11th is `a:mail.spf.test` in _o2.spf.test."),
        "{}",
        f.message
    );
    let ev = f.evidence.join("\n");
    for line in [
        "; over.spf.test: 2 lookup(s) here, 12 with its includes",
        ";   include:_o1.spf.test → _o1.spf.test: 5 lookup(s) here, 5 with its includes",
        ";   include:_o2.spf.test → _o2.spf.test: 5 lookup(s) here, 5 with its includes",
        "_o2.spf.test. TXT \"v=spf1 a:mail.spf.test a:mail.spf.test a:mail.spf.test a:mail.spf.test a:mail.spf.test ~all\"",
    ] {
        assert!(ev.contains(line), "missing {line:?} in\n{ev}");
    }
}

#[tokio::test]
async fn a_syntax_error_points_at_the_term() {
    let srv = spf_server();
    let report = run_engine(&srv, target("syntax.spf.test", &["192.0.2.10"]), &["spf"]).await;
    let f = finding(&report, "spf.syntax_error");
    assert!(
        f.message.contains("position 23, `ip4:192.0.2.300`"),
        "{}",
        f.message
    );
    let at = f
        .evidence
        .iter()
        .position(|l| l == "; v=spf1 ip4:192.0.2.10 ip4:192.0.2.300 -all");
    let caret = at
        .and_then(|i| f.evidence.get(i + 1))
        .expect("a caret line under the record");
    assert!(
        caret.starts_with(&format!("; {}^ ", " ".repeat(22))),
        "{:?}",
        f.evidence
    );
    let ip = finding(&report, "spf.ip_not_permitted");
    assert!(ip.message.contains("permerror"), "{}", ip.message);
}

#[tokio::test]
async fn a_failing_ip_gets_the_trace_and_a_fix_naming_it() {
    let srv = spf_server();
    let report = run_engine(&srv, target("soft.spf.test", &["192.0.2.10"]), &["spf"]).await;
    let f = finding(&report, "spf.ip_not_permitted");
    assert!(
        f.message.contains("softfail for 192.0.2.10")
            && f.message.contains("decided by `~all` in soft.spf.test."),
        "{}",
        f.message
    );
    assert!(f.fix.contains("ip4:192.0.2.10"), "{}", f.fix);
    assert!(
        f.evidence
            .iter()
            .any(|l| l.contains("~all: any IP → match → softfail")),
        "{:?}",
        f.evidence
    );
}

#[tokio::test]
async fn the_mail_from_domain_is_the_one_checked() {
    let srv = spf_server();
    let mut t = target("none.spf.test", &["192.0.2.10"]);
    t.mail_from = Some("bounces@ok.spf.test".into());
    let report = run_engine(&srv, t, &["spf"]).await;
    assert_eq!(codes(&report), vec!["spf.ok"]);
}

// --- check_host() results and traces ----------------------------------------

#[tokio::test]
async fn results_explanations_and_traces() {
    let srv = spf_server();
    let dns = fast_client(&srv);
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();

    let ev = check_host(
        &dns,
        ip("198.51.100.7"),
        "viainc.spf.test",
        "user@viainc.spf.test",
        "mail.spf.test",
    )
    .await;
    assert_eq!(ev.result, SpfResult::Pass);
    assert_eq!(ev.deciding_term.as_deref(), Some("ip4:198.51.100.0/24"));
    assert_eq!(ev.deciding_domain.as_deref(), Some("_spf.prov.spf.test"));
    assert_eq!((ev.lookups, ev.void_lookups), (1, 0));
    let lines: Vec<(u32, &str)> = ev
        .trace
        .iter()
        .map(|l| (l.depth, l.text.as_str()))
        .collect();
    assert_eq!(lines[1].0, 0);
    assert!(
        lines[1]
            .1
            .starts_with("include:_spf.prov.spf.test [lookup 1/10]"),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|(d, t)| *d == 1 && t.starts_with("_spf.prov.spf.test. TXT")),
        "{lines:?}"
    );

    let ev = check_host(
        &dns,
        ip("203.0.113.5"),
        "viainc.spf.test",
        "user@viainc.spf.test",
        "mail.spf.test",
    )
    .await;
    assert_eq!(ev.result, SpfResult::Fail);
    assert_eq!(ev.deciding_term.as_deref(), Some("-all"));
    assert_eq!(
        ev.explanation.as_deref(),
        Some("203.0.113.5 is not one of viainc.spf.test's mail servers: see https://spf.test/why?s=user%40viainc.spf.test")
    );
    assert_eq!(ev.lookups, 2, "include and mx");

    // The null reverse-path is postmaster@HELO.
    let ev = check_host(
        &dns,
        ip("203.0.113.5"),
        "hard.spf.test",
        "",
        "hard.spf.test",
    )
    .await;
    assert_eq!(ev.result, SpfResult::Fail);
    assert_eq!(ev.sender, "postmaster@hard.spf.test");
    assert_eq!(
        ev.explanation.as_deref(),
        Some("203.0.113.5 may not send mail as postmaster@hard.spf.test")
    );

    let ev = check_host(
        &dns,
        ip("192.0.2.10"),
        "tempinc.spf.test",
        "a@tempinc.spf.test",
        "x.spf.test",
    )
    .await;
    assert_eq!(ev.result, SpfResult::TempError);
    assert!(
        ev.reason.as_deref().unwrap_or("").contains("SERVFAIL"),
        "{:?}",
        ev.reason
    );

    let ev = check_host(
        &dns,
        ip("192.0.2.10"),
        "nowhere.spf.test",
        "a@nowhere.spf.test",
        "x.spf.test",
    )
    .await;
    assert_eq!(ev.result, SpfResult::None);

    let ev = check_host(
        &dns,
        ip("192.0.2.10"),
        "void.spf.test",
        "a@void.spf.test",
        "x.spf.test",
    )
    .await;
    assert_eq!(ev.result, SpfResult::PermError);
    assert_eq!(
        (ev.void_lookups, ev.deciding_term.as_deref()),
        (3, Some("mx:gone3.spf.test"))
    );
}

#[tokio::test]
async fn the_helo_identity() {
    let srv = spf_server();
    let dns = fast_client(&srv);
    let ip: IpAddr = "192.0.2.10".parse().unwrap();
    let ok = mailpreflight_checks::spf::check_helo(&dns, ip, "helo-ok.spf.test").await;
    assert_eq!(
        (ok.result, ok.sender.as_str()),
        (SpfResult::Pass, "postmaster@helo-ok.spf.test")
    );
    let deny = mailpreflight_checks::spf::check_helo(&dns, ip, "helo-deny.spf.test").await;
    assert_eq!(deny.result, SpfResult::Fail);
}

// --- speed: the tree is fetched breadth-first, in parallel --------------------

fn served(text: &str) -> TestDns {
    let zone = Zone::parse(text, Path::new("t.zone"), None).unwrap_or_else(|e| panic!("{e}"));
    TestDns::start(vec![zone])
}

/// A chain of three includes, every level with a/mx terms (10 lookups in
/// all), and the sending IP matching only at the very end: nothing can be
/// skipped.
const CHAIN: &str = r#"$ORIGIN speed.test.
@     SOA ns.speed.test. hostmaster.speed.test. 1 3600 600 86400 300
@     TXT "v=spf1 a mx include:l1.speed.test -all"
@     A   198.51.100.1
@     MX  10 mx.speed.test.
mx    A   198.51.100.2
l1    TXT "v=spf1 a:h1.speed.test mx:l1.speed.test include:l2.speed.test ~all"
l1    MX  10 mx1.speed.test.
mx1   A   198.51.100.3
h1    A   198.51.100.4
l2    TXT "v=spf1 a:h2.speed.test include:l3.speed.test ~all"
h2    A   198.51.100.5
l3    TXT "v=spf1 a:h3.speed.test mx:l3.speed.test ~all"
h3    A   198.51.100.6
l3    MX  10 mx3.speed.test.
mx3   A   192.0.2.77
"#;

#[tokio::test]
async fn the_tree_costs_its_depth_in_round_trips_not_its_terms() {
    let srv = served(CHAIN);
    let rtt = Duration::from_millis(100);
    srv.set_latency(rtt);
    let ip: IpAddr = "192.0.2.77".parse().unwrap();
    let slow_client = || {
        Dns::new(&DnsConfig {
            resolvers: vec![srv.addr],
            timeout: Duration::from_secs(3),
            attempts: 1,
            ..DnsConfig::default()
        })
        .expect("client")
    };

    let dns = slow_client();
    let start = Instant::now();
    let fast = check_host(&dns, ip, "speed.test", "a@speed.test", "mail.speed.test").await;
    let fast_time = start.elapsed();
    assert_eq!(fast.result, SpfResult::Pass, "{:#?}", fast.trace);
    assert_eq!(fast.deciding_term.as_deref(), Some("mx:l3.speed.test"));
    // 14 distinct questions; each asked once.
    assert_eq!(srv.total(), 14);
    assert_eq!(srv.count("l3.speed.test", "TXT"), 1);
    // Depth 3 plus the root, plus two levels of MX → host addresses.
    assert_eq!(fast.prefetch_rounds, 6);

    srv.reset_counts();
    let dns = slow_client();
    let start = Instant::now();
    let no_prefetch = EvalOptions {
        prefetch: false,
        ..EvalOptions::default()
    };
    let slow = check_host_with(
        &dns,
        ip,
        "speed.test",
        "a@speed.test",
        "mail.speed.test",
        &no_prefetch,
    )
    .await;
    let slow_time = start.elapsed();
    assert_eq!(slow.result, SpfResult::Pass);
    assert_eq!(srv.total(), 14, "the same questions, one after another");
    eprintln!(
        "SPF chain of depth 3 at {rtt:?} per answer: {fast_time:?} with the breadth-first prefetch ({} rounds), {slow_time:?} term by term",
        fast.prefetch_rounds
    );
    assert!(slow_time >= rtt * 14, "{slow_time:?}");

    // The whole check: the tree (4 levels), the a/mx targets of every
    // record (1), their MX hosts (1), then check_host() for two IPs over
    // the warm cache (0): six rounds.
    let start = Instant::now();
    let report = run_engine(
        &srv,
        Target {
            domain: "speed.test".into(),
            ips: vec![ip, "198.51.100.4".parse().unwrap()],
            ..Target::default()
        },
        &["spf"],
    )
    .await;
    let check_time = start.elapsed();
    assert_eq!(codes(&report), vec!["spf.lookups_near_limit", "spf.ok"]);
    eprintln!("the spf check over the same tree, two IPs: {check_time:?}");
    // The round counts above are the proof; these bounds only say "far from
    // term by term (14 rounds)" with room for a busy 2-core CI machine.
    assert!(check_time < rtt * 12, "{check_time:?}");
    assert!(
        fast_time < rtt * 12,
        "{fast_time:?} for 6 rounds of {rtt:?} (term by term took {slow_time:?})"
    );
}

// --- hostile data -----------------------------------------------------------

fn hostile_zone() -> String {
    let mut z = String::from(
        "$ORIGIN hostile.test.\n@ SOA ns.hostile.test. hostmaster.hostile.test. 1 3600 600 86400 300\n\
         cl1 CNAME cl2.hostile.test.\ncl2 CNAME cl1.hostile.test.\n\
         cinc TXT \"v=spf1 include:cl1.hostile.test -all\"\n",
    );
    // 400-byte macros in a domain-spec and in an explanation.
    let mac = "%{s}".repeat(95);
    let txt = |text: &str| -> String {
        let strings: Vec<String> = text.as_bytes().chunks(255).map(quote_txt).collect();
        strings.join(" ")
    };
    z.push_str(&format!(
        "mac TXT {}\n",
        txt(&format!(
            "v=spf1 exists:{mac}.x.hostile.test -all exp=why.hostile.test"
        ))
    ));
    z.push_str(&format!(
        "why TXT {}\n",
        txt(&"%{s}%{l}%{o}%{d}".repeat(25))
    ));
    // Thousands of terms: DNS-querying ones, and ones that need no DNS.
    let many_a: Vec<String> = (0..2000).map(|i| format!("a:h{i}.hostile.test")).collect();
    let many_ok: Vec<String> = (0..2000).map(|_| "a:ok.hostile.test".to_string()).collect();
    z.push_str("ok A 198.51.100.1\n");
    let many_ip: Vec<String> = (0..3000)
        .map(|i| format!("ip4:198.51.{}.{}", i / 250, i % 250))
        .collect();
    for (name, terms) in [("manya", many_a), ("manyok", many_ok), ("manyip", many_ip)] {
        let text = format!("v=spf1 {} -all", terms.join(" "));
        let strings: Vec<String> = text.as_bytes().chunks(255).map(quote_txt).collect();
        z.push_str(&format!("{name} TXT {}\n", strings.join(" ")));
    }
    // A wide tree: 300 includes, each of a record with 300 more.
    let wide: Vec<String> = (0..300)
        .map(|i| format!("include:w{i}.hostile.test"))
        .collect();
    let text = format!("v=spf1 {} -all", wide.join(" "));
    let strings: Vec<String> = text.as_bytes().chunks(255).map(quote_txt).collect();
    z.push_str(&format!("wide TXT {}\n", strings.join(" ")));
    for i in 0..300 {
        z.push_str(&format!(
            "w{i} TXT \"v=spf1 include:w{}.hostile.test include:v{i}.hostile.test ~all\"\n",
            (i + 1) % 300
        ));
    }
    z
}

#[tokio::test]
async fn hostile_records_end_in_the_rfc_result_within_budget() {
    let srv = served(&hostile_zone());
    let ip: IpAddr = "192.0.2.10".parse().unwrap();
    let sender = format!("{}@hostile.test", "x".repeat(64));
    let mut seen = Vec::new();
    for (domain, want) in [
        ("cl1.hostile.test", SpfResult::None),
        ("cinc.hostile.test", SpfResult::PermError),
        ("mac.hostile.test", SpfResult::Fail),
        ("manya.hostile.test", SpfResult::PermError),
        ("manyok.hostile.test", SpfResult::PermError),
        ("manyip.hostile.test", SpfResult::Fail),
        ("wide.hostile.test", SpfResult::PermError),
    ] {
        srv.reset_counts();
        let dns = fast_client(&srv);
        let start = Instant::now();
        let ev = check_host(&dns, ip, domain, &sender, "mail.hostile.test").await;
        let took = start.elapsed();
        assert_eq!(ev.result, want, "{domain}: {:?}", ev.reason);
        assert!(took < Duration::from_secs(5), "{domain} took {took:?}");
        assert!(srv.total() <= 250, "{domain} sent {} queries", srv.total());
        assert!(ev.lookups <= 11 && ev.trace.len() <= 1001, "{domain}");
        if domain == "mac.hostile.test" {
            let exp = ev.explanation.as_deref().expect("an explanation");
            assert!(exp.len() > 400 && exp.len() <= 8192, "{}", exp.len());
        }
        if domain == "manyip.hostile.test" {
            assert!(ev
                .trace
                .last()
                .is_some_and(|l| l.text.contains("more trace lines not kept")));
        }
        if domain == "manya.hostile.test" {
            // Three names that do not exist: the void-lookup limit comes first.
            assert_eq!(ev.deciding_term.as_deref(), Some("a:h2.hostile.test"));
            assert_eq!(ev.void_lookups, 3);
        }
        if domain == "manyok.hostile.test" {
            assert_eq!(ev.lookups, 11);
            assert!(
                ev.reason.as_deref().unwrap_or("").contains("is number 11"),
                "{:?}",
                ev.reason
            );
        }
        seen.push(format!(
            "{domain}: {} in {took:?}, {} queries",
            ev.result,
            srv.total()
        ));
    }
    eprintln!("hostile check_host():\n  {}", seen.join("\n  "));

    // The check as a whole: a finding each, and the tree capped.
    for (domain, want) in [
        ("cl1.hostile.test", "spf.no_record"),
        ("cinc.hostile.test", "spf.include_no_spf"),
        ("manya.hostile.test", "spf.too_many_lookups"),
        ("wide.hostile.test", "spf.too_many_lookups"),
    ] {
        srv.reset_counts();
        let start = Instant::now();
        let report = run_engine(&srv, target(domain, &["192.0.2.10"]), &["spf"]).await;
        let got = codes(&report);
        assert!(got.contains(&want), "{domain}: {got:?}");
        assert!(start.elapsed() < Duration::from_secs(10), "{domain}");
        assert!(srv.total() <= 600, "{domain} sent {} queries", srv.total());
        if domain == "wide.hostile.test" {
            // The loop w0 → … → w299 → w0 lies past the 64 records fetched:
            // the report says where it stopped instead of walking on.
            let f = finding(&report, "spf.too_many_lookups");
            assert!(
                f.evidence
                    .iter()
                    .any(|l| l.contains("targets not fetched (over 64 records)")),
                "{:?}",
                f.evidence
            );
        }
        for f in report.findings() {
            assert!(
                f.evidence.len() <= 200,
                "{domain}: {} has {} evidence lines",
                f.code.id(),
                f.evidence.len()
            );
        }
    }
}

// --- the parser and the macro expander under arbitrary input -------------------

mod props {
    use mailpreflight_checks::spf::{
        expand, expand_domain, parse_macro_string, parse_record, MacroEnv,
    };
    use proptest::prelude::*;

    fn env() -> MacroEnv<'static> {
        MacroEnv {
            sender: "user@example.test",
            local: "user",
            sender_domain: "example.test",
            domain: "example.test",
            ip: "2001:db8::1".parse().unwrap(),
            helo: "mail.example.test",
            validated: None,
        }
    }

    /// Text made of SPF's own pieces, so the parser's deep paths are reached.
    fn spfish() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just(" ".to_string()),
            Just("%".to_string()),
            Just("{".to_string()),
            Just("}".to_string()),
            Just("/".to_string()),
            Just("//".to_string()),
            Just(":".to_string()),
            Just("=".to_string()),
            Just(".".to_string()),
            "[-+~?]?(all|include|a|mx|ptr|ip4|ip6|exists|redirect|exp)".prop_map(|s| s),
            "%\\{[slodiphcrtvSLODIPHCRTVx]?[0-9]{0,3}[rR]?[.\\-+,/_=]{0,2}\\}",
            "[0-9]{1,4}",
            "[a-z0-9:.]{1,12}",
            any::<char>().prop_map(|c| c.to_string()),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|v| format!("v=spf1 {}", v.concat()))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn the_parser_never_panics(s in any::<String>()) {
            let _ = parse_record(&s);
            let _ = parse_macro_string(&s, true);
            let _ = parse_macro_string(&s, false);
        }

        #[test]
        fn spf_shaped_input_parses_or_says_where(s in spfish()) {
            match parse_record(&s) {
                Ok(r) => for t in &r.terms {
                    prop_assert_eq!(&s[t.position..t.position + t.text.len()], t.text.as_str());
                },
                Err(e) => {
                    prop_assert!(e.position <= s.len());
                    prop_assert!(s[e.position..].starts_with(&e.term));
                }
            }
        }

        #[test]
        fn expansion_is_bounded(s in spfish()) {
            let body = s.trim_start_matches("v=spf1 ");
            if let Ok(ms) = parse_macro_string(body, true) {
                prop_assert!(expand(&ms, &env()).len() <= 8 * 1024);
                let d = expand_domain(&ms, &env());
                prop_assert!(d.len() <= 253 || !d.contains('.'));
            }
        }
    }
}

// --- `mailpreflight spf`, the built binary -----------------------------------

fn spf_cmd(srv: &TestDns, args: &[&str]) -> (i32, String, String) {
    let addr = srv.addr.to_string();
    let out = crate::cli::bin()
        .arg("spf")
        .args(args)
        .args(["--resolver", &addr, "--timeout", "0.5"])
        .output()
        .expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn spf_command_prints_the_verdict_and_the_indented_trace() {
    let srv = spf_server();
    let (code, out, err) = spf_cmd(
        &srv,
        &[
            "viainc.spf.test",
            "--ip",
            "203.0.113.5",
            "--sender",
            "user@viainc.spf.test",
        ],
    );
    assert_eq!(code, 1, "{out}{err}");
    for line in [
        "SPF check_host(203.0.113.5, viainc.spf.test, user@viainc.spf.test)",
        "result:       fail",
        "decided by:   -all  (in viainc.spf.test's record)",
        "explanation:  203.0.113.5 is not one of viainc.spf.test's mail servers",
        "lookups:      2 of 10, void lookups 0 of 2",
        "\n  include:_spf.prov.spf.test [lookup 1/10] → check_host(_spf.prov.spf.test)\n",
        "\n      ~all: any IP → match → softfail\n",
        "\n  -all: any IP → match → fail\n",
    ] {
        assert!(out.contains(line), "missing {line:?} in\n{out}");
    }
    let (code, out, _) = spf_cmd(&srv, &["ok.spf.test", "--ip", "192.0.2.10"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("result:       pass") && out.contains("postmaster@ok.spf.test"),
        "{out}"
    );
}

#[test]
fn spf_command_json_and_exit_codes() {
    let srv = spf_server();
    let json = |args: &[&str]| {
        let (code, out, err) = spf_cmd(&srv, &[args, &["--format", "json"]].concat());
        let v: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
        (code, v)
    };
    let (code, v) = json(&["--ip", "198.51.100.7", "--sender", "alice@viainc.spf.test"]);
    assert_eq!(code, 0);
    assert_eq!(v["result"], "pass");
    assert_eq!(v["domain"], "viainc.spf.test");
    assert_eq!(v["deciding_term"], "ip4:198.51.100.0/24");
    assert_eq!(v["deciding_domain"], "_spf.prov.spf.test");
    assert_eq!(
        (v["lookups"].as_u64(), v["void_lookups"].as_u64()),
        (Some(1), Some(0))
    );
    assert_eq!(v["trace"][2]["depth"], 1);

    // The null reverse-path: postmaster@HELO is what is checked.
    let (code, v) = json(&[
        "--ip",
        "192.0.2.10",
        "--sender",
        "",
        "--helo",
        "helo-deny.spf.test",
    ]);
    assert_eq!((code, v["result"].as_str()), (1, Some("fail")));
    assert_eq!(v["sender"], "postmaster@helo-deny.spf.test");
    assert_eq!(v["domain"], "helo-deny.spf.test");

    for (domain, ip, result, exit) in [
        ("soft.spf.test", "192.0.2.10", "softfail", 1),
        ("neutralall.spf.test", "203.0.113.9", "neutral", 1),
        ("none.spf.test", "192.0.2.10", "none", 1),
        ("syntax.spf.test", "192.0.2.10", "permerror", 1),
        ("tempinc.spf.test", "192.0.2.10", "temperror", 3),
        ("rootfail.spf.test", "192.0.2.10", "temperror", 3),
    ] {
        let (code, v) = json(&[domain, "--ip", ip]);
        assert_eq!(
            (v["result"].as_str(), code),
            (Some(result), exit),
            "{domain}: {v}"
        );
        assert!(
            v["trace"].as_array().is_some_and(|t| !t.is_empty()),
            "{domain}"
        );
    }
}

#[test]
fn spf_command_offline_from_zone_files_and_escaped_output() {
    let dir = crate::support::zones_dir("spf").display().to_string();
    let out = crate::cli::bin()
        .args([
            "spf",
            "ctrl.spf.test",
            "--ip",
            "192.0.2.10",
            "--zone",
            &dir,
            "--offline",
        ])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("result:       permerror"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "raw ESC reached the terminal:\n{text}"
    );
    assert!(text.contains("a:evil\\027[2J.spf.test"), "{text}");
    let out = crate::cli::bin()
        .args([
            "spf",
            "over.spf.test",
            "--ip",
            "192.0.2.10",
            "--zone",
            &dir,
            "--offline",
            "--format",
            "jsonl",
        ])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("\"result\":\"pass\""), "{text}");
}

#[test]
fn spf_command_rejects_bad_input_with_one_line() {
    for (args, needle) in [
        (
            &["ok.spf.test", "--ip", "192.0.2.300"][..],
            "--ip \"192.0.2.300\" is not an IPv4 or IPv6 address",
        ),
        (&["bad..domain", "--ip", "192.0.2.10"][..], "domain"),
        (
            &["--ip", "192.0.2.10", "--sender", "no-at-sign"][..],
            "--sender \"no-at-sign\" is not an address",
        ),
        (&["--ip", "192.0.2.10"][..], "give the domain to evaluate"),
        (
            &["ok.spf.test", "--ip", "192.0.2.10", "--timeout=0"][..],
            "--timeout",
        ),
    ] {
        let out = crate::cli::bin()
            .arg("spf")
            .args(args)
            .output()
            .expect("run");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.starts_with("mailpreflight: ") && err.contains(needle),
            "{args:?}: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
    // A missing --ip is a usage error too.
    let out = crate::cli::bin()
        .args(["spf", "ok.spf.test"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}
