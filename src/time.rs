//! Time: sleeps, timeouts and intervals on the executor's timer wheel, and
//! the clock (`TIME` in MirageOS terms).

pub use shimmer_executor::{
    interval, interval_at, sleep, sleep_until, timeout, timeout_at, Duration, Elapsed, Instant,
    Interval, MissedTickBehavior, Sleep, Timeout,
};
pub use shimmer_io::clock::Clock;

#[cfg(feature = "unix")]
/// This backend's clock (monotonic: the executor's; wall: the host's or
/// the hypervisor's).
pub type SystemClock = crate::backend::time::SystemClock;

#[cfg(feature = "unix")]
/// The clock, as a [`Clock`].
pub fn clock() -> SystemClock {
    crate::backend::time::clock()
}
