#[shimmer::main(options(port = "TCP port"), options(size = "bytes"))]
async fn main() {}
