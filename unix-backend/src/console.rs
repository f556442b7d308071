//! [`Console`]: the process' stdin and stdout as a [`Flow`]; [`print()`] and
//! [`eprint()`] for the facade's `println!`.
//!
//! # Why it does not set `O_NONBLOCK`
//!
//! Stdin and stdout are shared: the same open file descriptions belong to
//! the parent shell (and to any other process started from it). `O_NONBLOCK`
//! is a property of the open file description, not of our descriptor, so
//! setting it would leave the shell with a non-blocking terminal after we
//! exit (or crash), and would make `println!`'s blocking writes fail with
//! `EAGAIN`. So the console never changes the descriptors' flags, and reads
//! without ever blocking by other means:
//!
//! * **Pipes, terminals, sockets.** A private duplicate of fd 0 (a dup shares
//!   the open file description, so it reads the same stream; owning it lets
//!   two `Console`s exist and lets the drop remove it from epoll before it
//!   closes) is registered with the reactor for readability. When epoll says
//!   readable, a zero-timeout `poll` confirms it (a stale edge is ignored),
//!   `FIONREAD` says how many bytes are waiting, and one `read` of at most
//!   that many takes them: a `read` of no more than what is there returns at
//!   once even on a terminal in raw mode with `VMIN` > 1. A readable fd with
//!   nothing waiting is end of file (a pipe whose writers are gone, a `^D`
//!   on a terminal): a one-byte `read` then returns 0 without blocking.
//! * **Regular files** (and devices such as `/dev/null`): epoll refuses them
//!   (`EPERM`), and they never block, so they are read directly.
//! * **No stdin at all** (fd 0 closed): the console reads end of file.
//!
//! The one race left: another reader of the same stdin (another process, or
//! `std::io::stdin()` in this one) taking the bytes between our `poll` and
//! our `read` could make that `read` block. Do not read stdin two ways.
//!
//! # Writes block, on purpose
//!
//! Writing to stdout is a blocking `write(2)` of all the bytes, made from the
//! executor's thread. That keeps the console's output in order with
//! [`print()`] (and with `std`'s `println!`, which blocks too), a terminal or a
//! pipe drains fast, and making it asynchronous would need `O_NONBLOCK`
//! (see above). A consumer that stops reading a pipe stalls the executor
//! until it reads again. If another program made stdout non-blocking anyway,
//! `EAGAIN` is met with a blocking `poll` for writability.
//!
//! # Shutdown and close
//!
//! Nothing shared is closed: `shutdown(Write)`/`close` make later writes here
//! [`Error::Closed`] but leave fd 1 open (it is also `println!`'s), so the
//! reader of our stdout sees end of stream only when the process exits.
//! `shutdown(Read)` makes reads return end of stream; the bytes still in the
//! pipe stay there for whoever reads stdin next.
//!
//! # Errors
//!
//! A reader of our stdout that went away is [`Error::BrokenPipe`] for
//! `write` (Rust programs ignore `SIGPIPE`, so it is an `EPIPE` and not a
//! signal). [`print()`] and [`eprint()`] ignore it: a diagnostic line that
//! cannot be shown is not worth a panic (`std`'s `println!` panics there).

use std::cell::Cell;
use std::fmt;
use std::future::poll_fn;
use std::io::{self, IoSlice};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use rustix::event::{PollFd, PollFlags};
use rustix::io::Errno;
use shimmer_io::flow::{read_into_page, Flow, Shutdown};
use shimmer_io::page::{Buf, PagePool};
use shimmer_io::{Error, Result};

use crate::error::from_errno;
use crate::reactor::{Interest, Reactor, Registration};

/// How the console reads its stdin.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StdinKind {
    /// Through the reactor (a pipe, a terminal, a socket).
    Polled,
    /// Directly: epoll refused the fd (a regular file, `/dev/null`), which
    /// never blocks.
    Direct,
    /// Fd 0 is not open: end of file at once.
    Absent,
}

enum Stdin {
    Polled { fd: OwnedFd, reg: Registration },
    Direct(OwnedFd),
    Absent,
}

/// Stdin and stdout as one [`Flow`] (see the [module doc](self)).
pub struct Console {
    stdin: Option<Stdin>,
    pool: PagePool,
    read_eof: Cell<bool>,
    write_shut: Cell<bool>,
    closed: Cell<bool>,
}

impl Console {
    /// The console over fd 0 and fd 1, reading into pages of this thread's
    /// [`PagePool::current`]. Needs this thread's reactor (inside
    /// [`block_on`](crate::block_on)).
    pub fn new() -> io::Result<Console> {
        Console::with_pool(PagePool::current())
    }

    /// As [`new`](Console::new), with the pool reads take pages from.
    pub fn with_pool(pool: PagePool) -> io::Result<Console> {
        let reactor = Reactor::current()
            .ok_or_else(|| io::Error::other("no shimmer-unix reactor on this thread"))?;
        let stdin = match rustix::io::fcntl_dupfd_cloexec(rustix::stdio::stdin(), 3) {
            Err(Errno::BADF) => Stdin::Absent,
            Err(e) => return Err(e.into()),
            Ok(fd) => match reactor.register(&fd, Interest::Read) {
                Ok(reg) => Stdin::Polled { fd, reg },
                Err(e) if e.raw_os_error() == Some(Errno::PERM.raw_os_error()) => Stdin::Direct(fd),
                Err(e) => return Err(e),
            },
        };
        Ok(Console {
            stdin: Some(stdin),
            pool,
            read_eof: Cell::new(false),
            write_shut: Cell::new(false),
            closed: Cell::new(false),
        })
    }

    /// How stdin is read.
    pub fn stdin_kind(&self) -> StdinKind {
        match &self.stdin {
            Some(Stdin::Polled { .. }) => StdinKind::Polled,
            Some(Stdin::Direct(_)) => StdinKind::Direct,
            _ => StdinKind::Absent,
        }
    }

    /// Reads into `buf` (not empty): the byte count, 0 at end of file.
    async fn read_some(&self, buf: &mut [u8]) -> Result<usize> {
        if self.closed.get() {
            return Err(Error::Closed);
        }
        if self.read_eof.get() {
            return Ok(0);
        }
        let n = match &self.stdin {
            Some(Stdin::Polled { fd, reg }) => read_polled(fd.as_fd(), reg, buf).await?,
            Some(Stdin::Direct(fd)) => retry_intr(|| rustix::io::read(fd, &mut *buf))?,
            _ => 0,
        };
        if n == 0 {
            self.read_eof.set(true);
        }
        Ok(n)
    }

    fn check_write(&self) -> Result<()> {
        if self.closed.get() || self.write_shut.get() {
            return Err(Error::Closed);
        }
        Ok(())
    }
}

/// Waits for readability, then reads at most what `FIONREAD` says is there.
async fn read_polled(fd: BorrowedFd<'_>, reg: &Registration, buf: &mut [u8]) -> Result<usize> {
    loop {
        let ready = poll_fn(|cx| reg.poll_read_ready(cx)).await;
        let mut pfd = [PollFd::new(&fd, PollFlags::IN)];
        let zero = rustix::time::Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        match rustix::event::poll(&mut pfd, Some(&zero)) {
            Ok(0) | Err(Errno::INTR) => {
                reg.clear_read_ready(ready); // a stale edge: nothing there
                continue;
            }
            Ok(_) => {}
            Err(e) => return Err(from_errno(e)),
        }
        let revents = pfd[0].revents();
        if revents.contains(PollFlags::NVAL) {
            return Ok(0);
        }
        // Readable (or hung up, or in error): a read of at most what is
        // there cannot block, and with nothing there it returns 0 or the
        // error.
        let waiting = rustix::io::ioctl_fionread(fd).unwrap_or(0);
        let want = usize::try_from(waiting)
            .unwrap_or(usize::MAX)
            .clamp(1, buf.len());
        match rustix::io::read(fd, &mut buf[..want]) {
            Ok(n) => return Ok(n),
            Err(Errno::AGAIN) | Err(Errno::INTR) => {
                // Someone else made the description non-blocking and took
                // the bytes, or a signal: wait for the next edge.
                reg.clear_read_ready(ready);
            }
            Err(e) => return Err(from_errno(e)),
        }
    }
}

fn retry_intr<T>(mut f: impl FnMut() -> rustix::io::Result<T>) -> Result<T> {
    loop {
        match f() {
            Err(Errno::INTR) => continue,
            r => return r.map_err(from_errno),
        }
    }
}

/// Writes all of `bufs` to `fd`, blocking; `EAGAIN` (a description someone
/// made non-blocking) waits with `poll`.
fn write_all_fd(fd: BorrowedFd<'_>, mut bufs: &mut [IoSlice<'_>]) -> rustix::io::Result<()> {
    // Skip empty slices so that a zero-length write never spins.
    while bufs.first().is_some_and(|b| b.is_empty()) {
        bufs = &mut bufs[1..];
    }
    while !bufs.is_empty() {
        let n = bufs.len().min(1024);
        match rustix::io::writev(fd, &bufs[..n]) {
            Ok(0) => return Err(Errno::IO),
            Ok(put) => IoSlice::advance_slices(&mut bufs, put),
            Err(Errno::INTR) => {}
            Err(Errno::AGAIN) => {
                let mut pfd = [PollFd::new(&fd, PollFlags::OUT)];
                match rustix::event::poll(&mut pfd, None) {
                    Ok(_) | Err(Errno::INTR) => {}
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

impl Flow for Console {
    /// The next bytes of stdin in a pool page, `None` at end of file.
    async fn read(&self) -> Result<Option<Buf>> {
        read_into_page(&self.pool, async |page| self.read_some(page).await).await
    }

    async fn read_into(&self, buf: &mut [u8]) -> Result<usize> {
        if buf.is_empty() {
            return if self.closed.get() {
                Err(Error::Closed)
            } else {
                Ok(0)
            };
        }
        self.read_some(buf).await
    }

    /// A blocking write of all of `data` to stdout (see the module doc).
    async fn write(&self, data: &[u8]) -> Result<()> {
        self.writev(&[data]).await
    }

    async fn write_buf(&self, buf: Buf) -> Result<()> {
        self.writev(&[&buf]).await
    }

    /// One `writev(2)` for all the slices (more if the kernel takes part).
    async fn writev(&self, bufs: &[&[u8]]) -> Result<()> {
        self.check_write()?;
        let mut slices: Vec<IoSlice<'_>> = bufs.iter().map(|b| IoSlice::new(b)).collect();
        write_all_fd(rustix::stdio::stdout(), &mut slices).map_err(from_errno)
    }

    /// Marks the direction(s) done; closes no descriptor (see the module
    /// doc).
    async fn shutdown(&self, how: Shutdown) -> Result<()> {
        if how.reads() {
            self.read_eof.set(true);
        }
        if how.writes() {
            self.write_shut.set(true);
        }
        Ok(())
    }

    /// Ends both directions; fd 0 and fd 1 stay open (our duplicate of fd 0
    /// is closed when the console is dropped).
    async fn close(&self) -> Result<()> {
        self.closed.set(true);
        self.read_eof.set(true);
        self.write_shut.set(true);
        Ok(())
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        // Out of the epoll set before our duplicate closes.
        if let Some(Stdin::Polled { fd, reg }) = self.stdin.take() {
            let _ = reg.deregister(&fd);
        }
    }
}

impl fmt::Debug for Console {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Console")
            .field("stdin", &self.stdin_kind())
            .field("read_eof", &self.read_eof.get())
            .field("write_shut", &self.write_shut.get())
            .finish_non_exhaustive()
    }
}

/// Formats `args` (into a stack buffer, the heap past 1 KiB) and writes it
/// to stdout with one `write(2)` (more only if the kernel takes part of it),
/// so that lines from several processes sharing a pipe do not interleave
/// mid-line (a pipe writes up to 4 KiB atomically). Takes no lock and never
/// panics: errors (a closed pipe, a closed stdout) are ignored (see the
/// module doc). What the facade's `println!` calls.
pub fn print(args: fmt::Arguments<'_>) {
    write_fmt_fd(rustix::stdio::stdout(), args);
}

/// As [`print()`], to stderr.
pub fn eprint(args: fmt::Arguments<'_>) {
    write_fmt_fd(rustix::stdio::stderr(), args);
}

fn write_fmt_fd(fd: BorrowedFd<'_>, args: fmt::Arguments<'_>) {
    if let Some(s) = args.as_str() {
        let _ = write_all_fd(fd, &mut [IoSlice::new(s.as_bytes())]);
        return;
    }
    let mut stack = StackBuf {
        buf: [0; 1024],
        len: 0,
        spill: None,
    };
    // A failing Display impl: print what was formatted before it.
    let _ = fmt::write(&mut stack, args);
    let bytes = match &stack.spill {
        Some(v) => &v[..],
        None => &stack.buf[..stack.len],
    };
    let _ = write_all_fd(fd, &mut [IoSlice::new(bytes)]);
}

/// A 1 KiB stack buffer that moves to the heap when it overflows.
struct StackBuf {
    buf: [u8; 1024],
    len: usize,
    spill: Option<Vec<u8>>,
}

impl fmt::Write for StackBuf {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        if let Some(v) = &mut self.spill {
            v.extend_from_slice(s.as_bytes());
        } else if self.len + s.len() <= self.buf.len() {
            self.buf[self.len..self.len + s.len()].copy_from_slice(s.as_bytes());
            self.len += s.len();
        } else {
            let mut v = Vec::with_capacity((self.len + s.len()) * 2);
            v.extend_from_slice(&self.buf[..self.len]);
            v.extend_from_slice(s.as_bytes());
            self.spill = Some(v);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt::Write;

    #[test]
    fn stack_buf_spills_in_order() {
        let mut b = StackBuf {
            buf: [0; 1024],
            len: 0,
            spill: None,
        };
        for i in 0..300 {
            write!(b, "{i},").unwrap();
        }
        let want: String = (0..300).map(|i| format!("{i},")).collect();
        assert_eq!(b.spill.as_deref(), Some(want.as_bytes()));
    }
}
