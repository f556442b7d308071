//! `shimmer::Error`: why one opaque error for unikernels.
//!
//! A unikernel's `main` meets errors from every layer — the io traits'
//! small backend-neutral [`ErrorKind`], the host kernel on Unix (with an
//! errno worth printing), the configuration. One type that keeps the kind
//! (to branch on) and a message (to print) lets `?` work everywhere
//! without the unikernel's code naming a backend.

use alloc::string::{String, ToString};
use core::fmt;

/// The kind of an error: the io traits' error enum.
pub use shimmer_io::Error as ErrorKind;

/// An error from the runtime: a kind to branch on and, when the source had
/// more to say (an errno, a configuration problem), a message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: Option<String>,
}

/// `Result<T, shimmer::Error>`.
pub type Result<T, E = Error> = core::result::Result<T, E>;

impl Error {
    /// An error of `kind` with a message saying what failed.
    pub fn new(kind: ErrorKind, message: impl fmt::Display) -> Error {
        Error {
            kind,
            message: Some(message.to_string()),
        }
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Adds what was being done: `context: message`.
    pub fn context(self, what: impl fmt::Display) -> Error {
        let message = match self.message {
            Some(m) => alloc::format!("{what}: {m}"),
            None => alloc::format!("{what}: {}", self.kind),
        };
        Error {
            kind: self.kind,
            message: Some(message),
        }
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Error {
        Error {
            kind,
            message: None,
        }
    }
}

impl From<crate::config::ConfigError> for Error {
    fn from(e: crate::config::ConfigError) -> Error {
        Error::new(ErrorKind::InvalidInput, e)
    }
}

impl From<shimmer_executor::Elapsed> for Error {
    fn from(_: shimmer_executor::Elapsed) -> Error {
        ErrorKind::TimedOut.into()
    }
}

#[cfg(feature = "std")]
impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Error {
        Error::new(crate::backend::kind_of(&e), e)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.message {
            Some(m) => f.write_str(m),
            None => fmt::Display::fmt(&self.kind, f),
        }
    }
}

impl core::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_and_message() {
        let e = Error::from(ErrorKind::Reset);
        assert_eq!(e.kind(), ErrorKind::Reset);
        assert_eq!(e.to_string(), ErrorKind::Reset.to_string());
        let e = e.context("reading the request");
        assert_eq!(e.kind(), ErrorKind::Reset);
        assert_eq!(
            e.to_string(),
            alloc::format!("reading the request: {}", ErrorKind::Reset)
        );
    }

    #[cfg(feature = "std")]
    #[test]
    fn os_errors_keep_their_message() {
        let os = std::io::Error::from_raw_os_error(98); // EADDRINUSE
        let e = Error::from(os).context("listening on port 80");
        assert_eq!(e.kind(), ErrorKind::Io);
        assert!(
            e.to_string()
                .starts_with("listening on port 80: Address already in use"),
            "{e}"
        );
    }
}
