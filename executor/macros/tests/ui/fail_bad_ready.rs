#[shimmer::main(ready = "later")]
async fn main() {}
