//! `mem::link`: delivery, refusals, back-pressure, seeded faults, delay,
//! unplugging and cancellation.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use shimmer_executor::{block_on, spawn, timeout, Instant};
use shimmer_io::mem::{link, LinkConfig, MemNet};
use shimmer_io::net::{LinkState, Net, Offload};
use shimmer_io::page::{PagePool, PoolConfig};
use shimmer_io::Error;

fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

/// Sends a 64-byte frame carrying `n`.
fn send_numbered(net: &MemNet, n: u32) -> Result<(), Error> {
    net.send(64, |f| {
        f[14..18].copy_from_slice(&n.to_be_bytes());
        64
    })
}

fn number(frame: &[u8]) -> u32 {
    u32::from_be_bytes(frame[14..18].try_into().unwrap())
}

/// Every frame `from` has on the wire to `to` (no timing involved: a link
/// without delay delivers at once).
async fn drain(from: &MemNet, to: &MemNet) -> Vec<u32> {
    let mut got = Vec::new();
    while from.in_flight() > 0 {
        got.push(number(&to.recv().await.unwrap()));
    }
    got
}

#[test]
fn frames_arrive_in_order_zero_copy() {
    let pool = PagePool::new();
    block_on(async {
        let (a, b) = link(pool.clone(), LinkConfig::new());
        assert_eq!(a.link(), LinkState::Up);
        assert_eq!((a.mtu(), a.max_frame_len()), (1500, 1514));
        assert_ne!(a.mac(), b.mac());
        let mut sent_at = None;
        a.send(100, |f| {
            sent_at = Some(f.as_ptr() as usize);
            f[0] = 0xaa;
            60
        })
        .unwrap();
        let frame = b.recv().await.unwrap();
        assert_eq!(frame.len(), 60, "the length fill returned");
        assert_eq!(
            frame.as_ptr() as usize,
            sent_at.unwrap(),
            "the page the sender filled"
        );
        assert_eq!(frame[0], 0xaa);
        assert!(frame[1..].iter().all(|&b| b == 0), "no stale bytes");
        for n in 0..100 {
            a.send_ready().await.unwrap();
            send_numbered(&a, n).unwrap();
        }
        for n in 0..100 {
            assert_eq!(number(&b.recv().await.unwrap()), n);
        }
        let (sa, sb) = (a.stats(), b.stats());
        assert_eq!((sa.tx_frames, sa.tx_bytes), (101, 60 + 6400));
        assert_eq!((sb.rx_frames, sb.rx_bytes), (101, 60 + 6400));
        // Both directions.
        send_numbered(&b, 7).unwrap();
        assert_eq!(number(&a.recv().await.unwrap()), 7);
    });
    assert_eq!(pool.stats().in_use, 0);
}

#[test]
fn refusals_send_nothing_and_never_panic() {
    block_on(async {
        let (a, b) = link(
            PagePool::new(),
            LinkConfig::new().mtu(100).offload(Offload::new(true, true)),
        );
        assert_eq!(a.offload(), Offload::new(true, true));
        assert_eq!(a.send(115, |_| 0).unwrap_err(), Error::TooLarge);
        let mut called = false;
        assert_eq!(
            a.send(usize::MAX, |_| {
                called = true;
                0
            })
            .unwrap_err(),
            Error::TooLarge
        );
        assert!(!called, "fill is not called for a refused send");
        assert_eq!(a.send(50, |_| 51).unwrap_err(), Error::InvalidInput);
        assert_eq!(a.stats().tx_errors, 3);
        assert_eq!(a.stats().tx_frames, 0);
        assert_eq!(a.in_flight(), 0);
        a.send(114, |_| 114).unwrap();
        assert_eq!(b.recv().await.unwrap().len(), 114);
    });
}

#[test]
fn a_full_queue_means_pending_then_ready() {
    block_on(async {
        let (a, b) = link(PagePool::new(), LinkConfig::new().queue_frames(4));
        for n in 0..4 {
            send_numbered(&a, n).unwrap();
        }
        {
            let mut ready = pin!(a.send_ready());
            assert!(poll_once(ready.as_mut()).is_pending());
        }
        assert_eq!(send_numbered(&a, 4).unwrap_err(), Error::WouldBlock);
        let sender = spawn(async move {
            for n in 4..10 {
                a.send_ready().await?;
                send_numbered(&a, n)?;
            }
            Ok::<_, Error>(a)
        });
        let mut got = Vec::new();
        for _ in 0..10 {
            got.push(number(
                &timeout(Duration::from_secs(5), b.recv())
                    .await
                    .unwrap()
                    .unwrap(),
            ));
        }
        assert_eq!(got, (0..10).collect::<Vec<_>>());
        sender.await.unwrap().unwrap();
    });
}

#[test]
fn seeded_loss_duplication_and_reordering() {
    block_on(async {
        let collect = |config: LinkConfig| async move {
            let (a, b) = link(PagePool::new(), config.queue_frames(2000));
            for n in 0..1000 {
                send_numbered(&a, n).unwrap();
            }
            let got = drain(&a, &b).await;
            (got, a.stats())
        };

        let (lossy, stats) = collect(LinkConfig::new().seed(1).loss(0.2)).await;
        assert!(
            (700..900).contains(&lossy.len()),
            "{} of 1000 arrived",
            lossy.len()
        );
        assert_eq!(stats.tx_dropped as usize, 1000 - lossy.len());
        assert!(
            lossy.windows(2).all(|w| w[0] < w[1]),
            "loss alone keeps order"
        );
        let (again, _) = collect(LinkConfig::new().seed(1).loss(0.2)).await;
        assert_eq!(lossy, again, "the same seed, the same losses");
        let (other, _) = collect(LinkConfig::new().seed(2).loss(0.2)).await;
        assert_ne!(lossy, other);

        let (dup, _) = collect(LinkConfig::new().seed(3).duplicate(0.1)).await;
        assert!((1050..1150).contains(&dup.len()), "{} frames", dup.len());
        let mut dedup = dup.clone();
        dedup.dedup();
        assert_eq!(dedup, (0..1000).collect::<Vec<_>>());

        let (reordered, _) = collect(LinkConfig::new().seed(4).reorder(0.1)).await;
        assert_eq!(reordered.len(), 1000, "reordering loses nothing");
        let swaps = reordered.windows(2).filter(|w| w[0] > w[1]).count();
        assert!((50..150).contains(&swaps), "{swaps} swaps");
        let mut sorted = reordered.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..1000).collect::<Vec<_>>());
    });
}

#[test]
fn delay_and_jitter() {
    block_on(async {
        // Long enough that a descheduled test thread still polls before it.
        let delay = Duration::from_millis(50);
        let (a, b) = link(
            PagePool::new(),
            LinkConfig::new().delay(delay, Duration::from_millis(1)),
        );
        let start = Instant::now();
        for n in 0..5 {
            send_numbered(&a, n).unwrap();
        }
        {
            let mut early = pin!(b.recv());
            assert!(
                poll_once(early.as_mut()).is_pending(),
                "not before the delay"
            );
        }
        let mut got = Vec::new();
        for _ in 0..5 {
            got.push(number(
                &timeout(Duration::from_secs(5), b.recv())
                    .await
                    .unwrap()
                    .unwrap(),
            ));
        }
        assert!(start.elapsed() >= delay);
        got.sort_unstable();
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
    });
}

#[test]
fn link_down_drops_and_unplugged_device_is_gone() {
    block_on(async {
        let (a, b) = link(PagePool::new(), LinkConfig::new());
        a.set_link(LinkState::Down);
        assert_eq!(b.link(), LinkState::Down);
        send_numbered(&a, 1).unwrap();
        assert_eq!(a.stats().tx_dropped, 1);
        a.set_link(LinkState::Up);
        send_numbered(&a, 2).unwrap();
        assert_eq!(number(&b.recv().await.unwrap()), 2);

        // A receiver waiting when the device goes: woken with an error.
        let b = std::rc::Rc::new(b);
        let waiting = spawn({
            let b = b.clone();
            async move { b.recv().await.map(drop) }
        });
        shimmer_executor::sleep(Duration::from_millis(1)).await;
        b.unplug();
        assert_eq!(
            timeout(Duration::from_secs(5), waiting)
                .await
                .unwrap()
                .unwrap()
                .unwrap_err(),
            Error::DeviceGone
        );
        assert_eq!(b.send(60, |_| 60).unwrap_err(), Error::DeviceGone);
        assert_eq!(b.send_ready().await.unwrap_err(), Error::DeviceGone);
        assert_eq!(
            a.link(),
            LinkState::Down,
            "the other end sees the link down"
        );
        drop(b);
        assert_eq!(a.link(), LinkState::Down);
    });
}

#[test]
fn a_dropped_recv_loses_no_frame() {
    let pool = PagePool::new();
    block_on(async {
        let (a, b) = link(pool.clone(), LinkConfig::new());
        {
            let mut recv = pin!(b.recv());
            assert!(poll_once(recv.as_mut()).is_pending());
        }
        send_numbered(&a, 42).unwrap();
        assert_eq!(number(&b.recv().await.unwrap()), 42);
    });
    assert_eq!(pool.stats().in_use, 0);
}

#[test]
fn pool_exhaustion_is_a_send_error() {
    let pool = PagePool::with_config(PoolConfig::new().chunk_pages(1).max_pages(2)).unwrap();
    block_on(async {
        let (a, b) = link(pool.clone(), LinkConfig::new());
        send_numbered(&a, 0).unwrap();
        send_numbered(&a, 1).unwrap();
        assert_eq!(send_numbered(&a, 2).unwrap_err(), Error::PoolExhausted);
        drop(b.recv().await.unwrap());
        send_numbered(&a, 2).unwrap();
    });
}
