//! The task block: header, then the future or its output, in one allocation.
//!
//! `Task<F>` is `#[repr(C)]` with the [`Header`] first, so a pointer to the
//! block is a pointer to its header and the type-erased executor reaches the
//! typed parts through the header's [`TaskVTable`]. The future and its output
//! share one `Stage` slot: a task costs exactly one heap allocation.
//!
//! Everything that touches the stage runs on the executor's thread; only
//! `drop_block` may run elsewhere, and by then the stage is empty (`Consumed`),
//! so freeing a block on another thread never drops a future or an output
//! there.

use core::alloc::Layout;
use core::cell::UnsafeCell;
use core::future::Future;
use core::pin::Pin;
use core::ptr::NonNull;
use core::task::{Context, Poll};

use super::block_cache::{block_layout, BlockCache};
use super::header::{Header, TaskRef};
use super::join::JoinError;

/// What the executor can do to a task without knowing its future's type.
pub(crate) struct TaskVTable {
    /// Poll the future once; true when it finished (output or panic stored).
    pub(crate) poll: unsafe fn(TaskRef, &mut Context<'_>) -> bool,
    /// Drop the future and store `JoinError::Cancelled`.
    pub(crate) cancel: unsafe fn(TaskRef),
    /// Move the stored result into `*dst` (a `Poll<Result<T, JoinError>>`).
    pub(crate) take_output: unsafe fn(TaskRef, *mut ()),
    /// Drop whatever the stage holds; leaves it `Consumed`.
    pub(crate) drop_stage: unsafe fn(TaskRef),
    /// Drop the block's contents in place (its stage is already
    /// `Consumed`, so this drops no future and no output).
    pub(crate) drop_block: unsafe fn(TaskRef),
    /// The layout the block was allocated with (see `block_cache`).
    pub(crate) layout: Layout,
}

pub(crate) enum Stage<F: Future> {
    Running(F),
    Finished(Result<F::Output, JoinError>),
    Consumed,
}

#[repr(C)]
pub(crate) struct Task<F: Future> {
    header: Header,
    stage: UnsafeCell<Stage<F>>,
}

impl<F: Future> Task<F> {
    const VTABLE: TaskVTable = TaskVTable {
        poll: Self::poll,
        cancel: Self::cancel,
        take_output: Self::take_output,
        drop_stage: Self::drop_stage,
        drop_block: Self::drop_block,
        layout: block_layout::<Task<F>>(),
    };

    /// Allocates the block for `future` (from `cache` when it has one of the
    /// right size); `make_header` receives the vtable.
    pub(crate) fn allocate(
        cache: &BlockCache,
        future: F,
        make_header: impl FnOnce(&'static TaskVTable) -> Header,
    ) -> TaskRef {
        let header = make_header(&Self::VTABLE);
        let block = cache.alloc(Self::VTABLE.layout).cast::<Task<F>>();
        // SAFETY: the block is unused, and `block_layout` makes it at least
        // as large and as aligned as a `Task<F>`.
        unsafe {
            block.as_ptr().write(Task {
                header,
                stage: UnsafeCell::new(Stage::Running(future)),
            })
        };
        // SAFETY: fresh block; the caller takes the owner claim it starts with.
        unsafe { TaskRef::from_ptr(block.cast()) }
    }

    /// # Safety
    /// `task` is a live `Task<F>` block and the caller is on its executor's
    /// thread with no other borrow of the stage active.
    unsafe fn stage<'a>(task: TaskRef) -> &'a mut Stage<F> {
        let block: NonNull<Task<F>> = task.as_ptr().cast();
        // SAFETY: per the caller: the block is a `Task<F>` (header first,
        // repr(C)), alive, and only this thread touches the stage.
        unsafe { &mut *(*block.as_ptr()).stage.get() }
    }

    unsafe fn poll(task: TaskRef, cx: &mut Context<'_>) -> bool {
        // SAFETY: the run loop calls this on the owner thread for a block of
        // this type; the stage is not otherwise borrowed during a poll.
        let stage = unsafe { Self::stage(task) };
        let Stage::Running(future) = stage else {
            return true;
        };
        // SAFETY: the future lives inside the heap block, which never moves
        // until it is freed, and it is dropped in place.
        let future = unsafe { Pin::new_unchecked(future) };
        match poll_catching(future, cx) {
            Ok(Poll::Pending) => false,
            Ok(Poll::Ready(output)) => {
                let slot: *mut Stage<F> = stage;
                // SAFETY: the stage holds the future; after it is dropped in
                // place (a panic in its drop is contained and leaves it
                // dropped) the slot is overwritten without reading it.
                unsafe {
                    if core::mem::needs_drop::<F>() {
                        drop_catching(|| core::ptr::drop_in_place(slot));
                    }
                    slot.write(Stage::Finished(Ok(output)));
                }
                true
            }
            Err(error) => {
                set_catching(stage, Stage::Finished(Err(error)));
                true
            }
        }
    }

    unsafe fn cancel(task: TaskRef) {
        // SAFETY: owner thread, called outside any poll of this task.
        let stage = unsafe { Self::stage(task) };
        if let Stage::Running(_) = stage {
            set_catching(stage, Stage::Finished(Err(JoinError::cancelled())));
        }
    }

    unsafe fn take_output(task: TaskRef, dst: *mut ()) {
        // SAFETY: owner thread (JoinHandle is !Send), not inside a poll.
        let stage = unsafe { Self::stage(task) };
        let dst = dst as *mut Poll<Result<F::Output, JoinError>>;
        if !matches!(stage, Stage::Finished(_)) {
            panic!("shimmer: JoinHandle polled after it returned its result");
        }
        // Only an output is moved out here, never a (pinned) future.
        if let Stage::Finished(result) = core::mem::replace(stage, Stage::Consumed) {
            // SAFETY: the JoinHandle passes a valid, initialised slot of
            // exactly this type.
            unsafe { *dst = Poll::Ready(result) };
        }
    }

    unsafe fn drop_stage(task: TaskRef) {
        // SAFETY: owner thread, not inside a poll.
        let stage = unsafe { Self::stage(task) };
        set_catching(stage, Stage::Consumed);
    }

    unsafe fn drop_block(task: TaskRef) {
        let block: NonNull<Task<F>> = task.as_ptr().cast();
        // SAFETY: the last reference is gone and the stage is `Consumed`, so
        // this drops no future and no output, on any thread.
        unsafe { core::ptr::drop_in_place(block.as_ptr()) }
    }
}

/// The block behind `block_on`'s waker: a header and nothing else.
pub(crate) struct MainTask;

impl MainTask {
    pub(crate) const VTABLE: TaskVTable = TaskVTable {
        poll: |_, _| unreachable!("the main pseudo-task is never polled"),
        cancel: |_| {},
        take_output: |_, _| unreachable!("the main pseudo-task has no output"),
        drop_stage: |_| {},
        drop_block: Self::drop_block,
        layout: block_layout::<Header>(),
    };

    pub(crate) fn allocate(header: Header) -> TaskRef {
        let block = super::block_cache::global_alloc(Self::VTABLE.layout).cast::<Header>();
        // SAFETY: fresh block, sized and aligned for a Header.
        unsafe { block.as_ptr().write(header) };
        // SAFETY: fresh block; the executor holds its owner claim.
        unsafe { TaskRef::from_ptr(block) }
    }

    unsafe fn drop_block(task: TaskRef) {
        // SAFETY: the last reference is gone; the block is a bare Header.
        unsafe { core::ptr::drop_in_place(task.as_ptr().as_ptr()) }
    }
}

/// Polls `future`, turning a panic into a `JoinError` (with `std`; without
/// it a panic aborts the unikernel before it could get here).
fn poll_catching<F: Future>(
    future: Pin<&mut F>,
    cx: &mut Context<'_>,
) -> Result<Poll<F::Output>, JoinError> {
    #[cfg(feature = "std")]
    {
        std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| future.poll(cx)))
            .map_err(JoinError::panicked)
    }
    #[cfg(not(feature = "std"))]
    {
        Ok(future.poll(cx))
    }
}

/// Runs `drop`, containing a panic (with `std`).
#[inline]
fn drop_catching(drop: impl FnOnce()) {
    #[cfg(feature = "std")]
    {
        let _ = std::panic::catch_unwind(core::panic::AssertUnwindSafe(drop));
    }
    #[cfg(not(feature = "std"))]
    drop();
}

/// Replaces the stage, dropping the old contents *in place* — a future is
/// pinned in its block and must not move, not even to be dropped. A panic
/// while dropping a future or an output is contained (with `std`), never
/// unwinding into the executor's bookkeeping.
fn set_catching<F: Future>(stage: &mut Stage<F>, new: Stage<F>) {
    // Only a value with drop glue can run code (or panic) when dropped.
    let has_glue = match stage {
        Stage::Running(_) => core::mem::needs_drop::<F>(),
        Stage::Finished(Ok(_)) => core::mem::needs_drop::<F::Output>(),
        Stage::Finished(Err(_)) => true,
        Stage::Consumed => false,
    };
    let slot: *mut Stage<F> = stage;
    // SAFETY: `slot` is a valid, initialised stage; it is dropped where it
    // is (a panic in that drop leaves it dropped; without drop glue there is
    // nothing to run) and then overwritten without being read.
    unsafe {
        if has_glue {
            drop_catching(|| core::ptr::drop_in_place(slot));
        }
        slot.write(new);
    }
}
