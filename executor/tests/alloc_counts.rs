//! Allocation counts: a spawn costs at most one heap allocation; waking,
//! yielding, sleeping, timeouts and awaiting a JoinHandle cost none.
//!
//! A counting global allocator counts the allocations made by the current
//! thread only (tests run in parallel threads).

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
mod support;

use std::future::{pending, poll_fn};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use counting_alloc::allocs;
use shimmer_executor::{sleep, spawn, timeout, yield_now, Executor, JoinHandle, StdPark};
use support::{plain_yield, Signal, VirtualPark};

/// Allocations made while `f` runs on this thread.
fn count<R>(f: impl FnOnce() -> R) -> (u64, R) {
    let before = allocs();
    let r = f();
    (allocs() - before, r)
}

#[test]
fn spawn_costs_at_most_one_allocation() {
    let mut ex = Executor::new(StdPark::new());
    let n = 1000;
    let mut handles: Vec<JoinHandle<u32>> = Vec::with_capacity(n);
    ex.block_on(yield_now()); // warm up the executor's own buffers
    let (spawned, ()) = count(|| {
        for i in 0..n as u32 {
            handles.push(ex.spawn(async move { i }));
        }
    });
    assert_eq!(spawned, n as u64, "{spawned} allocations for {n} spawns");
    let (ran, sum) = count(|| {
        ex.block_on(async {
            let mut sum = 0;
            for h in handles.drain(..) {
                sum += h.await.unwrap();
            }
            sum
        })
    });
    assert_eq!(sum, (0..n as u32).sum());
    assert_eq!(
        ran, 0,
        "running and awaiting the tasks allocated {ran} times"
    );
    // The blocks of finished tasks are recycled: spawning again (here from
    // inside a task) does not call the allocator at all.
    let (inside, ()) = count(|| {
        ex.block_on(async {
            for _ in 0..100 {
                spawn(async {}).await.unwrap();
            }
        })
    });
    assert_eq!(
        inside, 0,
        "{inside} allocations for 100 spawns with recycled blocks"
    );
}

#[test]
fn local_wakes_allocate_nothing() {
    let mut ex = Executor::new(StdPark::new());
    let a = Rc::new(Signal::default());
    let b = Rc::new(Signal::default());
    let rounds = 10_000;
    let (a2, b2) = (a.clone(), b.clone());
    let pong = ex.spawn(async move {
        for _ in 0..rounds {
            b2.notified().await;
            a2.notify();
        }
    });
    let (a3, b3) = (a.clone(), b.clone());
    let ping = ex.spawn(async move {
        for _ in 0..rounds {
            b3.notify();
            a3.notified().await;
        }
    });
    let (n, ()) = count(|| {
        ex.block_on(async {
            ping.await.unwrap();
            pong.await.unwrap();
        })
    });
    assert_eq!(n, 0, "{n} allocations for {rounds} ping-pong rounds");
}

#[test]
fn plain_yields_allocate_nothing() {
    let mut ex = Executor::new(StdPark::new());
    let task = ex.spawn(async {
        for _ in 0..10_000 {
            plain_yield().await;
        }
    });
    let (n, ()) = count(|| ex.block_on(task).unwrap());
    assert_eq!(n, 0);
}

#[test]
fn yield_now_allocates_nothing_after_warm_up() {
    let mut ex = Executor::new(StdPark::new());
    // Warm up: the deferred list and its spare grow to the largest batch.
    for _ in 0..2 {
        let warm: Vec<_> = (0..64).map(|_| ex.spawn(yield_now())).collect();
        ex.block_on(async {
            for h in warm {
                h.await.unwrap();
            }
        });
    }
    let task = ex.spawn(async {
        for _ in 0..10_000 {
            yield_now().await;
        }
    });
    let (n, ()) = count(|| ex.block_on(task).unwrap());
    assert_eq!(n, 0);
}

#[test]
fn sleep_and_timeout_allocate_nothing() {
    let park = VirtualPark::new();
    let mut ex = Executor::new(park);
    ex.block_on(yield_now());
    let (n, ()) = count(|| {
        ex.block_on(async {
            for i in 0..1000u64 {
                sleep(Duration::from_micros(i * 37 % 5000)).await;
                let r = timeout(Duration::from_micros(50), pending::<()>()).await;
                assert!(r.is_err());
                assert_eq!(timeout(Duration::from_secs(1), async { 3 }).await, Ok(3));
            }
        })
    });
    assert_eq!(n, 0, "{n} allocations for 1000 sleeps and 2000 timeouts");
}

#[test]
fn many_concurrent_sleepers_allocate_only_their_tasks() {
    let park = VirtualPark::new();
    let mut ex = Executor::new(park);
    let mut handles = Vec::with_capacity(1000);
    ex.block_on(yield_now());
    let (n, ()) = count(|| {
        for i in 0..1000u64 {
            handles
                .push(ex.spawn(async move { sleep(Duration::from_micros(i * 7919 % 5000)).await }));
        }
        ex.block_on(async {
            for h in handles.drain(..) {
                h.await.unwrap();
            }
        });
    });
    assert_eq!(n, 1000, "{n} allocations for 1000 sleeping tasks");
}

#[test]
fn remote_wakes_allocate_nothing_on_the_executor_thread() {
    let mut ex = Executor::new(StdPark::new());
    let ready = Arc::new(AtomicBool::new(false));
    let slot: Arc<Mutex<Option<Waker>>> = Arc::new(Mutex::new(None));
    let (r, s) = (ready.clone(), slot.clone());
    let task = ex.spawn(poll_fn(move |cx| {
        if r.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        *s.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }));
    ex.block_on(yield_now());
    let (r, s) = (ready.clone(), slot.clone());
    let t = std::thread::spawn(move || {
        r.store(true, Ordering::Release);
        s.lock().unwrap().take().unwrap().wake();
    });
    let (n, ()) = count(|| ex.block_on(task).unwrap());
    t.join().unwrap();
    assert_eq!(n, 0);
}
