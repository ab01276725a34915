/* pg_link.c: the sink's connection to PostgreSQL, its statements and how their failures are
 * worded: where (database, host, port), what was being done, and PostgreSQL's SQLSTATE and
 * primary message, never its detail, context or the connection string (a password may be in
 * it). */
#include "pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The first line of a libpq message, without its "ERROR:  " or "FATAL:  " prefix. */
static void first_line(const char *msg, char *out, size_t cap)
{
    if (!msg || !*msg)
        msg = "no message";
    const char *severity_end = strstr(msg, ":  "); /* "ERROR:  ", "FATAL:  " */
    if (severity_end && severity_end - msg < 10)
        msg = severity_end + 3;
    size_t n = strcspn(msg, "\n");
    snprintf(out, cap, "%.*s", (int)(n < 300 ? n : 300), msg);
}

static void describe_where(pg_link *l)
{
    const char *db = PQdb(l->conn), *host = PQhost(l->conn), *port = PQport(l->conn);
    snprintf(l->where, sizeof(l->where), "database %.40s (host %.80s, port %.8s)",
             db && *db ? db : "?", host && *host ? host : "default", port && *port ? port : "?");
}

/* The server's notices and warnings are not shown: what matters reaches the caller as an error
 * (a shutdown's warning precedes the lost connection), and a notice's text is not ours to vet
 * for personal data. */
static void ignore_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

sne_err pg_connect(pg_link *l, const sne_pg_options *o, sne_error *err)
{
    /* Later keywords win over the connection string's: the encoding is not the caller's to
     * choose, since every text this sink sends is UTF-8. */
    const char *const keys[] = {"fallback_application_name", "dbname", "client_encoding", NULL};
    const char *const values[] = {"snesync", o->conninfo ? o->conninfo : "", "UTF8", NULL};
    l->err = err;
    snprintf(l->schema, sizeof(l->schema), "%s", o->schema);
    l->conn = PQconnectdbParams(keys, values, 1);
    if (!l->conn)
        return sne_error_set(err, SNE_ERR_NOMEM, 0, "out of memory");
    describe_where(l);
    PQsetNoticeProcessor(l->conn, ignore_notice, NULL);
    if (PQstatus(l->conn) != CONNECTION_OK) {
        char why[320];
        first_line(PQerrorMessage(l->conn), why, sizeof(why));
        sne_error_set(err, SNE_ERR_DATABASE, 0, "cannot connect to %s: %s", l->where, why);
        pg_disconnect(l);
        return SNE_ERR_DATABASE;
    }
    /* A killed pg-apply leaves its session to the server, which notices only when it next
     * reads from or writes to the socket; from PostgreSQL 14 on it can be asked to check every
     * second during a long statement too, so that the transaction and the schema's lock go
     * soon and the next run need not wait for them. */
    sne_err rc = pg_command(l, "SET jit = off", NULL, "cannot set up the session");
    if (!rc && PQserverVersion(l->conn) >= 140000)
        rc = pg_command(l, "SET client_connection_check_interval = 1000", NULL,
                        "cannot set up the session");
    return rc;
}

void pg_disconnect(pg_link *l)
{
    if (l->conn)
        PQfinish(l->conn);
    l->conn = NULL;
}

/* Whether a failure is the connection's: libpq's own (no SQLSTATE), a connection exception
 * (class 08) or the server going down (57P01 to 57P03). */
static bool connection_lost(const pg_link *l, const PGresult *res, const char *state)
{
    return !res || PQstatus(l->conn) == CONNECTION_BAD || !state || strncmp(state, "08", 2) == 0 ||
           strncmp(state, "57P0", 4) == 0;
}

sne_err pg_fail(pg_link *l, const PGresult *res, const char *what)
{
    char why[320];
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    if (connection_lost(l, res, state)) {
        if (res && PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY))
            snprintf(why, sizeof(why), "%.300s", PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY));
        else
            first_line(PQerrorMessage(l->conn), why, sizeof(why));
        return sne_error_set(l->err, SNE_ERR_DATABASE, 0,
                             "%s: the connection to %s failed: %s; the database keeps its "
                             "last committed batch, and the next run goes on from there",
                             what, l->where, why);
    }
    const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *table = PQresultErrorField(res, PG_DIAG_TABLE_NAME);
    const char *constraint = PQresultErrorField(res, PG_DIAG_CONSTRAINT_NAME);
    if (primary)
        snprintf(why, sizeof(why), "%.300s", primary);
    else
        first_line(PQresultErrorMessage(res), why, sizeof(why));
    /* Class 53, insufficient resources: disk full (53100), out of memory, too many connections.
     * The transaction is rolled back whole: said, since a full disk is the operator's to fix. */
    const char *hint = strncmp(state, "53", 2) == 0
                           ? "; the server lacks room (disk space, memory or connections): the "
                             "database keeps its last committed batch; free some and run again"
                           : "";
    return sne_error_set(l->err, SNE_ERR_DATABASE, 0, "%s: %s: %s [SQLSTATE %s%s%.63s%s%.63s]%s",
                         what, l->where, why, state, table ? ", table " : "", table ? table : "",
                         constraint ? ", constraint " : "", constraint ? constraint : "", hint);
}

static bool succeeded(const PGresult *res)
{
    ExecStatusType st = PQresultStatus(res);
    return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

sne_err pg_command(pg_link *l, const char *sql, uint64_t *affected, const char *what)
{
    PGresult *res = PQexec(l->conn, sql);
    sne_err rc = succeeded(res) ? SNE_OK : pg_fail(l, res, what);
    if (!rc && affected) {
        const char *n = PQcmdTuples(res);
        *affected = *n ? strtoull(n, NULL, 10) : 0;
    }
    PQclear(res);
    return rc;
}

sne_err pg_query(pg_link *l, const char *sql, int n, const char *const *params, PGresult **res,
                 const char *what)
{
    *res = PQexecParams(l->conn, sql, n, NULL, params, NULL, NULL, 0);
    if (succeeded(*res))
        return SNE_OK;
    sne_err rc = pg_fail(l, *res, what);
    PQclear(*res);
    *res = NULL;
    return rc;
}

void pg_rollback(pg_link *l)
{
    if (l->conn && PQstatus(l->conn) == CONNECTION_OK &&
        PQtransactionStatus(l->conn) != PQTRANS_IDLE)
        PQclear(PQexec(l->conn, "ROLLBACK"));
}

/* The lock's first key: "snes" in ASCII; the second is a hash of the schema's name. */
#define LOCK_CLASS "1936614771"

sne_err pg_lock_schema(pg_link *l)
{
    char sql[160];
    snprintf(sql, sizeof(sql), "SET lock_timeout = %d", PG_LOCK_WAIT_MS);
    const char *params[] = {l->schema};
    PGresult *res;
    sne_err rc = pg_command(l, sql, NULL, "cannot lock the schema");
    if (!rc && (res = PQexecParams(l->conn, "SELECT pg_advisory_lock(" LOCK_CLASS ", hashtext($1))",
                                   1, NULL, params, NULL, NULL, 0)) != NULL) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state && strcmp(state, "55P03") == 0) /* lock_not_available: the timeout */
            rc = sne_error_set(l->err, SNE_ERR_BUSY, 0,
                               "another snesync pg-apply is writing to schema %s of %s (waited "
                               "%d s for it); retry later",
                               l->schema, l->where, PG_LOCK_WAIT_MS / 1000);
        else if (PQresultStatus(res) != PGRES_TUPLES_OK)
            rc = pg_fail(l, res, "cannot lock the schema");
        PQclear(res);
    } else if (!rc) {
        rc = pg_fail(l, NULL, "cannot lock the schema");
    }
    return rc ? rc : pg_command(l, "SET lock_timeout = 0", NULL, "cannot lock the schema");
}
