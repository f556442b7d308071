//! Real Xen: example images booted by the test bed (`xen-backend/testbed/run`:
//! Xen 4.17 and a Linux dom0 under QEMU), several guests in one boot.
//!
//! Runs only as root with `SHIMMER_XEN_TESTS=1` (a cold run installs QEMU and
//! builds the dom0 image: about 5 minutes; warm, about 45 s); otherwise it
//! prints why it skipped — and fails instead when
//! `SHIMMER_REQUIRE_ROOT_TESTS=1` (CI sets both).

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn repository() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Whether to run; the reason when not.
fn enabled(test: &str) -> bool {
    let why = if !rustix::process::geteuid().is_root() {
        "needs root (QEMU, loop devices)"
    } else if std::env::var_os("SHIMMER_XEN_TESTS").is_none_or(|v| v != "1") {
        "set SHIMMER_XEN_TESTS=1 to boot Xen under QEMU (minutes)"
    } else {
        return true;
    };
    if std::env::var_os("SHIMMER_REQUIRE_ROOT_TESTS").is_some_and(|v| v == "1") {
        panic!("{test}: {why}, and SHIMMER_REQUIRE_ROOT_TESTS=1 forbids skipping it");
    }
    eprintln!("SKIP {test}: {why}");
    false
}

/// Builds a PVH image with `xen-backend/build-image ARGS`: its path.
fn image(args: &[&str]) -> PathBuf {
    let out = Command::new(repository().join("xen-backend/build-image"))
        .args(args)
        .current_dir(repository())
        .output()
        .expect("build-image runs");
    assert!(
        out.status.success(),
        "build-image {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    PathBuf::from(stdout.lines().last().expect("the image's path").trim())
}

/// `shimmer: timeline: main A ms, ready B ms, exit C ms (since vcpu
/// creation)`, the line the image prints before it exits.
#[derive(Debug)]
struct Timeline {
    main: f64,
    ready: f64,
    exit: f64,
}

fn timeline(lines: &[&str]) -> Timeline {
    let line = lines
        .iter()
        .find_map(|l| l.strip_prefix("shimmer: timeline: "))
        .unwrap_or_else(|| panic!("no timeline in {lines:?}"));
    let field = |name: &str| -> f64 {
        line.split(", ")
            .find_map(|f| f.strip_prefix(name))
            .and_then(|v| v.split(" ms").next())
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no {name} in {line:?}"))
    };
    Timeline {
        main: field("main "),
        ready: field("ready "),
        exit: field("exit "),
    }
}

/// The `[guest] ` lines of guest `n` (1-based) in the test bed's output.
fn guest_lines(out: &str, n: usize) -> Vec<&str> {
    let header = format!("[testbed] guest {n}: ");
    out.lines()
        .skip_while(|l| !l.starts_with(&header))
        .skip(1)
        .take_while(|l| !l.starts_with("[testbed] guest "))
        .filter_map(|l| l.strip_prefix("[guest] "))
        .collect()
}

/// A `--dom0` command: types two lines and `quit` into the guest's console
/// (the pty xenconsoled gives it; xenconsoled puts what arrives there into
/// the guest's input ring).
const TYPE_INTO_CONSOLE: &str = "printf 'hello xen\\nsecond line\\nquit\\n' > \"$(xenstore-read /local/domain/$TESTBED_DOMID/console/tty)\"";

/// Builds the Linux usleep guest (`xen-backend/testbed/linux-timer-guest`):
/// the path of its one-guest suite file.
fn linux_timer_suite() -> PathBuf {
    let out = Command::new(repository().join("xen-backend/testbed/linux-timer-guest"))
        .current_dir(repository())
        .output()
        .expect("linux-timer-guest runs");
    assert!(
        out.status.success(),
        "linux-timer-guest: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    PathBuf::from(stdout.lines().last().expect("the suite's path").trim())
}

#[test]
fn images_boot_on_real_xen() {
    if !enabled("images_boot_on_real_xen") {
        return;
    }
    let hello = image(&["hello"]);
    let smoke = image(&["--package", "shimmer-xen", "--example", "xen_smoke"]);
    let timers = image(&["timers"]);
    let console = image(&["console"]);
    let linux_timers = linux_timer_suite();
    let (hello, smoke, timers, console) = (
        hello.to_str().unwrap(),
        smoke.to_str().unwrap(),
        timers.to_str().unwrap(),
        console.to_str().unwrap(),
    );
    let run = Command::new(repository().join("xen-backend/testbed/run"))
        // The suite's guest runs after the command line's (it is guest 9);
        // it goes first here because a `--` takes every word up to the next
        // `--image`.
        .args(["--suite", linux_timers.to_str().unwrap()])
        .args(["--image", hello, "--", "--interval", "100ms"])
        .args(["--image", hello, "--", "--interval", "soon"])
        .args(["--image", smoke])
        .args(["--image", smoke, "--", "panic"])
        .args(["--image", timers, "--", "--count", "0"])
        .args(["--image", timers, "--timeout", "300"])
        .args(["--image", console, "--dom0", TYPE_INTO_CONSOLE])
        .args(["--image", hello, "--"])
        .arg(std::ffi::OsStr::from_bytes(b"--interval=1\xffs"))
        .current_dir(repository())
        .output()
        .expect("the test bed runs");
    let out = String::from_utf8_lossy(&run.stdout).into_owned();
    let report = format!("{out}\nstderr:\n{}", String::from_utf8_lossy(&run.stderr));
    print!("{out}");
    for line in out.lines() {
        assert!(
            ["[guest] ", "[dom0] ", "[testbed] "]
                .iter()
                .any(|p| line.starts_with(p)),
            "unprefixed line {line:?}\n{report}"
        );
    }
    let result = |n: usize, code: &str| {
        let want = format!("[testbed] result of guest {n}: exit code {code} ");
        assert!(
            out.lines().any(|l| l.starts_with(&want)),
            "guest {n}: want {want:?}\n{report}"
        );
    };

    // 1. hello, the #[shimmer::main] example: ready, four hellos, exit 0;
    // its log records (routed to the console) time each 100 ms sleep with
    // the PV clock: none may be short. Then the guest-side timeline.
    let g1 = guest_lines(&out, 1);
    assert_eq!(g1.first(), Some(&"shimmer: ready"), "{report}");
    assert_eq!(g1.iter().filter(|l| **l == "hello").count(), 4, "{report}");
    let intervals: Vec<f64> = g1
        .iter()
        .filter_map(|l| l.strip_prefix("INFO  hello: interval "))
        .map(|l| {
            l.split(": ")
                .nth(1)
                .unwrap()
                .trim_end_matches(" ms")
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(intervals.len(), 4, "{report}");
    assert!(
        intervals.iter().all(|ms| *ms >= 100.0),
        "a 100 ms hello interval was short: {intervals:?}"
    );
    println!("hello's 100 ms intervals, guest-side: {intervals:?} ms");
    let timeline = timeline(&g1);
    assert!(
        timeline.main > 0.0 && timeline.main <= timeline.ready && timeline.ready <= timeline.exit,
        "{timeline:?}\n{report}"
    );
    assert!(timeline.exit - timeline.ready >= 400.0, "{timeline:?}");
    println!("hello's timeline since vcpu creation: {timeline:?}");
    let wall = out
        .lines()
        .find_map(|l| l.strip_prefix("[testbed] wall clock of guest 1 (dom0): xl create -> "))
        .unwrap_or_else(|| panic!("no wall clock line for guest 1\n{report}"));
    let secs: Vec<f64> = wall
        .split(", -> ")
        .map(|part| {
            let value = part.split(' ').rev().nth(1).expect(wall); // "... 3.33 s"
            value.parse().unwrap_or_else(|_| panic!("{wall}"))
        })
        .collect();
    assert!(secs.len() == 2 && secs[0] <= secs[1], "{wall}");
    println!("hello's wall clock from xl create (dom0): {wall}");
    assert_eq!(g1.last(), Some(&"shimmer: exit 0"), "{report}");
    result(1, "0");
    // 2. A malformed option: named, exit status 2.
    let g2 = guest_lines(&out, 2);
    assert!(
        g2.iter()
            .any(|l| l.contains("invalid value `soon` for `--interval`")),
        "{report}"
    );
    result(2, "2");
    // 3. The smoke image times its sleeps against the PV clock: none early.
    let g3 = guest_lines(&out, 3);
    let slept: Vec<f64> = g3
        .iter()
        .filter_map(|l| l.split("(slept ").nth(1))
        .map(|s| s.trim_end_matches(" ms)").parse().unwrap())
        .collect();
    assert_eq!(slept.len(), 4, "{report}");
    assert!(
        slept.iter().all(|ms| *ms >= 100.0),
        "a 100 ms sleep ended early: {slept:?}"
    );
    println!("xen_smoke sleeps of 100 ms took {slept:?} ms");
    result(3, "0");
    // 4. A panic: its message, then a crash (101).
    let g4 = guest_lines(&out, 4);
    assert!(
        g4.iter().any(|l| l.starts_with("shimmer: panic: ")),
        "{report}"
    );
    result(4, "101");
    // 5. `main` returns an error: printed, exit status 1.
    let g5 = guest_lines(&out, 5);
    assert!(
        g5.contains(&"error: --count 0: nothing to measure (give at least 1)"),
        "{report}"
    );
    result(5, "1");
    // 6. 10,000 sleeps of 0-5 ms: none early; the lateness is reported.
    let g6 = guest_lines(&out, 6);
    let timers = g6
        .iter()
        .find(|l| l.starts_with("timers: n="))
        .unwrap_or_else(|| panic!("no timers line\n{report}"));
    assert!(
        timers.starts_with("timers: n=10000 early=0 "),
        "{timers}\n{report}"
    );
    println!("shimmer under Xen: {timers}");
    result(6, "0");
    // 7. The console as a Flow: dom0 types into the guest's console tty.
    let g7 = guest_lines(&out, 7);
    for line in [
        "console: you typed `hello xen`",
        "console: you typed `second line`",
        "console: bye after 2 lines",
    ] {
        assert!(g7.contains(&line), "{line:?} missing\n{report}");
    }
    result(7, "0");
    // 8. A command line that is not UTF-8: a usage error, not a crash.
    let g8 = guest_lines(&out, 8);
    assert!(
        g8.iter()
            .any(|l| l.starts_with("error: command line is not UTF-8")),
        "{report}"
    );
    result(8, "2");
    // 9. A Linux PVH guest's usleep lateness in the same boot, for
    // comparison with 6 (its figures are printed, not judged: only an
    // early sleep would fail it).
    let g9 = guest_lines(&out, 9);
    let linux = g9
        .iter()
        .find(|l| l.starts_with("timers: n="))
        .unwrap_or_else(|| panic!("no timers line from the Linux guest\n{report}"));
    println!("Linux usleep in the same boot: {linux}");
    result(9, "0");
    // The test bed's own status: the first non-zero guest code.
    assert_eq!(run.status.code(), Some(2), "{report}");
}
