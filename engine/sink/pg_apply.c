/* pg_apply.c: a run of the PostgreSQL sink: connect, lock the schema, read where the database
 * stands, refuse a silent gap, then load or apply batches until the database has every change of
 * the store (pg.h). */
#include "pg_internal.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void sne_pg_options_default(sne_pg_options *o)
{
    memset(o, 0, sizeof(*o));
    o->schema = "sne";
    o->batch = SNE_PG_BATCH_DEFAULT;
}

static bool schema_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > SNE_PG_SCHEMA_MAX || (name[0] >= '0' && name[0] <= '9'))
        return false;
    return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

sne_err sne_pg_check_options(const sne_pg_options *o, bool on_command_line, sne_error *err)
{
    if (!schema_name_valid(o->schema))
        return sne_error_set(err, SNE_ERR_USAGE, 0,
                             "a schema name is 1 to %d lower-case letters, digits and '_', not "
                             "starting with a digit",
                             SNE_PG_SCHEMA_MAX);
    if (o->batch < 1 || o->batch > SNE_PG_BATCH_MAX)
        return sne_error_set(err, SNE_ERR_USAGE, 0, "a batch is 1 to %d changes", SNE_PG_BATCH_MAX);
    if (!o->conninfo || !*o->conninfo)
        return SNE_OK;
    char *why = NULL; /* not shown: libpq quotes the string, which may hold a password */
    PQconninfoOption *opts = PQconninfoParse(o->conninfo, &why);
    PQfreemem(why);
    if (!opts)
        return sne_error_set(err, SNE_ERR_USAGE, 0,
                             "the connection string is not one libpq can read (key=value "
                             "pairs, or a postgresql:// URI)");
    bool password = false;
    for (const PQconninfoOption *p = opts; p->keyword; p++)
        password |= strcmp(p->keyword, "password") == 0 && p->val && *p->val;
    PQconninfoFree(opts);
    if (password && on_command_line)
        return sne_error_set(err, SNE_ERR_USAGE, 0,
                             "the connection string holds a password, and every user of this "
                             "machine can read a command line: put it in ~/.pgpass (or "
                             "$PGPASSFILE), or in the config file's pg-dsn");
    return SNE_OK;
}

/* The store's side, read in one snapshot. */
typedef struct store_view {
    uint64_t first, last;
    char digest[33];
} store_view;

static sne_err read_store(sne_store *s, store_view *v, sne_error *err)
{
    sne_err rc = sne_store_read_begin(s);
    if (!rc)
        rc = sne_store_seq_range(s, &v->first, &v->last);
    if (rc)
        *err = *sne_store_error(s);
    else
        rc = pg_scopes_digest(s, v->digest, err);
    sne_store_read_end(s);
    return rc;
}

/* Whether the database's schema is one this run can go on from. */
static sne_err check_layout(const pg_link *l, const pg_state *st)
{
    if (!st->exists)
        return sne_error_set(l->err, SNE_ERR_MISMATCH, 0,
                             "schema %s of %s exists but holds no snesync_state row: snesync "
                             "pg-apply did not make it; choose another --schema, or drop it",
                             l->schema, l->where);
    if (st->version < 1)
        return sne_error_set(l->err, SNE_ERR_MISMATCH, 0,
                             "schema %s of %s has layout version %d, which no snesync makes "
                             "(its state row was changed by hand): drop the schema and run again",
                             l->schema, l->where, st->version);
    if (st->version > SNE_PG_SCHEMA_VERSION)
        return sne_error_set(l->err, SNE_ERR_MISMATCH, 0,
                             "schema %s of %s has layout version %d, made by a newer snesync "
                             "(this one knows version %d): upgrade snesync",
                             l->schema, l->where, st->version, SNE_PG_SCHEMA_VERSION);
    return SNE_OK;
}

/* Whether the store's change log goes on from the database's last seq. */
static sne_err check_follows(const pg_link *l, const pg_state *st, const char *id,
                             const store_view *v)
{
    const char *fix = "--rebuild reloads it from this store's state";
    if (strcmp(st->store_id, id) != 0)
        return sne_error_set(l->err, SNE_ERR_MISMATCH, 0,
                             "schema %s of %s was filled from another store (identity %.32s), "
                             "not this one (%s): its seq means nothing here; %s",
                             l->schema, l->where, st->store_id, id, fix);
    if (st->last_seq > v->last)
        return sne_error_set(l->err, SNE_ERR_MISMATCH, 0,
                             "schema %s of %s has applied changes up to seq %llu, past this "
                             "store's last seq %llu: the store is older than the database "
                             "(restored from a backup?); %s",
                             l->schema, l->where, (unsigned long long)st->last_seq,
                             (unsigned long long)v->last, fix);
    if (st->last_seq + 1 < v->first)
        return sne_error_set(l->err, SNE_ERR_MISMATCH, 0,
                             "schema %s of %s has applied changes up to seq %llu, but the "
                             "store's changes up to %llu were pruned: changes %llu to %llu "
                             "would be missed; %s (prune with --pg-applied to keep this from "
                             "happening)",
                             l->schema, l->where, (unsigned long long)st->last_seq,
                             (unsigned long long)(v->first - 1),
                             (unsigned long long)(st->last_seq + 1),
                             (unsigned long long)(v->first - 1), fix);
    return SNE_OK;
}

/* Loads the schema when there is none, or when it does not follow on and a rebuild is asked. */
static sne_err catch_up(pg_link *l, sne_store *s, const sne_pg_options *o, pg_state *st,
                        const store_view *v, sne_pg_summary *sum)
{
    sne_err rc = SNE_OK;
    if (!st->schema_exists)
        rc = pg_load(l, s, o, false, sum);
    else if (!(rc = check_layout(l, st)) &&
             (rc = check_follows(l, st, sne_store_identity(s), v)) == SNE_ERR_MISMATCH &&
             o->rebuild)
        rc = pg_load(l, s, o, true, sum);
    if (!rc && sum->loaded)
        rc = pg_state_read(l, st);
    if (!rc && !sum->loaded)
        rc = pg_schema_add_entities(l);
    if (rc)
        return rc;
    bool done = st->last_seq >= v->last && strcmp(st->digest, v->digest) == 0 &&
                st->version == SNE_PG_SCHEMA_VERSION; /* else a batch migrates it */
    if (!done)
        rc = pg_schema_staging(l);
    while (!rc && !done)
        rc = pg_batch(l, s, o, st, sum, &done);
    return rc;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

sne_err sne_pg_apply(sne_store *s, const sne_pg_options *o, sne_pg_summary *sum, sne_error *err)
{
    double start = now();
    memset(sum, 0, sizeof(*sum));
    const char *id = sne_store_identity(s);
    snprintf(sum->store_id, sizeof(sum->store_id), "%s", id);
    sne_err rc = sne_pg_check_options(o, false, err);
    if (rc)
        return rc;
    if (!*id)
        return sne_error_set(err, SNE_ERR_MISMATCH, 0,
                             "the store has no identity yet (an older snesync made it): the "
                             "next ingest, sync or prune gives it one");
    pg_link l = {0};
    pg_state st;
    store_view v;
    if (!(rc = pg_connect(&l, o, err)) && !(rc = pg_lock_schema(&l)) &&
        !(rc = pg_state_read(&l, &st)) && !(rc = read_store(s, &v, err))) {
        sum->from_seq = sum->to_seq = st.last_seq;
        rc = catch_up(&l, s, o, &st, &v, sum);
    }
    pg_disconnect(&l);
    sum->seconds = now() - start;
    return rc;
}

sne_err sne_pg_applied(const sne_pg_options *o, const char *store_id, uint64_t *seq, sne_error *err)
{
    pg_link l = {0};
    pg_state st;
    sne_err rc = sne_pg_check_options(o, false, err);
    if (!rc)
        rc = pg_connect(&l, o, err);
    if (!rc)
        rc = pg_state_read(&l, &st);
    if (!rc && !st.schema_exists)
        rc = sne_error_set(err, SNE_ERR_MISMATCH, 0,
                           "%s has no schema %s: it has applied nothing of this store", l.where,
                           l.schema);
    if (!rc && !(rc = check_layout(&l, &st)) && strcmp(st.store_id, store_id) != 0)
        rc = sne_error_set(err, SNE_ERR_MISMATCH, 0,
                           "schema %s of %s follows another store (identity %.32s), not this "
                           "one (%s): its seq says nothing of this store's changes",
                           l.schema, l.where, st.store_id, store_id);
    if (!rc)
        *seq = st.last_seq;
    pg_disconnect(&l);
    return rc;
}
