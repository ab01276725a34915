/* store_log.c: the change log (store.h): its extent, the changes since a consumer's cursor, and
 * the pruning of the changes every consumer has applied. */
#include "store_internal.h"

#define PRUNE_BATCH 10000 /* change groups deleted per transaction */

static sne_err damaged_log(sne_store *s)
{
    return sne_error_set(&s->err, SNE_ERR_CORRUPT, 0, "store %s: the change log is damaged",
                         s->dir);
}

/* Positions `c` on the group that holds change `seq`, or the first group after it. */
static int seek_group(MDB_cursor *c, uint64_t seq, MDB_val *k, MDB_val *v)
{
    uint8_t key[8];
    sne_put_u64be(key, seq);
    *k = (MDB_val){8, key};
    int rc = mdb_cursor_get(c, k, v, MDB_SET_RANGE);
    if (rc == 0 && k->mv_size == 8 && sne_get_u64be(k->mv_data) == seq)
        return 0;
    /* The group before may span `seq`: it starts earlier. */
    int prev = rc == 0 ? mdb_cursor_get(c, k, v, MDB_PREV) : mdb_cursor_get(c, k, v, MDB_LAST);
    if (prev != 0)
        return rc == 0 ? mdb_cursor_get(c, k, v, MDB_FIRST) : rc;
    return 0;
}

/* The last seq is kept in meta; the first held is the key of the first group, since a prune
 * deletes from the start and keeps a group it cuts through under the seq of its first remaining
 * change. */
sne_err store_seq_range(sne_store *s, MDB_txn *txn, uint64_t *first, uint64_t *last)
{
    MDB_cursor *c;
    MDB_val k, v;
    *last = store_meta_u64(s, txn, SNE_META_SEQ);
    *first = *last + 1;
    int mrc = mdb_cursor_open(txn, s->db_change, &c);
    if (!mrc) {
        mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST);
        mdb_cursor_close(c);
    }
    if (mrc == MDB_NOTFOUND)
        return SNE_OK;
    if (mrc)
        return store_fail(s, mrc, "cannot read the change log");
    if (k.mv_size != 8)
        return damaged_log(s);
    *first = sne_get_u64be(k.mv_data);
    return SNE_OK;
}

sne_err sne_store_seq_range(sne_store *s, uint64_t *first, uint64_t *last)
{
    MDB_txn *txn;
    sne_err rc = store_begin_read(s, &txn);
    if (rc)
        return rc;
    rc = store_seq_range(s, txn, first, last);
    store_end_read(s, txn);
    return rc;
}

/* A consumer's cursor `since` is valid from the first seq held - 1 to the last: below, changes it
 * has not applied were pruned; past the last, the store is not the one it read. */
static sne_err check_cursor(sne_store *s, MDB_txn *txn, uint64_t since)
{
    uint64_t first, last;
    sne_err rc = store_seq_range(s, txn, &first, &last);
    if (rc)
        return rc;
    if (since < first - 1)
        return sne_error_set(&s->err, SNE_ERR_RANGE, 0,
                             "change log cursor %llu is out of range: the changes up to %llu "
                             "were pruned (the first held is %llu); a consumer at %llu missed "
                             "changes %llu to %llu and must be reloaded from the store's demands",
                             (unsigned long long)since, (unsigned long long)(first - 1),
                             (unsigned long long)first, (unsigned long long)since,
                             (unsigned long long)(since + 1), (unsigned long long)(first - 1));
    if (since > last)
        return sne_error_set(&s->err, SNE_ERR_RANGE, 0,
                             "change log cursor %llu is past the last seq %llu of store %s "
                             "(identity %s): the store was rebuilt or replaced since the "
                             "consumer read it; reload the consumer from the store's demands",
                             (unsigned long long)since, (unsigned long long)last, s->dir,
                             s->identity[0] ? s->identity : "not yet given");
    return SNE_OK;
}

sne_err sne_store_changes(sne_store *s, uint64_t since, uint64_t limit, sne_change_fn fn, void *ctx)
{
    MDB_txn *txn;
    MDB_cursor *c = NULL;
    sne_err rc = store_begin_read(s, &txn);
    if (rc)
        return rc;
    if ((rc = check_cursor(s, txn, since))) {
        store_end_read(s, txn);
        return rc;
    }
    MDB_val k, v;
    int mrc = mdb_cursor_open(txn, s->db_change, &c);
    uint64_t emitted = 0;
    for (mrc = mrc ? mrc : seek_group(c, since + 1, &k, &v);
         mrc == 0 && !rc && (!limit || emitted < limit);
         mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        uint64_t seq = k.mv_size == 8 ? sne_get_u64be(k.mv_data) : 0;
        sne_group_reader g;
        sne_change_entry e;
        if ((rc = sne_frame_decode(&s->codec, v.mv_data, v.mv_size, &s->decoded)) ||
            (rc = sne_group_open(&g, s->decoded.data, s->decoded.len))) {
            sne_error_set(&s->err, rc, 0, "store %s: change %llu does not decode", s->dir,
                          (unsigned long long)seq);
            break;
        }
        int more = 0;
        for (; !rc && (!limit || emitted < limit) && (more = sne_group_next(&g, &e)) == 1; seq++) {
            if (seq <= since)
                continue;
            sne_change ch = {seq,       e.op,         e.entity,     g.num_unique,  e.key,
                             e.key_len, g.numero,     g.numero_len, g.date_export, g.date_len,
                             e.before,  e.before_len, e.after,      e.after_len};
            rc = fn(ctx, &ch);
            emitted++;
        }
        if (!rc && more < 0)
            rc = sne_error_set(&s->err, SNE_ERR_CORRUPT, 0, "store %s: change %llu is damaged",
                               s->dir, (unsigned long long)seq);
    }
    if (!rc && mrc && mrc != MDB_NOTFOUND)
        rc = store_fail(s, mrc, "cannot read the change log");
    mdb_cursor_close(c);
    store_end_read(s, txn);
    return rc;
}

/* Rewrites the group at the cursor, which starts at `first`, without its changes up to `upto`:
 * the rest is stored under the seq of its first remaining change. */
static sne_err trim_group(sne_store *s, MDB_cursor *c, const MDB_val *v, uint64_t first,
                          uint64_t upto, uint64_t *pruned)
{
    sne_group_reader g;
    sne_change_entry e;
    sne_err rc = sne_frame_decode(&s->codec, v->mv_data, v->mv_size, &s->decoded);
    if (!rc)
        rc = sne_group_open(&g, s->decoded.data, s->decoded.len);
    if (!rc)
        rc = sne_group_begin(&s->group, g.num_unique, g.numero, g.numero_len, g.date_export,
                             g.date_len);
    uint64_t seq = first;
    int more = 0;
    while (!rc && (more = sne_group_next(&g, &e)) == 1) {
        if (seq++ > upto)
            rc = sne_group_add(&s->group, &e);
    }
    if (!rc && more < 0)
        rc = SNE_ERR_CORRUPT;
    if (rc)
        return sne_error_set(&s->err, rc, 0, "store %s: change %llu does not decode", s->dir,
                             (unsigned long long)first);
    int mrc = mdb_cursor_del(c, 0);
    if (mrc)
        return store_fail(s, mrc, "cannot prune the change log");
    *pruned += upto + 1 - first;
    uint8_t key[8];
    sne_put_u64be(key, upto + 1);
    rc = sne_frame_encode(&s->codec, s->group.data, s->group.len, &s->frame);
    if (rc)
        return sne_error_set(&s->err, rc, 0, "cannot encode the change log");
    MDB_val k = {8, key}, nv = {s->frame.len, s->frame.data};
    mrc = mdb_put(s->txn, s->db_change, &k, &nv, 0);
    return mrc ? store_fail(s, mrc, "cannot prune the change log") : SNE_OK;
}

sne_err sne_store_prune(sne_store *s, uint64_t upto, uint64_t *pruned)
{
    *pruned = 0;
    for (;;) {
        sne_err rc = store_begin_batch(s);
        if (rc)
            return rc;
        MDB_cursor *c;
        MDB_val k, v, nk, nv;
        int mrc = mdb_cursor_open(s->txn, s->db_change, &c);
        size_t batch = 0;
        bool more = true;
        while (!rc && !mrc && batch < PRUNE_BATCH &&
               (mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST)) == 0) {
            if (k.mv_size != 8) {
                rc = damaged_log(s);
                break;
            }
            uint64_t first = sne_get_u64be(k.mv_data);
            if (first > upto) {
                more = false;
                break;
            }
            /* The group ends where the next begins, or at the last seq given out. */
            int nrc = mdb_cursor_get(c, &nk, &nv, MDB_NEXT);
            if (nrc && nrc != MDB_NOTFOUND) {
                mrc = nrc;
                break;
            }
            if (nrc == 0 && nk.mv_size != 8) {
                rc = damaged_log(s);
                break;
            }
            uint64_t last = nrc == 0 ? sne_get_u64be(nk.mv_data) - 1 : s->seq;
            if ((mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST)))
                break;
            if (last <= upto) {
                if (!(mrc = mdb_cursor_del(c, 0)))
                    *pruned += last - first + 1;
            } else {
                rc = trim_group(s, c, &v, first, upto, pruned);
                more = false;
                break;
            }
            batch++;
        }
        mdb_cursor_close(c);
        if (rc) {
            sne_store_abort(s); /* what this batch pruned is pruned again by the next call */
            return rc;
        }
        if (mrc == MDB_NOTFOUND) {
            mrc = 0;
            more = false;
        }
        if (mrc)
            return store_fail(s, mrc, "cannot prune the change log");
        if ((rc = sne_store_commit(s)))
            return rc;
        if (!more)
            return SNE_OK;
    }
}
