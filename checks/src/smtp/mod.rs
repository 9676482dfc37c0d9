//! smtp — the domain's mail hosts talk SMTP properly.
//!
//! For each MX host (the most preferred [`MAX_HOSTS`]; the domain itself for
//! an implicit MX) the [`probe`] connects on port 25, reads the greeting,
//! sends EHLO, and upgrades with STARTTLS (RFC 5321, RFC 3207). It reports a
//! connection refused or timed out (every connect timing out points at
//! outbound port 25 being blocked on this side, as many ISPs and clouds do),
//! a greeting that is not 220, is temporary (4xx: rate limiting,
//! greylisting) or names no host, the greeting name against the PTR of the
//! host's address, EHLO refused, STARTTLS missing, a failed handshake, and
//! the certificate: expired, not yet valid, expiring within 14 days, not
//! valid for the MX name, or not chained to a trusted root (RFC 6125,
//! RFC 8461 — senders that verify, under MTA-STS or DANE, refuse these).
//!
//! Only EHLO, STARTTLS and QUIT are ever sent: never MAIL, RCPT or DATA.
//! Probes run in parallel, each bounded in time. Skipped with `--offline`.
//!
//! Codes: smtp.ok, smtp.offline, smtp.no_mail_host, smtp.lookup_failed,
//! smtp.hosts_limited, smtp.connect_failed, smtp.connect_timeout,
//! smtp.port25_blocked, smtp.no_working_host, smtp.banner_timeout,
//! smtp.banner_temporary, smtp.banner_rejected, smtp.banner_no_hostname,
//! smtp.banner_ptr_mismatch, smtp.ehlo_rejected, smtp.starttls_missing,
//! smtp.tls_failed, smtp.cert_expired, smtp.cert_not_yet_valid,
//! smtp.cert_expires_soon, smtp.cert_name_mismatch, smtp.cert_untrusted.

pub mod probe;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::join_all;

use crate::dns::{dedup, fqdn, normalize, reverse_name, Answer, Dns, RType};
use crate::{Check, Code, Ctx, Finding, Options, Status};
use probe::{date, CertProblem, Connect, ProbeReport, Prober, Stage, StopReason, Timeouts};

/// The most MX hosts probed, most preferred first.
pub const MAX_HOSTS: usize = 5;

/// A certificate expiring sooner than this is worth a warning.
const EXPIRY_WARNING: Duration = Duration::from_secs(14 * 86_400);

pub struct SmtpCheck;

#[async_trait::async_trait]
impl Check for SmtpCheck {
    fn id(&self) -> &'static str {
        "smtp"
    }

    fn title(&self) -> &'static str {
        "The mail hosts greet, answer EHLO and offer STARTTLS with a valid certificate (probe only: EHLO, STARTTLS, QUIT)"
    }

    async fn run(&self, ctx: &Ctx) -> Vec<Finding> {
        if ctx.options.offline {
            return vec![Finding::new(
                Code::SmtpOffline,
                "offline: the mail hosts were not probed",
            )];
        }
        let helo = ctx.target.helo.clone().or_else(machine_name);
        check(&ctx.dns, &ctx.target.domain, helo.as_deref(), &ctx.options).await
    }
}

/// The machine's host name, when it is fully qualified; otherwise the probe
/// greets with its address literal, which every server must accept.
pub fn machine_name() -> Option<String> {
    ["/proc/sys/kernel/hostname", "/etc/hostname"]
        .iter()
        .find_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().trim_end_matches('.').to_ascii_lowercase())
        .filter(|s| s.contains('.') && crate::names::host_syntax(s).is_ok())
}

/// One mail host to probe.
struct Host {
    name: String,
    ip: IpAddr,
    /// The MX record and address answers that lead here.
    evidence: Vec<String>,
}

/// The time one host's probe may take: three steps, and no more than what
/// is left of the check's own limit (less a tenth, kept for judging), so the
/// check reports rather than being cut off. `spent` is the time the check
/// has already used (looking up the hosts).
pub fn timeouts(options: &Options, spent: Duration) -> Timeouts {
    let mut t = Timeouts::uniform(options.smtp_timeout);
    let room = options
        .check_timeout
        .saturating_sub(options.check_timeout / 10)
        .saturating_sub(spent);
    t.total = t.total.min(room);
    t
}

/// The smtp check for `domain`: finds its mail hosts and probes them.
pub async fn check(dns: &Dns, domain: &str, helo: Option<&str>, options: &Options) -> Vec<Finding> {
    let start = std::time::Instant::now();
    let mut out = Vec::new();
    let hosts = match mail_hosts(dns, domain, &mut out).await {
        Some(h) => h,
        None => return out,
    };
    let prober = Prober::new(
        &options.smtp_trust_roots,
        timeouts(options, start.elapsed()),
    );
    let probes = hosts.iter().map(|h| {
        let addr = options
            .smtp_routes
            .iter()
            .find(|(ip, _)| *ip == h.ip)
            .map(|(_, to)| *to)
            .unwrap_or_else(|| SocketAddr::new(h.ip, options.smtp_port));
        let prober = &prober;
        async move {
            let rev = reverse_name(h.ip);
            let (report, ptr) = tokio::join!(
                prober.probe(&h.name, addr, helo),
                dns.query(&rev, RType::Ptr)
            );
            (report, ptr)
        }
    });
    let results = join_all(probes).await;

    let mut working = 0;
    let mut temporary = 0;
    let mut timed_out = 0;
    for (h, (report, ptr)) in hosts.iter().zip(&results) {
        if report.greeted() {
            working += 1;
        }
        if report
            .banner
            .as_ref()
            .is_some_and(|b| (400..500).contains(&b.code))
        {
            temporary += 1;
        }
        if report.connect == Connect::TimedOut {
            timed_out += 1;
        }
        out.extend(judge(h, report, ptr));
    }
    if working == 0 && temporary == 0 {
        let names: Vec<String> = hosts
            .iter()
            .map(|h| format!("{} ({})", fqdn(&h.name), h.ip))
            .collect();
        let evidence: Vec<String> = hosts
            .iter()
            .flat_map(|h| h.evidence.iter().cloned())
            .collect();
        if timed_out == hosts.len() {
            out.push(
                Finding::new(
                    Code::SmtpPort25Blocked,
                    format!(
                        "every connection to port {} timed out ({}): outbound port 25 may be blocked from this host, so whether the mail hosts work is unknown",
                        options.smtp_port,
                        names.join(", ")
                    ),
                )
                .evidence(dedup(evidence)),
            );
        } else {
            out.push(
                Finding::new(
                    Code::SmtpNoWorkingHost,
                    format!(
                        "none of the mail hosts of {} completed an SMTP greeting: {}",
                        fqdn(domain),
                        names.join(", ")
                    ),
                )
                .evidence(dedup(evidence)),
            );
        }
    }
    out
}

/// The hosts to probe, most preferred first, or None when there are none
/// (with the finding that says why in `out`).
async fn mail_hosts(dns: &Dns, domain: &str, out: &mut Vec<Finding>) -> Option<Vec<Host>> {
    let d = fqdn(domain);
    let mx = dns.query(domain, RType::Mx).await;
    let mx_ev = mx.evidence(domain, RType::Mx);
    let names: Vec<String> = match &mx {
        Answer::Failed(f) => {
            out.push(
                Finding::new(
                    Code::SmtpLookupFailed,
                    format!("the MX records of {d} could not be looked up: {f}"),
                )
                .evidence(mx_ev),
            );
            return None;
        }
        Answer::NxDomain => {
            out.push(
                Finding::new(
                    Code::SmtpNoMailHost,
                    format!("{d} does not exist: there is no mail host to probe"),
                )
                .evidence(mx_ev),
            );
            return None;
        }
        // RFC 5321 §5.1: no MX means the domain itself is the mail host.
        Answer::NoData(_) => vec![domain.to_string()],
        Answer::Records(_) => mx
            .mxs()
            .into_iter()
            .map(|(_, h)| h)
            .filter(|h| h != ".")
            .fold(Vec::new(), |mut v, h| {
                if !v.contains(&h) {
                    v.push(h);
                }
                v
            }),
    };
    if names.is_empty() {
        out.push(
            Finding::new(Code::SmtpNoMailHost, format!("{d} has a null MX (MX 0 .): it declares that it takes no mail, so there is nothing to probe"))
                .evidence(mx_ev),
        );
        return None;
    }
    let total = names.len();
    let names: Vec<String> = names.into_iter().take(MAX_HOSTS).collect();
    if total > MAX_HOSTS {
        out.push(
            Finding::new(
                Code::SmtpHostsLimited,
                format!(
                    "{d} has {total} MX hosts; the {MAX_HOSTS} most preferred were probed: {}",
                    names.iter().map(|n| fqdn(n)).collect::<Vec<_>>().join(", ")
                ),
            )
            .evidence(mx_ev.clone()),
        );
    }
    let resolved = join_all(names.iter().map(|n| dns.addresses(n))).await;
    let mut hosts = Vec::new();
    let mut unresolved = Vec::new();
    for (name, (a, aaaa)) in names.iter().zip(resolved) {
        let mut evidence: Vec<String> = mx_ev
            .iter()
            .filter(|l| l.ends_with(&format!(" {}", fqdn(name))))
            .cloned()
            .collect();
        evidence.extend(a.evidence(name, RType::A));
        evidence.extend(aaaa.evidence(name, RType::Aaaa));
        let evidence = dedup(evidence);
        // Senders try every address; the probe takes the first, IPv4 first,
        // as most senders' IPv6 paths are the less certain ones.
        match a.ips().into_iter().chain(aaaa.ips()).next() {
            Some(ip) => hosts.push(Host {
                name: name.clone(),
                ip,
                evidence,
            }),
            None => {
                if let Some(f) = a.failure().or(aaaa.failure()) {
                    out.push(
                        Finding::new(
                            Code::SmtpLookupFailed,
                            format!(
                                "the address of mail host {} could not be looked up: {f}",
                                fqdn(name)
                            ),
                        )
                        .evidence(evidence),
                    );
                } else {
                    unresolved.push((fqdn(name), evidence));
                }
            }
        }
    }
    if hosts.is_empty() {
        if !unresolved.is_empty() {
            let names: Vec<&str> = unresolved.iter().map(|(n, _)| n.as_str()).collect();
            out.push(
                Finding::new(
                    Code::SmtpNoMailHost,
                    format!(
                        "no mail host of {d} has an address to connect to: {}",
                        names.join(", ")
                    ),
                )
                .evidence(unresolved.into_iter().flat_map(|(_, e)| e)),
            );
        }
        return None;
    }
    Some(hosts)
}

/// Findings for one host's probe.
fn judge(h: &Host, r: &ProbeReport, ptr: &Answer) -> Vec<Finding> {
    let name = fqdn(&h.name);
    let at = if r.addr.port() == 25 {
        format!("{name} ({})", h.ip)
    } else {
        format!("{name} ({}, port {})", h.ip, r.addr.port())
    };
    // The DNS answers that lead to the host, then the dialogue as comments:
    // all of it for dialogue failures, only what matters for the others.
    let dialogue = |keep: &dyn Fn(&str) -> bool| -> Vec<String> {
        let mut e = h.evidence.clone();
        e.extend(r.transcript.iter().filter(|l| keep(l)).map(|l| {
            if l.starts_with(';') {
                l.clone()
            } else {
                format!("; {l}")
            }
        }));
        e
    };
    let evidence = || dialogue(&|_| true);
    // The greeting: the server's lines before the first command.
    let greeting_lines = r
        .transcript
        .iter()
        .take_while(|l| !l.starts_with("C: "))
        .count();
    let greeting = || {
        let first: Vec<&String> = r.transcript.iter().take(greeting_lines).collect();
        dialogue(&|l| first.iter().any(|x| x.as_str() == l))
    };
    let tls_lines = || dialogue(&|l| l.starts_with("; TLS"));
    let f = |code: Code, msg: String| Finding::new(code, msg).evidence(evidence());
    let mut out = Vec::new();

    match &r.connect {
        Connect::Connected => {}
        Connect::Refused => {
            return vec![f(Code::SmtpConnectFailed, format!("{at} refused the connection: nothing listens on the port, or a firewall rejects"))];
        }
        Connect::Failed(e) => {
            return vec![f(
                Code::SmtpConnectFailed,
                format!("could not connect to {at}: {e}"),
            )]
        }
        Connect::TimedOut => {
            return vec![f(
                Code::SmtpConnectTimeout,
                format!("the connection to {at} timed out (no answer at all)"),
            )];
        }
    }
    let Some(banner) = &r.banner else {
        return match r.stopped.as_ref().map(|s| &s.why) {
            Some(StopReason::Timeout) | None => vec![f(
                Code::SmtpBannerTimeout,
                format!("{at} accepted the connection but sent no greeting in time"),
            )],
            Some(why) => vec![f(
                Code::SmtpBannerRejected,
                format!("{at} accepted the connection but did not greet: {why}"),
            )],
        };
    };
    match banner.code {
        220 => {}
        400..=499 => {
            return vec![f(
                Code::SmtpBannerTemporary,
                format!("{at} greeted with a temporary refusal ({}): rate limiting or greylisting of this IP; senders retry later", banner.summary()),
            )]
        }
        _ => return vec![f(Code::SmtpBannerRejected, format!("{at} greeted with {} instead of 220", banner.summary()))],
    }
    match &r.banner_host {
        None => out.push(f(
            Code::SmtpBannerNoHostname,
            format!(
                "{at} greets with \"{}\", which does not start with a fully-qualified host name",
                banner.text()
            ),
        )),
        Some(bh) if !bh.starts_with('[') => {
            let rev = reverse_name(h.ip);
            let ptr_names: Vec<String> = ptr
                .names()
                .iter()
                .map(|n| crate::dns::normalize(n))
                .collect();
            let mismatch = match ptr {
                Answer::Records(_) if !ptr_names.iter().any(|p| p == bh) => Some(format!(
                    "{at} greets as {bh}, but the PTR of {} is {}",
                    h.ip,
                    ptr_names
                        .iter()
                        .map(|n| fqdn(n))
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
                Answer::NxDomain | Answer::NoData(_) => Some(format!(
                    "{at} greets as {bh}, but {} has no PTR record",
                    h.ip
                )),
                // Could not ask: no claim either way.
                _ => None,
            };
            if let Some(msg) = mismatch {
                let mut e = ptr.evidence(&rev, RType::Ptr);
                e.extend(greeting());
                out.push(Finding::new(Code::SmtpBannerPtrMismatch, msg).evidence(e).fix(format!(
                    "Make the greeting name and the PTR of {} the same host name (greet as the PTR name, or set the PTR to {bh}. whose A record is {}).",
                    h.ip, h.ip
                )));
            }
        }
        Some(_) => {}
    }

    let Some(ehlo) = &r.ehlo else {
        let why = r
            .stopped
            .as_ref()
            .map(|s| s.why.to_string())
            .unwrap_or_default();
        out.push(f(
            Code::SmtpEhloRejected,
            format!("{at} did not answer EHLO {}: {why}", r.helo),
        ));
        return out;
    };
    if !ehlo.reply.is_positive() {
        out.push(f(
            Code::SmtpEhloRejected,
            format!("{at} refused EHLO {} with {}", r.helo, ehlo.reply.summary()),
        ));
        return out;
    }
    if !ehlo.starttls {
        out.push(f(
            Code::SmtpStarttlsMissing,
            format!("{at} does not offer STARTTLS: mail to it travels in plain text"),
        ));
        return out;
    }
    if let Some(st) = &r.starttls {
        if st.code != 220 {
            out.push(f(
                Code::SmtpTlsFailed,
                format!("{at} offers STARTTLS but answered it with {}", st.summary()),
            ));
            return out;
        }
    } else if let Some(stop) = r.stopped.as_ref().filter(|s| s.at == Stage::Starttls) {
        out.push(f(
            Code::SmtpTlsFailed,
            format!("{at} offers STARTTLS but did not answer it: {}", stop.why),
        ));
        return out;
    }
    let info = match &r.tls {
        Some(Ok(info)) => info,
        Some(Err(e)) => {
            out.push(f(
                Code::SmtpTlsFailed,
                format!("the TLS handshake with {at} failed: {e}"),
            ));
            return out;
        }
        None => return out,
    };
    let Some(cert) = &info.cert else {
        out.push(f(
            Code::SmtpCertUntrusted,
            format!("{at} sent no certificate that could be read"),
        ));
        return out;
    };
    let names = if cert.names.is_empty() {
        "no names".to_string()
    } else {
        cert.names.join(", ")
    };
    let facts = format!(
        "; certificate: subject {}; issuer {}; names {}; valid {} to {}; chain of {}",
        cert.subject,
        cert.issuer,
        names,
        date(cert.not_before),
        date(cert.not_after),
        cert.chain_len
    );
    let fc = |code: Code, msg: String| {
        let mut e = tls_lines();
        e.push(facts.clone());
        Finding::new(code, msg).evidence(e)
    };
    for p in &cert.problems {
        out.push(match p {
            CertProblem::Expired => fc(Code::SmtpCertExpired, format!("the certificate of {at} expired on {}", date(cert.not_after))),
            CertProblem::NotYetValid => fc(Code::SmtpCertNotYetValid, format!("the certificate of {at} is not valid before {}", date(cert.not_before))),
            CertProblem::NameMismatch => fc(
                Code::SmtpCertNameMismatch,
                format!("the certificate of {at} is for {names}, not for {}", normalize(&h.name)),
            )
            .fix(format!("Get a certificate whose subjectAltName includes {} (e.g. from Let's Encrypt) and configure the MTA to present it.", normalize(&h.name))),
            CertProblem::Untrusted(why) => fc(Code::SmtpCertUntrusted, format!("the certificate of {at} is not trusted: {why}")),
        });
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let left = cert.not_after - now;
    if left >= 0 && left < EXPIRY_WARNING.as_secs() as i64 {
        out.push(fc(
            Code::SmtpCertExpiresSoon,
            format!(
                "the certificate of {at} expires on {} ({} day(s) from now)",
                date(cert.not_after),
                left / 86_400
            ),
        ));
    }
    if r.ehlo_tls.as_ref().is_none_or(|e| !e.reply.is_positive()) {
        let why = match (&r.ehlo_tls, &r.stopped) {
            (Some(e), _) => e.reply.summary(),
            (None, Some(s)) => s.why.to_string(),
            (None, None) => "no reply".into(),
        };
        out.push(f(
            Code::SmtpEhloRejected,
            format!("{at} did not accept EHLO {} inside TLS: {why}", r.helo),
        ));
    }
    if out.iter().all(|x| x.status <= Status::Info) {
        let banner = r.banner.as_ref().map(|b| b.summary()).unwrap_or_default();
        out.push(
            Finding::new(
                Code::SmtpOk,
                format!(
                    "{at} greets \"{banner}\", accepts EHLO and STARTTLS: {} with {}, certificate for {names} valid until {}, trusted",
                    info.version,
                    info.cipher,
                    date(cert.not_after)
                ),
            )
            .evidence(greeting())
            .evidence(tls_lines().into_iter().skip(h.evidence.len()))
            .evidence([facts.clone()]),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_fit_in_what_is_left_of_the_check() {
        let o = Options {
            check_timeout: Duration::from_secs(30),
            smtp_timeout: Duration::from_secs(10),
            ..Options::default()
        };
        assert_eq!(timeouts(&o, Duration::ZERO).total, Duration::from_secs(27));
        assert_eq!(
            timeouts(&o, Duration::from_secs(20)).total,
            Duration::from_secs(7)
        );
        assert_eq!(timeouts(&o, Duration::from_secs(40)).total, Duration::ZERO);
        let roomy = Options {
            check_timeout: Duration::from_secs(600),
            ..o
        };
        assert_eq!(
            timeouts(&roomy, Duration::ZERO).total,
            Duration::from_secs(30)
        );
        assert_eq!(
            timeouts(&roomy, Duration::ZERO).connect,
            Duration::from_secs(10)
        );
    }
}
