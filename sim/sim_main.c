/* sim_main.c: snesync-sim, a simulator of the SNE register and of its bulk export service: the
 * command dispatch. The register's commands (generate, evolve, export) are in
 * register/sim_commands.h, the server (serve) in server/serve.h. */
#include <stdio.h>
#include <string.h>

#include "register/sim_commands.h"
#include "server/serve.h"
#include "snesync.h" /* snesync_version */

static const char *prog = "snesync-sim";

static void usage_main(FILE *f)
{
    fprintf(f,
            "usage: %s <command> [options]\n"
            "\n"
            "A simulator of the SNE register and of its bulk export service (interface 13.34).\n"
            "\n"
            "commands:\n"
            "  generate   make a synthetic register of N demands\n"
            "  evolve     the register D days later, with the exact list of changes\n"
            "  export     write one export archive (gzip tar of XML parts) from a register\n"
            "  serve      serve a register over the HTTP export API\n"
            "\n"
            "Run '%s <command> --help' for the options of a command, '%s --version' for the\n"
            "version (snesync's).\n"
            "All data is synthetic.\n",
            prog, prog, prog);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage_main(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage_main(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("%s %s\n", prog, snesync_version());
        return 0;
    }
    if (strcmp(cmd, "generate") == 0)
        return sim_cmd_generate(argc - 1, argv + 1);
    if (strcmp(cmd, "evolve") == 0)
        return sim_cmd_evolve(argc - 1, argv + 1);
    if (strcmp(cmd, "export") == 0)
        return sim_cmd_export(argc - 1, argv + 1);
    if (strcmp(cmd, "serve") == 0)
        return sim_serve_main(argc - 1, argv + 1);
    fprintf(stderr, "%s: unknown command '%s'\n", prog, cmd);
    usage_main(stderr);
    return 2;
}
