//! [`Page`]: one pool page, owned uniquely.

use core::fmt;
use core::mem::ManuallyDrop;
use core::ops::{Deref, DerefMut};
use core::ptr::NonNull;

use super::desc::Desc;
use super::pool::PoolInner;
use super::{Buf, PagePool, SendPage, PAGE_SIZE};

/// One 4 KiB, 4 KiB-aligned page from a [`PagePool`], owned uniquely: it
/// derefs to `[u8; 4096]`, readable and writable. Dropping it returns it to
/// its pool; [`freeze`](Page::freeze) shares it as a [`Buf`].
///
/// ```
/// use shimmer_io::page::{PagePool, PAGE_SIZE};
/// let pool = PagePool::new();
/// let mut page = pool.try_alloc()?;
/// page.fill(0xab);
/// assert_eq!(page.len(), PAGE_SIZE);
/// assert_eq!(page.as_ptr() as usize % PAGE_SIZE, 0);
/// # Ok::<(), shimmer_io::Error>(())
/// ```
pub struct Page {
    /// Referenced once, by this `Page`.
    desc: NonNull<Desc>,
}

impl Page {
    /// # Safety
    /// `desc` is an allocated page of a live pool, its count is 1 and the
    /// caller gives that reference to the new `Page`; this is its pool's
    /// thread.
    #[inline]
    pub(super) unsafe fn from_desc(desc: NonNull<Desc>) -> Page {
        Page { desc }
    }

    #[inline]
    fn desc(&self) -> &Desc {
        // SAFETY: our reference keeps the page (and its pool) alive.
        unsafe { self.desc.as_ref() }
    }

    /// The backend's metadata word (a grant reference on Xen). It survives
    /// the page being freed and allocated again; a new page starts at 0.
    pub fn meta(&self) -> u64 {
        self.desc().meta.get()
    }

    /// Sets the backend's metadata word.
    pub fn set_meta(&mut self, meta: u64) {
        self.desc().meta.set(meta)
    }

    /// The page's physical address (see [`PoolConfig::phys_addr`](super::PoolConfig::phys_addr)).
    pub fn phys_addr(&self) -> u64 {
        self.desc().phys
    }

    /// A handle to the page's pool.
    pub fn pool(&self) -> PagePool {
        // SAFETY: our page keeps its pool alive; same thread.
        unsafe { PagePool::from_raw(self.desc().pool) }
    }

    /// Shares the page: a [`Buf`] viewing all of it. Read-only from now on
    /// (until it is unique again: [`Buf::try_into_page`]).
    #[inline]
    pub fn freeze(self) -> Buf {
        let desc = ManuallyDrop::new(self).desc;
        // SAFETY: the Page's reference passes to the Buf; the view is the
        // whole page.
        unsafe { Buf::from_raw(desc.as_ref().data, PAGE_SIZE, desc) }
    }

    /// Makes the page a `Send` token, to lend it to another thread (see
    /// [`SendPage`]).
    pub fn into_send(self) -> SendPage {
        let desc = ManuallyDrop::new(self).desc;
        // SAFETY: the page's only reference passes to the token.
        unsafe { SendPage::from_desc(desc) }
    }
}

impl Deref for Page {
    type Target = [u8; PAGE_SIZE];
    #[inline]
    fn deref(&self) -> &[u8; PAGE_SIZE] {
        // SAFETY: the page is PAGE_SIZE initialised bytes (zeroed when its
        // chunk was made), and nobody else can reach them: this `Page` is
        // the page's only reference.
        unsafe { &*self.desc().data.as_ptr().cast::<[u8; PAGE_SIZE]>() }
    }
}

impl DerefMut for Page {
    #[inline]
    fn deref_mut(&mut self) -> &mut [u8; PAGE_SIZE] {
        // SAFETY: as in `deref`; `&mut self` makes the access exclusive.
        unsafe { &mut *self.desc().data.as_ptr().cast::<[u8; PAGE_SIZE]>() }
    }
}

impl AsRef<[u8]> for Page {
    fn as_ref(&self) -> &[u8] {
        &self[..]
    }
}

impl AsMut<[u8]> for Page {
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self[..]
    }
}

impl Drop for Page {
    #[inline]
    fn drop(&mut self) {
        let d = self.desc();
        d.refs.set(0);
        let pool = d.pool;
        // SAFETY: that was the page's only reference; its pool is alive
        // until then, and this is its thread.
        unsafe { PoolInner::put(pool, self.desc) }
    }
}

impl fmt::Debug for Page {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Page")
            .field("phys_addr", &format_args!("{:#x}", self.phys_addr()))
            .field("meta", &self.meta())
            .finish_non_exhaustive()
    }
}
