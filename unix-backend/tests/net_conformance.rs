//! The io crate's `Flow` conformance suite, run on kernel TCP connections
//! over 127.0.0.1: every contract of the trait (data both ways, every write
//! form, end of stream, shutdown, close, errors from a vanished peer, and
//! cancellation at each await point) holds for `TcpStream`.

use std::net::SocketAddr;

use shimmer_io::conformance;
use shimmer_io::page::PagePool;
use shimmer_unix::net::{TcpListener, TcpStream};

/// A connected pair (client, server) whose reads use `pool`.
async fn pair(pool: PagePool) -> (TcpStream, TcpStream) {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let listener = TcpListener::bind(any).unwrap().with_pool(pool.clone());
    let client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap()
        .with_pool(pool);
    let (server, peer) = listener.accept().await.unwrap();
    assert_eq!(peer, client.local_addr().unwrap());
    (client, server)
}

#[test]
fn tcp_passes_the_flow_suite() {
    shimmer_unix::block_on(conformance::flow(pair)).unwrap();
}

#[test]
fn tcp_passes_the_flow_suite_server_first() {
    // The same with the roles swapped: the accepted end is `a`.
    shimmer_unix::block_on(conformance::flow(|pool| async move {
        let (client, server) = pair(pool).await;
        (server, client)
    }))
    .unwrap();
}
