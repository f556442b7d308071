#[shimmer::main]
fn main() {}
