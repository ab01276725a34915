/* serve_base.h: what every module of `snesync-sim serve` uses: the log, the monotonic clock, and
 * the server's stop flag (set once, on SIGINT/SIGTERM, read by waits that must not hold up the
 * shutdown). Thread-safe. */
#ifndef SIM_SERVE_BASE_H
#define SIM_SERVE_BASE_H

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

#endif
