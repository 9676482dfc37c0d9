//! Enhanced status codes (RFC 3463) and what they mean.
//!
//! The meanings are data, not code: `checks/data/smtp-enhanced-status-codes.tsv`
//! is the IANA registry (class, subject and enumerated codes) and
//! `checks/data/receiver-status-codes.tsv` holds the codes particular receivers
//! use beside it, each file naming its source. Both are compiled in.

use std::fmt;
use std::sync::OnceLock;

const IANA: &str = include_str!("../../data/smtp-enhanced-status-codes.tsv");
const RECEIVERS: &str = include_str!("../../data/receiver-status-codes.tsv");

/// An enhanced status code `class.subject.detail` (RFC 3463 §2: class 2, 4 or
/// 5; subject and detail 0–999).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StatusCode {
    pub class: u8,
    pub subject: u16,
    pub detail: u16,
}

impl StatusCode {
    /// Parses `5.7.1`; anything else (`5.7`, `6.1.1`, `5.1000.1`) is `None`.
    pub fn parse(s: &str) -> Option<StatusCode> {
        let mut it = s.trim().split('.');
        let class = it.next()?;
        let subject = it.next()?;
        let detail = it.next()?;
        if it.next().is_some() {
            return None;
        }
        let num = |p: &str| -> Option<u16> {
            if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p.parse().ok()
        };
        let class = match class {
            "2" => 2,
            "4" => 4,
            "5" => 5,
            _ => return None,
        };
        Some(StatusCode {
            class,
            subject: num(subject)?,
            detail: num(detail)?,
        })
    }
}

impl fmt::Display for StatusCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// Who answered, as far as the bounce shows; picks receiver-specific meanings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receiver {
    Microsoft,
    Google,
}

impl Receiver {
    fn key(self) -> &'static str {
        match self {
            Receiver::Microsoft => "microsoft",
            Receiver::Google => "google",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Receiver::Microsoft => "Microsoft",
            Receiver::Google => "Gmail",
        }
    }
}

struct Registry {
    /// (subject, detail) -> meaning of the enumerated code X.s.d.
    enumerated: Vec<((u16, u16), &'static str)>,
    /// subject -> meaning of X.s.YYY.
    subjects: Vec<(u16, &'static str)>,
    /// class -> meaning of c.XXX.YYY.
    classes: Vec<(u8, &'static str)>,
    /// (receiver, code, meaning)
    receivers: Vec<(&'static str, StatusCode, &'static str)>,
}

fn registry() -> &'static Registry {
    static R: OnceLock<Registry> = OnceLock::new();
    R.get_or_init(|| {
        let mut r = Registry {
            enumerated: Vec::new(),
            subjects: Vec::new(),
            classes: Vec::new(),
            receivers: Vec::new(),
        };
        for line in data_rows(IANA) {
            let cols: Vec<&str> = line.split('\t').collect();
            let (Some(section), Some(code), Some(meaning)) =
                (cols.first(), cols.get(1), cols.get(2))
            else {
                continue;
            };
            let parts: Vec<&str> = code.split('.').collect();
            match (*section, parts.as_slice()) {
                ("class", [c, _, _]) => {
                    if let Ok(c) = c.parse() {
                        r.classes.push((c, meaning));
                    }
                }
                ("subject", [_, s, _]) => {
                    if let Ok(s) = s.parse() {
                        r.subjects.push((s, meaning));
                    }
                }
                ("code", [_, s, d]) => {
                    if let (Ok(s), Ok(d)) = (s.parse(), d.parse()) {
                        r.enumerated.push(((s, d), meaning));
                    }
                }
                _ => {}
            }
        }
        for line in data_rows(RECEIVERS) {
            let cols: Vec<&str> = line.split('\t').collect();
            if let (Some(who), Some(code), Some(meaning)) = (cols.first(), cols.get(1), cols.get(2))
            {
                if let Some(code) = StatusCode::parse(code) {
                    r.receivers.push((who, code, meaning));
                }
            }
        }
        r
    })
}

fn data_rows(text: &'static str) -> impl Iterator<Item = &'static str> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
}

/// The registered meaning of X.subject.detail, if IANA lists it.
pub fn iana_meaning(code: StatusCode) -> Option<&'static str> {
    registry()
        .enumerated
        .iter()
        .find(|((s, d), _)| *s == code.subject && *d == code.detail)
        .map(|(_, m)| *m)
}

/// What a code means: the receiver's own meaning when the bounce comes from a
/// receiver that documents one; else the IANA meaning; else a code no one
/// registered, said as its class and subject ("Permanent failure: security or
/// policy status (5.7.999 is not registered)").
pub fn meaning(code: StatusCode, receiver: Option<Receiver>) -> String {
    let reg = registry();
    let iana = iana_meaning(code);
    let own = reg
        .receivers
        .iter()
        .find(|(who, c, _)| *c == code && receiver.map(|r| r.key()) == Some(*who));
    if let (Some((_, _, m)), Some(r)) = (own, receiver) {
        return format!("{m} ({} usage)", r.label());
    }
    if let Some(m) = iana {
        return m.to_string();
    }
    // A code outside the registry that only one receiver uses means the same
    // whoever relayed the bounce.
    let owners: Vec<_> = reg
        .receivers
        .iter()
        .filter(|(_, c, _)| *c == code)
        .collect();
    if let [(who, _, m)] = owners.as_slice() {
        let label = match *who {
            "microsoft" => "Microsoft",
            "google" => "Gmail",
            other => other,
        };
        return format!("{m} ({label} usage)");
    }
    let class = reg
        .classes
        .iter()
        .find(|(c, _)| *c == code.class)
        .map(|(_, m)| *m)
        .unwrap_or("Unknown class");
    match reg.subjects.iter().find(|(s, _)| *s == code.subject) {
        Some((_, s)) => format!(
            "{class}: {} ({code} is not in the IANA registry)",
            s.to_lowercase()
        ),
        None => format!("{class} ({code} is not in the IANA registry)"),
    }
}

/// Meaning of a bare SMTP reply code (RFC 5321 §4.2), for bounces that carry
/// no enhanced status code.
pub fn reply_meaning(code: u16) -> Option<&'static str> {
    Some(match code {
        421 => "Service not available, closing transmission channel",
        450 => "Requested mail action not taken: mailbox unavailable",
        451 => "Requested action aborted: local error in processing",
        452 => "Requested action not taken: insufficient system storage",
        454 => "TLS not available due to temporary reason",
        455 => "Server unable to accommodate parameters",
        500 => "Syntax error, command unrecognized",
        501 => "Syntax error in parameters or arguments",
        502 => "Command not implemented",
        503 => "Bad sequence of commands",
        504 => "Command parameter not implemented",
        521 => "Host does not accept mail",
        530 => "Authentication required",
        535 => "Authentication credentials invalid",
        550 => "Requested action not taken: mailbox unavailable",
        551 => "User not local",
        552 => "Requested mail action aborted: exceeded storage allocation",
        553 => "Requested action not taken: mailbox name not allowed",
        554 => "Transaction failed",
        555 => "MAIL FROM/RCPT TO parameters not recognized or not implemented",
        556 => "Domain does not accept mail",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> StatusCode {
        StatusCode::parse(s).unwrap()
    }

    #[test]
    fn parses_only_well_formed_codes() {
        assert_eq!(
            c("5.7.1"),
            StatusCode {
                class: 5,
                subject: 7,
                detail: 1
            }
        );
        assert_eq!(c("4.4.316").detail, 316);
        for bad in ["5.7", "6.1.1", "5.1000.1", "5..1", "5.7.1.2", "a.b.c", ""] {
            assert!(StatusCode::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn the_registry_is_complete_where_receivers_need_it() {
        // RFC 3463's whole list plus the authentication and policy codes
        // receivers use for SPF, DKIM, DMARC, rDNS, null MX and TLS.
        for (code, want) in [
            ("5.1.1", "Bad destination mailbox address"),
            ("4.4.7", "Delivery time expired"),
            ("5.2.2", "Mailbox full"),
            ("5.7.1", "Delivery not authorized, message refused"),
            ("5.7.20", "No passing DKIM signature found"),
            ("5.7.23", "SPF validation failed"),
            ("4.7.24", "SPF validation error"),
            ("5.7.25", "Reverse DNS validation failed"),
            ("5.7.26", "Multiple authentication checks failed"),
            ("5.7.27", "Sender address has null MX"),
            ("5.7.28", "Mail flood detected"),
            ("5.7.29", "ARC validation failure"),
            ("5.7.30", "REQUIRETLS support required"),
            ("5.1.10", "Recipient address has null MX"),
            ("5.7.10", "Encryption Needed"),
        ] {
            assert_eq!(iana_meaning(c(code)), Some(want), "{code}");
            assert_eq!(meaning(c(code), None), want);
        }
        let reg = registry();
        assert_eq!(reg.classes.len(), 3);
        assert_eq!(reg.subjects.len(), 8);
        // X.0.0 .. X.7.30 as the registry lists them: no duplicates.
        let mut seen = std::collections::HashSet::new();
        for (k, _) in &reg.enumerated {
            assert!(seen.insert(*k), "duplicate X.{}.{}", k.0, k.1);
        }
        assert!((1..=30).all(|d| seen.contains(&(7, d))), "X.7.1 to X.7.30");
        assert!(reg.receivers.len() > 30);
    }

    #[test]
    fn receiver_meanings_apply_only_where_they_belong() {
        // Gmail reuses X.7.27 for SPF; IANA says null MX.
        assert_eq!(meaning(c("5.7.27"), None), "Sender address has null MX");
        assert!(meaning(c("5.7.27"), Some(Receiver::Google)).contains("SPF"));
        assert!(meaning(c("5.7.27"), Some(Receiver::Microsoft)).contains("null MX"));
        // A code only Microsoft uses keeps its meaning whoever relayed it.
        assert!(meaning(c("5.7.606"), None).contains("banned sending IP"));
        assert!(meaning(c("5.7.606"), None).contains("Microsoft"));
        // Unregistered: said by class and subject.
        let m = meaning(c("5.7.999"), None);
        assert!(
            m.starts_with("Permanent failure: security or policy status"),
            "{m}"
        );
        assert!(m.contains("5.7.999"), "{m}");
        let m = meaning(c("4.9.1"), None);
        assert!(m.starts_with("Persistent transient failure"), "{m}");
    }
}
