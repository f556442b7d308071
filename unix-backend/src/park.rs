//! The epoll [`Park`]: why one epoll instance per executor thread.
//!
//! The run loop parks with the next timer deadline. We block in
//! `epoll_pwait2` (nanosecond timespec timeout) so sub-millisecond timers are
//! not rounded to a whole millisecond. A zero-timeout park (deadline already
//! passed) arms nothing. `unpark` writes an edge-triggered eventfd, which is
//! drained when it fires.
//!
//! # Kernels before 5.11: the timerfd path
//!
//! `epoll_pwait2` appeared in Linux 5.11. rustix's `linux_5_11` feature
//! (needed to reach it) sends *every* rustix epoll wait through it, so the
//! fallback cannot be rustix's `epoll::wait`. Instead, the first wait that
//! answers `ENOSYS` (the probe in [`UnixPark::new`], or any later one)
//! switches the park for good to the other mechanism: an absolute
//! CLOCK_MONOTONIC `timerfd` in the epoll set carries the deadline (still
//! nanosecond precise), and the wait itself is plain `epoll_wait` with no
//! timeout or a zero one (through `nix`, on a duplicate of the epoll fd,
//! which is the same epoll instance). If the timerfd cannot be created (out
//! of descriptors), the wait falls back to a millisecond timeout rounded up,
//! so a timer is late by under a millisecond but never early.
//! [`UnixPark::force_timerfd`] selects that path up front (tests, seccomp
//! policies that kill on unknown syscalls), and
//! [`UnixPark::uses_epoll_pwait2`] says which one is in use.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;
use std::sync::Arc;

use crate::reactor::Reactor;

use nix::sys::epoll::{Epoll, EpollEvent, EpollTimeout};
use rustix::event::epoll;
use rustix::event::{eventfd, EventfdFlags};
use rustix::io::Errno;
use rustix::time::{
    timerfd_create, timerfd_settime, Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags,
    Timespec,
};
use shimmer_executor::{Instant, Park, Unpark};

const WAKE_TOKEN: u64 = u64::MAX;
const TIMER_TOKEN: u64 = u64::MAX - 1;

/// The clock moved to [`crate::clock`]; re-exported here so that
/// `park::UnixClock` keeps working.
pub use crate::clock::UnixClock;

fn timespec(i: Instant) -> Timespec {
    let ns = i.as_nanos();
    Timespec {
        tv_sec: (ns / 1_000_000_000) as _,
        tv_nsec: (ns % 1_000_000_000) as _,
    }
}

/// An epoll-based [`Park`].
pub struct UnixPark {
    epoll: Rc<OwnedFd>,
    reactor: Reactor,
    wake: Arc<OwnedFd>,
    timerfd: Option<OwnedFd>,
    pwait2: bool,
    /// The epoll instance again (a duplicate fd), for plain `epoll_wait`
    /// once `epoll_pwait2` is known missing; made on first use.
    legacy: Option<Epoll>,
    legacy_events: Vec<EpollEvent>,
    /// Test hook: answer `ENOSYS` for `epoll_pwait2` (as Linux < 5.11).
    pretend_nosys: bool,
    events: Vec<epoll::Event>,
    clock: UnixClock,
}

/// How long one wait may block.
#[derive(Clone, Copy)]
enum Timeout {
    Zero,
    Infinite,
    /// Relative, for `epoll_pwait2` (or, rounded up to milliseconds, for
    /// `epoll_wait` when no timerfd could be made).
    For(Timespec),
}

/// Interrupts a [`UnixPark`] from any thread (writes its eventfd).
#[derive(Clone)]
pub struct UnixUnparker {
    wake: Arc<OwnedFd>,
}

impl Unpark for UnixUnparker {
    fn unpark(&self) {
        // EAGAIN means the counter is saturated: a wake is pending anyway.
        let _ = rustix::io::write(&*self.wake, &1u64.to_ne_bytes());
    }
}

impl UnixPark {
    /// The explicit reactor handle (also installed as [`Reactor::current`]).
    pub fn reactor(&self) -> &Reactor {
        &self.reactor
    }

    /// Creates the epoll instance and its eventfd, and installs this
    /// thread's reactor.
    pub fn new() -> io::Result<UnixPark> {
        let epoll = Rc::new(epoll::create(epoll::CreateFlags::CLOEXEC)?);
        let wake = eventfd(0, EventfdFlags::CLOEXEC | EventfdFlags::NONBLOCK)?;
        epoll::add(
            &*epoll,
            &wake,
            epoll::EventData::new_u64(WAKE_TOKEN),
            epoll::EventFlags::IN | epoll::EventFlags::ET,
        )?;
        let reactor = Reactor::new(epoll.clone());
        let mut park = UnixPark {
            epoll,
            reactor,
            wake: Arc::new(wake),
            timerfd: None,
            pwait2: true,
            legacy: None,
            legacy_events: Vec::new(),
            pretend_nosys: false,
            events: Vec::with_capacity(256),
            clock: UnixClock,
        };
        // Probe once, so that a kernel without `epoll_pwait2` is detected
        // here rather than at the first timer (`wait` switches on ENOSYS).
        // (Another error, EINTR, is for a later wait to meet again.)
        let _ = park.wait(Timeout::Zero);
        park.events.clear(); // nothing is registered but the eventfd yet
        Ok(park)
    }

    /// Skips `epoll_pwait2` and uses the timerfd fallback (as on a kernel
    /// older than 5.11); for tests and for seccomp policies that kill on
    /// unknown syscalls.
    pub fn force_timerfd(&mut self) {
        self.pwait2 = false;
    }

    /// Whether waits go through `epoll_pwait2` (else: the timerfd path, see
    /// the [module doc](self)).
    pub fn uses_epoll_pwait2(&self) -> bool {
        self.pwait2
    }

    /// Makes `epoll_pwait2` answer `ENOSYS` from now on, as on a kernel
    /// older than 5.11, so that a test can watch the park detect it and
    /// switch. Not for production use.
    #[doc(hidden)]
    pub fn pretend_no_epoll_pwait2(&mut self) {
        self.pretend_nosys = true;
    }

    fn arm_timerfd(&mut self, deadline: Instant) -> io::Result<()> {
        if self.timerfd.is_none() {
            let fd = timerfd_create(
                TimerfdClockId::Monotonic,
                TimerfdFlags::CLOEXEC | TimerfdFlags::NONBLOCK,
            )?;
            epoll::add(
                &*self.epoll,
                &fd,
                epoll::EventData::new_u64(TIMER_TOKEN),
                epoll::EventFlags::IN | epoll::EventFlags::ET,
            )?;
            self.timerfd = Some(fd);
        }
        let value = Itimerspec {
            it_interval: Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: timespec(deadline),
        };
        if let Some(fd) = &self.timerfd {
            timerfd_settime(fd, TimerfdTimerFlags::ABSTIME, &value)?;
        }
        Ok(())
    }

    /// One wait; the events land in `self.events`. `ENOSYS` from
    /// `epoll_pwait2` switches to the timerfd path for good and retries.
    fn wait(&mut self, timeout: Timeout) -> io::Result<()> {
        self.events.clear();
        if self.pwait2 {
            let ts;
            let t = match timeout {
                Timeout::Zero => {
                    ts = timespec(Instant::ZERO);
                    Some(&ts)
                }
                Timeout::Infinite => None,
                Timeout::For(left) => {
                    ts = left;
                    Some(&ts)
                }
            };
            let r = if self.pretend_nosys {
                Err(Errno::NOSYS)
            } else {
                epoll::wait(
                    &*self.epoll,
                    rustix::buffer::spare_capacity(&mut self.events),
                    t,
                )
                .map(|_| ())
            };
            match r {
                Err(Errno::NOSYS) => self.pwait2 = false,
                r => return r.map_err(Into::into),
            }
        }
        self.wait_legacy(timeout)
    }

    /// Plain `epoll_wait` (milliseconds): the pre-5.11 path.
    fn wait_legacy(&mut self, timeout: Timeout) -> io::Result<()> {
        if self.legacy.is_none() {
            let dup = rustix::io::fcntl_dupfd_cloexec(&*self.epoll, 0)?;
            self.legacy = Some(Epoll(dup));
            self.legacy_events = vec![EpollEvent::empty(); 256];
        }
        let t = match timeout {
            Timeout::Zero => EpollTimeout::ZERO,
            Timeout::Infinite => EpollTimeout::NONE,
            Timeout::For(left) => {
                // Rounded up: never early.
                let ns = (left.tv_sec as u128) * 1_000_000_000 + left.tv_nsec as u128;
                let ms = ns.div_ceil(1_000_000).min(i32::MAX as u128);
                EpollTimeout::try_from(ms).unwrap_or(EpollTimeout::MAX)
            }
        };
        let Some(ep) = &self.legacy else {
            return Ok(());
        };
        let n = ep.wait(&mut self.legacy_events, t)?;
        for ev in &self.legacy_events[..n] {
            self.events.push(epoll::Event {
                flags: epoll::EventFlags::from_bits_retain(ev.events().bits() as u32),
                data: epoll::EventData::new_u64(ev.data()),
            });
        }
        Ok(())
    }
}

impl Park for UnixPark {
    type Unparker = UnixUnparker;

    fn park(&mut self, deadline: Option<Instant>) {
        let now = self.clock.now();
        let res = match deadline {
            Some(d) if d <= now => self.wait(Timeout::Zero),
            Some(d) => {
                let left = timespec(Instant::from_nanos(d.as_nanos() - now.as_nanos()));
                if self.pwait2 {
                    // On ENOSYS this switches to the timerfd path and waits
                    // there once with the timeout rounded up to a ms.
                    self.wait(Timeout::For(left))
                } else {
                    match self.arm_timerfd(d) {
                        Ok(()) => self.wait(Timeout::Infinite),
                        Err(_) => self.wait(Timeout::For(left)),
                    }
                }
            }
            None => self.wait(Timeout::Infinite),
        };
        if res.is_err() {
            return; // EINTR and friends: a spurious return is allowed.
        }
        for ev in &self.events {
            let token = ev.data.u64();
            if token == WAKE_TOKEN {
                let mut buf = [0u8; 8];
                let _ = rustix::io::read(&*self.wake, &mut buf);
            } else if token == TIMER_TOKEN {
                if let Some(fd) = &self.timerfd {
                    let mut buf = [0u8; 8];
                    let _ = rustix::io::read(fd, &mut buf);
                }
            } else {
                let flags = ev.flags;
                self.reactor.inner.borrow_mut().dispatch(token, flags);
            }
        }
    }

    fn unparker(&self) -> UnixUnparker {
        UnixUnparker {
            wake: self.wake.clone(),
        }
    }

    fn now(&self) -> Instant {
        self.clock.now()
    }
}

impl AsFd for UnixPark {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.epoll.as_fd()
    }
}
