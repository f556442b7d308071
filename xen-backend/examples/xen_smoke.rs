//! The smoke image: boots on real Xen, runs the executor over `XenPark`.
//!
//! ```text
//! xen-backend/build-image --package shimmer-xen --example xen_smoke
//! xen-backend/testbed/run --image target/xen/images/xen_smoke.elf [-- exit=3 | -- panic]
//! ```
//!
//! Prints `shimmer: ready`, then `hello` four times 100 ms apart with each
//! line's PV-clock time (checking that no sleep ended early), its command
//! line, and returns 0. Command line words: `exit=N` returns N instead;
//! `panic` panics after `ready` (the crash path); `double-panic` panics
//! with a message whose formatting panics again (the handler must not
//! recurse); `oom` asks the heap for more than it has (allocation failure
//! → panic → crash); `polls=N` sleeps N times for 0–5 ms straight in
//! `SCHEDOP_poll` (no executor, no timer wheel: Xen's own timer lateness,
//! the baseline for the `timers` example) and prints `raw polls: n=N
//! median_us=.. p99_us=.. max_us=..`.
#![no_std]
#![no_main]

use core::fmt::Write;

use shimmer_executor::{sleep, Duration, Executor};
use shimmer_xen::boot::Platform;
use shimmer_xen::clock::PvClock;
use shimmer_xen::XenPark;

shimmer_xen::image_main!(main);

const HELLOS: u32 = 4;
const PERIOD: Duration = Duration::from_millis(100);

fn main(platform: Platform) -> i32 {
    let mut out = platform.console();
    let _ = writeln!(out, "shimmer: ready");
    let t = platform.times;
    let _ = writeln!(
        out,
        "boot: clock {} ns, main {} ns ({} us of Rust boot); heap {:#x}..{:#x} ({} KiB)",
        t.clock_ns,
        t.main_ns,
        (t.main_ns - t.clock_ns) / 1000,
        platform.heap.start,
        platform.heap.end,
        platform.heap.len() / 1024
    );

    let mut code = 0;
    for word in platform.args() {
        if word == "panic" {
            panic!("panic requested on the command line");
        } else if word == "double-panic" {
            panic!("this message cannot be formatted: {}", PanicsWhenShown);
        } else if word == "oom" {
            let too_big = platform.heap.len() as usize + 1;
            // `black_box`: an allocation nobody looks at may be elided.
            let v: alloc::vec::Vec<u8> =
                core::hint::black_box(alloc::vec::Vec::with_capacity(too_big));
            let _ = writeln!(out, "allocated {} bytes?!", v.capacity());
            return 1;
        } else if let Some(n) = word.strip_prefix("polls=") {
            let Ok(n) = n.parse::<usize>() else {
                let _ = writeln!(out, "bad argument {word:?}: polls=N wants a count");
                return 2;
            };
            return raw_polls(&platform, n.max(1));
        } else if let Some(n) = word.strip_prefix("exit=") {
            match n.parse::<i32>() {
                Ok(n) => code = n,
                Err(_) => {
                    let _ = writeln!(out, "bad argument {word:?}: exit=N wants an integer");
                    return 2;
                }
            }
        }
    }

    let hw = platform.hw;
    let clock = PvClock::new();
    let mut ex = Executor::new(XenPark::new(hw));
    let early = ex.block_on(async {
        let mut early = 0;
        for i in 1..=HELLOS {
            let before = clock.now(&hw);
            sleep(PERIOD).await;
            let after = clock.now(&hw);
            let slept = after - before;
            let ok = slept >= PERIOD.as_nanos() as u64;
            if !ok {
                early += 1;
            }
            let _ = writeln!(
                out,
                "hello {i} at {after} ns (slept {}.{:03} ms{})",
                slept / 1_000_000,
                slept / 1_000 % 1_000,
                if ok { "" } else { ", EARLY" }
            );
        }
        early
    });
    let _ = writeln!(out, "cmdline: {:?}", platform.cmdline);
    // An allocation, to show the heap works.
    let v: alloc::vec::Vec<u32> = (1..=1000).collect();
    let _ = writeln!(out, "heap: sum(1..=1000) = {}", v.iter().sum::<u32>());
    if early > 0 {
        let _ = writeln!(out, "FAIL: {early} sleeps ended early");
        return 1;
    }
    code
}

extern crate alloc;

/// `n` sleeps of 0..=5000 µs (the `timers` example's xorshift sequence),
/// each one `SCHEDOP_poll` on no port with the deadline as its timeout,
/// polled again if Xen returns before it; the lateness by the PV clock.
fn raw_polls(platform: &Platform, n: usize) -> i32 {
    use shimmer_xen::Hypervisor;
    let (hw, clock, mut out) = (platform.hw, PvClock::new(), platform.console());
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut late: alloc::vec::Vec<u64> = alloc::vec::Vec::with_capacity(n);
    for _ in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let start = clock.now(&hw);
        let deadline = start + x % 5001 * 1000;
        let mut now = start;
        while now < deadline {
            let _ = hw.sched_poll(&[], Some(deadline));
            now = clock.now(&hw);
        }
        late.push(now - deadline);
    }
    late.sort_unstable();
    let us = |q: usize| {
        let ns = late[(n - 1) * q / 100];
        (ns / 1000, ns / 100 % 10)
    };
    let ((m, m1), (p, p1), (x, x1)) = (us(50), us(99), us(100));
    let _ = writeln!(
        out,
        "raw polls: n={n} median_us={m}.{m1} p99_us={p}.{p1} max_us={x}.{x1}"
    );
    0
}

/// A value whose `Display` panics.
struct PanicsWhenShown;

impl core::fmt::Display for PanicsWhenShown {
    fn fmt(&self, _: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        panic!("second panic, inside the first one's message")
    }
}
