//! The CI gate end to end with the built binary: every format over the
//! built-in example (offline, from examples/zones), `--output`, GitHub
//! annotations on the zone line, the config file, the baseline and the
//! zone-file lint.

use std::path::Path;

use serde_json::Value;

use crate::cli::bin;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The built-in example, offline, with extra arguments.
fn example(extra: &[&str]) -> (String, String, i32) {
    let out = bin()
        .current_dir(ROOT)
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
        .args(extra)
        .output()
        .expect("run");
    (
        String::from_utf8(out.stdout).expect("utf-8"),
        String::from_utf8(out.stderr).expect("utf-8"),
        out.status.code().expect("exit code"),
    )
}

#[test]
fn every_format_over_the_example() {
    for format in ["table", "json", "jsonl", "junit", "markdown", "github"] {
        let (out, err, code) = example(&["--format", format]);
        assert!(matches!(code, 0 | 1), "{format}: exit {code}: {err}");
        assert!(out.contains("mx.target_no_address"), "{format}: {out}");
        match format {
            "json" => {
                let v: Value = serde_json::from_str(&out).expect("json");
                assert_eq!(v["domain"], "example.com");
            }
            "jsonl" => {
                assert_eq!(out.lines().count(), 1, "{out}");
                let v: Value = serde_json::from_str(out.trim_end()).expect("jsonl");
                assert_eq!(v["domain"], "example.com");
            }
            "junit" => {
                let r = quick_junit::Report::deserialize_from_str(&out).expect("junit xml");
                assert_eq!(r.test_suites.len(), 1);
                assert_eq!(r.test_suites[0].name.as_str(), "example.com");
                let names: Vec<&str> = r.test_suites[0]
                    .test_cases
                    .iter()
                    .map(|c| c.name.as_str())
                    .collect();
                assert!(names.starts_with(&["mx", "rdns", "helo"]), "{names:?}");
            }
            "markdown" => assert!(out.starts_with("## mailpreflight: "), "{out}"),
            _ => {}
        }
    }
}

#[test]
fn github_annotations_point_at_the_zone_line() {
    let (out, _, _) = example(&["--format", "github"]);
    let mx = out
        .lines()
        .find(|l| l.contains("mx.target_no_address"))
        .expect("mx annotation");
    // Line 12 of the example is `@ MX 20 backup.example.com.`, the stale MX.
    assert!(
        mx.starts_with("::warning file=examples/zones/example.com.zone,line=12,title="),
        "{mx}"
    );
    let zone =
        std::fs::read_to_string(Path::new(ROOT).join("examples/zones/example.com.zone")).unwrap();
    assert!(zone.lines().nth(11).unwrap().contains("MX  20 backup"));
    let ptr = out
        .lines()
        .find(|l| l.contains("rdns.generic_ptr"))
        .expect("ptr annotation");
    assert!(
        ptr.starts_with("::warning file=examples/zones/2.0.192.in-addr.arpa.zone,line=6,"),
        "{ptr}"
    );
    // No raw newline inside an annotation: each is one workflow command.
    assert!(out
        .lines()
        .all(|l| l.starts_with("::") || l.starts_with("example.com: ")));
}

#[test]
fn output_file_gets_the_format_and_the_terminal_the_table() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.xml");
    let file_arg = file.display().to_string();
    let (out, _, _) = example(&["--format", "junit", "--output", &file_arg]);
    assert!(out.starts_with("mailpreflight example.com"), "{out}");
    assert!(out.contains("CHECK"), "{out}");
    let xml = std::fs::read_to_string(&file).unwrap();
    assert!(xml.starts_with("<?xml"), "{xml}");
    quick_junit::Report::deserialize_from_str(&xml).expect("junit xml");
}

#[test]
fn fail_on_new_needs_a_baseline() {
    let (_, err, code) = example(&["--fail-on", "new"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("mailpreflight: --fail-on new needs --baseline"),
        "{err}"
    );
}

/// `check` with the example config (and extra arguments), from the repo root.
fn with_config(args: &[&str]) -> (String, String, i32) {
    let out = bin()
        .current_dir(ROOT)
        .args(["check", "--config", "examples/mailpreflight.toml"])
        .args(args)
        .output()
        .expect("run");
    (
        String::from_utf8(out.stdout).expect("utf-8"),
        String::from_utf8(out.stderr).expect("utf-8"),
        out.status.code().expect("exit code"),
    )
}

#[test]
fn the_example_config_runs_in_every_format() {
    for format in ["table", "json", "jsonl", "junit", "markdown", "github"] {
        let (out, err, code) = with_config(&["--format", format]);
        assert!(matches!(code, 0 | 1), "{format}: exit {code}: {err}");
        assert!(err.is_empty(), "{format}: {err}");
        match format {
            "json" => {
                let v: Value = serde_json::from_str(&out).expect("json");
                let domains: Vec<&str> = v
                    .as_array()
                    .expect("an array for several domains")
                    .iter()
                    .map(|r| r["domain"].as_str().unwrap())
                    .collect();
                assert_eq!(domains, ["example.com", "example.net"]);
            }
            "jsonl" => {
                let domains: Vec<String> = out
                    .lines()
                    .map(|l| serde_json::from_str::<Value>(l).expect("jsonl")["domain"].to_string())
                    .collect();
                assert_eq!(domains, ["\"example.com\"", "\"example.net\""]);
            }
            "junit" => {
                let r = quick_junit::Report::deserialize_from_str(&out).expect("junit");
                assert_eq!(r.test_suites.len(), 2);
            }
            "markdown" => {
                assert!(
                    out.contains("| example.net | info | 0 | 0 | 0 | 1 |"),
                    "{out}"
                );
            }
            "github" => {
                assert!(
                    out.contains("::warning file=examples/zones/example.com.zone,line=12,"),
                    "{out}"
                );
            }
            _ => assert!(out.contains("mailpreflight example.net"), "{out}"),
        }
    }
}

#[test]
fn config_settings_and_severity_overrides_apply() {
    let (out, _, code) = with_config(&["--format", "json"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let com = &v[0];
    assert_eq!(com["target"]["ips"][0], "192.0.2.25");
    assert_eq!(com["target"]["helo"], "mail.example.com");
    assert_eq!(com["target"]["mail_from"], "bounce@example.com");
    assert_eq!(com["target"]["selectors"][0], "s1");
    // [domain.severity] turned the generic PTR (a warn) into info.
    let rdns = &com["checks"][1];
    assert_eq!(rdns["id"], "rdns");
    assert_eq!(rdns["findings"][0]["code"], "rdns.generic_ptr");
    assert_eq!(rdns["findings"][0]["status"], "info");
    assert_eq!(rdns["status"], "info");
    assert_eq!(code, 0);
    // With --fail-on warn the remaining warnings fail the gate, the
    // downgraded one alone would not.
    let (_, _, code) = with_config(&["--fail-on", "warn"]);
    assert_eq!(code, 1);
    let (_, _, code) = with_config(&["--fail-on", "warn", "--only", "rdns"]);
    assert_eq!(code, 0);
}

#[test]
fn the_command_line_overrides_the_file() {
    // One domain of the file, with another IP (no PTR there): only it runs.
    let (out, _, code) = with_config(&["example.com", "--ip", "192.0.2.99", "--format", "jsonl"]);
    assert_eq!(out.lines().count(), 1, "{out}");
    let v: Value = serde_json::from_str(out.trim_end()).unwrap();
    assert_eq!(v["target"]["ips"], serde_json::json!(["192.0.2.99"]));
    assert_eq!(v["target"]["helo"], "mail.example.com");
    assert!(out.contains("rdns.no_ptr"), "{out}");
    assert_eq!(code, 1);
    // A domain the file does not list still gets its defaults (offline, zones).
    let (out, _, _) = with_config(&["example.org", "--only", "mx", "--format", "jsonl"]);
    assert!(out.contains("mx.lookup_failed"), "{out}");
    assert!(out.contains("not available offline"), "{out}");
}

#[test]
fn a_config_in_the_working_directory_is_found() {
    let out = bin()
        .current_dir(Path::new(ROOT).join("examples"))
        .args(["check", "--format", "jsonl", "--only", "mx"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
}

#[test]
fn bad_config_is_exit_2_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("[defaults]\noffline = true\n\n[[domain]]\nname = \"example.com\"\nhelo_name = \"mail\"\n", "mailpreflight.toml:6: unknown field `helo_name`"),
        ("[[domain]]\nname = \"example.com\"\n[domain.severity]\n\"mx.nope\" = \"info\"\n", "mailpreflight.toml:4: \"mx.nope\" is not a finding code"),
        ("[[domain]]\nname = \"exa mple.com\"\n", "mailpreflight.toml:2: domain"),
        ("[defaults]\ntimeout = \"x\"\n", "mailpreflight.toml:2:"),
        ("[defaults]\noffline = true\n", "no [[domain]] entries"),
    ];
    for (text, needle) in cases {
        let path = dir.path().join("mailpreflight.toml");
        std::fs::write(&path, text).unwrap();
        let out = bin()
            .current_dir(dir.path())
            .args(["check"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(needle), "{err:?} lacks {needle:?}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
    let out = bin()
        .args(["check", "--config", "/nonexistent/mailpreflight.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// A copy of examples/zones in a temporary folder, with `edit` applied to
/// the example.com zone.
fn proposed_zones(edit: impl Fn(String) -> String) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(Path::new(ROOT).join("examples/zones")).unwrap() {
        let p = entry.unwrap().path();
        let mut text = std::fs::read_to_string(&p).unwrap();
        if p.file_name().unwrap() == "example.com.zone" {
            text = edit(text);
        }
        std::fs::write(dir.path().join(p.file_name().unwrap()), text).unwrap();
    }
    dir
}

fn check_zones(zones: &Path, extra: &[&str]) -> (String, i32) {
    let out = bin()
        .args([
            "check",
            "example.com",
            "--zone",
            &zones.display().to_string(),
            "--offline",
            "--ip",
            "192.0.2.25",
            "--helo",
            "mail.example.com",
        ])
        .args(extra)
        .output()
        .unwrap();
    (
        String::from_utf8(out.stdout).unwrap(),
        out.status.code().unwrap(),
    )
}

#[test]
fn baseline_marks_changes_and_fail_on_new_fails_only_on_regressions() {
    let before = proposed_zones(|z| z);
    let (baseline, _) = check_zones(before.path(), &["--format", "json"]);
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("previous.json");
    std::fs::write(&base, &baseline).unwrap();
    let base_arg = base.display().to_string();

    // The same zones: warnings remain, none is new; the gate passes even at warn.
    let (out, code) = check_zones(
        before.path(),
        &[
            "--baseline",
            &base_arg,
            "--fail-on",
            "new",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(v["checks"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .all(|f| f["change"] == "unchanged"));
    let (_, code) = check_zones(before.path(), &["--fail-on", "warn"]);
    assert_eq!(code, 1, "the same warnings fail a plain --fail-on warn");

    // A pull request adds an MX to a host without an address: that one is new.
    let after = proposed_zones(|z| {
        z.replace(
            "@         MX  20 backup.example.com.",
            "@         MX  20 backup.example.com.\n@         MX  30 spare.example.com.",
        )
    });
    let (out, code) = check_zones(
        after.path(),
        &[
            "--baseline",
            &base_arg,
            "--fail-on",
            "new",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 1, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let changes: Vec<(String, String)> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|c| c["findings"].as_array().unwrap().iter())
        .map(|f| {
            (
                f["message"].as_str().unwrap().to_string(),
                f["change"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let new: Vec<&(String, String)> = changes.iter().filter(|(_, c)| c == "new").collect();
    assert_eq!(new.len(), 1, "{changes:?}");
    assert!(new[0].0.contains("spare.example.com."), "{new:?}");

    // Another removes the stale MX: its finding is listed as resolved.
    let fixed = proposed_zones(|z| z.replace("@         MX  20 backup.example.com.\n", ""));
    let (out, code) = check_zones(
        fixed.path(),
        &[
            "--baseline",
            &base_arg,
            "--fail-on",
            "new",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        v["checks"][0]["resolved"][0]["code"], "mx.target_no_address",
        "{out}"
    );
    let (md, _) = check_zones(
        fixed.path(),
        &["--baseline", &base_arg, "--format", "markdown"],
    );
    assert!(
        md.contains("- resolved `mx.target_no_address` (mx): ~~"),
        "{md}"
    );
}

#[test]
fn a_baseline_that_is_not_a_report_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("previous.json");
    std::fs::write(&base, "<testsuites/>").unwrap();
    let (_, err, code) = example(&["--baseline", &base.display().to_string()]);
    assert_eq!(code, 2);
    assert!(err.starts_with("mailpreflight: --baseline "), "{err}");
}

/// `check DOMAIN --only lint` over tests/zones/gate; the codes, the exit code
/// and the output in `format`.
fn lint(domain: &str, zone: bool, format: &str) -> (Vec<String>, i32, String) {
    let mut cmd = bin();
    cmd.current_dir(ROOT).args([
        "check",
        domain,
        "--offline",
        "--only",
        "lint",
        "--format",
        format,
    ]);
    if zone {
        cmd.args(["--zone", "tests/zones/gate"]);
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    let codes = if format == "jsonl" {
        let v: Value = serde_json::from_str(text.trim_end()).unwrap();
        let mut c: Vec<String> = v["checks"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["code"].as_str().unwrap().to_string())
            .collect();
        c.sort();
        c
    } else {
        Vec::new()
    };
    (codes, out.status.code().unwrap(), text)
}

#[test]
fn lint_finds_what_breaks_mail_in_the_proposed_zone() {
    let (codes, exit, _) = lint("shop.test", true, "jsonl");
    assert_eq!(
        codes,
        [
            "lint.cname_and_other_data",
            "lint.mx_duplicate",
            "lint.spf_multiple",
            "lint.spf_split",
            "lint.txt_string_too_long"
        ]
    );
    assert_eq!(exit, 1);
    let (_, _, gh) = lint("shop.test", true, "github");
    let at = |code: &str| {
        gh.lines()
            .find(|l| l.contains(code))
            .unwrap_or_else(|| panic!("no {code} in {gh}"))
            .split("::")
            .nth(1)
            .unwrap()
            .split(",title=")
            .next()
            .unwrap()
            .to_string()
    };
    let file = "tests/zones/gate/shop.test.zone";
    assert_eq!(
        at("lint.mx_duplicate"),
        format!("warning file={file},line=7")
    );
    assert_eq!(at("lint.spf_split"), format!("error file={file},line=11"));
    assert_eq!(
        at("lint.spf_multiple"),
        format!("error file={file},line=13")
    );
    assert_eq!(
        at("lint.cname_and_other_data"),
        format!("error file={file},line=15")
    );
    assert_eq!(
        at("lint.txt_string_too_long"),
        format!("error file={file},line=18")
    );
}

#[test]
fn lint_is_ok_on_a_clean_zone_and_skipped_without_one() {
    let (codes, exit, _) = lint("clean.test", true, "jsonl");
    assert_eq!((codes, exit), (vec!["lint.ok".to_string()], 0));
    let (codes, exit, _) = lint("clean.test", false, "jsonl");
    assert_eq!((codes, exit), (vec!["lint.no_zone".to_string()], 0));
    // Zones loaded, but none of this domain's.
    let (codes, _, _) = lint("other.test", true, "jsonl");
    assert_eq!(codes, ["lint.no_zone"]);
}

#[test]
fn every_lint_code_has_a_scenario() {
    let mut seen = std::collections::BTreeSet::new();
    for (d, zone) in [
        ("shop.test", true),
        ("clean.test", true),
        ("clean.test", false),
    ] {
        seen.extend(lint(d, zone, "jsonl").0);
    }
    for c in mailpreflight_checks::Code::ALL {
        if c.check() == "lint" {
            assert!(seen.contains(c.id()), "{} has no scenario", c.id());
        }
    }
}

#[test]
fn the_readme_config_and_ci_commands_run() {
    let readme = std::fs::read_to_string(Path::new(ROOT).join("README.md")).unwrap();
    let ci = &readme[readme.find("## Use in CI").expect("Use in CI section")..];
    let toml = ci
        .split("```toml\n")
        .nth(1)
        .and_then(|b| b.split("```").next())
        .expect("a toml block");
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("zones")).unwrap();
    for entry in std::fs::read_dir(Path::new(ROOT).join("examples/zones")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, dir.path().join("zones").join(p.file_name().unwrap())).unwrap();
    }
    std::fs::write(dir.path().join("mailpreflight.toml"), toml).unwrap();
    // The job's steps: a baseline, then the gate against it, in each CI format.
    let run = |args: &[&str]| {
        let out = bin().current_dir(dir.path()).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(err.is_empty(), "{args:?}: {err}");
        (
            out.status.code().unwrap(),
            String::from_utf8(out.stdout).unwrap(),
        )
    };
    let (code, _) = run(&[
        "check",
        "--config",
        "mailpreflight.toml",
        "--format",
        "json",
        "--output",
        "previous.json",
    ]);
    assert_ne!(code, 2);
    for format in ["github", "markdown", "junit"] {
        let (code, out) = run(&[
            "check",
            "--baseline",
            "previous.json",
            "--fail-on",
            "new",
            "--format",
            format,
        ]);
        assert_eq!(code, 0, "{format}: nothing is new: {out}");
    }
}

/// Writes `toml` as a config in a temporary folder; returns the folder.
fn config_file(toml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("mailpreflight.toml"), toml).unwrap();
    dir
}

/// `check` with the config in `dir` and extra arguments; every finding's
/// code per domain (sorted), and the exit code.
fn expect_run(dir: &Path, extra: &[&str]) -> (Vec<(String, Vec<String>)>, i32) {
    let out = bin()
        .current_dir(dir)
        .args(["check", "--format", "jsonl"])
        .args(extra)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.is_empty(), "{err}");
    let per_domain = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            let mut codes: Vec<String> = v["checks"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|c| c["findings"].as_array().unwrap().iter())
                .map(|f| f["code"].as_str().unwrap().to_string())
                .collect();
            codes.sort();
            (v["domain"].as_str().unwrap().to_string(), codes)
        })
        .collect();
    (per_domain, out.status.code().unwrap())
}

const EXAMPLE_ZONES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/zones");

#[test]
fn expectations_the_example_does_not_meet() {
    let dir = config_file(&format!(
        r#"[defaults]
offline = true
zones = ["{EXAMPLE_ZONES}"]

[expect]
min_dmarc_policy = "quarantine"
max_spf_lookups = 1
min_dkim_bits = 2048

[[domain]]
name = "example.com"
ips = ["192.0.2.25"]
[domain.expect]
selectors = ["s1", "s2"]
authorized_ips = ["192.0.2.25", "192.0.2.77"]

[[domain]]
name = "example.net"
[domain.expect]
min_dmarc_policy = "reject"
max_spf_lookups = 0
"#
    ));
    let (got, code) = expect_run(dir.path(), &["--only", "expect"]);
    assert_eq!(
        got,
        [
            (
                "example.com".to_string(),
                vec![
                    "expect.dkim_key_too_small".to_string(),
                    "expect.dmarc_policy_weaker".into(),
                    "expect.ip_not_authorized".into(),
                    "expect.selector_missing".into(),
                    "expect.spf_too_many_lookups".into(),
                ]
            ),
            // Its own rules are met; the global key size cannot be checked
            // without a selector.
            (
                "example.net".to_string(),
                vec!["expect.not_checked".to_string(), "expect.ok".into()]
            ),
        ]
    );
    assert_eq!(code, 1);
    // Only what is wrong is named: 192.0.2.25 is authorised, .77 is not.
    let out = bin()
        .current_dir(dir.path())
        .args([
            "check",
            "example.com",
            "--only",
            "expect",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let msgs: Vec<&str> = v["checks"][0]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert!(
        msgs.contains(&"192.0.2.77 must be authorised, but the SPF of example.com gives softfail (decided by ~all)"),
        "{msgs:?}"
    );
    assert!(msgs.contains(
        &"the DMARC policy for example.com is p=none; at least p=quarantine is expected"
    ));
    assert!(msgs.contains(
        &"the SPF of example.com needs 2 DNS lookups, more than the 1 the config allows"
    ));
}

#[test]
fn expectations_met_none_and_unverifiable() {
    let dir = config_file(&format!(
        r#"[defaults]
offline = true
zones = ["{EXAMPLE_ZONES}"]

[[domain]]
name = "example.com"
[domain.expect]
min_dmarc_policy = "none"
max_spf_lookups = 10
min_dkim_bits = 1024
selectors = ["s1"]
authorized_ips = ["192.0.2.25"]

[[domain]]
name = "example.org"
[domain.expect]
min_dmarc_policy = "reject"
"#
    ));
    let (got, code) = expect_run(dir.path(), &["--only", "expect"]);
    assert_eq!(
        got[0],
        ("example.com".into(), vec!["expect.ok".to_string()])
    );
    // Not under any zone, offline: could not ask, never a pass or a fail.
    assert_eq!(
        got[1],
        (
            "example.org".into(),
            vec!["expect.lookup_failed".to_string()]
        )
    );
    assert_eq!(code, 3);
    // A domain without expectations: the check is left out, unless asked for.
    let plain = config_file(&format!(
        "[defaults]\noffline = true\nzones = [\"{EXAMPLE_ZONES}\"]\n[[domain]]\nname = \"example.com\"\n"
    ));
    let (got, _) = expect_run(plain.path(), &[]);
    assert!(
        !got[0].1.iter().any(|c| c.starts_with("expect.")),
        "{got:?}"
    );
    let (got, _) = expect_run(plain.path(), &["--only", "expect"]);
    assert_eq!(got[0].1, ["expect.none"]);
}

#[test]
fn bad_expectations_are_exit_2_with_the_line() {
    for (text, needle) in [
        (
            "[expect]\nmin_dmarc_policy = \"strict\"\n[[domain]]\nname = \"a.test\"\n",
            "mailpreflight.toml:2: min_dmarc_policy is \"strict\"",
        ),
        (
            "[expect]\nmax_spf_lookups = 11\n[[domain]]\nname = \"a.test\"\n",
            "mailpreflight.toml:2: max_spf_lookups is 11",
        ),
        (
            "[[domain]]\nname = \"a.test\"\n[domain.expect]\nauthorized_ips = [\"mail.a.test\"]\n",
            "mailpreflight.toml:4: --ip \"mail.a.test\"",
        ),
        (
            "[expect]\nmin_policy = \"reject\"\n",
            "mailpreflight.toml:2: unknown field `min_policy`",
        ),
    ] {
        let dir = config_file(text);
        let out = bin().current_dir(dir.path()).arg("check").output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{text}: {err}");
        assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    }
}

#[test]
fn expectations_reuse_the_checks_lookups() {
    let srv = crate::support::server("gate");
    let dir = config_file(&format!(
        r#"[defaults]
resolvers = ["{}"]
timeout = 1

[[domain]]
name = "clean.test"
ips = ["192.0.2.30"]
selectors = ["s1"]
[domain.expect]
min_dmarc_policy = "reject"
max_spf_lookups = 5
min_dkim_bits = 1024
selectors = ["s1"]
authorized_ips = ["192.0.2.30"]
"#,
        srv.addr
    ));
    let (got, _) = expect_run(dir.path(), &["--only", "spf,dkim,dmarc,expect"]);
    assert!(got[0].1.contains(&"expect.ok".to_string()), "{got:?}");
    // The expect check asks what spf, dkim and dmarc asked: once each.
    for (name, rtype) in [
        ("clean.test", "TXT"),
        ("_dmarc.clean.test", "TXT"),
        ("s1._domainkey.clean.test", "TXT"),
        ("mail.clean.test", "A"),
    ] {
        assert_eq!(srv.count(name, rtype), 1, "{name} {rtype}");
    }
}

#[test]
fn every_expect_code_has_a_scenario() {
    // The codes the expect tests above assert, checked against the registry
    // so a new code cannot go untested.
    let tested = [
        "expect.ok",
        "expect.none",
        "expect.dmarc_policy_weaker",
        "expect.spf_too_many_lookups",
        "expect.ip_not_authorized",
        "expect.selector_missing",
        "expect.dkim_key_too_small",
        "expect.not_checked",
        "expect.lookup_failed",
    ];
    for c in mailpreflight_checks::Code::ALL {
        if c.check() == "expect" {
            assert!(tested.contains(&c.id()), "{} has no scenario", c.id());
        }
    }
}

#[test]
fn bulk_mode_refuses_what_needs_the_whole_run() {
    let dir = tempfile::tempdir().unwrap();
    let list = dir.path().join("domains.txt");
    std::fs::write(&list, "example.com\n").unwrap();
    let list = list.display().to_string();
    for (extra, needle) in [
        (
            vec!["--format", "junit"],
            "--domains-file streams its report",
        ),
        (
            vec!["--baseline", "x.json"],
            "--baseline cannot be combined",
        ),
        (vec!["--fail-on", "new"], "--fail-on new needs --baseline"),
    ] {
        let out = bin()
            .args(["check", "--domains-file", &list, "--offline"])
            .args(&extra)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.contains(needle), "{err:?} lacks {needle:?}");
    }
}

#[test]
fn no_domain_and_no_config_is_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin().current_dir(dir.path()).arg("check").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.starts_with("mailpreflight: give a DOMAIN to check") && err.contains("--config"),
        "{err}"
    );
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
}
