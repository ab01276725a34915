/* fuzz_unpack.c: the archive reader (unpack/unpack.h) over an in-memory source.
 *
 * Input: the raw archive bytes. The source returns short reads whose sizes derive from the input
 * (so a crash replays from the file alone), and the members are read in buffers of varying size.
 * Limits are set small (1 MiB a member, 4 MiB in all, 64 entries) so that bombs stop quickly; the
 * limits themselves are part of what is tested. Invariants, beyond "no crash, no leak, no UB":
 *   - a member never yields more than max_member_bytes (+1, the documented overshoot);
 *   - errors are sticky: after a failure, next and read fail again with the same code;
 *   - at the clean end (SNE_ERR_NOTFOUND) the digest covers exactly the input: its size and its
 *     sha256 equal the input's, and the source was read to its EOF exactly once;
 *   - error messages are NUL-terminated and the handle's error code is the one returned. */
#include "fuzz_common.h"
#include "unpack/unpack.h"

#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

typedef struct src {
    const uint8_t *p;
    size_t len, pos;
    uint64_t seed;
    bool ended;
} src;

static ptrdiff_t src_read(void *ctx, void *buf, size_t n)
{
    src *s = ctx;
    FUZZ_CHECK(!s->ended); /* never called again once it returned 0 */
    size_t left = s->len - s->pos;
    if (left == 0) {
        s->ended = true;
        return 0;
    }
    size_t k = fuzz_chunk(&s->seed, n < left ? n : left);
    memcpy(buf, s->p + s->pos, k);
    s->pos += k;
    return (ptrdiff_t)k;
}

/* Reads the archive to its end; returns the final code, fills sha/size on a clean end. */
static sne_err drain(const uint8_t *data, size_t size, uint64_t seed, uint8_t sha[32],
                     uint64_t *raw)
{
    static uint8_t buf[70000];
    src s = {data, size, 0, seed, false};
    sne_unpack_limits lim = {1u << 20, 4u << 20, 64};
    sne_unpack *u = NULL;
    sne_error err;
    sne_err rc = sne_unpack_open(&u, src_read, &s, &lim, &err);
    if (rc != SNE_OK) {
        FUZZ_CHECK(u == NULL);
        FUZZ_CHECK(memchr(err.message, 0, sizeof err.message) != NULL);
        return rc;
    }
    const char *name;
    uint64_t rs = seed ^ 0xABCDEF;
    while ((rc = sne_unpack_next(u, &name)) == SNE_OK) {
        FUZZ_CHECK(name != NULL);
        (void)strlen(name);
        uint64_t got = 0;
        ptrdiff_t n;
        /* Sometimes leave a member half read: next must skip the rest. */
        bool partial = (fuzz_rand(&rs) & 3) == 0;
        while ((n = sne_unpack_read(u, buf, fuzz_chunk(&rs, sizeof buf))) > 0) {
            got += (uint64_t)n;
            FUZZ_CHECK(got <= lim.max_member_bytes + 1);
            if (partial)
                break;
        }
        if (n < 0) {
            rc = sne_unpack_error(u)->code;
            FUZZ_CHECK(rc != SNE_OK);
            break;
        }
    }
    if (rc == SNE_ERR_NOTFOUND) {
        FUZZ_CHECK(sne_unpack_digest(u, sha, raw) == SNE_OK);
        FUZZ_CHECK(sne_unpack_next(u, &name) == SNE_ERR_NOTFOUND);
    } else {
        const sne_error *e = sne_unpack_error(u);
        FUZZ_CHECK(e->code == rc);
        FUZZ_CHECK(memchr(e->message, 0, sizeof e->message) != NULL);
        /* Sticky. */
        FUZZ_CHECK(sne_unpack_next(u, &name) == rc);
        FUZZ_CHECK(sne_unpack_read(u, buf, 16) == -1);
        FUZZ_CHECK(sne_unpack_digest(u, sha, raw) == SNE_ERR_USAGE);
    }
    sne_unpack_free(u);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint64_t seed = size;
    for (size_t i = 0; i < size && i < 16; i++)
        seed = seed * 131 + data[i];
    uint8_t sha[32], want[32];
    uint64_t raw = 0;
    sne_err rc = drain(data, size, seed, sha, &raw);
    if (rc == SNE_ERR_NOTFOUND) {
        unsigned len = 0;
        FUZZ_CHECK(EVP_Digest(data, size, want, &len, EVP_sha256(), NULL) == 1);
        FUZZ_CHECK(raw == size);
        FUZZ_CHECK(memcmp(sha, want, 32) == 0);
    }
    return 0;
}
