//! The backend the `unix` or `xen` feature selects, behind one set of
//! names: exactly one must be on.

#[cfg(all(feature = "unix", feature = "xen"))]
compile_error!(
    "shimmer: the `unix` and `xen` features are both on; choose one backend \
     (for a Xen image: `--no-default-features --features xen`)"
);

#[cfg(not(any(feature = "unix", feature = "xen")))]
compile_error!(
    "shimmer: no backend selected; enable the `unix` feature (the default) or \
     the `xen` feature (`--no-default-features --features xen`)"
);

#[cfg(feature = "unix")]
mod unix;
#[cfg(feature = "unix")]
pub use unix::*;

#[cfg(all(feature = "xen", not(feature = "unix")))]
mod xen;
#[cfg(all(feature = "xen", not(feature = "unix")))]
pub use xen::*;
