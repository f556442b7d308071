//! Kernel errors as `shimmer_io::Error`: why one mapping. The io traits
//! (`Flow`, `Block`, `Net`) speak one small, backend-neutral error enum, so
//! every Unix device maps `errno` the same way here; constructors that can
//! fail for richer reasons (bind: address in use) keep `std::io::Error`.

use std::io;

use shimmer_io::Error;

/// The io trait error for a kernel error.
pub fn from_io(e: &io::Error) -> Error {
    if let Some(errno) = e.raw_os_error() {
        return from_errno(rustix::io::Errno::from_raw_os_error(errno));
    }
    match e.kind() {
        io::ErrorKind::WouldBlock => Error::WouldBlock,
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => Error::Reset,
        io::ErrorKind::BrokenPipe => Error::BrokenPipe,
        io::ErrorKind::TimedOut => Error::TimedOut,
        io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => Error::InvalidInput,
        io::ErrorKind::Unsupported => Error::Unsupported,
        io::ErrorKind::OutOfMemory => Error::OutOfMemory,
        io::ErrorKind::NotConnected | io::ErrorKind::UnexpectedEof => Error::Closed,
        _ => Error::Io,
    }
}

/// The io trait error for an errno.
pub fn from_errno(errno: rustix::io::Errno) -> Error {
    use rustix::io::Errno;
    match errno {
        Errno::AGAIN => Error::WouldBlock,
        Errno::CONNRESET | Errno::CONNABORTED => Error::Reset,
        Errno::PIPE => Error::BrokenPipe,
        Errno::TIMEDOUT => Error::TimedOut,
        Errno::INVAL | Errno::BADMSG => Error::InvalidInput,
        Errno::MSGSIZE | Errno::FBIG => Error::TooLarge,
        Errno::OPNOTSUPP | Errno::NOSYS => Error::Unsupported,
        Errno::NOMEM | Errno::NOBUFS => Error::OutOfMemory,
        Errno::NOTCONN | Errno::BADF => Error::Closed,
        Errno::ROFS | Errno::PERM | Errno::ACCESS => Error::ReadOnly,
        Errno::NODEV | Errno::NXIO | Errno::NOENT => Error::DeviceGone,
        Errno::NETDOWN | Errno::NETUNREACH => Error::LinkDown,
        _ => Error::Io,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_and_kind_agree() {
        let reset = io::Error::from_raw_os_error(rustix::io::Errno::CONNRESET.raw_os_error());
        assert_eq!(from_io(&reset), Error::Reset);
        assert_eq!(
            from_io(&io::ErrorKind::WouldBlock.into()),
            Error::WouldBlock
        );
        assert_eq!(from_errno(rustix::io::Errno::IO), Error::Io);
        assert_eq!(from_errno(rustix::io::Errno::ROFS), Error::ReadOnly);
    }
}
