//! [`Clock`]: monotonic and wall-clock time (Mirage's MCLOCK and PCLOCK).
//!
//! The monotonic clock is the one the executor's timers use (`Park::now`):
//! nanoseconds since an arbitrary origin, never going back. The wall clock is
//! nanoseconds since the Unix epoch (UTC) and may jump (NTP, the host
//! setting the time).
//!
//! Implementations here: [`ExecutorClock`] (the current executor's monotonic
//! clock, plus a wall-clock offset set at boot), [`ManualClock`] (tests: time
//! moves only when told), and with `std` `StdClock` (the host's clocks).
//! Backends provide their own (the Xen PV clock).
//!
//! ```
//! use shimmer_io::clock::{Clock, ManualClock};
//! use core::time::Duration;
//!
//! let clock = ManualClock::new(1_000, 1_700_000_000_000_000_000);
//! clock.advance(Duration::from_millis(5));
//! assert_eq!(clock.monotonic_ns(), 5_001_000);
//! assert_eq!(clock.wall_clock_ns(), 1_700_000_000_005_000_000);
//! ```

use core::cell::Cell;
use core::time::Duration;

/// Monotonic and wall-clock time.
pub trait Clock {
    /// Nanoseconds since an arbitrary origin; never decreases.
    fn monotonic_ns(&self) -> u64;

    /// Nanoseconds since 1970-01-01T00:00:00Z; may jump either way.
    fn wall_clock_ns(&self) -> u64;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn monotonic_ns(&self) -> u64 {
        (**self).monotonic_ns()
    }
    fn wall_clock_ns(&self) -> u64 {
        (**self).wall_clock_ns()
    }
}

/// The current executor's clock ([`shimmer_executor::Instant::now`]) as
/// monotonic time; wall-clock time is that plus an offset the runtime sets
/// at boot (from the host, the hypervisor, or NTP).
///
/// ```
/// use shimmer_io::clock::{Clock, ExecutorClock};
/// shimmer_executor::block_on(async {
///     let clock = ExecutorClock::new(1_700_000_000_000_000_000);
///     let t = clock.monotonic_ns();
///     shimmer_executor::sleep(core::time::Duration::from_millis(1)).await;
///     assert!(clock.monotonic_ns() >= t + 1_000_000);
///     assert!(clock.wall_clock_ns() > 1_700_000_000_000_000_000);
/// });
/// ```
#[derive(Debug)]
pub struct ExecutorClock {
    wall_at_origin: Cell<u64>,
}

impl ExecutorClock {
    /// A clock whose wall time is `wall_at_origin_ns` at the executor
    /// clock's origin.
    pub const fn new(wall_at_origin_ns: u64) -> ExecutorClock {
        ExecutorClock {
            wall_at_origin: Cell::new(wall_at_origin_ns),
        }
    }

    /// Sets the wall clock to `now_ns` (nanoseconds since the epoch) from
    /// now on.
    ///
    /// # Panics
    /// Outside a shimmer executor.
    pub fn set_wall_clock_ns(&self, now_ns: u64) {
        self.wall_at_origin
            .set(now_ns.wrapping_sub(self.monotonic_ns()));
    }
}

impl Clock for ExecutorClock {
    /// # Panics
    /// Outside a shimmer executor (it has no clock).
    fn monotonic_ns(&self) -> u64 {
        shimmer_executor::Instant::now().as_nanos()
    }

    /// # Panics
    /// Outside a shimmer executor.
    fn wall_clock_ns(&self) -> u64 {
        self.wall_at_origin.get().wrapping_add(self.monotonic_ns())
    }
}

/// A clock that moves only when told: for tests.
#[derive(Debug, Default)]
pub struct ManualClock {
    monotonic: Cell<u64>,
    wall: Cell<u64>,
}

impl ManualClock {
    /// A clock reading `monotonic_ns` and `wall_clock_ns`.
    pub const fn new(monotonic_ns: u64, wall_clock_ns: u64) -> ManualClock {
        ManualClock {
            monotonic: Cell::new(monotonic_ns),
            wall: Cell::new(wall_clock_ns),
        }
    }

    /// Moves both clocks forward by `by` (saturating).
    pub fn advance(&self, by: Duration) {
        let ns = u64::try_from(by.as_nanos()).unwrap_or(u64::MAX);
        self.monotonic.set(self.monotonic.get().saturating_add(ns));
        self.wall.set(self.wall.get().saturating_add(ns));
    }

    /// Sets the wall clock (the monotonic one does not move).
    pub fn set_wall_clock_ns(&self, ns: u64) {
        self.wall.set(ns);
    }
}

impl Clock for ManualClock {
    fn monotonic_ns(&self) -> u64 {
        self.monotonic.get()
    }
    fn wall_clock_ns(&self) -> u64 {
        self.wall.get()
    }
}

/// The host's clocks: `std::time::Instant` (from the first reading in the
/// process) and `SystemTime`.
#[cfg(feature = "std")]
#[derive(Debug, Default, Clone, Copy)]
pub struct StdClock;

#[cfg(feature = "std")]
impl Clock for StdClock {
    fn monotonic_ns(&self) -> u64 {
        static ORIGIN: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();
        let origin = *ORIGIN.get_or_init(std::time::Instant::now);
        u64::try_from(origin.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }

    fn wall_clock_ns(&self) -> u64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_saturates() {
        let c = ManualClock::new(u64::MAX - 1, 0);
        c.advance(Duration::from_secs(1));
        assert_eq!(c.monotonic_ns(), u64::MAX);
        c.set_wall_clock_ns(42);
        assert_eq!(c.wall_clock_ns(), 42);
    }

    #[cfg(feature = "std")]
    #[test]
    fn std_clock_moves_forward() {
        let a = StdClock.monotonic_ns();
        let b = StdClock.monotonic_ns();
        assert!(b >= a);
        assert!(StdClock.wall_clock_ns() > 1_600_000_000_000_000_000);
    }
}
