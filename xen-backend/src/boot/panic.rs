//! The image's panic handler: print, then crash the domain.
//!
//! Why this shape: a unikernel has nobody to unwind to (the image is built
//! with `panic=abort`), so a panic ends the domain with `SHUTDOWN_crash`
//! — the toolstack (and the test bed, exit code 101) sees a crash, not a
//! clean exit. The message goes, piece by piece as it is formatted, to port
//! 0xE9 (Xen's own console: it works even before the ring was found or if
//! the ring is the problem) and to the PV console ring, which is flushed
//! before the shutdown so the line is not lost.
//!
//! A panic while panicking (a `Display` impl of the message that panics,
//! or a bug in the console code) must not recurse: the handler counts its
//! entries. The second entry writes a fixed line (no formatting) to port
//! 0xE9 and the ring and crashes; a third (the ring itself panicked) writes
//! to port 0xE9 only and crashes.

use core::fmt::{self, Write};
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicU8, Ordering};

use crate::hw::DebugPort;
use crate::hypervisor::ShutdownReason;

use super::console::{self, ConsoleOut};
use super::shutdown::halt;

static ENTRIES: AtomicU8 = AtomicU8::new(0);

const NESTED: &[u8] = b"\nshimmer: panic while panicking\n";

/// Port 0xE9 and, once it exists, the console ring.
struct Tee {
    e9: DebugPort,
    ring: Option<ConsoleOut>,
}

impl Write for Tee {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.e9.write_bytes(s.as_bytes());
        if let Some(ring) = &self.ring {
            let _ = ring.write_all(s.as_bytes());
        }
        Ok(())
    }
}

/// The image's panic handler: [`image_main!`](crate::image_main) calls it
/// from the image's own `#[panic_handler]` (declared there so that a host
/// build of this crate with the `image` feature, next to `std`, has no
/// second one).
pub fn handle(info: &PanicInfo<'_>) -> ! {
    // SAFETY: the panic handler only exists in the image, which runs in
    // ring 0 of a PVH guest: port 0xE9 is Xen's debug console.
    let e9 = unsafe { DebugPort::new() };
    let entry = ENTRIES.fetch_add(1, Ordering::SeqCst).saturating_add(1);
    let ring = if entry <= 2 { console::get() } else { None };
    let mut out = Tee { e9, ring };
    if entry == 1 {
        let _ = writeln!(out, "shimmer: panic: {info}");
    } else {
        out.e9.write_bytes(NESTED);
        if let Some(ring) = &out.ring {
            let _ = ring.write_all(NESTED);
        }
    }
    if let Some(ring) = out.ring {
        ring.flush();
    }
    halt(ShutdownReason::Crash)
}
