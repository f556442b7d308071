//! The executor's cross-thread half: the remote wake queue and the unparker.
//!
//! A wake that cannot take the local fast path (another thread, another
//! executor's context, no executor at all) pushes the task here and unparks
//! the executor. The queue is a lock-free intrusive stack (push = one CAS,
//! the executor takes everything with one swap and reverses it to FIFO
//! order); each queued task carries one counted reference owned by the queue
//! and its `REMOTE_QUEUED` flag, so a task is queued at most once.
//!
//! `Shared` outlives the executor while any task block points at it: its
//! block count is biased like a task's reference count (the executor holds
//! [`SHARED_BIAS`] and counts the blocks it frees itself in a `Cell`), so a
//! spawn or a free on the executor's thread costs no atomic operation.
//!
//! Shutdown: the executor sets `closed` and drains the queue. A remote waker
//! that pushes concurrently checks `closed` after its push and drains the
//! queue itself if it is set — between a `SeqCst` fence on each side, one of
//! the two always sees the other's write, so no task reference is left in a
//! queue nobody will ever read.

use alloc::boxed::Box;
use core::ptr::{self, NonNull};

use crate::loom::{fence, AtomicBool, AtomicPtr, AtomicUsize, Ordering};
use crate::park::Unpark;
use crate::task::header::{Header, TaskRef};

/// The executor's claim on `Shared::blocks`.
pub(crate) const SHARED_BIAS: usize = 1 << 62;

pub(crate) struct Shared {
    head: AtomicPtr<Header>,
    /// An unpark is pending that the executor has not yet consumed.
    notified: AtomicBool,
    /// The executor is gone or going.
    closed: AtomicBool,
    /// Biased count of the task blocks that point here (see module doc).
    blocks: AtomicUsize,
    unparker: Box<dyn Unpark>,
    /// The executor's core: only for the owner thread, and only while the
    /// executor is alive (see [`Shared::core`]). Set once, after the core is
    /// built.
    core: core::cell::Cell<*const crate::executor::Core>,
}

impl Shared {
    pub(crate) fn new(unparker: Box<dyn Unpark>) -> NonNull<Shared> {
        crate::loom::alloc(Shared {
            head: AtomicPtr::new(ptr::null_mut()),
            notified: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            blocks: AtomicUsize::new(SHARED_BIAS),
            unparker,
            core: core::cell::Cell::new(ptr::null()),
        })
    }

    /// Records the executor's core (once, by `Executor::new`).
    pub(crate) fn set_core(&self, core: *const crate::executor::Core) {
        self.core.set(core);
    }

    /// The executor's core.
    ///
    /// # Safety
    /// The caller is on the executor's thread and knows the executor is
    /// alive (for instance: one of its tasks is not complete).
    pub(crate) unsafe fn core(&self) -> &crate::executor::Core {
        // SAFETY: the caller's contract; set by `Executor::new`.
        unsafe { &*self.core.get() }
    }

    /// Pushes `task`, whose `REMOTE_QUEUED` flag the caller set and whose
    /// queue reference the caller took, then either wakes the executor or,
    /// if it has shut down, empties the queue itself.
    pub(crate) fn push(&self, task: TaskRef) {
        let node = task.as_ptr().as_ptr();
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            task.header().remote_next.store(head, Ordering::Relaxed);
            match self
                .head
                .compare_exchange_weak(head, node, Ordering::Release, Ordering::Relaxed)
            {
                Ok(_) => break,
                Err(actual) => head = actual,
            }
        }
        fence(Ordering::SeqCst);
        if self.closed.load(Ordering::Relaxed) {
            self.drain_closed();
        } else if !self.notified.swap(true, Ordering::AcqRel) {
            self.unparker.unpark();
        }
    }

    /// Takes every queued task, oldest first, as a chain through
    /// `remote_next`. Consumes the pending notification first, so a push
    /// that found it set is covered by this take.
    pub(crate) fn take_all(&self) -> Option<TaskRef> {
        if self.notified.load(Ordering::Relaxed) {
            self.notified.swap(false, Ordering::AcqRel);
        }
        if self.head.load(Ordering::Relaxed).is_null() {
            return None;
        }
        let mut node = self.head.swap(ptr::null_mut(), Ordering::Acquire);
        // Reverse the LIFO stack into FIFO order.
        let mut fifo: *mut Header = ptr::null_mut();
        while let Some(n) = NonNull::new(node) {
            // SAFETY: every node in the stack holds the queue's counted
            // reference, so its header is alive.
            let h = unsafe { n.as_ref() };
            node = h.remote_next.load(Ordering::Relaxed);
            h.remote_next.store(fifo, Ordering::Relaxed);
            fifo = n.as_ptr();
        }
        // SAFETY: as above, the chain's nodes are kept alive by the queue.
        NonNull::new(fifo).map(|n| unsafe { TaskRef::from_ptr(n) })
    }

    /// Marks the executor closed and drops every queued reference; a push
    /// racing with this drains itself (module doc).
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        self.drain_closed();
    }

    fn drain_closed(&self) {
        let mut node = self.head.swap(ptr::null_mut(), Ordering::Acquire);
        while let Some(n) = NonNull::new(node) {
            // SAFETY: the node holds the queue's reference until released
            // just below, after its link was read.
            let task = unsafe { TaskRef::from_ptr(n) };
            node = task.header().remote_next.load(Ordering::Relaxed);
            crate::task::waker::release_queue_ref(task);
        }
    }

    /// One task block that pointed here was freed off the executor's fast
    /// path; frees `Shared` when it was the last one.
    ///
    /// # Safety
    /// `this` is alive and the caller gives up the block's count.
    pub(crate) unsafe fn release_block(this: NonNull<Shared>) {
        // SAFETY: the caller's count keeps `this` alive until this decrement.
        let prev = unsafe { this.as_ref() }
            .blocks
            .fetch_sub(1, Ordering::Release);
        if prev == 1 {
            fence(Ordering::Acquire);
            // SAFETY: the count reached zero: nothing points here any more.
            unsafe { crate::loom::dealloc(this) };
        }
    }

    /// The executor gives up its claim, handing over `local` blocks it still
    /// counted itself; frees `Shared` if nothing else points here.
    ///
    /// # Safety
    /// Called once, by the executor, as the last use of its claim.
    pub(crate) unsafe fn release_executor_claim(this: NonNull<Shared>, local: usize) {
        let sub = SHARED_BIAS.wrapping_sub(local);
        // SAFETY: the executor's claim keeps `this` alive until here.
        let prev = unsafe { this.as_ref() }
            .blocks
            .fetch_sub(sub, Ordering::AcqRel);
        if prev == sub {
            // SAFETY: no task block and no executor point here any more.
            unsafe { crate::loom::dealloc(this) };
        }
    }
}
