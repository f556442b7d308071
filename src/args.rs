//! `shimmer::args()`: the unikernel's own options.
//!
//! Declared in `#[shimmer::main(options(name = "help", ...))]` and parsed
//! with the runtime's before `main` starts (unknown ones are refused then).
//! Values are kept as text and typed when read: a malformed value is a
//! command-line error like any other — the program prints which option and
//! why, and exits with status 2 — so a unikernel does not handle it.

use core::fmt;
use core::str::FromStr;
use core::time::Duration;

pub use crate::config::Args;

/// The unikernel's options (empty when the runtime was not started by
/// `#[shimmer::main]`).
pub fn args() -> &'static Args {
    &crate::rt::config().args
}

impl Args {
    /// `--name` as a `T`, `None` if absent. A malformed value ends the
    /// program with a usage error (status 2).
    pub fn parse<T: FromStr>(&self, name: &str) -> Option<T>
    where
        T::Err: fmt::Display,
    {
        self.try_parse(name)
            .unwrap_or_else(|e| crate::backend::option_error(e))
    }

    /// `--name` as a `T`, or `default` if absent (malformed: status 2).
    pub fn parse_or<T: FromStr>(&self, name: &str, default: T) -> T
    where
        T::Err: fmt::Display,
    {
        self.parse(name).unwrap_or(default)
    }

    /// `--name` as a duration (`1s`, `250ms`, `500us`, `100ns`), or
    /// `default` if absent (malformed: status 2).
    pub fn duration_or(&self, name: &str, default: Duration) -> Duration {
        self.try_duration(name)
            .unwrap_or_else(|e| crate::backend::option_error(e))
            .unwrap_or(default)
    }
}
