/* The self-test's stand-in for a shimmer PVH image: speaks the test bed's console protocol.
 *
 * Kernel command line words (the test bed's GUEST-ARGS):
 *   exit=N     print "shimmer: exit N" and power off (default 0)
 *   crash      print a panic message and shut down with reason crash
 *   hang       never end (for timeouts, and for guests destroyed after their --dom0 commands)
 *   noready    do not print "shimmer: ready"
 *   noexit     power off without printing "shimmer: exit N"
 *   lines=N    print N numbered lines first
 * It always prints "shimmer: ready" (unless noready) and "mini: cmdline: <its command line>".
 *
 * 32-bit, paging off (physical = virtual), no interrupts: the console is the PV console ring
 * whose page and event channel come from HVM params. */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

struct hvm_start_info {               /* xen/include/public/arch-x86/hvm/start_info.h */
    u32 magic, version, flags, nr_modules;
    u64 modlist_paddr, cmdline_paddr, rsdp_paddr;
};
struct xencons_interface {            /* xen/include/public/io/console.h */
    char in[1024];
    char out[2048];
    u32 in_cons, in_prod;
    u32 out_cons, out_prod;
};
struct xen_hvm_param { u16 domid; u32 index; u64 value; };

enum { HYPERVISOR_sched_op = 29, HYPERVISOR_event_channel_op = 32, HYPERVISOR_hvm_op = 34 };
enum { SCHEDOP_yield = 0, SCHEDOP_shutdown = 2 };
enum { SHUTDOWN_poweroff = 0, SHUTDOWN_crash = 3 };
enum { EVTCHNOP_send = 4, HVMOP_get_param = 1, HVM_PARAM_CONSOLE_PFN = 17, HVM_PARAM_CONSOLE_EVTCHN = 18 };
#define DOMID_SELF 0x7ff0

extern u8 hypercall_page[4096];

/* 32-bit hypercall ABI: number selects a 32-byte stub in the page, arguments in ebx, ecx. */
static long hypercall(u32 nr, u32 arg1, u32 arg2)
{
    long ret;
    asm volatile("call *%[stub]"
                 : "=a"(ret), "+b"(arg1), "+c"(arg2)
                 : [stub] "r"(hypercall_page + 32 * nr)
                 : "memory", "edx", "esi", "edi");
    return ret;
}

static void debug_port(const char *s)   /* port 0xe9: shows in Xen's log as (dN) ... */
{
    for (; *s; s++)
        asm volatile("outb %0, $0xe9" : : "a"(*s));
}

static volatile struct xencons_interface *ring;
static u32 ring_port;

static void ring_kick(void)
{
    u32 port = ring_port;
    hypercall(HYPERVISOR_event_channel_op, EVTCHNOP_send, (u32)&port);
}

/* xenconsoled (4.17) maps the ring a moment after the domain starts and sends no event when it
 * does: notifications sent before that are lost. So re-notify while output is still pending. */
static void ring_flush_step(u32 i)
{
    if (ring->out_cons != ring->out_prod && i % 64 == 0)
        ring_kick();
    hypercall(HYPERVISOR_sched_op, SCHEDOP_yield, 0);
}

static void put(const char *s)
{
    for (; *s; s++) {
        for (u32 i = 0; ring->out_prod - ring->out_cons >= sizeof ring->out; i++)
            ring_flush_step(i);
        ring->out[ring->out_prod % sizeof ring->out] = *s;
        asm volatile("" ::: "memory");   /* data before index (x86 keeps store order) */
        ring->out_prod = ring->out_prod + 1;
    }
    ring_kick();
}

static void put_u32(u32 v)
{
    char b[11];
    int i = 10;
    b[i] = 0;
    do { b[--i] = '0' + v % 10; v /= 10; } while (v);
    put(b + i);
}

static u64 hvm_param(u32 index)
{
    struct xen_hvm_param p = { DOMID_SELF, index, 0 };
    if (hypercall(HYPERVISOR_hvm_op, HVMOP_get_param, (u32)&p) != 0)
        return ~0ull;
    return p.value;
}

static void shutdown(u32 reason)
{
    /* let xenconsoled take everything out of the ring first */
    for (u32 i = 0; i < 500000 && ring->out_cons != ring->out_prod; i++)
        ring_flush_step(i);
    u32 r = reason;
    hypercall(HYPERVISOR_sched_op, SCHEDOP_shutdown, (u32)&r);
}

/* does word w (ending at space or NUL) start with prefix p? returns what follows, or 0 */
static const char *word_is(const char *w, const char *p)
{
    while (*p && *w == *p) { w++; p++; }
    return *p ? 0 : w;
}

static int parse_int(const char *s)
{
    int neg = *s == '-', v = 0;
    if (neg) s++;
    while (*s >= '0' && *s <= '9') v = v * 10 + (*s++ - '0');
    return neg ? -v : v;
}

void guest_main(struct hvm_start_info *si)
{
    debug_port("mini: entered\n");
    /* Xen's CPUID leaves: signature "XenVMMXenVMM" at 0x40000000 + k * 0x100 */
    u32 base, a, b, c, d;
    for (base = 0x40000000; base < 0x40010000; base += 0x100) {
        asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(base), "c"(0));
        if (b == 0x566e6558 && c == 0x65584d4d && d == 0x4d4d566e)
            break;
    }
    if (base >= 0x40010000) {
        debug_port("mini: not on Xen\n");
        return;
    }
    /* leaf base+2: ebx = MSR that takes the hypercall page's physical address */
    asm volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(base + 2), "c"(0));
    asm volatile("wrmsr" : : "c"(b), "a"((u32)hypercall_page), "d"(0));

    ring = (volatile struct xencons_interface *)(u32)(hvm_param(HVM_PARAM_CONSOLE_PFN) << 12);
    ring_port = (u32)hvm_param(HVM_PARAM_CONSOLE_EVTCHN);

    const char *cmdline = si->magic == 0x336ec578 && si->cmdline_paddr ? (const char *)(u32)si->cmdline_paddr : "";
    int code = 0, crash = 0, hang = 0, ready = 1, exit_line = 1, lines = 0;
    for (const char *w = cmdline; *w;) {
        const char *v;
        if ((v = word_is(w, "exit="))) code = parse_int(v);
        else if (word_is(w, "crash")) crash = 1;
        else if (word_is(w, "hang")) hang = 1;
        else if (word_is(w, "noready")) ready = 0;
        else if (word_is(w, "noexit")) exit_line = 0;
        else if ((v = word_is(w, "lines="))) lines = parse_int(v);
        while (*w && *w != ' ') w++;
        while (*w == ' ') w++;
    }

    if (ready)
        put("shimmer: ready\n");
    put("mini: cmdline: ");
    put(cmdline);
    put("\n");
    for (int i = 1; i <= lines; i++) {
        put("mini: line ");
        put_u32(i);
        put("\n");
    }
    if (crash) {
        put("panicked at selftest-guests/mini-pvh.c: crash requested on the command line\n");
        shutdown(SHUTDOWN_crash);
    }
    if (hang) {
        put("mini: hanging\n");
        for (u32 i = 0;; i++)
            ring_flush_step(i);
    }
    if (exit_line) {
        put("shimmer: exit ");
        if (code < 0) { put("-"); put_u32(-code); } else put_u32(code);
        put("\n");
    }
    shutdown(SHUTDOWN_poweroff);
}
