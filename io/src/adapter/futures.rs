//! `Flow` ⇄ `futures_io` (feature `std`).

use alloc::boxed::Box;
use alloc::rc::Rc;
use core::cell::{Cell, RefCell};
use core::fmt;
use core::future::{poll_fn, Future};
use core::pin::Pin;
use core::task::{Context, Poll};
use std::io;

use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};

use crate::flow::{read_into_page, Flow, Shutdown};
use crate::mem::WakerList;
use crate::page::{Buf, PagePool, PAGE_SIZE};
use crate::{Error, Result};

type Op<T> = Pin<Box<dyn Future<Output = Result<T>>>>;

// === impl FuturesIo ===

/// A [`Flow`] as `futures_io::{AsyncRead, AsyncBufRead, AsyncWrite}`, for
/// crates written against futures-io (futures-lite, async-compression,
/// codecs…).
///
/// Poll-based traits cannot hold a `Flow`'s borrowing futures, so the flow
/// is kept in an `Rc` and each operation in flight is a boxed future owning
/// a clone. A read in flight keeps going until it completes (its data is
/// kept for the next `poll_read`), so nothing is lost if the caller stops
/// polling. `poll_write` accepts up to a page at a time (copied into a pool
/// page) and reports it written once the flow has taken it or is sending it;
/// errors of a write still in flight surface at the next `poll_write`,
/// `poll_flush` or `poll_close`. `poll_close` is `shutdown(Write)`, as for a
/// futures-io socket: the peer reads EOF, reading here goes on; the flow is
/// closed when the adapter is dropped.
///
/// ```
/// use futures_lite::{AsyncReadExt, AsyncWriteExt};
/// use shimmer_io::adapter::FuturesIo;
///
/// shimmer_executor::block_on(async {
///     let (a, b) = shimmer_io::mem::pipe(4096);
///     let (mut a, mut b) = (FuturesIo::new(a), FuturesIo::new(b));
///     a.write_all(b"hello").await?;
///     a.close().await?;
///     let mut got = String::new();
///     b.read_to_string(&mut got).await?;
///     assert_eq!(got, "hello");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
pub struct FuturesIo<F> {
    flow: Rc<F>,
    pool: PagePool,
    reading: Option<Op<Option<Buf>>>,
    pending: Option<Buf>,
    eof: bool,
    writing: Option<Op<()>>,
    closing: Option<Op<()>>,
}

impl<F: Flow + 'static> FuturesIo<F> {
    /// Wraps `flow`; writes are copied into pages of the current pool.
    pub fn new(flow: F) -> FuturesIo<F> {
        FuturesIo::with_pool(Rc::new(flow), PagePool::current())
    }

    /// Wraps a shared `flow`; writes are copied into pages of `pool`.
    pub fn with_pool(flow: Rc<F>, pool: PagePool) -> FuturesIo<F> {
        FuturesIo {
            flow,
            pool,
            reading: None,
            pending: None,
            eof: false,
            writing: None,
            closing: None,
        }
    }

    /// The flow.
    pub fn get_ref(&self) -> &F {
        &self.flow
    }

    /// Makes sure `pending` holds unread bytes, or reports EOF (`false`).
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<bool>> {
        if self.pending.as_ref().is_some_and(|p| !p.is_empty()) {
            return Poll::Ready(Ok(true));
        }
        if self.eof {
            return Poll::Ready(Ok(false));
        }
        let op = self.reading.get_or_insert_with(|| {
            let flow = self.flow.clone();
            Box::pin(async move { flow.read().await })
        });
        let r = core::task::ready!(op.as_mut().poll(cx));
        self.reading = None;
        match r {
            Ok(Some(buf)) => {
                self.pending = Some(buf);
                Poll::Ready(Ok(true))
            }
            Ok(None) => {
                self.eof = true;
                Poll::Ready(Ok(false))
            }
            Err(e) => Poll::Ready(Err(e.into())),
        }
    }

    /// Drives the write in flight, if any, to its end.
    fn poll_written(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(op) = self.writing.as_mut() {
            let r = core::task::ready!(op.as_mut().poll(cx));
            self.writing = None;
            r?;
        }
        Poll::Ready(Ok(()))
    }
}

impl<F: Flow + 'static> AsyncRead for FuturesIo<F> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if !core::task::ready!(this.poll_fill(cx))? {
            return Poll::Ready(Ok(0));
        }
        let p = this.pending.as_mut().expect("filled");
        let n = buf.len().min(p.len());
        buf[..n].copy_from_slice(&p[..n]);
        p.advance(n);
        Poll::Ready(Ok(n))
    }
}

impl<F: Flow + 'static> AsyncBufRead for FuturesIo<F> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        let this = self.get_mut();
        if !core::task::ready!(this.poll_fill(cx))? {
            return Poll::Ready(Ok(&[]));
        }
        Poll::Ready(Ok(this.pending.as_deref().unwrap_or(&[])))
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        if let Some(p) = self.get_mut().pending.as_mut() {
            p.advance(amt.min(p.len()));
        }
    }
}

impl<F: Flow + 'static> AsyncWrite for FuturesIo<F> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        core::task::ready!(this.poll_written(cx))?;
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = buf.len().min(PAGE_SIZE);
        let page = this.pool.buf_from(&buf[..n]).map_err(io::Error::from)?;
        let flow = this.flow.clone();
        let mut op: Op<()> = Box::pin(async move { flow.write_buf(page).await });
        match op.as_mut().poll(cx) {
            Poll::Ready(r) => r?,
            // The flow has the bytes; the write finishes on a later poll.
            Poll::Pending => this.writing = Some(op),
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_mut().poll_written(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        core::task::ready!(this.poll_written(cx))?;
        let op = this.closing.get_or_insert_with(|| {
            let flow = this.flow.clone();
            Box::pin(async move { flow.shutdown(Shutdown::Write).await })
        });
        let r = core::task::ready!(op.as_mut().poll(cx));
        this.closing = None;
        Poll::Ready(r.map_err(io::Error::from))
    }
}

impl<F> fmt::Debug for FuturesIo<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FuturesIo")
            .field("eof", &self.eof)
            .finish_non_exhaustive()
    }
}

// === impl FuturesFlow ===

/// A `futures_io::{AsyncRead, AsyncWrite}` stream as a [`Flow`], reading
/// into pages of its pool. Each poll borrows the stream only while it runs,
/// so one task may read while another writes. `shutdown(Write)` is the
/// stream's `poll_close` (for a socket: the peer reads EOF);
/// `shutdown(Read)` only ends reading here (futures-io cannot tell the
/// peer); `close` is `poll_close` and then drops the stream (for a socket:
/// the peer's writes fail), waking any operation of ours still waiting.
///
/// ```
/// use shimmer_io::adapter::{FuturesFlow, FuturesIo};
/// use shimmer_io::flow::Flow;
/// use shimmer_io::page::PagePool;
///
/// shimmer_executor::block_on(async {
///     let (a, b) = shimmer_io::mem::pipe(4096);
///     // Any futures-io stream; here a pipe seen through FuturesIo.
///     let a = FuturesFlow::new(FuturesIo::new(a), PagePool::current());
///     a.write(b"over futures-io").await?;
///     a.close().await?;
///     assert_eq!(b.read().await?.unwrap(), *b"over futures-io");
///     assert!(b.read().await?.is_none());
///     Ok::<(), shimmer_io::Error>(())
/// })?;
/// # Ok::<(), shimmer_io::Error>(())
/// ```
pub struct FuturesFlow<T> {
    /// `None` once closed.
    io: RefCell<Option<T>>,
    pool: PagePool,
    read_done: Cell<bool>,
    write_shut: Cell<bool>,
    /// Our operations waiting on the stream, woken when `close` drops it.
    waiting: RefCell<WakerList>,
}

fn from_io(e: io::Error) -> Error {
    if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<Error>()) {
        return *inner;
    }
    use io::ErrorKind as K;
    match e.kind() {
        K::ConnectionReset | K::ConnectionAborted => Error::Reset,
        K::BrokenPipe => Error::BrokenPipe,
        K::NotConnected => Error::Closed,
        K::TimedOut => Error::TimedOut,
        K::OutOfMemory => Error::OutOfMemory,
        K::InvalidInput | K::InvalidData => Error::InvalidInput,
        K::Unsupported => Error::Unsupported,
        K::PermissionDenied => Error::ReadOnly,
        K::WouldBlock => Error::WouldBlock,
        _ => Error::Io,
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> FuturesFlow<T> {
    /// Wraps `io`; reads go into pages of `pool`.
    pub fn new(io: T, pool: PagePool) -> FuturesFlow<T> {
        FuturesFlow {
            io: RefCell::new(Some(io)),
            pool,
            read_done: Cell::new(false),
            write_shut: Cell::new(false),
            waiting: RefCell::new(WakerList::new()),
        }
    }

    /// The stream back (`None` after `close`).
    pub fn into_inner(self) -> Option<T> {
        self.io.into_inner()
    }

    fn is_closed(&self) -> bool {
        self.io.borrow().is_none()
    }

    /// Polls `op` on the stream: `Closed` once it is gone.
    fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnOnce(Pin<&mut T>, &mut Context<'_>) -> Poll<io::Result<R>>,
    ) -> Poll<Result<R>> {
        let mut io = self.io.borrow_mut();
        let Some(io) = io.as_mut() else {
            return Poll::Ready(Err(Error::Closed));
        };
        match op(Pin::new(io), cx) {
            Poll::Ready(r) => Poll::Ready(r.map_err(from_io)),
            Poll::Pending => {
                self.waiting.borrow_mut().register(cx.waker());
                Poll::Pending
            }
        }
    }

    async fn read_some(&self, buf: &mut [u8]) -> Result<usize> {
        let n = poll_fn(|cx| self.poll_io(cx, |io, cx| io.poll_read(cx, buf))).await?;
        if n == 0 {
            self.read_done.set(true);
        }
        Ok(n)
    }

    async fn close_write(&self) -> Result<()> {
        poll_fn(|cx| self.poll_io(cx, |io, cx| io.poll_close(cx))).await
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin> Flow for FuturesFlow<T> {
    async fn read(&self) -> Result<Option<Buf>> {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        if self.read_done.get() {
            return Ok(None);
        }
        read_into_page(&self.pool, async |page| self.read_some(page).await).await
    }

    async fn read_into(&self, buf: &mut [u8]) -> Result<usize> {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        if buf.is_empty() || self.read_done.get() {
            return Ok(0);
        }
        self.read_some(buf).await
    }

    async fn write(&self, mut data: &[u8]) -> Result<()> {
        if self.is_closed() || self.write_shut.get() {
            return Err(Error::Closed);
        }
        while !data.is_empty() {
            let n = poll_fn(|cx| self.poll_io(cx, |io, cx| io.poll_write(cx, data))).await?;
            if n == 0 {
                return Err(Error::BrokenPipe);
            }
            data = &data[n..];
        }
        Ok(())
    }

    async fn write_buf(&self, buf: Buf) -> Result<()> {
        self.write(&buf).await
    }

    async fn shutdown(&self, how: Shutdown) -> Result<()> {
        if self.is_closed() {
            return Err(Error::Closed);
        }
        if how.writes() && !self.write_shut.get() {
            self.close_write().await?;
            self.write_shut.set(true);
        }
        if how.reads() {
            self.read_done.set(true);
        }
        Ok(())
    }

    async fn close(&self) -> Result<()> {
        if self.is_closed() {
            return Ok(());
        }
        if !self.write_shut.get() {
            self.close_write().await?;
            self.write_shut.set(true);
        }
        let stream = self.io.borrow_mut().take();
        drop(stream);
        self.waiting.borrow_mut().wake_all();
        Ok(())
    }
}

impl<T> fmt::Debug for FuturesFlow<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FuturesFlow")
            .field("closed", &self.io.borrow().is_none())
            .finish_non_exhaustive()
    }
}
