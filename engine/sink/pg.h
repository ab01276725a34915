/* pg.h: the PostgreSQL sink: a database kept equal to the store, exactly once, through libpq.
 *
 * How to use:
 *     sne_pg_options o;
 *     sne_pg_options_default(&o);
 *     o.conninfo = "host=db dbname=si";   // NULL: libpq's environment (PGHOST...) and ~/.pgpass
 *     sne_pg_summary sum;
 *     sne_pg_apply(store, &o, &sum, &err);   // the changes the database has not applied yet
 *     sne_pg_applied(&o, sne_store_identity(store), &seq, &err);   // how far it is, for prune
 *
 * In the database, schema o.schema (default "sne") holds:
 *   item                  every item: (entity, num_unique, item_key, item jsonb), partitioned by
 *                         entity into one table per entity, named by its code in lower case
 *                         (cerfa, dalo, evt, ... from schema/entities.def), each with the primary
 *                         key (num_unique, item_key); item_key is '' for single-item entities and
 *                         item is the JSON of the item as `snesync changes` prints `after`;
 *   demande               one row per demand holding at least one item: num_unique (primary key),
 *                         etat_demande (ACTIVE or RADIEE), date_derniere_modification
 *                         (timestamptz; NULL when the export's value is no xs:dateTime);
 *   snesync_state         one row: the schema's version, the identity of the store it follows,
 *                         the last seq applied, the digest of the store's scopes when demande was
 *                         last compared with every demand, and when the seq last moved.
 *
 * The layout follows entities.def: a run adds to an older schema the tables of entities it lacks.
 *
 * Exactly once: changes are applied in batches, each in one transaction that also moves the last
 * seq; a kill or a lost connection leaves the database at a batch boundary and the next run goes
 * on from there. A database that does not follow on from the store (its changes were pruned
 * before it applied them, it was filled from another store, it is ahead of the store) is refused
 * with SNE_ERR_MISMATCH, or reloaded from the store's state with `rebuild`: into a new schema,
 * swapped in in one transaction, so readers see the old tables or the new ones, never a mix.
 *
 * Messages name the database (name, host, port) and the batch, never a password, a row's data or
 * a value of PostgreSQL's error detail (which may quote personal data). */
#ifndef SNE_SINK_PG_H
#define SNE_SINK_PG_H

#include "../common/error.h"
#include "../store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNE_PG_SCHEMA_VERSION 2  /* the layout above; an older one is migrated, a newer refused */
#define SNE_PG_SCHEMA_MAX     40 /* bytes of a schema name: [a-z_][a-z0-9_]* */
#define SNE_PG_BATCH_DEFAULT  100000
#define SNE_PG_BATCH_MAX      1000000

typedef enum sne_pg_phase {
    SNE_PG_LOADING,   /* filling a new schema from the store's state; `rows` so far */
    SNE_PG_COPIED,    /* a batch's changes are in the staging tables */
    SNE_PG_MERGED,    /* ... merged into the tables, not yet committed */
    SNE_PG_COMMITTED, /* ... committed: `seq` is the database's last seq */
} sne_pg_phase;

typedef struct sne_pg_progress {
    sne_pg_phase phase;
    uint64_t batch;    /* batches begun in this run, from 1 */
    uint64_t seq;      /* the last seq the batch applies (or the load's) */
    uint64_t last_seq; /* the store's last seq when the batch was read */
    uint64_t rows;     /* changes (items, for a load) sent in this run so far */
} sne_pg_progress;

/* Called on the calling thread; it may stop the process (the tests' kill points). */
typedef void (*sne_pg_progress_fn)(void *ctx, const sne_pg_progress *p);

typedef struct sne_pg_options {
    const char *conninfo; /* a libpq connection string or URI; NULL or "": the environment */
    const char *schema;   /* default "sne" */
    size_t batch;         /* changes per transaction, 1..SNE_PG_BATCH_MAX */
    bool rebuild;         /* reload from the store's state a database that does not follow on */
    sne_pg_progress_fn progress;
    void *progress_ctx;
} sne_pg_options;

void sne_pg_options_default(sne_pg_options *o);

typedef struct sne_pg_summary {
    char store_id[33];
    uint64_t from_seq, to_seq; /* the database's last seq before and after */
    uint64_t changes;          /* changes read from the log and applied */
    uint64_t batches;          /* transactions committed */
    uint64_t items_written;    /* item rows inserted or updated (a load: inserted) */
    uint64_t items_deleted;
    uint64_t demandes_written; /* demande rows inserted or changed */
    uint64_t demandes_deleted;
    bool loaded;     /* filled from the store's state: a new schema, or a rebuild */
    bool rebuilt;    /* ... replacing the schema that was there */
    bool reconciled; /* demande was compared with every demand held (see README) */
    double seconds;
} sne_pg_summary;

/* Applies to the database the store's changes after its last seq (all of them in batches, or a
 * load of the store's state for a schema that does not exist yet), and brings demande up to date.
 * `store` is only read (a read-only handle will do). Errors: SNE_ERR_USAGE (options),
 * SNE_ERR_MISMATCH (the database does not follow on from the store; the message says which way
 * and what to do), SNE_ERR_BUSY (another pg-apply holds the schema), SNE_ERR_DATABASE (the
 * database failed: the batches committed before stay, the next run continues), the store's. */
sne_err sne_pg_apply(sne_store *store, const sne_pg_options *o, sne_pg_summary *sum,
                     sne_error *err);

/* The last seq the database has applied from the store whose identity is `store_id`:
 * SNE_ERR_MISMATCH when it holds no schema of snesync or follows another store. */
sne_err sne_pg_applied(const sne_pg_options *o, const char *store_id, uint64_t *seq,
                       sne_error *err);

/* Checks the options before anything is opened: the schema name, the batch size, and a
 * connection string that libpq can parse; `on_command_line` refuses one holding a password
 * (every user of the machine can read a command line). */
sne_err sne_pg_check_options(const sne_pg_options *o, bool on_command_line, sne_error *err);

#endif
