/* serve_request.c: a small strict JSON reader for the one object shape POST accepts. */
#include "serve_request.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "core/sim_geo.h"
#include "common/format.h"

typedef struct cur {
    const char *p, *end;
    char *err;
    size_t errlen;
} cur;

static int fail(cur *c, const char *msg)
{
    snprintf(c->err, c->errlen, "%s", msg);
    return -1;
}

static void ws(cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int peek(cur *c, char ch)
{
    ws(c);
    return c->p < c->end && *c->p == ch;
}

static int expect(cur *c, char ch)
{
    if (!peek(c, ch)) {
        char msg[64];
        snprintf(msg, sizeof(msg), "malformed JSON: expected '%c'", ch);
        return fail(c, msg);
    }
    c->p++;
    return 0;
}

/* The character of the escape after a backslash (c->p is past the backslash). A \\u escape of
 * a non-ASCII character gives '?'. */
static int escape(cur *c, unsigned char *ch)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    if (c->p >= c->end)
        return fail(c, "malformed JSON: unterminated string");
    char e = *c->p++;
    const char *k = e ? strchr(from, e) : NULL;
    if (k != NULL) {
        *ch = (unsigned char)to[k - from];
        return 0;
    }
    if (e != 'u')
        return fail(c, "malformed JSON: bad escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = c->p < c->end ? sne_hex_digit_value(*c->p++) : -1;
        if (h < 0)
            return fail(c, "malformed JSON: bad \\u escape");
        v = v * 16 + (unsigned)h;
    }
    *ch = v < 0x80 ? (unsigned char)v : '?';
    return 0;
}

/* Reads a JSON string into out (cap bytes). Non-ASCII characters become '?', which no code
 * pattern accepts; a string longer than cap-1 is an error. */
static int string(cur *c, char *out, size_t cap)
{
    size_t n = 0;
    if (expect(c, '"'))
        return -1;
    while (c->p < c->end && *c->p != '"') {
        unsigned char ch = (unsigned char)*c->p++;
        if (ch < 0x20)
            return fail(c, "malformed JSON: control character in a string");
        if (ch == '\\') {
            if (escape(c, &ch))
                return -1;
        } else if (ch >= 0x80) {
            ch = '?';
        }
        if (n + 1 >= cap)
            return fail(c, "a string value is too long");
        out[n++] = (char)ch;
    }
    if (c->p >= c->end)
        return fail(c, "malformed JSON: unterminated string");
    c->p++;
    out[n] = '\0';
    return 0;
}

/* Reads an array of code strings into `dst` (stride bytes each, at most max), checking each
 * with `valid` and rejecting repeats. */
static int code_array(cur *c, const char *name, char *dst, size_t stride, size_t max, size_t *count,
                      int (*valid)(const char *))
{
    char msg[128];
    size_t n = 0;
    if (expect(c, '['))
        return -1;
    if (peek(c, ']')) {
        snprintf(msg, sizeof(msg), "%s must not be empty (leave it out instead)", name);
        return fail(c, msg);
    }
    for (;;) {
        char v[16];
        if (n >= max) {
            snprintf(msg, sizeof(msg), "%s has more than %zu items", name, max);
            return fail(c, msg);
        }
        if (string(c, v, sizeof(v)) || (valid != NULL && !valid(v))) {
            snprintf(msg, sizeof(msg), "%s[%zu] is not a valid code", name, n);
            return fail(c, msg);
        }
        for (size_t i = 0; i < n; i++)
            if (strcmp(dst + i * stride, v) == 0) {
                snprintf(msg, sizeof(msg), "%s[%zu] repeats an earlier item", name, n);
                return fail(c, msg);
            }
        if (strlen(v) >= stride) {
            snprintf(msg, sizeof(msg), "%s[%zu] is not a valid code", name, n);
            return fail(c, msg);
        }
        memcpy(dst + n * stride, v, strlen(v) + 1);
        n++;
        if (peek(c, ','))
            c->p++;
        else
            break;
    }
    *count = n;
    return expect(c, ']');
}

static int is_entity(const char *s)
{
    return sim_entity_find(s) >= 0;
}

static int entities(cur *c, unsigned *set)
{
    char names[SIM_ENT__COUNT][8];
    size_t n = 0;
    if (code_array(c, "entites", &names[0][0], sizeof(names[0]), SIM_ENT__COUNT, &n, is_entity))
        return -1;
    *set = 0;
    for (size_t i = 0; i < n; i++)
        *set |= 1u << sim_entity_find(names[i]);
    return 0;
}

static int integer(cur *c, long *out)
{
    ws(c);
    const char *s = c->p;
    long v = 0;
    int neg = 0;
    if (s < c->end && *s == '-') {
        neg = 1;
        s++;
    }
    if (s >= c->end || !isdigit((unsigned char)*s))
        return fail(c, "profondeurDrm must be an integer");
    while (s < c->end && isdigit((unsigned char)*s)) {
        if (v > 100000)
            return fail(c, "profondeurDrm must be 1..3");
        v = v * 10 + (*s - '0');
        s++;
    }
    if (s < c->end && (*s == '.' || *s == 'e' || *s == 'E'))
        return fail(c, "profondeurDrm must be an integer");
    c->p = s;
    *out = neg ? -v : v;
    return 0;
}

enum { F_ENT = 1, F_ETAT = 2, F_DEP = 4, F_COM = 8, F_DRM = 16 }; /* members of DemandeExport */

static unsigned member_bit(const char *key)
{
    static const struct {
        const char *name;
        unsigned bit;
    } members[] = {{"entites", F_ENT},
                   {"etatDemande", F_ETAT},
                   {"departements", F_DEP},
                   {"communes", F_COM},
                   {"profondeurDrm", F_DRM}};
    for (size_t i = 0; i < sizeof(members) / sizeof(members[0]); i++)
        if (strcmp(key, members[i].name) == 0)
            return members[i].bit;
    return 0;
}

static int etat(cur *c, int *radiees)
{
    char v[16];
    if (string(c, v, sizeof(v)))
        return fail(c, "etatDemande must be ACTIVE or RADIEE");
    if (strcmp(v, "ACTIVE") == 0)
        *radiees = 0;
    else if (strcmp(v, "RADIEE") == 0)
        *radiees = 1;
    else
        return fail(c, "etatDemande must be ACTIVE or RADIEE");
    return 0;
}

/* The value of member `bit`; profondeurDrm goes to *depth, checked once all are read. */
static int member_value(cur *c, unsigned bit, sim_export_request *req, long *depth)
{
    switch (bit) {
    case F_ENT:
        return entities(c, &req->entities);
    case F_ETAT:
        return etat(c, &req->radiees);
    case F_DEP:
        return code_array(c, "departements", &req->departements[0][0], sizeof(req->departements[0]),
                          SIM_MAX_LOCATIONS, &req->n_departements, sim_is_dept_code);
    case F_COM:
        return code_array(c, "communes", &req->communes[0][0], sizeof(req->communes[0]),
                          SIM_MAX_LOCATIONS, &req->n_communes, sim_is_commune_code);
    default:
        return integer(c, depth);
    }
}

/* The members' rules once all are read: `seen` is the set of members present. */
static int check_members(cur *c, unsigned seen, sim_export_request *req, long depth)
{
    if (!(seen & F_ENT))
        return fail(c, "entites is required");
    if (!(seen & F_ETAT))
        return fail(c, "etatDemande is required");
    if ((seen & F_DEP) && (seen & F_COM))
        return fail(c, "departements and communes are exclusive");
    if (seen & F_DRM) {
        if (!(req->entities & (1u << SIM_ENT_DRM)))
            return fail(c, "profondeurDrm is only allowed with DRM");
        if (depth < 1 || depth > 3)
            return fail(c, "profondeurDrm must be 1..3");
        req->profondeur_drm = (int)depth;
    }
    return 0;
}

/* The members of the object, up to its closing brace (not consumed); sets *seen. */
static int members(cur *c, sim_export_request *req, unsigned *seen, long *depth)
{
    if (peek(c, '}'))
        return 0;
    for (;;) {
        char key[32];
        if (string(c, key, sizeof(key)))
            return fail(c, "malformed JSON: expected a member name");
        unsigned bit = member_bit(key);
        if (bit == 0)
            return fail(c, "unknown member in DemandeExport");
        if (*seen & bit)
            return fail(c, "a member of DemandeExport is repeated");
        *seen |= bit;
        if (expect(c, ':') || member_value(c, bit, req, depth))
            return -1;
        if (!peek(c, ','))
            return 0;
        c->p++;
    }
}

int serve_request_parse(const char *body, size_t len, sim_export_request *req, char *err,
                        size_t errlen)
{
    cur c = {body, body + len, err, errlen};
    unsigned seen = 0;
    long depth = 0;
    memset(req, 0, sizeof(*req));
    if (expect(&c, '{') || members(&c, req, &seen, &depth) || expect(&c, '}'))
        return -1;
    ws(&c);
    if (c.p != c.end)
        return fail(&c, "malformed JSON: text after the object");
    return check_members(&c, seen, req, depth);
}
