/* serve_auth.c: bearer token and TLS client certificate checks. */
#include "serve_auth.h"

#include <ctype.h>
#include <errno.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *serve_auth_load_token(const char *path, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL) {
        snprintf(err, errlen, "cannot open the token file %s: %s", path, strerror(errno));
        return NULL;
    }
    char line[4096];
    char *tok = NULL;
    if (fgets(line, sizeof(line), fp) != NULL) {
        char *s = line, *e = line + strlen(line);
        while (*s && isspace((unsigned char)*s))
            s++;
        while (e > s && isspace((unsigned char)e[-1]))
            *--e = '\0';
        if (*s != '\0')
            tok = strdup(s);
    }
    memset(line, 0, sizeof(line));
    fclose(fp);
    if (tok == NULL)
        snprintf(err, errlen, "the token file %s holds no token", path);
    return tok;
}

int serve_auth_bearer_ok(struct MHD_Connection *c, const char *token)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return 0;
    h += 7;
    while (*h == ' ')
        h++;
    size_t n = strlen(h), m = strlen(token);
    unsigned char diff = (unsigned char)(n != m);
    for (size_t i = 0; i < m; i++)
        diff |= (unsigned char)(token[i] ^ (i < n ? h[i] : 0));
    return diff == 0;
}

static gnutls_session_t session_of(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    return ci != NULL ? (gnutls_session_t)ci->tls_session : NULL;
}

void serve_auth_on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                              enum MHD_ConnectionNotificationCode toe)
{
    (void)cls;
    (void)socket_context;
    if (toe != MHD_CONNECTION_NOTIFY_STARTED)
        return;
    gnutls_session_t s = session_of(c);
    if (s == NULL)
        return;
    gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
    gnutls_session_set_verify_cert(s, NULL, 0);
}

int serve_auth_client_cert(struct MHD_Connection *c, char *cn, size_t cnlen)
{
    gnutls_session_t s = session_of(c);
    unsigned status = 0, n = 0;
    if (s == NULL || gnutls_certificate_verify_peers2(s, &status) != 0 || status != 0)
        return -1;
    const gnutls_datum_t *certs = gnutls_certificate_get_peers(s, &n);
    if (certs == NULL || n == 0)
        return -1;
    snprintf(cn, cnlen, "inconnu");
    gnutls_x509_crt_t crt;
    if (gnutls_x509_crt_init(&crt) < 0)
        return 0;
    char buf[256];
    size_t size = sizeof(buf);
    if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) >= 0 &&
        gnutls_x509_crt_get_dn_by_oid(crt, GNUTLS_OID_X520_COMMON_NAME, 0, 0, buf, &size) >= 0) {
        size_t j = 0;
        for (size_t i = 0; i < size && buf[i] && j + 1 < cnlen; i++)
            if (isalnum((unsigned char)buf[i]) || buf[i] == '_' || buf[i] == '-')
                cn[j++] = buf[i];
        if (j > 0)
            cn[j] = '\0';
    }
    gnutls_x509_crt_deinit(crt);
    return 0;
}
