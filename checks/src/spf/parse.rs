//! The SPF record grammar (RFC 7208 §4.5, §4.6.1, §5, §6, §7.1, §12):
//! terms with the byte position they start at, so a syntax error can point
//! at the term that is wrong. Macro strings are parsed here too; expanding
//! them is `macros.rs`'s job.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::SpfResult;

/// The prefix of a mechanism (§4.6.2); absent means `+`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Qualifier {
    Pass,
    Fail,
    SoftFail,
    Neutral,
}

impl Qualifier {
    pub fn result(self) -> SpfResult {
        match self {
            Qualifier::Pass => SpfResult::Pass,
            Qualifier::Fail => SpfResult::Fail,
            Qualifier::SoftFail => SpfResult::SoftFail,
            Qualifier::Neutral => SpfResult::Neutral,
        }
    }
}

/// One piece of a macro string (§7.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Part {
    Literal(String),
    Macro(Macro),
    /// `%%`
    Percent,
    /// `%_`
    Space,
    /// `%-`
    UrlSpace,
}

/// `%{letter digits r delimiters}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Macro {
    /// Lower case.
    pub letter: char,
    /// Written in upper case: the value is URL-escaped (§7.3).
    pub escape: bool,
    /// Keep this many right-hand parts.
    pub digits: Option<usize>,
    pub reverse: bool,
    /// Empty means `.`.
    pub delimiters: String,
}

/// A parsed macro string, with the text it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MacroString {
    pub raw: String,
    pub parts: Vec<Part>,
}

impl MacroString {
    pub fn has_macros(&self) -> bool {
        self.parts.iter().any(|p| matches!(p, Part::Macro(_)))
    }

    /// Uses `%{p}`, which needs DNS lookups to expand.
    pub fn uses_p(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Macro(m) if m.letter == 'p'))
    }

    /// Uses a macro whose value depends on the connecting IP.
    pub fn uses_ip(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Macro(m) if matches!(m.letter, 'i' | 'p' | 'c' | 'v')))
    }
}

impl fmt::Display for MacroString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// A mechanism (§5) with its arguments; CIDR lengths default to 32/128.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    All,
    Include(MacroString),
    A {
        domain: Option<MacroString>,
        v4: u8,
        v6: u8,
    },
    Mx {
        domain: Option<MacroString>,
        v4: u8,
        v6: u8,
    },
    Ptr(Option<MacroString>),
    Ip4 {
        addr: Ipv4Addr,
        prefix: u8,
    },
    Ip6 {
        addr: Ipv6Addr,
        prefix: u8,
    },
    Exists(MacroString),
}

impl Mechanism {
    /// Counts against the limit of 10 DNS-querying terms (§4.6.4).
    pub fn queries_dns(&self) -> bool {
        !matches!(
            self,
            Mechanism::All | Mechanism::Ip4 { .. } | Mechanism::Ip6 { .. }
        )
    }

    /// The domain-spec this mechanism names, if any.
    pub fn domain_spec(&self) -> Option<&MacroString> {
        match self {
            Mechanism::Include(d) | Mechanism::Exists(d) => Some(d),
            Mechanism::A { domain, .. } | Mechanism::Mx { domain, .. } | Mechanism::Ptr(domain) => {
                domain.as_ref()
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TermKind {
    Directive {
        qualifier: Qualifier,
        mechanism: Mechanism,
    },
    Redirect(MacroString),
    Exp(MacroString),
    /// Unknown modifiers are ignored (§6), but must be well formed.
    Unknown {
        name: String,
        value: MacroString,
    },
}

/// A term as written, where it starts in the record, and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// Byte offset of the term in the record text.
    pub position: usize,
    pub text: String,
    pub kind: TermKind,
}

impl Term {
    pub fn mechanism(&self) -> Option<(Qualifier, &Mechanism)> {
        match &self.kind {
            TermKind::Directive {
                qualifier,
                mechanism,
            } => Some((*qualifier, mechanism)),
            _ => None,
        }
    }

    /// Counts against the limit of 10 DNS-querying terms.
    pub fn queries_dns(&self) -> bool {
        match &self.kind {
            TermKind::Directive { mechanism, .. } => mechanism.queries_dns(),
            TermKind::Redirect(_) => true,
            _ => false,
        }
    }
}

/// A syntactically valid SPF record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub text: String,
    pub terms: Vec<Term>,
}

impl Record {
    pub fn redirect(&self) -> Option<(&Term, &MacroString)> {
        self.terms.iter().find_map(|t| match &t.kind {
            TermKind::Redirect(d) => Some((t, d)),
            _ => None,
        })
    }

    pub fn exp(&self) -> Option<(&Term, &MacroString)> {
        self.terms.iter().find_map(|t| match &t.kind {
            TermKind::Exp(d) => Some((t, d)),
            _ => None,
        })
    }

    pub fn directives(&self) -> impl Iterator<Item = (&Term, Qualifier, &Mechanism)> {
        self.terms.iter().filter_map(|t| match &t.kind {
            TermKind::Directive {
                qualifier,
                mechanism,
            } => Some((t, *qualifier, mechanism)),
            _ => None,
        })
    }

    /// The `all` directive, if any (the first one: later ones are never reached).
    pub fn all(&self) -> Option<(&Term, Qualifier)> {
        self.directives()
            .find(|(_, _, m)| matches!(m, Mechanism::All))
            .map(|(t, q, _)| (t, q))
    }

    /// DNS-querying terms in this record alone.
    pub fn lookup_terms(&self) -> usize {
        self.terms.iter().filter(|t| t.queries_dns()).count()
    }
}

/// What is wrong with a record, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at position {}, `{}`: {message}", position + 1, shown(term))]
pub struct SyntaxError {
    /// Byte offset of the offending term (0-based).
    pub position: usize,
    /// The term as written.
    pub term: String,
    pub message: String,
}

/// Text with everything outside printable ASCII as `\DDD` (per byte), as a
/// zone file writes it: record text from the network never reaches a
/// terminal raw.
pub fn shown(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if (' '..='~').contains(&c) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("\\{b:03}"));
            }
        }
    }
    out
}

/// Whether a TXT string is an SPF record: `v=spf1` alone or followed by a
/// space, in any case (§4.5).
pub fn is_spf_record(txt: &str) -> bool {
    let b = txt.as_bytes();
    b.len() >= 6 && b[..6].eq_ignore_ascii_case(b"v=spf1") && (b.len() == 6 || b[6] == b' ')
}

/// Parses a record; the first syntax error makes it a permerror (§4.6).
pub fn parse_record(text: &str) -> Result<Record, SyntaxError> {
    let (record, mut errors) = parse_record_lenient(text);
    if errors.is_empty() {
        Ok(record)
    } else {
        Err(errors.swap_remove(0))
    }
}

/// Parses what it can: the terms that are well formed, and every error, so
/// a report can show the whole record and point at each bad term.
pub fn parse_record_lenient(text: &str) -> (Record, Vec<SyntaxError>) {
    let mut terms = Vec::new();
    let mut errors = Vec::new();
    let mut tokens = tokens(text);
    match tokens.next() {
        Some((0, v)) if v.eq_ignore_ascii_case("v=spf1") => {}
        Some((pos, v)) => errors.push(SyntaxError {
            position: pos,
            term: v.to_string(),
            message: "an SPF record starts with `v=spf1` followed by a space".into(),
        }),
        None => errors.push(SyntaxError {
            position: 0,
            term: String::new(),
            message: "empty record".into(),
        }),
    }
    let mut seen_redirect = false;
    let mut seen_exp = false;
    for (pos, tok) in tokens {
        match parse_term(tok) {
            Ok(kind) => {
                let dup = match &kind {
                    TermKind::Redirect(_) => std::mem::replace(&mut seen_redirect, true),
                    TermKind::Exp(_) => std::mem::replace(&mut seen_exp, true),
                    _ => false,
                };
                if dup {
                    errors.push(SyntaxError {
                        position: pos,
                        term: tok.to_string(),
                        message: "this modifier may appear only once in a record (RFC 7208 §6)"
                            .into(),
                    });
                    continue;
                }
                terms.push(Term {
                    position: pos,
                    text: tok.to_string(),
                    kind,
                });
            }
            Err(message) => errors.push(SyntaxError {
                position: pos,
                term: tok.to_string(),
                message,
            }),
        }
    }
    (
        Record {
            text: text.to_string(),
            terms,
        },
        errors,
    )
}

/// Space-separated tokens with their byte offsets. Only SP separates terms
/// (§4.6.1): a tab or newline is part of a (then invalid) term.
fn tokens(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut pos = 0;
    text.split(' ').filter_map(move |t| {
        let at = pos;
        pos += t.len() + 1;
        (!t.is_empty()).then_some((at, t))
    })
}

fn parse_term(tok: &str) -> Result<TermKind, String> {
    if let Some(bad) = tok.chars().find(|c| !('!'..='~').contains(c)) {
        return Err(format!(
            "contains {}, which is not allowed in an SPF record (printable ASCII only, RFC 7208 §3.1, §12)",
            describe_char(bad)
        ));
    }
    // A modifier is `name=`; `=` after a `:` or `/` is part of a mechanism's
    // argument (§4.6.1).
    let special = tok.find(['=', ':', '/']);
    if let Some(i) = special.filter(|&i| tok.as_bytes()[i] == b'=') {
        return parse_modifier(&tok[..i], &tok[i + 1..]);
    }
    let (qualifier, rest) = match tok.as_bytes()[0] {
        b'+' => (Qualifier::Pass, &tok[1..]),
        b'-' => (Qualifier::Fail, &tok[1..]),
        b'~' => (Qualifier::SoftFail, &tok[1..]),
        b'?' => (Qualifier::Neutral, &tok[1..]),
        _ => (Qualifier::Pass, tok),
    };
    let end = rest.find([':', '/']).unwrap_or(rest.len());
    let name = rest[..end].to_ascii_lowercase();
    let args = &rest[end..];
    let mechanism = match name.as_str() {
        "all" => {
            if !args.is_empty() {
                return Err("`all` takes no argument or prefix length".into());
            }
            Mechanism::All
        }
        "include" => Mechanism::Include(required_domain("include", args)?),
        "exists" => Mechanism::Exists(required_domain("exists", args)?),
        "a" | "mx" => {
            let (domain, v4, v6) = if let Some(d) = args.strip_prefix(':') {
                let (dom, cidr) = split_dual_cidr(d);
                if dom.is_empty() {
                    return Err(format!("`{name}:` needs a domain after the colon"));
                }
                let (v4, v6) = dual_cidr(cidr)?;
                (Some(domain_spec(dom)?), v4, v6)
            } else {
                let (v4, v6) = dual_cidr(args)?;
                (None, v4, v6)
            };
            if name == "a" {
                Mechanism::A { domain, v4, v6 }
            } else {
                Mechanism::Mx { domain, v4, v6 }
            }
        }
        "ptr" => {
            if args.is_empty() {
                Mechanism::Ptr(None)
            } else if let Some(d) = args.strip_prefix(':') {
                if d.is_empty() {
                    return Err("`ptr:` needs a domain after the colon".into());
                }
                Mechanism::Ptr(Some(domain_spec(d)?))
            } else {
                return Err("`ptr` takes no prefix length".into());
            }
        }
        "ip4" => {
            let Some(net) = args.strip_prefix(':') else {
                return Err("`ip4` needs an address: ip4:192.0.2.0/24".into());
            };
            let (addr, len) = net
                .split_once('/')
                .map_or((net, None), |(a, l)| (a, Some(l)));
            let addr = parse_ipv4(addr).ok_or_else(|| {
                format!(
                    "{:?} is not an IPv4 address (four decimal octets)",
                    shown(addr)
                )
            })?;
            let prefix = match len {
                None => 32,
                Some(l) => cidr_len(l, 32)?,
            };
            Mechanism::Ip4 { addr, prefix }
        }
        "ip6" => {
            let Some(net) = args.strip_prefix(':') else {
                return Err("`ip6` needs an address: ip6:2001:db8::/32".into());
            };
            let (addr, len) = net
                .split_once('/')
                .map_or((net, None), |(a, l)| (a, Some(l)));
            let addr: Ipv6Addr = addr
                .parse()
                .map_err(|_| format!("{:?} is not an IPv6 address", shown(addr)))?;
            let prefix = match len {
                None => 128,
                Some(l) => cidr_len(l, 128)?,
            };
            Mechanism::Ip6 { addr, prefix }
        }
        "" => return Err("empty mechanism".into()),
        "redirect" | "exp" => return Err(format!("`{name}` is a modifier: write `{name}=DOMAIN`")),
        _ => {
            return Err(format!(
                "unknown mechanism `{}` (all, include, a, mx, ptr, ip4, ip6, exists)",
                shown(&name)
            ))
        }
    };
    Ok(TermKind::Directive {
        qualifier,
        mechanism,
    })
}

fn describe_char(c: char) -> String {
    if c.is_ascii() {
        format!("the control character {}", shown(&c.to_string()))
    } else {
        format!("the non-ASCII character {}", shown(&c.to_string()))
    }
}

fn parse_modifier(name: &str, value: &str) -> Result<TermKind, String> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid {
        return Err(format!(
            "`{name}=` is not a valid modifier name (a letter, then letters, digits, -, _ or .)"
        ));
    }
    match name.to_ascii_lowercase().as_str() {
        "redirect" => Ok(TermKind::Redirect(required_domain_value(
            "redirect", value,
        )?)),
        "exp" => Ok(TermKind::Exp(required_domain_value("exp", value)?)),
        _ => Ok(TermKind::Unknown {
            name: name.to_string(),
            value: parse_macro_string(value, false)
                .map_err(|e| format!("bad macro in `{name}=`: {e}"))?,
        }),
    }
}

fn required_domain(mech: &str, args: &str) -> Result<MacroString, String> {
    match args.strip_prefix(':') {
        Some("") => Err(format!("`{mech}:` needs a domain after the colon")),
        Some(d) => domain_spec(d),
        None => Err(format!("`{mech}` needs a domain: {mech}:DOMAIN")),
    }
}

fn required_domain_value(modifier: &str, value: &str) -> Result<MacroString, String> {
    if value.is_empty() {
        return Err(format!("`{modifier}=` needs a domain"));
    }
    domain_spec(value)
}

/// `domain-spec = macro-string domain-end` (§7.1): it must end in a macro or
/// in a dot and a top-level label (with an optional final dot).
pub fn domain_spec(s: &str) -> Result<MacroString, String> {
    let ms = parse_macro_string(s, false)?;
    match ms.parts.last() {
        Some(Part::Literal(_)) => {}
        Some(_) => return Ok(ms),
        None => return Err("empty domain".into()),
    }
    let tail: String = ms
        .parts
        .iter()
        .rev()
        .take_while(|p| matches!(p, Part::Literal(_)))
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .map(|p| match p {
            Part::Literal(l) => l.as_str(),
            _ => "",
        })
        .collect();
    let t = tail.strip_suffix('.').unwrap_or(&tail);
    let top = match t.rfind('.') {
        Some(i) => &t[i + 1..],
        None if ms.parts.len() > 1 => {
            return Err(format!(
                "{:?} must end in a macro or a dot and a top-level label",
                shown(s)
            ))
        }
        None => {
            return Err(format!(
                "{:?} is not a domain: it has no dot and top-level label",
                shown(s)
            ))
        }
    };
    if !is_toplabel(top) {
        let hint = if top.chars().all(|c| c.is_ascii_digit()) && !top.is_empty() {
            " (it looks like an IP address: use ip4:/ip6: for addresses)"
        } else {
            ""
        };
        return Err(format!(
            "{:?} ends in {:?}, which is not a valid top-level label{hint}",
            shown(s),
            shown(top)
        ));
    }
    Ok(ms)
}

/// `toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )`
fn is_toplabel(l: &str) -> bool {
    let b = l.as_bytes();
    !b.is_empty()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().any(|c| c.is_ascii_alphabetic() || *c == b'-')
}

/// Splits `domain[/N][//M]` into the domain and the CIDR suffix.
fn split_dual_cidr(s: &str) -> (&str, &str) {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mut end = s.len();
    if let Some(i) = s.rfind("//") {
        if digits(&s[i + 2..]) {
            end = i;
        }
    }
    if let Some(i) = s[..end].rfind('/') {
        if digits(&s[i + 1..end]) && !s[..i].ends_with('/') {
            end = i;
        }
    }
    (&s[..end], &s[end..])
}

/// `dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ]`.
fn dual_cidr(s: &str) -> Result<(u8, u8), String> {
    if s.is_empty() {
        return Ok((32, 128));
    }
    let (v4, v6) = match s.find("//") {
        Some(i) => (&s[..i], Some(&s[i + 2..])),
        None => (s, None),
    };
    let v4 = if v4.is_empty() {
        32
    } else {
        let Some(n) = v4.strip_prefix('/') else {
            return Err(format!(
                "{:?} is not a prefix length (/N, //M or /N//M)",
                shown(s)
            ));
        };
        cidr_len(n, 32)?
    };
    let v6 = match v6 {
        None => 128,
        Some(n) => cidr_len(n, 128)?,
    };
    Ok((v4, v6))
}

/// A prefix length: decimal, no leading zero, at most `max`.
fn cidr_len(s: &str, max: u8) -> Result<u8, String> {
    let fam = if max == 32 { "IPv4" } else { "IPv6" };
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("/{} is not a prefix length", shown(s)));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(format!("/{s}: a prefix length has no leading zero"));
    }
    match s.parse::<u16>() {
        Ok(n) if n <= max as u16 => Ok(n as u8),
        _ => Err(format!("/{s} is not an {fam} prefix length (0-{max})")),
    }
}

/// `ip4-network`: four decimal octets without leading zeros (§5.6).
fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    let mut octets = [0u8; 4];
    let mut n = 0;
    for part in s.split('.') {
        if n == 4 || part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        if part.len() > 1 && part.starts_with('0') {
            return None;
        }
        octets[n] = part.parse().ok()?;
        n += 1;
    }
    (n == 4).then(|| Ipv4Addr::from(octets))
}

/// Parses a macro string (§7.1). In explanation text (`explanation`), the
/// letters c, r and t and spaces are allowed too.
pub fn parse_macro_string(s: &str, explanation: bool) -> Result<MacroString, String> {
    let mut parts = Vec::new();
    let mut lit = String::new();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '%' {
            let piece = match chars.next() {
                Some((_, '%')) => Part::Percent,
                Some((_, '_')) => Part::Space,
                Some((_, '-')) => Part::UrlSpace,
                Some((_, '{')) => {
                    let start = i;
                    let mut body = String::new();
                    loop {
                        match chars.next() {
                            Some((_, '}')) => break,
                            Some((_, ch)) if body.len() < 64 => body.push(ch),
                            Some(_) => return Err(format!("macro at {} is too long", start + 1)),
                            None => return Err(format!("macro at {} has no closing `}}`", start + 1)),
                        }
                    }
                    Part::Macro(parse_macro_body(&body, explanation)?)
                }
                Some((_, other)) => {
                    return Err(format!(
                        "`%{}` at {}: a % must be followed by {{, %, _ or - (write %% for a percent sign)",
                        shown(&other.to_string()),
                        i + 1
                    ))
                }
                None => return Err("a % at the end: write %% for a percent sign".into()),
            };
            if !lit.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut lit)));
            }
            parts.push(piece);
        } else if ('!'..='~').contains(&c) || (explanation && c == ' ') {
            lit.push(c);
        } else {
            return Err(format!("{} is not allowed here", describe_char(c)));
        }
    }
    if !lit.is_empty() {
        parts.push(Part::Literal(lit));
    }
    Ok(MacroString {
        raw: s.to_string(),
        parts,
    })
}

fn parse_macro_body(body: &str, explanation: bool) -> Result<Macro, String> {
    let mut chars = body.chars().peekable();
    let Some(l) = chars.next() else {
        return Err("empty macro `%{}`".into());
    };
    let letter = l.to_ascii_lowercase();
    match letter {
        's' | 'l' | 'o' | 'd' | 'i' | 'p' | 'h' | 'v' => {}
        'c' | 'r' | 't' if explanation => {}
        'c' | 'r' | 't' => {
            return Err(format!(
                "%{{{}}} is allowed only in explanation text (exp= TXT), not in a domain",
                shown(&l.to_string())
            ))
        }
        _ => {
            return Err(format!(
                "unknown macro letter `{}` in %{{{}}} (s l o d i p h v, and c r t in explanations)",
                shown(&l.to_string()),
                shown(body)
            ))
        }
    }
    let mut digits = String::new();
    while let Some(&d) = chars.peek() {
        if d.is_ascii_digit() {
            digits.push(d);
            chars.next();
        } else {
            break;
        }
    }
    let digits = if digits.is_empty() {
        None
    } else {
        // More parts than any name has means "all of them".
        let n: usize = digits.parse().unwrap_or(usize::MAX);
        if n == 0 {
            return Err(format!("%{{{body}}}: the number of parts must not be zero"));
        }
        Some(n)
    };
    let reverse = matches!(chars.peek(), Some('r' | 'R'));
    if reverse {
        chars.next();
    }
    let mut delimiters = String::new();
    for c in chars {
        if matches!(c, '.' | '-' | '+' | ',' | '/' | '_' | '=') {
            delimiters.push(c);
        } else {
            return Err(format!(
                "%{{{}}}: `{}` is not a delimiter (. - + , / _ =)",
                shown(body),
                shown(&c.to_string())
            ));
        }
    }
    Ok(Macro {
        letter,
        escape: l.is_ascii_uppercase(),
        digits,
        reverse,
        delimiters,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Record {
        parse_record(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &str) -> SyntaxError {
        parse_record(s).expect_err(s)
    }

    #[test]
    fn selects_records() {
        assert!(is_spf_record("v=spf1"));
        assert!(is_spf_record("V=SpF1 -all"));
        assert!(!is_spf_record("v=spf10"));
        assert!(!is_spf_record("v=spf1-all"));
        assert!(!is_spf_record(" v=spf1"));
    }

    #[test]
    fn parses_every_mechanism() {
        let r = ok("v=spf1 +all -include:_spf.example.com ~a ?a:x.example.com/24//64 mx/26 mx:m.example.com//48 \
                    ptr ptr:example.com ip4:192.0.2.0/24 ip6:2001:db8::/32 exists:%{ir}.x.example.com \
                    redirect=r.example.com exp=e.example.com foo=bar");
        assert_eq!(r.terms.len(), 14);
        assert_eq!(r.lookup_terms(), 9);
        assert!(matches!(
            r.terms[3].kind,
            TermKind::Directive {
                qualifier: Qualifier::Neutral,
                mechanism: Mechanism::A { v4: 24, v6: 64, .. }
            }
        ));
        assert!(matches!(
            r.terms[4].kind,
            TermKind::Directive {
                mechanism: Mechanism::Mx {
                    domain: None,
                    v4: 26,
                    v6: 128
                },
                ..
            }
        ));
        assert_eq!(r.terms[1].position, 12);
        assert!(r.redirect().is_some() && r.exp().is_some());
    }

    #[test]
    fn errors_point_at_the_term() {
        let e = err("v=spf1 ip4:1.2.3.4 -all moo");
        assert_eq!((e.position, e.term.as_str()), (24, "moo"));
        assert!(e.to_string().contains("position 25"), "{e}");
        let e = err("v=spf1 a:ctrl.example.com\rptr -all");
        assert!(e.message.contains("\\013"), "{e}");
        assert_eq!(e.position, 7);
    }

    #[test]
    fn rejects_what_the_grammar_rejects() {
        for bad in [
            "v=spf1 -all.",
            "v=spf1 -all:foo",
            "v=spf1 -all/8",
            "v=spf1 ptr/0",
            "v=spf1 ptr:",
            "v=spf1 a/33",
            "v=spf1 a//129",
            "v=spf1 a/24/64",
            "v=spf1 a:example.com:8080",
            "v=spf1 a:111.222.33.44",
            "v=spf1 a:abc.123",
            "v=spf1 a:museum",
            "v=spf1 a:museum.",
            "v=spf1 a:example.-com",
            "v=spf1 a:",
            "v=spf1 include",
            "v=spf1 include:",
            "v=spf1 include:a.example.com/24",
            "v=spf1 exists",
            "v=spf1 exists:x.example.com/24",
            "v=spf1 ip4",
            "v=spf1 ip4:1.2.3.4/33",
            "v=spf1 ip4:1.2.3.4/032",
            "v=spf1 ip4:1.2.3.4//32",
            "v=spf1 ip4:1.2.3.4:8080",
            "v=spf1 ip4:1.2.3",
            "v=spf1 ip6",
            "v=spf1 ip6:::1/129",
            "v=spf1 ip6:::1//33",
            "v=spf1 ip6::CAFE::BABE",
            "v=spf1 moo.cow/far_out=man:dog/cat",
            "v=spf1 1up=foo",
            "v=spf1 =all",
            "v=spf1 redirect:x.example.com",
            "v=spf1 redirect=",
            "v=spf1 redirect=-all",
            "v=spf1 exp=",
            "v=spf1 exp=-all",
            "v=spf1 foo=%abc",
            "v=spf1 exp=a.example.com exp=b.example.com",
            "v=spf1 redirect=a.example.com redirect=b.example.com",
            "v=spf1 exists:%(ir).sbl.example.com",
            "v=spf1 exists:foo%.sbl.example.com",
            "v=spf1 exp=%{r}.example.com",
            "v=spf1 a:%{a}.example.com",
            "v=spf1 a:%{d0}.example.com",
            "v=spf1 a:\u{80}x.example.com",
        ] {
            assert!(parse_record(bad).is_err(), "{bad} should be a syntax error");
        }
    }

    #[test]
    fn accepts_what_the_grammar_accepts() {
        for good in [
            "v=spf1",
            "v=spf1 ",
            "v=spf1 a  -all ",
            "v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all",
            "v=spf1 a:foo:bar/baz.example.com",
            "v=spf1 a:foo.example.xn--zckzah",
            "v=spf1 a:mail.example...com",
            "v=spf1 a:%{H}.bar",
            "v=spf1 default=+",
            "v=spf1 a:macro%%percent%_%_space%-url-space.example.com",
            "v=spf1 exists:%{l2r+-}.user.%{d2}",
            "v=spf1 ip6:::1.1.1.1/0 ip4:1.1.1.1/0",
            "v=spf1 redirect=%{d}.d.spf.example.com.",
        ] {
            ok(good);
        }
    }

    #[test]
    fn macro_strings() {
        let m = parse_macro_string("%{L2r+-}.x", false).unwrap();
        assert_eq!(
            m.parts[0],
            Part::Macro(Macro {
                letter: 'l',
                escape: true,
                digits: Some(2),
                reverse: true,
                delimiters: "+-".into()
            })
        );
        assert!(parse_macro_string("%{c} and %{t}", true).is_ok());
        assert!(parse_macro_string("%{c}", false).is_err());
        assert!(parse_macro_string("100%", true).is_err());
        assert!(parse_macro_string("%{d99999999999999999999999}", false).is_ok());
    }
}
