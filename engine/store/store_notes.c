/* store_notes.c: small named values kept for the layers above the store (store.h), in meta
 * "note:<name>". The store holds their bytes; their layouts are their owners' (codec.h). */
#include "store_internal.h"

#include <stdio.h>

#define NOTE_KEY_MAX 128 /* bytes of "note:<name>" with its NUL */

/* Writes the meta key of note `name` into `key`; returns its length, 0 when it does not fit. */
static size_t note_key(char *key, size_t size, const char *name)
{
    int n = snprintf(key, size, "%s%s", SNE_META_NOTE, name);
    return n < 0 || (size_t)n >= size ? 0 : (size_t)n;
}

sne_err sne_store_note_put(sne_store *s, const char *name, const void *value, size_t n)
{
    char key[NOTE_KEY_MAX];
    size_t klen = note_key(key, sizeof(key), name);
    if (!klen || n > SNE_NOTE_MAX || s->txn)
        return sne_error_set(&s->err, SNE_ERR_USAGE, 0, "bad note %s", name);
    sne_err rc = store_begin_batch(s);
    if (rc)
        return rc;
    MDB_val k = {klen, key}, v = {n, (void *)value};
    int mrc =
        value ? mdb_put(s->txn, s->db_meta, &k, &v, 0) : mdb_del(s->txn, s->db_meta, &k, NULL);
    if (mrc && !(mrc == MDB_NOTFOUND && !value))
        return store_fail(s, mrc, "cannot write a note");
    return sne_store_commit(s);
}

sne_err sne_store_note_get(sne_store *s, const char *name, sne_buf *out)
{
    char key[NOTE_KEY_MAX];
    size_t klen = note_key(key, sizeof(key), name);
    if (!klen)
        return sne_error_set(&s->err, SNE_ERR_USAGE, 0, "bad note name");
    MDB_txn *txn;
    sne_err rc = store_begin_read(s, &txn);
    if (rc)
        return rc;
    MDB_val k = {klen, key}, v;
    int mrc = mdb_get(txn, s->db_meta, &k, &v);
    sne_buf_reset(out);
    if (mrc == MDB_NOTFOUND)
        rc = SNE_ERR_NOTFOUND;
    else if (mrc)
        rc = store_fail(s, mrc, "cannot read a note");
    else if ((rc = sne_buf_append(out, v.mv_data, v.mv_size)))
        sne_error_set(&s->err, rc, 0, "note %s too large", name);
    store_end_read(s, txn);
    return rc;
}
