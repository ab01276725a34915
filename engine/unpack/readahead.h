/* readahead.h: an archive reader (unpack.h) run one step ahead, on a thread of its own.
 *
 * Decompression (gzip) and XML parsing are the two big costs of an ingest; on two cores they can
 * overlap (DESIGN-NOTES §5). sne_readahead takes an open sne_unpack and runs it on a producer
 * thread that pushes member names and blocks of decompressed bytes into a bounded queue
 * (common/queue.h); the consumer calls the same operations as on sne_unpack, with the same
 * contracts (see unpack.h: in particular, nothing is verified before next() returns
 * SNE_ERR_NOTFOUND). Memory is bounded by the queue: `blocks` x `block_size` bytes.
 *
 * The producer touches the sne_unpack only; the consumer touches it again only after the producer
 * has finished (end of archive, error, or sne_readahead_free). */
#ifndef SNE_READAHEAD_H
#define SNE_READAHEAD_H

#include "unpack.h"

typedef struct sne_readahead sne_readahead;

/* Starts the producer over `u`, whose ownership passes to the readahead (freed with it, also on
 * failure). `blocks` in 2..SNE_QUEUE_MAX_CAPACITY and `block_size` > 0, or 0 for the defaults
 * (8 x 256 KiB). */
sne_err sne_readahead_start(sne_readahead **out, sne_unpack *u, size_t blocks, size_t block_size,
                            sne_error *err);
/* As sne_unpack_next; *name is borrowed until the next call. */
sne_err sne_readahead_next(sne_readahead *r, const char **name);
/* As sne_unpack_read. */
ptrdiff_t sne_readahead_read(sne_readahead *r, void *buf, size_t n);
/* Raw archive bytes consumed by the producer so far (progress). */
uint64_t sne_readahead_raw_bytes(const sne_readahead *r);
/* As sne_unpack_digest, once next() returned SNE_ERR_NOTFOUND. */
sne_err sne_readahead_digest(sne_readahead *r, uint8_t sha256[32], uint64_t *raw_size);
/* The error that ended the stream, or one with code SNE_OK. */
const sne_error *sne_readahead_error(const sne_readahead *r);
/* Stops the producer (it notices within one block), joins it, frees everything. Accepts NULL. */
void sne_readahead_free(sne_readahead *r);

#endif
