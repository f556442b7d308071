//! Support shared by the integration tests: root-only tests that skip (or,
//! in CI, fail) without root, and a private network namespace per test with
//! a kernel-side peer for a TAP device.
//!
//! Each test file includes it with `mod support;` and uses what it needs,
//! so items unused by one file are not dead code.
#![allow(dead_code)]

pub mod exec;
pub mod netns;
pub mod packet;
pub mod root;
