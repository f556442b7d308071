//! Single-threaded synchronisation primitives: what Lwt_mutex,
//! Lwt_condition, Lwt_mvar, `Lwt.wait`, Lwt_stream and Lwt_pool are to Lwt,
//! plus tokio's `Semaphore` and `Notify`.
//!
//! | Lwt / tokio                           | shimmer                                   |
//! |---------------------------------------|-------------------------------------------|
//! | `Lwt_mutex`                           | [`Mutex<T>`] (holds the data it protects) |
//! | `Lwt_condition` (`wait ?mutex`, `signal`, `broadcast`) | [`Condition<T>`] ([`Condition::wait_with`] takes the guard) |
//! | `Lwt_mvar` (`put`, `take`, `take_available`) | [`MVar<T>`]                        |
//! | `Lwt.wait` / `Lwt.wakeup`             | [`oneshot::channel`] / [`oneshot::Sender::send`] |
//! | `Lwt_stream.create` / `create_bounded`| [`channel::unbounded`] / [`channel::bounded`] (a [`Stream`](futures_core::Stream)) |
//! | `Lwt_pool`                            | [`Pool`] with a [`pool::Manager`]         |
//! | `tokio::sync::Semaphore`              | [`Semaphore`]                             |
//! | `tokio::sync::Notify`                 | [`Notify`]                                |
//!
//! # Why a separate set, and what they promise
//!
//! shimmer runs every task of an executor on one thread, so these need no
//! atomics: state is in `Cell`s, and the types are `!Sync` (handles that
//! share state through an `Rc` are `!Send` too). They rely only on
//! `core::task` wakers, so they work under any executor, not just
//! shimmer's. All of them share the same waiting discipline (see
//! `wait_queue.rs`):
//!
//! * **No allocation per wait.** A waiting future links a node that lives
//!   inside itself into the primitive's intrusive list.
//! * **FIFO.** Waiters are served in the order they started waiting.
//!   What they wait for (a lock, permits, a value slot, a notification)
//!   is *handed* to the oldest waiter before it runs, so a latecomer that
//!   happens to be polled first cannot take it.
//! * **Cancellation-safe.** Dropping a waiting future unlinks it. If it
//!   had already been handed something, that passes to the next waiter (or
//!   back to the primitive): a lock, a permit, a value or a notification is
//!   never lost with a cancelled task. Values in flight live in the
//!   primitive or in the sender's own future, never in a receiver that
//!   could vanish with them.
//! * **No re-entrancy hazards.** Wakers, `Clone` and `Drop` of user types
//!   run only after the primitive's state is consistent and nothing is
//!   borrowed.
//!
//! Futures are lazy: a waiter is queued at its first poll. `Notified` and
//! `Wait` have an `enable` method to queue before that.
//!
//! The primitives stay on their thread: they are `!Sync`, and the handles
//! that share an `Rc` (channel ends, `oneshot` ends) are `!Send`.
//!
//! ```compile_fail
//! fn is_sync<T: Sync>() {}
//! is_sync::<shimmer_executor::sync::Mutex<u32>>();
//! ```
//! ```compile_fail
//! fn is_sync<T: Sync>() {}
//! is_sync::<shimmer_executor::sync::Semaphore>();
//! ```
//! ```compile_fail
//! fn is_send<T: Send>() {}
//! is_send::<shimmer_executor::sync::channel::Sender<u32>>();
//! ```
//! ```compile_fail
//! fn is_send<T: Send>() {}
//! is_send::<shimmer_executor::sync::oneshot::Receiver<u32>>();
//! ```
//! ```compile_fail
//! // A guard cannot leave the thread either.
//! fn is_send<T: Send>() {}
//! is_send::<shimmer_executor::sync::MutexGuard<'static, u32>>();
//! ```
//!
//! A primitive that owns no shared handle may move to another thread
//! while nobody waits on it (a waiter borrows it, so it cannot move then):
//!
//! ```
//! fn is_send<T: Send>() {}
//! is_send::<shimmer_executor::sync::Mutex<u32>>();
//! is_send::<shimmer_executor::sync::MVar<u32>>();
//! ```

pub mod channel;
mod condition;
mod mutex;
mod mvar;
mod notify;
pub mod oneshot;
pub mod pool;
mod semaphore;
mod wait_queue;

pub use condition::{Condition, Wait};
pub use mutex::{Lock, Mutex, MutexGuard, TryLockError};
pub use mvar::{MVar, Put, Take, TryPutError};
pub use notify::{Notified, Notify};
pub use pool::{Pool, Pooled};
pub use semaphore::{Acquire, AcquireError, Semaphore, SemaphorePermit, TryAcquireError};
