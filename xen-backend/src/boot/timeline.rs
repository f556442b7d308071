//! The image's start-up timeline, measured from inside: when Xen created
//! the vCPU (during `xl create`), when the image's main started, when the
//! unikernel said it was ready, and when it exited.
//!
//! Why from inside: the test bed's wall clock includes QEMU, dom0 and `xl`
//! itself, so it cannot tell how much of a start-up is the guest's. The
//! PV clock (Xen system time) is one time base for every domain, and
//! `VCPUOP_get_runstate_info` tells how long vCPU 0 has existed, so the
//! guest can date its own creation (see
//! [`VcpuRunstateInfo`](crate::abi::vcpu::VcpuRunstateInfo)) and report
//! each step relative to it, in one line printed just before
//! `shimmer: exit CODE`:
//!
//! ```text
//! shimmer: timeline: main 12.345 ms, ready 12.400 ms, exit 4012.500 ms (since vcpu creation)
//! ```
//!
//! `ready` is when `shimmer: ready` was printed ([`ready`]): by the runtime
//! when main starts, or later by the unikernel once it serves.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicU64, Ordering};

use spin::Once;

use crate::clock::PvClock;
use crate::hw::XenHw;
use crate::hypervisor::Hypervisor;

use super::console;

/// What the boot measured, set once before main.
#[cfg_attr(test, allow(dead_code))]
struct Start {
    hw: XenHw,
    /// System time of vCPU 0's creation, if Xen told us.
    created_ns: Option<u64>,
    main_ns: u64,
}

static START: Once<Start> = Once::new();
/// System time of the first `shimmer: ready` (0: not yet).
static READY_NS: AtomicU64 = AtomicU64::new(0);

/// System time at which Xen created vCPU 0: now minus the time its runstate
/// accounting has recorded (`None` if the hypercall failed).
pub fn vcpu_created_ns(hw: &XenHw) -> Option<u64> {
    let now = PvClock::new().now(hw);
    let info = hw.vcpu_runstate(0).ok()?;
    Some(now.saturating_sub(info.accounted_ns()))
}

/// Records the boot's measurements (the first call wins).
#[cfg_attr(test, allow(dead_code))]
pub(crate) fn start(hw: XenHw, created_ns: Option<u64>, main_ns: u64) {
    START.call_once(|| Start {
        hw,
        created_ns,
        main_ns,
    });
}

/// Prints `shimmer: ready` on the console, once: the line the test bed
/// waits for before it runs its dom0 commands. Later calls do nothing.
/// Returns whether this call printed it.
pub fn ready() -> bool {
    let Some(start) = START.get() else {
        return false;
    };
    let now = PvClock::new().now(&start.hw).max(1);
    if READY_NS
        .compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed)
        .is_err()
    {
        return false;
    }
    if let Some(mut out) = console::get() {
        let _ = out.write_str("shimmer: ready\n");
    }
    true
}

/// Writes the timeline line (nothing if the boot recorded no creation
/// time).
#[cfg_attr(test, allow(dead_code))]
pub(crate) fn report(out: &mut impl Write) -> fmt::Result {
    let Some(start) = START.get() else {
        return Ok(());
    };
    let Some(created) = start.created_ns else {
        return Ok(());
    };
    let now = PvClock::new().now(&start.hw);
    let ms = |t: u64| Millis(t.saturating_sub(created));
    write!(out, "shimmer: timeline: main {}", ms(start.main_ns))?;
    match READY_NS.load(Ordering::Relaxed) {
        0 => {}
        ready => write!(out, ", ready {}", ms(ready))?,
    }
    writeln!(out, ", exit {} (since vcpu creation)", ms(now))
}

/// Nanoseconds shown as milliseconds with three decimals.
struct Millis(u64);

impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:03} ms", self.0 / 1_000_000, self.0 / 1_000 % 1_000)
    }
}

#[cfg(test)]
mod tests {
    use super::Millis;
    use std::format;

    #[test]
    fn millis_keep_three_decimals() {
        assert_eq!(format!("{}", Millis(12_345_678)), "12.345 ms");
        assert_eq!(format!("{}", Millis(999)), "0.000 ms");
        assert_eq!(format!("{}", Millis(1_000)), "0.001 ms");
        assert_eq!(format!("{}", Millis(4_000_000_000)), "4000.000 ms");
    }
}
