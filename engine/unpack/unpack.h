/* unpack.h: an export archive (gzip-compressed tar, contract README §2) in, its members out.
 *
 * Streaming with bounded memory whatever the archive size: raw bytes are pulled from a read
 * function into one reused block, hashed (sha256) as they pass, gunzipped and untarred by
 * libarchive, and handed out member by member. Nothing is written to disk and no member is ever
 * held whole in memory. Only a gzip-compressed tar (ustar, pax or GNU) is accepted: a plain tar, a
 * zip, an HTML error page, an empty input or a gzip of something else is refused at open.
 *
 * Hostile input (DESIGN-NOTES §7): decompressed bytes are capped per member and in total, and the
 * number of entries is capped (sne_unpack_limits), so a gzip bomb stops at the cap. Error messages
 * name the member and what happened (truncated, CRC error, over a limit), carry the libarchive
 * errno (or the source's errno) in lib_code, and never hold data bytes. Member names are not
 * interpreted as paths (nothing is extracted): "../x" is just a name.
 *
 * Integrity: the gzip stream is decompressed to its very end (its trailer included) before the
 * end of the archive is reported, so a truncated archive always ends in an error, never in a clean
 * SNE_ERR_NOTFOUND. The gzip CRC32 and length are checked at that point for a single-member gzip
 * (what tar, pigz and Java's GZIPOutputStream write; libarchive itself does not check them); for a
 * multi-member gzip only truncation is detected, and the sha256 (sne_unpack_digest, compared with
 * the announced one) is the proof of integrity. So: data handed out is not verified until
 * sne_unpack_next has returned SNE_ERR_NOTFOUND; a caller must not draw conclusions (deletions)
 * before that (DESIGN-NOTES §2).
 *
 * Errors are sticky: after any error but SNE_ERR_USAGE, every call fails the same way.
 * One handle is used by one thread at a time.
 *
 * Typical use:
 *     sne_unpack *u; sne_error err;
 *     if (sne_unpack_open_fd(&u, fd, NULL, &err) != SNE_OK) { report err; }
 *     const char *name;
 *     sne_err rc;
 *     while ((rc = sne_unpack_next(u, &name)) == SNE_OK) {
 *         ptrdiff_t n;
 *         while ((n = sne_unpack_read(u, buf, sizeof buf)) > 0) { feed the parser }
 *         if (n < 0) { report sne_unpack_error(u); break; }
 *     }
 *     if (rc == SNE_ERR_NOTFOUND) sne_unpack_digest(u, sha, &size); else report the error;
 *     sne_unpack_free(u);
 */
#ifndef SNE_UNPACK_H
#define SNE_UNPACK_H

#include "../common/error.h"
#include "snesync.h"

#include <stddef.h>
#include <stdint.h>

typedef struct sne_unpack sne_unpack;

/* sne_unpack_limits (the caps on sizes) and sne_unpack_read_fn (the raw source) are public:
 * snesync.h. */

/* Opens an archive read through `read(ctx, ...)`. `ctx` is borrowed: it must stay valid until
 * sne_unpack_free. `lim` is copied (NULL = all defaults). Reads and decompresses the first bytes
 * to check that the input is a gzip holding a tar: if not, fails with SNE_ERR_ARCHIVE ("not a
 * gzip-compressed tar archive"). On success *out is an owned handle (sne_unpack_free); on failure
 * *out is NULL and `err` (may be NULL) says why. */
sne_err sne_unpack_open(sne_unpack **out, sne_unpack_read_fn read, void *ctx,
                        const sne_unpack_limits *lim, sne_error *err);

/* The same, reading the file descriptor `fd` from its current position to EOF. The descriptor is
 * borrowed: it is not closed, and must stay open until sne_unpack_free. */
sne_err sne_unpack_open_fd(sne_unpack **out, int fd, const sne_unpack_limits *lim, sne_error *err);

/* Advances to the next regular-file member (directories, links etc. are skipped, still counted).
 * What is left unread of the current member is skipped. SNE_OK with *name set (borrowed: valid
 * until the next call on `u`), SNE_ERR_NOTFOUND at the clean end of the archive (the gzip stream
 * verified to its end, the source drained to EOF: sne_unpack_digest is then available), or an
 * error (see sne_unpack_error): SNE_ERR_ARCHIVE for a truncated/corrupt/non-tar archive,
 * SNE_ERR_LIMIT for a limit, SNE_ERR_IO when the source failed. */
sne_err sne_unpack_next(sne_unpack *u, const char **name);

/* Decompressed bytes of the current member into buf (n > 0): >0, 0 at its end, -1 on error (see
 * sne_unpack_error; SNE_ERR_LIMIT once the member passes max_member_bytes, at most one byte past
 * the cap being decompressed). -1 with SNE_ERR_USAGE when there is no current member. */
ptrdiff_t sne_unpack_read(sne_unpack *u, void *buf, size_t n);

/* Raw (compressed) bytes read from the source so far: for progress reports. */
uint64_t sne_unpack_raw_bytes(const sne_unpack *u);

/* After sne_unpack_next returned SNE_ERR_NOTFOUND: the sha256 and size of every raw byte of the
 * source, read to its EOF (trailing bytes after the tar end or the gzip end included).
 * SNE_ERR_USAGE before that (or after an error). */
sne_err sne_unpack_digest(const sne_unpack *u, uint8_t sha256[32], uint64_t *raw_size);

/* The last error of `u` (code SNE_OK when none). Borrowed: valid until sne_unpack_free. */
const sne_error *sne_unpack_error(const sne_unpack *u);

void sne_unpack_free(sne_unpack *u); /* accepts NULL */

#endif
