//! Scope: children are cancelled and awaited when the scope ends, however
//! it ends; failures cancel siblings and reach the owner.

mod support;

use std::cell::{Cell, RefCell};
use std::future::pending;
use std::rc::Rc;
use std::time::Duration;

use shimmer_executor::{scope, sleep, spawn, yield_now, Executor};
use support::{DropFlag, VirtualPark};

fn ex() -> Executor {
    Executor::new(VirtualPark::new())
}

/// A child that runs until cancelled, recording its cancellation.
fn forever(
    flag: &Rc<Cell<bool>>,
) -> impl std::future::Future<Output = Result<(), String>> + 'static {
    let guard = DropFlag(flag.clone());
    async move {
        let _guard = guard;
        pending::<()>().await;
        Ok(())
    }
}

#[test]
fn body_return_cancels_and_awaits_children() {
    let mut ex = ex();
    let cancelled = Rc::new(Cell::new(false));
    let c = cancelled.clone();
    let r: Result<u32, String> = ex.block_on(scope(|s| async move {
        s.spawn(forever(&c));
        yield_now().await;
        Ok(7)
    }));
    assert_eq!(r, Ok(7));
    assert!(cancelled.get());
    assert_eq!(ex.live_tasks(), 0);
}

#[test]
fn body_error_cancels_children() {
    let mut ex = ex();
    let cancelled = Rc::new(Cell::new(false));
    let c = cancelled.clone();
    let r: Result<(), String> = ex.block_on(scope(|s| async move {
        s.spawn(forever(&c));
        yield_now().await;
        Err("body failed".to_string())
    }));
    assert_eq!(r, Err("body failed".into()));
    assert!(cancelled.get());
}

#[test]
fn child_error_cancels_siblings_and_body_and_is_returned() {
    let mut ex = ex();
    let sibling = Rc::new(Cell::new(false));
    let body_dropped = Rc::new(Cell::new(false));
    let (s1, b1) = (sibling.clone(), body_dropped.clone());
    let r: Result<(), String> = ex.block_on(scope(|s| async move {
        let _body_guard = DropFlag(b1);
        s.spawn(forever(&s1));
        s.spawn(async {
            sleep(Duration::from_millis(3)).await;
            Err("child failed".to_string())
        });
        sleep(Duration::from_secs(100)).await;
        Ok(())
    }));
    assert_eq!(r, Err("child failed".into()));
    assert!(sibling.get() && body_dropped.get());
    assert_eq!(ex.live_tasks(), 0);
    assert_eq!(ex.pending_timers(), 0);
}

#[test]
fn first_failure_wins() {
    let mut ex = ex();
    let r: Result<(), u32> = ex.block_on(scope(|s| async move {
        for i in 1..=3u32 {
            s.spawn(async move {
                sleep(Duration::from_millis(u64::from(i))).await;
                Err(i)
            });
        }
        pending::<()>().await;
        Ok(())
    }));
    assert_eq!(r, Err(1));
}

#[test]
fn child_panic_cancels_siblings_and_reaches_the_owner() {
    let mut ex = ex();
    let sibling = Rc::new(Cell::new(false));
    let s1 = sibling.clone();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ex.block_on(scope(|s| async move {
            s.spawn(forever(&s1));
            s.spawn(async {
                yield_now().await;
                panic!("child boom");
            });
            pending::<()>().await;
            Ok::<(), String>(())
        }))
    }));
    let payload = r.unwrap_err();
    assert_eq!((*payload).downcast_ref::<&str>(), Some(&"child boom"));
    assert!(sibling.get());
}

#[test]
fn body_panic_cancels_children() {
    let mut ex = ex();
    let child = Rc::new(Cell::new(false));
    let c = child.clone();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ex.block_on(scope(|s| async move {
            s.spawn(forever(&c));
            yield_now().await;
            panic!("body boom");
            #[allow(unreachable_code)]
            Ok::<(), String>(())
        }))
    }));
    assert!(r.is_err());
    assert!(child.get(), "a child outlived its panicking scope");
}

#[test]
fn dropping_the_scope_cancels_children_at_once() {
    let mut ex = ex();
    let child = Rc::new(Cell::new(false));
    let c = child.clone();
    ex.block_on(async move {
        let run = spawn(scope(|s| async move {
            s.spawn(forever(&c));
            pending::<()>().await;
            Ok::<(), String>(())
        }));
        yield_now().await;
        yield_now().await;
        run.abort();
        let _ = run.await;
    });
    assert!(child.get());
    assert_eq!(ex.live_tasks(), 0);
}

#[test]
fn shielded_children_are_awaited_not_cancelled() {
    let mut ex = ex();
    let log = Rc::new(RefCell::new(Vec::new()));
    let l = log.clone();
    let r: Result<(), String> = ex.block_on(scope(|s| async move {
        let l2 = l.clone();
        s.spawn_shielded(async move {
            sleep(Duration::from_millis(10)).await;
            l2.borrow_mut().push("write done");
            Ok(())
        });
        yield_now().await;
        l.borrow_mut().push("body done");
        Ok(())
    }));
    assert_eq!(r, Ok(()));
    assert_eq!(*log.borrow(), ["body done", "write done"]);
}

#[test]
fn children_can_spawn_siblings_and_late_spawns_are_refused() {
    let mut ex = ex();
    let count = Rc::new(Cell::new(0));
    let c = count.clone();
    let kept: Rc<RefCell<Option<shimmer_executor::Scope<String>>>> = Rc::default();
    let k = kept.clone();
    let r: Result<(), String> = ex.block_on(scope(|s| async move {
        *k.borrow_mut() = Some(s.clone());
        let s2 = s.clone();
        let c2 = c.clone();
        s.spawn(async move {
            c2.set(c2.get() + 1);
            let c3 = c2.clone();
            s2.spawn(async move {
                c3.set(c3.get() + 1);
                Ok(())
            });
            Ok(())
        });
        sleep(Duration::from_millis(1)).await;
        Ok(())
    }));
    assert_eq!(r, Ok(()));
    assert_eq!(count.get(), 2);
    let late = kept.borrow_mut().take().unwrap();
    assert!(late.is_closed());
    ex.block_on(async {
        late.spawn(async { panic!("must never run") });
        yield_now().await;
    });
}

#[test]
fn many_short_children_do_not_accumulate() {
    let mut ex = ex();
    let r: Result<(), String> = ex.block_on(scope(|s| async move {
        for _ in 0..10_000 {
            s.spawn(async { Ok(()) });
            yield_now().await;
        }
        Ok(())
    }));
    assert_eq!(r, Ok(()));
    assert_eq!(ex.live_tasks(), 0);
}
