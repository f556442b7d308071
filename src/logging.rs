//! The `log` crate's records, printed on the console: stderr on Unix, the
//! console ring on Xen (where there is only one).
//!
//! Why the runtime installs a logger: libraries a unikernel links (and
//! shimmer's own drivers) report through `log`, and on Xen nothing else
//! would ever show those records. The level comes from `--log LEVEL`
//! (default `info`); a record is one line, `LEVEL target: message`, so the
//! test bed's `[guest] ` prefix keeps it whole.

use log::{LevelFilter, Log, Metadata, Record};

struct ConsoleLogger;

static LOGGER: ConsoleLogger = ConsoleLogger;

impl Log for ConsoleLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            crate::backend::eprint(format_args!(
                "{:<5} {}: {}\n",
                record.level(),
                record.target(),
                record.args()
            ));
        }
    }

    fn flush(&self) {}
}

/// Routes `log` records of `level` and above to the console. A logger
/// installed before (by the program itself) is kept; the level is still set.
pub(crate) fn init(level: LevelFilter) {
    let _ = log::set_logger(&LOGGER);
    log::set_max_level(level);
}
