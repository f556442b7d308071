//! Test only: a fake hypercall page assembled into the test binary, so the
//! real `asm!` invocation path ([`Hypercalls::call5`] and every [`XenHw`]
//! method) runs on the host. Each 32-byte stub loads its number into `eax`
//! and jumps to a common routine that plays a tiny Xen:
//! * `event_channel_op` (32): `alloc_unbound` checks `dom == DOMID_SELF` and
//!   answers `port = remote_dom + 100`; `send` fails port 0 with `-EINVAL`;
//!   other sub-ops are `-ENOSYS`.
//! * `sched_op` (29) `poll`: records timeout, `nr_ports` and the last port.
//! * `hvm_op` (34) `get_param`: `value = index * 1000 + 7`.
//! * anything else: `rax = nr << 48 ^ a1 ^ a2 << 1 ^ a3 << 2 ^ a4 << 3 ^ a5 << 4`
//!   (proves each argument arrived in its register).
//!
//! Every stub then poisons rdi, rsi, rdx, r10, r8, rcx and r11 (as a debug
//! Xen does) before `ret`, so a missing clobber would corrupt the caller.
//!
//! [`Hypercalls::call5`]: super::Hypercalls::call5
//! [`XenHw`]: super::XenHw

core::arch::global_asm!(
    r#"
    .pushsection .text.shimmer_test_hcall,"ax",@progbits
    .p2align 12
    .globl shimmer_test_hypercall_page
    .hidden shimmer_test_hypercall_page
shimmer_test_hypercall_page:
    .set shimmer_hc_n, 0
    .rept 128
    .p2align 5
    movl $shimmer_hc_n, %eax
    jmp shimmer_test_hypercall_common
    .set shimmer_hc_n, shimmer_hc_n + 1
    .endr
    .p2align 5
shimmer_test_hypercall_common:
    cmpl $32, %eax
    je 2f
    cmpl $29, %eax
    je 3f
    cmpl $34, %eax
    je 4f
    shlq $48, %rax
    xorq %rdi, %rax
    shlq $1, %rsi
    xorq %rsi, %rax
    shlq $2, %rdx
    xorq %rdx, %rax
    shlq $3, %r10
    xorq %r10, %rax
    shlq $4, %r8
    xorq %r8, %rax
    jmp 9f
2:
    cmpl $6, %edi
    jne 22f
    cmpw $0x7FF0, (%rsi)
    jne 8f
    movzwl 2(%rsi), %eax
    addl $100, %eax
    movl %eax, 4(%rsi)
    xorl %eax, %eax
    jmp 9f
22:
    cmpl $4, %edi
    jne 7f
    cmpl $0, (%rsi)
    je 8f
    xorl %eax, %eax
    jmp 9f
3:
    cmpl $3, %edi
    jne 7f
    leaq shimmer_test_hypercall_record(%rip), %r11
    movq 16(%rsi), %rcx
    movq %rcx, (%r11)
    movl 8(%rsi), %ecx
    movq %rcx, 8(%r11)
    testl %ecx, %ecx
    je 5f
    decl %ecx
    movq (%rsi), %rdx
    movl (%rdx,%rcx,4), %ecx
    movq %rcx, 16(%r11)
5:
    xorl %eax, %eax
    jmp 9f
4:
    cmpl $1, %edi
    jne 7f
    cmpw $0x7FF0, (%rsi)
    jne 8f
    movl 4(%rsi), %eax
    imulq $1000, %rax, %rax
    addq $7, %rax
    movq %rax, 8(%rsi)
    xorl %eax, %eax
    jmp 9f
7:
    movq $-38, %rax
    jmp 9f
8:
    movq $-22, %rax
9:
    movabsq $0xdeaddeaddeaddead, %rdi
    movq %rdi, %rsi
    movq %rdi, %rdx
    movq %rdi, %r10
    movq %rdi, %r8
    movq %rdi, %rcx
    movq %rdi, %r11
    ret
    .popsection

    .pushsection .bss.shimmer_test_hcall_rec,"aw",@nobits
    .p2align 3
    .globl shimmer_test_hypercall_record
    .hidden shimmer_test_hypercall_record
shimmer_test_hypercall_record:
    .zero 24
    .popsection
"#,
    options(att_syntax)
);

extern "C" {
    static shimmer_test_hypercall_page: u8;
    static mut shimmer_test_hypercall_record: [u64; 3];
}

/// The fake page as installed hypercalls.
pub(crate) fn fake_hypercalls() -> super::Hypercalls {
    // SAFETY: the symbol is the start of the 128 stubs assembled above, in
    // an executable section of this binary; they follow Xen's convention.
    unsafe { super::Hypercalls::from_raw(&raw const shimmer_test_hypercall_page) }
}

/// What the last fake `SCHEDOP_poll` saw: (timeout, nr_ports, last port).
pub(crate) fn last_poll() -> (u64, u64, u64) {
    // SAFETY: a plain 24-byte symbol written only by the fake poll stub,
    // read here through a raw pointer (no reference to mutable static).
    unsafe {
        let p = &raw const shimmer_test_hypercall_record;
        let r = core::ptr::read_volatile(p);
        (r[0], r[1], r[2])
    }
}
