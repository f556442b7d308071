#[shimmer::main]
async fn main() {
    shimmer::yield_now().await;
}
