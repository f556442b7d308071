//! Pool: creation up to `max`, FIFO waiters when exhausted, validation
//! failure disposes and creates anew, disposal frees a slot, and no grant is
//! lost to a cancelled `get`.

mod sync_support;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::rc::Rc;

use shimmer_executor::sync::pool::{self, Manager, Pool};
use shimmer_executor::{block_on, spawn, yield_now};
use sync_support::{yield_once, Probe};

/// Items are numbers; those in `bad` fail validation; creation fails while
/// `fail` is set; `log` records every call.
#[derive(Default)]
struct Counter {
    next: Cell<u32>,
    bad: RefCell<Vec<u32>>,
    fail: Cell<bool>,
    log: RefCell<Vec<String>>,
}

/// The manager: a handle on the shared counter.
struct Mgr(Rc<Counter>);

impl Manager for Mgr {
    type Item = u32;
    type Error = &'static str;

    fn create(&self) -> impl Future<Output = Result<u32, &'static str>> {
        let this = self.0.clone();
        async move {
            yield_once().await; // creation takes a while
            if this.fail.get() {
                this.log.borrow_mut().push("create failed".into());
                return Err("no");
            }
            let n = this.next.get();
            this.next.set(n + 1);
            this.log.borrow_mut().push(format!("create {n}"));
            Ok(n)
        }
    }

    fn validate(&self, item: &mut u32) -> impl Future<Output = bool> {
        let ok = !self.0.bad.borrow().contains(item);
        self.0
            .log
            .borrow_mut()
            .push(format!("validate {item} {ok}"));
        async move { ok }
    }

    fn dispose(&self, item: u32) -> impl Future<Output = ()> {
        let this = self.0.clone();
        async move {
            yield_once().await;
            this.log.borrow_mut().push(format!("dispose {item}"));
        }
    }
}

fn log(c: &Counter) -> Vec<String> {
    std::mem::take(&mut *c.log.borrow_mut())
}

#[test]
fn pool_creates_up_to_max_and_reuses() {
    let c = Rc::new(Counter::default());
    let pool = Pool::new(2, Mgr(c.clone()));
    block_on(async {
        let a = pool.get().await.unwrap();
        let b = pool.get().await.unwrap();
        assert_eq!((*a, *b), (0, 1));
        assert_eq!(pool.size(), 2);
        drop(a);
        assert_eq!(pool.idle(), 1);
        let a = pool.get().await.unwrap();
        assert_eq!(*a, 0);
        drop((a, b));
    });
    assert_eq!(log(&c), ["create 0", "create 1", "validate 0 true"]);
    assert_eq!(pool.max(), 2);
}

#[test]
fn pool_waiters_when_exhausted_are_fifo() {
    let c = Rc::new(Counter::default());
    let pool = Rc::new(Pool::new(1, Mgr(c.clone())));
    let order = Rc::new(RefCell::new(Vec::new()));
    block_on(async {
        let first = pool.get().await.unwrap();
        let mut tasks = Vec::new();
        for i in 0..5 {
            let (pool, order) = (pool.clone(), order.clone());
            tasks.push(spawn(async move {
                let item = pool.get().await.unwrap();
                order.borrow_mut().push((i, *item));
                yield_now().await;
            }));
        }
        yield_now().await;
        assert_eq!(pool.waiters(), 5);
        drop(first);
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(*order.borrow(), (0..5).map(|i| (i, 0)).collect::<Vec<_>>());
    assert_eq!(pool.size(), 1);
}

#[test]
fn pool_validation_failure_disposes_and_creates_anew() {
    let c = Rc::new(Counter::default());
    let pool = Pool::new(1, Mgr(c.clone()));
    block_on(async {
        drop(pool.get().await.unwrap());
        c.bad.borrow_mut().push(0);
        let item = pool.get().await.unwrap();
        assert_eq!(*item, 1);
        assert_eq!(pool.size(), 1);
    });
    assert_eq!(
        log(&c),
        ["create 0", "validate 0 false", "dispose 0", "create 1"]
    );
}

#[test]
fn pool_create_failure_frees_the_slot() {
    let c = Rc::new(Counter::default());
    let pool = Pool::new(1, Mgr(c.clone()));
    block_on(async {
        c.fail.set(true);
        assert_eq!(pool.get().await.unwrap_err(), "no");
        assert_eq!(pool.size(), 0);
        c.fail.set(false);
        assert_eq!(*pool.get().await.unwrap(), 0);
    });
}

#[test]
fn pool_dispose_frees_a_slot_for_a_waiter() {
    let c = Rc::new(Counter::default());
    let pool = Rc::new(Pool::new(1, Mgr(c.clone())));
    block_on(async {
        let item = pool.get().await.unwrap();
        let p = pool.clone();
        let waiter = spawn(async move { *p.get().await.unwrap() });
        yield_now().await;
        assert_eq!(pool.waiters(), 1);
        item.dispose().await;
        assert_eq!(waiter.await.unwrap(), 1, "the waiter made a new one");
        assert_eq!(pool.size(), 1);
    });
    assert_eq!(log(&c), ["create 0", "dispose 0", "create 1"]);
}

#[test]
fn pool_detach_and_clear() {
    let c = Rc::new(Counter::default());
    let pool = Pool::new(3, Mgr(c.clone()));
    block_on(async {
        let a = pool.get().await.unwrap();
        let b = pool.get().await.unwrap();
        assert_eq!(a.detach(), 0);
        assert_eq!(pool.size(), 1);
        drop(b);
        pool.clear().await;
        assert_eq!((pool.size(), pool.idle()), (0, 0));
    });
    assert_eq!(log(&c), ["create 0", "create 1", "dispose 1"]);
}

#[test]
fn pool_cancel_queued_get() {
    let c = Rc::new(Counter::default());
    let pool = Pool::new(1, Mgr(c.clone()));
    let item = block_on(pool.get()).unwrap();
    let mut a = Probe::new(pool.get());
    let mut b = Probe::new(pool.get());
    a.pending();
    b.pending();
    drop(a);
    assert_eq!(pool.waiters(), 1);
    drop(item);
    assert!(b.woken());
    // b validates (synchronously here) and gets the item.
    assert_eq!(*b.ready().unwrap(), 0);
}

#[test]
fn pool_cancelled_waiter_passes_the_item_on() {
    let c = Rc::new(Counter::default());
    let pool = Pool::new(1, Mgr(c.clone()));
    let item = block_on(pool.get()).unwrap();
    let mut a = Probe::new(pool.get());
    let mut b = Probe::new(pool.get());
    a.pending();
    b.pending();
    drop(item); // handed to a
    assert_eq!(pool.idle(), 0);
    drop(a); // to b
    assert!(b.woken());
    let item = b.ready().unwrap();
    assert_eq!(*item, 0);
    // With nobody behind, a handed-over item goes back to the pool.
    let mut d = Probe::new(pool.get());
    d.pending();
    drop(item); // to d
    assert!(d.woken());
    drop(d);
    assert_eq!((pool.idle(), pool.size()), (1, 1));
}

#[test]
fn pool_cancelled_waiter_passes_a_creation_slot_on() {
    let c = Rc::new(Counter::default());
    let pool = Pool::new(1, Mgr(c.clone()));
    let item = block_on(pool.get()).unwrap();
    let mut a = Probe::new(pool.get());
    let mut b = Probe::new(pool.get());
    a.pending();
    b.pending();
    let mut disposing = Probe::new(item.dispose());
    disposing.pending(); // dispose yields once
    disposing.ready(); // slot handed to a
    assert!(a.woken());
    drop(a); // to b
    assert!(b.woken());
    b.pending(); // creating (yields once)
    assert_eq!(*b.ready().unwrap(), 1);
    assert_eq!(pool.size(), 1);
}

#[test]
fn pool_get_dropped_while_creating_or_disposing_gives_the_slot_back() {
    let c = Rc::new(Counter::default());
    let pool = Pool::new(1, Mgr(c.clone()));
    let mut g = Probe::new(pool.get());
    g.pending(); // inside create
    assert_eq!(pool.size(), 1);
    drop(g);
    assert_eq!(pool.size(), 0);
    // Dropped while disposing a bad item.
    drop(block_on(pool.get()).unwrap());
    c.bad.borrow_mut().push(0);
    let mut g = Probe::new(pool.get());
    g.pending(); // validate failed, disposing
    drop(g);
    assert_eq!((pool.size(), pool.idle()), (0, 0));
}

#[test]
fn pool_from_closures() {
    let made = Rc::new(Cell::new(0));
    let m = made.clone();
    let disposed = Rc::new(Cell::new(0));
    let d = disposed.clone();
    let pool = Pool::new(
        1,
        pool::manager(async move || {
            m.set(m.get() + 1);
            Ok::<_, ()>(m.get())
        })
        .validate(async |n: &mut u32| *n % 2 == 0)
        .dispose(async move |_n: u32| d.set(d.get() + 1)),
    );
    block_on(async {
        drop(pool.get().await.unwrap()); // 1
        let n = *pool.get().await.unwrap(); // 1 is odd: disposed, 2 made
        assert_eq!(n, 2);
    });
    assert_eq!((made.get(), disposed.get()), (2, 1));
}

#[test]
fn pool_get_dropped_while_validating_returns_the_item() {
    let pool = Pool::new(
        1,
        pool::manager(async || Ok::<_, ()>(5u32)).validate(async |_: &mut u32| {
            yield_once().await;
            true
        }),
    );
    drop(block_on(pool.get()).unwrap());
    let mut g = Probe::new(pool.get());
    g.pending(); // validating
    assert_eq!(pool.idle(), 0);
    drop(g);
    assert_eq!((pool.idle(), pool.size()), (1, 1));
    let mut g = Probe::new(pool.get());
    g.pending();
    assert_eq!(*g.ready().unwrap(), 5);
}
