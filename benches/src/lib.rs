//! The executor workloads, written once per runtime so that the criterion bench
//! (`benches/exec.rs`) and the allocation counter (`src/bin/allocs.rs`) run the
//! very same code.
//!
//! | group       | one iteration                                                        | per        |
//! |-------------|----------------------------------------------------------------------|------------|
//! | `spawn`     | spawn [`SPAWN_N`] trivial tasks, then await every handle             | task       |
//! | `pingpong`  | two spawned tasks bounce a token [`PINGPONG_N`] times through [`sig`] | round trip |
//! | `yield`     | one spawned task does [`YIELD_N`] plain self-wake yields             | yield      |
//! | `yield_now` | one spawned task does [`YIELD_N`] runtime `yield_now`s               | yield      |
//! | `timers`    | [`TIMER_N`] spawned tasks sleep [`timer_durations`], await all       | iteration  |
//!
//! Every runtime keeps one long-lived instance per bench (like a tokio
//! `Runtime`), so what is measured is the steady state, not construction.

use std::time::Duration;

/// Tasks spawned per `spawn` iteration.
pub const SPAWN_N: usize = 10_000;
/// Round trips per `pingpong` iteration.
pub const PINGPONG_N: usize = 100_000;
/// Yields per `yield` / `yield_now` iteration.
pub const YIELD_N: usize = 100_000;
/// Sleeping tasks per `timers` iteration.
pub const TIMER_N: usize = 10_000;
/// The longest sleep, in microseconds; the last task always sleeps exactly this.
pub const TIMER_MAX_US: u64 = 5_000;

/// `n` sleep durations drawn uniformly from `[0, 5 ms]` (µs resolution) with
/// the fixed seed `0x5eed`; the last one is exactly 5 ms, so an iteration can
/// never finish before 5 ms and `wall - 5 ms` is the lateness.
pub fn timer_durations(n: usize) -> Vec<Duration> {
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let mut ds: Vec<Duration> = (0..n)
        .map(|_| Duration::from_micros(rng.u64(0..=TIMER_MAX_US)))
        .collect();
    if let Some(last) = ds.last_mut() {
        *last = Duration::from_micros(TIMER_MAX_US);
    }
    ds
}

/// The plain yield every runtime gets in the `yield` group: wake self by
/// reference and return `Pending` once (`futures_lite::future::yield_now`).
pub async fn self_wake_yield() {
    futures_lite::future::yield_now().await
}

/// A runtime-agnostic, single-threaded, allocation-free notifier (one permit,
/// one waiter) built only on wakers, so that ping-pong measures the executor's
/// wake path and not a channel.
pub mod sig {
    use std::cell::{Cell, RefCell};
    use std::future::poll_fn;
    use std::rc::Rc;
    use std::task::{Poll, Waker};

    /// One permit plus the waker of the task waiting for it.
    #[derive(Default)]
    pub struct Signal {
        set: Cell<bool>,
        waiter: RefCell<Option<Waker>>,
    }

    impl Signal {
        /// Stores the permit and wakes the waiter, if any (by value).
        pub fn notify(&self) {
            self.set.set(true);
            let waiter = self.waiter.borrow_mut().take();
            if let Some(w) = waiter {
                w.wake();
            }
        }

        /// Waits for the permit and consumes it. The waker is cloned only when
        /// the stored one would not wake the same task.
        pub async fn notified(&self) {
            poll_fn(|cx| {
                if self.set.replace(false) {
                    return Poll::Ready(());
                }
                let mut slot = self.waiter.borrow_mut();
                let same = slot.as_ref().is_some_and(|w| w.will_wake(cx.waker()));
                if !same {
                    *slot = Some(cx.waker().clone());
                }
                Poll::Pending
            })
            .await
        }
    }

    /// Two fresh signals: `a` is what the pinger waits on, `b` the ponger.
    pub fn pair() -> (Rc<Signal>, Rc<Signal>) {
        (Rc::default(), Rc::default())
    }

    /// Serves `n` balls: notify `b`, wait on `a`.
    pub async fn ping(a: Rc<Signal>, b: Rc<Signal>, n: usize) {
        for _ in 0..n {
            b.notify();
            a.notified().await;
        }
    }

    /// Returns `n` balls: wait on `b`, notify `a`.
    pub async fn pong(a: Rc<Signal>, b: Rc<Signal>, n: usize) {
        for _ in 0..n {
            b.notified().await;
            a.notify();
        }
    }
}

/// shimmer: one [`Executor`](shimmer_executor::Executor) on a `StdPark`,
/// re-entered with `block_on` by every iteration.
pub mod shim {
    use super::{self_wake_yield, sig};
    use shimmer_executor::{sleep, spawn, yield_now, Executor, StdPark};
    use std::time::Duration;

    pub struct Shim {
        ex: Executor,
    }

    impl Default for Shim {
        fn default() -> Self {
            Self::new()
        }
    }

    impl Shim {
        pub fn new() -> Self {
            Shim {
                ex: Executor::new(StdPark::new()),
            }
        }

        pub fn spawn_n(&mut self, n: usize) {
            self.ex.block_on(async move {
                let mut handles = Vec::with_capacity(n);
                for _ in 0..n {
                    handles.push(spawn(async {}));
                }
                for h in handles {
                    h.await.unwrap();
                }
            })
        }

        pub fn pingpong_sig(&mut self, n: usize) {
            self.ex.block_on(async move {
                let (a, b) = sig::pair();
                let pong = spawn(sig::pong(a.clone(), b.clone(), n));
                let ping = spawn(sig::ping(a, b, n));
                ping.await.unwrap();
                pong.await.unwrap();
            })
        }

        /// Plain self-wake yields.
        pub fn yields(&mut self, n: usize) {
            self.ex.block_on(async move {
                spawn(async move {
                    for _ in 0..n {
                        self_wake_yield().await;
                    }
                })
                .await
                .unwrap();
            })
        }

        /// shimmer's `yield_now` (behind every ready task and one zero-timeout park).
        pub fn yields_now(&mut self, n: usize) {
            self.ex.block_on(async move {
                spawn(async move {
                    for _ in 0..n {
                        yield_now().await;
                    }
                })
                .await
                .unwrap();
            })
        }

        pub fn timers(&mut self, ds: &[Duration]) {
            self.ex.block_on(async move {
                let mut handles = Vec::with_capacity(ds.len());
                for &d in ds {
                    handles.push(spawn(sleep(d)));
                }
                for h in handles {
                    h.await.unwrap();
                }
            })
        }
    }
}

/// tokio `current_thread`. `local == false`: `tokio::spawn` inside
/// `Runtime::block_on`; `local == true`: `spawn_local` inside `LocalSet::block_on`.
pub mod tok {
    use super::{self_wake_yield, sig};
    use std::future::Future;
    use std::time::Duration;
    use tokio::runtime::{Builder, Runtime};
    use tokio::task::{JoinHandle, LocalSet};

    pub struct Tok {
        rt: Runtime,
        ls: LocalSet,
        local: bool,
    }

    impl Tok {
        /// `enable_all()`: the time driver and the I/O (epoll) driver, tokio's default.
        pub fn new(local: bool) -> Self {
            let rt = Builder::new_current_thread().enable_all().build().unwrap();
            Self::with_runtime(rt, local)
        }

        /// `enable_time()` only: no I/O driver, tokio parks on a condvar instead
        /// of `epoll_wait`. Only for the `yield_now` comparison.
        pub fn new_without_io(local: bool) -> Self {
            let rt = Builder::new_current_thread().enable_time().build().unwrap();
            Self::with_runtime(rt, local)
        }

        fn with_runtime(rt: Runtime, local: bool) -> Self {
            Tok {
                rt,
                ls: LocalSet::new(),
                local,
            }
        }

        fn run<F: Future>(&self, f: F) -> F::Output {
            if self.local {
                self.ls.block_on(&self.rt, f)
            } else {
                self.rt.block_on(f)
            }
        }

        fn spawn<F>(&self, f: F) -> JoinHandle<F::Output>
        where
            F: Future + Send + 'static,
            F::Output: Send + 'static,
        {
            if self.local {
                tokio::task::spawn_local(f)
            } else {
                tokio::spawn(f)
            }
        }

        pub fn spawn_n(&self, n: usize) {
            self.run(async {
                let mut handles = Vec::with_capacity(n);
                for _ in 0..n {
                    handles.push(self.spawn(async {}));
                }
                for h in handles {
                    h.await.unwrap();
                }
            })
        }

        /// The `Rc` signal is `!Send`: `spawn_local` only.
        pub fn pingpong_sig(&self, n: usize) {
            assert!(self.local, "pingpong_sig needs the LocalSet flavour");
            self.ls.block_on(&self.rt, async {
                let (a, b) = sig::pair();
                let pong = tokio::task::spawn_local(sig::pong(a.clone(), b.clone(), n));
                let ping = tokio::task::spawn_local(sig::ping(a, b, n));
                ping.await.unwrap();
                pong.await.unwrap();
            })
        }

        /// Plain self-wake yields.
        pub fn yields(&self, n: usize) {
            self.run(async {
                self.spawn(async move {
                    for _ in 0..n {
                        self_wake_yield().await;
                    }
                })
                .await
                .unwrap();
            })
        }

        /// `tokio::task::yield_now`: the wake is deferred until after the
        /// scheduler's next (zero-timeout) park of its driver.
        pub fn yields_now(&self, n: usize) {
            self.run(async {
                self.spawn(async move {
                    for _ in 0..n {
                        tokio::task::yield_now().await;
                    }
                })
                .await
                .unwrap();
            })
        }

        pub fn timers(&self, ds: &[Duration]) {
            self.run(async {
                let mut handles = Vec::with_capacity(ds.len());
                for &d in ds {
                    handles.push(self.spawn(tokio::time::sleep(d)));
                }
                for h in handles {
                    h.await.unwrap();
                }
            })
        }
    }
}

/// smol's `async_executor::LocalExecutor`, driven by `futures_lite::future::block_on`
/// (timers: `async_io::block_on`, which runs the async-io reactor on this thread).
pub mod smol {
    use super::{self_wake_yield, sig};
    use async_executor::LocalExecutor;
    use futures_lite::future::block_on;
    use std::time::Duration;

    pub struct Smol {
        ex: LocalExecutor<'static>,
    }

    impl Default for Smol {
        fn default() -> Self {
            Self::new()
        }
    }

    impl Smol {
        pub fn new() -> Self {
            Smol {
                ex: LocalExecutor::new(),
            }
        }

        pub fn spawn_n(&self, n: usize) {
            block_on(self.ex.run(async {
                let mut handles = Vec::with_capacity(n);
                for _ in 0..n {
                    handles.push(self.ex.spawn(async {}));
                }
                for h in handles {
                    h.await;
                }
            }))
        }

        pub fn pingpong_sig(&self, n: usize) {
            block_on(self.ex.run(async {
                let (a, b) = sig::pair();
                let pong = self.ex.spawn(sig::pong(a.clone(), b.clone(), n));
                let ping = self.ex.spawn(sig::ping(a, b, n));
                ping.await;
                pong.await;
            }))
        }

        pub fn yields(&self, n: usize) {
            block_on(self.ex.run(async {
                self.ex
                    .spawn(async move {
                        for _ in 0..n {
                            self_wake_yield().await;
                        }
                    })
                    .await
            }))
        }

        pub fn timers(&self, ds: &[Duration]) {
            async_io::block_on(self.ex.run(async {
                let mut handles = Vec::with_capacity(ds.len());
                for &d in ds {
                    handles.push(self.ex.spawn(async move {
                        async_io::Timer::after(d).await;
                    }));
                }
                for h in handles {
                    h.await;
                }
            }))
        }
    }
}

/// `futures_executor::LocalPool`: `run_until` with `RemoteHandle`s
/// (`spawn_local_with_handle`), or `spawn_local` + `run` without handles.
pub mod fut {
    use super::{self_wake_yield, sig};
    use futures::task::LocalSpawnExt;
    use futures_executor::LocalPool;
    use std::cell::Cell;
    use std::rc::Rc;
    use std::time::Duration;

    pub struct Fut {
        pool: LocalPool,
    }

    impl Default for Fut {
        fn default() -> Self {
            Self::new()
        }
    }

    impl Fut {
        pub fn new() -> Self {
            Fut {
                pool: LocalPool::new(),
            }
        }

        pub fn spawn_n(&mut self, n: usize) {
            let sp = self.pool.spawner();
            self.pool.run_until(async move {
                let mut handles = Vec::with_capacity(n);
                for _ in 0..n {
                    handles.push(sp.spawn_local_with_handle(async {}).unwrap());
                }
                for h in handles {
                    h.await;
                }
            })
        }

        /// No handles: each task counts itself down, `run` drives them all.
        pub fn spawn_n_detached(&mut self, n: usize) {
            let sp = self.pool.spawner();
            let left = Rc::new(Cell::new(n));
            for _ in 0..n {
                let left = left.clone();
                sp.spawn_local(async move { left.set(left.get() - 1) })
                    .unwrap();
            }
            self.pool.run();
            assert_eq!(left.get(), 0);
        }

        pub fn pingpong_sig(&mut self, n: usize) {
            let sp = self.pool.spawner();
            self.pool.run_until(async move {
                let (a, b) = sig::pair();
                let pong = sp
                    .spawn_local_with_handle(sig::pong(a.clone(), b.clone(), n))
                    .unwrap();
                let ping = sp.spawn_local_with_handle(sig::ping(a, b, n)).unwrap();
                ping.await;
                pong.await;
            })
        }

        pub fn yields(&mut self, n: usize) {
            let sp = self.pool.spawner();
            self.pool.run_until(async move {
                sp.spawn_local_with_handle(async move {
                    for _ in 0..n {
                        self_wake_yield().await;
                    }
                })
                .unwrap()
                .await
            })
        }

        /// `async_io::Timer`; LocalPool does not drive the async-io reactor, so
        /// async-io's own fallback thread does and wakes across threads.
        pub fn timers(&mut self, ds: &[Duration]) {
            let sp = self.pool.spawner();
            self.pool.run_until(async move {
                let mut handles = Vec::with_capacity(ds.len());
                for &d in ds {
                    let h = sp
                        .spawn_local_with_handle(async move {
                            async_io::Timer::after(d).await;
                        })
                        .unwrap();
                    handles.push(h);
                }
                for h in handles {
                    h.await;
                }
            })
        }
    }
}
