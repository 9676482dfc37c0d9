//! mailpreflight: the command line over the `mailpreflight-checks` engine.
//! Only `main` decides the exit code; errors print once as
//! `mailpreflight: …` and are exit 2 (bad usage or input).

mod baseline;
mod bulk;
mod cli;
mod config;
mod explain;
mod gate;
mod render;
mod spf_cmd;

use std::io::{IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Result;
use clap::{CommandFactory, FromArgMatches};

use cli::{Cli, ColorWhen, Command};
use mailpreflight_checks::{Report, Status};

fn main() -> ExitCode {
    let parsed = Cli::command()
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m).map(|c| (c, m)));
    let (cli, matches) = match parsed {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let explicit = gate::Explicit::from_matches(&matches);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mailpreflight: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = rt.block_on(async {
        match cli.command {
            Command::Check(args) => gate::check(*args, explicit).await,
            Command::Codes { code } => codes(code.as_deref()),
            Command::Path(args) => path(args).await,
            Command::Explain(args) => explain::run(*args).await,
            Command::Spf(args) => spf_cmd::run(*args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(e) => {
            // A closed stdout (`| head`) is not an error.
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            eprintln!("mailpreflight: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Whether the table gets colour.
pub(crate) fn use_color(when: ColorWhen) -> bool {
    match when {
        ColorWhen::Always => true,
        ColorWhen::Never => false,
        ColorWhen::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                && std::io::stdout().is_terminal()
        }
    }
}

/// Writes to stdout; a broken pipe comes back as an io::Error for `main`.
pub(crate) fn emit(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    Ok(())
}

/// 0 nothing at or above `fail_on`; 1 something is; 3 nothing failed but
/// something could not be verified.
pub fn exit_code(reports: &[Report], fail_on: cli::FailOn) -> ExitCode {
    let findings = || reports.iter().flat_map(|r| r.findings());
    if findings().any(|f| render::failing(f, fail_on)) {
        ExitCode::from(1)
    } else if findings().any(|f| f.status == Status::Error) {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    }
}

/// The same rule as [`exit_code`] at a status threshold, as a number (bulk
/// mode folds many domains' codes into one).
pub(crate) fn exit_code_value(reports: &[Report], fail_on: Status) -> u8 {
    let threshold = fail_on.severity().unwrap_or(3);
    let findings = || reports.iter().flat_map(|r| r.findings());
    if findings().any(|f| f.status.severity().is_some_and(|s| s >= threshold)) {
        1
    } else if findings().any(|f| f.status == Status::Error) {
        3
    } else {
        0
    }
}

/// The registry as a Markdown table (the README's list is this output), or
/// one code in full.
fn codes(code: Option<&str>) -> Result<ExitCode> {
    use mailpreflight_checks::Code;
    let text = match code {
        Some(id) => {
            let c = Code::from_id(id.trim()).ok_or_else(|| {
                anyhow::anyhow!("{id:?} is not a finding code (see `mailpreflight codes`)")
            })?;
            format!(
                "{}  ({})\n{}\n\nfix: {}\nreferences: {}\n",
                c.id(),
                c.status(),
                c.title(),
                c.fix(),
                if c.references().is_empty() {
                    "-"
                } else {
                    c.references()
                }
            )
        }
        None => codes_table(),
    };
    emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

pub fn codes_table() -> String {
    let mut s = String::from("| code | status | meaning |\n| --- | --- | --- |\n");
    for c in mailpreflight_checks::Code::ALL {
        s.push_str(&format!(
            "| `{}` | {} | {} |\n",
            c.id(),
            c.status(),
            c.title()
        ));
    }
    s
}

/// `path`: the sending host's own path to a recipient domain.
async fn path(args: cli::PathArgs) -> Result<ExitCode> {
    use mailpreflight_checks::path::{nameservers, run, PathOptions};
    let domain = args.domain()?;
    if args.dns.offline {
        anyhow::bail!("path tests this host's network: it cannot run --offline");
    }
    let smarthost = args.smarthost()?;
    let helo = args.helo.as_deref().map(cli::parse_helo).transpose()?;
    let engine = args.options()?;
    let config = args.dns.config()?;
    let servers = nameservers(&config.resolvers, &args.resolv_conf)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", args.resolv_conf.display()))?;
    let opts = PathOptions {
        dns: config,
        engine,
        helo,
        smarthost,
    };
    let mut report = run(&servers, &domain, &opts).await?;
    render::sanitize(&mut report);
    let reports = std::slice::from_ref(&report);
    emit(&gate::render_as(
        args.output.format,
        reports,
        cli::FailOn::Fail,
        &render::github::ZoneIndex::default(),
        use_color(args.output.color),
    ))?;
    Ok(exit_code(reports, cli::FailOn::Fail))
}
