/* serve_exports.c: the export table, its worker threads and the status/POST/DELETE handlers. */
#include "serve_exports.h"

#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "serve_base.h"
#include "serve_reply.h"
#include "serve_request.h"
#include "common/buffer.h"
#include "core/sim_util.h"
#include "register/sim_export.h"

typedef enum state { ST_ATTENTE, ST_COURS, ST_TERMINE, ST_ECHEC, ST_EXPIRE } state;
static const char *const state_names[] = {"EN_ATTENTE", "EN_COURS", "TERMINE", "ECHEC", "EXPIRE"};

typedef struct export_entry {
    serve_exports *owner;
    char id[41];
    char guichet[64];
    state st;
    int refs;     /* one for the table, one for the worker while it runs */
    int released; /* DELETEd: the worker drops its file */
    int running;
    int cb_pct;
    double t_start, duration, last_poll; /* monotonic seconds */
    serve_fault fault;
    sim_export_request req; /* read-only once the worker started */
    uint64_t size, nombre;
    char sha256[65]; /* as announced */
    char date_export[40];
    int64_t expires_wall;
    char expiration[32];
    char err_code[32], err_msg[256];
    char path[4096];
} export_entry;

struct serve_exports {
    serve_exports_config cfg;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* on the monotonic clock */
    export_entry *tab[SERVE_MAX_EXPORTS];
    size_t n;
    unsigned running;
    unsigned seq;
    int stopping;
};

serve_exports *serve_exports_new(const serve_exports_config *cfg)
{
    serve_exports *x = calloc(1, sizeof(*x));
    if (x == NULL)
        return NULL;
    x->cfg = *cfg;
    pthread_mutex_init(&x->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&x->cv, &ca);
    pthread_condattr_destroy(&ca);
    return x;
}

/* Drops one reference; the caller holds x->mu. */
static void unref(export_entry *e)
{
    if (--e->refs == 0)
        free(e);
}

static void remove_file(export_entry *e)
{
    if (unlink(e->path) != 0 && errno != ENOENT)
        serve_log("export %s: cannot remove its file: %s", e->id, strerror(errno));
}

void serve_exports_free(serve_exports *x)
{
    if (x == NULL)
        return;
    pthread_mutex_lock(&x->mu);
    x->stopping = 1;
    pthread_cond_broadcast(&x->cv);
    while (x->running > 0)
        pthread_cond_wait(&x->cv, &x->mu);
    for (size_t i = 0; i < x->n; i++) {
        remove_file(x->tab[i]);
        unref(x->tab[i]);
    }
    x->n = 0;
    pthread_mutex_unlock(&x->mu);
    pthread_cond_destroy(&x->cv);
    pthread_mutex_destroy(&x->mu);
    free(x);
}

/* Waits on x->cv (x->mu held) until monotonic time `until`, or until `e` is released or the
 * table stops. Returns 1 if interrupted. */
static int wait_until(serve_exports *x, export_entry *e, double until)
{
    while (!x->stopping && !e->released) {
        double now = serve_now();
        if (now >= until)
            return 0;
        struct timespec ts;
        ts.tv_sec = (time_t)until;
        ts.tv_nsec = (long)((until - (double)ts.tv_sec) * 1e9);
        pthread_cond_timedwait(&x->cv, &x->mu, &ts);
    }
    return 1;
}

static void on_progress(void *ctx, int percent)
{
    export_entry *e = ctx;
    pthread_mutex_lock(&e->owner->mu);
    if (percent > e->cb_pct)
        e->cb_pct = percent > 100 ? 100 : percent;
    pthread_mutex_unlock(&e->owner->mu);
}

static int sha256_file(const char *path, char out[65])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    gnutls_hash_hd_t h;
    if (gnutls_hash_init(&h, GNUTLS_DIG_SHA256) < 0) {
        close(fd);
        return -1;
    }
    unsigned char buf[65536], dig[32];
    ssize_t n;
    while ((n = read(fd, buf, sizeof(buf))) > 0)
        gnutls_hash(h, buf, (size_t)n);
    gnutls_hash_deinit(h, dig);
    close(fd);
    if (n < 0)
        return -1;
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", dig[i]);
    return 0;
}

/* The export:truncate fault: cuts the file and describes the cut file. */
static int truncate_archive(export_entry *e, sim_export_result *res, char *err, size_t errlen)
{
    uint64_t keep = e->fault.arg ? e->fault.arg : res->size / 2;
    if (keep >= res->size)
        keep = res->size > 0 ? res->size - 1 : 0;
    if (truncate(e->path, (off_t)keep) != 0 || sha256_file(e->path, res->sha256) != 0) {
        snprintf(err, errlen, "cannot truncate the archive: %s", strerror(errno));
        return -1;
    }
    res->size = keep;
    return 0;
}

/* The generation itself, or the failure the fault plan asks for; outside the lock. */
static int generate(const serve_exports *x, export_entry *e, sim_export_result *res, char *err,
                    size_t errlen)
{
    if (e->fault.action == SERVE_FA_ECHEC) {
        snprintf(err, errlen, "simulated failure (fault plan)");
        return -1;
    }
    int rc = sim_export_write(x->cfg.data_dir, &e->req, e->path, res, err, errlen);
    if (rc == 0 && e->fault.action == SERVE_FA_TRUNCATE)
        rc = truncate_archive(e, res, err, errlen);
    return rc;
}

/* -> ECHEC; x->mu held. */
static void fail(export_entry *e, const char *err)
{
    remove_file(e);
    e->st = ST_ECHEC;
    snprintf(e->err_code, sizeof(e->err_code), "%s",
             e->fault.action == SERVE_FA_ECHEC ? "ERREUR_SIMULEE" : "ERREUR_GENERATION");
    snprintf(e->err_msg, sizeof(e->err_msg), "%s", err);
    serve_log("export %s: ECHEC (%s)", e->id, err);
}

/* The fault badsha: every hex digit of the announced sha256 replaced by its complement. */
static void spoil_sha256(char sha256[65])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 64; i++) {
        const char *p = strchr(hex, sha256[i]);
        sha256[i] = hex[15 - (p ? (int)(p - hex) : 0)];
    }
}

/* -> TERMINE, until expire_seconds from now; x->mu held. */
static void succeed(const serve_exports *x, export_entry *e, const sim_export_result *res)
{
    e->size = res->size;
    e->nombre = res->nombre_demandes;
    memcpy(e->sha256, res->sha256, sizeof(e->sha256));
    e->sha256[64] = '\0';
    if (e->fault.action == SERVE_FA_BADSHA)
        spoil_sha256(e->sha256);
    snprintf(e->date_export, sizeof(e->date_export), "%s", res->date_export);
    e->expires_wall = (int64_t)time(NULL) + (int64_t)x->cfg.expire_seconds;
    sim_fmt_utc(e->expires_wall, e->expiration);
    e->st = ST_TERMINE;
    serve_log("export %s: TERMINE, %llu bytes, %llu demandes", e->id, (unsigned long long)e->size,
              (unsigned long long)e->nombre);
}

/* A generation: EN_ATTENTE for a quarter of its duration, then EN_COURS until both the archive
 * is written and its duration is over. A DELETE or the server's stop interrupts the waits. */
static void *worker(void *arg)
{
    export_entry *e = arg;
    serve_exports *x = e->owner;
    sim_export_result res;
    char err[256] = "";
    int rc = -1;
    memset(&res, 0, sizeof(res));

    pthread_mutex_lock(&x->mu);
    int interrupted = wait_until(x, e, e->t_start + e->duration / 4);
    if (!interrupted)
        e->st = ST_COURS;
    pthread_mutex_unlock(&x->mu);

    if (!interrupted)
        rc = generate(x, e, &res, err, sizeof(err));

    pthread_mutex_lock(&x->mu);
    e->cb_pct = 100;
    if (!interrupted)
        interrupted = wait_until(x, e, e->t_start + e->duration);
    if (interrupted)
        remove_file(e);
    else if (rc != 0)
        fail(e, err);
    else
        succeed(x, e, &res);
    e->running = 0;
    x->running--;
    unref(e);
    pthread_cond_broadcast(&x->cv);
    pthread_mutex_unlock(&x->mu);
    return NULL;
}

/* TERMINE -> EXPIRE once the expiry instant is past; x->mu held. */
static void refresh(export_entry *e)
{
    if (e->st == ST_TERMINE && (int64_t)time(NULL) >= e->expires_wall) {
        e->st = ST_EXPIRE;
        remove_file(e);
        serve_log("export %s: EXPIRE", e->id);
    }
}

static export_entry *find(serve_exports *x, const char *id, size_t *index)
{
    for (size_t i = 0; i < x->n; i++)
        if (strcmp(x->tab[i]->id, id) == 0) {
            if (index != NULL)
                *index = i;
            refresh(x->tab[i]);
            return x->tab[i];
        }
    return NULL;
}

static void table_remove(serve_exports *x, size_t i)
{
    memmove(&x->tab[i], &x->tab[i + 1], (x->n - i - 1) * sizeof(x->tab[0]));
    x->n--;
}

/* Makes room for one more export by dropping the oldest ECHEC or EXPIRE one; x->mu held. */
static int make_room(serve_exports *x)
{
    if (x->n < SERVE_MAX_EXPORTS)
        return 0;
    for (size_t i = 0; i < x->n; i++) {
        refresh(x->tab[i]);
        if (x->tab[i]->st == ST_ECHEC || x->tab[i]->st == ST_EXPIRE) {
            export_entry *e = x->tab[i];
            table_remove(x, i);
            e->released = 1;
            unref(e);
            return 0;
        }
    }
    return -1;
}

/* Why a new export cannot be accepted now (and the status to answer), or NULL; x->mu held. May
 * drop the oldest ECHEC or EXPIRE export to make room. */
static const char *refusal(serve_exports *x, const char *guichet, unsigned *status)
{
    *status = 503;
    for (size_t i = 0; i < x->n; i++)
        if (strcmp(x->tab[i]->guichet, guichet) == 0 &&
            (x->tab[i]->st == ST_ATTENTE || x->tab[i]->st == ST_COURS)) {
            *status = 429;
            return "an export is already in progress for this guichet";
        }
    if (x->stopping)
        return "the server is stopping";
    if (x->running >= SERVE_MAX_RUNNING)
        return "too many exports in progress";
    if (make_room(x) != 0)
        return "too many exports kept: release some with DELETE";
    return NULL;
}

/* Names the export, takes its fault and starts its worker; x->mu held. */
static int start(serve_exports *x, export_entry *e)
{
    char day[32];
    sim_fmt_utc((int64_t)time(NULL), day);
    snprintf(e->id, sizeof(e->id), "X%.4s%.2s%.2sA%04u", day, day + 5, day + 8, ++x->seq);
    memcpy(e->req.numero_export, e->id, sizeof(e->req.numero_export));
    snprintf(e->path, sizeof(e->path), "%s/EXPORT_%s.tgz", x->cfg.work_dir, e->id);
    e->fault = serve_faults_take(x->cfg.faults, SERVE_PT_EXPORT, SERVE_FM_EXPORT);
    e->duration = x->cfg.generation_seconds;
    if (e->fault.action == SERVE_FA_SLOW)
        e->duration += (double)e->fault.arg;
    e->t_start = e->last_poll = serve_now();
    e->st = ST_ATTENTE;
    e->refs = 2;
    e->running = 1;

    pthread_t tid;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int prc = pthread_create(&tid, &attr, worker, e);
    pthread_attr_destroy(&attr);
    if (prc != 0)
        return -1;
    x->tab[x->n++] = e;
    x->running++;
    if (e->fault.action != SERVE_FA_NONE)
        serve_log("export %s: fault %s injected", e->id, serve_fault_name(e->fault.action));
    return 0;
}

/* 202 with the export's number and Location. */
static enum MHD_Result accepted(const serve_exports *x, serve_exchange *ex, const char *id)
{
    char location[96];
    snprintf(location, sizeof(location), "/v1.0/exports/%s", id);
    sne_buf b;
    sne_buf_init(&b, 1024);
    sne_err rc = sne_buf_append_str(&b, "{\"numeroExport\":");
    if (!rc)
        rc = serve_json_string(&b, id);
    if (!rc)
        rc = sne_buf_append_str(&b, ",\"statut\":\"EN_ATTENTE\"}");
    enum MHD_Result ret = rc ? serve_problem(ex, 500, 0, "answer too large")
                             : serve_reply(ex, 202, "application/json", (const char *)b.data, b.len,
                                           x->cfg.retry_after, MHD_HTTP_HEADER_LOCATION, location);
    sne_buf_free(&b);
    return ret;
}

enum MHD_Result serve_exports_post(serve_exports *x, serve_exchange *ex, const char *guichet,
                                   const char *body, size_t len)
{
    char err[256];
    export_entry *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return serve_problem(ex, 503, x->cfg.retry_after, "out of memory");
    if (serve_request_parse(body, len, &e->req, err, sizeof(err)) != 0) {
        free(e);
        return serve_problem(ex, 400, 0, err);
    }
    e->owner = x;
    snprintf(e->guichet, sizeof(e->guichet), "%s", guichet);
    e->req.progress = on_progress;
    e->req.progress_ctx = e;

    unsigned status;
    pthread_mutex_lock(&x->mu);
    const char *detail = refusal(x, guichet, &status);
    if (detail == NULL && start(x, e) != 0) {
        status = 503;
        detail = "cannot start a generation";
    }
    if (detail != NULL) {
        pthread_mutex_unlock(&x->mu);
        free(e);
        return serve_problem(ex, status, x->cfg.retry_after, detail);
    }
    char id[41];
    memcpy(id, e->id, sizeof(id));
    pthread_mutex_unlock(&x->mu);
    serve_log("export %s: accepted", id);
    return accepted(x, ex, id);
}

/* The erreur.message of an echec@N export: N bytes of what a careless or hostile server may
 * write there (control characters, an ANSI escape, quotes, a backslash, non-ASCII), whole
 * UTF-8 characters, padded with '.'. `out` holds N + 1 bytes. */
static void hostile_message(char *out, size_t n)
{
    static const char piece[] = "\xC3\x89" /* É */ "chec\n\x1b[31m\xC2\xAB" /* « */ "contr\xC3\xB4"
                                "le\xC2\xBB\r\t\"q\" \\ \x7f ";
    size_t len = 0, i = 0;
    for (;;) {
        unsigned char c = (unsigned char)piece[i];
        size_t k = c < 0x80 ? 1 : c < 0xE0 ? 2 : 3; /* the piece has no 4-byte character */
        if (len + k > n)
            break;
        memcpy(out + len, piece + i, k);
        len += k;
        i = (i + k) % (sizeof(piece) - 1);
    }
    memset(out + len, '.', n - len);
    out[n] = '\0';
}

static int progression(const export_entry *e, double now)
{
    if (e->st == ST_ATTENTE)
        return 0;
    if (e->st != ST_COURS)
        return 100;
    int p = e->cb_pct;
    if (e->duration > 0) {
        int tp = (int)((now - e->t_start) / e->duration * 100.0);
        if (tp < p)
            p = tp;
    }
    return p < 0 ? 0 : p > 99 ? 99 : p;
}

/* "fichier" of a TERMINE export. */
static sne_err status_file(const export_entry *e, sne_buf *b)
{
    sne_err rc = sne_buf_printf(b, ",\"fichier\":{\"url\":\"/v1.0/exports/%s/fichier\"", e->id);
    if (!rc)
        rc = sne_buf_printf(b, ",\"taille\":%llu,\"sha256\":\"%s\",\"nombreDemandes\":%llu}",
                            (unsigned long long)e->size, e->sha256, (unsigned long long)e->nombre);
    return rc;
}

/* "erreur" of an ECHEC export: the hostile message of echec@N, else the generation's error. */
static sne_err status_error(const export_entry *e, sne_buf *b)
{
    char hostile[SERVE_ECHEC_MESSAGE_MAX + 1];
    int is_hostile = e->fault.action == SERVE_FA_ECHEC && e->fault.arg > 0;
    if (is_hostile)
        hostile_message(hostile, (size_t)e->fault.arg);
    sne_err rc = sne_buf_append_str(b, ",\"erreur\":{\"code\":");
    if (!rc)
        rc = serve_json_string(b, e->err_code);
    if (!rc)
        rc = sne_buf_append_str(b, ",\"message\":");
    if (!rc)
        rc = serve_json_string(b, is_hostile ? hostile : e->err_msg);
    if (!rc)
        rc = sne_buf_append_byte(b, '}');
    return rc;
}

/* The status answer (ExportStatus) of e at monotonic time `now`; x->mu held. */
static sne_err status_json(const export_entry *e, double now, sne_buf *b)
{
    sne_err rc = sne_buf_append_str(b, "{\"numeroExport\":");
    if (!rc)
        rc = serve_json_string(b, e->id);
    if (!rc)
        rc = sne_buf_printf(b, ",\"statut\":\"%s\"", state_names[e->st]);
    if (!rc && (e->st == ST_ATTENTE || e->st == ST_COURS || e->st == ST_TERMINE))
        rc = sne_buf_printf(b, ",\"progression\":%d", progression(e, now));
    if (!rc && (e->st == ST_TERMINE || e->st == ST_EXPIRE)) {
        rc = sne_buf_append_str(b, ",\"dateExport\":");
        if (!rc)
            rc = serve_json_string(b, e->date_export);
        if (!rc)
            rc = sne_buf_append_str(b, ",\"expiration\":");
        if (!rc)
            rc = serve_json_string(b, e->expiration);
    }
    if (!rc && e->st == ST_TERMINE)
        rc = status_file(e, b);
    if (!rc && e->st == ST_ECHEC)
        rc = status_error(e, b);
    if (!rc)
        rc = sne_buf_append_byte(b, '}');
    return rc;
}

enum MHD_Result serve_exports_status(serve_exports *x, serve_exchange *ex, const char *id)
{
    unsigned retry_after = 0;
    double now = serve_now();
    pthread_mutex_lock(&x->mu);
    export_entry *e = find(x, id, NULL);
    if (e == NULL) {
        pthread_mutex_unlock(&x->mu);
        return serve_problem(ex, 404, 0, "unknown export");
    }
    if (x->cfg.min_poll > 0 && now - e->last_poll < x->cfg.min_poll) {
        unsigned wait = (unsigned)ceil(x->cfg.min_poll - (now - e->last_poll));
        pthread_mutex_unlock(&x->mu);
        return serve_problem(ex, 429, wait ? wait : 1, "polling faster than Retry-After");
    }
    e->last_poll = now;
    sne_buf b;
    sne_buf_init(&b, 8192);
    sne_err rc = status_json(e, now, &b);
    if (e->st == ST_ATTENTE || e->st == ST_COURS)
        retry_after = x->cfg.retry_after ? x->cfg.retry_after : 1;
    pthread_mutex_unlock(&x->mu);
    enum MHD_Result ret = rc ? serve_problem(ex, 500, 0, "status too large")
                             : serve_reply(ex, 200, "application/json", (const char *)b.data, b.len,
                                           retry_after, NULL, NULL);
    sne_buf_free(&b);
    return ret;
}

enum MHD_Result serve_exports_delete(serve_exports *x, serve_exchange *ex, const char *id)
{
    size_t i;
    pthread_mutex_lock(&x->mu);
    export_entry *e = find(x, id, &i);
    if (e == NULL) {
        pthread_mutex_unlock(&x->mu);
        return serve_problem(ex, 404, 0, "unknown export");
    }
    table_remove(x, i);
    e->released = 1;
    if (!e->running)
        remove_file(e);
    serve_log("export %s: released", e->id);
    unref(e);
    pthread_cond_broadcast(&x->cv);
    pthread_mutex_unlock(&x->mu);
    return serve_reply(ex, 204, NULL, NULL, 0, 0, NULL, NULL);
}

serve_file_state serve_exports_open_file(serve_exports *x, const char *id, serve_export_file *out)
{
    serve_file_state st;
    out->fd = -1;
    out->size = 0;
    out->sha256[0] = '\0';
    pthread_mutex_lock(&x->mu);
    export_entry *e = find(x, id, NULL);
    if (e == NULL) {
        st = SERVE_FILE_UNKNOWN;
    } else if (e->st == ST_EXPIRE) {
        st = SERVE_FILE_GONE;
    } else if (e->st != ST_TERMINE) {
        st = SERVE_FILE_NOT_READY;
    } else {
        struct stat sb;
        /* Opened under the lock so that DELETE or expiry cannot remove the file in between;
         * once open, the descriptor keeps the data readable even if it is unlinked. */
        out->fd = open(e->path, O_RDONLY | O_CLOEXEC);
        if (out->fd < 0 || fstat(out->fd, &sb) != 0) {
            serve_log("export %s: cannot open its file: %s", e->id, strerror(errno));
            if (out->fd >= 0)
                close(out->fd);
            out->fd = -1;
            st = SERVE_FILE_ERROR;
        } else {
            out->size = (uint64_t)sb.st_size;
            memcpy(out->sha256, e->sha256, sizeof(out->sha256));
            st = SERVE_FILE_OK;
        }
    }
    pthread_mutex_unlock(&x->mu);
    return st;
}
