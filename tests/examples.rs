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

#[test]
fn hello_prints_four_times_one_interval_apart() {
    let (out, took) = run("hello", &["20ms"]);
    assert_eq!(out, "hello\n".repeat(4));
    assert!(took >= Duration::from_millis(80), "{took:?}");
}

#[test]
fn hello_rejects_a_bad_interval() {
    let out = example("hello").arg("soon").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad interval"));
}

#[test]
fn heads_joins_two_sleeps() {
    let (out, took) = run("heads", &["0.01"]);
    assert_eq!(out, "Heads\nTails\nFinished\n");
    assert!(took >= Duration::from_millis(20), "{took:?}");
}

#[test]
fn timeout_reports_each_race_consistently() {
    for seed in ["1", "2", "3", "42", "1000"] {
        let (out, _) = run("timeout", &["0.001", seed]);
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
    let (out, _) = run("echo_server", &["0.001", "7"]);
    let lines: Vec<_> = out.lines().collect();
    assert_eq!(lines.len(), 10, "{out}");
    assert!(
        lines
            .iter()
            .all(|l| l.len() < 20 && l.chars().all(|c| c == 'a')),
        "{out}"
    );
    // Deterministic for a seed.
    assert_eq!(run("echo_server", &["0.001", "7"]).0, out);
}
