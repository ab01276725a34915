/* status_json.c: a bounded recursive-descent JSON reader for EtatExport and problem+json. */
#include "status_json.h"

#include "../common/format.h"

#include <stdio.h>
#include <string.h>

typedef struct jcur {
    const char *start, *p, *end;
    int depth;
    sne_error *err;
} jcur;

static sne_err jfail(jcur *c, sne_err code, const char *what)
{
    return sne_error_set(c->err, code, 0, "malformed JSON answer: %s at byte %zu", what,
                         (size_t)(c->p - c->start));
}

static void ws(jcur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int read_hex4(jcur *c, unsigned *out)
{
    if (c->end - c->p < 4)
        return -1;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = sne_hex_digit_value(c->p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + (unsigned)h;
    }
    c->p += 4;
    *out = v;
    return 0;
}

/* Where a decoded string goes: at most cap-1 bytes and a NUL. `cut`: drop what does not fit
 * (free text) instead of failing; `text`: keep printable characters only. */
typedef struct jsink {
    char *out;
    size_t cap, len;
    bool cut, text, overflow;
} jsink;

static void put_char(jsink *s, const char *utf8, size_t n)
{
    if (s->out == NULL || s->overflow) /* once cut, nothing after: no holes in a text */
        return;
    if (s->len + n + 1 > s->cap) {
        s->overflow = true;
        return;
    }
    memcpy(s->out + s->len, utf8, n);
    s->len += n;
    s->out[s->len] = '\0';
}

static void put_cp(jsink *s, unsigned cp)
{
    char b[4];
    if (s->text && (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)))
        cp = ' '; /* control characters never reach a log line */
    if (cp < 0x80) {
        b[0] = (char)cp;
        put_char(s, b, 1);
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3f));
        put_char(s, b, 2);
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        put_char(s, b, 3);
    } else {
        b[0] = (char)(0xf0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        put_char(s, b, 4);
    }
}

/* Decodes one UTF-8 character of raw string bytes; returns its length, 0 if invalid. */
static size_t utf8_char(const unsigned char *p, const unsigned char *end, unsigned *cp)
{
    unsigned c0 = p[0];
    size_t n;
    unsigned v;
    if (c0 < 0x80) {
        *cp = c0;
        return 1;
    } else if (c0 >= 0xc2 && c0 <= 0xdf) {
        n = 2;
        v = c0 & 0x1f;
    } else if (c0 >= 0xe0 && c0 <= 0xef) {
        n = 3;
        v = c0 & 0x0f;
    } else if (c0 >= 0xf0 && c0 <= 0xf4) {
        n = 4;
        v = c0 & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = (v << 6) | (p[i] & 0x3f);
    }
    if ((n == 3 && (v < 0x800 || (v >= 0xd800 && v <= 0xdfff))) ||
        (n == 4 && (v < 0x10000 || v > 0x10ffff)))
        return 0;
    *cp = v;
    return n;
}

/* Reads a string value into s (s->out may be NULL to skip it). */
static sne_err jstring(jcur *c, jsink *s)
{
    if (c->p >= c->end || *c->p != '"')
        return jfail(c, SNE_ERR_INVALID, "expected a string");
    c->p++;
    if (s->out != NULL && s->cap > 0)
        s->out[0] = '\0';
    s->len = 0;
    s->overflow = false;
    for (;;) {
        if (c->p >= c->end)
            return jfail(c, SNE_ERR_INVALID, "unterminated string");
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') {
            c->p++;
            break;
        }
        if (ch < 0x20)
            return jfail(c, SNE_ERR_INVALID, "control character in a string");
        if (ch == '\\') {
            c->p++;
            if (c->p >= c->end)
                return jfail(c, SNE_ERR_INVALID, "unterminated string");
            char e = *c->p++;
            unsigned cp;
            switch (e) {
            case '"':
            case '\\':
            case '/':
                cp = (unsigned char)e;
                break;
            case 'b':
                cp = '\b';
                break;
            case 'f':
                cp = '\f';
                break;
            case 'n':
                cp = '\n';
                break;
            case 'r':
                cp = '\r';
                break;
            case 't':
                cp = '\t';
                break;
            case 'u':
                if (read_hex4(c, &cp))
                    return jfail(c, SNE_ERR_INVALID, "bad \\u escape");
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    unsigned lo;
                    if (c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u') {
                        c->p += 2;
                        if (read_hex4(c, &lo))
                            return jfail(c, SNE_ERR_INVALID, "bad \\u escape");
                        if (lo >= 0xdc00 && lo <= 0xdfff)
                            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                        else
                            cp = '?';
                    } else {
                        cp = '?';
                    }
                } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                    cp = '?';
                }
                if (cp == 0)
                    cp = '?'; /* no NUL inside a C string */
                break;
            default:
                return jfail(c, SNE_ERR_INVALID, "bad escape in a string");
            }
            put_cp(s, cp);
            continue;
        }
        unsigned cp;
        size_t n = utf8_char((const unsigned char *)c->p, (const unsigned char *)c->end, &cp);
        if (n == 0) {
            cp = '?';
            n = 1;
        }
        c->p += n;
        put_cp(s, cp);
    }
    if (s->overflow && !s->cut)
        return jfail(c, SNE_ERR_LIMIT, "string too long");
    return SNE_OK;
}

/* A JSON number; *out is set when it is an integer that fits in int64_t (else *is_int false). */
static sne_err jnumber(jcur *c, int64_t *out, bool *is_int)
{
    const char *s = c->p;
    bool neg = false, integer = true, fits = true;
    uint64_t v = 0;
    if (c->p < c->end && *c->p == '-') {
        neg = true;
        c->p++;
    }
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return jfail(c, SNE_ERR_INVALID, "bad number");
    if (*c->p == '0') {
        c->p++;
    } else {
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
            unsigned d = (unsigned)(*c->p - '0');
            if (v > (UINT64_MAX - d) / 10)
                fits = false;
            else
                v = v * 10 + d;
            c->p++;
        }
    }
    if (c->p < c->end && *c->p == '.') {
        integer = false;
        c->p++;
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return jfail(c, SNE_ERR_INVALID, "bad number");
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        integer = false;
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return jfail(c, SNE_ERR_INVALID, "bad number");
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
    }
    if (c->p - s > 40)
        return jfail(c, SNE_ERR_LIMIT, "number too long");
    *is_int = integer && fits && v <= (uint64_t)INT64_MAX;
    if (*is_int && out)
        *out = neg ? -(int64_t)v : (int64_t)v;
    return SNE_OK;
}

static sne_err jliteral(jcur *c, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return jfail(c, SNE_ERR_INVALID, "unexpected character");
    c->p += n;
    return SNE_OK;
}

typedef sne_err (*member_fn)(jcur *c, void *ctx, const char *key, bool key_cut);

static sne_err jvalue_skip(jcur *c);

/* Reads an object, calling fn for each member with the cursor on its value; fn must consume the
 * value (it may call jvalue_skip). */
static sne_err jobject(jcur *c, member_fn fn, void *ctx)
{
    sne_err rc;
    ws(c);
    if (c->p >= c->end || *c->p != '{')
        return jfail(c, SNE_ERR_INVALID, "expected an object");
    if (++c->depth > SNE_JSON_MAX_DEPTH)
        return jfail(c, SNE_ERR_LIMIT, "nested too deep");
    c->p++;
    ws(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        c->depth--;
        return SNE_OK;
    }
    for (;;) {
        char key[64];
        jsink ks = {key, sizeof(key), 0, true, false, false};
        ws(c);
        if ((rc = jstring(c, &ks)))
            return rc;
        ws(c);
        if (c->p >= c->end || *c->p != ':')
            return jfail(c, SNE_ERR_INVALID, "expected ':'");
        c->p++;
        ws(c);
        if ((rc = fn ? fn(c, ctx, key, ks.overflow) : jvalue_skip(c)))
            return rc;
        ws(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == '}') {
            c->p++;
            break;
        }
        return jfail(c, SNE_ERR_INVALID, "expected ',' or '}'");
    }
    c->depth--;
    return SNE_OK;
}

static sne_err jarray_skip(jcur *c)
{
    sne_err rc;
    if (++c->depth > SNE_JSON_MAX_DEPTH)
        return jfail(c, SNE_ERR_LIMIT, "nested too deep");
    c->p++; /* '[' */
    ws(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        c->depth--;
        return SNE_OK;
    }
    for (;;) {
        ws(c);
        if ((rc = jvalue_skip(c)))
            return rc;
        ws(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == ']') {
            c->p++;
            break;
        }
        return jfail(c, SNE_ERR_INVALID, "expected ',' or ']'");
    }
    c->depth--;
    return SNE_OK;
}

static sne_err jvalue_skip(jcur *c)
{
    ws(c);
    if (c->p >= c->end)
        return jfail(c, SNE_ERR_INVALID, "unexpected end");
    switch (*c->p) {
    case '{':
        return jobject(c, NULL, NULL);
    case '[':
        return jarray_skip(c);
    case '"': {
        jsink s = {NULL, 0, 0, true, false, false};
        return jstring(c, &s);
    }
    case 't':
        return jliteral(c, "true");
    case 'f':
        return jliteral(c, "false");
    case 'n':
        return jliteral(c, "null");
    default: {
        bool is_int = false;
        return jnumber(c, NULL, &is_int);
    }
    }
}

/* Typed member readers. A JSON null counts as absent. */
static bool take_null(jcur *c)
{
    if (c->p < c->end && *c->p == 'n' && jliteral(c, "null") == SNE_OK)
        return true;
    return false;
}

static sne_err get_string(jcur *c, char *out, size_t cap, bool text)
{
    if (take_null(c))
        return SNE_OK;
    jsink s = {out, cap, 0, text, text, false};
    return jstring(c, &s);
}

static sne_err get_int(jcur *c, int64_t *out, int64_t min, int64_t max)
{
    if (take_null(c))
        return SNE_OK;
    bool is_int = false; /* set by jnumber() on success; GCC -O3 cannot see it */
    int64_t v = 0;
    sne_err rc = jnumber(c, &v, &is_int);
    if (rc)
        return rc;
    if (!is_int || v < min || v > max)
        return jfail(c, SNE_ERR_INVALID, "number out of range");
    *out = v;
    return SNE_OK;
}

/* Rejects a known member given twice (which value would be true?). */
static sne_err once(jcur *c, unsigned *seen, unsigned bit)
{
    if (*seen & bit)
        return jfail(c, SNE_ERR_INVALID, "duplicate member");
    *seen |= bit;
    return SNE_OK;
}

typedef struct status_ctx {
    sne_export_status *st;
    unsigned seen;
} status_ctx;

static sne_err on_fichier(jcur *c, void *ctx, const char *key, bool key_cut)
{
    status_ctx *x = ctx;
    sne_export_status *st = x->st;
    sne_err rc;
    if (key_cut)
        return jvalue_skip(c);
    if (strcmp(key, "url") == 0) {
        if ((rc = once(c, &x->seen, 1u << 10)))
            return rc;
        return get_string(c, st->url, sizeof(st->url), false);
    }
    if (strcmp(key, "taille") == 0) {
        if ((rc = once(c, &x->seen, 1u << 11)))
            return rc;
        return get_int(c, &st->taille, 0, INT64_MAX);
    }
    if (strcmp(key, "sha256") == 0) {
        if ((rc = once(c, &x->seen, 1u << 12)))
            return rc;
        return get_string(c, st->sha256, sizeof(st->sha256), false);
    }
    if (strcmp(key, "nombreDemandes") == 0) {
        if ((rc = once(c, &x->seen, 1u << 13)))
            return rc;
        return get_int(c, &st->nombre_demandes, 0, INT64_MAX);
    }
    return jvalue_skip(c);
}

static sne_err on_erreur(jcur *c, void *ctx, const char *key, bool key_cut)
{
    status_ctx *x = ctx;
    sne_err rc;
    if (key_cut)
        return jvalue_skip(c);
    if (strcmp(key, "code") == 0) {
        if ((rc = once(c, &x->seen, 1u << 14)))
            return rc;
        return get_string(c, x->st->erreur_code, sizeof(x->st->erreur_code), true);
    }
    if (strcmp(key, "message") == 0) {
        if ((rc = once(c, &x->seen, 1u << 15)))
            return rc;
        return get_string(c, x->st->erreur_message, sizeof(x->st->erreur_message), true);
    }
    return jvalue_skip(c);
}

static const char *const statut_names[] = {"?",       "EN_ATTENTE", "EN_COURS",
                                           "TERMINE", "ECHEC",      "EXPIRE"};

const char *sne_statut_name(sne_statut s)
{
    return (unsigned)s < sizeof(statut_names) / sizeof(statut_names[0]) ? statut_names[s] : "?";
}

static sne_err on_status(jcur *c, void *ctx, const char *key, bool key_cut)
{
    status_ctx *x = ctx;
    sne_export_status *st = x->st;
    sne_err rc;
    if (key_cut)
        return jvalue_skip(c);
    if (strcmp(key, "numeroExport") == 0) {
        if ((rc = once(c, &x->seen, 1u << 0)))
            return rc;
        return get_string(c, st->numero, sizeof(st->numero), false);
    }
    if (strcmp(key, "statut") == 0) {
        char v[16] = "";
        if ((rc = once(c, &x->seen, 1u << 1)))
            return rc;
        jsink s = {v, sizeof(v), 0, true, false, false}; /* cut: unknown long values are UNKNOWN */
        if (take_null(c))
            return SNE_OK;
        if ((rc = jstring(c, &s)))
            return rc;
        st->statut = SNE_STATUT_UNKNOWN;
        for (size_t i = 1; i < sizeof(statut_names) / sizeof(statut_names[0]); i++)
            if (!s.overflow && strcmp(v, statut_names[i]) == 0)
                st->statut = (sne_statut)i;
        return SNE_OK;
    }
    if (strcmp(key, "progression") == 0) {
        int64_t v = -1;
        if ((rc = once(c, &x->seen, 1u << 2)) || (rc = get_int(c, &v, 0, 100)))
            return rc;
        st->progression = (int)v;
        return SNE_OK;
    }
    if (strcmp(key, "dateExport") == 0) {
        if ((rc = once(c, &x->seen, 1u << 3)))
            return rc;
        return get_string(c, st->date_export, sizeof(st->date_export), false);
    }
    if (strcmp(key, "expiration") == 0) {
        if ((rc = once(c, &x->seen, 1u << 4)))
            return rc;
        return get_string(c, st->expiration, sizeof(st->expiration), false);
    }
    if (strcmp(key, "fichier") == 0) {
        if ((rc = once(c, &x->seen, 1u << 5)))
            return rc;
        if (take_null(c))
            return SNE_OK;
        st->has_fichier = true;
        return jobject(c, on_fichier, x);
    }
    if (strcmp(key, "erreur") == 0) {
        if ((rc = once(c, &x->seen, 1u << 6)))
            return rc;
        if (take_null(c))
            return SNE_OK;
        return jobject(c, on_erreur, x);
    }
    return jvalue_skip(c);
}

static sne_err parse_document(const char *json, size_t n, member_fn fn, void *ctx, sne_error *err)
{
    jcur c = {json, json, json + n, 0, err};
    if (json == NULL)
        return sne_error_set(err, SNE_ERR_INVALID, 0, "malformed JSON answer: empty");
    if (n > SNE_JSON_MAX_INPUT)
        return sne_error_set(err, SNE_ERR_LIMIT, 0, "JSON answer over %d bytes",
                             SNE_JSON_MAX_INPUT);
    /* A UTF-8 byte order mark is tolerated. */
    if (n >= 3 && memcmp(json, "\xEF\xBB\xBF", 3) == 0)
        c.p += 3;
    sne_err rc = jobject(&c, fn, ctx);
    if (rc)
        return rc;
    ws(&c);
    if (c.p != c.end)
        return jfail(&c, SNE_ERR_INVALID, "text after the object");
    return SNE_OK;
}

static bool valid_sha256(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
            return false;
    return n == 64;
}

sne_err sne_status_parse(const char *json, size_t n, sne_export_status *out, sne_error *err)
{
    memset(out, 0, sizeof(*out));
    out->progression = -1;
    out->taille = -1;
    out->nombre_demandes = -1;
    status_ctx x = {out, 0};
    sne_err rc = parse_document(json, n, on_status, &x, err);
    if (rc)
        return rc;
    if (!(x.seen & 1u) || !sne_numero_valid(out->numero))
        return sne_error_set(err, SNE_ERR_INVALID, 0,
                             "export status: numeroExport missing or not [0-9A-Za-z_-]{1,40}");
    if (!(x.seen & 2u))
        return sne_error_set(err, SNE_ERR_INVALID, 0, "export status: statut missing");
    if (out->sha256[0] && !valid_sha256(out->sha256))
        return sne_error_set(err, SNE_ERR_INVALID, 0,
                             "export status: fichier.sha256 is not 64 lowercase hex digits");
    if (out->statut == SNE_STATUT_TERMINE &&
        (!out->has_fichier || out->taille < 0 || !out->sha256[0]))
        return sne_error_set(err, SNE_ERR_INVALID, 0,
                             "export status: TERMINE without fichier.taille and fichier.sha256");
    return SNE_OK;
}

typedef struct problem_ctx {
    sne_problem *pb;
    unsigned seen;
} problem_ctx;

static sne_err on_problem(jcur *c, void *ctx, const char *key, bool key_cut)
{
    problem_ctx *x = ctx;
    sne_err rc;
    if (key_cut)
        return jvalue_skip(c);
    if (strcmp(key, "status") == 0) {
        /* Lenient: a wrong status must not hide the detail that comes with it. */
        int64_t v = -1;
        bool is_int;
        if ((rc = once(c, &x->seen, 1)))
            return rc;
        if (take_null(c))
            return SNE_OK;
        if ((rc = jnumber(c, &v, &is_int)))
            return rc;
        x->pb->status = is_int && v >= 100 && v <= 599 ? (int)v : -1;
        return SNE_OK;
    }
    if (strcmp(key, "title") == 0) {
        if ((rc = once(c, &x->seen, 2)))
            return rc;
        return get_string(c, x->pb->title, sizeof(x->pb->title), true);
    }
    if (strcmp(key, "detail") == 0) {
        if ((rc = once(c, &x->seen, 4)))
            return rc;
        return get_string(c, x->pb->detail, sizeof(x->pb->detail), true);
    }
    return jvalue_skip(c);
}

sne_err sne_problem_parse(const char *json, size_t n, sne_problem *out, sne_error *err)
{
    memset(out, 0, sizeof(*out));
    out->status = -1;
    problem_ctx x = {out, 0};
    sne_err rc = parse_document(json, n, on_problem, &x, err);
    if (rc)
        memset(out, 0, sizeof(*out)), out->status = -1;
    return rc;
}
