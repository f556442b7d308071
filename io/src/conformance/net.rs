//! The [`Net`] suite.

use alloc::rc::Rc;
use alloc::vec::Vec;
use core::future::Future;
use core::time::Duration;

use shimmer_executor::{sleep, spawn, timeout};

use super::support::{
    bounded, cancel_after, cancel_points, check, check_no_leak, fail, pattern, suite_pool, Outcome,
};
use crate::net::{LinkState, Net, ETHERNET_HEADER_LEN};
use crate::page::{Buf, PagePool, PAGE_SIZE};
use crate::Error;

const S: &str = "net";

/// The EtherType of the suite's frames (IEEE 802 local experimental).
const ETHERTYPE: [u8; 2] = [0x88, 0xb5];
/// Follows the EtherType in every suite frame, so that other traffic on a
/// real device (a kernel's router solicitations on a TAP) is ignored.
const MAGIC: [u8; 4] = *b"shmr";
/// The shortest frame the suite sends: Ethernet's minimum without FCS
/// (a real NIC pads shorter ones).
const MIN_FRAME: usize = 60;

/// Checks every [`Net`] contract on pairs made by `make_pair(pool)`: two
/// ends of a lossless link (frames arrive, in order) whose pages come from
/// `pool`. Identity (MACs, MTU, link up), frames of every size arriving
/// whole and unchanged in both directions, a `fill` using less than it was
/// given, refused sends (too large, a lying `fill`) sending nothing,
/// readiness and back-pressure under a burst, counters, and cancellation of
/// `recv` and `send_ready` at each await point (no frame lost).
///
/// # Panics
/// On the first broken contract, naming it.
pub async fn net<A, B, M, Fut>(mut make_pair: M)
where
    A: Net + 'static,
    B: Net + 'static,
    M: FnMut(PagePool) -> Fut,
    Fut: Future<Output = (A, B)>,
{
    let pool = suite_pool();
    macro_rules! case {
        ($name:expr, $body:expr) => {{
            let (a, b) = make_pair(pool.clone()).await;
            bounded(S, $name, $body(Rc::new(a), Rc::new(b))).await;
            check_no_leak(S, $name, &pool).await;
        }};
    }
    case!("identity", identity);
    case!("frames", frames);
    case!("short fill", short_fill);
    case!("refused sends", refusals);
    case!("burst in order", burst);
    cancel_recv(&mut make_pair, &pool).await;
}

/// Fills a suite frame from `from` to `to` carrying `seq`, `len` bytes.
fn fill_frame(frame: &mut [u8], to: [u8; 6], from: [u8; 6], seq: u32) {
    frame[..6].copy_from_slice(&to);
    frame[6..12].copy_from_slice(&from);
    frame[12..14].copy_from_slice(&ETHERTYPE);
    frame[14..18].copy_from_slice(&MAGIC);
    frame[18..22].copy_from_slice(&seq.to_be_bytes());
    let body = pattern(seq as u8, frame.len() - 22);
    frame[22..].copy_from_slice(&body);
}

fn is_ours(frame: &[u8]) -> bool {
    frame.len() >= 22 && frame[12..14] == ETHERTYPE && frame[14..18] == MAGIC
}

fn seq_of(frame: &[u8]) -> u32 {
    u32::from_be_bytes([frame[18], frame[19], frame[20], frame[21]])
}

/// Sends one suite frame of `len` bytes once the device is ready.
async fn send<N: Net>(case: &str, net: &N, to: [u8; 6], seq: u32, len: usize) {
    if let Err(e) = net.send_ready().await {
        fail(S, case, format_args!("send_ready: {e}"));
    }
    let from = net.mac().0;
    let r = net.send(len, |f| {
        fill_frame(f, to, from, seq);
        len
    });
    if let Err(e) = r {
        fail(S, case, format_args!("send({len}): {e}"));
    }
}

/// The next suite frame received (other traffic is skipped).
async fn recv_ours<N: Net>(case: &str, net: &N) -> Buf {
    loop {
        match net.recv().await {
            Ok(frame) if is_ours(&frame) => return frame,
            Ok(_) => continue,
            Err(e) => fail(S, case, format_args!("recv: {e}")),
        }
    }
}

async fn identity<A: Net, B: Net>(a: Rc<A>, b: Rc<B>) {
    let case = "identity";
    check!(
        S,
        case,
        a.mac() != b.mac(),
        "the two ends share a MAC ({})",
        a.mac()
    );
    for (mac, mtu, max, link) in [
        (a.mac(), a.mtu(), a.max_frame_len(), a.link()),
        (b.mac(), b.mtu(), b.max_frame_len(), b.link()),
    ] {
        check!(S, case, !mac.is_multicast(), "{mac} is a group address");
        check!(S, case, mtu >= 68, "MTU {mtu} is below IPv4's minimum");
        check!(
            S,
            case,
            max >= mtu + ETHERNET_HEADER_LEN && max <= PAGE_SIZE,
            "max_frame_len {max} for MTU {mtu}"
        );
        check!(S, case, link == LinkState::Up, "the link must be up");
    }
}

async fn frames<A: Net, B: Net>(a: Rc<A>, b: Rc<B>) {
    let case = "frames";
    let (tx0, rx0) = (a.stats(), b.stats());
    let max = a.max_frame_len().min(b.max_frame_len());
    let sizes = [MIN_FRAME, MIN_FRAME + 1, 100, 1000, max - 1, max];
    for (i, &len) in sizes.iter().enumerate() {
        send(case, &*a, b.mac().0, i as u32, len).await;
        let frame = recv_ours(case, &*b).await;
        let mut expect = alloc::vec![0u8; len];
        fill_frame(&mut expect, b.mac().0, a.mac().0, i as u32);
        check!(
            S,
            case,
            frame[..] == expect[..],
            "a {len}-byte frame arrived as {} bytes, or changed",
            frame.len()
        );
        // And back.
        send(case, &*b, a.mac().0, 100 + i as u32, len).await;
        let back = recv_ours(case, &*a).await;
        check!(
            S,
            case,
            back.len() == len && seq_of(&back) == 100 + i as u32,
            "b→a frame of {len} bytes"
        );
    }
    let (tx, rx) = (a.stats(), b.stats());
    check!(
        S,
        case,
        tx.tx_frames - tx0.tx_frames == sizes.len() as u64,
        "tx_frames counted {} of {}",
        tx.tx_frames - tx0.tx_frames,
        sizes.len()
    );
    check!(
        S,
        case,
        rx.rx_frames - rx0.rx_frames >= sizes.len() as u64,
        "rx_frames counted {}",
        rx.rx_frames - rx0.rx_frames
    );
    let bytes: usize = sizes.iter().sum();
    check!(
        S,
        case,
        tx.tx_bytes - tx0.tx_bytes == bytes as u64,
        "tx_bytes"
    );
}

async fn short_fill<A: Net, B: Net>(a: Rc<A>, b: Rc<B>) {
    let case = "short fill";
    a.send_ready().await.expect("send_ready");
    let (to, from) = (b.mac().0, a.mac().0);
    a.send(a.max_frame_len(), |f| {
        fill_frame(&mut f[..80], to, from, 5);
        80
    })
    .expect("send");
    let frame = recv_ours(case, &*b).await;
    check!(
        S,
        case,
        frame.len() == 80 && seq_of(&frame) == 5,
        "a frame whose fill used 80 bytes arrived as {} bytes",
        frame.len()
    );
}

async fn refusals<A: Net, B: Net>(a: Rc<A>, b: Rc<B>) {
    let case = "refused sends";
    a.send_ready().await.expect("send_ready");
    let errors0 = a.stats().tx_errors;
    let mut called = false;
    let r = a.send(a.max_frame_len() + 1, |_| {
        called = true;
        0
    });
    check!(
        S,
        case,
        r == Err(Error::TooLarge),
        "send(max_frame_len + 1): {r:?}, want TooLarge"
    );
    check!(
        S,
        case,
        !called,
        "fill must not be called for a refused send"
    );
    let r = a.send(usize::MAX, |_| 0);
    check!(
        S,
        case,
        r == Err(Error::TooLarge),
        "send(usize::MAX): {r:?}, want TooLarge"
    );
    a.send_ready().await.expect("send_ready");
    let (to, from) = (b.mac().0, a.mac().0);
    let r = a.send(100, |f| {
        fill_frame(f, to, from, 66);
        101
    });
    check!(
        S,
        case,
        r == Err(Error::InvalidInput),
        "a fill claiming 101 of 100 bytes: {r:?}, want InvalidInput"
    );
    check!(
        S,
        case,
        a.stats().tx_errors >= errors0 + 3,
        "tx_errors must count refused sends"
    );
    // None of them was sent: the next suite frame b sees is this one.
    send(case, &*a, to, 67, 100).await;
    let frame = recv_ours(case, &*b).await;
    check!(
        S,
        case,
        seq_of(&frame) == 67,
        "a refused frame (seq {}) was sent",
        seq_of(&frame)
    );
}

async fn burst<A: Net + 'static, B: Net + 'static>(a: Rc<A>, b: Rc<B>) {
    const N: u32 = 2000;
    let to = b.mac().0;
    let receiver = spawn({
        let b = b.clone();
        async move {
            let mut seqs = Vec::new();
            while seqs.len() < N as usize {
                // A lossless link delivers the next frame well within this.
                match timeout(Duration::from_secs(1), recv_ours("burst in order", &*b)).await {
                    Ok(frame) => seqs.push(seq_of(&frame)),
                    Err(_) => fail(
                        S,
                        "burst in order",
                        format_args!(
                            "{} of {N} frames arrived (lost frames on a lossless link)",
                            seqs.len()
                        ),
                    ),
                }
            }
            seqs
        }
    });
    for seq in 0..N {
        send("burst in order", &*a, to, seq, 64).await;
    }
    let seqs = receiver.await.expect("receiver task");
    check!(
        S,
        "burst in order",
        seqs == (0..N).collect::<Vec<_>>(),
        "frames of a burst must all arrive, in order, on a lossless link"
    );
}

/// `recv` (and `send_ready`) dropped at each await point: no frame lost.
async fn cancel_recv<A, B, M, Fut>(make_pair: &mut M, pool: &PagePool)
where
    A: Net + 'static,
    B: Net + 'static,
    M: FnMut(PagePool) -> Fut,
    Fut: Future<Output = (A, B)>,
{
    let case = "cancel recv";
    let mut completed = false;
    for k in cancel_points() {
        let (a, b) = make_pair(pool.clone()).await;
        let (a, b) = (Rc::new(a), Rc::new(b));
        let to = b.mac().0;
        let sender = spawn({
            let a = a.clone();
            async move {
                sleep(Duration::from_millis(1)).await;
                send("cancel recv", &*a, to, 1234, 100).await;
            }
        });
        let outcome = bounded(S, case, cancel_after(k, recv_ours(case, &*b))).await;
        bounded(S, case, sender).await.expect("sender task");
        let done = match outcome {
            Outcome::Done(frame) => {
                check!(S, case, seq_of(&frame) == 1234, "wrong frame");
                true
            }
            Outcome::Cancelled => {
                let frame = bounded(S, case, recv_ours(case, &*b)).await;
                check!(
                    S,
                    case,
                    seq_of(&frame) == 1234,
                    "after dropping recv at await point {k}, the frame must still arrive"
                );
                false
            }
        };
        // send_ready dropped and retried.
        let _ = cancel_after(k, a.send_ready()).await;
        bounded(S, case, send(case, &*a, to, 1235, 100)).await;
        let frame = bounded(S, case, recv_ours(case, &*b)).await;
        check!(
            S,
            case,
            seq_of(&frame) == 1235,
            "the device must work after a dropped send_ready"
        );
        drop(frame);
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
    // A quiet device stays quiet: no frame made up.
    let (a, b) = make_pair(pool.clone()).await;
    let r = timeout(Duration::from_millis(20), recv_ours(case, &b)).await;
    check!(S, case, r.is_err(), "a frame arrived that nobody sent");
    drop((a, b));
    check_no_leak(S, case, pool).await;
}
