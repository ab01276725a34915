/* isotime.h: xs:dateTime values as instants, to order exports by their snapshot date. */
#ifndef SNE_ISOTIME_H
#define SNE_ISOTIME_H

#include <stdbool.h>
#include <stdint.h>

/* Parses "YYYY-MM-DDTHH:MM:SS[.fraction][Z|(+|-)HH:MM]" (no zone means UTC) into milliseconds
 * since 1970-01-01T00:00:00Z. Returns false when `s` is not such a value. */
bool sne_isotime_parse(const char *s, int64_t *epoch_ms);

#endif
