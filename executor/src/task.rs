//! Tasks: the heap block that holds a spawned future (`raw`), its header
//! (`header`), the waker that points at it (`waker`), and the handle that
//! awaits it (`join`).

pub(crate) mod block_cache;
pub(crate) mod header;
pub(crate) mod join;
pub(crate) mod raw;
pub(crate) mod waker;

use core::future::Future;

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
    crate::executor::context::with_current("spawn", |core| core.spawn(future))
}
