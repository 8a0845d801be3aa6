//! Profiling aid: parse a generated config once (run under valgrind --tool=callgrind).
#[path = "genconf.rs"]
mod genconf;
fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(200);
    let text = genconf::generate(n, 10, n / 10, "eth0");
    let (cfg, d) = keepalived::config::load_str("b", &text, &keepalived::config::SourceOptions::default());
    println!("{} vs, {} diags", cfg.lvs.virtual_servers.len(), d.list.len());
}
