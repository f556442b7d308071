//! Argument structs of `vcpu_op` (`vcpu.h`).

use super::assert_layout;

/// `VCPUOP_get_runstate_info`: how long a vCPU has spent in each state.
///
/// Xen starts the accounting when it creates the vCPU (state
/// [`RUNSTATE_OFFLINE`], `state_entry_time` = creation time), and the copy
/// it returns for the calling vCPU includes the time spent in the current
/// state up to the call. So `now - time.iter().sum()` is the system time at
/// which the vCPU was created — during `xl create`, before the image was
/// even loaded — which is how a guest measures its own start-up from
/// inside.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VcpuRunstateInfo {
    /// `RUNSTATE_*`: the vCPU's state now.
    pub state: i32,
    /// Implicit C padding, made explicit.
    pub pad: u32,
    /// System time (ns) when the current state was entered.
    pub state_entry_time: u64,
    /// Time (ns) spent in each `RUNSTATE_*`, indexed by state.
    pub time: [u64; 4],
}
assert_layout!(VcpuRunstateInfo, 48; state @ 0, pad @ 4, state_entry_time @ 8, time @ 16);

impl VcpuRunstateInfo {
    /// Total accounted time (ns): from the vCPU's creation to the call.
    pub fn accounted_ns(&self) -> u64 {
        self.time.iter().fold(0u64, |a, t| a.saturating_add(*t))
    }
}

/// Running on a physical CPU.
pub const RUNSTATE_RUNNING: i32 = 0;
/// Ready to run, waiting for a physical CPU.
pub const RUNSTATE_RUNNABLE: i32 = 1;
/// Blocked (e.g. in `SCHEDOP_poll`).
pub const RUNSTATE_BLOCKED: i32 = 2;
/// Not up (before the toolstack starts it, or after `VCPUOP_down`).
pub const RUNSTATE_OFFLINE: i32 = 3;
