/* serve_auth.h: who may call `snesync-sim serve`: the bearer token (--token-file) and the TLS
 * client certificate (--tls-client-ca). Never logs a token or a certificate's content. */
#ifndef SIM_SERVE_AUTH_H
#define SIM_SERVE_AUTH_H

#include <microhttpd.h>
#include <stddef.h>

/* Reads the token from the first line of `path` (surrounding whitespace trimmed) into a new
 * string, owned by the caller (free()). Returns NULL with a message in err. */
char *serve_auth_load_token(const char *path, char *err, size_t errlen);

/* 1 when the request carries "Authorization: Bearer <token>" (constant-time comparison). */
int serve_auth_bearer_ok(struct MHD_Connection *c, const char *token);

/* Verifies the connection's client certificate against the daemon's trust list
 * (--tls-client-ca) and copies its subject CN (reduced to [0-9A-Za-z_-]) into cn, or
 * "inconnu" when it has none. Returns 0, or -1 when there is no valid certificate. */
int serve_auth_client_cert(struct MHD_Connection *c, char *cn, size_t cnlen);

/* For MHD_OPTION_NOTIFY_CONNECTION: makes the TLS handshake itself require and verify a client
 * certificate, so a client without a valid one is refused before any HTTP exchange. */
void serve_auth_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe);

#endif
