/* validate.h: checking export documents against the XSD (schema/export.xsd), on request.
 *
 * Ingest does not need the XSD: the parser checks what the engine relies on and treats unknown
 * elements as data. Validation is for a person who wants to know whether an archive honours the
 * contract to the letter. It streams (libxml2 xmlTextReader with the schema plugged in), so an
 * archive of any size validates in bounded memory. DTDs, entities and the network stay off. */
#ifndef SNE_VALIDATE_H
#define SNE_VALIDATE_H

#include "../common/error.h"
#include "../unpack/unpack.h"

#include <stdint.h>

typedef struct sne_validator sne_validator;

/* Loads and compiles the schema at `xsd_path`. */
sne_err sne_validator_new(sne_validator **out, const char *xsd_path, sne_error *err);
void sne_validator_free(sne_validator *v);

/* Validates every .xml member of the archive read through `read`. Stops at the first invalid
 * document with its member, line and libxml2's message; *documents counts those validated. */
sne_err sne_validate_archive(sne_validator *v, sne_unpack_read_fn read, void *ctx,
                             unsigned *documents, sne_error *err);

#endif
