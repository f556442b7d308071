//! The PV console ring (`xencons_interface`): the guest produces into `out`
//! and consumes from `in`; xenconsoled in dom0 does the opposite.
//!
//! # Indices and barriers
//! Each direction is a byte ring with two free-running `u32` indices (they
//! wrap at 2^32, never reset; a position is `idx & (size - 1)`). The
//! producer owns `prod`, the consumer owns `cons`, and `prod - cons`
//! (wrapping) is the number of unread bytes, which must never exceed the
//! ring size.
//! * Produce: load the consumer's index with `Acquire` (the consumer has
//!   finished reading the slots it released before we overwrite them), copy
//!   the bytes, then publish `prod` with a `Release` store — the write
//!   barrier that makes the bytes visible before the index.
//! * Consume: load the producer's index with `Acquire` (the bytes it covers
//!   are visible), copy them out, then publish `cons` with `Release` (our
//!   reads are complete before the producer may reuse the slots).
//!
//! On x86_64 these compile to plain `mov`s (TSO keeps load→load,
//! store→store and load→store order), which is what the C rings' `rmb`/
//! `wmb` compiler barriers amount to there; the atomics make the same
//! protocol correct on the host's threads in the tests.
//!
//! [`ByteRing`] is this protocol, over the ring memory of a [`RingWords`]:
//! each direction of the [`XenconsInterface`] page here, loom's atomics in
//! the model check of `loom-tests/tests/xen_console.rs`, which runs the same
//! `produce`/`consume` and shows that dropping the `Release`/`Acquire` pair
//! on `prod` lets the consumer read bytes not yet written.
//!
//! # A hostile or broken backend
//! Everything the backend writes is read once into a local and validated:
//! if `prod - cons` exceeds the ring size, the operation returns
//! [`ConsoleError::BadIndices`] and touches nothing. Positions are always
//! masked, so no index value can reach outside the arrays.
//!
//! # When to notify
//! xenconsoled has no event index (no `req_event`-style suppression): it
//! looks at the ring whenever the guest's event channel fires, and it
//! notifies the guest after it has consumed output and after it has put
//! input in. So the guest notifies exactly when it changed an index the
//! daemon waits on: after a write that produced at least one byte (new
//! output to drain) and after a read that consumed at least one byte (room
//! for more input). A write that fit nothing or a read that found nothing
//! changed nothing and sends nothing. [`Console`] applies that rule.

use core::fmt;
use core::sync::atomic::Ordering;

use crate::abi::console::{XenconsInterface, XENCONS_IN_SIZE, XENCONS_OUT_SIZE};
use crate::error::XenError;
use crate::hypervisor::{Hypervisor, Port};

/// A console ring error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsoleError {
    /// The indices in shared memory claim more unread bytes than the ring
    /// holds: the backend is broken or hostile. Nothing was copied.
    BadIndices {
        /// Producer index read.
        prod: u32,
        /// Consumer index read.
        cons: u32,
    },
    /// Notifying the backend failed.
    Notify(XenError),
}

impl fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConsoleError::BadIndices { prod, cons } => write!(
                f,
                "console ring indices out of range (prod {prod}, cons {cons})"
            ),
            ConsoleError::Notify(e) => write!(f, "console notification failed: {e}"),
        }
    }
}

impl core::error::Error for ConsoleError {}

/// The memory of one direction of a byte ring — its data and its two
/// indices — one atomic operation per method, the ordering passed in by
/// [`ByteRing`] (so the orderings live in this module, next to the
/// protocol).
///
/// The trait exists for the loom model of the protocol
/// (`loom-tests/tests/xen_console.rs`): [`XenconsInterface`]'s ABI layout
/// cannot hold loom's atomics, so the model implements `RingWords` over
/// them — with a tiny ring — and runs this module's own
/// [`produce`](ByteRing::produce) and [`consume`](ByteRing::consume).
/// The two directions of [`XenconsInterface`] are the real
/// implementations.
pub trait RingWords {
    /// The ring's size in bytes: a power of two, at most 2^31.
    fn size(&self) -> usize;
    /// Loads the byte at `pos` (`pos < size()`).
    fn data_load(&self, pos: usize, order: Ordering) -> u8;
    /// Stores `val` at `pos` (`pos < size()`).
    fn data_store(&self, pos: usize, val: u8, order: Ordering);
    /// Loads the producer index.
    fn prod_load(&self, order: Ordering) -> u32;
    /// Stores the producer index.
    fn prod_store(&self, val: u32, order: Ordering);
    /// Loads the consumer index.
    fn cons_load(&self, order: Ordering) -> u32;
    /// Stores the consumer index.
    fn cons_store(&self, val: u32, order: Ordering);
}

/// `out` of a [`XenconsInterface`] (guest → backend).
#[derive(Clone, Copy)]
struct Output<'a>(&'a XenconsInterface);

/// `in` of a [`XenconsInterface`] (backend → guest).
#[derive(Clone, Copy)]
struct Input<'a>(&'a XenconsInterface);

impl RingWords for Output<'_> {
    fn size(&self) -> usize {
        XENCONS_OUT_SIZE
    }
    fn data_load(&self, pos: usize, order: Ordering) -> u8 {
        self.0.output[pos].load(order)
    }
    fn data_store(&self, pos: usize, val: u8, order: Ordering) {
        self.0.output[pos].store(val, order)
    }
    fn prod_load(&self, order: Ordering) -> u32 {
        self.0.out_prod.load(order)
    }
    fn prod_store(&self, val: u32, order: Ordering) {
        self.0.out_prod.store(val, order)
    }
    fn cons_load(&self, order: Ordering) -> u32 {
        self.0.out_cons.load(order)
    }
    fn cons_store(&self, val: u32, order: Ordering) {
        self.0.out_cons.store(val, order)
    }
}

impl RingWords for Input<'_> {
    fn size(&self) -> usize {
        XENCONS_IN_SIZE
    }
    fn data_load(&self, pos: usize, order: Ordering) -> u8 {
        self.0.input[pos].load(order)
    }
    fn data_store(&self, pos: usize, val: u8, order: Ordering) {
        self.0.input[pos].store(val, order)
    }
    fn prod_load(&self, order: Ordering) -> u32 {
        self.0.in_prod.load(order)
    }
    fn prod_store(&self, val: u32, order: Ordering) {
        self.0.in_prod.store(val, order)
    }
    fn cons_load(&self, order: Ordering) -> u32 {
        self.0.in_cons.load(order)
    }
    fn cons_store(&self, val: u32, order: Ordering) {
        self.0.in_cons.store(val, order)
    }
}

/// One direction of a byte ring: the protocol of the module doc over any
/// [`RingWords`]. [`ConsoleRing`] and [`ConsoleBackendRing`] are the
/// interface to use; this is public for the loom model.
pub struct ByteRing<W> {
    words: W,
}

impl<W: RingWords> ByteRing<W> {
    /// The ring whose memory is `words`.
    pub fn new(words: W) -> ByteRing<W> {
        debug_assert!(words.size().is_power_of_two() && words.size() <= 1 << 31);
        ByteRing { words }
    }

    /// The ring's memory.
    pub fn words(&self) -> &W {
        &self.words
    }

    fn mask(&self) -> u32 {
        // Sizes are powers of two (asserted in abi::console), and <= 2^31.
        self.words.size() as u32 - 1
    }

    fn check(&self, prod: u32, cons: u32) -> Result<u32, ConsoleError> {
        let used = prod.wrapping_sub(cons);
        if used as usize > self.words.size() {
            Err(ConsoleError::BadIndices { prod, cons })
        } else {
            Ok(used)
        }
    }

    /// Producer side: copies what fits of `bytes`, publishes `prod`.
    /// Returns the number copied (0 when the ring is full).
    pub fn produce(&self, bytes: &[u8]) -> Result<usize, ConsoleError> {
        let cons = self.words.cons_load(Ordering::Acquire);
        let prod = self.words.prod_load(Ordering::Relaxed);
        let used = self.check(prod, cons)?;
        let free = self.words.size() - used as usize;
        let n = free.min(bytes.len());
        if n == 0 {
            return Ok(0);
        }
        let mask = self.mask();
        for (i, &b) in bytes[..n].iter().enumerate() {
            let pos = prod.wrapping_add(i as u32) & mask;
            self.words.data_store(pos as usize, b, Ordering::Relaxed);
        }
        // Write barrier: the bytes before the index that announces them.
        self.words
            .prod_store(prod.wrapping_add(n as u32), Ordering::Release);
        Ok(n)
    }

    /// Consumer side: copies what is there (up to `buf.len()`), publishes
    /// `cons`. Returns the number copied (0 when the ring is empty).
    pub fn consume(&self, buf: &mut [u8]) -> Result<usize, ConsoleError> {
        let prod = self.words.prod_load(Ordering::Acquire);
        let cons = self.words.cons_load(Ordering::Relaxed);
        let used = self.check(prod, cons)?;
        let n = (used as usize).min(buf.len());
        if n == 0 {
            return Ok(0);
        }
        let mask = self.mask();
        for (i, slot) in buf[..n].iter_mut().enumerate() {
            let pos = cons.wrapping_add(i as u32) & mask;
            *slot = self.words.data_load(pos as usize, Ordering::Relaxed);
        }
        // Our reads are done before the producer may reuse the slots.
        self.words
            .cons_store(cons.wrapping_add(n as u32), Ordering::Release);
        Ok(n)
    }

    /// Unread bytes.
    pub fn used(&self) -> Result<usize, ConsoleError> {
        let prod = self.words.prod_load(Ordering::Acquire);
        let cons = self.words.cons_load(Ordering::Acquire);
        self.check(prod, cons).map(|u| u as usize)
    }
}

/// The guest's side of a console ring: pure memory logic, no notification.
#[derive(Clone, Copy)]
pub struct ConsoleRing<'a> {
    ring: &'a XenconsInterface,
}

impl<'a> ConsoleRing<'a> {
    /// The guest side of `ring` (whatever its indices currently are: a boot
    /// stage may already have used it).
    pub fn new(ring: &'a XenconsInterface) -> ConsoleRing<'a> {
        ConsoleRing { ring }
    }

    fn out(&self) -> ByteRing<Output<'a>> {
        ByteRing::new(Output(self.ring))
    }

    fn inp(&self) -> ByteRing<Input<'a>> {
        ByteRing::new(Input(self.ring))
    }

    /// Copies as much of `bytes` as fits into `out` and publishes it.
    /// Returns the number written (0 when the ring is full: nothing unread
    /// is ever overwritten).
    pub fn write(&self, bytes: &[u8]) -> Result<usize, ConsoleError> {
        self.out().produce(bytes)
    }

    /// Consumes up to `buf.len()` bytes of `in`. Returns the number read.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize, ConsoleError> {
        self.inp().consume(buf)
    }

    /// Free space in `out`.
    pub fn write_space(&self) -> Result<usize, ConsoleError> {
        self.out().used().map(|u| XENCONS_OUT_SIZE - u)
    }

    /// Unread bytes in `in`.
    pub fn readable(&self) -> Result<usize, ConsoleError> {
        self.inp().used()
    }

    /// Size of `out`: [`write_space`](Self::write_space) when the backend
    /// has taken everything.
    pub const fn capacity(&self) -> usize {
        XENCONS_OUT_SIZE
    }
}

/// The backend's side of a console ring (what xenconsoled does): consumes
/// `out`, produces `in`. For the in-process simulator and tests.
#[derive(Clone, Copy)]
pub struct ConsoleBackendRing<'a> {
    ring: &'a XenconsInterface,
}

impl<'a> ConsoleBackendRing<'a> {
    /// The backend side of `ring`.
    pub fn new(ring: &'a XenconsInterface) -> ConsoleBackendRing<'a> {
        ConsoleBackendRing { ring }
    }

    /// Drains up to `buf.len()` bytes of the guest's output.
    pub fn read_output(&self, buf: &mut [u8]) -> Result<usize, ConsoleError> {
        ByteRing::new(Output(self.ring)).consume(buf)
    }

    /// Offers input to the guest; returns what fit.
    pub fn write_input(&self, bytes: &[u8]) -> Result<usize, ConsoleError> {
        ByteRing::new(Input(self.ring)).produce(bytes)
    }
}

const _: () = assert!(XENCONS_IN_SIZE <= 1 << 31 && XENCONS_OUT_SIZE <= 1 << 31);

/// A console: the ring plus its event channel, notifying the backend
/// exactly when an index it waits on moved (see the module doc).
pub struct Console<'a, H: Hypervisor> {
    ring: ConsoleRing<'a>,
    port: Port,
    hv: H,
}

impl<'a, H: Hypervisor> Console<'a, H> {
    /// A console on `ring` whose backend listens on `port`.
    pub fn new(hv: H, ring: &'a XenconsInterface, port: Port) -> Console<'a, H> {
        Console {
            ring: ConsoleRing::new(ring),
            port,
            hv,
        }
    }

    /// The event channel (for waiting on the backend).
    pub fn port(&self) -> Port {
        self.port
    }

    /// The ring.
    pub fn ring(&self) -> ConsoleRing<'a> {
        self.ring
    }

    /// Writes what fits and notifies if anything was written.
    pub fn write(&self, bytes: &[u8]) -> Result<usize, ConsoleError> {
        let n = self.ring.write(bytes)?;
        if n > 0 {
            self.hv
                .evtchn_send(self.port)
                .map_err(ConsoleError::Notify)?;
        }
        Ok(n)
    }

    /// Notifies the backend (also when no index moved: xenconsoled may have
    /// connected after the last notification; see `console_flow`).
    pub fn notify(&self) -> Result<(), ConsoleError> {
        self.hv.evtchn_send(self.port).map_err(ConsoleError::Notify)
    }

    /// Reads what is there and notifies if anything was consumed.
    pub fn read(&self, buf: &mut [u8]) -> Result<usize, ConsoleError> {
        let n = self.ring.read(buf)?;
        if n > 0 {
            self.hv
                .evtchn_send(self.port)
                .map_err(ConsoleError::Notify)?;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeXen;
    use proptest::prelude::*;
    use std::boxed::Box;
    use std::sync::Arc;
    use std::vec;
    use std::vec::Vec;

    fn ring() -> Box<XenconsInterface> {
        Box::new(XenconsInterface::zeroed())
    }

    fn set_out(r: &XenconsInterface, prod: u32, cons: u32) {
        r.out_prod.store(prod, Ordering::Relaxed);
        r.out_cons.store(cons, Ordering::Relaxed);
    }

    #[test]
    fn write_then_backend_reads_the_same_bytes() {
        let r = ring();
        let g = ConsoleRing::new(&r);
        assert_eq!(g.write(b"hello"), Ok(5));
        assert_eq!(r.out_prod.load(Ordering::Relaxed), 5);
        let mut buf = [0; 16];
        let n = ConsoleBackendRing::new(&r).read_output(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"hello");
        assert_eq!(r.out_cons.load(Ordering::Relaxed), 5);
    }

    #[test]
    fn indices_wrap_at_two_to_the_32() {
        let r = ring();
        let start = u32::MAX - 2;
        set_out(&r, start, start);
        let g = ConsoleRing::new(&r);
        assert_eq!(g.write(b"abcdef"), Ok(6));
        assert_eq!(r.out_prod.load(Ordering::Relaxed), 3, "wrapped past 2^32");
        // Bytes land at positions start.. masked: 2045, 2046, 2047, 0, 1, 2.
        let pos = |i: u32| (start.wrapping_add(i) & (XENCONS_OUT_SIZE as u32 - 1)) as usize;
        assert_eq!(pos(0), 2045);
        for (i, &b) in b"abcdef".iter().enumerate() {
            assert_eq!(r.output[pos(i as u32)].load(Ordering::Relaxed), b);
        }
        let mut buf = [0; 8];
        let n = ConsoleBackendRing::new(&r).read_output(&mut buf).unwrap();
        assert_eq!(&buf[..n], b"abcdef");
        // Input side wraps too.
        r.in_prod.store(u32::MAX, Ordering::Relaxed);
        r.in_cons.store(u32::MAX, Ordering::Relaxed);
        assert_eq!(ConsoleBackendRing::new(&r).write_input(b"xyz"), Ok(3));
        let mut buf = [0; 8];
        assert_eq!(g.read(&mut buf), Ok(3));
        assert_eq!(&buf[..3], b"xyz");
        assert_eq!(r.in_cons.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn full_ring_writes_nothing_and_overwrites_nothing() {
        let r = ring();
        let g = ConsoleRing::new(&r);
        let data: Vec<u8> = (0..XENCONS_OUT_SIZE).map(|i| i as u8).collect();
        assert_eq!(g.write(&data), Ok(XENCONS_OUT_SIZE));
        assert_eq!(g.write_space(), Ok(0));
        assert_eq!(g.write(b"more"), Ok(0));
        assert_eq!(r.out_prod.load(Ordering::Relaxed), XENCONS_OUT_SIZE as u32);
        for (i, b) in r.output.iter().enumerate() {
            assert_eq!(b.load(Ordering::Relaxed), i as u8, "slot {i} overwritten");
        }
    }

    #[test]
    fn partial_write_takes_what_fits() {
        let r = ring();
        set_out(&r, 100, 100u32.wrapping_sub(2040)); // 2040 unread: 8 free
        let g = ConsoleRing::new(&r);
        assert_eq!(g.write(&[7u8; 20]), Ok(8));
        assert_eq!(g.write(&[7u8; 20]), Ok(0));
        assert_eq!(r.out_prod.load(Ordering::Relaxed), 108);
        // Reading with a small buffer takes part of the input.
        let b = ConsoleBackendRing::new(&r);
        assert_eq!(b.write_input(&[1, 2, 3, 4, 5]), Ok(5));
        let mut two = [0; 2];
        assert_eq!(g.read(&mut two), Ok(2));
        assert_eq!(two, [1, 2]);
        assert_eq!(g.readable(), Ok(3));
        let mut empty: [u8; 0] = [];
        assert_eq!(g.read(&mut empty), Ok(0));
        assert_eq!(g.write(&[]), Ok(0));
    }

    #[test]
    fn hostile_indices_are_an_error_not_a_panic() {
        let r = ring();
        let g = ConsoleRing::new(&r);
        // Backend claims to have consumed bytes never produced: prod - cons
        // wraps to a huge value.
        set_out(&r, 10, 20);
        assert_eq!(
            g.write(b"x"),
            Err(ConsoleError::BadIndices { prod: 10, cons: 20 })
        );
        assert_eq!(r.out_prod.load(Ordering::Relaxed), 10, "nothing published");
        assert!(g.write_space().is_err());
        // Backend claims more input than the ring holds.
        r.in_prod.store(5000, Ordering::Relaxed);
        let mut buf = [0; 4096];
        assert_eq!(
            g.read(&mut buf),
            Err(ConsoleError::BadIndices {
                prod: 5000,
                cons: 0
            })
        );
        assert_eq!(r.in_cons.load(Ordering::Relaxed), 0);
        // Exactly full is legal.
        r.in_prod.store(XENCONS_IN_SIZE as u32, Ordering::Relaxed);
        assert_eq!(g.read(&mut buf), Ok(XENCONS_IN_SIZE));
    }

    #[test]
    fn notifies_only_when_an_index_moved() {
        let r = ring();
        let xen = FakeXen::new();
        let c = Console::new(&xen, &r, Port(3));
        assert_eq!(c.write(b"hi"), Ok(2));
        assert_eq!(xen.sends(), vec![Port(3)]);
        let mut buf = [0; 4];
        assert_eq!(c.read(&mut buf), Ok(0), "no input");
        assert_eq!(c.write(&[]), Ok(0));
        assert_eq!(xen.sends().len(), 1, "nothing moved: no notification");
        // Fill the ring: the write that fits nothing does not notify.
        assert_eq!(c.write(&[0; 4096]), Ok(XENCONS_OUT_SIZE - 2));
        assert_eq!(xen.sends().len(), 2);
        assert_eq!(c.write(b"x"), Ok(0));
        assert_eq!(xen.sends().len(), 2);
        // Input consumed: notify (room for more input).
        ConsoleBackendRing::new(&r).write_input(b"in").unwrap();
        assert_eq!(c.read(&mut buf), Ok(2));
        assert_eq!(xen.sends().len(), 3);
        // A hostile ring is an error and sends nothing.
        set_out(&r, 0, 9999);
        assert!(c.write(b"x").is_err());
        assert_eq!(xen.sends().len(), 3);
        // A failing notification is reported.
        set_out(&r, 0, 0);
        xen.fail_sends(XenError::Inval);
        assert_eq!(c.write(b"x"), Err(ConsoleError::Notify(XenError::Inval)));
    }

    fn pattern(i: usize) -> u8 {
        (i.wrapping_mul(31) ^ (i >> 11)) as u8
    }

    #[test]
    fn one_megabyte_through_a_concurrent_consumer_keeps_order() {
        // 1 MiB; a smaller run under Miri, which checks the same protocol
        // for data races and weak-memory effects.
        const TOTAL: usize = if cfg!(miri) { 1 << 13 } else { 1 << 20 };
        let r = Arc::new(XenconsInterface::zeroed());
        // Start near the wrap so that it is crossed on the way.
        set_out(&r, u32::MAX - 5000, u32::MAX - 5000);
        let consumer = {
            let r = r.clone();
            std::thread::spawn(move || {
                let b = ConsoleBackendRing::new(&r);
                let mut got = 0usize;
                let mut buf = [0u8; 777];
                while got < TOTAL {
                    let n = b.read_output(&mut buf).unwrap();
                    for (k, &byte) in buf[..n].iter().enumerate() {
                        assert_eq!(byte, pattern(got + k), "byte {}", got + k);
                    }
                    got += n;
                    if n == 0 {
                        std::thread::yield_now();
                    }
                }
                got
            })
        };
        let g = ConsoleRing::new(&r);
        let data: Vec<u8> = (0..TOTAL).map(pattern).collect();
        let mut sent = 0;
        let mut chunk = 1;
        while sent < TOTAL {
            let end = (sent + chunk).min(TOTAL);
            let n = g.write(&data[sent..end]).unwrap();
            sent += n;
            chunk = chunk % 3000 + 13; // varied sizes, some larger than the ring
            if n == 0 {
                std::thread::yield_now();
            }
        }
        assert_eq!(consumer.join().unwrap(), TOTAL);
        assert_eq!(g.write_space(), Ok(XENCONS_OUT_SIZE));
    }

    proptest! {
        #[test]
        fn any_indices_never_panic_and_respect_capacity(prod in any::<u32>(), cons in any::<u32>(),
                                                        len in 0usize..5000) {
            let r = ring();
            set_out(&r, prod, cons);
            r.in_prod.store(prod, Ordering::Relaxed);
            r.in_cons.store(cons, Ordering::Relaxed);
            let g = ConsoleRing::new(&r);
            let used = prod.wrapping_sub(cons) as usize;
            let w = g.write(&vec![1u8; len]);
            if used > XENCONS_OUT_SIZE {
                prop_assert!(w.is_err());
            } else {
                prop_assert_eq!(w, Ok(len.min(XENCONS_OUT_SIZE - used)));
            }
            let mut buf = vec![0u8; len];
            let rd = g.read(&mut buf);
            if used > XENCONS_IN_SIZE {
                prop_assert!(rd.is_err());
            } else {
                prop_assert_eq!(rd, Ok(len.min(used)));
            }
        }
    }
}
