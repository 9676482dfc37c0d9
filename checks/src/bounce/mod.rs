//! Reading bounces: non-delivery reports (Exchange, Microsoft 365, Gmail,
//! Yahoo), RFC 3464 delivery status notifications (Postfix, Sendmail, any
//! `multipart/report`), delay notices, or a pasted SMTP reply.
//!
//! [`parse`] turns the bytes into a [`Bounce`]: each failed or delayed
//! recipient with the SMTP reply code, the RFC 3463 enhanced status code and
//! its registered meaning ([`status`]), the diagnostic text; the reporting and
//! the remote server; whether it is permanent, transient or a delay notice;
//! and the likely causes, ranked, each tied to the check that can confirm or
//! rule it out ([`causes`]). [`causes::judge`] turns a check run into a
//! verdict per cause. Nothing here does I/O.

pub mod causes;
mod extract;
pub mod mime;
pub mod status;

use std::net::IpAddr;
use std::sync::Arc;

use serde::Serialize;

use crate::{Ctx, Report, Selection, Target};

pub use causes::{Cause, Likelihood, Verdict};
pub use status::StatusCode;

/// Larger input is refused: real bounces are kilobytes, and one that quotes a
/// big attachment is still far below this.
pub const MAX_INPUT_BYTES: usize = 10 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BounceError {
    #[error("the input is empty; give a bounce message (a saved .eml or its pasted text)")]
    Empty,
    #[error("the input is larger than {} MB; a bounce is at most a few hundred kB (save just the bounce message)", MAX_INPUT_BYTES / (1024 * 1024))]
    TooLarge,
    #[error("the input is binary data, not a bounce message (save the bounce as .eml or paste its text)")]
    Binary,
    #[error("this is a report of successful delivery, not a bounce: every recipient was delivered or relayed")]
    Success,
    #[error(
        "this does not look like a bounce: no failed or delayed recipient, SMTP reply code or delivery-status report found"
    )]
    NotABounce,
}

/// What kind of notice this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Still queued; the sending server keeps trying.
    Delay,
    /// Not delivered because of a temporary (4.x.x) condition.
    Transient,
    /// Not delivered and resending as it is will not help (5.x.x).
    Permanent,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Delay => "delay",
            Kind::Transient => "transient",
            Kind::Permanent => "permanent",
        }
    }
}

/// One failed or delayed recipient. `address` is null when the bounce gives a
/// reply but names no recipient (a pasted SMTP line).
#[derive(Debug, Clone, Serialize)]
pub struct Recipient {
    pub address: Option<String>,
    pub reply_code: Option<u16>,
    pub status: Option<String>,
    pub status_meaning: Option<String>,
    pub diagnostic: Option<String>,
    #[serde(skip)]
    pub kind: Kind,
    /// The server that answered for this recipient, when the bounce says.
    #[serde(skip)]
    pub remote_server: Option<String>,
}

/// A read bounce. Serialises as DESIGN.md's `explain --format json` object;
/// `sender`, `sending_ip` and `helo` (what `--check` would use from the bounce)
/// extend it.
#[derive(Debug, Clone, Serialize)]
pub struct Bounce {
    pub kind: Kind,
    pub reporting_server: Option<String>,
    pub remote_server: Option<String>,
    pub recipients: Vec<Recipient>,
    pub causes: Vec<Cause>,
    /// The From: address of the bounced message (its domain is the sending domain).
    pub sender: Option<String>,
    /// The envelope sender (Return-Path) of the bounced message.
    #[serde(skip)]
    pub envelope_sender: Option<String>,
    /// The sending IP, when the remote server's reply names it.
    pub sending_ip: Option<IpAddr>,
    /// The HELO name of the sending host, when the bounce shows it.
    pub helo: Option<String>,
    /// DNS blocklists the remote's reply names (`zen.spamhaus.org`): what
    /// `--check` asks, instead of the default lists.
    #[serde(skip)]
    pub blocklists: Vec<String>,
    /// Where `helo` came from: the remote's reply, or the reporting server
    /// (which, in a report from the sending side, is the host that sent EHLO).
    #[serde(skip)]
    pub helo_from_reporting_server: bool,
}

impl Bounce {
    /// The sending domain: the From: address's domain, else the envelope's.
    pub fn sender_domain(&self) -> Option<String> {
        [&self.sender, &self.envelope_sender]
            .into_iter()
            .flatten()
            .find_map(|a| {
                a.rsplit_once('@')
                    .map(|(_, d)| d.trim_end_matches('.').to_ascii_lowercase())
            })
            .filter(|d| d.contains('.'))
    }
}

/// What `explain --check` checks, and where each value came from.
#[derive(Debug, Clone)]
pub struct Plan {
    pub target: Target,
    /// One line per value taken from the bounce, e.g. "domain example.com (the bounced message's sender)".
    pub from_bounce: Vec<String>,
    /// The check ids the causes point to that this build has, in registry order.
    pub checks: Vec<&'static str>,
    /// The blocklists to ask: the ones the bounce names (empty: the defaults).
    pub dnsbl_zones: Vec<String>,
}

impl Bounce {
    /// The first failed recipient's domain (what `path` would test).
    pub fn recipient_domain(&self) -> Option<String> {
        self.recipients
            .iter()
            .filter_map(|r| r.address.as_deref())
            .find_map(|a| a.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()))
    }

    /// The target for `--check`: what the caller gave, else what the bounce
    /// shows (the sender's domain, the IP the remote named, the HELO).
    /// `Err` says what is missing.
    pub fn plan(
        &self,
        domain: Option<String>,
        ips: Vec<IpAddr>,
        helo: Option<String>,
        selectors: Vec<String>,
    ) -> Result<Plan, String> {
        let mut from_bounce = Vec::new();
        let given_domain = domain.is_some();
        let domain = match domain {
            Some(d) => d,
            None => {
                let d = self.sender_domain().ok_or(
                    "the bounce does not show the sender's address: give the sending domain with --domain",
                )?;
                let d = crate::names::to_domain(&d).map_err(|e| {
                    format!(
                        "the sender domain in the bounce ({d}) is not usable: {e}; give --domain"
                    )
                })?;
                from_bounce.push(format!("domain {d} (the bounced message's sender)"));
                d
            }
        };
        let ips = if ips.is_empty() {
            match self.sending_ip {
                Some(ip) => {
                    from_bounce.push(format!("ip {ip} (named in the remote server's reply)"));
                    vec![ip]
                }
                None => Vec::new(),
            }
        } else {
            ips
        };
        let helo = match helo {
            Some(h) => Some(h),
            None => self.helo.clone().inspect(|h| {
                let whence = if self.helo_from_reporting_server {
                    "the reporting server, which sent the message"
                } else {
                    "named in the remote server's reply"
                };
                from_bounce.push(format!("helo {h} ({whence})"));
            }),
        };
        // The envelope sender is only the bounce's to give when the domain is.
        let mail_from = if given_domain {
            None
        } else {
            self.envelope_sender.clone()
        };
        if !self.blocklists.is_empty() {
            from_bounce.push(format!(
                "blocklist {} (named in the remote server's reply)",
                self.blocklists.join(", ")
            ));
        }
        Ok(Plan {
            target: Target {
                domain,
                ips,
                helo,
                mail_from,
                selectors,
            },
            from_bounce,
            checks: causes::checks_to_run(&self.causes),
            dnsbl_zones: self.blocklists.clone(),
        })
    }

    /// Runs the plan's checks over `ctx` and gives each cause its verdict.
    /// Returns the engine's report (empty when no cause has a check).
    pub async fn check(&mut self, ctx: Arc<Ctx>, checks: &[&'static str]) -> Report {
        let report = if checks.is_empty() {
            Report {
                domain: ctx.target.domain.clone(),
                status: crate::Status::Skip,
                target: ctx.target.clone(),
                checks: Vec::new(),
            }
        } else {
            let selection = Selection {
                only: checks.iter().map(|c| c.to_string()).collect(),
                skip: Vec::new(),
            };
            crate::run(ctx, &selection).await
        };
        let rd = self.recipient_domain();
        causes::judge(&mut self.causes, &report, rd.as_deref());
        report
    }
}

/// Reads a bounce. Refuses empty, binary, oversized and non-bounce input with
/// a message that says what would be right; a bounce with no recognisable code
/// still yields what was found (recipients, servers, wording).
pub fn parse(bytes: &[u8]) -> Result<Bounce, BounceError> {
    if bytes.len() > MAX_INPUT_BYTES {
        return Err(BounceError::TooLarge);
    }
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(BounceError::Empty);
    }
    if is_binary(bytes) {
        return Err(BounceError::Binary);
    }
    extract::extract(bytes)
}

/// NUL bytes, or many control characters, mean this is not a text message.
/// (8-bit text — UTF-8, Latin-1 — is fine.)
fn is_binary(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(64 * 1024)];
    if sample.contains(&0) {
        return true;
    }
    let controls = sample
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t' | 0x0c | 0x1b))
        .count();
    // A few stray escapes in a pasted reply are text (and get escaped on
    // output); a stream of them is not.
    controls >= 16 && controls * 100 > sample.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_is_refused_clearly() {
        assert_eq!(parse(b"").unwrap_err(), BounceError::Empty);
        assert_eq!(parse(b" \n\t\r\n").unwrap_err(), BounceError::Empty);
        assert_eq!(
            parse(b"\x7fELF\x02\x01\x01\x00\x00").unwrap_err(),
            BounceError::Binary
        );
        let big = vec![b'a'; MAX_INPUT_BYTES + 1];
        assert_eq!(parse(&big).unwrap_err(), BounceError::TooLarge);
        assert_eq!(
            parse(b"Dear team, lunch is at noon.\nBring 5 apples.\n").unwrap_err(),
            BounceError::NotABounce
        );
        // Latin-1 text is not binary.
        assert!(!is_binary(b"caf\xe9 d\xe9j\xe0 vu\n"));
    }

    #[test]
    fn a_pasted_reply_line_is_enough() {
        let b = parse(b"554 5.7.1 Service unavailable; Client host [192.0.2.10] blocked using zen.spamhaus.org\n").unwrap();
        assert_eq!(b.kind, Kind::Permanent);
        assert_eq!(b.recipients.len(), 1);
        assert_eq!(b.recipients[0].address, None);
        assert_eq!(b.recipients[0].reply_code, Some(554));
        assert_eq!(b.recipients[0].status.as_deref(), Some("5.7.1"));
        assert_eq!(b.sending_ip, Some("192.0.2.10".parse().unwrap()));
        assert_eq!(b.causes[0].id, "sending_ip_blocklisted");
        assert_eq!(b.causes[0].check, Some("dnsbl"));
    }
}
