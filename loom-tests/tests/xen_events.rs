//! loom models of shimmer-xen's event-channel protocol: Xen (another
//! physical CPU) raising masked ports while the guest's single vCPU scans
//! the pending words, hands events to tasks and blocks in `SCHEDOP_poll`.
//!
//! # What is modelled
//! shimmer-xen's `EventTable` runs for real: its `bind_words`,
//! `poll_event_as_words` and `scan_words` are generic over
//! `shimmer_xen::event::EventWords`, which [`Shared`] implements over
//! loom's atomics (`SharedInfo` itself cannot hold them: its ABI layout is
//! asserted). The `real_*` models use that table. The rest of the protocol
//! is mirrored here step by step, and so is the table (for the negative
//! controls' broken scans, and as a cross-check: the mirror and the real
//! table give the same interleaving counts); a change to one of the
//! functions named below must be carried over to its mirror.
//! * [`Shared`]: the event part of `shared_info` (`abi/shared_info.rs`),
//!   two `evtchn_pending`/`evtchn_mask` words instead of 64.
//! * [`Xen::raise`]: `testing::raise`, i.e. Xen's `evtchn_2l_set_pending`,
//!   plus its last step, `evtchn_check_pollers` (wake a vCPU polling on
//!   the port, masked or not).
//! * [`Xen::sched_poll`]: `SCHEDOP_poll` (`do_poll` in Xen's
//!   `sched/core.c`): atomically with respect to a raise, return at once if
//!   a listed port's pending bit is set (masks ignored), else block until a
//!   listed port is raised (with other than one port listed: any port of
//!   the domain, a spurious return) or the deadline passes.
//! * [`EventTable`], [`Side`]: `event.rs`'s `EventTable::{bind,
//!   poll_event_as, has_fired_as, scan}` (`poll_event` is `poll_event_as`
//!   for `Side::Rx`) and `Side`, line for line (a `Vec` instead of the
//!   fixed arrays and the port index).
//! * [`Guest::scan`], [`Guest::park`], [`Task::run`], [`Unparker`]:
//!   `park.rs`'s `Reactor::scan`, `XenPark::park`,
//!   `Reactor::poll_event_as` and `XenUnparker`.
//! * [`Guest::run`]: the executor's loop, reduced to "run the woken tasks,
//!   park when none is runnable".
//!
//! # How a bug shows
//! * A lost wake-up: the guest blocks in `SCHEDOP_poll` with nothing left
//!   to raise a listed port, so every thread is blocked and loom reports a
//!   **deadlock** (a poll without a deadline stands for the real one, whose
//!   deadline is days away when no timer is armed: a lost event there is a
//!   hang for all practical purposes).
//! * A busy loop (a poll that returns at once forever, the masked-port trap
//!   of docs/xen-abi.md §3): every model bounds the number of parks its
//!   tasks may need, and a park with a deadline after Xen has stopped must
//!   end at its deadline, so such a loop panics with **"busy loop"**.
//! * An event lost or reported twice: the per-port counts are checked
//!   against the edges Xen made (a raise of a port that is still pending is
//!   no new edge, as in Xen).
//!
//! The negative controls at the end run broken variants of the scan (and
//! the unpark flag without a self-notify port) and assert that loom finds
//! the failure, so it is clear the models detect that class of bug. Each
//! runs in a child process (`must_fail_child`): a model failing with loom's
//! deadlock panic can abort the process while unwinding.
//!
//! # Not modelled
//! * Deadlines: a park's deadline is either none (blocks until an event,
//!   see above) or in the future, where a poll with nothing pending "times
//!   out" at once — virtual time jumps to the deadline, as in `FakeXen`.
//!   A deadline already due makes the real park return before polling.
//! * "Events need delivery" ending a poll: on PVH that is a pending
//!   callback interrupt not blocked by IF; shimmer registers no callback
//!   vector and runs with IF=0, so it is never true.
//! * `unbind`, more than a few ports, more than one vCPU.
#![cfg(loom)]

use std::sync::atomic::{AtomicBool as StdAtomicBool, AtomicUsize as StdAtomicUsize};
use std::task::{Context, Poll, Wake, Waker};

use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use loom::sync::{Arc, Condvar, Mutex};
use loom::thread;

/// Words of the modelled `evtchn_pending` / `evtchn_mask` bitmaps.
const WORDS: usize = 2;

/// An event-channel port (`hypervisor::Port`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Port(u32);

/// Two ports in word 0, waited on by tasks.
const P: Port = Port(1);
const Q: Port = Port(2);
/// A port in word 0 the guest never binds (and so never masks): raising
/// it sets `evtchn_pending_sel` and `upcall_pending`.
const FOREIGN: Port = Port(3);
/// A port in word 1, notified by a remote unparker (model 5).
const SELF_NOTIFY: Port = Port(65);

/// Mirrors `event::word_bit`.
fn word_bit(port: Port) -> (usize, u64) {
    ((port.0 / 64) as usize, 1u64 << (port.0 % 64))
}

/// The event part of `shared_info` and vCPU 0's `vcpu_info`
/// (`abi::shared_info::{SharedInfo, VcpuInfo}`), on loom atomics.
struct Shared {
    evtchn_pending: [AtomicU64; WORDS],
    evtchn_mask: [AtomicU64; WORDS],
    /// `vcpu_info[0].evtchn_pending_sel`.
    evtchn_pending_sel: AtomicU64,
    /// `vcpu_info[0].evtchn_upcall_pending`.
    evtchn_upcall_pending: AtomicU8,
}

impl Shared {
    fn zeroed() -> Shared {
        Shared {
            evtchn_pending: [AtomicU64::new(0), AtomicU64::new(0)],
            evtchn_mask: [AtomicU64::new(0), AtomicU64::new(0)],
            evtchn_pending_sel: AtomicU64::new(0),
            evtchn_upcall_pending: AtomicU8::new(0),
        }
    }

    fn pending(&self, port: Port) -> bool {
        let (w, bit) = word_bit(port);
        self.evtchn_pending[w].load(Ordering::SeqCst) & bit != 0
    }

    fn masked(&self, port: Port) -> bool {
        let (w, bit) = word_bit(port);
        self.evtchn_mask[w].load(Ordering::SeqCst) & bit != 0
    }
}

impl shimmer_xen::event::EventWords for Shared {
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
        self.evtchn_upcall_pending.load(order)
    }
    fn upcall_pending_store(&self, val: u8, order: Ordering) {
        self.evtchn_upcall_pending.store(val, order)
    }
    fn pending_sel_swap(&self, val: u64, order: Ordering) -> u64 {
        self.evtchn_pending_sel.swap(val, order)
    }
}

/// The table a guest runs: the mirror (with any scan) or shimmer-xen's.
enum Table {
    Mirror(EventTable),
    Real(Box<shimmer_xen::event::EventTable>),
}

fn xp(p: Port) -> shimmer_xen::Port {
    shimmer_xen::Port(p.0)
}

fn xside(side: Side) -> shimmer_xen::event::Side {
    match side {
        Side::Rx => shimmer_xen::event::Side::Rx,
        Side::Tx => shimmer_xen::event::Side::Tx,
    }
}

impl Table {
    fn bind(&mut self, s: &Shared, p: Port) {
        match self {
            Table::Mirror(t) => t.bind(s, p),
            Table::Real(t) => t.bind_words(s, xp(p)).unwrap(),
        }
    }
    fn poll_event_as(
        &mut self,
        s: &Shared,
        p: Port,
        side: Side,
        cx: &mut Context<'_>,
        wake_other: impl FnMut(Waker),
    ) -> Poll<()> {
        match self {
            Table::Mirror(t) => t.poll_event_as(s, p, side, cx, wake_other),
            Table::Real(t) => t
                .poll_event_as_words(s, xp(p), xside(side), cx, wake_other)
                .map(|r| r.unwrap()),
        }
    }
    fn has_fired_as(&self, p: Port, side: Side) -> bool {
        match self {
            Table::Mirror(t) => t.has_fired_as(p, side),
            Table::Real(t) => t.has_fired_as(xp(p), xside(side)),
        }
    }
    fn ports(&self) -> Vec<Port> {
        match self {
            Table::Mirror(t) => t.ports.clone(),
            Table::Real(t) => t.ports().iter().map(|p| Port(p.0)).collect(),
        }
    }
}

/// Xen: the shared page and the poll bookkeeping of the guest's vCPU.
struct Xen {
    shared: Shared,
    /// Xen's `d->poll_mask` / `v->poll_evtchn` and the vCPU's blocked
    /// state, as a lock and a condition variable: `do_poll` and
    /// `evtchn_check_pollers` synchronise with full barriers (set the poll
    /// bit, then check the pending bits / set the pending bit, then check
    /// the poll bits), which is what holding this lock gives. The count is
    /// the number of edges made, for the multi-port wake-up below.
    poller: Mutex<u64>,
    unblock: Condvar,
}

/// How a modelled `SCHEDOP_poll` ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PollEnd {
    /// A listed port was pending (at once, or after blocking).
    Pending,
    /// Woken by a raise of a port not on the list: with other than one port
    /// listed, Xen wakes the poller on any event of the domain
    /// (`poll_evtchn == -1`). A spurious return, which `Park` allows.
    Spurious,
    /// Nothing pending until the deadline.
    TimedOut,
}

/// A deadline in the future (see the module doc: "Not modelled").
#[derive(Clone, Copy, Debug)]
struct Deadline;

impl Xen {
    fn new() -> Xen {
        Xen {
            shared: Shared::zeroed(),
            poller: Mutex::new(0),
            unblock: Condvar::new(),
        }
    }

    /// Mirrors `testing::raise` (Xen's `evtchn_2l_set_pending`, each step
    /// atomic): set pending; on a new edge of an unmasked port, set the
    /// selector bit and, if that was new, `upcall_pending`; then
    /// (`evtchn_check_pollers`) wake the vCPU if it polls. Returns whether
    /// this was a new edge.
    fn raise(&self, port: Port) -> bool {
        let s = &self.shared;
        let (w, bit) = word_bit(port);
        if s.evtchn_pending[w].fetch_or(bit, Ordering::SeqCst) & bit != 0 {
            return false;
        }
        if s.evtchn_mask[w].load(Ordering::SeqCst) & bit == 0
            && s.evtchn_pending_sel.fetch_or(1 << w, Ordering::SeqCst) & (1 << w) == 0
        {
            s.evtchn_upcall_pending.store(1, Ordering::SeqCst);
        }
        let mut edges = self.poller.lock().unwrap();
        *edges += 1;
        self.unblock.notify_all();
        true
    }

    /// `SCHEDOP_poll` on `ports`: returns at once if one of them is pending
    /// (masks ignored); else blocks until one is raised (with other than
    /// one port listed: until any port is), or the deadline.
    fn sched_poll(&self, ports: &[Port], deadline: Option<Deadline>) -> PollEnd {
        let mut edges = self.poller.lock().unwrap();
        let start = *edges;
        loop {
            if ports.iter().any(|&p| self.shared.pending(p)) {
                return PollEnd::Pending;
            }
            if *edges != start && ports.len() != 1 {
                return PollEnd::Spurious;
            }
            if deadline.is_some() {
                return PollEnd::TimedOut;
            }
            edges = self.unblock.wait(edges).unwrap();
        }
    }
}

/// Which scan the guest runs: shimmer's, or a broken one (negative
/// controls).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ScanKind {
    /// [`EventTable::scan`], the mirror of shimmer's.
    Shimmer,
    /// shimmer-xen's own `EventTable`, over [`Shared`].
    Real,
    /// [`EventTable::scan_through_pending_sel`]: the masked-port trap.
    ThroughPendingSel,
    /// [`EventTable::scan_latching_what_the_load_saw`].
    LatchingWhatTheLoadSaw,
    /// [`EventTable::scan_clearing_only_awaited_ports`].
    ClearingOnlyAwaitedPorts,
}

/// Mirrors `event::Side`: which of a port's two waiters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Rx = 0,
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

/// Mirrors `event::BOTH_SIDES`.
const BOTH_SIDES: u8 = Side::Rx.bit() | Side::Tx.bit();

/// Mirrors `event::EventTable`: `ports[i]` is bound, `wakers[i]` wait on
/// it (one per [`Side`]), `fired[i]` holds the sides that have not taken
/// its latched event; `bound` is the bound ports as a bitmap shaped like
/// `evtchn_pending`.
#[derive(Default)]
struct EventTable {
    ports: Vec<Port>,
    wakers: Vec<[Option<Waker>; 2]>,
    fired: Vec<u8>,
    bound: [u64; WORDS],
}

impl EventTable {
    fn slot(&self, port: Port) -> Option<usize> {
        self.ports.iter().position(|&p| p == port)
    }

    /// Mirrors `EventTable::has_fired_as`.
    fn has_fired_as(&self, port: Port, side: Side) -> bool {
        self.slot(port)
            .is_some_and(|i| self.fired[i] & side.bit() != 0)
    }

    /// Mirrors `EventTable::bind` (for a valid, unbound port, room left):
    /// mask the port, then add it.
    fn bind(&mut self, shared: &Shared, port: Port) {
        assert!(self.slot(port).is_none());
        let (w, bit) = word_bit(port);
        shared.evtchn_mask[w].fetch_or(bit, Ordering::SeqCst);
        self.ports.push(port);
        self.wakers.push([None, None]);
        self.fired.push(0);
        self.bound[w] |= bit;
    }

    /// Mirrors `EventTable::poll_event_as` (for a bound port; its `Rx`
    /// form is `EventTable::poll_event`): take `side`'s latched copy, or
    /// test-and-clear the port's pending bit — then latch the event for the
    /// other side and hand its waiter to `wake_other` — else register the
    /// waker as `side`'s.
    fn poll_event_as(
        &mut self,
        shared: &Shared,
        port: Port,
        side: Side,
        cx: &mut Context<'_>,
        mut wake_other: impl FnMut(Waker),
    ) -> Poll<()> {
        let i = self.slot(port).expect("port is bound");
        let mine = side as usize;
        if self.fired[i] & side.bit() != 0 {
            self.fired[i] &= !side.bit();
            self.wakers[i][mine] = None;
            return Poll::Ready(());
        }
        let (w, bit) = word_bit(port);
        if shared.evtchn_pending[w].load(Ordering::Relaxed) & bit != 0
            && shared.evtchn_pending[w].fetch_and(!bit, Ordering::AcqRel) & bit != 0
        {
            self.wakers[i][mine] = None;
            self.fired[i] |= side.other().bit();
            if let Some(other) = self.wakers[i][side.other() as usize].take() {
                wake_other(other);
            }
            return Poll::Ready(());
        }
        match &self.wakers[i][mine] {
            Some(old) if old.will_wake(cx.waker()) => {}
            _ => self.wakers[i][mine] = Some(cx.waker().clone()),
        }
        Poll::Pending
    }

    /// Mirrors `EventTable::scan`: clear the stray upcall state, then for
    /// every word with bound ports set, clear exactly the bound bits with one
    /// `fetch_and` and latch (for both sides) and wake the ports its
    /// previous value shows.
    fn scan(&mut self, shared: &Shared, mut wake: impl FnMut(Waker)) -> usize {
        if shared.evtchn_upcall_pending.load(Ordering::Relaxed) != 0 {
            shared.evtchn_upcall_pending.store(0, Ordering::Relaxed);
            shared.evtchn_pending_sel.swap(0, Ordering::AcqRel);
        }
        let mut fired = 0;
        for (w, &bound) in self.bound.iter().enumerate() {
            if bound == 0 {
                continue;
            }
            let word = &shared.evtchn_pending[w];
            if word.load(Ordering::Relaxed) & bound == 0 {
                continue;
            }
            let mut got = word.fetch_and(!bound, Ordering::AcqRel) & bound;
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

    /// Latches `port` and hands its waiters to `wake` (the body of the
    /// scan's inner loop, for the broken variants).
    fn latch(&mut self, port: Port, wake: &mut impl FnMut(Waker)) -> usize {
        let Some(i) = self.slot(port) else {
            return 0;
        };
        self.fired[i] = BOTH_SIDES;
        for waker in self.wakers[i].iter_mut().filter_map(Option::take) {
            wake(waker);
        }
        1
    }

    /// NEGATIVE CONTROL: the interrupt-style scan of docs/xen-abi.md §2
    /// (through `evtchn_pending_sel`, `pending & !mask`), run over masked
    /// ports — the trap of §3: a masked port sets no selector bit, so this
    /// finds nothing while the port's pending bit keeps `SCHEDOP_poll`
    /// returning at once.
    fn scan_through_pending_sel(&mut self, shared: &Shared, mut wake: impl FnMut(Waker)) -> usize {
        let mut fired = 0;
        loop {
            shared.evtchn_upcall_pending.store(0, Ordering::Relaxed);
            let mut sel = shared.evtchn_pending_sel.swap(0, Ordering::AcqRel);
            while sel != 0 {
                let w = sel.trailing_zeros() as usize;
                sel &= sel - 1;
                loop {
                    let bits = shared.evtchn_pending[w].load(Ordering::Acquire)
                        & !shared.evtchn_mask[w].load(Ordering::Acquire);
                    if bits == 0 {
                        break;
                    }
                    let b = bits.trailing_zeros();
                    shared.evtchn_pending[w].fetch_and(!(1 << b), Ordering::AcqRel);
                    fired += self.latch(Port(w as u32 * 64 + b), &mut wake);
                }
            }
            if shared.evtchn_upcall_pending.load(Ordering::Acquire) == 0 {
                return fired;
            }
        }
    }

    /// NEGATIVE CONTROL: [`scan`](Self::scan), but it latches the ports its
    /// `load` saw instead of those in the `fetch_and`'s previous value, so
    /// a port raised between the two is cleared and never reported (the
    /// case event.rs's "Clearing order" says the `fetch_and` handles).
    fn scan_latching_what_the_load_saw(
        &mut self,
        shared: &Shared,
        mut wake: impl FnMut(Waker),
    ) -> usize {
        let mut fired = 0;
        for w in 0..WORDS {
            let bound = self.bound[w];
            let word = &shared.evtchn_pending[w];
            let mut got = word.load(Ordering::Relaxed) & bound;
            if got == 0 {
                continue;
            }
            word.fetch_and(!bound, Ordering::AcqRel);
            while got != 0 {
                let b = got.trailing_zeros();
                got &= got - 1;
                fired += self.latch(Port(w as u32 * 64 + b), &mut wake);
            }
        }
        fired
    }

    /// NEGATIVE CONTROL: clears (and latches) only the ports a task waits
    /// on, leaving the others for their task's own test-and-clear — so a
    /// port that fired with nobody waiting stays pending and every later
    /// `SCHEDOP_poll` returns at once (event.rs's module doc says why the
    /// scan clears every bound port it finds set).
    fn scan_clearing_only_awaited_ports(
        &mut self,
        shared: &Shared,
        mut wake: impl FnMut(Waker),
    ) -> usize {
        let mut fired = 0;
        for i in 0..self.ports.len() {
            if self.wakers[i].iter().all(Option::is_none) {
                continue;
            }
            let (w, bit) = word_bit(self.ports[i]);
            let word = &shared.evtchn_pending[w];
            if word.load(Ordering::Relaxed) & bit != 0
                && word.fetch_and(!bit, Ordering::AcqRel) & bit != 0
            {
                fired += self.latch(self.ports[i], &mut wake);
            }
        }
        fired
    }
}

/// Mirrors `XenUnparker`: the executor's "remote" wake, a flag the next
/// park checks before blocking.
struct Unparker {
    flag: Arc<AtomicBool>,
}

impl Unparker {
    /// Mirrors `XenUnparker::unpark`.
    fn unpark(&self) {
        self.flag.store(true, Ordering::Release);
    }
}

/// How a [`Guest::park`] returned (the real one returns nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Parked {
    /// Step 1: the scan found events, or an unpark was pending.
    Early,
    /// Steps 3–4: `SCHEDOP_poll` ended so, then the second scan ran.
    Polled(PollEnd),
}

/// The guest's vCPU: the reactor's table and the park.
struct Guest {
    xen: Arc<Xen>,
    table: Table,
    unparked: Arc<AtomicBool>,
    scan_kind: ScanKind,
    parks: usize,
}

impl Guest {
    fn new(xen: Arc<Xen>, scan_kind: ScanKind) -> Guest {
        Guest {
            xen,
            table: if scan_kind == ScanKind::Real {
                Table::Real(Box::new(shimmer_xen::event::EventTable::new()))
            } else {
                Table::Mirror(EventTable::default())
            },
            unparked: Arc::new(AtomicBool::new(false)),
            scan_kind,
            parks: 0,
        }
    }

    fn bind(&mut self, port: Port) {
        self.table.bind(&self.xen.shared, port);
    }

    /// Mirrors `XenPark::unparker`.
    fn unparker(&self) -> Unparker {
        Unparker {
            flag: self.unparked.clone(),
        }
    }

    /// Mirrors `Reactor::scan`: scan, then wake the fired ports' waiters
    /// once the table is no longer borrowed.
    fn scan(&mut self) -> usize {
        let mut wakers = Vec::new();
        let shared = &self.xen.shared;
        let push = |w| wakers.push(w);
        let fired = match (&mut self.table, self.scan_kind) {
            (Table::Real(t), _) => t.scan_words(shared, push),
            (Table::Mirror(t), ScanKind::Shimmer | ScanKind::Real) => t.scan(shared, push),
            (Table::Mirror(t), ScanKind::ThroughPendingSel) => {
                t.scan_through_pending_sel(shared, push)
            }
            (Table::Mirror(t), ScanKind::LatchingWhatTheLoadSaw) => {
                t.scan_latching_what_the_load_saw(shared, push)
            }
            (Table::Mirror(t), ScanKind::ClearingOnlyAwaitedPorts) => {
                t.scan_clearing_only_awaited_ports(shared, push)
            }
        };
        for w in wakers {
            w.wake();
        }
        fired
    }

    /// Mirrors `XenPark::park`: (1) scan; return if a port fired or an
    /// unpark is pending; (2) a due deadline returns here — never the case
    /// in these models; (3) `SCHEDOP_poll` on all bound ports; (4) scan.
    fn park(&mut self, deadline: Option<Deadline>) -> Parked {
        self.parks += 1;
        let fired = self.scan();
        let unparked = self.unparked.swap(false, Ordering::Acquire);
        if fired > 0 || unparked {
            return Parked::Early;
        }
        let ports = self.table.ports();
        let end = self.xen.sched_poll(&ports, deadline);
        self.scan();
        Parked::Polled(end)
    }

    /// The executor's loop: runs the woken tasks and parks (without a
    /// deadline) while one still waits. Xen makes at most `raises` edges,
    /// and a park without a deadline only returns for an edge: one whose
    /// bit its scans clear, or (a spurious return) one whose late
    /// `evtchn_check_pollers` ends the next poll. So each edge ends at most
    /// two parks, and more than `2 * raises` parks means the reactor spins
    /// without delivering the event.
    fn run(&mut self, tasks: &mut [Task], raises: usize) {
        let max_parks = 2 * raises;
        loop {
            self.run_woken(tasks);
            if tasks.iter().all(Task::done) {
                return;
            }
            assert!(
                self.parks < max_parks,
                "busy loop: {} parks and a task still waits",
                self.parks
            );
            self.park(None);
        }
    }

    /// Runs the woken tasks until none is runnable (a task may wake
    /// another: the other side of its port).
    fn run_woken(&mut self, tasks: &mut [Task]) {
        while tasks.iter().any(Task::runnable) {
            for t in tasks.iter_mut() {
                t.run(&mut self.table, &self.xen.shared);
            }
        }
    }

    /// Once Xen has stopped: lets the tasks take whatever is left, until a
    /// park with a deadline ends at its deadline — it must within a few
    /// parks, or the reactor would spin.
    fn settle(&mut self, tasks: &mut [Task]) {
        for t in tasks.iter_mut() {
            t.want = usize::MAX;
            t.wake.runnable.store(true, Ordering::Relaxed);
        }
        for _ in 0..3 {
            self.run_woken(tasks);
            if self.park(Some(Deadline)) == Parked::Polled(PollEnd::TimedOut) {
                return;
            }
        }
        panic!("busy loop: the reactor does not come to rest once Xen stopped");
    }

    /// The reactor is at rest: no bound port pending, no task's copy of an
    /// event left latched (a side nobody waits on keeps its copy), no stray
    /// upcall state.
    fn assert_at_rest(&self, tasks: &[Task]) {
        let s = &self.xen.shared;
        for p in self.table.ports() {
            assert!(!s.pending(p), "{p:?} left pending");
            assert!(s.masked(p), "{p:?} unmasked");
        }
        for t in tasks {
            assert!(
                !self.table.has_fired_as(t.port, t.side),
                "{:?} {:?} left latched",
                t.port,
                t.side
            );
        }
        assert_eq!(s.evtchn_upcall_pending.load(Ordering::SeqCst), 0);
        assert_eq!(s.evtchn_pending_sel.load(Ordering::SeqCst), 0);
    }
}

/// A task's waker: marks it runnable and counts the wakes. Only the
/// guest's thread wakes (the scan runs there), so std atomics suffice.
#[derive(Default)]
struct WakeCount {
    runnable: StdAtomicBool,
    wakes: StdAtomicUsize,
}

impl Wake for WakeCount {
    fn wake(self: std::sync::Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &std::sync::Arc<Self>) {
        self.runnable.store(true, Ordering::Relaxed);
        self.wakes.fetch_add(1, Ordering::Relaxed);
    }
}

/// A task that waits for `want` events on its port as `side` (a loop of
/// `Reactor::poll_event_as`); polled first without a wake, later only when
/// woken.
struct Task {
    port: Port,
    side: Side,
    want: usize,
    events: usize,
    wake: std::sync::Arc<WakeCount>,
    waker: Waker,
}

impl Task {
    fn new(port: Port, want: usize) -> Task {
        Task::new_as(port, Side::Rx, want)
    }

    fn new_as(port: Port, side: Side, want: usize) -> Task {
        let wake = std::sync::Arc::new(WakeCount::default());
        wake.runnable.store(true, Ordering::Relaxed);
        Task {
            port,
            side,
            want,
            events: 0,
            waker: Waker::from(wake.clone()),
            wake,
        }
    }

    fn runnable(&self) -> bool {
        self.wake.runnable.load(Ordering::Relaxed)
    }

    /// Polls the task if it was woken. Each poll mirrors
    /// `Reactor::poll_event_as`: the other side's waiter, if handed back,
    /// is woken once the table is no longer borrowed.
    fn run(&mut self, table: &mut Table, shared: &Shared) {
        if !self.wake.runnable.swap(false, Ordering::Relaxed) {
            return;
        }
        let mut cx = Context::from_waker(&self.waker);
        while self.events < self.want {
            let mut other = None;
            let r = table.poll_event_as(shared, self.port, self.side, &mut cx, |w| other = Some(w));
            if let Some(w) = other {
                w.wake();
            }
            match r {
                Poll::Ready(()) => self.events += 1,
                Poll::Pending => return,
            }
        }
    }

    fn done(&self) -> bool {
        self.events >= self.want
    }

    fn wakes(&self) -> usize {
        self.wake.wakes.load(Ordering::Relaxed)
    }

    /// Its port made `edges` edges: the task got exactly that many events
    /// (each clear of a set bit latches one event, and woken tasks run
    /// before the next park, so no scan collapses two), and was woken at
    /// most once per edge — a wake only comes from the clear of an edge of
    /// its own port (by a scan, or by the other side's `poll_event_as`).
    fn assert_got(&self, edges: usize) {
        assert_eq!(
            self.events, edges,
            "{:?} {:?}: {} events for {edges} edges",
            self.port, self.side, self.events
        );
        assert!(
            self.wakes() <= edges,
            "{:?} {:?}: woken {} times for {edges} edges",
            self.port,
            self.side,
            self.wakes()
        );
    }
}

/// `loom::model`, reporting how many interleavings it explored (visible
/// with `--nocapture`).
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

/// Xen raises `ports` in order from another CPU; returns how many raises
/// were new edges, per port.
fn spawn_xen(xen: &Arc<Xen>, ports: Vec<Port>) -> thread::JoinHandle<Vec<(Port, bool)>> {
    let xen = xen.clone();
    thread::spawn(move || ports.into_iter().map(|p| (p, xen.raise(p))).collect())
}

fn edges_of(raises: &[(Port, bool)], port: Port) -> usize {
    raises.iter().filter(|&&(p, new)| p == port && new).count()
}

// ---- 1. No lost event ----------------------------------------------------

/// Model 1: a task waits on a masked, bound port; Xen raises it once. The
/// guest loop (park → run the woken task → `poll_event`) completes in every
/// interleaving, within two parks, and the task gets exactly one event.
fn no_lost_event(scan: ScanKind) {
    model(move || {
        let xen = Arc::new(Xen::new());
        let mut guest = Guest::new(xen.clone(), scan);
        guest.bind(P);
        let raiser = spawn_xen(&xen, vec![P]);
        let mut tasks = [Task::new(P, 1)];
        guest.run(&mut tasks, 1);
        let raises = raiser.join().unwrap();
        guest.settle(&mut tasks);
        tasks[0].assert_got(edges_of(&raises, P));
        guest.assert_at_rest(&tasks);
    });
}

#[test]
fn no_lost_event_on_a_masked_port() {
    no_lost_event(ScanKind::Shimmer);
}

#[test]
fn real_no_lost_event_on_a_masked_port() {
    no_lost_event(ScanKind::Real);
}

#[test]
fn real_event_raised_before_anyone_waits() {
    raised_before_anyone_waits(ScanKind::Real);
}

#[test]
fn real_two_ports_two_tasks() {
    two_ports_two_tasks(ScanKind::Real, false);
}

#[test]
fn real_two_ports_two_tasks_and_a_foreign_unmasked_port() {
    two_ports_two_tasks(ScanKind::Real, true);
}

#[test]
fn real_two_sides_of_one_port() {
    two_sides_of_one_port(ScanKind::Real, 1);
    two_sides_of_one_port(ScanKind::Real, 2);
}

/// Model 1b: the raise races the bind, so Xen may see the port unmasked
/// and set `evtchn_pending_sel` and `upcall_pending`: the event is still
/// delivered (a port pending at bind is picked up by the next scan), and
/// the scan clears the stray upcall state.
#[test]
fn no_lost_event_when_raised_during_the_bind() {
    model(|| {
        let xen = Arc::new(Xen::new());
        let mut guest = Guest::new(xen.clone(), ScanKind::Shimmer);
        let raiser = spawn_xen(&xen, vec![P]);
        guest.bind(P);
        let mut tasks = [Task::new(P, 1)];
        guest.run(&mut tasks, 1);
        let raises = raiser.join().unwrap();
        guest.settle(&mut tasks);
        tasks[0].assert_got(edges_of(&raises, P));
        guest.assert_at_rest(&tasks);
    });
}

// ---- 2. Raised before anyone waits ---------------------------------------

/// Model 2: Xen raises while no task waits. The first park returns with the
/// event latched and the pending bit cleared; the next park blocks until
/// its deadline instead of returning at once; the task, polled later, gets
/// the latched event, once.
fn raised_before_anyone_waits(scan: ScanKind) {
    model(move || {
        let xen = Arc::new(Xen::new());
        let mut guest = Guest::new(xen.clone(), scan);
        guest.bind(P);
        let raiser = spawn_xen(&xen, vec![P]);
        // Nobody waits: without a deadline this returns only once P fired.
        guest.park(None);
        assert!(raiser.join().unwrap()[0].1);
        assert_eq!(
            guest.park(Some(Deadline)),
            Parked::Polled(PollEnd::TimedOut),
            "busy loop: the park after the event did not block until its deadline"
        );
        assert!(!xen.shared.pending(P), "the scan clears an unawaited port");
        assert!(
            guest.table.has_fired_as(P, Side::Rx),
            "and latches its event"
        );
        let mut tasks = [Task::new(P, 1)];
        tasks[0].run(&mut guest.table, &xen.shared);
        assert!(tasks[0].done(), "the latched event is there at once");
        guest.settle(&mut tasks);
        tasks[0].assert_got(1);
        assert_eq!(tasks[0].wakes(), 0);
        guest.assert_at_rest(&tasks);
    });
}

#[test]
fn event_raised_before_anyone_waits_is_latched_and_the_next_poll_blocks() {
    raised_before_anyone_waits(ScanKind::Shimmer);
}

// ---- 3. Two raises of one port around the scan ---------------------------

/// Model 3: Xen raises the same port twice while the guest scans: the
/// second raise is either no new edge (the bit was still set) or a new one
/// after the scan's or the task's `fetch_and`. Either way no edge is lost
/// and none is reported twice: the task gets as many events as there were
/// edges (1 or 2), the first one without any deadline.
#[test]
fn two_raises_of_one_port_are_never_lost_nor_doubled() {
    model(|| {
        let xen = Arc::new(Xen::new());
        let mut guest = Guest::new(xen.clone(), ScanKind::Shimmer);
        guest.bind(P);
        let raiser = spawn_xen(&xen, vec![P, P]);
        let mut tasks = [Task::new(P, 1)];
        guest.run(&mut tasks, 2);
        let raises = raiser.join().unwrap();
        guest.settle(&mut tasks);
        let edges = edges_of(&raises, P);
        assert!((1..=2).contains(&edges));
        tasks[0].assert_got(edges);
        guest.assert_at_rest(&tasks);
    });
}

// ---- 4. Two ports, two tasks ---------------------------------------------

/// Model 4: two ports in one word, each with its task, raised by two Xen
/// CPUs — one of which also raises a foreign, unmasked port of the same
/// word. Each task is woken only for its own port and gets its event; the
/// foreign port's pending bit is left alone and its upcall state cleared.
fn two_ports_two_tasks(scan: ScanKind, foreign: bool) {
    model(move || {
        let xen = Arc::new(Xen::new());
        let mut guest = Guest::new(xen.clone(), scan);
        guest.bind(P);
        guest.bind(Q);
        let xen_p = spawn_xen(&xen, vec![P]);
        let xen_q = spawn_xen(&xen, if foreign { vec![Q, FOREIGN] } else { vec![Q] });
        let mut tasks = [Task::new(P, 1), Task::new(Q, 1)];
        guest.run(&mut tasks, if foreign { 3 } else { 2 });
        let raises_p = xen_p.join().unwrap();
        let raises_q = xen_q.join().unwrap();
        guest.settle(&mut tasks);
        tasks[0].assert_got(edges_of(&raises_p, P));
        tasks[1].assert_got(edges_of(&raises_q, Q));
        guest.assert_at_rest(&tasks);
        if foreign {
            assert!(xen.shared.pending(FOREIGN), "a foreign port is not touched");
        }
    });
}

#[test]
fn two_ports_two_tasks_each_woken_for_its_own_port() {
    two_ports_two_tasks(ScanKind::Shimmer, false);
}

#[test]
fn two_ports_two_tasks_and_a_foreign_unmasked_port() {
    two_ports_two_tasks(ScanKind::Shimmer, true);
}

// ---- 4b. Two sides of one port ------------------------------------------

/// Model 4b: one port serving two directions (event.rs, "Two waiters per
/// port"): an Rx and a Tx task wait on it while Xen raises it `raises`
/// times. Each side gets every edge, whether a scan latched it for both or
/// one side took the pending bit itself (latching it for the other and
/// waking that one).
fn two_sides_of_one_port(kind: ScanKind, raises: usize) {
    model(move || {
        let xen = Arc::new(Xen::new());
        let mut guest = Guest::new(xen.clone(), kind);
        guest.bind(P);
        let raiser = spawn_xen(&xen, vec![P; raises]);
        let mut tasks = [Task::new_as(P, Side::Rx, 1), Task::new_as(P, Side::Tx, 1)];
        guest.run(&mut tasks, raises);
        let edges = edges_of(&raiser.join().unwrap(), P);
        guest.settle(&mut tasks);
        for t in &tasks {
            t.assert_got(edges);
        }
        guest.assert_at_rest(&tasks);
    });
}

#[test]
fn two_sides_of_one_port_each_get_the_event() {
    two_sides_of_one_port(ScanKind::Shimmer, 1);
}

#[test]
fn two_sides_of_one_port_each_get_both_raises() {
    two_sides_of_one_port(ScanKind::Shimmer, 2);
}

// ---- 5. The unpark flag --------------------------------------------------

/// Model 5a, what park.rs claims: on the single vCPU, nothing runs while
/// the guest is parked, so an unpark happens before the park that must see
/// it (here: on another thread, joined first). That park returns at once,
/// without polling; the flag is consumed, and the next park blocks.
#[test]
fn unpark_before_the_park_makes_it_return_at_once() {
    model(|| {
        let xen = Arc::new(Xen::new());
        let mut guest = Guest::new(xen.clone(), ScanKind::Shimmer);
        guest.bind(P);
        let unparker = guest.unparker();
        thread::spawn(move || unparker.unpark()).join().unwrap();
        assert_eq!(guest.park(None), Parked::Early);
        assert_eq!(
            guest.park(Some(Deadline)),
            Parked::Polled(PollEnd::TimedOut)
        );
    });
}

/// The multi-vCPU design park.rs names: an unpark sets the flag **and**
/// sends an event to a port the guest has bound (so `SCHEDOP_poll` lists
/// it).
struct NotifyingUnparker {
    unparker: Unparker,
    xen: Arc<Xen>,
    port: Port,
}

impl NotifyingUnparker {
    fn unpark(&self) {
        self.unparker.unpark();
        // EVTCHNOP_send on a loopback channel: Xen raises the local port.
        self.xen.raise(self.port);
    }
}

/// Model 5b: an unpark from another CPU, racing the whole park — the scan,
/// the flag check, the poll — with flag + self-notify port: the park
/// returns in every interleaving, and at most one more park returns early
/// (the flag or the latched port left over) before one blocks again.
#[test]
fn remote_unpark_with_a_self_notify_port_ends_the_park() {
    model(|| {
        let xen = Arc::new(Xen::new());
        let mut guest = Guest::new(xen.clone(), ScanKind::Shimmer);
        guest.bind(P);
        guest.bind(SELF_NOTIFY);
        let remote = NotifyingUnparker {
            unparker: guest.unparker(),
            xen: xen.clone(),
            port: SELF_NOTIFY,
        };
        let remote = thread::spawn(move || remote.unpark());
        guest.park(None);
        remote.join().unwrap();
        let mut early = 0;
        while guest.park(Some(Deadline)) == Parked::Early {
            early += 1;
            assert!(
                early <= 1,
                "busy loop: {early} early returns after an unpark"
            );
        }
    });
}

/// Model 5c: the same race with the flag alone (`XenUnparker` as it is).
/// As park.rs says, the flag cannot end a `SCHEDOP_poll` in progress: if the
/// unpark lands after the park checked the flag, the poll blocks (until its
/// deadline — forever here). loom must find that interleaving.
fn remote_unpark_with_the_flag_alone() {
    model(|| {
        let xen = Arc::new(Xen::new());
        let mut guest = Guest::new(xen.clone(), ScanKind::Shimmer);
        guest.bind(P);
        let unparker = guest.unparker();
        let remote = thread::spawn(move || unparker.unpark());
        guest.park(None);
        remote.join().unwrap();
    });
}

#[test]
fn remote_unpark_with_the_flag_alone_can_be_missed_by_a_poll() {
    loom_tests::must_fail::expect_failure("remote_unpark_with_the_flag_alone", "deadlock");
}

// ---- 6. Negative controls ------------------------------------------------

/// The models that must fail, by name (see `loom_tests::must_fail`).
const MUST_FAIL: &[(&str, fn())] = &[
    (
        "remote_unpark_with_the_flag_alone",
        remote_unpark_with_the_flag_alone,
    ),
    ("scan_through_pending_sel", || {
        no_lost_event(ScanKind::ThroughPendingSel)
    }),
    ("scan_latching_what_the_load_saw", || {
        two_ports_two_tasks(ScanKind::LatchingWhatTheLoadSaw, false)
    }),
    ("scan_clearing_only_awaited_ports", || {
        raised_before_anyone_waits(ScanKind::ClearingOnlyAwaitedPorts)
    }),
];

/// The child process of `expect_failure`: runs the model of
/// [`MUST_FAIL`] it names (passes at once in a normal run).
#[test]
fn must_fail_child() {
    loom_tests::must_fail::must_fail_child(MUST_FAIL);
}

/// The masked-port trap (docs/xen-abi.md §3): scanning through
/// `evtchn_pending_sel` finds nothing for a masked port, `SCHEDOP_poll`
/// returns at once because its pending bit stays set, and the guest spins
/// without ever waking the task. Model 1 must catch it.
#[test]
fn negative_control_scan_through_pending_sel_livelocks() {
    loom_tests::must_fail::expect_failure("scan_through_pending_sel", "busy loop");
}

/// Latching what the `load` saw loses a port raised between the load and
/// the `fetch_and` (here Q, while the scan handles P): its task waits in
/// `SCHEDOP_poll` forever. Model 4 must catch it — in an interleaving only
/// (Xen's raise must land between two instructions of the scan).
#[test]
fn negative_control_scan_latching_what_the_load_saw_loses_an_event() {
    loom_tests::must_fail::expect_failure("scan_latching_what_the_load_saw", "deadlock");
}

/// Clearing only the ports a task waits on leaves a port that fired early
/// pending, so every later `SCHEDOP_poll` returns at once. Model 2 must
/// catch it.
#[test]
fn negative_control_scan_clearing_only_awaited_ports_busy_loops() {
    loom_tests::must_fail::expect_failure("scan_clearing_only_awaited_ports", "busy loop");
}
