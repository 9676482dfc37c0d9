//! expect — what the config file says this domain must be, checked: a
//! minimum DMARC policy, a maximum of SPF lookups, a minimum DKIM key size,
//! selectors that must publish a key, IPs that SPF must authorise.
//!
//! These are the team's own rules, stricter than a receiver's: a domain can
//! pass every other check and still fail its gate here (a `p=none` domain
//! that was meant to be at `quarantine` by now). The answers come from the
//! same shared DNS client as the spf, dkim and dmarc checks, so an
//! expectation costs no query those checks did not already make.
//!
//! Codes: expect.ok, expect.none, expect.dmarc_policy_weaker,
//! expect.spf_too_many_lookups, expect.ip_not_authorized,
//! expect.selector_missing, expect.dkim_key_too_small, expect.not_checked,
//! expect.lookup_failed.

use std::net::{IpAddr, Ipv4Addr};

use futures::future::join_all;

use crate::dkim::key::KeyAlg;
use crate::dkim::{self, State};
use crate::dmarc::record::{self, Request};
use crate::dns::{fqdn, RType};
use crate::spf::{self, SpfResult};
use crate::{orgdomain, Check, Code, Ctx, Finding};

/// A DMARC policy level, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DmarcPolicy {
    None,
    Quarantine,
    Reject,
}

impl DmarcPolicy {
    pub fn parse(s: &str) -> Option<DmarcPolicy> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "none" => DmarcPolicy::None,
            "quarantine" => DmarcPolicy::Quarantine,
            "reject" => DmarcPolicy::Reject,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DmarcPolicy::None => "none",
            DmarcPolicy::Quarantine => "quarantine",
            DmarcPolicy::Reject => "reject",
        }
    }

    fn from_request(r: Request) -> Self {
        match r {
            Request::None => DmarcPolicy::None,
            Request::Quarantine => DmarcPolicy::Quarantine,
            Request::Reject => DmarcPolicy::Reject,
        }
    }
}

/// The expectations for one domain (the config's `[expect]` merged with the
/// domain's own).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectations {
    pub min_dmarc_policy: Option<DmarcPolicy>,
    pub max_spf_lookups: Option<u32>,
    pub min_dkim_bits: Option<usize>,
    /// Selectors that must publish a usable key.
    pub selectors: Vec<String>,
    /// IPs the domain's SPF must pass.
    pub authorized_ips: Vec<IpAddr>,
}

impl Expectations {
    pub fn is_empty(&self) -> bool {
        self == &Expectations::default()
    }
}

pub struct ExpectCheck;

#[async_trait::async_trait]
impl Check for ExpectCheck {
    fn id(&self) -> &'static str {
        "expect"
    }

    fn title(&self) -> &'static str {
        "The domain meets the expectations of the config file"
    }

    async fn run(&self, ctx: &Ctx) -> Vec<Finding> {
        let e = &ctx.options.expect;
        let domain = ctx.target.domain.as_str();
        if e.is_empty() {
            return vec![Finding::new(
                Code::ExpectNone,
                format!("no expectations for {domain} in the config file"),
            )];
        }
        // All three at once; the spf, dkim and dmarc checks ask the same
        // questions of the same cache.
        let (dmarc, spf, dkim) =
            tokio::join!(dmarc_policy(ctx, e), spf_rules(ctx, e), dkim_rules(ctx, e));
        let mut met = Vec::new();
        let mut out = Vec::new();
        for o in dmarc.into_iter().chain(spf).chain(dkim) {
            match o {
                Outcome::Met(text) => met.push(text),
                Outcome::Finding(f) => out.push(f),
            }
        }
        // Met expectations are named in expect.ok unless something at warn
        // or above stands beside them.
        if !met.is_empty() && out.iter().all(|f| f.status <= crate::Status::Info) {
            out.push(Finding::new(
                Code::ExpectOk,
                format!("{domain} meets its expectations: {}", met.join("; ")),
            ));
        }
        out
    }
}

/// One expectation checked: met (named in `expect.ok`), or a finding.
enum Outcome {
    Met(String),
    Finding(Finding),
}

fn met(text: String) -> Outcome {
    Outcome::Met(text)
}

async fn dmarc_policy(ctx: &Ctx, e: &Expectations) -> Vec<Outcome> {
    let Some(min) = e.min_dmarc_policy else {
        return Vec::new();
    };
    let domain = ctx.target.domain.as_str();
    let walk = orgdomain::walk(&ctx.dns, domain).await;
    let Some(found) = walk.discovery() else {
        if !walk.blocking_failures().is_empty() {
            return vec![Outcome::Finding(
                Finding::new(
                    Code::ExpectLookupFailed,
                    format!("the DMARC policy of {domain} could not be looked up"),
                )
                .evidence(walk.evidence()),
            )];
        }
        return vec![Outcome::Finding(
            Finding::new(
                Code::ExpectDmarcPolicyWeaker,
                format!(
                    "{domain} has no DMARC policy; at least p={} is expected",
                    min.as_str()
                ),
            )
            .evidence(walk.evidence())
            .fix(format!(
                "Publish `_dmarc.{domain}. TXT \"v=DMARC1; p={}; rua=mailto:dmarc@{domain}\"`",
                min.as_str()
            )),
        )];
    };
    let Some(level) = walk.read().get(found.level) else {
        return Vec::new();
    };
    let policy = record::parse(level.single().unwrap_or_default()).policy;
    // A domain without its own record gets the organisational domain's sp=
    // (else its p=): RFC 9989 §4.10.
    let request = if found.at_start {
        policy.p
    } else {
        policy.sp.or(policy.p)
    };
    let have = request
        .map(DmarcPolicy::from_request)
        .unwrap_or(DmarcPolicy::None);
    if have >= min {
        return vec![met(format!("DMARC p={}", have.as_str()))];
    }
    vec![Outcome::Finding(
        Finding::new(
            Code::ExpectDmarcPolicyWeaker,
            format!(
                "the DMARC policy for {domain} is p={}; at least p={} is expected",
                have.as_str(),
                min.as_str()
            ),
        )
        .evidence(level.evidence())
        .fix(format!(
            "Raise the policy at {}. to p={} once the aggregate reports show all legitimate mail passing.",
            level.name,
            min.as_str()
        )),
    )]
}

async fn spf_rules(ctx: &Ctx, e: &Expectations) -> Vec<Outcome> {
    if e.max_spf_lookups.is_none() && e.authorized_ips.is_empty() {
        return Vec::new();
    }
    let domain = ctx.target.domain.as_str();
    let sender = ctx
        .target
        .mail_from
        .clone()
        .unwrap_or_else(|| format!("postmaster@{domain}"));
    let spf_domain = sender
        .rsplit_once('@')
        .map_or(domain.to_string(), |(_, d)| d.to_string());
    let helo = ctx
        .target
        .helo
        .clone()
        .unwrap_or_else(|| domain.to_string());
    // The authorised IPs, the target's, and an address nothing authorises,
    // whose evaluation walks the whole record: the most lookups any sender
    // can cost.
    let mut ips = e.authorized_ips.clone();
    if e.max_spf_lookups.is_some() {
        ips.extend(ctx.target.ips.iter().copied());
        ips.push(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    }
    let mut seen = std::collections::HashSet::new();
    ips.retain(|ip| seen.insert(*ip));
    let (evals, record) = tokio::join!(
        join_all(
            ips.iter()
                .map(|ip| spf::check_host(&ctx.dns, *ip, &spf_domain, &sender, &helo)),
        ),
        ctx.dns.query(&spf_domain, RType::Txt)
    );
    let record: Vec<String> = record
        .evidence(&spf_domain, RType::Txt)
        .into_iter()
        .filter(|l| l.starts_with(';') || l.to_ascii_lowercase().contains("v=spf1"))
        .collect();
    let mut out = Vec::new();
    for (ip, ev) in ips.iter().zip(&evals) {
        if !e.authorized_ips.contains(ip) {
            continue;
        }
        out.push(match ev.result {
            SpfResult::Pass => met(format!("{ip} authorised by SPF")),
            SpfResult::TempError => Outcome::Finding(
                Finding::new(
                    Code::ExpectLookupFailed,
                    format!(
                        "whether the SPF of {spf_domain} authorises {ip} could not be determined (temperror)"
                    ),
                )
                .evidence(record.clone()),
            ),
            other => Outcome::Finding(
                Finding::new(
                    Code::ExpectIpNotAuthorized,
                    format!(
                        "{ip} must be authorised, but the SPF of {spf_domain} gives {}{}",
                        other.as_str(),
                        ev.deciding_term
                            .as_ref()
                            .map(|t| format!(" (decided by {t})"))
                            .unwrap_or_default()
                    ),
                )
                .evidence(record.clone())
                .fix(format!(
                    "Add ip{}:{ip} (or the include: of the service that sends from it) to the SPF record of {} before `all`.",
                    if ip.is_ipv4() { "4" } else { "6" },
                    fqdn(&spf_domain)
                )),
            ),
        });
    }
    let Some(max) = e.max_spf_lookups else {
        return out;
    };
    if evals.iter().any(|ev| ev.result == SpfResult::TempError) {
        out.push(Outcome::Finding(
            Finding::new(
                Code::ExpectLookupFailed,
                format!("the SPF lookups of {spf_domain} could not be counted (temperror)"),
            )
            .evidence(record),
        ));
        return out;
    }
    let Some(worst) = evals.iter().max_by_key(|ev| ev.lookups) else {
        return out;
    };
    if worst.lookups <= max {
        out.push(met(format!(
            "{} SPF lookups (at most {max})",
            worst.lookups
        )));
        return out;
    }
    // The evaluator stops counting past the RFC's limit.
    let needs = if worst.lookups > spf::MAX_LOOKUPS {
        format!("more than {}", spf::MAX_LOOKUPS)
    } else {
        worst.lookups.to_string()
    };
    let mut evidence = record;
    evidence.extend(
        worst
            .trace
            .iter()
            .take(40)
            .map(|t| format!("; {}{}", "  ".repeat(t.depth as usize), t.text)),
    );
    out.push(Outcome::Finding(
        Finding::new(
            Code::ExpectSpfTooManyLookups,
            format!(
                "the SPF of {spf_domain} needs {needs} DNS lookups, more than the {max} the config allows"
            ),
        )
        .evidence(evidence),
    ));
    out
}

async fn dkim_rules(ctx: &Ctx, e: &Expectations) -> Vec<Outcome> {
    let domain = ctx.target.domain.as_str();
    let mut selectors = e.selectors.clone();
    if e.min_dkim_bits.is_some() {
        for s in &ctx.target.selectors {
            if !selectors.contains(s) {
                selectors.push(s.clone());
            }
        }
    }
    if selectors.is_empty() {
        return match e.min_dkim_bits {
            Some(bits) => vec![Outcome::Finding(Finding::new(
                Code::ExpectNotChecked,
                format!(
                    "a DKIM key of at least {bits} bits is expected, but no selector of {domain} is known"
                ),
            ))],
            None => Vec::new(),
        };
    }
    let looked = join_all(
        selectors
            .iter()
            .map(|s| dkim::lookup(&ctx.dns, domain, s, true)),
    )
    .await;
    let mut out = Vec::new();
    for l in &looked {
        let required = e.selectors.contains(&l.selector);
        match &l.state {
            State::Failed(f) => out.push(Outcome::Finding(
                Finding::new(
                    Code::ExpectLookupFailed,
                    format!("the DKIM key at {}. could not be looked up: {f}", l.name),
                )
                .evidence(l.evidence()),
            )),
            State::Found(_) => {
                if required {
                    out.push(met(format!("selector {} published", l.selector)));
                }
                let (Some(min), Some(key)) = (e.min_dkim_bits, l.usable_key()) else {
                    continue;
                };
                // Ed25519 is stronger than any RSA size a rule asks for.
                if key.alg == KeyAlg::Rsa && key.bits < min {
                    out.push(Outcome::Finding(
                        Finding::new(
                            Code::ExpectDkimKeyTooSmall,
                            format!(
                                "{}. holds a {key}; at least {min} bits are expected",
                                l.name
                            ),
                        )
                        .evidence(l.evidence())
                        .fix(format!(
                            "Generate a {min}-bit key, publish it under a new selector, switch signing to it, then empty the p= of {}. to revoke the old one.",
                            l.name
                        )),
                    ));
                } else {
                    out.push(met(format!("{}: {key}", l.selector)));
                }
            }
            State::Missing | State::Loop if required => out.push(Outcome::Finding(
                Finding::new(
                    Code::ExpectSelectorMissing,
                    format!(
                        "selector {} must publish a DKIM key, but {}. has none",
                        l.selector, l.name
                    ),
                )
                .evidence(l.evidence()),
            )),
            State::Missing | State::Loop => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_order_weakest_first() {
        assert_eq!(
            DmarcPolicy::parse(" Quarantine "),
            Some(DmarcPolicy::Quarantine)
        );
        assert_eq!(DmarcPolicy::parse("strict"), None);
        assert!(DmarcPolicy::None < DmarcPolicy::Quarantine);
        assert!(DmarcPolicy::Quarantine < DmarcPolicy::Reject);
        assert!(Expectations::default().is_empty());
        assert!(!Expectations {
            max_spf_lookups: Some(0),
            ..Expectations::default()
        }
        .is_empty());
    }
}
