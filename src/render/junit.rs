//! `--format junit`: JUnit XML as CI servers read it (Jenkins, GitLab, Azure
//! DevOps). A testsuite per domain, a testcase per check. A check with a
//! finding at or above `--fail-on` is a `<failure>`; one that could not be
//! determined is an `<error>`; a skipped check is `<skipped>`. The element's
//! text lists every finding that is not a pass, with evidence and fix.

use std::fmt::Write as _;
use std::time::Duration;

use quick_junit::{NonSuccessKind, Report as Junit, TestCase, TestCaseStatus, TestSuite};

use mailpreflight_checks::{Change, CheckReport, Finding, Report, Status};

use super::failing;
use crate::cli::FailOn;

pub fn render(reports: &[Report], fail_on: FailOn) -> String {
    let mut junit = Junit::new("mailpreflight");
    for r in reports {
        let mut suite = TestSuite::new(r.domain.as_str());
        for c in &r.checks {
            let status = status(c, fail_on);
            let passed = matches!(status, TestCaseStatus::Success { .. });
            let mut case = TestCase::new(c.id, status);
            case.set_classname(r.domain.as_str());
            // Warnings under --fail-on fail pass the gate but stay visible.
            let notes = describe(c);
            if passed && !notes.is_empty() {
                case.set_system_out(notes);
            }
            case.set_time(Duration::from_millis(c.elapsed_ms));
            suite.add_test_case(case);
        }
        junit.add_test_suite(suite);
    }
    match junit.to_string() {
        Ok(xml) => without_root_skipped(xml),
        Err(e) => format!("<!-- cannot write JUnit XML: {e} -->\n"),
    }
}

/// The `skipped` count on `<testsuites>` is not in the schema Jenkins
/// validates against (xunit's junit-10.xsd allows it on `<testsuite>`
/// only), so it goes; each testsuite still carries its own.
fn without_root_skipped(xml: String) -> String {
    let Some(start) = xml.find("<testsuites") else {
        return xml;
    };
    let end = xml[start..].find('>').map_or(xml.len(), |e| start + e);
    let tag = &xml[start..end];
    let Some(at) = tag.find(" skipped=\"") else {
        return xml;
    };
    let value_end = tag[at + 10..]
        .find('"')
        .map_or(tag.len(), |e| at + 10 + e + 1);
    format!("{}{}{}", &xml[..start + at], &tag[value_end..], &xml[end..])
}

fn status(c: &CheckReport, fail_on: FailOn) -> TestCaseStatus {
    let first = |p: &dyn Fn(&Finding) -> bool| c.findings.iter().find(|f| p(f));
    let (mut status, lead) = if let Some(f) = first(&|f| failing(f, fail_on)) {
        (TestCaseStatus::non_success(NonSuccessKind::Failure), f)
    } else if let Some(f) = first(&|f| f.status == Status::Error) {
        (TestCaseStatus::non_success(NonSuccessKind::Error), f)
    } else if c.status == Status::Skip {
        let mut s = TestCaseStatus::skipped();
        if let Some(f) = c.findings.first() {
            s.set_message(f.message.as_str());
        }
        return s;
    } else {
        return TestCaseStatus::success();
    };
    status.set_message(format!("{}: {}", lead.code.id(), lead.message));
    status.set_type(lead.code.id());
    status.set_description(describe(c));
    status
}

/// Every finding that is not a pass, as the table shows it.
fn describe(c: &CheckReport) -> String {
    let mut s = String::new();
    for f in c
        .findings
        .iter()
        .filter(|f| !matches!(f.status, Status::Pass | Status::Skip))
    {
        let new = if f.change == Some(Change::New) {
            " (new)"
        } else {
            ""
        };
        let _ = writeln!(s, "{} {}{new}: {}", f.status, f.code.id(), f.message);
        for e in &f.evidence {
            let _ = writeln!(s, "    {e}");
        }
        let _ = writeln!(s, "  fix: {}", f.fix);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::sample::reports;

    #[test]
    fn a_testcase_per_check_per_domain() {
        let got = render(&reports(), FailOn::Fail);
        let want = r#"<?xml version="1.0" encoding="UTF-8"?>
<testsuites name="mailpreflight" tests="5" failures="1" errors="1">
    <testsuite name="example.com" tests="3" skipped="0" errors="1" failures="1">
        <testcase name="mx" classname="example.com" time="0.012">
            <system-out>warn mx.target_no_address: backup.example.com. (MX 20 of example.com.) has no A or AAAA record
    example.com. MX 20 backup.example.com.
    ; backup.example.com. A: no such name (NXDOMAIN)
  fix: Publish an A (and AAAA) record for the MX host, or remove the stale MX.
</system-out>
        </testcase>
        <testcase name="rdns" classname="example.com" time="0.007">
            <failure message="rdns.no_ptr: 192.0.2.11 has no PTR record &lt;b&gt;*bold*&lt;/b&gt; | [x](y) `z` @team" type="rdns.no_ptr">fail rdns.no_ptr: 192.0.2.11 has no PTR record &lt;b&gt;*bold*&lt;/b&gt; | [x](y) `z` @team
    ; 11.2.0.192.in-addr.arpa. PTR: no such name (NXDOMAIN)
  fix: Ask whoever owns the IP (your ISP, hosting or cloud provider) to set its PTR to your mail host&apos;s name, e.g. mail.DOMAIN, whose A/AAAA record is that IP.
</failure>
        </testcase>
        <testcase name="helo" classname="example.com" time="2.000">
            <error message="helo.lookup_failed: mail.example.com: 100% timed out, a:b" type="helo.lookup_failed">error helo.lookup_failed: mail.example.com: 100% timed out, a:b
    ; mail.example.com. A: timed out
  fix: Check that the HELO name&apos;s name servers answer, then run again.
</error>
        </testcase>
    </testsuite>
    <testsuite name="ok.example" tests="2" skipped="1" errors="0" failures="0">
        <testcase name="mx" classname="ok.example" time="0.003"/>
        <testcase name="rdns" classname="ok.example" time="0.000">
            <skipped message="no sending IP given"/>
        </testcase>
    </testsuite>
</testsuites>
"#;
        assert_eq!(got, want);
    }
}
