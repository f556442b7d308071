//! mirage-skeleton's `tutorial/lwt/echo_server`: read ten "lines" (each
//! arrives after a random delay of up to 2.5 s and is up to 20 `a`s long)
//! and log each one.
//!
//! ```ocaml
//! let read_line () = sleep (random 2500 ms) >|= fun () -> String.make (random 20) 'a'
//! let rec echo_server = function 0 -> return () | n -> read_line () >>= fun s -> log s; echo_server (n - 1)
//! ```
//!
//! The recursive Lwt loop is a plain `for` loop over `.await`.
//!
//! ```sh
//! cargo run --release --example echo_server
//! cargo run --release --example echo_server -- --scale 0.01 --seed 7   # 100x faster, seed 7
//! ```
#![cfg_attr(feature = "xen", no_std, no_main)]

extern crate alloc;

#[path = "support/lwt_tutorial.rs"]
mod lwt_tutorial;

use alloc::string::String;
use lwt_tutorial::{TimeScale, XorShift};
use shimmer::sleep;

#[shimmer::main(options(
    scale = "multiply every delay by this, e.g. 0.01 (default 1)",
    seed = "random seed (default: from the clock)"
))]
async fn main() {
    let scale = shimmer::args().parse_or("scale", TimeScale::REAL_TIME);
    let mut rng = XorShift::new(shimmer::args().parse_or("seed", 0));
    for _ in 0..10 {
        let line = read_line(&mut rng, scale).await;
        shimmer::println!("{line}");
    }
}

/// A line arrives after up to 2.5 s (scaled) and holds up to 19 `a`s.
async fn read_line(rng: &mut XorShift, scale: TimeScale) -> String {
    sleep(scale.secs(rng.below(2500) as f64 / 1000.0)).await;
    "a".repeat(rng.below(20) as usize)
}
