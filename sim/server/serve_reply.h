/* serve_reply.h: one HTTP exchange of `snesync-sim serve`, and the replies queued on it.
 *
 * The router (serve_route.c) makes a serve_exchange for each request and hands it to exactly one
 * handler, which queues exactly one reply through it; the router then logs the exchange's status.
 * What the reply and the access log need travels in the exchange, nothing beside it. Bodies are
 * copied; problem details never hold personal data. Depends on libmicrohttpd only. */
#ifndef SIM_SERVE_REPLY_H
#define SIM_SERVE_REPLY_H

#include <microhttpd.h>
#include <stddef.h>

#include "common/buffer.h"

typedef struct serve_exchange {
    struct MHD_Connection *conn; /* borrowed from libmicrohttpd for the request's life */
    unsigned trickle_ms; /* fault trickle@MS: the reply's body goes one byte every trickle_ms */
    int cut;             /* fault cut@BYTES: the reply announces its whole body, sends ... */
    size_t cut_at;       /* ... this many bytes of it, then closes the connection */
    unsigned status;     /* of the reply queued, 0 while none: for the access log */
} serve_exchange;

/* Queues a reply. `retry_after` 0 means no Retry-After header; `hname` NULL means no extra
 * header (else hname: hvalue). A 401 carries WWW-Authenticate: Bearer; every reply
 * Cache-Control: no-store. */
enum MHD_Result serve_reply(serve_exchange *x, unsigned status, const char *ctype, const char *body,
                            size_t len, unsigned retry_after, const char *hname,
                            const char *hvalue);
/* Queues an application/problem+json reply: type about:blank, the standard title, `detail`. */
enum MHD_Result serve_problem(serve_exchange *x, unsigned status, unsigned retry_after,
                              const char *detail);
/* serve_problem() with one extra header (Allow, Content-Range...). */
enum MHD_Result serve_problem_ex(serve_exchange *x, unsigned status, unsigned retry_after,
                                 const char *detail, const char *hname, const char *hvalue);
/* Queues 200 text/html: a proxy's maintenance page (the faults html and notgzip). */
enum MHD_Result serve_html_page(serve_exchange *x);

/* Appends `s` (NUL-terminated) to b as a JSON string, quotes included. */
sne_err serve_json_string(sne_buf *b, const char *s);

#endif
