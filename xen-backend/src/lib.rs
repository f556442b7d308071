//! shimmer-xen: the Xen backend of shimmer (PVH guests on x86_64).
//!
//! This crate holds the host-testable foundations of the backend:
//!
//! * [`abi`]: `#[repr(C)]` layouts of the Xen public ABI (Xen 4.17), each
//!   pinned by compile-time size/offset assertions.
//! * [`hypervisor`]: the [`Hypervisor`] trait — every hypercall the runtime
//!   makes, typed and safe — and [`XenError`].
//! * [`clock`]: the PV clock (seqlock read, TSC scaling), the wall clock and
//!   deadline clamping for `SCHEDOP_poll`.
//! * [`console`]: the PV console ring (producer/consumer, notification);
//!   [`console_flow`]: the console as an async `Flow` ([`XenConsole`]).
//! * [`event`]: the event-channel reactor's port → waker table and scan.
//! * [`park`]: [`XenPark`], the executor's `Park` that blocks in
//!   `SCHEDOP_poll`.
//! * `hw` (x86_64 only): the real hypercalls, CPUID discovery, the hypercall
//!   page, `rdtsc`, port 0xE9.
//!
//! * `boot` (feature `image`, x86_64 only): what a freestanding PVH image
//!   needs — the 32-bit entry and its ELF note, long mode, the heap, the
//!   console, the panic handler — and the `Platform` handed to the image's
//!   main.
//!
//! Everything above `hw` is written against [`Hypervisor`], so it runs on
//! the host against fakes (and later an in-process simulator). The crate is
//! `#![no_std]` + `alloc`: it is linked into freestanding PVH images, and
//! only its tests use `std`.
#![no_std]
#![warn(missing_docs)]
// `unsafe` lives in the hardware layer only (`hw`): the ABI's shared pages
// are atomics, so everything else is safe code over the `Hypervisor` trait.
#![deny(unsafe_code)]

extern crate alloc;
#[cfg(test)]
extern crate std;

pub mod abi;
#[cfg(all(feature = "image", target_arch = "x86_64"))]
#[allow(unsafe_code)]
pub mod boot;
pub mod clock;
pub mod console;
pub mod console_flow;
pub mod error;
pub mod event;
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
pub mod hw;
pub mod hypervisor;
pub mod park;
#[cfg(test)]
mod testing;

pub use console_flow::XenConsole;
pub use error::XenError;
pub use hypervisor::{Hypervisor, Port, ShutdownReason, XenVersion};
pub use park::{XenPark, XenUnparker};
