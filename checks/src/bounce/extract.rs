//! From bytes to a [`Bounce`]: collect the parts (human text, RFC 3464
//! delivery-status fields, the bounced message's headers), find recipients,
//! replies and servers in them, and merge.
//!
//! The structured report (RFC 3464) is trusted first; the human text fills
//! what it lacks and is all there is for Exchange 2010-style NDRs, pasted
//! text and old MTAs. Text heuristics follow the wording of the generators we
//! know (Exchange, Microsoft 365, Gmail, Yahoo, Postfix, Sendmail, Exim,
//! qmail) but key on the SMTP reply itself, which every one of them quotes.

use std::collections::HashSet;
use std::net::IpAddr;
use std::sync::OnceLock;

use regex::Regex;

use super::causes::{self, Evidence};
use super::mime::{self, Part};
use super::status::{self, Receiver, StatusCode};
use super::{Bounce, BounceError, Kind, Recipient};

fn re(cell: &'static OnceLock<Regex>, pat: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pat).expect("static regex"))
}

macro_rules! regex {
    ($pat:expr) => {{
        static CELL: OnceLock<Regex> = OnceLock::new();
        re(&CELL, $pat)
    }};
}

/// Replies and recipients read from one bounce, at most.
const MAX_UNITS: usize = 500;

const ADDR: &str = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,63}";

fn addr_re() -> &'static Regex {
    static CELL: OnceLock<Regex> = OnceLock::new();
    re(&CELL, ADDR)
}

/// Everything a bounce is read from.
#[derive(Default)]
struct Sources {
    subject: String,
    bounce_from: Option<String>,
    bounce_to: Option<String>,
    failed_header: Vec<String>,
    human: Vec<String>,
    html: Vec<String>,
    dsn: Vec<String>,
    original: Vec<(String, String)>,
}

fn collect(bytes: &[u8]) -> Sources {
    let mut s = Sources::default();
    let text = mime::to_text(bytes, None);
    if !mime::looks_like_message(&text) {
        s.human.push(text);
        return s;
    }
    let top = mime::parse(bytes);
    s.subject = top.header("subject").unwrap_or("").to_string();
    s.bounce_from = top.header("from").and_then(first_addr);
    s.bounce_to = top.header("to").and_then(first_addr);
    for v in top.headers_named("x-failed-recipients") {
        s.failed_header
            .extend(addr_re().find_iter(v).map(|m| m.as_str().to_string()));
    }
    visit(&top, &mut s);
    if s.human.is_empty() {
        s.human = std::mem::take(&mut s.html);
    }
    s
}

fn visit(p: &Part, s: &mut Sources) {
    let ct = p.content_type.as_str();
    match ct {
        _ if ct.starts_with("multipart/") => p.children.iter().for_each(|c| visit(c, s)),
        "message/delivery-status" | "message/global-delivery-status" => s.dsn.push(p.text.clone()),
        "message/rfc822"
        | "message/global"
        | "text/rfc822-headers"
        | "message/rfc822-headers"
        | "message/global-headers" => {
            // The bounced message: read its headers, never its body (its
            // words are the user's, not the receiver's).
            if let (true, Some(c)) = (s.original.is_empty(), p.children.first()) {
                s.original = c.headers.clone();
            }
        }
        "text/html" => s.html.push(mime::html_to_text(&p.text)),
        _ if ct.starts_with("text/") => s.human.push(p.text.clone()),
        _ => {}
    }
}

fn first_addr(v: &str) -> Option<String> {
    addr_re().find(v).map(|m| m.as_str().to_string())
}

/// Splits pasted text at the start of the quoted original message; the rest,
/// when it starts with header fields, gives the original's headers.
fn cut_original(text: &str) -> (String, Option<Vec<(String, String)>>) {
    let marker = regex!(
        r"(?im)^[\s>-]*(?:original message headers|original message follows|(?:-+ )?this is a copy of the message|(?:-+ )?below this line is a copy of the message|-+ ?original message ?-+|undelivered message headers|content-type: (?:message/rfc822|text/rfc822-headers|message/global)|content-description: undelivered message)"
    );
    let Some(m) = marker.find(text) else {
        return (text.to_string(), None);
    };
    let before = text[..m.start()].to_string();
    let after = &text[m.end()..];
    // Skip the rest of the marker line and blank lines; then header fields.
    let rest = after.split_once('\n').map(|(_, r)| r).unwrap_or("");
    let rest = rest.trim_start_matches(['\r', '\n', ' ']);
    let headers = mime::parse_headers(rest.split("\n\n").next().unwrap_or("").as_bytes());
    (before, (!headers.is_empty()).then_some(headers))
}

/// A delivery-status block pasted or sent as text: from its first field to
/// the end.
fn cut_embedded_dsn(text: &str) -> (String, Option<String>) {
    let start = regex!(r"(?im)^(?:reporting-mta|final-recipient|original-recipient)[ \t]*:");
    match start.find(text) {
        Some(m) => {
            // A per-message block may start a few fields earlier.
            let block_start = text[..m.start()]
                .rfind("\n\n")
                .map(|i| i + 2)
                .unwrap_or(m.start());
            let block_start = if text[block_start..m.start()].lines().all(is_field_line) {
                block_start
            } else {
                m.start()
            };
            (
                text[..block_start].to_string(),
                Some(text[block_start..].to_string()),
            )
        }
        None => (text.to_string(), None),
    }
}

fn is_field_line(l: &str) -> bool {
    l.trim().is_empty()
        || regex!(r"^[A-Za-z][A-Za-z0-9-]*:\s").is_match(l)
        || l.starts_with([' ', '\t'])
}

#[derive(Debug, Default, Clone)]
struct DsnRecipient {
    address: Option<String>,
    action: Option<String>,
    status: Option<StatusCode>,
    remote_mta: Option<String>,
    remote_ip: Option<IpAddr>,
    diagnostic: Option<String>,
}

#[derive(Debug, Default)]
struct Dsn {
    reporting_mta: Option<String>,
    sender: Option<String>,
    recipients: Vec<DsnRecipient>,
}

/// RFC 3464 §2: a per-message block, then one block per recipient.
fn parse_dsn(text: &str, out: &mut Dsn) {
    let text = text.replace("\r\n", "\n");
    for block in text.split("\n\n") {
        let fields = mime::parse_headers(block.trim_start_matches('\n').as_bytes());
        let get = |name: &str| {
            fields
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        if let Some(v) = get("reporting-mta") {
            out.reporting_mta.get_or_insert_with(|| host_of(typed(v)));
        }
        if let Some(v) = get("x-postfix-sender").or_else(|| get("x-original-sender")) {
            if let Some(a) = first_addr(v) {
                out.sender.get_or_insert(a);
            }
        }
        let recipient = get("final-recipient").or_else(|| get("original-recipient"));
        if recipient.is_none() && get("action").is_none() && get("status").is_none() {
            continue;
        }
        let (remote_mta, remote_ip) = match get("remote-mta") {
            Some(v) => {
                let v = typed(v);
                let host = host_of(v);
                let ip = ips_in(v).into_iter().next();
                (
                    Some(host).filter(|h| !h.is_empty() && h.parse::<IpAddr>().is_err()),
                    ip.or_else(|| host_of(v).parse().ok()),
                )
            }
            None => (None, None),
        };
        out.recipients.push(DsnRecipient {
            address: recipient.and_then(|v| {
                first_addr(typed(v))
                    .or_else(|| Some(typed(v).to_string()))
                    .filter(|a| !a.is_empty())
            }),
            action: get("action").map(|a| a.trim().to_ascii_lowercase()),
            status: get("status")
                .and_then(|s| StatusCode::parse(s.split_whitespace().next().unwrap_or(""))),
            remote_mta,
            remote_ip,
            diagnostic: get("diagnostic-code")
                .map(|d| typed(d).to_string())
                .filter(|d| !d.is_empty()),
        });
    }
}

/// `rfc822; user@example.net` -> `user@example.net` (RFC 3464 typed fields).
fn typed(v: &str) -> &str {
    match v.split_once(';') {
        Some((t, rest)) if !t.contains(' ') && t.len() < 20 => rest.trim(),
        _ => v.trim(),
    }
}

/// `mx.example.net. (203.0.113.5, the server for ...)` -> `mx.example.net`.
fn host_of(v: &str) -> String {
    let first = v.split_whitespace().next().unwrap_or("");
    first
        .trim_matches(['[', ']', '<', '>', '(', ')'])
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

fn ips_in(text: &str) -> Vec<IpAddr> {
    let cand =
        regex!(r"(?:\d{1,3}\.){3}\d{1,3}|(?i:ipv6:)?[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}");
    cand.find_iter(text)
        .filter_map(|m| {
            let s = m.as_str();
            let s = s
                .strip_prefix("IPv6:")
                .or_else(|| s.strip_prefix("ipv6:"))
                .unwrap_or(s);
            s.parse::<IpAddr>().ok()
        })
        .collect()
}

/// An SMTP reply found in text.
#[derive(Debug, Clone)]
struct Unit {
    reply: Option<u16>,
    status: Option<StatusCode>,
    /// The reply from its code on, continuation lines joined.
    text: String,
    /// The whole line(s) it was found in, for addresses and server names.
    context: String,
    line: usize,
}

/// Finds the reply code and/or enhanced status code in one line; returns the
/// byte offset where the reply starts.
fn find_code(line: &str) -> Option<(Option<u16>, Option<StatusCode>, usize)> {
    let both =
        regex!(r"(?:^|[^0-9.])([245][0-9]{2})[ -]#?([245]\.[0-9]{1,3}\.[0-9]{1,3})(?:[^0-9.]|$)");
    if let Some(c) = both.captures(line) {
        let (Some(r), Some(s)) = (c.get(1), c.get(2)) else {
            return None;
        };
        return Some((
            r.as_str().parse().ok(),
            StatusCode::parse(s.as_str()),
            r.start(),
        ));
    }
    // Alone, a status code is only taken where one stands (line start, after
    // `#`, `Status:`, `smtp;`, ...): "version 5.1.1" is not a bounce.
    let enh = regex!(
        r#"(?i)(?:^\s*[#'"(]?|#|status(?: code)?:\s*|code:\s*|smtp;\s*|said:\s*|returned\s*'|error:\s*|\()([245]\.[0-9]{1,3}\.[0-9]{1,3})(?:[\s)\]'":;,>]|$)"#
    );
    if let Some(c) = enh.captures(line) {
        let s = c.get(1)?;
        return Some((None, StatusCode::parse(s.as_str()), s.start()));
    }
    let reply_ctx = regex!(
        r"(?i)(?:said:|returned '?|smtp;|<<<|response was:|remote host said:|error:)\s*'?([45][0-9]{2})(?:[ :-]|$)"
    );
    if let Some(c) = reply_ctx.captures(line) {
        let r = c.get(1)?;
        return Some((r.as_str().parse().ok(), None, r.start()));
    }
    let reply_start = regex!(
        r"(?i)^\s*([45][0-9]{2})[ :-]+.*\b(?:mail|mailbox|user|recipient|sender|relay|denied|rejected|blocked|refused|unavailable|spam|service|quota|address|domain|host|policy|try again)"
    );
    if let Some(c) = reply_start.captures(line) {
        let r = c.get(1)?;
        return Some((r.as_str().parse().ok(), None, r.start()));
    }
    None
}

/// Lines with their indented continuation lines joined: MTAs wrap a long
/// reply ("said: 421\n    4.7.0 [TSS04] ...") by indenting what follows.
fn logical_lines(lines: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut prev_blank = true;
    for l in lines {
        let blank = l.trim().is_empty();
        if !blank && !prev_blank && l.starts_with([' ', '\t']) {
            if let Some(last) = out.last_mut() {
                last.push(' ');
                last.push_str(l.trim());
                continue;
            }
        }
        out.push(l.to_string());
        prev_blank = blank;
    }
    out
}

fn find_units(lines: &[&str]) -> Vec<Unit> {
    let mut units = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let Some((reply, status, at)) = find_code(line) else {
            i += 1;
            continue;
        };
        // "250 2.0.0 Ok: queued" in a report is a success, not a failure.
        if status.map(|s| s.class) == Some(2) || reply.is_some_and(|r| r < 400) {
            i += 1;
            continue;
        }
        let mut text = line[at..].trim().to_string();
        let mut context = line.to_string();
        let mut j = i + 1;
        while j < lines.len() {
            let next = lines[j];
            let continues_reply = reply.is_some_and(|r| {
                let t = next.trim_start();
                t.starts_with(&format!("{r}-")) || t.starts_with(&format!("{r} "))
            }) && text.contains(&format!("{}-", reply.unwrap_or(0)));
            let indented = next.starts_with([' ', '\t'])
                && !next.trim().is_empty()
                && find_code(next).is_none();
            if !(continues_reply || indented) || next.trim().is_empty() {
                break;
            }
            text.push(' ');
            text.push_str(next.trim());
            context.push(' ');
            context.push_str(next.trim());
            j += 1;
        }
        units.push(Unit {
            reply,
            status,
            text,
            context,
            line: i,
        });
        i = j;
    }
    units
}

/// The human-readable part of a reply: codes, repeated multi-line prefixes,
/// the leading `<address>:` and the wrappers NDRs put round it removed.
fn clean_diagnostic(text: &str) -> String {
    let prefix = regex!(
        r"(?:^|[\s;])(?:[245][0-9]{2}[ -])?#?[245]\.[0-9]{1,3}\.[0-9]{1,3}\s|^[245][0-9]{2}(?:[ :-]|$)|\s[245][0-9]{2}-"
    );
    let text = regex!(r"(?i)\b(?:smtp|x-postfix|x-unix|x-local);\s*").replace_all(text, " ");
    let mut s = prefix.replace_all(&text, " ").to_string();
    static LEAD_ADDR: OnceLock<Regex> = OnceLock::new();
    let lead_addr = re(&LEAD_ADDR, &format!(r"^\s*<?{ADDR}>?(?::|\.\.\.)\s*"));
    s = lead_addr.replace(&s, "").to_string();
    s = regex!(r"(?:\s*>?\s*#SMTP#|\s*##|'\s*$)")
        .replace_all(&s, "")
        .to_string();
    let s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let s = s.trim_matches(|c: char| c == '\'' || c == '"' || c == ' ');
    let s = if s.ends_with(')') && s.matches('(').count() < s.matches(')').count() {
        &s[..s.len() - 1]
    } else {
        s
    };
    s.trim().to_string()
}

fn is_address_line(line: &str) -> Option<String> {
    let t = line.trim().trim_end_matches(':').trim();
    if t.len() > 400 || !t.contains('@') {
        return None;
    }
    static LINE: OnceLock<Regex> = OnceLock::new();
    let r = re(
        &LINE,
        &format!(r"^(?:<)?({ADDR})(?:>)?(?:\s+on\s+.*|\s+\(.*\))?$"),
    );
    r.captures(t)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string())
}

/// Addresses the text names as failed or delayed recipients, with where.
fn listed_recipients(lines: &[&str]) -> Vec<(String, usize)> {
    let intro = regex!(
        r"(?i)(?:recipients or groups|following (?:recipient|address)(?:es|\(s\)|s)?|permanent fatal errors|transient non-fatal errors|failed permanently|delivery to the following|could not reach the following|unable to deliver your message to the following)"
    );
    static SENTENCE: OnceLock<Regex> = OnceLock::new();
    let sentence = Some(re(
        &SENTENCE,
        &format!(
            r"(?i)(?:your message to|message (?:wasn't|was not|couldn't be|could not be|has not been|hasn't been) delivered to|delivering your message to|deliver your message to|delivery to|recipient address:|not be delivered to)\s*<?({ADDR})>?"
        ),
    ));
    let mut out = Vec::new();
    let mut listing = 0usize;
    for (i, line) in lines.iter().enumerate() {
        if let Some(r) = sentence {
            for c in r.captures_iter(line) {
                if let Some(m) = c.get(1) {
                    out.push((m.as_str().to_string(), i));
                }
            }
        }
        if intro.is_match(line) {
            listing = 10;
            continue;
        }
        if listing > 0 {
            listing -= 1;
            if let Some(a) = is_address_line(line) {
                out.push((a, i));
                listing = listing.max(3);
            } else if !line.trim().is_empty() && !line.starts_with([' ', '\t']) {
                listing = 0;
            }
        }
    }
    out
}

struct Servers {
    reporting: Option<String>,
    /// (host, ip, line)
    remote: Vec<(Option<String>, Option<IpAddr>, usize)>,
}

fn find_servers(lines: &[&str]) -> Servers {
    let reporting_pats: [&Regex; 4] = [
        regex!(r"(?i)generating server:\s*([A-Za-z0-9][A-Za-z0-9.-]*)"),
        regex!(r"(?i)this is the mail system at host\s+([A-Za-z0-9][A-Za-z0-9.-]*?)\.?\s*$"),
        regex!(r"(?i)this is the qmail-send program at\s+([A-Za-z0-9][A-Za-z0-9.-]*?)\.?\s*$"),
        regex!(r"(?i)^\s*reporting-mta:\s*dns;\s*([A-Za-z0-9][A-Za-z0-9.-]*?)\.?\s*$"),
    ];
    let host = r"([A-Za-z0-9][A-Za-z0-9-]*(?:\.[A-Za-z0-9-]+)+)\.?";
    let ip = r"((?:\d{1,3}\.){3}\d{1,3}|[0-9A-Fa-f:]*:[0-9A-Fa-f:.]+)";
    static REMOTE: OnceLock<Vec<Regex>> = OnceLock::new();
    let remote_pats = REMOTE.get_or_init(|| {
        [
            format!(r"(?i)host\s+{host}\s*\[{ip}\]"),
            format!(r"(?i)remote server at\s+{host}\s+\({ip}\)"),
            format!(r"(?i)receiving server:\s*{host}(?:\s+\({ip}\))?"),
            format!(r"(?i)while talking to\s+{host}:"),
            format!(r"(?i)\[{host}\s+{ip}:"),
            format!(r"(?i)connect to\s+{host}\[{ip}\]"),
            format!(r"(?i)^\s*{host}\s+#[245][0-9]{{2}}"),
            format!(r"(?i)^(?:connected to\s+)?{ip}\s+(?:does not like|but sender was rejected|failed after)"),
        ]
        .iter()
        .filter_map(|p| Regex::new(p).ok())
        .collect()
    });
    let mut s = Servers {
        reporting: None,
        remote: Vec::new(),
    };
    for (i, line) in lines.iter().enumerate() {
        if s.reporting.is_none() {
            for p in reporting_pats {
                if let Some(c) = p.captures(line) {
                    s.reporting = c
                        .get(1)
                        .map(|m| m.as_str().trim_end_matches('.').to_ascii_lowercase());
                    break;
                }
            }
        }
        for p in remote_pats {
            for c in p.captures_iter(line) {
                let mut h = None;
                let mut a = None;
                for g in c.iter().skip(1).flatten() {
                    match g.as_str().parse::<IpAddr>() {
                        Ok(x) => a = Some(x),
                        Err(_) => h = Some(g.as_str().trim_end_matches('.').to_ascii_lowercase()),
                    }
                }
                if h.is_some() || a.is_some() {
                    s.remote.push((h, a, i));
                }
            }
        }
    }
    s
}

fn is_delay_notice(text: &str) -> bool {
    regex!(
        r"(?i)delivery (?:is|has been) delayed|delayed mail|\(delay\)|delivery delayed|not (?:been )?delivered yet|hasn't been delivered yet|will (?:keep|continue) (?:trying|to try|to be attempted)|delivery will continue to be attempted|will (?:retry|try again)|still (?:being )?(?:retried|trying)|delivery incomplete|message delayed|could not send message for past|has not yet been delivered|no action is required on your part|will be retried"
    )
    .is_match(text)
}

fn has_bounce_wording(text: &str) -> bool {
    regex!(
        r"(?i)undeliverable|undelivered mail|delivery (?:has )?failed|delivery status notification|mail delivery (?:failed|failure|subsystem)|returned mail|failure notice|could ?n[o']t be delivered|was ?n[o']t delivered|not (?:been )?delivered|delivery (?:is )?delayed|delayed mail|non-?delivery|message not delivered|unable to deliver|permanent (?:error|failure)|temporary (?:error|failure|problem)|delivery incomplete|address not found"
    )
    .is_match(text)
}

fn receiver_of(texts: &[&str]) -> Option<Receiver> {
    let all = texts.join("\n").to_ascii_lowercase();
    if ["google.com", "googlemail.com", "gmail.com", "gmail"]
        .iter()
        .any(|k| all.contains(k))
    {
        return Some(Receiver::Google);
    }
    if [
        "outlook.com",
        "hotmail.com",
        "office365",
        "microsoft",
        "resolver.adr",
        "exchange",
        "generating server",
        "as(",
        "prod.outlook",
    ]
    .iter()
    .any(|k| all.contains(k))
    {
        return Some(Receiver::Microsoft);
    }
    None
}

#[derive(Debug, Default, Clone)]
struct Found {
    address: Option<String>,
    reply: Option<u16>,
    status: Option<StatusCode>,
    diagnostic: Option<String>,
    action: Option<String>,
    remote: Option<String>,
}

pub(super) fn extract(bytes: &[u8]) -> Result<Bounce, BounceError> {
    let mut src = collect(bytes);

    // Split human text into what the reporter wrote and what it quoted.
    let mut human = String::new();
    for t in std::mem::take(&mut src.human) {
        let (before, original) = cut_original(&t.replace("\r\n", "\n"));
        if let Some(h) = original {
            if src.original.is_empty() {
                src.original = h;
            }
        }
        let (before, dsn) = cut_embedded_dsn(&before);
        if let Some(d) = dsn {
            src.dsn.push(d);
        }
        human.push_str(&before);
        human.push('\n');
    }
    let mut dsn = Dsn::default();
    for d in &src.dsn {
        parse_dsn(d, &mut dsn);
    }

    let lines: Vec<&str> = human.lines().collect();
    let logical = logical_lines(&lines);
    let logical: Vec<&str> = logical.iter().map(String::as_str).collect();
    let mut units = find_units(&logical);
    // A real bounce has a handful; a hostile one must not cost quadratic time.
    units.truncate(MAX_UNITS);
    let servers = find_servers(&logical);
    let listed = listed_recipients(&lines);

    // Who sent the bounced message.
    let orig = |n: &str| {
        src.original
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.as_str())
    };
    static SENDER: OnceLock<Regex> = OnceLock::new();
    let text_sender = re(&SENDER, &format!(r"(?i)sender address:\s*<?({ADDR})"))
        .captures(&human)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str().to_string());
    let sender = orig("from").and_then(first_addr).or(text_sender.clone());
    let envelope_sender = orig("return-path")
        .and_then(first_addr)
        .or(dsn.sender.clone())
        .or(text_sender)
        .or_else(|| src.bounce_to.clone().filter(|a| !is_daemon(a)));
    let sender = sender.or_else(|| envelope_sender.clone());
    let senders: HashSet<String> = [&sender, &envelope_sender]
        .into_iter()
        .flatten()
        .map(|a| a.to_ascii_lowercase())
        .collect();

    let delay_notice = is_delay_notice(&src.subject)
        || is_delay_notice(&human)
        || dsn
            .recipients
            .iter()
            .any(|r| r.action.as_deref() == Some("delayed"));

    // Recipients: the structured report first, then the text.
    let mut found: Vec<Found> = Vec::new();
    let key = |a: &Option<String>| a.as_ref().map(|a| a.to_ascii_lowercase());
    for r in dsn.recipients.iter().take(MAX_UNITS) {
        if matches!(
            r.action.as_deref(),
            Some("delivered" | "relayed" | "expanded")
        ) {
            continue;
        }
        let (mut reply, mut status, mut diagnostic) = (None, r.status, None);
        if let Some(d) = &r.diagnostic {
            let joined = d.split_whitespace().collect::<Vec<_>>().join(" ");
            if let Some((rc, st, _)) = find_code(&joined) {
                reply = rc;
                status = status.or(st);
                // A generic x.0.0 in the Status field gives way to the
                // specific code in the remote's own reply.
                if let (Some(s), Some(st)) = (r.status, st) {
                    if s.subject == 0 && s.detail == 0 {
                        status = Some(st);
                    }
                }
            }
            diagnostic = Some(clean_diagnostic(&joined)).filter(|d| !d.is_empty());
        }
        found.push(Found {
            address: r.address.clone(),
            reply,
            status,
            diagnostic,
            action: r.action.clone(),
            remote: r.remote_mta.clone().or(r.remote_ip.map(|i| i.to_string())),
        });
    }
    for a in src
        .failed_header
        .iter()
        .chain(listed.iter().map(|(a, _)| a))
    {
        let k = Some(a.to_ascii_lowercase());
        if !found.iter().any(|f| key(&f.address) == k) {
            found.push(Found {
                address: Some(a.clone()),
                ..Found::default()
            });
        }
    }
    let addr_lines: Vec<(usize, String)> = logical
        .iter()
        .enumerate()
        .filter_map(|(i, l)| is_address_line(l).map(|a| (i, a)))
        .collect();
    let mut orphan_units = Vec::new();
    for u in &units {
        let in_unit = addr_re()
            .find_iter(&u.context)
            .map(|m| m.as_str().to_string())
            .find(|a| {
                !senders.contains(&a.to_ascii_lowercase())
                    && !is_daemon(a)
                    && !sender_context(&u.context, a)
            });
        let address = in_unit.or_else(|| {
            let before = addr_lines.partition_point(|(i, _)| *i < u.line);
            addr_lines[..before]
                .iter()
                .rev()
                .take_while(|(i, _)| u.line - *i <= 15)
                .find(|(_, a)| !senders.contains(&a.to_ascii_lowercase()))
                .map(|(_, a)| a.clone())
        });
        let remote = servers
            .remote
            .iter()
            .find(|(_, _, l)| *l == u.line || *l + 1 == u.line)
            .and_then(|(h, ip, _)| h.clone().or(ip.map(|i| i.to_string())));
        let diag = Some(clean_diagnostic(&u.text)).filter(|d| !d.is_empty());
        match address {
            Some(a) => {
                let k = Some(a.to_ascii_lowercase());
                let full = found.len() >= MAX_UNITS;
                match found.iter_mut().find(|f| key(&f.address) == k) {
                    Some(f) => fill(f, u, diag, remote),
                    None if full => {}
                    None => found.push(Found {
                        address: Some(a),
                        reply: u.reply,
                        status: u.status,
                        diagnostic: diag,
                        action: None,
                        remote,
                    }),
                }
            }
            None => orphan_units.push((u.clone(), diag, remote)),
        }
    }
    for (u, diag, remote) in orphan_units {
        let mut used = false;
        for f in found
            .iter_mut()
            .filter(|f| f.reply.is_none() && f.status.is_none())
        {
            fill(f, &u, diag.clone(), remote.clone());
            used = true;
        }
        if !used && found.is_empty() {
            found.push(Found {
                address: None,
                reply: u.reply,
                status: u.status,
                diagnostic: diag,
                action: None,
                remote,
            });
        }
    }

    let all_text = format!("{}\n{}", src.subject, human);
    if found.is_empty() && units.is_empty() {
        if !dsn.recipients.is_empty() {
            return Err(BounceError::Success);
        }
        if !has_bounce_wording(&all_text) {
            return Err(BounceError::NotABounce);
        }
    }

    let reporting_server = dsn
        .reporting_mta
        .clone()
        .filter(|h| !h.is_empty())
        .or(servers.reporting.clone())
        .or_else(|| {
            src.bounce_from
                .as_deref()
                .filter(|a| is_daemon(a))
                .and_then(|a| a.rsplit_once('@'))
                .map(|(_, d)| d.to_ascii_lowercase())
        });
    let remote_server = found.iter().find_map(|f| f.remote.clone()).or_else(|| {
        servers
            .remote
            .iter()
            .find_map(|(h, ip, _)| h.clone().or(ip.map(|i| i.to_string())))
    });

    let remote_texts: Vec<String> = dsn
        .recipients
        .iter()
        .filter_map(|r| r.diagnostic.clone())
        .chain(units.iter().map(|u| u.context.clone()))
        .collect();
    let receiver = receiver_of(&[
        &remote_texts.join("\n"),
        remote_server.as_deref().unwrap_or(""),
        reporting_server.as_deref().unwrap_or(""),
        src.bounce_from.as_deref().unwrap_or(""),
        &human,
    ]);

    let mut recipients: Vec<Recipient> = found
        .into_iter()
        .map(|f| {
            let kind = kind_of(f.status, f.reply, f.action.as_deref(), delay_notice);
            Recipient {
                address: f.address,
                reply_code: f.reply,
                status: f.status.map(|s| s.to_string()),
                status_meaning: f
                    .status
                    .map(|s| status::meaning(s, receiver))
                    .or_else(|| f.reply.and_then(status::reply_meaning).map(str::to_string)),
                diagnostic: f.diagnostic,
                kind,
                remote_server: f.remote,
            }
        })
        .collect();
    recipients.dedup_by(|a, b| a.address.is_some() && a.address == b.address);

    let kind = recipients
        .iter()
        .map(|r| r.kind)
        .max()
        .unwrap_or(if delay_notice {
            Kind::Delay
        } else {
            Kind::Permanent
        });

    // What --check would use from the bounce.
    let remote_ips: HashSet<IpAddr> = servers
        .remote
        .iter()
        .filter_map(|(_, ip, _)| *ip)
        .chain(dsn.recipients.iter().filter_map(|r| r.remote_ip))
        .collect();
    let sending_ip = sending_ip(&remote_texts, &remote_ips);
    let (helo, helo_from_reporting_server) = match helo_in(&remote_texts) {
        Some(h) => (Some(h), false),
        // In a report written by the sending side after a remote answered,
        // the reporting server is the host that said EHLO.
        None => match (&reporting_server, &remote_server) {
            (Some(r), Some(rem)) if r != rem && looks_like_own_host(r) => (Some(r.clone()), true),
            _ => (None, false),
        },
    };

    let blocklists = blocklists_in(&remote_texts);

    let evidence = Evidence {
        codes: recipients
            .iter()
            .map(|r| {
                (
                    r.status.as_deref().and_then(StatusCode::parse),
                    r.reply_code,
                    r.kind,
                )
            })
            .collect(),
        remote_texts: remote_texts.iter().map(|t| t.as_str()).collect(),
        boilerplate: boilerplate(&all_text),
        receiver,
        kind,
    };
    let causes = causes::rank(&evidence);

    Ok(Bounce {
        kind,
        reporting_server,
        remote_server,
        recipients,
        causes,
        sender,
        envelope_sender,
        sending_ip,
        helo,
        blocklists,
        helo_from_reporting_server,
    })
}

/// DNSBL zones a reply names: "blocked using zen.spamhaus.org", "listed on
/// bl.spamcop.net" (not the lists' web sites in URLs).
fn blocklists_in(remote_texts: &[String]) -> Vec<String> {
    let known = regex!(
        r"(?i)\b((?:[a-z0-9-]+\.)*(?:zen|sbl|xbl|pbl|sbl-xbl|dbl)\.spamhaus\.org|bl\.spamcop\.net|b\.barracudacentral\.org|(?:[a-z0-9-]+\.)*sorbs\.net|bl\.mailspike\.net|dnsbl-[0-9]\.uceprotect\.net|psbl\.surriel\.com|cbl\.abuseat\.org|(?:[a-z0-9-]+\.)*abusix\.zone|bl\.spameatingmonkey\.net|multi\.uribl\.com|multi\.surbl\.org)\b"
    );
    let using = regex!(
        r"(?i)\b(?:blocked using|listed (?:on|in|at|by))\s+([a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,})"
    );
    let mut out: Vec<String> = Vec::new();
    for t in remote_texts {
        let t = regex!(r"(?i)https?://\S+").replace_all(t, " ");
        for c in known.captures_iter(&t).chain(using.captures_iter(&t)) {
            if let Some(m) = c.get(1) {
                let z = m.as_str().trim_end_matches('.').to_ascii_lowercase();
                if !out.contains(&z) && out.len() < 10 {
                    out.push(z);
                }
            }
        }
    }
    out
}

/// A host name of the sender's own (three labels or more, not a big
/// provider's): the one its EHLO would carry.
fn looks_like_own_host(name: &str) -> bool {
    const PROVIDERS: &[&str] = &[
        "google.com",
        "googlemail.com",
        "outlook.com",
        "exchangelabs.com",
        "yahoo.com",
        "yahoodns.net",
        "hotmail.com",
    ];
    name.split('.').count() >= 3
        && !PROVIDERS
            .iter()
            .any(|p| name == *p || name.ends_with(&format!(".{p}")))
}

fn fill(f: &mut Found, u: &Unit, diag: Option<String>, remote: Option<String>) {
    if f.reply.is_none() && f.status.is_none() {
        f.reply = u.reply;
        f.status = u.status;
        f.diagnostic = f.diagnostic.take().or(diag);
    } else {
        // Same reply seen again (text and report): take what the report lacked.
        let same = f.status.is_none() || u.status.is_none() || f.status == u.status;
        if same {
            f.reply = f.reply.or(u.reply);
            f.status = f.status.or(u.status);
            if f.diagnostic.is_none() {
                f.diagnostic = diag;
            }
        }
    }
    if f.remote.is_none() {
        f.remote = remote;
    }
}

fn is_daemon(a: &str) -> bool {
    let local = a.split('@').next().unwrap_or("").to_ascii_lowercase();
    matches!(
        local.as_str(),
        "mailer-daemon"
            | "postmaster"
            | "mail-daemon"
            | "maildaemon"
            | "microsoftexchange329e71ec88ae4615bbc36ab6ce41109e"
    )
}

/// `<a@b>: Sender address rejected` names the sender, not a recipient.
fn sender_context(context: &str, addr: &str) -> bool {
    let lower = context.to_ascii_lowercase();
    let a = addr.to_ascii_lowercase();
    lower.find(&a).is_some_and(|i| {
        let after = &lower[i + a.len()..];
        let after = after.trim_start_matches(['>', ':', ' ', '.']);
        after.starts_with("sender")
            || lower[..i].ends_with("from:<")
            || lower[..i].ends_with("mail from:<")
    })
}

fn kind_of(
    status: Option<StatusCode>,
    reply: Option<u16>,
    action: Option<&str>,
    delay_notice: bool,
) -> Kind {
    let class = status.map(|s| s.class).or(reply.map(|r| (r / 100) as u8));
    match (class, action) {
        (Some(5), _) => Kind::Permanent,
        (_, Some("delayed")) => Kind::Delay,
        (Some(4), Some("failed")) => Kind::Transient,
        (Some(4), _) if delay_notice => Kind::Delay,
        (Some(4), _) => Kind::Transient,
        (_, Some("failed")) => Kind::Permanent,
        _ if delay_notice => Kind::Delay,
        _ => Kind::Permanent,
    }
}

/// The sending IP as the remote server saw it: an address in its reply that
/// is not its own (the IPs of "host X[IP]", "Remote Server at X (IP)").
fn sending_ip(remote_texts: &[String], remote_ips: &HashSet<IpAddr>) -> Option<IpAddr> {
    for t in remote_texts {
        // Drop "endpoint attempted was 203.0.113.25:25" and URLs' hosts.
        let t = regex!(r"(?i)endpoint attempted was \S+|https?://[^/\s]+").replace_all(t, " ");
        for ip in ips_in(&t) {
            if !remote_ips.contains(&ip) {
                return Some(ip);
            }
        }
    }
    None
}

fn helo_in(remote_texts: &[String]) -> Option<String> {
    let pats: [&Regex; 3] = [
        regex!(r"(?i)<([^<>\s]+)>:?\s*helo command rejected"),
        regex!(r"(?i)\(helo[= ]([A-Za-z0-9][A-Za-z0-9.-]*)\)"),
        regex!(
            r#"(?i)\b(?:helo|ehlo)(?: name| hostname| host)?[ :=]+['"<\[]([A-Za-z0-9][A-Za-z0-9.-]*)['">\]]"#
        ),
    ];
    remote_texts.iter().find_map(|t| {
        pats.iter().find_map(|p| {
            p.captures(t)
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().to_string())
        })
    })
}

/// Text the reporting server wrote around the replies, without header-like
/// lines (the quoted Subject: of the user's message must not match a rule).
fn boilerplate(text: &str) -> String {
    text.lines()
        .filter(|l| {
            !regex!(r"^\s*(?:subject|from|to|cc|date|sent|message-id|received|return-path)\s*:")
                .is_match(l)
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_found_where_they_stand() {
        let c = |l: &str| find_code(l).map(|(r, s, _)| (r, s.map(|s| s.to_string())));
        assert_eq!(
            c("#550 5.7.1 <a@b.example>: Recipient address rejected ##"),
            Some((Some(550), Some("5.7.1".into())))
        );
        assert_eq!(
            c("550-5.1.1 The email account"),
            Some((Some(550), Some("5.1.1".into())))
        );
        assert_eq!(
            c("#< #5.1.1 smtp;550 5.1.1 User unknown> #SMTP#"),
            Some((Some(550), Some("5.1.1".into())))
        );
        assert_eq!(c("Status: 4.4.7"), Some((None, Some("4.4.7".into()))));
        assert_eq!(
            c("host mx.example.net[203.0.113.5] said: 554 Go away"),
            Some((Some(554), None))
        );
        assert_eq!(c("We released version 5.1.12.7 today"), None);
        assert_eq!(c("Meeting on 4.4.2024"), None);
        assert_eq!(c("Bring 500 apples"), None);
    }

    #[test]
    fn diagnostics_lose_codes_and_wrappers() {
        assert_eq!(
            clean_diagnostic(
                "550 5.7.1 <user@example.net>: Recipient address rejected: Invalid recipient ##"
            ),
            "Recipient address rejected: Invalid recipient"
        );
        assert_eq!(
            clean_diagnostic("550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking. 550 5.1.1 https://support.google.com/mail/?p=NoSuchUser"),
            "The email account that you tried to reach does not exist. Please try double-checking. https://support.google.com/mail/?p=NoSuchUser"
        );
        assert_eq!(
            clean_diagnostic("550 5.1.1 <u@example.net>... User unknown)"),
            "User unknown"
        );
        assert_eq!(
            clean_diagnostic("400 4.4.7 Message delayed'"),
            "Message delayed"
        );
        assert_eq!(
            clean_diagnostic("5.1.1 smtp;550 5.1.1 User unknown> #SMTP#"),
            "User unknown"
        );
    }

    #[test]
    fn kinds() {
        let s = |x: &str| StatusCode::parse(x);
        assert_eq!(
            kind_of(s("5.1.1"), Some(550), Some("failed"), false),
            Kind::Permanent
        );
        assert_eq!(
            kind_of(s("4.4.7"), Some(400), Some("delayed"), true),
            Kind::Delay
        );
        assert_eq!(
            kind_of(s("4.4.1"), None, Some("failed"), false),
            Kind::Transient
        );
        assert_eq!(kind_of(s("4.2.2"), Some(452), None, false), Kind::Transient);
        assert_eq!(kind_of(None, None, None, true), Kind::Delay);
        assert_eq!(kind_of(None, None, None, false), Kind::Permanent);
    }
}
