//! The network: `shimmer::net::stack()` for TCP/UDP, `shimmer::net::device()`
//! for raw Ethernet frames.
//!
//! Why a facade type for every socket: a unikernel is written once and runs
//! on whatever stack the configuration picks. Today (Unix, `--net socket`)
//! [`Stack`] is the host kernel's sockets. shimmer's own TCP/IP — smoltcp
//! driven as one task over a [`Net`](shimmer_io::net::Net) device: a TAP
//! device on Unix (`--net tap --tap NAME --ipv4 ADDR/LEN --ipv4-gateway GW`),
//! netfront on Xen — will be a second variant *inside* [`Stack`],
//! [`TcpListener`], [`TcpStream`] and [`UdpSocket`] (an enum over the two
//! implementations, chosen once at `stack()`), so the unikernel's code and
//! the types it names do not change. Everything a unikernel may call is
//! already here with the signatures the own stack will keep: `async`
//! constructors (the own stack waits for its link and, with DHCP, for an
//! address), `shimmer::Error`, and [`TcpStream`] as a
//! [`Flow`].

use core::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use shimmer_io::flow::{Flow, Shutdown};
use shimmer_io::page::{Buf, BufChain};

use crate::backend::net as imp;
use crate::config::{Ipv4Cidr, NetMode};
use crate::{Error, Result};

/// The raw Ethernet device `--tap NAME` names (a TAP device on Unix; on
/// Xen, netfront, which is not built yet: [`device`] fails there).
pub type Device = imp::Device;

/// Opens the network device the configuration names (`--tap NAME` on Unix),
/// for packet tools that want frames rather than sockets.
pub async fn device() -> Result<Device> {
    imp::open_device(crate::config()).await
}

/// The network stack the configuration selects (`--net`).
pub async fn stack() -> Result<Stack> {
    let config = crate::config();
    imp::check_stack(config)?;
    match config.net {
        NetMode::Socket => Ok(Stack { ipv4: config.ipv4 }),
    }
}

/// A network stack: where TCP listeners, connections and UDP sockets come
/// from. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Stack {
    ipv4: Option<Ipv4Cidr>,
}

impl Stack {
    /// The stack's IPv4 address (`--ipv4`), if configured. With kernel
    /// sockets, listeners bind to it (to every address when absent).
    pub fn ipv4(&self) -> Option<Ipv4Cidr> {
        self.ipv4
    }

    fn local(&self, port: u16) -> SocketAddr {
        let ip = self.ipv4.map_or(Ipv4Addr::UNSPECIFIED, |c| c.address);
        SocketAddr::V4(SocketAddrV4::new(ip, port))
    }

    /// Listens for TCP connections on `port` (0: any free port; see
    /// [`TcpListener::local_addr`]).
    pub async fn tcp_listen(&self, port: u16) -> Result<TcpListener> {
        let addr = self.local(port);
        let inner = imp::TcpListener::bind(addr)
            .map_err(|e| Error::from(e).context(format_args!("listening on {addr}")))?;
        Ok(TcpListener { inner })
    }

    /// Connects to `addr`.
    pub async fn tcp_connect(&self, addr: SocketAddr) -> Result<TcpStream> {
        let inner = imp::TcpStream::connect(addr)
            .await
            .map_err(|e| Error::from(e).context(format_args!("connecting to {addr}")))?;
        Ok(TcpStream { inner })
    }

    /// A UDP socket bound to `port` (0: any free port).
    pub async fn udp_bind(&self, port: u16) -> Result<UdpSocket> {
        let addr = self.local(port);
        let inner = imp::UdpSocket::bind(addr)
            .map_err(|e| Error::from(e).context(format_args!("binding UDP {addr}")))?;
        Ok(UdpSocket { inner })
    }
}

/// A listening TCP socket.
pub struct TcpListener {
    inner: imp::TcpListener,
}

impl TcpListener {
    /// The next connection and its peer's address.
    ///
    /// Cancellation: dropping the future loses no connection.
    pub async fn accept(&self) -> Result<(TcpStream, SocketAddr)> {
        let (inner, peer) = self.inner.accept().await?;
        Ok((TcpStream { inner }, peer))
    }

    /// The address listened on (with the port chosen, if 0 was asked for).
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.inner.local_addr()?)
    }
}

/// A TCP connection: a [`Flow`].
pub struct TcpStream {
    inner: imp::TcpStream,
}

impl TcpStream {
    /// The peer's address.
    pub fn peer_addr(&self) -> Result<SocketAddr> {
        Ok(self.inner.peer_addr()?)
    }

    /// This end's address.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.inner.local_addr()?)
    }

    /// Sends small writes at once rather than coalescing them (Nagle off).
    pub fn set_nodelay(&self, nodelay: bool) -> Result<()> {
        Ok(self.inner.set_nodelay(nodelay)?)
    }
}

impl Flow for TcpStream {
    async fn read(&self) -> shimmer_io::Result<Option<Buf>> {
        self.inner.read().await
    }
    async fn read_into(&self, buf: &mut [u8]) -> shimmer_io::Result<usize> {
        self.inner.read_into(buf).await
    }
    async fn write(&self, data: &[u8]) -> shimmer_io::Result<()> {
        self.inner.write(data).await
    }
    async fn write_buf(&self, buf: Buf) -> shimmer_io::Result<()> {
        self.inner.write_buf(buf).await
    }
    async fn writev(&self, bufs: &[&[u8]]) -> shimmer_io::Result<()> {
        self.inner.writev(bufs).await
    }
    async fn write_chain(&self, chain: BufChain) -> shimmer_io::Result<()> {
        self.inner.write_chain(chain).await
    }
    async fn shutdown(&self, how: Shutdown) -> shimmer_io::Result<()> {
        self.inner.shutdown(how).await
    }
    async fn close(&self) -> shimmer_io::Result<()> {
        self.inner.close().await
    }
}

/// A UDP socket.
pub struct UdpSocket {
    inner: imp::UdpSocket,
}

impl UdpSocket {
    /// Sends one datagram to `to`.
    pub async fn send_to(&self, data: &[u8], to: SocketAddr) -> Result<usize> {
        Ok(self.inner.send_to(data, to).await?)
    }

    /// Receives one datagram into `buf` (truncated if longer): its length
    /// and sender.
    pub async fn recv_from(&self, buf: &mut [u8]) -> Result<(usize, SocketAddr)> {
        Ok(self.inner.recv_from(buf).await?)
    }

    /// The bound address.
    pub fn local_addr(&self) -> Result<SocketAddr> {
        Ok(self.inner.local_addr()?)
    }
}
