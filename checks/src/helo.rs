//! helo — the HELO/EHLO name is one a receiver accepts.
//!
//! RFC 5321 §4.1.1.1 requires the client's fully-qualified domain name (or
//! an address literal, §4.1.3, when it has none). Receivers reject or score
//! single-label names (`EXCHANGE01`), private suffixes (`server.corp.local`),
//! bare IPs, names that do not resolve, and names that differ from the
//! sending IP's PTR name.
//!
//! Codes: helo.ok, helo.not_given, helo.not_fqdn, helo.non_public,
//! helo.invalid, helo.address_literal, helo.bare_ip, helo.does_not_resolve,
//! helo.not_sending_ip, helo.ptr_mismatch, helo.spf_fail, helo.lookup_failed.

use std::net::IpAddr;

use futures::future::join_all;

use crate::dns::{dedup, fqdn, normalize, Dns, RType};
use crate::names::{host_syntax, non_public_reason};
use crate::rdns::fcrdns;
use crate::{Check, Code, Ctx, Finding};

pub struct HeloCheck;

#[async_trait::async_trait]
impl Check for HeloCheck {
    fn id(&self) -> &'static str {
        "helo"
    }

    fn title(&self) -> &'static str {
        "The HELO/EHLO name is a public FQDN matching the sending IP"
    }

    async fn run(&self, ctx: &Ctx) -> Vec<Finding> {
        let Some(helo) = ctx.target.helo.as_deref() else {
            return vec![Finding::new(
                Code::HeloNotGiven,
                "no HELO name given (--helo): the EHLO name was not checked",
            )];
        };
        check(&ctx.dns, helo, &ctx.target.ips).await
    }
}

/// What kind of thing a HELO argument is, before any lookup.
#[derive(Debug, PartialEq, Eq)]
pub enum Shape {
    Name(String),
    /// `[192.0.2.1]` / `[IPv6:2001:db8::1]`.
    Literal(IpAddr),
    Bare(IpAddr),
}

/// Classifies a HELO argument by syntax alone; `Err` is a finding.
pub fn shape(helo: &str) -> Result<Shape, Finding> {
    let h = helo.trim();
    if let Some(inner) = h.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        let addr = inner
            .strip_prefix("IPv6:")
            .or_else(|| inner.strip_prefix("ipv6:"))
            .unwrap_or(inner);
        return match addr.parse::<IpAddr>() {
            Ok(ip) if ip.is_ipv6() == (addr != inner) => Ok(Shape::Literal(ip)),
            Ok(ip) if ip.is_ipv6() => Err(Finding::new(
                Code::HeloInvalid,
                format!("address literal {h} must be written [IPv6:{ip}]"),
            )),
            _ => Err(Finding::new(
                Code::HeloInvalid,
                format!("{h} is not a valid address literal"),
            )),
        };
    }
    if let Ok(ip) = h.parse::<IpAddr>() {
        return Ok(Shape::Bare(ip));
    }
    if !h.is_ascii() {
        let fix = match idna::domain_to_ascii(h) {
            Ok(a) => format!("Send the A-label form {a} in EHLO."),
            Err(_) => "Send an ASCII host name (IDNs in A-label, xn--, form).".into(),
        };
        return Err(Finding::new(
            Code::HeloInvalid,
            format!("HELO name {h:?} is not ASCII: EHLO needs the A-label (xn--) form"),
        )
        .fix(fix));
    }
    let name = h.trim_end_matches('.').to_ascii_lowercase();
    if let Err(why) = host_syntax(&name) {
        return Err(Finding::new(
            Code::HeloInvalid,
            format!("HELO name {h:?} is not a valid domain name: {why}"),
        ));
    }
    if !name.contains('.') {
        return Err(Finding::new(Code::HeloNotFqdn, format!("HELO name {h:?} is a single label, not a fully-qualified domain name"))
            .fix(format!("Set the EHLO name to the host's public FQDN, e.g. {}.yourdomain.com (Exchange: the send connector's FQDN; Postfix: smtp_helo_name).", name)));
    }
    if name
        .split('.')
        .next_back()
        .is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit()))
    {
        return Err(Finding::new(
            Code::HeloInvalid,
            format!("HELO name {h:?} ends in a numeric label; no top-level domain is all digits"),
        ));
    }
    if let Some(why) = non_public_reason(&name) {
        return Err(Finding::new(
            Code::HeloNonPublic,
            format!("HELO name {h} is not a public name: {why}"),
        ));
    }
    Ok(Shape::Name(name))
}

/// The HELO check proper, for a HELO argument and the sending IPs.
pub async fn check(dns: &Dns, helo: &str, ips: &[IpAddr]) -> Vec<Finding> {
    let name = match shape(helo) {
        Err(f) => return vec![f],
        Ok(Shape::Bare(ip)) => {
            return vec![Finding::new(Code::HeloBareIp, format!("HELO {helo} is a bare IP address"))
                .fix(format!("Send a host name in EHLO, e.g. the name whose A record is {ip}; an address must at least be bracketed, [{ip}]."))]
        }
        Ok(Shape::Literal(ip)) => {
            let note = if !ips.is_empty() && !ips.contains(&ip) {
                format!(" (and {ip} is not a sending IP)")
            } else {
                String::new()
            };
            return vec![Finding::new(Code::HeloAddressLiteral, format!("HELO {helo} is an address literal, not a host name{note}"))];
        }
        Ok(Shape::Name(n)) => n,
    };
    let d = fqdn(&name);
    let ((a, aaaa), ptrs, helo_spf) = tokio::join!(
        dns.addresses(&name),
        join_all(ips.iter().map(|ip| fcrdns(dns, *ip))),
        // The HELO identity's own SPF (RFC 7208 §2.3), at the same time.
        join_all(ips.iter().map(|ip| crate::spf::check_helo(dns, *ip, &name)))
    );
    let mut ev = dedup(
        [
            a.evidence(&name, RType::A),
            aaaa.evidence(&name, RType::Aaaa),
        ]
        .concat(),
    );
    let addrs: Vec<IpAddr> = a.ips().into_iter().chain(aaaa.ips()).collect();
    let mut out = Vec::new();
    if addrs.is_empty() {
        if let Some(f) = a.failure().or(aaaa.failure()) {
            return vec![Finding::new(
                Code::HeloLookupFailed,
                format!("the address of HELO name {d} could not be looked up: {f}"),
            )
            .evidence(ev)];
        }
        let example = ips
            .first()
            .map(|ip| format!(" {} {ip}", if ip.is_ipv4() { "A" } else { "AAAA" }))
            .unwrap_or_default();
        return vec![Finding::new(
            Code::HeloDoesNotResolve,
            format!("HELO name {d} has no A or AAAA record"),
        )
        .evidence(ev)
        .fix(format!(
            "Publish `{d}{example}`, or send a name that resolves to the sending IP."
        ))];
    }
    if !ips.is_empty() && !ips.iter().any(|ip| addrs.contains(ip)) {
        let list: Vec<String> = addrs.iter().map(ToString::to_string).collect();
        let sending: Vec<String> = ips.iter().map(ToString::to_string).collect();
        out.push(
            Finding::new(
                Code::HeloNotSendingIp,
                format!(
                    "HELO name {d} resolves to {}, not to the sending IP {}",
                    list.join(", "),
                    sending.join(", ")
                ),
            )
            .evidence(ev.clone()),
        );
    }
    // The PTR names the rdns check found (the cache makes this free).
    for (ip, r) in ips.iter().zip(&ptrs) {
        let names = r.ptr.names();
        if names.is_empty() || names.iter().any(|p| normalize(p) == name) {
            continue;
        }
        ev.extend(r.ptr.evidence(&crate::dns::reverse_name(*ip), RType::Ptr));
        out.push(
            Finding::new(Code::HeloPtrMismatch, format!("HELO name {d} differs from the PTR name of {ip} ({})", names.join(", ")))
                .evidence(dedup(ev.clone()))
                .fix(format!("Use one FQDN for both: ask the owner of {ip} to set its PTR to {d} (whose A/AAAA is {ip}), or send {} in EHLO if that is your host's real name.", names[0])),
        );
    }
    out.extend(helo_spf.iter().filter_map(|ev| spf_finding(&d, ev)));
    if out.is_empty() {
        out.push(
            Finding::new(
                Code::HeloOk,
                format!("HELO name {d} is a public FQDN that resolves to the sending IP"),
            )
            .evidence(ev),
        );
    }
    out
}

/// A finding when the HELO name's own SPF record fails the sending IP, or
/// could not be evaluated; other results say nothing against the name.
fn spf_finding(d: &str, ev: &crate::spf::Evaluation) -> Option<Finding> {
    use crate::spf::SpfResult;
    let trace = ev
        .trace
        .iter()
        .map(|l| format!("; {}{}", "  ".repeat(l.depth as usize), l.text));
    match ev.result {
        SpfResult::Fail => Some(
            Finding::new(
                Code::HeloSpfFail,
                format!(
                    "the SPF record of HELO name {d} fails {} (decided by `{}`)",
                    ev.ip,
                    ev.deciding_term.as_deref().unwrap_or("?")
                ),
            )
            .evidence(trace)
            .fix(format!(
                "Authorise {} in {d}'s SPF record (e.g. `{d} TXT \"v=spf1 a -all\"` when {d}'s address is the sending IP), or send a HELO name whose SPF does.",
                ev.ip
            )),
        ),
        SpfResult::TempError => Some(
            Finding::new(
                Code::HeloLookupFailed,
                format!(
                    "the SPF record of HELO name {d} could not be evaluated for {}: {}",
                    ev.ip,
                    ev.reason.as_deref().unwrap_or("temperror")
                ),
            )
            .evidence(trace),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(h: &str) -> Option<&'static str> {
        shape(h).err().map(|f| f.code.id())
    }

    #[test]
    fn shapes() {
        assert_eq!(code("EXCHANGE01"), Some("helo.not_fqdn"));
        assert_eq!(code("server.corp.local"), Some("helo.non_public"));
        assert_eq!(code("mx.example.internal"), Some("helo.non_public"));
        assert_eq!(code("mail_host!.example.com"), Some("helo.invalid"));
        assert_eq!(code("bücher.example.com"), Some("helo.invalid"));
        assert_eq!(
            code(&format!("{}.example.com", "a".repeat(64))),
            Some("helo.invalid")
        );
        assert_eq!(code("[192.0.2.300]"), Some("helo.invalid"));
        assert_eq!(code("[2001:db8::1]"), Some("helo.invalid"));
        assert_eq!(
            shape("[192.0.2.1]").unwrap(),
            Shape::Literal("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            shape("[IPv6:2001:db8::1]").unwrap(),
            Shape::Literal("2001:db8::1".parse().unwrap())
        );
        assert_eq!(
            shape("192.0.2.1").unwrap(),
            Shape::Bare("192.0.2.1".parse().unwrap())
        );
        assert_eq!(
            shape("Mail.Example.COM.").unwrap(),
            Shape::Name("mail.example.com".into())
        );
    }
}
