//! `Park`: the only interface between the executor and a backend.
//!
//! The executor never blocks by itself. When it has nothing to run it asks
//! the backend to `park` until the next timer deadline; the backend returns
//! early when an event of its own arrives (epoll readiness on Unix, an event
//! channel on Xen) or when someone calls the [`Unpark`] handle — which is how
//! a wake from another thread, a signal handler or an interrupt reaches a
//! sleeping executor. A zero-timeout park (`deadline <= now()`) is the
//! executor's "poll I/O once without blocking".
//!
//! [`StdPark`] (feature `std`) is the backend-less implementation: a condvar
//! and the monotonic clock, enough to run and test everything without I/O.

use crate::Instant;

/// A backend's way to block the executor's thread, and its clock.
pub trait Park {
    /// The handle that interrupts [`park`](Park::park) from anywhere.
    type Unparker: Unpark;

    /// Block until the backend has an event, [`Unpark::unpark`] was called
    /// (before or during this call), or `deadline` passes (`None`: no
    /// deadline). `Some(d)` with `d <= self.now()` must not block: it only
    /// polls the backend. Returning early for no reason is allowed; returning
    /// after an unpark without consuming it is not required.
    fn park(&mut self, deadline: Option<Instant>);

    /// A `Send + Sync` handle that makes a concurrent or the next `park`
    /// return at once. Called once, when the executor is built.
    fn unparker(&self) -> Self::Unparker;

    /// The monotonic clock timers are measured against.
    fn now(&self) -> Instant;
}

/// Interrupts a [`Park::park`], from any thread.
pub trait Unpark: Send + Sync + 'static {
    /// Make a concurrent `park` return, or the next one return at once.
    fn unpark(&self);
}

#[cfg(any(feature = "std", loom))]
pub use std_park::{StdPark, StdUnparker};

#[cfg(any(feature = "std", loom))]
mod std_park {
    use super::{Park, Unpark};
    use crate::loom::{Arc, AtomicBool, Condvar, Mutex, Ordering};
    use crate::Instant;

    /// A [`Park`] with no backend: a mutex + condvar to sleep on and the
    /// process's monotonic clock. Parking with a deadline in the past costs
    /// one atomic swap and no system call.
    pub struct StdPark {
        inner: Arc<Inner>,
    }

    /// The [`Unpark`] handle of a [`StdPark`].
    #[derive(Clone)]
    pub struct StdUnparker {
        inner: Arc<Inner>,
    }

    struct Inner {
        notified: AtomicBool,
        lock: Mutex<()>,
        cvar: Condvar,
    }

    impl StdPark {
        /// A new park; clones of its unparker may live on any thread.
        pub fn new() -> StdPark {
            StdPark {
                inner: Arc::new(Inner {
                    notified: AtomicBool::new(false),
                    lock: Mutex::new(()),
                    cvar: Condvar::new(),
                }),
            }
        }
    }

    impl Default for StdPark {
        fn default() -> Self {
            StdPark::new()
        }
    }

    impl Park for StdPark {
        type Unparker = StdUnparker;

        fn park(&mut self, deadline: Option<Instant>) {
            let inner = &*self.inner;
            if inner.notified.swap(false, Ordering::Acquire) {
                return;
            }
            #[cfg(loom)]
            if deadline.is_some() {
                // Under the model checker time does not pass: a deadline
                // always counts as reached (a spurious return is allowed).
                return;
            }
            let mut guard = inner.lock.lock().unwrap_or_else(|e| e.into_inner());
            loop {
                if inner.notified.swap(false, Ordering::Acquire) {
                    return;
                }
                match deadline {
                    None => {
                        guard = inner.cvar.wait(guard).unwrap_or_else(|e| e.into_inner());
                    }
                    #[cfg(not(loom))]
                    Some(deadline) => {
                        let now = self.now();
                        if deadline <= now {
                            return;
                        }
                        let (g, _) = inner
                            .cvar
                            .wait_timeout(guard, deadline - now)
                            .unwrap_or_else(|e| e.into_inner());
                        guard = g;
                    }
                    #[cfg(loom)]
                    Some(_) => return,
                }
            }
        }

        fn unparker(&self) -> StdUnparker {
            StdUnparker {
                inner: self.inner.clone(),
            }
        }

        fn now(&self) -> Instant {
            clock::now()
        }
    }

    impl Unpark for StdUnparker {
        fn unpark(&self) {
            let inner = &*self.inner;
            if inner.notified.swap(true, Ordering::Release) {
                return; // already pending: the next park returns at once
            }
            // Taking the lock orders this notification against a parker that
            // checked `notified` and is about to wait: it either sees the flag
            // or is already waiting and gets the signal.
            drop(inner.lock.lock().unwrap_or_else(|e| e.into_inner()));
            inner.cvar.notify_one();
        }
    }

    #[cfg(not(loom))]
    mod clock {
        use crate::Instant;
        use std::sync::OnceLock;

        /// Nanoseconds since the first reading in this process.
        pub(super) fn now() -> Instant {
            static ORIGIN: OnceLock<std::time::Instant> = OnceLock::new();
            let origin = *ORIGIN.get_or_init(std::time::Instant::now);
            Instant::from_nanos(u64::try_from(origin.elapsed().as_nanos()).unwrap_or(u64::MAX))
        }
    }

    #[cfg(loom)]
    mod clock {
        use crate::Instant;
        /// Time does not pass under the model checker; a constant clock keeps
        /// every execution deterministic.
        pub(super) fn now() -> Instant {
            Instant::ZERO
        }
    }
}
