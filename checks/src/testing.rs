//! A real authoritative DNS server for tests and the benchmark: hickory-server
//! in-process on 127.0.0.1 (UDP and TCP, ephemeral port), on its own thread
//! and runtime, serving zones read by [`Zone`]. It counts the queries it gets
//! per name and type, and can be told to SERVFAIL, REFUSE or never answer
//! chosen names, or to delay every answer.
//!
//! Names outside the loaded zones are answered REFUSED, as an authoritative
//! server does, so nothing a test asks can leak to the internet.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Header, HeaderCounts, Metadata, ResponseCode};
use hickory_proto::rr::LowerName;
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::{Catalog, MessageResponseBuilder};
use hickory_server::Server;

use crate::dns::{normalize, Zone, ZoneError};

/// What the server does with a query for a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misbehave {
    ServFail,
    Refused,
    /// Never answers (the client times out).
    Drop,
}

#[derive(Default)]
struct State {
    counts: HashMap<(String, String), u64>,
    rules: HashMap<String, Misbehave>,
    /// Suffix rules: every name at or under the key.
    subtree_rules: HashMap<String, Misbehave>,
    latency: Duration,
}

struct Handler {
    catalog: Catalog,
    state: Arc<Mutex<State>>,
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: hickory_server::net::runtime::Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let (name, rtype) = match request.request_info() {
            Ok(info) => (
                normalize(&info.query.name().to_string()),
                info.query.query_type().to_string(),
            ),
            Err(_) => (String::new(), String::new()),
        };
        let (rule, latency) = {
            let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
            *st.counts.entry((name.clone(), rtype)).or_insert(0) += 1;
            let rule = st.rules.get(&name).copied().or_else(|| {
                st.subtree_rules
                    .iter()
                    .find(|(k, _)| k.is_empty() || name == **k || name.ends_with(&format!(".{k}")))
                    .map(|(_, v)| *v)
            });
            (rule, st.latency)
        };
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        let code = match rule {
            None => {
                return self
                    .catalog
                    .handle_request::<R, T>(request, response_handle)
                    .await
            }
            Some(Misbehave::Drop) => {
                let mut meta = Metadata::response_from_request(&request.metadata);
                meta.response_code = ResponseCode::ServFail;
                return ResponseInfo::from(Header {
                    metadata: meta,
                    counts: HeaderCounts::default(),
                });
            }
            Some(Misbehave::ServFail) => ResponseCode::ServFail,
            Some(Misbehave::Refused) => ResponseCode::Refused,
        };
        let response =
            MessageResponseBuilder::new(&request.queries, None).error_msg(&request.metadata, code);
        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(_) => {
                let mut meta = Metadata::response_from_request(&request.metadata);
                meta.response_code = ResponseCode::ServFail;
                ResponseInfo::from(Header {
                    metadata: meta,
                    counts: HeaderCounts::default(),
                })
            }
        }
    }
}

/// A running test DNS server. Stops when dropped.
pub struct TestDns {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestDns {
    /// Serves every `*.zone` file in `dir` (origin from each file).
    pub fn from_dir(dir: &Path) -> Result<TestDns, ZoneError> {
        let mut zones = Vec::new();
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| ZoneError {
                path: dir.to_path_buf(),
                line: 0,
                message: e.to_string(),
            })?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "zone"))
            .collect();
        entries.sort();
        for p in entries {
            zones.push(Zone::load(&p, None)?);
        }
        Ok(TestDns::start(zones))
    }

    /// Serves the given zones.
    pub fn start(zones: Vec<Zone>) -> TestDns {
        let state = Arc::new(Mutex::new(State::default()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let st = state.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("test DNS runtime");
            rt.block_on(async move {
                let mut catalog = Catalog::new();
                for z in zones {
                    let origin = crate::dns::zone::to_name(z.origin()).expect("zone origin");
                    let handler = z.into_handler();
                    catalog.upsert(LowerName::from(&origin), vec![Arc::new(handler)]);
                }
                let handler = Handler { catalog, state: st };
                // TCP on the same port, for truncated answers. The UDP port
                // may already be taken for TCP (tests open many TCP ports
                // at once): then try another.
                let mut tries = 0;
                let (udp, tcp, addr) = loop {
                    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0")
                        .await
                        .expect("bind udp");
                    let addr = udp.local_addr().expect("udp addr");
                    match tokio::net::TcpListener::bind(addr).await {
                        Ok(tcp) => break (udp, tcp, addr),
                        Err(_) if tries < 50 => tries += 1,
                        Err(e) => panic!("bind tcp: {e}"),
                    }
                };
                let mut server = Server::new(handler);
                server.register_socket(udp);
                server.register_listener(tcp, Duration::from_secs(5), 1 << 20);
                addr_tx.send(addr).expect("report address");
                let _ = stop_rx.await;
                let _ = server.shutdown_gracefully().await;
            });
        });
        let addr = addr_rx.recv().expect("test DNS server started");
        TestDns {
            addr,
            state,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    fn with_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Queries received for `name` and `rtype` (e.g. "TXT").
    pub fn count(&self, name: &str, rtype: &str) -> u64 {
        self.with_state(|s| {
            s.counts
                .get(&(normalize(name), rtype.to_string()))
                .copied()
                .unwrap_or(0)
        })
    }

    /// All queries received.
    pub fn total(&self) -> u64 {
        self.with_state(|s| s.counts.values().sum())
    }

    pub fn reset_counts(&self) {
        self.with_state(|s| s.counts.clear())
    }

    /// Every query for exactly `name` misbehaves.
    pub fn misbehave(&self, name: &str, how: Misbehave) {
        self.with_state(|s| s.rules.insert(normalize(name), how));
    }

    /// Every query at or under `name` misbehaves (`""`: every query).
    pub fn misbehave_under(&self, name: &str, how: Misbehave) {
        self.with_state(|s| s.subtree_rules.insert(normalize(name), how));
    }

    /// Delays every answer (the benchmark's round-trip time).
    pub fn set_latency(&self, latency: Duration) {
        self.with_state(|s| s.latency = latency)
    }

    /// Names queried at least once.
    pub fn names_queried(&self) -> HashSet<String> {
        self.with_state(|s| s.counts.keys().map(|(n, _)| n.clone()).collect())
    }
}

impl Drop for TestDns {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
