//! [`Block`]: a block device (Mirage's BLOCK): a disk image, blkfront, a
//! file.
//!
//! A device reads into pages it takes from its [`PagePool`](crate::page::PagePool)
//! and returns them as a [`BufChain`]; a write takes its data as an owned
//! `BufChain`, so the pages stay with the request until the device is done
//! with them, even if the caller's future is dropped (a Xen backend may be
//! reading them through a grant at that moment).
//!
//! # Contract (checked by `conformance::block`)
//!
//! * Sectors are `info().sector_size` bytes; a request is `sector` (first
//!   sector) and a number of sectors, and must lie within
//!   `0..info().sectors`: else [`Error::OutOfRange`], never a panic or a
//!   wrap-around.
//! * A write's data must be a whole number of sectors: else
//!   [`Error::Unaligned`]. Its segments may have any lengths (a device
//!   whose hardware needs sector-aligned segments copies the others into
//!   bounce pages). Reading or writing zero sectors is `Ok`.
//! * A read returns exactly `count * sector_size` bytes: what the last
//!   completed write there left, or zeros for sectors never written or
//!   discarded (a device that cannot promise zeros after `discard` says so
//!   in its docs).
//! * A read-only device (`!info().read_write`) refuses `write` and
//!   `discard` with [`Error::ReadOnly`].
//! * A device that went away answers every request with
//!   [`Error::DeviceGone`].
//!
//! # Cancellation
//!
//! Dropping a request's future never leaves the device with memory it no
//! longer owns: the device holds the request's pages until it answers. A
//! dropped `read` just loses the data; a dropped `write` or `discard` may
//! have happened, not happened, or (for a multi-sector write) happened in
//! part; a dropped `flush` may or may not have completed. The device stays
//! usable.
//!
//! [`Error::OutOfRange`]: crate::Error::OutOfRange
//! [`Error::Unaligned`]: crate::Error::Unaligned
//! [`Error::ReadOnly`]: crate::Error::ReadOnly
//! [`Error::DeviceGone`]: crate::Error::DeviceGone
//!
//! ```
//! use shimmer_io::block::Block;
//! use shimmer_io::mem::RamDisk;
//! use shimmer_io::page::PagePool;
//!
//! shimmer_executor::block_on(async {
//!     let pool = PagePool::new();
//!     let disk = RamDisk::new(pool.clone(), 512, 1024)?; // 512 KiB
//!     assert_eq!(disk.info().sectors, 1024);
//!     let data = pool.chain_from(&[7u8; 1024])?;        // two sectors
//!     disk.write(10, data).await?;
//!     let back = disk.read(10, 2).await?;
//!     assert!(back.eq_slice(&[7u8; 1024]));
//!     assert!(disk.read(1023, 2).await.is_err());        // past the end
//!     Ok::<(), shimmer_io::Error>(())
//! })?;
//! # Ok::<(), shimmer_io::Error>(())
//! ```

use crate::page::BufChain;
use crate::{Error, Result};

/// A block device's geometry.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct BlockInfo {
    /// Bytes per sector (a power of two, 512 or more).
    pub sector_size: u32,
    /// Number of sectors.
    pub sectors: u64,
    /// Whether the device accepts writes.
    pub read_write: bool,
}

impl BlockInfo {
    /// Geometry of a device of `sectors` sectors of `sector_size` bytes.
    pub const fn new(sector_size: u32, sectors: u64, read_write: bool) -> BlockInfo {
        BlockInfo {
            sector_size,
            sectors,
            read_write,
        }
    }

    /// The device's size in bytes (saturating).
    pub const fn size_bytes(&self) -> u64 {
        self.sectors.saturating_mul(self.sector_size as u64)
    }

    /// `Ok` if `count` sectors from `sector` lie on the device (no overflow),
    /// else [`Error::OutOfRange`]. What every
    /// device checks first.
    pub fn check_range(&self, sector: u64, count: u64) -> Result<()> {
        match sector.checked_add(count) {
            Some(end) if end <= self.sectors => Ok(()),
            _ => Err(Error::OutOfRange),
        }
    }

    /// How many whole sectors `bytes` bytes make, or
    /// [`Error::Unaligned`].
    pub fn sectors_in(&self, bytes: usize) -> Result<u64> {
        let size = self.sector_size as usize;
        if size == 0 || bytes % size != 0 {
            return Err(Error::Unaligned);
        }
        Ok((bytes / size) as u64)
    }
}

/// A block device (see the [module doc](self) for the contract).
#[allow(async_fn_in_trait)]
pub trait Block {
    /// The device's geometry. Cheap; never blocks.
    fn info(&self) -> BlockInfo;

    /// Reads `count` sectors from `sector`, into pages the device takes from
    /// its pool.
    ///
    /// Cancellation: the data is lost; the device releases the pages when
    /// its answer comes.
    async fn read(&self, sector: u64, count: u64) -> Result<BufChain>;

    /// Writes `data` (a whole number of sectors) from `sector` on. The
    /// device owns the pages until it has answered.
    ///
    /// Cancellation: the write may have happened, in whole or in part, or
    /// not at all; the device keeps `data` until its answer comes.
    async fn write(&self, sector: u64, data: BufChain) -> Result<()>;

    /// Returns once every write completed before the call is durable.
    ///
    /// Cancellation: durability is unknown; flush again.
    async fn flush(&self) -> Result<()>;

    /// Tells the device `count` sectors from `sector` are unused; reading
    /// them afterwards gives zeros (see the module doc).
    ///
    /// Cancellation: as [`write`](Block::write).
    async fn discard(&self, sector: u64, count: u64) -> Result<()>;
}

/// `&B` and `Rc<B>` are Blocks too: every method forwards.
macro_rules! forward_block {
    ($($ptr:ty),*) => {$(
        impl<B: Block + ?Sized> Block for $ptr {
    fn info(&self) -> BlockInfo {
        (**self).info()
    }
    async fn read(&self, sector: u64, count: u64) -> Result<BufChain> {
        (**self).read(sector, count).await
    }
    async fn write(&self, sector: u64, data: BufChain) -> Result<()> {
        (**self).write(sector, data).await
    }
    async fn flush(&self) -> Result<()> {
        (**self).flush().await
    }
    async fn discard(&self, sector: u64, count: u64) -> Result<()> {
        (**self).discard(sector, count).await
    }
}
    )*};
}

forward_block!(&B, alloc::rc::Rc<B>);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_checks_never_overflow() {
        let info = BlockInfo::new(512, 100, true);
        assert!(info.check_range(0, 100).is_ok());
        assert!(info.check_range(100, 0).is_ok());
        assert_eq!(info.check_range(99, 2), Err(Error::OutOfRange));
        assert_eq!(info.check_range(u64::MAX, 2), Err(Error::OutOfRange));
        assert_eq!(info.sectors_in(1024), Ok(2));
        assert_eq!(info.sectors_in(1000), Err(Error::Unaligned));
        assert_eq!(info.size_bytes(), 51200);
        assert_eq!(BlockInfo::new(4096, u64::MAX, false).size_bytes(), u64::MAX);
    }
}
