/* config.h: the config file every command reads (--config FILE, else $SNESYNC_CONFIG, else
 * /etc/snesync/snesync.conf when it exists): `key = value` lines, '#' comments and blank lines;
 * a value may be quoted, "..." (escapes \" and \\) or '...' (as it is). One table of keys
 * serves every command, so that one file holds the settings of all: each command uses the keys
 * it needs and leaves the others, and a key no command knows is an error (a typo is not
 * silently ignored). */
#ifndef SNE_CLI_CONFIG_H
#define SNE_CLI_CONFIG_H

typedef enum cli_conf_key {
    CONF_SERVER,
    CONF_ENTITIES,
    CONF_ETAT,
    CONF_DEPARTEMENTS,
    CONF_COMMUNES,
    CONF_DEPTH,
    CONF_CERT,
    CONF_KEY,
    CONF_CACERT,
    CONF_TOKEN_FILE,
    CONF_WORK_DIR,
    CONF_MAX_WAIT,
    CONF_STORE,
    CONF_RETRIES,
    CONF_STALL_TIMEOUT,
    CONF_MIN_SPEED,
    CONF_PG_DSN,
    CONF_PG_SCHEMA,
    CONF_PG_BATCH,
    CONF_OVERLAP,
    CONF_PARALLEL,
    CONF__COUNT
} cli_conf_key;

/* The key's name in the file ("token-file"); static storage. */
const char *cli_conf_name(cli_conf_key k);

/* The values read; NULL for a key the file does not set. Relative paths of the keys that name a
 * file (cert, key, cacert, token-file, work-dir, store) are taken from the file's directory. */
typedef struct cli_conf {
    char *value[CONF__COUNT]; /* owned */
} cli_conf;

/* Reads `path` into `c` (zeroed by the caller, or holding an earlier file's values, which a
 * key set again replaces). Returns EXIT_OK, or the exit status after printing why (a file that
 * cannot be opened, a line that is not `key = value`, an unknown key: EXIT_USAGE). */
int cli_conf_load(cli_conf *c, const char *path);
void cli_conf_free(cli_conf *c);

/* The system-wide config file, read when neither --config nor $SNESYNC_CONFIG names one. */
#define CLI_CONF_SYSTEM "/etc/snesync/snesync.conf"

/* The config file to read: `given` (--config) when not NULL, else $SNESYNC_CONFIG (set but
 * empty: none), else CLI_CONF_SYSTEM when it exists; NULL for none. Borrowed, not owned. */
const char *cli_conf_path(const char *given);

/* Cuts spaces, tabs and line ends from both ends of `p`, in place; returns the new start. */
char *cli_trim(char *p);

#endif
