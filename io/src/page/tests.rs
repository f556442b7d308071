//! Unit tests of the pool and buffers.

use super::*;
use crate::Error;
extern crate std;

fn small(max: usize) -> PagePool {
    PagePool::with_config(PoolConfig::new().chunk_pages(2).max_pages(max)).unwrap()
}

#[test]
fn pages_are_aligned_and_distinct() {
    let pool = PagePool::new();
    let a = pool.alloc();
    let b = pool.alloc();
    assert_eq!(a.as_ptr() as usize % PAGE_SIZE, 0);
    assert_eq!(b.as_ptr() as usize % PAGE_SIZE, 0);
    assert_ne!(a.as_ptr(), b.as_ptr());
    assert_eq!(a.phys_addr(), a.as_ptr() as u64, "identity by default");
}

#[test]
fn stats_track_in_use_and_high_water() {
    let pool = small(8);
    assert_eq!(
        pool.stats().capacity,
        0,
        "lazy: nothing before the first page"
    );
    let pages: alloc::vec::Vec<_> = (0..5).map(|_| pool.alloc()).collect();
    let s = pool.stats();
    assert_eq!((s.in_use, s.high_water, s.capacity, s.free), (5, 5, 6, 1));
    assert_eq!(s.chunks, 3);
    drop(pages);
    let s = pool.stats();
    assert_eq!((s.in_use, s.high_water, s.free, s.allocs), (0, 5, 6, 5));
}

#[test]
fn cap_gives_an_error_not_a_panic() {
    let pool = small(3);
    let held: alloc::vec::Vec<_> = (0..3).map(|_| pool.try_alloc().unwrap()).collect();
    assert_eq!(pool.try_alloc().unwrap_err(), Error::PoolExhausted);
    assert_eq!(pool.try_alloc_zeroed().unwrap_err(), Error::PoolExhausted);
    assert_eq!(
        pool.stats().capacity,
        3,
        "the last chunk was cut to the cap"
    );
    assert_eq!(pool.reserve(1).unwrap_err(), Error::PoolExhausted);
    drop(held);
    assert!(pool.try_alloc().is_ok(), "pages come back after the cap");
}

#[test]
fn bad_config_is_an_error() {
    assert_eq!(
        PagePool::with_config(PoolConfig::new().chunk_pages(0)).unwrap_err(),
        Error::InvalidInput
    );
    assert_eq!(
        PagePool::with_config(PoolConfig::new().initial_pages(4).max_pages(2)).unwrap_err(),
        Error::InvalidInput
    );
    assert_eq!(
        PagePool::with_config(PoolConfig::new().chunk_pages(usize::MAX)).unwrap_err(),
        Error::InvalidInput
    );
}

#[test]
fn reserve_and_initial_pages() {
    let pool = PagePool::with_config(PoolConfig::new().chunk_pages(4).initial_pages(6)).unwrap();
    assert_eq!(pool.stats().capacity, 8);
    pool.reserve(10).unwrap();
    assert_eq!(pool.stats().capacity, 12);
    pool.reserve(3).unwrap();
    assert_eq!(pool.stats().capacity, 12, "already free");
}

#[test]
fn lifo_reuse_and_meta_survives() {
    let pool = small(4);
    let mut p = pool.alloc();
    assert_eq!(p.meta(), 0, "a new page starts at 0");
    p.set_meta(0xfeed);
    p[0] = 7;
    let addr = p.as_ptr();
    drop(p);
    let q = pool.alloc();
    assert_eq!(q.as_ptr(), addr, "the last freed page comes back first");
    assert_eq!(q.meta(), 0xfeed, "metadata survives free and reuse");
    assert_eq!(q[0], 7, "contents are not cleared");
    drop(q);
    let z = pool.try_alloc_zeroed().unwrap();
    assert!(z.iter().all(|&b| b == 0));
    assert_eq!(z.meta(), 0xfeed);
    // Through a Buf too.
    let b = z.freeze();
    b.set_meta(1);
    drop(b);
    assert_eq!(pool.alloc().meta(), 1);
}

#[test]
fn fresh_pages_are_zero() {
    let pool = PagePool::new();
    let p = pool.alloc();
    assert!(p.iter().all(|&b| b == 0));
}

#[test]
fn buf_slicing() {
    let pool = PagePool::new();
    let mut page = pool.alloc();
    for (i, b) in page.iter_mut().enumerate() {
        *b = i as u8;
    }
    let buf = page.freeze();
    assert_eq!(buf.len(), PAGE_SIZE);
    assert_eq!(buf.offset(), 0);
    let s = buf.slice(10..20);
    assert_eq!(&s[..], &(10u8..20).collect::<alloc::vec::Vec<_>>()[..]);
    assert_eq!(s.offset(), 10);
    assert_eq!(s.phys_addr(), buf.phys_addr() + 10);
    assert_eq!(buf.ref_count(), 2);
    let ss = s.slice(2..=3);
    assert_eq!(&ss[..], &[12, 13]);
    assert_eq!(s.try_slice(5..11).unwrap_err(), Error::OutOfRange);
    #[allow(clippy::reversed_empty_ranges)]
    let backwards = 6..5;
    assert_eq!(s.try_slice(backwards).unwrap_err(), Error::OutOfRange);
    assert_eq!(s.try_slice(..=usize::MAX).unwrap_err(), Error::OutOfRange);
    assert!(s.try_slice(10..10).unwrap().is_empty());
    assert!(Buf::same_page(&s, &buf));
}

#[test]
fn buf_split_and_unsplit() {
    let pool = PagePool::new();
    let mut buf = pool.buf_from(b"abcdefgh").unwrap();
    let head = buf.split_to(3);
    assert_eq!((&head[..], &buf[..]), (&b"abc"[..], &b"defgh"[..]));
    let tail = buf.split_off(2);
    assert_eq!((&buf[..], &tail[..]), (&b"de"[..], &b"fgh"[..]));
    assert_eq!(buf.ref_count(), 3);
    let mut whole = head.clone();
    let tail = whole.try_unsplit(tail).unwrap_err(); // not adjacent
    whole.try_unsplit(buf).unwrap();
    whole.try_unsplit(tail).unwrap();
    assert_eq!(&whole[..], b"abcdefgh");
    assert_eq!(whole.ref_count(), 2);
    assert_eq!(whole.try_split_to(9).unwrap_err(), Error::OutOfRange);
    assert_eq!(whole.try_split_off(9).unwrap_err(), Error::OutOfRange);
    assert_eq!(whole.try_advance(9).unwrap_err(), Error::OutOfRange);
    assert_eq!(&whole[..], b"abcdefgh", "errors change nothing");
    whole.advance(2);
    whole.truncate(3);
    whole.truncate(100);
    assert_eq!(&whole[..], b"cde");
    let other = pool.buf_from(b"x").unwrap();
    assert!(whole.try_unsplit(other).is_err(), "another page");
}

#[test]
#[should_panic(expected = "out of range")]
fn slice_panics_only_in_the_panicking_form() {
    let pool = PagePool::new();
    let buf = pool.buf_from(b"abc").unwrap();
    let _ = buf.slice(2..4);
}

#[test]
fn into_page_only_when_unique() {
    let pool = PagePool::new();
    let mut page = pool.alloc();
    page[100] = 9;
    let buf = page.freeze();
    let view = buf.slice(100..101);
    let buf = buf.try_into_page().unwrap_err();
    drop(view);
    let page = buf.try_into_page().unwrap();
    assert_eq!(page[100], 9, "the whole page comes back");
    assert_eq!(pool.stats().in_use, 1);
}

#[test]
fn try_mut_only_when_unique() {
    let pool = PagePool::new();
    let mut buf = pool.buf_from(b"abc").unwrap();
    let other = buf.clone();
    assert!(buf.try_mut().is_none());
    drop(other);
    buf.try_mut().unwrap()[0] = b'x';
    assert_eq!(&buf[..], b"xbc");
}

#[test]
fn buf_from_and_chain_from() {
    let pool = PagePool::new();
    let big = alloc::vec![5u8; PAGE_SIZE + 1];
    assert_eq!(pool.buf_from(&big).unwrap_err(), Error::TooLarge);
    let chain = pool.chain_from(&big).unwrap();
    assert_eq!(chain.segments(), 2);
    assert_eq!(chain.len(), PAGE_SIZE + 1);
    assert!(chain.eq_slice(&big));
    let capped = small(1);
    assert_eq!(capped.chain_from(&big).unwrap_err(), Error::PoolExhausted);
    assert_eq!(capped.stats().in_use, 0, "nothing kept on error");
}

#[test]
fn pool_outlives_its_last_handle() {
    let pool = PagePool::new();
    let page = pool.alloc();
    let buf = pool.buf_from(b"still here").unwrap();
    drop(pool);
    assert_eq!(&buf[..], b"still here");
    let again = page.pool();
    assert_eq!(again.stats().in_use, 2);
    drop(again);
    drop(page);
    drop(buf); // frees the pool (checked for leaks under Miri and ASan)
}

#[test]
fn clones_are_one_pool() {
    let a = PagePool::new();
    let b = a.clone();
    let p = b.alloc();
    assert_eq!(a.stats().in_use, 1);
    assert!(PagePool::ptr_eq(&a, &p.pool()));
    assert!(!PagePool::ptr_eq(&a, &PagePool::new()));
}

#[test]
fn phys_addr_hook() {
    fn fake(page: *const u8) -> u64 {
        (page as usize as u64) | (1 << 63)
    }
    let pool = PagePool::with_config(PoolConfig::new().phys_addr(fake)).unwrap();
    let p = pool.alloc();
    assert_eq!(p.phys_addr(), p.as_ptr() as u64 | (1 << 63));
    let b = p.freeze().slice(8..);
    assert_eq!(b.phys_addr(), b.as_ptr() as u64 | (1 << 63));
}

#[test]
fn for_each_page_sees_every_page() {
    let pool = small(4);
    let mut p = pool.alloc();
    p.set_meta(11);
    let q = pool.alloc();
    let mut seen = alloc::vec::Vec::new();
    pool.for_each_page(|phys, meta| seen.push((phys, meta)));
    assert_eq!(seen.len(), 2);
    assert!(seen.contains(&(p.phys_addr(), 11)));
    assert!(seen.contains(&(q.phys_addr(), 0)));
    // The callback may use the pool, even make it grow.
    let mut held = alloc::vec::Vec::new();
    let mut visited = 0;
    pool.for_each_page(|_, _| {
        visited += 1;
        if let Ok(p) = pool.try_alloc() {
            held.push(p);
        }
    });
    assert_eq!(visited, 4, "the chunk added meanwhile is visited too");
    assert_eq!(held.len(), 2);
}

#[test]
fn send_page_round_trip_and_remote_drop() {
    let pool = small(2);
    let mut page = pool.alloc();
    page.set_meta(3);
    let token = page.into_send();
    let phys = token.phys_addr();
    let token = std::thread::spawn(move || {
        let mut t = token;
        t[..3].copy_from_slice(b"io!");
        t
    })
    .join()
    .unwrap();
    let other = PagePool::new();
    let token = other.reclaim(token).unwrap_err(); // not its page
    let page = pool.reclaim(token).unwrap();
    assert_eq!(&page[..3], b"io!");
    assert_eq!((page.phys_addr(), page.meta()), (phys, 3));

    // Remote drops: the pool takes the pages back when it runs dry.
    let t1 = page.into_send();
    let t2 = pool.alloc().into_send();
    assert_eq!(pool.try_alloc().unwrap_err(), Error::PoolExhausted);
    std::thread::spawn(move || drop((t1, t2))).join().unwrap();
    let a = pool.try_alloc().unwrap();
    let b = pool.try_alloc().unwrap();
    assert_eq!(pool.stats().in_use, 2);
    drop((a, b));
    assert_eq!(pool.stats().in_use, 0);
}

#[test]
fn send_page_dropped_after_the_pool_handles() {
    let pool = PagePool::new();
    let token = pool.alloc().into_send();
    let keep = pool.alloc();
    drop(pool);
    std::thread::spawn(move || drop(token)).join().unwrap();
    drop(keep); // drains the remote list and frees the pool: no leak
}

#[test]
fn current_pool() {
    let a = PagePool::current();
    assert!(
        PagePool::ptr_eq(&a, &PagePool::current()),
        "made once per thread"
    );
    let b = PagePool::new();
    {
        let _g = b.enter();
        assert!(PagePool::ptr_eq(&PagePool::try_current().unwrap(), &b));
        let c = PagePool::new();
        {
            let _g = c.enter();
            assert!(PagePool::ptr_eq(&PagePool::current(), &c));
        }
        assert!(PagePool::ptr_eq(&PagePool::current(), &b));
    }
    assert!(PagePool::ptr_eq(&PagePool::current(), &a));
    std::thread::spawn(|| assert!(PagePool::try_current().is_none()))
        .join()
        .unwrap();
}

#[test]
fn chain_split_truncate_copy() {
    let pool = PagePool::new();
    let mut chain: BufChain = [&b"ab"[..], b"cde", b"f"]
        .iter()
        .map(|s| pool.buf_from(s).unwrap())
        .collect();
    chain.push(pool.buf_from(b"").unwrap());
    assert_eq!((chain.len(), chain.segments()), (6, 3));
    assert!(chain.is_inline());
    let mut out = [0u8; 4];
    assert_eq!(chain.copy_to_slice(1, &mut out), 4);
    assert_eq!(&out, b"bcde");
    assert_eq!(chain.copy_to_slice(5, &mut out), 1);
    assert_eq!(chain.split_to(7).unwrap_err(), Error::OutOfRange);
    let head = chain.split_to(3).unwrap();
    assert_eq!(
        (head.to_vec(), chain.to_vec()),
        (b"abc".to_vec(), b"def".to_vec())
    );
    let tail = chain.split_off(1).unwrap();
    assert_eq!(
        (chain.to_vec(), tail.to_vec()),
        (b"d".to_vec(), b"ef".to_vec())
    );
    let mut all: BufChain = head.into_iter().chain(chain).chain(tail).collect();
    assert_eq!(all, *b"abcdef".as_slice());
    all.truncate(4);
    assert_eq!(all.to_vec(), b"abcd");
    all.advance(1).unwrap();
    assert_eq!(all.to_vec(), b"bcd");
    assert_eq!(all.advance(4).unwrap_err(), Error::OutOfRange);
    let mut other = BufChain::from(pool.buf_from(b"bc").unwrap());
    other.push(pool.buf_from(b"d").unwrap());
    assert_eq!(all, other);
    other.pop_back();
    assert_ne!(all, other);
    for _ in 0..8 {
        other.push(pool.buf_from(b"z").unwrap());
    }
    assert!(!other.is_inline());
    assert_eq!(other.pop_front().unwrap(), *b"bc");
}

#[test]
fn layout_sizes() {
    assert_eq!(core::mem::size_of::<Page>(), 8);
    assert_eq!(core::mem::size_of::<Buf>(), 24);
    assert_eq!(core::mem::size_of::<Option<Buf>>(), 24);
}
