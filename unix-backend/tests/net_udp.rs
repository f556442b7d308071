//! Kernel UDP sockets: round trips (addressed and connected), truncation of
//! a datagram longer than the buffer, waiting for a datagram, cancellation.

mod support;
use support::exec::{loopback, run};

use std::time::Duration;

use shimmer_executor::{sleep, spawn, timeout};
use shimmer_unix::net::UdpSocket;

#[test]
fn send_to_and_recv_from_round_trip() {
    run(async {
        let a = UdpSocket::bind(loopback()).unwrap();
        let b = UdpSocket::bind(loopback()).unwrap();
        let (a_addr, b_addr) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        assert_ne!(a_addr.port(), 0);
        assert_eq!(a.send_to(b"ping", b_addr).await.unwrap(), 4);
        let mut buf = [0u8; 64];
        let (n, from) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"ping"[..], a_addr));
        // Back, and an empty datagram is a datagram too.
        assert_eq!(b.send_to(b"pong", from).await.unwrap(), 4);
        assert_eq!(b.send_to(b"", from).await.unwrap(), 0);
        let (n, from) = a.recv_from(&mut buf).await.unwrap();
        assert_eq!((&buf[..n], from), (&b"pong"[..], b_addr));
        let (n, _) = a.recv_from(&mut buf).await.unwrap();
        assert_eq!(n, 0);
    });
}

#[test]
fn a_waiting_receiver_is_woken() {
    run(async {
        let a = UdpSocket::bind(loopback()).unwrap();
        let b = UdpSocket::bind(loopback()).unwrap();
        let b_addr = b.local_addr().unwrap();
        let receiver = spawn(async move {
            let mut buf = [0u8; 16];
            let mut got = Vec::new();
            for _ in 0..3 {
                let (n, _) = b.recv_from(&mut buf).await.unwrap();
                got.push(buf[..n].to_vec());
            }
            got
        });
        for msg in [&b"one"[..], b"two", b"three"] {
            sleep(Duration::from_millis(1)).await;
            a.send_to(msg, b_addr).await.unwrap();
        }
        assert_eq!(
            receiver.await.unwrap(),
            vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
        );
    });
}

#[test]
fn a_datagram_longer_than_the_buffer_is_truncated() {
    run(async {
        let a = UdpSocket::bind(loopback()).unwrap();
        let b = UdpSocket::bind(loopback()).unwrap();
        let big: Vec<u8> = (0..9000u32).map(|i| (i % 251) as u8).collect();
        a.send_to(&big, b.local_addr().unwrap()).await.unwrap();
        a.send_to(b"next", b.local_addr().unwrap()).await.unwrap();
        let mut small = [0u8; 100];
        let (n, from) = b.recv_from(&mut small).await.unwrap();
        assert_eq!(n, 100, "the buffer is filled, the rest dropped");
        assert_eq!(&small[..], &big[..100]);
        assert_eq!(from, a.local_addr().unwrap());
        // The tail is gone: the next receive is the next datagram.
        let (n, _) = b.recv_from(&mut small).await.unwrap();
        assert_eq!(&small[..n], b"next");
        // An empty buffer receives (and drops) a whole datagram.
        a.send_to(b"lost", b.local_addr().unwrap()).await.unwrap();
        assert_eq!(b.recv_from(&mut []).await.unwrap().0, 0);
    });
}

#[test]
fn connected_send_and_recv() {
    run(async {
        let a = UdpSocket::bind(loopback()).unwrap();
        let b = UdpSocket::bind(loopback()).unwrap();
        let stranger = UdpSocket::bind(loopback()).unwrap();
        assert!(a.peer_addr().is_err());
        a.connect(b.local_addr().unwrap()).unwrap();
        b.connect(a.local_addr().unwrap()).unwrap();
        assert_eq!(a.peer_addr().unwrap(), b.local_addr().unwrap());
        // A connected socket only hears its peer.
        stranger
            .send_to(b"noise", a.local_addr().unwrap())
            .await
            .unwrap();
        b.send(b"hello").await.unwrap();
        let mut buf = [0u8; 16];
        let n = a.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"hello");
        a.send(b"hi").await.unwrap();
        let n = b.recv(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"hi");
        assert!(timeout(Duration::from_millis(5), a.recv(&mut buf))
            .await
            .is_err());
    });
}

#[test]
fn a_dropped_receive_loses_no_datagram() {
    run(async {
        let a = UdpSocket::bind(loopback()).unwrap();
        let b = UdpSocket::bind(loopback()).unwrap();
        let mut buf = [0u8; 16];
        assert!(timeout(Duration::from_millis(2), b.recv_from(&mut buf))
            .await
            .is_err());
        a.send_to(b"kept", b.local_addr().unwrap()).await.unwrap();
        let (n, _) = b.recv_from(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"kept");
    });
}

#[test]
fn sending_to_a_closed_port_is_refused_when_connected() {
    run(async {
        let a = UdpSocket::bind(loopback()).unwrap();
        let gone = UdpSocket::bind(loopback()).unwrap().local_addr().unwrap();
        a.connect(gone).unwrap();
        // The first datagram draws an ICMP port unreachable; the next
        // operation reports it.
        a.send(b"anyone?").await.unwrap();
        sleep(Duration::from_millis(5)).await;
        let mut buf = [0u8; 8];
        let e = a.recv(&mut buf).await.unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused, "{e}");
    });
}
