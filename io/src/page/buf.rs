//! [`Buf`]: a shared, reference-counted view of part of a pool page.

use core::fmt;
use core::hash::{Hash, Hasher};
use core::mem::ManuallyDrop;
use core::ops::{Bound, Deref, RangeBounds};
use core::ptr::NonNull;

use super::desc::Desc;
use super::pool::PoolInner;
use super::{Page, PagePool};
use crate::{Error, Result};

/// A shared, read-only view of part of one pool page: the Cstruct of
/// shimmer. Cloning, slicing and splitting copy no byte: they make another
/// view of the same page and bump its reference count (a `Cell`: a `Buf` is
/// `!Send`). The page returns to its pool when the last view is dropped.
///
/// ```
/// use shimmer_io::page::PagePool;
/// let pool = PagePool::new();
/// let mut frame = pool.buf_from(b"\x08\x00hello world")?;
/// let ethertype = frame.split_to(2);                  // [0, 2)
/// assert_eq!(&ethertype[..], &[8, 0]);
/// let world = frame.slice(6..);                      // "world"
/// assert_eq!(&world[..], b"world");
/// assert_eq!(world.offset(), 8);                     // within the page
/// assert!(frame.try_slice(3..100).is_err());          // out of range: an error
/// # Ok::<(), shimmer_io::Error>(())
/// ```
pub struct Buf {
    /// First byte of the view, inside the page.
    ptr: NonNull<u8>,
    len: usize,
    /// The page; this `Buf` holds one of its references.
    desc: NonNull<Desc>,
}

/// `[start, end)` of `range` within `0..len`, or `None` if it does not fit.
#[inline]
fn bounds(range: impl RangeBounds<usize>, len: usize) -> Option<(usize, usize)> {
    let start = match range.start_bound() {
        Bound::Included(&s) => s,
        Bound::Excluded(&s) => s.checked_add(1)?,
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(&e) => e.checked_add(1)?,
        Bound::Excluded(&e) => e,
        Bound::Unbounded => len,
    };
    (start <= end && end <= len).then_some((start, end))
}

impl Buf {
    /// # Safety
    /// `desc` is an allocated page of a live pool, `[ptr, ptr + len)` lies in
    /// it, and the caller gives one of its references to the new `Buf`; this
    /// is its pool's thread.
    #[inline]
    pub(super) unsafe fn from_raw(ptr: NonNull<u8>, len: usize, desc: NonNull<Desc>) -> Buf {
        Buf { ptr, len, desc }
    }

    #[inline]
    fn desc(&self) -> &Desc {
        // SAFETY: our reference keeps the page (and its pool) alive.
        unsafe { self.desc.as_ref() }
    }

    /// Another reference to the page, for a view `[ptr, ptr + len)` in it.
    #[inline]
    fn view(&self, ptr: NonNull<u8>, len: usize) -> Buf {
        let d = self.desc();
        // A count this large needs that many views leaked with mem::forget;
        // refuse rather than wrap around to a use after free.
        let refs = d
            .refs
            .get()
            .checked_add(1)
            .expect("Buf reference count overflow");
        d.refs.set(refs);
        Buf {
            ptr,
            len,
            desc: self.desc,
        }
    }

    /// Length of the view in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the view is empty (the page is still referenced).
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The view as a slice (same as deref).
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        self
    }

    /// A new view of `range` of this one, or [`Error::OutOfRange`].
    #[inline]
    pub fn try_slice(&self, range: impl RangeBounds<usize>) -> Result<Buf> {
        let (start, end) = bounds(range, self.len).ok_or(Error::OutOfRange)?;
        // SAFETY: `start <= len`: still inside the page.
        Ok(self.view(unsafe { self.ptr.add(start) }, end - start))
    }

    /// A new view of `range` of this one.
    ///
    /// # Panics
    /// If `range` is not within `0..self.len()` (use [`try_slice`](Self::try_slice)
    /// on untrusted bounds).
    #[inline]
    #[track_caller]
    pub fn slice(&self, range: impl RangeBounds<usize>) -> Buf {
        match self.try_slice(range) {
            Ok(b) => b,
            Err(_) => out_of_range("slice"),
        }
    }

    /// Splits the view in two at `at`: returns `[0, at)`, keeps `[at, len)`.
    /// [`Error::OutOfRange`] if `at > len`.
    #[inline]
    pub fn try_split_to(&mut self, at: usize) -> Result<Buf> {
        if at > self.len {
            return Err(Error::OutOfRange);
        }
        let head = self.view(self.ptr, at);
        // SAFETY: `at <= len`: still inside the page.
        self.ptr = unsafe { self.ptr.add(at) };
        self.len -= at;
        Ok(head)
    }

    /// Splits the view in two at `at`: returns `[0, at)`, keeps `[at, len)`.
    ///
    /// # Panics
    /// If `at > self.len()` (use [`try_split_to`](Self::try_split_to)).
    #[inline]
    #[track_caller]
    pub fn split_to(&mut self, at: usize) -> Buf {
        match self.try_split_to(at) {
            Ok(b) => b,
            Err(_) => out_of_range("split_to"),
        }
    }

    /// Splits the view in two at `at`: returns `[at, len)`, keeps `[0, at)`.
    /// [`Error::OutOfRange`] if `at > len`.
    #[inline]
    pub fn try_split_off(&mut self, at: usize) -> Result<Buf> {
        if at > self.len {
            return Err(Error::OutOfRange);
        }
        // SAFETY: `at <= len`: still inside the page.
        let tail = self.view(unsafe { self.ptr.add(at) }, self.len - at);
        self.len = at;
        Ok(tail)
    }

    /// Splits the view in two at `at`: returns `[at, len)`, keeps `[0, at)`.
    ///
    /// # Panics
    /// If `at > self.len()` (use [`try_split_off`](Self::try_split_off)).
    #[inline]
    #[track_caller]
    pub fn split_off(&mut self, at: usize) -> Buf {
        match self.try_split_off(at) {
            Ok(b) => b,
            Err(_) => out_of_range("split_off"),
        }
    }

    /// Drops the first `n` bytes of the view; [`Error::OutOfRange`] (and no
    /// change) if `n > len`.
    #[inline]
    pub fn try_advance(&mut self, n: usize) -> Result<()> {
        if n > self.len {
            return Err(Error::OutOfRange);
        }
        // SAFETY: `n <= len`: still inside the page.
        self.ptr = unsafe { self.ptr.add(n) };
        self.len -= n;
        Ok(())
    }

    /// Drops the first `n` bytes of the view.
    ///
    /// # Panics
    /// If `n > self.len()` (use [`try_advance`](Self::try_advance)).
    #[inline]
    #[track_caller]
    pub fn advance(&mut self, n: usize) {
        if self.try_advance(n).is_err() {
            out_of_range("advance")
        }
    }

    /// Shortens the view to `len` bytes; no effect if it is not longer.
    #[inline]
    pub fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }

    /// Joins `other` back onto the end of this view if it is the adjacent
    /// part of the same page (the inverse of `split_off`); else gives it back.
    pub fn try_unsplit(&mut self, other: Buf) -> core::result::Result<(), Buf> {
        // SAFETY: `len` keeps the end inside the page (one past its last
        // byte at most).
        let end = unsafe { self.ptr.add(self.len) };
        if other.desc != self.desc || other.ptr != end {
            return Err(other);
        }
        self.len += other.len;
        drop(other);
        Ok(())
    }

    /// Offset of the view's first byte within its page.
    #[inline]
    pub fn offset(&self) -> usize {
        self.ptr.as_ptr() as usize - self.desc().data.as_ptr() as usize
    }

    /// Physical address of the view's first byte.
    pub fn phys_addr(&self) -> u64 {
        self.desc().phys + self.offset() as u64
    }

    /// The page's metadata word (see [`Page::meta`]).
    pub fn meta(&self) -> u64 {
        self.desc().meta.get()
    }

    /// Sets the page's metadata word, seen by every view of the page (a
    /// backend records the grant it made to transmit this page).
    pub fn set_meta(&self, meta: u64) {
        self.desc().meta.set(meta)
    }

    /// Views of this page alive now, this one included.
    pub fn ref_count(&self) -> usize {
        self.desc().refs.get()
    }

    /// Whether this is the page's only view.
    pub fn is_unique(&self) -> bool {
        self.ref_count() == 1
    }

    /// Whether `a` and `b` view the same page.
    pub fn same_page(a: &Buf, b: &Buf) -> bool {
        a.desc == b.desc
    }

    /// A handle to the page's pool.
    pub fn pool(&self) -> PagePool {
        // SAFETY: our reference keeps the pool alive; same thread.
        unsafe { PagePool::from_raw(self.desc().pool) }
    }

    /// The view, writable, if it is the page's only view (else `None`: other
    /// views may be reading the bytes).
    pub fn try_mut(&mut self) -> Option<&mut [u8]> {
        if !self.is_unique() {
            return None;
        }
        // SAFETY: the view lies in the page; no other reference to the page
        // exists, and `&mut self` makes this one exclusive. The pointer comes
        // from the chunk's allocation, so it may write.
        Some(unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) })
    }

    /// The whole page back, if this is its only view (else the `Buf`).
    /// The bytes outside the view are as they were.
    pub fn try_into_page(self) -> core::result::Result<Page, Buf> {
        if !self.is_unique() {
            return Err(self);
        }
        let desc = ManuallyDrop::new(self).desc;
        // SAFETY: the Buf's (only) reference passes to the Page.
        Ok(unsafe { Page::from_desc(desc) })
    }
}

#[cold]
#[track_caller]
fn out_of_range(what: &str) -> ! {
    panic!("shimmer-io: Buf::{what}: out of range")
}

impl Clone for Buf {
    #[inline]
    fn clone(&self) -> Buf {
        self.view(self.ptr, self.len)
    }
}

impl Drop for Buf {
    #[inline]
    fn drop(&mut self) {
        let d = self.desc();
        let refs = d.refs.get() - 1;
        d.refs.set(refs);
        if refs == 0 {
            let pool = d.pool;
            // SAFETY: that was the page's last reference; its pool is alive
            // until then, and this is its thread.
            unsafe { PoolInner::put(pool, self.desc) }
        }
    }
}

impl Deref for Buf {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        // SAFETY: the view lies in the page, whose bytes are initialised and
        // only read while shared (writes need a unique view: `try_mut`).
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl AsRef<[u8]> for Buf {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl core::borrow::Borrow<[u8]> for Buf {
    fn borrow(&self) -> &[u8] {
        self
    }
}

impl PartialEq for Buf {
    fn eq(&self, other: &Buf) -> bool {
        self[..] == other[..]
    }
}

impl Eq for Buf {}

impl PartialEq<[u8]> for Buf {
    fn eq(&self, other: &[u8]) -> bool {
        self[..] == *other
    }
}

impl PartialEq<&[u8]> for Buf {
    fn eq(&self, other: &&[u8]) -> bool {
        self[..] == **other
    }
}

impl<const N: usize> PartialEq<[u8; N]> for Buf {
    fn eq(&self, other: &[u8; N]) -> bool {
        self[..] == other[..]
    }
}

impl Hash for Buf {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self[..].hash(state)
    }
}

impl fmt::Debug for Buf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Buf(")?;
        const SHOWN: usize = 32;
        for &b in self.iter().take(SHOWN) {
            write!(f, "{}", core::ascii::escape_default(b))?;
        }
        if self.len > SHOWN {
            write!(f, "…")?;
        }
        write!(f, "; {} bytes at +{})", self.len, self.offset())
    }
}
