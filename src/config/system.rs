//! Facts about the running system that keepalived's config checks depend on: interfaces, users,
//! groups and script files. Read from the real system (no mocks): the differential tests run ours
//! and keepalived on the same machine.

use std::ffi::CString;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// keepalived's PATH when the environment has none.
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The interface's index, if it exists.
pub fn if_index(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    // SAFETY: `c` is a valid NUL-terminated string for the duration of the call.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (idx != 0).then_some(idx)
}

pub fn if_exists(name: &str) -> bool {
    if_index(name).is_some()
}

/// Whether the interface is a loopback (ARPHRD_LOOPBACK = 772).
pub fn if_is_loopback(name: &str) -> bool {
    if name.contains('/') {
        return false;
    }
    match std::fs::read_to_string(format!("/sys/class/net/{name}/type")) {
        Ok(t) => t.trim() == "772",
        Err(_) => name == "lo",
    }
}

/// Whether the interface can do multicast (IFF_MULTICAST); true when unknown.
pub fn if_is_multicast(name: &str) -> bool {
    if name.contains('/') {
        return true;
    }
    match std::fs::read_to_string(format!("/sys/class/net/{name}/flags")) {
        Ok(t) => u32::from_str_radix(t.trim().trim_start_matches("0x"), 16).map_or(true, |f| f & 0x1000 != 0),
        Err(_) => true,
    }
}

/// A routing table given as a number or a name known to iproute2 (rt_tables).
pub fn route_table(t: &str) -> Option<u32> {
    if let Ok(n) = t.parse::<u32>() {
        return Some(n);
    }
    match t {
        "local" => return Some(255),
        "main" => return Some(254),
        "default" => return Some(253),
        "unspec" => return Some(0),
        _ => {}
    }
    for f in ["/etc/iproute2/rt_tables", "/usr/share/iproute2/rt_tables"] {
        let Ok(text) = std::fs::read_to_string(f) else { continue };
        for line in text.lines() {
            let mut w = line.split_whitespace();
            if let (Some(n), Some(name)) = (w.next(), w.next())
                && name == t
                && !n.starts_with('#')
                && let Ok(v) = n.parse()
            {
                return Some(v);
            }
        }
    }
    None
}

/// (uid, primary gid) of a user name.
pub fn user_ids(name: &str) -> Option<(u32, u32)> {
    let c = CString::new(name).ok()?;
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16384];
    let mut res: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: all pointers are valid; `buf` outlives the call and its length is passed.
    let rc = unsafe { libc::getpwnam_r(c.as_ptr(), &mut pwd, buf.as_mut_ptr(), buf.len(), &mut res) };
    if rc != 0 || res.is_null() {
        return None;
    }
    Some((pwd.pw_uid, pwd.pw_gid))
}

pub fn group_id(name: &str) -> Option<u32> {
    let c = CString::new(name).ok()?;
    let mut grp: libc::group = unsafe { std::mem::zeroed() };
    let mut buf = vec![0 as libc::c_char; 16384];
    let mut res: *mut libc::group = std::ptr::null_mut();
    // SAFETY: as in `user_ids`.
    let rc = unsafe { libc::getgrnam_r(c.as_ptr(), &mut grp, buf.as_mut_ptr(), buf.len(), &mut res) };
    if rc != 0 || res.is_null() {
        return None;
    }
    Some(grp.gr_gid)
}

/// Resolve `user [group]` to (uid, gid); the group defaults to the user's primary group.
pub fn user_group_ids(user: &str, group: Option<&str>) -> Option<(u32, u32)> {
    let (uid, pgid) = user_ids(user)?;
    let gid = match group {
        Some(g) => group_id(g)?,
        None => pgid,
    };
    Some((uid, gid))
}

/// The file a script's first word names: as given when it contains a '/', else searched in
/// PATH. Canonicalized, as keepalived reports it (`/bin/echo` -> `/usr/bin/echo`).
pub fn find_script(cmd: &str) -> Option<PathBuf> {
    if cmd.is_empty() {
        return None;
    }
    if cmd.contains('/') {
        return regular_file(Path::new(cmd));
    }
    let path = std::env::var("PATH").unwrap_or_else(|_| DEFAULT_PATH.to_string());
    path.split(':').filter(|d| !d.is_empty()).find_map(|d| regular_file(&Path::new(d).join(cmd)))
}

/// keepalived only needs the path to exist (a directory counts as found).
fn regular_file(p: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(p).ok()
}

/// Why a script file is unsafe to run as `uid`: it or a directory above it can be changed by
/// someone other than root and `uid` (writable by group/other, except sticky directories, or
/// owned by another user). None when safe.
pub fn script_insecurity(path: &Path, uid: u32) -> Option<String> {
    let mut cur = Some(path);
    while let Some(p) = cur {
        let Ok(m) = std::fs::metadata(p) else {
            return Some(format!("cannot stat {}", p.display()));
        };
        let mode = m.mode();
        let sticky_dir = m.is_dir() && mode & 0o1000 != 0;
        if mode & 0o022 != 0 && !sticky_dir {
            return Some(format!("{} is writable by group or others (mode {:o})", p.display(), mode & 0o7777));
        }
        if m.uid() != 0 && m.uid() != uid {
            return Some(format!("{} is owned by uid {}", p.display(), m.uid()));
        }
        cur = p.parent();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interfaces() {
        assert!(if_exists("lo"));
        assert!(if_is_loopback("lo"));
        assert!(!if_exists("no-such-if0"));
        assert!(!if_exists("bad\0name"));
        assert!(!if_is_multicast("lo"));
        assert_eq!(route_table("main"), Some(254));
        assert_eq!(route_table("42"), Some(42));
        assert_eq!(route_table("no_such_table_x"), None);
    }

    #[test]
    fn users() {
        assert_eq!(user_ids("root"), Some((0, 0)));
        assert_eq!(user_ids("no_such_user_x"), None);
        assert_eq!(group_id("root"), Some(0));
        assert_eq!(user_group_ids("root", Some("no_such_group_x")), None);
    }

    #[test]
    fn scripts() {
        assert!(find_script("sh").is_some());
        assert_eq!(find_script("/no/such/script"), None);
        assert_eq!(find_script(""), None);
        let dir = std::env::temp_dir().join(format!("kasys-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("s.sh");
        std::fs::write(&f, "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
        let me = unsafe { libc::geteuid() };
        let canon = std::fs::canonicalize(&f).unwrap();
        assert_eq!(script_insecurity(&canon, me), None);
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(script_insecurity(&canon, me).is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
