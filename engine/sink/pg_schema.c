/* pg_schema.c: the sink's layout in PostgreSQL (pg.h), generated from the entity table
 * (schema/entities.def through common/schema.h), its state row, the session's staging tables,
 * the swap of a rebuilt schema, and the rows that describe a demand.
 *
 * Names: the schema name is checked (sne_pg_check_options: [a-z_][a-z0-9_]*, at most
 * SNE_PG_SCHEMA_MAX bytes) before it is written into any statement, and a rebuild's schemas add
 * at most 12 bytes to it, within PostgreSQL's 63. */
#include "pg_internal.h"

#include "../common/isotime.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <xxhash.h>

#define SQL_CAP (1u << 20)

void pg_entity_table(sne_entity e, char out[PG_TABLE_MAX])
{
    const char *code = sne_entity_info_of(e)->code;
    size_t i = 0;
    for (; code[i] && i < PG_TABLE_MAX - 1; i++)
        out[i] = (char)tolower((unsigned char)code[i]);
    out[i] = '\0';
}

/* Runs the statements that `b` holds, then frees it. */
static sne_err run_sql(pg_link *l, sne_buf *b, sne_err rc, const char *what)
{
    if (rc)
        rc = sne_error_set(l->err, rc, 0, "%s: a statement does not fit its buffer", what);
    else
        rc = pg_command(l, (const char *)b->data, NULL, what);
    sne_buf_free(b);
    return rc;
}

sne_err pg_state_read(pg_link *l, pg_state *st)
{
    memset(st, 0, sizeof(*st));
    const char *params[] = {l->schema};
    PGresult *res;
    sne_err rc = pg_query(l,
                          "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1), "
                          "to_regclass(quote_ident($1) || '.snesync_state') IS NOT NULL",
                          1, params, &res, "cannot read the sink's state");
    if (rc)
        return rc;
    st->schema_exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    bool has_table = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    PQclear(res);
    if (!has_table)
        return SNE_OK;
    /* Only the version first: a newer layout may have changed the other columns. */
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT schema_version FROM \"%s\".snesync_state", l->schema);
    if ((rc = pg_query(l, sql, 0, NULL, &res, "cannot read the sink's state")))
        return rc;
    st->exists = PQntuples(res) == 1;
    st->version = st->exists ? atoi(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    if (!st->exists || st->version > SNE_PG_SCHEMA_VERSION)
        return SNE_OK;
    snprintf(sql, sizeof(sql), "SELECT store_id, last_seq, scopes_digest FROM \"%s\".snesync_state",
             l->schema);
    if ((rc = pg_query(l, sql, 0, NULL, &res, "cannot read the sink's state")))
        return rc;
    snprintf(st->store_id, sizeof(st->store_id), "%s", PQgetvalue(res, 0, 0));
    st->last_seq = strtoull(PQgetvalue(res, 0, 1), NULL, 10);
    snprintf(st->digest, sizeof(st->digest), "%s", PQgetvalue(res, 0, 2));
    PQclear(res);
    return SNE_OK;
}

/* The compression of item values: lz4 where the server has it. A large item (a CERFA's jsonb
 * often passes TOAST's 2 KB) is compressed as it is written, and pglz took a sixth of the time
 * of a load, lz4 a fraction of that. The staging tables use the same, so that a value staged
 * compressed goes into its table as it is. Keys are compared bytewise (COLLATE "C"): whatever
 * the database's locale, the primary keys and the joins on them cost a memcmp. */
static sne_err item_compression(pg_link *l, const char **clause)
{
    PGresult *res;
    sne_err rc = pg_query(l,
                          "SELECT EXISTS (SELECT 1 FROM pg_settings WHERE name = "
                          "'default_toast_compression' AND 'lz4' = ANY (enumvals))",
                          0, NULL, &res, "cannot read the server's settings");
    if (rc)
        return rc;
    *clause = strcmp(PQgetvalue(res, 0, 0), "t") == 0 ? " COMPRESSION lz4" : "";
    PQclear(res);
    return SNE_OK;
}

/* The comment that marks a schema as a load in progress (pg_load.c): the only schema that
 * snesync drops without a word. */
#define LOAD_MARK "snesync: a load in progress, dropped by the next pg-apply"

sne_err pg_schema_drop_load(pg_link *l, const char *name)
{
    const char *params[] = {name};
    PGresult *res;
    sne_err rc = pg_query(l,
                          "SELECT coalesce(obj_description(oid, 'pg_namespace'), '') FROM "
                          "pg_namespace WHERE nspname = $1",
                          1, params, &res, "cannot read the schemas");
    if (rc)
        return rc;
    bool exists = PQntuples(res) == 1;
    bool ours = exists && strcmp(PQgetvalue(res, 0, 0), LOAD_MARK) == 0;
    PQclear(res);
    if (!exists)
        return SNE_OK;
    if (!ours)
        return sne_error_set(l->err, SNE_ERR_MISMATCH, 0,
                             "schema %s of %s is in the way of the load, and snesync did not "
                             "make it: drop or rename it",
                             name, l->where);
    char sql[128];
    snprintf(sql, sizeof(sql), "DROP SCHEMA \"%s\" CASCADE", name);
    return pg_command(l, sql, NULL, "cannot drop an unfinished load");
}

sne_err pg_schema_create(pg_link *l, const char *name)
{
    const char *compression;
    sne_err rc = item_compression(l, &compression);
    if (rc)
        return rc;
    sne_buf b;
    sne_buf_init(&b, SQL_CAP);
    rc = sne_buf_printf(
        &b,
        "CREATE SCHEMA \"%s\";COMMENT ON SCHEMA \"%s\" IS '" LOAD_MARK "';"
        "CREATE TABLE \"%s\".item (entity text COLLATE \"C\" NOT NULL, num_unique text "
        "COLLATE \"C\" NOT NULL, item_key text COLLATE \"C\" NOT NULL, item jsonb%s NOT NULL) "
        "PARTITION BY LIST (entity);"
        "COMMENT ON TABLE \"%s\".item IS 'snesync: every item of the store, one table per "
        "entity; item is its JSON as snesync changes prints after';",
        name, name, name, compression, name);
    for (int e = 0; !rc && e < SNE_ENTITY__COUNT; e++) {
        char t[PG_TABLE_MAX];
        pg_entity_table((sne_entity)e, t);
        rc = sne_buf_printf(&b,
                            "CREATE TABLE \"%s\".%s PARTITION OF \"%s\".item "
                            "FOR VALUES IN ('%s');",
                            name, t, name, sne_entity_info_of((sne_entity)e)->code);
    }
    if (!rc)
        rc = sne_buf_printf(
            &b,
            "CREATE TABLE \"%s\".demande (num_unique text COLLATE \"C\" NOT NULL, "
            "etat_demande text NOT NULL, date_derniere_modification timestamptz) "
            "WITH (fillfactor = " PG_DEMANDE_FILLFACTOR ");"
            "COMMENT ON TABLE \"%s\".demande IS 'snesync: the demands holding at least one item';"
            "CREATE TABLE \"%s\".snesync_state (singleton boolean NOT NULL DEFAULT true "
            "CHECK (singleton), schema_version integer NOT NULL, store_id text NOT NULL, "
            "last_seq bigint NOT NULL, scopes_digest text NOT NULL, "
            "applied_at timestamptz NOT NULL);"
            "COMMENT ON TABLE \"%s\".snesync_state IS 'snesync pg-apply: the store followed "
            "and its last seq applied; written by snesync only';",
            name, name, name, name);
    return run_sql(l, &b, rc, "cannot create the tables");
}

sne_err pg_schema_add_keys(pg_link *l, const char *name)
{
    sne_buf b;
    sne_buf_init(&b, SQL_CAP);
    sne_err rc = SNE_OK;
    for (int e = 0; !rc && e < SNE_ENTITY__COUNT; e++) {
        char t[PG_TABLE_MAX];
        pg_entity_table((sne_entity)e, t);
        rc = sne_buf_printf(&b, "ALTER TABLE \"%s\".%s ADD PRIMARY KEY (num_unique, item_key);",
                            name, t);
    }
    if (!rc)
        rc = sne_buf_printf(&b,
                            "ALTER TABLE \"%s\".demande ADD PRIMARY KEY (num_unique);"
                            "ALTER TABLE \"%s\".snesync_state ADD PRIMARY KEY (singleton);",
                            name, name);
    return run_sql(l, &b, rc, "cannot index the tables");
}

/* Whether table `table` is among the partitions listed in `res`. */
static bool has_partition(const PGresult *res, const char *table)
{
    for (int i = 0; i < PQntuples(res); i++)
        if (strcmp(PQgetvalue(res, i, 0), table) == 0)
            return true;
    return false;
}

sne_err pg_schema_add_entities(pg_link *l)
{
    const char *params[] = {l->schema};
    PGresult *res;
    sne_err rc = pg_query(l,
                          "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = "
                          "i.inhrelid WHERE i.inhparent = to_regclass(quote_ident($1) || '.item')",
                          1, params, &res, "cannot read the schema's tables");
    if (rc)
        return rc;
    sne_buf b;
    sne_buf_init(&b, SQL_CAP);
    for (int e = 0; !rc && e < SNE_ENTITY__COUNT; e++) {
        char t[PG_TABLE_MAX];
        pg_entity_table((sne_entity)e, t);
        if (!has_partition(res, t))
            rc = sne_buf_printf(&b,
                                "CREATE TABLE \"%s\".%s PARTITION OF \"%s\".item FOR VALUES IN "
                                "('%s');ALTER TABLE \"%s\".%s ADD PRIMARY KEY (num_unique, "
                                "item_key);",
                                l->schema, t, l->schema, sne_entity_info_of((sne_entity)e)->code,
                                l->schema, t);
    }
    PQclear(res);
    if (!rc && b.len == 0) {
        sne_buf_free(&b);
        return SNE_OK;
    }
    return run_sql(l, &b, rc, "cannot add the tables of new entities");
}

sne_err pg_schema_staging(pg_link *l)
{
    const char *compression;
    sne_err rc = item_compression(l, &compression);
    if (rc)
        return rc;
    sne_buf b;
    sne_buf_init(&b, SQL_CAP);
    rc = sne_buf_printf(&b,
                        "CREATE TEMP TABLE snesync_stage (seq bigint NOT NULL, op smallint NOT "
                        "NULL, entity text COLLATE \"C\" NOT NULL, num_unique text COLLATE \"C\" "
                        "NOT NULL, item_key text COLLATE \"C\" NOT NULL, item jsonb%s) "
                        "PARTITION BY LIST (entity) ON COMMIT DELETE ROWS;",
                        compression);
    for (int e = 0; !rc && e < SNE_ENTITY__COUNT; e++) {
        char t[PG_TABLE_MAX];
        pg_entity_table((sne_entity)e, t);
        rc = sne_buf_printf(&b,
                            "CREATE TEMP TABLE snesync_stage_%s PARTITION OF snesync_stage "
                            "FOR VALUES IN ('%s') ON COMMIT DELETE ROWS;",
                            t, sne_entity_info_of((sne_entity)e)->code);
    }
    if (!rc)
        rc = sne_buf_printf(&b, "CREATE TEMP TABLE snesync_stage_demande (num_unique text COLLATE "
                                "\"C\" NOT NULL, etat_demande text, date_derniere_modification "
                                "timestamptz) ON COMMIT DELETE ROWS;");
    return run_sql(l, &b, rc, "cannot create the staging tables");
}

/* The statements that make again, on a rebuilt schema, what others added to the old one: its
 * tables' indexes that are no constraint's (an index on the partitioned item table once, not
 * per partition), and the privileges granted on the schema and its tables. */
static const char carry_over_sql[] =
    "SELECT replace(pg_get_indexdef(i.indexrelid), ' ON ONLY ', ' ON ') "
    "FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid "
    "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = $1 "
    "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
    "AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = i.indexrelid) "
    "UNION ALL "
    "SELECT format('GRANT %s ON TABLE %I.%I TO %s', a.privilege_type, n.nspname, c.relname, "
    "CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END) "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "CROSS JOIN LATERAL aclexplode(c.relacl) a "
    "WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.grantee <> c.relowner "
    "UNION ALL "
    "SELECT format('GRANT %s ON SCHEMA %I TO %s', a.privilege_type, n.nspname, "
    "CASE a.grantee WHEN 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END) "
    "FROM pg_namespace n CROSS JOIN LATERAL aclexplode(n.nspacl) a "
    "WHERE n.nspname = $1 AND a.grantee <> n.nspowner";

/* Objects of others that would stop the old schema's drop: views on its tables and foreign keys
 * to them, wherever they are, and relations in the schema that snesync did not make. */
static const char dependents_sql[] =
    "WITH ours AS (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
    "WHERE n.nspname = $1 AND (c.relname IN ('item', 'demande', 'snesync_state') OR c.oid IN "
    "(SELECT inhrelid FROM pg_inherits WHERE inhparent = to_regclass(quote_ident($1) || "
    "'.item')))) "
    "SELECT DISTINCT format('view %I.%I', vn.nspname, v.relname) FROM pg_depend d "
    "JOIN pg_rewrite r ON r.oid = d.objid JOIN pg_class v ON v.oid = r.ev_class "
    "JOIN pg_namespace vn ON vn.oid = v.relnamespace "
    "WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid IN (SELECT oid FROM ours) "
    "AND v.oid NOT IN (SELECT oid FROM ours) "
    "UNION SELECT format('foreign key %I of %s', conname, conrelid::regclass) FROM pg_constraint "
    "WHERE confrelid IN (SELECT oid FROM ours) AND conrelid NOT IN (SELECT oid FROM ours) "
    "UNION SELECT format('%s %I.%I', CASE c.relkind WHEN 'v' THEN 'view' WHEN 'm' THEN "
    "'materialized view' WHEN 'S' THEN 'sequence' ELSE 'table' END, n.nspname, c.relname) "
    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 "
    "AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND c.oid NOT IN (SELECT oid FROM ours) "
    "ORDER BY 1 LIMIT 10";

sne_err pg_schema_check_replaceable(pg_link *l)
{
    const char *params[] = {l->schema};
    PGresult *res;
    sne_err rc = pg_query(l, dependents_sql, 1, params, &res, "cannot read the old schema");
    if (rc || PQntuples(res) == 0) {
        PQclear(res);
        return rc;
    }
    char list[400] = "";
    for (int i = 0; i < PQntuples(res); i++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%s", i ? ", " : "",
                 PQgetvalue(res, i, 0));
    PQclear(res);
    return sne_error_set(l->err, SNE_ERR_MISMATCH, 0,
                         "schema %s of %s cannot be rebuilt while other objects depend on it: "
                         "%s; drop them, rebuild, then make them again (indexes and grants on "
                         "its tables are carried over)",
                         l->schema, l->where, list);
}

sne_err pg_schema_swap(pg_link *l, const char *fresh, bool replace)
{
    const char *params[] = {l->schema};
    PGresult *carried = NULL;
    if (replace) {
        sne_err rc = pg_query(l, carry_over_sql, 1, params, &carried, "cannot read the old schema");
        if (rc)
            return rc;
    }
    sne_buf b;
    sne_buf_init(&b, SQL_CAP);
    sne_err rc = SNE_OK;
    if (replace)
        rc = sne_buf_printf(&b,
                            "ALTER SCHEMA \"%s\" RENAME TO \"%s_snesync_old\";"
                            "DROP TABLE \"%s_snesync_old\".item, \"%s_snesync_old\".demande, "
                            "\"%s_snesync_old\".snesync_state;"
                            "DROP SCHEMA \"%s_snesync_old\";",
                            l->schema, l->schema, l->schema, l->schema, l->schema, l->schema);
    if (!rc)
        rc = sne_buf_printf(
            &b, "ALTER SCHEMA \"%s\" RENAME TO \"%s\";COMMENT ON SCHEMA \"%s\" IS NULL;", fresh,
            l->schema, l->schema);
    for (int i = 0; !rc && carried && i < PQntuples(carried); i++)
        rc = sne_buf_printf(&b, "%s;", PQgetvalue(carried, i, 0));
    PQclear(carried);
    return run_sql(l, &b, rc, "cannot put the rebuilt schema in place");
}

typedef struct digest_ctx {
    XXH3_state_t *state;
} digest_ctx;

static sne_err digest_scope(void *ctx, const char *scope, const char *numero, const char *date)
{
    digest_ctx *d = ctx;
    /* Each with its NUL, so that no two lists hash the same bytes. */
    XXH3_128bits_update(d->state, scope, strlen(scope) + 1);
    XXH3_128bits_update(d->state, numero, strlen(numero) + 1);
    XXH3_128bits_update(d->state, date, strlen(date) + 1);
    return SNE_OK;
}

sne_err pg_scopes_digest(sne_store *s, char out[33], sne_error *err)
{
    digest_ctx d = {XXH3_createState()};
    if (!d.state)
        return sne_error_set(err, SNE_ERR_NOMEM, 0, "out of memory");
    XXH3_128bits_reset(d.state);
    sne_err rc = sne_store_scopes(s, digest_scope, &d);
    if (rc) {
        *err = *sne_store_error(s);
    } else {
        XXH128_hash_t h = XXH3_128bits_digest(d.state);
        snprintf(out, 33, "%016llx%016llx", (unsigned long long)h.high64,
                 (unsigned long long)h.low64);
    }
    XXH3_freeState(d.state);
    return rc;
}

/* Microseconds from 1970-01-01 to 2000-01-01, PostgreSQL's epoch. */
#define PG_EPOCH_US 946684800000000LL

sne_err pg_copy_demande(pg_copy *c, const char *num, const sne_header *h)
{
    char date[SNE_DATE_MAX + 1];
    size_t n = h->date_len < SNE_DATE_MAX ? h->date_len : SNE_DATE_MAX;
    memcpy(date, h->date_modification, n);
    date[n] = '\0';
    int64_t ms;
    const char *etat = h->radiee ? "RADIEE" : "ACTIVE";
    sne_err rc = pg_copy_row(c, 3);
    if (!rc)
        rc = pg_copy_text(c, num, strlen(num));
    if (!rc)
        rc = pg_copy_text(c, etat, strlen(etat));
    if (!rc)
        rc = sne_isotime_parse(date, &ms) ? pg_copy_int8(c, ms * 1000 - PG_EPOCH_US)
                                          : pg_copy_null(c);
    return rc;
}
