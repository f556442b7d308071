//! `Desc`: the descriptor of one pool page (what Linux calls `struct page`).
//!
//! Descriptors live in an array per chunk, beside (not inside) the pages, so a
//! page is a whole 4 KiB a device can use. [`Page`](super::Page),
//! [`Buf`](super::Buf) and [`SendPage`](super::SendPage) point at one.
//!
//! ```text
//!            alloc                 freeze / clone          last drop
//!   free ───────────▶ refs = 1 ─────────────────▶ refs = n ─────────▶ free
//!  (refs = 0,          (Page)    ◀─────────────── (Bufs)
//!   on the free list)            try_into_page (n = 1)
//!                        │ into_send         ▲ reclaim
//!                        ▼                   │
//!                    refs = 1, away on another thread (SendPage)
//!                        │ dropped there
//!                        ▼
//!                    on the remote free list ──(owner drains)──▶ free
//! ```
//!
//! Fields are written on the pool's thread only, except `remote_next`, which
//! a `SendPage` dropped on another thread writes before publishing the page on
//! the pool's remote list. `data`, `phys` and `pool` never change after the
//! chunk is built, so any thread holding the page may read them.

use core::cell::Cell;
use core::ptr::NonNull;
use core::sync::atomic::AtomicPtr;

use super::pool::PoolInner;

pub(super) struct Desc {
    /// References to the page: 0 while free, 1 for a `Page` or a `SendPage`,
    /// the number of `Buf`s viewing it otherwise.
    pub(super) refs: Cell<usize>,
    /// Next free page, while on the pool's free list.
    pub(super) next: Cell<*mut Desc>,
    /// The backend's word (a grant reference); survives free and reuse.
    pub(super) meta: Cell<u64>,
    /// The page's first byte; 4 KiB-aligned. Immutable.
    pub(super) data: NonNull<u8>,
    /// The page's physical address. Immutable.
    pub(super) phys: u64,
    /// The pool the page belongs to. Immutable.
    pub(super) pool: NonNull<PoolInner>,
    /// Next page on the pool's remote free list.
    pub(super) remote_next: AtomicPtr<Desc>,
}

impl Desc {
    pub(super) fn new(data: NonNull<u8>, phys: u64, pool: NonNull<PoolInner>) -> Desc {
        Desc {
            refs: Cell::new(0),
            next: Cell::new(core::ptr::null_mut()),
            meta: Cell::new(0),
            data,
            phys,
            pool,
            remote_next: AtomicPtr::new(core::ptr::null_mut()),
        }
    }
}
