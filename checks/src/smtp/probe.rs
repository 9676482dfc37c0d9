//! The SMTP probe: one connection to one mail host, recorded step by step.
//!
//! It connects, reads the greeting, sends EHLO, and when STARTTLS is offered
//! upgrades with rustls (ring), sends EHLO again inside TLS, then QUIT. Only
//! EHLO, STARTTLS and QUIT are ever sent: never MAIL, RCPT or DATA, so a
//! probe can never deliver, relay or verify an address.
//!
//! Nothing a server does is fatal to the probe: every step is bounded in
//! time and size, its outcome is recorded, and the report says where the
//! dialogue stopped. Certificate problems (expired, not yet valid, wrong
//! name, untrusted chain) are recorded by a verifier that lets the handshake
//! finish, so a report can name every problem at once. The probe judges
//! nothing: the `smtp` check (and later commands) read the [`ProbeReport`].

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use serde::Serialize;
use tokio::io::{
    AsyncBufRead, AsyncBufReadExt, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader,
};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

/// How long each step may take, and the whole probe.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub connect: Duration,
    /// Each reply (greeting, EHLO, STARTTLS, QUIT).
    pub reply: Duration,
    pub tls: Duration,
    /// The whole probe; every step also stops here.
    pub total: Duration,
}

impl Timeouts {
    /// Every step `step`, the whole probe three times that.
    pub fn uniform(step: Duration) -> Timeouts {
        Timeouts {
            connect: step,
            reply: step,
            tls: step,
            total: step * 3,
        }
    }
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts::uniform(Duration::from_secs(10))
    }
}

/// Whether the TCP connection was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome", content = "detail")]
pub enum Connect {
    Connected,
    /// The host answered with a reset: nothing listens, or a firewall rejects.
    Refused,
    /// No answer at all: the host is down, a firewall drops, or outbound
    /// port 25 is blocked on this side.
    TimedOut,
    /// Any other error (no route, address unavailable), as the OS said it.
    Failed(String),
}

/// An SMTP reply: its code and the text of each line (after `NNN-`/`NNN `),
/// with control characters escaped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reply {
    pub code: u16,
    pub lines: Vec<String>,
}

impl Reply {
    /// The first line's text.
    pub fn text(&self) -> &str {
        self.lines.first().map(String::as_str).unwrap_or("")
    }

    pub fn is_positive(&self) -> bool {
        (200..400).contains(&self.code)
    }

    /// The reply as the server sent it, one line.
    pub fn summary(&self) -> String {
        format!("{} {}", self.code, self.lines.join(" / "))
    }
}

/// The EHLO reply and the extensions it lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ehlo {
    pub reply: Reply,
    /// Extension keywords, upper case, as listed after the first line
    /// (`STARTTLS`, `SIZE 52428800`, `AUTH PLAIN LOGIN`, …).
    pub extensions: Vec<String>,
    pub starttls: bool,
    /// AUTH mechanisms offered, upper case.
    pub auth: Vec<String>,
}

impl Ehlo {
    fn from_reply(reply: Reply) -> Ehlo {
        let extensions: Vec<String> = if reply.is_positive() {
            reply
                .lines
                .iter()
                .skip(1)
                .map(|l| l.trim().to_ascii_uppercase())
                .collect()
        } else {
            Vec::new()
        };
        let starttls = extensions.iter().any(|e| e == "STARTTLS");
        let auth = extensions
            .iter()
            .filter_map(|e| {
                e.strip_prefix("AUTH")
                    .filter(|r| r.is_empty() || r.starts_with([' ', '=']))
            })
            .flat_map(|r| {
                r.trim_start_matches('=')
                    .split_whitespace()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect();
        Ehlo {
            reply,
            extensions,
            starttls,
            auth,
        }
    }
}

/// The dialogue steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Banner,
    Ehlo,
    Starttls,
    Tls,
    EhloTls,
    Quit,
}

/// Why the dialogue stopped at a stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "reason", content = "detail")]
pub enum StopReason {
    Timeout,
    /// The server closed the connection.
    Closed,
    /// The server sent something that is not an SMTP reply.
    Garbled(String),
    Io(String),
}

impl std::fmt::Display for StopReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StopReason::Timeout => f.write_str("no answer in time"),
            StopReason::Closed => f.write_str("the server closed the connection"),
            StopReason::Garbled(why) => write!(f, "not an SMTP reply: {why}"),
            StopReason::Io(e) => write!(f, "{e}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stop {
    pub at: Stage,
    pub why: StopReason,
}

/// What the TLS handshake gave.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TlsInfo {
    /// `TLS 1.3` or `TLS 1.2`.
    pub version: String,
    pub cipher: String,
    /// The server's certificate, when it sent one that parses.
    pub cert: Option<CertInfo>,
}

/// Facts about the server's certificate, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertInfo {
    pub subject: String,
    pub issuer: String,
    /// Seconds since the epoch.
    pub not_before: i64,
    pub not_after: i64,
    /// DNS names of the subjectAltName (the subject CN when it has none).
    pub names: Vec<String>,
    pub self_signed: bool,
    /// Certificates the server sent, its own included.
    pub chain_len: usize,
    /// The chain leads to a trusted root (judged apart from dates and name).
    pub trusted: bool,
    pub problems: Vec<CertProblem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "problem", content = "detail")]
pub enum CertProblem {
    Expired,
    NotYetValid,
    /// Not valid for the host name that was probed.
    NameMismatch,
    /// Why the chain is not trusted.
    Untrusted(String),
}

/// How long each step took.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Timings {
    pub connect_ms: Option<u64>,
    pub banner_ms: Option<u64>,
    pub ehlo_ms: Option<u64>,
    pub tls_ms: Option<u64>,
    pub total_ms: u64,
}

/// Everything one probe saw.
#[derive(Debug, Clone, Serialize)]
pub struct ProbeReport {
    /// The host name probed (the certificate is checked against it).
    pub host: String,
    pub addr: SocketAddr,
    /// The name sent in EHLO.
    pub helo: String,
    /// TLS from the first byte (port 465), not STARTTLS: the greeting and
    /// the only EHLO come inside TLS (`ehlo_tls`), `ehlo` stays None.
    pub implicit_tls: bool,
    pub connect: Connect,
    pub banner: Option<Reply>,
    /// The host name the greeting starts with, when it starts with one
    /// (a name with a dot, or an address literal).
    pub banner_host: Option<String>,
    pub ehlo: Option<Ehlo>,
    /// The reply to STARTTLS, when it was sent.
    pub starttls: Option<Reply>,
    /// The handshake: its facts, or why it failed.
    pub tls: Option<Result<TlsInfo, String>>,
    /// EHLO again inside TLS (RFC 3207 §4.2).
    pub ehlo_tls: Option<Ehlo>,
    pub quit: Option<Reply>,
    /// Where and why the dialogue ended early (not set after a clean QUIT).
    pub stopped: Option<Stop>,
    /// The dialogue, `C: ` and `S: ` lines, control characters escaped.
    pub transcript: Vec<String>,
    pub timings: Timings,
}

impl ProbeReport {
    /// A 220 greeting and a positive EHLO reply: the host talks SMTP.
    pub fn greeted(&self) -> bool {
        let ehlo = if self.implicit_tls {
            &self.ehlo_tls
        } else {
            &self.ehlo
        };
        self.banner.as_ref().is_some_and(|b| b.code == 220)
            && ehlo.as_ref().is_some_and(|e| e.reply.is_positive())
    }
}

/// A reusable prober: the trust store is built once.
#[derive(Clone)]
pub struct Prober {
    provider: Arc<CryptoProvider>,
    roots: Arc<RootCertStore>,
    pub timeouts: Timeouts,
}

impl Prober {
    /// Trusts the public web PKI roots plus `extra_roots` (DER).
    pub fn new(extra_roots: &[Vec<u8>], timeouts: Timeouts) -> Prober {
        let mut roots = RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for der in extra_roots {
            // A root that does not parse cannot anchor anything; the probe
            // then reports the chain as untrusted, which says enough.
            let _ = roots.add(CertificateDer::from(der.clone()));
        }
        Prober {
            // The provider goes into each config, so no process-wide default
            // is needed even if another crate pulls in aws-lc-rs.
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            roots: Arc::new(roots),
            timeouts,
        }
    }

    /// Probes `host` at `addr`, sending `helo` in EHLO (the local address as
    /// a literal, `[192.0.2.1]`, when None).
    pub async fn probe(&self, host: &str, addr: SocketAddr, helo: Option<&str>) -> ProbeReport {
        self.probe_as(host, addr, helo, false).await
    }

    /// Probes a server that speaks TLS from the first byte (implicit TLS,
    /// RFC 8314 §3.3: submission on port 465): the handshake, then the
    /// greeting and EHLO inside TLS (recorded as `ehlo_tls`), then QUIT.
    pub async fn probe_implicit_tls(
        &self,
        host: &str,
        addr: SocketAddr,
        helo: Option<&str>,
    ) -> ProbeReport {
        self.probe_as(host, addr, helo, true).await
    }

    async fn probe_as(
        &self,
        host: &str,
        addr: SocketAddr,
        helo: Option<&str>,
        implicit_tls: bool,
    ) -> ProbeReport {
        let start = Instant::now();
        let deadline = start + self.timeouts.total;
        let mut r = ProbeReport {
            host: crate::dns::normalize(host),
            addr,
            helo: helo.unwrap_or_default().to_string(),
            implicit_tls,
            connect: Connect::TimedOut,
            banner: None,
            banner_host: None,
            ehlo: None,
            starttls: None,
            tls: None,
            ehlo_tls: None,
            quit: None,
            stopped: None,
            transcript: Vec::new(),
            timings: Timings::default(),
        };
        let connect_by = deadline.min(start + self.timeouts.connect);
        let tcp = match timeout_at(connect_by, TcpStream::connect(addr)).await {
            Err(_) => {
                r.connect = Connect::TimedOut;
                r.timings.total_ms = ms(start.elapsed());
                return r;
            }
            Ok(Err(e)) => {
                r.connect = if e.kind() == std::io::ErrorKind::ConnectionRefused {
                    Connect::Refused
                } else {
                    Connect::Failed(e.to_string())
                };
                r.timings.total_ms = ms(start.elapsed());
                return r;
            }
            Ok(Ok(tcp)) => tcp,
        };
        r.connect = Connect::Connected;
        r.timings.connect_ms = Some(ms(start.elapsed()));
        if r.helo.is_empty() {
            r.helo = match tcp.local_addr() {
                Ok(SocketAddr::V4(a)) => format!("[{}]", a.ip()),
                Ok(SocketAddr::V6(a)) => format!("[IPv6:{}]", a.ip()),
                Err(_) => "[127.0.0.1]".into(),
            };
        }
        if implicit_tls {
            self.implicit_dialogue(&mut r, tcp, deadline).await;
        } else {
            self.dialogue(&mut r, tcp, deadline).await;
        }
        r.timings.total_ms = ms(start.elapsed());
        r
    }

    async fn dialogue(&self, r: &mut ProbeReport, tcp: TcpStream, deadline: Instant) {
        let step = |d: Duration| deadline.min(Instant::now() + d);
        let reply_t = self.timeouts.reply;
        let mut conn = BufReader::new(tcp);

        if !self.greeting(&mut conn, r, deadline).await {
            return;
        }

        let t = Instant::now();
        let ehlo = match command(
            &mut conn,
            &format!("EHLO {}", r.helo),
            step(reply_t),
            &mut r.transcript,
        )
        .await
        {
            Ok(reply) => Ehlo::from_reply(reply),
            Err(why) => {
                r.stopped = Some(Stop {
                    at: Stage::Ehlo,
                    why,
                });
                return;
            }
        };
        r.timings.ehlo_ms = Some(ms(t.elapsed()));
        let (ok, starttls) = (ehlo.reply.is_positive(), ehlo.starttls);
        r.ehlo = Some(ehlo);
        if !ok || !starttls {
            r.quit = quit(&mut conn, step(reply_t), &mut r.transcript).await;
            return;
        }

        match command(&mut conn, "STARTTLS", step(reply_t), &mut r.transcript).await {
            Ok(reply) => {
                let code = reply.code;
                r.starttls = Some(reply);
                if code != 220 {
                    r.quit = quit(&mut conn, step(reply_t), &mut r.transcript).await;
                    return;
                }
            }
            Err(why) => {
                r.stopped = Some(Stop {
                    at: Stage::Starttls,
                    why,
                });
                return;
            }
        }
        if !conn.buffer().is_empty() {
            // Bytes sent before the handshake must not be read as if they
            // came inside TLS (STARTTLS response injection).
            r.transcript.push(format!(
                "; the server sent {} byte(s) after its STARTTLS reply, before TLS; discarded",
                conn.buffer().len()
            ));
        }
        let Some(tls) = self.upgrade(r, conn.into_inner(), deadline).await else {
            return;
        };
        let mut conn = BufReader::new(tls);
        if self.ehlo_in_tls(&mut conn, r, deadline).await {
            self.close_tls(&mut conn, r, deadline).await;
        }
    }

    /// Implicit TLS: the handshake first, then the same dialogue inside it.
    async fn implicit_dialogue(&self, r: &mut ProbeReport, tcp: TcpStream, deadline: Instant) {
        let Some(tls) = self.upgrade(r, tcp, deadline).await else {
            return;
        };
        let mut conn = BufReader::new(tls);
        if !self.greeting(&mut conn, r, deadline).await {
            return;
        }
        if self.ehlo_in_tls(&mut conn, r, deadline).await {
            self.close_tls(&mut conn, r, deadline).await;
        }
    }

    /// Reads the greeting; false when the dialogue ends there.
    async fn greeting<S: AsyncBufRead + AsyncWrite + Unpin>(
        &self,
        conn: &mut S,
        r: &mut ProbeReport,
        deadline: Instant,
    ) -> bool {
        let by = deadline.min(Instant::now() + self.timeouts.reply);
        let t = Instant::now();
        match read_reply_by(conn, by, &mut r.transcript).await {
            Ok(b) => {
                r.timings.banner_ms = Some(ms(t.elapsed()));
                r.banner_host = banner_host(&b);
                let code = b.code;
                r.banner = Some(b);
                if code != 220 {
                    // RFC 5321 §3.1: after a refusing greeting the client
                    // should still send QUIT.
                    let by = deadline.min(Instant::now() + self.timeouts.reply);
                    r.quit = quit(conn, by, &mut r.transcript).await;
                    return false;
                }
                true
            }
            Err(why) => {
                r.stopped = Some(Stop {
                    at: Stage::Banner,
                    why,
                });
                false
            }
        }
    }

    /// EHLO inside TLS; false when the dialogue stopped there.
    async fn ehlo_in_tls<S: AsyncBufRead + AsyncWrite + Unpin>(
        &self,
        conn: &mut S,
        r: &mut ProbeReport,
        deadline: Instant,
    ) -> bool {
        let by = deadline.min(Instant::now() + self.timeouts.reply);
        match command(conn, &format!("EHLO {}", r.helo), by, &mut r.transcript).await {
            Ok(reply) => {
                r.ehlo_tls = Some(Ehlo::from_reply(reply));
                true
            }
            Err(why) => {
                r.stopped = Some(Stop {
                    at: Stage::EhloTls,
                    why,
                });
                false
            }
        }
    }

    async fn close_tls(
        &self,
        conn: &mut BufReader<tokio_rustls::client::TlsStream<TcpStream>>,
        r: &mut ProbeReport,
        deadline: Instant,
    ) {
        let step = |d: Duration| deadline.min(Instant::now() + d);
        r.quit = quit(conn, step(self.timeouts.reply), &mut r.transcript).await;
        let _ = timeout_at(step(self.timeouts.reply), conn.get_mut().shutdown()).await;
    }

    /// The TLS handshake on `tcp` (after STARTTLS, or at once for implicit
    /// TLS), its facts and certificate recorded in `r`; None when it failed.
    async fn upgrade(
        &self,
        r: &mut ProbeReport,
        tcp: TcpStream,
        deadline: Instant,
    ) -> Option<tokio_rustls::client::TlsStream<TcpStream>> {
        let step = |d: Duration| deadline.min(Instant::now() + d);
        let t = Instant::now();
        let seen = Arc::new(Mutex::new(None));
        let config = match self.client_config(seen.clone()) {
            Ok(c) => c,
            Err(e) => {
                r.tls = Some(Err(e));
                return None;
            }
        };
        let name = ServerName::try_from(r.host.clone())
            .unwrap_or_else(|_| ServerName::IpAddress(r.addr.ip().into()));
        let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
        let tls = match timeout_at(step(self.timeouts.tls), connector.connect(name, tcp)).await {
            Err(_) => {
                r.tls = Some(Err("the TLS handshake did not finish in time".into()));
                r.stopped = Some(Stop {
                    at: Stage::Tls,
                    why: StopReason::Timeout,
                });
                return None;
            }
            Ok(Err(e)) => {
                r.tls = Some(Err(tls_error(&e)));
                r.transcript
                    .push(format!("; TLS handshake failed: {}", tls_error(&e)));
                return None;
            }
            Ok(Ok(s)) => s,
        };
        r.timings.tls_ms = Some(ms(t.elapsed()));
        let (_, session) = tls.get_ref();
        let version = session
            .protocol_version()
            .map(|v| match v {
                rustls::ProtocolVersion::TLSv1_3 => "TLS 1.3".to_string(),
                rustls::ProtocolVersion::TLSv1_2 => "TLS 1.2".to_string(),
                other => format!("{other:?}"),
            })
            .unwrap_or_default();
        let cipher = session
            .negotiated_cipher_suite()
            .map(|c| format!("{:?}", c.suite()))
            .unwrap_or_default();
        let chain = session
            .peer_certificates()
            .map(<[_]>::to_vec)
            .unwrap_or_default();
        let trust = seen.lock().unwrap_or_else(|e| e.into_inner()).take();
        let cert = chain
            .first()
            .and_then(|leaf| cert_info(leaf, chain.len(), &r.host, trust));
        r.transcript
            .push(format!("; TLS established: {version}, {cipher}"));
        r.tls = Some(Ok(TlsInfo {
            version,
            cipher,
            cert,
        }));
        Some(tls)
    }

    fn client_config(
        &self,
        seen: Arc<Mutex<Option<Result<(), String>>>>,
    ) -> Result<ClientConfig, String> {
        let inner =
            WebPkiServerVerifier::builder_with_provider(self.roots.clone(), self.provider.clone())
                .build()
                .map_err(|e| format!("cannot set up certificate verification: {e}"))?;
        let verifier = Arc::new(Recording { inner, seen });
        let config = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| format!("cannot set up TLS: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        Ok(config)
    }
}

/// Probes with a one-off [`Prober`].
pub async fn probe(
    host: &str,
    addr: SocketAddr,
    helo: Option<&str>,
    extra_roots: &[Vec<u8>],
    timeouts: Timeouts,
) -> ProbeReport {
    Prober::new(extra_roots, timeouts)
        .probe(host, addr, helo)
        .await
}

fn ms(d: Duration) -> u64 {
    d.as_millis().min(u128::from(u64::MAX)) as u64
}

/// Longest reply line read (RFC 5321 §4.5.3.1.5 says 512; servers exceed it).
const MAX_LINE: u64 = 4096;
/// Most lines in one reply.
const MAX_LINES: usize = 100;
/// Longest line kept in the transcript.
const MAX_TRANSCRIPT_LINE: usize = 512;

async fn read_reply_by<R: AsyncBufRead + Unpin>(
    r: &mut R,
    by: Instant,
    transcript: &mut Vec<String>,
) -> Result<Reply, StopReason> {
    match timeout_at(by, read_reply(r, transcript)).await {
        Ok(res) => res,
        Err(_) => Err(StopReason::Timeout),
    }
}

async fn read_reply<R: AsyncBufRead + Unpin>(
    r: &mut R,
    transcript: &mut Vec<String>,
) -> Result<Reply, StopReason> {
    let mut code = None;
    let mut lines = Vec::new();
    for _ in 0..MAX_LINES {
        let mut buf = Vec::new();
        let n = (&mut *r)
            .take(MAX_LINE)
            .read_until(b'\n', &mut buf)
            .await
            .map_err(|e| StopReason::Io(e.to_string()))?;
        if n == 0 {
            return Err(StopReason::Closed);
        }
        if !buf.ends_with(b"\n") {
            if n as u64 >= MAX_LINE {
                return Err(StopReason::Garbled(format!(
                    "a reply line longer than {MAX_LINE} bytes"
                )));
            }
            return Err(StopReason::Closed);
        }
        while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            buf.pop();
        }
        let text = escape(&buf);
        // The transcript is evidence: a hostile server's long lines are cut.
        transcript.push(format!("S: {}", clip(&text, MAX_TRANSCRIPT_LINE)));
        let digits = buf.len() >= 3 && buf[..3].iter().all(u8::is_ascii_digit);
        let sep = buf.get(3).copied();
        if !digits || !matches!(sep, None | Some(b' ') | Some(b'-')) {
            return Err(StopReason::Garbled(clip(&text, 80)));
        }
        let this: u16 = text[..3]
            .parse()
            .map_err(|_| StopReason::Garbled(clip(&text, 80)))?;
        if *code.get_or_insert(this) != this {
            return Err(StopReason::Garbled(format!(
                "reply lines with different codes ({} and {this})",
                code.unwrap_or(this)
            )));
        }
        lines.push(text.get(4..).unwrap_or("").to_string());
        if sep != Some(b'-') {
            return Ok(Reply {
                code: code.unwrap_or(this),
                lines,
            });
        }
    }
    Err(StopReason::Garbled(format!(
        "a reply of more than {MAX_LINES} lines"
    )))
}

async fn command<S: AsyncBufRead + AsyncWrite + Unpin>(
    conn: &mut S,
    cmd: &str,
    by: Instant,
    transcript: &mut Vec<String>,
) -> Result<Reply, StopReason> {
    transcript.push(format!("C: {cmd}"));
    let send = async {
        conn.write_all(format!("{cmd}\r\n").as_bytes()).await?;
        conn.flush().await
    };
    match timeout_at(by, send).await {
        Err(_) => return Err(StopReason::Timeout),
        Ok(Err(e)) => return Err(StopReason::Io(e.to_string())),
        Ok(Ok(())) => {}
    }
    read_reply_by(conn, by, transcript).await
}

/// QUIT, best effort: the report keeps the reply if there is one.
async fn quit<S: AsyncBufRead + AsyncWrite + Unpin>(
    conn: &mut S,
    by: Instant,
    transcript: &mut Vec<String>,
) -> Option<Reply> {
    command(conn, "QUIT", by, transcript).await.ok()
}

/// Bytes from the network as text: printable ASCII and valid UTF-8 kept,
/// control characters as `\xNN`.
pub fn escape(bytes: &[u8]) -> String {
    let s = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() {
            out.push_str(&format!("\\x{:02x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(max).collect::<String>())
    }
}

/// The host name a greeting starts with (RFC 5321 §4.2: `220 domain …`):
/// a name with at least one dot in host-name syntax, or an address literal.
pub fn banner_host(banner: &Reply) -> Option<String> {
    let first = banner.text().split_whitespace().next()?;
    if first.starts_with('[') && first.ends_with(']') {
        return Some(first.to_string());
    }
    let name = first.trim_end_matches('.');
    if name.contains('.')
        && crate::names::host_syntax(name).is_ok()
        && name.parse::<std::net::IpAddr>().is_err()
    {
        Some(name.to_ascii_lowercase())
    } else {
        None
    }
}

fn tls_error(e: &std::io::Error) -> String {
    // rustls errors arrive wrapped in io::Error; their text is the useful part.
    match e.get_ref() {
        Some(inner) => inner.to_string(),
        None => e.to_string(),
    }
}

/// Records whether the chain is trusted, and always lets the handshake go
/// on: the report, not the handshake, says what is wrong. The handshake
/// signature is still checked for real, so the peer holds the key.
#[derive(Debug)]
struct Recording {
    inner: Arc<WebPkiServerVerifier>,
    seen: Arc<Mutex<Option<Result<(), String>>>>,
}

impl Recording {
    fn trust(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<(), String> {
        let err = match self
            .inner
            .verify_server_cert(end_entity, intermediates, name, ocsp, now)
        {
            // The name is judged apart (cert_info); the chain is fine.
            Ok(_) => return Ok(()),
            Err(e) if is_name_error(&e) => return Ok(()),
            Err(e) => e,
        };
        if !is_time_error(&err) {
            return Err(describe(&err));
        }
        // Judge the chain at a moment the server's own certificate was
        // valid, so an expired certificate from a trusted CA reads as
        // "expired", not "untrusted".
        let Some((nb, na)) = validity(end_entity) else {
            return Err(describe(&err));
        };
        let now_s = now.as_secs() as i64;
        if nb <= now_s && now_s <= na {
            return Err(
                "a certificate in the chain (not the server's own) has expired or is not yet valid"
                    .into(),
            );
        }
        let mid = nb + (na - nb) / 2;
        let then = UnixTime::since_unix_epoch(Duration::from_secs(mid.max(0) as u64));
        match self
            .inner
            .verify_server_cert(end_entity, intermediates, name, ocsp, then)
        {
            Ok(_) => Ok(()),
            Err(e) if is_name_error(&e) => Ok(()),
            Err(e) => Err(describe(&e)),
        }
    }
}

fn is_name_error(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        )
    )
}

fn is_time_error(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(
            CertificateError::Expired
                | CertificateError::ExpiredContext { .. }
                | CertificateError::NotValidYet
                | CertificateError::NotValidYetContext { .. }
        )
    )
}

fn describe(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer) => {
            "issued by an authority that is not a trusted root (a self-signed or private CA certificate, or the server does not send its intermediate certificates)".into()
        }
        rustls::Error::InvalidCertificate(CertificateError::BadSignature) => "a signature in the chain does not verify".into(),
        rustls::Error::InvalidCertificate(CertificateError::BadEncoding) => "the certificate does not parse".into(),
        rustls::Error::InvalidCertificate(CertificateError::InvalidPurpose)
        | rustls::Error::InvalidCertificate(CertificateError::InvalidPurposeContext { .. }) => {
            "the certificate is not for TLS servers (extended key usage)".into()
        }
        other => other.to_string(),
    }
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self.trust(end_entity, intermediates, server_name, ocsp_response, now);
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = Some(verdict);
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// notBefore and notAfter, seconds since the epoch.
fn validity(der: &CertificateDer<'_>) -> Option<(i64, i64)> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let v = cert.validity();
    Some((v.not_before.timestamp(), v.not_after.timestamp()))
}

fn cert_info(
    der: &CertificateDer<'_>,
    chain_len: usize,
    host: &str,
    trust: Option<Result<(), String>>,
) -> Option<CertInfo> {
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
    let v = cert.validity();
    let (not_before, not_after) = (v.not_before.timestamp(), v.not_after.timestamp());
    let mut names: Vec<String> = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for g in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(n) = g {
                names.push(escape(n.as_bytes()).to_ascii_lowercase());
            }
        }
    }
    if names.is_empty() {
        // RFC 6125 §6.4.4: the CN only when there is no DNS-ID; many MTAs
        // still accept it.
        names.extend(
            cert.subject()
                .iter_common_name()
                .filter_map(|cn| cn.as_str().ok())
                .map(|s| escape(s.as_bytes()).to_ascii_lowercase()),
        );
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    let mut problems = Vec::new();
    if now > not_after {
        problems.push(CertProblem::Expired);
    }
    if now < not_before {
        problems.push(CertProblem::NotYetValid);
    }
    if !names.iter().any(|n| name_matches(n, host)) {
        problems.push(CertProblem::NameMismatch);
    }
    let trusted = match trust {
        Some(Ok(())) => true,
        Some(Err(why)) => {
            problems.push(CertProblem::Untrusted(why));
            false
        }
        None => {
            problems.push(CertProblem::Untrusted(
                "the certificate was not verified".into(),
            ));
            false
        }
    };
    Some(CertInfo {
        subject: escape(cert.subject().to_string().as_bytes()),
        issuer: escape(cert.issuer().to_string().as_bytes()),
        not_before,
        not_after,
        names,
        self_signed: cert.subject() == cert.issuer(),
        chain_len,
        trusted,
        problems,
    })
}

/// A certificate name against a host name: exact, or a wildcard standing
/// for exactly the left-most label (RFC 6125 §6.4.3).
pub fn name_matches(pattern: &str, host: &str) -> bool {
    let p = pattern.trim_end_matches('.').to_ascii_lowercase();
    let h = host.trim_end_matches('.').to_ascii_lowercase();
    if let Some(rest) = p.strip_prefix("*.") {
        match h.split_once('.') {
            Some((first, tail)) => !first.is_empty() && tail == rest && rest.contains('.'),
            None => false,
        }
    } else {
        p == h
    }
}

/// A Unix time as `YYYY-MM-DD` (UTC).
pub fn date(secs: i64) -> String {
    // Howard Hinnant's civil-from-days.
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn replies_parse() {
        let mut t = Vec::new();
        let mut input: &[u8] =
            b"250-mx.example.test hello\r\n250-STARTTLS\r\n250 AUTH PLAIN LOGIN\r\n";
        let r = read_reply(&mut input, &mut t).await.unwrap();
        assert_eq!(r.code, 250);
        let e = Ehlo::from_reply(r);
        assert!(e.starttls);
        assert_eq!(e.auth, vec!["PLAIN", "LOGIN"]);
        assert_eq!(t.len(), 3);

        let mut bad: &[u8] = b"hello there\r\n";
        assert!(matches!(
            read_reply(&mut bad, &mut t).await,
            Err(StopReason::Garbled(_))
        ));
        let mut mixed: &[u8] = b"250-a\r\n251 b\r\n";
        assert!(matches!(
            read_reply(&mut mixed, &mut t).await,
            Err(StopReason::Garbled(_))
        ));
        let mut cut: &[u8] = b"250-a\r\n";
        assert_eq!(read_reply(&mut cut, &mut t).await, Err(StopReason::Closed));
        let long = vec![b'2'; 10_000];
        let mut long: &[u8] = &long;
        assert!(matches!(
            read_reply(&mut long, &mut t).await,
            Err(StopReason::Garbled(_))
        ));
        let mut esc: &[u8] = b"220 mx.example.test \x1b[31mred\r\n";
        let r = read_reply(&mut esc, &mut t).await.unwrap();
        assert!(r.text().contains("\\x1b[31m"), "{}", r.text());
    }

    #[test]
    fn banner_hosts() {
        let b = |s: &str| Reply {
            code: 220,
            lines: vec![s.into()],
        };
        assert_eq!(
            banner_host(&b("mx.example.test ESMTP Postfix")).as_deref(),
            Some("mx.example.test")
        );
        assert_eq!(
            banner_host(&b("[192.0.2.1] ready")).as_deref(),
            Some("[192.0.2.1]")
        );
        assert_eq!(banner_host(&b("ESMTP ready")), None);
        assert_eq!(banner_host(&b("localhost ESMTP")), None);
        assert_eq!(banner_host(&b("192.0.2.1 ESMTP")), None);
        assert_eq!(banner_host(&b("")), None);
    }

    #[test]
    fn names_and_wildcards() {
        assert!(name_matches("mx.example.test", "MX.example.test."));
        assert!(name_matches("*.example.test", "mx.example.test"));
        assert!(!name_matches("*.example.test", "a.mx.example.test"));
        assert!(!name_matches("*.example.test", "example.test"));
        assert!(!name_matches("*.test", "example.test"));
        assert!(!name_matches("mx.example.test", "mx2.example.test"));
    }

    #[test]
    fn dates() {
        assert_eq!(date(0), "1970-01-01");
        assert_eq!(date(951_782_400), "2000-02-29");
        assert_eq!(date(1_767_225_599), "2025-12-31");
    }
}
