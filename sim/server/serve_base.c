/* serve_base.c: see serve_base.h. */
#include "serve_base.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

static atomic_int stopping;

void serve_log(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    fprintf(stderr, "snesync-sim serve: %s\n", line);
}

double serve_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void serve_sleep(double seconds)
{
    if (seconds <= 0)
        return;
    struct timespec ts;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

void serve_set_stopping(void)
{
    atomic_store(&stopping, 1);
}

int serve_trickle_wait(unsigned ms)
{
    double until = serve_now() + ms / 1000.0;
    for (;;) {
        if (atomic_load(&stopping))
            return -1;
        double left = until - serve_now();
        if (left <= 0)
            return 0;
        serve_sleep(left < 0.05 ? left : 0.05);
    }
}
