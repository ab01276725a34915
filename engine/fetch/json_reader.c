/* json_reader.c: the bounded recursive-descent JSON reader of the service's answers
 * (json_reader.h). */
#include "json_reader.h"

#include "../common/format.h"

#include <string.h>

sne_err sne_json_fail(sne_json_cursor *c, sne_err code, const char *what)
{
    return sne_error_set(c->err, code, 0, "malformed JSON answer: %s at byte %zu", what,
                         (size_t)(c->p - c->start));
}

void sne_json_ws(sne_json_cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int read_hex4(sne_json_cursor *c, unsigned *out)
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

static void put_char(sne_json_sink *s, const char *utf8, size_t n)
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

static void put_cp(sne_json_sink *s, unsigned cp)
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
sne_err sne_json_string(sne_json_cursor *c, sne_json_sink *s)
{
    if (c->p >= c->end || *c->p != '"')
        return sne_json_fail(c, SNE_ERR_INVALID, "expected a string");
    c->p++;
    if (s->out != NULL && s->cap > 0)
        s->out[0] = '\0';
    s->len = 0;
    s->overflow = false;
    for (;;) {
        if (c->p >= c->end)
            return sne_json_fail(c, SNE_ERR_INVALID, "unterminated string");
        unsigned char ch = (unsigned char)*c->p;
        if (ch == '"') {
            c->p++;
            break;
        }
        if (ch < 0x20)
            return sne_json_fail(c, SNE_ERR_INVALID, "control character in a string");
        if (ch == '\\') {
            c->p++;
            if (c->p >= c->end)
                return sne_json_fail(c, SNE_ERR_INVALID, "unterminated string");
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
                    return sne_json_fail(c, SNE_ERR_INVALID, "bad \\u escape");
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    unsigned lo;
                    if (c->end - c->p >= 6 && c->p[0] == '\\' && c->p[1] == 'u') {
                        c->p += 2;
                        if (read_hex4(c, &lo))
                            return sne_json_fail(c, SNE_ERR_INVALID, "bad \\u escape");
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
                return sne_json_fail(c, SNE_ERR_INVALID, "bad escape in a string");
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
        return sne_json_fail(c, SNE_ERR_LIMIT, "string too long");
    return SNE_OK;
}

/* A JSON number; *out is set when it is an integer that fits in int64_t (else *is_int false). */
sne_err sne_json_number(sne_json_cursor *c, int64_t *out, bool *is_int)
{
    const char *s = c->p;
    bool neg = false, integer = true, fits = true;
    uint64_t v = 0;
    if (c->p < c->end && *c->p == '-') {
        neg = true;
        c->p++;
    }
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return sne_json_fail(c, SNE_ERR_INVALID, "bad number");
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
            return sne_json_fail(c, SNE_ERR_INVALID, "bad number");
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        integer = false;
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return sne_json_fail(c, SNE_ERR_INVALID, "bad number");
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
    }
    if (c->p - s > 40)
        return sne_json_fail(c, SNE_ERR_LIMIT, "number too long");
    *is_int = integer && fits && v <= (uint64_t)INT64_MAX;
    if (*is_int && out)
        *out = neg ? -(int64_t)v : (int64_t)v;
    return SNE_OK;
}

static sne_err jliteral(sne_json_cursor *c, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, word, n) != 0)
        return sne_json_fail(c, SNE_ERR_INVALID, "unexpected character");
    c->p += n;
    return SNE_OK;
}

/* Enters a container that must open with `open` (else the failure `expected`); *empty is set
 * when it closes at once with `close` (then it is already left). */
static sne_err container_open(sne_json_cursor *c, char open, char close, const char *expected,
                              bool *empty)
{
    sne_json_ws(c);
    if (c->p >= c->end || *c->p != open)
        return sne_json_fail(c, SNE_ERR_INVALID, expected);
    if (++c->depth > SNE_JSON_MAX_DEPTH)
        return sne_json_fail(c, SNE_ERR_LIMIT, "nested too deep");
    c->p++;
    sne_json_ws(c);
    *empty = c->p < c->end && *c->p == close;
    if (*empty) {
        c->p++;
        c->depth--;
    }
    return SNE_OK;
}

/* After a member or element: a ',' (*more set) or the closing `close` (the container is left),
 * else the failure `expected`. */
static sne_err container_next(sne_json_cursor *c, char close, const char *expected, bool *more)
{
    sne_json_ws(c);
    *more = c->p < c->end && *c->p == ',';
    if (*more || (c->p < c->end && *c->p == close)) {
        c->p++;
        c->depth -= !*more;
        return SNE_OK;
    }
    return sne_json_fail(c, SNE_ERR_INVALID, expected);
}

/* Reads an object, calling fn for each member with the cursor on its value; fn must consume the
 * value (it may call sne_json_skip). */
sne_err sne_json_object(sne_json_cursor *c, sne_json_member_fn fn, void *ctx)
{
    bool empty = false, more = true;
    sne_err rc = container_open(c, '{', '}', "expected an object", &empty);
    while (!rc && !empty && more) {
        char key[64];
        sne_json_sink ks = {key, sizeof(key), 0, true, false, false};
        sne_json_ws(c);
        if ((rc = sne_json_string(c, &ks)))
            break;
        sne_json_ws(c);
        if (c->p >= c->end || *c->p != ':')
            return sne_json_fail(c, SNE_ERR_INVALID, "expected ':'");
        c->p++;
        sne_json_ws(c);
        if (!(rc = fn ? fn(c, ctx, key, ks.overflow) : sne_json_skip(c)))
            rc = container_next(c, '}', "expected ',' or '}'", &more);
    }
    return rc;
}

sne_err sne_json_array(sne_json_cursor *c, sne_json_element_fn fn, void *ctx)
{
    bool empty = false, more = true;
    sne_err rc = container_open(c, '[', ']', "expected an array", &empty);
    while (!rc && !empty && more) {
        sne_json_ws(c);
        if (!(rc = fn ? fn(c, ctx) : sne_json_skip(c)))
            rc = container_next(c, ']', "expected ',' or ']'", &more);
    }
    return rc;
}

sne_err sne_json_skip(sne_json_cursor *c)
{
    sne_json_ws(c);
    if (c->p >= c->end)
        return sne_json_fail(c, SNE_ERR_INVALID, "unexpected end");
    switch (*c->p) {
    case '{':
        return sne_json_object(c, NULL, NULL);
    case '[':
        return sne_json_array(c, NULL, NULL);
    case '"': {
        sne_json_sink s = {NULL, 0, 0, true, false, false};
        return sne_json_string(c, &s);
    }
    case 't':
        return jliteral(c, "true");
    case 'f':
        return jliteral(c, "false");
    case 'n':
        return jliteral(c, "null");
    default: {
        bool is_int = false;
        return sne_json_number(c, NULL, &is_int);
    }
    }
}

/* Typed member readers. A JSON null counts as absent. */
bool sne_json_null(sne_json_cursor *c)
{
    if (c->p < c->end && *c->p == 'n' && jliteral(c, "null") == SNE_OK)
        return true;
    return false;
}

sne_err sne_json_get_string(sne_json_cursor *c, char *out, size_t cap, bool text)
{
    if (sne_json_null(c))
        return SNE_OK;
    sne_json_sink s = {out, cap, 0, text, text, false};
    return sne_json_string(c, &s);
}

sne_err sne_json_get_int(sne_json_cursor *c, int64_t *out, int64_t min, int64_t max)
{
    if (sne_json_null(c))
        return SNE_OK;
    bool is_int = false; /* set by sne_json_number() on success; GCC -O3 cannot see it */
    int64_t v = 0;
    sne_err rc = sne_json_number(c, &v, &is_int);
    if (rc)
        return rc;
    if (!is_int || v < min || v > max)
        return sne_json_fail(c, SNE_ERR_INVALID, "number out of range");
    *out = v;
    return SNE_OK;
}

/* Rejects a known member given twice (which value would be true?). */
sne_err sne_json_once(sne_json_cursor *c, unsigned *seen, unsigned bit)
{
    if (*seen & bit)
        return sne_json_fail(c, SNE_ERR_INVALID, "duplicate member");
    *seen |= bit;
    return SNE_OK;
}

/* One JSON object of at most `max` bytes, its members handed to fn. */
sne_err sne_json_document(const char *json, size_t n, size_t max, sne_json_member_fn fn, void *ctx,
                          sne_error *err)
{
    sne_json_cursor c = {json, json, json + n, 0, err};
    if (json == NULL)
        return sne_error_set(err, SNE_ERR_INVALID, 0, "malformed JSON answer: empty");
    if (n > max)
        return sne_error_set(err, SNE_ERR_LIMIT, 0, "JSON answer over %zu bytes", max);
    /* A UTF-8 byte order mark is tolerated. */
    if (n >= 3 && memcmp(json, "\xEF\xBB\xBF", 3) == 0)
        c.p += 3;
    sne_err rc = sne_json_object(&c, fn, ctx);
    if (rc)
        return rc;
    sne_json_ws(&c);
    if (c.p != c.end)
        return sne_json_fail(&c, SNE_ERR_INVALID, "text after the object");
    return SNE_OK;
}
