//! [`BufChain`]: a scatter/gather list of [`Buf`]s.

use alloc::vec::Vec;
use core::fmt;

use smallvec::SmallVec;

use super::Buf;
use crate::{Error, Result};

/// Segments kept inline before a chain allocates.
const INLINE: usize = 4;

/// A scatter/gather list of [`Buf`]s, read as the concatenation of their
/// bytes: a block request's sectors, a frame spread over pages, what a
/// `writev` sends. Up to four segments live inline (no allocation). Empty
/// `Buf`s are never stored. Splitting copies no byte: a segment cut in two
/// becomes two views of its page.
///
/// ```
/// use shimmer_io::page::{BufChain, PagePool};
/// let pool = PagePool::new();
/// let mut chain = BufChain::new();
/// chain.push(pool.buf_from(b"hello ")?);
/// chain.push(pool.buf_from(b"world")?);
/// assert_eq!(chain.len(), 11);
/// let hello = chain.split_to(5)?;             // cuts the first segment
/// assert_eq!(hello.to_vec(), b"hello");
/// assert_eq!(chain.to_vec(), b" world");
/// assert_eq!(chain.segments(), 2);
/// # Ok::<(), shimmer_io::Error>(())
/// ```
#[derive(Clone, Default)]
pub struct BufChain {
    bufs: SmallVec<[Buf; INLINE]>,
    len: usize,
}

impl BufChain {
    /// An empty chain.
    pub const fn new() -> BufChain {
        BufChain {
            bufs: SmallVec::new_const(),
            len: 0,
        }
    }

    /// Total bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the chain holds no byte.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Number of segments (non-empty `Buf`s).
    pub fn segments(&self) -> usize {
        self.bufs.len()
    }

    /// Whether the segments still fit inline (no heap allocation).
    pub fn is_inline(&self) -> bool {
        !self.bufs.spilled()
    }

    /// Appends `buf` (dropped if empty).
    pub fn push(&mut self, buf: Buf) {
        if buf.is_empty() {
            return;
        }
        self.len += buf.len();
        self.bufs.push(buf);
    }

    /// Puts `buf` in front (dropped if empty).
    pub fn push_front(&mut self, buf: Buf) {
        if buf.is_empty() {
            return;
        }
        self.len += buf.len();
        self.bufs.insert(0, buf);
    }

    /// Removes and returns the first segment.
    pub fn pop_front(&mut self) -> Option<Buf> {
        if self.bufs.is_empty() {
            return None;
        }
        let buf = self.bufs.remove(0);
        self.len -= buf.len();
        Some(buf)
    }

    /// Removes and returns the last segment.
    pub fn pop_back(&mut self) -> Option<Buf> {
        let buf = self.bufs.pop()?;
        self.len -= buf.len();
        Some(buf)
    }

    /// The `i`th segment.
    pub fn get(&self, i: usize) -> Option<&Buf> {
        self.bufs.get(i)
    }

    /// The segments, in order.
    pub fn iter(&self) -> core::slice::Iter<'_, Buf> {
        self.bufs.iter()
    }

    /// The segments as a slice.
    pub fn as_slice(&self) -> &[Buf] {
        &self.bufs
    }

    /// Splits the chain at byte `at`: returns `[0, at)`, keeps `[at, len)`.
    /// [`Error::OutOfRange`] (and no change) if `at > len`.
    pub fn split_to(&mut self, at: usize) -> Result<BufChain> {
        if at > self.len {
            return Err(Error::OutOfRange);
        }
        let mut head = BufChain::new();
        while head.len < at {
            let want = at - head.len;
            let first = &mut self.bufs[0];
            if first.len() <= want {
                let buf = self.bufs.remove(0);
                self.len -= buf.len();
                head.push(buf);
            } else {
                let part = first.split_to(want);
                self.len -= want;
                head.push(part);
            }
        }
        Ok(head)
    }

    /// Splits the chain at byte `at`: returns `[at, len)`, keeps `[0, at)`.
    /// [`Error::OutOfRange`] (and no change) if `at > len`.
    pub fn split_off(&mut self, at: usize) -> Result<BufChain> {
        let head = self.split_to(at)?;
        Ok(core::mem::replace(self, head))
    }

    /// Drops the first `n` bytes; [`Error::OutOfRange`] (and no change) if
    /// `n > len`.
    pub fn advance(&mut self, n: usize) -> Result<()> {
        self.split_to(n).map(drop)
    }

    /// Shortens the chain to `len` bytes; no effect if it is not longer.
    pub fn truncate(&mut self, len: usize) {
        if len >= self.len {
            return;
        }
        let mut kept = 0;
        let mut keep_segments = 0;
        for buf in self.bufs.iter_mut() {
            if kept >= len {
                break;
            }
            let room = len - kept;
            if buf.len() > room {
                buf.truncate(room);
            }
            kept += buf.len();
            keep_segments += 1;
        }
        self.bufs.truncate(keep_segments);
        self.len = len;
    }

    /// Copies bytes from `offset` on into `dst`, as many as fit or remain;
    /// returns how many.
    pub fn copy_to_slice(&self, mut offset: usize, dst: &mut [u8]) -> usize {
        let mut copied = 0;
        for buf in self.bufs.iter() {
            if copied == dst.len() {
                break;
            }
            if offset >= buf.len() {
                offset -= buf.len();
                continue;
            }
            let src = &buf[offset..];
            offset = 0;
            let n = src.len().min(dst.len() - copied);
            dst[copied..copied + n].copy_from_slice(&src[..n]);
            copied += n;
        }
        copied
    }

    /// All the bytes, copied into a `Vec`.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len);
        for buf in self.bufs.iter() {
            v.extend_from_slice(buf);
        }
        v
    }

    /// Whether the bytes equal `other`.
    pub fn eq_slice(&self, mut other: &[u8]) -> bool {
        if other.len() != self.len {
            return false;
        }
        for buf in self.bufs.iter() {
            let (head, rest) = other.split_at(buf.len());
            if head != &buf[..] {
                return false;
            }
            other = rest;
        }
        true
    }
}

impl From<Buf> for BufChain {
    fn from(buf: Buf) -> BufChain {
        let mut chain = BufChain::new();
        chain.push(buf);
        chain
    }
}

impl FromIterator<Buf> for BufChain {
    fn from_iter<I: IntoIterator<Item = Buf>>(iter: I) -> BufChain {
        let mut chain = BufChain::new();
        chain.extend(iter);
        chain
    }
}

impl Extend<Buf> for BufChain {
    fn extend<I: IntoIterator<Item = Buf>>(&mut self, iter: I) {
        for buf in iter {
            self.push(buf);
        }
    }
}

impl IntoIterator for BufChain {
    type Item = Buf;
    type IntoIter = smallvec::IntoIter<[Buf; INLINE]>;
    fn into_iter(self) -> Self::IntoIter {
        self.bufs.into_iter()
    }
}

impl<'a> IntoIterator for &'a BufChain {
    type Item = &'a Buf;
    type IntoIter = core::slice::Iter<'a, Buf>;
    fn into_iter(self) -> Self::IntoIter {
        self.bufs.iter()
    }
}

impl PartialEq for BufChain {
    fn eq(&self, other: &BufChain) -> bool {
        if self.len != other.len {
            return false;
        }
        // Compare byte runs without flattening either side.
        let mut a = self.bufs.iter().map(|b| &b[..]);
        let mut b = other.bufs.iter().map(|b| &b[..]);
        let (mut x, mut y): (&[u8], &[u8]) = (&[], &[]);
        loop {
            if x.is_empty() {
                x = a.next().unwrap_or(&[]);
            }
            if y.is_empty() {
                y = b.next().unwrap_or(&[]);
            }
            if x.is_empty() || y.is_empty() {
                return x.is_empty() && y.is_empty();
            }
            let n = x.len().min(y.len());
            if x[..n] != y[..n] {
                return false;
            }
            x = &x[n..];
            y = &y[n..];
        }
    }
}

impl Eq for BufChain {}

impl PartialEq<[u8]> for BufChain {
    fn eq(&self, other: &[u8]) -> bool {
        self.eq_slice(other)
    }
}

impl fmt::Debug for BufChain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufChain")
            .field("len", &self.len)
            .field("segments", &self.bufs.as_slice())
            .finish()
    }
}
