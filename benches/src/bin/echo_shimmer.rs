//! shimmer's server in the TCP echo benchmark (benches/echo.sh):
//! `shimmer_unix::block_on` over its epoll park, `shimmer_unix::net`
//! sockets, one task per connection (`shimmer_executor::spawn`), each reading
//! up to 64 KiB (`Flow::read_into`) and writing all of it back
//! (`Flow::write`).
//!
//! ```text
//! echo_shimmer ADDR        # e.g. 127.0.0.1:8096
//! ```
//!
//! `cargo build --release -p shimmer-benches --bin echo_shimmer`.

use shimmer_io::flow::Flow;
use shimmer_unix::net::{TcpListener, TcpStream};
use std::net::SocketAddr;

async fn conn(s: TcpStream) {
    let mut buf = vec![0_u8; 64 * 1024];
    loop {
        let n = match s.read_into(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if s.write(&buf[..n]).await.is_err() {
            return;
        }
    }
}

fn main() {
    let arg = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8096".into());
    let addr: SocketAddr = arg
        .parse()
        .unwrap_or_else(|e| panic!("not an address: {arg}: {e}"));
    let served = shimmer_unix::block_on(async move {
        let l = TcpListener::bind(addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        eprintln!("echo_shimmer listening on {addr}");
        loop {
            match l.accept().await {
                Ok((s, _)) => {
                    if let Err(e) = s.set_nodelay(true) {
                        eprintln!("echo_shimmer: TCP_NODELAY: {e:?}");
                    }
                    shimmer_executor::spawn(conn(s)).detach();
                }
                Err(e) => eprintln!("echo_shimmer: accept: {e}"),
            }
        }
    });
    if let Err(e) = served {
        eprintln!("echo_shimmer: executor: {e}");
        std::process::exit(1);
    }
}
