/* serve_base.c: see serve_base.h. */
#include "serve_base.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
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

int serve_each_listed(const char *list, size_t max_len, int (*take)(const char *item, void *ctx),
                      void *ctx)
{
    const char *p = list ? list : "";
    char item[SERVE_LIST_ITEM_MAX + 1];
    if (max_len > SERVE_LIST_ITEM_MAX)
        max_len = SERVE_LIST_ITEM_MAX;
    for (;;) {
        size_t n = strcspn(p, ",");
        if (n == 0 || n > max_len)
            return -1;
        memcpy(item, p, n);
        item[n] = '\0';
        if (take(item, ctx) != 0)
            return -1;
        if (p[n] == '\0')
            return 0;
        p += n + 1;
    }
}
