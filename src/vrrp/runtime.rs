//! The VRRP side of the daemon: one tokio task per instance drives `fsm::Instance` with timers
//! from `next_deadline()` and executes its actions (adverts, VIPs, GARP bursts, notifies).

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use log::{debug, error, info, warn};
use tokio::sync::broadcast;
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};
use tokio::sync::watch;
use tokio::time::Instant;

use super::addr::{Netlink, Vip};
use super::fsm::{self, Action, Event, State};
use super::garp::{GarpSocket, Pacing};
use super::link;
use super::route;
use super::socket::{self, Rx6, VrrpSocket4, VrrpSocket6};
use super::stats::{Registry, Stats, bump};
use super::track::{self, Status, Tracked};
use super::validate::{self, Expect, Reject, RxStats};
use super::vmac::{self, Vmac};
use super::wire::vrrp::{self as vw, Addresses, Body, ChecksumMode, Repr};
use crate::config::Config;
use crate::config::global::GlobalDefs;
use crate::config::script::Script;
use crate::config::vrrp::{AuthType, InitialState, VrrpInstance};

mod group;

/// Runs every configured VRRP instance until `stop` completes, then stops them gracefully
/// (priority-0 advert, VIPs removed, STOP notifies). With `enabled` false (`-C`) or no
/// instance it only waits for `stop`. Each started instance's counters are listed in `stats`
/// (the SIGUSR2 dump). A configuration received on `reloads` (SIGHUP) replaces the running
/// one as keepalived 2.2.7 does it: see [`Generation::reload`].
pub async fn run_until<F: Future<Output = Result<()>>>(
    cfg: &Config,
    enabled: bool,
    stats: &Registry,
    mut reloads: Option<UnboundedReceiver<Arc<Config>>>,
    stop: F,
) -> Result<()> {
    let configured =
        cfg.vrrp.instances.iter().any(|i| !i.removed) || !route::Statics::from_config(&cfg.vrrp).is_empty();
    if !enabled || !configured {
        return stop.await;
    }
    let nl = match Netlink::open() {
        Ok(n) => Arc::new(n),
        Err(e) => {
            error!("VRRP: cannot open the rtnetlink socket: {e}");
            return stop.await;
        }
    };
    if let Some(d) = cfg.global.vrrp_startup_delay.filter(|d| !d.is_zero()) {
        info!("Delaying startup for {} seconds", d.as_secs_f64());
        tokio::time::sleep(d).await;
    }
    // Opened once: their scripts keep running across reloads.
    let fifos = Arc::new(open_fifos(&cfg.global));
    let statics = route::Statics::from_config(&cfg.vrrp);
    statics.set(&nl);
    let mut current = Generation::start(cfg, &nl, &fifos, stats, statics, HashMap::new());
    tokio::pin!(stop);
    let r = loop {
        tokio::select! {
            r = &mut stop => break r,
            Some(new) = recv_opt(&mut reloads) => current = current.reload(&new, &nl, &fifos, stats).await,
        }
    };
    current.stop(&nl).await;
    r
}

/// How the runtime ends an instance's task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Control {
    Run,
    /// Graceful stop: priority-0 advert, VIPs removed, STOP notifies.
    Stop,
    /// Reload: end without touching the system and hand the state to the successor.
    Handover,
}

/// What a running instance passes to its successor on reload.
struct Handover {
    state: State,
    vips: Vec<Vip>,
    routing: route::Routing,
}

/// How a reload pairs old and new instances (keepalived 2.2.7: VRID, address family and
/// interface; names may change).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct InstanceKey {
    vrid: Option<u8>,
    v6: bool,
    interface: Option<String>,
}

impl InstanceKey {
    fn of(i: &VrrpInstance) -> Self {
        InstanceKey { vrid: i.vrid, v6: i.ipv6 == Some(true), interface: i.interface.clone() }
    }
}

/// An instance's task and what a reload needs to know of it.
struct Running {
    key: InstanceKey,
    /// Its config, to diff against the successor's.
    inst: VrrpInstance,
    /// Member of a sync group or with a VMAC: restarted on reload rather than resumed.
    restart_on_reload: bool,
    ctl: watch::Sender<Control>,
    task: tokio::task::JoinHandle<Option<Handover>>,
}

/// The instances of one configuration, with their trackers and sync groups.
struct Generation {
    running: Vec<Running>,
    monitor: tokio::task::JoinHandle<()>,
    script_tasks: Vec<tokio::task::JoinHandle<()>>,
    groups: Vec<Arc<group::Shared>>,
    statics: route::Statics,
    /// The static_* config the statics came from (a reload re-applies them only if changed).
    static_cfg: StaticCfg,
}

type StaticCfg = (Vec<crate::config::vrrp::IpAddress>, Vec<crate::config::vrrp::Route>, Vec<crate::config::vrrp::Rule>);

fn static_cfg(cfg: &Config) -> StaticCfg {
    (cfg.vrrp.static_addresses.clone(), cfg.vrrp.static_routes.clone(), cfg.vrrp.static_rules.clone())
}

impl Generation {
    /// Starts the instances of `cfg`; those with an entry in `handovers` resume its state.
    fn start(
        cfg: &Config,
        nl: &Arc<Netlink>,
        fifos: &Arc<Vec<std::fs::File>>,
        stats: &Registry,
        statics: route::Statics,
        mut handovers: HashMap<InstanceKey, Handover>,
    ) -> Generation {
        let (link_tx, _) = broadcast::channel(256);
        let scripts = &cfg.vrrp.scripts;
        let mut subs: Vec<Vec<_>> = vec![Vec::new(); scripts.len()];
        let mut files = group::Files::new(&cfg.vrrp.track_files);
        let mut runners = Vec::new();
        let mut meta = Vec::new();
        for inst in cfg.vrrp.instances.iter().filter(|i| !i.removed) {
            let mut r = match Runner::new(inst, &cfg.global, nl.clone()) {
                Ok(mut r) => {
                    r.fifos = fifos.clone();
                    r.counters = stats.add(&inst.name);
                    r
                }
                Err(e) => {
                    error!("({}) cannot start: {e:#}", inst.name);
                    continue;
                }
            };
            let key = InstanceKey::of(inst);
            r.resume = handovers.remove(&key);
            // A sync group's trackers apply to each of its members.
            let sg = group::of(&cfg.vrrp, &inst.name);
            let (ttx, trx) = unbounded_channel();
            for t in inst.track_scripts.iter().chain(sg.iter().flat_map(|g| &g.track_scripts)) {
                let Some(idx) = scripts.iter().position(|s| s.name == t.name && !s.removed) else {
                    warn!("({}) track_script {} not found - ignoring", inst.name, t.name);
                    continue;
                };
                let Some(sc) = scripts.get(idx) else { continue };
                let (weight, reverse) = match t.weight {
                    Some(w) => (w, t.reverse),
                    None => (sc.weight, sc.weight_reverse),
                };
                let status = track::RiseFall::new(sc.rise, sc.fall, sc.init_fail).status;
                r.tracked.push((Key::Script(idx), Tracked { weight, reverse, status }));
                if let Some(list) = subs.get_mut(idx) {
                    list.push(ttx.clone());
                }
            }
            if r.tracked.iter().any(|(k, _)| matches!(k, Key::Script(_))) {
                r.track_rx = Some(trx);
            }
            if let Some(g) = sg {
                r.track_group_interfaces(g);
            }
            r.file_rx = files.subscribe(&mut r.tracked, &inst.track_files, sg, &inst.name);
            if r.tracked.iter().any(|(k, _)| matches!(k, Key::If(_))) {
                r.link_rx = Some(link_tx.subscribe());
            }
            meta.push((key, inst.clone(), sg.is_some() || inst.use_vmac.is_some()));
            runners.push(r);
        }
        let groups = group::link(&cfg.vrrp, &mut runners, fifos);
        let running = runners
            .into_iter()
            .zip(meta)
            .map(|(r, (key, inst, restart_on_reload))| {
                let (ctl, rx) = watch::channel(Control::Run);
                Running { key, inst, restart_on_reload, ctl, task: tokio::spawn(r.run(rx)) }
            })
            .collect();
        let monitor = tokio::spawn(link::monitor(link_tx));
        let mut script_tasks = Vec::new();
        for (idx, list) in subs.into_iter().enumerate() {
            if let Some(sc) = scripts.get(idx).filter(|_| !list.is_empty()) {
                script_tasks.push(tokio::spawn(track::run_script(idx, sc.clone(), list)));
            }
        }
        if let Some(w) = files.into_watch() {
            script_tasks.push(tokio::spawn(w));
        }
        Generation { running, monitor, script_tasks, groups, statics, static_cfg: static_cfg(cfg) }
    }

    /// Ends every instance task: `handover(r)` says which hand their state over instead of
    /// stopping. Returns the handovers by key.
    async fn end(&mut self, handover: impl Fn(&Running) -> bool) -> HashMap<InstanceKey, Handover> {
        self.monitor.abort();
        for t in &self.script_tasks {
            t.abort();
        }
        for r in &self.running {
            let _ = r.ctl.send(if handover(r) { Control::Handover } else { Control::Stop });
        }
        let mut out = HashMap::new();
        for r in std::mem::take(&mut self.running) {
            if let Ok(Some(h)) = r.task.await {
                out.insert(r.key, h);
            }
        }
        // keepalived notifies the groups' STOP after their members'.
        for g in &self.groups {
            g.notify(None);
        }
        out
    }

    /// Graceful stop of everything, static addresses last.
    async fn stop(mut self, nl: &Netlink) {
        self.end(|_| false).await;
        self.statics.clear(nl);
    }

    /// SIGHUP with a changed configuration, as keepalived 2.2.7 applies it (measured): an
    /// instance that still exists (same VRID, family and interface) carries on in its state, a
    /// MASTER keeping its VIPs without an election or notify (new VIPs are added and announced,
    /// dropped ones removed); an instance gone from the config stops as at shutdown (priority
    /// 0, VIPs removed); a new one starts in BACKUP. Sync group members and VMAC instances are
    /// restarted instead (their group and interface state is not carried over yet).
    async fn reload(
        mut self,
        new: &Config,
        nl: &Arc<Netlink>,
        fifos: &Arc<Vec<std::fs::File>>,
        stats: &Registry,
    ) -> Generation {
        let next: HashMap<InstanceKey, &VrrpInstance> =
            new.vrrp.instances.iter().filter(|i| !i.removed).map(|i| (InstanceKey::of(i), i)).collect();
        let resumable = |r: &Running| {
            !r.restart_on_reload
                && next.get(&r.key).is_some_and(|n| group::of(&new.vrrp, &n.name).is_none() && n.use_vmac.is_none())
        };
        let old: HashMap<InstanceKey, VrrpInstance> =
            self.running.iter().filter(|r| resumable(r)).map(|r| (r.key.clone(), r.inst.clone())).collect();
        let mut handovers = self.end(resumable).await;
        for (key, h) in handovers.iter_mut() {
            let (Some(o), Some(n)) = (old.get(key), next.get(key)) else { continue };
            if h.state != State::Master {
                continue;
            }
            // The predecessor's addresses and routes the successor does not have go now.
            let label = format!("({})", n.name);
            if o.vroutes != n.vroutes || o.vrules != n.vrules {
                std::mem::take(&mut h.routing).clear(nl, &label, "Virtual");
            }
        }
        let statics = if static_cfg(new) == self.static_cfg {
            std::mem::take(&mut self.statics)
        } else {
            self.statics.clear(nl);
            let s = route::Statics::from_config(&new.vrrp);
            s.set(nl);
            s
        };
        stats.clear();
        Generation::start(new, nl, fifos, stats, statics, handovers)
    }
}

/// Everything one instance needs at run time, derived from the config once.
struct Runner {
    name: String,
    ifname: String,
    fsm: fsm::Instance,
    sock: Sock,
    garp: Option<Arc<GarpSocket>>,
    nl: Arc<Netlink>,
    expect: Expect,
    src: IpAddr,
    group: IpAddr,
    peers: Vec<IpAddr>,
    ttl: u8,
    version: vw::Version,
    auth: vw::Auth,
    adver_int: Duration,
    vips: Vec<Vip>,
    pacing: Pacing,
    /// GARPs per burst after a lower-priority advert and per refresh (0: none).
    lower_prio_repeat: u32,
    refresh_repeat: u32,
    old_unicast: bool,
    stats: RxStats,
    /// keepalived's per-instance counters (SIGUSR2).
    counters: Arc<Stats>,
    /// MASTER was the last state notified (for "Released master").
    was_master: bool,
    /// `notify_priority_changes`: effective priority changes go to the FIFOs too.
    notify_priority_changes: bool,
    notify: NotifyScripts,
    nopreempt: bool,
    preempt_delay: bool,
    /// No "Entering BACKUP STATE" has been logged yet (the first says "(init)").
    first_backup: bool,
    base_priority: u8,
    /// What this instance tracks, and its view of each.
    tracked: Vec<(Key, Tracked)>,
    track_rx: Option<UnboundedReceiver<(usize, Status)>>,
    link_rx: Option<broadcast::Receiver<(u32, bool)>>,
    faulted: bool,
    /// notify_fifo / vrrp_notify_fifo, opened once for all instances.
    fifos: Arc<Vec<std::fs::File>>,
    /// virtual_routes / virtual_rules, set while MASTER.
    routing: route::Routing,
    /// The use_vmac interface; deleted when the Runner is dropped.
    vmac: Option<Vmac>,
    /// track_file values, tagged with the file's index (`Key::File`).
    file_rx: Option<UnboundedReceiver<(usize, Status)>>,
    /// Membership of a vrrp_sync_group.
    sync: Option<group::Link>,
    /// After a reload: the predecessor's state, resumed instead of a start.
    resume: Option<Handover>,
    /// `promote_secondaries` on the interface while the instance runs.
    _promote: Option<super::sysctl::PromoteSecondaries>,
}

/// A tracked object: a vrrp_script, an interface or a track_file (by index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Key {
    Script(usize),
    If(u32),
    File(usize),
}

#[derive(Clone, Default)]
struct NotifyScripts {
    master: Option<Script>,
    backup: Option<Script>,
    fault: Option<Script>,
    stop: Option<Script>,
    generic: Option<Script>,
    /// `notify_master_rx_lower_pri`: run (no arguments) on each lower-priority advert as master.
    master_rx_lower_pri: Option<Script>,
}

impl NotifyScripts {
    fn from_config(n: &crate::config::vrrp::Notify) -> Self {
        NotifyScripts {
            master: n.master.clone(),
            backup: n.backup.clone(),
            fault: n.fault.clone(),
            stop: n.stop.clone(),
            generic: n.generic.clone(),
            master_rx_lower_pri: n.master_rx_lower_pri.clone(),
        }
    }
}

/// The fsm parameters of an instance (timers, preemption, election source).
pub fn params(inst: &VrrpInstance, g: &GlobalDefs, src: IpAddr) -> fsm::Params {
    let version = if inst.version() == 3 { fsm::Version::V3 } else { fsm::Version::V2 };
    let mut p = fsm::Params::new(version, inst.priority, inst.advert_int, src);
    p.initial_master = inst.state == InitialState::Master;
    p.nopreempt = inst.nopreempt && !p.initial_master;
    p.preempt_delay = (!inst.preempt_delay.is_zero() && !p.initial_master).then_some(inst.preempt_delay);
    p.down_timer_adverts = inst.down_timer_adverts.unwrap_or(g.vrrp_down_timer_adverts).max(1);
    p.lower_prio_no_advert = inst.lower_prio_no_advert.unwrap_or(g.vrrp_lower_prio_no_advert);
    p.higher_prio_send_advert = inst.higher_prio_send_advert.unwrap_or(g.vrrp_higher_prio_send_advert);
    p.garp_master_delay = inst.garp.master_delay.unwrap_or(g.garp.master_delay);
    p.garp_lower_prio_delay = inst.garp.lower_prio_delay.or(g.garp.lower_prio_delay).unwrap_or(p.garp_master_delay);
    let refresh = inst.garp.master_refresh.unwrap_or(g.garp.master_refresh);
    p.garp_master_refresh = (!refresh.is_zero()).then_some(refresh);
    p
}

enum Sock {
    V4(VrrpSocket4),
    V6(VrrpSocket6),
}

enum Rx {
    V4(usize),
    V6(Rx6),
}

impl Sock {
    async fn recv(&self, buf: &mut [u8]) -> std::io::Result<Rx> {
        match self {
            Sock::V4(s) => s.recv(buf).await.map(Rx::V4),
            Sock::V6(s) => s.recv(buf).await.map(Rx::V6),
        }
    }
}

enum Wake {
    Timer,
    Packet(Rx),
    Track(usize, Status),
    File(usize, Status),
    Sync(super::sync::Command),
    Link(u32, bool),
    RecvError(std::io::Error),
    Stop,
    Handover,
}

impl Runner {
    fn new(inst: &VrrpInstance, g: &GlobalDefs, nl: Arc<Netlink>) -> Result<Runner> {
        let ifname = inst.interface.clone().ok_or_else(|| anyhow!("no interface"))?;
        let vrid = inst.vrid.ok_or_else(|| anyhow!("no virtual_router_id"))?;
        let ifindex = socket::ifindex(&ifname).with_context(|| format!("interface {ifname}"))?;
        let v6 = inst.ipv6 == Some(true);
        let src: IpAddr = match inst.unicast_src_ip.or(inst.mcast_src_ip) {
            Some(a) if a.is_ipv6() == v6 => a,
            Some(a) => bail!("source {a} is not of the instance's address family"),
            None if v6 => IpAddr::V6(
                socket::if_link_local_v6(&ifname)
                    .with_context(|| format!("no IPv6 link-local address on {ifname} to send adverts from"))?,
            ),
            None => IpAddr::V4(
                socket::if_primary_v4(&ifname)
                    .with_context(|| format!("no IPv4 address on {ifname} to send adverts from"))?,
            ),
        };
        let group: IpAddr = match inst.mcast_dst_ip {
            Some(a) if a.is_ipv6() == v6 => a,
            _ if v6 => IpAddr::V6(g.vrrp_mcast_group6),
            _ => IpAddr::V4(g.vrrp_mcast_group4),
        };
        let peers: Vec<IpAddr> = inst.unicast_peers.iter().map(|p| p.addr).filter(|a| a.is_ipv6() == v6).collect();
        let unicast = !peers.is_empty();
        let vmac = match &inst.use_vmac {
            Some(cfg_vm) => Some(new_vmac(inst, cfg_vm, g, &nl, &ifname, ifindex, vrid, v6)?),
            None => None,
        };
        // Adverts go on the VMAC unless vmac_xmit_base; GARPs and VIPs always on it.
        let sock_if = match &vmac {
            Some(m) if !inst.vmac_xmit_base => m.name.clone(),
            _ => ifname.clone(),
        };
        let (vip_if, vip_idx) = vmac.as_ref().map_or((ifname.clone(), ifindex), |m| (m.name.clone(), m.ifindex));
        let sock = match (src, group) {
            (IpAddr::V4(_), IpAddr::V4(g4)) => Sock::V4(
                VrrpSocket4::open(&sock_if, (!unicast).then_some(g4))
                    .with_context(|| format!("VRRP socket on {sock_if}"))?,
            ),
            (IpAddr::V6(s6), IpAddr::V6(g6)) => Sock::V6(
                VrrpSocket6::open(&sock_if, s6, (!unicast).then_some(g6))
                    .with_context(|| format!("VRRPv3 IPv6 socket on {sock_if}"))?,
            ),
            _ => bail!("source and group of different families"),
        };
        let garp_mac = vmac.as_ref().map_or_else(|| socket::if_mac(&ifname), |m| Ok(m.mac));
        let garp = match garp_mac.and_then(|mac| GarpSocket::open(vip_idx, mac)) {
            Ok(s) => Some(Arc::new(s)),
            Err(e) => {
                warn!("({}) no gratuitous ARP socket on {vip_if}: {e}", inst.name);
                None
            }
        };
        // virtual_ipaddress, then virtual_ipaddress_excluded: both are set while MASTER (and
        // announced), only the first go in adverts.
        let mut vips = Vec::new();
        for a in inst.vips.iter().chain(&inst.evips) {
            let dev = a.dev.clone().unwrap_or_else(|| vip_if.clone());
            let idx = if dev == vip_if {
                vip_idx
            } else {
                socket::ifindex(&dev).with_context(|| format!("VIP device {dev}"))?
            };
            vips.push(Vip::from_config(a, &dev, idx));
        }
        let version = if inst.version() == 3 || v6 { vw::Version::V3 } else { vw::Version::V2 };
        let auth = match &inst.auth {
            Some(a) if version == vw::Version::V2 && a.kind == Some(AuthType::Pass) => {
                vw::Auth::pass(a.pass.as_deref().unwrap_or_default())
            }
            Some(a) if version == vw::Version::V2 && a.kind == Some(AuthType::Ah) => {
                warn!("({}) auth_type AH is not supported: sending without authentication", inst.name);
                vw::Auth::NONE
            }
            _ => vw::Auth::NONE,
        };
        let fam_vips: Vec<IpAddr> = inst.vips.iter().map(|a| a.addr).filter(|a| a.is_ipv6() == v6).collect();
        let adver_secs = inst.advert_int.as_secs().clamp(1, 255) as u8;
        let expect = Expect {
            version,
            vrid,
            auth: (auth.auth_type != vw::AuthType::NoAuth).then_some(auth),
            adver_int_secs: adver_secs,
            vips: fam_vips,
            unicast,
            group,
            our_src: src,
            skip_check_adv_addr: inst.skip_check_adv_addr || g.vrrp_skip_check_adv_addr,
            allowed_src: (inst.check_unicast_src || g.vrrp_check_unicast_src).then(|| peers.clone()),
        };
        let p = params(inst, g, src);
        let repeat = inst.garp.master_repeat.unwrap_or(g.garp.master_repeat);
        // The interface itself (unless dont_track_primary) and track_interface entries.
        let mut tracked = Vec::new();
        let if_status = |name: &str| if link::is_up(name).unwrap_or(false) { Status::Up } else { Status::Down };
        if !inst.dont_track_primary {
            tracked.push((Key::If(ifindex), Tracked { weight: 0, reverse: false, status: if_status(&ifname) }));
        }
        for t in &inst.track_interfaces {
            match socket::ifindex(&t.name) {
                Ok(idx) => tracked.push((
                    Key::If(idx),
                    Tracked { weight: t.weight.unwrap_or(0), reverse: t.reverse, status: if_status(&t.name) },
                )),
                Err(_) => warn!("({}) track_interface {} not found - ignoring", inst.name, t.name),
            }
        }
        Ok(Runner {
            name: inst.name.clone(),
            ifname: vip_if,
            nopreempt: p.nopreempt,
            preempt_delay: p.preempt_delay.is_some(),
            fsm: fsm::Instance::new(p),
            sock,
            garp,
            nl,
            expect,
            src,
            group,
            peers,
            ttl: if unicast { inst.unicast_ttl.unwrap_or(vw_ttl()) } else { vw_ttl() },
            version,
            auth,
            adver_int: inst.advert_int,
            vips,
            pacing: Pacing { repeat, garp_interval: g.garp.interval, gna_interval: g.garp.gna_interval },
            lower_prio_repeat: inst.garp.lower_prio_repeat.or(g.garp.lower_prio_repeat).unwrap_or(repeat),
            refresh_repeat: inst.garp.master_refresh_repeat.unwrap_or(g.garp.master_refresh_repeat),
            old_unicast: false,
            stats: RxStats::default(),
            counters: Arc::default(),
            was_master: false,
            notify_priority_changes: inst
                .notify_priority_changes
                .unwrap_or_else(|| global_flag(g, "vrrp_notify_priority_changes")),
            notify: NotifyScripts::from_config(&inst.notify),
            first_backup: true,
            base_priority: inst.priority,
            tracked,
            track_rx: None,
            link_rx: None,
            faulted: false,
            fifos: Arc::new(Vec::new()),
            routing: route::Routing::from_config(&format!("({})", inst.name), &inst.vroutes, &inst.vrules),
            vmac,
            file_rx: None,
            sync: None,
            resume: None,
            _promote: inst.promote_secondaries.then(|| super::sysctl::PromoteSecondaries::hold(&ifname)),
        })
    }

    async fn run(mut self, mut ctl: watch::Receiver<Control>) -> Option<Handover> {
        self.apply_tracking().await;
        match self.resume.take() {
            Some(h) => self.resume_from(h).await,
            None => {
                let acts = self.fsm.handle(Instant::now(), Event::Start);
                self.exec(acts).await;
            }
        }
        self.started();
        let mut buf = vec![0u8; 4096];
        loop {
            let deadline = self.fsm.next_deadline();
            let wake = tokio::select! {
                _ = sleep_until_opt(deadline) => Wake::Timer,
                r = self.sock.recv(&mut buf) => match r {
                    Ok(rx) => Wake::Packet(rx),
                    Err(e) => Wake::RecvError(e),
                },
                Some((idx, st)) = recv_opt(&mut self.track_rx) => Wake::Track(idx, st),
                Some((idx, st)) = recv_opt(&mut self.file_rx) => Wake::File(idx, st),
                Some(cmd) = group::recv(&mut self.sync) => Wake::Sync(cmd),
                Some((idx, up)) = recv_link(&mut self.link_rx) => Wake::Link(idx, up),
                r = ctl.changed() => match r.map(|_| *ctl.borrow()) {
                    Ok(Control::Handover) => Wake::Handover,
                    Ok(Control::Run) => continue,
                    _ => Wake::Stop,
                },
            };
            match wake {
                Wake::Timer => {
                    let was = self.fsm.state();
                    let acts = self.fsm.handle(Instant::now(), Event::Timer);
                    let want = acts.contains(&Action::WantMaster);
                    if want || (was == State::Backup && self.fsm.state() == State::Master) {
                        info!("({}) Receive advertisement timeout", self.name);
                    }
                    self.exec(acts).await;
                    if want {
                        self.want_master().await;
                    }
                }
                Wake::Packet(rx) => {
                    let n = match &rx {
                        Rx::V4(n) => *n,
                        Rx::V6(r) => r.len,
                    };
                    let pkt = buf.get(..n).unwrap_or(&[]).to_vec();
                    self.on_packet(&rx, &pkt).await;
                }
                Wake::Track(idx, st) => self.set_tracked(Key::Script(idx), st).await,
                Wake::File(idx, st) => self.set_tracked(Key::File(idx), st).await,
                Wake::Sync(cmd) => self.on_group_command(cmd).await,
                Wake::Link(idx, up) => {
                    self.set_tracked(Key::If(idx), if up { Status::Up } else { Status::Down }).await;
                }
                Wake::RecvError(e) => {
                    warn!("({}) receive error: {e}", self.name);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Wake::Stop => break,
                Wake::Handover => {
                    let routing = std::mem::take(&mut self.routing);
                    return Some(Handover { state: self.fsm.state(), vips: std::mem::take(&mut self.vips), routing });
                }
            }
        }
        let acts = self.fsm.handle(Instant::now(), Event::Stop);
        self.exec(acts).await;
        drop(self.vmac.take());
        let rejected: u64 =
            self.stats.counts.iter().filter(|(k, _)| **k != "own" && **k != "other_vrid").map(|(_, v)| v).sum();
        if rejected > 0 {
            info!("({}) adverts rejected while running: {:?}", self.name, self.stats.counts);
        }
        None
    }

    /// Carries on from a predecessor's state after a reload (see [`Generation::reload`]).
    async fn resume_from(&mut self, h: Handover) {
        self.first_backup = false;
        self.was_master = h.state == State::Master;
        if h.state == State::Master {
            for v in h.vips.iter().filter(|v| !self.vips.contains(v)) {
                if let Err(e) = self.nl.del(v) {
                    error!("({}) cannot remove {}/{} from {}: {e}", self.name, v.addr, v.prefix, v.dev);
                }
            }
        }
        let acts = self.fsm.handle(Instant::now(), Event::Resume(h.state));
        let added = self.vips.iter().any(|v| !h.vips.contains(v));
        self.exec(acts).await;
        // keepalived announces all addresses again when one was added.
        if self.fsm.state() == State::Master && added {
            self.send_garps(fsm::Garp::Master);
        }
    }

    async fn set_tracked(&mut self, key: Key, st: Status) {
        let mut changed = false;
        for (k, t) in self.tracked.iter_mut() {
            if *k == key && t.status != st {
                t.status = st;
                changed = true;
            }
        }
        if changed {
            self.apply_tracking().await;
        }
    }

    /// Recomputes the effective priority and fault from the tracked scripts and tells the fsm.
    async fn apply_tracking(&mut self) {
        let list: Vec<Tracked> = self.tracked.iter().map(|(_, t)| *t).collect();
        let (prio, fault) = track::effective(self.base_priority, &list);
        let now = Instant::now();
        if prio != self.fsm.priority() {
            info!("({}) Changing effective priority from {} to {prio}", self.name, self.fsm.priority());
            let acts = self.fsm.handle(now, Event::Priority(prio));
            self.exec(acts).await;
            // 2.2.7: `INSTANCE "VI_1" MASTER_PRIORITY 130` (not before the first state).
            let state = match self.fsm.state() {
                State::Master => Some("MASTER"),
                State::Backup => Some("BACKUP"),
                State::Fault => Some("FAULT"),
                State::Init | State::Stopped => None,
            };
            if let Some(word) = state.filter(|_| self.notify_priority_changes) {
                self.write_fifos(&format!("{word}_PRIORITY"));
            }
        }
        if fault != self.faulted {
            self.faulted = fault;
            let out = self.report_fault(fault);
            self.apply_fault().await;
            if let Some(out) = out {
                self.dispatch(out);
            }
        }
        // A sync group may hold us in FAULT from the start.
        self.apply_fault().await;
    }

    /// Puts the fsm in FAULT while our own trackers or our sync group say so.
    async fn apply_fault(&mut self) {
        let fault = self.faulted || self.sync.as_ref().is_some_and(|l| l.group_fault);
        if fault != self.fsm.faulted() {
            let acts = self.fsm.handle(Instant::now(), Event::Fault(fault));
            self.exec(acts).await;
        }
    }

    async fn on_packet(&mut self, rx: &Rx, pkt: &[u8]) {
        let checked = match rx {
            Rx::V4(_) => validate::check_v4(pkt, &self.expect),
            Rx::V6(r) => validate::check_v6(r.src, r.dst, r.hop_limit, pkt, &self.expect),
        };
        let a = match checked {
            Ok(a) => a,
            Err(r) => {
                let src = match rx {
                    Rx::V4(_) => validate::source_of(pkt).unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
                    Rx::V6(r6) => IpAddr::V6(r6.src),
                };
                self.counters.rejected(&r);
                let first = self.stats.record(&r, src);
                match r {
                    Reject::Own | Reject::OtherVrid(_) => {}
                    _ if first => info!(
                        "({}) {} (from {src}; further ones are counted, not logged)",
                        self.name,
                        r.message(self.expect.vrid)
                    ),
                    _ => debug!("({}) {} (from {src})", self.name, r.message(self.expect.vrid)),
                }
                return;
            }
        };
        bump(&self.counters.advert_rcvd);
        if a.priority == 0 {
            bump(&self.counters.pri_zero_rcvd);
        }
        if a.old_unicast_checksum && !self.old_unicast {
            self.old_unicast = true;
            info!("({}) Setting unicast VRRPv3 checksum to old version", self.name);
        }
        let ours = self.fsm.priority();
        let was = self.fsm.state();
        match was {
            State::Backup if a.priority == 0 => info!("({}) Backup received priority 0 advertisement", self.name),
            State::Backup if a.priority < ours && !self.nopreempt && !self.preempt_delay => {
                info!("({}) received lower priority ({}) advert from {} - discarding", self.name, a.priority, a.src)
            }
            _ => {}
        }
        let ev = Event::Advert(fsm::Advert { src: a.src, priority: a.priority, interval: a.interval });
        let acts = self.fsm.handle(Instant::now(), ev);
        let yielded = was == State::Master && self.fsm.state() == State::Backup;
        if yielded {
            info!(
                "({}) Master received advert from {} with higher priority {}, ours {}",
                self.name, a.src, a.priority, ours
            );
        }
        self.exec(acts).await;
        if yielded {
            self.left_master();
        }
    }

    async fn exec(&mut self, acts: Vec<Action>) {
        self.exec_actions(acts).await;
        self.report_want();
    }

    async fn exec_actions(&mut self, acts: Vec<Action>) {
        // keepalived announces MASTER before it sets the VIPs and sends GARPs.
        if acts.contains(&Action::Notify(State::Master)) {
            info!("({}) Entering MASTER STATE", self.name);
        }
        for a in acts {
            match a {
                Action::SendAdvert { priority } => {
                    if priority == 0 {
                        debug!("({}) sent 0 priority", self.name);
                    }
                    self.send_advert(priority);
                }
                Action::AddAddresses => {
                    info!("({}) setting VIPs.", self.name);
                    for v in &self.vips {
                        if let Err(e) = self.nl.add(v) {
                            error!("({}) cannot add {}/{} on {}: {e}", self.name, v.addr, v.prefix, v.dev);
                        }
                    }
                    self.routing.set(&self.nl, &format!("({})", self.name), "Virtual");
                }
                Action::RemoveAddresses => {
                    self.routing.clear(&self.nl, &format!("({})", self.name), "Virtual");
                    info!("({}) removing VIPs.", self.name);
                    for v in &self.vips {
                        if let Err(e) = self.nl.del(v) {
                            error!("({}) cannot remove {}/{} from {}: {e}", self.name, v.addr, v.prefix, v.dev);
                        }
                    }
                }
                Action::SendGarp(kind) => self.send_garps(kind),
                Action::Notify(s) => self.notify(s),
                // Asked by the caller after exec (see the timer).
                Action::WantMaster => {}
                Action::ForcingElection { from, priority } => {
                    info!(
                        "({}) Received advert from {from} with lower priority {priority}, ours {}, forcing new election",
                        self.name,
                        self.fsm.priority()
                    );
                    // 2.2.7: the script and the FIFO line, but not the generic notify script.
                    if let Some(sc) = &self.notify.master_rx_lower_pri {
                        crate::exec::spawn(sc, &[]);
                    }
                    self.write_fifos("MASTER_RX_LOWER_PRI");
                }
            }
        }
    }

    fn advert(&self, priority: u8) -> Repr {
        let v4: Vec<Ipv4Addr> = self
            .expect
            .vips
            .iter()
            .filter_map(|a| match a {
                IpAddr::V4(v) => Some(*v),
                IpAddr::V6(_) => None,
            })
            .collect();
        let body = match self.version {
            vw::Version::V3 => {
                let cs = (self.adver_int.as_millis() / 10).clamp(1, u128::from(vw::MAX_ADVER_INT_MAX)) as u16;
                let addrs = match self.sock {
                    Sock::V4(_) => Addresses::V4(v4),
                    Sock::V6(_) => Addresses::V6(
                        self.expect
                            .vips
                            .iter()
                            .filter_map(|a| match a {
                                IpAddr::V6(v) => Some(*v),
                                IpAddr::V4(_) => None,
                            })
                            .collect::<Vec<Ipv6Addr>>(),
                    ),
                };
                Body::V3 { max_adver_int: cs, addrs }
            }
            _ => Body::V2 { adver_int: self.expect.adver_int_secs, auth: self.auth, addrs: v4 },
        };
        Repr { vrid: self.expect.vrid, priority, body }
    }

    fn send_advert(&self, priority: u8) {
        bump(&self.counters.advert_sent);
        if priority == 0 {
            bump(&self.counters.pri_zero_sent);
        }
        let repr = self.advert(priority);
        let dsts: Vec<IpAddr> = if self.peers.is_empty() { vec![self.group] } else { self.peers.clone() };
        for dst in dsts {
            let r = match (&self.sock, self.src, dst, self.group) {
                (Sock::V4(s), IpAddr::V4(src), IpAddr::V4(d), IpAddr::V4(g)) => {
                    let mode = match self.version {
                        vw::Version::V3 if self.old_unicast && d != g => ChecksumMode::old_unicast(src, g),
                        vw::Version::V3 => ChecksumMode::Ipv4PseudoHeader { src, dst: d },
                        _ => ChecksumMode::MessageOnly,
                    };
                    repr.to_ipv4_datagram(src, d, self.ttl, &mode)
                        .map_err(|e| std::io::Error::other(e.to_string()))
                        .and_then(|dg| s.send(&dg, d))
                }
                (Sock::V6(s), _, IpAddr::V6(d), _) => repr
                    .to_bytes(&ChecksumMode::Offload)
                    .map_err(|e| std::io::Error::other(e.to_string()))
                    .and_then(|m| s.send(&m, d)),
                _ => Err(std::io::Error::other("address family mismatch")),
            };
            if let Err(e) = r {
                warn!("({}) cannot send advert to {dst}: {e}", self.name);
            }
        }
    }

    fn send_garps(&self, kind: fsm::Garp) {
        let repeat = match kind {
            fsm::Garp::Master => self.pacing.repeat,
            fsm::Garp::LowerPrio => self.lower_prio_repeat,
            fsm::Garp::Refresh => self.refresh_repeat,
        };
        let Some(g) = self.garp.clone().filter(|_| repeat > 0) else { return };
        let addrs: Vec<IpAddr> = self.vips.iter().map(|v| v.addr).collect();
        for a in &addrs {
            let what = if a.is_ipv6() { "Unsolicited Neighbour Adverts" } else { "gratuitous ARPs" };
            info!("({}) Sending/queueing {what} on {} for {a}", self.name, self.ifname);
        }
        let pacing = Pacing { repeat, ..self.pacing };
        tokio::spawn(async move { g.burst(&addrs, pacing).await });
    }

    /// `INSTANCE "NAME" WORD PRIORITY` to the notify FIFOs.
    fn write_fifos(&self, word: &str) {
        let line = format!("INSTANCE \"{}\" {word} {}\n", self.name, self.fsm.priority());
        for f in self.fifos.iter() {
            use std::io::Write;
            if let Err(e) = (&*f).write_all(line.as_bytes()) {
                debug!("notify fifo write failed: {e}");
            }
        }
    }

    fn notify(&mut self, s: State) {
        match s {
            State::Master => bump(&self.counters.become_master),
            State::Backup | State::Fault if self.was_master => bump(&self.counters.release_master),
            _ => {}
        }
        self.was_master = s == State::Master;
        let (script, word) = match s {
            State::Master => (self.notify.master.clone(), "MASTER"),
            State::Backup => {
                let init = if self.first_backup { " (init)" } else { "" };
                self.first_backup = false;
                info!("({}) Entering BACKUP STATE{init}", self.name);
                (self.notify.backup.clone(), "BACKUP")
            }
            State::Fault => {
                // keepalived says "(init)" only when BACKUP comes straight after INIT.
                self.first_backup = false;
                info!("({}) Entering FAULT STATE", self.name);
                (self.notify.fault.clone(), "FAULT")
            }
            State::Stopped => (self.notify.stop.clone(), "STOP"),
            State::Init => return,
        };
        if let Some(sc) = script {
            crate::exec::spawn(&sc, &[]);
        }
        self.write_fifos(word);
        if let Some(sc) = self.notify.generic.clone() {
            let prio = self.fsm.priority().to_string();
            crate::exec::spawn(&sc, &["INSTANCE", &self.name, word, &prio]);
        }
    }
}

/// A global_defs switch kept in `other` (a bare keyword or a true boolean word).
fn global_flag(g: &GlobalDefs, key: &str) -> bool {
    g.other.iter().any(|(k, args, _)| {
        k == key && args.first().is_none_or(|w| crate::config::tree::parse_bool(w).unwrap_or(false))
    })
}

/// Creates the instance's VMAC (`use_vmac [NAME] [MAC]`) on `base`.
#[allow(clippy::too_many_arguments)]
fn new_vmac(
    inst: &VrrpInstance,
    cfg_vm: &crate::config::vrrp::instance::Vmac,
    g: &GlobalDefs,
    nl: &Arc<Netlink>,
    base: &str,
    base_idx: u32,
    vrid: u8,
    v6: bool,
) -> Result<Vmac> {
    let prefix = g.other.iter().find(|(k, _, _)| k == "vmac_prefix").and_then(|(_, a, _)| a.first());
    let mac = vmac::vmac_addr(vrid, v6, cfg_vm.mac.as_deref())?;
    let name = vmac::claim_name(cfg_vm.name.as_deref(), prefix.map(String::as_str), vrid, v6);
    let label = format!("({})", inst.name);
    Vmac::create(nl.clone(), &label, base, base_idx, &name, mac, v6).with_context(|| format!("VMAC {name} on {base}"))
}

/// Opens (creating if needed) `notify_fifo` and `vrrp_notify_fifo`, starting their scripts
/// with the FIFO path as argument. Read-write and non-blocking, so a missing reader never
/// blocks us and lines wait in the pipe until one comes.
fn open_fifos(g: &GlobalDefs) -> Vec<std::fs::File> {
    use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
    let mut out = Vec::new();
    let mut seen = Vec::new();
    for f in [&g.notify_fifo, &g.vrrp_notify_fifo] {
        let Some(path) = f.path.as_deref() else { continue };
        if seen.contains(&path) {
            continue;
        }
        seen.push(path);
        let is_fifo = std::fs::metadata(path).is_ok_and(|m| m.file_type().is_fifo());
        if !is_fifo {
            let Ok(c) = std::ffi::CString::new(path) else { continue };
            // SAFETY: a valid NUL-terminated path.
            if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } != 0 {
                warn!("Unable to create notify FIFO {path}: {}", std::io::Error::last_os_error());
                continue;
            }
        }
        match std::fs::OpenOptions::new().read(true).write(true).custom_flags(libc::O_NONBLOCK).open(path) {
            Ok(file) => out.push(file),
            Err(e) => {
                warn!("Unable to open notify FIFO {path}: {e}");
                continue;
            }
        }
        if let Some(sc) = &f.script {
            crate::exec::spawn(sc, &[path]);
        }
    }
    out
}

fn vw_ttl() -> u8 {
    super::wire::ipv4::VRRP_TTL
}

async fn recv_opt<T>(rx: &mut Option<UnboundedReceiver<T>>) -> Option<T> {
    match rx {
        Some(r) => r.recv().await,
        None => std::future::pending().await,
    }
}

/// The next link event; None on a closed or lagging channel (the branch is then skipped once).
async fn recv_link(rx: &mut Option<broadcast::Receiver<(u32, bool)>>) -> Option<(u32, bool)> {
    match rx {
        Some(r) => r.recv().await.ok(),
        None => std::future::pending().await,
    }
}

async fn sleep_until_opt(deadline: Option<Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_master_disables_nopreempt_and_delay() {
        let mut i = test_instance();
        i.nopreempt = true;
        i.preempt_delay = Duration::from_secs(2);
        let g = GlobalDefs::default();
        let p = params(&i, &g, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert!(p.nopreempt);
        assert_eq!(p.preempt_delay, Some(Duration::from_secs(2)));
        i.state = InitialState::Master;
        let p = params(&i, &g, IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert!(!p.nopreempt);
        assert_eq!(p.preempt_delay, None);
        assert_eq!(p.garp_master_delay, Duration::from_secs(5));
        assert_eq!(p.garp_master_refresh, None);
    }

    fn test_instance() -> VrrpInstance {
        let text = "vrrp_instance VI_1 {\n interface lo\n virtual_router_id 5\n priority 100\n virtual_ipaddress {\n 10.0.0.1\n }\n}\n";
        let dir = std::env::temp_dir().join(format!("vrrp-rt-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let f = dir.join("k.conf");
        std::fs::write(&f, text).unwrap();
        let (cfg, _) = crate::config::load(&f, &crate::config::SourceOptions::default());
        cfg.vrrp.instances.into_iter().next().unwrap()
    }
}
