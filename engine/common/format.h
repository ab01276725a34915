/* format.h: snprintf that says whether everything fitted. */
#ifndef SNE_FORMAT_H
#define SNE_FORMAT_H

#include <stdbool.h>
#include <stddef.h>

/* Writes like snprintf; false when the output was cut (or the format failed). */
bool sne_format(char *dst, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
