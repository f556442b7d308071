//! tokio peer of the TCP echo benchmark (benches/echo.sh): a current_thread
//! runtime (`enable_all`: I/O and time drivers), one task per connection, each reading up to
//! 64 KiB and writing all of it back.
//!
//! ```text
//! echo_tokio ADDR        # e.g. 127.0.0.1:8091
//! ```
//!
//! The reads and writes go through `AsyncRead::poll_read` /
//! `AsyncWrite::poll_write`, the calls `AsyncReadExt::read` and
//! `AsyncWriteExt::write_all` make (this package builds tokio without its
//! `io-util` feature).

use std::future::poll_fn;
use std::pin::Pin;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

async fn read(s: &mut TcpStream, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut rb = ReadBuf::new(buf);
    poll_fn(|cx| Pin::new(&mut *s).poll_read(cx, &mut rb)).await?;
    Ok(rb.filled().len())
}

async fn write_all(s: &mut TcpStream, mut data: &[u8]) -> std::io::Result<()> {
    while !data.is_empty() {
        let n = poll_fn(|cx| Pin::new(&mut *s).poll_write(cx, data)).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        data = &data[n..];
    }
    Ok(())
}

async fn conn(mut s: TcpStream) {
    let mut buf = vec![0_u8; 64 * 1024];
    loop {
        let n = match read(&mut s, &mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if write_all(&mut s, &buf[..n]).await.is_err() {
            return;
        }
    }
}

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8091".into());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    rt.block_on(async move {
        let l = TcpListener::bind(&addr)
            .await
            .unwrap_or_else(|e| panic!("bind {addr}: {e}"));
        eprintln!("echo_tokio listening on {addr}");
        loop {
            match l.accept().await {
                Ok((s, _)) => {
                    s.set_nodelay(true).expect("TCP_NODELAY");
                    tokio::spawn(conn(s));
                }
                Err(e) => eprintln!("echo_tokio: accept: {e}"),
            }
        }
    })
}
