//! The RFC 9989 (DMARCbis) DNS Tree Walk: which DMARC policy record applies
//! to a domain, and which domain is its Organizational Domain.
//!
//! RFC 7489 found the Organizational Domain with a Public Suffix List; RFC
//! 9989 §4.10 replaces that with a walk up the DNS: query `_dmarc.` at the
//! domain, then (after shortening a name of eight or more labels to seven)
//! at each parent up to the TLD, at most eight queries. A record with
//! `psd=y` or `psd=n` stops the walk. The names are known before any answer
//! comes back, so all of them are asked at once; the walk then reads the
//! answers in order.
//!
//! The Public Suffix List (compiled in, [`crate::names::psl_org_domain`])
//! still matters: receivers that implement RFC 7489 use it, so where the two
//! disagree a check can say so. It also tells which walk levels are public
//! suffixes, where a lookup that fails only hides a rarely-published PSD
//! policy rather than the domain owner's own.

use futures::future::join_all;

use crate::dkim::taglist;
use crate::dns::{fqdn, normalize, Answer, Dns, Failure, RType};
use crate::names::psl_org_domain;

/// RFC 9989 §4.10: "Author Domains with more than eight labels do not
/// result in more than eight DNS queries."
pub const MAX_WALK_QUERIES: usize = 8;

/// The domains a walk from `domain` asks about, in order: the domain, then
/// (shortened to seven labels when it has eight or more) each parent up to
/// the TLD.
pub fn walk_domains(domain: &str) -> Vec<String> {
    let d = normalize(domain);
    let labels: Vec<&str> = d.split('.').filter(|l| !l.is_empty()).collect();
    let n = labels.len();
    if n == 0 {
        return Vec::new();
    }
    let mut out = vec![labels.join(".")];
    let mut x = if n >= 8 { 7 } else { n - 1 };
    while x >= 1 {
        out.push(labels[n - x..].join("."));
        x -= 1;
    }
    out
}

/// Whether a TXT string is a DMARC policy record: its first tag is `v` with
/// the exact value `DMARC1` (RFC 9989 §4.7: case-sensitive, first).
pub fn is_dmarc_record(text: &str) -> bool {
    text.split(';')
        .next()
        .and_then(|s| s.split_once('='))
        .is_some_and(|(n, v)| n.trim().eq_ignore_ascii_case("v") && v.trim() == "DMARC1")
}

/// One step of the walk.
#[derive(Debug, Clone)]
pub struct Level {
    pub domain: String,
    /// `_dmarc.DOMAIN`, without the trailing dot.
    pub name: String,
    pub answer: Answer,
    /// The TXT strings that are DMARC records.
    pub records: Vec<String>,
}

impl Level {
    /// The one DMARC record here; several are all discarded (RFC 9989 §4.10
    /// step 2), so they count as none.
    pub fn single(&self) -> Option<&str> {
        match self.records.as_slice() {
            [one] => Some(one),
            _ => None,
        }
    }

    /// The record's `psd=` value, lower case, if it has one.
    pub fn psd(&self) -> Option<String> {
        let rec = self.single()?;
        taglist::parse(rec)
            .tags
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case("psd"))
            .map(|t| t.value.to_ascii_lowercase())
    }

    pub fn failure(&self) -> Option<&Failure> {
        self.answer.failure()
    }

    pub fn evidence(&self) -> Vec<String> {
        self.answer.evidence(&self.name, RType::Txt)
    }
}

/// How the Organizational Domain was chosen (RFC 9989 §4.10.2's rules).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgRule {
    /// A record with psd=n at this level.
    PsdNo,
    /// A record with psd=y one label above.
    BelowPsd,
    /// The record with the fewest labels on the walk.
    Fewest,
    /// No record anywhere on the walk: the domain itself.
    NoRecord,
}

/// The walk's answers, read.
#[derive(Debug, Clone)]
pub struct Walk {
    pub start: String,
    /// Every level asked, in walk order.
    pub levels: Vec<Level>,
    /// Index of the last level the walk reads (a psd=y/n record stops it).
    pub stop: usize,
}

/// Walks from `domain`, all queries at once.
pub async fn walk(dns: &Dns, domain: &str) -> Walk {
    let domains = walk_domains(domain);
    let answers = join_all(
        domains
            .iter()
            .map(|d| async move { dns.query(&format!("_dmarc.{d}"), RType::Txt).await }),
    )
    .await;
    let levels: Vec<Level> = domains
        .into_iter()
        .zip(answers)
        .map(|(d, answer)| {
            let records = answer
                .txts()
                .into_iter()
                .filter(|t| is_dmarc_record(t))
                .collect();
            Level {
                name: format!("_dmarc.{d}"),
                domain: d,
                answer,
                records,
            }
        })
        .collect();
    let stop = levels
        .iter()
        .position(|l| matches!(l.psd().as_deref(), Some("y") | Some("n")))
        .unwrap_or(levels.len().saturating_sub(1));
    Walk {
        start: normalize(domain),
        levels,
        stop,
    }
}

/// Which record applies to the start domain, and how it was found.
#[derive(Debug, Clone)]
pub struct Discovery {
    /// Index into the walk's levels of the record that applies.
    pub level: usize,
    /// The record was found at the start domain itself (its `p=` applies);
    /// otherwise at its Organizational Domain or PSD (`sp=`/`np=` apply).
    pub at_start: bool,
}

impl Walk {
    /// The levels the walk reads.
    pub fn read(&self) -> &[Level] {
        &self.levels[..(self.stop + 1).min(self.levels.len())]
    }

    /// Levels that could not be asked and matter: those the walk reads,
    /// below the start's public suffix (a failure at a public suffix only
    /// hides a PSD policy, which a domain that publishes its own record
    /// never uses).
    pub fn blocking_failures(&self) -> Vec<&Level> {
        let suffix_labels = self.psl_suffix_labels();
        self.read()
            .iter()
            .filter(|l| l.failure().is_some())
            .filter(|l| label_count(&l.domain) > suffix_labels)
            .collect()
    }

    /// Failed levels that are public suffixes: noted, not blocking.
    pub fn suffix_failures(&self) -> Vec<&Level> {
        let suffix_labels = self.psl_suffix_labels();
        self.read()
            .iter()
            .filter(|l| l.failure().is_some())
            .filter(|l| label_count(&l.domain) <= suffix_labels)
            .collect()
    }

    fn psl_suffix_labels(&self) -> usize {
        let org = psl_org_domain(&self.start);
        label_count(&org).saturating_sub(1)
    }

    /// The Organizational Domain (RFC 9989 §4.10.2) and the rule that chose it.
    pub fn org_domain(&self) -> (String, OrgRule, Option<usize>) {
        let read = self.read();
        for (i, l) in read.iter().enumerate() {
            match l.psd().as_deref() {
                Some("n") => return (l.domain.clone(), OrgRule::PsdNo, Some(i)),
                Some("y") if i > 0 => {
                    let want = label_count(&l.domain) + 1;
                    let below = last_labels(&self.start, want);
                    let idx = read.iter().position(|x| x.domain == below);
                    return (below, OrgRule::BelowPsd, idx);
                }
                _ => {}
            }
        }
        match read
            .iter()
            .enumerate()
            .filter(|(_, l)| l.single().is_some())
            .min_by_key(|(_, l)| label_count(&l.domain))
        {
            Some((i, l)) => (l.domain.clone(), OrgRule::Fewest, Some(i)),
            None => (self.start.clone(), OrgRule::NoRecord, None),
        }
    }

    /// The policy record that applies to the start domain (RFC 9989 §4.10.1):
    /// its own, else its Organizational Domain's, else its PSD's.
    pub fn discovery(&self) -> Option<Discovery> {
        let read = self.read();
        if read.first().is_some_and(|l| l.single().is_some()) {
            return Some(Discovery {
                level: 0,
                at_start: true,
            });
        }
        let (_, _, org_idx) = self.org_domain();
        if let Some(i) = org_idx.filter(|i| read[*i].single().is_some()) {
            return Some(Discovery {
                level: i,
                at_start: false,
            });
        }
        read.iter()
            .position(|l| l.psd().as_deref() == Some("y"))
            .map(|i| Discovery {
                level: i,
                at_start: i == 0,
            })
    }

    /// The walk as evidence: each answer read, then why it ends where it does.
    pub fn evidence(&self) -> Vec<String> {
        let mut v = vec![format!(
            "; DMARC policy discovery for {} (RFC 9989 §4.10 DNS tree walk)",
            self.start
        )];
        for l in self.read() {
            v.extend(l.evidence());
        }
        v.extend(self.conclusion());
        v
    }

    /// Comment lines saying where the policy was found and why, and how the
    /// Organizational Domain compares with the Public Suffix List's.
    pub fn conclusion(&self) -> Vec<String> {
        let mut v = Vec::new();
        let (org, rule, _) = self.org_domain();
        let read = self.read();
        match self.discovery() {
            Some(d) if d.at_start => v.push(format!(
                "; policy: {} (the domain's own record; p= applies)",
                fqdn(&read[d.level].name)
            )),
            Some(d) => v.push(format!(
                "; policy: {} ({}; {} is a subdomain, so sp= (np= if it does not exist) applies)",
                fqdn(&read[d.level].name),
                if read[d.level].domain == org {
                    "the organizational domain's record".to_string()
                } else {
                    "the public suffix domain's record (psd=y)".to_string()
                },
                self.start
            )),
            None => v.push(format!(
                "; policy: none — no DMARC record at {} or any parent",
                self.start
            )),
        }
        let why = match rule {
            OrgRule::PsdNo => "its record says psd=n",
            OrgRule::BelowPsd => "the domain one label below a psd=y record",
            OrgRule::Fewest => "the DMARC record with the fewest labels on the walk",
            OrgRule::NoRecord => "no DMARC record on the walk, so the domain itself",
        };
        v.push(format!("; organizational domain: {org} ({why})"));
        let psl = psl_org_domain(&self.start);
        if psl != org {
            v.push(format!(
                "; the Public Suffix List (RFC 7489 receivers) gives {psl} instead"
            ));
        }
        for l in self.suffix_failures() {
            if let Some(f) = l.failure() {
                v.push(format!(
                    "; {} could not be asked ({f}); it is a public suffix, so only a PSD policy could hide there",
                    fqdn(&l.name)
                ));
            }
        }
        v
    }
}

pub fn label_count(domain: &str) -> usize {
    normalize(domain)
        .split('.')
        .filter(|l| !l.is_empty())
        .count()
}

/// The last `n` labels of `domain`.
fn last_labels(domain: &str, n: usize) -> String {
    let d = normalize(domain);
    let labels: Vec<&str> = d.split('.').collect();
    labels[labels.len().saturating_sub(n)..].join(".")
}

/// Whether `a` and `b` are in relaxed alignment given their Organizational
/// Domains, or identical for strict.
pub fn aligned(a: &str, b: &str, strict: bool, org_a: &str, org_b: &str) -> bool {
    if normalize(a) == normalize(b) {
        return true;
    }
    !strict && normalize(org_a) == normalize(org_b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_names_follow_rfc_9989() {
        assert_eq!(
            walk_domains("a.mail.example.com"),
            [
                "a.mail.example.com",
                "mail.example.com",
                "example.com",
                "com"
            ]
        );
        // RFC 9989 §4.10's own example: eight queries.
        assert_eq!(
            walk_domains("a.b.c.d.e.f.g.h.i.j.mail.example.com"),
            [
                "a.b.c.d.e.f.g.h.i.j.mail.example.com",
                "g.h.i.j.mail.example.com",
                "h.i.j.mail.example.com",
                "i.j.mail.example.com",
                "j.mail.example.com",
                "mail.example.com",
                "example.com",
                "com"
            ]
        );
        assert_eq!(walk_domains("Example.COM."), ["example.com", "com"]);
        assert!(walk_domains("x.y.z.a.b.c.d.e.f.g.h.i.j.k.l").len() <= MAX_WALK_QUERIES);
    }

    #[test]
    fn dmarc_records_start_with_v() {
        assert!(is_dmarc_record("v=DMARC1; p=none"));
        assert!(is_dmarc_record("v = DMARC1 ;p=none"));
        assert!(!is_dmarc_record("p=none; v=DMARC1"));
        assert!(!is_dmarc_record("v=dmarc1; p=none"));
        assert!(!is_dmarc_record("v=DMARC2; p=none"));
        assert!(!is_dmarc_record("v=spf1 -all"));
        assert!(!is_dmarc_record("garbage v=DMARC1"));
    }
}
