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
