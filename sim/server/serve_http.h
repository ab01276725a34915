/* serve_http.h: the small shared kit of the serve modules: a capped string buffer for JSON
 * bodies, replies (JSON, RFC 7807 problems), logging, clocks and xs:dateTime values.
 * Depends on libmicrohttpd only. */
#ifndef SIM_SERVE_HTTP_H
#define SIM_SERVE_HTTP_H

#include <microhttpd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* A growable string with a hard cap: past `max` bytes it stops growing and sets `failed`. */
typedef struct serve_buf {
    char *p; /* owned, NUL-terminated while !failed */
    size_t len, cap, max;
    int failed;
} serve_buf;

void serve_buf_init(serve_buf *b, size_t max);
void serve_buf_free(serve_buf *b);
void serve_buf_add(serve_buf *b, const char *s, size_t n);
void serve_buf_str(serve_buf *b, const char *s);
void serve_buf_printf(serve_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends `s` as a quoted JSON string. */
void serve_buf_json(serve_buf *b, const char *s);

/* Queues a reply. `retry_after` 0 means no Retry-After header; `location` may be NULL.
 * The body is copied. Records the status for the access log (serve_last_status()). */
enum MHD_Result serve_reply(struct MHD_Connection *c, unsigned status, const char *ctype,
                            const char *body, size_t len, unsigned retry_after,
                            const char *location);
/* serve_reply() with one extra header (name NULL for none). */
enum MHD_Result serve_reply_ex(struct MHD_Connection *c, unsigned status, const char *ctype,
                               const char *body, size_t len, unsigned retry_after,
                               const char *hname, const char *hvalue);
/* Queues an application/problem+json reply (type about:blank, the standard title, `detail`,
 * which must hold no personal data). */
enum MHD_Result serve_problem(struct MHD_Connection *c, unsigned status, unsigned retry_after,
                              const char *detail);
/* serve_problem() with one extra header (Allow, Content-Range...). */
enum MHD_Result serve_problem_ex(struct MHD_Connection *c, unsigned status, unsigned retry_after,
                                 const char *detail, const char *hname, const char *hvalue);
/* The next reply queued by this thread sends its body one byte every `ms` milliseconds (the
 * fault trickle@MS); the headers go at once. */
void serve_reply_trickle(unsigned ms);
/* Queues 200 text/html: a proxy's maintenance page (the faults html and notgzip). */
enum MHD_Result serve_html_page(struct MHD_Connection *c);
/* Waits `ms` milliseconds in short slices; returns -1 (at once) when the server is stopping, so
 * that a trickling answer does not hold up the shutdown. */
int serve_trickle_wait(unsigned ms);
/* The server is stopping (set once, on SIGINT/SIGTERM). */
void serve_set_stopping(void);

/* The status of the last reply queued by this thread (0 if none). */
unsigned serve_last_status(void);
void serve_last_status_reset(void);
/* For replies queued without serve_reply(). */
void serve_reply_note_status(unsigned status);

/* Logs one line "snesync-sim serve: ..." to stderr. Callers never pass personal data or
 * credentials. */
void serve_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Seconds on the monotonic clock. */
double serve_now(void);
/* Sleeps `seconds` (no-op for <= 0). */
void serve_sleep(double seconds);

/* Parses "YYYY-MM-DDTHH:MM:SS[.fraction][Z|(+|-)HH:MM]" (no zone: UTC) into milliseconds since
 * the epoch. Returns 0, or -1 when `s` is not such a value. */
int serve_time_parse(const char *s, int64_t *epoch_ms);
/* Formats `epoch_s` as "YYYY-MM-DDTHH:MM:SSZ". */
void serve_time_format(int64_t epoch_s, char out[32]);

#endif
