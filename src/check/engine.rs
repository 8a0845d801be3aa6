//! The checker engine: runs every checker on its own schedule and turns checker verdicts into
//! real-server health for the director.
//!
//! One future runs every checker: idle checkers wait in one timer heap for
//! `state::Checker::next_run()`, a running probe is polled when its own waker fires, and each
//! result feeds the checker's state machine. The engine owns the health sink (the director)
//! and keeps, per real server, how many of its checkers are down: a real server is alive iff
//! that count is 0 (keepalived's `num_failed_checkers`), so it goes down on its first failing
//! checker and comes back when the last one recovers.
//!
//! Dynamic checkers (MISC_CHECK with `misc_dynamic`, FILE_CHECK) also move the real server's
//! weight: each reports an offset from the configured weight, and the real server's effective
//! weight is the configured one plus the offsets of all its checkers, kept within 0..=i32::MAX
//! (the range of a configured `weight`).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use log::{error, info};
use tokio::sync::watch;
use tokio::time::Instant;

use super::state::{self, Transition};
use super::suspend::{self, Suspend};
use crate::config::Config;
use crate::config::checker::{Checker as CheckerCfg, CheckerKind};
use crate::config::lvs::VirtualServer;
use crate::config::vrrp::TrackFile;

/// Where real-server health goes (the director; a recorder in tests).
pub trait Health {
    fn set_alive(&mut self, vs: usize, rs: usize, alive: bool);
    /// The real server's effective weight changed (dynamic checkers). Called only on a change,
    /// and before the `set_alive(true)` of the same check, so a server comes back at its new
    /// weight in one step.
    fn set_weight(&mut self, vs: usize, rs: usize, weight: u32);
}

impl Health for crate::director::Director {
    fn set_alive(&mut self, vs: usize, rs: usize, alive: bool) {
        crate::director::Director::set_alive(self, vs, rs, alive)
    }
    fn set_weight(&mut self, vs: usize, rs: usize, weight: u32) {
        crate::director::Director::set_weight(self, vs, rs, weight)
    }
}

/// The largest weight a real server can have (keepalived's range for `weight`).
pub const MAX_WEIGHT: u32 = i32::MAX as u32;

pub type ProbeFuture<'a> = Pin<Box<dyn Future<Output = bool> + Send + 'a>>;

/// One health probe (TCP connect, HTTP GET, script run, ...).
pub trait Probe: Send + 'static {
    /// Run one check; true = success. Must finish on its own (each probe applies its timeout).
    fn check(&mut self) -> ProbeFuture<'_>;
    /// Consecutive successes a DOWN checker needs before it is UP again (HTTP: one per url).
    fn needed_up(&self) -> usize {
        1
    }
    /// Check the next url at once instead of after `delay_loop` while recovering.
    fn fast_recovery(&self) -> bool {
        false
    }
    /// How often a DOWN checker is re-checked (HTTP_GET: max(delay_before_retry, delay_loop)).
    fn down_interval(&self, t: &state::Timing) -> Duration {
        t.delay_loop
    }
    /// keepalived's log line when the checker comes UP.
    fn log_up(&self);
    /// The line for a first check that succeeds (no transition: checkers start up).
    fn log_first_up(&self) {
        self.log_up()
    }
    /// keepalived's log line when the checker goes DOWN; `first`: on its very first check.
    fn log_down(&self, retries: u32, first: bool);
    /// An intermediate failure (logged only with `log_all_failures`).
    fn log_failure(&self) {}
    /// A dynamic checker's current offset from the real server's `configured` weight, as of
    /// its last check (0 for the others). Read after every check; a change moves the weight.
    fn weight_offset(&self, _configured: u32) -> i64 {
        0
    }
}

/// A checker ready to run: where its verdict goes, its timing and its probe.
pub struct Spec {
    pub vs: usize,
    pub rs: usize,
    /// The real server's configured weight.
    pub weight: u32,
    pub timing: state::Timing,
    pub alpha: bool,
    pub warmup: Duration,
    pub log_all_failures: bool,
    pub probe: Box<dyn Probe>,
    /// ha_suspend: check only while the virtual server's address is local. Boxed: 88 bytes
    /// that most of 10,000 specs would carry for nothing.
    pub suspend: Option<Box<Suspend>>,
}

/// The DOWN line of the connection checkers: `failed.` on the first check or without
/// retries, else `failed after N retries.` (as 2.2.7 prints them).
pub fn log_failed(kind: &str, label: &str, retries: u32, first: bool) {
    if first || retries == 0 {
        info!("{kind} on service {label} failed.");
    } else {
        info!("{kind} on service {label} failed after {retries} retries.");
    }
}

/// Build a probe for each runnable checker of the config. BFD checkers follow another
/// subsystem and have no probe here yet; they are reported and never change state.
/// `ha_suspend` is not applied (see [`specs_with`]).
pub fn specs(cfg: &Config) -> Vec<Spec> {
    specs_with(cfg, None)
}

/// The addresses of the virtual servers with `ha_suspend` (fwmark and group services have none).
pub fn suspend_addrs(cfg: &Config) -> std::collections::BTreeSet<std::net::IpAddr> {
    use crate::config::lvs::VsKey;
    let addr = |v: &crate::config::lvs::VirtualServer| match v.key {
        VsKey::Addr { addr, .. } if v.ha_suspend => Some(addr),
        _ => None,
    };
    cfg.lvs.virtual_servers.iter().filter_map(addr).collect()
}

/// As [`specs`], with `ha_suspend` checkers following the local addresses in `addrs`.
pub fn specs_with(cfg: &Config, addrs: Option<&tokio::sync::watch::Receiver<suspend::Addrs>>) -> Vec<Spec> {
    build(cfg, addrs, &mut |level, msg| log::log!(level, "{msg}"))
}

/// The checkers of a config, built before the daemon drops what it no longer needs of the
/// config; their "Activating healthchecker" lines wait for [`Checkers::serve`], as keepalived
/// logs them once running.
pub struct Checkers {
    specs: Vec<Spec>,
    notes: Vec<(log::Level, String)>,
}

impl Checkers {
    /// Build the probes, and the ha_suspend address watch if any virtual server needs it (its
    /// task is spawned here: call inside a tokio runtime).
    pub fn prepare(cfg: &Config) -> Checkers {
        let watched = suspend_addrs(cfg);
        let addrs = (!watched.is_empty()).then(|| {
            let (tx, rx) = tokio::sync::watch::channel(Arc::new(suspend::local_addrs()));
            // Ends once every checker (each holds a receiver) is gone.
            tokio::spawn(suspend::watch_addrs(tx, watched));
            rx
        });
        let mut notes = Vec::new();
        let specs = build(cfg, addrs.as_ref(), &mut |level, msg| notes.push((level, msg)));
        Checkers { specs, notes }
    }

    /// After a reload: each real server's checkers start in the state the director carried
    /// over (`alive(vs, rs)`), a dead one's as failed until they succeed (as with alpha).
    pub fn carry_state(&mut self, alive: impl Fn(usize, usize) -> Option<bool>) {
        for s in &mut self.specs {
            if let Some(a) = alive(s.vs, s.rs) {
                s.alpha = !a;
            }
        }
    }

    /// Log the activation lines, then run the checkers against `health` until `stop`
    /// completes (see [`run`]).
    pub async fn serve<H: Health, F: Future>(self, health: &mut H, stop: F) -> F::Output {
        for (level, msg) in self.notes {
            log::log!(level, "{msg}");
        }
        run(self.specs, health, stop, Seed::from_clock()).await
    }
}

fn build(
    cfg: &Config,
    addrs: Option<&tokio::sync::watch::Receiver<suspend::Addrs>>,
    log: &mut dyn FnMut(log::Level, String),
) -> Vec<Spec> {
    use crate::config::lvs::VsKey;
    let global_log_all = cfg.global.checker_log_all_failures;
    let mut shared = Shared { cfg, tls: None };
    // Sized up front: with 10,000 checkers a doubling Vec holds up to twice the room, and
    // copies it on the way (the peak RSS counts both).
    let n = cfg.lvs.virtual_servers.iter().flat_map(|v| &v.real_servers).map(|r| r.checkers.len()).sum();
    let mut out = Vec::with_capacity(n);
    for (vi, vs) in cfg.lvs.virtual_servers.iter().enumerate() {
        for (ri, rs) in vs.real_servers.iter().enumerate() {
            for c in &rs.checkers {
                let c = super::file::schedule(c);
                let rs_label = vs.rs_label(rs);
                // 2.2.7 names the real server even when connect_ip/connect_port differ.
                let target = rs_label.clone();
                let misc_label = format!("{rs_label} VS {}", vs.label());
                let Some(probe) = probe_for(&mut shared, vs, &c, target, misc_label) else {
                    log(
                        log::Level::Warn,
                        format!("{} for service {rs_label} is not run by this version", c.kind.name()),
                    );
                    continue;
                };
                let suspend = match (&vs.key, addrs) {
                    (VsKey::Addr { addr, .. }, Some(rx)) if vs.ha_suspend => Some(Box::new(Suspend {
                        addr: *addr,
                        rx: rx.clone(),
                        rs_label: rs_label.clone(),
                        vs_label: vs.label(),
                    })),
                    _ => None,
                };
                // 2.2.7 says "Deactivating" for a checker that starts suspended.
                let what = if suspend.as_ref().is_none_or(|s| s.active()) { "Activating" } else { "Deactivating" };
                log(log::Level::Info, format!("{what} healthchecker for service {rs_label} for VS {}", vs.label()));
                out.push(Spec {
                    vs: vi,
                    rs: ri,
                    weight: rs.weight,
                    timing: state::Timing {
                        delay_loop: c.delay_loop,
                        retry: c.retry,
                        delay_before_retry: c.delay_before_retry,
                    },
                    alpha: c.alpha,
                    warmup: c.warmup,
                    log_all_failures: c.log_all_failures.unwrap_or(global_log_all),
                    probe,
                    suspend,
                });
            }
        }
    }
    out
}

/// What the probes of one config share: the root `track_file` blocks, and the SSL_GET client
/// context, built on first use (as keepalived: only when some SSL_GET needs it).
struct Shared<'a> {
    cfg: &'a Config,
    tls: Option<Option<Arc<rustls::ClientConfig>>>,
}

impl Shared<'_> {
    /// None when the root `SSL` block's files cannot be loaded (logged once).
    fn tls(&mut self) -> Option<Arc<rustls::ClientConfig>> {
        let cfg = self.cfg;
        self.tls
            .get_or_insert_with(|| match super::ssl::client_config(cfg.lvs.ssl.as_ref()) {
                Ok(c) => Some(c),
                Err(e) => {
                    // keepalived stops its checker process here; we run the other checkers.
                    error!("{e}");
                    error!("Error Initialize SSL, ctx Instance");
                    None
                }
            })
            .clone()
    }

    fn track_file(&self, name: &str) -> Option<&TrackFile> {
        self.cfg.vrrp.track_files.iter().find(|t| !t.removed && t.name == name)
    }
}

fn probe_for(
    shared: &mut Shared<'_>,
    vs: &VirtualServer,
    c: &CheckerCfg,
    target: String,
    misc_label: String,
) -> Option<Box<dyn Probe>> {
    Some(match &c.kind {
        CheckerKind::Tcp => Box::new(super::tcp::TcpProbe::new(c, target)),
        CheckerKind::Http(h) => Box::new(super::http::HttpProbe::new(c, h, target)),
        CheckerKind::Ssl(h) => Box::new(super::ssl::probe(c, h, target, shared.tls()?, vs.virtualhost.as_deref())),
        CheckerKind::File(f) => {
            let tf = shared.track_file(f.track_file.as_deref()?)?;
            Box::new(super::file::FileProbe::new(f, tf, target)?)
        }
        CheckerKind::Misc(m) => Box::new(super::misc::MiscProbe::new(m, misc_label, c.retry)?),
        CheckerKind::Smtp(s) => Box::new(super::smtp::SmtpProbe::new(c, s, target)),
        CheckerKind::Udp(u) => Box::new(super::udp::UdpProbe::new(c, u, target)),
        CheckerKind::Dns(d) => Box::new(super::udp::DnsProbe::new(c, d, target)),
        CheckerKind::Ping => Box::new(super::ping::PingProbe::new(c, target)),
        _ => return None,
    })
}

/// The engine's view of one real server.
#[derive(Default)]
struct RsState {
    vs: usize,
    rs: usize,
    /// Checkers currently down (keepalived's `num_failed_checkers`).
    failed: usize,
    configured: u32,
    /// Sum of its dynamic checkers' offsets.
    offset: i64,
    /// The effective weight last given to the health sink.
    weight: u32,
}

impl RsState {
    fn effective(&self) -> u32 {
        i64::from(self.configured).saturating_add(self.offset).clamp(0, i64::from(MAX_WEIGHT)) as u32
    }
}

/// Run the checkers of `cfg` against `health` until `stop` completes; returns its output.
/// Dropping the engine at the end stops every probe (child scripts are killed on drop).
pub async fn serve<H: Health, F: Future>(cfg: &Config, health: Option<&mut H>, stop: F) -> F::Output {
    match health {
        Some(h) => Checkers::prepare(cfg).serve(h, stop).await,
        None => stop.await,
    }
}

/// The engine proper, with the random source explicit so tests can fix the warmup spread.
///
/// One future runs every checker: idle checkers wait in one timer heap (one tokio sleep for
/// the earliest), a running check is polled only when its own waker fires. With 10,000
/// checkers this costs far less than a task per checker, in memory and in wake-ups.
pub async fn run<H: Health, F: Future>(specs: Vec<Spec>, health: &mut H, stop: F, mut rng: Seed) -> F::Output {
    let now = Instant::now();
    let mut e = Engine::new(specs, now, &mut rng);
    let mut stop = std::pin::pin!(stop);
    let mut timer = std::pin::pin!(tokio::time::sleep_until(now));
    // Unconstrained: the engine bounds its own work per poll (WORK_PER_POLL); tokio's budget
    // would otherwise make every probe polled after its 128th operation spuriously pending.
    tokio::task::unconstrained(std::future::poll_fn(move |cx| {
        if let Poll::Ready(out) = stop.as_mut().poll(cx) {
            // The engine is dropped with this future: every running probe with it.
            return Poll::Ready(out);
        }
        e.ready.set_parent(cx.waker());
        e.poll_watches(cx);
        // One clock read per poll, for the engine and the probes it polls (see coarse_now).
        let now = Instant::now();
        let _clock = CoarseClock::set(now);
        if e.work(now, health, WORK_PER_POLL) {
            // More to do: yield to the other tasks (VRRP, signals) and come back at once.
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if let Some(t) = e.timers.next() {
            if timer.deadline() != t {
                timer.as_mut().reset(t);
            }
            if timer.as_mut().poll(cx).is_ready() {
                cx.waker().wake_by_ref();
            }
        }
        Poll::Pending
    }))
    .await
}

thread_local! {
    static COARSE_NOW: std::cell::Cell<Option<Instant>> = const { std::cell::Cell::new(None) };
}

/// The time as of the engine's current poll when called from a probe it polls, else the clock.
/// Probes take their deadlines from it: reading the clock is a system call on some hosts (a VM
/// without a stable TSC), and the engine has read it already for this poll (as keepalived
/// reads it once per event loop turn).
pub fn coarse_now() -> Instant {
    COARSE_NOW.with(|c| c.get()).unwrap_or_else(Instant::now)
}

/// Sets [`coarse_now`] for the duration of one engine poll.
struct CoarseClock;

impl CoarseClock {
    fn set(now: Instant) -> CoarseClock {
        COARSE_NOW.with(|c| c.set(Some(now)));
        CoarseClock
    }
}

impl Drop for CoarseClock {
    fn drop(&mut self) {
        COARSE_NOW.with(|c| c.set(None));
    }
}

/// Checks started or completed per poll of the engine before it yields to other tasks.
const WORK_PER_POLL: usize = 256;

type Running = Pin<Box<dyn Future<Output = (Box<dyn Probe>, bool)> + Send>>;

/// One checker: its schedule and state machine, and its probe (moved into the running check).
struct Slot {
    /// Its real server in `Engine::servers`.
    server: u32,
    log_all_failures: bool,
    /// Consecutive successes a DOWN checker needs (HTTP: one per url).
    needed: u32,
    /// Successes in a row while DOWN.
    streak: u32,
    has_run: bool,
    /// ha_suspend: checks run only while `active`.
    active: bool,
    /// Its last weight offset (dynamic checkers).
    offset: i64,
    probe: Option<Box<dyn Probe>>,
    running: Option<Running>,
    st: state::Checker,
    suspend: Option<Box<Suspend>>,
    waker: Waker,
}

/// When each idle checker runs next, earliest first (ties: lowest index first).
#[derive(Default)]
struct Timers(BinaryHeap<Reverse<(Instant, usize)>>);

impl Timers {
    fn push(&mut self, t: Instant, i: usize) {
        self.0.push(Reverse((t, i)));
    }

    fn next(&self) -> Option<Instant> {
        self.0.peek().map(|Reverse((t, _))| *t)
    }

    /// The next checker due at or before `now`.
    fn pop_due(&mut self, now: Instant) -> Option<usize> {
        let &Reverse((t, i)) = self.0.peek()?;
        if t > now {
            return None;
        }
        self.0.pop();
        Some(i)
    }
}

/// The ha_suspend address watch shared by some checkers (in the daemon: all of them share one).
struct Watch {
    changed: Pin<Box<dyn Future<Output = Option<watch::Receiver<suspend::Addrs>>> + Send>>,
    members: Vec<usize>,
}

fn next_change(
    mut rx: watch::Receiver<suspend::Addrs>,
) -> Pin<Box<dyn Future<Output = Option<watch::Receiver<suspend::Addrs>>> + Send>> {
    Box::pin(async move { rx.changed().await.ok().map(|()| rx) })
}

struct Engine {
    slots: Vec<Slot>,
    servers: Vec<RsState>,
    timers: Timers,
    ready: Arc<ReadyList>,
    watches: Vec<Watch>,
}

impl Engine {
    fn new(specs: Vec<Spec>, now: Instant, rng: &mut Seed) -> Engine {
        let ready = Arc::new(ReadyList::new(specs.len()));
        let mut index: HashMap<(usize, usize), usize> = HashMap::new();
        let mut servers = Vec::with_capacity(specs.len());
        let mut slots = Vec::with_capacity(specs.len());
        let mut timers = Timers::default();
        let mut watches: Vec<Watch> = Vec::new();
        for (i, s) in specs.into_iter().enumerate() {
            let server = *index.entry((s.vs, s.rs)).or_insert_with(|| {
                servers.push(RsState {
                    vs: s.vs,
                    rs: s.rs,
                    configured: s.weight,
                    weight: s.weight,
                    ..RsState::default()
                });
                servers.len() - 1
            });
            if s.alpha
                && let Some(r) = servers.get_mut(server)
            {
                r.failed += 1;
            }
            let st = state::Checker::new(now, s.timing, s.alpha, rng.upto(s.warmup));
            timers.push(st.next_run(), i);
            if let Some(sus) = &s.suspend {
                match watches.iter_mut().find(|w| w.members.first().is_some_and(|&m| same_watch(&slots, m, sus))) {
                    Some(w) => w.members.push(i),
                    None => watches.push(Watch { changed: next_change(sus.rx.clone()), members: vec![i] }),
                }
            }
            slots.push(Slot {
                // Beyond u32 (never): an index that finds nothing, so the checker is inert.
                server: u32::try_from(server).unwrap_or(u32::MAX),
                log_all_failures: s.log_all_failures,
                needed: u32::try_from(s.probe.needed_up().max(1)).unwrap_or(u32::MAX),
                streak: 0,
                has_run: false,
                active: s.suspend.as_ref().is_none_or(|s| s.active()),
                offset: 0,
                probe: Some(s.probe),
                running: None,
                st,
                suspend: s.suspend,
                waker: Waker::from(Arc::new(SlotWaker { idx: i, ready: ready.clone() })),
            });
        }
        servers.shrink_to_fit();
        Engine { slots, servers, timers, ready, watches }
    }

    /// Checks woken or due by `now`, at most `budget` of them; true if some are left.
    fn work<H: Health>(&mut self, now: Instant, health: &mut H, budget: usize) -> bool {
        let mut budget = budget;
        loop {
            let mut did = false;
            for i in self.ready.take() {
                self.poll_check(i, now, health);
                budget = budget.saturating_sub(1);
                did = true;
            }
            while budget > 0
                && let Some(i) = self.timers.pop_due(now)
            {
                self.start_check(i, now, health);
                budget -= 1;
                did = true;
            }
            if budget == 0 {
                return true;
            }
            if !did {
                return false;
            }
        }
    }

    /// ha_suspend: apply address changes to the checkers that follow them.
    fn poll_watches(&mut self, cx: &mut Context<'_>) {
        let mut i = 0;
        while let Some(w) = self.watches.get_mut(i) {
            let Poll::Ready(rx) = w.changed.as_mut().poll(cx) else {
                i += 1;
                continue;
            };
            for &m in &w.members {
                let Some(slot) = self.slots.get_mut(m) else { continue };
                let Some(sus) = &slot.suspend else { continue };
                let now_active = sus.active();
                if now_active != slot.active {
                    sus.log(now_active);
                    slot.active = now_active;
                }
            }
            match rx {
                // Poll the new one at once: it registers its waker (or is ready again).
                Some(rx) => w.changed = next_change(rx),
                // The sender is gone: only the schedule matters from now on.
                None => {
                    self.watches.swap_remove(i);
                }
            }
        }
    }

    fn start_check<H: Health>(&mut self, i: usize, now: Instant, health: &mut H) {
        let Some(slot) = self.slots.get_mut(i) else { return };
        if !slot.active {
            // Suspended: the schedule goes on, the checks do not (the server's state stays).
            let next = now + slot.st.timing().delay_loop;
            slot.st.set_next(next);
            self.timers.push(next, i);
            return;
        }
        let Some(mut probe) = slot.probe.take() else { return };
        slot.running = Some(Box::pin(async move {
            let ok = probe.check().await;
            (probe, ok)
        }));
        self.poll_check(i, now, health);
    }

    /// Poll checker `i`'s running check (if any) with its own waker; act on its result, as of
    /// `now` (this poll's time: checks that end in one poll end together).
    fn poll_check<H: Health>(&mut self, i: usize, now: Instant, health: &mut H) {
        let Some(slot) = self.slots.get_mut(i) else { return };
        let Some(fut) = slot.running.as_mut() else { return };
        let Poll::Ready((probe, ok)) = fut.as_mut().poll(&mut Context::from_waker(&slot.waker)) else { return };
        slot.running = None;
        let Some(server) = self.servers.get_mut(slot.server as usize) else { return };
        // The weight first: a server coming back does so at its new weight, and the change is
        // applied before this check's own log line, in keepalived's order.
        let o = probe.weight_offset(server.configured);
        if o != slot.offset {
            server.offset = server.offset.saturating_add(o.saturating_sub(slot.offset));
            slot.offset = o;
            let w = server.effective();
            if w != server.weight {
                server.weight = w;
                health.set_weight(server.vs, server.rs, w);
            }
        }
        if let Some(up) = slot.on_result(probe.as_ref(), ok, now) {
            let was_alive = server.failed == 0;
            if up {
                server.failed = server.failed.saturating_sub(1);
            } else {
                server.failed += 1;
            }
            let alive = server.failed == 0;
            if alive != was_alive {
                health.set_alive(server.vs, server.rs, alive);
            }
        }
        self.timers.push(slot.st.next_run(), i);
        slot.probe = Some(probe);
    }
}

/// Whether `sus` follows the same address watch as checker `m`.
fn same_watch(slots: &[Slot], m: usize, sus: &Suspend) -> bool {
    slots.get(m).and_then(|s| s.suspend.as_ref()).is_some_and(|o| o.rx.same_channel(&sus.rx))
}

impl Slot {
    /// Feed one result to the state machine, log as keepalived does and set when the checker
    /// runs next. Returns the verdict change, if any (true = up).
    fn on_result(&mut self, probe: &dyn Probe, ok: bool, now: Instant) -> Option<bool> {
        let timing = *self.st.timing();
        if ok && !self.st.is_up() && self.streak.saturating_add(1) < self.needed {
            self.streak += 1;
            self.st.set_next(if probe.fast_recovery() { now } else { now + timing.delay_loop });
            self.has_run = true;
            return None;
        }
        self.streak = 0;
        let was_up = self.st.is_up();
        let first = !self.has_run;
        self.has_run = true;
        let verdict = match self.st.on_result(now, ok) {
            Some(Transition::Up) => {
                probe.log_up();
                Some(true)
            }
            Some(Transition::Down { retries }) => {
                probe.log_down(retries, first);
                Some(false)
            }
            // keepalived logs the first verdict of every checker, even without a change.
            None if first && ok => {
                probe.log_first_up();
                None
            }
            None if first && !ok && !was_up => {
                probe.log_down(timing.retry, true);
                None
            }
            None if !ok && was_up && self.log_all_failures => {
                probe.log_failure();
                None
            }
            None => None,
        };
        if !self.st.is_up() {
            self.st.set_next(now + probe.down_interval(&timing));
        }
        verdict
    }
}

/// Checkers whose running check was woken, for the engine's next poll. A checker is listed
/// once however often it is woken before that poll.
struct ReadyList {
    woken: Mutex<Vec<usize>>,
    queued: Box<[AtomicBool]>,
    engine: Mutex<Option<Waker>>,
}

impl ReadyList {
    fn new(n: usize) -> Self {
        ReadyList {
            woken: Mutex::new(Vec::new()),
            queued: (0..n).map(|_| AtomicBool::new(false)).collect(),
            engine: Mutex::new(None),
        }
    }

    fn push(&self, i: usize) {
        if self.queued.get(i).is_none_or(|q| q.swap(true, Ordering::AcqRel)) {
            return;
        }
        let first = match self.woken.lock() {
            Ok(mut w) => {
                w.push(i);
                w.len() == 1
            }
            Err(_) => false,
        };
        // The engine needs waking only for the first: it takes the whole list at once.
        if first
            && let Ok(e) = self.engine.lock()
            && let Some(w) = e.as_ref()
        {
            w.wake_by_ref();
        }
    }

    fn take(&self) -> Vec<usize> {
        let list = self.woken.lock().map(|mut w| std::mem::take(&mut *w)).unwrap_or_default();
        for &i in &list {
            if let Some(q) = self.queued.get(i) {
                q.store(false, Ordering::Release);
            }
        }
        list
    }

    fn set_parent(&self, w: &Waker) {
        if let Ok(mut e) = self.engine.lock()
            && !e.as_ref().is_some_and(|old| old.will_wake(w))
        {
            *e = Some(w.clone());
        }
    }
}

struct SlotWaker {
    idx: usize,
    ready: Arc<ReadyList>,
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.ready.push(self.idx);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.push(self.idx);
    }
}

/// A small xorshift generator for the warmup spread: no crate for one random number per checker.
pub struct Seed(u64);

impl Seed {
    pub fn new(seed: u64) -> Self {
        Seed(seed | 1)
    }

    fn from_clock() -> Self {
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        Seed::new(t as u64 ^ u64::from(std::process::id()) << 32)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    pub fn byte(&mut self) -> u8 {
        (self.next() >> 24) as u8
    }

    /// Uniform-ish in `0..=max`, at microsecond resolution as keepalived's timers.
    pub fn upto(&mut self, max: Duration) -> Duration {
        let us = max.as_micros() as u64;
        if us == 0 {
            return Duration::ZERO;
        }
        Duration::from_micros(self.next() % (us.saturating_add(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::VecDeque;
    use std::sync::{Arc, Mutex};

    /// A probe that answers from a script (then keeps the last answer) and records when it ran.
    struct Scripted {
        answers: VecDeque<bool>,
        last: bool,
        runs: Arc<Mutex<Vec<Instant>>>,
        needed: usize,
        cost: Duration,
        down_every: Option<Duration>,
    }

    impl Probe for Scripted {
        fn check(&mut self) -> ProbeFuture<'_> {
            Box::pin(async move {
                self.runs.lock().unwrap().push(Instant::now());
                tokio::time::sleep(self.cost).await;
                if let Some(a) = self.answers.pop_front() {
                    self.last = a;
                }
                self.last
            })
        }
        fn needed_up(&self) -> usize {
            self.needed
        }
        fn down_interval(&self, t: &state::Timing) -> Duration {
            self.down_every.unwrap_or(t.delay_loop)
        }
        fn log_up(&self) {}
        fn log_down(&self, _: u32, _: bool) {}
    }

    /// Records health changes (time since `1`, vs, rs, alive) and weight changes in `2`.
    #[derive(Default)]
    struct Rec(Vec<(Duration, usize, usize, bool)>, Option<Instant>, Vec<(Duration, usize, usize, u32)>);

    impl Rec {
        fn at(t0: Instant) -> Self {
            Rec(Vec::new(), Some(t0), Vec::new())
        }
    }

    impl Health for Rec {
        fn set_alive(&mut self, vs: usize, rs: usize, alive: bool) {
            let t0 = self.1.unwrap_or_else(Instant::now);
            self.0.push((Instant::now() - t0, vs, rs, alive));
        }
        fn set_weight(&mut self, vs: usize, rs: usize, weight: u32) {
            let t0 = self.1.unwrap_or_else(Instant::now);
            self.2.push((Instant::now() - t0, vs, rs, weight));
        }
    }

    const T: state::Timing =
        state::Timing { delay_loop: Duration::from_secs(6), retry: 2, delay_before_retry: Duration::from_secs(3) };

    fn spec(rs: usize, answers: &[bool], runs: &Arc<Mutex<Vec<Instant>>>) -> Spec {
        Spec {
            vs: 0,
            rs,
            weight: 1,
            timing: T,
            alpha: false,
            warmup: Duration::ZERO,
            log_all_failures: false,
            probe: Box::new(Scripted {
                answers: answers.iter().copied().collect(),
                last: true,
                runs: runs.clone(),
                needed: 1,
                cost: Duration::ZERO,
                down_every: None,
            }),
            suspend: None,
        }
    }

    fn rel(runs: &Arc<Mutex<Vec<Instant>>>, t0: Instant) -> Vec<u64> {
        runs.lock().unwrap().iter().map(|t| (*t - t0).as_secs()).collect()
    }

    #[tokio::test(start_paused = true)]
    async fn schedule_bootstrap_delay_loop_and_retries() {
        let runs = Arc::new(Mutex::new(Vec::new()));
        let t0 = Instant::now();
        let mut rec = Rec::at(t0);
        // ok at 1, fail at 7, retries at 10 and 13 -> down at 13, then every 6 s; ok at 19 -> up.
        let s = spec(0, &[true, false, false, false, true], &runs);
        run(vec![s], &mut rec, tokio::time::sleep(Duration::from_secs(26)), Seed::new(1)).await;
        assert_eq!(rel(&runs, t0), [1, 7, 10, 13, 19, 25]);
        let secs: Vec<_> = rec.0.iter().map(|(d, _, rs, a)| (d.as_secs(), *rs, *a)).collect();
        assert_eq!(secs, [(13, 0, false), (19, 0, true)]);
    }

    #[tokio::test(start_paused = true)]
    async fn first_failure_after_start_is_enough_without_alpha() {
        let runs = Arc::new(Mutex::new(Vec::new()));
        let t0 = Instant::now();
        let mut rec = Rec::at(t0);
        run(vec![spec(0, &[false], &runs)], &mut rec, tokio::time::sleep(Duration::from_secs(2)), Seed::new(1)).await;
        assert_eq!(rec.0.len(), 1);
        assert_eq!(rec.0[0].0, Duration::from_secs(1));
        assert!(!rec.0[0].3);
    }

    #[tokio::test(start_paused = true)]
    async fn real_server_alive_iff_all_checkers_up() {
        let r1 = Arc::new(Mutex::new(Vec::new()));
        let r2 = Arc::new(Mutex::new(Vec::new()));
        let t0 = Instant::now();
        let mut rec = Rec::at(t0);
        // Checker A fails at 1 (down at once); B fails at 7 -> 13 down; A recovers at 7; B at 19.
        let a = spec(0, &[false, true], &r1);
        let b = spec(0, &[true, false, false, false, true], &r2);
        run(vec![a, b], &mut rec, tokio::time::sleep(Duration::from_secs(30)), Seed::new(1)).await;
        let secs: Vec<_> = rec.0.iter().map(|(d, _, _, a)| (d.as_secs(), *a)).collect();
        // Down at 1 (A); A up at 7 but B fails from 7 (down at 13) -> RS stays... A up at 7 makes
        // the RS alive (B still up until 13), then down at 13, up at 19.
        assert_eq!(secs, [(1, false), (7, true), (13, false), (19, true)]);
    }

    #[tokio::test(start_paused = true)]
    async fn alpha_real_server_comes_up_on_first_success() {
        let runs = Arc::new(Mutex::new(Vec::new()));
        let t0 = Instant::now();
        let mut rec = Rec::at(t0);
        let mut s = spec(3, &[false, true], &runs);
        s.alpha = true;
        run(vec![s], &mut rec, tokio::time::sleep(Duration::from_secs(10)), Seed::new(1)).await;
        assert_eq!(rel(&runs, t0), [1, 7]);
        assert_eq!(rec.0, [(Duration::from_secs(7), 0, 3, true)]);
    }

    #[tokio::test(start_paused = true)]
    async fn warmup_spreads_the_first_check() {
        let runs = Arc::new(Mutex::new(Vec::new()));
        let t0 = Instant::now();
        let mut rec = Rec::default();
        let specs: Vec<_> = (0..20)
            .map(|i| {
                let mut s = spec(i, &[], &runs);
                s.warmup = Duration::from_secs(5);
                s
            })
            .collect();
        run(specs, &mut rec, tokio::time::sleep(Duration::from_millis(6500)), Seed::new(42)).await;
        let firsts: Vec<_> = runs.lock().unwrap().iter().map(|t| *t - t0).collect();
        assert_eq!(firsts.len(), 20, "each ran once within 1 s + warmup");
        assert!(firsts.iter().all(|d| *d >= Duration::from_secs(1) && *d <= Duration::from_secs(6)));
        let distinct: std::collections::BTreeSet<_> = firsts.iter().collect();
        assert!(distinct.len() > 10, "the spread is random: {firsts:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn slow_probe_delays_the_next_run_from_its_end() {
        let runs = Arc::new(Mutex::new(Vec::new()));
        let t0 = Instant::now();
        let mut rec = Rec::default();
        let mut s = spec(0, &[], &runs);
        s.alpha = true;
        s.probe = Box::new(Scripted {
            answers: [true, false, false].into_iter().collect(),
            last: false,
            runs: runs.clone(),
            needed: 1,
            cost: Duration::from_secs(2),
            down_every: None,
        });
        // alpha: run at 1 (ok, ends 3, up), next at 9 (fails, ends 11), retry at 14, 19.
        run(vec![s], &mut rec, tokio::time::sleep(Duration::from_secs(20)), Seed::new(1)).await;
        assert_eq!(rel(&runs, t0), [1, 9, 14, 19]);
    }

    #[tokio::test(start_paused = true)]
    async fn multi_url_recovery_needs_every_url() {
        let runs = Arc::new(Mutex::new(Vec::new()));
        let t0 = Instant::now();
        let mut rec = Rec::at(t0);
        let mut s = spec(0, &[], &runs);
        s.timing.retry = 0;
        s.probe = Box::new(Scripted {
            answers: [false, true, true, true].into_iter().collect(),
            last: true,
            runs: runs.clone(),
            needed: 3,
            cost: Duration::ZERO,
            down_every: None,
        });
        run(vec![s], &mut rec, tokio::time::sleep(Duration::from_secs(20)), Seed::new(1)).await;
        let secs: Vec<_> = rec.0.iter().map(|(d, _, _, a)| (d.as_secs(), *a)).collect();
        // Down at 1; successes at 7, 13, 19: up after the third url.
        assert_eq!(secs, [(1, false), (19, true)]);
    }

    #[tokio::test(start_paused = true)]
    async fn down_interval_is_the_probes() {
        let runs = Arc::new(Mutex::new(Vec::new()));
        let t0 = Instant::now();
        let mut rec = Rec::default();
        let mut s = spec(0, &[], &runs);
        s.timing.retry = 0;
        s.probe = Box::new(Scripted {
            answers: [false].into_iter().collect(),
            last: false,
            runs: runs.clone(),
            needed: 1,
            cost: Duration::ZERO,
            down_every: Some(Duration::from_secs(10)),
        });
        run(vec![s], &mut rec, tokio::time::sleep(Duration::from_secs(25)), Seed::new(1)).await;
        assert_eq!(rel(&runs, t0), [1, 11, 21]);
    }

    /// A dynamic probe: each check answers (ok, weight asked for; None = back to configured),
    /// misc_dynamic's way (a failure keeps the last weight).
    struct Dynamic {
        answers: VecDeque<(bool, Option<u32>)>,
        weight: Option<u32>,
        alive_at_weight: Arc<Mutex<Vec<Option<u32>>>>,
    }

    impl Probe for Dynamic {
        fn check(&mut self) -> ProbeFuture<'_> {
            Box::pin(async move {
                let (ok, w) = self.answers.pop_front().unwrap_or((true, self.weight));
                if ok {
                    self.weight = w;
                }
                self.alive_at_weight.lock().unwrap().push(self.weight);
                ok
            })
        }
        fn weight_offset(&self, configured: u32) -> i64 {
            self.weight.map_or(0, |w| i64::from(w) - i64::from(configured))
        }
        fn log_up(&self) {}
        fn log_down(&self, _: u32, _: bool) {}
    }

    fn dynamic(rs: usize, weight: u32, answers: &[(bool, Option<u32>)]) -> Spec {
        let mut s = spec(rs, &[], &Arc::new(Mutex::new(Vec::new())));
        s.weight = weight;
        s.timing.retry = 0;
        s.probe = Box::new(Dynamic {
            answers: answers.iter().copied().collect(),
            weight: None,
            alive_at_weight: Arc::new(Mutex::new(Vec::new())),
        });
        s
    }

    /// Checks at 1, 7, 13, ...: weight 8, back to configured 5, down (weight kept), up at 20.
    /// The weight moves before the server comes back, and only changes are reported.
    #[tokio::test(start_paused = true)]
    async fn dynamic_weight_reaches_health_before_the_server_comes_back() {
        let t0 = Instant::now();
        let mut rec = Rec::at(t0);
        let s = dynamic(2, 5, &[(true, Some(8)), (true, Some(8)), (true, None), (false, None), (true, Some(20))]);
        run(vec![s], &mut rec, tokio::time::sleep(Duration::from_secs(30)), Seed::new(1)).await;
        let w: Vec<_> = rec.2.iter().map(|(d, _, rs, w)| (d.as_secs(), *rs, *w)).collect();
        assert_eq!(w, [(1, 2, 8), (13, 2, 5), (25, 2, 20)]);
        let a: Vec<_> = rec.0.iter().map(|(d, _, _, a)| (d.as_secs(), *a)).collect();
        assert_eq!(a, [(19, false), (25, true)]);
    }

    /// Two dynamic checkers on one server add their offsets to the configured weight (2.2.7:
    /// weight 3, exits 12 and 7 -> 3 + 7 + 2 = 12), and the sum never goes below 0.
    #[tokio::test(start_paused = true)]
    async fn offsets_of_several_checkers_add_up_and_are_clamped() {
        let t0 = Instant::now();
        let mut rec = Rec::at(t0);
        let a = dynamic(0, 3, &[(true, Some(10)), (true, Some(10)), (true, Some(0))]);
        let mut b = dynamic(0, 3, &[(true, None), (true, Some(5)), (true, Some(0))]);
        b.timing.delay_loop = Duration::from_secs(6);
        run(vec![a, b], &mut rec, tokio::time::sleep(Duration::from_secs(14)), Seed::new(1)).await;
        let w: Vec<_> = rec.2.iter().map(|(d, _, _, w)| (d.as_secs(), *w)).collect();
        // 1: 3+7 = 10; 7: 10+2 = 12; 13: a -> -3 (3-3+2 = 2), then b -> -3: 3-3-3 < 0 -> 0.
        assert_eq!(w, [(1, 10), (7, 12), (13, 2), (13, 0)]);
    }

    /// ha_suspend: no check while the address is absent, checks from the next tick once it
    /// comes, none again after it goes; the server keeps its state meanwhile.
    #[tokio::test(start_paused = true)]
    async fn suspended_checkers_skip_checks_until_the_address_is_local() {
        let runs = Arc::new(Mutex::new(Vec::new()));
        let t0 = Instant::now();
        let mut rec = Rec::at(t0);
        let vip: std::net::IpAddr = [10, 9, 9, 9].into();
        let (tx, rx) = tokio::sync::watch::channel(suspend::Addrs::default());
        let mut s = spec(0, &[false, true, false], &runs);
        s.suspend = Some(Box::new(Suspend { addr: vip, rx, rs_label: "rs".into(), vs_label: "vs".into() }));
        let scenario = async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            tx.send(std::sync::Arc::new([vip].into())).unwrap();
            tokio::time::sleep(Duration::from_secs(10)).await;
            tx.send(suspend::Addrs::default()).unwrap();
            tokio::time::sleep(Duration::from_secs(20)).await;
        };
        run(vec![s], &mut rec, scenario, Seed::new(1)).await;
        // Ticks at 1 (suspended), 7 (fails: down), 13 (ok: up); suspended from 15 on.
        assert_eq!(rel(&runs, t0), [7, 13]);
        let a: Vec<_> = rec.0.iter().map(|(d, _, _, a)| (d.as_secs(), *a)).collect();
        assert_eq!(a, [(7, false), (13, true)]);
    }

    #[test]
    fn timers_pop_earliest_first_and_only_when_due() {
        let t0 = Instant::now();
        let mut t = Timers::default();
        t.push(t0 + Duration::from_secs(3), 0);
        t.push(t0 + Duration::from_secs(1), 1);
        t.push(t0 + Duration::from_secs(2), 2);
        t.push(t0 + Duration::from_secs(1), 3);
        assert_eq!(t.next(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(t.pop_due(t0), None, "nothing is due yet");
        let due: Vec<_> = std::iter::from_fn(|| t.pop_due(t0 + Duration::from_secs(2))).collect();
        assert_eq!(due, [1, 3, 2], "by time, then by index");
        assert_eq!(t.next(), Some(t0 + Duration::from_secs(3)));
        assert_eq!(t.pop_due(t0 + Duration::from_secs(9)), Some(0));
        assert_eq!(t.next(), None);
    }

    #[test]
    fn a_checker_woken_twice_is_listed_once() {
        let ready = Arc::new(ReadyList::new(3));
        let w = Waker::from(Arc::new(SlotWaker { idx: 1, ready: ready.clone() }));
        w.wake_by_ref();
        w.wake_by_ref();
        Waker::from(Arc::new(SlotWaker { idx: 2, ready: ready.clone() })).wake();
        // Out of range (cannot happen): ignored, no panic.
        Waker::from(Arc::new(SlotWaker { idx: 7, ready: ready.clone() })).wake();
        assert_eq!(ready.take(), [1, 2]);
        assert!(ready.take().is_empty());
        // Taken: a new wake lists it again.
        w.wake();
        assert_eq!(ready.take(), [1]);
    }

    /// Wakes itself twice on its first poll, then waits 500 ms: polled three times if each
    /// wake-up polls it once (first, after the wakes, when the sleep ends), four if twice.
    struct DoubleWake {
        polls: Arc<Mutex<usize>>,
    }

    impl Probe for DoubleWake {
        fn check(&mut self) -> ProbeFuture<'_> {
            let polls = self.polls.clone();
            let mut sleep = Box::pin(tokio::time::sleep(Duration::from_millis(500)));
            Box::pin(std::future::poll_fn(move |cx| {
                let mut n = polls.lock().unwrap();
                *n += 1;
                if *n == 1 {
                    cx.waker().wake_by_ref();
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                sleep.as_mut().poll(cx).map(|()| true)
            }))
        }
        fn log_up(&self) {}
        fn log_down(&self, _: u32, _: bool) {}
    }

    #[tokio::test(start_paused = true)]
    async fn a_probe_woken_twice_is_polled_once() {
        let polls = Arc::new(Mutex::new(0));
        let mut s = spec(0, &[], &Arc::new(Mutex::new(Vec::new())));
        s.probe = Box::new(DoubleWake { polls: polls.clone() });
        let mut rec = Rec::default();
        // One check (at 1 s), then the next at 7 s: not reached.
        run(vec![s], &mut rec, tokio::time::sleep(Duration::from_secs(3)), Seed::new(1)).await;
        assert_eq!(*polls.lock().unwrap(), 3);
    }

    /// Never completes; counts its drops (the probe's and its running check's).
    struct Hang {
        dropped: Arc<Mutex<Vec<&'static str>>>,
    }

    struct Guard(Arc<Mutex<Vec<&'static str>>>, &'static str);

    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.lock().unwrap().push(self.1);
        }
    }

    impl Probe for Hang {
        fn check(&mut self) -> ProbeFuture<'_> {
            let g = Guard(self.dropped.clone(), "check");
            Box::pin(async move {
                std::future::pending::<()>().await;
                drop(g);
                true
            })
        }
        fn log_up(&self) {}
        fn log_down(&self, _: u32, _: bool) {}
    }

    impl Drop for Hang {
        fn drop(&mut self) {
            self.dropped.lock().unwrap().push("probe");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn stop_drops_running_probes() {
        let dropped = Arc::new(Mutex::new(Vec::new()));
        let mut s = spec(0, &[], &Arc::new(Mutex::new(Vec::new())));
        s.probe = Box::new(Hang { dropped: dropped.clone() });
        let mut rec = Rec::default();
        let out = run(
            vec![s],
            &mut rec,
            async {
                tokio::time::sleep(Duration::from_secs(2)).await;
                // The check started at 1 s and still runs.
                assert!(dropped.lock().unwrap().is_empty());
                42
            },
            Seed::new(1),
        )
        .await;
        assert_eq!(out, 42, "run returns what stop gives");
        let mut d = dropped.lock().unwrap().clone();
        d.sort();
        assert_eq!(d, ["check", "probe"]);
    }

    /// Many checkers due at once are all run, in several rounds of bounded work.
    #[tokio::test(start_paused = true)]
    async fn more_checkers_than_one_round_all_run() {
        let runs = Arc::new(Mutex::new(Vec::new()));
        let specs: Vec<_> = (0..WORK_PER_POLL * 3 + 5).map(|i| spec(i, &[], &runs)).collect();
        let mut rec = Rec::default();
        run(specs, &mut rec, tokio::time::sleep(Duration::from_secs(2)), Seed::new(1)).await;
        assert_eq!(runs.lock().unwrap().len(), WORK_PER_POLL * 3 + 5);
        assert!(rec.0.is_empty(), "all stayed up");
    }

    /// Records coarse_now() when it runs.
    struct Clocked(Arc<Mutex<Vec<(Instant, Instant)>>>);

    impl Probe for Clocked {
        fn check(&mut self) -> ProbeFuture<'_> {
            self.0.lock().unwrap().push((coarse_now(), Instant::now()));
            Box::pin(async { true })
        }
        fn log_up(&self) {}
        fn log_down(&self, _: u32, _: bool) {}
    }

    #[tokio::test(start_paused = true)]
    async fn coarse_now_is_the_polls_time_inside_and_the_clock_outside() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut s = spec(0, &[], &Arc::new(Mutex::new(Vec::new())));
        s.probe = Box::new(Clocked(seen.clone()));
        let t0 = Instant::now();
        run(vec![s], &mut Rec::default(), tokio::time::sleep(Duration::from_secs(8)), Seed::new(1)).await;
        let seen = seen.lock().unwrap().clone();
        let at: Vec<_> = seen.iter().map(|(c, _)| (*c - t0).as_secs()).collect();
        assert_eq!(at, [1, 7]);
        assert!(seen.iter().all(|(c, n)| c == n));
        // Not left behind by the engine: outside a poll it follows the clock.
        tokio::time::advance(Duration::from_secs(5)).await;
        assert_eq!(coarse_now(), Instant::now());
        assert!(coarse_now() - t0 >= Duration::from_secs(13));
    }

    #[test]
    fn effective_weight_stays_in_the_weight_range() {
        let st = |configured, offset| RsState { configured, offset, ..RsState::default() }.effective();
        assert_eq!(st(5, 3), 8);
        assert_eq!(st(5, -9), 0);
        assert_eq!(st(MAX_WEIGHT, 253), MAX_WEIGHT);
        assert_eq!(st(1, i64::MAX), MAX_WEIGHT);
    }

    #[test]
    fn seed_upto_stays_in_range() {
        let mut r = Seed::new(7);
        assert_eq!(r.upto(Duration::ZERO), Duration::ZERO);
        for _ in 0..1000 {
            assert!(r.upto(Duration::from_millis(3)) <= Duration::from_millis(3));
        }
    }
}
