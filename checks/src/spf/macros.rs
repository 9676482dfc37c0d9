//! Macro expansion (RFC 7208 §7.2–§7.4). `%{p}` needs DNS lookups, so the
//! evaluator works out the validated name first and hands it in.

use std::net::IpAddr;

use super::parse::{Macro, MacroString, Part};

/// Longest explanation we keep; macros can multiply a record's length.
const MAX_EXPANSION: usize = 8 * 1024;

/// The values macros expand to.
#[derive(Debug, Clone)]
pub struct MacroEnv<'a> {
    /// `%{s}`: the full sender (`postmaster@helo` for the null reverse-path).
    pub sender: &'a str,
    /// `%{l}`
    pub local: &'a str,
    /// `%{o}`
    pub sender_domain: &'a str,
    /// `%{d}`: the domain whose record is being evaluated.
    pub domain: &'a str,
    pub ip: IpAddr,
    /// `%{h}`
    pub helo: &'a str,
    /// `%{p}`, if the evaluator worked it out ("unknown" otherwise).
    pub validated: Option<&'a str>,
}

/// Expands a macro string as text (explanations, unknown modifiers).
pub fn expand(ms: &MacroString, env: &MacroEnv) -> String {
    let mut out = String::new();
    for part in &ms.parts {
        if out.len() > MAX_EXPANSION {
            break;
        }
        match part {
            Part::Literal(l) => out.push_str(l),
            Part::Percent => out.push('%'),
            Part::Space => out.push(' '),
            Part::UrlSpace => out.push_str("%20"),
            Part::Macro(m) => out.push_str(&expand_macro(m, env)),
        }
    }
    out.truncate(floor_char_boundary(&out, MAX_EXPANSION));
    out
}

/// Expands a domain-spec into a name to query: a trailing dot is dropped and
/// a name over 253 octets loses labels from the left until it fits (§7.3).
pub fn expand_domain(ms: &MacroString, env: &MacroEnv) -> String {
    let s = expand(ms, env);
    let mut s = s.trim_end_matches('.');
    while s.len() > 253 {
        match s.find('.') {
            Some(i) => s = &s[i + 1..],
            None => break,
        }
    }
    s.to_string()
}

fn expand_macro(m: &Macro, env: &MacroEnv) -> String {
    let value = match m.letter {
        's' => env.sender.to_string(),
        'l' => env.local.to_string(),
        'o' => env.sender_domain.to_string(),
        'd' => env.domain.to_string(),
        'i' => dotted_ip(env.ip),
        'p' => env.validated.unwrap_or("unknown").to_string(),
        'v' => match env.ip {
            IpAddr::V4(_) => "in-addr".to_string(),
            IpAddr::V6(_) => "ip6".to_string(),
        },
        'h' => env.helo.to_string(),
        'c' => env.ip.to_string(),
        // The receiving host is not known to a preflight check.
        'r' => "unknown".to_string(),
        't' => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            .to_string(),
        _ => String::new(),
    };
    let transformed = if m.digits.is_none() && !m.reverse && m.delimiters.is_empty() {
        value
    } else {
        let delims: &[char] = &m.delimiters.chars().collect::<Vec<_>>();
        let mut parts: Vec<&str> = if delims.is_empty() {
            value.split('.').collect()
        } else {
            value.split(delims).collect()
        };
        if m.reverse {
            parts.reverse();
        }
        if let Some(n) = m.digits {
            if n < parts.len() {
                parts.drain(..parts.len() - n);
            }
        }
        parts.join(".")
    };
    if m.escape {
        url_escape(&transformed)
    } else {
        transformed
    }
}

/// `%{i}`: dotted quad, or dot-separated nibbles for IPv6 (§7.3).
fn dotted_ip(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let mut s = String::with_capacity(63);
            for b in v6.octets() {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(&format!("{:x}.{:x}", b >> 4, b & 0xf));
            }
            s
        }
    }
}

/// Everything but `unreserved` (RFC 3986) as %XX.
fn url_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse_macro_string;
    use super::*;

    fn env(ip: &str) -> MacroEnv<'static> {
        MacroEnv {
            sender: "strong-bad@email.example.com",
            local: "strong-bad",
            sender_domain: "email.example.com",
            domain: "email.example.com",
            ip: ip.parse().unwrap(),
            helo: "mx.example.org",
            validated: None,
        }
    }

    fn x(s: &str, ip: &str) -> String {
        expand(&parse_macro_string(s, true).unwrap(), &env(ip))
    }

    #[test]
    fn rfc_7208_section_7_4_examples() {
        let v4 = "192.0.2.3";
        assert_eq!(x("%{s}", v4), "strong-bad@email.example.com");
        assert_eq!(x("%{o}", v4), "email.example.com");
        assert_eq!(x("%{d}", v4), "email.example.com");
        assert_eq!(x("%{d4}", v4), "email.example.com");
        assert_eq!(x("%{d3}", v4), "email.example.com");
        assert_eq!(x("%{d2}", v4), "example.com");
        assert_eq!(x("%{d1}", v4), "com");
        assert_eq!(x("%{dr}", v4), "com.example.email");
        assert_eq!(x("%{d2r}", v4), "example.email");
        assert_eq!(x("%{l}", v4), "strong-bad");
        assert_eq!(x("%{l-}", v4), "strong.bad");
        assert_eq!(x("%{lr}", v4), "strong-bad");
        assert_eq!(x("%{lr-}", v4), "bad.strong");
        assert_eq!(x("%{l1r-}", v4), "strong");
        assert_eq!(
            x("%{ir}.%{v}._spf.%{d2}", v4),
            "3.2.0.192.in-addr._spf.example.com"
        );
        assert_eq!(
            x("%{lr-}.lp._spf.%{d2}", v4),
            "bad.strong.lp._spf.example.com"
        );
        assert_eq!(
            x("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", v4),
            "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"
        );
        assert_eq!(
            x("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", v4),
            "3.2.0.192.in-addr.strong.lp._spf.example.com"
        );
        assert_eq!(
            x("%{d2}.trusted-domains.example.net", v4),
            "example.com.trusted-domains.example.net"
        );
        assert_eq!(
            x("%{ir}.%{v}._spf.%{d2}", "2001:db8::cb01"),
            "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com"
        );
        assert_eq!(x("%{c}", "2001:db8::cb01"), "2001:db8::cb01");
        assert_eq!(x("%%%_%-", v4), "% %20");
        assert_eq!(x("%{p}", v4), "unknown");
    }

    #[test]
    fn upper_case_escapes() {
        let mut e = env("192.0.2.3");
        e.local = "~jack&jill=up-a_b3.c";
        let ms = parse_macro_string("http://example.com/why.html?l=%{L}", true).unwrap();
        assert_eq!(
            expand(&ms, &e),
            "http://example.com/why.html?l=~jack%26jill%3Dup-a_b3.c"
        );
    }

    #[test]
    fn long_domains_lose_labels_on_the_left() {
        let mut e = env("192.0.2.3");
        let long = "somewhat.long.exp.example.com";
        e.domain = long;
        let ms = parse_macro_string(
            "foobar.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.%{d}.example.com",
            false,
        )
        .unwrap();
        let d = expand_domain(&ms, &e);
        assert!(d.len() <= 253);
        assert!(d.starts_with("somewhat.long"), "{d}");
        assert!(d.ends_with(".example.com.example.com"), "{d}");
    }
}
