//! `--format github`: GitHub Actions workflow commands. Each finding that is
//! not a pass becomes an annotation (`fail`/`error` → `::error`, `warn` →
//! `::warning`, `info` → `::notice`) on the zone-file line its evidence
//! came from, so a pull request that edits a zone shows the problem on the
//! line that causes it. Values are escaped per GitHub's rules: `%`, `\r`,
//! `\n` in the message; also `:` and `,` in properties.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::Path;

use mailpreflight_checks::dns::Zone;
use mailpreflight_checks::{tally, Change, Finding, Report, Status};

use super::escape;

/// Where each record of the loaded zone files stands: its zone-file text
/// (as `Record::to_zone` writes it, which is what evidence lines are) →
/// (file, line).
#[derive(Debug, Default)]
pub struct ZoneIndex {
    records: HashMap<String, (String, usize)>,
    /// A file as the zone was loaded (as the lint check names it) → as
    /// annotations name it.
    files: BTreeMap<String, String>,
}

impl ZoneIndex {
    /// Paths under `base` (the repository's checkout) become relative to it,
    /// as GitHub wants them; others stay as they were given.
    pub fn relative_to(zones: &[Zone], base: Option<&Path>) -> Self {
        let mut ix = ZoneIndex::default();
        for z in zones {
            let shown = display_path(
                base.and_then(|b| z.path().strip_prefix(b).ok())
                    .unwrap_or(z.path()),
            );
            for r in z.records() {
                // The first occurrence wins: a duplicate points at the original.
                ix.records
                    .entry(escape(&r.record.to_zone()))
                    .or_insert_with(|| (shown.clone(), r.line));
            }
            ix.files.insert(display_path(z.path()), shown);
        }
        ix
    }

    /// The file and line an evidence line comes from: a record of a loaded
    /// zone, or a `; FILE:LINE` comment (the lint check's).
    pub fn locate(&self, evidence: &str) -> Option<(&str, usize)> {
        if let Some((file, line)) = evidence.strip_prefix("; ").and_then(|c| c.rsplit_once(':')) {
            if let (Some(f), Ok(n)) = (self.files.get(file), line.trim().parse::<usize>()) {
                return Some((f.as_str(), n));
            }
        }
        self.records.get(evidence).map(|(f, l)| (f.as_str(), *l))
    }
}

impl ZoneIndex {
    /// The zone line a finding is about: of the evidence lines that come from
    /// a zone file, the first that names something the message names (the
    /// MX record of the broken host, not its healthy sibling), else the first.
    pub fn blame(&self, f: &Finding) -> Option<(&str, usize)> {
        let words = |s: &str| -> Vec<String> {
            s.split_whitespace()
                .map(|w| {
                    w.trim_matches(|c: char| "()[],;\"'".contains(c))
                        .to_string()
                })
                .filter(|w| w.len() > 1 && (w.contains('.') || w.contains(':')))
                .collect()
        };
        let said = words(&f.message);
        let located: Vec<(&String, (&str, usize))> = f
            .evidence
            .iter()
            .filter_map(|e| self.locate(e).map(|at| (e, at)))
            .collect();
        located
            .iter()
            .find(|(e, _)| {
                // The owner name alone is shared by every record of a name.
                words(e).iter().skip(1).any(|w| said.contains(w))
            })
            .or_else(|| located.first())
            .map(|(_, at)| *at)
    }
}

/// Paths as the repository names them: relative, with `/`, no `./`.
pub fn display_path(p: &Path) -> String {
    let s = p.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").unwrap_or(&s).to_string()
}

pub fn render(reports: &[Report], index: &ZoneIndex) -> String {
    let mut o = String::new();
    for r in reports {
        for c in &r.checks {
            for f in &c.findings {
                annotate(&mut o, &r.domain, f, index);
            }
        }
        let counts = tally(r.findings());
        let parts: Vec<String> = counts
            .iter()
            .rev()
            .map(|(s, n)| format!("{n} {s}"))
            .collect();
        let _ = writeln!(o, "{}: {} ({})", r.domain, r.status, parts.join(", "));
    }
    o
}

fn annotate(o: &mut String, domain: &str, f: &Finding, index: &ZoneIndex) {
    let level = match f.status {
        Status::Fail | Status::Error => "error",
        Status::Warn => "warning",
        Status::Info => "notice",
        Status::Pass | Status::Skip => return,
    };
    let mut props = Vec::new();
    if let Some((file, line)) = index.blame(f) {
        props.push(format!("file={}", property(file)));
        props.push(format!("line={line}"));
    }
    let new = if f.change == Some(Change::New) {
        " new"
    } else {
        ""
    };
    props.push(format!(
        "title={}",
        property(&format!("{}{new} {} ({domain})", f.status, f.code.id()))
    ));
    let mut text = f.message.clone();
    for e in &f.evidence {
        text.push_str("\n  ");
        text.push_str(e);
    }
    text.push_str("\nfix: ");
    text.push_str(&f.fix);
    let _ = writeln!(o, "::{level} {}::{}", props.join(","), data(&text));
}

/// A workflow command's message.
pub fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property value.
pub fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::sample::reports;
    use std::path::Path;

    #[test]
    fn escapes_per_the_workflow_command_rules() {
        assert_eq!(data("100% a\r\nb: c, d"), "100%25 a%0D%0Ab: c, d");
        assert_eq!(property("100% a\r\nb: c, d"), "100%25 a%0D%0Ab%3A c%2C d");
    }

    #[test]
    fn annotations_point_at_the_zone_line() {
        let zone = Zone::parse(
            "$ORIGIN example.com.\n@ SOA ns hostmaster 1 2 3 4 5\n\n@ MX 10 mail\n@ MX 20 backup\nmail A 192.0.2.25\n",
            Path::new("./zones/example.com.zone"),
            None,
        )
        .unwrap();
        let index = ZoneIndex::relative_to(std::slice::from_ref(&zone), None);
        assert_eq!(
            index.locate("example.com. MX 20 backup.example.com."),
            Some(("zones/example.com.zone", 5))
        );
        assert_eq!(
            index.locate("; zones/example.com.zone:4"),
            Some(("zones/example.com.zone", 4))
        );
        assert_eq!(index.locate("; other.zone:4"), None);
        // An absolute path under the checkout is shown relative to it; the
        // lint's comments still name the file as it was loaded.
        let abs = Zone::parse(
            "$ORIGIN example.net.\n@ MX 10 mail.example.com.\n",
            Path::new("/home/runner/work/dns/zones/example.net.zone"),
            None,
        )
        .unwrap();
        let ix = ZoneIndex::relative_to(
            std::slice::from_ref(&abs),
            Some(Path::new("/home/runner/work/dns")),
        );
        assert_eq!(
            ix.locate("example.net. MX 10 mail.example.com."),
            Some(("zones/example.net.zone", 2))
        );
        assert_eq!(
            ix.locate("; /home/runner/work/dns/zones/example.net.zone:2"),
            Some(("zones/example.net.zone", 2))
        );
        let got = render(&reports(), &index);
        let want = r#"::warning file=zones/example.com.zone,line=5,title=warn mx.target_no_address (example.com)::backup.example.com. (MX 20 of example.com.) has no A or AAAA record%0A  example.com. MX 20 backup.example.com.%0A  ; backup.example.com. A: no such name (NXDOMAIN)%0Afix: Publish an A (and AAAA) record for the MX host, or remove the stale MX.
::error title=fail rdns.no_ptr (example.com)::192.0.2.11 has no PTR record <b>*bold*</b> | [x](y) `z` @team%0A  ; 11.2.0.192.in-addr.arpa. PTR: no such name (NXDOMAIN)%0Afix: Ask whoever owns the IP (your ISP, hosting or cloud provider) to set its PTR to your mail host's name, e.g. mail.DOMAIN, whose A/AAAA record is that IP.
::error title=error helo.lookup_failed (example.com)::mail.example.com: 100%25 timed out, a:b%0A  ; mail.example.com. A: timed out%0Afix: Check that the HELO name's name servers answer, then run again.
example.com: fail (1 fail, 1 error, 1 warn)
ok.example: pass (1 pass, 1 skip)
"#;
        assert_eq!(got, want);
    }
}
