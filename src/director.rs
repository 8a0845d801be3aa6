//! The LVS director: programs the kernel's IPVS table from the config at start, applies each
//! health change as one batch, and removes what it added at stop (keepalived's checker process).
//!
//! The table logic is pure (`ipvs::table`, `ipvs::reconcile`, `check::vs`). [`Pool`] holds it
//! and answers each health event with [`Effects`]: the IPVS operations, keepalived's log lines
//! and the notify scripts to run, so all of it is testable without a kernel. [`Director`]
//! carries the effects out through one [`Ipvs`] handle.
//!
//! Notify scripts as 2.2.7 runs them (measured in the VM): `notify_up`/`notify_down` of a real
//! server and `quorum_up`/`quorum_down` of its virtual server get only their configured
//! arguments, start asynchronously, and nothing is logged for them. `quorum_up` also runs at
//! start, after "Gained quorum ...". At stop every real server is logged "Shutting down
//! service ..." ("Shutting down (inhibited) service ..." for a dead one kept at weight 0), and
//! with `omega` the live servers' `notify_down` and the `quorum_down` run; no "Removing" line.

use std::sync::Arc;

use anyhow::{Context, Result};
use log::{error, info};

use crate::check::vs::{self, Change};
use crate::config::Config;
use crate::config::lvs::{LvsConfig, VirtualServer};
use crate::config::script::Script;
use crate::ipvs::reconcile::{self, Current, Desired};
use crate::ipvs::wire::{Op, ServiceKey, Timeouts};
use crate::ipvs::{Ipvs, IpvsError, table};

/// What to do with our part of the table at stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopMode {
    /// Delete each managed destination and service (keepalived's default).
    Remove,
    /// `lvs_flush_on_stop`: one flush of the whole table.
    Flush,
    /// `-I/--dont-release-ipvs`: leave everything.
    Keep,
}

/// Start-up options that come from `global_defs` and the command line.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// `lvs_flush`: flush the whole table before programming it.
    pub flush_at_start: bool,
    /// `lvs_timeouts tcp N tcpfin N udp N` (0 = leave as is).
    pub timeouts: Option<Timeouts>,
}

/// What one health event asks for, in order: IPVS operations (applied as one batch), log lines,
/// then scripts (each with the arguments to append).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Effects {
    pub ops: Vec<Op>,
    pub log: Vec<String>,
    pub scripts: Vec<Script>,
}

impl Effects {
    /// Log the lines and start the scripts (inside a tokio runtime); the ops are the caller's.
    pub fn announce(&self) {
        for l in &self.log {
            info!("{l}");
        }
        for s in &self.scripts {
            crate::exec::spawn(s, &[]);
        }
    }
}

/// The managed part of the IPVS table and the health model behind it, sans I/O.
pub struct Pool {
    desired: Desired,
    /// Per virtual server: its kernel services and its health model.
    models: Vec<(Vec<ServiceKey>, vs::VirtualServer)>,
    /// The LVS section, for log lines, scripts and turning health changes into destinations.
    /// Shared, not copied: the daemon keeps the same one as its running configuration.
    lvs: Arc<LvsConfig>,
}

impl Pool {
    /// The table at start, and what 2.2.7 logs and runs then: "Gained quorum" and `quorum_up`
    /// for each virtual server that starts with quorum.
    pub fn new(cfg: &Config) -> (Pool, Effects) {
        Pool::shared(Arc::new(cfg.lvs.clone()))
    }

    /// As [`Pool::new`], from the LVS section the caller keeps too.
    pub fn shared(lvs: Arc<LvsConfig>) -> (Pool, Effects) {
        let (desired, models) = table::desired_at_start(&lvs);
        let mut fx = Effects::default();
        for ((_, model), v) in models.iter().zip(&lvs.virtual_servers) {
            if model.quorum_up() {
                quorum_up_line(v, model.alive_weight(), &mut fx);
            }
        }
        (Pool { desired, models, lvs }, fx)
    }

    pub fn desired(&self) -> &Desired {
        &self.desired
    }

    /// Whether real server `rs` of virtual server `vs` is alive in the health model.
    pub fn alive(&self, vs: usize, rs: usize) -> Option<bool> {
        self.models.get(vs)?.1.servers.get(rs).map(|m| m.alive)
    }

    /// The pool for a reloaded LVS section. A virtual server is the same one when its key and
    /// protocol are, a real server when its address and port are: those keep their alive state
    /// (keepalived 2.2.7 migrates checker state); new ones start as at start-up. Destinations
    /// we managed in a service that stays are kept in `desired` as absent, so the plan removes
    /// them; services the section drops are the caller's (see [`Director::reload`]). Effects:
    /// 2.2.7's lines about the changes, and the quorum lines and scripts of new virtual servers.
    /// Linear in the size of both sections (hash lookups, no pairwise search).
    pub fn reloaded(&self, lvs: Arc<LvsConfig>) -> (Pool, Effects) {
        use std::collections::{HashMap, HashSet};
        type VsId = (crate::config::lvs::VsKey, Option<crate::config::lvs::Protocol>);
        type RsId = (std::net::IpAddr, u16);
        let id = |v: &VirtualServer| -> VsId { (v.key.clone(), v.protocol) };
        let rs_id = |r: &crate::config::lvs::RealServer| -> RsId { (r.addr, r.port) };
        // The running state by virtual server: its index, quorum, and real servers by identity.
        let mut old: HashMap<VsId, (usize, bool, HashMap<RsId, usize>)> = HashMap::new();
        for (i, ((_, model), v)) in self.models.iter().zip(&self.lvs.virtual_servers).enumerate() {
            let servers = v.real_servers.iter().enumerate().map(|(j, rs)| (rs_id(rs), j)).collect();
            old.insert(id(v), (i, model.quorum_up(), servers));
        }
        let alive_before = |v: &VirtualServer, rs: &crate::config::lvs::RealServer| -> Option<bool> {
            let (i, _, servers) = old.get(&id(v))?;
            let j = servers.get(&rs_id(rs))?;
            self.models.get(*i)?.1.servers.get(*j).map(|m| m.alive)
        };
        let (mut desired, models) = table::desired_with(&lvs, alive_before);
        let next: HashMap<VsId, HashSet<RsId>> =
            lvs.virtual_servers.iter().map(|n| (id(n), n.real_servers.iter().map(rs_id).collect())).collect();
        let mut fx = Effects::default();
        // 2.2.7's lines, in its order: live servers the section drops, dropped virtual servers,
        // weight changes of live servers, then quorum gained by new virtual servers.
        for ((_, model), v) in self.models.iter().zip(&self.lvs.virtual_servers) {
            let kept = next.get(&id(v));
            if kept.is_none() {
                fx.log.push(format!("Removing Virtual Server {}", v.label()));
            }
            for (rs, m) in v.real_servers.iter().zip(&model.servers) {
                if m.alive && !kept.is_some_and(|k| k.contains(&rs_id(rs))) {
                    if kept.is_some() {
                        fx.log.push(format!("service {} no longer exist", v.rs_label(rs)));
                    }
                    fx.log.push(format!("Removing service {} from VS {}", v.rs_label(rs), v.label()));
                }
            }
        }
        for ((_, model), n) in models.iter().zip(&lvs.virtual_servers) {
            let Some((i, _, servers)) = old.get(&id(n)) else { continue };
            let Some(v) = self.lvs.virtual_servers.get(*i) else { continue };
            for (rs, m) in n.real_servers.iter().zip(&model.servers) {
                if let Some(before) = servers.get(&rs_id(rs)).and_then(|j| v.real_servers.get(*j))
                    && m.alive
                    && before.weight != rs.weight
                {
                    fx.log.push(format!(
                        "Changing weight from {} to {} for active service {} of VS {}",
                        before.weight,
                        rs.weight,
                        n.rs_label(rs),
                        n.label()
                    ));
                }
            }
        }
        for ((_, model), v) in models.iter().zip(&lvs.virtual_servers) {
            let was_up = old.get(&id(v)).map(|(_, q, _)| *q);
            if model.quorum_up() && was_up != Some(true) {
                quorum_up_line(v, model.alive_weight(), &mut fx);
            }
        }
        // Destinations dropped from a service that stays: managed, now absent.
        for (key, svc) in &self.desired.services {
            if let Some(entry) = desired.services.get_mut(key) {
                for dk in svc.dests.keys() {
                    entry.dests.entry(*dk).or_insert(None);
                }
            }
        }
        (Pool { desired, models, lvs }, fx)
    }

    /// Real server `rs` of virtual server `vs` became alive or dead.
    pub fn set_alive(&mut self, vs: usize, rs: usize, alive: bool) -> Effects {
        let Some((_, model)) = self.models.get_mut(vs) else { return Effects::default() };
        let changes = model.set_alive(rs, alive);
        self.effects(vs, &changes)
    }

    /// A dynamic checker gave real server `rs` of virtual server `vs` a new effective weight.
    pub fn set_weight(&mut self, vs: usize, rs: usize, weight: u32) -> Effects {
        let Some((_, model)) = self.models.get_mut(vs) else { return Effects::default() };
        let changes = model.set_weight(rs, weight);
        self.effects(vs, &changes)
    }

    /// Turn one virtual server's model changes into table operations, lines and scripts.
    fn effects(&mut self, vs: usize, changes: &[Change]) -> Effects {
        let mut fx = Effects::default();
        let (Some((keys, _)), Some(v)) = (self.models.get(vs), self.lvs.virtual_servers.get(vs)) else { return fx };
        for c in changes {
            notify(v, c, &mut fx);
        }
        // Only this virtual server's services can change: plan over them alone, against what we
        // last programmed, so a health change costs the size of one virtual server, not of the
        // whole table (with 10,000 checked servers a whole-table plan per change starved the
        // checkers).
        let before = self.desired.subset(keys);
        table::apply_changes(&mut self.desired, keys, v, changes);
        fx.ops = reconcile::plan(&self.desired.subset(keys), &current_from(&before));
        fx
    }

    /// What 2.2.7 logs and runs at stop, before the table is cleared.
    pub fn shutdown(&self) -> Effects {
        let mut fx = Effects::default();
        for ((_, model), v) in self.models.iter().zip(&self.lvs.virtual_servers) {
            for (rs, m) in v.real_servers.iter().zip(&model.servers) {
                let inhibited = if !m.alive && m.inhibit_on_failure { "(inhibited) " } else { "" };
                fx.log.push(format!("Shutting down {inhibited}service {} from VS {}", v.rs_label(rs), v.label()));
            }
            if v.omega {
                for (rs, m) in v.real_servers.iter().zip(&model.servers) {
                    if m.alive {
                        fx.scripts.extend(rs.notify_down.as_deref().cloned());
                    }
                }
                if model.quorum_up() {
                    fx.scripts.extend(v.quorum_down.clone());
                }
            }
        }
        fx
    }
}

pub struct Director {
    ipvs: Ipvs,
    pool: Pool,
}

impl Director {
    /// Open IPVS and program the table the config's LVS section asks for. Runs `quorum_up`
    /// scripts: call it inside a tokio runtime.
    pub fn start(lvs: Arc<LvsConfig>, opts: &Options) -> Result<Director> {
        let t0 = std::time::Instant::now();
        let mut ipvs = Ipvs::open().context("IPVS: can't initialize ipvs")?;
        if opts.flush_at_start {
            ipvs.flush().context("lvs_flush")?;
        }
        if let Some(t) = &opts.timeouts {
            ipvs.set_timeouts(t).context("lvs_timeouts")?;
        }
        let (pool, fx) = Pool::shared(lvs);
        let mut d = Director { ipvs, pool };
        let current = d.dump()?;
        let ops = reconcile::plan(&d.pool.desired, &current);
        let before = d.ipvs.round_trips();
        let failed = d.apply(&ops);
        fx.announce();
        info!(
            "IPVS: {} services, {} destinations; {} changes in {} netlink round trips{} ({} ms)",
            d.pool.desired.services.len(),
            d.pool.desired.dest_count(),
            ops.len(),
            d.ipvs.round_trips() - before,
            if failed > 0 { format!(", {failed} failed") } else { String::new() },
            t0.elapsed().as_millis()
        );
        Ok(d)
    }

    /// SIGHUP with a changed LVS section: program the difference (services and destinations
    /// the new section drops go, new ones come, changed ones are edited), keeping each real
    /// server that stays in its current state. Returns false (logged) when IPVS cannot be read.
    pub fn reload(&mut self, lvs: Arc<LvsConfig>) -> bool {
        let (pool, fx) = self.pool.reloaded(lvs);
        let old = std::mem::replace(&mut self.pool, pool);
        let current = match dump_managed(&mut self.ipvs, &[&old.desired, &self.pool.desired]) {
            Ok(c) => c,
            Err(e) => {
                error!("{e:#}");
                return false;
            }
        };
        let gone: Vec<ServiceKey> =
            old.desired.services.keys().filter(|k| !self.pool.desired.services.contains_key(k)).copied().collect();
        let mut ops = reconcile::teardown(&old.desired.subset(&gone), &current);
        ops.extend(reconcile::plan(&self.pool.desired, &current));
        let failed = self.apply(&ops);
        fx.announce();
        info!(
            "IPVS: reload: {} services, {} destinations; {} changes{}",
            self.pool.desired.services.len(),
            self.pool.desired.dest_count(),
            ops.len(),
            if failed > 0 { format!(", {failed} failed") } else { String::new() }
        );
        true
    }

    /// Whether real server `rs` of virtual server `vs` is alive (see [`Pool::alive`]).
    pub fn alive(&self, vs: usize, rs: usize) -> Option<bool> {
        self.pool.alive(vs, rs)
    }

    /// One dump of the kernel table: every service, and the destinations of the ones we manage.
    fn dump(&mut self) -> Result<Current> {
        dump_managed(&mut self.ipvs, &[&self.pool.desired])
    }

    /// Apply operations in one pipelined batch; log each failure. Returns the failure count.
    /// As keepalived does, "already exists" on add and "not found" on delete are not failures.
    fn apply(&mut self, ops: &[Op]) -> usize {
        if ops.is_empty() {
            return 0;
        }
        let mut failed = 0;
        for r in self.ipvs.apply(ops) {
            if let Err(e) = r
                && !benign(&e)
            {
                error!("IPVS: {e}");
                failed += 1;
            }
        }
        failed
    }

    /// Real server `rs` of virtual server `vs` became alive or dead: update the table at once.
    pub fn set_alive(&mut self, vs: usize, rs: usize, alive: bool) {
        let fx = self.pool.set_alive(vs, rs, alive);
        self.carry_out(fx);
    }

    /// A real server's effective weight changed: edit it in the table at once.
    pub fn set_weight(&mut self, vs: usize, rs: usize, weight: u32) {
        let fx = self.pool.set_weight(vs, rs, weight);
        self.carry_out(fx);
    }

    /// keepalived logs a change before making it and runs the scripts after.
    fn carry_out(&mut self, fx: Effects) {
        for l in &fx.log {
            info!("{l}");
        }
        self.apply(&fx.ops);
        for s in &fx.scripts {
            crate::exec::spawn(s, &[]);
        }
    }

    /// Remove what we added, as configured. The `-I` mode leaves the table, and 2.2.7 says
    /// nothing then (not measured with lvs_flush_on_stop: we log as for the default mode).
    /// Runs `omega` scripts: call it inside a tokio runtime.
    pub fn stop(mut self, mode: StopMode) {
        if mode != StopMode::Keep {
            self.pool.shutdown().announce();
        }
        match mode {
            StopMode::Keep => {}
            StopMode::Flush => {
                if let Err(e) = self.ipvs.flush() {
                    error!("IPVS: {e}");
                }
            }
            StopMode::Remove => match self.dump() {
                Ok(current) => {
                    let ops = reconcile::teardown(&self.pool.desired, &current);
                    self.apply(&ops);
                }
                Err(e) => error!("{e:#}"),
            },
        }
    }

    pub fn desired(&self) -> &Desired {
        &self.pool.desired
    }
}

/// One dump of the kernel table: every service, and the destinations of the services of any
/// of `managed` (foreign services' destinations are none of our business).
fn dump_managed(ipvs: &mut Ipvs, managed: &[&Desired]) -> Result<Current> {
    let services = ipvs.services().context("IPVS: dumping services")?;
    let mut entries = Vec::with_capacity(services.len());
    for s in services {
        let dests = if managed.iter().any(|d| d.services.contains_key(&s.service.key)) {
            ipvs.dests(s.service.key)
                .with_context(|| format!("IPVS: dumping destinations of {}", s.service.key))?
                .into_iter()
                .map(|e| e.dest)
                .collect()
        } else {
            Vec::new()
        };
        entries.push((s, dests));
    }
    Ok(Current::from_dump(entries))
}

fn benign(e: &IpvsError) -> bool {
    let errno = e.errno();
    let op = e.op();
    (errno == Some(libc::EEXIST) && op.starts_with("NEW_")) || (errno == Some(libc::ENOENT) && op.starts_with("DEL_"))
}

/// The table as we believe the kernel holds it: the desired one, absent entries dropped.
fn current_from(d: &Desired) -> Current {
    let services = d
        .services
        .iter()
        .map(|(k, s)| {
            let dests = s.dests.iter().filter_map(|(dk, d)| d.map(|d| (*dk, d))).collect();
            (*k, reconcile::CurrentService { service: s.service.clone(), dests })
        })
        .collect();
    Current { services }
}

/// keepalived's log lines and notify scripts for one model change. As in 2.2.7, the lines tell
/// state changes, not table operations: a server coming up is "Adding service" (or "Enabling"
/// with inhibit_on_failure) even while the sorry server stands in for it, and a quorum change
/// with a sorry server is told in two lines, not one per server.
fn notify(v: &VirtualServer, c: &Change, fx: &mut Effects) {
    let rs = |i: usize| v.real_servers.get(i);
    let rs_label = |i: usize| rs(i).map(|r| v.rs_label(r)).unwrap_or_else(|| format!("#{i}"));
    let inhibit = |i: usize| rs(i).is_some_and(|r| r.inhibit_on_failure);
    let vs = v.label();
    match *c {
        Change::RsUp(i) => {
            fx.log.push(if inhibit(i) {
                format!("Enabling service {} of VS {vs}", rs_label(i))
            } else {
                format!("Adding service {} to VS {vs}", rs_label(i))
            });
            fx.scripts.extend(rs(i).and_then(|r| r.notify_up.as_deref().cloned()));
        }
        Change::RsDown(i) => {
            fx.log.push(if inhibit(i) {
                format!("Disabling service {} of VS {vs}", rs_label(i))
            } else {
                format!("Removing service {} from VS {vs}", rs_label(i))
            });
            fx.scripts.extend(rs(i).and_then(|r| r.notify_down.as_deref().cloned()));
        }
        Change::RsWeight { rs: i, from, to, active } => {
            let state = if active { "active" } else { "inactive" };
            fx.log.push(format!("Changing weight from {from} to {to} for {state} service {} of VS {vs}", rs_label(i)));
        }
        Change::QuorumUp { sum } => {
            quorum_up_line(v, sum, fx);
            if let Some(s) = v.sorry_label() {
                fx.log.push(format!("Removing sorry server {s} from VS {vs}"));
                fx.log.push(format!("Adding alive servers to the pool for VS {vs}"));
            }
        }
        Change::QuorumDown { sum } => {
            fx.log.push(format!(
                "Lost quorum {}-{}={} > {sum} for VS {vs}",
                v.quorum,
                v.hysteresis,
                v.quorum.saturating_sub(v.hysteresis)
            ));
            if let Some(s) = v.sorry_label() {
                fx.log.push(format!("Adding sorry server {s} to VS {vs}"));
                fx.log.push(format!("Removing alive servers from the pool for VS {vs}"));
            }
            fx.scripts.extend(v.quorum_down.clone());
        }
        // Table operations: told by the state changes above.
        Change::Add(..) | Change::Weight(..) | Change::Remove(..) => {}
    }
}

/// "Gained quorum" and the quorum_up script (also at start, where 2.2.7 says no more).
fn quorum_up_line(v: &VirtualServer, sum: u64, fx: &mut Effects) {
    fx.log.push(format!(
        "Gained quorum {}+{}={} <= {sum} for VS {}",
        v.quorum,
        v.hysteresis,
        v.quorum + v.hysteresis,
        v.label()
    ));
    fx.scripts.extend(v.quorum_up.clone());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{SourceOptions, load_str};
    use crate::ipvs::wire::Dest;

    /// The VM run of 2.2.7 this reproduces: VS1 with quorum 6 over weights 5 (misc_dynamic),
    /// 1 and 2 (both inhibit_on_failure); VS2 with omega and a sorry server.
    const CONF: &str = "virtual_server 10.9.9.9 80 {\n lb_algo wrr\n lb_kind NAT\n protocol TCP\n quorum 6\n\
        quorum_up \"/bin/echo QUP1 a\"\n quorum_down \"/bin/echo QDOWN1\"\n\
        real_server 10.0.1.2 80 {\n weight 5\n notify_up \"/bin/echo UP_A\"\n notify_down \"/bin/echo DOWN_A\"\n\
        MISC_CHECK {\n misc_path \"/bin/true\"\n misc_dynamic\n }\n }\n\
        real_server 10.0.2.2 80 {\n weight 1\n inhibit_on_failure\n notify_down \"/bin/echo DOWN_B\"\n\
        MISC_CHECK {\n misc_path \"/bin/true\"\n }\n }\n\
        real_server 10.0.5.2 80 {\n weight 2\n inhibit_on_failure\n MISC_CHECK {\n misc_path \"/bin/true\"\n }\n }\n}\n\
        virtual_server 10.9.9.10 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n omega\n sorry_server 10.0.9.2 80\n\
        quorum_down \"/bin/echo QDOWN2\"\n\
        real_server 10.0.3.2 80 {\n notify_down \"/bin/echo DOWN_C\"\n MISC_CHECK {\n misc_path \"/bin/true\"\n }\n }\n\
        real_server 10.0.4.2 80 {\n weight 3\n notify_down \"/bin/echo DOWN_D\"\n\
        MISC_CHECK {\n misc_path \"/bin/true\"\n }\n }\n}\n";

    fn pool() -> (Pool, Effects) {
        let (cfg, diags) = load_str("t.conf", CONF, &SourceOptions::default());
        assert!(diags.exit_code() != 2, "{:?}", diags.list);
        Pool::new(&cfg)
    }

    /// The first words of each script's command line.
    fn scripts(fx: &Effects) -> Vec<String> {
        fx.scripts.iter().map(|s| s.argv[1..].join(" ")).collect()
    }

    fn key(last: u8) -> ServiceKey {
        ServiceKey::Addr { protocol: crate::ipvs::wire::Protocol::Tcp, addr: [10, 9, 9, last].into(), port: 80 }
    }

    fn dest(c: u8, w: u32) -> Dest {
        Dest::new([10, 0, c, 2].into(), 80, crate::ipvs::wire::Forward::Masq, w)
    }

    #[test]
    fn quorum_gained_at_start_is_logged_and_runs_quorum_up() {
        let (_, fx) = pool();
        assert_eq!(
            fx.log,
            ["Gained quorum 6+0=6 <= 8 for VS [10.9.9.9]:tcp:80", "Gained quorum 1+0=1 <= 4 for VS [10.9.9.10]:tcp:80"]
        );
        assert_eq!(scripts(&fx), ["QUP1 a"], "VS2 has no quorum_up");
        assert!(fx.ops.is_empty(), "the start table is programmed by the director");
    }

    #[test]
    fn no_quorum_at_start_says_nothing() {
        let text = CONF.replace("quorum 6", "quorum 6\n alpha");
        let (cfg, _) = load_str("t.conf", &text, &SourceOptions::default());
        let (_, fx) = Pool::new(&cfg);
        assert_eq!(fx.log, ["Gained quorum 1+0=1 <= 4 for VS [10.9.9.10]:tcp:80"]);
        assert!(fx.scripts.is_empty());
    }

    /// The weight sequence measured on 2.2.7: 5 -> 8 -> 5 -> 1 (quorum lost: 1+1+2 < 6) -> 10.
    #[test]
    fn dynamic_weight_is_one_edit_with_keepalived_lines() {
        let (mut p, _) = pool();
        let fx = p.set_weight(0, 0, 8);
        assert_eq!(fx.ops, [Op::EditDest(key(9), dest(1, 8))]);
        assert_eq!(
            fx.log,
            ["Changing weight from 5 to 8 for active service [10.0.1.2]:tcp:80 of VS [10.9.9.9]:tcp:80"]
        );
        assert!(fx.scripts.is_empty());
        assert_eq!(p.set_weight(0, 0, 5).ops, [Op::EditDest(key(9), dest(1, 5))]);
        let fx = p.set_weight(0, 0, 1);
        assert_eq!(fx.ops, [Op::EditDest(key(9), dest(1, 1))]);
        assert_eq!(
            fx.log,
            [
                "Changing weight from 5 to 1 for active service [10.0.1.2]:tcp:80 of VS [10.9.9.9]:tcp:80",
                "Lost quorum 6-0=6 > 4 for VS [10.9.9.9]:tcp:80"
            ]
        );
        assert_eq!(scripts(&fx), ["QDOWN1"]);
        let fx = p.set_weight(0, 0, 10);
        assert_eq!(fx.log[1], "Gained quorum 6+0=6 <= 13 for VS [10.9.9.9]:tcp:80");
        assert_eq!(scripts(&fx), ["QUP1 a"]);
        assert_eq!(p.set_weight(0, 0, 10), Effects::default(), "no change, nothing to do");
    }

    /// inhibit_on_failure: down is weight 0; a new weight while down is logged "inactive" and
    /// taken when the server comes back (2.2.7: "Changing weight from 1 to 5 for inactive
    /// service", then "Enabling service").
    #[test]
    fn inhibited_server_comes_back_at_its_new_weight() {
        let (mut p, _) = pool();
        let fx = p.set_alive(0, 1, false);
        assert_eq!(fx.ops, [Op::EditDest(key(9), dest(2, 0))]);
        assert_eq!(fx.log, ["Disabling service [10.0.2.2]:tcp:80 of VS [10.9.9.9]:tcp:80"]);
        assert_eq!(scripts(&fx), ["DOWN_B"]);
        let fx = p.set_weight(0, 1, 5);
        assert!(fx.ops.is_empty());
        assert_eq!(
            fx.log,
            ["Changing weight from 1 to 5 for inactive service [10.0.2.2]:tcp:80 of VS [10.9.9.9]:tcp:80"]
        );
        let fx = p.set_alive(0, 1, true);
        assert_eq!(fx.ops, [Op::EditDest(key(9), dest(2, 5))]);
        assert_eq!(fx.log, ["Enabling service [10.0.2.2]:tcp:80 of VS [10.9.9.9]:tcp:80"]);
        assert!(fx.scripts.is_empty(), "B has no notify_up");
    }

    #[test]
    fn server_down_runs_notify_down_then_quorum_down() {
        let (mut p, _) = pool();
        let fx = p.set_alive(0, 0, false);
        assert_eq!(fx.ops, [Op::DelDest(key(9), dest(1, 5))]);
        assert_eq!(
            fx.log,
            [
                "Removing service [10.0.1.2]:tcp:80 from VS [10.9.9.9]:tcp:80",
                "Lost quorum 6-0=6 > 3 for VS [10.9.9.9]:tcp:80"
            ]
        );
        assert_eq!(scripts(&fx), ["DOWN_A", "QDOWN1"]);
        // A dead server out of the table changes weight silently and comes back with it.
        let fx = p.set_weight(0, 0, 10);
        assert_eq!(fx, Effects::default());
        let fx = p.set_alive(0, 0, true);
        assert_eq!(fx.ops, [Op::AddDest(key(9), dest(1, 10))]);
        assert_eq!(scripts(&fx), ["UP_A", "QUP1 a"]);
        assert_eq!(p.set_alive(5, 0, true), Effects::default(), "unknown virtual server");
    }

    /// 2.2.7 (VM): losing quorum with a sorry server is "Adding sorry server [..] to VS" and
    /// "Removing alive servers from the pool"; gaining it back the reverse, after the server's
    /// own "Adding service" line.
    #[test]
    fn sorry_server_swap_lines() {
        let (mut p, _) = pool();
        p.set_alive(1, 0, false);
        let fx = p.set_alive(1, 1, false);
        assert_eq!(
            fx.log,
            [
                "Removing service [10.0.4.2]:tcp:80 from VS [10.9.9.10]:tcp:80",
                "Lost quorum 1-0=1 > 0 for VS [10.9.9.10]:tcp:80",
                "Adding sorry server [10.0.9.2]:tcp:80 to VS [10.9.9.10]:tcp:80",
                "Removing alive servers from the pool for VS [10.9.9.10]:tcp:80",
            ]
        );
        let sorry = Dest::new([10, 0, 9, 2].into(), 80, crate::ipvs::wire::Forward::Masq, 1);
        assert_eq!(fx.ops, [Op::DelDest(key(10), dest(4, 3)), Op::AddDest(key(10), sorry)]);
        assert_eq!(scripts(&fx), ["DOWN_D", "QDOWN2"]);
        let fx = p.set_alive(1, 1, true);
        assert_eq!(
            fx.log,
            [
                "Adding service [10.0.4.2]:tcp:80 to VS [10.9.9.10]:tcp:80",
                "Gained quorum 1+0=1 <= 3 for VS [10.9.9.10]:tcp:80",
                "Removing sorry server [10.0.9.2]:tcp:80 from VS [10.9.9.10]:tcp:80",
                "Adding alive servers to the pool for VS [10.9.9.10]:tcp:80",
            ]
        );
        assert_eq!(fx.ops, [Op::AddDest(key(10), dest(4, 3)), Op::DelDest(key(10), sorry)]);
    }

    /// 2.2.7 at SIGTERM: a line per real server, "(inhibited)" for a dead one at weight 0; with
    /// omega, notify_down of the live servers and quorum_down.
    #[test]
    fn shutdown_lines_and_omega_scripts() {
        let (mut p, _) = pool();
        p.set_alive(0, 1, false);
        p.set_alive(1, 0, false);
        let fx = p.shutdown();
        assert_eq!(
            fx.log,
            [
                "Shutting down service [10.0.1.2]:tcp:80 from VS [10.9.9.9]:tcp:80",
                "Shutting down (inhibited) service [10.0.2.2]:tcp:80 from VS [10.9.9.9]:tcp:80",
                "Shutting down service [10.0.5.2]:tcp:80 from VS [10.9.9.9]:tcp:80",
                "Shutting down service [10.0.3.2]:tcp:80 from VS [10.9.9.10]:tcp:80",
                "Shutting down service [10.0.4.2]:tcp:80 from VS [10.9.9.10]:tcp:80",
            ]
        );
        assert_eq!(scripts(&fx), ["DOWN_D", "QDOWN2"], "C is down; VS1 has no omega");
        assert!(fx.ops.is_empty());
    }

    /// A reload keeps the state of what stays (the dead 10.0.2.2 stays at weight 0, no quorum
    /// line for the VS that keeps quorum), drops what goes (10.0.5.2's destination becomes
    /// managed-absent, VS2 is no longer desired), adds what comes, and says so as 2.2.7 does.
    #[test]
    fn reload_carries_state_and_reports_changes() {
        let (mut p, _) = pool();
        p.set_alive(0, 1, false);
        let next = CONF
            .replace("real_server 10.0.5.2 80 {\n weight 2\n", "real_server 10.0.6.2 80 {\n weight 2\n")
            .replace("real_server 10.0.1.2 80 {\n weight 5\n", "real_server 10.0.1.2 80 {\n weight 7\n");
        let next = next.split("virtual_server 10.9.9.10 80").next().unwrap().to_string();
        let (cfg, diags) = load_str("t.conf", &next, &SourceOptions::default());
        assert!(diags.exit_code() != 2, "{:?}", diags.list);
        let (q, fx) = p.reloaded(Arc::new(cfg.lvs));
        let vs1 = q.desired.services.values().next().unwrap();
        let dest = |a: &str| vs1.dests.get(&(a.parse().unwrap(), 80)).cloned();
        assert_eq!(dest("10.0.1.2").flatten().map(|d| d.weight), Some(7), "live, new weight");
        assert_eq!(dest("10.0.2.2").flatten().map(|d| d.weight), Some(0), "still dead: inhibited at 0");
        assert_eq!(dest("10.0.5.2"), Some(None), "dropped: managed, absent");
        assert_eq!(dest("10.0.6.2").flatten().map(|d| d.weight), Some(2), "new: alive at start");
        assert_eq!(q.alive(0, 1), Some(false));
        assert_eq!(q.desired.services.len(), 1, "VS2 is gone");
        assert_eq!(
            fx.log,
            [
                "service [10.0.5.2]:tcp:80 no longer exist",
                "Removing service [10.0.5.2]:tcp:80 from VS [10.9.9.9]:tcp:80",
                "Removing Virtual Server [10.9.9.10]:tcp:80",
                "Removing service [10.0.3.2]:tcp:80 from VS [10.9.9.10]:tcp:80",
                "Removing service [10.0.4.2]:tcp:80 from VS [10.9.9.10]:tcp:80",
                "Changing weight from 5 to 7 for active service [10.0.1.2]:tcp:80 of VS [10.9.9.9]:tcp:80",
            ]
        );
        assert!(fx.scripts.is_empty(), "VS1 kept its quorum: no quorum_up again");
    }
}
