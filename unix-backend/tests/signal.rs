//! Signals. In-process tests send only thread-directed signals (`raise`),
//! and each runs on its own harness thread, so the masks they change do not
//! leak. Process-directed signals (`kill`) are tested in a child: this test
//! binary re-executed with `SHIMMER_SIGNAL_CHILD=<mode>`.
//!
//! The child follows the documented rule ("block the signals before
//! spawning threads"): the test harness starts its threads before any test
//! runs, so the child blocks its signals in a constructor that runs before
//! `main` (an `.init_array` entry), and every harness thread inherits the
//! mask. Without that, a `kill` could land on the harness's main thread and
//! take the default action.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{kill, raise, SigSet, Signal as Nix};
use nix::unistd::Pid;
use shimmer_unix::signal::{ctrl_c, Signal, Signals};

const ENV: &str = "SHIMMER_SIGNAL_CHILD";

#[used]
#[link_section = ".init_array"]
static BLOCK_BEFORE_THREADS: extern "C" fn() = block_before_threads;

extern "C" fn block_before_threads() {
    if std::env::var_os(ENV).is_some() {
        let mut set = SigSet::empty();
        for s in [Nix::SIGINT, Nix::SIGTERM, Nix::SIGHUP] {
            set.add(s);
            // A job started in the background by a non-interactive shell
            // (a CI script) inherits SIGINT ignored, and an ignored signal
            // never becomes pending: restore the default for the child.
            // SAFETY: SIG_DFL installs no handler, so no code of ours can
            // run in signal context; no other thread exists yet.
            let _ = unsafe { nix::sys::signal::signal(s, nix::sys::signal::SigHandler::SigDfl) };
        }
        let _ = set.thread_block();
    }
}

fn blocked(s: Nix) -> bool {
    SigSet::thread_get_mask().unwrap().contains(s)
}

fn within<F: std::future::Future>(ms: u64, f: F) -> Option<F::Output> {
    shimmer_unix::block_on(shimmer_executor::timeout(Duration::from_millis(ms), f))
        .unwrap()
        .ok()
}

#[test]
fn raise_delivers_to_recv() {
    let got = within(2000, async {
        let s = Signals::new(&[Signal::User1, Signal::Interrupt]).unwrap();
        assert!(blocked(Nix::SIGUSR1) && blocked(Nix::SIGINT));
        raise(Nix::SIGUSR1).unwrap();
        s.recv().await
    });
    assert_eq!(got, Some(Some(Signal::User1)));
}

#[test]
fn recv_waits_for_a_signal_raised_later() {
    let got = within(2000, async {
        let s = Signals::new(&[Signal::User2]).unwrap();
        let polls = std::rc::Rc::new(std::cell::Cell::new(0u32));
        let p = polls.clone();
        let sender = shimmer_executor::spawn(async move {
            shimmer_executor::sleep(Duration::from_millis(20)).await;
            raise(Nix::SIGUSR2).unwrap();
        });
        let r = std::future::poll_fn(|cx| {
            p.set(p.get() + 1);
            s.poll_recv(cx)
        })
        .await;
        sender.await.unwrap();
        // Woken once by the reactor, not polled in a loop.
        assert!(polls.get() <= 3, "polled {} times", polls.get());
        r
    });
    assert_eq!(got, Some(Some(Signal::User2)));
}

#[test]
fn two_in_a_row_are_both_seen_and_two_at_once_coalesce() {
    within(2000, async {
        let s = Signals::new(&[Signal::User1, Signal::User2]).unwrap();
        raise(Nix::SIGUSR1).unwrap();
        assert_eq!(s.recv().await, Some(Signal::User1));
        raise(Nix::SIGUSR1).unwrap();
        assert_eq!(s.recv().await, Some(Signal::User1));
        // Different signals pending together: both seen.
        raise(Nix::SIGUSR1).unwrap();
        raise(Nix::SIGUSR2).unwrap();
        let a = s.recv().await.unwrap();
        let b = s.recv().await.unwrap();
        let mut both = [a.as_raw(), b.as_raw()];
        both.sort();
        assert_eq!(both, [Nix::SIGUSR1 as i32, Nix::SIGUSR2 as i32]);
        // The same signal twice before a read: one delivery (standard
        // signals do not queue).
        raise(Nix::SIGUSR2).unwrap();
        raise(Nix::SIGUSR2).unwrap();
        assert_eq!(s.recv().await, Some(Signal::User2));
        let more = shimmer_executor::timeout(Duration::from_millis(20), s.recv()).await;
        assert!(more.is_err(), "coalesced: no second delivery");
    })
    .unwrap();
}

#[test]
fn the_mask_is_restored_by_the_last_drop() {
    within(2000, async {
        // Start from "not blocked" whatever the process inherited.
        let mut winch = SigSet::empty();
        winch.add(Nix::SIGWINCH);
        winch.thread_unblock().unwrap();
        let a = Signals::new(&[Signal::WindowChange]).unwrap();
        let b = Signals::new(&[Signal::WindowChange, Signal::WindowChange]).unwrap();
        assert_eq!(b.signals(), &[Signal::WindowChange]);
        assert!(blocked(Nix::SIGWINCH));
        drop(a);
        assert!(blocked(Nix::SIGWINCH), "b still needs it");
        drop(b);
        assert!(!blocked(Nix::SIGWINCH), "restored");

        // Blocked before us: stays blocked.
        let mut alrm = SigSet::empty();
        alrm.add(Nix::SIGALRM);
        alrm.thread_block().unwrap();
        drop(Signals::new(&[Signal::Alarm]).unwrap());
        assert!(blocked(Nix::SIGALRM), "left as found");
        alrm.thread_unblock().unwrap();
    })
    .unwrap();
}

#[test]
fn bad_calls_are_errors() {
    let before = SigSet::thread_get_mask().unwrap();
    assert!(Signals::new(&[Signal::User1]).is_err(), "no reactor");
    assert_eq!(
        SigSet::thread_get_mask().unwrap(),
        before,
        "a failed new leaves the mask alone"
    );
    within(1000, async {
        let e = Signals::new(&[]).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    })
    .unwrap();
    // ctrl_c outside an executor: the error comes out of the future.
    let fut = ctrl_c();
    let r = shimmer_unix::block_on(fut).unwrap();
    assert!(r.is_err());
}

/// The child's side.
#[test]
fn child_entry() {
    let Ok(mode) = std::env::var(ENV) else {
        return;
    };
    let code = shimmer_unix::block_on(async move {
        match mode.as_str() {
            "ctrl_c" => {
                let c = ctrl_c();
                eprintln!("ready");
                match shimmer_executor::timeout(Duration::from_secs(5), c).await {
                    Ok(Ok(())) => {
                        eprintln!("got ctrl-c, exiting cleanly");
                        0
                    }
                    other => {
                        eprintln!("no ctrl-c: {other:?}");
                        4
                    }
                }
            }
            "kill_self" => {
                let s = Signals::new(&[Signal::Terminate, Signal::Hangup]).unwrap();
                let me = Pid::this();
                kill(me, Nix::SIGTERM).unwrap();
                let a = s.recv().await;
                kill(me, Nix::SIGHUP).unwrap();
                let b = s.recv().await;
                if (a, b) == (Some(Signal::Terminate), Some(Signal::Hangup)) {
                    0
                } else {
                    eprintln!("got {a:?} {b:?}");
                    5
                }
            }
            other => panic!("unknown mode {other}"),
        }
    })
    .unwrap();
    std::process::exit(code);
}

fn child(mode: &str) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["child_entry", "--exact", "--nocapture", "--test-threads=1"])
        .env(ENV, mode)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

#[test]
fn sigint_makes_a_ctrl_c_child_exit_cleanly() {
    let mut c = child("ctrl_c").spawn().unwrap();
    let mut err = BufReader::new(c.stderr.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        assert!(err.read_line(&mut line).unwrap() > 0, "child ended early");
        if line.trim() == "ready" {
            break;
        }
    }
    kill(Pid::from_raw(c.id() as i32), Nix::SIGINT).unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).unwrap();
    let status = c.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{status}: {rest}");
    assert!(rest.contains("got ctrl-c"), "{rest}");
}

#[test]
fn kill_of_own_pid_is_received() {
    let out = child("kill_self").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
