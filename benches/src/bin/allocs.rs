//! Heap allocations per operation for every runtime and workload, counted by a
//! `#[global_allocator]` that wraps `System`. Each workload runs once to warm
//! up (thread-locals, slabs, queues reach their size), then once counted; the
//! count is divided by the operations of that run, so per-run fixed costs (the
//! `Vec` of handles, the two signals) are amortised into the figure.
//!
//! Output: one row per `group/bench` (the criterion ids), machine-readable by
//! `summarize.py`.

use shimmer_benches::{fut, shim, smol, timer_durations, tok};
use shimmer_benches::{PINGPONG_N, SPAWN_N, TIMER_N, YIELD_N};
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static REALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to `System`; the counters are
// plain atomics and never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        REALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(new_size.saturating_sub(layout.size()) as u64, Relaxed);
        // SAFETY: same contract as ours.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as ours.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn snapshot() -> (u64, u64, u64) {
    (
        ALLOCS.load(Relaxed),
        REALLOCS.load(Relaxed),
        BYTES.load(Relaxed),
    )
}

/// Warm up once, count once, print per-op figures.
fn measure(id: &str, unit: &str, n: usize, mut run: impl FnMut()) {
    run();
    count(id, unit, n, run);
}

/// Count one run as it comes (for a first run on a fresh instance).
fn count(id: &str, unit: &str, n: usize, run: impl FnOnce()) {
    let (a0, r0, b0) = snapshot();
    run();
    let (a1, r1, b1) = snapshot();
    let per = |x: u64| x as f64 / n as f64;
    println!(
        "{:<46} {:>9.4} {:>9.4} {:>9.4} {:>10.1}  {:<10} {:>7}",
        id,
        per(a1 - a0),
        per(r1 - r0),
        per((a1 - a0) + (r1 - r0)),
        per(b1 - b0),
        unit,
        n
    );
}

fn main() {
    let ds = timer_durations(TIMER_N);
    let mut sh = shim::Shim::new();
    let tk = tok::Tok::new(false);
    let tl = tok::Tok::new(true);
    let tn = tok::Tok::new_without_io(false);
    let sm = smol::Smol::new();
    let mut fp = fut::Fut::new();

    println!(
        "{:<46} {:>9} {:>9} {:>9} {:>10}  {:<10} {:>7}",
        "# group/bench", "allocs", "reallocs", "total", "bytes", "per", "n"
    );

    measure("spawn/shimmer", "task", SPAWN_N, || sh.spawn_n(SPAWN_N));
    measure("spawn/tokio_spawn", "task", SPAWN_N, || tk.spawn_n(SPAWN_N));
    measure("spawn/tokio_localset", "task", SPAWN_N, || {
        tl.spawn_n(SPAWN_N)
    });
    measure("spawn/smol_local", "task", SPAWN_N, || sm.spawn_n(SPAWN_N));
    measure("spawn/futures_localpool", "task", SPAWN_N, || {
        fp.spawn_n(SPAWN_N)
    });
    measure("spawn/futures_localpool_detached", "task", SPAWN_N, || {
        fp.spawn_n_detached(SPAWN_N)
    });

    measure("pingpong/shimmer_sig", "round trip", PINGPONG_N, || {
        sh.pingpong_sig(PINGPONG_N)
    });
    measure(
        "pingpong/tokio_localset_sig",
        "round trip",
        PINGPONG_N,
        || tl.pingpong_sig(PINGPONG_N),
    );
    measure("pingpong/smol_local_sig", "round trip", PINGPONG_N, || {
        sm.pingpong_sig(PINGPONG_N)
    });
    measure(
        "pingpong/futures_localpool_sig",
        "round trip",
        PINGPONG_N,
        || fp.pingpong_sig(PINGPONG_N),
    );

    measure("yield/shimmer", "yield", YIELD_N, || sh.yields(YIELD_N));
    measure("yield/tokio_spawn", "yield", YIELD_N, || tk.yields(YIELD_N));
    measure("yield/tokio_localset", "yield", YIELD_N, || {
        tl.yields(YIELD_N)
    });
    measure("yield/smol_local", "yield", YIELD_N, || sm.yields(YIELD_N));
    measure("yield/futures_localpool", "yield", YIELD_N, || {
        fp.yields(YIELD_N)
    });

    measure("yield_now/shimmer_yield_now", "yield", YIELD_N, || {
        sh.yields_now(YIELD_N)
    });
    measure("yield_now/tokio_spawn_yield_now", "yield", YIELD_N, || {
        tk.yields_now(YIELD_N)
    });
    measure(
        "yield_now/tokio_localset_yield_now",
        "yield",
        YIELD_N,
        || tl.yields_now(YIELD_N),
    );
    measure(
        "yield_now/tokio_spawn_yield_now_noio",
        "yield",
        YIELD_N,
        || tn.yields_now(YIELD_N),
    );

    // The first run on a fresh instance (built outside the count): caches
    // and slabs still empty. Not used by summarize.py.
    let mut fresh = shim::Shim::new();
    count("spawn-cold/shimmer", "task", SPAWN_N, || {
        fresh.spawn_n(SPAWN_N)
    });
    let fresh = tok::Tok::new(false);
    count("spawn-cold/tokio_spawn", "task", SPAWN_N, || {
        fresh.spawn_n(SPAWN_N)
    });
    let fresh = tok::Tok::new(true);
    count("spawn-cold/tokio_localset", "task", SPAWN_N, || {
        fresh.spawn_n(SPAWN_N)
    });
    let fresh = smol::Smol::new();
    count("spawn-cold/smol_local", "task", SPAWN_N, || {
        fresh.spawn_n(SPAWN_N)
    });
    let mut fresh = fut::Fut::new();
    count(
        "spawn-cold/futures_localpool_detached",
        "task",
        SPAWN_N,
        || fresh.spawn_n_detached(SPAWN_N),
    );

    measure("timers/shimmer_sleep", "task", TIMER_N, || sh.timers(&ds));
    measure("timers/tokio_spawn_sleep", "task", TIMER_N, || {
        tk.timers(&ds)
    });
    measure("timers/tokio_localset_sleep", "task", TIMER_N, || {
        tl.timers(&ds)
    });
    measure("timers/smol_local_asyncio_timer", "task", TIMER_N, || {
        sm.timers(&ds)
    });
    measure(
        "timers/futures_localpool_asyncio_timer",
        "task",
        TIMER_N,
        || fp.timers(&ds),
    );
}
