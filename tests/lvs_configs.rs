//! Each file under tests/configs/lvs/ exercises one LVS rule; its first line records the exit
//! code keepalived 2.2.7 gave for it (`# keepalived 2.2.7 -t: exit N`, measured on this machine).
//! Our config loader must give the same code, with or without the reference binary around.

use std::path::Path;

use keepalived::config::{self, SourceOptions};

#[test]
fn lvs_rule_configs_give_keepalived_exit_codes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/configs/lvs");
    let mut files: Vec<_> = std::fs::read_dir(&dir).expect("tests/configs/lvs").flatten().map(|e| e.path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "conf"));
    files.sort();
    assert!(files.len() >= 100, "expected the LVS rule configs, found {}", files.len());
    let mut wrong = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f).expect("readable config");
        let want: i32 = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# keepalived 2.2.7 -t: exit "))
            .and_then(|c| c.trim().parse().ok())
            .unwrap_or_else(|| panic!("{}: missing expected-exit header", f.display()));
        let (_, diags) = config::load(f, &SourceOptions::default());
        if diags.exit_code() != want {
            let msgs: Vec<String> = diags.list.iter().map(|d| d.to_string()).collect();
            wrong.push(format!(
                "{}: ours {}, keepalived {want}\n    {}",
                f.display(),
                diags.exit_code(),
                msgs.join("\n    ")
            ));
        }
    }
    assert!(wrong.is_empty(), "exit codes differ:\n{}", wrong.join("\n"));
}
