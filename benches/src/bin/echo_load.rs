//! Load generator for the TCP echo benchmark (benches/echo.sh): one thread,
//! one edge-triggered epoll, `--conns` connections in a closed loop. Each
//! connection writes one message of `--size` bytes, reads the same number of
//! bytes back, and starts the next message at once.
//!
//! ```text
//! echo_load ADDR [--conns 64] [--size 64] [--secs 5] [--warmup 1]
//!                [--server-pid PID] [--verify]
//! ```
//!
//! After `--warmup` seconds it takes the first snapshot, after `--secs` more
//! the second, and reports what happened between the two: round trips/s, the
//! round-trip latency percentiles (write start to last byte read), and, with
//! `--server-pid`, the server's CPU time (utime + stime from
//! `/proc/PID/stat`, and the sum of `/proc/PID/task/*/schedstat` as a finer
//! cross-check) and the busy/steal share of cores 0 and 1 from `/proc/stat`.
//! The snapshots are taken by this process at the instants that bound the
//! counted round trips, so the CPU window is the measured window.
//!
//! `--verify`: every message gets its own content (from the connection number
//! and the message number) and every byte read back is compared with it;
//! the run fails at the first difference.
//!
//! Output: one line of `key=value` pairs on stdout (summarize_echo.py reads
//! it); errors on stderr with a non-zero exit.

use rustix::event::epoll;
use rustix::io::Errno;
use std::net::TcpStream;
use std::os::fd::AsFd;
use std::process::exit;
use std::time::{Duration, Instant};

struct Opts {
    addr: String,
    conns: usize,
    size: usize,
    secs: f64,
    warmup: f64,
    server_pid: Option<u32>,
    verify: bool,
}

fn usage(msg: &str) -> ! {
    eprintln!("echo_load: {msg}");
    eprintln!(
        "usage: echo_load ADDR [--conns N] [--size BYTES] [--secs S] [--warmup S] \
         [--server-pid PID] [--verify]"
    );
    exit(2)
}

fn opts() -> Opts {
    let mut o = Opts {
        addr: String::new(),
        conns: 64,
        size: 64,
        secs: 5.0,
        warmup: 1.0,
        server_pid: None,
        verify: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut val = |name: &str| {
            args.next()
                .unwrap_or_else(|| usage(&format!("{name} needs a value")))
        };
        match a.as_str() {
            "--conns" => o.conns = num(&val("--conns")),
            "--size" => o.size = num(&val("--size")),
            "--secs" => o.secs = num(&val("--secs")),
            "--warmup" => o.warmup = num(&val("--warmup")),
            "--server-pid" => o.server_pid = Some(num(&val("--server-pid"))),
            "--verify" => o.verify = true,
            _ if a.starts_with("--") => usage(&format!("unknown option {a}")),
            _ if o.addr.is_empty() => o.addr = a,
            _ => usage(&format!("unexpected argument {a}")),
        }
    }
    if o.addr.is_empty() {
        usage("ADDR missing");
    }
    if o.conns == 0 || o.size == 0 || o.secs <= 0.0 || o.warmup < 0.0 {
        usage("--conns, --size and --secs must be > 0, --warmup >= 0");
    }
    o
}

fn num<T: std::str::FromStr>(s: &str) -> T {
    s.parse()
        .unwrap_or_else(|_| usage(&format!("not a number: {s}")))
}

/// One connection of the closed loop.
struct Conn {
    s: TcpStream,
    /// This connection's current message (`--verify` only; else the shared one).
    own: Vec<u8>,
    /// Bytes of the current message written / read back.
    sent: usize,
    got: usize,
    /// An EPOLLIN edge arrived and the socket has not been read empty since.
    rx_ready: bool,
    /// When the current message's first write was issued.
    start: Instant,
    seq: u64,
}

/// Content of message `seq` on connection `id` (`--verify`).
fn fill(buf: &mut [u8], id: usize, seq: u64) {
    let mut x = ((id as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ seq.wrapping_mul(0xd1b5_4a32_d192_ed03))
        | 1;
    for chunk in buf.chunks_mut(8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let b = x.to_le_bytes();
        chunk.copy_from_slice(&b[..chunk.len()]);
    }
}

/// What the event loop counts.
struct Tally {
    round_trips: u64,
    /// Latencies (ns) of the round trips completed while `recording`.
    lat: Vec<u32>,
    recording: bool,
    verified: u64,
}

/// Moves `c` (connection number `id`) as far as the socket allows without
/// blocking: writes the rest of the message, reads what has come back, and on
/// a complete round trip starts the next message.
fn drive(
    c: &mut Conn,
    id: usize,
    shared: &[u8],
    rbuf: &mut [u8],
    verify: bool,
    t: &mut Tally,
) -> Result<(), String> {
    let size = rbuf.len();
    loop {
        let mut progress = false;
        if c.sent < size {
            let msg = if verify { &c.own[..] } else { shared };
            match rustix::io::write(c.s.as_fd(), &msg[c.sent..]) {
                Ok(n) => {
                    c.sent += n;
                    progress = n > 0;
                }
                Err(Errno::AGAIN) | Err(Errno::INTR) => {}
                Err(e) => return Err(format!("write: {e}")),
            }
        }
        if c.rx_ready && c.got < size {
            let want = size - c.got;
            match rustix::io::read(c.s.as_fd(), &mut rbuf[..want]) {
                Ok(0) => return Err("the server closed the connection".into()),
                Ok(n) => {
                    if verify {
                        if rbuf[..n] != c.own[c.got..c.got + n] {
                            let at = (0..n).find(|&i| rbuf[i] != c.own[c.got + i]).unwrap_or(0);
                            return Err(format!(
                                "verify: connection {id} message {} byte {}: got {:#04x}, sent {:#04x}",
                                c.seq,
                                c.got + at,
                                rbuf[at],
                                c.own[c.got + at]
                            ));
                        }
                        t.verified += n as u64;
                    }
                    if c.got + n > c.sent {
                        return Err(format!("connection {id}: more bytes back than sent"));
                    }
                    c.got += n;
                    // TCP reads return all that is queued up to the length asked
                    // for: a short read drained the socket, and the next
                    // arrival brings a new edge.
                    if n < want {
                        c.rx_ready = false;
                    }
                    progress = true;
                }
                Err(Errno::AGAIN) => c.rx_ready = false,
                Err(Errno::INTR) => {}
                Err(e) => return Err(format!("read: {e}")),
            }
        }
        if c.got == size {
            // Closed loop: nothing more can be queued until the next write.
            let now = Instant::now();
            t.round_trips += 1;
            if t.recording {
                let ns = now.duration_since(c.start).as_nanos();
                t.lat.push(u32::try_from(ns).unwrap_or(u32::MAX));
            }
            c.start = now;
            c.seq += 1;
            c.sent = 0;
            c.got = 0;
            c.rx_ready = false;
            if verify {
                fill(&mut c.own, id, c.seq);
            }
            progress = true;
        }
        if !progress {
            return Ok(());
        }
    }
}

/// CPU counters at one instant.
struct Snap {
    at: Instant,
    round_trips: u64,
    /// utime + stime of the server (ticks), and the sum of its threads' run time (ns).
    server: Option<(u64, u64)>,
    /// utime + stime of this process (ticks).
    me: u64,
    /// (busy, total, steal) jiffies of cpu0 and cpu1.
    cores: [(u64, u64, u64); 2],
}

/// utime + stime (fields 14 and 15) of `/proc/<who>/stat`, in clock ticks.
fn proc_ticks(who: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{who}/stat")).ok()?;
    // The command name (field 2) may hold spaces: count from the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Sum of the first field (ns on a CPU) of every /proc/PID/task/*/schedstat.
fn proc_sched_ns(pid: u32) -> Option<u64> {
    let mut sum = 0;
    for e in std::fs::read_dir(format!("/proc/{pid}/task")).ok()? {
        let p = e.ok()?.path().join("schedstat");
        if let Ok(s) = std::fs::read_to_string(p) {
            sum += s.split_whitespace().next()?.parse::<u64>().ok()?;
        }
    }
    Some(sum)
}

fn cores() -> [(u64, u64, u64); 2] {
    let mut out = [(0, 0, 0); 2];
    let s = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    for line in s.lines() {
        let mut f = line.split_whitespace();
        let i = match f.next() {
            Some("cpu0") => 0,
            Some("cpu1") => 1,
            _ => continue,
        };
        // user nice system idle iowait irq softirq steal ...
        let v: Vec<u64> = f.take(8).filter_map(|x| x.parse().ok()).collect();
        if v.len() == 8 {
            let total: u64 = v.iter().sum();
            out[i] = (total - v[3] - v[4], total, v[7]);
        }
    }
    out
}

fn snap(round_trips: u64, pid: Option<u32>) -> Snap {
    Snap {
        at: Instant::now(),
        round_trips,
        server: pid.and_then(|p| Some((proc_ticks(&p.to_string())?, proc_sched_ns(p)?))),
        me: proc_ticks("self").unwrap_or(0),
        cores: cores(),
    }
}

fn pct(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

fn main() {
    let o = opts();
    let ep = epoll::create(epoll::CreateFlags::CLOEXEC).unwrap_or_else(|e| {
        eprintln!("echo_load: epoll_create: {e}");
        exit(1)
    });
    let start = Instant::now();
    let mut conns = Vec::with_capacity(o.conns);
    for id in 0..o.conns {
        let s = TcpStream::connect(&o.addr).unwrap_or_else(|e| {
            eprintln!("echo_load: connect {} (connection {id}): {e}", o.addr);
            exit(1)
        });
        s.set_nodelay(true).expect("TCP_NODELAY");
        s.set_nonblocking(true).expect("O_NONBLOCK");
        let flags = epoll::EventFlags::IN | epoll::EventFlags::OUT | epoll::EventFlags::ET;
        epoll::add(&ep, &s, epoll::EventData::new_u64(id as u64), flags).expect("epoll_ctl");
        let mut own = Vec::new();
        if o.verify {
            own = vec![0; o.size];
            fill(&mut own, id, 0);
        }
        conns.push(Conn {
            s,
            own,
            sent: 0,
            got: 0,
            rx_ready: false,
            start,
            seq: 0,
        });
    }
    let shared = vec![0x5a_u8; o.size];
    let mut rbuf = vec![0_u8; o.size];
    let expect = o.secs * 2e5 + 1e4;
    let mut t = Tally {
        round_trips: 0,
        lat: Vec::with_capacity(expect.min(5e7) as usize),
        recording: false,
        verified: 0,
    };
    let fail = |id: usize, e: String| -> ! {
        eprintln!("echo_load: connection {id}: {e}");
        exit(1)
    };
    let now = Instant::now();
    for (id, c) in conns.iter_mut().enumerate() {
        c.start = now;
        if let Err(e) = drive(c, id, &shared, &mut rbuf, o.verify, &mut t) {
            fail(id, e)
        }
    }
    let warm_end = now + Duration::from_secs_f64(o.warmup);
    let mut first: Option<Snap> = None;
    let mut events = Vec::with_capacity(o.conns.max(1));
    let tick = rustix::event::Timespec {
        tv_sec: 0,
        tv_nsec: 10_000_000,
    };
    let last = loop {
        events.clear();
        match epoll::wait(
            &ep,
            rustix::buffer::spare_capacity(&mut events),
            Some(&tick),
        ) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => {
                eprintln!("echo_load: epoll_wait: {e}");
                exit(1)
            }
        }
        for ev in &events {
            let data = ev.data;
            let id = data.u64() as usize;
            let c = &mut conns[id];
            let flags = ev.flags;
            if flags
                .intersects(epoll::EventFlags::IN | epoll::EventFlags::HUP | epoll::EventFlags::ERR)
            {
                c.rx_ready = true;
            }
            if let Err(e) = drive(c, id, &shared, &mut rbuf, o.verify, &mut t) {
                fail(id, e)
            }
        }
        let now = Instant::now();
        match &first {
            None if now >= warm_end => {
                first = Some(snap(t.round_trips, o.server_pid));
                t.recording = true;
            }
            Some(f) if now.duration_since(f.at).as_secs_f64() >= o.secs => {
                break snap(t.round_trips, o.server_pid);
            }
            _ => {}
        }
    };
    let first = first.expect("first snapshot");
    drop(conns);

    let el = last.at.duration_since(first.at).as_secs_f64();
    let n = last.round_trips - first.round_trips;
    let mut lat = t.lat;
    lat.sort_unstable();
    let q = |p: f64| -> f64 {
        if lat.is_empty() {
            return 0.0;
        }
        let i = ((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1;
        lat[i] as f64 / 1e3
    };
    let hz = rustix::param::clock_ticks_per_second();
    let per_rt_us = |ticks: u64| ticks as f64 / hz as f64 * 1e6 / n.max(1) as f64;
    let mut line = format!(
        "conns={} size={} secs={:.3} round_trips={} rt_per_s={:.0} MB_per_s={:.1} \
         p50_us={:.1} p99_us={:.1} p999_us={:.1} max_us={:.1}",
        o.conns,
        o.size,
        el,
        n,
        n as f64 / el,
        n as f64 * o.size as f64 / el / 1e6,
        q(0.50),
        q(0.99),
        q(0.999),
        q(1.0),
    );
    if let (Some(pid), Some((t0, s0)), Some((t1, s1))) = (o.server_pid, first.server, last.server) {
        line += &format!(
            " server_pid={pid} clk_tck={hz} server_ticks={} server_us_per_rt={:.3} \
             server_sched_us_per_rt={:.3}",
            t1 - t0,
            per_rt_us(t1 - t0),
            (s1 - s0) as f64 / 1e3 / n.max(1) as f64,
        );
    } else if let Some(pid) = o.server_pid {
        eprintln!("echo_load: could not read /proc/{pid}/stat");
        exit(1);
    }
    let core = |i: usize| {
        let (b0, t0, st0) = first.cores[i];
        let (b1, t1, st1) = last.cores[i];
        (pct(b1 - b0, t1 - t0), pct(st1 - st0, t1 - t0))
    };
    let ((b0, st0), (b1, st1)) = (core(0), core(1));
    line += &format!(
        " load_us_per_rt={:.3} cpu0_busy_pct={b0:.1} cpu1_busy_pct={b1:.1} steal_pct={:.2}",
        per_rt_us(last.me - first.me),
        (st0 + st1) / 2.0
    );
    if o.verify {
        line += &format!(" verify=ok verified_bytes={}", t.verified);
    }
    println!("{line}");
}
