#[shimmer::main]
async fn main(port: u16) {}
