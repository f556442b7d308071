//! `IoSlot`: a value lent to one async operation at a time.
//!
//! `Flow` methods take `&self`, foreign streams want `&mut self` across an
//! await. The stream sits in a slot; an operation takes it out (waiting while
//! another has it) and a guard puts it back when the operation ends — also
//! when its future is dropped half way, so the stream is never lost — or
//! retires it for good (`close`).

use core::cell::RefCell;
use core::future::poll_fn;
use core::ops::{Deref, DerefMut};
use core::task::Poll;

use crate::mem::WakerList;
use crate::{Error, Result};

enum State<T> {
    Here(T),
    Lent,
    Gone,
}

pub(crate) struct IoSlot<T> {
    state: RefCell<State<T>>,
    waiters: RefCell<WakerList>,
}

impl<T> IoSlot<T> {
    pub(crate) fn new(io: T) -> IoSlot<T> {
        IoSlot {
            state: RefCell::new(State::Here(io)),
            waiters: RefCell::new(WakerList::new()),
        }
    }

    /// The stream, once no other operation has it; [`Error::Closed`] once it
    /// was retired.
    pub(crate) async fn take(&self) -> Result<SlotGuard<'_, T>> {
        poll_fn(|cx| {
            let mut state = self.state.borrow_mut();
            match core::mem::replace(&mut *state, State::Lent) {
                State::Here(io) => Poll::Ready(Ok(SlotGuard {
                    owner: self,
                    io: Some(io),
                })),
                State::Gone => {
                    *state = State::Gone;
                    Poll::Ready(Err(Error::Closed))
                }
                State::Lent => {
                    self.waiters.borrow_mut().register(cx.waker());
                    Poll::Pending
                }
            }
        })
        .await
    }

    /// Whether the stream was retired.
    pub(crate) fn is_gone(&self) -> bool {
        matches!(*self.state.borrow(), State::Gone)
    }

    /// The stream back, if it is in the slot now.
    pub(crate) fn into_inner(self) -> Option<T> {
        match self.state.into_inner() {
            State::Here(io) => Some(io),
            _ => None,
        }
    }
}

pub(crate) struct SlotGuard<'a, T> {
    owner: &'a IoSlot<T>,
    io: Option<T>,
}

impl<T> SlotGuard<'_, T> {
    /// Drops the stream for good: later `take`s fail with `Closed`.
    pub(crate) fn retire(mut self) {
        drop(self.io.take());
    }
}

impl<T> Deref for SlotGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.io.as_ref().expect("present until drop")
    }
}

impl<T> DerefMut for SlotGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.io.as_mut().expect("present until drop")
    }
}

impl<T> Drop for SlotGuard<'_, T> {
    fn drop(&mut self) {
        *self.owner.state.borrow_mut() = match self.io.take() {
            Some(io) => State::Here(io),
            None => State::Gone,
        };
        self.owner.waiters.borrow_mut().wake_all();
    }
}
