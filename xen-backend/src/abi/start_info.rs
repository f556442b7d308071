//! `hvm_start_info` and its tables (`arch-x86/hvm/start_info.h`): what a PVH
//! guest finds at the physical address in `%ebx` on entry.
//!
//! Plain integer fields: Xen writes these before the guest starts and never
//! again, so the boot code may copy them out with ordinary reads.

use super::assert_layout;

/// `XEN_HVM_START_MAGIC_VALUE`.
pub const HVM_START_MAGIC: u32 = 0x336e_c578;

/// `struct hvm_start_info` (56 bytes). A physical address of 0 means the
/// item is absent.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HvmStartInfo {
    /// [`HVM_START_MAGIC`].
    pub magic: u32,
    /// Version of this structure (1 has the memory map).
    pub version: u32,
    /// `SIF_*` flags.
    pub flags: u32,
    /// Entries in the module list.
    pub nr_modules: u32,
    /// Physical address of `nr_modules` [`HvmModlistEntry`].
    pub modlist_paddr: u64,
    /// Physical address of the NUL-terminated command line.
    pub cmdline_paddr: u64,
    /// Physical address of the ACPI RSDP.
    pub rsdp_paddr: u64,
    /// Physical address of `memmap_entries` [`HvmMemmapTableEntry`] (v1).
    pub memmap_paddr: u64,
    /// Entries in the memory map (0: ask `XENMEM_memory_map`).
    pub memmap_entries: u32,
    /// Reserved, 0.
    pub reserved: u32,
}
assert_layout!(HvmStartInfo, 56;
    magic @ 0, version @ 4, flags @ 8, nr_modules @ 12, modlist_paddr @ 16,
    cmdline_paddr @ 24, rsdp_paddr @ 32, memmap_paddr @ 40,
    memmap_entries @ 48, reserved @ 52);

impl HvmStartInfo {
    /// Whether this looks like a real `hvm_start_info`: the magic matches
    /// and the version is at least 1. Check before trusting any address.
    pub const fn is_valid(&self) -> bool {
        self.magic == HVM_START_MAGIC && self.version >= 1
    }

    /// Whether the version has the memory-map fields (`memmap_paddr`,
    /// `memmap_entries`), which version 0 lacks.
    pub const fn has_memmap(&self) -> bool {
        self.version >= 1 && self.memmap_paddr != 0 && self.memmap_entries != 0
    }
}

/// `struct hvm_modlist_entry` (32 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HvmModlistEntry {
    /// Physical address of the module.
    pub paddr: u64,
    /// Size in bytes.
    pub size: u64,
    /// Physical address of its NUL-terminated command line (0: none).
    pub cmdline_paddr: u64,
    /// Reserved.
    pub reserved: u64,
}
assert_layout!(HvmModlistEntry, 32; paddr @ 0, size @ 8, cmdline_paddr @ 16, reserved @ 24);

/// `struct hvm_memmap_table_entry` (24 bytes).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HvmMemmapTableEntry {
    /// Base physical address.
    pub addr: u64,
    /// Length in bytes.
    pub size: u64,
    /// `XEN_HVM_MEMMAP_TYPE_*`.
    pub kind: u32,
    /// Reserved.
    pub reserved: u32,
}
assert_layout!(HvmMemmapTableEntry, 24; addr @ 0, size @ 8, kind @ 16, reserved @ 20);

/// Usable RAM.
pub const XEN_HVM_MEMMAP_TYPE_RAM: u32 = 1;
/// Reserved (the console and xenstore pages live in such a range).
pub const XEN_HVM_MEMMAP_TYPE_RESERVED: u32 = 2;
/// ACPI tables.
pub const XEN_HVM_MEMMAP_TYPE_ACPI: u32 = 3;
/// ACPI NVS.
pub const XEN_HVM_MEMMAP_TYPE_NVS: u32 = 4;
/// Unusable.
pub const XEN_HVM_MEMMAP_TYPE_UNUSABLE: u32 = 5;
/// Disabled.
pub const XEN_HVM_MEMMAP_TYPE_DISABLED: u32 = 6;
/// Persistent memory.
pub const XEN_HVM_MEMMAP_TYPE_PMEM: u32 = 7;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity_checks_magic_and_version() {
        let mut si = HvmStartInfo {
            magic: HVM_START_MAGIC,
            version: 1,
            memmap_paddr: 0x1000,
            memmap_entries: 3,
            ..HvmStartInfo::default()
        };
        assert!(si.is_valid() && si.has_memmap());
        si.memmap_entries = 0;
        assert!(!si.has_memmap(), "0 entries: ask XENMEM_memory_map");
        si.version = 0;
        assert!(!si.is_valid());
        si.version = 1;
        si.magic = 0x1234_5678;
        assert!(!si.is_valid());
    }
}
