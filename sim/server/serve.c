/* serve.c: `snesync-sim serve`: options, the HTTP daemon, authentication and routing.
 * The exports live in serve_exports.c, downloads in serve_download.c, GDM in serve_gdm.c and the
 * fault plan in serve_faults.c. */
#include "serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "serve_auth.h"
#include "serve_base.h"
#include "serve_exports.h"
#include "serve_faults.h"
#include "serve_route.h"

#define MAX_CONNECTIONS 32
#define MAX_PEM         (256 * 1024)
#define TLS_PRIORITIES  "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

typedef struct options {
    const char *data, *bind, *tls_cert, *tls_key, *tls_ca, *token_file, *faults, *faults_file;
    const char *work_dir;
    long port;
    unsigned retry_after;
    double min_poll, generation_seconds;
    uint64_t expire_seconds;
    size_t gdm_page_size;
} options;

/* The server's state, from the options to the daemon. */
typedef struct server {
    options o;
    char *token; /* owned: wiped when freed */
    serve_faults *faults;
    serve_exports *exports;
    serve_demandes *demandes;
    serve_route route;
    char tmpdir[4096];     /* the private work directory made when --work-dir is not given, or "" */
    char *cert, *key, *ca; /* owned: the PEM files (the key wiped when freed) */
    int tls, client_ca;
} server;

static const char usage_text[] =
    "usage: snesync-sim serve --data DIR --port P [options]\n"
    "Serves the bulk export contract (exports-api.yaml) over the simulated register in DIR.\n"
    "  --data DIR               register directory (mouvements.tsv is read from it)\n"
    "  --port P                 TCP port, 0 for any free one (printed once listening)\n"
    "  --bind ADDR              address to listen on (default 127.0.0.1)\n"
    "  --tls-cert F --tls-key F serve HTTPS (TLS 1.2 or later only), PEM files\n"
    "  --tls-client-ca F        require a client certificate signed by this CA (PEM)\n"
    "  --token-file F           require 'Authorization: Bearer <first line of F>'\n"
    "  --faults SPEC            fault plan, e.g. \"post:503*2,file:cut@65536,export:echec\"\n"
    "  --faults-file F          fault plan, one SPEC per line ('#' comments)\n"
    "  --retry-after S          Retry-After while generating and on 429/503 (default 5)\n"
    "  --min-poll S             status polls closer than S seconds get 429 (default 1; 0: off)\n"
    "  --expire-seconds S       TERMINE exports expire after S seconds (default 259200)\n"
    "  --generation-seconds S   a generation lasts at least S seconds (default 0)\n"
    "  --work-dir D             where archives are written (default: a private temp dir)\n"
    "  --gdm-page-size N        movements per GDM page (default 1000, at most 10000)\n"
    "Fault grammar: POINT:ACTION[@N][*COUNT|*always][+SKIP] with POINT post, status, file,\n"
    "delete, gdm (ACTION 400..599, delay@MS, trickle[@MS], html; at file also cut@BYTES,\n"
    "notgzip, longer[@N], shorter[@N]) or export (echec[@N], slow@S, truncate[@BYTES], badsha).\n"
    "See sim/README.md.\n";

static int parse_num(const char *s, double max, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || end == s || *end != '\0' || !(v >= 0) || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Sets option `a` to `v`: 0, -1 for an unknown option, -2 for a bad value. */
static int set_option(options *o, const char *a, const char *v)
{
    const char **str = NULL;
    double d;
    if (strcmp(a, "--data") == 0)
        str = &o->data;
    else if (strcmp(a, "--bind") == 0)
        str = &o->bind;
    else if (strcmp(a, "--tls-cert") == 0)
        str = &o->tls_cert;
    else if (strcmp(a, "--tls-key") == 0)
        str = &o->tls_key;
    else if (strcmp(a, "--tls-client-ca") == 0)
        str = &o->tls_ca;
    else if (strcmp(a, "--token-file") == 0)
        str = &o->token_file;
    else if (strcmp(a, "--faults") == 0)
        str = &o->faults;
    else if (strcmp(a, "--faults-file") == 0)
        str = &o->faults_file;
    else if (strcmp(a, "--work-dir") == 0)
        str = &o->work_dir;
    if (str != NULL) {
        *str = v;
        return 0;
    }
    if (strcmp(a, "--port") == 0)
        return parse_num(v, 65535, &d) || d != (long)d ? -2 : (o->port = (long)d, 0);
    if (strcmp(a, "--retry-after") == 0)
        return parse_num(v, 86400, &d) || d != (unsigned)d ? -2 : (o->retry_after = (unsigned)d, 0);
    if (strcmp(a, "--min-poll") == 0)
        return parse_num(v, 86400, &o->min_poll) ? -2 : 0;
    if (strcmp(a, "--generation-seconds") == 0)
        return parse_num(v, 86400, &o->generation_seconds) ? -2 : 0;
    if (strcmp(a, "--expire-seconds") == 0)
        return parse_num(v, 1e9, &d) ? -2 : (o->expire_seconds = (uint64_t)d, 0);
    if (strcmp(a, "--gdm-page-size") == 0)
        return parse_num(v, 10000, &d) || d < 1 ? -2 : (o->gdm_page_size = (size_t)d, 0);
    return -1;
}

/* What the options say together. */
static const char *options_problem(const options *o)
{
    if (o->data == NULL)
        return "--data is required";
    if (o->port < 0)
        return "--port is required";
    if ((o->tls_cert == NULL) != (o->tls_key == NULL))
        return "--tls-cert and --tls-key go together";
    if (o->tls_ca != NULL && o->tls_cert == NULL)
        return "--tls-client-ca needs --tls-cert and --tls-key";
    if (o->faults != NULL && o->faults_file != NULL)
        return "--faults and --faults-file are exclusive";
    return NULL;
}

/* Returns 0, 1 after --help, -1 on a usage error (with a message). */
static int parse_options(int argc, char **argv, options *o)
{
    memset(o, 0, sizeof(*o));
    o->bind = "127.0.0.1";
    o->port = -1;
    o->retry_after = 5;
    o->min_poll = 1;
    o->expire_seconds = 72 * 3600;
    o->gdm_page_size = 1000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            return 1;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "snesync-sim serve: %s: missing value or unknown option\n", a);
            return -1;
        }
        int rc = set_option(o, a, argv[++i]);
        if (rc == -1) {
            fprintf(stderr, "snesync-sim serve: unknown option %s\n", a);
            return -1;
        }
        if (rc == -2) {
            fprintf(stderr, "snesync-sim serve: invalid value for %s\n", a);
            return -1;
        }
    }
    const char *problem = options_problem(o);
    if (problem != NULL) {
        fprintf(stderr, "snesync-sim serve: %s (see --help)\n", problem);
        return -1;
    }
    return 0;
}

static char *read_pem(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    if (fp == NULL) {
        serve_log("cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    buf = malloc(MAX_PEM + 1);
    if (buf != NULL) {
        size_t n = fread(buf, 1, MAX_PEM + 1, fp);
        if (n == 0 || n > MAX_PEM || ferror(fp)) {
            serve_log("%s: empty, unreadable or larger than %d bytes", path, MAX_PEM);
            free(buf);
            buf = NULL;
        } else {
            buf[n] = '\0';
        }
    }
    fclose(fp);
    return buf;
}

/* libmicrohttpd's error log, into ours (one line). */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    serve_log("mhd: %s", msg);
}

/* The fault plan, the token and the work directory; returns 0, or the exit code. */
static int prepare(server *s)
{
    char err[512];
    if ((s->faults = serve_faults_new()) == NULL)
        return 1;
    if ((s->o.faults && serve_faults_parse(s->faults, s->o.faults, err, sizeof(err)) != 0) ||
        (s->o.faults_file &&
         serve_faults_load(s->faults, s->o.faults_file, err, sizeof(err)) != 0)) {
        serve_log("%s", err);
        return 2;
    }
    if (s->o.token_file != NULL &&
        (s->token = serve_auth_load_token(s->o.token_file, err, sizeof(err))) == NULL) {
        serve_log("%s", err);
        return 2;
    }
    if (s->o.work_dir == NULL) {
        const char *t = getenv("TMPDIR");
        snprintf(s->tmpdir, sizeof(s->tmpdir), "%s/snesync-sim-serve.XXXXXX", t && *t ? t : "/tmp");
        if (mkdtemp(s->tmpdir) == NULL) {
            serve_log("cannot create a work directory: %s", strerror(errno));
            s->tmpdir[0] = '\0';
            return 1;
        }
    } else if (mkdir(s->o.work_dir, 0700) != 0 && errno != EEXIST) {
        serve_log("cannot create --work-dir %s: %s", s->o.work_dir, strerror(errno));
        return 1;
    }
    return 0;
}

/* The export table and the router over it. */
static int make_handlers(server *s)
{
    serve_exports_config xc = {s->o.data,
                               s->o.work_dir ? s->o.work_dir : s->tmpdir,
                               s->o.retry_after,
                               s->o.min_poll,
                               s->o.expire_seconds,
                               s->o.generation_seconds,
                               s->faults};
    if ((s->exports = serve_exports_new(&xc)) == NULL ||
        (s->demandes = serve_demandes_new(s->o.data)) == NULL)
        return -1;
    s->route.demandes = s->demandes;
    s->route.exports = s->exports;
    s->route.faults = s->faults;
    s->route.gdm.data_dir = s->o.data;
    s->route.gdm.page_size = s->o.gdm_page_size;
    s->route.token = s->token;
    s->route.retry_after = s->o.retry_after;
    return 0;
}

typedef union address {
    struct sockaddr sa;
    struct sockaddr_in in4;
    struct sockaddr_in6 in6;
} address;

/* --bind and --port as a socket address; adds MHD_USE_IPv6 to *flags for an IPv6 one. */
static int bind_address(const options *o, address *addr, unsigned *flags)
{
    memset(addr, 0, sizeof(*addr));
    if (inet_pton(AF_INET, o->bind, &addr->in4.sin_addr) == 1) {
        addr->in4.sin_family = AF_INET;
        addr->in4.sin_port = htons((uint16_t)o->port);
        return 0;
    }
    if (inet_pton(AF_INET6, o->bind, &addr->in6.sin6_addr) == 1) {
        addr->in6.sin6_family = AF_INET6;
        addr->in6.sin6_port = htons((uint16_t)o->port);
        *flags |= MHD_USE_IPv6;
        return 0;
    }
    serve_log("--bind %s is not an IPv4 or IPv6 address", o->bind);
    return -1;
}

/* The TLS options of the daemon (at most 5 items at ops[*n]). */
static int tls_options(server *s, struct MHD_OptionItem *ops, int *n, unsigned *flags)
{
    if ((s->cert = read_pem(s->o.tls_cert)) == NULL || (s->key = read_pem(s->o.tls_key)) == NULL ||
        (s->o.tls_ca != NULL && (s->ca = read_pem(s->o.tls_ca)) == NULL))
        return -1;
    *flags |= MHD_USE_TLS;
    s->tls = 1;
    ops[(*n)++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, s->cert};
    ops[(*n)++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, s->key};
    ops[(*n)++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES};
    if (s->ca != NULL) {
        s->client_ca = s->route.client_ca = 1;
        ops[(*n)++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, s->ca};
        ops[(*n)++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION,
                                              (intptr_t)serve_auth_on_connection, NULL};
    }
    return 0;
}

/* Starts the daemon on addr: one thread per connection, TLS when asked. NULL on failure
 * (logged). */
static struct MHD_Daemon *start_daemon(server *s, address *addr, unsigned flags)
{
    struct MHD_OptionItem ops[16];
    int n = 0;
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &addr->sa};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, MAX_CONNECTIONS, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, 60, NULL};
    ops[n++] =
        (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)serve_route_completed, NULL};
    if (s->o.tls_cert != NULL && tls_options(s, ops, &n, &flags) != 0)
        return NULL;
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    struct MHD_Daemon *d = MHD_start_daemon(flags, 0, NULL, NULL, serve_route_request, &s->route,
                                            MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
    if (d == NULL)
        serve_log("cannot start the HTTP daemon on %s port %ld", s->o.bind, s->o.port);
    return d;
}

/* Prints the readiness line, then waits for SIGINT or SIGTERM (blocked in every thread). */
static void run(server *s, struct MHD_Daemon *d, sigset_t *sigs)
{
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = di != NULL ? di->port : (unsigned)s->o.port;
    const char *v6 = strchr(s->o.bind, ':') ? "[" : "";
    printf("listening on http%s://%s%s%s:%u\n", s->tls ? "s" : "", v6, s->o.bind, *v6 ? "]" : "",
           port);
    fflush(stdout);
    serve_log("ready%s%s%s", s->tls ? ", TLS 1.2+" : "",
              s->client_ca ? ", client certificates" : "", s->token ? ", bearer token" : "");
    int sig = 0;
    sigwait(sigs, &sig);
    serve_log("signal %d: stopping", sig);
    serve_set_stopping(); /* trickling answers give up */
}

/* Frees what prepare(), make_handlers() and start_daemon() made; secrets are wiped first. */
static void release(server *s)
{
    serve_exports_free(s->exports);
    serve_demandes_free(s->demandes);
    if (s->tmpdir[0] != '\0' && rmdir(s->tmpdir) != 0)
        serve_log("cannot remove the work directory: %s", strerror(errno));
    serve_faults_free(s->faults);
    if (s->token != NULL) {
        memset(s->token, 0, strlen(s->token));
        free(s->token);
    }
    free(s->cert);
    if (s->key != NULL) {
        memset(s->key, 0, strlen(s->key));
        free(s->key);
    }
    free(s->ca);
}

int sim_serve_main(int argc, char **argv)
{
    server s;
    struct MHD_Daemon *d = NULL;
    struct stat sb;
    memset(&s, 0, sizeof(s));
    int rc = parse_options(argc, argv, &s.o);
    if (rc != 0)
        return rc > 0 ? 0 : 2;
    if (stat(s.o.data, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        serve_log("--data %s is not a directory", s.o.data);
        return 2;
    }
    if ((rc = prepare(&s)) != 0)
        goto out;
    rc = 1;
    if (make_handlers(&s) != 0)
        goto out;
    address addr;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (bind_address(&s.o, &addr, &flags) != 0) {
        rc = 2;
        goto out;
    }
    /* SIGINT/SIGTERM are taken by sigwait() in run(): block them before any thread starts so
     * that every thread inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    if ((d = start_daemon(&s, &addr, flags)) == NULL)
        goto out;
    run(&s, d, &sigs);
    rc = 0;
out:
    if (d != NULL)
        MHD_stop_daemon(d);
    release(&s);
    return rc;
}
