//! The executor's list of unfinished tasks (intrusive, doubly linked).
//!
//! It is how the executor keeps its promise to own every live future:
//! dropping the executor walks it and cancels each task on the executor's
//! thread. It is also what introspection (`dump`) walks.

use core::cell::Cell;

use crate::task::header::TaskRef;

pub(crate) struct LiveList {
    head: Cell<Option<TaskRef>>,
    len: Cell<usize>,
}

impl LiveList {
    pub(crate) const fn new() -> LiveList {
        LiveList {
            head: Cell::new(None),
            len: Cell::new(0),
        }
    }

    /// Adds `task`, which must not be in the list.
    #[inline]
    pub(crate) fn insert(&self, task: TaskRef) {
        let h = task.header();
        let old = self.head.get();
        h.live_prev.set(None);
        h.live_next.set(old);
        if let Some(old) = old {
            old.header().live_prev.set(Some(task));
        }
        self.head.set(Some(task));
        self.len.set(self.len.get() + 1);
    }

    /// Removes `task`, which must be in the list.
    #[inline]
    pub(crate) fn remove(&self, task: TaskRef) {
        let h = task.header();
        let prev = h.live_prev.take();
        let next = h.live_next.take();
        match prev {
            Some(prev) => prev.header().live_next.set(next),
            None => self.head.set(next),
        }
        if let Some(next) = next {
            next.header().live_prev.set(prev);
        }
        self.len.set(self.len.get() - 1);
    }

    /// Some task in the list (the newest).
    pub(crate) fn first(&self) -> Option<TaskRef> {
        self.head.get()
    }

    pub(crate) fn len(&self) -> usize {
        self.len.get()
    }
}
