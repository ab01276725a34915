/* pg_load.c: filling a schema from the store's state rather than from its change log: for a
 * database that has none of snesync's tables yet, and for --rebuild.
 *
 * Everything is read in one pinned snapshot of the store, so the items, the demands and the last
 * seq recorded belong together. The new tables are made without keys in a schema of their own
 * (<schema>_snesync_new, marked as a load in progress) and committed empty, so that a second
 * connection can fill them too: the items are copied in through the partitioned item table over
 * two connections (two server processes parse them: the server's jsonb input bounds a load); the
 * second one's COPY commits its share as it ends. Then, in the first one's transaction, the demands
 * follow, the keys are built once the rows are in (faster than maintaining them row by row), and
 * the new schema takes the place of the old one, in one commit. Readers of the schema see the
 * old one until that commit, then the new one. A kill at any point leaves the old one as it was,
 * and at most a load in progress, which the next load drops first (pg_schema_drop_load). */
#include "pg_internal.h"

#include <stdio.h>
#include <string.h>

#define PROGRESS_EVERY 65536 /* items between two progress reports */

typedef struct load_ctx {
    pg_link *l;
    pg_link aux; /* the second connection of the items' COPY; no conn when there is none */
    sne_store *s;
    pg_copy items, demands;
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
    pg_copy *c = &lc->items;
    sne_err rc = pg_copy_row(c, 4);
    if (!rc)
        rc = pg_copy_text(c, code, strlen(code));
    if (!rc)
        rc = pg_copy_text(c, lc->num, SNE_NUM_UNIQUE_LEN);
    if (!rc)
        rc = pg_copy_text(c, it->key, it->key_len);
    if (!rc)
        rc = pg_copy_item_json(c, it->canon, it->canon_len);
    if (!rc && lc->o->progress && c->rows % PROGRESS_EVERY == 0) {
        sne_pg_progress p = {.phase = SNE_PG_LOADING, .rows = c->rows};
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
    return h->n_items ? report(lc, pg_copy_demande(&lc->demands, num, h)) : SNE_OK;
}

/* Copies with `c`, in `fresh`, the rows of table `table` that `fn` makes of every demand
 * header. */
static sne_err copy_all(load_ctx *lc, pg_copy *c, const char *fresh, const char *table,
                        sne_header_fn fn, uint64_t *rows)
{
    char sql[256];
    snprintf(sql, sizeof(sql), "COPY \"%s\".%s FROM STDIN (FORMAT binary)", fresh, table);
    sne_err rc = pg_copy_begin(c, sql, "cannot copy the store's state");
    if (rc)
        return report(lc, rc);
    rc = sne_store_demand_headers(lc->s, fn, lc);
    if (rc && !lc->sink_failed)
        *lc->l->err = *sne_store_error(lc->s);
    if (!rc)
        rc = report(lc, pg_copy_end(c, "cannot copy the store's state"));
    *rows = c->rows;
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
        rc = copy_all(lc, &lc->items, fresh, "item (entity, num_unique, item_key, item)",
                      copy_items_of, &sum->items_written);
    if (!rc)
        rc = copy_all(lc, &lc->demands, fresh, "demande", copy_demande, &sum->demandes_written);
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

/* Opens the items' second connection, with the first one's settings. Without it (the server
 * refuses one more connection: max_connections, the role's limit) the load goes on over one. */
static void open_aux(load_ctx *lc)
{
    sne_error ignored;
    if (pg_connect(&lc->aux, lc->o, &ignored) == SNE_OK)
        lc->aux.err = lc->l->err;
    else
        pg_disconnect(&lc->aux);
}

/* After a failure: the transaction rolled back, and the load in progress dropped when the
 * connection still works (else the next load drops it). The failure stays the one described. */
static void undo(load_ctx *lc, const char *fresh)
{
    pg_copy_abort(&lc->items);
    pg_copy_abort(&lc->demands);
    pg_rollback(lc->l);
    sne_error kept = *lc->l->err;
    pg_schema_drop_load(lc->l, fresh);
    *lc->l->err = kept;
}

sne_err pg_load(pg_link *l, sne_store *s, const sne_pg_options *o, bool replace,
                sne_pg_summary *sum)
{
    char fresh[SNE_PG_SCHEMA_MAX + 16], digest[33];
    snprintf(fresh, sizeof(fresh), "%s_snesync_new", l->schema);
    load_ctx lc = {.l = l, .s = s, .o = o};
    uint64_t seq = 0;
    sne_err rc = replace ? pg_schema_check_replaceable(l) : SNE_OK;
    if (!rc)
        rc = pg_schema_drop_load(l, fresh);
    if (!rc)
        rc = pg_schema_create(l, fresh); /* committed: the second connection must see it */
    if (!rc)
        open_aux(&lc);
    pg_link *links[] = {l, &lc.aux};
    pg_copy_init(&lc.items, links, lc.aux.conn ? 2 : 1);
    pg_copy_init(&lc.demands, links, 1);
    if (!rc)
        rc = pg_command(l, "BEGIN", NULL, "cannot begin the load");
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
        undo(&lc, fresh);
    } else {
        sum->loaded = true;
        sum->rebuilt = replace;
        sum->reconciled = true;
        sum->to_seq = seq;
        sum->batches++;
    }
    pg_copy_free(&lc.items);
    pg_copy_free(&lc.demands);
    pg_disconnect(&lc.aux);
    return rc;
}
