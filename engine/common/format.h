/* format.h: snprintf that says whether everything fitted, and bytes as hex and back. */
#ifndef SNE_FORMAT_H
#define SNE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writes like snprintf; false when the output was cut (or the format failed). The result must be
 * looked at: a cut URL or path would otherwise pass silently. */
bool sne_format(char *dst, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4), warn_unused_result));
/* Ends the string that sne_format cut to fill dst (cap bytes) with "...", so that a reader sees
 * it was cut; does nothing when cap < 4. */
void sne_format_mark_cut(char *dst, size_t cap);
/* Writes the n bytes of b as 2n lower-case hex digits and a NUL: out holds 2n + 1 chars. */
void sne_format_hex(char *out, const uint8_t *b, size_t n);
/* The value of the hex digit c (either case), or -1 when c is not one. */
int sne_hex_digit_value(char c);

#endif
