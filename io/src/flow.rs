//! [`Flow`]: a reliable, ordered, bidirectional byte stream (Mirage's FLOW):
//! a TCP connection, a pipe, a serial console.
//!
//! Reading is zero-copy: [`Flow::read`] returns the [`Buf`] the data arrived
//! in (the page a device filled), so a parser slices it instead of copying.
//! [`Flow::read_into`] copies, for code that has its own buffer.
//!
//! Methods take `&self`: one task may read while another writes (Lwt style;
//! share the flow with an `Rc`). Two tasks reading at once each get whole
//! pieces of the stream in an unspecified interleaving.
//!
//! # Contract (checked by `conformance::flow`)
//!
//! * Bytes arrive in order, unchanged, each once.
//! * `read` returns `Ok(None)` at end of stream (the peer shut down its write
//!   side or closed) once the data before it was read, and keeps returning
//!   `Ok(None)` after that.
//! * After `shutdown(Write)` or `close` here, the peer reads what was written
//!   before, then end of stream; writing here is [`Error::Closed`].
//! * After `close` here, reading here is [`Error::Closed`]; `close` again is
//!   `Ok(())`.
//! * Writing to a peer that closed (or shut down its read side) is
//!   [`Error::BrokenPipe`] — or [`Error::Reset`] after a reset — never a
//!   hang: a writer blocked on a full flow is woken with the error.
//!
//! # Cancellation
//!
//! Each method documents what dropping its future half way means. In short:
//! a dropped read consumed nothing; a dropped write wrote a prefix of its data
//! (possibly none, possibly all) and left the flow usable. Buffers a write
//! hands to a device are owned (`write_buf`, `write_chain`), never borrowed
//! past the future.
//!
//! [`Error::Closed`]: crate::Error::Closed
//! [`Error::BrokenPipe`]: crate::Error::BrokenPipe
//! [`Error::Reset`]: crate::Error::Reset
//!
//! ```
//! use shimmer_io::flow::Flow;
//! use shimmer_io::mem;
//!
//! shimmer_executor::block_on(async {
//!     let (a, b) = mem::pipe(64 * 1024);
//!     a.write(b"hello, ").await?;
//!     a.writev(&[b"wor", b"ld"]).await?;
//!     a.close().await?;
//!     let mut got = Vec::new();
//!     while let Some(buf) = b.read().await? {
//!         got.extend_from_slice(&buf); // `buf` is a view of a pool page
//!     }
//!     assert_eq!(got, b"hello, world");
//!     assert!(b.read().await?.is_none()); // EOF stays EOF
//!     Ok::<(), shimmer_io::Error>(())
//! })?;
//! # Ok::<(), shimmer_io::Error>(())
//! ```

use crate::page::{Buf, BufChain, PagePool};
use crate::Result;

/// Which direction(s) [`Flow::shutdown`] ends.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Shutdown {
    /// No more reading: later reads return end of stream, and the peer's
    /// writes fail with [`Error::BrokenPipe`](crate::Error::BrokenPipe) (or
    /// are discarded, on a transport that cannot tell the peer).
    Read,
    /// No more writing: the peer reads end of stream after the data already
    /// written.
    Write,
    /// Both.
    Both,
}

impl Shutdown {
    /// Whether this ends the read direction.
    pub fn reads(self) -> bool {
        matches!(self, Shutdown::Read | Shutdown::Both)
    }

    /// Whether this ends the write direction.
    pub fn writes(self) -> bool {
        matches!(self, Shutdown::Write | Shutdown::Both)
    }
}

/// A reliable, ordered, bidirectional byte stream (see the
/// [module doc](self) for the contract).
// The futures of a single-threaded runtime are !Send by nature; no Send
// bound is wanted on them.
#[allow(async_fn_in_trait)]
pub trait Flow {
    /// The next bytes of the stream, as they arrived (zero-copy), or
    /// `Ok(None)` at end of stream — again and again once reached. Never
    /// returns an empty `Buf`.
    ///
    /// Cancellation: dropping the future consumes nothing; the bytes it would
    /// have returned are returned by the next read.
    ///
    /// Errors: [`Error::Closed`](crate::Error::Closed) after `close` here,
    /// [`Error::Reset`](crate::Error::Reset) after a reset.
    async fn read(&self) -> Result<Option<Buf>>;

    /// Copies the next bytes of the stream into `buf`; returns how many, `0`
    /// only at end of stream (or for an empty `buf`, at once).
    ///
    /// Cancellation: as [`read`](Flow::read): nothing is consumed unless
    /// returned.
    async fn read_into(&self, buf: &mut [u8]) -> Result<usize>;

    /// Writes all of `data`, copying it into the flow's own buffers; returns
    /// once it is all queued for sending (not when the peer has it).
    ///
    /// Cancellation: a prefix of `data` — none, some, or all of it — has been
    /// written, and the flow is usable; the caller cannot tell how much, so a
    /// framed protocol should close the flow.
    ///
    /// Errors: [`Error::Closed`](crate::Error::Closed) after `shutdown(Write)`
    /// or `close` here, [`Error::BrokenPipe`](crate::Error::BrokenPipe) /
    /// [`Error::Reset`](crate::Error::Reset) when the peer is gone.
    async fn write(&self, data: &[u8]) -> Result<()>;

    /// Writes `buf`, without copying where the transport allows (the page
    /// goes to the device or the peer as is).
    ///
    /// Cancellation: as [`write`](Flow::write); whatever part the flow took
    /// stays with it (and its page with it) until sent.
    async fn write_buf(&self, buf: Buf) -> Result<()>;

    /// Writes each slice of `bufs` in order, as one `write` of their
    /// concatenation would. Default: one `write` per slice.
    ///
    /// Cancellation: as [`write`](Flow::write).
    async fn writev(&self, bufs: &[&[u8]]) -> Result<()> {
        for b in bufs {
            self.write(b).await?;
        }
        Ok(())
    }

    /// Writes every segment of `chain` in order. Default: one `write_buf`
    /// per segment.
    ///
    /// Cancellation: as [`write`](Flow::write).
    async fn write_chain(&self, chain: BufChain) -> Result<()> {
        for b in chain {
            self.write_buf(b).await?;
        }
        Ok(())
    }

    /// Ends one or both directions (see [`Shutdown`]). Shutting down a
    /// direction twice is `Ok(())`.
    ///
    /// Cancellation: the shutdown has happened or not; the flow is usable.
    async fn shutdown(&self, how: Shutdown) -> Result<()>;

    /// Ends both directions and releases the flow: the peer reads what was
    /// written, then end of stream; later operations here (but `close`) are
    /// [`Error::Closed`](crate::Error::Closed).
    ///
    /// Cancellation: the flow is closed or not; closing again finishes it.
    async fn close(&self) -> Result<()>;
}

/// `&F` and `Rc<F>` are Flows too: every method forwards.
macro_rules! forward_flow {
    ($($ptr:ty),*) => {$(
        impl<F: Flow + ?Sized> Flow for $ptr {
    async fn read(&self) -> Result<Option<Buf>> {
        (**self).read().await
    }
    async fn read_into(&self, buf: &mut [u8]) -> Result<usize> {
        (**self).read_into(buf).await
    }
    async fn write(&self, data: &[u8]) -> Result<()> {
        (**self).write(data).await
    }
    async fn write_buf(&self, buf: Buf) -> Result<()> {
        (**self).write_buf(buf).await
    }
    async fn writev(&self, bufs: &[&[u8]]) -> Result<()> {
        (**self).writev(bufs).await
    }
    async fn write_chain(&self, chain: BufChain) -> Result<()> {
        (**self).write_chain(chain).await
    }
    async fn shutdown(&self, how: Shutdown) -> Result<()> {
        (**self).shutdown(how).await
    }
    async fn close(&self) -> Result<()> {
        (**self).close().await
    }
}
    )*};
}

forward_flow!(&F, alloc::rc::Rc<F>);

/// [`Flow::read`] for a flow whose transport copies into memory it is
/// given: one page of `pool`, filled by `read_into` (which returns how many
/// bytes it wrote, `0` at end of stream), handed out as a [`Buf`] of that
/// length; `Ok(None)` at end of stream (the page goes back to the pool).
pub async fn read_into_page(
    pool: &PagePool,
    read_into: impl AsyncFnOnce(&mut [u8]) -> Result<usize>,
) -> Result<Option<Buf>> {
    let mut page = pool.try_alloc()?;
    let n = read_into(&mut page[..]).await?;
    if n == 0 {
        return Ok(None);
    }
    let mut buf = page.freeze();
    buf.truncate(n);
    Ok(Some(buf))
}
