#[shimmer::main(options(port = 7))]
async fn main() {}
