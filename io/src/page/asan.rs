//! AddressSanitizer hooks (feature `_asan`, with `-Zsanitizer=address`).
//!
//! A pool page never goes back to malloc while the pool lives, so ASan alone
//! cannot see a use after free of a page: the pool poisons a page's bytes
//! when it goes back on the free list and unpoisons them when it is handed
//! out again. ASan then reports any access through a dangling `Page`/`Buf`.

use super::PAGE_SIZE;

extern "C" {
    fn __asan_poison_memory_region(addr: *const u8, size: usize);
    fn __asan_unpoison_memory_region(addr: *const u8, size: usize);
}

/// Marks a free page's bytes as off limits.
pub(super) fn poison(page: *const u8) {
    // SAFETY: ASan's interface function only records the range in its shadow
    // memory; `page` is the start of a pool page of PAGE_SIZE bytes.
    unsafe { __asan_poison_memory_region(page, PAGE_SIZE) }
}

/// Makes an allocated page's bytes accessible again.
pub(super) fn unpoison(page: *const u8) {
    // SAFETY: as in `poison`.
    unsafe { __asan_unpoison_memory_region(page, PAGE_SIZE) }
}
