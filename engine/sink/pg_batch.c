/* pg_batch.c: one batch of the change log applied in one transaction, exactly once.
 *
 *   1. BEGIN; the state row is locked (FOR UPDATE) and must still say the seq this run read; an
 *      older layout is migrated (pg_migrate.c), in this transaction.
 *   2. In one pinned snapshot of the store: the changes after that seq (at most o->batch) are
 *      copied into the staging tables (temporary, partitioned by entity), then the state of the
 *      demands they touch: its header (ACTIVE or RADIEE, date of last modification) when it holds
 *      items, else none. When the batch reaches the snapshot's last seq and an ingest finished
 *      since demande was last compared with every demand (the scopes' digest moved), every
 *      header is copied instead: an ingest can change a demand's date or state without an item.
 *   3. Per entity: deletes are one DELETE, creates one INSERT, updates one INSERT ... ON
 *      CONFLICT DO UPDATE; when the batch changes an item several times (a hash of each item's
 *      identity tells), its changes first collapse to the last, and creates and updates are
 *      one upsert. Then demande likewise.
 *   4. The state row takes the batch's last seq; COMMIT.
 * A failure anywhere rolls the whole transaction back: the database stays at the previous batch,
 * and the next run reads the same changes again. */
#include "pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define SQL_MAX 1024
_Static_assert(SNE_ENTITY__COUNT <= 16, "an item's identity keeps its entity in 4 bits");

typedef struct batch_ctx {
    pg_link *l;
    sne_store *s;
    pg_copy copy;
    uint64_t seq;                                          /* the last seq read */
    uint64_t staged[SNE_ENTITY__COUNT][SNE_OP_DELETE + 1]; /* changes copied, per entity, op */
    uint64_t *ids;                        /* per change: its item's identity (hash << 4 | entity) */
    char (*nums)[SNE_NUM_UNIQUE_LEN + 1]; /* per change: its demand */
    size_t n, cap;
    unsigned repeated; /* entities of which the batch changes an item twice or more */
    bool sink_failed;  /* the failure is the database's, described in l->err */
} batch_ctx;

static sne_err report(batch_ctx *b, sne_err rc)
{
    b->sink_failed |= rc != SNE_OK;
    return rc;
}

static sne_err remember(batch_ctx *b, const sne_change *ch)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 1024;
        uint64_t *ids = realloc(b->ids, cap * sizeof(*ids));
        if (ids)
            b->ids = ids;
        char(*nums)[SNE_NUM_UNIQUE_LEN + 1] = ids ? realloc(b->nums, cap * sizeof(*nums)) : NULL;
        if (!nums)
            return report(b, sne_error_set(b->l->err, SNE_ERR_NOMEM, 0, "out of memory"));
        b->nums = nums;
        b->cap = cap;
    }
    uint8_t who[SNE_NUM_UNIQUE_LEN + 256];
    size_t klen = ch->key_len < 256 ? ch->key_len : 256;
    memcpy(who, ch->num_unique, SNE_NUM_UNIQUE_LEN);
    memcpy(who + SNE_NUM_UNIQUE_LEN, ch->key, klen);
    b->ids[b->n] = XXH3_64bits(who, SNE_NUM_UNIQUE_LEN + klen) << 4 | (uint64_t)ch->entity;
    memcpy(b->nums[b->n], ch->num_unique, SNE_NUM_UNIQUE_LEN + 1);
    b->n++;
    return SNE_OK;
}

static sne_err stage_change(void *ctx, const sne_change *ch)
{
    batch_ctx *b = ctx;
    const char *code = sne_entity_info_of(ch->entity)->code;
    pg_copy *c = &b->copy;
    sne_err rc = pg_copy_row(c, 6);
    if (!rc)
        rc = pg_copy_int8(c, (int64_t)ch->seq);
    if (!rc)
        rc = pg_copy_int2(c, (int16_t)ch->op);
    if (!rc)
        rc = pg_copy_text(c, code, strlen(code));
    if (!rc)
        rc = pg_copy_text(c, ch->num_unique, strlen(ch->num_unique));
    if (!rc)
        rc = pg_copy_text(c, ch->key, ch->key_len);
    if (!rc)
        rc = ch->after ? pg_copy_item_json(c, ch->after, ch->after_len) : pg_copy_null(c);
    if (!rc)
        rc = remember(b, ch);
    b->seq = ch->seq;
    b->staged[ch->entity][ch->op]++;
    return report(b, rc);
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int compare_num(const void *a, const void *b)
{
    return memcmp(a, b, SNE_NUM_UNIQUE_LEN);
}

/* Sorts the identities and the demands; notes the entities with an item changed twice. */
static void sort_touched(batch_ctx *b)
{
    if (b->n == 0) /* the arrays may be NULL, which qsort does not take even for 0 elements */
        return;
    qsort(b->ids, b->n, sizeof(*b->ids), compare_u64);
    for (size_t i = 1; i < b->n; i++)
        if (b->ids[i] == b->ids[i - 1])
            b->repeated |= 1u << (b->ids[i] & 15);
    qsort(b->nums, b->n, sizeof(*b->nums), compare_num);
}

static sne_err stage_header(void *ctx, const char *num, const sne_header *h)
{
    batch_ctx *b = ctx;
    if (h && h->n_items)
        return report(b, pg_copy_demande(&b->copy, num, h));
    sne_err rc = pg_copy_row(&b->copy, 3);
    if (!rc)
        rc = pg_copy_text(&b->copy, num, strlen(num));
    if (!rc)
        rc = pg_copy_null(&b->copy);
    if (!rc)
        rc = pg_copy_null(&b->copy);
    return report(b, rc);
}

static sne_err stage_held(void *ctx, const char *num, const sne_header *h)
{
    return h->n_items ? stage_header(ctx, num, h) : SNE_OK;
}

/* Copies the state of the demands the batch touched (sorted), or of every demand held (`full`). */
static sne_err stage_demands(batch_ctx *b, bool full)
{
    sne_err rc = pg_copy_begin(&b->copy, "COPY snesync_stage_demande FROM STDIN (FORMAT binary)",
                               "cannot stage the demands");
    if (rc)
        return report(b, rc);
    if (full) {
        rc = sne_store_demand_headers(b->s, stage_held, b);
    } else {
        for (size_t i = 0; !rc && i < b->n; i++)
            if (i == 0 || memcmp(b->nums[i], b->nums[i - 1], SNE_NUM_UNIQUE_LEN) != 0)
                rc = sne_store_demand_header(b->s, b->nums[i], stage_header, b);
    }
    if (rc && !b->sink_failed)
        *b->l->err = *sne_store_error(b->s);
    return rc ? rc : report(b, pg_copy_end(&b->copy, "cannot stage the demands"));
}

/* The store's changes after `since`, then the demands, into the staging tables, all read in one
 * snapshot. *full: demande is compared with every demand (digest: the snapshot's); *last: the
 * snapshot's last seq. */
static sne_err stage(batch_ctx *b, const sne_pg_options *o, const pg_state *st, bool *full,
                     char digest[33], uint64_t *last)
{
    uint64_t first;
    sne_err rc = sne_store_read_begin(b->s);
    if (!rc)
        rc = sne_store_seq_range(b->s, &first, last);
    if (rc) {
        *b->l->err = *sne_store_error(b->s);
        return rc;
    }
    b->seq = st->last_seq;
    rc = pg_copy_begin(&b->copy, "COPY snesync_stage FROM STDIN (FORMAT binary)",
                       "cannot stage the changes");
    if (!rc && (rc = sne_store_changes(b->s, st->last_seq, o->batch, stage_change, b)) &&
        !b->sink_failed)
        *b->l->err = *sne_store_error(b->s);
    if (rc == SNE_ERR_RANGE) /* pruned since the run began */
        rc = sne_error_set(b->l->err, SNE_ERR_MISMATCH, 0,
                           "the store's changes after seq %llu were pruned during this run; "
                           "--rebuild reloads schema %s from the store's state",
                           (unsigned long long)st->last_seq, b->l->schema);
    if (!rc)
        rc = pg_copy_end(&b->copy, "cannot stage the changes");
    sort_touched(b);
    *full = false;
    if (!rc && b->seq == *last && (rc = pg_scopes_digest(b->s, digest, b->l->err)) == SNE_OK)
        *full = strcmp(digest, st->digest) != 0;
    if (!rc)
        rc = stage_demands(b, *full);
    sne_store_read_end(b->s);
    return rc;
}

#define ITEM_COLUMNS_LIST "entity, num_unique, item_key, item"
#define ITEM_COLUMNS      "(" ITEM_COLUMNS_LIST ")"

typedef enum merge_kind {
    MERGE_DELETE,
    MERGE_INSERT,
    MERGE_UPDATE,
    MERGE_MISSING, /* inserts the staged rows that the table lacks */
    MERGE_UPSERT
} merge_kind;

/* Applies to table t the staged changes of op `op` (0: every create and update), taken in key
 * order: the rows of a batch of changes in the log's order (export order) are scattered over
 * the table and its key, and in key order the index pages each statement visits follow on. */
static sne_err merge_op(batch_ctx *b, const char *t, merge_kind kind, int op, uint64_t *rows)
{
    char sql[SQL_MAX], staged[160];
    const char *schema = b->l->schema;
    snprintf(staged, sizeof(staged),
             "(SELECT " ITEM_COLUMNS_LIST " FROM snesync_stage_%s WHERE op %s %d "
             "ORDER BY num_unique, item_key)",
             t, op ? "=" : "<>", op ? op : SNE_OP_DELETE);
    if (kind == MERGE_DELETE)
        snprintf(sql, sizeof(sql),
                 "DELETE FROM \"%s\".%s x USING %s a WHERE x.num_unique = a.num_unique AND "
                 "x.item_key = a.item_key",
                 schema, t, staged);
    else if (kind == MERGE_UPDATE)
        snprintf(sql, sizeof(sql),
                 "UPDATE \"%s\".%s x SET item = a.item FROM %s a WHERE x.num_unique = "
                 "a.num_unique AND x.item_key = a.item_key",
                 schema, t, staged);
    else if (kind == MERGE_MISSING)
        snprintf(sql, sizeof(sql),
                 "INSERT INTO \"%s\".%s " ITEM_COLUMNS " SELECT * FROM %s a WHERE NOT EXISTS "
                 "(SELECT 1 FROM \"%s\".%s x WHERE x.num_unique = a.num_unique AND x.item_key = "
                 "a.item_key)",
                 schema, t, staged, schema, t);
    else
        snprintf(sql, sizeof(sql), "INSERT INTO \"%s\".%s " ITEM_COLUMNS " SELECT * FROM %s a%s",
                 schema, t, staged,
                 kind == MERGE_UPSERT ? " ON CONFLICT (num_unique, item_key) DO UPDATE SET "
                                        "item = EXCLUDED.item"
                                      : "");
    return pg_command(b->l, sql, rows, "cannot apply the batch");
}

/* Applies the staged changes of entity e: deletes, then creates, then updates. An item changed
 * once in the batch is created by a plain INSERT (exactly once: it is not there) and updated by
 * an UPDATE (it is there; when the UPDATE finds fewer rows than it was given, because someone
 * deleted some, a second statement inserts those). An UPDATE that returned its rows to an
 * INSERT of the missing ones materialized both, for rows almost never missing: it cost a sixth
 * more. Neither is an INSERT ... ON CONFLICT DO UPDATE, which locks every row it meets before
 * updating it: a second write of the row and of its WAL. When the batch changes some item of e
 * several times, they first collapse to the last, whose op alone does not say whether the row is
 * there: every create or update is then an upsert. */
static sne_err merge_entity(batch_ctx *b, sne_entity e, sne_pg_summary *sum)
{
    char t[PG_TABLE_MAX], sql[SQL_MAX];
    pg_entity_table(e, t);
    const uint64_t *n = b->staged[e];
    bool repeated = b->repeated & (1u << e);
    uint64_t deleted = 0, created = 0, updated = 0;
    sne_err rc = SNE_OK;
    snprintf(sql, sizeof(sql),
             "DELETE FROM snesync_stage_%s a USING snesync_stage_%s z WHERE z.num_unique = "
             "a.num_unique AND z.item_key = a.item_key AND z.seq > a.seq",
             t, t);
    if (repeated)
        rc = pg_command(b->l, sql, NULL, "cannot apply the batch");
    if (!rc && n[SNE_OP_DELETE])
        rc = merge_op(b, t, MERGE_DELETE, SNE_OP_DELETE, &deleted);
    if (!rc && repeated)
        rc = merge_op(b, t, MERGE_UPSERT, 0, &updated);
    if (!rc && !repeated && n[SNE_OP_CREATE])
        rc = merge_op(b, t, MERGE_INSERT, SNE_OP_CREATE, &created);
    if (!rc && !repeated && n[SNE_OP_UPDATE])
        rc = merge_op(b, t, MERGE_UPDATE, SNE_OP_UPDATE, &updated);
    if (!rc && !repeated && updated < n[SNE_OP_UPDATE])
        rc = merge_op(b, t, MERGE_MISSING, SNE_OP_UPDATE, NULL);
    sum->items_deleted += deleted;
    sum->items_written += created + (repeated ? updated : n[SNE_OP_UPDATE]);
    return rc;
}

/* Brings demande to the staged states: a demand without items goes, a new one is inserted, and
 * one whose state or date changed is updated; the others (most, when every demand is compared)
 * are left alone, not rewritten nor locked. */
static sne_err merge_demande(pg_link *l, bool full, sne_pg_summary *sum)
{
    char sql[SQL_MAX];
    uint64_t deleted = 0, gone = 0, changed = 0, added = 0;
    snprintf(sql, sizeof(sql),
             "DELETE FROM \"%s\".demande d USING snesync_stage_demande s "
             "WHERE s.etat_demande IS NULL AND d.num_unique = s.num_unique",
             l->schema);
    sne_err rc = pg_command(l, sql, &deleted, "cannot apply the batch to demande");
    snprintf(sql, sizeof(sql),
             "DELETE FROM \"%s\".demande d WHERE NOT EXISTS (SELECT 1 FROM "
             "snesync_stage_demande s WHERE s.num_unique = d.num_unique)",
             l->schema);
    if (!rc && full)
        rc = pg_command(l, sql, &gone, "cannot apply the batch to demande");
    snprintf(sql, sizeof(sql),
             "UPDATE \"%s\".demande d SET etat_demande = s.etat_demande, "
             "date_derniere_modification = s.date_derniere_modification FROM "
             "snesync_stage_demande s WHERE s.num_unique = d.num_unique AND s.etat_demande IS "
             "NOT NULL AND (d.etat_demande, d.date_derniere_modification) IS DISTINCT FROM "
             "(s.etat_demande, s.date_derniere_modification)",
             l->schema);
    if (!rc)
        rc = pg_command(l, sql, &changed, "cannot apply the batch to demande");
    snprintf(sql, sizeof(sql),
             "INSERT INTO \"%s\".demande (num_unique, etat_demande, date_derniere_modification) "
             "SELECT * FROM snesync_stage_demande s WHERE "
             "s.etat_demande IS NOT NULL AND NOT EXISTS (SELECT 1 FROM \"%s\".demande d WHERE "
             "d.num_unique = s.num_unique)",
             l->schema, l->schema);
    if (!rc)
        rc = pg_command(l, sql, &added, "cannot apply the batch to demande");
    sum->demandes_deleted += deleted + gone;
    sum->demandes_written += changed + added;
    return rc;
}

/* Locks the state row and checks that it still says what this run read. */
static sne_err lock_state(pg_link *l, const pg_state *st)
{
    char sql[SQL_MAX];
    snprintf(sql, sizeof(sql), "SELECT last_seq, store_id FROM \"%s\".snesync_state FOR UPDATE",
             l->schema);
    PGresult *res;
    sne_err rc = pg_query(l, sql, 0, NULL, &res, "cannot lock the sink's state");
    if (rc)
        return rc;
    if (PQntuples(res) != 1 || strtoull(PQgetvalue(res, 0, 0), NULL, 10) != st->last_seq ||
        strcmp(PQgetvalue(res, 0, 1), st->store_id) != 0)
        rc = sne_error_set(l->err, SNE_ERR_MISMATCH, 0,
                           "the state of schema %s of %s changed during this run (another "
                           "writer, despite the lock?): nothing was applied; run again",
                           l->schema, l->where);
    PQclear(res);
    return rc;
}

static sne_err save_state(pg_link *l, uint64_t seq, const char *digest)
{
    char sql[SQL_MAX], last[24];
    snprintf(sql, sizeof(sql),
             "UPDATE \"%s\".snesync_state SET last_seq = $1, scopes_digest = $2, "
             "applied_at = now()",
             l->schema);
    snprintf(last, sizeof(last), "%llu", (unsigned long long)seq);
    const char *params[] = {last, digest};
    PGresult *res;
    sne_err rc = pg_query(l, sql, 2, params, &res, "cannot record the batch's seq");
    PQclear(res);
    return rc;
}

static void progress(const sne_pg_options *o, sne_pg_phase phase, uint64_t batch, uint64_t seq,
                     uint64_t last, uint64_t rows)
{
    if (!o->progress)
        return;
    sne_pg_progress p = {phase, batch, seq, last, rows};
    o->progress(o->progress_ctx, &p);
}

/* Merges the staged batch and records its seq (the transaction stays open). */
static sne_err merge(batch_ctx *b, bool full, const char *digest, sne_pg_summary *sum)
{
    sne_err rc = SNE_OK;
    for (int e = 0; !rc && e < SNE_ENTITY__COUNT; e++)
        if (b->staged[e][SNE_OP_CREATE] + b->staged[e][SNE_OP_UPDATE] + b->staged[e][SNE_OP_DELETE])
            rc = merge_entity(b, (sne_entity)e, sum);
    if (!rc)
        rc = merge_demande(b->l, full, sum);
    if (!rc)
        rc = save_state(b->l, b->seq, digest);
    return rc;
}

sne_err pg_batch(pg_link *l, sne_store *s, const sne_pg_options *o, pg_state *st,
                 sne_pg_summary *sum, bool *done)
{
    batch_ctx b = {.l = l, .s = s};
    pg_copy_init(&b.copy, &l, 1);
    char digest[33];
    snprintf(digest, sizeof(digest), "%.32s", st->digest);
    bool full = false;
    uint64_t last = 0, batch = sum->batches + 1;
    sne_err rc = pg_command(l, "BEGIN", NULL, "cannot begin a batch");
    if (!rc)
        rc = lock_state(l, st);
    if (!rc)
        rc = pg_migrate(l, st->version);
    if (!rc)
        rc = stage(&b, o, st, &full, digest, &last);
    if (!rc) {
        progress(o, SNE_PG_COPIED, batch, b.seq, last, sum->changes + b.n);
        rc = merge(&b, full, digest, sum);
    }
    if (!rc) {
        progress(o, SNE_PG_MERGED, batch, b.seq, last, sum->changes + b.n);
        rc = pg_command(l, "COMMIT", NULL, "cannot commit a batch");
    }
    if (rc) {
        pg_copy_abort(&b.copy);
        pg_rollback(l);
    } else {
        sum->batches++;
        sum->changes += b.n;
        sum->reconciled |= full;
        st->last_seq = sum->to_seq = b.seq;
        st->version = SNE_PG_SCHEMA_VERSION;
        snprintf(st->digest, sizeof(st->digest), "%.32s", digest);
        progress(o, SNE_PG_COMMITTED, batch, b.seq, last, sum->changes);
    }
    *done = rc || b.seq >= last;
    pg_copy_free(&b.copy);
    free(b.ids);
    free(b.nums);
    return rc;
}
