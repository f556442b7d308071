//! Argument struct of `XENVER_get_features` (`version.h`, `features.h`).

use super::assert_layout;

/// `struct xen_feature_info` (8 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct XenFeatureInfo {
    /// IN: which 32-bit block of feature bits.
    pub submap_idx: u32,
    /// OUT: the bits (`XENFEAT_*` numbers index them in block 0).
    pub submap: u32,
}
assert_layout!(XenFeatureInfo, 8; submap_idx @ 0, submap @ 4);
