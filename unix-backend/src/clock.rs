//! [`UnixClock`]: the kernel's clocks as the executor's clock and as
//! [`Clock`].
//!
//! Why one type: the executor's timers read [`Park::now`](shimmer_executor::Park::now),
//! which [`UnixPark`](crate::UnixPark) answers with this clock, and
//! `timerfd` deadlines (the park's fallback) are absolute CLOCK_MONOTONIC
//! times. If `shimmer_io`'s [`Clock`] used another origin (say
//! `std::time::Instant` since the first reading), a deadline computed from
//! one and waited on with the other would be off by that difference. So the
//! monotonic reading is CLOCK_MONOTONIC in nanoseconds, unshifted, in all
//! three places: `Instant::now()` inside an executor, [`UnixClock::now`] and
//! [`Clock::monotonic_ns`] agree to the nanosecond apart from the time
//! between the reads.
//!
//! The wall clock is CLOCK_REALTIME (nanoseconds since the Unix epoch, UTC);
//! it may jump when the host's time is set. A time before 1970 reads as 0.
//!
//! CLOCK_MONOTONIC does not count time the machine is suspended
//! (CLOCK_BOOTTIME would); timers therefore do not all fire at once after a
//! resume, which is what a server wants.

use rustix::time::{clock_gettime, ClockId, Timespec};
use shimmer_executor::Instant;
use shimmer_io::clock::Clock;

/// The kernel's clocks: CLOCK_MONOTONIC (the executor's [`Instant`]) and
/// CLOCK_REALTIME. A zero-sized, copyable handle.
///
/// ```
/// use shimmer_io::clock::Clock;
/// use shimmer_unix::UnixClock;
///
/// let clock = UnixClock;
/// let a = clock.monotonic_ns();
/// assert!(clock.monotonic_ns() >= a);
/// assert!(clock.wall_clock_ns() > 1_600_000_000_000_000_000); // after 2020
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct UnixClock;

fn nanos(ts: Timespec) -> u64 {
    let secs = u64::try_from(ts.tv_sec).unwrap_or(0);
    let sub = u64::try_from(ts.tv_nsec).unwrap_or(0);
    secs.saturating_mul(1_000_000_000).saturating_add(sub)
}

impl UnixClock {
    /// Now, from CLOCK_MONOTONIC, as the executor's [`Instant`].
    pub fn now(&self) -> Instant {
        Instant::from_nanos(nanos(clock_gettime(ClockId::Monotonic)))
    }

    /// Now, from CLOCK_REALTIME, as a `SystemTime`.
    pub fn wall_clock(&self) -> std::time::SystemTime {
        std::time::UNIX_EPOCH + std::time::Duration::from_nanos(self.wall_clock_ns())
    }
}

impl Clock for UnixClock {
    fn monotonic_ns(&self) -> u64 {
        self.now().as_nanos()
    }

    fn wall_clock_ns(&self) -> u64 {
        nanos(clock_gettime(ClockId::Realtime))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_times_read_as_zero() {
        let before_epoch = Timespec {
            tv_sec: -5,
            tv_nsec: 0,
        };
        assert_eq!(nanos(before_epoch), 0);
        let t = Timespec {
            tv_sec: 2,
            tv_nsec: 5,
        };
        assert_eq!(nanos(t), 2_000_000_005);
    }
}
