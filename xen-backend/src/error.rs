//! `XenError`: a failed hypercall, named after Xen's errno.
//!
//! Hypercalls return `-errno` in `rax` with Xen's own numbering
//! ([`crate::abi::errno`]). The enum names the values the runtime can act
//! on and keeps any other number in [`XenError::Other`], so an unexpected
//! answer from a newer hypervisor is reported, not lost or turned into a
//! panic.

use core::fmt;

use crate::abi::errno;

/// A Xen hypercall error (or a check done before the call on Xen's behalf,
/// such as too many ports for `SCHEDOP_poll`, which is `Inval` as Xen would
/// answer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum XenError {
    /// `EPERM`: not allowed (e.g. `console_io` from an ordinary domU).
    Perm,
    /// `ENOENT`.
    NoEnt,
    /// `EINTR`.
    Intr,
    /// `EIO`.
    Io,
    /// `E2BIG`.
    TooBig,
    /// `EAGAIN`.
    Again,
    /// `ENOMEM`.
    NoMem,
    /// `EACCES`.
    Access,
    /// `EFAULT`: Xen could not read or write an argument.
    Fault,
    /// `EBUSY`.
    Busy,
    /// `EEXIST`.
    Exists,
    /// `ENODEV`.
    NoDev,
    /// `EINVAL`.
    Inval,
    /// `ENOSPC` (e.g. no free event-channel port).
    NoSpc,
    /// `ENOSYS`: hypercall or sub-op not implemented.
    NoSys,
    /// `ETIME`.
    Time,
    /// Any other errno (positive value).
    Other(i32),
}

impl XenError {
    /// The error for a positive errno value.
    pub const fn from_errno(e: i32) -> XenError {
        match e {
            errno::EPERM => XenError::Perm,
            errno::ENOENT => XenError::NoEnt,
            errno::EINTR => XenError::Intr,
            errno::EIO => XenError::Io,
            errno::E2BIG => XenError::TooBig,
            errno::EAGAIN => XenError::Again,
            errno::ENOMEM => XenError::NoMem,
            errno::EACCES => XenError::Access,
            errno::EFAULT => XenError::Fault,
            errno::EBUSY => XenError::Busy,
            errno::EEXIST => XenError::Exists,
            errno::ENODEV => XenError::NoDev,
            errno::EINVAL => XenError::Inval,
            errno::ENOSPC => XenError::NoSpc,
            errno::ENOSYS => XenError::NoSys,
            errno::ETIME => XenError::Time,
            other => XenError::Other(other),
        }
    }

    /// The positive errno value.
    pub const fn errno(self) -> i32 {
        match self {
            XenError::Perm => errno::EPERM,
            XenError::NoEnt => errno::ENOENT,
            XenError::Intr => errno::EINTR,
            XenError::Io => errno::EIO,
            XenError::TooBig => errno::E2BIG,
            XenError::Again => errno::EAGAIN,
            XenError::NoMem => errno::ENOMEM,
            XenError::Access => errno::EACCES,
            XenError::Fault => errno::EFAULT,
            XenError::Busy => errno::EBUSY,
            XenError::Exists => errno::EEXIST,
            XenError::NoDev => errno::ENODEV,
            XenError::Inval => errno::EINVAL,
            XenError::NoSpc => errno::ENOSPC,
            XenError::NoSys => errno::ENOSYS,
            XenError::Time => errno::ETIME,
            XenError::Other(e) => e,
        }
    }

    /// Interprets a hypercall's `rax`: negative is `-errno`, anything else
    /// is success and returned as is. A value below `i32::MIN` (no errno is
    /// that large) is kept saturated in `Other`.
    pub fn check(ret: i64) -> Result<u64, XenError> {
        if ret >= 0 {
            Ok(ret as u64)
        } else {
            let e = ret
                .checked_neg()
                .and_then(|e| i32::try_from(e).ok())
                .unwrap_or(i32::MAX);
            Err(XenError::from_errno(e))
        }
    }

    fn name(self) -> &'static str {
        match self {
            XenError::Perm => "EPERM (operation not permitted)",
            XenError::NoEnt => "ENOENT (no such entry)",
            XenError::Intr => "EINTR (interrupted)",
            XenError::Io => "EIO (I/O error)",
            XenError::TooBig => "E2BIG (argument too big)",
            XenError::Again => "EAGAIN (try again)",
            XenError::NoMem => "ENOMEM (out of memory)",
            XenError::Access => "EACCES (permission denied)",
            XenError::Fault => "EFAULT (bad address)",
            XenError::Busy => "EBUSY (busy)",
            XenError::Exists => "EEXIST (already exists)",
            XenError::NoDev => "ENODEV (no such device)",
            XenError::Inval => "EINVAL (invalid argument)",
            XenError::NoSpc => "ENOSPC (no space left)",
            XenError::NoSys => "ENOSYS (not implemented)",
            XenError::Time => "ETIME (timer expired)",
            XenError::Other(_) => "unknown errno",
        }
    }
}

impl fmt::Display for XenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Xen hypercall failed: {} [{}]",
            self.name(),
            self.errno()
        )
    }
}

impl core::error::Error for XenError {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn check_maps_negative_errno() {
        assert_eq!(XenError::check(0), Ok(0));
        assert_eq!(XenError::check(7), Ok(7));
        assert_eq!(XenError::check(-22), Err(XenError::Inval));
        assert_eq!(XenError::check(-1), Err(XenError::Perm));
        assert_eq!(XenError::check(-38), Err(XenError::NoSys));
        assert_eq!(XenError::check(-9999), Err(XenError::Other(9999)));
        assert_eq!(XenError::check(i64::MIN), Err(XenError::Other(i32::MAX)));
    }

    #[test]
    fn errno_round_trips() {
        for e in 1..100 {
            assert_eq!(XenError::from_errno(e).errno(), e);
        }
    }

    #[test]
    fn display_names_the_errno() {
        let s = XenError::Inval.to_string();
        assert!(s.contains("EINVAL") && s.contains("22"), "{s}");
        let s = XenError::Other(77).to_string();
        assert!(s.contains("77"), "{s}");
    }
}
