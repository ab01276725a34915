#include "record.h"

#include <stdlib.h>
#include <string.h>

#define FIRST_ITEMS 64 /* item slots of a record's first allocation */

sne_record *sne_record_new(void)
{
    sne_record *r = calloc(1, sizeof(*r));
    if (r)
        sne_buf_init(&r->bytes, 0);
    return r;
}

void sne_record_free(sne_record *r)
{
    if (!r)
        return;
    sne_buf_free(&r->bytes);
    free(r->items);
    free(r->offsets);
    free(r);
}

void sne_record_clear(sne_record *r)
{
    r->demand.n_items = 0; /* the rest waits for begin, which writes it anyway */
    r->demand.items = NULL;
    if (r->bytes.alloc > SNE_RECORD_KEEP_BYTES)
        sne_buf_free(&r->bytes);
    if (r->items_alloc > SNE_RECORD_KEEP_ITEMS) {
        free(r->items);
        free(r->offsets);
        r->items = NULL;
        r->offsets = NULL;
        r->items_alloc = 0;
    }
}

void sne_record_begin(sne_record *r, const char *member, size_t max_bytes)
{
    sne_record_clear(r);
    memset(&r->demand, 0, sizeof(r->demand));
    sne_buf_reset(&r->bytes);
    r->bytes.cap = max_bytes;
    size_t n = strnlen(member, SNE_RECORD_MEMBER_MAX);
    memcpy(r->member, member, n);
    r->member[n] = '\0';
}

/* Room for one more item in both arrays. */
static sne_err reserve_item(sne_record *r)
{
    size_t n = r->demand.n_items;
    if (n < r->items_alloc)
        return SNE_OK;
    size_t grown = r->items_alloc ? 2 * r->items_alloc : FIRST_ITEMS;
    sne_item *items = realloc(r->items, grown * sizeof(*items));
    if (items)
        r->items = items;
    size_t *offsets = items ? realloc(r->offsets, grown * sizeof(*offsets)) : NULL;
    if (!offsets)
        return SNE_ERR_NOMEM; /* items may have grown: harmless, items_alloc still holds */
    r->offsets = offsets;
    r->items_alloc = grown;
    return SNE_OK;
}

sne_err sne_record_add_item(sne_record *r, sne_entity e, const char *key, size_t key_len,
                            const uint8_t *canon, size_t canon_len, uint64_t hash)
{
    sne_buf *b = &r->bytes;
    size_t start = b->len;
    sne_err rc = reserve_item(r);
    if (!rc)
        rc = sne_buf_append(b, key, key_len);
    if (!rc)
        rc = sne_buf_append_byte(b, '\0');
    if (!rc)
        rc = sne_buf_append(b, canon, canon_len);
    if (rc) {
        sne_buf_truncate(b, start);
        return rc;
    }
    size_t i = r->demand.n_items++;
    r->offsets[i] = start;
    r->items[i] = (sne_item){.entity = e, .key_len = key_len, .canon_len = canon_len, .hash = hash};
    return SNE_OK;
}

bool sne_record_add_commune(sne_record *r, const char *code)
{
    if (r->demand.n_communes == SNE_MAX_SOUGHT_COMMUNES)
        return false;
    char *dst = r->communes[r->demand.n_communes++];
    memcpy(dst, code, SNE_COMMUNE_LEN);
    dst[SNE_COMMUNE_LEN] = '\0';
    return true;
}

static int item_compare(const void *a, const void *b)
{
    const sne_item *x = a;
    const sne_item *y = b;
    if (x->entity != y->entity)
        return x->entity < y->entity ? -1 : 1;
    size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);
    if (c)
        return c;
    return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

size_t sne_record_seal(sne_record *r)
{
    sne_demand *d = &r->demand;
    for (size_t i = 0; i < d->n_items; i++) {
        sne_item *it = &r->items[i];
        it->key = (const char *)r->bytes.data + r->offsets[i];
        it->canon = (const uint8_t *)it->key + it->key_len + 1;
    }
    if (d->n_items > 1)
        qsort(r->items, d->n_items, sizeof(*r->items), item_compare);
    d->items = r->items;
    d->communes = (const char(*)[SNE_COMMUNE_LEN + 1]) r->communes;
    for (size_t i = 1; i < d->n_items; i++)
        if (item_compare(&r->items[i - 1], &r->items[i]) == 0)
            return i;
    return 0;
}
