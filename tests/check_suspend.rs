//! ha_suspend's address watch against the kernel: in a network namespace of its own (this test
//! thread's), adding and removing the virtual server's address on `lo` must reach the watch
//! channel through rtnetlink. Prints "SKIPPED: ..." without the right to create a namespace.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use keepalived::check::suspend;

fn ip(args: &[&str]) -> bool {
    Command::new("ip").args(args).status().is_ok_and(|s| s.success())
}

#[test]
fn address_watch_follows_the_kernel() {
    let t = std::thread::spawn(|| {
        // SAFETY: unshare only changes this thread's namespaces; children forked from it inherit them.
        if unsafe { libc::unshare(libc::CLONE_NEWNET) } != 0 {
            return Err(format!("unshare(CLONE_NEWNET): {}", std::io::Error::last_os_error()));
        }
        if !ip(&["link", "set", "lo", "up"]) {
            return Err("ip link set lo up failed".into());
        }
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let vip: IpAddr = [10, 9, 9, 9].into();
            let start = suspend::local_addrs();
            assert!(!start.contains(&vip), "a fresh namespace has only loopback: {start:?}");
            let (tx, mut rx) = tokio::sync::watch::channel(Arc::new(start));
            let watched: BTreeSet<_> = [vip].into();
            tokio::spawn(suspend::watch_addrs(tx, watched));
            tokio::time::sleep(Duration::from_millis(100)).await; // the socket joins its groups
            assert!(ip(&["addr", "add", "10.9.9.9/32", "dev", "lo"]));
            let seen = tokio::time::timeout(Duration::from_secs(5), rx.wait_for(|a| a.contains(&vip))).await;
            assert!(seen.is_ok_and(|r| r.is_ok()), "address addition not seen");
            assert!(ip(&["addr", "del", "10.9.9.9/32", "dev", "lo"]));
            let seen = tokio::time::timeout(Duration::from_secs(5), rx.wait_for(|a| !a.contains(&vip))).await;
            assert!(seen.is_ok_and(|r| r.is_ok()), "address removal not seen");
        });
        Ok(())
    });
    match t.join() {
        Ok(Ok(())) => {}
        Ok(Err(why)) => println!("SKIPPED: {why}"),
        Err(e) => std::panic::resume_unwind(e),
    }
}
