//! `#[shimmer::main]`'s compile errors, and the forms it accepts, checked by
//! compiling small programs (trybuild). The expected messages are in
//! `tests/ui/*.stderr`; regenerate them with `TRYBUILD=overwrite` after a
//! deliberate change and review the diff.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("tests/ui/pass_*.rs");
    t.compile_fail("tests/ui/fail_*.rs");
}
