//! [`FileBlock`]: a regular file or a block device as a [`Block`] device.
//!
//! # Why it looks like this
//!
//! * **Pool pages in, pool pages out.** A read takes pages from the device's
//!   [`PagePool`] and fills them with one vectored `preadv` (one syscall for
//!   a multi-page request, split only past `IOV_MAX` segments); a write hands
//!   the segments of the caller's owned [`BufChain`] to `pwritev` as they
//!   are, so no byte is copied on the way in or out.
//! * **`O_DIRECT` when the memory allows it.** Pool pages are 4 KiB-aligned,
//!   which is exactly what `O_DIRECT` asks for, so [`FileBlock::open`] opens
//!   a second descriptor with `O_DIRECT` and checks it with one aligned read
//!   (some filesystems accept the flag at `open` and refuse the I/O). Where
//!   the filesystem has no direct I/O the device falls back silently to the
//!   page cache; [`FileBlock::direct_io`] says which mode is in use. A
//!   request whose segments are not aligned in memory and length (a chain
//!   cut at odd places) goes through the buffered descriptor: the kernel
//!   keeps the two coherent (a direct read writes back dirty cached pages of
//!   its range first, a direct write invalidates them). A direct request
//!   that still fails with `EINVAL` (a disk with 4 KiB logical sectors under
//!   the filesystem) is retried buffered, and direct I/O is then turned off.
//! * **Checks before syscalls.** Read-only, alignment and range are checked
//!   with [`BlockInfo`] before the kernel is asked anything, so a bad request
//!   gets [`Error::ReadOnly`], [`Error::Unaligned`] or [`Error::OutOfRange`]
//!   and never touches the file.
//! * **Geometry.** A regular file has 512-byte sectors and
//!   `len / 512` of them: a trailing partial sector (a file whose size is not
//!   a multiple of 512) is *not* part of the device; it is never read or
//!   written, and the file keeps its length. A block device has its logical
//!   sector size (`BLKSSZGET`) and its size from `BLKGETSIZE64`. The
//!   geometry is fixed at open: if another process shrinks the file later,
//!   reading past its new end is [`Error::Io`] (not zeros, which would pass
//!   off lost data as never written).
//! * **Discard** punches a hole (`fallocate(PUNCH_HOLE | KEEP_SIZE)`), on a
//!   file and on a block device alike (Linux turns it into a discard that
//!   reads back as zeros, which is what the [`Block`] contract promises).
//!   `BLKDISCARD` is deliberately not used: it does not promise zeros. A
//!   filesystem or device without hole punching answers
//!   [`Error::Unsupported`].
//! * **Flush** is `fdatasync`: the data and the metadata needed to read it
//!   back (the file size), not the timestamps.
//!
//! # Blocking
//!
//! Regular files and block devices are always "ready" to epoll, so there is
//! nothing to wait for: every request is a plain blocking syscall made from
//! the executor's thread, and its future completes at its first poll. A slow
//! disk therefore stalls the other tasks for the duration of the syscall.
//! That is acceptable for a unikernel's development backend; the asynchronous
//! answer is `io_uring` (submit `READV`/`WRITEV`/`FSYNC` with the pool pages,
//! complete through an eventfd in the epoll set), which is future work.
//!
//! Because each request completes at once, cancellation is trivial: a
//! future dropped before its first poll did nothing; one polled once is done.

use std::cell::Cell;
use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::AsFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

use rustix::fs::FallocateFlags;
use rustix::io::Errno;
use shimmer_io::block::{Block, BlockInfo};
use shimmer_io::page::{Buf, BufChain, Page, PagePool, PAGE_SIZE};
use shimmer_io::{Error, Result};

use crate::error::from_errno;

/// The sector size of a regular file.
const FILE_SECTOR: u32 = 512;

/// Most segments one `preadv`/`pwritev` accepts (Linux's `IOV_MAX`).
const IOV_MAX: usize = 1024;

/// A regular file or a block device as a [`Block`] device (see the
/// [module doc](self) for the design and its limits).
///
/// ```no_run
/// use shimmer_io::block::Block;
/// use shimmer_unix::file_block::FileBlock;
///
/// shimmer_unix::block_on(async {
///     let disk = FileBlock::open("disk.img", true)?;
///     let first = disk.read(0, 1).await?;
///     println!("{} bytes, direct I/O: {}", first.len(), disk.direct_io());
///     Ok::<(), Box<dyn std::error::Error>>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub struct FileBlock {
    /// The buffered descriptor: every request that cannot go direct.
    file: File,
    /// The `O_DIRECT` descriptor, while direct I/O works.
    direct: Option<File>,
    /// Set when a direct request failed with `EINVAL`: stop trying.
    direct_broken: Cell<bool>,
    /// Memory alignment and length unit the direct descriptor needs.
    direct_align: usize,
    info: BlockInfo,
    block_device: bool,
    pool: PagePool,
}

impl FileBlock {
    /// Opens `path` (a regular file or a block device), read-write or
    /// read-only, reading into pages of this thread's
    /// [`PagePool::current`].
    ///
    /// # Errors
    /// Whatever `open` says (missing file, permission, a read-only
    /// filesystem for `read_write`); `InvalidInput` for something that is
    /// neither a regular file nor a block device (a directory, a pipe), or a
    /// device whose sector size is not a power of two of 512 bytes or more.
    pub fn open(path: impl AsRef<Path>, read_write: bool) -> io::Result<FileBlock> {
        FileBlock::open_with_pool(path, read_write, PagePool::current())
    }

    /// As [`open`](FileBlock::open), with the pool the device reads into.
    pub fn open_with_pool(
        path: impl AsRef<Path>,
        read_write: bool,
        pool: PagePool,
    ) -> io::Result<FileBlock> {
        let path = path.as_ref();
        let file = OpenOptions::new()
            .read(true)
            .write(read_write)
            .custom_flags(rustix::fs::OFlags::CLOEXEC.bits() as i32)
            .open(path)?;
        let meta = file.metadata()?;
        let ft = meta.file_type();
        let (sector_size, bytes, block_device) = if ft.is_file() {
            (FILE_SECTOR, meta.len(), false)
        } else if ft.is_block_device() {
            let ssz = rustix::fs::ioctl_blksszget(&file)?;
            (ssz, sys::blkgetsize64(&file)?, true)
        } else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "FileBlock: not a regular file or a block device",
            ));
        };
        if !sector_size.is_power_of_two() || sector_size < 512 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "FileBlock: sector size is not a power of two >= 512",
            ));
        }
        let info = BlockInfo::new(sector_size, bytes / u64::from(sector_size), read_write);
        let direct_align = sector_size.max(512) as usize;
        let direct = open_direct(path, read_write, &pool, &info, direct_align);
        Ok(FileBlock {
            file,
            direct,
            direct_broken: Cell::new(false),
            direct_align,
            info,
            block_device,
            pool,
        })
    }

    /// Whether requests with aligned pages go through an `O_DIRECT`
    /// descriptor (bypassing the page cache). False where the filesystem
    /// has no direct I/O (then everything is buffered).
    pub fn direct_io(&self) -> bool {
        self.direct.is_some() && !self.direct_broken.get()
    }

    /// The same device with direct I/O off: every request goes through the
    /// page cache (for a file that other processes read at the same time
    /// through their own cache-coherent `read`s, or to compare the modes).
    pub fn without_direct_io(mut self) -> FileBlock {
        self.direct = None;
        self
    }

    /// Whether the device is a block device (else a regular file).
    pub fn is_block_device(&self) -> bool {
        self.block_device
    }

    /// The pool reads take their pages from.
    pub fn pool(&self) -> &PagePool {
        &self.pool
    }

    /// The direct descriptor, if a request whose segments are (or are not)
    /// all `aligned` may use it.
    fn direct_for(&self, aligned: bool) -> Option<&File> {
        if !aligned || self.direct_broken.get() {
            return None;
        }
        self.direct.as_ref()
    }

    fn aligned(&self, ptr: *const u8, len: usize) -> bool {
        (ptr as usize) % self.direct_align == 0 && len % self.direct_align == 0
    }

    /// Byte offset and length of a checked request (no overflow: the range
    /// lies on the device, whose size in bytes fits a `u64`).
    fn span(&self, sector: u64, count: u64) -> Result<(u64, usize)> {
        let size = u64::from(self.info.sector_size);
        let offset = sector.checked_mul(size).ok_or(Error::OutOfRange)?;
        let len = count.checked_mul(size).ok_or(Error::OutOfRange)?;
        let len = usize::try_from(len).map_err(|_| Error::TooLarge)?;
        Ok((offset, len))
    }

    fn read_pages(&self, pages: &mut [Page], len: usize, offset: u64) -> Result<()> {
        let aligned = pages.iter().enumerate().all(|(i, p)| {
            let seg = (len - i * PAGE_SIZE).min(PAGE_SIZE);
            self.aligned(p.as_ptr(), seg)
        });
        let mut slices = page_slices(pages, len);
        if let Some(direct) = self.direct_for(aligned) {
            match read_all(direct, &mut slices, offset) {
                Err(Errno::INVAL) => self.direct_broken.set(true),
                r => return r.map_err(from_errno),
            }
            slices = page_slices(pages, len);
        }
        read_all(&self.file, &mut slices, offset).map_err(from_errno)
    }
}

impl std::fmt::Debug for FileBlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileBlock")
            .field("info", &self.info)
            .field("block_device", &self.block_device)
            .field("direct_io", &self.direct_io())
            .finish_non_exhaustive()
    }
}

/// Opens `path` again with `O_DIRECT` and proves it works with one aligned
/// read of the first sector; `None` if the filesystem refuses either.
fn open_direct(
    path: &Path,
    read_write: bool,
    pool: &PagePool,
    info: &BlockInfo,
    align: usize,
) -> Option<File> {
    let flags = rustix::fs::OFlags::DIRECT | rustix::fs::OFlags::CLOEXEC;
    let file = OpenOptions::new()
        .read(true)
        .write(read_write)
        .custom_flags(flags.bits() as i32)
        .open(path)
        .ok()?;
    if info.sectors > 0 && align <= PAGE_SIZE {
        let mut page = pool.try_alloc().ok()?;
        let len = (info.sector_size as usize).clamp(align, PAGE_SIZE);
        let mut slices = [IoSliceMut::new(&mut page[..len])];
        rustix::io::preadv(&file, &mut slices, 0).ok()?;
    }
    Some(file)
}

/// One `IoSliceMut` per page, the last one cut to what `len` leaves.
fn page_slices(pages: &mut [Page], len: usize) -> Vec<IoSliceMut<'_>> {
    pages
        .iter_mut()
        .enumerate()
        .map(|(i, p)| {
            let seg = (len - i * PAGE_SIZE).min(PAGE_SIZE);
            IoSliceMut::new(&mut p[..seg])
        })
        .collect()
}

/// `preadv` until every slice is full (short reads continue where they
/// stopped). End of file before that is `EIO`: the file shrank under the
/// device.
fn read_all(
    fd: impl AsFd,
    mut slices: &mut [IoSliceMut<'_>],
    mut offset: u64,
) -> rustix::io::Result<()> {
    while !slices.is_empty() {
        let n = slices.len().min(IOV_MAX);
        let got = match rustix::io::preadv(&fd, &mut slices[..n], offset) {
            Ok(0) => return Err(Errno::IO),
            Ok(got) => got,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        };
        offset += got as u64;
        IoSliceMut::advance_slices(&mut slices, got);
    }
    Ok(())
}

/// `pwritev` until every slice is written.
fn write_all(
    fd: impl AsFd,
    mut slices: &mut [IoSlice<'_>],
    mut offset: u64,
) -> rustix::io::Result<()> {
    while !slices.is_empty() {
        let n = slices.len().min(IOV_MAX);
        let put = match rustix::io::pwritev(&fd, &slices[..n], offset) {
            Ok(0) => return Err(Errno::IO),
            Ok(put) => put,
            Err(Errno::INTR) => continue,
            Err(e) => return Err(e),
        };
        offset += put as u64;
        IoSlice::advance_slices(&mut slices, put);
    }
    Ok(())
}

fn buf_slices(data: &BufChain) -> Vec<IoSlice<'_>> {
    data.iter().map(|b: &Buf| IoSlice::new(b)).collect()
}

impl Block for FileBlock {
    fn info(&self) -> BlockInfo {
        self.info
    }

    async fn read(&self, sector: u64, count: u64) -> Result<BufChain> {
        self.info.check_range(sector, count)?;
        let (offset, len) = self.span(sector, count)?;
        if len == 0 {
            return Ok(BufChain::new());
        }
        let n_pages = len.div_ceil(PAGE_SIZE);
        // Grown as pages come: an absurd request fails at the pool, not in
        // one huge up-front allocation.
        let mut pages = Vec::with_capacity(n_pages.min(1024));
        for _ in 0..n_pages {
            pages.push(self.pool.try_alloc()?);
        }
        self.read_pages(&mut pages, len, offset)?;
        let mut chain = BufChain::new();
        for (i, page) in pages.into_iter().enumerate() {
            let mut buf = page.freeze();
            buf.truncate((len - i * PAGE_SIZE).min(PAGE_SIZE));
            chain.push(buf);
        }
        Ok(chain)
    }

    async fn write(&self, sector: u64, data: BufChain) -> Result<()> {
        if !self.info.read_write {
            return Err(Error::ReadOnly);
        }
        let count = self.info.sectors_in(data.len())?;
        self.info.check_range(sector, count)?;
        let (offset, _) = self.span(sector, count)?;
        if data.is_empty() {
            return Ok(());
        }
        let aligned = data.iter().all(|b| self.aligned(b.as_ptr(), b.len()));
        let mut slices = buf_slices(&data);
        if let Some(direct) = self.direct_for(aligned) {
            match write_all(direct, &mut slices, offset) {
                Err(Errno::INVAL) => self.direct_broken.set(true),
                r => return r.map_err(from_errno),
            }
            slices = buf_slices(&data);
        }
        write_all(&self.file, &mut slices, offset).map_err(from_errno)
    }

    async fn flush(&self) -> Result<()> {
        loop {
            match rustix::fs::fdatasync(&self.file) {
                Err(Errno::INTR) => continue,
                r => return r.map_err(from_errno),
            }
        }
    }

    async fn discard(&self, sector: u64, count: u64) -> Result<()> {
        if !self.info.read_write {
            return Err(Error::ReadOnly);
        }
        self.info.check_range(sector, count)?;
        let (offset, len) = self.span(sector, count)?;
        if len == 0 {
            return Ok(());
        }
        let mode = FallocateFlags::PUNCH_HOLE | FallocateFlags::KEEP_SIZE;
        loop {
            match rustix::fs::fallocate(&self.file, mode, offset, len as u64) {
                Err(Errno::INTR) => continue,
                Err(Errno::OPNOTSUPP) | Err(Errno::NOSYS) => return Err(Error::Unsupported),
                r => return r.map_err(from_errno),
            }
        }
    }
}

mod sys {
    //! The one ioctl rustix has no wrapper for.

    use std::fs::File;
    use std::io;

    use rustix::ioctl::{ioctl, opcode, Getter};

    /// `BLKGETSIZE64`: `_IOR(0x12, 114, size_t)`, the device size in bytes.
    const BLKGETSIZE64: rustix::ioctl::Opcode = opcode::read::<u64>(0x12, 114);

    /// The size of block device `file` in bytes.
    pub(super) fn blkgetsize64(file: &File) -> io::Result<u64> {
        // SAFETY: BLKGETSIZE64 is a getter whose output is a `u64` (the
        // kernel writes a 64-bit size through the pointer `Getter` passes,
        // to storage `Getter` owns); it has no other effect.
        let size = unsafe { ioctl(file, Getter::<BLKGETSIZE64, u64>::new())? };
        Ok(size)
    }
}
