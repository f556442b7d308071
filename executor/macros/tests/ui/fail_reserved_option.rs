#[shimmer::main(options(tap = "my own tap"))]
async fn main() {}
