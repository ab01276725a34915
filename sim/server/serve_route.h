/* serve_route.h: the request side of `snesync-sim serve`: authentication, request bodies, the
 * faults met on arrival, routing to the handlers, and the access log (method, path, status).
 *
 * How to use: fill a serve_route, and pass serve_route_request / serve_route_completed with it
 * to MHD_start_daemon (as the access handler and MHD_OPTION_NOTIFY_COMPLETED). */
#ifndef SIM_SERVE_ROUTE_H
#define SIM_SERVE_ROUTE_H

#include <microhttpd.h>
#include <stddef.h>

#include "serve_demande.h"
#include "serve_exports.h"
#include "serve_faults.h"
#include "serve_gdm.h"

typedef struct serve_route {
    serve_exports *exports; /* borrowed, like everything here, for the daemon's life */
    serve_faults *faults;
    serve_gdm_config gdm;
    serve_demandes *demandes;
    const char *token;    /* the bearer token required, NULL when none */
    int client_ca;        /* a valid client certificate is required (its CN is the guichet) */
    unsigned retry_after; /* of the fault answers 429 and 503 without @N */
} serve_route;

/* libmicrohttpd's access handler; cls is the serve_route. */
enum MHD_Result serve_route_request(void *cls, struct MHD_Connection *c, const char *url,
                                    const char *method, const char *version,
                                    const char *upload_data, size_t *upload_data_size,
                                    void **con_cls);
/* libmicrohttpd's request-completed callback: frees what serve_route_request() kept. */
void serve_route_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                           enum MHD_RequestTerminationCode toe);

#endif
