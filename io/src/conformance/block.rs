//! The [`Block`] suites.

use alloc::vec::Vec;
use core::future::Future;

use super::support::{
    bounded, cancel_after, cancel_points, check, check_no_leak, fail, pattern, suite_pool, Outcome,
};
use crate::block::{Block, BlockInfo};
use crate::page::{BufChain, PagePool};
use crate::Error;

const S: &str = "block";

/// Checks every [`Block`] contract on devices made by `make_dev(pool)`: a
/// fresh, zero-filled, writable device of at least 64 sectors that reads
/// into pages of `pool`. Geometry, reads and writes anywhere (including
/// chains cut at odd places), zeros where nothing was written, discard,
/// flush, out-of-range and unaligned requests (errors, no panic), and
/// cancellation of each request at each of its await points (the device
/// keeps working, each sector holds its old or its new data, no page is
/// lost).
///
/// # Panics
/// On the first broken contract, naming it.
pub async fn block<D, M, Fut>(mut make_dev: M)
where
    D: Block + 'static,
    M: FnMut(PagePool) -> Fut,
    Fut: Future<Output = D>,
{
    let pool = suite_pool();
    macro_rules! case {
        ($name:expr, $body:expr) => {{
            let dev = make_dev(pool.clone()).await;
            bounded(S, $name, $body(&dev, &pool)).await;
            drop(dev);
            check_no_leak(S, $name, &pool).await;
        }};
    }
    case!("geometry", geometry);
    case!("read what was written", round_trips);
    case!("zeros", zeros);
    case!("odd chains", odd_chains);
    case!("discard", discard);
    case!("bad requests", bad_requests);
    cancellation(&mut make_dev, &pool).await;
}

/// Checks a read-only device made by `make_dev(pool)` (at least one
/// sector): it says so, refuses `write` and `discard` with
/// [`Error::ReadOnly`], and reads.
///
/// # Panics
/// On the first broken contract, naming it.
pub async fn block_read_only<D, M, Fut>(mut make_dev: M)
where
    D: Block + 'static,
    M: FnMut(PagePool) -> Fut,
    Fut: Future<Output = D>,
{
    let case = "read-only";
    let pool = suite_pool();
    let dev = make_dev(pool.clone()).await;
    let info = dev.info();
    check!(S, case, !info.read_write, "info().read_write must be false");
    let one = sector_data(&pool, info, 0, 1);
    let w = bounded(S, case, dev.write(0, one)).await;
    check!(
        S,
        case,
        w == Err(Error::ReadOnly),
        "write: {w:?}, want ReadOnly"
    );
    let d = bounded(S, case, dev.discard(0, 1)).await;
    check!(
        S,
        case,
        d == Err(Error::ReadOnly),
        "discard: {d:?}, want ReadOnly"
    );
    let r = bounded(S, case, dev.read(0, 1)).await;
    check!(
        S,
        case,
        r.as_ref().map(|c| c.len()) == Ok(info.sector_size as usize),
        "read: {r:?}"
    );
    drop((r, dev));
    check_no_leak(S, case, &pool).await;
}

/// `count` sectors of pattern `seed`, as pool pages.
fn sector_data(pool: &PagePool, info: BlockInfo, seed: u8, count: u64) -> BufChain {
    let bytes = pattern(seed, count as usize * info.sector_size as usize);
    pool.chain_from(&bytes).expect("pages for a request")
}

async fn read_vec<D: Block>(case: &str, dev: &D, sector: u64, count: u64) -> Vec<u8> {
    match dev.read(sector, count).await {
        Ok(chain) => {
            let want = count as usize * dev.info().sector_size as usize;
            check!(
                S,
                case,
                chain.len() == want,
                "read({sector}, {count}) gave {} bytes, want {want}",
                chain.len()
            );
            chain.to_vec()
        }
        Err(e) => fail(S, case, format_args!("read({sector}, {count}): {e}")),
    }
}

async fn geometry<D: Block>(dev: &D, _: &PagePool) {
    let info = dev.info();
    let case = "geometry";
    check!(
        S,
        case,
        info.sector_size.is_power_of_two() && info.sector_size >= 512,
        "sector size {}",
        info.sector_size
    );
    check!(
        S,
        case,
        info.sectors >= 64,
        "the suite needs at least 64 sectors, got {}",
        info.sectors
    );
    check!(
        S,
        case,
        info.read_write,
        "the suite needs a writable device"
    );
    check!(
        S,
        case,
        dev.info() == info,
        "info() must not change by itself"
    );
}

async fn round_trips<D: Block>(dev: &D, pool: &PagePool) {
    let case = "read what was written";
    let info = dev.info();
    let last = info.sectors;
    let spots = [
        (0, 1),
        (1, 3),
        (7, 9),
        (last / 2, 17),
        (last - 5, 5),
        (last - 1, 1),
    ];
    for (i, &(sector, count)) in spots.iter().enumerate() {
        let data = sector_data(pool, info, i as u8, count);
        let expect = data.to_vec();
        if let Err(e) = dev.write(sector, data).await {
            fail(
                S,
                case,
                format_args!("write({sector}, {count} sectors): {e}"),
            );
        }
        let got = read_vec(case, dev, sector, count).await;
        check!(
            S,
            case,
            got == expect,
            "read({sector}, {count}) differs from what was written"
        );
    }
    // The last write wins, sector by sector.
    dev.write(0, sector_data(pool, info, 50, 4))
        .await
        .expect("write");
    dev.write(2, sector_data(pool, info, 60, 4))
        .await
        .expect("write");
    let got = read_vec(case, dev, 0, 6).await;
    let size = info.sector_size as usize;
    let mut expect = pattern(50, 4 * size);
    expect.truncate(2 * size);
    expect.extend_from_slice(&pattern(60, 4 * size));
    check!(
        S,
        case,
        got == expect,
        "overlapping writes: the last one must win"
    );
    dev.flush().await.expect("flush");
    // Zero-length requests.
    let empty = dev.read(3, 0).await.expect("read of 0 sectors");
    check!(
        S,
        case,
        empty.is_empty(),
        "read of 0 sectors gave {} bytes",
        empty.len()
    );
    dev.write(3, BufChain::new())
        .await
        .expect("write of 0 sectors");
}

async fn zeros<D: Block>(dev: &D, _: &PagePool) {
    let last = dev.info().sectors;
    for (sector, count) in [(0, 8), (last - 8, 8)] {
        let got = read_vec("zeros", dev, sector, count).await;
        check!(
            S,
            "zeros",
            got.iter().all(|&b| b == 0),
            "a never-written sector must read as zeros"
        );
    }
}

async fn odd_chains<D: Block>(dev: &D, pool: &PagePool) {
    let case = "odd chains";
    let info = dev.info();
    let bytes = pattern(77, 6 * info.sector_size as usize);
    // Segments of any length, as long as the total is whole sectors.
    let mut chain = BufChain::new();
    let mut rest = &bytes[..];
    for cut in [1usize, 100, 511, 700, 4096] {
        let n = cut.min(rest.len());
        chain.push(pool.buf_from(&rest[..n]).expect("page"));
        rest = &rest[n..];
    }
    chain.extend(pool.chain_from(rest).expect("pages"));
    dev.write(10, chain).await.expect("write of an odd chain");
    let got = read_vec(case, dev, 10, 6).await;
    check!(
        S,
        case,
        got == bytes,
        "a chain cut at odd places must write its bytes in order"
    );
}

async fn discard<D: Block>(dev: &D, pool: &PagePool) {
    let case = "discard";
    let info = dev.info();
    dev.write(0, sector_data(pool, info, 9, 32))
        .await
        .expect("write");
    dev.discard(5, 20).await.expect("discard");
    let got = read_vec(case, dev, 0, 32).await;
    let size = info.sector_size as usize;
    let expect = pattern(9, 32 * size);
    for (i, (g, e)) in got.chunks(size).zip(expect.chunks(size)).enumerate() {
        if (5..25).contains(&i) {
            check!(
                S,
                case,
                g.iter().all(|&b| b == 0),
                "discarded sector {i} must read as zeros"
            );
        } else {
            check!(S, case, g == e, "sector {i} outside the discard changed");
        }
    }
    dev.discard(0, 0).await.expect("discard of 0 sectors");
}

async fn bad_requests<D: Block>(dev: &D, pool: &PagePool) {
    let case = "bad requests";
    let info = dev.info();
    let n = info.sectors;
    for (sector, count) in [
        (n, 1),
        (n - 1, 2),
        (u64::MAX, 1),
        (1, u64::MAX),
        (u64::MAX, u64::MAX),
    ] {
        let r = dev.read(sector, count).await;
        check!(
            S,
            case,
            matches!(r, Err(Error::OutOfRange)),
            "read({sector}, {count}): {:?}, want OutOfRange",
            r.map(|c| c.len())
        );
        let d = dev.discard(sector, count).await;
        check!(
            S,
            case,
            d == Err(Error::OutOfRange),
            "discard({sector}, {count}): {d:?}, want OutOfRange"
        );
    }
    for sector in [n, n - 1, u64::MAX] {
        let w = dev.write(sector, sector_data(pool, info, 1, 2)).await;
        check!(
            S,
            case,
            w == Err(Error::OutOfRange),
            "write({sector}, 2 sectors): {w:?}, want OutOfRange"
        );
    }
    let odd = pool
        .chain_from(&pattern(1, info.sector_size as usize + 1))
        .expect("pages");
    let w = dev.write(0, odd).await;
    check!(
        S,
        case,
        w == Err(Error::Unaligned),
        "write of a sector and a byte: {w:?}, want Unaligned"
    );
    // Nothing above changed the device.
    let got = read_vec(case, dev, 0, 2).await;
    check!(
        S,
        case,
        got.iter().all(|&b| b == 0),
        "a refused write changed the device"
    );
}

#[derive(Clone, Copy, Debug)]
enum Op {
    Read,
    Write,
    Flush,
    Discard,
}

/// Each request dropped at each await point: the device keeps working,
/// sectors hold old or new data, and no page is lost.
async fn cancellation<D, M, Fut>(make_dev: &mut M, pool: &PagePool)
where
    D: Block + 'static,
    M: FnMut(PagePool) -> Fut,
    Fut: Future<Output = D>,
{
    for op in [Op::Read, Op::Write, Op::Flush, Op::Discard] {
        let case = match op {
            Op::Read => "cancel read",
            Op::Write => "cancel write",
            Op::Flush => "cancel flush",
            Op::Discard => "cancel discard",
        };
        let mut completed = false;
        for k in cancel_points() {
            let dev = make_dev(pool.clone()).await;
            let info = dev.info();
            let size = info.sector_size as usize;
            let old = pattern(1, 4 * size);
            let new = pattern(2, 4 * size);
            dev.write(8, pool.chain_from(&old).expect("pages"))
                .await
                .expect("write");
            let outcome = bounded(S, case, async {
                match op {
                    Op::Read => match cancel_after(k, dev.read(8, 4)).await {
                        Outcome::Done(r) => {
                            Outcome::Done(r.map(|c| check!(S, case, c.eq_slice(&old), "read data")))
                        }
                        Outcome::Cancelled => Outcome::Cancelled,
                    },
                    Op::Write => {
                        let data = pool.chain_from(&new).expect("pages");
                        cancel_after(k, dev.write(8, data)).await
                    }
                    Op::Flush => cancel_after(k, dev.flush()).await,
                    Op::Discard => cancel_after(k, dev.discard(8, 4)).await,
                }
            })
            .await;
            // Whatever happened, a flush completes it and the device works.
            bounded(S, case, dev.flush())
                .await
                .expect("flush after a cancelled request");
            let got = bounded(S, case, read_vec(case, &dev, 8, 4)).await;
            for (i, g) in got.chunks(size).enumerate() {
                let o = &old[i * size..(i + 1) * size];
                let ok = match op {
                    Op::Read | Op::Flush => g == o,
                    Op::Write => g == o || g == &new[i * size..(i + 1) * size],
                    Op::Discard => g == o || g.iter().all(|&b| b == 0),
                };
                check!(S, case, ok, "after dropping the request at await point {k}, sector {} holds neither its old nor its new data", 8 + i);
            }
            if let Outcome::Done(r) = &outcome {
                check!(S, case, r.is_ok(), "request failed: {r:?}");
            }
            bounded(
                S,
                case,
                dev.write(20, pool.chain_from(&new).expect("pages")),
            )
            .await
            .expect("a write after");
            let again = bounded(S, case, read_vec(case, &dev, 20, 4)).await;
            check!(
                S,
                case,
                again == new,
                "the device must work after a cancelled request"
            );
            drop(dev);
            check_no_leak(S, case, pool).await;
            if matches!(outcome, Outcome::Done(_)) {
                completed = true;
                break;
            }
        }
        check!(
            S,
            case,
            completed,
            "the operation never completed (2^20 polls)"
        );
    }
}
