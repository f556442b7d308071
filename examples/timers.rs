//! Timer lateness: sleep many times for a random duration and report how
//! late the wake-ups were — the figure a unikernel's timers live by.
//!
//! Each sleep is a whole number of microseconds drawn uniformly from
//! `0..=--max` by a fixed xorshift generator (the same sequence as the
//! test bed's Linux `usleep` guest, `xen-backend/testbed/linux-guests/`,
//! so the two are compared sleep for sleep). A sleep that ends before its
//! duration is an error: `main` returns `Err` (exit status 1). The result
//! is one line:
//!
//! ```text
//! timers: n=10000 early=0 median_us=57.2 p99_us=140.3 max_us=812.9
//! ```
//!
//! ```sh
//! cargo run --release --example timers                          # 10,000 sleeps of 0-5 ms
//! cargo run --release --example timers -- --count 500 --max 1ms
//! xen-backend/testbed/run --example timers                       # the same under Xen
//! ```
#![cfg_attr(feature = "xen", no_std, no_main)]

extern crate alloc;

use alloc::vec::Vec;

use shimmer::{Duration, Error, ErrorKind, Instant};

/// The generator shared with the Linux guest: xorshift64 (13, 7, 17).
struct XorShift(u64);

impl XorShift {
    const SEED: u64 = 0x9E37_79B9_7F4A_7C15;

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// Tenths of a microsecond, printed as `12.3`.
struct Micros(u64);

impl core::fmt::Display for Micros {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}.{}", self.0 / 1000, self.0 / 100 % 10)
    }
}

#[shimmer::main(options(
    count = "number of sleeps (default 10000)",
    max = "longest sleep, e.g. 5ms (default 5ms); each is uniform in 0..=max, in whole microseconds"
))]
async fn main() -> Result<(), Error> {
    let count: usize = shimmer::args().parse_or("count", 10_000);
    let max = shimmer::args().duration_or("max", Duration::from_millis(5));
    if count == 0 {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "--count 0: nothing to measure (give at least 1)",
        ));
    }
    let max_us = max.as_micros() as u64;
    let mut rng = XorShift(XorShift::SEED);
    let mut lateness_ns: Vec<u64> = Vec::with_capacity(count);
    let mut early = 0usize;
    for i in 0..count {
        let wanted = Duration::from_micros(rng.next() % (max_us + 1));
        let start = Instant::now();
        shimmer::sleep(wanted).await;
        let slept = Instant::now().duration_since(start);
        if slept < wanted {
            if early == 0 {
                shimmer::println!("timers: sleep {i} of {wanted:?} ended after {slept:?}: early");
            }
            early += 1;
        }
        lateness_ns.push(slept.saturating_sub(wanted).as_nanos() as u64);
    }
    lateness_ns.sort_unstable();
    let at = |q: usize| Micros(lateness_ns[(count - 1) * q / 100]);
    shimmer::println!(
        "timers: n={count} early={early} median_us={} p99_us={} max_us={}",
        at(50),
        at(99),
        at(100)
    );
    if early > 0 {
        return Err(Error::new(
            ErrorKind::Io,
            format_args!("{early} of {count} timers fired early"),
        ));
    }
    Ok(())
}
