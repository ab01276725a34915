#include "cli.h"

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

int cli_fail(sne_err rc, const sne_error *e)
{
    fprintf(stderr, "snesync: %s\n", e && e->code ? e->message : sne_strerror(rc));
    return cli_exit_status(rc);
}

enum { OPT_STORE = 256, OPT_JSON, OPT_HELP };

int cli_parse(int argc, char **argv, const char *usage, const struct option *own,
              cli_option_fn on_option, void *ctx, cli_common *common, int *status)
{
    static const struct option common_options[] = {
        {"store", required_argument, NULL, OPT_STORE},
        {"json", no_argument, NULL, OPT_JSON},
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
    common->json = false;
    *status = EXIT_OK;
    optind = 0; /* GNU getopt: start afresh */
    int opt;
    while ((opt = getopt_long(argc, argv, "h", all, NULL)) != -1) {
        switch (opt) {
        case OPT_STORE:
            common->store_dir = optarg;
            break;
        case OPT_JSON:
            common->json = true;
            break;
        case OPT_HELP:
        case 'h':
            fputs(usage, stdout);
            return -1;
        case '?':
        case ':':
            fprintf(stderr, "snesync %s: see snesync %s --help\n", argv[0], argv[0]);
            *status = EXIT_USAGE;
            return -1;
        default: {
            int rc = on_option ? on_option(ctx, opt, optarg) : EXIT_USAGE;
            if (rc) {
                *status = rc;
                return -1;
            }
        }
        }
    }
    return optind;
}

bool cli_store_given(int argc, char **argv, const cli_common *c)
{
    for (int i = 1; i < argc; i++)
        if (c->store_dir >= argv[i] && c->store_dir < argv[i] + strlen(argv[i]) + 1)
            return true;
    return false;
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
