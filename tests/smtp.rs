//! The SMTP probe and the smtp check against real SMTP servers on loopback
//! (scripted tokio servers with tokio-rustls and certificates made here with
//! rcgen) and the loopback DNS server (`tests/zones/smtp/`). Each scenario
//! domain's MX has its own documentation address with a PTR; the tests route
//! that address to its server with `Options::smtp_routes`, and route every
//! other scenario address to a closed loopback port, so nothing leaves
//! loopback.

use std::collections::BTreeSet;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use mailpreflight_checks::smtp::probe::{
    self, CertProblem, Connect, Prober, Stage, StopReason, Timeouts,
};
use mailpreflight_checks::smtp::{check, MAX_HOSTS};
use mailpreflight_checks::testing_smtp::{
    closed_port, self_signed, BlackHole, Script, StartTls, TestPki, TestSmtp,
};
use mailpreflight_checks::{Code, Finding, Options, Status};

use crate::support::{client, server, Misbehave, TestDns};

const HELO: &str = "mail.sender.test";

/// Short steps: the timeout scenarios wait this long, no more.
const STEP: Duration = Duration::from_millis(800);

struct Rig {
    dns: TestDns,
    pki: TestPki,
    servers: Vec<TestSmtp>,
    routes: Vec<(IpAddr, SocketAddr)>,
    trust: bool,
    _holes: Vec<BlackHole>,
}

impl Rig {
    fn new() -> Rig {
        let dns = server("smtp");
        dns.misbehave("mx.brokenaddr.smtp.test", Misbehave::ServFail);
        dns.misbehave("brokenmx.smtp.test", Misbehave::ServFail);
        // Every scenario address goes to a closed loopback port unless a
        // test gives it a server: a probe never leaves loopback.
        let closed = closed_port();
        let routes = (1..=99u8)
            .map(|i| (IpAddr::from([192, 0, 2, i]), closed))
            .collect();
        Rig {
            dns,
            pki: TestPki::new(),
            servers: Vec::new(),
            routes,
            trust: true,
            _holes: Vec::new(),
        }
    }

    fn route(&mut self, last: u8, to: SocketAddr) {
        let ip = IpAddr::from([192, 0, 2, last]);
        self.routes.retain(|(i, _)| *i != ip);
        self.routes.push((ip, to));
    }

    /// Starts `script` and routes MX address 192.0.2.`last` to it.
    fn serve(&mut self, last: u8, script: Script) -> usize {
        let s = TestSmtp::start(script);
        self.route(last, s.addr);
        self.servers.push(s);
        self.servers.len() - 1
    }

    fn blackhole(&mut self, last: u8) {
        let h = BlackHole::start();
        self.route(last, h.addr);
        self._holes.push(h);
    }

    fn options(&self) -> Options {
        Options {
            smtp_timeout: STEP,
            smtp_trust_roots: if self.trust {
                vec![self.pki.root_der()]
            } else {
                vec![]
            },
            smtp_routes: self.routes.clone(),
            ..Options::default()
        }
    }

    async fn run(&self, domain: &str) -> Vec<Finding> {
        check(&client(&self.dns), domain, Some(HELO), &self.options()).await
    }
}

fn codes(f: &[Finding]) -> BTreeSet<&'static str> {
    f.iter().map(|x| x.code.id()).collect()
}

fn set(c: &[&'static str]) -> BTreeSet<&'static str> {
    c.iter().copied().collect()
}

fn one(f: &[Finding], code: Code) -> &Finding {
    let v: Vec<&Finding> = f.iter().filter(|x| x.code == code).collect();
    assert_eq!(v.len(), 1, "one {} in {f:#?}", code.id());
    v[0]
}

fn tls_script(host: &str, tls: StartTls) -> Script {
    Script::greeting(host).with_tls(tls)
}

#[tokio::test]
async fn a_good_host_passes_and_only_ehlo_starttls_quit_are_sent() {
    let mut rig = Rig::new();
    let leaf = rig.pki.valid(&["mx.ok.smtp.test"]);
    let i = rig.serve(25, tls_script("mx.ok.smtp.test", leaf.starttls()));
    let f = rig.run("ok.smtp.test").await;
    assert_eq!(codes(&f), set(&["smtp.ok"]), "{f:#?}");
    let ok = &f[0];
    assert!(
        ok.message
            .starts_with("mx.ok.smtp.test. (192.0.2.25, port "),
        "{}",
        ok.message
    );
    assert!(
        ok.message.contains("TLS 1.3")
            && ok
                .message
                .contains("certificate for mx.ok.smtp.test valid until"),
        "{}",
        ok.message
    );
    assert!(
        ok.evidence
            .contains(&"ok.smtp.test. MX 10 mx.ok.smtp.test.".to_string()),
        "{:?}",
        ok.evidence
    );
    assert!(ok
        .evidence
        .contains(&"mx.ok.smtp.test. A 192.0.2.25".to_string()));
    assert!(
        ok.evidence
            .contains(&"; S: 220 mx.ok.smtp.test ESMTP test".to_string()),
        "{:?}",
        ok.evidence
    );
    assert!(
        ok.evidence
            .iter()
            .any(|l| l.starts_with("; TLS established: TLS 1.3")),
        "{:?}",
        ok.evidence
    );
    assert!(
        ok.evidence
            .iter()
            .any(|l| l.starts_with("; certificate: subject CN=mx.ok.smtp.test")),
        "{:?}",
        ok.evidence
    );
    // The promise in --help: EHLO, STARTTLS, EHLO again inside TLS, QUIT.
    assert_eq!(
        rig.servers[i].commands(),
        vec![
            format!("EHLO {HELO}"),
            "STARTTLS".into(),
            format!("EHLO {HELO}"),
            "QUIT".into()
        ]
    );
}

#[tokio::test]
async fn certificate_problems_are_each_named() {
    let mut rig = Rig::new();
    let pki = &rig.pki;
    let scripts = vec![
        (26, "expired", pki.expired(&["mx.expired.smtp.test"])),
        (27, "notyet", pki.not_yet_valid(&["mx.notyet.smtp.test"])),
        (28, "soon", pki.expiring(&["mx.soon.smtp.test"])),
        (
            29,
            "wrongname",
            pki.valid(&["mail.elsewhere.test", "*.elsewhere.test"]),
        ),
        (30, "selfsigned", self_signed(&["mx.selfsigned.smtp.test"])),
    ];
    for (last, name, leaf) in scripts {
        rig.serve(
            last,
            tls_script(&format!("mx.{name}.smtp.test"), leaf.starttls()),
        );
    }
    let expired = rig.run("expired.smtp.test").await;
    assert_eq!(codes(&expired), set(&["smtp.cert_expired"]), "{expired:#?}");
    let e = &expired[0];
    assert_eq!(e.status, Status::Warn);
    assert!(
        e.message
            .starts_with("the certificate of mx.expired.smtp.test. (192.0.2.26, port")
            && e.message.contains("expired on 20"),
        "{}",
        e.message
    );
    assert!(
        e.evidence.iter().any(|l| l.starts_with(
            "; certificate: subject CN=mx.expired.smtp.test; issuer CN=mailpreflight test CA"
        )),
        "{:?}",
        e.evidence
    );

    assert_eq!(
        codes(&rig.run("notyet.smtp.test").await),
        set(&["smtp.cert_not_yet_valid"])
    );
    let soon = rig.run("soon.smtp.test").await;
    assert_eq!(codes(&soon), set(&["smtp.cert_expires_soon"]));
    assert!(
        soon[0].message.contains("day(s) from now"),
        "{}",
        soon[0].message
    );

    let wrong = rig.run("wrongname.smtp.test").await;
    assert_eq!(
        codes(&wrong),
        set(&["smtp.cert_name_mismatch"]),
        "{wrong:#?}"
    );
    assert!(
        wrong[0].message.contains(
            "is for mail.elsewhere.test, *.elsewhere.test, not for mx.wrongname.smtp.test"
        ),
        "{}",
        wrong[0].message
    );
    assert!(wrong[0].fix.contains("mx.wrongname.smtp.test"));

    let selfs = rig.run("selfsigned.smtp.test").await;
    assert_eq!(codes(&selfs), set(&["smtp.cert_untrusted"]), "{selfs:#?}");
    assert!(
        selfs[0].message.contains("not a trusted root"),
        "{}",
        selfs[0].message
    );
}

#[tokio::test]
async fn a_private_ca_is_untrusted_unless_given_as_a_root() {
    let mut rig = Rig::new();
    let leaf = rig.pki.valid(&["mx.untrusted.smtp.test"]);
    rig.serve(42, tls_script("mx.untrusted.smtp.test", leaf.starttls()));
    assert_eq!(
        codes(&rig.run("untrusted.smtp.test").await),
        set(&["smtp.ok"])
    );
    rig.trust = false;
    assert_eq!(
        codes(&rig.run("untrusted.smtp.test").await),
        set(&["smtp.cert_untrusted"])
    );
}

#[tokio::test]
async fn an_expired_certificate_from_a_trusted_ca_is_expired_not_untrusted() {
    // Trust is judged apart from the dates: both problems would hide each other.
    let rig = Rig::new();
    let leaf = rig.pki.expired(&["mx.expired.smtp.test"]);
    let s = TestSmtp::start(tls_script("mx.expired.smtp.test", leaf.starttls()));
    let prober = Prober::new(&[rig.pki.root_der()], Timeouts::uniform(STEP));
    let r = prober
        .probe("mx.expired.smtp.test", s.addr, Some(HELO))
        .await;
    let cert = r
        .tls
        .expect("handshake")
        .expect("handshake ok")
        .cert
        .expect("cert");
    assert!(cert.trusted);
    assert_eq!(cert.problems, vec![CertProblem::Expired]);
    // Expired and self-signed and wrong name: all three, at once.
    let bad = self_signed(&["other.test"]);
    let s2 = TestSmtp::start(tls_script("x", bad.starttls()));
    let r = prober
        .probe("mx.expired.smtp.test", s2.addr, Some(HELO))
        .await;
    let cert = r
        .tls
        .expect("handshake")
        .expect("handshake ok")
        .cert
        .expect("cert");
    assert!(!cert.trusted);
    assert!(cert.problems.contains(&CertProblem::NameMismatch));
    assert!(cert
        .problems
        .iter()
        .any(|p| matches!(p, CertProblem::Untrusted(_))));
}

#[tokio::test]
async fn starttls_missing_refused_or_broken() {
    let mut rig = Rig::new();
    rig.serve(31, Script::greeting("mx.notls.smtp.test"));
    rig.serve(
        32,
        tls_script(
            "mx.tlsrefused.smtp.test",
            StartTls::Refuse("454 4.7.0 TLS not available due to local problem".into()),
        ),
    );
    rig.serve(33, tls_script("mx.tlsgarbage.smtp.test", StartTls::Garbage));
    let f = rig.run("notls.smtp.test").await;
    assert_eq!(codes(&f), set(&["smtp.starttls_missing"]));
    assert!(f[0].message.contains("does not offer STARTTLS"));
    let f = rig.run("tlsrefused.smtp.test").await;
    assert_eq!(codes(&f), set(&["smtp.tls_failed"]));
    assert!(
        f[0].message
            .contains("answered it with 454 4.7.0 TLS not available"),
        "{}",
        f[0].message
    );
    let f = rig.run("tlsgarbage.smtp.test").await;
    assert_eq!(codes(&f), set(&["smtp.tls_failed"]));
    assert!(
        f[0].message
            .contains("the TLS handshake with mx.tlsgarbage.smtp.test."),
        "{}",
        f[0].message
    );
    assert_eq!(f[0].status, Status::Fail);
}

#[tokio::test]
async fn greetings_temporary_rejected_silent_or_nameless() {
    let mut rig = Rig::new();
    let leaf = rig.pki.valid(&["mx.nohostname.smtp.test"]);
    let grey = rig.serve(
        34,
        Script {
            banner: Some("421 4.7.0 mx.greylist.smtp.test Too many connections from your IP, try again later".into()),
            ..Script::greeting("mx.greylist.smtp.test")
        },
    );
    rig.serve(
        35,
        Script {
            banner: None,
            ..Script::greeting("mx.silent.smtp.test")
        },
    );
    rig.serve(
        36,
        Script {
            banner: Some("554 5.7.1 No SMTP service here".into()),
            ..Script::greeting("mx.reject.smtp.test")
        },
    );
    rig.serve(
        37,
        Script {
            banner: Some("220 ESMTP ready".into()),
            ..tls_script("mx.nohostname.smtp.test", leaf.starttls())
        },
    );

    // A 4xx greeting is a warning, not a dead host.
    let f = rig.run("greylist.smtp.test").await;
    assert_eq!(codes(&f), set(&["smtp.banner_temporary"]), "{f:#?}");
    assert_eq!(f[0].status, Status::Warn);
    assert!(f[0].message.contains("421 4.7.0"));
    // RFC 5321 §3.1: QUIT after a refusing greeting, nothing else.
    assert!(
        rig.servers[grey].commands().iter().all(|c| c == "QUIT"),
        "{:?}",
        rig.servers[grey].commands()
    );

    let f = rig.run("silent.smtp.test").await;
    assert_eq!(
        codes(&f),
        set(&["smtp.banner_timeout", "smtp.no_working_host"]),
        "{f:#?}"
    );
    assert_eq!(one(&f, Code::SmtpNoWorkingHost).status, Status::Fail);

    let f = rig.run("reject.smtp.test").await;
    assert_eq!(
        codes(&f),
        set(&["smtp.banner_rejected", "smtp.no_working_host"])
    );
    assert!(one(&f, Code::SmtpBannerRejected)
        .message
        .contains("554 5.7.1 No SMTP service here instead of 220"));

    let f = rig.run("nohostname.smtp.test").await;
    assert_eq!(codes(&f), set(&["smtp.banner_no_hostname"]), "{f:#?}");
    assert!(
        f[0].message.contains("greets with \"ESMTP ready\""),
        "{}",
        f[0].message
    );
}

#[tokio::test]
async fn the_greeting_name_is_compared_with_the_ptr() {
    let mut rig = Rig::new();
    let leaf = rig.pki.valid(&["mx.ptrmismatch.smtp.test"]);
    rig.serve(38, tls_script("gateway.elsewhere.test", leaf.starttls()));
    let f = rig.run("ptrmismatch.smtp.test").await;
    assert_eq!(
        codes(&f),
        set(&["smtp.banner_ptr_mismatch", "smtp.ok"]),
        "{f:#?}"
    );
    let m = one(&f, Code::SmtpBannerPtrMismatch);
    assert_eq!(m.status, Status::Info);
    assert_eq!(
        m.message,
        format!(
            "mx.ptrmismatch.smtp.test. (192.0.2.38, port {}) greets as gateway.elsewhere.test, but the PTR of 192.0.2.38 is mx.ptrmismatch.smtp.test.",
            rig.servers[0].addr.port()
        )
    );
    assert_eq!(
        m.evidence[0],
        "38.2.0.192.in-addr.arpa. PTR mx.ptrmismatch.smtp.test."
    );
}

#[tokio::test]
async fn ehlo_refused_or_unanswered() {
    let mut rig = Rig::new();
    rig.serve(
        39,
        Script {
            ehlo: Some(vec!["550 5.7.1 Your EHLO name is not welcome here".into()]),
            ..Script::greeting("mx.ehlorefused.smtp.test")
        },
    );
    rig.serve(
        41,
        Script {
            ehlo: None,
            ..Script::greeting("mx.ehlosilent.smtp.test")
        },
    );
    let f = rig.run("ehlorefused.smtp.test").await;
    assert_eq!(
        codes(&f),
        set(&["smtp.ehlo_rejected", "smtp.no_working_host"]),
        "{f:#?}"
    );
    assert!(one(&f, Code::SmtpEhloRejected)
        .message
        .contains(&format!("refused EHLO {HELO} with 550 5.7.1")));
    let f = rig.run("ehlosilent.smtp.test").await;
    assert_eq!(
        codes(&f),
        set(&["smtp.ehlo_rejected", "smtp.no_working_host"])
    );
    assert!(one(&f, Code::SmtpEhloRejected)
        .message
        .contains("no answer in time"));
}

#[tokio::test]
async fn refused_and_timed_out_connections_are_told_apart() {
    let mut rig = Rig::new();
    // 192.0.2.40 is routed to a closed port by default.
    let f = rig.run("refused.smtp.test").await;
    assert_eq!(
        codes(&f),
        set(&["smtp.connect_failed", "smtp.no_working_host"])
    );
    assert!(one(&f, Code::SmtpConnectFailed)
        .message
        .contains("refused the connection"));

    rig.blackhole(45);
    rig.blackhole(46);
    let f = rig.run("dark.smtp.test").await;
    assert_eq!(
        codes(&f),
        set(&["smtp.connect_timeout", "smtp.port25_blocked"]),
        "{f:#?}"
    );
    assert_eq!(
        f.iter()
            .filter(|x| x.code == Code::SmtpConnectTimeout)
            .count(),
        2
    );
    let b = one(&f, Code::SmtpPort25Blocked);
    assert_eq!(b.status, Status::Error);
    assert!(
        b.message
            .contains("outbound port 25 may be blocked from this host"),
        "{}",
        b.message
    );
}

#[tokio::test]
async fn one_working_host_is_enough_and_probes_run_in_parallel() {
    let mut rig = Rig::new();
    let leaf = rig.pki.valid(&["mx2.two.smtp.test"]);
    rig.serve(44, tls_script("mx2.two.smtp.test", leaf.starttls()));
    let f = rig.run("two.smtp.test").await;
    // host-44's PTR differs from the greeting: informational.
    assert_eq!(
        codes(&f),
        set(&["smtp.banner_ptr_mismatch", "smtp.connect_failed", "smtp.ok"]),
        "{f:#?}"
    );

    // Six silent hosts: five probed, together, in about one step's time.
    let mut rig = Rig::new();
    for i in 0..6 {
        rig.serve(
            50 + i,
            Script {
                banner: None,
                ..Script::greeting("x.test")
            },
        );
    }
    let start = std::time::Instant::now();
    let f = rig.run("many.smtp.test").await;
    let took = start.elapsed();
    assert_eq!(
        codes(&f),
        set(&[
            "smtp.banner_timeout",
            "smtp.hosts_limited",
            "smtp.no_working_host"
        ])
    );
    assert_eq!(
        f.iter()
            .filter(|x| x.code == Code::SmtpBannerTimeout)
            .count(),
        MAX_HOSTS
    );
    assert!(one(&f, Code::SmtpHostsLimited)
        .message
        .contains("has 6 MX hosts; the 5 most preferred"));
    assert!(took < STEP * 3, "five probes took {took:?}");
    assert!(rig.servers[5].commands().is_empty());
}

#[tokio::test]
async fn nothing_to_probe_or_could_not_look_up() {
    let rig = Rig::new();
    let f = rig.run("nxdomain.smtp.test").await;
    assert_eq!(codes(&f), set(&["smtp.no_mail_host"]));
    assert!(f[0].message.contains("does not exist"));
    let f = rig.run("nullmx.smtp.test").await;
    assert_eq!(codes(&f), set(&["smtp.no_mail_host"]));
    assert!(f[0].message.contains("null MX"));
    let f = rig.run("noaddr.smtp.test").await;
    assert_eq!(codes(&f), set(&["smtp.no_mail_host"]));
    assert!(f[0].message.contains("mx.noaddr.smtp.test."));
    let f = rig.run("brokenmx.smtp.test").await;
    assert_eq!(codes(&f), set(&["smtp.lookup_failed"]));
    assert_eq!(f[0].status, Status::Error);
    let f = rig.run("brokenaddr.smtp.test").await;
    assert_eq!(codes(&f), set(&["smtp.lookup_failed"]));
    assert!(f[0].message.contains("mx.brokenaddr.smtp.test."));
}

#[tokio::test]
async fn an_implicit_mx_is_the_domain_itself() {
    let mut rig = Rig::new();
    let leaf = rig.pki.valid(&["implicit.smtp.test"]);
    rig.serve(25, tls_script("implicit.smtp.test", leaf.starttls()));
    let f = rig.run("implicit.smtp.test").await;
    // 192.0.2.25's PTR is mx.ok.smtp.test: informational.
    assert_eq!(
        codes(&f),
        set(&["smtp.banner_ptr_mismatch", "smtp.ok"]),
        "{f:#?}"
    );
    assert!(one(&f, Code::SmtpOk)
        .message
        .starts_with("implicit.smtp.test. (192.0.2.25"));
}

#[tokio::test]
async fn offline_skips_and_the_engine_runs_the_check() {
    let rig = Rig::new();
    let ctx = std::sync::Arc::new(mailpreflight_checks::Ctx {
        target: mailpreflight_checks::Target {
            domain: "ok.smtp.test".into(),
            ..Default::default()
        },
        dns: client(&rig.dns),
        options: Options {
            offline: true,
            ..rig.options()
        },
    });
    let sel = mailpreflight_checks::Selection {
        only: vec!["smtp".into()],
        skip: vec![],
    };
    let report = mailpreflight_checks::run(ctx, &sel).await;
    assert_eq!(crate::support::codes(&report), vec!["smtp.offline"]);
    assert_eq!(report.checks[0].status, Status::Skip);
}

#[tokio::test]
async fn the_port_option_reaches_an_mx_on_loopback() {
    // No route: the MX's own address (127.0.0.1) and Options::smtp_port.
    let rig = Rig::new();
    let leaf = rig.pki.valid(&["mx.loop.smtp.test"]);
    let s = TestSmtp::start(tls_script("mx.loop.smtp.test", leaf.starttls()));
    let options = Options {
        smtp_port: s.addr.port(),
        ..rig.options()
    };
    let f = check(&client(&rig.dns), "loop.smtp.test", Some(HELO), &options).await;
    // The resolver itself answers the PTR of 127.0.0.1 (localhost).
    assert_eq!(
        codes(&f),
        set(&["smtp.banner_ptr_mismatch", "smtp.ok"]),
        "{f:#?}"
    );
    assert!(one(&f, Code::SmtpOk).message.starts_with(&format!(
        "mx.loop.smtp.test. (127.0.0.1, port {})",
        s.addr.port()
    )));
    assert_eq!(s.commands().len(), 4);
}

#[tokio::test]
async fn the_probe_report_records_every_step() {
    let pki = TestPki::new();
    let leaf = pki.valid(&["mx.example.test"]);
    let script = Script {
        ehlo: Some(vec![
            "250-mx.example.test hello".into(),
            "250-SIZE 10240000".into(),
            "250 AUTH PLAIN LOGIN".into(),
        ]),
        ..tls_script("mx.example.test", leaf.starttls())
    };
    let s = TestSmtp::start(script);
    let r = probe::probe(
        "mx.example.test",
        s.addr,
        None,
        &[pki.root_der()],
        Timeouts::uniform(STEP),
    )
    .await;
    assert_eq!(r.connect, Connect::Connected);
    assert_eq!(r.banner.as_ref().map(|b| b.code), Some(220));
    assert_eq!(r.banner_host.as_deref(), Some("mx.example.test"));
    // No HELO name given: the address literal of the local end.
    assert_eq!(r.helo, "[127.0.0.1]");
    let ehlo = r.ehlo.as_ref().expect("ehlo");
    assert!(ehlo.starttls);
    assert_eq!(ehlo.auth, vec!["PLAIN", "LOGIN"]);
    assert!(ehlo.extensions.contains(&"SIZE 10240000".to_string()));
    assert_eq!(r.starttls.as_ref().map(|s| s.code), Some(220));
    let tls = r.tls.as_ref().expect("tls").as_ref().expect("handshake");
    assert_eq!(tls.version, "TLS 1.3");
    let cert = tls.cert.as_ref().expect("cert");
    assert_eq!(cert.names, vec!["mx.example.test"]);
    assert!(cert.trusted && cert.problems.is_empty() && !cert.self_signed);
    assert_eq!(cert.chain_len, 1);
    assert!(cert.not_before < cert.not_after);
    assert!(r.ehlo_tls.as_ref().is_some_and(|e| e.reply.code == 250));
    assert_eq!(r.quit.as_ref().map(|q| q.code), Some(221));
    assert_eq!(r.stopped, None);
    assert!(r.greeted());
    assert!(r.timings.connect_ms.is_some() && r.timings.tls_ms.is_some());
    assert!(r
        .transcript
        .first()
        .is_some_and(|l| l.starts_with("S: 220 mx.example.test")));
    assert!(serde_json::to_string(&r)
        .expect("serializes")
        .contains("\"outcome\":\"connected\""));

    // Refused, and a greeting that never comes.
    let r = probe::probe("x.test", closed_port(), None, &[], Timeouts::uniform(STEP)).await;
    assert_eq!(r.connect, Connect::Refused);
    let silent = TestSmtp::start(Script {
        banner: None,
        ..Script::greeting("x.test")
    });
    let r = probe::probe(
        "x.test",
        silent.addr,
        None,
        &[],
        Timeouts::uniform(Duration::from_millis(300)),
    )
    .await;
    assert_eq!(r.connect, Connect::Connected);
    assert_eq!(
        r.stopped.as_ref().map(|s| (s.at, s.why.clone())),
        Some((Stage::Banner, StopReason::Timeout))
    );
    assert!(silent.commands().is_empty());
}

#[tokio::test]
async fn the_whole_probe_is_bounded() {
    // Each step alone is within its limit, but the total is not.
    let hole = BlackHole::start();
    let t = Timeouts {
        connect: Duration::from_secs(30),
        reply: Duration::from_secs(30),
        tls: Duration::from_secs(30),
        total: Duration::from_millis(300),
    };
    let start = std::time::Instant::now();
    let r = probe::probe("x.test", hole.addr, None, &[], t).await;
    assert_eq!(r.connect, Connect::TimedOut);
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn every_code_of_dnsbl_and_smtp_is_asserted_by_a_scenario() {
    let sources = [include_str!("dnsbl.rs"), include_str!("smtp.rs")].concat();
    for c in Code::ALL
        .iter()
        .filter(|c| ["dnsbl", "smtp"].contains(&c.check()))
    {
        let quoted = format!("\"{}\"", c.id());
        let variant = format!("{c:?}");
        assert!(
            sources.contains(&quoted) || sources.contains(&format!("Code::{variant}")),
            "{} is asserted by no scenario",
            c.id()
        );
    }
}

#[test]
fn through_the_binary_an_mx_with_a_wrong_certificate() {
    // The MX of loop.smtp.test is 127.0.0.1; --smtp-port points at the server.
    let leaf = self_signed(&["www.elsewhere.test"]);
    let s = TestSmtp::start(tls_script("mx.loop.smtp.test", leaf.starttls()));
    let dir = crate::support::zones_dir("smtp").display().to_string();
    let port = s.addr.port().to_string();
    let out = crate::cli::bin()
        .args([
            "check",
            "loop.smtp.test",
            "--zone",
            &dir,
            "--smtp-port",
            &port,
            "--only",
            "smtp",
            "--helo",
            HELO,
        ])
        .output()
        .expect("run");
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    // Certificate problems are warnings: exit 0 at the default --fail-on.
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("warn  smtp.cert_name_mismatch"), "{text}");
    assert!(
        text.contains("is for www.elsewhere.test, not for mx.loop.smtp.test"),
        "{text}"
    );
    assert!(text.contains("warn  smtp.cert_untrusted"), "{text}");
    assert_eq!(
        s.commands(),
        vec![
            format!("EHLO {HELO}"),
            "STARTTLS".into(),
            format!("EHLO {HELO}"),
            "QUIT".into()
        ]
    );
    let help = crate::cli::bin()
        .args(["check", "--help"])
        .output()
        .expect("help");
    assert!(
        String::from_utf8_lossy(&help.stdout).contains("only ever sends EHLO, STARTTLS and QUIT")
    );
}
