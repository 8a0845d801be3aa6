//! The LVS director: programs the kernel's IPVS table from the config at start, applies each
//! health change as one batch, and removes what it added at stop (keepalived's checker process).
//!
//! The table logic is pure (`ipvs::table`, `ipvs::reconcile`, `check::vs`); this module only
//! sequences it against the kernel through one [`Ipvs`] handle and logs as keepalived does.

use anyhow::{Context, Result};
use log::{error, info};

use crate::check::vs::{self, Change, Target};
use crate::config::Config;
use crate::config::lvs::VirtualServer;
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

pub struct Director {
    ipvs: Ipvs,
    desired: Desired,
    /// Per virtual server: its kernel services and its health model.
    models: Vec<(Vec<ServiceKey>, vs::VirtualServer)>,
    /// The virtual servers, for log lines and for turning health changes into destinations.
    /// Their checkers are dropped: the engine owns those, and they are most of the size.
    servers: Vec<VirtualServer>,
}

impl Director {
    /// Open IPVS and program the table the config asks for.
    pub fn start(cfg: &Config, opts: &Options) -> Result<Director> {
        let t0 = std::time::Instant::now();
        let mut ipvs = Ipvs::open().context("IPVS: can't initialize ipvs")?;
        if opts.flush_at_start {
            ipvs.flush().context("lvs_flush")?;
        }
        if let Some(t) = &opts.timeouts {
            ipvs.set_timeouts(t).context("lvs_timeouts")?;
        }
        let (desired, models) = table::desired_at_start(&cfg.lvs);
        let mut servers = cfg.lvs.virtual_servers.clone();
        for rs in servers.iter_mut().flat_map(|v| v.real_servers.iter_mut()) {
            rs.checkers = Vec::new();
        }
        let mut d = Director { ipvs, desired, models, servers };
        let current = d.dump()?;
        let ops = reconcile::plan(&d.desired, &current);
        let before = d.ipvs.round_trips();
        let failed = d.apply(&ops);
        info!(
            "IPVS: {} services, {} destinations; {} changes in {} netlink round trips{} ({} ms)",
            d.desired.services.len(),
            d.desired.dest_count(),
            ops.len(),
            d.ipvs.round_trips() - before,
            if failed > 0 { format!(", {failed} failed") } else { String::new() },
            t0.elapsed().as_millis()
        );
        Ok(d)
    }

    /// One dump of the kernel table: every service, and the destinations of the ones we manage.
    fn dump(&mut self) -> Result<Current> {
        let services = self.ipvs.services().context("IPVS: dumping services")?;
        let mut entries = Vec::with_capacity(services.len());
        for s in services {
            let dests = if self.desired.services.contains_key(&s.service.key) {
                self.ipvs
                    .dests(s.service.key)
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
        let Some((keys, model)) = self.models.get_mut(vs) else { return };
        let changes = model.set_alive(rs, alive);
        let Some(v) = self.servers.get(vs) else { return };
        for c in &changes {
            log_change(v, c);
        }
        let keys = keys.clone();
        // Only this virtual server's services can change: plan over them alone, against what we
        // last programmed, so a health change costs the size of one virtual server, not of the
        // whole table (with 10,000 checked servers a whole-table plan per change starved the
        // checkers).
        let before = self.desired.subset(&keys);
        table::apply_changes(&mut self.desired, &keys, v, &changes);
        let ops = reconcile::plan(&self.desired.subset(&keys), &current_from(&before));
        self.apply(&ops);
    }

    /// Remove what we added, as configured.
    pub fn stop(mut self, mode: StopMode) {
        match mode {
            StopMode::Keep => {}
            StopMode::Flush => {
                if let Err(e) = self.ipvs.flush() {
                    error!("IPVS: {e}");
                }
            }
            StopMode::Remove => match self.dump() {
                Ok(current) => {
                    let ops = reconcile::teardown(&self.desired, &current);
                    self.apply(&ops);
                }
                Err(e) => error!("{e:#}"),
            },
        }
    }

    pub fn desired(&self) -> &Desired {
        &self.desired
    }
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

/// keepalived's log lines for table changes.
fn log_change(v: &VirtualServer, c: &Change) {
    let rs_label = |i: usize| v.real_servers.get(i).map(|rs| v.rs_label(rs)).unwrap_or_else(|| format!("#{i}"));
    match *c {
        Change::Remove(Target::Real(i)) => info!("Removing service {} from VS {}", rs_label(i), v.label()),
        // Wording as 2.2.7 logs it for inhibit_on_failure (observed in the VM test).
        Change::Weight(Target::Real(i), 0) => info!("Disabling service {} of VS {}", rs_label(i), v.label()),
        Change::Weight(Target::Real(i), _) => info!("Enabling service {} of VS {}", rs_label(i), v.label()),
        Change::Add(Target::Real(i), _) => info!("Adding service {} to VS {}", rs_label(i), v.label()),
        Change::QuorumUp { sum } => info!(
            "Gained quorum {}+{}={} <= {} for VS {}",
            v.quorum,
            v.hysteresis,
            v.quorum + v.hysteresis,
            sum,
            v.label()
        ),
        Change::QuorumDown { sum } => info!(
            "Lost quorum {}-{}={} > {} for VS {}",
            v.quorum,
            v.hysteresis,
            v.quorum.saturating_sub(v.hysteresis),
            sum,
            v.label()
        ),
        Change::Add(Target::Sorry, _) | Change::Weight(Target::Sorry, _) => {
            info!("Adding sorry server to VS {}", v.label())
        }
        Change::Remove(Target::Sorry) => info!("Removing sorry server from VS {}", v.label()),
        Change::RsUp(_) | Change::RsDown(_) => {}
    }
}
