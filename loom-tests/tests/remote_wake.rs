//! loom models of the remote-wake path: a `Waker` used on another thread
//! while the executor completes, aborts, detaches, parks or is dropped.
//!
//! Each model explores every interleaving (up to LOOM_MAX_PREEMPTIONS) and
//! fails on a lost wake-up (the executor parks forever: loom reports a
//! deadlock), a double enqueue or use-after-free (loom's checked cells and
//! allocations), or a leaked task block (loom's allocation tracking).
#![cfg(loom)]

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use loom::sync::atomic::{AtomicBool, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;
use shimmer_executor::{spawn, Executor, StdPark};

/// A one-shot flag another thread sets, with the waker to call.
#[derive(Default)]
struct Signal {
    set: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Signal {
    fn fire(&self) {
        self.set.store(true, Ordering::Release);
        let waker = self.waker.lock().unwrap().take();
        if let Some(w) = waker {
            w.wake();
        }
    }
}

/// Completes once `signal` was fired.
fn wait(signal: Arc<Signal>) -> impl Future<Output = ()> {
    {
        poll_fn(move |cx: &mut Context<'_>| {
            let this = &*signal;
            if this.set.load(Ordering::Acquire) {
                return Poll::Ready(());
            }
            *this.waker.lock().unwrap() = Some(cx.waker().clone());
            if this.set.load(Ordering::Acquire) {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
    }
}

/// A task waits for a signal fired on another thread; the executor must
/// not sleep through it, whether the wake lands before, during or after
/// the executor decides to park.
#[test]
fn remote_wake_races_with_park_and_completion() {
    loom::model(|| {
        let signal = Arc::new(Signal::default());
        let remote = {
            let signal = signal.clone();
            thread::spawn(move || signal.fire())
        };
        let mut ex = Executor::new(StdPark::new());
        let out = ex.block_on(async {
            let task = spawn(wait(signal.clone()));
            task.await
        });
        assert!(out.is_ok());
        remote.join().unwrap();
    });
}

/// The main future itself is woken from another thread.
#[test]
fn remote_wake_of_main_future() {
    loom::model(|| {
        let signal = Arc::new(Signal::default());
        let remote = {
            let signal = signal.clone();
            thread::spawn(move || signal.fire())
        };
        let mut ex = Executor::new(StdPark::new());
        ex.block_on(wait(signal.clone()));
        remote.join().unwrap();
    });
}

/// A waker held by another thread is woken (and dropped) while the task is
/// aborted: the task is cancelled exactly once and its block is freed.
#[test]
fn remote_wake_races_with_abort() {
    loom::model(|| {
        let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
        let registered = Arc::new(Signal::default());
        let mut ex = Executor::new(StdPark::new());
        let slot2 = slot.clone();
        let registered2 = registered.clone();
        let handle = ex.spawn(async move {
            poll_fn(|cx| {
                *slot2.lock().unwrap() = Some(cx.waker().clone());
                registered2.fire();
                Poll::<()>::Pending
            })
            .await
        });
        ex.block_on(wait(registered.clone()));
        let remote = {
            let slot = slot.clone();
            thread::spawn(move || {
                let waker = slot.lock().unwrap().take();
                if let Some(w) = waker {
                    w.wake();
                }
            })
        };
        handle.abort();
        let result = ex.block_on(handle);
        assert!(result.unwrap_err().is_cancelled());
        remote.join().unwrap();
        drop(slot.lock().unwrap().take());
    });
}

/// The JoinHandle is dropped (task detached) while another thread wakes
/// the task; the task still runs to completion and its block is freed.
#[test]
fn remote_wake_races_with_join_handle_drop() {
    loom::model(|| {
        let go = Arc::new(Signal::default());
        let done = Arc::new(Signal::default());
        let mut ex = Executor::new(StdPark::new());
        let handle = {
            let go = go.clone();
            let done = done.clone();
            ex.spawn(async move {
                wait(go).await;
                done.fire();
            })
        };
        let remote = {
            let go = go.clone();
            thread::spawn(move || go.fire())
        };
        drop(handle);
        ex.block_on(wait(done.clone()));
        remote.join().unwrap();
    });
}

/// The executor is dropped while another thread still holds, wakes and
/// finally drops a task's waker: no future runs or drops off-thread, no
/// use-after-free, and the last waker frees the block (no leak).
#[test]
fn remote_wake_races_with_executor_drop() {
    loom::model(|| {
        let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
        let registered = Arc::new(Signal::default());
        let dropped_on_owner = Arc::new(AtomicBool::new(false));
        let mut ex = Executor::new(StdPark::new());
        let handle = {
            let slot = slot.clone();
            let registered = registered.clone();
            let guard = DropFlag(dropped_on_owner.clone(), thread_id());
            ex.spawn(async move {
                let _guard = guard;
                poll_fn(|cx| {
                    *slot.lock().unwrap() = Some(cx.waker().clone());
                    registered.fire();
                    Poll::<()>::Pending
                })
                .await
            })
        };
        ex.block_on(wait(registered.clone()));
        let remote = {
            let slot = slot.clone();
            thread::spawn(move || {
                let waker = slot.lock().unwrap().take();
                if let Some(w) = waker {
                    w.wake_by_ref();
                    w.wake();
                }
            })
        };
        drop(ex);
        assert!(dropped_on_owner.load(Ordering::Relaxed));
        // The handle outlives the executor: the task was cancelled.
        let mut handle = handle;
        let waker = futures_noop_waker();
        let mut cx = Context::from_waker(&waker);
        match Pin::new(&mut handle).poll(&mut cx) {
            Poll::Ready(Err(e)) => assert!(e.is_cancelled()),
            _ => panic!("task not cancelled by executor drop"),
        }
        remote.join().unwrap();
        drop(slot.lock().unwrap().take());
    });
}

/// Two remote threads wake the same task at once: it is queued at most
/// once per round and never lost.
#[test]
fn concurrent_remote_wakes() {
    loom::model(|| {
        let signal = Arc::new(Signal::default());
        let mut ex = Executor::new(StdPark::new());
        let waiter = {
            let signal = signal.clone();
            ex.spawn(wait(signal.clone()))
        };
        let waker_slot: Arc<Mutex<Option<Waker>>> = Arc::default();
        let a = {
            let signal = signal.clone();
            thread::spawn(move || signal.fire())
        };
        let b = {
            let slot = waker_slot.clone();
            let signal = signal.clone();
            thread::spawn(move || {
                // A second, spurious wake through a clone of the same waker.
                let w = signal.waker.lock().unwrap().clone();
                if let Some(w) = w {
                    w.wake();
                }
                drop(slot);
            })
        };
        ex.block_on(waiter).unwrap();
        a.join().unwrap();
        b.join().unwrap();
    });
}

struct DropFlag(Arc<AtomicBool>, thread::ThreadId);

impl Drop for DropFlag {
    fn drop(&mut self) {
        assert_eq!(
            thread_id(),
            self.1,
            "a future was dropped off its executor's thread"
        );
        self.0.store(true, Ordering::Relaxed);
    }
}

fn thread_id() -> thread::ThreadId {
    thread::current().id()
}

fn futures_noop_waker() -> Waker {
    std::task::Waker::noop().clone()
}
