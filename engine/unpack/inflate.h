/* inflate.h: the body of one gzip member (RFC 1952): its deflate data (RFC 1951) and its 8-byte
 * trailer, whose CRC-32 and length are checked against what was decoded. The one part of gunzip.c
 * that depends on the library doing the work; gunzip.c reads the member headers itself.
 *
 * Two implementations, one linked per library (CMake SNESYNC_INFLATE): inflate_isal.c on ISA-L's
 * igzip (which checks the trailer itself) and inflate_zlib.c on zlib's raw inflate, the fallback
 * where libisal is absent. Both stop right after the trailer and leave the bytes that follow it
 * unconsumed (a next member, or trailing data).
 *
 * One handle decodes one member body at a time; sne_inflate_reset starts the next one. */
#ifndef SNE_INFLATE_H
#define SNE_INFLATE_H

#include <stddef.h>
#include <stdint.h>

typedef struct sne_inflate sne_inflate;

typedef enum sne_inflate_status {
    SNE_INFLATE_MORE,    /* all input used or the output full: call again with more of either */
    SNE_INFLATE_END,     /* the body is complete and its trailer matches; *in points after it */
    SNE_INFLATE_BAD,      /* the data is not valid deflate */
    SNE_INFLATE_MISMATCH, /* the trailer's CRC-32 or length does not match the decoded bytes */
    SNE_INFLATE_NOMEM     /* the library could not allocate its window */
} sne_inflate_status;

/* The library doing the work, for reports and tests: "isal" or "zlib". */
extern const char sne_inflate_backend[];

/* A new handle ready for a stream (owned: sne_inflate_free), or NULL when out of memory. */
sne_inflate *sne_inflate_new(void);

/* Forgets the current member (its window, CRC and length) to start another. */
void sne_inflate_reset(sne_inflate *z);

/* Decodes from *in (*in_len bytes) into *out (*out_room bytes), advancing both pointers and
 * decreasing both counts by what was used. When it returns SNE_INFLATE_MORE with input left, the
 * output is full. After any other status, only sne_inflate_reset may follow. */
sne_inflate_status sne_inflate_run(sne_inflate *z, const uint8_t **in, size_t *in_len,
                                   uint8_t **out, size_t *out_room);

void sne_inflate_free(sne_inflate *z); /* accepts NULL */

#endif
