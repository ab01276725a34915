/* config.c: reading the config file of the scheduled commands (config.h). */
#include "config.h"
#include "cli.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const names[CONF__COUNT] = {
    [CONF_SERVER] = "server",
    [CONF_ENTITIES] = "entities",
    [CONF_ETAT] = "etat",
    [CONF_DEPARTEMENTS] = "departements",
    [CONF_COMMUNES] = "communes",
    [CONF_DEPTH] = "depth",
    [CONF_CERT] = "cert",
    [CONF_KEY] = "key",
    [CONF_CACERT] = "cacert",
    [CONF_TOKEN_FILE] = "token-file",
    [CONF_WORK_DIR] = "work-dir",
    [CONF_MAX_WAIT] = "max-wait",
    [CONF_STORE] = "store",
    [CONF_RETRIES] = "retries",
    [CONF_STALL_TIMEOUT] = "stall-timeout",
    [CONF_MIN_SPEED] = "min-speed",
    [CONF_OVERLAP] = "overlap",
    [CONF_PARALLEL] = "parallel",
    [CONF_PG_DSN] = "pg-dsn",
    [CONF_PG_SCHEMA] = "pg-schema",
    [CONF_PG_BATCH] = "pg-batch",
};

/* Settings that name a file: relative ones are taken from the config file's directory. */
static const bool is_path[CONF__COUNT] = {
    [CONF_CERT] = true,       [CONF_KEY] = true,      [CONF_CACERT] = true,
    [CONF_TOKEN_FILE] = true, [CONF_WORK_DIR] = true, [CONF_STORE] = true};

const char *cli_conf_name(cli_conf_key k)
{
    return names[k];
}

char *cli_trim(char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = strlen(p);
    while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r' || p[n - 1] == '\n'))
        p[--n] = '\0';
    return p;
}

/* Stores `v` as the value of key `key`, a relative path taken from `dir`. */
static int set_value(cli_conf *c, int key, const char *v, const char *dir)
{
    size_t need = strlen(v) + strlen(dir) + 2;
    char *val = malloc(need);
    if (!val) {
        fprintf(stderr, "snesync: out of memory\n");
        return EXIT_FAILURE_OTHER;
    }
    if (is_path[key] && v[0] != '/' && v[0] != '\0')
        snprintf(val, need, "%s/%s", dir, v);
    else
        snprintf(val, need, "%s", v);
    free(c->value[key]);
    c->value[key] = val;
    return EXIT_OK;
}

/* Unquotes a value in place: "..." (with the escapes \" and \\) or '...' (taken as it is),
 * followed by nothing or a '#' comment; a value without quotes is left as it is. Returns NULL,
 * with *why set, when a quote is not closed, an escape is unknown or text follows the quote. */
static char *unquote(char *v, const char **why)
{
    char q = v[0];
    if (q != '"' && q != '\'')
        return v;
    char *out = v, *r = v + 1;
    while (*r && *r != q) {
        if (q == '"' && *r == '\\') {
            if (r[1] != '"' && r[1] != '\\') {
                *why = "a quoted value knows the escapes \\\" and \\\\ only";
                return NULL;
            }
            r++;
        }
        *out++ = *r++;
    }
    if (*r != q) {
        *why = "the quoted value is not closed";
        return NULL;
    }
    char *rest = cli_trim(r + 1);
    if (*rest != '\0' && *rest != '#') {
        *why = "text after the quoted value";
        return NULL;
    }
    *out = '\0';
    return v;
}

/* Reads one line (already trimmed, not blank nor a comment). */
static int read_line(cli_conf *c, char *p, const char *path, int lineno, const char *dir)
{
    char *eq = strchr(p, '=');
    if (!eq) {
        fprintf(stderr, "snesync: %s, line %d: expected 'key = value'\n", path, lineno);
        return EXIT_USAGE;
    }
    *eq = '\0';
    const char *why = NULL;
    char *k = cli_trim(p), *v = unquote(cli_trim(eq + 1), &why);
    if (!v) {
        fprintf(stderr, "snesync: %s, line %d: %s\n", path, lineno, why);
        return EXIT_USAGE;
    }
    for (int i = 0; i < CONF__COUNT; i++)
        if (strcmp(k, names[i]) == 0)
            return set_value(c, i, v, dir);
    fprintf(stderr, "snesync: %s, line %d: unknown key '%.40s'\n", path, lineno, k);
    return EXIT_USAGE;
}

int cli_conf_load(cli_conf *c, const char *path)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        fprintf(stderr, "snesync: cannot open the config file %s: %s\n", path, strerror(errno));
        return EXIT_USAGE;
    }
    char dir[1024];
    const char *slash = strrchr(path, '/');
    if (slash == path)
        snprintf(dir, sizeof(dir), "/");
    else if (slash)
        snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
    else
        snprintf(dir, sizeof(dir), ".");
    char line[4096];
    int lineno = 0, status = EXIT_OK;
    while (status == EXIT_OK && fgets(line, sizeof(line), fp)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(fp)) {
            fprintf(stderr, "snesync: %s, line %d: longer than %zu bytes\n", path, lineno,
                    sizeof(line) - 2);
            status = EXIT_USAGE;
            break;
        }
        char *p = cli_trim(line);
        if (*p != '\0' && *p != '#')
            status = read_line(c, p, path, lineno, dir);
    }
    fclose(fp);
    return status;
}

const char *cli_conf_path(const char *given)
{
    if (given)
        return given;
    const char *env = getenv("SNESYNC_CONFIG");
    if (env)
        return *env ? env : NULL;
    return access(CLI_CONF_SYSTEM, F_OK) == 0 ? CLI_CONF_SYSTEM : NULL;
}

void cli_conf_free(cli_conf *c)
{
    for (int i = 0; i < CONF__COUNT; i++) {
        free(c->value[i]);
        c->value[i] = NULL;
    }
}
