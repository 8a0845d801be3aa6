//! The VRRP state machine of one instance, sans I/O: `handle(now, event) -> actions`, plus the
//! next deadline. Timing and election rules are keepalived 2.2.7's (vrrp.c, vrrp_scheduler.c):
//!
//! * Master_Down = 3 x advert + skew; skew = (256 - P) / 256 s for v2 (not scaled by the
//!   interval), (256 - P) x MAI / 256 for v3, MAI learned from the master's adverts.
//! * Start: an address owner (priority 255) with `state MASTER` becomes master at once; every
//!   other instance starts BACKUP with a full Master_Down timer.
//! * BACKUP: a priority-0 advert shortens the timer to the skew; an advert is accepted (timer
//!   reset) if nopreempt, or its priority >= ours, or a configured preempt_delay is still
//!   running (the first lower-priority advert starts it); otherwise it is discarded and we take
//!   over when the timer fires. So a higher-priority node that joins waits a full Master_Down.
//! * MASTER: a lower-priority advert (or equal priority from a lower address) forces a new
//!   election: we advertise at once; a higher one (or equal from a higher address) sends us to
//!   BACKUP; a priority-0 advert makes us advertise at once.
//! * Stop and FAULT while master: a priority-0 advert, then the addresses go.
//! * In a sync group (`Params::sync_group`) an expired BACKUP timer does not make us master:
//!   it emits [`Action::WantMaster`] and re-arms a full Master_Down (2.2.7 logs "Receive
//!   advertisement timeout" again each time); the group (`vrrp::sync`) answers with
//!   [`Event::SyncMaster`] once every member wants it, and moves members with
//!   [`Event::SyncBackup`] / [`Event::Fault`].
//!
//! Validation of received packets happens before this machine (see `vrrp::wire`); an advert
//! reaching [`Instance::handle`] is one keepalived would accept for processing.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::time::Duration;

use tokio::time::Instant;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Init,
    Backup,
    Master,
    Fault,
    /// After a graceful stop: the instance does nothing more.
    Stopped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V2,
    V3,
}

/// What the machine needs from the instance's configuration.
#[derive(Debug, Clone)]
pub struct Params {
    pub version: Version,
    /// Configured priority (1..=255); 255 = address owner.
    pub priority: u8,
    pub advert_int: Duration,
    /// `state MASTER` in the config (only matters for an address owner).
    pub initial_master: bool,
    pub nopreempt: bool,
    pub preempt_delay: Option<Duration>,
    /// Our source address, the tie-break key for equal priorities.
    pub src: IpAddr,
    /// keepalived's `down_timer_adverts` (default 3).
    pub down_timer_adverts: u32,
    /// `lower_prio_no_advert`: do not answer a lower-priority advert with our own.
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert`: send one more advert before yielding to a higher priority.
    pub higher_prio_send_advert: bool,
    /// GARP pacing on becoming master: a burst now and another after `garp_master_delay`
    /// (zero: no second burst).
    pub garp_master_delay: Duration,
    /// After a lower-priority advert as master: a burst now and another after this (zero: none).
    pub garp_lower_prio_delay: Duration,
    /// `garp_master_refresh`: periodic bursts while master (`None` = off).
    pub garp_master_refresh: Option<Duration>,
    /// Member of a vrrp_sync_group: becoming master needs the group's consent.
    pub sync_group: bool,
}

impl Params {
    pub fn new(version: Version, priority: u8, advert_int: Duration, src: IpAddr) -> Self {
        Params {
            version,
            priority,
            advert_int,
            initial_master: false,
            nopreempt: false,
            preempt_delay: None,
            src,
            down_timer_adverts: 3,
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            garp_master_delay: Duration::from_secs(5),
            garp_lower_prio_delay: Duration::from_secs(5),
            garp_master_refresh: None,
            sync_group: false,
        }
    }
}

/// A received advert that passed validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advert {
    pub src: IpAddr,
    pub priority: u8,
    /// The advertised interval (v3: the master's Max Advertise Interval).
    pub interval: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Start,
    /// Instead of `Start` after a reload: carry on in the predecessor's state (keepalived 2.2.7
    /// keeps a MASTER master across SIGHUP, without an election or notifies).
    Resume(State),
    /// The deadline returned by [`Instance::next_deadline`] was reached.
    Timer,
    Advert(Advert),
    /// A tracked interface or tracker failed (`true`) or recovered (`false`).
    Fault(bool),
    /// The effective priority after tracking changed.
    Priority(u8),
    /// Sync group: the group went MASTER; a BACKUP member follows at once.
    SyncMaster,
    /// Sync group: the group went BACKUP; a MASTER member follows (no priority-0 advert).
    SyncBackup,
    Stop,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Send an advert with this priority.
    SendAdvert {
        priority: u8,
    },
    AddAddresses,
    RemoveAddresses,
    /// Send one burst of gratuitous ARPs / unsolicited NAs for the addresses.
    SendGarp(Garp),
    /// Entered this state (run notify scripts, write the FIFO, log).
    Notify(State),
    /// Received a lower-priority advert while master (keepalived logs "forcing new election").
    ForcingElection {
        from: IpAddr,
        priority: u8,
    },
    /// Sync group member: our Master_Down expired; ask the group whether we may be master.
    WantMaster,
}

/// Why a GARP burst is sent: keepalived sizes each kind with its own repeat count
/// (`garp_master_repeat`, `garp_lower_prio_repeat`, `garp_master_refresh_repeat`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Garp {
    /// On becoming master, and the delayed second burst.
    Master,
    /// A master heard a lower-priority advert (two masters): re-claim the addresses, and
    /// again after `garp_lower_prio_delay`.
    LowerPrio,
    /// `garp_master_refresh` while master.
    Refresh,
}

#[derive(Debug, Clone)]
pub struct Instance {
    p: Params,
    state: State,
    /// Effective priority (after tracking); 255 for an owner regardless.
    priority: u8,
    /// v3: the master advert interval learned from the master (else our own).
    master_adver_int: Duration,
    /// BACKUP: when we take over. MASTER: when we next advertise.
    timer: Option<Instant>,
    /// MASTER: when the delayed second GARP burst is due, each lower-priority advert's own
    /// delayed burst (keepalived arms a timer per advert; measured: they all fire), and the
    /// next refresh.
    garp_second: Option<Instant>,
    garp_lower_prio: VecDeque<Instant>,
    garp_refresh: Option<Instant>,
    /// BACKUP with preempt_delay: when preemption becomes allowed.
    preempt_at: Option<Instant>,
    faulted: bool,
    /// Sync group: the Master_Down timer expired with no master advert accepted since.
    want_master: bool,
    /// Last accepted master (for dumps and logs).
    pub master_src: Option<IpAddr>,
    pub master_priority: u8,
}

impl Instance {
    pub fn new(p: Params) -> Self {
        let prio = p.priority;
        let mai = p.advert_int;
        Instance {
            p,
            state: State::Init,
            priority: prio,
            master_adver_int: mai,
            timer: None,
            garp_second: None,
            garp_lower_prio: VecDeque::new(),
            garp_refresh: None,
            preempt_at: None,
            faulted: false,
            want_master: false,
            master_src: None,
            master_priority: 0,
        }
    }

    pub fn state(&self) -> State {
        self.state
    }

    pub fn priority(&self) -> u8 {
        self.priority
    }

    /// In FAULT, or told to be (before Start).
    pub fn faulted(&self) -> bool {
        self.faulted
    }

    /// keepalived's `wantstate == MASTER`: master, or a BACKUP whose Master_Down expired.
    /// An address owner with `state MASTER`: master at once on start.
    pub fn owner_starts_master(&self) -> bool {
        self.is_owner() && self.p.initial_master
    }

    /// Makes this instance a sync group member. Owners still start as MASTER only when every
    /// member does (2.2.7: a mixed group starts them as BACKUP with a full Master_Down).
    pub fn join_sync_group(&mut self, all_owners: bool) {
        self.p.sync_group = true;
        if !all_owners {
            self.p.initial_master = false;
        }
    }

    pub fn wants_master(&self) -> bool {
        self.state == State::Master || (self.state == State::Backup && self.want_master)
    }

    fn is_owner(&self) -> bool {
        self.p.priority == 255
    }

    /// Skew_Time, as keepalived computes it.
    pub fn skew(&self) -> Duration {
        let weight = u64::from(256 - u32::from(self.priority).min(255)) as u32;
        match self.p.version {
            Version::V2 => Duration::from_micros(u64::from(weight) * 1_000_000 / 256),
            Version::V3 => {
                let cs = self.master_adver_int.as_millis() as u64 / 10;
                Duration::from_micros(u64::from(weight) * cs * 10_000 / 256)
            }
        }
    }

    /// Master_Down_Interval.
    pub fn master_down(&self) -> Duration {
        let adv = match self.p.version {
            Version::V2 => self.p.advert_int,
            Version::V3 => self.master_adver_int,
        };
        adv * self.p.down_timer_adverts + self.skew()
    }

    /// The earliest time at which [`Event::Timer`] must be delivered.
    pub fn next_deadline(&self) -> Option<Instant> {
        [self.timer, self.garp_second, self.garp_lower_prio.front().copied(), self.garp_refresh]
            .into_iter()
            .flatten()
            .min()
    }

    pub fn handle(&mut self, now: Instant, ev: Event) -> Vec<Action> {
        let mut out = Vec::new();
        match ev {
            Event::Start => self.start(now, &mut out),
            Event::Resume(was) => self.resume(now, was, &mut out),
            Event::Timer => self.on_timer(now, &mut out),
            Event::Advert(a) => self.on_advert(now, a, &mut out),
            Event::Fault(f) => self.on_fault(now, f, &mut out),
            Event::Priority(p) => self.on_priority(now, p),
            Event::SyncMaster if self.state == State::Backup => self.become_master(now, &mut out),
            Event::SyncBackup if self.state == State::Master => self.leave_master(now, &mut out),
            Event::SyncMaster | Event::SyncBackup => {}
            Event::Stop => self.stop(&mut out),
        }
        out
    }

    fn start(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.state != State::Init {
            return;
        }
        // Leftovers of a crashed predecessor are removed before anything else.
        out.push(Action::RemoveAddresses);
        if self.faulted {
            self.enter_fault(out);
        } else if self.is_owner() && self.p.initial_master {
            self.become_master(now, out);
        } else {
            self.enter_backup(now, out);
        }
    }

    fn resume(&mut self, now: Instant, was: State, out: &mut Vec<Action>) {
        if self.state != State::Init {
            return;
        }
        match was {
            State::Master if !self.faulted => {
                self.state = State::Master;
                // An advert at once: the new priority or interval reaches the backups now.
                out.push(Action::SendAdvert { priority: self.priority });
                out.push(Action::AddAddresses);
                self.master_adver_int = self.p.advert_int;
                self.master_src = Some(self.p.src);
                self.master_priority = self.priority;
                self.timer = Some(now + self.p.advert_int);
                self.garp_refresh = self.p.garp_master_refresh.map(|r| now + r);
            }
            State::Master => {
                // Faulted by the new config: hand over at once, as a master entering FAULT does.
                out.push(Action::SendAdvert { priority: 0 });
                out.push(Action::RemoveAddresses);
                self.enter_fault(out);
            }
            State::Fault if self.faulted => self.state = State::Fault,
            _ if self.faulted => self.enter_fault(out),
            _ => {
                self.state = State::Backup;
                self.timer = Some(now + self.master_down());
            }
        }
    }

    fn enter_backup(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.state = State::Backup;
        self.want_master = false;
        self.clear_garps();
        self.preempt_at = None;
        self.timer = Some(now + self.master_down());
        out.push(Action::Notify(State::Backup));
    }

    fn become_master(&mut self, now: Instant, out: &mut Vec<Action>) {
        self.state = State::Master;
        // The advert goes first so that an old master drops its addresses.
        out.push(Action::SendAdvert { priority: self.priority });
        out.push(Action::AddAddresses);
        out.push(Action::SendGarp(Garp::Master));
        out.push(Action::Notify(State::Master));
        self.master_adver_int = self.p.advert_int;
        self.master_src = Some(self.p.src);
        self.master_priority = self.priority;
        self.timer = Some(now + self.p.advert_int);
        self.garp_second = after(now, self.p.garp_master_delay);
        self.garp_refresh = self.p.garp_master_refresh.map(|r| now + r);
        self.preempt_at = None;
    }

    fn leave_master(&mut self, now: Instant, out: &mut Vec<Action>) {
        out.push(Action::RemoveAddresses);
        self.enter_backup(now, out);
    }

    fn enter_fault(&mut self, out: &mut Vec<Action>) {
        if self.state == State::Master {
            out.push(Action::SendAdvert { priority: 0 });
            out.push(Action::RemoveAddresses);
        }
        self.state = State::Fault;
        self.want_master = false;
        self.timer = None;
        self.clear_garps();
        self.preempt_at = None;
        out.push(Action::Notify(State::Fault));
    }

    fn on_timer(&mut self, now: Instant, out: &mut Vec<Action>) {
        if self.state == State::Master {
            if self.garp_second.is_some_and(|t| t <= now) {
                self.garp_second = None;
                out.push(Action::SendGarp(Garp::Master));
            }
            while self.garp_lower_prio.front().is_some_and(|t| *t <= now) {
                self.garp_lower_prio.pop_front();
                out.push(Action::SendGarp(Garp::LowerPrio));
            }
            if let (Some(t), Some(r)) = (self.garp_refresh, self.p.garp_master_refresh)
                && t <= now
            {
                self.garp_refresh = Some(now + r);
                out.push(Action::SendGarp(Garp::Refresh));
            }
        }
        let Some(t) = self.timer else { return };
        if t > now {
            return;
        }
        match self.state {
            State::Backup if self.p.sync_group => {
                self.want_master = true;
                self.timer = Some(now + self.master_down());
                out.push(Action::WantMaster);
            }
            State::Backup => self.become_master(now, out),
            State::Master => {
                out.push(Action::SendAdvert { priority: self.priority });
                self.timer = Some(now + self.p.advert_int);
            }
            _ => self.timer = None,
        }
    }

    /// Does the sender win a tie on equal priority? (higher address wins)
    fn sender_wins_tie(&self, src: IpAddr) -> bool {
        src > self.p.src
    }

    fn on_advert(&mut self, now: Instant, a: Advert, out: &mut Vec<Action>) {
        match self.state {
            State::Backup => self.backup_rx(now, a),
            State::Master => self.master_rx(now, a, out),
            _ => {}
        }
    }

    fn backup_rx(&mut self, now: Instant, a: Advert) {
        if a.priority == 0 {
            self.timer = Some(now + self.skew());
            return;
        }
        let delay_running = match (self.p.preempt_delay, self.preempt_at) {
            (Some(_), Some(at)) => now < at,
            (Some(d), None) if a.priority < self.priority => {
                self.preempt_at = Some(now + d);
                true
            }
            _ => false,
        };
        if self.p.nopreempt || a.priority >= self.priority || delay_running {
            if a.priority >= self.priority {
                self.preempt_at = None;
            }
            if self.p.version == Version::V3 && !a.interval.is_zero() {
                self.master_adver_int = a.interval;
            }
            self.master_src = Some(a.src);
            self.master_priority = a.priority;
            self.timer = Some(now + self.master_down());
            self.want_master = false;
        }
        // Otherwise: "received lower priority advert - discarding"; the timer keeps running.
    }

    fn master_rx(&mut self, now: Instant, a: Advert, out: &mut Vec<Action>) {
        if a.priority == 0 {
            out.push(Action::SendAdvert { priority: self.priority });
            self.timer = Some(now + self.p.advert_int);
            return;
        }
        let higher = a.priority > self.priority || (a.priority == self.priority && self.sender_wins_tie(a.src));
        if higher {
            if self.p.higher_prio_send_advert {
                out.push(Action::SendAdvert { priority: self.priority });
            }
            self.master_src = Some(a.src);
            self.master_priority = a.priority;
            if self.p.version == Version::V3 && !a.interval.is_zero() {
                self.master_adver_int = a.interval;
            }
            self.leave_master(now, out);
        } else {
            out.push(Action::ForcingElection { from: a.src, priority: a.priority });
            if !self.p.lower_prio_no_advert {
                out.push(Action::SendAdvert { priority: self.priority });
                self.timer = Some(now + self.p.advert_int);
            }
            out.push(Action::SendGarp(Garp::LowerPrio));
            self.garp_lower_prio.extend(after(now, self.p.garp_lower_prio_delay));
        }
    }

    fn on_fault(&mut self, now: Instant, fault: bool, out: &mut Vec<Action>) {
        self.faulted = fault;
        match (fault, self.state) {
            (true, State::Backup | State::Master) => self.enter_fault(out),
            (false, State::Fault) => {
                // Leaving FAULT: back to our own interval and a full Master_Down.
                self.master_adver_int = self.p.advert_int;
                self.enter_backup(now, out);
            }
            _ => {}
        }
    }

    fn on_priority(&mut self, now: Instant, p: u8) {
        if self.is_owner() {
            return;
        }
        let p = p.clamp(1, 254);
        let old = self.master_down();
        self.priority = p;
        // In BACKUP a priority change moves the running timer by the skew difference.
        if self.state == State::Backup
            && let Some(t) = self.timer
        {
            let new = self.master_down();
            self.timer = Some(if new >= old { t + (new - old) } else { t.checked_sub(old - new).unwrap_or(now) });
        }
    }

    fn clear_garps(&mut self) {
        self.garp_second = None;
        self.garp_lower_prio.clear();
        self.garp_refresh = None;
    }

    fn stop(&mut self, out: &mut Vec<Action>) {
        if self.state == State::Master {
            out.push(Action::SendAdvert { priority: 0 });
            out.push(Action::RemoveAddresses);
        }
        self.state = State::Stopped;
        self.timer = None;
        self.clear_garps();
        out.push(Action::Notify(State::Stopped));
    }
}

/// `now + d`, or None for a zero delay (keepalived's "0: no second burst").
fn after(now: Instant, d: Duration) -> Option<Instant> {
    (!d.is_zero()).then(|| now + d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ip(last: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 168, 112, last))
    }

    fn v2(prio: u8) -> Params {
        Params::new(Version::V2, prio, Duration::from_secs(1), ip(11))
    }

    fn advert(last: u8, prio: u8) -> Event {
        Event::Advert(Advert { src: ip(last), priority: prio, interval: Duration::from_secs(1) })
    }

    fn started(p: Params) -> (Instance, Instant) {
        let t0 = Instant::now();
        let mut i = Instance::new(p);
        i.handle(t0, Event::Start);
        (i, t0)
    }

    #[test]
    fn timer_formulas_match_keepalived_dumps() {
        // keepalived 2.2.7 USR1 dump: prio 100, v2, adv 1 s: "Master down timer = 3609375 usecs".
        let i = Instance::new(v2(100));
        assert_eq!(i.master_down(), Duration::from_micros(3_609_375));
        assert_eq!(i.skew(), Duration::from_micros(609_375));
        // prio 100, v3, adv 0.1 s: 360937 usecs.
        let i = Instance::new(Params::new(Version::V3, 100, Duration::from_millis(100), ip(11)));
        assert_eq!(i.master_down(), Duration::from_micros(360_937));
        // v2 skew does not scale with the interval.
        let i = Instance::new(Params::new(Version::V2, 100, Duration::from_secs(3), ip(11)));
        assert_eq!(i.master_down(), Duration::from_micros(9_609_375));
    }

    #[test]
    fn starts_backup_and_takes_over_after_master_down() {
        let (mut i, t0) = started(v2(100));
        assert_eq!(i.state(), State::Backup);
        let d = i.next_deadline().unwrap();
        assert_eq!(d - t0, Duration::from_micros(3_609_375));
        let acts = i.handle(d, Event::Timer);
        assert_eq!(
            acts,
            [
                Action::SendAdvert { priority: 100 },
                Action::AddAddresses,
                Action::SendGarp(Garp::Master),
                Action::Notify(State::Master)
            ]
        );
        assert_eq!(i.state(), State::Master);
        // Adverts every interval; the second GARP burst after garp_master_delay.
        assert_eq!(i.next_deadline(), Some(d + Duration::from_secs(1)));
        let mut garps = 0;
        let mut t = d;
        while t < d + Duration::from_secs(6) {
            t = i.next_deadline().unwrap();
            garps += i.handle(t, Event::Timer).iter().filter(|a| matches!(a, Action::SendGarp(_))).count();
        }
        assert_eq!(garps, 1, "one delayed burst, no refresh configured");
    }

    #[test]
    fn owner_with_state_master_goes_master_at_once() {
        let mut p = v2(255);
        p.initial_master = true;
        let (i, _) = started(p);
        assert_eq!(i.state(), State::Master);
        let mut p = v2(200);
        p.initial_master = true;
        let (i, _) = started(p);
        assert_eq!(i.state(), State::Backup, "state MASTER below 255 still waits");
    }

    #[test]
    fn backup_accepts_higher_or_equal_and_resets_timer() {
        let (mut i, t0) = started(v2(100));
        let t1 = t0 + Duration::from_secs(2);
        i.handle(t1, advert(12, 150));
        assert_eq!(i.next_deadline(), Some(t1 + i.master_down()));
        assert_eq!(i.master_src, Some(ip(12)));
    }

    #[test]
    fn backup_discards_lower_priority_and_preempts() {
        let (mut i, t0) = started(v2(150));
        let first = i.next_deadline().unwrap();
        i.handle(t0 + Duration::from_secs(1), advert(12, 100));
        assert_eq!(i.next_deadline(), Some(first), "a discarded advert leaves the timer running");
        i.handle(first, Event::Timer);
        assert_eq!(i.state(), State::Master);
    }

    #[test]
    fn nopreempt_keeps_the_lower_priority_master() {
        let mut p = v2(150);
        p.nopreempt = true;
        let (mut i, t0) = started(p);
        let mut t = t0;
        for _ in 0..10 {
            t += Duration::from_secs(1);
            i.handle(t, advert(12, 100));
            assert!(i.next_deadline().unwrap() > t + Duration::from_secs(3));
        }
        assert_eq!(i.state(), State::Backup);
    }

    #[test]
    fn preempt_delay_postpones_takeover() {
        let mut p = v2(150);
        p.preempt_delay = Some(Duration::from_secs(2));
        let (mut i, t0) = started(p);
        // Adverts every second from a lower priority: accepted while the delay runs.
        let mut t = t0;
        let mut took_over = None;
        for _ in 0..20 {
            t += Duration::from_secs(1);
            while let Some(d) = i.next_deadline().filter(|d| *d <= t) {
                i.handle(d, Event::Timer);
                if i.state() == State::Master && took_over.is_none() {
                    took_over = Some(d);
                }
            }
            if i.state() == State::Backup {
                i.handle(t, advert(12, 100));
            }
        }
        let took = took_over.expect("takes over in the end") - t0;
        // The first lower advert (1 s) starts the 2 s delay; the one at 2 s is the last accepted,
        // so takeover is Master_Down (3 + 106/256 s) later: 5.41 s (man5's example: ~5.5 s).
        assert_eq!(took, Duration::from_secs(2) + Duration::from_micros(3_414_062));
    }

    #[test]
    fn priority_zero_advert_shortens_to_skew() {
        let (mut i, t0) = started(v2(100));
        let t1 = t0 + Duration::from_secs(1);
        i.handle(t1, advert(12, 0));
        assert_eq!(i.next_deadline(), Some(t1 + Duration::from_micros(609_375)));
    }

    #[test]
    fn master_forces_election_on_lower_and_yields_to_higher() {
        let mut p = v2(255);
        p.initial_master = true;
        let (mut i, t0) = started(p);
        let t = t0 + Duration::from_millis(10);
        let acts = i.handle(t, advert(12, 100));
        assert_eq!(
            acts,
            [
                Action::ForcingElection { from: ip(12), priority: 100 },
                Action::SendAdvert { priority: 255 },
                Action::SendGarp(Garp::LowerPrio)
            ]
        );
        assert_eq!(i.state(), State::Master);

        let (mut i, t0) = started(v2(100));
        let d = i.next_deadline().unwrap();
        i.handle(d, Event::Timer);
        assert_eq!(i.state(), State::Master);
        let acts = i.handle(t0 + Duration::from_secs(5), advert(12, 150));
        assert_eq!(acts, [Action::RemoveAddresses, Action::Notify(State::Backup)]);
        assert_eq!(i.state(), State::Backup);
    }

    /// A reload resumes the predecessor's state without an election or a notify; a MASTER
    /// re-asserts its addresses and advertises at once.
    #[test]
    fn resume_keeps_state_without_notifies() {
        let t0 = Instant::now();
        let mut m = Instance::new(v2(150));
        let acts = m.handle(t0, Event::Resume(State::Master));
        assert_eq!(acts, [Action::SendAdvert { priority: 150 }, Action::AddAddresses]);
        assert_eq!((m.state(), m.next_deadline()), (State::Master, Some(t0 + Duration::from_secs(1))));
        assert!(m.handle(t0, Event::Start).is_empty(), "no second start");

        let mut b = Instance::new(v2(100));
        assert!(b.handle(t0, Event::Resume(State::Backup)).is_empty());
        assert_eq!((b.state(), b.next_deadline()), (State::Backup, Some(t0 + b.master_down())));

        // Faulted by the new config: a resumed master hands over (priority 0) and drops its VIPs.
        let mut f = Instance::new(v2(150));
        f.handle(t0, Event::Fault(true));
        let acts = f.handle(t0, Event::Resume(State::Master));
        assert_eq!(acts, [Action::SendAdvert { priority: 0 }, Action::RemoveAddresses, Action::Notify(State::Fault)]);
        let mut f = Instance::new(v2(150));
        f.handle(t0, Event::Fault(true));
        assert!(f.handle(t0, Event::Resume(State::Fault)).is_empty(), "still FAULT: no notify");
    }

    /// The GARP timers of a master (keepalived's defaults: second bursts 5 s after becoming
    /// master and after a lower-priority advert; refresh when configured; 0 = no second burst).
    #[test]
    fn garp_second_bursts_and_refresh() {
        let garps = |i: &mut Instance, from: Instant, until: Instant| {
            let mut got = Vec::new();
            while let Some(t) = i.next_deadline().filter(|t| *t <= until).map(|t| t.max(from)) {
                for a in i.handle(t, Event::Timer) {
                    if let Action::SendGarp(k) = a {
                        got.push((t - from, k));
                    }
                }
            }
            got
        };
        let mut p = v2(255);
        p.initial_master = true;
        p.garp_master_refresh = Some(Duration::from_secs(7));
        let (mut i, t0) = started(p.clone());
        let s = Duration::from_secs;
        for at in [2, 3] {
            let acts = i.handle(t0 + s(at), advert(12, 100));
            assert!(acts.contains(&Action::SendGarp(Garp::LowerPrio)));
        }
        assert_eq!(
            garps(&mut i, t0, t0 + s(15)),
            [
                (s(5), Garp::Master),
                (s(7), Garp::LowerPrio),
                (s(7), Garp::Refresh),
                (s(8), Garp::LowerPrio),
                (s(14), Garp::Refresh)
            ]
        );

        p.garp_master_delay = Duration::ZERO;
        p.garp_lower_prio_delay = Duration::ZERO;
        p.garp_master_refresh = None;
        let (mut i, t0) = started(p);
        i.handle(t0 + s(1), advert(12, 100));
        assert_eq!(garps(&mut i, t0, t0 + s(15)), [], "delay 0: no second bursts");
        // Leaving MASTER cancels pending bursts.
        let (mut i, _) = started(v2(100));
        let d = i.next_deadline().unwrap();
        i.handle(d, Event::Timer);
        i.handle(d + s(1), advert(12, 50));
        i.handle(d + s(1), advert(12, 150));
        assert_eq!(i.state(), State::Backup);
        assert_eq!((i.garp_second, i.garp_lower_prio.len(), i.garp_refresh), (None, 0, None));
    }
    #[test]
    fn equal_priority_tie_break_by_address() {
        let (mut i, _) = started(v2(100));
        let d = i.next_deadline().unwrap();
        i.handle(d, Event::Timer);
        // Lower address, same priority: we stay master.
        i.handle(d, advert(10, 100));
        assert_eq!(i.state(), State::Master);
        // Higher address wins.
        i.handle(d, advert(12, 100));
        assert_eq!(i.state(), State::Backup);
    }

    #[test]
    fn graceful_stop_sends_priority_zero() {
        let (mut i, _) = started(v2(100));
        let d = i.next_deadline().unwrap();
        i.handle(d, Event::Timer);
        let acts = i.handle(d, Event::Stop);
        assert_eq!(acts, [Action::SendAdvert { priority: 0 }, Action::RemoveAddresses, Action::Notify(State::Stopped)]);
        assert_eq!(i.next_deadline(), None);
    }

    #[test]
    fn fault_and_recovery() {
        let (mut i, t0) = started(v2(100));
        let d = i.next_deadline().unwrap();
        i.handle(d, Event::Timer);
        let acts = i.handle(d, Event::Fault(true));
        assert_eq!(acts, [Action::SendAdvert { priority: 0 }, Action::RemoveAddresses, Action::Notify(State::Fault)]);
        assert_eq!(i.next_deadline(), None, "no adverts in FAULT");
        let t = t0 + Duration::from_secs(10);
        assert_eq!(i.handle(t, Event::Fault(false)), [Action::Notify(State::Backup)]);
        assert_eq!(i.next_deadline(), Some(t + i.master_down()));
        // Starting while faulted goes straight to FAULT.
        let mut j = Instance::new(v2(100));
        j.handle(t0, Event::Fault(true));
        j.handle(t0, Event::Start);
        assert_eq!(j.state(), State::Fault);
    }

    #[test]
    fn sync_member_asks_before_becoming_master() {
        let mut p = v2(100);
        p.sync_group = true;
        let (mut i, t0) = started(p);
        let d = i.next_deadline().unwrap();
        assert!(!i.wants_master());
        assert_eq!(i.handle(d, Event::Timer), [Action::WantMaster]);
        assert_eq!(i.state(), State::Backup);
        assert!(i.wants_master());
        // Refused: it asks again a full Master_Down later.
        let d2 = i.next_deadline().unwrap();
        assert_eq!(d2 - d, Duration::from_micros(3_609_375));
        // An accepted advert clears the wish; a lower one (discarded) does not.
        i.handle(d + Duration::from_millis(10), advert(12, 50));
        assert!(i.wants_master());
        i.handle(d + Duration::from_millis(20), advert(12, 150));
        assert!(!i.wants_master());
        // The group says go: master at once, with the usual actions.
        let acts = i.handle(d + Duration::from_millis(30), Event::SyncMaster);
        assert_eq!(acts[0], Action::SendAdvert { priority: 100 });
        assert!(acts.contains(&Action::Notify(State::Master)));
        assert!(i.wants_master());
        assert!(i.handle(t0, Event::SyncMaster).is_empty(), "already master");
        // The group goes BACKUP: no priority-0 advert, addresses go.
        let acts = i.handle(d + Duration::from_secs(1), Event::SyncBackup);
        assert_eq!(acts, [Action::RemoveAddresses, Action::Notify(State::Backup)]);
        assert!(!i.wants_master());
        assert!(i.handle(d + Duration::from_secs(1), Event::SyncBackup).is_empty());
        // In FAULT neither moves it.
        i.handle(d, Event::Fault(true));
        assert!(i.handle(d, Event::SyncMaster).is_empty());
        assert_eq!(i.state(), State::Fault);
    }

    #[test]
    fn sync_member_owner_starts_master_only_with_owner_peers() {
        let mut p = v2(255);
        p.initial_master = true;
        let mut mixed = Instance::new(p.clone());
        assert!(mixed.owner_starts_master());
        mixed.join_sync_group(false);
        assert!(!mixed.owner_starts_master());
        let t0 = Instant::now();
        mixed.handle(t0, Event::Start);
        assert_eq!(mixed.state(), State::Backup);
        assert_eq!(mixed.next_deadline(), Some(t0 + Duration::from_micros(3_003_906)));
        assert_eq!(mixed.handle(t0 + Duration::from_secs(4), Event::Timer), [Action::WantMaster]);
        let mut owners = Instance::new(p);
        owners.join_sync_group(true);
        owners.handle(t0, Event::Start);
        assert_eq!(owners.state(), State::Master);
    }

    #[test]
    fn v3_learns_master_interval() {
        let p = Params::new(Version::V3, 100, Duration::from_secs(1), ip(11));
        let (mut i, t0) = started(p);
        let a = Advert { src: ip(12), priority: 200, interval: Duration::from_millis(100) };
        i.handle(t0, Event::Advert(a));
        assert_eq!(i.master_down(), Duration::from_micros(360_937));
    }

    #[test]
    fn priority_change_moves_backup_timer() {
        let (mut i, t0) = started(v2(100));
        let before = i.next_deadline().unwrap();
        i.handle(t0, Event::Priority(200));
        let after = i.next_deadline().unwrap();
        assert_eq!(before - after, Duration::from_micros(609_375 - 218_750));
        // Owners ignore tracking.
        let mut p = v2(255);
        p.initial_master = true;
        let (mut o, _) = started(p);
        o.handle(t0, Event::Priority(10));
        assert_eq!(o.priority(), 255);
    }
}
