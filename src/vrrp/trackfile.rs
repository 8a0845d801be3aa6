//! `track_file`: a number in a file, re-read whenever the file changes (inotify on its
//! directory, so that creation, deletion and rename-over are seen too), and the rules by which
//! keepalived 2.2.7 turns it into a priority offset or a FAULT.
//!
//! Measured against 2.2.7: the text is read as C `strtol(.., 0)` reads it (leading blanks,
//! sign, `0x` hex, leading-0 octal, junk after the number ignored, no number = 0); a missing
//! file reads 0; a value outside the C `int` range is logged ("Invalid number N read from PATH -
//! ignoring") and the previous value kept. `init_file [VAL] [overwrite]` writes "VAL\n" at
//! startup when the file is absent (or always, with overwrite).

use std::collections::HashMap;
use std::ffi::{CString, OsStr};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use log::{info, warn};
use tokio::io::unix::AsyncFd;
use tokio::sync::mpsc::UnboundedSender;

use super::track::Status;

/// What reading the file gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    Value(i32),
    /// Out of the `int` range: keepalived logs it and keeps the previous value.
    Invalid(i64),
}

/// Parses like C `strtol(text, NULL, 0)` followed by keepalived's `int` range check.
pub fn parse(text: &[u8]) -> Reading {
    let mut i = 0;
    while text.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
        i += 1;
    }
    let neg = match text.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let radix = match (text.get(i), text.get(i + 1), text.get(i + 2)) {
        // "0x" counts as a prefix only when a hex digit follows; "0xg" is the number 0.
        (Some(b'0'), Some(b'x' | b'X'), Some(d)) if d.is_ascii_hexdigit() => {
            i += 2;
            16
        }
        (Some(b'0'), _, _) => 8,
        _ => 10,
    };
    // Accumulated as a magnitude; strtol saturates at LONG_MIN/LONG_MAX on overflow.
    let mut mag: u64 = 0;
    let mut overflow = false;
    while let Some(d) = text.get(i).and_then(|c| char::from(*c).to_digit(radix)) {
        match mag.checked_mul(u64::from(radix)).and_then(|m| m.checked_add(u64::from(d))) {
            Some(m) => mag = m,
            None => overflow = true,
        }
        i += 1;
    }
    let v: i64 = match (neg, overflow) {
        (false, true) => i64::MAX,
        (true, true) => i64::MIN,
        (false, false) => i64::try_from(mag).unwrap_or(i64::MAX),
        (true, false) => {
            if mag > i64::MAX as u64 {
                i64::MIN
            } else {
                -(mag as i64)
            }
        }
    };
    // keepalived's range check lets 2^31 through, and its conversion to `int` wraps it to
    // INT_MIN (measured on 2.2.7: "2147483648" puts a weight-1 tracker in FAULT, silently).
    match i32::try_from(v) {
        Ok(x) if !overflow => Reading::Value(x),
        _ if !overflow && v == 1 << 31 => Reading::Value(i32::MIN),
        _ => Reading::Invalid(v),
    }
}

/// Reads the file as keepalived does (only its first 127 bytes); a missing or unreadable file
/// or an empty one is 0.
pub fn read(path: &Path) -> Reading {
    use std::io::Read;
    let mut buf = [0u8; 127];
    let n = match std::fs::File::open(path).and_then(|mut f| f.read(&mut buf)) {
        Ok(n) => n,
        Err(_) => return Reading::Value(0),
    };
    parse(buf.get(..n).unwrap_or(&[]))
}

/// `init_file`: writes "VAL\n" when the file does not exist, or always with `overwrite`.
pub fn init(path: &Path, value: i64, overwrite: bool) -> io::Result<()> {
    if !overwrite && std::fs::symlink_metadata(path).is_ok() {
        return Ok(());
    }
    std::fs::write(path, format!("{value}\n"))
}

/// One tracker's effect: `Some(offset)` to add to the priority, `None` = FAULT.
///
/// Weight 0: a non-zero value is a fault (with `reverse`, a zero value is). Otherwise value x
/// weight (negated by `reverse`) is clamped to [-254, 253] and -254 means FAULT; so 2.2.7 adds at
/// most 253 per file and faults on a product <= -254.
pub fn effect(value: i32, weight: i32, reverse: bool) -> Option<i32> {
    if weight == 0 {
        return if (value != 0) != reverse { None } else { Some(0) };
    }
    let mut s = i64::from(value) * i64::from(weight);
    if reverse {
        s = -s;
    }
    let s = s.clamp(-254, 253) as i32;
    (s != -254).then_some(s)
}

/// A track file to watch, by index in the config's list.
pub struct Watched {
    pub idx: usize,
    pub name: String,
    pub path: PathBuf,
    /// Value last read (what the subscribers were given at startup).
    pub value: i32,
    pub subs: Vec<Subscriber>,
}

/// An instance tracking a file, with the weight it tracks it with (for the FAULT log lines).
pub struct Subscriber {
    pub tx: UnboundedSender<(usize, Status)>,
    pub inst: String,
    pub weight: i32,
    pub reverse: bool,
}

/// Watches every file, sending `(idx, Status::Value(v))` to its subscribers when the value read
/// changes. Returns when inotify cannot be set up at all (the values then stay as read).
pub async fn watch(mut files: Vec<Watched>) {
    let ino = match Inotify::new() {
        Ok(i) => i,
        Err(e) => {
            warn!("track_file: cannot set up inotify ({e}): files are read only at startup");
            return;
        }
    };
    // One watch per directory; the kernel returns the same descriptor for a repeated directory.
    let mut by_wd: HashMap<i32, Vec<usize>> = HashMap::new();
    for (k, f) in files.iter().enumerate() {
        let dir = match f.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        match ino.add_dir(&dir) {
            Ok(wd) => by_wd.entry(wd).or_default().push(k),
            Err(e) => warn!("track_file {}: cannot watch {}: {e}", f.name, dir.display()),
        }
    }
    let mut buf = vec![0u8; 4096];
    loop {
        let n = match ino.read(&mut buf).await {
            Ok(n) => n,
            Err(e) => {
                warn!("track_file: inotify read failed: {e}");
                return;
            }
        };
        let mut touched: Vec<usize> = Vec::new();
        for ev in events(buf.get(..n).unwrap_or(&[])) {
            if ev.mask & libc::IN_Q_OVERFLOW != 0 {
                touched = (0..files.len()).collect();
                break;
            }
            for &k in by_wd.get(&ev.wd).into_iter().flatten() {
                let is_it = files.get(k).is_some_and(|f| f.path.file_name() == Some(OsStr::from_bytes(ev.name)));
                if is_it && !touched.contains(&k) {
                    touched.push(k);
                }
            }
        }
        for k in touched {
            let Some(f) = files.get_mut(k) else { continue };
            match read(&f.path) {
                Reading::Invalid(v) => info!("Invalid number {v} read from {} - ignoring", f.path.display()),
                Reading::Value(v) if v != f.value => {
                    for s in &f.subs {
                        let was = effect(f.value, s.weight, s.reverse).is_none();
                        match (was, effect(v, s.weight, s.reverse).is_none()) {
                            (false, true) => info!("({}): tracked file {} now FAULT state", s.inst, f.name),
                            (true, false) => info!("({}): tracked file {} leaving FAULT state", s.inst, f.name),
                            _ => {}
                        }
                        let _ = s.tx.send((f.idx, Status::Value(v)));
                    }
                    f.value = v;
                }
                Reading::Value(_) => {}
            }
        }
    }
}

/// The directory events that can change what a file reads: written and closed, created or
/// removed by rename, deleted.
const MASK: u32 = libc::IN_CLOSE_WRITE | libc::IN_MOVED_TO | libc::IN_MOVED_FROM | libc::IN_DELETE;

struct Inotify {
    fd: AsyncFd<OwnedFd>,
}

impl Inotify {
    fn new() -> io::Result<Inotify> {
        // SAFETY: no pointers; the returned descriptor is checked and owned below.
        let fd = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fd is a fresh descriptor nobody else owns.
        let owned = unsafe { OwnedFd::from_raw_fd(fd) };
        // SAFETY: OwnedFd owns its descriptor for its whole life and always returns the same one.
        let fd = unsafe { AsyncFd::register(owned) }.map_err(|e| io::Error::other(e.to_string()))?;
        Ok(Inotify { fd })
    }

    fn add_dir(&self, dir: &Path) -> io::Result<i32> {
        let c = CString::new(dir.as_os_str().as_bytes()).map_err(|_| io::Error::other("NUL in path"))?;
        // SAFETY: valid descriptor and NUL-terminated path.
        let wd = unsafe { libc::inotify_add_watch(self.fd.as_raw_fd(), c.as_ptr(), MASK | libc::IN_ONLYDIR) };
        if wd < 0 { Err(io::Error::last_os_error()) } else { Ok(wd) }
    }

    async fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let mut guard = self.fd.readable().await?;
            let r = guard.try_io(|fd| {
                // SAFETY: buf is valid for writes of its length.
                let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if n < 0 { Err(io::Error::last_os_error()) } else { Ok(n as usize) }
            });
            match r {
                Ok(res) => return res,
                Err(_would_block) => continue,
            }
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Event<'a> {
    wd: i32,
    mask: u32,
    /// The file name within the watched directory, without its NUL padding.
    name: &'a [u8],
}

/// Splits a buffer of `struct inotify_event` records; a truncated record ends the list.
fn events(mut b: &[u8]) -> Vec<Event<'_>> {
    let mut out = Vec::new();
    while let (Some(wd), Some(mask), Some(len)) = (field(b, 0), field(b, 4), field(b, 12)) {
        let len = len as usize;
        let Some(name) = b.get(16..16 + len) else { break };
        let end = name.iter().position(|c| *c == 0).unwrap_or(name.len());
        out.push(Event { wd: wd as i32, mask, name: name.get(..end).unwrap_or(&[]) });
        b = b.get(16 + len..).unwrap_or(&[]);
    }
    out
}

fn field(b: &[u8], at: usize) -> Option<u32> {
    let s: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
    Some(u32::from_ne_bytes(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn parses_like_strtol_base_0() {
        // Each case measured against 2.2.7 (weight 3, base 100) or strtol's definition.
        for (text, want) in [
            ("7\n", 7),
            ("  5 junk", 5),
            ("-84\n", -84),
            ("+12", 12),
            ("0x10\n", 16),
            ("0X1f", 31),
            ("010", 8),
            ("09", 0),
            ("0xg", 0),
            ("abc\n", 0),
            ("", 0),
            ("-", 0),
            ("2147483647", i32::MAX),
            ("-2147483648", i32::MIN),
        ] {
            assert_eq!(parse(text.as_bytes()), Reading::Value(want), "{text:?}");
        }
        assert_eq!(parse(b"2147483648"), Reading::Value(i32::MIN), "2^31 wraps as in C");
        assert_eq!(parse(b"2147483649"), Reading::Invalid(2_147_483_649));
        assert_eq!(parse(b"-2147483649"), Reading::Invalid(-2_147_483_649));
        assert_eq!(parse(b"3000000000"), Reading::Invalid(3_000_000_000));
        assert_eq!(parse(b"-3000000000"), Reading::Invalid(-3_000_000_000));
        // strtol saturates at LONG_MAX: keepalived logs "Invalid number 9223372036854775807".
        assert_eq!(parse(b"99999999999999999999"), Reading::Invalid(i64::MAX));
        assert_eq!(parse(b"-99999999999999999999"), Reading::Invalid(i64::MIN));
        assert_eq!(parse(b"9223372036854775808"), Reading::Invalid(i64::MAX));
    }

    #[test]
    fn value_to_priority_and_fault() {
        // Weight 0: non-zero (either sign) is FAULT; reverse: zero is FAULT.
        assert_eq!(effect(0, 0, false), Some(0));
        assert_eq!(effect(5, 0, false), None);
        assert_eq!(effect(-1, 0, false), None);
        assert_eq!(effect(0, 0, true), None);
        assert_eq!(effect(1, 0, true), Some(0));
        // Weighted: product, -253 still counts, -254 and below is FAULT.
        assert_eq!(effect(7, 3, false), Some(21));
        assert_eq!(effect(-84, 3, false), Some(-252));
        assert_eq!(effect(-85, 3, false), None);
        assert_eq!(effect(-253, 1, false), Some(-253));
        assert_eq!(effect(-254, 1, false), None);
        // Per-file cap of 253 (measured: +300 and -100 gave 100 + 253 - 100 = 253).
        assert_eq!(effect(300, 1, false), Some(253));
        assert_eq!(effect(i32::MAX, 254, false), Some(253));
        assert_eq!(effect(i32::MIN, 254, false), None);
        // Reverse negates the product: -3 x 2 reversed = +6; 200 x 2 reversed = FAULT.
        assert_eq!(effect(-3, 2, true), Some(6));
        assert_eq!(effect(200, 2, true), None);
        assert_eq!(effect(-200, 2, true), Some(253));
    }

    fn tmp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("trackfile-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn reading_and_init_file() {
        let d = tmp("read");
        let f = d.join("v");
        assert_eq!(read(&f), Reading::Value(0), "missing file reads 0");
        init(&f, 7, false).unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "7\n");
        std::fs::write(&f, "9").unwrap();
        init(&f, -3, false).unwrap();
        assert_eq!(read(&f), Reading::Value(9), "an existing file is kept without overwrite");
        init(&f, -3, true).unwrap();
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "-3\n");
        assert_eq!(read(&f), Reading::Value(-3));
        // Our read is bounded (127 bytes, as keepalived's buffer): a number past it is not seen.
        std::fs::write(&f, format!("{}5", " ".repeat(127))).unwrap();
        assert_eq!(read(&f), Reading::Value(0));
        assert!(init(&d.join("no/such/dir"), 1, false).is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn event_records() {
        let mut b = Vec::new();
        for (wd, mask, name) in [(1i32, libc::IN_CLOSE_WRITE, &b"v"[..]), (2, libc::IN_DELETE, b"other")] {
            b.extend_from_slice(&wd.to_ne_bytes());
            b.extend_from_slice(&mask.to_ne_bytes());
            b.extend_from_slice(&0u32.to_ne_bytes());
            b.extend_from_slice(&16u32.to_ne_bytes());
            let mut n = name.to_vec();
            n.resize(16, 0);
            b.extend_from_slice(&n);
        }
        let ev = events(&b);
        assert_eq!(ev.len(), 2);
        assert_eq!(ev[0], Event { wd: 1, mask: libc::IN_CLOSE_WRITE, name: b"v" });
        assert_eq!(ev[1].name, b"other");
        // A truncated record (header or name) is dropped, not read past.
        assert_eq!(events(&b[..40]).len(), 1);
        assert_eq!(events(&b[..10]).len(), 0);
        assert!(events(&[]).is_empty());
    }

    #[tokio::test]
    async fn watch_reports_changes() {
        let d = tmp("watch");
        let f = d.join("v");
        std::fs::write(&f, "1\n").unwrap();
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let sub = Subscriber { tx, inst: "VI_1".into(), weight: 1, reverse: false };
        let w = Watched { idx: 4, name: "tf".into(), path: f.clone(), value: 1, subs: vec![sub] };
        let task = tokio::spawn(watch(vec![w]));
        tokio::time::sleep(Duration::from_millis(50)).await;
        async fn next(rx: &mut tokio::sync::mpsc::UnboundedReceiver<(usize, Status)>) -> Option<(usize, Status)> {
            tokio::time::timeout(Duration::from_secs(2), rx.recv()).await.ok().flatten()
        }
        std::fs::write(d.join("unrelated"), "5").unwrap();
        std::fs::write(&f, "1\n").unwrap();
        std::fs::write(&f, "42\n").unwrap();
        assert_eq!(next(&mut rx).await, Some((4, Status::Value(42))), "same value and other files: no event");
        std::fs::remove_file(&f).unwrap();
        assert_eq!(next(&mut rx).await, Some((4, Status::Value(0))), "deleted reads 0");
        let t = d.join("t");
        std::fs::write(&t, "-5").unwrap();
        std::fs::rename(&t, &f).unwrap();
        assert_eq!(next(&mut rx).await, Some((4, Status::Value(-5))), "renamed over");
        std::fs::write(&f, "3000000000").unwrap();
        std::fs::write(&f, "8").unwrap();
        assert_eq!(next(&mut rx).await, Some((4, Status::Value(8))), "an invalid number is skipped");
        task.abort();
        std::fs::remove_dir_all(&d).unwrap();
    }
}
