//! mirage-skeleton's `hello`: print "hello" four times, sleeping one
//! interval after each, and log (on stderr, or the console on Xen) how long
//! each sleep really took, measured with the runtime's clock.
//!
//! ```sh
//! cargo run --release --example hello                       # 1 s apart
//! cargo run --release --example hello -- --interval 20ms    # faster (units: ns, us, ms, s)
//! cargo run --release --example hello -- --log warn         # without the measurements
//! ```
#![cfg_attr(feature = "xen", no_std, no_main)]

use shimmer::{Duration, Instant};

#[shimmer::main(options(interval = "time between two hellos, e.g. 1s, 250ms (default 1s)"))]
async fn main() {
    let interval = shimmer::args().duration_or("interval", Duration::from_secs(1));
    for i in 1..=4 {
        shimmer::println!("hello");
        let start = Instant::now();
        shimmer::sleep(interval).await;
        let slept = Instant::now().duration_since(start).as_micros();
        shimmer::log::info!("interval {i}: {}.{:03} ms", slept / 1000, slept % 1000);
    }
}
