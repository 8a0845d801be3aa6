#!/bin/bash
# Fuzz the config reader for SECONDS (default 60).
# 1. cargo-fuzz (libFuzzer) if it can be installed and works on this toolchain: nightly is not
#    required, RUSTC_BOOTSTRAP=1 lets stable accept cargo-fuzz's -Z flags; no sanitizer (-s none).
# 2. otherwise a libFuzzer-free mutation loop (src/bin/config_mutate.rs) over the same corpus.
# Crashing inputs land in fuzz/artifacts/.
set -u
secs=${1:-60}
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
corpus_src="$here/../tests/configs"
if ! cargo fuzz --help >/dev/null 2>&1; then
    echo "run.sh: installing cargo-fuzz" >&2
    cargo install cargo-fuzz >&2 || true
fi
if cargo fuzz --help >/dev/null 2>&1 && RUSTC_BOOTSTRAP=1 cargo fuzz build -s none config_parse >&2; then
    mkdir -p corpus/config_parse
    find "$corpus_src" -type f -exec cp {} corpus/config_parse/ \;
    exec env RUSTC_BOOTSTRAP=1 cargo fuzz run -s none config_parse corpus/config_parse -- \
        -max_total_time="$secs" -max_len=16384 -timeout=10 -rss_limit_mb=2048
fi
echo "run.sh: cargo-fuzz unavailable, using the libFuzzer-free fallback" >&2
exec cargo run --release --no-default-features --bin config_mutate -- "$secs" "$corpus_src"
