//! [`link`]: two connected in-memory [`Net`] devices with seeded faults.

use alloc::boxed::Box;
use alloc::collections::BinaryHeap;
use alloc::rc::Rc;
use core::cell::{Cell, RefCell};
use core::cmp::Ordering;
use core::fmt;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use shimmer_executor::{sleep_until, Instant, Sleep};

use super::wakers::WakerList;
use crate::net::{LinkState, MacAddr, Net, NetStats, Offload};
use crate::page::{Buf, PagePool, PAGE_SIZE};
use crate::{Error, Result};

/// How a [`link`] behaves. Probabilities are in `0.0..=1.0`; the same seed
/// gives the same losses, duplicates and reorderings.
///
/// ```
/// use shimmer_io::mem::LinkConfig;
/// use core::time::Duration;
/// let lossy = LinkConfig::new()
///     .seed(7)
///     .loss(0.1)
///     .duplicate(0.05)
///     .reorder(0.05)
///     .delay(Duration::from_micros(200), Duration::from_micros(50));
/// # let _ = lossy;
/// ```
#[derive(Clone, Copy, Debug)]
pub struct LinkConfig {
    seed: u64,
    loss: f64,
    duplicate: f64,
    reorder: f64,
    delay: Duration,
    jitter: Duration,
    queue_frames: usize,
    mtu: usize,
    macs: [MacAddr; 2],
    offload: Offload,
}

impl LinkConfig {
    /// A perfect link: no loss, duplication, reordering or delay; 256 frames
    /// in flight per direction; MTU 1500; MACs 02:00:00:00:00:01 and :02.
    pub const fn new() -> LinkConfig {
        LinkConfig {
            seed: 0x5eed,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            queue_frames: 256,
            mtu: 1500,
            macs: [
                MacAddr([0x02, 0, 0, 0, 0, 1]),
                MacAddr([0x02, 0, 0, 0, 0, 2]),
            ],
            offload: Offload::NONE,
        }
    }

    /// Seed of the link's random choices.
    pub const fn seed(mut self, seed: u64) -> LinkConfig {
        self.seed = seed;
        self
    }

    /// Probability that a frame is lost.
    pub const fn loss(mut self, p: f64) -> LinkConfig {
        self.loss = p;
        self
    }

    /// Probability that a frame arrives twice.
    pub const fn duplicate(mut self, p: f64) -> LinkConfig {
        self.duplicate = p;
        self
    }

    /// Probability that a frame is held back and arrives after the next one.
    pub const fn reorder(mut self, p: f64) -> LinkConfig {
        self.reorder = p;
        self
    }

    /// Every frame arrives `delay` plus up to `jitter` (uniform) after it is
    /// sent, on the executor's timers.
    pub const fn delay(mut self, delay: Duration, jitter: Duration) -> LinkConfig {
        self.delay = delay;
        self.jitter = jitter;
        self
    }

    /// Frames in flight per direction before `poll_send_ready` is pending
    /// (at least 1).
    pub const fn queue_frames(mut self, frames: usize) -> LinkConfig {
        self.queue_frames = frames;
        self
    }

    /// The MTU of both ends (at most a page minus the Ethernet header).
    pub const fn mtu(mut self, mtu: usize) -> LinkConfig {
        self.mtu = mtu;
        self
    }

    /// The MAC addresses of the two ends.
    pub const fn macs(mut self, a: MacAddr, b: MacAddr) -> LinkConfig {
        self.macs = [a, b];
        self
    }

    /// The checksum offload both ends report.
    pub const fn offload(mut self, offload: Offload) -> LinkConfig {
        self.offload = offload;
        self
    }
}

impl Default for LinkConfig {
    fn default() -> LinkConfig {
        LinkConfig::new()
    }
}

/// Two connected Ethernet devices: what one sends, the other receives,
/// subject to `config`'s faults. Frames are pages of `pool`; a received
/// frame is the very page the sender filled (zero-copy).
pub fn link(pool: PagePool, config: LinkConfig) -> (MemNet, MemNet) {
    let mut config = config;
    config.queue_frames = config.queue_frames.max(1);
    config.mtu = config.mtu.min(PAGE_SIZE - crate::net::ETHERNET_HEADER_LEN);
    let shared = Rc::new(LinkShared {
        dirs: [
            RefCell::new(Direction::default()),
            RefCell::new(Direction::default()),
        ],
        rng: RefCell::new(fastrand::Rng::with_seed(config.seed)),
        config,
        down: Cell::new(false),
        present: [Cell::new(true), Cell::new(true)],
    });
    let end = |side| MemNet {
        shared: shared.clone(),
        side,
        pool: pool.clone(),
        gone: Cell::new(false),
        stats: Cell::new(NetStats::default()),
        timer: RefCell::new(None),
    };
    (end(0), end(1))
}

/// A frame on the wire, due at `at` (ns; 0 without delay), `seq` keeping
/// the order of frames due at once.
struct InFlight {
    at: u64,
    seq: u64,
    frame: Buf,
}

impl PartialEq for InFlight {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for InFlight {}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for InFlight {
    /// Reversed: `BinaryHeap` is a max-heap and the earliest frame is wanted.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// Frames sent by one end, to be received by the other.
#[derive(Default)]
struct Direction {
    wire: BinaryHeap<InFlight>,
    /// A frame held back to arrive after the next one (reordering).
    held: Option<InFlight>,
    seq: u64,
    receiver: WakerList,
    senders: WakerList,
}

impl Direction {
    fn len(&self) -> usize {
        self.wire.len() + usize::from(self.held.is_some())
    }

    fn push(&mut self, at: u64, frame: Buf) {
        let seq = self.seq;
        self.seq += 1;
        self.wire.push(InFlight { at, seq, frame });
    }
}

struct LinkShared {
    dirs: [RefCell<Direction>; 2],
    rng: RefCell<fastrand::Rng>,
    config: LinkConfig,
    down: Cell<bool>,
    /// Whether each end still exists (neither unplugged nor dropped).
    present: [Cell<bool>; 2],
}

/// One end of a [`link`]. Dropping it takes the link down for the other.
pub struct MemNet {
    shared: Rc<LinkShared>,
    side: usize,
    pool: PagePool,
    gone: Cell<bool>,
    stats: Cell<NetStats>,
    /// Wakes the receiver when the next delayed frame is due.
    timer: RefCell<Option<Pin<Box<Sleep>>>>,
}

impl MemNet {
    fn out(&self) -> &RefCell<Direction> {
        &self.shared.dirs[self.side]
    }

    fn inn(&self) -> &RefCell<Direction> {
        &self.shared.dirs[1 - self.side]
    }

    fn update(&self, f: impl FnOnce(&mut NetStats)) {
        let mut s = self.stats.get();
        f(&mut s);
        self.stats.set(s);
    }

    /// Takes the link down (both ends see `LinkState::Down`; frames sent
    /// meanwhile are dropped) or up again.
    pub fn set_link(&self, state: LinkState) {
        self.shared.down.set(state == LinkState::Down);
        for dir in &self.shared.dirs {
            let mut d = dir.borrow_mut();
            d.receiver.wake_all();
            d.senders.wake_all();
        }
    }

    /// The device goes away (hot-unplugged): everything on this end fails
    /// with [`Error::DeviceGone`] from now on; the other end sees the link
    /// down.
    pub fn unplug(&self) {
        self.gone.set(true);
        self.shared.present[self.side].set(false);
        self.wake_everyone();
    }

    /// Frames sent by this end and not yet received by the other.
    pub fn in_flight(&self) -> usize {
        self.out().borrow().len()
    }

    fn wake_everyone(&self) {
        for dir in &self.shared.dirs {
            let mut d = dir.borrow_mut();
            d.receiver.wake_all();
            d.senders.wake_all();
        }
    }

    fn now_ns(&self) -> u64 {
        Instant::now().as_nanos()
    }

    fn has_delay(&self) -> bool {
        let c = &self.shared.config;
        !c.delay.is_zero() || !c.jitter.is_zero()
    }
}

impl Net for MemNet {
    fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Result<Buf>> {
        if self.gone.get() {
            return Poll::Ready(Err(Error::DeviceGone));
        }
        let mut d = self.inn().borrow_mut();
        if d.wire.is_empty() {
            // Nothing overtook the held frame: it arrives in order after all.
            if let Some(held) = d.held.take() {
                d.wire.push(held);
            }
        }
        let Some(head) = d.wire.peek() else {
            d.receiver.register(cx.waker());
            return Poll::Pending;
        };
        if head.at != 0 {
            let now = self.now_ns();
            if head.at > now {
                let due = Instant::from_nanos(head.at);
                d.receiver.register(cx.waker());
                drop(d);
                let mut timer = self.timer.borrow_mut();
                let sleep = timer.get_or_insert_with(|| Box::pin(sleep_until(due)));
                if sleep.deadline() != due {
                    sleep.as_mut().reset(due);
                }
                if sleep.as_mut().poll(cx).is_ready() {
                    // Due by now after all: poll again at once.
                    cx.waker().wake_by_ref();
                }
                return Poll::Pending;
            }
        }
        let frame = d.wire.pop().expect("peeked").frame;
        d.senders.wake_all();
        drop(d);
        let len = frame.len() as u64;
        self.update(|s| {
            s.rx_frames += 1;
            s.rx_bytes += len;
        });
        Poll::Ready(Ok(frame))
    }

    fn poll_send_ready(&self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        if self.gone.get() {
            return Poll::Ready(Err(Error::DeviceGone));
        }
        let mut d = self.out().borrow_mut();
        if d.len() >= self.shared.config.queue_frames {
            d.senders.register(cx.waker());
            return Poll::Pending;
        }
        Poll::Ready(Ok(()))
    }

    fn send<F: FnOnce(&mut [u8]) -> usize>(&self, len: usize, fill: F) -> Result<()> {
        if self.gone.get() {
            return Err(Error::DeviceGone);
        }
        let refuse = |e| {
            self.update(|s| s.tx_errors += 1);
            Err(e)
        };
        if len > self.max_frame_len() {
            return refuse(Error::TooLarge);
        }
        if self.out().borrow().len() >= self.shared.config.queue_frames {
            return refuse(Error::WouldBlock);
        }
        let mut page = match self.pool.try_alloc() {
            Ok(p) => p,
            Err(e) => return refuse(e),
        };
        // No stale bytes of the page's last user in the frame.
        page[..len].fill(0);
        let used = fill(&mut page[..len]);
        if used > len {
            return refuse(Error::InvalidInput);
        }
        let mut frame = page.freeze();
        frame.truncate(used);
        self.update(|s| {
            s.tx_frames += 1;
            s.tx_bytes += used as u64;
        });
        if self.link() == LinkState::Down {
            self.update(|s| s.tx_dropped += 1);
            return Ok(());
        }
        let c = self.shared.config;
        let mut rng = self.shared.rng.borrow_mut();
        if c.loss > 0.0 && rng.f64() < c.loss {
            self.update(|s| s.tx_dropped += 1);
            return Ok(());
        }
        let copies = if c.duplicate > 0.0 && rng.f64() < c.duplicate {
            2
        } else {
            1
        };
        let hold = c.reorder > 0.0 && rng.f64() < c.reorder;
        let at = if self.has_delay() {
            let jitter = u64::try_from(c.jitter.as_nanos()).unwrap_or(u64::MAX);
            let extra = if jitter == 0 { 0 } else { rng.u64(0..=jitter) };
            let delay = u64::try_from(c.delay.as_nanos()).unwrap_or(u64::MAX);
            self.now_ns()
                .saturating_add(delay)
                .saturating_add(extra)
                .max(1)
        } else {
            0
        };
        drop(rng);
        let mut d = self.out().borrow_mut();
        for _ in 0..copies {
            let frame = frame.clone();
            if hold && d.held.is_none() {
                d.held = Some(InFlight { at, seq: 0, frame });
            } else {
                d.push(at, frame);
                // A frame held back goes behind this one.
                if let Some(mut held) = d.held.take() {
                    held.at = held.at.max(at);
                    held.seq = d.seq;
                    d.seq += 1;
                    d.wire.push(held);
                }
            }
        }
        drop(frame);
        d.receiver.wake_all();
        Ok(())
    }

    fn mac(&self) -> MacAddr {
        self.shared.config.macs[self.side]
    }

    fn mtu(&self) -> usize {
        self.shared.config.mtu
    }

    fn link(&self) -> LinkState {
        if self.shared.down.get() || !self.shared.present[0].get() || !self.shared.present[1].get()
        {
            LinkState::Down
        } else {
            LinkState::Up
        }
    }

    fn offload(&self) -> Offload {
        self.shared.config.offload
    }

    fn stats(&self) -> NetStats {
        self.stats.get()
    }
}

impl Drop for MemNet {
    fn drop(&mut self) {
        self.shared.present[self.side].set(false);
        self.wake_everyone();
    }
}

impl fmt::Debug for MemNet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemNet")
            .field("mac", &self.mac())
            .field("link", &self.link())
            .field("stats", &self.stats.get())
            .finish_non_exhaustive()
    }
}
