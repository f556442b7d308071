#[shimmer::main(options(port))]
async fn main() {}
