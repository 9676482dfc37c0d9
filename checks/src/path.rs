//! path — can this host deliver to a recipient domain? Run on the sending
//! host, it checks what the sending side's own path needs: resolvers that
//! answer (a retired DNS server behind "400 4.4.7 Message delayed"), the
//! recipient's MX, and (with the SMTP probe) port 25 and a smart host.
//!
//! Each configured resolver is asked directly, on its own: the recipient's
//! MX (must answer) and a random name under it (must be NXDOMAIN — an
//! address means the resolver rewrites NXDOMAIN). Answers are compared.
//!
//! Codes: path.resolver_ok, path.no_resolver, path.resolver_timeout,
//! path.resolver_refused, path.resolver_servfail,
//! path.resolver_rewrites_nxdomain, path.resolvers_disagree,
//! path.no_working_resolver.

use std::net::SocketAddr;
use std::path::Path;
use std::time::{Duration, Instant};

use futures::future::join_all;

use crate::dns::{fqdn, Answer, Dns, DnsConfig, Failure, RType};
use crate::{Code, Finding};

/// A resolver and where its configuration came from.
#[derive(Debug, Clone)]
pub struct Nameserver {
    pub addr: SocketAddr,
    /// `/etc/resolv.conf:3`, or `--resolver`.
    pub source: String,
}

/// The `nameserver` lines of a resolv.conf, with their line numbers.
pub fn read_resolv_conf(path: &Path) -> std::io::Result<Vec<Nameserver>> {
    let text = std::fs::read_to_string(path)?;
    Ok(parse_resolv_conf(&text, &path.display().to_string()))
}

pub fn parse_resolv_conf(text: &str, name: &str) -> Vec<Nameserver> {
    text.lines()
        .enumerate()
        .filter_map(|(i, line)| {
            let line = line.split(['#', ';']).next()?.trim();
            let mut words = line.split_whitespace();
            if words.next()? != "nameserver" {
                return None;
            }
            // IPv6 may carry a zone (%eth0); it is not part of the address.
            let ip = words.next()?.split('%').next()?.parse().ok()?;
            Some(Nameserver {
                addr: SocketAddr::new(ip, 53),
                source: format!("{name}:{}", i + 1),
            })
        })
        .collect()
}

/// How one resolver did.
pub struct ResolverVerdict {
    pub server: Nameserver,
    pub mx: Answer,
    pub elapsed: Duration,
    pub working: bool,
}

/// A name that does not exist under `domain`, different every run so no
/// cache can answer it.
fn nx_probe(domain: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "mailpreflight-nx-{:08x}{:04x}.{domain}",
        nanos,
        std::process::id() & 0xffff
    )
}

/// Asks every resolver on its own; the findings, and the resolvers that work.
pub async fn resolver_health(
    servers: &[Nameserver],
    domain: &str,
    timeout: Duration,
) -> (Vec<Finding>, Vec<ResolverVerdict>) {
    if servers.is_empty() {
        return (
            vec![Finding::new(
                Code::PathNoResolver,
                "no nameserver is configured on this host (and no --resolver was given)",
            )],
            Vec::new(),
        );
    }
    let nx = nx_probe(domain);
    let verdicts = join_all(
        servers
            .iter()
            .map(|s| ask_one(s.clone(), domain, &nx, timeout)),
    )
    .await;
    let mut out = Vec::new();
    let mut results = Vec::new();
    for (v, nx_answer) in verdicts {
        let who = format!("{} (from {})", v.server.addr, v.server.source);
        let line = format!("nameserver {}", v.server.addr.ip());
        let mut ev = vec![format!("; {}: {line}", v.server.source)];
        ev.extend(v.mx.evidence(domain, RType::Mx));
        let fix_remove =
            |what: &str| format!("{what}: replace or remove `{line}` at {}.", v.server.source);
        let f = match (&v.mx, &nx_answer) {
            (Answer::Failed(Failure::Timeout), _) => Some(
                Finding::new(
                    Code::PathResolverTimeout,
                    format!(
                        "resolver {who} did not answer within {:.1}s",
                        timeout.as_secs_f64()
                    ),
                )
                .evidence(ev.clone())
                .fix(fix_remove("The resolver is dead or unreachable")),
            ),
            (Answer::Failed(Failure::Refused), _) => Some(
                Finding::new(
                    Code::PathResolverRefused,
                    format!("resolver {who} refused to answer"),
                )
                .evidence(ev.clone())
                .fix(fix_remove("The resolver does not serve this host")),
            ),
            (Answer::Failed(Failure::ServFail), _) => Some(
                Finding::new(
                    Code::PathResolverServfail,
                    format!("resolver {who} answered SERVFAIL for {}", fqdn(domain)),
                )
                .evidence(ev.clone()),
            ),
            (Answer::Failed(other), _) => Some(
                Finding::new(
                    Code::PathResolverTimeout,
                    format!("resolver {who} could not be asked: {other}"),
                )
                .evidence(ev.clone()),
            ),
            (_, Answer::Records(_)) => Some(
                Finding::new(
                    Code::PathResolverRewrites,
                    format!(
                        "resolver {who} returned an address for {}, a name that does not exist",
                        fqdn(&nx)
                    ),
                )
                .evidence(ev.clone())
                .evidence(nx_answer.evidence(&nx, RType::A))
                .fix(fix_remove("The resolver rewrites NXDOMAIN")),
            ),
            _ => None,
        };
        let working = f.is_none();
        match f {
            Some(f) => out.push(f),
            None => out.push(
                Finding::new(
                    Code::PathResolverOk,
                    format!("resolver {who} answers ({} ms)", v.elapsed.as_millis()),
                )
                .evidence(ev),
            ),
        }
        results.push(ResolverVerdict { working, ..v });
    }
    let working: Vec<&ResolverVerdict> = results.iter().filter(|r| r.working).collect();
    if working.is_empty() {
        out.push(Finding::new(
            Code::PathNoWorkingResolver,
            format!("none of the {} configured resolver(s) works: this host cannot look up where to deliver mail", servers.len()),
        ));
    } else if let Some(first) = working.first() {
        let differs: Vec<&&ResolverVerdict> = working
            .iter()
            .filter(|r| {
                r.mx.mxs() != first.mx.mxs() || r.mx.is_empty_answer() != first.mx.is_empty_answer()
            })
            .collect();
        if !differs.is_empty() {
            let mut ev = Vec::new();
            for r in std::iter::once(first).chain(differs.iter().copied()) {
                ev.push(format!("; according to {}:", r.server.addr));
                ev.extend(r.mx.evidence(domain, RType::Mx));
            }
            out.push(
                Finding::new(
                    Code::PathResolversDisagree,
                    format!("the resolvers disagree about the MX of {}", fqdn(domain)),
                )
                .evidence(ev),
            );
        }
    }
    (out, results)
}

async fn ask_one(
    server: Nameserver,
    domain: &str,
    nx: &str,
    timeout: Duration,
) -> (ResolverVerdict, Answer) {
    let config = DnsConfig {
        resolvers: vec![server.addr],
        timeout,
        attempts: 1,
        ..DnsConfig::default()
    };
    let dns = match Dns::new(&config) {
        Ok(d) => d,
        Err(e) => {
            let failed = Answer::Failed(Failure::Other(e.to_string()));
            return (
                ResolverVerdict {
                    server,
                    mx: failed.clone(),
                    elapsed: Duration::ZERO,
                    working: false,
                },
                failed,
            );
        }
    };
    let start = Instant::now();
    let (mx, nx_answer) = tokio::join!(dns.query(domain, RType::Mx), dns.query(nx, RType::A));
    (
        ResolverVerdict {
            server,
            mx,
            elapsed: start.elapsed(),
            working: false,
        },
        nx_answer,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolv_conf_lines() {
        let ns = parse_resolv_conf("# comment\nsearch corp.example\nnameserver 192.0.2.53\nnameserver fe80::1%eth0 # link\noptions ndots:1\nnameserver bogus\n", "/etc/resolv.conf");
        assert_eq!(ns.len(), 2);
        assert_eq!(ns[0].source, "/etc/resolv.conf:3");
        assert_eq!(ns[1].addr.ip().to_string(), "fe80::1");
        assert_eq!(ns[1].source, "/etc/resolv.conf:4");
    }
}
