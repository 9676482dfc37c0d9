//! Many domains in one run: a stream of targets in, a stream of reports out,
//! at most `jobs` domains at once, over one DNS client whose cache all of them
//! share (a provider's SPF include tree is fetched once per run, not once per
//! domain) while each domain spends its own query budget.
//!
//! Input is pulled only as fast as reports are taken, so a million-line
//! input never sits in memory.

use std::sync::Arc;

use futures::stream::{Stream, StreamExt};

use crate::dns::Dns;
use crate::{run, Ctx, Options, Report, Selection, Target};

#[derive(Debug, Clone)]
pub struct BulkOptions {
    /// Domains checked at once.
    pub jobs: usize,
    /// Queries one domain may send.
    pub budget_per_domain: u64,
    /// Reports in input order (a slow domain holds back the ones after it,
    /// within the `jobs` window) or as they finish.
    pub ordered: bool,
}

impl Default for BulkOptions {
    fn default() -> Self {
        BulkOptions {
            jobs: 64,
            budget_per_domain: 2_000,
            ordered: true,
        }
    }
}

/// Checks every target of `targets`; items carry a caller's tag (e.g. the
/// input line number) through to the report.
pub fn run_stream<'a, T: Send + 'a>(
    dns: Dns,
    selection: Selection,
    options: Options,
    bulk: BulkOptions,
    targets: impl Stream<Item = (T, Target)> + Send + 'a,
) -> impl Stream<Item = (T, Report)> + Send + 'a {
    let selection = Arc::new(selection);
    let budget = bulk.budget_per_domain;
    let work = targets.map(move |(tag, target)| {
        let ctx = Arc::new(Ctx {
            target,
            dns: dns.with_budget(budget),
            options: options.clone(),
        });
        let selection = selection.clone();
        async move { (tag, run(ctx, &selection).await) }
    });
    let jobs = bulk.jobs.max(1);
    if bulk.ordered {
        work.buffered(jobs).boxed()
    } else {
        work.buffer_unordered(jobs).boxed()
    }
}
