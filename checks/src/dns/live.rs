//! The live backend: hickory-resolver over UDP with TCP on truncation.

use std::sync::Arc;

use hickory_proto::op::ResponseCode;
use hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::TokioResolver;

use super::zone::{from_hickory, to_name, to_record_type};
use super::{Answer, DnsConfig, DnsError as OurError, Failure, RData, RType, Record};

pub(super) struct Live {
    resolver: TokioResolver,
}

impl Live {
    pub(super) fn new(config: &DnsConfig) -> Result<Live, OurError> {
        let rc = if config.resolvers.is_empty() {
            let (rc, _) = hickory_resolver::system_conf::read_system_conf().map_err(|e| {
                OurError::Resolver(format!(
                    "cannot read the system resolver configuration: {e}"
                ))
            })?;
            // Our names are absolute: no search list, no domain.
            ResolverConfig::from_name_servers(rc.name_servers().to_vec())
        } else {
            let servers = config
                .resolvers
                .iter()
                .map(|sa| {
                    let mut ns = NameServerConfig::udp_and_tcp(sa.ip());
                    for c in &mut ns.connections {
                        c.port = sa.port();
                    }
                    ns
                })
                .collect();
            ResolverConfig::from_name_servers(servers)
        };
        let mut opts = ResolverOpts::default();
        opts.timeout = config.timeout;
        opts.attempts = config.attempts;
        opts.ndots = 0;
        // The run's own cache is the one that counts; a second one would
        // only hide queries from the budget.
        opts.cache_size = 0;
        opts.preserve_intermediates = true;
        opts.use_hosts_file = hickory_resolver::config::ResolveHosts::Never;
        opts.edns0 = true;
        let resolver = TokioResolver::builder_with_config(rc, TokioRuntimeProvider::default())
            .with_options(opts)
            .build()
            .map_err(|e| OurError::Resolver(e.to_string()))?;
        Ok(Live { resolver })
    }

    pub(super) async fn lookup(&self, name: &str, rtype: RType) -> Answer {
        let hname = match to_name(name) {
            Ok(n) => n,
            Err(e) => return Answer::Failed(Failure::InvalidName(e)),
        };
        match self.resolver.lookup(hname, to_record_type(rtype)).await {
            Ok(lookup) => {
                let recs: Vec<Record> = lookup.answers().iter().filter_map(from_hickory).collect();
                let wanted = recs
                    .iter()
                    .any(|r| r.rtype() == rtype.as_str() || rtype == RType::Cname);
                if wanted {
                    Answer::Records(Arc::from(recs))
                } else if !recs.is_empty() && recs.iter().all(|r| matches!(r.data, RData::Cname(_)))
                {
                    // An alias with nothing behind it of this type.
                    Answer::NoData(Arc::from(recs))
                } else {
                    Answer::NoData(Arc::from(recs))
                }
            }
            Err(e) => classify(&e),
        }
    }
}

fn classify(e: &NetError) -> Answer {
    match e {
        NetError::Dns(DnsError::NoRecordsFound(nr)) => {
            if nr.response_code == ResponseCode::NXDomain {
                Answer::NxDomain
            } else {
                Answer::NoData(Arc::from(Vec::new()))
            }
        }
        NetError::Dns(DnsError::ResponseCode(ResponseCode::ServFail)) => {
            Answer::Failed(Failure::ServFail)
        }
        NetError::Dns(DnsError::ResponseCode(ResponseCode::Refused)) => {
            Answer::Failed(Failure::Refused)
        }
        NetError::Dns(DnsError::ResponseCode(ResponseCode::NXDomain)) => Answer::NxDomain,
        NetError::Timeout => Answer::Failed(Failure::Timeout),
        other => {
            let s = other.to_string();
            if s.contains("timed out") || s.contains("timeout") {
                Answer::Failed(Failure::Timeout)
            } else if s.contains("SERVFAIL") || s.contains("ServFail") {
                Answer::Failed(Failure::ServFail)
            } else if s.contains("Refused") || s.contains("REFUSED") {
                Answer::Failed(Failure::Refused)
            } else {
                Answer::Failed(Failure::Other(s))
            }
        }
    }
}
