//! `struct xencons_interface` (`io/console.h`): the PV console ring page.
//!
//! Shared with the console backend (xenconsoled in dom0), which writes `in`,
//! `in_prod` and `out_cons` while the guest runs; the data bytes and indices
//! are therefore atomics (see [`super::shared_info`] for the reasoning). The
//! newer `connection` byte at offset 3088 is not in Xen 4.17 and is absent.

use core::sync::atomic::{AtomicU32, AtomicU8};

use super::assert_layout;

/// Size of the input ring (backend → guest).
pub const XENCONS_IN_SIZE: usize = 1024;
/// Size of the output ring (guest → backend).
pub const XENCONS_OUT_SIZE: usize = 2048;

/// `struct xencons_interface` (3088 bytes on Xen 4.17).
#[repr(C)]
#[derive(Debug)]
pub struct XenconsInterface {
    /// Input bytes, written by the backend.
    pub input: [AtomicU8; XENCONS_IN_SIZE],
    /// Output bytes, written by the guest.
    pub output: [AtomicU8; XENCONS_OUT_SIZE],
    /// Input consumer index (guest). Free-running, masked by the size.
    pub in_cons: AtomicU32,
    /// Input producer index (backend).
    pub in_prod: AtomicU32,
    /// Output consumer index (backend).
    pub out_cons: AtomicU32,
    /// Output producer index (guest).
    pub out_prod: AtomicU32,
}
assert_layout!(XenconsInterface, 3088;
    input @ 0, output @ 1024, in_cons @ 3072, in_prod @ 3076,
    out_cons @ 3080, out_prod @ 3084);
const _: () = assert!(XENCONS_IN_SIZE.is_power_of_two() && XENCONS_OUT_SIZE.is_power_of_two());

impl XenconsInterface {
    /// An all-zero ring, for tests and the simulator (the real one is the
    /// page named by `HVM_PARAM_CONSOLE_PFN`).
    pub const fn zeroed() -> XenconsInterface {
        XenconsInterface {
            input: [const { AtomicU8::new(0) }; XENCONS_IN_SIZE],
            output: [const { AtomicU8::new(0) }; XENCONS_OUT_SIZE],
            in_cons: AtomicU32::new(0),
            in_prod: AtomicU32::new(0),
            out_cons: AtomicU32::new(0),
            out_prod: AtomicU32::new(0),
        }
    }
}

impl Default for XenconsInterface {
    fn default() -> Self {
        XenconsInterface::zeroed()
    }
}
