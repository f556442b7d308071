//! monoio peer of the TCP echo benchmark (benches/echo.sh): one runtime on
//! one thread, one task per connection, each reading up to 64 KiB (into an
//! owned buffer, monoio's rent API) and writing all of it back.
//!
//! ```text
//! echo_monoio ADDR --uring     # io_uring, SINGLE_ISSUER | DEFER_TASKRUN (Linux >= 6.1)
//! echo_monoio ADDR --legacy    # monoio's epoll ("legacy") driver
//! ```

use monoio::io::{AsyncReadRent, AsyncWriteRentExt};
use monoio::net::{TcpListener, TcpStream};

async fn conn(mut s: TcpStream) {
    let mut buf: Vec<u8> = Vec::with_capacity(64 * 1024);
    loop {
        let (r, b) = s.read(buf).await;
        buf = b;
        match r {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let (r, b) = s.write_all(buf).await;
        buf = b;
        if r.is_err() {
            return;
        }
        buf.clear();
    }
}

async fn serve(addr: String, driver: &'static str) {
    let l = TcpListener::bind(&addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
    eprintln!("echo_monoio ({driver}) listening on {addr}");
    loop {
        match l.accept().await {
            Ok((s, _)) => {
                s.set_nodelay(true).expect("TCP_NODELAY");
                monoio::spawn(conn(s));
            }
            Err(e) => eprintln!("echo_monoio: accept: {e}"),
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:8092".into());
    match args.next().as_deref() {
        Some("--legacy") => {
            let mut rt = monoio::RuntimeBuilder::<monoio::LegacyDriver>::new()
                .build()
                .expect("monoio legacy runtime");
            rt.block_on(serve(addr, "legacy/epoll"));
        }
        Some("--uring") | None => {
            let mut ring = io_uring::IoUring::builder();
            ring.setup_single_issuer().setup_defer_taskrun();
            let mut rt = monoio::RuntimeBuilder::<monoio::IoUringDriver>::new()
                .uring_builder(ring)
                .build()
                .expect("monoio io_uring runtime (DEFER_TASKRUN needs Linux >= 6.1)");
            rt.block_on(serve(addr, "io_uring+defer_taskrun"));
        }
        Some(other) => {
            eprintln!("usage: echo_monoio ADDR [--uring | --legacy] (got {other})");
            std::process::exit(2);
        }
    }
}
