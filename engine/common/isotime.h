/* isotime.h: xs:dateTime values as instants, to order exports by their snapshot date, and DRM
 * periods as month numbers, to place a DRM month in an export's window. */
#ifndef SNE_ISOTIME_H
#define SNE_ISOTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parses "YYYY-MM-DDTHH:MM:SS[.fraction][Z|(+|-)HH:MM]" (no zone means UTC) into milliseconds
 * since 1970-01-01T00:00:00Z. Returns false when `s` is not such a value. */
bool sne_isotime_parse(const char *s, int64_t *epoch_ms);

/* Bytes of sne_isotime_format_utc()'s output, NUL included. */
#define SNE_ISOTIME_UTC_LEN 25

/* Writes the instant `epoch_ms` (years 1970..9999) as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out. */
void sne_isotime_format_utc(int64_t epoch_ms, char out[SNE_ISOTIME_UTC_LEN]);

/* Parses the `n` bytes of a DRM period "YYYY-MM" (the contract's Periode) into its month number,
 * year * 12 + month: consecutive months have consecutive numbers, and no period has number 0,
 * which callers keep for "no period". Returns false when the bytes are not such a period. */
bool sne_period_parse(const char *s, size_t n, uint32_t *month);

#endif
