//! The Unix backend behind the facade: argv, stdout/stderr, exit statuses,
//! and the epoll executor from `shimmer-unix`.

use std::future::Future;
use std::io::Write;

use crate::config::{Config, ConfigError, OptionSpec};
use crate::rt::MainResult;

/// The io error kind of a kernel error.
pub(crate) fn kind_of(e: &std::io::Error) -> crate::ErrorKind {
    shimmer_unix::error::from_io(e)
}

pub use shimmer_unix::console::{eprint, print};

fn program() -> String {
    std::env::args_os()
        .next()
        .and_then(|p| {
            std::path::Path::new(&p)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_else(|| "shimmer".into())
}

fn exit(code: i32) -> ! {
    let _ = std::io::stdout().flush();
    std::process::exit(code)
}

fn usage_error(message: impl core::fmt::Display) -> ! {
    let program = program();
    eprint(format_args!(
        "{program}: error: {message}\nTry `{program} --help`.\n"
    ));
    exit(2)
}

/// A malformed value of the unikernel's own option: the same report and
/// exit status 2 as a malformed runtime option.
pub(crate) fn option_error(e: ConfigError) -> ! {
    usage_error(e)
}

/// `shimmer: ready` on stderr, once (a Unix program has no test bed
/// waiting for it, but scripts may).
pub fn ready() {
    static READY: std::sync::Once = std::sync::Once::new();
    READY.call_once(|| eprint(format_args!("shimmer: ready\n")));
}

/// `#[shimmer::main]`: parse argv, run `main` on an epoll executor, exit
/// with its status (2 for a bad command line, 1 for an `Err`). On Unix the
/// runtime prints no `shimmer: ready` by itself (`_manual_ready` is for
/// Xen, whose test bed waits for that line); `shimmer::ready()` still prints it.
pub fn run<F>(declared: &'static [OptionSpec], _manual_ready: bool, main: fn() -> F) -> !
where
    F: Future,
    F::Output: MainResult,
{
    let mut words = Vec::new();
    for arg in std::env::args_os().skip(1) {
        match arg.into_string() {
            Ok(word) => words.push(word),
            Err(bad) => usage_error(format_args!("argument {bad:?} is not valid UTF-8")),
        }
    }
    match crate::rt::configure(words.iter().map(String::as_str), declared) {
        Ok(()) => {}
        Err(ConfigError::Help) => {
            print(format_args!("{}", Config::usage(&program(), declared)));
            exit(0)
        }
        Err(e) => usage_error(e),
    }
    let park = match shimmer_unix::UnixPark::new() {
        Ok(park) => park,
        Err(e) => {
            eprint(format_args!("shimmer: cannot start the runtime: {e}\n"));
            exit(1)
        }
    };
    let code = shimmer_executor::Executor::new(park).block_on(async { main().await.exit_code() });
    exit(code)
}

/// `#[shimmer::main]`'s expansion on Unix: the user's `async fn` and a
/// `fn main` that runs it.
#[doc(hidden)]
#[macro_export]
macro_rules! __main_glue {
    (options: $options:expr, manual_ready: $manual_ready:expr, main: { $($main:tt)* }) => {
        $($main)*
        fn main() {
            $crate::__rt::run($options, $manual_ready, __shimmer_user_main)
        }
    };
}

/// Kernel sockets and the TAP device.
pub(crate) mod net {
    use crate::config::Config;
    use crate::{Error, ErrorKind, Result};

    pub(crate) use shimmer_unix::net::{TcpListener, TcpStream, UdpSocket};

    /// A TAP device.
    pub type Device = shimmer_unix::tap::TapDevice;

    /// Kernel sockets are always there.
    pub(crate) fn check_stack(_: &Config) -> Result<()> {
        Ok(())
    }

    pub(crate) async fn open_device(config: &Config) -> Result<Device> {
        let name = config.tap.as_deref().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                "no network device configured: pass `--tap NAME`",
            )
        })?;
        Device::open(name)
            .map_err(|e| Error::from(e).context(format_args!("opening TAP device `{name}`")))
    }
}

/// Files and block devices.
pub(crate) mod block {
    use crate::config::Config;
    use crate::{Error, ErrorKind, Result};

    /// A file or block device.
    pub type Device = shimmer_unix::file_block::FileBlock;

    pub(crate) async fn open(config: &Config) -> Result<Device> {
        let path = config.block.as_deref().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                "no block device configured: pass `--block PATH`",
            )
        })?;
        let read_only = |e: &std::io::Error| {
            matches!(
                e.kind(),
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
            )
        };
        match Device::open(path, true) {
            Err(e) if read_only(&e) => Device::open(path, false),
            r => r,
        }
        .map_err(|e| Error::from(e).context(format_args!("opening block device `{path}`")))
    }
}

/// Stdin and stdout.
pub(crate) mod console {
    /// Stdin and stdout as one `Flow`.
    pub type Console = shimmer_unix::console::Console;

    pub(crate) fn open() -> crate::Result<Console> {
        Console::new().map_err(|e| crate::Error::from(e).context("opening the console"))
    }
}

/// The clocks.
pub(crate) mod time {
    /// CLOCK_MONOTONIC (the executor's clock) and CLOCK_REALTIME.
    pub type SystemClock = shimmer_unix::UnixClock;

    pub(crate) fn clock() -> SystemClock {
        shimmer_unix::UnixClock
    }
}
