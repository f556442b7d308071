//! `rdtsc` and the 0xE9 debug port.

use core::arch::asm;
use core::fmt;

use crate::abi::XEN_HVM_DEBUGCONS_IOPORT;

/// Reads the time-stamp counter, after an `lfence` so the read is not
/// executed ahead of earlier loads (the PV clock's fields are read just
/// before it; xen-abi.md §4).
#[inline]
pub fn rdtsc() -> u64 {
    let lo: u32;
    let hi: u32;
    // SAFETY: `lfence` and `rdtsc` are unprivileged on x86_64 (CR4.TSD is
    // not set by Xen for PVH guests, nor by Linux for the host build), touch
    // no memory and no stack, and leave the flags alone.
    unsafe {
        asm!(
            "lfence",
            "rdtsc",
            out("eax") lo,
            out("edx") hi,
            options(nomem, nostack, preserves_flags)
        );
    }
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Xen's HVM debug console: every byte written to I/O port 0xE9 appears on
/// Xen's console as `(dN) ...` (visible with `guest_loglvl=all`). The
/// earliest output channel: it needs no hypercall page and no mapping.
#[derive(Debug)]
pub struct DebugPort {
    _private: (),
}

impl DebugPort {
    /// # Safety
    /// The caller runs as an HVM/PVH guest in ring 0 (I/O instructions are
    /// allowed and port 0xE9 is Xen's debug console, not some device). In a
    /// Linux process `out` faults.
    pub const unsafe fn new() -> DebugPort {
        DebugPort { _private: () }
    }

    /// Writes `bytes` to port 0xE9.
    pub fn write_bytes(&self, bytes: &[u8]) {
        for &b in bytes {
            // SAFETY: `DebugPort::new`'s contract: ring 0 under Xen HVM/PVH,
            // where port 0xE9 only feeds Xen's console. No memory, no stack.
            unsafe {
                asm!(
                    "out dx, al",
                    in("dx") XEN_HVM_DEBUGCONS_IOPORT,
                    in("al") b,
                    options(nomem, nostack, preserves_flags)
                );
            }
        }
    }
}

impl fmt::Write for DebugPort {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.write_bytes(s.as_bytes());
        Ok(())
    }
}
