//! Wakers: local fast path, wakes from other threads and other executors,
//! and wakers that outlive their executor.

mod support;

use std::cell::Cell;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::task::{Poll, Waker};
use std::thread;
use std::time::Duration;

use shimmer_executor::{block_on, spawn, yield_now, Executor, StdPark};
use support::{ParkEvent, VirtualPark};

/// A future that stores its waker where a test can reach it, and completes
/// once `ready` is set.
fn wait_flag(
    ready: Arc<AtomicBool>,
    slot: Arc<Mutex<Option<Waker>>>,
) -> impl std::future::Future<Output = ()> {
    poll_fn(move |cx| {
        if ready.load(Ordering::Acquire) {
            return Poll::Ready(());
        }
        *slot.lock().unwrap() = Some(cx.waker().clone());
        if ready.load(Ordering::Acquire) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
}

#[test]
fn waker_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Waker>();
}

#[test]
fn wake_from_another_thread_interrupts_a_blocking_park() {
    let ready = Arc::new(AtomicBool::new(false));
    let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
    let (tx, rx) = mpsc::channel::<()>();
    let remote = {
        let (ready, slot) = (ready.clone(), slot.clone());
        thread::spawn(move || {
            rx.recv().unwrap();
            // The executor is (about to be) parked with no deadline.
            thread::sleep(Duration::from_millis(20));
            ready.store(true, Ordering::Release);
            let w = slot.lock().unwrap().take().expect("waker registered");
            w.wake();
        })
    };
    let started = std::time::Instant::now();
    block_on(async {
        let task = spawn(wait_flag(ready.clone(), slot.clone()));
        yield_now().await; // let the task register its waker
        tx.send(()).unwrap();
        task.await.unwrap();
    });
    // It returned because of the wake, not some timeout (there is none).
    assert!(started.elapsed() < Duration::from_secs(10));
    remote.join().unwrap();
}

#[test]
fn remote_wake_of_the_main_future() {
    let ready = Arc::new(AtomicBool::new(false));
    let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
    let remote = {
        let (ready, slot) = (ready.clone(), slot.clone());
        thread::spawn(move || loop {
            if let Some(w) = slot.lock().unwrap().take() {
                ready.store(true, Ordering::Release);
                w.wake();
                return;
            }
            thread::sleep(Duration::from_millis(1));
        })
    };
    block_on(wait_flag(ready, slot));
    remote.join().unwrap();
}

#[test]
fn many_remote_wakes_from_many_threads() {
    let mut ex = Executor::new(StdPark::new());
    let rounds = 200;
    let out = ex.block_on(async {
        let mut handles = Vec::new();
        for _ in 0..4 {
            let ready = Arc::new(AtomicBool::new(false));
            let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
            let task = spawn(wait_flag(ready.clone(), slot.clone()));
            handles.push((task, ready, slot));
        }
        let mut count = 0;
        for (task, ready, slot) in handles {
            let t = thread::spawn(move || {
                for _ in 0..rounds {
                    if let Some(w) = slot.lock().unwrap().as_ref() {
                        w.wake_by_ref(); // spurious wakes
                    }
                }
                ready.store(true, Ordering::Release);
                // A task that has not stored a waker yet sees `ready` when
                // it does (wait_flag checks again after storing).
                let waker = slot.lock().unwrap().take();
                if let Some(w) = waker {
                    w.wake();
                }
            });
            task.await.unwrap();
            t.join().unwrap();
            count += 1;
        }
        count
    });
    assert_eq!(out, 4);
}

#[test]
fn remote_wake_unparks_through_the_backend() {
    let park = VirtualPark::new();
    let unparks = park.unparks.clone();
    let mut ex = Executor::new(park.clone());
    let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
    let ready = Arc::new(AtomicBool::new(false));
    let task = ex.spawn(wait_flag(ready.clone(), slot.clone()));
    ex.block_on(yield_now());
    let (r, s) = (ready.clone(), slot.clone());
    thread::spawn(move || {
        r.store(true, Ordering::Release);
        s.lock().unwrap().take().unwrap().wake();
    })
    .join()
    .unwrap();
    assert_eq!(unparks.load(Ordering::Relaxed), 1);
    ex.block_on(task).unwrap();
    assert!(park.events().contains(&ParkEvent::Unparked));
}

#[test]
fn waking_a_queued_task_does_nothing() {
    block_on(async {
        let polls = Rc::new(Cell::new(0));
        let p = polls.clone();
        let task = spawn(poll_fn(move |cx| {
            p.set(p.get() + 1);
            if p.get() == 1 {
                // Wake ourselves three times in one poll: queued once.
                cx.waker().wake_by_ref();
                cx.waker().wake_by_ref();
                let by_value = cx.waker().clone();
                by_value.wake();
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        }));
        task.await.unwrap();
        assert_eq!(polls.get(), 2);
    });
}

#[test]
fn wakers_outlive_the_executor_and_die_on_other_threads() {
    let slot: Arc<Mutex<Vec<Waker>>> = Arc::default();
    let mut ex = Executor::new(StdPark::new());
    for _ in 0..8 {
        let slot = slot.clone();
        drop(ex.spawn(poll_fn(move |cx| {
            let mut v = slot.lock().unwrap();
            for _ in 0..3 {
                v.push(cx.waker().clone());
            }
            Poll::<()>::Pending
        })));
    }
    // The main future's waker escapes too.
    ex.block_on(poll_fn(|cx| {
        slot.lock().unwrap().push(cx.waker().clone());
        Poll::Ready(())
    }));
    ex.block_on(yield_now());
    assert_eq!(slot.lock().unwrap().len(), 25);
    drop(ex);
    let wakers = std::mem::take(&mut *slot.lock().unwrap());
    // Wake and drop them on other threads, after the executor is gone.
    let threads: Vec<_> = wakers
        .chunks(5)
        .map(|chunk| {
            let chunk = chunk.to_vec();
            thread::spawn(move || {
                for w in chunk {
                    w.wake_by_ref();
                    let w2 = w.clone();
                    w.wake();
                    drop(w2);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn waker_woken_on_owner_thread_after_executor_drop() {
    let slot: Rc<Cell<Option<Waker>>> = Rc::default();
    let mut ex = Executor::new(StdPark::new());
    let s = slot.clone();
    drop(ex.spawn(poll_fn(move |cx| {
        s.set(Some(cx.waker().clone()));
        Poll::<()>::Pending
    })));
    ex.block_on(yield_now());
    drop(ex);
    let w = slot.take().unwrap();
    w.wake_by_ref();
    // Inside another executor on the same thread: still no effect on it.
    block_on(async move {
        w.wake_by_ref();
        let w2 = w.clone();
        w.wake();
        drop(w2);
        yield_now().await;
    });
}

#[test]
fn waker_of_one_executor_used_inside_another() {
    // Executor A's task is woken from inside executor B's task on the same
    // thread: it takes the remote path and A runs it at its next turn.
    let mut a = Executor::new(StdPark::new());
    let slot: Rc<Cell<Option<Waker>>> = Rc::default();
    let woken = Rc::new(Cell::new(0));
    let (s, wk) = (slot.clone(), woken.clone());
    let task = a.spawn(poll_fn(move |cx| {
        wk.set(wk.get() + 1);
        if wk.get() == 1 {
            s.set(Some(cx.waker().clone()));
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }));
    a.block_on(yield_now());
    assert_eq!(woken.get(), 1);
    let mut b = Executor::new(StdPark::new());
    let w = slot.take().unwrap();
    b.block_on(async move {
        w.wake();
        yield_now().await;
    });
    assert_eq!(woken.get(), 1, "A's task ran inside B");
    a.block_on(task).unwrap();
    assert_eq!(woken.get(), 2);
}

#[test]
fn foreign_waker_awaiting_a_join_handle() {
    // A JoinHandle awaited by a waker from outside shimmer (a no-op waker):
    // polling it must not panic, and it completes when polled later.
    let mut ex = Executor::new(StdPark::new());
    let mut handle = ex.spawn(async { 11 });
    let noop = Waker::noop();
    let mut cx = std::task::Context::from_waker(noop);
    assert!(std::pin::Pin::new(&mut handle)
        .poll_inner(&mut cx)
        .is_pending());
    ex.block_on(yield_now());
    assert!(matches!(
        std::pin::Pin::new(&mut handle).poll_inner(&mut cx),
        Poll::Ready(Ok(11))
    ));
}

trait PollInner: std::future::Future + Unpin {
    fn poll_inner(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> Poll<Self::Output> {
        std::future::Future::poll(self, cx)
    }
}
impl<T: std::future::Future + Unpin> PollInner for T {}
