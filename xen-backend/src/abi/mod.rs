//! The Xen public ABI that shimmer uses, as `#[repr(C)]` Rust types.
//!
//! Why a module of its own: every other module talks to Xen through these
//! types, so a wrong offset here would corrupt memory far away from its
//! cause. Each layout is therefore pinned by compile-time assertions
//! (`size_of` and one `offset_of!` per field) against the numbers measured
//! from the Xen headers in `docs/xen-abi.md`; a mistake fails the build, on
//! the host as well as in the image.
//!
//! Target: Xen 4.17 (interface version [`XEN_INTERFACE_VERSION`]),
//! x86_64 (LP64). Fields that only newer headers have (the console ring's
//! `connection` byte, the xenstore ring's `evtchn_port`, the PVH
//! `PHYS32_RELOC` note) are deliberately absent.
//!
//! Two kinds of structs live here:
//! * **hypercall arguments** ([`evtchn`], [`sched`], [`hvm`], [`memory`],
//!   [`vcpu`], [`version`]): plain integer fields; the guest fills one on its stack,
//!   passes a pointer, and reads the `OUT` fields after the call returns.
//!   Nothing else touches them concurrently.
//! * **shared memory** ([`shared_info`], [`console`]): pages that Xen or a
//!   backend domain writes *while we read them*. Their fields are Rust
//!   atomics (same size and alignment as the C integers), never plain
//!   integers behind a `&` reference — see [`shared_info`] for why atomics
//!   rather than `read_volatile`.

pub mod console;
pub mod consts;
pub mod errno;
pub mod evtchn;
pub mod hvm;
pub mod memory;
pub mod sched;
pub mod shared_info;
pub mod start_info;
pub mod vcpu;
pub mod version;

pub use consts::*;

/// `domid_t`.
pub type DomId = u16;

/// `evtchn_port_t`: an event-channel port number (2-level ABI: 0..4096).
pub type EvtchnPort = u32;

/// Compile-time layout check: `assert_layout!(Type, size; field @ offset, ...)`.
/// One `const _: () = assert!(...)` per field, so a failing assertion names
/// the field in the compiler's error.
macro_rules! assert_layout {
    ($ty:ty, $size:expr; $($field:ident @ $off:expr),* $(,)?) => {
        const _: () = assert!(core::mem::size_of::<$ty>() == $size);
        $( const _: () = assert!(core::mem::offset_of!($ty, $field) == $off); )*
    };
}
pub(crate) use assert_layout;
