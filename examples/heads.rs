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
//! cargo run --release --example heads            # 1 s and 2 s
//! cargo run --release --example heads -- 0.01    # 100x faster
//! ```

use shimmer::{join, sleep, Duration};

fn main() {
    let scale = time_scale();
    shimmer::block_on(async move {
        let heads = async {
            sleep(Duration::from_secs_f64(1.0 * scale)).await;
            println!("Heads");
        };
        let tails = async {
            sleep(Duration::from_secs_f64(2.0 * scale)).await;
            println!("Tails");
        };
        join(heads, tails).await;
        println!("Finished");
    });
}

/// The first argument scales every delay (default 1.0).
fn time_scale() -> f64 {
    match std::env::args().nth(1).map(|a| a.parse::<f64>()) {
        None => 1.0,
        Some(Ok(s)) if s > 0.0 && s.is_finite() => s,
        Some(_) => {
            eprintln!("usage: heads [TIME-SCALE > 0]");
            std::process::exit(2);
        }
    }
}
