/* snesync follow: the incremental sync (snesync.h, sne_follow_run). Its options are read by
 * cmd_sync.c, which it shares with sync and drm-refresh; this file runs the job and prints its
 * summary. */
#include "cli.h"
#include "stop.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cli_follow_usage[] =
    "Usage: snesync follow --server URL --entities CODE,... [--etat ACTIVE|RADIEE]\n"
    "                      [--departements 38,26 | --communes 38185,...] [--depth 1..3]\n"
    "                      [--cert F --key F] [--cacert F] [--token-file F] [--config FILE]\n"
    "                      [--overlap S] [--parallel 1..4] [--retries N] [--stall-timeout S]\n"
    "                      [--min-speed B] [--store DIR] [--json] [--metrics-file PATH]\n"
    "\n"
    "The incremental sync: lists the demands that moved (GDM) since the end of the last window\n"
    "followed (the first time, since the newest full export applied for this scope), minus the\n"
    "overlap, reads each of them and applies it to the store, in the same change log as sync.\n"
    "The window's end is the server's instant; it is recorded once every read is committed, so\n"
    "a run killed at any point is simply run again. One movements sequence an hour at most: a\n"
    "run within the hour calls nothing and exits 0. A store more than 7 days behind (or that\n"
    "never had a full export of this scope) exits 12: run `snesync sync` first. SIGTERM or\n"
    "SIGINT stops it (exit 143, 130) with the reads applied committed: the next run reads the\n"
    "window again.\n"
    "\n"
    "  --overlap S         the window starts S seconds before the last one ended (default\n"
    "                      600): a movement on the edge is never lost\n"
    "  --parallel N        demands read at once, 1..4 (default 4, the service's limit)\n"
    "  --json              print the run's report as one JSON object, also when it fails\n"
    "  --metrics-file PATH write the run's metrics there (Prometheus text format, written\n"
    "                      atomically), also when it fails\n"
    "  other options       as for `snesync sync` (the scope must be the one synced)\n";

/* Test hooks: SNESYNC_TEST_KILL_AT=reading:N sends the process SIGKILL once N reads are
 * committed, SNESYNC_TEST_TERM_AT=reading:N SIGTERM (once). */
typedef struct hook {
    uint64_t at;
    int signal;
} hook;

static void on_progress(void *ctx, uint64_t moved, uint64_t applied)
{
    hook *h = ctx;
    (void)moved;
    if (h->signal && applied >= h->at) {
        int sig = h->signal;
        h->signal = 0;
        fflush(NULL);
        raise(sig);
    }
}

static void arm_hook(hook *h)
{
    static const struct {
        const char *env;
        int signal;
    } hooks[] = {{"SNESYNC_TEST_KILL_AT", SIGKILL}, {"SNESYNC_TEST_TERM_AT", SIGTERM}};
    for (size_t i = 0; i < sizeof(hooks) / sizeof(hooks[0]); i++) {
        const char *v = getenv(hooks[i].env);
        if (v && strncmp(v, "reading:", 8) == 0 && cli_parse_u64(v + 8, &h->at))
            h->signal = hooks[i].signal;
    }
}

static double reads_per_second(const sne_follow_summary *s)
{
    return s->seconds_reading > 0 ? (double)s->demands_read / s->seconds_reading : 0;
}

/* What the run did, in the run's report (--json, --metrics-file): also after a failure, with
 * what was committed before it. */
static void report_summary(cli_report *r, const sne_follow_summary *s)
{
    cli_report_apply_stats(r, &s->stats);
    cli_report_fact(r, CLI_FACT_DEMANDS, s->demands_read);
    cli_report_fact(r, CLI_FACT_RETRIES, s->retries);
    cli_report_bool(r, "skipped", s->skipped);
    cli_report_str(r, "depuis", s->depuis);
    cli_report_str(r, "jusque", s->jusque);
    cli_report_u64(r, "movements", s->movements);
    cli_report_u64(r, "demandsRead", s->demands_read);
    cli_report_u64(r, "leftScope", s->left_scope);
    cli_report_u64(r, "unchanged", s->stats.items_unchanged);
    cli_report_seconds(r, "secondsReading", s->seconds_reading);
    cli_report_seconds(r, "readsPerSecond", reads_per_second(s));
}

static void print_summary(const sne_follow_summary *s)
{
    const sne_apply_stats *st = &s->stats;
    if (s->skipped) {
        printf("follow: the last movements sequence began %.0f s ago (one an hour at most): "
               "nothing done\n",
               s->since_last);
        return;
    }
    printf("follow: movements from %s to %s: %" PRIu64 " movements, %" PRIu64
           " demands read (%" PRIu64 " out of the scope), %" PRIu64 " creates, %" PRIu64
           " updates, %" PRIu64 " deletes, %" PRIu64 " items unchanged; %.1f s (%.1f reads/s)\n",
           s->depuis, s->jusque, s->movements, s->demands_read, s->left_scope, st->creates,
           st->updates, st->deletes, st->items_unchanged, s->seconds, reads_per_second(s));
}

int cli_follow_run(const sne_sync_options *so, long overlap, unsigned parallel,
                   const cli_common *common)
{
    sne_follow_options o;
    sne_follow_options_default(&o);
    uint64_t v;
    o.fetch = so->fetch;
    o.entities = so->entities;
    o.radiees = so->radiees;
    o.departements = so->departements;
    o.communes = so->communes;
    o.profondeur_drm = so->profondeur_drm > 0 ? (unsigned)so->profondeur_drm : 0;
    if (overlap >= 0)
        o.overlap = (unsigned)overlap;
    if (parallel > 0)
        o.parallel = parallel;
    /* Test hooks (not for production): the hourly etiquette's interval, a signal after N reads. */
    const char *interval = getenv("SNESYNC_TEST_FOLLOW_INTERVAL");
    if (interval && cli_parse_u64(interval, &v))
        o.min_interval = (double)v;
    hook h = {0};
    arm_hook(&h);
    const char *batch = getenv("SNESYNC_TEST_BATCH_DEMANDS");
    if (batch && cli_parse_u64(batch, &v) && v > 0 && v < 1000000)
        o.batch_reads = (size_t)v;
    o.progress = on_progress;
    o.progress_ctx = &h;

    sne_store *store = NULL;
    sne_error err = {0};
    sne_follow_summary sum;
    memset(&sum, 0, sizeof(sum));
    sne_err rc = cli_open_store(common, CLI_STORE_WRITE, &store, &err);
    if (!rc) { /* the counts are known (null in the report otherwise) */
        cli_report_seq_before(common->report, store);
        rc = sne_follow_run_until(store, &o, cli_stop_flag(), &sum, &err);
        cli_report_seq_after(common->report, store);
        report_summary(common->report, &sum);
    }
    sne_store_close(store);
    int signal_number = *cli_stop_flag();
    if (rc && signal_number) { /* stopped: the message says the next run reads the window again */
        cli_fail(common, rc, &err);
        return EXIT_SIGNALLED + signal_number;
    }
    if (rc)
        return cli_fail(common, rc, &err);
    if (!common->json)
        print_summary(&sum);
    return EXIT_OK;
}
