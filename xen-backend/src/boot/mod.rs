//! Booting a freestanding PVH image (feature `image`).
//!
//! Why a module of its own: everything here exists only in a unikernel
//! image, never in a host build or test. An image is the stable host
//! toolchain's `x86_64-unknown-linux-gnu` target linked freestanding with
//! `xen-backend/image.ld` (`xen-backend/build-image` does it), so this
//! module supplies what a hosted program gets from the C runtime and the
//! standard library: the entry point, a stack, the heap, the `mem*`
//! functions, the panic handler.
//!
//! # Boot sequence
//! 1. `note`: the `XEN_ELFNOTE_PHYS32_ENTRY` note makes Xen's loader treat
//!    the ELF as a PVH kernel and names the 32-bit entry.
//! 2. `entry` (assembly): Xen enters in 32-bit protected mode, paging off,
//!    `%ebx` = physical address of `hvm_start_info`. The entry clears
//!    `.bss`, identity-maps the first 4 GiB with 2 MiB pages, turns on PAE,
//!    `EFER.LME` and paging, loads a GDT with a 64-bit code segment, far
//!    jumps to 64-bit code, enables SSE, switches to the boot stack and
//!    calls `start` with the start info's address. Interrupts stay off
//!    for the image's whole life (see below).
//! 3. `start` (Rust): installs the hypercall page, validates the start
//!    info, maps shared_info, finds the console ring, hands the free RAM of
//!    the memory map to the [`heap`], reads the [`cmdline`], then calls the
//!    image's `shimmer_xen_main` (see [`image_main!`](crate::image_main))
//!    with a [`Platform`], prints the [`timeline`] and `shimmer: exit CODE`,
//!    and powers off.
//!
//! # Memory layout (guest-physical = virtual)
//! ```text
//! 0x0010_0000  .text (the 32-bit entry first), .rodata + .note.Xen, .data
//!              .bss: page tables (24 KiB), boot stack (256 KiB), hypercall
//!              page, shared_info frame, other statics
//! image end    Xen's boot data: hvm_start_info, memory map, command line
//! ...          heap: the largest free piece of RAM below 4 GiB
//! 0xFEFF_8000  Xen's special pages (console ring 0xFEFFF000, xenstore)
//! 4 GiB        end of the identity map
//! ```
//!
//! # Interrupts are never enabled
//! The prebuilt `core`/`alloc` of the host target use the red zone (128
//! bytes below `rsp` that an interrupt would overwrite), so the image runs
//! with `RFLAGS.IF = 0` and no IDT: [`XenPark`](crate::XenPark) blocks in
//! `SCHEDOP_poll`, which needs no interrupt. An exception (a bug) therefore
//! triple-faults, which Xen turns into a crashed domain.

pub mod cmdline;
pub mod console;
pub mod current;
mod entry;
pub mod heap;
mod mem;
pub mod memory;
mod note;
#[cfg(not(test))]
pub mod panic;
pub mod platform;
#[cfg(not(test))]
mod shutdown;
#[cfg(not(test))]
mod start;
pub mod timeline;
mod unwind;

pub use console::ConsoleOut;
pub use current::{install_reactor, reactor};
pub use platform::{BootTimes, Platform};
pub use timeline::ready;

/// Ends the image now, as if its main had returned `code`: prints
/// `shimmer: exit CODE` on the console (flushed) and powers off. For a
/// runtime that must stop from deep inside (a command-line error).
#[cfg(not(test))]
pub fn exit(code: i32) -> ! {
    use core::fmt::Write;
    if let Some(mut out) = console::get() {
        let _ = timeline::report(&mut out);
        let _ = writeln!(out, "shimmer: exit {code}");
        out.flush();
    }
    shutdown::halt(crate::ShutdownReason::Poweroff)
}

/// Declares the image's main: `image_main!(main)` with `fn main(Platform) ->
/// i32`. It defines the `shimmer_xen_main` symbol the boot code calls once
/// the platform is up (the returned code is printed as `shimmer: exit CODE`
/// and the domain powers off), and the image's `#[panic_handler]` and
/// `#[global_allocator]`.
///
/// ```ignore
/// shimmer_xen::image_main!(main);
/// fn main(platform: shimmer_xen::boot::Platform) -> i32 { 0 }
/// ```
#[macro_export]
macro_rules! image_main {
    ($main:path) => {
        /// The image's entry, called by `shimmer_xen::boot` once the
        /// platform is up.
        #[no_mangle]
        pub fn shimmer_xen_main(platform: $crate::boot::Platform) -> i32 {
            let main: fn($crate::boot::Platform) -> i32 = $main;
            main(platform)
        }

        #[panic_handler]
        fn __shimmer_xen_panic(info: &::core::panic::PanicInfo<'_>) -> ! {
            $crate::boot::panic::handle(info)
        }

        #[global_allocator]
        static __SHIMMER_XEN_ALLOCATOR: $crate::boot::heap::Allocator =
            $crate::boot::heap::Allocator;
    };
}
