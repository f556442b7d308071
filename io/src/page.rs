//! The page pool and zero-copy buffers: [`PagePool`], [`Page`], [`Buf`],
//! [`BufChain`], [`SendPage`].
//!
//! Every byte shimmer moves through a device lives in a 4 KiB, 4 KiB-aligned
//! page from a [`PagePool`]: a frame netfront receives, a sector blkfront
//! reads, a segment a TCP socket sends. A backend lends such pages to a
//! device (a Xen grant, an `O_DIRECT` read) and the stack above slices them
//! without copying — this module is the Cstruct/Io_page of shimmer.
//!
//! # The types
//!
//! * [`Page`]: one page, owned uniquely; derefs to `[u8; 4096]` (read and
//!   write). [`Page::freeze`] turns it into a [`Buf`].
//! * [`Buf`]: a shared, reference-counted, read-only view (offset, length) of
//!   one page. [`slice`](Buf::slice), [`split_to`](Buf::split_to),
//!   [`split_off`](Buf::split_off) and `clone` only adjust the view and the
//!   count; no byte is copied. When the last view of a page goes, the page
//!   goes back to its pool. A `Buf` that is the page's only reference turns
//!   back into a [`Page`] ([`Buf::try_into_page`]).
//! * [`BufChain`]: a scatter/gather list of `Buf`s (a block request, a frame
//!   spread over pages); up to four segments are kept inline, without an
//!   allocation.
//! * [`SendPage`]: the one way a page crosses threads (see below).
//!
//! # Per-page metadata and physical addresses
//!
//! Each page has a metadata word for the backend ([`Page::meta`],
//! [`Buf::set_meta`]) that *survives free and reuse*: netfront stores the
//! page's grant reference there, so a page granted once stays granted and a
//! recycled page costs no new grant. The pool never interprets it; a new page
//! starts at 0. Each page also has a physical address
//! ([`Page::phys_addr`]), computed once when the page joins the pool by the
//! [`PoolConfig::phys_addr`] hook (identity by default: the virtual address,
//! which is what an identity-mapped PVH guest needs).
//!
//! # Memory and cost
//!
//! The pool takes memory from the global allocator a chunk at a time
//! ([`PoolConfig::chunk_pages`] pages, 4 KiB-aligned, zeroed) and never gives
//! it back while it lives. Allocating and freeing a page is a pop or push on
//! an intrusive free list: O(1), no global-allocator call, no atomic
//! operation. A [`PoolConfig::max_pages`] cap bounds the pool;
//! [`PagePool::try_alloc`] then returns [`Error::PoolExhausted`] instead of
//! growing. [`PagePool::stats`] reports pages in use, the high-water mark and
//! the capacity.
//!
//! [`Error::PoolExhausted`]: crate::Error::PoolExhausted
//!
//! A page's contents when allocated are unspecified (zeros for a page never
//! used, else whatever its last user left): use [`PagePool::try_alloc_zeroed`]
//! when that matters (a frame's padding must not leak old data).
//!
//! # Which pool: one per executor
//!
//! A program has one pool per executor, and as an executor runs on one thread,
//! one per thread. Whoever builds the runtime (`#[shimmer::main]`, a backend's
//! setup, a test) makes it and installs it as the thread's current pool with
//! `PagePool::enter` (or, in a `no_std` unikernel, [`PagePool::set_global`]);
//! any task then reaches it with [`PagePool::current`]. Devices do not look it
//! up by themselves: they are given a handle (`PagePool` is a cheap, clonable
//! reference) when they are built, so a test can hand each device its own
//! small, capped pool and a backend can give a device a pool whose pages it
//! pre-registered. With `std`, `current()` on a thread with no pool installed
//! makes a default, uncapped one for that thread.
//!
//! The pool's memory lives as long as any handle or any page does: dropping
//! the last `PagePool` handle while pages are out is fine, the memory is freed
//! when the last page comes back.
//!
//! # Threads
//!
//! The pool is single-threaded by design: reference counts are `Cell`s, and
//! `PagePool`, `Page`, `Buf` and `BufChain` are `!Send` and `!Sync`.
//!
//! ```compile_fail
//! fn is_send<T: Send>() {}
//! is_send::<shimmer_io::page::Buf>();
//! ```
//! ```compile_fail
//! fn is_send<T: Send>() {}
//! is_send::<shimmer_io::page::Page>();
//! ```
//! ```compile_fail
//! fn is_send<T: Send>() {}
//! is_send::<shimmer_io::page::PagePool>();
//! ```
//!
//! A page that must visit another thread (a Unix I/O worker doing a `pread`
//! into it) travels as a [`SendPage`], made from a *unique* [`Page`] with
//! [`Page::into_send`]. It is `Send`, gives the bytes (and nothing else) to
//! whoever holds it, and its return to the pool always happens on the
//! pool's thread:
//!
//! * normally, the worker sends the token back and the owner thread turns it
//!   into a `Page` again with [`PagePool::reclaim`] (which checks that the
//!   token is one of this pool's pages: a `&PagePool` only exists on the
//!   pool's own thread, so that check also proves which thread we are on);
//! * if the token is dropped anywhere else (the request was cancelled and
//!   nobody waits for the answer), its page is pushed onto the pool's
//!   lock-free *remote free list* — the only atomic in the pool — and the
//!   owner thread takes it back the next time its free list runs dry, or
//!   when it reads the stats. Nothing else of the pool is touched off its
//!   thread.
//!
//! A shared `Buf` never crosses threads: a backend that needs to hand one to
//! a worker turns it into a page first (`try_into_page`, free when the
//! caller kept no other view) or copies it into a fresh page.
//!
//! ```
//! use shimmer_io::page::{PagePool, PoolConfig};
//!
//! let pool = PagePool::with_config(PoolConfig::new().chunk_pages(4).max_pages(8))?;
//! let mut page = pool.try_alloc()?;
//! page[..5].copy_from_slice(b"hello");
//! page.set_meta(42); // say, a grant reference
//!
//! let mut buf = page.freeze();          // shared from now on
//! buf.truncate(5);
//! let he = buf.split_to(2);             // zero-copy: same page
//! assert_eq!(&he[..], b"he");
//! assert_eq!(&buf[..], b"llo");
//! assert_eq!(pool.stats().in_use, 1);
//!
//! drop(he);
//! let page = buf.try_into_page().unwrap(); // the last view: a page again
//! assert_eq!(page.meta(), 42);
//! drop(page);
//! assert_eq!(pool.stats().in_use, 0);
//! # Ok::<(), shimmer_io::Error>(())
//! ```

#[cfg(feature = "_asan")]
mod asan;
mod buf;
mod chain;
mod current;
mod desc;
mod owned;
mod pool;
mod send;

pub use buf::Buf;
pub use chain::BufChain;
#[cfg(feature = "std")]
pub use current::PoolGuard;
pub use owned::Page;
pub use pool::{PagePool, PoolConfig, PoolStats};
pub use send::SendPage;

/// The size of a page, and its alignment.
pub const PAGE_SIZE: usize = 4096;

#[cfg(not(feature = "_asan"))]
mod asan {
    //! AddressSanitizer hooks, compiled out without the `_asan` feature.
    #[inline(always)]
    pub(super) fn poison(_page: *const u8) {}
    #[inline(always)]
    pub(super) fn unpoison(_page: *const u8) {}
}

#[cfg(test)]
mod tests;
