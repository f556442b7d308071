//! Ten thousand idle connections, each with a server task waiting in
//! `read()`, cost little user memory, hold no page, and all go away when
//! closed. (A test binary of its own: other tests running in parallel
//! threads would disturb the process's RSS.)
//!
//! The clients live in a child process (this test binary again, run as
//! [`idle_client_process`]): a process may have at most `RLIMIT_NOFILE`
//! descriptors, whose hard limit here is 20 000 and cannot be raised without
//! `CAP_SYS_RESOURCE`, so 10 000 connections with both ends in one process
//! would not fit. The measured process then holds exactly what a server
//! holds: the accepted streams and their tasks.

mod support;

use std::cell::Cell;
use std::future::Future;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
use shimmer_executor::{introspect, sleep, spawn};
use shimmer_io::flow::Flow;
use shimmer_io::page::PagePool;
use shimmer_unix::net::{TcpListener, TcpStream};

const CONNECTIONS: usize = 10_000;

/// Set in the child that holds the client ends: `ADDR COUNT`.
const CLIENT_ENV: &str = "SHIMMER_IDLE_CLIENTS";

/// The bound on user memory per idle connection: the server's stream and its
/// task blocked in `read`. What one really holds is a `TcpStream` (a
/// descriptor, a reactor registration, two flags and a pool handle: under
/// 64 bytes), a reactor slot (under 100 bytes, in a vector that may be up to
/// twice as large as needed after growing) and one task (header and the
/// `read` future, a few hundred bytes): well under 1 KiB, so 1.5 KiB leaves
/// room for allocator slack while still failing if a connection held
/// anything page-sized (a 4 KiB read buffer per waiting reader, say, once
/// the kernel has written into it; the pool check below catches one never
/// written). Kernel memory (socket buffers) is not in the RSS and not
/// counted here.
const BOUND_PER_CONNECTION: usize = 1536;

/// Resident set size of this process, in bytes (`/proc/self/statm` counts
/// pages; `VmRSS` in `/proc/self/status` says the same in kB, which spares
/// asking for the page size).
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kb: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

/// Open descriptors of this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Descriptors the test needs besides the pairs (stdio, the epoll and
/// eventfd, the listener, the warm-up pair, the harness).
const SPARE_FDS: u64 = 64;

/// Raises the descriptor limit so that `want` descriptors and a few spare
/// fit, and returns how many fit: fewer than `want` when the hard limit is
/// lower and cannot be raised (no `CAP_SYS_RESOURCE`), or an error if too
/// few fit for the test to mean anything.
fn raise_nofile(want: usize) -> Result<usize, String> {
    let need = want as u64 + SPARE_FDS;
    let lim = getrlimit(Resource::Nofile);
    let (cur, max) = (
        lim.current.unwrap_or(u64::MAX),
        lim.maximum.unwrap_or(u64::MAX),
    );
    if cur >= need {
        return Ok(want);
    }
    let raised = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(need),
            maximum: Some(max.max(need)),
        },
    );
    let limit = match raised {
        Ok(()) => need,
        Err(e) => {
            // Not allowed past the hard limit: go up to it.
            setrlimit(
                Resource::Nofile,
                Rlimit {
                    current: Some(max),
                    maximum: Some(max),
                },
            )
            .map_err(|e2| format!("RLIMIT_NOFILE {lim:?} cannot be raised: {e}, {e2}"))?;
            eprintln!("note: RLIMIT_NOFILE cannot pass its hard limit {max} here ({e})");
            max
        }
    };
    let fit = usize::try_from(limit.saturating_sub(SPARE_FDS)).unwrap_or(want);
    if fit < want / 2 {
        return Err(format!(
            "RLIMIT_NOFILE {lim:?} allows only {fit} descriptors, want {want}"
        ));
    }
    Ok(fit.min(want))
}

fn run<F: Future>(f: F) -> F::Output {
    support::exec::run_within(Duration::from_secs(30), f)
}

/// The client side, in a child process (does nothing in a normal run):
/// connects `COUNT` times to `ADDR`, says `connected`, and holds the
/// connections until its stdin closes.
#[test]
fn idle_client_process() {
    let Ok(spec) = std::env::var(CLIENT_ENV) else {
        return;
    };
    let (addr, count) = spec.split_once(' ').expect("ADDR COUNT");
    let count: usize = count.parse().unwrap();
    assert_eq!(raise_nofile(count).unwrap(), count, "client descriptors");
    let clients: Vec<std::net::TcpStream> = (0..count)
        .map(|_| std::net::TcpStream::connect(addr).unwrap())
        .collect();
    println!("connected {}", clients.len());
    std::io::stdout().flush().unwrap();
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest); // until the parent closes it
}

/// Starts the child holding `count` client connections to `addr`.
fn spawn_clients(addr: SocketAddr, count: usize) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "idle_client_process",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CLIENT_ENV, format!("{addr} {count}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("the client process starts")
}

/// Waits (blocking) for the child's `connected` line.
fn wait_connected(child: &mut Child) {
    let out = child.stdout.as_mut().unwrap();
    let mut line = String::new();
    let mut reader = BufReader::new(out);
    loop {
        line.clear();
        assert_ne!(
            reader.read_line(&mut line).unwrap(),
            0,
            "the client process ended"
        );
        // libtest prints "test NAME ... " before running it, on the same line.
        if line.contains("connected ") {
            return;
        }
    }
}

#[test]
fn ten_thousand_idle_connections() {
    let conns = match raise_nofile(CONNECTIONS) {
        Ok(n) => n,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    if conns < CONNECTIONS {
        eprintln!("note: {conns} connections rather than {CONNECTIONS} (the descriptor limit)");
    }
    run(async {
        let start = Instant::now();
        let pool = PagePool::current();
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let listener = TcpListener::bind(any).unwrap();
        let addr = listener.local_addr().unwrap();
        // Warm up whatever is allocated once (the pool, the reactor's first
        // slots, the executor's queues), then measure.
        {
            let c = TcpStream::connect(addr).await.unwrap();
            let (s, _) = listener.accept().await.unwrap();
            c.write(b"warm").await.unwrap();
            assert_eq!(&s.read().await.unwrap().unwrap()[..], b"warm");
        }
        sleep(Duration::from_millis(1)).await;
        let fds_before = open_fds();
        let tasks_before = introspect::stats().live;
        let rss_before = rss();

        let mut clients = spawn_clients(addr, conns);
        let ended = Rc::new(Cell::new(0usize));
        for _ in 0..conns {
            let (s, _) = listener.accept().await.unwrap();
            let ended = ended.clone();
            // The server side waits for a request that never comes.
            spawn(async move {
                let r = s.read().await;
                assert!(matches!(r, Ok(None)), "{r:?}");
                ended.set(ended.get() + 1);
            })
            .detach();
        }
        wait_connected(&mut clients);
        // Let every server task reach its `read` and park there.
        sleep(Duration::from_millis(20)).await;
        let rss_idle = rss();
        let opened = start.elapsed();
        // One descriptor per connection, plus the two pipes to the child.
        assert_eq!(open_fds() - fds_before, conns + 2);
        assert_eq!(introspect::stats().live - tasks_before, conns);
        assert_eq!(pool.stats().in_use, 0, "a waiting read holds no page");
        let per_conn = rss_idle.saturating_sub(rss_before) / conns;
        eprintln!(
            "{conns} idle connections: RSS {} KiB -> {} KiB, {per_conn} bytes per connection, opened in {opened:?}",
            rss_before / 1024,
            rss_idle / 1024
        );
        assert!(
            per_conn < BOUND_PER_CONNECTION,
            "{per_conn} bytes of RSS per idle connection (bound {BOUND_PER_CONNECTION})"
        );

        // Close the clients: every server task reads end of stream and ends.
        drop(clients.stdin.take());
        assert!(
            clients.wait().unwrap().success(),
            "the client process failed"
        );
        drop(clients); // and its stdout pipe
        while ended.get() < conns {
            sleep(Duration::from_millis(1)).await;
        }
        // Let the finished tasks be freed.
        sleep(Duration::from_millis(1)).await;
        assert_eq!(introspect::stats().live, tasks_before, "tasks are gone");
        assert_eq!(open_fds(), fds_before, "descriptors are gone");
        assert_eq!(pool.stats().in_use, 0);
        eprintln!("all closed after {:?}", start.elapsed());
    });
}
