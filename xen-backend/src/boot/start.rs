//! The Rust half of the boot: from the start info to the image's main and
//! back to a shutdown.
//!
//! Order matters, and each step says why it comes where it does:
//! 1. hypercall page — every later step makes hypercalls, and so does
//!    every failure path ([`super::shutdown`]);
//! 2. validate `hvm_start_info` (magic, version) — before trusting any
//!    address in it;
//! 3. shared_info into a `.bss` frame — the PV clock and event channels
//!    live there;
//! 4. the console ring (`HVM_PARAM_CONSOLE_PFN`/`_EVTCHN`) — so that the
//!    remaining failures are reported where the toolstack sees them;
//! 5. the heap from the memory map, clear of the image and of Xen's boot
//!    data — nothing may allocate before this — and the page pool over it;
//! 6. the command line (`&'static str`: the heap stays clear of it);
//! 7. the image's main (`shimmer_xen_main`), then the [`timeline`] and
//!    `shimmer: exit CODE` on the console, a flush, and `SCHEDOP_shutdown(poweroff)` for every
//!    normal return (the code is in the printed line).
//!
//! A failed step prints `shimmer: boot failed: ...` on port 0xE9 (and on
//! the console once it exists) and crashes the domain — except an unusable
//! command line (not UTF-8, no terminating NUL), which is reported like a
//! bad option: `error: ...` and exit status 2.

use core::fmt::{self, Write};

use crate::abi::console::XenconsInterface;
use crate::abi::start_info::{HvmMemmapTableEntry, HvmModlistEntry, HvmStartInfo};
use crate::abi::{HVM_PARAM_CONSOLE_EVTCHN, HVM_PARAM_CONSOLE_PFN, PAGE_SIZE};
use crate::clock::PvClock;
use crate::error::XenError;
use crate::hw::{find_xen_leaves, map_shared_info, rdtsc, DebugPort, HypercallPage, Hypercalls};
use crate::hw::{InstallError, XenHw};
use crate::hypervisor::{Port, ShutdownReason};

use super::cmdline::{self, CmdlineError};
use super::memory::{largest_free, PhysRange, IDENTITY_MAP_END};
use super::platform::{BootTimes, Platform};
use super::shutdown::{halt, set_hypercalls};
use super::{console, heap, timeline};

extern "Rust" {
    /// The image's main, defined by [`image_main!`](crate::image_main).
    fn shimmer_xen_main(platform: Platform) -> i32;
}

extern "C" {
    /// First byte of the image (`image.ld`).
    static __shimmer_image_start: u8;
    /// One past the image's last byte, `.bss` included (`image.ld`).
    static __shimmer_image_end: u8;
}

/// The page Xen fills with hypercall stubs (in `.bss`, executable through
/// the identity map).
static HYPERCALL_PAGE: HypercallPage = HypercallPage::new();

/// A page-aligned frame that shared_info replaces: the RAM page behind it
/// goes back to Xen, so nothing else may live in it.
#[repr(C, align(4096))]
struct Frame(core::cell::UnsafeCell<[u8; PAGE_SIZE]>);
// SAFETY: the guest never accesses the frame through this static; it only
// takes its address, and Xen maps shared_info there.
unsafe impl Sync for Frame {}
static SHARED_INFO_FRAME: Frame = Frame(core::cell::UnsafeCell::new([0; PAGE_SIZE]));

/// Most boot modules the heap is kept clear of (shimmer passes none).
const MAX_MODULES: usize = 8;

/// Why the boot stopped.
#[derive(Debug)]
enum BootError {
    NotXen,
    Install(InstallError),
    StartInfo {
        paddr: u64,
        magic: u32,
        version: u32,
    },
    SharedInfo(XenError),
    ConsoleParam(XenError),
    ConsoleRing(u64),
    NoMemoryMap,
    TooManyModules(u32),
    NoHeap,
    Cmdline(CmdlineError),
}

impl fmt::Display for BootError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BootError::NotXen => write!(f, "no Xen CPUID leaves: not running under Xen"),
            BootError::Install(e) => write!(f, "hypercall page: {e}"),
            BootError::StartInfo {
                paddr,
                magic,
                version,
            } => write!(
                f,
                "bad hvm_start_info at {paddr:#x} (magic {magic:#x}, version {version})"
            ),
            BootError::SharedInfo(e) => write!(f, "mapping shared_info: {e}"),
            BootError::ConsoleParam(e) => write!(f, "console parameters: {e}"),
            BootError::ConsoleRing(gpa) => write!(f, "console ring at {gpa:#x} is not mapped"),
            BootError::NoMemoryMap => write!(f, "hvm_start_info has no memory map"),
            BootError::TooManyModules(n) => {
                write!(f, "{n} boot modules (at most {MAX_MODULES} supported)")
            }
            BootError::NoHeap => write!(f, "no free RAM for the heap"),
            BootError::Cmdline(e) => write!(f, "{e}"),
        }
    }
}

/// Called by the assembly entry ([`super::entry`]) on the boot stack, in
/// 64-bit mode with paging and SSE on, with the physical address Xen put in
/// `%ebx`.
#[no_mangle]
extern "C" fn shimmer_xen_boot(start_info_paddr: u64) -> ! {
    let entry_tsc = rdtsc();
    // SAFETY: this runs only as the image's entry: ring 0 of a PVH guest,
    // where port 0xE9 is Xen's debug console.
    let mut e9 = unsafe { DebugPort::new() };
    match boot(start_info_paddr, entry_tsc) {
        Ok(platform) => {
            // SAFETY: `shimmer_xen_main` is defined by `image_main!` with
            // exactly this signature (a missing one fails the link).
            let code = unsafe { shimmer_xen_main(platform) };
            let mut out = platform.console;
            let _ = timeline::report(&mut out);
            let _ = writeln!(out, "shimmer: exit {code}");
            out.flush();
            halt(ShutdownReason::Poweroff)
        }
        // A command line the image cannot read is the caller's mistake, as a
        // bad option is: a usage error (status 2), not a crash.
        Err(BootError::Cmdline(e)) if console::get().is_some() => {
            if let Some(mut out) = console::get() {
                let _ = writeln!(out, "error: {e}");
                let _ = writeln!(out, "shimmer: exit 2");
                out.flush();
            }
            halt(ShutdownReason::Poweroff)
        }
        Err(e) => {
            let _ = writeln!(e9, "shimmer: boot failed: {e}");
            if let Some(mut out) = console::get() {
                let _ = writeln!(out, "shimmer: boot failed: {e}");
                out.flush();
            }
            halt(ShutdownReason::Crash)
        }
    }
}

fn boot(start_info_paddr: u64, entry_tsc: u64) -> Result<Platform, BootError> {
    // 1. Hypercall page.
    let leaves = find_xen_leaves().ok_or(BootError::NotXen)?;
    let page_gpa = &HYPERCALL_PAGE as *const HypercallPage as u64;
    // SAFETY: ring 0 of a Xen PVH guest (we found Xen's leaves on this
    // CPU); the page is a static dedicated to this, identity mapped
    // (gpa = address) and executable (no NX bit in the boot page tables).
    let hc = unsafe { Hypercalls::install(&HYPERCALL_PAGE, page_gpa, leaves) }
        .map_err(BootError::Install)?;
    set_hypercalls(hc);

    // 2. The start info.
    let si = read_start_info(start_info_paddr)?;

    // 3. shared_info.
    let frame = SHARED_INFO_FRAME.0.get() as u64;
    // SAFETY: `frame` is a page-aligned, identity-mapped static page that
    // nothing else uses (see `Frame`); losing its RAM is intended.
    let shared = unsafe { map_shared_info(hc, frame) }.map_err(BootError::SharedInfo)?;
    let hw = XenHw::new(hc, shared);
    let clock = PvClock::new();
    let clock_ns = clock.now(&hw);
    let created_ns = timeline::vcpu_created_ns(&hw);

    // 4. Console.
    use crate::hypervisor::Hypervisor;
    let pfn = hw
        .hvm_get_param(HVM_PARAM_CONSOLE_PFN)
        .map_err(BootError::ConsoleParam)?;
    let port = hw
        .hvm_get_param(HVM_PARAM_CONSOLE_EVTCHN)
        .map_err(BootError::ConsoleParam)?;
    // A frame number past the identity map (or one whose address would
    // overflow) is refused before it is shifted.
    if pfn == 0 || pfn >= IDENTITY_MAP_END >> 12 || port == 0 || port > u64::from(u32::MAX) {
        return Err(BootError::ConsoleRing(pfn.wrapping_shl(12)));
    }
    let ring_gpa = pfn << 12;
    // SAFETY: Xen's console page for this domain: a whole page at
    // `ring_gpa` (below 4 GiB, so identity mapped), shared with the
    // console backend for the domain's life and used by nothing else in
    // the image; `XenconsInterface` is all atomics, valid for any bytes.
    let ring: &'static XenconsInterface = unsafe { &*(ring_gpa as *const XenconsInterface) };
    let console = console::install(hw, ring, Port(port as u32));

    // 5. Heap.
    let heap = choose_heap(&si, start_info_paddr)?;
    // SAFETY: `heap` is RAM from Xen's memory map, inside the identity map,
    // clear of the image (code, statics, stack, page tables) and of Xen's
    // boot data; nothing has allocated yet and nothing else will use it.
    unsafe { heap::init(heap) };
    // The image's page pool (shimmer-io's `PagePool::current()`).
    // SAFETY: `set_global`'s contract: the image is one thread of
    // execution (one vCPU, interrupts never enabled), so the pool's global
    // slot is only ever used from here on by that thread.
    unsafe { shimmer_io::page::PagePool::new().set_global() };

    // 6. Command line.
    // SAFETY: Xen wrote a NUL-terminated string at `cmdline_paddr` (below
    // 4 GiB, identity mapped); the heap avoids it, so it stays untouched.
    let cmdline = unsafe { cmdline::read(si.cmdline_paddr) }.map_err(BootError::Cmdline)?;

    let main_ns = clock.now(&hw);
    timeline::start(hw, created_ns, main_ns);
    Ok(Platform {
        hw,
        console,
        cmdline,
        times: BootTimes {
            created_ns,
            entry_tsc,
            clock_ns,
            main_ns,
        },
        heap,
        start_info: si,
    })
}

fn read_start_info(paddr: u64) -> Result<HvmStartInfo, BootError> {
    let bad = |si: HvmStartInfo| BootError::StartInfo {
        paddr,
        magic: si.magic,
        version: si.version,
    };
    let size = core::mem::size_of::<HvmStartInfo>() as u64;
    if paddr == 0 || paddr % 8 != 0 || paddr + size > IDENTITY_MAP_END {
        return Err(bad(HvmStartInfo::default()));
    }
    // SAFETY: Xen passes the physical address of its `hvm_start_info` in
    // `%ebx` (below 4 GiB: identity mapped, aligned — checked above); it is
    // read by value, before any of its addresses is trusted.
    let si = unsafe { (paddr as *const HvmStartInfo).read_volatile() };
    if si.is_valid() {
        Ok(si)
    } else {
        Err(bad(si))
    }
}

/// Reads a table of `n` `T` at `paddr` from Xen's boot data, if it lies
/// inside the identity map.
fn boot_table<T: Copy>(paddr: u64, n: u32) -> Option<&'static [T]> {
    let bytes = u64::from(n).checked_mul(core::mem::size_of::<T>() as u64)?;
    let end = paddr.checked_add(bytes)?;
    if paddr == 0 || end > IDENTITY_MAP_END || paddr % core::mem::align_of::<T>() as u64 != 0 {
        return None;
    }
    // SAFETY: Xen's boot data, written before the guest started and never
    // again: `n` entries at an aligned address inside the identity map, and
    // the heap is chosen clear of them.
    Some(unsafe { core::slice::from_raw_parts(paddr as *const T, n as usize) })
}

fn choose_heap(si: &HvmStartInfo, si_paddr: u64) -> Result<PhysRange, BootError> {
    if !si.has_memmap() {
        return Err(BootError::NoMemoryMap);
    }
    let map: &[HvmMemmapTableEntry] =
        boot_table(si.memmap_paddr, si.memmap_entries).ok_or(BootError::NoMemoryMap)?;
    let modules: &[HvmModlistEntry] = if si.nr_modules == 0 {
        &[]
    } else {
        boot_table(si.modlist_paddr, si.nr_modules)
            .ok_or(BootError::TooManyModules(si.nr_modules))?
    };
    if modules.len() > MAX_MODULES {
        return Err(BootError::TooManyModules(si.nr_modules));
    }
    let image = PhysRange {
        start: &raw const __shimmer_image_start as u64,
        end: &raw const __shimmer_image_end as u64,
    };
    let cmdline_len = if si.cmdline_paddr == 0 {
        0
    } else {
        // SAFETY: Xen's NUL-terminated command line, identity mapped.
        unsafe { cmdline::window_len(si.cmdline_paddr) as u64 }
    };
    let mut reserved = [PhysRange::default(); 5 + 2 * MAX_MODULES];
    reserved[0] = image;
    reserved[1] = PhysRange::at(si_paddr, core::mem::size_of::<HvmStartInfo>() as u64);
    reserved[2] = PhysRange::at(si.memmap_paddr, core::mem::size_of_val(map) as u64);
    reserved[3] = PhysRange::at(si.cmdline_paddr, cmdline_len);
    reserved[4] = PhysRange::at(si.modlist_paddr, core::mem::size_of_val(modules) as u64);
    for (i, m) in modules.iter().enumerate() {
        reserved[5 + 2 * i] = PhysRange::at(m.paddr, m.size);
        reserved[6 + 2 * i] = PhysRange::at(m.cmdline_paddr, 1024);
    }
    largest_free(map, &reserved, IDENTITY_MAP_END).ok_or(BootError::NoHeap)
}
