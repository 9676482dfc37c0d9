//! Likely causes of a bounce, ranked, each tied to the check that can confirm
//! or rule it out — and, after a check run, the verdict.
//!
//! Two kinds of rule score a cause: the enhanced status code (RFC 3463 and
//! RFC 7372 codes say "SPF", "reverse DNS" outright; receivers' own codes such
//! as Microsoft's 5.7.606 too) and well-known receiver wording ("blocked using
//! zen.spamhaus.org", "Helo command rejected", "mailbox full", "greylisted").
//! A cause's score is the best of its rules; text the remote server sent
//! counts fully, text the reporting server wrote around it counts less.
//!
//! `check` is the id of the check that can confirm the cause; `path` stands
//! for the sending side's own connectivity and resolver (no check yet, so such
//! causes stay undetermined); `None` where no check can (the recipient's
//! mailbox is the recipient's business).

use std::sync::OnceLock;

use regex::Regex;
use serde::Serialize;

use super::status::{Receiver, StatusCode};
use super::Kind;
use crate::{CheckReport, Report, Status};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Likelihood {
    Low,
    Medium,
    High,
}

impl Likelihood {
    pub fn as_str(self) -> &'static str {
        match self {
            Likelihood::Low => "low",
            Likelihood::Medium => "medium",
            Likelihood::High => "high",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Confirmed,
    RuledOut,
    Undetermined,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Confirmed => "confirmed",
            Verdict::RuledOut => "ruled_out",
            Verdict::Undetermined => "undetermined",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Cause {
    pub id: &'static str,
    pub likelihood: Likelihood,
    pub check: Option<&'static str>,
    pub why: String,
    pub fix: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict: Option<Verdict>,
    /// The finding (or the missing input) the verdict rests on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verdict_reason: Option<String>,
    #[serde(skip)]
    pub score: u8,
}

/// The cause catalogue: id, the check that can confirm it, why it bounces
/// mail, what to do. Order breaks ties in ranking.
struct Def {
    id: &'static str,
    check: Option<&'static str>,
    why: &'static str,
    fix: &'static str,
}

const DEFS: &[Def] = &[
    Def {
        id: "recipient_unknown",
        check: None,
        why: "The receiving server says the recipient address does not exist there",
        fix: "Check the address for typos and ask the recipient for a working one; nothing on the sending side needs fixing.",
    },
    Def {
        id: "recipient_restricted",
        check: None,
        why: "The receiving server refuses this recipient for this sender: the mailbox or group accepts only certain (often internal) senders, or an access rule denies it",
        fix: "Ask the recipient's administrator to allow your address or domain (or the group to accept external senders).",
    },
    Def {
        id: "recipient_mailbox_disabled",
        check: None,
        why: "The recipient's mailbox exists but is disabled or inactive",
        fix: "Contact the recipient another way; the account must be re-enabled on their side.",
    },
    Def {
        id: "recipient_mailbox_full",
        check: None,
        why: "The recipient's mailbox is over its quota",
        fix: "Resend later or tell the recipient another way; they must free space. Nothing on the sending side needs fixing.",
    },
    Def {
        id: "message_too_large",
        check: None,
        why: "The message is bigger than the receiver's size limit",
        fix: "Send a smaller message: share large files by link instead of attachment.",
    },
    Def {
        id: "recipient_domain_invalid",
        check: None,
        why: "The recipient's domain does not exist, publishes a null MX, or has no usable mail server",
        fix: "Check the part after @ for typos; if it is right, the recipient's domain must fix its MX records.",
    },
    Def {
        id: "sending_ip_blocklisted",
        check: Some("dnsbl"),
        why: "The sending IP is on a DNS blocklist the receiver consults",
        fix: "Look the IP up on the named list's site, remove the reason (open relay, compromised account, spam), then request delisting.",
    },
    Def {
        id: "sending_domain_blocklisted",
        check: Some("dnsbl"),
        why: "The sending domain (or a domain linked in the message) is on a domain blocklist",
        fix: "Look the domain up on the list's site (e.g. Spamhaus DBL), remove the cause, request delisting.",
    },
    Def {
        id: "receiver_reputation",
        check: None,
        why: "The receiver's own reputation filter blocks or throttles the sending IP or domain (not a public blocklist a check can query)",
        fix: "Use the receiver's delisting or postmaster channel (Microsoft: sender.office.com; Gmail: Postmaster Tools; Yahoo: Sender Hub), and cut what drives complaints.",
    },
    Def {
        id: "content_rejected",
        check: None,
        why: "The receiver's filter judged the message's content as spam, phishing or malware",
        fix: "Review the message: links and their domains, attachments, wording; test with a plain message to the same recipient.",
    },
    Def {
        id: "reverse_dns",
        check: Some("rdns"),
        why: "The sending IP has no reverse DNS (PTR), or its PTR name does not resolve back to it, which receivers require",
        fix: "Have the owner of the sending IP set its PTR to your mail host's name, and give that name an A/AAAA record for the IP.",
    },
    Def {
        id: "helo_rejected",
        check: Some("helo"),
        why: "The HELO/EHLO name the sending server gives is not a resolvable fully-qualified name",
        fix: "Set the server's HELO name to its public FQDN (Postfix: smtp_helo_name; Exchange: the send connector's FQDN) with an A record for the sending IP.",
    },
    Def {
        id: "spf_failed",
        check: Some("spf"),
        why: "The sender domain's SPF record does not authorize the sending IP",
        fix: "Add the sending IP (or its provider's include:) to the domain's SPF record.",
    },
    Def {
        id: "dkim_failed",
        check: Some("dkim"),
        why: "The message had no valid DKIM signature from the sender's domain",
        fix: "Sign outgoing mail with DKIM for the From: domain and publish the selector's key in DNS.",
    },
    Def {
        id: "dmarc_failed",
        check: Some("dmarc"),
        why: "The message failed the sender domain's DMARC policy: neither SPF nor DKIM passed aligned with the From: domain",
        fix: "Make SPF or DKIM pass for a domain aligned with the From: address; check the domain's DMARC record.",
    },
    Def {
        id: "sender_domain_invalid",
        check: Some("mx"),
        why: "The sender's domain does not exist, publishes a null MX, or cannot receive replies, so receivers refuse its mail",
        fix: "Give the sending domain working DNS and an MX that accepts mail (replies and bounces must be deliverable).",
    },
    Def {
        id: "sender_verify_failed",
        check: Some("smtp"),
        why: "The receiver tried to verify the sender address by calling back the sender domain's mail server, and that failed",
        fix: "Make the sender domain's MX hosts reachable on port 25 and accept RCPT TO for the sending address.",
    },
    Def {
        id: "sender_rejected",
        check: None,
        why: "The receiver refuses this sender address or the sending account itself",
        fix: "Ask the recipient's administrator why the sender is blocked; on Microsoft 365 check the account is not restricted for sending spam.",
    },
    Def {
        id: "rate_limited",
        check: None,
        why: "The receiver is throttling: too many messages or connections from this sender in a short time",
        fix: "Send more slowly (fewer connections and messages per hour); the queue retries on its own for temporary limits.",
    },
    Def {
        id: "greylisted",
        check: None,
        why: "The receiver greylists: it refuses unknown senders once, expecting a retry",
        fix: "Nothing: a standard mail server retries and the next attempt is accepted. If it never goes through, check that the server retries from the same IP.",
    },
    Def {
        id: "tls_required",
        check: None,
        why: "The receiver requires an encrypted (TLS) connection and the sending server did not use one",
        fix: "Enable STARTTLS for outbound mail (Postfix: smtp_tls_security_level = may; Exchange: TLS on the send connector).",
    },
    Def {
        id: "relay_denied",
        check: None,
        why: "The server that answered is not the recipient's mail server and will not relay for you",
        fix: "Deliver to the recipient domain's MX, or, when sending through a smart host, authenticate to it or have it accept your IP.",
    },
    Def {
        id: "smarthost_auth",
        check: None,
        why: "The relay or submission server requires SMTP authentication, and the sending server did not authenticate (or its credentials were refused)",
        fix: "Configure the sending server or application to authenticate (SMTP AUTH over TLS) with valid credentials, or use a connector that trusts its IP.",
    },
    Def {
        id: "sending_connectivity",
        check: Some("path"),
        why: "The sending server could not connect to the recipient's mail server: outbound port 25 blocked, a firewall, or the remote host down",
        fix: "From the sending server, test a connection to the recipient's MX on port 25; open outbound port 25 or relay through your provider's smart host.",
    },
    Def {
        id: "sending_resolver",
        check: Some("path"),
        why: "The sending server could not look up the recipient domain's MX in DNS: its resolver fails or times out",
        fix: "Check the DNS resolver the sending server uses (it must resolve public names); on Exchange check the send connector's DNS settings.",
    },
    Def {
        id: "recipient_server_unavailable",
        check: None,
        why: "The recipient's mail server is down, overloaded or misconfigured",
        fix: "Wait for the queue to retry; if it persists, tell the recipient that their mail server is not accepting mail.",
    },
    Def {
        id: "mail_loop",
        check: None,
        why: "The message went round a loop (forwarding rules or MX records pointing back)",
        fix: "Check forwarding rules and connectors on both sides, and that the recipient domain's MX does not point back at the sender.",
    },
    Def {
        id: "message_noncompliant",
        check: None,
        why: "The message does not follow the message format rules (RFC 5322 headers, bare line feeds, line length)",
        fix: "Fix the sending application so it writes standard headers (one From:, Date:, Message-ID:) and CRLF line endings.",
    },
];

fn def(id: &str) -> Option<&'static Def> {
    DEFS.iter().find(|d| d.id == id)
}

/// What the ranking reads, gathered by the extractor.
pub(crate) struct Evidence<'a> {
    /// Per recipient: enhanced status, reply code, kind.
    pub codes: Vec<(Option<StatusCode>, Option<u16>, Kind)>,
    /// What the remote server said (diagnostics, quoted replies).
    pub remote_texts: Vec<&'a str>,
    /// What the reporting server wrote around it.
    pub boilerplate: String,
    pub receiver: Option<Receiver>,
    pub kind: Kind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum When {
    Always,
    /// Only when the failure is temporary (4.x.x or a delay): a 5xx is never
    /// greylisting, and "service unavailable" in a 5xx is boilerplate.
    Temporary,
    Permanent,
    /// Only for a text no specific rule (weight 80 and up) explained:
    /// "Recipient address rejected: Greylisted" is greylisting, not an
    /// unknown recipient.
    Fallback,
}

struct TextRule {
    cause: &'static str,
    weight: u8,
    when: When,
    re: Regex,
}

fn text_rules() -> &'static [TextRule] {
    static RULES: OnceLock<Vec<TextRule>> = OnceLock::new();
    RULES.get_or_init(|| {
        let mut v = Vec::new();
        let mut add = |cause: &'static str, weight: u8, when: When, pat: &str| {
            let re = Regex::new(&format!("(?i){pat}")).expect("cause rule");
            v.push(TextRule { cause, weight, when, re });
        };
        add(
            "recipient_unknown",
            92,
            When::Always,
            r"user unknown|unknown user|no such (?:user|mailbox|recipient|address|person)|mailbox (?:not found|does not exist|doesn't exist)|(?:account|address|recipient|mailbox|user)(?: that you tried to reach)? (?:does not|doesn't) exist|recipient not found|recipientnotfound|recipnotfound|invalid (?:recipient|mailbox)|address (?:couldn't|could not) be found|unrouteable address|user not found|no mailbox here|does not like recipient|doesn't have an? \S+ account|unknown recipient|recipient address rejected: (?:user unknown|unknown|undeliverable|invalid)|not a valid (?:recipient|mailbox)|no longer (?:exists|valid)",
        );
        add("recipient_unknown", 55, When::Fallback, r"recipient address rejected|mailbox unavailable");
        add("recipient_restricted", 50, When::Fallback, r"recipient address rejected");
        add("recipient_unknown", 55, When::Always, r"recipient address rejected: access denied");
        add(
            "recipient_restricted",
            85,
            When::Always,
            r"recipient address rejected: access denied|not (?:authorized|allowed|permitted) to send (?:to|mail to|messages to)|only accepts? (?:mail|messages) from|accepts messages only from|you do not have permission|not authenticated for (?:the )?(?:group|mailbox|public folder|mail user)|restricted to (?:internal|authorized)|sender is not (?:allowed|authorized)",
        );
        add("recipient_restricted", 40, When::Fallback, r"access denied|delivery not authorized");
        // Exchange's and Microsoft 365's own wording, which they write from
        // the code: a signal when the code itself is missing.
        add(
            "recipient_restricted",
            85,
            When::Always,
            r"permission or security issue|only accept (?:e-?mail|messages) from certain senders",
        );
        add(
            "recipient_mailbox_disabled",
            90,
            When::Always,
            r"(?:mailbox|account) (?:is |has been )?(?:disabled|deactivated|suspended|inactive|locked)|inactive (?:account|mailbox|user)|this mailbox is disabled|mailbox (?:is )?not active",
        );
        add(
            "recipient_mailbox_full",
            92,
            When::Always,
            r"mailbox (?:is )?full|over ?quota|quota (?:exceeded|limit)|exceeded (?:the |its |their )?(?:storage|quota)|insufficient (?:system )?storage|mailbox size limit|inbox is full|out of storage|storage allocation|mailbox (?:has )?exceeded",
        );
        add(
            "message_too_large",
            90,
            When::Always,
            r"message (?:size )?(?:is )?too (?:big|large)|message size exceeds|size exceeds|exceeds (?:the )?(?:maximum|fixed|allowed) (?:message )?size|message length exceeds|too big for system|size limit",
        );
        add(
            "recipient_domain_invalid",
            82,
            When::Always,
            r"(?:recipient|destination) domain (?:not found|does not exist|invalid)|no such domain|null mx|domain (?:does not|doesn't) accept mail|no mx (?:record|host)s? (?:for|found)|unrouteable domain",
        );
        // Postfix says this for NXDOMAIN (5.4.4) and for a failing resolver
        // ("try again", 4.4.3) alike.
        add("recipient_domain_invalid", 82, When::Permanent, r"host or domain name not found");
        add("recipient_domain_invalid", 45, When::Temporary, r"host or domain name not found");
        add("recipient_domain_invalid", 75, When::Permanent, r"domain (?:name )?(?:not found|does not exist)");
        add(
            "sending_ip_blocklisted",
            96,
            When::Always,
            r"\b(?:zen|sbl|xbl|pbl|sbl-xbl)\.spamhaus\.org|\bbl\.spamcop\.net|b\.barracudacentral\.org|\bsorbs\.net|bl\.mailspike\.net|uceprotect\.net|psbl\.surriel\.com|cbl\.abuseat\.org|abusix\.(?:zone|org)|spameatingmonkey|dnsbl\.[a-z0-9.-]+|\brbl\.[a-z0-9.-]+|blocked using \S+|listed (?:on|in|at|by) \S*(?:spamhaus|spamcop|barracuda|sorbs|rbl|dnsbl)",
        );
        add(
            "sending_ip_blocklisted",
            85,
            When::Always,
            r"\bspamhaus\b|\bspamcop\b|\bbarracuda\b|\bsorbs\b|\buceprotect\b|\babusix\b|\bdnsbl\b|\brbl\b|block ?list(?:ed)?|black ?list(?:ed)?|\bon (?:a|our) block ?list",
        );
        add(
            "sending_domain_blocklisted",
            95,
            When::Always,
            r"\bdbl\.spamhaus\.org|\buribl\b|\bsurbl\b|multi\.uribl\.com|domain (?:is )?(?:listed|block ?listed|black ?listed)",
        );
        add(
            "receiver_reputation",
            82,
            When::Always,
            r"\breputation\b|\bS3140\b|\bS3150\b|\bTSS?0?\d{1,2}\b|banned sending ip|unusual rate|likely unsolicited|traffic not accepted from this ip|part of their network is on our block list|has been temporarily rate limited|low sender score|poor sending",
        );
        add(
            "content_rejected",
            82,
            When::Always,
            r"content (?:rejected|filter|policy)|message content|\bvirus\b|malware|phish|detected as spam|(?:looks|identified) (?:like|as) spam",
        );
        add("content_rejected", 70, When::Fallback, r"\bspam\b|suspicious|policy reasons");
        add(
            "reverse_dns",
            92,
            When::Always,
            r"reverse dns|reverse (?:hostname|lookup|mapping|name)|\bptr\b|\brdns\b|\biprev\b|cannot find your (?:reverse )?hostname|client host rejected: cannot find|not forward.?confirmed|hostname (?:does not|doesn't) match",
        );
        add("reverse_dns", 60, When::Always, r"generic (?:hostname|rdns|dns)|dynamic (?:ip|address|pool|range)|residential|dial-?up");
        add(
            "helo_rejected",
            92,
            When::Always,
            r"helo command rejected|\b(?:helo|ehlo)\b|fully.qualified (?:host|domain)|invalid host ?name|bad (?:helo|hostname)",
        );
        add(
            "spf_failed",
            92,
            When::Always,
            r"\bspf\b|sender policy framework|not (?:a )?designated (?:as )?permitted sender|is not allowed to send (?:mail )?(?:from|on behalf)|designates \S+ as not permitted",
        );
        add("dkim_failed", 92, When::Always, r"\bdkim\b|domainkeys|dkim signature|body hash did not verify");
        add(
            "dmarc_failed",
            92,
            When::Always,
            r"\bdmarc\b|dmarc policy|unauthenticated (?:email|mail|sender)|sender is unauthenticated|not aligned|does not pass (?:authentication|dmarc)|authentication requirements|required authentication level",
        );
        add("spf_failed", 55, When::Always, r"unauthenticated (?:email|mail|sender)|sender is unauthenticated|authenticate with (?:either )?spf");
        add("dkim_failed", 55, When::Always, r"unauthenticated (?:email|mail|sender)|sender is unauthenticated|spf or dkim");
        add(
            "sender_domain_invalid",
            88,
            When::Always,
            r"sender address rejected: domain not found|sender domain (?:not found|does not exist|must exist|invalid)|domain of sender address \S+ does not (?:exist|resolve)|sender's domain|unresolvable sender|sender address does not resolve|bad sender's system address",
        );
        add(
            "sender_verify_failed",
            92,
            When::Always,
            r"sender verify failed|sender verification|callout verification|could not verify sender|unverified (?:sender|address)|sender address verification|unable to verify sender|verify sender",
        );
        add(
            "sender_rejected",
            78,
            When::Always,
            r"sender address rejected|sender (?:is )?(?:blocked|banned|denied|rejected|black ?listed)|banned sender|bad outbound sender|unregistered domains?|from address (?:is )?(?:blocked|not allowed)",
        );
        add(
            "rate_limited",
            88,
            When::Always,
            r"rate.?limit|too many (?:messages|connections|recipients|emails|concurrent)|receiving mail (?:at|too) (?:a rate|fast)|throttl|slow down|sending limit|daily (?:limit|quota)|per hour|unexpected volume|temporarily deferred|deferred due to|exceeded .{0,30}(?:limit|rate)|mail flood",
        );
        add(
            "greylisted",
            96,
            When::Temporary,
            r"gr[ea]y.?list(?:ed|ing)?|try again in \d+|come back later|temporarily rejected",
        );
        add("greylisted", 45, When::Temporary, r"please try again later|try again later|try later");
        add(
            "tls_required",
            92,
            When::Always,
            r"tls (?:is )?required|requires? (?:a )?(?:secure connection|tls|encryption|starttls)|must issue a starttls|starttls (?:is )?required|encryption (?:is )?(?:required|needed)|not sent over tls|requiretls",
        );
        add(
            "relay_denied",
            96,
            When::Always,
            r"relay(?:ing)? (?:access )?(?:denied|not permitted|prohibited|not allowed)|unable to relay|not permitted to relay|we do not relay|no relaying|tenantattribution|relay access",
        );
        add(
            "smarthost_auth",
            90,
            When::Always,
            r"authentication (?:is )?(?:required|unsuccessful|failed|credentials invalid)|client was not authenticated|not authenticated to send|smtp ?auth|must authenticate|smtpclientauthentication|authentication mechanism",
        );
        add(
            "sending_connectivity",
            88,
            When::Always,
            r"connection (?:timed out|refused|reset|lost|dropped)|timed out|timeout|network is unreachable|no route to host|winsock error code: ?100(?:60|61|65)|failed to connect|lost connection|could(?:n't| not) connect|unable to connect|did not accept our requests to connect|no answer from host|connect to \S+ (?:failed|refused)",
        );
        add(
            "sending_resolver",
            88,
            When::Always,
            r"dns (?:query|lookup|resolution) (?:failed|error|timed out)|name service error|name resolution|temporary failure in name resolution|\bservfail\b|unable to resolve|could not resolve|dns (?:timeout|error|failure)|host not found, try again",
        );
        add(
            "recipient_server_unavailable",
            62,
            When::Temporary,
            r"service (?:is )?(?:temporarily )?(?:not )?(?:available|unavailable)|system (?:busy|overloaded)|server (?:is )?busy|too busy|temporarily (?:unavailable|unable)|insufficient system resources|local error in processing|internal (?:server )?error",
        );
        add("recipient_server_unavailable", 50, When::Always, r"did not accept our requests to connect|connection refused");
        add(
            "mail_loop",
            92,
            When::Always,
            r"loops? (?:detected|back)|mail loop|routing loop|hop count exceeded|too many hops",
        );
        add(
            "message_noncompliant",
            82,
            When::Always,
            r"rfc ?5322|rfc ?2822|bare (?:lf|line ?feeds?)|line too long|invalid (?:header|message)|malformed|missing (?:required )?header|not (?:rfc )?compliant|invalid characters",
        );
        v
    })
}

/// Causes a status code (and, without one, a bare reply code) points to.
fn code_rules(
    code: Option<StatusCode>,
    reply: Option<u16>,
    receiver: Option<Receiver>,
    kind: Kind,
) -> Vec<(&'static str, u8)> {
    let ms = receiver == Some(Receiver::Microsoft);
    let google = receiver == Some(Receiver::Google);
    let Some(c) = code else {
        return match reply {
            Some(421) => vec![("recipient_server_unavailable", 50), ("rate_limited", 40)],
            Some(450) => vec![("greylisted", 40), ("recipient_server_unavailable", 35)],
            Some(451) => vec![("recipient_server_unavailable", 45), ("greylisted", 35)],
            Some(452) => vec![("recipient_mailbox_full", 45)],
            Some(530 | 535) => vec![("smarthost_auth", 70)],
            Some(550 | 553) => vec![("recipient_unknown", 45)],
            Some(552) => vec![("recipient_mailbox_full", 50), ("message_too_large", 45)],
            Some(554) => vec![("receiver_reputation", 35), ("content_rejected", 30)],
            Some(556) => vec![("recipient_domain_invalid", 80)],
            _ => Vec::new(),
        };
    };
    let (s, d) = (c.subject, c.detail);
    match (s, d) {
        (1, 1) | (1, 4) | (1, 6) => vec![("recipient_unknown", 90)],
        (1, 3) => vec![("recipient_unknown", 80)],
        (1, 0) => vec![("recipient_unknown", 60)],
        (1, 10) if ms => vec![("recipient_unknown", 90)],
        (1, 10) | (1, 2) => vec![("recipient_domain_invalid", 90)],
        (1, 7) => vec![("sender_rejected", 70)],
        (1, 8) if ms => vec![("sender_rejected", 80), ("sender_domain_invalid", 40)],
        (1, 8) => vec![("sender_domain_invalid", 88)],
        (1, 90) if ms => vec![("rate_limited", 90)],
        (2, 1) => vec![("recipient_mailbox_disabled", 90)],
        (2, 2) => vec![("recipient_mailbox_full", 92)],
        (2, 121) | (2, 122) if ms => vec![("rate_limited", 90)],
        (2, 3) | (3, 4) => vec![("message_too_large", 90)],
        (3, 1) | (3, 2) | (3, 0) | (3, 5) => vec![("recipient_server_unavailable", 60)],
        (4, 1) if ms => vec![("recipient_unknown", 80), ("recipient_restricted", 60)],
        (4, 1) | (4, 2) => vec![
            ("sending_connectivity", 80),
            ("recipient_server_unavailable", 55),
        ],
        (4, 3) => vec![("sending_resolver", 82)],
        (4, 4) => vec![("recipient_domain_invalid", 60), ("sending_resolver", 50)],
        (4, 5) => vec![("recipient_server_unavailable", 70), ("rate_limited", 50)],
        (4, 6) | (4, 14) => vec![("mail_loop", 92)],
        (4, 312) => vec![("sending_resolver", 92)],
        (4, 316) => vec![
            ("sending_connectivity", 85),
            ("recipient_server_unavailable", 60),
        ],
        // A delay notice (or expiry) says only that delivery keeps failing;
        // the sending side's reach is the first suspect, then the remote.
        (4, 7) | (4, 300) => vec![
            ("sending_connectivity", 70),
            ("sending_resolver", 55),
            ("recipient_server_unavailable", 55),
        ],
        (4, 0) if kind != Kind::Permanent => {
            vec![("sending_connectivity", 50), ("sending_resolver", 50)]
        }
        (5, 3) => vec![("rate_limited", 60)],
        (6, _) => vec![("message_noncompliant", 65)],
        (5, 1) | (5, 2) | (5, 4) => vec![("message_noncompliant", 40)],
        (7, 1) => vec![
            ("recipient_restricted", 45),
            ("sending_ip_blocklisted", 30),
            ("receiver_reputation", 30),
            ("reverse_dns", 25),
            ("spf_failed", 20),
        ],
        (7, 0) => vec![("sending_ip_blocklisted", 25), ("reverse_dns", 20)],
        (7, 2) => vec![("recipient_restricted", 80)],
        (7, 8) | (7, 9) | (7, 139) => vec![("smarthost_auth", 90)],
        (7, 57) if ms => vec![("smarthost_auth", 96)],
        (7, 64) if ms => vec![("relay_denied", 92)],
        (7, 10) | (7, 11) => vec![("tls_required", 85)],
        (7, 13) => vec![("recipient_mailbox_disabled", 60)],
        (7, 14) => vec![("relay_denied", 60)],
        (7, 20) | (7, 21) => vec![("dkim_failed", 90)],
        (7, 22) => vec![("dkim_failed", 90), ("dmarc_failed", 60)],
        (7, 23) => vec![("spf_failed", 96)],
        (7, 24) => vec![("spf_failed", 86)],
        (7, 25) => vec![("reverse_dns", 96)],
        (7, 26) => vec![
            ("dmarc_failed", 85),
            ("spf_failed", 60),
            ("dkim_failed", 60),
        ],
        (7, 27) if google => vec![("spf_failed", 92)],
        (7, 27) => vec![("sender_domain_invalid", 92)],
        (7, 28) => vec![("receiver_reputation", 72), ("rate_limited", 65)],
        (7, 29) if google => vec![("tls_required", 90)],
        (7, 30) if google => vec![("dkim_failed", 92)],
        (7, 30) => vec![("tls_required", 88)],
        (7, 32) if google => vec![("dmarc_failed", 90)],
        (7, 12) | (7, 124) | (7, 133..=136) if ms => vec![("recipient_restricted", 92)],
        (7, 509) if ms => vec![("dmarc_failed", 96)],
        (7, 515) if ms => vec![
            ("dmarc_failed", 90),
            ("spf_failed", 60),
            ("dkim_failed", 60),
        ],
        (7, 511) | (7, 750) if ms => vec![("sender_rejected", 90)],
        (7, 512) if ms => vec![("message_noncompliant", 92)],
        (7, 606..=649) | (7, 705) | (7, 708) if ms => vec![("receiver_reputation", 95)],
        (7, 650) if ms => vec![("receiver_reputation", 88), ("rate_limited", 70)],
        (7, 500..=699) if ms => vec![("receiver_reputation", 70), ("rate_limited", 60)],
        _ => Vec::new(),
    }
}

/// More causes than this are noise.
const MAX_CAUSES: usize = 6;

/// Ranks the causes the evidence points to, most likely first.
pub(crate) fn rank(ev: &Evidence) -> Vec<Cause> {
    // cause -> (score, what triggered it)
    let mut best: Vec<(&'static str, u8, String)> = Vec::new();
    fn bump(best: &mut Vec<(&'static str, u8, String)>, id: &'static str, score: u8, why: String) {
        match best.iter_mut().find(|(c, _, _)| *c == id) {
            Some(e) if e.1 < score => {
                e.1 = score;
                e.2 = why;
            }
            Some(_) => {}
            None => best.push((id, score, why)),
        }
    }
    for (code, reply, kind) in &ev.codes {
        for (id, score) in code_rules(*code, *reply, ev.receiver, *kind) {
            let what = match (code, reply) {
                (Some(c), _) if score < 50 => {
                    format!("receivers also give the generic status {c} for this")
                }
                (Some(c), _) => format!("status {c}"),
                (None, Some(r)) if score < 50 => {
                    format!("receivers also give the generic reply {r} for this")
                }
                (None, Some(r)) => format!("reply {r}"),
                _ => continue,
            };
            bump(&mut best, id, score, what);
        }
    }
    let temporary = ev.kind != Kind::Permanent;
    // Texts that a specific rule explains; fallback rules skip them.
    let explained: Vec<bool> = ev
        .remote_texts
        .iter()
        .map(|t| {
            text_rules()
                .iter()
                .any(|r| r.when != When::Fallback && r.weight >= 80 && r.re.is_match(t))
        })
        .collect();
    for rule in text_rules() {
        match rule.when {
            When::Temporary if !temporary => continue,
            When::Permanent if temporary => continue,
            _ => {}
        }
        for (i, t) in ev.remote_texts.iter().enumerate() {
            if rule.when == When::Fallback && explained[i] {
                continue;
            }
            if let Some(m) = rule.re.find(t) {
                bump(
                    &mut best,
                    rule.cause,
                    rule.weight,
                    format!("reply: \"{}\"", snippet(t, m.start(), m.end())),
                );
                break;
            }
        }
        if rule.when == When::Fallback {
            continue;
        }
        if let Some(m) = rule.re.find(&ev.boilerplate) {
            bump(
                &mut best,
                rule.cause,
                rule.weight.saturating_sub(30),
                format!(
                    "the report says \"{}\"",
                    snippet(&ev.boilerplate, m.start(), m.end())
                ),
            );
        }
    }
    // A delay with nothing more specific: something on the way fails.
    if ev.kind == Kind::Delay && best.iter().all(|(_, s, _)| *s < 50) {
        bump(
            &mut best,
            "sending_connectivity",
            50,
            "this is a delay notice with no more specific reason".into(),
        );
        bump(
            &mut best,
            "recipient_server_unavailable",
            50,
            "this is a delay notice with no more specific reason".into(),
        );
    }
    let order = |id: &str| DEFS.iter().position(|d| d.id == id).unwrap_or(usize::MAX);
    best.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| order(a.0).cmp(&order(b.0))));
    best.into_iter()
        .filter(|(_, s, _)| *s >= 15)
        .take(MAX_CAUSES)
        .filter_map(|(id, score, trigger)| {
            let d = def(id)?;
            Some(Cause {
                id: d.id,
                likelihood: match score {
                    80.. => Likelihood::High,
                    50..=79 => Likelihood::Medium,
                    _ => Likelihood::Low,
                },
                check: d.check,
                why: format!("{} ({trigger}).", d.why),
                fix: d.fix.to_string(),
                verdict: None,
                verdict_reason: None,
                score,
            })
        })
        .collect()
}

/// One line around a match, at most ~160 characters, whitespace collapsed.
fn snippet(text: &str, start: usize, end: usize) -> String {
    let line_start = text[..start].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_end = text[end..]
        .find('\n')
        .map(|i| end + i)
        .unwrap_or(text.len());
    let mut from = line_start;
    let mut to = line_end;
    if start - from > 80 {
        from = start - 80;
    }
    if to - end > 80 {
        to = end + 80;
    }
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    while !text.is_char_boundary(to) {
        to += 1;
    }
    // Cut at word boundaries, not inside a number or a name.
    if from > line_start {
        if let Some(sp) = text[from..start].find(char::is_whitespace) {
            from += sp + 1;
        }
    }
    if to < line_end {
        if let Some(sp) = text[end..to].rfind(char::is_whitespace) {
            to = end + sp;
        }
    }
    let s = text[from..to]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    let pre = if from > line_start { "…" } else { "" };
    let post = if to < line_end { "…" } else { "" };
    format!("{pre}{s}{post}")
}

/// The check ids the causes point to that this build can run, in registry order.
pub fn checks_to_run(causes: &[Cause]) -> Vec<&'static str> {
    crate::check_ids()
        .into_iter()
        .filter(|id| causes.iter().any(|c| c.check == Some(*id)))
        .collect()
}

/// Gives each cause that a check can judge its verdict from the run: a `fail`
/// finding confirms it; only `pass`/`info` findings rule it out; an `error`
/// (could not ask), a skipped check (no sending IP given) or warnings alone
/// leave it undetermined. Causes no check can judge get no verdict.
///
/// `path` causes are about the sending host's own network, which only a run
/// on that host can test: the reason names the command to run there.
pub fn judge(causes: &mut [Cause], report: &Report, recipient_domain: Option<&str>) {
    let available = crate::check_ids();
    for c in causes.iter_mut() {
        let Some(check) = c.check else { continue };
        let (verdict, reason) = if !available.contains(&check) {
            let what = if check == "path" {
                format!(
                    "only the sending server can test its own resolvers and route: run `mailpreflight path {}` there",
                    recipient_domain.unwrap_or("RECIPIENT_DOMAIN")
                )
            } else {
                format!("the `{check}` check is not available in this version")
            };
            (Verdict::Undetermined, what)
        } else {
            match report.checks.iter().find(|r| r.id == check) {
                Some(r) => verdict_of(r),
                None => (
                    Verdict::Undetermined,
                    format!("the `{check}` check was not run"),
                ),
            }
        };
        c.verdict = Some(verdict);
        c.verdict_reason = Some(reason);
    }
}

/// Gives the sending-side causes their verdicts from a `path` run made on
/// this host: the resolver cause from its "resolvers" section, the
/// connectivity cause from its "port25" section. Call after [`judge`].
pub fn judge_path(causes: &mut [Cause], path: &Report) {
    for c in causes.iter_mut().filter(|c| c.check == Some("path")) {
        let section = match c.id {
            "sending_resolver" => "resolvers",
            "sending_connectivity" => "port25",
            _ => continue,
        };
        let (verdict, reason) = match path.checks.iter().find(|r| r.id == section) {
            // Warnings on port 25 (no STARTTLS, one host of several timing
            // out) come after a connection was made: connectivity is there.
            Some(r) if section == "port25" && r.status < Status::Error => (
                Verdict::RuledOut,
                "the recipient's mail server answered on port 25 from this host".to_string(),
            ),
            Some(r) => verdict_of(r),
            // No working resolver: the port 25 step could not run.
            None => (
                Verdict::Undetermined,
                format!("`path` could not test {section}: no resolver of this host works"),
            ),
        };
        c.verdict = Some(verdict);
        c.verdict_reason = Some(format!("{reason} (mailpreflight path, run on this host)"));
    }
}

fn verdict_of(r: &CheckReport) -> (Verdict, String) {
    let line = |f: &crate::Finding| format!("{}: {}", f.code.id(), f.message);
    let with = |s: Status| r.findings.iter().filter(move |f| f.status == s);
    if let Some(f) = with(Status::Fail).next() {
        return (Verdict::Confirmed, line(f));
    }
    if let Some(f) = with(Status::Error).next() {
        return (
            Verdict::Undetermined,
            format!("could not check: {}", line(f)),
        );
    }
    if let Some(f) = with(Status::Warn).next() {
        return (
            Verdict::Undetermined,
            format!("only warnings, which may or may not be why: {}", line(f)),
        );
    }
    let passed = r
        .findings
        .iter()
        .find(|f| matches!(f.status, Status::Pass | Status::Info));
    // Part of the check not done (offline lists, no IP for one part):
    // a pass on the rest does not rule the cause out.
    if let (Some(p), Some(s)) = (passed, with(Status::Skip).next()) {
        return (
            Verdict::Undetermined,
            format!("only partly checked: {}; {}", line(s), line(p)),
        );
    }
    if let Some(f) = passed {
        return (Verdict::RuledOut, line(f));
    }
    match r.findings.first() {
        Some(f) => (Verdict::Undetermined, line(f)),
        None => (
            Verdict::Undetermined,
            format!("the `{}` check reported nothing", r.id),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Code, Finding};

    fn ev<'a>(code: &str, reply: Option<u16>, texts: Vec<&'a str>, kind: Kind) -> Evidence<'a> {
        Evidence {
            codes: vec![(StatusCode::parse(code), reply, kind)],
            remote_texts: texts,
            boilerplate: String::new(),
            receiver: None,
            kind,
        }
    }

    #[test]
    fn every_cause_has_text_and_a_known_check() {
        let mut ids = std::collections::HashSet::new();
        for d in DEFS {
            assert!(ids.insert(d.id), "duplicate cause {}", d.id);
            assert!(d.why.len() > 20 && d.fix.len() > 20, "{}", d.id);
            if let Some(c) = d.check {
                assert!(
                    ["mx", "rdns", "helo", "spf", "dkim", "dmarc", "dnsbl", "smtp", "path"]
                        .contains(&c),
                    "{} -> {c}",
                    d.id
                );
            }
        }
        for r in text_rules() {
            assert!(def(r.cause).is_some(), "rule for unknown cause {}", r.cause);
        }
        for s in 0..8 {
            for d in (0..40).chain([57, 64, 124, 133, 300, 312, 316, 509, 606, 650, 708]) {
                for rcv in [None, Some(Receiver::Microsoft), Some(Receiver::Google)] {
                    for (id, _) in code_rules(
                        Some(StatusCode {
                            class: 5,
                            subject: s,
                            detail: d,
                        }),
                        None,
                        rcv,
                        Kind::Permanent,
                    ) {
                        assert!(def(id).is_some(), "code rule for unknown cause {id}");
                    }
                }
            }
        }
    }

    #[test]
    fn codes_and_texts_rank_causes() {
        let c = rank(&ev("5.7.25", Some(550), vec![], Kind::Permanent));
        assert_eq!(c[0].id, "reverse_dns");
        assert_eq!(c[0].likelihood, Likelihood::High);
        assert!(c[0].why.contains("status 5.7.25"), "{}", c[0].why);

        let t = "550 5.7.1 Service unavailable; Client host [192.0.2.10] blocked using zen.spamhaus.org";
        let c = rank(&ev("5.7.1", Some(550), vec![t], Kind::Permanent));
        assert_eq!(c[0].id, "sending_ip_blocklisted");
        assert!(c[0].why.contains("zen.spamhaus.org"), "{}", c[0].why);
        // "Service unavailable" in a 5xx does not make the remote "down".
        assert!(!c.iter().any(|x| x.id == "recipient_server_unavailable"));

        // Greylisting is a temporary thing only.
        let g = "450 4.2.0 <u@example.net>: Recipient address rejected: Greylisted, see http://postgrey.schweikert.ch/";
        assert_eq!(
            rank(&ev("4.2.0", Some(450), vec![g], Kind::Transient))[0].id,
            "greylisted"
        );
        assert!(!rank(&ev("5.2.0", Some(550), vec![g], Kind::Permanent))
            .iter()
            .any(|x| x.id == "greylisted"));

        // Gmail's 5.7.27 is SPF; IANA's is null MX.
        let mut e = ev("5.7.27", Some(550), vec![], Kind::Permanent);
        assert_eq!(rank(&e)[0].id, "sender_domain_invalid");
        e.receiver = Some(Receiver::Google);
        assert_eq!(rank(&e)[0].id, "spf_failed");

        // A bare delay says little: the sending side's reach first.
        let c = rank(&ev(
            "4.4.7",
            Some(400),
            vec!["400 4.4.7 Message delayed"],
            Kind::Delay,
        ));
        assert_eq!(c[0].id, "sending_connectivity");
        assert_eq!(c[0].check, Some("path"));
        assert!(c.iter().any(|x| x.id == "sending_resolver"));
    }

    #[test]
    fn verdicts_follow_findings() {
        let report = |id: &'static str, findings: Vec<Finding>| {
            CheckReport::new(id, findings, std::time::Duration::from_millis(1))
        };
        let fail = report(
            "rdns",
            vec![Finding::new(Code::RdnsNoPtr, "192.0.2.10 has no PTR")],
        );
        assert_eq!(verdict_of(&fail).0, Verdict::Confirmed);
        let ok = report("rdns", vec![Finding::new(Code::RdnsOk, "fine")]);
        assert_eq!(verdict_of(&ok).0, Verdict::RuledOut);
        let err = report(
            "rdns",
            vec![Finding::new(Code::RdnsLookupFailed, "timeout")],
        );
        assert_eq!(verdict_of(&err).0, Verdict::Undetermined);
        let skip = report("rdns", vec![Finding::new(Code::RdnsNoIp, "no IP")]);
        assert_eq!(verdict_of(&skip).0, Verdict::Undetermined);
        let partly = report(
            "dnsbl",
            vec![
                Finding::new(Code::DnsblOk, "not listed on zen"),
                Finding::new(Code::DnsblOffline, "the others were not asked"),
            ],
        );
        assert_eq!(verdict_of(&partly).0, Verdict::Undetermined);
        let warn = report(
            "rdns",
            vec![
                Finding::new(Code::RdnsGenericPtr, "generic"),
                Finding::new(Code::RdnsOk, "ok"),
            ],
        );
        assert_eq!(verdict_of(&warn).0, Verdict::Undetermined);
    }
}
