//! `--format jsonl`: one compact JSON object per domain per line (the shape
//! of `--format json`), for bulk runs and `--baseline`.

use mailpreflight_checks::Report;

pub fn render(reports: &[Report]) -> String {
    reports.iter().map(super::json::render_line).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::sample::reports;

    #[test]
    fn one_object_per_domain_per_line() {
        let text = render(&reports());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        let want = r#"{"domain":"ok.example","status":"pass","target":{"ips":[],"selectors":[]},"checks":[{"id":"mx","status":"pass","elapsed_ms":3,"findings":[{"code":"mx.ok","status":"pass","message":"ok.example. has 1 usable MX host","evidence":["ok.example. MX 10 mx.ok.example."],"fix":"Nothing to do."}]},{"id":"rdns","status":"skip","elapsed_ms":0,"findings":[{"code":"rdns.no_ip","status":"skip","message":"no sending IP given","evidence":[],"fix":"Pass the sending host's public address with --ip."}]}]}"#;
        assert_eq!(lines[1], want);
        let first: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(first["domain"], "example.com");
    }
}
