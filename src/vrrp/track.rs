//! `vrrp_script` / `track_script`: the script runner (one task per script, whatever the number of
//! instances tracking it) and the pure rise/fall and effective-priority rules of keepalived 2.2.7.

use std::time::Duration;

use log::{info, warn};
use tokio::sync::mpsc::UnboundedSender;

use crate::config::script::Script;
use crate::config::vrrp::VrrpScript;

/// A tracked script's state as instances see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// No result yet (not `init_fail`): neither weight nor fault applies.
    Init,
    Up,
    Down,
    /// A track_file's value (see `trackfile::effect` for what it does to the priority).
    Value(i32),
}

/// Rise/fall counting: `rise` consecutive successes bring a down script up, `fall` consecutive
/// failures bring an up one down. From Init one result decides (keepalived starts the counter
/// one short of either threshold).
#[derive(Debug, Clone)]
pub struct RiseFall {
    rise: u32,
    fall: u32,
    run: u32,
    pub status: Status,
}

impl RiseFall {
    pub fn new(rise: u32, fall: u32, init_fail: bool) -> RiseFall {
        let status = if init_fail { Status::Down } else { Status::Init };
        RiseFall { rise: rise.max(1), fall: fall.max(1), run: 0, status }
    }

    /// Feeds one result; returns the new status when it changed.
    pub fn feed(&mut self, ok: bool) -> Option<Status> {
        let next = match (self.status, ok) {
            (Status::Init | Status::Value(_), true) => Status::Up,
            (Status::Init | Status::Value(_), false) => Status::Down,
            (Status::Up, true) | (Status::Down, false) => {
                self.run = 0;
                return None;
            }
            (Status::Down, true) => {
                self.run += 1;
                if self.run < self.rise {
                    return None;
                }
                Status::Up
            }
            (Status::Up, false) => {
                self.run += 1;
                if self.run < self.fall {
                    return None;
                }
                Status::Down
            }
        };
        self.run = 0;
        self.status = next;
        Some(next)
    }
}

/// One instance's view of one tracked script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracked {
    pub weight: i32,
    pub reverse: bool,
    pub status: Status,
}

/// keepalived's effective priority: base + positive weights of up trackers - |negative
/// weights| of down ones (`reverse` swaps up and down) + track_file offsets, clamped to
/// 1..=254; an owner stays 255. The bool is true when an unweighted tracker is down or a
/// track_file says FAULT (the instance goes to FAULT).
pub fn effective(base: u8, tracked: &[Tracked]) -> (u8, bool) {
    let mut total = i64::from(base);
    let mut fault = false;
    for t in tracked {
        let (up, down) = match t.status {
            Status::Init => continue,
            Status::Value(v) => {
                match super::trackfile::effect(v, t.weight, t.reverse) {
                    Some(off) => total += i64::from(off),
                    None => fault = true,
                }
                continue;
            }
            Status::Up => (!t.reverse, t.reverse),
            Status::Down => (t.reverse, !t.reverse),
        };
        if t.weight == 0 {
            fault |= down;
        } else if (t.weight > 0 && up) || (t.weight < 0 && down) {
            total += i64::from(t.weight);
        }
    }
    if base == 255 {
        return (255, fault);
    }
    (total.clamp(1, 254) as u8, fault)
}

/// Runs `s` every interval, killing it at the timeout, and sends each status change (tagged
/// with `idx`) to every subscriber.
pub async fn run_script(idx: usize, s: VrrpScript, subs: Vec<UnboundedSender<(usize, Status)>>) {
    let Some(script) = s.script.clone().filter(|sc| !sc.disabled && !sc.argv.is_empty()) else {
        warn!("VRRP_Script({}) has no runnable script: it stays in its initial state", s.name);
        return;
    };
    let mut rf = RiseFall::new(s.rise, s.fall, s.init_fail);
    let interval = if s.interval.is_zero() { Duration::from_secs(1) } else { s.interval };
    let timeout = s.timeout.filter(|t| !t.is_zero()).unwrap_or(interval);
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let ok = run_once(&script, timeout).await;
        if let Some(st) = rf.feed(ok) {
            match st {
                Status::Up => info!("VRRP_Script({}) succeeded", s.name),
                _ => info!("VRRP_Script({}) failed", s.name),
            }
            for tx in &subs {
                let _ = tx.send((idx, st));
            }
        }
    }
}

async fn run_once(s: &Script, timeout: Duration) -> bool {
    let Some(prog) = s.argv.first() else { return false };
    let mut cmd = tokio::process::Command::new(prog);
    cmd.args(s.argv.iter().skip(1)).kill_on_drop(true);
    cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    if let Some(uid) = s.uid {
        cmd.uid(uid);
    }
    if let Some(gid) = s.gid {
        cmd.gid(gid);
    }
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            warn!("cannot run script {}: {e}", s.display());
            return false;
        }
    };
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(Ok(st)) => st.success(),
        Ok(Err(_)) => false,
        Err(_) => {
            warn!("script {} timed out", s.display());
            let _ = child.kill().await;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rise_and_fall() {
        let mut r = RiseFall::new(2, 3, false);
        assert_eq!(r.status, Status::Init);
        assert_eq!(r.feed(true), Some(Status::Up), "one success is enough initially");
        assert_eq!(r.feed(false), None);
        assert_eq!(r.feed(false), None);
        assert_eq!(r.feed(true), None, "a success resets the failure run");
        assert_eq!(r.feed(false), None);
        assert_eq!(r.feed(false), None);
        assert_eq!(r.feed(false), Some(Status::Down));
        assert_eq!(r.feed(true), None);
        assert_eq!(r.feed(true), Some(Status::Up));
        let mut f = RiseFall::new(1, 1, true);
        assert_eq!(f.status, Status::Down);
        assert_eq!(f.feed(false), None);
        assert_eq!(f.feed(true), Some(Status::Up));
        let mut z = RiseFall::new(0, 0, false);
        assert_eq!(z.feed(false), Some(Status::Down), "zero thresholds act as 1");
    }

    fn t(weight: i32, reverse: bool, status: Status) -> Tracked {
        Tracked { weight, reverse, status }
    }

    #[test]
    fn effective_priority_rules() {
        assert_eq!(effective(100, &[t(-60, false, Status::Down)]), (40, false));
        assert_eq!(effective(100, &[t(-60, false, Status::Up)]), (100, false));
        assert_eq!(effective(100, &[t(20, false, Status::Up), t(-5, false, Status::Down)]), (115, false));
        assert_eq!(effective(100, &[t(20, true, Status::Down)]), (120, false), "reverse: down counts as up");
        assert_eq!(effective(200, &[t(100, false, Status::Up)]), (254, false));
        assert_eq!(effective(10, &[t(-100, false, Status::Down)]), (1, false));
        assert_eq!(effective(255, &[t(-100, false, Status::Down)]), (255, false));
        assert_eq!(effective(100, &[t(0, false, Status::Down)]), (100, true));
        assert_eq!(effective(100, &[t(0, false, Status::Init), t(-50, false, Status::Init)]), (100, false));
        // track_file values: offsets add (capped per file), FAULT from a file.
        assert_eq!(effective(100, &[t(3, false, Status::Value(7))]), (121, false));
        assert_eq!(effective(100, &[t(1, false, Status::Value(300)), t(2, true, Status::Value(50))]), (253, false));
        assert!(effective(100, &[t(3, false, Status::Value(-85))]).1);
        assert_eq!(effective(100, &[t(0, false, Status::Value(1)), t(-5, false, Status::Down)]), (95, true));
        assert_eq!(effective(255, &[t(0, true, Status::Value(0))]), (255, true));
    }
}
