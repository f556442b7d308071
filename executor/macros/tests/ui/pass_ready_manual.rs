/// A server says when it is ready; `ready` and `options` in either order.
#[shimmer::main(ready = "manual", options(port = "TCP port"))]
async fn main() {
    let _port: u16 = shimmer::args().parse_or("port", 7);
    shimmer::ready();
    shimmer::ready(); // later calls print nothing
    shimmer::log::info!("serving");
}
