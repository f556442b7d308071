//! The Xen backend behind the facade: the kernel command line, the console
//! ring, and an executor that parks in `SCHEDOP_poll` (from `shimmer-xen`,
//! whose `image` feature provides the PVH entry, the allocator and the panic
//! handler).
//!
//! Not here yet: the network (`net`) and block devices (`block`), which
//! need netfront and blkfront.

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

/// `shimmer: ready` on the console, once (the test bed's cue to start its
/// dom0 commands); its time goes into the exit's timeline.
pub fn ready() {
    shimmer_xen::boot::ready();
}

/// `#[shimmer::main]` on Xen: parse the kernel command line, print
/// `shimmer: ready` (unless the unikernel will, `manual_ready`), run `main`
/// on an executor over the event-channel park, and return its status (the
/// boot code prints the timeline and `shimmer: exit CODE`, and powers off).
pub fn run<F>(
    declared: &'static [OptionSpec],
    manual_ready: bool,
    main: fn() -> F,
    platform: Platform,
) -> i32
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
    let park = shimmer_xen::XenPark::new(platform.hw);
    shimmer_xen::boot::install_reactor(park.reactor());
    let mut executor = shimmer_executor::Executor::new(park);
    if !manual_ready {
        ready();
    }
    executor.block_on(async { main().await.exit_code() })
}

/// `#[shimmer::main]`'s expansion on Xen: the user's `async fn` and the
/// image's entry, which the boot code calls once the platform is up.
#[doc(hidden)]
#[macro_export]
macro_rules! __main_glue {
    (options: $options:expr, manual_ready: $manual_ready:expr, main: { $($main:tt)* }) => {
        $($main)*
        fn __shimmer_image_main(platform: $crate::__rt::shimmer_xen::boot::Platform) -> i32 {
            $crate::__rt::run($options, $manual_ready, __shimmer_user_main, platform)
        }
        $crate::__rt::shimmer_xen::image_main!(__shimmer_image_main);
    };
}

/// The PV console ring.
pub(crate) mod console {
    use crate::{Error, ErrorKind};
    use shimmer_xen::event::EventError;

    /// The console ring as a `Flow`: what `xl console` types, and output
    /// beside `println!`'s.
    pub type Console = shimmer_xen::XenConsole<'static, shimmer_xen::hw::XenHw>;

    pub(crate) fn open() -> crate::Result<Console> {
        let out = shimmer_xen::boot::console::get()
            .ok_or_else(|| Error::new(ErrorKind::DeviceGone, "the image has no console"))?;
        let reactor = shimmer_xen::boot::reactor().ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidInput,
                "no shimmer runtime is running (open the console inside main)",
            )
        })?;
        let pool = shimmer_io::page::PagePool::current();
        Console::new(out.console(), reactor, pool).map_err(|e| match e {
            EventError::AlreadyBound(_) => Error::new(
                ErrorKind::InvalidInput,
                "the console is open already (one Console at a time)",
            ),
            e => Error::new(ErrorKind::Io, format_args!("opening the console: {e}")),
        })
    }
}

/// What a Xen guest does not have yet: netfront (and the TCP/IP stack over
/// it) and blkfront. The facade's `net` and `block` APIs exist on Xen so
/// that a unikernel builds for both backends unchanged; opening a device
/// fails with [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) and
/// says what is missing. The socket and device types are uninhabited: no
/// value of them can exist, so none of their methods can ever run.
mod unbuilt {
    use core::net::SocketAddr;
    use core::task::{Context, Poll};

    use shimmer_io::block::{Block, BlockInfo};
    use shimmer_io::flow::{Flow, Shutdown};
    use shimmer_io::net::{LinkState, MacAddr, Net, NetStats};
    use shimmer_io::page::{Buf, BufChain};

    use crate::{Error, ErrorKind, Result};

    pub(crate) const NO_NETFRONT: &str =
        "shimmer on Xen has no network driver yet (netfront is not built)";
    pub(crate) const NO_STACK: &str = "shimmer on Xen has no TCP/IP stack yet (it needs netfront, which is not built; there are no kernel sockets in a unikernel)";
    pub(crate) const NO_BLKFRONT: &str =
        "shimmer on Xen has no block driver yet (blkfront is not built)";

    pub(crate) fn unsupported(what: &str) -> Error {
        Error::new(ErrorKind::Unsupported, what)
    }

    /// A socket of the missing stack (TCP listener, TCP stream, UDP).
    pub enum NoSocket {}

    impl NoSocket {
        pub(crate) fn bind(_: SocketAddr) -> Result<NoSocket> {
            Err(unsupported(NO_STACK))
        }
        pub(crate) async fn connect(_: SocketAddr) -> Result<NoSocket> {
            Err(unsupported(NO_STACK))
        }
        pub(crate) async fn accept(&self) -> Result<(NoSocket, SocketAddr)> {
            match *self {}
        }
        pub(crate) fn local_addr(&self) -> Result<SocketAddr> {
            match *self {}
        }
        pub(crate) fn peer_addr(&self) -> Result<SocketAddr> {
            match *self {}
        }
        pub(crate) fn set_nodelay(&self, _: bool) -> Result<()> {
            match *self {}
        }
        pub(crate) async fn send_to(&self, _: &[u8], _: SocketAddr) -> Result<usize> {
            match *self {}
        }
        pub(crate) async fn recv_from(&self, _: &mut [u8]) -> Result<(usize, SocketAddr)> {
            match *self {}
        }
    }

    impl Flow for NoSocket {
        async fn read(&self) -> shimmer_io::Result<Option<Buf>> {
            match *self {}
        }
        async fn read_into(&self, _: &mut [u8]) -> shimmer_io::Result<usize> {
            match *self {}
        }
        async fn write(&self, _: &[u8]) -> shimmer_io::Result<()> {
            match *self {}
        }
        async fn write_buf(&self, _: Buf) -> shimmer_io::Result<()> {
            match *self {}
        }
        async fn shutdown(&self, _: Shutdown) -> shimmer_io::Result<()> {
            match *self {}
        }
        async fn close(&self) -> shimmer_io::Result<()> {
            match *self {}
        }
    }

    /// The missing netfront.
    pub enum NoNetDevice {}

    impl Net for NoNetDevice {
        fn poll_recv(&self, _: &mut Context<'_>) -> Poll<shimmer_io::Result<Buf>> {
            match *self {}
        }
        fn poll_send_ready(&self, _: &mut Context<'_>) -> Poll<shimmer_io::Result<()>> {
            match *self {}
        }
        fn send<F: FnOnce(&mut [u8]) -> usize>(&self, _: usize, _: F) -> shimmer_io::Result<()> {
            match *self {}
        }
        fn mac(&self) -> MacAddr {
            match *self {}
        }
        fn mtu(&self) -> usize {
            match *self {}
        }
        fn link(&self) -> LinkState {
            match *self {}
        }
        fn stats(&self) -> NetStats {
            match *self {}
        }
    }

    /// The missing blkfront.
    pub enum NoBlockDevice {}

    impl Block for NoBlockDevice {
        fn info(&self) -> BlockInfo {
            match *self {}
        }
        async fn read(&self, _: u64, _: u64) -> shimmer_io::Result<BufChain> {
            match *self {}
        }
        async fn write(&self, _: u64, _: BufChain) -> shimmer_io::Result<()> {
            match *self {}
        }
        async fn flush(&self) -> shimmer_io::Result<()> {
            match *self {}
        }
        async fn discard(&self, _: u64, _: u64) -> shimmer_io::Result<()> {
            match *self {}
        }
    }
}

/// The network: not on Xen yet (see `unbuilt`).
pub(crate) mod net {
    use super::unbuilt::{unsupported, NO_NETFRONT, NO_STACK};
    use crate::config::Config;
    use crate::Result;

    pub(crate) use super::unbuilt::NoSocket as TcpListener;
    pub(crate) use super::unbuilt::NoSocket as TcpStream;
    pub(crate) use super::unbuilt::NoSocket as UdpSocket;

    /// netfront, once built.
    pub type Device = super::unbuilt::NoNetDevice;

    pub(crate) async fn open_device(_: &Config) -> Result<Device> {
        Err(unsupported(NO_NETFRONT))
    }

    pub(crate) fn check_stack(_: &Config) -> Result<()> {
        Err(unsupported(NO_STACK))
    }
}

/// Block devices: not on Xen yet (see `unbuilt`).
pub(crate) mod block {
    use super::unbuilt::{unsupported, NO_BLKFRONT};
    use crate::config::Config;
    use crate::Result;

    /// blkfront, once built.
    pub type Device = super::unbuilt::NoBlockDevice;

    pub(crate) async fn open(_: &Config) -> Result<Device> {
        Err(unsupported(NO_BLKFRONT))
    }
}
