//! Property tests: random interleavings of operations by several tasks on a
//! Mutex, an MVar and a bounded channel, checked step by step against a
//! sequential model (plain `VecDeque`s) of the same FIFO / hand-off rules.
//!
//! Each step picks a task and an action: start an operation (and poll it),
//! poll the pending one again, or cancel it (drop the future). After every
//! step the real result of the poll and the set of tasks that were woken
//! must match the model's — a lost or spurious hand-off shows up at once.

mod sync_support;

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use proptest::prelude::*;
use shimmer_executor::sync::channel::{self, SendError};
use shimmer_executor::sync::{MVar, Mutex, MutexGuard};

const TASKS: usize = 4;

#[derive(Default)]
struct Flag(AtomicUsize);
impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// One task's pending operation.
struct Op<'a, O> {
    fut: Pin<Box<dyn Future<Output = O> + 'a>>,
}

struct TaskSlot<'a, O> {
    op: Option<Op<'a, O>>,
    flag: Arc<Flag>,
    waker: Waker,
}

impl<'a, O> TaskSlot<'a, O> {
    fn new() -> Self {
        let flag = Arc::new(Flag::default());
        let waker = Waker::from(flag.clone());
        TaskSlot {
            op: None,
            flag,
            waker,
        }
    }

    fn start(&mut self, fut: impl Future<Output = O> + 'a) {
        assert!(self.op.is_none());
        self.op = Some(Op { fut: Box::pin(fut) });
    }

    /// Polls the pending operation; clears the wake flag first (a poll
    /// consumes the wake-up).
    fn poll(&mut self) -> Poll<O> {
        self.flag.0.store(0, Ordering::SeqCst);
        let mut cx = Context::from_waker(&self.waker);
        let p = self.op.as_mut().unwrap().fut.as_mut().poll(&mut cx);
        if p.is_ready() {
            self.op = None;
        }
        p
    }

    fn woken(&self) -> bool {
        self.flag.0.load(Ordering::SeqCst) > 0
    }
}

fn check_wakes<O>(tasks: &[TaskSlot<'_, O>], model_woken: &[bool], step: usize) {
    for (i, t) in tasks.iter().enumerate() {
        if t.op.is_some() {
            assert_eq!(
                t.woken(),
                model_woken[i],
                "step {step}: task {i} wake mismatch"
            );
        }
    }
}

fn remove<T: PartialEq>(q: &mut VecDeque<T>, x: &T) -> bool {
    match q.iter().position(|y| y == x) {
        Some(i) => {
            q.remove(i);
            true
        }
        None => false,
    }
}

type Steps = Vec<(usize, u8, u32)>;

fn steps() -> impl Strategy<Value = Steps> {
    prop::collection::vec((0..TASKS, 0..10u8, 0..1000u32), 1..300)
}

// ===== Mutex =====

#[derive(Default)]
struct MutexModel {
    locked: bool,
    queue: VecDeque<usize>,
    handed: Option<usize>,
    woken: Vec<bool>,
}

impl MutexModel {
    fn unlock(&mut self) {
        match self.queue.pop_front() {
            Some(n) => {
                self.handed = Some(n);
                self.woken[n] = true;
            }
            None => self.locked = false,
        }
    }
    fn poll(&mut self, t: usize) -> bool {
        self.woken[t] = false;
        if self.handed == Some(t) {
            self.handed = None;
            true
        } else if self.queue.contains(&t) {
            false
        } else if !self.locked {
            self.locked = true;
            true
        } else {
            self.queue.push_back(t);
            false
        }
    }
    fn cancel(&mut self, t: usize) {
        self.woken[t] = false;
        if self.handed == Some(t) {
            self.handed = None;
            self.unlock();
        } else {
            remove(&mut self.queue, &t);
        }
    }
}

fn run_mutex(steps: Steps) {
    let m = Mutex::new(());
    let mut tasks: Vec<TaskSlot<'_, MutexGuard<'_, ()>>> =
        (0..TASKS).map(|_| TaskSlot::new()).collect();
    let mut guards: Vec<Option<MutexGuard<'_, ()>>> = (0..TASKS).map(|_| None).collect();
    let mut model = MutexModel {
        woken: vec![false; TASKS],
        ..Default::default()
    };
    for (step, (t, action, _)) in steps.into_iter().enumerate() {
        if guards[t].is_some() {
            if action < 5 {
                guards[t] = None;
                model.unlock();
            }
        } else if tasks[t].op.is_some() && action >= 7 {
            tasks[t].op = None;
            model.cancel(t);
        } else {
            if tasks[t].op.is_none() {
                tasks[t].start(m.lock());
            }
            let real = tasks[t].poll();
            let expect = model.poll(t);
            assert_eq!(real.is_ready(), expect, "step {step}: task {t} lock");
            if let Poll::Ready(g) = real {
                guards[t] = Some(g);
            }
        }
        check_wakes(&tasks, &model.woken, step);
        assert_eq!(m.is_locked(), model.locked, "step {step}");
        assert_eq!(m.waiters(), model.queue.len(), "step {step}");
        assert!(
            guards.iter().filter(|g| g.is_some()).count() <= 1,
            "mutual exclusion"
        );
    }
    drop(guards);
    drop(tasks);
}

// ===== MVar =====

#[derive(Default)]
struct MVarModel {
    slot: Option<u32>,
    reserved_for: Option<usize>,
    takers: VecDeque<usize>,
    putters: VecDeque<usize>,
    put_values: Vec<u32>,
    put_done: Vec<usize>,
    woken: Vec<bool>,
}

impl MVarModel {
    fn fill(&mut self, v: u32) {
        self.slot = Some(v);
        if let Some(n) = self.takers.pop_front() {
            self.reserved_for = Some(n);
            self.woken[n] = true;
        }
    }
    fn refill(&mut self) {
        if let Some(p) = self.putters.pop_front() {
            self.put_done.push(p);
            self.woken[p] = true;
            let v = self.put_values[p];
            self.fill(v);
        }
    }
    fn poll_take(&mut self, t: usize) -> Option<u32> {
        self.woken[t] = false;
        if self.reserved_for == Some(t) {
            self.reserved_for = None;
            let v = self.slot.take();
            self.refill();
            v
        } else if self.takers.contains(&t) {
            None
        } else if self.slot.is_some() && self.reserved_for.is_none() {
            let v = self.slot.take();
            self.refill();
            v
        } else {
            self.takers.push_back(t);
            None
        }
    }
    fn poll_put(&mut self, t: usize, v: u32) -> bool {
        self.woken[t] = false;
        if let Some(i) = self.put_done.iter().position(|&p| p == t) {
            self.put_done.remove(i);
            true
        } else if self.putters.contains(&t) {
            false
        } else if self.slot.is_none() {
            self.fill(v);
            true
        } else {
            self.put_values[t] = v;
            self.putters.push_back(t);
            false
        }
    }
    fn cancel(&mut self, t: usize) {
        self.woken[t] = false;
        if self.reserved_for == Some(t) {
            match self.takers.pop_front() {
                Some(n) => {
                    self.reserved_for = Some(n);
                    self.woken[n] = true;
                }
                None => self.reserved_for = None,
            }
        } else if !remove(&mut self.takers, &t) && !remove(&mut self.putters, &t) {
            self.put_done.retain(|&p| p != t);
        }
    }
}

fn run_mvar(steps: Steps) {
    let mv = MVar::empty();
    let mut tasks: Vec<TaskSlot<'_, Option<u32>>> = (0..TASKS).map(|_| TaskSlot::new()).collect();
    let mut kinds: Vec<Option<u32>> = vec![None; TASKS]; // Some(v) = put v, None = take
    let mut model = MVarModel {
        woken: vec![false; TASKS],
        put_values: vec![0; TASKS],
        ..Default::default()
    };
    let mut taken = Vec::new();
    for (step, (t, action, value)) in steps.into_iter().enumerate() {
        if tasks[t].op.is_some() && action >= 7 {
            tasks[t].op = None;
            model.cancel(t);
        } else {
            if tasks[t].op.is_none() {
                if action % 2 == 0 {
                    kinds[t] = Some(value);
                    let f = mv.put(value);
                    tasks[t].start(async move {
                        f.await;
                        None
                    });
                } else {
                    kinds[t] = None;
                    let f = mv.take();
                    tasks[t].start(async move { Some(f.await) });
                }
            }
            let real = tasks[t].poll();
            match kinds[t] {
                Some(v) => {
                    let expect = model.poll_put(t, v);
                    assert_eq!(real.is_ready(), expect, "step {step}: task {t} put");
                }
                None => {
                    let expect = model.poll_take(t);
                    let real = match real {
                        Poll::Ready(v) => v,
                        Poll::Pending => None,
                    };
                    assert_eq!(real, expect, "step {step}: task {t} take");
                    taken.extend(real);
                }
            }
        }
        check_wakes(&tasks, &model.woken, step);
        assert_eq!(mv.takers(), model.takers.len(), "step {step}");
        assert_eq!(mv.putters(), model.putters.len(), "step {step}");
        assert_eq!(
            mv.is_empty(),
            model.slot.is_none() || model.reserved_for.is_some(),
            "step {step}"
        );
    }
    drop(tasks);
    assert_eq!(mv.try_take(), model.slot);
}

// ===== bounded channel =====

#[derive(Default)]
struct ChanModel {
    cap: usize,
    buf: VecDeque<u32>,
    reserved: usize,
    closed: bool,
    recv_q: VecDeque<usize>,
    handed: Vec<usize>,
    recv_closed: Vec<usize>,
    send_q: VecDeque<usize>,
    send_values: Vec<u32>,
    send_done: Vec<usize>,
    send_closed: Vec<usize>,
    woken: Vec<bool>,
}

fn take_from(v: &mut Vec<usize>, t: usize) -> bool {
    match v.iter().position(|&x| x == t) {
        Some(i) => {
            v.remove(i);
            true
        }
        None => false,
    }
}

impl ChanModel {
    fn push(&mut self, v: u32) {
        self.buf.push_back(v);
        if let Some(r) = self.recv_q.pop_front() {
            self.reserved += 1;
            self.handed.push(r);
            self.woken[r] = true;
        }
    }
    fn after_pop(&mut self) {
        if let Some(s) = self.send_q.pop_front() {
            self.send_done.push(s);
            self.woken[s] = true;
            let v = self.send_values[s];
            self.push(v);
        }
    }
    fn pop_unreserved(&mut self) -> Option<u32> {
        if self.buf.len() > self.reserved {
            let v = self.buf.pop_front();
            self.after_pop();
            v
        } else {
            None
        }
    }
    /// `None` = pending; `Some(x)` = ready with x.
    fn poll_recv(&mut self, t: usize) -> Option<Option<u32>> {
        self.woken[t] = false;
        if take_from(&mut self.handed, t) {
            self.reserved -= 1;
            let v = self.buf.pop_front();
            self.after_pop();
            Some(v)
        } else if take_from(&mut self.recv_closed, t) {
            Some(self.pop_unreserved())
        } else if self.recv_q.contains(&t) {
            None
        } else if let Some(v) = self.pop_unreserved() {
            Some(Some(v))
        } else if self.closed {
            Some(None)
        } else {
            self.recv_q.push_back(t);
            None
        }
    }
    /// `None` = pending; `Some(Ok/Err)`.
    fn poll_send(&mut self, t: usize, v: u32) -> Option<Result<(), u32>> {
        self.woken[t] = false;
        if take_from(&mut self.send_done, t) {
            Some(Ok(()))
        } else if take_from(&mut self.send_closed, t) {
            Some(Err(self.send_values[t]))
        } else if self.send_q.contains(&t) {
            None
        } else if self.closed {
            Some(Err(v))
        } else if self.buf.len() < self.cap {
            self.push(v);
            Some(Ok(()))
        } else {
            self.send_values[t] = v;
            self.send_q.push_back(t);
            None
        }
    }
    fn close(&mut self) {
        if self.closed {
            return;
        }
        self.closed = true;
        while let Some(s) = self.send_q.pop_front() {
            self.send_closed.push(s);
            self.woken[s] = true;
        }
        while let Some(r) = self.recv_q.pop_front() {
            self.recv_closed.push(r);
            self.woken[r] = true;
        }
    }
    fn cancel(&mut self, t: usize) {
        self.woken[t] = false;
        if take_from(&mut self.handed, t) {
            match self.recv_q.pop_front() {
                Some(n) => {
                    self.handed.push(n);
                    self.woken[n] = true;
                }
                None => self.reserved -= 1,
            }
        } else {
            take_from(&mut self.recv_closed, t);
            remove(&mut self.recv_q, &t);
            remove(&mut self.send_q, &t);
            take_from(&mut self.send_done, t);
            take_from(&mut self.send_closed, t);
        }
    }
}

#[derive(Debug, PartialEq)]
enum ChanOut {
    Sent(Result<(), u32>),
    Received(Option<u32>),
}

fn run_channel(cap: usize, steps: Steps) {
    let (tx, rx) = channel::bounded(cap);
    let mut tasks: Vec<TaskSlot<'_, ChanOut>> = (0..TASKS).map(|_| TaskSlot::new()).collect();
    let mut kinds: Vec<Option<u32>> = vec![None; TASKS];
    let mut model = ChanModel {
        cap,
        woken: vec![false; TASKS],
        send_values: vec![0; TASKS],
        ..Default::default()
    };
    for (step, (t, action, value)) in steps.into_iter().enumerate() {
        if action == 9 && value < 20 {
            // Rarely, close the channel from outside.
            tx.close();
            model.close();
        } else if tasks[t].op.is_some() && action >= 7 {
            tasks[t].op = None;
            model.cancel(t);
        } else {
            if tasks[t].op.is_none() {
                if action % 2 == 0 {
                    kinds[t] = Some(value);
                    let f = tx.send(value);
                    tasks[t].start(async move { ChanOut::Sent(f.await.map_err(|SendError(v)| v)) });
                } else {
                    kinds[t] = None;
                    let f = rx.recv();
                    tasks[t].start(async move { ChanOut::Received(f.await) });
                }
            }
            let real = tasks[t].poll();
            let expect = match kinds[t] {
                Some(v) => model.poll_send(t, v).map(ChanOut::Sent),
                None => model.poll_recv(t).map(ChanOut::Received),
            };
            let real = match real {
                Poll::Ready(o) => Some(o),
                Poll::Pending => None,
            };
            assert_eq!(real, expect, "step {step}: task {t}");
        }
        check_wakes(&tasks, &model.woken, step);
        assert_eq!(rx.len(), model.buf.len(), "step {step}");
        assert_eq!(rx.is_closed(), model.closed, "step {step}");
    }
    drop(tasks);
    let rest: Vec<u32> = rx.drain().collect();
    assert_eq!(rest, Vec::from(model.buf));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn mutex_matches_the_model(steps in steps()) {
        run_mutex(steps);
    }

    #[test]
    fn mvar_matches_the_model(steps in steps()) {
        run_mvar(steps);
    }

    #[test]
    fn bounded_channel_matches_the_model(cap in 1..4usize, steps in steps()) {
        run_channel(cap, steps);
    }
}
