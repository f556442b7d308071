#[shimmer::main]
async fn main<T>() {}
