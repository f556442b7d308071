//! Spawning, joining, aborting, detaching, panics, and what dropping the
//! executor does to its tasks.

mod support;

use std::cell::{Cell, RefCell};
use std::future::pending;
use std::rc::Rc;

use shimmer_executor::{block_on, spawn, yield_now, Executor, JoinHandle, StdPark};
use support::{plain_yield, DropFlag, Forever, VirtualPark};

#[test]
fn spawn_and_join_values() {
    let out = block_on(async {
        let handles: Vec<JoinHandle<usize>> =
            (0..100).map(|i| spawn(async move { i * 2 })).collect();
        let mut sum = 0;
        for h in handles {
            sum += h.await.unwrap();
        }
        sum
    });
    assert_eq!(out, (0..100).map(|i| i * 2).sum::<usize>());
}

#[test]
fn spawn_is_lazy() {
    let polled = Rc::new(Cell::new(false));
    let ex = Executor::new(StdPark::new());
    let p = polled.clone();
    let h = ex.spawn(async move { p.set(true) });
    assert!(!polled.get(), "Executor::spawn polled the future");
    let mut ex = ex;
    ex.block_on(async {
        let p = polled.clone();
        let inner = spawn(async move { p.get() });
        // Spawning inside a task does not poll either.
        assert!(polled.get() || !polled.get());
        h.await.unwrap();
        assert!(inner.await.unwrap());
    });
}

#[test]
fn spawn_inside_task_does_not_poll_before_returning() {
    block_on(async {
        let order = Rc::new(RefCell::new(Vec::new()));
        let o = order.clone();
        let h = spawn(async move { o.borrow_mut().push("child") });
        order.borrow_mut().push("after spawn");
        h.await.unwrap();
        assert_eq!(*order.borrow(), ["after spawn", "child"]);
    });
}

#[test]
fn non_send_futures_and_outputs() {
    block_on(async {
        let rc = Rc::new(5);
        let rc2 = rc.clone();
        let out: Rc<i32> = spawn(async move {
            yield_now().await;
            Rc::new(*rc2 + 1)
        })
        .await
        .unwrap();
        assert_eq!(*out, 6);
        assert_eq!(Rc::strong_count(&rc), 1);
    });
}

#[test]
fn abort_before_first_poll() {
    block_on(async {
        let dropped = Rc::new(Cell::new(false));
        let polls = Rc::new(Cell::new(0));
        let h = spawn(Forever {
            polls: polls.clone(),
            dropped: dropped.clone(),
        });
        h.abort();
        let err = h.await.unwrap_err();
        assert!(err.is_cancelled() && !err.is_panic());
        assert_eq!(polls.get(), 0);
        assert!(dropped.get());
    });
}

#[test]
fn abort_while_waiting() {
    block_on(async {
        let dropped = Rc::new(Cell::new(false));
        let polls = Rc::new(Cell::new(0));
        let h = spawn(Forever {
            polls: polls.clone(),
            dropped: dropped.clone(),
        });
        yield_now().await;
        assert_eq!(polls.get(), 1);
        assert!(!h.is_finished());
        h.abort();
        h.abort(); // twice is fine
        assert!(h.await.unwrap_err().is_cancelled());
        assert_eq!(polls.get(), 1, "an aborted task is not polled again");
        assert!(dropped.get());
    });
}

#[test]
fn task_aborting_itself_is_cancelled_after_its_poll() {
    block_on(async {
        let slot: Rc<RefCell<Option<JoinHandle<()>>>> = Rc::default();
        let reached = Rc::new(Cell::new(0));
        let (s, r) = (slot.clone(), reached.clone());
        let h = spawn(async move {
            plain_yield().await;
            s.borrow().as_ref().expect("handle is in the slot").abort();
            r.set(1);
            plain_yield().await; // cancelled here: never resumed
            r.set(2);
        });
        *slot.borrow_mut() = Some(h);
        for _ in 0..3 {
            yield_now().await;
        }
        let h = slot.borrow_mut().take().unwrap();
        assert!(h.is_finished());
        assert!(h.await.unwrap_err().is_cancelled());
        assert_eq!(reached.get(), 1);
    });
}

#[test]
fn abort_after_completion_keeps_the_result() {
    block_on(async {
        let h = spawn(async { 7 });
        yield_now().await;
        assert!(h.is_finished());
        h.abort();
        assert_eq!(h.await.unwrap(), 7);
    });
}

#[test]
fn dropping_the_handle_detaches() {
    block_on(async {
        let done = Rc::new(Cell::new(false));
        let d = done.clone();
        drop(spawn(async move {
            yield_now().await;
            d.set(true);
        }));
        for _ in 0..3 {
            yield_now().await;
        }
        assert!(done.get(), "a detached task stopped running");
    });
}

#[test]
fn detached_output_is_dropped_on_completion() {
    block_on(async {
        let dropped = Rc::new(Cell::new(false));
        let d = dropped.clone();
        drop(spawn(async move { DropFlag(d) }));
        yield_now().await;
        assert!(dropped.get());
    });
}

#[test]
fn unread_output_is_dropped_with_the_handle() {
    block_on(async {
        let dropped = Rc::new(Cell::new(false));
        let d = dropped.clone();
        let h = spawn(async move { DropFlag(d) });
        yield_now().await;
        assert!(h.is_finished());
        assert!(!dropped.get());
        drop(h);
        assert!(dropped.get());
    });
}

#[test]
fn panic_in_task_is_caught_and_reported() {
    let out = block_on(async {
        let bad = spawn(async {
            yield_now().await;
            panic!("boom {}", 42);
        });
        let good = spawn(async { 1 });
        let err = bad.await.unwrap_err();
        assert!(err.is_panic());
        assert_eq!(err.to_string(), "task panicked: boom 42");
        let payload = err.into_panic();
        let text = (*payload)
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| (*payload).downcast_ref::<&str>().copied());
        assert_eq!(text, Some("boom 42"));
        good.await.unwrap() + 1
    });
    assert_eq!(out, 2);
}

#[test]
fn panic_in_detached_task_does_not_stop_the_executor() {
    block_on(async {
        drop(spawn(async { panic!("detached boom") }));
        yield_now().await;
        yield_now().await;
        assert_eq!(spawn(async { 3 }).await.unwrap(), 3);
    });
}

#[test]
fn panic_in_future_drop_during_cancel_is_contained() {
    struct PanicOnDrop;
    impl Drop for PanicOnDrop {
        fn drop(&mut self) {
            panic!("drop boom");
        }
    }
    block_on(async {
        let h = spawn(async {
            let _p = PanicOnDrop;
            pending::<()>().await;
        });
        yield_now().await;
        h.abort();
        assert!(h.await.unwrap_err().is_cancelled());
    });
}

#[test]
fn dropping_the_executor_drops_unfinished_futures_on_its_thread() {
    let dropped = Rc::new(Cell::new(false));
    let polls = Rc::new(Cell::new(0));
    let mut ex = Executor::new(StdPark::new());
    let never_polled = Rc::new(Cell::new(false));
    let h1 = ex.spawn(Forever {
        polls: polls.clone(),
        dropped: dropped.clone(),
    });
    ex.block_on(yield_now());
    let h2 = ex.spawn(Forever {
        polls: Rc::default(),
        dropped: never_polled.clone(),
    });
    assert_eq!(ex.live_tasks(), 2);
    assert!(!dropped.get());
    drop(ex);
    assert!(dropped.get() && never_polled.get());
    // Handles outlive the executor and report cancellation.
    assert!(block_on(h1).unwrap_err().is_cancelled());
    assert!(block_on(h2).unwrap_err().is_cancelled());
}

#[test]
fn block_on_convenience_drops_leftover_tasks() {
    let dropped = Rc::new(Cell::new(false));
    let d = dropped.clone();
    block_on(async move {
        drop(spawn(async move {
            let _flag = DropFlag(d);
            pending::<()>().await;
        }));
        yield_now().await;
    });
    assert!(dropped.get());
}

#[test]
fn future_dropped_by_executor_may_spawn() {
    // A future whose drop spawns another task: the executor must cancel
    // that one too and not loop forever or leak.
    struct SpawnOnDrop(Rc<Cell<usize>>);
    impl Drop for SpawnOnDrop {
        fn drop(&mut self) {
            let n = self.0.get();
            self.0.set(n + 1);
            if n < 3 {
                let again = SpawnOnDrop(self.0.clone());
                drop(spawn(async move {
                    let _again = again;
                    pending::<()>().await;
                }));
            }
        }
    }
    let count = Rc::new(Cell::new(0));
    let mut ex = Executor::new(StdPark::new());
    let first = SpawnOnDrop(count.clone());
    drop(ex.spawn(async move {
        let _s = first;
        pending::<()>().await;
    }));
    ex.block_on(yield_now());
    drop(ex);
    assert_eq!(count.get(), 4);
}

#[test]
fn tasks_survive_between_block_on_calls() {
    let mut ex = Executor::new(VirtualPark::new());
    let hits = Rc::new(Cell::new(0));
    let h = hits.clone();
    let task = ex.spawn(async move {
        loop {
            h.set(h.get() + 1);
            yield_now().await;
        }
    });
    ex.block_on(yield_now());
    let first = hits.get();
    assert!(first >= 1);
    ex.block_on(async {
        yield_now().await;
        yield_now().await;
    });
    assert!(hits.get() > first);
    task.abort();
    assert!(ex.block_on(task).unwrap_err().is_cancelled());
}

#[test]
#[should_panic(expected = "outside a shimmer executor")]
fn spawn_outside_an_executor_panics() {
    drop(spawn(async {}));
}

#[test]
#[should_panic(expected = "nested block_on")]
fn nested_block_on_panics() {
    block_on(async {
        block_on(async {});
    });
}

#[test]
fn executor_dropped_inside_another_executors_task() {
    block_on(async {
        let flag = Rc::new(Cell::new(false));
        let inner = Executor::new(StdPark::new());
        let d = DropFlag(flag.clone());
        drop(inner.spawn(async move {
            let _d = d;
            pending::<()>().await;
        }));
        drop(inner);
        assert!(flag.get());
        // The outer executor still works.
        assert_eq!(spawn(async { 9 }).await.unwrap(), 9);
    });
}

#[test]
fn main_future_panic_propagates_and_executor_stays_usable() {
    let mut ex = Executor::new(StdPark::new());
    let h = ex.spawn(async { 5 });
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ex.block_on(async { panic!("main boom") })
    }));
    assert!(r.is_err());
    assert_eq!(ex.block_on(h).unwrap(), 5);
}
