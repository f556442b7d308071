//! Argument struct of `HVMOP_get_param` / `HVMOP_set_param` (`hvm_op.h`).

use super::{assert_layout, DomId};

/// `struct xen_hvm_param` (16 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct XenHvmParam {
    /// IN: `DOMID_SELF`.
    pub domid: DomId,
    /// Implicit C padding, made explicit.
    pub pad: u16,
    /// IN: `HVM_PARAM_*`.
    pub index: u32,
    /// IN (set) / OUT (get).
    pub value: u64,
}
assert_layout!(XenHvmParam, 16; domid @ 0, pad @ 2, index @ 4, value @ 8);
