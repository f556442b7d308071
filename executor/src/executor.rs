//! The executor: owns the tasks, runs the loop, talks to the backend's
//! [`Park`].
//!
//! One turn of the loop (`block_on`):
//!
//! 1. poll the main future if its waker fired;
//! 2. poll up to [`BUDGET`] ready tasks from the local run queue, FIFO;
//! 3. park: with a zero timeout if anything is still ready (so a task that
//!    keeps waking itself cannot starve I/O), else until the next timer;
//! 4. wake the tasks that called `yield_now` during the previous turn (they
//!    resume after the I/O poll — Lwt.pause semantics), take in remote
//!    wakes, fire due timers.
//!
//! Everything here runs on the executor's thread and uses `Cell`s; only the
//! remote queue (`remote.rs`) is touched from other threads.

pub(crate) mod context;
mod live_list;
pub(crate) mod remote;
mod run_queue;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::future::Future;
use core::marker::PhantomData;
use core::pin::pin;
use core::ptr::NonNull;
use core::task::{Context, Poll, Waker};

use crate::park::{Park, Unpark};
use crate::task::block_cache::BlockCache;
use crate::task::header::{
    Header, TaskRef, ABORT, COMPLETE, HANDLE, MAIN, OWNER_CLAIM, QUEUED, RUNNING,
};
use crate::task::join::JoinHandle;
use crate::task::raw::{MainTask, Task};
use crate::task::waker::{borrowed_waker, release_owner_claim, release_queue_ref};
use crate::time::wheel::TimerWheel;
use crate::time::{instant_to_tick_floor, tick_to_instant};
use crate::Instant;
use context::Entered;
use live_list::LiveList;
use remote::Shared;
use run_queue::RunQueue;

/// Tasks polled per turn before the executor polls I/O and timers again.
/// Small enough that a busy executor still checks I/O every few
/// microseconds, large enough that the check (one zero-timeout park and a
/// clock read) is amortised.
pub const BUDGET: usize = 64;

/// A single-threaded executor. `!Send`: it, its tasks and their futures stay
/// on the thread that made it.
///
/// Dropping it drops every unfinished task's future, on this thread; their
/// `JoinHandle`s then report [`JoinError::is_cancelled`](crate::JoinError::is_cancelled).
/// Tasks spawned and not finished when `block_on` returns stay in the
/// executor and run again at the next `block_on`.
pub struct Executor {
    core: NonNull<Core>,
    main: TaskRef,
    _not_send: PhantomData<*const ()>,
}

/// The executor's state, at a fixed heap address (task headers point here).
pub(crate) struct Core {
    /// Unique, never reused: a waker compares it with its task's owner id
    /// to decide whether it is on the owner thread.
    pub(crate) id: u64,
    run_queue: RunQueue,
    live: LiveList,
    main_woken: Cell<bool>,
    /// Task blocks (and the main block) counted on the executor's side of
    /// `Shared`'s biased block count.
    blocks_local: Cell<usize>,
    shared: NonNull<Shared>,
    /// Freed task blocks kept for reuse.
    blocks: BlockCache,
    timers: RefCell<TimerWheel>,
    deferred: RefCell<Vec<Waker>>,
    deferred_spare: RefCell<Vec<Waker>>,
    /// Parks so far; `yield_now` waits for it to move.
    turn: Cell<u64>,
    park: RefCell<Box<dyn DynPark>>,
    polls: Cell<u64>,
    spawned: Cell<u64>,
}

/// `Park` without its associated type, so the core can hold any backend.
trait DynPark {
    fn park(&mut self, deadline: Option<Instant>);
    fn now(&self) -> Instant;
}

impl<P: Park> DynPark for P {
    fn park(&mut self, deadline: Option<Instant>) {
        Park::park(self, deadline)
    }
    fn now(&self) -> Instant {
        Park::now(self)
    }
}

/// Executor ids; not part of any cross-thread protocol, so never a loom type.
static NEXT_ID: core::sync::atomic::AtomicU64 = core::sync::atomic::AtomicU64::new(1);

impl Executor {
    /// An executor over `park` (the backend).
    pub fn new<P: Park + 'static>(park: P) -> Executor {
        let unparker: Box<dyn Unpark> = Box::new(park.unparker());
        let shared = Shared::new(unparker);
        let id = NEXT_ID.fetch_add(1, core::sync::atomic::Ordering::Relaxed);
        let core = NonNull::from(Box::leak(Box::new(Core {
            id,
            run_queue: RunQueue::new(),
            live: LiveList::new(),
            main_woken: Cell::new(false),
            blocks_local: Cell::new(1),
            shared,
            blocks: BlockCache::new(),
            timers: RefCell::new(TimerWheel::new()),
            deferred: RefCell::new(Vec::new()),
            deferred_spare: RefCell::new(Vec::new()),
            turn: Cell::new(0),
            park: RefCell::new(Box::new(park)),
            polls: Cell::new(0),
            spawned: Cell::new(0),
        })));
        let main = MainTask::allocate(Header::new(id, core, shared, &MainTask::VTABLE, MAIN));
        Executor {
            core,
            main,
            _not_send: PhantomData,
        }
    }

    fn core(&self) -> &Core {
        // SAFETY: the core lives until `Executor::drop` frees it.
        unsafe { self.core.as_ref() }
    }

    /// Spawns `future` as a task of this executor. It is first polled by the
    /// run loop (the next `block_on`), never here.
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.core().spawn(future)
    }

    /// Runs `future` to completion on this thread, running spawned tasks,
    /// timers and the backend while it waits.
    ///
    /// # Panics
    /// If called inside a running executor on this thread (use `spawn`), or
    /// if `future` panics (the panic propagates; spawned tasks stay in the
    /// executor).
    #[track_caller]
    pub fn block_on<F: Future>(&mut self, future: F) -> F::Output {
        let core = self.core();
        let _entered = Entered::block_on(core);
        let mut future = pin!(future);
        let waker = borrowed_waker(self.main);
        let mut cx = Context::from_waker(&waker);
        core.main_woken.set(true);
        loop {
            if core.main_woken.replace(false) {
                if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                    return output;
                }
            }
            core.run_ready();
            core.turn();
        }
    }

    /// Number of tasks spawned and not yet finished.
    pub fn live_tasks(&self) -> usize {
        self.core().live.len()
    }

    /// Number of timers (sleeps, timeouts, intervals) waiting in the wheel.
    pub fn pending_timers(&self) -> usize {
        self.core().timers.borrow().len()
    }
}

impl Drop for Executor {
    fn drop(&mut self) {
        let core = self.core();
        {
            let _entered = Entered::nested(core);
            // Cancel every unfinished task here, on the owner thread. A
            // future's drop may spawn: loop until nothing is left.
            while let Some(task) = core.live.first() {
                core.cancel(task);
            }
            while let Some(task) = core.run_queue.pop() {
                let state = task.state() & !QUEUED;
                task.set_state(state);
                core.release_if_unowned(task);
            }
            // SAFETY: the executor's claim keeps `shared` alive.
            unsafe { core.shared.as_ref() }.close();
            core.timers.borrow_mut().clear();
            drop(core::mem::take(&mut *core.deferred.borrow_mut()));
            drop(core::mem::take(&mut *core.deferred_spare.borrow_mut()));
            release_owner_claim(self.main);
        }
        let shared = core.shared;
        let local_blocks = core.blocks_local.get();
        // SAFETY: the core was leaked from a Box in `new` and nothing uses it
        // any more: every task is complete (no JoinHandle dereferences the
        // core of a complete task) and the context slot was restored.
        drop(unsafe { Box::from_raw(self.core.as_ptr()) });
        // SAFETY: the executor's last use of its claim on `shared`.
        unsafe { Shared::release_executor_claim(shared, local_blocks) };
    }
}

impl Core {
    pub(crate) fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let task = Task::allocate(&self.blocks, future, |vtable| {
            Header::new(
                self.id,
                NonNull::from(self),
                self.shared,
                vtable,
                QUEUED | HANDLE,
            )
        });
        self.blocks_local.set(self.blocks_local.get() + 1);
        self.spawned.set(self.spawned.get() + 1);
        self.live.insert(task);
        self.run_queue.push(task);
        // SAFETY: a `Task<F>` block with HANDLE set and the owner claim held.
        unsafe { JoinHandle::new(task) }
    }

    /// Makes `task` (one of ours) ready: appends it to the run queue unless
    /// it is queued or finished. Owner thread only.
    #[inline]
    pub(crate) fn schedule(&self, task: TaskRef) {
        let state = task.state();
        if state & (QUEUED | COMPLETE) != 0 {
            return;
        }
        if state & MAIN != 0 {
            self.main_woken.set(true);
            return;
        }
        task.set_state(state | QUEUED);
        self.run_queue.push(task);
    }

    /// The backend's clock.
    pub(crate) fn now(&self) -> Instant {
        self.park.borrow().now()
    }

    /// Registers `waker` to be woken after the next park (`yield_now`).
    pub(crate) fn defer(&self, waker: &Waker) {
        self.deferred.borrow_mut().push(waker.clone());
    }

    /// Registers a timer entry (see `TimerWheel::insert`). An empty wheel is
    /// first brought up to now, so a first timer is placed relative to the
    /// present and not to when the last timer fired.
    ///
    /// # Safety
    /// As `TimerWheel::insert`.
    pub(crate) unsafe fn insert_timer(
        &self,
        entry: core::pin::Pin<&crate::time::wheel::TimerEntry>,
        tick: u64,
        waker: &Waker,
    ) -> bool {
        let mut timers = self.timers.borrow_mut();
        if timers.is_empty() {
            let now = instant_to_tick_floor(self.now());
            let none = timers.pop_expired(now);
            debug_assert!(none.is_none());
        }
        // SAFETY: the caller's contract.
        unsafe { timers.insert(entry, tick, waker) }
    }

    /// Unregisters a timer entry.
    ///
    /// # Safety
    /// As `TimerWheel::remove`.
    pub(crate) unsafe fn remove_timer(
        &self,
        entry: core::pin::Pin<&crate::time::wheel::TimerEntry>,
    ) {
        // SAFETY: the caller's contract.
        unsafe { self.timers.borrow_mut().remove(entry) }
    }

    /// Parks so far.
    pub(crate) fn turn_count(&self) -> u64 {
        self.turn.get()
    }

    /// Takes back the block of a task freed on the executor's thread: it
    /// no longer counts in `Shared`, and is kept for the next spawn.
    ///
    /// # Safety
    /// `block`'s contents were dropped; it was allocated with `layout`.
    pub(crate) unsafe fn recycle_block(&self, block: NonNull<u8>, layout: core::alloc::Layout) {
        self.blocks_local
            .set(self.blocks_local.get().wrapping_sub(1));
        // SAFETY: the caller's contract.
        unsafe { self.blocks.free(block, layout) };
    }

    /// Polls up to `BUDGET` tasks from the run queue.
    fn run_ready(&self) {
        for _ in 0..BUDGET {
            match self.run_queue.pop() {
                Some(task) => self.run_task(task),
                None => return,
            }
        }
    }

    fn run_task(&self, task: TaskRef) {
        let state = task.state() & !QUEUED;
        if state & COMPLETE != 0 {
            task.set_state(state);
            self.release_if_unowned(task);
            return;
        }
        if state & ABORT != 0 {
            task.set_state(state);
            self.cancel(task);
            return;
        }
        task.set_state(state | RUNNING);
        let header = task.header();
        header.polls.set(header.polls.get() + 1);
        self.polls.set(self.polls.get() + 1);
        let waker = borrowed_waker(task);
        let mut cx = Context::from_waker(&waker);
        // SAFETY: owner thread, the task is not complete and not being
        // polled (RUNNING was clear), and the owner claim keeps it alive.
        let done = unsafe { (header.vtable.poll)(task, &mut cx) };
        let state = task.state() & !RUNNING;
        task.set_state(state);
        if done {
            self.finish(task);
        } else if state & ABORT != 0 {
            self.cancel(task);
        }
    }

    /// Drops the task's future (its `JoinHandle` sees `Cancelled`).
    fn cancel(&self, task: TaskRef) {
        // SAFETY: owner thread, not inside a poll of this task.
        unsafe { (task.header().vtable.cancel)(task) };
        self.finish(task);
    }

    /// The future is gone: mark the task complete, drop the output if no
    /// handle wants it, give up the executor's interest, wake the awaiter.
    fn finish(&self, task: TaskRef) {
        let header = task.header();
        task.set_state(task.state() | COMPLETE);
        self.live.remove(task);
        let awaiter = header.awaiter.take();
        if task.state() & HANDLE == 0 {
            // SAFETY: owner thread, the task is complete; nobody can want
            // its output.
            unsafe { (header.vtable.drop_stage)(task) };
        }
        self.release_if_unowned(task);
        // The block may be gone now; only the local waker is used below.
        if let Some(awaiter) = awaiter {
            awaiter.wake();
        }
    }

    /// Gives up the owner claim of a complete task that no handle and no
    /// queue refers to any more.
    fn release_if_unowned(&self, task: TaskRef) {
        let state = task.state();
        if state & (COMPLETE | HANDLE | QUEUED | RUNNING | OWNER_CLAIM) == COMPLETE | OWNER_CLAIM {
            release_owner_claim(task);
        }
    }

    /// Park, then everything a park may have made ready.
    fn turn(&self) {
        let busy = !self.run_queue.is_empty()
            || self.main_woken.get()
            || !self.deferred.borrow().is_empty();
        let deadline = if busy {
            Some(Instant::ZERO)
        } else {
            self.timers.borrow().next_deadline().map(tick_to_instant)
        };
        self.park.borrow_mut().park(deadline);
        self.turn.set(self.turn.get() + 1);
        self.wake_deferred();
        self.drain_remote();
        self.fire_timers();
    }

    fn wake_deferred(&self) {
        if self.deferred.borrow().is_empty() {
            return;
        }
        let mut batch = core::mem::take(&mut *self.deferred_spare.borrow_mut());
        core::mem::swap(&mut *self.deferred.borrow_mut(), &mut batch);
        for waker in batch.drain(..) {
            waker.wake();
        }
        // Keep the allocation for the next batch.
        *self.deferred_spare.borrow_mut() = batch;
    }

    fn drain_remote(&self) {
        // SAFETY: the executor's claim keeps `shared` alive.
        let mut next = unsafe { self.shared.as_ref() }.take_all();
        while let Some(task) = next {
            let link = task
                .header()
                .remote_next
                .load(crate::loom::Ordering::Relaxed);
            // SAFETY: the chain's nodes each hold the queue's reference
            // until `release_queue_ref` below.
            next = NonNull::new(link).map(|p| unsafe { TaskRef::from_ptr(p) });
            self.schedule(task);
            release_queue_ref(task);
        }
    }

    fn fire_timers(&self) {
        if self.timers.borrow().is_empty() {
            return;
        }
        let now = instant_to_tick_floor(self.now());
        loop {
            // The borrow ends before the waker runs: a waker may run code
            // that touches the wheel.
            let waker = self.timers.borrow_mut().pop_expired(now);
            match waker {
                Some(waker) => waker.wake(),
                None => return,
            }
        }
    }
}
