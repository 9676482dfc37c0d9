//! The one DNS client every check shares. The only module that imports hickory.
//!
//! Every question ends in an [`Answer`]: records, NXDOMAIN, NODATA, or a
//! [`Failure`] (SERVFAIL, REFUSED, timeout, budget exhausted, not available
//! offline). "No record" is the domain's fault; "could not ask" is not, and
//! checks must tell them apart, so nothing here collapses one into the other.
//!
//! Answers are cached for the run with in-flight de-duplication: two checks
//! asking the same question at the same time cost one query. A query budget
//! bounds what hostile data can make a run ask.

mod live;
pub mod zone;

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OnceCell;

pub use zone::{Zone, ZoneError};

/// The record types the checks ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RType {
    A,
    Aaaa,
    Mx,
    Txt,
    Ptr,
    Cname,
    Ns,
    Soa,
    /// The deprecated type-99 SPF RR (RFC 4408 §3.1.1, RFC 7208 §14.1).
    Spf,
    Tlsa,
}

impl RType {
    pub fn as_str(self) -> &'static str {
        match self {
            RType::A => "A",
            RType::Aaaa => "AAAA",
            RType::Mx => "MX",
            RType::Txt => "TXT",
            RType::Ptr => "PTR",
            RType::Cname => "CNAME",
            RType::Ns => "NS",
            RType::Soa => "SOA",
            RType::Spf => "SPF",
            RType::Tlsa => "TLSA",
        }
    }
}

impl fmt::Display for RType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Record data, in our own terms. Names are A-label, lower case, with the
/// trailing dot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Mx {
        preference: u16,
        exchange: String,
    },
    /// The character-strings as sent, not yet joined (RFC 7208 §3.3 joins
    /// them; a linter needs to see each one).
    Txt(Vec<Vec<u8>>),
    Ptr(String),
    Cname(String),
    Ns(String),
    /// Any other type, in presentation format.
    Other {
        rtype: String,
        text: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Owner name, with the trailing dot.
    pub name: String,
    pub ttl: u32,
    pub data: RData,
}

impl Record {
    pub fn rtype(&self) -> &str {
        match &self.data {
            RData::A(_) => "A",
            RData::Aaaa(_) => "AAAA",
            RData::Mx { .. } => "MX",
            RData::Txt(_) => "TXT",
            RData::Ptr(_) => "PTR",
            RData::Cname(_) => "CNAME",
            RData::Ns(_) => "NS",
            RData::Other { rtype, .. } => rtype,
        }
    }

    /// The TXT strings joined into one (RFC 7208 §3.3), lossily decoded.
    pub fn txt(&self) -> Option<String> {
        match &self.data {
            RData::Txt(parts) => Some(String::from_utf8_lossy(&parts.concat()).into_owned()),
            _ => None,
        }
    }

    /// The record in zone-file syntax, without TTL and class, as DESIGN.md's
    /// evidence shows it. TXT bytes that are not printable are escaped as
    /// `\DDD`, so the line is safe to print.
    pub fn to_zone(&self) -> String {
        let rdata = match &self.data {
            RData::A(a) => a.to_string(),
            RData::Aaaa(a) => a.to_string(),
            RData::Mx {
                preference,
                exchange,
            } => format!("{preference} {exchange}"),
            RData::Txt(parts) => parts
                .iter()
                .map(|p| quote_txt(p))
                .collect::<Vec<_>>()
                .join(" "),
            RData::Ptr(n) | RData::Cname(n) | RData::Ns(n) => n.clone(),
            RData::Other { text, .. } => text.clone(),
        };
        format!("{} {} {}", self.name, self.rtype(), rdata)
    }
}

/// A TXT character-string in master-file syntax: quoted, `"` and `\`
/// escaped, anything outside printable ASCII as `\DDD` (RFC 1035 §5.1).
pub fn quote_txt(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() + 2);
    s.push('"');
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                s.push('\\');
                s.push(b as char);
            }
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\{b:03}")),
        }
    }
    s.push('"');
    s
}

/// Why a question got no answer. None of these says anything about the
/// domain's data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    ServFail,
    Refused,
    Timeout,
    /// The run's query budget is spent (hostile or runaway data).
    Budget,
    /// `--offline` and the name is not under a loaded zone.
    Offline,
    /// The name cannot be asked (empty label, label over 63 octets, name over
    /// 253): the text says which.
    InvalidName(String),
    Other(String),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::ServFail => f.write_str("SERVFAIL"),
            Failure::Refused => f.write_str("REFUSED"),
            Failure::Timeout => f.write_str("timed out"),
            Failure::Budget => f.write_str("query budget exhausted"),
            Failure::Offline => f.write_str("not available offline (no --zone covers it)"),
            Failure::InvalidName(why) => write!(f, "invalid name: {why}"),
            Failure::Other(why) => write!(f, "lookup error: {why}"),
        }
    }
}

/// The answer to one question.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// At least one record of the asked type. Any CNAMEs followed to get
    /// there come first, in chain order.
    Records(Arc<[Record]>),
    NxDomain,
    /// The name exists but has no record of the asked type. CNAMEs followed
    /// to get there are kept for the evidence.
    NoData(Arc<[Record]>),
    Failed(Failure),
}

impl Answer {
    pub fn is_failure(&self) -> bool {
        matches!(self, Answer::Failed(_))
    }

    /// NXDOMAIN or NODATA: the data says there is nothing.
    pub fn is_empty_answer(&self) -> bool {
        matches!(self, Answer::NxDomain | Answer::NoData(_))
    }

    pub fn failure(&self) -> Option<&Failure> {
        match self {
            Answer::Failed(f) => Some(f),
            _ => None,
        }
    }

    /// Every record in the answer, CNAMEs included.
    pub fn records(&self) -> &[Record] {
        match self {
            Answer::Records(r) | Answer::NoData(r) => r,
            _ => &[],
        }
    }

    /// The records that answer the question (not the CNAMEs leading to them).
    pub fn data(&self) -> impl Iterator<Item = &RData> {
        self.records()
            .iter()
            .map(|r| &r.data)
            .filter(|d| !matches!(d, RData::Cname(_)))
    }

    /// The CNAME chain followed, as (alias, target) pairs.
    pub fn cnames(&self) -> impl Iterator<Item = (&str, &str)> {
        self.records().iter().filter_map(|r| match &r.data {
            RData::Cname(t) => Some((r.name.as_str(), t.as_str())),
            _ => None,
        })
    }

    pub fn ips(&self) -> Vec<IpAddr> {
        self.data()
            .filter_map(|d| match d {
                RData::A(a) => Some(IpAddr::V4(*a)),
                RData::Aaaa(a) => Some(IpAddr::V6(*a)),
                _ => None,
            })
            .collect()
    }

    /// TXT records, each joined into one string.
    pub fn txts(&self) -> Vec<String> {
        self.records()
            .iter()
            .filter(|r| !matches!(r.data, RData::Cname(_)))
            .filter_map(Record::txt)
            .collect()
    }

    /// MX (preference, exchange) pairs, sorted by preference then name.
    pub fn mxs(&self) -> Vec<(u16, String)> {
        let mut v: Vec<_> = self
            .data()
            .filter_map(|d| match d {
                RData::Mx {
                    preference,
                    exchange,
                } => Some((*preference, exchange.clone())),
                _ => None,
            })
            .collect();
        v.sort();
        v
    }

    /// PTR (or NS) target names.
    pub fn names(&self) -> Vec<String> {
        self.data()
            .filter_map(|d| match d {
                RData::Ptr(n) | RData::Ns(n) => Some(n.clone()),
                _ => None,
            })
            .collect()
    }

    /// The answer as zone-file lines for a finding's evidence. Negative
    /// answers and failures are comments, so the evidence still reads as a
    /// zone file.
    pub fn evidence(&self, name: &str, rtype: RType) -> Vec<String> {
        let owner = fqdn(name);
        match self {
            Answer::Records(r) => r.iter().map(Record::to_zone).collect(),
            Answer::NoData(r) => {
                let mut v: Vec<String> = r.iter().map(Record::to_zone).collect();
                v.push(format!("; {owner} {rtype}: no such record (NODATA)"));
                v
            }
            Answer::NxDomain => vec![format!("; {owner} {rtype}: no such name (NXDOMAIN)")],
            Answer::Failed(f) => vec![format!("; {owner} {rtype}: {f}")],
        }
    }
}

/// Evidence lines without repeats (a CNAME chain shows in both the A and the
/// AAAA answer), first occurrence kept.
pub fn dedup(lines: Vec<String>) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    lines
        .into_iter()
        .filter(|l| seen.insert(l.clone()))
        .collect()
}

/// `name` with exactly one trailing dot.
pub fn fqdn(name: &str) -> String {
    format!("{}.", name.trim_end_matches('.'))
}

/// The reverse-lookup name of an address (`in-addr.arpa` / `ip6.arpa`).
pub fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let mut s = String::with_capacity(72);
            for b in v6.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", b & 0xf, b >> 4));
            }
            s.push_str("ip6.arpa");
            s
        }
    }
}

/// How the client reaches DNS.
#[derive(Debug, Clone)]
pub struct DnsConfig {
    /// Resolvers to ask; empty means the system's (resolv.conf).
    pub resolvers: Vec<SocketAddr>,
    /// Per-query timeout.
    pub timeout: Duration,
    /// Tries per query, per resolver.
    pub attempts: usize,
    /// Zone files answering names at or under their origins.
    pub zones: Vec<ZoneSource>,
    /// Ask nothing of the network.
    pub offline: bool,
    /// Most queries one budget (one domain's run) may send.
    pub budget: u64,
    /// Most queries in flight at once (bounds sockets and file descriptors).
    pub max_inflight: usize,
    /// Most queries sent per second; `None` for no limit.
    pub qps: Option<u32>,
    /// Answers the cache keeps before it starts forgetting the least
    /// recently asked ones (bulk runs over millions of domains stay flat).
    pub cache_capacity: usize,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            resolvers: Vec::new(),
            timeout: Duration::from_secs(5),
            attempts: 2,
            zones: Vec::new(),
            offline: false,
            budget: 2_000,
            max_inflight: 256,
            qps: None,
            cache_capacity: 100_000,
        }
    }
}

/// A zone file to load, with the origin when the file does not say it.
#[derive(Debug, Clone)]
pub struct ZoneSource {
    pub origin: Option<String>,
    pub path: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    #[error(transparent)]
    Zone(#[from] ZoneError),
    #[error("cannot set up the resolver: {0}")]
    Resolver(String),
}

type Key = (String, RType);

struct Shared {
    live: Option<live::Live>,
    zones: Vec<Zone>,
    cache: Mutex<Cache>,
    sent: AtomicU64,
    inflight: tokio::sync::Semaphore,
    pacer: Option<Pacer>,
}

type Slot = Arc<OnceCell<Answer>>;

/// Two generations: new answers go into `young`; when it is full, `young`
/// becomes `old` and the previous `old` is dropped. An answer asked again
/// while old moves back to young, so what many domains share (an ESP's SPF
/// include tree) stays, and memory is bounded by twice the capacity.
struct Cache {
    young: HashMap<Key, Slot>,
    old: HashMap<Key, Slot>,
    capacity: usize,
}

impl Cache {
    fn slot(&mut self, key: &Key) -> Slot {
        if let Some(s) = self.young.get(key) {
            return s.clone();
        }
        let slot = self.old.remove(key).unwrap_or_default();
        if self.young.len() >= self.capacity {
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(key.clone(), slot.clone());
        slot
    }
}

/// Spaces queries evenly to stay under a rate.
struct Pacer {
    interval: Duration,
    next: tokio::sync::Mutex<tokio::time::Instant>,
}

impl Pacer {
    async fn wait(&self) {
        let at = {
            let mut next = self.next.lock().await;
            let now = tokio::time::Instant::now();
            let at = (*next).max(now);
            *next = at + self.interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

/// The shared DNS client. Cheap to clone; clones share the cache and, unless
/// made with [`Dns::with_budget`], the budget.
#[derive(Clone)]
pub struct Dns {
    shared: Arc<Shared>,
    budget: Arc<Budget>,
}

struct Budget {
    max: u64,
    used: AtomicU64,
}

impl Dns {
    pub fn new(config: &DnsConfig) -> Result<Dns, DnsError> {
        let zones = config
            .zones
            .iter()
            .map(|z| Zone::load(&z.path, z.origin.as_deref()))
            .collect::<Result<Vec<_>, _>>()?;
        Self::with_zones(config, zones)
    }

    /// A client over zones already loaded (tests, the benchmark).
    pub fn with_zones(config: &DnsConfig, mut zones: Vec<Zone>) -> Result<Dns, DnsError> {
        // Most specific origin first, so a child zone wins over its parent.
        zones.sort_by_key(|z| std::cmp::Reverse(z.origin().len()));
        let live = if config.offline {
            None
        } else {
            Some(live::Live::new(config)?)
        };
        Ok(Dns {
            shared: Arc::new(Shared {
                live,
                zones,
                cache: Mutex::new(Cache {
                    young: HashMap::new(),
                    old: HashMap::new(),
                    capacity: config.cache_capacity.max(1),
                }),
                sent: AtomicU64::new(0),
                inflight: tokio::sync::Semaphore::new(config.max_inflight.max(1)),
                pacer: config.qps.filter(|q| *q > 0).map(|q| Pacer {
                    interval: Duration::from_secs_f64(1.0 / f64::from(q)),
                    next: tokio::sync::Mutex::new(tokio::time::Instant::now()),
                }),
            }),
            budget: Arc::new(Budget {
                max: config.budget,
                used: AtomicU64::new(0),
            }),
        })
    }

    /// A handle that shares the cache but spends its own budget of `max`
    /// queries (one per domain in bulk runs).
    pub fn with_budget(&self, max: u64) -> Dns {
        Dns {
            shared: self.shared.clone(),
            budget: Arc::new(Budget {
                max,
                used: AtomicU64::new(0),
            }),
        }
    }

    /// The zone files this client answers from (most specific origin first).
    pub fn zones(&self) -> &[Zone] {
        &self.shared.zones
    }

    /// Queries that went to a server or a zone (cache misses), across all
    /// handles sharing this cache.
    pub fn queries_sent(&self) -> u64 {
        self.shared.sent.load(Ordering::Relaxed)
    }

    /// Queries this handle's budget has spent.
    pub fn budget_used(&self) -> u64 {
        self.budget.used.load(Ordering::Relaxed)
    }

    /// Asks one question; the answer is cached for the run and a second
    /// asker of the same question waits for the first one's answer.
    pub async fn query(&self, name: &str, rtype: RType) -> Answer {
        let key = (normalize(name), rtype);
        let cell = {
            let mut cache = self.shared.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache.slot(&key)
        };
        cell.get_or_init(|| self.ask(&key.0, rtype)).await.clone()
    }

    /// A and AAAA at once.
    pub async fn addresses(&self, name: &str) -> (Answer, Answer) {
        tokio::join!(self.query(name, RType::A), self.query(name, RType::Aaaa))
    }

    async fn ask(&self, name: &str, rtype: RType) -> Answer {
        // Follows CNAMEs that zone data hands back, so zone answers have the
        // same shape as a recursive resolver's.
        let mut chain: Vec<Record> = Vec::new();
        let mut current = name.to_string();
        for _ in 0..MAX_CNAME_HOPS {
            if let Err(why) = check_name(&current) {
                return Answer::Failed(Failure::InvalidName(why));
            }
            if self.budget.used.fetch_add(1, Ordering::Relaxed) >= self.budget.max {
                return Answer::Failed(Failure::Budget);
            }
            self.shared.sent.fetch_add(1, Ordering::Relaxed);
            let answer = if let Some(zone) = self.shared.zones.iter().find(|z| z.covers(&current)) {
                zone.lookup(&current, rtype).await
            } else if let Some(live) = &self.shared.live {
                // Closed only on drop, so acquire cannot fail while we run.
                let _permit = self.shared.inflight.acquire().await;
                if let Some(p) = &self.shared.pacer {
                    p.wait().await;
                }
                live.lookup(&current, rtype).await
            } else {
                Answer::Failed(Failure::Offline)
            };
            let next = match &answer {
                Answer::Records(r) | Answer::NoData(r)
                    if rtype != RType::Cname
                        && !r.is_empty()
                        && r.iter().all(|x| matches!(x.data, RData::Cname(_))) =>
                {
                    // Only the alias came back: the target lives elsewhere.
                    chain.extend(r.iter().cloned());
                    match &r.last().map(|x| &x.data) {
                        Some(RData::Cname(t)) => t.trim_end_matches('.').to_string(),
                        _ => unreachable!("all records are CNAMEs"),
                    }
                }
                _ => return prepend(chain, answer),
            };
            if chain
                .iter()
                .filter(|r| normalize(&r.name) == normalize(&next))
                .count()
                > 0
            {
                // A CNAME loop: the chain came back to a name it passed. A
                // recursive resolver answers this with no data; so do we,
                // keeping the chain for the evidence.
                return Answer::NoData(chain.into());
            }
            current = next;
        }
        Answer::Failed(Failure::Other(format!(
            "CNAME chain longer than {MAX_CNAME_HOPS} from {}",
            fqdn(name)
        )))
    }
}

const MAX_CNAME_HOPS: usize = 8;

fn prepend(chain: Vec<Record>, answer: Answer) -> Answer {
    if chain.is_empty() {
        return answer;
    }
    match answer {
        Answer::Records(r) => Answer::Records(chain.into_iter().chain(r.iter().cloned()).collect()),
        Answer::NoData(r) => Answer::NoData(chain.into_iter().chain(r.iter().cloned()).collect()),
        // NXDOMAIN and failures carry no records; the chain is lost, as it is
        // from a recursive resolver.
        other => other,
    }
}

/// Lower case, no trailing dot: the cache key form.
pub fn normalize(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// Whether `name` can be asked at all: what DNS itself forbids, nothing more
/// (SPF-legal names like `foo:bar/baz.example` are askable).
pub fn check_name(name: &str) -> Result<(), String> {
    let n = name.trim_end_matches('.');
    if n.is_empty() {
        return Ok(()); // the root
    }
    if n.len() > 253 {
        return Err(format!("name is {} octets long (at most 253)", n.len()));
    }
    for label in n.split('.') {
        if label.is_empty() {
            return Err("empty label".into());
        }
        if label.len() > 63 {
            return Err(format!("label of {} octets (at most 63)", label.len()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: &str) -> Key {
        (n.to_string(), RType::A)
    }

    #[test]
    fn the_cache_keeps_what_is_asked_again_and_stays_bounded() {
        let mut c = Cache {
            young: HashMap::new(),
            old: HashMap::new(),
            capacity: 2,
        };
        let a = c.slot(&key("a"));
        c.slot(&key("b"));
        c.slot(&key("c")); // young was full: a, b are now old
        assert!(
            Arc::ptr_eq(&a, &c.slot(&key("a"))),
            "a survives when asked again"
        );
        for i in 0..100 {
            c.slot(&key(&format!("n{i}")));
        }
        assert!(c.young.len() + c.old.len() <= 4);
    }
}
