//! mx — the sending domain can receive replies and bounces.
//!
//! Receivers check that a sender's domain exists and can take mail back
//! (RFC 5321 §5.1; "sender domain not found", 4.1.8 / 5.1.8). A null MX
//! (RFC 7505) says the domain takes no mail, and receivers may refuse its
//! mail with 550 5.7.27. MX targets must be host names with addresses
//! (RFC 2181 §10.3: not aliases; not IP literals) on public address space.
//!
//! Codes: mx.ok, mx.domain_not_found, mx.no_mail_host, mx.implicit,
//! mx.null_mx, mx.null_mx_mixed, mx.target_cname, mx.target_address,
//! mx.target_no_address, mx.target_private, mx.no_usable_target,
//! mx.lookup_failed.

use std::net::IpAddr;

use futures::future::join_all;

use crate::dns::{dedup, fqdn, Answer, Dns, RType};
use crate::names::non_public_ip;
use crate::{Check, Code, Ctx, Finding};

pub struct MxCheck;

#[async_trait::async_trait]
impl Check for MxCheck {
    fn id(&self) -> &'static str {
        "mx"
    }

    fn title(&self) -> &'static str {
        "The domain can receive replies and bounces (MX)"
    }

    async fn run(&self, ctx: &Ctx) -> Vec<Finding> {
        check(&ctx.dns, &ctx.target.domain).await
    }
}

/// How one MX target turned out.
struct Host {
    name: String,
    evidence: Vec<String>,
    verdict: Verdict,
}

enum Verdict {
    /// Usable, perhaps with a warning (some addresses are private).
    Usable(Vec<IpAddr>, Option<Finding>),
    Unusable(Finding),
    /// Could not ask: neither usable nor unusable.
    Unknown(Finding),
}

/// The MX check for `domain`, usable by other commands (e.g. `path` for a
/// recipient domain).
pub async fn check(dns: &Dns, domain: &str) -> Vec<Finding> {
    let mx = dns.query(domain, RType::Mx).await;
    let ev = mx.evidence(domain, RType::Mx);
    let d = fqdn(domain);
    match &mx {
        Answer::Failed(f) => {
            return vec![Finding::new(Code::MxLookupFailed, format!("the MX records of {d} could not be looked up: {f}")).evidence(ev)]
        }
        Answer::NxDomain => {
            return vec![Finding::new(Code::MxDomainNotFound, format!("{d} does not exist (NXDOMAIN)"))
                .evidence(ev)
                .fix(format!("Check the spelling of {d}, or publish its zone: receivers reject mail from a domain that does not exist."))]
        }
        Answer::NoData(_) => return implicit_mx(dns, domain, ev).await,
        Answer::Records(_) => {}
    }
    let mxs = mx.mxs();
    let null: Vec<_> = mxs.iter().filter(|(_, h)| h == ".").collect();
    if !null.is_empty() {
        if null.len() == mxs.len() {
            return vec![Finding::new(Code::MxNull, format!("{d} publishes a null MX (MX 0 .): it accepts no mail, so replies and bounces cannot reach it")).evidence(ev)];
        }
        // Mixed: report it, and judge the real hosts too.
        let mut out = vec![Finding::new(
            Code::MxNullMixed,
            format!(
                "{d} has a null MX beside {} other MX record(s)",
                mxs.len() - null.len()
            ),
        )
        .evidence(ev.clone())];
        out.extend(judge_hosts(dns, &d, &mxs, &ev).await);
        return out;
    }
    judge_hosts(dns, &d, &mxs, &ev).await
}

async fn judge_hosts(dns: &Dns, d: &str, mxs: &[(u16, String)], mx_ev: &[String]) -> Vec<Finding> {
    let hosts: Vec<Host> = join_all(
        mxs.iter()
            .filter(|(_, h)| h != ".")
            .map(|(_, h)| judge(dns, h)),
    )
    .await;
    let mut out = Vec::new();
    let mut usable = Vec::new();
    let mut unknown = 0;
    for h in hosts {
        match h.verdict {
            Verdict::Usable(ips, warning) => {
                if let Some(w) = warning {
                    out.push(w.evidence(h.evidence.iter().cloned()));
                }
                usable.push((h.name, ips, h.evidence))
            }
            Verdict::Unusable(f) => {
                out.push(f.evidence(mx_ev.iter().cloned()).evidence(h.evidence))
            }
            Verdict::Unknown(f) => {
                unknown += 1;
                out.push(f.evidence(h.evidence))
            }
        }
    }
    if usable.is_empty() && unknown == 0 {
        out.push(
            Finding::new(
                Code::MxNoUsableTarget,
                format!(
                    "none of the {} MX host(s) of {d} can receive mail",
                    mxs.len()
                ),
            )
            .evidence(mx_ev.iter().cloned()),
        );
    } else if out.is_empty() {
        let names: Vec<&str> = usable.iter().map(|(n, _, _)| n.as_str()).collect();
        let mut ev: Vec<String> = mx_ev.to_vec();
        for (_, _, e) in &usable {
            ev.extend(e.iter().cloned());
        }
        out.push(
            Finding::new(
                Code::MxOk,
                format!("{d} receives mail at {}", names.join(", ")),
            )
            .evidence(ev),
        );
    }
    out
}

/// Looks at one MX target: a name, not an address or alias, with public
/// addresses.
async fn judge(dns: &Dns, host: &str) -> Host {
    let name = fqdn(host);
    if looks_like_address(host) {
        return Host {
            verdict: Verdict::Unusable(Finding::new(
                Code::MxTargetAddress,
                format!("MX target {name} is an IP address, not a host name"),
            )),
            name,
            evidence: Vec::new(),
        };
    }
    let (a, aaaa) = dns.addresses(host).await;
    let evidence = dedup([a.evidence(host, RType::A), aaaa.evidence(host, RType::Aaaa)].concat());
    if let Some((alias, target)) = a.cnames().next().or_else(|| aaaa.cnames().next()) {
        let f = Finding::new(
            Code::MxTargetCname,
            format!("MX target {name} is an alias (CNAME to {target})"),
        )
        .fix(format!(
            "Point the MX at {target} instead of the alias {alias}."
        ));
        return Host {
            name,
            evidence,
            verdict: Verdict::Unusable(f),
        };
    }
    let ips: Vec<IpAddr> = a.ips().into_iter().chain(aaaa.ips()).collect();
    if ips.is_empty() {
        if let Some(fail) = a.failure().or(aaaa.failure()) {
            let f = Finding::new(
                Code::MxLookupFailed,
                format!("the address of MX host {name} could not be looked up: {fail}"),
            );
            return Host {
                name,
                evidence,
                verdict: Verdict::Unknown(f),
            };
        }
        let f = Finding::new(
            Code::MxTargetNoAddress,
            format!("MX host {name} has no A or AAAA record"),
        )
        .fix(format!(
            "Publish an A/AAAA record for {name}, or remove the MX record that names it."
        ));
        return Host {
            name,
            evidence,
            verdict: Verdict::Unusable(f),
        };
    }
    let private: Vec<String> = ips
        .iter()
        .filter_map(|ip| non_public_ip(*ip).map(|why| format!("{ip} ({why})")))
        .collect();
    if private.len() == ips.len() {
        let f = Finding::new(
            Code::MxTargetPrivate,
            format!(
                "MX host {name} resolves only to non-public addresses: {}",
                private.join(", ")
            ),
        )
        .fix(format!(
            "Publish the public address of {name}; the internet cannot reach {}.",
            private.join(", ")
        ));
        return Host {
            name,
            evidence,
            verdict: Verdict::Unusable(f),
        };
    }
    if !private.is_empty() {
        // Still usable through its public address, but senders may try the
        // private one first and time out.
        let f = Finding::new(
            Code::MxTargetPrivate,
            format!(
                "MX host {name} also resolves to non-public addresses: {}",
                private.join(", ")
            ),
        )
        .fix(format!(
            "Remove the non-public address records of {name} from the public zone."
        ));
        return Host {
            name,
            evidence,
            verdict: Verdict::Usable(ips, Some(f)),
        };
    }
    Host {
        name,
        evidence,
        verdict: Verdict::Usable(ips, None),
    }
}

async fn implicit_mx(dns: &Dns, domain: &str, mx_ev: Vec<String>) -> Vec<Finding> {
    let d = fqdn(domain);
    let (a, aaaa) = dns.addresses(domain).await;
    let mut ev = mx_ev;
    ev.extend(a.evidence(domain, RType::A));
    ev.extend(aaaa.evidence(domain, RType::Aaaa));
    let ips: Vec<IpAddr> = a.ips().into_iter().chain(aaaa.ips()).collect();
    if !ips.is_empty() {
        let list: Vec<String> = ips.iter().map(ToString::to_string).collect();
        return vec![Finding::new(
            Code::MxImplicit,
            format!(
                "{d} has no MX; mail to it goes to its own address {} (implicit MX)",
                list.join(", ")
            ),
        )
        .evidence(ev)
        .fix(format!(
            "Publish an MX record, e.g. `{d} MX 10 mail.{d}` with `mail.{d} A ADDRESS`."
        ))];
    }
    if let Some(f) = a.failure().or(aaaa.failure()) {
        return vec![Finding::new(
            Code::MxLookupFailed,
            format!("{d} has no MX and its address could not be looked up: {f}"),
        )
        .evidence(ev)];
    }
    vec![Finding::new(Code::MxNoMailHost, format!("{d} has no MX and no A/AAAA record: replies and bounces to it cannot be delivered"))
        .evidence(ev)
        .fix(format!("Publish an MX record for {d}, e.g. `{d} MX 10 mail.{d}`, pointing at a host that accepts its mail."))]
}

/// An MX exchange like `192.0.2.1.` or `[192.0.2.1]`: an address where a
/// name belongs.
fn looks_like_address(host: &str) -> bool {
    let h = host
        .trim_end_matches('.')
        .trim_start_matches('[')
        .trim_end_matches(']');
    h.parse::<IpAddr>().is_ok()
}
