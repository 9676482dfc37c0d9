//! `--format markdown`: a compact summary for a pull-request comment. One
//! line per domain in an overview table, then per domain the checks that are
//! not a plain pass and their findings, evidence folded away. Text from the
//! network is escaped so a TXT record cannot inject links, HTML, mentions or
//! break the tables.

use std::fmt::Write as _;

use mailpreflight_checks::{tally, Change, Report, Status};

use super::failing;
use crate::cli::FailOn;

pub fn render(reports: &[Report], fail_on: FailOn) -> String {
    let mut o = String::new();
    let failing_domains = reports
        .iter()
        .filter(|r| r.findings().any(|f| failing(f, fail_on)))
        .count();
    let _ = writeln!(
        o,
        "## mailpreflight: {}\n",
        if failing_domains == 0 {
            format!("{} domain(s) pass the gate", reports.len())
        } else {
            format!(
                "{failing_domains} of {} domain(s) fail the gate",
                reports.len()
            )
        }
    );
    o.push_str("| domain | status | fail | error | warn | info | pass | skip |\n");
    o.push_str("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
    for r in reports {
        let counts = tally(r.findings());
        let _ = write!(o, "| {} | {} |", escape(&r.domain), label(r.status));
        for s in Status::WORST_FIRST {
            let _ = write!(o, " {} |", counts.get(&s).copied().unwrap_or(0));
        }
        o.push('\n');
    }
    for r in reports {
        let shown: Vec<_> = r
            .checks
            .iter()
            .flat_map(|c| c.findings.iter().map(move |f| (c.id, f)))
            .filter(|(_, f)| !matches!(f.status, Status::Pass | Status::Skip))
            .collect();
        let resolved: Vec<_> = r
            .checks
            .iter()
            .flat_map(|c| c.resolved.iter().map(move |f| (c.id, f)))
            .collect();
        if shown.is_empty() && resolved.is_empty() {
            continue;
        }
        let _ = writeln!(o, "\n### {}\n", escape(&r.domain));
        for (id, f) in shown {
            let new = match f.change {
                Some(Change::New) => " **new**",
                _ => "",
            };
            let _ = writeln!(
                o,
                "- {}{new} `{}` ({id}): {}",
                label(f.status),
                f.code.id(),
                escape_text(&f.message)
            );
            if !f.evidence.is_empty() {
                let fence = fence_for(&f.evidence);
                let _ = writeln!(o, "  <details><summary>evidence</summary>\n");
                let _ = writeln!(o, "  {fence}zone");
                for e in &f.evidence {
                    let _ = writeln!(o, "  {e}");
                }
                let _ = writeln!(o, "  {fence}\n  </details>\n");
            }
            let _ = writeln!(o, "  fix: {}", escape_text(&f.fix));
        }
        for (id, f) in resolved {
            let _ = writeln!(
                o,
                "- resolved `{}` ({id}): ~~{}~~",
                // From the baseline file: no backtick may end the code span.
                f.code.replace('`', "'"),
                escape(&f.message)
            );
        }
    }
    o
}

fn label(s: Status) -> String {
    match s {
        Status::Fail | Status::Error => format!("**{s}**"),
        _ => s.to_string(),
    }
}

/// A code fence longer than any run of backticks in the text, so evidence
/// cannot close it.
fn fence_for(lines: &[String]) -> String {
    let longest = lines
        .iter()
        .flat_map(|l| l.split(|c| c != '`'))
        .map(str::len)
        .max()
        .unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// Prose that may hold `code spans` (fixes name records that way): the
/// spans are kept, since nothing inside one is interpreted, and the rest is
/// escaped. With an odd number of backticks nothing is a span.
pub fn escape_text(s: &str) -> String {
    if s.matches('`').count() % 2 == 1 {
        return escape(s);
    }
    s.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                format!("`{}`", part.replace(['\n', '\r'], " "))
            } else {
                escape(part)
            }
        })
        .collect()
}

/// Markdown-significant characters backslash-escaped (CommonMark allows it
/// for any ASCII punctuation), `<`/`>`/`&` as entities so no HTML gets
/// through, and `@` escaped so no one is mentioned.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '!' | '~' | '@' => {
                o.push('\\');
                o.push(c);
            }
            '\n' | '\r' => o.push(' '),
            _ => o.push(c),
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::sample::reports;

    #[test]
    fn escapes_markdown_and_html() {
        assert_eq!(
            escape("<b>*x*</b> | [a](b) `c` @team"),
            r"&lt;b&gt;\*x\*&lt;/b&gt; \| \[a\](b) \`c\` \@team"
        );
        assert_eq!(fence_for(&["a ```` b".into()]), "`````");
        assert_eq!(
            escape_text("Append `-all` to *x*"),
            r"Append `-all` to \*x\*"
        );
        assert_eq!(escape_text("odd ` *x*"), r"odd \` \*x\*");
    }

    #[test]
    fn a_compact_pull_request_comment() {
        let got = render(&reports(), FailOn::Fail);
        let want = r#"## mailpreflight: 1 of 2 domain(s) fail the gate

| domain | status | fail | error | warn | info | pass | skip |
| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |
| example.com | **fail** | 1 | 1 | 1 | 0 | 0 | 0 |
| ok.example | pass | 0 | 0 | 0 | 0 | 1 | 1 |

### example.com

- warn `mx.target_no_address` (mx): backup.example.com. (MX 20 of example.com.) has no A or AAAA record
  <details><summary>evidence</summary>

  ```zone
  example.com. MX 20 backup.example.com.
  ; backup.example.com. A: no such name (NXDOMAIN)
  ```
  </details>

  fix: Publish an A (and AAAA) record for the MX host, or remove the stale MX.
- **fail** `rdns.no_ptr` (rdns): 192.0.2.11 has no PTR record &lt;b&gt;\*bold\*&lt;/b&gt; \| \[x\](y) `z` \@team
  <details><summary>evidence</summary>

  ```zone
  ; 11.2.0.192.in-addr.arpa. PTR: no such name (NXDOMAIN)
  ```
  </details>

  fix: Ask whoever owns the IP (your ISP, hosting or cloud provider) to set its PTR to your mail host's name, e.g. mail.DOMAIN, whose A/AAAA record is that IP.
- **error** `helo.lookup_failed` (helo): mail.example.com: 100% timed out, a:b
  <details><summary>evidence</summary>

  ```zone
  ; mail.example.com. A: timed out
  ```
  </details>

  fix: Check that the HELO name's name servers answer, then run again.
"#;
        assert_eq!(got, want);
    }
}
