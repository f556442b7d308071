//! The hot path allocates nothing: request/response round trips over a TCP
//! connection (`write`, `read` into a pool page, `write_buf`, `read_into`,
//! `writev`, `write_chain`), with both ends waiting for readiness in
//! between, make no call to the global allocator once warmed up. Counted by
//! a global allocator that counts this thread's calls (a test binary of its
//! own, so that no other test is measured).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use shimmer_executor::{spawn, timeout};
use shimmer_io::flow::Flow;
use shimmer_io::page::{BufChain, PagePool};
use shimmer_unix::net::{TcpListener, TcpStream};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn note() {
    // `try_with`: the allocator may run while thread locals are torn down.
    let _ = COUNTING.try_with(|on| {
        if on.get() {
            let _ = ALLOCS.try_with(|n| n.set(n.get() + 1));
        }
    });
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the counting touches only const-initialised
// thread locals, which never allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note();
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded with the caller's guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by this thread while `f` runs.
async fn allocations_during<F: std::future::Future>(f: F) -> (F::Output, u64) {
    ALLOCS.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    let out = f.await;
    COUNTING.with(|c| c.set(false));
    (out, ALLOCS.with(Cell::get))
}

const MSG: &[u8] = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The client's side of `n` round trips, each with another write form.
async fn client(c: &TcpStream, pool: &PagePool, n: usize) {
    let mut buf = [0u8; 256];
    for i in 0..n {
        match i % 4 {
            0 => c.write(MSG).await.unwrap(),
            1 => c.writev(&[&MSG[..10], &MSG[10..]]).await.unwrap(),
            2 => c.write_buf(pool.buf_from(MSG).unwrap()).await.unwrap(),
            _ => {
                let chain: BufChain = pool.chain_from(MSG).unwrap();
                c.write_chain(chain).await.unwrap()
            }
        }
        let mut got = 0;
        while got < MSG.len() {
            let k = c.read_into(&mut buf[got..]).await.unwrap();
            assert!(k > 0, "early end of stream");
            got += k;
        }
        assert_eq!(&buf[..got], MSG);
    }
}

#[test]
fn round_trips_allocate_nothing() {
    shimmer_unix::block_on(async {
        timeout(Duration::from_secs(10), async {
            let pool = PagePool::current();
            let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
            let listener = TcpListener::bind(any).unwrap();
            let c = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (s, _) = listener.accept().await.unwrap();
            let echoed = Rc::new(Cell::new(0usize));
            let server = spawn({
                let echoed = echoed.clone();
                async move {
                    while let Some(buf) = s.read().await.unwrap() {
                        echoed.set(echoed.get() + buf.len());
                        s.write_buf(buf).await.unwrap();
                    }
                }
            });
            // The counter counts.
            let (b, n) = allocations_during(async { Box::new(7u64) }).await;
            assert!(n >= 1 && *b == 7, "the counting allocator works");
            // Warm up: the pool's first chunk, the reactor's events buffer.
            client(&c, &pool, 100).await;
            let ((), allocs) = allocations_during(client(&c, &pool, 2000)).await;
            assert_eq!(
                allocs, 0,
                "allocations in 2000 round trips (client and server task, both waiting for readiness)"
            );
            assert_eq!(echoed.get(), 2100 * MSG.len());
            c.close().await.unwrap();
            server.await.unwrap();
        })
        .await
        .expect("the test hung")
    })
    .unwrap();
}
