/* snesync: the command-line front of the engine. Uses only snesync.h. */
#include "snesync.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Exit statuses a scheduler can act on (documented in README.md). */
enum {
    EXIT_OK = 0,
    EXIT_FAILURE_OTHER = 1,
    EXIT_USAGE = 2,
    EXIT_BAD_INPUT = 3, /* archive/XML/contract/incomplete/limit: fix the input, retry */
    EXIT_STALE = 4,     /* export older than the stored data: nothing was applied */
    EXIT_BUSY = 5,      /* another writer holds the store: retry later */
    EXIT_STORE = 6      /* the store or the disk failed */
};

static int exit_status(sne_err rc)
{
    switch (rc) {
    case SNE_OK:
        return EXIT_OK;
    case SNE_ERR_USAGE:
        return EXIT_USAGE;
    case SNE_ERR_ARCHIVE:
    case SNE_ERR_XML:
    case SNE_ERR_INVALID:
    case SNE_ERR_INCOMPLETE:
    case SNE_ERR_LIMIT:
        return EXIT_BAD_INPUT;
    case SNE_ERR_STALE:
        return EXIT_STALE;
    case SNE_ERR_BUSY:
        return EXIT_BUSY;
    case SNE_ERR_STORE:
    case SNE_ERR_IO:
    case SNE_ERR_CORRUPT:
    case SNE_ERR_NOMEM:
        return EXIT_STORE;
    default:
        return EXIT_FAILURE_OTHER;
    }
}

static int fail(sne_err rc, const sne_error *e)
{
    fprintf(stderr, "snesync: %s\n", e && e->code ? e->message : sne_strerror(rc));
    return exit_status(rc);
}

static const char *default_store(void)
{
    const char *env = getenv("SNESYNC_STORE");
    return env && *env ? env : "snesync.store";
}

static const char usage_text[] =
    "Usage: snesync COMMAND [OPTIONS]\n"
    "\n"
    "Keeps a local store in sync with the national register of social housing demands (SNE)\n"
    "from its bulk export archives, and emits the changes for an information system to apply.\n"
    "\n"
    "Commands:\n"
    "  ingest [--force] [--json] [--sha256 HEX] [--size BYTES] ARCHIVE|-\n"
    "                      apply an export archive (.tar.gz) to the store and log the changes;\n"
    "                      without ARCHIVE, the bundled sample export is used\n"
    "  changes [--since SEQ] [--limit N]\n"
    "                      print the changes after SEQ as NDJSON, one object per line\n"
    "  prune --upto SEQ    forget the changes up to SEQ once the SI has applied them\n"
    "  show NUMUNIQUE      print a stored demand as JSON\n"
    "  stats [--json]      counts per entity, last export per scope, store size\n"
    "  validate [--xsd FILE] ARCHIVE|-\n"
    "                      check every document of an archive against the export XSD\n"
    "                      (schema/export.xsd by default); touches no store\n"
    "\n"
    "Common options:\n"
    "  --store DIR         the store directory (default $SNESYNC_STORE, else ./snesync.store)\n"
    "  --help              this text\n"
    "  --version           the version\n"
    "\n"
    "Exit status: 0 done, 2 usage, 3 bad or incomplete export (nothing deleted), 4 stale export\n"
    "(refused), 5 store busy (another writer), 6 store or disk failure, 1 anything else.\n";

typedef struct cli {
    const char *store_dir;
    bool json;
    bool force;
    const char *since;
    const char *limit;
    const char *upto;
    const char *sha256;
    const char *size;
    const char *xsd;
    int argc;
    char **argv; /* positional arguments */
} cli;

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-')
        return false;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

/* ---- ingest ---- */

typedef struct fd_source {
    int fd;
} fd_source;

static ptrdiff_t read_fd(void *ctx, void *buf, size_t n)
{
    fd_source *src = ctx;
    for (;;) {
        ssize_t got = read(src->fd, buf, n);
        if (got >= 0 || errno != EINTR)
            return got;
    }
}

/* Opens the archive argument: a path, or "-" for standard input. */
static bool open_archive(const char *command, const char *path, fd_source *src)
{
    src->fd = STDIN_FILENO;
    if (strcmp(path, "-") == 0)
        return true;
    if ((src->fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0)
        return true;
    fprintf(stderr, "snesync %s: cannot open %s: %s\n", command, path, strerror(errno));
    return false;
}

static void close_archive(fd_source *src)
{
    if (src->fd != STDIN_FILENO)
        close(src->fd);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct progress_state {
    double start;
    double last;
} progress_state;

static void show_progress(void *ctx, const sne_ingest_progress *p)
{
    progress_state *ps = ctx;
    double t = now_seconds();
    if (t - ps->last < 0.25 && strcmp(p->phase, "reading") == 0)
        return;
    ps->last = t;
    double elapsed = t - ps->start > 1e-6 ? t - ps->start : 1e-6;
    fprintf(stderr, "\r%s: %.1f MB of archive, %.1f MB of XML, %" PRIu64 " demands (%.0f/s)   ",
            p->phase, (double)p->raw_bytes / 1e6, (double)p->xml_bytes / 1e6, p->demands,
            (double)p->demands / elapsed);
    fflush(stderr);
}

static void print_summary(const sne_ingest_summary *s, double seconds, bool json)
{
    const sne_apply_stats *st = &s->stats;
    if (json) {
        printf("{\"export\":\"%s\",\"dateExport\":\"%s\",\"resumed\":%s,\"parts\":%u,"
               "\"demands\":%" PRIu64 ",\"creates\":%" PRIu64 ",\"updates\":%" PRIu64
               ",\"deletes\":%" PRIu64 ",\"unchanged\":%" PRIu64 ",\"demandsSwept\":%" PRIu64
               ",\"archiveBytes\":%" PRIu64 ",\"xmlBytes\":%" PRIu64
               ",\"sha256\":\"%s\",\"seconds\":%.3f}\n",
               s->numero, s->date_export, s->resumed ? "true" : "false", s->parts, st->demands,
               st->creates, st->updates, st->deletes, st->items_unchanged, st->demands_swept,
               s->raw_bytes, s->xml_bytes, s->sha256, seconds);
        return;
    }
    printf("export %s of %s%s: %u part(s), %" PRIu64 " demands, %" PRIu64 " creates, %" PRIu64
           " updates, %" PRIu64 " deletes (%" PRIu64 " absent demands), %" PRIu64
           " items unchanged; %.1f MB of XML in %.2f s (%.0f demands/s)\n",
           s->numero, s->date_export, s->resumed ? " (resumed)" : "", s->parts, st->demands,
           st->creates, st->updates, st->deletes, st->demands_swept, st->items_unchanged,
           (double)s->xml_bytes / 1e6, seconds, (double)st->demands / (seconds > 0 ? seconds : 1));
}

/* The sample export that `snesync ingest` without an archive applies (data-samples/). */
#ifndef SNESYNC_SAMPLE_ARCHIVE
#define SNESYNC_SAMPLE_ARCHIVE "data-samples/sample-initial.tar.gz"
#endif

static int cmd_ingest(cli *c)
{
    if (c->argc > 1) {
        fprintf(stderr, "snesync ingest: one archive at a time\n");
        return EXIT_USAGE;
    }
    const char *path = c->argc == 1 ? c->argv[0] : SNESYNC_SAMPLE_ARCHIVE;
    sne_ingest_options o;
    sne_ingest_options_default(&o);
    o.force = c->force;
    o.expect_sha256 = c->sha256;
    if (c->size) {
        uint64_t size;
        if (!parse_u64(c->size, &size)) {
            fprintf(stderr, "snesync ingest: --size takes a number of bytes\n");
            return EXIT_USAGE;
        }
        o.expect_size = (int64_t)size;
    }
    fd_source src;
    if (!open_archive("ingest", path, &src))
        return EXIT_BAD_INPUT;
    progress_state ps = {now_seconds(), 0};
    if (isatty(STDERR_FILENO)) {
        o.progress = show_progress;
        o.progress_ctx = &ps;
    }
    sne_error err = {0};
    sne_store *store = NULL;
    sne_store_options so = {.writable = true};
    sne_ingest_summary sum;
    sne_err rc = sne_store_open(&store, c->store_dir, &so, &err);
    if (!rc)
        rc = sne_ingest(store, read_fd, &src, &o, &sum, &err);
    if (o.progress)
        fputc('\n', stderr);
    sne_store_close(store);
    close_archive(&src);
    if (rc)
        return fail(rc, &err);
    print_summary(&sum, now_seconds() - ps.start, c->json);
    return EXIT_OK;
}

/* ---- validate ---- */

#ifndef SNESYNC_EXPORT_XSD
#define SNESYNC_EXPORT_XSD "schema/export.xsd"
#endif

static int cmd_validate(cli *c)
{
    if (c->argc != 1) {
        fprintf(stderr, "snesync validate: give one archive (or - for standard input)\n");
        return EXIT_USAGE;
    }
    fd_source src;
    if (!open_archive("validate", c->argv[0], &src))
        return EXIT_BAD_INPUT;
    sne_error err = {0};
    sne_validator *v = NULL;
    unsigned documents = 0;
    sne_err rc = sne_validator_new(&v, c->xsd ? c->xsd : SNESYNC_EXPORT_XSD, &err);
    if (!rc)
        rc = sne_validate_archive(v, read_fd, &src, &documents, &err);
    sne_validator_free(v);
    close_archive(&src);
    if (rc)
        return fail(rc, &err);
    printf("%u document(s) valid against the schema\n", documents);
    return EXIT_OK;
}

/* ---- changes ---- */

typedef struct change_printer {
    sne_buf line;
} change_printer;

static sne_err print_change(void *ctx, const sne_change *ch)
{
    change_printer *pr = ctx;
    const sne_change_record *r = ch->rec;
    sne_buf *b = &pr->line;
    sne_buf_reset(b);
    sne_err rc = sne_buf_printf(b, "{\"seq\":%" PRIu64 ",\"op\":\"%s\",\"numUnique\":\"%s\","
                                   "\"entity\":\"%s\",\"key\":",
                                ch->seq, sne_op_name(r->op), r->num_unique,
                                sne_entity_info_of(r->entity)->code);
    if (!rc)
        rc = sne_buf_append_json_string(b, (const uint8_t *)r->key, r->key_len);
    if (!rc)
        rc = sne_buf_append_str(b, ",\"export\":");
    if (!rc)
        rc = sne_buf_append_json_string(b, (const uint8_t *)r->numero, r->numero_len);
    if (!rc)
        rc = sne_buf_append_str(b, ",\"dateExport\":");
    if (!rc)
        rc = sne_buf_append_json_string(b, (const uint8_t *)r->date_export, r->date_len);
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
        rc = ch->before && ch->after ? sne_render_changed_paths(ch->before, ch->before_len,
                                                                ch->after, ch->after_len, b)
                                     : sne_buf_append_str(b, "null");
    if (!rc)
        rc = sne_buf_append_str(b, "}\n");
    if (rc)
        return rc;
    if (fwrite(b->data, 1, b->len, stdout) != b->len)
        return SNE_ERR_IO;
    return SNE_OK;
}

static int open_reader(cli *c, sne_store **store, sne_error *err)
{
    sne_store_options so = {.writable = false};
    return sne_store_open(store, c->store_dir, &so, err);
}

static int cmd_changes(cli *c)
{
    uint64_t since = 0, limit = 0;
    if ((c->since && !parse_u64(c->since, &since)) || (c->limit && !parse_u64(c->limit, &limit))) {
        fprintf(stderr, "snesync changes: --since and --limit take numbers\n");
        return EXIT_USAGE;
    }
    sne_error err = {0};
    sne_store *store = NULL;
    sne_err rc = open_reader(c, &store, &err);
    change_printer pr;
    sne_buf_init(&pr.line, 64u << 20);
    if (!rc) {
        rc = sne_store_changes(store, since, limit, print_change, &pr);
        if (rc)
            err = *sne_store_error(store);
    }
    sne_buf_free(&pr.line);
    sne_store_close(store);
    if (fflush(stdout) != 0 && !rc)
        rc = sne_error_set(&err, SNE_ERR_IO, errno, "cannot write the changes: %s",
                           strerror(errno));
    return rc ? fail(rc, &err) : EXIT_OK;
}

static int cmd_prune(cli *c)
{
    uint64_t upto;
    if (!parse_u64(c->upto, &upto)) {
        fprintf(stderr, "snesync prune: --upto SEQ is required\n");
        return EXIT_USAGE;
    }
    sne_error err = {0};
    sne_store *store = NULL;
    sne_store_options so = {.writable = true};
    uint64_t pruned = 0;
    sne_err rc = sne_store_open(&store, c->store_dir, &so, &err);
    if (!rc && (rc = sne_store_prune(store, upto, &pruned)))
        err = *sne_store_error(store);
    sne_store_close(store);
    if (rc)
        return fail(rc, &err);
    printf("pruned %" PRIu64 " changes\n", pruned);
    return EXIT_OK;
}

/* ---- show ---- */

typedef struct demand_printer {
    sne_buf out;
    int entity; /* entity of the open JSON member, or -1 */
    bool first;
} demand_printer;

static sne_err close_member(demand_printer *dp)
{
    if (dp->entity >= 0 && sne_entity_is_keyed((sne_entity)dp->entity))
        return sne_buf_append_byte(&dp->out, ']');
    return SNE_OK;
}

static sne_err print_item(void *ctx, const sne_header *h, const sne_stored_item *it)
{
    demand_printer *dp = ctx;
    sne_buf *b = &dp->out;
    sne_err rc = SNE_OK;
    if (dp->first) {
        dp->first = false;
        rc = sne_buf_printf(b, ",\"etatDemande\":\"%s\",\"dateDerniereModification\":",
                            h->radiee ? "RADIEE" : "ACTIVE");
        if (!rc)
            rc = sne_buf_append_json_string(b, (const uint8_t *)h->date_modification, h->date_len);
    }
    if (rc || !it)
        return rc;
    if ((int)it->entity != dp->entity) {
        rc = close_member(dp);
        dp->entity = (int)it->entity;
        const sne_entity_info *info = sne_entity_info_of(it->entity);
        if (!rc)
            rc = sne_buf_printf(b, ",\"%s\":%s", info->block, info->key[0] ? "[" : "");
    } else {
        rc = sne_buf_append_byte(b, ',');
    }
    return rc ? rc : sne_render_json(it->canon, it->canon_len, b);
}

static int cmd_show(cli *c)
{
    if (c->argc != 1) {
        fprintf(stderr, "snesync show: give one demand number (numUnique)\n");
        return EXIT_USAGE;
    }
    sne_error err = {0};
    sne_store *store = NULL;
    demand_printer dp = {.entity = -1, .first = true};
    sne_buf_init(&dp.out, 256u << 20);
    sne_err rc = open_reader(c, &store, &err);
    if (!rc)
        rc = sne_buf_printf(&dp.out, "{\"numUnique\":\"%s\"", c->argv[0]);
    if (!rc && (rc = sne_store_read_demand(store, c->argv[0], print_item, &dp)))
        err = *sne_store_error(store);
    if (!rc)
        rc = close_member(&dp);
    if (!rc)
        rc = sne_buf_append_str(&dp.out, "}\n");
    if (!rc)
        fwrite(dp.out.data, 1, dp.out.len, stdout);
    sne_buf_free(&dp.out);
    sne_store_close(store);
    return rc ? fail(rc, &err) : EXIT_OK;
}

/* ---- stats ---- */

typedef struct scope_printer {
    bool json;
    bool first;
} scope_printer;

static sne_err print_scope(void *ctx, const char *scope, const char *numero, const char *date)
{
    scope_printer *sp = ctx;
    if (sp->json)
        printf("%s{\"scope\":\"%s\",\"export\":\"%s\",\"dateExport\":\"%s\"}",
               sp->first ? "" : ",", scope, numero, date);
    else
        printf("  %-28s export %s of %s\n", scope, numero, date);
    sp->first = false;
    return SNE_OK;
}

static int cmd_stats(cli *c)
{
    sne_error err = {0};
    sne_store *store = NULL;
    sne_store_stats st;
    sne_err rc = open_reader(c, &store, &err);
    if (!rc && (rc = sne_store_stats_get(store, &st)))
        err = *sne_store_error(store);
    if (rc) {
        sne_store_close(store);
        return fail(rc, &err);
    }
    scope_printer sp = {c->json, true};
    if (c->json) {
        printf("{\"demands\":%" PRIu64 ",\"items\":{", st.demands);
        for (int e = 0; e < SNE_ENTITY__COUNT; e++)
            printf("%s\"%s\":%" PRIu64, e ? "," : "", sne_entity_info_of((sne_entity)e)->code,
                   st.items[e]);
        printf("},\"lastSeq\":%" PRIu64 ",\"changesHeld\":%" PRIu64 ",\"fileBytes\":%" PRIu64
               ",\"interruptedExport\":",
               st.last_seq, st.changes, st.file_bytes);
        if (st.run_open)
            printf("\"%s\"", st.run_export);
        else
            printf("null");
        printf(",\"scopes\":[");
        rc = sne_store_scopes(store, print_scope, &sp);
        printf("]}\n");
    } else {
        printf("store %s\n  demands %" PRIu64 "\n", c->store_dir, st.demands);
        for (int e = 0; e < SNE_ENTITY__COUNT; e++)
            printf("  %-7s %" PRIu64 " items\n", sne_entity_info_of((sne_entity)e)->code,
                   st.items[e]);
        printf("  changes %" PRIu64 " held, last seq %" PRIu64 "\n", st.changes, st.last_seq);
        printf("  size    %.1f MB on disk\n", (double)st.file_bytes / 1e6);
        if (st.run_open)
            printf("  export %s was interrupted: ingest it again to finish\n", st.run_export);
        printf("scopes (newest export applied):\n");
        rc = sne_store_scopes(store, print_scope, &sp);
    }
    if (rc)
        err = *sne_store_error(store);
    sne_store_close(store);
    return rc ? fail(rc, &err) : EXIT_OK;
}

/* ---- dispatch ---- */

typedef struct command {
    const char *name;
    int (*run)(cli *c);
} command;

static const command commands[] = {
    {"ingest", cmd_ingest}, {"changes", cmd_changes}, {"prune", cmd_prune},
    {"show", cmd_show},     {"stats", cmd_stats},     {"validate", cmd_validate},
};

int main(int argc, char **argv)
{
    enum { OPT_STORE = 256, OPT_SINCE, OPT_LIMIT, OPT_UPTO, OPT_SHA256, OPT_SIZE, OPT_XSD };
    static const struct option options[] = {
        {"store", required_argument, NULL, OPT_STORE},
        {"since", required_argument, NULL, OPT_SINCE},
        {"limit", required_argument, NULL, OPT_LIMIT},
        {"upto", required_argument, NULL, OPT_UPTO},
        {"sha256", required_argument, NULL, OPT_SHA256},
        {"size", required_argument, NULL, OPT_SIZE},
        {"xsd", required_argument, NULL, OPT_XSD},
        {"json", no_argument, NULL, 'j'},
        {"force", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    cli c = {.store_dir = default_store()};
    int opt;
    while ((opt = getopt_long(argc, argv, "+hV", options, NULL)) != -1) {
        if (opt == 'h') {
            fputs(usage_text, stdout);
            return EXIT_OK;
        }
        if (opt == 'V') {
            puts("snesync " SNESYNC_VERSION);
            return EXIT_OK;
        }
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    if (optind >= argc) {
        fputs(usage_text, stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[optind];
    const command *cmd = NULL;
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            cmd = &commands[i];
    if (!cmd) {
        fprintf(stderr, "snesync: unknown command '%s' (see snesync --help)\n", name);
        return EXIT_USAGE;
    }
    /* The command's own options, parsed afresh (optind = 0 makes GNU getopt start over) over
     * the arguments after the command name, so options may follow the archive too. */
    argc -= optind;
    argv += optind;
    optind = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case OPT_STORE:
            c.store_dir = optarg;
            break;
        case OPT_SINCE:
            c.since = optarg;
            break;
        case OPT_LIMIT:
            c.limit = optarg;
            break;
        case OPT_UPTO:
            c.upto = optarg;
            break;
        case OPT_SHA256:
            c.sha256 = optarg;
            break;
        case OPT_SIZE:
            c.size = optarg;
            break;
        case OPT_XSD:
            c.xsd = optarg;
            break;
        case 'j':
            c.json = true;
            break;
        case 'f':
            c.force = true;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return EXIT_OK;
        default:
            fprintf(stderr, "snesync %s: see snesync --help\n", name);
            return EXIT_USAGE;
        }
    }
    c.argc = argc - optind;
    c.argv = argv + optind;
    return cmd->run(&c);
}
