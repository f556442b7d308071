//! The event-channel side of the reactor: which ports are bound, which task
//! waits on each, and the scan that turns Xen's pending bits into wakes.
//!
//! # The scheme: masked ports, direct scan of the bound ports
//! shimmer takes no interrupts on Xen (the prebuilt `core` uses the red
//! zone, and a reactor that blocks in `SCHEDOP_poll` does not need them).
//! Two interrupt-free schemes exist (docs/xen-abi.md §2–3): keep ports
//! unmasked and scan through `evtchn_pending_sel`, or keep them **masked**
//! and read the `evtchn_pending` words of the bound ports directly. shimmer
//! masks every port it binds and scans directly, because:
//! * `SCHEDOP_poll` ignores masks: it returns when a listed port's pending
//!   bit is set, so masked ports still wake the poll;
//! * a masked port never sets `evtchn_pending_sel` or `upcall_pending`, so
//!   nothing can make "events need delivery" true behind the reactor's back,
//!   and no stray upcall state has to be kept consistent;
//! * the scan reads only the ≤ 128 bound ports' words (the poll limit), no
//!   matter which other ports exist.
//!
//! `SCHEDOP_poll` also returns at once when "events need delivery"; on PVH
//! that means a callback interrupt pending and not blocked by RFLAGS.IF.
//! shimmer registers no callback vector and runs with IF=0, so that
//! condition is never true and only the listed ports' pending bits (or the
//! deadline) end a poll.
//!
//! The trap of that choice — a masked port that fires sets only its pending
//! bit, so a scan through `pending_sel` would find nothing and the next poll
//! would return at once, forever — cannot happen here: the scan never looks
//! at `pending_sel`, it clears the pending bit of **every** bound port it
//! finds set (whether or not a task is waiting), and it latches the event in
//! the table for a task that waits later. So after a scan, no listed port is
//! pending unless it fired again, and the next poll blocks.
//!
//! # Clearing order
//! Each word is cleared with one atomic `fetch_and` of exactly the bound
//! bits seen set, *before* any waker runs. A port Xen raises after that
//! `fetch_and` sets its bit again and is found by the next scan (or makes
//! the next poll return at once); one raised between the load and the
//! `fetch_and` is in the `fetch_and`'s previous value and handled now. An
//! event is thus never lost, only possibly reported twice, and a spurious
//! wake is harmless (the task re-checks its ring and waits again).
//!
//! # Two waiters per port
//! Some devices use one event channel for both directions: the console
//! (input arrived / output consumed), and netfront without split event
//! channels. A task reading and a task writing then wait on the same port,
//! so each port has one waiter per [`Side`], and an event is latched for
//! both: each side takes its own copy. One side that finds the pending bit
//! set (and clears it) latches the event for the other side and wakes it.

use alloc::boxed::Box;
use core::fmt;
use core::sync::atomic::Ordering;
use core::task::{Context, Poll, Waker};

use crate::abi::shared_info::{SharedInfo, EVTCHN_WORDS};
use crate::abi::{EVTCHN_2L_NR_CHANNELS, SCHEDOP_POLL_MAX_PORTS};
use crate::error::XenError;
use crate::hypervisor::Port;

/// Most ports one reactor can wait on: what one `SCHEDOP_poll` accepts.
pub const MAX_PORTS: usize = SCHEDOP_POLL_MAX_PORTS;

/// An event-channel reactor error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventError {
    /// [`MAX_PORTS`] ports are bound already.
    TableFull,
    /// The port is bound already.
    AlreadyBound(Port),
    /// The port is not bound (or was unbound while a task waited on it).
    NotBound(Port),
    /// Port 0 (reserved) or beyond the 2-level ABI's 4096.
    BadPort(Port),
    /// A hypercall failed.
    Xen(XenError),
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EventError::TableFull => write!(f, "event table full ({MAX_PORTS} ports)"),
            EventError::AlreadyBound(p) => write!(f, "{p} is already bound"),
            EventError::NotBound(p) => write!(f, "{p} is not bound"),
            EventError::BadPort(p) => write!(f, "{p} is not a valid port"),
            EventError::Xen(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for EventError {}

impl From<XenError> for EventError {
    fn from(e: XenError) -> Self {
        EventError::Xen(e)
    }
}

/// Which of a port's two waiters (see the module doc, "Two waiters per
/// port"). A device with one direction per port uses [`Side::Rx`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The receiving (reading) side; what [`EventTable::poll_event`] uses.
    Rx = 0,
    /// The transmitting (writing) side.
    Tx = 1,
}

impl Side {
    const fn bit(self) -> u8 {
        1 << self as u8
    }
    const fn other(self) -> Side {
        match self {
            Side::Rx => Side::Tx,
            Side::Tx => Side::Rx,
        }
    }
}

/// The latch value of a port whose event neither side has taken.
const BOTH_SIDES: u8 = Side::Rx.bit() | Side::Tx.bit();

const NO_SLOT: u8 = u8::MAX;
const _: () = assert!(MAX_PORTS < NO_SLOT as usize);

fn word_bit(port: Port) -> (usize, u64) {
    ((port.0 / 64) as usize, 1u64 << (port.0 % 64))
}

/// The words of the shared page an [`EventTable`] reads and clears, one
/// atomic operation per method (the caller picks the ordering).
/// [`SharedInfo`] is the real page; the loom models
/// (`loom-tests/tests/xen_events.rs`) implement it over loom's atomics,
/// which `SharedInfo`'s ABI layout cannot hold, to model-check the table's
/// own code against a concurrent Xen.
pub trait EventWords {
    /// Loads `evtchn_pending[w]`.
    fn pending_load(&self, w: usize, order: Ordering) -> u64;
    /// `evtchn_pending[w].fetch_and(val)`: returns the previous word.
    fn pending_fetch_and(&self, w: usize, val: u64, order: Ordering) -> u64;
    /// `evtchn_mask[w].fetch_or(val)`: returns the previous word.
    fn mask_fetch_or(&self, w: usize, val: u64, order: Ordering) -> u64;
    /// Loads vCPU 0's `evtchn_upcall_pending`.
    fn upcall_pending_load(&self, order: Ordering) -> u8;
    /// Stores vCPU 0's `evtchn_upcall_pending`.
    fn upcall_pending_store(&self, val: u8, order: Ordering);
    /// Swaps vCPU 0's `evtchn_pending_sel`: returns the previous word.
    fn pending_sel_swap(&self, val: u64, order: Ordering) -> u64;
}

impl EventWords for SharedInfo {
    fn pending_load(&self, w: usize, order: Ordering) -> u64 {
        self.evtchn_pending[w].load(order)
    }
    fn pending_fetch_and(&self, w: usize, val: u64, order: Ordering) -> u64 {
        self.evtchn_pending[w].fetch_and(val, order)
    }
    fn mask_fetch_or(&self, w: usize, val: u64, order: Ordering) -> u64 {
        self.evtchn_mask[w].fetch_or(val, order)
    }
    fn upcall_pending_load(&self, order: Ordering) -> u8 {
        self.vcpu_info[0].evtchn_upcall_pending.load(order)
    }
    fn upcall_pending_store(&self, val: u8, order: Ordering) {
        self.vcpu_info[0].evtchn_upcall_pending.store(val, order)
    }
    fn pending_sel_swap(&self, val: u64, order: Ordering) -> u64 {
        self.vcpu_info[0].evtchn_pending_sel.swap(val, order)
    }
}

/// The port → waker table and the scan. Fixed capacity ([`MAX_PORTS`]),
/// no allocation after construction (`new` boxes its 4 KiB port index).
pub struct EventTable {
    /// Bound ports, dense: `ports[..len]` is the `SCHEDOP_poll` list.
    ports: [Port; MAX_PORTS],
    /// The waiters, one per [`Side`].
    wakers: [[Option<Waker>; 2]; MAX_PORTS],
    /// The port fired and these sides (bits) have not taken the event yet.
    fired: [u8; MAX_PORTS],
    len: usize,
    /// Port number → slot, `NO_SLOT` if unbound.
    index: Box<[u8; EVTCHN_2L_NR_CHANNELS as usize]>,
    /// Bound ports as a bitmap shaped like `evtchn_pending`.
    bound: [u64; EVTCHN_WORDS],
}

impl Default for EventTable {
    fn default() -> Self {
        EventTable::new()
    }
}

impl fmt::Debug for EventTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventTable")
            .field("ports", &self.ports())
            .finish()
    }
}

impl EventTable {
    /// An empty table.
    pub fn new() -> EventTable {
        EventTable {
            ports: [Port(0); MAX_PORTS],
            wakers: [const { [None, None] }; MAX_PORTS],
            fired: [0; MAX_PORTS],
            len: 0,
            index: Box::new([NO_SLOT; EVTCHN_2L_NR_CHANNELS as usize]),
            bound: [0; EVTCHN_WORDS],
        }
    }

    /// The bound ports (the list to pass to `SCHEDOP_poll`).
    pub fn ports(&self) -> &[Port] {
        &self.ports[..self.len]
    }

    /// Number of bound ports.
    pub fn len(&self) -> usize {
        self.len
    }

    /// No port is bound.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn slot(&self, port: Port) -> Option<usize> {
        let i = *self.index.get(port.0 as usize)?;
        (i != NO_SLOT).then_some(i as usize)
    }

    /// Whether `port` is bound.
    pub fn is_bound(&self, port: Port) -> bool {
        self.slot(port).is_some()
    }

    /// Adds `port` and masks it in `shared` (see the module doc: bound ports
    /// stay masked). A port that is already pending (a fresh interdomain
    /// binding is) is picked up by the next scan.
    pub fn bind(&mut self, shared: &SharedInfo, port: Port) -> Result<(), EventError> {
        self.bind_words(shared, port)
    }

    /// [`bind`](Self::bind) over any [`EventWords`].
    pub fn bind_words<S: EventWords + ?Sized>(
        &mut self,
        shared: &S,
        port: Port,
    ) -> Result<(), EventError> {
        if port.0 == 0 || port.0 >= EVTCHN_2L_NR_CHANNELS {
            return Err(EventError::BadPort(port));
        }
        if self.is_bound(port) {
            return Err(EventError::AlreadyBound(port));
        }
        if self.len == MAX_PORTS {
            return Err(EventError::TableFull);
        }
        let (w, bit) = word_bit(port);
        shared.mask_fetch_or(w, bit, Ordering::SeqCst);
        let i = self.len;
        self.ports[i] = port;
        self.wakers[i] = [None, None];
        self.fired[i] = 0;
        self.index[port.0 as usize] = i as u8;
        self.bound[w] |= bit;
        self.len += 1;
        Ok(())
    }

    /// Removes `port`; returns the wakers of the tasks that were waiting on
    /// it (one per [`Side`]), which the caller should wake (they will see
    /// [`EventError::NotBound`]). The port stays masked; closing it is the
    /// caller's business.
    pub fn unbind(&mut self, port: Port) -> Result<[Option<Waker>; 2], EventError> {
        let i = self.slot(port).ok_or(EventError::NotBound(port))?;
        let waiters = core::mem::take(&mut self.wakers[i]);
        let last = self.len - 1;
        if i != last {
            self.ports[i] = self.ports[last];
            self.wakers[i] = core::mem::take(&mut self.wakers[last]);
            self.fired[i] = self.fired[last];
            self.index[self.ports[i].0 as usize] = i as u8;
        }
        self.fired[last] = 0;
        self.index[port.0 as usize] = NO_SLOT;
        let (w, bit) = word_bit(port);
        self.bound[w] &= !bit;
        self.len = last;
        Ok(waiters)
    }

    /// [`poll_event_as`](Self::poll_event_as) for [`Side::Rx`], waking a
    /// [`Side::Tx`] waiter at once if the event was taken here.
    pub fn poll_event(
        &mut self,
        shared: &SharedInfo,
        port: Port,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), EventError>> {
        self.poll_event_as(shared, port, Side::Rx, cx, Waker::wake)
    }

    /// Takes `side`'s copy of the event of `port` if it fired (latched by a
    /// scan, or its pending bit is set now — cleared here, and the event
    /// latched for the other side, whose waiter is handed to `wake_other`),
    /// else registers `cx`'s waker as `side`'s waiter for the next one.
    pub fn poll_event_as(
        &mut self,
        shared: &SharedInfo,
        port: Port,
        side: Side,
        cx: &mut Context<'_>,
        wake_other: impl FnMut(Waker),
    ) -> Poll<Result<(), EventError>> {
        self.poll_event_as_words(shared, port, side, cx, wake_other)
    }

    /// [`poll_event_as`](Self::poll_event_as) over any [`EventWords`].
    pub fn poll_event_as_words<S: EventWords + ?Sized>(
        &mut self,
        shared: &S,
        port: Port,
        side: Side,
        cx: &mut Context<'_>,
        mut wake_other: impl FnMut(Waker),
    ) -> Poll<Result<(), EventError>> {
        let Some(i) = self.slot(port) else {
            return Poll::Ready(Err(EventError::NotBound(port)));
        };
        let mine = side as usize;
        if self.fired[i] & side.bit() != 0 {
            self.fired[i] &= !side.bit();
            self.wakers[i][mine] = None;
            return Poll::Ready(Ok(()));
        }
        let (w, bit) = word_bit(port);
        if shared.pending_load(w, Ordering::Relaxed) & bit != 0
            && shared.pending_fetch_and(w, !bit, Ordering::AcqRel) & bit != 0
        {
            self.wakers[i][mine] = None;
            self.fired[i] |= side.other().bit();
            if let Some(other) = self.wakers[i][side.other() as usize].take() {
                wake_other(other);
            }
            return Poll::Ready(Ok(()));
        }
        match &self.wakers[i][mine] {
            Some(old) if old.will_wake(cx.waker()) => {}
            _ => self.wakers[i][mine] = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Whether `port` has a latched event that [`Side::Rx`] has not taken.
    pub fn has_fired(&self, port: Port) -> bool {
        self.has_fired_as(port, Side::Rx)
    }

    /// Whether `port` has a latched event that `side` has not taken. (A
    /// side nobody waits on keeps its copy: a later waiter on that side
    /// gets one spurious wake, never a lost one.)
    pub fn has_fired_as(&self, port: Port, side: Side) -> bool {
        self.slot(port)
            .is_some_and(|i| self.fired[i] & side.bit() != 0)
    }

    /// The scan: for every bound port whose pending bit is set, clear the
    /// bit (atomically, before anything else), latch the event for both
    /// sides, and hand its waiters' wakers to `wake`. Returns the number of ports that fired.
    ///
    /// Also clears vCPU 0's `upcall_pending` and `pending_sel`, which only
    /// unmasked ports this table does not own can set; nothing reads them,
    /// and clearing keeps "events need delivery" false for the poll.
    pub fn scan(&mut self, shared: &SharedInfo, wake: impl FnMut(Waker)) -> usize {
        self.scan_words(shared, wake)
    }

    /// [`scan`](Self::scan) over any [`EventWords`].
    pub fn scan_words<S: EventWords + ?Sized>(
        &mut self,
        shared: &S,
        mut wake: impl FnMut(Waker),
    ) -> usize {
        if shared.upcall_pending_load(Ordering::Relaxed) != 0 {
            shared.upcall_pending_store(0, Ordering::Relaxed);
            shared.pending_sel_swap(0, Ordering::AcqRel);
        }
        let mut fired = 0;
        for (w, &bound) in self.bound.iter().enumerate() {
            if bound == 0 {
                continue;
            }
            if shared.pending_load(w, Ordering::Relaxed) & bound == 0 {
                continue;
            }
            // Clear exactly the bound bits, and learn which were set.
            let mut got = shared.pending_fetch_and(w, !bound, Ordering::AcqRel) & bound;
            while got != 0 {
                let b = got.trailing_zeros();
                got &= got - 1;
                let port = Port(w as u32 * 64 + b);
                if let Some(i) = self.slot(port) {
                    self.fired[i] = BOTH_SIDES;
                    fired += 1;
                    for waker in self.wakers[i].iter_mut().filter_map(Option::take) {
                        wake(waker);
                    }
                }
            }
        }
        fired
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::raise;
    use std::sync::atomic::{AtomicBool, AtomicUsize};
    use std::sync::Arc;
    use std::task::Wake;
    use std::vec::Vec;

    struct CountingWaker {
        wakes: AtomicUsize,
        /// If set: the pending bit of this port must be clear when woken.
        check: Option<(Arc<SharedInfo>, Port)>,
        saw_set: AtomicBool,
    }

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref()
        }
        fn wake_by_ref(self: &Arc<Self>) {
            if let Some((shared, port)) = &self.check {
                let (w, bit) = word_bit(*port);
                if shared.evtchn_pending[w].load(Ordering::SeqCst) & bit != 0 {
                    self.saw_set.store(true, Ordering::SeqCst);
                }
            }
            self.wakes.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn counter() -> (Arc<CountingWaker>, Waker) {
        let c = Arc::new(CountingWaker {
            wakes: AtomicUsize::new(0),
            check: None,
            saw_set: AtomicBool::new(false),
        });
        (c.clone(), Waker::from(c))
    }

    fn shared() -> Arc<SharedInfo> {
        Arc::new(SharedInfo::zeroed())
    }

    /// A fresh shared page and a table with `port` bound in it.
    fn bound(port: Port) -> (Arc<SharedInfo>, EventTable) {
        let s = shared();
        let mut t = EventTable::new();
        t.bind(&s, port).unwrap();
        (s, t)
    }

    fn pending(s: &SharedInfo, p: Port) -> bool {
        let (w, bit) = word_bit(p);
        s.evtchn_pending[w].load(Ordering::SeqCst) & bit != 0
    }

    fn masked(s: &SharedInfo, p: Port) -> bool {
        let (w, bit) = word_bit(p);
        s.evtchn_mask[w].load(Ordering::SeqCst) & bit != 0
    }

    fn wake_all(w: Waker) {
        w.wake()
    }

    #[test]
    fn bind_masks_and_rejects_bad_ports() {
        let s = shared();
        let mut t = EventTable::new();
        t.bind(&s, Port(5)).unwrap();
        assert!(masked(&s, Port(5)));
        assert_eq!(t.bind(&s, Port(5)), Err(EventError::AlreadyBound(Port(5))));
        assert_eq!(t.bind(&s, Port(0)), Err(EventError::BadPort(Port(0))));
        assert_eq!(t.bind(&s, Port(4096)), Err(EventError::BadPort(Port(4096))));
        assert_eq!(
            t.bind(&s, Port(u32::MAX)),
            Err(EventError::BadPort(Port(u32::MAX)))
        );
        assert_eq!(t.ports(), &[Port(5)]);
    }

    #[test]
    fn raised_port_wakes_its_waiter_and_bit_is_cleared_before_the_wake() {
        let p = Port(70);
        let (s, mut t) = bound(p);
        let c = Arc::new(CountingWaker {
            wakes: AtomicUsize::new(0),
            check: Some((s.clone(), p)),
            saw_set: AtomicBool::new(false),
        });
        let waker = Waker::from(c.clone());
        let mut cx = Context::from_waker(&waker);
        assert!(t.poll_event(&s, p, &mut cx).is_pending());
        assert!(raise(&s, p));
        // Masked: Xen set no selector bit, no upcall (the trap's precondition).
        assert_eq!(s.vcpu_info[0].evtchn_pending_sel.load(Ordering::SeqCst), 0);
        assert_eq!(t.scan(&s, wake_all), 1);
        assert_eq!(c.wakes.load(Ordering::SeqCst), 1);
        assert!(
            !c.saw_set.load(Ordering::SeqCst),
            "bit cleared before waking"
        );
        assert!(!pending(&s, p));
        assert_eq!(t.poll_event(&s, p, &mut cx), Poll::Ready(Ok(())));
        // Consumed: the next poll waits again.
        assert!(t.poll_event(&s, p, &mut cx).is_pending());
        assert_eq!(t.scan(&s, wake_all), 0, "nothing new: no wake");
        assert_eq!(c.wakes.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn raised_before_anyone_waits_is_latched_and_cleared() {
        let p = Port(3);
        let (s, mut t) = bound(p);
        raise(&s, p);
        // Nobody waits yet: the scan still clears the bit (so the next
        // SCHEDOP_poll blocks instead of returning at once, forever)...
        assert_eq!(t.scan(&s, |_| panic!("no waiter to wake")), 1);
        assert!(!pending(&s, p));
        assert!(t.has_fired(p));
        // ...and the event waits for the task.
        let (_c, w) = counter();
        let mut cx = Context::from_waker(&w);
        assert_eq!(t.poll_event(&s, p, &mut cx), Poll::Ready(Ok(())));
        assert!(!t.has_fired(p));
    }

    #[test]
    fn pending_bit_seen_directly_by_the_waiter_without_a_scan() {
        let p = Port(1000);
        let (s, mut t) = bound(p);
        raise(&s, p);
        let (_c, w) = counter();
        let mut cx = Context::from_waker(&w);
        assert_eq!(t.poll_event(&s, p, &mut cx), Poll::Ready(Ok(())));
        assert!(!pending(&s, p));
        assert_eq!(t.scan(&s, wake_all), 0, "taken once, not twice");
    }

    #[test]
    fn two_sides_of_one_port_each_get_the_event() {
        let p = Port(9);
        let (s, mut t) = bound(p);
        let (rx_c, rx_w) = counter();
        let (tx_c, tx_w) = counter();
        let mut rx_cx = Context::from_waker(&rx_w);
        let mut tx_cx = Context::from_waker(&tx_w);
        let no_other = |_: Waker| panic!("no other waiter to wake");
        assert!(t
            .poll_event_as(&s, p, Side::Rx, &mut rx_cx, no_other)
            .is_pending());
        assert!(t
            .poll_event_as(&s, p, Side::Tx, &mut tx_cx, no_other)
            .is_pending());
        // A scan wakes both waiters; each takes its own copy, once.
        raise(&s, p);
        assert_eq!(t.scan(&s, wake_all), 1);
        assert_eq!(rx_c.wakes.load(Ordering::SeqCst), 1);
        assert_eq!(tx_c.wakes.load(Ordering::SeqCst), 1);
        for (side, cx) in [(Side::Tx, &mut tx_cx), (Side::Rx, &mut rx_cx)] {
            assert_eq!(
                t.poll_event_as(&s, p, side, cx, no_other),
                Poll::Ready(Ok(()))
            );
            assert!(t.poll_event_as(&s, p, side, cx, no_other).is_pending());
        }
        // One side finding the pending bit itself latches the event for the
        // other and hands over the other's waker.
        raise(&s, p);
        let mut handed = Vec::new();
        assert_eq!(
            t.poll_event_as(&s, p, Side::Rx, &mut rx_cx, |w| handed.push(w)),
            Poll::Ready(Ok(()))
        );
        assert_eq!(handed.len(), 1, "the Tx waiter is handed back");
        handed.pop().unwrap().wake();
        assert_eq!(tx_c.wakes.load(Ordering::SeqCst), 2);
        assert!(t.has_fired_as(p, Side::Tx) && !t.has_fired_as(p, Side::Rx));
        assert_eq!(
            t.poll_event_as(&s, p, Side::Tx, &mut tx_cx, no_other),
            Poll::Ready(Ok(()))
        );
        // Unbinding hands back both waiters.
        assert!(t
            .poll_event_as(&s, p, Side::Rx, &mut rx_cx, no_other)
            .is_pending());
        assert!(t
            .poll_event_as(&s, p, Side::Tx, &mut tx_cx, no_other)
            .is_pending());
        let [rx, tx] = t.unbind(p).unwrap();
        assert!(rx.is_some() && tx.is_some());
    }

    #[test]
    fn unknown_and_unbound_ports_are_ignored() {
        let s = shared();
        let mut t = EventTable::new();
        t.bind(&s, Port(10)).unwrap();
        // A port nobody bound fires: not ours, left alone, no wake.
        raise(&s, Port(11));
        raise(&s, Port(4000));
        assert_eq!(t.scan(&s, |_| panic!("unexpected wake")), 0);
        assert!(
            pending(&s, Port(11)),
            "foreign pending bits are not touched"
        );
        let (_c, w) = counter();
        let mut cx = Context::from_waker(&w);
        assert_eq!(
            t.poll_event(&s, Port(11), &mut cx),
            Poll::Ready(Err(EventError::NotBound(Port(11))))
        );
        assert_eq!(
            t.unbind(Port(12)).err(),
            Some(EventError::NotBound(Port(12)))
        );
    }

    #[test]
    fn unbind_returns_the_waiter_and_keeps_the_table_dense() {
        let s = shared();
        let mut t = EventTable::new();
        for p in [1, 2, 3] {
            t.bind(&s, Port(p)).unwrap();
        }
        let (c, w) = counter();
        let mut cx = Context::from_waker(&w);
        assert!(t.poll_event(&s, Port(1), &mut cx).is_pending());
        assert!(t.poll_event(&s, Port(3), &mut cx).is_pending());
        let [rx, tx] = t.unbind(Port(1)).unwrap();
        assert!(tx.is_none(), "nobody waited as Tx");
        rx.expect("waiter handed back").wake();
        assert_eq!(c.wakes.load(Ordering::SeqCst), 1);
        let mut ports = t.ports().to_vec();
        ports.sort();
        assert_eq!(ports, [Port(2), Port(3)]);
        // Port 3 moved slots; its waiter still gets its event.
        raise(&s, Port(3));
        assert_eq!(t.scan(&s, wake_all), 1);
        assert_eq!(c.wakes.load(Ordering::SeqCst), 2);
        // Port 1 no longer counts.
        raise(&s, Port(1));
        assert_eq!(t.scan(&s, wake_all), 0);
        t.bind(&s, Port(1)).unwrap();
        assert!(!t.has_fired(Port(1)), "no stale latch on rebind");
    }

    #[test]
    fn all_128_ports_bound_and_fired_in_one_scan() {
        let s = shared();
        let mut t = EventTable::new();
        // Spread over many words, including 63/64 boundaries and 4095.
        let ports: Vec<Port> = (0..MAX_PORTS as u32).map(|i| Port(1 + i * 32)).collect();
        assert_eq!(ports.last(), Some(&Port(4065)));
        for &p in &ports {
            t.bind(&s, p).unwrap();
        }
        assert_eq!(t.bind(&s, Port(4095)), Err(EventError::TableFull));
        assert_eq!(t.len(), MAX_PORTS);
        let (c, w) = counter();
        let mut cx = Context::from_waker(&w);
        for &p in &ports {
            assert!(t.poll_event(&s, p, &mut cx).is_pending());
        }
        for &p in &ports {
            raise(&s, p);
        }
        assert_eq!(t.scan(&s, wake_all), MAX_PORTS);
        assert_eq!(c.wakes.load(Ordering::SeqCst), MAX_PORTS);
        assert!(ports.iter().all(|&p| !pending(&s, p)));
        for &p in &ports {
            assert_eq!(t.poll_event(&s, p, &mut cx), Poll::Ready(Ok(())));
        }
        // Unbind one, 4095 now fits.
        t.unbind(ports[0]).unwrap();
        t.bind(&s, Port(4095)).unwrap();
    }

    #[test]
    fn spurious_wakeups_are_harmless() {
        let p = Port(9);
        let (s, mut t) = bound(p);
        let (c, w) = counter();
        let mut cx = Context::from_waker(&w);
        // A waiter polled again with nothing pending just waits again.
        for _ in 0..3 {
            assert!(t.poll_event(&s, p, &mut cx).is_pending());
            assert_eq!(t.scan(&s, wake_all), 0);
        }
        // A raise that collapses with an earlier one (Xen's edge semantics)
        // gives one event, not two.
        raise(&s, p);
        assert!(!raise(&s, p));
        assert_eq!(t.scan(&s, wake_all), 1);
        assert_eq!(t.scan(&s, wake_all), 0);
        assert_eq!(c.wakes.load(Ordering::SeqCst), 1);
        // Stray upcall state from an unmasked foreign port is cleared.
        raise(&s, Port(200));
        assert_eq!(
            s.vcpu_info[0].evtchn_upcall_pending.load(Ordering::SeqCst),
            1
        );
        t.scan(&s, wake_all);
        assert_eq!(
            s.vcpu_info[0].evtchn_upcall_pending.load(Ordering::SeqCst),
            0
        );
        assert_eq!(s.vcpu_info[0].evtchn_pending_sel.load(Ordering::SeqCst), 0);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Bind(u32),
        Unbind(u32),
        Raise(u32),
        Scan,
        Take(u32),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        // A small port space so that operations collide often; 0 and 4096
        // are invalid on purpose.
        let port = prop_oneof![0u32..40, Just(4095), Just(4096)];
        prop_oneof![
            port.clone().prop_map(Op::Bind),
            port.clone().prop_map(Op::Unbind),
            port.clone().prop_map(Op::Raise),
            Just(Op::Scan),
            port.prop_map(Op::Take),
        ]
    }

    proptest::proptest! {
        /// The table against a model that tracks, per bound port, a latched
        /// event (found by a scan) and the pending bit (edges collapse only
        /// while it is set, as in Xen): `poll_event` is ready iff either is
        /// there, taking the latch first; a scan latches exactly the bound
        /// pending ports and wakes exactly their waiters; the poll list is
        /// the bound set; bound ports stay masked; nothing panics.
        #[test]
        fn table_matches_a_model(ops in proptest::collection::vec(op(), 1..200)) {
            use std::collections::{BTreeMap, BTreeSet};
            let s = shared();
            let mut t = EventTable::new();
            // Bound port -> latched.
            let mut latched: BTreeMap<u32, bool> = BTreeMap::new();
            let (c, w) = counter();
            let mut cx = Context::from_waker(&w);
            let mut waiting: BTreeSet<u32> = BTreeSet::new();
            let mut wakes = 0;
            for op in ops {
                match op {
                    Op::Bind(p) => {
                        let r = t.bind(&s, Port(p));
                        if p == 0 || p >= 4096 {
                            proptest::prop_assert_eq!(r, Err(EventError::BadPort(Port(p))));
                        } else {
                            match latched.entry(p) {
                                std::collections::btree_map::Entry::Occupied(_) => {
                                    proptest::prop_assert_eq!(
                                        r,
                                        Err(EventError::AlreadyBound(Port(p)))
                                    );
                                }
                                std::collections::btree_map::Entry::Vacant(v) => {
                                    proptest::prop_assert_eq!(r, Ok(()));
                                    v.insert(false);
                                }
                            }
                        }
                    }
                    Op::Unbind(p) => {
                        let r = t.unbind(Port(p));
                        proptest::prop_assert_eq!(r.is_ok(), latched.remove(&p).is_some());
                        if let Ok([Some(w), None]) = r {
                            proptest::prop_assert!(waiting.contains(&p));
                            w.wake();
                            wakes += 1;
                        }
                        waiting.remove(&p);
                    }
                    Op::Raise(p) => {
                        if p < 4096 {
                            raise(&s, Port(p));
                        }
                    }
                    Op::Scan => {
                        let hot: std::vec::Vec<u32> =
                            latched.keys().copied().filter(|&p| pending(&s, Port(p))).collect();
                        let woken = hot.iter().filter(|p| waiting.contains(p)).count();
                        let mut n = 0;
                        let fired = t.scan(&s, |w| {
                            n += 1;
                            w.wake()
                        });
                        proptest::prop_assert_eq!(fired, hot.len());
                        proptest::prop_assert_eq!(n, woken);
                        wakes += n;
                        for p in hot {
                            latched.insert(p, true);
                            waiting.remove(&p);
                        }
                        for p in latched.keys() {
                            proptest::prop_assert!(!pending(&s, Port(*p)));
                        }
                    }
                    Op::Take(p) => {
                        let was_pending = p < 4096 && pending(&s, Port(p));
                        let r = t.poll_event(&s, Port(p), &mut cx);
                        match latched.get_mut(&p) {
                            None => proptest::prop_assert_eq!(
                                r,
                                Poll::Ready(Err(EventError::NotBound(Port(p))))
                            ),
                            Some(l) if *l => {
                                // The latched event first; the bit is untouched.
                                proptest::prop_assert_eq!(r, Poll::Ready(Ok(())));
                                proptest::prop_assert_eq!(pending(&s, Port(p)), was_pending);
                                *l = false;
                                waiting.remove(&p);
                            }
                            Some(_) if was_pending => {
                                // Taken straight from the pending bit.
                                proptest::prop_assert_eq!(r, Poll::Ready(Ok(())));
                                proptest::prop_assert!(!pending(&s, Port(p)));
                                waiting.remove(&p);
                            }
                            Some(_) => {
                                proptest::prop_assert!(r.is_pending());
                                waiting.insert(p);
                            }
                        }
                    }
                }
                let mut ports: std::vec::Vec<u32> = t.ports().iter().map(|p| p.0).collect();
                ports.sort();
                proptest::prop_assert_eq!(ports, latched.keys().copied().collect::<std::vec::Vec<_>>());
                for p in latched.keys() {
                    proptest::prop_assert!(masked(&s, Port(*p)));
                    proptest::prop_assert_eq!(t.has_fired(Port(*p)), latched[p]);
                }
            }
            proptest::prop_assert_eq!(c.wakes.load(Ordering::SeqCst), wakes);
        }
    }

    /// A "Xen" thread raises ports while the reactor scans. Each raise waits
    /// until the previous edge was taken, so every raise is a distinct edge;
    /// if one were lost the raiser would wait forever (caught by the
    /// deadline) or the count would be short.
    #[test]
    fn concurrent_raises_are_never_lost() {
        const EDGES: usize = if cfg!(miri) { 300 } else { 20_000 };
        let s = shared();
        let mut t = EventTable::new();
        let hot = [Port(1), Port(64), Port(65), Port(127), Port(4095)];
        for p in hot {
            t.bind(&s, p).unwrap();
        }
        let raiser = {
            let s = s.clone();
            std::thread::spawn(move || {
                let start = std::time::Instant::now();
                for i in 0..EDGES {
                    let p = hot[i % hot.len()];
                    while pending(&s, p) {
                        assert!(start.elapsed().as_secs() < 60, "edge {i} never taken");
                        std::hint::spin_loop();
                    }
                    assert!(raise(&s, p));
                }
            })
        };
        let mut seen = 0;
        let start = std::time::Instant::now();
        while seen < EDGES {
            // Latched events simply stay latched (a bool): only the scan
            // clears pending bits here, so it must see every edge.
            seen += t.scan(&s, wake_all);
            assert!(start.elapsed().as_secs() < 60, "scanner stuck at {seen}");
        }
        raiser.join().unwrap();
        seen += t.scan(&s, wake_all);
        assert_eq!(seen, EDGES, "each edge reported exactly once");
        assert!(hot.iter().all(|&p| !pending(&s, p)));
    }
}
