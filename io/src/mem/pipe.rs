//! [`pipe`]: two connected in-memory [`Flow`]s.

use alloc::collections::VecDeque;
use alloc::rc::Rc;
use core::cell::{Cell, RefCell};
use core::fmt;
use core::future::poll_fn;
use core::task::{Context, Poll};

use super::wakers::WakerList;
use crate::flow::{Flow, Shutdown};
use crate::page::{Buf, PagePool, PAGE_SIZE};
use crate::{Error, Result};

/// Two connected flows: what one writes, the other reads. Each direction
/// buffers up to `capacity` bytes (at least 1); a writer waits while its
/// direction is full. Pages come from [`PagePool::current`].
///
/// Reads are zero-copy: `write` copies into pool pages (once), and `read`
/// returns those pages; `write_buf` passes the caller's `Buf` through as is.
///
/// ```
/// use shimmer_io::flow::Flow;
/// shimmer_executor::block_on(async {
///     let (a, b) = shimmer_io::mem::pipe(4);
///     let writer = shimmer_executor::spawn(async move {
///         a.write(b"more than four bytes").await // waits for the reader
///     });
///     let mut got = [0u8; 32];
///     let mut n = 0;
///     while n < 20 {
///         n += b.read_into(&mut got[n..]).await?;
///     }
///     writer.await.unwrap()?;
///     assert_eq!(&got[..20], b"more than four bytes");
///     Ok::<(), shimmer_io::Error>(())
/// })?;
/// # Ok::<(), shimmer_io::Error>(())
/// ```
pub fn pipe(capacity: usize) -> (MemFlow, MemFlow) {
    pipe_with_pool(PagePool::current(), capacity)
}

/// [`pipe`] with its pages from `pool`.
pub fn pipe_with_pool(pool: PagePool, capacity: usize) -> (MemFlow, MemFlow) {
    let shared = Rc::new(Shared {
        dirs: [
            RefCell::new(Direction::new(capacity.max(1))),
            RefCell::new(Direction::new(capacity.max(1))),
        ],
    });
    let a = MemFlow {
        shared: shared.clone(),
        side: 0,
        pool: pool.clone(),
        closed: Cell::new(false),
    };
    let b = MemFlow {
        shared,
        side: 1,
        pool,
        closed: Cell::new(false),
    };
    (a, b)
}

/// One direction of a pipe: bytes written by one side, read by the other.
struct Direction {
    queue: VecDeque<Buf>,
    queued: usize,
    capacity: usize,
    /// The writing side shut down its write half: EOF after the queue.
    write_shut: bool,
    /// The reading side shut down its read half: writes fail.
    read_shut: bool,
    /// The connection was reset: both sides fail.
    reset: bool,
    readers: WakerList,
    writers: WakerList,
}

impl Direction {
    fn new(capacity: usize) -> Direction {
        Direction {
            queue: VecDeque::new(),
            queued: 0,
            capacity,
            write_shut: false,
            read_shut: false,
            reset: false,
            readers: WakerList::new(),
            writers: WakerList::new(),
        }
    }

    /// Why a write cannot go on, if it cannot.
    fn write_error(&self) -> Option<Error> {
        if self.reset {
            Some(Error::Reset)
        } else if self.write_shut {
            Some(Error::Closed)
        } else if self.read_shut {
            Some(Error::BrokenPipe)
        } else {
            None
        }
    }

    fn wake_all(&mut self) {
        self.readers.wake_all();
        self.writers.wake_all();
    }
}

struct Shared {
    dirs: [RefCell<Direction>; 2],
}

/// One end of a [`pipe`]. Dropping it closes it.
pub struct MemFlow {
    shared: Rc<Shared>,
    side: usize,
    pool: PagePool,
    closed: Cell<bool>,
}

impl MemFlow {
    /// The direction this end writes into.
    fn out(&self) -> &RefCell<Direction> {
        &self.shared.dirs[self.side]
    }

    /// The direction this end reads from.
    fn inn(&self) -> &RefCell<Direction> {
        &self.shared.dirs[1 - self.side]
    }

    /// Resets the connection (an abortive close, TCP's RST): queued data is
    /// dropped, the peer's reads and writes fail with [`Error::Reset`], and
    /// this end is closed.
    pub fn reset(&self) {
        for dir in &self.shared.dirs {
            let mut d = dir.borrow_mut();
            d.reset = true;
            d.queue.clear();
            d.queued = 0;
            d.wake_all();
        }
        self.closed.set(true);
    }

    /// Bytes queued for the peer and not yet read.
    pub fn queued(&self) -> usize {
        self.out().borrow().queued
    }

    fn poll_read(&self, cx: &mut Context<'_>, into: Option<&mut [u8]>) -> Poll<Result<ReadOut>> {
        if self.closed.get() {
            return Poll::Ready(Err(Error::Closed));
        }
        let mut d = self.inn().borrow_mut();
        if d.reset {
            return Poll::Ready(Err(Error::Reset));
        }
        if let Some(front) = d.queue.front_mut() {
            let out = match into {
                None => {
                    let buf = d.queue.pop_front().expect("front exists");
                    d.queued -= buf.len();
                    ReadOut::Buf(buf)
                }
                Some(dst) => {
                    let n = dst.len().min(front.len());
                    dst[..n].copy_from_slice(&front[..n]);
                    front.advance(n);
                    if front.is_empty() {
                        d.queue.pop_front();
                    }
                    d.queued -= n;
                    ReadOut::Copied(n)
                }
            };
            d.writers.wake_all();
            return Poll::Ready(Ok(out));
        }
        if d.write_shut || d.read_shut {
            return Poll::Ready(Ok(ReadOut::Eof));
        }
        d.readers.register(cx.waker());
        Poll::Pending
    }

    /// Room for how many bytes, once there is some (or the error that ends
    /// the write).
    fn poll_room(&self, cx: &mut Context<'_>) -> Poll<Result<usize>> {
        if self.closed.get() {
            return Poll::Ready(Err(Error::Closed));
        }
        let mut d = self.out().borrow_mut();
        if let Some(e) = d.write_error() {
            return Poll::Ready(Err(e));
        }
        let room = d.capacity - d.queued;
        if room == 0 {
            d.writers.register(cx.waker());
            return Poll::Pending;
        }
        Poll::Ready(Ok(room))
    }

    /// `Ok` if a write could go on (ignoring room).
    fn check_write(&self) -> Result<()> {
        if self.closed.get() {
            return Err(Error::Closed);
        }
        match self.out().borrow().write_error() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Queues `buf` (already checked to fit).
    fn push(&self, buf: Buf) {
        let mut d = self.out().borrow_mut();
        d.queued += buf.len();
        d.queue.push_back(buf);
        d.readers.wake_all();
    }
}

enum ReadOut {
    Buf(Buf),
    Copied(usize),
    Eof,
}

impl Flow for MemFlow {
    async fn read(&self) -> Result<Option<Buf>> {
        match poll_fn(|cx| self.poll_read(cx, None)).await? {
            ReadOut::Buf(b) => Ok(Some(b)),
            _ => Ok(None),
        }
    }

    async fn read_into(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        match poll_fn(|cx| self.poll_read(cx, Some(&mut *buf))).await? {
            ReadOut::Copied(n) => Ok(n),
            _ => Ok(0),
        }
    }

    async fn write(&self, mut data: &[u8]) -> Result<()> {
        if data.is_empty() {
            // Nothing to wait for, but writing to a closed flow still fails.
            return self.check_write();
        }
        loop {
            let room = poll_fn(|cx| self.poll_room(cx)).await?;
            let n = room.min(data.len()).min(PAGE_SIZE);
            let buf = self.pool.buf_from(&data[..n])?;
            self.push(buf);
            data = &data[n..];
            if data.is_empty() {
                return Ok(());
            }
        }
    }

    async fn write_buf(&self, mut buf: Buf) -> Result<()> {
        if buf.is_empty() {
            return self.check_write();
        }
        loop {
            let room = poll_fn(|cx| self.poll_room(cx)).await?;
            if buf.len() <= room {
                self.push(buf);
                return Ok(());
            }
            let part = buf.split_to(room);
            self.push(part);
        }
    }

    async fn shutdown(&self, how: Shutdown) -> Result<()> {
        if self.closed.get() {
            return Err(Error::Closed);
        }
        if how.writes() {
            let mut d = self.out().borrow_mut();
            d.write_shut = true;
            d.wake_all();
        }
        if how.reads() {
            let mut d = self.inn().borrow_mut();
            d.read_shut = true;
            d.queue.clear();
            d.queued = 0;
            d.wake_all();
        }
        Ok(())
    }

    async fn close(&self) -> Result<()> {
        if !self.closed.get() {
            self.shutdown(Shutdown::Both).await?;
            self.closed.set(true);
        }
        Ok(())
    }
}

impl Drop for MemFlow {
    fn drop(&mut self) {
        if self.closed.get() {
            return;
        }
        let mut out = self.out().borrow_mut();
        out.write_shut = true;
        out.wake_all();
        drop(out);
        let mut inn = self.inn().borrow_mut();
        inn.read_shut = true;
        inn.queue.clear();
        inn.queued = 0;
        inn.wake_all();
    }
}

impl fmt::Debug for MemFlow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemFlow")
            .field("side", &self.side)
            .field("queued", &self.queued())
            .field("closed", &self.closed.get())
            .finish_non_exhaustive()
    }
}
