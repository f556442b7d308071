//! Criterion benches: every group runs shimmer and its peers side by side in
//! the same process and the same run. The workloads are in `src/lib.rs`.
//!
//! ```sh
//! cargo bench -p shimmer-benches --bench exec                      # everything
//! cargo bench -p shimmer-benches --bench exec -- pingpong/          # one group
//! cargo bench -p shimmer-benches --bench exec -- --test             # smoke: each bench once
//! ```

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use shimmer_benches::{fut, shim, smol, timer_durations, tok};
use shimmer_benches::{PINGPONG_N, SPAWN_N, TIMER_N, YIELD_N};
use std::time::Duration;

fn spawn(c: &mut Criterion) {
    let mut g = c.benchmark_group("spawn");
    g.throughput(Throughput::Elements(SPAWN_N as u64));

    let mut s = shim::Shim::new();
    g.bench_function("shimmer", |b| b.iter(|| s.spawn_n(SPAWN_N)));
    let t = tok::Tok::new(false);
    g.bench_function("tokio_spawn", |b| b.iter(|| t.spawn_n(SPAWN_N)));
    let t = tok::Tok::new(true);
    g.bench_function("tokio_localset", |b| b.iter(|| t.spawn_n(SPAWN_N)));
    let sm = smol::Smol::new();
    g.bench_function("smol_local", |b| b.iter(|| sm.spawn_n(SPAWN_N)));
    let mut f = fut::Fut::new();
    g.bench_function("futures_localpool", |b| b.iter(|| f.spawn_n(SPAWN_N)));
    g.bench_function("futures_localpool_detached", |b| {
        b.iter(|| f.spawn_n_detached(SPAWN_N))
    });
    g.finish();
}

fn pingpong(c: &mut Criterion) {
    let mut g = c.benchmark_group("pingpong");
    g.throughput(Throughput::Elements(PINGPONG_N as u64));

    let mut s = shim::Shim::new();
    g.bench_function("shimmer_sig", |b| b.iter(|| s.pingpong_sig(PINGPONG_N)));
    let t = tok::Tok::new(true);
    g.bench_function("tokio_localset_sig", |b| {
        b.iter(|| t.pingpong_sig(PINGPONG_N))
    });
    let sm = smol::Smol::new();
    g.bench_function("smol_local_sig", |b| b.iter(|| sm.pingpong_sig(PINGPONG_N)));
    let mut f = fut::Fut::new();
    g.bench_function("futures_localpool_sig", |b| {
        b.iter(|| f.pingpong_sig(PINGPONG_N))
    });
    g.finish();
}

fn yields(c: &mut Criterion) {
    let mut g = c.benchmark_group("yield");
    g.throughput(Throughput::Elements(YIELD_N as u64));

    let mut s = shim::Shim::new();
    g.bench_function("shimmer", |b| b.iter(|| s.yields(YIELD_N)));
    let t = tok::Tok::new(false);
    g.bench_function("tokio_spawn", |b| b.iter(|| t.yields(YIELD_N)));
    let t = tok::Tok::new(true);
    g.bench_function("tokio_localset", |b| b.iter(|| t.yields(YIELD_N)));
    let sm = smol::Smol::new();
    g.bench_function("smol_local", |b| b.iter(|| sm.yields(YIELD_N)));
    let mut f = fut::Fut::new();
    g.bench_function("futures_localpool", |b| b.iter(|| f.yields(YIELD_N)));
    g.finish();
}

fn yields_now(c: &mut Criterion) {
    let mut g = c.benchmark_group("yield_now");
    g.throughput(Throughput::Elements(YIELD_N as u64));

    let mut s = shim::Shim::new();
    g.bench_function("shimmer_yield_now", |b| b.iter(|| s.yields_now(YIELD_N)));
    let t = tok::Tok::new(false);
    g.bench_function("tokio_spawn_yield_now", |b| {
        b.iter(|| t.yields_now(YIELD_N))
    });
    let t = tok::Tok::new(true);
    g.bench_function("tokio_localset_yield_now", |b| {
        b.iter(|| t.yields_now(YIELD_N))
    });
    // Diagnostic, not a target: tokio without its I/O driver parks on a
    // condvar like shimmer's StdPark does.
    let t = tok::Tok::new_without_io(false);
    g.bench_function("tokio_spawn_yield_now_noio", |b| {
        b.iter(|| t.yields_now(YIELD_N))
    });
    g.finish();
}

fn timers(c: &mut Criterion) {
    let ds = timer_durations(TIMER_N);
    let mut g = c.benchmark_group("timers");
    g.sampling_mode(SamplingMode::Flat);
    g.measurement_time(Duration::from_secs(4));

    let mut s = shim::Shim::new();
    g.bench_function("shimmer_sleep", |b| b.iter(|| s.timers(&ds)));
    let t = tok::Tok::new(false);
    g.bench_function("tokio_spawn_sleep", |b| b.iter(|| t.timers(&ds)));
    let t = tok::Tok::new(true);
    g.bench_function("tokio_localset_sleep", |b| b.iter(|| t.timers(&ds)));
    let sm = smol::Smol::new();
    g.bench_function("smol_local_asyncio_timer", |b| b.iter(|| sm.timers(&ds)));
    let mut f = fut::Fut::new();
    g.bench_function("futures_localpool_asyncio_timer", |b| {
        b.iter(|| f.timers(&ds))
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30)
        .noise_threshold(0.05)
}

criterion_group! {
    name = benches;
    config = config();
    targets = spawn, pingpong, yields, yields_now, timers
}
criterion_main!(benches);
