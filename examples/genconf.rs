//! Generate a large keepalived.conf for benchmarks: `cargo run --release --example genconf --
//! [--ipvs-only | --checker-scale] [VIRTUAL_SERVERS] [REAL_SERVERS_PER_VS] [VRRP_INSTANCES] [INTERFACE] > big.conf`.
//! Defaults: 2000 x 10 with TCP_CHECK, 200 VRRP instances on eth0 (~100,000 lines).
//! `--ipvs-only`: no checkers and no VRRP instances, so every real server is in the IPVS table
//! from start and nothing but the table is exercised (benches/ipvs-start.sh).
//! `--checker-scale`: no VRRP instances; every real server has a TCP_CHECK at delay_loop 1 and a
//! distinct 127.0.0.0/8 address on port 9000 (as its DR virtual server), so one listener on 0.0.0.0:9000 in the benchmark's
//! namespace answers every check (benches/checker-scale.sh).

use std::fmt::Write;

/// The config text. Addresses are in 10.0.0.0/8 and never contacted by a config test.
pub fn generate(vs: usize, rs_per_vs: usize, instances: usize, iface: &str) -> String {
    generate_with(vs, rs_per_vs, instances, iface, true)
}

/// Config for benches/checker-scale.sh: `vs` x `rs_per_vs` real servers, each with a TCP_CHECK
/// every second, on distinct loopback addresses (127.1.0.1 onwards) and port 9000.
#[allow(dead_code)] // used by main(), not by benches/config_parse.rs
pub fn generate_checker_scale(vs: usize, rs_per_vs: usize) -> String {
    let mut s = String::with_capacity(vs * rs_per_vs * 80);
    s.push_str("global_defs {\n  router_id BENCH\n}\n");
    for v in 0..vs {
        let _ = write!(
            s,
            "virtual_server 10.2.{}.{} 9000 {{\n  delay_loop 1\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n",
            v / 250 % 256,
            v % 250 + 1
        );
        for r in 0..rs_per_vs {
            let n = v * rs_per_vs + r;
            let _ = write!(
                s,
                "  real_server 127.{}.{}.{} 9000 {{\n    TCP_CHECK {{\n      connect_timeout 3\n    }}\n  }}\n",
                1 + n / 62500 % 254,
                n / 250 % 250,
                n % 250 + 1
            );
        }
        s.push_str("}\n");
    }
    s
}

/// As [`generate`], with or without a TCP_CHECK in each real server.
pub fn generate_with(vs: usize, rs_per_vs: usize, instances: usize, iface: &str, checkers: bool) -> String {
    let mut s = String::with_capacity(vs * rs_per_vs * 80);
    s.push_str("global_defs {\n  router_id BENCH\n}\n");
    for i in 0..instances {
        let vrid = i % 255 + 1;
        let _ = write!(
            s,
            "vrrp_instance VI_{i} {{\n  state BACKUP\n  interface {iface}\n  virtual_router_id {vrid}\n  \
             priority 100\n  advert_int 1\n  authentication {{\n    auth_type PASS\n    auth_pass pw{i}\n  }}\n  \
             virtual_ipaddress {{\n    10.1.{}.{}/32\n  }}\n}}\n",
            i / 250,
            i % 250 + 1
        );
    }
    let body = if checkers { "    TCP_CHECK {\n      connect_timeout 3\n    }\n" } else { "    weight 1\n" };
    for v in 0..vs {
        let _ = write!(
            s,
            "virtual_server 10.2.{}.{} 80 {{\n  delay_loop 6\n  lb_algo rr\n  lb_kind DR\n  protocol TCP\n",
            v / 250,
            v % 250 + 1
        );
        for r in 0..rs_per_vs {
            let n = v * rs_per_vs + r;
            let _ = write!(s, "  real_server 10.3.{}.{} 80 {{\n{body}  }}\n", n / 250 % 256, n % 250 + 1);
        }
        s.push_str("}\n");
    }
    s
}

#[allow(dead_code)]
fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let ipvs_only = args.iter().any(|a| a == "--ipvs-only");
    let checker_scale = args.iter().any(|a| a == "--checker-scale");
    args.retain(|a| a != "--ipvs-only" && a != "--checker-scale");
    let num = |i: usize, d: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(d);
    if checker_scale {
        print!("{}", generate_checker_scale(num(0, 1000), num(1, 10)));
        return;
    }
    let iface = args.get(3).cloned().unwrap_or_else(|| "eth0".to_string());
    let instances = if ipvs_only { 0 } else { num(2, 200) };
    print!("{}", generate_with(num(0, 2000), num(1, 10), instances, &iface, !ipvs_only));
}
