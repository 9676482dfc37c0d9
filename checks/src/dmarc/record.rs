//! One DMARC policy record (RFC 7489 §6.3, RFC 9989 §4.7), every tag
//! validated: what a receiver will use, and everything it will ignore or
//! misread, each with its own finding code.

use crate::dkim::taglist::{self, colon_list};
use crate::names::to_domain;
use crate::Code;

/// A `p=`/`sp=`/`np=` value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request {
    None,
    Quarantine,
    Reject,
}

impl Request {
    pub fn as_str(self) -> &'static str {
        match self {
            Request::None => "none",
            Request::Quarantine => "quarantine",
            Request::Reject => "reject",
        }
    }

    fn parse(s: &str) -> Option<Request> {
        Some(match s.to_ascii_lowercase().as_str() {
            "none" => Request::None,
            "quarantine" => Request::Quarantine,
            "reject" => Request::Reject,
            _ => return None,
        })
    }
}

/// A reporting URI from `rua=`/`ruf=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportUri {
    /// As written, without a `!size` suffix.
    pub uri: String,
    /// For `mailto:` URIs, the address's domain (A-label, lower case).
    pub mail_domain: Option<String>,
}

/// What a receiver takes from the record (defaults filled in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub p: Option<Request>,
    pub sp: Option<Request>,
    pub np: Option<Request>,
    /// `adkim=s`.
    pub strict_dkim: bool,
    /// `aspf=s`.
    pub strict_spf: bool,
    pub pct: Option<u8>,
    /// `t=y` (RFC 9989 test mode).
    pub testing: bool,
    pub psd: Option<char>,
    pub rua: Vec<ReportUri>,
    pub ruf: Vec<ReportUri>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub code: Code,
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct Parsed {
    pub policy: Policy,
    pub issues: Vec<Issue>,
}

/// Tags RFC 9989 defines.
const KNOWN: &[&str] = &[
    "v", "p", "sp", "np", "adkim", "aspf", "fo", "rua", "ruf", "psd", "t",
];
/// Tags RFC 7489 had and RFC 9989 removed (§A.6, §A.7): still read by
/// RFC 7489 receivers, ignored by RFC 9989 ones.
const REMOVED: &[&str] = &["pct", "rf", "ri"];

fn issue(code: Code, detail: impl Into<String>) -> Issue {
    Issue {
        code,
        detail: detail.into(),
    }
}

/// Parses and validates a record that starts with `v=DMARC1`.
pub fn parse(text: &str) -> Parsed {
    let tags = taglist::parse(text);
    let mut issues = Vec::new();
    let mut policy = Policy {
        p: None,
        sp: None,
        np: None,
        strict_dkim: false,
        strict_spf: false,
        pct: None,
        testing: false,
        psd: None,
        rua: Vec::new(),
        ruf: Vec::new(),
    };
    for m in &tags.malformed {
        issues.push(issue(
            Code::DmarcSyntaxError,
            format!(
                "has a malformed tag {:?}: {}; receivers ignore it",
                m.text, m.why
            ),
        ));
    }
    for d in tags.duplicates(true) {
        issues.push(issue(
            Code::DmarcDuplicateTag,
            format!("has the tag {d}= more than once; receivers may read either value, or reject the record"),
        ));
    }
    let mut seen: Vec<String> = Vec::new();
    for t in &tags.tags {
        let name = t.name.to_ascii_lowercase();
        if seen.contains(&name) {
            continue; // the first occurrence is the one judged
        }
        seen.push(name.clone());
        let v = t.value.as_str();
        let invalid = |what: &str| {
            issue(
                Code::DmarcInvalidValue,
                format!(
                    "has {}={v:?}, which is not valid ({what}); receivers ignore it",
                    t.name
                ),
            )
        };
        match name.as_str() {
            "v" => {}
            "p" | "sp" | "np" => match Request::parse(v) {
                Some(r) => match name.as_str() {
                    "p" => policy.p = Some(r),
                    "sp" => policy.sp = Some(r),
                    _ => policy.np = Some(r),
                },
                None => issues.push(invalid("none, quarantine or reject")),
            },
            "adkim" | "aspf" => {
                let strict = match v.to_ascii_lowercase().as_str() {
                    "r" => false,
                    "s" => true,
                    _ => {
                        issues.push(invalid("r or s"));
                        continue;
                    }
                };
                if name == "adkim" {
                    policy.strict_dkim = strict;
                } else {
                    policy.strict_spf = strict;
                }
            }
            "fo" => {
                let items = colon_list(v);
                if items.is_empty()
                    || items
                        .iter()
                        .any(|i| !matches!(i.to_ascii_lowercase().as_str(), "0" | "1" | "d" | "s"))
                {
                    issues.push(invalid("0, 1, d, s, or a colon-separated list of them"));
                }
            }
            "psd" => match v.to_ascii_lowercase().as_str() {
                "y" => policy.psd = Some('y'),
                "n" => policy.psd = Some('n'),
                "u" => policy.psd = Some('u'),
                _ => issues.push(invalid("y, n or u")),
            },
            "t" => match v.to_ascii_lowercase().as_str() {
                "y" => policy.testing = true,
                "n" => {}
                _ => issues.push(invalid("y or n")),
            },
            "rua" | "ruf" => {
                let mut uris = Vec::new();
                for raw in v.split(',') {
                    match report_uri(raw) {
                        Ok(u) => uris.push(u),
                        Err(why) => issues.push(issue(
                            Code::DmarcInvalidValue,
                            format!(
                                "has {}= with {:?}, which is not a valid report address ({why}); receivers skip it",
                                t.name,
                                raw.trim()
                            ),
                        )),
                    }
                }
                if name == "rua" {
                    policy.rua = uris;
                } else {
                    policy.ruf = uris;
                }
            }
            "pct" => {
                issues.push(removed(&t.name, v));
                match v.parse::<u8>() {
                    Ok(n) if n <= 100 => policy.pct = Some(n),
                    _ => issues.push(invalid("a whole number from 0 to 100")),
                }
            }
            "rf" => {
                issues.push(removed(&t.name, v));
                if colon_list(v)
                    .iter()
                    .any(|f| !f.eq_ignore_ascii_case("afrf"))
                {
                    issues.push(invalid("afrf"));
                }
            }
            "ri" => {
                issues.push(removed(&t.name, v));
                if v.parse::<u32>().is_err() {
                    issues.push(invalid("a number of seconds"));
                }
            }
            _ => {
                let hint = KNOWN
                    .iter()
                    .chain(REMOVED)
                    .find(|k| close(k, &name))
                    .map(|k| format!(" (did you mean {k}=?)"))
                    .unwrap_or_default();
                issues.push(issue(
                    Code::DmarcUnknownTag,
                    format!(
                        "has an unknown tag {}={v:?}{hint}; receivers ignore it",
                        t.name
                    ),
                ));
            }
        }
    }
    if policy.p.is_none() && !tags.tags.iter().any(|t| t.name.eq_ignore_ascii_case("p")) {
        issues.push(issue(
            Code::DmarcNoPolicy,
            "has no p= tag: RFC 7489 receivers ignore such a record unless it has a valid rua=, RFC 9989 ones read it as p=none",
        ));
    }
    Parsed {
        policy,
        issues: cap(issues),
    }
}

/// Most findings of one kind a record gets; a hostile record with thousands
/// of junk tags gets these and one line counting the rest.
const MAX_PER_CODE: usize = 10;

fn cap(issues: Vec<Issue>) -> Vec<Issue> {
    let mut out: Vec<Issue> = Vec::new();
    let mut dropped: Vec<(Code, usize)> = Vec::new();
    for i in issues {
        if out.iter().filter(|o| o.code == i.code).count() < MAX_PER_CODE {
            out.push(i);
        } else if let Some(d) = dropped.iter_mut().find(|(c, _)| *c == i.code) {
            d.1 += 1;
        } else {
            dropped.push((i.code, 1));
        }
    }
    for (code, n) in dropped {
        out.push(issue(
            code,
            format!("has {n} more problems like the ones above (not listed one by one)"),
        ));
    }
    out
}

fn removed(name: &str, v: &str) -> Issue {
    issue(
        Code::DmarcRemovedTag,
        format!(
            "has {name}={v}, a tag RFC 9989 removed; RFC 7489 receivers still read it, newer ones ignore it"
        ),
    )
}

/// A `rua`/`ruf` URI: `scheme:rest`, an optional RFC 7489 `!size` suffix
/// stripped; a `mailto:` must hold an address at a valid domain.
fn report_uri(raw: &str) -> Result<ReportUri, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("empty".into());
    }
    // RFC 7489 §6.2 `!10m`-style size limits; RFC 9989 makes them obsolete.
    let s = match s.rsplit_once('!') {
        Some((u, size))
            if !size.is_empty()
                && size
                    .trim_end_matches(['k', 'm', 'g', 't', 'K', 'M', 'G', 'T'])
                    .chars()
                    .all(|c| c.is_ascii_digit()) =>
        {
            u
        }
        _ => s,
    };
    let Some((scheme, rest)) = s.split_once(':') else {
        return Err("no URI scheme; write mailto:address".into());
    };
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return Err(format!("{scheme:?} is not a URI scheme"));
    }
    if !scheme.eq_ignore_ascii_case("mailto") {
        return Ok(ReportUri {
            uri: s.to_string(),
            mail_domain: None,
        });
    }
    let addr = rest.split('?').next().unwrap_or("");
    let Some((local, domain)) = addr.rsplit_once('@') else {
        return Err(format!("{addr:?} is not an address (local@domain)"));
    };
    if local.is_empty() {
        return Err(format!("{addr:?} has an empty local part"));
    }
    let d = to_domain(domain).map_err(|e| e.to_string())?;
    Ok(ReportUri {
        uri: s.to_string(),
        mail_domain: Some(d),
    })
}

/// One edit (insert, delete, substitute, or swap of neighbours) apart.
fn close(a: &str, b: &str) -> bool {
    if a == b {
        return false;
    }
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len() == b.len() {
        let diff: Vec<usize> = (0..a.len()).filter(|i| a[*i] != b[*i]).collect();
        return diff.len() == 1
            || (diff.len() == 2
                && diff[1] == diff[0] + 1
                && a[diff[0]] == b[diff[1]]
                && a[diff[1]] == b[diff[0]]);
    }
    let (long, short) = if a.len() > b.len() {
        (&a, &b)
    } else {
        (&b, &a)
    };
    if long.len() != short.len() + 1 {
        return false;
    }
    (0..long.len()).any(|skip| {
        long.iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, c)| c)
            .eq(short.iter())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(text: &str) -> Vec<&'static str> {
        let mut v: Vec<_> = parse(text).issues.iter().map(|i| i.code.id()).collect();
        v.sort();
        v
    }

    #[test]
    fn a_clean_record() {
        let p = parse("v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=r; rua=mailto:d@example.com!10m, mailto:x@other.example; fo=1:d");
        assert!(p.issues.is_empty(), "{:?}", p.issues);
        assert_eq!(p.policy.p, Some(Request::Reject));
        assert_eq!(p.policy.sp, Some(Request::Quarantine));
        assert!(p.policy.strict_dkim && !p.policy.strict_spf);
        assert_eq!(p.policy.rua.len(), 2);
        assert_eq!(p.policy.rua[0].mail_domain.as_deref(), Some("example.com"));
        assert_eq!(p.policy.rua[0].uri, "mailto:d@example.com");
        assert!(parse("v=DMARC1; P=Reject").issues.is_empty());
    }

    #[test]
    fn every_kind_of_problem() {
        assert_eq!(
            codes("v=DMARC1; p=block"),
            ["dmarc.invalid_value", "dmarc.no_policy"][..1]
        );
        assert_eq!(
            codes("v=DMARC1; rua=mailto:a@b.example"),
            ["dmarc.no_policy"]
        );
        assert_eq!(codes("v=DMARC1; p=none; sp=maybe"), ["dmarc.invalid_value"]);
        assert_eq!(codes("v=DMARC1; p=none; np=x"), ["dmarc.invalid_value"]);
        assert_eq!(
            codes("v=DMARC1; p=none; adkim=relaxed"),
            ["dmarc.invalid_value"]
        );
        assert_eq!(codes("v=DMARC1; p=none; aspf=x"), ["dmarc.invalid_value"]);
        assert_eq!(codes("v=DMARC1; p=none; fo=2"), ["dmarc.invalid_value"]);
        assert_eq!(
            codes("v=DMARC1; p=none; psd=maybe"),
            ["dmarc.invalid_value"]
        );
        assert_eq!(codes("v=DMARC1; p=none; t=yes"), ["dmarc.invalid_value"]);
        assert_eq!(
            codes("v=DMARC1; p=none; rua=dmarc@example.com"),
            ["dmarc.invalid_value"]
        );
        assert_eq!(
            codes("v=DMARC1; p=none; ruf=mailto:nobody"),
            ["dmarc.invalid_value"]
        );
        assert_eq!(codes("v=DMARC1; p=none; pct=50"), ["dmarc.removed_tag"]);
        assert_eq!(
            codes("v=DMARC1; p=none; pct=150"),
            ["dmarc.invalid_value", "dmarc.removed_tag"]
        );
        assert_eq!(
            codes("v=DMARC1; p=none; ri=86400; rf=afrf"),
            ["dmarc.removed_tag"; 2]
        );
        assert_eq!(
            codes("v=DMARC1; p=none; rf=xml"),
            ["dmarc.invalid_value", "dmarc.removed_tag"]
        );
        assert_eq!(codes("v=DMARC1; p=none; p=reject"), ["dmarc.duplicate_tag"]);
        assert_eq!(
            codes("v=DMARC1; p=none; rau=mailto:a@b.example"),
            ["dmarc.unknown_tag"]
        );
        assert!(parse("v=DMARC1; p=none; rau=x").issues[0]
            .detail
            .contains("did you mean rua="));
        assert_eq!(codes("v=DMARC1; p=none; junk"), ["dmarc.syntax_error"]);
        assert_eq!(parse("v=DMARC1; p=none; pct=50").policy.pct, Some(50));
        assert!(parse("v=DMARC1; p=none; t=y").policy.testing);
    }

    #[test]
    fn typo_distance() {
        assert!(close("rua", "rau"));
        assert!(close("rua", "ruaa"));
        assert!(close("aspf", "apsf"));
        assert!(close("adkim", "dkim"));
        assert!(!close("rua", "rua"));
        assert!(!close("p", "xyz"));
    }
}
