//! `mailpreflight path` against several loopback resolvers: one that never
//! answers, one that refuses, one that rewrites NXDOMAIN, one with stale data.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::cli::bin;
use crate::support::{server, Misbehave, TestDns};

fn run(servers: &[&TestDns], extra: &[&str]) -> (BTreeSet<String>, i32, Value) {
    let mut cmd = bin();
    cmd.args([
        "path",
        "ok.example.com",
        "--format",
        "json",
        "--timeout",
        "0.3",
    ]);
    for s in servers {
        cmd.args(["--resolver", &s.addr.to_string()]);
    }
    let out = cmd.args(extra).output().unwrap();
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let codes = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["findings"].as_array().unwrap().iter())
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect();
    (codes, out.status.code().unwrap(), v)
}

fn set(codes: &[&str]) -> BTreeSet<String> {
    codes.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_dead_first_resolver_is_named_with_its_source() {
    let dead = server("scen");
    dead.misbehave_under("", Misbehave::Drop);
    let good = server("scen");
    let (codes, exit, v) = run(&[&dead, &good], &[]);
    assert_eq!(
        codes,
        set(&["path.resolver_timeout", "path.resolver_ok", "mx.ok"])
    );
    assert_eq!(exit, 1);
    let f = &v["checks"][0]["findings"][0];
    assert_eq!(f["code"], "path.resolver_timeout");
    assert!(
        f["message"].as_str().unwrap().contains("--resolver #1"),
        "{f}"
    );
    assert!(
        f["fix"]
            .as_str()
            .unwrap()
            .contains(&format!("nameserver {}", dead.addr.ip())),
        "{f}"
    );
}

#[test]
fn refusing_and_lying_resolvers() {
    let refuser = server("scen");
    refuser.misbehave_under("", Misbehave::Refused);
    let liar = server("path-liar");
    let good = server("scen");
    let (codes, exit, _) = run(&[&refuser, &liar, &good], &[]);
    assert_eq!(
        codes,
        set(&[
            "path.resolver_refused",
            "path.resolver_rewrites_nxdomain",
            "path.resolver_ok",
            "mx.ok"
        ])
    );
    assert_eq!(exit, 1);
}

#[test]
fn resolvers_that_disagree() {
    let good = server("scen");
    let stale = server("path-stale");
    let (codes, exit, _) = run(&[&good, &stale], &[]);
    assert_eq!(
        codes,
        set(&["path.resolver_ok", "path.resolvers_disagree", "mx.ok"])
    );
    assert_eq!(exit, 0);
}

#[test]
fn no_working_resolver_at_all() {
    let dead = server("scen");
    dead.misbehave_under("", Misbehave::ServFail);
    let (codes, exit, v) = run(&[&dead], &[]);
    assert_eq!(
        codes,
        set(&["path.resolver_servfail", "path.no_working_resolver"])
    );
    assert_eq!(exit, 1);
    assert_eq!(
        v["checks"].as_array().unwrap().len(),
        1,
        "no MX section without a resolver"
    );
}

#[test]
fn recipients_as_addresses_and_bad_input() {
    let good = server("scen");
    let out = bin()
        .args([
            "path",
            "someone@ok.example.com",
            "--resolver",
            &good.addr.to_string(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["domain"], "ok.example.com");
    for bad in ["192.0.2.1", "[192.0.2.1]", "not a domain", ""] {
        let out = bin().args(["path", bad]).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
        assert!(
            String::from_utf8_lossy(&out.stderr).starts_with("mailpreflight: "),
            "{bad:?}"
        );
    }
}
