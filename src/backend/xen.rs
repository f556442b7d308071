//! The Xen backend behind the facade: the kernel command line, the console
//! ring, and an executor that parks in `SCHEDOP_poll` (from `shimmer-xen`,
//! whose `image` feature provides the PVH entry, the allocator and the panic
//! handler).
//!
//! Not here yet: the network (`net`), block devices (`block`) and the
//! console as a `Flow`; a unikernel that names them does not build for Xen.

use core::fmt::{self, Write};
use core::future::Future;

use shimmer_xen::boot::Platform;

use crate::config::{Config, ConfigError, OptionSpec};
use crate::rt::MainResult;

pub use shimmer_xen;

/// Writes to the console ring (nothing before the console is up).
pub fn print(args: fmt::Arguments<'_>) {
    if let Some(mut out) = shimmer_xen::boot::console::get() {
        let _ = out.write_fmt(args);
    }
}

/// The same console: a Xen guest has one.
pub fn eprint(args: fmt::Arguments<'_>) {
    print(args)
}

/// A malformed value of the unikernel's own option: report it and end the
/// image with status 2, as for a malformed runtime option.
pub(crate) fn option_error(e: ConfigError) -> ! {
    print(format_args!("error: {e}\n"));
    shimmer_xen::boot::exit(2)
}

/// `#[shimmer::main]` on Xen: parse the kernel command line, print
/// `shimmer: ready`, run `main` on an executor over the event-channel park,
/// and return its status (the boot code prints `shimmer: exit CODE` and
/// powers off).
pub fn run<F>(declared: &'static [OptionSpec], main: fn() -> F, platform: Platform) -> i32
where
    F: Future,
    F::Output: MainResult,
{
    match crate::rt::configure(platform.cmdline.split_whitespace(), declared) {
        Ok(()) => {}
        Err(ConfigError::Help) => {
            print(format_args!("{}", Config::usage("unikernel", declared)));
            return 0;
        }
        Err(e) => {
            print(format_args!("error: {e}\n"));
            return 2;
        }
    }
    let mut executor = shimmer_executor::Executor::new(shimmer_xen::XenPark::new(platform.hw));
    print(format_args!("shimmer: ready\n"));
    executor.block_on(async { main().await.exit_code() })
}

/// `#[shimmer::main]`'s expansion on Xen: the user's `async fn` and the
/// image's entry, which the boot code calls once the platform is up.
#[doc(hidden)]
#[macro_export]
macro_rules! __main_glue {
    (options: $options:expr, main: { $($main:tt)* }) => {
        $($main)*
        fn __shimmer_image_main(platform: $crate::__rt::shimmer_xen::boot::Platform) -> i32 {
            $crate::__rt::run($options, __shimmer_user_main, platform)
        }
        $crate::__rt::shimmer_xen::image_main!(__shimmer_image_main);
    };
}
