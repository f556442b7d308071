//! Model checks (loom) of shimmer's lock-free protocols. The models live in
//! `tests/` and only compile with `RUSTFLAGS="--cfg loom"`:
//!
//! ```sh
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p loom-tests --release
//! ```
//!
//! * `tests/remote_wake.rs`: a `Waker` used on another thread while the
//!   executor completes, aborts, detaches, parks or is dropped.
//! * `tests/xen_events.rs`: shimmer-xen's event-channel protocol — Xen
//!   raising masked ports from another CPU while the guest scans, takes
//!   events and blocks in `SCHEDOP_poll`; the unpark flag; negative controls
//!   (the masked-port trap and other broken scans) that loom must catch.
