//! The runtime's configuration: one syntax on every backend.
//!
//! Why one parser for everything: a unikernel is configured like a program —
//! argv on Unix, the kernel command line on Xen — and the same image must
//! accept the same words in both places. The runtime's own options come
//! first in the usage text; the unikernel declares its own in
//! `#[shimmer::main(options(name = "help", ...))]`. Everything is parsed
//! before `main` starts, so a typo is reported at once (exit status 2), not
//! when the code that would read the option happens to run.
//!
//! Syntax: `--name VALUE` or `--name=VALUE`; no positional arguments; an
//! option given twice is an error. The runtime's options:
//!
//! | option | meaning |
//! |---|---|
//! | `--net socket` | the network stack behind [`net::stack`](crate::net::stack): the host kernel's sockets (the default on Unix) |
//! | `--tap NAME` | the TAP device [`net::device`](crate::net::device) opens |
//! | `--ipv4 ADDR/PREFIX` | the stack's IPv4 address (with kernel sockets: the address listeners and connections bind to) |
//! | `--ipv4-gateway ADDR` | the default gateway (only for shimmer's own TCP/IP stack, which is not built yet: refused for now) |
//! | `--block PATH` | the file or block device [`block::open`](crate::block::open) opens |
//! | `--log LEVEL` | the most detailed [`log`] records printed: `off`, `error`, `warn`, `info` (the default), `debug` or `trace` |
//! | `--help` | print the usage and exit 0 |
//!
//! Only what works is accepted: `--net tap` (shimmer's own TCP/IP over a
//! TAP device) arrives with the TCP/IP stack.

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::net::Ipv4Addr;
use core::str::FromStr;
use core::time::Duration;

/// An option a unikernel declares (the `#[shimmer::main(options(..))]`
/// attribute builds these).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OptionSpec {
    /// The name without its dashes: `port` for `--port`.
    pub name: &'static str,
    /// One line for the usage text.
    pub help: &'static str,
}

/// The runtime's own options, with their usage lines.
pub const RUNTIME_OPTIONS: &[(&str, &str)] = &[
    (
        "net",
        "MODE        network stack: `socket` (the host's kernel sockets; default)",
    ),
    (
        "tap",
        "NAME        TAP device opened by shimmer::net::device()",
    ),
    (
        "ipv4",
        "ADDR/LEN   IPv4 address of the stack, e.g. 10.0.0.2/24",
    ),
    (
        "ipv4-gateway",
        "ADDR  default gateway (shimmer's own TCP/IP stack; not built yet)",
    ),
    (
        "block",
        "PATH      file or block device opened by shimmer::block::open()",
    ),
    (
        "log",
        "LEVEL       log records printed: off|error|warn|info|debug|trace (default info)",
    ),
    ("help", "           print this help and exit"),
];

/// Which network stack `net::stack()` gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum NetMode {
    /// The host kernel's sockets (Unix only).
    #[default]
    Socket,
}

/// An IPv4 address with its prefix length, as in `10.0.0.2/24`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ipv4Cidr {
    /// The address.
    pub address: Ipv4Addr,
    /// The prefix length, 0..=32.
    pub prefix_len: u8,
}

impl FromStr for Ipv4Cidr {
    type Err = String;
    fn from_str(s: &str) -> Result<Ipv4Cidr, String> {
        let (addr, len) = s
            .split_once('/')
            .ok_or_else(|| "expected ADDR/PREFIX, e.g. 10.0.0.2/24".to_string())?;
        let address: Ipv4Addr = addr
            .parse()
            .map_err(|_| format!("`{addr}` is not an IPv4 address"))?;
        let prefix_len: u8 = match len.parse() {
            Ok(n) if n <= 32 => n,
            _ => return Err(format!("`{len}` is not a prefix length (0 to 32)")),
        };
        Ok(Ipv4Cidr {
            address,
            prefix_len,
        })
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

/// What went wrong on the command line. Each names the option.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// `--help` was given: print the usage and exit 0.
    Help,
    /// An option nobody declared.
    Unknown(String),
    /// A word that is not an option.
    Unexpected(String),
    /// An option at the end with no value.
    MissingValue(String),
    /// An option given twice.
    Twice(String),
    /// A value that does not parse.
    BadValue {
        /// The option, without dashes.
        option: String,
        /// What was given.
        value: String,
        /// Why it is wrong.
        reason: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Help => f.write_str("help requested"),
            ConfigError::Unknown(o) => write!(f, "unknown option `{o}`"),
            ConfigError::Unexpected(w) => {
                write!(f, "unexpected argument `{w}` (options are `--name VALUE`)")
            }
            ConfigError::MissingValue(o) => write!(f, "option `--{o}` needs a value"),
            ConfigError::Twice(o) => write!(f, "option `--{o}` given twice"),
            ConfigError::BadValue {
                option,
                value,
                reason,
            } => {
                write!(f, "invalid value `{value}` for `--{option}`: {reason}")
            }
        }
    }
}

impl core::error::Error for ConfigError {}

/// The unikernel's own options, as given (see [`crate::args`]).
#[derive(Clone, Debug, Default)]
pub struct Args {
    declared: &'static [OptionSpec],
    values: Vec<(&'static str, String)>,
}

impl Args {
    /// The options the unikernel declared.
    pub fn declared(&self) -> &'static [OptionSpec] {
        self.declared
    }

    /// The raw value of `--name`, if given.
    ///
    /// # Panics
    /// If the unikernel did not declare `name` (a programming error: the
    /// attribute is the list of what the program accepts).
    pub fn value(&self, name: &str) -> Option<&str> {
        assert!(
            self.declared.iter().any(|o| o.name == name),
            "option `--{name}` is not declared in #[shimmer::main(options(...))]"
        );
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// `--name` parsed as a `T`: `Ok(None)` if absent, an error naming the
    /// option if malformed.
    pub fn try_parse<T: FromStr>(&self, name: &str) -> Result<Option<T>, ConfigError>
    where
        T::Err: fmt::Display,
    {
        match self.value(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|e: T::Err| ConfigError::BadValue {
                    option: name.to_string(),
                    value: v.to_string(),
                    reason: e.to_string(),
                }),
        }
    }

    /// `--name` as a duration (`1s`, `250ms`, `500us`, `100ns`, or a bare
    /// number of seconds): `Ok(None)` if absent.
    pub fn try_duration(&self, name: &str) -> Result<Option<Duration>, ConfigError> {
        match self.value(name) {
            None => Ok(None),
            Some(v) => parse_duration(v)
                .map(Some)
                .map_err(|reason| ConfigError::BadValue {
                    option: name.to_string(),
                    value: v.to_string(),
                    reason,
                }),
        }
    }
}

/// `1s`, `250ms`, `500us`, `100ns`, or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let bad = || "expected a duration such as 1s, 250ms, 500us or 100ns".to_string();
    let n: u64 = digits.parse().map_err(|_| bad())?;
    match unit {
        "" | "s" => Ok(Duration::from_secs(n)),
        "ms" => Ok(Duration::from_millis(n)),
        "us" => Ok(Duration::from_micros(n)),
        "ns" => Ok(Duration::from_nanos(n)),
        _ => Err(bad()),
    }
}

/// The whole configuration: the runtime's options and the unikernel's.
#[derive(Clone, Debug)]
pub struct Config {
    /// `--net`.
    pub net: NetMode,
    /// `--tap`.
    pub tap: Option<String>,
    /// `--ipv4`.
    pub ipv4: Option<Ipv4Cidr>,
    /// `--ipv4-gateway` (refused for now: see the module doc).
    pub ipv4_gateway: Option<Ipv4Addr>,
    /// `--block`.
    pub block: Option<String>,
    /// `--log`: the most detailed log records printed.
    pub log: log::LevelFilter,
    /// The unikernel's options.
    pub args: Args,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            net: NetMode::default(),
            tap: None,
            ipv4: None,
            ipv4_gateway: None,
            block: None,
            log: log::LevelFilter::Info,
            args: Args::default(),
        }
    }
}

impl Config {
    /// Parses `words` (argv without the program name, or the kernel command
    /// line split on whitespace) against the runtime's options and the
    /// unikernel's `declared` ones.
    pub fn parse<'a>(
        words: impl IntoIterator<Item = &'a str>,
        declared: &'static [OptionSpec],
    ) -> Result<Config, ConfigError> {
        let mut config = Config {
            args: Args {
                declared,
                values: Vec::new(),
            },
            ..Config::default()
        };
        let mut seen: Vec<String> = Vec::new();
        let mut words = words.into_iter();
        while let Some(word) = words.next() {
            let Some(option) = word.strip_prefix("--").filter(|o| !o.is_empty()) else {
                return Err(ConfigError::Unexpected(word.to_string()));
            };
            let (name, inline_value) = match option.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (option, None),
            };
            if name == "help" {
                return Err(ConfigError::Help);
            }
            let runtime = RUNTIME_OPTIONS.iter().any(|(n, _)| *n == name);
            let user = declared.iter().find(|o| o.name == name);
            if !runtime && user.is_none() {
                return Err(ConfigError::Unknown(format!("--{name}")));
            }
            let value = match inline_value {
                Some(v) => v,
                None => words
                    .next()
                    .ok_or_else(|| ConfigError::MissingValue(name.to_string()))?,
            };
            if seen.iter().any(|s| s == name) {
                return Err(ConfigError::Twice(name.to_string()));
            }
            seen.push(name.to_string());
            match user {
                Some(spec) => config.args.values.push((spec.name, value.to_string())),
                None => config.set_runtime(name, value)?,
            }
        }
        if config.ipv4_gateway.is_some() {
            return Err(bad(
                "ipv4-gateway",
                &config.ipv4_gateway.map(|g| g.to_string()).unwrap_or_default(),
                "with kernel sockets (--net socket) the host's routes apply; a gateway is for shimmer's own TCP/IP stack, which is not built yet",
            ));
        }
        Ok(config)
    }

    fn set_runtime(&mut self, name: &str, value: &str) -> Result<(), ConfigError> {
        match name {
            "net" => match value {
                "socket" => self.net = NetMode::Socket,
                "tap" => {
                    return Err(bad(
                        name,
                        value,
                        "shimmer's own TCP/IP stack over a TAP device is not built yet; use `--net socket` (net::device() still opens `--tap NAME`)",
                    ))
                }
                _ => return Err(bad(name, value, "expected `socket`")),
            },
            "tap" => {
                let valid = !value.is_empty()
                    && value.len() < 16
                    && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
                if !valid {
                    return Err(bad(name, value, "an interface name is 1 to 15 characters of [A-Za-z0-9._-]"));
                }
                self.tap = Some(value.to_string());
            }
            "ipv4" => self.ipv4 = Some(value.parse().map_err(|r: String| bad(name, value, &r))?),
            "ipv4-gateway" => {
                let gw: Ipv4Addr = value.parse().map_err(|_| bad(name, value, "not an IPv4 address"))?;
                self.ipv4_gateway = Some(gw);
            }
            "block" => {
                if value.is_empty() {
                    return Err(bad(name, value, "expected a path"));
                }
                self.block = Some(value.to_string());
            }
            "log" => {
                self.log = value.parse().map_err(|_| {
                    bad(name, value, "expected off, error, warn, info, debug or trace")
                })?;
            }
            _ => unreachable!("every runtime option is handled"),
        }
        Ok(())
    }

    /// The usage text: the runtime's options, then the unikernel's.
    pub fn usage(program: &str, declared: &[OptionSpec]) -> String {
        let mut s = format!("usage: {program} [OPTIONS]\n\nshimmer runtime options:\n");
        for (name, help) in RUNTIME_OPTIONS {
            s.push_str(&format!("  --{name} {help}\n"));
        }
        if !declared.is_empty() {
            s.push_str(&format!("\n{program} options:\n"));
            for o in declared {
                s.push_str(&format!("  --{} VALUE  {}\n", o.name, o.help));
            }
        }
        s
    }
}

fn bad(option: &str, value: &str, reason: &str) -> ConfigError {
    ConfigError::BadValue {
        option: option.to_string(),
        value: value.to_string(),
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests;
