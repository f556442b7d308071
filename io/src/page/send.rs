//! [`SendPage`]: a unique page lent to another thread.

use core::fmt;
use core::mem::ManuallyDrop;
use core::ops::{Deref, DerefMut};
use core::ptr::{self, NonNull};

use super::desc::Desc;
use super::pool::PoolInner;
use super::PAGE_SIZE;

/// A unique pool page that may be sent to another thread, for I/O done
/// there (a Unix worker thread's `pread` into it). Made by
/// [`Page::into_send`](super::Page::into_send).
///
/// It gives its holder the page's bytes (and physical address), nothing
/// else: it never touches the pool's single-threaded state. Back on the
/// pool's thread, [`PagePool::reclaim`](super::PagePool::reclaim) makes it a
/// `Page` again. Dropped anywhere (say, on the worker after the request was
/// cancelled), it returns its page to the pool through the pool's lock-free
/// remote free list, which the pool's thread drains later.
///
/// ```
/// use shimmer_io::page::PagePool;
/// let pool = PagePool::new();
/// let token = pool.try_alloc()?.into_send();
/// let token = std::thread::spawn(move || {
///     let mut token = token;
///     token[..4].copy_from_slice(b"disk"); // what a pread would do
///     token
/// })
/// .join()
/// .unwrap();
/// let page = pool.reclaim(token).unwrap();
/// assert_eq!(&page[..4], b"disk");
///
/// // Dropped on another thread: the page still comes home.
/// let token = pool.try_alloc()?.into_send();
/// std::thread::spawn(move || drop(token)).join().unwrap();
/// drop(page);
/// assert_eq!(pool.stats().in_use, 0);
/// # Ok::<(), shimmer_io::Error>(())
/// ```
pub struct SendPage {
    /// The page; the token holds its only reference.
    desc: NonNull<Desc>,
}

// SAFETY: a SendPage owns its page's only reference, so nothing on the
// pool's thread touches the page or its descriptor while the token is away.
// On another thread it reads only the descriptor's immutable fields (`data`,
// `phys`, `pool`) and, when dropped, writes its atomic `remote_next` and the
// pool's atomic remote-list head: never a `Cell`. The bytes are plain data,
// accessed through `&self`/`&mut self` of the token only.
unsafe impl Send for SendPage {}

impl SendPage {
    /// # Safety
    /// `desc` is an allocated page of a live pool whose only reference the
    /// caller passes to the token.
    pub(super) unsafe fn from_desc(desc: NonNull<Desc>) -> SendPage {
        SendPage { desc }
    }

    fn data(&self) -> NonNull<u8> {
        // SAFETY: the descriptor is alive while its page is referenced; `data`
        // never changes after the chunk is built, so reading it from any
        // thread races with nothing. A raw projection: no `&Desc` (whose
        // `Cell`s are the pool thread's) is made here.
        unsafe { *ptr::addr_of!((*self.desc.as_ptr()).data) }
    }

    pub(super) fn pool_ptr(&self) -> NonNull<PoolInner> {
        // SAFETY: as in `data`: `pool` is immutable.
        unsafe { *ptr::addr_of!((*self.desc.as_ptr()).pool) }
    }

    /// Gives up the token without returning the page: the caller takes its
    /// reference.
    pub(super) fn into_desc(self) -> NonNull<Desc> {
        ManuallyDrop::new(self).desc
    }

    /// The page's physical address.
    pub fn phys_addr(&self) -> u64 {
        // SAFETY: as in `data`: `phys` is immutable.
        unsafe { *ptr::addr_of!((*self.desc.as_ptr()).phys) }
    }
}

impl Deref for SendPage {
    type Target = [u8; PAGE_SIZE];
    fn deref(&self) -> &[u8; PAGE_SIZE] {
        // SAFETY: the page's PAGE_SIZE bytes are initialised and reachable
        // only through this token (its only reference). Whoever moved the
        // token to this thread synchronised with its previous holder.
        unsafe { &*self.data().as_ptr().cast::<[u8; PAGE_SIZE]>() }
    }
}

impl DerefMut for SendPage {
    fn deref_mut(&mut self) -> &mut [u8; PAGE_SIZE] {
        // SAFETY: as in `deref`; `&mut self` makes the access exclusive.
        unsafe { &mut *self.data().as_ptr().cast::<[u8; PAGE_SIZE]>() }
    }
}

impl Drop for SendPage {
    fn drop(&mut self) {
        // SAFETY: the token owns the page's only reference and gives it up;
        // the unreturned page keeps its pool alive.
        unsafe { PoolInner::push_remote(self.desc) }
    }
}

impl fmt::Debug for SendPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendPage")
            .field("phys_addr", &format_args!("{:#x}", self.phys_addr()))
            .finish_non_exhaustive()
    }
}
