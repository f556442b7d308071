//! `WakerList`: the tasks waiting on one condition of an in-memory device.

use alloc::vec::Vec;
use core::task::Waker;

/// Wakers to wake when a condition may have changed. A task registering
/// twice is kept once; the list keeps its allocation between rounds.
#[derive(Default)]
pub(crate) struct WakerList(Vec<Waker>);

impl WakerList {
    pub(crate) const fn new() -> WakerList {
        WakerList(Vec::new())
    }

    /// Adds `waker` unless an equivalent one is already there.
    pub(crate) fn register(&mut self, waker: &Waker) {
        if !self.0.iter().any(|w| w.will_wake(waker)) {
            self.0.push(waker.clone());
        }
    }

    /// Wakes (and forgets) every waiter.
    pub(crate) fn wake_all(&mut self) {
        for w in self.0.drain(..) {
            w.wake();
        }
    }
}
