/* serve_gdm.c: paging over the register's movement list with the GDM filters. */
#include "serve_gdm.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve_base.h"
#include "serve_reply.h"
#include "common/buffer.h"
#include "common/isotime.h"
#include "core/sim_geo.h"

#define MAX_CODES    128
#define MAX_LINE     4096
#define SEVEN_DAYS   (7LL * 24 * 3600 * 1000)
#define MAX_RESPONSE (4u * 1024 * 1024)

static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* Parses "YYYY-MM-DDTHH:MM:SS[.fraction][Z|(+|-)HH:MM]" (no zone: UTC) into milliseconds since
 * the epoch. Returns 0, or -1 when `s` is not such a value. */
static int time_parse(const char *s, int64_t *epoch_ms)
{
    int y, mo, d, h, mi, se, ms = 0;
    const char *p = s;
    if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
        digits(&p, 2, &d) || *p++ != 'T' || digits(&p, 2, &h) || *p++ != ':' ||
        digits(&p, 2, &mi) || *p++ != ':' || digits(&p, 2, &se))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
        return -1;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        int scale = 100;
        while (isdigit((unsigned char)*p)) {
            ms += (*p - '0') * scale;
            scale /= 10;
            p++;
        }
    }
    int64_t offset_s = 0;
    if (*p == 'Z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;
        p++;
        if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 14 || om > 59)
            return -1;
        offset_s = sign * (int64_t)(oh * 3600 + om * 60);
    }
    if (*p != '\0')
        return -1;
    struct tm tm = {0};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    time_t t = timegm(&tm);
    *epoch_ms = ((int64_t)t - offset_s) * 1000 + ms;
    return 0;
}

typedef struct codes {
    size_t n;
    char v[MAX_CODES][17];
} codes;

typedef struct query {
    const char *depuis, *jusque, *curseur; /* borrowed from libmicrohttpd */
    int64_t from, to;                      /* depuis and jusque (ms), parsed */
    unsigned long long start;              /* the line of curseur, 0 without one */
    int64_t cursor_to;                     /* the sequence's jusque carried by curseur, or -1 */
    int repeated;                          /* depuis/jusque/curseur given twice */
    int bad;                               /* an invalid code or too many */
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

/* One listed query value being read into a set of codes. */
typedef struct code_taker {
    codes *set;
    int (*valid)(const char *);
} code_taker;

static int take_code(const char *item, void *ctx)
{
    code_taker *t = ctx;
    if (t->set->n >= MAX_CODES || !t->valid(item))
        return -1;
    memcpy(t->set->v[t->set->n++], item, strlen(item) + 1);
    return 0;
}

/* Adds the comma-separated items of `value` to `set`, each checked by `valid`. */
static void add_codes(query *q, codes *set, const char *name, const char *value,
                      int (*valid)(const char *))
{
    code_taker t = {set, valid};
    if (serve_each_listed(value, 16, take_code, &t) != 0) {
        q->bad = 1;
        snprintf(q->bad_what, sizeof(q->bad_what), "%s", name);
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
    return time_parse(l->date, &l->ms);
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
            rc = time_parse(line + 9, ms);
    }
    fclose(fp);
    return rc;
}

/* curseur "c<line>.<jusque ms>" into q->start and q->cursor_to: the line of the page's first
 * movement and the window's end fixed by the sequence's first page. 0, or -1 when malformed. */
static int parse_cursor(query *q)
{
    char *end;
    const char *p = q->curseur;
    if (p[0] != 'c' || !isdigit((unsigned char)p[1]))
        return -1;
    q->start = strtoull(p + 1, &end, 10);
    if (*end != '.' || !isdigit((unsigned char)end[1]))
        return -1;
    p = end + 1;
    unsigned long long to = strtoull(p, &end, 10);
    if (*end != '\0' || to > INT64_MAX)
        return -1;
    q->cursor_to = (int64_t)to;
    return 0;
}

/* The query's parameters checked and parsed into q; -1 when a 400 was queued (*ret). */
static int parse_query(serve_exchange *ex, query *q, enum MHD_Result *ret)
{
    char msg[128];
    const char *problem = NULL;
    MHD_get_connection_values(ex->conn, MHD_GET_ARGUMENT_KIND, on_arg, q);
    q->to = INT64_MAX;
    if (q->bad || q->repeated) {
        snprintf(msg, sizeof(msg), "invalid query: %s",
                 q->repeated ? "a parameter is repeated" : q->bad_what);
        problem = msg;
    } else if (q->depuis == NULL || time_parse(q->depuis, &q->from) != 0) {
        problem = "depuis is required, as an xs:dateTime";
    } else if (q->jusque != NULL && (time_parse(q->jusque, &q->to) != 0 || q->to < q->from)) {
        problem = "jusque must be an xs:dateTime not before depuis";
    } else if (q->curseur != NULL && parse_cursor(q) != 0) {
        problem = "invalid curseur";
    }
    if (problem == NULL)
        return 0;
    *ret = serve_problem(ex, 400, 0, problem);
    return -1;
}

/* The page being built. */
typedef struct page {
    sne_buf out;                  /* the answer's JSON */
    sne_err err;                  /* the first append that failed (too large); sticky */
    size_t listed;                /* movements on the page */
    unsigned long long next;      /* line of the next page's first movement, 0 if none */
    int64_t newest;               /* the newest dateMouvement read (ms), INT64_MIN if none */
    unsigned long long malformed; /* lines skipped */
} page;

static void page_add(page *pg, const mv_line *l)
{
    sne_err rc = pg->err;
    if (!rc)
        rc = sne_buf_append_str(&pg->out, pg->listed ? ",{\"numUnique\":" : "{\"numUnique\":");
    if (!rc)
        rc = serve_json_string(&pg->out, l->num);
    if (!rc)
        rc = sne_buf_append_str(&pg->out, ",\"dateMouvement\":");
    if (!rc)
        rc = serve_json_string(&pg->out, l->date);
    if (!rc)
        rc = sne_buf_append_byte(&pg->out, '}');
    pg->err = rc;
    pg->listed++;
}

/* Reads one line of at most MAX_LINE bytes into buf; a longer one is skipped whole (returns 1).
 * Returns 0 for a line, -1 at the end. */
static int read_line(FILE *fp, char *buf)
{
    if (fgets(buf, MAX_LINE, fp) == NULL)
        return -1;
    if (strchr(buf, '\n') == NULL && !feof(fp)) {
        int ch;
        while ((ch = fgetc(fp)) != EOF && ch != '\n')
            ;
        return 1;
    }
    return 0;
}

/* Lists the movements of fp that the query asks for, from its cursor on, one page of them. */
static void scan(const serve_gdm_config *cfg, const query *q, FILE *fp, char *buf, page *pg)
{
    unsigned long long lineno = 0;
    int got;
    while ((got = read_line(fp, buf)) >= 0) {
        mv_line l;
        unsigned long long this_line = lineno++;
        if (got > 0) {
            pg->malformed++;
            continue;
        }
        if (buf[0] == '\n' || buf[0] == '\0')
            continue;
        if (split_line(buf, &l) != 0) {
            pg->malformed++;
            continue;
        }
        if (l.ms > pg->newest)
            pg->newest = l.ms;
        if (this_line < q->start || pg->next != 0 || l.ms < q->from || l.ms > q->to ||
            !match_location(q, &l) || excluded(q, &l))
            continue;
        if (pg->listed == cfg->page_size)
            pg->next = this_line;
        else
            page_add(pg, &l);
    }
}

/* The newest date of the register: the later of its snapshot and its newest movement, or now. */
static int64_t newest_date(const serve_gdm_config *cfg, const page *pg)
{
    int64_t snap, newest = pg->newest;
    if (register_snapshot(cfg->data_dir, &snap) == 0 && snap > newest)
        newest = snap;
    return newest == INT64_MIN ? (int64_t)time(NULL) * 1000 : newest;
}

/* Reads mouvements.tsv (a missing file has no movement) into pg; -1 when a 500 was queued. */
static int read_movements(const serve_gdm_config *cfg, serve_exchange *ex, const query *q, page *pg,
                          enum MHD_Result *ret)
{
    char path[4096];
    char *buf = NULL;
    int rc = -1;
    snprintf(path, sizeof(path), "%s/mouvements.tsv", cfg->data_dir);
    FILE *fp = fopen(path, "r");
    if (fp == NULL && errno != ENOENT) {
        serve_log("gdm: cannot open mouvements.tsv: %s", strerror(errno));
        *ret = serve_problem(ex, 500, 0, "the movement list cannot be read");
        goto out;
    }
    if ((buf = malloc(MAX_LINE)) == NULL) {
        *ret = serve_problem(ex, 503, 1, "out of memory");
        goto out;
    }
    if (fp != NULL)
        scan(cfg, q, fp, buf, pg);
    if (fp != NULL && ferror(fp)) {
        serve_log("gdm: read error on mouvements.tsv");
        *ret = serve_problem(ex, 500, 0, "the movement list cannot be read");
        goto out;
    }
    if (pg->malformed > 0)
        serve_log("gdm: %llu malformed lines in mouvements.tsv skipped", pg->malformed);
    rc = 0;
out:
    if (fp != NULL)
        fclose(fp);
    free(buf);
    return rc;
}

/* The page's answer: 400 when depuis is too far back, 500 when the page is too large. */
static enum MHD_Result answer(const serve_gdm_config *cfg, serve_exchange *ex, const query *q,
                              page *pg)
{
    int64_t now = newest_date(cfg, pg);
    if (q->from < now - SEVEN_DAYS)
        return serve_problem(ex, 400, 0, "depuis is more than 7 days back");
    /* The window's end: the jusque asked for (or carried by the cursor), else the server's
     * instant, the register's newest date, which no movement listed can be after. */
    int64_t jusque = q->to != INT64_MAX ? q->to : now;
    char stamp[SNE_ISOTIME_UTC_LEN];
    sne_isotime_format_utc(jusque, stamp);
    sne_err rc = pg->err;
    if (!rc)
        rc = sne_buf_printf(&pg->out, "],\"jusque\":\"%s\"", stamp);
    if (!rc && pg->next != 0)
        rc = sne_buf_printf(&pg->out, ",\"prochainCurseur\":\"c%llu.%lld\"", pg->next,
                            (long long)jusque);
    if (!rc)
        rc = sne_buf_append_byte(&pg->out, '}');
    if (rc)
        return serve_problem(ex, 500, 0, "page too large: lower --gdm-page-size");
    return serve_reply(ex, 200, "application/json", (const char *)pg->out.data, pg->out.len, 0,
                       NULL, NULL);
}

enum MHD_Result serve_gdm(const serve_gdm_config *cfg, serve_exchange *ex)
{
    enum MHD_Result ret;
    page pg = {.newest = INT64_MIN};
    query *q = calloc(1, sizeof(*q));
    sne_buf_init(&pg.out, MAX_RESPONSE);
    if (q == NULL) {
        ret = serve_problem(ex, 503, 1, "out of memory");
        goto out;
    }
    q->cursor_to = -1;
    if (parse_query(ex, q, &ret) != 0)
        goto out;
    if (q->cursor_to >= 0 && q->cursor_to < q->to)
        q->to = q->cursor_to;
    pg.err = sne_buf_append_str(&pg.out, "{\"mouvements\":[");
    if (read_movements(cfg, ex, q, &pg, &ret) != 0)
        goto out;
    ret = answer(cfg, ex, q, &pg);
out:
    free(q);
    sne_buf_free(&pg.out);
    return ret;
}
