//! Runs the examples (built by `cargo test` beside this test) fast and
//! checks what they print.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

/// target/<profile>/examples/NAME, next to this test's deps/ directory.
/// `cargo test` builds the examples; a filtered run (`--test examples`) may
/// not have, so build the missing one first.
fn example(name: &str) -> Command {
    let mut dir: PathBuf = std::env::current_exe().expect("test binary path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join("examples").join(name);
    if !path.exists() {
        let release = dir.ends_with("release");
        let mut build = Command::new(env!("CARGO"));
        build.args(["build", "--quiet", "--example", name]);
        build.current_dir(env!("CARGO_MANIFEST_DIR"));
        if release {
            build.arg("--release");
        }
        assert!(
            build.status().expect("cargo runs").success(),
            "building example {name}"
        );
    }
    Command::new(path)
}

fn run(name: &str, args: &[&str]) -> (String, Duration) {
    let start = Instant::now();
    let out = example(name).args(args).output().expect("example runs");
    assert!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (String::from_utf8(out.stdout).unwrap(), start.elapsed())
}

/// Runs an example that must fail: its exit status and stderr.
fn run_failing(name: &str, args: &[&str]) -> (i32, String) {
    let out = example(name).args(args).output().expect("example runs");
    let code = out.status.code().expect("exited, not killed");
    (code, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn hello_prints_four_times_one_interval_apart() {
    let (out, took) = run("hello", &["--interval", "20ms"]);
    assert_eq!(out, "hello\n".repeat(4));
    assert!(took >= Duration::from_millis(80), "{took:?}");
}

/// Runs an example: its stdout and stderr.
fn run_both(name: &str, args: &[&str]) -> (String, String) {
    let out = example(name).args(args).output().expect("example runs");
    assert!(out.status.success(), "{name} {args:?} failed: {out:?}");
    (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn hello_logs_each_interval_and_none_is_short() {
    let (out, err) = run_both("hello", &["--interval", "15ms"]);
    assert_eq!(out, "hello\n".repeat(4));
    let ms: Vec<f64> = err
        .lines()
        .map(|l| {
            let rest = l.strip_prefix("INFO  hello: interval ").expect(l);
            rest.split(": ")
                .nth(1)
                .unwrap()
                .trim_end_matches(" ms")
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(ms.len(), 4, "{err}");
    assert!(ms.iter().all(|m| *m >= 15.0), "{ms:?}");
    // `--log warn` silences the info records.
    let (_, err) = run_both("hello", &["--interval", "1ms", "--log", "warn"]);
    assert_eq!(err, "");
}

#[test]
fn timers_reports_lateness_and_rejects_nothing_to_measure() {
    let (out, _) = run_both("timers", &["--count", "300", "--max", "2ms"]);
    let line = out.lines().last().unwrap();
    assert!(
        line.starts_with("timers: n=300 early=0 median_us="),
        "{out}"
    );
    let (code, err) = run_failing("timers", &["--count", "0"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("error: --count 0: nothing to measure"),
        "{err}"
    );
}

#[test]
fn a_bad_option_value_is_a_usage_error_naming_the_option() {
    let (code, err) = run_failing("hello", &["--interval", "soon"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("invalid value `soon` for `--interval`"),
        "{err}"
    );
    assert!(err.contains("--help"), "{err}");
}

#[test]
fn unknown_options_and_stray_words_are_usage_errors() {
    let (code, err) = run_failing("hello", &["--frobnicate", "1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unknown option `--frobnicate`"), "{err}");
    let (code, err) = run_failing("hello", &["20ms"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unexpected argument `20ms`"), "{err}");
    let (code, err) = run_failing("hello", &["--interval"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`--interval` needs a value"), "{err}");
    let (code, err) = run_failing("hello", &["--ipv4", "10.0.0.1/99"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`--ipv4`"), "{err}");
    let (code, err) = run_failing("hello", &["--net", "tap"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not built yet"), "{err}");
}

#[test]
fn help_lists_runtime_and_unikernel_options() {
    let (out, _) = run("hello", &["--help"]);
    for option in ["--net", "--tap", "--ipv4", "--block", "--interval"] {
        assert!(out.contains(option), "{option} missing from:\n{out}");
    }
}

#[test]
fn echo_serves_concurrent_clients_and_half_close() {
    use std::io::{BufRead, BufReader, Read, Write};
    let mut server = example("echo")
        .args(["--port", "0"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("echo starts");
    let mut first = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let addr = first
        .trim()
        .strip_prefix("echo: listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"));
    let port: u16 = addr.rsplit(':').next().unwrap().parse().unwrap();
    let clients: Vec<_> = (0..8u8)
        .map(|i| {
            std::thread::spawn(move || {
                let data: Vec<u8> = (0..256 * 1024u32)
                    .map(|j| (j.wrapping_mul(31) ^ u32::from(i)) as u8)
                    .collect();
                let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
                let mut writer = conn.try_clone().unwrap();
                let sent = data.clone();
                let w = std::thread::spawn(move || {
                    writer.write_all(&sent).unwrap();
                    writer.shutdown(std::net::Shutdown::Write).unwrap();
                });
                let mut back = Vec::new();
                conn.read_to_end(&mut back).unwrap(); // EOF: the server half-closed after echoing
                w.join().unwrap();
                assert!(
                    back == data,
                    "client {i}: {} bytes back of {}",
                    back.len(),
                    data.len()
                );
            })
        })
        .collect();
    for c in clients {
        c.join().unwrap();
    }
    server.kill().unwrap();
    server.wait().unwrap();
}

#[test]
fn echo_reports_a_port_in_use() {
    let taken = std::net::TcpListener::bind("0.0.0.0:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let (code, err) = run_failing("echo", &["--port", &port]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("listening on 0.0.0.0:"), "{err}");
    assert!(err.contains("in use"), "{err}");
    let (code, err) = run_failing("echo", &["--port", "70000"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`--port`"), "{err}");
}

/// A scratch file removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn with_len(name: &str, len: usize) -> TempFile {
        let path = std::env::temp_dir().join(format!("shimmer-{}-{name}", std::process::id()));
        let data: Vec<u8> = (0..len as u64)
            .map(|i| (i.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as u8)
            .collect();
        std::fs::write(&path, data).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn block_checksum_equals_sha256sum() {
    // Whole chunks, a partial last chunk, and one sector.
    for (name, len) in [("4m", 4 << 20), ("odd", (1 << 20) + 3 * 512), ("one", 512)] {
        let image = TempFile::with_len(name, len);
        let path = image.0.to_str().unwrap();
        let (out, _) = run("block_checksum", &["--block", path]);
        let expected = Command::new("sha256sum")
            .arg(path)
            .output()
            .expect("sha256sum runs");
        let expected = String::from_utf8(expected.stdout).unwrap();
        let expected = expected.split_whitespace().next().unwrap();
        assert_eq!(out, format!("{expected}\n"), "{name}");
    }
}

#[test]
fn block_checksum_without_a_device_says_so() {
    let (code, err) = run_failing("block_checksum", &[]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("pass `--block PATH`"), "{err}");
    let (code, err) = run_failing("block_checksum", &["--block", "/nonexistent/disk.img"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("opening block device `/nonexistent/disk.img`"),
        "{err}"
    );
}

#[test]
fn pktgen_checks_its_options() {
    let (code, err) = run_failing("pktgen", &["--mode", "fly"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("invalid value `fly` for `--mode`"), "{err}");
    let (code, err) = run_failing("pktgen", &["--seconds", "1"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("pass `--tap NAME`"), "{err}");
}

#[test]
fn heads_joins_two_sleeps() {
    let (out, took) = run("heads", &["--scale", "0.01"]);
    assert_eq!(out, "Heads\nTails\nFinished\n");
    assert!(took >= Duration::from_millis(20), "{took:?}");
}

#[test]
fn timeout_reports_each_race_consistently() {
    for seed in ["1", "2", "3", "42", "1000"] {
        let (out, _) = run("timeout", &["--scale", "0.001", "--seed", seed]);
        let lines: Vec<_> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        assert!(lines[0].starts_with("timeout: "), "{out}");
        assert!(lines[1].starts_with("pick: "), "{out}");
        for l in lines {
            assert!(
                l.contains("Returned \"Heads\"") || l.contains("Cancelled"),
                "{l}"
            );
        }
    }
}

#[test]
fn echo_server_logs_ten_lines() {
    let (out, _) = run("echo_server", &["--scale", "0.001", "--seed", "7"]);
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(lines.len(), 10, "{out}");
    assert!(
        lines
            .iter()
            .all(|l| l.len() < 20 && l.chars().all(|c| c == 'a')),
        "{out}"
    );
    // Deterministic for a seed.
    assert_eq!(
        run("echo_server", &["--scale", "0.001", "--seed", "7"]).0,
        out
    );
}

/// The TAP tests' namespace, root and `AF_PACKET` helpers.
#[path = "../unix-backend/tests/support/mod.rs"]
mod support;

#[test]
fn pktgen_reflects_frames_over_a_tap() {
    if !support::root::root_or_skip("pktgen_reflects_frames_over_a_tap") {
        return;
    }
    // The child inherits the namespace of the thread that starts it, so the
    // tap it makes lives and dies in the test's private namespace.
    support::netns::in_netns(|| {
        let child = example("pktgen")
            .args([
                "--tap",
                "pg0",
                "--mode",
                "echo",
                "--count",
                "100",
                "--seconds",
                "30",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("pktgen starts");
        let up = libc::IFF_UP as u16;
        let deadline = Instant::now() + Duration::from_secs(20);
        while !support::netns::flags("pg0").is_ok_and(|f| f & up != 0) {
            assert!(Instant::now() < deadline, "pktgen never brought pg0 up");
            std::thread::sleep(Duration::from_millis(5));
        }
        let sock = support::packet::PacketSocket::open("pg0").expect("AF_PACKET on pg0");
        let ours = [0x02, 0, 0, 0, 0, 0x42];
        let mut sent = Vec::new();
        for i in 0..100u32 {
            let mut frame = vec![0xff; 6]; // to anyone
            frame.extend_from_slice(&ours);
            frame.extend_from_slice(&[0x88, 0xb5]);
            frame.extend((0..46 + i as usize).map(|j| (j as u32 ^ i) as u8));
            sock.send_all(&frame);
            sent.push(frame);
        }
        for (i, frame) in sent.iter().enumerate() {
            let back = sock
                .recv_timeout(Duration::from_secs(10))
                .unwrap_or_else(|| panic!("frame {i} never came back"));
            assert_eq!(&back[0..6], &ours, "frame {i}: sent back to its sender");
            assert_eq!(&back[12..], &frame[12..], "frame {i}: payload unchanged");
        }
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.starts_with("pktgen: echoed 100 frames"), "{stdout}");
    });
}
