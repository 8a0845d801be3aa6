//! HTTP_GET: one url per check (keepalived 2.2.7 walks the urls one per `delay_loop` tick),
//! success = an accepted status code and, when configured, the MD5 digest of the body and a
//! `regex` found in it (or not, with `regex_no_match`).
//!
//! The probe is generic over its [`Transport`]: plain TCP here, TLS for SSL_GET (`ssl`). The
//! exchange itself ([`exchange`]) only needs an `AsyncRead + AsyncWrite` stream, so both
//! checkers share the request, the response parsing, the checks and keepalived's log lines.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use log::info;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::engine::{Probe, ProbeFuture};
use super::md5::{Md5, hex};
use super::tcp::Conn;
use crate::config::checker::{Checker, HttpCheck, HttpProtocol, Url};

/// Headers larger than this are a failed check (keepalived reads into a fixed buffer too).
const MAX_HEADER: usize = 64 * 1024;

/// How much of a body is kept for a `regex` search (the digest covers all of it).
const MAX_REGEX_BODY: usize = 1024 * 1024;

/// A url's `regex`, compiled once: where in the body it is searched and what a match means.
#[derive(Debug, Clone)]
pub struct BodyRegex {
    re: regex::bytes::Regex,
    /// `regex_no_match`: a match fails the check.
    no_match: bool,
    /// `regex_min_offset`: the search starts here.
    min: usize,
    /// `regex_max_offset`: a match must start at or before here.
    max: Option<usize>,
}

impl BodyRegex {
    /// The url's regex; None without one or when it does not compile (logged: the url is
    /// then checked without it).
    pub fn of(url: &Url) -> Option<BodyRegex> {
        let pattern = url.regex.as_deref()?;
        // pcre2 options with an inline-flag equivalent; the rest tune pcre2 itself.
        let mut flags = String::new();
        for o in &url.regex_options {
            match o.as_str() {
                "caseless" => flags.push('i'),
                "multiline" => flags.push('m'),
                "dotall" => flags.push('s'),
                "extended" => flags.push('x'),
                "ungreedy" => flags.push('U'),
                _ => {}
            }
        }
        // pcre2 matches bytes unless told `utf`: so does (?-u).
        if !url.regex_options.iter().any(|o| o == "utf" || o == "ucp") {
            flags.push_str("-u");
        }
        let full = format!("(?{flags}){pattern}");
        match regex::bytes::Regex::new(&full) {
            Ok(re) => Some(BodyRegex {
                re,
                no_match: url.regex_no_match,
                min: url.regex_min_offset.map_or(0, |v| usize::try_from(v).unwrap_or(usize::MAX)),
                max: url.regex_max_offset.map(|v| usize::try_from(v).unwrap_or(usize::MAX)),
            }),
            Err(e) => {
                log::warn!("HTTP_GET url {}: regex '{pattern}' does not compile ({e}) - ignoring it", url.path);
                None
            }
        }
    }

    /// Whether `body` passes.
    fn passes(&self, body: &[u8]) -> bool {
        let found = body
            .get(self.min..)
            .and_then(|b| self.re.find(b))
            .is_some_and(|m| self.max.is_none_or(|max| self.min + m.start() <= max));
        found != self.no_match
    }
}

/// How a web checker reaches the server: the stream the HTTP exchange runs over.
pub trait Transport: Send + Sync + 'static {
    type Stream: AsyncRead + AsyncWrite + Unpin + Send;
    /// TLS (SSL_GET): only changes the wording of the failure lines.
    const TLS: bool;
    /// Open a stream to `conn.dest` for `url` (TLS: connect and handshake).
    fn open<'a>(
        &'a self,
        conn: &'a Conn,
        url: &'a Url,
    ) -> impl Future<Output = Result<Self::Stream, HttpError>> + Send + 'a;
}

/// HTTP_GET's transport: a TCP connection.
pub struct Plain;

impl Transport for Plain {
    type Stream = TcpStream;
    const TLS: bool = false;
    async fn open(&self, conn: &Conn, _url: &Url) -> Result<TcpStream, HttpError> {
        conn.connect().await.map_err(HttpError::connect)
    }
}

pub struct HttpProbe<T: Transport = Plain> {
    conn: Conn,
    transport: T,
    urls: Vec<Url>,
    /// Each url's compiled `regex`.
    regexes: Vec<Option<BodyRegex>>,
    protocol: HttpProtocol,
    fast_recovery: bool,
    next: usize,
    label: String,
    /// Path of the last url that passed (2.2.7 names it in the success line).
    last_ok: String,
    /// Why the last check failed, for the `log_all_failures` line.
    last_err: Option<HttpError>,
}

/// Why a url check failed (for the log line).
#[derive(Debug)]
pub enum HttpError {
    Connect(io::Error),
    ConnectTimeout,
    /// TLS handshake failed (SSL_GET).
    Handshake(io::Error),
    WriteTimeout,
    Write(io::Error),
    ReadTimeout,
    Read(io::Error),
    BadResponse,
    EmptyBody,
    Status(u16),
    Digest(String),
    /// The body did not match the url's `regex` (or matched it, with `regex_no_match`).
    Regex,
}

impl HttpError {
    pub fn connect(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::TimedOut { HttpError::ConnectTimeout } else { HttpError::Connect(e) }
    }

    /// The phrase 2.2.7 puts before "server <label>." when it logs this failure.
    pub fn keepalived_phrase(&self, tls: bool) -> &'static str {
        match self {
            HttpError::Connect(_) => "Error connecting",
            HttpError::ConnectTimeout => "Timeout connecting",
            HttpError::Handshake(_) => "SSL handshake/communication error connecting to",
            HttpError::WriteTimeout => "Timeout WEB write",
            HttpError::Write(_) => "Cannot send get request to",
            HttpError::ReadTimeout if tls => "Timeout SSL read",
            HttpError::ReadTimeout => "Timeout HTTP read",
            HttpError::Read(_) => "Read error with",
            // Its parser finds no header end in either case; the body check comes first.
            HttpError::EmptyBody | HttpError::BadResponse => "Read, no data received from ",
            HttpError::Status(_) => "HTTP status code error to",
            HttpError::Digest(_) => "MD5 digest error to",
            // Not measured on 2.2.7 (its checker needs IPVS, so only in the VM): our wording.
            HttpError::Regex => "Regex match failed for",
        }
    }
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpError::Connect(e) => write!(f, "connect: {e}"),
            HttpError::ConnectTimeout => f.write_str("connect timeout"),
            HttpError::Handshake(e) => write!(f, "SSL handshake: {e}"),
            HttpError::WriteTimeout => f.write_str("write timeout"),
            HttpError::Write(e) => write!(f, "write: {e}"),
            HttpError::ReadTimeout => f.write_str("read timeout"),
            HttpError::Read(e) => write!(f, "read: {e}"),
            HttpError::BadResponse => f.write_str("malformed HTTP response"),
            HttpError::EmptyBody => f.write_str("empty response"),
            HttpError::Status(c) => write!(f, "HTTP status code error - code {c}"),
            HttpError::Digest(d) => write!(f, "MD5 digest error - digest {d}"),
            HttpError::Regex => f.write_str("regex match failed"),
        }
    }
}

impl HttpProbe<Plain> {
    pub fn new(c: &Checker, h: &HttpCheck, label: String) -> Self {
        HttpProbe::with_transport(c, h, label, Plain)
    }
}

impl<T: Transport> HttpProbe<T> {
    pub fn with_transport(c: &Checker, h: &HttpCheck, label: String, transport: T) -> Self {
        let urls = if h.urls.is_empty() { vec![Url { path: "/".into(), ..Url::default() }] } else { h.urls.clone() };
        HttpProbe {
            conn: Conn::of(c),
            transport,
            regexes: urls.iter().map(BodyRegex::of).collect(),
            urls,
            protocol: h.http_protocol,
            fast_recovery: h.fast_recovery,
            next: 0,
            label,
            last_ok: String::new(),
            last_err: None,
        }
    }

    async fn get(&self, url: &Url, re: Option<&BodyRegex>) -> Result<(), HttpError> {
        let req = request(url, self.protocol, self.conn.dest);
        let mut s = self.transport.open(&self.conn, url).await?;
        // TLS: keepalived reads until the TLS layer reports anything but "more data", and judges
        // what it got; a peer closing without close_notify is the usual end of a response.
        exchange(&mut s, req.as_bytes(), url, re, self.conn.timeout, T::TLS).await
    }
}

/// One GET over `s`: send `req`, read the response and judge it against `url`. keepalived applies
/// `connect_timeout` (`t`) to each step (write, every read). With `error_is_eof` a read error
/// ends the response instead of failing the check (SSL_GET).
pub async fn exchange<S>(
    s: &mut S,
    req: &[u8],
    url: &Url,
    re: Option<&BodyRegex>,
    t: Duration,
    error_is_eof: bool,
) -> Result<(), HttpError>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    tokio::time::timeout(t, s.write_all(req)).await.map_err(|_| HttpError::WriteTimeout)?.map_err(HttpError::Write)?;
    let mut chunk = [0u8; 8192];
    let read = async |s: &mut S, chunk: &mut [u8]| -> Result<usize, HttpError> {
        match tokio::time::timeout(t, s.read(chunk)).await {
            Err(_) => Err(HttpError::ReadTimeout),
            Ok(Ok(n)) => Ok(n),
            Ok(Err(_)) if error_is_eof => Ok(0),
            Ok(Err(e)) => Err(HttpError::Read(e)),
        }
    };
    let mut buf = Vec::with_capacity(4096);
    let (status, body_start, content_length) = loop {
        let n = read(s, &mut chunk).await?;
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
    // The body itself only for a regex, and only up to a bound.
    let mut body: Vec<u8> = if re.is_some() { first.to_vec() } else { Vec::new() };
    let keep = |body: &mut Vec<u8>, data: &[u8]| {
        if re.is_some() && body.len() < MAX_REGEX_BODY {
            body.extend_from_slice(data.get(..(MAX_REGEX_BODY - body.len()).min(data.len())).unwrap_or_default());
        }
    };
    // Read to EOF (1.0 servers close), or stop at Content-Length (1.1 keep-alive servers).
    while content_length.is_none_or(|l| got < l) {
        let n = read(s, &mut chunk).await?;
        if n == 0 {
            break;
        }
        let data = chunk.get(..n).unwrap_or_default();
        md5.update(data);
        keep(&mut body, data);
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
    if re.is_some_and(|r| !r.passes(&body)) {
        return Err(HttpError::Regex);
    }
    Ok(())
}

/// keepalived's request: HTTP/1.0 by default, `1.0C` adds `Connection: close`, `1.1` uses
/// HTTP/1.1 with `Connection: close`. Host is the virtualhost as configured, else the address
/// with its port, always (2.2.7 sends `127.0.0.1:443` and `127.0.0.1:80`, `v.example` for a
/// virtualhost on port 18443: measured with `keepalived -T`).
pub fn request(url: &Url, proto: HttpProtocol, dest: SocketAddr) -> String {
    let version = if proto == HttpProtocol::V1_1 { "1.1" } else { "1.0" };
    let close = if proto == HttpProtocol::V1_0 { "" } else { "Connection: close\r\n" };
    let host = match &url.host {
        Some(h) => h.clone(),
        None => dest.to_string(),
    };
    format!("GET {} HTTP/{version}\r\nUser-Agent: KeepAliveClient\r\n{close}Host: {host}\r\n\r\n", url.path)
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

impl<T: Transport> Probe for HttpProbe<T> {
    fn check(&mut self) -> ProbeFuture<'_> {
        Box::pin(async move {
            let i = self.next % self.urls.len().max(1);
            let Some(url) = self.urls.get(i) else { return false };
            let re = self.regexes.get(i).and_then(Option::as_ref);
            match self.get(url, re).await {
                Ok(()) => {
                    log::debug!("HTTP status code success to {} url({}).", self.label, i + 1);
                    // The next tick checks the next url; a failed url is retried itself.
                    self.last_ok = url.path.clone();
                    self.next = (i + 1) % self.urls.len().max(1);
                    self.last_err = None;
                    true
                }
                Err(e) => {
                    log::debug!("{} server {} url({}): {e}.", e.keepalived_phrase(T::TLS), self.label, i + 1);
                    self.last_err = Some(e);
                    false
                }
            }
        })
    }

    /// 2.2.7's `timeout_epilog` line, printed with `log_all_failures`.
    fn log_failure(&self) {
        if let Some(e) = &self.last_err {
            info!("{} server {}.", e.keepalived_phrase(T::TLS), self.label);
        }
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

    /// Both forms are in the 2.2.7 binary: "failed." on the first check or without retries.
    fn log_down(&self, retries: u32, first: bool) {
        super::engine::log_failed("HTTP_CHECK", &self.label, retries, first);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(path: &str, host: Option<&str>) -> Url {
        Url { path: path.into(), host: host.map(str::to_string), ..Url::default() }
    }

    /// A stream that answers reads from a script: data, an error, or nothing ever (pending);
    /// EOF once the script is done. Writes succeed unless `write_fails`.
    struct Scripted {
        reads: std::collections::VecDeque<Step>,
        write_fails: bool,
    }

    enum Step {
        Data(&'static [u8]),
        Fail,
        Pending,
    }

    impl AsyncRead for Scripted {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            use std::task::Poll;
            match self.reads.front() {
                Some(Step::Pending) => return Poll::Pending,
                Some(Step::Fail) => {
                    self.reads.pop_front();
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::ConnectionReset, "reset")));
                }
                _ => {}
            }
            if let Some(Step::Data(d)) = self.reads.pop_front() {
                buf.put_slice(d);
            }
            Poll::Ready(Ok(()))
        }
    }

    impl AsyncWrite for Scripted {
        fn poll_write(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &[u8],
        ) -> std::task::Poll<io::Result<usize>> {
            if self.write_fails {
                return std::task::Poll::Ready(Err(io::Error::new(io::ErrorKind::BrokenPipe, "pipe")));
            }
            std::task::Poll::Ready(Ok(buf.len()))
        }
        fn poll_flush(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
        fn poll_shutdown(
            self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            std::task::Poll::Ready(Ok(()))
        }
    }

    async fn run(steps: Vec<Step>, want: &Url, error_is_eof: bool) -> Result<(), HttpError> {
        let mut s = Scripted { reads: steps.into(), write_fails: false };
        let re = BodyRegex::of(want);
        exchange(&mut s, b"GET / HTTP/1.0\r\n\r\n", want, re.as_ref(), Duration::from_secs(5), error_is_eof).await
    }

    fn digest_url(d: Option<[u8; 16]>) -> Url {
        Url { path: "/".into(), digest: d, status_codes: vec![(200, 299)], ..Url::default() }
    }

    #[tokio::test(start_paused = true)]
    async fn exchange_outcomes() {
        use Step::*;
        let u = digest_url(None);
        assert!(run(vec![Data(b"HTTP/1.0 200 OK\r\n\r\nbody")], &u, false).await.is_ok());
        // Head split over reads, Content-Length stops the read without waiting for EOF.
        let r = run(vec![Data(b"HTTP/1.1 204 N"), Data(b"o\r\nContent-Length: 2\r\n\r\nab"), Pending], &u, false);
        assert!(r.await.is_ok());
        assert!(matches!(run(vec![], &u, false).await, Err(HttpError::EmptyBody)));
        assert!(matches!(run(vec![Data(b"HTTP/1.0 200")], &u, false).await, Err(HttpError::BadResponse)));
        assert!(matches!(run(vec![Data(b"HTTP/1.0 503 X\r\n\r\n")], &u, false).await, Err(HttpError::Status(503))));
        assert!(matches!(run(vec![Pending], &u, false).await, Err(HttpError::ReadTimeout)));
        let body = [Data(b"HTTP/1.0 200 OK\r\n\r\nhello"), Pending];
        assert!(matches!(run(body.into(), &u, false).await, Err(HttpError::ReadTimeout)), "timeout in the body");
        // A read error fails plain HTTP; over TLS it ends the response, judged as received.
        let reset = || vec![Data(b"HTTP/1.0 200 OK\r\n\r\nhello"), Fail];
        assert!(matches!(run(reset(), &u, false).await, Err(HttpError::Read(_))));
        let md5_hello = crate::config::checker::parse_digest("5d41402abc4b2a76b9719d911017c592");
        assert!(run(reset(), &digest_url(md5_hello), true).await.is_ok());
        let other = crate::config::checker::parse_digest("00000000000000000000000000000000");
        assert!(
            matches!(run(reset(), &digest_url(other), true).await, Err(HttpError::Digest(d)) if d == "5d41402abc4b2a76b9719d911017c592")
        );
        assert!(matches!(run(vec![Fail], &u, true).await, Err(HttpError::EmptyBody)));
        let mut w = Scripted { reads: Default::default(), write_fails: true };
        let r = exchange(&mut w, b"GET", &u, None, Duration::from_secs(1), false).await;
        assert!(matches!(r, Err(HttpError::Write(_))));
    }

    fn regex_url(re: &str, opts: &[&str], no_match: bool, min: Option<u64>, max: Option<u64>) -> Url {
        Url {
            path: "/".into(),
            status_codes: vec![(200, 299)],
            regex: Some(re.into()),
            regex_options: opts.iter().map(|o| o.to_string()).collect(),
            regex_no_match: no_match,
            regex_min_offset: min,
            regex_max_offset: max,
            ..Url::default()
        }
    }

    /// `regex`: found in the body passes, absent fails; `regex_no_match` flips it; the offsets
    /// bound where the match may start; pcre2's caseless option; a bad pattern is ignored.
    #[test]
    fn body_regex_rules() {
        let passes = |u: &Url, body: &str| BodyRegex::of(u).unwrap().passes(body.as_bytes());
        assert!(passes(&regex_url("st.tus: ok", &[], false, None, None), "<p>status: ok</p>"));
        assert!(!passes(&regex_url("status: ok", &[], false, None, None), "status: down"));
        assert!(!passes(&regex_url("status: ok", &[], true, None, None), "status: ok"));
        assert!(passes(&regex_url("status: ok", &[], true, None, None), "status: down"));
        assert!(!passes(&regex_url("OK", &[], false, None, None), "ok"));
        assert!(passes(&regex_url("OK", &["caseless"], false, None, None), "ok"));
        // "ok" at offset 6: min 7 skips it, max 5 is before it.
        assert!(passes(&regex_url("ok", &[], false, Some(6), None), "......ok"));
        assert!(!passes(&regex_url("ok", &[], false, Some(7), None), "......ok"));
        assert!(!passes(&regex_url("ok", &[], false, None, Some(5)), "......ok"));
        assert!(passes(&regex_url("ok", &[], false, Some(2), Some(6)), "......ok"));
        // Bytes, not UTF-8, as pcre2 without `utf`.
        assert!(BodyRegex::of(&regex_url("\\xff", &[], false, None, None)).unwrap().passes(b"a\xffb"));
        assert!(BodyRegex::of(&regex_url("(unclosed", &[], false, None, None)).is_none());
        assert!(BodyRegex::of(&Url::default()).is_none());
    }

    #[tokio::test]
    async fn exchange_applies_the_regex() {
        let ok = regex_url("healthy", &[], false, None, None);
        let body = |b: &'static [u8]| vec![Step::Data(b)];
        assert!(run(body(b"HTTP/1.0 200 OK\r\n\r\nall healthy"), &ok, false).await.is_ok());
        assert!(matches!(run(body(b"HTTP/1.0 200 OK\r\n\r\nbroken"), &ok, false).await, Err(HttpError::Regex)));
        // The status is judged first.
        assert!(matches!(
            run(body(b"HTTP/1.0 500 Oops\r\n\r\nhealthy"), &ok, false).await,
            Err(HttpError::Status(500))
        ));
    }

    #[test]
    fn failure_phrases_are_2_2_7s() {
        let e = |k| io::Error::new(k, "x");
        assert_eq!(HttpError::connect(e(io::ErrorKind::TimedOut)).keepalived_phrase(false), "Timeout connecting");
        assert_eq!(
            HttpError::connect(e(io::ErrorKind::ConnectionRefused)).keepalived_phrase(false),
            "Error connecting"
        );
        let hs = HttpError::Handshake(e(io::ErrorKind::InvalidData));
        assert_eq!(hs.keepalived_phrase(true), "SSL handshake/communication error connecting to");
        assert_eq!(HttpError::ReadTimeout.keepalived_phrase(true), "Timeout SSL read");
        assert_eq!(HttpError::ReadTimeout.keepalived_phrase(false), "Timeout HTTP read");
        assert_eq!(HttpError::Status(500).keepalived_phrase(true), "HTTP status code error to");
        assert_eq!(HttpError::Digest(String::new()).keepalived_phrase(false), "MD5 digest error to");
        assert_eq!(HttpError::EmptyBody.keepalived_phrase(false), "Read, no data received from ");
    }

    #[test]
    fn request_forms() {
        let d: SocketAddr = "10.0.0.1:80".parse().unwrap();
        assert_eq!(
            request(&url("/", None), HttpProtocol::V1_0, d),
            "GET / HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nHost: 10.0.0.1:80\r\n\r\n"
        );
        let d: SocketAddr = "10.0.0.1:8080".parse().unwrap();
        assert_eq!(
            request(&url("/x", Some("www")), HttpProtocol::V1_0C, d),
            "GET /x HTTP/1.0\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: www\r\n\r\n"
        );
        let d: SocketAddr = "[::1]:443".parse().unwrap();
        assert_eq!(
            request(&url("/", None), HttpProtocol::V1_1, d),
            "GET / HTTP/1.1\r\nUser-Agent: KeepAliveClient\r\nConnection: close\r\nHost: [::1]:443\r\n\r\n"
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
