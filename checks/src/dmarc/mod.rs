//! dmarc — a DMARC policy applies to the domain, and mail from the sending
//! IPs would pass it (RFC 7489; RFC 9989, "DMARCbis").
//!
//! Policy discovery is RFC 9989's DNS Tree Walk ([`crate::orgdomain`]): the
//! record at `_dmarc.DOMAIN`, else the one at its Organizational Domain (or
//! Public Suffix Domain); the evidence shows every name walked and why the
//! walk ended where it did, and says when the Public Suffix List (which RFC
//! 7489 receivers use) would pick another Organizational Domain. Every tag
//! is validated; records that receivers would discard (several at one name,
//! `v=DMARC1` not first) or never find (at the apex, at `dmarc.DOMAIN`, at
//! `_dmarc.DOMAIN.DOMAIN` from a zone file missing its trailing dot) are
//! named. `rua`/`ruf` addresses at another organization are checked for the
//! `DOMAIN._report._dmarc.OTHER` authorization record (RFC 7489 §7.1).
//!
//! The alignment forecast ([`forecast`]) answers, for each sending IP,
//! whether `From: someone@DOMAIN` sent from it would pass DMARC: SPF
//! (`check_host` for the MAIL FROM) passing and aligned, or a DKIM key under
//! DOMAIN (or its Organizational Domain, when `adkim=r`) that a verifier can
//! use. It reuses the dkim check's lookups through the shared DNS cache.
//!
//! A `_dmarc` lookup that fails is `error`, never "no DMARC".
//!
//! Codes: dmarc.ok, dmarc.missing, dmarc.lookup_failed,
//! dmarc.multiple_records, dmarc.version_not_first, dmarc.bad_version,
//! dmarc.syntax_error, dmarc.duplicate_tag, dmarc.invalid_value,
//! dmarc.no_policy, dmarc.unknown_tag, dmarc.removed_tag, dmarc.policy_none,
//! dmarc.pct_partial, dmarc.test_mode, dmarc.no_rua,
//! dmarc.report_not_authorized, dmarc.wrong_place,
//! dmarc.org_domain_differs, dmarc.aligned, dmarc.aligned_dkim_only,
//! dmarc.aligned_spf_only, dmarc.forecast_fail, dmarc.forecast_unknown,
//! dmarc.no_ip.

pub mod forecast;
pub mod record;

use futures::future::join_all;

use crate::dkim::taglist;
use crate::dns::{fqdn, Answer, Dns, RType};
use crate::names::psl_org_domain;
use crate::orgdomain::{self, is_dmarc_record, Level, Walk};
use crate::{Check, Code, Ctx, Finding, Status};

pub use record::{Policy, Request};

pub struct DmarcCheck;

#[async_trait::async_trait]
impl Check for DmarcCheck {
    fn id(&self) -> &'static str {
        "dmarc"
    }

    fn title(&self) -> &'static str {
        "A DMARC policy exists and mail from the sending IPs would pass it"
    }

    async fn run(&self, ctx: &Ctx) -> Vec<Finding> {
        let domain = ctx.target.domain.as_str();
        // Everything that does not depend on the policy goes out at once:
        // the walk, the misplaced-record probes, the DKIM keys and SPF.
        let (walk, misplaced, exists, prepared) = tokio::join!(
            orgdomain::walk(&ctx.dns, domain),
            misplaced(&ctx.dns, domain),
            ctx.dns.query(domain, RType::Mx),
            forecast::prepare(ctx),
        );
        let (mut out, found) = policy_findings(&ctx.dns, domain, &walk, &misplaced, &exists).await;
        out.extend(forecast::findings(ctx, &walk, found.as_ref(), prepared).await);
        out
    }
}

/// The record that applies, parsed, and where it was found.
#[derive(Debug, Clone)]
pub struct Found {
    pub level: Level,
    pub at_start: bool,
    pub parsed: record::Parsed,
}

/// TXT answers at the names where DMARC records are put by mistake.
pub struct Misplaced {
    probes: Vec<(String, Answer)>,
}

async fn misplaced(dns: &Dns, domain: &str) -> Misplaced {
    let names = [
        domain.to_string(),
        format!("dmarc.{domain}"),
        format!("_dmarc.{domain}.{domain}"),
    ];
    let answers = join_all(names.iter().map(|n| dns.query(n, RType::Txt))).await;
    Misplaced {
        probes: names.into_iter().zip(answers).collect(),
    }
}

/// What a TXT at `_dmarc.X` that is not a valid DMARC record was meant to
/// be: `Some(code)` when it is a broken DMARC record.
fn broken_record(text: &str) -> Option<(Code, String)> {
    let tags = taglist::parse(text);
    let v_pos = tags
        .tags
        .iter()
        .position(|t| t.name.eq_ignore_ascii_case("v"));
    match v_pos {
        Some(0) => {
            let v = &tags.tags[0].value;
            Some((
                Code::DmarcBadVersion,
                format!("starts with v={v:?}; only the exact v=DMARC1 is a DMARC record"),
            ))
        }
        Some(_) if text.to_ascii_lowercase().contains("dmarc1") => Some((
            Code::DmarcVersionNotFirst,
            "has v=DMARC1, but not as its first tag".to_string(),
        )),
        _ if tags.tags.iter().any(|t| t.name.eq_ignore_ascii_case("p"))
            || text.to_ascii_lowercase().contains("dmarc") =>
        {
            Some((
                Code::DmarcBadVersion,
                "looks like a DMARC record but does not start with v=DMARC1".to_string(),
            ))
        }
        _ => None,
    }
}

async fn policy_findings(
    dns: &Dns,
    domain: &str,
    walk: &Walk,
    misplaced: &Misplaced,
    exists: &Answer,
) -> (Vec<Finding>, Option<Found>) {
    let mut out = Vec::new();
    let read = walk.read();
    let walk_ev = walk.evidence();
    let suffix_labels = orgdomain::label_count(&psl_org_domain(domain)).saturating_sub(1);

    // Records the domain owner controls that receivers would discard.
    for l in read
        .iter()
        .filter(|l| orgdomain::label_count(&l.domain) > suffix_labels)
    {
        let name = fqdn(&l.name);
        if l.records.len() > 1 {
            out.push(
                Finding::new(
                    Code::DmarcMultipleRecords,
                    format!(
                        "{name} has {} DMARC records; receivers discard them all, as if there were none",
                        l.records.len()
                    ),
                )
                .evidence(l.evidence())
                .fix(format!(
                    "Merge the records at {name} into one TXT record starting with v=DMARC1 and delete the others."
                )),
            );
        }
        for t in l.answer.txts().iter().filter(|t| !is_dmarc_record(t)) {
            if let Some((code, why)) = broken_record(t) {
                out.push(
                    Finding::new(
                        code,
                        format!("the TXT record at {name} {why}; receivers ignore it"),
                    )
                    .evidence(l.evidence()),
                );
            }
        }
    }

    let blocking = walk.blocking_failures();
    if let Some(first) = read.first() {
        if let Some(f) = first.failure() {
            out.push(
                Finding::new(
                    Code::DmarcLookupFailed,
                    format!(
                        "{} could not be looked up ({f}): whether {domain} has a DMARC policy is unknown",
                        fqdn(&first.name)
                    ),
                )
                .evidence(walk_ev.clone()),
            );
            return (out, None);
        }
    }
    let discovery = walk.discovery();
    if !blocking.is_empty() && !discovery.as_ref().is_some_and(|d| d.at_start) {
        let names: Vec<String> = blocking
            .iter()
            .map(|l| {
                format!(
                    "{} ({})",
                    fqdn(&l.name),
                    l.failure().map(|f| f.to_string()).unwrap_or_default()
                )
            })
            .collect();
        out.push(
            Finding::new(
                Code::DmarcLookupFailed,
                format!(
                    "{domain} has no DMARC record of its own, and the parent it may inherit one from could not be looked up: {}",
                    names.join(", ")
                ),
            )
            .evidence(walk_ev.clone()),
        );
        return (out, None);
    }

    let Some(d) = discovery else {
        let psl = psl_org_domain(domain);
        let walked: Vec<String> = read.iter().map(|l| fqdn(&l.name)).collect();
        out.extend(wrong_place(domain, misplaced));
        let also = if psl != domain {
            format!(
                " (and, so subdomains are covered too, `_dmarc.{psl}. TXT \"v=DMARC1; p=none; rua=mailto:dmarc-reports@{psl}\"`)"
            )
        } else {
            String::new()
        };
        out.push(
            Finding::new(
                Code::DmarcMissing,
                format!(
                    "no DMARC record for {domain}: none at {}",
                    walked.join(", ")
                ),
            )
            .evidence(walk_ev)
            .fix(format!(
                "Publish `_dmarc.{domain}. TXT \"v=DMARC1; p=none; rua=mailto:dmarc-reports@{domain}\"`{also}, read the aggregate reports, then move to p=quarantine and p=reject. Gmail and Yahoo require DMARC from bulk senders."
            )),
        );
        return (out, None);
    };

    let level = read[d.level].clone();
    let text = level.single().unwrap_or_default().to_string();
    let parsed = record::parse(&text);
    let name = fqdn(&level.name);
    // Evidence for findings about the record: where it is and why it applies.
    let ev = walk_ev.clone();
    for i in &parsed.issues {
        out.push(Finding::new(i.code, format!("{name} {}", i.detail)).evidence(ev.clone()));
    }
    let p = &parsed.policy;
    let nonexistent = matches!(exists, Answer::NxDomain);
    let (tag, applied) = if d.at_start {
        ("p", p.p)
    } else if nonexistent && p.np.is_some() {
        ("np", p.np)
    } else if p.sp.is_some() {
        ("sp", p.sp)
    } else {
        ("p", p.p)
    };
    let source = if d.at_start {
        name.clone()
    } else {
        format!("{name}, inherited by {domain} as a subdomain")
    };
    if applied == Some(Request::None) {
        out.push(
            Finding::new(
                Code::DmarcPolicyNone,
                format!(
                    "the DMARC policy for {domain} is {tag}=none ({source}): monitoring only, failing mail is delivered as usual"
                ),
            )
            .evidence(ev.clone())
            .fix(format!(
                "When the aggregate reports show all legitimate mail from {domain} passing, change {tag}=none to {tag}=quarantine, then {tag}=reject, in {name}"
            )),
        );
    }
    let enforcing = matches!(applied, Some(Request::Quarantine | Request::Reject));
    if enforcing {
        if let Some(pct) = p.pct.filter(|n| *n < 100) {
            out.push(
                Finding::new(
                    Code::DmarcPctPartial,
                    format!(
                        "{name} has pct={pct}: {tag}={} applies to only {pct}% of failing mail",
                        applied.map(Request::as_str).unwrap_or_default()
                    ),
                )
                .evidence(ev.clone()),
            );
        }
        if p.testing {
            out.push(
                Finding::new(
                    Code::DmarcTestMode,
                    format!(
                        "{name} has t=y: receivers apply one level less than {tag}={}",
                        applied.map(Request::as_str).unwrap_or_default()
                    ),
                )
                .evidence(ev.clone()),
            );
        }
    }
    if p.rua.is_empty() {
        out.push(
            Finding::new(
                Code::DmarcNoRua,
                format!("{name} has no rua=: no aggregate reports will be sent for {domain}"),
            )
            .evidence(ev.clone())
            .fix(format!(
                "Add rua=mailto:dmarc-reports@{} to {name}, so you see which senders pass and fail.",
                level.domain
            )),
        );
    }
    out.extend(report_authorization(dns, &level.domain, p).await);

    let (org, _, _) = walk.org_domain();
    let psl = psl_org_domain(domain);
    if org != psl {
        out.push(
            Finding::new(
                Code::DmarcOrgDomainDiffers,
                format!(
                    "the organizational domain of {domain} is {org} by the RFC 9989 tree walk but {psl} by the Public Suffix List (RFC 7489 receivers): relaxed alignment can differ between receivers"
                ),
            )
            .evidence(ev.clone())
            .fix(format!(
                "Publish a DMARC record at _dmarc.{psl} as well (with psd=n on the one at _dmarc.{org} if {org} is its own organization), so both kinds of receiver agree."
            )),
        );
    }

    let worse_than_info = out.iter().any(|f| f.status >= Status::Warn);
    if !worse_than_info && enforcing {
        out.push(
            Finding::new(
                Code::DmarcOk,
                format!(
                    "{domain} has DMARC {tag}={} from {source}, with aggregate reports",
                    applied.map(Request::as_str).unwrap_or_default()
                ),
            )
            .evidence(ev),
        );
    }
    let found = Found {
        level,
        at_start: d.at_start,
        parsed,
    };
    (out, Some(found))
}

/// A DMARC record where receivers never look, when the domain has none of
/// its own (otherwise the stray one is harmless).
fn wrong_place(domain: &str, m: &Misplaced) -> Vec<Finding> {
    let mut out = Vec::new();
    for (name, answer) in &m.probes {
        let hits: Vec<String> = answer
            .txts()
            .into_iter()
            .filter(|t| t.trim_start().to_ascii_lowercase().starts_with("v=dmarc1"))
            .collect();
        if hits.is_empty() {
            continue;
        }
        let why = if name == domain {
            "the domain itself".to_string()
        } else if name.starts_with("dmarc.") {
            "a name without the underscore".to_string()
        } else {
            "a name with the domain twice (a zone-file entry missing its trailing dot)".to_string()
        };
        out.push(
            Finding::new(
                Code::DmarcWrongPlace,
                format!(
                    "{} holds a DMARC record ({why}); receivers only look at _dmarc.{domain}",
                    fqdn(name)
                ),
            )
            .evidence(answer.evidence(name, RType::Txt))
            .fix(format!(
                "Publish the record as `_dmarc.{domain}. TXT \"{}\"` (in the {domain} zone file: `_dmarc TXT …`) and delete it from {}.",
                hits[0].replace('"', "\\\""),
                fqdn(name)
            )),
        );
    }
    out
}

/// `rua`/`ruf` addresses at another organization need its consent, published
/// as `POLICYDOMAIN._report._dmarc.REPORTDOMAIN` TXT "v=DMARC1" (RFC 7489
/// §7.1). Organizations are compared by the Public Suffix List, as report
/// generators do.
async fn report_authorization(dns: &Dns, policy_domain: &str, p: &Policy) -> Vec<Finding> {
    let own = psl_org_domain(policy_domain);
    let mut external: Vec<(String, String)> = Vec::new(); // (tag, mail domain)
    for (tag, uris) in [("rua", &p.rua), ("ruf", &p.ruf)] {
        for u in uris.iter() {
            if let Some(d) = &u.mail_domain {
                if psl_org_domain(d) != own && !external.iter().any(|(t, x)| t == tag && x == d) {
                    external.push((tag.to_string(), d.clone()));
                }
            }
        }
    }
    let names: Vec<String> = external
        .iter()
        .map(|(_, d)| format!("{policy_domain}._report._dmarc.{d}"))
        .collect();
    let answers = join_all(names.iter().map(|n| dns.query(n, RType::Txt))).await;
    let mut out = Vec::new();
    for (((tag, d), name), a) in external.iter().zip(&names).zip(&answers) {
        let ev = a.evidence(name, RType::Txt);
        if let Some(f) = a.failure() {
            out.push(
                Finding::new(
                    Code::DmarcLookupFailed,
                    format!(
                        "the report authorization {} for {tag}= could not be looked up ({f})",
                        fqdn(name)
                    ),
                )
                .evidence(ev),
            );
        } else if !a.txts().iter().any(|t| is_dmarc_record(t)) {
            out.push(
                Finding::new(
                    Code::DmarcReportNotAuthorized,
                    format!(
                        "{tag}= sends reports to {d}, which has not authorized them ({} has no v=DMARC1 record): receivers will not send them",
                        fqdn(name)
                    ),
                )
                .evidence(ev)
                .fix(format!(
                    "Ask the owner of {d} to publish `{}. TXT \"v=DMARC1\"` (DMARC report services do this when you add the domain), or send {tag} reports to an address under {policy_domain}.",
                    name
                )),
            );
        }
    }
    out
}
