//! The built binary end to end: one scenario per finding code of the mx,
//! rdns and helo checks, each run against the loopback DNS server and again
//! offline from the same zone files, asserting the exact set of codes and
//! the exit code. Then bad input, formats and pipes.

use std::collections::BTreeSet;

use assert_cmd::Command;
use mailpreflight_checks::{Code, Status};
use serde_json::Value;

use crate::support::{server, zones_dir, Misbehave, TestDns};

pub fn bin() -> Command {
    let mut c = Command::cargo_bin("mailpreflight").expect("binary");
    c.env("NO_COLOR", "1");
    c
}

struct Scenario {
    domain: &'static str,
    args: &'static [&'static str],
    only: &'static str,
    codes: &'static [&'static str],
    /// Needs a misbehaving server: live only.
    live_only: bool,
}

const fn s(
    domain: &'static str,
    args: &'static [&'static str],
    only: &'static str,
    codes: &'static [&'static str],
) -> Scenario {
    Scenario {
        domain,
        args,
        only,
        codes,
        live_only: false,
    }
}

const fn live(
    domain: &'static str,
    args: &'static [&'static str],
    only: &'static str,
    codes: &'static [&'static str],
) -> Scenario {
    Scenario {
        domain,
        args,
        only,
        codes,
        live_only: true,
    }
}

const SCENARIOS: &[Scenario] = &[
    // mx
    s("ok.example.com", &[], "mx", &["mx.ok"]),
    s("missing.example.com", &[], "mx", &["mx.domain_not_found"]),
    s("nomail.example.com", &[], "mx", &["mx.no_mail_host"]),
    s("implicit.example.com", &[], "mx", &["mx.implicit"]),
    s("nullmx.example.com", &[], "mx", &["mx.null_mx"]),
    s(
        "mixednull.example.com",
        &[],
        "mx",
        &["mx.null_mx_mixed", "mx.ok"],
    ),
    s(
        "cname.example.com",
        &[],
        "mx",
        &["mx.no_usable_target", "mx.target_cname"],
    ),
    s(
        "addr.example.com",
        &[],
        "mx",
        &["mx.no_usable_target", "mx.target_address"],
    ),
    s("stale.example.com", &[], "mx", &["mx.target_no_address"]),
    s(
        "private.example.com",
        &[],
        "mx",
        &["mx.no_usable_target", "mx.target_private"],
    ),
    live("servfail.example.com", &[], "mx", &["mx.lookup_failed"]),
    // rdns
    s("example.com", &["--ip", "192.0.2.10"], "rdns", &["rdns.ok"]),
    s("example.com", &[], "rdns", &["rdns.no_ip"]),
    s(
        "example.com",
        &["--ip", "192.0.2.11"],
        "rdns",
        &["rdns.no_ptr"],
    ),
    s(
        "example.com",
        &["--ip", "192.0.2.12"],
        "rdns",
        &["rdns.not_forward_confirmed"],
    ),
    s(
        "example.com",
        &["--ip", "192.0.2.13"],
        "rdns",
        &["rdns.multiple_ptr"],
    ),
    s(
        "example.com",
        &["--ip", "192.0.2.14"],
        "rdns",
        &["rdns.generic_ptr"],
    ),
    s(
        "example.com",
        &["--ip", "10.1.1.1"],
        "rdns",
        &["rdns.private_ip"],
    ),
    live(
        "example.com",
        &["--ip", "192.0.2.15"],
        "rdns",
        &["rdns.lookup_failed"],
    ),
    s(
        "example.com",
        &["--ip", "2001:db8::25"],
        "rdns",
        &["rdns.ok"],
    ),
    s(
        "example.com",
        &["--ip", "2001:db8::26"],
        "rdns",
        &["rdns.no_ptr"],
    ),
    s(
        "example.com",
        &["--ip", "192.0.2.10", "--ip", "192.0.2.11"],
        "rdns",
        &["rdns.no_ptr", "rdns.ok"],
    ),
    // helo
    s(
        "example.com",
        &["--ip", "192.0.2.10", "--helo", "mail.example.com"],
        "helo",
        &["helo.ok"],
    ),
    s(
        "example.com",
        &["--ip", "192.0.2.10"],
        "helo",
        &["helo.not_given"],
    ),
    s(
        "example.com",
        &["--ip", "192.0.2.10", "--helo", "EXCHANGE01"],
        "helo",
        &["helo.not_fqdn"],
    ),
    s(
        "example.com",
        &["--ip", "192.0.2.10", "--helo", "server.corp.local"],
        "helo",
        &["helo.non_public"],
    ),
    s(
        "example.com",
        &["--ip", "192.0.2.10", "--helo", "bad!name.example.com"],
        "helo",
        &["helo.invalid"],
    ),
    s(
        "example.com",
        &["--ip", "192.0.2.10", "--helo", "[192.0.2.10]"],
        "helo",
        &["helo.address_literal"],
    ),
    s(
        "example.com",
        &["--ip", "192.0.2.10", "--helo", "192.0.2.10"],
        "helo",
        &["helo.bare_ip"],
    ),
    s(
        "example.com",
        &["--ip", "192.0.2.10", "--helo", "nowhere.example.com"],
        "helo",
        &["helo.does_not_resolve"],
    ),
    s(
        "example.com",
        &["--ip", "192.0.2.10", "--helo", "spfdeny.example.com"],
        "helo",
        &["helo.ptr_mismatch", "helo.spf_fail"],
    ),
    s(
        "example.com",
        &["--ip", "192.0.2.10", "--helo", "other.example.com"],
        "helo",
        &["helo.not_sending_ip", "helo.ptr_mismatch"],
    ),
    s(
        "example.com",
        &["--ip", "192.0.2.10", "--helo", "mail2.example.com"],
        "helo",
        &["helo.ptr_mismatch"],
    ),
    live(
        "example.com",
        &["--ip", "192.0.2.10", "--helo", "slow.example.com"],
        "helo",
        &["helo.lookup_failed"],
    ),
];

fn scenario_server() -> TestDns {
    let srv = server("scen");
    srv.misbehave("servfail.example.com", Misbehave::ServFail);
    srv.misbehave("15.2.0.192.in-addr.arpa", Misbehave::ServFail);
    srv.misbehave("slow.example.com", Misbehave::Drop);
    srv
}

/// Runs `check` with `--format json`; returns the codes and the exit code.
pub fn run_json(args: &[&str]) -> (BTreeSet<String>, i32, Value) {
    let out = bin()
        .arg("check")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("run");
    let code = out.status.code().expect("exit code");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?}: not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let codes = v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .flat_map(|c| c["findings"].as_array().expect("findings").iter())
        .map(|f| f["code"].as_str().expect("code").to_string())
        .collect();
    (codes, code, v)
}

/// The exit code DESIGN.md gives for a set of codes at `--fail-on fail`.
fn expected_exit(codes: &[&str]) -> i32 {
    let statuses: Vec<Status> = codes
        .iter()
        .map(|c| Code::from_id(c).expect("registry code").status())
        .collect();
    if statuses.contains(&Status::Fail) {
        1
    } else if statuses.contains(&Status::Error) {
        3
    } else {
        0
    }
}

fn run_scenarios(mode_args: &[String], offline: bool) {
    let mut failures = Vec::new();
    for sc in SCENARIOS.iter().filter(|sc| !(offline && sc.live_only)) {
        let mut args: Vec<&str> = vec![sc.domain, "--only", sc.only];
        args.extend(sc.args);
        args.extend(mode_args.iter().map(String::as_str));
        let (got, exit, _) = run_json(&args);
        let want: BTreeSet<String> = sc.codes.iter().map(|c| c.to_string()).collect();
        if got != want || exit != expected_exit(sc.codes) {
            failures.push(format!(
                "{:?}: got {got:?} exit {exit}, want {want:?} exit {}",
                &args[..args.len() - mode_args.len()],
                expected_exit(sc.codes)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} scenario(s) failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn scenarios_against_the_loopback_server() {
    let srv = scenario_server();
    run_scenarios(
        &[
            "--resolver".into(),
            srv.addr.to_string(),
            "--timeout".into(),
            "0.3".into(),
        ],
        false,
    );
}

#[test]
fn the_same_scenarios_offline_from_zone_files() {
    let dir = zones_dir("scen").display().to_string();
    run_scenarios(&["--zone".into(), dir, "--offline".into()], true);
}

#[test]
fn every_code_of_these_checks_has_a_scenario() {
    let covered: BTreeSet<&str> = SCENARIOS
        .iter()
        .flat_map(|s| s.codes.iter().copied())
        .collect();
    for c in Code::ALL {
        if ["mx", "rdns", "helo"].contains(&c.check()) {
            assert!(covered.contains(c.id()), "{} has no scenario", c.id());
        }
    }
}

#[test]
fn offline_without_a_zone_is_error_not_pass() {
    let (codes, exit, _) = run_json(&["example.org", "--offline", "--only", "mx"]);
    assert_eq!(codes, BTreeSet::from(["mx.lookup_failed".to_string()]));
    assert_eq!(exit, 3);
}

#[test]
fn json_has_the_documented_shape() {
    let srv = scenario_server();
    let addr = srv.addr.to_string();
    let (_, _, v) = run_json(&[
        "Example.COM.",
        "--ip",
        "192.0.2.12",
        "--helo",
        "mail.example.com",
        "--resolver",
        &addr,
        "--only",
        "rdns,helo",
    ]);
    assert_eq!(v["domain"], "example.com");
    assert_eq!(v["status"], "fail");
    assert_eq!(v["target"]["ips"][0], "192.0.2.12");
    assert_eq!(v["target"]["helo"], "mail.example.com");
    let rdns = &v["checks"][0];
    assert_eq!(rdns["id"], "rdns");
    assert!(rdns["elapsed_ms"].is_u64());
    let f = &rdns["findings"][0];
    assert_eq!(f["code"], "rdns.not_forward_confirmed");
    assert_eq!(f["status"], "fail");
    assert_eq!(
        f["message"],
        "192.0.2.12 has PTR other.example.com., which does not resolve back to it"
    );
    assert_eq!(
        f["evidence"],
        serde_json::json!([
            "12.2.0.192.in-addr.arpa. PTR other.example.com.",
            "other.example.com. A 192.0.2.99"
        ])
    );
    assert!(f["fix"]
        .as_str()
        .unwrap()
        .contains("other.example.com. A 192.0.2.12"));
    assert_eq!(v["checks"][1]["id"], "helo");
}

#[test]
fn shared_lookups_are_asked_once() {
    // rdns and helo both need the PTR of the IP and the A of its name.
    let srv = scenario_server();
    let addr = srv.addr.to_string();
    let (_, _, _) = run_json(&[
        "example.com",
        "--ip",
        "192.0.2.10",
        "--helo",
        "mail.example.com",
        "--resolver",
        &addr,
        // The SMTP probe would connect to the MX's documentation address,
        // off loopback: tests/smtp.rs routes its probes to loopback servers.
        "--skip",
        "smtp",
    ]);
    assert_eq!(srv.count("10.2.0.192.in-addr.arpa", "PTR"), 1);
    assert_eq!(srv.count("mail.example.com", "A"), 1);
}

#[test]
fn idn_domains_become_a_labels() {
    let (_, _, v) = run_json(&["bücher.example", "--offline", "--only", "mx"]);
    assert_eq!(v["domain"], "xn--bcher-kva.example");
}

#[test]
fn bad_input_is_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let bad_zone = dir.path().join("bad.zone");
    std::fs::write(
        &bad_zone,
        "$ORIGIN example.com.\n@ MX 10 mail\nmail A 192.0.2.300\n",
    )
    .unwrap();
    let bad_zone_arg = bad_zone.display().to_string();
    let long = "a".repeat(70);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["check", "exa mple.com"], "not a valid domain"),
        (vec!["check", &long], "at most 63"),
        (vec!["check", "example.com", "--ip", "192.0.2.300"], "--ip"),
        (
            vec!["check", "example.com", "--selector", "bad selector"],
            "--selector",
        ),
        (
            vec!["check", "example.com", "--resolver", "dns.example"],
            "--resolver",
        ),
        (
            vec!["check", "example.com", "--zone", "/nonexistent/x.zone"],
            "cannot read",
        ),
        (
            vec!["check", "example.com", "--zone", &bad_zone_arg],
            "bad.zone:3:",
        ),
        (vec!["check", "example.com", "--format", "yaml"], "yaml"),
        (
            vec!["check", "example.com", "--only", "mx,nope"],
            "not a check id",
        ),
        (
            vec!["check", "example.com", "--mail-from", "nobody"],
            "--mail-from",
        ),
        (vec!["check", "example.com", "--timeout", "0"], "--timeout"),
        (vec!["check", "192.0.2.1"], "IP address"),
    ];
    for (args, needle) in cases {
        let out = bin().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
        assert!(
            !err.contains("panicked") && !err.contains("RUST_BACKTRACE"),
            "{args:?}: {err}"
        );
        if !err.starts_with("error:") {
            // Our own messages are one line; clap's usage errors carry a usage hint.
            assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
            assert!(err.starts_with("mailpreflight: "), "{args:?}: {err}");
        }
    }
}

#[test]
fn table_output_and_no_colour_when_piped() {
    let dir = zones_dir("scen").display().to_string();
    let out = bin()
        .args([
            "check",
            "example.com",
            "--ip",
            "192.0.2.11",
            "--zone",
            &dir,
            "--offline",
            "--only",
            "rdns",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("rdns.no_ptr"), "{text}");
    assert!(text.contains("fix: Ask whoever owns 192.0.2.11"), "{text}");
    assert!(!text.contains('\x1b'), "colour while piped: {text:?}");
    let out = bin()
        .args([
            "check",
            "example.com",
            "--ip",
            "192.0.2.11",
            "--zone",
            &dir,
            "--offline",
            "--only",
            "rdns",
            "--color",
            "always",
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8(out.stdout).unwrap().contains('\x1b'));
}

#[test]
fn control_characters_from_dns_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("evil.zone"),
        "$ORIGIN evil.example.\n@ SOA ns hostmaster 1 2 3 4 5\n@ MX 10 mx\nmx A 10.0.0.1\n@ TXT \"\\027[2J\\027]0;pwned\\007\"\n",
    )
    .unwrap();
    let zone = dir.path().display().to_string();
    for format in ["table", "json"] {
        let out = bin()
            .args([
                "check",
                "evil.example",
                "--zone",
                &zone,
                "--offline",
                "--format",
                format,
            ])
            .output()
            .unwrap();
        assert!(!out.stdout.contains(&0x1b), "{format}: raw ESC in output");
    }
}

#[test]
fn a_closed_pipe_is_a_clean_exit() {
    use std::io::Read;
    use std::process::{Command as StdCommand, Stdio};
    let dir = zones_dir("scen").display().to_string();
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("mailpreflight"))
        .args([
            "check",
            "example.com",
            "--ip",
            "192.0.2.12",
            "--zone",
            &dir,
            "--offline",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert!(!err.contains("panicked"), "{err}");
    assert!(matches!(status.code(), Some(0 | 1)), "{status:?} {err}");
}

#[test]
fn the_built_in_example_runs_offline() {
    let root = env!("CARGO_MANIFEST_DIR");
    let out = bin()
        .current_dir(root)
        .args([
            "check",
            "example.com",
            "--zone",
            "examples/zones",
            "--offline",
            "--ip",
            "192.0.2.25",
            "--helo",
            "mail.example.com",
            "--selector",
            "s1",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("mx.target_no_address") && text.contains("rdns.generic_ptr"),
        "{text}"
    );
}

#[test]
fn usage_errors_and_help() {
    let out = bin().arg("--help").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let out = bin().arg("frobnicate").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn readme_lists_exactly_the_registry_and_its_commands_work() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let start = readme.find("<!-- codes:start -->\n").expect("codes:start")
        + "<!-- codes:start -->\n".len();
    let end = readme.find("<!-- codes:end -->").expect("codes:end");
    let out = bin().arg("codes").output().unwrap();
    assert_eq!(
        &readme[start..end],
        String::from_utf8(out.stdout).unwrap(),
        "README's code list differs from `mailpreflight codes`: regenerate it"
    );
    // The README opens with exactly the two set-up commands, and the test
    // command is the one .ci/run runs.
    let block: Vec<&str> = readme
        .split("```sh\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap()
        .lines()
        .collect();
    assert_eq!(block.len(), 2, "{block:?}");
    assert!(block[0].starts_with("cargo run -- check example.com --zone examples/zones --offline"));
    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run")).unwrap();
    assert!(ci.contains(block[1]), ".ci/run does not run {:?}", block[1]);
}
