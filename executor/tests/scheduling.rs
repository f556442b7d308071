//! Run-queue order, the fairness budget, and yield_now's Lwt.pause
//! semantics.

mod support;

use std::cell::{Cell, RefCell};
use std::future::pending;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use shimmer_executor::{sleep, spawn, yield_now, Executor, StdPark, BUDGET};
use support::{plain_yield, ParkEvent, VirtualPark};

/// A task that wakes itself forever, counting its polls.
async fn hog(polls: Rc<Cell<u64>>) {
    loop {
        polls.set(polls.get() + 1);
        plain_yield().await;
    }
}

#[test]
fn tasks_run_in_fifo_order() {
    let mut ex = Executor::new(VirtualPark::new());
    let log = Rc::new(RefCell::new(Vec::new()));
    ex.block_on(async {
        let hs: Vec<_> = (0..5)
            .map(|i| {
                let log = log.clone();
                spawn(async move {
                    log.borrow_mut().push(i);
                    plain_yield().await;
                    log.borrow_mut().push(10 + i);
                })
            })
            .collect();
        for h in hs {
            h.await.unwrap();
        }
    });
    assert_eq!(*log.borrow(), [0, 1, 2, 3, 4, 10, 11, 12, 13, 14]);
}

#[test]
fn a_self_waking_task_does_not_starve_other_tasks() {
    let mut ex = Executor::new(VirtualPark::new());
    let polls = Rc::new(Cell::new(0));
    drop(ex.spawn(hog(polls.clone())));
    let done = ex.block_on(async {
        spawn(async {
            for _ in 0..1000 {
                plain_yield().await;
            }
            true
        })
        .await
        .unwrap()
    });
    assert!(done);
    // Round-robin: the hog ran about as often as the other task (plus at
    // most the rest of a budget before the main future saw the result).
    let hog = polls.get() as usize;
    assert!((1000..=1001 + BUDGET).contains(&hog), "hog polled {hog}");
}

#[test]
fn a_self_waking_task_does_not_starve_io_polling() {
    let park = VirtualPark::new();
    let mut ex = Executor::new(park.clone());
    let polls = Rc::new(Cell::new(0));
    let hog_handle = ex.spawn(hog(polls.clone()));
    // The main future waits for many turns of the hog.
    let p = polls.clone();
    ex.block_on(std::future::poll_fn(|cx| {
        if p.get() >= 10 * BUDGET as u64 {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }));
    let parks = park
        .events()
        .iter()
        .filter(|e| **e == ParkEvent::Poll)
        .count() as u64;
    // At least one zero-timeout park (an I/O poll) per BUDGET polls.
    assert!(
        parks >= polls.get() / BUDGET as u64 - 1,
        "{parks} parks for {} polls",
        polls.get()
    );
    hog_handle.abort();
    ex.block_on(hog_handle).unwrap_err();
}

#[test]
fn a_self_waking_task_does_not_starve_timers() {
    let park = VirtualPark::new();
    park.busy_tick.set(1_000); // 1 µs of virtual time per busy turn
    let mut ex = Executor::new(park.clone());
    let polls = Rc::new(Cell::new(0));
    let hog_handle = ex.spawn(hog(polls.clone()));
    let start = park.now();
    ex.block_on(sleep(Duration::from_millis(1)));
    assert!(park.now() - start >= Duration::from_millis(1));
    assert!(polls.get() > 0);
    hog_handle.abort();
    ex.block_on(hog_handle).unwrap_err();
}

#[test]
fn a_self_waking_task_does_not_starve_remote_wakes() {
    let mut ex = Executor::new(StdPark::new());
    let polls = Rc::new(Cell::new(0));
    let hog_handle = ex.spawn(hog(polls.clone()));
    let ready = Arc::new(AtomicBool::new(false));
    let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
    let (r, s) = (ready.clone(), slot.clone());
    let t = std::thread::spawn(move || loop {
        if let Some(w) = s.lock().unwrap().take() {
            r.store(true, Ordering::Release);
            w.wake();
            return;
        }
        std::thread::yield_now();
    });
    ex.block_on(std::future::poll_fn(|cx| {
        if ready.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        *slot.lock().unwrap() = Some(cx.waker().clone());
        Poll::Pending
    }));
    t.join().unwrap();
    hog_handle.abort();
    ex.block_on(hog_handle).unwrap_err();
}

#[test]
fn yield_now_resumes_after_ready_tasks_and_an_io_poll() {
    let park = VirtualPark::new();
    let mut ex = Executor::new(park.clone());
    let log = Rc::new(RefCell::new(Vec::<String>::new()));
    let l = log.clone();
    let pk = park.clone();
    let yielder = ex.spawn(async move {
        l.borrow_mut()
            .push(format!("yield at park {}", pk.park_count()));
        yield_now().await;
        l.borrow_mut()
            .push(format!("resume at park {}", pk.park_count()));
    });
    // Tasks that become ready while the yielder waits, including one woken
    // repeatedly: all run before the yielder resumes.
    let others: Vec<_> = (0..3)
        .map(|i| {
            let l = log.clone();
            ex.spawn(async move {
                l.borrow_mut().push(format!("other {i}"));
                plain_yield().await;
                l.borrow_mut().push(format!("other {i} again"));
            })
        })
        .collect();
    ex.block_on(async {
        yielder.await.unwrap();
        for o in others {
            o.await.unwrap();
        }
    });
    let log = log.borrow();
    assert_eq!(log[0], "yield at park 0");
    let resume = log.iter().position(|s| s.starts_with("resume")).unwrap();
    for i in 0..3 {
        let again = log
            .iter()
            .position(|s| *s == format!("other {i} again"))
            .unwrap();
        assert!(again < resume, "{log:?}");
    }
    assert_eq!(log[resume], "resume at park 1", "{log:?}");
}

#[test]
fn yield_now_loop_lets_io_readiness_in() {
    // tokio#5209: a task looping on yield_now must let the backend deliver
    // an event each turn. Here the "event" is a remote wake that only the
    // park/turn path delivers.
    let mut ex = Executor::new(StdPark::new());
    let ready = Arc::new(AtomicBool::new(false));
    let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
    let got = Rc::new(Cell::new(false));
    let g = got.clone();
    let (r, s) = (ready.clone(), slot.clone());
    let waiter = ex.spawn(async move {
        std::future::poll_fn(|cx| {
            if r.load(Ordering::Acquire) {
                return Poll::Ready(());
            }
            *s.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        })
        .await;
        g.set(true);
    });
    let (r, s) = (ready.clone(), slot.clone());
    let t = std::thread::spawn(move || loop {
        if let Some(w) = s.lock().unwrap().take() {
            r.store(true, Ordering::Release);
            w.wake();
            return;
        }
        std::thread::yield_now();
    });
    let g = got.clone();
    let spins = ex.block_on(async move {
        let mut spins = 0u64;
        while !g.get() {
            yield_now().await;
            spins += 1;
        }
        spins
    });
    assert!(spins >= 1);
    t.join().unwrap();
    ex.block_on(waiter).unwrap();
}

#[test]
fn many_yields_in_one_turn_share_one_park() {
    let park = VirtualPark::new();
    let mut ex = Executor::new(park.clone());
    let n = BUDGET / 2;
    let handles: Vec<_> = (0..n).map(|_| ex.spawn(yield_now())).collect();
    ex.block_on(async {
        for h in handles {
            h.await.unwrap();
        }
    });
    // One turn defers all of them, one park releases them all.
    assert!(
        park.park_count() <= 2,
        "{} parks for {n} yields",
        park.park_count()
    );
}

#[test]
fn idle_executor_parks_until_the_next_timer() {
    let park = VirtualPark::new();
    let mut ex = Executor::new(park.clone());
    let start = park.now();
    ex.block_on(sleep(Duration::from_millis(5)));
    let events = park.events();
    // No busy polling: only blocking parks, at most one per wheel level
    // crossed (a higher level's slot is cascaded when its time comes), the
    // last one at the timer's tick.
    assert!(
        events.iter().all(|e| matches!(e, ParkEvent::Sleep(_))),
        "{events:?}"
    );
    assert!(events.len() <= 3, "{events:?}");
    assert!(park.now() - start >= Duration::from_millis(5));
    assert!(park.now() - start < Duration::from_millis(5) + Duration::from_micros(16));
}

#[test]
fn pending_forever_main_with_timers_only_parks_on_timers() {
    let park = VirtualPark::new();
    let mut ex = Executor::new(park.clone());
    let fired = Rc::new(Cell::new(0));
    for ms in [3u64, 1, 2] {
        let f = fired.clone();
        drop(ex.spawn(async move {
            sleep(Duration::from_millis(ms)).await;
            f.set(f.get() + 1);
        }));
    }
    ex.block_on(sleep(Duration::from_millis(4)));
    assert_eq!(fired.get(), 3);
    drop(ex.spawn(pending::<()>()));
}
