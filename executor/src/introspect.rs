//! Introspection: "what is my unikernel doing right now?"
//!
//! Lwt's most asked-for missing feature is a way to see what is blocked.
//! shimmer keeps, at almost no cost, what it needs to answer that:
//!
//! * [`Stats`]: counters of the executor (tasks spawned and alive, polls,
//!   wakes from its own thread and from elsewhere, parks) and, when timing is
//!   switched on ([`Executor::set_timing`](crate::Executor::set_timing)),
//!   the time spent polling and parked. Counting is a `Cell` increment;
//!   timing costs one clock read per turn of the run loop.
//! * [`Dump`]: every unfinished task with its name (see
//!   [`task::Builder`](crate::task::Builder)) or spawn location, its state,
//!   how often it was polled and how long ago it last ran. `Display` prints
//!   a table, e.g. from a task that waits for a signal on Unix or for a key
//!   on the Xen console.

use alloc::borrow::Cow;
use alloc::vec::Vec;
use core::fmt;
use core::panic::Location;
use core::time::Duration;

/// The executor's counters; see the module doc.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stats {
    /// Tasks spawned so far.
    pub spawned: u64,
    /// Tasks spawned and not yet finished.
    pub live: usize,
    /// Task polls so far.
    pub polls: u64,
    /// Wakes on the executor's own thread (the fast path).
    pub wakes_local: u64,
    /// Wakes that arrived from another thread, executor or context.
    pub wakes_remote: u64,
    /// Times the executor parked (including zero-timeout I/O polls).
    pub parks: u64,
    /// Timers waiting in the wheel.
    pub timers: usize,
    /// Time spent parked (only counted while timing is on).
    pub time_parked: Duration,
    /// Time spent running (only counted while timing is on).
    pub time_polling: Duration,
}

/// What a task is doing, as far as the executor knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TaskState {
    /// Ready: in the run queue.
    Queued,
    /// Being polled (the task that asked for the dump).
    Running,
    /// Waiting for a wake-up.
    Waiting,
    /// `abort()` was called; it will be dropped at its next turn.
    Aborting,
}

/// One unfinished task in a [`Dump`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct TaskInfo {
    /// The name given with `task::Builder::name`, if any.
    pub name: Option<Cow<'static, str>>,
    /// Where it was spawned.
    pub location: &'static Location<'static>,
    /// What it is doing.
    pub state: TaskState,
    /// Times polled (wraps at 2^32).
    pub polls: u32,
    /// Since its last poll: turns of the run loop, or with timing on, the
    /// time (to a millisecond).
    pub idle: Idle,
}

impl TaskInfo {
    pub(crate) fn new(
        location: &'static Location<'static>,
        state: TaskState,
        polls: u32,
        idle: Idle,
    ) -> TaskInfo {
        TaskInfo {
            name: None,
            location,
            state,
            polls,
            idle,
        }
    }
}

/// How long a task has not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Idle {
    /// Never polled yet.
    NeverPolled,
    /// Turns of the run loop since its last poll (timing off).
    Turns(u32),
    /// Time since its last poll (timing on; millisecond resolution).
    Time(Duration),
}

/// A snapshot of every unfinished task of an executor.
#[derive(Debug, Clone, Default)]
pub struct Dump {
    /// The tasks, newest first.
    pub tasks: Vec<TaskInfo>,
    /// The executor's counters at the time of the dump.
    pub stats: Stats,
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.stats;
        writeln!(
            f,
            "shimmer: {} live tasks ({} spawned), {} polls, {} local / {} remote wakes, {} parks, {} timers",
            s.live, s.spawned, s.polls, s.wakes_local, s.wakes_remote, s.parks, s.timers
        )?;
        if s.time_parked != Duration::ZERO || s.time_polling != Duration::ZERO {
            writeln!(
                f,
                "  time polling {:?}, parked {:?}",
                s.time_polling, s.time_parked
            )?;
        }
        for t in &self.tasks {
            let state = match t.state {
                TaskState::Queued => "queued",
                TaskState::Running => "running",
                TaskState::Waiting => "waiting",
                TaskState::Aborting => "aborting",
            };
            match &t.name {
                Some(name) => write!(f, "  {name:<24}")?,
                None => write!(f, "  {:<24}", "(unnamed)")?,
            }
            write!(f, " {state:<8} polls {:<8}", t.polls)?;
            match t.idle {
                Idle::NeverPolled => write!(f, " never polled")?,
                Idle::Turns(n) => write!(f, " idle {n} turns")?,
                Idle::Time(d) => write!(f, " idle {d:?}")?,
            }
            writeln!(f, "  spawned at {}", t.location)?;
        }
        Ok(())
    }
}

/// The current executor's counters.
///
/// # Panics
/// Outside a shimmer executor.
#[track_caller]
pub fn stats() -> Stats {
    crate::executor::context::with_current("introspect::stats", |core| core.stats())
}

/// Every unfinished task of the current executor (see [`Dump`]).
///
/// # Panics
/// Outside a shimmer executor.
#[track_caller]
pub fn dump() -> Dump {
    crate::executor::context::with_current("introspect::dump", |core| core.dump())
}
