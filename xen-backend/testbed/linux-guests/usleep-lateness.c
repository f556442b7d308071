/*
 * usleep lateness of Linux, the baseline for shimmer's own timers in the same Xen boot
 * (xen-backend/testbed/linux-timer-guest runs it as a Linux PVH guest; it also runs on any host).
 *
 *   usleep-lateness [N]     N sleeps (default 10000)
 *
 * Sleep i asks for us_i whole microseconds, uniform in [0, 5000], drawn from the xorshift64
 * below (seed 0x9E3779B97F4A7C15, us = next() % 5001): shimmer's run draws the same sequence.
 * Each sleep: t0 = CLOCK_MONOTONIC, usleep(us), t1 = CLOCK_MONOTONIC;
 * lateness = (t1 - t0) - us * 1000 ns (signed). A sleep with lateness < 0 is "early".
 *
 * Prints exactly one summary line (lateness in microseconds, one decimal; over all N sleeps,
 * sorted; median = sorted[ceil(N/2) - 1], p99 = sorted[ceil(0.99 N) - 1], nearest rank):
 *   timers: n=10000 early=0 median_us=12.3 p99_us=45.6 max_us=78.9
 * preceded, when some sleep was early, by a line with the first early one's details.
 * Exit status 0 when no sleep was early, 1 otherwise (2 for a usage error).
 *
 * Build: gcc -static -O2 usleep-lateness.c -o usleep-lateness
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static uint64_t x = 0x9E3779B97F4A7C15ULL;

static uint64_t next(void)
{
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        perror("usleep-lateness: clock_gettime");
        exit(2);
    }
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t l = *(const int64_t *)a, r = *(const int64_t *)b;
    return (l > r) - (l < r);
}

/* nearest rank: the smallest value with at least p per mille of the samples <= it */
static int64_t rank(const int64_t *sorted, long n, long per_mille)
{
    long k = (n * per_mille + 999) / 1000;
    if (k < 1)
        k = 1;
    return sorted[k - 1];
}

int main(int argc, char **argv)
{
    long n = 10000;
    if (argc > 2) {
        fprintf(stderr, "usage: usleep-lateness [N]\n");
        return 2;
    }
    if (argc == 2) {
        char *end;
        errno = 0;
        n = strtol(argv[1], &end, 10);
        if (errno || *end || end == argv[1] || n <= 0 || n > 100000000) {
            fprintf(stderr, "usleep-lateness: N must be a whole number in 1..100000000, not '%s'\n", argv[1]);
            return 2;
        }
    }
    int64_t *lat = malloc(sizeof(int64_t) * (size_t)n);
    if (!lat) {
        perror("usleep-lateness: malloc");
        return 2;
    }

    long early = 0;
    for (long i = 0; i < n; i++) {
        unsigned us = (unsigned)(next() % 5001);
        int64_t t0 = now_ns();
        if (usleep(us) != 0 && errno != EINTR) {
            perror("usleep-lateness: usleep");
            return 2;
        }
        int64_t t1 = now_ns();
        lat[i] = (t1 - t0) - (int64_t)us * 1000;
        if (lat[i] < 0 && early++ == 0)
            printf("timers: first early sleep: i=%ld us=%u slept_ns=%lld lateness_ns=%lld\n",
                   i, us, (long long)(t1 - t0), (long long)lat[i]);
    }

    qsort(lat, (size_t)n, sizeof(int64_t), cmp_i64);
    printf("timers: n=%ld early=%ld median_us=%.1f p99_us=%.1f max_us=%.1f\n", n, early,
           rank(lat, n, 500) / 1000.0, rank(lat, n, 990) / 1000.0, lat[n - 1] / 1000.0);
    fflush(stdout);
    free(lat);
    return early == 0 ? 0 : 1;
}
