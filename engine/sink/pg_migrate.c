/* pg_migrate.c: an older schema brought to the layout this snesync writes (SNE_PG_SCHEMA_VERSION),
 * one step per version, in the transaction of the run's first batch: the steps, the batch and the
 * new version commit together or not at all, so a kill or a failure leaves the schema at its old
 * version with its old data, and the next run migrates it again.
 *
 * A step is SQL that takes a schema of version N to version N + 1, naming the schema's tables
 * unqualified: the steps run with the schema alone on the search path. A step must work on any
 * schema of version N that snesync made, also one in which others added indexes or grants, and must
 * not need the store: what needs the store's state is a rebuild, not a migration. A new layout adds
 * its step at the end of `steps` and raises SNE_PG_SCHEMA_VERSION by one; pg_schema_create makes
 * the new layout directly. A schema of a version newer than SNE_PG_SCHEMA_VERSION is refused before
 * any of this (pg_apply.c, check_layout). */
#include "pg_internal.h"

#include <stdio.h>

typedef struct migration_step {
    const char *what; /* for the error message */
    const char *sql;
} migration_step;

/* steps[i] takes version i + 1 to version i + 2. */
static const migration_step steps[] = {
    /* 1 -> 2: demande leaves half of each page free, so that the monthly change of a demand's
     * date is a HOT update (the new row on the same page, no new index entry). It applies to
     * the pages written from then on; a --rebuild applies it to every page. */
    {"version 2 (demande's fillfactor)",
     "ALTER TABLE demande SET (fillfactor = " PG_DEMANDE_FILLFACTOR ")"},
};

_Static_assert(sizeof(steps) / sizeof(steps[0]) == SNE_PG_SCHEMA_VERSION - 1,
               "one migration step per layout version after the first");

sne_err pg_migrate(pg_link *l, int version)
{
    if (version == SNE_PG_SCHEMA_VERSION)
        return SNE_OK;
    const char *params[] = {l->schema};
    PGresult *res;
    sne_err rc = pg_query(l, "SELECT set_config('search_path', quote_ident($1), true)", 1, params,
                          &res, "cannot migrate the schema");
    PQclear(res);
    for (int v = version; !rc && v < SNE_PG_SCHEMA_VERSION; v++) {
        char what[128];
        snprintf(what, sizeof(what), "cannot migrate schema %s to %s", l->schema,
                 steps[v - 1].what);
        rc = pg_command(l, steps[v - 1].sql, NULL, what);
    }
    if (!rc) /* the session's own search path again, for the rest of the batch */
        rc = pg_command(l, "RESET search_path", NULL, "cannot migrate the schema");
    char sql[160];
    snprintf(sql, sizeof(sql), "UPDATE \"%s\".snesync_state SET schema_version = %d", l->schema,
             SNE_PG_SCHEMA_VERSION);
    return rc ? rc : pg_command(l, sql, NULL, "cannot record the schema's new version");
}
