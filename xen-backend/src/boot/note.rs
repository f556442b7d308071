//! The ELF note that makes the image a PVH kernel.
//!
//! Xen's ELF loader (libelf) looks for notes named `"Xen"` in a `PT_NOTE`
//! segment. For a PVH guest exactly one is required:
//! `XEN_ELFNOTE_PHYS32_ENTRY` (type 18), a 32-bit physical address where Xen
//! starts the vCPU in 32-bit protected mode (xen-abi.md §11); its presence
//! is what marks the image PVH-capable, and with it libelf checks no other
//! note. A `GUEST_OS` note names the kernel in Xen's and `xl`'s logs.
//!
//! The note lives in section `.note.Xen`; `image.ld` keeps it (it is
//! referenced by nothing, so `--gc-sections` would drop it otherwise) and
//! puts it in the `PT_NOTE` program header. `build-image` checks the linked
//! image with `readelf -n`.

#[cfg(not(test))]
core::arch::global_asm!(
    r#"
    .pushsection .note.Xen, "a", @note
    .balign 4
    .long 4                      /* namesz: "Xen\0" */
    .long 4                      /* descsz */
    .long 18                     /* XEN_ELFNOTE_PHYS32_ENTRY */
    .asciz "Xen"
    .balign 4
    .long shimmer_pvh_entry32    /* 32-bit physical entry (see boot::entry) */

    .balign 4
    .long 4
    .long 8f - 7f
    .long 6                      /* XEN_ELFNOTE_GUEST_OS */
    .asciz "Xen"
    .balign 4
7:  .asciz "shimmer"
8:  .balign 4
    .popsection
    "#,
    options(att_syntax)
);
