//! The image's event-channel reactor, reachable from anywhere in the image
//! (the way `shimmer-unix` finds its reactor through a thread-local).
//!
//! Why a global: drivers opened from inside `main` (the console as a Flow,
//! later netfront and blkfront) need the [`Reactor`] of the executor that
//! runs them, and `main` takes no arguments. The runtime installs it once,
//! right after creating the [`XenPark`](crate::XenPark).
//!
//! Why this is sound without a lock: a [`Reactor`] is `!Send` (an `Rc`),
//! which is right for a runtime with threads, but an image has exactly one
//! thread of execution — one vCPU, interrupts never enabled — so the value
//! in the static is only ever touched by that one thread.

use core::cell::RefCell;

use crate::hw::XenHw;
use crate::park::Reactor;

struct ImageOnly(RefCell<Option<Reactor<XenHw>>>);

// SAFETY: an image runs on one vCPU with interrupts off (see `boot`'s
// module doc): there is no second thread or handler that could reach the
// cell, so no concurrent access to the `Rc` inside can exist.
unsafe impl Sync for ImageOnly {}

static REACTOR: ImageOnly = ImageOnly(RefCell::new(None));

/// Makes `reactor` the one [`reactor`] returns (replacing any before).
pub fn install_reactor(reactor: Reactor<XenHw>) {
    *REACTOR.0.borrow_mut() = Some(reactor);
}

/// The reactor the runtime installed, if any.
pub fn reactor() -> Option<Reactor<XenHw>> {
    REACTOR.0.borrow().clone()
}
