//! Timers: sleep, sleep_until, timeout, interval — never early, at most one
//! tick late (exact with a virtual clock), allocation-free, cleaned up on
//! drop.

mod support;

use std::cell::{Cell, RefCell};
use std::future::pending;
use std::pin::pin;
use std::rc::Rc;
use std::time::Duration;

use shimmer_executor::{
    block_on, interval, interval_at, sleep, sleep_until, spawn, timeout, yield_now, Executor,
    Instant, MissedTickBehavior,
};
use support::{DropFlag, ParkEvent, VirtualPark};

const TICK: Duration = Duration::from_micros(16);

#[test]
fn sleep_is_never_early_on_the_real_clock() {
    block_on(async {
        for us in [0u64, 1, 15, 16, 17, 100, 999, 1500, 3000] {
            let d = Duration::from_micros(us);
            let start = Instant::now();
            sleep(d).await;
            assert!(Instant::now() - start >= d, "sleep({d:?}) returned early");
        }
    });
}

#[test]
fn sleep_fires_within_one_tick_of_its_deadline() {
    let park = VirtualPark::new();
    let mut ex = Executor::new(park.clone());
    for ns in [
        1u64,
        999,
        16_000,
        16_001,
        1_000_000,
        1_048_577,
        68_719_476_736,
    ] {
        let p = park.clone();
        let (deadline, fired) = ex.block_on(async move {
            let deadline = p.now() + Duration::from_nanos(ns);
            sleep_until(deadline).await;
            (deadline, p.now())
        });
        assert!(fired >= deadline, "early by {:?}", deadline - fired);
        assert!(
            fired - deadline < TICK,
            "late by {:?} for {ns} ns",
            fired - deadline
        );
    }
}

#[test]
fn timers_fire_in_deadline_order() {
    let park = VirtualPark::new();
    let mut ex = Executor::new(park.clone());
    let order = Rc::new(RefCell::new(Vec::new()));
    let delays_ms = [50u64, 3, 17, 3, 1000, 0, 250, 64, 65, 4096, 1];
    let handles: Vec<_> = delays_ms
        .iter()
        .enumerate()
        .map(|(i, &ms)| {
            let order = order.clone();
            ex.spawn(async move {
                sleep(Duration::from_millis(ms)).await;
                order.borrow_mut().push((ms, i));
            })
        })
        .collect();
    ex.block_on(async {
        for h in handles {
            h.await.unwrap();
        }
    });
    let mut expected: Vec<_> = delays_ms
        .iter()
        .enumerate()
        .map(|(i, &ms)| (ms, i))
        .collect();
    expected.sort();
    assert_eq!(*order.borrow(), expected);
}

#[test]
fn far_deadlines_fire_exactly() {
    let park = VirtualPark::new();
    let mut ex = Executor::new(park.clone());
    for d in [
        Duration::from_secs(3600),
        Duration::from_secs(30 * 24 * 3600),
        Duration::from_secs(400 * 24 * 3600),
    ] {
        let p = park.clone();
        let late = ex.block_on(async move {
            let deadline = p.now() + d;
            sleep(d).await;
            p.now() - deadline
        });
        assert!(late < TICK, "{d:?} late by {late:?}");
    }
}

#[test]
fn duration_max_does_not_overflow() {
    let mut ex = Executor::new(VirtualPark::new());
    let out = ex.block_on(timeout(Duration::MAX, async { 5 }));
    assert_eq!(out, Ok(5));
    let mut s = pin!(sleep(Duration::MAX));
    ex.block_on(async {
        assert!(futures_poll_once(s.as_mut()).await.is_pending());
    });
}

#[test]
fn dropped_sleep_leaves_the_wheel() {
    let park = VirtualPark::new();
    let mut ex = Executor::new(park.clone());
    ex.block_on(async {
        for _ in 0..100 {
            let mut s = pin!(sleep(Duration::from_secs(10)));
            assert!(futures_poll_once(s.as_mut()).await.is_pending());
        }
        sleep(Duration::from_millis(1)).await;
    });
    // Nothing is left: an idle park now would be a deadlock, and no park
    // ever went towards the 10 s deadlines.
    assert!(park
        .events()
        .iter()
        .all(|e| !matches!(e, ParkEvent::Sleep(t) if *t > park.now())));
    assert_eq!(ex.pending_timers(), 0);
    let task = ex.spawn(pending::<()>());
    task.abort();
    assert!(ex.block_on(task).unwrap_err().is_cancelled());
}

#[test]
fn timeout_returns_output_or_elapsed_and_cancels() {
    let park = VirtualPark::new();
    let mut ex = Executor::new(park.clone());
    ex.block_on(async {
        assert_eq!(timeout(Duration::from_millis(5), async { 1 }).await, Ok(1));
        let dropped = Rc::new(Cell::new(false));
        let d = DropFlag(dropped.clone());
        let start = park.now();
        let r = timeout(Duration::from_millis(5), async move {
            let _d = d;
            pending::<()>().await
        })
        .await;
        assert!(r.is_err());
        assert_eq!(r.unwrap_err().to_string(), "deadline has elapsed");
        assert!(dropped.get(), "the timed-out future was not dropped");
        let waited = park.now() - start;
        assert!(waited >= Duration::from_millis(5) && waited < Duration::from_millis(5) + TICK);
        // Finishing just before the deadline wins.
        let r = timeout(Duration::from_millis(5), sleep(Duration::from_millis(4))).await;
        assert!(r.is_ok());
    });
}

#[test]
fn interval_ticks_on_schedule() {
    let park = VirtualPark::new();
    let mut ex = Executor::new(park.clone());
    let start = park.now();
    let ticks = ex.block_on(async {
        let mut iv = interval(Duration::from_millis(10));
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(iv.tick().await);
        }
        v
    });
    let expect: Vec<_> = (0..4)
        .map(|i| start + Duration::from_millis(10 * i))
        .collect();
    assert_eq!(ticks, expect);
}

fn stalled_ticks(behavior: MissedTickBehavior) -> Vec<u64> {
    let park = VirtualPark::new();
    let mut ex = Executor::new(park.clone());
    let start = park.now();
    let p = park.clone();
    ex.block_on(async move {
        let mut iv = interval_at(start, Duration::from_millis(10));
        iv.set_missed_tick_behavior(behavior);
        assert_eq!(iv.missed_tick_behavior(), behavior);
        let mut v = Vec::new();
        v.push(iv.tick().await);
        // Stall for 35 ms (3.5 periods) without yielding.
        p.advance(35_000_000);
        for _ in 0..4 {
            v.push(iv.tick().await);
        }
        v.into_iter()
            .map(|t| (t - start).as_millis() as u64)
            .collect()
    })
}

#[test]
fn interval_missed_tick_behaviors() {
    // Burst: every missed tick fires at once, schedule kept.
    assert_eq!(
        stalled_ticks(MissedTickBehavior::Burst),
        [0, 10, 20, 30, 40]
    );
    // Delay: after the late tick, the schedule restarts from "now".
    assert_eq!(
        stalled_ticks(MissedTickBehavior::Delay),
        [0, 10, 45, 55, 65]
    );
    // Skip (default): the late tick fires, then the next schedule point.
    assert_eq!(stalled_ticks(MissedTickBehavior::Skip), [0, 10, 40, 50, 60]);
    assert_eq!(MissedTickBehavior::default(), MissedTickBehavior::Skip);
}

#[test]
#[should_panic(expected = "non-zero")]
fn zero_interval_panics() {
    block_on(async {
        let _ = interval(Duration::ZERO);
    });
}

#[test]
fn sleep_reset_moves_the_deadline() {
    let park = VirtualPark::new();
    let mut ex = Executor::new(park.clone());
    let p = park.clone();
    ex.block_on(async move {
        let start = p.now();
        let mut s = pin!(sleep(Duration::from_millis(1)));
        s.as_mut().await;
        assert!(s.is_elapsed());
        s.as_mut().reset(p.now() + Duration::from_millis(3));
        assert!(!s.is_elapsed());
        s.as_mut().await;
        assert!(p.now() - start >= Duration::from_millis(4));
        // Reset while registered moves it earlier.
        s.as_mut().reset(p.now() + Duration::from_secs(100));
        assert!(futures_poll_once(s.as_mut()).await.is_pending());
        let before = p.now();
        s.as_mut().reset(p.now() + Duration::from_millis(2));
        s.as_mut().await;
        assert!(p.now() - before < Duration::from_millis(3));
    });
}

#[test]
fn sleep_outlives_its_executor() {
    let mut a = Executor::new(VirtualPark::new());
    let mut s = Box::pin(sleep_until(Instant::from_nanos(u64::MAX / 2)));
    a.block_on(async {
        assert!(futures_poll_once(s.as_mut()).await.is_pending());
    });
    drop(a); // clears its wheel: the sleep is unregistered, not dangling
    let mut b = Executor::new(VirtualPark::new());
    b.block_on(async {
        s.as_mut().reset(Instant::now() + Duration::from_millis(1));
        s.as_mut().await;
    });
    drop(s);
}

#[test]
fn sleep_made_outside_measures_from_first_poll() {
    let park = VirtualPark::new();
    let mut ex = Executor::new(park.clone());
    let s = sleep(Duration::from_millis(2));
    park.advance(1_000_000_000);
    let start = park.now();
    ex.block_on(s);
    assert!(park.now() - start >= Duration::from_millis(2));
}

#[test]
fn many_concurrent_sleeps_on_the_real_clock() {
    // A small version of the benchmark: 2000 tasks sleeping 0–5 ms.
    let mut rng = 0x5eedu64;
    let delays: Vec<u64> = (0..2000)
        .map(|_| {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng % 5001
        })
        .collect();
    block_on(async {
        let handles: Vec<_> = delays
            .iter()
            .map(|&us| {
                spawn(async move {
                    let d = Duration::from_micros(us);
                    let start = Instant::now();
                    sleep(d).await;
                    Instant::now() - start >= d
                })
            })
            .collect();
        for h in handles {
            assert!(h.await.unwrap(), "a sleep returned early");
        }
        yield_now().await;
    });
}

/// Polls a future once, reporting whether it was ready.
async fn futures_poll_once<F: std::future::Future + Unpin>(mut f: F) -> std::task::Poll<F::Output> {
    std::future::poll_fn(|cx| std::task::Poll::Ready(std::pin::Pin::new(&mut f).poll(cx))).await
}

#[test]
fn cancelled_sleeping_tasks_leave_the_wheel() {
    // Regression: cancelling a task must drop its future in place; moving
    // it first left its Sleep's wheel entry dangling.
    let park = VirtualPark::new();
    let mut ex = Executor::new(park.clone());
    let h = ex.spawn(async { sleep(Duration::from_millis(40)).await });
    let kept = ex.spawn(async { sleep(Duration::from_millis(10)).await });
    ex.block_on(async {
        let hs: Vec<_> = [5u64, 5, 20]
            .into_iter()
            .map(|ms| spawn(async move { sleep(Duration::from_millis(ms)).await }))
            .collect();
        sleep(Duration::from_millis(6)).await;
        drop(hs); // detached, still sleeping
    });
    assert_eq!(ex.pending_timers(), 3);
    h.abort();
    ex.block_on(yield_now());
    assert_eq!(ex.pending_timers(), 2);
    ex.block_on(sleep(Duration::from_millis(30)));
    assert!(kept.is_finished());
    let again = ex.spawn(async { sleep(Duration::from_millis(50)).await });
    ex.block_on(yield_now());
    drop(again);
    drop(ex); // cancels the sleeper, then drops the wheel
}

#[test]
fn a_deadline_already_passed_does_not_park() {
    let park = VirtualPark::new();
    let mut ex = Executor::new(park.clone());
    let p = park.clone();
    ex.block_on(async move {
        sleep(Duration::ZERO).await;
        sleep_until(p.now()).await;
        sleep_until(Instant::from_nanos(1)).await;
    });
    assert!(
        park.events()
            .iter()
            .all(|e| !matches!(e, ParkEvent::Sleep(_))),
        "{:?}",
        park.events()
    );
    // Real clock: no timer-slack-sized stall either.
    block_on(async {
        for _ in 0..100 {
            sleep(Duration::ZERO).await;
        }
        assert_eq!(shimmer_executor::introspect::stats().parks, 0);
    });
}

#[test]
fn try_now_outside_and_inside() {
    assert_eq!(Instant::try_now(), None);
    let park = VirtualPark::new();
    let mut ex = Executor::new(park.clone());
    let now = ex.block_on(async { Instant::try_now() });
    assert_eq!(now, Some(park.now()));
}
