//! The PV clock: Xen system time (ns since the domain started) from the
//! `vcpu_time_info` Xen keeps in shared_info and the vCPU's TSC; the wall
//! clock; and the conversion of executor deadlines into `SCHEDOP_poll`
//! timeouts.
//!
//! # Why the executor's `Instant` *is* Xen system time
//! `SCHEDOP_poll` (and `set_timer_op`) take an absolute deadline in Xen
//! system time. Making the executor's clock the same number means a timer
//! deadline reaches Xen with no conversion and no drift between two clocks;
//! [`PvClock`] only adds monotonicity (Xen may step the extrapolated time
//! back by a few ns when it recalibrates).
//!
//! # Reading `vcpu_time_info`: a seqlock
//! Xen bumps `version` to an odd value, rewrites the fields, and bumps it to
//! the next even value. The reader ([`seqlock_read`]) loads `version`, the
//! fields, then `version` again, and retries if the first was odd or the two
//! differ. It is written over closures so the tests can drive it with a
//! time-info that changes under the reader.
//!
//! # Far deadlines
//! `set_timer_op` replaces a deadline more than 2^50 ns (~13 days) ahead (or
//! "negative") with now + 100 ms (xen-abi.md §3), and `SCHEDOP_poll` hands
//! its timeout to a Xen timer of the same clock. A far deadline gains
//! nothing, and one beyond Xen's limit would wake the guest 100 ms later
//! instead — harmless but wasteful, and an accident waiting to happen if the
//! replacement ever changed. So a deadline beyond [`MAX_POLL_AHEAD_NS`] is
//! clamped to now + that much, a value every path honours as given; the
//! park wakes at the clamp, the executor sees its timer is not due and
//! parks again. No deadline at all gets the same clamp, so a guest never
//! asks Xen to sleep without a bound (and never passes 0, which means "no
//! timeout" to `SCHEDOP_poll`).

use core::cell::Cell;
use core::sync::atomic::{fence, Ordering};
use core::time::Duration;

use crate::abi::shared_info::{SharedInfo, VcpuTimeInfo};
use crate::hypervisor::Hypervisor;

/// A consistent copy of the fields of a `vcpu_time_info`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TimeSnapshot {
    /// The (even) version this copy was taken at.
    pub version: u32,
    /// TSC at `system_time`.
    pub tsc_timestamp: u64,
    /// Xen system time at `tsc_timestamp`, ns.
    pub system_time: u64,
    /// 0.32 fixed-point ns per (shifted) tick.
    pub tsc_to_system_mul: u32,
    /// Shift applied to the tick delta first (negative: right shift).
    pub tsc_shift: i8,
    /// `XEN_PVCLOCK_*` bits.
    pub flags: u8,
}

/// `(a * b) >> 32` for a 64-bit `a` and 32-bit `b`, exactly (the 96-bit
/// product's top 64 bits), with two 64-bit multiplies.
#[inline]
pub fn mul_u64_u32_shr32(a: u64, b: u32) -> u64 {
    let lo = (a & 0xFFFF_FFFF) * b as u64; // < 2^64
    let hi = (a >> 32) * b as u64; // <= (2^32-1)^2
                                   // hi + (lo >> 32) <= 2^64 - 2^33 + 1 + 2^32 - 2 < 2^64: no overflow.
    hi + (lo >> 32)
}

/// Scales a TSC delta by `shift` as Xen does: left for positive (bits
/// shifted out are lost), right for negative; a shift of 64 or more in
/// either direction gives 0 (never a panic).
#[inline]
pub fn shift_delta(delta: u64, shift: i8) -> u64 {
    let n = u32::from(shift.unsigned_abs());
    if shift >= 0 {
        delta.checked_shl(n).unwrap_or(0)
    } else {
        delta.checked_shr(n).unwrap_or(0)
    }
}

/// Xen system time in ns at TSC value `tsc`, from a snapshot of
/// `vcpu_time_info`: `system_time + ((shift(tsc - tsc_timestamp) * mul) >> 32)`.
/// The delta wraps (a TSC read "before" the timestamp, or a wrapped TSC,
/// does not panic), and so does the final addition.
#[inline]
pub fn system_time_ns(t: &TimeSnapshot, tsc: u64) -> u64 {
    let delta = shift_delta(tsc.wrapping_sub(t.tsc_timestamp), t.tsc_shift);
    t.system_time
        .wrapping_add(mul_u64_u32_shr32(delta, t.tsc_to_system_mul))
}

/// The `(tsc_to_system_mul, tsc_shift)` pair for a TSC of `hz` ticks per
/// second: `mul` normalised into `[2^31, 2^32)` for the most precision,
/// rounded to nearest. `None` for 0 Hz. Used by the simulator and tests to
/// play Xen's part; the guest never computes it.
pub fn scale_for_frequency(hz: u64) -> Option<(u32, i8)> {
    if hz == 0 {
        return None;
    }
    const NS: u128 = 1_000_000_000;
    // ns per tick × 2^32 = NS·2^32 / hz; with a shift s the multiplier is
    // NS·2^32 / (hz·2^s). Pick s so that it lies in [2^31, 2^32).
    let mut shift: i32 = 0;
    loop {
        let num = if shift >= 0 {
            NS << 32
        } else {
            NS << (32 - shift)
        };
        let den = if shift >= 0 {
            (hz as u128) << shift
        } else {
            hz as u128
        };
        let mul = (num + den / 2) / den;
        if mul >= 1 << 32 {
            shift += 1;
        } else if mul < 1 << 31 {
            shift -= 1;
        } else {
            return Some((mul as u32, shift as i8));
        }
        if !(-63..=63).contains(&shift) {
            return None;
        }
    }
}

/// Reads a value protected by a Xen-style seqlock: `version()` is the
/// counter, `read()` copies the data. Retries while the counter is odd (a
/// write in progress) or changed across the copy; returns the copy and the
/// version it is consistent with.
///
/// Ordering (pairs with [`publish_time_info`] / Xen's writer): the first
/// counter load is `Acquire` inside `version()`, the `Acquire` fence after
/// `read()` keeps the data loads before the second counter load.
pub fn seqlock_read<T>(mut version: impl FnMut() -> u32, mut read: impl FnMut() -> T) -> (T, u32) {
    loop {
        let v1 = version();
        if v1 & 1 != 0 {
            core::hint::spin_loop();
            continue;
        }
        let value = read();
        fence(Ordering::Acquire);
        let v2 = version();
        if v1 == v2 {
            return (value, v1);
        }
        core::hint::spin_loop();
    }
}

fn load_fields(info: &VcpuTimeInfo) -> TimeSnapshot {
    TimeSnapshot {
        version: 0,
        tsc_timestamp: info.tsc_timestamp.load(Ordering::Relaxed),
        system_time: info.system_time.load(Ordering::Relaxed),
        tsc_to_system_mul: info.tsc_to_system_mul.load(Ordering::Relaxed),
        tsc_shift: info.tsc_shift.load(Ordering::Relaxed),
        flags: info.flags.load(Ordering::Relaxed),
    }
}

/// A consistent snapshot of a live `vcpu_time_info`.
pub fn read_time_info(info: &VcpuTimeInfo) -> TimeSnapshot {
    let (mut snap, v) = seqlock_read(
        || info.version.load(Ordering::Acquire),
        || load_fields(info),
    );
    snap.version = v;
    snap
}

/// Xen system time now: the snapshot and the TSC are read inside the same
/// seqlock section, so the TSC is never combined with parameters of a
/// different calibration period.
pub fn read_system_time(info: &VcpuTimeInfo, mut tsc: impl FnMut() -> u64) -> u64 {
    let ((snap, now_tsc), _) = seqlock_read(
        || info.version.load(Ordering::Acquire),
        || (load_fields(info), tsc()),
    );
    system_time_ns(&snap, now_tsc)
}

/// The writer's half of the seqlock, as Xen does it: odd version, fields,
/// even version. For the simulator and tests (the guest never writes).
pub fn publish_time_info(info: &VcpuTimeInfo, t: &TimeSnapshot) {
    let v = info.version.load(Ordering::Relaxed);
    let odd = v.wrapping_add(1) | 1;
    info.version.store(odd, Ordering::Relaxed);
    fence(Ordering::Release);
    info.tsc_timestamp.store(t.tsc_timestamp, Ordering::Relaxed);
    info.system_time.store(t.system_time, Ordering::Relaxed);
    info.tsc_to_system_mul
        .store(t.tsc_to_system_mul, Ordering::Relaxed);
    info.tsc_shift.store(t.tsc_shift, Ordering::Relaxed);
    info.flags.store(t.flags, Ordering::Relaxed);
    info.version.store(odd.wrapping_add(1), Ordering::Release);
}

/// The wall clock (UTC) at Xen system time 0.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WallClock {
    /// Seconds since the Unix epoch (`wc_sec_hi << 32 | wc_sec`).
    pub secs: u64,
    /// Nanoseconds (`wc_nsec`; Xen keeps it below 10^9, but it is not
    /// trusted to).
    pub nanos: u32,
}

impl WallClock {
    /// UTC (since the Unix epoch) at Xen system time `system_ns`. Saturates
    /// rather than panicking on absurd values.
    pub fn utc_at(self, system_ns: u64) -> Duration {
        Duration::from_secs(self.secs)
            .saturating_add(Duration::from_nanos(u64::from(self.nanos)))
            .saturating_add(Duration::from_nanos(system_ns))
    }
}

/// Reads the wall clock from shared_info under the `wc_version` seqlock.
pub fn read_wall_clock(shared: &SharedInfo) -> WallClock {
    let (wc, _) = seqlock_read(
        || shared.wc_version.load(Ordering::Acquire),
        || {
            let lo = shared.wc_sec.load(Ordering::Relaxed);
            let hi = shared.wc_sec_hi.load(Ordering::Relaxed);
            WallClock {
                secs: (u64::from(hi) << 32) | u64::from(lo),
                nanos: shared.wc_nsec.load(Ordering::Relaxed),
            }
        },
    );
    wc
}

/// Farthest a poll deadline is put ahead of now: 2^49 ns (~6.5 days), half
/// of Xen's 2^50 ns limit, so that clock drift between our reading of "now"
/// and Xen's can never push it over.
pub const MAX_POLL_AHEAD_NS: u64 = 1 << 49;

/// What to do with an executor deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PollTimeout {
    /// The deadline has passed: poll events, do not block.
    Due,
    /// Block until this absolute Xen system time (never 0, never more than
    /// [`MAX_POLL_AHEAD_NS`] after `now`).
    At(u64),
}

/// Converts the executor's deadline (absolute system time, `None` = none)
/// into a `SCHEDOP_poll` timeout, given system time `now`.
pub fn poll_timeout(deadline: Option<u64>, now: u64) -> PollTimeout {
    let limit = now.saturating_add(MAX_POLL_AHEAD_NS);
    match deadline {
        Some(d) if d <= now => PollTimeout::Due,
        Some(d) => PollTimeout::At(d.min(limit)),
        // `limit > now >= 0`, so it is never 0.
        None => PollTimeout::At(limit),
    }
}

/// The executor's clock on Xen: system time of vCPU 0, never going back.
#[derive(Debug, Default)]
pub struct PvClock {
    last: Cell<u64>,
}

impl PvClock {
    /// A clock that has not been read yet.
    pub const fn new() -> PvClock {
        PvClock { last: Cell::new(0) }
    }

    /// Xen system time now (ns), at least the previous reading.
    pub fn now<H: Hypervisor + ?Sized>(&self, hv: &H) -> u64 {
        let t = read_system_time(&hv.shared_info().vcpu_info[0].time, || hv.tsc());
        let t = t.max(self.last.get());
        self.last.set(t);
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    /// Independent reference: u128 arithmetic straight from the formula.
    fn reference(t: &TimeSnapshot, tsc: u64) -> u64 {
        let d = tsc.wrapping_sub(t.tsc_timestamp) as u128;
        let s = t.tsc_shift as i32;
        let d = if s.unsigned_abs() >= 64 {
            0
        } else if s >= 0 {
            (d << s) & u64::MAX as u128
        } else {
            d >> (-s)
        };
        let scaled = (d * t.tsc_to_system_mul as u128) >> 32;
        assert!(scaled <= u64::MAX as u128);
        t.system_time.wrapping_add(scaled as u64)
    }

    fn snap(ts: u64, sys: u64, mul: u32, shift: i8) -> TimeSnapshot {
        TimeSnapshot {
            version: 2,
            tsc_timestamp: ts,
            system_time: sys,
            tsc_to_system_mul: mul,
            tsc_shift: shift,
            flags: 0,
        }
    }

    #[test]
    fn hand_worked_vectors() {
        // shift 0, mul 0.5: 1000 ticks = 500 ns after 7.
        assert_eq!(system_time_ns(&snap(100, 7, 1 << 31, 0), 1100), 507);
        // shift +2, mul 0.25: a tick is 1 ns.
        assert_eq!(system_time_ns(&snap(0, 0, 1 << 30, 2), 12345), 12345);
        // shift -1, mul 2^32-1: 2^33 ticks -> 2^32 -> 2^32 - 1.
        assert_eq!(
            system_time_ns(&snap(0, 0, u32::MAX, -1), 1 << 33),
            (1u64 << 32) - 1
        );
        // mul near u32::MAX with the largest delta:
        // (2^64-1)(2^32-1) >> 32 = 2^64 - 2^32 - 1.
        assert_eq!(
            system_time_ns(&snap(0, 0, u32::MAX, 0), u64::MAX),
            0xFFFF_FFFE_FFFF_FFFF
        );
        // Delta wraps: timestamp just below 2^64, tsc just above 0: 15 ticks.
        assert_eq!(
            system_time_ns(&snap(u64::MAX - 9, 1000, 1 << 31, 1), 5),
            1015
        );
        // TSC "before" the timestamp: the delta wraps to a huge value; no panic,
        // same result as the reference.
        let s = snap(1000, 5, 3_000_000_000, -3);
        assert_eq!(system_time_ns(&s, 999), reference(&s, 999));
        // Shift out of range: delta contributes nothing, no panic.
        assert_eq!(system_time_ns(&snap(0, 42, u32::MAX, 64), 1 << 40), 42);
        assert_eq!(system_time_ns(&snap(0, 42, u32::MAX, -128), u64::MAX), 42);
        assert_eq!(system_time_ns(&snap(0, 42, u32::MAX, 127), 1), 42);
        // mul 0: time stands still at system_time.
        assert_eq!(system_time_ns(&snap(0, 9, 0, 5), 1 << 50), 9);
    }

    #[test]
    fn mul_matches_u128_at_the_edges() {
        for a in [
            0,
            1,
            u32::MAX as u64,
            1 << 32,
            u64::MAX,
            u64::MAX - 1,
            0x8000_0000_0000_0000,
        ] {
            for b in [0, 1, u32::MAX, u32::MAX - 1, 1 << 31] {
                let want = ((a as u128 * b as u128) >> 32) as u64;
                assert_eq!(mul_u64_u32_shr32(a, b), want, "{a} {b}");
            }
        }
    }

    #[test]
    fn frequency_round_trip_one_second() {
        for hz in [
            1_000_000u64,
            32_768,
            999_999_999,
            1_000_000_000,
            1_000_000_001,
            2_100_000_000,
            2_999_999_999,
            3_000_000_001,
            3_400_123_456,
            5_000_000_000,
            10_000_000_000,
            12_345_678_901,
        ] {
            let (mul, shift) = scale_for_frequency(hz).unwrap();
            assert!(mul >= 1 << 31, "{hz}: mul {mul} not normalised");
            let t = snap(77, 0, mul, shift);
            let ns = system_time_ns(&t, 77 + hz);
            assert!(
                ns.abs_diff(1_000_000_000) <= 1,
                "{hz} Hz: 1 s of ticks = {ns} ns"
            );
            // Ten seconds stay within 10 ns (the error is per second).
            let ns10 = system_time_ns(&t, 77 + 10 * hz);
            assert!(
                ns10.abs_diff(10_000_000_000) <= 10,
                "{hz} Hz: 10 s = {ns10}"
            );
        }
        assert_eq!(scale_for_frequency(0), None);
    }

    #[test]
    fn seqlock_retries_on_odd_and_changed_versions() {
        // Script: odd (retry before reading), 2 then 4 (changed: retry),
        // 4 then 4 (consistent).
        let versions = [1u32, 2, 4, 4, 4];
        let mut vi = 0;
        let mut reads = 0;
        let (value, v) = seqlock_read(
            || {
                let v = versions[vi];
                vi += 1;
                v
            },
            || {
                reads += 1;
                reads * 10
            },
        );
        assert_eq!(v, 4);
        assert_eq!(value, 20, "the copy taken between the two 4s");
        assert_eq!(reads, 2, "no copy while odd, one retry after the change");
        assert_eq!(vi, 5);
    }

    #[test]
    fn seqlock_reads_a_time_info_that_changes_under_the_reader() {
        // The fake updates the time info *during* the reader's copy the
        // first time: the version seen before the copy no longer matches.
        let info = VcpuTimeInfo::zeroed();
        publish_time_info(&info, &snap(0, 100, 1 << 31, 0));
        let mut first = true;
        let ((snapshot, tsc), _) = seqlock_read(
            || info.version.load(Ordering::Acquire),
            || {
                let s = load_fields(&info);
                if first {
                    first = false;
                    publish_time_info(&info, &snap(1000, 5000, 1 << 31, 0));
                }
                (s, 3000u64)
            },
        );
        assert_eq!(snapshot.system_time, 5000, "stale copy was discarded");
        assert_eq!(system_time_ns(&snapshot, tsc), 6000);
        assert_eq!(read_time_info(&info).version, 4);
    }

    #[test]
    fn seqlock_never_returns_a_torn_copy_under_a_concurrent_writer() {
        let info = Arc::new(VcpuTimeInfo::zeroed());
        publish_time_info(&info, &snap(0, 0, 0, 0));
        let stop = Arc::new(AtomicBool::new(false));
        let writer = {
            let (info, stop) = (info.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut k: u64 = 1;
                while !stop.load(Ordering::Relaxed) {
                    // Invariant of every published state: all fields derive from k.
                    publish_time_info(&info, &snap(k, k * 3, k as u32, (k % 7) as i8));
                    k += 1;
                }
                k
            })
        };
        let mut seen = 0;
        for _ in 0..if cfg!(miri) { 500 } else { 200_000 } {
            let s = read_time_info(&info);
            let k = s.tsc_timestamp;
            assert_eq!(s.system_time, k * 3, "torn read: {s:?}");
            assert_eq!(s.tsc_to_system_mul, k as u32, "torn read: {s:?}");
            assert_eq!(s.tsc_shift, (k % 7) as i8, "torn read: {s:?}");
            assert_eq!(s.version & 1, 0);
            seen = seen.max(k);
        }
        stop.store(true, Ordering::Relaxed);
        let written = writer.join().unwrap();
        assert!(seen < written);
    }

    #[test]
    fn wall_clock_combines_hi_lo_and_system_time() {
        let s = std::boxed::Box::new(SharedInfo::zeroed());
        s.wc_version.store(2, Ordering::Relaxed);
        s.wc_sec.store(0x0000_0010, Ordering::Relaxed);
        s.wc_sec_hi.store(1, Ordering::Relaxed);
        s.wc_nsec.store(900_000_000, Ordering::Relaxed);
        let wc = read_wall_clock(&s);
        assert_eq!(wc.secs, (1 << 32) | 0x10);
        assert_eq!(wc.nanos, 900_000_000);
        let utc = wc.utc_at(2_200_000_000);
        assert_eq!(utc.as_secs(), (1u64 << 32) + 0x10 + 3);
        assert_eq!(utc.subsec_nanos(), 100_000_000);
        // Absurd values saturate instead of panicking.
        let w = WallClock {
            secs: u64::MAX,
            nanos: u32::MAX,
        };
        assert_eq!(w.utc_at(u64::MAX), Duration::MAX);
    }

    #[test]
    fn wall_clock_retries_while_odd() {
        let s = Arc::new(SharedInfo::zeroed());
        s.wc_version.store(1, Ordering::Relaxed); // update in progress
        let reader = {
            let s = s.clone();
            std::thread::spawn(move || read_wall_clock(&s))
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        s.wc_sec.store(1234, Ordering::Relaxed);
        s.wc_version.store(2, Ordering::Release);
        assert_eq!(reader.join().unwrap().secs, 1234);
    }

    #[test]
    fn poll_timeout_clamps_and_never_zero() {
        assert_eq!(poll_timeout(Some(5), 10), PollTimeout::Due);
        assert_eq!(poll_timeout(Some(10), 10), PollTimeout::Due);
        assert_eq!(poll_timeout(Some(0), 0), PollTimeout::Due);
        assert_eq!(poll_timeout(Some(11), 10), PollTimeout::At(11));
        assert_eq!(
            poll_timeout(Some(u64::MAX), 10),
            PollTimeout::At(10 + MAX_POLL_AHEAD_NS)
        );
        assert_eq!(poll_timeout(None, 0), PollTimeout::At(MAX_POLL_AHEAD_NS));
        assert_eq!(poll_timeout(None, u64::MAX - 1), PollTimeout::At(u64::MAX));
        // Exactly at the limit is kept, one beyond is clamped.
        let now = 1_000_000;
        assert_eq!(
            poll_timeout(Some(now + MAX_POLL_AHEAD_NS), now),
            PollTimeout::At(now + MAX_POLL_AHEAD_NS)
        );
        const { assert!(MAX_POLL_AHEAD_NS < 1 << 50) };
    }

    #[test]
    fn pv_clock_is_monotonic_across_a_backward_recalibration() {
        let xen = crate::testing::FakeXen::new(); // 1 tick = 1 ns from 0
        let t = &xen.shared.vcpu_info[0].time;
        let clock = PvClock::new();
        xen.advance(1000);
        assert_eq!(clock.now(&xen), 1000);
        // Xen recalibrates and its new extrapolation is 5 ns behind.
        publish_time_info(t, &snap(1000, 995, 1 << 31, 1));
        assert_eq!(clock.now(&xen), 1000, "never goes back");
        xen.advance(10);
        assert_eq!(clock.now(&xen), 1005);
        // A run of readings with recalibrations in between never decreases
        // and follows the TSC.
        let mut last = 0;
        for k in 0..1000u64 {
            xen.advance(7);
            if k % 100 == 0 {
                let now = xen.now();
                // Alternately a little behind and a little ahead.
                let sys = if k % 200 == 0 {
                    now - 3 - 5
                } else {
                    now - 5 + 2
                };
                publish_time_info(t, &snap(now, sys, 1 << 31, 1));
            }
            let v = clock.now(&xen);
            assert!(v >= last, "went back: {v} < {last}");
            assert!(v.abs_diff(xen.now() - 5) <= 3, "{v} vs {}", xen.now());
            last = v;
        }
    }

    proptest! {
        #[test]
        fn matches_u128_reference(ts in any::<u64>(), tsc in any::<u64>(), sys in any::<u64>(),
                                  mul in any::<u32>(), shift in any::<i8>()) {
            let t = snap(ts, sys, mul, shift);
            prop_assert_eq!(system_time_ns(&t, tsc), reference(&t, tsc));
        }

        #[test]
        fn monotonic_in_tsc(ts in any::<u64>(), sys in 0u64..(1 << 62), mul in any::<u32>(),
                            shift in -32i8..=8, d1 in 0u64..(1 << 55), d2 in 0u64..(1 << 55)) {
            let (a, b) = if d1 <= d2 { (d1, d2) } else { (d2, d1) };
            let t = snap(ts, sys, mul, shift);
            prop_assert!(system_time_ns(&t, ts.wrapping_add(a)) <= system_time_ns(&t, ts.wrapping_add(b)));
        }

        #[test]
        fn frequency_round_trip(hz in 1_000_000u64..20_000_000_000) {
            let (mul, shift) = scale_for_frequency(hz).unwrap();
            let t = snap(0, 0, mul, shift);
            // Rate: within 1 ns per second, measured over 100 s.
            let ns100 = system_time_ns(&t, hz * 100);
            prop_assert!(ns100.abs_diff(100_000_000_000) <= 100, "{} Hz: 100 s -> {} ns", hz, ns100);
            // One second: 1 ns, plus what a right shift truncates (below
            // 2^-shift ticks, i.e. under a nanosecond at these frequencies).
            let trunc = if shift < 0 { ((1u64 << -shift) * 1_000_000_000).div_ceil(hz) } else { 0 };
            let ns = system_time_ns(&t, hz);
            prop_assert!(ns.abs_diff(1_000_000_000) <= 1 + trunc, "{} Hz -> {} ns", hz, ns);
        }
    }
}
