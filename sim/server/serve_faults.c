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

static const char *const point_names[SERVE_PT__COUNT] = {"post", "status", "file",   "delete",
                                                         "gdm",  "export", "demande"};

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

#define STR_(x) #x
#define STR(x)  STR_(x)

/* Where an action may be used, and whether it takes an @argument. */
/* AT_BODY: a point whose answer has a body worth cutting (the archive, a GDM page, a read). */
enum { AT_HTTP, AT_BODY, AT_FILE, AT_EXPORT };
enum { ARG_NONE, ARG_NEEDED, ARG_OPTIONAL };

static const struct action {
    const char *word;
    serve_fault_action action;
    int at, arg;
} actions[] = {
    {"delay", SERVE_FA_DELAY, AT_HTTP, ARG_NEEDED},
    {"cut", SERVE_FA_CUT, AT_BODY, ARG_NEEDED},
    {"notgzip", SERVE_FA_NOTGZIP, AT_FILE, ARG_NONE},
    {"longer", SERVE_FA_LONGER, AT_FILE, ARG_OPTIONAL},
    {"shorter", SERVE_FA_SHORTER, AT_FILE, ARG_OPTIONAL},
    {"trickle", SERVE_FA_TRICKLE, AT_HTTP, ARG_OPTIONAL},
    {"html", SERVE_FA_HTML, AT_HTTP, ARG_NONE},
    {"echec", SERVE_FA_ECHEC, AT_EXPORT, ARG_OPTIONAL},
    {"slow", SERVE_FA_SLOW, AT_EXPORT, ARG_NEEDED},
    {"truncate", SERVE_FA_TRUNCATE, AT_EXPORT, ARG_OPTIONAL},
    {"badsha", SERVE_FA_BADSHA, AT_EXPORT, ARG_NONE},
};

/* "fault rule 'RULE': what" into err; returns -1. */
static int rule_error(const char *s, const char *end, const char *what, char *err, size_t errlen)
{
    snprintf(err, errlen, "fault rule '%.*s': %s", (int)(end - s), s, what);
    return -1;
}

static int allowed_at(int at, serve_point pt)
{
    if (at == AT_EXPORT || pt == SERVE_PT_EXPORT)
        return at == AT_EXPORT && pt == SERVE_PT_EXPORT;
    if (at == AT_BODY)
        return pt == SERVE_PT_FILE || pt == SERVE_PT_GDM || pt == SERVE_PT_DEMANDE;
    return at == AT_HTTP || pt == SERVE_PT_FILE;
}

/* The ACTION word [a, ae) at point r->pt into r->fault; *arg tells whether an @argument is
 * needed or allowed. */
static int parse_action(const char *a, const char *ae, rule *r, int *arg, const char **problem)
{
    size_t an = (size_t)(ae - a);
    if (an == 3 && isdigit((unsigned char)a[0]) && isdigit((unsigned char)a[1]) &&
        isdigit((unsigned char)a[2]) && r->pt != SERVE_PT_EXPORT) {
        r->fault.action = SERVE_FA_CODE;
        r->fault.arg = (uint64_t)((a[0] - '0') * 100 + (a[1] - '0') * 10 + (a[2] - '0'));
        *arg = ARG_OPTIONAL; /* @N is the Retry-After of a 429 or 503 */
        *problem = r->fault.arg < 400 || r->fault.arg > 599 ? "status must be 400..599" : NULL;
        return *problem ? -1 : 0;
    }
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        if (word_is(a, an, actions[i].word) && allowed_at(actions[i].at, r->pt)) {
            r->fault.action = actions[i].action;
            *arg = actions[i].arg;
            return 0;
        }
    *problem = NULL;
    return -1;
}

/* After the action: [@N] [*COUNT|*always] [+SKIP], from p to the end of the rule. */
static const char *parse_modifiers(const char *p, const char *end, rule *r, int arg)
{
    if (p < end && *p == '@') {
        p++;
        uint64_t v;
        if (arg == ARG_NONE || number(&p, end, &v))
            return "bad or unexpected @argument";
        if (r->fault.action == SERVE_FA_CODE)
            r->fault.arg2 = v;
        else
            r->fault.arg = v;
    } else if (arg == ARG_NEEDED) {
        return "@argument required";
    }
    if (r->fault.action == SERVE_FA_ECHEC && r->fault.arg > SERVE_ECHEC_MESSAGE_MAX)
        return "echec@N takes at most " STR(SERVE_ECHEC_MESSAGE_MAX) " bytes";
    if (p < end && *p == '*') {
        p++;
        if (end - p >= 6 && strncmp(p, "always", 6) == 0) {
            r->remaining = UINT64_MAX;
            p += 6;
        } else if (number(&p, end, &r->remaining) || r->remaining == 0) {
            return "bad *count";
        }
    }
    if (p < end && *p == '+') {
        p++;
        if (number(&p, end, &r->skip))
            return "bad +skip";
    }
    return p != end ? "unexpected text after the rule" : NULL;
}

/* Parses one RULE in [s, end) (already trimmed). */
static int parse_rule(const char *s, const char *end, rule *r, char *err, size_t errlen)
{
    const char *colon = memchr(s, ':', (size_t)(end - s));
    memset(r, 0, sizeof(*r));
    r->remaining = 1;
    if (colon == NULL)
        return rule_error(s, end, "expected POINT:ACTION", err, errlen);
    int pt = -1;
    for (int i = 0; i < SERVE_PT__COUNT; i++)
        if (word_is(s, (size_t)(colon - s), point_names[i]))
            pt = i;
    if (pt < 0)
        return rule_error(s, end, "unknown point", err, errlen);
    r->pt = (serve_point)pt;
    const char *a = colon + 1, *ae = a, *problem;
    while (ae < end && (isalnum((unsigned char)*ae)))
        ae++;
    int arg;
    if (parse_action(a, ae, r, &arg, &problem) != 0) {
        char what[64];
        if (problem == NULL)
            snprintf(what, sizeof(what), "unknown action for point %s", point_names[pt]);
        return rule_error(s, end, problem ? problem : what, err, errlen);
    }
    problem = parse_modifiers(ae, end, r, arg);
    return problem ? rule_error(s, end, problem, err, errlen) : 0;
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
