/* fetch_exports.c: the calls of the export API (exports-api.yaml, fetch.h): request an export,
 * read its status, download its archive with resume, release it. Each builds its URL, refusing
 * one that would not fit, and runs through the retries of fetch_retry.c. */
#include "fetch_internal.h"

#include "../common/format.h"
#include "../model/model.h"

#include <stdio.h>
#include <string.h>

/* Bytes of a fichier.url followed as a path on the server, its NUL included. */
#define FILE_PATH_MAX 512

sne_err sne_fetch_call_url(sne_fetch_call *c, sne_error *err, const char *base, const char *p1,
                           const char *p2, const char *p3)
{
    if (sne_format(c->url, sizeof(c->url), "%s%s%s%s", base, p1, p2, p3))
        return SNE_OK;
    return sne_error_set(err, SNE_ERR_USAGE, 0, "the URL of %s would be longer than %d bytes",
                         c->what, SNE_FETCH_URL_MAX - 1);
}

sne_err sne_fetch_get_json(sne_fetch *f, const char *what, const char *path, sne_buf *body,
                           double *retry_after, sne_error *err)
{
    sne_fetch_call c = {.method = "GET"};
    snprintf(c.what, sizeof(c.what), "%s", what);
    sne_err rc = sne_fetch_call_url(&c, err, f->api, path, "", "");
    if (!rc)
        rc = sne_fetch_call_run(f, &c, body, err);
    if (retry_after)
        *retry_after = c.retry_after;
    return rc;
}

/* An EtatExport answer read into *st; a body that is not one is the server's fault. */
static sne_err parse_status_body(const sne_buf *b, const char *what, sne_export_status *st,
                                 sne_error *err)
{
    sne_err rc = sne_status_parse((const char *)b->data, b->len, st, err);
    if (rc)
        sne_error_prefix(err, "%s: ", what);
    return rc ? SNE_ERR_HTTP : SNE_OK;
}

sne_err sne_fetch_post_export(sne_fetch *f, const char *request_json, sne_export_status *st,
                              double *retry_after, sne_error *err)
{
    sne_fetch_call c = {.method = "POST", .json = request_json};
    sne_buf body = {0};
    snprintf(c.what, sizeof(c.what), "POST /exports");
    sne_err rc = sne_fetch_call_url(&c, err, f->api, "/exports", "", "");
    if (!rc)
        rc = sne_fetch_call_run(f, &c, &body, err);
    if (!rc)
        rc = parse_status_body(&body, c.what, st, err);
    if (retry_after)
        *retry_after = c.retry_after;
    sne_buf_free(&body);
    return rc;
}

sne_err sne_fetch_status(sne_fetch *f, const char *numero, sne_export_status *st,
                         double *retry_after, sne_error *err)
{
    char what[SNE_FETCH_WHAT_MAX], path[SNE_NUMERO_MAX + 16];
    sne_buf body = {0};
    if (!sne_numero_valid(numero))
        return sne_error_set(err, SNE_ERR_USAGE, 0, "bad export number");
    snprintf(what, sizeof(what), "GET /exports/%s", numero);
    snprintf(path, sizeof(path), "/exports/%s", numero); /* fits: the number is valid */
    sne_err rc = sne_fetch_get_json(f, what, path, &body, retry_after, err);
    if (!rc)
        rc = parse_status_body(&body, what, st, err);
    sne_buf_free(&body);
    return rc;
}

sne_err sne_fetch_delete(sne_fetch *f, const char *numero, sne_error *err)
{
    if (!sne_numero_valid(numero))
        return sne_error_set(err, SNE_ERR_USAGE, 0, "bad export number");
    sne_fetch_call c = {.method = "DELETE"};
    snprintf(c.what, sizeof(c.what), "DELETE /exports/%s", numero);
    sne_err rc = sne_fetch_call_url(&c, err, f->api, "/exports/", numero, "");
    return rc ? rc : sne_fetch_call_run(f, &c, NULL, err);
}

/* Whether a status's fichier.url may be followed: a path on this server (never another host:
 * credentials go with it), printable, without a fragment. */
static bool file_path_ok(const char *path)
{
    if (!path || path[0] != '/' || path[1] == '/' || strlen(path) >= FILE_PATH_MAX)
        return false;
    for (const char *p = path; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '#' || *p == '\\')
            return false;
    return true;
}

sne_err sne_fetch_download(sne_fetch *f, const char *numero, const char *path, uint64_t offset,
                           uint64_t size, const char *etag_sha256, sne_fetch_sink_fn sink,
                           void *sink_ctx, sne_error *err)
{
    if (!sne_numero_valid(numero))
        return sne_error_set(err, SNE_ERR_USAGE, 0, "bad export number");
    if (offset > size)
        return sne_error_set(err, SNE_ERR_USAGE, 0, "download offset past the end");
    sne_fetch_download_state d = {
        .next = offset, .size = size, .sha256 = etag_sha256, .sink = sink, .sink_ctx = sink_ctx};
    sne_fetch_call c = {.method = "GET", .dl = &d};
    snprintf(c.what, sizeof(c.what), "GET /exports/%s/fichier", numero);
    sne_err rc = file_path_ok(path)
                     ? sne_fetch_call_url(&c, err, f->origin, path, "", "")
                     : sne_fetch_call_url(&c, err, f->api, "/exports/", numero, "/fichier");
    if (rc || offset == size)
        return rc;
    return sne_fetch_call_run(f, &c, NULL, err);
}
