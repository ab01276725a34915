/* snesync pg-apply: the store's changes applied to a PostgreSQL database, exactly once
 * (engine/sink/pg.h); and the PostgreSQL options that prune --pg-applied and sync --pg-apply
 * share with it. */
#include "cli.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "Usage: snesync pg-apply [--store DIR] [--dsn CONNINFO] [--schema NAME] [--batch N]\n"
    "                        [--rebuild] [--config FILE] [--json] [--metrics-file PATH]\n"
    "\n"
    "Applies the store's changes to a PostgreSQL database, from where that database left off:\n"
    "one table per entity (sne.cerfa, sne.evt, ...: num_unique, item_key, item jsonb), the\n"
    "demands (sne.demande) and the state (sne.snesync_state: the store followed, the last seq\n"
    "applied). Each batch commits with its seq: killed or cut off at any point, the database\n"
    "stays at a batch boundary and the next run goes on from there. A database without the\n"
    "schema is filled from the store's state.\n"
    "\n"
    "  --dsn CONNINFO  a libpq connection string or URI (default: libpq's environment, PGHOST,\n"
    "                  PGDATABASE..., and ~/.pgpass); never a password: use ~/.pgpass\n"
    "  --schema NAME   the schema (default sne; lower-case letters, digits, '_')\n"
    "  --batch N       changes per transaction (default and most: 1000000)\n"
    "  --rebuild       a database that does not follow on from the store (the changes after\n"
    "                  its seq were pruned, it was filled from another store, it is ahead of\n"
    "                  the store) is reloaded from the store's state, into a new schema swapped\n"
    "                  in by one commit (its indexes and grants are carried over); without it,\n"
    "                  such a database is refused (status 10) and left as it is. A load (also\n"
    "                  the first) copies its items over a second connection too\n"
    "  --config FILE   the config file's pg-dsn, pg-schema, pg-batch and store keys\n"
    "  --json          print the run's report as one JSON object, also when it fails\n"
    "  --metrics-file PATH  write the run's metrics there (Prometheus text format), also\n"
    "                  when it fails\n"
    "\n"
    "Exit status: 0 done, 2 usage (or no store at DIR), 5 another pg-apply holds the schema,\n"
    "6 store failure, 10 the database does not follow on from the store (the message says why\n"
    "and how to fix it), 11 the database failed or could not be reached (the batches before\n"
    "stay committed; run again).\n";

int cli_pg_option(cli_pg *p, int opt, const char *arg)
{
    switch (opt) {
    case OPT_PG_DSN:
        p->cli[CONF_PG_DSN] = arg;
        return 0;
    case OPT_PG_SCHEMA:
        p->cli[CONF_PG_SCHEMA] = arg;
        return 0;
    case OPT_PG_BATCH:
        p->cli[CONF_PG_BATCH] = arg;
        return 0;
    case OPT_PG_REBUILD:
        p->rebuild = true;
        return 0;
    case OPT_PG_APPLIED:
        p->applied = true;
        return 0;
    default:
        return EXIT_USAGE;
    }
}

/* Fills `o` from the options given (`cli`, may be NULL) over the config file's values. */
static int pg_options(const char *const *cli, const cli_conf *conf, const char *cmd,
                      sne_pg_options *o)
{
    const char *value[CONF__COUNT];
    for (int k = 0; k < CONF__COUNT; k++)
        value[k] = cli && cli[k] ? cli[k] : conf->value[k];
    sne_pg_options_default(o);
    o->conninfo = value[CONF_PG_DSN];
    if (value[CONF_PG_SCHEMA])
        o->schema = value[CONF_PG_SCHEMA];
    uint64_t batch = o->batch;
    if (value[CONF_PG_BATCH] && !cli_parse_u64(value[CONF_PG_BATCH], &batch))
        batch = 0; /* refused below */
    o->batch = batch > SNE_PG_BATCH_MAX ? 0 : (size_t)batch;
    sne_error err = {0};
    if (sne_pg_check_options(o, cli && cli[CONF_PG_DSN], &err) == SNE_OK)
        return EXIT_OK;
    fprintf(stderr, "snesync %s: %s\n", cmd, err.message);
    return EXIT_USAGE;
}

int cli_pg_settings(const char *cmd, const cli_pg *p, const cli_common *common, sne_pg_options *o)
{
    return pg_options(p->cli, &common->conf, cmd, o);
}

/* --- progress on a terminal, and the test hooks ----------------------------------------------- */

typedef struct watch {
    bool tty;
    double last;
    const char *kill_phase, *stop_phase; /* SNESYNC_TEST_KILL_AT / _STOP_AT = phase[:N] */
    uint64_t kill_at, stop_at;
    char kill_buf[32], stop_buf[32];
} watch;

static const char *phase_name(sne_pg_phase p)
{
    switch (p) {
    case SNE_PG_LOADING:
        return "pg-loading";
    case SNE_PG_COPIED:
        return "pg-copied";
    case SNE_PG_MERGED:
        return "pg-merged";
    case SNE_PG_COMMITTED:
        return "pg-committed";
    }
    return "?";
}

/* Reads a test hook "phase[:N]" from the environment into buf and *at. */
static const char *hook(const char *name, char *buf, size_t cap, uint64_t *at)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return NULL;
    size_t n = strcspn(v, ":");
    snprintf(buf, cap, "%.*s", (int)(n < cap - 1 ? n : cap - 1), v);
    if (v[n] != ':' || !cli_parse_u64(v + n + 1, at))
        *at = 0;
    return buf;
}

static bool hook_hit(const char *phase, uint64_t at, const sne_pg_progress *p)
{
    uint64_t v = p->phase == SNE_PG_LOADING ? p->rows : p->batch;
    return phase && strcmp(phase, phase_name(p->phase)) == 0 && v >= at;
}

static void on_progress(void *ctx, const sne_pg_progress *p)
{
    watch *w = ctx;
    if (hook_hit(w->kill_phase, w->kill_at, p)) {
        fflush(NULL);
        raise(SIGKILL); /* a crash, as the tests of exactly once want it */
    }
    if (hook_hit(w->stop_phase, w->stop_at, p)) {
        w->stop_phase = NULL; /* once: the test stops the server, then continues us */
        raise(SIGSTOP);
    }
    double t = cli_now();
    if (!w->tty || t - w->last < 0.2)
        return;
    w->last = t;
    if (p->phase == SNE_PG_LOADING)
        fprintf(stderr, "\rpg-apply: %" PRIu64 " items loaded   ", p->rows);
    else
        fprintf(stderr, "\rpg-apply: batch %" PRIu64 ", seq %" PRIu64 " of %" PRIu64 "   ",
                p->batch, p->seq, p->last_seq);
}

static void watch_init(watch *w)
{
    memset(w, 0, sizeof(*w));
    w->tty = isatty(STDERR_FILENO);
    w->kill_phase = hook("SNESYNC_TEST_KILL_AT", w->kill_buf, sizeof(w->kill_buf), &w->kill_at);
    w->stop_phase = hook("SNESYNC_TEST_STOP_AT", w->stop_buf, sizeof(w->stop_buf), &w->stop_at);
}

/* --- the run -----------------------------------------------------------------------------------
 */

/* The summary in the run's report (--json, --metrics-file). */
static void report_summary(cli_report *r, const sne_pg_options *o, const sne_pg_summary *s)
{
    uint64_t rows = s->loaded ? s->items_written : s->changes;
    cli_report_str(r, "schema", o->schema);
    cli_report_str(r, "storeId", s->store_id);
    cli_report_u64(r, "fromSeq", s->from_seq);
    cli_report_u64(r, "toSeq", s->to_seq);
    cli_report_u64(r, "changes", s->changes);
    cli_report_u64(r, "batches", s->batches);
    cli_report_u64(r, "itemsWritten", s->items_written);
    cli_report_u64(r, "itemsDeleted", s->items_deleted);
    cli_report_u64(r, "demandesWritten", s->demandes_written);
    cli_report_u64(r, "demandesDeleted", s->demandes_deleted);
    cli_report_bool(r, "loaded", s->loaded);
    cli_report_bool(r, "rebuilt", s->rebuilt);
    cli_report_bool(r, "reconciled", s->reconciled);
    cli_report_seconds(r, "pgSeconds", s->seconds);
    cli_report_u64(r, "rowsPerSecond", s->seconds > 0 ? (uint64_t)((double)rows / s->seconds) : 0);
}

static void print_summary(const sne_pg_options *o, const sne_pg_summary *s)
{
    uint64_t rows = s->loaded ? s->items_written : s->changes;
    double rate = s->seconds > 0 ? (double)rows / s->seconds : 0;
    if (s->loaded)
        printf("pg-apply: schema %s %s from the store's state at seq %" PRIu64 ": %" PRIu64
               " items, %" PRIu64 " demands, %.1f s (%.0f items/s)\n",
               o->schema, s->rebuilt ? "rebuilt" : "loaded", s->to_seq, s->items_written,
               s->demandes_written, s->seconds, rate);
    else if (s->batches)
        printf("pg-apply: schema %s at seq %" PRIu64 " (was %" PRIu64 "): %" PRIu64
               " changes in %" PRIu64 " batches: %" PRIu64 " items written, %" PRIu64
               " deleted; %" PRIu64 " demands written, %" PRIu64 " deleted%s; %.1f s (%.0f "
               "changes/s)\n",
               o->schema, s->to_seq, s->from_seq, s->changes, s->batches, s->items_written,
               s->items_deleted, s->demandes_written, s->demandes_deleted,
               s->reconciled ? " (demande compared with every demand)" : "", s->seconds, rate);
    else
        printf("pg-apply: schema %s is up to date at seq %" PRIu64 "\n", o->schema, s->to_seq);
}

/* Opens the store (read only: pg-apply never blocks an ingest) and runs the sink; its summary
 * goes into the report, in a member `nested` when not NULL (sync --pg-apply). */
static int run(const cli_common *common, const sne_pg_options *o, const char *nested)
{
    sne_error err = {0};
    sne_store *store = NULL;
    sne_pg_summary sum;
    watch w;
    watch_init(&w);
    sne_pg_options opts = *o;
    opts.progress = on_progress;
    opts.progress_ctx = &w;
    sne_err rc = cli_open_store(common, CLI_STORE_READ, &store, &err);
    if (!rc)
        rc = sne_pg_apply(store, &opts, &sum, &err);
    sne_store_close(store);
    if (w.tty && w.last > 0)
        fputc('\n', stderr);
    if (rc)
        return cli_fail(common, rc, &err);
    if (nested)
        cli_report_open(common->report, nested);
    report_summary(common->report, o, &sum);
    if (nested)
        cli_report_close(common->report);
    if (!common->json)
        print_summary(o, &sum);
    return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAILURE_OTHER;
}

static int on_option(void *ctx, int opt, const char *arg)
{
    return cli_pg_option(ctx, opt, arg);
}

int cmd_pg_apply(int argc, char **argv, cli_common *common)
{
    static const struct option own[] = {
        CLI_PG_OPTIONS,
        {"batch", required_argument, NULL, OPT_PG_BATCH},
        {"rebuild", no_argument, NULL, OPT_PG_REBUILD},
        {NULL, 0, NULL, 0},
    };
    cli_pg pg = {0};
    sne_pg_options o;
    int status;
    int first = cli_parse(argc, argv, usage, own, on_option, &pg, common, &status);
    if (first < 0)
        goto out;
    status = EXIT_USAGE;
    if (first != argc) {
        fprintf(stderr, "snesync pg-apply: unexpected argument %s\n", argv[first]);
        goto out;
    }
    if ((status = cli_pg_settings("pg-apply", &pg, common, &o)) != EXIT_OK)
        goto out;
    o.rebuild = pg.rebuild;
    status = run(common, &o, NULL);
out:
    return status;
}

int cli_pg_chain_check(const char *job, const cli_conf *conf)
{
    sne_pg_options o;
    return pg_options(NULL, conf, job, &o);
}

int cli_pg_apply_chained(const char *job, const cli_common *common)
{
    sne_pg_options o;
    int status = pg_options(NULL, &common->conf, job, &o);
    return status ? status : run(common, &o, "pgApply");
}
