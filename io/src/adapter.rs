//! Adapters between [`Flow`](crate::flow::Flow) and the ecosystem's I/O
//! traits, so that existing crates run over shimmer flows and shimmer code
//! runs over existing streams:
//!
//! | from | to | type |
//! |---|---|---|
//! | `Flow` | `embedded_io_async::{Read, BufRead, Write}` | [`FlowIo`] |
//! | `embedded_io_async::{Read, Write}` | `Flow` | [`EmbeddedFlow`] |
//! | `Flow` | `futures_io::{AsyncRead, AsyncBufRead, AsyncWrite}` (`std`) | `FuturesIo` |
//! | `futures_io::{AsyncRead, AsyncWrite}` | `Flow` (`std`) | `FuturesFlow` |
//!
//! Reads through an adapter keep the zero-copy path where the other side
//! allows it: `FlowIo`'s `BufRead` lends the flow's own `Buf`, and the
//! `Flow`s made from foreign streams read into pool pages.

mod embedded;
#[cfg(feature = "std")]
mod futures;
mod slot;

pub use embedded::{EmbeddedFlow, FlowIo};
#[cfg(feature = "std")]
pub use futures::{FuturesFlow, FuturesIo};
