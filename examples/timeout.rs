//! mirage-skeleton's `tutorial/lwt/timeout1` and `timeout2`: a task that
//! takes a random 0–3 s, raced against a 2 s timeout.
//!
//! `timeout1` polls `Lwt.state` after the delay and calls `Lwt.cancel`;
//! `timeout2` uses `Lwt.pick`. In shimmer both are one line, and the loser
//! is cancelled by being dropped — no `Lwt.cancel`:
//!
//! * with [`shimmer::timeout`] (`Result<T, Elapsed>`), and
//! * with [`shimmer::race`] of two futures giving `Option<T>`, like `timeout2`.
//!
//! ```sh
//! cargo run --release --example timeout                                # real time, random seed
//! cargo run --release --example timeout -- --scale 0.01 --seed 42      # 100x faster, seed 42
//! ```
#![cfg_attr(feature = "xen", no_std, no_main)]

#[path = "support/lwt_tutorial.rs"]
mod lwt_tutorial;

use lwt_tutorial::{TimeScale, XorShift};
use shimmer::{race, sleep, timeout};

#[shimmer::main(options(
    scale = "multiply every delay by this, e.g. 0.01 (default 1)",
    seed = "random seed (default: from the clock)"
))]
async fn main() {
    let scale = shimmer::args().parse_or("scale", TimeScale::REAL_TIME);
    let mut rng = XorShift::new(shimmer::args().parse_or("seed", 0));
    let delay = |rng: &mut XorShift| scale.secs(rng.below(3000) as f64 / 1000.0);
    let limit = scale.secs(2.0);

    // timeout1, the shimmer way: the task is dropped at the deadline.
    let d = delay(&mut rng);
    let heads = async move {
        sleep(d).await;
        "Heads"
    };
    match timeout(limit, heads).await {
        Ok(v) => shimmer::println!("timeout: Returned {v:?} after {d:?}"),
        Err(_) => shimmer::println!("timeout: Cancelled ({d:?} > {limit:?})"),
    }

    // timeout2: Lwt.pick [ (tmout >|= fun () -> None); (t >|= fun v -> Some v) ]
    let d = delay(&mut rng);
    let heads = async move {
        sleep(d).await;
        Some("Heads")
    };
    let tmout = async move {
        sleep(limit).await;
        None
    };
    match race(tmout, heads).await {
        Some(v) => shimmer::println!("pick: Returned {v:?} after {d:?}"),
        None => shimmer::println!("pick: Cancelled ({d:?} > {limit:?})"),
    }
}
