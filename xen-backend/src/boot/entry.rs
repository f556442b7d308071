//! The PVH entry: from Xen's 32-bit protected mode to 64-bit Rust.
//!
//! Why assembly: until paging and long mode are on there is no Rust to run
//! (the compiler emits 64-bit code only), and until the stack is set there
//! is no stack. This is the smallest path that gets to a Rust function:
//!
//! 1. Xen's state (docs/misc/pvh.pandoc): 32-bit protected mode, paging off,
//!    flat 4 GiB CS/DS/ES/SS, `EFLAGS.IF = 0`, `%ebx` = physical address of
//!    `hvm_start_info`; no stack, no GDT of ours, no IDT. `%esi` keeps the
//!    start info address from here on.
//! 2. Clear `.bss` (`__shimmer_bss_start..__shimmer_bss_end` from
//!    `image.ld`): Rust expects zeroed statics, and the page tables and the
//!    stack live there. Nothing uses a stack before this.
//! 3. Page tables: one PML4 entry → one PDPT whose four entries → four page
//!    directories of 512 × 2 MiB pages = the first 4 GiB identity mapped,
//!    read/write/executable, write-back. 2 MiB pages work on every x86_64
//!    CPU (1 GiB pages need `pdpe1gb`, which QEMU's `qemu64` lacks). 4 GiB
//!    covers the image, Xen's boot data (placed below 4 GiB), all RAM of a
//!    guest up to 4 GiB, and Xen's special pages (console and xenstore
//!    rings at 0xFEFF8000..0xFF000000).
//! 4. `CR4.PAE | OSFXSR | OSXMMEXCPT` (SSE must be usable before any Rust:
//!    the compiler and the prebuilt `core` use SSE registers freely), `CR3`,
//!    `EFER.LME`, then `CR0.PG` with `CR0.MP` set and `CR0.EM`/`TS` clear.
//!    The CPU is now in compatibility mode.
//! 5. `lgdt` a GDT with a 64-bit code segment (0x08) and a data segment
//!    (0x10), far jump to 0x08:entry64 → 64-bit mode.
//! 6. Load the data segments, `fninit`, `%rsp` = top of a 256 KiB stack
//!    (16-byte aligned, so the `call` leaves it as the ABI expects), `%rdi`
//!    = start info address, `call shimmer_xen_boot` (never returns; if it
//!    did, `ud2` triple-faults: there is no IDT).
//!
//! Interrupts stay disabled throughout and afterwards (see the module doc
//! of [`crate::boot`]): the red zone of the prebuilt `core` forbids them
//! without a separate interrupt stack.

/// Size of the boot stack, the only stack the image has.
#[cfg_attr(test, allow(dead_code))]
pub const STACK_SIZE: usize = 256 * 1024;

#[cfg(not(test))]
core::arch::global_asm!(
    r#"
    .pushsection .text.shimmer_entry32, "ax", @progbits
    .code32
    .globl shimmer_pvh_entry32
    .type shimmer_pvh_entry32, @function
shimmer_pvh_entry32:
    cld
    mov %ebx, %esi

    /* 2. clear .bss */
    mov $__shimmer_bss_start, %edi
    mov $__shimmer_bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb

    /* 3. page tables: PML4[0] -> PDPT; PDPT[0..4] -> PD0..PD3 */
    mov $shimmer_boot_pdpt, %eax
    or $0x3, %eax                    /* present | writable */
    mov %eax, shimmer_boot_pml4
    mov $shimmer_boot_pd, %eax
    or $0x3, %eax
    mov %eax, shimmer_boot_pdpt
    add $0x1000, %eax
    mov %eax, shimmer_boot_pdpt + 8
    add $0x1000, %eax
    mov %eax, shimmer_boot_pdpt + 16
    add $0x1000, %eax
    mov %eax, shimmer_boot_pdpt + 24
    /* PD entry i (0..2048) = i << 21 | present | writable | 2 MiB page */
    mov $shimmer_boot_pd, %edi
    xor %ecx, %ecx
1:  mov %ecx, %eax
    shl $21, %eax
    or $0x83, %eax
    mov %eax, (%edi,%ecx,8)
    mov %ecx, %edx
    shr $11, %edx                    /* bits 32.. of i << 21 */
    mov %edx, 4(%edi,%ecx,8)
    inc %ecx
    cmp $2048, %ecx
    jb 1b

    /* 4. PAE + SSE in CR4, CR3, EFER.LME, then paging */
    mov %cr4, %eax
    or $0x620, %eax                  /* PAE (5) | OSFXSR (9) | OSXMMEXCPT (10) */
    mov %eax, %cr4
    mov $shimmer_boot_pml4, %eax
    mov %eax, %cr3
    mov $0xC0000080, %ecx            /* IA32_EFER */
    rdmsr
    or $0x100, %eax                  /* LME */
    wrmsr
    /* 5. GDT, paging on, far jump into the 64-bit code segment */
    lgdt shimmer_boot_gdt_ptr
    mov %cr0, %eax
    and $0xFFFFFFF3, %eax            /* clear EM (2) and TS (3) */
    or $0x80000003, %eax             /* PG (31) | MP (1) | PE (0) */
    mov %eax, %cr0
    ljmp $0x08, $shimmer_pvh_entry64

    .code64
shimmer_pvh_entry64:
    /* 6. segments, FPU, stack, Rust */
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    fninit
    mov $shimmer_boot_stack_top, %rsp
    xor %ebp, %ebp
    mov %esi, %edi                   /* zero-extends: start info address */
    call shimmer_xen_boot
2:  ud2
    jmp 2b
    .size shimmer_pvh_entry32, . - shimmer_pvh_entry32
    .popsection

    .pushsection .data.shimmer_boot_gdt, "aw", @progbits
    .balign 16
shimmer_boot_gdt:
    .quad 0
    .quad 0x00AF9A000000FFFF         /* 0x08: 64-bit code, DPL 0 */
    .quad 0x00CF92000000FFFF         /* 0x10: flat data */
shimmer_boot_gdt_end:
    .balign 8
shimmer_boot_gdt_ptr:
    .word shimmer_boot_gdt_end - shimmer_boot_gdt - 1
    .quad shimmer_boot_gdt
    .popsection

    .pushsection .bss.shimmer_boot, "aw", @nobits
    .balign 4096
shimmer_boot_pml4:
    .skip 4096
shimmer_boot_pdpt:
    .skip 4096
shimmer_boot_pd:
    .skip 4 * 4096
    .balign 16
shimmer_boot_stack:
    .skip {stack}
    .globl shimmer_boot_stack_top
shimmer_boot_stack_top:
    .popsection
    "#,
    stack = const STACK_SIZE,
    options(att_syntax)
);
