//! What a `check` will do: the domains and their settings from the command
//! line and, later, the config file.

use anyhow::Result;

use crate::cli::{self, CheckArgs};
use crate::gate::{Explicit, Plan, Run};
use mailpreflight_checks::Options;

pub fn plan(args: &CheckArgs, _explicit: Explicit) -> Result<Plan> {
    let target = args.target()?;
    let selection = cli::selection(&args.only, &args.skip)?;
    let dns = args.dns.config()?;
    Ok(Plan {
        runs: vec![Run {
            target,
            selection,
            severity: Default::default(),
        }],
        options: Options {
            offline: args.dns.offline,
            check_timeout: args.dns.check_timeout(),
            ..Options::default()
        },
        dns,
    })
}
