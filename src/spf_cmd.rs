//! `mailpreflight spf [DOMAIN] --ip IP [--sender ADDR] [--helo NAME]`: RFC
//! 7208 check_host() for the MAIL FROM identity, with the term that decided,
//! the explanation, the lookups used and the whole trace.
//!
//! Exit codes: 0 pass; 1 fail, softfail, neutral, none or permerror; 2 bad
//! input; 3 temperror (could not verify).

use std::fmt::Write as _;
use std::net::IpAddr;
use std::process::ExitCode;

use anyhow::{bail, Result};
use clap::Args;
use owo_colors::OwoColorize;

use crate::cli::{parse_helo, DnsArgs, Format, OutputArgs};
use crate::render::escape;
use mailpreflight_checks::dns::Dns;
use mailpreflight_checks::names::to_domain;
use mailpreflight_checks::spf::{check_host, Evaluation, SpfResult, MAX_LOOKUPS, MAX_VOID_LOOKUPS};

#[derive(Args, Debug)]
pub struct SpfArgs {
    /// The domain to evaluate; default: the --sender's domain, or the --helo name when the sender
    /// is empty or absent.
    pub domain: Option<String>,
    /// The connecting client's IP (IPv4 or IPv6).
    #[arg(long, value_name = "IP")]
    pub ip: String,
    /// The envelope sender (MAIL FROM). An empty string is the null reverse-path (bounces):
    /// postmaster@HELO is evaluated.
    #[arg(long, value_name = "ADDR")]
    pub sender: Option<String>,
    /// The name the client gave in HELO/EHLO (the %{h} macro; the identity for a null sender).
    #[arg(long, value_name = "NAME")]
    pub helo: Option<String>,
    #[command(flatten)]
    pub dns: DnsArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// What to evaluate, every value checked: (ip, domain, sender, helo).
pub struct Question {
    pub ip: IpAddr,
    pub domain: String,
    /// As check_host() takes it: "" for the null reverse-path.
    pub sender: String,
    pub helo: String,
}

impl SpfArgs {
    pub fn question(&self) -> Result<Question> {
        let ip: IpAddr = self.ip.trim().parse().map_err(|_| {
            anyhow::anyhow!(
                "--ip {:?} is not an IPv4 or IPv6 address (e.g. 192.0.2.10 or 2001:db8::25)",
                self.ip
            )
        })?;
        let helo = self.helo.as_deref().map(parse_helo).transpose()?;
        let sender = match self.sender.as_deref().map(str::trim) {
            None | Some("") | Some("<>") => None,
            Some(s) => {
                let s = s.trim_start_matches('<').trim_end_matches('>');
                let Some((local, domain)) = s.rsplit_once('@') else {
                    bail!(
                        "--sender {s:?} is not an address (local@domain; \"\" for the null sender)"
                    );
                };
                if local.chars().any(|c| c.is_control()) {
                    bail!("--sender {s:?} has control characters in its local part");
                }
                let d = to_domain(domain).map_err(|e| anyhow::anyhow!("--sender {s:?}: {e}"))?;
                Some((local.to_string(), d))
            }
        };
        let domain = match (&self.domain, &sender, &helo) {
            (Some(d), _, _) => to_domain(d).map_err(|e| anyhow::anyhow!("domain {e}"))?,
            (None, Some((_, d)), _) => d.clone(),
            (None, None, Some(h)) => h.trim_end_matches('.').to_ascii_lowercase(),
            (None, None, None) => {
                bail!("give the domain to evaluate: DOMAIN, --sender ADDR, or --helo NAME (for a null sender)")
            }
        };
        // Without --helo the HELO name stands in as the domain itself.
        let helo = helo.unwrap_or_else(|| domain.clone());
        let sender = match (sender, &self.sender) {
            (Some((l, d)), _) => format!("{l}@{d}"),
            // The null reverse-path, given as such.
            (None, Some(_)) => String::new(),
            // No sender at all: the domain's postmaster.
            (None, None) if self.domain.is_some() => format!("postmaster@{domain}"),
            (None, None) => String::new(),
        };
        Ok(Question {
            ip,
            domain,
            sender,
            helo,
        })
    }
}

pub async fn run(args: SpfArgs) -> Result<ExitCode> {
    if matches!(
        args.output.format,
        Format::Junit | Format::Markdown | Format::Github
    ) {
        anyhow::bail!("spf prints its evaluation as table, json or jsonl; --format junit, markdown and github are for check");
    }
    let q = args.question()?;
    let config = args.dns.config()?;
    let dns = Dns::new(&config)?;
    let mut ev = check_host(&dns, q.ip, &q.domain, &q.sender, &q.helo).await;
    sanitize(&mut ev);
    let color = crate::use_color(args.output.color);
    let text = match args.output.format {
        // Refused before anything was asked, below.
        Format::Junit | Format::Markdown | Format::Github => String::new(),
        Format::Table => render_text(&ev, color),
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&ev)?),
        Format::Jsonl => format!("{}\n", serde_json::to_string(&ev)?),
    };
    crate::emit(&text)?;
    Ok(exit_code(ev.result))
}

pub fn exit_code(result: SpfResult) -> ExitCode {
    match result {
        SpfResult::Pass => ExitCode::SUCCESS,
        SpfResult::TempError => ExitCode::from(3),
        _ => ExitCode::from(1),
    }
}

/// Everything that came from DNS, escaped once for every format.
fn sanitize(ev: &mut Evaluation) {
    for l in &mut ev.trace {
        l.text = escape(&l.text);
    }
    for s in [
        &mut ev.explanation,
        &mut ev.deciding_term,
        &mut ev.deciding_domain,
        &mut ev.reason,
    ]
    .into_iter()
    .flatten()
    {
        *s = escape(s);
    }
    ev.sender = escape(&ev.sender);
    ev.helo = escape(&ev.helo);
}

/// The human report: the verdict, how it came about, then the trace
/// indented by include depth.
pub fn render_text(ev: &Evaluation, color: bool) -> String {
    let mut o = String::new();
    let sender = if ev.sender.is_empty() {
        "<>".to_string()
    } else {
        ev.sender.clone()
    };
    let _ = writeln!(
        o,
        "SPF check_host({}, {}, {sender})  helo {}",
        ev.ip, ev.domain, ev.helo
    );
    let result = ev.result.as_str();
    let result = if color {
        match ev.result {
            SpfResult::Pass => result.green().bold().to_string(),
            SpfResult::TempError => result.magenta().bold().to_string(),
            SpfResult::Neutral | SpfResult::None => result.yellow().bold().to_string(),
            _ => result.red().bold().to_string(),
        }
    } else {
        result.to_string()
    };
    let _ = writeln!(o);
    let _ = writeln!(o, "result:       {result}");
    let decided = match (&ev.deciding_term, &ev.deciding_domain) {
        (Some(t), Some(d)) => format!("{t}  (in {d}'s record)"),
        (Some(t), None) => t.clone(),
        _ => "no term (the default result)".into(),
    };
    let _ = writeln!(o, "decided by:   {decided}");
    if let Some(r) = &ev.reason {
        let _ = writeln!(o, "why:          {r}");
    }
    match (&ev.explanation, ev.result) {
        (Some(e), _) => {
            let _ = writeln!(o, "explanation:  {e}");
        }
        (None, SpfResult::Fail) => {
            let _ = writeln!(
                o,
                "explanation:  (none published: the record has no usable exp=)"
            );
        }
        _ => {}
    }
    let _ = writeln!(
        o,
        "lookups:      {} of {MAX_LOOKUPS}, void lookups {} of {MAX_VOID_LOOKUPS}",
        ev.lookups, ev.void_lookups
    );
    let _ = writeln!(o);
    let _ = writeln!(o, "trace:");
    for l in &ev.trace {
        let _ = writeln!(o, "  {}{}", "    ".repeat(l.depth as usize), l.text);
    }
    o
}
