//! Mutex, Condition, Semaphore and Notify: the ordinary path, FIFO order,
//! cancellation while queued and after a hand-off, close, broadcast.

mod sync_support;

use std::cell::RefCell;
use std::rc::Rc;

use shimmer_executor::sync::{AcquireError, Condition, Mutex, Notify, Semaphore, TryAcquireError};
use shimmer_executor::{block_on, spawn, yield_now, Executor, StdPark};
use sync_support::Probe;

// ===== Mutex =====

#[test]
fn mutex_ordinary_path() {
    let m = Mutex::new(1);
    block_on(async {
        {
            let mut g = m.lock().await;
            *g += 1;
            assert!(m.is_locked());
            assert!(m.try_lock().is_err());
            assert_eq!(m.try_lock().unwrap_err().to_string(), "mutex is locked");
        }
        assert!(!m.is_locked());
        assert_eq!(*m.try_lock().unwrap(), 2);
    });
    assert_eq!(m.into_inner(), 2);
}

#[test]
fn mutex_is_fifo_across_tasks() {
    let order = Rc::new(RefCell::new(Vec::new()));
    let m = Rc::new(Mutex::new(()));
    let mut ex = Executor::new(StdPark::new());
    ex.block_on(async {
        let g = m.lock().await;
        let mut tasks = Vec::new();
        for i in 0..20 {
            let (m, order) = (m.clone(), order.clone());
            tasks.push(spawn(async move {
                let _g = m.lock().await;
                order.borrow_mut().push(i);
                yield_now().await;
            }));
        }
        yield_now().await; // everyone queues
        assert_eq!(m.waiters(), 20);
        drop(g);
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(*order.borrow(), (0..20).collect::<Vec<_>>());
}

#[test]
fn mutex_hands_off_so_the_unlocker_cannot_retake() {
    let m = Mutex::new(());
    let g = m.try_lock().unwrap();
    let mut w = Probe::new(m.lock());
    w.pending();
    drop(g);
    assert!(w.woken());
    // Still locked: it belongs to the waiter now.
    assert!(m.is_locked());
    assert!(m.try_lock().is_err());
    let mut again = Probe::new(m.lock());
    again.pending();
    let g = w.ready();
    drop(g);
    assert!(again.woken());
    drop(again.ready());
    assert!(!m.is_locked());
}

#[test]
fn mutex_cancel_while_queued_unlinks() {
    let m = Mutex::new(());
    let g = m.try_lock().unwrap();
    let mut a = Probe::new(m.lock());
    let mut b = Probe::new(m.lock());
    a.pending();
    b.pending();
    assert_eq!(m.waiters(), 2);
    drop(a);
    assert_eq!(m.waiters(), 1);
    drop(g);
    assert!(b.woken());
    drop(b.ready());
    assert!(!m.is_locked());
    assert_eq!(m.waiters(), 0);
}

#[test]
fn mutex_cancelled_after_hand_off_passes_it_on() {
    let m = Mutex::new(());
    let g = m.try_lock().unwrap();
    let mut a = Probe::new(m.lock());
    let mut b = Probe::new(m.lock());
    let mut c = Probe::new(m.lock());
    a.pending();
    b.pending();
    c.pending();
    drop(g); // to a
    assert!(a.woken());
    drop(a); // a never took it: to b
    assert!(b.woken());
    assert!(!c.woken());
    drop(b.ready());
    assert!(c.woken());
    drop(c); // handed to c, dropped: nobody left, unlocked
    assert!(!m.is_locked());
    assert_eq!(m.waiters(), 0);
}

#[test]
fn mutex_drop_at_every_await_point() {
    // One waiter among three is dropped at each of its states; the others
    // always end up with the lock, in order, and the mutex ends unlocked.
    for victim in 0..3 {
        for stage in 0..3 {
            let m = Mutex::new(Vec::new());
            let g = m.try_lock().unwrap();
            let mut ws: Vec<Option<Probe<_>>> =
                (0..3).map(|_| Some(Probe::new(m.lock()))).collect();
            if stage >= 1 {
                for w in ws.iter_mut() {
                    w.as_mut().unwrap().pending();
                }
            }
            if stage == 2 {
                // Hand the lock down to the victim, then drop it there.
                drop(g);
                for w in ws.iter_mut().take(victim) {
                    let mut guard = w.as_mut().unwrap().ready();
                    guard.push(0);
                    *w = None; // done; its guard unlocks to the next
                }
                ws[victim] = None;
            } else {
                ws[victim] = None;
                drop(g);
            }
            for w in ws.iter_mut().flatten() {
                let mut guard = match w.poll() {
                    std::task::Poll::Ready(g) => g,
                    std::task::Poll::Pending => panic!("victim {victim} stage {stage}: lost wake"),
                };
                guard.push(1);
            }
            drop(ws);
            assert!(!m.is_locked(), "victim {victim} stage {stage}");
            assert_eq!(m.waiters(), 0);
        }
    }
}

// ===== Condition =====

#[test]
fn condition_signal_is_fifo_and_carries_a_value() {
    let c = Condition::new();
    let mut ws: Vec<_> = (0..3).map(|_| Probe::new(c.wait())).collect();
    for w in &mut ws {
        w.pending();
    }
    assert!(c.signal(10));
    assert!(c.signal(20));
    assert!(ws[0].woken() && ws[1].woken() && !ws[2].woken());
    assert_eq!(ws[1].ready(), 20);
    assert_eq!(ws[0].ready(), 10);
    ws[2].pending();
    assert_eq!(c.waiters(), 1);
}

#[test]
fn condition_signal_with_no_waiter_is_dropped() {
    let c = Condition::new();
    assert!(!c.signal(1));
    let mut w = Probe::new(c.wait());
    w.pending();
    assert!(!w.woken());
}

#[test]
fn condition_broadcast_to_zero_and_to_many() {
    let c = Condition::new();
    assert_eq!(c.broadcast("x"), 0);
    let mut ws: Vec<_> = (0..50).map(|_| Probe::new(c.wait())).collect();
    for w in &mut ws {
        w.pending();
    }
    assert_eq!(c.broadcast("go"), 50);
    let mut late = Probe::new(c.wait());
    late.pending();
    for w in &mut ws {
        assert!(w.woken());
        assert_eq!(w.ready(), "go");
    }
    assert!(!late.woken());
    assert_eq!(c.waiters(), 1);
}

#[test]
fn condition_cancel_while_queued_and_after_signal() {
    let c = Condition::new();
    let mut a = Probe::new(c.wait());
    let mut b = Probe::new(c.wait());
    let mut d = Probe::new(c.wait());
    a.pending();
    b.pending();
    d.pending();
    drop(a); // queued: just leaves
    assert_eq!(c.waiters(), 2);
    assert!(c.signal(7)); // to b
    drop(b); // had 7, never returned it: d gets it
    assert!(d.woken());
    assert_eq!(d.ready(), 7);
    assert_eq!(c.waiters(), 0);
}

#[test]
fn condition_broadcast_is_not_passed_on() {
    let c = Condition::new();
    let mut a = Probe::new(c.wait());
    a.pending();
    c.broadcast(1);
    let mut b = Probe::new(c.wait());
    b.pending();
    drop(a);
    assert!(!b.woken());
}

#[test]
fn condition_wait_with_unlocks_and_relocks() {
    let m = Mutex::new(0);
    let c = Condition::new();
    let g = m.try_lock().unwrap();
    let mut w = Probe::new(c.wait_with(g));
    w.pending();
    assert!(!m.is_locked(), "waiting releases the mutex");
    let mut g = m.try_lock().unwrap();
    *g = 5;
    c.signal("hi");
    assert!(w.woken());
    w.pending(); // signalled, but the mutex is held: re-locking waits
    drop(g);
    assert!(w.woken());
    let (v, g) = w.ready();
    assert_eq!((v, *g), ("hi", 5));
}

#[test]
fn condition_wait_with_cancelled_while_relocking_passes_the_signal_on() {
    let m = Mutex::new(());
    let c = Condition::new();
    let mut w = Probe::new(c.wait_with(m.try_lock().unwrap()));
    w.pending();
    let g = m.try_lock().unwrap();
    let mut other = Probe::new(c.wait());
    other.pending();
    c.signal(42);
    w.pending(); // now waiting for the mutex, holding 42
    drop(w);
    assert!(other.woken());
    assert_eq!(other.ready(), 42);
    assert_eq!(m.waiters(), 0);
    drop(g);
    assert!(!m.is_locked());
}

#[test]
fn condition_enable_catches_an_early_signal() {
    let c = Condition::new();
    let mut w = Box::pin(c.wait());
    w.as_mut().enable();
    c.signal(3);
    assert_eq!(block_on(w), 3);
}

// ===== Semaphore =====

#[test]
fn semaphore_ordinary_path() {
    let s = Semaphore::new(3);
    block_on(async {
        let a = s.acquire().await.unwrap();
        let b = s.acquire_many(2).await.unwrap();
        assert_eq!(s.available_permits(), 0);
        assert_eq!(b.num_permits(), 2);
        assert_eq!(s.try_acquire().unwrap_err(), TryAcquireError::NoPermits);
        drop(a);
        assert_eq!(s.available_permits(), 1);
        b.forget();
        assert_eq!(s.available_permits(), 1);
        s.add_permits(4);
        assert_eq!(s.available_permits(), 5);
        assert_eq!(s.forget_permits(2), 2);
        assert_eq!(s.try_acquire_many(3).unwrap().num_permits(), 3);
    });
}

#[test]
fn semaphore_is_fifo_and_big_requests_block_small_ones() {
    let s = Semaphore::new(1);
    let held = s.try_acquire().unwrap();
    let mut big = Probe::new(s.acquire_many(2));
    let mut small = Probe::new(s.acquire());
    big.pending();
    small.pending();
    drop(held); // 1 free, but the front wants 2
    assert!(!big.woken() && !small.woken());
    assert_eq!(s.available_permits(), 1);
    assert!(s.try_acquire().is_err(), "no barging past waiters");
    s.add_permits(1);
    assert!(big.woken());
    assert!(!small.woken());
    let p = big.ready().unwrap();
    drop(p);
    assert!(small.woken());
    assert_eq!(small.ready().unwrap().num_permits(), 1);
    assert_eq!(s.available_permits(), 2);
}

#[test]
fn semaphore_cancel_front_waiter_lets_the_next_through() {
    let s = Semaphore::new(1);
    let mut big = Probe::new(s.acquire_many(5));
    let mut small = Probe::new(s.acquire());
    big.pending();
    small.pending();
    drop(big);
    assert!(small.woken());
    drop(small.ready().unwrap());
}

#[test]
fn semaphore_cancelled_after_grant_returns_the_permits() {
    let s = Semaphore::new(2);
    let held = s.try_acquire_many(2).unwrap();
    let mut a = Probe::new(s.acquire_many(2));
    let mut b = Probe::new(s.acquire_many(2));
    a.pending();
    b.pending();
    drop(held);
    assert!(a.woken());
    assert_eq!(s.available_permits(), 0, "granted to a before it ran");
    drop(a);
    assert!(b.woken());
    drop(b.ready().unwrap());
    drop(b);
    assert_eq!(s.available_permits(), 2);
    assert_eq!(s.waiters(), 0);
}

#[test]
fn semaphore_close_while_waiting() {
    let s = Semaphore::new(1);
    let held = s.try_acquire().unwrap();
    let mut ws: Vec<_> = (0..3).map(|_| Probe::new(s.acquire())).collect();
    for w in &mut ws {
        w.pending();
    }
    s.close();
    for w in &mut ws {
        assert!(w.woken());
        let e = w.ready().unwrap_err();
        assert_eq!(e, AcquireError::clone(&e));
        assert_eq!(e.to_string(), "semaphore closed");
    }
    assert!(s.is_closed());
    assert_eq!(s.try_acquire().unwrap_err(), TryAcquireError::Closed);
    drop(held);
    assert_eq!(s.available_permits(), 1);
    assert!(block_on(s.acquire()).is_err());
}

// ===== Notify =====

#[test]
fn notify_one_stores_one_permit() {
    let n = Notify::new();
    n.notify_one();
    n.notify_one();
    let mut a = Probe::new(n.notified());
    a.ready();
    let mut b = Probe::new(n.notified());
    b.pending();
    n.notify_one();
    assert!(b.woken());
    b.ready();
}

#[test]
fn notify_one_is_fifo() {
    let n = Notify::new();
    let mut ws: Vec<_> = (0..3).map(|_| Probe::new(n.notified())).collect();
    for w in &mut ws {
        w.pending();
    }
    n.notify_one();
    assert!(ws[0].woken() && !ws[1].woken() && !ws[2].woken());
    n.notify_one();
    assert!(ws[1].woken() && !ws[2].woken());
}

#[test]
fn notify_waiters_to_zero_and_to_many() {
    let n = Notify::new();
    assert_eq!(n.notify_waiters(), 0);
    let mut nobody = Probe::new(n.notified());
    nobody.pending(); // notify_waiters stored nothing
    drop(nobody);
    let mut ws: Vec<_> = (0..40).map(|_| Probe::new(n.notified())).collect();
    for w in ws.iter_mut().take(30) {
        w.pending();
    }
    // The last 10 were created but never polled: they count too.
    assert_eq!(n.notify_waiters(), 30);
    for w in &mut ws {
        w.ready();
    }
    let mut late = Probe::new(n.notified());
    late.pending();
}

#[test]
fn notify_cancel_queued_and_after_notify_one() {
    let n = Notify::new();
    let mut a = Probe::new(n.notified());
    let mut b = Probe::new(n.notified());
    a.pending();
    b.pending();
    n.notify_one(); // to a
    drop(a); // passed on to b
    assert!(b.woken());
    b.ready();
    // A waiter with a notification and nobody behind: back to a permit.
    let mut c = Probe::new(n.notified());
    c.pending();
    n.notify_one();
    drop(c);
    Probe::new(n.notified()).ready();
    // A queued waiter dropped: nothing left behind.
    let mut d = Probe::new(n.notified());
    d.pending();
    drop(d);
    assert_eq!(n.waiters(), 0);
    Probe::new(n.notified()).pending();
}

#[test]
fn notify_waiters_wake_is_not_passed_on() {
    let n = Notify::new();
    let mut a = Probe::new(n.notified());
    a.pending();
    n.notify_waiters();
    let mut b = Probe::new(n.notified());
    b.pending();
    drop(a);
    assert!(!b.woken());
    b.pending();
}

#[test]
fn notify_between_tasks() {
    let n = Rc::new(Notify::new());
    block_on(async {
        let n2 = n.clone();
        let t = spawn(async move {
            for _ in 0..100 {
                n2.notified().await;
            }
        });
        for _ in 0..100 {
            n.notify_one();
            yield_now().await;
        }
        t.await.unwrap();
    });
}
