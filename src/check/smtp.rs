//! SMTP_CHECK: connect, expect a 220 greeting, `HELO name`, expect 250, `QUIT`. Every step is
//! bounded by `connect_timeout`. Only the real server's own address is checked (the deprecated
//! `host {}` sub-blocks are not run yet).

use log::info;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::engine::{Probe, ProbeFuture, log_failed};
use super::tcp::Conn;
use crate::config::checker::{Checker, SmtpCheck};

/// keepalived's HELO name when `helo_name` is not set.
pub const DEFAULT_HELO: &str = "smtpchecker.keepalived.org";

pub struct SmtpProbe {
    conn: Conn,
    helo: String,
    label: String,
}

impl SmtpProbe {
    pub fn new(c: &Checker, s: &SmtpCheck, label: String) -> Self {
        SmtpProbe { conn: Conn::of(c), helo: s.helo_name.clone().unwrap_or_else(|| DEFAULT_HELO.into()), label }
    }

    async fn session(&self) -> Result<(), String> {
        let t = self.conn.timeout;
        let s = self.conn.connect().await.map_err(|e| e.to_string())?;
        let mut s = BufReader::new(s);
        let step = |what: &'static str| move |_| format!("timeout waiting for {what}");
        let code = tokio::time::timeout(t, reply(&mut s)).await.map_err(step("greeting"))??;
        if code != 220 {
            return Err(format!("bad greeting code {code}"));
        }
        let helo = format!("HELO {}\r\n", self.helo);
        tokio::time::timeout(t, s.get_mut().write_all(helo.as_bytes()))
            .await
            .map_err(step("HELO"))?
            .map_err(|e| e.to_string())?;
        let code = tokio::time::timeout(t, reply(&mut s)).await.map_err(step("HELO reply"))??;
        if code != 250 {
            return Err(format!("HELO answered {code}"));
        }
        let _ = tokio::time::timeout(t, s.get_mut().write_all(b"QUIT\r\n")).await;
        Ok(())
    }
}

/// Read one (possibly multi-line, `250-...`) SMTP reply; its code.
async fn reply<R: AsyncBufReadExt + Unpin>(r: &mut R) -> Result<u16, String> {
    let mut line = String::new();
    loop {
        line.clear();
        let n = r.read_line(&mut line).await.map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed".into());
        }
        if line.len() > 4096 {
            return Err("reply line too long".into());
        }
        let code = parse_code(&line).ok_or_else(|| format!("malformed reply {:?}", line.trim_end()))?;
        // "250-" continues, "250 " (or a bare code) ends the reply.
        if line.as_bytes().get(3) != Some(&b'-') {
            return Ok(code);
        }
    }
}

fn parse_code(line: &str) -> Option<u16> {
    let d = line.get(..3)?;
    if !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    d.parse().ok()
}

impl Probe for SmtpProbe {
    fn check(&mut self) -> ProbeFuture<'_> {
        Box::pin(async move {
            match self.session().await {
                Ok(()) => true,
                Err(e) => {
                    log::debug!("SMTP_CHECK {}: {e}", self.label);
                    false
                }
            }
        })
    }

    fn log_up(&self) {
        info!("SMTP connection to {} success.", self.label);
    }

    fn log_down(&self, retries: u32, first: bool) {
        log_failed("SMTP_CHECK", &self.label, retries, first);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes() {
        assert_eq!(parse_code("220 mail ESMTP\r\n"), Some(220));
        assert_eq!(parse_code("250-PIPELINING\r\n"), Some(250));
        assert_eq!(parse_code("25"), None);
        assert_eq!(parse_code("abc def"), None);
        assert_eq!(parse_code("2é0 x"), None);
    }

    #[tokio::test]
    async fn multi_line_replies() {
        let mut r = BufReader::new(&b"250-a\r\n250-b\r\n250 c\r\n"[..]);
        assert_eq!(reply(&mut r).await, Ok(250));
        let mut r = BufReader::new(&b"220-x\r\n"[..]);
        assert!(reply(&mut r).await.is_err(), "closed mid-reply");
        let mut r = BufReader::new(&b"hello\r\n"[..]);
        assert!(reply(&mut r).await.is_err());
    }
}
