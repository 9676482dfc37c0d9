//! Bulk mode end to end: a domains file with good and malformed lines,
//! JSON Lines in input order, one shared cache across domains.

use serde_json::Value;

use crate::cli::bin;
use crate::support::server;

const FILE: &str = "\
# customer domains
ok.example.com 192.0.2.10 mail.example.com
stale.example.com
bad..example.com
mixednull.example.com 192.0.2.10,192.0.2.999
nullmx.example.com - mail.example.com

implicit.example.com mail.example.com
";

#[test]
fn a_domains_file_streams_json_lines_and_skips_bad_lines() {
    let srv = server("scen");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("domains.txt");
    std::fs::write(&path, FILE).unwrap();
    let out = bin()
        .args([
            "check",
            "--domains-file",
            path.to_str().unwrap(),
            "--resolver",
            &srv.addr.to_string(),
            "--format",
            "jsonl",
            "--only",
            "mx,helo",
            "--jobs",
            "3",
        ])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let domains: Vec<String> = stdout
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).expect("one JSON object per line")["domain"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        domains,
        [
            "ok.example.com",
            "stale.example.com",
            "nullmx.example.com",
            "implicit.example.com"
        ]
    );
    assert!(
        stderr.contains("domains.txt:4:") && stderr.contains("bad..example.com"),
        "{stderr}"
    );
    assert!(
        stderr.contains("domains.txt:5:") && stderr.contains("192.0.2.999"),
        "{stderr}"
    );
    assert!(
        stderr.contains("checked 4 domain(s)") && stderr.contains("2 malformed line(s) skipped"),
        "{stderr}"
    );
    // nullmx fails: exit 1.
    assert_eq!(out.status.code(), Some(1));
    // The line's HELO reached the target.
    let implicit: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(implicit["target"]["helo"], "mail.example.com");
    // Two domains share mx1.example.com: one cache, one query.
    assert_eq!(srv.count("mx1.example.com", "A"), 1);
}

#[test]
fn stdin_table_and_unordered() {
    let srv = server("scen");
    let out = bin()
        .args([
            "check",
            "--domains-file",
            "-",
            "--resolver",
            &srv.addr.to_string(),
            "--only",
            "mx",
            "--unordered",
        ])
        .write_stdin("ok.example.com\nnullmx.example.com\n")
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.starts_with("DOMAIN"), "{stdout}");
    assert_eq!(stdout.lines().count(), 3, "{stdout}");
    assert!(
        stdout.lines().any(|l| l.starts_with("nullmx.example.com")
            && l.contains("fail")
            && l.contains("mx.null_mx")),
        "{stdout}"
    );
}

#[test]
fn json_in_bulk_is_one_array() {
    let srv = server("scen");
    let out = bin()
        .args([
            "check",
            "--domains-file",
            "-",
            "--resolver",
            &srv.addr.to_string(),
            "--only",
            "mx",
            "--format",
            "json",
        ])
        .write_stdin("ok.example.com\nimplicit.example.com\n")
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).expect("a JSON array");
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_missing_domains_file_is_exit_2() {
    let out = bin()
        .args(["check", "--domains-file", "/nonexistent/list.txt"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("mailpreflight: --domains-file"));
    let out = bin().args(["check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
