//! The hypercall page and raw hypercalls through it.
//!
//! On HVM/PVH the guest asks Xen to fill a page of its own with 32-byte
//! stubs (`mov eax, N; vmcall; ret`, or `vmmcall` on AMD): it writes the
//! page's guest-physical address to the MSR named by CPUID leaf `base + 2`.
//! Hypercall `N` is then `call page + 32·N` with arguments in `rdi, rsi,
//! rdx, r10, r8` and the result in `rax` (xen-abi.md §1).
//!
//! The `asm!` block declares every argument register clobbered (Xen's
//! header says they are, and a debug Xen poisons them), `rcx`/`r11` too
//! (the PV stubs save them, but nothing promises it for every stub), and
//! leaves memory clobbered (no `nomem`/`readonly`): Xen reads and writes the
//! argument structs through their pointers. It does not say `nostack`: the
//! `call` pushes a return address, so the compiler must not keep anything
//! in the red zone below `rsp` across it.

use core::arch::asm;
use core::cell::UnsafeCell;

use crate::abi::{HYPERCALL_STUB_SIZE, PAGE_SIZE};

use super::cpuid::{cpuid, XenLeaves};

/// A page for Xen to fill with hypercall stubs: 4 KiB, page aligned. The
/// boot code places one in memory that is mapped executable.
#[repr(C, align(4096))]
pub struct HypercallPage(UnsafeCell<[u8; PAGE_SIZE]>);

// SAFETY: the guest never writes the page (Xen fills it through the
// physical address) and only calls into it; sharing a reference is sharing
// an address.
unsafe impl Sync for HypercallPage {}

impl HypercallPage {
    /// An empty page (filled by [`Hypercalls::install`]).
    pub const fn new() -> HypercallPage {
        HypercallPage(UnsafeCell::new([0; PAGE_SIZE]))
    }
}

impl Default for HypercallPage {
    fn default() -> Self {
        HypercallPage::new()
    }
}

const _: () = assert!(core::mem::size_of::<HypercallPage>() == PAGE_SIZE);
const _: () = assert!(core::mem::align_of::<HypercallPage>() == PAGE_SIZE);

/// An installed hypercall page: the only way to make hypercalls.
#[derive(Debug, Clone, Copy)]
pub struct Hypercalls {
    page: *const u8,
}

// SAFETY: `page` is the address of stubs Xen wrote once at install time and
// never changes afterwards; the guest only calls into it. Calling a stub
// from any thread or vCPU is what the hypercall page is for, so the handle
// may be shared and sent (the image's console lives in a `static`).
unsafe impl Send for Hypercalls {}
// SAFETY: as for `Send`: the handle is an immutable code address.
unsafe impl Sync for Hypercalls {}

/// Why the hypercall page could not be installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InstallError {
    /// Xen reports no hypercall page (CPUID `base + 2` EAX = 0).
    NoPages,
    /// The page's guest-physical address is not page aligned.
    Misaligned(u64),
}

impl core::fmt::Display for InstallError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            InstallError::NoPages => write!(f, "Xen offers no hypercall page"),
            InstallError::Misaligned(gpa) => {
                write!(f, "hypercall page address {gpa:#x} is not page aligned")
            }
        }
    }
}

impl core::error::Error for InstallError {}

impl Hypercalls {
    /// Asks Xen to fill `page`: `wrmsr(cpuid(base + 2).ebx, page_gpa)`.
    ///
    /// # Safety
    /// * The CPU runs as an HVM/PVH guest of Xen in ring 0 and `leaves`
    ///   came from [`find_xen_leaves`](super::find_xen_leaves) on it
    ///   (`wrmsr` of an unknown MSR faults).
    /// * `page_gpa` is the guest-physical address of `page`, and `page` is
    ///   mapped executable at its virtual address (the stubs are called
    ///   there).
    /// * `page` is used for nothing else.
    pub unsafe fn install(
        page: &'static HypercallPage,
        page_gpa: u64,
        leaves: XenLeaves,
    ) -> Result<Hypercalls, InstallError> {
        if page_gpa % PAGE_SIZE as u64 != 0 {
            return Err(InstallError::Misaligned(page_gpa));
        }
        let r = cpuid(leaves.hypercall_leaf());
        if r.eax == 0 {
            return Err(InstallError::NoPages);
        }
        let msr = r.ebx;
        // SAFETY: the caller guarantees ring 0 under Xen and that `msr` is
        // Xen's hypercall-page MSR (from its CPUID leaf); writing it makes
        // Xen fill the page at `page_gpa`, which the caller dedicated to
        // this. No memory we hold a reference into changes: `page` is an
        // `UnsafeCell` the guest never reads through a reference.
        unsafe {
            asm!(
                "wrmsr",
                in("ecx") msr,
                in("eax") page_gpa as u32,
                in("edx") (page_gpa >> 32) as u32,
                options(nostack, preserves_flags)
            );
        }
        Ok(Hypercalls {
            page: page.0.get() as *const u8,
        })
    }

    /// Test only: hypercalls through a stub page assembled into the test
    /// binary (`hw::fake_page`).
    ///
    /// # Safety
    /// `page` starts 128 executable 32-byte stubs that follow Xen's calling
    /// convention.
    #[cfg(test)]
    pub(crate) unsafe fn from_raw(page: *const u8) -> Hypercalls {
        Hypercalls { page }
    }

    /// Hypercall `nr` with five arguments; returns `rax`.
    ///
    /// # Safety
    /// The arguments are valid for hypercall `nr`: every pointer among them
    /// points to a live, correctly laid out argument of the size Xen reads
    /// or writes for that call (`abi` types), for the duration of the call.
    #[inline]
    pub unsafe fn call5(self, nr: u32, a1: u64, a2: u64, a3: u64, a4: u64, a5: u64) -> i64 {
        debug_assert!((nr as usize) < PAGE_SIZE / HYPERCALL_STUB_SIZE);
        // SAFETY: `nr < 128` keeps the stub inside the installed page.
        let entry = unsafe { self.page.add(nr as usize * HYPERCALL_STUB_SIZE) };
        let ret: i64;
        // SAFETY: `entry` is a stub Xen wrote (see `install`); it follows the
        // calling convention in the module doc: arguments in rdi/rsi/rdx/r10/
        // r8, all clobbered, result in rax; memory is clobbered for the
        // caller-guaranteed argument structs; no `nostack` because of `call`.
        unsafe {
            asm!(
                "call {entry}",
                entry = in(reg) entry,
                lateout("rax") ret,
                inout("rdi") a1 => _,
                inout("rsi") a2 => _,
                inout("rdx") a3 => _,
                inout("r10") a4 => _,
                inout("r8") a5 => _,
                out("rcx") _,
                out("r11") _,
            );
        }
        ret
    }

    /// Hypercall with two arguments (`cmd, arg*` shape).
    ///
    /// # Safety
    /// As [`call5`](Self::call5).
    #[inline]
    pub unsafe fn call2(self, nr: u32, a1: u64, a2: u64) -> i64 {
        // SAFETY: forwarded contract.
        unsafe { self.call5(nr, a1, a2, 0, 0, 0) }
    }

    /// Hypercall with three arguments.
    ///
    /// # Safety
    /// As [`call5`](Self::call5).
    #[inline]
    pub unsafe fn call3(self, nr: u32, a1: u64, a2: u64, a3: u64) -> i64 {
        // SAFETY: forwarded contract.
        unsafe { self.call5(nr, a1, a2, a3, 0, 0) }
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake_page::fake_hypercalls;

    fn expected(nr: u32, a: [u64; 5]) -> i64 {
        ((u64::from(nr) << 48) ^ a[0] ^ (a[1] << 1) ^ (a[2] << 2) ^ (a[3] << 3) ^ (a[4] << 4))
            as i64
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot run inline assembly")]
    fn arguments_reach_their_registers_and_rax_comes_back() {
        let hc = fake_hypercalls();
        let mut live = 0u64; // kept across calls: clobbers must not reach it
        for i in 0..1000u64 {
            let a = [
                i.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                i ^ 0x1111,
                i << 7,
                !i,
                i.rotate_left(13),
            ];
            for nr in [0u32, 5, 17, 127] {
                // SAFETY: the fake stubs take no pointers on these numbers.
                let r = unsafe { hc.call5(nr, a[0], a[1], a[2], a[3], a[4]) };
                assert_eq!(r, expected(nr, a), "nr {nr} args {a:x?}");
                live = live.wrapping_add(r as u64);
            }
        }
        let mut again = 0u64;
        for i in 0..1000u64 {
            let a = [
                i.wrapping_mul(0x9E37_79B9_7F4A_7C15),
                i ^ 0x1111,
                i << 7,
                !i,
                i.rotate_left(13),
            ];
            for nr in [0u32, 5, 17, 127] {
                again = again.wrapping_add(expected(nr, a) as u64);
            }
        }
        assert_eq!(live, again);
        // SAFETY: as above.
        assert_eq!(unsafe { hc.call2(3, 1, 2) }, expected(3, [1, 2, 0, 0, 0]));
        // SAFETY: as above.
        assert_eq!(
            unsafe { hc.call3(4, 1, 2, 3) },
            expected(4, [1, 2, 3, 0, 0])
        );
    }
}
