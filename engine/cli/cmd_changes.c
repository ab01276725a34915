/* snesync changes / prune: read the change log, and forget what the SI has applied. */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char changes_usage[] =
    "Usage: snesync changes [--store DIR] [--config FILE] [--since SEQ] [--limit N] [--json]\n"
    "\n"
    "Prints the changes with seq > SEQ (default 0) as NDJSON, one object per line, in seq order:\n"
    "seq, op (create|update|delete), numUnique, entity, key, export, dateExport, before, after\n"
    "(items as JSON, null when absent) and changed (JSON pointers of the values that differ,\n"
    "for updates). See README.md for the JSON mapping of an item.\n"
    "\n"
    "SEQ is the last seq the consumer applied: from the first seq held - 1 to the last seq\n"
    "(snesync stats shows both, and the store's identity). Below, changes it has not applied\n"
    "were pruned; past the last, the store was rebuilt. Both are refused with status 8.\n"
    "\n"
    "  --json          when the run fails, one more line: the run's report, a JSON object with\n"
    "                  \"ok\":false (a change line never has \"ok\"); nothing more on success\n"
    "  --store DIR     the store (default: the config file's, else $SNESYNC_STORE, else\n"
    "                  ./snesync.store)\n"
    "  --config FILE   the config file (default $SNESYNC_CONFIG, else\n"
    "                  /etc/snesync/snesync.conf when it exists): its store key\n"
    "\n"
    "Exit status: 0 done, 2 usage (or no store at DIR), 6 store or disk failure,\n"
    "8 change log cursor out of range.\n";

static const char prune_usage[] =
    "Usage: snesync prune [--store DIR] [--config FILE] [--json] --upto SEQ\n"
    "       snesync prune [--store DIR] --pg-applied [--upto SEQ] [--dsn CONNINFO]\n"
    "                     [--schema NAME] [--config FILE]\n"
    "\n"
    "Deletes the changes with seq <= SEQ from the change log, once the SI has applied them.\n"
    "A consumer whose cursor is below SEQ can no longer read the log (changes exits 8).\n"
    "\n"
    "  --pg-applied    no further than the last seq the PostgreSQL database of `snesync\n"
    "                  pg-apply` has applied (read from its state; --dsn, --schema, --config\n"
    "                  as for pg-apply); refused (status 10) when it follows another store\n"
    "  --json          print the run's report as one JSON object, also when it fails\n"
    "  --store DIR     the store (default: the config file's, else $SNESYNC_STORE, else\n"
    "                  ./snesync.store)\n"
    "  --config FILE   the config file (default $SNESYNC_CONFIG, else\n"
    "                  /etc/snesync/snesync.conf when it exists): its store and\n"
    "                  pg-* keys\n"
    "\n"
    "Exit status: 0 done, 2 usage (or no store at DIR), 5 store busy, 6 store or disk failure,\n"
    "10 the database follows another store or has no schema, 11 the database failed.\n";

enum { OPT_SINCE = 300, OPT_LIMIT, OPT_UPTO };

typedef struct seq_args {
    uint64_t since, limit, upto;
    bool has_upto;
    cli_pg pg; /* and --pg-applied */
} seq_args;

static int on_option(void *ctx, int opt, const char *arg)
{
    seq_args *a = ctx;
    if (opt >= OPT_PG_DSN)
        return cli_pg_option(&a->pg, opt, arg);
    uint64_t *target = opt == OPT_SINCE ? &a->since : opt == OPT_LIMIT ? &a->limit : &a->upto;
    if (!cli_parse_u64(arg, target)) {
        fprintf(stderr, "snesync: --since, --limit and --upto take numbers\n");
        return EXIT_USAGE;
    }
    a->has_upto |= opt == OPT_UPTO;
    return 0;
}

static sne_err print_change(void *ctx, const sne_change *ch)
{
    sne_buf *b = ctx;
    sne_buf_reset(b);
    sne_err rc = sne_buf_printf(b,
                                "{\"seq\":%" PRIu64 ",\"op\":\"%s\",\"numUnique\":\"%s\","
                                "\"entity\":\"%s\",\"key\":",
                                ch->seq, sne_op_name(ch->op), ch->num_unique,
                                sne_entity_info_of(ch->entity)->code);
    if (!rc)
        rc = sne_buf_append_json_string(b, (const uint8_t *)ch->key, ch->key_len);
    if (!rc)
        rc = sne_buf_append_str(b, ",\"export\":");
    if (!rc)
        rc = sne_buf_append_json_string(b, (const uint8_t *)ch->numero, ch->numero_len);
    if (!rc)
        rc = sne_buf_append_str(b, ",\"dateExport\":");
    if (!rc)
        rc = sne_buf_append_json_string(b, (const uint8_t *)ch->date_export, ch->date_len);
    if (!rc)
        rc = sne_buf_append_str(b, ",\"before\":");
    if (!rc)
        rc = ch->before ? sne_render_json(ch->before, ch->before_len, b)
                        : sne_buf_append_str(b, "null");
    if (!rc)
        rc = sne_buf_append_str(b, ",\"after\":");
    if (!rc)
        rc = ch->after ? sne_render_json(ch->after, ch->after_len, b)
                       : sne_buf_append_str(b, "null");
    if (!rc)
        rc = sne_buf_append_str(b, ",\"changed\":");
    if (!rc)
        rc = ch->before && ch->after
                 ? sne_render_changed_paths(ch->before, ch->before_len, ch->after, ch->after_len, b)
                 : sne_buf_append_str(b, "null");
    if (!rc)
        rc = sne_buf_append_str(b, "}\n");
    if (rc)
        return rc;
    return fwrite(b->data, 1, b->len, stdout) == b->len ? SNE_OK : SNE_ERR_IO;
}

int cmd_changes(int argc, char **argv, cli_common *common)
{
    static const struct option own[] = {{"since", required_argument, NULL, OPT_SINCE},
                                        {"limit", required_argument, NULL, OPT_LIMIT},
                                        {NULL, 0, NULL, 0}};
    seq_args a = {0};
    int status;
    int first = cli_parse(argc, argv, changes_usage, own, on_option, &a, common, &status);
    if (first < 0)
        return status;
    if (first != argc) {
        fprintf(stderr, "snesync changes: unexpected argument %s\n", argv[first]);
        return EXIT_USAGE;
    }
    sne_error err = {0};
    sne_store *store = NULL;
    sne_buf line;
    sne_buf_init(&line, 64u << 20);
    sne_err rc = cli_open_store(common, CLI_STORE_READ, &store, &err);
    if (!rc && (rc = sne_store_changes(store, a.since, a.limit, print_change, &line)))
        err = rc == SNE_ERR_IO ? (sne_error){SNE_ERR_IO, errno, "cannot write the changes"}
                               : *sne_store_error(store);
    sne_buf_free(&line);
    sne_store_close(store);
    if (fflush(stdout) != 0 && !rc) {
        rc = SNE_ERR_IO;
        err = (sne_error){SNE_ERR_IO, errno, ""};
        snprintf(err.message, sizeof(err.message), "cannot write the changes: %s", strerror(errno));
    }
    return rc ? cli_fail(common, rc, &err) : EXIT_OK;
}

/* The seq to prune up to: --upto, no further than what the database applied (--pg-applied). */
static sne_err prune_limit(const seq_args *a, const sne_pg_options *o, sne_store *store,
                           uint64_t *upto, sne_error *err)
{
    uint64_t applied;
    *upto = a->upto;
    if (!a->pg.applied)
        return SNE_OK;
    sne_err rc = sne_pg_applied(o, sne_store_identity(store), &applied, err);
    if (!rc && (!a->has_upto || applied < a->upto))
        *upto = applied;
    return rc;
}

int cmd_prune(int argc, char **argv, cli_common *common)
{
    static const struct option own[] = {{"upto", required_argument, NULL, OPT_UPTO},
                                        {"pg-applied", no_argument, NULL, OPT_PG_APPLIED},
                                        CLI_PG_OPTIONS,
                                        {NULL, 0, NULL, 0}};
    seq_args a = {0};
    sne_pg_options o;
    int status;
    int first = cli_parse(argc, argv, prune_usage, own, on_option, &a, common, &status);
    if (first < 0)
        goto out;
    status = EXIT_USAGE;
    if (!(a.has_upto || a.pg.applied) || first != argc) {
        fprintf(stderr, "snesync prune: --upto SEQ or --pg-applied is required, and no "
                        "argument\n");
        goto out;
    }
    if (a.pg.applied && (status = cli_pg_settings("prune", &a.pg, common, &o)) != EXIT_OK)
        goto out;
    sne_error err = {0};
    sne_store *store = NULL;
    uint64_t pruned = 0, upto = 0;
    sne_err rc = cli_open_store(common, CLI_STORE_WRITE, &store, &err);
    if (!rc)
        rc = prune_limit(&a, &o, store, &upto, &err);
    if (!rc && (rc = sne_store_prune(store, upto, &pruned)))
        err = *sne_store_error(store);
    sne_store_close(store);
    if (rc) {
        status = cli_fail(common, rc, &err);
        goto out;
    }
    cli_report_u64(common->report, "pruned", pruned);
    cli_report_u64(common->report, "upto", upto);
    if (!common->json)
        printf("pruned %" PRIu64 " changes (up to seq %" PRIu64 ")\n", pruned, upto);
    status = EXIT_OK;
out:
    return status;
}
