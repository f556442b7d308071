//! Argument structs of `event_channel_op` (`event_channel.h`). `IN` fields
//! are filled by the guest, `OUT` fields by Xen before the hypercall
//! returns; nothing touches them concurrently, so plain integers.

use super::{assert_layout, DomId, EvtchnPort};

/// `EVTCHNOP_send`: notify the remote end of `port`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EvtchnSend {
    /// IN.
    pub port: EvtchnPort,
}
assert_layout!(EvtchnSend, 4; port @ 0);

/// `EVTCHNOP_unmask`: clear the mask bit, re-deliver if pending.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EvtchnUnmask {
    /// IN.
    pub port: EvtchnPort,
}
assert_layout!(EvtchnUnmask, 4; port @ 0);

/// `EVTCHNOP_close`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EvtchnClose {
    /// IN.
    pub port: EvtchnPort,
}
assert_layout!(EvtchnClose, 4; port @ 0);

/// `EVTCHNOP_alloc_unbound`: a port that `remote_dom` may bind to.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EvtchnAllocUnbound {
    /// IN: `DOMID_SELF`.
    pub dom: DomId,
    /// IN: the domain allowed to bind.
    pub remote_dom: DomId,
    /// OUT: the new local port.
    pub port: EvtchnPort,
}
assert_layout!(EvtchnAllocUnbound, 8; dom @ 0, remote_dom @ 2, port @ 4);

/// `EVTCHNOP_bind_interdomain`: connect to a remote unbound port.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EvtchnBindInterdomain {
    /// IN.
    pub remote_dom: DomId,
    /// Implicit C padding, made explicit.
    pub pad: u16,
    /// IN.
    pub remote_port: EvtchnPort,
    /// OUT: the new local port (left pending by Xen).
    pub local_port: EvtchnPort,
}
assert_layout!(EvtchnBindInterdomain, 12; remote_dom @ 0, pad @ 2, remote_port @ 4, local_port @ 8);

/// `EVTCHNOP_bind_virq`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EvtchnBindVirq {
    /// IN: `VIRQ_*`.
    pub virq: u32,
    /// IN: target vCPU.
    pub vcpu: u32,
    /// OUT.
    pub port: EvtchnPort,
}
assert_layout!(EvtchnBindVirq, 12; virq @ 0, vcpu @ 4, port @ 8);
