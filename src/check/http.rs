//! HTTP_GET: one url per check (keepalived 2.2.7 walks the urls one per `delay_loop` tick),
//! success = an accepted status code and, when configured, the MD5 digest of the body.

use std::io;
use std::net::SocketAddr;

use log::info;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::engine::{Probe, ProbeFuture};
use super::md5::{Md5, hex};
use super::tcp::Conn;
use crate::config::checker::{Checker, HttpCheck, HttpProtocol, Url};

/// Headers larger than this are a failed check (keepalived reads into a fixed buffer too).
const MAX_HEADER: usize = 64 * 1024;

pub struct HttpProbe {
    conn: Conn,
    urls: Vec<Url>,
    protocol: HttpProtocol,
    fast_recovery: bool,
    next: usize,
    label: String,
    /// Path of the last url that passed (2.2.7 names it in the success line).
    last_ok: String,
}

/// Why a url check failed (for the log line).
#[derive(Debug)]
pub enum HttpError {
    Io(io::Error),
    Timeout,
    BadResponse,
    EmptyBody,
    Status(u16),
    Digest(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Io(e) => write!(f, "{e}"),
            HttpError::Timeout => f.write_str("timeout"),
            HttpError::BadResponse => f.write_str("malformed HTTP response"),
            HttpError::EmptyBody => f.write_str("empty response"),
            HttpError::Status(c) => write!(f, "HTTP status code error - code {c}"),
            HttpError::Digest(d) => write!(f, "MD5 digest error - digest {d}"),
        }
    }
}

impl HttpProbe {
    pub fn new(c: &Checker, h: &HttpCheck, label: String) -> Self {
        let urls = if h.urls.is_empty() { vec![Url { path: "/".into(), ..Url::default() }] } else { h.urls.clone() };
        HttpProbe {
            conn: Conn::of(c),
            urls,
            protocol: h.http_protocol,
            fast_recovery: h.fast_recovery,
            next: 0,
            label,
            last_ok: String::new(),
        }
    }

    async fn get(&self, url: &Url) -> Result<(), HttpError> {
        let req = request(url, self.protocol, self.conn.dest, false);
        let t = self.conn.timeout;
        let mut s = self.conn.connect().await.map_err(HttpError::Io)?;
        // keepalived applies connect_timeout to each step (connect, write, every read).
        tokio::time::timeout(t, s.write_all(req.as_bytes()))
            .await
            .map_err(|_| HttpError::Timeout)?
            .map_err(HttpError::Io)?;
        let mut buf = Vec::with_capacity(4096);
        let mut chunk = [0u8; 8192];
        let (status, body_start, content_length) = loop {
            let n = tokio::time::timeout(t, s.read(&mut chunk))
                .await
                .map_err(|_| HttpError::Timeout)?
                .map_err(HttpError::Io)?;
            if n == 0 {
                return Err(if buf.is_empty() { HttpError::EmptyBody } else { HttpError::BadResponse });
            }
            buf.extend_from_slice(chunk.get(..n).unwrap_or_default());
            if let Some(h) = parse_head(&buf)? {
                break h;
            }
            if buf.len() > MAX_HEADER {
                return Err(HttpError::BadResponse);
            }
        };
        let mut md5 = Md5::new();
        let mut got = 0u64;
        let first = buf.get(body_start..).unwrap_or_default();
        md5.update(first);
        got += first.len() as u64;
        // Read to EOF (1.0 servers close), or stop at Content-Length (1.1 keep-alive servers).
        while content_length.is_none_or(|l| got < l) {
            let n = tokio::time::timeout(t, s.read(&mut chunk))
                .await
                .map_err(|_| HttpError::Timeout)?
                .map_err(HttpError::Io)?;
            if n == 0 {
                break;
            }
            let data = chunk.get(..n).unwrap_or_default();
            md5.update(data);
            got += n as u64;
        }
        if !status_ok(&url.status_codes, status) {
            return Err(HttpError::Status(status));
        }
        if let Some(want) = url.digest {
            let d = md5.finish();
            if d != want {
                return Err(HttpError::Digest(hex(&d)));
            }
        }
        Ok(())
    }
}

/// keepalived's request: HTTP/1.0 by default, `1.0C` adds `Connection: close`, `1.1` uses
/// HTTP/1.1 with `Connection: close`. Host is the virtualhost, else the address, with `:port`
/// unless it is the scheme's default port.
pub fn request(url: &Url, proto: HttpProtocol, dest: SocketAddr, tls: bool) -> String {
    let version = if proto == HttpProtocol::V1_1 { "1.1" } else { "1.0" };
    let close = if proto == HttpProtocol::V1_0 { "" } else { "Connection: close\r\n" };
    let host = match &url.host {
        Some(h) => h.clone(),
        None => match dest.ip() {
            std::net::IpAddr::V6(a) => format!("[{a}]"),
            a => a.to_string(),
        },
    };
    let default_port = if tls { 443 } else { 80 };
    let port = if dest.port() == default_port { String::new() } else { format!(":{}", dest.port()) };
    format!("GET {} HTTP/{version}\r\nUser-Agent: KeepAliveClient\r\n{close}Host: {host}{port}\r\n\r\n", url.path)
}

/// Parse the status line and headers once complete: (status, body offset, Content-Length).
fn parse_head(buf: &[u8]) -> Result<Option<(u16, usize, Option<u64>)>, HttpError> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else { return Ok(None) };
    let head = std::str::from_utf8(buf.get(..end).unwrap_or_default()).map_err(|_| HttpError::BadResponse)?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.split_ascii_whitespace();
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/") {
        return Err(HttpError::BadResponse);
    }
    let status = parts.next().and_then(|c| c.parse::<u16>().ok()).ok_or(HttpError::BadResponse)?;
    let mut len = None;
    for l in lines {
        if let Some((k, v)) = l.split_once(':')
            && k.trim().eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse::<u64>().ok();
        }
    }
    Ok(Some((status, end + 4, len)))
}

fn status_ok(ranges: &[(u16, u16)], code: u16) -> bool {
    if ranges.is_empty() {
        return (200..=299).contains(&code);
    }
    ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&code))
}

impl Probe for HttpProbe {
    fn check(&mut self) -> ProbeFuture<'_> {
        Box::pin(async move {
            let i = self.next % self.urls.len().max(1);
            let Some(url) = self.urls.get(i) else { return false };
            match self.get(url).await {
                Ok(()) => {
                    log::debug!("HTTP status code success to {} url({}).", self.label, i + 1);
                    // The next tick checks the next url; a failed url is retried itself.
                    self.last_ok = url.path.clone();
                    self.next = (i + 1) % self.urls.len().max(1);
                    true
                }
                Err(e) => {
                    log::debug!("Error connecting server {} url({}): {e}.", self.label, i + 1);
                    false
                }
            }
        })
    }

    fn needed_up(&self) -> usize {
        self.urls.len()
    }

    fn fast_recovery(&self) -> bool {
        self.fast_recovery
    }

    /// 2.2.7 keeps re-checking the failed url every max(delay_before_retry, delay_loop).
    fn down_interval(&self, t: &super::state::Timing) -> std::time::Duration {
        t.delay_loop.max(t.delay_before_retry)
    }

    fn log_first_up(&self) {
        info!("Remote Web server {} succeed on service.", self.label);
    }

    fn log_up(&self) {
        info!("HTTP status code success to {} url({})", self.label, self.last_ok);
    }

    fn log_down(&self, retries: u32, _first: bool) {
        info!("HTTP_CHECK on service {} failed after {retries} retries.", self.label);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(path: &str, host: Option<&str>) -> Url {
        Url { path: path.into(), host: host.map(str::to_string), ..Url::default() }
    }

    #[test]
    fn request_forms() {
        let d: SocketAddr = "10.0.0.1:80".parse().unwrap();
        assert_eq!(
            request(&url("/", None), HttpProtocol::V1_0, d, false),
            "GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 10.0.0.1\r\n\r\n"
        );
        let d: SocketAddr = "10.0.0.1:8080".parse().unwrap();
        assert_eq!(
            request(&url("/x", Some("www")), HttpProtocol::V1_0C, d, false),
            "GET /x HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www:8080\r\n\r\n"
        );
        let d: SocketAddr = "[::1]:443".parse().unwrap();
        assert_eq!(
            request(&url("/", None), HttpProtocol::V1_1, d, true),
            "GET / HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: [::1]\r\n\r\n"
        );
    }

    #[test]
    fn head_parsing() {
        assert!(matches!(parse_head(b"HTTP/1.0 200 OK\r\n"), Ok(None)));
        assert!(matches!(parse_head(b"HTTP/1.1 404 NF\r\nContent-Length: 7\r\n\r\nabc"), Ok(Some((404, 38, Some(7))))));
        assert!(matches!(parse_head(b"SSH-2.0\r\n\r\n"), Err(HttpError::BadResponse)));
        assert!(matches!(parse_head(b"HTTP/1.0 abc\r\n\r\n"), Err(HttpError::BadResponse)));
        assert!(matches!(parse_head(b"HTTP/1.0\r\n\r\n"), Err(HttpError::BadResponse)));
        assert!(matches!(parse_head(b"HTTP/1.0 200\xff\r\n\r\n"), Err(HttpError::BadResponse)));
    }

    #[test]
    fn status_ranges() {
        assert!(status_ok(&[], 200) && status_ok(&[], 299) && !status_ok(&[], 300) && !status_ok(&[], 199));
        assert!(status_ok(&[(301, 302), (404, 404)], 404));
        assert!(!status_ok(&[(301, 302), (404, 404)], 200));
    }
}
