//! `shared_info`, `vcpu_info`, `vcpu_time_info` (`xen.h`, `arch-x86/xen.h`):
//! the page Xen shares with every guest, mapped with
//! `XENMEM_add_to_physmap(XENMAPSPACE_shared_info)`.
//!
//! # Why atomics, not `read_volatile`
//! Xen writes this page from other physical CPUs while the guest reads it
//! (event bits, the PV clock, the wall clock). A Rust reference to a plain
//! integer promises the compiler that nobody else changes it, so plain
//! fields would be undefined behaviour; `read_volatile` on a raw pointer
//! avoids the caching but is still a data race in Rust's memory model and
//! gives no read-modify-write. Atomic fields are defined for concurrent
//! writers, have the same size and alignment as the C integers (checked
//! below), compile to plain `mov`s for `Relaxed` loads/stores on x86_64, and
//! give the `lock`-prefixed read-modify-writes the event protocol needs
//! (`fetch_and` to clear a pending bit, `swap` of `evtchn_pending_sel`). The
//! same types back the in-memory pages of the host tests and the simulator,
//! which write them from real threads.
//!
//! Ordering is supplied by the users (the seqlock in `clock`, the event
//! scan in `event`), which document which fence pairs with which Xen write.

use core::sync::atomic::{AtomicI8, AtomicU32, AtomicU64, AtomicU8};

use super::assert_layout;

/// Number of `vcpu_info` slots in `shared_info` (`XEN_LEGACY_MAX_VCPUS`).
pub const LEGACY_MAX_VCPUS: usize = 32;
/// Words of the 2-level event bitmaps (`64 × 64 = 4096` ports).
pub const EVTCHN_WORDS: usize = 64;

/// `vcpu_time_info.flags` bit 0: the TSC is stable across CPUs.
pub const XEN_PVCLOCK_TSC_STABLE_BIT: u8 = 1 << 0;
/// `vcpu_time_info.flags` bit 1: the guest was stopped (paused).
pub const XEN_PVCLOCK_GUEST_STOPPED: u8 = 1 << 1;

/// `struct vcpu_time_info` (32 bytes), the PV clock of one vCPU. Xen updates
/// it under a seqlock on `version` (odd while an update is in progress); read
/// it with `clock::read_time_info`, never field by field.
#[repr(C)]
#[derive(Debug, Default)]
pub struct VcpuTimeInfo {
    /// Seqlock counter: odd while Xen is writing.
    pub version: AtomicU32,
    /// Padding.
    pub pad0: AtomicU32,
    /// TSC value at which `system_time` was taken.
    pub tsc_timestamp: AtomicU64,
    /// Xen system time (ns since domain boot) at `tsc_timestamp`.
    pub system_time: AtomicU64,
    /// TSC-to-ns multiplier (a 0.32 fixed-point fraction).
    pub tsc_to_system_mul: AtomicU32,
    /// Power-of-two shift applied to the TSC delta before multiplying.
    pub tsc_shift: AtomicI8,
    /// `XEN_PVCLOCK_*` bits.
    pub flags: AtomicU8,
    /// Padding.
    pub pad1: [AtomicU8; 2],
}
assert_layout!(VcpuTimeInfo, 32;
    version @ 0, pad0 @ 4, tsc_timestamp @ 8, system_time @ 16,
    tsc_to_system_mul @ 24, tsc_shift @ 28, flags @ 29, pad1 @ 30);

/// `struct arch_vcpu_info` (x86_64, 16 bytes).
#[repr(C)]
#[derive(Debug, Default)]
pub struct ArchVcpuInfo {
    /// PV page-fault address (unused on PVH).
    pub cr2: AtomicU64,
    /// Padding.
    pub pad: AtomicU64,
}
assert_layout!(ArchVcpuInfo, 16; cr2 @ 0, pad @ 8);

/// `struct vcpu_info` (64 bytes).
#[repr(C)]
#[derive(Debug, Default)]
pub struct VcpuInfo {
    /// Set by Xen when an *unmasked* port became pending for this vCPU.
    pub evtchn_upcall_pending: AtomicU8,
    /// PV only (ignored on HVM/PVH, where masking is RFLAGS.IF).
    pub evtchn_upcall_mask: AtomicU8,
    /// Padding up to the next 8-byte boundary (C inserts it implicitly).
    pub pad: [AtomicU8; 6],
    /// One bit per `evtchn_pending` word holding an unmasked pending port.
    pub evtchn_pending_sel: AtomicU64,
    /// Architecture part.
    pub arch: ArchVcpuInfo,
    /// The PV clock.
    pub time: VcpuTimeInfo,
}
assert_layout!(VcpuInfo, 64;
    evtchn_upcall_pending @ 0, evtchn_upcall_mask @ 1, pad @ 2,
    evtchn_pending_sel @ 8, arch @ 16, time @ 32);

/// `struct arch_shared_info` (x86_64, 48 bytes). PV bookkeeping; shimmer
/// (PVH) reads none of it but the layout must be right for what follows.
#[repr(C)]
#[derive(Debug, Default)]
pub struct ArchSharedInfo {
    /// Highest PFN (PV).
    pub max_pfn: AtomicU64,
    /// PV P2M frame list list.
    pub pfn_to_mfn_frame_list_list: AtomicU64,
    /// NMI reason bits.
    pub nmi_reason: AtomicU64,
    /// PV linear P2M: CR3.
    pub p2m_cr3: AtomicU64,
    /// PV linear P2M: virtual address.
    pub p2m_vaddr: AtomicU64,
    /// PV linear P2M: generation counter.
    pub p2m_generation: AtomicU64,
}
assert_layout!(ArchSharedInfo, 48;
    max_pfn @ 0, pfn_to_mfn_frame_list_list @ 8, nmi_reason @ 16,
    p2m_cr3 @ 24, p2m_vaddr @ 32, p2m_generation @ 40);

/// `struct shared_info` (3136 bytes used of its page).
#[repr(C)]
#[derive(Debug)]
pub struct SharedInfo {
    /// Per-vCPU info; shimmer runs on vCPU 0 only.
    pub vcpu_info: [VcpuInfo; LEGACY_MAX_VCPUS],
    /// One pending bit per port; Xen sets, the guest clears (atomic RMW).
    pub evtchn_pending: [AtomicU64; EVTCHN_WORDS],
    /// One mask bit per port; the guest owns it, Xen only reads it.
    pub evtchn_mask: [AtomicU64; EVTCHN_WORDS],
    /// Wall-clock seqlock counter (odd while Xen writes `wc_*`).
    pub wc_version: AtomicU32,
    /// Wall clock at system time 0: seconds (low 32 bits).
    pub wc_sec: AtomicU32,
    /// Wall clock at system time 0: nanoseconds.
    pub wc_nsec: AtomicU32,
    /// Wall clock at system time 0: seconds, high 32 bits (64-bit guests).
    pub wc_sec_hi: AtomicU32,
    /// Architecture part.
    pub arch: ArchSharedInfo,
}
assert_layout!(SharedInfo, 3136;
    vcpu_info @ 0, evtchn_pending @ 0x800, evtchn_mask @ 0xA00,
    wc_version @ 0xC00, wc_sec @ 3076, wc_nsec @ 3080, wc_sec_hi @ 3084,
    arch @ 3088);
const _: () = assert!(core::mem::offset_of!(SharedInfo, arch.max_pfn) == 3088);
const _: () = assert!(core::mem::offset_of!(SharedInfo, arch.p2m_cr3) == 3112);
const _: () = assert!(core::mem::offset_of!(SharedInfo, arch.p2m_generation) == 3128);
const _: () = assert!(core::mem::size_of::<SharedInfo>() <= super::PAGE_SIZE);
const _: () = assert!(core::mem::align_of::<SharedInfo>() == 8);

impl SharedInfo {
    /// An all-zero `shared_info`, as Xen hands it to a new domain. For tests
    /// and the in-process simulator (the real one is mapped, not built).
    pub const fn zeroed() -> SharedInfo {
        SharedInfo {
            vcpu_info: [const { VcpuInfo::zeroed() }; LEGACY_MAX_VCPUS],
            evtchn_pending: [const { AtomicU64::new(0) }; EVTCHN_WORDS],
            evtchn_mask: [const { AtomicU64::new(0) }; EVTCHN_WORDS],
            wc_version: AtomicU32::new(0),
            wc_sec: AtomicU32::new(0),
            wc_nsec: AtomicU32::new(0),
            wc_sec_hi: AtomicU32::new(0),
            arch: ArchSharedInfo {
                max_pfn: AtomicU64::new(0),
                pfn_to_mfn_frame_list_list: AtomicU64::new(0),
                nmi_reason: AtomicU64::new(0),
                p2m_cr3: AtomicU64::new(0),
                p2m_vaddr: AtomicU64::new(0),
                p2m_generation: AtomicU64::new(0),
            },
        }
    }
}

impl VcpuInfo {
    /// An all-zero `vcpu_info`.
    pub const fn zeroed() -> VcpuInfo {
        VcpuInfo {
            evtchn_upcall_pending: AtomicU8::new(0),
            evtchn_upcall_mask: AtomicU8::new(0),
            pad: [const { AtomicU8::new(0) }; 6],
            evtchn_pending_sel: AtomicU64::new(0),
            arch: ArchVcpuInfo {
                cr2: AtomicU64::new(0),
                pad: AtomicU64::new(0),
            },
            time: VcpuTimeInfo::zeroed(),
        }
    }
}

impl VcpuTimeInfo {
    /// An all-zero `vcpu_time_info` (version 0, multiplier 0: a clock that
    /// stands still at 0 until Xen fills it).
    pub const fn zeroed() -> VcpuTimeInfo {
        VcpuTimeInfo {
            version: AtomicU32::new(0),
            pad0: AtomicU32::new(0),
            tsc_timestamp: AtomicU64::new(0),
            system_time: AtomicU64::new(0),
            tsc_to_system_mul: AtomicU32::new(0),
            tsc_shift: AtomicI8::new(0),
            flags: AtomicU8::new(0),
            pad1: [const { AtomicU8::new(0) }; 2],
        }
    }
}

impl Default for SharedInfo {
    fn default() -> Self {
        SharedInfo::zeroed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(unsafe_code)] // viewing the struct as bytes, test only
    fn zeroed_is_all_zero_bytes() {
        let s = std::boxed::Box::new(SharedInfo::zeroed());
        let p = &*s as *const SharedInfo as *const u8;
        // SAFETY: `SharedInfo` is `repr(C)` with no implicit padding (every
        // gap is an explicit field), so all its 3136 bytes are initialised.
        let bytes = unsafe { core::slice::from_raw_parts(p, core::mem::size_of::<SharedInfo>()) };
        assert!(bytes.iter().all(|&b| b == 0));
    }

    #[test]
    fn vcpu0_time_is_at_offset_32() {
        let s = std::boxed::Box::new(SharedInfo::zeroed());
        let base = &*s as *const SharedInfo as usize;
        let t = &s.vcpu_info[0].time as *const VcpuTimeInfo as usize;
        assert_eq!(t - base, 32);
        let p1 = &s.evtchn_pending[1] as *const AtomicU64 as usize;
        assert_eq!(p1 - base, 0x808);
    }
}
