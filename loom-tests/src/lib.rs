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
//! * `tests/xen_console.rs`: shimmer-xen's PV console byte ring — its real
//!   `produce`/`consume` between a producer and a consumer thread (every
//!   byte once, in order, across wrap-around and a full ring), a hostile
//!   backend publishing garbage indices, and negative controls (`prod`
//!   published or read `Relaxed`) that loom must catch.

/// The negative controls' harness: a model that must fail, run in a child
/// process. Why a child: a model that fails by loom's deadlock panic can
/// abort the process while unwinding (loom objects dropped during the
/// unwind panic again), which `catch_unwind` cannot contain.
///
/// A test file lists its failing models as `(name, model)` pairs, has one
/// `#[test] fn must_fail_child() { loom_tests::must_fail_child(MODELS) }`,
/// and asserts each failure with [`must_fail::expect_failure`].
pub mod must_fail {
    /// The environment variable naming the model the child runs.
    const ENV: &str = "SHIMMER_LOOM_MUST_FAIL";

    /// Runs the model `name` in a child process (this test binary, running
    /// only its `must_fail_child` test) and asserts that it fails with
    /// `expected` in its output.
    pub fn expect_failure(name: &str, expected: &str) {
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "must_fail_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(ENV, name)
            .env("RUST_BACKTRACE", "0")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !out.status.success(),
            "loom found no failure in {name}:\n{text}"
        );
        assert!(
            text.contains(expected),
            "{name} failed, but not with \"{expected}\":\n{text}"
        );
    }

    /// The child's side: runs the model of `models` that the parent named,
    /// if any (otherwise returns at once: the test passes in a normal run).
    pub fn must_fail_child(models: &[(&str, fn())]) {
        let Ok(name) = std::env::var(ENV) else {
            return;
        };
        let (_, model) = models
            .iter()
            .find(|(n, _)| *n == name)
            .expect("a model of the list");
        model();
    }
}
