//! `oneshot`: one value, sent once — Lwt's `Lwt.wait ()` / `Lwt.wakeup`.
//!
//! [`channel`] returns the two ends (Lwt's `(promise, resolver)` pair): the
//! [`Receiver`] is a future of the value, the [`Sender`] resolves it. There
//! is exactly one waiter, so the shared state is one `Rc` with a value cell
//! and a waker per side: creating a channel is one allocation, waiting is
//! none. Dropping the sender without sending resolves the receiver with
//! [`RecvError`] (Lwt would leave the promise pending forever); dropping the
//! receiver is visible to the sender ([`Sender::is_closed`],
//! [`Sender::closed`]), which is how a cancelled request tells its server
//! to stop.

use alloc::rc::Rc;
use core::cell::Cell;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

/// A fresh oneshot channel (Lwt.wait).
///
/// ```
/// use shimmer_executor::{block_on, spawn, sync::oneshot};
///
/// block_on(async {
///     let (tx, rx) = oneshot::channel();
///     spawn(async move {
///         tx.send(42).unwrap(); // Lwt.wakeup
///     });
///     assert_eq!(rx.await, Ok(42));
///
///     let (tx, rx) = oneshot::channel::<u32>();
///     drop(tx);
///     assert_eq!(rx.await, Err(oneshot::RecvError));
/// });
/// ```
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let inner = Rc::new(Inner {
        value: Cell::new(None),
        sent: Cell::new(false),
        tx_gone: Cell::new(false),
        rx_gone: Cell::new(false),
        rx_waker: Cell::new(None),
        tx_waker: Cell::new(None),
    });
    (
        Sender {
            inner: inner.clone(),
        },
        Receiver { inner },
    )
}

struct Inner<T> {
    value: Cell<Option<T>>,
    sent: Cell<bool>,
    tx_gone: Cell<bool>,
    rx_gone: Cell<bool>,
    rx_waker: Cell<Option<Waker>>,
    tx_waker: Cell<Option<Waker>>,
}

/// Stores a clone of `waker` in `cell` unless the stored one wakes the same
/// task.
fn register(cell: &Cell<Option<Waker>>, waker: &Waker) {
    match cell.take() {
        Some(old) if old.will_wake(waker) => cell.set(Some(old)),
        old => {
            cell.set(Some(waker.clone()));
            drop(old);
        }
    }
}

fn wake(cell: &Cell<Option<Waker>>) {
    if let Some(waker) = cell.take() {
        waker.wake();
    }
}

/// The sending end (Lwt's resolver, `Lwt.u`). `!Send`.
pub struct Sender<T> {
    inner: Rc<Inner<T>>,
}

impl<T> Sender<T> {
    /// Sends `value` (Lwt.wakeup). Gives it back if the receiver is gone.
    pub fn send(self, value: T) -> Result<(), T> {
        if self.inner.rx_gone.get() {
            return Err(value);
        }
        self.inner.value.set(Some(value));
        self.inner.sent.set(true);
        wake(&self.inner.rx_waker);
        Ok(())
    }

    /// Whether the receiver was dropped or closed: sending would fail.
    pub fn is_closed(&self) -> bool {
        self.inner.rx_gone.get()
    }

    /// Waits until the receiver is dropped or closed.
    pub fn closed(&mut self) -> Closed<'_, T> {
        Closed { sender: self }
    }

    /// `Ready` once the receiver is gone; otherwise registers the waker.
    pub fn poll_closed(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        if self.inner.rx_gone.get() {
            return Poll::Ready(());
        }
        register(&self.inner.tx_waker, cx.waker());
        if self.inner.rx_gone.get() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        self.inner.tx_gone.set(true);
        wake(&self.inner.rx_waker);
        // Drop our waker now rather than with the last `Rc`.
        drop(self.inner.tx_waker.take());
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The future returned by [`Sender::closed`].
#[must_use = "futures do nothing unless polled"]
pub struct Closed<'a, T> {
    sender: &'a mut Sender<T>,
}

impl<T> Future for Closed<'_, T> {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.sender.poll_closed(cx)
    }
}

impl<T> fmt::Debug for Closed<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Closed").finish_non_exhaustive()
    }
}

/// The receiving end (Lwt's promise): a future of the value. `!Send`.
///
/// Resolves to `Err(RecvError)` if the sender is dropped without sending.
pub struct Receiver<T> {
    inner: Rc<Inner<T>>,
}

impl<T> Receiver<T> {
    /// Takes the value if it was sent.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.inner.value.take() {
            Some(value) => Ok(value),
            None if self.inner.sent.get() || self.inner.tx_gone.get() => Err(TryRecvError::Closed),
            None => Err(TryRecvError::Empty),
        }
    }

    /// Refuses the value: a later `send` fails and gives it back. A value
    /// sent before this stays receivable.
    pub fn close(&mut self) {
        if !self.inner.rx_gone.replace(true) {
            wake(&self.inner.tx_waker);
        }
    }
}

impl<T> Future for Receiver<T> {
    type Output = Result<T, RecvError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &self.inner;
        if let Some(value) = inner.value.take() {
            return Poll::Ready(Ok(value));
        }
        if inner.sent.get() || inner.tx_gone.get() {
            return Poll::Ready(Err(RecvError));
        }
        register(&inner.rx_waker, cx.waker());
        // A send may have happened while the waker was being cloned.
        match inner.value.take() {
            Some(value) => Poll::Ready(Ok(value)),
            None if inner.tx_gone.get() => Poll::Ready(Err(RecvError)),
            None => Poll::Pending,
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.close();
        drop(self.inner.rx_waker.take());
        // A sent, never received value is dropped here, not with the
        // sender's `Rc`.
        drop(self.inner.value.take());
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("sent", &self.inner.sent.get())
            .finish()
    }
}

/// The sender was dropped without sending (or the value was already
/// received).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvError;

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("oneshot sender dropped without sending")
    }
}

impl core::error::Error for RecvError {}

/// Why [`Receiver::try_recv`] returned no value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TryRecvError {
    /// Nothing sent yet.
    Empty,
    /// The sender is gone without sending, or the value was taken.
    Closed,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("oneshot value not sent yet"),
            TryRecvError::Closed => f.write_str("oneshot sender dropped without sending"),
        }
    }
}

impl core::error::Error for TryRecvError {}
