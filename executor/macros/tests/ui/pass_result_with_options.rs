/// Doc comments and attributes stay on the function.
#[shimmer::main(options(port = "TCP port", block_size = "bytes per request",))]
#[allow(unused_variables)]
async fn main() -> Result<(), shimmer::Error> {
    let port: u16 = shimmer::args().parse_or("port", 7);
    let size: Option<u32> = shimmer::args().parse("block-size");
    Ok(())
}
