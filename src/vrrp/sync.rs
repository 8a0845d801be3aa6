//! `vrrp_sync_group`: keeps the member instances in one state, sans I/O. Each member's task
//! calls into the shared [`Group`] (under a lock) when something happens to it, and gets back
//! commands for the other members and the group notifications to run.
//!
//! keepalived 2.2.7's rules, as observed in a netns lab:
//! * A member whose Master_Down expires becomes MASTER only if the group is MASTER already or
//!   every other member wants MASTER too (its own timer expired); otherwise it stays BACKUP and
//!   asks again after another Master_Down. When one goes, the group goes: "VRRP_Group(G)
//!   Syncing instances to MASTER state", and the others become MASTER at once.
//! * A MASTER member that yields to a higher priority takes the others to BACKUP with it (they
//!   send no priority-0 advert).
//! * A member's own FAULT puts the group and every member in FAULT (masters send priority 0);
//!   the group leaves FAULT, all members to BACKUP, only when no member is faulty any more.
//! * Group notifies (`GROUP name STATE 0`) come after the members' own: at startup the group's
//!   BACKUP/FAULT comes first.

/// The group's state; members are in it too (give or take the moment of a transition).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupState {
    Backup,
    Master,
    Fault,
}

impl GroupState {
    /// The word in logs, notify arguments and FIFO lines.
    pub fn word(self) -> &'static str {
        match self {
            GroupState::Backup => "BACKUP",
            GroupState::Master => "MASTER",
            GroupState::Fault => "FAULT",
        }
    }
}

/// What a member is told to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// Become MASTER now (fsm `Event::SyncMaster`).
    Master,
    /// Leave MASTER for BACKUP (fsm `Event::SyncBackup`).
    Backup,
    /// The group is (true) or no longer is (false) in FAULT: the member's fsm is faulted
    /// while its own trackers or the group say so.
    Fault(bool),
}

/// The result of one call: commands for other members, the "Syncing instances" line and the
/// group notifications due now.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// (member index, command), never for the caller.
    pub cmds: Vec<(usize, Command)>,
    /// The group changed state: log "VRRP_Group(NAME) Syncing instances to STATE state" after the
    /// caller's own transition and before the commands.
    pub synced: Option<GroupState>,
    /// Group notifications to run now (more follow from [`Group::ack`]).
    pub notify: Vec<GroupState>,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub name: String,
    state: GroupState,
    /// Per member: its own trackers say FAULT.
    faulted: Vec<bool>,
    /// Per member: `fsm::Instance::wants_master` as last reported.
    want: Vec<bool>,
    /// A group notification waiting for this many members to carry out their commands.
    pending: Option<(GroupState, usize)>,
    /// A group starting in FAULT notifies after its members' first notifications: this many
    /// members have yet to start.
    start_wait: Option<usize>,
}

impl Group {
    /// A group of `faulted.len()` members, with each one's fault at startup. A group starting
    /// BACKUP notifies that first ([`Group::initial_notify`]); one starting FAULT after its
    /// members have ([`Group::started`]); a group of address owners (all `state MASTER`,
    /// priority 255) starts MASTER, its members go MASTER at once and 2.2.7 notifies nothing
    /// for the group.
    pub fn new(name: &str, faulted: Vec<bool>, all_owners: bool) -> Group {
        let state = if faulted.iter().any(|f| *f) {
            GroupState::Fault
        } else if all_owners {
            GroupState::Master
        } else {
            GroupState::Backup
        };
        let want = vec![false; faulted.len()];
        let start_wait = (state == GroupState::Fault).then_some(faulted.len());
        Group { name: name.to_string(), state, faulted, want, pending: None, start_wait }
    }

    /// The notification due before any member starts.
    pub fn initial_notify(&self) -> Option<GroupState> {
        (self.state == GroupState::Backup).then_some(GroupState::Backup)
    }

    /// A member has started (and notified its first state): the group's FAULT notification
    /// once the last one has.
    pub fn started(&mut self) -> Option<GroupState> {
        let n = self.start_wait?;
        if n <= 1 {
            self.start_wait = None;
            Some(GroupState::Fault)
        } else {
            self.start_wait = Some(n - 1);
            None
        }
    }

    pub fn state(&self) -> GroupState {
        self.state
    }

    /// Records whether member `m` wants MASTER (master, or its Master_Down expired).
    pub fn set_want(&mut self, m: usize, want: bool) {
        if let Some(w) = self.want.get_mut(m) {
            *w = want;
        }
    }

    /// Member `m`'s Master_Down expired: may it become MASTER? If yes and the group was not
    /// MASTER yet, the others are told to follow.
    pub fn goto_master(&mut self, m: usize) -> (bool, Outcome) {
        self.set_want(m, true);
        match self.state {
            GroupState::Master => (true, Outcome::default()),
            GroupState::Fault => (false, Outcome::default()),
            GroupState::Backup => {
                let all = self.want.iter().enumerate().all(|(k, w)| k == m || *w);
                if all {
                    (true, self.change(m, GroupState::Master, Command::Master))
                } else {
                    (false, Outcome::default())
                }
            }
        }
    }

    /// Member `m` left MASTER for BACKUP by itself (a higher-priority advert): the others follow.
    pub fn member_backup(&mut self, m: usize) -> Outcome {
        self.set_want(m, false);
        if self.state != GroupState::Master {
            return Outcome::default();
        }
        self.change(m, GroupState::Backup, Command::Backup)
    }

    /// Member `m`'s own trackers now say FAULT (or no longer do).
    pub fn set_fault(&mut self, m: usize, fault: bool) -> Outcome {
        if let Some(f) = self.faulted.get_mut(m) {
            *f = fault;
        }
        let any = self.faulted.iter().any(|f| *f);
        match (any, self.state) {
            (true, GroupState::Backup | GroupState::Master) => self.change(m, GroupState::Fault, Command::Fault(true)),
            (false, GroupState::Fault) => self.change(m, GroupState::Backup, Command::Fault(false)),
            _ => Outcome::default(),
        }
    }

    /// Is the group in FAULT (so every member must be)?
    pub fn faulted(&self) -> bool {
        self.state == GroupState::Fault
    }

    /// A member carried out a command: the group notification, once the last one has.
    pub fn ack(&mut self) -> Option<GroupState> {
        let (st, n) = self.pending?;
        if n <= 1 {
            self.pending = None;
            Some(st)
        } else {
            self.pending = Some((st, n - 1));
            None
        }
    }

    fn change(&mut self, caller: usize, to: GroupState, cmd: Command) -> Outcome {
        self.state = to;
        let cmds: Vec<(usize, Command)> = (0..self.faulted.len()).filter(|k| *k != caller).map(|k| (k, cmd)).collect();
        let mut notify = Vec::new();
        // A notification still waiting is overtaken: run it now, keepalived would have.
        if self.start_wait.take().is_some() {
            notify.push(GroupState::Fault);
        }
        if let Some((st, _)) = self.pending.take() {
            notify.push(st);
        }
        if cmds.is_empty() {
            notify.push(to);
        } else {
            self.pending = Some((to, cmds.len()));
        }
        Outcome { cmds, synced: Some(to), notify }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fsm::{self, Action, Advert, Event, Instance, State};
    use super::*;
    use std::collections::VecDeque;
    use std::net::{IpAddr, Ipv4Addr};
    use std::time::Duration;
    use tokio::time::Instant;

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(10, 0, 0, last))
    }

    fn advert(prio: u8) -> Event {
        Event::Advert(Advert { src: ip(99), priority: prio, interval: Duration::from_secs(1) })
    }

    /// Members and their group, run the way `runtime` runs them but in one thread with
    /// explicit time: commands are queued and carried out after the caller's turn.
    struct Sim {
        g: Group,
        m: Vec<Instance>,
        own_fault: Vec<bool>,
        queue: VecDeque<(usize, Command)>,
        /// "I<k> STATE", "G STATE", "sync STATE", "adv<k> PRIO" in order.
        log: Vec<String>,
    }

    impl Sim {
        fn new(prios: &[u8], t0: Instant) -> Sim {
            let m: Vec<Instance> = prios
                .iter()
                .enumerate()
                .map(|(k, p)| {
                    let mut params = fsm::Params::new(fsm::Version::V2, *p, Duration::from_secs(1), ip(k as u8 + 1));
                    params.sync_group = true;
                    Instance::new(params)
                })
                .collect();
            let n = m.len();
            let mut s = Sim {
                g: Group::new("G", vec![false; n], false),
                m,
                own_fault: vec![false; n],
                queue: VecDeque::new(),
                log: Vec::new(),
            };
            if let Some(st) = s.g.initial_notify() {
                s.log.push(format!("G {}", st.word()));
            }
            for k in 0..n {
                let acts = s.m[k].handle(t0, Event::Start);
                s.exec(k, t0, acts);
                if let Some(st) = s.g.started() {
                    s.log.push(format!("G {}", st.word()));
                }
            }
            s
        }

        fn exec(&mut self, k: usize, now: Instant, acts: Vec<Action>) {
            for a in acts {
                match a {
                    Action::Notify(st) => self.log.push(format!("I{k} {st:?}").to_uppercase()),
                    Action::SendAdvert { priority } => self.log.push(format!("adv{k} {priority}")),
                    Action::WantMaster => {
                        self.g.set_want(k, true);
                        let (go, out) = self.g.goto_master(k);
                        if go {
                            let acts = self.m[k].handle(now, Event::SyncMaster);
                            self.exec(k, now, acts);
                        }
                        self.outcome(out);
                    }
                    _ => {}
                }
            }
            self.g.set_want(k, self.m[k].wants_master());
        }

        fn outcome(&mut self, out: Outcome) {
            if let Some(st) = out.synced {
                self.log.push(format!("sync {}", st.word()));
            }
            for st in out.notify {
                self.log.push(format!("G {}", st.word()));
            }
            self.queue.extend(out.cmds);
        }

        fn drain(&mut self, now: Instant) {
            while let Some((k, c)) = self.queue.pop_front() {
                self.command(k, c, now);
                if let Some(st) = self.g.ack() {
                    self.log.push(format!("G {}", st.word()));
                }
            }
        }

        fn command(&mut self, k: usize, c: Command, now: Instant) {
            let ev = match c {
                Command::Master => Event::SyncMaster,
                Command::Backup => Event::SyncBackup,
                Command::Fault(f) => Event::Fault(f || self.own_fault[k]),
            };
            let acts = self.m[k].handle(now, ev);
            self.exec(k, now, acts);
        }

        /// Runs every timer due up to `t`, in time order.
        fn run_until(&mut self, t: Instant) {
            loop {
                let next = (0..self.m.len()).filter_map(|k| self.m[k].next_deadline().map(|d| (d, k))).min();
                let Some((d, k)) = next.filter(|(d, _)| *d <= t) else { break };
                let acts = self.m[k].handle(d, Event::Timer);
                self.exec(k, d, acts);
                self.drain(d);
            }
        }

        fn rx(&mut self, k: usize, now: Instant, ev: Event) {
            let was = self.m[k].state();
            let acts = self.m[k].handle(now, ev);
            self.exec(k, now, acts);
            if was == State::Master && self.m[k].state() == State::Backup {
                let out = self.g.member_backup(k);
                self.outcome(out);
            }
            self.drain(now);
        }

        fn fault(&mut self, k: usize, now: Instant, f: bool) {
            self.own_fault[k] = f;
            let out = self.g.set_fault(k, f);
            let acts = self.m[k].handle(now, Event::Fault(f || self.g.faulted()));
            self.exec(k, now, acts);
            self.outcome(out);
            self.drain(now);
        }

        fn states(&self) -> Vec<State> {
            self.m.iter().map(|i| i.state()).collect()
        }

        fn take_log(&mut self) -> Vec<String> {
            std::mem::take(&mut self.log)
        }
    }

    #[test]
    fn members_become_master_together_when_all_want_it() {
        let t0 = Instant::now();
        let mut s = Sim::new(&[100, 100], t0);
        assert_eq!(s.take_log(), ["G BACKUP", "I0 BACKUP", "I1 BACKUP"]);
        // Member 1 keeps hearing a master for 2 more seconds; member 0 times out alone.
        let d0 = s.m[0].next_deadline().unwrap();
        for k in 1..=5 {
            let t = t0 + Duration::from_millis(500 * k);
            s.run_until(t);
            s.rx(1, t, advert(120));
        }
        s.run_until(d0 + Duration::from_millis(10));
        assert_eq!(s.states(), [State::Backup, State::Backup], "0 waits for 1");
        assert!(s.m[0].wants_master());
        assert!(s.take_log().is_empty());
        // Member 1's own Master_Down then expires (2.5 s + 3.61 s): both go at that moment.
        let d1 = s.m[1].next_deadline().unwrap();
        assert_eq!(d1 - t0, Duration::from_millis(2500) + Duration::from_micros(3_609_375));
        s.run_until(d1);
        assert_eq!(s.states(), [State::Master, State::Master]);
        assert_eq!(s.take_log(), ["adv1 100", "I1 MASTER", "sync MASTER", "adv0 100", "I0 MASTER", "G MASTER"]);
    }

    #[test]
    fn a_live_master_on_one_member_keeps_the_group_backup() {
        let t0 = Instant::now();
        let mut s = Sim::new(&[100, 100], t0);
        let mut t = t0;
        for _ in 0..30 {
            t += Duration::from_secs(1);
            s.run_until(t);
            s.rx(1, t, advert(150));
        }
        assert_eq!(s.states(), [State::Backup, State::Backup]);
        // Member 0 asked every Master_Down (0 + 3.61 s, 7.22 s, ...).
        let d = s.m[0].next_deadline().unwrap();
        assert_eq!(d - t0, Duration::from_micros(3_609_375 * 9));
    }

    #[test]
    fn one_member_fault_faults_all_and_recovery_needs_all() {
        let t0 = Instant::now();
        let mut s = Sim::new(&[100, 100], t0);
        let d = s.m[0].next_deadline().unwrap();
        s.run_until(d);
        assert_eq!(s.states(), [State::Master, State::Master]);
        s.take_log();
        let t = d + Duration::from_secs(1);
        s.fault(1, t, true);
        assert_eq!(s.states(), [State::Fault, State::Fault]);
        // Both masters send priority 0 (unlike a sync to BACKUP).
        assert_eq!(s.take_log(), ["adv1 0", "I1 FAULT", "sync FAULT", "adv0 0", "I0 FAULT", "G FAULT"]);
        // A second member fault, then the first recovers: still FAULT.
        s.fault(0, t, true);
        s.fault(1, t, false);
        assert_eq!(s.states(), [State::Fault, State::Fault]);
        assert!(s.take_log().is_empty());
        let t2 = t + Duration::from_secs(1);
        s.fault(0, t2, false);
        assert_eq!(s.states(), [State::Backup, State::Backup]);
        assert_eq!(s.take_log(), ["I0 BACKUP", "sync BACKUP", "I1 BACKUP", "G BACKUP"]);
        // Full Master_Down from leaving FAULT, then MASTER together.
        assert_eq!(s.m[1].next_deadline(), Some(t2 + Duration::from_micros(3_609_375)));
        s.run_until(t2 + Duration::from_secs(4));
        assert_eq!(s.states(), [State::Master, State::Master]);
    }

    #[test]
    fn a_member_yielding_takes_the_others_to_backup() {
        let t0 = Instant::now();
        let mut s = Sim::new(&[100, 100, 100], t0);
        let d = s.m[0].next_deadline().unwrap();
        s.run_until(d);
        assert_eq!(s.states(), [State::Master; 3]);
        s.take_log();
        let t = d + Duration::from_millis(300);
        s.rx(2, t, advert(200));
        assert_eq!(s.states(), [State::Backup; 3]);
        assert_eq!(s.take_log(), ["I2 BACKUP", "sync BACKUP", "I0 BACKUP", "I1 BACKUP", "G BACKUP"], "no priority 0");
        // The member that heard the new master follows it; the others would take over after
        // their Master_Down but must wait for it: nobody is master.
        let mut t = t;
        for _ in 0..10 {
            t += Duration::from_secs(1);
            s.run_until(t);
            s.rx(2, t, advert(200));
        }
        assert_eq!(s.states(), [State::Backup; 3]);
        assert!(s.m[0].wants_master() && s.m[1].wants_master() && !s.m[2].wants_master());
    }

    #[test]
    fn fault_while_starting_and_lower_priority_adverts() {
        let t0 = Instant::now();
        let mut s = Sim::new(&[150, 150], t0);
        s.fault(0, t0, true);
        assert_eq!(s.states(), [State::Fault, State::Fault]);
        s.run_until(t0 + Duration::from_secs(20));
        assert_eq!(s.states(), [State::Fault, State::Fault], "no timers in FAULT");
        s.fault(0, t0 + Duration::from_secs(20), false);
        // Lower-priority adverts are discarded: the group preempts after Master_Down.
        let mut t = t0 + Duration::from_secs(20);
        for _ in 0..5 {
            t += Duration::from_secs(1);
            s.run_until(t);
            s.rx(0, t, advert(100));
            s.rx(1, t, advert(100));
        }
        assert_eq!(s.states(), [State::Master, State::Master]);
    }

    #[test]
    fn group_rules_directly() {
        let mut g = Group::new("G", vec![false, true, false], false);
        assert_eq!(g.state(), GroupState::Fault);
        assert_eq!(g.goto_master(0), (false, Outcome::default()), "no MASTER while in FAULT");
        assert_eq!((g.started(), g.started(), g.started()), (None, None, Some(GroupState::Fault)));
        let out = g.set_fault(1, false);
        assert_eq!(out.cmds, [(0, Command::Fault(false)), (2, Command::Fault(false))]);
        assert_eq!(out.synced, Some(GroupState::Backup));
        assert!(out.notify.is_empty(), "after the members");
        assert_eq!(g.ack(), None);
        // A second change overtakes the waiting notification: it is due at once.
        g.set_want(0, true);
        g.set_want(2, true);
        let (go, out) = g.goto_master(1);
        assert!(go);
        assert_eq!(out.notify, [GroupState::Backup]);
        assert_eq!(g.ack(), None);
        assert_eq!(g.ack(), Some(GroupState::Master));
        assert_eq!(g.ack(), None);
        // Already MASTER: a late member just goes, no new sync.
        assert_eq!(g.goto_master(2), (true, Outcome::default()));
        // BACKUP from a non-MASTER group does nothing.
        let mut h = Group::new("H", vec![false, false], false);
        assert_eq!(h.member_backup(0), Outcome::default());
        // A one-member group notifies at once; out-of-range members are ignored.
        let mut one = Group::new("O", vec![false], false);
        let (go, out) = one.goto_master(0);
        assert!(go);
        assert_eq!(out.notify, [GroupState::Master]);
        assert_eq!(one.set_fault(7, true), Outcome::default());
        one.set_want(9, true);
        // Address owners only: MASTER from the start; a fault still wins.
        assert_eq!(Group::new("W", vec![false, false], true).state(), GroupState::Master);
        assert_eq!(Group::new("W", vec![false, true], true).state(), GroupState::Fault);
        assert_eq!(Group::new("W", vec![false, false], true).initial_notify(), None);
        // Starting in FAULT: notified after both members started, BACKUP before them.
        let mut f = Group::new("F", vec![true, false], false);
        assert_eq!(f.initial_notify(), None);
        assert_eq!(f.started(), None);
        assert_eq!(f.started(), Some(GroupState::Fault));
        assert_eq!(f.started(), None);
        assert_eq!(Group::new("B", vec![false], false).initial_notify(), Some(GroupState::Backup));
        assert_eq!(Group::new("B", vec![false], false).started(), None);
        // A change before every member started: the FAULT notification is not lost.
        let mut f = Group::new("F", vec![true, false], false);
        f.started();
        let out = f.set_fault(0, false);
        assert_eq!(out.notify, [GroupState::Fault]);
        assert_eq!(f.started(), None);
    }
}
