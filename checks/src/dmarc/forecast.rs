//! The alignment forecast: for each sending IP, would a message with
//! `From: someone@DOMAIN`, sent from that IP with the given MAIL FROM
//! (default `postmaster@DOMAIN`) and signed with the domain's selectors, pass
//! DMARC (RFC 9989 §4.4)? It passes when at least one leg does:
//!
//! - SPF: `check_host()` for the MAIL FROM passes for the IP, and the MAIL
//!   FROM domain is aligned with DOMAIN (identical under `aspf=s`, same
//!   Organizational Domain under `aspf=r`);
//! - DKIM: a selector under DOMAIN (or, under `adkim=r`, under its
//!   Organizational Domain) holds a key a verifier would use. The forecast
//!   cannot see whether the server really signs; its message says so.
//!
//! Receivers such as Gmail and Yahoo apply exactly this to bulk mail. When
//! neither leg passes, the finding names each missing leg and its fix.

use std::net::IpAddr;

use futures::future::join_all;

use super::Found;
use crate::dkim::{self, Scan};
use crate::dns::{fqdn, normalize, RType};
use crate::names::address_domain;
use crate::orgdomain::{self, Walk};
use crate::spf::{check_host, Evaluation, SpfResult};
use crate::{Code, Ctx, Finding};

/// What the forecast asks before the policy is known.
pub struct Prepared {
    pub mail_from: String,
    pub mail_from_domain: String,
    pub scan: Scan,
    pub spf: Vec<(IpAddr, Evaluation)>,
}

/// The MAIL FROM the forecast assumes.
pub fn mail_from(ctx: &Ctx) -> String {
    ctx.target
        .mail_from
        .clone()
        .unwrap_or_else(|| format!("postmaster@{}", ctx.target.domain))
}

/// The SPF evaluations and the DKIM scan, all at once; nothing without IPs.
pub async fn prepare(ctx: &Ctx) -> Option<Prepared> {
    if ctx.target.ips.is_empty() {
        return None;
    }
    let mail_from = mail_from(ctx);
    let mf_domain = normalize(address_domain(&mail_from).unwrap_or(&ctx.target.domain));
    let helo = ctx.target.helo.clone().unwrap_or_else(|| mf_domain.clone());
    let dns = &ctx.dns;
    let (scan, spf) = tokio::join!(
        dkim::scan(dns, &ctx.target.domain, &ctx.target.selectors),
        join_all(ctx.target.ips.iter().map(|ip| {
            let (mf, mfd, helo) = (&mail_from, &mf_domain, &helo);
            async move { (*ip, check_host(dns, *ip, mfd, mf, helo).await) }
        })),
    );
    Some(Prepared {
        mail_from,
        mail_from_domain: mf_domain,
        scan,
        spf,
    })
}

/// One usable DKIM key and the domain it signs for.
struct DkimLeg {
    selector: String,
    domain: String,
    key: String,
    evidence: Vec<String>,
}

pub async fn findings(
    ctx: &Ctx,
    walk: &Walk,
    found: Option<&Found>,
    prepared: Option<Prepared>,
) -> Vec<Finding> {
    let domain = ctx.target.domain.as_str();
    let Some(pr) = prepared else {
        return vec![Finding::new(
            Code::DmarcNoIp,
            format!("no sending IP given (--ip): whether mail from {domain} would pass DMARC was not forecast"),
        )];
    };
    let dns = &ctx.dns;
    let (strict_spf, strict_dkim) = found
        .map(|f| (f.parsed.policy.strict_spf, f.parsed.policy.strict_dkim))
        .unwrap_or((false, false));
    let (org, _, _) = walk.org_domain();
    let mf_domain = pr.mail_from_domain.as_str();

    // SPF alignment of the MAIL FROM domain.
    let (spf_aligned, mf_org) = if mf_domain == domain {
        (true, org.clone())
    } else {
        let (mf_org, _, _) = orgdomain::walk(dns, mf_domain).await.org_domain();
        (!strict_spf && mf_org == org, mf_org)
    };

    // DKIM: keys under the domain; under its Organizational Domain only when
    // relaxed alignment lets them count.
    let mut dkim_legs: Vec<DkimLeg> = legs(&pr.scan);
    let mut scans = vec![&pr.scan];
    let org_scan;
    if dkim_legs.is_empty() && !strict_dkim && org != domain {
        org_scan = dkim::scan(dns, &org, &ctx.target.selectors).await;
        dkim_legs = legs(&org_scan);
        scans.push(&org_scan);
    }
    let dkim_unknown = dkim_legs.is_empty() && scans.iter().any(|s| !s.failed().is_empty());
    let dkim_why = if dkim_legs.is_empty() {
        Some(dkim_missing(
            &pr.scan,
            scans.get(1).copied(),
            strict_dkim,
            &org,
        ))
    } else {
        None
    };

    let policy_line = match found {
        Some(f) => {
            let mut v: Vec<String> = f
                .level
                .evidence()
                .into_iter()
                .filter(|l| !l.starts_with(';'))
                .collect();
            v.push(format!(
                "; alignment: aspf={} adkim={}; organizational domain {org}",
                if strict_spf { "s" } else { "r" },
                if strict_dkim { "s" } else { "r" }
            ));
            v
        }
        None => vec![format!(
            "; no DMARC policy applies to {domain}: judged with the defaults aspf=r adkim=r (organizational domain {org})"
        )],
    };
    let spf_txt: Vec<String> = dns
        .query(mf_domain, RType::Txt)
        .await
        .evidence(mf_domain, RType::Txt)
        .into_iter()
        .filter(|l| l.starts_with(';') || l.contains("v=spf1"))
        .collect();

    let mut out = Vec::new();
    for (ip, ev) in &pr.spf {
        let spf_pass = ev.result == SpfResult::Pass;
        let spf_ok = spf_pass && spf_aligned;
        let dkim_ok = !dkim_legs.is_empty();
        let mut evidence = policy_line.clone();
        evidence.push(format!(
            "; SPF: check_host({ip}, MAIL FROM {}) = {}{}",
            pr.mail_from,
            ev.result,
            describe_spf(ev)
        ));
        evidence.extend(spf_txt.iter().cloned());
        match dkim_legs.first() {
            Some(l) => {
                evidence.push(format!(
                    "; DKIM: selector {} holds a usable {} for d={}",
                    l.selector, l.key, l.domain
                ));
                evidence.extend(l.evidence.iter().cloned());
            }
            None => evidence.push(format!("; DKIM: {}", dkim_why.clone().unwrap_or_default())),
        }
        let from = format!("mail from {ip} with From: someone@{domain}");
        let signed = dkim_legs
            .iter()
            .map(|l| format!("{} (d={})", l.selector, l.domain))
            .collect::<Vec<_>>()
            .join(", ");
        let spf_words = spf_leg_words(
            ev,
            &pr.mail_from,
            mf_domain,
            domain,
            spf_aligned,
            strict_spf,
            &mf_org,
            &org,
        );
        let f = if spf_ok && dkim_ok {
            Finding::new(
                Code::DmarcAligned,
                format!("{from} would pass DMARC through SPF (MAIL FROM {}, aligned) and DKIM with selector {signed}", pr.mail_from),
            )
        } else if dkim_ok {
            Finding::new(
                Code::DmarcAlignedDkimOnly,
                format!(
                    "{from} would pass DMARC through DKIM alone, if signed with selector {signed}; the SPF leg fails: {spf_words}"
                ),
            )
            .fix(spf_fix(ip, ev, &pr.mail_from, mf_domain, domain, spf_pass, strict_spf, &mf_org, &org))
        } else if spf_ok {
            Finding::new(
                Code::DmarcAlignedSpfOnly,
                format!(
                    "{from} would pass DMARC through SPF alone (MAIL FROM {}); the DKIM leg is missing: {}",
                    pr.mail_from,
                    dkim_why.clone().unwrap_or_default()
                ),
            )
            .fix(dkim_fix(domain, &pr.scan))
        } else if ev.result == SpfResult::TempError || dkim_unknown {
            let mut unknown = Vec::new();
            if ev.result == SpfResult::TempError {
                unknown.push(format!(
                    "SPF for MAIL FROM {} is temperror ({})",
                    pr.mail_from,
                    ev.reason.clone().unwrap_or_default()
                ));
            }
            if dkim_unknown {
                unknown.push("DKIM key lookups failed".to_string());
            }
            Finding::new(
                Code::DmarcForecastUnknown,
                format!(
                    "whether {from} would pass DMARC is unknown: {}; nothing else passes",
                    unknown.join("; ")
                ),
            )
        } else {
            Finding::new(
                Code::DmarcForecastFail,
                format!(
                    "{from} would fail DMARC: SPF leg — {spf_words}; DKIM leg — {}",
                    dkim_why.clone().unwrap_or_default()
                ),
            )
            .fix(format!(
                "Either is enough: (1) {} (2) {}",
                spf_fix(
                    ip,
                    ev,
                    &pr.mail_from,
                    mf_domain,
                    domain,
                    spf_pass,
                    strict_spf,
                    &mf_org,
                    &org
                ),
                dkim_fix(domain, &pr.scan)
            ))
        };
        out.push(f.evidence(evidence));
    }
    out
}

fn legs(scan: &Scan) -> Vec<DkimLeg> {
    scan.usable()
        .into_iter()
        .map(|(l, key)| DkimLeg {
            selector: l.selector.clone(),
            domain: l.domain.clone(),
            key: key.to_string(),
            evidence: l.evidence(),
        })
        .collect()
}

fn describe_spf(ev: &Evaluation) -> String {
    match (&ev.deciding_term, &ev.deciding_domain, &ev.reason) {
        (Some(t), Some(d), _) => format!(" (decided by `{t}` in {d})"),
        (_, _, Some(r)) => format!(" ({r})"),
        _ => String::new(),
    }
}

#[allow(clippy::too_many_arguments)]
fn spf_leg_words(
    ev: &Evaluation,
    mail_from: &str,
    mf_domain: &str,
    domain: &str,
    aligned: bool,
    strict: bool,
    mf_org: &str,
    org: &str,
) -> String {
    let mut parts = Vec::new();
    if ev.result != SpfResult::Pass {
        parts.push(format!(
            "SPF for MAIL FROM {mail_from} is {} for {}{}",
            ev.result,
            ev.ip,
            describe_spf(ev)
        ));
    }
    if !aligned {
        parts.push(if strict {
            format!("the MAIL FROM domain {mf_domain} is not {domain}, and aspf=s requires the same domain")
        } else {
            format!("the MAIL FROM domain {mf_domain} (organizational domain {mf_org}) is not aligned with {domain} (organizational domain {org})")
        });
    }
    if parts.is_empty() {
        "passes and is aligned".to_string()
    } else {
        parts.join(", and ")
    }
}

#[allow(clippy::too_many_arguments)]
fn spf_fix(
    ip: &IpAddr,
    ev: &Evaluation,
    mail_from: &str,
    mf_domain: &str,
    domain: &str,
    spf_pass: bool,
    strict: bool,
    mf_org: &str,
    org: &str,
) -> String {
    let mech = match ip {
        IpAddr::V4(_) => format!("ip4:{ip}"),
        IpAddr::V6(_) => format!("ip6:{ip}"),
    };
    let aligned_mf = mf_domain == domain || (!strict && mf_org == org);
    let mut v = Vec::new();
    if !aligned_mf {
        v.push(format!(
            "send with a MAIL FROM (Return-Path) under {domain} instead of {mail_from} (e.g. bounces@{domain}, or the custom return-path domain your mail provider offers){}",
            if strict && mf_org == org {
                format!(", or relax to aspf=r in _dmarc.{org}")
            } else {
                String::new()
            }
        ));
    }
    if !spf_pass || !aligned_mf {
        let spf_domain = if aligned_mf { mf_domain } else { domain };
        let how = match ev.result {
            SpfResult::None => format!(
                "publish `{}. TXT \"v=spf1 {mech} -all\"`",
                fqdn(spf_domain)
            ),
            SpfResult::PermError => format!(
                "repair the SPF record of {spf_domain} (it is permerror: see the spf check) and include {mech}"
            ),
            _ => format!("add {mech} to the SPF record of {spf_domain}, before its all"),
        };
        v.push(how);
    }
    let text = v.join("; ");
    let mut c = text.chars();
    match c.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), c.as_str()),
        None => String::new(),
    }
}

fn dkim_fix(domain: &str, scan: &Scan) -> String {
    let broken: Vec<&str> = scan
        .found()
        .into_iter()
        .map(|l| l.selector.as_str())
        .collect();
    if broken.is_empty() {
        format!(
            "Sign outgoing mail with DKIM as d={domain}: generate a 2048-bit key, publish it as `SEL._domainkey.{domain}. TXT \"v=DKIM1; k=rsa; p=…\"`, configure the server to sign with selector SEL, and pass --selector SEL."
        )
    } else {
        format!(
            "Repair the key of selector {} under {domain} (see the dkim check's findings), or publish a new one and sign with it.",
            broken.join(", ")
        )
    }
}

/// Why no DKIM key counts, in words.
fn dkim_missing(scan: &Scan, org_scan: Option<&Scan>, strict: bool, org: &str) -> String {
    let failed = scan.failed().len() + org_scan.map(|s| s.failed().len()).unwrap_or(0);
    let found = scan.found();
    let mut s = if !found.is_empty() {
        let names: Vec<String> = found.iter().map(|l| l.selector.clone()).collect();
        format!(
            "selector {} under {} holds no key a verifier would use",
            names.join(", "),
            scan.domain
        )
    } else if scan.discovered {
        format!(
            "no DKIM key under {} for any of {} common selector names (pass --selector if the server signs with another)",
            scan.domain,
            scan.lookups.len()
        )
    } else {
        let names: Vec<String> = scan.lookups.iter().map(|l| l.selector.clone()).collect();
        format!(
            "selector {} has no DKIM key under {}",
            names.join(", "),
            scan.domain
        )
    };
    if let Some(o) = org_scan {
        if o.usable().is_empty() {
            s.push_str(&format!(
                ", nor under the organizational domain {}",
                o.domain
            ));
        }
    } else if strict && org != scan.domain {
        s.push_str(&format!(
            " (adkim=s: keys under the organizational domain {org} would not align)"
        ));
    }
    if failed > 0 {
        s.push_str(&format!("; {failed} key lookup(s) failed"));
    }
    s
}
