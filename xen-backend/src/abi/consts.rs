//! Hypercall numbers, sub-operation numbers and other constants of the Xen
//! public headers (`xen.h`, `event_channel.h`, `sched.h`, `memory.h`,
//! `hvm/params.h`, `hvm/hvm_op.h`, `version.h`, `features.h`).
//!
//! Kept as plain `u32`/`u64` constants (not enums) because they travel in
//! registers and structs exactly as numbers, and because Xen may answer with
//! values an enum would not know.

use super::DomId;

/// The Xen interface version these layouts are for (Xen 4.17).
pub const XEN_INTERFACE_VERSION: u32 = 0x0004_1100;

/// Page size of the ABI (all of x86_64).
pub const PAGE_SIZE: usize = 4096;

/// "This domain" in any `domid` field.
pub const DOMID_SELF: DomId = 0x7FF0;

// --- Hypercall numbers (`xen.h`, `__HYPERVISOR_*`) -----------------------

/// `memory_op(cmd, arg*)`.
pub const HYPERVISOR_MEMORY_OP: u32 = 12;
/// `set_timer_op(abs_ns)`.
pub const HYPERVISOR_SET_TIMER_OP: u32 = 15;
/// `xen_version(cmd, arg*)`.
pub const HYPERVISOR_XEN_VERSION: u32 = 17;
/// `console_io(cmd, count, buf*)`.
pub const HYPERVISOR_CONSOLE_IO: u32 = 18;
/// `grant_table_op(cmd, arg*, count)`.
pub const HYPERVISOR_GRANT_TABLE_OP: u32 = 20;
/// `vcpu_op(cmd, vcpu, arg*)`.
pub const HYPERVISOR_VCPU_OP: u32 = 24;
/// `sched_op(cmd, arg*)` (new style).
pub const HYPERVISOR_SCHED_OP: u32 = 29;
/// `event_channel_op(cmd, arg*)` (new style).
pub const HYPERVISOR_EVENT_CHANNEL_OP: u32 = 32;
/// `hvm_op(op, arg*)`.
pub const HYPERVISOR_HVM_OP: u32 = 34;

/// Size of one stub in the hypercall page: hypercall `n` is at `page + 32 n`.
pub const HYPERCALL_STUB_SIZE: usize = 32;

// --- vcpu_op sub-ops (`vcpu.h`) -----------------------------------------

/// `VCPUOP_get_runstate_info`.
pub const VCPUOP_GET_RUNSTATE_INFO: u32 = 4;

// --- event_channel_op sub-ops (`event_channel.h`) ------------------------

/// `EVTCHNOP_bind_interdomain`.
pub const EVTCHNOP_BIND_INTERDOMAIN: u32 = 0;
/// `EVTCHNOP_bind_virq`.
pub const EVTCHNOP_BIND_VIRQ: u32 = 1;
/// `EVTCHNOP_close`.
pub const EVTCHNOP_CLOSE: u32 = 3;
/// `EVTCHNOP_send`.
pub const EVTCHNOP_SEND: u32 = 4;
/// `EVTCHNOP_status`.
pub const EVTCHNOP_STATUS: u32 = 5;
/// `EVTCHNOP_alloc_unbound`.
pub const EVTCHNOP_ALLOC_UNBOUND: u32 = 6;
/// `EVTCHNOP_bind_ipi`.
pub const EVTCHNOP_BIND_IPI: u32 = 7;
/// `EVTCHNOP_unmask`.
pub const EVTCHNOP_UNMASK: u32 = 9;

/// Number of ports of the 2-level ABI (64 words × 64 bits).
pub const EVTCHN_2L_NR_CHANNELS: u32 = 4096;

// --- VIRQs (`xen.h`) -------------------------------------------------------

/// Per-vCPU timer (`set_timer_op` expiry).
pub const VIRQ_TIMER: u32 = 0;
/// Debug request (`xl debug-keys`).
pub const VIRQ_DEBUG: u32 = 1;
/// Emergency console input.
pub const VIRQ_CONSOLE: u32 = 2;

// --- sched_op sub-ops and shutdown reasons (`sched.h`) --------------------

/// `SCHEDOP_yield`.
pub const SCHEDOP_YIELD: u32 = 0;
/// `SCHEDOP_block`.
pub const SCHEDOP_BLOCK: u32 = 1;
/// `SCHEDOP_shutdown`.
pub const SCHEDOP_SHUTDOWN: u32 = 2;
/// `SCHEDOP_poll`.
pub const SCHEDOP_POLL: u32 = 3;
/// Most ports one `SCHEDOP_poll` accepts (more: `-EINVAL`).
pub const SCHEDOP_POLL_MAX_PORTS: usize = 128;

/// `SHUTDOWN_poweroff`: clean exit.
pub const SHUTDOWN_POWEROFF: u32 = 0;
/// `SHUTDOWN_reboot`.
pub const SHUTDOWN_REBOOT: u32 = 1;
/// `SHUTDOWN_suspend`.
pub const SHUTDOWN_SUSPEND: u32 = 2;
/// `SHUTDOWN_crash`: the toolstack treats the domain as crashed.
pub const SHUTDOWN_CRASH: u32 = 3;
/// `SHUTDOWN_watchdog`.
pub const SHUTDOWN_WATCHDOG: u32 = 4;
/// `SHUTDOWN_soft_reset`.
pub const SHUTDOWN_SOFT_RESET: u32 = 5;

// --- memory_op (`memory.h`) -----------------------------------------------

/// `XENMEM_decrease_reservation`.
pub const XENMEM_DECREASE_RESERVATION: u32 = 1;
/// `XENMEM_populate_physmap`.
pub const XENMEM_POPULATE_PHYSMAP: u32 = 6;
/// `XENMEM_add_to_physmap`.
pub const XENMEM_ADD_TO_PHYSMAP: u32 = 7;
/// `XENMEM_memory_map`.
pub const XENMEM_MEMORY_MAP: u32 = 9;

/// `XENMAPSPACE_shared_info`: map the shared_info page.
pub const XENMAPSPACE_SHARED_INFO: u32 = 0;
/// `XENMAPSPACE_grant_table`: map grant-table frame `idx`.
pub const XENMAPSPACE_GRANT_TABLE: u32 = 1;
/// `XENMAPSPACE_gmfn`.
pub const XENMAPSPACE_GMFN: u32 = 2;

// --- hvm_op and HVM params (`hvm_op.h`, `params.h`) -------------------------

/// `HVMOP_set_param`.
pub const HVMOP_SET_PARAM: u32 = 0;
/// `HVMOP_get_param`.
pub const HVMOP_GET_PARAM: u32 = 1;

/// `HVM_PARAM_CALLBACK_IRQ`.
pub const HVM_PARAM_CALLBACK_IRQ: u32 = 0;
/// `HVM_PARAM_STORE_PFN`: guest frame of the xenstore ring.
pub const HVM_PARAM_STORE_PFN: u32 = 1;
/// `HVM_PARAM_STORE_EVTCHN`: event channel of the xenstore ring.
pub const HVM_PARAM_STORE_EVTCHN: u32 = 2;
/// `HVM_PARAM_CONSOLE_PFN`: guest frame of the PV console ring.
pub const HVM_PARAM_CONSOLE_PFN: u32 = 17;
/// `HVM_PARAM_CONSOLE_EVTCHN`: event channel of the PV console ring.
pub const HVM_PARAM_CONSOLE_EVTCHN: u32 = 18;

// --- xen_version (`version.h`, `features.h`) --------------------------------

/// `XENVER_version`: returns `major << 16 | minor`.
pub const XENVER_VERSION: u32 = 0;
/// `XENVER_get_features`: fills a `xen_feature_info`.
pub const XENVER_GET_FEATURES: u32 = 6;

/// `XENFEAT_auto_translated_physmap` (bit of submap 0).
pub const XENFEAT_AUTO_TRANSLATED_PHYSMAP: u32 = 2;
/// `XENFEAT_hvm_callback_vector`.
pub const XENFEAT_HVM_CALLBACK_VECTOR: u32 = 8;
/// `XENFEAT_hvm_safe_pvclock`: the PV clock in shared_info is kept on HVM/PVH.
pub const XENFEAT_HVM_SAFE_PVCLOCK: u32 = 9;

// --- console_io (`xen.h`) and the HVM debug port ----------------------------

/// `CONSOLEIO_write`.
pub const CONSOLEIO_WRITE: u32 = 0;
/// `CONSOLEIO_read`.
pub const CONSOLEIO_READ: u32 = 1;
/// `XEN_HVM_DEBUGCONS_IOPORT`: bytes written here appear on Xen's console.
pub const XEN_HVM_DEBUGCONS_IOPORT: u16 = 0xE9;

// --- CPUID (`arch-x86/cpuid.h`) -----------------------------------------------

/// First leaf where Xen's CPUID range may start.
pub const XEN_CPUID_FIRST_LEAF: u32 = 0x4000_0000;
/// Distance between candidate bases (`0x40000000 + k * 0x100`).
pub const XEN_CPUID_LEAF_STRIDE: u32 = 0x100;
/// "XenVMMXenVMM" in EBX.
pub const XEN_CPUID_SIGNATURE_EBX: u32 = 0x566e_6558;
/// "XenVMMXenVMM" in ECX.
pub const XEN_CPUID_SIGNATURE_ECX: u32 = 0x6558_4d4d;
/// "XenVMMXenVMM" in EDX.
pub const XEN_CPUID_SIGNATURE_EDX: u32 = 0x4d4d_566e;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuid_signature_spells_xenvmmxenvmm() {
        let mut s = [0u8; 12];
        s[0..4].copy_from_slice(&XEN_CPUID_SIGNATURE_EBX.to_le_bytes());
        s[4..8].copy_from_slice(&XEN_CPUID_SIGNATURE_ECX.to_le_bytes());
        s[8..12].copy_from_slice(&XEN_CPUID_SIGNATURE_EDX.to_le_bytes());
        assert_eq!(&s, b"XenVMMXenVMM");
    }
}
