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
