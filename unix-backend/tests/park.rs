use std::time::Duration;

use shimmer_executor::{Park, Unpark};
use shimmer_unix::UnixPark;

#[test]
fn remote_wake_interrupts_park_without_deadline() {
    let mut park = UnixPark::new().unwrap();
    let un = park.unparker();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        un.unpark();
    });
    park.park(None);
    t.join().unwrap();
}

#[test]
fn zero_timeout_park_returns() {
    let mut park = UnixPark::new().unwrap();
    let now = park.now();
    park.park(Some(now));
}

#[test]
fn timers_never_early() {
    shimmer_unix::block_on(async {
        for us in [50u64, 100, 250, 500, 1000, 5000] {
            let d = Duration::from_micros(us);
            let start = std::time::Instant::now();
            shimmer_executor::sleep(d).await;
            let took = start.elapsed();
            println!("sleep {us} us: late by {:?}", took.saturating_sub(d));
            assert!(took >= d, "early: {took:?} < {d:?}");
            assert!(took < d + Duration::from_millis(50));
        }
    })
    .unwrap();
}

#[test]
fn spawned_remote_wake_through_block_on() {
    shimmer_unix::block_on(async {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            tx.send(()).unwrap();
        });
        shimmer_executor::sleep(Duration::from_millis(20)).await;
        rx.recv().unwrap();
        t.join().unwrap();
    })
    .unwrap();
}

#[test]
fn timerfd_fallback_never_early() {
    let mut park = UnixPark::new().unwrap();
    park.force_timerfd();
    let mut ex = shimmer_executor::Executor::new(park);
    ex.block_on(async {
        for us in [50u64, 200, 1000, 3000] {
            let d = Duration::from_micros(us);
            let start = std::time::Instant::now();
            shimmer_executor::sleep(d).await;
            let took = start.elapsed();
            println!(
                "timerfd sleep {us} us: late by {:?}",
                took.saturating_sub(d)
            );
            assert!(took >= d, "early: {took:?} < {d:?}");
            assert!(took < d + Duration::from_millis(50));
        }
    });
}

#[test]
fn enosys_on_first_use_switches_to_timerfd_for_good() {
    let mut park = UnixPark::new().unwrap();
    assert!(park.uses_epoll_pwait2(), "this kernel has epoll_pwait2");
    park.pretend_no_epoll_pwait2();
    // The first wait meets ENOSYS, switches, and still honours the deadline.
    let start = park.now();
    park.park(Some(start + Duration::from_micros(300)));
    assert!(park.now() >= start + Duration::from_micros(300), "early");
    assert!(!park.uses_epoll_pwait2(), "switched");
    // Later waits never try epoll_pwait2 again (it would fail: still
    // "missing"), and timers, remote wakes and readiness all work.
    let mut ex = shimmer_executor::Executor::new(park);
    ex.block_on(async {
        for us in [100u64, 1500] {
            let d = Duration::from_micros(us);
            let t = std::time::Instant::now();
            shimmer_executor::sleep(d).await;
            assert!(t.elapsed() >= d);
            assert!(t.elapsed() < d + Duration::from_millis(50));
        }
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let th = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            tx.send(()).unwrap();
        });
        shimmer_executor::sleep(Duration::from_millis(10)).await;
        rx.recv().unwrap();
        th.join().unwrap();
    });
}

#[test]
fn remote_wake_interrupts_the_timerfd_path() {
    let mut park = UnixPark::new().unwrap();
    park.force_timerfd();
    assert!(!park.uses_epoll_pwait2());
    let un = park.unparker();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(20));
        un.unpark();
    });
    let start = std::time::Instant::now();
    park.park(None);
    assert!(start.elapsed() >= Duration::from_millis(15));
    t.join().unwrap();
    // A far deadline is interrupted too.
    let un = park.unparker();
    let t = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(10));
        un.unpark();
    });
    let now = park.now();
    park.park(Some(now + Duration::from_secs(30)));
    assert!(park.now() < now + Duration::from_secs(5), "not interrupted");
    t.join().unwrap();
}

#[test]
fn readiness_through_the_timerfd_path() {
    use std::io::{Read, Write};
    let mut park = UnixPark::new().unwrap();
    park.force_timerfd();
    let mut ex = shimmer_executor::Executor::new(park);
    ex.block_on(async {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let a = shimmer_unix::AsyncFd::new(a).unwrap();
        let th = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            (&b).write_all(b"ok").unwrap();
            b
        });
        let mut buf = [0u8; 4];
        let n = a
            .read_with(|s| {
                let mut s: &std::os::unix::net::UnixStream = s;
                s.read(&mut buf)
            })
            .await
            .unwrap();
        assert_eq!(&buf[..n], b"ok");
        drop(th.join().unwrap());
    });
}
