//! Real SMTP servers for tests (feature `test-support`): a small scripted
//! server on 127.0.0.1 (ephemeral port, its own thread and runtime) that
//! greets, answers EHLO, upgrades with STARTTLS through tokio-rustls, and
//! records every command it receives, so tests can prove what a probe sent;
//! a "black hole" that never completes a TCP handshake; and a test PKI
//! (rcgen) for valid, expired, not-yet-valid, wrong-name and self-signed
//! certificates.

use std::net::{SocketAddr, TcpStream as StdTcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::ServerConfig;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// What the server does at STARTTLS.
#[derive(Clone)]
pub enum StartTls {
    /// Not advertised.
    Off,
    /// Advertised, answered 220, then a real handshake with this chain.
    Cert(Arc<ServerConfig>),
    /// Advertised but refused with this reply line (e.g. `454 4.7.0 TLS not available`).
    Refuse(String),
    /// Advertised, answered 220, then bytes that are not TLS.
    Garbage,
}

/// The script a test server follows.
#[derive(Clone)]
pub struct Script {
    /// Greeting lines (`220 mx.example.test ESMTP`); None never greets.
    pub banner: Option<String>,
    /// EHLO reply lines without STARTTLS (added when advertised); None
    /// never answers EHLO.
    pub ehlo: Option<Vec<String>>,
    pub starttls: StartTls,
    /// EHLO reply lines inside TLS, when they differ (a submission server
    /// offers AUTH only there); None answers as `ehlo`.
    pub ehlo_tls: Option<Vec<String>>,
    /// TLS from the first byte (implicit TLS, port 465) with this
    /// configuration: the greeting and everything after go inside it.
    pub implicit_tls: Option<Arc<ServerConfig>>,
}

impl Script {
    /// A well-behaved server greeting as `host`, STARTTLS off.
    pub fn greeting(host: &str) -> Script {
        Script {
            banner: Some(format!("220 {host} ESMTP test")),
            ehlo: Some(vec![
                format!("250-{host} hello"),
                "250-PIPELINING".into(),
                "250-SIZE 10240000".into(),
                "250 8BITMIME".into(),
            ]),
            starttls: StartTls::Off,
            ehlo_tls: None,
            implicit_tls: None,
        }
    }

    pub fn with_tls(mut self, tls: StartTls) -> Script {
        self.starttls = tls;
        self
    }
}

/// A running scripted server. Stops when dropped.
pub struct TestSmtp {
    pub addr: SocketAddr,
    commands: Arc<Mutex<Vec<String>>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestSmtp {
    pub fn start(script: Script) -> TestSmtp {
        let commands = Arc::new(Mutex::new(Vec::new()));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let seen = commands.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("test SMTP runtime");
            rt.block_on(async move {
                let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind smtp");
                addr_tx
                    .send(listener.local_addr().expect("smtp addr"))
                    .expect("report address");
                let accept = async {
                    loop {
                        let Ok((sock, _)) = listener.accept().await else {
                            continue;
                        };
                        let script = script.clone();
                        let seen = seen.clone();
                        tokio::spawn(async move {
                            let _ = serve(sock, script, seen).await;
                        });
                    }
                };
                tokio::select! {
                    _ = accept => {}
                    _ = stop_rx => {}
                }
            });
        });
        let addr = addr_rx.recv().expect("test SMTP server started");
        TestSmtp {
            addr,
            commands,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Every command line received, in order, across connections.
    pub fn commands(&self) -> Vec<String> {
        self.commands
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

impl Drop for TestSmtp {
    fn drop(&mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn serve(
    sock: tokio::net::TcpStream,
    script: Script,
    seen: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    if let Some(config) = &script.implicit_tls {
        let acceptor = tokio_rustls::TlsAcceptor::from(config.clone());
        let tls = acceptor.accept(sock).await?;
        let mut conn = BufReader::new(tls);
        let Some(banner) = &script.banner else {
            let mut sink = Vec::new();
            let _ = conn.read_until(b'\n', &mut sink).await;
            return Ok(());
        };
        conn.write_all(format!("{banner}\r\n").as_bytes()).await?;
        session(&mut conn, &script, false, true, &seen).await?;
        return Ok(());
    }
    let mut conn = BufReader::new(sock);
    let Some(banner) = &script.banner else {
        // Hold the connection open, greeting nothing, until the client goes.
        let mut sink = Vec::new();
        let _ = conn.read_until(b'\n', &mut sink).await;
        return Ok(());
    };
    conn.write_all(format!("{banner}\r\n").as_bytes()).await?;
    let advertise = !matches!(script.starttls, StartTls::Off);
    match session(&mut conn, &script, advertise, false, &seen).await? {
        Next::Close => Ok(()),
        Next::Tls => match &script.starttls {
            StartTls::Cert(config) => {
                let acceptor = tokio_rustls::TlsAcceptor::from(config.clone());
                let tls = acceptor.accept(conn.into_inner()).await?;
                let mut conn = BufReader::new(tls);
                session(&mut conn, &script, false, true, &seen).await?;
                Ok(())
            }
            StartTls::Garbage => {
                conn.write_all(b"this is not TLS at all\r\n\r\n\r\n")
                    .await?;
                conn.flush().await?;
                let mut sink = Vec::new();
                let _ = conn.read_until(b'\n', &mut sink).await;
                Ok(())
            }
            _ => Ok(()),
        },
    }
}

enum Next {
    Close,
    Tls,
}

async fn session<S: AsyncRead + AsyncWrite + Unpin>(
    conn: &mut BufReader<S>,
    script: &Script,
    advertise: bool,
    in_tls: bool,
    seen: &Arc<Mutex<Vec<String>>>,
) -> std::io::Result<Next> {
    let ehlo = match (&script.ehlo_tls, in_tls) {
        (Some(lines), true) => Some(lines),
        _ => script.ehlo.as_ref(),
    };
    loop {
        let mut line = Vec::new();
        if conn.read_until(b'\n', &mut line).await? == 0 {
            return Ok(Next::Close);
        }
        let cmd = String::from_utf8_lossy(&line).trim_end().to_string();
        seen.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(cmd.clone());
        let verb = cmd
            .split_whitespace()
            .next()
            .unwrap_or("")
            .to_ascii_uppercase();
        let reply: String = match verb.as_str() {
            "EHLO" => match ehlo {
                None => continue,
                Some(lines) => {
                    let mut lines = lines.clone();
                    if advertise && lines.first().is_some_and(|l| l.starts_with("250")) {
                        // STARTTLS goes in as a continuation line.
                        if let Some(last) = lines.last_mut() {
                            *last = last.replacen("250 ", "250-", 1);
                        }
                        lines.push("250 STARTTLS".into());
                    }
                    lines.join("\r\n")
                }
            },
            "STARTTLS" if advertise => match &script.starttls {
                StartTls::Refuse(r) => r.clone(),
                _ => {
                    conn.write_all(b"220 2.0.0 Ready to start TLS\r\n").await?;
                    conn.flush().await?;
                    return Ok(Next::Tls);
                }
            },
            "QUIT" => {
                conn.write_all(b"221 2.0.0 Bye\r\n").await?;
                conn.flush().await?;
                return Ok(Next::Close);
            }
            _ => "502 5.5.2 Command not implemented by the test server".into(),
        };
        conn.write_all(format!("{reply}\r\n").as_bytes()).await?;
        conn.flush().await?;
    }
}

/// A listening socket whose accept queue is full, so new connections never
/// complete their handshake: a connect to it times out, like one to a host
/// behind a firewall that drops packets, without leaving loopback.
pub struct BlackHole {
    pub addr: SocketAddr,
    _listener: socket2::Socket,
    _held: Vec<StdTcpStream>,
}

impl BlackHole {
    pub fn start() -> BlackHole {
        use socket2::{Domain, Socket, Type};
        let s = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        let any: SocketAddr = "127.0.0.1:0".parse().expect("addr");
        s.bind(&any.into()).expect("bind");
        s.listen(0).expect("listen");
        let addr = s.local_addr().expect("local").as_socket().expect("inet");
        let mut held = Vec::new();
        // Fill the queue: connects succeed until it is full, then hang.
        for _ in 0..16 {
            match StdTcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                Ok(c) => held.push(c),
                Err(_) => break,
            }
        }
        BlackHole {
            addr,
            _listener: s,
            _held: held,
        }
    }
}

/// A port on 127.0.0.1 where nothing listens (connections are refused).
pub fn closed_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

/// A test certificate authority.
pub struct TestPki {
    ca: CertificateDer<'static>,
    issuer: Issuer<'static, KeyPair>,
}

/// A server certificate chain and its key.
pub struct Leaf {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
}

impl Leaf {
    /// A TLS server configuration presenting this chain (ring provider).
    pub fn server_config(&self) -> Arc<ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .expect("server certificate");
        Arc::new(config)
    }

    pub fn starttls(&self) -> StartTls {
        StartTls::Cert(self.server_config())
    }
}

const DAY: Duration = Duration::from_secs(86_400);

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}

impl TestPki {
    pub fn new() -> TestPki {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params
            .distinguished_name
            .push(DnType::CommonName, "mailpreflight test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let now = SystemTime::now();
        params.not_before = (now - 3650 * DAY).into();
        params.not_after = (now + 3650 * DAY).into();
        let ca = params.self_signed(&key).expect("CA cert").der().clone();
        TestPki {
            ca,
            issuer: Issuer::new(params, key),
        }
    }

    /// The CA certificate (DER), for `Options::smtp_trust_roots`.
    pub fn root_der(&self) -> Vec<u8> {
        self.ca.to_vec()
    }

    /// A leaf for `names`, issued by this CA, valid from `from` to `until`.
    pub fn leaf(&self, names: &[&str], from: SystemTime, until: SystemTime) -> Leaf {
        let key = KeyPair::generate().expect("leaf key");
        let mut params =
            CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
                .expect("leaf params");
        params
            .distinguished_name
            .push(DnType::CommonName, names.first().copied().unwrap_or("test"));
        params.not_before = from.into();
        params.not_after = until.into();
        let cert = params.signed_by(&key, &self.issuer).expect("leaf cert");
        Leaf {
            chain: vec![cert.der().clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        }
    }

    /// Valid now and for 90 days.
    pub fn valid(&self, names: &[&str]) -> Leaf {
        let now = SystemTime::now();
        self.leaf(names, now - DAY, now + 90 * DAY)
    }

    /// Expired 10 days ago.
    pub fn expired(&self, names: &[&str]) -> Leaf {
        let now = SystemTime::now();
        self.leaf(names, now - 100 * DAY, now - 10 * DAY)
    }

    /// Valid only from 10 days from now.
    pub fn not_yet_valid(&self, names: &[&str]) -> Leaf {
        let now = SystemTime::now();
        self.leaf(names, now + 10 * DAY, now + 100 * DAY)
    }

    /// Valid now, for 5 more days.
    pub fn expiring(&self, names: &[&str]) -> Leaf {
        let now = SystemTime::now();
        self.leaf(names, now - 80 * DAY, now + 5 * DAY)
    }
}

/// A self-signed certificate for `names` (no CA vouches for it).
pub fn self_signed(names: &[&str]) -> Leaf {
    let key = KeyPair::generate().expect("key");
    let mut params =
        CertificateParams::new(names.iter().map(|n| n.to_string()).collect::<Vec<_>>())
            .expect("params");
    params
        .distinguished_name
        .push(DnType::CommonName, names.first().copied().unwrap_or("test"));
    let cert = params.self_signed(&key).expect("self-signed cert");
    Leaf {
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}
