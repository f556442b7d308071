//! A boxed slice of futures polled in place: the storage behind
//! `join_all` and `pick`.
//!
//! The slice is allocated once and never moved or resized while its
//! elements are pinned, so handing out `Pin<&mut T>` for an element is
//! sound. This is the only unsafe code of the combinators.

use alloc::boxed::Box;
use core::pin::Pin;

pub(crate) struct PinnedSlice<T> {
    items: Pin<Box<[T]>>,
}

impl<T> PinnedSlice<T> {
    pub(crate) fn new(items: impl IntoIterator<Item = T>) -> PinnedSlice<T> {
        let items: Box<[T]> = items.into_iter().collect();
        PinnedSlice {
            items: Box::into_pin(items),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    /// The element at `i`, pinned.
    pub(crate) fn get_pin_mut(&mut self, i: usize) -> Pin<&mut T> {
        // SAFETY: the boxed slice is pinned and never moved, resized or
        // reallocated; elements are only reached through `Pin`, so none is
        // moved out either.
        unsafe { self.items.as_mut().map_unchecked_mut(|s| &mut s[i]) }
    }

    /// Replaces the element at `i` in place, dropping the old one.
    pub(crate) fn set(&mut self, i: usize, value: T) {
        self.get_pin_mut(i).set(value);
    }
}
