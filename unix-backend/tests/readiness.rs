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
        let n = a
            .read_with(|s| {
                let mut s: &UnixStream = s;
                s.read(&mut buf)
            })
            .await
            .unwrap();
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
        let n = a
            .read_with(|s| {
                let mut s: &UnixStream = s;
                s.read(&mut buf)
            })
            .await
            .unwrap();
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
            let n = a
                .read_with(|s| {
                    let mut s: &UnixStream = s;
                    s.read(&mut buf)
                })
                .await
                .unwrap();
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
            let n = a
                .read_with(|s| {
                    let mut s: &UnixStream = s;
                    s.read(&mut buf)
                })
                .await
                .unwrap();
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
        let n = fc
            .read_with(|s| {
                let mut s: &UnixStream = s;
                s.read(&mut buf)
            })
            .await
            .unwrap();
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
        let n = a
            .read_with(|s| {
                let mut s: &UnixStream = s;
                s.read(&mut buf)
            })
            .await
            .unwrap();
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
