//! [`XenHw`]: the [`Hypervisor`] trait over real hypercalls, and the
//! shared_info mapping.
//!
//! Each method builds its `abi` argument struct on the stack, passes its
//! address, and maps a negative `rax` to [`XenError`]. The checks Xen would
//! fail with memory-safety consequences for us are done first (port count
//! of `SCHEDOP_poll`), and `SCHEDOP_poll`'s "0 = no timeout" is never
//! produced by accident from a deadline.

use crate::abi::evtchn::{
    EvtchnAllocUnbound, EvtchnBindInterdomain, EvtchnBindVirq, EvtchnClose, EvtchnSend,
    EvtchnUnmask,
};
use crate::abi::hvm::XenHvmParam;
use crate::abi::memory::XenAddToPhysmap;
use crate::abi::sched::{SchedPoll, SchedShutdown};
use crate::abi::shared_info::SharedInfo;
use crate::abi::vcpu::VcpuRunstateInfo;
use crate::abi::version::XenFeatureInfo;
use crate::abi::{self, DomId, DOMID_SELF, PAGE_SIZE};
use crate::error::XenError;
use crate::hypervisor::{Hypervisor, Port, ShutdownReason, XenVersion};

use super::hypercall::Hypercalls;
use super::io::rdtsc;

/// The real hypervisor: an installed hypercall page and the mapped
/// shared_info. `Copy`: it is two pointers.
#[derive(Debug, Clone, Copy)]
pub struct XenHw {
    hc: Hypercalls,
    shared: &'static SharedInfo,
}

impl XenHw {
    /// Bundles the boot-time results.
    pub fn new(hc: Hypercalls, shared: &'static SharedInfo) -> XenHw {
        XenHw { hc, shared }
    }

    /// The raw hypercalls (for operations the trait does not cover yet).
    pub fn hypercalls(&self) -> Hypercalls {
        self.hc
    }

    /// `op(cmd, &mut arg)` for the `cmd, arg*` hypercalls.
    fn op<T>(&self, nr: u32, cmd: u32, arg: &mut T) -> Result<u64, XenError> {
        // SAFETY: every caller passes the `abi` struct Xen expects for
        // (`nr`, `cmd`); `arg` is a live exclusive borrow for the call.
        let ret = unsafe { self.hc.call2(nr, u64::from(cmd), arg as *mut T as u64) };
        XenError::check(ret)
    }
}

/// Maps shared_info at guest frame `gpa >> 12` and returns it.
///
/// # Safety
/// `gpa` is the guest-physical address of a page-aligned page that is
/// mapped at virtual address `gpa` (identity map, as shimmer's PVH boot
/// sets up), that the guest can give up (whatever RAM was there goes back to
/// Xen), and that nothing else uses, now or later.
pub unsafe fn map_shared_info(hc: Hypercalls, gpa: u64) -> Result<&'static SharedInfo, XenError> {
    if gpa % PAGE_SIZE as u64 != 0 {
        return Err(XenError::Inval);
    }
    let mut arg = XenAddToPhysmap {
        domid: DOMID_SELF,
        size: 0,
        space: abi::XENMAPSPACE_SHARED_INFO,
        idx: 0,
        gpfn: gpa >> 12,
    };
    // SAFETY: `memory_op(XENMEM_add_to_physmap, &xen_add_to_physmap)`.
    let ret = unsafe {
        hc.call2(
            abi::HYPERVISOR_MEMORY_OP,
            u64::from(abi::XENMEM_ADD_TO_PHYSMAP),
            &mut arg as *mut XenAddToPhysmap as u64,
        )
    };
    XenError::check(ret)?;
    // SAFETY: Xen now backs the frame at `gpa` with shared_info; the caller
    // guarantees it is mapped at that address and otherwise unused, and
    // `SharedInfo` is all atomics, valid for any bytes Xen writes.
    Ok(unsafe { &*(gpa as usize as *const SharedInfo) })
}

impl Hypervisor for XenHw {
    fn shared_info(&self) -> &SharedInfo {
        self.shared
    }

    fn tsc(&self) -> u64 {
        rdtsc()
    }

    fn evtchn_send(&self, port: Port) -> Result<(), XenError> {
        let mut a = EvtchnSend { port: port.0 };
        self.op(abi::HYPERVISOR_EVENT_CHANNEL_OP, abi::EVTCHNOP_SEND, &mut a)
            .map(drop)
    }

    fn evtchn_unmask(&self, port: Port) -> Result<(), XenError> {
        let mut a = EvtchnUnmask { port: port.0 };
        self.op(
            abi::HYPERVISOR_EVENT_CHANNEL_OP,
            abi::EVTCHNOP_UNMASK,
            &mut a,
        )
        .map(drop)
    }

    fn evtchn_alloc_unbound(&self, remote_dom: DomId) -> Result<Port, XenError> {
        let mut a = EvtchnAllocUnbound {
            dom: DOMID_SELF,
            remote_dom,
            port: 0,
        };
        self.op(
            abi::HYPERVISOR_EVENT_CHANNEL_OP,
            abi::EVTCHNOP_ALLOC_UNBOUND,
            &mut a,
        )?;
        Ok(Port(a.port))
    }

    fn evtchn_bind_interdomain(
        &self,
        remote_dom: DomId,
        remote_port: Port,
    ) -> Result<Port, XenError> {
        let mut a = EvtchnBindInterdomain {
            remote_dom,
            pad: 0,
            remote_port: remote_port.0,
            local_port: 0,
        };
        self.op(
            abi::HYPERVISOR_EVENT_CHANNEL_OP,
            abi::EVTCHNOP_BIND_INTERDOMAIN,
            &mut a,
        )?;
        Ok(Port(a.local_port))
    }

    fn evtchn_bind_virq(&self, virq: u32, vcpu: u32) -> Result<Port, XenError> {
        let mut a = EvtchnBindVirq {
            virq,
            vcpu,
            port: 0,
        };
        self.op(
            abi::HYPERVISOR_EVENT_CHANNEL_OP,
            abi::EVTCHNOP_BIND_VIRQ,
            &mut a,
        )?;
        Ok(Port(a.port))
    }

    fn evtchn_close(&self, port: Port) -> Result<(), XenError> {
        let mut a = EvtchnClose { port: port.0 };
        self.op(
            abi::HYPERVISOR_EVENT_CHANNEL_OP,
            abi::EVTCHNOP_CLOSE,
            &mut a,
        )
        .map(drop)
    }

    fn sched_poll(&self, ports: &[Port], deadline_ns: Option<u64>) -> Result<(), XenError> {
        if ports.len() > abi::SCHEDOP_POLL_MAX_PORTS {
            return Err(XenError::Inval);
        }
        let mut a = SchedPoll {
            // `Port` is `repr(transparent)` over `evtchn_port_t`.
            ports: ports.as_ptr() as *const abi::EvtchnPort,
            nr_ports: ports.len() as u32,
            pad: 0,
            // 0 would mean "no timeout": an already-due deadline becomes 1 ns
            // (in the past, so Xen returns at once).
            timeout: match deadline_ns {
                None => 0,
                Some(d) => d.max(1),
            },
        };
        self.op(abi::HYPERVISOR_SCHED_OP, abi::SCHEDOP_POLL, &mut a)
            .map(drop)
    }

    fn sched_shutdown(&self, reason: ShutdownReason) -> Result<(), XenError> {
        let mut a = SchedShutdown {
            reason: reason.raw(),
        };
        self.op(abi::HYPERVISOR_SCHED_OP, abi::SCHEDOP_SHUTDOWN, &mut a)
            .map(drop)
    }

    fn sched_yield(&self) -> Result<(), XenError> {
        // SAFETY: `SCHEDOP_yield` takes no argument (NULL).
        let ret = unsafe {
            self.hc
                .call2(abi::HYPERVISOR_SCHED_OP, u64::from(abi::SCHEDOP_YIELD), 0)
        };
        XenError::check(ret).map(drop)
    }

    fn hvm_get_param(&self, index: u32) -> Result<u64, XenError> {
        let mut a = XenHvmParam {
            domid: DOMID_SELF,
            pad: 0,
            index,
            value: 0,
        };
        self.op(abi::HYPERVISOR_HVM_OP, abi::HVMOP_GET_PARAM, &mut a)?;
        Ok(a.value)
    }

    fn hvm_set_param(&self, index: u32, value: u64) -> Result<(), XenError> {
        let mut a = XenHvmParam {
            domid: DOMID_SELF,
            pad: 0,
            index,
            value,
        };
        self.op(abi::HYPERVISOR_HVM_OP, abi::HVMOP_SET_PARAM, &mut a)
            .map(drop)
    }

    fn add_to_physmap(&self, space: u32, idx: u64, gpfn: u64) -> Result<(), XenError> {
        let mut a = XenAddToPhysmap {
            domid: DOMID_SELF,
            size: 0,
            space,
            idx,
            gpfn,
        };
        self.op(
            abi::HYPERVISOR_MEMORY_OP,
            abi::XENMEM_ADD_TO_PHYSMAP,
            &mut a,
        )
        .map(drop)
    }

    fn xen_version(&self) -> Result<XenVersion, XenError> {
        // SAFETY: `XENVER_version` takes no argument (NULL).
        let ret = unsafe {
            self.hc.call2(
                abi::HYPERVISOR_XEN_VERSION,
                u64::from(abi::XENVER_VERSION),
                0,
            )
        };
        XenError::check(ret).map(|raw| XenVersion::from_raw(raw as u32))
    }

    fn xen_features(&self, submap_idx: u32) -> Result<u32, XenError> {
        let mut a = XenFeatureInfo {
            submap_idx,
            submap: 0,
        };
        self.op(
            abi::HYPERVISOR_XEN_VERSION,
            abi::XENVER_GET_FEATURES,
            &mut a,
        )?;
        Ok(a.submap)
    }

    fn console_write(&self, bytes: &[u8]) -> Result<usize, XenError> {
        // Xen takes an int count; never hand it more than it can represent.
        let len = bytes.len().min(i32::MAX as usize);
        // SAFETY: `console_io(CONSOLEIO_write, count, buf*)`: Xen reads
        // `len` bytes from `bytes`, which is live for the call.
        let ret = unsafe {
            self.hc.call3(
                abi::HYPERVISOR_CONSOLE_IO,
                u64::from(abi::CONSOLEIO_WRITE),
                len as u64,
                bytes.as_ptr() as u64,
            )
        };
        XenError::check(ret).map(|_| len)
    }

    fn vcpu_runstate(&self, vcpu: u32) -> Result<VcpuRunstateInfo, XenError> {
        let mut info = VcpuRunstateInfo::default();
        // SAFETY: `vcpu_op(VCPUOP_get_runstate_info, vcpu, arg*)`: Xen
        // writes one `vcpu_runstate_info` (48 bytes, layout asserted) to
        // `info`, a live exclusive borrow for the call.
        let ret = unsafe {
            self.hc.call3(
                abi::HYPERVISOR_VCPU_OP,
                u64::from(abi::VCPUOP_GET_RUNSTATE_INFO),
                u64::from(vcpu),
                &mut info as *mut VcpuRunstateInfo as u64,
            )
        };
        XenError::check(ret).map(|_| info)
    }
}

#[cfg(test)]
mod tests {
    use super::super::fake_page::{fake_hypercalls, last_poll};
    use super::*;
    use std::boxed::Box;
    use std::vec::Vec;

    fn hw() -> XenHw {
        let shared: &'static SharedInfo = Box::leak(Box::new(SharedInfo::zeroed()));
        XenHw::new(fake_hypercalls(), shared)
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot run inline assembly")]
    fn out_fields_are_read_after_the_call() {
        let x = hw();
        assert_eq!(x.evtchn_alloc_unbound(5), Ok(Port(105)));
        assert_eq!(x.evtchn_alloc_unbound(0), Ok(Port(100)));
        assert_eq!(x.hvm_get_param(abi::HVM_PARAM_CONSOLE_PFN), Ok(17_007));
        assert_eq!(x.hvm_get_param(abi::HVM_PARAM_STORE_EVTCHN), Ok(2_007));
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot run inline assembly")]
    fn negative_rax_becomes_xen_error() {
        let x = hw();
        assert_eq!(x.evtchn_send(Port(0)), Err(XenError::Inval));
        assert_eq!(x.evtchn_send(Port(3)), Ok(()));
        assert_eq!(x.evtchn_unmask(Port(3)), Err(XenError::NoSys));
        assert_eq!(x.hvm_set_param(1, 2), Err(XenError::NoSys));
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot run inline assembly")]
    fn poll_passes_ports_and_never_a_zero_deadline() {
        let x = hw();
        x.sched_poll(&[Port(3), Port(9)], Some(0)).unwrap();
        assert_eq!(last_poll(), (1, 2, 9), "due deadline sent as 1, not 0");
        x.sched_poll(&[Port(4)], Some(123_456)).unwrap();
        assert_eq!(last_poll(), (123_456, 1, 4));
        x.sched_poll(&[], None).unwrap();
        assert_eq!(last_poll().0..=last_poll().1, 0..=0);
        let many: Vec<Port> = (1..=129).map(Port).collect();
        assert_eq!(x.sched_poll(&many, Some(5)), Err(XenError::Inval));
        assert_eq!(last_poll().1, 0, "129 ports never reach Xen");
        x.sched_poll(&many[..128], Some(5)).unwrap();
        assert_eq!(last_poll(), (5, 128, 128));
    }
}
