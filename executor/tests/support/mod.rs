//! Test helpers shared by the executor's integration tests.
#![allow(dead_code)]

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use shimmer_executor::{Instant, Park, Unpark};

/// What a [`VirtualPark`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParkEvent {
    /// A park that did not block (deadline at or before now).
    Poll,
    /// A park that advanced virtual time to this deadline.
    Sleep(Instant),
    /// A park that returned because of an unpark.
    Unparked,
}

/// A backend with a virtual clock: parking until a deadline jumps the clock
/// to it, so timer tests are exact and instant. Parking with no deadline and
/// no pending unpark is a deadlock and panics.
#[derive(Clone)]
pub struct VirtualPark {
    pub now: Rc<Cell<u64>>,
    pub events: Rc<RefCell<Vec<ParkEvent>>>,
    pub unparked: Arc<AtomicBool>,
    pub unparks: Arc<AtomicUsize>,
    /// Virtual nanoseconds that pass at every non-blocking park, so that a
    /// busy executor sees time move.
    pub busy_tick: Rc<Cell<u64>>,
}

pub struct VirtualUnparker {
    unparked: Arc<AtomicBool>,
    unparks: Arc<AtomicUsize>,
}

impl VirtualPark {
    pub fn new() -> VirtualPark {
        VirtualPark {
            now: Rc::new(Cell::new(1_000_000_000)),
            // Reserved so that recording parks does not allocate while the
            // allocation-counting tests count.
            events: Rc::new(RefCell::new(Vec::with_capacity(1 << 16))),
            unparked: Arc::default(),
            unparks: Arc::default(),
            busy_tick: Rc::default(),
        }
    }

    pub fn now(&self) -> Instant {
        Instant::from_nanos(self.now.get())
    }

    pub fn advance(&self, nanos: u64) {
        self.now.set(self.now.get() + nanos);
    }

    pub fn events(&self) -> Vec<ParkEvent> {
        self.events.borrow().clone()
    }

    pub fn park_count(&self) -> usize {
        self.events.borrow().len()
    }
}

impl Park for VirtualPark {
    type Unparker = VirtualUnparker;

    fn park(&mut self, deadline: Option<Instant>) {
        if self.unparked.swap(false, Ordering::AcqRel) {
            self.events.borrow_mut().push(ParkEvent::Unparked);
            return;
        }
        match deadline {
            Some(d) if d.as_nanos() <= self.now.get() => {
                self.events.borrow_mut().push(ParkEvent::Poll);
                self.now.set(self.now.get() + self.busy_tick.get());
            }
            Some(d) => {
                self.now.set(d.as_nanos());
                self.events.borrow_mut().push(ParkEvent::Sleep(d));
            }
            None => panic!("VirtualPark: parked with no deadline and no unpark: deadlock"),
        }
    }

    fn unparker(&self) -> VirtualUnparker {
        VirtualUnparker {
            unparked: self.unparked.clone(),
            unparks: self.unparks.clone(),
        }
    }

    fn now(&self) -> Instant {
        Instant::from_nanos(self.now.get())
    }
}

impl Unpark for VirtualUnparker {
    fn unpark(&self) {
        self.unparks.fetch_add(1, Ordering::Relaxed);
        self.unparked.store(true, Ordering::Release);
    }
}

/// A single-threaded notifier that only uses wakers (the benches' `sig`).
#[derive(Default)]
pub struct Signal {
    flag: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Signal {
    pub fn notify(&self) {
        self.flag.set(true);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }

    pub fn notified(&self) -> impl Future<Output = ()> + '_ {
        std::future::poll_fn(move |cx| {
            if self.flag.replace(false) {
                Poll::Ready(())
            } else {
                let mut slot = self.waker.borrow_mut();
                match &*slot {
                    Some(w) if w.will_wake(cx.waker()) => {}
                    _ => *slot = Some(cx.waker().clone()),
                }
                Poll::Pending
            }
        })
    }
}

/// Yields once with a plain self-wake (no deferral).
pub fn plain_yield() -> impl Future<Output = ()> {
    let mut yielded = false;
    std::future::poll_fn(move |cx| {
        if yielded {
            Poll::Ready(())
        } else {
            yielded = true;
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    })
}

/// A future that never completes and counts its polls and its drop.
pub struct Forever {
    pub polls: Rc<Cell<usize>>,
    pub dropped: Rc<Cell<bool>>,
}

impl Future for Forever {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        self.polls.set(self.polls.get() + 1);
        Poll::Pending
    }
}

impl Drop for Forever {
    fn drop(&mut self) {
        self.dropped.set(true);
    }
}

/// Sets a flag when dropped.
pub struct DropFlag(pub Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}
