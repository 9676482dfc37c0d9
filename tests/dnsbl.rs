//! The dnsbl check against blocklist zones served by the loopback DNS server
//! (`tests/zones/dnsbl/`: local stand-ins for ZEN, Barracuda, DBL and URIBL,
//! as a local rbldnsd mirror would serve them, and unknown lists under
//! `dnsbl.test`): listed, not listed, every refusal answer, a list that
//! times out, a dead list, IPv6, and the whole thing through the binary.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mailpreflight_checks::dnsbl::{check, lists_from};
use mailpreflight_checks::{Code, Ctx, Finding, Options, Selection, Status, Target};

use crate::support::{client, server, Misbehave, TestDns};

fn dnsbl_server() -> TestDns {
    let srv = server("dnsbl");
    srv.misbehave_under("slow.dnsbl.test", Misbehave::Drop);
    srv.misbehave("97.2.0.192.zen.spamhaus.org", Misbehave::ServFail);
    srv
}

async fn run(srv: &TestDns, ips: &[&str], domain: &str, zones: &[&str]) -> Vec<Finding> {
    let ips: Vec<IpAddr> = ips.iter().map(|i| i.parse().expect("ip")).collect();
    let zones: Vec<String> = zones.iter().map(|z| z.to_string()).collect();
    check(&client(srv), &ips, domain, &lists_from(&zones)).await
}

fn codes(findings: &[Finding]) -> BTreeSet<&'static str> {
    findings.iter().map(|f| f.code.id()).collect()
}

fn only(findings: &[Finding], code: Code) -> &Finding {
    let f: Vec<&Finding> = findings.iter().filter(|f| f.code == code).collect();
    assert_eq!(f.len(), 1, "one {} in {findings:#?}", code.id());
    f[0]
}

#[tokio::test]
async fn not_listed_anywhere_passes_with_the_answers_as_evidence() {
    let srv = dnsbl_server();
    let f = run(
        &srv,
        &["192.0.2.10"],
        "clean.test",
        &["zen.spamhaus.org", "bl.dnsbl.test", "dbl.spamhaus.org"],
    )
    .await;
    assert_eq!(codes(&f), BTreeSet::from(["dnsbl.ok"]));
    let ok = &f[0];
    assert_eq!(ok.status, Status::Pass);
    assert!(
        ok.message
            .contains("192.0.2.10 is not listed on zen.spamhaus.org, bl.dnsbl.test"),
        "{}",
        ok.message
    );
    assert!(
        ok.message
            .contains("clean.test is not listed on dbl.spamhaus.org"),
        "{}",
        ok.message
    );
    assert!(
        ok.evidence
            .contains(&"; 10.2.0.192.zen.spamhaus.org. A: no such name (NXDOMAIN)".to_string()),
        "{:?}",
        ok.evidence
    );
    // Each list's test entry was asked, once.
    assert_eq!(srv.count("2.0.0.127.zen.spamhaus.org", "A"), 1);
    assert_eq!(srv.count("dbltest.com.dbl.spamhaus.org", "A"), 1);
}

#[tokio::test]
async fn a_listed_ip_fails_with_the_code_meaning_and_the_txt_reason() {
    let srv = dnsbl_server();
    let f = run(
        &srv,
        &["192.0.2.99", "192.0.2.10"],
        "clean.test",
        &["zen.spamhaus.org", "b.barracudacentral.org"],
    )
    .await;
    assert_eq!(codes(&f), BTreeSet::from(["dnsbl.listed"]));
    assert_eq!(f.len(), 2, "{f:#?}");
    let zen = f
        .iter()
        .find(|x| x.message.contains("zen.spamhaus.org"))
        .expect("zen listing");
    assert_eq!(zen.status, Status::Fail);
    assert_eq!(
        zen.message,
        "192.0.2.99 is listed on zen.spamhaus.org (Spamhaus ZEN): 127.0.0.2 SBL: a known spam source or spam operation; reason: \"Listed by SBL, see https://check.spamhaus.org/sbl/query/SBL000001\""
    );
    assert_eq!(
        zen.evidence,
        vec![
            "99.2.0.192.zen.spamhaus.org. A 127.0.0.2".to_string(),
            "99.2.0.192.zen.spamhaus.org. TXT \"Listed by SBL, see https://check.spamhaus.org/sbl/query/SBL000001\"".to_string(),
        ]
    );
    assert!(
        zen.fix.contains("https://check.spamhaus.org/"),
        "{}",
        zen.fix
    );
    let bar = f
        .iter()
        .find(|x| x.message.contains("b.barracudacentral.org"))
        .expect("barracuda listing");
    assert!(
        bar.message.contains("poor sending reputation") && bar.message.contains("no TXT reason"),
        "{}",
        bar.message
    );
    // Only listings cost a TXT query.
    assert_eq!(srv.count("10.2.0.192.zen.spamhaus.org", "TXT"), 0);
    // The clean IP gives no pass while another is listed.
    assert!(!f.iter().any(|x| x.code == Code::DnsblOk));
}

#[tokio::test]
async fn several_codes_are_all_named_and_the_pbl_gets_its_own_advice() {
    let srv = dnsbl_server();
    let f = run(&srv, &["192.0.2.98"], "clean.test", &["zen.spamhaus.org"]).await;
    let l = only(&f, Code::DnsblListed);
    assert!(
        l.message.contains("127.0.0.4 XBL")
            && l.message.contains("127.0.0.10 PBL (ISP-maintained)"),
        "{}",
        l.message
    );
    assert!(
        l.message.contains("Listed by XBL") && l.message.contains("Listed by PBL"),
        "{}",
        l.message
    );
    assert!(l.fix.contains("not a spam listing"), "{}", l.fix);
}

#[tokio::test]
async fn a_listing_whose_reason_cannot_be_fetched_is_still_a_listing() {
    let srv = server("dnsbl");
    let dns = client(&srv);
    // The A answer is in the shared cache before the server starts failing,
    // so only the TXT question meets the SERVFAIL.
    let a = dns
        .query(
            "97.2.0.192.zen.spamhaus.org",
            mailpreflight_checks::dns::RType::A,
        )
        .await;
    assert_eq!(a.ips().len(), 1);
    srv.misbehave("97.2.0.192.zen.spamhaus.org", Misbehave::ServFail);
    let f = check(
        &dns,
        &["192.0.2.97".parse().unwrap()],
        "",
        &lists_from(&["zen.spamhaus.org".into()]),
    )
    .await;
    let l = only(&f, Code::DnsblListed);
    assert!(
        l.message
            .ends_with("its TXT reason could not be fetched (SERVFAIL)"),
        "{}",
        l.message
    );
    assert!(
        l.evidence.iter().any(|e| e.contains("TXT: SERVFAIL")),
        "{:?}",
        l.evidence
    );
}

#[tokio::test]
async fn every_refusal_answer_is_an_error_never_listed_nor_clean() {
    let srv = dnsbl_server();
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "192.0.2.252",
            "",
            "zen.spamhaus.org",
            "typing error in the blocklist's zone name",
        ),
        (
            "192.0.2.254",
            "",
            "zen.spamhaus.org",
            "public or open resolver",
        ),
        ("192.0.2.255", "", "zen.spamhaus.org", "too many queries"),
        (
            "192.0.2.10",
            "",
            "ip:dbl.spamhaus.org",
            "an IP address was asked of a domain-only list",
        ),
        (
            "",
            "refused.test",
            "multi.uribl.com",
            "127.0.0.1 is never a listing",
        ),
        ("192.0.2.10", "", "rewrite.dnsbl.test", "rewrites NXDOMAIN"),
    ];
    for (ip, domain, zone, why) in cases {
        let ips: Vec<&str> = if ip.is_empty() { vec![] } else { vec![ip] };
        let f = run(&srv, &ips, domain, &[zone]).await;
        let got = codes(&f);
        assert!(
            got.contains("dnsbl.query_refused"),
            "{zone} {ip}{domain}: {f:#?}"
        );
        assert!(
            !got.contains("dnsbl.ok")
                && !got.contains("dnsbl.listed")
                && !got.contains("dnsbl.domain_listed"),
            "{zone}: {got:?}"
        );
        let r = only(&f, Code::DnsblQueryRefused);
        assert_eq!(r.status, Status::Error);
        assert!(r.message.contains(why), "{zone}: {}", r.message);
        assert!(r.message.contains("is unknown"), "{}", r.message);
        assert!(!r.evidence.is_empty());
    }
    // What to do differs by cause.
    let f = run(&srv, &["192.0.2.254"], "", &["zen.spamhaus.org"]).await;
    assert!(only(&f, Code::DnsblQueryRefused).fix.contains("--resolver"));
    let f = run(&srv, &["192.0.2.252"], "", &["zen.spamhaus.org"]).await;
    assert!(only(&f, Code::DnsblQueryRefused).fix.contains("spelling"));
}

#[tokio::test]
async fn a_list_that_times_out_is_an_error_for_that_list_only() {
    let srv = dnsbl_server();
    let f = run(
        &srv,
        &["192.0.2.10"],
        "",
        &["slow.dnsbl.test", "zen.spamhaus.org"],
    )
    .await;
    assert_eq!(
        codes(&f),
        BTreeSet::from(["dnsbl.lookup_failed", "dnsbl.ok"])
    );
    let e = only(&f, Code::DnsblLookupFailed);
    assert!(e.message.starts_with("slow.dnsbl.test"), "{}", e.message);
    assert!(e.message.contains("timed out"), "{}", e.message);
    let ok = only(&f, Code::DnsblOk);
    assert!(
        ok.message.contains("zen.spamhaus.org") && !ok.message.contains("slow"),
        "{}",
        ok.message
    );
    let servfail = run(&srv, &["192.0.2.97"], "", &["zen.spamhaus.org"]).await;
    assert!(only(&servfail, Code::DnsblLookupFailed)
        .message
        .contains("SERVFAIL"));
}

#[tokio::test]
async fn a_list_without_its_test_entry_is_not_trusted() {
    let srv = dnsbl_server();
    let f = run(&srv, &["192.0.2.10"], "", &["dead.dnsbl.test"]).await;
    assert_eq!(codes(&f), BTreeSet::from(["dnsbl.list_not_working"]));
    let e = &f[0];
    assert_eq!(e.status, Status::Error);
    assert!(
        e.message.contains("2.0.0.127.dead.dnsbl.test."),
        "{}",
        e.message
    );
    // A mistyped zone: nothing answers under it at all.
    let f = run(
        &srv,
        &["192.0.2.10"],
        "",
        &["zen.spamhaus.org.typo.dnsbl.test"],
    )
    .await;
    assert_eq!(codes(&f), BTreeSet::from(["dnsbl.list_not_working"]));
}

#[tokio::test]
async fn ipv6_is_asked_where_the_list_holds_it() {
    let srv = dnsbl_server();
    let f = run(
        &srv,
        &["2001:db8::99"],
        "",
        &[
            "zen.spamhaus.org",
            "bl.dnsbl.test",
            "b.barracudacentral.org",
        ],
    )
    .await;
    let listed: Vec<&Finding> = f.iter().filter(|x| x.code == Code::DnsblListed).collect();
    assert_eq!(listed.len(), 2, "{f:#?}");
    assert!(listed
        .iter()
        .any(|x| x.message.contains("zen.spamhaus.org") && x.message.contains("SBL")));
    assert!(listed.iter().any(|x| x.message.contains("bl.dnsbl.test")
        && x.message.contains("127.0.0.3 (a listing; its meaning")));
    // Barracuda holds IPv4 only: never asked about the IPv6 address.
    let v6 = mailpreflight_checks::dnsbl::ip_query(
        "2001:db8::99".parse().unwrap(),
        "b.barracudacentral.org",
    );
    assert_eq!(srv.count(&v6, "A"), 0);

    let f = run(
        &srv,
        &["2001:db8::10"],
        "",
        &["zen.spamhaus.org", "b.barracudacentral.org"],
    )
    .await;
    let ok = only(&f, Code::DnsblOk);
    assert!(
        ok.message
            .contains("2001:db8::10 not asked of b.barracudacentral.org (IPv4-only lists)"),
        "{}",
        ok.message
    );
}

#[tokio::test]
async fn domains_are_asked_of_domain_lists() {
    let srv = dnsbl_server();
    let f = run(
        &srv,
        &["192.0.2.10"],
        "spammy.test",
        &["zen.spamhaus.org", "dbl.spamhaus.org", "multi.uribl.com"],
    )
    .await;
    assert_eq!(codes(&f), BTreeSet::from(["dnsbl.domain_listed"]));
    let d = &f[0];
    assert_eq!(d.status, Status::Fail);
    assert!(d.message.starts_with("spammy.test is listed on dbl.spamhaus.org (Spamhaus DBL): 127.0.1.2 spam domain; reason:"), "{}", d.message);
    // The IP was never asked of the domain lists, nor the domain of ZEN.
    assert_eq!(srv.count("10.2.0.192.dbl.spamhaus.org", "A"), 0);
    assert_eq!(srv.count("spammy.test.zen.spamhaus.org", "A"), 0);

    let f = run(&srv, &[], "grey.test", &["multi.uribl.com"]).await;
    assert!(
        only(&f, Code::DnsblDomainListed)
            .message
            .contains("black: seen in spam")
            && f[0].message.contains("grey")
    );
}

#[tokio::test]
async fn no_ip_skips_the_ip_lists_with_a_note_but_checks_the_domain() {
    let srv = dnsbl_server();
    let f = run(
        &srv,
        &[],
        "clean.test",
        &["zen.spamhaus.org", "dbl.spamhaus.org"],
    )
    .await;
    assert_eq!(codes(&f), BTreeSet::from(["dnsbl.no_ip", "dnsbl.ok"]));
    assert_eq!(only(&f, Code::DnsblNoIp).status, Status::Skip);
    assert!(only(&f, Code::DnsblOk)
        .message
        .contains("clean.test is not listed on dbl.spamhaus.org"));
    // A list with nothing to ask is not asked at all, not even its test entry.
    assert_eq!(srv.count("2.0.0.127.zen.spamhaus.org", "A"), 0);
}

#[tokio::test]
async fn all_queries_go_out_together() {
    let srv = dnsbl_server();
    srv.set_latency(Duration::from_millis(150));
    let start = Instant::now();
    let f = run(
        &srv,
        &["192.0.2.10", "192.0.2.11", "192.0.2.12"],
        "clean.test",
        &[
            "zen.spamhaus.org",
            "b.barracudacentral.org",
            "bl.dnsbl.test",
            "dbl.spamhaus.org",
        ],
    )
    .await;
    let took = start.elapsed();
    assert_eq!(codes(&f), BTreeSet::from(["dnsbl.ok"]));
    // 3 IPs × 3 lists + 1 domain + 4 test entries = 14 queries; one after
    // the other they would take 2.1 s.
    assert_eq!(srv.total(), 14);
    assert!(took < Duration::from_millis(1200), "took {took:?}");
}

#[tokio::test]
async fn the_engine_uses_the_zones_from_options() {
    let srv = dnsbl_server();
    let ctx = Arc::new(Ctx {
        target: Target {
            domain: "clean.test".into(),
            ips: vec!["192.0.2.99".parse().unwrap()],
            ..Target::default()
        },
        dns: client(&srv),
        options: Options {
            dnsbl_zones: vec!["zen.spamhaus.org".into()],
            ..Options::default()
        },
    });
    let sel = Selection {
        only: vec!["dnsbl".into()],
        skip: vec![],
    };
    let report = mailpreflight_checks::run(ctx, &sel).await;
    assert_eq!(report.checks.len(), 1);
    assert_eq!(report.checks[0].status, Status::Fail);
    assert_eq!(crate::support::codes(&report), vec!["dnsbl.listed"]);
}

#[tokio::test]
async fn offline_lists_are_one_skip_and_local_copies_still_answer() {
    use mailpreflight_checks::dns::{Dns, DnsConfig, ZoneSource};
    let dir = crate::support::zones_dir("dnsbl");
    // A local copy of ZEN loaded as a zone answers; the other list is not asked.
    let dns = Dns::new(&DnsConfig {
        zones: vec![ZoneSource {
            origin: None,
            path: dir.join("zen.spamhaus.org.zone"),
        }],
        offline: true,
        ..DnsConfig::default()
    })
    .expect("offline client");
    let f = check(
        &dns,
        &["192.0.2.99".parse().unwrap()],
        "clean.test",
        &lists_from(&["zen.spamhaus.org".into(), "dbl.spamhaus.org".into()]),
    )
    .await;
    assert_eq!(codes(&f), BTreeSet::from(["dnsbl.listed", "dnsbl.offline"]));
    let skip = only(&f, Code::DnsblOffline);
    assert_eq!(skip.status, Status::Skip);
    assert!(
        skip.message
            .ends_with("(no --zone covers them): dbl.spamhaus.org"),
        "{}",
        skip.message
    );
}

#[test]
fn through_the_binary_a_listed_ip_from_a_local_copy_of_the_list() {
    // A local copy of a list loaded with --zone answers even offline.
    let dir = crate::support::zones_dir("dnsbl").display().to_string();
    let out = crate::cli::bin()
        .args([
            "check",
            "example.com",
            "--ip",
            "192.0.2.99",
            "--zone",
            &dir,
            "--offline",
        ])
        .args([
            "--only",
            "dnsbl",
            "--dnsbl",
            "zen.spamhaus.org",
            "--dnsbl",
            "dbl.spamhaus.org",
        ])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("fail  dnsbl.listed"), "{text}");
    assert!(
        text.contains("192.0.2.99 is listed on zen.spamhaus.org (Spamhaus ZEN): 127.0.0.2 SBL"),
        "{text}"
    );
    assert!(
        text.contains("99.2.0.192.zen.spamhaus.org. A 127.0.0.2"),
        "{text}"
    );

    let (codes, exit, _) = crate::cli::run_json(&[
        "example.com",
        "--ip",
        "192.0.2.10",
        "--zone",
        &dir,
        "--offline",
        "--only",
        "dnsbl",
        "--dnsbl",
        "zen.spamhaus.org",
    ]);
    assert_eq!(codes, BTreeSet::from(["dnsbl.ok".to_string()]));
    assert_eq!(exit, 0);
    let bad = crate::cli::bin()
        .args(["check", "example.com", "--dnsbl", "zen..spamhaus.org"])
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(2));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.contains("--dnsbl \"zen..spamhaus.org\" is not a zone name")
            && err.lines().count() == 1,
        "{err}"
    );
}
