//! libFuzzer-free fallback fuzzer: a seeded mutation loop over the config corpus for N seconds.
//! Usage: config_mutate SECONDS CORPUS_DIR... [--seed N]
//! A panicking input is written to artifacts/crash-<hash> and the process exits 1; an input that
//! runs longer than 10 s is written to artifacts/hang-<hash> and the process exits 2.

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Fragments that exercise the reader's special syntax.
const DICT: &[&str] = &[
    "{",
    "}",
    "\"",
    "'",
    "\\",
    "#",
    "!",
    "\n",
    " ",
    "\t",
    "\r",
    "$X=",
    "$X",
    "${X}",
    "$X=a\\\n",
    "${_HASH}",
    "${_BANG}",
    "${_PWD}",
    "${_INSTANCE}",
    "${_RANDOM 1 9}",
    "@fuzz ",
    "@^fuzz ",
    "@other ",
    "~SEQ(I,1,3) ",
    "~SEQx(I,0,2,9) ",
    "~LST(I,a,b) ",
    "~LST({I,J},{1,2},{3}) ",
    "${I}",
    "global_defs",
    "router_id ",
    "vrrp_instance",
    "virtual_server",
    "real_server",
    "script ",
    "include_check",
    "\0",
];

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next() % n as u64) as usize }
    }
}

fn collect(dir: &Path, out: &mut Vec<Vec<u8>>) {
    let Ok(rd) = std::fs::read_dir(dir) else { return };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            collect(&p, out);
        } else if let Ok(b) = std::fs::read(&p) {
            if b.len() < 64 * 1024 {
                out.push(b);
            }
        }
    }
}

fn mutate(rng: &mut Rng, input: &[u8], corpus: &[Vec<u8>]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(v.len() + 1);
        match rng.below(6) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] ^= 1 << rng.below(8);
            }
            1 => {
                let frag = DICT[rng.below(DICT.len())].as_bytes();
                v.splice(at..at, frag.iter().copied());
            }
            2 if !v.is_empty() => {
                let end = (at + rng.below(64)).min(v.len());
                v.drain(at.min(end)..end);
            }
            3 if !v.is_empty() => {
                let start = rng.below(v.len());
                let end = (start + rng.below(256)).min(v.len());
                let chunk: Vec<u8> = v[start..end].to_vec();
                v.splice(at..at, chunk);
            }
            4 if !corpus.is_empty() => {
                let other = &corpus[rng.below(corpus.len())];
                let start = rng.below(other.len());
                let end = (start + rng.below(512)).min(other.len());
                v.splice(at..at, other[start..end].iter().copied());
            }
            _ => {
                let b = rng.next() as u8;
                v.insert(at, b);
            }
        }
    }
    v.truncate(16 * 1024);
    v
}

fn save(kind: &str, data: &[u8]) -> PathBuf {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut h);
    let _ = std::fs::create_dir_all("artifacts");
    let p = PathBuf::from(format!("artifacts/{kind}-{:016x}", h.finish()));
    let _ = std::fs::write(&p, data);
    p
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let secs: u64 = args.first().and_then(|s| s.parse().ok()).unwrap_or(60);
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut dirs = Vec::new();
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        if a == "--seed" {
            seed = it.next().and_then(|s| s.parse().ok()).unwrap_or(seed);
        } else {
            dirs.push(PathBuf::from(a));
        }
    }
    let mut corpus = Vec::new();
    for d in &dirs {
        collect(d, &mut corpus);
    }
    if corpus.is_empty() {
        corpus.push(b"global_defs {\n router_id x\n}\n".to_vec());
    }
    // Keep our own panic report short; the input is what matters.
    std::panic::set_hook(Box::new(|info| eprintln!("panic: {info}")));
    let mut rng = Rng(seed | 1);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut runs: u64 = 0;
    // A watchdog saves an input that runs for more than 10 s (a hang) and stops the process.
    let current: Arc<Mutex<(Vec<u8>, Instant)>> = Arc::new(Mutex::new((Vec::new(), Instant::now())));
    let watched = current.clone();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(1));
            let Ok(cur) = watched.lock() else { return };
            if cur.1.elapsed() > Duration::from_secs(10) {
                let p = save("hang", &cur.0);
                eprintln!("input running for {:?} saved to {}", cur.1.elapsed(), p.display());
                std::process::exit(2);
            }
        }
    });
    while Instant::now() < deadline {
        let base = &corpus[rng.below(corpus.len())];
        let input = mutate(&mut rng, base, &corpus);
        let t0 = Instant::now();
        if let Ok(mut cur) = current.lock() {
            *cur = (input.clone(), t0);
        }
        let ok = std::panic::catch_unwind(|| keepalived_fuzz::check(&input)).is_ok();
        if !ok {
            let p = save("crash", &input);
            eprintln!("crash after {runs} runs (seed {seed}): input saved to {}", p.display());
            std::process::exit(1);
        }
        runs += 1;
        // Grow the corpus with some mutants so that mutations compound.
        if rng.below(16) == 0 && corpus.len() < 4096 {
            corpus.push(input);
        }
    }
    println!("config_mutate: {runs} inputs in {secs} s, no panic (seed {seed})");
}
