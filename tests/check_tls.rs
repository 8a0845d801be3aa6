//! SSL_GET against a TLS server on 127.0.0.1 (rustls, with the self-signed certificate in
//! tests/fixtures): status codes, digests, SNI, the client certificate, and the failures
//! (no TLS spoken, nothing listening). Each test drives the probe the engine builds from a config.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use keepalived::check::engine::{self, Health, Probe, Seed};
use keepalived::config::{self, Config, Severity, SourceOptions};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn load(text: &str) -> Config {
    let (cfg, diags) = config::load_str("test.conf", text, &SourceOptions::default());
    let bad: Vec<_> = diags.list.iter().filter(|d| d.severity != Severity::Warning).map(|d| d.to_string()).collect();
    assert!(bad.is_empty(), "config errors: {bad:?}");
    cfg
}

/// A virtual server with one real server on `port` checked by `checker`; `root` goes first.
fn conf(root: &str, vs_extra: &str, port: u16, checker: &str) -> String {
    format!(
        "{root}\nvirtual_server 127.0.0.1 443 {{\n delay_loop 0.3\n lb_algo rr\n lb_kind NAT\n protocol TCP\n \
         {vs_extra}\n real_server 127.0.0.1 {port} {{\n{checker}\n }}\n}}\n"
    )
}

fn ssl_get(url: &str, extra: &str) -> String {
    format!("SSL_GET {{\n url {{\n path /health\n {url}\n }}\n connect_timeout 0.5\n retry 0\n warmup 0\n {extra}\n}}")
}

/// The probe of the only checker in `cfg`.
fn only_probe(cfg: &Config) -> Box<dyn Probe> {
    let mut specs = engine::specs(cfg);
    assert_eq!(specs.len(), 1, "one runnable checker");
    specs.remove(0).probe
}

/// What the server answers and what it saw.
#[derive(Default)]
struct Server {
    status: u16,
    body: &'static str,
    /// Close with close_notify (else just drop the connection, as many servers do).
    clean_close: bool,
    requests: Vec<String>,
    /// SNI of each handshake.
    sni: Vec<Option<String>>,
    /// Whether each handshake carried a client certificate.
    client_cert: Vec<bool>,
}

type Shared = Arc<Mutex<Server>>;

/// Asks for a client certificate without requiring one, and accepts any.
#[derive(Debug)]
struct AnyClient(rustls::crypto::WebPkiSupportedAlgorithms);

impl ClientCertVerifier for AnyClient {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }
    fn client_auth_mandatory(&self) -> bool {
        false
    }
    fn verify_client_cert(
        &self,
        _: &CertificateDer<'_>,
        _: &[CertificateDer<'_>],
        _: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Ok(ClientCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(m, c, d, &self.0)
    }
    fn verify_tls13_signature(
        &self,
        m: &[u8],
        c: &CertificateDer<'_>,
        d: &DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(m, c, d, &self.0)
    }
    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

fn acceptor() -> tokio_rustls::TlsAcceptor {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AnyClient(provider.signature_verification_algorithms));
    let certs: Vec<_> =
        CertificateDer::pem_file_iter(fixture("tls-cert.pem")).unwrap().collect::<Result<_, _>>().unwrap();
    let key = PrivateKeyDer::from_pem_file(fixture("tls-key.pem")).unwrap();
    let cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .unwrap();
    tokio_rustls::TlsAcceptor::from(Arc::new(cfg))
}

/// A TLS web server answering every request from `state`.
async fn tls_server(state: Shared) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    let acceptor = acceptor();
    let h = tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = l.accept().await else { return };
            let Ok(mut s) = acceptor.accept(tcp).await else { continue };
            {
                let conn = s.get_ref().1;
                let mut st = state.lock().unwrap();
                st.sni.push(conn.server_name().map(str::to_string));
                st.client_cert.push(conn.peer_certificates().is_some_and(|c| !c.is_empty()));
            }
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            let (resp, clean) = {
                let mut st = state.lock().unwrap();
                st.requests.push(String::from_utf8_lossy(&req).into_owned());
                (format!("HTTP/1.0 {} X\r\nContent-Type: text/plain\r\n\r\n{}", st.status, st.body), st.clean_close)
            };
            let _ = s.write_all(resp.as_bytes()).await;
            if clean {
                let _ = s.shutdown().await;
            } else {
                let _ = s.flush().await;
            }
        }
    });
    (addr, h)
}

fn state(status: u16, body: &'static str) -> Shared {
    Arc::new(Mutex::new(Server { status, body, clean_close: true, ..Server::default() }))
}

#[tokio::test]
async fn status_code_match_and_mismatch() {
    let st = state(200, "ok");
    let (addr, server) = tls_server(st.clone()).await;
    let cfg = load(&conf("", "", addr.port(), &ssl_get("status_code 200 302", "")));
    let mut probe = only_probe(&cfg);
    assert!(probe.check().await, "200 accepted");
    st.lock().unwrap().status = 302;
    assert!(probe.check().await, "302 accepted");
    st.lock().unwrap().status = 500;
    assert!(!probe.check().await, "500 refused");
    st.lock().unwrap().status = 200;
    assert!(probe.check().await, "200 again");
    let req = st.lock().unwrap().requests[0].clone();
    assert_eq!(
        req,
        format!("GET /health HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 127.0.0.1:{}\r\n\r\n", addr.port())
    );
    server.abort();
}

#[tokio::test]
async fn digest_match_and_mismatch_with_and_without_close_notify() {
    let st = state(200, "hello");
    let (addr, server) = tls_server(st.clone()).await;
    // md5("hello")
    let cfg = load(&conf("", "", addr.port(), &ssl_get("digest 5d41402abc4b2a76b9719d911017c592", "")));
    let mut probe = only_probe(&cfg);
    assert!(probe.check().await, "digest of 'hello'");
    st.lock().unwrap().body = "bye";
    assert!(!probe.check().await, "digest mismatch");
    // A server that drops the connection without close_notify: the body read so far counts.
    st.lock().unwrap().clean_close = false;
    assert!(!probe.check().await, "still a mismatch");
    st.lock().unwrap().body = "hello";
    assert!(probe.check().await, "unclean close, right body");
    server.abort();
}

/// A plain HTTP server (no TLS) on the SSL_GET port: the handshake fails.
#[tokio::test]
async fn server_not_speaking_tls_fails() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = l.accept().await else { return };
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(b"HTTP/1.0 200 OK\r\n\r\nplain").await;
        }
    });
    let cfg = load(&conf("", "", port, &ssl_get("", "")));
    let mut probe = only_probe(&cfg);
    assert!(!probe.check().await);
    server.abort();
}

/// A server that accepts and never speaks: the handshake times out within connect_timeout.
#[tokio::test]
async fn silent_server_times_out_in_the_handshake() {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let server = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    let cfg = load(&conf("", "", port, &ssl_get("", "")));
    let mut probe = only_probe(&cfg);
    let t0 = Instant::now();
    assert!(!probe.check().await);
    let took = t0.elapsed();
    assert!(took >= Duration::from_millis(400) && took < Duration::from_millis(1500), "took {took:?}");
    server.abort();
}

#[tokio::test]
async fn connection_refused_fails() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let cfg = load(&conf("", "", port, &ssl_get("", "")));
    let mut probe = only_probe(&cfg);
    assert!(!probe.check().await);
}

/// enable_sni sends the url's virtualhost, else the checker's, else the virtual server's; never
/// the real server's, and nothing without enable_sni.
#[tokio::test]
async fn sni_follows_enable_sni_and_virtualhosts() {
    let st = state(200, "ok");
    let (addr, server) = tls_server(st.clone()).await;
    let p = addr.port();
    let rs_vhost = "virtualhost rs.example\n";
    let cases: [(&str, &str, &str, Option<&str>); 5] = [
        ("", "virtualhost u.example", "virtualhost c.example\n enable_sni", Some("u.example")),
        ("virtualhost vs.example", "", "virtualhost c.example\n enable_sni", Some("c.example")),
        ("virtualhost vs.example", "", "enable_sni", Some("vs.example")),
        ("", "", "enable_sni", None),
        ("virtualhost vs.example", "virtualhost u.example", "", None),
    ];
    for (i, (vs_extra, url, extra, want)) in cases.iter().enumerate() {
        let checker = format!("{rs_vhost}{}", ssl_get(url, extra));
        let cfg = load(&conf("", vs_extra, p, &checker));
        let mut probe = only_probe(&cfg);
        assert!(probe.check().await, "case {i}");
        let got = st.lock().unwrap().sni.last().cloned().flatten();
        assert_eq!(got.as_deref(), *want, "case {i}: {vs_extra:?} {url:?} {extra:?}");
    }
    // The Host header still names the url's virtualhost (then the real server's).
    let reqs = st.lock().unwrap().requests.clone();
    assert!(reqs[0].contains("\r\nHost: u.example"), "{}", reqs[0]);
    assert!(reqs[1].contains("\r\nHost: c.example"), "{}", reqs[1]);
    assert!(reqs[2].contains("\r\nHost: rs.example"), "{}", reqs[2]);
    server.abort();
}

/// The root SSL block's certificate and key are presented when the server asks for one.
#[tokio::test]
async fn client_certificate_from_the_ssl_block() {
    let st = state(200, "ok");
    let (addr, server) = tls_server(st.clone()).await;
    let root = format!(
        "SSL {{\n certificate {}\n key {}\n}}",
        fixture("tls-cert.pem").display(),
        fixture("tls-key.pem").display()
    );
    let cfg = load(&conf(&root, "", addr.port(), &ssl_get("", "")));
    assert!(only_probe(&cfg).check().await);
    let cfg = load(&conf("", "", addr.port(), &ssl_get("", "")));
    assert!(only_probe(&cfg).check().await);
    assert_eq!(st.lock().unwrap().client_cert, [true, false]);
    server.abort();
}

/// A root SSL block whose files do not load: no SSL_GET checker runs (keepalived stops its
/// checker process), the other checkers still do.
#[tokio::test]
async fn unloadable_ssl_block_drops_the_ssl_checkers() {
    let root = "SSL {\n certificate /nonexistent/kard-cert.pem\n}";
    let checkers = format!("{}\n TCP_CHECK {{\n }}", ssl_get("", ""));
    let cfg = load(&conf(root, "", 4443, &checkers));
    let specs = engine::specs(&cfg);
    assert_eq!(specs.len(), 1, "only the TCP_CHECK");
}

type Events = Arc<Mutex<Vec<(Instant, bool)>>>;

struct Rec(Events);

impl Health for Rec {
    fn set_alive(&mut self, _vs: usize, _rs: usize, alive: bool) {
        self.0.lock().unwrap().push((Instant::now(), alive));
    }
    fn set_weight(&mut self, _vs: usize, _rs: usize, _weight: u32) {}
}

/// Through the engine: a wrong status takes the real server down, the right one brings it back.
#[tokio::test]
async fn engine_down_and_up() {
    let st = state(200, "ok");
    let (addr, server) = tls_server(st.clone()).await;
    let cfg = load(&conf("", "", addr.port(), &ssl_get("", "delay_before_retry 0.3")));
    let ev: Events = Arc::default();
    let mut rec = Rec(ev.clone());
    let scenario = {
        let ev = ev.clone();
        async move {
            // First check at 1 s succeeds (no event); then 503 -> down; then 200 -> up.
            tokio::time::sleep(Duration::from_millis(1150)).await;
            assert!(ev.lock().unwrap().is_empty());
            st.lock().unwrap().status = 503;
            let until = Instant::now() + Duration::from_secs(3);
            while ev.lock().unwrap().is_empty() && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            st.lock().unwrap().status = 200;
            let until = Instant::now() + Duration::from_secs(3);
            while ev.lock().unwrap().len() < 2 && Instant::now() < until {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    engine::run(engine::specs(&cfg), &mut rec, scenario, Seed::new(1)).await;
    let got: Vec<bool> = ev.lock().unwrap().iter().map(|e| e.1).collect();
    assert_eq!(got, [false, true]);
    server.abort();
}

/// Against OpenSSL's own server (`openssl s_server -www`), TLS 1.3 and TLS 1.2 only: the
/// rustls client interoperates with what keepalived's OpenSSL client talks to.
#[tokio::test]
async fn openssl_server_interop() {
    for proto in ["-tls1_3", "-tls1_2"] {
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let child = std::process::Command::new("openssl")
            .args(["s_server", "-quiet", "-www", proto, "-accept", &format!("127.0.0.1:{port}")])
            .arg("-cert")
            .arg(fixture("tls-cert.pem"))
            .arg("-key")
            .arg(fixture("tls-key.pem"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        let Ok(mut child) = child else {
            println!("SKIPPED: no openssl binary");
            return;
        };
        let end = Instant::now() + Duration::from_secs(5);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() && Instant::now() < end {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let cfg = load(&conf("", "", port, &ssl_get("", "")));
        let ok = only_probe(&cfg).check().await;
        let cfg = load(&conf("", "", port, &ssl_get("status_code 404", "")));
        let wrong = only_probe(&cfg).check().await;
        let _ = child.kill();
        let _ = child.wait();
        assert!(ok, "{proto}: s_server answers 200");
        assert!(!wrong, "{proto}: 200 is not 404");
    }
}
