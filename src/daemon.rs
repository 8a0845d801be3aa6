//! The daemon: one process that will run the VRRP and checker/IPVS subsystems from one config.
//!
//! keepalived forks a parent plus VRRP and checker children; we run everything in one process
//! (one tokio runtime) but keep its observable surface: the startup banner, pid files at the same
//! paths (the child pid files hold our pid, so `kill $(cat /run/keepalived_vrrp.pid)` still
//! works), and SIGTERM/SIGINT for a graceful stop,
//! systemd's `Type=notify` readiness, SIGHUP (validated, not applied yet) and SIGUSR1 (data dump).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use log::{error, info, warn};
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::check::engine::Checkers;
use crate::cli::{Cli, VERSION_LINE};
use crate::config::global::FlushOnStop;
use crate::config::{self, Severity, SourceOptions};
use crate::director::{self, Director, StopMode};
use crate::ipvs::Timeouts;
use crate::systemd::Notifier;

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
    let (mut cfg, diags) = config::load(&cli.use_file, &opts);
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
    let signals = {
        let _ctx = rt.enter();
        Signals::new()?
    };
    let notifier = Notifier::from_env();
    let pids = pid_files(cli, subs);
    for p in &pids {
        write_pid_file(p)?;
    }
    // With checkers, the LVS section leaves the config: the director keeps it (shared with the
    // signal handlers, which dump it), the checkers take what they need, and one copy is held.
    let mut lvs = None;
    let mut checkers = None;
    let mut director = if subs.checkers && !cfg.lvs.virtual_servers.is_empty() {
        // Inside the runtime: quorum_up scripts start here, and the ha_suspend address watch.
        let _ctx = rt.enter();
        checkers = Some(Checkers::prepare(&cfg));
        let shared = Arc::new(std::mem::take(&mut cfg.lvs));
        lvs = Some(shared.clone());
        match Director::start(shared, &director_options(&cfg)) {
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
    release_free_memory();
    let vrrp_stats = crate::vrrp::stats::Registry::default();
    let (reload_tx, reload_rx) = tokio::sync::mpsc::unbounded_channel();
    let (lvs_tx, mut lvs_rx) = tokio::sync::mpsc::unbounded_channel();
    let live = Live {
        cli,
        opts: &opts,
        running: std::cell::RefCell::new(None),
        initial: &cfg,
        lvs: lvs.as_deref(),
        lvs_reload: director.is_some().then_some(lvs_tx),
        notifier: &notifier,
        vrrp_stats: subs.vrrp.then_some(&vrrp_stats),
        vrrp_reload: subs.vrrp.then_some(reload_tx),
    };
    let result = rt.block_on(async {
        info!("Startup complete");
        notifier.ready();
        let vrrp = crate::vrrp::run_until(&cfg, subs.vrrp, &vrrp_stats, Some(reload_rx), signals.until_stop(live));
        let (Some(mut checkers), Some(d)) = (checkers, director.as_mut()) else { return vrrp.await };
        // The checkers run until the stop, or until a reload brings a new LVS section: then
        // the director programs the difference and new checkers start from its state.
        enum Until<T> {
            Stop(T),
            Reload(Arc<config::Config>),
        }
        let mut vrrp = std::pin::pin!(vrrp);
        loop {
            let until = async {
                tokio::select! {
                    r = &mut vrrp => Until::Stop(r),
                    Some(new) = lvs_rx.recv() => Until::Reload(new),
                }
            };
            match checkers.serve(d, until).await {
                Until::Stop(r) => break r,
                Until::Reload(new) => {
                    checkers = Checkers::prepare(&new);
                    d.reload(Arc::new(new.lvs.clone()));
                    checkers.carry_state(|vs, rs| d.alive(vs, rs));
                }
            }
        }
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

/// Give the heap's free pages back to the kernel: parsing a large config leaves most of its
/// memory free but scattered between what is kept, where glibc does not return it by itself.
fn release_free_memory() {
    #[cfg(target_env = "gnu")]
    // SAFETY: malloc_trim only releases free memory of the allocator; no pointer is touched.
    unsafe {
        libc::malloc_trim(0);
    }
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

/// The signals keepalived answers, installed before start-up work: a signal received before
/// [`Signals::until_stop`] is kept until then. HUP/USR1/USR2 must never take their default action
/// (terminate): `systemctl reload keepalived` sends HUP, monitoring tools send USR1.
struct Signals {
    term: Signal,
    int: Signal,
    hup: Signal,
    usr1: Signal,
    usr2: Signal,
}

impl Signals {
    /// Must be called inside the runtime's context.
    fn new() -> Result<Self> {
        let on = |k: SignalKind, name: &str| signal(k).with_context(|| format!("{name} handler"));
        Ok(Signals {
            term: on(SignalKind::terminate(), "SIGTERM")?,
            int: on(SignalKind::interrupt(), "SIGINT")?,
            hup: on(SignalKind::hangup(), "SIGHUP")?,
            usr1: on(SignalKind::user_defined1(), "SIGUSR1")?,
            usr2: on(SignalKind::user_defined2(), "SIGUSR2")?,
        })
    }

    /// Answers HUP/USR1/USR2 until SIGTERM or SIGINT arrives.
    async fn until_stop(mut self, live: Live<'_>) -> Result<()> {
        loop {
            tokio::select! {
                _ = self.term.recv() => {
                    info!("Received SIGTERM, stopping");
                    break;
                }
                _ = self.int.recv() => {
                    info!("Received SIGINT, stopping");
                    break;
                }
                _ = self.hup.recv() => live.reload(),
                _ = self.usr1.recv() => live.dump_data(),
                _ = self.usr2.recv() => live.dump_stats(),
            }
        }
        live.notifier.stopping();
        Ok(())
    }
}

/// What the signal handlers need of the running daemon.
struct Live<'a> {
    cli: &'a Cli,
    opts: &'a SourceOptions,
    /// The configuration loaded at start, and the last one a reload applied (if any): what
    /// the next reload compares against, what USR1 dumps.
    initial: &'a config::Config,
    running: std::cell::RefCell<Option<std::sync::Arc<config::Config>>>,
    /// The LVS section the director started with (then `initial`'s own is empty).
    lvs: Option<&'a config::lvs::LvsConfig>,
    /// Where a reloaded configuration goes to the director and checkers; None without them.
    lvs_reload: Option<tokio::sync::mpsc::UnboundedSender<std::sync::Arc<config::Config>>>,
    notifier: &'a Notifier,
    /// The VRRP instances' counters; None when VRRP does not run (-C).
    vrrp_stats: Option<&'a crate::vrrp::stats::Registry>,
    /// Where a reloaded configuration goes to the VRRP runtime; None when VRRP does not run.
    vrrp_reload: Option<tokio::sync::mpsc::UnboundedSender<std::sync::Arc<config::Config>>>,
}

impl Live<'_> {
    /// The configuration in force (the last reloaded one, else the one loaded at start).
    fn with_running<T>(&self, f: impl FnOnce(&config::Config) -> T) -> T {
        match self.running.borrow().as_deref() {
            Some(c) => f(c),
            None => f(self.initial),
        }
    }

    /// The configuration in force, dumped.
    fn running_dump(&self) -> String {
        self.with_running(|r| config::dump_parts(r, self.lvs_in_force(r)))
    }

    /// The LVS section in force: a reloaded config's own (applied, or a copy of the one kept),
    /// else the one the director started with.
    fn lvs_in_force<'c>(&'c self, running: &'c config::Config) -> &'c config::lvs::LvsConfig {
        match self.running.borrow().is_some() {
            true => &running.lvs,
            false => self.lvs.unwrap_or(&running.lvs),
        }
    }

    /// SIGHUP. keepalived re-reads its config and applies the difference. We re-read and
    /// validate; a config with errors is refused whole (the running one stays). The VRRP
    /// section goes to the VRRP runtime (`vrrp::runtime::Generation::reload`), the LVS section
    /// to the director and checkers (`Director::reload`), each only when it changed.
    fn reload(&self) {
        info!("Reloading ...");
        self.notifier.reloading();
        info!("Configuration file {}", self.cli.use_file.display());
        let (cfg, diags) = config::load(&self.cli.use_file, self.opts);
        for d in &diags.list {
            match d.severity {
                Severity::Warning => warn!("{d}"),
                _ => error!("{d}"),
            }
        }
        // As at start, errors keepalived reports but runs with are applied; a fatal one (where
        // keepalived stops reading) or a script-security violation keeps the running config.
        if diags.worst().is_some_and(|s| s >= Severity::Security) {
            error!("Reload: {} has fatal errors; keeping the running configuration", self.cli.use_file.display());
            self.notifier.ready();
            return;
        }
        let sections = |c: &config::Config, l: &config::lvs::LvsConfig| {
            let (mut vrrp, mut lvs) = (String::new(), String::new());
            config::global::dump(&c.global, &mut vrrp);
            config::vrrp::dump(&c.vrrp, &mut vrrp);
            config::lvs::dump(l, &mut lvs);
            (vrrp, lvs)
        };
        let (vrrp_old, lvs_old) = self.with_running(|r| sections(r, self.lvs_in_force(r)));
        let (vrrp_new, lvs_new) = sections(&cfg, &cfg.lvs);
        if vrrp_old == vrrp_new && lvs_old == lvs_new {
            info!("Reload: configuration unchanged");
        }
        let mut cfg = cfg;
        let apply_lvs = lvs_old != lvs_new && self.lvs_reload.is_some();
        if lvs_old != lvs_new && !apply_lvs {
            // No director running (-P, or no virtual server at start): nothing to apply to.
            warn!(
                "Reload: the virtual servers of {} changed but no director is running; they take effect \
                 when keepalived restarts",
                self.cli.use_file.display()
            );
        }
        if !apply_lvs {
            // The LVS section in force stays (what USR1 dumps, what the next reload compares).
            cfg.lvs = self.with_running(|r| self.lvs_in_force(r).clone());
        }
        let cfg = std::sync::Arc::new(cfg);
        if apply_lvs && let Some(tx) = &self.lvs_reload {
            let _ = tx.send(cfg.clone());
        }
        if vrrp_old != vrrp_new
            && let Some(tx) = &self.vrrp_reload
        {
            let _ = tx.send(cfg.clone());
        }
        *self.running.borrow_mut() = Some(cfg);
        info!("Reload complete");
        self.notifier.ready();
    }

    /// SIGUSR2: the VRRP instances' counters to `$TMPDIR/keepalived.stats`, in keepalived's
    /// layout. keepalived's checker process has no statistics to print, nor have we with -C.
    fn dump_stats(&self) {
        let Some(stats) = self.vrrp_stats else {
            info!("SIGUSR2: no VRRP statistics (VRRP is not running)");
            return;
        };
        let path = tmp_dir().join("keepalived.stats");
        info!("Printing VRRP stats for process({}) on signal", std::process::id());
        if let Err(e) = write_private(&path, &stats.render()) {
            error!("cannot write {}: {e}", path.display());
        }
    }

    /// SIGUSR1: the running configuration to `$TMPDIR/keepalived.data` (default /tmp), as
    /// keepalived writes its data dump there.
    fn dump_data(&self) {
        let path = tmp_dir().join("keepalived.data");
        info!("Printing data for process({}) on signal to {}", std::process::id(), path.display());
        if let Err(e) = write_private(&path, &self.running_dump()) {
            error!("cannot write {}: {e}", path.display());
        }
    }
}

/// Where keepalived writes its signal dumps: `$TMPDIR`, default /tmp.
fn tmp_dir() -> PathBuf {
    std::env::var_os("TMPDIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/tmp"))
}

/// Writes a signal dump as keepalived does: created with mode 0600 (it may hold passwords).
fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())
}
