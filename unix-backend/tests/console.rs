//! The console is tested in a child: this test binary re-executed with
//! `SHIMMER_CONSOLE_CHILD=<mode>` and piped (or file) stdin/stdout. The child
//! writes a marker before its payload, because the test harness prints its
//! own "running 1 test" first.

use std::cell::Cell;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::Duration;

use shimmer_io::flow::{Flow, Shutdown};
use shimmer_io::Error;
use shimmer_unix::console::{self, Console};

const MARK: &[u8] = b"\n@@BEGIN@@\n";
const ENV: &str = "SHIMMER_CONSOLE_CHILD";

/// The child's side: does what `mode` says, then exits (so that the
/// harness prints nothing after the payload).
#[test]
fn child_entry() {
    let Ok(mode) = std::env::var(ENV) else {
        return; // run as a normal test: nothing to do
    };
    let code = shimmer_unix::block_on(async move {
        let con = Console::new().unwrap();
        con.write(MARK).await.unwrap();
        let ticks = Rc::new(Cell::new(0u32));
        let t = ticks.clone();
        let ticker = shimmer_executor::spawn(async move {
            loop {
                shimmer_executor::sleep(Duration::from_millis(1)).await;
                t.set(t.get() + 1);
            }
        });
        let code = match mode.as_str() {
            "echo" | "file" => {
                let mut reads = 0;
                while let Some(buf) = con.read().await.unwrap() {
                    assert!(!buf.is_empty());
                    reads += 1;
                    con.write_buf(buf).await.unwrap();
                }
                assert!(con.read().await.unwrap().is_none(), "EOF stays EOF");
                assert_eq!(con.read_into(&mut [0u8; 8]).await, Ok(0));
                console::eprint(format_args!(
                    "kind={:?} reads={reads} ticks={}\n",
                    con.stdin_kind(),
                    ticks.get()
                ));
                0
            }
            "echo_into" => {
                let mut buf = [0u8; 7];
                loop {
                    let n = con.read_into(&mut buf).await.unwrap();
                    if n == 0 {
                        break;
                    }
                    con.writev(&[&buf[..1], &buf[1..n]]).await.unwrap();
                }
                0
            }
            "eof" => {
                assert!(con.read().await.unwrap().is_none());
                assert!(con.read().await.unwrap().is_none());
                console::eprint(format_args!("kind={:?} eof twice\n", con.stdin_kind()));
                0
            }
            "shutdown" => {
                con.shutdown(Shutdown::Write).await.unwrap();
                assert_eq!(con.write(b"x").await, Err(Error::Closed));
                con.shutdown(Shutdown::Read).await.unwrap();
                assert!(con.read().await.unwrap().is_none());
                con.close().await.unwrap();
                assert_eq!(con.read().await.err(), Some(Error::Closed));
                // fd 1 is still open: print still works.
                console::print(format_args!("still {}\n", "here"));
                0
            }
            "epipe" => {
                // The parent closed its end of our stdout.
                for i in 0..2000 {
                    console::print(format_args!("line {i} of many, never read\n"));
                }
                console::eprint(format_args!("prints survived\n"));
                let mut r = Ok(());
                for _ in 0..1000 {
                    r = con.write(&[b'z'; 4096]).await;
                    if r.is_err() {
                        break;
                    }
                }
                if r == Err(Error::BrokenPipe) {
                    0
                } else {
                    3
                }
            }
            other => panic!("unknown child mode {other}"),
        };
        ticker.abort();
        code
    })
    .unwrap();
    std::process::exit(code);
}

fn child(mode: &str) -> Command {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args(["child_entry", "--exact", "--nocapture", "--test-threads=1"])
        .env(ENV, mode)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

/// The payload after the marker.
fn payload(out: &[u8]) -> &[u8] {
    let at = out
        .windows(MARK.len())
        .position(|w| w == MARK)
        .unwrap_or_else(|| panic!("no marker in {:?}", String::from_utf8_lossy(out)));
    &out[at + MARK.len()..]
}

fn data(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

/// Feeds `input` to the child's stdin from a thread (in chunks, after a
/// pause, so that the child waits on an empty pipe), and returns its
/// stdout, stderr and exit status.
fn run_piped(mode: &str, input: Vec<u8>) -> (Vec<u8>, String, std::process::ExitStatus) {
    let mut c = child(mode).stdin(Stdio::piped()).spawn().unwrap();
    let mut stdin = c.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(40));
        for chunk in input.chunks(input.len().div_ceil(8).max(1)) {
            stdin.write_all(chunk).unwrap();
            std::thread::sleep(Duration::from_millis(3));
        }
        // Dropping `stdin` closes the pipe: EOF for the child.
    });
    let out = c.wait_with_output().unwrap();
    feeder.join().unwrap();
    (
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status,
    )
}

#[test]
fn echoes_piped_stdin_without_blocking_the_executor() {
    let input = data(300_000);
    let (out, err, status) = run_piped("echo", input.clone());
    assert!(status.success(), "child failed: {status}\n{err}");
    assert_eq!(payload(&out), &input[..], "echo differs");
    assert!(err.contains("kind=Polled"), "{err}");
    // The ticker ran while the reader waited on an empty pipe (40 ms).
    let ticks: u32 = err
        .split("ticks=")
        .nth(1)
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no ticks in {err}"));
    assert!(ticks >= 10, "the executor was blocked: {ticks} ticks");
    println!("{}", err.trim());
}

#[test]
fn read_into_and_writev_echo() {
    let input = data(20_000);
    let (out, err, status) = run_piped("echo_into", input.clone());
    assert!(status.success(), "child failed: {status}\n{err}");
    assert_eq!(payload(&out), &input[..]);
}

#[test]
fn empty_stdin_is_eof() {
    let mut c = child("eof").stdin(Stdio::piped()).spawn().unwrap();
    drop(c.stdin.take());
    let out = c.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("kind=Polled eof twice"), "{err}");
    assert!(payload(&out.stdout).is_empty());

    // /dev/null: epoll refuses it, read directly, EOF at once.
    let out = child("eof").stdin(Stdio::null()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("kind=Direct eof twice"), "{err}");
}

#[test]
fn a_regular_file_as_stdin() {
    let input = data(50_000);
    let mut file = tempfile::tempfile().unwrap();
    file.write_all(&input).unwrap();
    std::io::Seek::rewind(&mut file).unwrap();
    let out = child("file").stdin(Stdio::from(file)).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("kind=Direct"), "{err}");
    assert_eq!(payload(&out.stdout), &input[..]);
}

/// A terminal: lines arrive as the line discipline releases them, and `^D`
/// at the start of a line is end of file.
#[test]
fn a_terminal_as_stdin() {
    use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
    let master = match openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY) {
        Ok(m) => m,
        Err(e) => {
            println!("skipped: no pty ({e})");
            return;
        }
    };
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    let c = child("echo").stdin(Stdio::from(slave)).spawn().unwrap();
    let mut m = std::fs::File::from(master);
    std::thread::sleep(Duration::from_millis(30));
    m.write_all(b"hello\n").unwrap();
    std::thread::sleep(Duration::from_millis(10));
    m.write_all(b"world\n\x04").unwrap();
    // Drain the terminal's echo so the line discipline never stalls.
    let drain = std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        while matches!(m.read(&mut buf), Ok(n) if n > 0) {}
    });
    let out = c.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("kind=Polled"), "{err}");
    assert_eq!(payload(&out.stdout), b"hello\nworld\n");
    drop(drain); // ends with EIO once every slave fd is closed
}

#[test]
fn shutdown_closes_nothing_shared() {
    let out = child("shutdown").stdin(Stdio::piped()).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert_eq!(payload(&out.stdout), b"still here\n");
}

#[test]
fn a_closed_stdout_is_broken_pipe_not_a_panic() {
    let mut c = child("epipe").stdin(Stdio::null()).spawn().unwrap();
    // Read the marker, then close our end.
    let mut stdout = c.stdout.take().unwrap();
    let mut seen = Vec::new();
    let mut buf = [0u8; 256];
    while !seen.windows(MARK.len()).any(|w| w == MARK) {
        let n = stdout.read(&mut buf).unwrap();
        assert!(n > 0, "child ended before the marker");
        seen.extend_from_slice(&buf[..n]);
    }
    drop(stdout);
    let out = c.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {err}", out.status);
    assert!(err.contains("prints survived"), "{err}");
}

#[test]
fn needs_a_reactor() {
    assert!(Console::new().is_err());
    shimmer_unix::block_on(async {
        let con = Console::new().unwrap();
        // Whatever stdin the test runner has, two consoles may coexist.
        let two = Console::new().unwrap();
        assert_eq!(con.stdin_kind(), two.stdin_kind());
        drop((con, two));
    })
    .unwrap();
}
