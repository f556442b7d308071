//! `Scope`: structured concurrency for tasks (Lwt_switch, Eio's Switch).
//!
//! `Lwt.async` loses exceptions and leaves fibers running after the code
//! that started them is gone. A scope fixes both: children spawned in it
//! are cancelled and awaited when the scope ends — whether its body returns,
//! returns an error, panics, or the scope's future is dropped — and an
//! error or a panic in a child cancels its siblings and the body, and
//! reaches the scope's owner as the scope's result.
//!
//! ```
//! use shimmer_executor::{block_on, scope, sleep, Duration};
//!
//! let result: Result<(), &str> = block_on(scope(|s| async move {
//!     s.spawn(async {
//!         sleep(Duration::from_millis(1)).await;
//!         Err("disk full")
//!     });
//!     s.spawn(async {
//!         sleep(Duration::from_secs(3600)).await; // cancelled by the error
//!         Ok(())
//!     });
//!     sleep(Duration::from_secs(3600)).await; // so is the body
//!     Ok(())
//! }));
//! assert_eq!(result, Err("disk full"));
//! ```
//!
//! Work that must not be cut half way goes in [`Scope::spawn_shielded`]: it
//! is awaited, never cancelled, when the scope ends.

use alloc::rc::Rc;
use alloc::vec::Vec;
use core::cell::{Cell, RefCell};
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use crate::task::{spawn, JoinHandle};

/// Runs `body` with a [`Scope`] and returns its result once every child has
/// finished: `Ok` from the body, or the first error of the body or of a
/// child. A panic of a child is re-raised here (with `std`).
pub fn scope<E, R, Fut, B>(body: B) -> ScopeRun<E, R, Fut>
where
    E: 'static,
    B: FnOnce(Scope<E>) -> Fut,
    Fut: Future<Output = Result<R, E>>,
{
    let inner = Rc::new(ScopeInner {
        children: RefCell::new(Vec::new()),
        pruned_at: Cell::new(0),
        failure: RefCell::new(None),
        owner: Cell::new(None),
        closed: Cell::new(false),
    });
    let body = body(Scope {
        inner: inner.clone(),
    });
    ScopeRun {
        body: Some(body),
        inner,
        outcome: None,
    }
}

/// The handle a scope's body (and its children) spawn with. Cloning it is
/// cheap; it is `!Send`, like the tasks.
pub struct Scope<E> {
    inner: Rc<ScopeInner<E>>,
}

impl<E> Clone for Scope<E> {
    fn clone(&self) -> Self {
        Scope {
            inner: self.inner.clone(),
        }
    }
}

struct ScopeInner<E> {
    children: RefCell<Vec<Child>>,
    /// `children.len()` after the last prune of finished children.
    pruned_at: Cell<usize>,
    failure: RefCell<Option<Failure<E>>>,
    owner: Cell<Option<Waker>>,
    closed: Cell<bool>,
}

struct Child {
    handle: JoinHandle<()>,
    shielded: bool,
}

enum Failure<E> {
    Error(E),
    #[cfg(feature = "std")]
    Panic(std::boxed::Box<dyn core::any::Any + Send>),
}

impl<E: 'static> Scope<E> {
    /// Spawns a child task. An `Err` it returns cancels the scope (its body
    /// and every other unshielded child) and becomes the scope's result, as
    /// does a panic. If the scope is already ending, `future` is dropped
    /// without running.
    ///
    /// # Panics
    /// Outside a shimmer executor.
    #[track_caller]
    pub fn spawn<F>(&self, future: F)
    where
        F: Future<Output = Result<(), E>> + 'static,
    {
        self.spawn_child(future, false)
    }

    /// Spawns a child that the scope's end awaits but never cancels (a block
    /// write, a grant being revoked). Its error or panic still cancels the
    /// others.
    #[track_caller]
    pub fn spawn_shielded<F>(&self, future: F)
    where
        F: Future<Output = Result<(), E>> + 'static,
    {
        self.spawn_child(future, true)
    }

    /// Whether the scope is ending (its children are being cancelled).
    pub fn is_closed(&self) -> bool {
        self.inner.closed.get()
    }

    #[track_caller]
    fn spawn_child<F>(&self, future: F, shielded: bool)
    where
        F: Future<Output = Result<(), E>> + 'static,
    {
        if self.inner.closed.get() {
            return;
        }
        let inner = self.inner.clone();
        let handle = spawn(async move {
            match catch_unwind(future).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => inner.fail(Failure::Error(e)),
                #[cfg(feature = "std")]
                Err(panic) => inner.fail(Failure::Panic(panic)),
                #[cfg(not(feature = "std"))]
                Err(never) => match never {},
            }
        });
        let mut children = self.inner.children.borrow_mut();
        children.push(Child { handle, shielded });
        // Forget finished children now and then, so a long-lived scope
        // with many short children stays small.
        if children.len() >= 2 * self.inner.pruned_at.get().max(16) {
            children.retain(|c| !c.handle.is_finished());
            self.inner.pruned_at.set(children.len());
        }
    }
}

impl<E> ScopeInner<E> {
    /// Records the first failure and wakes the owner.
    fn fail(&self, failure: Failure<E>) {
        if self.closed.get() {
            return;
        }
        {
            let mut slot = self.failure.borrow_mut();
            if slot.is_some() {
                return;
            }
            *slot = Some(failure);
        }
        if let Some(owner) = self.owner.take() {
            owner.wake();
        }
    }

    /// Stops new children and cancels the unshielded ones.
    fn close(&self) {
        if self.closed.replace(true) {
            return;
        }
        let children = core::mem::take(&mut *self.children.borrow_mut());
        for child in &children {
            if !child.shielded {
                child.handle.cancel_now();
            }
        }
        // Children may have spawned siblings while being dropped: those
        // were refused (closed), so `children` is complete.
        *self.children.borrow_mut() = children;
    }
}

pin_project_lite::pin_project! {
    /// The future returned by [`scope`].
    #[must_use = "futures do nothing unless polled"]
    pub struct ScopeRun<E, R, Fut> {
        #[pin]
        body: Option<Fut>,
        inner: Rc<ScopeInner<E>>,
        outcome: Option<Outcome<R, E>>,
    }

    impl<E, R, Fut> PinnedDrop for ScopeRun<E, R, Fut> {
        fn drop(this: Pin<&mut Self>) {
            // Dropped before the end: the body goes first, then the
            // children are cancelled (shielded ones run on, detached).
            let mut this = this.project();
            this.body.set(None);
            this.inner.close();
        }
    }
}

enum Outcome<R, E> {
    Body(Result<R, E>),
    Failed(Failure<E>),
}

impl<E, R, Fut> Future for ScopeRun<E, R, Fut>
where
    Fut: Future<Output = Result<R, E>>,
{
    type Output = Result<R, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        if let Some(body) = this.body.as_mut().as_pin_mut() {
            register(&this.inner.owner, cx.waker());
            let failure = this.inner.failure.borrow_mut().take();
            let outcome = match failure {
                Some(failure) => Outcome::Failed(failure),
                None => match body.poll(cx) {
                    Poll::Ready(result) => Outcome::Body(result),
                    Poll::Pending => return Poll::Pending,
                },
            };
            this.body.set(None); // cancels the body if a child failed
            *this.outcome = Some(outcome);
            this.inner.close();
        }
        // Closing: wait until every child has finished.
        {
            let mut children = this.inner.children.borrow_mut();
            while let Some(child) = children.last_mut() {
                match Pin::new(&mut child.handle).poll(cx) {
                    Poll::Ready(_) => {
                        children.pop();
                    }
                    Poll::Pending => return Poll::Pending,
                }
            }
        }
        match this
            .outcome
            .take()
            .expect("ScopeRun polled after completion")
        {
            Outcome::Body(result) => Poll::Ready(result),
            Outcome::Failed(Failure::Error(e)) => Poll::Ready(Err(e)),
            #[cfg(feature = "std")]
            Outcome::Failed(Failure::Panic(p)) => std::panic::resume_unwind(p),
        }
    }
}

fn register(slot: &Cell<Option<Waker>>, waker: &Waker) {
    let current = slot.take();
    match current {
        Some(w) if w.will_wake(waker) => slot.set(Some(w)),
        _ => slot.set(Some(waker.clone())),
    }
}

/// Polls `future`, turning a panic into `Err(payload)` (with `std`).
async fn catch_unwind<F: Future>(future: F) -> Result<F::Output, CaughtPanic> {
    let mut future = core::pin::pin!(future);
    core::future::poll_fn(move |cx| {
        #[cfg(feature = "std")]
        {
            match std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| {
                future.as_mut().poll(cx)
            })) {
                Ok(Poll::Ready(v)) => Poll::Ready(Ok(v)),
                Ok(Poll::Pending) => Poll::Pending,
                Err(payload) => Poll::Ready(Err(payload)),
            }
        }
        #[cfg(not(feature = "std"))]
        {
            future.as_mut().poll(cx).map(Ok)
        }
    })
    .await
}

#[cfg(feature = "std")]
type CaughtPanic = std::boxed::Box<dyn core::any::Any + Send>;
#[cfg(not(feature = "std"))]
type CaughtPanic = core::convert::Infallible;
