//! `--baseline FILE`: compare this run with an earlier `--format json`
//! report (one object, an array of them, or JSON Lines). A finding is the
//! same when its domain, code and message are; each finding of this run is
//! marked `new` or `unchanged`, and the baseline's findings that are gone
//! are listed on their check as `resolved`. `--fail-on new` then fails only
//! on regressions, so a gate can be adopted on a domain that already has
//! warnings.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{anyhow, Context as _, Result};
use serde_json::Value;

use mailpreflight_checks::{Change, Report, Resolved, Status};

/// One finding of the baseline report.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Prior {
    check: String,
    code: String,
    status: Status,
    message: String,
}

/// The baseline's findings by domain.
#[derive(Debug, Default)]
pub struct Baseline {
    domains: BTreeMap<String, Vec<Prior>>,
}

pub fn load(path: &Path) -> Result<Baseline> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--baseline {}: cannot read", path.display()))?;
    parse(&text).map_err(|e| anyhow!("--baseline {}: {e}", path.display()))
}

pub fn parse(text: &str) -> Result<Baseline> {
    let reports: Vec<Value> = match serde_json::from_str::<Value>(text) {
        Ok(Value::Array(items)) => items,
        Ok(one @ Value::Object(_)) => vec![one],
        Ok(_) => return Err(anyhow!("not a mailpreflight JSON report")),
        // Not one JSON document: JSON Lines, one report per line.
        Err(_) => text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| {
                serde_json::from_str(l)
                    .map_err(|e| anyhow!("line {}: not JSON or JSON Lines ({e})", i + 1))
            })
            .collect::<Result<_>>()?,
    };
    let mut b = Baseline::default();
    for (i, r) in reports.iter().enumerate() {
        let bad = |what: &str| anyhow!("report {}: {what}; expected --format json output", i + 1);
        let domain = r["domain"].as_str().ok_or_else(|| bad("no \"domain\""))?;
        let checks = r["checks"].as_array().ok_or_else(|| bad("no \"checks\""))?;
        let priors = b.domains.entry(domain.to_string()).or_default();
        for c in checks {
            let check = c["id"]
                .as_str()
                .ok_or_else(|| bad("a check without \"id\""))?;
            for f in c["findings"].as_array().into_iter().flatten() {
                let (Some(code), Some(message)) = (f["code"].as_str(), f["message"].as_str())
                else {
                    return Err(bad("a finding without \"code\" or \"message\""));
                };
                priors.push(Prior {
                    check: check.to_string(),
                    code: code.to_string(),
                    status: f["status"]
                        .as_str()
                        .and_then(Status::parse)
                        .unwrap_or(Status::Info),
                    message: message.to_string(),
                });
            }
        }
    }
    Ok(b)
}

/// Marks every finding of `reports` and lists what the baseline had that
/// this run no longer has. Run after sanitising, as the baseline was.
pub fn compare(reports: &mut [Report], baseline: &Baseline) {
    let none = Vec::new();
    for r in reports {
        let priors = baseline.domains.get(&r.domain).unwrap_or(&none);
        let before: BTreeSet<(&str, &str)> = priors
            .iter()
            .map(|p| (p.code.as_str(), p.message.as_str()))
            .collect();
        let now: BTreeSet<(String, String)> = r
            .findings()
            .map(|f| (f.code.id().to_string(), f.message.clone()))
            .collect();
        for c in &mut r.checks {
            for f in &mut c.findings {
                f.change = Some(if before.contains(&(f.code.id(), f.message.as_str())) {
                    Change::Unchanged
                } else {
                    Change::New
                });
            }
            // A check that could not run this time resolved nothing.
            if c.status == Status::Error {
                continue;
            }
            c.resolved = priors
                .iter()
                .filter(|p| p.check == c.id && !matches!(p.status, Status::Pass | Status::Skip))
                .filter(|p| !now.contains(&(p.code.clone(), p.message.clone())))
                // The file is input like any other: escaped as the run was.
                .map(|p| Resolved {
                    code: crate::render::escape(&p.code),
                    status: p.status,
                    message: crate::render::escape(&p.message),
                })
                .collect();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::sample::reports;

    #[test]
    fn reads_an_object_an_array_and_json_lines() {
        let rs = reports();
        let one = serde_json::to_string_pretty(&rs[0]).unwrap();
        let many = serde_json::to_string_pretty(&rs).unwrap();
        let lines = crate::render::jsonl::render(&rs);
        assert_eq!(parse(&one).unwrap().domains.len(), 1);
        assert_eq!(parse(&many).unwrap().domains.len(), 2);
        let b = parse(&lines).unwrap();
        assert_eq!(b.domains["example.com"].len(), 3);
        assert!(parse("{\"checks\": []}").is_err());
        let e = parse("{\"domain\":\"a\",\"checks\":[]}\nnot json\n").unwrap_err();
        assert!(e.to_string().starts_with("line 2:"), "{e}");
    }

    #[test]
    fn marks_new_unchanged_and_resolved() {
        let mut before = reports();
        // The baseline had a finding this run does not, and lacked one it has.
        before[0].checks[0].findings[0].message = "an older problem".into();
        let b = parse(&crate::render::jsonl::render(&before)).unwrap();
        let mut now = reports();
        compare(&mut now, &b);
        let mx = &now[0].checks[0];
        assert_eq!(mx.findings[0].change, Some(Change::New));
        assert_eq!(mx.resolved.len(), 1);
        assert_eq!(mx.resolved[0].message, "an older problem");
        assert_eq!(now[0].checks[1].findings[0].change, Some(Change::Unchanged));
        // The helo check is `error` now: nothing of it counts as resolved.
        assert!(now[0].checks[2].resolved.is_empty());
        let json = serde_json::to_value(&now[0]).unwrap();
        assert_eq!(json["checks"][0]["findings"][0]["change"], "new");
        assert_eq!(
            json["checks"][0]["resolved"][0]["code"],
            "mx.target_no_address"
        );
        assert_eq!(json["checks"][1]["findings"][0]["change"], "unchanged");
        assert!(json["checks"][1].get("resolved").is_none());
    }
}
