/* snesync ingest: apply an export archive to the store. */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "Usage: snesync ingest [--store DIR] [--config FILE] [--force] [--json]\n"
    "                      [--metrics-file PATH] [--sha256 HEX] [--size BYTES] ARCHIVE|-\n"
    "\n"
    "Applies an export archive (.tar.gz of XML documents; - reads standard input) to the store,\n"
    "creating the store if needed, and logs every change. Demands absent from the export are\n"
    "deleted only once the archive is proven complete.\n"
    "\n"
    "  --force         apply even an export older than the data held for its scope\n"
    "  --sha256 HEX    the archive must hash to this (as announced by the server)\n"
    "  --size BYTES    the archive must have this size\n"
    "  --json          print the run's report as one JSON object, also when it fails\n"
    "  --metrics-file PATH  write the run's metrics there (Prometheus text format), also\n"
    "                  when it fails\n"
    "  --store DIR     the store (default: the config file's, else $SNESYNC_STORE, else\n"
    "                  ./snesync.store)\n"
    "  --config FILE   the config file (default $SNESYNC_CONFIG, else\n"
    "                  /etc/snesync/snesync.conf when it exists): its store key\n"
    "\n"
    "Exit status: 0 applied, 2 usage (no archive named, or it cannot be opened), 3 bad or\n"
    "incomplete export (nothing deleted), 4 stale export, 5 store busy, 6 store or disk failure.\n";

enum { OPT_FORCE = 300, OPT_SHA256, OPT_SIZE };

typedef struct ingest_args {
    sne_ingest_options *o;
} ingest_args;

static int on_option(void *ctx, int opt, const char *arg)
{
    ingest_args *a = ctx;
    uint64_t size;
    switch (opt) {
    case OPT_FORCE:
        a->o->force = true;
        return 0;
    case OPT_SHA256:
        a->o->expect_sha256 = arg;
        return 0;
    case OPT_SIZE:
        if (!cli_parse_u64(arg, &size)) {
            fprintf(stderr, "snesync ingest: --size takes a number of bytes\n");
            return EXIT_USAGE;
        }
        a->o->expect_size = (int64_t)size;
        return 0;
    }
    return EXIT_USAGE;
}

typedef struct progress_state {
    double start;
    double last;
} progress_state;

static void show_progress(void *ctx, const sne_ingest_progress *p)
{
    progress_state *ps = ctx;
    double t = cli_now();
    if (t - ps->last < 0.25 && strcmp(p->phase, "reading") == 0)
        return;
    ps->last = t;
    double elapsed = t - ps->start > 1e-6 ? t - ps->start : 1e-6;
    fprintf(stderr, "\r%s: %.1f MB of archive, %.1f MB of XML, %" PRIu64 " demands (%.0f/s)   ",
            p->phase, (double)p->raw_bytes / 1e6, (double)p->xml_bytes / 1e6, p->demands,
            (double)p->demands / elapsed);
    fflush(stderr);
}

/* The summary: in the run's report (--json, --metrics-file), and as a line of text. */
static void report_summary(cli_report *r, const sne_ingest_summary *s)
{
    const sne_apply_stats *st = &s->stats;
    cli_report_export(r, s->numero, s->date_export);
    cli_report_apply_stats(r, st);
    cli_report_fact(r, CLI_FACT_ARCHIVE_BYTES, s->raw_bytes);
    cli_report_bool(r, "resumed", s->resumed);
    cli_report_u64(r, "parts", s->parts);
    cli_report_u64(r, "unchanged", st->items_unchanged);
    cli_report_u64(r, "demandsSwept", st->demands_swept);
    cli_report_u64(r, "xmlBytes", s->xml_bytes);
    cli_report_str(r, "sha256", s->sha256);
}

static void print_summary(const sne_ingest_summary *s, double seconds)
{
    const sne_apply_stats *st = &s->stats;
    printf("export %s of %s%s: %u part(s), %" PRIu64 " demands, %" PRIu64 " creates, %" PRIu64
           " updates, %" PRIu64 " deletes (%" PRIu64 " absent demands), %" PRIu64
           " items unchanged; %.1f MB of XML in %.2f s (%.0f demands/s)\n",
           s->numero, s->date_export, s->resumed ? " (resumed)" : "", s->parts, st->demands,
           st->creates, st->updates, st->deletes, st->demands_swept, st->items_unchanged,
           (double)s->xml_bytes / 1e6, seconds, (double)st->demands / (seconds > 0 ? seconds : 1));
}

int cmd_ingest(int argc, char **argv, cli_common *common)
{
    static const struct option own[] = {
        {"force", no_argument, NULL, OPT_FORCE},
        {"sha256", required_argument, NULL, OPT_SHA256},
        {"size", required_argument, NULL, OPT_SIZE},
        {NULL, 0, NULL, 0},
    };
    sne_ingest_options o;
    sne_ingest_options_default(&o);
    ingest_args args = {&o};
    int status;
    int first = cli_parse(argc, argv, usage, own, on_option, &args, common, &status);
    if (first < 0)
        return status;
    if (argc - first != 1) {
        fprintf(stderr, "snesync ingest: name one archive to apply (- reads standard input)\n");
        return EXIT_USAGE;
    }
    cli_source src;
    if (!cli_open_archive("ingest", argv[first], &src))
        return EXIT_USAGE;
    progress_state ps = {cli_now(), 0};
    if (isatty(STDERR_FILENO)) {
        o.progress = show_progress;
        o.progress_ctx = &ps;
    }
    sne_error err = {0};
    sne_store *store = NULL;
    sne_ingest_summary sum;
    sne_err rc = cli_open_store(common, CLI_STORE_CREATE, &store, &err);
    cli_report_seq_before(common->report, store);
    if (!rc)
        rc = sne_ingest(store, cli_read_fd, &src, &o, &sum, &err);
    if (o.progress)
        fputc('\n', stderr);
    cli_report_seq_after(common->report, store);
    sne_store_close(store);
    cli_close_archive(&src);
    if (rc)
        return cli_fail(common, rc, &err);
    report_summary(common->report, &sum);
    if (!common->json)
        print_summary(&sum, cli_now() - ps.start);
    return EXIT_OK;
}
