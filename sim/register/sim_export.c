/* sim_export.c: sim_export_write(), see sim_export.h.
 *
 * Streaming: the register is mapped, each demand is rendered into a small reused buffer. A tar
 * member header needs the member size first, so each part is rendered twice: once to count its
 * bytes, once to write them (cheaper than a temporary file of many gigabytes, and the rendering
 * is deterministic; the second pass checks it wrote exactly the counted size). */
#include "sim_export.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim_draw.h"
#include "sim_render.h"
#include "core/sim_geo.h"
#include "core/sim_register.h"
#include "core/sim_util.h"

#define FLUSH_BYTES (1u << 20) /* rendered text handed to the archive at a time */

/* The archive's file: a temporary file next to the target, hashed as it is written. */
typedef struct sink {
    int fd;
    char *tmp; /* owned: its path, until renamed over the target */
    EVP_MD_CTX *md;
    uint64_t size;
} sink;

/* One export being written. */
typedef struct exporter {
    const sim_export_request *req;
    const sim_register *reg; /* borrowed: own, or the caller's */
    sim_register own;        /* mapped read-only by sim_export_write() */
    uint32_t *scope;         /* the indexes of the demands in scope, ns of them */
    size_t ns, per, parts;
    int depth, drm_last;
    char date[40]; /* dateExport */
    sim_xml *w;    /* borrowed: own_w, or the caller's */
    sim_xml own_w;
    struct archive *a;
    struct archive_entry *ae;
    sink s;
    size_t done, total; /* progress: demands rendered, of two passes over the scope (+1) */
    int last_pct;
    char *err;
    size_t errlen;
} exporter;

static ssize_t sink_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
    sink *s = ctx;
    size_t done = 0;
    while (done < len) {
        ssize_t k = write(s->fd, (const char *)buf + done, len - done);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            archive_set_error(a, errno, "write: %s", strerror(errno));
            return -1;
        }
        done += (size_t)k;
    }
    EVP_DigestUpdate(s->md, buf, len);
    s->size += len;
    return (ssize_t)len;
}

static int sink_open(sink *s, const char *out_path, char *err, size_t errlen)
{
    size_t plen = strlen(out_path) + 16;
    if (!(s->tmp = malloc(plen))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(s->tmp, plen, "%s.tmpXXXXXX", out_path);
    if ((s->fd = mkstemp(s->tmp)) < 0) {
        snprintf(err, errlen, "%s: %s", out_path, strerror(errno));
        free(s->tmp);
        s->tmp = NULL;
        return -1;
    }
    fchmod(s->fd, 0600);
    s->md = EVP_MD_CTX_new();
    if (!s->md || EVP_DigestInit_ex(s->md, EVP_sha256(), NULL) != 1) {
        snprintf(err, errlen, "sha256 unavailable");
        return -1;
    }
    return 0;
}

/* Closes the file, renames it over out_path and gives its sha256 (hex). */
static int sink_commit(sink *s, const char *out_path, char sha256[65], char *err, size_t errlen)
{
    unsigned char md[32];
    unsigned mdlen = 0;
    EVP_DigestFinal_ex(s->md, md, &mdlen);
    for (int i = 0; i < 32; i++)
        snprintf(sha256 + 2 * i, 3, "%02x", md[i]);
    int closed = close(s->fd); /* no fsync: a simulator's archive is cheap to redo */
    s->fd = -1;
    if (closed != 0 || rename(s->tmp, out_path) != 0) {
        snprintf(err, errlen, "%s: %s", out_path, strerror(errno));
        return -1;
    }
    free(s->tmp);
    s->tmp = NULL;
    return 0;
}

/* Releases what sink_open() made; removes the file unless committed. */
static void sink_close(sink *s)
{
    if (s->fd >= 0)
        close(s->fd);
    if (s->tmp) {
        unlink(s->tmp);
        free(s->tmp);
    }
    EVP_MD_CTX_free(s->md);
}

static int gzip_level(void)
{
    const char *e = getenv("SNESYNC_SIM_GZIP_LEVEL");
    if (e && e[0] >= '1' && e[0] <= '9' && !e[1])
        return e[0] - '0';
    return 6;
}

/* A pax tar, gzip without a timestamp (reproducible), written to x->s. */
static int archive_open(exporter *x)
{
    char options[64];
    snprintf(options, sizeof options, "gzip:compression-level=%d,gzip:!timestamp", gzip_level());
    x->a = archive_write_new();
    x->ae = archive_entry_new();
    if (!x->a || !x->ae || archive_write_add_filter_gzip(x->a) != ARCHIVE_OK ||
        archive_write_set_format_pax_restricted(x->a) != ARCHIVE_OK ||
        archive_write_set_options(x->a, options) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(x->a, 1) != ARCHIVE_OK ||
        archive_write_open(x->a, &x->s, NULL, sink_write, NULL) != ARCHIVE_OK) {
        snprintf(x->err, x->errlen, "archive: %s",
                 x->a ? archive_error_string(x->a) : "out of memory");
        return -1;
    }
    return 0;
}

static int in_scope(const sim_demand *d, const sim_export_request *req)
{
    if ((d->etat == SIM_ETAT_RADIEE) != (req->radiees != 0))
        return 0;
    if (!req->n_departements && !req->n_communes)
        return 1;
    char codes[SIM_MAX_COMMUNES][6];
    int nc = sim_demand_communes(d, codes);
    for (int i = 0; i < nc; i++) {
        if (req->n_departements) {
            char dep[4];
            sim_commune_dept(codes[i], dep);
            for (size_t k = 0; k < req->n_departements; k++)
                if (strcmp(dep, req->departements[k]) == 0)
                    return 1;
        } else {
            for (size_t k = 0; k < req->n_communes; k++)
                if (strcmp(codes[i], req->communes[k]) == 0)
                    return 1;
        }
    }
    return 0;
}

/* The demands in scope, and how they are cut into parts (at most 999). */
static int select_scope(exporter *x)
{
    const sim_export_request *req = x->req;
    if (!(x->scope = malloc((x->reg->n ? x->reg->n : 1) * sizeof *x->scope))) {
        snprintf(x->err, x->errlen, "out of memory");
        return -1;
    }
    for (size_t i = 0; i < x->reg->n; i++)
        if (in_scope(&x->reg->d[i], req))
            x->scope[x->ns++] = (uint32_t)i;
    x->per = req->demands_per_part ? req->demands_per_part : (x->ns ? x->ns : 1);
    x->parts = x->ns ? (x->ns + x->per - 1) / x->per : 1;
    if (x->parts > 999) {
        snprintf(x->err, x->errlen, "too many parts (%zu): raise demands_per_part", x->parts);
        return -1;
    }
    return 0;
}

static void put_str(sim_xml *w, const char *s)
{
    sim_xml_put(w, s, strlen(s));
}

/* The perimeter of the entete: entities, etat, locations, DRM depth. */
static void perimeter(exporter *x)
{
    const sim_export_request *req = x->req;
    char t[256];
    put_str(x->w, "    <ns1:perimetre>\n      <ns1:listeEntite>\n");
    for (int e = 0; e < SIM_ENT__COUNT; e++)
        if (req->entities & (1u << e)) {
            snprintf(t, sizeof t, "        <ns1:entite>%s</ns1:entite>\n", sim_entity_code(e));
            put_str(x->w, t);
        }
    put_str(x->w, "      </ns1:listeEntite>\n");
    put_str(x->w, req->radiees ? "      <ns1:etatDemande>RADIEE</ns1:etatDemande>\n"
                               : "      <ns1:etatDemande>ACTIVE</ns1:etatDemande>\n");
    if (req->n_departements) {
        put_str(x->w, "      <ns1:listeDepartement>\n");
        for (size_t k = 0; k < req->n_departements; k++) {
            snprintf(t, sizeof t, "        <ns1:departement>%s</ns1:departement>\n",
                     req->departements[k]);
            put_str(x->w, t);
        }
        put_str(x->w, "      </ns1:listeDepartement>\n");
    } else if (req->n_communes) {
        put_str(x->w, "      <ns1:listeCommune>\n");
        for (size_t k = 0; k < req->n_communes; k++) {
            snprintf(t, sizeof t, "        <ns1:commune code=\"%s\"/>\n", req->communes[k]);
            put_str(x->w, t);
        }
        put_str(x->w, "      </ns1:listeCommune>\n");
    }
    if (req->entities & (1u << SIM_ENT_DRM)) {
        char period[8];
        sim_fmt_month(x->drm_last, period);
        snprintf(t, sizeof t,
                 "      <ns1:profondeurDrm>%d</ns1:profondeurDrm>\n"
                 "      <ns1:dernierePeriodeDrm>%s</ns1:dernierePeriodeDrm>\n",
                 x->depth, period);
        put_str(x->w, t);
    }
    put_str(x->w, "    </ns1:perimetre>\n");
}

/* The document's start up to its entete, for part p (1-based). */
static void head(exporter *x, size_t p)
{
    char t[256];
    put_str(x->w, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<ns1:exportNuu versionInterface=\"13.34\" "
                  "xmlns:ns1=\"http://nuu.application.i2/\">\n"
                  "  <ns1:entete>\n");
    snprintf(t, sizeof t, "    <ns1:numeroExport>%s</ns1:numeroExport>\n", x->req->numero_export);
    put_str(x->w, t);
    snprintf(t, sizeof t, "    <ns1:dateExport>%s</ns1:dateExport>\n", x->date);
    put_str(x->w, t);
    snprintf(t, sizeof t, "    <ns1:numGuichet>%s</ns1:numGuichet>\n", x->reg->guichet);
    put_str(x->w, t);
    snprintf(t, sizeof t,
             "    <ns1:partie>%zu</ns1:partie>\n    <ns1:nombreParties>%zu</ns1:nombreParties>\n",
             p, x->parts);
    put_str(x->w, t);
    perimeter(x);
    put_str(x->w, "  </ns1:entete>\n");
}

/* The document's end: the pied with its count of demands. */
static void foot(exporter *x, size_t count)
{
    char t[128];
    snprintf(t, sizeof t,
             "  <ns1:pied>\n    <ns1:nombreDemandes>%zu</ns1:nombreDemandes>\n  "
             "</ns1:pied>\n</ns1:exportNuu>\n",
             count);
    put_str(x->w, t);
}

/* One more demand rendered: tells the caller when the percentage changed. */
static void progress(exporter *x)
{
    if (!x->req->progress || ++x->done * 100 / x->total == (size_t)x->last_pct)
        return;
    x->last_pct = (int)(x->done * 100 / x->total);
    x->req->progress(x->req->progress_ctx, x->last_pct);
}

static void render(exporter *x, size_t k)
{
    sim_view v;
    sim_register_view(x->reg, x->scope[k], &v);
    sim_render_demande(x->w, &v, x->req->entities, x->depth);
}

/* Pass 1: the bytes of part p (1-based) holding demands [lo, hi) of the scope. */
static int part_size(exporter *x, size_t p, size_t lo, size_t hi, uint64_t *size)
{
    sim_xml_reset(x->w);
    head(x, p);
    *size = x->w->buf.len;
    for (size_t k = lo; k < hi; k++) {
        sim_xml_reset(x->w);
        render(x, k);
        *size += x->w->buf.len;
        progress(x);
    }
    sim_xml_reset(x->w);
    foot(x, hi - lo);
    *size += x->w->buf.len;
    if (x->w->err) {
        snprintf(x->err, x->errlen, "rendering: %s", sne_strerror(x->w->err));
        return -1;
    }
    return 0;
}

/* The tar header of part p: EXPORT_{numero}_{p:03}.xml, `size` bytes, dated by the snapshot. */
static int part_header(exporter *x, size_t p, uint64_t size)
{
    char name[96];
    snprintf(name, sizeof name, "EXPORT_%s_%03zu.xml", x->req->numero_export, p);
    archive_entry_clear(x->ae);
    archive_entry_set_pathname(x->ae, name);
    archive_entry_set_filetype(x->ae, AE_IFREG);
    archive_entry_set_perm(x->ae, 0644);
    archive_entry_set_size(x->ae, (la_int64_t)size);
    archive_entry_set_mtime(x->ae, (time_t)x->reg->snapshot, 0);
    archive_entry_set_uname(x->ae, "sne");
    archive_entry_set_gname(x->ae, "sne");
    if (archive_write_header(x->a, x->ae) != ARCHIVE_OK) {
        snprintf(x->err, x->errlen, "archive: %s", archive_error_string(x->a));
        return -1;
    }
    return 0;
}

/* Hands the text rendered so far to the archive; adds its length to *written. */
static int flush(exporter *x, uint64_t *written)
{
    sim_xml *w = x->w;
    if (w->err || archive_write_data(x->a, w->buf.data, w->buf.len) != (la_ssize_t)w->buf.len) {
        snprintf(x->err, x->errlen, "%s: %s", w->err ? "rendering" : "archive",
                 w->err ? sne_strerror(w->err) : archive_error_string(x->a));
        return -1;
    }
    *written += w->buf.len;
    sim_xml_reset(w);
    return 0;
}

/* Pass 2: writes part p, which pass 1 counted `size` bytes. */
static int part_write(exporter *x, size_t p, size_t lo, size_t hi, uint64_t size)
{
    uint64_t written = 0;
    if (part_header(x, p, size) != 0)
        return -1;
    sim_xml_reset(x->w);
    head(x, p);
    for (size_t k = lo; k < hi; k++) {
        render(x, k);
        if (x->w->buf.len >= FLUSH_BYTES && flush(x, &written) != 0)
            return -1;
        progress(x);
    }
    foot(x, hi - lo);
    if (flush(x, &written) != 0)
        return -1;
    if (written != size) {
        snprintf(x->err, x->errlen, "internal error: part %zu rendered %llu bytes, counted %llu", p,
                 (unsigned long long)written, (unsigned long long)size);
        return -1;
    }
    return 0;
}

static int write_parts(exporter *x)
{
    for (size_t p = 0; p < x->parts; p++) {
        size_t lo = p * x->per, hi = lo + x->per < x->ns ? lo + x->per : x->ns;
        uint64_t size;
        if (part_size(x, p + 1, lo, hi, &size) != 0 || part_write(x, p + 1, lo, hi, size) != 0)
            return -1;
    }
    if (archive_write_close(x->a) != ARCHIVE_OK) {
        snprintf(x->err, x->errlen, "archive: %s", archive_error_string(x->a));
        return -1;
    }
    return 0;
}

int sim_export_write(const char *data_dir, const sim_export_request *req, const char *out_path,
                     sim_export_result *res, char *errbuf, size_t errlen)
{
    int rc = -1;
    exporter x;
    memset(&x, 0, sizeof x);
    memset(res, 0, sizeof *res);
    x.req = req;
    x.s.fd = -1;
    x.last_pct = -1;
    x.err = errbuf;
    x.errlen = errlen;
    sim_xml_init(&x.own_w, SIM_RENDER_CAP);
    x.w = &x.own_w;
    if (sim_export_check(req, errbuf, errlen) != 0 ||
        sim_register_open(data_dir, &x.own, 0, errbuf, errlen) != 0)
        goto out;
    x.reg = &x.own;
    if (select_scope(&x) != 0)
        goto out;
    x.depth = req->profondeur_drm ? req->profondeur_drm : 3;
    x.drm_last = sim_drm_last_month(x.reg->snapshot);
    sim_fmt_paris(x.reg->snapshot, 1, x.date);
    x.total = 2 * x.ns + 1;
    if (sink_open(&x.s, out_path, errbuf, errlen) != 0 || archive_open(&x) != 0 ||
        write_parts(&x) != 0 || sink_commit(&x.s, out_path, res->sha256, errbuf, errlen) != 0)
        goto out;
    res->size = x.s.size;
    res->nombre_demandes = x.ns;
    snprintf(res->date_export, sizeof res->date_export, "%s", x.date);
    if (req->progress)
        req->progress(req->progress_ctx, 100);
    rc = 0;
out:
    if (x.a)
        archive_write_free(x.a);
    archive_entry_free(x.ae);
    sink_close(&x.s);
    sim_xml_free(&x.own_w);
    free(x.scope);
    sim_register_close(&x.own);
    return rc;
}

int sim_export_render_demand(const sim_register *r, size_t i, unsigned entities, int profondeur_drm,
                             sim_xml *w)
{
    sim_export_request req;
    memset(&req, 0, sizeof req);
    req.entities = entities;
    req.radiees = r->d[i].etat == SIM_ETAT_RADIEE;
    req.profondeur_drm = profondeur_drm;
    snprintf(req.numero_export, sizeof req.numero_export, "D%.18s", r->d[i].num);
    uint32_t one = (uint32_t)i;
    exporter x;
    memset(&x, 0, sizeof x);
    x.req = &req;
    x.reg = r;
    x.scope = &one;
    x.ns = x.per = x.parts = 1;
    x.depth = profondeur_drm ? profondeur_drm : 3;
    x.drm_last = sim_drm_last_month(r->snapshot);
    sim_fmt_paris(r->snapshot, 1, x.date);
    x.w = w;
    sim_xml_reset(w);
    head(&x, 1);
    render(&x, 0);
    foot(&x, 1);
    return w->err == SNE_OK ? 0 : -1;
}
