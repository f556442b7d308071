//! The PV console as a [`Flow`]: tasks read what dom0 types into the
//! guest's console (`xl console`) and write to it without blocking the
//! executor.
//!
//! Why a separate type from the [`Console`] it wraps: `Console` is the
//! ring logic, used as is by the boot code and the panic handler, which
//! must print without an executor. `XenConsole` adds the waiting: a reader
//! waits on the console's event channel for input, a writer whose ring is
//! full waits for xenconsoled to drain it. Both directions share one event
//! channel, so each waits as its own [`Side`] of the port (see
//! [`crate::event`]: an event is delivered to both sides, never stolen by
//! one).
//!
//! # xenconsoled's missing first notification
//! xenconsoled (Xen 4.17) drains the ring when the guest notifies it, and
//! notifies the guest after draining; but when it first connects it sends
//! nothing, so output written before it connected sits in a full ring with
//! no event to come. A waiting writer therefore also wakes every
//! [`RENOTIFY_NS`] and notifies again; a backend that makes no progress
//! for [`STALL_LIMIT_NS`] is taken as gone: the write fails with
//! [`Error::TimedOut`] instead of hanging the task.
//!
//! Output also goes out through `print!`-style writers that share the ring
//! (the image's `println!`); each write is whole in the ring, but a Flow
//! write and a print may interleave between their chunks, as stdout and
//! `println!` do on Unix.

use core::cell::Cell;
use core::future::poll_fn;
use core::time::Duration;

use shimmer_executor::{timeout, Instant};
use shimmer_io::flow::{read_into_page, Flow, Shutdown};
use shimmer_io::page::{Buf, PagePool};
use shimmer_io::{Error, Result};

use crate::console::{Console, ConsoleError};
use crate::event::{EventError, Side};
use crate::hypervisor::Hypervisor;
use crate::park::Reactor;

/// How long a writer waits for a drain notification before notifying the
/// backend again.
pub const RENOTIFY_NS: u64 = 10_000_000;
/// How long a writer waits for a backend that drains nothing before the
/// write fails ([`Error::TimedOut`]).
pub const STALL_LIMIT_NS: u64 = 2_000_000_000;

/// The console ring as a [`Flow`] (see the module doc).
pub struct XenConsole<'a, H: Hypervisor + Clone> {
    console: &'a Console<'a, H>,
    reactor: Reactor<H>,
    pool: PagePool,
    read_eof: Cell<bool>,
    write_shut: Cell<bool>,
    closed: Cell<bool>,
}

impl<H: Hypervisor + Clone> core::fmt::Debug for XenConsole<'_, H> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("XenConsole")
            .field("port", &self.console.port())
            .field("closed", &self.closed.get())
            .finish()
    }
}

fn ring_error(e: ConsoleError) -> Error {
    match e {
        // A backend that publishes impossible indices: nothing was copied.
        ConsoleError::BadIndices { .. } => Error::Io,
        ConsoleError::Notify(_) => Error::DeviceGone,
    }
}

fn event_error(e: EventError) -> Error {
    match e {
        EventError::NotBound(_) => Error::Closed,
        _ => Error::Io,
    }
}

impl<'a, H: Hypervisor + Clone> XenConsole<'a, H> {
    /// The console `console`, waiting through `reactor` (its port is bound
    /// there, and unbound when this is dropped); reads take pages from
    /// `pool`.
    pub fn new(
        console: &'a Console<'a, H>,
        reactor: Reactor<H>,
        pool: PagePool,
    ) -> core::result::Result<XenConsole<'a, H>, EventError> {
        reactor.bind(console.port())?;
        Ok(XenConsole {
            console,
            reactor,
            pool,
            read_eof: Cell::new(false),
            write_shut: Cell::new(false),
            closed: Cell::new(false),
        })
    }

    async fn event(&self, side: Side) -> Result<()> {
        let port = self.console.port();
        poll_fn(|cx| self.reactor.poll_event_as(port, side, cx))
            .await
            .map_err(event_error)
    }

    /// Waits until `ready` says so, for a writer: on drain notifications,
    /// notifying again every [`RENOTIFY_NS`], failing after
    /// [`STALL_LIMIT_NS`] without progress (`progress` is the ring's free
    /// space, which grows as the backend drains).
    async fn wait_for_backend(
        &self,
        ready: impl Fn() -> core::result::Result<bool, ConsoleError>,
    ) -> Result<()> {
        let space = || self.console.ring().write_space().map_err(ring_error);
        let mut last_space = space()?;
        let mut progress_at = Instant::now();
        loop {
            if ready().map_err(ring_error)? {
                return Ok(());
            }
            let now = Instant::now();
            let space_now = space()?;
            if space_now != last_space {
                (last_space, progress_at) = (space_now, now);
            } else if now.duration_since(progress_at) >= Duration::from_nanos(STALL_LIMIT_NS) {
                return Err(Error::TimedOut);
            }
            match timeout(Duration::from_nanos(RENOTIFY_NS), self.event(Side::Tx)).await {
                Ok(r) => r?,
                // No drain notification: maybe the backend connected late
                // and never heard of our output. Tell it again.
                Err(_) => self.console.notify().map_err(ring_error)?,
            }
        }
    }

    fn check_write(&self) -> Result<()> {
        if self.closed.get() || self.write_shut.get() {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// Waits until the backend has taken everything written.
    async fn drain(&self) -> Result<()> {
        let ring = self.console.ring();
        self.wait_for_backend(|| ring.write_space().map(|s| s == ring.capacity()))
            .await
    }
}

impl<H: Hypervisor + Clone> Flow for XenConsole<'_, H> {
    async fn read(&self) -> Result<Option<Buf>> {
        read_into_page(&self.pool, async |page| self.read_into(page).await).await
    }

    /// Input typed into `xl console`, as it arrives; `0` only after
    /// `shutdown(Read)` (a console has no end of stream of its own).
    async fn read_into(&self, buf: &mut [u8]) -> Result<usize> {
        loop {
            if self.closed.get() {
                return Err(Error::Closed);
            }
            if self.read_eof.get() || buf.is_empty() {
                return Ok(0);
            }
            // Read before waiting: input may be there without an event we
            // have not yet seen (or one another reader took).
            let n = self.console.read(buf).map_err(ring_error)?;
            if n > 0 {
                return Ok(n);
            }
            self.event(Side::Rx).await?;
        }
    }

    async fn write(&self, data: &[u8]) -> Result<()> {
        self.check_write()?;
        let mut done = 0;
        while done < data.len() {
            let n = self.console.write(&data[done..]).map_err(ring_error)?;
            done += n;
            if n == 0 {
                let ring = self.console.ring();
                self.wait_for_backend(|| ring.write_space().map(|s| s > 0))
                    .await?;
                self.check_write()?;
            }
        }
        Ok(())
    }

    async fn write_buf(&self, buf: Buf) -> Result<()> {
        self.write(&buf).await
    }

    async fn shutdown(&self, how: Shutdown) -> Result<()> {
        if how.reads() {
            self.read_eof.set(true);
        }
        if how.writes() && !self.write_shut.get() {
            self.write_shut.set(true);
            self.drain().await?;
        }
        Ok(())
    }

    /// Waits until xenconsoled has taken all output, then ends both
    /// directions (the ring itself stays: the image keeps printing to it).
    async fn close(&self) -> Result<()> {
        if self.closed.get() {
            return Ok(());
        }
        let drained = self.drain().await;
        self.closed.set(true);
        self.read_eof.set(true);
        self.write_shut.set(true);
        drained
    }
}

impl<H: Hypervisor + Clone> Drop for XenConsole<'_, H> {
    fn drop(&mut self) {
        // The port stays masked (and the image's own console keeps using
        // it); it just leaves the reactor's poll list.
        let _ = self.reactor.unbind(self.console.port());
    }
}

#[cfg(test)]
mod tests;
