//! Criterion benches of the sync primitives: shimmer's beside tokio::sync
//! (current_thread runtime + LocalSet), async-lock / async-channel (smol's
//! LocalExecutor) and futures::lock / futures::channel (futures' LocalPool),
//! all in the same run.
//!
//! | group                 | one iteration                                                        | per        |
//! |-----------------------|----------------------------------------------------------------------|------------|
//! | `mutex_uncontended`   | [`LOCK_N`] lock + increment + unlock in one task                      | lock       |
//! | `mutex_contended`     | [`TASKS`] tasks × [`ROUNDS`]: lock, yield while holding it, unlock    | lock       |
//! | `channel_bounded64`   | a producer task sends [`MSG_N`] `u64`s through a 64-slot channel to a consumer task | message |
//! | `channel_unbounded`   | the same through an unbounded channel                                | message    |
//! | `mvar_pingpong`       | two spawned tasks bounce a value [`PING_N`] times through two MVars   | round trip |
//!
//! The peers have no MVar: theirs is the closest equivalent, a one-slot
//! bounded channel (tokio `mpsc::channel(1)`, async-channel `bounded(1)`,
//! futures `mpsc::channel(0)`, which holds one message per sender).
//! In `mutex_contended` the holder yields with the runtime-agnostic
//! self-wake (`futures_lite::future::yield_now`): on one thread that is the
//! only way for a lock to be contended.
//!
//! Before criterion runs, every workload is run once with a counting global
//! allocator switched on, and the allocations per operation are printed
//! (`allocs/op`); the allocator only counts while switched on.
//!
//! ```sh
//! cargo bench -p shimmer-benches --bench sync                 # everything
//! cargo bench -p shimmer-benches --bench sync -- mvar_pingpong/
//! cargo bench -p shimmer-benches --bench sync -- --test       # smoke: each bench once
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use std::hint::black_box;

use criterion::{criterion_group, Criterion, Throughput};

/// Lock/unlock pairs per `mutex_uncontended` iteration.
const LOCK_N: usize = 100_000;
/// Contending tasks in `mutex_contended`.
const TASKS: usize = 100;
/// Locks per task per `mutex_contended` iteration.
const ROUNDS: usize = 100;
/// Messages per channel iteration.
const MSG_N: u64 = 1_000_000;
/// Round trips per `mvar_pingpong` iteration.
const PING_N: usize = 100_000;

// ===== allocation counting =====

struct Counting;
static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);

// SAFETY: forwards every call to `System`; only counts while switched on.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations per op of one run of `f` (after a warm-up run).
fn allocs_per_op(ops: u64, mut f: impl FnMut()) -> f64 {
    f();
    ALLOCS.store(0, Ordering::Relaxed);
    COUNTING.store(true, Ordering::Relaxed);
    f();
    COUNTING.store(false, Ordering::Relaxed);
    ALLOCS.load(Ordering::Relaxed) as f64 / ops as f64
}

// ===== shimmer =====

mod shim {
    use super::*;
    use futures_lite::future::yield_now;
    use shimmer_executor::sync::{channel, MVar, Mutex};
    use shimmer_executor::{spawn, Executor, StdPark};
    use std::rc::Rc;

    pub struct Shim {
        ex: Executor,
    }

    impl Shim {
        pub fn new() -> Self {
            Shim {
                ex: Executor::new(StdPark::new()),
            }
        }

        pub fn mutex_uncontended(&mut self) -> u64 {
            self.ex.block_on(async {
                let m = Mutex::new(0u64);
                for _ in 0..LOCK_N {
                    *m.lock().await += 1;
                }
                m.into_inner()
            })
        }

        pub fn mutex_contended(&mut self) -> u64 {
            self.ex.block_on(async {
                let m = Rc::new(Mutex::new(0u64));
                let mut hs = Vec::with_capacity(TASKS);
                for _ in 0..TASKS {
                    let m = m.clone();
                    hs.push(spawn(async move {
                        for _ in 0..ROUNDS {
                            let mut g = m.lock().await;
                            yield_now().await;
                            *g += 1;
                        }
                    }));
                }
                for h in hs {
                    h.await.unwrap();
                }
                let n = *m.lock().await;
                n
            })
        }

        pub fn channel_bounded(&mut self, cap: usize) -> u64 {
            self.ex.block_on(async move {
                let (tx, rx) = channel::bounded(cap);
                let p = spawn(async move {
                    for i in 0..MSG_N {
                        tx.send(i).await.unwrap();
                    }
                });
                let c = spawn(async move {
                    let mut sum = 0u64;
                    while let Some(v) = rx.recv().await {
                        sum += v;
                    }
                    sum
                });
                p.await.unwrap();
                c.await.unwrap()
            })
        }

        pub fn channel_unbounded(&mut self) -> u64 {
            self.ex.block_on(async {
                let (tx, rx) = channel::unbounded();
                let p = spawn(async move {
                    for i in 0..MSG_N {
                        tx.try_send(i).unwrap();
                    }
                });
                let c = spawn(async move {
                    let mut sum = 0u64;
                    while let Some(v) = rx.recv().await {
                        sum += v;
                    }
                    sum
                });
                p.await.unwrap();
                c.await.unwrap()
            })
        }

        pub fn mvar_pingpong(&mut self) -> usize {
            self.ex.block_on(async {
                let (a, b) = (Rc::new(MVar::empty()), Rc::new(MVar::empty()));
                let (a2, b2) = (a.clone(), b.clone());
                let pong = spawn(async move {
                    for _ in 0..PING_N {
                        let v: usize = a2.take().await;
                        b2.put(v + 1).await;
                    }
                });
                let ping = spawn(async move {
                    let mut v = 0;
                    for _ in 0..PING_N {
                        a.put(v).await;
                        v = b.take().await;
                    }
                    v
                });
                pong.await.unwrap();
                ping.await.unwrap()
            })
        }
    }
}

// ===== tokio current_thread + LocalSet =====

mod tok {
    use super::*;
    use futures_lite::future::yield_now;
    use std::rc::Rc;
    use tokio::runtime::{Builder, Runtime};
    use tokio::sync::{mpsc, Mutex};
    use tokio::task::{spawn_local, LocalSet};

    pub struct Tok {
        rt: Runtime,
        ls: LocalSet,
    }

    impl Tok {
        pub fn new() -> Self {
            Tok {
                rt: Builder::new_current_thread().enable_all().build().unwrap(),
                ls: LocalSet::new(),
            }
        }

        pub fn mutex_uncontended(&self) -> u64 {
            self.ls.block_on(&self.rt, async {
                let m = Mutex::new(0u64);
                for _ in 0..LOCK_N {
                    *m.lock().await += 1;
                }
                m.into_inner()
            })
        }

        pub fn mutex_contended(&self) -> u64 {
            self.ls.block_on(&self.rt, async {
                let m = Rc::new(Mutex::new(0u64));
                let mut hs = Vec::with_capacity(TASKS);
                for _ in 0..TASKS {
                    let m = m.clone();
                    hs.push(spawn_local(async move {
                        for _ in 0..ROUNDS {
                            let mut g = m.lock().await;
                            yield_now().await;
                            *g += 1;
                        }
                    }));
                }
                for h in hs {
                    h.await.unwrap();
                }
                let n = *m.lock().await;
                n
            })
        }

        pub fn channel_bounded(&self, cap: usize) -> u64 {
            self.ls.block_on(&self.rt, async move {
                let (tx, mut rx) = mpsc::channel(cap);
                let p = spawn_local(async move {
                    for i in 0..MSG_N {
                        tx.send(i).await.unwrap();
                    }
                });
                let c = spawn_local(async move {
                    let mut sum = 0u64;
                    while let Some(v) = rx.recv().await {
                        sum += v;
                    }
                    sum
                });
                p.await.unwrap();
                c.await.unwrap()
            })
        }

        pub fn channel_unbounded(&self) -> u64 {
            self.ls.block_on(&self.rt, async {
                let (tx, mut rx) = mpsc::unbounded_channel();
                let p = spawn_local(async move {
                    for i in 0..MSG_N {
                        tx.send(i).unwrap();
                    }
                });
                let c = spawn_local(async move {
                    let mut sum = 0u64;
                    while let Some(v) = rx.recv().await {
                        sum += v;
                    }
                    sum
                });
                p.await.unwrap();
                c.await.unwrap()
            })
        }

        /// Two one-slot channels stand in for the MVars.
        pub fn mvar_pingpong(&self) -> usize {
            self.ls.block_on(&self.rt, async {
                let (a_tx, mut a_rx) = mpsc::channel(1);
                let (b_tx, mut b_rx) = mpsc::channel(1);
                let pong = spawn_local(async move {
                    for _ in 0..PING_N {
                        let v: usize = a_rx.recv().await.unwrap();
                        b_tx.send(v + 1).await.unwrap();
                    }
                });
                let ping = spawn_local(async move {
                    let mut v = 0;
                    for _ in 0..PING_N {
                        a_tx.send(v).await.unwrap();
                        v = b_rx.recv().await.unwrap();
                    }
                    v
                });
                pong.await.unwrap();
                ping.await.unwrap()
            })
        }
    }
}

// ===== smol LocalExecutor + async-lock / async-channel =====

mod smol {
    use super::*;
    use async_executor::LocalExecutor;
    use async_lock::Mutex;
    use futures_lite::future::{block_on, yield_now};
    use std::rc::Rc;

    pub struct Smol {
        ex: LocalExecutor<'static>,
    }

    impl Smol {
        pub fn new() -> Self {
            Smol {
                ex: LocalExecutor::new(),
            }
        }

        pub fn mutex_uncontended(&self) -> u64 {
            block_on(self.ex.run(async {
                let m = Mutex::new(0u64);
                for _ in 0..LOCK_N {
                    *m.lock().await += 1;
                }
                m.into_inner()
            }))
        }

        pub fn mutex_contended(&self) -> u64 {
            block_on(self.ex.run(async {
                let m = Rc::new(Mutex::new(0u64));
                let mut hs = Vec::with_capacity(TASKS);
                for _ in 0..TASKS {
                    let m = m.clone();
                    hs.push(self.ex.spawn(async move {
                        for _ in 0..ROUNDS {
                            let mut g = m.lock().await;
                            yield_now().await;
                            *g += 1;
                        }
                    }));
                }
                for h in hs {
                    h.await;
                }
                let n = *m.lock().await;
                n
            }))
        }

        pub fn channel_bounded(&self, cap: usize) -> u64 {
            block_on(self.ex.run(async {
                let (tx, rx) = async_channel::bounded(cap);
                let p = self.ex.spawn(async move {
                    for i in 0..MSG_N {
                        tx.send(i).await.unwrap();
                    }
                });
                let c = self.ex.spawn(async move {
                    let mut sum = 0u64;
                    while let Ok(v) = rx.recv().await {
                        sum += v;
                    }
                    sum
                });
                p.await;
                c.await
            }))
        }

        pub fn channel_unbounded(&self) -> u64 {
            block_on(self.ex.run(async {
                let (tx, rx) = async_channel::unbounded();
                let p = self.ex.spawn(async move {
                    for i in 0..MSG_N {
                        tx.try_send(i).unwrap();
                    }
                });
                let c = self.ex.spawn(async move {
                    let mut sum = 0u64;
                    while let Ok(v) = rx.recv().await {
                        sum += v;
                    }
                    sum
                });
                p.await;
                c.await
            }))
        }

        pub fn mvar_pingpong(&self) -> usize {
            block_on(self.ex.run(async {
                let (a_tx, a_rx) = async_channel::bounded(1);
                let (b_tx, b_rx) = async_channel::bounded(1);
                let pong = self.ex.spawn(async move {
                    for _ in 0..PING_N {
                        let v: usize = a_rx.recv().await.unwrap();
                        b_tx.send(v + 1).await.unwrap();
                    }
                });
                let ping = self.ex.spawn(async move {
                    let mut v = 0;
                    for _ in 0..PING_N {
                        a_tx.send(v).await.unwrap();
                        v = b_rx.recv().await.unwrap();
                    }
                    v
                });
                pong.await;
                ping.await
            }))
        }
    }
}

// ===== futures LocalPool + futures::lock / futures::channel =====

mod fut {
    use super::*;
    use futures::channel::mpsc;
    use futures::lock::Mutex;
    use futures::task::LocalSpawnExt;
    use futures::{SinkExt, StreamExt};
    use futures_executor::LocalPool;
    use futures_lite::future::yield_now;
    use std::rc::Rc;

    pub struct Fut {
        pool: LocalPool,
    }

    impl Fut {
        pub fn new() -> Self {
            Fut {
                pool: LocalPool::new(),
            }
        }

        pub fn mutex_uncontended(&mut self) -> u64 {
            self.pool.run_until(async {
                let m = Mutex::new(0u64);
                for _ in 0..LOCK_N {
                    *m.lock().await += 1;
                }
                m.into_inner()
            })
        }

        pub fn mutex_contended(&mut self) -> u64 {
            let sp = self.pool.spawner();
            self.pool.run_until(async move {
                let m = Rc::new(Mutex::new(0u64));
                let mut hs = Vec::with_capacity(TASKS);
                for _ in 0..TASKS {
                    let m = m.clone();
                    hs.push(
                        sp.spawn_local_with_handle(async move {
                            for _ in 0..ROUNDS {
                                let mut g = m.lock().await;
                                yield_now().await;
                                *g += 1;
                            }
                        })
                        .unwrap(),
                    );
                }
                for h in hs {
                    h.await;
                }
                let n = *m.lock().await;
                n
            })
        }

        pub fn channel_bounded(&mut self, cap: usize) -> u64 {
            let sp = self.pool.spawner();
            self.pool.run_until(async move {
                // futures' bound is `buffer + one slot per sender`.
                let (mut tx, mut rx) = mpsc::channel(cap - 1);
                let p = sp
                    .spawn_local_with_handle(async move {
                        for i in 0..MSG_N {
                            tx.send(i).await.unwrap();
                        }
                    })
                    .unwrap();
                let c = sp
                    .spawn_local_with_handle(async move {
                        let mut sum = 0u64;
                        while let Some(v) = rx.next().await {
                            sum += v;
                        }
                        sum
                    })
                    .unwrap();
                p.await;
                c.await
            })
        }

        pub fn channel_unbounded(&mut self) -> u64 {
            let sp = self.pool.spawner();
            self.pool.run_until(async move {
                let (tx, mut rx) = mpsc::unbounded();
                let p = sp
                    .spawn_local_with_handle(async move {
                        for i in 0..MSG_N {
                            tx.unbounded_send(i).unwrap();
                        }
                    })
                    .unwrap();
                let c = sp
                    .spawn_local_with_handle(async move {
                        let mut sum = 0u64;
                        while let Some(v) = rx.next().await {
                            sum += v;
                        }
                        sum
                    })
                    .unwrap();
                p.await;
                c.await
            })
        }

        pub fn mvar_pingpong(&mut self) -> usize {
            let sp = self.pool.spawner();
            self.pool.run_until(async move {
                let (mut a_tx, mut a_rx) = mpsc::channel(0);
                let (mut b_tx, mut b_rx) = mpsc::channel(0);
                let pong = sp
                    .spawn_local_with_handle(async move {
                        for _ in 0..PING_N {
                            let v: usize = a_rx.next().await.unwrap();
                            b_tx.send(v + 1).await.unwrap();
                        }
                    })
                    .unwrap();
                let ping = sp
                    .spawn_local_with_handle(async move {
                        let mut v = 0;
                        for _ in 0..PING_N {
                            a_tx.send(v).await.unwrap();
                            v = b_rx.next().await.unwrap();
                        }
                        v
                    })
                    .unwrap();
                pong.await;
                ping.await
            })
        }
    }
}

// ===== groups =====

const SUM: u64 = MSG_N * (MSG_N - 1) / 2;

fn mutex_uncontended(c: &mut Criterion) {
    let mut g = c.benchmark_group("mutex_uncontended");
    g.throughput(Throughput::Elements(LOCK_N as u64));
    let mut s = shim::Shim::new();
    g.bench_function("shimmer", |b| {
        b.iter(|| assert_eq!(s.mutex_uncontended(), LOCK_N as u64))
    });
    let t = tok::Tok::new();
    g.bench_function("tokio_localset", |b| b.iter(|| t.mutex_uncontended()));
    let sm = smol::Smol::new();
    g.bench_function("smol_async_lock", |b| b.iter(|| sm.mutex_uncontended()));
    let mut f = fut::Fut::new();
    g.bench_function("futures_localpool", |b| b.iter(|| f.mutex_uncontended()));
    g.finish();
}

fn mutex_contended(c: &mut Criterion) {
    let n = (TASKS * ROUNDS) as u64;
    let mut g = c.benchmark_group("mutex_contended");
    g.throughput(Throughput::Elements(n));
    let mut s = shim::Shim::new();
    g.bench_function("shimmer", |b| b.iter(|| assert_eq!(s.mutex_contended(), n)));
    let t = tok::Tok::new();
    g.bench_function("tokio_localset", |b| {
        b.iter(|| assert_eq!(t.mutex_contended(), n))
    });
    let sm = smol::Smol::new();
    g.bench_function("smol_async_lock", |b| {
        b.iter(|| assert_eq!(sm.mutex_contended(), n))
    });
    let mut f = fut::Fut::new();
    g.bench_function("futures_localpool", |b| {
        b.iter(|| assert_eq!(f.mutex_contended(), n))
    });
    g.finish();
}

fn channel_bounded(c: &mut Criterion) {
    let mut g = c.benchmark_group("channel_bounded64");
    g.throughput(Throughput::Elements(MSG_N));
    let mut s = shim::Shim::new();
    g.bench_function("shimmer", |b| {
        b.iter(|| assert_eq!(s.channel_bounded(64), SUM))
    });
    let t = tok::Tok::new();
    g.bench_function("tokio_localset", |b| {
        b.iter(|| assert_eq!(t.channel_bounded(64), SUM))
    });
    let sm = smol::Smol::new();
    g.bench_function("smol_async_channel", |b| {
        b.iter(|| assert_eq!(sm.channel_bounded(64), SUM))
    });
    let mut f = fut::Fut::new();
    g.bench_function("futures_localpool", |b| {
        b.iter(|| assert_eq!(f.channel_bounded(64), SUM))
    });
    g.finish();
}

fn channel_unbounded(c: &mut Criterion) {
    let mut g = c.benchmark_group("channel_unbounded");
    g.throughput(Throughput::Elements(MSG_N));
    let mut s = shim::Shim::new();
    g.bench_function("shimmer", |b| {
        b.iter(|| assert_eq!(s.channel_unbounded(), SUM))
    });
    let t = tok::Tok::new();
    g.bench_function("tokio_localset", |b| {
        b.iter(|| assert_eq!(t.channel_unbounded(), SUM))
    });
    let sm = smol::Smol::new();
    g.bench_function("smol_async_channel", |b| {
        b.iter(|| assert_eq!(sm.channel_unbounded(), SUM))
    });
    let mut f = fut::Fut::new();
    g.bench_function("futures_localpool", |b| {
        b.iter(|| assert_eq!(f.channel_unbounded(), SUM))
    });
    g.finish();
}

fn mvar_pingpong(c: &mut Criterion) {
    let mut g = c.benchmark_group("mvar_pingpong");
    g.throughput(Throughput::Elements(PING_N as u64));
    let mut s = shim::Shim::new();
    g.bench_function("shimmer_mvar", |b| {
        b.iter(|| assert_eq!(s.mvar_pingpong(), PING_N))
    });
    let t = tok::Tok::new();
    g.bench_function("tokio_localset_mpsc1", |b| {
        b.iter(|| assert_eq!(t.mvar_pingpong(), PING_N))
    });
    let sm = smol::Smol::new();
    g.bench_function("smol_async_channel1", |b| {
        b.iter(|| assert_eq!(sm.mvar_pingpong(), PING_N))
    });
    let mut f = fut::Fut::new();
    g.bench_function("futures_localpool_mpsc0", |b| {
        b.iter(|| assert_eq!(f.mvar_pingpong(), PING_N))
    });
    g.finish();
}

/// One counted run of every workload; prints `allocs/op`.
fn print_allocs() {
    let mut s = shim::Shim::new();
    let t = tok::Tok::new();
    let sm = smol::Smol::new();
    let mut f = fut::Fut::new();
    let contended = (TASKS * ROUNDS) as u64;
    let rows: Vec<(&str, &str, f64)> = vec![
        (
            "mutex_uncontended",
            "shimmer",
            allocs_per_op(LOCK_N as u64, || {
                black_box(s.mutex_uncontended());
            }),
        ),
        (
            "mutex_uncontended",
            "tokio_localset",
            allocs_per_op(LOCK_N as u64, || {
                black_box(t.mutex_uncontended());
            }),
        ),
        (
            "mutex_uncontended",
            "smol_async_lock",
            allocs_per_op(LOCK_N as u64, || {
                black_box(sm.mutex_uncontended());
            }),
        ),
        (
            "mutex_uncontended",
            "futures_localpool",
            allocs_per_op(LOCK_N as u64, || {
                black_box(f.mutex_uncontended());
            }),
        ),
        (
            "mutex_contended",
            "shimmer",
            allocs_per_op(contended, || {
                black_box(s.mutex_contended());
            }),
        ),
        (
            "mutex_contended",
            "tokio_localset",
            allocs_per_op(contended, || {
                black_box(t.mutex_contended());
            }),
        ),
        (
            "mutex_contended",
            "smol_async_lock",
            allocs_per_op(contended, || {
                black_box(sm.mutex_contended());
            }),
        ),
        (
            "mutex_contended",
            "futures_localpool",
            allocs_per_op(contended, || {
                black_box(f.mutex_contended());
            }),
        ),
        (
            "channel_bounded64",
            "shimmer",
            allocs_per_op(MSG_N, || {
                black_box(s.channel_bounded(64));
            }),
        ),
        (
            "channel_bounded64",
            "tokio_localset",
            allocs_per_op(MSG_N, || {
                black_box(t.channel_bounded(64));
            }),
        ),
        (
            "channel_bounded64",
            "smol_async_channel",
            allocs_per_op(MSG_N, || {
                black_box(sm.channel_bounded(64));
            }),
        ),
        (
            "channel_bounded64",
            "futures_localpool",
            allocs_per_op(MSG_N, || {
                black_box(f.channel_bounded(64));
            }),
        ),
        (
            "channel_unbounded",
            "shimmer",
            allocs_per_op(MSG_N, || {
                black_box(s.channel_unbounded());
            }),
        ),
        (
            "channel_unbounded",
            "tokio_localset",
            allocs_per_op(MSG_N, || {
                black_box(t.channel_unbounded());
            }),
        ),
        (
            "channel_unbounded",
            "smol_async_channel",
            allocs_per_op(MSG_N, || {
                black_box(sm.channel_unbounded());
            }),
        ),
        (
            "channel_unbounded",
            "futures_localpool",
            allocs_per_op(MSG_N, || {
                black_box(f.channel_unbounded());
            }),
        ),
        (
            "mvar_pingpong",
            "shimmer_mvar",
            allocs_per_op(PING_N as u64, || {
                black_box(s.mvar_pingpong());
            }),
        ),
        (
            "mvar_pingpong",
            "tokio_localset_mpsc1",
            allocs_per_op(PING_N as u64, || {
                black_box(t.mvar_pingpong());
            }),
        ),
        (
            "mvar_pingpong",
            "smol_async_channel1",
            allocs_per_op(PING_N as u64, || {
                black_box(sm.mvar_pingpong());
            }),
        ),
        (
            "mvar_pingpong",
            "futures_localpool_mpsc0",
            allocs_per_op(PING_N as u64, || {
                black_box(f.mvar_pingpong());
            }),
        ),
    ];
    println!("allocations per operation (one counted run after a warm-up run):");
    for (group, bench, n) in rows {
        println!("allocs {group}/{bench}: {n:.4}");
    }
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .noise_threshold(0.05)
}

criterion_group! {
    name = benches;
    config = config();
    targets = mutex_uncontended, mutex_contended, channel_bounded, channel_unbounded, mvar_pingpong
}

fn main() {
    // `--test` (smoke) and `--list` skip the counted runs.
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        print_allocs();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
