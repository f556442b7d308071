//! The epoll [`Park`]: why one epoll instance per executor thread.
//!
//! The run loop parks with the next timer deadline. We block in
//! `epoll_pwait2` (nanosecond timespec timeout) so sub-millisecond timers are
//! not rounded to a whole millisecond. The alternative, an absolute
//! CLOCK_MONOTONIC `timerfd` in the epoll set, is kept behind
//! [`UnixPark::force_timerfd`]. Note: rustix's `linux_5_11` feature (needed
//! to reach `epoll_pwait2` without libc) sends *every* wait through it, so an
//! older kernel cannot fall back at run time: `UnixPark::new` probes once and
//! returns `Unsupported` on ENOSYS instead of spinning. A zero-timeout park (deadline
//! already passed) arms nothing. `unpark` writes an edge-triggered eventfd,
//! which is drained when it fires.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::rc::Rc;
use std::sync::Arc;

use crate::reactor::Reactor;

use rustix::event::epoll;
use rustix::event::{eventfd, EventfdFlags};
use rustix::io::Errno;
use rustix::time::{
    clock_gettime, timerfd_create, timerfd_settime, ClockId, Itimerspec, TimerfdClockId,
    TimerfdFlags, TimerfdTimerFlags, Timespec,
};
use shimmer_executor::{Instant, Park, Unpark};

const WAKE_TOKEN: u64 = u64::MAX;
const TIMER_TOKEN: u64 = u64::MAX - 1;

/// The CLOCK_MONOTONIC clock, in the executor's [`Instant`] (ns).
#[derive(Clone, Copy, Debug, Default)]
pub struct UnixClock;

impl UnixClock {
    /// Now, from CLOCK_MONOTONIC.
    pub fn now(&self) -> Instant {
        let ts = clock_gettime(ClockId::Monotonic);
        Instant::from_nanos(ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64)
    }
}

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
    events: Vec<epoll::Event>,
    clock: UnixClock,
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
        // rustix's `linux_5_11` feature routes every wait through
        // `epoll_pwait2`; on an older kernel fail here rather than spin.
        let mut probe = Vec::<epoll::Event>::with_capacity(1);
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        if let Err(Errno::NOSYS) = epoll::wait(
            &*epoll,
            rustix::buffer::spare_capacity(&mut probe),
            Some(&zero),
        ) {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "epoll_pwait2 missing: shimmer-unix needs Linux >= 5.11",
            ));
        }
        let reactor = Reactor::new(epoll.clone());
        Ok(UnixPark {
            epoll,
            reactor,
            wake: Arc::new(wake),
            timerfd: None,
            pwait2: true,
            events: Vec::with_capacity(256),
            clock: UnixClock,
        })
    }

    /// Skips `epoll_pwait2` and uses the timerfd fallback (as on a kernel
    /// older than 5.11); for tests and for seccomp policies that kill on
    /// unknown syscalls.
    pub fn force_timerfd(&mut self) {
        self.pwait2 = false;
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

    fn wait(&mut self, timeout: Option<&Timespec>) -> Result<(), Errno> {
        self.events.clear();
        epoll::wait(
            &*self.epoll,
            rustix::buffer::spare_capacity(&mut self.events),
            timeout,
        )
        .map(|_| ())
    }
}

impl Park for UnixPark {
    type Unparker = UnixUnparker;

    fn park(&mut self, deadline: Option<Instant>) {
        let now = self.clock.now();
        let zero = Timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        let res = match deadline {
            Some(d) if d <= now => self.wait(Some(&zero)),
            Some(d) => {
                let left = timespec(Instant::from_nanos(d.as_nanos() - now.as_nanos()));
                let mut r = if self.pwait2 {
                    self.wait(Some(&left))
                } else {
                    Err(Errno::NOSYS)
                };
                if r == Err(Errno::NOSYS) {
                    self.pwait2 = false;
                    r = match self.arm_timerfd(d) {
                        Ok(()) => self.wait(None),
                        Err(_) => self.wait(Some(&left)),
                    };
                }
                r
            }
            None => self.wait(None),
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
