//! Combinators: Lwt's ways of running futures together, without its traps.
//!
//! | Lwt | shimmer | |
//! |---|---|---|
//! | `Lwt.both`, `<&>`, `Lwt.join` | [`join`], [`join3`] | wait for all, in place (no task, no allocation) |
//! | `Lwt.all` | [`join_all`] | wait for all, outputs in order (one allocation) |
//! | `Lwt.pick` | [`pick`], [`race`] | first to finish wins, the others are dropped (= cancelled) |
//! | `Lwt.choose` | [`choose`] | first to finish wins, the others go on running as tasks |
//! | `Lwt.nchoose` | [`nchoose`] | all that finished by the first wake-up; the others go on |
//! | `Lwt_unix.with_timeout` | [`timeout`](crate::timeout) | the future is dropped at the deadline |
//! | `Lwt.protected` | [`shield`] | dropping the waiter does not cancel the work |
//!
//! Cancellation is dropping: a future that loses a `pick` is dropped on the
//! spot, running its destructors, so there is no `Lwt.cancel` and no
//! `Canceled` exception to forget to handle.

mod choose;
mod join;
mod pick;
mod pinned_slice;
mod shield;

pub use choose::{choose, nchoose, Choose, NChoose};
pub use join::{join, join3, join_all, Join, Join3, JoinAll};
pub use pick::{pick, race, Pick, Race};
pub use shield::{shield, Shield};
