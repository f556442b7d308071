//! Signals as futures: [`ctrl_c`] and [`Signals`].
//!
//! # Why signalfd
//!
//! A signal handler runs at an arbitrary point of the executor's thread and
//! may do almost nothing (no allocation, no `RefCell`, no waker). A
//! `signalfd` turns signals into a readable descriptor instead: the signals
//! are *blocked* (so the kernel keeps them pending rather than running a
//! handler or the default action), the descriptor becomes readable when one
//! is pending, the reactor wakes the task waiting in [`Signals::recv`], and a
//! `read` takes the pending signal. No handler, no self-pipe, no unsafe.
//!
//! # The mask rule: create signals before spawning threads
//!
//! Blocking is per thread: `Signals::new` blocks its signals in the calling
//! thread (the executor's) only. A signal sent to the *process* (`kill`, a
//! `^C` from the terminal) is delivered to any one thread that does not
//! block it, so if another thread leaves it unblocked, that thread gets the
//! default action (for SIGINT and SIGTERM: the process dies) and the
//! `signalfd` sees nothing. Therefore create your [`Signals`] (or call
//! [`ctrl_c`]) *before* spawning threads (threads inherit the mask), or
//! block the same signals in every other thread. Signals sent to the thread
//! itself (`raise`) need nothing more.
//!
//! # Restoring the mask
//!
//! Each thread keeps a count of live `Signals` per signal. When the last one
//! for a signal is dropped, the signal is unblocked again, unless it was
//! blocked before the first one was made (then it stays blocked, as found).
//! A signal still pending at that moment is then delivered as it would have
//! been without us (for SIGINT: the default action ends the process): an
//! unhandled `^C` keeps its meaning. A signal whose disposition is "ignore"
//! (SIGHUP under `nohup`, SIGPIPE in every Rust program) is discarded by the
//! kernel before it could be pending, so `Signals` never sees it.
//!
//! # Delivery
//!
//! Standard signals do not queue: two SIGUSR1 that arrive before the first
//! is read are *coalesced* into one; two read one after the other are both
//! seen; different signals are all seen. If several `Signals` on a thread
//! listen for the same signal, each delivery goes to one of them (whichever
//! reads first), not to all.

use std::cell::RefCell;
use std::fmt;
use std::future::{poll_fn, Future};
use std::io;
use std::task::{Context, Poll};

use nix::sys::signal::{SigSet, Signal as NixSignal};
use nix::sys::signalfd::{SfdFlags, SignalFd};

use crate::reactor::{Interest, Reactor, Registration};

/// A signal [`Signals`] can wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Signal {
    /// SIGINT: `^C` at the terminal.
    Interrupt,
    /// SIGTERM: the polite "please exit" (`kill`, a service manager).
    Terminate,
    /// SIGHUP: the terminal went away; by convention also "reload".
    Hangup,
    /// SIGQUIT: `^\` at the terminal.
    Quit,
    /// SIGUSR1.
    User1,
    /// SIGUSR2.
    User2,
    /// SIGCHLD: a child process stopped or exited.
    Child,
    /// SIGWINCH: the terminal changed size.
    WindowChange,
    /// SIGALRM.
    Alarm,
}

impl Signal {
    const ALL: [Signal; 9] = [
        Signal::Interrupt,
        Signal::Terminate,
        Signal::Hangup,
        Signal::Quit,
        Signal::User1,
        Signal::User2,
        Signal::Child,
        Signal::WindowChange,
        Signal::Alarm,
    ];

    fn nix(self) -> NixSignal {
        match self {
            Signal::Interrupt => NixSignal::SIGINT,
            Signal::Terminate => NixSignal::SIGTERM,
            Signal::Hangup => NixSignal::SIGHUP,
            Signal::Quit => NixSignal::SIGQUIT,
            Signal::User1 => NixSignal::SIGUSR1,
            Signal::User2 => NixSignal::SIGUSR2,
            Signal::Child => NixSignal::SIGCHLD,
            Signal::WindowChange => NixSignal::SIGWINCH,
            Signal::Alarm => NixSignal::SIGALRM,
        }
    }

    /// The signal's number (`SIGINT` is 2).
    pub fn as_raw(self) -> i32 {
        self.nix() as i32
    }

    /// The signal with number `signo`, if it is one of these.
    pub fn from_raw(signo: i32) -> Option<Signal> {
        Signal::ALL.into_iter().find(|s| s.as_raw() == signo)
    }

    /// Its C name (`"SIGINT"`).
    pub fn name(self) -> &'static str {
        self.nix().as_str()
    }

    fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Signal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Clone, Copy, Default)]
struct MaskUse {
    /// Live `Signals` of this thread listening for the signal.
    users: u32,
    /// Whether the first of them blocked it (so the last one unblocks it).
    we_blocked: bool,
}

thread_local! {
    static MASK: RefCell<[MaskUse; Signal::ALL.len()]> =
        const { RefCell::new([MaskUse { users: 0, we_blocked: false }; Signal::ALL.len()]) };
}

/// This thread's claim on blocking some signals; gives them back on drop.
struct MaskClaim {
    signals: Vec<Signal>,
}

impl MaskClaim {
    fn new(signals: &[Signal]) -> io::Result<MaskClaim> {
        let mut unique: Vec<Signal> = Vec::with_capacity(signals.len());
        for &s in signals {
            if !unique.contains(&s) {
                unique.push(s);
            }
        }
        let current = SigSet::thread_get_mask().map_err(io::Error::from)?;
        let mut to_block = SigSet::empty();
        MASK.with(|m| {
            let mut m = m.borrow_mut();
            for &s in &unique {
                let u = &mut m[s.index()];
                if u.users == 0 {
                    u.we_blocked = !current.contains(s.nix());
                    if u.we_blocked {
                        to_block.add(s.nix());
                    }
                }
                u.users += 1;
            }
        });
        let claim = MaskClaim { signals: unique };
        // On failure the claim's drop undoes the counts (and unblocks
        // nothing that was not blocked).
        to_block.thread_block().map_err(io::Error::from)?;
        Ok(claim)
    }
}

impl Drop for MaskClaim {
    fn drop(&mut self) {
        let mut to_unblock = SigSet::empty();
        let mut any = false;
        let _ = MASK.try_with(|m| {
            let mut m = m.borrow_mut();
            for &s in &self.signals {
                let u = &mut m[s.index()];
                u.users = u.users.saturating_sub(1);
                if u.users == 0 && u.we_blocked {
                    u.we_blocked = false;
                    to_unblock.add(s.nix());
                    any = true;
                }
            }
        });
        if any {
            let _ = to_unblock.thread_unblock();
        }
    }
}

/// A set of signals to wait for, over a `signalfd` registered with this
/// thread's reactor (see the [module doc](self) for the mask rule and
/// delivery).
///
/// ```no_run
/// use shimmer_unix::signal::{Signal, Signals};
///
/// shimmer_unix::block_on(async {
///     let signals = Signals::new(&[Signal::Interrupt, Signal::Terminate])?;
///     while let Some(sig) = signals.recv().await {
///         println!("got {sig}");
///         if sig == Signal::Terminate {
///             break;
///         }
///     }
///     Ok::<(), std::io::Error>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub struct Signals {
    // Field order is drop order: out of epoll, then the fd closes, then
    // the mask is restored.
    reg: Option<Registration>,
    fd: SignalFd,
    _claim: MaskClaim,
}

impl Signals {
    /// Blocks `signals` in this thread and listens for them. Needs this
    /// thread's reactor (inside [`block_on`](crate::block_on)).
    ///
    /// # Errors
    /// `InvalidInput` for an empty list; an error if there is no reactor on
    /// this thread or the kernel refuses the `signalfd`.
    pub fn new(signals: &[Signal]) -> io::Result<Signals> {
        if signals.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "Signals::new: no signal to wait for",
            ));
        }
        let reactor = Reactor::current()
            .ok_or_else(|| io::Error::other("no shimmer-unix reactor on this thread"))?;
        let claim = MaskClaim::new(signals)?;
        let mut set = SigSet::empty();
        for s in &claim.signals {
            set.add(s.nix());
        }
        let fd = SignalFd::with_flags(&set, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            .map_err(io::Error::from)?;
        let reg = reactor.register(&fd, Interest::Read)?;
        Ok(Signals {
            reg: Some(reg),
            fd,
            _claim: claim,
        })
    }

    /// The signals this set listens for.
    pub fn signals(&self) -> &[Signal] {
        &self._claim.signals
    }

    /// Waits for the next of the signals. `None` only if the `signalfd`
    /// fails (it does not in practice); never busy-waits.
    ///
    /// Cancellation: a dropped `recv` consumed no signal.
    pub async fn recv(&self) -> Option<Signal> {
        poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// Polls for the next signal (see [`recv`](Signals::recv)).
    pub fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Option<Signal>> {
        let Some(reg) = self.reg.as_ref() else {
            return Poll::Ready(None);
        };
        loop {
            let ready = match reg.poll_read_ready(cx) {
                Poll::Ready(r) => r,
                Poll::Pending => return Poll::Pending,
            };
            match self.fd.read_signal() {
                Ok(Some(info)) => {
                    let signo = i32::try_from(info.ssi_signo).unwrap_or(0);
                    match Signal::from_raw(signo) {
                        Some(s) => return Poll::Ready(Some(s)),
                        None => continue, // not ours (cannot happen): skip it
                    }
                }
                Ok(None) => reg.clear_read_ready(ready),
                Err(nix::errno::Errno::EINTR) => {}
                Err(_) => return Poll::Ready(None),
            }
        }
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        if let Some(reg) = self.reg.take() {
            let _ = reg.deregister(&self.fd);
        }
    }
}

impl fmt::Debug for Signals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signals")
            .field("signals", &self.signals())
            .finish_non_exhaustive()
    }
}

/// Completes at the next SIGINT (`^C`).
///
/// SIGINT is blocked when `ctrl_c` is *called*, not when the future is first
/// polled, so a `^C` in between is not lost. Once the future is dropped
/// (completed or not) and no other [`Signals`] waits for SIGINT, SIGINT is
/// unblocked again: a second `^C` then ends the process as usual. See the
/// [module doc](self) for the rule about threads.
///
/// # Errors
/// As [`Signals::new`] (no reactor on this thread).
pub fn ctrl_c() -> impl Future<Output = io::Result<()>> {
    let signals = Signals::new(&[Signal::Interrupt]);
    async move {
        let signals = signals?;
        match signals.recv().await {
            Some(_) => Ok(()),
            None => Err(io::Error::other("signalfd failed")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip() {
        for s in Signal::ALL {
            assert_eq!(Signal::from_raw(s.as_raw()), Some(s));
            assert!(s.name().starts_with("SIG"));
        }
        assert_eq!(Signal::Interrupt.as_raw(), 2);
        assert_eq!(Signal::from_raw(9), None); // SIGKILL is not waitable
        assert_eq!(Signal::from_raw(-1), None);
        assert_eq!(Signal::Terminate.to_string(), "SIGTERM");
    }
}
