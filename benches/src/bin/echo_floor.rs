//! The syscall floor of the TCP echo benchmark (benches/echo.sh): one
//! thread, one edge-triggered epoll, and per readiness event one `read` into
//! a 64 KiB buffer and one `write` of what was read. Nothing else: no
//! runtime, no tasks, no wakers, no per-connection buffer unless the socket
//! refuses part of a write.
//!
//! ```text
//! echo_floor ADDR        # e.g. 127.0.0.1:8090
//! ```
//!
//! Edge-triggered: after a read that filled the whole buffer the socket is
//! read again (more may be queued, and no new edge would say so); a shorter
//! read emptied the socket, and the next arrival brings a new edge. A write
//! the socket takes only in part keeps the rest in the connection's
//! `pending` and stops reading that connection until an EPOLLOUT edge lets
//! the rest out (so the echo stays in order and the buffer bounded).

use rustix::event::epoll;
use rustix::io::Errno;
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsFd;

const LISTENER: u64 = u64::MAX;

struct Conn {
    s: TcpStream,
    /// Bytes read but not yet taken by the socket, from `off` on.
    pending: Vec<u8>,
    off: usize,
}

enum Step {
    Open,
    Close,
}

/// Handles one readiness event of `c`.
fn serve(c: &mut Conn, buf: &mut [u8]) -> Step {
    if c.off < c.pending.len() {
        match rustix::io::write(c.s.as_fd(), &c.pending[c.off..]) {
            Ok(n) => c.off += n,
            Err(Errno::AGAIN) => return Step::Open,
            Err(_) => return Step::Close,
        }
        if c.off < c.pending.len() {
            return Step::Open;
        }
        c.pending.clear();
        c.off = 0;
    }
    loop {
        let n = match rustix::io::read(c.s.as_fd(), &mut *buf) {
            Ok(0) => return Step::Close,
            Ok(n) => n,
            Err(Errno::AGAIN) => return Step::Open,
            Err(Errno::INTR) => continue,
            Err(_) => return Step::Close,
        };
        let w = match rustix::io::write(c.s.as_fd(), &buf[..n]) {
            Ok(w) => w,
            Err(Errno::AGAIN) => 0,
            Err(_) => return Step::Close,
        };
        if w < n {
            c.pending.extend_from_slice(&buf[w..n]);
            return Step::Open;
        }
        if n < buf.len() {
            return Step::Open;
        }
    }
}

fn main() {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8090".into());
    let l = TcpListener::bind(&addr).unwrap_or_else(|e| panic!("bind {addr}: {e}"));
    l.set_nonblocking(true).expect("O_NONBLOCK");
    let ep = epoll::create(epoll::CreateFlags::CLOEXEC).expect("epoll_create");
    epoll::add(
        &ep,
        &l,
        epoll::EventData::new_u64(LISTENER),
        epoll::EventFlags::IN,
    )
    .expect("epoll_ctl");
    eprintln!("echo_floor listening on {addr}");
    let mut conns: Vec<Option<Conn>> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let mut buf = vec![0_u8; 64 * 1024];
    let mut events = Vec::with_capacity(256);
    loop {
        events.clear();
        match epoll::wait(&ep, rustix::buffer::spare_capacity(&mut events), None) {
            Ok(_) | Err(Errno::INTR) => {}
            Err(e) => panic!("epoll_wait: {e}"),
        }
        for ev in &events {
            let data = ev.data;
            let token = data.u64();
            if token == LISTENER {
                loop {
                    let s = match l.accept() {
                        Ok((s, _)) => s,
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        Err(e) => {
                            eprintln!("echo_floor: accept: {e}");
                            break;
                        }
                    };
                    s.set_nonblocking(true).expect("O_NONBLOCK");
                    s.set_nodelay(true).expect("TCP_NODELAY");
                    let slot = free.pop().unwrap_or_else(|| {
                        conns.push(None);
                        conns.len() - 1
                    });
                    let flags =
                        epoll::EventFlags::IN | epoll::EventFlags::OUT | epoll::EventFlags::ET;
                    epoll::add(&ep, &s, epoll::EventData::new_u64(slot as u64), flags)
                        .expect("epoll_ctl");
                    conns[slot] = Some(Conn {
                        s,
                        pending: Vec::new(),
                        off: 0,
                    });
                }
                continue;
            }
            let slot = token as usize;
            // A connection closed earlier in this batch may still have an event here.
            let Some(c) = conns[slot].as_mut() else {
                continue;
            };
            if let Step::Close = serve(c, &mut buf) {
                // Closing the only descriptor removes it from the epoll set.
                conns[slot] = None;
                free.push(slot);
            }
        }
    }
}
