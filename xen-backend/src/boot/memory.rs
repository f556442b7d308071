//! Choosing the heap from the PVH memory map.
//!
//! Xen describes the guest's physical memory in `hvm_start_info`'s memory
//! map (RAM, reserved, ACPI, ...). The image itself (from 1 MiB), and the
//! boot data Xen placed after it (the start info, the map, the command
//! line, modules) sit in RAM too; the command line in particular must
//! survive, since the image sees it as a `&'static str`. The heap is the
//! largest piece of RAM that
//! * is type RAM in the map,
//! * lies inside the identity map (below 4 GiB) and above page 0,
//! * overlaps none of the reserved ranges (image and boot data),
//!
//! with both ends page aligned. This module is pure arithmetic over plain
//! values (no allocation: it runs before the heap exists), so the host
//! tests cover it.

use crate::abi::start_info::{HvmMemmapTableEntry, XEN_HVM_MEMMAP_TYPE_RAM};
use crate::abi::PAGE_SIZE;

/// End of the boot identity map: the heap must lie below it.
pub const IDENTITY_MAP_END: u64 = 4 << 30;

/// A half-open physical range `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PhysRange {
    /// First byte.
    pub start: u64,
    /// One past the last byte.
    pub end: u64,
}

impl PhysRange {
    /// `start..start + len` (saturating).
    pub const fn at(start: u64, len: u64) -> PhysRange {
        PhysRange {
            start,
            end: start.saturating_add(len),
        }
    }

    /// Bytes covered.
    pub const fn len(self) -> u64 {
        self.end.saturating_sub(self.start)
    }

    /// Whether it covers nothing.
    pub const fn is_empty(self) -> bool {
        self.end <= self.start
    }
}

const PAGE: u64 = PAGE_SIZE as u64;

fn align_up(x: u64) -> u64 {
    x.checked_next_multiple_of(PAGE).unwrap_or(!(PAGE - 1))
}

fn align_down(x: u64) -> u64 {
    x & !(PAGE - 1)
}

/// The largest page-aligned piece of RAM in `map`, below `limit`, above
/// page 0, that avoids every range in `reserved` (which need not be sorted
/// and may overlap each other or be empty). `None` if nothing is left.
pub fn largest_free(
    map: &[HvmMemmapTableEntry],
    reserved: &[PhysRange],
    limit: u64,
) -> Option<PhysRange> {
    let mut best: Option<PhysRange> = None;
    for e in map.iter().filter(|e| e.kind == XEN_HVM_MEMMAP_TYPE_RAM) {
        let ram = PhysRange::at(e.addr, e.size);
        // Walk the region left to right: `cursor` is the first byte not yet
        // ruled out; each step takes the gap up to the nearest reservation
        // that starts at or after it (or the region's end).
        let mut cursor = ram.start.max(PAGE);
        let end = ram.end.min(limit);
        while cursor < end {
            // A reservation covering `cursor` moves it past that reservation.
            if let Some(r) = reserved
                .iter()
                .filter(|r| !r.is_empty() && r.start <= cursor && cursor < r.end)
                .max_by_key(|r| r.end)
            {
                cursor = r.end;
                continue;
            }
            let gap_end = reserved
                .iter()
                .filter(|r| !r.is_empty() && r.start > cursor)
                .map(|r| r.start)
                .min()
                .unwrap_or(end)
                .min(end);
            let piece = PhysRange {
                start: align_up(cursor),
                end: align_down(gap_end),
            };
            if !piece.is_empty() && best.is_none_or(|b| piece.len() > b.len()) {
                best = Some(piece);
            }
            cursor = gap_end;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::abi::start_info::XEN_HVM_MEMMAP_TYPE_RESERVED;
    use proptest::prelude::*;
    use std::vec::Vec;

    fn ram(addr: u64, size: u64) -> HvmMemmapTableEntry {
        HvmMemmapTableEntry {
            addr,
            size,
            kind: XEN_HVM_MEMMAP_TYPE_RAM,
            reserved: 0,
        }
    }

    const MIB: u64 = 1 << 20;

    #[test]
    fn pvh_guest_of_64_mib() {
        // What libxl gives a 64 MiB PVH guest: RAM from 0, the special
        // pages reserved near 4 GiB.
        let map = [
            ram(0, 64 * MIB),
            HvmMemmapTableEntry {
                addr: 0xFEFF_8000,
                size: 0x8000,
                kind: XEN_HVM_MEMMAP_TYPE_RESERVED,
                reserved: 0,
            },
        ];
        let image = PhysRange {
            start: MIB,
            end: MIB + 0x5_3123,
        };
        let boot_data = [
            PhysRange::at(0x15_4000, 56),
            PhysRange::at(0x15_4038, 48),
            PhysRange::at(0x15_5000, 10),
        ];
        let mut reserved = Vec::from(boot_data);
        reserved.push(image);
        let heap = largest_free(&map, &reserved, IDENTITY_MAP_END).unwrap();
        assert_eq!(
            heap,
            PhysRange {
                start: 0x15_6000,
                end: 64 * MIB
            }
        );
    }

    #[test]
    fn boot_data_high_up_splits_the_region() {
        let map = [ram(0, 64 * MIB)];
        let reserved = [PhysRange::at(MIB, MIB), PhysRange::at(60 * MIB, 100)];
        let heap = largest_free(&map, &reserved, IDENTITY_MAP_END).unwrap();
        assert_eq!(
            heap,
            PhysRange {
                start: 2 * MIB,
                end: 60 * MIB
            }
        );
    }

    #[test]
    fn limit_page_zero_and_other_types() {
        let mut acpi = ram(0, 1 << 40);
        acpi.kind = 3;
        let map = [ram(0, 8 * MIB), ram(4 << 30, 1 << 30), acpi];
        assert_eq!(
            largest_free(&map, &[], IDENTITY_MAP_END),
            Some(PhysRange {
                start: 0x1000,
                end: 8 * MIB
            }),
            "RAM above 4 GiB and ACPI ignored, page 0 never used"
        );
        assert_eq!(
            largest_free(&map, &[PhysRange::at(0, 8 * MIB)], IDENTITY_MAP_END),
            None
        );
        assert_eq!(largest_free(&[], &[], IDENTITY_MAP_END), None);
    }

    proptest! {
        #[test]
        fn result_is_ram_free_aligned_and_maximal_among_gaps(
            regions in proptest::collection::vec((0u64..1 << 24, 0u64..1 << 22), 0..5),
            holes in proptest::collection::vec((0u64..1 << 24, 0u64..1 << 20), 0..6),
        ) {
            let map: Vec<_> = regions.iter().map(|&(a, s)| ram(a, s)).collect();
            let reserved: Vec<_> = holes.iter().map(|&(a, s)| PhysRange::at(a, s)).collect();
            let limit = 1 << 24;
            let got = largest_free(&map, &reserved, limit);
            // Reference: page by page, within each RAM entry (the map's
            // entries are taken one at a time, as Xen's never overlap).
            let free = |p: u64, e: &HvmMemmapTableEntry| {
                p >= PAGE
                    && p + PAGE <= limit
                    && p >= e.addr
                    && p + PAGE <= e.addr + e.size
                    && !reserved.iter().any(|r| p < r.end && r.start < p + PAGE)
            };
            let mut best = 0u64;
            for e in &map {
                let mut run = 0u64;
                for p in (0..limit).step_by(PAGE as usize) {
                    run = if free(p, e) { run + PAGE } else { 0 };
                    best = best.max(run);
                }
            }
            match got {
                None => prop_assert_eq!(best, 0),
                Some(r) => {
                    prop_assert!(r.start % PAGE == 0 && r.end % PAGE == 0);
                    prop_assert!(map.iter().any(|e| (r.start..r.end).step_by(PAGE as usize).all(|p| free(p, e))));
                    prop_assert_eq!(r.len(), best);
                }
            }
        }
    }
}
