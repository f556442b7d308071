//! A packet blaster / sink / reflector over the raw network device
//! (`shimmer::net::device()`: a TAP on Unix, netfront on Xen), for packet
//! throughput benchmarks.
//!
//! ```sh
//! cargo run --release --example pktgen -- --tap tap0 --mode send --size 64 --seconds 5
//! cargo run --release --example pktgen -- --tap tap0 --mode recv --count 1000000
//! cargo run --release --example pktgen -- --tap tap0 --mode echo --seconds 30
//! ```
//! `send` writes frames of `--size` bytes (Ethernet header included: to
//! the broadcast address, EtherType 0x88b5 "local experimental", a sequence
//! number in the payload); `recv` counts the frames that arrive; `echo` sends
//! each frame back with the addresses swapped. Each stops after `--count`
//! frames or `--seconds` (whichever comes first; 10 s if neither is given)
//! and prints frames/s and Gbit/s.
#![cfg_attr(feature = "xen", no_std, no_main)]

use shimmer::io::net::{MacAddr, Net, ETHERNET_HEADER_LEN};
use shimmer::{Duration, Error, ErrorKind, Instant};

/// EtherType 0x88b5: IEEE 802 "local experimental".
const ETHERTYPE: [u8; 2] = [0x88, 0xb5];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Send,
    Recv,
    Echo,
}

impl core::str::FromStr for Mode {
    type Err = &'static str;
    fn from_str(s: &str) -> Result<Mode, &'static str> {
        match s {
            "send" => Ok(Mode::Send),
            "recv" => Ok(Mode::Recv),
            "echo" => Ok(Mode::Echo),
            _ => Err("expected send, recv or echo"),
        }
    }
}

#[shimmer::main(options(
    mode = "send, recv or echo (default send)",
    size = "frame size in bytes, Ethernet header included (default 64)",
    count = "stop after this many frames",
    seconds = "stop after this many seconds (default 10 when --count is not given)"
))]
async fn main() -> Result<(), Error> {
    let args = shimmer::args();
    let mode: Mode = args.parse_or("mode", Mode::Send);
    let size: usize = args.parse_or("size", 64);
    let count: Option<u64> = args.parse("count");
    let seconds: Option<u64> = args.parse("seconds");
    let limit = seconds.or(if count.is_none() { Some(10) } else { None });

    let dev = shimmer::net::device().await?;
    if size < ETHERNET_HEADER_LEN + 8 || size > dev.max_frame_len() {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            format_args!(
                "--size must be {} to {}",
                ETHERNET_HEADER_LEN + 8,
                dev.max_frame_len()
            ),
        ));
    }
    let done = Counters::default();
    let start = Instant::now();
    let work = run(&dev, mode, size, count.unwrap_or(u64::MAX), &done);
    match limit {
        Some(secs) => {
            let end = shimmer::sleep(Duration::from_secs(secs));
            shimmer::race(work, async {
                end.await;
                Ok(())
            })
            .await?
        }
        None => work.await?,
    }
    let secs = start.elapsed().as_secs_f64().max(1e-9);
    let (frames, bytes) = (done.frames.get(), done.bytes.get());
    let verb = match mode {
        Mode::Send => "sent",
        Mode::Recv => "received",
        Mode::Echo => "echoed",
    };
    shimmer::println!(
        "pktgen: {verb} {frames} frames ({bytes} bytes) in {secs:.3} s: {:.0} frames/s, {:.3} Gbit/s",
        frames as f64 / secs,
        bytes as f64 * 8.0 / secs / 1e9
    );
    Ok(())
}

/// What has been done so far (read after the deadline cancels the work).
#[derive(Default)]
struct Counters {
    frames: core::cell::Cell<u64>,
    bytes: core::cell::Cell<u64>,
}

impl Counters {
    fn add(&self, len: usize) {
        self.frames.set(self.frames.get() + 1);
        self.bytes.set(self.bytes.get() + len as u64);
    }
}

async fn run<D: Net>(
    dev: &D,
    mode: Mode,
    size: usize,
    count: u64,
    done: &Counters,
) -> Result<(), Error> {
    let mac = dev.mac();
    let mut seq = 0u64;
    while done.frames.get() < count {
        // A device that is always ready (tun takes every write at once)
        // would never let the deadline's timer run: let it in now and then.
        if done.frames.get() % 64 == 63 {
            shimmer::yield_now().await;
        }
        match mode {
            Mode::Send => {
                dev.send_ready().await?;
                let sent = dev.send(size, |frame| {
                    write_header(frame, MacAddr::BROADCAST, mac);
                    frame[ETHERNET_HEADER_LEN..ETHERNET_HEADER_LEN + 8]
                        .copy_from_slice(&seq.to_be_bytes());
                    size
                });
                match sent {
                    Ok(()) => {}
                    Err(ErrorKind::WouldBlock) => continue,
                    Err(e) => return Err(e.into()),
                }
                seq += 1;
                done.add(size);
            }
            Mode::Recv => {
                let frame = dev.recv().await?;
                if is_ours(frame.as_slice()) {
                    done.add(frame.len());
                }
            }
            Mode::Echo => {
                let frame = dev.recv().await?;
                let data = frame.as_slice();
                if !is_ours(data) {
                    continue;
                }
                let from = MacAddr(data[6..12].try_into().expect("6 bytes"));
                dev.send_ready().await?;
                dev.send(data.len(), |out| {
                    out.copy_from_slice(data);
                    write_header(out, from, mac);
                    data.len()
                })?;
                done.add(data.len());
            }
        }
    }
    Ok(())
}

fn write_header(frame: &mut [u8], to: MacAddr, from: MacAddr) {
    frame[0..6].copy_from_slice(&to.0);
    frame[6..12].copy_from_slice(&from.0);
    frame[12..14].copy_from_slice(&ETHERTYPE);
}

fn is_ours(frame: &[u8]) -> bool {
    frame.len() >= ETHERNET_HEADER_LEN && frame[12..14] == ETHERTYPE
}
