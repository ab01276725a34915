/* serve_base.h: what every module of `snesync-sim serve` uses: the log, the monotonic clock, the
 * server's stop flag (set once, on SIGINT/SIGTERM, read by waits that must not hold up the
 * shutdown), and the reading of a query's comma-separated lists. Thread-safe. */
#ifndef SIM_SERVE_BASE_H
#define SIM_SERVE_BASE_H

#include <stddef.h>

/* Logs one line "snesync-sim serve: ..." to stderr (at most 1 KiB). Callers never pass personal
 * data or credentials. */
void serve_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Seconds on the monotonic clock. */
double serve_now(void);
/* Sleeps `seconds` (no-op for <= 0). */
void serve_sleep(double seconds);

/* The server is stopping. */
void serve_set_stopping(void);
/* Waits `ms` milliseconds in short slices; returns -1 (at once) when the server is stopping, so
 * that a trickling answer does not hold up the shutdown. */
int serve_trickle_wait(unsigned ms);

#define SERVE_LIST_ITEM_MAX 31 /* characters of one item of a listed query value */

/* Hands each item of the comma-separated query value `list` (NULL reads as "") to take(item, ctx),
 * in order, NUL-terminated (`item` is valid during the call only). Returns 0 once every item was
 * taken, -1 at the first item that is empty, longer than max_len (<= SERVE_LIST_ITEM_MAX), or
 * that take refuses (returns non-zero). */
int serve_each_listed(const char *list, size_t max_len, int (*take)(const char *item, void *ctx),
                      void *ctx);

#endif
