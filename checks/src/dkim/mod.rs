//! dkim — the selectors exist and hold keys a verifier can use (RFC 6376,
//! RFC 8463, RFC 8301).
//!
//! Each `--selector` is looked up at `SEL._domainkey.DOMAIN` (TXT), following
//! CNAMEs as ESPs delegate selectors to their own zones; the evidence shows
//! the chain. The record is judged as a verifier would (tag-list syntax,
//! `v=` first, `k=`, `h=`, `s=`, `t=`, `p=`) and the key is decoded with a
//! real ASN.1 parser so its type and size are facts, not guesses: RSA under
//! 1024 bits fails (receivers ignore it, RFC 8301), under 2048 warns.
//!
//! Without `--selector`, a list of common selector names is tried at once;
//! those found are judged and reported, and when none is found the check
//! warns rather than fails, since absence under guessed names proves nothing.
//! A lookup that times out or SERVFAILs is `error`, never "missing".
//!
//! The dmarc check's alignment forecast calls [`scan`] too; the shared DNS
//! cache makes its lookups free.
//!
//! Codes: dkim.ok, dkim.discovered, dkim.none_found, dkim.selector_missing,
//! dkim.cname_loop, dkim.lookup_failed, dkim.multiple_records,
//! dkim.syntax_error, dkim.version_not_first, dkim.bad_version,
//! dkim.unknown_key_type, dkim.missing_key, dkim.revoked, dkim.bad_base64,
//! dkim.bad_key, dkim.key_type_mismatch, dkim.ed25519_wrapped,
//! dkim.weak_key, dkim.short_key, dkim.testing, dkim.sha1_only,
//! dkim.unknown_hash, dkim.not_for_email.

pub mod key;
pub mod taglist;

use futures::future::join_all;

use crate::dns::{fqdn, normalize, Answer, Dns, Failure, RData, RType};
use crate::{Check, Code, Ctx, Finding};

pub use key::{KeyAlg, KeyRecord, PubKey};

pub struct DkimCheck;

#[async_trait::async_trait]
impl Check for DkimCheck {
    fn id(&self) -> &'static str {
        "dkim"
    }

    fn title(&self) -> &'static str {
        "The DKIM selectors exist and hold usable keys"
    }

    async fn run(&self, ctx: &Ctx) -> Vec<Finding> {
        let scan = scan(&ctx.dns, &ctx.target.domain, &ctx.target.selectors).await;
        findings(&ctx.dns, &scan).await
    }
}

/// Selector names mail providers and signing software use by default:
/// Microsoft 365 (selector1/2), Google Workspace (google), Mailchimp and
/// Mailgun (k1–k3), SendGrid (s1/s2), Fastmail (fm1–3), Proton, HubSpot,
/// Zoho, cPanel/Plesk (default), and the generic ones admins pick.
pub const COMMON_SELECTORS: &[&str] = &[
    "default",
    "selector1",
    "selector2",
    "google",
    "k1",
    "k2",
    "k3",
    "s1",
    "s2",
    "dkim",
    "mail",
    "smtp",
    "mx",
    "email",
    "key1",
    "key2",
    "sig1",
    "dk",
    "fm1",
    "fm2",
    "fm3",
    "protonmail",
    "protonmail2",
    "protonmail3",
    "hs1",
    "hs2",
    "zoho",
    "zmail",
    "mandrill",
    "mailjet",
    "pm",
    "cm",
    "mta",
    "everlytic",
    "mxvault",
];

/// The first year of date-style selectors tried (`s2020`, `2020`).
const FIRST_SELECTOR_YEAR: i32 = 2020;

/// What discovery tries: [`COMMON_SELECTORS`], then `sYYYY` and `YYYY` for
/// every year from 2020 to next year (keys are often named for the year
/// they were rotated in, and published ahead of the switch).
pub fn discovery_selectors() -> Vec<String> {
    let mut v: Vec<String> = COMMON_SELECTORS.iter().map(|s| s.to_string()).collect();
    for year in FIRST_SELECTOR_YEAR..=current_year() + 1 {
        v.push(format!("s{year}"));
        v.push(year.to_string());
    }
    v
}

fn current_year() -> i32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    // Good to within a day around New Year, which is all this needs.
    1970 + (secs as f64 / (365.2425 * 86_400.0)) as i32
}

/// A selector from the user, normalised (lower case, no trailing dot), or
/// one line saying why it is not one. For the CLI's exit-2 path.
///
/// RFC 6376 §3.1: `selector = sub-domain *( "." sub-domain )`, i.e. one or
/// more LDH labels. Underscores are accepted too, since DNS can hold them
/// and rejecting a selector someone really uses would be worse.
pub fn parse_selector(input: &str) -> Result<String, String> {
    let s = input.trim();
    let s = s.strip_suffix('.').unwrap_or(s).to_ascii_lowercase();
    if s.is_empty() {
        return Err("the DKIM selector is empty (e.g. --selector s1)".into());
    }
    if s == "_domainkey" || s.contains("._domainkey") || s.starts_with("_domainkey.") {
        return Err(format!(
            "{input:?}: give only the selector (e.g. s1 for s1._domainkey.example.com), not the _domainkey name"
        ));
    }
    if s.contains('@') {
        return Err(format!(
            "{input:?} looks like an address; a selector is the s= value of the DKIM-Signature header (e.g. s1)"
        ));
    }
    if s.len() > 200 {
        return Err(format!(
            "the DKIM selector {input:?} is {} characters; with ._domainkey and the domain it cannot fit in a DNS name",
            s.len()
        ));
    }
    // The labels follow the host-name rules (names::host_syntax).
    crate::names::host_syntax(&s).map_err(|why| {
        format!("the DKIM selector {input:?} is not valid: {why} (e.g. s1, selector1, google)")
    })?;
    Ok(s)
}

/// The DNS name of a selector's key record.
pub fn key_name(selector: &str, domain: &str) -> String {
    format!("{}._domainkey.{}", selector, normalize(domain))
}

/// What the DNS said about one selector.
#[derive(Debug, Clone)]
pub enum State {
    /// The key records found (text and judgement), CNAMEs followed.
    Found(Vec<(String, KeyRecord)>),
    /// NXDOMAIN, NODATA, or only TXT records that are not DKIM keys.
    Missing,
    /// The CNAME chain at the selector comes back on itself.
    Loop,
    Failed(Failure),
}

/// One selector looked up.
#[derive(Debug, Clone)]
pub struct SelectorLookup {
    pub selector: String,
    pub domain: String,
    /// `SEL._domainkey.DOMAIN`, without the trailing dot.
    pub name: String,
    pub answer: Answer,
    pub state: State,
    /// TXT records at the name that are not key records (counted for the
    /// message when a selector given by the user turns out missing).
    pub other_txt: usize,
    /// CNAMEs asked for one by one when the TXT answer came back empty
    /// without its chain (a resolver drops the chain on NXDOMAIN and loops).
    pub chain: Vec<crate::dns::Record>,
}

impl SelectorLookup {
    /// The answer as zone lines, CNAME chain first.
    pub fn evidence(&self) -> Vec<String> {
        if self.chain.is_empty() {
            return self.answer.evidence(&self.name, RType::Txt);
        }
        let mut v: Vec<String> = self.chain.iter().map(|r| r.to_zone()).collect();
        let end = self.cname_target().unwrap_or_else(|| fqdn(&self.name));
        v.push(match (&self.state, &self.answer) {
            (State::Loop, _) => format!("; {end} was already in the chain: the CNAMEs loop"),
            (_, Answer::NxDomain) => format!("; {end} TXT: no such name (NXDOMAIN)"),
            _ => format!("; {end} TXT: no such record (NODATA)"),
        });
        v
    }

    /// The key, when there is exactly one record and a verifier would use it.
    pub fn usable_key(&self) -> Option<PubKey> {
        match &self.state {
            State::Found(recs) if recs.len() == 1 && recs[0].1.usable() => recs[0].1.key,
            _ => None,
        }
    }

    /// Where a CNAME chain leads, if the selector is delegated.
    pub fn cname_target(&self) -> Option<String> {
        let from_chain = self.chain.iter().rev().find_map(|r| match &r.data {
            RData::Cname(t) => Some(t.clone()),
            _ => None,
        });
        from_chain.or_else(|| self.answer.cnames().last().map(|(_, t)| t.to_string()))
    }

    /// The aliases passed on the way, in order.
    pub fn aliases(&self) -> Vec<String> {
        if self.chain.is_empty() {
            self.answer.cnames().map(|(a, _)| a.to_string()).collect()
        } else {
            self.chain.iter().map(|r| r.name.clone()).collect()
        }
    }
}

/// Looks up and judges one selector. `follow`: when the answer is empty and
/// carries no chain, ask for CNAMEs hop by hop, so a broken delegation or a
/// loop is shown as such (done for selectors the user named, not for the
/// dozens discovery guesses).
pub async fn lookup(dns: &Dns, domain: &str, selector: &str, follow: bool) -> SelectorLookup {
    let name = key_name(selector, domain);
    let answer = dns.query(&name, RType::Txt).await;
    let mut other_txt = 0;
    let mut chain = Vec::new();
    if follow && answer.is_empty_answer() && answer.cnames().next().is_none() {
        chain = cname_chain(dns, &name).await;
    }
    let state = match &answer {
        _ if is_loop(&chain) => State::Loop,
        Answer::Failed(f) => State::Failed(f.clone()),
        Answer::NxDomain => State::Missing,
        Answer::NoData(chain) if is_loop(chain) => State::Loop,
        Answer::NoData(_) => State::Missing,
        Answer::Records(_) => {
            let txts = answer.txts();
            let keys: Vec<(String, KeyRecord)> = txts
                .iter()
                .filter(|t| key::looks_like_key(t))
                .map(|t| (t.clone(), key::analyze(t)))
                .collect();
            other_txt = txts.len() - keys.len();
            if keys.is_empty() {
                State::Missing
            } else {
                State::Found(keys)
            }
        }
    };
    SelectorLookup {
        selector: selector.to_string(),
        domain: normalize(domain),
        name,
        answer,
        state,
        other_txt,
        chain,
    }
}

/// The CNAMEs from `name`, asked for one at a time, until a name that is not
/// an alias, a loop, or the hop limit.
async fn cname_chain(dns: &Dns, name: &str) -> Vec<crate::dns::Record> {
    let mut chain: Vec<crate::dns::Record> = Vec::new();
    let mut current = normalize(name);
    for _ in 0..MAX_CHAIN {
        let a = dns.query(&current, RType::Cname).await;
        let Some(rec) = a
            .records()
            .iter()
            .find(|r| matches!(r.data, RData::Cname(_)))
            .cloned()
        else {
            break;
        };
        let RData::Cname(next) = &rec.data else {
            break;
        };
        let next = normalize(next);
        chain.push(rec);
        if is_loop(&chain) {
            break;
        }
        current = next;
    }
    chain
}

/// The same bound the DNS layer puts on chains it follows.
const MAX_CHAIN: usize = 8;

/// Whether a NODATA answer's CNAME chain ends on a name it already passed.
fn is_loop(chain: &[crate::dns::Record]) -> bool {
    let Some(RData::Cname(last)) = chain.last().map(|r| &r.data) else {
        return false;
    };
    let last = normalize(last);
    chain.iter().any(|r| normalize(&r.name) == last)
}

/// The selectors of one domain, looked up at once.
#[derive(Debug, Clone)]
pub struct Scan {
    pub domain: String,
    /// No selector was given: these are the common names tried.
    pub discovered: bool,
    pub lookups: Vec<SelectorLookup>,
}

impl Scan {
    /// Selectors with a key a verifier would use.
    pub fn usable(&self) -> Vec<(&SelectorLookup, PubKey)> {
        self.lookups
            .iter()
            .filter_map(|l| l.usable_key().map(|k| (l, k)))
            .collect()
    }

    /// Selectors that hold a key record (usable or not).
    pub fn found(&self) -> Vec<&SelectorLookup> {
        self.lookups
            .iter()
            .filter(|l| matches!(l.state, State::Found(_)))
            .collect()
    }

    /// Lookups that could not be made.
    pub fn failed(&self) -> Vec<&SelectorLookup> {
        self.lookups
            .iter()
            .filter(|l| matches!(l.state, State::Failed(_)))
            .collect()
    }
}

/// Looks up `selectors` under `domain`, or the common selector names when
/// none is given, all at once.
pub async fn scan(dns: &Dns, domain: &str, selectors: &[String]) -> Scan {
    let discovered = selectors.is_empty();
    let names: Vec<String> = if discovered {
        discovery_selectors()
    } else {
        let mut v: Vec<String> = Vec::new();
        for s in selectors {
            if !v.contains(s) {
                v.push(s.clone());
            }
        }
        v
    };
    let lookups = join_all(names.iter().map(|s| lookup(dns, domain, s, !discovered))).await;
    Scan {
        domain: normalize(domain),
        discovered,
        lookups,
    }
}

/// The findings for a scan.
pub async fn findings(dns: &Dns, scan: &Scan) -> Vec<Finding> {
    let mut out = Vec::new();
    for l in &scan.lookups {
        out.extend(selector_findings(l, scan.discovered));
    }
    if scan.discovered {
        out.extend(discovery_summary(dns, scan).await);
    }
    out
}

fn selector_findings(l: &SelectorLookup, discovered: bool) -> Vec<Finding> {
    let name = fqdn(&l.name);
    let ev = l.evidence();
    let via = match l.cname_target() {
        Some(t) => format!(" (via CNAME to {t})"),
        None => String::new(),
    };
    match &l.state {
        // Discovery reports failures in one summary line, and a name that is
        // not there says nothing.
        State::Failed(_) | State::Missing if discovered => Vec::new(),
        State::Failed(f) => vec![Finding::new(
            Code::DkimLookupFailed,
            format!("the key record {name} could not be looked up: {f}"),
        )
        .evidence(ev)],
        State::Missing => vec![missing(l)],
        State::Loop => {
            let chain = l.aliases();
            vec![Finding::new(
                Code::DkimCnameLoop,
                format!(
                    "selector {}: the CNAME chain at {name} loops ({} → back to {})",
                    l.selector,
                    chain.join(" → "),
                    l.cname_target().unwrap_or_default()
                ),
            )
            .evidence(ev)
            .fix(format!(
                "Point {name} at the key record your mail provider gives you (one CNAME, to a name with a TXT key), or publish the TXT key there directly."
            ))]
        }
        State::Found(recs) if recs.len() > 1 => vec![Finding::new(
            Code::DkimMultipleRecords,
            format!(
                "{name}{via} has {} DKIM key records; verifiers pick one at random",
                recs.len()
            ),
        )
        .evidence(ev)
        .fix(format!(
            "Delete all but the current key at {name}; publish a new key under a new selector instead of beside the old one."
        ))],
        State::Found(recs) => {
            let (_, rec) = &recs[0];
            let mut v: Vec<Finding> = rec
                .issues
                .iter()
                .map(|i| {
                    let f = Finding::new(i.code, format!("{name}{via} {}", i.detail))
                        .evidence(ev.clone());
                    match specific_fix(i.code, l) {
                        Some(fix) => f.fix(fix),
                        None => f,
                    }
                })
                .collect();
            if v.is_empty() {
                if let Some(key) = rec.key {
                    v.push(
                        Finding::new(
                            Code::DkimOk,
                            format!("selector {}: {name}{via} holds a {key}", l.selector),
                        )
                        .evidence(ev),
                    );
                }
            }
            v
        }
    }
}

/// A fix naming this selector's records, where the registry's is generic.
fn specific_fix(code: Code, l: &SelectorLookup) -> Option<String> {
    let name = fqdn(&l.name);
    let delegated = l.cname_target().map(|t| {
        format!(" The selector is a CNAME to {t}: the record is your mail provider's; ask them, or point the CNAME at their current key.")
    });
    let d = delegated.unwrap_or_default();
    Some(match code {
        Code::DkimRevoked => format!(
            "If mail is still signed with selector {sel}, publish its public key: `{name} TXT \"v=DKIM1; k=rsa; p=BASE64KEY\"`; if not, stop passing --selector {sel}.{d}",
            sel = l.selector
        ),
        Code::DkimWeakKey | Code::DkimShortKey => format!(
            "Generate a 2048-bit key, publish it under a new selector (e.g. `{}._domainkey.{}. TXT \"v=DKIM1; k=rsa; p=…\"`), switch signing to it, then empty the p= of {name} to revoke the old key.{d}",
            next_selector(&l.selector),
            l.domain
        ),
        Code::DkimTesting => format!("Remove t=y from {name} once signatures verify.{d}"),
        _ if !d.is_empty() => format!("{}{d}", code.fix()),
        _ => return None,
    })
}

/// A plausible name for the next key: `s1` → `s2`, `google` → `google2`.
fn next_selector(sel: &str) -> String {
    let digits: String = sel
        .chars()
        .rev()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    if digits.is_empty() || digits.len() > 9 {
        return format!("{sel}2");
    }
    let digits: String = digits.chars().rev().collect();
    let stem = &sel[..sel.len() - digits.len()];
    match digits.parse::<u64>() {
        Ok(n) => format!("{stem}{}", n + 1),
        Err(_) => format!("{sel}2"),
    }
}

/// A selector the user named that has no key record; when it is an alias
/// whose target is gone (a broken ESP delegation), the message says so.
fn missing(l: &SelectorLookup) -> Finding {
    let name = fqdn(&l.name);
    let ev = l.evidence();
    let target = l.cname_target();
    let what = if l.other_txt > 0 {
        format!("has {} TXT record(s), none of them a DKIM key", l.other_txt)
    } else {
        match &l.answer {
            Answer::NxDomain => "does not exist (NXDOMAIN)".to_string(),
            _ => "has no TXT record".to_string(),
        }
    };
    let (message, fix) = match &target {
        Some(t) => (
            format!(
                "selector {}: {name} is a CNAME to {t}, which has no DKIM key",
                l.selector
            ),
            format!(
                "The selector is delegated to {t}: enable DKIM for {} at the mail provider that owns {t} (it publishes the key there), or correct the CNAME target they gave you.",
                l.domain
            ),
        ),
        None => (
            format!("selector {}: {name} {what}", l.selector),
            format!(
                "Publish the public key of selector {} as `{name} TXT \"v=DKIM1; k=rsa; p=BASE64KEY\"` (or the CNAME your mail provider gives you), or check the selector in the s= of a DKIM-Signature your server adds.",
                l.selector
            ),
        ),
    };
    Finding::new(Code::DkimSelectorMissing, message)
        .evidence(ev)
        .fix(fix)
}

async fn discovery_summary(dns: &Dns, scan: &Scan) -> Vec<Finding> {
    let tried = scan.lookups.len();
    let found: Vec<&str> = scan
        .lookups
        .iter()
        .filter(|l| matches!(l.state, State::Found(_) | State::Loop))
        .map(|l| l.selector.as_str())
        .collect();
    let failed = scan.failed();
    let mut out = Vec::new();
    if !failed.is_empty() {
        let names: Vec<String> = failed.iter().map(|l| l.selector.clone()).collect();
        let why = match &failed[0].state {
            State::Failed(f) => f.to_string(),
            _ => String::new(),
        };
        let mut ev: Vec<String> = failed.iter().take(5).flat_map(|l| l.evidence()).collect();
        if failed.len() > 5 {
            ev.push(format!("; … and {} more", failed.len() - 5));
        }
        out.push(
            Finding::new(
                Code::DkimLookupFailed,
                format!(
                    "{} of {tried} selector lookups under _domainkey.{} failed ({why}): {}",
                    failed.len(),
                    scan.domain,
                    abbreviate(&names, 8)
                ),
            )
            .evidence(ev),
        );
    }
    if !found.is_empty() {
        out.push(
            Finding::new(
                Code::DkimDiscovered,
                format!(
                    "found selector{} {} under {} by trying {tried} common names; others may exist",
                    if found.len() == 1 { "" } else { "s" },
                    found.join(", "),
                    scan.domain
                ),
            )
            .evidence(
                scan.lookups
                    .iter()
                    .filter(|l| found.contains(&l.selector.as_str()))
                    .flat_map(|l| l.evidence())
                    .collect::<Vec<_>>(),
            )
            .fix(format!(
                "Pass the selectors your mail is signed with (the s= of the DKIM-Signature header), e.g. --selector {}, so they are checked by name.",
                found[0]
            )),
        );
        return out;
    }
    if failed.len() == tried {
        return out;
    }
    let node = format!("_domainkey.{}", scan.domain);
    let a = dns.query(&node, RType::Txt).await;
    let hint = match &a {
        Answer::NxDomain => format!(
            "; {} does not exist, so most likely no selector is published at all",
            fqdn(&node)
        ),
        Answer::NoData(_) | Answer::Records(_) => format!(
            "; {} exists, so some selector is published under a name not on the list",
            fqdn(&node)
        ),
        Answer::Failed(_) => String::new(),
    };
    let mut ev = a.evidence(&node, RType::Txt);
    ev.push(format!(
        "; tried {tried} selectors: {}",
        scan.lookups
            .iter()
            .map(|l| l.selector.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    ));
    out.push(
        Finding::new(
            Code::DkimNoneFound,
            format!(
                "no DKIM key found under {} for any of {tried} common selector names{hint} (absence cannot be proven without the real selector)",
                scan.domain,
            ),
        )
        .evidence(ev)
        .fix(format!(
            "Look up the s= value in the DKIM-Signature header of a message sent from {d} and run again with --selector S; if there is no DKIM-Signature, enable DKIM signing with d={d} and publish the key at S._domainkey.{d}.",
            d = scan.domain
        )),
    );
    out
}

fn abbreviate(items: &[String], max: usize) -> String {
    if items.len() <= max {
        items.join(", ")
    } else {
        format!("{} … (+{})", items[..max].join(", "), items.len() - max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_from_users() {
        assert_eq!(parse_selector(" S1. ").unwrap(), "s1");
        assert_eq!(parse_selector("selector1.sub").unwrap(), "selector1.sub");
        assert_eq!(parse_selector("2024-03").unwrap(), "2024-03");
        assert!(parse_selector("").is_err());
        assert!(parse_selector("s1._domainkey.example.com").is_err());
        assert!(parse_selector("user@example.com").is_err());
        assert!(parse_selector("s 1").is_err());
        assert!(parse_selector("a..b").is_err());
        assert!(parse_selector("-s1").is_err());
        assert!(parse_selector(&"a".repeat(64)).is_err());
        assert!(parse_selector("sél").is_err());
    }

    #[test]
    fn discovery_list_has_the_required_names() {
        let v = discovery_selectors();
        for s in [
            "default",
            "selector1",
            "selector2",
            "google",
            "k1",
            "k2",
            "s1",
            "s2",
            "dkim",
            "mail",
            "smtp",
            "mx",
            "s2024",
            "s2025",
            "2024",
            "2025",
        ] {
            assert!(v.iter().any(|x| x == s), "{s} missing");
        }
        let mut sorted = v.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), v.len(), "no duplicates");
        assert!(v
            .iter()
            .all(|s| parse_selector(s).as_deref() == Ok(s.as_str())));
    }

    #[test]
    fn next_selector_names() {
        assert_eq!(next_selector("s1"), "s2");
        assert_eq!(next_selector("s2024"), "s2025");
        assert_eq!(next_selector("google"), "google2");
    }
}
