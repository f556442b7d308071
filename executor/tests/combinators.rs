//! join / join_all / pick / race / choose / nchoose / shield.

mod support;

use std::cell::{Cell, RefCell};
use std::future::pending;
use std::rc::Rc;
use std::time::Duration;

use shimmer_executor::future::{choose, join, join3, join_all, nchoose, pick, race, shield};
use shimmer_executor::{sleep, timeout, yield_now, Executor};
use support::{DropFlag, VirtualPark};

fn ex() -> (Executor, VirtualPark) {
    let park = VirtualPark::new();
    (Executor::new(park.clone()), park)
}

async fn after(ms: u64, v: u32) -> u32 {
    sleep(Duration::from_millis(ms)).await;
    v
}

#[test]
fn join_waits_for_both_in_place() {
    let (mut ex, park) = ex();
    let start = park.now();
    let out = ex.block_on(join(after(20, 1), after(10, 2)));
    assert_eq!(out, (1, 2));
    let took = park.now() - start;
    assert!(took >= Duration::from_millis(20) && took < Duration::from_millis(21));
    assert_eq!(
        ex.block_on(join3(after(1, 1), async { "x" }, after(2, 3))),
        (1, "x", 3)
    );
    assert_eq!(ex.stats().spawned, 0, "join spawned tasks");
}

#[test]
fn join_all_keeps_order() {
    let (mut ex, _) = ex();
    let out = ex.block_on(join_all((0..50u32).map(|i| after(u64::from(50 - i), i))));
    assert_eq!(out, (0..50).collect::<Vec<_>>());
    let empty: Vec<u32> = ex.block_on(join_all(Vec::<std::future::Ready<u32>>::new()));
    assert!(empty.is_empty());
}

#[test]
fn pick_returns_first_and_drops_the_rest_at_once() {
    let (mut ex, park) = ex();
    let dropped = Rc::new(RefCell::new(Vec::new()));
    let futs: Vec<_> = [30u64, 10, 20]
        .into_iter()
        .map(|ms| {
            let d = dropped.clone();
            let flag = Rc::new(Cell::new(false));
            async move {
                let guard = DropFlag(flag.clone());
                sleep(Duration::from_millis(ms)).await;
                drop(guard);
                d.borrow_mut().push(ms);
                ms
            }
        })
        .collect();
    let start = park.now();
    let winner = ex.block_on(pick(futs));
    assert_eq!(winner, 10);
    assert!(park.now() - start < Duration::from_millis(11));
    assert_eq!(*dropped.borrow(), [10], "losers must not run on");
    assert_eq!(ex.pending_timers(), 0, "losers' timers left in the wheel");
}

#[test]
fn pick_tie_goes_to_the_first_in_the_list() {
    let (mut ex, _) = ex();
    assert_eq!(ex.block_on(pick([after(5, 1), after(5, 2)])), 1);
    assert_eq!(ex.block_on(race(async { 7 }, async { 8 })), 7);
}

#[test]
fn race_cancels_the_loser() {
    let (mut ex, _) = ex();
    let dropped = Rc::new(Cell::new(false));
    let d = DropFlag(dropped.clone());
    let v = ex.block_on(race(after(1, 1), async move {
        let _d = d;
        pending::<u32>().await
    }));
    assert_eq!(v, 1);
    assert!(dropped.get());
}

#[test]
#[should_panic(expected = "pick of no futures")]
fn pick_of_nothing_panics() {
    drop(pick(Vec::<std::future::Ready<()>>::new()));
}

#[test]
fn choose_lets_the_others_run_on() {
    let (mut ex, _) = ex();
    let finished = Rc::new(RefCell::new(Vec::new()));
    let winner = ex.block_on(async {
        let futs: Vec<_> = [30u64, 10, 20]
            .into_iter()
            .map(|ms| {
                let f = finished.clone();
                async move {
                    sleep(Duration::from_millis(ms)).await;
                    f.borrow_mut().push(ms);
                    ms
                }
            })
            .collect();
        let w = choose(futs).await;
        sleep(Duration::from_millis(50)).await;
        w
    });
    assert_eq!(winner, 10);
    assert_eq!(*finished.borrow(), [10, 20, 30]);
}

#[test]
fn nchoose_returns_everything_done_at_the_first_wake() {
    let (mut ex, _) = ex();
    let (first, later) = ex.block_on(async {
        let futs: Vec<_> = [10u64, 5, 5, 40]
            .into_iter()
            .map(|ms| async move {
                sleep(Duration::from_millis(ms)).await;
                ms
            })
            .collect();
        let first = nchoose(futs).await;
        let later = nchoose([async { 1u64 }]).await;
        (first, later)
    });
    assert_eq!(first, [5, 5]);
    assert_eq!(later, [1]);
}

#[test]
fn choose_reraises_the_winners_panic() {
    let (mut ex, _) = ex();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ex.block_on(choose([async {
            yield_now().await;
            panic!("winner boom")
        }]))
    }));
    let p = r.unwrap_err();
    assert_eq!((*p).downcast_ref::<&str>(), Some(&"winner boom"));
}

#[test]
fn shield_survives_the_timeout_of_its_waiter() {
    let (mut ex, _) = ex();
    let done = Rc::new(Cell::new(false));
    ex.block_on(async {
        let d = done.clone();
        let work = shield(async move {
            sleep(Duration::from_millis(10)).await;
            d.set(true);
            5
        });
        assert!(timeout(Duration::from_millis(1), work).await.is_err());
        assert!(!done.get());
        sleep(Duration::from_millis(20)).await;
    });
    assert!(done.get(), "shielded work was cancelled");
    assert_eq!(ex.block_on(async { shield(async { 9 }).await }), 9);
}
