/* store_migrate.c: a store of format 2 or 3 brought to format 4 (codec.h): its bodies move from
 * their own databases ("body", "drm", under numUnique) to the demand database, beside their
 * headers (under numUnique and the part's byte), and the demands are counted into meta.
 *
 * The first writable open marks the store format 4 (store.c: an older snesync then refuses it)
 * and calls this. Each transaction moves up to MOVE_CHUNK bodies (copied as they are, frames
 * and all: nothing is decompressed) and deletes them from the old database, so at every commit
 * a body is in exactly one place; readers look beside the header first, then in the old
 * databases (store_read.c). Killed at any point, the store stays readable, and the next writable
 * open goes on from where this one stopped. The last transaction records the demands' count;
 * the emptied databases stay (store.c says why). */
#include "store_internal.h"

#define MOVE_CHUNK 4096 /* bodies per transaction: a few MiB of dirty pages */

/* Moves up to MOVE_CHUNK bodies of `part` in the open batch; *done when none is left. */
static sne_err move_chunk(sne_store *s, body_part part, bool *done)
{
    MDB_cursor *c;
    int mrc = mdb_cursor_open(s->txn, s->db_old_body[part], &c);
    if (mrc)
        return store_fail(s, mrc, "cannot read its bodies");
    MDB_val k, v;
    size_t moved = 0;
    while (moved < MOVE_CHUNK && (mrc = mdb_cursor_get(c, &k, &v, MDB_FIRST)) == 0) {
        if (k.mv_size != SNE_NUM_UNIQUE_LEN) {
            mdb_cursor_close(c);
            return sne_error_set(&s->err, SNE_ERR_CORRUPT, 0,
                                 "store %s: a body has a key of %zu bytes", s->dir, k.mv_size);
        }
        char num[SNE_NUM_UNIQUE_LEN], kb[SNE_NUM_UNIQUE_LEN + 1];
        memcpy(num, k.mv_data, SNE_NUM_UNIQUE_LEN);
        MDB_val nk = store_body_key(num, part, kb);
        mrc = mdb_put(s->txn, s->db_demand, &nk, &v, 0);
        if (!mrc)
            mrc = mdb_cursor_del(c, 0);
        if (mrc)
            break;
        moved++;
    }
    mdb_cursor_close(c);
    *done = mrc == MDB_NOTFOUND;
    return mrc && mrc != MDB_NOTFOUND ? store_fail(s, mrc, "cannot move its bodies") : SNE_OK;
}

sne_err store_count_demands(sne_store *s, MDB_txn *txn, uint64_t *n)
{
    MDB_cursor *c;
    int mrc = mdb_cursor_open(txn, s->db_demand, &c);
    if (mrc)
        return store_fail(s, mrc, "cannot count its demands");
    MDB_val k, v;
    *n = 0;
    while ((mrc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) == 0)
        *n += k.mv_size == SNE_NUM_UNIQUE_LEN; /* a header; a body's key is one byte longer */
    mdb_cursor_close(c);
    return mrc != MDB_NOTFOUND ? store_fail(s, mrc, "cannot count its demands") : SNE_OK;
}

/* The last step, once no body is left to move: the demands counted, and the count recorded
 * (sne_store_commit writes it only when no old body is left). */
static sne_err finish(sne_store *s)
{
    s->has_old_bodies = false;
    sne_err rc = store_begin_batch(s);
    if (!rc)
        rc = store_count_demands(s, s->txn, &s->demands);
    return rc ? rc : sne_store_commit(s);
}

sne_err store_migrate_bodies(sne_store *s)
{
    sne_err rc = SNE_OK;
    for (int part = 0; !rc && part < BODY_PARTS; part++) {
        bool done = false;
        while (!rc && !done) {
            rc = store_begin_batch(s);
            if (!rc)
                rc = move_chunk(s, (body_part)part, &done);
            if (!rc)
                rc = sne_store_commit(s);
        }
    }
    return rc ? rc : finish(s);
}
