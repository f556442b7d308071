//! Xen's errno values (`public/errno.h`). A hypercall returns `-errno` in
//! `rax`; these are Xen's numbers, which happen to match Linux's for the
//! ones listed but are defined by Xen, not by any libc.

/// Operation not permitted.
pub const EPERM: i32 = 1;
/// No such entry.
pub const ENOENT: i32 = 2;
/// Interrupted.
pub const EINTR: i32 = 4;
/// I/O error.
pub const EIO: i32 = 5;
/// Argument list too long.
pub const E2BIG: i32 = 7;
/// Try again.
pub const EAGAIN: i32 = 11;
/// Out of memory.
pub const ENOMEM: i32 = 12;
/// Permission denied.
pub const EACCES: i32 = 13;
/// Bad address.
pub const EFAULT: i32 = 14;
/// Busy.
pub const EBUSY: i32 = 16;
/// Exists.
pub const EEXIST: i32 = 17;
/// No such device.
pub const ENODEV: i32 = 19;
/// Invalid argument.
pub const EINVAL: i32 = 22;
/// No space left.
pub const ENOSPC: i32 = 28;
/// Function not implemented.
pub const ENOSYS: i32 = 38;
/// Timer expired (`VCPU_SSHOTTMR_future`).
pub const ETIME: i32 = 62;
