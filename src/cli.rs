//! Command-line arguments, and turning them into validated engine inputs.
//! Every malformed value is rejected here with one line naming what is wrong
//! (exit 2), before anything is asked of DNS.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use mailpreflight_checks::dns::{DnsConfig, ZoneSource};
use mailpreflight_checks::names::{host_syntax, to_domain};
use mailpreflight_checks::path::{SmartHost, SmartTls};
use mailpreflight_checks::{check_ids, Options, Selection, Status, Target};

#[derive(Parser, Debug)]
#[command(
    name = "mailpreflight",
    version,
    about = "Will mail from this domain and server be accepted? MX, reverse DNS, HELO, SPF, DKIM, DMARC, blocklists and SMTP, checked at once, with the DNS evidence and the fix for every finding.",
    after_help = "Exit codes: 0 nothing at or above --fail-on; 1 a finding at or above it; 2 bad usage or input; 3 nothing failed but something could not be verified."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check a sending domain and the host that sends its mail.
    Check(Box<CheckArgs>),
    /// On the sending host: can it deliver to RECIPIENT_DOMAIN? Its resolvers, the recipient's MX.
    Path(PathArgs),
    /// Read a bounce (.eml or pasted text): what it means, the likely causes; --check runs the checks they point to.
    Explain(Box<crate::explain::ExplainArgs>),
    /// RFC 7208 check_host() for one IP and MAIL FROM, with the deciding term and the full trace.
    Spf(Box<crate::spf_cmd::SpfArgs>),
    /// List the finding codes (a Markdown table), or explain one: `codes rdns.no_ptr`.
    Codes {
        /// A finding code, e.g. rdns.no_ptr.
        code: Option<String>,
    },
}

#[derive(Args, Debug, Clone)]
pub struct DnsArgs {
    /// Ask this resolver (IP or IP:PORT; repeatable) instead of the system's.
    #[arg(long = "resolver", value_name = "IP[:PORT]")]
    pub resolvers: Vec<String>,
    /// Answer names at or under a zone from its master file ([ORIGIN=]FILE, or a folder of *.zone
    /// files; repeatable). Other names go to the network, or with --offline are not available.
    #[arg(long = "zone", value_name = "[ORIGIN=]FILE")]
    pub zones: Vec<String>,
    /// Ask nothing of the network: only --zone files answer; SMTP probes are skipped.
    #[arg(long)]
    pub offline: bool,
    /// Per-query DNS timeout in seconds.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    pub timeout: f64,
}

#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Colour in the table: auto (on a terminal, unless NO_COLOR is set), always, never.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    /// One JSON object per domain per line.
    Jsonl,
    /// JUnit XML: a testsuite per domain, a testcase per check.
    Junit,
    /// A compact summary for a pull-request comment.
    Markdown,
    /// GitHub Actions workflow commands (annotations on the zone file lines).
    Github,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorWhen {
    Auto,
    Always,
    Never,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    Fail,
    Warn,
    /// Only a warn or fail finding that is not in the --baseline report.
    New,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// The sending domain (the one in From: and, by default, MAIL FROM). IDNs are accepted.
    /// Optional with a config file: then every domain in it is checked.
    pub domain: Option<String>,
    /// Check many domains: a file (or - for stdin) of lines `domain [ip[,ip]] [helo] [selector[,selector]]`
    /// (`-` leaves a field empty; blank lines and # comments are skipped).
    #[arg(long = "domains-file", value_name = "FILE", conflicts_with = "domain")]
    pub domains_file: Option<String>,
    /// Domains checked at once in bulk mode.
    #[arg(long, value_name = "N", default_value_t = 64)]
    pub jobs: usize,
    /// At most N DNS queries per second (spare your resolver).
    #[arg(long, value_name = "N")]
    pub qps: Option<u32>,
    /// Bulk mode: print each domain as it finishes instead of in input order.
    #[arg(long)]
    pub unordered: bool,
    /// A public IP the domain's mail is sent from (repeatable; IPv4 or IPv6).
    #[arg(long = "ip", value_name = "IP")]
    pub ips: Vec<String>,
    /// The name the sending server gives in HELO/EHLO.
    #[arg(long, value_name = "NAME")]
    pub helo: Option<String>,
    /// The envelope sender (MAIL FROM) the server uses; default postmaster@DOMAIN.
    #[arg(long = "mail-from", value_name = "ADDR")]
    pub mail_from: Option<String>,
    /// A DKIM selector the domain signs with (repeatable); without one, common selectors are tried.
    #[arg(long = "selector", value_name = "SEL")]
    pub selectors: Vec<String>,
    /// Run only these checks (comma-separated ids; repeatable).
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub only: Vec<String>,
    /// Skip these checks (comma-separated ids; repeatable).
    #[arg(long, value_name = "IDS", value_delimiter = ',')]
    pub skip: Vec<String>,
    /// Exit 1 when a finding is at or above this status.
    #[arg(long = "fail-on", value_enum, default_value_t = FailOn::Fail)]
    pub fail_on: FailOn,
    /// Ask this DNS blocklist instead of the default ones (repeatable). Domain lists
    /// (dbl.spamhaus.org, multi.uribl.com, multi.surbl.org, or `domain:ZONE`) are asked about the
    /// domain, the others about the sending IPs.
    #[arg(long = "dnsbl", value_name = "ZONE")]
    pub dnsbl: Vec<String>,
    /// Port the SMTP probe connects to on each MX host. The probe only ever sends EHLO, STARTTLS
    /// and QUIT: never MAIL, RCPT or DATA, so it cannot deliver or verify anything.
    #[arg(long = "smtp-port", value_name = "PORT", default_value_t = 25)]
    pub smtp_port: u16,
    #[command(flatten)]
    pub dns: DnsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub gate: GateArgs,
}

/// The CI gate: config file, report file, baseline.
#[derive(Args, Debug, Clone, Default)]
pub struct GateArgs {
    /// Read domains, defaults and severity overrides from this file (default: ./mailpreflight.toml
    /// when it exists). The command line overrides the file.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Also write the report, in --format, to FILE; the terminal then gets the table.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// An earlier --format json report: mark findings new or unchanged and list resolved ones.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
}

impl FailOn {
    pub fn status(self) -> Status {
        match self {
            FailOn::Fail => Status::Fail,
            FailOn::Warn => Status::Warn,
            FailOn::New => Status::Warn,
        }
    }
}

impl DnsArgs {
    /// The DNS configuration, every value validated.
    pub fn config(&self) -> Result<DnsConfig> {
        if !(self.timeout.is_finite() && self.timeout > 0.0 && self.timeout <= 300.0) {
            bail!(
                "--timeout {} is not a number of seconds between 0 and 300",
                self.timeout
            );
        }
        let resolvers = self
            .resolvers
            .iter()
            .map(|r| parse_resolver(r))
            .collect::<Result<Vec<_>>>()?;
        let mut zones = Vec::new();
        for z in &self.zones {
            zones.extend(parse_zone_arg(z)?);
        }
        Ok(DnsConfig {
            resolvers,
            timeout: Duration::from_secs_f64(self.timeout),
            zones,
            offline: self.offline,
            ..DnsConfig::default()
        })
    }

    /// How long one check may run: enough for a few rounds of retries.
    pub fn check_timeout(&self) -> Duration {
        Duration::from_secs_f64((self.timeout * 6.0).clamp(5.0, 600.0))
    }
}

/// `IP`, `IP:PORT`, `[IPv6]:PORT`.
pub fn parse_resolver(s: &str) -> Result<SocketAddr> {
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    s.parse::<SocketAddr>()
        .map_err(|_| anyhow::anyhow!("--resolver {s:?} is not an IP address or IP:PORT (e.g. 192.0.2.53 or [2001:db8::53]:5353)"))
}

/// `[ORIGIN=]FILE`, where FILE may be a folder of `*.zone` files.
pub fn parse_zone_arg(s: &str) -> Result<Vec<ZoneSource>> {
    let (origin, path) = match s.split_once('=') {
        Some((o, p)) if !o.contains('/') && !o.is_empty() => {
            let origin = if o == "." {
                String::new()
            } else {
                to_domain(o).map_err(|e| anyhow::anyhow!("--zone {s:?}: origin {e}"))?
            };
            (Some(origin), PathBuf::from(p))
        }
        _ => (None, PathBuf::from(s)),
    };
    let meta = std::fs::metadata(&path)
        .with_context(|| format!("--zone {}: cannot read", path.display()))?;
    if !meta.is_dir() {
        return Ok(vec![ZoneSource { origin, path }]);
    }
    if origin.is_some() {
        bail!("--zone {s:?}: an origin can only be given for one file, not a folder");
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
        .with_context(|| format!("--zone {}: cannot list", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "zone"))
        .collect();
    files.sort();
    if files.is_empty() {
        bail!("--zone {}: the folder has no *.zone files", path.display());
    }
    Ok(files
        .into_iter()
        .map(|path| ZoneSource { origin: None, path })
        .collect())
}

pub fn parse_ips(ips: &[String]) -> Result<Vec<IpAddr>> {
    let mut out: Vec<IpAddr> = Vec::new();
    for s in ips {
        let ip: IpAddr = s.trim().parse().map_err(|_| {
            anyhow::anyhow!(
                "--ip {s:?} is not an IPv4 or IPv6 address (e.g. 192.0.2.10 or 2001:db8::25)"
            )
        })?;
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    Ok(out)
}

pub fn parse_selector(s: &str) -> Result<String> {
    mailpreflight_checks::dkim::parse_selector(s).map_err(|why| anyhow::anyhow!("--selector {why}"))
}

/// The envelope sender: `local@domain`, with the domain in A-label form.
pub fn parse_mail_from(s: &str) -> Result<String> {
    let a = s.trim().trim_start_matches('<').trim_end_matches('>');
    let Some((local, domain)) = a.rsplit_once('@') else {
        bail!("--mail-from {s:?} is not an address (local@domain)");
    };
    if local.is_empty() || local.chars().any(|c| c.is_control() || c.is_whitespace()) {
        bail!("--mail-from {s:?} has an empty or invalid local part");
    }
    let d = to_domain(domain).map_err(|e| anyhow::anyhow!("--mail-from {s:?}: {e}"))?;
    Ok(format!("{local}@{d}"))
}

pub fn parse_helo(s: &str) -> Result<String> {
    let h = s.trim();
    if h.is_empty() {
        bail!("--helo is empty: give the name the server sends in EHLO");
    }
    if h.chars().any(|c| c.is_control() || c.is_whitespace()) {
        bail!("--helo {s:?} contains spaces or control characters");
    }
    // Anything else is for the helo check to judge: EXCHANGE01 is a finding,
    // not a usage error.
    Ok(h.to_string())
}

/// Which checks: ids validated against the registry.
pub fn selection(only: &[String], skip: &[String]) -> Result<Selection> {
    let known = check_ids();
    let clean = |v: &[String], flag: &str| -> Result<Vec<String>> {
        v.iter()
            .map(|s| s.trim().to_ascii_lowercase())
            .filter(|s| !s.is_empty())
            .map(|s| {
                if known.contains(&s.as_str()) {
                    Ok(s)
                } else {
                    bail!(
                        "{flag} {s:?} is not a check id (known: {})",
                        known.join(", ")
                    )
                }
            })
            .collect()
    };
    Ok(Selection {
        only: clean(only, "--only")?,
        skip: clean(skip, "--skip")?,
    })
}

impl CheckArgs {
    /// The engine options from `--dnsbl`, `--smtp-port` and the DNS flags.
    pub fn options(&self) -> Result<Options> {
        if self.smtp_port == 0 {
            bail!("--smtp-port 0 is not a port (1-65535; mail servers listen on 25)");
        }
        let mut dnsbl_zones = Vec::new();
        for z in &self.dnsbl {
            let zone = z
                .strip_prefix("domain:")
                .or_else(|| z.strip_prefix("ip:"))
                .unwrap_or(z);
            host_syntax(zone).map_err(|why| {
                anyhow::anyhow!("--dnsbl {z:?} is not a zone name ({why}); e.g. zen.spamhaus.org or domain:dbl.example.net")
            })?;
            dnsbl_zones.push(z.trim().to_ascii_lowercase());
        }
        Ok(Options {
            offline: self.dns.offline,
            check_timeout: self.dns.check_timeout(),
            smtp_port: self.smtp_port,
            dnsbl_zones,
            ..Options::default()
        })
    }

    pub fn target(&self) -> Result<Target> {
        let Some(domain) = self.domain.as_deref() else {
            bail!("give a DOMAIN to check (or --domains-file FILE, or a --config file that lists domains)");
        };
        let domain = to_domain(domain).map_err(|e| anyhow::anyhow!("domain {e}"))?;
        Ok(Target {
            domain,
            ips: parse_ips(&self.ips)?,
            helo: self.helo.as_deref().map(parse_helo).transpose()?,
            mail_from: self.mail_from.as_deref().map(parse_mail_from).transpose()?,
            selectors: self
                .selectors
                .iter()
                .map(|s| parse_selector(s))
                .collect::<Result<_>>()?,
        })
    }
}

#[derive(Args, Debug)]
pub struct PathArgs {
    /// The recipient domain (an address is accepted; its domain is taken).
    pub recipient: String,
    /// The name this host sends in EHLO.
    #[arg(long, value_name = "NAME")]
    pub helo: Option<String>,
    /// The resolver configuration to test when no --resolver is given.
    #[arg(
        long = "resolv-conf",
        value_name = "FILE",
        default_value = "/etc/resolv.conf"
    )]
    pub resolv_conf: PathBuf,
    /// Also test this smart host (relay): connect, greeting, EHLO, STARTTLS or implicit TLS, the
    /// certificate, and the AUTH mechanisms offered. Port 587 by default; 465 is implicit TLS. No
    /// credentials and no message are ever sent.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub smarthost: Option<String>,
    /// How the smart host speaks TLS: auto (implicit on port 465, STARTTLS otherwise), starttls,
    /// implicit.
    #[arg(long = "smarthost-tls", value_enum, default_value_t = SmartTlsArg::Auto)]
    pub smarthost_tls: SmartTlsArg,
    /// Port the SMTP probe connects to on each MX host (tests).
    #[arg(
        long = "smtp-port",
        value_name = "PORT",
        default_value_t = 25,
        hide = true
    )]
    pub smtp_port: u16,
    /// Seconds each SMTP probe step may take (connect, each reply, TLS).
    #[arg(
        long = "smtp-timeout",
        value_name = "SECS",
        default_value_t = 10.0,
        hide = true
    )]
    pub smtp_timeout: f64,
    /// Connect to ADDR instead of IP (IP or IPv4/PREFIX of 24 or more bits) for MX and smart host
    /// probes: a port forward, or tests (repeatable).
    #[arg(long = "smtp-route", value_name = "IP=ADDR", hide = true)]
    pub smtp_routes: Vec<String>,
    /// Trust this CA certificate (DER file) beside the public roots (repeatable).
    #[arg(long = "smtp-trust-root", value_name = "FILE", hide = true)]
    pub smtp_trust_roots: Vec<PathBuf>,
    #[command(flatten)]
    pub dns: DnsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmartTlsArg {
    Auto,
    Starttls,
    Implicit,
}

impl PathArgs {
    /// The recipient domain, from a domain or an address.
    pub fn domain(&self) -> Result<String> {
        let r = self.recipient.trim();
        let d = mailpreflight_checks::names::address_domain(r).unwrap_or(r);
        let d = d.trim_start_matches('[').trim_end_matches(']');
        if d.parse::<IpAddr>().is_ok() {
            bail!(
                "{:?} is an IP address: give the recipient's domain (e.g. example.net)",
                self.recipient
            );
        }
        to_domain(d).map_err(|e| anyhow::anyhow!("recipient {e}"))
    }

    /// The smart host from `--smarthost` and `--smarthost-tls`.
    pub fn smarthost(&self) -> Result<Option<SmartHost>> {
        let Some(s) = &self.smarthost else {
            return Ok(None);
        };
        let mut sh = SmartHost::parse(s).map_err(|e| anyhow::anyhow!("--smarthost {s:?} {e}"))?;
        match self.smarthost_tls {
            SmartTlsArg::Auto => {}
            SmartTlsArg::Starttls => sh.tls = SmartTls::StartTls,
            SmartTlsArg::Implicit => sh.tls = SmartTls::Implicit,
        }
        Ok(Some(sh))
    }

    /// The probe options: port, timeouts, routes, trust roots.
    pub fn options(&self) -> Result<Options> {
        if self.smtp_port == 0 {
            bail!("--smtp-port 0 is not a port (1-65535)");
        }
        if !(self.smtp_timeout.is_finite() && self.smtp_timeout > 0.0) {
            bail!("--smtp-timeout must be a positive number of seconds");
        }
        let smtp_timeout = Duration::from_secs_f64(self.smtp_timeout.min(600.0));
        let mut smtp_routes = Vec::new();
        for r in &self.smtp_routes {
            smtp_routes.extend(parse_route(r)?);
        }
        let mut smtp_trust_roots = Vec::new();
        for f in &self.smtp_trust_roots {
            smtp_trust_roots.push(
                std::fs::read(f)
                    .with_context(|| format!("cannot read --smtp-trust-root {}", f.display()))?,
            );
        }
        Ok(Options {
            // DNS steps, then probes of three steps each, with room to judge.
            check_timeout: self.dns.check_timeout() + smtp_timeout * 4,
            smtp_port: self.smtp_port,
            smtp_timeout,
            smtp_trust_roots,
            smtp_routes,
            ..Options::default()
        })
    }
}

/// `IP=ADDR` or `IPv4/N=ADDR` (N at least 24) with ADDR `IP:PORT`.
pub(crate) fn parse_route(s: &str) -> Result<Vec<(IpAddr, SocketAddr)>> {
    let bad = || anyhow::anyhow!("--smtp-route {s:?} is not IP=IP:PORT or IPv4/24=IP:PORT");
    let (from, to) = s.split_once('=').ok_or_else(bad)?;
    let to: SocketAddr = to.trim().parse().map_err(|_| bad())?;
    if let Some((net, bits)) = from.split_once('/') {
        let net: std::net::Ipv4Addr = net.trim().parse().map_err(|_| bad())?;
        let bits: u32 = bits.trim().parse().map_err(|_| bad())?;
        if !(24..=32).contains(&bits) {
            return Err(bad());
        }
        let base = u32::from(net) & (u32::MAX << (32 - bits));
        return Ok((0..(1u32 << (32 - bits)))
            .map(|i| (IpAddr::from(std::net::Ipv4Addr::from(base + i)), to))
            .collect());
    }
    Ok(vec![(from.trim().parse().map_err(|_| bad())?, to)])
}
