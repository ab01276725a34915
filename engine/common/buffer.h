/* buffer.h: a growable byte buffer with an explicit cap (curl's dynbuf).
 *
 * The buffer owns `data`. Growth past `cap` fails with SNE_ERR_LIMIT and leaves the content as it
 * was, so a hostile input can never make a buffer grow without bound. `data` is always
 * NUL-terminated once anything was appended (the NUL is not counted in `len`), so text held in a
 * buffer can be passed to C string functions. Reset keeps the allocation for reuse. */
#ifndef SNE_BUFFER_H
#define SNE_BUFFER_H

#include "error.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sne_buf {
    uint8_t *data; /* owned; NULL until the first append */
    size_t len;
    size_t alloc;
    size_t cap; /* the most `len` may ever be */
} sne_buf;

void sne_buf_init(sne_buf *b, size_t cap);
void sne_buf_free(sne_buf *b);  /* accepts a zeroed buffer */
void sne_buf_reset(sne_buf *b); /* len = 0, keeps memory */
sne_err sne_buf_reserve(sne_buf *b, size_t extra);
sne_err sne_buf_append(sne_buf *b, const void *p, size_t n);
sne_err sne_buf_append_byte(sne_buf *b, uint8_t c);
sne_err sne_buf_append_str(sne_buf *b, const char *s);
sne_err sne_buf_printf(sne_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
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
/* Appends `s` as a JSON string literal, quotes included. Invalid UTF-8 is replaced by U+FFFD. */
sne_err sne_buf_append_json_string(sne_buf *b, const uint8_t *s, size_t n);

#endif
