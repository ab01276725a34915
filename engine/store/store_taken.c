/* store_taken.c: the instant a demand's data was last taken from the register by a unit read,
 * and the tombstone of a demand a read deleted (contract section 8: newer data wins, per demand).
 *
 * Database "taken": numUnique -> the read's dateExport and whether it found the demand out of
 * the scope and deleted what was held (a tombstone), laid out by codec.h (sne_taken_encode).
 * Only demands read since the last complete export have an entry: an export's own instant is
 * its scope's (store_runs.c), so a demand it brings needs none, and the entry
 * goes when an export at least as new applies (store_taken_settle) or when a complete export
 * newer than it finishes (store_taken_sweep). A store made before this database gets it from its
 * next writer; a reader of such a store finds no entry. */
#include "store_internal.h"

#include <string.h>

#define TAKEN_SWEEP_BATCH 4096 /* entries deleted per transaction by store_taken_sweep */

sne_err store_taken_get(sne_store *s, MDB_txn *txn, const char *num, store_taken *t)
{
    memset(t, 0, sizeof(*t));
    if (!s->has_taken)
        return SNE_OK;
    MDB_val k = {SNE_NUM_UNIQUE_LEN, (void *)num}, v;
    int mrc = mdb_get(txn, s->db_taken, &k, &v);
    if (mrc == MDB_NOTFOUND)
        return SNE_OK;
    if (mrc)
        return store_fail(s, mrc, "cannot read a demand's instant");
    if (!sne_taken_decode(v.mv_data, v.mv_size, &t->ms, &t->tombstone))
        return sne_error_set(&s->err, SNE_ERR_CORRUPT, 0, "store %s: a demand's instant is damaged",
                             s->dir);
    t->found = true;
    return SNE_OK;
}

sne_err store_taken_put(sne_store *s, const char *num, int64_t ms, bool tombstone)
{
    uint8_t value[SNE_TAKEN_SIZE];
    sne_taken_encode(ms, tombstone, value);
    MDB_val k = {SNE_NUM_UNIQUE_LEN, (void *)num}, v = {sizeof(value), value};
    int mrc = mdb_put(s->txn, s->db_taken, &k, &v, 0);
    store_count_write(s, v.mv_size, false);
    return mrc ? store_fail(s, mrc, "cannot record a demand's instant") : SNE_OK;
}

sne_err store_taken_settle(sne_store *s, const char *num, const store_taken *t, int64_t export_ms,
                           bool *newer_held)
{
    *newer_held = t->found && t->ms > export_ms;
    if (!t->found || *newer_held)
        return SNE_OK;
    MDB_val k = {SNE_NUM_UNIQUE_LEN, (void *)num};
    int mrc = mdb_del(s->txn, s->db_taken, &k, NULL);
    store_count_write(s, 0, false);
    return mrc && mrc != MDB_NOTFOUND ? store_fail(s, mrc, "cannot forget a demand's instant")
                                      : SNE_OK;
}

sne_err store_taken_sweep(sne_store *s, int64_t export_ms)
{
    bool done = !s->has_taken;
    while (!done) {
        MDB_cursor *c;
        MDB_val k, v;
        size_t deleted = 0;
        sne_err rc = store_begin_batch(s);
        if (rc)
            return rc;
        int mrc = mdb_cursor_open(s->txn, s->db_taken, &c);
        if (mrc)
            return store_fail(s, mrc, "cannot scan the demands' instants");
        for (mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST); mrc == 0 && deleted < TAKEN_SWEEP_BATCH;
             mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            int64_t ms;
            bool tombstone;
            if (!sne_taken_decode(v.mv_data, v.mv_size, &ms, &tombstone) || ms >= export_ms)
                continue;
            if ((mrc = mdb_cursor_del(c, 0)) != 0)
                break;
            store_count_write(s, 0, false);
            deleted++;
        }
        mdb_cursor_close(c);
        if (mrc && mrc != MDB_NOTFOUND)
            return store_fail(s, mrc, "cannot forget the demands' instants");
        done = deleted < TAKEN_SWEEP_BATCH;
        if ((rc = sne_store_commit(s)))
            return rc;
    }
    return SNE_OK;
}
