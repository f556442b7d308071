//! The task header: the first field of every task allocation, the thing a
//! `Waker` points at.
//!
//! A header has two halves. The *owner half* (plain `Cell`s) is touched only
//! on the executor's thread: the state flags, the run-queue and live-list
//! links, the JoinHandle's waker and the owner's count of waker references.
//! The *shared half* (atomics) is what another thread may touch, and only
//! through a `Waker`: the remote reference count and the remote-queue link.
//!
//! ## Reference counting (biased)
//!
//! Wakers are `Send + Sync`, so the memory they point at needs a thread-safe
//! count — but on a single-threaded executor almost every clone, wake and
//! drop happens on the owner thread, where an atomic read-modify-write would
//! be pure cost. So the count is split:
//!
//! * `refs` (atomic) starts at [`BIAS`]: the owner's claim. A waker cloned or
//!   dropped *off* the owner thread (or when the owner's claim is gone)
//!   adds or subtracts [`REF`] here.
//! * `local_refs` (a `Cell`, wrapping) counts waker clones and drops made on
//!   the owner thread while the owner's claim is held.
//!
//! A waker cloned on the owner thread and dropped on another adds to one and
//! subtracts from the other; only the sum means anything:
//! `live wakers = (refs - BIAS) / REF + local_refs`. While the claim is held
//! `refs` stays near `BIAS` (it cannot reach zero). The owner gives the claim
//! up (`release_owner_claim`) when the executor no longer needs the task and
//! no `JoinHandle` exists: it subtracts `BIAS - local_refs * REF` in one
//! step, which leaves `refs` equal to the true count, and from then on every
//! count change is atomic. Whoever brings `refs` to zero frees the block.
//! When the owner sees `local_refs == 0` and `refs == BIAS` it knows nobody
//! else holds a reference and frees the block with no atomic write at all —
//! the common case for a task that finished without lending its waker out.
//!
//! ## Owner state (`state`)
//!
//! ```text
//!            spawn                 pop + poll              Ready / panic / abort
//!   (new) ─────────▶ QUEUED ──────────────▶ RUNNING ─────────────────────▶ COMPLETE
//!                      ▲                      │ Pending                      │
//!                      └── wake (not queued) ◀┘                              │
//!   HANDLE: a JoinHandle exists.   OWNER_CLAIM: `refs` holds BIAS.           ▼
//!   ABORT: cancel at the next chance.   MAIN: the block_on pseudo-task.  claim released
//!   (bits 9..32 of the state word count polls)
//!                                                                   when !HANDLE && !QUEUED
//! ```

use core::cell::Cell;
use core::panic::Location;
use core::ptr::NonNull;
use core::task::Waker;

use crate::executor::remote::Shared;
use crate::loom::{AtomicPtr, AtomicUsize};
use crate::task::raw::TaskVTable;

/// In the local run queue (or about to be, for the main pseudo-task's flag).
pub(crate) const QUEUED: u32 = 1 << 0;
/// Being polled right now.
pub(crate) const RUNNING: u32 = 1 << 1;
/// The future is gone: its output (or the error) is stored or was taken.
pub(crate) const COMPLETE: u32 = 1 << 2;
/// A `JoinHandle` for this task exists.
pub(crate) const HANDLE: u32 = 1 << 3;
/// `JoinHandle::abort` was called: cancel at the next chance.
pub(crate) const ABORT: u32 = 1 << 4;
/// `refs` includes the owner's `BIAS`; `local_refs` is in use.
pub(crate) const OWNER_CLAIM: u32 = 1 << 5;
/// The pseudo-task whose waker wakes `block_on`'s main future.
pub(crate) const MAIN: u32 = 1 << 6;
/// The executor keeps a name for this task (introspection).
pub(crate) const NAMED: u32 = 1 << 7;
/// The JoinHandle took the output: the stage is empty.
pub(crate) const CONSUMED: u32 = 1 << 8;
/// One poll in `state`: the bits above the flags count polls
/// (introspection, wrapping at 2^23).
pub(crate) const POLL: u32 = 1 << 9;

/// `refs` flag: the task is in the executor's remote wake queue (which holds
/// one reference for it).
pub(crate) const REMOTE_QUEUED: usize = 1;
/// One reference in `refs`.
pub(crate) const REF: usize = 2;
/// The owner's claim in `refs`: far above any real count of remote
/// references, so the atomic half cannot reach zero while it is held.
pub(crate) const BIAS: usize = REF << 58;
/// Above this, `refs` is treated as overflowing (a leak of wakers in a loop).
pub(crate) const REFS_LIMIT: usize = BIAS << 2;

/// The common prefix of every task allocation (see the module doc).
#[repr(C)]
pub(crate) struct Header {
    // ---- owner half: the executor's thread only ----
    pub(crate) state: Cell<u32>,
    /// Next task in the local run queue.
    pub(crate) run_next: Cell<Option<TaskRef>>,
    /// Neighbours in the executor's list of unfinished tasks.
    pub(crate) live_prev: Cell<Option<TaskRef>>,
    pub(crate) live_next: Cell<Option<TaskRef>>,
    /// Owner-side waker count (wrapping; see the module doc).
    pub(crate) local_refs: Cell<usize>,
    /// The waker of whoever awaits the JoinHandle.
    pub(crate) awaiter: Cell<Option<Waker>>,
    /// The executor's turn when the task was last polled (wraps).
    pub(crate) last_turn: Cell<u32>,
    /// Where the task was spawned (introspection: what is blocked where).
    pub(crate) location: &'static Location<'static>,
    pub(crate) vtable: &'static TaskVTable,
    /// The owning executor's cross-thread half; kept alive by this task's
    /// share in it until the task's block is freed. Its address also names
    /// the owner: it cannot be reused while this task exists, so comparing
    /// it with the current executor's is free of ABA.
    pub(crate) shared: NonNull<Shared>,
    // ---- shared half ----
    pub(crate) refs: AtomicUsize,
    pub(crate) remote_next: AtomicPtr<Header>,
}

impl Header {
    /// Times polled (wraps at 2^23).
    pub(crate) fn polls(&self) -> u32 {
        self.state.get() / POLL
    }

    pub(crate) fn new(
        shared: NonNull<Shared>,
        vtable: &'static TaskVTable,
        state: u32,
        location: &'static Location<'static>,
    ) -> Header {
        Header {
            state: Cell::new(state | OWNER_CLAIM),
            run_next: Cell::new(None),
            live_prev: Cell::new(None),
            live_next: Cell::new(None),
            local_refs: Cell::new(0),
            awaiter: Cell::new(None),
            last_turn: Cell::new(0),
            location,
            vtable,
            shared,
            refs: AtomicUsize::new(BIAS),
            remote_next: AtomicPtr::new(core::ptr::null_mut()),
        }
    }
}

/// A type-erased pointer to a task's header.
///
/// Holding a `TaskRef` does not keep the task alive: whoever holds one holds
/// it under some counted claim (the owner's claim, a waker reference, the
/// remote queue's reference) and says which in a `SAFETY` comment where the
/// `TaskRef` is made.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub(crate) struct TaskRef(NonNull<Header>);

impl TaskRef {
    /// # Safety
    /// `ptr` points at a live task header, kept alive as the type doc says.
    pub(crate) unsafe fn from_ptr(ptr: NonNull<Header>) -> TaskRef {
        TaskRef(ptr)
    }

    pub(crate) fn as_ptr(self) -> NonNull<Header> {
        self.0
    }

    /// The header.
    pub(crate) fn header<'a>(self) -> &'a Header {
        // SAFETY: a TaskRef only exists while a counted claim keeps the
        // block alive (type invariant), and headers are never moved; the
        // lifetime is chosen by callers that do not outlive their claim.
        unsafe { self.0.as_ref() }
    }

    pub(crate) fn state(self) -> u32 {
        self.header().state.get()
    }

    pub(crate) fn set_state(self, state: u32) {
        self.header().state.set(state)
    }
}
