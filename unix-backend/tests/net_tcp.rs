//! Kernel TCP streams and listeners beyond the Flow suite: a concurrent echo
//! server, resets, half-close, end of stream, connect and accept errors,
//! cancelled reads, close waking waiters, vectored writes past one syscall.

mod support;
use support::exec::{loopback, run};

use std::future::Future;
use std::io;
use std::pin::pin;
use std::rc::Rc;
use std::task::{Context, Waker};
use std::time::Duration;

use shimmer_executor::{sleep, spawn, timeout};
use shimmer_io::flow::{Flow, Shutdown};
use shimmer_io::Error;
use shimmer_unix::net::{TcpListener, TcpOptions, TcpStream};

/// A connected (client, server) pair over 127.0.0.1.
async fn pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind(loopback()).unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (server, _) = listener.accept().await.unwrap();
    (client, server)
}

/// Pseudo-random bytes (xorshift), so that misplaced data is noticed.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        v.extend_from_slice(&seed.to_le_bytes());
    }
    v.truncate(len);
    v
}

async fn read_to_end<F: Flow>(f: &F) -> Result<Vec<u8>, Error> {
    let mut all = Vec::new();
    while let Some(buf) = f.read().await? {
        assert!(!buf.is_empty());
        assert!(buf.len() <= 4096, "a read returns at most a page");
        all.extend_from_slice(&buf);
    }
    Ok(all)
}

#[test]
fn echo_100_connections_of_1_mib_each() {
    const CONNS: usize = 100;
    const LEN: usize = 1 << 20;
    // Connection `i` sends `data[i..i + LEN]`: each stream's bytes differ,
    // so crossed or misordered data fails the comparison.
    let data = Rc::new(noise(LEN + CONNS, 0x5eed));
    run(async move {
        let listener = TcpListener::bind(loopback()).unwrap();
        let addr = listener.local_addr().unwrap();
        let server = spawn(async move {
            let mut echoers = Vec::new();
            for _ in 0..CONNS {
                let (s, _) = listener.accept().await.unwrap();
                assert!(s.nodelay().unwrap(), "accepted streams get TCP_NODELAY");
                echoers.push(spawn(async move {
                    let mut echoed = 0;
                    while let Some(buf) = s.read().await.unwrap() {
                        echoed += buf.len();
                        s.write_buf(buf).await.unwrap();
                    }
                    s.shutdown(Shutdown::Write).await.unwrap();
                    echoed
                }));
            }
            let mut total = 0;
            for e in echoers {
                total += e.await.unwrap();
            }
            total
        });
        let mut clients = Vec::new();
        for i in 0..CONNS {
            let data = data.clone();
            clients.push(spawn(async move {
                let c = Rc::new(TcpStream::connect(addr).await.unwrap());
                let writer = spawn({
                    let c = c.clone();
                    let data = data.clone();
                    async move {
                        let mine = &data[i..i + LEN];
                        // Every write form, in pieces of odd sizes.
                        let mut off = 0;
                        let mut k = 0;
                        while off < LEN {
                            let n = (1 + k * 7919 % 70_000).min(LEN - off);
                            let piece = &mine[off..off + n];
                            match k % 3 {
                                0 => c.write(piece).await.unwrap(),
                                1 => {
                                    let (a, b) = piece.split_at(n / 2);
                                    c.writev(&[a, b"", b]).await.unwrap()
                                }
                                _ => {
                                    let chain = c.pool().chain_from(piece).unwrap();
                                    c.write_chain(chain).await.unwrap()
                                }
                            }
                            off += n;
                            k += 1;
                        }
                        c.shutdown(Shutdown::Write).await.unwrap();
                    }
                });
                // Compare as the bytes come, against this connection's slice.
                let mine = &data[i..i + LEN];
                let mut got = 0;
                while let Some(buf) = c.read().await.unwrap() {
                    assert!(got + buf.len() <= LEN, "connection {i}: too many bytes");
                    assert!(
                        buf[..] == mine[got..got + buf.len()],
                        "connection {i}: bytes differ at offset {got}"
                    );
                    got += buf.len();
                }
                writer.await.unwrap();
                assert_eq!(got, LEN, "connection {i}: all bytes echoed");
            }));
        }
        for c in clients {
            c.await.unwrap();
        }
        assert_eq!(server.await.unwrap(), CONNS * LEN);
        // Every page read went back to the pool.
        assert_eq!(shimmer_io::page::PagePool::current().stats().in_use, 0);
    });
}

#[test]
fn a_reset_peer_is_reset_on_read() {
    run(async {
        let (c, s) = pair().await;
        s.set_linger(Some(Duration::ZERO)).unwrap();
        // A reader already waiting is woken with the error.
        let c = Rc::new(c);
        let reader = spawn({
            let c = c.clone();
            async move { c.read().await.map(|b| b.map(|b| b.len())) }
        });
        sleep(Duration::from_millis(2)).await;
        drop(s); // close with SO_LINGER 0: RST
        assert_eq!(reader.await.unwrap(), Err(Error::Reset));
        // Afterwards: an error or end of stream, no panic, no hang.
        for _ in 0..3 {
            let r = timeout(Duration::from_secs(1), c.read()).await.unwrap();
            assert!(matches!(r, Ok(None) | Err(_)), "{r:?}");
        }
    });
}

#[test]
fn a_reset_peer_is_reset_on_write() {
    run(async {
        let (c, s) = pair().await;
        s.set_linger(Some(Duration::ZERO)).unwrap();
        drop(s);
        sleep(Duration::from_millis(2)).await;
        assert_eq!(c.write(b"anyone there?").await, Err(Error::Reset));
        // The error was reported; later writes still fail, never SIGPIPE.
        let again = c.write(b"still?").await;
        assert!(
            matches!(again, Err(Error::BrokenPipe | Error::Reset)),
            "{again:?}"
        );
        let v = c.writev(&[b"a", b"b"]).await;
        assert!(matches!(v, Err(Error::BrokenPipe | Error::Reset)), "{v:?}");
    });
}

#[test]
fn writing_to_a_closed_peer_is_broken_pipe_not_sigpipe() {
    run(async {
        let (c, s) = pair().await;
        s.close().await.unwrap();
        // The first write may be accepted (the peer's kernel answers it with
        // a reset); after that the stream reports the peer gone.
        let mut outcome = Ok(());
        for _ in 0..50 {
            outcome = c.write(&[7; 1000]).await;
            if outcome.is_err() {
                break;
            }
            sleep(Duration::from_millis(1)).await;
        }
        assert!(
            matches!(outcome, Err(Error::BrokenPipe | Error::Reset)),
            "{outcome:?}"
        );
    });
}

#[test]
fn half_close_then_answer() {
    run(async {
        let (c, s) = pair().await;
        c.write(b"request").await.unwrap();
        c.shutdown(Shutdown::Write).await.unwrap();
        assert_eq!(c.write(b"more").await, Err(Error::Closed));
        assert_eq!(read_to_end(&s).await.unwrap(), b"request");
        // The server's direction is still open.
        s.write(b"response").await.unwrap();
        s.writev(&[b", ", b"in two"]).await.unwrap();
        s.close().await.unwrap();
        assert_eq!(read_to_end(&c).await.unwrap(), b"response, in two");
    });
}

#[test]
fn end_of_stream_stays_end_of_stream() {
    run(async {
        let (c, s) = pair().await;
        s.write(b"last words").await.unwrap();
        s.close().await.unwrap();
        let mut buf = [0u8; 4];
        let mut got = Vec::new();
        loop {
            let n = c.read_into(&mut buf).await.unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"last words");
        for _ in 0..3 {
            assert!(matches!(c.read().await, Ok(None)));
            assert_eq!(c.read_into(&mut buf).await, Ok(0));
        }
        // And here, after close: Closed, and close again is fine.
        assert!(matches!(s.read().await, Err(Error::Closed)));
        assert_eq!(s.write(b"x").await, Err(Error::Closed));
        assert_eq!(s.shutdown(Shutdown::Write).await, Err(Error::Closed));
        assert_eq!(s.close().await, Ok(()));
        assert_eq!(
            s.local_addr().unwrap_err().kind(),
            io::ErrorKind::NotConnected
        );
    });
}

#[test]
fn connect_refused_is_a_clear_error() {
    run(async {
        let listener = TcpListener::bind(loopback()).unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let e = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused, "{e}");
    });
}

#[test]
fn listener_drop_closes_the_port_not_the_connections() {
    run(async {
        let listener = TcpListener::bind(loopback()).unwrap();
        let addr = listener.local_addr().unwrap();
        let c = TcpStream::connect(addr).await.unwrap();
        let (s, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, c.local_addr().unwrap());
        assert_eq!(s.peer_addr().unwrap(), c.local_addr().unwrap());
        assert_eq!(c.peer_addr().unwrap(), addr);
        drop(listener);
        // Accepted connections outlive their listener.
        c.write(b"ping").await.unwrap();
        assert_eq!(&s.read().await.unwrap().unwrap()[..], b"ping");
        // The port is closed...
        let e = TcpStream::connect(addr).await.unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        // ...and can be listened on again at once (SO_REUSEADDR), while the
        // old connection is still open.
        let again = TcpListener::bind(addr).unwrap();
        let c2 = TcpStream::connect(addr).await.unwrap();
        let (s2, _) = again.accept().await.unwrap();
        c2.write(b"pong").await.unwrap();
        assert_eq!(&s2.read().await.unwrap().unwrap()[..], b"pong");
    });
}

#[test]
fn bind_in_use_without_reuse_port_fails() {
    run(async {
        let first = TcpListener::bind(loopback()).unwrap();
        let addr = first.local_addr().unwrap();
        let e = TcpListener::bind(addr).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
        // With SO_REUSEPORT on both, two listeners share the port.
        let opts = TcpOptions {
            reuse_port: true,
            backlog: 16,
            nodelay: false,
            ..TcpOptions::default()
        };
        let a = TcpListener::bind_with(loopback(), &opts).unwrap();
        let shared = a.local_addr().unwrap();
        let b = TcpListener::bind_with(shared, &opts).unwrap();
        assert_eq!(b.local_addr().unwrap(), shared);
        let c = TcpStream::connect(shared).await.unwrap();
        // The connection went to one of them; nodelay was not asked for.
        let s = shimmer_executor::pick([a.accept(), b.accept()])
            .await
            .unwrap()
            .0;
        assert!(!s.nodelay().unwrap());
        c.set_nodelay(true).unwrap();
        assert!(c.nodelay().unwrap());
    });
}

#[test]
fn a_dropped_accept_loses_no_connection() {
    run(async {
        let listener = TcpListener::bind(loopback()).unwrap();
        // An accept that times out, with nobody connecting.
        assert!(timeout(Duration::from_millis(2), listener.accept())
            .await
            .is_err());
        // Polled once (pending, waker stored), then a connection arrives and
        // wakes it, and it is dropped before it runs again.
        let c = {
            let mut fut = pin!(listener.accept());
            assert!(fut
                .as_mut()
                .poll(&mut Context::from_waker(Waker::noop()))
                .is_pending());
            let c = TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            sleep(Duration::from_millis(2)).await; // the edge is dispatched
            c
        };
        let (s, peer) = listener.accept().await.unwrap();
        assert_eq!(peer, c.local_addr().unwrap());
        c.write(b"ok").await.unwrap();
        assert_eq!(&s.read().await.unwrap().unwrap()[..], b"ok");
    });
}

#[test]
fn a_dropped_read_loses_no_data() {
    for into in [false, true] {
        run(async {
            let (c, s) = pair().await;
            let mut buf = [0u8; 16];
            // Dropped while waiting (nothing to read).
            if into {
                assert!(timeout(Duration::from_millis(2), s.read_into(&mut buf))
                    .await
                    .is_err());
            } else {
                assert!(timeout(Duration::from_millis(2), s.read()).await.is_err());
            }
            // Polled once (pending, waker stored), then the data arrives and
            // wakes it, and it is dropped before it runs again.
            {
                let mut read = pin!(s.read());
                let mut read_into = pin!(s.read_into(&mut buf));
                let mut cx = Context::from_waker(Waker::noop());
                if into {
                    assert!(read_into.as_mut().poll(&mut cx).is_pending());
                } else {
                    assert!(read.as_mut().poll(&mut cx).is_pending());
                }
                c.write(b"kept").await.unwrap();
                sleep(Duration::from_millis(2)).await; // the edge is dispatched
            }
            // Nothing was consumed by the dropped reads.
            c.write(b", all of it").await.unwrap();
            c.close().await.unwrap();
            assert_eq!(read_to_end(&s).await.unwrap(), b"kept, all of it");
            // Every page of the dropped reads went back.
            assert_eq!(s.pool().stats().in_use, 0);
        });
    }
}

#[test]
fn close_wakes_a_blocked_reader_and_writer() {
    run(async {
        let (c, s) = pair().await;
        let s = Rc::new(s);
        let reader = spawn({
            let s = s.clone();
            async move { s.read().await.map(|b| b.map(|b| b.len())) }
        });
        let writer = spawn({
            let s = s.clone();
            async move {
                // Nobody reads on the other side: this fills the buffers.
                let big = vec![1u8; 1 << 20];
                loop {
                    s.write(&big).await?;
                }
                #[allow(unreachable_code)]
                Ok::<(), Error>(())
            }
        });
        sleep(Duration::from_millis(20)).await;
        s.close().await.unwrap();
        let r = timeout(Duration::from_secs(2), reader).await.unwrap();
        assert_eq!(r.unwrap(), Err(Error::Closed));
        let w = timeout(Duration::from_secs(2), writer).await.unwrap();
        assert_eq!(w.unwrap(), Err(Error::Closed));
        drop(c);
    });
}

#[test]
fn shutdown_read_ends_reads_here() {
    run(async {
        let (c, s) = pair().await;
        let s = Rc::new(s);
        let reader = spawn({
            let s = s.clone();
            async move { s.read().await.map(|b| b.is_none()) }
        });
        sleep(Duration::from_millis(2)).await;
        s.shutdown(Shutdown::Read).await.unwrap();
        s.shutdown(Shutdown::Read).await.unwrap();
        assert_eq!(reader.await.unwrap(), Ok(true), "a waiting reader sees EOF");
        let mut buf = [0u8; 8];
        assert_eq!(s.read_into(&mut buf).await, Ok(0));
        // Writing still works.
        s.write(b"one way").await.unwrap();
        s.shutdown(Shutdown::Both).await.unwrap();
        assert_eq!(read_to_end(&c).await.unwrap(), b"one way");
    });
}

#[test]
fn writev_of_many_slices_survives_partial_writes() {
    run(async {
        let (c, s) = pair().await;
        // 300 slices (more than one sendmsg takes) of 7 KiB: 2.1 MB, more
        // than the socket buffers hold, so the kernel takes it in parts.
        let data = noise(300 * 7 * 1024, 42);
        let slices: Vec<&[u8]> = data.chunks(7 * 1024).collect();
        let reader = spawn(async move { read_to_end(&s).await.unwrap() });
        c.writev(&slices).await.unwrap();
        c.writev(&[]).await.unwrap();
        c.writev(&[b"", b""]).await.unwrap();
        c.close().await.unwrap();
        assert!(reader.await.unwrap() == data, "bytes differ");
    });
}

#[test]
fn ipv6_loopback_when_available() {
    run(async {
        let Ok(listener) = TcpListener::bind("[::1]:0".parse().unwrap()) else {
            eprintln!("skipped: no IPv6 loopback here");
            return;
        };
        let addr = listener.local_addr().unwrap();
        assert!(addr.is_ipv6());
        let c = TcpStream::connect(addr).await.unwrap();
        let (s, peer) = listener.accept().await.unwrap();
        assert!(peer.is_ipv6());
        c.write(b"six").await.unwrap();
        c.close().await.unwrap();
        assert_eq!(read_to_end(&s).await.unwrap(), b"six");
    });
}

#[test]
fn sockets_need_the_reactor() {
    // Outside `shimmer_unix::block_on` there is no reactor: a clear error.
    let e = TcpListener::bind(loopback()).unwrap_err();
    assert!(e.to_string().contains("reactor"), "{e}");
}

#[test]
fn a_short_read_does_not_hide_end_of_stream_or_a_reset() {
    // A read that returns less than asked for clears readiness (the next
    // read waits for an edge without a syscall). End of stream or a reset
    // that came with or before that data must still be seen.
    for case in 0..4 {
        run(async move {
            let (c, s) = pair().await;
            let settle = || sleep(Duration::from_millis(2)); // edges dispatched
            match case {
                // Data and FIN in one go.
                0 => {
                    c.write(b"data").await.unwrap();
                    c.shutdown(Shutdown::Write).await.unwrap();
                    settle().await;
                }
                // Data, its edge dispatched, then FIN and its edge.
                1 => {
                    c.write(b"data").await.unwrap();
                    settle().await;
                    c.shutdown(Shutdown::Write).await.unwrap();
                    settle().await;
                }
                // Data read first (short), FIN afterwards.
                2 => {
                    c.write(b"data").await.unwrap();
                    settle().await;
                }
                // Data, then a reset.
                _ => {
                    c.write(b"data").await.unwrap();
                    settle().await;
                    c.set_linger(Some(Duration::ZERO)).unwrap();
                }
            }
            if case == 3 {
                let first = s.read().await;
                drop(c);
                settle().await;
                // The data may or may not survive the reset; the reset is seen.
                let next = match first {
                    Ok(Some(_)) => s.read().await.map(|b| b.map(|b| b.len())),
                    other => other.map(|b| b.map(|b| b.len())),
                };
                assert_eq!(next, Err(Error::Reset), "case {case}");
                return;
            }
            assert_eq!(&s.read().await.unwrap().unwrap()[..], b"data");
            if case == 2 {
                c.shutdown(Shutdown::Write).await.unwrap();
            }
            let mut buf = [0u8; 64];
            assert_eq!(s.read_into(&mut buf).await, Ok(0), "case {case}");
            assert!(matches!(s.read().await, Ok(None)), "case {case}");
        });
    }
}

#[test]
fn a_short_read_into_then_more_data() {
    run(async {
        let (c, s) = pair().await;
        let mut buf = [0u8; 64];
        for round in 0..50u8 {
            c.write(&[round; 10]).await.unwrap();
            let n = s.read_into(&mut buf).await.unwrap();
            assert_eq!(&buf[..n], &[round; 10][..n]);
            let mut got = n;
            while got < 10 {
                got += s.read_into(&mut buf[got..10]).await.unwrap();
            }
        }
    });
}
