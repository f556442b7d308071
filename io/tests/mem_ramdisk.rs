//! `mem::RamDisk`: contents, range checks, and every injected fault.

use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use shimmer_executor::{block_on, sleep, Instant};
use shimmer_io::block::Block;
use shimmer_io::mem::RamDisk;
use shimmer_io::page::{BufChain, PagePool};
use shimmer_io::Error;

fn poll_once<F: Future>(f: std::pin::Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[test]
fn reads_what_was_written_and_zeros_elsewhere() {
    let pool = PagePool::new();
    block_on(async {
        let disk = RamDisk::new(pool.clone(), 512, 1 << 30).unwrap(); // 512 GiB, sparse
        assert_eq!(disk.info().sector_size, 512);
        let data = pattern(512 * 11, 3);
        // Straddles storage blocks and ends near the end of the disk.
        for sector in [0, 5, (1 << 30) - 11] {
            disk.write(sector, pool.chain_from(&data).unwrap())
                .await
                .unwrap();
            let back = disk.read(sector, 11).await.unwrap();
            assert_eq!(back.len(), data.len());
            assert!(back.eq_slice(&data));
        }
        let zeros = disk.read(100_000, 9).await.unwrap();
        assert!(zeros.to_vec().iter().all(|&b| b == 0));
        assert!(disk.stored_bytes() <= 8 * 4096, "sparse");
        assert!(disk.read(0, 0).await.unwrap().is_empty());
        disk.write(3, BufChain::new()).await.unwrap();
        disk.flush().await.unwrap();
    });
    assert_eq!(pool.stats().in_use, 0);
}

#[test]
fn bad_requests_are_errors() {
    block_on(async {
        let pool = PagePool::new();
        let disk = RamDisk::new(pool.clone(), 4096, 16).unwrap();
        let sector = || pool.chain_from(&[1; 4096]).unwrap();
        assert_eq!(disk.read(16, 1).await.unwrap_err(), Error::OutOfRange);
        assert_eq!(disk.read(15, 2).await.unwrap_err(), Error::OutOfRange);
        assert_eq!(disk.read(u64::MAX, 2).await.unwrap_err(), Error::OutOfRange);
        assert_eq!(disk.read(0, u64::MAX).await.unwrap_err(), Error::OutOfRange);
        assert_eq!(
            disk.write(16, sector()).await.unwrap_err(),
            Error::OutOfRange
        );
        assert_eq!(disk.discard(10, 7).await.unwrap_err(), Error::OutOfRange);
        let odd = pool.chain_from(&[1; 100]).unwrap();
        assert_eq!(disk.write(0, odd).await.unwrap_err(), Error::Unaligned);
        assert_eq!(
            RamDisk::new(pool.clone(), 1000, 8).unwrap_err(),
            Error::InvalidInput
        );
        assert_eq!(
            RamDisk::new(pool.clone(), 256, 8).unwrap_err(),
            Error::InvalidInput
        );
        assert_eq!(
            RamDisk::new(pool.clone(), 8192, 8).unwrap_err(),
            Error::InvalidInput
        );
        assert_eq!(
            RamDisk::new(pool.clone(), 512, u64::MAX).unwrap_err(),
            Error::InvalidInput
        );

        disk.set_read_only(true);
        assert!(!disk.info().read_write);
        assert_eq!(disk.write(0, sector()).await.unwrap_err(), Error::ReadOnly);
        assert_eq!(disk.discard(0, 1).await.unwrap_err(), Error::ReadOnly);
        disk.read(0, 1).await.unwrap();
        disk.set_read_only(false);
        disk.write(0, sector()).await.unwrap();
    });
}

#[test]
fn discard_zeroes() {
    block_on(async {
        let pool = PagePool::new();
        let disk = RamDisk::new(pool.clone(), 512, 64).unwrap();
        disk.write(0, pool.chain_from(&[0xee; 512 * 20]).unwrap())
            .await
            .unwrap();
        disk.discard(3, 12).await.unwrap(); // a partial block, whole blocks, a partial one
        let all = disk.read(0, 20).await.unwrap().to_vec();
        for (i, sector) in all.chunks(512).enumerate() {
            let expect = if (3..15).contains(&i) { 0 } else { 0xee };
            assert!(sector.iter().all(|&b| b == expect), "sector {i}");
        }
    });
}

#[test]
fn failed_requests_and_torn_writes() {
    block_on(async {
        let pool = PagePool::new();
        let disk = RamDisk::new(pool.clone(), 512, 64).unwrap();
        disk.fail_request(0);
        disk.fail_request(2);
        disk.tear_write(3, 2);
        let old = pattern(512 * 4, 1);
        let new = pattern(512 * 4, 2);
        // 0: a failed write changes nothing.
        assert_eq!(
            disk.write(0, pool.chain_from(&new).unwrap())
                .await
                .unwrap_err(),
            Error::Io
        );
        disk.write(0, pool.chain_from(&old).unwrap()).await.unwrap(); // 1
        assert_eq!(disk.flush().await.unwrap_err(), Error::Io); // 2
                                                                // 3: torn after two sectors.
        assert_eq!(
            disk.write(0, pool.chain_from(&new).unwrap())
                .await
                .unwrap_err(),
            Error::Io
        );
        let back = disk.read(0, 4).await.unwrap().to_vec(); // 4
        assert_eq!(back[..1024], new[..1024]);
        assert_eq!(back[1024..], old[1024..]);
        assert_eq!(disk.requests(), 5);
        // Faults fire once.
        disk.write(0, pool.chain_from(&new).unwrap()).await.unwrap();
    });
}

#[test]
fn detached_disk_answers_device_gone() {
    block_on(async {
        let pool = PagePool::new();
        let disk = RamDisk::new(pool.clone(), 512, 8).unwrap();
        disk.detach();
        assert_eq!(disk.read(0, 1).await.unwrap_err(), Error::DeviceGone);
        let data = pool.chain_from(&[0; 512]).unwrap();
        assert_eq!(disk.write(0, data).await.unwrap_err(), Error::DeviceGone);
        assert_eq!(disk.flush().await.unwrap_err(), Error::DeviceGone);
        assert_eq!(disk.discard(0, 1).await.unwrap_err(), Error::DeviceGone);
    });
}

#[test]
fn slow_responses_take_their_time() {
    block_on(async {
        let pool = PagePool::new();
        let disk = RamDisk::new(pool.clone(), 512, 8).unwrap();
        disk.set_delay(Some(Duration::from_millis(5)));
        let start = Instant::now();
        disk.write(0, pool.chain_from(&[1; 512]).unwrap())
            .await
            .unwrap();
        disk.read(0, 1).await.unwrap();
        assert!(start.elapsed() >= Duration::from_millis(10));
        // Detached while a request waits for its answer.
        let slow = disk.read(0, 1);
        let slow = async {
            let r = slow.await;
            r.map(drop)
        };
        let (r, ()) = futures_join(slow, async { disk.detach() }).await;
        assert_eq!(r.unwrap_err(), Error::DeviceGone);
    });
}

/// Polls both futures to completion (a tiny join, no extra dependency).
async fn futures_join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let mut a = pin!(a);
    let mut b = pin!(b);
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none() {
            if let Poll::Ready(v) = a.as_mut().poll(cx) {
                ra = Some(v);
            }
        }
        if rb.is_none() {
            if let Poll::Ready(v) = b.as_mut().poll(cx) {
                rb = Some(v);
            }
        }
        if ra.is_some() && rb.is_some() {
            Poll::Ready((ra.take().unwrap(), rb.take().unwrap()))
        } else {
            Poll::Pending
        }
    })
    .await
}

#[test]
fn a_dropped_slow_write_keeps_its_pages_until_the_device_is_done() {
    let pool = PagePool::new();
    block_on(async {
        let disk = RamDisk::new(pool.clone(), 512, 8).unwrap();
        disk.set_delay(Some(Duration::from_millis(3)));
        let data = pool.chain_from(&[7; 1024]).unwrap();
        {
            let mut write = pin!(disk.write(2, data));
            assert!(poll_once(write.as_mut()).is_pending());
        } // the caller gives up
        assert_eq!(disk.in_flight(), 1);
        assert_eq!(
            pool.stats().in_use,
            1,
            "the device still holds the request's page"
        );
        disk.flush().await.unwrap(); // done with every earlier write
        assert_eq!(disk.in_flight(), 0);
        assert_eq!(pool.stats().in_use, 0);
        // The write happened (at submission), and the disk still works.
        assert!(disk.read(2, 2).await.unwrap().eq_slice(&[7; 1024]));
        sleep(Duration::from_millis(1)).await;
    });
    assert_eq!(pool.stats().in_use, 0);
}

#[test]
fn pool_exhaustion_on_read_is_an_error() {
    let pool = PagePool::with_config(
        shimmer_io::page::PoolConfig::new()
            .chunk_pages(1)
            .max_pages(1),
    )
    .unwrap();
    block_on(async {
        let disk = RamDisk::new(pool.clone(), 512, 64).unwrap();
        assert_eq!(disk.read(0, 16).await.unwrap_err(), Error::PoolExhausted);
        assert_eq!(
            pool.stats().in_use,
            0,
            "the partial read gave its pages back"
        );
        disk.read(0, 8).await.unwrap();
    });
}
