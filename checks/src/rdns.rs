//! rdns — each sending IP has forward-confirmed reverse DNS.
//!
//! Gmail, Yahoo and Microsoft reject or throttle mail from an IP without a
//! PTR, or whose PTR name does not resolve back to it (RFC 8601 §3 "iprev";
//! Gmail requires it for IPv6 too). Generic, ISP-assigned-looking names
//! (octets in the name, dsl/dyn/pool words) put the IP in end-user space.
//!
//! Codes: rdns.ok, rdns.no_ip, rdns.no_ptr, rdns.not_forward_confirmed,
//! rdns.multiple_ptr, rdns.generic_ptr, rdns.private_ip, rdns.lookup_failed.

use std::net::IpAddr;

use futures::future::join_all;

use crate::dns::{dedup, fqdn, reverse_name, Answer, Dns, RType};
use crate::names::non_public_ip;
use crate::{Check, Code, Ctx, Finding};

pub struct RdnsCheck;

#[async_trait::async_trait]
impl Check for RdnsCheck {
    fn id(&self) -> &'static str {
        "rdns"
    }

    fn title(&self) -> &'static str {
        "Each sending IP has forward-confirmed reverse DNS (PTR)"
    }

    async fn run(&self, ctx: &Ctx) -> Vec<Finding> {
        if ctx.target.ips.is_empty() {
            return vec![Finding::new(
                Code::RdnsNoIp,
                "no sending IP given (--ip): reverse DNS not checked",
            )];
        }
        join_all(ctx.target.ips.iter().map(|ip| check_ip(&ctx.dns, *ip)))
            .await
            .into_iter()
            .flatten()
            .collect()
    }
}

/// The outcome of forward-confirming one IP, shared with the helo check.
pub struct Fcrdns {
    pub ptr: Answer,
    /// PTR names whose A/AAAA include the IP.
    pub confirmed: Vec<String>,
    /// Every answer looked at, as zone lines.
    pub evidence: Vec<String>,
    /// A forward lookup that could not be made.
    pub failed: Option<String>,
}

/// Looks up the PTR of `ip` and each name's address of the same family.
pub async fn fcrdns(dns: &Dns, ip: IpAddr) -> Fcrdns {
    let rev = reverse_name(ip);
    let ptr = dns.query(&rev, RType::Ptr).await;
    let mut evidence = ptr.evidence(&rev, RType::Ptr);
    let rtype = if ip.is_ipv4() { RType::A } else { RType::Aaaa };
    // RFC 8601 §3 bounds the names tried; 10 as SPF's ptr does.
    let names: Vec<String> = ptr.names().into_iter().take(10).collect();
    let forwards = join_all(names.iter().map(|n| dns.query(n, rtype))).await;
    let mut confirmed = Vec::new();
    let mut failed = None;
    for (name, fwd) in names.iter().zip(&forwards) {
        evidence.extend(fwd.evidence(name, rtype));
        if fwd.ips().contains(&ip) {
            confirmed.push(name.clone());
        } else if let Some(f) = fwd.failure() {
            failed = Some(format!("{} {rtype}: {f}", fqdn(name)));
        }
    }
    Fcrdns {
        ptr,
        confirmed,
        evidence: dedup(evidence),
        failed,
    }
}

async fn check_ip(dns: &Dns, ip: IpAddr) -> Vec<Finding> {
    if let Some(space) = non_public_ip(ip) {
        return vec![Finding::new(
            Code::RdnsPrivateIp,
            format!(
                "{ip} is {space}: receivers will see the address it is translated to, not this one"
            ),
        )];
    }
    let r = fcrdns(dns, ip).await;
    let rev = fqdn(&reverse_name(ip));
    let ev = r.evidence.clone();
    match &r.ptr {
        Answer::Failed(f) => {
            return vec![Finding::new(Code::RdnsLookupFailed, format!("the PTR of {ip} could not be looked up: {f}")).evidence(ev)]
        }
        Answer::NxDomain | Answer::NoData(_) => {
            return vec![Finding::new(Code::RdnsNoPtr, format!("{ip} has no PTR record ({rev})"))
                .evidence(ev)
                .fix(format!("Ask whoever owns {ip} (your ISP, hosting or cloud provider) to set its PTR to your mail host's name, e.g. mail.example.com, and make that name's {} record {ip}.", if ip.is_ipv4() { "A" } else { "AAAA" }))]
        }
        Answer::Records(_) => {}
    }
    let names = r.ptr.names();
    let mut out = Vec::new();
    if names.len() > 1 {
        out.push(
            Finding::new(
                Code::RdnsMultiplePtr,
                format!("{ip} has {} PTR records: {}", names.len(), names.join(", ")),
            )
            .evidence(ev.clone()),
        );
    }
    let family = if ip.is_ipv4() { "A" } else { "AAAA" };
    if r.confirmed.is_empty() {
        if let Some(why) = &r.failed {
            out.push(
                Finding::new(
                    Code::RdnsLookupFailed,
                    format!(
                        "{ip} has PTR {}, whose address could not be looked up ({why})",
                        names.join(", ")
                    ),
                )
                .evidence(ev),
            );
        } else {
            out.push(
                Finding::new(Code::RdnsNotForwardConfirmed, format!("{ip} has PTR {}, which does not resolve back to it", names.join(", ")))
                    .evidence(ev)
                    .fix(format!("Publish `{} {family} {ip}`, or ask the owner of {ip} to set its PTR to a name whose {family} record is {ip}.", names[0])),
            );
        }
        return out;
    }
    let name = &r.confirmed[0];
    if let Some(why) = generic(name, ip) {
        out.push(
            Finding::new(Code::RdnsGenericPtr, format!("{ip} has PTR {name}, which looks generic ({why})"))
                .evidence(ev.clone())
                .fix(format!("Ask the owner of {ip} to set a PTR that names your mail host (e.g. mail.yourdomain), with a matching {family} record.")),
        );
    }
    if out.is_empty() {
        out.push(
            Finding::new(
                Code::RdnsOk,
                format!("{ip} has PTR {name}, which resolves back to it"),
            )
            .evidence(ev),
        );
    }
    out
}

/// Words ISPs use in names of dynamic or end-user address space.
const GENERIC_WORDS: &[&str] = &[
    "dsl",
    "adsl",
    "vdsl",
    "xdsl",
    "dyn",
    "dynamic",
    "dynip",
    "pool",
    "dhcp",
    "cable",
    "ppp",
    "pppoe",
    "client",
    "dial",
    "dialup",
    "broadband",
    "customer",
    "cust",
    "subscriber",
    "cpe",
    "unassigned",
];

/// Why a PTR name looks like an ISP's generic name for `ip`, if it does.
pub fn generic(name: &str, ip: IpAddr) -> Option<String> {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    // The first label carries the host part; the rest is the ISP's domain.
    let host = n.split('.').next().unwrap_or("");
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            let forms = [
                format!("{}-{}-{}-{}", o[0], o[1], o[2], o[3]),
                format!("{}-{}-{}-{}", o[3], o[2], o[1], o[0]),
                format!("{}.{}.{}.{}", o[0], o[1], o[2], o[3]),
                format!("{}.{}.{}.{}", o[3], o[2], o[1], o[0]),
                format!("{}_{}_{}_{}", o[0], o[1], o[2], o[3]),
                format!("{:02x}{:02x}{:02x}{:02x}", o[0], o[1], o[2], o[3]),
                format!("{:03}{:03}{:03}{:03}", o[0], o[1], o[2], o[3]),
            ];
            if let Some(f) = forms.iter().find(|f| n.contains(f.as_str())) {
                return Some(format!("it contains the address as {f}"));
            }
            // The last two octets in the host label, e.g. host-2-10.
            let tail = [format!("{}-{}", o[2], o[3]), format!("{}.{}", o[2], o[3])];
            if tail.iter().any(|t| host.contains(t.as_str()))
                && host.chars().filter(char::is_ascii_digit).count() >= 4
            {
                return Some("its host label carries the address's octets".into());
            }
        }
        IpAddr::V6(v6) => {
            let segs = v6.segments();
            let hexes = segs
                .iter()
                .filter(|s| **s != 0)
                .map(|s| format!("{s:x}"))
                .filter(|s| s.len() >= 3);
            let hits = hexes.filter(|h| host.contains(h.as_str())).count();
            if hits >= 2 {
                return Some("it contains the address's groups".into());
            }
        }
    }
    let tokens: Vec<&str> = host.split(['-', '_']).collect();
    for t in &tokens {
        let word = t.trim_end_matches(|c: char| c.is_ascii_digit());
        if GENERIC_WORDS.contains(&word) && (word.len() < t.len() || tokens.len() > 1) {
            return Some(format!(
                "the word {word:?} with numbers is typical of dynamic or end-user address space"
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_names() {
        let ip: IpAddr = "192.0.2.10".parse().unwrap();
        assert!(generic("192-0-2-10.dsl.example.net.", ip).is_some());
        assert!(generic("10.2.0.192.in-addr.example.net", ip).is_some());
        assert!(generic("dyn-2-10.example.net", ip).is_some());
        assert!(generic("c000020a.pool.example.net", ip).is_some());
        assert!(generic("pool-71-2.example.net", ip).is_some());
        assert!(generic("mail.example.com", ip).is_none());
        assert!(generic("mx1.example.com", ip).is_none());
        assert!(generic("smtp-out.example.com", ip).is_none());
        let v6: IpAddr = "2001:db8:abcd:12::25".parse().unwrap();
        assert!(generic("2001-db8-abcd-12.cust.example.net", v6).is_some());
        assert!(generic("mail.example.com", v6).is_none());
    }
}
