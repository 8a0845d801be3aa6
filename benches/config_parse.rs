//! Parse-and-validate benchmark: a generated ~115,000-line config (2,000 virtual servers x 10 real
//! servers with TCP_CHECK, 200 VRRP instances), parsed in-process `ITER` times.
//! Run: `cargo bench --bench config_parse`. For the side-by-side run against keepalived's own
//! `-t`, see `benches/compare-config-test.sh`.

use std::time::{Duration, Instant};

#[path = "../examples/genconf.rs"]
mod genconf;

fn main() {
    let text = genconf::generate(2000, 10, 200, "eth0");
    let lines = text.lines().count();
    let opts = keepalived::config::SourceOptions::default();
    let iters: u32 = std::env::var("ITER").ok().and_then(|v| v.parse().ok()).unwrap_or(10);
    // One warm-up run, which also checks that the benchmark measures a config we accept.
    let (cfg, diags) = keepalived::config::load_str("bench.conf", &text, &opts);
    std::hint::black_box(&cfg);
    let errors = diags.list.iter().filter(|d| d.severity >= keepalived::config::Severity::Error).count();
    let mut best = Duration::MAX;
    let mut total = Duration::ZERO;
    for _ in 0..iters {
        let t = Instant::now();
        let out = keepalived::config::load_str("bench.conf", &text, &opts);
        let dt = t.elapsed();
        std::hint::black_box(out);
        best = best.min(dt);
        total += dt;
    }
    let mean = total / iters;
    println!(
        "config_parse: {lines} lines, {} diagnostics ({errors} errors); mean {:.2} ms, best {:.2} ms, {:.0} ns/line",
        diags.list.len(),
        mean.as_secs_f64() * 1e3,
        best.as_secs_f64() * 1e3,
        best.as_nanos() as f64 / lines as f64
    );
}
