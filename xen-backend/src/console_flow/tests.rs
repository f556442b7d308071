//! `XenConsole` against the fake Xen, with the test playing xenconsoled
//! through the ring's backend side. Time is the fake's virtual time.

use super::*;
use crate::abi::console::{XenconsInterface, XENCONS_OUT_SIZE};
use crate::console::ConsoleBackendRing;
use crate::hypervisor::Port;
use crate::testing::{FakeXen, EXECUTOR_LOCK};
use crate::XenPark;
use alloc::rc::Rc;
use core::sync::atomic::Ordering;
use shimmer_executor::{join, sleep, Executor};
use std::boxed::Box;
use std::vec;
use std::vec::Vec;

struct Setup {
    xen: Rc<FakeXen>,
    ring: &'static XenconsInterface,
    port: Port,
    reactor: Reactor<Rc<FakeXen>>,
    console: &'static Console<'static, Rc<FakeXen>>,
}

fn setup() -> (Setup, Executor) {
    let xen = Rc::new(FakeXen::new());
    let ring: &'static XenconsInterface = Box::leak(Box::new(XenconsInterface::zeroed()));
    let port = Port(5);
    let console = Box::leak(Box::new(Console::new(xen.clone(), ring, port)));
    let park = XenPark::new(xen.clone());
    let reactor = park.reactor();
    let setup = Setup {
        xen,
        ring,
        port,
        reactor,
        console,
    };
    (setup, Executor::new(park))
}

impl Setup {
    fn flow(&self) -> XenConsole<'static, Rc<FakeXen>> {
        XenConsole::new(self.console, self.reactor.clone(), PagePool::new()).unwrap()
    }

    fn backend(&self) -> ConsoleBackendRing<'static> {
        ConsoleBackendRing::new(self.ring)
    }

    /// xenconsoled: drain the output into `out`, and notify if it took any.
    fn drain_into(&self, out: &mut Vec<u8>, notify: bool) -> usize {
        let mut buf = [0u8; 4096];
        let n = self.backend().read_output(&mut buf).unwrap();
        out.extend_from_slice(&buf[..n]);
        if n > 0 && notify {
            self.xen.raise(self.port);
        }
        n
    }
}

fn lock() -> std::sync::MutexGuard<'static, ()> {
    EXECUTOR_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 251) as u8).collect()
}

#[test]
fn a_write_that_fits_lands_in_the_ring_and_notifies() {
    let _g = lock();
    let (t, mut ex) = setup();
    let flow = t.flow();
    ex.block_on(async { flow.write(b"hello\n").await }).unwrap();
    let mut out = Vec::new();
    t.drain_into(&mut out, false);
    assert_eq!(out, b"hello\n");
    assert_eq!(t.xen.sends(), vec![t.port]);
}

#[test]
fn a_write_larger_than_the_ring_waits_for_the_backend_and_keeps_order() {
    let _g = lock();
    let (t, mut ex) = setup();
    let flow = t.flow();
    let data = pattern(5 * XENCONS_OUT_SIZE + 123);
    let mut out = Vec::new();
    let (written, ()) = ex.block_on(async {
        join(flow.write(&data), async {
            // xenconsoled drains a little later each time, then notifies.
            while out.len() < data.len() {
                sleep(Duration::from_millis(3)).await;
                t.drain_into(&mut out, true);
            }
        })
        .await
    });
    written.unwrap();
    assert_eq!(out, data);
}

#[test]
fn a_backend_that_connects_late_is_notified_again() {
    let _g = lock();
    let (t, mut ex) = setup();
    let flow = t.flow();
    let data = pattern(2 * XENCONS_OUT_SIZE);
    let mut out = Vec::new();
    let (written, ()) = ex.block_on(async {
        join(flow.write(&data), async {
            // This backend never notifies: it drains only when notified
            // (as xenconsoled does), and the first notifications were sent
            // before it was there.
            sleep(Duration::from_millis(50)).await;
            let mut seen = t.xen.sends().len();
            while out.len() < data.len() {
                sleep(Duration::from_millis(1)).await;
                let sends = t.xen.sends().len();
                if sends > seen {
                    seen = sends;
                    t.drain_into(&mut out, false);
                }
            }
        })
        .await
    });
    written.unwrap();
    assert_eq!(out, data);
    assert!(t.xen.sends().len() >= 3, "re-notified: {:?}", t.xen.sends());
}

#[test]
fn a_backend_that_never_drains_fails_the_write_instead_of_hanging() {
    let _g = lock();
    let (t, mut ex) = setup();
    let flow = t.flow();
    let data = pattern(XENCONS_OUT_SIZE + 1);
    let (result, took) = ex.block_on(async {
        let start = Instant::now();
        let r = flow.write(&data).await;
        (r, Instant::now().duration_since(start))
    });
    assert_eq!(result, Err(Error::TimedOut));
    assert!(took >= Duration::from_nanos(STALL_LIMIT_NS), "{took:?}");
    assert!(took < Duration::from_nanos(2 * STALL_LIMIT_NS), "{took:?}");
}

#[test]
fn a_reader_waits_for_input_and_a_writer_can_wait_beside_it() {
    let _g = lock();
    let (t, mut ex) = setup();
    let flow = t.flow();
    let data = pattern(3 * XENCONS_OUT_SIZE);
    let mut out = Vec::new();
    let mut line = [0u8; 64];
    let (read, (written, ())) = ex.block_on(async {
        join(
            flow.read_into(&mut line),
            join(flow.write(&data), async {
                // Drain the output (with notifications) first; the input
                // arrives after the writer is done, on the same port.
                while out.len() < data.len() {
                    sleep(Duration::from_millis(2)).await;
                    t.drain_into(&mut out, true);
                }
                sleep(Duration::from_millis(5)).await;
                assert_eq!(t.backend().write_input(b"typed\n").unwrap(), 6);
                t.xen.raise(t.port);
            }),
        )
        .await
    });
    written.unwrap();
    assert_eq!(out, data);
    let n = read.unwrap();
    assert_eq!(&line[..n], b"typed\n");
    // Consuming input notified the backend (there is room again).
    assert_eq!(t.xen.sends().last(), Some(&t.port));
}

#[test]
fn read_returns_pages_and_input_already_there_needs_no_event() {
    let _g = lock();
    let (t, mut ex) = setup();
    t.backend().write_input(b"early").unwrap();
    let flow = t.flow();
    let buf = ex
        .block_on(async { flow.read().await })
        .unwrap()
        .expect("bytes");
    assert_eq!(&buf[..], b"early");
}

#[test]
fn hostile_indices_are_an_error_not_a_panic() {
    let _g = lock();
    let (t, mut ex) = setup();
    let flow = t.flow();
    // The backend claims more unread input than the ring holds.
    t.ring.in_prod.store(1 << 20, Ordering::SeqCst);
    let mut buf = [0u8; 16];
    let r = ex.block_on(async { flow.read_into(&mut buf).await });
    assert_eq!(r, Err(Error::Io));
    t.ring.out_cons.store(u32::MAX / 2, Ordering::SeqCst);
    let r = ex.block_on(async { flow.write(b"x").await });
    assert_eq!(r, Err(Error::Io));
}

#[test]
fn shutdown_and_close_end_the_directions_after_draining() {
    let _g = lock();
    let (t, mut ex) = setup();
    let flow = t.flow();
    let mut out = Vec::new();
    let mut buf = [0u8; 8];
    let (r, ()) = ex.block_on(async {
        join(
            async {
                flow.write(b"bye").await?;
                flow.shutdown(Shutdown::Write).await?;
                let refused = flow.write(b"more").await;
                flow.shutdown(Shutdown::Read).await?;
                let eof = flow.read_into(&mut buf).await?;
                flow.close().await?;
                let closed = flow.read_into(&mut buf).await;
                Ok::<_, Error>((refused, eof, closed))
            },
            async {
                sleep(Duration::from_millis(1)).await;
                t.drain_into(&mut out, true);
            },
        )
        .await
    });
    let (refused, eof, closed) = r.unwrap();
    assert_eq!(out, b"bye", "shutdown(Write) waited for the drain");
    assert_eq!(refused, Err(Error::Closed));
    assert_eq!(eof, 0);
    assert_eq!(closed, Err(Error::Closed));
}

#[test]
fn dropping_the_flow_unbinds_the_port() {
    let _g = lock();
    let (t, _ex) = setup();
    let reactor = t.reactor.clone();
    let flow = t.flow();
    assert_eq!(reactor.bind(t.port), Err(EventError::AlreadyBound(t.port)));
    drop(flow);
    reactor.bind(t.port).unwrap();
}
