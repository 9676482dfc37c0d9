//! `--format json`: one object per domain, DESIGN.md's shape.

use mailpreflight_checks::Report;

pub fn render(report: &Report) -> String {
    let mut s =
        serde_json::to_string_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}

/// `--format jsonl`: the same object on one line.
pub fn render_line(report: &Report) -> String {
    let mut s = serde_json::to_string(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
