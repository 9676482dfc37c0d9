//! Table and JSON for `explain`. Every string that came from the bounce is
//! escaped (control characters, bidi overrides) before either sees it.

use std::fmt::Write as _;

use owo_colors::OwoColorize;
use serde_json::{json, Value};

use mailpreflight_checks::bounce::{Bounce, Kind, Likelihood, Verdict};
use mailpreflight_checks::{CheckReport, Report};
use serde::Serialize;

use crate::render::escape;

pub fn sanitize(b: &mut Bounce) {
    let fix = |s: &mut Option<String>| {
        if let Some(v) = s {
            *v = escape(v);
        }
    };
    fix(&mut b.reporting_server);
    fix(&mut b.remote_server);
    fix(&mut b.sender);
    fix(&mut b.helo);
    for r in &mut b.recipients {
        fix(&mut r.address);
        fix(&mut r.diagnostic);
        fix(&mut r.status_meaning);
    }
    for c in &mut b.causes {
        c.why = escape(&c.why);
        fix(&mut c.verdict_reason);
    }
}

/// DESIGN.md's object; with `--check`, `target` (what was checked, and what
/// of it came from the bounce) and `checks` (as `check --format json`) too.
pub fn json(b: &Bounce, checked: Option<&(Report, Vec<String>)>, pretty: bool) -> String {
    // A struct, not a JSON map, so the keys keep DESIGN.md's order.
    #[derive(Serialize)]
    struct Out<'a> {
        #[serde(flatten)]
        bounce: &'a Bounce,
        #[serde(skip_serializing_if = "Option::is_none")]
        target: Option<Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        checks: Option<&'a [CheckReport]>,
    }
    let out = Out {
        bounce: b,
        target: checked.map(|(report, from_bounce)| {
            let t = &report.target;
            json!({
                "domain": report.domain,
                "ips": t.ips,
                "helo": t.helo,
                "mail_from": t.mail_from,
                "selectors": t.selectors,
                "from_bounce": from_bounce,
            })
        }),
        checks: checked.map(|(report, _)| report.checks.as_slice()),
    };
    let mut s = if pretty {
        serde_json::to_string_pretty(&out)
    } else {
        serde_json::to_string(&out)
    }
    .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

fn kind_line(k: Kind, has_code: bool) -> String {
    let (what, class, rest) = match k {
        Kind::Permanent => (
            "permanent failure",
            "5.x.x",
            "not delivered, and resending it as it is will not help",
        ),
        Kind::Transient => (
            "transient failure",
            "4.x.x",
            "not delivered because of a temporary condition",
        ),
        Kind::Delay => {
            return "delay notice: not delivered yet; the sending server keeps trying".into()
        }
    };
    if has_code {
        format!("{what} ({class}): {rest}")
    } else {
        format!("{what}: {rest}")
    }
}

fn likelihood(l: Likelihood, color: bool) -> String {
    let t = format!("{:<6}", l.as_str());
    if !color {
        return t;
    }
    match l {
        Likelihood::High => t.red().bold().to_string(),
        Likelihood::Medium => t.yellow().to_string(),
        Likelihood::Low => t.dimmed().to_string(),
    }
}

fn verdict(v: Verdict, color: bool) -> String {
    let t = v.as_str().replace('_', " ");
    if !color {
        return t;
    }
    match v {
        Verdict::Confirmed => t.red().bold().to_string(),
        Verdict::RuledOut => t.green().to_string(),
        Verdict::Undetermined => t.magenta().to_string(),
    }
}

pub fn table(b: &Bounce, checked: Option<&(Report, Vec<String>)>, color: bool) -> String {
    let mut o = String::new();
    let bold = |s: &str| {
        if color {
            s.bold().to_string()
        } else {
            s.to_string()
        }
    };
    let has_code = b
        .recipients
        .iter()
        .any(|r| r.status.is_some() || r.reply_code.is_some());
    let _ = writeln!(o, "{} {}", bold("Bounce:"), kind_line(b.kind, has_code));
    let none = "(not shown)";
    let _ = writeln!(
        o,
        "  reported by    {}",
        b.reporting_server.as_deref().unwrap_or(none)
    );
    let _ = writeln!(
        o,
        "  remote server  {}",
        b.remote_server.as_deref().unwrap_or(none)
    );
    if let Some(s) = &b.sender {
        let _ = writeln!(o, "  sender         {s}");
    }
    let _ = writeln!(o);

    if b.recipients.is_empty() {
        let _ = writeln!(o, "No recipient or SMTP reply could be read from it.");
    } else {
        let width = b
            .recipients
            .iter()
            .map(|r| r.address.as_deref().unwrap_or("(not named)").len())
            .max()
            .unwrap_or(9)
            .max(9);
        let _ = writeln!(
            o,
            "{}",
            bold(&format!("{:<width$}  REPLY  STATUS  MEANING", "RECIPIENT"))
        );
        for r in &b.recipients {
            let _ = writeln!(
                o,
                "{:<width$}  {:<5}  {:<6}  {}",
                r.address.as_deref().unwrap_or("(not named)"),
                r.reply_code
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "-".into()),
                r.status.as_deref().unwrap_or("-"),
                r.status_meaning
                    .as_deref()
                    .unwrap_or("(no code in the bounce)"),
            );
            if let Some(d) = &r.diagnostic {
                let _ = writeln!(o, "{:<width$}  said: \"{d}\"", "");
            }
        }
    }
    let _ = writeln!(o);

    if b.causes.is_empty() {
        let _ = writeln!(
            o,
            "No likely cause could be read from the codes or the text; the diagnostic above is what the servers said."
        );
    } else {
        let _ = writeln!(o, "{}", bold("Likely causes, most likely first:"));
        let idw = b.causes.iter().map(|c| c.id.len()).max().unwrap_or(10);
        for (i, c) in b.causes.iter().enumerate() {
            let check = match c.check {
                Some(id) => format!("check: {id}"),
                None => "no check can tell".into(),
            };
            let _ = writeln!(
                o,
                "{:>2}. {}  {:<idw$}  [{check}]",
                i + 1,
                likelihood(c.likelihood, color),
                c.id
            );
            let _ = writeln!(o, "      {}", c.why);
            let _ = writeln!(o, "      fix: {}", c.fix);
            if let Some(v) = c.verdict {
                let _ = writeln!(
                    o,
                    "      verdict: {} — {}",
                    verdict(v, color),
                    c.verdict_reason.as_deref().unwrap_or("")
                );
            }
        }
    }

    match checked {
        Some((report, from_bounce)) => {
            let _ = writeln!(o);
            let ran: Vec<&str> = report.checks.iter().map(|c| c.id).collect();
            let _ = writeln!(
                o,
                "Checked {}: {}",
                report.domain,
                if ran.is_empty() {
                    "no check applies to these causes".to_string()
                } else {
                    ran.join(", ")
                }
            );
            for line in from_bounce {
                let _ = writeln!(o, "  from the bounce: {line}");
            }
            if report.target.ips.is_empty()
                && b.causes
                    .iter()
                    .any(|c| matches!(c.check, Some("rdns" | "dnsbl" | "spf" | "helo")))
            {
                let _ = writeln!(o, "  no sending IP known: add --ip with the sending server's public address to check rDNS, blocklists and SPF");
            }
        }
        None => {
            let mut checkable: Vec<&str> = Vec::new();
            for c in b
                .causes
                .iter()
                .filter_map(|c| c.check)
                .filter(|c| *c != "path")
            {
                if !checkable.contains(&c) {
                    checkable.push(c);
                }
            }
            let has_path = b.causes.iter().any(|c| c.check == Some("path"));
            if !checkable.is_empty() || has_path {
                let _ = writeln!(o);
            }
            if !checkable.is_empty() {
                let _ = writeln!(
                    o,
                    "To confirm or rule out causes with checks ({}), run again with --check{}.",
                    checkable.join(", "),
                    if b.sending_ip.is_none() {
                        " --ip SENDING_IP"
                    } else {
                        ""
                    }
                );
            }
            if has_path {
                let _ = writeln!(
                    o,
                    "On the sending server, `mailpreflight path {}` tests its resolvers and its route to the recipient.",
                    b.recipient_domain().unwrap_or_else(|| "RECIPIENT_DOMAIN".into())
                );
            }
        }
    }
    o
}
