//! dnsbl — the sending IPs and the domain are not on major blocklists.
//!
//! Receivers ask DNS blocklists (RFC 5782) about the connecting IP and reject
//! with "554 5.7.1 … blocked using zen.spamhaus.org"; domain lists (Spamhaus
//! DBL, URIBL, SURBL) are asked about the domains in a message. Each IP (and
//! the domain) is asked of every list at once; a listing's return code is
//! read per list (Spamhaus ZEN 127.0.0.2–11, DBL 127.0.1.x, URIBL/SURBL
//! bitmasks, 127.0.0.2 elsewhere) and its TXT reason fetched.
//!
//! Some answers are not listings but refusals: Spamhaus answers
//! 127.255.255.252/254/255 for a mistyped zone, a query through a public
//! resolver, or too many queries; 127.0.1.255 for an IP asked of a domain
//! list; URIBL/SURBL answer 127.0.0.1; a resolver that rewrites NXDOMAIN
//! answers with an address outside 127/8. Those are `error`, never "listed"
//! and never "not listed". So is a list that does not answer, or one that
//! does not list its own RFC 5782 test entry (a mistyped or dead zone answers
//! NXDOMAIN for everything, which would read as "not listed").
//!
//! Codes: dnsbl.ok, dnsbl.offline, dnsbl.no_ip, dnsbl.listed, dnsbl.domain_listed,
//! dnsbl.query_refused, dnsbl.lookup_failed, dnsbl.list_not_working.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use futures::future::join_all;

use crate::dns::{quote_txt, Answer, Dns, Failure, RData, RType};
use crate::{Check, Code, Ctx, Finding};

pub struct DnsblCheck;

#[async_trait::async_trait]
impl Check for DnsblCheck {
    fn id(&self) -> &'static str {
        "dnsbl"
    }

    fn title(&self) -> &'static str {
        "The sending IPs and the domain are not on major blocklists (DNSBL)"
    }

    async fn run(&self, ctx: &Ctx) -> Vec<Finding> {
        let lists = if ctx.options.dnsbl_zones.is_empty() {
            default_lists()
        } else {
            lists_from(&ctx.options.dnsbl_zones)
        };
        check(&ctx.dns, &ctx.target.ips, &ctx.target.domain, &lists).await
    }
}

/// What a list is asked about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ip,
    Domain,
}

/// How a known list's listing codes read.
enum Codes {
    /// One meaning per answer address.
    Table(&'static [(Ipv4Addr, &'static str)]),
    /// The last octet is a bitmask (URIBL, SURBL).
    Bits(&'static [(u8, &'static str)]),
}

/// A list mailpreflight knows the return codes of.
struct Known {
    /// The public zone; `also` are suffixes that are the same list (Spamhaus
    /// Data Query Service zones carry the key as the first label).
    zone: &'static str,
    also: &'static [&'static str],
    name: &'static str,
    kind: Kind,
    ipv6: bool,
    codes: Codes,
    /// A name the list always lists (RFC 5782 §5), relative to the zone.
    test: Option<&'static str>,
    /// Where a listed sender looks itself up and asks for removal.
    lookup: &'static str,
}

const fn v4(d: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, d)
}

const fn dbl(d: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 1, d)
}

const ZEN_CODES: &[(Ipv4Addr, &str)] = &[
    (v4(2), "SBL: a known spam source or spam operation"),
    (v4(3), "SBL CSS: snowshoe spam or low-reputation bulk sending detected from this IP"),
    (v4(4), "XBL: the IP shows signs of a compromised host (malware, botnet, open proxy)"),
    (v4(5), "XBL: the IP shows signs of a compromised host"),
    (v4(6), "XBL: the IP shows signs of a compromised host"),
    (v4(7), "XBL: the IP shows signs of a compromised host"),
    (v4(9), "SBL DROP: a hijacked network or one leased to spammers"),
    (v4(10), "PBL (ISP-maintained): end-user address space that should not send mail straight to MX hosts"),
    (v4(11), "PBL (Spamhaus-maintained): end-user address space that should not send mail straight to MX hosts"),
];

const DBL_CODES: &[(Ipv4Addr, &str)] = &[
    (dbl(2), "spam domain"),
    (dbl(4), "phishing domain"),
    (dbl(5), "malware domain"),
    (dbl(6), "botnet command-and-control domain"),
    (dbl(102), "abused legitimate domain used in spam"),
    (
        dbl(103),
        "abused legitimate domain used as a spammed redirector",
    ),
    (dbl(104), "abused legitimate domain used in phishing"),
    (dbl(105), "abused legitimate domain used for malware"),
    (
        dbl(106),
        "abused legitimate domain used for botnet command and control",
    ),
];

const KNOWN: &[Known] = &[
    Known {
        zone: "zen.spamhaus.org",
        also: &[".zen.dq.spamhaus.net"],
        name: "Spamhaus ZEN",
        kind: Kind::Ip,
        ipv6: true,
        codes: Codes::Table(ZEN_CODES),
        test: Some("2.0.0.127"),
        lookup: "https://check.spamhaus.org/",
    },
    Known {
        zone: "b.barracudacentral.org",
        also: &[],
        name: "Barracuda Reputation Block List",
        kind: Kind::Ip,
        ipv6: false,
        codes: Codes::Table(&[(v4(2), "poor sending reputation observed by Barracuda")]),
        test: Some("2.0.0.127"),
        lookup: "https://www.barracudacentral.org/lookups",
    },
    Known {
        zone: "bl.spamcop.net",
        also: &[],
        name: "SpamCop",
        kind: Kind::Ip,
        ipv6: false,
        codes: Codes::Table(&[(v4(2), "reported by SpamCop users in the last days (listings expire by themselves about 24 hours after reports stop)")]),
        test: Some("2.0.0.127"),
        lookup: "https://www.spamcop.net/bl.shtml",
    },
    Known {
        zone: "psbl.surriel.com",
        also: &[],
        name: "Passive Spam Block List",
        kind: Kind::Ip,
        ipv6: false,
        codes: Codes::Table(&[(v4(2), "sent mail to PSBL spam traps")]),
        test: Some("2.0.0.127"),
        lookup: "https://psbl.org/",
    },
    Known {
        zone: "ix.dnsbl.manitu.net",
        also: &[],
        name: "NiX Spam",
        kind: Kind::Ip,
        ipv6: false,
        codes: Codes::Table(&[(v4(2), "sent mail to NiX Spam traps")]),
        test: Some("2.0.0.127"),
        lookup: "https://www.dnsbl.manitu.net/",
    },
    Known {
        zone: "dbl.spamhaus.org",
        also: &[".dbl.dq.spamhaus.net"],
        name: "Spamhaus DBL",
        kind: Kind::Domain,
        ipv6: false,
        codes: Codes::Table(DBL_CODES),
        test: Some("dbltest.com"),
        lookup: "https://check.spamhaus.org/",
    },
    Known {
        zone: "multi.uribl.com",
        also: &[],
        name: "URIBL",
        kind: Kind::Domain,
        ipv6: false,
        codes: Codes::Bits(&[
            (2, "black: seen in spam, actively abused"),
            (4, "grey: bulk senders, may be legitimate"),
            (8, "red: newly seen in spam"),
        ]),
        test: None,
        lookup: "https://admin.uribl.com/",
    },
    Known {
        zone: "multi.surbl.org",
        also: &[],
        name: "SURBL",
        kind: Kind::Domain,
        ipv6: false,
        codes: Codes::Bits(&[
            (8, "PH: phishing"),
            (16, "MW: malware"),
            (64, "ABUSE: spam and other abuse"),
            (128, "CR: cracked (compromised) site"),
        ]),
        test: None,
        lookup: "https://www.surbl.org/surbl-analysis",
    },
];

/// The lists asked when `--dnsbl` is not given: the ones large receivers
/// use, with IP lists first.
const DEFAULT_ZONES: &[&str] = &[
    "zen.spamhaus.org",
    "b.barracudacentral.org",
    "bl.spamcop.net",
    "psbl.surriel.com",
    "ix.dnsbl.manitu.net",
    "dbl.spamhaus.org",
    "multi.uribl.com",
    "multi.surbl.org",
];

/// One blocklist to ask.
#[derive(Clone)]
pub struct List {
    /// Lower case, no trailing dot.
    pub zone: String,
    pub kind: Kind,
    known: Option<&'static Known>,
}

impl List {
    /// A zone by name: a known list keeps its kind and codes; `domain:ZONE`
    /// makes an unknown zone a domain list, `ip:ZONE` an IP list.
    pub fn parse(spec: &str) -> List {
        let spec = spec.trim();
        let (forced, zone) = if let Some(z) = spec.strip_prefix("domain:") {
            (Some(Kind::Domain), z)
        } else if let Some(z) = spec.strip_prefix("ip:") {
            (Some(Kind::Ip), z)
        } else {
            (None, spec)
        };
        let zone = crate::dns::normalize(zone);
        let known = KNOWN
            .iter()
            .find(|k| zone == k.zone || k.also.iter().any(|s| zone.ends_with(s)));
        List {
            kind: forced.or(known.map(|k| k.kind)).unwrap_or(Kind::Ip),
            known,
            zone,
        }
    }

    /// The list's own name, or its zone.
    pub fn name(&self) -> &str {
        self.known.map(|k| k.name).unwrap_or(&self.zone)
    }

    /// Whether the list holds IPv6 data. Unknown lists are asked: RFC 5782
    /// §2.4 defines the form, and a list without v6 data answers NXDOMAIN.
    fn ipv6(&self) -> bool {
        self.known.is_none_or(|k| k.ipv6)
    }

    /// The test entry's query name, when the list is known to keep one.
    fn test_name(&self) -> Option<String> {
        match self.known {
            Some(k) => k.test.map(|t| format!("{t}.{}", self.zone)),
            // RFC 5782 §5 requires 127.0.0.2 of every IPv4 list.
            None if self.kind == Kind::Ip => Some(format!("2.0.0.127.{}", self.zone)),
            None => None,
        }
    }

    /// What a listing code means on this list.
    fn meaning(&self, code: Ipv4Addr) -> String {
        let unknown = || {
            format!("{code} (a listing; its meaning on this list is not known to mailpreflight)")
        };
        match self.known.map(|k| &k.codes) {
            Some(Codes::Table(t)) => t
                .iter()
                .find(|(c, _)| *c == code)
                .map(|(c, m)| format!("{c} {m}"))
                .unwrap_or_else(unknown),
            Some(Codes::Bits(bits)) => {
                let last = code.octets()[3];
                let parts: Vec<&str> = bits
                    .iter()
                    .filter(|(b, _)| last & b != 0)
                    .map(|(_, m)| *m)
                    .collect();
                if parts.is_empty() {
                    unknown()
                } else {
                    format!("{code} {}", parts.join("; "))
                }
            }
            None => unknown(),
        }
    }

    fn fix(&self, subject: &str, codes: &[Ipv4Addr]) -> String {
        let lookup = self
            .known
            .map(|k| format!("look {subject} up at {}", k.lookup))
            .unwrap_or_else(|| format!("look {subject} up on the website of {}", self.zone));
        let pbl = self.known.is_some_and(|k| k.zone == "zen.spamhaus.org")
            && codes.iter().any(|c| *c == v4(10) || *c == v4(11));
        if pbl {
            return format!(
                "The PBL is not a spam listing: it says {subject} is end-user address space. Send through your provider's or ESP's relay; if this is a real mail server on a static IP with a proper PTR, {lookup} and remove it from the PBL (or ask the ISP to)."
            );
        }
        match self.kind {
            Kind::Ip => format!(
                "Find and stop the cause (a compromised machine, an open relay or proxy, mail to bad lists), then {lookup} and request removal; receivers that use {} reject mail from {subject} until then.",
                self.zone
            ),
            Kind::Domain => format!(
                "Find why {subject} is listed (spam or phishing advertising it, a compromised website), fix it, then {lookup} and request removal."
            ),
        }
    }
}

/// The default lists.
pub fn default_lists() -> Vec<List> {
    DEFAULT_ZONES.iter().map(|z| List::parse(z)).collect()
}

/// The lists for `--dnsbl` values, duplicates dropped.
pub fn lists_from(zones: &[String]) -> Vec<List> {
    let mut out: Vec<List> = Vec::new();
    for z in zones {
        let l = List::parse(z);
        if !l.zone.is_empty() && !out.iter().any(|o| o.zone == l.zone) {
            out.push(l);
        }
    }
    out
}

/// Why an answer is a refusal rather than a listing, and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Refusal {
    code: Ipv4Addr,
    why: &'static str,
    todo: &'static str,
}

const OWN_RESOLVER: &str = "Query through your own recursive resolver (e.g. a local unbound; --resolver 127.0.0.1) instead of a public one, or use a Spamhaus Data Query Service key (--dnsbl KEY.zen.dq.spamhaus.net).";

/// The refusal an answer address stands for, if it is one.
fn refusal(code: Ipv4Addr) -> Option<Refusal> {
    let o = code.octets();
    let (why, todo) = match o {
        [127, 255, 255, 252] => (
            "typing error in the blocklist's zone name",
            "Check the --dnsbl spelling (zen.spamhaus.org, dbl.spamhaus.org, or KEY.zen.dq.spamhaus.net with a valid key).",
        ),
        [127, 255, 255, 254] => (
            "the query came through a public or open resolver, which Spamhaus refuses",
            OWN_RESOLVER,
        ),
        [127, 255, 255, 255] => (
            "too many queries from this resolver (over the free-use limit)",
            OWN_RESOLVER,
        ),
        [127, 255, 255, _] => ("an answer in the refusal range 127.255.255.0/24", OWN_RESOLVER),
        [127, 0, 1, 255] => (
            "an IP address was asked of a domain-only list",
            "Ask this zone about domains only: give it as --dnsbl domain:ZONE.",
        ),
        [127, 0, 0, 1] => (
            "127.0.0.1 is never a listing (RFC 5782 §5); URIBL and SURBL answer it to refuse queries from public resolvers and heavy users",
            "Query through your own recursive resolver (--resolver) instead of a public one, or register for the list's data feed.",
        ),
        [127, ..] => return None,
        _ => (
            "an answer outside 127.0.0.0/8: the resolver rewrites NXDOMAIN answers (ad or 'search assist' redirection)",
            "Use a resolver that does not rewrite NXDOMAIN (--resolver): through this one no blocklist can be read.",
        ),
    };
    Some(Refusal { code, why, todo })
}

/// What one answer of one list says about one name.
#[derive(Debug, Clone)]
enum Outcome {
    Clean,
    Listed(Vec<Ipv4Addr>),
    Refused(Refusal),
    Failed(Failure),
}

fn classify(answer: &Answer) -> Outcome {
    match answer {
        Answer::NxDomain | Answer::NoData(_) => Outcome::Clean,
        Answer::Failed(f) => Outcome::Failed(f.clone()),
        Answer::Records(_) => {
            let codes: Vec<Ipv4Addr> = answer
                .data()
                .filter_map(|d| match d {
                    RData::A(a) => Some(*a),
                    _ => None,
                })
                .collect();
            // Any refusal among the answers spoils the rest: the resolver
            // path is not one the list serves honestly.
            if let Some(r) = codes.iter().find_map(|c| refusal(*c)) {
                return Outcome::Refused(r);
            }
            if codes.is_empty() {
                Outcome::Clean
            } else {
                Outcome::Listed(codes)
            }
        }
    }
}

/// The query name for an IP on a list (RFC 5782 §2.1, §2.4).
pub fn ip_query(ip: IpAddr, zone: &str) -> String {
    match ip {
        IpAddr::V4(v) => {
            let o = v.octets();
            format!("{}.{}.{}.{}.{zone}", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v) => {
            let mut s = String::with_capacity(64 + zone.len());
            for b in v.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", b & 0xf, b >> 4));
            }
            s.push_str(zone);
            s
        }
    }
}

/// One question: a subject (IP or domain) or the list's test entry.
struct Ask<'a> {
    list: &'a List,
    /// None for the test entry.
    subject: Option<String>,
    qname: String,
}

struct Asked<'a> {
    ask: Ask<'a>,
    answer: Answer,
    outcome: Outcome,
}

/// Asks every list about every IP and the domain at once, and judges.
pub async fn check(dns: &Dns, ips: &[IpAddr], domain: &str, lists: &[List]) -> Vec<Finding> {
    let mut asks = Vec::new();
    let mut v6_unsupported: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for list in lists {
        let before = asks.len();
        match list.kind {
            Kind::Ip => {
                for ip in ips {
                    if ip.is_ipv6() && !list.ipv6() {
                        v6_unsupported
                            .entry(ip.to_string())
                            .or_default()
                            .push(&list.zone);
                        continue;
                    }
                    asks.push(Ask {
                        list,
                        subject: Some(ip.to_string()),
                        qname: ip_query(*ip, &list.zone),
                    });
                }
            }
            Kind::Domain if !domain.is_empty() => asks.push(Ask {
                list,
                subject: Some(crate::dns::normalize(domain)),
                qname: format!("{}.{}", crate::dns::normalize(domain), list.zone),
            }),
            Kind::Domain => {}
        }
        // The test entry only for a list that is asked something.
        if asks.len() > before {
            if let Some(t) = list.test_name() {
                asks.push(Ask {
                    list,
                    subject: None,
                    qname: t,
                });
            }
        }
    }
    let answers = join_all(asks.iter().map(|a| dns.query(&a.qname, RType::A))).await;
    let asked: Vec<Asked> = asks
        .into_iter()
        .zip(answers)
        .map(|(ask, answer)| Asked {
            outcome: classify(&answer),
            ask,
            answer,
        })
        .collect();

    // Second round, only for listings: the TXT reason.
    let listed: Vec<&Asked> = asked
        .iter()
        .filter(|a| a.ask.subject.is_some() && matches!(a.outcome, Outcome::Listed(_)))
        .collect();
    let reasons = join_all(listed.iter().map(|a| dns.query(&a.ask.qname, RType::Txt))).await;

    let mut out = Vec::new();
    for (a, txt) in listed.iter().zip(reasons) {
        out.push(listing(a, &txt));
    }

    // Subjects each list answered "not listed" for, with the answers.
    let mut clean: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut clean_evidence = Vec::new();
    // Lists not asked at all: --offline and no --zone covers them.
    let mut offline: Vec<String> = Vec::new();
    for list in lists {
        let mine: Vec<&Asked> = asked
            .iter()
            .filter(|a| a.ask.list.zone == list.zone)
            .collect();
        let mut evidence = Vec::new();
        for a in &mine {
            evidence.extend(a.answer.evidence(&a.ask.qname, RType::A));
        }
        if !mine.is_empty()
            && mine
                .iter()
                .all(|a| matches!(a.outcome, Outcome::Failed(Failure::Offline)))
        {
            offline.push(list.zone.clone());
            continue;
        }
        // The subjects an outcome applies to, the test entry named last.
        let subjects = |pred: &dyn Fn(&Outcome) -> bool| -> Vec<String> {
            let hit: Vec<&&Asked> = mine.iter().filter(|a| pred(&a.outcome)).collect();
            let mut v: Vec<String> = hit.iter().filter_map(|a| a.ask.subject.clone()).collect();
            if hit.iter().any(|a| a.ask.subject.is_none()) {
                v.push("its test entry".into());
            }
            v
        };
        if let Some(r) = mine.iter().find_map(|a| match &a.outcome {
            Outcome::Refused(r) => Some(r.clone()),
            _ => None,
        }) {
            let who = subjects(&|o| matches!(o, Outcome::Refused(_)));
            out.push(
                Finding::new(
                    Code::DnsblQueryRefused,
                    format!(
                        "{} ({}) answered {}, which means {}: whether {} is listed is unknown",
                        list.zone,
                        list.name(),
                        r.code,
                        r.why,
                        who.join(", ")
                    ),
                )
                .evidence(evidence.clone())
                .fix(r.todo),
            );
        }
        if let Some(f) = mine.iter().find_map(|a| match &a.outcome {
            Outcome::Failed(f) => Some(f.clone()),
            _ => None,
        }) {
            let who = subjects(&|o| matches!(o, Outcome::Failed(_)));
            out.push(
                Finding::new(
                    Code::DnsblLookupFailed,
                    format!(
                        "{} ({}) could not be asked about {}: {f}",
                        list.zone,
                        list.name(),
                        who.join(", ")
                    ),
                )
                .evidence(evidence.clone()),
            );
        }
        let test = mine.iter().find(|a| a.ask.subject.is_none());
        if let Some(t) = test {
            if matches!(t.outcome, Outcome::Clean) {
                out.push(
                    Finding::new(
                        Code::DnsblListNotWorking,
                        format!(
                            "{} does not list its own test entry {}: the zone name is wrong, the list is gone, or this resolver cannot reach it, so its 'not listed' answers mean nothing",
                            list.zone,
                            crate::dns::fqdn(&t.ask.qname)
                        ),
                    )
                    .evidence(t.answer.evidence(&t.ask.qname, RType::A))
                    .fix(format!(
                        "Check the spelling of {} (--dnsbl) and that the list is still operated; drop it from --dnsbl if it is not.",
                        list.zone
                    )),
                );
                continue;
            }
            if !matches!(t.outcome, Outcome::Listed(_)) {
                // Refused or failed: already reported.
                continue;
            }
        }
        for a in mine.iter().filter(|a| matches!(a.outcome, Outcome::Clean)) {
            if let Some(subject) = &a.ask.subject {
                clean
                    .entry(subject.clone())
                    .or_default()
                    .push(list.zone.clone());
                clean_evidence.extend(a.answer.evidence(&a.ask.qname, RType::A));
            }
        }
    }

    let any_listed = out
        .iter()
        .any(|f| matches!(f.code, Code::DnsblListed | Code::DnsblDomainListed));
    if !clean.is_empty() && !any_listed {
        // One pass finding: each subject and the lists that answered clean.
        let mut parts: Vec<String> = clean
            .iter()
            .map(|(s, zones)| format!("{s} is not listed on {}", zones.join(", ")))
            .collect();
        if !v6_unsupported.is_empty() {
            let notes: Vec<String> = v6_unsupported
                .iter()
                .map(|(ip, zones)| {
                    format!("{ip} not asked of {} (IPv4-only lists)", zones.join(", "))
                })
                .collect();
            parts.push(notes.join("; "));
        }
        out.push(Finding::new(Code::DnsblOk, parts.join("; ")).evidence(clean_evidence));
    }
    if !offline.is_empty() {
        out.push(Finding::new(
            Code::DnsblOffline,
            format!(
                "offline: these blocklists were not asked (no --zone covers them): {}",
                offline.join(", ")
            ),
        ));
    }
    if ips.is_empty() && lists.iter().any(|l| l.kind == Kind::Ip) {
        out.push(Finding::new(
            Code::DnsblNoIp,
            "no sending IP given (--ip): the IP blocklists were not asked; only the domain was checked",
        ));
    }
    out
}

fn listing(a: &Asked, txt: &Answer) -> Finding {
    let list = a.ask.list;
    let subject = a.ask.subject.clone().unwrap_or_default();
    let codes = match &a.outcome {
        Outcome::Listed(c) => c.clone(),
        _ => Vec::new(),
    };
    let meanings: Vec<String> = codes.iter().map(|c| list.meaning(*c)).collect();
    let reason = match txt {
        Answer::Records(_) => {
            let parts: Vec<String> = txt
                .records()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::Txt(p) => {
                        Some(p.iter().map(|s| quote_txt(s)).collect::<Vec<_>>().join(" "))
                    }
                    _ => None,
                })
                .collect();
            format!("; reason: {}", clip(&parts.join(" "), 300))
        }
        Answer::NxDomain | Answer::NoData(_) => "; the list gives no TXT reason".to_string(),
        Answer::Failed(f) => format!("; its TXT reason could not be fetched ({f})"),
    };
    let code = match list.kind {
        Kind::Ip => Code::DnsblListed,
        Kind::Domain => Code::DnsblDomainListed,
    };
    let mut evidence = a.answer.evidence(&a.ask.qname, RType::A);
    evidence.extend(txt.evidence(&a.ask.qname, RType::Txt));
    Finding::new(
        code,
        format!(
            "{subject} is listed on {} ({}): {}{reason}",
            list.zone,
            list.name(),
            meanings.join(", ")
        ),
    )
    .evidence(evidence)
    .fix(list.fix(&subject, &codes))
}

/// At most `max` characters, with an ellipsis when cut.
fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut c: String = s.chars().take(max).collect();
        c.push('…');
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_names() {
        assert_eq!(
            ip_query("192.0.2.99".parse().unwrap(), "zen.spamhaus.org"),
            "99.2.0.192.zen.spamhaus.org"
        );
        let v6 = ip_query("2001:db8::1".parse().unwrap(), "zen.spamhaus.org");
        assert!(v6.starts_with("1.0.0.0.0.0.0.0."), "{v6}");
        assert!(v6.ends_with(".8.b.d.0.1.0.0.2.zen.spamhaus.org"), "{v6}");
        assert_eq!(v6.split('.').count(), 32 + 3);
    }

    #[test]
    fn refusals_are_not_listings() {
        for c in [
            "127.255.255.252",
            "127.255.255.254",
            "127.255.255.255",
            "127.0.1.255",
            "127.0.0.1",
            "198.51.100.7",
        ] {
            assert!(refusal(c.parse().unwrap()).is_some(), "{c}");
        }
        for c in ["127.0.0.2", "127.0.0.10", "127.0.1.2"] {
            assert!(refusal(c.parse().unwrap()).is_none(), "{c}");
        }
    }

    #[test]
    fn meanings_per_list() {
        let zen = List::parse("zen.spamhaus.org");
        assert!(zen.meaning(v4(4)).contains("XBL"));
        assert!(zen.meaning(v4(10)).contains("PBL"));
        assert!(zen.meaning(v4(99)).contains("not known"));
        let dqs = List::parse("abcdef123.zen.dq.spamhaus.net");
        assert_eq!(dqs.name(), "Spamhaus ZEN");
        let uribl = List::parse("multi.uribl.com");
        assert_eq!(uribl.kind, Kind::Domain);
        let m = uribl.meaning(Ipv4Addr::new(127, 0, 0, 6));
        assert!(
            m.contains("black") && m.contains("grey") && !m.contains("red"),
            "{m}"
        );
        assert_eq!(List::parse("domain:dbl.example.test").kind, Kind::Domain);
        assert_eq!(List::parse("bl.example.test").kind, Kind::Ip);
        assert_eq!(
            List::parse("bl.example.test").test_name().as_deref(),
            Some("2.0.0.127.bl.example.test")
        );
        assert!(zen
            .fix("192.0.2.1", &[v4(10)])
            .contains("not a spam listing"));
    }

    #[test]
    fn defaults_are_known_and_unique() {
        let d = default_lists();
        assert_eq!(d.len(), DEFAULT_ZONES.len());
        assert!(d.iter().all(|l| l.known.is_some()));
        assert_eq!(
            lists_from(&["zen.spamhaus.org".into(), "ZEN.spamhaus.org.".into()]).len(),
            1
        );
    }
}
