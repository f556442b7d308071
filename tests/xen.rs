//! Real Xen: example images booted by the test bed (`xen-backend/testbed/run`:
//! Xen 4.17 and a Linux dom0 under QEMU), several guests in one boot.
//!
//! Runs only as root with `SHIMMER_XEN_TESTS=1` (a cold run installs QEMU and
//! builds the dom0 image: about 5 minutes; warm, about 45 s); otherwise it
//! prints why it skipped — and fails instead when
//! `SHIMMER_REQUIRE_ROOT_TESTS=1` (CI sets both).

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

/// The `[guest]` lines of guest `n` (1-based) in the test bed's output.
fn guest_lines(out: &str, n: usize) -> Vec<&str> {
    let header = format!("[testbed] guest {n}: ");
    out.lines()
        .skip_while(|l| !l.starts_with(&header))
        .skip(1)
        .take_while(|l| !l.starts_with("[testbed] guest "))
        .filter_map(|l| l.strip_prefix("[guest] "))
        .collect()
}

#[test]
fn images_boot_on_real_xen() {
    if !enabled("images_boot_on_real_xen") {
        return;
    }
    let hello = image(&["hello"]);
    let smoke = image(&["--package", "shimmer-xen", "--example", "xen_smoke"]);
    let (hello, smoke) = (hello.to_str().unwrap(), smoke.to_str().unwrap());
    let run = Command::new(repository().join("xen-backend/testbed/run"))
        .args(["--image", hello, "--", "--interval", "100ms"])
        .args(["--image", hello, "--", "--interval", "soon"])
        .args(["--image", smoke])
        .args(["--image", smoke, "--", "panic"])
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

    // 1. hello, the #[shimmer::main] example: ready, four hellos, exit 0.
    let g1 = guest_lines(&out, 1);
    assert_eq!(g1.first(), Some(&"shimmer: ready"), "{report}");
    assert_eq!(g1.iter().filter(|l| **l == "hello").count(), 4, "{report}");
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
    // The test bed's own status: the first non-zero guest code.
    assert_eq!(run.status.code(), Some(2), "{report}");
}
