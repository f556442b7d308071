//! MVar, oneshot and channel: values move in order, are never lost to a
//! cancelled waiter, and closing gives them back or drains them.

mod sync_support;

use std::cell::{Cell, RefCell};
use std::future::poll_fn;
use std::pin::Pin;
use std::rc::Rc;

use futures_core::Stream;
use shimmer_executor::sync::channel::{self, SendError, TryRecvError, TrySendError};
use shimmer_executor::sync::{oneshot, MVar};
use shimmer_executor::{block_on, spawn, yield_now};
use sync_support::{poll_once, Probe};

// ===== MVar =====

#[test]
fn mvar_ordinary_path() {
    let mv = MVar::new(1);
    assert!(!mv.is_empty());
    assert_eq!(mv.try_put(2).unwrap_err().into_inner(), 2);
    assert_eq!(mv.try_put(2).unwrap_err().to_string(), "MVar is full");
    block_on(async {
        assert_eq!(mv.take().await, 1);
        assert!(mv.is_empty());
        assert_eq!(mv.try_take(), None);
        mv.put(3).await;
    });
    assert_eq!(mv.try_take(), Some(3));
    mv.try_put(4).unwrap();
    assert_eq!(mv.into_inner(), Some(4));
}

#[test]
fn mvar_takers_are_fifo() {
    let mv = Rc::new(MVar::empty());
    let got = Rc::new(RefCell::new(Vec::new()));
    block_on(async {
        let mut tasks = Vec::new();
        for i in 0..10 {
            let (mv, got) = (mv.clone(), got.clone());
            tasks.push(spawn(async move {
                let v = mv.take().await;
                got.borrow_mut().push((i, v));
            }));
        }
        yield_now().await;
        assert_eq!(mv.takers(), 10);
        for v in 0..10 {
            mv.put(v * 100).await;
        }
        for t in tasks {
            t.await.unwrap();
        }
    });
    let expected: Vec<_> = (0..10).map(|i| (i, i * 100)).collect();
    assert_eq!(*got.borrow(), expected);
}

#[test]
fn mvar_putters_are_fifo() {
    let mv = MVar::new(0);
    let mut ps: Vec<_> = (1..=3).map(|v| Probe::new(mv.put(v))).collect();
    for p in &mut ps {
        p.pending();
    }
    assert_eq!(mv.putters(), 3);
    for expect in 0..=3 {
        assert_eq!(mv.try_take(), Some(expect));
    }
    for p in &mut ps {
        assert!(p.woken());
        p.ready();
    }
    assert!(mv.is_empty());
}

#[test]
fn mvar_reserved_value_cannot_be_stolen() {
    let mv = MVar::empty();
    let mut t = Probe::new(mv.take());
    t.pending();
    mv.try_put(5).unwrap();
    assert!(t.woken());
    assert!(mv.is_empty(), "the value is owed to the waiter");
    assert_eq!(mv.try_take(), None);
    assert!(mv.try_put(6).is_err());
    assert_eq!(t.ready(), 5);
}

#[test]
fn mvar_cancel_queued_taker() {
    let mv = MVar::empty();
    let mut a = Probe::new(mv.take());
    let mut b = Probe::new(mv.take());
    a.pending();
    b.pending();
    drop(a);
    assert_eq!(mv.takers(), 1);
    mv.try_put(1).unwrap();
    assert!(b.woken());
    assert_eq!(b.ready(), 1);
}

#[test]
fn mvar_cancelled_taker_passes_the_value_slot_on() {
    let mv = MVar::empty();
    let mut a = Probe::new(mv.take());
    let mut b = Probe::new(mv.take());
    a.pending();
    b.pending();
    mv.try_put(9).unwrap(); // reserved for a
    drop(a); // to b
    assert!(b.woken());
    assert_eq!(b.ready(), 9);
    // With nobody behind, the value just stays in.
    let mut c = Probe::new(mv.take());
    c.pending();
    mv.try_put(10).unwrap();
    drop(c);
    assert!(!mv.is_empty());
    assert_eq!(mv.try_take(), Some(10));
}

#[test]
fn mvar_cancelled_putter() {
    // Queued: its value is not put.
    let mv = MVar::new(1);
    let mut p = Probe::new(mv.put(2));
    p.pending();
    drop(p);
    assert_eq!(mv.putters(), 0);
    assert_eq!(mv.try_take(), Some(1));
    assert_eq!(mv.try_take(), None);
    // Woken: its value is in, even though it never saw it.
    mv.try_put(1).unwrap();
    let mut p = Probe::new(mv.put(2));
    p.pending();
    assert_eq!(mv.try_take(), Some(1));
    assert!(p.woken());
    drop(p);
    assert_eq!(mv.try_take(), Some(2));
}

#[test]
fn mvar_ping_pong_between_tasks() {
    let (a, b) = (Rc::new(MVar::empty()), Rc::new(MVar::empty()));
    block_on(async {
        let (a2, b2) = (a.clone(), b.clone());
        let pong = spawn(async move {
            for _ in 0..1000 {
                let v: u32 = a2.take().await;
                b2.put(v + 1).await;
            }
        });
        let mut v = 0;
        for _ in 0..1000 {
            a.put(v).await;
            v = b.take().await;
        }
        pong.await.unwrap();
        assert_eq!(v, 1000);
    });
}

// ===== oneshot =====

#[test]
fn oneshot_ordinary_path() {
    let (tx, mut rx) = oneshot::channel();
    assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Empty));
    let mut waiting = Probe::new(rx);
    waiting.pending();
    tx.send(5).unwrap();
    assert!(waiting.woken());
    assert_eq!(waiting.ready(), Ok(5));
}

#[test]
fn oneshot_sender_dropped_closes() {
    let (tx, rx) = oneshot::channel::<u8>();
    let mut waiting = Probe::new(rx);
    waiting.pending();
    drop(tx);
    assert!(waiting.woken());
    let e = waiting.ready().unwrap_err();
    assert_eq!(e.to_string(), "oneshot sender dropped without sending");
}

#[test]
fn oneshot_receiver_dropped_gives_the_value_back() {
    let (mut tx, rx) = oneshot::channel::<u8>();
    let mut closed = Probe::new(poll_fn(move |cx| {
        tx.poll_closed(cx).map(|()| tx.is_closed())
    }));
    closed.pending();
    drop(rx); // a cancelled waiter: the sender hears of it
    assert!(closed.woken());
    assert!(closed.ready());
    let (tx, mut rx) = oneshot::channel();
    rx.close();
    assert!(tx.is_closed());
    assert_eq!(tx.send("v"), Err("v"));
    assert_eq!(rx.try_recv(), Err(oneshot::TryRecvError::Closed));
}

#[test]
fn oneshot_value_sent_before_close_is_kept() {
    let (tx, mut rx) = oneshot::channel();
    tx.send(1).unwrap();
    rx.close();
    assert_eq!(rx.try_recv(), Ok(1));
}

#[test]
fn oneshot_between_tasks() {
    block_on(async {
        let (tx, rx) = oneshot::channel();
        let (mut done_tx, done_rx) = oneshot::channel::<()>();
        let t = spawn(async move {
            done_tx.closed().await; // the receiver below is dropped
            tx.send("after").unwrap();
        });
        drop(done_rx);
        assert_eq!(rx.await, Ok("after"));
        t.await.unwrap();
    });
}

// ===== channel =====

#[test]
fn channel_ordinary_path() {
    let (tx, rx) = channel::bounded(2);
    assert_eq!(tx.capacity(), Some(2));
    assert!(rx.is_empty());
    tx.try_send(1).unwrap();
    tx.try_send(2).unwrap();
    assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
    assert_eq!(TrySendError::Full(3).to_string(), "channel full");
    assert_eq!(rx.len(), 2);
    assert_eq!(rx.try_recv(), Ok(1));
    block_on(async {
        tx.send(3).await.unwrap();
        assert_eq!(rx.recv().await, Some(2));
        assert_eq!(rx.recv().await, Some(3));
    });
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    let (tx, rx) = channel::unbounded();
    assert_eq!(tx.capacity(), None);
    for i in 0..10_000 {
        tx.try_send(i).unwrap();
    }
    assert_eq!(rx.len(), 10_000);
    assert_eq!(rx.drain().sum::<i32>(), (0..10_000).sum());
}

#[test]
fn channel_receivers_are_fifo() {
    let (tx, rx) = channel::unbounded();
    let mut rs: Vec<_> = (0..3).map(|_| Probe::new(rx.recv())).collect();
    for r in &mut rs {
        r.pending();
    }
    tx.try_send('a').unwrap();
    assert!(rs[0].woken() && !rs[1].woken());
    tx.try_send('b').unwrap();
    assert!(rs[1].woken() && !rs[2].woken());
    // A newcomer cannot take the reserved values.
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(rs[0].ready(), Some('a'));
    assert_eq!(rs[1].ready(), Some('b'));
    rs[2].pending();
}

#[test]
fn channel_senders_are_fifo() {
    let (tx, rx) = channel::bounded(1);
    tx.try_send(0).unwrap();
    let mut ss: Vec<_> = (1..=3).map(|v| Probe::new(tx.send(v))).collect();
    for s in &mut ss {
        s.pending();
    }
    assert!(matches!(tx.try_send(9), Err(TrySendError::Full(9))));
    for expect in 0..=3 {
        assert_eq!(rx.try_recv(), Ok(expect));
    }
    for s in &mut ss {
        assert!(s.woken());
        s.ready().unwrap();
    }
}

#[test]
fn channel_cancel_queued_sender_and_receiver() {
    let (tx, rx) = channel::bounded(1);
    tx.try_send(1).unwrap();
    let mut s = Probe::new(tx.send(2));
    s.pending();
    drop(s); // 2 is not sent
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    let mut a = Probe::new(rx.recv());
    let mut b = Probe::new(rx.recv());
    a.pending();
    b.pending();
    drop(a);
    tx.try_send(3).unwrap();
    assert!(b.woken());
    assert_eq!(b.ready(), Some(3));
}

#[test]
fn channel_cancelled_receiver_passes_its_value_on() {
    let (tx, rx) = channel::unbounded();
    let mut a = Probe::new(rx.recv());
    let mut b = Probe::new(rx.recv());
    a.pending();
    b.pending();
    tx.try_send(1).unwrap(); // reserved for a
    drop(a);
    assert!(b.woken());
    assert_eq!(b.ready(), Some(1));
    let mut c = Probe::new(rx.recv());
    c.pending();
    tx.try_send(2).unwrap();
    drop(c); // nobody behind: it stays buffered
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn channel_sender_woken_then_dropped_has_sent() {
    let (tx, rx) = channel::bounded(1);
    tx.try_send(1).unwrap();
    let mut s = Probe::new(tx.send(2));
    s.pending();
    assert_eq!(rx.try_recv(), Ok(1));
    drop(s);
    assert_eq!(rx.try_recv(), Ok(2));
}

#[test]
fn channel_close_while_waiting() {
    let (tx, rx) = channel::bounded(1);
    tx.try_send(1).unwrap();
    let mut s = Probe::new(tx.send(2));
    s.pending();
    rx.close();
    assert!(s.woken());
    let SendError(back) = s.ready().unwrap_err();
    assert_eq!(back, 2, "a waiting sender gets its value back");
    assert!(matches!(tx.try_send(3), Err(TrySendError::Closed(3))));
    // Drain what was buffered, then the end.
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    let (tx, rx) = channel::bounded::<u8>(1);
    let mut r = Probe::new(rx.recv());
    r.pending();
    tx.close();
    assert!(r.woken());
    assert_eq!(r.ready(), None);
    assert_eq!(
        block_on(tx.send(1)).unwrap_err().to_string(),
        "channel closed"
    );
}

#[test]
fn channel_dropping_all_senders_ends_the_stream() {
    let (tx, mut rx) = channel::unbounded();
    let tx2 = tx.clone();
    tx.try_send(1).unwrap();
    tx2.try_send(2).unwrap();
    drop(tx);
    assert!(!rx.is_closed());
    let mut next = Probe::new(poll_fn(|cx| Pin::new(&mut rx).poll_next(cx)));
    assert_eq!(next.ready(), Some(1));
    assert_eq!(next.ready(), Some(2));
    next.pending();
    drop(tx2);
    assert!(next.woken());
    assert_eq!(next.ready(), None);
}

#[test]
fn channel_dropping_all_receivers_fails_sends_and_drops_values() {
    struct D(Rc<Cell<u32>>);
    impl Drop for D {
        fn drop(&mut self) {
            self.0.set(self.0.get() + 1);
        }
    }
    let dropped = Rc::new(Cell::new(0));
    let (tx, rx) = channel::unbounded();
    let rx2 = rx.clone();
    tx.try_send(D(dropped.clone())).unwrap();
    tx.try_send(D(dropped.clone())).unwrap();
    drop(rx);
    assert!(!tx.is_closed());
    drop(rx2);
    assert!(tx.is_closed());
    assert_eq!(dropped.get(), 2);
    assert!(tx.try_send(D(dropped.clone())).is_err());
    assert_eq!(dropped.get(), 3);
}

#[test]
fn channel_stream_waits_and_is_cancel_safe() {
    let (tx, rx) = channel::bounded(4);
    let mut a = rx.clone();
    let mut b = rx;
    // a's stream waits, then is dropped after being handed a value: b gets it.
    assert!(poll_once(&mut poll_fn(|cx| Pin::new(&mut a).poll_next(cx))).is_pending());
    let mut bn = Probe::new(poll_fn(move |cx| Pin::new(&mut b).poll_next(cx)));
    bn.pending();
    tx.try_send(1).unwrap(); // to a
    drop(a);
    assert!(bn.woken());
    assert_eq!(bn.ready(), Some(1));
}

#[test]
fn channel_many_producers_and_consumers() {
    let (tx, rx) = channel::bounded(3);
    let total = Rc::new(Cell::new(0u64));
    let count = Rc::new(Cell::new(0u32));
    block_on(async {
        let mut tasks = Vec::new();
        for p in 0..4u64 {
            let tx = tx.clone();
            tasks.push(spawn(async move {
                for i in 0..250 {
                    tx.send(p * 1000 + i).await.unwrap();
                }
            }));
        }
        drop(tx);
        for _ in 0..3 {
            let (rx, total, count) = (rx.clone(), total.clone(), count.clone());
            tasks.push(spawn(async move {
                while let Some(v) = rx.recv().await {
                    total.set(total.get() + v);
                    count.set(count.get() + 1);
                    if v % 7 == 0 {
                        yield_now().await;
                    }
                }
            }));
        }
        drop(rx);
        for t in tasks {
            t.await.unwrap();
        }
    });
    assert_eq!(count.get(), 1000);
    let expected: u64 = (0..4u64)
        .map(|p| (0..250).map(|i| p * 1000 + i).sum::<u64>())
        .sum();
    assert_eq!(total.get(), expected);
}

#[test]
fn channel_per_producer_order_is_kept() {
    let (tx, rx) = channel::bounded(2);
    block_on(async {
        let t = spawn(async move {
            for i in 0..500 {
                tx.send(i).await.unwrap();
            }
        });
        let mut expect = 0;
        while let Some(v) = rx.recv().await {
            assert_eq!(v, expect);
            expect += 1;
        }
        assert_eq!(expect, 500);
        t.await.unwrap();
    });
}
