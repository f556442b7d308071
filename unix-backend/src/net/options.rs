//! [`TcpOptions`]: how a listener is set up, and what its accepted streams
//! inherit.
//!
//! Why a plain struct rather than a builder over the socket: every option
//! here must be set at a precise moment (`SO_REUSEADDR`/`SO_REUSEPORT`
//! before `bind`, the backlog at `listen`, `TCP_NODELAY` on each accepted
//! socket), so [`TcpListener::bind_with`](super::TcpListener::bind_with)
//! applies them in that order and the caller only says what it wants.

/// Options for [`TcpListener::bind_with`](super::TcpListener::bind_with).
///
/// The [`Default`] is what a server wants almost always: the address can be
/// bound again at once after a restart (`SO_REUSEADDR`: old connections in
/// `TIME_WAIT` do not block it), no port sharing, a backlog of 1024
/// connections, and Nagle's algorithm off on accepted streams (`nodelay`):
/// a request/response server writes small answers and must not wait up to
/// 40 ms for the peer's delayed ACK before the next one leaves.
///
/// ```
/// use shimmer_unix::net::TcpOptions;
/// let opts = TcpOptions { reuse_port: true, ..TcpOptions::default() };
/// assert!(opts.reuse_address && opts.nodelay);
/// assert_eq!(opts.backlog, 1024);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpOptions {
    /// `SO_REUSEADDR`: bind although connections of an earlier listener on
    /// the address linger in `TIME_WAIT`.
    pub reuse_address: bool,
    /// `SO_REUSEPORT`: several listeners (one per executor thread or process)
    /// share the port and the kernel spreads connections over them.
    pub reuse_port: bool,
    /// The `listen` backlog: connections the kernel completes and queues
    /// before [`accept`](super::TcpListener::accept) takes them (clamped by
    /// the kernel to `net.core.somaxconn`).
    pub backlog: u32,
    /// `TCP_NODELAY` on every accepted stream (Nagle's algorithm off).
    pub nodelay: bool,
}

impl Default for TcpOptions {
    fn default() -> TcpOptions {
        TcpOptions {
            reuse_address: true,
            reuse_port: false,
            backlog: 1024,
            nodelay: true,
        }
    }
}
