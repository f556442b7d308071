//! Readiness registration: why edge-triggered with a generation counter.
//!
//! One reactor per executor thread: [`UnixPark::new`](crate::UnixPark::new)
//! creates it and installs it in a thread-local, so tasks reach it with
//! [`Reactor::current`]; [`UnixPark::reactor`](crate::UnixPark::reactor) is the
//! explicit handle. Each registration is a slot in a slab indexed by the
//! epoll data word (`gen << 32 | index`); an event whose generation does not
//! match the slot (a freed and reused slot) is ignored. Every readiness
//! event bumps a per-direction tick; `clear_*_ready(ready)` clears only if no
//! event arrived since `ready` was observed, so readiness that lands between
//! EAGAIN and the clear is not lost (Lwt's activations trap).
//!
//! # The deregistration rule
//!
//! Whoever owns a registered fd removes it from the epoll set
//! ([`Registration::deregister`]) *before* closing it: [`AsyncFd`](crate::AsyncFd),
//! the console and [`Signals`](crate::signal::Signals) do so on drop. The
//! kernel only drops an fd from an epoll set when the last descriptor of its
//! open file description closes, so a closed fd whose description lives on
//! (a `dup`, a child process) would keep reporting events.
//!
//! A [`Registration`] cannot do it by itself on drop: it does not own the
//! fd, and by then the fd number may already belong to another file, which
//! `EPOLL_CTL_DEL` would then remove instead. Forgetting is still safe,
//! only wasteful: dropping a `Registration` frees its slot, and an event
//! that comes later for it carries the old generation and is ignored, also
//! after the slot is reused. `deregister` checks it is given the fd that was
//! registered (by number) and refuses another one.

use std::cell::RefCell;
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::rc::{Rc, Weak};
use std::task::{Context, Poll, Waker};

use rustix::event::epoll;

#[derive(Default)]
struct Dir {
    tick: u64,
    ready: bool,
    /// The kernel reported a hang-up or an error for this direction: a
    /// state no later edge announces again (see `clear_read_ready_drained`).
    closed: bool,
    waker: Option<Waker>,
}

impl Dir {
    fn fire(&mut self) {
        self.tick += 1;
        self.ready = true;
        if let Some(w) = self.waker.take() {
            w.wake();
        }
    }
}

#[derive(Default)]
struct Slot {
    gen: u32,
    live: bool,
    read: Dir,
    write: Dir,
}

pub(crate) struct Inner {
    epoll: Rc<OwnedFd>,
    slots: Vec<Slot>,
    free: Vec<usize>,
}

impl Inner {
    pub(crate) fn dispatch(&mut self, token: u64, flags: epoll::EventFlags) {
        let idx = (token & 0xffff_ffff) as usize;
        let gen = (token >> 32) as u32;
        let Some(slot) = self.slots.get_mut(idx) else {
            return;
        };
        if !slot.live || slot.gen != gen {
            return; // stale event for a freed slot
        }
        let hup = flags.intersects(epoll::EventFlags::HUP | epoll::EventFlags::ERR);
        if hup || flags.contains(epoll::EventFlags::RDHUP) {
            slot.read.closed = true;
        }
        if hup || flags.intersects(epoll::EventFlags::IN | epoll::EventFlags::RDHUP) {
            slot.read.fire();
        }
        if hup || flags.contains(epoll::EventFlags::OUT) {
            slot.write.fire();
        }
    }
}

thread_local! {
    static CURRENT: RefCell<Weak<RefCell<Inner>>> = const { RefCell::new(Weak::new()) };
}

/// A handle to this thread's reactor (cheap to clone, `!Send`).
#[derive(Clone)]
pub struct Reactor {
    pub(crate) inner: Rc<RefCell<Inner>>,
}

/// Which readiness to register for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interest {
    /// Readable.
    Read,
    /// Writable.
    Write,
    /// Both.
    Both,
}

/// Proof of observed readiness, passed back to `clear_*_ready`.
#[derive(Clone, Copy, Debug)]
pub struct Ready(u64);

impl Reactor {
    pub(crate) fn new(epoll: Rc<OwnedFd>) -> Reactor {
        let r = Reactor {
            inner: Rc::new(RefCell::new(Inner {
                epoll,
                slots: Vec::new(),
                free: Vec::new(),
            })),
        };
        CURRENT.with(|c| *c.borrow_mut() = Rc::downgrade(&r.inner));
        r
    }

    /// The reactor installed on this thread by the last `UnixPark::new`, if
    /// that park is still alive (the thread-local holds a weak reference, so
    /// dropping the park closes the epoll fd).
    pub fn current() -> Option<Reactor> {
        CURRENT
            .with(|c| c.borrow().upgrade())
            .map(|inner| Reactor { inner })
    }

    /// Registers `fd` (edge-triggered). The fd must outlive the registration.
    pub fn register(&self, fd: impl AsFd, interest: Interest) -> io::Result<Registration> {
        let raw = fd.as_fd().as_raw_fd();
        let mut inner = self.inner.borrow_mut();
        let idx = match inner.free.pop() {
            Some(i) => i,
            None => {
                inner.slots.push(Slot::default());
                inner.slots.len() - 1
            }
        };
        let slot = &mut inner.slots[idx];
        slot.gen = slot.gen.wrapping_add(1) & 0x7fff_ffff;
        slot.live = true;
        slot.read = Dir::default();
        slot.write = Dir::default();
        let gen = slot.gen;
        let mut flags = epoll::EventFlags::ET | epoll::EventFlags::RDHUP;
        if interest != Interest::Write {
            flags |= epoll::EventFlags::IN;
        }
        if interest != Interest::Read {
            flags |= epoll::EventFlags::OUT;
        }
        let token = (u64::from(gen) << 32) | idx as u64;
        if let Err(e) = epoll::add(&*inner.epoll, fd, epoll::EventData::new_u64(token), flags) {
            inner.slots[idx].live = false;
            inner.free.push(idx);
            return Err(e.into());
        }
        Ok(Registration {
            reactor: self.clone(),
            idx,
            gen,
            fd: raw,
        })
    }
}

/// A registered fd's readiness state. Dropping it frees the slot; use
/// [`Registration::deregister`] (or [`AsyncFd`](crate::AsyncFd), which does
/// it on drop) to remove the fd from the epoll set while it is still open
/// (see "The deregistration rule" in the [module doc](self)).
pub struct Registration {
    reactor: Reactor,
    idx: usize,
    gen: u32,
    /// The registered fd's number, to refuse deregistering another one.
    fd: RawFd,
}

impl Registration {
    fn with<R>(&self, f: impl FnOnce(&mut Slot) -> R) -> R {
        let mut inner = self.reactor.inner.borrow_mut();
        let slot = &mut inner.slots[self.idx];
        debug_assert!(slot.live && slot.gen == self.gen);
        f(slot)
    }

    /// Ready when the fd has been reported readable since the last clear.
    pub fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<Ready> {
        self.with(|s| poll_dir(&mut s.read, cx))
    }

    /// Ready when the fd has been reported writable since the last clear.
    pub fn poll_write_ready(&self, cx: &mut Context<'_>) -> Poll<Ready> {
        self.with(|s| poll_dir(&mut s.write, cx))
    }

    /// After EAGAIN: clears read readiness unless an event came since `ready`.
    pub fn clear_read_ready(&self, ready: Ready) {
        self.with(|s| clear_dir(&mut s.read, ready))
    }

    /// After EAGAIN: clears write readiness unless an event came since `ready`.
    pub fn clear_write_ready(&self, ready: Ready) {
        self.with(|s| clear_dir(&mut s.write, ready))
    }

    /// After a read that emptied the fd without meeting `EAGAIN` (a stream
    /// `recv` that returned less than it was asked for): clears read
    /// readiness as [`clear_read_ready`](Self::clear_read_ready) does, unless
    /// the kernel has reported a hang-up or error for reading, which no later
    /// edge would announce again (end of stream, a reset: the next read must
    /// be tried). Saves the `EAGAIN` syscall the next read would cost.
    pub fn clear_read_ready_drained(&self, ready: Ready) {
        self.with(|s| {
            if !s.read.closed {
                clear_dir(&mut s.read, ready)
            }
        })
    }

    /// Marks both directions ready and wakes their waiters. For an owner that
    /// is about to close the fd while other tasks wait on it (a `close`
    /// through `&self`): once the fd is gone the kernel reports nothing more,
    /// so the waiters must be told now, to poll again and see the change.
    pub fn wake_all(&self) {
        self.with(|s| {
            s.read.fire();
            s.write.fire();
        })
    }

    /// Removes `fd` from the epoll set (EPOLL_CTL_DEL) and frees the slot.
    /// `fd` must be the fd that was registered (else `InvalidInput`, and
    /// nothing is removed; the slot is freed all the same).
    pub fn deregister(self, fd: impl AsFd) -> io::Result<()> {
        let fd = fd.as_fd();
        if fd.as_raw_fd() != self.fd {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "deregister: not the fd that was registered",
            ));
        }
        let r = epoll::delete(&*self.reactor.inner.borrow().epoll, fd);
        drop(self);
        r.map_err(Into::into)
    }
}

fn poll_dir(d: &mut Dir, cx: &mut Context<'_>) -> Poll<Ready> {
    if d.ready {
        Poll::Ready(Ready(d.tick))
    } else {
        match &d.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => d.waker = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

fn clear_dir(d: &mut Dir, ready: Ready) {
    if d.tick == ready.0 {
        d.ready = false;
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut inner = self.reactor.inner.borrow_mut();
        let slot = &mut inner.slots[self.idx];
        slot.live = false;
        slot.read = Dir::default();
        slot.write = Dir::default();
        inner.free.push(self.idx);
    }
}
