//! [`Platform`]: what the boot hands the image's main.
//!
//! Why a struct: the runtime above (the facade's Xen glue, the examples)
//! needs the hypervisor to build a [`XenPark`](crate::XenPark), a console
//! to print on, the command line for its options, and the boot times for
//! diagnostics — and nothing here may be a hidden global the runtime has to
//! know about (the console global exists for the panic handler; the
//! platform hands out the same handle).

use crate::abi::start_info::HvmStartInfo;
use crate::hw::XenHw;

use super::console::ConsoleOut;
use super::memory::PhysRange;

/// Timestamps of the boot, as Xen system time (ns, the PV clock's base,
/// the same as `Instant`'s on Xen) and raw TSC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootTimes {
    /// System time at which Xen created vCPU 0, during `xl create` (from
    /// its runstate accounting; `None` if Xen would not say).
    pub created_ns: Option<u64>,
    /// TSC when the first Rust code ran (the clock is not readable yet:
    /// shared_info is not mapped).
    pub entry_tsc: u64,
    /// System time right after shared_info was mapped.
    pub clock_ns: u64,
    /// System time just before the image's main was called.
    pub main_ns: u64,
}

/// The running PVH guest, as the boot found it.
#[derive(Debug, Clone, Copy)]
pub struct Platform {
    /// The hypervisor (hypercall page + shared_info): `XenPark::new(hw)`.
    pub hw: XenHw,
    /// The PV console.
    pub console: ConsoleOut,
    /// The kernel command line (`""` if none).
    pub cmdline: &'static str,
    /// Boot timestamps.
    pub times: BootTimes,
    /// The heap handed to the global allocator.
    pub heap: PhysRange,
    /// A copy of Xen's `hvm_start_info`.
    pub start_info: HvmStartInfo,
}

impl Platform {
    /// The console (a copy of [`Platform::console`]).
    pub fn console(&self) -> ConsoleOut {
        self.console
    }

    /// The command line's words, split on ASCII spaces.
    pub fn args(&self) -> impl Iterator<Item = &'static str> {
        self.cmdline.split(' ').filter(|w| !w.is_empty())
    }
}
