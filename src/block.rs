//! `shimmer::block::open()`: the block device the configuration names
//! (`--block PATH`: a file or block device on Unix; a blkfront on Xen).

use crate::backend::block as imp;
use crate::Result;

pub use shimmer_io::block::{Block, BlockInfo};

/// The block device type of this backend.
pub type Device = imp::Device;

/// Opens the configured block device: read-write when the backing store
/// allows it, else read-only (see [`BlockInfo::read_write`]).
pub async fn open() -> Result<Device> {
    imp::open(crate::config()).await
}
