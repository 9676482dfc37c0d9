//! The config file (`mailpreflight.toml`, or `--config FILE`) and what a
//! `check` will do: the domains, each with its target, checks and severity
//! overrides, and one DNS configuration for all of them. The command line
//! overrides the file; paths in the file are relative to the file.
//!
//! ```toml
//! [defaults]
//! resolvers = ["192.0.2.53"]    # else the system's
//! timeout = 5.0
//! offline = true
//! zones = ["zones"]             # files or folders of *.zone
//! skip = ["smtp"]               # or only = [...]
//!
//! [severity]                    # every domain
//! "rdns.generic_ptr" = "info"
//!
//! [[domain]]
//! name = "example.com"
//! ips = ["192.0.2.25"]
//! helo = "mail.example.com"
//! mail_from = "bounce@example.com"
//! selectors = ["s1"]
//! zones = ["zones/example.com.zone"]
//! [domain.severity]             # this domain only; wins over [severity]
//! "mx.target_no_address" = "info"
//! [domain.expect]               # also [expect] for every domain
//! min_dmarc_policy = "quarantine"
//! max_spf_lookups = 8
//! min_dkim_bits = 2048
//! selectors = ["s1"]            # must publish a key
//! authorized_ips = ["192.0.2.25"]   # SPF must pass them
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _, Result};
use serde::Deserialize;
use toml::Spanned;

use mailpreflight_checks::expect::{DmarcPolicy, Expectations};
use mailpreflight_checks::names::to_domain;
use mailpreflight_checks::{Code, Options, Status, Target};

use crate::cli::{self, CheckArgs};
use crate::gate::{Explicit, Plan, Run};

/// Looked for in the working directory when no `--config` is given.
pub const DEFAULT_FILE: &str = "mailpreflight.toml";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub defaults: Defaults,
    #[serde(default)]
    pub severity: BTreeMap<String, Spanned<String>>,
    /// Expectations for every domain; a domain's own win, key by key.
    #[serde(default)]
    pub expect: Expect,
    #[serde(default, rename = "domain")]
    pub domains: Vec<Domain>,
}

/// `[expect]` / `[domain.expect]`: the team's own rules, checked by the
/// `expect` check.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// none, quarantine or reject.
    pub min_dmarc_policy: Option<Spanned<String>>,
    pub max_spf_lookups: Option<Spanned<u32>>,
    pub min_dkim_bits: Option<Spanned<usize>>,
    /// Selectors that must publish a key.
    pub selectors: Option<Vec<Spanned<String>>>,
    /// IPs the SPF record must authorise.
    pub authorized_ips: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Defaults {
    #[serde(default)]
    pub resolvers: Vec<String>,
    pub timeout: Option<f64>,
    #[serde(default)]
    pub offline: bool,
    #[serde(default)]
    pub zones: Vec<String>,
    #[serde(default)]
    pub only: Vec<String>,
    #[serde(default)]
    pub skip: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Domain {
    pub name: Spanned<String>,
    #[serde(default)]
    pub ips: Vec<Spanned<String>>,
    pub helo: Option<Spanned<String>>,
    pub mail_from: Option<Spanned<String>>,
    #[serde(default)]
    pub selectors: Vec<Spanned<String>>,
    #[serde(default)]
    pub zones: Vec<String>,
    #[serde(default)]
    pub only: Vec<String>,
    #[serde(default)]
    pub skip: Vec<String>,
    #[serde(default)]
    pub severity: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub expect: Expect,
}

/// A config file read and checked: every error names the file and line.
pub struct Loaded {
    pub path: PathBuf,
    text: String,
    pub config: Config,
}

impl Loaded {
    pub fn read(path: &Path) -> Result<Loaded> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("--config {}: cannot read", path.display()))?;
        Loaded::parse(path, text)
    }

    pub fn parse(path: &Path, text: String) -> Result<Loaded> {
        let config: Config = toml::from_str(&text).map_err(|e| {
            let line = e.span().map(|s| line_of(&text, s.start)).unwrap_or(0);
            anyhow!(
                "{}:{line}: {}",
                path.display(),
                e.message().trim_end().replace('\n', " ")
            )
        })?;
        Ok(Loaded {
            path: path.to_path_buf(),
            text,
            config,
        })
    }

    fn at<T>(&self, s: &Spanned<T>) -> String {
        format!(
            "{}:{}",
            self.path.display(),
            line_of(&self.text, s.span().start)
        )
    }

    /// Paths in the file are relative to the file.
    fn resolve(&self, zone: &str) -> String {
        let dir = self.path.parent().unwrap_or(Path::new(""));
        match zone.split_once('=') {
            Some((origin, p)) if !origin.contains('/') && !origin.is_empty() => {
                format!("{origin}={}", dir.join(p).display())
            }
            _ => dir.join(zone).display().to_string(),
        }
    }

    fn severity(
        &self,
        map: &BTreeMap<String, Spanned<String>>,
        into: &mut BTreeMap<Code, Status>,
    ) -> Result<()> {
        for (code, status) in map {
            let c = Code::from_id(code.trim()).ok_or_else(|| {
                anyhow!(
                    "{}: {code:?} is not a finding code (see `mailpreflight codes`)",
                    self.at(status)
                )
            })?;
            let s = Status::parse(status.get_ref().trim()).ok_or_else(|| {
                anyhow!(
                    "{}: severity of {code} is {:?}; use pass, info, warn, fail, error or skip",
                    self.at(status),
                    status.get_ref()
                )
            })?;
            into.insert(c, s);
        }
        Ok(())
    }

    /// The global `[expect]` with the domain's own over it, key by key.
    fn expectations(&self, own: Option<&Expect>) -> Result<Expectations> {
        let global = &self.config.expect;
        let pick = |f: fn(&Expect) -> bool| own.filter(|o| f(o)).unwrap_or(global);
        let mut e = Expectations::default();
        if let Some(p) = &pick(|x| x.min_dmarc_policy.is_some()).min_dmarc_policy {
            e.min_dmarc_policy = Some(DmarcPolicy::parse(p.get_ref()).ok_or_else(|| {
                anyhow!(
                    "{}: min_dmarc_policy is {:?}; use none, quarantine or reject",
                    self.at(p),
                    p.get_ref()
                )
            })?);
        }
        if let Some(n) = &pick(|x| x.max_spf_lookups.is_some()).max_spf_lookups {
            if *n.get_ref() > 10 {
                bail!(
                    "{}: max_spf_lookups is {}; SPF allows at most 10",
                    self.at(n),
                    n.get_ref()
                );
            }
            e.max_spf_lookups = Some(*n.get_ref());
        }
        if let Some(b) = &pick(|x| x.min_dkim_bits.is_some()).min_dkim_bits {
            if !(512..=16384).contains(b.get_ref()) {
                bail!(
                    "{}: min_dkim_bits is {}; give an RSA key size such as 1024, 2048 or 4096",
                    self.at(b),
                    b.get_ref()
                );
            }
            e.min_dkim_bits = Some(*b.get_ref());
        }
        if let Some(list) = &pick(|x| x.selectors.is_some()).selectors {
            for s in list {
                e.selectors.push(
                    cli::parse_selector(s.get_ref()).map_err(|x| anyhow!("{}: {x}", self.at(s)))?,
                );
            }
        }
        if let Some(list) = &pick(|x| x.authorized_ips.is_some()).authorized_ips {
            for ip in list {
                e.authorized_ips.extend(
                    cli::parse_ips(std::slice::from_ref(ip.get_ref()))
                        .map_err(|x| anyhow!("{}: {x}", self.at(ip)))?,
                );
            }
        }
        Ok(e)
    }

    fn target(&self, d: &Domain) -> Result<Target> {
        let wrap = |at: String| move |e: anyhow::Error| anyhow!("{at}: {e}");
        let domain =
            to_domain(d.name.get_ref()).map_err(|e| anyhow!("{}: domain {e}", self.at(&d.name)))?;
        let mut ips = Vec::new();
        for ip in &d.ips {
            for parsed in
                cli::parse_ips(std::slice::from_ref(ip.get_ref())).map_err(wrap(self.at(ip)))?
            {
                if !ips.contains(&parsed) {
                    ips.push(parsed);
                }
            }
        }
        let selectors = d
            .selectors
            .iter()
            .map(|s| cli::parse_selector(s.get_ref()).map_err(wrap(self.at(s))))
            .collect::<Result<_>>()?;
        Ok(Target {
            domain,
            ips,
            helo: d
                .helo
                .as_ref()
                .map(|h| cli::parse_helo(h.get_ref()).map_err(wrap(self.at(h))))
                .transpose()?,
            mail_from: d
                .mail_from
                .as_ref()
                .map(|m| cli::parse_mail_from(m.get_ref()).map_err(wrap(self.at(m))))
                .transpose()?,
            selectors,
        })
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// The config file in effect: `--config`, else `./mailpreflight.toml` if
/// there is one.
pub fn find(args: &CheckArgs) -> Result<Option<Loaded>> {
    match &args.gate.config {
        Some(p) => Loaded::read(p).map(Some),
        None => {
            let p = Path::new(DEFAULT_FILE);
            if p.is_file() {
                Loaded::read(p).map(Some)
            } else {
                Ok(None)
            }
        }
    }
}

pub fn plan(args: &CheckArgs, explicit: Explicit) -> Result<Plan> {
    let Some(file) = find(args)? else {
        return plan_from_args(args);
    };
    let cfg = &file.config;
    let mut global = BTreeMap::new();
    file.severity(&cfg.severity, &mut global)?;

    // Which entries: the one named on the command line (or none, for a
    // domain the file does not list), else all of them.
    let entries: Vec<Option<&Domain>> = match &args.domain {
        Some(d) => {
            let want = to_domain(d).map_err(|e| anyhow!("domain {e}"))?;
            let found = cfg
                .domains
                .iter()
                .find(|e| to_domain(e.name.get_ref()).is_ok_and(|n| n == want));
            vec![found]
        }
        None => {
            if cfg.domains.is_empty() {
                bail!(
                    "{}: no [[domain]] entries; give a DOMAIN to check",
                    file.path.display()
                );
            }
            cfg.domains.iter().map(Some).collect()
        }
    };

    let mut runs = Vec::new();
    let mut zones: Vec<String> = cfg.defaults.zones.iter().map(|z| file.resolve(z)).collect();
    for entry in entries {
        let mut target = match entry {
            Some(d) => file.target(d)?,
            None => args.target()?,
        };
        // The command line wins, field by field.
        if !args.ips.is_empty() {
            target.ips = cli::parse_ips(&args.ips)?;
        }
        if let Some(h) = &args.helo {
            target.helo = Some(cli::parse_helo(h)?);
        }
        if let Some(m) = &args.mail_from {
            target.mail_from = Some(cli::parse_mail_from(m)?);
        }
        if !args.selectors.is_empty() {
            target.selectors = args
                .selectors
                .iter()
                .map(|s| cli::parse_selector(s))
                .collect::<Result<_>>()?;
        }
        let pick = |cli: &Vec<String>, own: Option<&Vec<String>>, def: &Vec<String>| {
            if !cli.is_empty() {
                cli.clone()
            } else if let Some(own) = own.filter(|o| !o.is_empty()) {
                own.clone()
            } else {
                def.clone()
            }
        };
        let only = pick(&args.only, entry.map(|d| &d.only), &cfg.defaults.only);
        let skip = pick(&args.skip, entry.map(|d| &d.skip), &cfg.defaults.skip);
        let selection =
            cli::selection(&only, &skip).map_err(|e| anyhow!("{}: {e}", file.path.display()))?;
        let mut severity = global.clone();
        if let Some(d) = entry {
            file.severity(&d.severity, &mut severity)?;
            zones.extend(d.zones.iter().map(|z| file.resolve(z)));
        }
        let expect = file.expectations(entry.map(|d| &d.expect))?;
        runs.push(Run {
            target,
            selection,
            severity,
            expect,
        });
    }

    let mut dns_args = args.dns.clone();
    if dns_args.resolvers.is_empty() {
        dns_args.resolvers = cfg.defaults.resolvers.clone();
    }
    if dns_args.zones.is_empty() {
        let mut seen = std::collections::BTreeSet::new();
        zones.retain(|z| seen.insert(z.clone()));
        dns_args.zones = zones;
    }
    dns_args.offline |= cfg.defaults.offline;
    if let (false, Some(t)) = (explicit.timeout, cfg.defaults.timeout) {
        dns_args.timeout = t;
    }
    let dns = dns_args
        .config()
        .map_err(|e| anyhow!("{e} (with {})", file.path.display()))?;
    Ok(Plan {
        runs,
        options: Options {
            offline: dns_args.offline,
            check_timeout: dns_args.check_timeout(),
            ..args.options()?
        },
        dns,
    })
}

fn plan_from_args(args: &CheckArgs) -> Result<Plan> {
    let target = args.target()?;
    let selection = cli::selection(&args.only, &args.skip)?;
    let dns = args.dns.config()?;
    Ok(Plan {
        runs: vec![Run {
            target,
            selection,
            severity: BTreeMap::new(),
            expect: Expectations::default(),
        }],
        options: args.options()?,
        dns,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Loaded> {
        Loaded::parse(Path::new("ci/mailpreflight.toml"), text.to_string())
    }

    #[test]
    fn unknown_keys_are_errors_with_the_line() {
        let e = parse(
            "[defaults]\ntimeout = 3\n\n[[domain]]\nname = \"example.com\"\nhelo_name = \"x\"\n",
        )
        .err()
        .unwrap()
        .to_string();
        assert!(
            e.starts_with("ci/mailpreflight.toml:6: unknown field `helo_name`"),
            "{e}"
        );
        let e = parse("[default]\n").err().unwrap().to_string();
        assert!(
            e.starts_with("ci/mailpreflight.toml:1: unknown field `default`"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_name_the_line() {
        let f = parse(
            "[[domain]]\nname = \"example.com\"\nips = [\"192.0.2.1\",\n  \"192.0.2.300\"]\n",
        )
        .unwrap();
        let e = f.target(&f.config.domains[0]).err().unwrap().to_string();
        assert!(
            e.starts_with("ci/mailpreflight.toml:4: --ip \"192.0.2.300\""),
            "{e}"
        );
        let f = parse("[severity]\n\"mx.nope\" = \"info\"\n").unwrap();
        let mut m = BTreeMap::new();
        let e = f
            .severity(&f.config.severity, &mut m)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.starts_with("ci/mailpreflight.toml:2: \"mx.nope\" is not a finding code"),
            "{e}"
        );
        let f = parse("[severity]\n\"mx.ok\" = \"loud\"\n").unwrap();
        let e = f
            .severity(&f.config.severity, &mut m)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.starts_with("ci/mailpreflight.toml:2: severity of mx.ok is \"loud\""),
            "{e}"
        );
    }

    #[test]
    fn zone_paths_are_relative_to_the_file() {
        let f = parse("").unwrap();
        assert_eq!(f.resolve("zones/a.zone"), "ci/zones/a.zone");
        assert_eq!(
            f.resolve("example.com=zones/a.zone"),
            "example.com=ci/zones/a.zone"
        );
    }
}
