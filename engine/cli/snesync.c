/* snesync: the command-line front of the engine: dispatches to one cmd_<name>.c per command. */
#include "cli.h"
#include "metrics.h"

#include <stdio.h>
#include <string.h>

/* How a command's run is told: `data`, a command whose output is data (show, stats, changes),
 * prints its report with --json only when it fails; `metrics`, a scheduled command, takes
 * --metrics-file. */
typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv, cli_common *common);
    const char *summary;
    bool data;
    bool metrics;
} command;

static const command commands[] = {
    {"ingest", cmd_ingest, "apply an export archive to the store and log the changes", false, true},
    {"changes", cmd_changes, "print the change log after a seq, as NDJSON", true, false},
    {"prune", cmd_prune, "forget the changes the SI has applied", false, false},
    {"show", cmd_show, "print a stored demand as JSON", true, false},
    {"stats", cmd_stats, "counts per entity, newest export per scope, store size", true, false},
    {"validate", cmd_validate, "check an archive against the export XSD", false, false},
    {"sync", cmd_sync, "request, download and ingest an export from the service", false, true},
    {"drm-refresh", cmd_drm_refresh, "the monthly DRM-only export, ingested like sync", false,
     true},
    {"follow", cmd_follow, "read the demands that moved since the last window (incremental)", false,
     true},
    {"pg-apply", cmd_pg_apply, "apply the changes to a PostgreSQL database, exactly once", false,
     true},
};

/* Runs the command and tells its report: the metrics file, then the JSON object. A report that
 * cannot be written makes a successful run fail (status 1): a scheduler must not believe a run
 * whose report it cannot read. */
static int run_command(const command *cmd, int argc, char **argv)
{
    cli_report report;
    cli_report_begin(&report, cmd->name);
    cli_common common = {.report = &report, .metrics_allowed = cmd->metrics};
    int status = cmd->run(argc, argv, &common);
    if (!common.helped) {
        cli_report_end(&report, status);
        if (common.metrics_file && !cli_metrics_write(common.metrics_file, &report) &&
            status == EXIT_OK)
            cli_report_end(&report, status = EXIT_FAILURE_OTHER);
        if (common.json && (status != EXIT_OK || !cmd->data) &&
            !cli_report_print_json(&report, stdout) && status == EXIT_OK) {
            fprintf(stderr, "snesync %s: cannot write the report on standard output\n", cmd->name);
            status = EXIT_FAILURE_OTHER;
        }
    }
    cli_common_free(&common);
    cli_report_free(&report);
    return status;
}

static void usage(FILE *out)
{
    fputs("Usage: snesync COMMAND [OPTIONS] [ARGUMENTS]\n"
          "\n"
          "Keeps a local store in sync with the national register of social housing demands\n"
          "(SNE) from its bulk export archives, and emits the changes for an information system\n"
          "to apply.\n"
          "\n"
          "Commands:\n",
          out);
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fputs("\n"
          "Every command takes --store DIR (default: the config file's store, else\n"
          "$SNESYNC_STORE, else ./snesync.store), --config FILE (default $SNESYNC_CONFIG,\n"
          "empty for none, else /etc/snesync/snesync.conf when it exists), --json and --help.\n"
          "`snesync COMMAND --help` describes a command; `snesync --version` prints the\n"
          "version.\n"
          "\n"
          "Exit status: 0 done, 1 unexpected failure, 2 usage (also a missing or unreadable\n"
          "archive, no store at DIR), 3 bad or incomplete export (nothing deleted), 4 stale\n"
          "export (refused), 5 store busy (another writer), 6 store or disk failure (also\n"
          "permissions), 7 server refused or unreachable, 8 change log cursor out of range,\n"
          "9 demand not in the store, 10 the PostgreSQL database does not follow on from the\n"
          "store (pg-apply, prune --pg-applied), 11 the database failed or is unreachable,\n"
          "130, 143 stopped by SIGINT or SIGTERM (sync, drm-refresh: the next run resumes).\n",
          out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(name, "--version") == 0) {
        printf("snesync %s\n", snesync_version());
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (strcmp(commands[i].name, name) == 0)
            return run_command(&commands[i], argc - 1, argv + 1);
    fprintf(stderr, "snesync: unknown command '%s' (see snesync --help)\n", name);
    return EXIT_USAGE;
}
