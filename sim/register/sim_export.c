/* sim_export.c: sim_export_write(), see sim_export.h.
 *
 * Streaming: the register is mapped, each demand is rendered into a small reused buffer. A tar
 * member header needs the member size first, so each part is rendered twice: once to count its
 * bytes, once to write them (cheaper than a temporary file of many gigabytes, and the rendering
 * is deterministic; the second pass checks it wrote exactly the counted size). */
#include "sim_export.h"
#include "core/sim_geo.h"
#include "core/sim_register.h"
#include "sim_draw.h"
#include "sim_render.h"
#include "core/sim_util.h"

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

static const char *const entity_codes[SIM_ENT__COUNT] = {"CERFA", "DALO", "EVT", "CONT", "ATTRIB",
                                                         "PRIO",  "COTA", "PJ",  "DRM"};

const char *sim_entity_code(int e)
{
    return e >= 0 && e < SIM_ENT__COUNT ? entity_codes[e] : "?";
}

int sim_entity_find(const char *code)
{
    for (int e = 0; e < SIM_ENT__COUNT; e++)
        if (strcmp(code, entity_codes[e]) == 0)
            return e;
    return -1;
}

typedef struct sink {
    int fd;
    EVP_MD_CTX *md;
    uint64_t size;
    int err;
} sink;

static ssize_t sink_write(struct archive *a, void *ctx, const void *buf, size_t len)
{
    sink *s = ctx;
    size_t done = 0;
    while (done < len) {
        ssize_t k = write(s->fd, (const char *)buf + done, len - done);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            s->err = errno;
            archive_set_error(a, errno, "write: %s", strerror(errno));
            return -1;
        }
        done += (size_t)k;
    }
    EVP_DigestUpdate(s->md, buf, len);
    s->size += len;
    return (ssize_t)len;
}

int sim_export_id_valid(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 40)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              c == '_' || c == '-'))
            return 0;
    }
    return 1;
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

static void put_line(sim_xml *b, const char *s)
{
    sim_xml_put(b, s, strlen(s));
}

/* `drm_last`: the month index of the most recent DRM period (dernierePeriodeDrm). */
static void entete(sim_xml *b, const sim_export_request *req, const char *date, const char *guichet,
                   size_t part, size_t parts, int depth, int drm_last)
{
    char t[256];
    put_line(b,
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<ns1:exportNuu versionInterface=\"13.34\" xmlns:ns1=\"http://nuu.application.i2/\">\n"
             "  <ns1:entete>\n");
    snprintf(t, sizeof t, "    <ns1:numeroExport>%s</ns1:numeroExport>\n", req->numero_export);
    put_line(b, t);
    snprintf(t, sizeof t, "    <ns1:dateExport>%s</ns1:dateExport>\n", date);
    put_line(b, t);
    snprintf(t, sizeof t, "    <ns1:numGuichet>%s</ns1:numGuichet>\n", guichet);
    put_line(b, t);
    snprintf(t, sizeof t,
             "    <ns1:partie>%zu</ns1:partie>\n    <ns1:nombreParties>%zu</ns1:nombreParties>\n",
             part, parts);
    put_line(b, t);
    put_line(b, "    <ns1:perimetre>\n      <ns1:listeEntite>\n");
    for (int e = 0; e < SIM_ENT__COUNT; e++)
        if (req->entities & (1u << e)) {
            snprintf(t, sizeof t, "        <ns1:entite>%s</ns1:entite>\n", sim_entity_code(e));
            put_line(b, t);
        }
    put_line(b, "      </ns1:listeEntite>\n");
    put_line(b, req->radiees ? "      <ns1:etatDemande>RADIEE</ns1:etatDemande>\n"
                             : "      <ns1:etatDemande>ACTIVE</ns1:etatDemande>\n");
    if (req->n_departements) {
        put_line(b, "      <ns1:listeDepartement>\n");
        for (size_t k = 0; k < req->n_departements; k++) {
            snprintf(t, sizeof t, "        <ns1:departement>%s</ns1:departement>\n",
                     req->departements[k]);
            put_line(b, t);
        }
        put_line(b, "      </ns1:listeDepartement>\n");
    } else if (req->n_communes) {
        put_line(b, "      <ns1:listeCommune>\n");
        for (size_t k = 0; k < req->n_communes; k++) {
            snprintf(t, sizeof t, "        <ns1:commune code=\"%s\"/>\n", req->communes[k]);
            put_line(b, t);
        }
        put_line(b, "      </ns1:listeCommune>\n");
    }
    if (req->entities & (1u << SIM_ENT_DRM)) {
        char period[8];
        sim_fmt_month(drm_last, period);
        snprintf(t, sizeof t,
                 "      <ns1:profondeurDrm>%d</ns1:profondeurDrm>\n"
                 "      <ns1:dernierePeriodeDrm>%s</ns1:dernierePeriodeDrm>\n",
                 depth, period);
        put_line(b, t);
    }
    put_line(b, "    </ns1:perimetre>\n  </ns1:entete>\n");
}

static void pied(sim_xml *b, size_t count)
{
    char t[128];
    snprintf(t, sizeof t,
             "  <ns1:pied>\n    <ns1:nombreDemandes>%zu</ns1:nombreDemandes>\n  "
             "</ns1:pied>\n</ns1:exportNuu>\n",
             count);
    put_line(b, t);
}

static int gzip_level(void)
{
    const char *e = getenv("SNESYNC_SIM_GZIP_LEVEL");
    if (e && e[0] >= '1' && e[0] <= '9' && !e[1])
        return e[0] - '0';
    return 6;
}

int sim_export_write(const char *data_dir, const sim_export_request *req, const char *out_path,
                     sim_export_result *res, char *errbuf, size_t errlen)
{
    int rc = -1, fd = -1;
    sim_register r;
    uint32_t *scope = NULL;
    struct archive *a = NULL;
    struct archive_entry *ae = NULL;
    sim_xml b;
    sink s = {0};
    char *tmp = NULL;
    memset(&r, 0, sizeof r);
    memset(res, 0, sizeof *res);
    sim_xml_init(&b, SIM_RENDER_CAP);

    if (!req->entities || req->entities >= (1u << SIM_ENT__COUNT)) {
        snprintf(errbuf, errlen, "entities: a non-empty subset of the nine entities is required");
        return -1;
    }
    if (req->n_departements && req->n_communes) {
        snprintf(errbuf, errlen, "departements and communes are exclusive");
        return -1;
    }
    if (req->n_departements > SIM_MAX_LOCATIONS || req->n_communes > SIM_MAX_LOCATIONS) {
        snprintf(errbuf, errlen, "at most %d locations", SIM_MAX_LOCATIONS);
        return -1;
    }
    for (size_t k = 0; k < req->n_departements; k++)
        if (!sim_is_dept_code(req->departements[k])) {
            snprintf(errbuf, errlen, "departement '%.4s': not a department code",
                     req->departements[k]);
            return -1;
        }
    for (size_t k = 0; k < req->n_communes; k++)
        if (!sim_is_commune_code(req->communes[k])) {
            snprintf(errbuf, errlen, "commune '%.6s': not an INSEE code", req->communes[k]);
            return -1;
        }
    if (req->profondeur_drm < 0 || req->profondeur_drm > 3) {
        snprintf(errbuf, errlen, "profondeurDrm: 1..3");
        return -1;
    }
    if (!sim_export_id_valid(req->numero_export)) {
        snprintf(errbuf, errlen, "numeroExport: [0-9A-Za-z_-]{1,40} required");
        return -1;
    }
    int depth = req->profondeur_drm ? req->profondeur_drm : 3;

    if (sim_register_open(data_dir, &r, 0, errbuf, errlen) != 0)
        return -1;
    scope = malloc((r.n ? r.n : 1) * sizeof *scope);
    if (!scope) {
        snprintf(errbuf, errlen, "out of memory");
        goto out;
    }
    size_t ns = 0;
    for (size_t i = 0; i < r.n; i++)
        if (in_scope(&r.d[i], req))
            scope[ns++] = (uint32_t)i;
    size_t per = req->demands_per_part ? req->demands_per_part : (ns ? ns : 1);
    size_t parts = ns ? (ns + per - 1) / per : 1;
    if (parts > 999) {
        snprintf(errbuf, errlen, "too many parts (%zu): raise demands_per_part", parts);
        goto out;
    }
    char date[40];
    sim_fmt_paris(r.snapshot, 1, date);
    int drm_last = sim_drm_last_month(r.snapshot);

    size_t plen = strlen(out_path);
    tmp = malloc(plen + 16);
    if (!tmp) {
        snprintf(errbuf, errlen, "out of memory");
        goto out;
    }
    snprintf(tmp, plen + 16, "%s.tmpXXXXXX", out_path);
    fd = mkstemp(tmp);
    if (fd < 0) {
        snprintf(errbuf, errlen, "%s: %s", out_path, strerror(errno));
        free(tmp);
        tmp = NULL;
        goto out;
    }
    fchmod(fd, 0600);
    s.fd = fd;
    s.md = EVP_MD_CTX_new();
    if (!s.md || EVP_DigestInit_ex(s.md, EVP_sha256(), NULL) != 1) {
        snprintf(errbuf, errlen, "sha256 unavailable");
        goto out;
    }
    a = archive_write_new();
    ae = archive_entry_new();
    char lvl[64];
    snprintf(lvl, sizeof lvl, "gzip:compression-level=%d,gzip:!timestamp", gzip_level());
    if (!a || !ae || archive_write_add_filter_gzip(a) != ARCHIVE_OK ||
        archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
        archive_write_set_options(a, lvl) != ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK ||
        archive_write_open(a, &s, NULL, sink_write, NULL) != ARCHIVE_OK) {
        snprintf(errbuf, errlen, "archive: %s", a ? archive_error_string(a) : "out of memory");
        goto out;
    }

    size_t done = 0, total_work = 2 * ns + 1;
    int last_pct = -1;
    for (size_t p = 0; p < parts; p++) {
        size_t lo = p * per, hi = lo + per < ns ? lo + per : ns;
        /* pass 1: size */
        sim_xml_reset(&b);
        entete(&b, req, date, r.guichet, p + 1, parts, depth, drm_last);
        uint64_t size = b.buf.len;
        for (size_t k = lo; k < hi; k++) {
            sim_view v;
            sim_register_view(&r, scope[k], &v);
            sim_xml_reset(&b);
            sim_render_demande(&b, &v, req->entities, depth);
            size += b.buf.len;
            if (req->progress && (++done * 100 / total_work) != (size_t)last_pct) {
                last_pct = (int)(done * 100 / total_work);
                req->progress(req->progress_ctx, last_pct);
            }
        }
        sim_xml_reset(&b);
        pied(&b, hi - lo);
        size += b.buf.len;
        if (b.err) {
            snprintf(errbuf, errlen, "rendering: %s", sne_strerror(b.err));
            goto out;
        }
        /* pass 2: write */
        char name[96];
        snprintf(name, sizeof name, "EXPORT_%s_%03zu.xml", req->numero_export, p + 1);
        archive_entry_clear(ae);
        archive_entry_set_pathname(ae, name);
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_perm(ae, 0644);
        archive_entry_set_size(ae, (la_int64_t)size);
        archive_entry_set_mtime(ae, (time_t)r.snapshot, 0);
        archive_entry_set_uname(ae, "sne");
        archive_entry_set_gname(ae, "sne");
        if (archive_write_header(a, ae) != ARCHIVE_OK) {
            snprintf(errbuf, errlen, "archive: %s", archive_error_string(a));
            goto out;
        }
        uint64_t written = 0;
        sim_xml_reset(&b);
        entete(&b, req, date, r.guichet, p + 1, parts, depth, drm_last);
        for (size_t k = lo; k <= hi; k++) {
            if (k == hi)
                pied(&b, hi - lo);
            else {
                sim_view v;
                sim_register_view(&r, scope[k], &v);
                sim_render_demande(&b, &v, req->entities, depth);
            }
            if (b.buf.len >= (1 << 20) || k == hi) {
                if (b.err ||
                    archive_write_data(a, b.buf.data, b.buf.len) != (la_ssize_t)b.buf.len) {
                    snprintf(errbuf, errlen, "%s: %s", b.err ? "rendering" : "archive",
                             b.err ? sne_strerror(b.err) : archive_error_string(a));
                    goto out;
                }
                written += b.buf.len;
                sim_xml_reset(&b);
            }
            if (k < hi && req->progress && (++done * 100 / total_work) != (size_t)last_pct) {
                last_pct = (int)(done * 100 / total_work);
                req->progress(req->progress_ctx, last_pct);
            }
        }
        if (written != size) {
            snprintf(errbuf, errlen, "internal error: part %zu rendered %llu bytes, counted %llu",
                     p + 1, (unsigned long long)written, (unsigned long long)size);
            goto out;
        }
    }
    if (archive_write_close(a) != ARCHIVE_OK) {
        snprintf(errbuf, errlen, "archive: %s", archive_error_string(a));
        goto out;
    }
    unsigned char md[32];
    unsigned mdlen = 0;
    EVP_DigestFinal_ex(s.md, md, &mdlen);
    for (int i = 0; i < 32; i++)
        snprintf(res->sha256 + 2 * i, 3, "%02x", md[i]);
    if (close(fd) != 0) { /* no fsync: a simulator's archive is cheap to redo */
        fd = -1;
        snprintf(errbuf, errlen, "%s: %s", out_path, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, out_path) != 0) {
        snprintf(errbuf, errlen, "%s: %s", out_path, strerror(errno));
        goto out;
    }
    free(tmp);
    tmp = NULL;
    res->size = s.size;
    res->nombre_demandes = ns;
    snprintf(res->date_export, sizeof res->date_export, "%s", date);
    if (req->progress)
        req->progress(req->progress_ctx, 100);
    rc = 0;
out:
    if (a)
        archive_write_free(a);
    archive_entry_free(ae);
    if (fd >= 0)
        close(fd);
    if (tmp) {
        unlink(tmp);
        free(tmp);
    }
    EVP_MD_CTX_free(s.md);
    sim_xml_free(&b);
    free(scope);
    sim_register_close(&r);
    return rc;
}
