//! `rust_eh_personality` and `_Unwind_Resume`, which nothing calls.
//!
//! Why: the image is built with `panic=abort`, but the prebuilt `core` and
//! `alloc` of the host target were compiled for unwinding: their unwind
//! tables name the personality routine, and their landing pads (e.g. in
//! `alloc::fmt::format`, which `format!` reaches) end in `_Unwind_Resume`.
//! With `-nostdlib` nobody else defines either, so the link would fail. A
//! panic never unwinds here (see [`super::panic`]), so neither is ever run:
//! the personality routine may be empty, and `_Unwind_Resume`, should it be
//! reached anyway, ends the domain as crashed rather than return into a
//! landing pad.

/// Never called: the image does not unwind.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}

/// Never called: the image does not unwind. Ends the domain if it is.
#[cfg(not(test))]
#[no_mangle]
pub extern "C" fn _Unwind_Resume() -> ! {
    super::shutdown::halt(crate::ShutdownReason::Crash)
}
