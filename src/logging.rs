//! keepalived-style logging through the `log` facade.
//!
//! Like keepalived: syslog (ident `Keepalived`, facility LOG_DAEMON unless `-S`) unless `-G`, and
//! with `-l` also the console (stderr), every line prefixed with a ctime-style timestamp
//! (`Tue Nov 24 13:24:06 2026: ...`). `-D` adds detail (debug level). `RUST_LOG`, read by
//! env_logger's filter, overrides the level for developers.

use std::ffi::CString;
use std::io::Write;

use anyhow::{Result, bail};
use log::{LevelFilter, Log, Metadata, Record};

#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub console: bool,
    pub detail: bool,
    pub facility: Option<String>,
    pub no_syslog: bool,
}

/// `-S` values as keepalived takes them: `0`-`7` (LOG_LOCAL0-7), `local0`-`local7`, `user`, `daemon`.
pub fn parse_facility(s: &str) -> Result<libc::c_int> {
    let locals = [
        libc::LOG_LOCAL0,
        libc::LOG_LOCAL1,
        libc::LOG_LOCAL2,
        libc::LOG_LOCAL3,
        libc::LOG_LOCAL4,
        libc::LOG_LOCAL5,
        libc::LOG_LOCAL6,
        libc::LOG_LOCAL7,
    ];
    let idx = s.strip_prefix("local").unwrap_or(s);
    if let Ok(n) = idx.parse::<usize>()
        && n < 8
        && (idx.len() == 1)
    {
        return Ok(locals[n]);
    }
    match s {
        "user" => Ok(libc::LOG_USER),
        "daemon" => Ok(libc::LOG_DAEMON),
        _ => bail!("invalid log facility '{s}': use 0-7, local0-local7, user or daemon"),
    }
}

struct Logger {
    /// Used only for its level filter (`RUST_LOG` syntax); output is ours.
    filter: env_logger::Logger,
    console: bool,
    syslog: bool,
}

/// `Tue Nov 24 13:24:06 2026`, local time, as ctime(3) without its newline.
pub fn ctime_now() -> String {
    // SAFETY: time(NULL) has no preconditions; localtime_r/strftime write only into our buffers.
    unsafe {
        let t = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&t, &mut tm);
        let mut buf = [0u8; 64];
        let fmt = c"%a %b %e %H:%M:%S %Y";
        let n = libc::strftime(buf.as_mut_ptr().cast(), buf.len(), fmt.as_ptr(), &tm);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

impl Log for Logger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.filter.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.filter.matches(record) {
            return;
        }
        let msg = record.args().to_string();
        if self.console {
            let mut err = std::io::stderr().lock();
            let _ = writeln!(err, "{}: {}", ctime_now(), msg);
        }
        if self.syslog {
            let prio = match record.level() {
                log::Level::Error => libc::LOG_ERR,
                log::Level::Warn => libc::LOG_WARNING,
                log::Level::Info => libc::LOG_INFO,
                log::Level::Debug | log::Level::Trace => libc::LOG_DEBUG,
            };
            if let Ok(c) = CString::new(msg.replace('\0', " ")) {
                // SAFETY: both strings are valid and NUL-terminated; "%s" consumes exactly one.
                unsafe { libc::syslog(prio, c"%s".as_ptr(), c.as_ptr()) };
            }
        }
    }

    fn flush(&self) {}
}

/// Install the logger. Call once, before anything logs.
pub fn init(opts: &LogOptions) -> Result<()> {
    let facility = match &opts.facility {
        Some(f) => parse_facility(f)?,
        None => libc::LOG_DAEMON,
    };
    let level = if opts.detail { LevelFilter::Debug } else { LevelFilter::Info };
    let mut builder = env_logger::Builder::new();
    builder.filter_level(level);
    if let Ok(spec) = std::env::var("RUST_LOG") {
        builder.parse_filters(&spec);
    }
    let syslog = !opts.no_syslog;
    if syslog {
        // SAFETY: the ident must outlive every syslog call: a 'static C string literal does.
        unsafe { libc::openlog(c"Keepalived".as_ptr(), libc::LOG_PID, facility) };
    }
    let logger = Logger { filter: builder.build(), console: opts.console, syslog };
    let max = logger.filter.filter();
    log::set_boxed_logger(Box::new(logger))?;
    log::set_max_level(max);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facilities() {
        assert_eq!(parse_facility("0").unwrap(), libc::LOG_LOCAL0);
        assert_eq!(parse_facility("7").unwrap(), libc::LOG_LOCAL7);
        assert_eq!(parse_facility("local3").unwrap(), libc::LOG_LOCAL3);
        assert_eq!(parse_facility("user").unwrap(), libc::LOG_USER);
        assert_eq!(parse_facility("daemon").unwrap(), libc::LOG_DAEMON);
        assert!(parse_facility("8").is_err());
        assert!(parse_facility("local8").is_err());
        assert!(parse_facility("kern").is_err());
        assert!(parse_facility("03").is_err());
    }

    #[test]
    fn ctime_shape() {
        let t = ctime_now();
        // e.g. "Tue Nov 24 13:24:06 2026"
        assert_eq!(t.len(), 24, "{t}");
        assert_eq!(&t[13..14], ":");
    }
}
