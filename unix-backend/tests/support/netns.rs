//! A private network namespace per test, and the interface requests a test
//! makes in it.
//!
//! Why a namespace per test: a TAP test creates interfaces, takes them up
//! and down and injects frames. In the host's namespace that would disturb
//! the machine, collide with parallel tests, and leave interfaces behind
//! when a test panics half way. Namespaces are per *thread* on Linux, so
//! [`in_netns`] runs the test body on a fresh thread that first calls
//! `unshare(CLONE_NEWNET)`: every interface and socket the body makes lives
//! in a namespace nobody else sees, and the kernel destroys the namespace —
//! with every interface in it — when its last thread has exited and its
//! last socket or tun fd is closed. A panic unwinds the body (closing its
//! fds) and ends the thread, so a failing test leaves nothing either; the
//! panic is then re-raised on the caller's thread.
//!
//! IPv6 is disabled in the new namespace before any interface exists, so a
//! TAP brought up there stays silent (no router solicitations, MLD reports
//! or DAD probes): every frame a test sees is one it sent.
//!
//! The interface requests (`SIOCGIFFLAGS`, …) are made on a socket made by
//! the calling thread, so they act in the namespace of the thread that
//! calls them.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;

/// Runs `body` on a new thread in a new, empty network namespace and
/// returns its result. A panic in `body` is re-raised here once the
/// namespace thread has ended.
///
/// # Panics
/// If the namespace cannot be made (not root), or `body` panics.
pub fn in_netns<R: Send>(body: impl FnOnce() -> R + Send) -> R {
    std::thread::scope(|s| {
        let thread = std::thread::Builder::new()
            .name("netns".into())
            .spawn_scoped(s, || {
                // SAFETY: only the network namespace is unshared; the fd
                // table (CLONE_FILES) stays shared, so every fd this thread
                // sees stays valid for every other thread.
                unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNET) }
                    .expect("unshare(CLONE_NEWNET)");
                for conf in ["default", "all"] {
                    // Absent without IPv6: then there is nothing to silence.
                    let _ =
                        std::fs::write(format!("/proc/sys/net/ipv6/conf/{conf}/disable_ipv6"), "1");
                }
                body()
            })
            .expect("spawn the namespace thread");
        match thread.join() {
            Ok(r) => r,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    })
}

/// [`in_netns`] running the future `make()` builds on a shimmer-unix
/// executor (epoll park, reactor) on the namespace thread: the usual shape
/// of a root test.
///
/// # Panics
/// As `in_netns`, or if the executor cannot start.
pub fn block_on_in_netns<F: std::future::Future>(make: impl FnOnce() -> F + Send) -> F::Output
where
    F::Output: Send,
{
    in_netns(|| shimmer_unix::block_on(make()).expect("a shimmer-unix executor"))
}

/// The inode of the calling thread's network namespace (its identity).
pub fn netns_id() -> u64 {
    std::fs::metadata("/proc/thread-self/ns/net")
        .expect("stat /proc/thread-self/ns/net")
        .ino()
}

/// How many threads of this process are in network namespace `id`.
pub fn threads_in_netns(id: u64) -> usize {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter(|t| std::fs::metadata(t.path().join("ns/net")).is_ok_and(|m| m.ino() == id))
        .count()
}

/// Whether an interface called `name` exists in the calling thread's
/// namespace.
pub fn exists(name: &str) -> bool {
    ifindex(name).is_ok()
}

/// `IFF_UP`.
pub const IFF_UP: u16 = 0x1;
/// `IFF_RUNNING`.
pub const IFF_RUNNING: u16 = 0x40;

/// `struct ifreq`: a name and a 24-byte, pointer-aligned union (at least the
/// kernel's size and alignment on every Linux target).
#[repr(C, align(8))]
struct IfReq {
    name: [u8; 16],
    data: [u8; 24],
}

impl IfReq {
    fn new(name: &str) -> io::Result<IfReq> {
        let b = name.as_bytes();
        if b.len() >= 16 || b.contains(&0) {
            return Err(io::ErrorKind::InvalidInput.into());
        }
        let mut r = IfReq {
            name: [0; 16],
            data: [0; 24],
        };
        r.name[..b.len()].copy_from_slice(b);
        Ok(r)
    }
}

/// A socket for interface requests, in the calling thread's namespace.
fn control() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the result is checked before use.
    let fd = unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a new socket nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `ioctl(ctl, request, &mut req)` for a request taking a `struct ifreq *`.
fn ifreq_ioctl(request: libc::c_ulong, req: &mut IfReq) -> io::Result<()> {
    let ctl = control()?;
    // SAFETY: every request passed here takes a `struct ifreq *`, and `req`
    // is at least as large and aligned as the kernel's struct and lives
    // (exclusively borrowed) for the call.
    let r = unsafe { libc::ioctl(ctl.as_raw_fd(), request as _, req as *mut IfReq) };
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    }
}

/// The interface's flags.
pub fn flags(name: &str) -> io::Result<u16> {
    let mut r = IfReq::new(name)?;
    ifreq_ioctl(libc::SIOCGIFFLAGS, &mut r)?;
    Ok(u16::from_ne_bytes([r.data[0], r.data[1]]))
}

/// Takes the interface up or down (`ip link set NAME up|down`).
pub fn set_up(name: &str, up: bool) -> io::Result<()> {
    let f = flags(name)?;
    let f = if up { f | IFF_UP } else { f & !IFF_UP };
    let mut r = IfReq::new(name)?;
    r.data[..2].copy_from_slice(&f.to_ne_bytes());
    ifreq_ioctl(libc::SIOCSIFFLAGS, &mut r)
}

/// Sets the interface's MTU.
pub fn set_mtu(name: &str, mtu: u32) -> io::Result<()> {
    let mut r = IfReq::new(name)?;
    r.data[..4].copy_from_slice(&(mtu as i32).to_ne_bytes());
    ifreq_ioctl(libc::SIOCSIFMTU, &mut r)
}

/// The interface's MTU.
pub fn mtu(name: &str) -> io::Result<usize> {
    let mut r = IfReq::new(name)?;
    ifreq_ioctl(libc::SIOCGIFMTU, &mut r)?;
    Ok(i32::from_ne_bytes([r.data[0], r.data[1], r.data[2], r.data[3]]) as usize)
}

/// The interface's own hardware address.
pub fn hwaddr(name: &str) -> io::Result<[u8; 6]> {
    let mut r = IfReq::new(name)?;
    ifreq_ioctl(libc::SIOCGIFHWADDR, &mut r)?;
    let mut mac = [0; 6];
    mac.copy_from_slice(&r.data[2..8]);
    Ok(mac)
}

/// The interface's index.
pub fn ifindex(name: &str) -> io::Result<u32> {
    let mut r = IfReq::new(name)?;
    ifreq_ioctl(libc::SIOCGIFINDEX, &mut r)?;
    Ok(i32::from_ne_bytes([r.data[0], r.data[1], r.data[2], r.data[3]]) as u32)
}

/// Sets the interface's transmit queue length (for a TAP: how many frames
/// the kernel queues for the device's reads before dropping).
pub fn set_txqueuelen(name: &str, frames: u32) -> io::Result<()> {
    let mut r = IfReq::new(name)?;
    r.data[..4].copy_from_slice(&(frames as i32).to_ne_bytes());
    ifreq_ioctl(libc::SIOCSIFTXQLEN, &mut r)
}
