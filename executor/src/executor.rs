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

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::future::Future;
use core::marker::PhantomData;
use core::panic::Location;
use core::pin::pin;
use core::ptr::NonNull;
use core::task::{Context, Poll, Waker};
use core::time::Duration;

use crate::introspect::{Dump, Idle, Stats, TaskInfo, TaskState};
use crate::park::{Park, Unpark};
use crate::task::block_cache::BlockCache;
use crate::task::header::{
    Header, TaskRef, ABORT, COMPLETE, HANDLE, MAIN, NAMED, OWNER_CLAIM, POLL, QUEUED, RUNNING,
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
    counters: Counters,
    /// Names given with `task::Builder`, by task address (only named tasks
    /// pay for a name).
    names: RefCell<BTreeMap<usize, Cow<'static, str>>>,
    /// Count time polling and parked (one clock read per turn).
    timing: Cell<bool>,
    /// When the current turn's polling started (timing on).
    turn_started: Cell<Instant>,
    /// Milliseconds since the executor started, as of this turn (timing
    /// on): what a poll records as the task's last-poll mark.
    turn_mark_ms: Cell<u32>,
    created: Instant,
}

/// The counters behind [`Stats`].
#[derive(Default)]
struct Counters {
    polls: Cell<u64>,
    spawned: Cell<u64>,
    wakes_local: Cell<u64>,
    wakes_remote: Cell<u64>,
    time_parked: Cell<Duration>,
    time_polling: Cell<Duration>,
}

fn bump(c: &Cell<u64>) {
    c.set(c.get().wrapping_add(1));
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

impl Executor {
    /// An executor over `park` (the backend).
    #[track_caller]
    pub fn new<P: Park + 'static>(park: P) -> Executor {
        let unparker: Box<dyn Unpark> = Box::new(park.unparker());
        let shared = Shared::new(unparker);
        let created = park.now();
        let core = NonNull::from(Box::leak(Box::new(Core {
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
            counters: Counters::default(),
            names: RefCell::new(BTreeMap::new()),
            timing: Cell::new(false),
            turn_started: Cell::new(created),
            turn_mark_ms: Cell::new(0),
            created,
        })));
        // SAFETY: `Shared::new` returned a live block, owned by us.
        unsafe { shared.as_ref() }.set_core(core.as_ptr());
        let main = MainTask::allocate(Header::new(
            shared,
            &MainTask::VTABLE,
            MAIN,
            Location::caller(),
        ));
        Executor {
            core,
            main,
            _not_send: PhantomData,
        }
    }

    pub(crate) fn core(&self) -> &Core {
        // SAFETY: the core lives until `Executor::drop` frees it.
        unsafe { self.core.as_ref() }
    }

    /// Spawns `future` as a task of this executor. It is first polled by the
    /// run loop (the next `block_on`), never here.
    #[track_caller]
    pub fn spawn<F>(&self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        self.core().spawn(future, None, Location::caller())
    }

    /// The executor's counters.
    pub fn stats(&self) -> Stats {
        self.core().stats()
    }

    /// Every unfinished task: name or spawn location, state, polls, idle
    /// time. `Display` prints it as a table.
    pub fn dump(&self) -> Dump {
        self.core().dump()
    }

    /// Switches the measurement of time spent polling and parked (and of
    /// each task's idle time in [`dump`](Self::dump)) on or off. It costs
    /// one clock read per turn of the run loop; off by default.
    pub fn set_timing(&self, on: bool) {
        let core = self.core();
        core.timing.set(on);
        if on {
            core.start_turn_clock(core.now());
        }
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
    #[inline]
    pub(crate) fn spawn<F>(
        &self,
        future: F,
        name: Option<Cow<'static, str>>,
        location: &'static Location<'static>,
    ) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let named = if name.is_some() { NAMED } else { 0 };
        let task = Task::allocate(&self.blocks, future, |vtable| {
            Header::new(self.shared, vtable, QUEUED | HANDLE | named, location)
        });
        if let Some(name) = name {
            self.names
                .borrow_mut()
                .insert(task.as_ptr().as_ptr() as usize, name);
        }
        self.blocks_local.set(self.blocks_local.get() + 1);
        bump(&self.counters.spawned);
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
        bump(&self.counters.wakes_local);
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

    /// Registers a timer entry for `deadline` (see `TimerWheel::insert`);
    /// false if it is already due. The wheel only knows the time of its last
    /// turn, so for a first timer or one due within a tick of that, the
    /// clock is read: a deadline already passed completes at once instead
    /// of costing a park, and an empty wheel is first brought up to now so
    /// the timer is placed relative to the present.
    ///
    /// # Safety
    /// As `TimerWheel::insert`.
    pub(crate) unsafe fn insert_timer(
        &self,
        entry: core::pin::Pin<&crate::time::wheel::TimerEntry>,
        deadline: Instant,
        waker: &Waker,
    ) -> bool {
        let tick = crate::time::instant_to_tick_ceil(deadline);
        let mut timers = self.timers.borrow_mut();
        if timers.is_empty() || tick <= timers.elapsed().saturating_add(1) {
            let now = self.now();
            if deadline <= now {
                return false;
            }
            if timers.is_empty() {
                let none = timers.pop_expired(instant_to_tick_floor(now));
                debug_assert!(none.is_none());
            }
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

    /// The executor's cross-thread half. Its address names the executor: a
    /// waker compares it with its task's to know it is on the owner thread.
    #[inline]
    pub(crate) fn shared(&self) -> NonNull<Shared> {
        self.shared
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
        task.set_state((state | RUNNING).wrapping_add(POLL));
        let header = task.header();
        header.last_turn.set(self.poll_mark());
        bump(&self.counters.polls);
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

    /// Drops the future of a task that is not running, right now.
    pub(crate) fn cancel_now(&self, task: TaskRef) {
        debug_assert!(task.state() & (RUNNING | COMPLETE) == 0);
        self.cancel(task);
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
        let state = task.state() | COMPLETE;
        task.set_state(state);
        self.live.remove(task);
        if state & NAMED != 0 {
            drop(
                self.names
                    .borrow_mut()
                    .remove(&(task.as_ptr().as_ptr() as usize)),
            );
        }
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
        let timing = self.timing.get();
        let parked_at = if timing {
            let now = self.now();
            let polling = now - self.turn_started.get();
            self.counters
                .time_polling
                .set(self.counters.time_polling.get() + polling);
            Some(now)
        } else {
            None
        };
        self.park.borrow_mut().park(deadline);
        self.turn.set(self.turn.get() + 1);
        // One clock read serves the timers and the timing.
        let now = (timing || !self.timers.borrow().is_empty()).then(|| self.now());
        if let (Some(parked_at), Some(now)) = (parked_at, now) {
            let parked = now - parked_at;
            self.counters
                .time_parked
                .set(self.counters.time_parked.get() + parked);
            self.start_turn_clock(now);
        }
        self.wake_deferred();
        self.drain_remote();
        if let Some(now) = now {
            self.fire_timers(now);
        }
    }

    fn start_turn_clock(&self, now: Instant) {
        self.turn_started.set(now);
        let ms = (now - self.created).as_millis();
        self.turn_mark_ms.set(u32::try_from(ms).unwrap_or(u32::MAX));
    }

    /// What a poll records as the task's last-poll mark: the turn number,
    /// or with timing on the turn's time in ms since the executor started.
    fn poll_mark(&self) -> u32 {
        if self.timing.get() {
            self.turn_mark_ms.get()
        } else {
            self.turn.get() as u32
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        let c = &self.counters;
        Stats {
            spawned: c.spawned.get(),
            live: self.live.len(),
            polls: c.polls.get(),
            wakes_local: c.wakes_local.get(),
            wakes_remote: c.wakes_remote.get(),
            parks: self.turn.get(),
            timers: self.timers.borrow().len(),
            time_parked: c.time_parked.get(),
            time_polling: c.time_polling.get(),
        }
    }

    pub(crate) fn dump(&self) -> Dump {
        let names = self.names.borrow();
        let mark = self.poll_mark();
        let timing = self.timing.get();
        let mut tasks = Vec::with_capacity(self.live.len());
        let mut next = self.live.first();
        while let Some(task) = next {
            let h = task.header();
            let state = task.state();
            let state = if state & ABORT != 0 {
                TaskState::Aborting
            } else if state & RUNNING != 0 {
                TaskState::Running
            } else if state & QUEUED != 0 {
                TaskState::Queued
            } else {
                TaskState::Waiting
            };
            let polls = h.polls();
            let since = mark.wrapping_sub(h.last_turn.get());
            let idle = match (polls, timing) {
                (0, _) => Idle::NeverPolled,
                (_, true) => Idle::Time(Duration::from_millis(u64::from(since))),
                (_, false) => Idle::Turns(since),
            };
            let mut info = TaskInfo::new(h.location, state, polls, idle);
            info.name = names.get(&(task.as_ptr().as_ptr() as usize)).cloned();
            tasks.push(info);
            next = h.live_next.get();
        }
        Dump {
            tasks,
            stats: self.stats(),
        }
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
            bump(&self.counters.wakes_remote);
            self.schedule(task);
            release_queue_ref(task);
        }
    }

    fn fire_timers(&self, now: Instant) {
        let now = instant_to_tick_floor(now);
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
