//! Every `tests/configs/lexer/*.conf` states the `keepalived -t` exit code that keepalived 2.2.7
//! gives for it (`# expect: N`, checked against the real binary by `verify.sh` there) and any
//! extra options (`# args: -i ID` / `-e`). Our reader must give the same code.

use std::path::Path;

use keepalived::config::{self, SourceOptions};

fn header<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    text.lines().find_map(|l| l.strip_prefix(key)).map(|v| v.trim_end_matches('\r').trim())
}

fn options(args: &str) -> SourceOptions {
    let mut opts = SourceOptions::default();
    let mut it = args.split_whitespace();
    while let Some(a) = it.next() {
        match a {
            "-i" => opts.config_id = it.next().unwrap_or_default().to_string(),
            "-e" => opts.all_config = true,
            other => panic!("unsupported option {other} in test header"),
        }
    }
    opts
}

#[test]
fn lexer_configs_match_keepalived_exit_codes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs/lexer");
    let mut checked = 0;
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("conf") {
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        let want: i32 = header(&text, "# expect: ").expect("expect header").parse().unwrap();
        if header(&text, "# pending: ").is_some() {
            continue;
        }
        let opts = options(header(&text, "# args: ").unwrap_or(""));
        let (_, diags) = config::load(&path, &opts);
        checked += 1;
        if diags.exit_code() != want {
            let msgs: Vec<String> = diags.list.iter().map(|d| d.to_string()).collect();
            failures.push(format!("{}: want {want}, got {}: {msgs:?}", path.display(), diags.exit_code()));
        }
    }
    assert!(checked >= 40, "only {checked} configs found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
