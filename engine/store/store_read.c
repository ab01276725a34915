/* store_read.c: reading demands (store.h): a demand's items, decoded from its bodies; or demand
 * headers (state, date of last modification, item references) without their items, for consumers
 * that mirror the store elsewhere (the PostgreSQL sink): one lookup, or every demand in numUnique
 * order; and a demand's state as the public API gives it (snesync.h). Inside a pinned read
 * (sne_store_read_begin) they see the same snapshot as the change log read with them. */
#include "store_internal.h"

#include <stdlib.h>
#include <string.h>

/* Decodes the header `v` of the demand keyed `k` and hands it to fn. */
static sne_err deliver(sne_store *s, const MDB_val *k, const MDB_val *v,
                       sne_header_scratch *scratch, sne_header_fn fn, void *ctx)
{
    char num[SNE_NUM_UNIQUE_LEN + 1];
    sne_header h;
    if (k->mv_size != SNE_NUM_UNIQUE_LEN)
        return sne_error_set(&s->err, SNE_ERR_CORRUPT, 0, "store %s: a demand key is damaged",
                             s->dir);
    memcpy(num, k->mv_data, SNE_NUM_UNIQUE_LEN);
    num[SNE_NUM_UNIQUE_LEN] = '\0';
    sne_err rc = sne_header_decode(v->mv_data, v->mv_size, scratch, &h);
    if (rc)
        return sne_error_set(&s->err, rc, 0, "store %s: demand %s has a damaged header", s->dir,
                             num);
    return fn(ctx, num, &h);
}

sne_err sne_store_demand_header(sne_store *s, const char *num, sne_header_fn fn, void *ctx)
{
    if (strlen(num) != SNE_NUM_UNIQUE_LEN)
        return fn(ctx, num, NULL);
    MDB_txn *txn;
    sne_err rc = store_begin_read(s, &txn);
    if (rc)
        return rc;
    sne_header_scratch scratch = {0};
    MDB_val k = {SNE_NUM_UNIQUE_LEN, (void *)num}, v;
    int mrc = mdb_get(txn, s->db_demand, &k, &v);
    if (mrc == MDB_NOTFOUND)
        rc = fn(ctx, num, NULL);
    else if (mrc)
        rc = store_fail(s, mrc, "cannot read a demand header");
    else
        rc = deliver(s, &k, &v, &scratch, fn, ctx);
    sne_header_scratch_free(&scratch);
    store_end_read(s, txn);
    return rc;
}

typedef struct header_scan {
    sne_store *s;
    sne_header_scratch scratch;
    sne_header_fn fn;
    void *ctx;
} header_scan;

static sne_err scan_header(void *ctx, const MDB_val *k, const MDB_val *v)
{
    header_scan *hs = ctx;
    if (k->mv_size != SNE_NUM_UNIQUE_LEN)
        return SNE_OK; /* a body */
    return deliver(hs->s, k, v, &hs->scratch, hs->fn, hs->ctx);
}

sne_err sne_store_demand_headers(sne_store *s, sne_header_fn fn, void *ctx)
{
    header_scan hs = {s, {0}, fn, ctx};
    sne_err rc = store_scan(s, s->db_demand, "cannot scan demands", scan_header, &hs);
    sne_header_scratch_free(&hs.scratch);
    return rc;
}

/* Calls fn for each item of body `part` of the demand whose header is `h`. */
static sne_err read_body(sne_store *s, MDB_txn *txn, const char *num, const sne_header *h,
                         body_part part, sne_item_fn fn, void *ctx)
{
    size_t first, end;
    body_part_range(h->items, h->n_items, part, &first, &end);
    if (first == end)
        return SNE_OK;
    char kb[SNE_NUM_UNIQUE_LEN + 1];
    MDB_val k = store_body_key(num, part, kb), bv;
    const uint8_t **items = NULL;
    size_t *lens = NULL;
    sne_err rc = SNE_OK;
    int mrc = mdb_get(txn, s->db_demand, &k, &bv);
    if (mrc == MDB_NOTFOUND && s->has_old_bodies) { /* not yet moved (store_migrate.c) */
        MDB_val old = {SNE_NUM_UNIQUE_LEN, (void *)num};
        mrc = mdb_get(txn, s->db_old_body[part], &old, &bv);
    }
    if (mrc == MDB_NOTFOUND)
        rc = sne_error_set(&s->err, SNE_ERR_CORRUPT, 0, "demand %s: its items are missing", num);
    else if (mrc)
        rc = store_fail(s, mrc, "cannot read a demand's items");
    else if (!(items = malloc((end - first) * sizeof(*items))) ||
             !(lens = malloc((end - first) * sizeof(*lens))))
        rc = sne_error_set(&s->err, SNE_ERR_NOMEM, 0, "out of memory");
    else if ((rc = sne_frame_decode(&s->codec, bv.mv_data, bv.mv_size, &s->decoded)) ||
             (rc = sne_body_split(s->decoded.data, s->decoded.len, end - first, items, lens)))
        sne_error_set(&s->err, rc, 0, "demand %s: its items do not decode", num);
    for (size_t i = first; !rc && i < end; i++) {
        const sne_item_ref *ref = &h->items[i];
        sne_stored_item it = {ref->entity, ref->key, ref->key_len, items[i - first],
                              lens[i - first]};
        rc = fn(ctx, &it);
    }
    free(items);
    free(lens);
    return rc;
}

sne_err sne_store_read_demand(sne_store *s, const char *num, sne_item_fn fn, void *ctx)
{
    if (strlen(num) != SNE_NUM_UNIQUE_LEN)
        return sne_error_set(&s->err, SNE_ERR_NOTFOUND, 0, "not a demand number");
    MDB_txn *txn;
    sne_err rc = store_begin_read(s, &txn);
    if (rc)
        return rc;
    MDB_val k = {SNE_NUM_UNIQUE_LEN, (void *)num}, v;
    sne_header h = {0};
    int mrc = mdb_get(txn, s->db_demand, &k, &v);
    if (mrc == MDB_NOTFOUND)
        rc = sne_error_set(&s->err, SNE_ERR_NOTFOUND, 0, "demand %s is not in the store", num);
    else if (mrc)
        rc = store_fail(s, mrc, "cannot read a demand");
    else if ((rc = sne_header_decode(v.mv_data, v.mv_size, &s->old_scratch, &h)))
        sne_error_set(&s->err, rc, 0, "store %s: demand %s has a damaged header", s->dir, num);
    for (int part = 0; !rc && part < BODY_PARTS; part++)
        rc = read_body(s, txn, num, &h, (body_part)part, fn, ctx);
    store_end_read(s, txn);
    return rc;
}

/* Copies what a program may know of a header (not its item references) into the caller's
 * sne_demand_state. A date longer than any the parser lets through is damage. */
static sne_err copy_state(void *ctx, const char *num, const sne_header *h)
{
    (void)num;
    sne_demand_state *out = ctx;
    if (!h)
        return SNE_ERR_NOTFOUND;
    if (h->date_len > SNE_DATE_MAX)
        return SNE_ERR_CORRUPT;
    out->radiee = h->radiee;
    memcpy(out->date_modification, h->date_modification, h->date_len);
    out->date_modification[h->date_len] = '\0';
    out->n_items = h->n_items;
    return SNE_OK;
}

sne_err sne_store_demand_state(sne_store *s, const char *num, sne_demand_state *out)
{
    sne_err rc = sne_store_demand_header(s, num, copy_state, out);
    if (rc == SNE_ERR_NOTFOUND)
        sne_error_set(&s->err, rc, 0, "demand %s is not in the store", num);
    else if (rc == SNE_ERR_CORRUPT) /* copy_state's, or the decoder's: the same damage */
        sne_error_set(&s->err, rc, 0, "store %s: demand %s has a damaged header", s->dir, num);
    return rc;
}
