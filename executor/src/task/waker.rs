//! The task `Waker`: a pointer to the header and a static vtable.
//!
//! Every operation first asks whether it runs on the task's own executor
//! (this thread's current executor is the task's: same `Shared`) while the
//! owner's claim is held. If so it uses the header's owner half: a clone or
//! drop adjusts a `Cell`, a wake appends to the local run queue. Otherwise
//! it uses the shared half: an atomic reference count, and a wake goes
//! through the executor's remote queue and unparker. Both are always valid
//! on their side; see `header.rs` for why the counts add up.

use core::task::{RawWaker, RawWakerVTable, Waker};

use super::header::{TaskRef, OWNER_CLAIM, REF, REFS_LIMIT, REMOTE_QUEUED};
use crate::executor::context;
use crate::executor::remote::Shared;
use crate::executor::Core;
use crate::loom::{fence, Ordering};

static VTABLE: RawWakerVTable = RawWakerVTable::new(clone, wake, wake_by_ref, drop_waker);

/// A waker for `task` that does not own a reference: valid only while the
/// caller's own claim on the task lasts (the run loop's, during a poll).
pub(crate) fn borrowed_waker(task: TaskRef) -> core::mem::ManuallyDrop<Waker> {
    let raw = RawWaker::new(task.as_ptr().as_ptr() as *const (), &VTABLE);
    // SAFETY: the vtable's contract holds for a header pointer; the
    // ManuallyDrop keeps this uncounted waker from being dropped.
    core::mem::ManuallyDrop::new(unsafe { Waker::from_raw(raw) })
}

/// The task's executor core, if we are on its thread inside it.
#[inline]
fn owner_core<'a>(task: TaskRef) -> Option<&'a Core> {
    let core = context::current_ptr();
    if core.is_null() {
        return None;
    }
    // SAFETY: a non-null current pointer is a live core (context.rs).
    let core = unsafe { &*core };
    (core.shared() == task.header().shared).then_some(core)
}

/// The owner core, if the owner-half counts may be used right now.
#[inline]
fn fast_path<'a>(task: TaskRef) -> Option<&'a Core> {
    let core = owner_core(task)?;
    (task.state() & OWNER_CLAIM != 0).then_some(core)
}

/// # Safety (all four vtable functions)
/// `ptr` is a task header kept alive by the waker's own reference.
unsafe fn clone(ptr: *const ()) -> RawWaker {
    // SAFETY: vtable contract.
    let task = unsafe { task_from(ptr) };
    acquire_ref(task);
    RawWaker::new(ptr, &VTABLE)
}

unsafe fn wake(ptr: *const ()) {
    // SAFETY: vtable contract.
    let task = unsafe { task_from(ptr) };
    match owner_core(task) {
        Some(core) => {
            core.schedule(task);
            release_ref(task);
        }
        None => {
            schedule_remote(task);
            release_ref(task);
        }
    }
}

unsafe fn wake_by_ref(ptr: *const ()) {
    // SAFETY: vtable contract.
    let task = unsafe { task_from(ptr) };
    match owner_core(task) {
        Some(core) => core.schedule(task),
        None => schedule_remote(task),
    }
}

unsafe fn drop_waker(ptr: *const ()) {
    // SAFETY: vtable contract.
    let task = unsafe { task_from(ptr) };
    release_ref(task);
}

/// # Safety
/// `ptr` is a live task header.
unsafe fn task_from(ptr: *const ()) -> TaskRef {
    // SAFETY: caller; waker data pointers are never null.
    unsafe { TaskRef::from_ptr(core::ptr::NonNull::new_unchecked(ptr as *mut _)) }
}

/// Counts one more waker reference.
#[inline]
fn acquire_ref(task: TaskRef) {
    let h = task.header();
    if fast_path(task).is_some() {
        h.local_refs.set(h.local_refs.get().wrapping_add(1));
    } else if h.refs.fetch_add(REF, Ordering::Relaxed) > REFS_LIMIT {
        crate::loom::abort();
    }
}

/// Gives up one waker reference; frees the block if it was the last.
#[inline]
fn release_ref(task: TaskRef) {
    let h = task.header();
    if fast_path(task).is_some() {
        h.local_refs.set(h.local_refs.get().wrapping_sub(1));
        return;
    }
    let prev = h.refs.fetch_sub(REF, Ordering::Release);
    if prev & !REMOTE_QUEUED == REF {
        fence(Ordering::Acquire);
        free_block(task);
    }
}

/// Gives up the remote queue's reference and clears `REMOTE_QUEUED` (one
/// atomic step); frees the block if that was the last reference.
pub(crate) fn release_queue_ref(task: TaskRef) {
    let prev = task
        .header()
        .refs
        .fetch_sub(REF | REMOTE_QUEUED, Ordering::AcqRel);
    if prev == REF | REMOTE_QUEUED {
        free_block(task);
    }
}

/// Queues `task` on its executor's remote queue (unless it is already
/// there) and unparks the executor. The caller holds a reference.
fn schedule_remote(task: TaskRef) {
    let h = task.header();
    let mut cur = h.refs.load(Ordering::Relaxed);
    loop {
        if cur & REMOTE_QUEUED != 0 {
            return;
        }
        if cur > REFS_LIMIT {
            crate::loom::abort();
        }
        match h.refs.compare_exchange_weak(
            cur,
            (cur + REF) | REMOTE_QUEUED,
            Ordering::AcqRel,
            Ordering::Relaxed,
        ) {
            Ok(_) => break,
            Err(actual) => cur = actual,
        }
    }
    // SAFETY: the task's block keeps its count in `Shared` until it is
    // freed, and the caller's reference keeps the block alive.
    let shared = unsafe { h.shared.as_ref() };
    shared.push(task);
}

/// The owner gives up its claim (executor done with the task and no
/// JoinHandle left): hands the owner-half count over to the atomic count and
/// frees the block if no waker is left. Owner thread only.
pub(crate) fn release_owner_claim(task: TaskRef) {
    let h = task.header();
    let state = task.state();
    debug_assert!(state & OWNER_CLAIM != 0);
    task.set_state(state & !OWNER_CLAIM);
    let local = h.local_refs.get();
    let bias = super::header::BIAS;
    if local == 0 && h.refs.load(Ordering::Acquire) == bias {
        // Nobody else holds a reference (the true count is zero), so nobody
        // can be touching `refs`: free with no atomic write.
        free_block(task);
        return;
    }
    let sub = bias.wrapping_sub(local.wrapping_mul(REF));
    let prev = h.refs.fetch_sub(sub, Ordering::AcqRel);
    if prev == sub {
        free_block(task);
    }
}

/// Frees the block of a task whose last reference is gone, and gives up its
/// count in the executor's `Shared`.
fn free_block(task: TaskRef) {
    let h = task.header();
    let shared = h.shared;
    let owner = owner_core(task);
    let vtable = h.vtable;
    // SAFETY: no reference is left; the stage was emptied before the owner
    // released its claim, so this drops no future and no output.
    unsafe { (vtable.drop_block)(task) };
    let block = task.as_ptr().cast::<u8>();
    match owner {
        // SAFETY: the block's contents are dropped and nothing refers to it.
        Some(core) => unsafe { core.recycle_block(block, vtable.layout) },
        None => {
            // SAFETY: as above; blocks are allocated with `vtable.layout`.
            unsafe { super::block_cache::global_dealloc(block, vtable.layout) };
            // SAFETY: the freed block's count kept `shared` alive until now.
            unsafe { Shared::release_block(shared) };
        }
    }
}
