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
//! cargo run --release --example echo_server -- 0.01 7    # 100x faster, seed 7
//! ```

use shimmer::{sleep, Duration, Instant};

fn main() {
    let mut args = std::env::args().skip(1);
    let scale: f64 = match args.next().map(|a| a.parse()) {
        None => 1.0,
        Some(Ok(s)) if s > 0.0 && f64::is_finite(s) => s,
        Some(_) => usage(),
    };
    let seed: u64 = match args.next().map(|a| a.parse()) {
        None => 0,
        Some(Ok(s)) => s,
        Some(Err(_)) => usage(),
    };
    shimmer::block_on(async move {
        let seed = if seed == 0 {
            Instant::now().as_nanos() | 1
        } else {
            seed
        };
        let mut rng = XorShift(seed);
        for _ in 0..10 {
            let line = read_line(&mut rng, scale).await;
            println!("{line}");
        }
    });
}

/// A line arrives after up to 2.5 s (scaled) and holds up to 19 `a`s.
async fn read_line(rng: &mut XorShift, scale: f64) -> String {
    let delay = Duration::from_secs_f64(rng.below(2500) as f64 / 1000.0 * scale);
    sleep(delay).await;
    "a".repeat(rng.below(20) as usize)
}

/// A tiny deterministic generator (xorshift64).
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn usage() -> ! {
    eprintln!("usage: echo_server [TIME-SCALE > 0] [SEED]");
    std::process::exit(2);
}
