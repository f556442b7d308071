#[shimmer::main(options(port = "a", port = "b"))]
async fn main() {}
