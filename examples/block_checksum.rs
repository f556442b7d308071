//! mirage-skeleton's `device-usage/block`, as a checksum: read the whole
//! block device and print its SHA-256 as lowercase hex on one line (the
//! same as `sha256sum` of the image).
//!
//! ```sh
//! cargo run --release --example block_checksum -- --block disk.img
//! ```
//! The next chunk is requested before the current one is hashed (`join`
//! polls the read first), so a device that works asynchronously reads while
//! the CPU hashes.
#![cfg_attr(feature = "xen", no_std, no_main)]

use sha2::{Digest, Sha256};
use shimmer::block::Block;
use shimmer::io::page::BufChain;

/// Bytes per read request.
const CHUNK: u64 = 256 * 1024;

#[shimmer::main]
async fn main() -> Result<(), shimmer::Error> {
    let disk = shimmer::block::open().await?;
    let info = disk.info();
    let per_request = (CHUNK / u64::from(info.sector_size)).max(1);
    let mut hasher = Sha256::new();
    let mut hash = |chunk: BufChain| {
        for buf in chunk.iter() {
            hasher.update(buf.as_slice());
        }
    };
    let mut sector = 0;
    let mut current = BufChain::new();
    while sector < info.sectors {
        let count = per_request.min(info.sectors - sector);
        let (next, ()) = shimmer::join(disk.read(sector, count), async { hash(current) }).await;
        current = next?;
        sector += count;
    }
    hash(current);
    shimmer::println!("{:x}", hasher.finalize());
    Ok(())
}
