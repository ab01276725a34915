/* apply.c: turning a parsed demand into item writes and change records, and sweeping the demands
 * an export proved absent. An unchanged item costs a header comparison and nothing else: bodies
 * are read only for items whose hash differs (the `before` of an update or delete). */
#include "store_internal.h"

#include <stdlib.h>
#include <string.h>

#define SWEEP_BATCH 512      /* absent demands deleted per transaction */
#define SWEEP_SCAN 50000     /* headers examined per transaction at most */

static int ref_compare(sne_entity ea, const char *ka, size_t la, sne_entity eb, const char *kb,
                       size_t lb)
{
    if (ea != eb)
        return ea < eb ? -1 : 1;
    size_t n = la < lb ? la : lb;
    int c = memcmp(ka, kb, n);
    return c ? c : (la > lb) - (la < lb);
}

static sne_err append_change(sne_store *s, sne_op op, const char *num, sne_entity e,
                             const char *key, size_t key_len, const sne_buf *before,
                             const sne_buf *after)
{
    const sne_run *r = &s->run;
    sne_change_record c = {
        .op = op,
        .entity = e,
        .key = key,
        .key_len = key_len,
        .numero = r->numero,
        .numero_len = strlen(r->numero),
        .date_export = r->date_export,
        .date_len = strlen(r->date_export),
        .before = before ? before->data : NULL,
        .before_len = before ? before->len : 0,
        .after = after ? after->data : NULL,
        .after_len = after ? after->len : 0,
    };
    memcpy(c.num_unique, num, SNE_NUM_UNIQUE_LEN);
    sne_buf_reset(&s->change);
    sne_err rc = sne_change_encode(&c, &s->change);
    if (rc)
        return sne_error_set(&s->err, rc, 0, "change record too large");
    uint8_t seq[8];
    sne_put_u64be(seq, ++s->seq);
    MDB_val k = {8, seq}, v = {s->change.len, s->change.data};
    int mrc = mdb_put(s->txn, s->db_change, &k, &v, MDB_APPEND);
    return mrc ? store_fail(s, mrc, "cannot append to the change log") : SNE_OK;
}

/* Copies the stored body of an item into s->old_body. */
static sne_err read_old_body(sne_store *s, const MDB_val *k)
{
    MDB_val v;
    int mrc = mdb_get(s->txn, s->db_item, (MDB_val *)k, &v);
    if (mrc == MDB_NOTFOUND)
        return sne_error_set(&s->err, SNE_ERR_CORRUPT, 0,
                             "store %s: an item listed in a header is missing", s->dir);
    if (mrc)
        return store_fail(s, mrc, "cannot read an item");
    sne_buf_reset(&s->old_body);
    sne_err rc = sne_buf_append(&s->old_body, v.mv_data, v.mv_size);
    return rc ? sne_error_set(&s->err, rc, 0, "stored item too large") : SNE_OK;
}

static sne_err write_item(sne_store *s, sne_op op, const char *num, const sne_item *it)
{
    uint8_t key[SNE_NUM_UNIQUE_LEN + 1 + 255];
    MDB_val k = {store_item_key(key, num, it->entity, it->key, it->key_len), key};
    sne_err rc = op == SNE_OP_UPDATE ? read_old_body(s, &k) : SNE_OK;
    if (rc)
        return rc;
    if ((rc = sne_body_encode(&s->codec, it->canon, it->canon_len, &s->body)))
        return sne_error_set(&s->err, rc, 0, "cannot encode an item");
    MDB_val v = {s->body.len, s->body.data};
    int mrc = mdb_put(s->txn, s->db_item, &k, &v, 0);
    if (mrc)
        return store_fail(s, mrc, "cannot write an item");
    if (op == SNE_OP_CREATE)
        s->counts[it->entity]++;
    return append_change(s, op, num, it->entity, it->key, it->key_len,
                         op == SNE_OP_UPDATE ? &s->old_body : NULL, &s->body);
}

static sne_err delete_item(sne_store *s, const char *num, const sne_item_ref *ref)
{
    uint8_t key[SNE_NUM_UNIQUE_LEN + 1 + 255];
    MDB_val k = {store_item_key(key, num, ref->entity, ref->key, ref->key_len), key};
    sne_err rc = read_old_body(s, &k);
    if (rc)
        return rc;
    int mrc = mdb_del(s->txn, s->db_item, &k, NULL);
    if (mrc)
        return store_fail(s, mrc, "cannot delete an item");
    if (s->counts[ref->entity])
        s->counts[ref->entity]--;
    return append_change(s, SNE_OP_DELETE, num, ref->entity, ref->key, ref->key_len,
                         &s->old_body, NULL);
}

static sne_err reserve_merged(sne_store *s, size_t n)
{
    if (n <= s->merged_alloc)
        return SNE_OK;
    sne_item_ref *m = realloc(s->merged, n * sizeof(*m));
    if (!m)
        return sne_error_set(&s->err, SNE_ERR_NOMEM, 0, "out of memory");
    s->merged = m;
    s->merged_alloc = n;
    return SNE_OK;
}

/* Writes `h` as the demand's header unless it encodes to the bytes already stored. */
static sne_err put_header(sne_store *s, const char *num, const sne_header *h, bool had_old)
{
    sne_buf_reset(&s->new_header);
    sne_err rc = sne_header_encode(h, &s->new_header);
    if (rc)
        return sne_error_set(&s->err, rc, 0, "demand %s: header too large", num);
    if (had_old && s->new_header.len == s->old_header.len &&
        memcmp(s->new_header.data, s->old_header.data, s->old_header.len) == 0)
        return SNE_OK;
    MDB_val k = {SNE_NUM_UNIQUE_LEN, (void *)num}, v = {s->new_header.len, s->new_header.data};
    int mrc = mdb_put(s->txn, s->db_demand, &k, &v, 0);
    return mrc ? store_fail(s, mrc, "cannot write a demand header") : SNE_OK;
}

/* Loads the stored header of `num` into s->old_header (a copy: LMDB's pointer would not survive
 * the writes that follow) and decodes it. *found is false for an unknown demand. */
static sne_err load_old_header(sne_store *s, const char *num, sne_header *old, bool *found)
{
    MDB_val k = {SNE_NUM_UNIQUE_LEN, (void *)num}, v;
    memset(old, 0, sizeof(*old));
    sne_buf_reset(&s->old_header);
    int mrc = mdb_get(s->txn, s->db_demand, &k, &v);
    *found = mrc == 0;
    if (mrc == MDB_NOTFOUND)
        return SNE_OK;
    if (mrc)
        return store_fail(s, mrc, "cannot read a demand header");
    sne_err rc = sne_buf_append(&s->old_header, v.mv_data, v.mv_size);
    if (!rc)
        rc = sne_header_decode(s->old_header.data, s->old_header.len, &s->old_scratch, old);
    if (rc)
        return sne_error_set(&s->err, rc, 0, "store %s: demand %s has a damaged header", s->dir,
                             num);
    return SNE_OK;
}

static sne_err mark_seen(sne_store *s, const char *num)
{
    MDB_val k = {SNE_NUM_UNIQUE_LEN, (void *)num}, v;
    int mrc = mdb_get(s->txn, s->db_seen, &k, &v);
    if (mrc == 0 && v.mv_size == 8 && sne_get_u64le(v.mv_data) == s->run.attempt)
        return sne_error_set(&s->err, SNE_ERR_INVALID, 0, "demand appears twice in the export");
    uint8_t attempt[8];
    sne_put_u64le(attempt, s->run.attempt);
    v = (MDB_val){8, attempt};
    mrc = mdb_put(s->txn, s->db_seen, &k, &v, 0);
    return mrc ? store_fail(s, mrc, "cannot record a seen demand") : SNE_OK;
}

sne_err sne_store_apply(sne_store *s, const sne_demand *d, sne_apply_stats *st)
{
    const char *num = d->num_unique;
    sne_err rc = store_begin_batch(s);
    if (!rc)
        rc = mark_seen(s, num);
    sne_header old;
    bool found;
    if (!rc)
        rc = load_old_header(s, num, &old, &found);
    if (!rc)
        rc = reserve_merged(s, old.n_items + d->n_items);
    if (rc)
        return rc;

    /* Merge the stored items with the arrived ones, both sorted by (entity, key). */
    size_t i = 0, j = 0, n = 0;
    sne_entity_set requested = s->run.entities;
    while (!rc && (i < old.n_items || j < d->n_items)) {
        const sne_item_ref *o = i < old.n_items ? &old.items[i] : NULL;
        const sne_item *a = j < d->n_items ? &d->items[j] : NULL;
        if (a && !(requested & (1u << a->entity))) {
            j++; /* the export did not ask for this entity: it says nothing about it */
            continue;
        }
        int c = !o ? 1 : !a ? -1 : ref_compare(o->entity, o->key, o->key_len, a->entity, a->key,
                                              a->key_len);
        if (c < 0) { /* stored only */
            if (requested & (1u << o->entity)) {
                rc = delete_item(s, num, o);
                st->deletes++;
            } else {
                s->merged[n++] = *o;
            }
            i++;
            continue;
        }
        if (c > 0) { /* arrived only */
            rc = write_item(s, SNE_OP_CREATE, num, a);
            st->creates++;
        } else if (o->hash != a->hash) {
            rc = write_item(s, SNE_OP_UPDATE, num, a);
            st->updates++;
            i++;
        } else {
            st->items_unchanged++;
            i++;
        }
        s->merged[n++] = (sne_item_ref){a->entity, a->key, a->key_len, a->hash};
        j++;
    }
    if (rc)
        return rc;

    char communes[SNE_MAX_SOUGHT_COMMUNES * SNE_COMMUNE_LEN];
    sne_header h = {.radiee = d->radiee,
                    .date_modification = d->date_modification,
                    .date_len = strlen(d->date_modification),
                    .n_communes = old.n_communes,
                    .communes = old.communes,
                    .n_items = n,
                    .items = s->merged};
    if (d->has_cerfa) {
        for (size_t c = 0; c < d->n_communes; c++)
            memcpy(communes + c * SNE_COMMUNE_LEN, d->communes[c], SNE_COMMUNE_LEN);
        h.n_communes = d->n_communes;
        h.communes = communes;
    }
    st->demands++;
    return put_header(s, num, &h, found);
}

/* Deletes the requested entities of one absent demand, found by the sweep. */
static sne_err sweep_demand(sne_store *s, const char *num, sne_apply_stats *st)
{
    sne_header old;
    bool found;
    sne_err rc = load_old_header(s, num, &old, &found);
    if (rc || !found)
        return rc;
    if ((rc = reserve_merged(s, old.n_items)))
        return rc;
    size_t kept = 0, deleted = 0;
    for (size_t i = 0; !rc && i < old.n_items; i++) {
        if (s->run.entities & (1u << old.items[i].entity)) {
            rc = delete_item(s, num, &old.items[i]);
            deleted++;
        } else {
            s->merged[kept++] = old.items[i];
        }
    }
    if (rc)
        return rc;
    st->deletes += deleted;
    st->demands_swept++;
    if (kept == 0) {
        MDB_val k = {SNE_NUM_UNIQUE_LEN, (void *)num};
        int mrc = mdb_del(s->txn, s->db_demand, &k, NULL);
        return mrc ? store_fail(s, mrc, "cannot delete a demand header") : SNE_OK;
    }
    old.n_items = kept;
    old.items = s->merged;
    return put_header(s, num, &old, true);
}

/* Scans headers after `from` (all when from_len is 0) and collects absent, in-scope demands.
 * Sets *done when the scan reached the end. `from` is updated to the last key examined. */
static sne_err collect_absent(sne_store *s, char from[SNE_NUM_UNIQUE_LEN], bool *started,
                              char (*victims)[SNE_NUM_UNIQUE_LEN], size_t *n_victims, bool *done)
{
    MDB_cursor *c;
    MDB_val k = {SNE_NUM_UNIQUE_LEN, from}, v;
    int mrc = mdb_cursor_open(s->txn, s->db_demand, &c);
    if (mrc)
        return store_fail(s, mrc, "cannot scan demands");
    if (!*started) {
        mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
        *started = true;
    } else {
        mrc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        if (mrc == 0 && k.mv_size == SNE_NUM_UNIQUE_LEN && memcmp(k.mv_data, from, k.mv_size) == 0)
            mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
    }
    sne_err rc = SNE_OK;
    size_t scanned = 0;
    *n_victims = 0;
    for (; mrc == 0 && *n_victims < SWEEP_BATCH && scanned < SWEEP_SCAN;
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT), scanned++) {
        if (k.mv_size != SNE_NUM_UNIQUE_LEN)
            continue;
        memcpy(from, k.mv_data, SNE_NUM_UNIQUE_LEN);
        MDB_val seen;
        if (mdb_get(s->txn, s->db_seen, &k, &seen) == 0)
            continue;
        sne_header h;
        if ((rc = sne_header_decode(v.mv_data, v.mv_size, &s->old_scratch, &h))) {
            sne_error_set(&s->err, rc, 0, "store %s: a demand header is damaged", s->dir);
            break;
        }
        if (store_in_run_scope(s, &h))
            memcpy(victims[(*n_victims)++], k.mv_data, SNE_NUM_UNIQUE_LEN);
    }
    mdb_cursor_close(c);
    if (!rc && mrc && mrc != MDB_NOTFOUND)
        rc = store_fail(s, mrc, "cannot scan demands");
    *done = mrc == MDB_NOTFOUND;
    return rc;
}

sne_err sne_store_sweep(sne_store *s, sne_apply_stats *st)
{
    char from[SNE_NUM_UNIQUE_LEN] = {0};
    char(*victims)[SNE_NUM_UNIQUE_LEN] = malloc(SWEEP_BATCH * sizeof(*victims));
    if (!victims)
        return sne_error_set(&s->err, SNE_ERR_NOMEM, 0, "out of memory");
    bool started = false, done = false;
    sne_err rc = SNE_OK;
    while (!rc && !done) {
        size_t n = 0;
        rc = store_begin_batch(s);
        if (!rc)
            rc = collect_absent(s, from, &started, victims, &n, &done);
        for (size_t i = 0; !rc && i < n; i++) {
            char num[SNE_NUM_UNIQUE_LEN + 1];
            memcpy(num, victims[i], SNE_NUM_UNIQUE_LEN);
            num[SNE_NUM_UNIQUE_LEN] = '\0';
            rc = sweep_demand(s, num, st);
        }
        if (!rc)
            rc = sne_store_commit(s);
    }
    free(victims);
    return rc;
}
