/* gunzip.h: a gzip stream (RFC 1952) decoded as its bytes arrive, in bounded memory.
 *
 * A gzip stream is one or more members, each a header and a body. The headers are read here: the
 * magic, method and flags checked, the optional fields (extra, name, comment, header CRC) skipped
 * unread and unchecked, as libarchive does. The bodies are inflate.h's: the deflate data, then the
 * trailer, whose CRC-32 and length are checked for every member. After a member, bytes that do not
 * begin with the gzip magic (1f 8b) end the stream as trailing data (tape padding, junk), as with
 * gzip(1) and libarchive; such bytes are not looked at further.
 *
 * The caller feeds input in pieces of any size and drains output into a buffer of its own; once
 * the input has ended it calls sne_gunzip_end_of_input, which tells a complete stream from a
 * truncated one. Statuses other than SNE_GUNZIP_MORE are sticky. Messages name what is wrong,
 * never data bytes. One handle is used by one thread at a time. */
#ifndef SNE_GUNZIP_H
#define SNE_GUNZIP_H

#include <stddef.h>
#include <stdint.h>

typedef struct sne_gunzip sne_gunzip;

typedef enum sne_gunzip_status {
    SNE_GUNZIP_MORE,     /* call again: with more input if all of it was used, else more room */
    SNE_GUNZIP_END,      /* the stream is complete (every member checked) */
    SNE_GUNZIP_NOT_GZIP, /* the input does not begin with a gzip header, or is empty */
    SNE_GUNZIP_CORRUPT,  /* invalid, truncated or failing its check: sne_gunzip_message says */
    SNE_GUNZIP_NOMEM     /* the inflate library could not allocate its window */
} sne_gunzip_status;

/* A new decoder (owned: sne_gunzip_free), or NULL when out of memory. */
sne_gunzip *sne_gunzip_new(void);

/* Decodes from *in (*in_len bytes, advanced past what was used) into out[0..cap) (cap > 0);
 * *out_len is set to the bytes written, which are valid whatever the status. */
sne_gunzip_status sne_gunzip_step(sne_gunzip *g, const uint8_t **in, size_t *in_len, uint8_t *out,
                                  size_t cap, size_t *out_len);

/* The input has ended: SNE_GUNZIP_END if it ended after a complete member, SNE_GUNZIP_NOT_GZIP if
 * there was no input at all, else SNE_GUNZIP_CORRUPT (truncated). */
sne_gunzip_status sne_gunzip_end_of_input(sne_gunzip *g);

/* Why the last SNE_GUNZIP_CORRUPT or SNE_GUNZIP_NOMEM: a static string ("" when none). */
const char *sne_gunzip_message(const sne_gunzip *g);

/* The library that inflates ("isal" or "zlib"). */
const char *sne_gunzip_backend(void);

void sne_gunzip_free(sne_gunzip *g); /* accepts NULL */

#endif
