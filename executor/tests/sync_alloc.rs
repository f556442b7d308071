//! Waiting on any sync primitive allocates nothing: the waiter lives in the
//! waiting future. A counting global allocator counts this thread's
//! allocations (tests run in parallel threads).

use std::future::{poll_fn, Future};
use std::pin::pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use futures_core::Stream;
use shimmer_executor::sync::{
    channel, oneshot, pool, Condition, MVar, Mutex, Notify, Pool, Semaphore,
};
use shimmer_executor::{Executor, JoinHandle, StdPark};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::allocs;

/// Asserts that `f` makes no allocation on this thread.
#[track_caller]
fn assert_no_alloc<R>(what: &str, f: impl FnOnce() -> R) -> R {
    let before = allocs();
    let r = f();
    let n = allocs() - before;
    assert_eq!(n, 0, "{what}: {n} allocations");
    r
}

struct Flag;
impl Wake for Flag {
    fn wake(self: Arc<Self>) {}
}

fn poll<F: Future>(f: std::pin::Pin<&mut F>, cx: &mut Context<'_>) -> Poll<F::Output> {
    f.poll(cx)
}

#[test]
fn waiting_on_mutex_condition_semaphore_notify_allocates_nothing() {
    let waker = Waker::from(Arc::new(Flag));
    let cx = &mut Context::from_waker(&waker);
    let m = Mutex::new(0);
    let c = Condition::new();
    let s = Semaphore::new(1);
    let n = Notify::new();
    assert_no_alloc("mutex", || {
        let g = m.try_lock().unwrap();
        let mut a = pin!(m.lock());
        let mut d = pin!(m.lock());
        assert!(poll(a.as_mut(), cx).is_pending());
        {
            // Cancelled while queued.
            let mut b = pin!(m.lock());
            assert!(poll(b.as_mut(), cx).is_pending());
        }
        assert!(poll(d.as_mut(), cx).is_pending());
        drop(g);
        let Poll::Ready(g) = poll(a.as_mut(), cx) else {
            panic!()
        };
        drop(g);
        let Poll::Ready(g) = poll(d.as_mut(), cx) else {
            panic!()
        };
        drop(g);
    });
    assert_no_alloc("condition", || {
        let mut a = pin!(c.wait());
        let mut b = pin!(c.wait());
        assert!(poll(a.as_mut(), cx).is_pending());
        assert!(poll(b.as_mut(), cx).is_pending());
        c.signal(1);
        c.broadcast(2);
        assert_eq!(poll(a.as_mut(), cx), Poll::Ready(1));
        assert_eq!(poll(b.as_mut(), cx), Poll::Ready(2));
        let g = m.try_lock().unwrap();
        let mut w = pin!(c.wait_with(g));
        assert!(poll(w.as_mut(), cx).is_pending());
        c.signal(3);
        assert!(poll(w.as_mut(), cx).is_ready());
    });
    assert_no_alloc("semaphore", || {
        let p = s.try_acquire().unwrap();
        let mut a = pin!(s.acquire());
        assert!(poll(a.as_mut(), cx).is_pending());
        drop(p);
        assert!(poll(a.as_mut(), cx).is_ready());
    });
    assert_no_alloc("notify", || {
        let mut a = pin!(n.notified());
        let mut b = pin!(n.notified());
        assert!(poll(a.as_mut(), cx).is_pending());
        assert!(poll(b.as_mut(), cx).is_pending());
        n.notify_one();
        n.notify_waiters();
        assert!(poll(a.as_mut(), cx).is_ready());
        assert!(poll(b.as_mut(), cx).is_ready());
    });
}

#[test]
fn waiting_on_mvar_oneshot_channel_allocates_nothing() {
    let waker = Waker::from(Arc::new(Flag));
    let cx = &mut Context::from_waker(&waker);
    let mv = MVar::empty();
    assert_no_alloc("mvar", || {
        let mut t = pin!(mv.take());
        assert!(poll(t.as_mut(), cx).is_pending());
        mv.try_put(String::new()).unwrap();
        let mut p = pin!(mv.put(String::new()));
        assert!(poll(p.as_mut(), cx).is_pending());
        assert!(poll(t.as_mut(), cx).is_ready());
        assert!(poll(p.as_mut(), cx).is_ready());
    });
    let (tx, rx) = oneshot::channel::<u32>();
    let mut rx = pin!(rx);
    assert_no_alloc("oneshot", || {
        assert!(poll(rx.as_mut(), cx).is_pending());
        tx.send(1).unwrap();
        assert_eq!(poll(rx.as_mut(), cx), Poll::Ready(Ok(1)));
    });
    let (tx, rx) = channel::bounded(2);
    let mut srx = rx.clone();
    // The stream side boxes its node once, on its first wait.
    assert!(poll_fn(|cx| std::pin::Pin::new(&mut srx).poll_next(cx)).as_mut_pending(cx));
    tx.try_send(100u64).unwrap();
    assert!(!poll_fn(|cx| std::pin::Pin::new(&mut srx).poll_next(cx)).as_mut_pending(cx));
    assert_no_alloc("bounded channel", || {
        for round in 0..100 {
            let mut r = pin!(rx.recv());
            assert!(poll(r.as_mut(), cx).is_pending());
            tx.try_send(round).unwrap();
            assert_eq!(poll(r.as_mut(), cx), Poll::Ready(Some(round)));
            tx.try_send(1).unwrap();
            tx.try_send(2).unwrap();
            let mut s = pin!(tx.send(3));
            assert!(poll(s.as_mut(), cx).is_pending());
            assert_eq!(rx.try_recv(), Ok(1));
            assert!(poll(s.as_mut(), cx).is_ready());
            assert_eq!(rx.try_recv(), Ok(2));
            assert_eq!(rx.try_recv(), Ok(3));
            let mut next = poll_fn(|cx| std::pin::Pin::new(&mut srx).poll_next(cx));
            assert!(next.as_mut_pending(cx));
            tx.try_send(4).unwrap();
            assert!(!next.as_mut_pending(cx));
        }
    });
    let (tx, rx) = channel::unbounded();
    // Warm up: the buffer grows once to 1000 and keeps its capacity.
    for i in 0..1000u32 {
        tx.try_send(i).unwrap();
    }
    rx.drain().for_each(drop);
    assert_no_alloc("unbounded channel", || {
        for _ in 0..10 {
            let mut r = pin!(rx.recv());
            assert!(poll(r.as_mut(), cx).is_pending());
            for i in 0..1000 {
                tx.try_send(i).unwrap();
            }
            assert_eq!(poll(r.as_mut(), cx), Poll::Ready(Some(0)));
            assert_eq!(rx.drain().count(), 999);
        }
    });
}

/// `poll_fn` helper: poll once, `true` if pending.
trait PendingOnce {
    fn as_mut_pending(&mut self, cx: &mut Context<'_>) -> bool;
}
impl<F: Future + Unpin> PendingOnce for F {
    fn as_mut_pending(&mut self, cx: &mut Context<'_>) -> bool {
        std::pin::Pin::new(self).poll(cx).is_pending()
    }
}

#[test]
fn waiting_on_pool_allocates_nothing() {
    let waker = Waker::from(Arc::new(Flag));
    let cx = &mut Context::from_waker(&waker);
    let p = Pool::new(1, pool::manager(async || Ok::<_, ()>(7u32)));
    // Warm up: the idle queue's buffer.
    {
        let mut warm = pin!(p.get());
        assert!(poll(warm.as_mut(), cx).is_ready());
    }
    assert_no_alloc("pool", || {
        for _ in 0..10 {
            let mut a = pin!(p.get());
            let Poll::Ready(Ok(item)) = poll(a.as_mut(), cx) else {
                panic!()
            };
            let mut b = pin!(p.get());
            assert!(poll(b.as_mut(), cx).is_pending());
            drop(item);
            let Poll::Ready(Ok(item)) = poll(b.as_mut(), cx) else {
                panic!()
            };
            assert_eq!(*item, 7);
        }
    });
}

#[test]
fn tasks_contending_on_primitives_allocate_nothing() {
    let mut ex = Executor::new(StdPark::new());
    let m = Rc::new(Mutex::new(0u64));
    let (a, b) = (Rc::new(MVar::empty()), Rc::new(MVar::empty()));
    let (tx, rx) = channel::bounded(4);
    let spawn_all = |ex: &mut Executor| -> Vec<JoinHandle<()>> {
        let mut hs = Vec::new();
        for _ in 0..10 {
            let m = m.clone();
            hs.push(ex.spawn(async move {
                for _ in 0..100 {
                    let mut g = m.lock().await;
                    shimmer_executor::yield_now().await;
                    *g += 1;
                }
            }));
        }
        let (a2, b2) = (a.clone(), b.clone());
        hs.push(ex.spawn(async move {
            for i in 0..1000u32 {
                a2.put(i).await;
                b2.take().await;
            }
        }));
        let (a2, b2) = (a.clone(), b.clone());
        hs.push(ex.spawn(async move {
            for _ in 0..1000 {
                let v = a2.take().await;
                b2.put(v).await;
            }
        }));
        let tx = tx.clone();
        hs.push(ex.spawn(async move {
            for i in 0..1000u32 {
                tx.send(i).await.unwrap();
            }
        }));
        let rx = rx.clone();
        hs.push(ex.spawn(async move {
            for _ in 0..1000 {
                rx.recv().await.unwrap();
            }
        }));
        hs
    };
    // Warm up the executor (task blocks, deferred list) once.
    let hs = spawn_all(&mut ex);
    ex.block_on(async {
        for h in hs {
            h.await.unwrap();
        }
    });
    let hs = spawn_all(&mut ex);
    assert_no_alloc("tasks", || {
        ex.block_on(async {
            for h in hs {
                h.await.unwrap();
            }
        })
    });
    assert_eq!(*m.try_lock().unwrap(), 2000);
}
