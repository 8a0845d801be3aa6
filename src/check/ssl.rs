//! SSL_GET: HTTP_GET over TLS. The request, the response checks and the log lines are HTTP_GET's
//! (`http`); this module only supplies the TLS transport and the shared client context.
//!
//! keepalived 2.2.7 semantics kept here:
//! * The server certificate is never verified: keepalived builds its OpenSSL context without
//!   `SSL_VERIFY_PEER` and never looks at the verify result, even when the root `SSL` block names
//!   a `ca` (the 2.2.7 binary imports neither `SSL_CTX_set_verify` nor `SSL_get_verify_result`,
//!   and `keepalived -T -S` accepts our self-signed test certificate). We accept any certificate but still check the handshake signatures, so a server
//!   must hold the key of the certificate it sends.
//! * `SSL { certificate key }` is the client certificate, sent when the server asks for one; a
//!   file that cannot be loaded stops the SSL checkers ("SSL error : Cant load ... file...").
//! * `enable_sni` sends the url's virtualhost, else the checker's, else the virtual server's
//!   (not the real server's, unlike the Host header), and no SNI when none is set.
//! * The handshake shares `connect_timeout` with the TCP connect; a failed or timed-out
//!   handshake is "SSL handshake/communication error connecting to server ...".

use std::io;
use std::sync::Arc;
use std::time::Instant;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use super::http::{HttpError, HttpProbe, Transport};
use super::tcp::Conn;
use crate::config::checker::{Checker, HttpCheck, Url};
use crate::config::lvs::SslConfig;

/// Why the shared SSL context could not be built (keepalived's wording).
#[derive(Debug)]
pub enum SetupError {
    Certificate(String),
    Key(String),
    Ca(String),
    Tls(rustls::Error),
}

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetupError::Certificate(p) => write!(f, "SSL error : Cant load certificate file... ({p})"),
            SetupError::Key(p) => write!(f, "SSL error : Cant load key file... ({p})"),
            SetupError::Ca(p) => write!(f, "SSL error : Cant load CA file... ({p})"),
            SetupError::Tls(e) => write!(f, "SSL error: cannot create new SSL context ({e})"),
        }
    }
}

impl std::error::Error for SetupError {}

/// The client context every SSL_GET checker shares, from the root `SSL` block (None: the
/// "auto generated" context, no client certificate).
pub fn client_config(ssl: Option<&SslConfig>) -> Result<Arc<ClientConfig>, SetupError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AnyServerCert(provider.signature_verification_algorithms));
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(SetupError::Tls)?
        .dangerous()
        .with_custom_certificate_verifier(verifier);
    let ssl = ssl.cloned().unwrap_or_default();
    // keepalived's order: certificate, key, then the CA file.
    let chain = match &ssl.certificate {
        Some(p) => Some(load_certs(p).ok_or_else(|| SetupError::Certificate(p.clone()))?),
        None => None,
    };
    let key = match &ssl.key {
        // An encrypted key (`password`) is not readable here: it fails as a bad key file.
        Some(p) => Some(
            std::fs::read(p)
                .ok()
                .and_then(|b| PrivateKeyDer::from_pem_slice(&b).ok())
                .ok_or_else(|| SetupError::Key(p.clone()))?,
        ),
        None => None,
    };
    if let Some(p) = &ssl.ca {
        // Loaded to report a bad file as keepalived does; never used to verify (see above).
        load_certs(p).ok_or_else(|| SetupError::Ca(p.clone()))?;
    }
    let config = match (chain, key) {
        (Some(chain), Some(key)) => builder
            .with_client_auth_cert(chain, key)
            .map_err(|_| SetupError::Key(ssl.key.clone().unwrap_or_default()))?,
        // A certificate without its key (or a key alone) cannot authenticate the client.
        _ => builder.with_no_client_auth(),
    };
    Ok(Arc::new(config))
}

/// Every PEM certificate of `path`; None when unreadable or holding none.
fn load_certs(path: &str) -> Option<Vec<CertificateDer<'static>>> {
    let bytes = std::fs::read(path).ok()?;
    let certs: Vec<_> = CertificateDer::pem_slice_iter(&bytes).collect::<Result<_, _>>().ok()?;
    if certs.is_empty() { None } else { Some(certs) }
}

/// Accepts any server certificate, as keepalived does, but checks that the handshake was
/// signed by the key of the certificate presented.
#[derive(Debug)]
struct AnyServerCert(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyServerCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// SSL_GET's transport: TCP connect, then a TLS handshake.
pub struct Tls {
    connector: TlsConnector,
    /// SNI when the url has no virtualhost of its own (None: `enable_sni` off).
    sni: Option<Sni>,
}

struct Sni {
    /// The checker's virtualhost, else the virtual server's.
    fallback: Option<String>,
}

impl Tls {
    fn server_name(&self, conn: &Conn, url: &Url) -> ServerName<'static> {
        let name = self.sni.as_ref().and_then(|s| url.virtualhost.as_deref().or(s.fallback.as_deref()));
        match name.map(|n| ServerName::try_from(n.to_string())) {
            // rustls sends SNI for a DNS name only; an address (ours or a literal vhost) or a
            // name that is not a valid DNS name goes without, as with no virtualhost.
            Some(Ok(n @ ServerName::DnsName(_))) => n,
            _ => ServerName::IpAddress(conn.dest.ip().into()),
        }
    }
}

impl Transport for Tls {
    type Stream = TlsStream<TcpStream>;
    const TLS: bool = true;

    async fn open(&self, conn: &Conn, url: &Url) -> Result<Self::Stream, HttpError> {
        let start = Instant::now();
        let tcp = conn.connect().await.map_err(HttpError::connect)?;
        let left = conn.timeout.saturating_sub(start.elapsed());
        match tokio::time::timeout(left, self.connector.connect(self.server_name(conn, url), tcp)).await {
            Ok(Ok(s)) => Ok(s),
            Ok(Err(e)) => Err(HttpError::Handshake(e)),
            Err(_) => Err(HttpError::Handshake(io::Error::new(io::ErrorKind::TimedOut, "handshake timeout"))),
        }
    }
}

pub type SslProbe = HttpProbe<Tls>;

/// An SSL_GET probe using the shared `config`; `vs_virtualhost` is the virtual server's
/// `virtualhost` (the last SNI fallback).
pub fn probe(
    c: &Checker,
    h: &HttpCheck,
    label: String,
    config: Arc<ClientConfig>,
    vs_virtualhost: Option<&str>,
) -> SslProbe {
    let sni = h.enable_sni.then(|| Sni { fallback: h.virtualhost.as_deref().or(vs_virtualhost).map(str::to_string) });
    HttpProbe::with_transport(c, h, label, Tls { connector: TlsConnector::from(config), sni })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("kard-ssl-{}-{name}", std::process::id()));
        let _ = std::fs::create_dir_all(&d);
        d
    }

    #[test]
    fn default_context_builds() {
        assert!(client_config(None).is_ok());
        assert!(client_config(Some(&SslConfig::default())).is_ok());
    }

    #[test]
    fn unreadable_files_are_keepalived_errors() {
        let d = scratch("bad");
        let junk = d.join("junk.pem");
        std::fs::write(&junk, "not a pem file\n").unwrap();
        let junk = junk.to_string_lossy().into_owned();
        let missing = d.join("missing.pem").to_string_lossy().into_owned();
        let cfg = |cert: Option<&str>, key: Option<&str>, ca: Option<&str>| SslConfig {
            certificate: cert.map(str::to_string),
            key: key.map(str::to_string),
            ca: ca.map(str::to_string),
            ..SslConfig::default()
        };
        let e = client_config(Some(&cfg(Some(&missing), None, None))).unwrap_err();
        assert!(e.to_string().starts_with("SSL error : Cant load certificate file..."), "{e}");
        let e = client_config(Some(&cfg(Some(&junk), None, None))).unwrap_err();
        assert!(matches!(e, SetupError::Certificate(_)), "{e}");
        let e = client_config(Some(&cfg(None, Some(&junk), None))).unwrap_err();
        assert!(e.to_string().starts_with("SSL error : Cant load key file..."), "{e}");
        let e = client_config(Some(&cfg(None, None, Some(&missing)))).unwrap_err();
        assert!(e.to_string().starts_with("SSL error : Cant load CA file..."), "{e}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn sni_choice() {
        let conn = Conn {
            dest: "10.0.0.1:443".parse().unwrap(),
            opts: Default::default(),
            timeout: std::time::Duration::from_secs(1),
        };
        let cfg = client_config(None).unwrap();
        let tls = |sni: Option<Sni>| Tls { connector: TlsConnector::from(cfg.clone()), sni };
        let url = |vh: Option<&str>| Url { path: "/".into(), virtualhost: vh.map(str::to_string), ..Url::default() };
        let dns = |n: &str| ServerName::try_from(n.to_string()).unwrap();
        let ip = ServerName::IpAddress(conn.dest.ip().into());
        // Off: never a name, even with virtualhosts.
        assert_eq!(tls(None).server_name(&conn, &url(Some("u.example"))), ip);
        let on = tls(Some(Sni { fallback: Some("vs.example".into()) }));
        assert_eq!(on.server_name(&conn, &url(Some("u.example"))), dns("u.example"));
        assert_eq!(on.server_name(&conn, &url(None)), dns("vs.example"));
        // On but nothing to send, or nothing rustls may send.
        assert_eq!(tls(Some(Sni { fallback: None })).server_name(&conn, &url(None)), ip);
        assert_eq!(on.server_name(&conn, &url(Some("bad name!"))), ip);
        assert_eq!(on.server_name(&conn, &url(Some("192.0.2.7"))), ip);
    }
}
