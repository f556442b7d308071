//! loom models of shimmer-xen's PV console ring: the lock-free
//! single-producer/single-consumer byte ring shared by the guest and
//! xenconsoled (`xen-backend/src/console.rs`, module doc "Indices and
//! barriers").
//!
//! # What is modelled
//! shimmer-xen's own ring code runs: `console::ByteRing`'s `produce` (the
//! guest's `ConsoleRing::write`, the backend's `write_input`) and
//! `consume` (`ConsoleRing::read`, the backend's `read_output`), with their
//! orderings, over [`Ring`], an implementation of `console::RingWords` on
//! loom's atomics (`XenconsInterface` cannot hold them: its ABI layout is
//! asserted) and with a tiny ring of [`SIZE`] bytes instead of 1024/2048.
//! Nothing is mirrored.
//!
//! # How a bug shows
//! The data bytes are atomics (as on the shared page), so a byte read
//! before its write is visible is no data race for loom: the load returns
//! an older value of the slot (its initial 0 or the previous lap's byte).
//! Every byte of the stream is distinct from both ([`byte`]), and the
//! consumer asserts that each byte it reads is the one the producer wrote
//! at that position — so a missing `Release`/`Acquire` pair on `prod`
//! fails with "read before it was written", which the negative controls
//! check. A byte lost, duplicated or reordered fails the same assertion or
//! the final index check; an index out of range panics in [`Ring`]'s
//! bounds checks.
//!
//! # Not modelled
//! * Weakening the consumer's side (`cons` published `Relaxed`): the
//!   failure would need a load to read from a store later in the other
//!   thread's program order (load buffering), which loom does not explore.
//! * Notifications (`Console`'s rule of when to send an event) and the
//!   connection handshake (`console_flow`): sequential logic, unit-tested
//!   in shimmer-xen.
#![cfg(loom)]

use std::sync::atomic::{AtomicBool as StdAtomicBool, AtomicUsize as StdAtomicUsize};

use loom::sync::atomic::{AtomicU32, AtomicU8, Ordering};
use loom::sync::Arc;
use loom::thread;
use shimmer_xen::console::{ByteRing, ConsoleError, RingWords};

/// The modelled ring's size: a power of two, like the ABI's.
const SIZE: usize = 4;

/// Where both indices start: just below 2^32, so that the free-running
/// indices wrap during the transfer as well as the positions.
const START: u32 = u32::MAX - 1;

/// The `n`-th byte of a stream: non-zero (a slot's initial value) and
/// different from the byte a lap earlier in the same slot.
fn byte(n: usize) -> u8 {
    n as u8 + 1
}

/// Which of the ring code's orderings the memory weakens: a negative
/// control runs the real code with one `Release`/`Acquire` made `Relaxed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Weaken {
    /// None: the code's own orderings.
    Nothing,
    /// `produce` publishes `prod` with `Relaxed` instead of `Release`.
    ProdStore,
    /// `consume` reads `prod` with `Relaxed` instead of `Acquire`.
    ProdLoad,
}

/// One direction of the ring on loom's atomics.
struct Ring {
    data: Vec<AtomicU8>,
    prod: AtomicU32,
    cons: AtomicU32,
    weaken: Weaken,
}

impl Ring {
    fn new(weaken: Weaken) -> Ring {
        Ring {
            data: (0..SIZE).map(|_| AtomicU8::new(0)).collect(),
            prod: AtomicU32::new(START),
            cons: AtomicU32::new(START),
            weaken,
        }
    }
}

impl RingWords for Ring {
    fn size(&self) -> usize {
        SIZE
    }
    fn data_load(&self, pos: usize, order: Ordering) -> u8 {
        assert!(pos < SIZE, "load out of bounds: {pos}");
        self.data[pos].load(order)
    }
    fn data_store(&self, pos: usize, val: u8, order: Ordering) {
        assert!(pos < SIZE, "store out of bounds: {pos}");
        self.data[pos].store(val, order)
    }
    fn prod_load(&self, order: Ordering) -> u32 {
        let order = match self.weaken {
            Weaken::ProdLoad => Ordering::Relaxed,
            _ => order,
        };
        self.prod.load(order)
    }
    fn prod_store(&self, val: u32, order: Ordering) {
        let order = match self.weaken {
            Weaken::ProdStore => Ordering::Relaxed,
            _ => order,
        };
        self.prod.store(val, order)
    }
    fn cons_load(&self, order: Ordering) -> u32 {
        self.cons.load(order)
    }
    fn cons_store(&self, val: u32, order: Ordering) {
        self.cons.store(val, order)
    }
}

/// Runs `f` under loom and reports the number of interleavings explored.
fn model(f: impl Fn() + Sync + Send + 'static) {
    let runs = std::sync::Arc::new(StdAtomicUsize::new(0));
    let counter = runs.clone();
    loom::model(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        f();
    });
    let name = std::thread::current().name().unwrap_or("?").to_owned();
    eprintln!("{name}: {} interleavings", runs.load(Ordering::Relaxed));
}

/// Asserts that `got` is the stream from position `at` on.
fn assert_stream(got: &[u8], at: usize) {
    for (k, &b) in got.iter().enumerate() {
        assert_eq!(
            b,
            byte(at + k),
            "byte {} read before it was written",
            at + k
        );
    }
}

// ---- 1. Transfer ---------------------------------------------------------

/// Bytes sent through the [`SIZE`]-byte ring: two and a half laps.
const TOTAL: usize = 10;
/// The producer offers up to a whole ring at a time (so it fills it when
/// the consumer lags); the consumer takes up to 3.
const CHUNK: usize = SIZE;
const BUF: usize = 3;

/// Model 1: a producer and a consumer thread move [`TOTAL`] bytes, each
/// retrying (with `yield_now`) when the ring is full or empty. Every byte
/// arrives exactly once, in order and with the content written at its
/// position, across the wrap of positions and of the `u32` indices; at
/// the end the indices have advanced by exactly [`TOTAL`]. `saw_full` is
/// set when a produce found the ring full, so the caller can check that
/// some interleaving exercised it.
fn transfer(weaken: Weaken, saw_full: std::sync::Arc<StdAtomicBool>) {
    model(move || {
        let ring = Arc::new(ByteRing::new(Ring::new(weaken)));
        let consumer = {
            let ring = ring.clone();
            thread::spawn(move || {
                let mut got = 0;
                let mut buf = [0u8; BUF];
                while got < TOTAL {
                    let n = ring.consume(&mut buf).unwrap();
                    assert!(got + n <= TOTAL, "read more than was written");
                    assert_stream(&buf[..n], got);
                    got += n;
                    if n == 0 {
                        thread::yield_now();
                    }
                }
            })
        };
        let data: Vec<u8> = (0..TOTAL).map(byte).collect();
        let mut sent = 0;
        while sent < TOTAL {
            let end = (sent + CHUNK).min(TOTAL);
            let n = ring.produce(&data[sent..end]).unwrap();
            sent += n;
            if n == 0 {
                saw_full.store(true, Ordering::Relaxed);
                thread::yield_now();
            }
        }
        consumer.join().unwrap();
        let end = START.wrapping_add(TOTAL as u32);
        assert_eq!(ring.words().prod.load(Ordering::Relaxed), end);
        assert_eq!(ring.words().cons.load(Ordering::Relaxed), end);
        assert_eq!(ring.used(), Ok(0));
    });
}

#[test]
fn every_byte_arrives_once_in_order_across_wrap_and_full_ring() {
    let saw_full = std::sync::Arc::new(StdAtomicBool::new(false));
    transfer(Weaken::Nothing, saw_full.clone());
    assert!(
        saw_full.load(Ordering::Relaxed),
        "no interleaving filled the ring"
    );
}

// ---- 2. A hostile backend ------------------------------------------------

/// Model 2a: the backend produces two good bytes into the guest's `in`,
/// then publishes a garbage `prod` (from [`garbage`], given the last good
/// one) while the guest reads. The guest gets some prefix of the good
/// bytes, then `BadIndices` naming indices that claim more than the ring
/// holds; that read consumed nothing (`cons` unchanged), and no load left
/// the ring ([`Ring`]'s bounds checks).
fn hostile_prod(garbage: fn(u32) -> u32) {
    model(move || {
        let ring = Arc::new(ByteRing::new(Ring::new(Weaken::Nothing)));
        let backend = {
            let ring = ring.clone();
            thread::spawn(move || {
                assert_eq!(ring.produce(&[byte(0), byte(1)]), Ok(2));
                let prod = START.wrapping_add(2);
                ring.words().prod_store(garbage(prod), Ordering::Release);
            })
        };
        let mut got = 0;
        let mut buf = [0u8; SIZE];
        loop {
            match ring.consume(&mut buf) {
                Ok(n) => {
                    assert_stream(&buf[..n], got);
                    got += n;
                    if n == 0 {
                        thread::yield_now();
                    }
                }
                Err(ConsoleError::BadIndices { prod, cons }) => {
                    assert!(prod.wrapping_sub(cons) as usize > SIZE);
                    assert_eq!(cons, START.wrapping_add(got as u32));
                    assert_eq!(ring.words().cons.load(Ordering::Relaxed), cons);
                    break;
                }
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert!(got <= 2);
        backend.join().unwrap();
    });
}

#[test]
fn hostile_prod_ahead_of_the_ring_is_bad_indices() {
    // One more than a full ring past every `cons` the guest can hold.
    hostile_prod(|prod| prod.wrapping_add(SIZE as u32 + 1));
}

#[test]
fn hostile_prod_behind_cons_is_bad_indices() {
    // Behind the start: `prod - cons` wraps to nearly 2^32.
    hostile_prod(|_| START.wrapping_sub(1));
}

/// Model 2b: the backend consumes one byte of the guest's `out`, then
/// publishes a `cons` past everything produced while the guest writes
/// [`TOTAL`] bytes. The guest's write gets `BadIndices` (and has written
/// at most a ring's worth), that write published nothing, and no store
/// left the ring.
#[test]
fn hostile_cons_ahead_of_prod_is_bad_indices() {
    model(|| {
        let ring = Arc::new(ByteRing::new(Ring::new(Weaken::Nothing)));
        let backend = {
            let ring = ring.clone();
            thread::spawn(move || {
                let mut one = [0u8; 1];
                while ring.consume(&mut one) == Ok(0) {
                    thread::yield_now();
                }
                assert_eq!(one[0], byte(0));
                let cons = START.wrapping_add(1);
                ring.words()
                    .cons_store(cons.wrapping_add(SIZE as u32 * 2), Ordering::Release);
            })
        };
        let data: Vec<u8> = (0..TOTAL).map(byte).collect();
        let mut sent = 0;
        loop {
            match ring.produce(&data[sent..]) {
                Ok(n) => {
                    sent += n;
                    // One byte consumed: at most one more than a ring.
                    assert!(sent <= SIZE + 1, "overwrote an unread byte");
                    if n == 0 {
                        thread::yield_now();
                    }
                }
                Err(ConsoleError::BadIndices { prod, cons }) => {
                    assert!(prod.wrapping_sub(cons) as usize > SIZE);
                    assert_eq!(prod, START.wrapping_add(sent as u32));
                    assert_eq!(ring.words().prod.load(Ordering::Relaxed), prod);
                    break;
                }
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        backend.join().unwrap();
    });
}

// ---- 3. Negative controls ------------------------------------------------

/// The models that must fail, by name (see `loom_tests::must_fail`).
const MUST_FAIL: &[(&str, fn())] = &[
    ("prod_published_relaxed", || {
        transfer(Weaken::ProdStore, Default::default())
    }),
    ("prod_read_relaxed", || {
        transfer(Weaken::ProdLoad, Default::default())
    }),
];

/// The child process of `expect_failure`: runs the model of
/// [`MUST_FAIL`] it names (passes at once in a normal run).
#[test]
fn must_fail_child() {
    loom_tests::must_fail::must_fail_child(MUST_FAIL);
}

/// Without the `Release` on `prod`, the consumer can see the new index and
/// still read a slot's old value: model 1 must catch it.
#[test]
fn negative_control_prod_published_relaxed_reads_unwritten_bytes() {
    loom_tests::must_fail::expect_failure("prod_published_relaxed", "read before it was written");
}

/// The same with the consumer's `Acquire` on `prod` missing.
#[test]
fn negative_control_prod_read_relaxed_reads_unwritten_bytes() {
    loom_tests::must_fail::expect_failure("prod_read_relaxed", "read before it was written");
}
