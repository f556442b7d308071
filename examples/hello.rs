//! mirage-skeleton's `hello`: print "hello" four times, one interval apart.
//!
//! ```sh
//! cargo run --release --example hello                       # 1 s apart
//! cargo run --release --example hello -- --interval 20ms    # faster (units: ns, us, ms, s)
//! ```
#![cfg_attr(feature = "xen", no_std, no_main)]

use shimmer::Duration;

#[shimmer::main(options(interval = "time between two hellos, e.g. 1s, 250ms (default 1s)"))]
async fn main() {
    let interval = shimmer::args().duration_or("interval", Duration::from_secs(1));
    let mut ticks = shimmer::interval(interval);
    ticks.tick().await; // the first tick is immediate
    for _ in 0..4 {
        shimmer::println!("hello");
        ticks.tick().await;
    }
}
