//! The local run queue: an intrusive FIFO of task headers.
//!
//! Waking a task on the executor's own thread appends its header here by
//! writing two pointers: no allocation, no atomic. The link lives in the
//! header (`run_next`), so a task can be in the queue at most once — the
//! header's `QUEUED` flag says whether it is.

use core::cell::Cell;

use crate::task::header::TaskRef;

pub(crate) struct RunQueue {
    head: Cell<Option<TaskRef>>,
    tail: Cell<Option<TaskRef>>,
}

impl RunQueue {
    pub(crate) const fn new() -> RunQueue {
        RunQueue {
            head: Cell::new(None),
            tail: Cell::new(None),
        }
    }

    /// Appends `task`, which must not be in the queue already.
    #[inline]
    pub(crate) fn push(&self, task: TaskRef) {
        task.header().run_next.set(None);
        match self.tail.get() {
            Some(tail) => tail.header().run_next.set(Some(task)),
            None => self.head.set(Some(task)),
        }
        self.tail.set(Some(task));
    }

    /// Removes the oldest task.
    #[inline]
    pub(crate) fn pop(&self) -> Option<TaskRef> {
        let task = self.head.get()?;
        let next = task.header().run_next.take();
        self.head.set(next);
        if next.is_none() {
            self.tail.set(None);
        }
        Some(task)
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.head.get().is_none()
    }
}
