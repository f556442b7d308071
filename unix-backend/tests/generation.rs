use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::task::{Context, Poll, Waker};

use shimmer_executor::Park;
use shimmer_unix::{Interest, UnixPark};

#[test]
fn readiness_between_eagain_and_clear_is_not_lost() {
    let mut park = UnixPark::new().unwrap();
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    let reg = park.reactor().register(&a, Interest::Read).unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    assert!(reg.poll_read_ready(&mut cx).is_pending());
    (&b).write_all(b"1").unwrap();
    let now = park.now();
    park.park(Some(now));
    let Poll::Ready(ready) = reg.poll_read_ready(&mut cx) else {
        panic!("not ready")
    };
    let mut buf = [0u8; 8];
    assert_eq!((&a).read(&mut buf).unwrap(), 1);
    let e = (&a).read(&mut buf).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
    // An event lands after EAGAIN but before the clear.
    (&b).write_all(b"2").unwrap();
    let now = park.now();
    park.park(Some(now));
    reg.clear_read_ready(ready);
    assert!(reg.poll_read_ready(&mut cx).is_ready(), "readiness lost");
    // With no new event, the clear sticks.
    let Poll::Ready(ready) = reg.poll_read_ready(&mut cx) else {
        unreachable!()
    };
    assert_eq!((&a).read(&mut buf).unwrap(), 1);
    reg.clear_read_ready(ready);
    assert!(reg.poll_read_ready(&mut cx).is_pending());
    reg.deregister(&a).unwrap();
}

#[test]
fn spurious_readiness_is_tolerated() {
    shimmer_unix::block_on(async {
        let (a, _b) = UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let fd = shimmer_unix::AsyncFd::new(a).unwrap();
        // Writable at once; a read attempt there just gets EAGAIN and waits.
        fd.writable().await;
        let r = shimmer_executor::timeout(
            std::time::Duration::from_millis(5),
            fd.read_with(|s| {
                let mut s: &UnixStream = s;
                s.read(&mut [0u8; 1])
            }),
        )
        .await;
        assert!(r.is_err(), "no data: must time out, not spin or return");
    })
    .unwrap();
}

/// A registration dropped without `deregister` while its file stays open
/// (a dup keeps the description alive, so epoll keeps the entry): its
/// events carry the old generation and never reach the slot's next owner.
fn pair() -> (UnixStream, UnixStream) {
    let (a, b) = UnixStream::pair().unwrap();
    a.set_nonblocking(true).unwrap();
    b.set_nonblocking(true).unwrap();
    (a, b)
}

#[test]
fn stale_events_of_a_forgotten_registration_are_ignored() {
    use std::time::Duration;
    let mut park = shimmer_unix::UnixPark::new().unwrap();
    let (a, b) = pair();
    let a_dup = a.try_clone().unwrap();
    let reg = park
        .reactor()
        .register(&a, shimmer_unix::Interest::Read)
        .unwrap();
    drop(reg); // forgotten: no deregister
    drop(a); // a_dup keeps the epoll entry alive
    let (c, _d) = pair();
    let reg_c = park
        .reactor()
        .register(&c, shimmer_unix::Interest::Read)
        .unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    assert!(reg_c.poll_read_ready(&mut cx).is_pending());
    for i in 0..5u8 {
        (&b).write_all(&[i]).unwrap(); // events for the old token
        let now = park.now();
        park.park(Some(now + Duration::from_millis(2)));
        assert!(
            reg_c.poll_read_ready(&mut cx).is_pending(),
            "a stale event reached the slot's new owner"
        );
    }
    reg_c.deregister(&c).unwrap();
    drop(a_dup);
}

#[test]
fn deregister_refuses_another_fd() {
    let park = shimmer_unix::UnixPark::new().unwrap();
    let (a, _b) = pair();
    let (c, _d) = pair();
    let reg = park
        .reactor()
        .register(&a, shimmer_unix::Interest::Both)
        .unwrap();
    let e = reg.deregister(&c).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    // `a` is still in the set (not removed by the refused call).
    let reg = park.reactor().register(&a, shimmer_unix::Interest::Both);
    assert_eq!(
        reg.err().and_then(|e| e.raw_os_error()),
        Some(rustix::io::Errno::EXIST.raw_os_error())
    );
}
