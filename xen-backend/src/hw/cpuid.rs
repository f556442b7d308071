//! Finding Xen's CPUID leaves.
//!
//! Xen publishes its leaves at a base `0x40000000 + k·0x100` (not always
//! `k = 0`: with Viridian/Hyper-V enlightenments on, Hyper-V's leaves come
//! first and Xen's move up). The base leaf returns the signature
//! "XenVMMXenVMM" in EBX/ECX/EDX and the highest Xen leaf in EAX; shimmer
//! needs leaf `base + 2` (hypercall page MSR), so it requires
//! `EAX ≥ base + 2`.

use core::arch::x86_64::CpuidResult;

use crate::abi::{
    XEN_CPUID_FIRST_LEAF, XEN_CPUID_LEAF_STRIDE, XEN_CPUID_SIGNATURE_EBX, XEN_CPUID_SIGNATURE_ECX,
    XEN_CPUID_SIGNATURE_EDX,
};

/// Where Xen's CPUID leaves are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct XenLeaves {
    /// The base leaf (signature).
    pub base: u32,
    /// The highest Xen leaf (EAX of the base leaf).
    pub max_leaf: u32,
}

impl XenLeaves {
    /// Leaf `base + 1`: Xen's version (EAX = major << 16 | minor).
    pub const fn version_leaf(self) -> u32 {
        self.base + 1
    }

    /// Leaf `base + 2`: EAX = number of hypercall pages, EBX = the MSR that
    /// installs one.
    pub const fn hypercall_leaf(self) -> u32 {
        self.base + 2
    }
}

/// The signature scan over any `cpuid` function (pure: the host tests feed
/// it a fake). Bases `0x40000000 ..= 0x4000FF00`, as Xen and Linux scan.
pub fn scan_xen_leaves(cpuid: impl Fn(u32) -> CpuidResult) -> Option<XenLeaves> {
    (0..0x100u32)
        .map(|k| XEN_CPUID_FIRST_LEAF + k * XEN_CPUID_LEAF_STRIDE)
        .find_map(|base| {
            let r = cpuid(base);
            let signed = r.ebx == XEN_CPUID_SIGNATURE_EBX
                && r.ecx == XEN_CPUID_SIGNATURE_ECX
                && r.edx == XEN_CPUID_SIGNATURE_EDX;
            // `eax >= base + 2`, written so that an `eax` below `base`
            // cannot wrap into a pass.
            (signed && r.eax >= base + 2).then_some(XenLeaves {
                base,
                max_leaf: r.eax,
            })
        })
}

/// Executes `cpuid` for `leaf` (subleaf 0).
pub fn cpuid(leaf: u32) -> CpuidResult {
    // SAFETY: `cpuid` is available on every x86_64 CPU, is unprivileged and
    // has no side effect beyond its outputs (`__cpuid_count` handles rbx).
    // The intrinsic is a safe fn on recent toolchains but `unsafe` on the
    // workspace's minimum (1.85), hence the block and the allow.
    #[allow(unused_unsafe)]
    unsafe {
        core::arch::x86_64::__cpuid_count(leaf, 0)
    }
}

/// Finds Xen's leaves on this CPU (`None`: not running under Xen).
pub fn find_xen_leaves() -> Option<XenLeaves> {
    scan_xen_leaves(cpuid)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xen_at(base: u32, eax: u32) -> impl Fn(u32) -> CpuidResult {
        move |leaf| {
            if leaf == base {
                CpuidResult {
                    eax,
                    ebx: XEN_CPUID_SIGNATURE_EBX,
                    ecx: XEN_CPUID_SIGNATURE_ECX,
                    edx: XEN_CPUID_SIGNATURE_EDX,
                }
            } else if leaf == 0x4000_0000 {
                // Another hypervisor's signature ("Microsoft Hv") at the first base.
                CpuidResult {
                    eax: 0x4000_0005,
                    ebx: 0x7263_694d,
                    ecx: 0x666f_736f,
                    edx: 0x7648_2074,
                }
            } else {
                CpuidResult {
                    eax: 0,
                    ebx: 0,
                    ecx: 0,
                    edx: 0,
                }
            }
        }
    }

    #[test]
    fn finds_xen_after_viridian() {
        let l = scan_xen_leaves(xen_at(0x4000_0100, 0x4000_0105)).unwrap();
        assert_eq!(l.base, 0x4000_0100);
        assert_eq!(l.hypercall_leaf(), 0x4000_0102);
        assert_eq!(l.version_leaf(), 0x4000_0101);
    }

    #[test]
    fn finds_xen_at_the_first_base_and_the_last() {
        assert_eq!(
            scan_xen_leaves(|leaf| xen_at(0x4000_0000, 0x4000_0002)(leaf)).map(|l| l.base),
            Some(0x4000_0000)
        );
        assert_eq!(
            scan_xen_leaves(xen_at(0x4000_FF00, 0x4000_FF04)).map(|l| l.base),
            Some(0x4000_FF00)
        );
    }

    #[test]
    fn rejects_too_few_leaves_and_no_signature() {
        // Signature but only base+1: no hypercall leaf.
        assert_eq!(scan_xen_leaves(xen_at(0x4000_0100, 0x4000_0101)), None);
        // EAX below the base must not wrap into a pass.
        assert_eq!(scan_xen_leaves(xen_at(0x4000_0100, 3)), None);
        assert_eq!(
            scan_xen_leaves(|_| CpuidResult {
                eax: 0,
                ebx: 0,
                ecx: 0,
                edx: 0
            }),
            None
        );
    }
}
