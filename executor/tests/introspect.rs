//! Introspection: counters, task names, the dump.

mod support;

use std::future::pending;
use std::sync::{Arc, Mutex};
use std::task::{Poll, Waker};
use std::time::Duration;

use shimmer_executor::introspect::{self, Idle, TaskState};
use shimmer_executor::{sleep, task, yield_now, Executor, StdPark};
use support::{plain_yield, VirtualPark};

#[test]
fn counters_count() {
    let mut ex = Executor::new(VirtualPark::new());
    let before = ex.stats();
    assert_eq!((before.spawned, before.live, before.polls), (0, 0, 0));
    let hs: Vec<_> = (0..10)
        .map(|_| {
            ex.spawn(async {
                plain_yield().await;
            })
        })
        .collect();
    assert_eq!(ex.stats().live, 10);
    ex.block_on(async {
        for h in hs {
            h.await.unwrap();
        }
    });
    let s = ex.stats();
    assert_eq!(s.spawned, 10);
    assert_eq!(s.live, 0);
    assert_eq!(s.polls, 20);
    assert!(s.wakes_local >= 10, "{s:?}");
    assert_eq!(s.wakes_remote, 0);
    assert!(s.parks >= 1);
    assert_eq!(s.time_parked, Duration::ZERO, "timing is off by default");
}

#[test]
fn remote_wakes_are_counted() {
    let mut ex = Executor::new(StdPark::new());
    let slot: Arc<Mutex<Option<Waker>>> = Arc::default();
    let s = slot.clone();
    let mut first = true;
    let task = ex.spawn(std::future::poll_fn(move |cx| {
        if first {
            first = false;
            *s.lock().unwrap() = Some(cx.waker().clone());
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    }));
    ex.block_on(yield_now());
    let w = slot.lock().unwrap().take().unwrap();
    std::thread::spawn(move || w.wake()).join().unwrap();
    ex.block_on(task).unwrap();
    assert_eq!(ex.stats().wakes_remote, 1);
}

#[test]
fn dump_lists_unfinished_tasks_with_names_and_locations() {
    let mut ex = Executor::new(VirtualPark::new());
    let named = task::Builder::new()
        .name("db writer")
        .spawn_on(&ex, pending::<()>());
    let line = line!() + 1;
    let unnamed = ex.spawn(async { sleep(Duration::from_secs(5)).await });
    let dynamic = task::Builder::new()
        .name(format!("conn {}", 42))
        .spawn_on(&ex, pending::<()>());
    let dump = ex.dump();
    assert_eq!(dump.tasks.len(), 3);
    assert!(dump
        .tasks
        .iter()
        .all(|t| t.state == TaskState::Queued && t.idle == Idle::NeverPolled));
    ex.block_on(yield_now());
    let dump = ex.dump();
    let names: Vec<_> = dump.tasks.iter().map(|t| t.name.as_deref()).collect();
    assert!(
        names.contains(&Some("db writer"))
            && names.contains(&Some("conn 42"))
            && names.contains(&None)
    );
    let unnamed_info = dump.tasks.iter().find(|t| t.name.is_none()).unwrap();
    assert_eq!(unnamed_info.location.file(), file!());
    assert_eq!(unnamed_info.location.line(), line);
    assert!(dump
        .tasks
        .iter()
        .all(|t| t.state == TaskState::Waiting && t.polls == 1));
    assert_eq!(dump.stats.timers, 1);
    let text = dump.to_string();
    assert!(text.contains("3 live tasks"), "{text}");
    assert!(
        text.contains("db writer")
            && text.contains("conn 42")
            && text.contains("tests/introspect.rs"),
        "{text}"
    );
    for h in [named, dynamic] {
        h.abort();
        assert!(ex.block_on(h).unwrap_err().is_cancelled());
    }
    unnamed.abort();
    let _ = ex.block_on(unnamed);
    assert!(ex.dump().tasks.is_empty());
}

#[test]
fn dump_from_inside_a_task_sees_itself_running() {
    shimmer_executor::block_on(async {
        let other = task::Builder::new().name("sleeper").spawn(pending::<()>());
        let me = task::Builder::new().name("dumper").spawn(async {
            yield_now().await;
            introspect::dump()
        });
        let dump = me.await.unwrap();
        let state_of = |n: &str| {
            dump.tasks
                .iter()
                .find(|t| t.name.as_deref() == Some(n))
                .unwrap()
                .state
        };
        assert_eq!(state_of("dumper"), TaskState::Running);
        assert_eq!(state_of("sleeper"), TaskState::Waiting);
        other.abort();
        let _ = other.await;
        assert_eq!(introspect::stats().live, 0);
    });
}

#[test]
fn timing_measures_parked_and_idle_time() {
    let park = VirtualPark::new();
    let mut ex = Executor::new(park.clone());
    ex.set_timing(true);
    let idle = ex.spawn(async {
        yield_now().await; // polled early, then waits forever
        pending::<()>().await
    });
    ex.block_on(async {
        yield_now().await;
        sleep(Duration::from_millis(30)).await;
    });
    let dump = ex.dump();
    let s = dump.stats;
    assert!(s.time_parked >= Duration::from_millis(30), "{s:?}");
    match dump.tasks[0].idle {
        Idle::Time(d) => assert!(
            d >= Duration::from_millis(29) && d <= Duration::from_millis(31),
            "{d:?}"
        ),
        other => panic!("{other:?}"),
    }
    idle.abort();
    let _ = ex.block_on(idle);
}
