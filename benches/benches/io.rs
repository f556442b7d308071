//! shimmer-io benches, each beside its peers in the same run:
//!
//! * `page_alloc_free`: a 4 KiB page from `PagePool` vs a 4 KiB-aligned
//!   `Box` (uninitialised, so no zeroing) vs `bytes::BytesMut::with_capacity(4096)`;
//!   one page at a time, and 64 held then all freed (`burst64`).
//! * `buf_slice_clone_drop` / `buf_split`: `shimmer_io::page::Buf` vs
//!   `bytes::Bytes` (shared representation, as after a `freeze`).
//! * `pipe_4k` / `pipe_64k`: 1 MiB through `shimmer_io::mem::pipe` in 4 KiB
//!   or 64 KiB messages (writer task + reading main future, shimmer's
//!   executor) vs `tokio::io::duplex` (same shape, tokio current_thread).
//!   shimmer's reader takes the pages (zero-copy); tokio's copies out.
//!
//! ```sh
//! cargo bench -p shimmer-benches --bench io                     # everything
//! cargo bench -p shimmer-benches --bench io -- page_alloc_free/  # one group
//! cargo bench -p shimmer-benches --bench io -- --test            # smoke
//! ```

use std::hint::black_box;
use std::mem::MaybeUninit;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use shimmer_io::page::{Buf, PagePool, PoolConfig, PAGE_SIZE};

/// A page the global allocator must align to 4 KiB.
#[repr(C, align(4096))]
struct Aligned([u8; PAGE_SIZE]);

const BURST: usize = 64;

fn page_alloc_free(c: &mut Criterion) {
    let mut g = c.benchmark_group("page_alloc_free");
    g.throughput(Throughput::Elements(1));

    let pool = PagePool::with_config(PoolConfig::new().initial_pages(BURST)).unwrap();
    g.bench_function("shimmer_pool", |b| {
        b.iter(|| {
            let mut page = pool.try_alloc().unwrap();
            page[0] = 1;
            black_box(&page);
        })
    });
    g.bench_function("box_aligned_4k", |b| {
        b.iter(|| {
            let mut page = Box::<Aligned>::new_uninit();
            // SAFETY: writes one byte inside the allocation.
            unsafe { page.as_mut_ptr().cast::<u8>().write(1) };
            black_box(&page);
        })
    });
    g.bench_function("bytes_mut_4k", |b| {
        b.iter(|| {
            let mut buf = BytesMut::with_capacity(PAGE_SIZE);
            buf.put_u8(1);
            black_box(&buf);
        })
    });
    g.finish();

    let mut g = c.benchmark_group("page_alloc_free_burst64");
    g.throughput(Throughput::Elements(BURST as u64));
    let mut held = Vec::with_capacity(BURST);
    g.bench_function("shimmer_pool", |b| {
        b.iter(|| {
            for _ in 0..BURST {
                let mut page = pool.try_alloc().unwrap();
                page[0] = 1;
                held.push(page);
            }
            black_box(&held);
            held.clear();
        })
    });
    let mut held: Vec<Box<MaybeUninit<Aligned>>> = Vec::with_capacity(BURST);
    g.bench_function("box_aligned_4k", |b| {
        b.iter(|| {
            for _ in 0..BURST {
                let mut page = Box::<Aligned>::new_uninit();
                // SAFETY: writes one byte inside the allocation.
                unsafe { page.as_mut_ptr().cast::<u8>().write(1) };
                held.push(page);
            }
            black_box(&held);
            held.clear();
        })
    });
    let mut held = Vec::with_capacity(BURST);
    g.bench_function("bytes_mut_4k", |b| {
        b.iter(|| {
            for _ in 0..BURST {
                let mut buf = BytesMut::with_capacity(PAGE_SIZE);
                buf.put_u8(1);
                held.push(buf);
            }
            black_box(&held);
            held.clear();
        })
    });
    g.finish();
}

/// A 1500-byte frame in each representation.
fn frames(pool: &PagePool) -> (Buf, Bytes) {
    let data: Vec<u8> = (0..1500u32).map(|i| i as u8).collect();
    let buf = pool.buf_from(&data).unwrap();
    let mut m = BytesMut::with_capacity(PAGE_SIZE);
    m.extend_from_slice(&data);
    let bytes = m.freeze();
    // Make sure `bytes` is in its shared (reference-counted) form.
    drop(bytes.clone());
    (buf, bytes)
}

fn buf_ops(c: &mut Criterion) {
    let pool = PagePool::new();
    let (buf, bytes) = frames(&pool);

    let mut g = c.benchmark_group("buf_slice_clone_drop");
    g.throughput(Throughput::Elements(1));
    g.bench_function("shimmer_buf", |b| {
        b.iter(|| {
            let s = black_box(&buf).slice(14..1000);
            let c = s.clone();
            black_box((&s, &c));
        })
    });
    g.bench_function("bytes", |b| {
        b.iter(|| {
            let s = black_box(&bytes).slice(14..1000);
            let c = s.clone();
            black_box((&s, &c));
        })
    });
    g.finish();

    let mut g = c.benchmark_group("buf_split");
    g.throughput(Throughput::Elements(1));
    g.bench_function("shimmer_buf", |b| {
        b.iter(|| {
            let mut rest = black_box(&buf).clone();
            let eth = rest.split_to(14);
            let ip = rest.split_to(20);
            let tail = rest.split_off(1000);
            black_box((&eth, &ip, &rest, &tail));
        })
    });
    g.bench_function("bytes", |b| {
        b.iter(|| {
            let mut rest = black_box(&bytes).clone();
            let eth = rest.split_to(14);
            let ip = rest.split_to(20);
            let tail = rest.split_off(1000);
            black_box((&eth, &ip, &rest, &tail));
        })
    });
    g.finish();
}

const PIPE_TOTAL: usize = 1 << 20;
const PIPE_CAPACITY: usize = 64 * 1024;

fn pipe(c: &mut Criterion) {
    use shimmer_executor::{spawn, Executor, StdPark};
    use shimmer_io::flow::Flow;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let pool = PagePool::with_config(PoolConfig::new().initial_pages(64)).unwrap();
    let mut ex = Executor::new(StdPark::new());
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    for msg in [4096usize, 64 * 1024] {
        let mut g = c.benchmark_group(format!("pipe_{}k", msg / 1024));
        g.throughput(Throughput::Bytes(PIPE_TOTAL as u64));
        let message: std::sync::Arc<[u8]> = vec![0x5au8; msg].into();

        g.bench_function("shimmer_mem_pipe", |b| {
            b.iter(|| {
                let (tx, rx) = shimmer_io::mem::pipe_with_pool(pool.clone(), PIPE_CAPACITY);
                let message = message.clone();
                ex.block_on(async move {
                    let writer = spawn(async move {
                        for _ in 0..PIPE_TOTAL / message.len() {
                            tx.write(&message).await.unwrap();
                        }
                    });
                    let mut got = 0;
                    while got < PIPE_TOTAL {
                        got += rx.read().await.unwrap().unwrap().len();
                    }
                    writer.await.unwrap();
                    black_box(got)
                })
            })
        });
        g.bench_function("tokio_duplex", |b| {
            b.iter(|| {
                let (mut tx, mut rx) = tokio::io::duplex(PIPE_CAPACITY);
                let message = message.clone();
                rt.block_on(async move {
                    let writer = tokio::spawn(async move {
                        for _ in 0..PIPE_TOTAL / message.len() {
                            tx.write_all(&message).await.unwrap();
                        }
                    });
                    let mut buf = vec![0u8; 64 * 1024];
                    let mut got = 0;
                    while got < PIPE_TOTAL {
                        got += rx.read(&mut buf).await.unwrap();
                    }
                    writer.await.unwrap();
                    black_box(got)
                })
            })
        });
        g.finish();
    }
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
    targets = page_alloc_free, buf_ops, pipe
}
criterion_main!(benches);
