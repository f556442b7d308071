//! `channel`: bounded and unbounded multi-producer multi-consumer FIFO
//! channels — Lwt_stream with a push side, and a `futures_core::Stream`.
//!
//! # Layout
//!
//! One `Rc` holds a `VecDeque` buffer (its capacity reserved up front for
//! small bounded channels, grown and then kept for the others), two wait
//! queues (receivers waiting for a value, senders waiting for room) and a
//! few counters. Sending and receiving without waiting touch only those:
//! no atomics, no allocation once the buffer has grown.
//!
//! # Hand-off without losing values
//!
//! As in [`MVar`](super::MVar), a value is always either in the buffer or
//! still inside the `Send` future that waits to send it:
//!
//! * a send that finds receivers waiting pushes the value and *reserves*
//!   one buffered value for the oldest receiver, which is woken. Other
//!   receivers see only unreserved values, so the woken one cannot be
//!   overtaken; if it is dropped before receiving, the reservation moves to
//!   the next waiting receiver (or lapses).
//! * a receive that frees room while senders wait moves the oldest waiting
//!   sender's value into the buffer at once, and wakes it: its send is
//!   done. So a full channel stays full, and senders keep their order.
//!
//! # Closing
//!
//! [`Sender::close`] or [`Receiver::close`] (or dropping every sender, or
//! every receiver) closes the channel: sends fail with [`SendError`], which
//! gives the value back, including to senders that were waiting; receivers
//! drain what is buffered, then get `None` (the stream ends). Dropping every
//! receiver also drops the buffered values.

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::rc::Rc;
use core::cell::{Cell, RefCell};
use core::fmt;
use core::future::Future;
use core::ops::Deref;
use core::pin::Pin;
use core::task::{Context, Poll};

use futures_core::Stream;
use pin_project_lite::pin_project;

use super::wait_queue::{State, WaitNode, WaitQueue, Wake, Wakeup};

/// Capacity reserved at creation for a bounded channel (at most its bound).
const PREALLOCATE: usize = 1024;

/// A channel that holds at most `capacity` values; `send` waits while it
/// is full.
///
/// # Panics
/// If `capacity` is 0 (use [`oneshot`](super::oneshot) or an
/// [`MVar`](super::MVar) for a rendezvous).
///
/// ```
/// use shimmer_executor::{block_on, spawn, sync::channel};
///
/// block_on(async {
///     let (tx, mut rx) = channel::bounded(2);
///     let producer = spawn(async move {
///         for i in 0..5 {
///             tx.send(i).await.unwrap(); // waits while 2 are unread
///         }
///         // `tx` is dropped here: the channel closes.
///     });
///     let mut got = Vec::new();
///     while let Some(v) = rx.recv().await {
///         got.push(v);
///     }
///     producer.await.unwrap();
///     assert_eq!(got, [0, 1, 2, 3, 4]);
/// });
/// ```
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    assert!(
        capacity > 0,
        "a bounded channel needs a capacity of at least 1"
    );
    new(capacity, VecDeque::with_capacity(capacity.min(PREALLOCATE)))
}

/// A channel with no bound: `send` never waits.
///
/// ```
/// use futures_core::Stream;
/// use shimmer_executor::{block_on, sync::channel};
///
/// block_on(async {
///     let (tx, mut rx) = channel::unbounded();
///     tx.try_send("a").unwrap();
///     tx.try_send("b").unwrap();
///     drop(tx);
///     // A Receiver is a `Stream`; `recv` is the same without a combinator crate.
///     let mut all = Vec::new();
///     while let Some(v) = std::future::poll_fn(|cx| std::pin::Pin::new(&mut rx).poll_next(cx)).await {
///         all.push(v);
///     }
///     assert_eq!(all, ["a", "b"]);
/// });
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    new(usize::MAX, VecDeque::new())
}

fn new<T>(capacity: usize, buf: VecDeque<T>) -> (Sender<T>, Receiver<T>) {
    let chan = Rc::new(Chan {
        buf: RefCell::new(buf),
        capacity,
        reserved: Cell::new(0),
        closed: Cell::new(false),
        senders: Cell::new(1),
        receivers: Cell::new(1),
        recv_waiters: WaitQueue::new(),
        send_waiters: WaitQueue::new(),
    });
    (
        Sender { chan: chan.clone() },
        Receiver { chan, stream: None },
    )
}

struct Chan<T> {
    buf: RefCell<VecDeque<T>>,
    capacity: usize,
    /// Buffered values promised to woken receivers. `<= buf.len()`.
    /// Invariant: `recv_waiters` non-empty ⇒ `buf.len() == reserved`.
    reserved: Cell<usize>,
    closed: Cell<bool>,
    senders: Cell<usize>,
    receivers: Cell<usize>,
    recv_waiters: WaitQueue,
    /// Each waiter's slot holds its value. Invariant: non-empty ⇒ the
    /// buffer is full and the channel open.
    send_waiters: WaitQueue<T>,
}

impl<T> Chan<T> {
    #[inline]
    fn len(&self) -> usize {
        self.buf.borrow().len()
    }

    /// Pushes into a buffer with room; reserves it for the oldest waiting
    /// receiver, whose wake-up is returned.
    #[inline]
    fn push(&self, value: T) -> Option<Wakeup> {
        self.buf.borrow_mut().push_back(value);
        if self.recv_waiters.is_empty() {
            return None;
        }
        let wakeup = self.recv_waiters.pop_front(Wake::HandOff);
        self.reserved.set(self.reserved.get() + 1);
        wakeup
    }

    /// Pops an unreserved value (or, with `reserved`, the caller's own
    /// reserved one) and refills from a waiting sender.
    #[inline]
    fn pop(&self, reserved: bool) -> Option<T> {
        let value = {
            let mut buf = self.buf.borrow_mut();
            if reserved {
                self.reserved.set(self.reserved.get() - 1);
            } else if buf.len() <= self.reserved.get() {
                return None;
            }
            buf.pop_front()
        };
        debug_assert!(value.is_some(), "a reservation without a value");
        if !self.send_waiters.is_empty() {
            self.refill();
        }
        value
    }

    /// Room was made: moves the oldest waiting sender's value in.
    fn refill(&self) {
        if let Some((sender, value)) = self.send_waiters.pop_front_take(Wake::HandOff) {
            let receiver = self.push(value.expect("a waiting sender holds its value"));
            sender.wake();
            if let Some(receiver) = receiver {
                receiver.wake();
            }
        }
    }

    /// A woken receiver gave up its reservation without receiving.
    fn pass_on(&self) {
        match self.recv_waiters.pop_front(Wake::HandOff) {
            Some(wakeup) => wakeup.wake(),
            None => self.reserved.set(self.reserved.get() - 1),
        }
    }

    fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        self.send_waiters.wake_all(Wake::Closed);
        self.recv_waiters.wake_all(Wake::Closed);
    }

    fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        if self.closed.get() {
            Err(TrySendError::Closed(value))
        } else if self.len() >= self.capacity {
            Err(TrySendError::Full(value))
        } else {
            if let Some(receiver) = self.push(value) {
                receiver.wake();
            }
            Ok(())
        }
    }

    fn try_recv(&self) -> Result<T, TryRecvError> {
        match self.pop(false) {
            Some(value) => Ok(value),
            None if self.closed.get() => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }
}

// ===== Sender =====

/// The sending half; clone it for more producers. `!Send`.
///
/// The channel closes when the last sender is dropped.
pub struct Sender<T> {
    chan: Rc<Chan<T>>,
}

impl<T> Sender<T> {
    /// Sends `value`, waiting while a bounded channel is full (senders are
    /// served in FIFO order). Fails, giving the value back, if the channel
    /// is or gets closed.
    ///
    /// Cancel-safe: dropped while waiting, the value is dropped with the
    /// future and nothing was sent; once it completed, the value is in.
    pub fn send(&self, value: T) -> SendFuture<'_, T> {
        SendFuture {
            chan: &self.chan,
            value: Some(value),
            node: None,
        }
    }

    /// Sends `value` if there is room now.
    pub fn try_send(&self, value: T) -> Result<(), TrySendError<T>> {
        self.chan.try_send(value)
    }

    /// Closes the channel for everyone (Lwt_stream's `push None`).
    pub fn close(&self) {
        self.chan.close();
    }

    /// Whether the channel is closed.
    pub fn is_closed(&self) -> bool {
        self.chan.closed.get()
    }

    /// Values buffered now.
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// No value is buffered now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bound (`None` for an unbounded channel).
    pub fn capacity(&self) -> Option<usize> {
        (self.chan.capacity != usize::MAX).then_some(self.chan.capacity)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.chan.senders.set(self.chan.senders.get() + 1);
        Sender {
            chan: self.chan.clone(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let n = self.chan.senders.get() - 1;
        self.chan.senders.set(n);
        if n == 0 {
            self.chan.close();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

pin_project! {
    /// The future returned by [`Sender::send`].
    #[must_use = "futures do nothing unless polled"]
    pub struct SendFuture<'a, T> {
        chan: &'a Chan<T>,
        // The value until it has to wait; then it moves into the node,
        // which is made only then.
        value: Option<T>,
        #[pin]
        node: Option<WaitNode<T, &'a WaitQueue<T>>>,
    }

    impl<'a, T> PinnedDrop for SendFuture<'a, T> {
        fn drop(this: Pin<&mut Self>) {
            // Queued: unlink, the value drops with the node. Woken: sent,
            // or closed and the value drops with the node.
            if let Some(node) = this.project().node.as_pin_mut() {
                node.cancel();
            }
        }
    }
}

impl<T> Future for SendFuture<'_, T> {
    type Output = Result<(), SendError<T>>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        let chan = *this.chan;
        if let Some(value) = this.value.take() {
            if chan.closed.get() {
                return Poll::Ready(Err(SendError(value)));
            }
            if chan.len() < chan.capacity {
                if let Some(receiver) = chan.push(value) {
                    receiver.wake();
                }
                return Poll::Ready(Ok(()));
            }
            // Full: the value waits in the node, not in the buffer.
            this.node
                .set(Some(WaitNode::with_slot(&chan.send_waiters, Some(value))));
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
            .expect("send polled after it completed");
        match node.poll_wait(cx) {
            Poll::Ready(Wake::Closed) => {
                node.reset();
                let value = node.take_slot().expect("a closed sender keeps its value");
                Poll::Ready(Err(SendError(value)))
            }
            Poll::Ready(_) => {
                node.reset();
                Poll::Ready(Ok(()))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> fmt::Debug for SendFuture<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendFuture")
            .field("node", &self.node)
            .finish()
    }
}

// ===== Receiver =====

/// The receiving half; clone it for more consumers (each value goes to one
/// of them). Implements [`Stream`]. `!Send`.
pub struct Receiver<T> {
    chan: Rc<Chan<T>>,
    /// The node `poll_next` waits with, boxed (once, on the first wait) so
    /// that the receiver stays `Unpin`.
    stream: Option<StreamNode<T>>,
}

/// The boxed node of a receiver's `Stream` side.
type StreamNode<T> = Pin<Box<WaitNode<(), RecvQueue<T>>>>;

/// How the stream node reaches its queue: it owns an `Rc` of the channel.
struct RecvQueue<T>(Rc<Chan<T>>);

impl<T> Deref for RecvQueue<T> {
    type Target = WaitQueue;
    fn deref(&self) -> &WaitQueue {
        &self.0.recv_waiters
    }
}

impl<T> Receiver<T> {
    /// Receives the next value, waiting while the channel is empty
    /// (receivers are served in FIFO order). `None` once the channel is
    /// closed and drained.
    ///
    /// Cancel-safe: a dropped `recv` never holds a value.
    pub fn recv(&self) -> Recv<'_, T> {
        Recv {
            chan: &self.chan,
            node: None,
        }
    }

    /// Receives a value if one is available now.
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.chan.try_recv()
    }

    /// Takes every value available now, without waiting (Lwt_stream's
    /// `get_available`); values from senders waiting for room come too.
    pub fn drain(&self) -> Drain<'_, T> {
        Drain { chan: &self.chan }
    }

    /// Closes the channel for everyone; what is buffered can still be
    /// received.
    pub fn close(&self) {
        self.chan.close();
    }

    /// Whether the channel is closed (values may still be buffered).
    pub fn is_closed(&self) -> bool {
        self.chan.closed.get()
    }

    /// Values buffered now.
    pub fn len(&self) -> usize {
        self.chan.len()
    }

    /// No value is buffered now.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bound (`None` for an unbounded channel).
    pub fn capacity(&self) -> Option<usize> {
        (self.chan.capacity != usize::MAX).then_some(self.chan.capacity)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.chan.receivers.set(self.chan.receivers.get() + 1);
        Receiver {
            chan: self.chan.clone(),
            stream: None,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        if let Some(node) = self.stream.take() {
            if node.cancel() == State::Woken(Wake::HandOff) {
                self.chan.pass_on();
            }
        }
        let n = self.chan.receivers.get() - 1;
        self.chan.receivers.set(n);
        if n == 0 {
            self.chan.close();
            // Nobody can receive them: drop the values now, outside the
            // borrow (their `Drop` may use the channel).
            let values = core::mem::take(&mut *self.chan.buf.borrow_mut());
            self.chan.reserved.set(0);
            drop(values);
        }
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        let chan = &this.chan;
        let node = match &this.stream {
            Some(node) => node.as_ref(),
            None => {
                if let Some(value) = chan.pop(false) {
                    return Poll::Ready(Some(value));
                }
                if chan.closed.get() {
                    return Poll::Ready(None);
                }
                this.stream
                    .insert(Box::pin(WaitNode::new(RecvQueue(chan.clone()))))
                    .as_ref()
            }
        };
        if node.state() == State::Idle {
            if let Some(value) = chan.pop(false) {
                return Poll::Ready(Some(value));
            }
            if chan.closed.get() {
                return Poll::Ready(None);
            }
            node.enqueue();
        }
        match node.poll_wait(cx) {
            Poll::Ready(Wake::HandOff) => {
                node.reset();
                Poll::Ready(chan.pop(true))
            }
            Poll::Ready(_) => {
                node.reset();
                Poll::Ready(chan.pop(false))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (
            self.chan.len().saturating_sub(self.chan.reserved.get()),
            None,
        )
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

pin_project! {
    /// The future returned by [`Receiver::recv`].
    #[must_use = "futures do nothing unless polled"]
    pub struct Recv<'a, T> {
        chan: &'a Chan<T>,
        // Made only when the receiver has to wait.
        #[pin]
        node: Option<WaitNode<(), &'a WaitQueue>>,
    }

    impl<'a, T> PinnedDrop for Recv<'a, T> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if let Some(node) = this.node.as_pin_mut() {
                if node.cancel() == State::Woken(Wake::HandOff) {
                    this.chan.pass_on();
                }
            }
        }
    }
}

impl<T> Future for Recv<'_, T> {
    type Output = Option<T>;

    #[inline]
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let mut this = self.project();
        let chan = *this.chan;
        if this.node.is_none() {
            if let Some(value) = chan.pop(false) {
                return Poll::Ready(Some(value));
            }
            if chan.closed.get() {
                return Poll::Ready(None);
            }
            this.node.set(Some(WaitNode::new(&chan.recv_waiters)));
        }
        let node = this.node.into_ref().as_pin_ref().expect("made above");
        if node.state() == State::Idle {
            if let Some(value) = chan.pop(false) {
                return Poll::Ready(Some(value));
            }
            if chan.closed.get() {
                return Poll::Ready(None);
            }
            node.enqueue();
        }
        match node.poll_wait(cx) {
            Poll::Ready(Wake::HandOff) => {
                node.reset();
                Poll::Ready(chan.pop(true))
            }
            Poll::Ready(_) => {
                node.reset();
                Poll::Ready(chan.pop(false))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> fmt::Debug for Recv<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recv").field("node", &self.node).finish()
    }
}

/// The iterator returned by [`Receiver::drain`].
pub struct Drain<'a, T> {
    chan: &'a Chan<T>,
}

impl<T> Iterator for Drain<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.chan.pop(false)
    }
}

impl<T> fmt::Debug for Drain<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Drain").finish_non_exhaustive()
    }
}

// ===== errors =====

/// The channel is closed; the value that was not sent is given back.
#[derive(Clone, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("channel closed")
    }
}

impl<T> core::error::Error for SendError<T> {}

/// Why [`Sender::try_send`] failed; the value is given back.
#[derive(Clone, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The channel is full.
    Full(T),
    /// The channel is closed.
    Closed(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Closed(v) => v,
        }
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("channel full"),
            TrySendError::Closed(_) => f.write_str("channel closed"),
        }
    }
}

impl<T> core::error::Error for TrySendError<T> {}

/// Why [`Receiver::try_recv`] returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing available now.
    Empty,
    /// Closed and drained.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("channel empty"),
            TryRecvError::Closed => f.write_str("channel closed"),
        }
    }
}

impl core::error::Error for TryRecvError {}
