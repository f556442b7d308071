//! The adapters: Flow ⇄ embedded-io-async and Flow ⇄ futures-io, with an
//! ecosystem crate (futures-lite) running a protocol over shimmer flows.

use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use embedded_io_async::{BufRead, ErrorKind, Read, Write};
use futures_lite::io::BufReader;
use futures_lite::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, StreamExt};
use shimmer_executor::{block_on, spawn};
use shimmer_io::adapter::{EmbeddedFlow, FlowIo, FuturesFlow, FuturesIo};
use shimmer_io::flow::{Flow, Shutdown};
use shimmer_io::mem::{pipe, pipe_with_pool};
use shimmer_io::page::PagePool;
use shimmer_io::{conformance, Error};

fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

#[test]
fn flow_as_embedded_io() {
    let pool = PagePool::new();
    block_on(async {
        let (a, b) = pipe_with_pool(pool.clone(), 1 << 16);
        let (mut a, mut b) = (FlowIo::new(a), FlowIo::new(b));
        a.write_all(b"hello embedded").await.unwrap();
        a.flush().await.unwrap();
        // BufRead lends the flow's own page.
        let first = b.fill_buf().await.unwrap();
        assert_eq!(first, b"hello embedded");
        b.consume(6);
        let mut rest = [0u8; 8];
        b.read_exact(&mut rest).await.unwrap();
        assert_eq!(&rest, b"embedded");
        a.get_ref().close().await.unwrap();
        assert_eq!(b.read(&mut rest).await.unwrap(), 0, "EOF is Ok(0)");
        assert!(b.fill_buf().await.unwrap().is_empty());
        assert!(matches!(
            b.read_exact(&mut rest).await,
            Err(embedded_io_async::ReadExactError::UnexpectedEof)
        ));
        let e = a.write(b"x").await.unwrap_err();
        assert_eq!(embedded_io_async::Error::kind(&e), ErrorKind::NotConnected);
    });
    assert_eq!(pool.stats().in_use, 0);
}

#[test]
fn embedded_io_as_flow() {
    let pool = PagePool::new();
    block_on(async {
        let (a, b) = pipe_with_pool(pool.clone(), 1 << 16);
        let a = Rc::new(EmbeddedFlow::new(FlowIo::new(a), pool.clone()));
        let data: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
        let reader = spawn(async move {
            let mut got = Vec::new();
            while let Some(buf) = b.read().await.unwrap() {
                got.extend_from_slice(&buf);
            }
            (got, b)
        });
        a.write(&data).await.unwrap();
        a.write_buf(pool.buf_from(b"!").unwrap()).await.unwrap();
        // The peer learns of the end only from the inner flow.
        let inner = Rc::try_unwrap(a).unwrap().into_inner().unwrap();
        inner.get_ref().close().await.unwrap();
        let (got, b) = reader.await.unwrap();
        assert_eq!(got.len(), data.len() + 1);
        assert!(got[..data.len()] == data[..]);

        // Reads, EOF, cancellation (the stream is not lost), close.
        let (c, d) = pipe_with_pool(pool.clone(), 1 << 16);
        let c = EmbeddedFlow::new(FlowIo::new(c), pool.clone());
        {
            let mut read = pin!(c.read());
            assert!(poll_once(read.as_mut()).is_pending());
        }
        d.write(b"after a dropped read").await.unwrap();
        assert_eq!(c.read().await.unwrap().unwrap(), *b"after a dropped read");
        d.close().await.unwrap();
        assert!(c.read().await.unwrap().is_none());
        assert_eq!(c.read_into(&mut [0; 4]).await.unwrap(), 0);
        c.shutdown(Shutdown::Write).await.unwrap();
        assert_eq!(c.write(b"x").await.unwrap_err(), Error::Closed);
        c.close().await.unwrap();
        assert_eq!(c.read().await.unwrap_err(), Error::Closed);
        drop(b);
    });
    assert_eq!(pool.stats().in_use, 0);
}

/// futures-lite's line reader and writer run a tiny protocol over shimmer
/// flows: the client sends lines, the server answers each upper-cased.
#[test]
fn futures_lite_runs_a_line_protocol_over_flows() {
    let pool = PagePool::new();
    block_on(async {
        let _guard = pool.enter();
        let (client, server) = pipe(100); // small: forces many partial reads and writes
        let server = spawn(async move {
            let io = FuturesIo::new(server);
            let (reader, mut writer) = futures_lite::io::split(io);
            let mut lines = BufReader::new(reader).lines();
            let mut served = 0;
            while let Some(line) = lines.next().await {
                let line = line?;
                writer.write_all(line.to_uppercase().as_bytes()).await?;
                writer.write_all(b"\n").await?;
                served += 1;
            }
            writer.close().await?;
            Ok::<_, std::io::Error>(served)
        });
        let client = FuturesIo::new(client);
        let (mut reader, mut writer) = futures_lite::io::split(client);
        let sender = spawn(async move {
            for i in 0..200 {
                writer
                    .write_all(format!("line number {i} from the client\n").as_bytes())
                    .await?;
            }
            writer.close().await
        });
        let mut answers = String::new();
        reader.read_to_string(&mut answers).await.unwrap();
        sender.await.unwrap().unwrap();
        assert_eq!(server.await.unwrap().unwrap(), 200);
        let lines: Vec<&str> = answers.lines().collect();
        assert_eq!(lines.len(), 200);
        assert_eq!(lines[199], "LINE NUMBER 199 FROM THE CLIENT");
    });
    assert_eq!(pool.stats().in_use, 0);
}

/// futures-lite's `copy` relays a megabyte from one flow to another.
#[test]
fn futures_lite_copy_between_flows() {
    block_on(async {
        let (a, b) = pipe(8192);
        let (c, d) = pipe(8192);
        let data: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
        let expect = data.clone();
        let source = spawn(async move {
            a.write(&data).await.unwrap();
            a.close().await.unwrap();
        });
        let relay = spawn(async move {
            let mut from = FuturesIo::new(b);
            let mut to = FuturesIo::new(c);
            let n = futures_lite::io::copy(&mut from, &mut to).await?;
            to.close().await?;
            Ok::<_, std::io::Error>(n)
        });
        let mut got = Vec::new();
        FuturesIo::new(d).read_to_end(&mut got).await.unwrap();
        source.await.unwrap();
        assert_eq!(relay.await.unwrap().unwrap(), 1 << 20);
        assert!(got == expect);
    });
}

/// Flow → futures-io → Flow passes the whole flow suite.
#[test]
fn futures_round_trip_passes_the_flow_suite() {
    block_on(conformance::flow(|pool| async move {
        let (a, b) = pipe_with_pool(pool.clone(), 1 << 20);
        let wrap =
            |f| FuturesFlow::new(FuturesIo::with_pool(Rc::new(f), pool.clone()), pool.clone());
        (wrap(a), wrap(b))
    }));
}

#[test]
fn io_errors_map_back() {
    block_on(async {
        let (a, b) = pipe(16);
        drop(b);
        let mut a = FuturesIo::new(a);
        let e = a.write_all(b"x").await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);
        let (c, d) = pipe(16);
        d.reset();
        let c = FuturesFlow::new(FuturesIo::new(c), PagePool::current());
        assert_eq!(c.read().await.unwrap_err(), Error::Reset);
    });
}
