/* format.h: snprintf that says whether everything fitted, and bytes as hex. */
#ifndef SNE_FORMAT_H
#define SNE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Writes like snprintf; false when the output was cut (or the format failed). */
bool sne_format(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Writes the n bytes of b as 2n lower-case hex digits and a NUL: out holds 2n + 1 chars. */
void sne_format_hex(char *out, const uint8_t *b, size_t n);

#endif
