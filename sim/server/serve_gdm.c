/* serve_gdm.c: paging over the register's movement list with the GDM filters. */
#include "serve_gdm.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/sim_geo.h"
#include "serve_http.h"

#define MAX_CODES    128
#define MAX_LINE     4096
#define SEVEN_DAYS   (7LL * 24 * 3600 * 1000)
#define MAX_RESPONSE (4u * 1024 * 1024)

typedef struct codes {
    size_t n;
    char v[MAX_CODES][17];
} codes;

typedef struct query {
    const char *depuis, *jusque, *curseur;
    int repeated; /* depuis/jusque/curseur given twice */
    int bad;      /* an invalid code or too many */
    char bad_what[64];
    codes deps, coms, guichets;
} query;

static int is_guichet(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 16)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]))
            return 0;
    return 1;
}

/* Adds the comma-separated items of `value` to `set`, each checked by `valid`. */
static void add_codes(query *q, codes *set, const char *name, const char *value,
                      int (*valid)(const char *))
{
    const char *p = value ? value : "";
    for (;;) {
        size_t n = strcspn(p, ",");
        char item[17];
        if (n == 0 || n >= sizeof(item) || set->n >= MAX_CODES) {
            q->bad = 1;
            snprintf(q->bad_what, sizeof(q->bad_what), "%s", name);
            return;
        }
        memcpy(item, p, n);
        item[n] = '\0';
        if (!valid(item)) {
            q->bad = 1;
            snprintf(q->bad_what, sizeof(q->bad_what), "%s", name);
            return;
        }
        memcpy(set->v[set->n++], item, n + 1);
        if (p[n] == '\0')
            return;
        p += n + 1;
    }
}

static enum MHD_Result on_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                              const char *value)
{
    query *q = cls;
    (void)kind;
    const char **one = NULL;
    if (strcmp(key, "depuis") == 0)
        one = &q->depuis;
    else if (strcmp(key, "jusque") == 0)
        one = &q->jusque;
    else if (strcmp(key, "curseur") == 0)
        one = &q->curseur;
    if (one != NULL) {
        if (*one != NULL)
            q->repeated = 1;
        *one = value ? value : "";
    } else if (strcmp(key, "departements") == 0) {
        add_codes(q, &q->deps, key, value, sim_is_dept_code);
    } else if (strcmp(key, "communes") == 0) {
        add_codes(q, &q->coms, key, value, sim_is_commune_code);
    } else if (strcmp(key, "guichetsExclus") == 0) {
        add_codes(q, &q->guichets, key, value, is_guichet);
    } else if (!q->bad) {
        q->bad = 1;
        snprintf(q->bad_what, sizeof(q->bad_what), "unknown parameter");
    }
    return MHD_YES;
}

static int in_set(const codes *set, const char *s, size_t n)
{
    for (size_t i = 0; i < set->n; i++)
        if (strlen(set->v[i]) == n && strncmp(set->v[i], s, n) == 0)
            return 1;
    return 0;
}

typedef struct mv_line {
    char *num, *date, *communes, *guichet; /* borrowed from the line buffer */
    int64_t ms;
} mv_line;

static int split_line(char *s, mv_line *l)
{
    s[strcspn(s, "\r\n")] = '\0';
    memset(l, 0, sizeof(*l));
    l->num = s;
    char *t = strchr(s, '\t');
    if (t == NULL)
        return -1;
    *t = '\0';
    l->date = t + 1;
    if ((t = strchr(l->date, '\t')) != NULL) {
        *t = '\0';
        l->communes = t + 1;
        if ((t = strchr(l->communes, '\t')) != NULL) {
            *t = '\0';
            l->guichet = t + 1;
        }
    }
    if (strlen(l->num) != 18)
        return -1;
    for (int i = 0; i < 18; i++)
        if (!isdigit((unsigned char)l->num[i]) && !isupper((unsigned char)l->num[i]))
            return -1;
    return serve_time_parse(l->date, &l->ms);
}

/* 1 when the commune `code` (5 characters, not NUL-terminated) or its department is asked for. */
static int commune_wanted(const query *q, const char *code)
{
    char dep[4];
    sim_commune_dept(code, dep);
    return in_set(&q->coms, code, 5) || in_set(&q->deps, dep, strlen(dep));
}

static int match_location(const query *q, const mv_line *l)
{
    if (q->deps.n == 0 && q->coms.n == 0)
        return 1;
    if (l->communes != NULL && l->communes[0] != '\0') {
        const char *p = l->communes;
        for (;;) {
            size_t n = strcspn(p, ",");
            if (n == 5 && commune_wanted(q, p))
                return 1;
            if (p[n] == '\0')
                return 0;
            p += n + 1;
        }
    }
    char dep[4], com_dep[4];
    sim_numunique_dept(l->num, dep);
    if (in_set(&q->deps, dep, strlen(dep)))
        return 1;
    for (size_t i = 0; i < q->coms.n; i++) {
        sim_commune_dept(q->coms.v[i], com_dep);
        if (strcmp(com_dep, dep) == 0)
            return 1;
    }
    return 0;
}

static int excluded(const query *q, const mv_line *l)
{
    if (q->guichets.n == 0)
        return 0;
    if (l->guichet != NULL && l->guichet[0] != '\0')
        return in_set(&q->guichets, l->guichet, strlen(l->guichet));
    /* The trailing guichet of a numUnique: its last letter and the digits after it
     * ("0750826000006G2416" -> "G2416"). */
    for (size_t i = 18; i-- > 0;)
        if (isupper((unsigned char)l->num[i]))
            return in_set(&q->guichets, l->num + i, 18 - i);
    return 0;
}

/* The register's snapshot instant (register.txt "snapshot=..."); -1 when unknown. */
static int register_snapshot(const char *data_dir, int64_t *ms)
{
    char path[4096], line[256];
    int rc = -1;
    snprintf(path, sizeof(path), "%s/register.txt", data_dir);
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return -1;
    while (rc != 0 && fgets(line, sizeof(line), fp) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        if (strncmp(line, "snapshot=", 9) == 0)
            rc = serve_time_parse(line + 9, ms);
    }
    fclose(fp);
    return rc;
}

enum MHD_Result serve_gdm(const serve_gdm_config *cfg, struct MHD_Connection *c)
{
    query *q = calloc(1, sizeof(*q));
    serve_buf out;
    FILE *fp = NULL;
    char *buf = NULL;
    enum MHD_Result ret;
    int64_t depuis, jusque = INT64_MAX;
    unsigned long long start = 0;
    serve_buf_init(&out, MAX_RESPONSE);
    if (q == NULL) {
        ret = serve_problem(c, 503, 1, "out of memory");
        goto out;
    }
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, on_arg, q);
    if (q->bad || q->repeated) {
        char msg[128];
        snprintf(msg, sizeof(msg), "invalid query: %s",
                 q->repeated ? "a parameter is repeated" : q->bad_what);
        ret = serve_problem(c, 400, 0, msg);
        goto out;
    }
    if (q->depuis == NULL || serve_time_parse(q->depuis, &depuis) != 0) {
        ret = serve_problem(c, 400, 0, "depuis is required, as an xs:dateTime");
        goto out;
    }
    if (q->jusque != NULL && (serve_time_parse(q->jusque, &jusque) != 0 || jusque < depuis)) {
        ret = serve_problem(c, 400, 0, "jusque must be an xs:dateTime not before depuis");
        goto out;
    }
    if (q->curseur != NULL) {
        char *end;
        if (q->curseur[0] != 'c' || !isdigit((unsigned char)q->curseur[1]) ||
            (start = strtoull(q->curseur + 1, &end, 10), *end != '\0')) {
            ret = serve_problem(c, 400, 0, "invalid curseur");
            goto out;
        }
    }

    char path[4096];
    snprintf(path, sizeof(path), "%s/mouvements.tsv", cfg->data_dir);
    fp = fopen(path, "r");
    if (fp == NULL && errno != ENOENT) {
        serve_log("gdm: cannot open mouvements.tsv: %s", strerror(errno));
        ret = serve_problem(c, 500, 0, "the movement list cannot be read");
        goto out;
    }
    buf = malloc(MAX_LINE);
    if (buf == NULL) {
        ret = serve_problem(c, 503, 1, "out of memory");
        goto out;
    }
    int64_t newest = INT64_MIN;
    unsigned long long lineno = 0, next = 0, malformed = 0;
    size_t listed = 0;
    serve_buf_str(&out, "{\"mouvements\":[");
    while (fp != NULL && fgets(buf, MAX_LINE, fp) != NULL) {
        mv_line l;
        unsigned long long this_line = lineno++;
        if (strchr(buf, '\n') == NULL && !feof(fp)) { /* too long: skip the rest */
            int ch;
            while ((ch = fgetc(fp)) != EOF && ch != '\n')
                ;
            malformed++;
            continue;
        }
        if (buf[0] == '\n' || buf[0] == '\0')
            continue;
        if (split_line(buf, &l) != 0) {
            malformed++;
            continue;
        }
        if (l.ms > newest)
            newest = l.ms;
        if (this_line < start || next != 0 || l.ms < depuis || l.ms > jusque ||
            !match_location(q, &l) || excluded(q, &l))
            continue;
        if (listed == cfg->page_size) {
            next = this_line;
            continue;
        }
        serve_buf_str(&out, listed ? ",{\"numUnique\":" : "{\"numUnique\":");
        serve_buf_json(&out, l.num);
        serve_buf_str(&out, ",\"dateMouvement\":");
        serve_buf_json(&out, l.date);
        serve_buf_str(&out, "}");
        listed++;
    }
    if (fp != NULL && ferror(fp)) {
        serve_log("gdm: read error on mouvements.tsv");
        ret = serve_problem(c, 500, 0, "the movement list cannot be read");
        goto out;
    }
    if (malformed > 0)
        serve_log("gdm: %llu malformed lines in mouvements.tsv skipped", malformed);
    int64_t snap;
    if (register_snapshot(cfg->data_dir, &snap) == 0 && snap > newest)
        newest = snap;
    if (newest == INT64_MIN)
        newest = (int64_t)time(NULL) * 1000;
    if (depuis < newest - SEVEN_DAYS) {
        ret = serve_problem(c, 400, 0, "depuis is more than 7 days back");
        goto out;
    }
    serve_buf_str(&out, "]");
    if (next != 0)
        serve_buf_printf(&out, ",\"prochainCurseur\":\"c%llu\"", next);
    serve_buf_str(&out, "}");
    if (out.failed)
        ret = serve_problem(c, 500, 0, "page too large: lower --gdm-page-size");
    else
        ret = serve_reply(c, 200, "application/json", out.p, out.len, 0, NULL);
out:
    if (fp != NULL)
        fclose(fp);
    free(buf);
    free(q);
    serve_buf_free(&out);
    return ret;
}
