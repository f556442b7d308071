//! `Flow` ⇄ `embedded_io_async`.

use core::cell::Cell;
use core::fmt;

use embedded_io_async::{BufRead, ErrorKind, ErrorType, Read, Write};

use super::slot::IoSlot;
use crate::flow::{Flow, Shutdown};
use crate::page::{Buf, PagePool};
use crate::{Error, Result};

impl embedded_io_async::Error for Error {
    fn kind(&self) -> ErrorKind {
        match self {
            Error::PoolExhausted | Error::OutOfMemory => ErrorKind::OutOfMemory,
            Error::OutOfRange | Error::Unaligned | Error::InvalidInput | Error::TooLarge => {
                ErrorKind::InvalidInput
            }
            Error::ReadOnly => ErrorKind::PermissionDenied,
            Error::DeviceGone => ErrorKind::NotFound,
            Error::Closed => ErrorKind::NotConnected,
            Error::BrokenPipe => ErrorKind::BrokenPipe,
            Error::Reset => ErrorKind::ConnectionReset,
            Error::TimedOut => ErrorKind::TimedOut,
            Error::Unsupported => ErrorKind::Unsupported,
            _ => ErrorKind::Other,
        }
    }
}

/// The shimmer error for a foreign stream's error kind.
fn from_kind(kind: ErrorKind) -> Error {
    match kind {
        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted => Error::Reset,
        ErrorKind::BrokenPipe => Error::BrokenPipe,
        ErrorKind::NotConnected => Error::Closed,
        ErrorKind::TimedOut => Error::TimedOut,
        ErrorKind::OutOfMemory => Error::OutOfMemory,
        ErrorKind::InvalidInput | ErrorKind::InvalidData => Error::InvalidInput,
        ErrorKind::Unsupported => Error::Unsupported,
        ErrorKind::PermissionDenied => Error::ReadOnly,
        _ => Error::Io,
    }
}

fn map<E: embedded_io_async::Error>(e: E) -> Error {
    from_kind(e.kind())
}

// === impl FlowIo ===

/// A [`Flow`] as `embedded_io_async::{Read, BufRead, Write}`, for crates
/// written against embedded-io (TLS, MQTT, HTTP clients for embedded).
///
/// `read` copies (`Flow::read_into`); `fill_buf` lends the flow's own
/// [`Buf`] (zero-copy). `write` writes all it is given; `flush` has nothing
/// to do (a `Flow` write is queued when it returns). EOF is `Ok(0)`.
///
/// ```
/// use embedded_io_async::{Read, Write};
/// use shimmer_io::adapter::FlowIo;
///
/// shimmer_executor::block_on(async {
///     let (a, b) = shimmer_io::mem::pipe(4096);
///     let (mut a, mut b) = (FlowIo::new(a), FlowIo::new(b));
///     a.write_all(b"ping").await?;
///     let mut got = [0u8; 4];
///     b.read_exact(&mut got).await.unwrap();
///     assert_eq!(&got, b"ping");
///     Ok::<(), shimmer_io::Error>(())
/// })?;
/// # Ok::<(), shimmer_io::Error>(())
/// ```
pub struct FlowIo<F> {
    flow: F,
    /// What `fill_buf` read and `consume` has not yet taken.
    pending: Option<Buf>,
}

impl<F: Flow> FlowIo<F> {
    /// Wraps `flow`.
    pub fn new(flow: F) -> FlowIo<F> {
        FlowIo {
            flow,
            pending: None,
        }
    }

    /// The flow.
    pub fn get_ref(&self) -> &F {
        &self.flow
    }

    /// The flow back, with any bytes `fill_buf` read and nobody consumed.
    pub fn into_inner(self) -> (F, Option<Buf>) {
        (self.flow, self.pending)
    }
}

impl<F> ErrorType for FlowIo<F> {
    type Error = Error;
}

impl<F: Flow> Read for FlowIo<F> {
    /// Cancellation: nothing is consumed unless returned.
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize> {
        if let Some(p) = self.pending.as_mut().filter(|p| !p.is_empty()) {
            let n = buf.len().min(p.len());
            buf[..n].copy_from_slice(&p[..n]);
            p.advance(n);
            return Ok(n);
        }
        self.flow.read_into(buf).await
    }
}

impl<F: Flow> BufRead for FlowIo<F> {
    /// Cancellation: nothing is consumed unless returned.
    async fn fill_buf(&mut self) -> Result<&[u8]> {
        if self.pending.as_ref().is_none_or(|p| p.is_empty()) {
            self.pending = self.flow.read().await?;
        }
        Ok(self.pending.as_deref().unwrap_or(&[]))
    }

    fn consume(&mut self, amt: usize) {
        if let Some(p) = self.pending.as_mut() {
            p.advance(amt.min(p.len()));
        }
    }
}

impl<F: Flow> Write for FlowIo<F> {
    /// Writes all of `buf`. Cancellation: as `Flow::write` (a prefix).
    async fn write(&mut self, buf: &[u8]) -> Result<usize> {
        self.flow.write(buf).await?;
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

impl<F: fmt::Debug> fmt::Debug for FlowIo<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowIo")
            .field("flow", &self.flow)
            .finish_non_exhaustive()
    }
}

// === impl EmbeddedFlow ===

/// An `embedded_io_async::{Read, Write}` stream as a [`Flow`], reading into
/// pages of its pool.
///
/// The stream is one `&mut` object, so its operations take turns: a read
/// waiting for data holds it, and a write from another task waits for that
/// read to finish. (A stream that splits into reader and writer halves can
/// be wrapped as two `EmbeddedFlow`s.) embedded-io cannot shut a stream
/// down: `shutdown` flushes and then refuses further operations here, but the
/// peer is not told; `close` flushes and drops the stream (once the
/// operation in progress, if any, is over), which is what a peer notices for
/// a socket.
///
/// ```
/// use shimmer_io::adapter::{EmbeddedFlow, FlowIo};
/// use shimmer_io::flow::Flow;
/// use shimmer_io::page::PagePool;
///
/// shimmer_executor::block_on(async {
///     let (a, b) = shimmer_io::mem::pipe(4096);
///     // Any embedded-io stream; here a pipe seen through FlowIo.
///     let a = EmbeddedFlow::new(FlowIo::new(a), PagePool::current());
///     a.write(b"over embedded-io").await?;
///     assert_eq!(b.read().await?.unwrap(), *b"over embedded-io");
///     Ok::<(), shimmer_io::Error>(())
/// })?;
/// # Ok::<(), shimmer_io::Error>(())
/// ```
pub struct EmbeddedFlow<T> {
    io: IoSlot<T>,
    pool: PagePool,
    read_done: Cell<bool>,
    write_shut: Cell<bool>,
}

impl<T: Read + Write> EmbeddedFlow<T> {
    /// Wraps `io`; reads go into pages of `pool`.
    pub fn new(io: T, pool: PagePool) -> EmbeddedFlow<T> {
        EmbeddedFlow {
            io: IoSlot::new(io),
            pool,
            read_done: Cell::new(false),
            write_shut: Cell::new(false),
        }
    }

    /// The stream back (`None` if an operation is using it right now, or
    /// after `close`).
    pub fn into_inner(self) -> Option<T> {
        self.io.into_inner()
    }

    fn check_open(&self) -> Result<()> {
        if self.io.is_gone() {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    fn check_write(&self) -> Result<()> {
        self.check_open()?;
        if self.write_shut.get() {
            return Err(Error::Closed);
        }
        Ok(())
    }
}

impl<T: Read + Write> Flow for EmbeddedFlow<T> {
    async fn read(&self) -> Result<Option<Buf>> {
        self.check_open()?;
        if self.read_done.get() {
            return Ok(None);
        }
        let mut page = self.pool.try_alloc()?;
        let n = self
            .io
            .take()
            .await?
            .read(&mut page[..])
            .await
            .map_err(map)?;
        if n == 0 {
            self.read_done.set(true);
            return Ok(None);
        }
        let mut buf = page.freeze();
        buf.truncate(n);
        Ok(Some(buf))
    }

    async fn read_into(&self, buf: &mut [u8]) -> Result<usize> {
        self.check_open()?;
        if buf.is_empty() || self.read_done.get() {
            return Ok(0);
        }
        let n = self.io.take().await?.read(buf).await.map_err(map)?;
        if n == 0 {
            self.read_done.set(true);
        }
        Ok(n)
    }

    async fn write(&self, data: &[u8]) -> Result<()> {
        self.check_write()?;
        let mut io = self.io.take().await?;
        io.write_all(data).await.map_err(map)
    }

    async fn write_buf(&self, buf: Buf) -> Result<()> {
        self.write(&buf).await
    }

    async fn shutdown(&self, how: Shutdown) -> Result<()> {
        self.check_open()?;
        if how.writes() && !self.write_shut.get() {
            self.io.take().await?.flush().await.map_err(map)?;
            self.write_shut.set(true);
        }
        if how.reads() {
            self.read_done.set(true);
        }
        Ok(())
    }

    async fn close(&self) -> Result<()> {
        let mut io = match self.io.take().await {
            Ok(io) => io,
            Err(_) => return Ok(()), // closed already
        };
        if !self.write_shut.get() {
            io.flush().await.map_err(map)?;
        }
        io.retire();
        Ok(())
    }
}

impl<T> fmt::Debug for EmbeddedFlow<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EmbeddedFlow")
            .field("closed", &self.io.is_gone())
            .finish_non_exhaustive()
    }
}
