//! Per-interface network sysctls (`/proc/sys/net/{ipv4,ipv6}/conf/IF/KEY`) that keepalived
//! sets on interfaces it uses, and `promote_secondaries`, held while an instance runs.

use std::collections::HashMap;
use std::io;
use std::sync::Mutex;

use log::warn;

fn path(fam: &str, ifname: &str, key: &str) -> String {
    format!("/proc/sys/net/{fam}/conf/{ifname}/{key}")
}

pub fn read(fam: &str, ifname: &str, key: &str) -> Option<i64> {
    std::fs::read_to_string(path(fam, ifname, key)).ok()?.trim().parse().ok()
}

pub fn write(fam: &str, ifname: &str, key: &str, val: i64) -> io::Result<()> {
    std::fs::write(path(fam, ifname, key), format!("{val}\n"))
}

/// [`write`], logging a failure.
pub fn set(fam: &str, ifname: &str, key: &str, val: i64) {
    if let Err(e) = write(fam, ifname, key, val) {
        warn!("cannot set net.{fam}.conf.{ifname}.{key}={val}: {e}");
    }
}

/// Interfaces with `promote_secondaries` set by us: how many instances hold it, and the value
/// to restore when the last lets go.
static PROMOTE: Mutex<Option<HashMap<String, (usize, i64)>>> = Mutex::new(None);

/// `promote_secondaries` on an interface while this lives (keepalived 2.2.7, measured: set to
/// 1 when the instance starts, whatever its state; the old value back when it stops), so that
/// removing one address of a subnet does not remove the others in it.
pub struct PromoteSecondaries(String);

impl PromoteSecondaries {
    pub fn hold(ifname: &str) -> PromoteSecondaries {
        if let Ok(mut g) = PROMOTE.lock() {
            let e = g.get_or_insert_with(HashMap::new).entry(ifname.to_string()).or_insert_with(|| {
                let old = read("ipv4", ifname, "promote_secondaries").unwrap_or(0);
                set("ipv4", ifname, "promote_secondaries", 1);
                (0, old)
            });
            e.0 += 1;
        }
        PromoteSecondaries(ifname.to_string())
    }
}

impl Drop for PromoteSecondaries {
    fn drop(&mut self) {
        let Ok(mut g) = PROMOTE.lock() else { return };
        let Some(map) = g.as_mut() else { return };
        let Some(e) = map.get_mut(&self.0) else { return };
        e.0 = e.0.saturating_sub(1);
        if e.0 == 0 {
            let old = e.1;
            map.remove(&self.0);
            set("ipv4", &self.0, "promote_secondaries", old);
        }
    }
}
