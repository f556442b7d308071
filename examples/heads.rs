//! mirage-skeleton's `tutorial/lwt/heads1` and `heads2`: two sleeps joined.
//!
//! ```ocaml
//! Lwt.join [ (sleep 1 >|= fun () -> log "Heads"); (sleep 2 >|= fun () -> log "Tails") ]
//! >|= fun () -> log "Finished"
//! ```
//!
//! `join` polls both futures in place: no task, no allocation.
//!
//! ```sh
//! cargo run --release --example heads                     # 1 s and 2 s
//! cargo run --release --example heads -- --scale 0.01     # 100x faster
//! ```
#![cfg_attr(feature = "xen", no_std, no_main)]

#[path = "support/lwt_tutorial.rs"]
mod lwt_tutorial;

use lwt_tutorial::TimeScale;
use shimmer::{join, sleep};

#[shimmer::main(options(scale = "multiply every delay by this, e.g. 0.01 (default 1)"))]
async fn main() {
    let scale = shimmer::args().parse_or("scale", TimeScale::REAL_TIME);
    let heads = async {
        sleep(scale.secs(1.0)).await;
        shimmer::println!("Heads");
    };
    let tails = async {
        sleep(scale.secs(2.0)).await;
        shimmer::println!("Tails");
    };
    join(heads, tails).await;
    shimmer::println!("Finished");
}
