/* fetch_attempt.c: one request of a call over the handle's libcurl easy handle
 * (fetch_internal.h): the transport options (TLS, timeouts, no redirects), the request's headers
 * (the bearer token in one of them only), the response headers kept, and what the answer comes
 * to. A download's body goes through fetch_download.c. */
#include "fetch_internal.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* --- the answer's headers and body ------------------------------------------------------------ */

static void header_value(char *dst, const char *src, size_t n)
{
    while (n > 0 && (*src == ' ' || *src == '\t')) {
        src++;
        n--;
    }
    while (n > 0 && (src[n - 1] == '\r' || src[n - 1] == '\n' || src[n - 1] == ' '))
        n--;
    if (n >= SNE_FETCH_HDR_VALUE)
        n = SNE_FETCH_HDR_VALUE - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static bool header_is(const char *line, size_t n, const char *name, const char **value,
                      size_t *vlen)
{
    size_t k = strlen(name);
    if (n <= k || strncasecmp(line, name, k) != 0 || line[k] != ':')
        return false;
    *value = line + k + 1;
    *vlen = n - k - 1;
    return true;
}

static size_t on_header(char *line, size_t size, size_t nitems, void *ud)
{
    sne_fetch_attempt *a = ud;
    size_t n = size * nitems;
    const char *v;
    size_t vn;
    if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) { /* a new response (after a 100, say) */
        a->retry_after[0] = a->content_type[0] = a->etag[0] = a->content_range[0] = '\0';
    } else if (header_is(line, n, "Retry-After", &v, &vn)) {
        header_value(a->retry_after, v, vn);
    } else if (header_is(line, n, "Content-Type", &v, &vn)) {
        header_value(a->content_type, v, vn);
    } else if (header_is(line, n, "ETag", &v, &vn)) {
        header_value(a->etag, v, vn);
    } else if (header_is(line, n, "Content-Range", &v, &vn)) {
        header_value(a->content_range, v, vn);
    }
    return n;
}

/* A JSON answer's type: none (the parser decides), application/json or any +json. */
static bool is_json_type(const char *ct)
{
    size_t n = strcspn(ct, "; ");
    return n == 0 || (n >= 4 && strncasecmp(ct + n - 4, "json", 4) == 0 &&
                      (n == 4 || ct[n - 5] == '/' || ct[n - 5] == '+'));
}

/* An export document's type: application/xml or text/xml, or any +xml. */
static bool is_xml_type(const char *ct)
{
    size_t n = strcspn(ct, "; ");
    return n >= 4 && strncasecmp(ct + n - 3, "xml", 3) == 0 &&
           (ct[n - 4] == '/' || ct[n - 4] == '+');
}

size_t sne_fetch_keep_body(sne_fetch_attempt *a, const char *data, size_t n)
{
    if (a->body_over)
        return n;
    if (sne_buf_append(&a->body, data, n) != SNE_OK)
        a->body_over = true; /* too large to be ours: parsed as absent, never grown */
    return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    sne_fetch_attempt *a = ud;
    size_t n = size * nmemb;
    return a->dl ? sne_fetch_download_body(a, data, n) : sne_fetch_keep_body(a, data, n);
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    sne_fetch_attempt *a = ud;
    return sne_fetch_cancelled(a->f) ? 1 : 0;
}

/* --- the request ------------------------------------------------------------------------------ */

/* TLS 1.2 at least, the peer and its host name verified, the client certificate and CA file
 * given, and the handshake watched (tls_watch.h). */
static void set_tls_options(sne_fetch *f)
{
    CURL *h = f->curl;
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
    if (f->o.cacert)
        curl_easy_setopt(h, CURLOPT_CAINFO, f->o.cacert);
    if (f->o.cert) {
        curl_easy_setopt(h, CURLOPT_SSLCERT, f->o.cert);
        curl_easy_setopt(h, CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (f->o.key) {
        curl_easy_setopt(h, CURLOPT_SSLKEY, f->o.key);
        curl_easy_setopt(h, CURLOPT_SSLKEYTYPE, "PEM");
    }
    sne_tls_seen_reset(&f->tls);
    (void)sne_tls_watch(h, &f->tls); /* without it, the TLS hints rest on the CURLcode alone */
}

/* The transport options of one request (curl_easy_reset() drops the previous request's).
 * `curl_msg` (CURL_ERROR_SIZE bytes) receives curl's explanation of a failure. */
static void set_options(sne_fetch *f, const sne_fetch_call *c, sne_fetch_attempt *a, char *curl_msg)
{
    CURL *h = f->curl;
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, c->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    set_tls_options(f);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, f->o.connect_timeout);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, f->o.low_speed_limit);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, f->o.low_speed_time);
    if (!c->dl)
        curl_easy_setopt(h, CURLOPT_TIMEOUT, f->o.request_timeout);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "snesync/0.1");
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, a);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_msg);
}

/* Appends one header line; on failure frees the whole list and leaves it NULL. */
static bool add_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *l = curl_slist_append(*list, line);
    if (!l) {
        curl_slist_free_all(*list);
        *list = NULL;
        return false;
    }
    *list = l;
    return true;
}

/* Sets the request's method and body, and returns its headers (owned by the caller, who frees
 * them after the transfer); NULL when out of memory. */
static struct curl_slist *request_headers(sne_fetch *f, const sne_fetch_call *c)
{
    CURL *h = f->curl;
    struct curl_slist *hdrs = NULL;
    char auth[2048 + 32], range[96], ifrange[80];
    bool ok = add_header(&hdrs, c->dl ? "Accept: application/gzip, application/problem+json"
                                      : "Accept: application/json, application/problem+json");
    if (ok && f->o.token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", f->o.token);
        ok = add_header(&hdrs, auth);
        memset(auth, 0, sizeof(auth));
    }
    if (strcmp(c->method, "POST") == 0) {
        ok = ok && add_header(&hdrs, "Content-Type: application/json") &&
             add_header(&hdrs, "Expect:");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, c->json);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)strlen(c->json));
    } else if (strcmp(c->method, "DELETE") == 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
    }
    if (ok && c->dl && c->dl->next > 0) {
        snprintf(range, sizeof(range), "Range: bytes=%llu-", (unsigned long long)c->dl->next);
        ok = add_header(&hdrs, range);
        if (ok && c->dl->sha256) {
            snprintf(ifrange, sizeof(ifrange), "If-Range: \"%s\"", c->dl->sha256);
            ok = add_header(&hdrs, ifrange);
        }
    }
    return ok ? hdrs : NULL;
}

/* --- the verdict ------------------------------------------------------------------------------ */

/* An HTTP answer: a success, or the server's refusal with its problem detail. */
static sne_fetch_outcome judge_answer(const sne_fetch_call *c, sne_fetch_attempt *a, char *why,
                                      size_t whylen)
{
    long st = a->status;
    if (st / 100 == 2) {
        if (c->dl && c->dl->next < c->dl->size) {
            snprintf(why, whylen, "%s: the answer ended at byte %llu of %llu", c->what,
                     (unsigned long long)c->dl->next, (unsigned long long)c->dl->size);
            return SNE_FETCH_RETRY;
        }
        if (c->dl)
            return SNE_FETCH_OK;
        bool xml = c->answer == SNE_FETCH_ANSWER_XML;
        if (!(xml ? is_xml_type(a->content_type) : is_json_type(a->content_type))) {
            /* a proxy's page: like a 503 */
            snprintf(why, whylen, "%s: the answer is not %s (Content-Type '%.60s')", c->what,
                     xml ? "XML" : "JSON", a->content_type);
            return SNE_FETCH_RETRY;
        }
        if (a->body_over) {
            snprintf(why, whylen, "%s: the answer is over %zu bytes", c->what, a->body.cap);
            return SNE_FETCH_FINAL;
        }
        return SNE_FETCH_OK;
    }
    sne_fetch_refusal_text(c->what, a, why, whylen);
    return sne_fetch_status_transient(st) ? SNE_FETCH_RETRY : SNE_FETCH_FINAL;
}

bool sne_fetch_status_transient(long status)
{
    return status == 429 || status == 502 || status == 503 || status == 504;
}

/* A download that libcurl ended after the server's 2xx and some of the archive: every announced
 * byte is here (the server's Content-Length was larger: the caller's size and sha256 checks
 * decide), or the rest is to be asked for from where it stopped. */
static sne_fetch_outcome download_cut(const sne_fetch_call *c, sne_fetch_attempt *a, CURLcode cc,
                                      const char *text, char *why, size_t whylen)
{
    if (c->dl->next == c->dl->size)
        return SNE_FETCH_OK;
    snprintf(why, whylen, "%s: %s after %llu bytes", c->what, text, (unsigned long long)c->dl->got);
    a->status = -(long)cc; /* a network failure, should the retries run out */
    return SNE_FETCH_RETRY;
}

/* What the transfer that ended with `cc` (curl's explanation in `text`) comes to. */
static sne_fetch_outcome judge_transfer(sne_fetch *f, const sne_fetch_call *c, sne_fetch_attempt *a,
                                        CURLcode cc, const char *text, char *why, size_t whylen)
{
    if (c->dl && c->dl->stop) {
        snprintf(why, whylen, "%s", a->err ? a->err->message : "download stopped");
        return SNE_FETCH_SINK;
    }
    if (c->dl && c->dl->not_archive) {
        snprintf(why, whylen, "%s: the answer is not the archive (Content-Type '%.60s')", c->what,
                 a->content_type[0] ? a->content_type : "none");
        return SNE_FETCH_RETRY;
    }
    if (cc == CURLE_ABORTED_BY_CALLBACK || sne_fetch_cancelled(f)) {
        snprintf(why, whylen, "%s: cancelled", c->what);
        a->status = -1;
        return SNE_FETCH_FINAL;
    }
    bool cut_download = c->dl && c->dl->got > 0 && a->status / 100 == 2;
    if (cc != CURLE_OK && !cut_download) {
        a->status = -(long)cc; /* remembered as a network failure */
        return sne_fetch_transport_failure(f, c->what, cc, text, why, whylen);
    }
    if (cc != CURLE_OK)
        return download_cut(c, a, cc, text, why, whylen);
    return judge_answer(c, a, why, whylen);
}

/* Performs the request prepared on the handle with the headers `hdrs` (freed here), and notes
 * the answer's status and whether a time limit stopped it. */
static CURLcode perform(sne_fetch *f, sne_fetch_attempt *a, struct curl_slist *hdrs)
{
    CURL *h = f->curl;
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    CURLcode cc = curl_easy_perform(h);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    curl_slist_free_all(hdrs);
    a->too_slow = cc == CURLE_OPERATION_TIMEDOUT;
    if (cc == CURLE_OK || cc == CURLE_WRITE_ERROR || cc == CURLE_PARTIAL_FILE)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &a->status);
    f->stats.last_status = (int)a->status;
    return cc;
}

sne_fetch_outcome sne_fetch_attempt_once(sne_fetch *f, sne_fetch_call *c, sne_fetch_attempt *a,
                                         char *why, size_t whylen)
{
    char curl_msg[CURL_ERROR_SIZE] = "", text[CURL_ERROR_SIZE + 32];
    if (c->dl)
        sne_fetch_download_restart(c->dl);
    set_options(f, c, a, curl_msg);
    struct curl_slist *hdrs = request_headers(f, c);
    if (!hdrs) {
        curl_easy_setopt(f->curl, CURLOPT_ERRORBUFFER, NULL);
        snprintf(why, whylen, "%s: out of memory", c->what);
        a->status = -(long)CURLE_OUT_OF_MEMORY;
        return SNE_FETCH_FINAL;
    }
    CURLcode cc = perform(f, a, hdrs);
    sne_fetch_curl_text(cc, curl_msg, text, sizeof(text));
    return judge_transfer(f, c, a, cc, text, why, whylen);
}
