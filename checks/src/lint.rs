//! lint — the zone files themselves, before any check asks them anything.
//!
//! Runs when zone files are loaded (`--zone`, the CI gate's offline mode) on
//! the zones of the checked domain (a zone that covers it, or one under it),
//! and is skipped otherwise. It catches records that would break mail once
//! published, each pointing at its file and line:
//! - a TXT character-string over 255 octets: the master-file reader accepts
//!   it, but it cannot be sent on the wire (RFC 1035 §3.3);
//! - an SPF policy split across several TXT records, or several `v=spf1`
//!   records at one name: receivers read one record, so the rest is lost or
//!   the result is a permerror (RFC 7208 §3.2, §3.3, §4.5);
//! - the same MX host listed more than once at a name;
//! - a CNAME beside other data at the same name (RFC 1034 §3.6.2,
//!   RFC 2181 §10.1).
//!
//! Codes: lint.ok, lint.no_zone, lint.txt_string_too_long, lint.spf_split,
//! lint.spf_multiple, lint.mx_duplicate, lint.cname_and_other_data.

use std::collections::BTreeMap;
use std::path::Path;

use crate::dns::zone::ZoneRecord;
use crate::dns::{normalize, RData, Zone};
use crate::{Check, Code, Ctx, Finding};

pub struct LintCheck;

#[async_trait::async_trait]
impl Check for LintCheck {
    fn id(&self) -> &'static str {
        "lint"
    }

    fn title(&self) -> &'static str {
        "The zone files have no records that break mail once published"
    }

    async fn run(&self, ctx: &Ctx) -> Vec<Finding> {
        lint(ctx.dns.zones(), &ctx.target.domain)
    }
}

/// Lints the zones that belong to `domain`.
pub fn lint(zones: &[Zone], domain: &str) -> Vec<Finding> {
    if zones.is_empty() {
        return vec![Finding::new(
            Code::LintNoZone,
            "no zone file loaded (--zone): the zone files were not linted",
        )];
    }
    let domain = normalize(domain);
    let mut mine: Vec<&Zone> = zones
        .iter()
        .filter(|z| z.covers(&domain) || under(z.origin(), &domain))
        .collect();
    if mine.is_empty() {
        return vec![Finding::new(
            Code::LintNoZone,
            format!("no loaded zone file covers {domain}.: nothing of it to lint"),
        )];
    }
    mine.sort_by(|a, b| a.path().cmp(b.path()));
    let mut findings = Vec::new();
    for z in &mine {
        lint_zone(z, &mut findings);
    }
    if findings.is_empty() {
        // Messages name zones, not files and lines: a finding must stay the
        // same finding (for --baseline) when an edit above it shifts lines.
        let origins: Vec<String> = mine.iter().map(|z| format!("{}.", z.origin())).collect();
        findings.push(
            Finding::new(
                Code::LintOk,
                format!(
                    "the zone file of {} has no record that breaks mail",
                    origins.join(", ")
                ),
            )
            .evidence(mine.iter().map(|z| format!("; {}", display(z.path())))),
        );
    }
    findings
}

/// Whether `name` is at or under `parent`.
fn under(name: &str, parent: &str) -> bool {
    name == parent || name.ends_with(&format!(".{parent}"))
}

fn display(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").unwrap_or(&s).to_string()
}

/// `; FILE:LINE` then the record: the evidence of one zone-file record.
fn at(file: &str, r: &ZoneRecord) -> [String; 2] {
    [format!("; {file}:{}", r.line), r.record.to_zone()]
}

fn lint_zone(z: &Zone, out: &mut Vec<Finding>) {
    let file = display(z.path());
    let mut by_name: BTreeMap<String, Vec<&ZoneRecord>> = BTreeMap::new();
    for r in z.records() {
        by_name
            .entry(normalize(&r.record.name))
            .or_default()
            .push(r);
        if let RData::Txt(parts) = &r.record.data {
            if let Some(long) = parts.iter().map(Vec::len).filter(|n| *n > 255).max() {
                out.push(
                    Finding::new(
                        Code::LintTxtStringTooLong,
                        format!(
                            "TXT at {} has a character-string of {long} octets (at most 255)",
                            r.record.name
                        ),
                    )
                    .evidence(at(&file, r))
                    .fix(format!(
                        "Split the text at {file}:{} into quoted strings of at most 255 octets each, on the same record (\"first 255\" \"rest\"); receivers join them.",
                        r.line
                    )),
                );
            }
        }
    }
    for (name, records) in &by_name {
        spf(&file, name, records, out);
        mx(&file, name, records, out);
        cname(&file, name, records, out);
    }
}

fn is_spf(text: &str) -> bool {
    let t = text.trim_start().to_ascii_lowercase();
    t == "v=spf1" || t.starts_with("v=spf1 ")
}

/// Every word of the text is an SPF term: the tail of a split policy.
fn looks_like_spf_terms(text: &str) -> bool {
    let mut words = text.split_whitespace().peekable();
    words.peek().is_some()
        && words.all(|w| {
            let w = w.to_ascii_lowercase();
            let w = w.trim_start_matches(['+', '-', '~', '?']);
            ["all", "a", "mx", "ptr"].contains(&w)
                || [
                    "include:",
                    "ip4:",
                    "ip6:",
                    "a:",
                    "a/",
                    "mx:",
                    "mx/",
                    "ptr:",
                    "exists:",
                    "redirect=",
                    "exp=",
                ]
                .iter()
                .any(|p| w.starts_with(p))
        })
}

fn spf(file: &str, name: &str, records: &[&ZoneRecord], out: &mut Vec<Finding>) {
    let txts: Vec<(&ZoneRecord, String)> = records
        .iter()
        .filter_map(|r| r.record.txt().map(|t| (*r, t)))
        .collect();
    let spfs: Vec<&(&ZoneRecord, String)> = txts.iter().filter(|(_, t)| is_spf(t)).collect();
    if spfs.len() > 1 {
        out.push(
            Finding::new(
                Code::LintSpfMultiple,
                format!("{name}. has {} v=spf1 records", spfs.len()),
            )
            .evidence(spfs.iter().flat_map(|(r, _)| at(file, r))),
        );
    }
    let tails: Vec<&(&ZoneRecord, String)> = txts
        .iter()
        .filter(|(_, t)| !is_spf(t) && looks_like_spf_terms(t))
        .collect();
    if let (Some((head, text)), false) = (spfs.first(), tails.is_empty()) {
        let joined = std::iter::once(text.as_str())
            .chain(tails.iter().map(|(_, t)| t.as_str()))
            .collect::<Vec<_>>()
            .join(" ");
        out.push(
            Finding::new(
                Code::LintSpfSplit,
                format!(
                    "the SPF record of {name}. continues in {} other TXT record(s), which receivers never read as SPF",
                    tails.len()
                ),
            )
            .evidence(
                std::iter::once(*head)
                    .chain(tails.iter().map(|(r, _)| *r))
                    .flat_map(|r| at(file, r)),
            )
            .fix(format!(
                "Publish one record, as several quoted strings if it is long: {name}. TXT {}",
                crate::dns::quote_txt(joined.as_bytes())
            )),
        );
    }
}

fn mx(file: &str, name: &str, records: &[&ZoneRecord], out: &mut Vec<Finding>) {
    let mut by_host: BTreeMap<String, Vec<&ZoneRecord>> = BTreeMap::new();
    for r in records {
        if let RData::Mx { exchange, .. } = &r.record.data {
            by_host.entry(normalize(exchange)).or_default().push(r);
        }
    }
    for (host, rs) in by_host.into_iter().filter(|(_, rs)| rs.len() > 1) {
        let lines: Vec<String> = rs.iter().map(|r| r.line.to_string()).collect();
        out.push(
            Finding::new(
                Code::LintMxDuplicate,
                format!("{name}. lists MX host {host}. {} times", rs.len()),
            )
            .evidence(rs.iter().flat_map(|r| at(file, r)))
            .fix(format!(
                "Keep one MX record for {host}. at {name}. and delete the others (lines {}).",
                lines[1..].join(", ")
            )),
        );
    }
}

fn cname(file: &str, name: &str, records: &[&ZoneRecord], out: &mut Vec<Finding>) {
    let Some(alias) = records
        .iter()
        .find(|r| matches!(r.record.data, RData::Cname(_)))
    else {
        return;
    };
    // DNSSEC records may stand beside a CNAME (RFC 4035 §2.5).
    let others: Vec<&&ZoneRecord> = records
        .iter()
        .filter(|r| !std::ptr::eq(**r, *alias))
        .filter(|r| !matches!(r.record.rtype(), "RRSIG" | "NSEC" | "NSEC3"))
        .collect();
    if others.is_empty() {
        return;
    }
    let types: Vec<&str> = others.iter().map(|r| r.record.rtype()).collect();
    out.push(
        Finding::new(
            Code::LintCnameAndOtherData,
            format!(
                "{name}. is an alias (CNAME) and also has {} record(s): {}",
                others.len(),
                types.join(", ")
            ),
        )
        .evidence(
            std::iter::once(alias)
                .chain(others)
                .flat_map(|r| at(file, r)),
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(text: &str) -> Zone {
        Zone::parse(text, Path::new("./zones/lint.test.zone"), None).expect("zone")
    }

    const HEAD: &str = "$ORIGIN lint.test.\n@ SOA ns hostmaster 1 2 3 4 5\n@ NS ns\n";

    fn codes(f: &[Finding]) -> Vec<&'static str> {
        let mut v: Vec<_> = f.iter().map(|f| f.code.id()).collect();
        v.sort();
        v
    }

    #[test]
    fn a_clean_zone_is_ok_and_no_zone_is_skip() {
        let z = zone(&format!(
            "{HEAD}@ MX 10 mx\nmx A 192.0.2.1\n@ TXT \"v=spf1 mx -all\"\n"
        ));
        let f = lint(std::slice::from_ref(&z), "lint.test");
        assert_eq!(codes(&f), ["lint.ok"]);
        assert_eq!(
            f[0].message,
            "the zone file of lint.test. has no record that breaks mail"
        );
        assert_eq!(f[0].evidence, ["; zones/lint.test.zone"]);
        assert_eq!(codes(&lint(&[], "lint.test")), ["lint.no_zone"]);
        assert_eq!(
            codes(&lint(std::slice::from_ref(&z), "other.test")),
            ["lint.no_zone"]
        );
        // The parent domain's run lints a zone under it too.
        assert_eq!(codes(&lint(std::slice::from_ref(&z), "test")), ["lint.ok"]);
    }

    #[test]
    fn each_defect_points_at_its_line() {
        let long = "a".repeat(300);
        let text = format!(
            "{HEAD}@ MX 10 mx\n@ MX 20 MX.lint.test.\nmx A 192.0.2.1\n@ TXT \"v=spf1 ip4:192.0.2.0/24\"\n@ TXT \"include:_spf.example.net -all\"\nsplit TXT \"v=spf1 -all\"\nsplit TXT \"v=spf1 mx -all\"\nalias CNAME mx\nalias TXT \"x\"\ndkim TXT \"{long}\"\n"
        );
        let z = zone(&text);
        let f = lint(std::slice::from_ref(&z), "lint.test");
        assert_eq!(
            codes(&f),
            [
                "lint.cname_and_other_data",
                "lint.mx_duplicate",
                "lint.spf_multiple",
                "lint.spf_split",
                "lint.txt_string_too_long"
            ]
        );
        let by = |c: &str| f.iter().find(|x| x.code.id() == c).unwrap();
        let mx = by("lint.mx_duplicate");
        assert_eq!(mx.message, "lint.test. lists MX host mx.lint.test. 2 times");
        assert_eq!(
            mx.evidence,
            [
                "; zones/lint.test.zone:4",
                "lint.test. MX 10 mx.lint.test.",
                "; zones/lint.test.zone:5",
                "lint.test. MX 20 mx.lint.test."
            ]
        );
        let split = by("lint.spf_split");
        assert!(
            split.message.starts_with("the SPF record of lint.test."),
            "{}",
            split.message
        );
        assert_eq!(split.evidence[0], "; zones/lint.test.zone:7");
        assert_eq!(split.evidence[2], "; zones/lint.test.zone:8");
        assert!(
            split.fix.ends_with(
                "lint.test. TXT \"v=spf1 ip4:192.0.2.0/24 include:_spf.example.net -all\""
            ),
            "{}",
            split.fix
        );
        let multiple = by("lint.spf_multiple");
        assert_eq!(multiple.message, "split.lint.test. has 2 v=spf1 records");
        assert_eq!(multiple.evidence[0], "; zones/lint.test.zone:9");
        assert_eq!(multiple.evidence[2], "; zones/lint.test.zone:10");
        let cname = by("lint.cname_and_other_data");
        assert_eq!(
            cname.message,
            "alias.lint.test. is an alias (CNAME) and also has 1 record(s): TXT"
        );
        assert_eq!(cname.evidence[0], "; zones/lint.test.zone:11");
        let long = by("lint.txt_string_too_long");
        assert_eq!(
            long.message,
            "TXT at dkim.lint.test. has a character-string of 300 octets (at most 255)"
        );
        assert_eq!(long.evidence[0], "; zones/lint.test.zone:13");
    }

    #[test]
    fn spf_terms_are_told_from_other_text() {
        assert!(looks_like_spf_terms("include:_spf.google.com ~all"));
        assert!(looks_like_spf_terms("ip4:192.0.2.0/24 a mx -all"));
        assert!(!looks_like_spf_terms("google-site-verification=abc"));
        assert!(!looks_like_spf_terms("v=DMARC1; p=none"));
        assert!(!looks_like_spf_terms(""));
    }
}
