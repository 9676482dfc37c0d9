//! The human report: a summary row per check, then each finding that is not
//! a plain pass with its evidence and fix.

use std::fmt::Write as _;

use owo_colors::OwoColorize;

use mailpreflight_checks::{tally, Report, Status};

pub fn status_label(s: Status, color: bool) -> String {
    let text = format!("{:<5}", s.as_str());
    if !color {
        return text;
    }
    match s {
        Status::Pass => text.green().to_string(),
        Status::Info => text.cyan().to_string(),
        Status::Warn => text.yellow().to_string(),
        Status::Fail => text.red().bold().to_string(),
        Status::Error => text.magenta().bold().to_string(),
        Status::Skip => text.dimmed().to_string(),
    }
}

pub fn render(report: &Report, color: bool) -> String {
    let mut o = String::new();
    let t = &report.target;
    let mut about = Vec::new();
    if !t.ips.is_empty() {
        about.push(format!(
            "ip {}",
            t.ips
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if let Some(h) = &t.helo {
        about.push(format!("helo {}", crate::render::escape(h)));
    }
    if !t.selectors.is_empty() {
        about.push(format!("selectors {}", t.selectors.join(", ")));
    }
    let head = format!("mailpreflight {}", report.domain);
    let _ = writeln!(
        o,
        "{}{}",
        if color { head.bold().to_string() } else { head },
        if about.is_empty() {
            String::new()
        } else {
            format!("  ({})", about.join("; "))
        }
    );
    let _ = writeln!(o);
    let width = report
        .checks
        .iter()
        .map(|c| c.id.len())
        .max()
        .unwrap_or(5)
        .max(5);
    let _ = writeln!(
        o,
        "{:<width$}  {:<5}  {:>6}  SUMMARY",
        "CHECK", "STATUS", "TIME"
    );
    for c in &report.checks {
        let summary = c
            .findings
            .first()
            .map(|f| f.message.clone())
            .unwrap_or_else(|| "no findings".into());
        let more = c
            .findings
            .iter()
            .filter(|f| f.status >= Status::Info || f.status == Status::Skip)
            .count()
            .saturating_sub(1);
        let more = if more > 0 {
            format!(" (+{more} more)")
        } else {
            String::new()
        };
        let _ = writeln!(
            o,
            "{:<width$}  {}  {:>4}ms  {summary}{more}",
            c.id,
            status_label(c.status, color),
            c.elapsed_ms
        );
    }
    let details: Vec<_> = report
        .checks
        .iter()
        .flat_map(|c| c.findings.iter().map(move |f| (c.id, f)))
        .filter(|(_, f)| f.status != Status::Pass)
        .collect();
    if !details.is_empty() {
        let _ = writeln!(o);
    }
    for (id, f) in details {
        let code = if color {
            f.code.id().bold().to_string()
        } else {
            f.code.id().to_string()
        };
        let _ = writeln!(
            o,
            "{}  {code}  [{id}]{}",
            status_label(f.status, color).trim_end(),
            // Only with --baseline.
            if f.change == Some(mailpreflight_checks::Change::New) {
                "  new"
            } else {
                ""
            }
        );
        let _ = writeln!(o, "  {}", f.message);
        for e in &f.evidence {
            let _ = writeln!(
                o,
                "    {}",
                if color {
                    e.dimmed().to_string()
                } else {
                    e.clone()
                }
            );
        }
        if f.status != Status::Skip {
            let _ = writeln!(o, "  fix: {}", f.fix);
        }
        let _ = writeln!(o);
    }
    for c in &report.checks {
        for r in &c.resolved {
            let _ = writeln!(o, "resolved  {}  [{}]\n  {}\n", r.code, c.id, r.message);
        }
    }
    let counts = tally(report.findings());
    let parts: Vec<String> = Status::WORST_FIRST
        .iter()
        .filter_map(|s| counts.get(s).map(|n| format!("{n} {s}")))
        .collect();
    let _ = writeln!(
        o,
        "{}: {} ({})",
        report.domain,
        status_label(report.status, color).trim_end(),
        parts.join(", ")
    );
    o
}
