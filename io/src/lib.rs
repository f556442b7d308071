//! shimmer-io: the FLOW / BLOCK / NET / CLOCK traits and the zero-copy page
//! pool that every backend implements and every stack is written against.
//!
//! * [`page`]: the [`PagePool`](page::PagePool) of 4 KiB pages and the
//!   zero-copy buffers cut from it ([`Page`](page::Page), [`Buf`](page::Buf),
//!   [`BufChain`](page::BufChain)).
//! * The traits every backend implements: [`flow::Flow`] (byte streams),
//!   [`block::Block`] (block devices), [`net::Net`] (Ethernet devices),
//!   [`clock::Clock`] (time).
//! * [`mem`]: in-memory devices for tests: [`mem::pipe`], [`mem::RamDisk`],
//!   [`mem::link`].
//! * [`adapter`]: flows as `embedded-io-async` (and, with `std`,
//!   `futures-io`) streams and back, so ecosystem crates run over them.
//! * [`conformance`]: the suites every implementation of a trait must pass.
//! * [`Error`]: the crate's one error type.
//!
//! `no_std` + `alloc`; the `std` feature (default) adds the thread-local
//! current pool (made on first use), conversions to `std::io::Error`, the
//! futures-io adapters and `StdClock`. Only the `page` module contains
//! `unsafe` code (the crate denies it everywhere else).
#![no_std]
#![warn(missing_docs)]
#![deny(unsafe_code)]

extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod adapter;
pub mod block;
pub mod clock;
pub mod conformance;
mod error;
pub mod flow;
pub mod mem;
pub mod net;
#[allow(unsafe_code)] // the pool and its buffers: see page.rs
pub mod page;

pub use error::{Error, Result};
