//! `mailpreflight explain [FILE|-]`: read a bounce, say what it means and what
//! likely caused it; with `--check`, run the checks those causes point to and
//! give each a verdict.
//!
//! Exit codes: 2 for input that is not a bounce (or unreadable); without
//! `--check`, 0 once explained; with it, 1 when a check confirmed a cause, 3
//! when none did and a check could not be completed, else 0.

mod render;

use std::io::{IsTerminal, Read};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context as _, Result};
use clap::Args;

use mailpreflight_checks::bounce::{self, Bounce, Verdict, MAX_INPUT_BYTES};
use mailpreflight_checks::dns::Dns;
use mailpreflight_checks::names::{host_syntax, to_domain};
use mailpreflight_checks::{Ctx, Options, Report, Status};

use crate::cli::{parse_helo, parse_ips, parse_selector, DnsArgs, Format, OutputArgs};

#[derive(Args, Debug)]
pub struct ExplainArgs {
    /// The bounce: a saved .eml or a text file with the pasted bounce; - or nothing reads standard input.
    pub file: Option<String>,
    /// Also run the checks the likely causes point to, and say for each cause: confirmed, ruled out or undetermined.
    #[arg(long)]
    pub check: bool,
    /// With --check: the sending domain (default: the bounced message's sender domain).
    #[arg(long, value_name = "DOMAIN")]
    pub domain: Option<String>,
    /// With --check: a public IP the mail was sent from (repeatable; default: the IP the remote server named, if any).
    #[arg(long = "ip", value_name = "IP")]
    pub ips: Vec<String>,
    /// With --check: the name the sending server gives in HELO/EHLO (default: as the bounce shows it).
    #[arg(long, value_name = "NAME")]
    pub helo: Option<String>,
    /// With --check: a DKIM selector the domain signs with (repeatable).
    #[arg(long = "selector", value_name = "SEL")]
    pub selectors: Vec<String>,
    /// With --check: ask this DNS blocklist (repeatable; default: the lists the bounce names, else the default lists).
    #[arg(long = "dnsbl", value_name = "ZONE")]
    pub dnsbl: Vec<String>,
    /// Port the SMTP probe of `path` connects to on the recipient's MX (tests).
    #[arg(
        long = "smtp-port",
        value_name = "PORT",
        default_value_t = 25,
        hide = true
    )]
    pub smtp_port: u16,
    /// Connect to ADDR instead of IP for SMTP probes (tests; repeatable).
    #[arg(long = "smtp-route", value_name = "IP=ADDR", hide = true)]
    pub smtp_routes: Vec<String>,
    #[command(flatten)]
    pub dns: DnsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `path` for the recipient domain, from this host: the configured resolvers
/// (or each --resolver) and port 25 to the recipient's MX.
async fn run_path(
    args: &ExplainArgs,
    config: &mailpreflight_checks::dns::DnsConfig,
    recipient_domain: &str,
    helo: Option<String>,
) -> Result<Report> {
    use mailpreflight_checks::path::{nameservers, PathOptions};
    let servers = nameservers(&config.resolvers, std::path::Path::new("/etc/resolv.conf"))
        .context("cannot read /etc/resolv.conf")?;
    let mut smtp_routes = Vec::new();
    for r in &args.smtp_routes {
        smtp_routes.extend(crate::cli::parse_route(r)?);
    }
    let opts = PathOptions {
        dns: config.clone(),
        engine: Options {
            check_timeout: args.dns.check_timeout(),
            smtp_port: args.smtp_port,
            smtp_routes,
            ..Options::default()
        },
        helo,
        smarthost: None,
    };
    Ok(mailpreflight_checks::path::run(&servers, recipient_domain, &opts).await?)
}

/// The input, at most MAX_INPUT_BYTES (+1 to tell that it is larger).
fn read_input(file: Option<&str>) -> Result<(String, Vec<u8>)> {
    let limit = MAX_INPUT_BYTES as u64 + 1;
    let mut buf = Vec::new();
    match file {
        None | Some("-") => {
            let stdin = std::io::stdin();
            if file.is_none() && stdin.is_terminal() {
                bail!("give the bounce as a FILE (a saved .eml or pasted text), or pipe it in: mailpreflight explain - < bounce.eml");
            }
            stdin
                .lock()
                .take(limit)
                .read_to_end(&mut buf)
                .context("cannot read the bounce from standard input")?;
            Ok(("standard input".into(), buf))
        }
        Some(path) => {
            let f = std::fs::File::open(path).with_context(|| format!("cannot open {path}"))?;
            if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
                bail!("{path} is a folder: give the bounce file");
            }
            f.take(limit)
                .read_to_end(&mut buf)
                .with_context(|| format!("cannot read {path}"))?;
            Ok((path.to_string(), buf))
        }
    }
}

pub async fn run(args: ExplainArgs) -> Result<ExitCode> {
    // Flags are checked before the input is read: a typo is exit 2 at once.
    if matches!(
        args.output.format,
        Format::Junit | Format::Markdown | Format::Github
    ) {
        anyhow::bail!("explain prints as table, json or jsonl; --format junit, markdown and github are for check");
    }
    let config = args.dns.config()?;
    let domain = args
        .domain
        .as_deref()
        .map(|d| to_domain(d).map_err(|e| anyhow::anyhow!("--domain {e}")))
        .transpose()?;
    let ips = parse_ips(&args.ips)?;
    let helo = args.helo.as_deref().map(parse_helo).transpose()?;
    let selectors = args
        .selectors
        .iter()
        .map(|s| parse_selector(s))
        .collect::<Result<Vec<_>>>()?;
    let mut dnsbl = Vec::new();
    for z in &args.dnsbl {
        let zone = z
            .strip_prefix("domain:")
            .or_else(|| z.strip_prefix("ip:"))
            .unwrap_or(z);
        host_syntax(zone).map_err(|why| {
            anyhow::anyhow!("--dnsbl {z:?} is not a zone name ({why}); e.g. zen.spamhaus.org")
        })?;
        dnsbl.push(z.trim().to_ascii_lowercase());
    }
    let for_check = domain.is_some()
        || !ips.is_empty()
        || helo.is_some()
        || !selectors.is_empty()
        || !dnsbl.is_empty();
    if !args.check && for_check {
        bail!("--domain, --ip, --helo, --selector and --dnsbl are for --check: add --check to run the checks");
    }

    let (name, bytes) = read_input(args.file.as_deref())?;
    let mut b: Bounce = bounce::parse(&bytes).map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
    render::sanitize(&mut b);

    let mut checked: Option<(Report, Vec<String>)> = None;
    if args.check {
        let plan = b
            .plan(domain, ips, helo, selectors)
            .map_err(|e| anyhow::anyhow!("--check: {e}"))?;
        let dns = Dns::new(&config)?;
        let ctx = Arc::new(Ctx {
            target: plan.target.clone(),
            dns,
            options: Options {
                offline: args.dns.offline,
                check_timeout: args.dns.check_timeout(),
                dnsbl_zones: if dnsbl.is_empty() {
                    plan.dnsbl_zones.clone()
                } else {
                    dnsbl.clone()
                },
                ..Options::default()
            },
        });
        let mut report = b.check(ctx, &plan.checks).await;
        // Causes on the sending side's own path (its resolvers, its port 25)
        // are tested from this host, as `mailpreflight path` would.
        if !args.dns.offline && b.causes.iter().any(|c| c.check == Some("path")) {
            if let Some(rd) = b.recipient_domain() {
                let path = run_path(&args, &config, &rd, plan.target.helo.clone()).await?;
                bounce::causes::judge_path(&mut b.causes, &path);
                report.checks.extend(
                    path.checks
                        .into_iter()
                        .filter(|c| c.id == "resolvers" || c.id == "port25"),
                );
                report.status = mailpreflight_checks::worst(report.checks.iter().map(|c| c.status));
            }
        }
        crate::render::sanitize(&mut report);
        render::sanitize(&mut b);
        checked = Some((report, plan.from_bounce));
    }

    let color = crate::use_color(args.output.color);
    let text = match args.output.format {
        Format::Table => render::table(&b, checked.as_ref(), color),
        Format::Json => render::json(&b, checked.as_ref(), true),
        Format::Jsonl => render::json(&b, checked.as_ref(), false),
        Format::Junit | Format::Markdown | Format::Github => unreachable!("refused above"),
    };
    crate::emit(&text)?;
    Ok(ExitCode::from(exit_code(
        &b,
        checked.as_ref().map(|(r, _)| r),
    )))
}

fn exit_code(b: &Bounce, report: Option<&Report>) -> u8 {
    let Some(report) = report else { return 0 };
    if b.causes
        .iter()
        .any(|c| c.verdict == Some(Verdict::Confirmed))
    {
        1
    } else if report.findings().any(|f| f.status == Status::Error) {
        3
    } else {
        0
    }
}
