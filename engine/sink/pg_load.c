/* pg_load.c: filling a schema from the store's state rather than from its change log: for a
 * database that has none of snesync's tables yet, and for --rebuild.
 *
 * Everything is read in one pinned snapshot of the store, so the items, the demands and the last
 * seq recorded belong together, and written in one transaction: the tables are made without keys,
 * the items are copied in through the partitioned item table (one COPY for every entity), the
 * demands follow, the keys are built once the rows are in (faster than maintaining them row by
 * row), and the new schema takes the place of the old one. Readers see the old schema until the
 * commit, then the new one; a kill at any point leaves the old one as it was. */
#include "pg_internal.h"

#include <stdio.h>
#include <string.h>

#define PROGRESS_EVERY 65536 /* items between two progress reports */

typedef struct load_ctx {
    pg_link *l;
    sne_store *s;
    pg_copy copy;
    const sne_pg_options *o;
    const char *num;  /* the demand being copied */
    bool sink_failed; /* the failure is the database's, described in l->err */
} load_ctx;

static sne_err report(load_ctx *lc, sne_err rc)
{
    lc->sink_failed |= rc != SNE_OK;
    return rc;
}

static sne_err copy_item(void *ctx, const sne_stored_item *it)
{
    load_ctx *lc = ctx;
    const char *code = sne_entity_info_of(it->entity)->code;
    sne_err rc = pg_copy_row(&lc->copy, 4);
    if (!rc)
        rc = pg_copy_text(&lc->copy, code, strlen(code));
    if (!rc)
        rc = pg_copy_text(&lc->copy, lc->num, SNE_NUM_UNIQUE_LEN);
    if (!rc)
        rc = pg_copy_text(&lc->copy, it->key, it->key_len);
    if (!rc)
        rc = pg_copy_item_json(&lc->copy, it->canon, it->canon_len);
    if (!rc && lc->o->progress && lc->copy.rows % PROGRESS_EVERY == 0) {
        sne_pg_progress p = {.phase = SNE_PG_LOADING, .rows = lc->copy.rows};
        lc->o->progress(lc->o->progress_ctx, &p);
    }
    return report(lc, rc);
}

static sne_err copy_items_of(void *ctx, const char *num, const sne_header *h)
{
    load_ctx *lc = ctx;
    if (h->n_items == 0)
        return SNE_OK;
    lc->num = num;
    return sne_store_read_demand(lc->s, num, copy_item, lc);
}

static sne_err copy_demande(void *ctx, const char *num, const sne_header *h)
{
    load_ctx *lc = ctx;
    return h->n_items ? report(lc, pg_copy_demande(&lc->copy, num, h)) : SNE_OK;
}

/* Copies, in `fresh`, the rows of table `table` that `fn` makes of every demand header. */
static sne_err copy_all(load_ctx *lc, const char *fresh, const char *table, sne_header_fn fn,
                        uint64_t *rows)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "COPY \"%s\".%s FROM STDIN (FORMAT binary)", fresh, table);
    sne_err rc = pg_copy_begin(&lc->copy, sql, "cannot copy the store's state");
    if (rc)
        return report(lc, rc);
    rc = sne_store_demand_headers(lc->s, fn, lc);
    if (rc && !lc->sink_failed)
        *lc->l->err = *sne_store_error(lc->s);
    if (!rc)
        rc = report(lc, pg_copy_end(&lc->copy, "cannot copy the store's state"));
    *rows = lc->copy.rows;
    return rc;
}

/* Reads the store's state in one snapshot into `fresh`; `seq` and `digest` get the snapshot's
 * last seq and scopes digest. */
static sne_err copy_snapshot(load_ctx *lc, const char *fresh, sne_pg_summary *sum, uint64_t *seq,
                             char digest[33])
{
    uint64_t first;
    sne_err rc = sne_store_read_begin(lc->s);
    if (!rc)
        rc = sne_store_seq_range(lc->s, &first, seq);
    if (rc)
        *lc->l->err = *sne_store_error(lc->s);
    if (!rc)
        rc = pg_scopes_digest(lc->s, digest, lc->l->err);
    if (!rc)
        rc = copy_all(lc, fresh, "item (entity, num_unique, item_key, item)", copy_items_of,
                      &sum->items_written);
    if (!rc)
        rc = copy_all(lc, fresh, "demande", copy_demande, &sum->demandes_written);
    sne_store_read_end(lc->s);
    return rc;
}

static sne_err insert_state(pg_link *l, const char *fresh, const char *store_id, uint64_t seq,
                            const char *digest)
{
    char sql[256], version[16], last[24];
    snprintf(sql, sizeof(sql),
             "INSERT INTO \"%s\".snesync_state (schema_version, store_id, last_seq, "
             "scopes_digest, applied_at) VALUES ($1, $2, $3, $4, now())",
             fresh);
    snprintf(version, sizeof(version), "%d", SNE_PG_SCHEMA_VERSION);
    snprintf(last, sizeof(last), "%llu", (unsigned long long)seq);
    const char *params[] = {version, store_id, last, digest};
    PGresult *res;
    sne_err rc = pg_query(l, sql, 4, params, &res, "cannot record the state");
    PQclear(res);
    return rc;
}

sne_err pg_load(pg_link *l, sne_store *s, const sne_pg_options *o, bool replace,
                sne_pg_summary *sum)
{
    char fresh[SNE_PG_SCHEMA_MAX + 16], digest[33];
    snprintf(fresh, sizeof(fresh), "%s_snesync_new", l->schema);
    load_ctx lc = {.l = l, .s = s, .o = o};
    pg_copy_init(&lc.copy, l);
    uint64_t seq = 0;
    sne_err rc = replace ? pg_schema_check_replaceable(l) : SNE_OK;
    if (!rc)
        rc = pg_command(l, "BEGIN", NULL, "cannot begin the load");
    if (!rc)
        rc = pg_schema_create(l, fresh);
    if (!rc)
        rc = copy_snapshot(&lc, fresh, sum, &seq, digest);
    if (!rc)
        rc = pg_schema_add_keys(l, fresh);
    if (!rc)
        rc = insert_state(l, fresh, sne_store_identity(s), seq, digest);
    if (!rc)
        rc = pg_schema_swap(l, fresh, replace);
    if (!rc)
        rc = pg_command(l, "COMMIT", NULL, "cannot commit the load");
    if (rc) {
        pg_copy_abort(&lc.copy);
        pg_rollback(l);
    } else {
        sum->loaded = true;
        sum->rebuilt = replace;
        sum->reconciled = true;
        sum->to_seq = seq;
        sum->batches++;
    }
    pg_copy_free(&lc.copy);
    return rc;
}
