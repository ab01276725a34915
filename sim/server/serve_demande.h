/* serve_demande.h: the unit read, GET /v1.0/demandes/{numUnique}?entites=...[&profondeurDrm=N]
 * (contract section 7).
 *
 * The answer is the export document of that one demand as the register holds it now (200
 * application/xml, rendered by sim_export_render_demand(): numeroExport "D" + numUnique,
 * dateExport the register's snapshot, the simulated instant of the read), 404 when the register
 * does not know the number, 400 for a bad query (entites required: repeated parameters or
 * comma-separated codes; profondeurDrm 1..3; nothing else). At most SERVE_DEMANDE_PER_GUICHET
 * reads run at once per guichet: the next one gets 429 with Retry-After.
 *
 * How to use:
 *     serve_demandes *d = serve_demandes_new(data_dir);    // the register is opened lazily
 *     unsigned busy = serve_demande_enter(d, guichet);   // 0, else answer 429 or 503
 *     ... arrival faults ...; serve_demande(d, ex, num); serve_demande_leave(d, guichet);
 *     serve_demandes_free(d);
 * Thread-safe. The register is mapped read-only at the first read and kept (the register of a
 * running server never changes: `evolve` writes a new directory), with an index by numUnique. */
#ifndef SIM_SERVE_DEMANDE_H
#define SIM_SERVE_DEMANDE_H

#include <microhttpd.h>

#include "serve_reply.h"

#define SERVE_DEMANDE_PER_GUICHET 4  /* concurrent unit reads of one guichet (contract) */
#define SERVE_DEMANDE_GUICHETS    64 /* guichets tracked at once; past it, reads get 503 */

typedef struct serve_demandes serve_demandes;

/* A reader over the register in `data_dir` (borrowed for its life); NULL when out of memory. */
serve_demandes *serve_demandes_new(const char *data_dir);
/* Unmaps the register; NULL-safe. */
void serve_demandes_free(serve_demandes *d);

/* Takes one of the guichet's read slots. Returns 0, or the status to answer instead: 429 when all
 * its slots are taken, 503 when no more guichet can be tracked. Every 0 is paired with one
 * serve_demande_leave(). */
unsigned serve_demande_enter(serve_demandes *d, const char *guichet);
void serve_demande_leave(serve_demandes *d, const char *guichet);

/* Queues exactly one reply on `ex` for the read of `num` (the path segment, not checked yet):
 * 200, 400, 404, or 500 when the register cannot be opened or the document rendered. */
enum MHD_Result serve_demande(serve_demandes *d, serve_exchange *ex, const char *num);

#endif
