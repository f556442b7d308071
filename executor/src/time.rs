//! Time: [`Instant`], the timer wheel, and the futures built on it —
//! [`sleep`], [`sleep_until`], [`timeout`], [`interval`].
//!
//! Timers live in the executor's hierarchical wheel (`wheel.rs`) with a
//! 16 µs tick; a [`Sleep`] carries its wheel entry inline, so sleeping never
//! allocates. A timer never fires before its deadline, and fires at most one
//! tick plus the backend's park latency after it.

mod instant;
mod interval;
mod sleep;
mod timeout;
pub(crate) mod wheel;

pub use instant::Instant;
pub use interval::{interval, interval_at, Interval, MissedTickBehavior};
pub use sleep::{sleep, sleep_until, Sleep};
pub use timeout::{timeout, timeout_at, Elapsed, Timeout};

use wheel::TICK_NS;

/// The first tick at or after `t`: a timer for `t` registered at this tick
/// cannot fire early.
pub(crate) fn instant_to_tick_ceil(t: Instant) -> u64 {
    t.as_nanos().div_ceil(TICK_NS)
}

/// The tick `t` falls in: the wheel may process every deadline up to it.
pub(crate) fn instant_to_tick_floor(t: Instant) -> u64 {
    t.as_nanos() / TICK_NS
}

/// The instant a tick starts.
pub(crate) fn tick_to_instant(tick: u64) -> Instant {
    Instant::from_nanos(tick.saturating_mul(TICK_NS))
}
