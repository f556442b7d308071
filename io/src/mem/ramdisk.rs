//! [`RamDisk`]: a sparse in-memory [`Block`] device with fault injection.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::fmt;
use core::time::Duration;

use shimmer_executor::{sleep_until, Instant};

use crate::block::{Block, BlockInfo};
use crate::page::{BufChain, PagePool, PAGE_SIZE};
use crate::{Error, Result};

/// Storage is kept in blocks of this many bytes, made on first write.
const STORE_BLOCK: usize = PAGE_SIZE;

/// A [`Block`] device in memory: sparse (only written blocks take memory;
/// the rest reads as zeros), with faults to inject for tests.
///
/// Every call to `read`, `write`, `flush` or `discard` is a *request* and
/// gets the next number (0, 1, 2, …) whether it succeeds or not
/// ([`requests`](RamDisk::requests) counts them). Faults:
///
/// * [`fail_request(n)`](RamDisk::fail_request): request `n` fails with
///   [`Error::Io`] (a write then changes nothing);
/// * [`tear_write(n, keep)`](RamDisk::tear_write): if request `n` is a write,
///   only its first `keep` sectors reach the disk, and it fails with
///   [`Error::Io`];
/// * [`set_delay(d)`](RamDisk::set_delay): every request answers `d` later,
///   on the executor's timers. A write's data reaches the disk when the
///   request is made, but the request keeps its pages until its answer is
///   due — even if its future was dropped (they are released by the next
///   request or `flush` after that), as a device doing DMA from them would;
/// * [`set_read_only`](RamDisk::set_read_only), and
///   [`detach`](RamDisk::detach) (the device is gone: every request after it
///   fails with [`Error::DeviceGone`]).
///
/// ```
/// use shimmer_io::block::Block;
/// use shimmer_io::mem::RamDisk;
/// use shimmer_io::page::PagePool;
/// use shimmer_io::Error;
///
/// shimmer_executor::block_on(async {
///     let pool = PagePool::new();
///     let disk = RamDisk::new(pool.clone(), 512, 64)?;
///     disk.fail_request(1);
///     disk.write(0, pool.chain_from(&[1; 512])?).await?;      // request 0
///     assert_eq!(disk.read(0, 1).await.unwrap_err(), Error::Io); // request 1
///     disk.tear_write(2, 1);
///     let two = pool.chain_from(&[2; 1024])?;
///     assert_eq!(disk.write(0, two).await.unwrap_err(), Error::Io);
///     let back = disk.read(0, 2).await?;                        // torn:
///     assert_eq!(back.to_vec()[..512], [2; 512]);               // new first sector,
///     assert_eq!(back.to_vec()[512..], [0; 512]);               // old second one
///     Ok::<(), Error>(())
/// })?;
/// # Ok::<(), Error>(())
/// ```
pub struct RamDisk {
    pool: PagePool,
    info: Cell<BlockInfo>,
    blocks: RefCell<BTreeMap<u64, Box<[u8; STORE_BLOCK]>>>,
    faults: RefCell<Faults>,
    next_request: Cell<u64>,
    /// Writes whose answer is not yet due, with their pages.
    in_flight: RefCell<Vec<(Instant, BufChain)>>,
    gone: Cell<bool>,
}

#[derive(Default)]
struct Faults {
    fail: BTreeSet<u64>,
    tear: BTreeMap<u64, u64>,
    delay: Option<Duration>,
}

impl RamDisk {
    /// A zero-filled, writable disk of `sectors` sectors of `sector_size`
    /// bytes, reading into pages from `pool`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] unless `sector_size` is a power of two from
    /// 512 to 4096 and the size in bytes fits in a `u64`.
    pub fn new(pool: PagePool, sector_size: u32, sectors: u64) -> Result<RamDisk> {
        if !sector_size.is_power_of_two() || !(512..=PAGE_SIZE as u32).contains(&sector_size) {
            return Err(Error::InvalidInput);
        }
        if sectors.checked_mul(u64::from(sector_size)).is_none() {
            return Err(Error::InvalidInput);
        }
        Ok(RamDisk {
            pool,
            info: Cell::new(BlockInfo::new(sector_size, sectors, true)),
            blocks: RefCell::new(BTreeMap::new()),
            faults: RefCell::new(Faults::default()),
            next_request: Cell::new(0),
            in_flight: RefCell::new(Vec::new()),
            gone: Cell::new(false),
        })
    }

    /// Makes request number `n` fail with [`Error::Io`].
    pub fn fail_request(&self, n: u64) {
        self.faults.borrow_mut().fail.insert(n);
    }

    /// If request `n` is a write, only its first `keep_sectors` sectors are
    /// written, and it fails with [`Error::Io`].
    pub fn tear_write(&self, n: u64, keep_sectors: u64) {
        self.faults.borrow_mut().tear.insert(n, keep_sectors);
    }

    /// Every request answers after `delay` (`None`: at once).
    pub fn set_delay(&self, delay: Option<Duration>) {
        self.faults.borrow_mut().delay = delay;
    }

    /// Makes the disk read-only (or writable again).
    pub fn set_read_only(&self, read_only: bool) {
        let mut info = self.info.get();
        info.read_write = !read_only;
        self.info.set(info);
    }

    /// The device goes away: every later request fails with
    /// [`Error::DeviceGone`], and requests waiting for their answer get it
    /// too.
    pub fn detach(&self) {
        self.gone.set(true);
    }

    /// Requests made so far (the next request's number).
    pub fn requests(&self) -> u64 {
        self.next_request.get()
    }

    /// Writes whose answer is not due yet (holding their pages).
    pub fn in_flight(&self) -> usize {
        self.in_flight.borrow().len()
    }

    /// Bytes of storage in use (written blocks).
    pub fn stored_bytes(&self) -> usize {
        self.blocks.borrow().len() * STORE_BLOCK
    }

    /// Starts a request: its number, and whether it is to fail.
    fn begin(&self) -> Result<(u64, bool)> {
        let n = self.next_request.get();
        self.next_request.set(n + 1);
        self.release_due(None);
        if self.gone.get() {
            return Err(Error::DeviceGone);
        }
        let fail = self.faults.borrow_mut().fail.remove(&n);
        Ok((n, fail))
    }

    /// When the answer to a request made now is due, if there is a delay.
    fn due(&self) -> Option<Instant> {
        let delay = self.faults.borrow().delay?;
        Some(Instant::now() + delay)
    }

    /// Waits until `due`, then fails if the device went away meanwhile.
    async fn answer(&self, due: Option<Instant>) -> Result<()> {
        if let Some(due) = due {
            sleep_until(due).await;
        }
        if self.gone.get() {
            return Err(Error::DeviceGone);
        }
        Ok(())
    }

    /// Releases in-flight writes whose answer is due by `now` (the current
    /// executor time if `None` and there are any).
    fn release_due(&self, now: Option<Instant>) {
        let mut in_flight = self.in_flight.borrow_mut();
        if in_flight.is_empty() {
            return;
        }
        let now = now.unwrap_or_else(Instant::now);
        in_flight.retain(|(due, _)| *due > now);
    }

    fn copy_out(&self, mut offset: u64, dst: &mut [u8]) {
        let blocks = self.blocks.borrow();
        let mut done = 0;
        while done < dst.len() {
            let block = offset / STORE_BLOCK as u64;
            let within = (offset % STORE_BLOCK as u64) as usize;
            let n = (STORE_BLOCK - within).min(dst.len() - done);
            match blocks.get(&block) {
                Some(b) => dst[done..done + n].copy_from_slice(&b[within..within + n]),
                None => dst[done..done + n].fill(0),
            }
            done += n;
            offset += n as u64;
        }
    }

    fn copy_in(&self, mut offset: u64, src: &[u8]) {
        let mut blocks = self.blocks.borrow_mut();
        let mut done = 0;
        while done < src.len() {
            let block = offset / STORE_BLOCK as u64;
            let within = (offset % STORE_BLOCK as u64) as usize;
            let n = (STORE_BLOCK - within).min(src.len() - done);
            let b = blocks
                .entry(block)
                .or_insert_with(|| Box::new([0; STORE_BLOCK]));
            b[within..within + n].copy_from_slice(&src[done..done + n]);
            done += n;
            offset += n as u64;
        }
    }

    fn zero(&self, mut offset: u64, mut len: u64) {
        let mut blocks = self.blocks.borrow_mut();
        while len > 0 {
            let block = offset / STORE_BLOCK as u64;
            let within = (offset % STORE_BLOCK as u64) as usize;
            let n = ((STORE_BLOCK - within) as u64).min(len);
            if within == 0 && n == STORE_BLOCK as u64 {
                blocks.remove(&block);
            } else if let Some(b) = blocks.get_mut(&block) {
                b[within..within + n as usize].fill(0);
            }
            offset += n;
            len -= n;
        }
    }
}

impl Block for RamDisk {
    fn info(&self) -> BlockInfo {
        self.info.get()
    }

    async fn read(&self, sector: u64, count: u64) -> Result<BufChain> {
        let (_, fail) = self.begin()?;
        let info = self.info.get();
        info.check_range(sector, count)?;
        let due = self.due();
        self.answer(due).await?;
        if fail {
            return Err(Error::Io);
        }
        // Pages are filled when the answer is due (what the device would
        // have DMA'd by then); the request holds none before.
        let size = info.sector_size as u64;
        let total = usize::try_from(count * size).map_err(|_| Error::OutOfRange)?;
        let mut chain = BufChain::new();
        let mut done = 0;
        while done < total {
            let n = (total - done).min(PAGE_SIZE);
            let mut page = self.pool.try_alloc()?;
            self.copy_out(sector * size + done as u64, &mut page[..n]);
            let mut buf = page.freeze();
            buf.truncate(n);
            chain.push(buf);
            done += n;
        }
        Ok(chain)
    }

    async fn write(&self, sector: u64, data: BufChain) -> Result<()> {
        let (n, fail) = self.begin()?;
        let info = self.info.get();
        let count = info.sectors_in(data.len())?;
        info.check_range(sector, count)?;
        if !info.read_write {
            return Err(Error::ReadOnly);
        }
        let tear = self.faults.borrow_mut().tear.remove(&n);
        let size = info.sector_size as u64;
        if !fail {
            let keep = tear.unwrap_or(count).min(count);
            let mut offset = sector * size;
            let mut left = (keep * size) as usize;
            for buf in data.iter() {
                if left == 0 {
                    break;
                }
                let piece = &buf[..buf.len().min(left)];
                self.copy_in(offset, piece);
                offset += piece.len() as u64;
                left -= piece.len();
            }
        }
        let due = self.due();
        if let Some(due) = due {
            // The device holds the pages until its answer, whatever happens
            // to this future.
            self.in_flight.borrow_mut().push((due, data));
        } else {
            drop(data);
        }
        self.answer(due).await?;
        if let Some(due) = due {
            self.release_due(Some(due));
        }
        if fail || tear.is_some() {
            return Err(Error::Io);
        }
        Ok(())
    }

    async fn flush(&self) -> Result<()> {
        let (_, fail) = self.begin()?;
        // Every write made before is done when its answer is due.
        let last = self.in_flight.borrow().iter().map(|(due, _)| *due).max();
        let due = match (self.due(), last) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
        self.answer(due).await?;
        if let Some(due) = due {
            self.release_due(Some(due));
        }
        if fail {
            return Err(Error::Io);
        }
        Ok(())
    }

    async fn discard(&self, sector: u64, count: u64) -> Result<()> {
        let (_, fail) = self.begin()?;
        let info = self.info.get();
        info.check_range(sector, count)?;
        if !info.read_write {
            return Err(Error::ReadOnly);
        }
        if !fail {
            let size = info.sector_size as u64;
            self.zero(sector * size, count * size);
        }
        let due = self.due();
        self.answer(due).await?;
        if fail {
            return Err(Error::Io);
        }
        Ok(())
    }
}

impl fmt::Debug for RamDisk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RamDisk")
            .field("info", &self.info.get())
            .field("requests", &self.requests())
            .field("in_flight", &self.in_flight())
            .field("gone", &self.gone.get())
            .finish_non_exhaustive()
    }
}
