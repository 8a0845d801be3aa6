//! What every fuzz input goes through: the whole config pipeline (`load_str`), which must not
//! panic or hang on any bytes.

use keepalived::config::{self, SourceOptions};

/// Feed `data` to the config reader. `include` is neutralised so that inputs cannot make the
/// fuzzer read the host's files (e.g. `include /dev/*`); includes are covered by unit tests.
pub fn check(data: &[u8]) {
    let text = String::from_utf8_lossy(data).replace("include", "inclxde");
    let opts = SourceOptions { config_id: "fuzz".into(), all_config: false };
    let (_cfg, diags) = config::load_str("fuzz.conf", &text, &opts);
    let code = diags.exit_code();
    assert!(matches!(code, 0 | 2 | 5 | 6), "unexpected exit code {code}");
}
