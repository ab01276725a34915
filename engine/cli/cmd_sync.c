/* snesync sync, snesync drm-refresh: the scheduled jobs, end to end against the export service
 * (engine/sync.h); and the options snesync follow shares with them (cmd_follow.c runs it).
 * Options come from the command line, then from a config file (--config). */
#include "cli.h"
#include "config.h"
#include "stop.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char sync_usage[] =
    "Usage: snesync sync --server URL --entities CODE,... --etat ACTIVE|RADIEE\n"
    "                    [--departements 38,26 | --communes 38185,...] [--depth 1..3]\n"
    "                    [--cert F --key F] [--cacert F] [--token-file F] [--config FILE]\n"
    "                    [--work-dir DIR] [--max-wait S] [--retries N] [--stall-timeout S]\n"
    "                    [--min-speed B] [--pg-apply] [--store DIR] [--json]\n"
    "                    [--metrics-file PATH]\n"
    "\n"
    "Requests an export from the service, polls it (honouring Retry-After), downloads it while\n"
    "ingesting it, verifies its size and sha256 before anything is deleted, then releases it.\n"
    "Killed at any point, the same command resumes the same export (kept in the store).\n"
    "SIGTERM or SIGINT stops it at the next safe point within a second or so, with status 143\n"
    "(130 for SIGINT), keeping the export for the next run.\n"
    "\n"
    "  --server URL        the service, https://host[:port] (/v1.0 is added); with a token,\n"
    "                      plain http:// only to this machine (localhost, 127.0.0.0/8, ::1)\n"
    "  --entities LIST     CERFA,DALO,EVT,CONT,ATTRIB,PRIO,COTA,PJ,DRM (or ALL)\n"
    "  --etat STATE        ACTIVE (default) or RADIEE\n"
    "  --departements LIST department codes (38, 2A, 974); --communes LIST: INSEE codes\n"
    "  --depth N           months of DRM (1..3, with DRM only; default: the server's, 3)\n"
    "  --cert F --key F    client certificate and key (PEM) for mutual TLS\n"
    "  --cacert F          CA certificates (PEM) that sign the server's certificate\n"
    "                      (a --cert, --key or --cacert that does not load, a certificate\n"
    "                      refused or not verified: exit 7 at once, with curl's explanation)\n"
    "  --token-file F      bearer token, first line of F (else $SNESYNC_TOKEN); never an option\n"
    "  --config FILE       'key = value' lines: server, cert, key, cacert, token-file, store,\n"
    "                      entities, etat, departements, communes, depth, work-dir, max-wait,\n"
    "                      retries, stall-timeout, min-speed (relative paths are taken from\n"
    "                      FILE's directory), and pg-apply's pg-dsn, pg-schema, pg-batch;\n"
    "                      options given on the command line win (default $SNESYNC_CONFIG,\n"
    "                      else /etc/snesync/snesync.conf when it exists)\n"
    "  --work-dir DIR      where archives are downloaded (default STORE.work); the last one is\n"
    "                      kept there for audit\n"
    "  --max-wait S        give up polling after S seconds (default 86400); run again to resume\n"
    "  --retries N         retries of a request on 429/503/network errors (default 7), waiting\n"
    "                      Retry-After or 1, 2, 4... 60 s with jitter (a host name that does\n"
    "                      not resolve: 2 at most)\n"
    "  --stall-timeout S   a transfer slower than --min-speed for S seconds (default 60) is\n"
    "                      stopped and retried (a failed attempt)\n"
    "  --min-speed B       bytes per second (default 1024)\n"
    "  --pg-apply          then apply the changes to PostgreSQL as `snesync pg-apply` does\n"
    "                      (pg-dsn, pg-schema, pg-batch of --config; else libpq's environment):\n"
    "                      its status if it fails (10, 11: see snesync pg-apply --help)\n"
    "  --json              print the run's report as one JSON object, also when it fails\n"
    "                      (with --pg-apply, pg-apply's report in its member pgApply)\n"
    "  --metrics-file PATH write the run's metrics there (Prometheus text format, written\n"
    "                      atomically), also when it fails\n"
    "  --store DIR         the store (default: the config file's, else $SNESYNC_STORE, else\n"
    "                      ./snesync.store)\n";

static const char drm_usage[] =
    "Usage: snesync drm-refresh --server URL [--departements 38,26 | --communes ...]\n"
    "                           [--depth 1..3] [--etat ACTIVE|RADIEE] [--cert F --key F]\n"
    "                           [--cacert F] [--token-file F] [--config FILE] [--work-dir DIR]\n"
    "                           [--max-wait S] [--retries N] [--stall-timeout S]\n"
    "                           [--min-speed B] [--pg-apply] [--store DIR] [--json]\n"
    "                           [--metrics-file PATH]\n"
    "\n"
    "The monthly DRM refresh: a DRM-only export (monthly resources, --depth months, default 3),\n"
    "requested, downloaded and ingested like `snesync sync`. It changes DRM items only: every\n"
    "other entity is left as it is. DRM data is ready from the 26th of each month.\n"
    "Options as for `snesync sync` (a config file's 'entities' is ignored here).\n";

enum {
    OPT_SERVER = 300,
    OPT_ENTITIES,
    OPT_ETAT,
    OPT_DEPARTEMENTS,
    OPT_COMMUNES,
    OPT_DEPTH,
    OPT_CERT,
    OPT_KEY,
    OPT_CACERT,
    OPT_TOKEN_FILE,
    OPT_TOKEN,
    OPT_WORK_DIR,
    OPT_MAX_WAIT,
    OPT_RETRIES,
    OPT_STALL_TIMEOUT,
    OPT_MIN_SPEED,
    OPT_PG_APPLY,
    OPT_OVERLAP,
    OPT_PARALLEL,
};

typedef enum job_kind { JOB_SYNC, JOB_DRM, JOB_FOLLOW } job_kind;

/* Every setting, as text, from the command line or the config file (config.h). */
typedef struct settings {
    const char *cli[CONF__COUNT]; /* borrowed from argv */
    const cli_conf *conf;         /* the config file's (cli_common), once read */
    job_kind kind;
    bool pg_apply; /* --pg-apply: snesync pg-apply after a successful job */
} settings;

static const char *get(const settings *s, int k)
{
    return s->cli[k] ? s->cli[k] : s->conf->value[k];
}

/* Reads the number of setting `k` into *v (0 when it is not set). False, with a message saying
 * that the option `what`, when it is set but not a number in [min, max]. */
static bool number_setting(const settings *s, int k, uint64_t min, uint64_t max, const char *cmd,
                           const char *what, uint64_t *v)
{
    const char *text = get(s, k);
    *v = 0;
    if (!text)
        return true;
    if (cli_parse_u64(text, v) && *v >= min && *v <= max)
        return true;
    fprintf(stderr, "snesync %s: --%s %s\n", cmd, cli_conf_name(k), what);
    return false;
}

/* follow's own settings: the overlap in seconds (-1 when not set: follow's default) and the reads
 * at once (0 when not set). False after a message. */
static bool follow_settings(const settings *s, const char *cmd, long *overlap, unsigned *parallel)
{
    uint64_t ov, par;
    if (!number_setting(s, CONF_OVERLAP, 0, 86400, cmd, "takes seconds (0..86400)", &ov) ||
        !number_setting(s, CONF_PARALLEL, 1, 4, cmd, "takes 1..4 reads at once", &par))
        return false;
    *overlap = get(s, CONF_OVERLAP) ? (long)ov : -1;
    *parallel = (unsigned)par;
    return true;
}

static int on_option(void *ctx, int opt, const char *arg)
{
    settings *s = ctx;
    switch (opt) {
    case OPT_TOKEN:
        fprintf(stderr, "snesync: the token is never taken on the command line (every user can "
                        "read it there); use --token-file F or $SNESYNC_TOKEN\n");
        return EXIT_USAGE;
    case OPT_PG_APPLY:
        if (s->kind == JOB_FOLLOW)
            break;
        s->pg_apply = true;
        return 0;
    case OPT_OVERLAP:
    case OPT_PARALLEL:
        if (s->kind != JOB_FOLLOW)
            break;
        s->cli[opt == OPT_OVERLAP ? CONF_OVERLAP : CONF_PARALLEL] = arg;
        return 0;
    case OPT_ENTITIES:
        if (s->kind == JOB_DRM)
            break;
        s->cli[CONF_ENTITIES] = arg;
        return 0;
    default:
        if (opt >= OPT_SERVER && opt <= OPT_MIN_SPEED) {
            static const int map[] = {
                [OPT_SERVER - OPT_SERVER] = CONF_SERVER,
                [OPT_ETAT - OPT_SERVER] = CONF_ETAT,
                [OPT_DEPARTEMENTS - OPT_SERVER] = CONF_DEPARTEMENTS,
                [OPT_COMMUNES - OPT_SERVER] = CONF_COMMUNES,
                [OPT_DEPTH - OPT_SERVER] = CONF_DEPTH,
                [OPT_CERT - OPT_SERVER] = CONF_CERT,
                [OPT_KEY - OPT_SERVER] = CONF_KEY,
                [OPT_CACERT - OPT_SERVER] = CONF_CACERT,
                [OPT_TOKEN_FILE - OPT_SERVER] = CONF_TOKEN_FILE,
                [OPT_WORK_DIR - OPT_SERVER] = CONF_WORK_DIR,
                [OPT_MAX_WAIT - OPT_SERVER] = CONF_MAX_WAIT,
                [OPT_RETRIES - OPT_SERVER] = CONF_RETRIES,
                [OPT_STALL_TIMEOUT - OPT_SERVER] = CONF_STALL_TIMEOUT,
                [OPT_MIN_SPEED - OPT_SERVER] = CONF_MIN_SPEED,
            };
            s->cli[map[opt - OPT_SERVER]] = arg;
            return 0;
        }
    }
    return EXIT_USAGE;
}

/* The token: the first line of the token file, else $SNESYNC_TOKEN, else none. */
static int load_token(const settings *s, char *out, size_t cap)
{
    out[0] = '\0';
    const char *path = get(s, CONF_TOKEN_FILE);
    if (path) {
        FILE *fp = fopen(path, "r");
        if (!fp) {
            fprintf(stderr, "snesync: cannot open the token file %s: %s\n", path, strerror(errno));
            return EXIT_USAGE;
        }
        struct stat st;
        if (fstat(fileno(fp), &st) == 0 && (st.st_mode & 077))
            fprintf(stderr,
                    "snesync: warning: the token file %s is readable by other users "
                    "(chmod 600 it)\n",
                    path);
        if (!fgets(out, (int)cap, fp))
            out[0] = '\0';
        fclose(fp);
        char *t = cli_trim(out);
        memmove(out, t, strlen(t) + 1);
        if (!out[0]) {
            fprintf(stderr, "snesync: the token file %s is empty\n", path);
            return EXIT_USAGE;
        }
        return EXIT_OK;
    }
    const char *env = getenv("SNESYNC_TOKEN");
    if (env && *env)
        snprintf(out, cap, "%s", env);
    return EXIT_OK;
}

static bool parse_entities(const char *list, sne_entity_set *out)
{
    *out = 0;
    if (strcmp(list, "ALL") == 0) {
        *out = SNE_ENTITY_ALL;
        return true;
    }
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        const char *w = p;
        p += n + (p[n] == ',');
        while (n > 0 && *w == ' ')
            w++, n--;
        while (n > 0 && w[n - 1] == ' ')
            n--;
        if (n == 0)
            continue;
        int e = sne_entity_by_code(w, n);
        if (e < 0) {
            fprintf(stderr,
                    "snesync: unknown entity '%.*s' (CERFA, DALO, EVT, CONT, ATTRIB, "
                    "PRIO, COTA, PJ, DRM)\n",
                    (int)(n > 12 ? 12 : n), w);
            return false;
        }
        *out |= 1u << e;
    }
    if (!*out)
        fprintf(stderr, "snesync: --entities lists no entity\n");
    return *out != 0;
}

/* --- progress on a terminal, and the test hook ------------------------------------------------ */

typedef struct progress_state {
    pthread_mutex_t mu;
    bool tty;
    int last_phase;
    double last;
    char kill_phase[32]; /* SNESYNC_TEST_KILL_AT or _TERM_AT=phase[:N]; "" when not set */
    uint64_t kill_at;
    int kill_signal; /* SIGKILL (_KILL_AT) or SIGTERM (_TERM_AT) */
} progress_state;

static void show_progress(void *ctx, const sne_sync_progress *p)
{
    progress_state *ps = ctx;
    pthread_mutex_lock(&ps->mu);
    if (ps->kill_phase[0] && strcmp(ps->kill_phase, sne_sync_phase_name(p->phase)) == 0) {
        uint64_t v = p->phase == SNE_SYNC_POLLING       ? p->polls
                     : p->phase == SNE_SYNC_DOWNLOADING ? p->downloaded
                     : p->phase == SNE_SYNC_INGESTING   ? p->demands
                                                        : 0;
        if (v >= ps->kill_at) {
            fflush(NULL);
            ps->kill_phase[0] = '\0'; /* once: a second SIGTERM would end the process */
            raise(ps->kill_signal);   /* a crash, or a stop, as a test of resumption wants it */
        }
    }
    double t = cli_now();
    /* the download and the ingest run at once: one line for both */
    int phase = p->phase == SNE_SYNC_INGESTING ? SNE_SYNC_DOWNLOADING : (int)p->phase;
    bool changed = phase != ps->last_phase;
    if (!ps->tty || (!changed && t - ps->last < 0.2)) {
        pthread_mutex_unlock(&ps->mu);
        return;
    }
    if (changed && ps->last_phase >= 0)
        fputc('\n', stderr);
    ps->last_phase = phase;
    ps->last = t;
    switch (p->phase) {
    case SNE_SYNC_POSTED:
        fprintf(stderr, "export %s requested", p->numero);
        break;
    case SNE_SYNC_POLLING:
        if (p->progression >= 0)
            fprintf(stderr, "\rexport %s: %s %d%% (poll %u)   ", p->numero,
                    sne_statut_name(p->statut), p->progression, p->polls);
        else
            fprintf(stderr, "\rexport %s: %s (poll %u)   ", p->numero, sne_statut_name(p->statut),
                    p->polls);
        break;
    case SNE_SYNC_DOWNLOADING:
    case SNE_SYNC_INGESTING:
        fprintf(stderr,
                "\rexport %s: %.1f of %.1f MB downloaded%s, %" PRIu64 " demands ingested   ",
                p->numero, (double)p->downloaded / 1e6, (double)p->total / 1e6,
                p->resumed_from ? " (resumed)" : "", p->demands);
        break;
    case SNE_SYNC_SWEEPING:
        fprintf(stderr, "\rexport %s: archive verified; deleting what it no longer holds   ",
                p->numero);
        break;
    case SNE_SYNC_RELEASING:
        fprintf(stderr, "export %s: ingested; releasing it", p->numero);
        break;
    }
    fflush(stderr);
    pthread_mutex_unlock(&ps->mu);
}

/* --- output ------------------------------------------------------------------------------------
 */

/* What the job did, in the run's report (--json, --metrics-file): also after a failure, with
 * what is known of it (the export, the bytes fetched). */
static void report_summary(cli_report *r, const char *job, const sne_sync_summary *s)
{
    const sne_ingest_summary *in = &s->ingest;
    cli_report_export(r, s->numero, s->ingested ? in->date_export : NULL);
    if (s->ingested)
        cli_report_apply_stats(r, &in->stats);
    cli_report_fact(r, CLI_FACT_ARCHIVE_BYTES, s->archive_bytes);
    cli_report_fact(r, CLI_FACT_DOWNLOADED_BYTES, s->downloaded_bytes);
    cli_report_fact(r, CLI_FACT_RETRIES, s->retries);
    cli_report_str(r, "job", job);
    cli_report_bool(r, "resumed", s->resumed);
    cli_report_u64(r, "exportsRequested", s->exports_requested);
    cli_report_u64(r, "polls", s->polls);
    cli_report_u64(r, "resumedFrom", s->resumed_from);
    cli_report_bool(r, "ingested", s->ingested);
    cli_report_u64(r, "unchanged", in->stats.items_unchanged);
    cli_report_u64(r, "demandsSwept", in->stats.demands_swept);
    cli_report_str(r, "sha256", in->sha256);
    cli_report_bool(r, "released", s->released);
    cli_report_str(r, "archive", s->archive_path);
    cli_report_str(r, "warning", s->warning);
    cli_report_seconds(r, "secondsWaiting", s->seconds_waiting);
    cli_report_seconds(r, "secondsTransfer", s->seconds_transfer);
}

static void print_summary(const char *job, const sne_sync_summary *s)
{
    const sne_ingest_summary *in = &s->ingest;
    const sne_apply_stats *st = &in->stats;
    if (!s->ingested) {
        printf("%s: export %s had been ingested by an earlier run; %s\n", job, s->numero,
               s->released ? "released" : "not released");
        return;
    }
    printf("%s: export %s of %s%s: %" PRIu64 " demands, %" PRIu64 " creates, %" PRIu64
           " updates, %" PRIu64 " deletes (%" PRIu64 " absent demands), %" PRIu64
           " items unchanged; %.1f MB downloaded%s, %u polls, %.1f s\n",
           job, s->numero, in->date_export, s->resumed ? " (resumed)" : "", st->demands,
           st->creates, st->updates, st->deletes, st->demands_swept, st->items_unchanged,
           (double)s->downloaded_bytes / 1e6, s->resumed_from ? " (rest was on disk)" : "",
           s->polls, s->seconds);
}

/* --- the commands ------------------------------------------------------------------------------
 */

static const struct option job_options[] = {
    {"server", required_argument, NULL, OPT_SERVER},
    {"entities", required_argument, NULL, OPT_ENTITIES},
    {"etat", required_argument, NULL, OPT_ETAT},
    {"departements", required_argument, NULL, OPT_DEPARTEMENTS},
    {"communes", required_argument, NULL, OPT_COMMUNES},
    {"depth", required_argument, NULL, OPT_DEPTH},
    {"cert", required_argument, NULL, OPT_CERT},
    {"key", required_argument, NULL, OPT_KEY},
    {"cacert", required_argument, NULL, OPT_CACERT},
    {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
    {"token", required_argument, NULL, OPT_TOKEN},
    {"work-dir", required_argument, NULL, OPT_WORK_DIR},
    {"max-wait", required_argument, NULL, OPT_MAX_WAIT},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"stall-timeout", required_argument, NULL, OPT_STALL_TIMEOUT},
    {"min-speed", required_argument, NULL, OPT_MIN_SPEED},
    {"pg-apply", no_argument, NULL, OPT_PG_APPLY},
    {"overlap", required_argument, NULL, OPT_OVERLAP},
    {"parallel", required_argument, NULL, OPT_PARALLEL},
    {NULL, 0, NULL, 0},
};

/* The command line, then the config file. True when the job is to run, with
 * common->store_dir the store the settings name; false with *status the exit status (EXIT_OK
 * after --help; otherwise said why). */
static bool read_settings(int argc, char **argv, const char *name, settings *set,
                          cli_common *common, int *status)
{
    static const char *const usages[] = {
        [JOB_SYNC] = sync_usage, [JOB_DRM] = drm_usage, [JOB_FOLLOW] = cli_follow_usage};
    int first =
        cli_parse(argc, argv, usages[set->kind], job_options, on_option, set, common, status);
    if (first < 0)
        return false;
    *status = EXIT_USAGE;
    if (first < argc) {
        fprintf(stderr, "snesync %s: no argument is expected ('%s')\n", name, argv[first]);
        return false;
    }
    set->conf = &common->conf;
    if (set->pg_apply && (*status = cli_pg_chain_check(name, set->conf)) != EXIT_OK)
        return false;
    return true;
}

/* What to ask the service for: entities, state, location, DRM depth. False, said why, when a
 * setting is wrong. */
static bool request_settings(const settings *set, const char *name, sne_sync_options *o)
{
    if (set->kind == JOB_DRM) {
        o->entities = 1u << SNE_ENTITY_DRM;
    } else if (!get(set, CONF_ENTITIES)) {
        fprintf(stderr, "snesync %s: --entities is needed (or 'entities' in --config)\n", name);
        return false;
    } else if (!parse_entities(get(set, CONF_ENTITIES), &o->entities)) {
        return false;
    }
    const char *etat = get(set, CONF_ETAT);
    if (etat && strcmp(etat, "ACTIVE") != 0 && strcmp(etat, "RADIEE") != 0) {
        fprintf(stderr, "snesync %s: --etat is ACTIVE or RADIEE\n", name);
        return false;
    }
    o->radiees = etat && strcmp(etat, "RADIEE") == 0;
    /* A location given on the command line replaces the config file's, whichever kind. */
    if (set->cli[CONF_DEPARTEMENTS] || set->cli[CONF_COMMUNES]) {
        o->departements = set->cli[CONF_DEPARTEMENTS];
        o->communes = set->cli[CONF_COMMUNES];
    } else {
        const char *departements = set->conf->value[CONF_DEPARTEMENTS];
        const char *communes = set->conf->value[CONF_COMMUNES];
        o->departements = departements && *departements ? departements : NULL;
        o->communes = communes && *communes ? communes : NULL;
    }
    uint64_t v;
    if (!number_setting(set, CONF_DEPTH, 1, 3, name, "is 1, 2 or 3 (months of DRM)", &v))
        return false;
    if (v)
        o->profondeur_drm = (int)v;
    return true;
}

/* How to reach the service: waits, retries and TLS files (the server and the token aside).
 * False, said why, when a setting is wrong. */
static bool transport_settings(const settings *set, const char *name, sne_sync_options *o)
{
    uint64_t v;
    if (!number_setting(set, CONF_MAX_WAIT, 1, 30 * 86400, name, "takes seconds", &v))
        return false;
    if (v)
        o->max_wait = (double)v;
    if (!number_setting(set, CONF_RETRIES, 0, 100, name, "takes a number of attempts (0..100)", &v))
        return false;
    if (get(set, CONF_RETRIES))
        o->fetch.max_attempts = (unsigned)v + 1;
    if (!number_setting(set, CONF_STALL_TIMEOUT, 1, 3600, name, "takes seconds (1..3600)", &v))
        return false;
    if (v)
        o->fetch.low_speed_time = (long)v;
    if (!number_setting(set, CONF_MIN_SPEED, 1, 1u << 30, name, "takes bytes per second (1..2^30)",
                        &v))
        return false;
    if (v)
        o->fetch.low_speed_limit = (long)v;
    o->fetch.cert = get(set, CONF_CERT);
    o->fetch.key = get(set, CONF_KEY);
    o->fetch.cacert = get(set, CONF_CACERT);
    if (o->fetch.key && !o->fetch.cert) {
        fprintf(stderr, "snesync %s: --key needs --cert\n", name);
        return false;
    }
    return true;
}

/* The download directory: --work-dir, else STORE.work. False, said why, when it does not fit. */
static bool work_dir_setting(const settings *set, const char *name, const char *store_dir,
                             char *work, size_t cap)
{
    int n;
    if (get(set, CONF_WORK_DIR)) {
        n = snprintf(work, cap, "%s", get(set, CONF_WORK_DIR));
    } else {
        size_t len = strlen(store_dir);
        while (len > 1 && store_dir[len - 1] == '/')
            len--;
        n = len < cap ? snprintf(work, cap, "%.*s.work", (int)len, store_dir) : -1;
    }
    if (n >= 0 && (size_t)n < cap)
        return true;
    fprintf(stderr, "snesync %s: the work directory's path is longer than %zu bytes\n", name,
            cap - 1);
    return false;
}

/* The request and the transport checked before the store is opened: nothing is touched, nothing
 * is sent when they are wrong. */
static bool check_job(const sne_sync_options *o, const char *name)
{
    sne_error err = {0};
    sne_buf probe;
    sne_buf_init(&probe, 1 << 20);
    sne_err rc = sne_sync_request_json(o, &probe, &err);
    sne_buf_free(&probe);
    if (!rc)
        rc = sne_fetch_check_options(&o->fetch, &err);
    if (rc)
        fprintf(stderr, "snesync %s: %s\n", name, err.message);
    return rc == SNE_OK;
}

/* The test hooks: SNESYNC_TEST_KILL_AT=phase[:N] kills the process at a phase (show_progress),
 * SNESYNC_TEST_TERM_AT=phase[:N] sends it SIGTERM there, SNESYNC_TEST_BATCH_DEMANDS makes the
 * ingest commit in small transactions, so that a small export commits mid-way. */
static void apply_test_hooks(progress_state *ps, sne_sync_options *o)
{
    const char *hook = getenv("SNESYNC_TEST_KILL_AT");
    ps->kill_signal = SIGKILL;
    if (!hook || !*hook) {
        hook = getenv("SNESYNC_TEST_TERM_AT");
        ps->kill_signal = SIGTERM;
    }
    if (hook && *hook) {
        size_t n = strcspn(hook, ":");
        snprintf(ps->kill_phase, sizeof(ps->kill_phase), "%.*s",
                 (int)(n < sizeof(ps->kill_phase) - 1 ? n : sizeof(ps->kill_phase) - 1), hook);
        if (hook[n] == ':' && !cli_parse_u64(hook + n + 1, &ps->kill_at))
            ps->kill_at = 0;
    }
    uint64_t v;
    const char *batch = getenv("SNESYNC_TEST_BATCH_DEMANDS");
    if (batch && cli_parse_u64(batch, &v) && v > 0 && v < 1000000)
        o->batch_demands = (size_t)v;
}

/* Opens the store, runs the job, and reports the result: the exit status. */
static int run_on_store(const char *name, const settings *set, const cli_common *common,
                        const sne_sync_options *o, progress_state *ps)
{
    sne_error err = {0};
    sne_store *store = NULL;
    sne_sync_summary sum;
    memset(&sum, 0, sizeof(sum));
    sne_err rc = cli_open_store(common, CLI_STORE_CREATE, &store, &err);
    cli_report_seq_before(common->report, store);
    if (!rc)
        rc = sne_sync_run_until(store, o, cli_stop_flag(), &sum, &err);
    if (ps->tty && ps->last_phase >= 0)
        fputc('\n', stderr);
    cli_report_seq_after(common->report, store);
    sne_store_close(store);
    report_summary(common->report, name, &sum);
    int signal_number = *cli_stop_flag();
    if (rc && signal_number) { /* stopped: the message says what the next run resumes */
        cli_fail(common, rc, &err);
        return EXIT_SIGNALLED + signal_number;
    }
    if (rc) {
        int status = cli_fail(common, rc, &err);
        if (status == EXIT_BAD_INPUT || status == EXIT_STALE) {
            fprintf(stderr,
                    "snesync %s: nothing was deleted; the export was released and the "
                    "next run requests a new one\n",
                    name);
            if (sum.archive_path[0])
                fprintf(stderr, "snesync %s: the archive is kept as %s\n", name, sum.archive_path);
        }
        return status;
    }
    if (sum.warning[0])
        fprintf(stderr, "snesync %s: warning: %s\n", name, sum.warning);
    if (!common->json)
        print_summary(name, &sum);
    cli_stop_release(); /* pg-apply is stopped as before: at once, its batches committed stay */
    if (set->pg_apply && signal_number) {
        fprintf(stderr, "snesync %s: stopped by a signal before pg-apply\n", name);
        cli_report_error(common->report, "stopped by a signal before pg-apply");
        return EXIT_SIGNALLED + signal_number;
    }
    return set->pg_apply ? cli_pg_apply_chained(name, common) : EXIT_OK;
}

static int run_job(int argc, char **argv, cli_common *common, job_kind kind)
{
    static const char *const names[] = {
        [JOB_SYNC] = "sync", [JOB_DRM] = "drm-refresh", [JOB_FOLLOW] = "follow"};
    const char *name = names[kind];
    settings set = {.kind = kind};
    char token[4096] = "";
    char work[2048];
    sne_sync_options o;
    progress_state ps = {.last_phase = -1};
    pthread_mutex_init(&ps.mu, NULL);

    int status;
    if (!read_settings(argc, argv, name, &set, common, &status))
        goto out;
    status = EXIT_USAGE;
    sne_sync_options_default(&o);
    o.job = name;
    o.fetch.server = get(&set, CONF_SERVER);
    if (!o.fetch.server || !*o.fetch.server) {
        fprintf(stderr, "snesync %s: --server URL is needed (or 'server' in --config)\n", name);
        goto out;
    }
    if (!request_settings(&set, name, &o) || !transport_settings(&set, name, &o))
        goto out;
    if ((status = load_token(&set, token, sizeof(token))) != EXIT_OK)
        goto out;
    status = EXIT_USAGE;
    o.fetch.token = token[0] ? token : NULL;
    if (!work_dir_setting(&set, name, common->store_dir, work, sizeof(work)))
        goto out;
    o.work_dir = work;
    if (!check_job(&o, name))
        goto out;
    if (kind == JOB_FOLLOW) {
        long overlap;
        unsigned parallel;
        if (follow_settings(&set, name, &overlap, &parallel)) /* cli_stop_catch says why not */
            status = cli_stop_catch(name) ? cli_follow_run(&o, overlap, parallel, common)
                                          : EXIT_FAILURE_OTHER;
        goto out;
    }
    ps.tty = isatty(STDERR_FILENO);
    o.progress = show_progress;
    o.progress_ctx = &ps;
    apply_test_hooks(&ps, &o);
    status = EXIT_FAILURE_OTHER;
    if (cli_stop_catch(name))
        status = run_on_store(name, &set, common, &o, &ps);
out:
    cli_stop_release();
    memset(token, 0, sizeof(token));
    pthread_mutex_destroy(&ps.mu);
    return status;
}

int cmd_sync(int argc, char **argv, cli_common *common)
{
    return run_job(argc, argv, common, JOB_SYNC);
}

int cmd_drm_refresh(int argc, char **argv, cli_common *common)
{
    return run_job(argc, argv, common, JOB_DRM);
}

int cmd_follow(int argc, char **argv, cli_common *common)
{
    return run_job(argc, argv, common, JOB_FOLLOW);
}
