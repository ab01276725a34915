/* geo.h: the French geography the register's scopes speak of (contract README §5), once.
 *
 * A department is two characters ("01".."95", "2A", "2B") or three for the overseas ones ("971"
 * .."976"); an INSEE commune code is five, its department being its first two characters, or its
 * first three when it starts with "97". Nothing here allocates or keeps a pointer. */
#ifndef SNE_GEO_H
#define SNE_GEO_H

#include "../common/error.h"
#include "model.h"

#include <stdbool.h>
#include <stddef.h>

/* Characters of the department that begins the INSEE commune code `commune` (at least 3 readable
 * characters): 3 for codes starting with "97", else 2. */
size_t sne_commune_department_len(const char *commune);

/* Whether the n bytes at s are a department code: two digits, 2A, 2B, or 971 to 976. */
bool sne_departement_valid(const char *s, size_t n);

/* Whether the n bytes at s are an INSEE commune code: five digits, or 2A/2B and three digits. */
bool sne_commune_valid(const char *s, size_t n);

/* Departments or communes as a request names them: sorted, each once. */
typedef struct sne_location_list {
    size_t n;
    char codes[SNE_MAX_LOCATIONS][SNE_LOCATION_CODE_MAX + 1];
} sne_location_list;

/* Reads the comma-separated codes of `list` into *out (blanks around a code and empty items are
 * skipped), each checked by the rule of `kind` (departements or communes), then sorts them and
 * drops repeats. At most `max` codes (<= SNE_MAX_LOCATIONS). SNE_ERR_USAGE for a bad code (its
 * first characters quoted), too many codes or none, the message naming the option --departements
 * or --communes. */
sne_err sne_location_list_parse(sne_location_list *out, sne_location_kind kind, const char *list,
                                size_t max, sne_error *err);

#endif
