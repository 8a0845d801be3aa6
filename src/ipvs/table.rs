//! The IPVS table a config asks for: `virtual_server` blocks -> [`Desired`] services and
//! destinations, in the kernel's terms.
//!
//! At start (before any check result) a real server is in the table as keepalived 2.2.7 puts it
//! there: alive unless it has checkers and `alpha` (then absent, or at weight 0 with
//! `inhibit_on_failure`); quorum and the sorry server as `check::vs` decides. One
//! `virtual_server group X` stands for one service per address of the group's ranges and one per
//! fwmark entry, as 2.2.7 programs them without `nftables_ipvs`.

use super::reconcile::Desired;
use super::wire::{self, Dest, Forward, Service, ServiceKey, SvcFlags};
use crate::check::vs::{self, Change, Target};
use crate::config::lvs::{self, Forwarding, Granularity, LvsConfig, RealServer, ServiceId, VirtualServer};

fn protocol(p: lvs::Protocol) -> wire::Protocol {
    match p {
        lvs::Protocol::Tcp => wire::Protocol::Tcp,
        lvs::Protocol::Udp => wire::Protocol::Udp,
        lvs::Protocol::Sctp => wire::Protocol::Sctp,
    }
}

pub fn service_key(id: ServiceId) -> ServiceKey {
    match id {
        ServiceId::Addr { addr, port, protocol: p } => ServiceKey::Addr { protocol: protocol(p), addr, port },
        ServiceId::Fwmark { mark, family } => ServiceKey::Fwmark {
            family: match family {
                lvs::Family::Inet => wire::Family::V4,
                lvs::Family::Inet6 => wire::Family::V6,
            },
            mark,
        },
    }
}

pub fn forward(f: Forwarding) -> Forward {
    match f {
        Forwarding::Nat => Forward::Masq,
        Forwarding::Dr => Forward::Route,
        Forwarding::Tun(t) => Forward::Tunnel(wire::Tunnel {
            kind: match t.kind {
                lvs::TunnelType::Ipip => wire::TunnelType::Ipip,
                lvs::TunnelType::Gue => wire::TunnelType::Gue,
                lvs::TunnelType::Gre => wire::TunnelType::Gre,
            },
            port: t.port.unwrap_or(0),
            csum: match t.csum {
                lvs::TunnelCsum::NoCsum => wire::TunnelCsum::NoCsum,
                lvs::TunnelCsum::Csum => wire::TunnelCsum::Csum,
                lvs::TunnelCsum::RemCsum => wire::TunnelCsum::RemCsum,
            },
        }),
    }
}

/// The kernel service for one of `vs`'s service ids.
pub fn service(vs: &VirtualServer, id: ServiceId) -> Service {
    let key = service_key(id);
    let mut s = Service::new(key, vs.scheduler.as_str());
    s.flags = SvcFlags(vs.ipvs_flags());
    if let Some(t) = vs.persistence_timeout {
        s.timeout = t;
        match vs.persistence_granularity {
            Some(Granularity::V4(mask)) => s.netmask = u32::from(mask),
            Some(Granularity::V6(prefix)) => s.netmask = u32::from(prefix),
            None => {}
        }
    }
    s.pe_name = vs.persistence_engine.clone();
    s
}

/// The port a server has as a destination of service `key`. Direct-routed and tunnelled
/// servers cannot change the port, so 2.2.7 gives them the service's own port, and port 0 in a
/// fwmark service. The config finish already did so for a plain virtual server; a group's
/// services each have their own port.
pub fn dest_port(key: ServiceKey, fwd: Forwarding, port: u16) -> u16 {
    match (fwd, key) {
        (Forwarding::Nat, _) => port,
        (_, ServiceKey::Addr { port, .. }) => port,
        (_, ServiceKey::Fwmark { .. }) => 0,
    }
}

/// A real server as a destination of service `key` with the given weight.
pub fn dest(key: ServiceKey, rs: &RealServer, weight: u32) -> Dest {
    let port = dest_port(key, rs.forwarding, rs.port);
    let mut d = Dest::new(rs.addr, port, forward(rs.forwarding), weight);
    d.u_threshold = rs.uthreshold.unwrap_or(0);
    d.l_threshold = rs.lthreshold.unwrap_or(0);
    d
}

/// keepalived's start-up state of each real server: alive unless checked with alpha.
pub fn health_model(vs: &VirtualServer) -> vs::VirtualServer {
    let servers = vs
        .real_servers
        .iter()
        .map(|rs| vs::RealServer::new(rs.weight, rs.inhibit_on_failure, rs.checkers.is_empty() || !rs.alpha))
        .collect();
    // keepalived gives the sorry server weight 1.
    let sorry = vs.sorry_server.as_ref().map(|_| vs::SorryServer { weight: 1, inhibit: vs.sorry_server_inhibit });
    vs::VirtualServer::new(servers, u64::from(vs.quorum), u64::from(vs.hysteresis), sorry)
}

fn sorry_dest(key: ServiceKey, s: &lvs::SorryServer, weight: u32) -> Dest {
    Dest::new(s.addr, dest_port(key, s.forwarding, s.port), forward(s.forwarding), weight)
}

/// Apply health-model changes to the desired destinations of every service of `vs`.
pub fn apply_changes(desired: &mut Desired, keys: &[ServiceKey], vs: &VirtualServer, changes: &[Change]) {
    for key in keys {
        let Some(svc) = desired.services.get_mut(key) else { continue };
        for c in changes {
            let (target, weight) = match *c {
                Change::Add(t, w) | Change::Weight(t, w) => (t, Some(w)),
                Change::Remove(t) => (t, None),
                _ => continue,
            };
            let d =
                match target {
                    Target::Real(i) => vs.real_servers.get(i).map(|rs| {
                        ((rs.addr, dest_port(*key, rs.forwarding, rs.port)), weight.map(|w| dest(*key, rs, w)))
                    }),
                    Target::Sorry => vs.sorry_server.as_ref().map(|s| {
                        ((s.addr, dest_port(*key, s.forwarding, s.port)), weight.map(|w| sorry_dest(*key, s, w)))
                    }),
                };
            if let Some((dk, d)) = d {
                svc.dests.insert(dk, d);
            }
        }
    }
}

/// The whole table the config asks for at start, and the health model of each virtual server
/// (indexed like `lvs.virtual_servers`) to drive later changes.
pub fn desired_at_start(lvs: &LvsConfig) -> (Desired, Vec<(Vec<ServiceKey>, vs::VirtualServer)>) {
    desired_with(lvs, |_, _| None)
}

/// As [`desired_at_start`], with each real server's start state given by `prior(vs, rs)` when
/// it has one (a reload carries the running state over), else the config's (alpha).
pub fn desired_with(
    lvs: &LvsConfig,
    prior: impl Fn(&VirtualServer, &lvs::RealServer) -> Option<bool>,
) -> (Desired, Vec<(Vec<ServiceKey>, vs::VirtualServer)>) {
    let mut desired = Desired::default();
    let mut models = Vec::with_capacity(lvs.virtual_servers.len());
    for v in &lvs.virtual_servers {
        let mut keys = Vec::new();
        for id in lvs.services(v) {
            let s = service(v, id);
            let key = s.key;
            keys.push(key);
            let entry = desired.add_service(s);
            // Every named destination is managed: absent until the health model adds it.
            for rs in &v.real_servers {
                entry.dests.entry((rs.addr, dest_port(key, rs.forwarding, rs.port))).or_insert(None);
            }
            if let Some(ss) = &v.sorry_server {
                entry.dests.entry((ss.addr, dest_port(key, ss.forwarding, ss.port))).or_insert(None);
            }
        }
        let mut model = health_model(v);
        for (m, rs) in model.servers.iter_mut().zip(&v.real_servers) {
            if let Some(alive) = prior(v, rs) {
                m.alive = alive;
            }
        }
        let changes = model.start();
        apply_changes(&mut desired, &keys, v, &changes);
        models.push((keys, model));
    }
    (desired, models)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{SourceOptions, load_str};

    fn desired(text: &str) -> Desired {
        let (cfg, diags) = load_str("t.conf", text, &SourceOptions::default());
        assert!(diags.exit_code() == 0, "{:?}", diags.list);
        desired_at_start(&cfg.lvs).0
    }

    /// For configs that 2.2.7 runs but reports on (`-t` exit 5).
    fn desired_with_warnings(text: &str) -> Desired {
        let (cfg, diags) = load_str("t.conf", text, &SourceOptions::default());
        assert!(diags.exit_code() == 5, "{:?}", diags.list);
        desired_at_start(&cfg.lvs).0
    }

    #[test]
    fn seed_virtual_server() {
        let d = desired(
            "virtual_server 192.168.112.10 80 {\n delay_loop 6\n lb_algo rr\n lb_kind DR\n protocol TCP\n\
             real_server 192.168.112.13 80 {\n weight 1\n TCP_CHECK {\n connect_timeout 10\n }\n }\n\
             real_server 192.168.112.14 80 {\n weight 2\n }\n}\n",
        );
        let key = ServiceKey::Addr { protocol: wire::Protocol::Tcp, addr: [192, 168, 112, 10].into(), port: 80 };
        let s = &d.services[&key];
        assert_eq!(s.service.scheduler, "rr");
        assert_eq!(s.service.flags, SvcFlags(0));
        let weights: Vec<_> = s.dests.values().map(|d| d.map(|d| (d.fwd, d.weight))).collect();
        assert_eq!(weights, [Some((Forward::Route, 1)), Some((Forward::Route, 2))]);
    }

    #[test]
    fn alpha_and_inhibit_at_start() {
        let d = desired(
            "virtual_server 10.0.0.1 80 {\n lb_algo wrr\n lb_kind NAT\n protocol TCP\n alpha\n\
             real_server 10.0.0.2 80 {\n TCP_CHECK {\n }\n }\n\
             real_server 10.0.0.3 80 {\n inhibit_on_failure\n TCP_CHECK {\n }\n }\n\
             real_server 10.0.0.4 80 {\n }\n}\n",
        );
        let s = d.services.values().next().unwrap();
        let w: Vec<_> = s.dests.values().map(|d| d.map(|d| d.weight)).collect();
        assert_eq!(w, [None, Some(0), Some(1)], "alpha: absent; inhibited: weight 0; unchecked: alive");
    }

    fn dests_of(d: &Desired, key: ServiceKey) -> Vec<(std::net::IpAddr, u16, u32)> {
        d.services[&key].dests.values().flatten().map(|d| (d.addr, d.port, d.weight)).collect()
    }

    #[test]
    fn group_services_give_routed_servers_their_port() {
        // Measured on 2.2.7: in each service of a group, a DR/TUN server takes the entry's
        // port (0 for a fwmark entry); a NAT server keeps its own.
        let d = desired_with_warnings(
            "virtual_server_group G {\n 10.14.0.1 8080\n fwmark 7\n}\n\
             virtual_server group G {\n lb_algo rr\n lb_kind DR\n protocol TCP\n\
             sorry_server 10.0.0.100 53\n sorry_server_inhibit\n\
             real_server 10.0.0.2 80 {\n }\n real_server 10.0.0.3 80 {\n lvs_method NAT\n }\n}\n",
        );
        let tcp = ServiceKey::Addr { protocol: wire::Protocol::Tcp, addr: [10, 14, 0, 1].into(), port: 8080 };
        let fwm = ServiceKey::Fwmark { family: wire::Family::V4, mark: 7 };
        let a = |last: u8| std::net::IpAddr::from([10, 0, 0, last]);
        assert_eq!(dests_of(&d, tcp), [(a(2), 8080, 1), (a(3), 80, 1), (a(100), 8080, 0)]);
        assert_eq!(dests_of(&d, fwm), [(a(2), 0, 1), (a(3), 80, 1), (a(100), 0, 0)]);
    }

    #[test]
    fn quorum_plus_hysteresis_at_start() {
        // quorum 5 is reduced to the weight sum 2; 2 < 2 + 1: starts with quorum down.
        let d = desired_with_warnings(
            "virtual_server 10.0.0.1 80 {\n lb_algo rr\n lb_kind NAT\n protocol TCP\n quorum 5\n hysteresis 1\n\
             sorry_server 10.0.0.100 8080\n real_server 10.0.0.2 80 {\n weight 2\n }\n}\n",
        );
        let key = ServiceKey::Addr { protocol: wire::Protocol::Tcp, addr: [10, 0, 0, 1].into(), port: 80 };
        assert_eq!(dests_of(&d, key), [([10, 0, 0, 100].into(), 8080, 1)]);
    }

    #[test]
    fn persistence_and_granularity() {
        let d = desired(
            "virtual_server 10.0.0.1 443 {\n lb_algo sh\n lb_kind DR\n protocol TCP\n persistence_timeout 600\n\
             persistence_granularity 255.255.255.0\n real_server 10.0.0.2 443 {\n }\n}\n",
        );
        let s = &d.services.values().next().unwrap().service;
        assert!(s.flags.contains(SvcFlags::PERSISTENT));
        assert_eq!((s.timeout, s.netmask), (600, 0xffff_ff00));
    }
}
