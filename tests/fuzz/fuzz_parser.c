/* fuzz_parser.c: the XML parser (parse/parser.h) fed one export document in random-sized chunks.
 *
 * Input: byte 0 seeds the chunk sizes, bytes 1.. are the document. The document is parsed twice
 * with the same parser handle (which also exercises its reuse): once in a single feed, once in
 * chunks of 1..4096 bytes. Invariants checked, beyond "no crash, no leak, no UB":
 *   - chunking changes nothing: both parses succeed or fail together, and when they succeed they
 *     hand out the same header and the same demands and items (compared through a digest);
 *   - every demand's items are sorted by (entity, key) with unique keys, key_len is the key's
 *     length, each canonical form is valid (sne_canon_valid), its hash is XXH3-64 of its bytes,
 *     and it renders to valid JSON;
 *   - the error message is NUL-terminated and sne_parser_demand_count matches the callbacks. */
#include "canon/canon.h"
#include "diff/render.h"
#include "fuzz_common.h"
#include "parse/parser.h"

#include <string.h>
#include <xxhash.h>

typedef struct run {
    XXH3_state_t *digest;
    uint64_t demands;
    bool headers;
    sne_buf json;
} run;

static void mix(run *r, const void *p, size_t n)
{
    XXH3_64bits_update(r->digest, p, n);
}

static sne_err on_header(void *ctx, const sne_export_header *h, sne_error *err)
{
    (void)err;
    run *r = ctx;
    r->headers = true;
    FUZZ_CHECK(memchr(h->numero, 0, sizeof h->numero) != NULL);
    FUZZ_CHECK(memchr(h->date_export, 0, sizeof h->date_export) != NULL);
    FUZZ_CHECK(h->n_locations <= SNE_MAX_LOCATIONS);
    mix(r, h->numero, strlen(h->numero));
    mix(r, h->date_export, strlen(h->date_export));
    mix(r, &h->partie, sizeof h->partie);
    mix(r, &h->nombre_parties, sizeof h->nombre_parties);
    mix(r, &h->entities, sizeof h->entities);
    mix(r, &h->location, sizeof h->location);
    for (size_t i = 0; i < h->n_locations; i++) {
        FUZZ_CHECK(memchr(h->locations[i], 0, sizeof h->locations[i]) != NULL);
        mix(r, h->locations[i], strlen(h->locations[i]));
    }
    return SNE_OK;
}

static sne_err on_demand(void *ctx, sne_record **rec, sne_error *err)
{
    (void)err;
    run *r = ctx;
    const sne_demand *d = &(*rec)->demand;
    r->demands++;
    FUZZ_CHECK(memchr(d->num_unique, 0, sizeof d->num_unique) != NULL);
    FUZZ_CHECK(memchr(d->date_modification, 0, sizeof d->date_modification) != NULL);
    FUZZ_CHECK(d->n_communes <= SNE_MAX_SOUGHT_COMMUNES);
    mix(r, d->num_unique, strlen(d->num_unique));
    mix(r, &d->radiee, sizeof d->radiee);
    mix(r, &d->n_items, sizeof d->n_items);
    for (size_t i = 0; i < d->n_communes; i++)
        mix(r, d->communes[i], strnlen(d->communes[i], SNE_COMMUNE_LEN + 1));
    for (size_t i = 0; i < d->n_items; i++) {
        const sne_item *it = &d->items[i];
        FUZZ_CHECK(it->key != NULL && strlen(it->key) == it->key_len);
        FUZZ_CHECK(it->key_len <= SNE_MAX_KEY_LEN);
        if (i > 0) {
            const sne_item *prev = &d->items[i - 1];
            FUZZ_CHECK(prev->entity < it->entity ||
                       (prev->entity == it->entity && strcmp(prev->key, it->key) < 0));
        }
        FUZZ_CHECK(sne_canon_valid(it->canon, it->canon_len));
        FUZZ_CHECK(XXH3_64bits(it->canon, it->canon_len) == it->hash);
        sne_buf_reset(&r->json);
        FUZZ_CHECK(sne_render_json(it->canon, it->canon_len, &r->json) == SNE_OK);
        FUZZ_CHECK(fuzz_json_valid(r->json.data, r->json.len));
        mix(r, &it->entity, sizeof it->entity);
        mix(r, it->key, it->key_len);
        mix(r, &it->hash, sizeof it->hash);
    }
    return SNE_OK;
}

/* One parse of doc with `p`; chunk sizes from `seed` (0: a single feed). */
static sne_err parse(sne_parser *p, run *r, const uint8_t *doc, size_t n, uint64_t seed)
{
    XXH3_64bits_reset(r->digest);
    r->demands = 0;
    r->headers = false;
    sne_err rc = sne_parser_begin(p, "EXPORT_FUZZ_001.xml");
    size_t off = 0;
    while (rc == SNE_OK && off < n) {
        size_t k = seed ? fuzz_chunk(&seed, n - off) : n - off;
        rc = sne_parser_feed(p, doc + off, k);
        off += k;
    }
    if (rc == SNE_OK)
        rc = sne_parser_end(p);
    const sne_error *e = sne_parser_error(p);
    FUZZ_CHECK(memchr(e->message, 0, sizeof e->message) != NULL);
    FUZZ_CHECK(rc == SNE_OK || e->code == rc);
    FUZZ_CHECK(sne_parser_demand_count(p) >= r->demands);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint64_t seed = data[0] | 0x100; /* never 0: 0 means one feed */
    const uint8_t *doc = data + 1;
    size_t n = size - 1;

    run r1 = {0}, r2 = {0};
    r1.digest = XXH3_createState();
    r2.digest = XXH3_createState();
    sne_buf_init(&r1.json, 64u << 20);
    sne_buf_init(&r2.json, 64u << 20);
    sne_parser_callbacks cb = {on_header, on_demand};
    sne_parser *p = sne_parser_new(NULL, &cb, &r1);
    sne_parser *p2 = sne_parser_new(NULL, &cb, &r2);
    FUZZ_CHECK(p && p2 && r1.digest && r2.digest);

    sne_err a = parse(p, &r1, doc, n, 0);
    sne_err b = parse(p2, &r2, doc, n, seed);
    FUZZ_CHECK((a == SNE_OK) == (b == SNE_OK));
    if (a == SNE_OK) {
        FUZZ_CHECK(r1.headers && r2.headers);
        FUZZ_CHECK(r1.demands == r2.demands);
        FUZZ_CHECK(sne_parser_demand_count(p) == r1.demands);
        FUZZ_CHECK(XXH3_64bits_digest(r1.digest) == XXH3_64bits_digest(r2.digest));
    }
    /* The same handle again, chunked this time: a used parser must start clean. */
    run *keep = &r1;
    sne_err c = parse(p, keep, doc, n, seed ^ 0x5555);
    FUZZ_CHECK((a == SNE_OK) == (c == SNE_OK));
    if (a == SNE_OK)
        FUZZ_CHECK(XXH3_64bits_digest(r1.digest) == XXH3_64bits_digest(r2.digest));

    sne_parser_free(p);
    sne_parser_free(p2);
    sne_buf_free(&r1.json);
    sne_buf_free(&r2.json);
    XXH3_freeState(r1.digest);
    XXH3_freeState(r2.digest);
    return 0;
}
