//! How the image ends: `SCHEDOP_shutdown`, or a triple fault when even
//! that is impossible.
//!
//! Why a module: three paths end the image — main returned (poweroff), a
//! panic (crash), a boot failure (crash) — and all of them must end it for
//! certain, never spin or halt. `hlt` with interrupts off is not an option
//! on PVH (Xen takes the vCPU down as if powered off, which would hide a
//! crash). The hypercall page is recorded here as soon as it is installed,
//! so every later failure can shut down properly; before that (not under
//! Xen, no hypercall page) or if Xen returned from the shutdown, the image
//! loads an empty IDT and raises an exception: the CPU triple-faults and
//! Xen ends the domain as crashed or rebooted — never as a clean exit.

use core::arch::asm;

use spin::Once;

use crate::abi::sched::SchedShutdown;
use crate::abi::{HYPERVISOR_SCHED_OP, SCHEDOP_SHUTDOWN};
use crate::hw::Hypercalls;
use crate::hypervisor::ShutdownReason;

static HYPERCALLS: Once<Hypercalls> = Once::new();

/// Records the installed hypercall page for [`halt`].
pub(crate) fn set_hypercalls(hc: Hypercalls) {
    HYPERCALLS.call_once(|| hc);
}

/// Ends the domain with `reason`. Never returns.
pub(crate) fn halt(reason: ShutdownReason) -> ! {
    if let Some(hc) = HYPERCALLS.get() {
        let mut arg = SchedShutdown {
            reason: reason.raw(),
        };
        // SAFETY: `sched_op(SCHEDOP_shutdown, &sched_shutdown)`: `arg` is
        // the 4-byte struct Xen reads, live for the call.
        unsafe {
            hc.call2(
                HYPERVISOR_SCHED_OP,
                u64::from(SCHEDOP_SHUTDOWN),
                &mut arg as *mut SchedShutdown as u64,
            );
        }
    }
    triple_fault()
}

/// Loads an IDT of limit 0 and raises `int3`: the exception cannot be
/// delivered (#GP), nor can that one (#DF): the CPU shuts down, which Xen
/// turns into the end of the domain.
fn triple_fault() -> ! {
    let idtr = [0u16; 5]; // limit 0, base 0
                          // SAFETY: ring 0 in the image (the only place this code runs). Loading
                          // an empty IDT and trapping is the intended, final effect: nothing runs
                          // afterwards, so no invariant of the program can be observed broken.
    unsafe {
        asm!(
            "lidt [{0}]",
            "int3",
            "2: jmp 2b",
            in(reg) idtr.as_ptr(),
            options(noreturn)
        );
    }
}
