/* Entry of the self-test's mini PVH guest. Xen enters at the PHYS32_ENTRY address in 32-bit
 * protected mode with paging off and %ebx pointing at struct hvm_start_info. */
#define NOTE(type, body)                               \
        .pushsection .note.Xen, "a", @note;            \
        .balign 4;                                     \
        .long 4;            /* name size: "Xen\0" */   \
        .long 8f - 7f;      /* descriptor size */      \
        .long type;                                    \
        .asciz "Xen";                                  \
        .balign 4;                                     \
7:      body;                                          \
8:      .balign 4;                                     \
        .popsection

NOTE(6,  .asciz "shimmer-testbed-mini")   /* XEN_ELFNOTE_GUEST_OS */
NOTE(5,  .asciz "xen-3.0")                /* XEN_ELFNOTE_XEN_VERSION */
NOTE(8,  .asciz "generic")                /* XEN_ELFNOTE_LOADER */
NOTE(18, .long entry32)                   /* XEN_ELFNOTE_PHYS32_ENTRY */

        .code32
        .section .text.entry, "ax"
        .globl entry32
entry32:
        cld
        movl $boot_stack_end, %esp
        pushl %ebx                      /* guest_main(start_info) */
        call guest_main
halt:   cli
        hlt                             /* all vCPUs down with IF=0: Xen powers the domain off */
        jmp halt

        .section .bss.page, "aw", @nobits
        .balign 4096
        .globl hypercall_page
hypercall_page:
        .skip 4096

        .section .bss
        .balign 16
boot_stack:
        .skip 16384
boot_stack_end:
