/* json_reader.h: the bounded recursive-descent JSON reader under the service's answers
 * (status_json.c: EtatExport and problem+json; movements_json.c: a page of movements), not for
 * use outside engine/fetch/.
 *
 * A document is one JSON object read in place: nothing is allocated, nesting stops at
 * SNE_JSON_MAX_DEPTH, an object's keys longer than 63 bytes are handed over as cut (key_cut), and
 * a caller copies only the members it knows into fixed-size fields. Every error is set in the
 * cursor's sne_error with the byte offset where it was found ("malformed JSON answer: ... at byte
 * N"), never with the document's text.
 *
 *     static sne_err on_member(sne_json_cursor *c, void *ctx, const char *key, bool key_cut)
 *     {
 *         if (!key_cut && strcmp(key, "jusque") == 0)
 *             return sne_json_get_string(c, out->jusque, sizeof(out->jusque), false);
 *         return sne_json_skip(c);   // every member's value must be consumed
 *     }
 *     sne_json_document(json, n, max, on_member, ctx, err);
 */
#ifndef SNE_JSON_READER_H
#define SNE_JSON_READER_H

#include "../common/error.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNE_JSON_MAX_DEPTH 16 /* objects and arrays nested in a document */

/* Where the reader stands in a document of [start, end); `err` is the caller's. */
typedef struct sne_json_cursor {
    const char *start, *p, *end;
    int depth;
    sne_error *err;
} sne_json_cursor;

/* Where a decoded string goes: at most cap-1 bytes and a NUL (`out` NULL: nowhere, the string is
 * skipped). `cut`: drop what does not fit (free text) instead of failing, and say so in
 * `overflow`; `text`: keep printable characters only. */
typedef struct sne_json_sink {
    char *out;
    size_t cap, len;
    bool cut, text, overflow;
} sne_json_sink;

/* Called for each member of an object with the cursor on its value, which it must consume (read
 * it, or sne_json_skip). `key` is NUL-terminated, cut to 63 bytes when key_cut. */
typedef sne_err (*sne_json_member_fn)(sne_json_cursor *c, void *ctx, const char *key, bool key_cut);

/* One JSON object of at most `max` bytes (a UTF-8 byte order mark tolerated, nothing after it),
 * its members handed to fn. */
sne_err sne_json_document(const char *json, size_t n, size_t max, sne_json_member_fn fn, void *ctx,
                          sne_error *err);

/* Sets the cursor's error, `code` with `what` and the byte offset; returns `code`. */
sne_err sne_json_fail(sne_json_cursor *c, sne_err code, const char *what);
/* Skips white space. */
void sne_json_ws(sne_json_cursor *c);
/* An object, its members handed to fn (NULL: skipped). */
sne_err sne_json_object(sne_json_cursor *c, sne_json_member_fn fn, void *ctx);
/* Called for each element of an array with the cursor on it, which it must consume. */
typedef sne_err (*sne_json_element_fn)(sne_json_cursor *c, void *ctx);
/* An array, its elements handed to fn (NULL: skipped). */
sne_err sne_json_array(sne_json_cursor *c, sne_json_element_fn fn, void *ctx);
/* Any value, skipped. */
sne_err sne_json_skip(sne_json_cursor *c);
/* A string value decoded into s (\uXXXX included, surrogate pairs joined, invalid UTF-8 replaced
 * by '?'); a string that does not fit is SNE_ERR_LIMIT unless s->cut. */
sne_err sne_json_string(sne_json_cursor *c, sne_json_sink *s);
/* A number; *out (may be NULL) is set and *is_int true when it is an integer that fits in
 * int64_t. */
sne_err sne_json_number(sne_json_cursor *c, int64_t *out, bool *is_int);

/* Typed member readers: a JSON null counts as absent (the output is left as it was). */
/* Whether the value is null (then consumed). */
bool sne_json_null(sne_json_cursor *c);
/* A string into out[cap]: longer is SNE_ERR_LIMIT, except `text` (free text: printable
 * characters only, cut to fit). */
sne_err sne_json_get_string(sne_json_cursor *c, char *out, size_t cap, bool text);
/* An integer in [min, max]; anything else is SNE_ERR_INVALID. */
sne_err sne_json_get_int(sne_json_cursor *c, int64_t *out, int64_t min, int64_t max);
/* Refuses a known member given twice (which value would be true?): `bit` is set in *seen. */
sne_err sne_json_once(sne_json_cursor *c, unsigned *seen, unsigned bit);

#endif
