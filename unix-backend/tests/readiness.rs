use std::future::Future;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

use shimmer_unix::AsyncFd;

fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

/// One `read` on `fd` once it is readable (retried on `EAGAIN`): how many bytes.
async fn read_some(fd: &AsyncFd<UnixStream>, buf: &mut [u8]) -> usize {
    fd.read_with(|s| {
        let mut s: &UnixStream = s;
        s.read(buf)
    })
    .await
    .unwrap()
}

#[test]
fn reader_wakes_on_write_from_another_task() {
    shimmer_unix::block_on(async {
        let (a, b) = pair();
        let a = AsyncFd::new(a).unwrap();
        let w = shimmer_executor::spawn(async move {
            shimmer_executor::sleep(Duration::from_millis(5)).await;
            (&b).write_all(b"hello").unwrap();
            b
        });
        let mut buf = [0u8; 16];
        let n = read_some(&a, &mut buf).await;
        assert_eq!(&buf[..n], b"hello");
        drop(w.await.unwrap());
    })
    .unwrap();
}

#[test]
fn reader_wakes_on_write_from_another_thread() {
    shimmer_unix::block_on(async {
        let (a, b) = pair();
        let a = AsyncFd::new(a).unwrap();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(10));
            (&b).write_all(b"x").unwrap();
            b
        });
        let mut buf = [0u8; 4];
        let n = read_some(&a, &mut buf).await;
        assert_eq!(n, 1);
        drop(t.join().unwrap());
    })
    .unwrap();
}

#[test]
fn eagain_until_ready_many_rounds() {
    shimmer_unix::block_on(async {
        let (a, b) = pair();
        let a = AsyncFd::new(a).unwrap();
        let t = std::thread::spawn(move || {
            for i in 0..100u8 {
                std::thread::sleep(Duration::from_micros(200));
                (&b).write_all(&[i]).unwrap();
            }
            b
        });
        let mut got = Vec::new();
        while got.len() < 100 {
            let mut buf = [0u8; 64];
            let n = read_some(&a, &mut buf).await;
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, (0..100u8).collect::<Vec<_>>());
        drop(t.join().unwrap());
    })
    .unwrap();
}

#[test]
fn thousand_registrations() {
    shimmer_unix::block_on(async {
        let mut fds = Vec::new();
        for _ in 0..1000 {
            let (a, b) = pair();
            fds.push((AsyncFd::new(a).unwrap(), b));
        }
        for (_, b) in &fds {
            (&*b).write_all(b"!").unwrap();
        }
        for (a, _) in &fds {
            let mut buf = [0u8; 1];
            let n = read_some(a, &mut buf).await;
            assert_eq!(n, 1);
        }
    })
    .unwrap();
}

#[test]
fn drop_deregisters_and_stale_events_ignored() {
    shimmer_unix::block_on(async {
        let (a, b) = pair();
        let fa = AsyncFd::new(a).unwrap();
        (&b).write_all(b"zz").unwrap();
        drop(fa);
        // Slot and fd number reused by a fresh registration.
        let (c, d) = pair();
        let fc = AsyncFd::new(c).unwrap();
        shimmer_executor::yield_now().await;
        shimmer_executor::sleep(Duration::from_millis(1)).await;
        (&d).write_all(b"y").unwrap();
        let mut buf = [0u8; 4];
        let n = read_some(&fc, &mut buf).await;
        assert_eq!(&buf[..n], b"y");
        drop(b);
    })
    .unwrap();
}

#[test]
fn hup_when_peer_closes() {
    shimmer_unix::block_on(async {
        let (a, b) = pair();
        let a = AsyncFd::new(a).unwrap();
        let t = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(5));
            drop(b);
        });
        let mut buf = [0u8; 4];
        let n = read_some(&a, &mut buf).await;
        assert_eq!(n, 0, "EOF after peer close");
        t.join().unwrap();
    })
    .unwrap();
}

#[test]
fn yield_loop_lets_readiness_in() {
    shimmer_unix::block_on(async {
        let (a, b) = pair();
        let a = AsyncFd::new(a).unwrap();
        let flag = std::rc::Rc::new(std::cell::Cell::new(false));
        let f2 = flag.clone();
        let reader = shimmer_executor::spawn(async move {
            a.readable().await;
            f2.set(true);
        });
        (&b).write_all(b"q").unwrap();
        let mut spins = 0u32;
        while !flag.get() {
            shimmer_executor::yield_now().await;
            spins += 1;
            assert!(spins < 100_000, "readiness never got in");
        }
        reader.await.unwrap();
    })
    .unwrap();
}

/// Counts the polls of the future it wraps.
async fn counted<F: std::future::Future>(polls: &std::cell::Cell<u32>, f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    std::future::poll_fn(|cx| {
        polls.set(polls.get() + 1);
        f.as_mut().poll(cx)
    })
    .await
}

/// Two readers on one socket (two fds of one description, each registered):
/// every byte wakes both, one takes it and the other finds nothing (EAGAIN
/// after readiness, many times over). Neither may busy-loop.
#[test]
fn eagain_storm_never_busy_loops() {
    const N: usize = 200;
    shimmer_unix::block_on(async {
        let (a, b) = pair();
        let a2 = a.try_clone().unwrap();
        let readers: Vec<_> = [a, a2]
            .into_iter()
            .map(|s| {
                let fd = AsyncFd::new(s).unwrap();
                shimmer_executor::spawn(async move {
                    let polls = std::cell::Cell::new(0u32);
                    let eagains = std::cell::Cell::new(0usize);
                    let mut got = 0usize;
                    loop {
                        let mut buf = [0u8; 64];
                        let n = counted(
                            &polls,
                            fd.read_with(|s| {
                                let mut s: &UnixStream = s;
                                let r = s.read(&mut buf);
                                if matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
                                {
                                    eagains.set(eagains.get() + 1);
                                }
                                r
                            }),
                        )
                        .await
                        .unwrap();
                        if n == 0 {
                            return (got, polls.get(), eagains.get());
                        }
                        got += n;
                    }
                })
            })
            .collect();
        let t = std::thread::spawn(move || {
            for i in 0..N {
                (&b).write_all(&[i as u8]).unwrap();
                std::thread::sleep(Duration::from_micros(100));
            }
            // EOF for both once the data is gone.
        });
        let mut total = 0;
        let mut polls = 0;
        let mut eagains = 0;
        for r in readers {
            let (got, p, e) = r.await.unwrap();
            total += got;
            polls += p;
            eagains += e;
        }
        t.join().unwrap();
        assert_eq!(total, N, "every byte read exactly once");
        println!("{N} bytes, two racing readers: {polls} polls, {eagains} EAGAINs");
        assert!(eagains >= N / 2, "the storm did not happen: {eagains} EAGAINs");
        // Each byte wakes each reader about once (plus a re-check): a busy
        // loop would poll thousands of times.
        assert!(polls as usize <= 6 * N + 20, "{polls} polls for {N} bytes");
    })
    .unwrap();
}

/// A task woken with no readiness (a stray wake) polls again, stays
/// pending, consumes nothing, and later reads the data.
#[test]
fn wakes_without_readiness_are_harmless() {
    shimmer_unix::block_on(async {
        let (a, b) = pair();
        let a = AsyncFd::new(a).unwrap();
        let polls = std::cell::Cell::new(0u32);
        let stray = std::cell::Cell::new(0u32);
        let got = std::cell::RefCell::new(Vec::new());
        let read = a.read_with(|s| {
            let mut s: &UnixStream = s;
            let mut buf = [0u8; 8];
            let n = s.read(&mut buf)?;
            got.borrow_mut().extend_from_slice(&buf[..n]);
            Ok(n)
        });
        let mut read = std::pin::pin!(read);
        let writer = shimmer_executor::spawn(async move {
            shimmer_executor::sleep(Duration::from_millis(5)).await;
            (&b).write_all(b"data").unwrap();
            b
        });
        let n = std::future::poll_fn(|cx| {
            polls.set(polls.get() + 1);
            let r = read.as_mut().poll(cx);
            if r.is_pending() && stray.get() < 50 {
                stray.set(stray.get() + 1);
                cx.waker().wake_by_ref(); // a wake with nothing behind it
            }
            r
        })
        .await
        .unwrap();
        assert_eq!(n, 4);
        assert_eq!(&got.borrow()[..], b"data");
        assert_eq!(stray.get(), 50, "the stray wakes all happened first");
        assert!(polls.get() <= 50 + 5, "{} polls", polls.get());
        drop(writer.await.unwrap());
    })
    .unwrap();
}
