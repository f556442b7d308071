//! mirage-skeleton's `hello`: print "hello" four times, one interval apart.
//!
//! ```sh
//! cargo run --release --example hello            # 1 s apart
//! cargo run --release --example hello -- 20ms    # faster (units: ns, us, ms, s)
//! ```

use shimmer::Duration;

fn main() {
    let interval = match std::env::args().nth(1) {
        None => Duration::from_secs(1),
        Some(arg) => match parse_duration(&arg) {
            Some(d) => d,
            None => {
                eprintln!("hello: bad interval {arg:?} (expected e.g. 1s, 250ms, 500us)");
                std::process::exit(2);
            }
        },
    };
    shimmer::block_on(async move {
        let mut ticks = shimmer::interval(interval);
        ticks.tick().await; // the first tick is immediate
        for _ in 0..4 {
            println!("hello");
            ticks.tick().await;
        }
    });
}

/// `1s`, `250ms`, `500us`, `100ns`, or a bare number of seconds.
fn parse_duration(s: &str) -> Option<Duration> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits.parse().ok()?;
    match unit {
        "" | "s" => Some(Duration::from_secs(n)),
        "ms" => Some(Duration::from_millis(n)),
        "us" => Some(Duration::from_micros(n)),
        "ns" => Some(Duration::from_nanos(n)),
        _ => None,
    }
}
