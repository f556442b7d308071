//! shimmer-macros: `#[shimmer::main]` and friends.
//!
//! Not built yet: an empty skeleton until the Unix backend issue (which
//! defines `#[shimmer::main]`) lands. It exports no macro, so nothing can
//! depend on a pretend one.
