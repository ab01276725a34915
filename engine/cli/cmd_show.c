/* snesync show / stats: look at the store as a person would. */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char show_usage[] =
    "Usage: snesync show [--store DIR] [--config FILE] [--json] NUMUNIQUE\n"
    "\n"
    "Prints a stored demand and all its items as one JSON object.\n"
    "\n"
    "  --json          when the run fails, print the run's report as one JSON object instead\n"
    "  --store DIR     the store (default: the config file's, else $SNESYNC_STORE, else\n"
    "                  ./snesync.store)\n"
    "  --config FILE   the config file (default $SNESYNC_CONFIG, else\n"
    "                  /etc/snesync/snesync.conf when it exists): its store key\n"
    "\n"
    "Exit status: 0 done, 2 usage (or no store at DIR), 6 store or disk failure,\n"
    "9 the demand is not in the store.\n";

static const char stats_usage[] =
    "Usage: snesync stats [--store DIR] [--config FILE] [--json]\n"
    "\n"
    "Prints the store's identity (drawn at random when it was created: a consumer can tell a\n"
    "rebuilt store by it), the number of demands and of items per entity, the change log's\n"
    "extent (the first and last seq held; with none held, the first is the last + 1), the\n"
    "store's size, an interrupted export if any, and the newest export applied to each scope.\n"
    "\n"
    "  --json          print them as one JSON object; when the run fails, the run's report\n"
    "  --store DIR     the store (default: the config file's, else $SNESYNC_STORE, else\n"
    "                  ./snesync.store)\n"
    "  --config FILE   the config file (default $SNESYNC_CONFIG, else\n"
    "                  /etc/snesync/snesync.conf when it exists): its store key\n"
    "\n"
    "Exit status: 0 done, 2 usage (or no store at DIR), 6 store or disk failure.\n";

typedef struct demand_printer {
    sne_buf out;
    int entity;     /* entity of the open JSON member, or -1 */
    sne_err failed; /* why print_item stopped the store's walk (the output's, not the store's) */
} demand_printer;

static sne_err close_member(demand_printer *dp)
{
    if (dp->entity >= 0 && sne_entity_is_keyed((sne_entity)dp->entity))
        return sne_buf_append_byte(&dp->out, ']');
    return SNE_OK;
}

static sne_err print_state(demand_printer *dp, const char *num, const sne_demand_state *st)
{
    sne_buf *b = &dp->out;
    sne_err rc = sne_buf_append_str(b, "{\"numUnique\":");
    if (!rc)
        rc = sne_buf_append_json_string(b, (const uint8_t *)num, strlen(num));
    if (!rc)
        rc = sne_buf_printf(b, ",\"etatDemande\":\"%s\",\"dateDerniereModification\":",
                            st->radiee ? "RADIEE" : "ACTIVE");
    if (!rc)
        rc = sne_buf_append_json_string(b, (const uint8_t *)st->date_modification,
                                        strlen(st->date_modification));
    return rc;
}

static sne_err print_item(void *ctx, const sne_stored_item *it)
{
    demand_printer *dp = ctx;
    sne_buf *b = &dp->out;
    sne_err rc = SNE_OK;
    if ((int)it->entity != dp->entity) {
        rc = close_member(dp);
        dp->entity = (int)it->entity;
        const sne_entity_info *info = sne_entity_info_of(it->entity);
        if (!rc)
            rc = sne_buf_printf(b, ",\"%s\":%s", info->block, info->key[0] ? "[" : "");
    } else {
        rc = sne_buf_append_byte(b, ',');
    }
    if (!rc)
        rc = sne_render_json(it->canon, it->canon_len, b);
    return dp->failed = rc;
}

/* Appends demand `num` to dp->out, its state and its items read from one snapshot whatever a
 * writer commits meanwhile. What the store says of its failures goes to `err`. */
static sne_err print_demand(sne_store *store, const char *num, demand_printer *dp, sne_error *err)
{
    sne_demand_state state;
    sne_err rc = sne_store_read_begin(store);
    if (rc) {
        *err = *sne_store_error(store);
        return rc;
    }
    if ((rc = sne_store_demand_state(store, num, &state)))
        *err = *sne_store_error(store);
    else if (!(rc = print_state(dp, num, &state)) &&
             (rc = sne_store_read_demand(store, num, print_item, dp)) && !dp->failed)
        *err = *sne_store_error(store);
    sne_store_read_end(store);
    return rc;
}

int cmd_show(int argc, char **argv, cli_common *common)
{
    int status;
    int first = cli_parse(argc, argv, show_usage, NULL, NULL, NULL, common, &status);
    if (first < 0)
        return status;
    if (argc - first != 1) {
        fprintf(stderr, "snesync show: give one demand number (numUnique)\n");
        return EXIT_USAGE;
    }
    const char *num = argv[first];
    sne_error err = {0};
    sne_store *store = NULL;
    demand_printer dp = {.entity = -1};
    sne_buf_init(&dp.out, 256u << 20);
    sne_err rc = cli_open_store(common, CLI_STORE_READ, &store, &err);
    if (!rc)
        rc = print_demand(store, num, &dp, &err);
    if (!rc)
        rc = close_member(&dp);
    if (!rc)
        rc = sne_buf_append_str(&dp.out, "}\n");
    if (!rc)
        fwrite(dp.out.data, 1, dp.out.len, stdout);
    sne_buf_free(&dp.out);
    sne_store_close(store);
    return rc ? cli_fail(common, rc, &err) : EXIT_OK;
}

typedef struct scope_printer {
    bool json;
    bool first;
} scope_printer;

static sne_err print_scope(void *ctx, const char *scope, const char *numero, const char *date)
{
    scope_printer *sp = ctx;
    if (sp->json)
        printf("%s{\"scope\":\"%s\",\"export\":\"%s\",\"dateExport\":\"%s\"}", sp->first ? "" : ",",
               scope, numero, date);
    else
        printf("  %-28s export %s of %s\n", scope, numero, date);
    sp->first = false;
    return SNE_OK;
}

static void print_stats_json(const char *identity, const sne_store_stats *st)
{
    if (identity[0])
        printf("{\"storeId\":\"%s\"", identity);
    else
        printf("{\"storeId\":null");
    printf(",\"demands\":%" PRIu64 ",\"items\":{", st->demands);
    for (int e = 0; e < SNE_ENTITY__COUNT; e++)
        printf("%s\"%s\":%" PRIu64, e ? "," : "", sne_entity_info_of((sne_entity)e)->code,
               st->items[e]);
    printf("},\"firstSeq\":%" PRIu64 ",\"lastSeq\":%" PRIu64 ",\"changesHeld\":%" PRIu64
           ",\"fileBytes\":%" PRIu64 ",\"interruptedExport\":",
           st->first_seq, st->last_seq, st->changes, st->file_bytes);
    if (st->run_open)
        printf("\"%s\"", st->run_export);
    else
        printf("null");
    printf(",\"scopes\":[");
}

static void print_stats_text(const char *dir, const char *identity, const sne_store_stats *st)
{
    printf("store %s\n  identity %s\n  demands %" PRIu64 "\n", dir,
           identity[0] ? identity : "none yet (the next ingest, sync or prune gives it one)",
           st->demands);
    for (int e = 0; e < SNE_ENTITY__COUNT; e++)
        printf("  %-7s %" PRIu64 " items\n", sne_entity_info_of((sne_entity)e)->code, st->items[e]);
    printf("  changes %" PRIu64 " held: first seq %" PRIu64 ", last seq %" PRIu64 "\n", st->changes,
           st->first_seq, st->last_seq);
    printf("  size    %.1f MB on disk\n", (double)st->file_bytes / 1e6);
    if (st->run_open)
        printf("  export %s was interrupted: ingest it again to finish\n", st->run_export);
    printf("scopes (newest export applied):\n");
}

int cmd_stats(int argc, char **argv, cli_common *common)
{
    int status;
    int first = cli_parse(argc, argv, stats_usage, NULL, NULL, NULL, common, &status);
    if (first < 0)
        return status;
    if (first != argc) {
        fprintf(stderr, "snesync stats: unexpected argument %s\n", argv[first]);
        return EXIT_USAGE;
    }
    sne_error err = {0};
    sne_store *store = NULL;
    sne_store_stats st;
    sne_err rc = cli_open_store(common, CLI_STORE_READ, &store, &err);
    if (!rc && (rc = sne_store_stats_get(store, &st)))
        err = *sne_store_error(store);
    if (!rc) {
        scope_printer sp = {common->json, true};
        if (common->json)
            print_stats_json(sne_store_identity(store), &st);
        else
            print_stats_text(common->store_dir, sne_store_identity(store), &st);
        rc = sne_store_scopes(store, print_scope, &sp);
        if (common->json)
            printf("]}\n");
        if (rc)
            err = *sne_store_error(store);
    }
    sne_store_close(store);
    return rc ? cli_fail(common, rc, &err) : EXIT_OK;
}
