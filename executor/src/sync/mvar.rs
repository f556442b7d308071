//! `MVar<T>`: Lwt_mvar — a box that is either full or empty; `put` waits
//! while it is full, `take` waits while it is empty.
//!
//! # Hand-off without losing values
//!
//! The value always lives in one place: in the MVar's slot, or inside the
//! `Put` future that is still waiting to put it. Never in a `Take` future
//! that might be dropped before it returns:
//!
//! * `put` with takers waiting stores the value in the slot and *reserves*
//!   it for the oldest taker, which is woken; nobody else can take or
//!   overwrite it. When that taker runs it takes the value. If it is
//!   dropped first, the reservation passes to the next taker (or the value
//!   simply stays in the slot for whoever takes next).
//! * `take` with putters waiting moves the oldest putter's value into the
//!   slot at once and wakes it: its `put` has completed.
//!
//! So both directions are FIFO and cancellation never loses a value.

use core::cell::Cell;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::wait_queue::{State, WaitNode, WaitQueue, Wake, Wakeup};

/// A synchronising variable (Lwt_mvar): a slot that is full or empty.
///
/// ```
/// use std::rc::Rc;
/// use shimmer_executor::{block_on, spawn, sync::MVar};
///
/// block_on(async {
///     let mv = Rc::new(MVar::empty());
///     let producer = {
///         let mv = mv.clone();
///         spawn(async move {
///             for i in 0..3 {
///                 mv.put(i).await; // waits while the previous one is unread
///             }
///         })
///     };
///     let mut got = Vec::new();
///     for _ in 0..3 {
///         got.push(mv.take().await);
///     }
///     producer.await.unwrap();
///     assert_eq!(got, [0, 1, 2]);
/// });
/// ```
pub struct MVar<T> {
    slot: Cell<Option<T>>,
    /// The slot's value is promised to a woken taker.
    reserved: Cell<bool>,
    /// Invariant: non-empty only while the slot is empty or reserved.
    takers: WaitQueue,
    /// Each putter's slot holds its value. Invariant: non-empty only while
    /// the slot is full.
    putters: WaitQueue<T>,
}

impl<T> MVar<T> {
    /// A full MVar (Lwt_mvar.create).
    pub fn new(value: T) -> MVar<T> {
        MVar {
            slot: Cell::new(Some(value)),
            reserved: Cell::new(false),
            takers: WaitQueue::new(),
            putters: WaitQueue::new(),
        }
    }

    /// An empty MVar (Lwt_mvar.create_empty).
    pub fn empty() -> MVar<T> {
        MVar {
            slot: Cell::new(None),
            reserved: Cell::new(false),
            takers: WaitQueue::new(),
            putters: WaitQueue::new(),
        }
    }

    /// Puts `value`, waiting while the MVar is full (FIFO among putters).
    ///
    /// Cancel-safe: dropped while waiting, the value is dropped with the
    /// future and the MVar is unchanged; once it completed, the value is in.
    pub fn put(&self, value: T) -> Put<'_, T> {
        Put {
            mvar: self,
            value: Some(value),
            node: None,
        }
    }

    /// Takes the value, waiting while the MVar is empty (FIFO among takers).
    ///
    /// Cancel-safe: a dropped `take` never holds the value (see the module
    /// docs).
    pub fn take(&self) -> Take<'_, T> {
        Take {
            mvar: self,
            node: None,
        }
    }

    /// Puts `value` if the MVar is empty now.
    pub fn try_put(&self, value: T) -> Result<(), TryPutError<T>> {
        if self.is_full() {
            return Err(TryPutError(value));
        }
        let wakeup = self.fill(value);
        if let Some(w) = wakeup {
            w.wake();
        }
        Ok(())
    }

    /// Takes the value if there is one now that no waiting taker is owed
    /// (Lwt_mvar.take_available).
    pub fn try_take(&self) -> Option<T> {
        if self.reserved.get() {
            return None;
        }
        let value = self.slot.take()?;
        self.refill();
        Some(value)
    }

    /// Whether a `take` would wait now (Lwt_mvar.is_empty): nothing in the
    /// slot, or what is there is owed to a waiting taker.
    pub fn is_empty(&self) -> bool {
        self.reserved.get() || !self.is_full()
    }

    /// Tasks waiting in `take`.
    pub fn takers(&self) -> usize {
        self.takers.len()
    }

    /// Tasks waiting in `put`.
    pub fn putters(&self) -> usize {
        self.putters.len()
    }

    /// The value, through a unique borrow.
    pub fn into_inner(self) -> Option<T> {
        self.slot.take()
    }

    fn is_full(&self) -> bool {
        let v = self.slot.take();
        let full = v.is_some();
        self.slot.set(v);
        full
    }

    /// Stores `value` in the empty slot and reserves it for the oldest
    /// taker, if any; returns that taker's wake-up.
    fn fill(&self, value: T) -> Option<Wakeup> {
        debug_assert!(!self.is_full());
        self.slot.set(Some(value));
        let wakeup = self.takers.pop_front(Wake::HandOff);
        self.reserved.set(wakeup.is_some());
        wakeup
    }

    /// After the slot was emptied: moves the oldest putter's value in.
    fn refill(&self) {
        debug_assert!(!self.reserved.get());
        if let Some((putter, value)) = self.putters.pop_front_take(Wake::HandOff) {
            let taker = self.fill(value.expect("a waiting putter holds its value"));
            putter.wake();
            if let Some(taker) = taker {
                taker.wake();
            }
        }
    }

    /// A woken taker gave up its reservation without taking.
    fn pass_on(&self) {
        match self.takers.pop_front(Wake::HandOff) {
            Some(wakeup) => wakeup.wake(),
            None => self.reserved.set(false),
        }
    }
}

impl<T> Default for MVar<T> {
    fn default() -> Self {
        MVar::empty()
    }
}

impl<T> fmt::Debug for MVar<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MVar")
            .field("full", &self.is_full())
            .field("reserved", &self.reserved.get())
            .field("takers", &self.takers.len())
            .field("putters", &self.putters.len())
            .finish()
    }
}

pin_project! {
    /// The future returned by [`MVar::put`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Put<'a, T> {
        mvar: &'a MVar<T>,
        // The value until it has to wait; then it moves into the node,
        // which is made only then.
        value: Option<T>,
        #[pin]
        node: Option<WaitNode<T, &'a WaitQueue<T>>>,
    }

    impl<'a, T> PinnedDrop for Put<'a, T> {
        fn drop(this: Pin<&mut Self>) {
            // Queued: unlink (the value drops with the node). Woken: the
            // value is already in the MVar.
            if let Some(node) = this.project().node.as_pin_mut() {
                node.cancel();
            }
        }
    }
}

impl<T> Future for Put<'_, T> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut this = self.project();
        let mvar = *this.mvar;
        if let Some(value) = this.value.take() {
            if !mvar.is_full() {
                if let Some(taker) = mvar.fill(value) {
                    taker.wake();
                }
                return Poll::Ready(());
            }
            this.node
                .set(Some(WaitNode::with_slot(&mvar.putters, Some(value))));
            this.node
                .as_ref()
                .as_pin_ref()
                .expect("made above")
                .enqueue();
        }
        let node = this
            .node
            .into_ref()
            .as_pin_ref()
            .expect("put polled after it completed");
        match node.poll_wait(cx) {
            Poll::Ready(_) => {
                node.reset();
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> fmt::Debug for Put<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Put").field("node", &self.node).finish()
    }
}

pin_project! {
    /// The future returned by [`MVar::take`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Take<'a, T> {
        mvar: &'a MVar<T>,
        // Made only when the taker has to wait.
        #[pin]
        node: Option<WaitNode<(), &'a WaitQueue>>,
    }

    impl<'a, T> PinnedDrop for Take<'a, T> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(node) = this.node.as_pin_mut() {
                if node.cancel() == State::Woken(Wake::HandOff) {
                    this.mvar.pass_on();
                }
            }
        }
    }
}

impl<T> Future for Take<'_, T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut this = self.project();
        let mvar = *this.mvar;
        if this.node.is_none() {
            if let Some(value) = mvar.try_take() {
                return Poll::Ready(value);
            }
            this.node.set(Some(WaitNode::new(&mvar.takers)));
        }
        let node = this.node.into_ref().as_pin_ref().expect("made above");
        if node.state() == State::Idle {
            if let Some(value) = mvar.try_take() {
                return Poll::Ready(value);
            }
            node.enqueue();
        }
        match node.poll_wait(cx) {
            Poll::Ready(_) => {
                node.reset();
                mvar.reserved.set(false);
                let value = mvar.slot.take().expect("a reserved slot is full");
                mvar.refill();
                Poll::Ready(value)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> fmt::Debug for Take<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Take").field("node", &self.node).finish()
    }
}

/// [`MVar::try_put`] failed because the MVar is full; the value is given
/// back.
#[derive(Clone, PartialEq, Eq)]
pub struct TryPutError<T>(pub T);

impl<T> TryPutError<T> {
    /// The value that was not put.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TryPutError(..)")
    }
}

impl<T> fmt::Display for TryPutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MVar is full")
    }
}

impl<T> core::error::Error for TryPutError<T> {}
