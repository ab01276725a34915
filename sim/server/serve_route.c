/* serve_route.c: see serve_route.h. */
#include "serve_route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "serve_auth.h"
#include "serve_base.h"
#include "serve_download.h"
#include "serve_reply.h"
#include "register/sim_export.h"

#define MAX_BODY (64 * 1024)

/* What a request keeps between libmicrohttpd's calls. */
typedef struct request {
    char *body; /* owned: the upload, NUL-terminated */
    size_t len;
    int too_big;
    int done; /* a reply was queued */
    char guichet[64];
} request;

/* The fault a request meets on arrival; returns 1 when a reply was queued instead (*ret). */
static int arrival_fault(const serve_route *s, serve_exchange *ex, serve_point pt,
                         enum MHD_Result *ret)
{
    /* trickle and cut at `file` are body faults (serve_download), taken only when the archive is
     * sent; elsewhere they shape the answer queued next */
    unsigned mask = SERVE_FM_ARRIVAL;
    if (pt != SERVE_PT_FILE)
        mask |= SERVE_FM(SERVE_FA_TRICKLE) | SERVE_FM(SERVE_FA_CUT);
    serve_fault f = serve_faults_take(s->faults, pt, mask);
    if (f.action == SERVE_FA_CUT) {
        ex->cut = 1;
        ex->cut_at = (size_t)f.arg;
        serve_log("%s: fault cut@%llu injected", serve_point_name(pt), (unsigned long long)f.arg);
        return 0;
    }
    if (f.action == SERVE_FA_TRICKLE) {
        ex->trickle_ms = f.arg ? (unsigned)f.arg : 1000; /* the answer, one byte every ms */
        serve_log("%s: fault trickle@%u injected", serve_point_name(pt), ex->trickle_ms);
        return 0;
    }
    if (f.action == SERVE_FA_HTML) {
        serve_log("%s: fault html injected", serve_point_name(pt));
        *ret = serve_html_page(ex);
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
        retry = f.arg2 ? (unsigned)f.arg2 : (s->retry_after ? s->retry_after : 1);
    serve_log("%s: fault %u injected", serve_point_name(pt), status);
    *ret = serve_problem(ex, status, retry, "simulated fault");
    return 1;
}

static enum MHD_Result method_not_allowed(serve_exchange *ex, const char *allow)
{
    return serve_problem_ex(ex, 405, 0, "method not allowed here", MHD_HTTP_HEADER_ALLOW, allow);
}

static int is_get(const char *m)
{
    return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

/* POST /v1.0/exports */
static enum MHD_Result post_export(const serve_route *s, serve_exchange *ex, const request *r,
                                   const char *method)
{
    enum MHD_Result ret = MHD_YES;
    if (strcmp(method, "POST") != 0)
        return method_not_allowed(ex, "POST");
    if (arrival_fault(s, ex, SERVE_PT_POST, &ret))
        return ret;
    const char *ct =
        MHD_lookup_connection_value(ex->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (r->too_big)
        return serve_problem(ex, 400, 0, "request body too large");
    if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
        (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' '))
        return serve_problem(ex, 400, 0, "Content-Type must be application/json");
    return serve_exports_post(s->exports, ex, r->guichet, r->body ? r->body : "", r->len);
}

/* /v1.0/exports/{id} and /v1.0/exports/{id}/fichier; `rest` follows the id. */
static enum MHD_Result one_export(const serve_route *s, serve_exchange *ex, const char *id,
                                  const char *rest, const char *method)
{
    enum MHD_Result ret = MHD_YES;
    if (*rest == '\0') {
        if (is_get(method)) {
            if (arrival_fault(s, ex, SERVE_PT_STATUS, &ret))
                return ret;
            return serve_exports_status(s->exports, ex, id);
        }
        if (strcmp(method, "DELETE") == 0) {
            if (arrival_fault(s, ex, SERVE_PT_DELETE, &ret))
                return ret;
            return serve_exports_delete(s->exports, ex, id);
        }
        return method_not_allowed(ex, "GET, HEAD, DELETE");
    }
    if (strcmp(rest, "/fichier") != 0)
        return serve_problem(ex, 404, 0, "no such resource");
    if (!is_get(method))
        return method_not_allowed(ex, "GET, HEAD");
    if (arrival_fault(s, ex, SERVE_PT_FILE, &ret))
        return ret;
    return serve_download(s->exports, s->faults, ex, id);
}

/* GET /v1.0/demandes/{numUnique}: a read slot of the guichet, then the arrival faults. */
static enum MHD_Result read_demande(const serve_route *s, serve_exchange *ex, const request *r,
                                    const char *num, const char *method)
{
    enum MHD_Result ret = MHD_YES;
    if (!is_get(method))
        return method_not_allowed(ex, "GET, HEAD");
    unsigned busy = serve_demande_enter(s->demandes, r->guichet);
    if (busy != 0)
        return serve_problem(ex, busy, 1,
                             busy == 429 ? "too many reads at once for this guichet"
                                         : "too many guichets reading at once");
    if (!arrival_fault(s, ex, SERVE_PT_DEMANDE, &ret))
        ret = serve_demande(s->demandes, ex, num);
    serve_demande_leave(s->demandes, r->guichet);
    return ret;
}

static enum MHD_Result dispatch(const serve_route *s, serve_exchange *ex, const request *r,
                                const char *url, const char *method)
{
    static const char exports[] = "/v1.0/exports";
    enum MHD_Result ret = MHD_YES;
    if (strcmp(url, exports) == 0)
        return post_export(s, ex, r, method);
    if (strncmp(url, exports, sizeof(exports) - 1) == 0 && url[sizeof(exports) - 1] == '/') {
        char id[48];
        const char *p = url + sizeof(exports);
        size_t n = strcspn(p, "/");
        if (n == 0 || n >= sizeof(id))
            return serve_problem(ex, 404, 0, "unknown export");
        memcpy(id, p, n);
        id[n] = '\0';
        if (!sim_export_id_valid(id))
            return serve_problem(ex, 404, 0, "unknown export");
        return one_export(s, ex, id, p + n, method);
    }
    static const char demandes[] = "/v1.0/demandes/";
    if (strncmp(url, demandes, sizeof(demandes) - 1) == 0 &&
        strcmp(url, "/v1.0/demandes/mouvements") != 0)
        return read_demande(s, ex, r, url + sizeof(demandes) - 1, method);
    if (strcmp(url, "/v1.0/demandes/mouvements") != 0)
        return serve_problem(ex, 404, 0, "no such resource");
    if (!is_get(method))
        return method_not_allowed(ex, "GET, HEAD");
    if (arrival_fault(s, ex, SERVE_PT_GDM, &ret))
        return ret;
    return serve_gdm(&s->gdm, ex);
}

/* A request's first call: its identity (client certificate), then its bearer token. Returns
 * MHD_NO to drop the connection. */
static enum MHD_Result admit(const serve_route *s, struct MHD_Connection *c, const char *url,
                             const char *method, void **con_cls)
{
    request *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return MHD_NO;
    *con_cls = r;
    snprintf(r->guichet, sizeof(r->guichet), "default");
    if (s->client_ca && serve_auth_client_cert(c, r->guichet, sizeof(r->guichet)) != 0) {
        serve_log("%s %s: refused, no valid client certificate", method, url);
        return MHD_NO;
    }
    if (s->token != NULL && !serve_auth_bearer_ok(c, s->token)) {
        serve_exchange ex = {.conn = c};
        r->done = 1;
        enum MHD_Result ret = serve_problem(&ex, 401, 0, "a valid bearer token is required");
        serve_log("%s %s -> %u", method, url, ex.status);
        return ret;
    }
    return MHD_YES;
}

/* Keeps an upload chunk (at most MAX_BODY bytes in all: past it the request is marked). */
static enum MHD_Result upload(request *r, const char *data, size_t *size)
{
    if (!r->done && !r->too_big) {
        if (r->len + *size > MAX_BODY) {
            r->too_big = 1;
        } else {
            char *p = realloc(r->body, r->len + *size + 1);
            if (p == NULL)
                return MHD_NO;
            memcpy(p + r->len, data, *size);
            r->body = p;
            r->len += *size;
            r->body[r->len] = '\0';
        }
    }
    *size = 0;
    return MHD_YES;
}

enum MHD_Result serve_route_request(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls)
{
    const serve_route *s = cls;
    request *r = *con_cls;
    (void)version;
    if (r == NULL)
        return admit(s, c, url, method, con_cls);
    if (*upload_data_size != 0)
        return upload(r, upload_data, upload_data_size);
    if (r->done)
        return MHD_YES;
    r->done = 1;
    serve_exchange ex = {.conn = c};
    enum MHD_Result ret = dispatch(s, &ex, r, url, method);
    serve_log("%s %s -> %u", method, url, ex.status);
    return ret;
}

void serve_route_completed(void *cls, struct MHD_Connection *c, void **con_cls,
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
