//! The real hypervisor interface on x86_64 PVH: CPUID discovery, the
//! hypercall page, hypercalls through it, `rdtsc`, the 0xE9 debug port and
//! the shared_info mapping — and [`XenHw`], the [`Hypervisor`] made of them.
//!
//! Why a module of its own: this is where the crate's `unsafe` that touches
//! hardware lives (inline assembly, MSR writes, raw physical pages). Nothing
//! here can run on the host — there is no Xen, and the privileged
//! instructions fault in user mode — so the host tests exercise only the
//! pure parts (the CPUID signature scan over a fake `cpuid`); everything
//! else is checked by compiling it, and run for real in the Xen test bed.
//!
//! [`Hypervisor`]: crate::hypervisor::Hypervisor

pub mod cpuid;
#[cfg(test)]
mod fake_page;
pub mod hypercall;
pub mod io;
pub mod xen;

pub use cpuid::{find_xen_leaves, scan_xen_leaves, XenLeaves};
pub use hypercall::{HypercallPage, Hypercalls, InstallError};
pub use io::{rdtsc, DebugPort};
pub use xen::{map_shared_info, XenHw};
