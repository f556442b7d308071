use std::time::{Duration, SystemTime, UNIX_EPOCH};

use shimmer_executor::Instant;
use shimmer_io::clock::Clock;
use shimmer_unix::UnixClock;

#[test]
fn monotonic_is_the_executor_clock() {
    shimmer_unix::block_on(async {
        for _ in 0..5 {
            let a = UnixClock.monotonic_ns();
            let exec = Instant::now().as_nanos();
            let b = UnixClock.monotonic_ns();
            assert!(a <= exec && exec <= b, "{a} <= {exec} <= {b}");
            assert!(b - a < 10_000_000, "reads 10 ms apart?");
            assert_eq!(
                UnixClock.now().as_nanos() / 1_000_000_000,
                b / 1_000_000_000
            );
            shimmer_executor::sleep(Duration::from_millis(2)).await;
        }
        // Timers and the clock agree: a 20 ms sleep is >= 20 ms on UnixClock.
        let before = UnixClock.monotonic_ns();
        shimmer_executor::sleep(Duration::from_millis(20)).await;
        let slept = UnixClock.monotonic_ns() - before;
        assert!(slept >= 20_000_000, "slept {slept} ns");
    })
    .unwrap();
}

#[test]
fn monotonic_tracks_std_instant() {
    let c = UnixClock;
    let s0 = std::time::Instant::now();
    let m0 = c.monotonic_ns();
    std::thread::sleep(Duration::from_millis(30));
    let m1 = c.monotonic_ns();
    let s = s0.elapsed().as_nanos() as i128;
    let m = i128::from(m1 - m0);
    assert!((s - m).abs() < 5_000_000, "std {s} ns vs unix {m} ns");
    assert!(m >= 30_000_000);
}

#[test]
fn wall_clock_is_near_system_time() {
    let sys = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as i128;
    let ours = i128::from(UnixClock.wall_clock_ns());
    assert!((sys - ours).abs() < 100_000_000, "{sys} vs {ours}");
    let st = UnixClock.wall_clock();
    let d = st
        .duration_since(SystemTime::now())
        .unwrap_or_else(|e| e.duration());
    assert!(d < Duration::from_millis(100));
}

#[test]
fn park_and_clock_are_one_type() {
    let park_clock: shimmer_unix::park::UnixClock = shimmer_unix::clock::UnixClock;
    let p = shimmer_unix::UnixPark::new().unwrap();
    let a = park_clock.now();
    let b = shimmer_executor::Park::now(&p);
    let c = park_clock.now();
    assert!(a <= b && b <= c);
}
