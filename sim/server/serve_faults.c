/* serve_faults.c: parsing and consuming the fault plan (grammar in serve.h). */
#include "serve_faults.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RULES 64

typedef struct rule {
    serve_point pt;
    serve_fault fault;
    uint64_t remaining; /* UINT64_MAX: always */
    uint64_t skip;      /* events still to let pass */
} rule;

struct serve_faults {
    pthread_mutex_t mu;
    size_t n;
    rule rules[MAX_RULES];
};

static const char *const point_names[SERVE_PT__COUNT] = {"post",   "status", "file",
                                                         "delete", "gdm",    "export"};

const char *serve_point_name(serve_point pt)
{
    return pt < SERVE_PT__COUNT ? point_names[pt] : "?";
}

const char *serve_fault_name(serve_fault_action a)
{
    switch (a) {
    case SERVE_FA_CODE:
        return "status code";
    case SERVE_FA_DELAY:
        return "delay";
    case SERVE_FA_CUT:
        return "cut";
    case SERVE_FA_NOTGZIP:
        return "notgzip";
    case SERVE_FA_ECHEC:
        return "echec";
    case SERVE_FA_SLOW:
        return "slow";
    case SERVE_FA_TRUNCATE:
        return "truncate";
    case SERVE_FA_BADSHA:
        return "badsha";
    case SERVE_FA_LONGER:
        return "longer";
    case SERVE_FA_SHORTER:
        return "shorter";
    case SERVE_FA_TRICKLE:
        return "trickle";
    case SERVE_FA_HTML:
        return "html";
    default:
        return "none";
    }
}

serve_faults *serve_faults_new(void)
{
    serve_faults *f = calloc(1, sizeof(*f));
    if (f != NULL)
        pthread_mutex_init(&f->mu, NULL);
    return f;
}

void serve_faults_free(serve_faults *f)
{
    if (f == NULL)
        return;
    pthread_mutex_destroy(&f->mu);
    free(f);
}

/* Parses a decimal number from [*p, end); advances *p. */
static int number(const char **p, const char *end, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (s >= end || !isdigit((unsigned char)*s))
        return -1;
    while (s < end && isdigit((unsigned char)*s)) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
        s++;
    }
    *p = s;
    *out = v;
    return 0;
}

static int word_is(const char *s, size_t n, const char *w)
{
    return strlen(w) == n && strncmp(s, w, n) == 0;
}

/* Parses one RULE in [s, end) (already trimmed). */
static int parse_rule(const char *s, const char *end, rule *r, char *err, size_t errlen)
{
    int len = (int)(end - s);
    const char *colon = memchr(s, ':', (size_t)(end - s));
    memset(r, 0, sizeof(*r));
    r->remaining = 1;
    if (colon == NULL) {
        snprintf(err, errlen, "fault rule '%.*s': expected POINT:ACTION", len, s);
        return -1;
    }
    int pt = -1;
    for (int i = 0; i < SERVE_PT__COUNT; i++)
        if (word_is(s, (size_t)(colon - s), point_names[i]))
            pt = i;
    if (pt < 0) {
        snprintf(err, errlen, "fault rule '%.*s': unknown point", len, s);
        return -1;
    }
    r->pt = (serve_point)pt;
    const char *a = colon + 1, *ae = a;
    while (ae < end && (isalnum((unsigned char)*ae)))
        ae++;
    size_t an = (size_t)(ae - a);
    int is_http = pt != SERVE_PT_EXPORT;
    int need_arg = 0, opt_arg = 0;
    if (an == 3 && isdigit((unsigned char)a[0]) && isdigit((unsigned char)a[1]) &&
        isdigit((unsigned char)a[2]) && is_http) {
        r->fault.action = SERVE_FA_CODE;
        r->fault.arg = (uint64_t)((a[0] - '0') * 100 + (a[1] - '0') * 10 + (a[2] - '0'));
        if (r->fault.arg < 400 || r->fault.arg > 599) {
            snprintf(err, errlen, "fault rule '%.*s': status must be 400..599", len, s);
            return -1;
        }
        opt_arg = 1;
    } else if (word_is(a, an, "delay") && is_http) {
        r->fault.action = SERVE_FA_DELAY;
        need_arg = 1;
    } else if (word_is(a, an, "cut") && pt == SERVE_PT_FILE) {
        r->fault.action = SERVE_FA_CUT;
        need_arg = 1;
    } else if (word_is(a, an, "notgzip") && pt == SERVE_PT_FILE) {
        r->fault.action = SERVE_FA_NOTGZIP;
    } else if (word_is(a, an, "longer") && pt == SERVE_PT_FILE) {
        r->fault.action = SERVE_FA_LONGER;
        opt_arg = 1;
    } else if (word_is(a, an, "shorter") && pt == SERVE_PT_FILE) {
        r->fault.action = SERVE_FA_SHORTER;
        opt_arg = 1;
    } else if (word_is(a, an, "trickle") && is_http) {
        r->fault.action = SERVE_FA_TRICKLE;
        opt_arg = 1;
    } else if (word_is(a, an, "html") && is_http) {
        r->fault.action = SERVE_FA_HTML;
    } else if (word_is(a, an, "echec") && !is_http) {
        r->fault.action = SERVE_FA_ECHEC;
        opt_arg = 1;
    } else if (word_is(a, an, "slow") && !is_http) {
        r->fault.action = SERVE_FA_SLOW;
        need_arg = 1;
    } else if (word_is(a, an, "truncate") && !is_http) {
        r->fault.action = SERVE_FA_TRUNCATE;
        opt_arg = 1;
    } else if (word_is(a, an, "badsha") && !is_http) {
        r->fault.action = SERVE_FA_BADSHA;
    } else {
        snprintf(err, errlen, "fault rule '%.*s': unknown action for point %s", len, s,
                 point_names[pt]);
        return -1;
    }
    const char *p = ae;
    if (p < end && *p == '@') {
        p++;
        uint64_t v;
        if (!(need_arg || opt_arg) || number(&p, end, &v)) {
            snprintf(err, errlen, "fault rule '%.*s': bad or unexpected @argument", len, s);
            return -1;
        }
        if (r->fault.action == SERVE_FA_CODE)
            r->fault.arg2 = v;
        else
            r->fault.arg = v;
    } else if (need_arg) {
        snprintf(err, errlen, "fault rule '%.*s': @argument required", len, s);
        return -1;
    }
    if (r->fault.action == SERVE_FA_ECHEC && r->fault.arg > SERVE_ECHEC_MESSAGE_MAX) {
        snprintf(err, errlen, "fault rule '%.*s': echec@N takes at most %d bytes", len, s,
                 SERVE_ECHEC_MESSAGE_MAX);
        return -1;
    }
    if (p < end && *p == '*') {
        p++;
        if (end - p >= 6 && strncmp(p, "always", 6) == 0) {
            r->remaining = UINT64_MAX;
            p += 6;
        } else if (number(&p, end, &r->remaining) || r->remaining == 0) {
            snprintf(err, errlen, "fault rule '%.*s': bad *count", len, s);
            return -1;
        }
    }
    if (p < end && *p == '+') {
        p++;
        if (number(&p, end, &r->skip)) {
            snprintf(err, errlen, "fault rule '%.*s': bad +skip", len, s);
            return -1;
        }
    }
    if (p != end) {
        snprintf(err, errlen, "fault rule '%.*s': unexpected text after the rule", len, s);
        return -1;
    }
    return 0;
}

int serve_faults_parse(serve_faults *f, const char *spec, char *err, size_t errlen)
{
    rule tmp[MAX_RULES];
    size_t n = 0;
    const char *p = spec;
    while (*p) {
        const char *e = p;
        while (*e && *e != ',')
            e++;
        const char *s = p, *t = e;
        while (s < t && isspace((unsigned char)*s))
            s++;
        while (t > s && isspace((unsigned char)t[-1]))
            t--;
        if (s < t) {
            if (f->n + n >= MAX_RULES) {
                snprintf(err, errlen, "too many fault rules (at most %d)", MAX_RULES);
                return -1;
            }
            if (parse_rule(s, t, &tmp[n], err, errlen))
                return -1;
            n++;
        }
        p = *e ? e + 1 : e;
    }
    pthread_mutex_lock(&f->mu);
    memcpy(&f->rules[f->n], tmp, n * sizeof(rule));
    f->n += n;
    pthread_mutex_unlock(&f->mu);
    return 0;
}

int serve_faults_load(serve_faults *f, const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        snprintf(err, errlen, "cannot open fault file %s: %s", path, strerror(errno));
        return -1;
    }
    char line[1024];
    int rc = 0;
    while (rc == 0 && fgets(line, sizeof(line), fp) != NULL) {
        char *hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        line[strcspn(line, "\r\n")] = '\0';
        rc = serve_faults_parse(f, line, err, errlen);
    }
    fclose(fp);
    return rc;
}

serve_fault serve_faults_take(serve_faults *f, serve_point pt, unsigned mask)
{
    serve_fault out = {SERVE_FA_NONE, 0, 0};
    if (f == NULL)
        return out;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n; i++) {
        rule *r = &f->rules[i];
        if (r->pt != pt || !(mask & SERVE_FM(r->fault.action)))
            continue;
        if (r->skip > 0) {
            r->skip--;
            continue;
        }
        if (r->remaining == 0 || out.action != SERVE_FA_NONE)
            continue;
        out = r->fault;
        if (r->remaining != UINT64_MAX)
            r->remaining--;
    }
    pthread_mutex_unlock(&f->mu);
    return out;
}
