/* fuzz_common.h: what the fuzz targets share: a small deterministic PRNG (chunk sizes, short reads
 * derived from the input, so a crash replays from its input alone), a JSON syntax checker to hold
 * the renderer to its promise of valid JSON, and the failure macro.
 *
 * A target reports a broken invariant with FUZZ_CHECK: it prints the condition and aborts, which
 * libFuzzer records as a crash with its input, and the replay driver turns into a failed test. */
#ifndef SNE_FUZZ_COMMON_H
#define SNE_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* splitmix64: a whole state in one word, good enough to pick chunk sizes. */
static inline uint64_t fuzz_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A chunk length in 1..max, biased towards small ones (1-byte chunks split every token). */
static inline size_t fuzz_chunk(uint64_t *s, size_t max)
{
    uint64_t r = fuzz_rand(s);
    size_t lim = (size_t)1 << (r % 13); /* 1 .. 4096 */
    size_t n = 1 + (size_t)((r >> 8) % lim);
    return n > max ? max : n;
}

/* Minimal RFC 8259 syntax check of the whole of s[0..n). Returns true when it is one JSON value. */
typedef struct fuzz_json {
    const uint8_t *p, *end;
    int depth;
} fuzz_json;

static bool fuzz_json_value(fuzz_json *j);

static void fuzz_json_ws(fuzz_json *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static bool fuzz_json_string(fuzz_json *j)
{
    if (j->p >= j->end || *j->p != '"')
        return false;
    j->p++;
    while (j->p < j->end) {
        uint8_t c = *j->p++;
        if (c == '"')
            return true;
        if (c < 0x20)
            return false;
        if (c == '\\') {
            if (j->p >= j->end)
                return false;
            c = *j->p++;
            if (c == 'u') {
                for (int i = 0; i < 4; i++) {
                    if (j->p >= j->end)
                        return false;
                    c = *j->p++;
                    bool hex =
                        (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
                    if (!hex)
                        return false;
                }
            } else if (!(c == '"' || c == '\\' || c == '/' || c == 'b' || c == 'f' || c == 'n' ||
                         c == 'r' || c == 't')) {
                return false;
            }
        } else if (c >= 0x80) {
            /* UTF-8: the renderer promises valid sequences (invalid input becomes U+FFFD). */
            int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : 1;
            if (c < 0xC2 || c > 0xF4)
                return false;
            uint32_t cp = c & (0x3F >> more);
            for (int i = 0; i < more; i++) {
                if (j->p >= j->end || (*j->p & 0xC0) != 0x80)
                    return false;
                cp = (cp << 6) | (*j->p++ & 0x3F);
            }
            if ((more == 2 && cp < 0x800) || (more == 3 && (cp < 0x10000 || cp > 0x10FFFF)) ||
                (cp >= 0xD800 && cp <= 0xDFFF))
                return false;
        }
    }
    return false;
}

static bool fuzz_json_value(fuzz_json *j)
{
    fuzz_json_ws(j);
    if (j->p >= j->end)
        return false;
    uint8_t c = *j->p;
    if (c == '"')
        return fuzz_json_string(j);
    if (c == '{' || c == '[') {
        if (++j->depth > 512)
            return false;
        uint8_t close = c == '{' ? '}' : ']';
        j->p++;
        fuzz_json_ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            j->depth--;
            return true;
        }
        for (;;) {
            if (c == '{') {
                fuzz_json_ws(j);
                if (!fuzz_json_string(j))
                    return false;
                fuzz_json_ws(j);
                if (j->p >= j->end || *j->p++ != ':')
                    return false;
            }
            if (!fuzz_json_value(j))
                return false;
            fuzz_json_ws(j);
            if (j->p >= j->end)
                return false;
            uint8_t d = *j->p++;
            if (d == close) {
                j->depth--;
                return true;
            }
            if (d != ',')
                return false;
        }
    }
    if (j->end - j->p >= 4 && j->p[0] == 'n' && j->p[1] == 'u' && j->p[2] == 'l' &&
        j->p[3] == 'l') {
        j->p += 4;
        return true;
    }
    return false; /* the renderer never writes numbers or booleans */
}

static inline bool fuzz_json_valid(const uint8_t *s, size_t n)
{
    fuzz_json j = {s, s + n, 0};
    if (!fuzz_json_value(&j))
        return false;
    fuzz_json_ws(&j);
    return j.p == j.end;
}

#endif
