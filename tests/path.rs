//! `mailpreflight path` against several loopback resolvers (one that never
//! answers, one that refuses, one that rewrites NXDOMAIN, one with stale
//! data), loopback SMTP servers for the recipient's MX (accepting,
//! greylisting, silent, a black hole) and smart hosts (STARTTLS with AUTH
//! after TLS, AUTH before TLS, implicit TLS). Every MX address is a
//! documentation address routed to loopback with `--smtp-route`, the rest
//! of 192.0.2.0/24 to a loopback server too: no probe leaves loopback.

use std::collections::BTreeSet;
use std::io::Write;

use mailpreflight_checks::testing_smtp::{closed_port, BlackHole, Script, TestPki, TestSmtp};
use serde_json::Value;

use crate::cli::bin;
use crate::support::{server, Misbehave, TestDns};

const HELO: &str = "mail.sender.test";

/// The codes of the given sections (all when empty), the exit code, the JSON.
fn parse(out: &std::process::Output, sections: &[&str]) -> (BTreeSet<String>, i32, Value) {
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    let codes = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| sections.is_empty() || sections.contains(&c["id"].as_str().unwrap()))
        .flat_map(|c| c["findings"].as_array().unwrap().iter())
        .map(|f| f["code"].as_str().unwrap().to_string())
        .collect();
    (codes, out.status.code().unwrap(), v)
}

/// The resolver scenarios: ok.example.com, whose MX (192.0.2.1) is routed
/// to a plain loopback SMTP server; only the resolver and MX sections are
/// compared.
fn run(servers: &[&TestDns], extra: &[&str]) -> (BTreeSet<String>, i32, Value) {
    let mx = TestSmtp::start(Script::greeting("mx1.example.com"));
    let mut cmd = bin();
    cmd.args([
        "path",
        "ok.example.com",
        "--format",
        "json",
        "--timeout",
        "0.3",
        "--smtp-timeout",
        "0.8",
        "--helo",
        HELO,
        "--smtp-route",
        &format!("192.0.2.0/24={}", mx.addr),
    ]);
    for s in servers {
        cmd.args(["--resolver", &s.addr.to_string()]);
    }
    let out = cmd.args(extra).output().unwrap();
    parse(&out, &["resolvers", "mx"])
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
    let mx = TestSmtp::start(Script::greeting("mx1.example.com"));
    let out = bin()
        .args([
            "path",
            "someone@ok.example.com",
            "--resolver",
            &good.addr.to_string(),
            "--smtp-route",
            &format!("192.0.2.0/24={}", mx.addr),
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

/// A path.test resolver, the test CA in a file, loopback servers and the
/// routes to them.
struct Rig {
    dns: TestDns,
    pki: TestPki,
    root: tempfile::NamedTempFile,
    routes: Vec<String>,
    servers: Vec<TestSmtp>,
    _holes: Vec<BlackHole>,
}

impl Rig {
    fn new() -> Rig {
        let pki = TestPki::new();
        let mut root = tempfile::NamedTempFile::new().unwrap();
        root.write_all(&pki.root_der()).unwrap();
        Rig {
            dns: server("path"),
            pki,
            root,
            routes: Vec::new(),
            servers: Vec::new(),
            _holes: Vec::new(),
        }
    }

    /// Serves `script`, reached for MX address 192.0.2.`last`.
    fn mx(&mut self, last: u8, script: Script) -> usize {
        let s = TestSmtp::start(script);
        self.routes.push(format!("192.0.2.{last}={}", s.addr));
        self.servers.push(s);
        self.servers.len() - 1
    }

    fn blackhole(&mut self, last: u8) {
        let h = BlackHole::start();
        self.routes.push(format!("192.0.2.{last}={}", h.addr));
        self._holes.push(h);
    }

    /// A smart host server; its port.
    fn relay(&mut self, script: Script) -> (usize, u16) {
        let s = TestSmtp::start(script);
        let port = s.addr.port();
        self.servers.push(s);
        (self.servers.len() - 1, port)
    }

    fn command(
        &self,
        recipient: &str,
        resolvers: &[&TestDns],
        extra: &[&str],
    ) -> std::process::Output {
        let mut cmd = bin();
        cmd.args([
            "path",
            recipient,
            "--timeout",
            "0.3",
            "--smtp-timeout",
            "0.8",
            "--helo",
            HELO,
            "--smtp-trust-root",
            self.root.path().to_str().unwrap(),
        ]);
        for r in &self.routes {
            cmd.args(["--smtp-route", r]);
        }
        // Everything else in the documentation range: a closed loopback port.
        cmd.args(["--smtp-route", &format!("192.0.2.0/24={}", closed_port())]);
        for s in resolvers {
            cmd.args(["--resolver", &s.addr.to_string()]);
        }
        cmd.args(extra).output().unwrap()
    }

    fn run(&self, recipient: &str, extra: &[&str]) -> (BTreeSet<String>, i32, Value) {
        let mut args = vec!["--format", "json"];
        args.extend_from_slice(extra);
        parse(&self.command(recipient, &[&self.dns], &args), &[])
    }

    fn commands(&self, i: usize) -> Vec<String> {
        self.servers[i].commands()
    }
}

fn finding<'a>(v: &'a Value, code: &str) -> &'a Value {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["findings"].as_array().unwrap().iter())
        .find(|f| f["code"] == code)
        .unwrap_or_else(|| panic!("no {code} in {v:#}"))
}

fn starttls(rig: &TestPki, host: &str) -> Script {
    Script::greeting(host).with_tls(rig.valid(&[host]).starttls())
}

#[test]
fn an_mx_that_accepts_on_port_25() {
    let mut rig = Rig::new();
    let i = rig.mx(61, starttls(&rig.pki, "mx.accept.path.test"));
    let (codes, exit, v) = rig.run("accept.path.test", &[]);
    assert_eq!(
        codes,
        set(&["path.resolver_ok", "mx.ok", "smtp.ok"]),
        "{v:#}"
    );
    assert_eq!(exit, 0);
    let ids: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["resolvers", "mx", "port25"]);
    assert_eq!(
        rig.commands(i),
        [
            format!("EHLO {HELO}"),
            "STARTTLS".into(),
            format!("EHLO {HELO}"),
            "QUIT".into()
        ]
    );
}

#[test]
fn greylisting_and_silent_mx_hosts_are_not_a_blocked_port() {
    let mut rig = Rig::new();
    rig.mx(
        62,
        Script {
            banner: Some("421 4.7.0 mx.greylist.path.test try again later".into()),
            ..Script::greeting("mx.greylist.path.test")
        },
    );
    rig.mx(
        63,
        Script {
            banner: None,
            ..Script::greeting("mx.silent.path.test")
        },
    );
    let (codes, exit, v) = rig.run("greylist.path.test", &[]);
    assert_eq!(
        codes,
        set(&["path.resolver_ok", "mx.ok", "smtp.banner_temporary"]),
        "{v:#}"
    );
    assert_eq!(exit, 0);
    let (codes, exit, v) = rig.run("silent.path.test", &[]);
    assert_eq!(
        codes,
        set(&[
            "path.resolver_ok",
            "mx.ok",
            "smtp.banner_timeout",
            "smtp.no_working_host"
        ]),
        "{v:#}"
    );
    assert_eq!(exit, 1);
}

#[test]
fn every_mx_timing_out_is_outbound_port_25_blocked() {
    let mut rig = Rig::new();
    rig.blackhole(64);
    rig.blackhole(65);
    let (codes, exit, v) = rig.run("blocked.path.test", &[]);
    assert_eq!(
        codes,
        set(&[
            "path.resolver_ok",
            "mx.ok",
            "smtp.connect_timeout",
            "path.port25_blocked"
        ]),
        "{v:#}"
    );
    assert_eq!(exit, 1);
    let f = finding(&v, "path.port25_blocked");
    assert_eq!(f["status"], "fail");
    let msg = f["message"].as_str().unwrap();
    assert!(
        msg.starts_with(
            "outbound port 25 is blocked from this host (ISP, cloud provider or firewall)"
        ) && msg.contains("mx1.blocked.path.test.")
            && msg.contains("mx2.blocked.path.test."),
        "{msg}"
    );
    assert!(f["fix"].as_str().unwrap().contains("587"), "{f}");
}

#[test]
fn a_smart_host_with_starttls_and_auth_after_tls() {
    let mut rig = Rig::new();
    let leaf = rig.pki.valid(&["relay.path.test"]);
    let (i, port) = rig.relay(Script {
        ehlo_tls: Some(vec![
            "250-relay.path.test hello".into(),
            "250-SIZE 10240000".into(),
            "250 AUTH PLAIN LOGIN".into(),
        ]),
        ..Script::greeting("relay.path.test").with_tls(leaf.starttls())
    });
    rig.blackhole(64);
    rig.blackhole(65);
    let sh = format!("relay.path.test:{port}");
    let (codes, exit, v) = rig.run("blocked.path.test", &["--smarthost", &sh]);
    assert!(codes.contains("path.port25_blocked"), "{codes:?}");
    assert!(codes.contains("path.smarthost_ok"), "{codes:?}");
    assert_eq!(exit, 1);
    let f = finding(&v, "path.smarthost_ok");
    let msg = f["message"].as_str().unwrap();
    assert!(
        msg.contains("STARTTLS") && msg.contains("offers AUTH PLAIN LOGIN after TLS"),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("relay.path.test. (127.0.0.1, port {port})")),
        "{msg}"
    );
    // No credentials, no message: EHLO, STARTTLS, EHLO, QUIT and nothing else.
    assert_eq!(
        rig.commands(i),
        [
            format!("EHLO {HELO}"),
            "STARTTLS".into(),
            format!("EHLO {HELO}"),
            "QUIT".into()
        ]
    );
}

#[test]
fn a_smart_host_offering_auth_before_tls_is_a_warning() {
    let mut rig = Rig::new();
    let leaf = rig.pki.valid(&["relay.path.test"]);
    let auth = vec![
        "250-relay.path.test hello".into(),
        "250 AUTH PLAIN LOGIN CRAM-MD5".into(),
    ];
    let (_, port) = rig.relay(Script {
        ehlo: Some(auth.clone()),
        ..Script::greeting("relay.path.test").with_tls(leaf.starttls())
    });
    rig.mx(61, starttls(&rig.pki, "mx.accept.path.test"));
    let sh = format!("relay.path.test:{port}");
    let (codes, exit, v) = rig.run("accept.path.test", &["--smarthost", &sh]);
    assert_eq!(
        codes,
        set(&[
            "path.resolver_ok",
            "mx.ok",
            "smtp.ok",
            "path.smarthost_auth_before_tls"
        ]),
        "{v:#}"
    );
    assert_eq!(exit, 0);
    let f = finding(&v, "path.smarthost_auth_before_tls");
    assert_eq!(f["status"], "warn");
    assert!(f["message"]
        .as_str()
        .unwrap()
        .contains("AUTH PLAIN LOGIN CRAM-MD5 before TLS"));

    // Without STARTTLS at all: credentials could only go in clear.
    let (_, port) = rig.relay(Script {
        ehlo: Some(auth),
        ..Script::greeting("relay.path.test")
    });
    let sh = format!("relay.path.test:{port}");
    let (codes, exit, _) = rig.run("accept.path.test", &["--smarthost", &sh]);
    assert!(
        codes.contains("path.smarthost_starttls_missing"),
        "{codes:?}"
    );
    assert!(
        codes.contains("path.smarthost_auth_before_tls"),
        "{codes:?}"
    );
    assert_eq!(exit, 1);
}

#[test]
fn a_smart_host_with_implicit_tls() {
    let mut rig = Rig::new();
    let leaf = rig.pki.valid(&["relay.path.test"]);
    let (i, port) = rig.relay(Script {
        ehlo: Some(vec![
            "250-relay.path.test hello".into(),
            "250 AUTH PLAIN".into(),
        ]),
        implicit_tls: Some(leaf.server_config()),
        ..Script::greeting("relay.path.test")
    });
    rig.mx(61, starttls(&rig.pki, "mx.accept.path.test"));
    let sh = format!("relay.path.test:{port}");
    let (codes, exit, v) = rig.run(
        "accept.path.test",
        &["--smarthost", &sh, "--smarthost-tls", "implicit"],
    );
    assert_eq!(
        codes,
        set(&["path.resolver_ok", "mx.ok", "smtp.ok", "path.smarthost_ok"]),
        "{v:#}"
    );
    assert_eq!(exit, 0);
    let msg = finding(&v, "path.smarthost_ok")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("implicit TLS") && msg.contains("AUTH PLAIN after TLS"),
        "{msg}"
    );
    assert_eq!(rig.commands(i), [format!("EHLO {HELO}"), "QUIT".into()]);

    // The same server taken for STARTTLS: it speaks TLS first, so no
    // greeting in plain text ever comes.
    let (codes, _, _) = rig.run(
        "accept.path.test",
        &["--smarthost", &sh, "--smarthost-tls", "starttls"],
    );
    assert!(codes.contains("path.smarthost_no_greeting"), "{codes:?}");
}

#[test]
fn smart_host_by_address_wrong_certificate_refused_and_unknown() {
    let mut rig = Rig::new();
    let leaf = rig.pki.valid(&["relay.path.test"]);
    let (_, port) = rig.relay(Script {
        ehlo_tls: Some(vec!["250-relay.path.test".into(), "250 AUTH PLAIN".into()]),
        ..Script::greeting("relay.path.test").with_tls(leaf.starttls())
    });
    rig.mx(61, starttls(&rig.pki, "mx.accept.path.test"));
    // An IP literal is taken as it is; the certificate names another host.
    let sh = format!("127.0.0.1:{port}");
    let (codes, exit, v) = rig.run("accept.path.test", &["--smarthost", &sh]);
    assert!(codes.contains("path.smarthost_cert_invalid"), "{codes:?}");
    assert_eq!(exit, 1);
    let msg = finding(&v, "path.smarthost_cert_invalid")["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("for relay.path.test, not for 127.0.0.1"),
        "{msg}"
    );

    let closed = format!("relay.path.test:{}", closed_port().port());
    let (codes, _, _) = rig.run("accept.path.test", &["--smarthost", &closed]);
    assert!(codes.contains("path.smarthost_connect_failed"), "{codes:?}");

    let (codes, exit, v) = rig.run(
        "accept.path.test",
        &["--smarthost", "nowhere-relay.path.test"],
    );
    assert!(codes.contains("path.smarthost_no_address"), "{codes:?}");
    assert_eq!(exit, 1);
    assert!(finding(&v, "path.smarthost_no_address")["evidence"]
        .to_string()
        .contains("nowhere-relay.path.test."));
}

#[test]
fn smart_host_and_port_25_without_a_working_resolver() {
    let rig = Rig::new();
    let dead = server("path");
    dead.misbehave_under("", Misbehave::Drop);
    let out = rig.command(
        "accept.path.test",
        &[&dead],
        &["--format", "json", "--smarthost", "relay.path.test"],
    );
    let (codes, exit, v) = parse(&out, &[]);
    assert_eq!(
        codes,
        set(&[
            "path.resolver_timeout",
            "path.no_working_resolver",
            "path.smarthost_lookup_failed"
        ]),
        "{v:#}"
    );
    assert_eq!(exit, 1);
}

#[test]
fn a_dead_first_resolver_and_a_blocked_port_25_as_a_table() {
    let mut rig = Rig::new();
    rig.blackhole(64);
    rig.blackhole(65);
    let dead = server("path");
    dead.misbehave_under("", Misbehave::Drop);
    let leaf = rig.pki.valid(&["relay.path.test"]);
    let (_, port) = rig.relay(Script {
        ehlo_tls: Some(vec![
            "250-relay.path.test hello".into(),
            "250 AUTH PLAIN LOGIN".into(),
        ]),
        ..Script::greeting("relay.path.test").with_tls(leaf.starttls())
    });
    let sh = format!("relay.path.test:{port}");
    let out = rig.command(
        "someone@blocked.path.test",
        &[&dead, &rig.dns],
        &["--smarthost", &sh],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    println!("{text}");
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("fail  path.resolver_timeout"), "{text}");
    assert!(text.contains("fail  path.port25_blocked"), "{text}");
    assert!(text.contains("smarthost  pass"), "{text}");
    assert!(
        text.contains(&format!("nameserver {}", dead.addr.ip())),
        "{text}"
    );
}

#[test]
fn bad_smart_hosts_are_one_line_and_exit_2() {
    for bad in [
        "",
        "  ",
        "relay.test:0",
        "relay.test:99999",
        "relay.test:abc",
        "bad host!",
        "[::1",
        "[::1]x",
    ] {
        let out = bin()
            .args(["path", "example.test", "--smarthost", bad])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {err}");
        assert!(
            err.starts_with("mailpreflight: --smarthost"),
            "{bad:?}: {err}"
        );
        assert_eq!(err.trim_end().lines().count(), 1, "{bad:?}: {err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn smart_hosts_that_fail_each_step() {
    let mut rig = Rig::new();
    rig.mx(61, starttls(&rig.pki, "mx.accept.path.test"));
    let leaf = rig.pki.valid(&["relay.path.test"]);
    // An address routed to a black hole: the connect times out.
    rig.blackhole(70);
    let (codes, _, _) = rig.run("accept.path.test", &["--smarthost", "192.0.2.70"]);
    assert!(
        codes.contains("path.smarthost_connect_timeout"),
        "{codes:?}"
    );
    let cases = [
        (
            Script {
                ehlo: None,
                ..Script::greeting("relay.path.test")
            },
            "path.smarthost_ehlo_rejected",
        ),
        (
            Script::greeting("relay.path.test")
                .with_tls(mailpreflight_checks::testing_smtp::StartTls::Garbage),
            "path.smarthost_tls_failed",
        ),
        (
            Script {
                banner: Some("554 5.7.1 relay.path.test access denied".into()),
                ..Script::greeting("relay.path.test")
            },
            "path.smarthost_no_greeting",
        ),
        (
            Script::greeting("relay.path.test").with_tls(leaf.starttls()),
            "path.smarthost_no_auth",
        ),
    ];
    for (script, code) in cases {
        let (i, port) = rig.relay(script);
        let sh = format!("relay.path.test:{port}");
        let (codes, _, v) = rig.run("accept.path.test", &["--smarthost", &sh]);
        assert!(codes.contains(code), "{code}: {v:#}");
        assert!(!codes.contains("path.smarthost_ok"), "{code}: {v:#}");
        assert!(
            rig.commands(i)
                .iter()
                .all(|c| ["EHLO", "STARTTLS", "QUIT"].contains(&c.split(' ').next().unwrap())),
            "{:?}",
            rig.commands(i)
        );
    }
}

#[tokio::test]
async fn the_probe_speaks_implicit_tls_and_keeps_starttls_as_it_was() {
    use mailpreflight_checks::smtp::probe::{Connect, Prober, Timeouts};
    let pki = TestPki::new();
    let leaf = pki.valid(&["relay.path.test"]);
    let s = TestSmtp::start(Script {
        implicit_tls: Some(leaf.server_config()),
        ..Script::greeting("relay.path.test")
    });
    let prober = Prober::new(
        &[pki.root_der()],
        Timeouts::uniform(std::time::Duration::from_millis(800)),
    );
    let r = prober
        .probe_implicit_tls("relay.path.test", s.addr, Some(HELO))
        .await;
    assert_eq!(r.connect, Connect::Connected);
    assert!(r.implicit_tls && r.greeted(), "{r:#?}");
    assert!(r.ehlo.is_none() && r.starttls.is_none());
    assert!(r.tls.as_ref().is_some_and(|t| t.is_ok()), "{r:#?}");
    assert_eq!(r.banner.as_ref().map(|b| b.code), Some(220));
    assert!(r.quit.is_some());
    // Taken for plain text, the TLS-first server never greets.
    let plain = prober.probe("relay.path.test", s.addr, Some(HELO)).await;
    assert!(!plain.greeted() && plain.banner.is_none(), "{plain:#?}");
}
