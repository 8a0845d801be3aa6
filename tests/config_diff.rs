//! Differential test: our `keepalived -t` against keepalived 2.2.7's on every config we have.
//!
//! The exit code of a config test is an interface (CI pipelines and config-management tools act
//! on it), so it must be the same as keepalived's for the same file on the same machine. Some
//! verdicts depend on the machine (interfaces, users, script files), which is why this compares
//! against the real keepalived run here rather than against recorded expectations.
//!
//! The reference binary is `$KEEPALIVED_REF` or `/usr/sbin/keepalived`. Without it the test says
//! SKIPPED and passes, unless `KARD_REQUIRE_ORACLE=1` (set by CI), where that is a failure.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

mod common;

fn config_files() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut files = Vec::new();
    for dir in ["corpus", "configs"] {
        common::walk_files(&root.join(dir), &mut files);
    }
    files.retain(|p| p.extension().is_none_or(|e| e != "md" && e != "sh"));
    if let Ok(rd) = std::fs::read_dir("/usr/share/doc/keepalived/samples") {
        for e in rd.flatten() {
            let p = e.path();
            if p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("keepalived.conf.")) {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// Run `bin -t -f file` in `cwd`; `None` if it hung (keepalived 2.2.7 can: #2587).
/// The cwd is a scratch directory: keepalived writes a copy of the config into a relative
/// `tmp_config_directory` there (one rule file sets it).
fn config_test(bin: &Path, file: &Path, cwd: &Path) -> Option<i32> {
    let mut child = Command::new(bin)
        .arg("-t")
        .arg("-f")
        .arg(file)
        .current_dir(cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    common::wait_timeout(&mut child, Duration::from_secs(20))
}

#[test]
fn exit_codes_match_keepalived() {
    let Some(reference) = common::reference_keepalived() else {
        return;
    };
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_keepalived"));
    let files = config_files();
    assert!(files.len() >= 40, "expected the corpus under tests/, found {} files", files.len());
    let scratch = std::env::temp_dir().join(format!("kard-config-diff-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    let mut mismatches = Vec::new();
    let mut compared = 0;
    for f in &files {
        let theirs = config_test(&reference, f, &scratch);
        let mine = config_test(&ours, f, &scratch);
        let Some(theirs) = theirs else {
            println!("keepalived hung or was killed on {}: not compared", f.display());
            continue;
        };
        compared += 1;
        if mine != Some(theirs) {
            mismatches.push(format!("  {}: ours {:?}, keepalived {}", f.display(), mine, theirs));
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    println!("config test exit codes compared on {compared} files, {} differ", mismatches.len());
    assert!(mismatches.is_empty(), "exit codes differ from keepalived 2.2.7:\n{}", mismatches.join("\n"));
}
