#[shimmer::main]
async fn start() {}

fn main() {}
