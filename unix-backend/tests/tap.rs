//! The TAP device against the kernel, for real: each test runs in its own
//! network namespace (see `support::netns`) with a fresh tap, and checks
//! what arrives on the other side with an `AF_PACKET` socket bound to the
//! interface (`support::packet`). Needs root; skips (or fails, with
//! `SHIMMER_REQUIRE_ROOT_TESTS=1`) otherwise.

mod support;

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use shimmer_executor::{spawn, timeout, yield_now};
use shimmer_io::net::{LinkState, MacAddr, Net};
use shimmer_io::page::{Buf, PagePool};
use shimmer_io::{conformance, Error};
use shimmer_unix::tap::{TapDevice, TapOptions, MAX_MTU};

use support::netns::{self, in_netns};
use support::packet::{tap_with_peer, PacketNet, PacketSocket};
use support::root::root_or_skip;

const ETHERTYPE: [u8; 2] = [0x88, 0xb5];
const WAIT: Duration = Duration::from_secs(2);

/// Opens `name` with MTU `mtu`, up, pages from `pool`.
fn open(name: &str, mtu: usize, pool: &PagePool) -> TapDevice {
    TapDevice::open_with(
        name,
        TapOptions {
            mtu: Some(mtu),
            pool: Some(pool.clone()),
            ..TapOptions::new()
        },
    )
    .unwrap_or_else(|e| panic!("open tap {name}: {e}"))
}

/// Runs the future `f()` builds in a fresh namespace on a shimmer-unix
/// executor.
fn run<F: Future>(f: impl FnOnce() -> F + Send) -> F::Output
where
    F::Output: Send,
{
    netns::block_on_in_netns(f)
}

/// A tap `tap0` (MTU 1500, pages from `pool`) and its kernel side.
struct Link {
    pool: PagePool,
    tap: TapDevice,
    peer: PacketSocket,
}

/// The usual TAP test: as root (else skipped, or failed in CI), in a
/// namespace of its own, `body` gets a fresh [`Link`].
fn with_tap<F: Future<Output = ()>>(test: &str, body: impl FnOnce(Link) -> F + Send) {
    if !root_or_skip(test) {
        return;
    }
    run(move || async move {
        let pool = PagePool::new();
        let (tap, peer) = tap_with_peer("tap0", 1500, &pool);
        body(Link { pool, tap, peer }).await
    })
}

/// A test frame: `dst`, `src`, our EtherType, `seq`, then a pattern.
fn frame(dst: [u8; 6], src: [u8; 6], seq: u32, len: usize) -> Vec<u8> {
    let mut f = vec![0u8; len];
    fill(&mut f, dst, src, seq);
    f
}

fn fill(f: &mut [u8], dst: [u8; 6], src: [u8; 6], seq: u32) {
    f[..6].copy_from_slice(&dst);
    f[6..12].copy_from_slice(&src);
    f[12..14].copy_from_slice(&ETHERTYPE);
    f[14..18].copy_from_slice(&seq.to_be_bytes());
    for (i, b) in f[18..].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(31).wrapping_add(seq as u8);
    }
}

fn seq_of(f: &[u8]) -> u32 {
    u32::from_be_bytes([f[14], f[15], f[16], f[17]])
}

fn is_ours(f: &[u8]) -> bool {
    f.len() >= 18 && f[12..14] == ETHERTYPE
}

/// The next frame of ours the tap device receives, within `WAIT`.
async fn recv_ours(tap: &TapDevice) -> Buf {
    loop {
        let f = timeout(WAIT, tap.recv())
            .await
            .expect("a frame within 2 s")
            .expect("recv");
        if is_ours(&f) {
            return f;
        }
    }
}

/// The next frame of ours the packet socket receives, within `WAIT`.
fn peer_recv(peer: &PacketSocket) -> Option<Vec<u8>> {
    loop {
        let f = peer.recv_timeout(WAIT)?;
        if is_ours(&f) {
            return Some(f);
        }
    }
}

/// Sends `bytes` through the tap device.
fn tap_send(tap: &TapDevice, bytes: &[u8]) -> shimmer_io::Result<()> {
    tap.send(bytes.len(), |f| {
        f.copy_from_slice(bytes);
        bytes.len()
    })
}

#[test]
fn passes_the_net_conformance_suite() {
    if !root_or_skip("passes_the_net_conformance_suite") {
        return;
    }
    in_netns(|| {
        // A fresh interface per case (the previous one is gone with its fd).
        let n = Rc::new(Cell::new(0u32));
        let name = move || {
            n.set(n.get() + 1);
            format!("shm{}", n.get())
        };
        // The tap sends (the burst goes into the AF_PACKET socket's large
        // buffer), the kernel side receives.
        let next = name.clone();
        shimmer_unix::block_on(conformance::net(|pool| {
            let name = next();
            async move {
                let tap = open(&name, 1500, &pool);
                let peer = PacketNet::open(&name, pool).expect("AF_PACKET peer");
                (tap, peer)
            }
        }))
        .unwrap();
        // The tap receives: its recv is the one the suite cancels. The
        // kernel queues up to txqueuelen frames for the tap's reads; the
        // suite's burst (2000 frames, sent without yielding) needs more for
        // the link to be the lossless one the suite asks for. Largest MTU.
        let next = name.clone();
        shimmer_unix::block_on(conformance::net(|pool| {
            let name = next();
            async move {
                let tap = open(&name, MAX_MTU, &pool);
                netns::set_txqueuelen(&name, 4096).expect("txqueuelen");
                let peer = PacketNet::open(&name, pool).expect("AF_PACKET peer");
                (peer, tap)
            }
        }))
        .unwrap();
    });
}

#[test]
fn frames_arrive_byte_exact_both_ways() {
    if !root_or_skip("frames_arrive_byte_exact_both_ways") {
        return;
    }
    run(|| async {
        for mtu in [1500, MAX_MTU] {
            let pool = PagePool::new();
            let tap = open("tap0", mtu, &pool);
            let peer = PacketSocket::open("tap0").unwrap();
            let kernel_mac = netns::hwaddr("tap0").unwrap();
            let max = mtu + 14;
            assert_eq!(tap.max_frame_len(), max);
            for (seq, len) in [64, 1500, 1514, max].into_iter().enumerate() {
                if len > max {
                    continue;
                }
                // tap -> kernel
                let out = frame(kernel_mac, tap.mac().0, seq as u32, len);
                tap.send_ready().await.unwrap();
                tap_send(&tap, &out).unwrap();
                let got = peer_recv(&peer).expect("the tap's frame on AF_PACKET");
                assert!(got == out, "tap->kernel {len}-byte frame changed");
                // kernel -> tap
                let back = frame(tap.mac().0, kernel_mac, 100 + seq as u32, len);
                peer.send_all(&back);
                let got = recv_ours(&tap).await;
                assert_eq!(got.len(), len);
                assert!(got[..] == back[..], "kernel->tap {len}-byte frame changed");
                // Zero-copy: the frame is a view of one of the pool's pages.
                assert!(PagePool::ptr_eq(&got.pool(), &pool));
                assert_eq!(got.offset(), 0);
            }
            let s = tap.stats();
            assert_eq!((s.tx_frames, s.tx_dropped, s.tx_errors), (4, 0, 0));
            assert_eq!((s.rx_frames, s.rx_dropped), (4, 0));
            drop(tap);
            assert_eq!(pool.stats().in_use, 0, "pages leaked");
        }
    });
}

#[test]
fn a_burst_of_1000_frames_loses_none_and_keeps_order() {
    if !root_or_skip("a_burst_of_1000_frames_loses_none_and_keeps_order") {
        return;
    }
    const N: u32 = 1000;
    run(|| async {
        let pool = PagePool::new();
        let tap = Rc::new(open("tap0", 1500, &pool));
        let peer = Rc::new(PacketSocket::open("tap0").unwrap());
        let kernel_mac = netns::hwaddr("tap0").unwrap();
        let mac = tap.mac().0;

        // kernel -> tap: injected in bursts of 200 while the device reads.
        let injector = spawn({
            let peer = peer.clone();
            async move {
                for seq in 0..N {
                    peer.send_all(&frame(mac, kernel_mac, seq, 64));
                    if seq % 200 == 199 {
                        yield_now().await;
                    }
                }
            }
        });
        let mut seqs = Vec::with_capacity(N as usize);
        while seqs.len() < N as usize {
            seqs.push(seq_of(&recv_ours(&tap).await));
        }
        injector.await.unwrap();
        assert!(
            seqs == (0..N).collect::<Vec<_>>(),
            "kernel->tap lost or reordered"
        );
        assert_eq!(tap.stats().rx_dropped, 0);

        // tap -> kernel: written back to back.
        for seq in 0..N {
            tap.send_ready().await.unwrap();
            tap_send(&tap, &frame(kernel_mac, mac, seq, 64)).unwrap();
        }
        for seq in 0..N {
            let f = peer_recv(&peer).expect("every frame of the burst");
            assert_eq!(seq_of(&f), seq, "tap->kernel lost or reordered");
        }
        let s = tap.stats();
        assert_eq!((s.rx_frames, s.tx_frames), (u64::from(N), u64::from(N)));
    });
}

#[test]
fn refused_sends_send_nothing() {
    with_tap(
        "refused_sends_send_nothing",
        |Link { tap, peer, .. }| async move {
            let kernel_mac = netns::hwaddr("tap0").unwrap();
            let mac = tap.mac().0;
            let mut called = false;
            let r = tap.send(1515, |_| {
                called = true;
                0
            });
            assert_eq!(r, Err(Error::TooLarge));
            assert!(!called, "fill called for an oversized send");
            assert_eq!(tap.send(usize::MAX, |_| 0), Err(Error::TooLarge));
            let r = tap.send(100, |f| {
                fill(f, kernel_mac, mac, 1);
                101
            });
            assert_eq!(r, Err(Error::InvalidInput), "fill claiming 101 of 100");
            let r = tap.send(100, |f| {
                fill(f, kernel_mac, mac, 2);
                13
            });
            assert_eq!(
                r,
                Err(Error::InvalidInput),
                "a frame shorter than its header"
            );
            let s = tap.stats();
            assert_eq!((s.tx_errors, s.tx_frames), (4, 0));
            // None was sent: the first frame the kernel sees is this one.
            tap_send(&tap, &frame(kernel_mac, mac, 3, 100)).unwrap();
            assert_eq!(seq_of(&peer_recv(&peer).unwrap()), 3);
            // A fill that sends again (re-entrancy) is not a panic.
            let r = tap.send(100, |f| {
                tap_send(&tap, &frame(kernel_mac, mac, 4, 80)).unwrap();
                fill(f, kernel_mac, mac, 5);
                100
            });
            assert_eq!(r, Ok(()));
            assert_eq!(seq_of(&peer_recv(&peer).unwrap()), 4);
            assert_eq!(seq_of(&peer_recv(&peer).unwrap()), 5);
        },
    );
}

#[test]
fn a_down_link_drops_frames_and_recovers() {
    with_tap(
        "a_down_link_drops_frames_and_recovers",
        |Link { tap, peer, .. }| async move {
            let kernel_mac = netns::hwaddr("tap0").unwrap();
            let mac = tap.mac().0;
            assert_eq!(tap.link(), LinkState::Up);

            netns::set_up("tap0", false).unwrap();
            assert_eq!(tap.link(), LinkState::Down);
            // What the kernel really does: a write to a down tap is EIO.
            let raw = rustix::io::write(&tap, &frame(kernel_mac, mac, 0, 64));
            assert_eq!(raw, Err(rustix::io::Errno::IO));
            // The device turns that into a dropped frame, not an error.
            tap.send_ready().await.unwrap();
            for seq in 1..=3 {
                assert_eq!(tap_send(&tap, &frame(kernel_mac, mac, seq, 64)), Ok(()));
            }
            let s = tap.stats();
            assert_eq!((s.tx_frames, s.tx_dropped, s.tx_errors), (3, 3, 0));

            netns::set_up("tap0", true).unwrap();
            assert_eq!(tap.link(), LinkState::Up);
            tap.send_ready().await.unwrap();
            tap_send(&tap, &frame(kernel_mac, mac, 4, 64)).unwrap();
            let got = peer_recv(&peer).expect("a frame after the link came back");
            assert_eq!(seq_of(&got), 4, "a frame sent while down arrived");
            peer.send_all(&frame(mac, kernel_mac, 5, 64));
            assert_eq!(seq_of(&recv_ours(&tap).await), 5);
            assert_eq!(tap.stats().tx_dropped, 3);
        },
    );
}

/// Polls `fut` once with a waker that does nothing.
fn poll_once<F: Future>(fut: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    fut.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn dropping_recv_loses_no_frame() {
    with_tap(
        "dropping_recv_loses_no_frame",
        |Link { tap, peer, .. }| async move {
            let kernel_mac = netns::hwaddr("tap0").unwrap();
            let mac = tap.mac().0;

            // Dropped while waiting, with frames arriving meanwhile.
            {
                let mut fut = pin!(tap.recv());
                assert!(poll_once(fut.as_mut()).is_pending());
                for seq in 0..3 {
                    peer.send_all(&frame(mac, kernel_mac, seq, 64));
                }
            }
            // Dropped after a batch was read ahead: the rest is still queued.
            let first = recv_ours(&tap).await;
            assert_eq!(seq_of(&first), 0);
            for seq in 3..10 {
                peer.send_all(&frame(mac, kernel_mac, seq, 64));
            }
            let second = recv_ours(&tap).await; // 1 and 2 were read ahead with 0
            assert_eq!(seq_of(&second), 1);
            drop(tap.recv()); // never polled
            {
                let mut fut = pin!(recv_ours(&tap));
                // Polled to completion inside, then dropped: only that frame went.
                match poll_once(fut.as_mut()) {
                    Poll::Ready(f) => assert_eq!(seq_of(&f), 2),
                    Poll::Pending => panic!("a read-ahead frame must be ready"),
                }
            }
            for want in 3..10 {
                assert_eq!(seq_of(&recv_ours(&tap).await), want, "frame lost by a drop");
            }
            assert_eq!(tap.stats().rx_frames, 10);
        },
    );
}

#[test]
fn oversized_frames_are_dropped_not_truncated() {
    with_tap(
        "oversized_frames_are_dropped_not_truncated",
        |Link { tap, peer, .. }| async move {
            let kernel_mac = netns::hwaddr("tap0").unwrap();
            let mac = tap.mac().0;
            // The MTU raised behind the device's back: frames larger than a page.
            netns::set_mtu("tap0", 9000).unwrap();
            peer.send_all(&frame(mac, kernel_mac, 1, 5000));
            peer.send_all(&frame(mac, kernel_mac, 2, 4096));
            peer.send_all(&frame(mac, kernel_mac, 3, 4095));
            let f = recv_ours(&tap).await;
            assert_eq!(
                (seq_of(&f), f.len()),
                (3, 4095),
                "a truncated frame came out"
            );
            assert_eq!(tap.stats().rx_dropped, 2);
        },
    );
}

#[test]
fn mac_mtu_and_name() {
    if !root_or_skip("mac_mtu_and_name") {
        return;
    }
    run(|| async {
        let pool = PagePool::new();
        let tap = open("tap0", 1400, &pool);
        let own = netns::hwaddr("tap0").unwrap();
        assert_ne!(
            tap.mac().0,
            own,
            "the device must not use the interface's MAC"
        );
        assert!(tap.mac().is_local() && !tap.mac().is_multicast());
        assert_eq!(tap.mtu(), 1400);
        assert_eq!(netns::mtu("tap0").unwrap(), 1400);
        assert_eq!(tap.name(), "tap0");
        drop(tap);
        assert!(
            !netns::exists("tap0"),
            "a non-persistent tap outlived its device"
        );

        let mac = MacAddr([0x02, 0x11, 0x22, 0x33, 0x44, 0x55]);
        let tap = TapDevice::open_with(
            "",
            TapOptions {
                mac: Some(mac),
                pool: Some(pool.clone()),
                ..TapOptions::new()
            },
        )
        .unwrap();
        assert_eq!(tap.mac(), mac);
        assert!(
            tap.name().starts_with("tap"),
            "kernel-chosen {:?}",
            tap.name()
        );
        assert!(
            netns::flags(tap.name()).unwrap() & netns::IFF_UP != 0,
            "brought up"
        );
        assert_eq!(tap.mtu(), netns::mtu(tap.name()).unwrap());

        let down = TapDevice::open_with(
            "quiet",
            TapOptions {
                bring_up: false,
                ..TapOptions::new()
            },
        )
        .unwrap();
        assert_eq!(down.link(), LinkState::Down);
        let e = TapDevice::open_with(
            "big",
            TapOptions {
                mtu: Some(9000),
                ..TapOptions::new()
            },
        )
        .unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    });
}

#[test]
fn a_vanished_interface_answers_device_gone() {
    with_tap(
        "a_vanished_interface_answers_device_gone",
        |Link { pool, tap, peer }| async move {
            let kernel_mac = netns::hwaddr("tap0").unwrap();
            let mac = tap.mac().0;
            for seq in 0..2 {
                peer.send_all(&frame(mac, kernel_mac, seq, 64));
            }
            assert_eq!(seq_of(&recv_ours(&tap).await), 0); // 1 is read ahead
                                                           // `ip link del` runs in this thread's namespace (a child inherits it).
            match std::process::Command::new("ip")
                .args(["link", "del", "tap0"])
                .status()
            {
                Ok(s) => assert!(s.success(), "ip link del: {s}"),
                Err(e) => {
                    eprintln!("SKIP a_vanished_interface_answers_device_gone: no `ip` ({e})");
                    return;
                }
            }
            // Frame 1, received before the interface went, may still come out;
            // then the answer is DeviceGone, never a hang.
            let mut r = timeout(WAIT, tap.recv())
                .await
                .expect("an answer, not a hang");
            if let Ok(f) = &r {
                assert_eq!(seq_of(f), 1);
                r = timeout(WAIT, tap.recv())
                    .await
                    .expect("an answer, not a hang");
            }
            assert_eq!(r.err(), Some(Error::DeviceGone));
            assert_eq!(tap.recv().await.err(), Some(Error::DeviceGone));
            assert_eq!(tap.send_ready().await, Err(Error::DeviceGone));
            assert_eq!(
                tap_send(&tap, &frame(kernel_mac, mac, 9, 64)),
                Err(Error::DeviceGone)
            );
            assert_eq!(tap.link(), LinkState::Down);
            drop(tap);
            assert_eq!(pool.stats().in_use, 0, "queued frames leaked");
        },
    );
}

#[test]
fn a_test_namespace_leaves_nothing_behind() {
    if !root_or_skip("a_test_namespace_leaves_nothing_behind") {
        return;
    }
    let host = netns::netns_id();
    let (ns, seen_inside) = in_netns(|| {
        let ns = netns::netns_id();
        let seen = shimmer_unix::block_on(async {
            let _tap = TapDevice::open("shmleak0").unwrap();
            let _peer = PacketSocket::open("shmleak0").unwrap();
            netns::exists("shmleak0")
        })
        .unwrap();
        (ns, seen)
    });
    assert!(seen_inside, "the tap exists inside");
    assert_ne!(ns, host, "the body ran in the host's namespace");
    assert!(
        !netns::exists("shmleak0"),
        "the test's tap is visible from the host"
    );
    assert_eq!(
        netns::threads_in_netns(ns),
        0,
        "a thread is still in the namespace"
    );

    // A failing body leaves nothing either.
    let failed = std::panic::catch_unwind(|| {
        in_netns(|| {
            shimmer_unix::block_on(async {
                let _tap = TapDevice::open("shmleak1").unwrap();
                panic!("a failing test");
            })
        })
    });
    assert!(failed.is_err());
    assert!(!netns::exists("shmleak1"));
}

/// Counts allocations per thread, so a test can show the device's hot path
/// makes none.
mod counting {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static ALLOCS: Cell<u64> = const { Cell::new(0) };
    }

    pub struct Counting;

    // SAFETY: every call is forwarded to `System` unchanged; the counter is
    // a const-initialised thread-local `Cell` (no allocation, no destructor).
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            ALLOCS.with(|a| a.set(a.get() + 1));
            // SAFETY: the caller's contract, forwarded.
            unsafe { System.alloc(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            // SAFETY: the caller's contract, forwarded.
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
            ALLOCS.with(|a| a.set(a.get() + 1));
            // SAFETY: the caller's contract, forwarded.
            unsafe { System.realloc(ptr, layout, new) }
        }
    }

    /// Allocations made by this thread so far.
    pub fn allocs() -> u64 {
        ALLOCS.with(Cell::get)
    }
}

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

#[test]
fn no_allocation_per_frame() {
    with_tap(
        "no_allocation_per_frame",
        |Link { tap, peer, .. }| async move {
            let kernel_mac = netns::hwaddr("tap0").unwrap();
            let mac = tap.mac().0;
            let mut inside = 0u64; // allocations inside the device's calls
            let out = frame(kernel_mac, mac, 0, 1500);
            // Round 0 warms up (the pool's first chunk); round 1 is counted.
            for _round in 0..2 {
                inside = 0;
                for seq in 0..500u32 {
                    peer.send_all(&frame(mac, kernel_mac, seq, 1500));
                    let got = std::future::poll_fn(|cx| {
                        let before = counting::allocs();
                        let r = tap.poll_recv(cx);
                        inside += counting::allocs() - before;
                        r
                    });
                    let got = timeout(WAIT, got).await.expect("a frame").unwrap();
                    assert_eq!(seq_of(&got), seq);
                    drop(got);
                    let before = counting::allocs();
                    tap.send(out.len(), |f| {
                        f.copy_from_slice(&out);
                        out.len()
                    })
                    .unwrap();
                    inside += counting::allocs() - before;
                }
            }
            assert_eq!(
                inside, 0,
                "allocations in 500 recv + 500 send (after warm-up)"
            );
            assert_eq!(tap.stats().rx_frames, 1000);
        },
    );
}
