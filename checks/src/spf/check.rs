//! spf — the MAIL FROM domain's SPF record is valid and authorises every
//! sending IP (RFC 7208).
//!
//! Gathers the whole include/redirect tree breadth-first (each level in
//! parallel), judges it as a whole — not only the path one IP's evaluation
//! takes — then runs `check_host()` for each sending IP over the warm cache.
//! When a limit is exceeded the evidence still shows the whole tree with the
//! lookups each node costs, and the message names the term that broke it.
//!
//! Codes: spf.ok, spf.no_record, spf.multiple_records, spf.syntax_error,
//! spf.too_many_lookups, spf.lookups_near_limit, spf.too_many_void_lookups,
//! spf.include_no_spf, spf.include_loop, spf.mx_too_many, spf.plus_all,
//! spf.neutral_all, spf.no_all, spf.redirect_ignored, spf.ptr_used,
//! spf.ptr_over_limit, spf.type99_only, spf.needs_tcp, spf.ip_not_permitted,
//! spf.no_ip, spf.lookup_failed.

use std::collections::{BTreeMap, HashSet};
use std::net::IpAddr;

use futures::future::join_all;

use super::macros::{expand_domain, MacroEnv};
use super::parse::{
    is_spf_record, parse_record_lenient, shown, Mechanism, Qualifier, Record, SyntaxError,
};
use super::{check_host, Evaluation, SpfResult, MAX_LOOKUPS, MAX_NAMES, MAX_VOID_LOOKUPS};
use crate::dns::{fqdn, normalize, reverse_name, Answer, Dns, RData, RType};
use crate::{Check, Code, Ctx, Finding};

/// Records fetched for one tree; a tree this big is over the limit anyway.
const MAX_NODES: usize = 64;
/// Lines of tree shown in evidence.
const MAX_TREE_LINES: usize = 60;
/// Plain DNS over UDP without EDNS (RFC 1035 §4.2.1).
const UDP_LIMIT: usize = 512;

pub struct SpfCheck;

#[async_trait::async_trait]
impl Check for SpfCheck {
    fn id(&self) -> &'static str {
        "spf"
    }

    fn title(&self) -> &'static str {
        "The MAIL FROM domain's SPF record is valid and authorises the sending IPs"
    }

    async fn run(&self, ctx: &Ctx) -> Vec<Finding> {
        let t = &ctx.target;
        // SPF is checked on the MAIL FROM identity; without --mail-from that
        // is postmaster@DOMAIN.
        let (sender, domain) = match t.mail_from.as_deref().and_then(|m| m.rsplit_once('@')) {
            Some((_, d)) if !d.is_empty() => {
                (t.mail_from.clone().unwrap_or_default(), normalize(d))
            }
            _ => (format!("postmaster@{}", t.domain), normalize(&t.domain)),
        };
        let helo = t.helo.clone().unwrap_or_else(|| domain.clone());
        check(&ctx.dns, &domain, &sender, &helo, &t.ips).await
    }
}

/// What one node of the tree holds.
#[derive(Debug, Clone)]
enum State {
    Record {
        record: Record,
        errors: Vec<SyntaxError>,
    },
    /// NXDOMAIN, NODATA, or TXT records none of which is SPF.
    NoRecord,
    Multiple(usize),
    Failed(String),
}

#[derive(Debug, Clone)]
struct Node {
    answer: Answer,
    state: State,
}

/// Where a term of a record leads.
#[derive(Debug, Clone)]
struct Edge {
    term: String,
    /// None when the domain-spec cannot be expanded without the sending IP.
    target: Option<String>,
}

/// The include/redirect tree: one node per domain fetched.
struct Tree {
    root: String,
    nodes: BTreeMap<String, Node>,
    /// Domains not fetched because the tree hit [`MAX_NODES`].
    cut: usize,
}

struct Env {
    sender: String,
    helo: String,
    ip: Option<IpAddr>,
}

impl Env {
    /// The target of a domain-spec in `domain`'s record, if it can be known
    /// before an evaluation.
    fn target(&self, ms: &super::MacroString, domain: &str) -> Option<String> {
        if ms.uses_p() || (ms.uses_ip() && self.ip.is_none()) {
            return None;
        }
        let (local, sdom) = self
            .sender
            .rsplit_once('@')
            .unwrap_or(("postmaster", &self.sender));
        let env = MacroEnv {
            sender: &self.sender,
            local,
            sender_domain: sdom,
            domain,
            ip: self.ip.unwrap_or(IpAddr::from([0, 0, 0, 0])),
            helo: &self.helo,
            validated: None,
        };
        Some(normalize(&expand_domain(ms, &env)))
    }

    /// The include and (active) redirect edges of a record, in evaluation
    /// order: mechanisms first, then redirect.
    fn edges(&self, record: &Record, domain: &str) -> Vec<Edge> {
        let mut v: Vec<Edge> = record
            .directives()
            .filter_map(|(t, _, m)| match m {
                Mechanism::Include(ms) => Some(Edge {
                    term: t.text.clone(),
                    target: self.target(ms, domain),
                }),
                _ => None,
            })
            .collect();
        if record.all().is_none() {
            if let Some((t, ms)) = record.redirect() {
                v.push(Edge {
                    term: t.text.clone(),
                    target: self.target(ms, domain),
                });
            }
        }
        v
    }
}

fn lookup_terms(record: &Record) -> u32 {
    let redirect_unused = record.all().is_some() && record.redirect().is_some();
    record.lookup_terms() as u32 - u32::from(redirect_unused)
}

fn classify(answer: &Answer) -> State {
    match answer {
        Answer::Failed(f) => State::Failed(f.to_string()),
        Answer::NxDomain => State::NoRecord,
        _ => {
            let spf: Vec<String> = answer
                .txts()
                .into_iter()
                .filter(|t| is_spf_record(t))
                .collect();
            match spf.len() {
                0 => State::NoRecord,
                1 => {
                    let (record, errors) = parse_record_lenient(&spf[0]);
                    State::Record { record, errors }
                }
                n => State::Multiple(n),
            }
        }
    }
}

/// Fetches the tree breadth-first, each level's TXT queries at once.
async fn fetch_tree(dns: &Dns, root: &str, root_answer: Answer, env: &Env) -> Tree {
    let mut nodes = BTreeMap::new();
    nodes.insert(
        root.to_string(),
        Node {
            state: classify(&root_answer),
            answer: root_answer,
        },
    );
    let mut level = vec![root.to_string()];
    let mut cut = 0;
    while !level.is_empty() {
        let mut next: Vec<String> = Vec::new();
        for d in &level {
            if let Some(Node {
                state: State::Record { record, .. },
                ..
            }) = nodes.get(d)
            {
                for e in env.edges(record, d) {
                    if let Some(t) = e.target {
                        if !nodes.contains_key(&t) && !next.contains(&t) {
                            next.push(t);
                        }
                    }
                }
            }
        }
        let room = MAX_NODES.saturating_sub(nodes.len());
        if next.len() > room {
            cut += next.len() - room;
            next.truncate(room);
        }
        let answers = join_all(next.iter().map(|d| dns.query(d, RType::Txt))).await;
        for (d, answer) in next.iter().zip(answers) {
            nodes.insert(
                d.clone(),
                Node {
                    state: classify(&answer),
                    answer,
                },
            );
        }
        level = next;
    }
    Tree {
        root: root.to_string(),
        nodes,
        cut,
    }
}

/// The whole tree walked in evaluation order, every include followed each
/// time it appears, as check_host() would if nothing matched.
#[derive(Default)]
struct Walk {
    /// DNS-querying terms (capped once past the limit).
    lookups: u32,
    /// The term that is lookup number 11: (domain, term).
    breaker: Option<(String, String)>,
    /// Chains that come back to a domain already on the path.
    loops: Vec<Vec<String>>,
}

fn walk(tree: &Tree, env: &Env, domain: &str, path: &mut Vec<String>, w: &mut Walk) {
    let Some(Node {
        state: State::Record { record, .. },
        ..
    }) = tree.nodes.get(domain)
    else {
        return;
    };
    let edges = env.edges(record, domain);
    let count = |term: &str, w: &mut Walk| {
        w.lookups += 1;
        if w.lookups == MAX_LOOKUPS + 1 && w.breaker.is_none() {
            w.breaker = Some((domain.to_string(), term.to_string()));
        }
    };
    let follow = |term: &str, w: &mut Walk, path: &mut Vec<String>| {
        let Some(target) = edges
            .iter()
            .find(|e| e.term == term)
            .and_then(|e| e.target.clone())
        else {
            return;
        };
        if path.contains(&target) {
            let mut chain = path.clone();
            chain.push(target);
            if !w.loops.contains(&chain) {
                w.loops.push(chain);
            }
            return;
        }
        // Far past the limit the exact count stops mattering; bound the walk.
        if w.lookups > 100 * MAX_LOOKUPS {
            return;
        }
        path.push(target.clone());
        walk(tree, env, &target, path, w);
        path.pop();
    };
    for (t, _, m) in record.directives() {
        if m.queries_dns() {
            count(&t.text, w);
        }
        if matches!(m, Mechanism::Include(_)) {
            follow(&t.text, w, path);
        }
    }
    if record.all().is_none() {
        if let Some((t, _)) = record.redirect() {
            count(&t.text, w);
            follow(&t.text, w, path);
        }
    }
}

/// Lookups of a node with everything below it; `None` if it loops.
fn subtree(
    tree: &Tree,
    env: &Env,
    domain: &str,
    path: &mut Vec<String>,
    memo: &mut BTreeMap<String, Option<u32>>,
) -> Option<u32> {
    if let Some(v) = memo.get(domain) {
        return *v;
    }
    if path.iter().any(|p| p == domain) {
        return None;
    }
    let Some(Node {
        state: State::Record { record, .. },
        ..
    }) = tree.nodes.get(domain)
    else {
        return Some(0);
    };
    path.push(domain.to_string());
    let mut total = Some(lookup_terms(record));
    for e in env.edges(record, domain) {
        if let Some(t) = &e.target {
            let sub = subtree(tree, env, t, path, memo);
            total = match (total, sub) {
                (Some(a), Some(b)) => Some(a.saturating_add(b)),
                _ => None,
            };
        }
    }
    path.pop();
    memo.insert(domain.to_string(), total);
    total
}

/// Writes the tree as indented comment lines.
struct Describe<'t> {
    tree: &'t Tree,
    env: &'t Env,
    path: Vec<String>,
    memo: BTreeMap<String, Option<u32>>,
    shown: HashSet<String>,
    lines: Vec<String>,
}

impl Describe<'_> {
    fn node(&mut self, domain: &str, via: Option<&str>, depth: usize) {
        if self.lines.len() >= MAX_TREE_LINES {
            return;
        }
        let pad = "  ".repeat(depth);
        let via = via.map(|v| format!("{} → ", shown(v))).unwrap_or_default();
        if self.path.iter().any(|p| p == domain) {
            self.lines.push(format!(
                "; {pad}{via}{domain}: loops back (unbounded lookups)"
            ));
            return;
        }
        let tree = self.tree;
        let node = tree.nodes.get(domain);
        let what = match node.map(|n| &n.state) {
            None => {
                self.lines.push(format!(
                    "; {pad}{via}{domain}: not fetched (tree over {MAX_NODES} records)"
                ));
                return;
            }
            Some(State::NoRecord) => "no SPF record".to_string(),
            Some(State::Multiple(n)) => format!("{n} SPF records"),
            Some(State::Failed(f)) => format!("lookup failed: {f}"),
            Some(State::Record { record, errors }) => {
                let own = lookup_terms(record);
                let total = subtree(tree, self.env, domain, &mut Vec::new(), &mut self.memo)
                    .map_or("unbounded (loop)".to_string(), |t| t.to_string());
                let err = if errors.is_empty() {
                    String::new()
                } else {
                    format!(", {} syntax error(s)", errors.len())
                };
                format!("{own} lookup(s) here, {total} with its includes{err}")
            }
        };
        let repeat = !self.shown.insert(domain.to_string());
        self.lines.push(format!(
            "; {pad}{via}{domain}: {what}{}",
            if repeat { " (as above)" } else { "" }
        ));
        if repeat {
            return;
        }
        if let Some(Node {
            state: State::Record { record, .. },
            ..
        }) = node
        {
            self.path.push(domain.to_string());
            for e in self.env.edges(record, domain) {
                match &e.target {
                    Some(t) => self.node(t, Some(&e.term), depth + 1),
                    None => self.lines.push(format!(
                        "; {pad}  {} → depends on the sending IP; not followed",
                        shown(&e.term)
                    )),
                }
            }
            self.path.pop();
        }
    }
}

/// The tree as evidence: one comment line per node with its lookups, then
/// each record in zone-file syntax.
fn tree_evidence(tree: &Tree, env: &Env) -> Vec<String> {
    let mut d = Describe {
        tree,
        env,
        path: Vec::new(),
        memo: BTreeMap::new(),
        shown: HashSet::new(),
        lines: Vec::new(),
    };
    d.node(&tree.root, None, 0);
    let mut lines = d.lines;
    if lines.len() >= MAX_TREE_LINES {
        lines.push(";   … (tree cut short)".into());
    }
    if tree.cut > 0 {
        lines.push(format!(
            ";   {} more include/redirect targets not fetched (over {MAX_NODES} records)",
            tree.cut
        ));
    }
    let mut records: Vec<String> = vec![format!(
        "; SPF include tree of {} (lookups per record):",
        tree.root
    )];
    records.extend(lines);
    // The records themselves, root first.
    let mut order: Vec<&String> = vec![&tree.root];
    order.extend(tree.nodes.keys().filter(|k| **k != tree.root));
    for d in order {
        if let Some(n) = tree.nodes.get(d) {
            records.extend(
                n.answer
                    .records()
                    .iter()
                    .filter(|r| {
                        r.txt().is_some_and(|t| is_spf_record(&t))
                            || matches!(r.data, RData::Cname(_))
                    })
                    .map(|r| r.to_zone()),
            );
        }
    }
    crate::dns::dedup(records)
}

/// About how many bytes the TXT answer takes on the wire (header, question,
/// each record with a compressed owner name).
fn wire_size(name: &str, answer: &Answer) -> usize {
    let qname = fqdn(name).len() + 1;
    let mut size = 12 + qname + 4;
    for r in answer.records() {
        let rdlen = match &r.data {
            RData::Txt(parts) => parts.iter().map(|p| p.len() + 1).sum(),
            RData::Cname(t) => t.len() + 1,
            _ => 0,
        };
        size += 2 + 10 + rdlen;
    }
    size
}

/// The spf check for `domain` with the MAIL FROM `sender`, HELO `helo`, and
/// the sending `ips`.
pub async fn check(
    dns: &Dns,
    domain: &str,
    sender: &str,
    helo: &str,
    ips: &[IpAddr],
) -> Vec<Finding> {
    let d = fqdn(domain);
    let d_ = d.trim_end_matches('.');
    let (txt, spf99) = tokio::join!(dns.query(domain, RType::Txt), dns.query(domain, RType::Spf));
    let mut out = Vec::new();
    let txt_evidence = txt.evidence(domain, RType::Txt);
    match classify(&txt) {
        State::Failed(f) => {
            return vec![Finding::new(
                Code::SpfLookupFailed,
                format!(
                    "the TXT records of {d} could not be looked up ({f}): receivers get temperror"
                ),
            )
            .evidence(txt_evidence)];
        }
        State::NoRecord => {
            let type99: Vec<String> = spf99
                .txts()
                .into_iter()
                .filter(|t| is_spf_record(t))
                .collect();
            if let Some(text) = type99.first() {
                return vec![Finding::new(
                    Code::SpfType99Only,
                    format!("{d} publishes its SPF record only as type SPF (99), which receivers do not read"),
                )
                .evidence([txt_evidence, spf99.evidence(domain, RType::Spf)].concat())
                .fix(format!(
                    "Publish it as TXT: `{d} TXT {}`",
                    crate::dns::quote_txt(text.as_bytes())
                ))];
            }
            return vec![Finding::new(
                Code::SpfNoRecord,
                format!("{d} has no SPF record (no TXT record starting v=spf1)"),
            )
            .evidence(txt_evidence)
            .fix(format!(
                "Publish one TXT record listing your senders, e.g. `{d} TXT \"v=spf1 {}-all\"`.",
                ips.iter()
                    .map(|ip| format!("{}:{ip} ", if ip.is_ipv4() { "ip4" } else { "ip6" }))
                    .collect::<String>()
            ))];
        }
        State::Multiple(n) => {
            return vec![Finding::new(
                Code::SpfMultipleRecords,
                format!(
                    "{d} has {n} SPF records; with more than one every receiver gets permerror"
                ),
            )
            .evidence(txt_evidence)];
        }
        State::Record { .. } => {}
    }

    let env = Env {
        sender: sender.to_string(),
        helo: helo.to_string(),
        ip: ips.first().copied(),
    };
    let tree = fetch_tree(dns, domain, txt.clone(), &env).await;
    let evidence = tree_evidence(&tree, &env);
    let mut w = Walk::default();
    walk(&tree, &env, domain, &mut vec![domain.to_string()], &mut w);

    // Per node: syntax, missing or failed includes, ptr, +all, size.
    for (name, node) in &tree.nodes {
        let nd = fqdn(name);
        let nd_ = nd.trim_end_matches('.');
        let node_ev = node.answer.evidence(name, RType::Txt);
        match &node.state {
            State::Record { record, errors } => {
                for e in errors {
                    out.push(
                        Finding::new(
                            Code::SpfSyntaxError,
                            format!("{nd_}'s SPF record: syntax error {e}"),
                        )
                        .evidence(
                            [
                                node_ev.clone(),
                                vec![
                                    format!("; {}", shown(&record.text)),
                                    format!(
                                        "; {}^ {}",
                                        " ".repeat(
                                            shown(record.text.get(..e.position).unwrap_or(""))
                                                .len()
                                        ),
                                        e.message
                                    ),
                                ],
                            ]
                            .concat(),
                        )
                        .fix(format!(
                            "Correct or remove `{}` in {nd_}'s record (position {}): {}.",
                            shown(&e.term),
                            e.position + 1,
                            e.message
                        )),
                    );
                }
                if let Some((t, q)) = record.all() {
                    if q == Qualifier::Pass {
                        out.push(
                            Finding::new(
                                Code::SpfPlusAll,
                                format!("`{}` in {nd_}'s record lets any host on the internet pass SPF for {d}", t.text),
                            )
                            .evidence(node_ev.clone()),
                        );
                    }
                }
                if record
                    .directives()
                    .any(|(_, _, m)| matches!(m, Mechanism::Ptr(_)))
                {
                    out.push(
                        Finding::new(
                            Code::SpfPtrUsed,
                            format!("{nd_}'s SPF record uses the deprecated ptr mechanism"),
                        )
                        .evidence(node_ev.clone()),
                    );
                }
            }
            State::NoRecord | State::Multiple(_) if *name != tree.root => {
                let via = parents(&tree, &env, name);
                let what = match node.state {
                    State::Multiple(n) => format!("has {n} SPF records"),
                    _ => "has no SPF record".into(),
                };
                out.push(
                    Finding::new(
                        Code::SpfIncludeNoSpf,
                        format!("{via} names {nd}, which {what}: every evaluation reaching it is permerror"),
                    )
                    .evidence([evidence.clone(), node_ev.clone()].concat())
                    .fix(format!("Correct the domain in `{via}` (check the provider's documentation) or remove the term.")),
                );
            }
            State::Failed(f) if *name != tree.root => {
                out.push(
                    Finding::new(
                        Code::SpfLookupFailed,
                        format!("{nd}, included by {d_}'s SPF, could not be looked up ({f})"),
                    )
                    .evidence(node_ev.clone()),
                );
            }
            _ => {}
        }
        let size = wire_size(name, &node.answer);
        if size > UDP_LIMIT {
            out.push(
                Finding::new(
                    Code::SpfNeedsTcp,
                    format!(
                        "the TXT answer for {nd} is about {size} bytes, over the {UDP_LIMIT} of plain DNS over UDP"
                    ),
                )
                .evidence(node_ev.clone()),
            );
        }
    }

    // The root record's own shape.
    if let Some(Node {
        state: State::Record { record, .. },
        ..
    }) = tree.nodes.get(domain)
    {
        let root_ev = txt.evidence(domain, RType::Txt);
        match (record.all(), record.redirect()) {
            (Some((t, Qualifier::Neutral)), _) => out.push(
                Finding::new(Code::SpfNeutralAll, format!("{d_}'s SPF record ends in `{}`: unlisted senders are neutral, not fail", t.text))
                    .evidence(root_ev.clone()),
            ),
            (None, None) => out.push(
                Finding::new(Code::SpfNoAll, format!("{d_}'s SPF record has no `all` and no `redirect=`: unlisted senders are neutral"))
                    .evidence(root_ev.clone())
                    .fix(format!("Append `-all` (or `~all`) to {d_}'s record.")),
            ),
            _ => {}
        }
        for (name, node) in &tree.nodes {
            if let State::Record { record, .. } = &node.state {
                if let (Some((a, _)), Some((r, _))) = (record.all(), record.redirect()) {
                    out.push(
                        Finding::new(
                            Code::SpfRedirectIgnored,
                            format!("{}'s SPF record has both `{}` and `{}`; the redirect is never used", fqdn(name), a.text, r.text),
                        )
                        .evidence(node.answer.evidence(name, RType::Txt)),
                    );
                }
            }
        }
    }

    // The lookup limit over the whole tree.
    let total = w.lookups;
    for chain in &w.loops {
        out.push(
            Finding::new(
                Code::SpfIncludeLoop,
                format!(
                    "the SPF include chain loops: {} (permerror once the 10 lookups are spent)",
                    chain.join(" → ")
                ),
            )
            .evidence(evidence.clone())
            .fix(format!(
                "Remove the include/redirect in {}'s record that points back at {}.",
                chain[chain.len() - 2],
                chain[chain.len() - 1]
            )),
        );
    }
    if total > MAX_LOOKUPS || !w.loops.is_empty() {
        let count = if w.loops.is_empty() {
            format!("{total} DNS-querying terms")
        } else {
            "an unbounded number of DNS-querying terms (a loop)".to_string()
        };
        let breaker = w
            .breaker
            .as_ref()
            .map(|(dom, term)| format!("; the 11th is `{}` in {}", shown(term), fqdn(dom)))
            .unwrap_or_default();
        out.push(
            Finding::new(
                Code::SpfTooManyLookups,
                format!("{d_}'s SPF tree has {count}, over the limit of {MAX_LOOKUPS}{breaker}: receivers that get that far return permerror"),
            )
            .evidence(evidence.clone()),
        );
    } else if total >= 8 {
        out.push(
            Finding::new(
                Code::SpfLookupsNearLimit,
                format!(
                    "{d_}'s SPF tree uses {total} of the {MAX_LOOKUPS} allowed DNS-querying terms"
                ),
            )
            .evidence(evidence.clone()),
        );
    }

    // mx hosts and void lookups of the terms that name fixed domains.
    out.extend(target_findings(dns, &tree, &env, &d).await);

    // check_host() per sending IP, over the warm cache.
    if ips.is_empty() {
        out.push(Finding::new(
            Code::SpfNoIp,
            format!("no sending IP given (--ip): {d_}'s record was checked, but not whether it authorises your server"),
        ));
    } else {
        let evals = join_all(
            ips.iter()
                .map(|ip| check_host(dns, *ip, domain, sender, helo)),
        )
        .await;
        let uses_ptr = tree.nodes.values().any(|n| {
            matches!(&n.state, State::Record { record, .. } if record.directives().any(|(_, _, m)| matches!(m, Mechanism::Ptr(_))))
        });
        for (ip, ev) in ips.iter().zip(&evals) {
            if uses_ptr {
                let rev = reverse_name(*ip);
                let ptr = dns.query(&rev, RType::Ptr).await;
                if ptr.names().len() > MAX_NAMES {
                    out.push(
                        Finding::new(
                            Code::SpfPtrOverLimit,
                            format!("{ip} has {} PTR names; the ptr mechanism looks at the first {MAX_NAMES} only", ptr.names().len()),
                        )
                        .evidence(ptr.evidence(&rev, RType::Ptr)),
                    );
                }
            }
            if let Some(f) = ip_finding(&d, ev) {
                out.push(f);
            }
        }
    }

    if !out
        .iter()
        .any(|f| matches!(f.status, crate::Status::Fail | crate::Status::Error))
    {
        let authorised = if ips.is_empty() {
            String::new()
        } else {
            format!(
                " and authorises {}",
                ips.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        out.push(
            Finding::new(
                Code::SpfOk,
                format!(
                    "{d} has one valid SPF record ({total} of {MAX_LOOKUPS} lookups){authorised}"
                ),
            )
            .evidence(evidence),
        );
    }
    out
}

/// The terms (as `domain: term`) whose include/redirect names `target`.
fn parents(tree: &Tree, env: &Env, target: &str) -> String {
    let mut v = Vec::new();
    for (name, node) in &tree.nodes {
        if let State::Record { record, .. } = &node.state {
            for e in env.edges(record, name) {
                if e.target.as_deref() == Some(target) {
                    v.push(format!("`{}` in {}", shown(&e.term), fqdn(name)));
                }
            }
        }
    }
    if v.is_empty() {
        "a term".into()
    } else {
        v.join(", ")
    }
}

/// The mx and void-lookup limits, for every a/mx term in the tree whose
/// target is known without an evaluation (queried all at once).
async fn target_findings(dns: &Dns, tree: &Tree, env: &Env, d: &str) -> Vec<Finding> {
    let d_ = d.trim_end_matches('.');
    struct Probe {
        domain: String,
        term: String,
        target: String,
        mx: bool,
    }
    let mut probes = Vec::new();
    for (name, node) in &tree.nodes {
        let State::Record { record, .. } = &node.state else {
            continue;
        };
        for (t, _, m) in record.directives() {
            let (spec, mx) = match m {
                Mechanism::A { domain, .. } => (domain.as_ref(), false),
                Mechanism::Mx { domain, .. } => (domain.as_ref(), true),
                _ => continue,
            };
            let target = match spec {
                None => Some(name.clone()),
                Some(ms) => env.target(ms, name),
            };
            if let Some(target) = target {
                probes.push(Probe {
                    domain: name.clone(),
                    term: t.text.clone(),
                    target,
                    mx,
                });
            }
            // Past the lookup limit the record is broken anyway; a record
            // with thousands of terms must not cost thousands of queries.
            if probes.len() >= 3 * MAX_LOOKUPS as usize {
                break;
            }
        }
    }
    let answers = join_all(probes.iter().map(|p| async move {
        if p.mx {
            (dns.query(&p.target, RType::Mx).await, None)
        } else {
            let (a, aaaa) = dns.addresses(&p.target).await;
            (a, Some(aaaa))
        }
    }))
    .await;
    // The MX hosts' addresses, all in one more round, so that the per-IP
    // evaluations that follow find every answer in the cache.
    let mut hosts: Vec<String> = answers
        .iter()
        .flat_map(|(a, _)| a.mxs().into_iter().take(MAX_NAMES).map(|(_, h)| h))
        .filter(|h| h != ".")
        .collect();
    hosts.sort();
    hosts.dedup();
    join_all(hosts.iter().map(|h| dns.addresses(h))).await;
    let mut out = Vec::new();
    let mut voids = Vec::new();
    let mut void_ev = Vec::new();
    for (p, (ans, aaaa)) in probes.iter().zip(&answers) {
        let void = match aaaa {
            Some(aaaa) => ans.is_empty_answer() && aaaa.is_empty_answer(),
            None => ans.is_empty_answer(),
        };
        if void {
            voids.push(format!("`{}` in {}", shown(&p.term), fqdn(&p.domain)));
            void_ev.extend(ans.evidence(&p.target, if p.mx { RType::Mx } else { RType::A }));
            if let Some(aaaa) = aaaa {
                void_ev.extend(aaaa.evidence(&p.target, RType::Aaaa));
            }
        }
        if p.mx && ans.mxs().len() > MAX_NAMES {
            out.push(
                Finding::new(
                    Code::SpfMxTooMany,
                    format!(
                        "`{}` in {}'s record names {}, which has {} MX hosts; more than {MAX_NAMES} is permerror",
                        shown(&p.term),
                        fqdn(&p.domain),
                        fqdn(&p.target),
                        ans.mxs().len()
                    ),
                )
                .evidence(ans.evidence(&p.target, RType::Mx)),
            );
        }
    }
    if voids.len() > MAX_VOID_LOOKUPS as usize {
        out.push(
            Finding::new(
                Code::SpfTooManyVoidLookups,
                format!(
                    "{} terms in {d_}'s SPF tree name domains with no records ({}); more than {MAX_VOID_LOOKUPS} is permerror",
                    voids.len(),
                    voids.join(", ")
                ),
            )
            .evidence(crate::dns::dedup(void_ev)),
        );
    }
    out
}

/// The finding for one IP's evaluation, if it did not pass.
fn ip_finding(d: &str, ev: &Evaluation) -> Option<Finding> {
    let d_ = d.trim_end_matches('.');
    let ip = ev.ip;
    let trace: Vec<String> = ev
        .trace
        .iter()
        .map(|l| format!("; {}{}", "  ".repeat(l.depth as usize), l.text))
        .collect();
    let decided = match (&ev.deciding_term, &ev.deciding_domain) {
        (Some(t), Some(dom)) => format!(", decided by `{t}` in {}", fqdn(dom)),
        _ => String::new(),
    };
    let why = ev
        .reason
        .as_deref()
        .map(|r| format!(": {r}"))
        .unwrap_or_default();
    match ev.result {
        SpfResult::Pass => None,
        SpfResult::TempError => Some(
            Finding::new(
                Code::SpfLookupFailed,
                format!("SPF for {ip} could not be evaluated (temperror{why})"),
            )
            .evidence(trace),
        ),
        result => {
            let mech = if ip.is_ipv4() { "ip4" } else { "ip6" };
            let fix = match result {
                SpfResult::PermError => format!(
                    "Fix the error in {d_}'s SPF tree first{}; until then every receiver gets permerror for every sender.",
                    ev.deciding_term.as_deref().map(|t| format!(" (`{t}`)")).unwrap_or_default()
                ),
                _ => format!(
                    "Add `{mech}:{ip}` to {d_}'s record before the `all` term, or the `include:` of the service that sends from {ip}."
                ),
            };
            Some(
                Finding::new(
                    Code::SpfIpNotPermitted,
                    format!(
                        "SPF gives {result} for {ip} sending as {}{decided}{why}",
                        ev.sender
                    ),
                )
                .evidence(trace)
                .fix(fix),
            )
        }
    }
}
