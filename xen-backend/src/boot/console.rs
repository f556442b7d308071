//! The image's console: the PV console ring found at boot, as a global.
//!
//! Why a global: the panic handler must be able to print without being
//! handed anything, and every part of the image prints to the same ring.
//! It is set once by the boot (`install`) and read-only afterwards
//! ([`spin::Once`]); the ring's producer side has one writer because the
//! image runs on one vCPU with interrupts off (a nested writer can only be
//! a panic raised while formatting, which writes whole chunks between the
//! outer writer's chunks and so keeps the ring consistent).
//!
//! Writes block while the ring is full: the writer clears the console
//! port's pending bit, re-checks the ring, and waits in `SCHEDOP_poll` on
//! that port (xenconsoled notifies it after draining) with a short timeout.
//! A backend that drains nothing for [`STALL_LIMIT_NS`] is taken as gone:
//! the rest of that write is dropped rather than hanging the image (the
//! panic path relies on this).

use core::fmt;
use core::sync::atomic::Ordering;

use spin::Once;

use crate::abi::console::{XenconsInterface, XENCONS_OUT_SIZE};
use crate::clock::PvClock;
use crate::console::{Console, ConsoleError};
use crate::hw::XenHw;
use crate::hypervisor::{Hypervisor, Port};

/// How long a write or flush waits for a backend that makes no progress.
pub const STALL_LIMIT_NS: u64 = 2_000_000_000;
/// One `SCHEDOP_poll` while waiting (a notification ends it sooner).
const POLL_SLICE_NS: u64 = 10_000_000;

struct ImageConsole {
    console: Console<'static, XenHw>,
    hw: XenHw,
}

static CONSOLE: Once<ImageConsole> = Once::new();

/// Makes the ring at `ring` with backend port `port` the image's console.
/// A second call keeps the first console.
#[cfg_attr(test, allow(dead_code))]
pub(crate) fn install(hw: XenHw, ring: &'static XenconsInterface, port: Port) -> ConsoleOut {
    let inner = CONSOLE.call_once(|| ImageConsole {
        console: Console::new(hw, ring, port),
        hw,
    });
    ConsoleOut { inner }
}

/// The image's console, once the boot has found it.
pub fn get() -> Option<ConsoleOut> {
    CONSOLE.get().map(|inner| ConsoleOut { inner })
}

/// Handle to the image's console. `Copy`; implements [`fmt::Write`], so
/// `writeln!(out, ...)` prints a line.
#[derive(Clone, Copy)]
pub struct ConsoleOut {
    inner: &'static ImageConsole,
}

impl fmt::Debug for ConsoleOut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConsoleOut")
            .field("port", &self.port())
            .finish()
    }
}

/// A console write that could not complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteError {
    /// The ring or the notification failed.
    Ring(ConsoleError),
    /// The backend drained nothing for [`STALL_LIMIT_NS`]; `written` bytes
    /// went out, the rest was dropped.
    Stalled {
        /// Bytes written before the stall.
        written: usize,
    },
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Ring(e) => write!(f, "{e}"),
            WriteError::Stalled { written } => write!(
                f,
                "console backend stalled; {written} bytes written, the rest dropped"
            ),
        }
    }
}

impl ConsoleOut {
    /// The console itself (ring + port), e.g. for a
    /// [`XenConsole`](crate::XenConsole) over the same ring.
    pub fn console(&self) -> &'static Console<'static, XenHw> {
        &self.inner.console
    }

    /// The console's event channel.
    pub fn port(&self) -> Port {
        self.inner.console.port()
    }

    /// Writes all of `bytes`, waiting while the ring is full.
    pub fn write_all(&self, bytes: &[u8]) -> Result<(), WriteError> {
        let mut done = 0;
        while done < bytes.len() {
            let n = self
                .inner
                .console
                .write(&bytes[done..])
                .map_err(WriteError::Ring)?;
            done += n;
            if n == 0 && !self.wait_until(|| self.space().map(|s| s > 0)) {
                return Err(WriteError::Stalled { written: done });
            }
        }
        Ok(())
    }

    /// Waits until the backend has consumed everything written (or stalls:
    /// `false`). Done before powering off, so no output is lost.
    pub fn flush(&self) -> bool {
        self.wait_until(|| self.space().map(|s| s == XENCONS_OUT_SIZE))
    }

    fn space(&self) -> Result<usize, ConsoleError> {
        self.inner.console.ring().write_space()
    }

    /// Polls the console port until `ready` says yes (`true`), it fails, or
    /// the backend makes no progress for [`STALL_LIMIT_NS`] (`false`).
    fn wait_until(&self, ready: impl Fn() -> Result<bool, ConsoleError>) -> bool {
        let mut consumed = false;
        let done = self.wait_until_inner(ready, &mut consumed);
        // If the wait cleared a set pending bit, that event may have been
        // input (or a drain) for a task of the reactor waiting on the same
        // port (`XenConsole`): raise it again so that the reactor's next
        // scan sees it. At worst a spurious wake; never a lost one.
        if consumed {
            let (word, bit) = self.pending_word();
            if let Some(w) = self.inner.hw.shared_info().evtchn_pending.get(word) {
                w.fetch_or(bit, Ordering::SeqCst);
            }
        }
        done
    }

    /// The console port's word in `evtchn_pending`, and its bit.
    fn pending_word(&self) -> (usize, u64) {
        let port = self.port().get();
        (port as usize / 64, 1u64 << (port % 64))
    }

    fn wait_until_inner(
        &self,
        ready: impl Fn() -> Result<bool, ConsoleError>,
        consumed: &mut bool,
    ) -> bool {
        let hw = &self.inner.hw;
        let clock = PvClock::new();
        let port = self.port();
        let mut last_space = self.space().unwrap_or(0);
        let mut progress_at = clock.now(hw);
        loop {
            match ready() {
                Ok(true) => return true,
                Ok(false) => {}
                Err(_) => return false,
            }
            let now = clock.now(hw);
            let space = self.space().unwrap_or(0);
            if space != last_space {
                last_space = space;
                progress_at = now;
            } else if now.saturating_sub(progress_at) > STALL_LIMIT_NS {
                return false;
            }
            // Clear the port's pending bit before re-checking, so that a
            // notification sent after the check wakes the poll (and one
            // sent before it does not make the poll return at once forever).
            let (word, bit) = self.pending_word();
            if let Some(w) = hw.shared_info().evtchn_pending.get(word) {
                *consumed |= w.fetch_and(!bit, Ordering::SeqCst) & bit != 0;
            }
            if let Ok(true) = ready() {
                return true;
            }
            let _ = hw.sched_poll(&[port], Some(now + POLL_SLICE_NS));
        }
    }
}

impl fmt::Write for ConsoleOut {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_all(s.as_bytes()).map_err(|_| fmt::Error)
    }
}
