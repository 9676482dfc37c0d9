//! The DNS layer against the loopback server: every kind of answer, CNAMEs,
//! in-flight de-duplication and the budget.

use std::time::Duration;

use mailpreflight_checks::dns::{Answer, Dns, DnsConfig, Failure, RType};

use crate::support::{server, Misbehave};

fn client(addr: std::net::SocketAddr) -> Dns {
    Dns::new(&DnsConfig {
        resolvers: vec![addr],
        timeout: Duration::from_millis(300),
        attempts: 1,
        ..DnsConfig::default()
    })
    .unwrap()
}

#[tokio::test]
async fn every_kind_of_answer() {
    let srv = server("core");
    srv.misbehave("servfail.dnstest.test", Misbehave::ServFail);
    srv.misbehave("refused.dnstest.test", Misbehave::Refused);
    srv.misbehave("slow.dnstest.test", Misbehave::Drop);
    let dns = client(srv.addr);
    let a = dns.query("mail.dnstest.test", RType::A).await;
    assert_eq!(
        a.ips(),
        vec!["192.0.2.10".parse::<std::net::IpAddr>().unwrap()]
    );
    assert!(matches!(
        dns.query("mail.dnstest.test", RType::Aaaa).await,
        Answer::NoData(_)
    ));
    assert_eq!(
        dns.query("nope.dnstest.test", RType::A).await,
        Answer::NxDomain
    );
    assert_eq!(
        dns.query("servfail.dnstest.test", RType::A).await,
        Answer::Failed(Failure::ServFail)
    );
    assert_eq!(
        dns.query("refused.dnstest.test", RType::A).await,
        Answer::Failed(Failure::Refused)
    );
    assert_eq!(
        dns.query("slow.dnstest.test", RType::A).await,
        Answer::Failed(Failure::Timeout)
    );
    assert_eq!(
        dns.query("outside.example", RType::A).await,
        Answer::Failed(Failure::Refused)
    );
    let alias = dns.query("alias.dnstest.test", RType::A).await;
    assert_eq!(alias.cnames().count(), 1, "{alias:?}");
    assert_eq!(alias.ips().len(), 1);
    assert_eq!(
        dns.query("txt.dnstest.test", RType::Txt).await.txts(),
        vec!["v=spf1 -all"]
    );
    let l = dns.query("loop1.dnstest.test", RType::A).await;
    assert!(
        matches!(l, Answer::NoData(_)),
        "a CNAME loop has no data: {l:?}"
    );
}

#[tokio::test]
async fn concurrent_askers_cost_one_query() {
    let srv = server("core");
    let dns = client(srv.addr);
    let asks = (0..20).map(|_| dns.query("mail.dnstest.test", RType::A));
    let answers = futures::future::join_all(asks).await;
    assert!(answers.iter().all(|a| a.ips().len() == 1));
    assert_eq!(srv.count("mail.dnstest.test", "A"), 1);
    assert_eq!(dns.queries_sent(), 1);
}

#[tokio::test]
async fn the_budget_bounds_queries() {
    let srv = server("core");
    let dns = client(srv.addr).with_budget(3);
    for i in 0..3 {
        assert_eq!(
            dns.query(&format!("n{i}.dnstest.test"), RType::A).await,
            Answer::NxDomain
        );
    }
    assert_eq!(
        dns.query("n9.dnstest.test", RType::A).await,
        Answer::Failed(Failure::Budget)
    );
    // Answers already in the cache stay free.
    assert_eq!(
        dns.query("n0.dnstest.test", RType::A).await,
        Answer::NxDomain
    );
    assert_eq!(srv.total(), 3);
}

#[tokio::test]
async fn zone_files_answer_like_the_server() {
    use mailpreflight_checks::dns::ZoneSource;
    let srv = server("core");
    let live = client(srv.addr);
    let offline = Dns::new(&DnsConfig {
        zones: vec![ZoneSource {
            origin: None,
            path: crate::support::zones_dir("core").join("dnstest.test.zone"),
        }],
        offline: true,
        ..DnsConfig::default()
    })
    .unwrap();
    for (name, rtype) in [
        ("mail.dnstest.test", RType::A),
        ("mail.dnstest.test", RType::Aaaa),
        ("nope.dnstest.test", RType::A),
        ("alias.dnstest.test", RType::A),
        ("dnstest.test", RType::Mx),
        ("txt.dnstest.test", RType::Txt),
    ] {
        let (l, o) = (
            live.query(name, rtype).await,
            offline.query(name, rtype).await,
        );
        assert_eq!(
            l.evidence(name, rtype),
            o.evidence(name, rtype),
            "{name} {rtype}"
        );
    }
    // A CNAME loop is "no data" both ways (the resolver drops the chain).
    assert!(matches!(
        live.query("loop1.dnstest.test", RType::A).await,
        Answer::NoData(_)
    ));
    assert!(matches!(
        offline.query("loop1.dnstest.test", RType::A).await,
        Answer::NoData(_)
    ));
    assert_eq!(
        offline.query("elsewhere.example", RType::A).await,
        Answer::Failed(Failure::Offline)
    );
}

#[tokio::test]
async fn the_engine_reports_every_selected_check_in_order() {
    use mailpreflight_checks::Target;
    let srv = crate::support::server("scen");
    let target = Target {
        domain: "example.com".into(),
        ips: vec!["192.0.2.12".parse().unwrap()],
        helo: Some("mail.example.com".into()),
        ..Target::default()
    };
    let report = crate::support::run_engine(&srv, target, &["mx", "rdns", "helo"]).await;
    let ids: Vec<&str> = report.checks.iter().map(|c| c.id).collect();
    assert_eq!(ids, ["mx", "rdns", "helo"]);
    let codes = crate::support::codes(&report);
    assert!(codes.contains(&"rdns.not_forward_confirmed"), "{codes:?}");
    assert!(codes.contains(&"helo.not_sending_ip"), "{codes:?}");
    assert_eq!(report.status, mailpreflight_checks::Status::Fail);
}

#[tokio::test]
async fn a_crashing_check_is_an_error_and_the_run_completes() {
    use mailpreflight_checks::{Check, Ctx, Finding, Options, Selection, Status, Target};
    use std::sync::Arc;
    struct Boom;
    #[async_trait::async_trait]
    impl Check for Boom {
        fn id(&self) -> &'static str {
            "boom"
        }
        fn title(&self) -> &'static str {
            "panics"
        }
        async fn run(&self, _: &Ctx) -> Vec<Finding> {
            panic!("deliberate")
        }
    }
    let srv = crate::support::server("scen");
    let ctx = Arc::new(Ctx {
        target: Target {
            domain: "ok.example.com".into(),
            ..Target::default()
        },
        dns: crate::support::client(&srv),
        options: Options::default(),
    });
    let checks: Vec<Arc<dyn Check>> =
        vec![Arc::new(Boom), Arc::new(mailpreflight_checks::mx::MxCheck)];
    let report = mailpreflight_checks::run_checks(ctx, checks, &Selection::default()).await;
    assert_eq!(report.checks[0].status, Status::Error);
    assert_eq!(
        report.checks[0].findings[0].code.id(),
        "engine.check_panicked"
    );
    assert_eq!(report.checks[1].status, Status::Pass);
}

#[tokio::test]
async fn large_answers_arrive_over_tcp() {
    let srv = server("core");
    let dns = client(srv.addr);
    let big = dns.query("big.dnstest.test", RType::Txt).await;
    let txt = big.txts();
    assert_eq!(txt.len(), 1, "{big:?}");
    assert_eq!(txt[0].len(), 12 * 200);
}
