/* buffer.h: a growable byte buffer with an explicit cap (curl's dynbuf); the type and most of
 * its functions are public (snesync.h), the engine's own are below.
 *
 * The buffer owns `data`. Growth past `cap` fails with SNE_ERR_LIMIT and leaves the content as it
 * was, so a hostile input can never make a buffer grow without bound. `data` is always
 * NUL-terminated once anything was appended (the NUL is not counted in `len`), so text held in a
 * buffer can be passed to C string functions. Reset keeps the allocation for reuse. */
#ifndef SNE_BUFFER_H
#define SNE_BUFFER_H

#include "error.h"
#include "snesync.h" /* sne_buf and the functions a program uses */

#include <stddef.h>
#include <stdint.h>

sne_err sne_buf_reserve(sne_buf *b, size_t extra);
/* Appends n bytes (one byte) for which a successful sne_buf_reserve() made room: no check, no
 * failure. Several puts may follow one reserve as long as their sum stays within it. */
static inline void sne_buf_put(sne_buf *b, const void *p, size_t n)
{
    __builtin_memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static inline void sne_buf_put_byte(sne_buf *b, uint8_t c)
{
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

/* Cuts the buffer back to `len` bytes (len <= b->len). */
void sne_buf_truncate(sne_buf *b, size_t len);

#endif
