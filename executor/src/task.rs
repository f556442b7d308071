//! Tasks: spawning ([`spawn`], [`Builder`]), awaiting ([`JoinHandle`]).
//!
//! Inside: the heap block that holds a spawned future (`raw`), its header
//! (`header`), the waker that points at it (`waker`), the handle that awaits
//! it (`join`) and the recycling of blocks (`block_cache`).

pub(crate) mod block_cache;
pub(crate) mod header;
pub(crate) mod join;
pub(crate) mod raw;
pub(crate) mod waker;

use alloc::borrow::Cow;
use core::future::Future;
use core::panic::Location;

pub use join::{JoinError, JoinHandle};

/// Spawns `future` on the current executor. The task is lazy: the run loop
/// polls it first, never `spawn` itself. It need not be `Send`.
///
/// # Panics
/// Outside a shimmer executor.
#[track_caller]
pub fn spawn<F>(future: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    let location = Location::caller();
    crate::executor::context::with_current("spawn", |core| core.spawn(future, None, location))
}

/// Spawns a task with options: today, a name that
/// [`dump`](crate::introspect::dump) shows.
///
/// ```
/// use shimmer_executor::{block_on, introspect, task};
///
/// block_on(async {
///     let h = task::Builder::new()
///         .name(format!("connection {}", 7))
///         .spawn(std::future::pending::<()>());
///     let dump = introspect::dump();
///     assert_eq!(dump.tasks[0].name.as_deref(), Some("connection 7"));
///     h.abort();
/// });
/// ```
#[derive(Debug, Default, Clone)]
#[must_use = "a Builder does nothing until .spawn() is called"]
pub struct Builder {
    name: Option<Cow<'static, str>>,
}

impl Builder {
    /// A builder with no options set.
    pub fn new() -> Builder {
        Builder::default()
    }

    /// Names the task (a `&'static str` costs no allocation).
    pub fn name(mut self, name: impl Into<Cow<'static, str>>) -> Builder {
        self.name = Some(name.into());
        self
    }

    /// Spawns `future` on the current executor, like [`spawn`].
    ///
    /// # Panics
    /// Outside a shimmer executor.
    #[track_caller]
    pub fn spawn<F>(self, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        let location = Location::caller();
        crate::executor::context::with_current("task::Builder::spawn", |core| {
            core.spawn(future, self.name, location)
        })
    }

    /// Spawns `future` on `executor` (lazily, like [`Executor::spawn`](crate::Executor::spawn)).
    #[track_caller]
    pub fn spawn_on<F>(self, executor: &crate::Executor, future: F) -> JoinHandle<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        executor.core().spawn(future, self.name, Location::caller())
    }
}
