//! Bulk mode: `check --domains-file FILE|-`. Lines are read as they are
//! needed, checked `--jobs` at a time over one shared DNS cache, and printed
//! as they are ready; a malformed line is reported with its number and
//! skipped. A summary goes to stderr, a progress bar too when it is a
//! terminal.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, Result};
use futures::StreamExt;
use tokio::io::{AsyncBufReadExt, BufReader};

use mailpreflight_checks::bulk::{run_stream, BulkOptions};
use mailpreflight_checks::dns::Dns;
use mailpreflight_checks::names::to_domain;
use mailpreflight_checks::{Report, Selection, Status, Target};

use crate::cli::{parse_helo, parse_ips, parse_selector, CheckArgs, Format};
use crate::render;

/// One line of a domains file as a target; `defaults` fill what it leaves out.
pub fn parse_line(line: &str, defaults: &Target) -> Result<Option<Target>> {
    let content = line.split('#').next().unwrap_or("").trim();
    if content.is_empty() {
        return Ok(None);
    }
    let mut fields = content.split_whitespace();
    let domain = to_domain(fields.next().unwrap_or_default()).map_err(anyhow::Error::msg)?;
    let mut t = Target {
        domain,
        ..defaults.clone()
    };
    let rest: Vec<&str> = fields.collect();
    if rest.len() > 3 {
        anyhow::bail!(
            "{} fields, at most 4 (domain ip[,ip] helo selector[,selector])",
            rest.len() + 1
        );
    }
    let mut i = 0;
    // The IP field may be left out when a HELO follows.
    if let Some(f) = rest.first() {
        let ips: Vec<String> = f.split(',').map(str::to_string).collect();
        if *f == "-" {
            i = 1;
        } else if ips.iter().all(|s| s.parse::<std::net::IpAddr>().is_ok()) {
            t.ips = parse_ips(&ips)?;
            i = 1;
        } else if f.contains(',')
            || f.chars()
                .all(|c| c.is_ascii_digit() || c == '.' || c == ':')
        {
            anyhow::bail!("{f:?} is not an IP address or a comma-separated list of them");
        }
    }
    if let Some(f) = rest.get(i) {
        if *f != "-" {
            t.helo = Some(parse_helo(f)?);
        }
        i += 1;
    }
    if let Some(f) = rest.get(i) {
        if *f != "-" {
            t.selectors = f.split(',').map(parse_selector).collect::<Result<_>>()?;
        }
        i += 1;
    }
    if i < rest.len() {
        anyhow::bail!("unexpected field {:?}", rest[i]);
    }
    Ok(Some(t))
}

/// The file-descriptor limit leaves room for this many queries in flight.
fn inflight_for_fd_limit(wanted: usize) -> usize {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0;
    if !ok || lim.rlim_cur == libc::RLIM_INFINITY {
        return wanted;
    }
    // Each query may hold a UDP and a TCP socket; keep 64 for everything else.
    let room = (lim.rlim_cur as usize).saturating_sub(64) / 2;
    wanted.min(room.max(8))
}

pub async fn run(
    args: CheckArgs,
    file: &str,
    selection: Selection,
    dns_config: mailpreflight_checks::dns::DnsConfig,
) -> Result<ExitCode> {
    let defaults = Target {
        domain: String::new(),
        ips: parse_ips(&args.ips)?,
        helo: args.helo.as_deref().map(parse_helo).transpose()?,
        mail_from: args
            .mail_from
            .as_deref()
            .map(crate::cli::parse_mail_from)
            .transpose()?,
        selectors: args
            .selectors
            .iter()
            .map(|s| parse_selector(s))
            .collect::<Result<_>>()?,
    };
    let reader: Box<dyn tokio::io::AsyncRead + Unpin + Send> = if file == "-" {
        Box::new(tokio::io::stdin())
    } else {
        Box::new(
            tokio::fs::File::open(file)
                .await
                .with_context(|| format!("--domains-file {file}: cannot open"))?,
        )
    };
    let name = if file == "-" {
        "stdin".to_string()
    } else {
        file.to_string()
    };
    let mut config = dns_config;
    config.qps = args.qps;
    config.max_inflight = inflight_for_fd_limit(config.max_inflight.max(args.jobs * 4));
    let dns = Dns::new(&config)?;
    let options = args.options()?;
    let skipped = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let bad = skipped.clone();
    let lines = tokio_stream_lines(BufReader::new(reader));
    let targets = lines
        .enumerate()
        .filter_map(move |(i, line)| {
            let out = match line {
                Err(e) => {
                    eprintln!("mailpreflight: {name}:{}: cannot read: {e}", i + 1);
                    bad.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    None
                }
                Ok(l) => match parse_line(&l, &defaults) {
                    Ok(Some(t)) => Some((i + 1, t)),
                    Ok(None) => None,
                    Err(e) => {
                        eprintln!(
                            "mailpreflight: {name}:{}: {}; line skipped",
                            i + 1,
                            render::escape(&format!("{e:#}"))
                        );
                        bad.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        None
                    }
                },
            };
            futures::future::ready(out)
        })
        .boxed();
    let bulk = BulkOptions {
        jobs: args.jobs.max(1),
        ordered: !args.unordered,
        ..BulkOptions::default()
    };
    let progress = std::io::stderr().is_terminal().then(|| {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {pos} domains checked ({per_sec}) {msg}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        pb
    });
    let start = Instant::now();
    let mut reports = run_stream(dns, selection, options, bulk, targets);
    let color = crate::use_color(args.output.color);
    let mut out = std::io::stdout().lock();
    let mut counts = std::collections::BTreeMap::<Status, usize>::new();
    // Exit precedence: 1 (fail-on reached) over 3 (could not verify) over 0.
    let rank = |c: u8| match c {
        1 => 2,
        3 => 1,
        _ => 0,
    };
    let mut exit = 0u8;
    let mut first = true;
    if args.output.format == Format::Table {
        writeln!(
            out,
            "{:<40}  {:<5}  {:>4} {:>4} {:>4}  WORST FINDING",
            "DOMAIN", "STATUS", "FAIL", "WARN", "ERR"
        )?;
    }
    if args.output.format == Format::Json {
        writeln!(out, "[")?;
    }
    while let Some((_, mut report)) = reports.next().await {
        render::sanitize(&mut report);
        *counts.entry(report.status).or_insert(0) += 1;
        let code = crate::exit_code_value(std::slice::from_ref(&report), args.fail_on.status());
        if rank(code) > rank(exit) {
            exit = code;
        }
        let text = match args.output.format {
            Format::Jsonl => render::json::render_line(&report),
            Format::Json => format!(
                "{}{}",
                if first { "" } else { ",\n" },
                render::json::render(&report).trim_end()
            ),
            // The whole-run formats are refused before bulk mode starts.
            Format::Table | Format::Junit | Format::Markdown | Format::Github => {
                summary_row(&report, color)
            }
        };
        first = false;
        if let Some(pb) = &progress {
            pb.suspend(|| out.write_all(text.as_bytes()))?;
            pb.inc(1);
        } else {
            out.write_all(text.as_bytes())?;
        }
        if args.output.format == Format::Jsonl {
            out.flush()?;
        }
    }
    if args.output.format == Format::Json {
        writeln!(out, "\n]")?;
    }
    out.flush()?;
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    let total: usize = counts.values().sum();
    let parts: Vec<String> = counts
        .iter()
        .rev()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let skipped = skipped.load(std::sync::atomic::Ordering::Relaxed);
    eprintln!(
        "mailpreflight: checked {total} domain(s) in {:.1}s{}{}",
        start.elapsed().as_secs_f64(),
        if parts.is_empty() {
            String::new()
        } else {
            format!(": {}", parts.join(", "))
        },
        if skipped > 0 {
            format!("; {skipped} malformed line(s) skipped")
        } else {
            String::new()
        }
    );
    Ok(ExitCode::from(exit))
}

fn summary_row(r: &Report, color: bool) -> String {
    let n = |s: Status| r.findings().filter(|f| f.status == s).count();
    let first = r
        .findings()
        .filter(|f| f.status != Status::Pass && f.status != Status::Skip)
        // The first of the worst, in check order (max_by_key keeps the last).
        .fold(
            None,
            |best: Option<&mailpreflight_checks::Finding>, f| match best {
                Some(b) if b.status >= f.status => Some(b),
                _ => Some(f),
            },
        )
        .map(|f| format!("{} {}", f.code.id(), f.message))
        .unwrap_or_default();
    format!(
        "{:<40}  {}  {:>4} {:>4} {:>4}  {first}\n",
        r.domain,
        render::table::status_label(r.status, color),
        n(Status::Fail),
        n(Status::Warn),
        n(Status::Error)
    )
}

/// Lines of an async reader as a stream, read only as fast as they are taken.
fn tokio_stream_lines<R: tokio::io::AsyncBufRead + Unpin + Send + 'static>(
    r: R,
) -> futures::stream::BoxStream<'static, std::io::Result<String>> {
    futures::stream::unfold(r.lines(), |mut lines| async move {
        match lines.next_line().await {
            Ok(Some(l)) => Some((Ok(l), lines)),
            Ok(None) => None,
            Err(e) => Some((Err(e), lines)),
        }
    })
    .boxed()
}
