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
#include "serve_download.h"
#include "serve_exports.h"
#include "serve_faults.h"
#include "serve_gdm.h"
#include "serve_http.h"
#include "register/sim_export.h"

#define MAX_BODY        (64 * 1024)
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

typedef struct server {
    options o;
    char *token;
    serve_faults *faults;
    serve_exports *exports;
    serve_gdm_config gdm;
    int tls, client_ca;
} server;

typedef struct request {
    char *body;
    size_t len;
    int too_big;
    int done; /* a reply was queued */
    char guichet[64];
} request;

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
        const char *v = argv[++i];
        double d;
        int bad = 0;
        if (strcmp(a, "--data") == 0)
            o->data = v;
        else if (strcmp(a, "--bind") == 0)
            o->bind = v;
        else if (strcmp(a, "--tls-cert") == 0)
            o->tls_cert = v;
        else if (strcmp(a, "--tls-key") == 0)
            o->tls_key = v;
        else if (strcmp(a, "--tls-client-ca") == 0)
            o->tls_ca = v;
        else if (strcmp(a, "--token-file") == 0)
            o->token_file = v;
        else if (strcmp(a, "--faults") == 0)
            o->faults = v;
        else if (strcmp(a, "--faults-file") == 0)
            o->faults_file = v;
        else if (strcmp(a, "--work-dir") == 0)
            o->work_dir = v;
        else if (strcmp(a, "--port") == 0)
            bad = parse_num(v, 65535, &d) || d != (long)d || (o->port = (long)d, 0);
        else if (strcmp(a, "--retry-after") == 0)
            bad = parse_num(v, 86400, &d) || d != (unsigned)d || (o->retry_after = (unsigned)d, 0);
        else if (strcmp(a, "--min-poll") == 0)
            bad = parse_num(v, 86400, &o->min_poll);
        else if (strcmp(a, "--generation-seconds") == 0)
            bad = parse_num(v, 86400, &o->generation_seconds);
        else if (strcmp(a, "--expire-seconds") == 0)
            bad = parse_num(v, 1e9, &d) || (o->expire_seconds = (uint64_t)d, 0);
        else if (strcmp(a, "--gdm-page-size") == 0)
            bad = parse_num(v, 10000, &d) || d < 1 || (o->gdm_page_size = (size_t)d, 0);
        else {
            fprintf(stderr, "snesync-sim serve: unknown option %s\n", a);
            return -1;
        }
        if (bad) {
            fprintf(stderr, "snesync-sim serve: invalid value for %s\n", a);
            return -1;
        }
    }
    const char *problem = NULL;
    if (o->data == NULL)
        problem = "--data is required";
    else if (o->port < 0)
        problem = "--port is required";
    else if ((o->tls_cert == NULL) != (o->tls_key == NULL))
        problem = "--tls-cert and --tls-key go together";
    else if (o->tls_ca != NULL && o->tls_cert == NULL)
        problem = "--tls-client-ca needs --tls-cert and --tls-key";
    else if (o->faults != NULL && o->faults_file != NULL)
        problem = "--faults and --faults-file are exclusive";
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

/* The fault a request meets on arrival; returns 1 when a reply was queued instead. */
static int arrival_fault(server *s, struct MHD_Connection *c, serve_point pt, enum MHD_Result *ret)
{
    /* trickle at `file` is a body fault (serve_download), taken only when the archive is sent */
    unsigned mask = SERVE_FM_ARRIVAL | (pt != SERVE_PT_FILE ? SERVE_FM(SERVE_FA_TRICKLE) : 0);
    serve_fault f = serve_faults_take(s->faults, pt, mask);
    if (f.action == SERVE_FA_TRICKLE) {
        unsigned ms = f.arg ? (unsigned)f.arg : 1000;
        serve_log("%s: fault trickle@%u injected", serve_point_name(pt), ms);
        serve_reply_trickle(ms); /* the answer below, one byte every ms */
        return 0;
    }
    if (f.action == SERVE_FA_HTML) {
        serve_log("%s: fault html injected", serve_point_name(pt));
        *ret = serve_html_page(c);
        return 1;
    }
    if (f.action == SERVE_FA_DELAY) {
        serve_log("%s: fault delay@%llu injected", serve_point_name(pt), (unsigned long long)f.arg);
        serve_sleep((double)f.arg / 1000.0);
        return 0;
    }
    if (f.action != SERVE_FA_CODE)
        return 0;
    unsigned status = (unsigned)f.arg, retry = 0;
    if (status == 429 || status == 503)
        retry = f.arg2 ? (unsigned)f.arg2 : (s->o.retry_after ? s->o.retry_after : 1);
    serve_log("%s: fault %u injected", serve_point_name(pt), status);
    *ret = serve_problem(c, status, retry, "simulated fault");
    return 1;
}

static enum MHD_Result method_not_allowed(struct MHD_Connection *c, const char *allow)
{
    return serve_problem_ex(c, 405, 0, "method not allowed here", MHD_HTTP_HEADER_ALLOW, allow);
}

static int is_get(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

static enum MHD_Result dispatch(server *s, struct MHD_Connection *c, request *r, const char *url,
                                const char *method)
{
    enum MHD_Result ret = MHD_YES;
    static const char exports[] = "/v1.0/exports";
    if (strcmp(url, exports) == 0) {
        if (strcmp(method, "POST") != 0)
            return method_not_allowed(c, "POST");
        if (arrival_fault(s, c, SERVE_PT_POST, &ret))
            return ret;
        const char *ct =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (r->too_big)
            return serve_problem(c, 400, 0, "request body too large");
        if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
            (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' '))
            return serve_problem(c, 400, 0, "Content-Type must be application/json");
        return serve_exports_post(s->exports, c, r->guichet, r->body ? r->body : "", r->len);
    }
    if (strncmp(url, exports, sizeof(exports) - 1) == 0 && url[sizeof(exports) - 1] == '/') {
        char id[48];
        const char *p = url + sizeof(exports);
        size_t n = strcspn(p, "/");
        const char *rest = p + n;
        if (n == 0 || n >= sizeof(id))
            return serve_problem(c, 404, 0, "unknown export");
        memcpy(id, p, n);
        id[n] = '\0';
        if (!sim_export_id_valid(id))
            return serve_problem(c, 404, 0, "unknown export");
        if (*rest == '\0') {
            if (is_get(method)) {
                if (arrival_fault(s, c, SERVE_PT_STATUS, &ret))
                    return ret;
                return serve_exports_status(s->exports, c, id);
            }
            if (strcmp(method, "DELETE") == 0) {
                if (arrival_fault(s, c, SERVE_PT_DELETE, &ret))
                    return ret;
                return serve_exports_delete(s->exports, c, id);
            }
            return method_not_allowed(c, "GET, HEAD, DELETE");
        }
        if (strcmp(rest, "/fichier") == 0) {
            if (!is_get(method))
                return method_not_allowed(c, "GET, HEAD");
            if (arrival_fault(s, c, SERVE_PT_FILE, &ret))
                return ret;
            return serve_download(s->exports, s->faults, c, id);
        }
        return serve_problem(c, 404, 0, "no such resource");
    }
    if (strcmp(url, "/v1.0/demandes/mouvements") == 0) {
        if (!is_get(method))
            return method_not_allowed(c, "GET, HEAD");
        if (arrival_fault(s, c, SERVE_PT_GDM, &ret))
            return ret;
        return serve_gdm(&s->gdm, c);
    }
    return serve_problem(c, 404, 0, "no such resource");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    server *s = cls;
    request *r = *con_cls;
    (void)version;
    if (r == NULL) {
        r = calloc(1, sizeof(*r));
        if (r == NULL)
            return MHD_NO;
        *con_cls = r;
        snprintf(r->guichet, sizeof(r->guichet), "default");
        if (s->client_ca && serve_auth_client_cert(c, r->guichet, sizeof(r->guichet)) != 0) {
            serve_log("%s %s: refused, no valid client certificate", method, url);
            return MHD_NO;
        }
        if (s->token != NULL && !serve_auth_bearer_ok(c, s->token)) {
            r->done = 1;
            serve_last_status_reset();
            enum MHD_Result ret = serve_problem(c, 401, 0, "a valid bearer token is required");
            serve_log("%s %s -> %u", method, url, serve_last_status());
            return ret;
        }
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        if (!r->done && !r->too_big) {
            if (r->len + *upload_data_size > MAX_BODY) {
                r->too_big = 1;
            } else {
                char *p = realloc(r->body, r->len + *upload_data_size + 1);
                if (p == NULL)
                    return MHD_NO;
                memcpy(p + r->len, upload_data, *upload_data_size);
                r->body = p;
                r->len += *upload_data_size;
                r->body[r->len] = '\0';
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->done)
        return MHD_YES;
    r->done = 1;
    serve_last_status_reset();
    enum MHD_Result ret = dispatch(s, c, r, url, method);
    serve_log("%s %s -> %u", method, url, serve_last_status());
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    request *r = *con_cls;
    if (r != NULL) {
        free(r->body);
        free(r);
        *con_cls = NULL;
    }
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    msg[strcspn(msg, "\n")] = '\0';
    serve_log("mhd: %s", msg);
}

int sim_serve_main(int argc, char **argv)
{
    server s;
    struct MHD_Daemon *d = NULL;
    char *cert = NULL, *key = NULL, *ca = NULL;
    char tmpdir[4096] = "";
    char err[512];
    int rc = 1;
    memset(&s, 0, sizeof(s));

    int po = parse_options(argc, argv, &s.o);
    if (po != 0)
        return po > 0 ? 0 : 2;

    struct stat sb;
    if (stat(s.o.data, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        serve_log("--data %s is not a directory", s.o.data);
        return 2;
    }
    s.faults = serve_faults_new();
    if (s.faults == NULL)
        goto out;
    if ((s.o.faults && serve_faults_parse(s.faults, s.o.faults, err, sizeof(err)) != 0) ||
        (s.o.faults_file && serve_faults_load(s.faults, s.o.faults_file, err, sizeof(err)) != 0)) {
        serve_log("%s", err);
        rc = 2;
        goto out;
    }
    if (s.o.token_file != NULL &&
        (s.token = serve_auth_load_token(s.o.token_file, err, sizeof(err))) == NULL) {
        serve_log("%s", err);
        rc = 2;
        goto out;
    }
    const char *work = s.o.work_dir;
    if (work == NULL) {
        const char *t = getenv("TMPDIR");
        snprintf(tmpdir, sizeof(tmpdir), "%s/snesync-sim-serve.XXXXXX", t && *t ? t : "/tmp");
        if (mkdtemp(tmpdir) == NULL) {
            serve_log("cannot create a work directory: %s", strerror(errno));
            tmpdir[0] = '\0';
            goto out;
        }
        work = tmpdir;
    } else if (mkdir(work, 0700) != 0 && errno != EEXIST) {
        serve_log("cannot create --work-dir %s: %s", work, strerror(errno));
        goto out;
    }
    serve_exports_config xc = {
        s.o.data, work, s.o.retry_after, s.o.min_poll, s.o.expire_seconds, s.o.generation_seconds,
        s.faults};
    s.exports = serve_exports_new(&xc);
    if (s.exports == NULL)
        goto out;
    s.gdm.data_dir = s.o.data;
    s.gdm.page_size = s.o.gdm_page_size;

    union {
        struct sockaddr sa;
        struct sockaddr_in in4;
        struct sockaddr_in6 in6;
    } addr;
    memset(&addr, 0, sizeof(addr));
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    if (inet_pton(AF_INET, s.o.bind, &addr.in4.sin_addr) == 1) {
        addr.in4.sin_family = AF_INET;
        addr.in4.sin_port = htons((uint16_t)s.o.port);
    } else if (inet_pton(AF_INET6, s.o.bind, &addr.in6.sin6_addr) == 1) {
        addr.in6.sin6_family = AF_INET6;
        addr.in6.sin6_port = htons((uint16_t)s.o.port);
        flags |= MHD_USE_IPv6;
    } else {
        serve_log("--bind %s is not an IPv4 or IPv6 address", s.o.bind);
        rc = 2;
        goto out;
    }

    struct MHD_OptionItem ops[16];
    int n = 0;
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_SOCK_ADDR, 0, &addr.sa};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_LIMIT, MAX_CONNECTIONS, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_CONNECTION_TIMEOUT, 60, NULL};
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL};
    if (s.o.tls_cert != NULL) {
        if ((cert = read_pem(s.o.tls_cert)) == NULL || (key = read_pem(s.o.tls_key)) == NULL ||
            (s.o.tls_ca != NULL && (ca = read_pem(s.o.tls_ca)) == NULL))
            goto out;
        flags |= MHD_USE_TLS;
        s.tls = 1;
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_CERT, 0, cert};
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_KEY, 0, key};
        ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES};
        if (ca != NULL) {
            s.client_ca = 1;
            ops[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_MEM_TRUST, 0, ca};
            ops[n++] = (struct MHD_OptionItem){MHD_OPTION_NOTIFY_CONNECTION,
                                               (intptr_t)serve_auth_on_connection, NULL};
        }
    }
    ops[n++] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};

    /* SIGINT/SIGTERM are taken by sigwait() below: block them before any thread starts so that
     * every thread inherits the mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, &s, MHD_OPTION_ARRAY, ops,
                         MHD_OPTION_END);
    if (d == NULL) {
        serve_log("cannot start the HTTP daemon on %s port %ld", s.o.bind, s.o.port);
        goto out;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    unsigned port = di != NULL ? di->port : (unsigned)s.o.port;
    const char *v6 = strchr(s.o.bind, ':') ? "[" : "";
    printf("listening on http%s://%s%s%s:%u\n", s.tls ? "s" : "", v6, s.o.bind, *v6 ? "]" : "",
           port);
    fflush(stdout);
    serve_log("ready%s%s%s", s.tls ? ", TLS 1.2+" : "", s.client_ca ? ", client certificates" : "",
              s.token ? ", bearer token" : "");

    int sig = 0;
    sigwait(&sigs, &sig);
    serve_log("signal %d: stopping", sig);
    serve_set_stopping(); /* trickling answers give up */
    rc = 0;
out:
    if (d != NULL)
        MHD_stop_daemon(d);
    serve_exports_free(s.exports);
    if (tmpdir[0] != '\0' && rmdir(tmpdir) != 0)
        serve_log("cannot remove the work directory: %s", strerror(errno));
    serve_faults_free(s.faults);
    if (s.token != NULL) {
        memset(s.token, 0, strlen(s.token));
        free(s.token);
    }
    free(cert);
    if (key != NULL) {
        memset(key, 0, strlen(key));
        free(key);
    }
    free(ca);
    return rc;
}
