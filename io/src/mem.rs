//! In-memory devices for tests (and for the conformance suites): other
//! crates test their stacks over these.
//!
//! * [`pipe`]: two connected [`Flow`](crate::flow::Flow)s with a bounded
//!   buffer in each direction (reads are zero-copy: the reader gets the
//!   pages the writer filled).
//! * [`RamDisk`]: a sparse [`Block`](crate::block::Block) device with fault
//!   injection: fail request N, slow responses (on the executor's timers),
//!   torn writes, read-only mode, detach.
//! * [`link`]: two connected [`Net`](crate::net::Net)s with seeded loss,
//!   duplication, reordering and delay.
//!
//! All are single-threaded (`!Send`), like the rest of shimmer. Pages come
//! from the pool given (or [`PagePool::current`](crate::page::PagePool::current)).

mod link;
mod pipe;
mod ramdisk;
mod wakers;
pub(crate) use wakers::WakerList;

pub use link::{link, LinkConfig, MemNet};
pub use pipe::{pipe, pipe_with_pool, MemFlow};
pub use ramdisk::RamDisk;
