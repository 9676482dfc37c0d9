//! Renderers: one file per format, each a pure function of the report.
//! Text that came from DNS or a remote server is escaped once, before any
//! renderer sees it, so no format can let a TXT record drive a terminal.

pub mod github;
pub mod json;
pub mod jsonl;
pub mod junit;
pub mod markdown;
pub mod table;

use mailpreflight_checks::{Change, Finding, Report, Status};

use crate::cli::FailOn;

/// Whether a finding makes the run fail under `--fail-on`: the one rule the
/// exit code and the CI formats share.
pub fn failing(f: &Finding, fail_on: FailOn) -> bool {
    let sev = f.status.severity();
    match fail_on {
        FailOn::Fail => sev >= Status::Fail.severity(),
        FailOn::Warn => sev >= Status::Warn.severity(),
        FailOn::New => sev >= Status::Warn.severity() && f.change == Some(Change::New),
    }
}

/// Control characters (C0, DEL, C1) and bidirectional overrides made
/// visible as `\xNN` / `\u{NNNN}`; everything else unchanged.
pub fn escape(s: &str) -> String {
    if !s.chars().any(needs_escape) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_escape(c) {
            if (c as u32) < 0x100 {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push_str(&format!("\\u{{{:04x}}}", c as u32));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// Escapes every network-derived string in the report.
pub fn sanitize(report: &mut Report) {
    for check in &mut report.checks {
        for f in &mut check.findings {
            f.message = escape(&f.message);
            f.fix = escape(&f.fix);
            for e in &mut f.evidence {
                *e = escape(e);
            }
        }
    }
}

/// Fixed reports for the renderers' golden tests: two domains, every status,
/// and text with the characters each format must escape.
#[cfg(test)]
pub mod sample {
    use mailpreflight_checks::{CheckReport, Code, Finding, Report, Status, Target};

    fn check(id: &'static str, elapsed_ms: u64, findings: Vec<Finding>) -> CheckReport {
        CheckReport {
            id,
            status: mailpreflight_checks::worst(findings.iter().map(|f| f.status)),
            elapsed_ms,
            findings,
            resolved: Vec::new(),
        }
    }

    pub fn reports() -> Vec<Report> {
        let checks = vec![
            check(
                "mx",
                12,
                vec![Finding::new(
                    Code::MxTargetNoAddress,
                    "backup.example.com. (MX 20 of example.com.) has no A or AAAA record",
                )
                .evidence([
                    "example.com. MX 20 backup.example.com.",
                    "; backup.example.com. A: no such name (NXDOMAIN)",
                ])],
            ),
            check(
                "rdns",
                7,
                vec![Finding::new(
                    Code::RdnsNoPtr,
                    "192.0.2.11 has no PTR record <b>*bold*</b> | [x](y) `z` @team",
                )
                .evidence(["; 11.2.0.192.in-addr.arpa. PTR: no such name (NXDOMAIN)"])],
            ),
            check(
                "helo",
                2000,
                vec![Finding::new(
                    Code::HeloLookupFailed,
                    "mail.example.com: 100% timed out, a:b",
                )
                .evidence(["; mail.example.com. A: timed out"])],
            ),
        ];
        let one = Report {
            domain: "example.com".into(),
            status: Status::Fail,
            target: Target {
                domain: "example.com".into(),
                ips: vec!["192.0.2.11".parse().unwrap()],
                helo: Some("mail.example.com".into()),
                ..Target::default()
            },
            checks,
        };
        let two = Report {
            domain: "ok.example".into(),
            status: Status::Pass,
            target: Target {
                domain: "ok.example".into(),
                ..Target::default()
            },
            checks: vec![
                check(
                    "mx",
                    3,
                    vec![Finding::new(Code::MxOk, "ok.example. has 1 usable MX host")
                        .evidence(["ok.example. MX 10 mx.ok.example."])],
                ),
                check(
                    "rdns",
                    0,
                    vec![Finding::new(Code::RdnsNoIp, "no sending IP given")],
                ),
            ],
        };
        vec![one, two]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_drives_a_terminal() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a\x1b[31mred"), "a\\x1b[31mred");
        assert_eq!(escape("x\u{9b}y\u{202e}z\n"), "x\\x9by\\u{202e}z\\x0a");
    }
}
