//! The dkim check against the loopback DNS server: one zone per scenario
//! under `tests/zones/dkim/` (keys made with openssl), each run through the
//! engine and held to its exact set of finding codes.

use mailpreflight_checks::{Report, Status, Target};

use crate::support::{codes, run_engine, server, Misbehave, TestDns};

fn target(domain: &str, selectors: &[&str]) -> Target {
    Target {
        domain: domain.to_string(),
        selectors: selectors.iter().map(|s| s.to_string()).collect(),
        ..Target::default()
    }
}

async fn dkim(srv: &TestDns, domain: &str, selectors: &[&str]) -> Report {
    run_engine(srv, target(domain, selectors), &["dkim"]).await
}

fn finding<'a>(r: &'a Report, code: &str) -> &'a mailpreflight_checks::Finding {
    r.findings()
        .find(|f| f.code.id() == code)
        .unwrap_or_else(|| panic!("no {code} in {:#?}", r.findings().collect::<Vec<_>>()))
}

/// Every key-record scenario: domain, then the exact codes for `--selector s1`.
const RECORD_SCENARIOS: &[(&str, &[&str])] = &[
    ("ok", &["dkim.ok"]),
    ("pkcs1", &["dkim.ok"]),
    ("ed25519", &["dkim.ok"]),
    ("delegated", &["dkim.ok"]),
    ("dangling", &["dkim.selector_missing"]),
    ("missing", &["dkim.selector_missing"]),
    ("loop", &["dkim.cname_loop"]),
    ("multiple", &["dkim.multiple_records"]),
    ("syntax", &["dkim.syntax_error"]),
    ("duptag", &["dkim.syntax_error"]),
    ("vlate", &["dkim.version_not_first"]),
    ("badv", &["dkim.bad_version"]),
    ("badk", &["dkim.unknown_key_type"]),
    ("nop", &["dkim.missing_key"]),
    ("revoked", &["dkim.revoked"]),
    ("badb64", &["dkim.bad_base64"]),
    ("notkey", &["dkim.bad_key"]),
    ("oversized", &["dkim.bad_key"]),
    ("mismatch", &["dkim.key_type_mismatch"]),
    ("edwrapped", &["dkim.ed25519_wrapped"]),
    ("weak", &["dkim.weak_key"]),
    ("short", &["dkim.short_key"]),
    ("testing", &["dkim.testing"]),
    ("sha1", &["dkim.sha1_only"]),
    ("md5", &["dkim.unknown_hash"]),
    ("tlsonly", &["dkim.not_for_email"]),
];

#[tokio::test]
async fn each_key_record_scenario_has_exactly_its_codes() {
    let srv = server("dkim");
    let mut wrong = Vec::new();
    for (name, want) in RECORD_SCENARIOS {
        let domain = format!("{name}.dkim.test");
        let r = dkim(&srv, &domain, &["s1"]).await;
        let got = codes(&r);
        if got != *want {
            wrong.push(format!("{domain}: got {got:?}, want {want:?}"));
        }
        for f in r.findings() {
            assert!(
                !f.evidence.is_empty(),
                "{domain}: {} has no evidence",
                f.code.id()
            );
            assert!(
                f.message.contains(&format!("s1._domainkey.{domain}")),
                "{domain}: message names the record: {}",
                f.message
            );
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn key_type_and_size_are_reported() {
    let srv = server("dkim");
    let ok = dkim(&srv, "ok.dkim.test", &["s1"]).await;
    assert!(finding(&ok, "dkim.ok").message.contains("2048-bit RSA key"));
    let p = dkim(&srv, "pkcs1.dkim.test", &["s1"]).await;
    assert!(finding(&p, "dkim.ok").message.contains("2048-bit RSA key"));
    let e = dkim(&srv, "ed25519.dkim.test", &["s1"]).await;
    assert!(finding(&e, "dkim.ok").message.contains("Ed25519"));
    let s = dkim(&srv, "short.dkim.test", &["s1"]).await;
    assert!(finding(&s, "dkim.short_key").message.contains("1024-bit"));
    assert!(finding(&s, "dkim.short_key")
        .fix
        .contains("s2._domainkey.short.dkim.test"));
    let w = dkim(&srv, "weak.dkim.test", &["s1"]).await;
    assert!(finding(&w, "dkim.weak_key").message.contains("512-bit"));
    assert_eq!(w.status, Status::Fail);
}

#[tokio::test]
async fn cname_chains_are_followed_and_shown() {
    let srv = server("dkim");
    let r = dkim(&srv, "delegated.dkim.test", &["s1"]).await;
    let ok = finding(&r, "dkim.ok");
    assert!(
        ok.message
            .contains("via CNAME to s1.example-com.dkim.esp.test."),
        "{}",
        ok.message
    );
    assert_eq!(
        ok.evidence[0],
        "s1._domainkey.delegated.dkim.test. CNAME s1.example-com.dkim.esp.test."
    );
    assert!(ok.evidence[1].starts_with("s1.example-com.dkim.esp.test. TXT \"v=DKIM1"));

    // A delegation whose target is gone: the CNAME is still in the evidence.
    let r = dkim(&srv, "dangling.dkim.test", &["s1"]).await;
    let m = finding(&r, "dkim.selector_missing");
    assert!(
        m.message.contains("CNAME to gone.dkim.esp.test."),
        "{}",
        m.message
    );
    assert!(
        m.evidence
            .iter()
            .any(|l| l == "s1._domainkey.dangling.dkim.test. CNAME gone.dkim.esp.test."),
        "{:?}",
        m.evidence
    );
    assert!(m.fix.contains("gone.dkim.esp.test."));

    let r = dkim(&srv, "loop.dkim.test", &["s1"]).await;
    let l = finding(&r, "dkim.cname_loop");
    assert_eq!(
        l.evidence.iter().filter(|e| e.contains(" CNAME ")).count(),
        2,
        "{:?}",
        l.evidence
    );
}

#[tokio::test]
async fn servfail_and_timeout_are_errors_never_missing() {
    let srv = server("dkim");
    srv.misbehave("s1._domainkey.flaky.dkim.test", Misbehave::ServFail);
    let r = dkim(&srv, "flaky.dkim.test", &["s1"]).await;
    assert_eq!(codes(&r), ["dkim.lookup_failed"]);
    assert_eq!(r.status, Status::Error);
    assert!(finding(&r, "dkim.lookup_failed")
        .message
        .contains("SERVFAIL"));

    srv.misbehave("s1._domainkey.flaky.dkim.test", Misbehave::Drop);
    let r = dkim(&srv, "flaky.dkim.test", &["s1"]).await;
    assert_eq!(codes(&r), ["dkim.lookup_failed"]);
    assert!(finding(&r, "dkim.lookup_failed")
        .message
        .contains("timed out"));
}

#[tokio::test]
async fn discovery_reports_what_it_finds() {
    let srv = server("dkim");
    let r = dkim(&srv, "found.dkim.test", &[]).await;
    // selector1 is a good 2048-bit key through a CNAME; s2024 is 1024-bit.
    assert_eq!(codes(&r), ["dkim.discovered", "dkim.ok", "dkim.short_key"]);
    let d = finding(&r, "dkim.discovered");
    assert!(d.message.contains("selector1, s2024"), "{}", d.message);
    assert_eq!(d.status, Status::Info);
    // All common names go out at once, each exactly once.
    assert_eq!(srv.count("selector1._domainkey.found.dkim.test", "TXT"), 1);
    assert_eq!(srv.count("google._domainkey.found.dkim.test", "TXT"), 1);
    assert_eq!(srv.count("s2025._domainkey.found.dkim.test", "TXT"), 1);
}

#[tokio::test]
async fn discovery_finding_nothing_warns() {
    let srv = server("dkim");
    let r = dkim(&srv, "missing.dkim.test", &[]).await;
    assert_eq!(codes(&r), ["dkim.none_found"]);
    assert_eq!(r.status, Status::Warn);
    let n = finding(&r, "dkim.none_found");
    assert!(n.message.contains("absence cannot be proven"));
    assert!(n
        .evidence
        .iter()
        .any(|e| e.contains("tried") && e.contains("selector1")));

    // A selector under a name no list guesses: the _domainkey node exists.
    let r = dkim(&srv, "elsewhere.dkim.test", &[]).await;
    assert_eq!(codes(&r), ["dkim.none_found"]);
    assert!(
        finding(&r, "dkim.none_found").message.contains("exists"),
        "{}",
        finding(&r, "dkim.none_found").message
    );
    // ... and given by name it is found.
    let r = dkim(&srv, "elsewhere.dkim.test", &["zq7x"]).await;
    assert_eq!(codes(&r), ["dkim.ok"]);

    // A wildcard TXT answers every selector name, but holds no key.
    let r = dkim(&srv, "wildcard.dkim.test", &[]).await;
    assert_eq!(codes(&r), ["dkim.none_found"]);
    let r = dkim(&srv, "wildcard.dkim.test", &["s1"]).await;
    assert_eq!(codes(&r), ["dkim.selector_missing"]);
    assert!(finding(&r, "dkim.selector_missing")
        .message
        .contains("none of them a DKIM key"));
}

#[tokio::test]
async fn discovery_that_cannot_ask_is_an_error_not_absence() {
    let srv = server("dkim");
    srv.misbehave_under("_domainkey.found.dkim.test", Misbehave::ServFail);
    let r = dkim(&srv, "found.dkim.test", &[]).await;
    assert_eq!(codes(&r), ["dkim.lookup_failed"]);
    assert_eq!(r.status, Status::Error);
}

/// Codes the tests above assert outside the scenario table.
const ASSERTED_ELSEWHERE: &[&str] = &["dkim.lookup_failed", "dkim.discovered", "dkim.none_found"];

#[test]
fn every_dkim_code_has_a_scenario() {
    let covered: Vec<&str> = RECORD_SCENARIOS
        .iter()
        .flat_map(|(_, c)| c.iter().copied())
        .chain(ASSERTED_ELSEWHERE.iter().copied())
        .collect();
    for c in mailpreflight_checks::Code::ALL
        .iter()
        .filter(|c| c.check() == "dkim")
    {
        assert!(covered.contains(&c.id()), "{} has no scenario test", c.id());
    }
}
