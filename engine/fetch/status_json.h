/* status_json.h: the two JSON documents the export service answers with, parsed strictly and
 * with fixed bounds: EtatExport (the status of an export, exports-api.yaml) and problem+json
 * (RFC 7807, the body of every error).
 *
 * The input comes from a server we do not control (DESIGN-NOTES §7): the parser never allocates,
 * reads at most SNE_JSON_MAX_INPUT bytes, nests at most SNE_JSON_MAX_DEPTH deep, copies only the
 * fields it knows into fixed-size fields (a longer value is an error, except free text that is
 * cut), skips every other member whatever its type, and refuses anything that is not one JSON
 * object (trailing garbage, bad escapes, control characters, numbers out of range). Strings are
 * decoded (\uXXXX included, surrogate pairs joined, invalid UTF-8 replaced by '?'); free text
 * (detail, title, erreur.message) keeps only printable characters so it is safe in a log line.
 *
 *     sne_export_status st;
 *     if (sne_status_parse(body, len, &st, &err) == SNE_OK && st.statut == SNE_STATUT_TERMINE)
 *         use st.taille, st.sha256;
 */
#ifndef SNE_STATUS_JSON_H
#define SNE_STATUS_JSON_H

#include "../common/error.h"
#include "../model/model.h"
#include "snesync.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SNE_JSON_MAX_INPUT (64 * 1024)
#define SNE_JSON_MAX_DEPTH 16

/* sne_statut and sne_statut_name are public (snesync.h). */

/* EtatExport. Fields absent from the document are left empty (strings "", numbers -1). */
typedef struct sne_export_status {
    char numero[SNE_NUMERO_MAX + 1]; /* numeroExport: [0-9A-Za-z_-]{1,SNE_NUMERO_MAX} (checked:
                                        it names files, URLs) */
    sne_statut statut;
    int progression;      /* 0..100, or -1 */
    char date_export[40]; /* dateExport */
    char expiration[40];
    bool has_fichier;
    char url[1024];  /* fichier.url */
    int64_t taille;  /* fichier.taille, bytes, or -1 */
    char sha256[65]; /* fichier.sha256: 64 lowercase hex digits (checked), or "" */
    int64_t nombre_demandes;
    char erreur_code[64];     /* erreur.code (ECHEC) */
    char erreur_message[256]; /* erreur.message, printable characters only, cut to fit */
} sne_export_status;

/* Parses an EtatExport of `n` bytes. SNE_ERR_INVALID (with where in `err`) when it is not one,
 * SNE_ERR_LIMIT when over a bound. numeroExport and statut are required; when statut is TERMINE
 * the fichier object with taille and sha256 is required too. */
sne_err sne_status_parse(const char *json, size_t n, sne_export_status *out, sne_error *err);

/* RFC 7807 problem details. */
typedef struct sne_problem {
    int status;       /* or -1 */
    char title[128];  /* printable characters only, cut to fit */
    char detail[256]; /* printable characters only, cut to fit */
} sne_problem;

/* Parses a problem+json body. Every member is optional. */
sne_err sne_problem_parse(const char *json, size_t n, sne_problem *out, sne_error *err);

#endif
