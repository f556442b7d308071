//! The `Hypervisor` trait: every hypercall the runtime makes, as a typed,
//! safe method, plus the shared_info page and the vCPU's TSC.
//!
//! Why a trait: the clock, the event-channel reactor, the console and the
//! [`XenPark`](crate::park::XenPark) are written against it, never against
//! raw hypercalls. The real implementation ([`crate::hw`], x86_64 only)
//! issues hypercalls through the hypercall page; an in-process simulator
//! (and the fakes in this crate's tests) implement the same trait with
//! in-memory pages, so everything above it runs and is tested on the host.
//!
//! Methods take `&self`: on one vCPU a hypercall never runs concurrently
//! with another from the same executor, and the arguments live on the
//! caller's stack for the duration of the call.

use alloc::rc::Rc;
use core::fmt;

use crate::abi::shared_info::SharedInfo;
use crate::abi::vcpu::VcpuRunstateInfo;
use crate::abi::{self, DomId, EvtchnPort};
use crate::error::XenError;

/// An event-channel port. `repr(transparent)` over `evtchn_port_t`, so a
/// `&[Port]` is the `evtchn_port_t` array `SCHEDOP_poll` reads.
#[repr(transparent)]
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Port(pub EvtchnPort);

impl Port {
    /// The port number.
    pub const fn get(self) -> EvtchnPort {
        self.0
    }
}

impl fmt::Debug for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Port({})", self.0)
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "evtchn {}", self.0)
    }
}

/// Why the domain stops (`SHUTDOWN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownReason {
    /// Clean exit.
    Poweroff,
    /// Restart.
    Reboot,
    /// Crashed (the toolstack keeps or restarts the domain per `on_crash`).
    Crash,
}

impl ShutdownReason {
    /// The `SHUTDOWN_*` value.
    pub const fn raw(self) -> u32 {
        match self {
            ShutdownReason::Poweroff => abi::SHUTDOWN_POWEROFF,
            ShutdownReason::Reboot => abi::SHUTDOWN_REBOOT,
            ShutdownReason::Crash => abi::SHUTDOWN_CRASH,
        }
    }
}

/// The hypervisor's version (`XENVER_version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct XenVersion {
    /// Major version (4 for 4.17).
    pub major: u16,
    /// Minor version (17 for 4.17).
    pub minor: u16,
}

impl XenVersion {
    /// Decodes `XENVER_version`'s `major << 16 | minor`.
    pub const fn from_raw(raw: u32) -> XenVersion {
        XenVersion {
            major: (raw >> 16) as u16,
            minor: raw as u16,
        }
    }
}

/// The hypercalls shimmer uses. All are safe: an implementation checks what
/// Xen would reject with memory-safety consequences (lengths, port counts)
/// and owns the pointer handling.
pub trait Hypervisor {
    /// The shared_info page (mapped once at boot; lives for the program).
    fn shared_info(&self) -> &SharedInfo;

    /// This vCPU's time-stamp counter (`rdtsc`), the PV clock's input.
    fn tsc(&self) -> u64;

    /// `EVTCHNOP_send`: notify the other end of `port`.
    fn evtchn_send(&self, port: Port) -> Result<(), XenError>;
    /// `EVTCHNOP_unmask`: clear the mask bit; Xen re-delivers if pending.
    fn evtchn_unmask(&self, port: Port) -> Result<(), XenError>;
    /// `EVTCHNOP_alloc_unbound(DOMID_SELF, remote_dom)`: a new port that
    /// `remote_dom` may bind.
    fn evtchn_alloc_unbound(&self, remote_dom: DomId) -> Result<Port, XenError>;
    /// `EVTCHNOP_bind_interdomain`: connect to `remote_dom`'s unbound
    /// `remote_port`. The new local port starts pending.
    fn evtchn_bind_interdomain(
        &self,
        remote_dom: DomId,
        remote_port: Port,
    ) -> Result<Port, XenError>;
    /// `EVTCHNOP_bind_virq`: a port for `virq` on `vcpu`.
    fn evtchn_bind_virq(&self, virq: u32, vcpu: u32) -> Result<Port, XenError>;
    /// `EVTCHNOP_close`.
    fn evtchn_close(&self, port: Port) -> Result<(), XenError>;

    /// `SCHEDOP_poll`: block until one of `ports` is pending (masks are
    /// ignored), an unmasked event arrives, or Xen system time reaches
    /// `deadline_ns` (absolute; `None` = no timeout). Returns at once if a
    /// listed port is already pending. More than
    /// [`SCHEDOP_POLL_MAX_PORTS`](abi::SCHEDOP_POLL_MAX_PORTS) ports is
    /// `Inval`. `Some(0)` means "already due", never "no timeout":
    /// implementations must not pass it to Xen as 0.
    fn sched_poll(&self, ports: &[Port], deadline_ns: Option<u64>) -> Result<(), XenError>;
    /// `SCHEDOP_shutdown`. On real Xen a poweroff or crash does not return.
    fn sched_shutdown(&self, reason: ShutdownReason) -> Result<(), XenError>;
    /// `SCHEDOP_yield`: let another vCPU run.
    fn sched_yield(&self) -> Result<(), XenError>;

    /// `HVMOP_get_param(DOMID_SELF, index)`.
    fn hvm_get_param(&self, index: u32) -> Result<u64, XenError>;
    /// `HVMOP_set_param(DOMID_SELF, index, value)`.
    fn hvm_set_param(&self, index: u32, value: u64) -> Result<(), XenError>;

    /// `XENMEM_add_to_physmap(DOMID_SELF, space, idx, gpfn)`.
    fn add_to_physmap(&self, space: u32, idx: u64, gpfn: u64) -> Result<(), XenError>;

    /// `XENVER_version`.
    fn xen_version(&self) -> Result<XenVersion, XenError>;
    /// `XENVER_get_features`: feature bits of block `submap_idx`.
    fn xen_features(&self, submap_idx: u32) -> Result<u32, XenError>;

    /// `CONSOLEIO_write`: Xen's own console (debug builds or a console
    /// domain only; an ordinary domU on release Xen gets `Perm`). Returns
    /// the bytes accepted.
    fn console_write(&self, bytes: &[u8]) -> Result<usize, XenError>;

    /// `VCPUOP_get_runstate_info` for `vcpu`: time spent in each state
    /// since Xen created it (see [`VcpuRunstateInfo`]).
    fn vcpu_runstate(&self, vcpu: u32) -> Result<VcpuRunstateInfo, XenError>;
}

macro_rules! forward_hypervisor {
    () => {
        fn shared_info(&self) -> &SharedInfo {
            (**self).shared_info()
        }
        fn tsc(&self) -> u64 {
            (**self).tsc()
        }
        fn evtchn_send(&self, port: Port) -> Result<(), XenError> {
            (**self).evtchn_send(port)
        }
        fn evtchn_unmask(&self, port: Port) -> Result<(), XenError> {
            (**self).evtchn_unmask(port)
        }
        fn evtchn_alloc_unbound(&self, remote_dom: DomId) -> Result<Port, XenError> {
            (**self).evtchn_alloc_unbound(remote_dom)
        }
        fn evtchn_bind_interdomain(
            &self,
            remote_dom: DomId,
            remote_port: Port,
        ) -> Result<Port, XenError> {
            (**self).evtchn_bind_interdomain(remote_dom, remote_port)
        }
        fn evtchn_bind_virq(&self, virq: u32, vcpu: u32) -> Result<Port, XenError> {
            (**self).evtchn_bind_virq(virq, vcpu)
        }
        fn evtchn_close(&self, port: Port) -> Result<(), XenError> {
            (**self).evtchn_close(port)
        }
        fn sched_poll(&self, ports: &[Port], deadline_ns: Option<u64>) -> Result<(), XenError> {
            (**self).sched_poll(ports, deadline_ns)
        }
        fn sched_shutdown(&self, reason: ShutdownReason) -> Result<(), XenError> {
            (**self).sched_shutdown(reason)
        }
        fn sched_yield(&self) -> Result<(), XenError> {
            (**self).sched_yield()
        }
        fn hvm_get_param(&self, index: u32) -> Result<u64, XenError> {
            (**self).hvm_get_param(index)
        }
        fn hvm_set_param(&self, index: u32, value: u64) -> Result<(), XenError> {
            (**self).hvm_set_param(index, value)
        }
        fn add_to_physmap(&self, space: u32, idx: u64, gpfn: u64) -> Result<(), XenError> {
            (**self).add_to_physmap(space, idx, gpfn)
        }
        fn xen_version(&self) -> Result<XenVersion, XenError> {
            (**self).xen_version()
        }
        fn xen_features(&self, submap_idx: u32) -> Result<u32, XenError> {
            (**self).xen_features(submap_idx)
        }
        fn console_write(&self, bytes: &[u8]) -> Result<usize, XenError> {
            (**self).console_write(bytes)
        }
        fn vcpu_runstate(&self, vcpu: u32) -> Result<VcpuRunstateInfo, XenError> {
            (**self).vcpu_runstate(vcpu)
        }
    };
}

impl<H: Hypervisor + ?Sized> Hypervisor for &H {
    forward_hypervisor!();
}

impl<H: Hypervisor + ?Sized> Hypervisor for Rc<H> {
    forward_hypervisor!();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_decodes_major_minor() {
        assert_eq!(
            XenVersion::from_raw(0x0004_0011),
            XenVersion {
                major: 4,
                minor: 17
            }
        );
    }

    #[test]
    fn port_slice_is_an_evtchn_port_array() {
        let ports = [Port(3), Port(9)];
        // The layout `SCHEDOP_poll` relies on.
        assert_eq!(core::mem::size_of_val(&ports), 8);
        assert_eq!(core::mem::align_of::<Port>(), core::mem::align_of::<u32>());
    }
}
