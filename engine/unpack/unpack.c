/* unpack.c: gzip tar member streaming on libarchive, with sha256 of the raw bytes.
 *
 * Two libarchive readers are chained, both pulling through callbacks, all state in one struct
 * (so decompression can later move to a read-ahead thread behind the same API, DESIGN-NOTES §5):
 *
 *   source --raw_pull (sha256, tail ring)--> `gz`: gzip filter + raw format
 *          --gz_pull (CRC32, total cap)-->   `tar`: tar format, no filter --> members
 *
 * Why two and not one reader with gzip filter + tar format: a single reader stops decompressing at
 * the tar end-of-archive blocks, so a file cut inside the gzip trailer or the tar padding would
 * look complete. With the gzip stage on its own, it is drained to the end of its stream after the
 * tar end, which proves the gzip stream whole; and every decompressed byte passes here, so its
 * CRC32 can be checked against the trailer (libarchive 3.6 does not check it). */
#include "unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <zlib.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK_SIZE   (128u * 1024u)    /* raw bytes asked of the source at a time */
#define TAIL_SIZE    (3u * BLOCK_SIZE) /* last raw bytes kept, to find the gzip trailer */
#define NAME_SHOWN   160               /* bytes of a member name quoted in a message */
#define GIB          (1024ull * 1024ull * 1024ull)
#define DEF_MEMBER   (8ull * GIB)
#define DEF_TOTAL    (256ull * GIB)
#define DEF_MEMBERS  100000u
#define NOT_GZIP_TAR "not a gzip-compressed tar archive"
/* libarchive's own codes for format errors (archive_private.h, not public) */
#define ERRNO_FORMAT EINVAL
#define ERRNO_MISC   (-1)

enum state {
    ST_START,  /* no member yet */
    ST_MEMBER, /* a member is current */
    ST_END,    /* NOTFOUND returned, digest available */
    ST_FAILED  /* sticky error in err */
};

struct sne_unpack {
    sne_unpack_read_fn read;
    void *ctx;
    int fd; /* for sne_unpack_open_fd */

    uint64_t max_member, max_total;
    uint32_t max_members;

    struct archive *gz;  /* gzip filter + raw format over the source */
    struct archive *tar; /* tar format over gz's output */
    enum state state;

    /* raw side */
    uint8_t *block; /* BLOCK_SIZE, reused for every source read */
    uint8_t *tail;  /* TAIL_SIZE ring of the last raw bytes; raw byte at offset x is tail[x %
                       TAIL_SIZE] */
    uint64_t raw_size;
    int raw_eof;
    EVP_MD_CTX *md;
    uint8_t digest[32];

    /* decompressed side */
    uint64_t stream_bytes; /* decompressed bytes pulled out of gz */
    uint32_t crc;          /* CRC32 of those bytes (zlib's crc32_z, the gzip one) */
    int gz_eof;

    /* members */
    uint32_t entries;     /* tar entries seen, ignored ones included */
    uint64_t member_read; /* decompressed bytes of the current member read so far */
    int have_name;        /* shown_name holds the current (or last) member */
    char shown_name[NAME_SHOWN];

    /* first failure seen inside a callback: more precise than what libarchive reports after it */
    sne_err cb_code;
    int cb_lib;
    char cb_msg[256];

    sne_error err;
};

/* ---- messages ---- */

/* Copies `s` for a message: printable ASCII only, cut with "..." when long. */
static void shown(char *dst, size_t cap, const char *s)
{
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[i] = '\0';
    if (s[i] && cap >= 4)
        memcpy(dst + cap - 4, "...", 4);
}

static void size_text(char *dst, size_t cap, uint64_t v)
{
    if (v >= GIB && v % GIB == 0)
        snprintf(dst, cap, "%llu GiB", (unsigned long long)(v / GIB));
    else if (v >= (1u << 20) && v % (1u << 20) == 0)
        snprintf(dst, cap, "%llu MiB", (unsigned long long)(v >> 20));
    else if (v >= 1024 && v % 1024 == 0)
        snprintf(dst, cap, "%llu KiB", (unsigned long long)(v >> 10));
    else
        snprintf(dst, cap, "%llu bytes", (unsigned long long)v);
}

/* Where in the archive we are, for a message prefix. */
static void where(const sne_unpack *u, char *dst, size_t cap)
{
    if (u->state == ST_MEMBER && u->have_name)
        snprintf(dst, cap, "member %s: ", u->shown_name);
    else if (u->have_name)
        snprintf(dst, cap, "after member %s: ", u->shown_name);
    else
        snprintf(dst, cap, "archive: ");
}

/* Records the first failure seen in a callback. */
static void cb_fail(sne_unpack *u, sne_err code, int lib, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void cb_fail(sne_unpack *u, sne_err code, int lib, const char *fmt, ...)
{
    if (u->cb_code != SNE_OK)
        return;
    u->cb_code = code;
    u->cb_lib = lib;
    char raw[sizeof(u->cb_msg)];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(raw, sizeof(raw), fmt, ap);
    va_end(ap);
    shown(u->cb_msg, sizeof(u->cb_msg), raw);
}

/* Makes the handle fail for good with `code` and a message prefixed by where we are. */
static sne_err fail(sne_unpack *u, sne_err code, int lib, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static sne_err fail(sne_unpack *u, sne_err code, int lib, const char *fmt, ...)
{
    char pre[NAME_SHOWN + 32], msg[sizeof(u->err.message)];
    where(u, pre, sizeof(pre));
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    u->state = ST_FAILED;
    return sne_error_set(&u->err, code, lib, "%s%s", pre, msg);
}

/* Fails after libarchive call on `a` failed: the callback's own failure when there was one (it is
 * the cause), else libarchive's message. */
static sne_err fail_archive(sne_unpack *u, struct archive *a)
{
    if (u->cb_code != SNE_OK)
        return fail(u, u->cb_code, u->cb_lib, "%s", u->cb_msg);
    const char *m = archive_error_string(a);
    char msg[256];
    shown(msg, sizeof(msg), m && *m ? m : "truncated or corrupt archive");
    return fail(u, SNE_ERR_ARCHIVE, archive_errno(a), "%s", msg);
}

/* ---- raw side ---- */

static ptrdiff_t fd_read(void *ctx, void *buf, size_t n)
{
    int fd = *(const int *)ctx;
    ssize_t r;
    do
        r = read(fd, buf, n);
    while (r < 0 && errno == EINTR);
    return r;
}

static void tail_add(sne_unpack *u, const uint8_t *p, size_t n)
{
    uint64_t end = u->raw_size + n; /* offset after these bytes */
    if (n > TAIL_SIZE) {
        p += n - TAIL_SIZE;
        n = TAIL_SIZE;
    }
    size_t at = (size_t)((end - n) % TAIL_SIZE);
    size_t first = TAIL_SIZE - at < n ? TAIL_SIZE - at : n;
    memcpy(u->tail + at, p, first);
    memcpy(u->tail, p + first, n - first);
}

/* Reads one block of the source into u->block, hashing it: bytes read, 0 at EOF, -1 (recorded). */
static ptrdiff_t raw_pull(sne_unpack *u)
{
    if (u->raw_eof)
        return 0;
    errno = 0;
    ptrdiff_t r = u->read(u->ctx, u->block, BLOCK_SIZE);
    if (r < 0) {
        int e = errno ? errno : EIO;
        cb_fail(u, SNE_ERR_IO, e, "cannot read the archive: %s", strerror(e));
        return -1;
    }
    if (r == 0) {
        u->raw_eof = 1;
        return 0;
    }
    if ((size_t)r > BLOCK_SIZE) {
        cb_fail(u, SNE_ERR_IO, EINVAL, "the read function returned more bytes than asked");
        return -1;
    }
    if (EVP_DigestUpdate(u->md, u->block, (size_t)r) != 1) {
        cb_fail(u, SNE_ERR_NOMEM, 0, "sha256 update failed");
        return -1;
    }
    tail_add(u, u->block, (size_t)r);
    u->raw_size += (uint64_t)r;
    return r;
}

static la_ssize_t gz_read_cb(struct archive *a, void *ud, const void **buf)
{
    sne_unpack *u = ud;
    ptrdiff_t r = raw_pull(u);
    if (r < 0) {
        archive_set_error(a, u->cb_lib ? u->cb_lib : EIO, "%s", u->cb_msg);
        return -1;
    }
    *buf = u->block;
    return (la_ssize_t)r;
}

/* ---- decompressed side ---- */

/* Next decompressed block out of gz: 1 with *p and *n set, 0 at the end of the gzip stream, -1 on
 * error (recorded). */
static int gz_pull(sne_unpack *u, const void **p, size_t *n)
{
    if (u->gz_eof)
        return 0;
    for (;;) {
        la_int64_t off;
        int r = archive_read_data_block(u->gz, p, n, &off);
        if (r == ARCHIVE_EOF) {
            u->gz_eof = 1;
            return 0;
        }
        if (r != ARCHIVE_OK) {
            const char *m = archive_error_string(u->gz);
            cb_fail(u, SNE_ERR_ARCHIVE, archive_errno(u->gz), "%s",
                    m && *m ? m : "truncated or corrupt gzip stream");
            return -1;
        }
        if (*n == 0)
            continue;
        if (*n > u->max_total - u->stream_bytes) {
            char lim[32];
            size_text(lim, sizeof(lim), u->max_total);
            cb_fail(u, SNE_ERR_LIMIT, 0, "more than %s of decompressed data (the limit)", lim);
            return -1;
        }
        u->stream_bytes += *n;
        u->crc = (uint32_t)crc32_z(u->crc, *p, *n);
        return 1;
    }
}

static la_ssize_t tar_read_cb(struct archive *a, void *ud, const void **buf)
{
    sne_unpack *u = ud;
    size_t n = 0;
    int r = gz_pull(u, buf, &n);
    if (r < 0) {
        archive_set_error(a, u->cb_lib ? u->cb_lib : EIO, "%s", u->cb_msg);
        return -1;
    }
    return r == 0 ? 0 : (la_ssize_t)n;
}

/* ---- lifecycle ---- */

/* Allocates a handle reading through `read`; nothing is read yet. */
static sne_err alloc_handle(sne_unpack **out, sne_unpack_read_fn read, void *ctx,
                            const sne_unpack_limits *lim, sne_error *err)
{
    sne_err rc = SNE_OK;
    sne_unpack *u = calloc(1, sizeof(*u));
    if (!u)
        return sne_error_set(err, SNE_ERR_NOMEM, ENOMEM, "archive: out of memory");
    u->read = read;
    u->ctx = ctx;
    u->fd = -1;
    u->max_member = lim && lim->max_member_bytes ? lim->max_member_bytes : DEF_MEMBER;
    u->max_total = lim && lim->max_total_bytes ? lim->max_total_bytes : DEF_TOTAL;
    u->max_members = lim && lim->max_members ? lim->max_members : DEF_MEMBERS;

    u->block = malloc(BLOCK_SIZE);
    u->tail = malloc(TAIL_SIZE);
    u->md = EVP_MD_CTX_new();
    u->gz = archive_read_new();
    u->tar = archive_read_new();
    if (!u->block || !u->tail || !u->md || !u->gz || !u->tar ||
        EVP_DigestInit_ex(u->md, EVP_sha256(), NULL) != 1) {
        rc = sne_error_set(err, SNE_ERR_NOMEM, ENOMEM, "archive: out of memory");
        goto out;
    }
    if (archive_read_support_filter_gzip(u->gz) < ARCHIVE_WARN ||
        archive_read_support_format_raw(u->gz) != ARCHIVE_OK ||
        archive_read_support_format_tar(u->tar) != ARCHIVE_OK) {
        rc = sne_error_set(err, SNE_ERR_ARCHIVE, archive_errno(u->gz),
                           "archive: libarchive lacks gzip or tar support");
        goto out;
    }
    *out = u;
    return SNE_OK;
out:
    sne_unpack_free(u);
    return rc;
}

/* Second half of opening, once read/ctx are final: detects gzip and starts both readers. */
static sne_err start(sne_unpack *u, sne_error *err)
{
    struct archive_entry *e;
    /* Opening chooses the filter and the format, so reads the first bytes of the source. */
    if (archive_read_open(u->gz, u, NULL, gz_read_cb, NULL) != ARCHIVE_OK) {
        if (u->cb_code == SNE_OK && u->raw_eof && u->raw_size == 0)
            fail(u, SNE_ERR_ARCHIVE, ERRNO_FORMAT, NOT_GZIP_TAR " (the input is empty)");
        else
            fail_archive(u, u->gz);
        goto out;
    }
    /* Only the gzip filter is registered, but libarchive falls back to reading the bytes as they
     * are (filter "none"): refuse that, and a gzip inside a gzip. */
    if (archive_filter_count(u->gz) != 2 || archive_filter_code(u->gz, 0) != ARCHIVE_FILTER_GZIP) {
        fail(u, SNE_ERR_ARCHIVE, ERRNO_FORMAT, NOT_GZIP_TAR "%s",
             u->raw_eof && u->raw_size == 0 ? " (the input is empty)" : "");
        goto out;
    }
    if (archive_read_next_header(u->gz, &e) != ARCHIVE_OK) {
        fail_archive(u, u->gz);
        goto out;
    }
    if (archive_read_open(u->tar, u, NULL, tar_read_cb, NULL) != ARCHIVE_OK) {
        if (u->cb_code == SNE_OK)
            fail(u, SNE_ERR_ARCHIVE, archive_errno(u->tar),
                 NOT_GZIP_TAR " (the gzip data is not a tar)");
        else
            fail_archive(u, u->tar);
        goto out;
    }
    return SNE_OK;
out:
    if (err)
        *err = u->err;
    return u->err.code;
}

static sne_err open_common(sne_unpack **out, sne_unpack_read_fn read, void *ctx, int fd,
                           const sne_unpack_limits *lim, sne_error *err)
{
    sne_unpack *u = NULL;
    if (!out)
        return sne_error_set(err, SNE_ERR_USAGE, 0, "sne_unpack_open: no handle");
    *out = NULL;
    sne_err rc = alloc_handle(&u, read ? read : fd_read, ctx, lim, err);
    if (rc != SNE_OK)
        return rc;
    if (!read) { /* ctx points into the handle, so it lives as long as the handle */
        u->fd = fd;
        u->ctx = &u->fd;
    }
    rc = start(u, err);
    if (rc != SNE_OK) {
        sne_unpack_free(u);
        *out = NULL;
        return rc;
    }
    *out = u;
    return SNE_OK;
}

sne_err sne_unpack_open(sne_unpack **out, sne_unpack_read_fn read, void *ctx,
                        const sne_unpack_limits *lim, sne_error *err)
{
    if (!read) {
        if (out)
            *out = NULL;
        return sne_error_set(err, SNE_ERR_USAGE, 0, "sne_unpack_open: no read function");
    }
    return open_common(out, read, ctx, -1, lim, err);
}

sne_err sne_unpack_open_fd(sne_unpack **out, int fd, const sne_unpack_limits *lim, sne_error *err)
{
    if (fd < 0) {
        if (out)
            *out = NULL;
        return sne_error_set(err, SNE_ERR_USAGE, EBADF, "sne_unpack_open_fd: bad descriptor");
    }
    return open_common(out, NULL, NULL, fd, lim, err);
}

void sne_unpack_free(sne_unpack *u)
{
    if (!u)
        return;
    if (u->tar)
        archive_read_free(u->tar);
    if (u->gz)
        archive_read_free(u->gz);
    EVP_MD_CTX_free(u->md);
    free(u->block);
    free(u->tail);
    free(u);
}

/* ---- members ---- */

/* After the tar end: decompress the gzip stream to its end (proves it is not truncated), check
 * its trailer, read the source to EOF and finish the sha256. */
static sne_err finish(sne_unpack *u)
{
    const void *p;
    size_t n;
    int r;
    while ((r = gz_pull(u, &p, &n)) > 0)
        ;
    if (r < 0)
        return fail(u, u->cb_code, u->cb_lib, "after the tar end: %s", u->cb_msg);

    /* Raw bytes the gzip filter consumed: the last gzip member's 8-byte trailer ends there. */
    la_int64_t end = archive_filter_bytes(u->gz, -1);
    if (end >= 18 && (uint64_t)end <= u->raw_size && u->raw_size - (uint64_t)end + 8 <= TAIL_SIZE) {
        uint8_t t[8];
        for (int i = 0; i < 8; i++)
            t[i] = u->tail[((uint64_t)end - 8 + (uint64_t)i) % TAIL_SIZE];
        uint32_t crc =
            (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
        uint32_t isize =
            (uint32_t)t[4] | (uint32_t)t[5] << 8 | (uint32_t)t[6] << 16 | (uint32_t)t[7] << 24;
        /* A length that matches says the gzip has one member (or the trailer would describe the
         * last member only): then its CRC must match too. */
        if (isize == (uint32_t)u->stream_bytes && crc != u->crc)
            return fail(u, SNE_ERR_ARCHIVE, ERRNO_MISC,
                        "CRC error: the gzip checksum does not match the decompressed data");
    }

    ptrdiff_t got;
    while ((got = raw_pull(u)) > 0)
        ;
    if (got < 0)
        return fail(u, u->cb_code, u->cb_lib, "after the tar end: %s", u->cb_msg);
    unsigned len = 0;
    if (EVP_DigestFinal_ex(u->md, u->digest, &len) != 1 || len != 32)
        return fail(u, SNE_ERR_NOMEM, 0, "sha256 final failed");
    u->state = ST_END;
    return SNE_ERR_NOTFOUND;
}

sne_err sne_unpack_next(sne_unpack *u, const char **name)
{
    if (!u || !name)
        return SNE_ERR_USAGE;
    *name = NULL;
    if (u->state == ST_FAILED)
        return u->err.code;
    if (u->state == ST_END)
        return SNE_ERR_NOTFOUND;
    for (;;) {
        struct archive_entry *e = NULL;
        int r = archive_read_next_header(u->tar, &e);
        if (r == ARCHIVE_EOF) {
            if (u->state == ST_MEMBER)
                u->state = ST_START; /* messages now say "after member" */
            return finish(u);
        }
        if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
            if (u->state == ST_MEMBER)
                u->state = ST_START;
            return fail_archive(u, u->tar);
        }
        u->state = ST_START;
        u->entries++;
        if (u->entries > u->max_members)
            return fail(u, SNE_ERR_LIMIT, 0, "more than %u entries (the limit)", u->max_members);
        if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) != NULL)
            continue;
        const char *nm = archive_entry_pathname(e);
        if (!nm)
            nm = archive_entry_pathname_utf8(e);
        if (!nm)
            return fail(u, SNE_ERR_ARCHIVE, ERRNO_FORMAT, "entry %u: a name that cannot be read",
                        u->entries);
        shown(u->shown_name, sizeof(u->shown_name), nm);
        u->have_name = 1;
        u->state = ST_MEMBER;
        u->member_read = 0;
        if (archive_entry_size_is_set(e) && archive_entry_size(e) > 0 &&
            (uint64_t)archive_entry_size(e) > u->max_member) {
            char lim[32];
            size_text(lim, sizeof(lim), u->max_member);
            return fail(u, SNE_ERR_LIMIT, 0, "larger than the %s limit", lim);
        }
        *name = nm;
        return SNE_OK;
    }
}

ptrdiff_t sne_unpack_read(sne_unpack *u, void *buf, size_t n)
{
    if (!u)
        return -1;
    if (u->state == ST_FAILED)
        return -1;
    if (u->state != ST_MEMBER || !buf || n == 0) {
        sne_error_set(&u->err, SNE_ERR_USAGE, 0, "sne_unpack_read: no current member or no buffer");
        return -1;
    }
    if (n > (size_t)PTRDIFF_MAX)
        n = (size_t)PTRDIFF_MAX;
    /* Never decompress more than one byte past the cap: enough to know it is passed. */
    uint64_t room = u->max_member - u->member_read;
    if ((uint64_t)n > room)
        n = (size_t)room + 1;
    la_ssize_t r = archive_read_data(u->tar, buf, n);
    if (r < 0) {
        fail_archive(u, u->tar);
        return -1;
    }
    u->member_read += (uint64_t)r;
    if (u->member_read > u->max_member) {
        char lim[32];
        size_text(lim, sizeof(lim), u->max_member);
        fail(u, SNE_ERR_LIMIT, 0, "larger than the %s limit", lim);
        return -1;
    }
    return (ptrdiff_t)r;
}

uint64_t sne_unpack_raw_bytes(const sne_unpack *u)
{
    return u ? u->raw_size : 0;
}

sne_err sne_unpack_digest(const sne_unpack *u, uint8_t sha256[32], uint64_t *raw_size)
{
    if (!u || u->state != ST_END || !sha256)
        return SNE_ERR_USAGE;
    memcpy(sha256, u->digest, 32);
    if (raw_size)
        *raw_size = u->raw_size;
    return SNE_OK;
}

const sne_error *sne_unpack_error(const sne_unpack *u)
{
    return u ? &u->err : NULL;
}
