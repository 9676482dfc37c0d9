//! The dmarc check against the loopback DNS server: policy discovery by the
//! RFC 9989 tree walk, every tag, report authorization, records in the wrong
//! place, lookups that fail, and the alignment forecast with the real SPF
//! evaluator and the dkim check's key lookups. One zone per scenario under
//! `tests/zones/dmarc/`, each held to its exact set of codes.

use std::net::IpAddr;

use mailpreflight_checks::{Finding, Report, Status, Target};

use crate::support::{codes, run_engine, server, Misbehave, TestDns};

fn target(domain: &str, ips: &[&str], selectors: &[&str], mail_from: Option<&str>) -> Target {
    Target {
        domain: domain.to_string(),
        ips: ips.iter().map(|i| i.parse::<IpAddr>().unwrap()).collect(),
        selectors: selectors.iter().map(|s| s.to_string()).collect(),
        mail_from: mail_from.map(str::to_string),
        ..Target::default()
    }
}

async fn dmarc(srv: &TestDns, domain: &str) -> Report {
    run_engine(srv, target(domain, &[], &[], None), &["dmarc"]).await
}

fn finding<'a>(r: &'a Report, code: &str) -> &'a Finding {
    r.findings()
        .find(|f| f.code.id() == code)
        .unwrap_or_else(|| panic!("no {code} in {:#?}", r.findings().collect::<Vec<_>>()))
}

/// Policy scenarios (no IP, so each also has dmarc.no_ip): domain, codes.
const POLICY_SCENARIOS: &[(&str, &[&str])] = &[
    ("dmarc-ok.test", &["dmarc.no_ip", "dmarc.ok"]),
    ("dmarc-missing.test", &["dmarc.missing", "dmarc.no_ip"]),
    (
        "dmarc-multiple.test",
        &["dmarc.missing", "dmarc.multiple_records", "dmarc.no_ip"],
    ),
    (
        "dmarc-vlate.test",
        &["dmarc.missing", "dmarc.no_ip", "dmarc.version_not_first"],
    ),
    (
        "dmarc-badv.test",
        &["dmarc.bad_version", "dmarc.missing", "dmarc.no_ip"],
    ),
    ("dmarc-syntax.test", &["dmarc.no_ip", "dmarc.syntax_error"]),
    ("dmarc-dup.test", &["dmarc.duplicate_tag", "dmarc.no_ip"]),
    (
        "dmarc-invalid.test",
        &["dmarc.invalid_value", "dmarc.no_ip"],
    ),
    ("dmarc-nop.test", &["dmarc.no_ip", "dmarc.no_policy"]),
    ("dmarc-unknown.test", &["dmarc.no_ip", "dmarc.unknown_tag"]),
    (
        "dmarc-removed.test",
        &["dmarc.no_ip", "dmarc.ok", "dmarc.removed_tag"],
    ),
    ("dmarc-none.test", &["dmarc.no_ip", "dmarc.policy_none"]),
    (
        "dmarc-pct.test",
        &["dmarc.no_ip", "dmarc.pct_partial", "dmarc.removed_tag"],
    ),
    ("dmarc-testmode.test", &["dmarc.no_ip", "dmarc.test_mode"]),
    ("dmarc-norua.test", &["dmarc.no_ip", "dmarc.no_rua"]),
    (
        "dmarc-external.test",
        &["dmarc.no_ip", "dmarc.report_not_authorized"],
    ),
    ("dmarc-authorized.test", &["dmarc.no_ip", "dmarc.ok"]),
    (
        "dmarc-apex.test",
        &["dmarc.missing", "dmarc.no_ip", "dmarc.wrong_place"],
    ),
    (
        "dmarc-nounder.test",
        &["dmarc.missing", "dmarc.no_ip", "dmarc.wrong_place"],
    ),
    (
        "dmarc-doubled.test",
        &["dmarc.missing", "dmarc.no_ip", "dmarc.wrong_place"],
    ),
    ("sub.dmarc-parent.test", &["dmarc.no_ip", "dmarc.ok"]),
    (
        "sub.dmarc-spnone.test",
        &["dmarc.no_ip", "dmarc.policy_none"],
    ),
    (
        "sub.dmarc-orgdiff.test",
        &["dmarc.no_ip", "dmarc.ok", "dmarc.org_domain_differs"],
    ),
    (
        "a.b.dmarc-psd.test",
        &["dmarc.no_ip", "dmarc.ok", "dmarc.org_domain_differs"],
    ),
    (
        "a.b.c.d.e.f.g.dmarc-long.test",
        &["dmarc.no_ip", "dmarc.ok"],
    ),
    (
        "dmarc-oversized.test",
        &["dmarc.no_ip", "dmarc.unknown_tag"],
    ),
];

#[tokio::test]
async fn each_policy_scenario_has_exactly_its_codes() {
    let srv = server("dmarc");
    let mut wrong = Vec::new();
    for (domain, want) in POLICY_SCENARIOS {
        let r = dmarc(&srv, domain).await;
        let got = codes(&r);
        if got != *want {
            wrong.push(format!("{domain}: got {got:?}, want {want:?}"));
        }
        for f in r.findings().filter(|f| f.status != Status::Skip) {
            assert!(
                !f.evidence.is_empty(),
                "{domain}: {} has no evidence",
                f.code.id()
            );
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn the_evidence_says_where_the_policy_was_found_and_why() {
    let srv = server("dmarc");
    let r = dmarc(&srv, "sub.dmarc-parent.test").await;
    let ok = finding(&r, "dmarc.ok");
    assert!(ok.message.contains("sp=quarantine"), "{}", ok.message);
    assert!(
        ok.message.contains("inherited by sub.dmarc-parent.test"),
        "{}",
        ok.message
    );
    let ev = ok.evidence.join("\n");
    assert!(
        ev.contains("; _dmarc.sub.dmarc-parent.test. TXT: no such name (NXDOMAIN)"),
        "{ev}"
    );
    assert!(
        ev.contains("_dmarc.dmarc-parent.test. TXT \"v=DMARC1; p=reject"),
        "{ev}"
    );
    assert!(
        ev.contains("; policy: _dmarc.dmarc-parent.test. (the organizational domain's record"),
        "{ev}"
    );
    assert!(
        ev.contains(
            "; organizational domain: dmarc-parent.test (the DMARC record with the fewest labels"
        ),
        "{ev}"
    );
    assert!(
        ev.contains("; _dmarc.test. TXT: no such name (NXDOMAIN)"),
        "{ev}"
    );

    // A public suffix that cannot be asked only hides a PSD policy: noted,
    // not an error.
    srv.misbehave("_dmarc.test", Misbehave::ServFail);
    let r = dmarc(&srv, "sub.dmarc-parent.test").await;
    assert_eq!(codes(&r), ["dmarc.no_ip", "dmarc.ok"]);
    let ev = finding(&r, "dmarc.ok").evidence.join("\n");
    assert!(
        ev.contains("; _dmarc.test. could not be asked (SERVFAIL); it is a public suffix"),
        "{ev}"
    );

    let r = dmarc(&srv, "sub.dmarc-spnone.test").await;
    assert!(finding(&r, "dmarc.policy_none").message.contains("sp=none"));

    let r = dmarc(&srv, "a.b.dmarc-psd.test").await;
    let ev = finding(&r, "dmarc.ok").evidence.join("\n");
    assert!(
        ev.contains(
            "organizational domain: b.dmarc-psd.test (the domain one label below a psd=y record)"
        ),
        "{ev}"
    );
    assert!(ev.contains("public suffix domain's record (psd=y)"), "{ev}");

    let r = dmarc(&srv, "sub.dmarc-orgdiff.test").await;
    let d = finding(&r, "dmarc.org_domain_differs");
    assert!(d.message.contains("sub.dmarc-orgdiff.test by the RFC 9989 tree walk but dmarc-orgdiff.test by the Public Suffix List"), "{}", d.message);
}

#[tokio::test]
async fn a_long_name_is_walked_in_at_most_eight_queries() {
    let srv = server("dmarc");
    let r = dmarc(&srv, "a.b.c.d.e.f.g.dmarc-long.test").await;
    assert_eq!(codes(&r), ["dmarc.no_ip", "dmarc.ok"]);
    let walked: Vec<String> = srv
        .names_queried()
        .into_iter()
        .filter(|n| n.starts_with("_dmarc.") && n.matches("dmarc-long").count() < 2)
        .collect();
    // (The second filter leaves out the probe for a zone-file typo,
    // `_dmarc.D.D`, which is not part of the walk.)
    assert!(walked.len() <= 8, "{walked:?}");
    assert!(!walked.contains(&"_dmarc.b.c.d.e.f.g.dmarc-long.test".to_string()));
    assert!(walked.contains(&"_dmarc.c.d.e.f.g.dmarc-long.test".to_string()));
}

#[tokio::test]
async fn messages_name_the_problem() {
    let srv = server("dmarc");
    let r = dmarc(&srv, "dmarc-unknown.test").await;
    assert!(finding(&r, "dmarc.unknown_tag")
        .message
        .contains("did you mean ruf=?"));
    let r = dmarc(&srv, "dmarc-external.test").await;
    let n: Vec<&Finding> = r
        .findings()
        .filter(|f| f.code.id() == "dmarc.report_not_authorized")
        .collect();
    assert_eq!(n.len(), 2, "rua and ruf each");
    assert!(n[0]
        .fix
        .contains("dmarc-external.test._report._dmarc.dmarc-reports.test"));
    let r = dmarc(&srv, "dmarc-doubled.test").await;
    let w = finding(&r, "dmarc.wrong_place");
    assert!(
        w.message
            .contains("_dmarc.dmarc-doubled.test.dmarc-doubled.test."),
        "{}",
        w.message
    );
    assert!(w.message.contains("trailing dot"));
    let r = dmarc(&srv, "dmarc-invalid.test").await;
    let inv: Vec<&str> = r
        .findings()
        .filter(|f| f.code.id() == "dmarc.invalid_value")
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(inv.len(), 2, "{inv:?}");
    assert!(inv.iter().any(|m| m.contains("p=\"block\"")));
    assert!(inv.iter().any(|m| m.contains("adkim=\"strict\"")));
    let r = dmarc(&srv, "dmarc-oversized.test").await;
    let junk: Vec<&Finding> = r
        .findings()
        .filter(|f| f.code.id() == "dmarc.unknown_tag")
        .collect();
    assert_eq!(junk.len(), 11, "ten named, one counting the other 110");
    assert!(junk.iter().any(|f| f.message.contains("110 more problems")));
}

#[tokio::test]
async fn failed_lookups_are_errors_never_no_dmarc() {
    let srv = server("dmarc");
    srv.misbehave("_dmarc.dmarc-timeout.test", Misbehave::Drop);
    let r = dmarc(&srv, "dmarc-timeout.test").await;
    assert_eq!(codes(&r), ["dmarc.lookup_failed", "dmarc.no_ip"]);
    assert_eq!(r.status, Status::Error);
    assert!(finding(&r, "dmarc.lookup_failed")
        .message
        .contains("timed out"));

    srv.misbehave("_dmarc.dmarc-timeout.test", Misbehave::ServFail);
    let r = dmarc(&srv, "dmarc-timeout.test").await;
    assert_eq!(codes(&r), ["dmarc.lookup_failed", "dmarc.no_ip"]);

    // A subdomain with no record of its own whose parent cannot be asked.
    srv.misbehave("_dmarc.dmarc-parentfail.test", Misbehave::ServFail);
    let r = dmarc(&srv, "sub.dmarc-parentfail.test").await;
    assert_eq!(codes(&r), ["dmarc.lookup_failed", "dmarc.no_ip"]);
    assert!(finding(&r, "dmarc.lookup_failed")
        .message
        .contains("inherit"));

    srv.misbehave(
        "dmarc-authfail.test._report._dmarc.dmarc-reports.test",
        Misbehave::ServFail,
    );
    let r = dmarc(&srv, "dmarc-authfail.test").await;
    assert_eq!(codes(&r), ["dmarc.lookup_failed", "dmarc.no_ip"]);
}

/// Forecast scenarios: domain, IPs, selectors, MAIL FROM, codes.
type Forecast = (
    &'static str,
    &'static [&'static str],
    &'static [&'static str],
    Option<&'static str>,
    &'static [&'static str],
);
const FORECASTS: &[Forecast] = &[
    (
        "dmarc-both.test",
        &["192.0.2.10"],
        &["s1"],
        None,
        &["dmarc.aligned", "dmarc.ok"],
    ),
    (
        "dmarc-dkimsaves.test",
        &["198.51.100.7"],
        &["s1"],
        None,
        &["dmarc.aligned_dkim_only", "dmarc.ok"],
    ),
    // Discovery finds s1 too.
    (
        "dmarc-dkimsaves.test",
        &["198.51.100.7"],
        &[],
        None,
        &["dmarc.aligned_dkim_only", "dmarc.ok"],
    ),
    (
        "dmarc-neither.test",
        &["198.51.100.8"],
        &[],
        None,
        &["dmarc.forecast_fail", "dmarc.ok"],
    ),
    (
        "dmarc-spfonly.test",
        &["192.0.2.10"],
        &[],
        None,
        &["dmarc.aligned_spf_only", "dmarc.ok"],
    ),
    (
        "dmarc-espbounce.test",
        &["192.0.2.10"],
        &[],
        Some("bounce@esp-bounce.test"),
        &["dmarc.forecast_fail", "dmarc.ok"],
    ),
    (
        "dmarc-relaxed.test",
        &["192.0.2.10"],
        &[],
        Some("bounces@bounce.dmarc-relaxed.test"),
        &["dmarc.aligned_spf_only", "dmarc.ok"],
    ),
    (
        "dmarc-strict.test",
        &["192.0.2.10"],
        &[],
        Some("bounces@bounce.dmarc-strict.test"),
        &["dmarc.forecast_fail", "dmarc.ok"],
    ),
    (
        "sub.dmarc-orgkey.test",
        &["192.0.2.10"],
        &["s1"],
        None,
        &["dmarc.aligned_dkim_only", "dmarc.ok"],
    ),
    (
        "sub.dmarc-orgkeystrict.test",
        &["192.0.2.10"],
        &["s1"],
        None,
        &["dmarc.forecast_fail", "dmarc.ok"],
    ),
    // One IP covered, one not: one finding each.
    (
        "dmarc-neither.test",
        &["192.0.2.10", "2001:db8::25"],
        &[],
        None,
        &["dmarc.aligned_spf_only", "dmarc.forecast_fail", "dmarc.ok"],
    ),
];

#[tokio::test]
async fn each_forecast_scenario_has_exactly_its_codes() {
    let srv = server("dmarc");
    let mut wrong = Vec::new();
    for (domain, ips, sels, mf, want) in FORECASTS {
        let r = run_engine(&srv, target(domain, ips, sels, *mf), &["dmarc"]).await;
        let got = codes(&r);
        if got != *want {
            wrong.push(format!(
                "{domain} {ips:?} {sels:?} {mf:?}: got {got:?}, want {want:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[tokio::test]
async fn a_failing_forecast_names_each_missing_leg_and_its_fix() {
    let srv = server("dmarc");
    let r = run_engine(
        &srv,
        target("dmarc-neither.test", &["198.51.100.8"], &[], None),
        &["dmarc"],
    )
    .await;
    let f = finding(&r, "dmarc.forecast_fail");
    assert_eq!(f.status, Status::Fail);
    assert!(
        f.message.contains(
            "mail from 198.51.100.8 with From: someone@dmarc-neither.test would fail DMARC"
        ),
        "{}",
        f.message
    );
    assert!(
        f.message
            .contains("SPF for MAIL FROM postmaster@dmarc-neither.test is softfail"),
        "{}",
        f.message
    );
    assert!(
        f.message.contains("no DKIM key under dmarc-neither.test"),
        "{}",
        f.message
    );
    assert!(
        f.fix
            .contains("Add ip4:198.51.100.8 to the SPF record of dmarc-neither.test"),
        "{}",
        f.fix
    );
    assert!(
        f.fix.contains("SEL._domainkey.dmarc-neither.test"),
        "{}",
        f.fix
    );
    assert!(
        f.evidence
            .iter()
            .any(|e| e.contains("v=spf1 ip4:192.0.2.10 ~all")),
        "{:?}",
        f.evidence
    );

    // An ESP return path: SPF passes, but for the ESP's domain.
    let r = run_engine(
        &srv,
        target(
            "dmarc-espbounce.test",
            &["192.0.2.10"],
            &[],
            Some("bounce@esp-bounce.test"),
        ),
        &["dmarc"],
    )
    .await;
    let f = finding(&r, "dmarc.forecast_fail");
    assert!(
        f.message.contains("the MAIL FROM domain esp-bounce.test"),
        "{}",
        f.message
    );
    assert!(
        !f.message.contains("is fail"),
        "SPF itself passes: {}",
        f.message
    );
    assert!(
        f.fix
            .contains("MAIL FROM (Return-Path) under dmarc-espbounce.test"),
        "{}",
        f.fix
    );

    // aspf=s: the subdomain would align under r, and the fix says so.
    let r = run_engine(
        &srv,
        target(
            "dmarc-strict.test",
            &["192.0.2.10"],
            &[],
            Some("bounces@bounce.dmarc-strict.test"),
        ),
        &["dmarc"],
    )
    .await;
    let f = finding(&r, "dmarc.forecast_fail");
    assert!(f.message.contains("aspf=s"), "{}", f.message);
    assert!(f.fix.contains("aspf=r"), "{}", f.fix);

    let r = run_engine(
        &srv,
        target(
            "sub.dmarc-orgkeystrict.test",
            &["192.0.2.10"],
            &["s1"],
            None,
        ),
        &["dmarc"],
    )
    .await;
    assert!(finding(&r, "dmarc.forecast_fail")
        .message
        .contains("adkim=s"));
}

#[tokio::test]
async fn dkim_saves_dmarc_and_says_so() {
    let srv = server("dmarc");
    let r = run_engine(
        &srv,
        target("dmarc-dkimsaves.test", &["198.51.100.7"], &["s1"], None),
        &["dmarc", "dkim"],
    )
    .await;
    let f = finding(&r, "dmarc.aligned_dkim_only");
    assert!(
        f.message
            .contains("through DKIM alone, if signed with selector s1 (d=dmarc-dkimsaves.test)"),
        "{}",
        f.message
    );
    assert!(
        f.message
            .contains("SPF for MAIL FROM postmaster@dmarc-dkimsaves.test is fail for 198.51.100.7"),
        "{}",
        f.message
    );
    assert!(f
        .evidence
        .iter()
        .any(|e| e.starts_with("s1._domainkey.dmarc-dkimsaves.test. TXT \"v=DKIM1")));
    // The dkim check and the forecast asked for the key once between them.
    assert_eq!(srv.count("s1._domainkey.dmarc-dkimsaves.test", "TXT"), 1);

    let r = run_engine(
        &srv,
        target("sub.dmarc-orgkey.test", &["192.0.2.10"], &["s1"], None),
        &["dmarc"],
    )
    .await;
    assert!(finding(&r, "dmarc.aligned_dkim_only")
        .message
        .contains("(d=dmarc-orgkey.test)"));
}

#[tokio::test]
async fn a_forecast_that_cannot_ask_is_an_error() {
    let srv = server("dmarc");
    srv.misbehave("dmarc-spftemp.test", Misbehave::ServFail);
    let r = run_engine(
        &srv,
        target("dmarc-spftemp.test", &["192.0.2.10"], &[], None),
        &["dmarc"],
    )
    .await;
    assert_eq!(codes(&r), ["dmarc.forecast_unknown", "dmarc.ok"]);
    assert!(finding(&r, "dmarc.forecast_unknown")
        .message
        .contains("temperror"));

    // DKIM lookups failing with SPF not passing: unknown, not fail.
    srv.misbehave_under("_domainkey.dmarc-neither.test", Misbehave::ServFail);
    let r = run_engine(
        &srv,
        target("dmarc-neither.test", &["198.51.100.8"], &["s1"], None),
        &["dmarc"],
    )
    .await;
    assert_eq!(codes(&r), ["dmarc.forecast_unknown", "dmarc.ok"]);
}

/// Codes the tests above assert outside the scenario tables.
const ASSERTED_ELSEWHERE: &[&str] = &["dmarc.lookup_failed", "dmarc.forecast_unknown"];

#[test]
fn every_dmarc_code_has_a_scenario() {
    let covered: Vec<&str> = POLICY_SCENARIOS
        .iter()
        .flat_map(|(_, c)| c.iter().copied())
        .chain(FORECASTS.iter().flat_map(|f| f.4.iter().copied()))
        .chain(ASSERTED_ELSEWHERE.iter().copied())
        .collect();
    for c in mailpreflight_checks::Code::ALL
        .iter()
        .filter(|c| c.check() == "dmarc")
    {
        assert!(covered.contains(&c.id()), "{} has no scenario test", c.id());
    }
}

#[tokio::test]
async fn lookups_go_out_together() {
    // Every lookup that does not depend on another goes out at once: the
    // walk, the misplaced-record probes, the DKIM keys, SPF; then, once the
    // organizational domain is known, the keys there. Two round trips (about
    // 0.4 s here); one by one, the 110 lookups would take 16 s.
    let srv = server("dmarc");
    srv.set_latency(std::time::Duration::from_millis(150));
    let t = target("sub.dmarc-orgkey.test", &["192.0.2.10"], &[], None);
    let start = std::time::Instant::now();
    let r = run_engine(&srv, t, &["dkim", "dmarc"]).await;
    let took = start.elapsed();
    assert!(
        codes(&r).contains(&"dmarc.aligned_dkim_only"),
        "{:?}",
        codes(&r)
    );
    assert!(srv.total() > 100, "{}", srv.total());
    assert!(took < std::time::Duration::from_secs(2), "{took:?}");
}
