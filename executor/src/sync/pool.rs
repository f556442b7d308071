//! `Pool<M>`: Lwt_pool — a bounded set of reusable items (connections,
//! buffers, sessions) created on demand.
//!
//! A [`Manager`] says how to create an item (async, fallible), check that
//! an idle item is still good before it is handed out (`validate`), and
//! get rid of one (`dispose`). [`Pool::get`] returns an idle item that
//! validates, or creates one while fewer than `max` exist, or waits (FIFO)
//! until one is returned; an item that fails validation is disposed of and
//! a new one created in its place, as in Lwt_pool. The [`Pooled`] guard
//! returns its item on drop; [`Pooled::dispose`] retires it instead (Lwt's
//! `check` failing).
//!
//! # Cancellation
//!
//! A waiter is handed either an item or the right to create one (when an
//! item was disposed of and the count fell below `max`). A waiter dropped
//! before it used that grant passes it to the next waiter — or puts the
//! item back, or gives the slot back. A `get` dropped while validating
//! returns the item; while creating or disposing, it gives the slot back.
//! The count of items never drifts.

use alloc::collections::VecDeque;
use core::cell::{Cell, RefCell};
use core::fmt;
use core::future::Future;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::pin::Pin;
use core::task::{Context, Poll};

use pin_project_lite::pin_project;

use super::wait_queue::{State, WaitNode, WaitQueue, Wake};

/// How a [`Pool`] makes, checks and retires its items.
///
/// Implement it for a type of yours, or build one from closures with
/// [`manager`].
pub trait Manager {
    /// What the pool hands out.
    type Item;
    /// Why creating an item can fail.
    type Error;

    /// Makes a new item.
    fn create(&self) -> impl Future<Output = Result<Self::Item, Self::Error>>;

    /// Whether an idle item can still be used; run each time one is taken
    /// from the pool. An item that fails is disposed of and replaced.
    fn validate(&self, item: &mut Self::Item) -> impl Future<Output = bool> {
        let _ = item;
        core::future::ready(true)
    }

    /// Retires an item (close the connection…). The default drops it.
    fn dispose(&self, item: Self::Item) -> impl Future<Output = ()> {
        drop(item);
        core::future::ready(())
    }
}

/// A [`Manager`] made of closures: [`manager`]`(create)`, then optionally
/// [`.validate(f)`](FnManager::validate) and
/// [`.dispose(f)`](FnManager::dispose).
pub struct FnManager<T, E, C, V = AlwaysValid, D = DropItem> {
    create: C,
    validate: V,
    dispose: D,
    _types: PhantomData<fn() -> (T, E)>,
}

/// A [`Manager`] that creates items with the async closure `create`
/// (Lwt_pool.create's function argument).
pub fn manager<T, E, C>(create: C) -> FnManager<T, E, C>
where
    C: AsyncFn() -> Result<T, E>,
{
    FnManager {
        create,
        validate: AlwaysValid(()),
        dispose: DropItem(()),
        _types: PhantomData,
    }
}

impl<T, E, C, V, D> FnManager<T, E, C, V, D> {
    /// Checks idle items with `validate` before handing them out.
    pub fn validate<V2>(self, validate: V2) -> FnManager<T, E, C, V2, D>
    where
        V2: AsyncFn(&mut T) -> bool,
    {
        FnManager {
            create: self.create,
            validate,
            dispose: self.dispose,
            _types: PhantomData,
        }
    }

    /// Retires items with `dispose`.
    pub fn dispose<D2>(self, dispose: D2) -> FnManager<T, E, C, V, D2>
    where
        D2: AsyncFn(T),
    {
        FnManager {
            create: self.create,
            validate: self.validate,
            dispose,
            _types: PhantomData,
        }
    }
}

/// The default validation of [`FnManager`]: every item is good.
#[derive(Debug, Clone, Copy)]
pub struct AlwaysValid(());

/// The default disposal of [`FnManager`]: drop the item.
#[derive(Debug, Clone, Copy)]
pub struct DropItem(());

/// A validation step of [`FnManager`] (an `AsyncFn(&mut T) -> bool`, or
/// [`AlwaysValid`]).
pub trait Validate<T> {
    /// Whether `item` is still good.
    fn validate(&self, item: &mut T) -> impl Future<Output = bool>;
}

impl<T> Validate<T> for AlwaysValid {
    fn validate(&self, _item: &mut T) -> impl Future<Output = bool> {
        core::future::ready(true)
    }
}

impl<T, F: AsyncFn(&mut T) -> bool> Validate<T> for F {
    fn validate(&self, item: &mut T) -> impl Future<Output = bool> {
        self(item)
    }
}

/// A disposal step of [`FnManager`] (an `AsyncFn(T)`, or [`DropItem`]).
pub trait Dispose<T> {
    /// Retires `item`.
    fn dispose(&self, item: T) -> impl Future<Output = ()>;
}

impl<T> Dispose<T> for DropItem {
    fn dispose(&self, item: T) -> impl Future<Output = ()> {
        drop(item);
        core::future::ready(())
    }
}

impl<T, F: AsyncFn(T)> Dispose<T> for F {
    fn dispose(&self, item: T) -> impl Future<Output = ()> {
        self(item)
    }
}

impl<T, E, C, V, D> Manager for FnManager<T, E, C, V, D>
where
    C: AsyncFn() -> Result<T, E>,
    V: Validate<T>,
    D: Dispose<T>,
{
    type Item = T;
    type Error = E;

    fn create(&self) -> impl Future<Output = Result<T, E>> {
        (self.create)()
    }

    fn validate(&self, item: &mut T) -> impl Future<Output = bool> {
        self.validate.validate(item)
    }

    fn dispose(&self, item: T) -> impl Future<Output = ()> {
        self.dispose.dispose(item)
    }
}

impl<T, E, C, V, D> fmt::Debug for FnManager<T, E, C, V, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnManager").finish_non_exhaustive()
    }
}

/// What a waiter is handed.
enum Grant<T> {
    /// An idle item (still to be validated).
    Item(T),
    /// A slot: the right to create an item.
    Slot,
}

/// A pool of at most `max` items (Lwt_pool).
///
/// ```
/// use std::cell::Cell;
/// use shimmer_executor::{block_on, sync::pool::{self, Pool}};
///
/// block_on(async {
///     let made = Cell::new(0);
///     let pool = Pool::new(
///         2,
///         pool::manager(async || {
///             made.set(made.get() + 1);
///             Ok::<_, std::convert::Infallible>(Vec::<u8>::with_capacity(4096))
///         })
///         // A buffer somebody left dirty is thrown away and replaced.
///         .validate(async |buf: &mut Vec<u8>| buf.is_empty()),
///     );
///     let mut a = pool.get().await.unwrap();
///     a.extend_from_slice(b"dirty");
///     let b = pool.get().await.unwrap();
///     assert_eq!(pool.size(), 2);
///     drop(a); // back to the pool, dirty, first in line
///     drop(b);
///     let c = pool.get().await.unwrap(); // `a` fails validation: replaced
///     assert!(c.is_empty());
///     assert_eq!(made.get(), 3);
///     assert_eq!(pool.size(), 2);
/// });
/// ```
pub struct Pool<M: Manager> {
    manager: M,
    max: usize,
    /// Items created and not disposed of (idle, lent out, or being
    /// validated), plus slots handed out for creation.
    count: Cell<usize>,
    /// Idle items, oldest first (Lwt_pool reuses them in FIFO order).
    idle: RefCell<VecDeque<M::Item>>,
    /// Invariant: non-empty ⇒ no idle item and `count == max`.
    waiters: WaitQueue<Grant<M::Item>>,
}

impl<M: Manager> Pool<M> {
    /// A pool of at most `max` items, made by `manager`.
    ///
    /// # Panics
    /// If `max` is 0.
    pub fn new(max: usize, manager: M) -> Pool<M> {
        assert!(max > 0, "a pool needs room for at least one item");
        Pool {
            manager,
            max,
            count: Cell::new(0),
            idle: RefCell::new(VecDeque::new()),
            waiters: WaitQueue::new(),
        }
    }

    /// Takes an idle item that validates, or creates one, or waits for
    /// one to come back (FIFO). Fails only if `create` fails.
    pub async fn get(&self) -> Result<Pooled<'_, M>, M::Error> {
        let grant = Acquire {
            pool: self,
            node: WaitNode::new(&self.waiters),
        }
        .await;
        // From here on the claim gives back whatever it still holds if this
        // future is dropped.
        let mut claim = Claim {
            pool: self,
            grant: Some(grant),
        };
        if let Some(Grant::Item(item)) = &mut claim.grant {
            if self.manager.validate(item).await {
                let Some(Grant::Item(item)) = claim.grant.take() else {
                    unreachable!()
                };
                return Ok(Pooled {
                    pool: self,
                    item: Some(item),
                });
            }
            let Some(Grant::Item(item)) = claim.grant.replace(Grant::Slot) else {
                unreachable!()
            };
            self.manager.dispose(item).await;
        }
        debug_assert!(matches!(claim.grant, Some(Grant::Slot)));
        let created = self.manager.create().await;
        match created {
            Ok(item) => {
                claim.grant = None;
                Ok(Pooled {
                    pool: self,
                    item: Some(item),
                })
            }
            // The claim gives the slot back.
            Err(e) => Err(e),
        }
    }

    /// Disposes of every idle item (Lwt_pool.clear). Lent items are not
    /// affected.
    pub async fn clear(&self) {
        loop {
            let item = self.idle.borrow_mut().pop_front();
            let Some(item) = item else { return };
            let _slot = Claim {
                pool: self,
                grant: Some(Grant::Slot),
            };
            self.manager.dispose(item).await;
        }
    }

    /// Items in existence (idle, lent or being made), at most `max`.
    pub fn size(&self) -> usize {
        self.count.get()
    }

    /// Idle items.
    pub fn idle(&self) -> usize {
        self.idle.borrow().len()
    }

    /// The most items the pool will make.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Tasks waiting for an item (Lwt_pool.wait_queue_length).
    pub fn waiters(&self) -> usize {
        self.waiters.len()
    }

    /// The manager.
    pub fn manager(&self) -> &M {
        &self.manager
    }

    /// Gives a grant back: to the oldest waiter, or to the pool.
    fn release(&self, grant: Grant<M::Item>) {
        match self.waiters.pop_front_give(u64::MAX, Wake::HandOff, grant) {
            Ok(wakeup) => wakeup.wake(),
            Err(Grant::Item(item)) => self.idle.borrow_mut().push_back(item),
            Err(Grant::Slot) => self.count.set(self.count.get() - 1),
        }
    }
}

impl<M: Manager> fmt::Debug for Pool<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("max", &self.max)
            .field("size", &self.count.get())
            .field("idle", &self.idle())
            .field("waiters", &self.waiters.len())
            .finish()
    }
}

/// Gives back what a `get` still holds if it is dropped half way.
struct Claim<'a, M: Manager> {
    pool: &'a Pool<M>,
    grant: Option<Grant<M::Item>>,
}

impl<M: Manager> Drop for Claim<'_, M> {
    fn drop(&mut self) {
        if let Some(grant) = self.grant.take() {
            self.pool.release(grant);
        }
    }
}

pin_project! {
    /// Waits for a grant.
    struct Acquire<'a, M: Manager> {
        pool: &'a Pool<M>,
        #[pin]
        node: WaitNode<Grant<M::Item>, &'a WaitQueue<Grant<M::Item>>>,
    }

    impl<'a, M: Manager> PinnedDrop for Acquire<'a, M> {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if this.node.cancel() == State::Woken(Wake::HandOff) {
                if let Some(grant) = this.node.take_slot() {
                    this.pool.release(grant);
                }
            }
        }
    }
}

impl<M: Manager> Future for Acquire<'_, M> {
    type Output = Grant<M::Item>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let pool = *this.pool;
        let node = this.node.into_ref();
        if node.state() == State::Idle {
            let item = pool.idle.borrow_mut().pop_front();
            if let Some(item) = item {
                return Poll::Ready(Grant::Item(item));
            }
            if pool.count.get() < pool.max {
                pool.count.set(pool.count.get() + 1);
                return Poll::Ready(Grant::Slot);
            }
            node.enqueue();
        }
        match node.poll_wait(cx) {
            Poll::Ready(_) => {
                node.reset();
                Poll::Ready(node.take_slot().expect("a woken pool waiter holds a grant"))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// An item lent by a [`Pool`]; derefs to it and goes back on drop.
pub struct Pooled<'a, M: Manager> {
    pool: &'a Pool<M>,
    item: Option<M::Item>,
}

impl<M: Manager> Pooled<'_, M> {
    /// Retires the item instead of returning it (Lwt_pool's `check`
    /// failing): disposes of it, then frees its place for a new one.
    pub async fn dispose(mut self) {
        let item = self.item.take().expect("a lent item");
        let _slot = Claim {
            pool: self.pool,
            grant: Some(Grant::Slot),
        };
        self.pool.manager.dispose(item).await;
    }

    /// Takes the item out of the pool for good: it no longer counts
    /// against `max`.
    pub fn detach(mut self) -> M::Item {
        let item = self.item.take().expect("a lent item");
        self.pool.release(Grant::Slot);
        item
    }
}

impl<M: Manager> Deref for Pooled<'_, M> {
    type Target = M::Item;
    fn deref(&self) -> &M::Item {
        self.item.as_ref().expect("a lent item")
    }
}

impl<M: Manager> DerefMut for Pooled<'_, M> {
    fn deref_mut(&mut self) -> &mut M::Item {
        self.item.as_mut().expect("a lent item")
    }
}

impl<M: Manager> Drop for Pooled<'_, M> {
    fn drop(&mut self) {
        if let Some(item) = self.item.take() {
            self.pool.release(Grant::Item(item));
        }
    }
}

impl<M: Manager> fmt::Debug for Pooled<'_, M>
where
    M::Item: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Pooled").field(&self.item).finish()
    }
}
