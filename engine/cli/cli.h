/* cli.h: what the snesync commands share: option parsing, exit statuses, archive sources.
 * Each command lives in its own cmd_<name>.c, parses its own options through cli_parse(), and
 * uses the engine only through snesync.h. */
#ifndef SNE_CLI_H
#define SNE_CLI_H

#include "config.h"
#include "report.h"
#include "snesync.h"

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Exit statuses a scheduler can act on (documented in README.md). */
enum {
    EXIT_OK = 0,
    EXIT_FAILURE_OTHER = 1, /* an unexpected failure, and nothing else */
    EXIT_USAGE = 2,         /* the command line: options, a missing archive or store */
    EXIT_BAD_INPUT = 3,     /* archive/XML/contract/incomplete/limit: fix the input, retry */
    EXIT_STALE = 4,         /* export older than the stored data: nothing was applied */
    EXIT_BUSY = 5,          /* another writer holds the store: retry later */
    EXIT_STORE = 6,         /* the store or the disk failed (permissions included) */
    EXIT_SERVER = 7,        /* the server refused or could not be reached after retries */
    EXIT_CURSOR = 8,        /* changes --since: before the first change held or past the last */
    EXIT_NOT_FOUND = 9,     /* show: the demand is not in the store */
    EXIT_MISMATCH = 10,     /* pg-apply: the database does not follow on from the store */
    EXIT_DATABASE = 11,     /* pg-apply: the database failed or could not be reached */
    EXIT_BEHIND = 12        /* follow: too far behind the movements, a full sync is needed */
};

int cli_exit_status(sne_err rc);
/* What an exit status means, in a few words (the report's error when no message was told). */
const char *cli_status_meaning(int status);

/* Options every command takes, and the config file every command reads. The dispatcher
 * (snesync.c) makes it, with the run's report and whether the command takes --metrics-file,
 * and writes the report after the command returns. */
typedef struct cli_common {
    cli_report *report;       /* the run's report (the dispatcher's) */
    bool metrics_allowed;     /* the command takes --metrics-file */
    const char *metrics_file; /* --metrics-file PATH, or NULL */
    bool helped;              /* --help was given: the usage is the whole output */
    const char *store_dir;    /* --store, else the config's store, else $SNESYNC_STORE, else
                                 ./snesync.store; borrowed from argv, conf or the environment */
    bool store_given;         /* --store was on the command line: it wins over the config file */
    bool json;                /* --json */
    const char *config;       /* the config file read (cli_conf_path), or NULL */
    cli_conf conf;            /* its values (owned: cli_common_free) */
} cli_common;

/* Prints "snesync: <message>", tells it to the report, and returns the exit status for rc. */
int cli_fail(const cli_common *c, sne_err rc, const sne_error *e);

/* Called for each option of the command's own table; returns 0, or an exit status to stop. */
typedef int (*cli_option_fn)(void *ctx, int opt, const char *arg);

/* Parses argv (argv[0] is the command name) with the common options (--store, --config,
 * --json, --help, and --metrics-file where the command takes it) plus `own` (may be NULL,
 * terminated by a zeroed entry; their `val`s must be
 * >= 300), then reads the config file (cli_conf_path) into common->conf. `--help` prints
 * `usage` and returns -1 with *status EXIT_OK; a bad option or config file is said and returns
 * -1 with EXIT_USAGE. Otherwise returns the index of the first positional argument. In every
 * case, common is to be given to cli_common_free. */
int cli_parse(int argc, char **argv, const char *usage, const struct option *own,
              cli_option_fn on_option, void *ctx, cli_common *common, int *status);
void cli_common_free(cli_common *common);

bool cli_parse_u64(const char *s, uint64_t *out);
double cli_now(void);

/* An archive read from a file descriptor (a path, or standard input for "-"). */
typedef struct cli_source {
    int fd;
} cli_source;

/* Opens `path` ("-": standard input). A path that cannot be opened, or names a directory, is the
 * command line's mistake: the reason is printed and false returned, for EXIT_USAGE. */
bool cli_open_archive(const char *command, const char *path, cli_source *src);
void cli_close_archive(cli_source *src);
ptrdiff_t cli_read_fd(void *ctx, void *buf, size_t n); /* an sne_unpack_read_fn */

/* How a command uses the store: only ingest, sync and drm-refresh create one. */
typedef enum cli_store_use {
    CLI_STORE_READ,   /* show, changes, stats */
    CLI_STORE_WRITE,  /* prune: an existing store */
    CLI_STORE_CREATE, /* made when missing */
} cli_store_use;

/* Opens the store. A store that is not there is the command line's mistake (a wrong --store):
 * it is reported as SNE_ERR_USAGE, not as SNE_ERR_NOTFOUND, the status of a demand not in it. */
sne_err cli_open_store(const cli_common *c, cli_store_use use, sne_store **store, sne_error *err);

/* The PostgreSQL options of pg-apply and prune --pg-applied (cmd_pg_apply.c); pg-apply also
 * takes --batch (OPT_PG_BATCH) and --rebuild (OPT_PG_REBUILD), prune --pg-applied
 * (OPT_PG_APPLIED). */
enum { OPT_PG_DSN = 400, OPT_PG_SCHEMA, OPT_PG_BATCH, OPT_PG_REBUILD, OPT_PG_APPLIED };
#define CLI_PG_OPTIONS                                                                             \
    {"dsn", required_argument, NULL, OPT_PG_DSN},                                                  \
    {                                                                                              \
        "schema", required_argument, NULL, OPT_PG_SCHEMA                                           \
    }

typedef struct cli_pg {
    const char *cli[CONF__COUNT]; /* pg-dsn, pg-schema, pg-batch given as options (argv) */
    bool rebuild;                 /* pg-apply --rebuild */
    bool applied;                 /* prune --pg-applied */
} cli_pg;

/* Takes one of the options OPT_PG_*: 0, or EXIT_USAGE for another one. */
int cli_pg_option(cli_pg *p, int opt, const char *arg);
/* Fills `o` from the options, over the config file's pg-* keys (common->conf). EXIT_OK or the
 * status, said why. */
int cli_pg_settings(const char *cmd, const cli_pg *p, const cli_common *common, sne_pg_options *o);
/* sync --pg-apply: the config file's pg-* settings are checked before the job, and pg-apply
 * runs on the job's store after it. */
int cli_pg_chain_check(const char *job, const cli_conf *conf);
int cli_pg_apply_chained(const char *job, const cli_common *common);

/* The commands: argv[0] is the command's name; `common` is the dispatcher's, filled by cli_parse
 * and freed by the dispatcher (cli_common_free) after the command returns. */
int cmd_ingest(int argc, char **argv, cli_common *common);
int cmd_validate(int argc, char **argv, cli_common *common);
int cmd_changes(int argc, char **argv, cli_common *common);
int cmd_prune(int argc, char **argv, cli_common *common);
int cmd_show(int argc, char **argv, cli_common *common);
int cmd_stats(int argc, char **argv, cli_common *common);
int cmd_sync(int argc, char **argv, cli_common *common);
int cmd_drm_refresh(int argc, char **argv, cli_common *common);
int cmd_follow(int argc, char **argv, cli_common *common);
int cmd_pg_apply(int argc, char **argv, cli_common *common);

/* follow (cmd_follow.c), once cmd_sync.c has read the options it shares with sync: its usage,
 * and the run. `so` holds the server, TLS, token, retries and scope; `overlap` (seconds, -1:
 * the default) and `parallel` (reads at once, 0: the default) are already checked. Returns the
 * exit status. */
extern const char cli_follow_usage[];
int cli_follow_run(const sne_sync_options *so, long overlap, unsigned parallel,
                   const cli_common *common);

#endif
