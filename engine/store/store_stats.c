/* store_stats.c: what the store holds, for reports (store.h): its counters and extent, and the
 * newest export applied to each scope. */
#include "store_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

sne_err sne_store_stats_get(sne_store *s, sne_store_stats *st)
{
    memset(st, 0, sizeof(*st));
    MDB_txn *txn;
    sne_err rc = store_begin_read(s, &txn);
    if (rc)
        return rc;
    /* The count in meta, kept by writers since format 4 and written by a move to format 4 only
     * as it ends; without it (a store before format 4, or one being moved) the headers are
     * counted. */
    if (!store_meta_get_u64(s, txn, SNE_META_DEMANDS, &st->demands) &&
        (rc = store_count_demands(s, txn, &st->demands))) {
        store_end_read(s, txn);
        return rc;
    }
    if ((rc = store_seq_range(s, txn, &st->first_seq, &st->last_seq))) {
        store_end_read(s, txn);
        return rc;
    }
    st->changes = st->last_seq + 1 - st->first_seq;
    MDB_val k = store_meta_key(SNE_META_COUNTS), v;
    if (mdb_get(txn, s->db_meta, &k, &v) == 0)
        sne_counts_decode(v.mv_data, v.mv_size, st->items);
    sne_run run = {.locations = calloc(SNE_MAX_LOCATIONS, sizeof(*run.locations))};
    if (run.locations && store_load_run(s, txn, &run) == SNE_OK && run.state == SNE_RUN_STARTED) {
        st->run_open = true;
        snprintf(st->run_export, sizeof(st->run_export), "%s", run.numero);
    }
    free(run.locations);
    store_end_read(s, txn);
    MDB_envinfo info;
    if (mdb_env_info(s->env, &info) == 0)
        st->map_size = info.me_mapsize;
    char path[sizeof(s->dir) + 16];
    struct stat fs;
    snprintf(path, sizeof(path), "%s/data.mdb", s->dir);
    if (stat(path, &fs) == 0)
        st->file_bytes = (uint64_t)fs.st_size;
    return SNE_OK;
}

typedef struct scope_scan {
    sne_scope_fn fn;
    void *ctx;
} scope_scan;

static sne_err scan_scope(void *ctx, const MDB_val *k, const MDB_val *v)
{
    const scope_scan *ss = ctx;
    char scope[SNE_SCOPE_KEY_MAX + 1];
    sne_scope_value sv;
    if (k->mv_size > SNE_SCOPE_KEY_MAX ||
        sne_scope_value_decode(v->mv_data, v->mv_size, &sv) != SNE_OK)
        return SNE_OK; /* not a scope this build reads */
    memcpy(scope, k->mv_data, k->mv_size);
    scope[k->mv_size] = '\0';
    return ss->fn(ss->ctx, scope, sv.numero, sv.date_export);
}

sne_err sne_store_scopes(sne_store *s, sne_scope_fn fn, void *ctx)
{
    scope_scan ss = {fn, ctx};
    return store_scan(s, s->db_scope, "cannot read scopes", scan_scope, &ss);
}
