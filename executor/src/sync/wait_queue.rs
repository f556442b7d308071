//! The waiter list every primitive in [`sync`](super) is built on: an
//! intrusive FIFO of waiters that live inside the waiting futures.
//!
//! # Why intrusive
//!
//! A future that has to wait (for a lock, a permit, a value) embeds a
//! [`WaitNode`]. On its first `Pending` poll the node is linked at the back
//! of the primitive's [`WaitQueue`]; the list only points at it. Waiting
//! therefore allocates nothing, whatever the number of waiters, and leaving
//! the queue from anywhere (a cancelled future) is O(1).
//!
//! # The protocol
//!
//! A node is in one of three [`State`]s:
//!
//! ```text
//!            enqueue                 pop_* (by the primitive)
//!   Idle ─────────────▶ Queued ─────────────────────────▶ Woken(kind)
//!    ▲                    │                                   │
//!    └──── cancel ────────┘◀──────── reset / cancel ──────────┘
//! ```
//!
//! * The primitive decides who gets what: it pops the oldest node (FIFO),
//!   marks it `Woken` with a [`Wake`] kind, and may move one value into or
//!   out of the node's slot in the same step — a lock, a permit or an item
//!   is *handed off* to that waiter before the waiter runs, so nobody can
//!   overtake it.
//! * The waiting future sees `Woken` at its next poll and takes what it was
//!   given. If it is dropped first, its `Drop` asks the node what it had:
//!   still `Queued` means "unlink me" ([`WaitNode::cancel`]); `Woken` with a
//!   hand-off means the primitive must pass the grant on to the next waiter.
//!   Nothing is lost either way.
//!
//! # Re-entrancy
//!
//! A waker is foreign code (shimmer's or any other executor's), and so are
//! `T`'s `Drop` and `Clone`. None of them runs while this module holds a
//! reference into the list or into a node: pops move values and the waker
//! *out* and return them, and the caller wakes (or drops) after its own
//! state is consistent again. Registering a waker re-reads the node state
//! afterwards, so a wake that lands during a waker's `clone` is not missed.
//!
//! # Memory safety
//!
//! The list holds raw (`UnsafeRef`) pointers into futures it does not own.
//! That is sound because (1) a node is linked only through `Pin<&WaitNode>`,
//! so it cannot move while linked; (2) a node unlinks itself in `Drop`, and
//! pinning guarantees `Drop` runs before its memory is reused; (3) the node
//! holds a reference (`Q`: a borrow or an `Rc`) to its queue, so the queue
//! outlives every node linked in it; (4) everything is `!Sync`: only one
//! thread ever touches a queue, and no method holds `&mut` to the list while
//! it calls code it does not control.

use core::cell::{Cell, UnsafeCell};
use core::marker::PhantomPinned;
use core::ops::Deref;
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll, Waker};

use intrusive_collections::{intrusive_adapter, LinkedList, LinkedListLink, UnsafeRef};

/// What a woken waiter was woken for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wake {
    /// Something was handed to this waiter alone (a lock, permits, a
    /// reservation, a value, a notification): if it is cancelled before it
    /// takes it, it must be passed on.
    HandOff,
    /// Everyone was woken at once (broadcast, `notify_waiters`): nothing to
    /// pass on.
    All,
    /// The primitive was closed.
    Closed,
}

/// Where a [`WaitNode`] stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Not in the queue and not woken.
    Idle,
    /// Linked in the queue.
    Queued,
    /// Unlinked by the primitive, which gave it something of this kind.
    Woken(Wake),
}

/// The part of a node the list points at.
struct Waiter<T> {
    link: LinkedListLink,
    state: Cell<State>,
    /// Enqueue order, to wake only the waiters present at a broadcast.
    seq: Cell<u64>,
    waker: Cell<Option<Waker>>,
    /// A value going in or out: what a putter puts, what a signal gives.
    slot: Cell<Option<T>>,
    /// The list points here: `!Unpin`, and no `noalias` on `&mut` to a
    /// future holding it.
    _pinned: PhantomPinned,
}

intrusive_adapter!(WaiterAdapter<T> = UnsafeRef<Waiter<T>>: Waiter<T> { link: LinkedListLink });

/// The wake-up of one popped waiter. Call [`Wakeup::wake`] once the
/// primitive's state is consistent (it may run foreign code).
#[must_use = "a popped waiter must be woken"]
pub(crate) struct Wakeup(Option<Waker>);

impl Wakeup {
    /// Wakes the waiter's task (a no-op if it never registered a waker: it
    /// will see its node woken at its first poll).
    #[inline]
    pub(crate) fn wake(self) {
        if let Some(waker) = self.0 {
            waker.wake();
        }
    }
}

/// A FIFO of waiters living in pinned futures. `!Sync`.
pub(crate) struct WaitQueue<T = ()> {
    list: UnsafeCell<LinkedList<WaiterAdapter<T>>>,
    len: Cell<usize>,
    next_seq: Cell<u64>,
}

impl<T> Default for WaitQueue<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> WaitQueue<T> {
    pub(crate) fn new() -> Self {
        WaitQueue {
            list: UnsafeCell::new(LinkedList::new(WaiterAdapter::NEW)),
            len: Cell::new(0),
            next_seq: Cell::new(0),
        }
    }

    /// Runs `f` on the list. `f` must not call code this module does not
    /// control (no waker, no `T::drop`/`clone`) and must not re-enter.
    #[inline]
    fn with_list<R>(&self, f: impl FnOnce(&mut LinkedList<WaiterAdapter<T>>) -> R) -> R {
        // SAFETY: the queue is `!Sync`, so this thread is the only one here;
        // every caller passes an `f` that runs only list code from this
        // module, which never calls back in, so this is the only reference
        // to the list while `f` runs.
        f(unsafe { &mut *self.list.get() })
    }

    /// No waiter is queued.
    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len.get() == 0
    }

    /// Waiters queued.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len.get()
    }

    /// A mark: the waiters queued now, and no later one, are "before" it.
    #[inline]
    pub(crate) fn mark(&self) -> u64 {
        self.next_seq.get()
    }

    /// A copy of the oldest waiter's slot (`None` if the queue is empty or
    /// the slot is).
    pub(crate) fn front_slot(&self) -> Option<T>
    where
        T: Copy,
    {
        self.with_list(|list| list.front().get().and_then(|w| w.slot.get()))
    }

    /// Pops the oldest waiter queued before `before`, marks it
    /// `Woken(wake)`, puts `give` in its slot and takes what was there if
    /// `take`. `Err(give)` if there is no such waiter.
    fn pop(
        &self,
        before: u64,
        wake: Wake,
        give: Option<T>,
        take: bool,
    ) -> Result<(Wakeup, Option<T>), Option<T>> {
        let popped = self.with_list(|list| {
            let front = list.front().get()?;
            if front.seq.get() >= before {
                return None;
            }
            list.pop_front()
        });
        let Some(waiter) = popped else {
            return Err(give);
        };
        self.len.set(self.len.get() - 1);
        // Only moves below: no foreign code runs while we hold `waiter`,
        // so its future cannot be dropped under us.
        waiter.state.set(State::Woken(wake));
        let taken = if take { waiter.slot.take() } else { None };
        let old = match give {
            Some(v) => waiter.slot.replace(Some(v)),
            None => None,
        };
        let waker = waiter.waker.take();
        // A slot that was full when given to can only be a primitive bug;
        // the value is dropped by our caller's caller, outside, either way.
        debug_assert!(old.is_none(), "gave to a waiter whose slot was full");
        let taken = taken.or(old);
        Ok((Wakeup(waker), taken))
    }

    /// Pops the oldest waiter and marks it `Woken(wake)`.
    #[inline]
    pub(crate) fn pop_front(&self, wake: Wake) -> Option<Wakeup> {
        self.pop(u64::MAX, wake, None, false).ok().map(|(w, _)| w)
    }

    /// Pops the oldest waiter, marks it `Woken(wake)` and takes the value
    /// in its slot.
    #[inline]
    pub(crate) fn pop_front_take(&self, wake: Wake) -> Option<(Wakeup, Option<T>)> {
        self.pop(u64::MAX, wake, None, true).ok()
    }

    /// Pops the oldest waiter queued before `before`, marks it
    /// `Woken(wake)` and gives it `value`; `Err(value)` if there is none.
    #[inline]
    pub(crate) fn pop_front_give(&self, before: u64, wake: Wake, value: T) -> Result<Wakeup, T> {
        match self.pop(before, wake, Some(value), false) {
            Ok((w, _)) => Ok(w),
            Err(v) => Err(v.expect("the value comes back")),
        }
    }

    /// Wakes every waiter queued now (not those that queue while this
    /// runs) with `wake`, oldest first; returns how many. Slots are left as
    /// they are.
    pub(crate) fn wake_all(&self, wake: Wake) -> usize {
        let before = self.mark();
        let mut n = 0;
        while let Ok((w, _)) = self.pop(before, wake, None, false) {
            n += 1;
            w.wake();
        }
        n
    }
}

// SAFETY: the list's raw pointers are what make the queue `!Send` by
// default. Moving a queue to another thread needs it by value (it is
// `!Sync`, so no `&WaitQueue` crosses threads), and by value means nothing
// borrows it — and every linked node holds a borrow of its queue, or an
// `Rc` of its owner (itself `!Send`). So a queue that can be sent has no
// node linked, and only the `T`s it may hand out go with it.
unsafe impl<T: Send> Send for WaitQueue<T> {}

impl<T> Drop for WaitQueue<T> {
    fn drop(&mut self) {
        // Every node borrows or owns its queue, so none can be linked here.
        debug_assert!(self.is_empty(), "wait queue dropped with waiters");
    }
}

/// A waiter's node, embedded in a future; `Q` is how it reaches its queue
/// (`&WaitQueue<T>`, or an owning handle for a node that lives in a
/// `Box` next to an `Rc` of its primitive). `!Unpin`.
pub(crate) struct WaitNode<T, Q: Deref<Target = WaitQueue<T>>> {
    queue: Q,
    waiter: Waiter<T>,
}

impl<T, Q: Deref<Target = WaitQueue<T>>> WaitNode<T, Q> {
    /// An idle node for `queue`, its slot empty.
    #[inline]
    pub(crate) fn new(queue: Q) -> Self {
        Self::with_slot(queue, None)
    }

    /// An idle node for `queue` with `slot` in its slot.
    #[inline]
    pub(crate) fn with_slot(queue: Q, slot: Option<T>) -> Self {
        WaitNode {
            queue,
            waiter: Waiter {
                link: LinkedListLink::new(),
                state: Cell::new(State::Idle),
                seq: Cell::new(0),
                waker: Cell::new(None),
                slot: Cell::new(slot),
                _pinned: PhantomPinned,
            },
        }
    }

    #[inline]
    pub(crate) fn state(&self) -> State {
        self.waiter.state.get()
    }

    /// Links the node at the back of its queue.
    ///
    /// # Panics
    /// If the node is not `Idle`.
    pub(crate) fn enqueue(self: Pin<&Self>) {
        let this = self.get_ref();
        assert_eq!(this.state(), State::Idle, "enqueue of a busy wait node");
        let queue: &WaitQueue<T> = &this.queue;
        let seq = queue.next_seq.get();
        queue.next_seq.set(seq + 1);
        this.waiter.seq.set(seq);
        this.waiter.state.set(State::Queued);
        // SAFETY: the waiter is pinned (we hold `Pin<&Self>` and it is a
        // structural field), so it stays at this address until it is
        // dropped; `WaitNode::drop` unlinks it before that. The queue
        // outlives the node (`Q` borrows or owns it). It is not linked
        // anywhere (state was `Idle`, and `Idle` nodes are unlinked).
        let ptr = unsafe { UnsafeRef::from_raw(NonNull::from(&this.waiter).as_ptr()) };
        queue.with_list(|list| list.push_back(ptr));
        queue.len.set(queue.len.get() + 1);
    }

    /// Stores a clone of `waker` (unless the stored one wakes the same
    /// task).
    #[inline]
    fn set_waker(&self, waker: &Waker) {
        match self.waiter.waker.take() {
            Some(old) if old.will_wake(waker) => self.waiter.waker.set(Some(old)),
            old => {
                // `clone` and `drop` of a waker are foreign code: nothing of
                // ours is borrowed here, and the caller re-reads the state.
                self.waiter.waker.set(Some(waker.clone()));
                drop(old);
            }
        }
    }

    /// For a `Queued` or `Woken` node: `Ready(kind)` once woken, else
    /// registers `cx`'s waker and returns `Pending`.
    #[inline]
    pub(crate) fn poll_wait(&self, cx: &mut Context<'_>) -> Poll<Wake> {
        if let State::Woken(wake) = self.state() {
            return Poll::Ready(wake);
        }
        debug_assert_eq!(self.state(), State::Queued, "poll_wait on an idle node");
        self.set_waker(cx.waker());
        // A wake may have come in while the waker was being cloned.
        match self.state() {
            State::Woken(wake) => Poll::Ready(wake),
            _ => Poll::Pending,
        }
    }

    /// Leaves the queue if queued; the node becomes `Idle`. Returns the
    /// state it had, so that a `Woken(HandOff)` can be passed on.
    #[inline]
    pub(crate) fn cancel(&self) -> State {
        let state = self.state();
        if state == State::Queued {
            self.unlink();
        }
        self.waiter.state.set(State::Idle);
        state
    }

    /// Marks an idle node woken without queueing it (a grant taken at the
    /// first poll, before any waiting).
    #[inline]
    pub(crate) fn set_woken(&self, wake: Wake) {
        debug_assert_eq!(self.state(), State::Idle);
        self.waiter.state.set(State::Woken(wake));
    }

    /// Back to `Idle` after its wake was consumed.
    ///
    /// # Panics
    /// (debug) if still queued.
    #[inline]
    pub(crate) fn reset(&self) {
        debug_assert_ne!(self.state(), State::Queued, "reset of a queued node");
        self.waiter.state.set(State::Idle);
    }

    /// Takes the value in the node's slot.
    #[inline]
    pub(crate) fn take_slot(&self) -> Option<T> {
        self.waiter.slot.take()
    }

    /// Out of line: leaving the queue early is the uncommon path, and
    /// keeping it out of every future's drop glue lets that glue inline.
    #[cold]
    #[inline(never)]
    fn unlink(&self) {
        let queue: &WaitQueue<T> = &self.queue;
        let ptr: *const Waiter<T> = &self.waiter;
        queue.with_list(|list| {
            // SAFETY: the waiter is linked (state `Queued`), and only ever
            // in `queue`'s list: `enqueue` is the only way in.
            let mut cursor = unsafe { list.cursor_mut_from_ptr(ptr) };
            cursor.remove();
        });
        queue.len.set(queue.len.get() - 1);
    }
}

impl<T, Q: Deref<Target = WaitQueue<T>>> Drop for WaitNode<T, Q> {
    #[inline]
    fn drop(&mut self) {
        // The owning future normally cancels first; this is the backstop
        // that keeps the list from pointing at freed memory.
        if self.state() == State::Queued {
            self.unlink();
        }
    }
}

impl<T, Q: Deref<Target = WaitQueue<T>>> core::fmt::Debug for WaitNode<T, Q> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("WaitNode")
            .field("state", &self.state())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::sync::Arc;
    use core::pin::pin;

    struct Count(core::sync::atomic::AtomicUsize);
    impl alloc::task::Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        }
    }

    #[test]
    fn fifo_and_cancel() {
        let q: WaitQueue<u32> = WaitQueue::new();
        let a = pin!(WaitNode::new(&q));
        let b = pin!(WaitNode::with_slot(&q, Some(7)));
        let c = pin!(WaitNode::new(&q));
        a.as_ref().enqueue();
        b.as_ref().enqueue();
        c.as_ref().enqueue();
        assert_eq!(q.len(), 3);
        assert_eq!(a.cancel(), State::Queued);
        assert_eq!(q.len(), 2);
        let (_w, v) = q.pop_front_take(Wake::HandOff).unwrap();
        assert_eq!(v, Some(7));
        assert_eq!(b.state(), State::Woken(Wake::HandOff));
        assert!(q.pop_front_give(u64::MAX, Wake::All, 3).is_ok());
        assert_eq!(c.take_slot(), Some(3));
        assert!(q.is_empty());
        assert_eq!(q.pop_front_give(u64::MAX, Wake::All, 4).err(), Some(4));
    }

    #[test]
    fn wake_all_stops_at_mark_and_wakes() {
        let q: WaitQueue = WaitQueue::new();
        let count = Arc::new(Count(Default::default()));
        let waker = Waker::from(count.clone());
        let mut cx = Context::from_waker(&waker);
        let a = pin!(WaitNode::new(&q));
        a.as_ref().enqueue();
        assert!(a.poll_wait(&mut cx).is_pending());
        let mark = q.mark();
        let b = pin!(WaitNode::new(&q));
        b.as_ref().enqueue();
        let (w, _) = q.pop(mark, Wake::All, None, false).ok().unwrap();
        w.wake();
        assert_eq!(count.0.load(core::sync::atomic::Ordering::Relaxed), 1);
        assert!(q.pop(mark, Wake::All, None, false).is_err());
        assert_eq!(b.state(), State::Queued);
        assert_eq!(q.wake_all(Wake::Closed), 1);
        assert_eq!(b.state(), State::Woken(Wake::Closed));
    }
}
