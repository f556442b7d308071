//! [`PagePool`]: chunks of pages, an intrusive free list, and the remote free
//! list for pages dropped on other threads.

use alloc::alloc::{alloc_zeroed, dealloc, Layout};
use alloc::boxed::Box;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::fmt;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, Ordering};

use super::desc::Desc;
use super::{asan, Buf, BufChain, Page, SendPage, PAGE_SIZE};
use crate::{Error, Result};

/// How a [`PagePool`] grows, how far, and how it finds physical addresses.
///
/// ```
/// use shimmer_io::page::{PagePool, PoolConfig};
/// let pool = PagePool::with_config(
///     PoolConfig::new().chunk_pages(16).max_pages(64).initial_pages(16),
/// )?;
/// assert_eq!(pool.stats().capacity, 16);
/// # Ok::<(), shimmer_io::Error>(())
/// ```
#[derive(Clone, Copy)]
pub struct PoolConfig {
    chunk_pages: usize,
    max_pages: Option<usize>,
    initial_pages: usize,
    phys_addr: fn(*const u8) -> u64,
}

/// The identity: a page's physical address is its virtual address.
fn identity(page: *const u8) -> u64 {
    page as usize as u64
}

impl PoolConfig {
    /// 64-page (256 KiB) chunks, no cap, nothing allocated up front, the
    /// identity as physical address.
    pub const fn new() -> PoolConfig {
        PoolConfig {
            chunk_pages: 64,
            max_pages: None,
            initial_pages: 0,
            phys_addr: identity,
        }
    }

    /// Pages taken from the global allocator each time the pool grows
    /// (at least 1; [`PagePool::with_config`] rejects 0).
    pub const fn chunk_pages(mut self, pages: usize) -> PoolConfig {
        self.chunk_pages = pages;
        self
    }

    /// The most pages the pool will ever hold; beyond it
    /// [`PagePool::try_alloc`] returns [`Error::PoolExhausted`].
    pub const fn max_pages(mut self, pages: usize) -> PoolConfig {
        self.max_pages = Some(pages);
        self
    }

    /// Pages allocated when the pool is made, so that the first allocations
    /// never reach the global allocator.
    pub const fn initial_pages(mut self, pages: usize) -> PoolConfig {
        self.initial_pages = pages;
        self
    }

    /// The backend's translation from a page's (virtual) address to the
    /// physical address a device needs; called once per page when its chunk
    /// joins the pool. The default is the identity.
    pub const fn phys_addr(mut self, f: fn(*const u8) -> u64) -> PoolConfig {
        self.phys_addr = f;
        self
    }
}

impl Default for PoolConfig {
    fn default() -> PoolConfig {
        PoolConfig::new()
    }
}

impl fmt::Debug for PoolConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolConfig")
            .field("chunk_pages", &self.chunk_pages)
            .field("max_pages", &self.max_pages)
            .field("initial_pages", &self.initial_pages)
            .finish_non_exhaustive()
    }
}

/// A snapshot of a pool's counters ([`PagePool::stats`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// Pages handed out and not yet back (as `Page`, `Buf`s or `SendPage`).
    pub in_use: usize,
    /// The most pages ever in use at once.
    pub high_water: usize,
    /// Pages the pool holds (in use + free).
    pub capacity: usize,
    /// Pages on the free list.
    pub free: usize,
    /// The configured cap, if any.
    pub max_pages: Option<usize>,
    /// Chunks taken from the global allocator.
    pub chunks: usize,
    /// Pages handed out since the pool was made.
    pub allocs: u64,
}

/// A chunk of pages and their descriptors, both from the global allocator.
struct Chunk {
    data: NonNull<u8>,
    pages: usize,
    descs: NonNull<[Desc]>,
}

/// The pool's state, at a fixed heap address (descriptors point here).
/// Everything but `remote` is touched on the pool's thread only.
pub(super) struct PoolInner {
    /// Head of the free list (through `Desc::next`), or null.
    free: Cell<*mut Desc>,
    free_len: Cell<usize>,
    in_use: Cell<usize>,
    high_water: Cell<usize>,
    capacity: Cell<usize>,
    /// `PagePool` handles alive. The inner is freed when both this and
    /// `in_use` are zero.
    handles: Cell<usize>,
    allocs: Cell<u64>,
    config: PoolConfig,
    chunks: RefCell<Vec<Chunk>>,
    /// Head of the remote free list (through `Desc::remote_next`): pages of
    /// `SendPage`s dropped on any thread, taken back by the owner.
    remote: AtomicPtr<Desc>,
}

/// A pool of 4 KiB, 4 KiB-aligned pages (see the [module doc](super)).
///
/// A `PagePool` is a handle: cloning it is a counter increment, and every
/// clone is the same pool. It is `!Send`: the pool lives on one thread.
pub struct PagePool {
    /// From `Box::into_raw`; valid while this handle lives.
    inner: NonNull<PoolInner>,
}

impl PagePool {
    /// A new pool with the default [`PoolConfig`]: uncapped, grows by 64
    /// pages, allocates nothing until the first page is asked for.
    pub fn new() -> PagePool {
        PagePool::from_inner(PoolConfig::new())
    }

    /// A new pool with `config`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a zero chunk size, or a chunk or cap too
    /// large to address, or more initial pages than the cap;
    /// [`Error::OutOfMemory`] if the initial pages cannot be allocated.
    pub fn with_config(config: PoolConfig) -> Result<PagePool> {
        let max_bytes = isize::MAX as usize / PAGE_SIZE;
        if config.chunk_pages == 0
            || config.chunk_pages > max_bytes
            || config.max_pages.is_some_and(|m| config.initial_pages > m)
        {
            return Err(Error::InvalidInput);
        }
        let pool = PagePool::from_inner(config);
        if config.initial_pages > 0 {
            pool.reserve(config.initial_pages)?;
        }
        Ok(pool)
    }

    fn from_inner(config: PoolConfig) -> PagePool {
        let inner = Box::new(PoolInner {
            free: Cell::new(ptr::null_mut()),
            free_len: Cell::new(0),
            in_use: Cell::new(0),
            high_water: Cell::new(0),
            capacity: Cell::new(0),
            handles: Cell::new(1),
            allocs: Cell::new(0),
            config,
            chunks: RefCell::new(Vec::new()),
            remote: AtomicPtr::new(ptr::null_mut()),
        });
        PagePool {
            inner: NonNull::from(Box::leak(inner)),
        }
    }

    /// A new handle to the pool `inner`.
    ///
    /// # Safety
    /// `inner` is alive (a page or handle of it is held) and this is its
    /// thread; it is the pointer from `Box::into_raw`/`Box::leak`.
    pub(super) unsafe fn from_raw(inner: NonNull<PoolInner>) -> PagePool {
        // SAFETY: the caller's contract.
        let p = unsafe { inner.as_ref() };
        p.handles.set(p.handles.get() + 1);
        PagePool { inner }
    }

    #[inline]
    fn inner(&self) -> &PoolInner {
        // SAFETY: a handle keeps the inner alive; we are on its thread
        // (`PagePool` is `!Send` and `!Sync`).
        unsafe { self.inner.as_ref() }
    }

    /// A page, or an error if the pool is at its cap or out of memory.
    /// O(1), and no call to the global allocator unless the pool must grow.
    /// Its contents are unspecified (see the module doc).
    ///
    /// # Errors
    /// [`Error::PoolExhausted`] at the cap, [`Error::OutOfMemory`] if a new
    /// chunk cannot be had.
    #[inline]
    pub fn try_alloc(&self) -> Result<Page> {
        let p = self.inner();
        let mut head = p.free.get();
        if head.is_null() {
            head = self.refill()?.as_ptr();
        }
        // SAFETY: the free list holds descriptors of this pool's chunks,
        // which live as long as the pool.
        let desc = unsafe { &*head };
        // SAFETY: `head` is not null (checked, or refilled).
        let desc_ptr = unsafe { NonNull::new_unchecked(head) };
        p.free.set(desc.next.get());
        p.free_len.set(p.free_len.get() - 1);
        let in_use = p.in_use.get() + 1;
        p.in_use.set(in_use);
        if in_use > p.high_water.get() {
            p.high_water.set(in_use);
        }
        p.allocs.set(p.allocs.get() + 1);
        desc.refs.set(1);
        asan::unpoison(desc.data.as_ptr());
        // SAFETY: the page was free and is now referenced once, by this Page.
        Ok(unsafe { Page::from_desc(desc_ptr) })
    }

    /// [`try_alloc`](Self::try_alloc), with the page's bytes set to zero.
    ///
    /// # Errors
    /// As `try_alloc`.
    pub fn try_alloc_zeroed(&self) -> Result<Page> {
        let mut page = self.try_alloc()?;
        page.fill(0);
        Ok(page)
    }

    /// [`try_alloc`](Self::try_alloc) for callers with no way to recover.
    ///
    /// # Panics
    /// If the pool is at its cap or out of memory.
    #[track_caller]
    pub fn alloc(&self) -> Page {
        match self.try_alloc() {
            Ok(page) => page,
            Err(e) => panic!("shimmer-io: PagePool::alloc: {e}"),
        }
    }

    /// Makes sure at least `pages` pages are free, growing the pool (by
    /// whole chunks, at least `pages`) if needed.
    ///
    /// # Errors
    /// [`Error::PoolExhausted`] if that would pass the cap (the pool is not
    /// grown then), [`Error::OutOfMemory`].
    pub fn reserve(&self, pages: usize) -> Result<()> {
        let p = self.inner();
        self.drain_remote();
        let free = p.free_len.get();
        if free >= pages {
            return Ok(());
        }
        let missing = pages - free;
        let chunk = p.config.chunk_pages;
        let mut grow = missing.div_ceil(chunk).saturating_mul(chunk);
        if let Some(max) = p.config.max_pages {
            let room = max - p.capacity.get();
            if missing > room {
                return Err(Error::PoolExhausted);
            }
            grow = grow.min(room);
        }
        self.grow(grow)
    }

    /// The free list is empty: take back remotely dropped pages, else grow
    /// by a chunk (less at the cap). Returns the new free-list head.
    #[cold]
    #[inline(never)]
    fn refill(&self) -> Result<NonNull<Desc>> {
        let p = self.inner();
        self.drain_remote();
        if p.free.get().is_null() {
            let mut grow = p.config.chunk_pages;
            if let Some(max) = p.config.max_pages {
                grow = grow.min(max - p.capacity.get());
            }
            if grow == 0 {
                return Err(Error::PoolExhausted);
            }
            self.grow(grow)?;
        }
        NonNull::new(p.free.get()).ok_or(Error::PoolExhausted)
    }

    /// Adds a chunk of `pages` pages to the free list.
    fn grow(&self, pages: usize) -> Result<()> {
        let p = self.inner();
        let bytes = pages.checked_mul(PAGE_SIZE).ok_or(Error::OutOfMemory)?;
        let layout = Layout::from_size_align(bytes, PAGE_SIZE).map_err(|_| Error::OutOfMemory)?;
        if pages == 0 {
            return Ok(());
        }
        let mut chunks = p.chunks.borrow_mut();
        chunks.try_reserve(1).map_err(|_| Error::OutOfMemory)?;
        let mut descs: Vec<Desc> = Vec::new();
        descs
            .try_reserve_exact(pages)
            .map_err(|_| Error::OutOfMemory)?;
        // SAFETY: `layout` has a non-zero size (pages > 0).
        let data = NonNull::new(unsafe { alloc_zeroed(layout) }).ok_or(Error::OutOfMemory)?;
        for i in 0..pages {
            // SAFETY: `i * PAGE_SIZE < bytes`: inside the chunk just allocated.
            let page = unsafe { data.add(i * PAGE_SIZE) };
            descs.push(Desc::new(
                page,
                (p.config.phys_addr)(page.as_ptr()),
                self.inner,
            ));
        }
        let descs = NonNull::from(Box::leak(descs.into_boxed_slice()));
        let first = descs.cast::<Desc>();
        // Link the new pages in address order in front of the free list.
        for i in (0..pages).rev() {
            // SAFETY: `i < pages`, the length of the descriptor array.
            let desc = unsafe { first.add(i) };
            // SAFETY: the array was just leaked and is alive; we are on
            // the pool's thread.
            let d = unsafe { desc.as_ref() };
            d.next.set(p.free.get());
            p.free.set(desc.as_ptr());
            asan::poison(d.data.as_ptr());
        }
        chunks.push(Chunk { data, pages, descs });
        p.free_len.set(p.free_len.get() + pages);
        p.capacity.set(p.capacity.get() + pages);
        Ok(())
    }

    /// Takes back the pages of `SendPage`s dropped since the last call.
    fn drain_remote(&self) {
        // SAFETY: we hold a handle, so the pool stays alive however many
        // pages come back.
        unsafe { PoolInner::drain_remote(self.inner) }
    }

    /// The pool's counters. Takes back remotely dropped pages first, so that
    /// `in_use` counts only pages still out.
    pub fn stats(&self) -> PoolStats {
        self.drain_remote();
        let p = self.inner();
        PoolStats {
            in_use: p.in_use.get(),
            high_water: p.high_water.get(),
            capacity: p.capacity.get(),
            free: p.free_len.get(),
            max_pages: p.config.max_pages,
            chunks: p.chunks.borrow().len(),
            allocs: p.allocs.get(),
        }
    }

    /// The configuration the pool was made with.
    pub fn config(&self) -> PoolConfig {
        self.inner().config
    }

    /// Turns a [`SendPage`] back into a [`Page`] — on this, the pool's,
    /// thread. Gives the token back if it is not one of this pool's pages.
    pub fn reclaim(&self, page: SendPage) -> core::result::Result<Page, SendPage> {
        if page.pool_ptr() != self.inner {
            return Err(page);
        }
        let desc = page.into_desc();
        // SAFETY: the token owned the page's only reference, and it now
        // comes back to its pool's thread (we hold a `&PagePool` of it, which
        // exists on no other thread). The thread that sent the token handed
        // over the bytes with it (through whatever channel carried it).
        Ok(unsafe { Page::from_desc(desc) })
    }

    /// A `Buf` holding a copy of `data` in a new page.
    ///
    /// # Errors
    /// [`Error::TooLarge`] for more than a page of data; as
    /// [`try_alloc`](Self::try_alloc).
    pub fn buf_from(&self, data: &[u8]) -> Result<Buf> {
        if data.len() > PAGE_SIZE {
            return Err(Error::TooLarge);
        }
        let mut page = self.try_alloc()?;
        page[..data.len()].copy_from_slice(data);
        let mut buf = page.freeze();
        buf.truncate(data.len());
        Ok(buf)
    }

    /// A `BufChain` holding a copy of `data` in as many new pages as needed.
    /// On error no page is kept.
    ///
    /// # Errors
    /// As [`try_alloc`](Self::try_alloc).
    pub fn chain_from(&self, data: &[u8]) -> Result<BufChain> {
        let mut chain = BufChain::new();
        for piece in data.chunks(PAGE_SIZE) {
            chain.push(self.buf_from(piece)?);
        }
        Ok(chain)
    }

    /// Calls `f(phys_addr, meta)` for every page of the pool, free or in use
    /// (a backend tearing down its grants). Pages away as a `SendPage` are
    /// included; their metadata cannot change while they are away.
    /// `f` may use the pool (even make it grow: pages added meanwhile are
    /// visited too).
    pub fn for_each_page(&self, mut f: impl FnMut(u64, u64)) {
        let mut c = 0;
        loop {
            // Not borrowed while `f` runs. Chunks are only ever appended, and
            // live as long as the pool, so index `c` stays valid.
            let Some((first, pages)) = self
                .inner()
                .chunks
                .borrow()
                .get(c)
                .map(|chunk| (chunk.descs.cast::<Desc>(), chunk.pages))
            else {
                return;
            };
            c += 1;
            for i in 0..pages {
                // SAFETY: `i` is inside the chunk's descriptor array, which
                // lives as long as the pool. Reading `meta` here races with
                // nothing: it is only written on this thread.
                let d = unsafe { first.add(i).as_ref() };
                f(d.phys, d.meta.get());
            }
        }
    }

    /// Whether `a` and `b` are handles to the same pool.
    pub fn ptr_eq(a: &PagePool, b: &PagePool) -> bool {
        a.inner == b.inner
    }
}

impl Default for PagePool {
    fn default() -> PagePool {
        PagePool::new()
    }
}

impl Clone for PagePool {
    fn clone(&self) -> PagePool {
        // SAFETY: our handle keeps the inner alive; same thread.
        unsafe { PagePool::from_raw(self.inner) }
    }
}

impl Drop for PagePool {
    fn drop(&mut self) {
        let p = self.inner();
        let handles = p.handles.get() - 1;
        p.handles.set(handles);
        if handles == 0 {
            // SAFETY: the inner is alive (handles just reached zero, and
            // `destroy_if_unused` is the only thing that frees it).
            unsafe { PoolInner::destroy_if_unused(self.inner) }
        }
    }
}

impl fmt::Debug for PagePool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.inner();
        f.debug_struct("PagePool")
            .field("in_use", &p.in_use.get())
            .field("free", &p.free_len.get())
            .field("capacity", &p.capacity.get())
            .finish_non_exhaustive()
    }
}

// === impl PoolInner ===

impl PoolInner {
    /// Puts a page whose last reference just went back on the free list.
    ///
    /// # Safety
    /// `desc` is a page of `pool` with no reference left; `pool` is alive and
    /// this is its thread.
    #[inline]
    pub(super) unsafe fn put(pool: NonNull<PoolInner>, desc: NonNull<Desc>) {
        // SAFETY: the caller's contract.
        unsafe { PoolInner::put_keep(pool, desc) };
        // SAFETY: the caller's contract (the pool is alive).
        let p = unsafe { pool.as_ref() };
        if p.handles.get() == 0 {
            // SAFETY: as above; `p` is not used after this call.
            unsafe { PoolInner::destroy_if_unused(pool) }
        }
    }

    /// `put`, never freeing the pool.
    ///
    /// # Safety
    /// As `put`.
    #[inline]
    unsafe fn put_keep(pool: NonNull<PoolInner>, desc: NonNull<Desc>) {
        // SAFETY: the caller's contract.
        let (p, d) = unsafe { (pool.as_ref(), desc.as_ref()) };
        debug_assert_eq!(d.refs.get(), 0);
        asan::poison(d.data.as_ptr());
        d.next.set(p.free.get());
        p.free.set(desc.as_ptr());
        p.free_len.set(p.free_len.get() + 1);
        p.in_use.set(p.in_use.get() - 1);
    }

    /// Pushes the page of a `SendPage` dropped on any thread onto its pool's
    /// remote free list. Touches nothing of the pool but the list head.
    ///
    /// # Safety
    /// `desc` is a page whose only reference the caller owns and gives up;
    /// its pool is alive (an unreturned page keeps it so).
    pub(super) unsafe fn push_remote(desc: NonNull<Desc>) {
        let d = desc.as_ptr();
        // SAFETY: the descriptor is alive (caller's contract). Only its
        // atomic field and its immutable `pool` are read, through raw
        // projections: its `Cell`s belong to the pool's thread.
        let (link, pool) =
            unsafe { (&*ptr::addr_of!((*d).remote_next), *ptr::addr_of!((*d).pool)) };
        // SAFETY: the pool is alive (caller's contract); only its atomic
        // `remote` head is touched.
        let head = unsafe { &*ptr::addr_of!((*pool.as_ptr()).remote) };
        let mut current = head.load(Ordering::Relaxed);
        loop {
            link.store(current, Ordering::Relaxed);
            // Release: the link and every write to the page's bytes made by
            // this thread happen before the owner's Acquire swap in
            // `drain_remote`.
            match head.compare_exchange_weak(current, d, Ordering::Release, Ordering::Relaxed) {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }

    /// Takes back every page on the remote free list. Never frees the pool.
    ///
    /// # Safety
    /// `pool` is alive and this is its thread.
    unsafe fn drain_remote(pool: NonNull<PoolInner>) {
        // SAFETY: the caller's contract.
        let p = unsafe { pool.as_ref() };
        if p.remote.load(Ordering::Relaxed).is_null() {
            return;
        }
        // The whole list at once: a single consumer taking everything has no
        // ABA problem.
        let mut next = p.remote.swap(ptr::null_mut(), Ordering::Acquire);
        while let Some(desc) = NonNull::new(next) {
            // SAFETY: pages on the remote list are this pool's, alive, and
            // referenced by nobody (their token is gone); the Acquire swap
            // made the pusher's link store visible.
            let d = unsafe { desc.as_ref() };
            next = d.remote_next.load(Ordering::Relaxed);
            d.refs.set(0);
            // SAFETY: as above.
            unsafe { PoolInner::put_keep(pool, desc) };
        }
    }

    /// Frees the pool if no handle and no page refers to it any more.
    ///
    /// # Safety
    /// `pool` is alive, its handle count is zero, this is its thread, and
    /// the caller does not use `pool` after this call.
    unsafe fn destroy_if_unused(pool: NonNull<PoolInner>) {
        // SAFETY: the caller's contract.
        unsafe { PoolInner::drain_remote(pool) };
        // SAFETY: the caller's contract.
        let p = unsafe { pool.as_ref() };
        debug_assert_eq!(p.handles.get(), 0);
        if p.in_use.get() != 0 {
            // Pages are still out; the last one back frees the pool. (A
            // `SendPage` dropped on another thread after this point leaves
            // its pool allocated: a leak, never a dangling pointer.)
            return;
        }
        // SAFETY: nothing refers to the pool any more: no handle, no page.
        // It came from `Box::leak` in `from_inner`.
        let inner = unsafe { Box::from_raw(pool.as_ptr()) };
        for chunk in inner.chunks.borrow_mut().drain(..) {
            for i in 0..chunk.pages {
                // SAFETY: inside the chunk; lets ASan forget our poisoning.
                asan::unpoison(unsafe { chunk.data.add(i * PAGE_SIZE) }.as_ptr());
            }
            // SAFETY: allocated in `grow` with this layout (which was valid
            // then, so `from_size_align_unchecked` is too).
            unsafe {
                dealloc(
                    chunk.data.as_ptr(),
                    Layout::from_size_align_unchecked(chunk.pages * PAGE_SIZE, PAGE_SIZE),
                )
            };
            // SAFETY: leaked from a boxed slice in `grow`; no descriptor is
            // referenced any more.
            drop(unsafe { Box::from_raw(chunk.descs.as_ptr()) });
        }
    }
}
