//! mirage-skeleton's `device-usage/network` echo: a TCP echo server. Every
//! connection is a task; bytes come back as the same pages they arrived in
//! (`read` hands out a pool page, `write_buf` sends that page).
//!
//! ```sh
//! cargo run --release --example echo -- --port 7000
//! ```
//! (The default port, 7, needs root on Unix.)
#![cfg_attr(feature = "xen", no_std, no_main)]

use shimmer::io::flow::Shutdown;
use shimmer::net::TcpStream;
use shimmer::{Duration, Flow};

#[shimmer::main(ready = "manual", options(port = "TCP port to listen on (default 7)"))]
async fn main() -> Result<(), shimmer::Error> {
    let port: u16 = shimmer::args().parse_or("port", 7);
    let listener = shimmer::net::stack().await?.tcp_listen(port).await?;
    shimmer::println!("echo: listening on {}", listener.local_addr()?);
    shimmer::ready(); // clients may connect now
    loop {
        match listener.accept().await {
            Ok((conn, peer)) => {
                shimmer::spawn(async move {
                    if let Err(e) = echo(&conn).await {
                        shimmer::eprintln!("echo: {peer}: {e}");
                    }
                })
                .detach();
            }
            // Out of descriptors or memory: serve the connections we have
            // and try again shortly, rather than exit.
            Err(e) => {
                shimmer::eprintln!("echo: accept: {e}");
                shimmer::sleep(Duration::from_millis(10)).await;
            }
        }
    }
}

async fn echo(conn: &TcpStream) -> Result<(), shimmer::Error> {
    conn.set_nodelay(true)?;
    while let Some(data) = conn.read().await? {
        conn.write_buf(data).await?;
    }
    conn.shutdown(Shutdown::Write).await?;
    Ok(())
}
