//! Argument structs of `sched_op` (`sched.h`).

use super::{assert_layout, EvtchnPort};

/// `SCHEDOP_poll`: block until one of `ports` is pending or `timeout`.
///
/// `timeout` is an **absolute** Xen system time in ns; 0 means "no
/// timeout" (a trap for code that computes 0 from an elapsed deadline:
/// see `clock::PollTimeout`). At most 128 ports.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SchedPoll {
    /// `XEN_GUEST_HANDLE(evtchn_port_t)`: pointer to the port array.
    pub ports: *const EvtchnPort,
    /// Number of ports.
    pub nr_ports: u32,
    /// Implicit C padding, made explicit.
    pub pad: u32,
    /// Absolute system time, 0 = none.
    pub timeout: u64,
}
assert_layout!(SchedPoll, 24; ports @ 0, nr_ports @ 8, pad @ 12, timeout @ 16);

/// `SCHEDOP_shutdown`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchedShutdown {
    /// `SHUTDOWN_*`.
    pub reason: u32,
}
assert_layout!(SchedShutdown, 4; reason @ 0);
