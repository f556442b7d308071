//! Test support: `FakeXen`, an in-memory [`Hypervisor`] whose PV clock runs
//! on a fake TSC (1 tick = 1 ns) and whose `sched_poll` "sleeps" by moving
//! that TSC forward — to the deadline, or to the moment a scheduled event
//! fires — so executor tests run in virtual time, instantly.

use core::cell::{Cell, RefCell};
use core::sync::atomic::Ordering;
use std::boxed::Box;
use std::vec::Vec;

use crate::abi::shared_info::SharedInfo;
use crate::abi::vcpu::{VcpuRunstateInfo, RUNSTATE_RUNNING};
use crate::abi::DomId;
use crate::clock::{publish_time_info, TimeSnapshot};
use crate::error::XenError;
use crate::hypervisor::{Hypervisor, Port, ShutdownReason, XenVersion};

/// Serialises tests that run a `shimmer_executor::Executor`: without the
/// executor's `std` feature (as in a unikernel image, which is how this
/// crate depends on it) its "current executor" slot is one global.
pub(crate) static EXECUTOR_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// One recorded `SCHEDOP_poll`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PollCall {
    pub ports: Vec<Port>,
    pub deadline: Option<u64>,
    /// Fake TSC (= system time) when the call was made.
    pub at: u64,
}

pub(crate) struct FakeXen {
    pub shared: Box<SharedInfo>,
    tsc: Cell<u64>,
    next_port: Cell<u32>,
    sends: RefCell<Vec<Port>>,
    fail_sends: Cell<Option<XenError>>,
    polls: RefCell<Vec<PollCall>>,
    /// Events to raise at a given system time: (time, port).
    scheduled: RefCell<Vec<(u64, Port)>>,
    closed: RefCell<Vec<Port>>,
}

impl FakeXen {
    pub fn new() -> FakeXen {
        let shared = Box::new(SharedInfo::zeroed());
        // tsc_shift 1 and mul 2^31: one tick is one nanosecond.
        publish_time_info(
            &shared.vcpu_info[0].time,
            &TimeSnapshot {
                version: 0,
                tsc_timestamp: 0,
                system_time: 0,
                tsc_to_system_mul: 1 << 31,
                tsc_shift: 1,
                flags: 0,
            },
        );
        FakeXen {
            shared,
            tsc: Cell::new(0),
            next_port: Cell::new(1),
            sends: RefCell::new(Vec::new()),
            fail_sends: Cell::new(None),
            polls: RefCell::new(Vec::new()),
            scheduled: RefCell::new(Vec::new()),
            closed: RefCell::new(Vec::new()),
        }
    }

    pub fn sends(&self) -> Vec<Port> {
        self.sends.borrow().clone()
    }

    pub fn fail_sends(&self, e: XenError) {
        self.fail_sends.set(Some(e));
    }

    pub fn polls(&self) -> Vec<PollCall> {
        self.polls.borrow().clone()
    }

    pub fn closed(&self) -> Vec<Port> {
        self.closed.borrow().clone()
    }

    pub fn now(&self) -> u64 {
        self.tsc.get()
    }

    pub fn advance(&self, ns: u64) {
        self.tsc.set(self.tsc.get() + ns);
    }

    /// Raises `port` as Xen does (`event_2l.c`): set pending; if it was
    /// clear and the port is unmasked, set the selector bit and
    /// `upcall_pending`. Returns whether this was a new edge.
    pub fn raise(&self, port: Port) -> bool {
        raise(&self.shared, port)
    }

    /// Raise `port` when system time reaches `at` (inside a poll).
    pub fn schedule(&self, at: u64, port: Port) {
        self.scheduled.borrow_mut().push((at, port));
    }

    fn pending(&self, port: Port) -> bool {
        let (w, b) = (port.0 / 64, port.0 % 64);
        self.shared.evtchn_pending[w as usize].load(Ordering::SeqCst) & (1 << b) != 0
    }

    fn fresh_port(&self) -> Port {
        let p = self.next_port.get();
        self.next_port.set(p + 1);
        Port(p)
    }
}

/// Xen's raise, over any shared_info (also used from other threads).
pub(crate) fn raise(shared: &SharedInfo, port: Port) -> bool {
    let (w, b) = ((port.0 / 64) as usize, port.0 % 64);
    let bit = 1u64 << b;
    if shared.evtchn_pending[w].fetch_or(bit, Ordering::SeqCst) & bit != 0 {
        return false;
    }
    if shared.evtchn_mask[w].load(Ordering::SeqCst) & bit == 0 {
        let v = &shared.vcpu_info[0];
        if v.evtchn_pending_sel.fetch_or(1 << w, Ordering::SeqCst) & (1 << w) == 0 {
            v.evtchn_upcall_pending.store(1, Ordering::SeqCst);
        }
    }
    true
}

impl Hypervisor for FakeXen {
    fn shared_info(&self) -> &SharedInfo {
        &self.shared
    }
    fn tsc(&self) -> u64 {
        self.tsc.get()
    }
    fn evtchn_send(&self, port: Port) -> Result<(), XenError> {
        if let Some(e) = self.fail_sends.get() {
            return Err(e);
        }
        self.sends.borrow_mut().push(port);
        Ok(())
    }
    fn evtchn_unmask(&self, _port: Port) -> Result<(), XenError> {
        Ok(())
    }
    fn evtchn_alloc_unbound(&self, _remote_dom: DomId) -> Result<Port, XenError> {
        Ok(self.fresh_port())
    }
    fn evtchn_bind_interdomain(&self, _dom: DomId, _port: Port) -> Result<Port, XenError> {
        let p = self.fresh_port();
        self.raise(p); // Xen leaves a new interdomain port pending
        Ok(p)
    }
    fn evtchn_bind_virq(&self, _virq: u32, _vcpu: u32) -> Result<Port, XenError> {
        Ok(self.fresh_port())
    }
    fn evtchn_close(&self, port: Port) -> Result<(), XenError> {
        self.closed.borrow_mut().push(port);
        Ok(())
    }
    fn sched_poll(&self, ports: &[Port], deadline: Option<u64>) -> Result<(), XenError> {
        if ports.len() > crate::abi::SCHEDOP_POLL_MAX_PORTS {
            return Err(XenError::Inval);
        }
        assert_ne!(deadline, Some(0), "0 would mean 'no timeout' to Xen");
        self.polls.borrow_mut().push(PollCall {
            ports: ports.to_vec(),
            deadline,
            at: self.now(),
        });
        // Returns at once if a listed port is pending (masks ignored).
        if ports.iter().any(|&p| self.pending(p)) {
            return Ok(());
        }
        // Otherwise "sleep" until the earliest scheduled event or the deadline.
        let mut sched = self.scheduled.borrow_mut();
        sched.sort_by_key(|&(t, _)| t);
        let next = sched.first().copied();
        match (next, deadline) {
            (Some((t, port)), d) if d.is_none_or(|d| t <= d) => {
                sched.remove(0);
                drop(sched);
                self.tsc.set(self.now().max(t));
                self.raise(port);
            }
            (_, Some(d)) => self.tsc.set(self.now().max(d)),
            (None, None) => panic!("SCHEDOP_poll with nothing to wait for: would block forever"),
            (Some(_), None) => unreachable!(),
        }
        Ok(())
    }
    fn sched_shutdown(&self, _reason: ShutdownReason) -> Result<(), XenError> {
        Ok(())
    }
    fn sched_yield(&self) -> Result<(), XenError> {
        Ok(())
    }
    fn hvm_get_param(&self, _index: u32) -> Result<u64, XenError> {
        Err(XenError::Inval)
    }
    fn hvm_set_param(&self, _index: u32, _value: u64) -> Result<(), XenError> {
        Ok(())
    }
    fn add_to_physmap(&self, _space: u32, _idx: u64, _gpfn: u64) -> Result<(), XenError> {
        Ok(())
    }
    fn xen_version(&self) -> Result<XenVersion, XenError> {
        Ok(XenVersion {
            major: 4,
            minor: 17,
        })
    }
    fn xen_features(&self, _submap_idx: u32) -> Result<u32, XenError> {
        Ok(0)
    }
    fn console_write(&self, _bytes: &[u8]) -> Result<usize, XenError> {
        Err(XenError::Perm)
    }
    /// vCPU 0 was created at system time 0 and has run ever since.
    fn vcpu_runstate(&self, vcpu: u32) -> Result<VcpuRunstateInfo, XenError> {
        if vcpu != 0 {
            return Err(XenError::NoEnt);
        }
        Ok(VcpuRunstateInfo {
            state: RUNSTATE_RUNNING,
            pad: 0,
            state_entry_time: 0,
            time: [self.now(), 0, 0, 0],
        })
    }
}
