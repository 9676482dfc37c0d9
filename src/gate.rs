//! The `check` command end to end: which domains with which settings (the
//! command line over the config file), one run per domain over one shared
//! DNS client, severity overrides, the baseline comparison, the chosen
//! format (to stdout, or to `--output` with the table on the terminal), and
//! the exit code.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context as _, Result};

use mailpreflight_checks::dns::{Dns, DnsConfig};
use mailpreflight_checks::expect::Expectations;
use mailpreflight_checks::{worst, Code, Ctx, Options, Report, Selection, Status, Target};

use crate::cli::{CheckArgs, FailOn, Format};
use crate::render::{self, github::ZoneIndex};

/// One domain to check, with what applies to it alone.
#[derive(Debug, Clone)]
pub struct Run {
    pub target: Target,
    pub selection: Selection,
    /// Finding code → the status it gets in this domain's report.
    pub severity: BTreeMap<Code, Status>,
    /// The config's expectations for this domain (the `expect` check).
    pub expect: Expectations,
}

/// Everything a `check` invocation will do.
#[derive(Debug, Clone)]
pub struct Plan {
    pub runs: Vec<Run>,
    pub dns: DnsConfig,
    pub options: Options,
}

/// Whether flags were given on the command line rather than left at their
/// defaults (clap knows; the config file must not override what was typed).
#[derive(Debug, Clone, Copy, Default)]
pub struct Explicit {
    pub timeout: bool,
}

pub async fn check(args: CheckArgs, explicit: Explicit) -> Result<ExitCode> {
    let fail_on = args.fail_on;
    if fail_on == FailOn::New && args.gate.baseline.is_none() {
        bail!("--fail-on new needs --baseline FILE (an earlier --format json report)");
    }
    if let Some(file) = args.domains_file.clone() {
        // Bulk mode streams domain by domain: only formats that stream, and
        // none of the options that need the whole run at once.
        if !matches!(
            args.output.format,
            Format::Table | Format::Json | Format::Jsonl
        ) {
            bail!("--domains-file streams its report: use --format table, json or jsonl");
        }
        for (given, flag) in [
            (args.gate.config.is_some(), "--config"),
            (args.gate.baseline.is_some(), "--baseline"),
            (args.gate.output.is_some(), "--output"),
        ] {
            if given {
                bail!("{flag} cannot be combined with --domains-file");
            }
        }
        let mut selection = crate::cli::selection(&args.only, &args.skip)?;
        // Expectations come from a config file, which bulk mode does not read.
        if !selection.only.iter().any(|o| o == "expect") {
            selection.skip.push("expect".into());
        }
        let config = args.dns.config()?;
        return crate::bulk::run(args, &file, selection, config).await;
    }
    let baseline = args
        .gate
        .baseline
        .as_deref()
        .map(crate::baseline::load)
        .transpose()?;
    let plan = crate::config::plan(&args, explicit)?;
    let dns = Dns::new(&plan.dns)?;
    // Annotations need paths relative to the checkout: GitHub's, else here.
    let base = std::env::var_os("GITHUB_WORKSPACE")
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::current_dir().ok());
    let index = ZoneIndex::relative_to(dns.zones(), base.as_deref());
    let runs = plan.runs.into_iter().map(|mut run| {
        // Without expectations the expect check has nothing to say: it runs
        // only when asked for by name.
        if run.expect.is_empty() && !run.selection.only.iter().any(|o| o == "expect") {
            run.selection.skip.push("expect".into());
        }
        let ctx = Arc::new(Ctx {
            target: run.target,
            dns: dns.with_budget(plan.dns.budget),
            options: Options {
                expect: run.expect,
                ..plan.options.clone()
            },
        });
        async move {
            let mut report = mailpreflight_checks::run(ctx, &run.selection).await;
            override_severity(&mut report, &run.severity);
            report
        }
    });
    let mut reports = futures::future::join_all(runs).await;
    for r in &mut reports {
        render::sanitize(r);
    }
    if let Some(b) = &baseline {
        crate::baseline::compare(&mut reports, b);
    }
    let color = crate::use_color(args.output.color);
    match &args.gate.output {
        Some(path) => {
            // The file gets the chosen format without colour; the terminal the table.
            let text = render_as(args.output.format, &reports, fail_on, &index, false);
            write_file(path, &text)?;
            crate::emit(&render_as(Format::Table, &reports, fail_on, &index, color))?;
        }
        None => crate::emit(&render_as(
            args.output.format,
            &reports,
            fail_on,
            &index,
            color,
        ))?,
    }
    Ok(crate::exit_code(&reports, fail_on))
}

fn write_file(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("--output {}: cannot write", path.display()))
}

pub fn render_as(
    format: Format,
    reports: &[Report],
    fail_on: FailOn,
    index: &ZoneIndex,
    color: bool,
) -> String {
    match format {
        Format::Table => reports
            .iter()
            .map(|r| render::table::render(r, color))
            .collect::<Vec<_>>()
            .join("\n"),
        Format::Json => match reports {
            [one] => render::json::render(one),
            many => {
                let mut s = serde_json::to_string_pretty(many)
                    .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
                s.push('\n');
                s
            }
        },
        Format::Jsonl => render::jsonl::render(reports),
        Format::Junit => render::junit::render(reports, fail_on),
        Format::Markdown => render::markdown::render(reports, fail_on),
        Format::Github => render::github::render(reports, index),
    }
}

/// Applies the config's severity overrides after the run, before anything
/// is rendered or the exit code is decided, and re-derives the statuses and
/// order the engine gave.
pub fn override_severity(report: &mut Report, severity: &BTreeMap<Code, Status>) {
    if severity.is_empty() {
        return;
    }
    for c in &mut report.checks {
        for f in &mut c.findings {
            if let Some(s) = severity.get(&f.code) {
                f.status = *s;
            }
        }
        // The engine's order: worst first, then code, then message.
        c.findings.sort_by(|a, b| {
            b.status
                .cmp(&a.status)
                .then_with(|| a.code.id().cmp(b.code.id()))
                .then_with(|| a.message.cmp(&b.message))
        });
        c.status = worst(c.findings.iter().map(|f| f.status));
    }
    report.status = worst(report.checks.iter().map(|c| c.status));
}

impl Explicit {
    pub fn from_matches(m: &clap::ArgMatches) -> Self {
        let typed = |id: &str| {
            m.subcommand_matches("check")
                .is_some_and(|c| c.value_source(id) == Some(clap::parser::ValueSource::CommandLine))
        };
        Explicit {
            timeout: typed("timeout"),
        }
    }
}
