//! Model checks (loom) of shimmer's lock-free protocols. The models live in
//! `tests/` and only compile with `RUSTFLAGS="--cfg loom"`:
//!
//! ```sh
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=2 cargo test -p loom-tests --release
//! ```
