//! The [`Flow`] suite.

use alloc::rc::Rc;
use alloc::vec::Vec;
use core::future::Future;
use core::task::{Context, Poll, Waker};
use core::time::Duration;

use shimmer_executor::{sleep, spawn};

use super::support::{
    bounded, cancel_after, cancel_points, check, check_no_leak, pattern, suite_pool, Outcome,
};
use crate::flow::{Flow, Shutdown};
use crate::page::{BufChain, PagePool};
use crate::Error;

const S: &str = "flow";

/// Checks every [`Flow`] contract on pairs made by `make_pair(pool)`: two
/// connected ends whose pages come from `pool`. Data both ways, full
/// duplex, every write form, end of stream, shutdown, close, errors after
/// the peer is gone (never a hang), and cancellation of `read`,
/// `read_into`, `write` and `write_buf` at each of their await points.
///
/// # Panics
/// On the first broken contract, naming it.
pub async fn flow<A, B, M, Fut>(mut make_pair: M)
where
    A: Flow + 'static,
    B: Flow + 'static,
    M: FnMut(PagePool) -> Fut,
    Fut: Future<Output = (A, B)>,
{
    let pool = suite_pool();
    macro_rules! case {
        ($name:expr, $body:expr) => {{
            let (a, b) = make_pair(pool.clone()).await;
            bounded(S, $name, $body(Rc::new(a), Rc::new(b), pool.clone())).await;
            check_no_leak(S, $name, &pool).await;
        }};
    }
    case!("transfer", transfer);
    case!("write forms", write_forms);
    case!("read_into", read_into);
    case!("end of stream", end_of_stream);
    case!("close", close);
    case!("shutdown read", shutdown_read);
    case!("blocked reader woken", blocked_reader);
    case!("blocked writer woken", blocked_writer);
    cancel_reads(&mut make_pair, &pool).await;
    cancel_writes(&mut make_pair, &pool).await;
}

/// Reads everything until end of stream; checks no `Buf` is empty.
async fn read_all<F: Flow>(case: &str, f: &F) -> Vec<u8> {
    let mut all = Vec::new();
    loop {
        match f.read().await {
            Ok(Some(buf)) => {
                check!(S, case, !buf.is_empty(), "read returned an empty Buf");
                all.extend_from_slice(&buf);
            }
            Ok(None) => return all,
            Err(e) => super::support::fail(S, case, format_args!("read failed: {e}")),
        }
    }
}

const SIZES: [usize; 7] = [1, 100, 4095, 4096, 4097, 65_536, 200_000];

async fn transfer<A: Flow + 'static, B: Flow + 'static>(a: Rc<A>, b: Rc<B>, _: PagePool) {
    // Both directions at once (full duplex).
    let (a2, b2) = (a.clone(), b.clone());
    let reverse_writer = spawn(async move {
        for (i, &n) in SIZES.iter().enumerate() {
            b2.write(&pattern(100 + i as u8, n))
                .await
                .expect("write b→a");
        }
        b2.shutdown(Shutdown::Write).await.expect("shutdown b");
    });
    let reverse_reader = spawn(async move { read_all("transfer", &*a2).await });
    let reader = spawn({
        let b = b.clone();
        async move { read_all("transfer", &*b).await }
    });
    let mut expect = Vec::new();
    for (i, &n) in SIZES.iter().enumerate() {
        let data = pattern(i as u8, n);
        a.write(&data).await.expect("write a→b");
        expect.extend_from_slice(&data);
    }
    a.shutdown(Shutdown::Write).await.expect("shutdown a");
    let got = reader.await.expect("reader task");
    check!(
        S,
        "transfer",
        got == expect,
        "a→b: {} bytes arrived, {} sent, or they differ",
        got.len(),
        expect.len()
    );
    reverse_writer.await.expect("writer task");
    let back = reverse_reader.await.expect("reader task");
    let mut expect = Vec::new();
    for (i, &n) in SIZES.iter().enumerate() {
        expect.extend_from_slice(&pattern(100 + i as u8, n));
    }
    check!(S, "transfer", back == expect, "b→a: bytes differ");
}

async fn write_forms<A: Flow + 'static, B: Flow + 'static>(a: Rc<A>, b: Rc<B>, pool: PagePool) {
    let reader = spawn(async move { read_all("write forms", &*b).await });
    let mut expect = Vec::new();
    let p1 = pattern(1, 5000);
    let p2 = pattern(2, 300);
    a.writev(&[&p1, b"", &p2]).await.expect("writev");
    expect.extend_from_slice(&p1);
    expect.extend_from_slice(&p2);
    let p3 = pattern(3, 4096);
    a.write_buf(pool.buf_from(&p3).expect("page"))
        .await
        .expect("write_buf");
    expect.extend_from_slice(&p3);
    let p4 = pattern(4, 10_000);
    let chain: BufChain = pool.chain_from(&p4).expect("pages");
    a.write_chain(chain).await.expect("write_chain");
    expect.extend_from_slice(&p4);
    a.write(b"").await.expect("an empty write");
    a.write_buf(pool.buf_from(b"").expect("page"))
        .await
        .expect("an empty write_buf");
    a.close().await.expect("close");
    let got = reader.await.expect("reader task");
    check!(
        S,
        "write forms",
        got == expect,
        "writev/write_buf/write_chain: bytes differ"
    );
}

async fn read_into<A: Flow + 'static, B: Flow + 'static>(a: Rc<A>, b: Rc<B>, _: PagePool) {
    let data = pattern(9, 20_000);
    let writer = spawn({
        let data = data.clone();
        async move {
            a.write(&data).await.expect("write");
            a.close().await.expect("close");
        }
    });
    // An empty buffer answers at once, without waiting for data.
    {
        let mut empty = core::pin::pin!(b.read_into(&mut []));
        let polled = empty.as_mut().poll(&mut Context::from_waker(Waker::noop()));
        check!(
            S,
            "read_into",
            matches!(polled, Poll::Ready(Ok(0))),
            "read_into(&mut []) must be Ready(Ok(0)) at once"
        );
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 777];
    loop {
        let n = b.read_into(&mut buf).await.expect("read_into");
        if n == 0 {
            break;
        }
        check!(
            S,
            "read_into",
            n <= buf.len(),
            "read_into claimed {n} bytes of {}",
            buf.len()
        );
        got.extend_from_slice(&buf[..n]);
    }
    writer.await.expect("writer task");
    check!(S, "read_into", got == data, "bytes differ");
    check!(
        S,
        "read_into",
        b.read_into(&mut buf).await == Ok(0),
        "EOF must stay EOF"
    );
}

/// Reads everything until end of stream in a task of its own, so that a
/// writer never waits on a reader that waits on it (a flow may buffer as
/// little as one byte).
fn reader<F: Flow + 'static>(
    case: &'static str,
    f: &Rc<F>,
) -> shimmer_executor::JoinHandle<Vec<u8>> {
    let f = f.clone();
    spawn(async move { read_all(case, &*f).await })
}

async fn end_of_stream<A: Flow + 'static, B: Flow + 'static>(a: Rc<A>, b: Rc<B>, _: PagePool) {
    let case = "end of stream";
    let from_a = reader(case, &b);
    a.write(b"before").await.expect("write");
    a.shutdown(Shutdown::Write).await.expect("shutdown(Write)");
    a.shutdown(Shutdown::Write)
        .await
        .expect("shutdown(Write) twice");
    let w = a.write(b"after").await;
    check!(
        S,
        case,
        w == Err(Error::Closed),
        "write after shutdown(Write): {w:?}, want Closed"
    );
    let got = from_a.await.expect("reader task");
    check!(S, case, got == b"before", "data before EOF");
    for _ in 0..3 {
        let r = b.read().await;
        check!(
            S,
            case,
            matches!(r, Ok(None)),
            "read after EOF: {r:?}, want Ok(None) again"
        );
    }
    // Half-closed: the other direction still works.
    let from_b = reader(case, &a);
    b.write(b"still open").await.expect("write back");
    b.close().await.expect("close b");
    let back = from_b.await.expect("reader task");
    check!(
        S,
        case,
        back == b"still open",
        "the other direction after a half-close"
    );
}

async fn close<A: Flow + 'static, B: Flow + 'static>(a: Rc<A>, b: Rc<B>, _: PagePool) {
    let case = "close";
    let from_a = reader(case, &b);
    a.write(b"bye").await.expect("write");
    a.close().await.expect("close");
    check!(S, case, a.close().await.is_ok(), "close twice must be Ok");
    let r = a.read().await;
    check!(
        S,
        case,
        matches!(r, Err(Error::Closed)),
        "read after close: {r:?}, want Closed"
    );
    let w = a.write(b"x").await;
    check!(
        S,
        case,
        w == Err(Error::Closed),
        "write after close: {w:?}, want Closed"
    );
    let got = from_a.await.expect("reader task");
    check!(S, case, got == b"bye", "the peer reads the data, then EOF");
    // Writing to a closed peer fails (maybe not on the very first write, as
    // with TCP) and never hangs.
    for attempt in 0..100 {
        match b.write(&[0; 1024]).await {
            Ok(()) => sleep(Duration::from_millis(1)).await,
            Err(Error::BrokenPipe | Error::Reset) => return,
            Err(e) => super::support::fail(
                S,
                case,
                format_args!(
                    "write to a closed peer: {e}, want BrokenPipe or Reset (attempt {attempt})"
                ),
            ),
        }
    }
    super::support::fail(
        S,
        case,
        format_args!("100 writes to a closed peer succeeded"),
    );
}

async fn shutdown_read<A: Flow + 'static, B: Flow + 'static>(a: Rc<A>, b: Rc<B>, _: PagePool) {
    let case = "shutdown read";
    b.shutdown(Shutdown::Read).await.expect("shutdown(Read)");
    let r = b.read().await;
    check!(
        S,
        case,
        matches!(r, Ok(None)),
        "read after shutdown(Read): {r:?}, want Ok(None)"
    );
    // The peer's writes fail or are discarded; they never hang.
    for _ in 0..100 {
        match a.write(&[1; 1024]).await {
            Ok(()) => sleep(Duration::from_millis(1)).await,
            Err(Error::BrokenPipe | Error::Reset) => break,
            Err(e) => super::support::fail(
                S,
                case,
                format_args!("peer write after shutdown(Read): {e}"),
            ),
        }
    }
    // b can still write.
    let from_b = reader(case, &a);
    b.write(b"one way")
        .await
        .expect("write after shutdown(Read)");
    b.shutdown(Shutdown::Write).await.expect("shutdown(Write)");
    let got = from_b.await.expect("reader task");
    check!(
        S,
        case,
        got == b"one way",
        "the write direction after shutdown(Read)"
    );
}

async fn blocked_reader<A: Flow + 'static, B: Flow + 'static>(a: Rc<A>, b: Rc<B>, _: PagePool) {
    let reader = spawn(async move { b.read().await.map(|r| r.map(|buf| buf.len())) });
    sleep(Duration::from_millis(2)).await;
    a.close().await.expect("close");
    let r = reader.await.expect("reader task");
    check!(
        S,
        "blocked reader woken",
        matches!(r, Ok(None)),
        "a reader waiting when the peer closed got {r:?}, want Ok(None)"
    );
}

async fn blocked_writer<A: Flow + 'static, B: Flow + 'static>(a: Rc<A>, b: Rc<B>, _: PagePool) {
    let case = "blocked writer woken";
    let big = pattern(5, 1 << 20);
    let writer = spawn(async move {
        for _ in 0..16 {
            // 16 MiB nobody reads: this blocks on any real flow.
            a.write(&big).await?;
        }
        Ok::<(), Error>(())
    });
    sleep(Duration::from_millis(5)).await;
    check!(
        S,
        case,
        Rc::strong_count(&b) == 1,
        "the suite holds the only reference to b"
    );
    drop(b);
    match writer.await.expect("writer task") {
        Ok(()) | Err(Error::BrokenPipe | Error::Reset) => {}
        Err(e) => super::support::fail(S, case, format_args!("{e}, want BrokenPipe or Reset")),
    }
}

/// Cancels `read` and `read_into` at each await point: nothing consumed.
async fn cancel_reads<A, B, M, Fut>(make_pair: &mut M, pool: &PagePool)
where
    A: Flow + 'static,
    B: Flow + 'static,
    M: FnMut(PagePool) -> Fut,
    Fut: Future<Output = (A, B)>,
{
    for into in [false, true] {
        let case = if into {
            "cancel read_into"
        } else {
            "cancel read"
        };
        let mut completed = false;
        for k in cancel_points() {
            let (a, b) = make_pair(pool.clone()).await;
            let writer = spawn(async move {
                sleep(Duration::from_millis(1)).await;
                a.write(b"not lost").await.expect("write");
                a.close().await.expect("close");
            });
            let mut buf = [0u8; 64];
            let mut got = Vec::new();
            let outcome = bounded(S, case, async {
                if into {
                    match cancel_after(k, b.read_into(&mut buf)).await {
                        Outcome::Done(r) => Outcome::Done(r.map(|n| buf[..n].to_vec())),
                        Outcome::Cancelled => Outcome::Cancelled,
                    }
                } else {
                    match cancel_after(k, b.read()).await {
                        Outcome::Done(r) => {
                            Outcome::Done(r.map(|b| b.map(|b| b.to_vec()).unwrap_or_default()))
                        }
                        Outcome::Cancelled => Outcome::Cancelled,
                    }
                }
            })
            .await;
            let done = match outcome {
                Outcome::Done(r) => {
                    let first = r.expect("read");
                    check!(
                        S,
                        case,
                        !first.is_empty(),
                        "a read before EOF returned no data"
                    );
                    got.extend_from_slice(&first);
                    true
                }
                Outcome::Cancelled => false,
            };
            // Nothing was consumed by a dropped read: all of it is still there.
            got.extend_from_slice(&bounded(S, case, read_all(case, &b)).await);
            bounded(S, case, writer).await.expect("writer task");
            check!(
                S,
                case,
                got == b"not lost",
                "after dropping a read at await point {k}: got {:?}, want all of \"not lost\"",
                got
            );
            drop(b);
            check_no_leak(S, case, pool).await;
            if done {
                completed = true;
                break;
            }
        }
        check!(
            S,
            case,
            completed,
            "the operation never completed (2^20 polls)"
        );
    }
}

/// Cancels `write` and `write_buf` at each await point: the peer reads a
/// prefix of the data, then what is written next; the flow works on.
async fn cancel_writes<A, B, M, Fut>(make_pair: &mut M, pool: &PagePool)
where
    A: Flow + 'static,
    B: Flow + 'static,
    M: FnMut(PagePool) -> Fut,
    Fut: Future<Output = (A, B)>,
{
    for as_buf in [false, true] {
        let case = if as_buf {
            "cancel write_buf"
        } else {
            "cancel write"
        };
        let data = pattern(7, if as_buf { 4096 } else { 100_000 });
        let tail = b"<after the cancelled write>";
        let mut completed = false;
        for k in cancel_points() {
            let (a, b) = make_pair(pool.clone()).await;
            let b = Rc::new(b);
            let reader = spawn({
                let b = b.clone();
                async move { read_all("cancel write", &*b).await }
            });
            let outcome = bounded(S, case, async {
                if as_buf {
                    let buf = pool.buf_from(&data).expect("page");
                    cancel_after(k, a.write_buf(buf)).await
                } else {
                    cancel_after(k, a.write(&data)).await
                }
            })
            .await;
            bounded(S, case, a.write(tail))
                .await
                .expect("write after a cancelled write");
            a.close().await.expect("close");
            let got = bounded(S, case, reader).await.expect("reader task");
            let done = match outcome {
                Outcome::Done(r) => {
                    r.expect("write");
                    let mut expect = data.clone();
                    expect.extend_from_slice(tail);
                    check!(S, case, got == expect, "bytes differ");
                    true
                }
                Outcome::Cancelled => {
                    let ok = got.len() >= tail.len() && got.ends_with(tail) && {
                        let prefix = &got[..got.len() - tail.len()];
                        prefix.len() <= data.len() && prefix == &data[..prefix.len()]
                    };
                    check!(S, case, ok, "after dropping a write at await point {k}, the peer must read a prefix of its data then the next write ({} bytes read)", got.len());
                    false
                }
            };
            drop((a, b));
            check_no_leak(S, case, pool).await;
            if done {
                completed = true;
                break;
            }
        }
        check!(
            S,
            case,
            completed,
            "the operation never completed (2^20 polls)"
        );
    }
}
