//! What `#[shimmer::main]` expands to, shared by every backend: the
//! installed configuration and how `main`'s result becomes an exit status.
//! Not public API (`shimmer::__rt`); the backend half is in `backend/`.

use core::fmt;

use crate::config::{Config, ConfigError, OptionSpec};

static CONFIG: spin::Once<Config> = spin::Once::new();

/// The configuration, parsed before `main` started (the defaults when the
/// runtime was started some other way, e.g. by `shimmer::block_on`).
pub fn config() -> &'static Config {
    CONFIG.call_once(Config::default)
}

/// Parses `words` against the runtime's and the unikernel's options and
/// installs the result; `Err` when the words are wrong (or ask for `--help`).
pub fn configure<'a>(
    words: impl IntoIterator<Item = &'a str>,
    declared: &'static [OptionSpec],
) -> Result<(), ConfigError> {
    let parsed = Config::parse(words, declared)?;
    crate::logging::init(CONFIG.call_once(|| parsed).log);
    Ok(())
}

/// What `main` may return: `()`, or `Result<(), E>` whose error is printed.
#[diagnostic::on_unimplemented(
    message = "`#[shimmer::main]` needs `main` to return `()` or `Result<(), E>` with `E: Display`, not `{Self}`"
)]
pub trait MainResult {
    /// The exit status: 0, or 1 after printing the error.
    fn exit_code(self) -> i32;
}

impl MainResult for () {
    fn exit_code(self) -> i32 {
        0
    }
}

impl<E: fmt::Display> MainResult for Result<(), E> {
    fn exit_code(self) -> i32 {
        match self {
            Ok(()) => 0,
            Err(e) => {
                crate::backend::eprint(format_args!("error: {e}\n"));
                1
            }
        }
    }
}

pub use crate::backend::{eprint, print, run};

/// The Xen backend crate, for `__main_glue!`'s expansion in the image.
#[cfg(all(feature = "xen", not(feature = "unix")))]
pub use crate::backend::shimmer_xen;
