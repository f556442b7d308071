//! The timer wheel: where sleeping futures wait for their deadline.
//!
//! A [`TimerEntry`] lives inline in a pinned `Sleep` future and is linked
//! *intrusively* into the executor's [`TimerWheel`]: registering, moving and
//! cancelling a timer never allocates and costs O(1).
//!
//! # Ticks
//!
//! The wheel counts time in ticks of [`TICK_NS`] = 16 µs. The tick is small
//! enough to be invisible next to what the platform adds anyway (Linux's
//! default timer slack is 50 µs, Xen's default timer slop is 50 µs as well),
//! and large enough that short timers stay near the bottom of the wheel:
//! level 0 spans 64 ticks ≈ 1 ms and level 1 spans 4096 ticks ≈ 65 ms, so a
//! 0–5 ms timer is placed on one of the two lowest levels unless its span
//! crosses a 65 ms boundary (then it starts higher and cascades down, see
//! below). Callers convert a deadline to ticks rounding *up* and the current
//! time rounding *down*; the wheel itself never fires early in ticks, so the
//! pair never fires early in nanoseconds.
//!
//! # Levels and slots
//!
//! There are [`LEVELS`] = 9 levels of 64 slots. A slot on level `L` covers
//! `64^L` ticks, so level `L` as a whole covers `64^(L+1)` ticks and the
//! nine levels cover `2^54` ticks — more than `u64::MAX / TICK_NS ≈ 2^50`,
//! so every deadline derived from a nanosecond `u64` clock is represented
//! exactly, without an overflow list. Anything larger is clamped to
//! [`MAX_TICK`] (≈ 9000 years away, which cannot fire early in practice).
//!
//! Each slot is an intrusive doubly-linked list of entries (append at the
//! back, unlink from anywhere, both O(1)), and each level has a `u64`
//! bitmap of its non-empty slots.
//!
//! An entry with deadline `d` is placed relative to the wheel's current tick
//! `e` ([`TimerWheel::elapsed`]): its level is the level containing the
//! highest bit in which `d` and `e` differ, its slot is `d`'s 6-bit digit for
//! that level. Because `d > e` and they agree on every bit above that level,
//! an entry on level `L` lies in the same `64^(L+1)`-tick block as `e`, in a
//! slot strictly after the one `e` is in. Hence:
//!
//! * slots never wrap around: a level's slots at or behind `e` are empty, so
//!   the lowest set bit of the bitmap is the next slot to come due;
//! * everything on level `L` comes before everything on level `L + 1` (the
//!   latter lies beyond `e`'s current level-`L` block), so the first
//!   non-empty level's first occupied slot starts at the earliest time
//!   anything can happen. [`TimerWheel::next_deadline`] is that computation:
//!   at most 9 bitmap tests and one `trailing_zeros`, never a slot scan.
//!
//! # Advancing and cascading
//!
//! [`TimerWheel::pop_expired`] moves `e` forward one occupied slot at a time
//! and never past an occupied slot's start without processing it, which keeps
//! the placement invariant true. When `e` reaches the start of an occupied
//! slot:
//!
//! * on level 0 the slot is exactly one tick, equal to the deadline of every
//!   entry in it: the entries are due and come out one per call, in list
//!   (FIFO) order;
//! * on a higher level the slot is *cascaded*: its entries are re-placed
//!   relative to the new `e`, which puts each on a strictly lower level
//!   (an entry whose deadline is exactly the slot's start lands on level 0
//!   in `e`'s own slot, due at once). An entry cascades at most 8 times over
//!   its life, so a jump of any size costs O(entries × levels), independent
//!   of the distance jumped.
//!
//! Entries with the same deadline always share a slot (whoever was inserted
//! first is either in the slot a later insertion picks or was cascaded into
//! it before that insertion), and appending and cascading preserve list
//! order, so same-tick entries come out in insertion order.
//!
//! The deadline [`TimerWheel::next_deadline`] reports is a lower bound: for a
//! higher-level slot it is the slot's start, a cascade point, where
//! `pop_expired` may find nothing due yet and the caller simply asks again.
//!
//! # Never early
//!
//! An entry leaves the wheel through `pop_expired(now)` only from a level-0
//! slot whose tick is its deadline and is `<= now`. Conversely, every entry
//! with deadline `<= now` comes out: `pop_expired` stops only when the next
//! occupied slot starts after `now`, and every deadline is at or after the
//! start of its slot.
//!
//! # Memory safety
//!
//! The wheel holds raw (`UnsafeRef`) pointers to entries it does not own. The
//! contract, stated on [`TimerWheel::insert`] and [`TimerWheel::remove`], is
//! that a registered entry stays where it is until it is removed, fires, or
//! the wheel is cleared or dropped; a `Sleep` upholds it by being pinned and
//! removing its entry when dropped. Entry state is in `Cell`s: the executor is
//! single-threaded and the wheel is used through `&mut self`.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::Cell;
use core::fmt;
use core::marker::PhantomPinned;
use core::pin::Pin;
use core::task::Waker;

use intrusive_collections::{intrusive_adapter, LinkedList, LinkedListLink, UnsafeRef};

/// Length of one wheel tick in nanoseconds.
pub(crate) const TICK_NS: u64 = 16_000;

/// Bits of a tick consumed by one level.
const LEVEL_BITS: u32 = 6;
/// Slots per level.
const SLOTS: usize = 1 << LEVEL_BITS;
/// Mask of one level's digit.
const SLOT_MASK: u64 = SLOTS as u64 - 1;
/// Number of levels.
const LEVELS: usize = 9;
/// Ticks covered by the whole wheel: `2^54`.
const WHEEL_BITS: u32 = LEVEL_BITS * LEVELS as u32;

/// The largest representable tick. Deadlines and times beyond it are clamped
/// to it.
pub(crate) const MAX_TICK: u64 = (1 << WHEEL_BITS) - 1;

// Every tick of a nanosecond `u64` clock is representable.
const _: () = assert!(u64::MAX / TICK_NS <= MAX_TICK);
// Slot indices (and the "not registered" marker) fit in a `u16`.
const _: () = assert!(LEVELS * SLOTS < NOT_REGISTERED as usize);

/// `TimerEntry::slot` of an entry that is not linked in a wheel.
const NOT_REGISTERED: u16 = u16::MAX;

/// A timer's link into the wheel. Lives inline in a pinned future; `!Unpin`.
pub(crate) struct TimerEntry {
    /// Link into a slot list of the wheel.
    link: LinkedListLink,
    /// Deadline tick of the current or last `insert` (after clamping).
    deadline: Cell<u64>,
    /// `level * SLOTS + slot` of the list the entry is linked in, or
    /// `NOT_REGISTERED`. Registered exactly when `link` is linked.
    slot: Cell<u16>,
    /// The wheel fired the entry since its last `insert`.
    fired: Cell<bool>,
    /// The waker to hand out when the entry fires. `Some` while registered.
    waker: Cell<Option<Waker>>,
    /// The wheel points at the entry: it must not move while registered.
    _pinned: PhantomPinned,
}

intrusive_adapter!(EntryAdapter = UnsafeRef<TimerEntry>: TimerEntry { link: LinkedListLink });

/// One slot: entries in registration (FIFO) order.
type SlotList = LinkedList<EntryAdapter>;

impl TimerEntry {
    /// An entry that is not registered and has not fired.
    pub(crate) const fn new() -> Self {
        TimerEntry {
            link: LinkedListLink::new(),
            deadline: Cell::new(0),
            slot: Cell::new(NOT_REGISTERED),
            fired: Cell::new(false),
            waker: Cell::new(None),
            _pinned: PhantomPinned,
        }
    }

    /// Linked in a wheel right now.
    pub(crate) fn is_registered(&self) -> bool {
        self.slot.get() != NOT_REGISTERED
    }

    /// The wheel fired this entry since its last `insert` (reset by `insert`).
    pub(crate) fn has_fired(&self) -> bool {
        self.fired.get()
    }

    /// Deadline tick of the current/last registration.
    ///
    /// This is the value given to the last [`TimerWheel::insert`], clamped to
    /// [`MAX_TICK`] (also when that `insert` returned `false`); 0 before the
    /// first `insert`.
    pub(crate) fn deadline_tick(&self) -> u64 {
        self.deadline.get()
    }

    /// If registered, store a clone of `waker` unless the stored one
    /// `will_wake` it.
    pub(crate) fn set_waker(&self, waker: &Waker) {
        if self.is_registered() {
            self.store_waker(waker);
        }
    }

    /// Store a clone of `waker` unless the stored one `will_wake` it.
    fn store_waker(&self, waker: &Waker) {
        match self.waker.take() {
            Some(old) if old.will_wake(waker) => self.waker.set(Some(old)),
            old => {
                self.waker.set(Some(waker.clone()));
                // The old waker is dropped only now, with the entry consistent.
                drop(old);
            }
        }
    }
}

impl Default for TimerEntry {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for TimerEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerEntry")
            .field("deadline_tick", &self.deadline_tick())
            .field("registered", &self.is_registered())
            .field("fired", &self.has_fired())
            .finish_non_exhaustive()
    }
}

/// The hierarchical timer wheel. See the [module documentation](self).
pub(crate) struct TimerWheel {
    /// `LEVELS * SLOTS` slot lists, level-major (`level * SLOTS + slot`).
    /// Boxed so that the wheel itself is small and cheap to move.
    slots: Box<[SlotList]>,
    /// Per level, bit `s` is set exactly when slot `s` is non-empty.
    occupied: [u64; LEVELS],
    /// The current tick: every tick before it has been processed.
    elapsed: u64,
    /// Number of registered entries.
    len: usize,
}

/// The level an entry due at `deadline` belongs on when the wheel is at
/// `elapsed`: the level of the highest bit in which they differ (level 0 if
/// they are equal). Both must be `<= MAX_TICK`.
fn level_for(elapsed: u64, deadline: u64) -> usize {
    debug_assert!(elapsed <= MAX_TICK && deadline <= MAX_TICK);
    let significant = 63 - ((elapsed ^ deadline) | SLOT_MASK).leading_zeros();
    (significant / LEVEL_BITS) as usize
}

/// `tick`'s digit (slot number) on `level`.
fn digit(tick: u64, level: usize) -> usize {
    ((tick >> (level as u32 * LEVEL_BITS)) & SLOT_MASK) as usize
}

impl TimerWheel {
    /// An empty wheel at tick 0.
    pub(crate) fn new() -> Self {
        TimerWheel {
            slots: (0..LEVELS * SLOTS)
                .map(|_| SlotList::new(EntryAdapter::new()))
                .collect(),
            occupied: [0; LEVELS],
            elapsed: 0,
            len: 0,
        }
    }

    /// Ticks processed so far (monotonic; starts at 0).
    ///
    /// Never exceeds [`MAX_TICK`]: a larger `now_tick` given to
    /// [`pop_expired`](Self::pop_expired) is clamped.
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Number of registered entries.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// No entry is registered.
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Register `entry` to fire at `deadline_tick`, storing a clone of
    /// `waker`.
    ///
    /// Returns false and registers nothing if `deadline_tick <=
    /// self.elapsed()` (already due: the caller completes at once). If the
    /// entry is already registered (in this wheel) it is moved to the new
    /// deadline (and behind every entry already registered for that tick),
    /// or unregistered if the new deadline is already due. Either way
    /// [`has_fired`](TimerEntry::has_fired) is reset to false. A deadline
    /// above [`MAX_TICK`] is clamped to it.
    ///
    /// # Safety
    ///
    /// `entry` is not registered in another wheel, and stays at its address
    /// (pinned, not dropped) until it is removed, fires, or the wheel is
    /// cleared or dropped.
    pub(crate) unsafe fn insert(
        &mut self,
        entry: Pin<&TimerEntry>,
        deadline_tick: u64,
        waker: &Waker,
    ) -> bool {
        let entry = entry.get_ref();
        if entry.is_registered() {
            // SAFETY: the caller guarantees a registered `entry` is
            // registered in this wheel.
            unsafe { self.unlink(entry) };
        }
        let deadline = deadline_tick.min(MAX_TICK);
        entry.deadline.set(deadline);
        entry.fired.set(false);
        if deadline <= self.elapsed {
            drop(entry.waker.take());
            return false;
        }
        // SAFETY: `entry` is a valid reference, and the caller guarantees it
        // stays valid at this address until it is removed, fires or the wheel
        // is cleared: exactly as long as the wheel keeps this pointer.
        let ptr = unsafe { UnsafeRef::from_raw(entry) };
        self.link(ptr);
        self.len += 1;
        // Cloning a waker may run arbitrary code: do it with the wheel and
        // the entry consistent.
        entry.store_waker(waker);
        true
    }

    /// Unlink `entry` if registered (no-op otherwise); drops its waker.
    ///
    /// # Safety
    ///
    /// If `entry` is registered, it is registered in this wheel.
    pub(crate) unsafe fn remove(&mut self, entry: Pin<&TimerEntry>) {
        let entry = entry.get_ref();
        if entry.is_registered() {
            // SAFETY: the caller guarantees a registered `entry` is
            // registered in this wheel.
            unsafe { self.unlink(entry) };
        }
        drop(entry.waker.take());
    }

    /// Earliest tick at which [`pop_expired`](Self::pop_expired) may return
    /// something: the start of the first occupied slot (a lower bound of the
    /// earliest deadline, possibly a cascade point of a higher level). `None`
    /// when empty.
    ///
    /// Greater than [`elapsed`](Self::elapsed) whenever `pop_expired` has
    /// returned `None` since the last time it returned an entry. While
    /// entries due at `elapsed()` are still waiting to be popped (between a
    /// `pop_expired` that returned `Some` and the one returning `None`), it
    /// is `elapsed()` itself.
    pub(crate) fn next_deadline(&self) -> Option<u64> {
        self.next_occupied().map(|(_, start)| start)
    }

    /// Advance to `now_tick` (never backwards: a smaller value is treated as
    /// `elapsed()`; a value above [`MAX_TICK`] as `MAX_TICK`), cascading
    /// higher-level slots down as their time comes, and unlink and return ONE
    /// entry whose deadline is `<= now_tick`, marked fired, returning its
    /// waker (the entry keeps no waker).
    ///
    /// The caller calls it in a loop until `None` and wakes each waker
    /// itself, outside any borrow of the wheel. Entries due at the same tick
    /// come out in insertion order; entries due earlier come out first. Once
    /// it returns `None`, no registered entry is due at `now_tick` and
    /// `elapsed()` is `max(previous elapsed, min(now_tick, MAX_TICK))`.
    pub(crate) fn pop_expired(&mut self, now_tick: u64) -> Option<Waker> {
        let now = now_tick.min(MAX_TICK).max(self.elapsed);
        while let Some((index, start)) = self.next_occupied() {
            if start > now {
                break;
            }
            debug_assert!(start >= self.elapsed);
            // No occupied slot starts before `start`: moving there skips
            // nothing.
            self.elapsed = start;
            if index >= SLOTS {
                self.cascade(index);
                continue;
            }
            let list = &mut self.slots[index];
            let popped = list.pop_front();
            if list.is_empty() {
                self.occupied[0] &= !(1 << index);
            }
            let Some(ptr) = popped else {
                debug_assert!(false, "occupied bit set on an empty slot");
                continue;
            };
            self.len -= 1;
            let entry: &TimerEntry = &ptr;
            debug_assert_eq!(entry.deadline.get(), start);
            entry.slot.set(NOT_REGISTERED);
            entry.fired.set(true);
            // A registered entry always holds a waker; stay total anyway.
            return Some(entry.waker.take().unwrap_or_else(|| Waker::noop().clone()));
        }
        self.elapsed = now;
        None
    }

    /// Unlink every entry (marking it not registered, not fired) and drop
    /// their wakers: the executor is going away, and a `Sleep` dropped later
    /// must see it is no longer registered.
    ///
    /// The wakers are dropped only after every entry is unlinked, so a waker
    /// whose drop frees a task (and with it more entries) cannot leave a
    /// dangling pointer in the wheel.
    pub(crate) fn clear(&mut self) {
        if self.len == 0 {
            return;
        }
        let mut wakers = Vec::with_capacity(self.len);
        for level in 0..LEVELS {
            let mut bits = core::mem::take(&mut self.occupied[level]);
            while bits != 0 {
                let slot = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                let list = &mut self.slots[level * SLOTS + slot];
                while let Some(ptr) = list.pop_front() {
                    ptr.slot.set(NOT_REGISTERED);
                    ptr.fired.set(false);
                    if let Some(waker) = ptr.waker.take() {
                        wakers.push(waker);
                    }
                }
            }
        }
        self.len = 0;
        drop(wakers);
    }

    /// The first occupied slot, as `(level * SLOTS + slot, start tick)`.
    fn next_occupied(&self) -> Option<(usize, u64)> {
        let level = self.occupied.iter().position(|&bits| bits != 0)?;
        let bits = self.occupied[level];
        let slot = bits.trailing_zeros() as usize;
        // Placement invariant: nothing at or behind `elapsed`'s slot, except
        // on level 0 where `elapsed`'s own slot holds entries due now.
        debug_assert!({
            let current = digit(self.elapsed, level);
            slot > current || (level == 0 && slot == current)
        });
        let shift = level as u32 * LEVEL_BITS;
        // Start of `elapsed`'s block on this level, plus the slot's offset.
        // `shift + LEVEL_BITS <= WHEEL_BITS < 64` and the sum is `<=
        // MAX_TICK`: no overflow.
        let block = self.elapsed >> (shift + LEVEL_BITS) << (shift + LEVEL_BITS);
        Some((level * SLOTS + slot, block + ((slot as u64) << shift)))
    }

    /// Append `ptr` to the slot its deadline belongs in at the current tick.
    /// Does not touch `len`.
    fn link(&mut self, ptr: UnsafeRef<TimerEntry>) {
        let deadline = ptr.deadline.get();
        debug_assert!(deadline >= self.elapsed);
        let level = level_for(self.elapsed, deadline);
        let slot = digit(deadline, level);
        let index = level * SLOTS + slot;
        ptr.slot.set(index as u16);
        self.slots[index].push_back(ptr);
        self.occupied[level] |= 1 << slot;
    }

    /// Unlink a registered `entry`, keeping its waker. Decrements `len`.
    ///
    /// # Safety
    ///
    /// `entry` is registered in this wheel.
    unsafe fn unlink(&mut self, entry: &TimerEntry) {
        let index = usize::from(entry.slot.get());
        let list = &mut self.slots[index];
        // SAFETY: `entry` is registered in this wheel (caller), and a
        // registered entry's `slot` names the list it is linked in.
        let removed = unsafe { list.cursor_mut_from_ptr(entry) }.remove();
        debug_assert!(removed.is_some());
        if list.is_empty() {
            self.occupied[index / SLOTS] &= !(1 << (index % SLOTS));
        }
        entry.slot.set(NOT_REGISTERED);
        self.len -= 1;
    }

    /// Re-place the entries of the higher-level slot `index`, which starts at
    /// `elapsed`, on lower levels (in list order, preserving FIFO order).
    fn cascade(&mut self, index: usize) {
        debug_assert!(index >= SLOTS);
        self.occupied[index / SLOTS] &= !(1 << (index % SLOTS));
        let mut list = self.slots[index].take();
        while let Some(ptr) = list.pop_front() {
            debug_assert!(level_for(self.elapsed, ptr.deadline.get()) < index / SLOTS);
            self.link(ptr);
        }
    }
}

impl Default for TimerWheel {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TimerWheel {
    fn drop(&mut self) {
        self.clear();
    }
}

impl fmt::Debug for TimerWheel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TimerWheel")
            .field("elapsed", &self.elapsed)
            .field("len", &self.len)
            .field("next_deadline", &self.next_deadline())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;

    use super::*;
    use alloc::sync::Arc;
    use alloc::task::Wake;
    use alloc::vec;
    use core::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    /// A waker that appends its id to a shared log when woken.
    struct Recorder {
        id: usize,
        log: Arc<Mutex<Vec<usize>>>,
    }

    impl Wake for Recorder {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.log.lock().unwrap().push(self.id);
        }
    }

    /// A waker that counts its wake-ups.
    struct Counter(AtomicUsize);

    impl Wake for Counter {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Entries at stable addresses, each with a recording waker.
    struct Fixture {
        wheel: TimerWheel,
        entries: Vec<Pin<Box<TimerEntry>>>,
        recorders: Vec<Arc<Recorder>>,
        log: Arc<Mutex<Vec<usize>>>,
    }

    impl Fixture {
        fn new(n: usize) -> Self {
            let log = Arc::new(Mutex::new(Vec::new()));
            Fixture {
                wheel: TimerWheel::new(),
                entries: (0..n).map(|_| Box::pin(TimerEntry::new())).collect(),
                recorders: (0..n)
                    .map(|id| {
                        Arc::new(Recorder {
                            id,
                            log: log.clone(),
                        })
                    })
                    .collect(),
                log,
            }
        }

        fn waker(&self, id: usize) -> Waker {
            Waker::from(self.recorders[id].clone())
        }

        fn insert(&mut self, id: usize, deadline: u64) -> bool {
            let waker = self.waker(id);
            // SAFETY: the entries are pinned in boxes that outlive the wheel
            // use (the wheel is dropped first: declared first).
            unsafe {
                self.wheel
                    .insert(self.entries[id].as_ref(), deadline, &waker)
            }
        }

        fn remove(&mut self, id: usize) {
            // SAFETY: only ever registered in `self.wheel`.
            unsafe { self.wheel.remove(self.entries[id].as_ref()) }
        }

        /// Pop everything due at `now`, checking each popped entry, and
        /// return the ids in the order they came out.
        fn advance(&mut self, now: u64) -> Vec<usize> {
            self.log.lock().unwrap().clear();
            // A smaller `now` means `elapsed`, a larger one `MAX_TICK`.
            let effective = now.min(MAX_TICK).max(self.wheel.elapsed());
            while let Some(waker) = self.wheel.pop_expired(now) {
                waker.wake();
                let id = *self.log.lock().unwrap().last().unwrap();
                let entry = &self.entries[id];
                assert!(entry.has_fired() && !entry.is_registered());
                assert!(entry.deadline_tick() <= effective, "fired early");
                assert_eq!(self.wheel.elapsed(), entry.deadline_tick());
            }
            assert_eq!(self.wheel.elapsed(), effective);
            core::mem::take(&mut *self.log.lock().unwrap())
        }

        /// How many wakers for `id` exist outside the test's own reference.
        fn stored_wakers(&self, id: usize) -> usize {
            Arc::strong_count(&self.recorders[id]) - 1
        }
    }

    #[test]
    fn fires_in_deadline_order() {
        let deadlines = [5, 1, 300, 70, 4096, 64, 63, 65, 262_144, 4095, 2];
        let mut f = Fixture::new(deadlines.len());
        for (id, &d) in deadlines.iter().enumerate() {
            assert!(f.insert(id, d));
        }
        assert_eq!(f.wheel.len(), deadlines.len());
        let mut expected: Vec<usize> = (0..deadlines.len()).collect();
        expected.sort_by_key(|&id| deadlines[id]);
        assert_eq!(f.advance(1_000_000), expected);
        assert!(f.wheel.is_empty());
        assert_eq!(f.wheel.elapsed(), 1_000_000);
        assert_eq!(f.wheel.next_deadline(), None);
    }

    #[test]
    fn fires_exactly_at_deadline_never_early() {
        let deadlines = [1, 2, 63, 64, 65, 127, 128, 4095, 4096, 4097, 5000];
        let mut f = Fixture::new(deadlines.len());
        for (id, &d) in deadlines.iter().enumerate() {
            assert!(f.insert(id, d));
        }
        for now in 0..=5001 {
            let out = f.advance(now);
            let expected: Vec<usize> = (0..deadlines.len())
                .filter(|&id| deadlines[id] == now)
                .collect();
            assert_eq!(out, expected, "at tick {now}");
        }
        assert!(f.wheel.is_empty());
    }

    #[test]
    fn same_tick_fifo_across_levels() {
        // Entries for tick 4096 inserted at different distances: the first
        // ones start on level 2, later ones on lower levels.
        let mut f = Fixture::new(8);
        assert!(f.insert(0, 4096));
        assert!(f.insert(1, 4096));
        assert_eq!(f.advance(100), vec![]);
        assert!(f.insert(2, 4096));
        assert!(f.insert(3, 4095));
        assert_eq!(f.advance(4000), vec![]);
        assert!(f.insert(4, 4096));
        assert_eq!(f.advance(4095), vec![3]);
        assert!(f.insert(5, 4096));
        // Re-inserting moves 1 behind everything registered for the tick.
        assert!(f.insert(1, 4096));
        assert_eq!(f.advance(5000), vec![0, 2, 4, 5, 1]);
    }

    #[test]
    fn one_entry_per_call_and_next_deadline_mid_drain() {
        let mut f = Fixture::new(3);
        for id in 0..3 {
            assert!(f.insert(id, 10));
        }
        assert_eq!(f.wheel.next_deadline(), Some(10));
        let w = f.wheel.pop_expired(50).unwrap();
        w.wake();
        assert_eq!(f.wheel.elapsed(), 10);
        // Two more are due at `elapsed` itself.
        assert_eq!(f.wheel.next_deadline(), Some(10));
        assert_eq!(f.wheel.len(), 2);
        // Not due any more: a deadline at `elapsed` is refused.
        assert!(!f.insert(0, 10));
        // A smaller `now` is treated as `elapsed`: the rest still comes out.
        assert_eq!(f.advance(3), vec![1, 2]);
        assert_eq!(f.wheel.elapsed(), 10);
        assert_eq!(*f.log.lock().unwrap(), vec![]);
    }

    #[test]
    fn cancel() {
        let mut f = Fixture::new(4);
        for id in 0..4 {
            assert!(f.insert(id, 100 + id as u64));
        }
        assert_eq!(f.stored_wakers(1), 1);
        f.remove(1);
        assert!(!f.entries[1].is_registered());
        assert_eq!(f.stored_wakers(1), 0);
        assert_eq!(f.wheel.len(), 3);
        f.remove(1); // no-op
        assert_eq!(f.wheel.len(), 3);
        assert_eq!(f.advance(102), vec![0, 2]);
        // Removing a fired entry is a no-op.
        f.remove(0);
        assert!(f.entries[0].has_fired());
        assert_eq!(f.wheel.len(), 1);
        assert_eq!(f.advance(u64::MAX), vec![3]);
        for id in 0..4 {
            assert_eq!(f.stored_wakers(id), 0);
        }
    }

    #[test]
    fn remove_last_in_slot_clears_bitmap() {
        let mut f = Fixture::new(2);
        assert!(f.insert(0, 5000));
        assert!(f.insert(1, 1 << 30));
        assert_eq!(f.wheel.next_deadline(), Some(4096));
        f.remove(0);
        assert_eq!(f.wheel.next_deadline(), Some(1 << 30));
        f.remove(1);
        assert_eq!(f.wheel.next_deadline(), None);
        assert_eq!(f.advance(u64::MAX), vec![]);
    }

    #[test]
    fn reinsert_moves() {
        let mut f = Fixture::new(3);
        assert!(f.insert(0, 100));
        assert!(f.insert(1, 50));
        assert!(f.insert(0, 10));
        assert_eq!(f.wheel.len(), 2);
        assert_eq!(f.entries[0].deadline_tick(), 10);
        assert_eq!(f.wheel.next_deadline(), Some(10));
        assert!(f.insert(1, 1 << 40));
        assert_eq!(f.advance(60), vec![0]);
        // Re-insert after firing resets `has_fired`.
        assert!(f.entries[0].has_fired());
        assert!(f.insert(0, 61));
        assert!(!f.entries[0].has_fired());
        // Re-insert of a registered entry at an already due tick unregisters.
        assert!(!f.insert(1, 60));
        assert!(!f.entries[1].is_registered() && !f.entries[1].has_fired());
        assert_eq!(f.stored_wakers(1), 0);
        assert_eq!(f.wheel.len(), 1);
        assert_eq!(f.advance(1 << 41), vec![0]);
    }

    #[test]
    fn already_due_is_refused() {
        let mut f = Fixture::new(2);
        assert!(!f.insert(0, 0));
        assert_eq!(f.advance(1000), vec![]);
        assert!(!f.insert(0, 999));
        assert!(!f.insert(0, 1000));
        assert!(!f.entries[0].is_registered());
        assert_eq!(f.entries[0].deadline_tick(), 1000);
        assert_eq!(f.stored_wakers(0), 0);
        assert!(f.insert(1, 1001));
        assert_eq!(f.wheel.next_deadline(), Some(1001));
        assert_eq!(f.advance(1001), vec![1]);
    }

    #[test]
    fn far_deadlines() {
        let far = [1u64 << 40, 1 << 50, u64::MAX / TICK_NS, u64::MAX, MAX_TICK];
        let mut f = Fixture::new(far.len());
        for (id, &d) in far.iter().enumerate() {
            assert!(f.insert(id, d));
        }
        assert_eq!(f.entries[3].deadline_tick(), MAX_TICK);
        // 2^40 is the start of a level-6 slot: the bound is exact.
        assert_eq!(f.wheel.next_deadline(), Some(1 << 40));
        assert_eq!(f.advance((1 << 40) - 1), vec![]);
        assert_eq!(f.wheel.next_deadline(), Some(1 << 40));
        assert_eq!(f.advance(1 << 40), vec![0]);
        // 2^50 + 1 - 2^40 lies in level 8's slot 4 (from 2^50).
        assert_eq!(f.wheel.next_deadline(), Some(1 << 50));
        assert!(f.insert(0, (1 << 50) + 12345));
        assert_eq!(f.advance((1 << 50) - 1), vec![]);
        assert_eq!(f.advance(1 << 50), vec![1]);
        // After cascading at 2^50, the bound is finer.
        assert_eq!(f.wheel.next_deadline(), Some((1 << 50) + 12288));
        assert_eq!(f.advance((1 << 50) + 12345), vec![0]);
        assert_eq!(f.advance(u64::MAX / TICK_NS), vec![2]);
        assert_eq!(f.advance(MAX_TICK - 1), vec![]);
        assert_eq!(f.advance(u64::MAX), vec![3, 4]);
        assert_eq!(f.wheel.elapsed(), MAX_TICK);
        // Nothing is representable after the last tick.
        assert!(!f.insert(0, u64::MAX));
    }

    #[test]
    fn huge_jump_in_one_call() {
        let deadlines = [3, 1 << 20, 1 << 33, (1 << 33) + 1, 1 << 45, 70, 1 << 12];
        let mut f = Fixture::new(deadlines.len());
        for (id, &d) in deadlines.iter().enumerate() {
            assert!(f.insert(id, d));
        }
        let mut expected: Vec<usize> = (0..deadlines.len()).collect();
        expected.sort_by_key(|&id| deadlines[id]);
        assert_eq!(f.advance(1 << 50), expected);
        assert_eq!(f.wheel.elapsed(), 1 << 50);
    }

    #[test]
    fn slot_boundaries() {
        // Deadlines exactly at the start of slots on every level, from
        // `elapsed` just before them.
        for level in 1..LEVELS as u32 {
            let boundary = 1u64 << (level * LEVEL_BITS);
            for start in [0, boundary - 1, boundary / 2] {
                let mut f = Fixture::new(3);
                f.advance(start);
                assert!(f.insert(0, boundary));
                assert!(f.insert(1, boundary + 1));
                assert!(f.insert(2, 2 * boundary));
                assert_eq!(f.advance(boundary - 1), vec![]);
                assert_eq!(f.advance(boundary), vec![0]);
                assert_eq!(f.advance(2 * boundary - 1), vec![1]);
                assert_eq!(f.advance(2 * boundary), vec![2]);
            }
        }
    }

    #[test]
    fn next_deadline_is_a_lower_bound_after_elapsed() {
        let mut f = Fixture::new(4);
        assert_eq!(f.wheel.next_deadline(), None);
        f.advance(1000);
        assert!(f.insert(0, 1_000_000));
        assert!(f.insert(1, 70_000));
        let mut now = f.wheel.elapsed();
        let mut fired = Vec::new();
        while let Some(next) = f.wheel.next_deadline() {
            assert!(next > f.wheel.elapsed());
            assert!(next <= 70_000 || fired.contains(&1));
            assert!(next <= 1_000_000);
            // Nothing comes out just before the bound.
            assert_eq!(f.advance(next - 1), vec![]);
            assert!(next > now);
            now = next;
            fired.extend(f.advance(now));
        }
        assert_eq!(fired, vec![1, 0]);
        assert_eq!(now, 1_000_000);
    }

    #[test]
    fn set_waker() {
        let mut f = Fixture::new(2);
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        let counting = Waker::from(counter.clone());
        // Not registered: nothing stored.
        f.entries[0].set_waker(&counting);
        assert_eq!(Arc::strong_count(&counter), 2);
        assert!(f.insert(0, 10));
        assert!(f.insert(1, 10));
        f.entries[0].set_waker(&counting);
        assert_eq!(Arc::strong_count(&counter), 3);
        assert_eq!(f.stored_wakers(0), 0);
        // Same waker again: no new clone.
        f.entries[0].set_waker(&counting);
        assert_eq!(Arc::strong_count(&counter), 3);
        let mut popped = 0;
        while let Some(waker) = f.wheel.pop_expired(10) {
            waker.wake();
            popped += 1;
        }
        assert_eq!(popped, 2);
        assert_eq!(*f.log.lock().unwrap(), vec![1]);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1);
        assert_eq!(Arc::strong_count(&counter), 2);
    }

    #[test]
    fn counting_wakers_fire_the_right_tasks() {
        let counters: Vec<Arc<Counter>> = (0..3)
            .map(|_| Arc::new(Counter(AtomicUsize::new(0))))
            .collect();
        let entries: Vec<Pin<Box<TimerEntry>>> =
            (0..6).map(|_| Box::pin(TimerEntry::new())).collect();
        let mut wheel = TimerWheel::new();
        // Entry i wakes counter i % 3 at tick 10 * (i + 1).
        for (i, entry) in entries.iter().enumerate() {
            let waker = Waker::from(counters[i % 3].clone());
            // SAFETY: `entries` outlives every use of `wheel` below, which is
            // cleared before it is dropped.
            assert!(unsafe { wheel.insert(entry.as_ref(), 10 * (i as u64 + 1), &waker) });
        }
        let counts = || -> Vec<usize> {
            counters
                .iter()
                .map(|c| c.0.load(Ordering::SeqCst))
                .collect()
        };
        let drain = |wheel: &mut TimerWheel, now| {
            while let Some(w) = wheel.pop_expired(now) {
                w.wake();
            }
        };
        drain(&mut wheel, 25);
        assert_eq!(counts(), vec![1, 1, 0]);
        drain(&mut wheel, 40);
        assert_eq!(counts(), vec![2, 1, 1]);
        // SAFETY: registered only in `wheel`.
        unsafe { wheel.remove(entries[4].as_ref()) };
        drain(&mut wheel, 60);
        assert_eq!(counts(), vec![2, 1, 2]);
        assert!(wheel.is_empty());
        for c in &counters {
            assert_eq!(Arc::strong_count(c), 1);
        }
    }

    #[test]
    fn clear_unregisters_and_drops_wakers() {
        let mut f = Fixture::new(4);
        assert!(f.insert(0, 5));
        assert!(f.insert(1, 5000));
        assert!(f.insert(2, 1 << 45));
        assert!(f.insert(3, 7));
        assert_eq!(f.advance(5), vec![0]);
        f.wheel.clear();
        assert!(f.wheel.is_empty());
        assert_eq!(f.wheel.next_deadline(), None);
        assert_eq!(f.wheel.elapsed(), 5);
        for id in 0..4 {
            assert!(!f.entries[id].is_registered());
            assert!(!f.entries[id].has_fired() || id == 0);
            assert_eq!(f.stored_wakers(id), 0);
        }
        assert_eq!(f.advance(u64::MAX), vec![]);
        // The wheel still works afterwards.
        let mut f = Fixture::new(2);
        assert!(f.insert(0, 9));
        f.wheel.clear();
        assert!(f.insert(1, 9));
        assert!(f.insert(0, 8));
        assert_eq!(f.advance(9), vec![0, 1]);
    }

    #[test]
    fn drop_wheel_then_entries() {
        let entries: Vec<Pin<Box<TimerEntry>>> =
            (0..3).map(|_| Box::pin(TimerEntry::new())).collect();
        let counter = Arc::new(Counter(AtomicUsize::new(0)));
        let waker = Waker::from(counter.clone());
        let mut wheel = TimerWheel::new();
        for (i, entry) in entries.iter().enumerate() {
            // SAFETY: the wheel is dropped before the entries.
            assert!(unsafe { wheel.insert(entry.as_ref(), 100 << (10 * i), &waker) });
        }
        drop(wheel);
        assert!(entries.iter().all(|e| !e.is_registered()));
        assert_eq!(Arc::strong_count(&counter), 2);
        drop(entries);
        assert_eq!(counter.0.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn wheel_can_move_while_entries_are_registered() {
        let mut f = Fixture::new(2);
        assert!(f.insert(0, 3));
        assert!(f.insert(1, 3000));
        let wheel = core::mem::take(&mut f.wheel);
        let moved = Box::new(wheel);
        f.wheel = *moved;
        assert_eq!(f.advance(3000), vec![0, 1]);
    }

    mod model {
        use super::*;
        use proptest::prelude::*;
        use proptest::sample::Index;
        use proptest::test_runner::{Config, TestCaseError, TestRunner};

        const POOL: usize = 24;

        #[derive(Clone, Debug)]
        enum Deadline {
            /// `elapsed + d`, `d < 200` (0 is already due).
            Near(u64),
            /// `elapsed + d`, `d < 2^20`.
            Medium(u64),
            /// `elapsed + d`, `d < 2^50`.
            Far(u64),
            /// Absolute, `< 2^50` (often already due).
            Absolute(u64),
            /// Right at the top of the representable range.
            Top(u64),
            Max,
        }

        #[derive(Clone, Debug)]
        enum Op {
            /// Insert an entry that is not registered.
            Insert(Index, Deadline),
            /// Re-insert a registered entry.
            Reinsert(Index, Deadline),
            /// Remove a registered entry.
            Remove(Index),
            /// Remove any entry (often a no-op).
            RemoveAny(Index),
            /// `now = elapsed + step`.
            Advance(u64),
            /// `now = elapsed - step` (treated as `elapsed`).
            Back(u64),
            /// `now = u64::MAX`.
            AdvanceToMax,
        }

        fn deadline() -> impl Strategy<Value = Deadline> {
            prop_oneof![
                6 => (0..200u64).prop_map(Deadline::Near),
                3 => (0..1u64 << 20).prop_map(Deadline::Medium),
                2 => (0..1u64 << 50).prop_map(Deadline::Far),
                1 => (0..1u64 << 50).prop_map(Deadline::Absolute),
                1 => (0..100u64).prop_map(Deadline::Top),
                1 => Just(Deadline::Max),
            ]
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                10 => (any::<Index>(), deadline()).prop_map(|(i, d)| Op::Insert(i, d)),
                3 => (any::<Index>(), deadline()).prop_map(|(i, d)| Op::Reinsert(i, d)),
                3 => any::<Index>().prop_map(Op::Remove),
                1 => any::<Index>().prop_map(Op::RemoveAny),
                5 => (0..300u64).prop_map(Op::Advance),
                2 => (0..1u64 << 21).prop_map(Op::Advance),
                1 => (0..1u64 << 52).prop_map(Op::Advance),
                1 => (0..500u64).prop_map(Op::Back),
                1 => Just(Op::AdvanceToMax),
            ]
        }

        fn resolve(d: &Deadline, elapsed: u64) -> u64 {
            match *d {
                Deadline::Near(d) | Deadline::Medium(d) | Deadline::Far(d) => elapsed + d,
                Deadline::Absolute(d) => d,
                Deadline::Top(d) => MAX_TICK + 50 - d,
                Deadline::Max => u64::MAX,
            }
        }

        /// What the wheel should contain: per entry, `(deadline, seq)`.
        struct Model {
            live: [Option<(u64, u64)>; POOL],
            fired: [bool; POOL],
            seq: u64,
            elapsed: u64,
        }

        fn pick(ids: impl Iterator<Item = usize>, index: &Index) -> Option<usize> {
            let ids: Vec<usize> = ids.collect();
            (!ids.is_empty()).then(|| ids[index.index(ids.len())])
        }

        fn run(ops: Vec<Op>) -> Result<(), TestCaseError> {
            let mut f = Fixture::new(POOL);
            let mut m = Model {
                live: [None; POOL],
                fired: [false; POOL],
                seq: 0,
                elapsed: 0,
            };
            for op in &ops {
                match op {
                    Op::Insert(index, d) | Op::Reinsert(index, d) => {
                        let want_live = matches!(op, Op::Reinsert(..));
                        let candidates = (0..POOL).filter(|&id| m.live[id].is_some() == want_live);
                        let Some(id) = pick(candidates, index) else {
                            continue;
                        };
                        let deadline = resolve(d, m.elapsed);
                        let clamped = deadline.min(MAX_TICK);
                        let registered = f.insert(id, deadline);
                        prop_assert_eq!(registered, clamped > m.elapsed);
                        prop_assert_eq!(f.entries[id].deadline_tick(), clamped);
                        m.fired[id] = false;
                        m.live[id] = registered.then_some((clamped, m.seq));
                        m.seq += 1;
                    }
                    Op::Remove(index) | Op::RemoveAny(index) => {
                        let candidates = (0..POOL)
                            .filter(|&id| matches!(op, Op::RemoveAny(_)) || m.live[id].is_some());
                        let Some(id) = pick(candidates, index) else {
                            continue;
                        };
                        f.remove(id);
                        m.live[id] = None;
                    }
                    Op::Advance(_) | Op::Back(_) | Op::AdvanceToMax => {
                        let now = match *op {
                            Op::Advance(step) => m.elapsed + step,
                            Op::Back(step) => m.elapsed.saturating_sub(step),
                            _ => u64::MAX,
                        };
                        let clamped = now.min(MAX_TICK);
                        let mut due: Vec<(u64, u64, usize)> = (0..POOL)
                            .filter_map(|id| m.live[id].map(|(d, s)| (d, s, id)))
                            .filter(|&(d, _, _)| d <= clamped)
                            .collect();
                        due.sort_unstable();
                        let expected: Vec<usize> = due.iter().map(|&(_, _, id)| id).collect();
                        for &id in &expected {
                            m.live[id] = None;
                            m.fired[id] = true;
                        }
                        let out = f.advance(now);
                        prop_assert_eq!(out, expected, "advance to {}", now);
                        m.elapsed = m.elapsed.max(clamped);
                        prop_assert_eq!(f.wheel.elapsed(), m.elapsed);
                    }
                }
                // The wheel agrees with the model after every operation.
                let live = m.live.iter().flatten().count();
                prop_assert_eq!(f.wheel.len(), live);
                prop_assert_eq!(f.wheel.is_empty(), live == 0);
                for id in 0..POOL {
                    let entry = &f.entries[id];
                    prop_assert_eq!(entry.is_registered(), m.live[id].is_some());
                    prop_assert_eq!(entry.has_fired(), m.fired[id]);
                    prop_assert_eq!(f.stored_wakers(id), usize::from(m.live[id].is_some()));
                    if let Some((d, _)) = m.live[id] {
                        prop_assert_eq!(entry.deadline_tick(), d);
                        prop_assert!(d > m.elapsed, "left behind: {} <= {}", d, m.elapsed);
                    }
                }
                let earliest = m.live.iter().flatten().map(|&(d, _)| d).min();
                match (f.wheel.next_deadline(), earliest) {
                    (None, None) => {}
                    (Some(next), Some(earliest)) => {
                        prop_assert!(next > m.elapsed && next <= earliest);
                    }
                    (next, earliest) => {
                        prop_assert!(false, "next_deadline {:?}, earliest {:?}", next, earliest)
                    }
                }
            }
            Ok(())
        }

        #[test]
        fn wheel_matches_model() {
            let config = Config {
                // Miri is ~1000x slower: a few cases still check the pointers.
                cases: if cfg!(miri) { 4 } else { 600 },
                failure_persistence: None,
                ..Config::default()
            };
            let mut runner = TestRunner::new(config);
            let result = runner.run(&proptest::collection::vec(op(), 1..120), run);
            if let Err(e) = result {
                panic!("{e}");
            }
        }
    }
}
