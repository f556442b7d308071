//! `XenPark`: the executor's [`Park`] on Xen, and the [`Reactor`] handle
//! tasks use to wait on event channels.
//!
//! # park(deadline)
//! 1. Scan the bound ports ([`EventTable::scan`]): wake the tasks whose
//!    ports fired. If any fired, or an unpark is pending, return — the
//!    executor has work.
//! 2. If the deadline has passed, return (a zero-timeout park is "poll
//!    events once").
//! 3. Otherwise block in `SCHEDOP_poll` on all bound ports, with the
//!    deadline as an absolute Xen system time, clamped by
//!    [`crate::clock::poll_timeout`] (never 0, never beyond Xen's 2^50 ns limit;
//!    no deadline gets the clamp too, so the park wakes every few days and
//!    re-parks).
//! 4. Scan again and return.
//!
//! There is no lost-wakeup window between 1 and 3: a port Xen raises after
//! the scan has its pending bit set, and `SCHEDOP_poll` returns at once when
//! a listed port is pending (masks ignored).
//!
//! # The clock
//! `now()` is Xen system time from the PV clock of vCPU 0 ([`PvClock`]), the
//! same time base `SCHEDOP_poll` deadlines use, so a timer deadline goes to
//! Xen unconverted.
//!
//! # Unpark on one vCPU without interrupts
//! Nothing runs concurrently with a parked shimmer guest: one vCPU, no
//! threads, no interrupt handlers. Every wake comes from a task (on the
//! executor's thread, which queues the task directly) or from an event
//! channel (found by the scan). The executor still owns an [`Unpark`]
//! handle for wakes it considers "remote"; [`XenUnparker`] records them in a
//! flag that the next `park` checks before blocking, so such a wake makes
//! the next park return at once. It cannot interrupt a `SCHEDOP_poll`
//! already in progress — on a single vCPU nothing could call it then; a
//! future multi-vCPU or interrupt-driven backend would pair the flag with an
//! event channel sent to itself.

use alloc::rc::Rc;
use alloc::sync::Arc;
use core::cell::RefCell;
use core::future::Future;
use core::pin::Pin;
use core::sync::atomic::{AtomicBool, Ordering};
use core::task::{Context, Poll, Waker};

use shimmer_executor::{Instant, Park, Unpark};

use crate::abi::DomId;
use crate::clock::{poll_timeout, PollTimeout, PvClock};
use crate::event::{EventError, EventTable, Side, MAX_PORTS};
use crate::hypervisor::{Hypervisor, Port};

/// Handle to the event-channel reactor of a [`XenPark`]: bind ports and
/// wait for their events. Cheap to clone; single-threaded (`!Send`).
pub struct Reactor<H: Hypervisor + Clone> {
    hv: H,
    table: Rc<RefCell<EventTable>>,
}

impl<H: Hypervisor + Clone> Clone for Reactor<H> {
    fn clone(&self) -> Self {
        Reactor {
            hv: self.hv.clone(),
            table: self.table.clone(),
        }
    }
}

impl<H: Hypervisor + Clone> Reactor<H> {
    fn new(hv: H) -> Reactor<H> {
        Reactor {
            hv,
            table: Rc::new(RefCell::new(EventTable::new())),
        }
    }

    /// The hypervisor.
    pub fn hypervisor(&self) -> &H {
        &self.hv
    }

    /// Starts watching `port` (masks it; see [`crate::event`]).
    pub fn bind(&self, port: Port) -> Result<(), EventError> {
        self.table.borrow_mut().bind(self.hv.shared_info(), port)
    }

    /// Stops watching `port`. A task waiting on it is woken and gets
    /// [`EventError::NotBound`].
    pub fn unbind(&self, port: Port) -> Result<(), EventError> {
        let waiters = self.table.borrow_mut().unbind(port)?;
        for w in waiters.into_iter().flatten() {
            w.wake();
        }
        Ok(())
    }

    /// `EVTCHNOP_alloc_unbound` for `remote_dom`, then [`bind`](Self::bind).
    pub fn alloc_unbound(&self, remote_dom: DomId) -> Result<Port, EventError> {
        let port = self.hv.evtchn_alloc_unbound(remote_dom)?;
        self.bind_or_close(port)
    }

    /// `EVTCHNOP_bind_interdomain`, then [`bind`](Self::bind). The new port
    /// starts pending (Xen's rule), so its first wait completes at once.
    pub fn bind_interdomain(
        &self,
        remote_dom: DomId,
        remote_port: Port,
    ) -> Result<Port, EventError> {
        let port = self.hv.evtchn_bind_interdomain(remote_dom, remote_port)?;
        self.bind_or_close(port)
    }

    /// `EVTCHNOP_bind_virq` on vCPU 0, then [`bind`](Self::bind).
    pub fn bind_virq(&self, virq: u32) -> Result<Port, EventError> {
        let port = self.hv.evtchn_bind_virq(virq, 0)?;
        self.bind_or_close(port)
    }

    fn bind_or_close(&self, port: Port) -> Result<Port, EventError> {
        match self.bind(port) {
            Ok(()) => Ok(port),
            Err(e) => {
                let _ = self.hv.evtchn_close(port);
                Err(e)
            }
        }
    }

    /// [`unbind`](Self::unbind) and `EVTCHNOP_close`.
    pub fn close(&self, port: Port) -> Result<(), EventError> {
        self.unbind(port)?;
        self.hv.evtchn_close(port)?;
        Ok(())
    }

    /// Notifies the other end of `port`.
    pub fn notify(&self, port: Port) -> Result<(), EventError> {
        self.hv.evtchn_send(port).map_err(EventError::Xen)
    }

    /// The next event on `port` (one already latched completes at once).
    pub fn wait(&self, port: Port) -> PortEvent<'_, H> {
        PortEvent {
            reactor: self,
            port,
        }
    }

    /// Polls for an event on `port` (the [`wait`](Self::wait) future's
    /// body, for hand-written futures and poll-based drivers).
    pub fn poll_event(&self, port: Port, cx: &mut Context<'_>) -> Poll<Result<(), EventError>> {
        self.poll_event_as(port, Side::Rx, cx)
    }

    /// Polls for `side`'s copy of an event on `port`: for a device whose
    /// one port serves two directions, each waiting in its own task (see
    /// [`crate::event`], "Two waiters per port").
    pub fn poll_event_as(
        &self,
        port: Port,
        side: Side,
        cx: &mut Context<'_>,
    ) -> Poll<Result<(), EventError>> {
        let mut other = None;
        let r = self
            .table
            .borrow_mut()
            .poll_event_as(self.hv.shared_info(), port, side, cx, |w| other = Some(w));
        // Woken once the table is no longer borrowed.
        if let Some(w) = other {
            w.wake();
        }
        r
    }

    /// Scans, then wakes the fired ports' waiters once the table is no
    /// longer borrowed (a waker may run arbitrary code). Returns how many
    /// ports fired.
    pub fn scan(&self) -> usize {
        let mut wakers: [Option<Waker>; MAX_PORTS] = [const { None }; MAX_PORTS];
        let mut n = 0;
        let fired = self.table.borrow_mut().scan(self.hv.shared_info(), |w| {
            // At most one waker per bound port, and at most MAX_PORTS ports.
            if let Some(slot) = wakers.get_mut(n) {
                *slot = Some(w);
                n += 1;
            }
        });
        for w in wakers.iter_mut().take(n) {
            if let Some(w) = w.take() {
                w.wake();
            }
        }
        fired
    }

    /// Copies the bound ports (the `SCHEDOP_poll` list) into `out`.
    fn ports_into(&self, out: &mut [Port; MAX_PORTS]) -> usize {
        let table = self.table.borrow();
        let ports = table.ports();
        out[..ports.len()].copy_from_slice(ports);
        ports.len()
    }
}

/// Future of [`Reactor::wait`].
pub struct PortEvent<'a, H: Hypervisor + Clone> {
    reactor: &'a Reactor<H>,
    port: Port,
}

impl<H: Hypervisor + Clone> Future for PortEvent<'_, H> {
    type Output = Result<(), EventError>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.reactor.poll_event(self.port, cx)
    }
}

/// The [`Unpark`] handle of a [`XenPark`] (see the module doc).
#[derive(Clone, Debug)]
pub struct XenUnparker {
    flag: Arc<AtomicBool>,
}

impl Unpark for XenUnparker {
    fn unpark(&self) {
        self.flag.store(true, Ordering::Release);
    }
}

/// The executor's [`Park`] on Xen: event-channel scan + `SCHEDOP_poll`.
pub struct XenPark<H: Hypervisor + Clone> {
    reactor: Reactor<H>,
    clock: PvClock,
    unparked: Arc<AtomicBool>,
}

impl<H: Hypervisor + Clone> XenPark<H> {
    /// A park over `hv`, with no port bound yet.
    pub fn new(hv: H) -> XenPark<H> {
        XenPark {
            reactor: Reactor::new(hv),
            clock: PvClock::new(),
            unparked: Arc::new(AtomicBool::new(false)),
        }
    }

    /// The reactor handle tasks use to bind and wait on ports.
    pub fn reactor(&self) -> Reactor<H> {
        self.reactor.clone()
    }

    /// Xen system time now, ns.
    pub fn now_ns(&self) -> u64 {
        self.clock.now(&self.reactor.hv)
    }
}

impl<H: Hypervisor + Clone> Park for XenPark<H> {
    type Unparker = XenUnparker;

    fn park(&mut self, deadline: Option<Instant>) {
        let fired = self.reactor.scan();
        let unparked = self.unparked.swap(false, Ordering::Acquire);
        if fired > 0 || unparked {
            return;
        }
        let now = self.now_ns();
        let until = match poll_timeout(deadline.map(Instant::as_nanos), now) {
            PollTimeout::Due => return,
            PollTimeout::At(t) => t,
        };
        let mut ports = [Port(0); MAX_PORTS];
        let n = self.reactor.ports_into(&mut ports);
        // An error (none is expected: ≤ 128 valid ports) is a spurious
        // return, which `Park` allows; the executor parks again.
        let _ = self.reactor.hv.sched_poll(&ports[..n], Some(until));
        self.reactor.scan();
    }

    fn unparker(&self) -> XenUnparker {
        XenUnparker {
            flag: self.unparked.clone(),
        }
    }

    fn now(&self) -> Instant {
        Instant::from_nanos(self.now_ns())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::MAX_POLL_AHEAD_NS;
    use crate::testing::{FakeXen, EXECUTOR_LOCK};
    use core::time::Duration;
    use shimmer_executor::{sleep, spawn, Executor};
    use std::cell::Cell;
    use std::vec;
    use std::vec::Vec;

    fn lock() -> std::sync::MutexGuard<'static, ()> {
        EXECUTOR_LOCK.lock().unwrap_or_else(|e| e.into_inner())
    }

    #[test]
    fn executor_sleeps_in_sched_poll_with_an_absolute_deadline() {
        let _g = lock();
        let xen = Rc::new(FakeXen::new());
        // Start far from 0, so that a relative timeout (~10 ms) passed as
        // if absolute would be in the past.
        const START: u64 = 1_000_000_000_000;
        xen.advance(START);
        let park = XenPark::new(xen.clone());
        let mut ex = Executor::new(park);
        let woke_at = ex.block_on(async {
            sleep(Duration::from_millis(10)).await;
            shimmer_executor::Instant::now().as_nanos()
        });
        assert!(
            woke_at >= START + 10_000_000,
            "timer fired early: {woke_at}"
        );
        assert!(woke_at < START + 11_000_000, "timer late: {woke_at}");
        let polls = xen.polls();
        assert!(!polls.is_empty(), "parked in SCHEDOP_poll");
        for p in &polls {
            let d = p.deadline.expect("a deadline");
            assert!(d > p.at, "absolute deadline in the future: {p:?}");
            assert!(d <= START + 11_000_000, "deadline near the timer: {p:?}");
            assert!(p.ports.is_empty());
        }
        // Virtual time: the fake clock jumped to each deadline; the wheel
        // may park once per level it cascades through, but never spins.
        assert!(polls.len() <= 8, "{polls:?}");
        assert!(polls.windows(2).all(|w| w[0].at < w[1].at), "{polls:?}");
    }

    #[test]
    fn task_waiting_on_a_port_is_woken_by_the_event() {
        let _g = lock();
        let xen = Rc::new(FakeXen::new());
        let park = XenPark::new(xen.clone());
        let reactor = park.reactor();
        let port = reactor.alloc_unbound(0).unwrap();
        xen.schedule(3_000_000, port);
        let mut ex = Executor::new(park);
        let r2 = reactor.clone();
        let (woken_at, slept) = ex.block_on(async move {
            let waiter = spawn(async move {
                r2.wait(port).await.unwrap();
                shimmer_executor::Instant::now().as_nanos()
            });
            let sleeper = spawn(async {
                sleep(Duration::from_millis(20)).await;
                shimmer_executor::Instant::now().as_nanos()
            });
            (waiter.await.unwrap(), sleeper.await.unwrap())
        });
        assert!((3_000_000..20_000_000).contains(&woken_at), "{woken_at}");
        assert!(slept >= 20_000_000, "{slept}");
        // The port was on the poll list while the task waited.
        let polls = xen.polls();
        assert!(polls.iter().any(|p| p.ports == vec![port]), "{polls:?}");
        // And after the event no poll returned at once in a loop: each poll
        // after the wake waited for the sleep deadline.
        let busy = polls.windows(2).filter(|w| w[0].at == w[1].at).count();
        assert!(busy <= 1, "busy loop in park: {polls:?}");
    }

    #[test]
    fn masked_port_firing_without_a_waiter_does_not_busy_loop() {
        let _g = lock();
        let xen = Rc::new(FakeXen::new());
        let mut park = XenPark::new(xen.clone());
        let reactor = park.reactor();
        let port = reactor.bind_virq(0).unwrap();
        xen.raise(port);
        // Nobody waits on the port. The first park finds the event (and
        // returns), later parks must block until the deadline instead of
        // returning at once forever.
        park.park(Some(Instant::from_nanos(1_000_000)));
        assert!(xen.polls().is_empty(), "event found by the scan, no poll");
        for k in 2..5u64 {
            park.park(Some(Instant::from_nanos(k * 1_000_000)));
            assert_eq!(xen.now(), k * 1_000_000, "blocked until the deadline");
        }
        // The event was latched for a later waiter.
        let waker = Waker::noop();
        let mut cx = Context::from_waker(waker);
        assert_eq!(reactor.poll_event(port, &mut cx), Poll::Ready(Ok(())));
    }

    #[test]
    fn zero_timeout_park_does_not_block_and_far_deadlines_are_clamped() {
        let _g = lock();
        let xen = Rc::new(FakeXen::new());
        xen.advance(1_000);
        let mut park = XenPark::new(xen.clone());
        park.park(Some(Instant::from_nanos(1_000)));
        park.park(Some(Instant::ZERO));
        assert!(xen.polls().is_empty(), "a due deadline only scans");
        park.park(Some(Instant::MAX));
        park.park(None);
        let polls = xen.polls();
        assert_eq!(polls.len(), 2);
        assert_eq!(polls[0].deadline, Some(1_000 + MAX_POLL_AHEAD_NS));
        let t1 = 1_000 + MAX_POLL_AHEAD_NS;
        assert_eq!(polls[1].deadline, Some(t1 + MAX_POLL_AHEAD_NS));
        assert!(polls.iter().all(|p| p.deadline != Some(0)));
    }

    #[test]
    fn unpark_makes_the_next_park_return_at_once() {
        let _g = lock();
        let xen = Rc::new(FakeXen::new());
        let mut park = XenPark::new(xen.clone());
        let u = park.unparker();
        let t = std::thread::spawn(move || u.unpark());
        t.join().unwrap();
        park.park(None);
        assert!(xen.polls().is_empty(), "returned without blocking");
        park.park(Some(Instant::from_nanos(50)));
        assert_eq!(xen.polls().len(), 1, "consumed: the next park blocks");
    }

    #[test]
    fn all_128_ports_wake_their_tasks_in_event_order() {
        let _g = lock();
        let xen = Rc::new(FakeXen::new());
        let park = XenPark::new(xen.clone());
        let reactor = park.reactor();
        let ports: Vec<Port> = (0..MAX_PORTS)
            .map(|_| reactor.alloc_unbound(0).unwrap())
            .collect();
        assert!(reactor.alloc_unbound(0).is_err(), "129th port: table full");
        assert_eq!(
            xen.closed().len(),
            1,
            "the port that did not fit was closed"
        );
        for (i, &p) in ports.iter().enumerate() {
            xen.schedule(1_000 * (MAX_PORTS - i) as u64, p);
        }
        let order = Rc::new(RefCell::new(Vec::new()));
        let mut ex = Executor::new(park);
        let done = Rc::new(Cell::new(0));
        ex.block_on({
            let (order, done) = (order.clone(), done.clone());
            async move {
                let mut hs = Vec::new();
                for &p in &ports {
                    let (r, order, done) = (reactor.clone(), order.clone(), done.clone());
                    hs.push(spawn(async move {
                        r.wait(p).await.unwrap();
                        order.borrow_mut().push(p);
                        done.set(done.get() + 1);
                    }));
                }
                for h in hs {
                    h.await.unwrap();
                }
            }
        });
        assert_eq!(done.get(), MAX_PORTS);
        let order = order.borrow();
        // Raised last-to-first in time; woken in that order.
        let mut expect: Vec<Port> = order.clone();
        expect.sort_by_key(|p| std::cmp::Reverse(p.0));
        assert_eq!(*order, expect);
        assert!(xen.polls().iter().all(|p| p.ports.len() <= MAX_PORTS));
    }

    #[test]
    fn unbind_wakes_the_waiter_with_an_error() {
        let _g = lock();
        let xen = Rc::new(FakeXen::new());
        let park = XenPark::new(xen.clone());
        let reactor = park.reactor();
        let port = reactor.alloc_unbound(0).unwrap();
        let mut ex = Executor::new(park);
        let r = reactor.clone();
        let res = ex.block_on(async move {
            let h = spawn(async move { r.wait(port).await });
            sleep(Duration::from_millis(1)).await;
            reactor.close(port).unwrap();
            h.await.unwrap()
        });
        assert_eq!(res, Err(EventError::NotBound(port)));
        assert_eq!(xen.closed(), vec![port]);
    }

    #[test]
    fn fresh_interdomain_port_is_pending_and_completes_at_once() {
        let _g = lock();
        let xen = Rc::new(FakeXen::new());
        let park = XenPark::new(xen.clone());
        let reactor = park.reactor();
        let port = reactor.bind_interdomain(0, Port(7)).unwrap();
        let mut ex = Executor::new(park);
        ex.block_on(async move { reactor.wait(port).await.unwrap() });
        assert!(xen.polls().is_empty());
    }

    #[test]
    fn pv_clock_through_the_hypervisor_is_monotonic() {
        use crate::clock::{publish_time_info, TimeSnapshot};
        let xen = FakeXen::new();
        let park = XenPark::new(Rc::new(xen));
        let xen = &park.reactor.hv;
        xen.advance(1000);
        assert_eq!(park.now_ns(), 1000);
        // Xen recalibrates: its new extrapolation is 5 ns behind.
        publish_time_info(
            &xen.shared.vcpu_info[0].time,
            &TimeSnapshot {
                version: 0,
                tsc_timestamp: 1000,
                system_time: 995,
                tsc_to_system_mul: 1 << 31,
                tsc_shift: 1,
                flags: 0,
            },
        );
        assert_eq!(park.now_ns(), 1000, "never goes back");
        xen.advance(10);
        assert_eq!(park.now_ns(), 1005);
        assert_eq!(park.now(), Instant::from_nanos(1005));
    }
}
