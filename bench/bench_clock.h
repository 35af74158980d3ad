/* eidhub benchmarks: the clocks and the timing loop that the C benchmark
 * programs share (bench/saml_consume.c, bench/login_crypto.c). Header-only,
 * static inline: each program is one file. */
#ifndef EH_BENCH_CLOCK_H
#define EH_BENCH_CLOCK_H

#include <time.h>

/* bench_wall_s returns monotonic wall-clock seconds. */
static inline double bench_wall_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* bench_cpu_s returns the CPU seconds (user and system) of this process. */
static inline double bench_cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* bench_time_op calls op(arg) 10 times to warm up, then in batches of
 * batch calls for about secs seconds of wall time. Returns the CPU seconds
 * one call took (the process's CPU: call it from a one-threaded program),
 * or -1 as soon as a call returns non-zero; *wall gets the wall-clock
 * seconds per call. */
static inline double bench_time_op(int (*op)(void *), void *arg, int batch, double secs,
                                   double *wall)
{
    long n = 0;
    for (int i = 0; i < 10; i++)
        if (op(arg) != 0)
            return -1;
    double t0 = bench_wall_s(), t = t0, c0 = bench_cpu_s();
    while (t - t0 < secs) {
        for (int i = 0; i < batch; i++, n++)
            if (op(arg) != 0)
                return -1;
        t = bench_wall_s();
    }
    *wall = (t - t0) / (double)n;
    return (bench_cpu_s() - c0) / (double)n;
}

#endif
