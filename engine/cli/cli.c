#include "cli.h"
#include "stop.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int cli_exit_status(sne_err rc)
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
    case SNE_ERR_HTTP:
    case SNE_ERR_NETWORK:
        return EXIT_SERVER;
    case SNE_ERR_RANGE:
        return EXIT_CURSOR;
    case SNE_ERR_NOTFOUND:
        return EXIT_NOT_FOUND;
    case SNE_ERR_MISMATCH:
        return EXIT_MISMATCH;
    case SNE_ERR_DATABASE:
        return EXIT_DATABASE;
    case SNE_ERR_BEHIND:
        return EXIT_BEHIND;
    default:
        return EXIT_FAILURE_OTHER;
    }
}

const char *cli_status_meaning(int status)
{
    static const char *const meaning[] = {
        [EXIT_OK] = "done",
        [EXIT_FAILURE_OTHER] = "an unexpected failure",
        [EXIT_USAGE] = "usage error (the message is on standard error)",
        [EXIT_BAD_INPUT] = "bad or incomplete export",
        [EXIT_STALE] = "stale export",
        [EXIT_BUSY] = "store busy",
        [EXIT_STORE] = "store or disk failure",
        [EXIT_SERVER] = "the server refused or could not be reached",
        [EXIT_CURSOR] = "change log cursor out of range",
        [EXIT_NOT_FOUND] = "the demand is not in the store",
        [EXIT_MISMATCH] = "the database does not follow on from the store",
        [EXIT_DATABASE] = "the database failed or could not be reached",
    };
    if (status >= 0 && (size_t)status < sizeof(meaning) / sizeof(meaning[0]) && meaning[status])
        return meaning[status];
    if (status == EXIT_SIGNALLED + SIGINT || status == EXIT_SIGNALLED + SIGTERM)
        return "stopped by a signal";
    return "an unexpected failure";
}

int cli_fail(const cli_common *c, sne_err rc, const sne_error *e)
{
    const char *message = e && e->code ? e->message : sne_strerror(rc);
    fprintf(stderr, "snesync: %s\n", message);
    cli_report_error(c->report, message);
    return cli_exit_status(rc);
}

enum { OPT_STORE = 256, OPT_CONFIG, OPT_JSON, OPT_METRICS_FILE, OPT_HELP };

/* Whether --json is among the arguments (before a "--"): a command line that fails to parse
 * still gets its report as JSON. */
static bool json_asked(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--json") == 0)
            return true;
    return false;
}

/* Reads the config file, if any; its store applies when --store was not given. */
static int read_config(const char *given, cli_common *common)
{
    common->config = cli_conf_path(given);
    if (!common->config)
        return EXIT_OK;
    int status = cli_conf_load(&common->conf, common->config);
    if (status == EXIT_OK && !common->store_given && common->conf.value[CONF_STORE])
        common->store_dir = common->conf.value[CONF_STORE];
    return status;
}

int cli_parse(int argc, char **argv, const char *usage, const struct option *own,
              cli_option_fn on_option, void *ctx, cli_common *common, int *status)
{
    static const struct option common_options[] = {
        {"store", required_argument, NULL, OPT_STORE},
        {"config", required_argument, NULL, OPT_CONFIG},
        {"json", no_argument, NULL, OPT_JSON},
        {"metrics-file", required_argument, NULL, OPT_METRICS_FILE},
        {"help", no_argument, NULL, OPT_HELP},
    };
    enum { N_COMMON = sizeof(common_options) / sizeof(common_options[0]), MAX_OPTIONS = 40 };
    struct option all[MAX_OPTIONS + N_COMMON + 1];
    size_t n = 0;
    for (; own && own[n].name && n < MAX_OPTIONS; n++)
        all[n] = own[n];
    memcpy(all + n, common_options, sizeof(common_options));
    memset(all + n + N_COMMON, 0, sizeof(all[0]));

    const char *env = getenv("SNESYNC_STORE");
    common->store_dir = env && *env ? env : "snesync.store";
    const char *config = NULL;
    *status = EXIT_OK;
    optind = 0; /* GNU getopt: start afresh */
    int opt;
    while ((opt = getopt_long(argc, argv, "h", all, NULL)) != -1) {
        switch (opt) {
        case OPT_STORE:
            common->store_dir = optarg;
            common->store_given = true;
            break;
        case OPT_CONFIG:
            config = optarg;
            break;
        case OPT_JSON:
            common->json = true;
            break;
        case OPT_METRICS_FILE:
            if (!common->metrics_allowed) {
                fprintf(stderr,
                        "snesync %s: --metrics-file is for ingest, sync, drm-refresh, "
                        "follow and pg-apply\n",
                        argv[0]);
                common->json = json_asked(argc, argv);
                *status = EXIT_USAGE;
                return -1;
            }
            common->metrics_file = optarg;
            break;
        case OPT_HELP:
        case 'h':
            fputs(usage, stdout);
            common->helped = true;
            return -1;
        case '?':
        case ':':
            fprintf(stderr, "snesync %s: see snesync %s --help\n", argv[0], argv[0]);
            common->json = json_asked(argc, argv);
            *status = EXIT_USAGE;
            return -1;
        default: {
            int rc = on_option ? on_option(ctx, opt, optarg) : EXIT_USAGE;
            if (rc) {
                common->json = json_asked(argc, argv);
                *status = rc;
                return -1;
            }
        }
        }
    }
    if ((*status = read_config(config, common)) != EXIT_OK)
        return -1;
    return optind;
}

void cli_common_free(cli_common *common)
{
    cli_conf_free(&common->conf);
}

bool cli_parse_u64(const char *s, uint64_t *out)
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

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool cli_open_archive(const char *command, const char *path, cli_source *src)
{
    src->fd = STDIN_FILENO;
    if (strcmp(path, "-") == 0)
        return true;
    struct stat st;
    int e = 0;
    if ((src->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        e = errno;
    else if (fstat(src->fd, &st) != 0)
        e = errno;
    else if (S_ISDIR(st.st_mode))
        e = EISDIR;
    if (!e)
        return true;
    if (src->fd >= 0)
        close(src->fd);
    fprintf(stderr, "snesync %s: cannot open %s: %s\n", command, path, strerror(e));
    return false;
}

void cli_close_archive(cli_source *src)
{
    if (src->fd != STDIN_FILENO)
        close(src->fd);
}

ptrdiff_t cli_read_fd(void *ctx, void *buf, size_t n)
{
    cli_source *src = ctx;
    for (;;) {
        ssize_t got = read(src->fd, buf, n);
        if (got >= 0 || errno != EINTR)
            return got;
    }
}

sne_err cli_open_store(const cli_common *c, cli_store_use use, sne_store **store, sne_error *err)
{
    sne_store_options so = {.writable = use != CLI_STORE_READ, .create = use == CLI_STORE_CREATE};
    sne_err rc = sne_store_open(store, c->store_dir, &so, err);
    if (rc == SNE_ERR_NOTFOUND)
        rc = err->code = SNE_ERR_USAGE;
    return rc;
}
