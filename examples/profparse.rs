#[path = "genconf.rs"]
mod genconf;
fn main() {
    let text = genconf::generate(200, 10, 20, "eth0");
    let opts = keepalived::config::SourceOptions::default();
    let mut d = keepalived::config::Diagnostics::default();
    let lines = keepalived::config::source::read_str("b", &text, &opts, &mut d);
    let nodes = keepalived::config::tree::build(lines, &mut d);
    println!("nodes {}", nodes.len());
}
