//! SPF: the OpenSPF RFC 7208 test suite against the loopback DNS server, the
//! `spf` check's findings, the prefetch's round trips, hostile data, and the
//! parser under arbitrary input.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use mailpreflight_checks::dns::{quote_txt, Dns, DnsConfig, Zone};
use mailpreflight_checks::spf::{check_host, check_host_with, EvalOptions, SpfResult};
use serde_yaml::Value;

use crate::support::{Misbehave, TestDns};

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
        match c.explanation.as_deref() {
            None => {}
            // The implementation's own default: we add none, so none is right.
            Some("DEFAULT") => {
                if let Some(e) = &ev.explanation {
                    wrong.push(format!("explanation {e:?} (want the default)"));
                }
            }
            // DNS names are case-insensitive and RFC 7208 §7.4 writes %{ir}
            // of IPv6 in lower case; the suite writes it in upper case.
            Some(want) => {
                if !ev
                    .explanation
                    .as_deref()
                    .is_some_and(|e| e.eq_ignore_ascii_case(want))
                {
                    wrong.push(format!("explanation {:?} (want {want:?})", ev.explanation));
                }
            }
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
