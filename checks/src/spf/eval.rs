//! `check_host()` (RFC 7208 §4) over the shared DNS cache, with a trace.
//!
//! Two phases: [`Evaluator::prefetch`] walks the include/redirect tree
//! breadth-first, each level's lookups in parallel, filling the shared cache;
//! then [`Evaluator::check`] evaluates term by term in the RFC's order over
//! the cached answers, counting lookups and void lookups exactly as the RFC
//! does (only what evaluation reaches counts), and tracing every step.

use std::collections::HashSet;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use futures::future::join_all;
use ipnet::IpNet;

use super::macros::{expand, expand_domain, MacroEnv};
use super::parse::{
    is_spf_record, parse_macro_string, parse_record, shown, MacroString, Mechanism, Record,
    TermKind,
};
use super::{SpfResult, TraceLine};
use crate::dns::{normalize, reverse_name, Answer, Dns, Failure, RData, RType};

/// DNS-querying terms per check_host() (§4.6.4).
pub const MAX_LOOKUPS: u32 = 10;
/// Lookups that find nothing, per check_host() (§4.6.4).
pub const MAX_VOID_LOOKUPS: u32 = 2;
/// MX hosts or PTR names one term may look up (§4.6.4).
pub const MAX_NAMES: usize = 10;
/// Trace lines kept; a record with thousands of terms still ends in a
/// readable trace.
const MAX_TRACE: usize = 1000;
/// Queries the prefetch may send: the evaluation itself can reach at most 10
/// terms, each with at most 10 address lookups.
const MAX_PREFETCH: usize = 200;
/// Levels the prefetch walks: a chain longer than the lookup limit cannot be
/// evaluated anyway.
const MAX_PREFETCH_ROUNDS: u32 = MAX_LOOKUPS + 2;

/// How one check_host() (or one nested one) ended.
#[derive(Debug, Clone)]
pub(super) struct Verdict {
    pub result: SpfResult,
    /// The term that decided, as written, and the domain whose record has it.
    pub term: Option<(String, String)>,
    pub explanation: Option<String>,
    pub reason: Option<String>,
}

impl Verdict {
    fn new(result: SpfResult, reason: impl Into<String>) -> Verdict {
        Verdict {
            result,
            term: None,
            explanation: None,
            reason: Some(reason.into()),
        }
    }

    fn at(mut self, term: &str, domain: &str) -> Verdict {
        self.term = Some((term.to_string(), domain.to_string()));
        self
    }
}

/// What a mechanism came to.
enum Outcome {
    Match(String),
    NoMatch(String),
    /// Evaluation stops (temperror / permerror), with this verdict.
    Stop(Verdict),
}

pub(super) struct Evaluator<'a> {
    dns: &'a Dns,
    pub ip: IpAddr,
    pub sender: String,
    local: String,
    sender_domain: String,
    pub helo: String,
    pub lookups: u32,
    pub voids: u32,
    pub trace: Vec<TraceLine>,
    trace_dropped: usize,
    /// Validated PTR names of the IP, worked out once for `%{p}`.
    validated: Option<Vec<String>>,
}

type Boxed<'s, T> = Pin<Box<dyn Future<Output = T> + Send + 's>>;

impl<'a> Evaluator<'a> {
    /// `sender` empty means the null reverse-path: `postmaster@HELO` (§2.4).
    pub fn new(dns: &'a Dns, ip: IpAddr, sender: &str, helo: &str) -> Evaluator<'a> {
        let ip = canonical(ip);
        let helo = helo.trim_end_matches('.').to_string();
        let (sender, local, sender_domain) = if sender.is_empty() {
            (
                format!("postmaster@{helo}"),
                "postmaster".to_string(),
                helo.clone(),
            )
        } else {
            match sender.rsplit_once('@') {
                // A sender without a local part gets "postmaster" (§4.3).
                Some(("", d)) => (
                    format!("postmaster@{d}"),
                    "postmaster".to_string(),
                    d.to_string(),
                ),
                Some((l, d)) => (sender.to_string(), l.to_string(), d.to_string()),
                None => (
                    format!("postmaster@{sender}"),
                    "postmaster".to_string(),
                    sender.to_string(),
                ),
            }
        };
        Evaluator {
            dns,
            ip,
            sender,
            local,
            sender_domain: sender_domain.trim_end_matches('.').to_string(),
            helo,
            lookups: 0,
            voids: 0,
            trace: Vec::new(),
            trace_dropped: 0,
            validated: None,
        }
    }

    pub fn trace_dropped(&self) -> usize {
        self.trace_dropped
    }

    fn note(&mut self, depth: u32, text: impl Into<String>) {
        if self.trace.len() < MAX_TRACE {
            self.trace.push(TraceLine {
                depth,
                text: text.into(),
            });
        } else {
            self.trace_dropped += 1;
        }
    }

    fn env<'s>(&'s self, domain: &'s str, validated: Option<&'s str>) -> MacroEnv<'s> {
        MacroEnv {
            sender: &self.sender,
            local: &self.local,
            sender_domain: &self.sender_domain,
            domain,
            ip: self.ip,
            helo: &self.helo,
            validated,
        }
    }

    fn addr_type(&self) -> RType {
        match self.ip {
            IpAddr::V4(_) => RType::A,
            IpAddr::V6(_) => RType::Aaaa,
        }
    }

    /// Fetches the tree breadth-first into the shared cache; returns the
    /// number of rounds (levels of parallel queries) it took.
    pub async fn prefetch(&self, domain: &str) -> u32 {
        #[derive(Clone, Copy)]
        enum Then {
            Record,
            MxHosts,
            PtrNames,
            Nothing,
        }
        let addr = self.addr_type();
        let mut seen: HashSet<(String, RType)> = HashSet::new();
        let mut level = vec![(normalize(domain), RType::Txt, Then::Record)];
        seen.insert((normalize(domain), RType::Txt));
        let mut sent = 0usize;
        let mut rounds = 0;
        while !level.is_empty() && rounds < MAX_PREFETCH_ROUNDS && sent < MAX_PREFETCH {
            rounds += 1;
            level.truncate(MAX_PREFETCH - sent);
            sent += level.len();
            let answers = join_all(level.iter().map(|(n, t, _)| self.dns.query(n, *t))).await;
            let mut next = Vec::new();
            for ((name, _, then), answer) in level.iter().zip(answers) {
                match then {
                    Then::Record => {
                        let spf: Vec<String> = answer
                            .txts()
                            .into_iter()
                            .filter(|t| is_spf_record(t))
                            .collect();
                        let [text] = spf.as_slice() else { continue };
                        let Ok(record) = parse_record(text) else {
                            continue;
                        };
                        for term in record
                            .terms
                            .iter()
                            .filter(|t| t.queries_dns())
                            .take(MAX_LOOKUPS as usize)
                        {
                            let target = |ms: Option<&MacroString>| match ms {
                                None => Some(name.clone()),
                                Some(ms) if ms.uses_p() => None,
                                Some(ms) => Some(expand_domain(ms, &self.env(name, None))),
                            };
                            let q = match &term.kind {
                                TermKind::Redirect(ms) => {
                                    target(Some(ms)).map(|t| (t, RType::Txt, Then::Record))
                                }
                                TermKind::Directive { mechanism, .. } => match mechanism {
                                    Mechanism::Include(ms) => {
                                        target(Some(ms)).map(|t| (t, RType::Txt, Then::Record))
                                    }
                                    Mechanism::A { domain, .. } => {
                                        target(domain.as_ref()).map(|t| (t, addr, Then::Nothing))
                                    }
                                    Mechanism::Mx { domain, .. } => target(domain.as_ref())
                                        .map(|t| (t, RType::Mx, Then::MxHosts)),
                                    Mechanism::Exists(ms) => {
                                        target(Some(ms)).map(|t| (t, RType::A, Then::Nothing))
                                    }
                                    Mechanism::Ptr(_) => {
                                        Some((reverse_name(self.ip), RType::Ptr, Then::PtrNames))
                                    }
                                    _ => None,
                                },
                                _ => None,
                            };
                            next.extend(q);
                        }
                    }
                    Then::MxHosts => {
                        for (_, host) in answer.mxs().into_iter().take(MAX_NAMES) {
                            if host != "." {
                                next.push((host, addr, Then::Nothing));
                            }
                        }
                    }
                    Then::PtrNames => {
                        for n in answer.names().into_iter().take(MAX_NAMES) {
                            next.push((n, addr, Then::Nothing));
                        }
                    }
                    Then::Nothing => {}
                }
            }
            next.retain(|(n, t, _)| seen.insert((normalize(n), *t)));
            level = next;
        }
        rounds
    }

    /// check_host() for `domain` at include/redirect depth `depth`. Only the
    /// top level and the redirects it follows compute an explanation.
    pub fn check<'s>(
        &'s mut self,
        domain: String,
        depth: u32,
        want_exp: bool,
    ) -> Boxed<'s, Verdict> {
        Box::pin(async move {
            let domain = domain.trim_end_matches('.').to_string();
            if let Err(why) = valid_domain(&domain) {
                self.note(depth, format!("{}: {why} → none", shown(&domain)));
                return Verdict::new(
                    SpfResult::None,
                    format!("{} is not a usable domain: {why}", shown(&domain)),
                );
            }
            let answer = self.dns.query(&domain, RType::Txt).await;
            let records: Vec<_> = match &answer {
                Answer::Failed(Failure::InvalidName(why)) => {
                    self.note(depth, format!("{domain}: {why} → none"));
                    return Verdict::new(
                        SpfResult::None,
                        format!("{domain} cannot be looked up: {why}"),
                    );
                }
                Answer::Failed(f) => {
                    self.note(depth, format!("{domain}. TXT: {f} → temperror"));
                    return Verdict::new(
                        SpfResult::TempError,
                        format!("the TXT lookup for {domain} failed: {f}"),
                    );
                }
                Answer::NxDomain => {
                    self.note(
                        depth,
                        format!("{domain}. TXT: no such name (NXDOMAIN) → none"),
                    );
                    return Verdict::new(
                        SpfResult::None,
                        format!("{domain} does not exist (NXDOMAIN)"),
                    );
                }
                other => other
                    .records()
                    .iter()
                    .filter(|r| r.txt().is_some_and(|t| is_spf_record(&t)))
                    .cloned()
                    .collect(),
            };
            for c in answer
                .records()
                .iter()
                .filter(|r| matches!(r.data, RData::Cname(_)))
            {
                self.note(depth, c.to_zone());
            }
            match records.len() {
                0 => {
                    let others = answer
                        .records()
                        .iter()
                        .filter(|r| matches!(r.data, RData::Txt(_)))
                        .count();
                    let what = if others == 0 {
                        "no TXT records".to_string()
                    } else {
                        format!("{others} TXT record(s), none of them v=spf1")
                    };
                    self.note(depth, format!("{domain}. TXT: {what} → none"));
                    return Verdict::new(
                        SpfResult::None,
                        format!("{domain} has no SPF record ({what})"),
                    );
                }
                1 => {}
                n => {
                    for r in &records {
                        self.note(depth, r.to_zone());
                    }
                    self.note(depth, format!("{n} SPF records at {domain} → permerror"));
                    return Verdict::new(
                        SpfResult::PermError,
                        format!("{domain} has {n} SPF records; there must be exactly one (RFC 7208 §4.5)"),
                    );
                }
            }
            self.note(depth, records[0].to_zone());
            let text = records[0].txt().unwrap_or_default();
            let record = match parse_record(&text) {
                Ok(r) => r,
                Err(e) => {
                    self.note(depth, format!("syntax error {e} → permerror"));
                    return Verdict::new(
                        SpfResult::PermError,
                        format!("syntax error in {domain}'s record {e}"),
                    )
                    .at(&shown(&e.term), &domain);
                }
            };
            self.evaluate(&record, &domain, depth, want_exp).await
        })
    }

    async fn evaluate(
        &mut self,
        record: &Record,
        domain: &str,
        depth: u32,
        want_exp: bool,
    ) -> Verdict {
        for term in &record.terms {
            let TermKind::Directive {
                qualifier,
                mechanism,
            } = &term.kind
            else {
                continue;
            };
            let label = if mechanism.queries_dns() {
                if let Err(v) = self.count_lookup(&term.text, domain, depth) {
                    return v;
                }
                format!("{} [lookup {}/{MAX_LOOKUPS}]", term.text, self.lookups)
            } else {
                term.text.clone()
            };
            if let Mechanism::Include(ms) = mechanism {
                let target = self.target(Some(ms), domain).await;
                self.note(depth, format!("{label} → check_host({target})"));
                let inner = self.check(target.clone(), depth + 1, false).await;
                let outcome = match inner.result {
                    SpfResult::Pass => Outcome::Match(format!("{target} passes")),
                    SpfResult::Fail | SpfResult::SoftFail | SpfResult::Neutral => {
                        Outcome::NoMatch(format!("{target} gives {}", inner.result))
                    }
                    SpfResult::TempError => Outcome::Stop(Verdict {
                        result: SpfResult::TempError,
                        term: inner.term.clone().or_else(|| Some((term.text.clone(), domain.to_string()))),
                        explanation: None,
                        reason: inner.reason.clone(),
                    }),
                    SpfResult::PermError => Outcome::Stop(Verdict {
                        result: SpfResult::PermError,
                        term: inner.term.clone().or_else(|| Some((term.text.clone(), domain.to_string()))),
                        explanation: None,
                        reason: inner.reason.clone(),
                    }),
                    SpfResult::None => Outcome::Stop(
                        Verdict::new(
                            SpfResult::PermError,
                            format!(
                                "{} in {domain} names {target}, which has no SPF record (RFC 7208 §5.2)",
                                term.text
                            ),
                        )
                        .at(&term.text, domain),
                    ),
                };
                match outcome {
                    Outcome::Match(why) => {
                        self.note(
                            depth,
                            format!("{}: {why} → match → {}", term.text, qualifier.result()),
                        );
                        // The term that matched inside the include explains more
                        // than the include itself.
                        let deciding = inner
                            .term
                            .unwrap_or_else(|| (term.text.clone(), domain.to_string()));
                        return Verdict {
                            result: qualifier.result(),
                            term: Some(deciding),
                            explanation: if qualifier.result() == SpfResult::Fail && want_exp {
                                self.explain(record, domain, depth).await
                            } else {
                                None
                            },
                            reason: None,
                        };
                    }
                    Outcome::NoMatch(why) => {
                        self.note(depth, format!("{}: {why} → no match", term.text));
                        continue;
                    }
                    Outcome::Stop(v) => {
                        self.note(
                            depth,
                            format!("{}: {} → {}", term.text, inner.result, v.result),
                        );
                        return v;
                    }
                }
            }
            match self.mechanism(mechanism, domain, depth).await {
                Outcome::Match(why) => {
                    let result = qualifier.result();
                    self.note(depth, format!("{label}: {why} → match → {result}"));
                    let explanation = if result == SpfResult::Fail && want_exp {
                        self.explain(record, domain, depth).await
                    } else {
                        None
                    };
                    return Verdict {
                        result,
                        term: Some((term.text.clone(), domain.to_string())),
                        explanation,
                        reason: None,
                    };
                }
                Outcome::NoMatch(why) => self.note(depth, format!("{label}: {why} → no match")),
                Outcome::Stop(v) => {
                    let v = if v.term.is_none() {
                        v.at(&term.text, domain)
                    } else {
                        v
                    };
                    self.note(
                        depth,
                        format!(
                            "{label}: {} → {}",
                            v.reason.as_deref().unwrap_or(""),
                            v.result
                        ),
                    );
                    return v;
                }
            }
        }
        if let Some((term, ms)) = record.redirect() {
            if record.all().is_none() {
                if let Err(v) = self.count_lookup(&term.text, domain, depth) {
                    return v;
                }
                let target = self.target(Some(ms), domain).await;
                self.note(
                    depth,
                    format!(
                        "{} [lookup {}/{MAX_LOOKUPS}] → check_host({target})",
                        term.text, self.lookups
                    ),
                );
                let inner = self.check(target.clone(), depth + 1, want_exp).await;
                if inner.result == SpfResult::None {
                    self.note(
                        depth,
                        format!("{}: {target} has no SPF record → permerror", term.text),
                    );
                    return Verdict::new(
                        SpfResult::PermError,
                        format!(
                            "{} in {domain} names {target}, which has no SPF record (RFC 7208 §6.1)",
                            term.text
                        ),
                    )
                    .at(&term.text, domain);
                }
                self.note(
                    depth,
                    format!("{}: {target} gives {}", term.text, inner.result),
                );
                return inner;
            }
        }
        self.note(depth, format!("{domain}: no term matched → neutral"));
        Verdict {
            result: SpfResult::Neutral,
            term: None,
            explanation: None,
            reason: Some(format!(
                "no term in {domain}'s record matched {}; the default result is neutral (RFC 7208 §4.7)",
                self.ip
            )),
        }
    }

    fn count_lookup(&mut self, term: &str, domain: &str, depth: u32) -> Result<(), Verdict> {
        self.lookups += 1;
        if self.lookups > MAX_LOOKUPS {
            self.note(
                depth,
                format!(
                    "{term}: lookup {} of at most {MAX_LOOKUPS} → permerror",
                    self.lookups
                ),
            );
            return Err(Verdict::new(
                SpfResult::PermError,
                format!(
                    "more than {MAX_LOOKUPS} DNS-querying terms: {term} in {domain} is number {} (RFC 7208 §4.6.4)",
                    self.lookups
                ),
            )
            .at(term, domain));
        }
        Ok(())
    }

    /// A lookup found nothing; more than two of those is a permerror.
    fn count_void(&mut self) -> Result<String, Verdict> {
        self.voids += 1;
        if self.voids > MAX_VOID_LOOKUPS {
            return Err(Verdict::new(
                SpfResult::PermError,
                format!(
                    "void lookup {} of at most {MAX_VOID_LOOKUPS} (RFC 7208 §4.6.4)",
                    self.voids
                ),
            ));
        }
        Ok(format!(" [void lookup {}/{MAX_VOID_LOOKUPS}]", self.voids))
    }

    /// The name a term points at: its domain-spec expanded, or the current
    /// domain.
    async fn target(&mut self, ms: Option<&MacroString>, domain: &str) -> String {
        let Some(ms) = ms else {
            return domain.to_string();
        };
        if ms.uses_p() {
            let p = self.validated_name(domain).await;
            expand_domain(ms, &self.env(domain, Some(&p)))
        } else {
            expand_domain(ms, &self.env(domain, None))
        }
    }

    async fn mechanism(&mut self, mechanism: &Mechanism, domain: &str, _depth: u32) -> Outcome {
        match mechanism {
            Mechanism::All => Outcome::Match("any IP".into()),
            Mechanism::Ip4 { addr, prefix } => net_outcome(self.ip, IpAddr::V4(*addr), *prefix),
            Mechanism::Ip6 { addr, prefix } => net_outcome(self.ip, IpAddr::V6(*addr), *prefix),
            Mechanism::A {
                domain: spec,
                v4,
                v6,
            } => {
                let target = self.target(spec.as_ref(), domain).await;
                let prefix = if self.ip.is_ipv4() { *v4 } else { *v6 };
                let rtype = self.addr_type();
                let answer = self.dns.query(&target, rtype).await;
                match self.addresses(&target, rtype, &answer) {
                    Err(o) => o,
                    Ok(ips) => match_ips(self.ip, &ips, prefix, &format!("{target}. {rtype}")),
                }
            }
            Mechanism::Mx {
                domain: spec,
                v4,
                v6,
            } => {
                let target = self.target(spec.as_ref(), domain).await;
                let prefix = if self.ip.is_ipv4() { *v4 } else { *v6 };
                let answer = self.dns.query(&target, RType::Mx).await;
                let mxs = match &answer {
                    Answer::Records(_) => answer.mxs(),
                    Answer::Failed(Failure::InvalidName(why)) => {
                        return Outcome::NoMatch(format!(
                            "{} cannot be looked up: {why}",
                            shown(&target)
                        ))
                    }
                    Answer::Failed(f) => {
                        return Outcome::Stop(Verdict::new(
                            SpfResult::TempError,
                            format!("the MX lookup for {target} failed: {f}"),
                        ))
                    }
                    _ => Vec::new(),
                };
                if mxs.is_empty() {
                    return match self.count_void() {
                        Ok(v) => Outcome::NoMatch(format!("{target}. MX: none{v}")),
                        Err(v) => Outcome::Stop(v),
                    };
                }
                if mxs.len() > MAX_NAMES {
                    return Outcome::Stop(Verdict::new(
                        SpfResult::PermError,
                        format!(
                            "{target} has {} MX records; the mx mechanism may look up at most {MAX_NAMES} (RFC 7208 §4.6.4)",
                            mxs.len()
                        ),
                    ));
                }
                let hosts: Vec<String> = mxs
                    .into_iter()
                    .map(|(_, h)| h)
                    .filter(|h| h != ".")
                    .collect();
                if hosts.is_empty() {
                    return Outcome::NoMatch(format!("{target}. MX 0 . (null MX: no mail hosts)"));
                }
                let rtype = self.addr_type();
                let answers = join_all(hosts.iter().map(|h| self.dns.query(h, rtype))).await;
                let mut failed = None;
                let mut seen = Vec::new();
                for (host, ans) in hosts.iter().zip(&answers) {
                    match ans {
                        Answer::Failed(Failure::InvalidName(_)) => {}
                        Answer::Failed(f) => failed = Some(format!("{host} {rtype}: {f}")),
                        _ => {
                            let ips = ans.ips();
                            if ips.iter().any(|ip| in_net(self.ip, *ip, prefix)) {
                                return Outcome::Match(format!(
                                    "{target}. MX {host}; {host} {rtype} {}",
                                    list(&ips)
                                ));
                            }
                            seen.push(if ips.is_empty() {
                                format!("{host} (no {rtype})")
                            } else {
                                format!("{host} ({rtype} {})", list(&ips))
                            });
                        }
                    }
                }
                if let Some(f) = failed {
                    return Outcome::Stop(Verdict::new(
                        SpfResult::TempError,
                        format!("an MX host of {target} could not be looked up: {f}"),
                    ));
                }
                let p = if (self.ip.is_ipv4() && prefix == 32)
                    || (self.ip.is_ipv6() && prefix == 128)
                {
                    String::new()
                } else {
                    format!(" (/{prefix})")
                };
                Outcome::NoMatch(format!(
                    "{target}. MX {}: {} not among them{p}",
                    seen.join(", "),
                    self.ip
                ))
            }
            Mechanism::Ptr(spec) => {
                let target = normalize(&self.target(spec.as_ref(), domain).await);
                let names = match self.ptr_names().await {
                    Ok(n) => n,
                    Err(o) => return o,
                };
                let validated = self.validate(&names).await;
                let hit = validated
                    .iter()
                    .find(|n| **n == target || n.ends_with(&format!(".{target}")));
                match hit {
                    Some(n) => {
                        Outcome::Match(format!("{} PTR {n}, which resolves back to it", self.ip))
                    }
                    None => Outcome::NoMatch(format!(
                        "validated PTR names of {}: {}; none is or ends in {target}",
                        self.ip,
                        if validated.is_empty() {
                            "none".to_string()
                        } else {
                            validated.join(", ")
                        }
                    )),
                }
            }
            Mechanism::Exists(ms) => {
                let target = self.target(Some(ms), domain).await;
                let answer = self.dns.query(&target, RType::A).await;
                match self.addresses(&target, RType::A, &answer) {
                    Err(o) => o,
                    Ok(ips) => Outcome::Match(format!("{target}. A {}", list(&ips))),
                }
            }
            // Handled by the caller, which recurses.
            Mechanism::Include(_) => Outcome::NoMatch(String::new()),
        }
    }

    /// The addresses in an answer, or how the mechanism ends without them.
    fn addresses(
        &mut self,
        target: &str,
        rtype: RType,
        answer: &Answer,
    ) -> Result<Vec<IpAddr>, Outcome> {
        match answer {
            Answer::Records(_) => {
                let ips = answer.ips();
                if ips.is_empty() {
                    match self.count_void() {
                        Ok(v) => Err(Outcome::NoMatch(format!("{target}. {rtype}: none{v}"))),
                        Err(v) => Err(Outcome::Stop(v)),
                    }
                } else {
                    Ok(ips)
                }
            }
            // A name that cannot be asked cannot exist: no match (§4.3, §4.8).
            Answer::Failed(Failure::InvalidName(why)) => Err(Outcome::NoMatch(format!(
                "{} cannot be looked up: {why}",
                shown(target)
            ))),
            Answer::Failed(f) => Err(Outcome::Stop(Verdict::new(
                SpfResult::TempError,
                format!("the {rtype} lookup for {target} failed: {f}"),
            ))),
            Answer::NxDomain | Answer::NoData(_) => {
                let what = if matches!(answer, Answer::NxDomain) {
                    "NXDOMAIN"
                } else {
                    "no record"
                };
                match self.count_void() {
                    Ok(v) => Err(Outcome::NoMatch(format!("{target}. {rtype}: {what}{v}"))),
                    Err(v) => Err(Outcome::Stop(v)),
                }
            }
        }
    }

    /// The IP's PTR names (at most 10), for the ptr mechanism.
    async fn ptr_names(&mut self) -> Result<Vec<String>, Outcome> {
        let rev = reverse_name(self.ip);
        let answer = self.dns.query(&rev, RType::Ptr).await;
        match &answer {
            // A failed PTR lookup makes ptr not match (§5.5).
            Answer::Failed(f) => Err(Outcome::NoMatch(format!("{rev}. PTR: {f}"))),
            Answer::Records(_) if !answer.names().is_empty() => {
                let mut names = answer.names();
                names.truncate(MAX_NAMES);
                Ok(names.iter().map(|n| normalize(n)).collect())
            }
            _ => match self.count_void() {
                Ok(v) => Err(Outcome::NoMatch(format!("{rev}. PTR: none{v}"))),
                Err(v) => Err(Outcome::Stop(v)),
            },
        }
    }

    /// The names whose addresses include the IP; lookup errors skip a name
    /// (§5.5).
    async fn validate(&self, names: &[String]) -> Vec<String> {
        let rtype = self.addr_type();
        let answers = join_all(names.iter().map(|n| self.dns.query(n, rtype))).await;
        names
            .iter()
            .zip(answers)
            .filter(|(_, a)| a.ips().contains(&self.ip))
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// `%{p}`: a validated name of the IP, one in `domain` if there is one.
    async fn validated_name(&mut self, domain: &str) -> String {
        if self.validated.is_none() {
            let rev = reverse_name(self.ip);
            let answer = self.dns.query(&rev, RType::Ptr).await;
            let mut names = answer.names();
            names.truncate(MAX_NAMES);
            let names: Vec<String> = names.iter().map(|n| normalize(n)).collect();
            self.validated = Some(self.validate(&names).await);
        }
        let v = self.validated.as_deref().unwrap_or(&[]);
        let d = normalize(domain);
        v.iter()
            .find(|n| **n == d || n.ends_with(&format!(".{d}")))
            .or_else(|| v.first())
            .cloned()
            .unwrap_or_else(|| "unknown".to_string())
    }

    /// The `exp=` explanation; any problem means no explanation (§6.2).
    async fn explain(&mut self, record: &Record, domain: &str, depth: u32) -> Option<String> {
        let (term, ms) = record.exp()?;
        let target = self.target(Some(ms), domain).await;
        let answer = self.dns.query(&target, RType::Txt).await;
        let texts = answer.txts();
        let [text] = texts.as_slice() else {
            self.note(
                depth,
                format!(
                    "{}: {target}. TXT gave {} → explanation ignored",
                    term.text,
                    match &answer {
                        Answer::Failed(f) => f.to_string(),
                        Answer::NxDomain => "NXDOMAIN".into(),
                        _ => format!("{} records, not one", texts.len()),
                    }
                ),
            );
            return None;
        };
        let parsed = match parse_macro_string(text, true) {
            Ok(p) => p,
            Err(e) => {
                self.note(
                    depth,
                    format!("{}: bad explanation text ({e}) → ignored", term.text),
                );
                return None;
            }
        };
        let p = if parsed.uses_p() {
            Some(self.validated_name(domain).await)
        } else {
            None
        };
        let exp = expand(&parsed, &self.env(domain, p.as_deref()));
        self.note(
            depth,
            format!("{}: explanation {:?}", term.text, shown(&exp)),
        );
        Some(exp)
    }
}

/// IPv4-mapped IPv6 is IPv4 (§5, §5.6).
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// Whether `domain` can be checked at all (§4.3): a multi-label name, no
/// empty or over-long labels, not an address literal.
pub fn valid_domain(domain: &str) -> Result<(), String> {
    let d = domain.trim_end_matches('.');
    if d.is_empty() {
        return Err("empty domain".into());
    }
    if d.starts_with('[') {
        return Err("an address literal is not a domain".into());
    }
    if d.len() > 253 {
        return Err(format!("name of {} octets (at most 253)", d.len()));
    }
    let labels: Vec<&str> = d.split('.').collect();
    if labels.len() < 2 {
        return Err("not a fully-qualified domain name (one label)".into());
    }
    for l in &labels {
        if l.is_empty() {
            return Err("empty label".into());
        }
        if l.len() > 63 {
            return Err(format!("label of {} octets (at most 63)", l.len()));
        }
    }
    Ok(())
}

fn in_net(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    IpNet::new(net, prefix).is_ok_and(|n| n.contains(&ip))
}

fn net_outcome(ip: IpAddr, net: IpAddr, prefix: u8) -> Outcome {
    if ip.is_ipv4() != net.is_ipv4() {
        return Outcome::NoMatch(format!(
            "{ip} is not {}",
            if net.is_ipv4() { "IPv4" } else { "IPv6" }
        ));
    }
    if in_net(ip, net, prefix) {
        Outcome::Match(format!("{ip} is in {net}/{prefix}"))
    } else {
        Outcome::NoMatch(format!("{ip} is not in {net}/{prefix}"))
    }
}

fn match_ips(ip: IpAddr, ips: &[IpAddr], prefix: u8, what: &str) -> Outcome {
    let shown = format!("{what} {}", list(ips));
    if ips.iter().any(|a| in_net(ip, *a, prefix)) {
        Outcome::Match(shown)
    } else {
        let p = if (ip.is_ipv4() && prefix == 32) || (ip.is_ipv6() && prefix == 128) {
            String::new()
        } else {
            format!(" (/{prefix})")
        };
        Outcome::NoMatch(format!("{shown}: {ip} not among them{p}"))
    }
}

fn list(ips: &[IpAddr]) -> String {
    let mut s: Vec<String> = ips.iter().take(8).map(|i| i.to_string()).collect();
    if ips.len() > 8 {
        s.push(format!("… ({} in all)", ips.len()));
    }
    s.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domains() {
        assert!(valid_domain("example.com").is_ok());
        assert!(valid_domain("example.com.").is_ok());
        assert!(valid_domain("A2345678").is_err());
        assert!(valid_domain("[1.2.3.5]").is_err());
        assert!(valid_domain("a...example.com").is_err());
        assert!(valid_domain(&format!("{}.example.com", "a".repeat(64))).is_err());
        assert!(valid_domain(&format!("{}.example.com", "a".repeat(63))).is_ok());
    }

    #[test]
    fn mapped_addresses_are_ipv4() {
        assert_eq!(
            canonical("::ffff:1.2.3.4".parse().unwrap()),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
        assert!(canonical("2001:db8::1".parse().unwrap()).is_ipv6());
    }

    #[test]
    fn networks() {
        let ip: IpAddr = "1.2.3.4".parse().unwrap();
        assert!(in_net(ip, "1.1.1.1".parse().unwrap(), 0));
        assert!(in_net(ip, "1.2.3.99".parse().unwrap(), 24));
        assert!(!in_net(ip, "1.2.3.99".parse().unwrap(), 32));
        assert!(!in_net(ip, "::".parse().unwrap(), 0));
    }
}
