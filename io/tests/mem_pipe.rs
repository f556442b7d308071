//! `mem::pipe`: data, end of stream, errors, wake-ups and cancellation.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use shimmer_executor::{block_on, spawn, timeout};
use shimmer_io::flow::{Flow, Shutdown};
use shimmer_io::mem::{pipe, pipe_with_pool};
use shimmer_io::page::{PagePool, PoolConfig};
use shimmer_io::Error;

/// Polls `f` once with a waker that does nothing.
fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

/// Fails instead of hanging.
async fn bounded<F: Future>(f: F) -> F::Output {
    timeout(Duration::from_secs(10), f).await.expect("hung")
}

#[test]
fn a_megabyte_through_a_small_pipe() {
    let pool = PagePool::new();
    block_on(async {
        let (a, b) = pipe_with_pool(pool.clone(), 3000);
        let data: Vec<u8> = (0..1 << 20)
            .map(|i: u32| (i * 7 + i / 4096) as u8)
            .collect();
        let expect = data.clone();
        let writer = spawn(async move {
            for piece in data.chunks(10_000) {
                a.write(piece).await?;
            }
            a.close().await
        });
        let mut got = Vec::new();
        while let Some(buf) = bounded(b.read()).await.unwrap() {
            assert!(!buf.is_empty());
            assert!(buf.len() <= 3000, "never more than the capacity");
            got.extend_from_slice(&buf);
        }
        writer.await.unwrap().unwrap();
        assert!(got == expect);
        assert_eq!(b.read().await.unwrap(), None, "EOF stays EOF");
        assert_eq!(b.read_into(&mut [0; 8]).await.unwrap(), 0);
    });
    assert_eq!(pool.stats().in_use, 0, "every page came back");
}

#[test]
fn write_buf_is_zero_copy_and_read_into_copies() {
    let pool = PagePool::new();
    block_on(async {
        let (a, b) = pipe_with_pool(pool.clone(), 1 << 16);
        let buf = pool.buf_from(b"zero copy").unwrap();
        let addr = buf.as_ptr();
        a.write_buf(buf).await.unwrap();
        let got = b.read().await.unwrap().unwrap();
        assert_eq!(got.as_ptr(), addr, "the reader gets the writer's page");
        assert_eq!(got, *b"zero copy");

        a.writev(&[b"ab", b"", b"cdef"]).await.unwrap();
        let mut small = [0u8; 3];
        assert_eq!(b.read_into(&mut small).await.unwrap(), 2);
        assert_eq!(b.read_into(&mut small).await.unwrap(), 3);
        assert_eq!(&small, b"cde");
        assert_eq!(
            b.read_into(&mut []).await.unwrap(),
            0,
            "empty buffer: at once"
        );
        assert_eq!(b.read_into(&mut small).await.unwrap(), 1);
        assert_eq!(small[0], b'f');
    });
    assert_eq!(pool.stats().in_use, 0);
}

#[test]
fn write_buf_larger_than_capacity_is_split() {
    block_on(async {
        let pool = PagePool::current();
        let (a, b) = pipe(100);
        let big = pool.buf_from(&[9u8; 250]).unwrap();
        let writer = spawn(async move { a.write_buf(big).await });
        let mut total = 0;
        while total < 250 {
            let buf = b.read().await.unwrap().unwrap();
            assert!(buf.len() <= 100);
            assert!(buf.iter().all(|&x| x == 9));
            total += buf.len();
        }
        writer.await.unwrap().unwrap();
    });
}

#[test]
fn errors_after_close_and_shutdown() {
    block_on(async {
        let (a, b) = pipe(1024);
        a.write(b"last words").await.unwrap();
        a.shutdown(Shutdown::Write).await.unwrap();
        a.shutdown(Shutdown::Write).await.unwrap();
        assert_eq!(a.write(b"x").await.unwrap_err(), Error::Closed);
        assert_eq!(a.write(b"").await.unwrap_err(), Error::Closed);
        // b reads the data, then EOF, and can still write back.
        assert_eq!(b.read().await.unwrap().unwrap(), *b"last words");
        assert_eq!(b.read().await.unwrap(), None);
        b.write(b"reply").await.unwrap();
        assert_eq!(a.read().await.unwrap().unwrap(), *b"reply");

        a.shutdown(Shutdown::Read).await.unwrap();
        assert_eq!(
            a.read().await.unwrap(),
            None,
            "reads after shutdown(Read): EOF"
        );
        assert_eq!(b.write(b"ignored").await.unwrap_err(), Error::BrokenPipe);

        a.close().await.unwrap();
        a.close().await.unwrap();
        assert_eq!(a.read().await.unwrap_err(), Error::Closed);
        assert_eq!(a.write(b"x").await.unwrap_err(), Error::Closed);
        assert_eq!(a.shutdown(Shutdown::Both).await.unwrap_err(), Error::Closed);
    });
}

#[test]
fn a_blocked_writer_is_woken_by_the_peer_closing() {
    block_on(async {
        let (a, b) = pipe(16);
        let writer = spawn(async move { a.write(&[1; 1000]).await });
        shimmer_executor::sleep(Duration::from_millis(2)).await;
        assert_eq!(b.read().await.unwrap().unwrap().len(), 16);
        drop(b);
        let r = bounded(writer).await.unwrap();
        assert_eq!(r.unwrap_err(), Error::BrokenPipe);
    });
}

#[test]
fn a_blocked_reader_is_woken_by_eof_and_by_reset() {
    block_on(async {
        let (a, b) = pipe(16);
        let reader = spawn(async move { b.read().await });
        shimmer_executor::sleep(Duration::from_millis(1)).await;
        drop(a);
        assert_eq!(bounded(reader).await.unwrap().unwrap(), None);

        let (a, b) = pipe(16);
        a.write(b"lost").await.unwrap();
        let reader = spawn(async move { (b.read().await, b.read().await, b.write(b"x").await) });
        shimmer_executor::sleep(Duration::from_millis(1)).await;
        a.reset();
        let (first, second, write) = bounded(reader).await.unwrap();
        assert_eq!(
            first.unwrap().unwrap(),
            *b"lost",
            "data read before the reset"
        );
        assert_eq!(second.unwrap_err(), Error::Reset);
        assert_eq!(write.unwrap_err(), Error::Reset);
    });
}

#[test]
fn a_dropped_read_consumes_nothing() {
    let pool = PagePool::new();
    block_on(async {
        let (a, b) = pipe_with_pool(pool.clone(), 64);
        {
            let mut read = pin!(b.read());
            assert!(poll_once(read.as_mut()).is_pending());
        }
        {
            let mut buf = [0u8; 4];
            let mut read = pin!(b.read_into(&mut buf));
            assert!(poll_once(read.as_mut()).is_pending());
        }
        a.write(b"kept").await.unwrap();
        assert_eq!(b.read().await.unwrap().unwrap(), *b"kept");
    });
    assert_eq!(pool.stats().in_use, 0);
}

#[test]
fn a_dropped_write_wrote_a_prefix_and_the_pipe_works() {
    let pool = PagePool::new();
    block_on(async {
        let (a, b) = pipe_with_pool(pool.clone(), 10);
        let data: Vec<u8> = (0..100).collect();
        {
            let mut write = pin!(a.write(&data));
            assert!(
                poll_once(write.as_mut()).is_pending(),
                "full after 10 bytes"
            );
        }
        assert_eq!(a.queued(), 10);
        let got = b.read().await.unwrap().unwrap();
        assert_eq!(got, data[..10], "a prefix");
        drop(got);
        a.write(b"after").await.unwrap();
        assert_eq!(b.read().await.unwrap().unwrap(), *b"after");
    });
    assert_eq!(pool.stats().in_use, 0);
}

#[test]
fn pool_exhaustion_is_an_error() {
    let pool = PagePool::with_config(PoolConfig::new().chunk_pages(1).max_pages(2)).unwrap();
    block_on(async {
        let (a, b) = pipe_with_pool(pool.clone(), 1 << 20);
        a.write(&[0; 8192]).await.unwrap();
        assert_eq!(a.write(b"more").await.unwrap_err(), Error::PoolExhausted);
        drop(b.read().await.unwrap());
        a.write(b"more").await.unwrap();
    });
}
