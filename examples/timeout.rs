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
//! cargo run --release --example timeout                  # real time, random seed
//! cargo run --release --example timeout -- 0.01 42       # 100x faster, seed 42
//! ```

use shimmer::{race, sleep, timeout, Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let scale = parse(args.next(), 1.0, |s: f64| s > 0.0 && s.is_finite());
    let seed = parse(args.next(), 0u64, |_| true);
    shimmer::block_on(async move {
        let seed = if seed == 0 {
            Instant::now().as_nanos() | 1
        } else {
            seed
        };
        let mut rng = XorShift(seed);
        let delay =
            |rng: &mut XorShift| Duration::from_secs_f64(rng.below(3000) as f64 / 1000.0 * scale);
        let limit = Duration::from_secs_f64(2.0 * scale);

        // timeout1, the shimmer way: the task is dropped at the deadline.
        let d = delay(&mut rng);
        let heads = async move {
            sleep(d).await;
            "Heads"
        };
        match timeout(limit, heads).await {
            Ok(v) => println!("timeout: Returned {v:?} after {d:?}"),
            Err(_) => println!("timeout: Cancelled ({d:?} > {limit:?})"),
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
            Some(v) => println!("pick: Returned {v:?} after {d:?}"),
            None => println!("pick: Cancelled ({d:?} > {limit:?})"),
        }
    });
}

/// A tiny deterministic generator (xorshift64): examples build for Xen too,
/// where there is no OS randomness to ask.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn parse<T: std::str::FromStr + Copy>(
    arg: Option<String>,
    default: T,
    ok: impl Fn(T) -> bool,
) -> T {
    match arg.map(|a| a.parse::<T>()) {
        None => default,
        Some(Ok(v)) if ok(v) => v,
        Some(_) => {
            eprintln!("usage: timeout [TIME-SCALE > 0] [SEED]");
            std::process::exit(2);
        }
    }
}
