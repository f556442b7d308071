//! Ten thousand idle connections, each with a server task waiting in
//! `read()`, cost little user memory, hold no page, and all go away when
//! closed. (A test binary of its own: other tests running in parallel
//! threads would disturb the process's RSS.)

mod support;

use std::cell::Cell;
use std::future::Future;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
use shimmer_executor::{introspect, sleep, spawn};
use shimmer_io::flow::Flow;
use shimmer_io::page::PagePool;
use shimmer_unix::net::{TcpListener, TcpStream};

const PAIRS: usize = 10_000;

/// The bound on user memory per idle pair: the client stream, the server
/// stream and the server's task blocked in `read`. What a pair really holds
/// is two `TcpStream`s (a descriptor, a reactor registration, two flags and
/// a pool handle: under 64 bytes each), two reactor slots (under 100 bytes
/// each, in a vector that may be up to twice as large as needed after
/// growing) and one task (header and the `read` future, a few hundred
/// bytes): well under 1 KiB (about 440 bytes measured), so 2 KiB leaves room
/// for allocator slack while still failing if a pair held anything
/// page-sized (a 4 KiB read buffer per waiting reader, say, once the kernel
/// has written into it; the pool check below catches one never written).
/// Kernel memory (socket buffers) is not in the RSS and not counted here.
const BOUND_PER_PAIR: usize = 2048;

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

/// Raises the descriptor limit so that `PAIRS` pairs fit, and returns how
/// many pairs do fit: fewer than `PAIRS` when the hard limit is lower and
/// cannot be raised (no `CAP_SYS_RESOURCE`), or an error if too few fit
/// for the test to mean anything.
fn raise_nofile() -> Result<usize, String> {
    let need = 2 * PAIRS as u64 + SPARE_FDS;
    let lim = getrlimit(Resource::Nofile);
    let (cur, max) = (
        lim.current.unwrap_or(u64::MAX),
        lim.maximum.unwrap_or(u64::MAX),
    );
    if cur >= need {
        return Ok(PAIRS);
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
    let pairs = usize::try_from(limit.saturating_sub(SPARE_FDS) / 2).unwrap_or(PAIRS);
    if pairs < PAIRS / 2 {
        return Err(format!(
            "RLIMIT_NOFILE {lim:?} allows only {pairs} pairs, want {PAIRS}"
        ));
    }
    Ok(pairs.min(PAIRS))
}

fn run<F: Future>(f: F) -> F::Output {
    support::exec::run_within(Duration::from_secs(30), f)
}

#[test]
fn ten_thousand_idle_connections() {
    let pairs = match raise_nofile() {
        Ok(pairs) => pairs,
        Err(why) => {
            eprintln!("skipped: {why}");
            return;
        }
    };
    if pairs < PAIRS {
        eprintln!("note: {pairs} pairs rather than {PAIRS} (the descriptor limit)");
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

        let ended = Rc::new(Cell::new(0usize));
        let mut clients = Vec::with_capacity(pairs);
        for _ in 0..pairs {
            let c = TcpStream::connect(addr).await.unwrap();
            let (s, _) = listener.accept().await.unwrap();
            let ended = ended.clone();
            // The server side waits for a request that never comes.
            drop(spawn(async move {
                let r = s.read().await;
                assert!(matches!(r, Ok(None)), "{r:?}");
                ended.set(ended.get() + 1);
            }));
            clients.push(c);
        }
        // Let every server task reach its `read` and park there.
        sleep(Duration::from_millis(20)).await;
        let rss_idle = rss();
        let opened = start.elapsed();
        assert_eq!(open_fds() - fds_before, 2 * pairs);
        assert_eq!(introspect::stats().live - tasks_before, pairs);
        assert_eq!(pool.stats().in_use, 0, "a waiting read holds no page");
        let per_pair = rss_idle.saturating_sub(rss_before) / pairs;
        eprintln!(
            "{pairs} idle pairs: RSS {} KiB -> {} KiB, {per_pair} bytes per pair, opened in {opened:?}",
            rss_before / 1024,
            rss_idle / 1024
        );
        assert!(
            per_pair < BOUND_PER_PAIR,
            "{per_pair} bytes of RSS per idle pair (bound {BOUND_PER_PAIR})"
        );

        // Close the clients: every server task reads end of stream and ends.
        drop(clients);
        while ended.get() < pairs {
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
