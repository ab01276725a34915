/* fuzz_render.c: the canonical reader, the JSON renderer and the changed-path list
 * (canon/canon.h, diff/render.h) on arbitrary bytes.
 *
 * Input: bytes 0-1 (little endian) give the length of the `before` item, the rest after it is the
 * `after` item, byte 2's low bits choose an output cap. Invariants, beyond "no crash, no leak, no
 * UB":
 *   - render succeeds only on what sne_canon_valid accepts (render is the stricter reader), and the
 *     token reader (sne_canon_next) agrees with sne_canon_valid;
 *   - what render writes is one valid JSON value (strings valid UTF-8);
 *   - on error the output buffer is back to its length at entry, its prefix intact;
 *   - changed paths: valid JSON; a render-valid item compared with itself gives "[]"; the result
 *     is symmetric (the list is sorted, so the bytes are equal both ways); it fails exactly when
 *     one side does not render. */
#include "canon/canon.h"
#include "diff/render.h"
#include "fuzz_common.h"

#include <string.h>

static const char PREFIX[] = "prefix:";

/* The token reader's verdict: 1 valid, 0 not. */
static bool reader_valid(const uint8_t *p, size_t n)
{
    sne_canon_reader r;
    sne_canon_reader_init(&r, p, n);
    sne_canon_token t;
    int k;
    size_t tokens = 0;
    while ((k = sne_canon_next(&r, &t)) == 1) {
        tokens++;
        if (t.kind == SNE_CANON_OPEN || t.kind == SNE_CANON_ATTR)
            FUZZ_CHECK(t.name != NULL && strlen(t.name) == t.name_len);
        if (t.kind == SNE_CANON_ATTR || t.kind == SNE_CANON_TEXT)
            FUZZ_CHECK(t.value != NULL && strlen(t.value) == t.value_len);
        FUZZ_CHECK(tokens <= n);
    }
    return k == 0 && tokens > 0;
}

/* Renders `p` into a buffer that already holds PREFIX; checks the error contract. */
static sne_err render(const uint8_t *p, size_t n, size_t cap, sne_buf *out)
{
    sne_buf_init(out, cap);
    FUZZ_CHECK(sne_buf_append_str(out, PREFIX) == SNE_OK);
    sne_err rc = sne_render_json(p, n, out);
    if (rc != SNE_OK) {
        FUZZ_CHECK(rc == SNE_ERR_CORRUPT || rc == SNE_ERR_LIMIT || rc == SNE_ERR_NOMEM);
        FUZZ_CHECK(out->len == sizeof PREFIX - 1);
        FUZZ_CHECK(memcmp(out->data, PREFIX, out->len) == 0);
    } else {
        FUZZ_CHECK(out->len <= cap);
        FUZZ_CHECK(memcmp(out->data, PREFIX, sizeof PREFIX - 1) == 0);
        FUZZ_CHECK(fuzz_json_valid(out->data + sizeof PREFIX - 1, out->len - sizeof PREFIX + 1));
    }
    return rc;
}

static sne_err changed(const uint8_t *a, size_t an, const uint8_t *b, size_t bn, size_t cap,
                       sne_buf *out)
{
    sne_buf_init(out, cap);
    FUZZ_CHECK(sne_buf_append_str(out, PREFIX) == SNE_OK);
    sne_err rc = sne_render_changed_paths(a, an, b, bn, out);
    if (rc != SNE_OK) {
        FUZZ_CHECK(rc == SNE_ERR_CORRUPT || rc == SNE_ERR_LIMIT || rc == SNE_ERR_NOMEM);
        FUZZ_CHECK(out->len == sizeof PREFIX - 1);
    } else {
        FUZZ_CHECK(fuzz_json_valid(out->data + sizeof PREFIX - 1, out->len - sizeof PREFIX + 1));
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    size_t blen = (size_t)data[0] | (size_t)data[1] << 8;
    const uint8_t *rest = data + 3;
    size_t n = size - 3;
    if (blen > n)
        blen = n;
    const uint8_t *before = rest, *after = rest + blen;
    size_t alen = n - blen;
    /* Mostly a roomy cap; sometimes a tight one to drive the LIMIT paths. */
    size_t cap = (data[2] & 3) == 0 ? sizeof PREFIX - 1 + (data[2] >> 2) * 4 : (size_t)64 << 20;

    const uint8_t *items[2] = {before, after};
    size_t lens[2] = {blen, alen};
    sne_err rendered[2];
    for (int i = 0; i < 2; i++) {
        bool valid = sne_canon_valid(items[i], lens[i]);
        FUZZ_CHECK(valid == reader_valid(items[i], lens[i]));
        sne_buf out;
        rendered[i] = render(items[i], lens[i], (size_t)64 << 20, &out);
        if (rendered[i] == SNE_OK)
            FUZZ_CHECK(valid);
        sne_buf_free(&out);
        /* With the (possibly tight) cap: same verdict unless the cap was hit. */
        sne_err rc = render(items[i], lens[i], cap, &out);
        FUZZ_CHECK(rc == rendered[i] || rc == SNE_ERR_LIMIT);
        sne_buf_free(&out);
    }

    sne_buf ab, ba, aa;
    sne_err r_ab = changed(before, blen, after, alen, (size_t)64 << 20, &ab);
    sne_err r_ba = changed(after, alen, before, blen, (size_t)64 << 20, &ba);
    FUZZ_CHECK((r_ab == SNE_OK) == (rendered[0] == SNE_OK && rendered[1] == SNE_OK));
    FUZZ_CHECK(r_ab == r_ba);
    if (r_ab == SNE_OK) {
        FUZZ_CHECK(ab.len == ba.len && memcmp(ab.data, ba.data, ab.len) == 0);
        bool same = blen == alen && memcmp(before, after, blen) == 0;
        if (same)
            FUZZ_CHECK(ab.len == sizeof PREFIX + 1 &&
                       memcmp(ab.data + sizeof PREFIX - 1, "[]", 2) == 0);
    }
    if (rendered[0] == SNE_OK) {
        FUZZ_CHECK(changed(before, blen, before, blen, (size_t)64 << 20, &aa) == SNE_OK);
        FUZZ_CHECK(aa.len == sizeof PREFIX + 1 &&
                   memcmp(aa.data + sizeof PREFIX - 1, "[]", 2) == 0);
        sne_buf_free(&aa);
    }
    sne_buf_free(&ab);
    sne_buf_free(&ba);
    /* A tight cap on the changed paths: either the same answer or LIMIT. */
    sne_buf t;
    sne_err r_t = changed(before, blen, after, alen, cap, &t);
    FUZZ_CHECK(r_t == r_ab || r_t == SNE_ERR_LIMIT);
    sne_buf_free(&t);
    return 0;
}
