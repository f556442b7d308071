//! `Interval`: a stream of evenly spaced instants.
//!
//! The first tick completes at once (at the start instant); each later tick
//! completes one period after the previous *scheduled* tick. When the task
//! falls behind (a tick is polled more than a period late) the
//! [`MissedTickBehavior`] decides what happens; the default is
//! [`Skip`](MissedTickBehavior::Skip): no burst of catch-up ticks, the next
//! tick lands on the schedule's next point after now.

use alloc::boxed::Box;
use core::future::{poll_fn, Future};
use core::pin::Pin;
use core::task::{Context, Poll};
use core::time::Duration;

use super::sleep::{sleep_until, Sleep};
use super::Instant;

/// What an [`Interval`] does about ticks it missed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MissedTickBehavior {
    /// Fire the missed ticks back to back until caught up, keeping the
    /// original schedule (tokio's default).
    Burst,
    /// Restart the schedule: the next tick is one period after the late one
    /// was seen.
    Delay,
    /// Drop the missed ticks: the next tick is the next point of the
    /// original schedule after now.
    #[default]
    Skip,
}

/// Ticks every `period`, starting now.
///
/// # Panics
/// If `period` is zero, or outside a shimmer executor.
#[track_caller]
pub fn interval(period: Duration) -> Interval {
    interval_at(Instant::now(), period)
}

/// Ticks every `period`, the first tick at `start`.
///
/// # Panics
/// If `period` is zero.
#[track_caller]
pub fn interval_at(start: Instant, period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "shimmer: interval period must be non-zero"
    );
    Interval {
        sleep: Box::pin(sleep_until(start)),
        period,
        missed: MissedTickBehavior::default(),
    }
}

/// The timer returned by [`interval`]. One allocation when created (its
/// sleep is boxed so `tick` can take `&mut self`); none per tick.
#[derive(Debug)]
pub struct Interval {
    sleep: Pin<Box<Sleep>>,
    period: Duration,
    missed: MissedTickBehavior,
}

impl Interval {
    /// Waits for the next tick and returns the instant it was scheduled for.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// Polls for the next tick.
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        if self.sleep.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        let scheduled = self.sleep.deadline();
        let next = scheduled + self.period;
        let next = match self.missed {
            MissedTickBehavior::Burst => next,
            _ => {
                let now = Instant::now();
                if now < next {
                    next
                } else if self.missed == MissedTickBehavior::Delay {
                    now + self.period
                } else {
                    // Skip: the first point of the schedule after `now`.
                    let period = self.period.as_nanos();
                    let behind = (now - scheduled).as_nanos();
                    let steps = behind / period + 1;
                    let ahead = u64::try_from(steps * period).unwrap_or(u64::MAX);
                    scheduled + Duration::from_nanos(ahead)
                }
            }
        };
        self.sleep.as_mut().reset(next);
        Poll::Ready(scheduled)
    }

    /// Restarts the schedule: the next tick is one period from now.
    pub fn reset(&mut self) {
        let next = Instant::now() + self.period;
        self.sleep.as_mut().reset(next);
    }

    /// The period.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// The behaviour when ticks are missed.
    pub fn missed_tick_behavior(&self) -> MissedTickBehavior {
        self.missed
    }

    /// Sets the behaviour when ticks are missed.
    pub fn set_missed_tick_behavior(&mut self, behavior: MissedTickBehavior) {
        self.missed = behavior;
    }
}
