//! [`Error`]: the one error type of shimmer-io.
//!
//! Every fallible operation of the crate — the page pool, the traits, the
//! in-memory devices — returns [`Result<T>`]. Bad input (an out-of-range
//! sector, a slice past the end of a buffer, a frame larger than the MTU)
//! is an error, never a panic.

use core::fmt;

/// `Result<T, shimmer_io::Error>`.
pub type Result<T, E = Error> = core::result::Result<T, E>;

/// What went wrong in an I/O operation or a pool request.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// The page pool is at its configured cap (`PoolConfig::max_pages`) and
    /// every page is in use.
    PoolExhausted,
    /// The global allocator could not give the pool another chunk.
    OutOfMemory,
    /// A position or length lies outside the buffer, flow or device
    /// (a sector past the end, a slice past a buffer's length).
    OutOfRange,
    /// A length or position is not a multiple of the device's unit (a block
    /// write that is not a whole number of sectors).
    Unaligned,
    /// The data does not fit (a frame longer than the MTU, more than a page
    /// where one page is the limit).
    TooLarge,
    /// An argument makes no sense (a zero chunk size, a fill function that
    /// claims more bytes than it was given).
    InvalidInput,
    /// The device is read-only.
    ReadOnly,
    /// The device has gone away (unplugged, detached, its backend died).
    DeviceGone,
    /// This end of the flow is closed (or shut down in this direction).
    Closed,
    /// The peer no longer reads: it closed or shut down its read side.
    BrokenPipe,
    /// The peer reset the connection.
    Reset,
    /// The device is not ready (a `Net::send` without a preceding ready
    /// `poll_send_ready`); try again once it is.
    WouldBlock,
    /// The link is down.
    LinkDown,
    /// The operation is not supported by this device.
    Unsupported,
    /// The device reported an I/O failure (a failed request, a torn write).
    Io,
    /// The operation did not complete in time.
    TimedOut,
}

impl Error {
    /// A short, stable, lower-case description (what `Display` prints).
    pub const fn as_str(self) -> &'static str {
        match self {
            Error::PoolExhausted => "page pool exhausted (at its cap)",
            Error::OutOfMemory => "out of memory",
            Error::OutOfRange => "out of range",
            Error::Unaligned => "length or position not aligned to the device's unit",
            Error::TooLarge => "too large",
            Error::InvalidInput => "invalid input",
            Error::ReadOnly => "read-only device",
            Error::DeviceGone => "device gone",
            Error::Closed => "closed",
            Error::BrokenPipe => "broken pipe (the peer no longer reads)",
            Error::Reset => "connection reset by peer",
            Error::WouldBlock => "device not ready",
            Error::LinkDown => "link down",
            Error::Unsupported => "operation not supported",
            Error::Io => "I/O error",
            Error::TimedOut => "timed out",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl core::error::Error for Error {}

#[cfg(feature = "std")]
impl From<Error> for std::io::Error {
    fn from(e: Error) -> std::io::Error {
        use std::io::ErrorKind as K;
        let kind = match e {
            Error::PoolExhausted | Error::OutOfMemory => K::OutOfMemory,
            Error::OutOfRange | Error::Unaligned | Error::InvalidInput | Error::TooLarge => {
                K::InvalidInput
            }
            Error::ReadOnly => K::PermissionDenied,
            Error::DeviceGone => K::NotFound,
            Error::Closed => K::NotConnected,
            Error::BrokenPipe => K::BrokenPipe,
            Error::Reset => K::ConnectionReset,
            Error::WouldBlock => K::WouldBlock,
            Error::LinkDown => K::NetworkDown,
            Error::Unsupported => K::Unsupported,
            Error::Io => K::Other,
            Error::TimedOut => K::TimedOut,
        };
        std::io::Error::new(kind, e)
    }
}

impl From<shimmer_executor::Elapsed> for Error {
    fn from(_: shimmer_executor::Elapsed) -> Error {
        Error::TimedOut
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn display_is_the_description() {
        assert_eq!(Error::OutOfRange.to_string(), "out of range");
        assert_eq!(Error::Reset.to_string(), Error::Reset.as_str());
    }

    #[cfg(feature = "std")]
    #[test]
    fn converts_to_io_error() {
        let e: std::io::Error = Error::BrokenPipe.into();
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe);
    }
}
