/* snesync validate: check an archive's documents against the export XSD. */
#include "cli.h"
#include "datadir.h"

#include <limits.h>
#include <stdio.h>

static const char usage[] =
    "Usage: snesync validate [--xsd FILE] [--json] ARCHIVE|-\n"
    "\n"
    "Checks every .xml document of an export archive against the export XSD, streaming.\n"
    "Touches no store. The first invalid document is reported with its member and line; the\n"
    "offending value is withheld (it may be personal).\n"
    "\n"
    "  --xsd FILE   the schema (default: export.xsd installed with snesync, in\n"
    "               $SNESYNC_DATADIR if set, else ../share/snesync beside the binary, else\n"
    "               " SNESYNC_INSTALL_DATADIR ")\n"
    "  --json       print the run's report as one JSON object, also when it fails\n"
    "\n"
    "Exit status: 0 valid, 2 usage (or the archive cannot be opened), 3 invalid or unreadable\n"
    "archive, 6 the schema cannot be loaded.\n";

enum { OPT_XSD = 300 };

static int on_option(void *ctx, int opt, const char *arg)
{
    if (opt != OPT_XSD)
        return EXIT_USAGE;
    *(const char **)ctx = arg;
    return 0;
}

int cmd_validate(int argc, char **argv, cli_common *common)
{
    static const struct option own[] = {{"xsd", required_argument, NULL, OPT_XSD},
                                        {NULL, 0, NULL, 0}};
    const char *xsd = NULL;
    int status;
    int first = cli_parse(argc, argv, usage, own, on_option, &xsd, common, &status);
    if (first < 0)
        return status;
    if (argc - first != 1) {
        fprintf(stderr, "snesync validate: give one archive (or - for standard input)\n");
        return EXIT_USAGE;
    }
    char shipped[PATH_MAX];
    if (!xsd) {
        if (!cli_data_path("export.xsd", shipped, sizeof(shipped))) {
            fprintf(stderr, "snesync validate: the data directory's path is too long\n");
            return EXIT_USAGE;
        }
        xsd = shipped;
    }
    cli_source src;
    if (!cli_open_archive("validate", argv[first], &src))
        return EXIT_USAGE;
    sne_error err = {0};
    sne_validator *v = NULL;
    unsigned documents = 0;
    sne_err rc = sne_validator_new(&v, xsd, &err);
    if (!rc)
        rc = sne_validate_archive(v, cli_read_fd, &src, &documents, &err);
    sne_validator_free(v);
    cli_close_archive(&src);
    if (rc)
        return cli_fail(common, rc, &err);
    cli_report_u64(common->report, "documents", documents);
    if (!common->json)
        printf("%u document(s) valid against the schema\n", documents);
    return EXIT_OK;
}
