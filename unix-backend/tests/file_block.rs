use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use shimmer_io::block::Block;
use shimmer_io::conformance;
use shimmer_io::page::{BufChain, PagePool, PoolConfig};
use shimmer_io::Error;
use shimmer_unix::file_block::FileBlock;

/// A directory on a real disk filesystem (where `O_DIRECT` normally works).
fn disk_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("shimmer-fb")
        .tempdir_in("/var/tmp")
        .or_else(|_| tempfile::tempdir())
        .unwrap()
}

fn zero_file(dir: &Path, name: &str, bytes: u64) -> PathBuf {
    let path = dir.join(name);
    let f = std::fs::File::create(&path).unwrap();
    f.set_len(bytes).unwrap();
    path
}

fn pattern(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed) ^ (i >> 9) as u8)
        .collect()
}

fn run<F: std::future::Future>(f: F) -> F::Output {
    shimmer_unix::block_on(f).unwrap()
}

#[test]
fn passes_the_block_suite_on_a_disk_file() {
    let dir = disk_dir();
    let n = std::cell::Cell::new(0);
    let mut direct = None;
    run(conformance::block(|pool| {
        n.set(n.get() + 1);
        let path = zero_file(dir.path(), &format!("d{}", n.get()), 512 * 4096);
        let dev = FileBlock::open_with_pool(path, true, pool).unwrap();
        direct = Some(dev.direct_io());
        async move { dev }
    }));
    println!(
        "block suite on {}: direct I/O {:?}",
        dir.path().display(),
        direct
    );
}

#[test]
fn passes_the_block_suite_buffered() {
    let dir = disk_dir();
    let n = std::cell::Cell::new(0);
    run(conformance::block(|pool| {
        n.set(n.get() + 1);
        let path = zero_file(dir.path(), &format!("b{}", n.get()), 512 * 128);
        let dev = FileBlock::open_with_pool(path, true, pool)
            .unwrap()
            .without_direct_io();
        assert!(!dev.direct_io());
        async move { dev }
    }));
}

#[test]
fn passes_the_block_suite_on_tmpfs() {
    let Ok(dir) = tempfile::tempdir_in("/dev/shm") else {
        println!("skipped: no /dev/shm");
        return;
    };
    let n = std::cell::Cell::new(0);
    let mut direct = None;
    run(conformance::block(|pool| {
        n.set(n.get() + 1);
        let path = zero_file(dir.path(), &format!("d{}", n.get()), 512 * 256);
        let dev = FileBlock::open_with_pool(path, true, pool).unwrap();
        direct = Some(dev.direct_io());
        async move { dev }
    }));
    println!("block suite on tmpfs: direct I/O {direct:?}");
}

#[test]
fn read_only_file_passes_its_suite() {
    let dir = disk_dir();
    let path = zero_file(dir.path(), "ro", 512 * 8);
    run(conformance::block_read_only(|pool| {
        let dev = FileBlock::open_with_pool(&path, false, pool).unwrap();
        async move { dev }
    }));
}

#[test]
fn bad_requests_are_errors_before_any_syscall() {
    let dir = disk_dir();
    let path = zero_file(dir.path(), "bad", 512 * 16);
    run(async {
        let pool = PagePool::current();
        let dev = FileBlock::open(&path, true).unwrap();
        assert_eq!(dev.info().sectors, 16);
        assert_eq!(dev.info().sector_size, 512);
        assert!(dev.info().read_write);
        assert_eq!(dev.read(16, 1).await.err(), Some(Error::OutOfRange));
        assert_eq!(dev.read(15, 2).await.err(), Some(Error::OutOfRange));
        assert_eq!(dev.read(u64::MAX, 1).await.err(), Some(Error::OutOfRange));
        assert_eq!(dev.read(1, u64::MAX).await.err(), Some(Error::OutOfRange));
        let two = pool.chain_from(&[1u8; 1024]).unwrap();
        assert_eq!(dev.write(15, two).await, Err(Error::OutOfRange));
        let odd = pool.chain_from(&[1u8; 513]).unwrap();
        assert_eq!(dev.write(0, odd).await, Err(Error::Unaligned));
        assert_eq!(dev.discard(10, 7).await, Err(Error::OutOfRange));
        assert_eq!(
            dev.discard(u64::MAX, u64::MAX).await,
            Err(Error::OutOfRange)
        );
        // Nothing reached the file.
        assert!(dev
            .read(0, 16)
            .await
            .unwrap()
            .to_vec()
            .iter()
            .all(|&b| b == 0));
    });
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 512 * 16);
}

#[test]
fn read_only_open_refuses_writes() {
    let dir = disk_dir();
    let path = zero_file(dir.path(), "ro", 512 * 4);
    std::fs::write(&path, pattern(3, 2048)).unwrap();
    run(async {
        let pool = PagePool::current();
        let dev = FileBlock::open(&path, false).unwrap();
        assert!(!dev.info().read_write);
        let one = pool.chain_from(&[9u8; 512]).unwrap();
        assert_eq!(dev.write(0, one).await, Err(Error::ReadOnly));
        assert_eq!(dev.discard(0, 1).await, Err(Error::ReadOnly));
        // Read-only wins over the other checks: nothing is written anyway.
        let odd = pool.chain_from(&[9u8; 3]).unwrap();
        assert_eq!(dev.write(100, odd).await, Err(Error::ReadOnly));
        assert!(dev.read(0, 4).await.unwrap().eq_slice(&pattern(3, 2048)));
        dev.flush().await.unwrap();
    });
    assert_eq!(std::fs::read(&path).unwrap(), pattern(3, 2048));
}

#[test]
fn a_partial_last_sector_is_not_part_of_the_device() {
    let dir = disk_dir();
    let path = dir.path().join("odd");
    let content = pattern(5, 512 * 3 + 100);
    std::fs::write(&path, &content).unwrap();
    run(async {
        let pool = PagePool::current();
        let dev = FileBlock::open(&path, true).unwrap();
        assert_eq!(dev.info().sectors, 3, "truncated to whole sectors");
        assert!(dev.read(0, 3).await.unwrap().eq_slice(&content[..1536]));
        assert_eq!(dev.read(3, 1).await.err(), Some(Error::OutOfRange));
        let one = pool.chain_from(&[0xee; 512]).unwrap();
        assert_eq!(dev.write(3, one).await, Err(Error::OutOfRange));
        let one = pool.chain_from(&[0xee; 512]).unwrap();
        dev.write(2, one).await.unwrap();
        dev.flush().await.unwrap();
    });
    let after = std::fs::read(&path).unwrap();
    assert_eq!(after.len(), content.len(), "the file keeps its length");
    assert!(after[1024..1536].iter().all(|&b| b == 0xee));
    assert_eq!(&after[1536..], &content[1536..], "the tail is untouched");

    // Smaller than one sector: an empty device, still usable.
    let tiny = dir.path().join("tiny");
    std::fs::write(&tiny, b"abc").unwrap();
    run(async {
        let dev = FileBlock::open(&tiny, true).unwrap();
        assert_eq!(dev.info().sectors, 0);
        assert!(dev.read(0, 0).await.unwrap().is_empty());
        assert_eq!(dev.read(0, 1).await.err(), Some(Error::OutOfRange));
    });
}

#[test]
fn data_persists_after_flush_and_reopen() {
    let dir = disk_dir();
    let path = zero_file(dir.path(), "persist", 512 * 64);
    let data = pattern(11, 512 * 20);
    run(async {
        let pool = PagePool::current();
        let dev = FileBlock::open(&path, true).unwrap();
        dev.write(7, pool.chain_from(&data).unwrap()).await.unwrap();
        dev.flush().await.unwrap();
    });
    run(async {
        let dev = FileBlock::open(&path, false).unwrap();
        assert!(dev.read(7, 20).await.unwrap().eq_slice(&data));
        assert!(dev
            .read(0, 7)
            .await
            .unwrap()
            .to_vec()
            .iter()
            .all(|&b| b == 0));
    });
    // And with plain std reads: the bytes are where the sectors say.
    let mut f = std::fs::File::open(&path).unwrap();
    f.seek(SeekFrom::Start(7 * 512)).unwrap();
    let mut back = vec![0; data.len()];
    f.read_exact(&mut back).unwrap();
    assert_eq!(back, data);
}

#[test]
fn direct_io_where_the_filesystem_has_it() {
    let dir = disk_dir();
    let fs = rustix::fs::statfs(dir.path()).unwrap();
    let ext4 = fs.f_type as i64 == 0xEF53;
    // 1100 pages: more than IOV_MAX segments, so the vectored calls are split.
    let sectors = 8 * 1100 + 3;
    let path = zero_file(dir.path(), "direct", 512 * sectors);
    run(async {
        let pool = PagePool::current();
        let dev = FileBlock::open(&path, true).unwrap();
        println!(
            "{} (statfs type {:#x}): direct I/O {}",
            dir.path().display(),
            fs.f_type,
            dev.direct_io()
        );
        if ext4 {
            assert!(dev.direct_io(), "ext4 supports O_DIRECT");
        }
        let big = pattern(21, 512 * sectors as usize);
        dev.write(0, pool.chain_from(&big).unwrap()).await.unwrap();
        let back = dev.read(0, sectors).await.unwrap();
        assert_eq!(back.segments(), 1101);
        assert!(back.eq_slice(&big));
        // An unaligned chain (segments of odd lengths) goes buffered, and a
        // direct read afterwards sees it (the kernel keeps the two coherent).
        let odd_bytes = pattern(22, 512 * 4);
        let mut odd = BufChain::new();
        odd.push(pool.buf_from(&odd_bytes[..3]).unwrap());
        odd.push(pool.buf_from(&odd_bytes[3..1000]).unwrap());
        odd.push(pool.buf_from(&odd_bytes[1000..]).unwrap());
        dev.write(9, odd).await.unwrap();
        assert!(dev.read(9, 4).await.unwrap().eq_slice(&odd_bytes));
        // And a direct write after buffered data is seen by a buffered read.
        let again = pattern(23, 4096);
        dev.write(9, pool.chain_from(&again).unwrap())
            .await
            .unwrap();
        dev.flush().await.unwrap();
        let mut f = std::fs::File::open(&path).unwrap();
        f.seek(SeekFrom::Start(9 * 512)).unwrap();
        let mut back = vec![0; 4096];
        f.read_exact(&mut back).unwrap();
        assert_eq!(back, again);
        if ext4 {
            assert!(dev.direct_io(), "direct I/O still on after all that");
        }
    });
}

#[test]
fn discard_punches_a_hole() {
    let dir = disk_dir();
    let path = zero_file(dir.path(), "hole", 0);
    std::fs::write(&path, pattern(1, 512 * 64)).unwrap();
    run(async {
        let dev = FileBlock::open(&path, true).unwrap();
        dev.discard(8, 40).await.unwrap();
        let back = dev.read(0, 64).await.unwrap().to_vec();
        assert!(back[8 * 512..48 * 512].iter().all(|&b| b == 0));
        assert_eq!(&back[..8 * 512], &pattern(1, 512 * 64)[..8 * 512]);
        assert_eq!(&back[48 * 512..], &pattern(1, 512 * 64)[48 * 512..]);
    });
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 512 * 64);
}

#[test]
fn an_exhausted_pool_is_an_error_not_a_panic() {
    let dir = disk_dir();
    let path = zero_file(dir.path(), "pool", 512 * 64);
    run(async {
        let pool = PagePool::with_config(PoolConfig::new().chunk_pages(2).max_pages(2)).unwrap();
        let dev = FileBlock::open_with_pool(&path, true, pool.clone()).unwrap();
        assert_eq!(dev.read(0, 64).await.err(), Some(Error::PoolExhausted));
        assert_eq!(pool.stats().in_use, 0, "no page kept after the failure");
        assert_eq!(dev.read(0, 8).await.unwrap().len(), 4096);
    });
}

#[test]
fn what_is_not_a_file_or_device_is_refused() {
    let dir = disk_dir();
    let e = FileBlock::open(dir.path(), false).unwrap_err();
    assert!(
        matches!(
            e.kind(),
            std::io::ErrorKind::InvalidInput | std::io::ErrorKind::IsADirectory
        ),
        "{e}"
    );
    let e = FileBlock::open(dir.path().join("missing"), true).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::NotFound);
}

/// A loop device over a file: the block-device path (BLKSSZGET,
/// BLKGETSIZE64). Needs root and losetup; skips with a reason otherwise.
#[test]
fn a_loop_block_device() {
    if !rustix::process::geteuid().is_root() {
        println!("skipped: not root");
        return;
    }
    let dir = disk_dir();
    let backing = zero_file(dir.path(), "loop", 512 * 2048);
    let out = std::process::Command::new("losetup")
        .args(["--find", "--show"])
        .arg(&backing)
        .output();
    let Some(out) = out.ok().filter(|o| o.status.success()) else {
        println!("skipped: losetup failed (no loop devices here?)");
        return;
    };
    let dev_path = String::from_utf8(out.stdout).unwrap().trim().to_string();
    struct Detach(String);
    impl Drop for Detach {
        fn drop(&mut self) {
            let _ = std::process::Command::new("losetup")
                .args(["-d", &self.0])
                .status();
        }
    }
    let _detach = Detach(dev_path.clone());
    let data = pattern(8, 512 * 10);
    run(async {
        let pool = PagePool::current();
        let dev = FileBlock::open(&dev_path, true).unwrap();
        println!("{dev_path}: {:?}", dev);
        assert!(dev.is_block_device());
        assert_eq!(
            dev.info().sectors * u64::from(dev.info().sector_size),
            512 * 2048
        );
        dev.write(1, pool.chain_from(&data).unwrap()).await.unwrap();
        dev.flush().await.unwrap();
        assert!(dev.read(1, 10).await.unwrap().eq_slice(&data));
        match dev.discard(1, 10).await {
            Ok(()) => assert!(dev
                .read(1, 10)
                .await
                .unwrap()
                .to_vec()
                .iter()
                .all(|&b| b == 0)),
            Err(e) => assert_eq!(e, Error::Unsupported),
        }
    });
}

/// Another process truncates the file under the device: reads past the new
/// end are an I/O error (not zeros, not a panic); the rest still works.
#[test]
fn a_file_shrunk_under_the_device_is_an_io_error() {
    let dir = disk_dir();
    let path = zero_file(dir.path(), "shrink", 512 * 64);
    run(async {
        let dev = FileBlock::open(&path, true).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(512 * 8)
            .unwrap();
        assert_eq!(dev.info().sectors, 64, "geometry is fixed at open");
        assert_eq!(dev.read(32, 4).await.err(), Some(Error::Io));
        assert_eq!(dev.read(0, 8).await.unwrap().len(), 4096);
    });
}
