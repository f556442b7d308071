//! What the ports of mirage-skeleton's `tutorial/lwt` share: a time scale
//! (`--scale 0.01` runs an example 100× faster, so the tests can run them)
//! and a small deterministic random generator (examples build for Xen too,
//! where there is no OS randomness to ask).
//!
//! Included by each example with `#[path = "support/lwt_tutorial.rs"] mod
//! lwt_tutorial;` (cargo does not build `examples/support/` as an example).
#![allow(dead_code)] // each example uses its part

use core::str::FromStr;
use shimmer::{Duration, Instant};

/// The factor every delay is multiplied by: a finite number above 0.
#[derive(Clone, Copy, Debug)]
pub struct TimeScale(f64);

impl TimeScale {
    /// The unit scale: real time.
    pub const REAL_TIME: TimeScale = TimeScale(1.0);

    /// `secs` seconds, scaled.
    pub fn secs(self, secs: f64) -> Duration {
        Duration::from_secs_f64(secs * self.0)
    }
}

impl FromStr for TimeScale {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<TimeScale, &'static str> {
        match s.parse::<f64>() {
            Ok(x) if x > 0.0 && x.is_finite() && (1e9 * x).is_finite() => Ok(TimeScale(x)),
            _ => Err("expected a number above 0, e.g. 0.01"),
        }
    }
}

/// A tiny deterministic generator (xorshift64).
pub struct XorShift(u64);

impl XorShift {
    /// Seeded with `seed`, or from the clock when `seed` is 0.
    pub fn new(seed: u64) -> XorShift {
        XorShift(if seed == 0 {
            Instant::now().as_nanos() | 1
        } else {
            seed
        })
    }

    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}
