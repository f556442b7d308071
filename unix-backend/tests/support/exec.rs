//! Running a test body on a shimmer-unix executor, with a time limit: a
//! hung test fails with a message instead of stalling the whole suite.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

/// Runs `f` on a fresh shimmer-unix executor; fails if it takes over `limit`.
pub fn run_within<F: Future>(limit: Duration, f: F) -> F::Output {
    shimmer_unix::block_on(async {
        shimmer_executor::timeout(limit, f)
            .await
            .expect("the test hung")
    })
    .expect("a UnixPark")
}

/// [`run_within`] 10 s.
pub fn run<F: Future>(f: F) -> F::Output {
    run_within(Duration::from_secs(10), f)
}

/// 127.0.0.1, any free port.
pub fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}
