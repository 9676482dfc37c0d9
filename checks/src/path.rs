//! path — can this host deliver to a recipient domain? Run on the sending
//! host, it checks what the sending side's own path needs: resolvers that
//! answer (a retired DNS server behind "400 4.4.7 Message delayed"), the
//! recipient's MX, port 25 to each MX, and a smart host.
//!
//! Each configured resolver is asked directly, on its own: the recipient's
//! MX (must answer) and a random name under it (must be NXDOMAIN — an
//! address means the resolver rewrites NXDOMAIN). Answers are compared.
//! Then, through the first resolver that works and concurrently: the `mx`
//! check, the `smtp` check (port 25 to each MX, the one SMTP probe; when
//! every connect times out, that is this host's outbound port 25 being
//! blocked: `path.port25_blocked`), and the smart host (RFC 6409
//! submission on 587 with STARTTLS, or RFC 8314 implicit TLS on 465): its
//! greeting, EHLO, TLS and certificate, and the AUTH mechanisms offered
//! before and after TLS. Only EHLO, STARTTLS and QUIT are ever sent: no
//! credentials, no MAIL/RCPT/DATA.
//!
//! The steps are library functions so other commands (`explain --check`,
//! for the remote server named in a bounce) can run them: [`run`] for the
//! whole report, or [`resolver_health`], [`first_working`], [`port25`] and
//! [`smarthost`] one by one.
//!
//! Codes: path.resolver_ok, path.no_resolver, path.resolver_timeout,
//! path.resolver_refused, path.resolver_servfail,
//! path.resolver_rewrites_nxdomain, path.resolvers_disagree,
//! path.no_working_resolver, path.port25_blocked, path.smarthost_ok,
//! path.smarthost_lookup_failed, path.smarthost_no_address,
//! path.smarthost_connect_failed, path.smarthost_connect_timeout,
//! path.smarthost_no_greeting, path.smarthost_ehlo_rejected,
//! path.smarthost_starttls_missing, path.smarthost_tls_failed,
//! path.smarthost_cert_invalid, path.smarthost_auth_before_tls,
//! path.smarthost_no_auth (and the mx.* and smtp.* codes of those checks).

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::{Duration, Instant};

use futures::future::join_all;

use crate::dns::{dedup, fqdn, normalize, Answer, Dns, DnsConfig, DnsError, Failure, RType};
use crate::smtp::probe::{date, CertProblem, Connect, Prober};
use crate::{worst, CheckReport, Code, Finding, Options, Report, Status, Target};

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

/// The resolvers to test: each `--resolver` given, else the system's.
pub fn nameservers(
    resolvers: &[SocketAddr],
    resolv_conf: &Path,
) -> std::io::Result<Vec<Nameserver>> {
    if resolvers.is_empty() {
        return read_resolv_conf(resolv_conf);
    }
    Ok(resolvers
        .iter()
        .enumerate()
        .map(|(i, a)| Nameserver {
            addr: *a,
            source: format!("--resolver #{}", i + 1),
        })
        .collect())
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

/// The first resolver that works, as a client of its own (with the zones
/// and timeouts of `config`), and the line saying which it is.
pub fn first_working(
    verdicts: &[ResolverVerdict],
    config: &DnsConfig,
) -> Result<Option<(Dns, String)>, DnsError> {
    let Some(first) = verdicts.iter().find(|v| v.working) else {
        return Ok(None);
    };
    let config = DnsConfig {
        resolvers: vec![first.server.addr],
        ..config.clone()
    };
    let through = format!(
        "; asked through resolver {} (from {})",
        first.server.addr, first.server.source
    );
    Ok(Some((Dns::new(&config)?, through)))
}

/// Port 25 to each MX of `domain`: the `smtp` check as it is, except that
/// every connect timing out is judged from this host's side — outbound
/// port 25 is blocked here — as `path.port25_blocked`, a fail.
pub async fn port25(
    dns: &Dns,
    domain: &str,
    helo: Option<&str>,
    options: &Options,
) -> Vec<Finding> {
    crate::smtp::check(dns, domain, helo, options)
        .await
        .into_iter()
        .map(|f| {
            if f.code != Code::SmtpPort25Blocked {
                return f;
            }
            // "every connection to port 25 timed out (hosts): outbound port
            // 25 may be blocked …": keep what was tried, give the verdict.
            let tried = f
                .message
                .split(": outbound port 25")
                .next()
                .unwrap_or(&f.message);
            Finding::new(
                Code::PathPort25Blocked,
                format!("outbound port 25 is blocked from this host (ISP, cloud provider or firewall): {tried}"),
            )
            .evidence(f.evidence)
        })
        .collect()
}

/// Which TLS a smart host speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmartTls {
    /// Plain text first, then STARTTLS (submission, port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Implicit,
}

/// A smart host (relay) to test: a host name or an IP address, and a port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmartHost {
    /// A host name (normalised) or an IP address.
    pub host: String,
    pub port: u16,
    pub tls: SmartTls,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SmartHostError {
    #[error("is empty: give HOST[:PORT], e.g. smtp.example.net:587")]
    Empty,
    #[error("has a bad port {0:?} (1-65535; 587 for STARTTLS, 465 for implicit TLS)")]
    Port(String),
    #[error("is not a host name or IP address ({0})")]
    Host(String),
}

impl SmartHost {
    /// `HOST`, `HOST:PORT`, `IPv4[:PORT]`, `IPv6`, `[IPv6]:PORT`. The port
    /// is 587 by default; 465 means implicit TLS.
    pub fn parse(s: &str) -> Result<SmartHost, SmartHostError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(SmartHostError::Empty);
        }
        let (host, port) = if let Ok(ip) = s.parse::<IpAddr>() {
            (ip.to_string(), None)
        } else if let Some(rest) = s.strip_prefix('[') {
            let (ip, after) = rest
                .split_once(']')
                .ok_or_else(|| SmartHostError::Host(format!("no closing ] in {s:?}")))?;
            let ip: IpAddr = ip
                .parse()
                .map_err(|_| SmartHostError::Host(format!("{ip:?} is not an IP address")))?;
            let port = match after {
                "" => None,
                p => Some(
                    p.strip_prefix(':')
                        .ok_or_else(|| SmartHostError::Port(p.to_string()))?,
                ),
            };
            (ip.to_string(), port)
        } else {
            match s.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (s.to_string(), None),
            }
        };
        let port = match port {
            None => 587,
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 => n,
                _ => return Err(SmartHostError::Port(p.to_string())),
            },
        };
        if host.is_empty() {
            return Err(SmartHostError::Empty);
        }
        let host = if host.parse::<IpAddr>().is_ok() {
            host
        } else {
            crate::names::host_syntax(&host).map_err(SmartHostError::Host)?;
            normalize(&host)
        };
        Ok(SmartHost {
            host,
            port,
            tls: if port == 465 {
                SmartTls::Implicit
            } else {
                SmartTls::StartTls
            },
        })
    }

    fn ip(&self) -> Option<IpAddr> {
        self.host.parse().ok()
    }
}

/// Tests the smart host: its address (through `dns`, the first working
/// resolver; None when there is none), then one probe — EHLO, STARTTLS or
/// implicit TLS, QUIT — judged as a submission server.
pub async fn smarthost(
    dns: Option<&Dns>,
    sh: &SmartHost,
    helo: Option<&str>,
    options: &Options,
) -> Vec<Finding> {
    let start = Instant::now();
    let name = match sh.ip() {
        Some(ip) => ip.to_string(),
        None => fqdn(&sh.host),
    };
    let (ip, evidence) = match (sh.ip(), dns) {
        (Some(ip), _) => (ip, Vec::new()),
        (None, None) => {
            return vec![Finding::new(
                Code::PathSmarthostLookupFailed,
                format!(
                    "the smart host {name} could not be looked up: no resolver of this host works"
                ),
            )]
        }
        (None, Some(dns)) => {
            let (a, aaaa) = dns.addresses(&sh.host).await;
            let mut ev = a.evidence(&sh.host, RType::A);
            ev.extend(aaaa.evidence(&sh.host, RType::Aaaa));
            let ev = dedup(ev);
            match a.ips().into_iter().chain(aaaa.ips()).next() {
                Some(ip) => (ip, ev),
                None => {
                    if let Some(f) = a.failure().or(aaaa.failure()) {
                        return vec![Finding::new(
                            Code::PathSmarthostLookupFailed,
                            format!(
                                "the address of the smart host {name} could not be looked up: {f}"
                            ),
                        )
                        .evidence(ev)];
                    }
                    let why = if matches!(a, Answer::NxDomain) {
                        "the name does not exist"
                    } else {
                        "it has no A or AAAA record"
                    };
                    return vec![Finding::new(
                        Code::PathSmarthostNoAddress,
                        format!("the smart host {name} has no address: {why}"),
                    )
                    .evidence(ev)];
                }
            }
        }
    };
    let addr = options
        .smtp_routes
        .iter()
        .find(|(i, _)| *i == ip)
        .map(|(_, to)| *to)
        .unwrap_or_else(|| SocketAddr::new(ip, sh.port));
    let prober = Prober::new(
        &options.smtp_trust_roots,
        crate::smtp::timeouts(options, start.elapsed()),
    );
    let r = match sh.tls {
        SmartTls::StartTls => prober.probe(&sh.host, addr, helo).await,
        SmartTls::Implicit => prober.probe_implicit_tls(&sh.host, addr, helo).await,
    };
    let at = if sh.ip().is_some() {
        format!("smart host {ip} (port {})", sh.port)
    } else {
        format!("smart host {name} ({ip}, port {})", sh.port)
    };
    let mut ev = evidence;
    ev.extend(r.transcript.iter().map(|l| {
        if l.starts_with(';') {
            l.clone()
        } else {
            format!("; {l}")
        }
    }));
    let f = |code: Code, msg: String| Finding::new(code, msg).evidence(ev.clone());
    let stopped = || {
        r.stopped
            .as_ref()
            .map(|s| s.why.to_string())
            .unwrap_or_else(|| "no reply".into())
    };

    match &r.connect {
        Connect::Connected => {}
        Connect::Refused => {
            return vec![f(
                Code::PathSmarthostConnectFailed,
                format!("{at} refused the connection: nothing listens on port {}, or a firewall rejects", sh.port),
            )]
        }
        Connect::Failed(e) => {
            return vec![f(
                Code::PathSmarthostConnectFailed,
                format!("could not connect to {at}: {e}"),
            )]
        }
        Connect::TimedOut => {
            return vec![f(
                Code::PathSmarthostConnectTimeout,
                format!("the connection to {at} timed out (no answer at all): a firewall drops it, or the host is down"),
            )]
        }
    }
    let mut out = Vec::new();
    if r.implicit_tls {
        if let Some(Err(e)) = &r.tls {
            return vec![f(
                Code::PathSmarthostTlsFailed,
                format!("the TLS handshake with {at} failed (port {} expects TLS from the first byte): {e}", sh.port),
            )];
        }
    }
    let Some(banner) = &r.banner else {
        return vec![f(
            Code::PathSmarthostNoGreeting,
            format!(
                "{at} accepted the connection but did not greet: {}",
                stopped()
            ),
        )];
    };
    if banner.code != 220 {
        return vec![f(
            Code::PathSmarthostNoGreeting,
            format!("{at} greeted with {} instead of 220", banner.summary()),
        )];
    }
    if !r.implicit_tls {
        let Some(ehlo) = &r.ehlo else {
            return vec![f(
                Code::PathSmarthostEhloRejected,
                format!("{at} did not answer EHLO {}: {}", r.helo, stopped()),
            )];
        };
        if !ehlo.reply.is_positive() {
            return vec![f(
                Code::PathSmarthostEhloRejected,
                format!("{at} refused EHLO {} with {}", r.helo, ehlo.reply.summary()),
            )];
        }
        if !ehlo.auth.is_empty() {
            out.push(f(
                Code::PathSmarthostAuthBeforeTls,
                format!(
                    "{at} offers AUTH {} before TLS: a client that does not insist on TLS could send its password in clear",
                    ehlo.auth.join(" ")
                ),
            ));
        }
        if !ehlo.starttls {
            out.push(f(
                Code::PathSmarthostStarttlsMissing,
                format!(
                    "{at} does not offer STARTTLS: the password and the mail would travel in clear"
                ),
            ));
            return out;
        }
        if let Some(st) = r.starttls.as_ref().filter(|st| st.code != 220) {
            out.push(f(
                Code::PathSmarthostTlsFailed,
                format!("{at} offers STARTTLS but answered it with {}", st.summary()),
            ));
            return out;
        }
    }
    let info = match &r.tls {
        Some(Ok(info)) => info,
        Some(Err(e)) => {
            out.push(f(
                Code::PathSmarthostTlsFailed,
                format!("the TLS handshake with {at} failed: {e}"),
            ));
            return out;
        }
        None => {
            out.push(f(
                Code::PathSmarthostTlsFailed,
                format!("{at} offers STARTTLS but did not answer it: {}", stopped()),
            ));
            return out;
        }
    };
    let names = info
        .cert
        .as_ref()
        .map(|c| c.names.join(", "))
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "no names".into());
    match &info.cert {
        None => out.push(f(
            Code::PathSmarthostCertInvalid,
            format!("{at} sent no certificate that could be read"),
        )),
        Some(cert) if !cert.problems.is_empty() => {
            let problems: Vec<String> = cert
                .problems
                .iter()
                .map(|p| match p {
                    CertProblem::Expired => format!("expired on {}", date(cert.not_after)),
                    CertProblem::NotYetValid => {
                        format!("not valid before {}", date(cert.not_before))
                    }
                    CertProblem::NameMismatch => format!("for {names}, not for {}", sh.host),
                    CertProblem::Untrusted(why) => format!("untrusted: {why}"),
                })
                .collect();
            out.push(
                f(
                    Code::PathSmarthostCertInvalid,
                    format!("the certificate of {at} is {}", problems.join("; ")),
                )
                .evidence([format!(
                    "; certificate: subject {}; issuer {}; names {names}; valid {} to {}",
                    cert.subject,
                    cert.issuer,
                    date(cert.not_before),
                    date(cert.not_after)
                )]),
            );
        }
        Some(_) => {}
    }
    let after = match &r.ehlo_tls {
        Some(e) if e.reply.is_positive() => e,
        Some(e) => {
            out.push(f(
                Code::PathSmarthostEhloRejected,
                format!(
                    "{at} refused EHLO {} inside TLS with {}",
                    r.helo,
                    e.reply.summary()
                ),
            ));
            return out;
        }
        None => {
            out.push(f(
                Code::PathSmarthostEhloRejected,
                format!(
                    "{at} did not answer EHLO {} inside TLS: {}",
                    r.helo,
                    stopped()
                ),
            ));
            return out;
        }
    };
    let how = if r.implicit_tls {
        "implicit TLS"
    } else {
        "STARTTLS"
    };
    if after.auth.is_empty() {
        out.push(f(
            Code::PathSmarthostNoAuth,
            format!("{at} offers no AUTH mechanism after {how}: it can only relay for hosts it trusts by address"),
        ));
    }
    if out.iter().all(|x| x.status <= Status::Info) {
        let valid = info
            .cert
            .as_ref()
            .map(|c| format!("certificate for {names} valid until {}", date(c.not_after)))
            .unwrap_or_default();
        out.push(f(
            Code::PathSmarthostOk,
            format!(
                "{at} greets \"{}\", {how}: {} with {}, {valid}; offers AUTH {} after TLS (none before)",
                banner.summary(),
                info.version,
                info.cipher,
                after.auth.join(" ")
            ),
        ));
    }
    out
}

/// What [`run`] needs beyond the resolvers.
#[derive(Debug, Clone, Default)]
pub struct PathOptions {
    /// Timeouts and zones for every lookup; its resolvers are replaced by
    /// each resolver in turn, then by the first that works.
    pub dns: DnsConfig,
    /// The SMTP probe's port, timeouts, trust roots and routes.
    pub engine: Options,
    /// The name sent in EHLO; the machine's name, or its address literal,
    /// when None.
    pub helo: Option<String>,
    pub smarthost: Option<SmartHost>,
}

/// The whole `path` report for `domain` from this host: sections
/// "resolvers", then (through the first working resolver, concurrently)
/// "mx", "port25" and, with a smart host, "smarthost".
pub async fn run(
    servers: &[Nameserver],
    domain: &str,
    opts: &PathOptions,
) -> Result<Report, DnsError> {
    let start = Instant::now();
    let (resolver_findings, verdicts) = resolver_health(servers, domain, opts.dns.timeout).await;
    let mut checks = vec![CheckReport::new(
        "resolvers",
        resolver_findings,
        start.elapsed(),
    )];
    let working = first_working(&verdicts, &opts.dns)?;
    let helo = opts.helo.clone().or_else(crate::smtp::machine_name);
    let helo = helo.as_deref();
    let dns = working.as_ref().map(|(d, _)| d);
    let timed =
        |id: &'static str, f: Vec<Finding>, t: Instant| CheckReport::new(id, f, t.elapsed());
    let mx_and_25 = async {
        let (dns, through) = working.as_ref()?;
        let t = Instant::now();
        let mx = async {
            let f: Vec<Finding> = crate::mx::check(dns, domain)
                .await
                .into_iter()
                .map(|mut f| {
                    f.evidence.insert(0, through.clone());
                    f
                })
                .collect();
            timed("mx", f, t)
        };
        let p25 = async { timed("port25", port25(dns, domain, helo, &opts.engine).await, t) };
        Some(tokio::join!(mx, p25))
    };
    let relay = async {
        let sh = opts.smarthost.as_ref()?;
        let t = Instant::now();
        Some(timed(
            "smarthost",
            smarthost(dns, sh, helo, &opts.engine).await,
            t,
        ))
    };
    let (mx_and_25, relay) = tokio::join!(mx_and_25, relay);
    if let Some((mx, p25)) = mx_and_25 {
        checks.push(mx);
        checks.push(p25);
    }
    checks.extend(relay);
    Ok(Report {
        domain: domain.to_string(),
        status: worst(checks.iter().map(|c| c.status)),
        target: Target {
            domain: domain.to_string(),
            helo: opts.helo.clone(),
            ..Target::default()
        },
        checks,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smart_host_syntax() {
        let p = |s: &str| SmartHost::parse(s);
        let sh = p("Relay.Example.NET").unwrap();
        assert_eq!(
            (sh.host.as_str(), sh.port, sh.tls),
            ("relay.example.net", 587, SmartTls::StartTls)
        );
        let sh = p("relay.example.net:465").unwrap();
        assert_eq!((sh.port, sh.tls), (465, SmartTls::Implicit));
        assert_eq!(p("192.0.2.7:2525").unwrap().host, "192.0.2.7");
        let sh = p("2001:db8::25").unwrap();
        assert_eq!((sh.host.as_str(), sh.port), ("2001:db8::25", 587));
        let sh = p("[2001:db8::25]:465").unwrap();
        assert_eq!(
            (sh.host.as_str(), sh.port, sh.tls),
            ("2001:db8::25", 465, SmartTls::Implicit)
        );
        assert_eq!(p(""), Err(SmartHostError::Empty));
        assert_eq!(p(":587"), Err(SmartHostError::Empty));
        assert!(matches!(
            p("relay.example.net:0"),
            Err(SmartHostError::Port(_))
        ));
        assert!(matches!(
            p("relay.example.net:65536"),
            Err(SmartHostError::Port(_))
        ));
        assert!(matches!(
            p("relay.example.net:"),
            Err(SmartHostError::Port(_))
        ));
        assert!(matches!(p("relay example"), Err(SmartHostError::Host(_))));
        assert!(matches!(p("[2001:db8::25"), Err(SmartHostError::Host(_))));
        assert!(matches!(p("[not-an-ip]:25"), Err(SmartHostError::Host(_))));
    }

    #[test]
    fn resolv_conf_lines() {
        let ns = parse_resolv_conf("# comment\nsearch corp.example\nnameserver 192.0.2.53\nnameserver fe80::1%eth0 # link\noptions ndots:1\nnameserver bogus\n", "/etc/resolv.conf");
        assert_eq!(ns.len(), 2);
        assert_eq!(ns[0].source, "/etc/resolv.conf:3");
        assert_eq!(ns[1].addr.ip().to_string(), "fe80::1");
        assert_eq!(ns[1].source, "/etc/resolv.conf:4");
    }
}
