//! Domain names and addresses as mail sees them: user input to A-labels,
//! host-name syntax (RFC 1123 / RFC 5321), public suffixes, and address
//! space a receiver can never see.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A domain from the user (or the network) in A-label form, lower case,
/// without the trailing dot; or why it is not one. Accepts IDNs.
pub fn to_domain(input: &str) -> Result<String, String> {
    let t = input.trim();
    let t = t.strip_suffix('.').unwrap_or(t);
    if t.is_empty() {
        return Err("empty domain name".into());
    }
    if t.parse::<IpAddr>().is_ok() {
        return Err(format!("{input:?} is an IP address, not a domain name"));
    }
    let ascii = if t.is_ascii() {
        t.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii(t)
            .map_err(|_| format!("{input:?} is not a valid internationalised domain name"))?
    };
    host_syntax(&ascii).map_err(|why| format!("{input:?} is not a valid domain name: {why}"))?;
    Ok(ascii)
}

/// Host-name syntax: LDH labels of 1–63 octets, not starting or ending with
/// a hyphen, at most 253 octets in all. Underscores are allowed, as service
/// labels (`_dmarc`) and real-world host names use them.
pub fn host_syntax(name: &str) -> Result<(), String> {
    let n = name.strip_suffix('.').unwrap_or(name);
    if n.is_empty() {
        return Err("empty name".into());
    }
    if n.len() > 253 {
        return Err(format!("{} octets long, at most 253 allowed", n.len()));
    }
    for label in n.split('.') {
        if label.is_empty() {
            return Err("empty label (two dots in a row)".into());
        }
        if label.len() > 63 {
            return Err(format!(
                "label {}… is {} octets, at most 63 allowed",
                &label[..20.min(label.len())],
                label.len()
            ));
        }
        if let Some(c) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
        {
            return Err(format!(
                "{c:?} is not allowed in a host name (letters, digits, hyphens)"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!("label {label:?} starts or ends with a hyphen"));
        }
    }
    Ok(())
}

/// Suffixes reserved for local or special use that the public DNS never
/// delegates (RFC 6761, RFC 6762, RFC 8375, ICANN's `.internal`), plus the
/// ones admins invent for Active Directory.
const NON_PUBLIC_SUFFIXES: &[&str] = &[
    "local",
    "localdomain",
    "localhost",
    "lan",
    "home",
    "home.arpa",
    "internal",
    "intranet",
    "corp",
    "private",
    "domain",
    "test",
    "example",
    "invalid",
    "onion",
    "alt",
];

/// Why a syntactically valid name cannot be a public host name, if it cannot.
pub fn non_public_reason(name: &str) -> Option<String> {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    for s in NON_PUBLIC_SUFFIXES {
        if n == *s || n.ends_with(&format!(".{s}")) {
            return Some(format!(
                ".{s} is a private or special-use suffix, not delegated in the public DNS"
            ));
        }
    }
    match psl::suffix(n.as_bytes()) {
        Some(s) if s.is_known() => None,
        _ => {
            let tld = n.rsplit('.').next().unwrap_or(&n);
            Some(format!(
                ".{tld} is not a public top-level domain (not in the Public Suffix List)"
            ))
        }
    }
}

/// The organizational domain by the Public Suffix List: the registrable
/// domain (public suffix plus one label), or the name itself.
pub fn psl_org_domain(name: &str) -> String {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    match psl::domain(n.as_bytes()) {
        Some(d) => String::from_utf8_lossy(d.as_bytes()).into_owned(),
        None => n,
    }
}

/// The address space an IP is in when receivers on the internet cannot see
/// it as a sender. Documentation ranges (192.0.2.0/24, 198.51.100.0/24,
/// 203.0.113.0/24, 2001:db8::/32) are left out on purpose: they stand in for
/// public addresses in examples and tests.
pub fn non_public_ip(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return non_public_v4(v4);
            }
            non_public_v6(v6)
        }
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let o = ip.octets();
    Some(match o {
        [10, ..] => "private (RFC 1918)",
        [172, b, ..] if (16..=31).contains(&b) => "private (RFC 1918)",
        [192, 168, ..] => "private (RFC 1918)",
        [127, ..] => "loopback",
        [169, 254, ..] => "link-local",
        [100, b, ..] if (64..=127).contains(&b) => "carrier-grade NAT (RFC 6598)",
        [0, ..] => "\"this network\" (RFC 791)",
        [192, 0, 0, _] => "IETF protocol assignments (RFC 6890)",
        [198, b, ..] if b == 18 || b == 19 => "benchmarking (RFC 2544)",
        [a, ..] if (224..240).contains(&a) => "multicast",
        [a, ..] if a >= 240 => "reserved (RFC 1112)",
        _ => return None,
    })
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    Some(if ip.is_loopback() {
        "loopback"
    } else if ip.is_unspecified() {
        "unspecified"
    } else if s[0] & 0xfe00 == 0xfc00 {
        "unique local (RFC 4193)"
    } else if s[0] & 0xffc0 == 0xfe80 {
        "link-local"
    } else if s[0] & 0xff00 == 0xff00 {
        "multicast"
    } else {
        return None;
    })
}

/// A mail address's domain part (after the last `@`), if it has one.
pub fn address_domain(addr: &str) -> Option<&str> {
    let a = addr.trim().trim_start_matches('<').trim_end_matches('>');
    a.rsplit_once('@').map(|(_, d)| d).filter(|d| !d.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains_from_users() {
        assert_eq!(to_domain("Example.COM.").unwrap(), "example.com");
        assert_eq!(
            to_domain("bücher.example").unwrap(),
            "xn--bcher-kva.example"
        );
        assert!(to_domain("").is_err());
        assert!(to_domain("a..b").is_err());
        assert!(to_domain("192.0.2.1").is_err());
        assert!(to_domain(&format!("{}.com", "a".repeat(64))).is_err());
        assert!(to_domain("exa mple.com").is_err());
        assert!(to_domain("-bad.com").is_err());
    }

    #[test]
    fn public_and_not() {
        assert!(non_public_reason("mail.example.com").is_none());
        assert!(non_public_reason("server.corp.local").is_some());
        assert!(non_public_reason("host.internal").is_some());
        assert!(non_public_reason("mail.example.zzqq").is_some());
        assert_eq!(psl_org_domain("a.b.example.co.uk"), "example.co.uk");
    }

    #[test]
    fn address_space() {
        assert!(non_public_ip("10.1.2.3".parse().unwrap()).is_some());
        assert!(non_public_ip("172.20.0.1".parse().unwrap()).is_some());
        assert!(non_public_ip("100.64.0.1".parse().unwrap()).is_some());
        assert!(non_public_ip("fd00::1".parse().unwrap()).is_some());
        assert!(non_public_ip("::ffff:192.168.1.1".parse().unwrap()).is_some());
        assert!(non_public_ip("192.0.2.10".parse().unwrap()).is_none());
        assert!(non_public_ip("8.8.8.8".parse().unwrap()).is_none());
        assert!(non_public_ip("2001:db8::1".parse().unwrap()).is_none());
    }
}
