//! Property tests of the page pool against a model: random sequences of
//! alloc / write / freeze / clone / slice / split / drop / into_page /
//! send-to-another-thread, checking after every step that
//!
//! * every live view shows exactly the bytes the model says (a double free or
//!   a use after free would hand a live page to someone else, whose writes
//!   then show up here);
//! * distinct live pages have distinct addresses;
//! * reference counts, `in_use`, the cap, and `try_into_page` agree with the
//!   model;
//! * a page that comes back from the free list holds what its last user left
//!   and its metadata word (which survives reuse); a never-used page is zero.
//!
//! Also runs under AddressSanitizer, which then also catches any access to a
//! page sitting in the free list (the pool poisons free pages with `_asan`):
//!
//! ```sh
//! RUSTFLAGS=-Zsanitizer=address cargo +nightly test -p shimmer-io \
//!     --features _asan --target x86_64-unknown-linux-gnu --test page_model
//! ```

use std::collections::HashMap;

use proptest::prelude::*;
use proptest::sample::Index;
use shimmer_io::page::{Buf, BufChain, Page, PagePool, PoolConfig, SendPage, PAGE_SIZE};
use shimmer_io::Error;

const CAP: usize = 6;
const MAX_HANDLES: usize = 24;

#[derive(Clone, Debug)]
enum Op {
    Alloc,
    AllocZeroed,
    Write(Index, u8),
    SetMeta(Index, u64),
    Freeze(Index),
    Clone(Index),
    Slice(Index, usize, usize),
    SplitTo(Index, usize),
    SplitOff(Index, usize),
    Drop(Index),
    IntoPage(Index),
    Send(Index),
    Reclaim(Index),
    DropElsewhere(Index),
}

fn op() -> impl Strategy<Value = Op> {
    let at = 0usize..PAGE_SIZE + 3;
    prop_oneof![
        4 => Just(Op::Alloc),
        1 => Just(Op::AllocZeroed),
        3 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Op::Write(i, b)),
        1 => (any::<Index>(), any::<u64>()).prop_map(|(i, m)| Op::SetMeta(i, m)),
        3 => any::<Index>().prop_map(Op::Freeze),
        3 => any::<Index>().prop_map(Op::Clone),
        3 => (any::<Index>(), at.clone(), at.clone()).prop_map(|(i, a, b)| Op::Slice(i, a, b)),
        2 => (any::<Index>(), at.clone()).prop_map(|(i, a)| Op::SplitTo(i, a)),
        2 => (any::<Index>(), at).prop_map(|(i, a)| Op::SplitOff(i, a)),
        5 => any::<Index>().prop_map(Op::Drop),
        2 => any::<Index>().prop_map(Op::IntoPage),
        1 => any::<Index>().prop_map(Op::Send),
        1 => any::<Index>().prop_map(Op::Reclaim),
        1 => any::<Index>().prop_map(Op::DropElsewhere),
    ]
}

/// A live handle: the real object, the model page it refers to, and (for a
/// `Buf`) the byte range of the page it views.
enum Real {
    Page(Page),
    Buf(Buf),
    Send(SendPage),
}

struct Handle {
    real: Real,
    id: u64,
    start: usize,
    end: usize,
}

struct ModelPage {
    bytes: Vec<u8>,
    meta: u64,
    refs: usize,
    addr: usize,
}

#[derive(Default)]
struct Model {
    pages: HashMap<u64, ModelPage>,
    next_id: u64,
    /// What a freed page at this address held, and its metadata.
    freed: HashMap<usize, (Vec<u8>, u64)>,
}

impl Model {
    fn release(&mut self, id: u64) {
        let page = self.pages.get_mut(&id).unwrap();
        page.refs -= 1;
        if page.refs == 0 {
            let page = self.pages.remove(&id).unwrap();
            self.freed.insert(page.addr, (page.bytes, page.meta));
        }
    }
}

fn page_base(h: &Handle) -> usize {
    match &h.real {
        Real::Page(p) => p.as_ptr() as usize,
        Real::Buf(b) => b.as_ptr() as usize - b.offset(),
        Real::Send(s) => s.as_ptr() as usize,
    }
}

fn run(ops: Vec<Op>) {
    let pool = PagePool::with_config(PoolConfig::new().chunk_pages(2).max_pages(CAP)).unwrap();
    let mut model = Model::default();
    let mut handles: Vec<Handle> = Vec::new();

    for op in ops {
        let pick = |i: &Index, handles: &Vec<Handle>| {
            (!handles.is_empty()).then(|| i.index(handles.len()))
        };
        match op {
            Op::Alloc | Op::AllocZeroed => {
                if handles.len() >= MAX_HANDLES {
                    continue;
                }
                let zeroed = matches!(op, Op::AllocZeroed);
                let result = if zeroed {
                    pool.try_alloc_zeroed()
                } else {
                    pool.try_alloc()
                };
                if model.pages.len() == CAP {
                    assert_eq!(result.unwrap_err(), Error::PoolExhausted);
                    continue;
                }
                let page = result.expect("below the cap");
                let addr = page.as_ptr() as usize;
                assert_eq!(addr % PAGE_SIZE, 0);
                let (old, meta) = model.freed.remove(&addr).unwrap_or((vec![0; PAGE_SIZE], 0));
                assert_eq!(page.meta(), meta, "metadata survives reuse");
                if zeroed {
                    assert!(page.iter().all(|&b| b == 0));
                } else {
                    assert!(
                        page[..] == old[..],
                        "a reused page holds what its last user left"
                    );
                }
                let id = model.next_id;
                model.next_id += 1;
                model.pages.insert(
                    id,
                    ModelPage {
                        bytes: page.to_vec(),
                        meta,
                        refs: 1,
                        addr,
                    },
                );
                handles.push(Handle {
                    real: Real::Page(page),
                    id,
                    start: 0,
                    end: PAGE_SIZE,
                });
            }
            Op::Write(i, byte) => {
                let Some(i) = pick(&i, &handles) else {
                    continue;
                };
                let h = &mut handles[i];
                let bytes: &mut [u8; PAGE_SIZE] = match &mut h.real {
                    Real::Page(p) => p,
                    Real::Send(s) => s,
                    Real::Buf(b) => {
                        let unique = model.pages[&h.id].refs == 1;
                        match b.try_mut() {
                            Some(view) => {
                                assert!(unique);
                                view.fill(byte);
                                model.pages.get_mut(&h.id).unwrap().bytes[h.start..h.end]
                                    .fill(byte);
                            }
                            None => assert!(!unique),
                        }
                        continue;
                    }
                };
                // A pattern that differs per page and per byte.
                for (k, b) in bytes.iter_mut().enumerate() {
                    *b = byte.wrapping_add(k as u8).wrapping_add(h.id as u8);
                }
                model
                    .pages
                    .get_mut(&h.id)
                    .unwrap()
                    .bytes
                    .copy_from_slice(&bytes[..]);
            }
            Op::SetMeta(i, meta) => {
                let Some(i) = pick(&i, &handles) else {
                    continue;
                };
                let h = &mut handles[i];
                match &mut h.real {
                    Real::Page(p) => p.set_meta(meta),
                    Real::Buf(b) => b.set_meta(meta),
                    Real::Send(_) => continue,
                }
                model.pages.get_mut(&h.id).unwrap().meta = meta;
            }
            Op::Freeze(i) => {
                let Some(i) = pick(&i, &handles) else {
                    continue;
                };
                if let Real::Page(_) = handles[i].real {
                    let h = handles.swap_remove(i);
                    let Real::Page(p) = h.real else {
                        unreachable!()
                    };
                    let b = p.freeze();
                    assert_eq!(b.len(), PAGE_SIZE);
                    handles.push(Handle {
                        real: Real::Buf(b),
                        ..h
                    });
                }
            }
            Op::Clone(i) => {
                let Some(i) = pick(&i, &handles) else {
                    continue;
                };
                if handles.len() >= MAX_HANDLES {
                    continue;
                }
                if let Real::Buf(b) = &handles[i].real {
                    let c = b.clone();
                    let h = &handles[i];
                    model.pages.get_mut(&h.id).unwrap().refs += 1;
                    let (id, start, end) = (h.id, h.start, h.end);
                    handles.push(Handle {
                        real: Real::Buf(c),
                        id,
                        start,
                        end,
                    });
                }
            }
            Op::Slice(i, a, b) => {
                let Some(i) = pick(&i, &handles) else {
                    continue;
                };
                if handles.len() >= MAX_HANDLES {
                    continue;
                }
                let h = &handles[i];
                let Real::Buf(buf) = &h.real else { continue };
                let len = h.end - h.start;
                let r = buf.try_slice(a..b);
                if a <= b && b <= len {
                    let s = r.unwrap();
                    assert_eq!(s.len(), b - a);
                    model.pages.get_mut(&h.id).unwrap().refs += 1;
                    let (id, start) = (h.id, h.start);
                    handles.push(Handle {
                        real: Real::Buf(s),
                        id,
                        start: start + a,
                        end: start + b,
                    });
                } else {
                    assert_eq!(r.unwrap_err(), Error::OutOfRange);
                }
            }
            Op::SplitTo(i, at) | Op::SplitOff(i, at) => {
                let Some(i) = pick(&i, &handles) else {
                    continue;
                };
                if handles.len() >= MAX_HANDLES {
                    continue;
                }
                let to = matches!(op, Op::SplitTo(..));
                let h = &mut handles[i];
                let Real::Buf(buf) = &mut h.real else {
                    continue;
                };
                let len = h.end - h.start;
                let r = if to {
                    buf.try_split_to(at)
                } else {
                    buf.try_split_off(at)
                };
                if at > len {
                    assert_eq!(r.unwrap_err(), Error::OutOfRange);
                    continue;
                }
                let part = r.unwrap();
                let mid = h.start + at;
                let (start, end) = if to {
                    let range = (h.start, mid);
                    h.start = mid;
                    range
                } else {
                    let range = (mid, h.end);
                    h.end = mid;
                    range
                };
                model.pages.get_mut(&h.id).unwrap().refs += 1;
                let id = h.id;
                handles.push(Handle {
                    real: Real::Buf(part),
                    id,
                    start,
                    end,
                });
            }
            Op::Drop(i) => {
                let Some(i) = pick(&i, &handles) else {
                    continue;
                };
                let h = handles.swap_remove(i);
                if let Real::Send(_) = h.real {
                    // Dropped on its own thread, still through the remote list.
                }
                drop(h.real);
                model.release(h.id);
            }
            Op::IntoPage(i) => {
                let Some(i) = pick(&i, &handles) else {
                    continue;
                };
                if !matches!(handles[i].real, Real::Buf(_)) {
                    continue;
                }
                let h = handles.swap_remove(i);
                let Real::Buf(b) = h.real else { unreachable!() };
                let unique = model.pages[&h.id].refs == 1;
                match b.try_into_page() {
                    Ok(p) => {
                        assert!(unique);
                        handles.push(Handle {
                            real: Real::Page(p),
                            id: h.id,
                            start: 0,
                            end: PAGE_SIZE,
                        });
                    }
                    Err(b) => {
                        assert!(!unique);
                        handles.push(Handle {
                            real: Real::Buf(b),
                            ..h
                        });
                    }
                }
            }
            Op::Send(i) => {
                let Some(i) = pick(&i, &handles) else {
                    continue;
                };
                if let Real::Page(_) = handles[i].real {
                    let h = handles.swap_remove(i);
                    let Real::Page(p) = h.real else {
                        unreachable!()
                    };
                    handles.push(Handle {
                        real: Real::Send(p.into_send()),
                        ..h
                    });
                }
            }
            Op::Reclaim(i) => {
                let Some(i) = pick(&i, &handles) else {
                    continue;
                };
                if let Real::Send(_) = handles[i].real {
                    let h = handles.swap_remove(i);
                    let Real::Send(s) = h.real else {
                        unreachable!()
                    };
                    // The token visits another thread and comes back.
                    let s = std::thread::spawn(move || s).join().unwrap();
                    let p = pool.reclaim(s).expect("our page");
                    handles.push(Handle {
                        real: Real::Page(p),
                        ..h
                    });
                }
            }
            Op::DropElsewhere(i) => {
                let Some(i) = pick(&i, &handles) else {
                    continue;
                };
                if let Real::Send(_) = handles[i].real {
                    let h = handles.swap_remove(i);
                    let Real::Send(s) = h.real else {
                        unreachable!()
                    };
                    std::thread::spawn(move || drop(s)).join().unwrap();
                    model.release(h.id);
                }
            }
        }
        check(&pool, &model, &handles);
    }

    drop(handles);
    let s = pool.stats();
    assert_eq!(s.in_use, 0, "every page came back");
    assert_eq!(s.free, s.capacity);
    assert!(s.capacity <= CAP);
}

fn check(pool: &PagePool, model: &Model, handles: &[Handle]) {
    let mut bases: HashMap<u64, usize> = HashMap::new();
    for h in handles {
        let page = &model.pages[&h.id];
        let base = page_base(h);
        assert_eq!(base, page.addr, "a handle's page never moves");
        assert_eq!(*bases.entry(h.id).or_insert(base), base);
        let expect = &page.bytes[h.start..h.end];
        match &h.real {
            Real::Page(p) => {
                assert!(p[..] == *expect);
                assert_eq!(p.meta(), page.meta);
            }
            Real::Buf(b) => {
                assert!(b[..] == *expect, "a view shows its page's bytes");
                assert_eq!(b.offset(), h.start);
                assert_eq!(b.ref_count(), page.refs);
                assert_eq!(b.meta(), page.meta);
            }
            Real::Send(s) => assert!(s[..] == *expect),
        }
    }
    let mut addrs: Vec<usize> = model.pages.values().map(|p| p.addr).collect();
    addrs.sort_unstable();
    addrs.dedup();
    assert_eq!(
        addrs.len(),
        model.pages.len(),
        "distinct live pages, distinct memory"
    );
    let s = pool.stats();
    assert_eq!(s.in_use, model.pages.len());
    assert!(s.high_water >= s.in_use && s.high_water <= CAP);
    assert_eq!(s.in_use + s.free, s.capacity);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn pool_matches_model(ops in prop::collection::vec(op(), 1..120)) {
        run(ops);
    }

    /// Any sequence of view operations on a `Buf` is the same sequence on a
    /// plain slice, and the page is back in the pool when the views go.
    #[test]
    fn buf_views_are_slices(
        data in prop::collection::vec(any::<u8>(), 0..=PAGE_SIZE),
        cuts in prop::collection::vec((0u8..5, 0usize..PAGE_SIZE + 2, 0usize..PAGE_SIZE + 2), 0..24),
    ) {
        let pool = PagePool::new();
        let mut buf = pool.buf_from(&data).unwrap();
        let mut shadow: &[u8] = &data;
        let mut kept = Vec::new();
        for (kind, a, b) in cuts {
            let fits = match kind { 0 => a <= b && b <= shadow.len(), 4 => true, _ => a <= shadow.len() };
            let ok = match kind {
                0 => buf.try_slice(a..b).map(|s| kept.push((s, shadow[a..b].to_vec()))).is_ok(),
                1 => buf.try_split_to(a).map(|s| { kept.push((s, shadow[..a].to_vec())); shadow = &shadow[a..]; }).is_ok(),
                2 => buf.try_split_off(a).map(|s| { kept.push((s, shadow[a..].to_vec())); shadow = &shadow[..a]; }).is_ok(),
                3 => buf.try_advance(a).map(|()| shadow = &shadow[a..]).is_ok(),
                _ => { buf.truncate(a); shadow = &shadow[..a.min(shadow.len())]; true }
            };
            prop_assert_eq!(ok, fits);
            prop_assert_eq!(&buf[..], shadow);
            for (view, expect) in &kept {
                prop_assert_eq!(&view[..], &expect[..]);
            }
        }
        drop((buf, kept));
        prop_assert_eq!(pool.stats().in_use, 0);
    }

    /// Splitting a chain anywhere gives the two halves of its bytes.
    #[test]
    fn chain_splits_are_slices(
        pieces in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..100), 0..8),
        at in 0usize..900,
    ) {
        let pool = PagePool::new();
        let chain: BufChain = pieces.iter().map(|p| pool.buf_from(p).unwrap()).collect();
        let flat: Vec<u8> = pieces.concat();
        let mut tail = chain.clone();
        match tail.split_to(at) {
            Ok(head) => {
                prop_assert!(at <= flat.len());
                prop_assert_eq!(head.to_vec(), &flat[..at]);
                prop_assert_eq!(tail.to_vec(), &flat[at..]);
                let mut t = chain.clone();
                t.truncate(at);
                prop_assert_eq!(t, head);
            }
            Err(e) => {
                prop_assert!(at > flat.len());
                prop_assert_eq!(e, Error::OutOfRange);
                prop_assert_eq!(&tail, &chain);
            }
        }
    }
}
