//! The runtime side of `vrrp_sync_group` and `track_file`: wiring the members' tasks to the
//! shared [`sync::Group`], carrying out its commands, the group notifications, and the
//! track_file subscriptions.

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

use log::{info, warn};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::time::Instant;

use super::{Key, NotifyScripts, Runner};
use crate::config::vrrp::{SyncGroup, TrackFile, TrackRef, VrrpConfig};
use crate::vrrp::fsm::Event;
use crate::vrrp::socket;
use crate::vrrp::sync::{Command, Group, GroupState, Outcome};
use crate::vrrp::track::{self, Status, Tracked};
use crate::vrrp::trackfile::{self, Reading, Subscriber, Watched};

/// What the members of one sync group share.
pub(super) struct Shared {
    name: String,
    group: Mutex<Group>,
    members: Vec<UnboundedSender<Command>>,
    notify: NotifyScripts,
    fifos: Arc<Vec<std::fs::File>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Group> {
        // A panic elsewhere cannot leave the plain-data group half-updated in a harmful way.
        self.group.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The group's notify scripts, FIFO line and generic `notify` (`GROUP name STATE 0`);
    /// `None` is STOP.
    pub(super) fn notify(&self, st: Option<GroupState>) {
        let (script, word) = match st {
            Some(GroupState::Master) => (&self.notify.master, "MASTER"),
            Some(GroupState::Backup) => (&self.notify.backup, "BACKUP"),
            Some(GroupState::Fault) => (&self.notify.fault, "FAULT"),
            None => (&self.notify.stop, "STOP"),
        };
        if let Some(sc) = script {
            crate::exec::spawn(sc, &[]);
        }
        let line = format!("GROUP \"{}\" {word} 0\n", self.name);
        for f in self.fifos.iter() {
            use std::io::Write;
            if let Err(e) = (&*f).write_all(line.as_bytes()) {
                log::debug!("notify fifo write failed: {e}");
            }
        }
        if let Some(sc) = &self.notify.generic {
            crate::exec::spawn(sc, &["GROUP", &self.name, word, "0"]);
        }
    }
}

/// One member's end of its group.
pub(super) struct Link {
    idx: usize,
    shared: Arc<Shared>,
    rx: UnboundedReceiver<Command>,
    /// `wants_master` as last told to the group.
    want: bool,
    /// The group is in FAULT, so we must be.
    pub(super) group_fault: bool,
}

/// The live sync group `inst` belongs to.
pub(super) fn of<'a>(v: &'a VrrpConfig, inst: &str) -> Option<&'a SyncGroup> {
    v.sync_groups.iter().find(|g| !g.removed && g.members.iter().any(|(m, _)| m == inst))
}

/// Builds each live group from the members that started, tells their fsms, and notifies the
/// group's initial state (keepalived does that before its members' first notifications).
pub(super) fn link(v: &VrrpConfig, runners: &mut [Runner], fifos: &Arc<Vec<std::fs::File>>) -> Vec<Arc<Shared>> {
    let mut out = Vec::new();
    for g in v.sync_groups.iter().filter(|g| !g.removed) {
        let idx: Vec<usize> = g.members.iter().filter_map(|(m, _)| runners.iter().position(|r| r.name == *m)).collect();
        if idx.is_empty() {
            continue;
        }
        let faulted: Vec<bool> = idx
            .iter()
            .filter_map(|&k| runners.get(k))
            .map(|r| {
                let list: Vec<Tracked> = r.tracked.iter().map(|(_, t)| *t).collect();
                track::effective(r.base_priority, &list).1
            })
            .collect();
        let all_owners = idx.iter().filter_map(|&k| runners.get(k)).all(|r| r.fsm.owner_starts_master());
        let group = Group::new(&g.name, faulted, all_owners);
        let gfault = group.faulted();
        let first = group.initial_notify();
        let (txs, rxs): (Vec<_>, Vec<_>) = idx.iter().map(|_| unbounded_channel()).unzip();
        let shared = Arc::new(Shared {
            name: g.name.clone(),
            group: Mutex::new(group),
            members: txs,
            notify: NotifyScripts::from_config(&g.notify),
            fifos: fifos.clone(),
        });
        for (m, (&k, rx)) in idx.iter().zip(rxs).enumerate() {
            if let Some(r) = runners.get_mut(k) {
                r.fsm.join_sync_group(all_owners);
                r.sync = Some(Link { idx: m, shared: shared.clone(), rx, want: false, group_fault: gfault });
            }
        }
        if let Some(st) = first {
            shared.notify(Some(st));
        }
        out.push(shared);
    }
    out
}

/// The next group command; never, without a group.
pub(super) async fn recv(sync: &mut Option<Link>) -> Option<Command> {
    match sync {
        Some(l) => l.rx.recv().await,
        None => std::future::pending().await,
    }
}

impl Runner {
    /// A group's track_interface entries, except interfaces the instance tracks already.
    pub(super) fn track_group_interfaces(&mut self, g: &SyncGroup) {
        for t in &g.track_interfaces {
            let Ok(idx) = socket::ifindex(&t.name) else {
                warn!("({}) track_interface {} not found - ignoring", g.name, t.name);
                continue;
            };
            if self.tracked.iter().any(|(k, _)| *k == Key::If(idx)) {
                continue;
            }
            let up = super::link::is_up(&t.name).unwrap_or(false);
            let status = if up { Status::Up } else { Status::Down };
            self.tracked.push((Key::If(idx), Tracked { weight: t.weight.unwrap_or(0), reverse: t.reverse, status }));
        }
    }

    /// Our Master_Down expired (sync group member): become MASTER if the group lets us, taking
    /// the others along.
    pub(super) async fn want_master(&mut self) {
        let Some(l) = &self.sync else { return };
        let (go, out) = l.shared.lock().goto_master(l.idx);
        if go {
            let acts = self.fsm.handle(Instant::now(), Event::SyncMaster);
            self.exec_actions(acts).await;
        }
        self.report_want();
        self.dispatch(out);
    }

    /// We have started: a group starting in FAULT notifies after its last member has.
    pub(super) fn started(&mut self) {
        let Some(l) = &self.sync else { return };
        let due = l.shared.lock().started();
        if let Some(st) = due {
            l.shared.notify(Some(st));
        }
    }

    /// We yielded MASTER to a higher priority: the group goes BACKUP with us.
    pub(super) fn left_master(&mut self) {
        let Some(l) = &mut self.sync else { return };
        l.want = false;
        let out = l.shared.lock().member_backup(l.idx);
        self.dispatch(out);
    }

    /// Tells the group our own trackers' verdict; returns what the group then has to do (run
    /// after our own transition, as keepalived logs it).
    pub(super) fn report_fault(&mut self, fault: bool) -> Option<Outcome> {
        let l = self.sync.as_mut()?;
        let mut g = l.shared.lock();
        let out = g.set_fault(l.idx, fault);
        l.group_fault = g.faulted();
        Some(out)
    }

    pub(super) fn report_want(&mut self) {
        let want = self.fsm.wants_master();
        let Some(l) = &mut self.sync else { return };
        if l.want != want {
            l.want = want;
            l.shared.lock().set_want(l.idx, want);
        }
    }

    pub(super) async fn on_group_command(&mut self, cmd: Command) {
        match cmd {
            Command::Master => {
                let acts = self.fsm.handle(Instant::now(), Event::SyncMaster);
                self.exec(acts).await;
            }
            Command::Backup => {
                let acts = self.fsm.handle(Instant::now(), Event::SyncBackup);
                self.exec(acts).await;
            }
            Command::Fault(f) => {
                if let Some(l) = &mut self.sync {
                    l.group_fault = f;
                }
                self.apply_fault().await;
            }
        }
        let Some(l) = &self.sync else { return };
        let due = l.shared.lock().ack();
        if let Some(st) = due {
            l.shared.notify(Some(st));
        }
    }

    /// Logs the group's transition and sends the other members their commands; runs the group
    /// notifications that are due.
    pub(super) fn dispatch(&self, out: Outcome) {
        let Some(l) = &self.sync else { return };
        if let Some(st) = out.synced {
            info!("VRRP_Group({}) Syncing instances to {} state", l.shared.name, st.word());
        }
        let mut due = out.notify;
        for (k, cmd) in out.cmds {
            let sent = l.shared.members.get(k).is_some_and(|tx| tx.send(cmd).is_ok());
            // A member that has stopped will never acknowledge.
            if !sent && let Some(st) = l.shared.lock().ack() {
                due.push(st);
            }
        }
        for st in due {
            l.shared.notify(Some(st));
        }
    }
}

/// The track files in use: initialised (`init_file`) and read when first referenced, then
/// watched together by one task.
pub(super) struct Files<'a> {
    defs: &'a [TrackFile],
    /// Per config index: the value read at startup and the members to tell of changes.
    used: Vec<Option<(i32, Vec<Subscriber>)>>,
}

impl<'a> Files<'a> {
    pub(super) fn new(defs: &'a [TrackFile]) -> Files<'a> {
        Files { defs, used: defs.iter().map(|_| None).collect() }
    }

    /// Adds the instance's and its group's track_file references to `tracked`; the receiver for
    /// their changes, if any.
    pub(super) fn subscribe(
        &mut self,
        tracked: &mut Vec<(Key, Tracked)>,
        own: &[TrackRef],
        sg: Option<&SyncGroup>,
        inst: &str,
    ) -> Option<UnboundedReceiver<(usize, Status)>> {
        let (tx, rx) = unbounded_channel();
        let mut any = false;
        for t in own.iter().chain(sg.iter().flat_map(|g| &g.track_files)) {
            let Some((idx, def)) = self.defs.iter().enumerate().find(|(_, f)| f.name == t.name && !f.removed) else {
                warn!("({inst}) track_file {} not found - ignoring", t.name);
                continue;
            };
            let Some(path) = def.file.as_deref() else { continue };
            let Some(slot) = self.used.get_mut(idx) else { continue };
            let value = match slot {
                Some((v, _)) => *v,
                None => {
                    let v = first_read(def, path);
                    *slot = Some((v, Vec::new()));
                    v
                }
            };
            let (weight, reverse) = match t.weight {
                Some(w) => (w, t.reverse),
                None => (def.weight, def.weight_reverse),
            };
            if let Some((_, subs)) = slot {
                subs.push(Subscriber { tx: tx.clone(), inst: inst.to_string(), weight, reverse });
            }
            tracked.push((Key::File(idx), Tracked { weight, reverse, status: Status::Value(value) }));
            any = true;
        }
        any.then_some(rx)
    }

    /// The watcher task, if any file is in use.
    pub(super) fn into_watch(self) -> Option<impl Future<Output = ()> + Send + 'static> {
        let mut list = Vec::new();
        for (idx, (slot, def)) in self.used.into_iter().zip(self.defs).enumerate() {
            let (Some((value, subs)), Some(path)) = (slot, def.file.as_deref()) else { continue };
            list.push(Watched { idx, name: def.name.clone(), path: PathBuf::from(path), value, subs });
        }
        (!list.is_empty()).then(|| trackfile::watch(list))
    }
}

fn first_read(def: &TrackFile, path: &str) -> i32 {
    let p = std::path::Path::new(path);
    if let Some((v, overwrite)) = def.init_file
        && let Err(e) = trackfile::init(p, v, overwrite)
    {
        warn!("track_file {}: cannot initialise {path}: {e}", def.name);
    }
    match trackfile::read(p) {
        Reading::Value(v) => v,
        Reading::Invalid(v) => {
            info!("Invalid number {v} read from {path} - ignoring");
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{SourceOptions, load_str};

    fn cfg(dir: &std::path::Path) -> crate::config::Config {
        let text = format!(
            "track_file a {{\n file {d}/a\n weight 2 reverse\n init_file 7\n}}\n\
             track_file b {{\n file {d}/b\n weight 0\n}}\n\
             vrrp_sync_group G {{\n group {{\n  A\n  B\n }}\n track_file {{\n  a weight 3\n  b\n }}\n}}\n\
             vrrp_instance A {{\n interface lo\n virtual_router_id 1\n virtual_ipaddress {{\n 10.1.1.1\n }}\n \
             track_file {{\n  b\n }}\n}}\n\
             vrrp_instance B {{\n interface lo\n virtual_router_id 2\n virtual_ipaddress {{\n 10.1.1.2\n }}\n}}\n\
             vrrp_instance C {{\n interface lo\n virtual_router_id 3\n virtual_ipaddress {{\n 10.1.1.3\n }}\n}}\n",
            d = dir.display()
        );
        load_str("g.conf", &text, &SourceOptions::default()).0
    }

    #[test]
    fn group_of_and_track_file_subscriptions() {
        let dir = std::env::temp_dir().join(format!("vrrp-group-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("b"), "4").unwrap();
        let c = cfg(&dir);
        assert_eq!(of(&c.vrrp, "A").map(|g| g.name.as_str()), Some("G"));
        assert!(of(&c.vrrp, "C").is_none());
        let mut files = Files::new(&c.vrrp.track_files);
        // A: its own b (weight 0) plus the group's a (weight 3, not the file's 2 reverse) and b.
        let a = c.vrrp.instances.iter().find(|i| i.name == "A").unwrap();
        let mut tracked = Vec::new();
        assert!(files.subscribe(&mut tracked, &a.track_files, of(&c.vrrp, "A"), "A").is_some());
        let got: Vec<(Key, i32, bool, Status)> =
            tracked.iter().map(|(k, t)| (*k, t.weight, t.reverse, t.status)).collect();
        assert_eq!(
            got,
            [
                (Key::File(1), 0, false, Status::Value(4)),
                (Key::File(0), 3, false, Status::Value(7)),
                (Key::File(1), 0, false, Status::Value(4)),
            ]
        );
        assert_eq!(std::fs::read_to_string(dir.join("a")).unwrap(), "7\n", "init_file on first use");
        // 7 x 3 = +21, and b = 4 with weight 0 is a FAULT.
        let list: Vec<Tracked> = tracked.iter().map(|(_, t)| *t).collect();
        assert_eq!(track::effective(100, &list), (121, true));
        // Later readers see the value read once; C tracks nothing.
        std::fs::write(dir.join("a"), "1").unwrap();
        let mut t2 = Vec::new();
        files.subscribe(&mut t2, &[], of(&c.vrrp, "B"), "B");
        assert_eq!(t2.first().map(|(_, t)| t.status), Some(Status::Value(7)));
        assert!(files.subscribe(&mut Vec::new(), &[], None, "C").is_none());
        assert!(files.into_watch().is_some());
        assert!(Files::new(&c.vrrp.track_files).into_watch().is_none(), "nothing to watch when unused");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
