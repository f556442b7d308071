//! Argument struct of `XENMEM_add_to_physmap` (`memory.h`).

use super::{assert_layout, DomId};

/// `struct xen_add_to_physmap` (24 bytes): map Xen-owned frame `idx` of
/// `space` at guest frame `gpfn`. Whatever RAM was at `gpfn` is given back
/// to Xen, so map over a page you can lose.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct XenAddToPhysmap {
    /// `DOMID_SELF`.
    pub domid: DomId,
    /// Only for `XENMAPSPACE_gmfn_range`.
    pub size: u16,
    /// `XENMAPSPACE_*`.
    pub space: u32,
    /// Index in the space (grant frame number; 0 for shared_info).
    pub idx: u64,
    /// Guest frame to map it at.
    pub gpfn: u64,
}
assert_layout!(XenAddToPhysmap, 24; domid @ 0, size @ 2, space @ 4, idx @ 8, gpfn @ 16);
