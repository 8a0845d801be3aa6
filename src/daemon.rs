//! The daemon: one process that will run the VRRP and checker/IPVS subsystems from one config.
//!
//! keepalived forks a parent plus VRRP and checker children; we run everything in one process
//! (one tokio runtime) but keep its observable surface: the startup banner, pid files at the same
//! paths (the child pid files hold our pid, so `kill $(cat /run/keepalived_vrrp.pid)` still
//! works), and SIGTERM/SIGINT for a graceful stop.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use log::{error, info, warn};

use crate::cli::{Cli, VERSION_LINE};
use crate::config::global::FlushOnStop;
use crate::config::{self, Severity, SourceOptions};
use crate::director::{self, Director, StopMode};
use crate::ipvs::Timeouts;

pub const PID_FILE: &str = "/run/keepalived.pid";
pub const VRRP_PID_FILE: &str = "/run/keepalived_vrrp.pid";
pub const CHECKERS_PID_FILE: &str = "/run/keepalived_checkers.pid";

/// Which subsystems run (`-P` VRRP only, `-C` checkers only, default both).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subsystems {
    pub vrrp: bool,
    pub checkers: bool,
}

impl Subsystems {
    pub fn from_cli(cli: &Cli) -> Self {
        match (cli.vrrp, cli.check) {
            (true, false) => Subsystems { vrrp: true, checkers: false },
            (false, true) => Subsystems { vrrp: false, checkers: true },
            _ => Subsystems { vrrp: true, checkers: true },
        }
    }
}

/// The pid files this run writes, as keepalived names them.
pub fn pid_files(cli: &Cli, subs: Subsystems) -> Vec<PathBuf> {
    let mut v = vec![cli.pid.clone().unwrap_or_else(|| PID_FILE.into())];
    if subs.vrrp {
        v.push(cli.vrrp_pid.clone().unwrap_or_else(|| VRRP_PID_FILE.into()));
    }
    if subs.checkers {
        v.push(cli.checkers_pid.clone().unwrap_or_else(|| CHECKERS_PID_FILE.into()));
    }
    v
}

fn write_pid_file(path: &Path) -> Result<()> {
    std::fs::write(path, format!("{}\n", std::process::id()))
        .with_context(|| format!("cannot write pid file {}", path.display()))
}

/// Detach from the terminal as keepalived does without `-n`.
pub fn daemonize() -> Result<()> {
    // SAFETY: called before any thread (tokio runtime) exists, so fork is safe; the parent exits.
    unsafe {
        match libc::fork() {
            -1 => anyhow::bail!("fork failed: {}", std::io::Error::last_os_error()),
            0 => {}
            _ => libc::_exit(0),
        }
        if libc::setsid() == -1 {
            anyhow::bail!("setsid failed: {}", std::io::Error::last_os_error());
        }
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if null >= 0 {
            libc::dup2(null, 0);
            libc::dup2(null, 1);
            libc::dup2(null, 2);
            if null > 2 {
                libc::close(null);
            }
        }
    }
    Ok(())
}

/// Run the daemon until SIGTERM/SIGINT. Returns the process exit code.
pub fn run(cli: &Cli) -> Result<i32> {
    let subs = Subsystems::from_cli(cli);
    info!("Starting {VERSION_LINE} (keepalived-rs {})", env!("CARGO_PKG_VERSION"));
    let args: Vec<String> = std::env::args().map(|a| format!("'{a}'")).collect();
    info!("Command line: {}", args.join(" "));
    info!("Configuration file {}", cli.use_file.display());

    let opts = SourceOptions {
        config_id: cli.config_id.clone().unwrap_or_else(config::source::default_config_id),
        all_config: cli.all_config,
    };
    let t0 = std::time::Instant::now();
    let (cfg, diags) = config::load(&cli.use_file, &opts);
    log::debug!("Configuration loaded in {} ms", t0.elapsed().as_millis());
    for d in &diags.list {
        match d.severity {
            Severity::Warning => warn!("{d}"),
            _ => error!("{d}"),
        }
    }
    if diags.worst() == Some(Severity::Fatal) {
        error!("Stopped: the configuration has a fatal error");
        return Ok(config::diag::EXIT_CONFIG_FATAL);
    }
    if cli.dump_conf {
        for line in config::dump(&cfg).lines() {
            info!("{line}");
        }
    }

    // Signals first: a SIGTERM that arrives while (or just after) the table is programmed must
    // still stop us through the cleanup below, not kill us with the table left behind.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().context("tokio runtime")?;
    let stop_signals = {
        let _ctx = rt.enter();
        StopSignals::new()?
    };
    let pids = pid_files(cli, subs);
    for p in &pids {
        write_pid_file(p)?;
    }
    let mut director = if subs.checkers && !cfg.lvs.virtual_servers.is_empty() {
        // Inside the runtime: quorum_up scripts start here.
        let _ctx = rt.enter();
        match Director::start(&cfg, &director_options(&cfg)) {
            Ok(d) => Some(d),
            Err(e) => {
                error!("{e:#}");
                remove_files(&pids);
                return Ok(1);
            }
        }
    } else {
        None
    };
    let result = rt.block_on(async {
        info!("Startup complete");
        let vrrp = crate::vrrp::run_until(&cfg, subs.vrrp, stop_signals.wait());
        crate::check::engine::serve(&cfg, director.as_mut(), vrrp).await
    });
    if let Some(d) = director {
        // omega scripts start here; nobody waits for them, as in keepalived.
        let _ctx = rt.enter();
        d.stop(stop_mode(cli, &cfg));
    }
    remove_files(&pids);
    result?;
    info!("Stopped {VERSION_LINE}");
    Ok(0)
}

fn remove_files(paths: &[PathBuf]) {
    for p in paths {
        let _ = std::fs::remove_file(p);
    }
}

/// `lvs_flush` and `lvs_timeouts` from global_defs.
fn director_options(cfg: &config::Config) -> director::Options {
    let t = &cfg.global.lvs_timeouts;
    let secs = |d: Option<std::time::Duration>| d.map(|d| d.as_secs() as u32).unwrap_or(0);
    let timeouts = (t.tcp.is_some() || t.tcpfin.is_some() || t.udp.is_some()).then(|| Timeouts {
        tcp: secs(t.tcp),
        tcp_fin: secs(t.tcpfin),
        udp: secs(t.udp),
    });
    director::Options { flush_at_start: cfg.global.lvs_flush, timeouts }
}

/// `-I` keeps the table; `lvs_flush_on_stop` flushes it whole; otherwise our entries go one by one
/// (`lvs_flush_on_stop VS` removes only ours too).
fn stop_mode(cli: &Cli, cfg: &config::Config) -> StopMode {
    if cli.dont_release_ipvs {
        StopMode::Keep
    } else if cfg.global.lvs_flush_on_stop == FlushOnStop::All {
        StopMode::Flush
    } else {
        StopMode::Remove
    }
}

/// SIGTERM/SIGINT handlers, installed before start-up work; a signal received before
/// [`StopSignals::wait`] is kept until then.
struct StopSignals {
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Must be called inside the runtime's context.
    fn new() -> Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        Ok(StopSignals {
            term: signal(SignalKind::terminate()).context("SIGTERM handler")?,
            int: signal(SignalKind::interrupt()).context("SIGINT handler")?,
        })
    }

    async fn wait(mut self) -> Result<()> {
        tokio::select! {
            _ = self.term.recv() => info!("Received SIGTERM, stopping"),
            _ = self.int.recv() => info!("Received SIGINT, stopping"),
        }
        Ok(())
    }
}
