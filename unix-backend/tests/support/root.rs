//! `root_or_skip`: why tests that need root skip instead of failing, and
//! why CI can forbid that.
//!
//! A TAP device, a network namespace and an `AF_PACKET` socket need
//! `CAP_NET_ADMIN`/`CAP_SYS_ADMIN`: a developer running `cargo test` as
//! themselves should see those tests skipped with a reason, not a wall of
//! `EPERM`. In CI, which runs as root, a skip would silently hide a broken
//! setup, so `SHIMMER_REQUIRE_ROOT_TESTS=1` turns the skip into a failure.

/// The variable that turns a skip into a failure.
pub const REQUIRE_VAR: &str = "SHIMMER_REQUIRE_ROOT_TESTS";

/// `true` if running as root (the test goes on). Otherwise prints
/// `SKIP <test>: needs root (…)` to stderr and returns `false` — unless
/// `SHIMMER_REQUIRE_ROOT_TESTS=1`, when it panics with that reason instead.
pub fn root_or_skip(test: &str) -> bool {
    let euid = rustix::process::geteuid();
    if euid.is_root() {
        return true;
    }
    let reason = format!(
        "needs root (TAP devices and network namespaces; effective uid is {})",
        euid.as_raw()
    );
    if std::env::var_os(REQUIRE_VAR).is_some_and(|v| v == "1") {
        panic!("{test}: {reason}, and {REQUIRE_VAR}=1 forbids skipping it");
    }
    eprintln!("SKIP {test}: {reason}");
    false
}
