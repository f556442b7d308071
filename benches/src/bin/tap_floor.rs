//! Frames per second through a TAP interface: shimmer-unix's `TapDevice`
//! beside the syscall floor, a plain blocking `read`/`write` loop on a tap of
//! its own, in the same run.
//!
//! ```text
//! tap_floor [--secs S] [--reps N] [--only send64|send1500|recv64|recv1500|drain64|drain1500]
//!           [--floor-nonblock] [-v]   # as root; default 1 s, 3 repetitions
//! ```
//!
//! `--floor-nonblock` makes the floor's *send* fd nonblocking (a blocking
//! write to tun costs the kernel a few per cent more; tun never answers
//! `EAGAIN`, so the loop is the same); `-v` prints every sample.
//!
//! ```text
//! cargo run --release -p shimmer-benches --bin tap_floor -- --secs 0.5 --reps 7
//! ```
//!
//! Why this shape: a TAP device costs one syscall per frame at best, and
//! the floor is exactly that, with nothing around it (no executor, no
//! readiness, no page pool). `TapDevice` is held to a fraction of it (the
//! target is ≥ 0.9×). The process first moves into a network namespace of
//! its own (`unshare(CLONE_NEWNET)`, IPv6 off so the taps stay silent), so
//! it touches nothing of the host and leaves nothing behind.
//!
//! Per frame size (64 B, 1500 B) and direction, each repetition runs the
//! floor and shimmer for `S` seconds each (alternating which goes first, so
//! drift favours neither); the device runs on CPU 0 and the kernel side on
//! CPU 1 (a small VM's scheduler otherwise makes the numbers swing by 2×).
//! Printed: the median frames/s of each, and the median of the
//! per-repetition shimmer/floor ratios.
//!
//! * **send**: the device writes frames back to back; on the kernel side an
//!   `AF_PACKET` socket bound to the interface counts what arrived
//!   (`PACKET_STATISTICS`; it is not read, so no reader is woken per frame
//!   and the floor is as fast as it gets). Frames/s is writes completed per
//!   second.
//! * **recv**: another thread blasts frames into the interface through an
//!   `AF_PACKET` socket as fast as the kernel takes them (tun drops what
//!   its 1000-frame queue cannot hold); frames/s is frames the device read
//!   per second.
//!
//! * **drain**: 20 000 frames are queued for the device first (untimed;
//!   the tap's `txqueuelen` raised to hold them), then read until the
//!   queue is empty, in rounds until `S` seconds of reading: the per-frame
//!   cost of reading with no other thread in the way (the floor reads with
//!   a nonblocking fd until `EAGAIN`; shimmer awaits one `recv`, then polls
//!   until pending). Frames/s is frames read per second of reading.
//!
//! shimmer's sender fills each frame in place (header and sequence number,
//! as a packet generator would); the floor patches the same bytes into its
//! buffer before each write.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::Poll;
use std::time::{Duration, Instant};

use shimmer_io::net::Net;
use shimmer_unix::tap::{TapDevice, TapOptions};

const ETH_P_ALL: u16 = 0x0003;
const ETHERTYPE: [u8; 2] = [0x88, 0xb5];
const KERNEL_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const DEVICE_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

fn check(r: libc::c_int, what: &str) -> io::Result<libc::c_int> {
    if r < 0 {
        let e = io::Error::last_os_error();
        Err(io::Error::new(e.kind(), format!("{what}: {e}")))
    } else {
        Ok(r)
    }
}

/// `struct ifreq`: a name and a 24-byte, pointer-aligned union.
#[repr(C, align(8))]
struct IfReq {
    name: [u8; 16],
    data: [u8; 24],
}

impl IfReq {
    fn new(name: &str) -> IfReq {
        let mut r = IfReq {
            name: [0; 16],
            data: [0; 24],
        };
        r.name[..name.len()].copy_from_slice(name.as_bytes());
        r
    }
}

fn ifreq_ioctl(
    fd: libc::c_int,
    request: libc::c_ulong,
    req: &mut IfReq,
    what: &str,
) -> io::Result<()> {
    // SAFETY: every request passed here takes a `struct ifreq *`; `req` is
    // at least the kernel's size and alignment and is borrowed for the call.
    check(
        unsafe { libc::ioctl(fd, request as _, req as *mut IfReq) },
        what,
    )
    .map(drop)
}

/// Brings interface `name` up.
fn bring_up(name: &str) -> io::Result<()> {
    // SAFETY: plain socket(2); checked.
    let ctl = check(
        unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) },
        "socket",
    )?;
    // SAFETY: a new fd nobody else owns.
    let ctl = unsafe { OwnedFd::from_raw_fd(ctl) };
    let mut r = IfReq::new(name);
    ifreq_ioctl(ctl.as_raw_fd(), libc::SIOCGIFFLAGS, &mut r, "SIOCGIFFLAGS")?;
    let flags = u16::from_ne_bytes([r.data[0], r.data[1]]) | libc::IFF_UP as u16;
    r.data[..2].copy_from_slice(&flags.to_ne_bytes());
    ifreq_ioctl(ctl.as_raw_fd(), libc::SIOCSIFFLAGS, &mut r, "SIOCSIFFLAGS")
}

/// The floor's tap: `/dev/net/tun`, blocking unless `nonblock`,
/// `IFF_TAP | IFF_NO_PI`, up.
fn floor_tap(name: &str, nonblock: bool) -> io::Result<OwnedFd> {
    let nb = if nonblock { libc::O_NONBLOCK } else { 0 };
    // SAFETY: a NUL-terminated path; checked.
    let fd = check(
        unsafe {
            libc::open(
                c"/dev/net/tun".as_ptr(),
                libc::O_RDWR | libc::O_CLOEXEC | nb,
            )
        },
        "open /dev/net/tun",
    )?;
    // SAFETY: a new fd nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let mut r = IfReq::new(name);
    let flags = (libc::IFF_TAP | libc::IFF_NO_PI) as u16;
    r.data[..2].copy_from_slice(&flags.to_ne_bytes());
    ifreq_ioctl(fd.as_raw_fd(), libc::TUNSETIFF as _, &mut r, "TUNSETIFF")?;
    bring_up(name)?;
    Ok(fd)
}

/// An `AF_PACKET` socket bound to `name` (blocking, 100 ms receive timeout,
/// frames the interface transmits ignored).
fn packet_socket(name: &str) -> io::Result<OwnedFd> {
    let mut r = IfReq::new(name);
    // SAFETY: plain socket(2); checked.
    let fd = check(
        unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                i32::from(ETH_P_ALL.to_be()),
            )
        },
        "AF_PACKET socket",
    )?;
    // SAFETY: a new fd nobody else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    ifreq_ioctl(fd.as_raw_fd(), libc::SIOCGIFINDEX, &mut r, "SIOCGIFINDEX")?;
    let ifindex = i32::from_ne_bytes([r.data[0], r.data[1], r.data[2], r.data[3]]);
    let one: libc::c_int = 1;
    let tv = libc::timeval {
        tv_sec: 0,
        tv_usec: 100_000,
    };
    // SAFETY: each option's value pointer and length describe a local of
    // the option's type.
    unsafe {
        check(
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_PACKET,
                23,
                (&one as *const libc::c_int).cast(),
                4,
            ),
            "PACKET_IGNORE_OUTGOING",
        )?;
        check(
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                libc::SO_RCVTIMEO,
                (&tv as *const libc::timeval).cast(),
                std::mem::size_of::<libc::timeval>() as libc::socklen_t,
            ),
            "SO_RCVTIMEO",
        )?;
    }
    // SAFETY: all-zero is a valid sockaddr_ll.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = ETH_P_ALL.to_be();
    sll.sll_ifindex = ifindex;
    // SAFETY: the pointer and length describe `sll`.
    check(
        unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        },
        "bind AF_PACKET",
    )?;
    Ok(fd)
}

/// Pins the calling thread to CPU `cpu` (if the machine has it), so the
/// device and the kernel side do not trade CPUs mid-run.
fn pin(cpu: usize) {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cpus < 2 {
        return;
    }
    // SAFETY: a zeroed cpu_set_t is empty; CPU_SET writes inside it, and
    // sched_setaffinity reads `size_of::<cpu_set_t>()` bytes of it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu % cpus, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

fn header(f: &mut [u8], dst: [u8; 6], src: [u8; 6], seq: u64) {
    f[..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&src);
    f[12..14].copy_from_slice(&ETHERTYPE);
    f[14..22].copy_from_slice(&seq.to_be_bytes());
}

#[derive(Clone, Copy, PartialEq)]
enum Dir {
    Send,
    Recv,
    Drain,
}

impl Dir {
    fn label(self) -> &'static str {
        match self {
            Dir::Send => "send",
            Dir::Recv => "recv",
            Dir::Drain => "drain",
        }
    }
}

/// Frames queued before a `drain` run.
const DRAIN_N: u64 = 20_000;

/// Sets interface `name`'s transmit queue length (for a tap: how many
/// frames the kernel holds for its reads).
fn set_txqueuelen(name: &str, frames: u32) -> io::Result<()> {
    // SAFETY: plain socket(2); checked.
    let ctl = check(
        unsafe { libc::socket(libc::AF_UNIX, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) },
        "socket",
    )?;
    // SAFETY: a new fd nobody else owns.
    let ctl = unsafe { OwnedFd::from_raw_fd(ctl) };
    let mut r = IfReq::new(name);
    r.data[..4].copy_from_slice(&(frames as i32).to_ne_bytes());
    ifreq_ioctl(
        ctl.as_raw_fd(),
        libc::SIOCSIFTXQLEN,
        &mut r,
        "SIOCSIFTXQLEN",
    )
}

/// The kernel side of one run. For `Send`, an `AF_PACKET` socket bound to
/// `name` that nobody reads: the kernel counts every frame that reaches it
/// (`PACKET_STATISTICS`) and drops those its buffer cannot hold, so the
/// device's writes wake no reader and the floor is as fast as it gets. For
/// `Recv`, a thread on CPU 1 blasting `size`-byte frames into the interface
/// until `stop`. Joining gives the count (frames arrived, or sent).
fn kernel_side(dir: Dir, name: &str, size: usize, stop: Arc<AtomicBool>) -> KernelSide {
    let sock = packet_socket(name).expect("AF_PACKET socket");
    match dir {
        Dir::Send => KernelSide::Sink(sock),
        Dir::Drain => unreachable!("drain runs inject their own frames"),
        Dir::Recv => KernelSide::Blaster(std::thread::spawn(move || {
            pin(1);
            let mut n = 0u64;
            let mut frame = vec![0u8; size];
            while !stop.load(Ordering::Relaxed) {
                header(&mut frame, DEVICE_MAC, KERNEL_MAC, n);
                // SAFETY: the pointer and length describe `frame`.
                let r =
                    unsafe { libc::send(sock.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
                if r > 0 {
                    n += 1;
                }
            }
            n
        })),
    }
}

enum KernelSide {
    Sink(OwnedFd),
    Blaster(std::thread::JoinHandle<u64>),
}

impl KernelSide {
    fn join(self) -> u64 {
        match self {
            KernelSide::Blaster(t) => t.join().expect("blaster"),
            KernelSide::Sink(sock) => {
                // struct tpacket_stats { tp_packets, tp_drops }: packets
                // counts every frame that reached the socket, dropped or not.
                let mut st = [0u32; 2];
                let mut len = std::mem::size_of_val(&st) as libc::socklen_t;
                // SAFETY: PACKET_STATISTICS writes a tpacket_stats (two u32)
                // of at most `len` bytes into `st`.
                let r = unsafe {
                    libc::getsockopt(
                        sock.as_raw_fd(),
                        libc::SOL_PACKET,
                        libc::PACKET_STATISTICS,
                        st.as_mut_ptr().cast(),
                        &mut len,
                    )
                };
                check(r, "PACKET_STATISTICS").expect("AF_PACKET statistics");
                u64::from(st[0])
            }
        }
    }
}

/// A page-aligned frame buffer for the floor.
#[repr(C, align(4096))]
struct PageBuf([u8; 4096]);

struct Sample {
    /// Frames per second the device (floor or shimmer) moved.
    fps: f64,
    /// Frames the device moved.
    frames: u64,
    /// Frames the kernel side counted (arrived, sent, or queued).
    kernel: u64,
}

/// The floor: a blocking `read` or `write` loop on a plain tap fd.
/// With `nonblock`, the send loop's fd is nonblocking (tun never answers
/// EAGAIN, and a blocking write costs the kernel a little more).
fn run_floor(dir: Dir, size: usize, secs: f64, nonblock: bool) -> Sample {
    if dir == Dir::Drain {
        return drain_floor(size, secs);
    }
    let fd = floor_tap("floor0", nonblock && dir == Dir::Send).expect("floor tap");
    let stop = Arc::new(AtomicBool::new(false));
    let kernel = kernel_side(dir, "floor0", size, stop.clone());
    let raw = fd.as_raw_fd();
    // Page-aligned, like the pool's pages: the copy to and from the kernel
    // then touches one page, as shimmer's does.
    let mut page = Box::new(PageBuf([0; 4096]));
    let buf = &mut page.0;
    let mut n = 0u64;
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(secs);
    loop {
        match dir {
            Dir::Send => {
                header(&mut buf[..size], KERNEL_MAC, DEVICE_MAC, n);
                // SAFETY: the pointer and length lie inside `buf`.
                let r = unsafe { libc::write(raw, buf.as_ptr().cast(), size) };
                assert_eq!(r, size as isize, "floor write");
            }
            Dir::Recv => {
                // SAFETY: the pointer and length describe `buf`.
                let r = unsafe { libc::read(raw, buf.as_mut_ptr().cast(), buf.len()) };
                assert!(r > 0, "floor read");
            }
            Dir::Drain => unreachable!(),
        }
        n += 1;
        if n & 1023 == 0 && Instant::now() >= end {
            break;
        }
    }
    let took = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let kernel = kernel.join();
    Sample {
        fps: n as f64 / took,
        frames: n,
        kernel,
    }
}

/// The same workload through `TapDevice` on a shimmer-unix executor.
fn run_shimmer(dir: Dir, size: usize, secs: f64) -> Sample {
    if dir == Dir::Drain {
        return drain_shimmer(size, secs);
    }
    shimmer_unix::block_on(async move {
        let options = TapOptions {
            mtu: Some(1500),
            mac: Some(shimmer_io::net::MacAddr(DEVICE_MAC)),
            ..TapOptions::new()
        };
        let tap = TapDevice::open_with("shim0", options).expect("shimmer tap");
        let stop = Arc::new(AtomicBool::new(false));
        let kernel = kernel_side(dir, "shim0", size, stop.clone());
        let mut n = 0u64;
        let start = Instant::now();
        let end = start + Duration::from_secs_f64(secs);
        loop {
            match dir {
                Dir::Send => {
                    tap.send_ready().await.expect("send_ready");
                    tap.send(size, |f| {
                        header(f, KERNEL_MAC, DEVICE_MAC, n);
                        size
                    })
                    .expect("send");
                }
                Dir::Recv => {
                    let frame = tap.recv().await.expect("recv");
                    assert!(!frame.is_empty());
                }
                Dir::Drain => unreachable!(),
            }
            n += 1;
            if n & 1023 == 0 && Instant::now() >= end {
                break;
            }
        }
        let took = start.elapsed().as_secs_f64();
        stop.store(true, Ordering::Relaxed);
        let kernel = kernel.join();
        let s = tap.stats();
        match dir {
            Dir::Send => assert_eq!((s.tx_frames, s.tx_dropped), (n, 0)),
            Dir::Recv | Dir::Drain => assert_eq!(s.rx_frames, n),
        }
        Sample {
            fps: n as f64 / took,
            frames: n,
            kernel,
        }
    })
    .expect("executor")
}

/// Queues `DRAIN_N` frames for interface `name` through `sock` (the tap's
/// queue made long enough first), untimed.
fn inject(sock: &OwnedFd, name: &str, size: usize) {
    set_txqueuelen(name, DRAIN_N as u32 + 1000).expect("txqueuelen");
    let mut frame = vec![0u8; size];
    for n in 0..DRAIN_N {
        header(&mut frame, DEVICE_MAC, KERNEL_MAC, n);
        // SAFETY: the pointer and length describe `frame`.
        let r = unsafe { libc::send(sock.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        assert_eq!(r, size as isize, "inject");
    }
}

/// Drain rounds per sample: `DRAIN_N` frames each, until `secs` of reading.
fn drain_rounds(secs: f64, mut round: impl FnMut() -> (u64, Duration)) -> Sample {
    let (mut frames, mut took) = (0u64, Duration::ZERO);
    while took.as_secs_f64() < secs {
        let (n, t) = round();
        assert_eq!(n, DRAIN_N, "a queued frame went missing");
        frames += n;
        took += t;
    }
    Sample {
        fps: frames as f64 / took.as_secs_f64(),
        frames,
        kernel: frames,
    }
}

/// The floor's drain: a nonblocking `read` loop until `EAGAIN` (a read that
/// finds a frame costs the same blocking or not).
fn drain_floor(size: usize, secs: f64) -> Sample {
    let fd = floor_tap("floor0", true).expect("floor tap");
    let sock = packet_socket("floor0").expect("AF_PACKET socket");
    let mut page = Box::new(PageBuf([0; 4096]));
    drain_rounds(secs, || {
        inject(&sock, "floor0", size);
        let start = Instant::now();
        let mut n = 0;
        // SAFETY: the pointer and length describe the page.
        while unsafe { libc::read(fd.as_raw_fd(), page.0.as_mut_ptr().cast(), 4096) } > 0 {
            n += 1;
        }
        (n, start.elapsed())
    })
}

/// shimmer's drain: the first `recv` waits for the reactor to hear of the
/// frames (a park), then `poll_recv` until it is pending, which it is only
/// once a read said `EAGAIN`.
fn drain_shimmer(size: usize, secs: f64) -> Sample {
    shimmer_unix::block_on(async move {
        let tap = TapDevice::open_with("shim0", TapOptions::new()).expect("shimmer tap");
        let sock = packet_socket("shim0").expect("AF_PACKET socket");
        let (mut frames, mut took) = (0u64, Duration::ZERO);
        while took.as_secs_f64() < secs {
            inject(&sock, "shim0", size);
            let start = Instant::now();
            tap.recv().await.expect("recv");
            let mut n = 1;
            loop {
                match std::future::poll_fn(|cx| Poll::Ready(tap.poll_recv(cx))).await {
                    Poll::Ready(frame) => drop(frame.expect("recv")),
                    Poll::Pending => break,
                }
                n += 1;
            }
            took += start.elapsed();
            assert_eq!(n, DRAIN_N, "a queued frame went missing");
            frames += n;
        }
        assert_eq!(tap.stats().rx_frames, frames);
        Sample {
            fps: frames as f64 / took.as_secs_f64(),
            frames,
            kernel: frames,
        }
    })
    .expect("executor")
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut secs = 1.0f64;
    let mut reps = 3usize;
    let mut verbose = false;
    let mut nonblock = false;
    let mut only: Option<String> = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "-v" {
            verbose = true;
            continue;
        }
        if a == "--floor-nonblock" {
            nonblock = true;
            continue;
        }
        let v = args.next();
        match (a.as_str(), v) {
            ("--only", Some(v)) => only = Some(v),
            ("--secs", Some(v)) => secs = v.parse().expect("--secs S"),
            ("--reps", Some(v)) => reps = v.parse().expect("--reps N"),
            _ => {
                eprintln!("usage: tap_floor [--secs S] [--reps N] [--only send64|send1500|recv64|recv1500|drain64|drain1500] [--floor-nonblock] [-v]   (as root)");
                std::process::exit(2);
            }
        }
    }
    reps = reps.max(1);
    // SAFETY: unshare(2) of the network namespace only, before any thread.
    if let Err(e) = check(
        unsafe { libc::unshare(libc::CLONE_NEWNET) },
        "unshare(CLONE_NEWNET)",
    ) {
        eprintln!("tap_floor: {e} (run as root)");
        std::process::exit(1);
    }
    let _ = std::fs::write("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
    let _ = std::fs::write("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");

    pin(0);
    println!(
        "# tap_floor: {secs} s per run, median of {reps}; frames/s; ratio = median of \
         per-repetition shimmer/floor; floor send fd {}",
        if nonblock { "nonblocking" } else { "blocking" }
    );
    println!(
        "{:<5} {:>5} {:>12} {:>12} {:>7}  delivered (floor / shimmer)",
        "dir", "size", "floor", "shimmer", "ratio"
    );
    for dir in [Dir::Send, Dir::Recv, Dir::Drain] {
        for size in [64usize, 1500] {
            let label = format!("{}{size}", dir.label());
            if only.as_ref().is_some_and(|o| *o != label) {
                continue;
            }
            let (mut floor, mut shim, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
            let (mut kf, mut ks, mut df, mut ds) = (0u64, 0u64, 0u64, 0u64);
            for rep in 0..reps {
                // Alternate which goes first, so drift favours neither.
                let (f, s) = if rep % 2 == 0 {
                    let f = run_floor(dir, size, secs, nonblock);
                    (f, run_shimmer(dir, size, secs))
                } else {
                    let s = run_shimmer(dir, size, secs);
                    (run_floor(dir, size, secs, nonblock), s)
                };
                floor.push(f.fps);
                shim.push(s.fps);
                ratios.push(s.fps / f.fps);
                (kf, ks) = (kf + f.kernel, ks + s.kernel);
                (df, ds) = (df + f.frames, ds + s.frames);
            }
            if verbose {
                println!("  samples floor {floor:.0?} shimmer {shim:.0?}");
            }
            let (f, s, r) = (median(floor), median(shim), median(ratios));
            // send: the share of frames written that reached the kernel
            // side; recv and drain: the share of frames sent that were read
            // (the rest tun dropped, its queue full).
            let pct = |num: u64, den: u64| 100.0 * num as f64 / den.max(1) as f64;
            let (pf, ps) = match dir {
                Dir::Send => (pct(kf, df), pct(ks, ds)),
                Dir::Recv | Dir::Drain => (pct(df, kf), pct(ds, ks)),
            };
            println!(
                "{:<5} {:>5} {:>12.0} {:>12.0} {:>7.3}  {pf:5.1}% / {ps:5.1}%",
                dir.label(),
                size,
                f,
                s,
                r
            );
        }
    }
}
