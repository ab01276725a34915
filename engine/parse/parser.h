/* parser.h: one export document (an archive member) in, canonical demands out.
 *
 * Bytes of the document are pushed in as they are decompressed (libxml2 SAX2 push parser), so no
 * document is ever held in memory: only the demand being read is. For each <demande> the parser
 * fills a record (record.h) with its items, canonicalised (canon.h) and hashed, and hands it to
 * on_demand, sorted by (entity, key). The header of the document (entete) is handed to on_header
 * before the first demand.
 *
 * Hostile input: DTDs are refused outright (so no entity can be declared, expanded or fetched),
 * the network is never used, and every size is capped (sne_parse_limits). Errors name the member,
 * the line and the demand number, never the data.
 *
 * Typical use:
 *     sne_parser *p = sne_parser_new(&limits, &callbacks, ctx);
 *     for each member: sne_parser_begin(p, name); sne_parser_feed(p, ...)*; sne_parser_end(p);
 *     sne_parser_free(p);
 */
#ifndef SNE_PARSER_H
#define SNE_PARSER_H

#include "../common/error.h"
#include "../model/record.h"
#include "snesync.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* sne_parse_limits and sne_parse_limits_default are public (snesync.h). */

typedef struct sne_parser_callbacks {
    /* Called once per document, after its entete; `h` and its locations are the parser's, valid
     * during the call only. A non-zero return stops the parse with that code; the callback may
     * describe the problem in `err`, which the parser then locates (member, line). */
    sne_err (*on_header)(void *ctx, const sne_export_header *h, sne_error *err);
    /* Called for every demand in document order with its record, sealed: (*rec)->demand. The
     * record is the parser's; the callback may take it (ownership is transferred) by putting in
     * *rec an empty record that becomes the parser's (sne_record_new, or one it recycles). A
     * non-zero return stops the parse with that code, *rec still being a record; `err` as for
     * on_header, and a callback that keeps its error elsewhere (its own stage's) may leave it
     * empty: the parser's error then only says where the parse stopped. */
    sne_err (*on_demand)(void *ctx, sne_record **rec, sne_error *err);
} sne_parser_callbacks;

typedef struct sne_parser sne_parser;

/* Returns NULL when out of memory. `limits` may be NULL for the defaults. */
sne_parser *sne_parser_new(const sne_parse_limits *limits, const sne_parser_callbacks *cb,
                           void *ctx);
void sne_parser_free(sne_parser *p);

/* Starts a document; `member` names it in messages (copied). */
sne_err sne_parser_begin(sne_parser *p, const char *member);
sne_err sne_parser_feed(sne_parser *p, const void *data, size_t n);
/* Ends the document: checks it is complete and that pied/nombreDemandes matches. */
sne_err sne_parser_end(sne_parser *p);
/* demande elements read in the current (or last) document. */
uint64_t sne_parser_demand_count(const sne_parser *p);
/* Demands seen with entities that the perimetre did not request (their data is ignored). */
uint64_t sne_parser_unrequested_count(const sne_parser *p);
const sne_error *sne_parser_error(const sne_parser *p);

#endif
