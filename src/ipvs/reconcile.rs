//! Desired IPVS table vs the kernel's: the minimal list of operations.
//!
//! Like keepalived, we own only what the config names: services and destinations present in the
//! kernel but absent from the config are left alone (another tool, or a second keepalived, may
//! manage them). A destination the config names but that must not be in the table right now
//! (its checks failed) is recorded as `None` in [`Desired`], so it is removed if present.

use std::collections::BTreeMap;
use std::net::IpAddr;

use super::wire::{Dest, Op, Service, ServiceEntry, ServiceKey};

/// A destination's identity within a service.
pub type DestKey = (IpAddr, u16);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredService {
    pub service: Service,
    /// Every destination the config names: `Some` = must be present as given, `None` = must be absent.
    pub dests: BTreeMap<DestKey, Option<Dest>>,
}

/// The part of the IPVS table that the config manages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Desired {
    pub services: BTreeMap<ServiceKey, DesiredService>,
}

impl Desired {
    pub fn add_service(&mut self, service: Service) -> &mut DesiredService {
        self.services
            .entry(service.key)
            .or_insert_with(|| DesiredService { service: service.clone(), dests: BTreeMap::new() })
    }

    /// The part of the table made of these services.
    pub fn subset(&self, keys: &[ServiceKey]) -> Desired {
        let services = keys.iter().filter_map(|k| self.services.get(k).map(|s| (*k, s.clone()))).collect();
        Desired { services }
    }

    pub fn dest_count(&self) -> usize {
        self.services.values().map(|s| s.dests.values().flatten().count()).sum()
    }
}

/// One kernel service with its destinations, as dumped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrentService {
    pub service: Service,
    pub dests: BTreeMap<DestKey, Dest>,
}

/// The kernel's table (one dump).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Current {
    pub services: BTreeMap<ServiceKey, CurrentService>,
}

impl Current {
    /// Build from a dump of services and, for each, its destinations.
    pub fn from_dump(entries: Vec<(ServiceEntry, Vec<Dest>)>) -> Self {
        let services = entries
            .into_iter()
            .map(|(e, dests)| {
                let dests = dests.into_iter().map(|d| ((d.addr, d.port), d)).collect();
                (e.service.key, CurrentService { service: e.service, dests })
            })
            .collect();
        Current { services }
    }
}

/// Do two service definitions differ in anything SET_SERVICE would change?
fn service_differs(want: &Service, have: &Service) -> bool {
    want.scheduler != have.scheduler
        || want.flags.0 != have.flags.0
        || want.timeout != have.timeout
        || want.netmask != have.netmask
        || want.pe_name != have.pe_name
}

fn dest_differs(want: &Dest, have: &Dest) -> bool {
    want.fwd != have.fwd
        || want.weight != have.weight
        || want.u_threshold != have.u_threshold
        || want.l_threshold != have.l_threshold
}

/// The operations that bring `current` to `desired`, services before their destinations.
pub fn plan(desired: &Desired, current: &Current) -> Vec<Op> {
    let mut ops = Vec::new();
    for (key, want) in &desired.services {
        let have = current.services.get(key);
        match have {
            None => ops.push(Op::AddService(want.service.clone())),
            Some(h) if service_differs(&want.service, &h.service) => ops.push(Op::EditService(want.service.clone())),
            Some(_) => {}
        }
        for (dk, d) in &want.dests {
            let existing = have.and_then(|h| h.dests.get(dk));
            match (d, existing) {
                (Some(d), None) => ops.push(Op::AddDest(*key, *d)),
                (Some(d), Some(e)) if dest_differs(d, e) => ops.push(Op::EditDest(*key, *d)),
                (None, Some(e)) => ops.push(Op::DelDest(*key, *e)),
                _ => {}
            }
        }
    }
    ops
}

/// What to remove at shutdown, as keepalived does without `lvs_flush_on_stop`: each managed
/// destination, then each managed service (only those present in `current`).
pub fn teardown(desired: &Desired, current: &Current) -> Vec<Op> {
    let mut ops = Vec::new();
    for key in desired.services.keys() {
        if let Some(h) = current.services.get(key) {
            for dk in desired.services[key].dests.keys() {
                if let Some(d) = h.dests.get(dk) {
                    ops.push(Op::DelDest(*key, *d));
                }
            }
            ops.push(Op::DelService(*key));
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::super::wire::{Forward, Protocol};
    use super::*;

    fn key(last: u8) -> ServiceKey {
        ServiceKey::Addr { protocol: Protocol::Tcp, addr: [192, 168, 112, last].into(), port: 80 }
    }

    fn dest(last: u8, w: u32) -> Dest {
        Dest::new([192, 168, 112, last].into(), 80, Forward::Route, w)
    }

    fn desired(rs: &[(u8, Option<u32>)]) -> Desired {
        let mut d = Desired::default();
        let s = d.add_service(Service::new(key(10), "rr"));
        for (last, w) in rs {
            s.dests.insert(([192, 168, 112, *last].into(), 80), w.map(|w| dest(*last, w)));
        }
        d
    }

    fn current_of(d: &Desired) -> Current {
        let mut c = Current::default();
        for (k, s) in &d.services {
            let dests = s.dests.values().flatten().map(|d| ((d.addr, d.port), *d)).collect();
            c.services.insert(*k, CurrentService { service: s.service.clone(), dests });
        }
        c
    }

    #[test]
    fn empty_kernel_gets_everything() {
        let d = desired(&[(13, Some(1)), (14, Some(1)), (15, None)]);
        let ops = plan(&d, &Current::default());
        assert_eq!(
            ops,
            [
                Op::AddService(Service::new(key(10), "rr")),
                Op::AddDest(key(10), dest(13, 1)),
                Op::AddDest(key(10), dest(14, 1))
            ]
        );
        assert_eq!(d.dest_count(), 2);
    }

    #[test]
    fn in_sync_means_no_ops() {
        let d = desired(&[(13, Some(1)), (14, Some(1))]);
        assert_eq!(plan(&d, &current_of(&d)), []);
    }

    #[test]
    fn changes_are_minimal() {
        let before = desired(&[(13, Some(1)), (14, Some(1)), (15, Some(1))]);
        let mut cur = current_of(&before);
        // Someone else's service and an unmanaged destination are left alone.
        cur.services.insert(key(99), CurrentService { service: Service::new(key(99), "wlc"), dests: BTreeMap::new() });
        cur.services.get_mut(&key(10)).unwrap().dests.insert(([10, 0, 0, 1].into(), 80), dest(1, 1));
        let mut after = desired(&[(13, Some(1)), (14, None), (15, Some(5))]);
        after.services.get_mut(&key(10)).unwrap().service.scheduler = "wrr".into();
        let ops = plan(&after, &cur);
        let mut svc = Service::new(key(10), "wrr");
        svc.scheduler = "wrr".into();
        assert_eq!(ops, [Op::EditService(svc), Op::DelDest(key(10), dest(14, 1)), Op::EditDest(key(10), dest(15, 5))]);
    }

    #[test]
    fn subset_keeps_only_named_services() {
        let mut d = desired(&[(13, Some(1))]);
        d.add_service(Service::new(key(99), "wlc"));
        let s = d.subset(&[key(10), key(7)]);
        assert_eq!(s.services.keys().copied().collect::<Vec<_>>(), [key(10)]);
        assert_eq!(s.services[&key(10)], d.services[&key(10)]);
    }

    #[test]
    fn teardown_removes_only_what_we_manage() {
        let d = desired(&[(13, Some(1)), (14, None)]);
        let mut cur = current_of(&d);
        cur.services.get_mut(&key(10)).unwrap().dests.insert(([10, 0, 0, 1].into(), 80), dest(1, 1));
        assert_eq!(teardown(&d, &cur), [Op::DelDest(key(10), dest(13, 1)), Op::DelService(key(10))]);
        assert_eq!(teardown(&d, &Current::default()), []);
    }
}
