//! Reusable conformance suites, one per trait: [`flow`], [`block`]
//! (+ [`block_read_only`]) and [`net`]. A backend runs the same suite as the
//! in-memory devices (`io/tests/conformance.rs` runs them on `mem`):
//!
//! ```
//! use shimmer_io::{conformance, mem};
//! shimmer_executor::block_on(conformance::flow(|pool| async move {
//!     mem::pipe_with_pool(pool, 8192)
//! }));
//! ```
//!
//! Each suite is an `async fn` to run inside a shimmer executor (it spawns
//! tasks and uses timers). It makes a fresh device (or pair) for each case
//! with the factory it is given, passing it the [`PagePool`](crate::page::PagePool)
//! the device must take its pages from (a capped pool of the suite's own),
//! and panics with the case's name on the first broken contract, so a
//! `#[test]` that runs it fails with a clear message. Hangs are failures
//! too: every wait is bounded.
//!
//! Cancellation is checked at every await point: the operation is polled
//! `k` times and then dropped, for `k = 0, 1, 2, …, 63` and then
//! `64, 128, …` (the later await points of a long transfer are all alike)
//! until it completes by itself; after each drop the suite checks that the contract's promise held
//! (nothing lost, or a prefix written), that the device still works, and,
//! once the device is dropped, that every page is back in the pool.

mod block;
mod flow;
mod net;
mod support;

pub use block::{block, block_read_only};
pub use flow::flow;
pub use net::net;
