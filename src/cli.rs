//! The command line, with keepalived 2.2.7's options (`keepalived --help`, man 8 keepalived).

use std::path::PathBuf;

use clap::{ArgAction, Parser};

pub const DEFAULT_CONFIG: &str = "/etc/keepalived/keepalived.conf";

/// The first line is what exporters parse; it must stay keepalived's.
pub const VERSION_LINE: &str = "Keepalived v2.2.7 (01/16,2022)";

#[derive(Parser, Debug, Clone, Default)]
#[command(
    name = "keepalived",
    disable_version_flag = true,
    about = "VRRP failover, IPVS virtual servers and health checks (drop-in for keepalived 2.2.7)"
)]
pub struct Cli {
    /// Use the specified configuration file
    #[arg(short = 'f', long = "use-file", value_name = "FILE", default_value = DEFAULT_CONFIG)]
    pub use_file: PathBuf,
    /// Only run with VRRP subsystem
    #[arg(short = 'P', long = "vrrp")]
    pub vrrp: bool,
    /// Only run with Health-checker subsystem
    #[arg(short = 'C', long = "check")]
    pub check: bool,
    /// Don't run BFD subsystem
    #[arg(short = 'B', long = "no_bfd")]
    pub no_bfd: bool,
    /// Force all child processes to run, even if have no configuration
    #[arg(long = "all")]
    pub all: bool,
    /// Log messages to local console
    #[arg(short = 'l', long = "log-console")]
    pub log_console: bool,
    /// Detailed log messages
    #[arg(short = 'D', long = "log-detail")]
    pub log_detail: bool,
    /// Set syslog facility to LOG_LOCAL[0-7], user or daemon (default)
    #[arg(short = 'S', long = "log-facility", value_name = "([0-7]|local[0-7]|user|daemon)")]
    pub log_facility: Option<String>,
    /// Don't log via syslog
    #[arg(short = 'G', long = "no-syslog")]
    pub no_syslog: bool,
    /// umask for file creation (in numeric form)
    #[arg(short = 'u', long = "umask", value_name = "MASK")]
    pub umask: Option<String>,
    /// Drop VIP on transition from signal
    #[arg(short = 'X', long = "release-vips")]
    pub release_vips: bool,
    /// Don't remove VRRP VIPs and VROUTEs on daemon stop
    #[arg(short = 'V', long = "dont-release-vrrp")]
    pub dont_release_vrrp: bool,
    /// Don't remove IPVS topology on daemon stop
    #[arg(short = 'I', long = "dont-release-ipvs")]
    pub dont_release_ipvs: bool,
    /// Don't respawn child processes
    #[arg(short = 'R', long = "dont-respawn")]
    pub dont_respawn: bool,
    /// Don't fork the daemon process
    #[arg(short = 'n', long = "dont-fork")]
    pub dont_fork: bool,
    /// Dump the configuration data
    #[arg(short = 'd', long = "dump-conf")]
    pub dump_conf: bool,
    /// Use specified pidfile for parent process
    #[arg(short = 'p', long = "pid", value_name = "FILE")]
    pub pid: Option<PathBuf>,
    /// Use specified pidfile for VRRP child process
    #[arg(short = 'r', long = "vrrp_pid", value_name = "FILE")]
    pub vrrp_pid: Option<PathBuf>,
    /// Use specified pidfile for checkers child process
    #[arg(short = 'c', long = "checkers_pid", value_name = "FILE")]
    pub checkers_pid: Option<PathBuf>,
    /// Use specified pidfile for BFD child process
    #[arg(short = 'b', long = "bfd_pid", value_name = "FILE")]
    pub bfd_pid: Option<PathBuf>,
    /// Report all address additions/deletions notified via netlink
    #[arg(short = 'a', long = "address-monitoring")]
    pub address_monitoring: bool,
    /// Run in network namespace NAME (overrides config)
    #[arg(short = 's', long = "namespace", value_name = "NAME")]
    pub namespace: Option<String>,
    /// Produce core dump if terminate abnormally
    #[arg(short = 'm', long = "core-dump")]
    pub core_dump: bool,
    /// Error if any configuration file missing (same as includet)
    #[arg(short = 'e', long = "all-config")]
    pub all_config: bool,
    /// Skip any configuration lines beginning '@' that don't match id
    #[arg(short = 'i', long = "config-id", value_name = "id")]
    pub config_id: Option<String>,
    /// Return signal number for STOP, RELOAD, DATA, STATS, STATS_CLEAR, JSON
    #[arg(long = "signum", value_name = "SIGFUNC")]
    pub signum: Option<String>,
    /// Check the configuration for obvious errors, output to stderr by default
    #[arg(short = 't', long = "config-test", value_name = "LOG_FILE", num_args = 0..=1,
          require_equals = true, default_missing_value = "")]
    pub config_test: Option<String>,
    /// Display the version number
    #[arg(short = 'v', long = "version", action = ArgAction::SetTrue)]
    pub version: bool,
}

impl Cli {
    /// Where `-t` writes its report: `None` for stderr.
    pub fn config_test_log(&self) -> Option<PathBuf> {
        match self.config_test.as_deref() {
            None | Some("") => None,
            Some(f) => Some(PathBuf::from(f)),
        }
    }
}

/// `--signum=SIGFUNC`: the signal keepalived uses for each function (values from Linux/x86-64).
pub fn signum(func: &str) -> Option<i32> {
    match func {
        "STOP" => Some(libc::SIGTERM),
        "RELOAD" => Some(libc::SIGHUP),
        "DATA" => Some(libc::SIGUSR1),
        "STATS" => Some(libc::SIGUSR2),
        "STATS_CLEAR" => Some(libc::SIGRTMAX() - 1),
        "JSON" => Some(libc::SIGRTMIN() + 2),
        _ => None,
    }
}

pub fn version_text() -> String {
    format!(
        "{VERSION_LINE}\n\
         This is keepalived-rs {}, a Rust reimplementation of keepalived; the line above states the \
         keepalived release whose behaviour it follows.\n",
        env!("CARGO_PKG_VERSION")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("keepalived").chain(args.iter().copied()))
    }

    #[test]
    fn keepalived_flags() {
        let c = parse(&["-f", "/x.conf", "-P", "-l", "-D", "-S", "local3", "-n", "-d", "-p", "/p"]).unwrap();
        assert_eq!(c.use_file, PathBuf::from("/x.conf"));
        assert!(c.vrrp && c.log_console && c.log_detail && c.dont_fork && c.dump_conf);
        assert_eq!(c.log_facility.as_deref(), Some("local3"));
        assert_eq!(c.pid, Some(PathBuf::from("/p")));
        let c = parse(&["--use-file=/y", "--check", "--vrrp_pid=/r", "--checkers_pid", "/c"]).unwrap();
        assert!(c.check);
        assert_eq!(c.vrrp_pid, Some(PathBuf::from("/r")));
        assert_eq!(c.checkers_pid, Some(PathBuf::from("/c")));
        assert_eq!(parse(&[]).unwrap().use_file, PathBuf::from(DEFAULT_CONFIG));
    }

    #[test]
    fn config_test_optional_value() {
        let c = parse(&["-t", "-f", "a"]).unwrap();
        assert_eq!(c.config_test.as_deref(), Some(""));
        assert_eq!(c.config_test_log(), None);
        let c = parse(&["--config-test=/tmp/log", "-f", "a"]).unwrap();
        assert_eq!(c.config_test_log(), Some(PathBuf::from("/tmp/log")));
        assert!(parse(&["-f", "a"]).unwrap().config_test.is_none());
    }

    #[test]
    fn unknown_flag_is_an_error() {
        let e = parse(&["--bogus"]).unwrap_err();
        assert_eq!(e.kind(), clap::error::ErrorKind::UnknownArgument);
    }

    #[test]
    fn signums_match_keepalived() {
        assert_eq!(signum("STOP"), Some(15));
        assert_eq!(signum("RELOAD"), Some(1));
        assert_eq!(signum("DATA"), Some(10));
        assert_eq!(signum("STATS"), Some(12));
        assert_eq!(signum("STATS_CLEAR"), Some(63));
        assert_eq!(signum("JSON"), Some(36));
        assert_eq!(signum("TDATA"), None);
    }

    #[test]
    fn version_first_line() {
        assert!(version_text().starts_with("Keepalived v2.2.7 (01/16,2022)\n"));
    }
}
